"""Our YAML loader against sops' own: comment placement and scalar typing.

The oracle (``tests/interop/oracle.py``): ``sops encrypt`` builds its tree of each input and writes
it encrypted; we decrypt that file back into a tree and compare it with our tree of the input
after the same emit/load trip. Inputs sops rejects must be rejected by us too (sops exits 2,
``load_yaml`` raises CouldNotReadInputFile), with the same message.

``GOLDEN`` holds, for inputs whose comments that trip moves, the trees that
go.yaml.in/yaml/v3 v3.0.4 + sops' stores/yaml LoadPlainFile build (captured with a Go program
linking both), checked without the sops binary.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sops_py.errors import CouldNotReadInputFile, SopsError
from sops_py.stores.yaml_lines import load_yaml
from tests.interop.oracle import normalise_docs, round_trip, sops_tree

interop = pytest.mark.interop

# ----------------------------------------------------------------------------------- corpus

CORPUS: dict[str, str] = {
    # head, foot and blank-line-separated comment blocks at the top level
    "top_head_foot": "# head\n\n# head2\na: 1\n# foot a\n\n# head b\nb: 2\n# end\n",
    "first_line_comment": "a: 1 # first line\nb: 2\n",
    "blank_between": "a:\n  b: 1\n\n  # after blank\n\n  # second block\n  c: 2\n\n# top after blank\nd: 3\n",
    "blank_inside_block": "# one\n\n\n# two\n#\n# three\n\na: 1\n",
    "comment_runs_dedent": "a:\n  b: 1\n  # in a\n# top\n  # in a again?\nc: 2\n",
    # comments after nested blocks, at every kind of column
    "col_after_nested": "a:\n  b:\n    c: 1\n    # col4\n  # col2\n# col0\nd: 2\n",
    "col_after_nested_rev": "a:\n  b:\n    c: 1\n  # col2\n    # col4 after col2\n# col0\nd: 2\n",
    "col_odd": "a:\n  b:\n    c: 1\n   # col3\n # col1\nd: 2\n",
    "col_after_nested_eof": "a:\n  b:\n    c: 1\n    # col4\n  # col2\n# col0\n",
    "col_after_nested_eof_rev": "a:\n  b:\n    c: 1\n# col0\n  # col2\n    # col4\n",
    "deep_dedent": "a:\n  b:\n    c:\n      d: 1\n      # c6\n    # c4\n  # c2\n# c0\ne: 1\n",
    "deep_dedent_rev": "a:\n  b:\n    c:\n      d: 1\n# c0\n  # c2\n    # c4\n      # c6\ne: 1\n",
    "deep_dedent_blank": "a:\n  b:\n    c: 1\n\n    # c4\n\n  # c2\n\n# c0\n\nd: 1\n",
    "key_col_comments": "a:\n    b: 1\n  # col2 weird\nc: 2\n",
    "more_indented": "a: 1\n      # deeper\nb: 2\n        # deeper still\n",
    "comment_between_key_and_block": "a:\n# col0 before block\n  b: 1\n",
    # sequences
    "seq_of_maps": "l:\n  # head first\n  - a: 1\n    # inside\n    b: 2\n    # foot map\n  # between items\n  - c: 3\n  # end of list\nx: 1\n",
    "seq_of_maps_inline": "l:\n  - a: 1 # ia\n    b: 2 # ib\n  - # dash comment\n    c: 3\n",
    "seq_of_maps_dedent": "l:\n  - a:\n      b: 1\n      # c6\n    # c4\n  # c2\n# c0\nm: 1\n",
    "indentless": "l:\n# before first\n- a\n# between\n- b\n# after\nm: 1\n",
    "indentless_maps": "l:\n- a: 1\n  # in map\n  b: 2\n# col0\n- c: 3\nm: 1\n",
    "indentless_nested": "l:\n- - a\n  # inner\n  - b\n# outer\n- c\n",
    "nested_seq": "l:\n  - - a\n    # in inner\n    - b\n  # outer\n  - - c\n",
    "nested_seq_dash_comment": "l:\n  - # c1\n    - a\n    - b\n  - x\n",
    "stem_comment_map": "a:\n  # HM\n  - # HB1\n    # HB2\n    b: # IB\n      c # IC\n",
    "stem_comment_seq": "a:\n  # before dash\n  - - x\n    - y\n",
    "seq_end_comment_dedent": "a:\n  - 1\n  - 2\n  # c2 after seq\n# c0 after seq\nb: 1\n",
    "seq_empty_items": "l:\n  -\n  # after empty\n  - # on empty\n  - x\n",
    # line comments after keys, values, sequence items, flow collections
    "inline_after_key": "a: # after key\n  b: 1\nc: # after c\n  - 1\nd: # after d\n  2\n",
    "inline_values": "a: 1 # one\nb: 'q' # quoted\nc: \"dq\" # dq\nd: [1, 2] # flow\ne: {x: 1} # flowmap\n"
                     "f: &anc v # anchored\ng: *anc # alias\nh: # empty\ni: ~ # null\n",
    "inline_seq_items": "l:\n  - 1 # one\n  - [a, b] # flow\n  - {k: v} # map\n  - x\n",
    "inline_nested_key": "a:\n  b: # on b\n    c: 1 # on c\n  d: 2\n",
    "inline_empty_flow": "a: [] # empty seq\nb: {} # empty map\nc: 1\n",
    "before_nested": "a:\n  # before b block\n  b:\n    # before c\n    c: 1\n",
    "after_tagged_anchor": "a: &x # after anchor\n  b: 1\nc: !!map # after tag\n  d: 2\ne: *x\n",
    # document markers, comment-only documents, several documents
    "doc_markers": "---\n# after start\na: 1\n# before end\n...\n",
    "doc_markers_comment_line": "--- # on marker\na: 1\n... # on end\n",
    "doc_markers2": "# before start\n---\na: 1\n",
    "comment_only_doc": "---\n# only comment\n---\na: 1\n",
    "null_doc_with_comments": "# head\n--- # mark\n~ # null\n# foot\n",
    "multidoc": "a: 1\n# foot doc1\n---\n# head doc2\nb: 2\n---\nc: 3 # inline\n",
    "multidoc_markers": "---\na: 1\n...\n---\n# h\nb: 2\n...\n# after last end\n",
    "empty_docs": "---\n---\na: 1\n---\n",
    # anchors, aliases, merge keys
    "anchors": "base: &base\n  # in base\n  x: 1\n  y: 2 # y inline\nder:\n  <<: *base # merge\n  z: 3\n"
               "l: &l\n  - 1\n  # in l\n  - 2\nm: *l\n",
    "anchor_seq_item_map": "l:\n  # head\n  - &m\n    a: 1\n    # tail\nk: *m\n",
    "merge_list": "x: &x {a: 1}\ny: &y {b: 2}\nz:\n  # merges\n  <<: [*x, *y]\n  c: 3\n",
    "anchor_across_docs": "a: &x 1\n---\nb: *x\n",
    "alias_in_seq": "a: &a {k: v} # anchored map\nl:\n  - *a # alias item\n  - x\n",
    # block scalars followed by comments
    "block_scalars": "a: |\n  line1\n  line2\n# after literal\nb: >-\n  folded\n  text\n\n  # not a comment\n"
                     "  # col2 after folded\nc: |+\n  keep\n\n# after keep\nd: 1\n",
    "block_scalar_header": "a: | # header comment\n  text\nb: >2- # folded header\n   x\n",
    "block_scalar_in_seq": "l:\n  - |\n    text\n  # after item\n  - x\n",
    "block_scalar_trailing_blank": "a: |\n  x\n\n\n  # at col2 after blanks\nb: 1\n",
    # flow collections spanning lines
    "flow_multiline": "a: {x: 1, # cx\n  y: 2}\nb: [1,\n  # inside flow\n  2]\nc: 3\n",
    "flow_multiline2": "a: [\n  1, # one\n  2 # two\n]\nb: 1\n",
    "flow_close_comment": "a: [1, 2 # before close\n  ]\nb: {k: v # before close\n}\n",
    "flow_pairs": "a: [k: v, # pair\n  x]\n",
    # tags
    "tags": "a: !!str 123\nb: !!int \"42\"\nc: !!binary aGVsbG8=\nd: !custom foo\ne: !!float 1\nf: ! 12\n"
            "g: !!null ''\nh: !!bool true\ni: ! \"12\"\nj: !<tag:yaml.org,2002:int> 7\nk: !!timestamp 2001-01-01\n"
            "l: !!str\nm: !custom\nn: !!merge <<\n",
    "tag_directive": "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\nb: 2 # c\n",
    # scalar typing (the spec's table)
    "typing": "i1: 1234\ni2: -5\ni3: +1\noct: 017\nhex: 0x1F\nhexu: 0x_1F\noo: 0o17\nbb: 0b101\nus: 1_000\n"
              "eight: 08\nf1: 1.5\nf2: .5\nf3: 1.\nf4: 1e3\nf5: 12e03\nbig: 1e400\ninf: .inf\nninf: -.inf\n"
              "nan: .NaN\nhuge: 123456789012345678901234567890\nt1: true\nt2: True\nt3: TRUE\nf6: false\n"
              "y: yes\nn: no\non: on\noff: off\nyy: y\nnn: n\nnul1: ~\nnul2: null\nnul3: Null\nnul4: NULL\nempty:\n"
              "d1: 2001-01-01\nd2: 2001-12-14t21:59:43.10-05:00\nd3: 2024-01-02T03:04:05Z\n"
              "s1: 2001-12-14 21:59:43.10 -5\ns2: 1:20\nneg0: -0\nneg_oct: -017\nmin: -9223372036854775808\n"
              "pinf: +.inf\nNaN2: .nan\nexp: 1E3\nneg_f: -1.5e-3\nhex_upper: 0X1F\nlead_dot: .\nplus: +\n",
    "typing_quoted": "a: '1'\nb: \"true\"\nc: '~'\nd: \"\"\ne: '2001-01-01'\nf: |\n  12\ng: >-\n  3\n",
    "keys_typed": "'1': a\n\"true\": b\nnull_str: c\n",
    # CRLF and tabs
    "crlf": "a: 1 # one\r\n# head b\r\nb:\r\n  c: 2\r\n  # foot c\r\n\r\n# top\r\nd: 3\r\n",
    "tab_comments": "a: 1\t# tab before\n# run\n\t# tab-indented, same run\nb: 2\n",
    "unicode": "ключ: значение # коммент\n# 注释\nb: \"é\"\n",
}


def _columns_after_nested() -> dict[str, str]:
    """A comment at every column after nested maps and sequences, before a key or at the end."""
    cases = {}
    for col in range(0, 9):
        pad = " " * col
        cases[f"col{col}_after_map"] = f"a:\n  b:\n    c: 1\n{pad}# c\nd: 2\n"
        cases[f"col{col}_after_map_eof"] = f"a:\n  b:\n    c: 1\n{pad}# c\n"
        cases[f"col{col}_after_seq"] = f"a:\n  l:\n    - x\n{pad}# c\n  m: 1\n"
        cases[f"col{col}_after_seq_maps"] = f"l:\n  - a: 1\n    b:\n      c: 2\n{pad}# c\n  - d: 3\n"
        cases[f"col{col}_blank_after_map"] = f"a:\n  b:\n    c: 1\n\n{pad}# c\n\nd: 2\n"
    return cases


CORPUS.update(_columns_after_nested())

# inputs sops rejects (exit 2): invalid YAML, duplicate keys, bad merges, undecodable tags...
INVALID: dict[str, str] = {
    "mapping_in_value": "a: b: c\n",
    "dash_in_map": "a:\n  - b\n  c: d\n",
    "tab_indent": "a:\n\tb: 1\n",
    "unclosed_flow": "a: [1, 2\n",
    "duplicate": "a: 1\na: 2\n",
    "duplicate_nested": "a:\n  b: 1\n  # c\n  b: 2\n",
    "duplicate_quoted": "a: 1\n'a': 2\n",
    "duplicate_int_text": "1: a\n\"1\": b\n",
    "bad_int_tag": "a: !!int abc\n",
    "bad_float_tag": "a: !!int 1.5\n",
    "bad_bool_tag": "a: !!bool yes\n",
    "empty_int_tag": "a: !!int\n",
    "bad_binary": "a: !!binary \"!!!\"\n",
    "bad_merge": "a: 1\nb:\n  <<: 1\n",
    "bad_merge_list": "a: &a 1\nb:\n  <<: [*a]\n",
    "unknown_anchor": "a: *x\n",
    "top_sequence": "- a\n",
    "top_scalar": "abc\n",
    "top_long_scalar": "abcdefghijklmnop\n",
    "second_doc_sequence": "a: 1\n---\n- a\n",
    "second_doc_scalar": "a: 1\n---\nabc\n",
    "second_doc_invalid": "a: 1\n---\nb: c: d\n",
    "comments_only": "# c\n",
    "whitespace_only": "  \n\n",
    "complex_key": "? [a]\n: 1\n",
    "tab_after_comment_run_break": "a: 1 # c\n\t# not in a run\n",
    "yaml_1_2_directive": "%YAML 1.2\n---\na: 1\n",
}

# trees go.yaml.in/yaml/v3 v3.0.4 + sops' YAML store build for corpus inputs whose comments sops'
# emit/load trip moves (so the sops binary cannot show them)
GOLDEN: dict[str, list[Any]] = {
    "alias_in_seq":
        [('map',
          [(('str', 'a'),
            ('map', [(('#', ' anchored map'), ('NoneType', None)), (('str', 'k'), ('str', 'v'))])),
           (('str', 'l'),
            [('#', ' alias item'),
             ('map', [(('#', ' anchored map'), ('NoneType', None)), (('str', 'k'), ('str', 'v'))]),
             ('str', 'x')])])],
    "anchor_seq_item_map":
        [('map',
          [(('str', 'l'),
            [('map',
              [(('#', ' head'), ('NoneType', None)), (('str', 'a'), ('int', 1)),
               (('#', ' tail'), ('NoneType', None))])]),
           (('str', 'k'),
            ('map',
             [(('#', ' head'), ('NoneType', None)), (('str', 'a'), ('int', 1)),
              (('#', ' tail'), ('NoneType', None))]))])],
    "col2_after_map_eof":
        [('map',
          [(('str', 'a'),
            ('map',
             [(('str', 'b'), ('map', [(('str', 'c'), ('int', 1))])), (('#', ' c'), ('NoneType', None))]))])],
    "flow_pairs":
        [('map',
          [(('str', 'a'),
            [('map', [(('#', ' pair'), ('NoneType', None)), (('str', 'k'), ('str', 'v'))]),
             ('str', 'x')])])],
    "inline_empty_flow":
        [('map',
          [(('str', 'a'), [('#', ' empty seq')]),
           (('str', 'b'), ('map', [(('#', ' empty map'), ('NoneType', None))])),
           (('str', 'c'), ('int', 1))])],
    "seq_of_maps_inline":
        [('map',
          [(('str', 'l'),
            [('map',
              [(('#', ' ia'), ('NoneType', None)), (('str', 'a'), ('int', 1)),
               (('#', ' ib'), ('NoneType', None)), (('str', 'b'), ('int', 2))]),
             ('map', [(('#', ' dash comment'), ('NoneType', None)), (('str', 'c'), ('int', 3))])])])],
    "stem_comment_map":
        [('map',
          [(('str', 'a'),
            [('#', ' HM'),
             ('map',
              [(('#', ' HB1'), ('NoneType', None)), (('#', ' HB2'), ('NoneType', None)),
               (('#', ' IB'), ('NoneType', None)), (('#', ' IC'), ('NoneType', None)),
               (('str', 'b'), ('str', 'c'))])])])],
}


# ------------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=None)
def _sops(text: str) -> Any:
    return sops_tree(text.encode("utf-8"))


def _assert_same(text: str) -> None:
    res = _sops(text)
    assert res.tree is not None, f"sops rejected the input: {res.stderr}"
    ours = load_yaml(text.encode("utf-8"))
    assert normalise_docs(res.tree) == normalise_docs(round_trip(ours))


# ------------------------------------------------------------------------------- tests


@interop
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_matches_sops(name: str) -> None:
    _assert_same(CORPUS[name])


@interop
@pytest.mark.parametrize("name", sorted(INVALID))
def test_rejected_like_sops(name: str) -> None:
    text = INVALID[name]
    res = _sops(text)
    assert res.returncode == 2, res.stderr
    with pytest.raises(CouldNotReadInputFile) as exc:
        load_yaml(text.encode("utf-8"))
    assert res.stderr.strip() == f"Error unmarshalling file: {exc.value}"


@interop
def test_second_document_decode_errors_become_null() -> None:
    # sops' pre-pass only decodes the first document; later ones keep undecodable values as null
    _assert_same("a: 1\n---\nb: !!int abc\nc: !!binary \"!!!\"\nd: !!bool yes\ne: !!null x\n"
                 "f: !!float abc\nb2: 1\nb2: 2\n")


@interop
@pytest.mark.parametrize("text", ["1: a\n", "~: a\n", "a: 9223372036854775808\n", "true: x\n"])
def test_values_sops_cannot_encrypt(text: str) -> None:
    # these load (sops' encryption then fails with exit 23): our loader keeps the same values
    res = _sops(text)
    assert res.returncode == 23, res.stderr
    (doc,) = load_yaml(text.encode())
    ((key, value),) = doc
    assert not isinstance(key, str) or type(value).__name__ == "GoUint64"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_trees_of_yaml_v3(name: str) -> None:
    assert normalise_docs(load_yaml(CORPUS[name].encode())) == GOLDEN[name]


def test_empty_input_has_no_document() -> None:
    assert load_yaml(b"") == []  # sops: "File cannot be completely empty" (exit 92), from the caller


# --------------------------------------------------------------------- random documents


@st.composite
def yaml_texts(draw: Any) -> str:
    """Nested block mappings and sequences (indented or not, compact `- k: v`, flow values,
    anchors, block scalars) with comment lines at random columns and line comments anywhere."""
    ind = draw(st.sampled_from([2, 3, 4]))
    lines: list[str] = []
    counter = [0]
    anchors: list[str] = []
    words = st.sampled_from(["a", "1", "yes", "~", "0x1F", "1.5", "'q'", '"d"', "x y", "2001-01-01",
                             "[1, 2]", "{k: v}", "[]", "{}", "!!str 3", "&A v", "*A"])
    texts = st.sampled_from([" c", "", "#", " two words ", " k: v", " - i"])

    def comment() -> str:
        return "#" + draw(texts)

    def inline() -> str:
        return " " + comment() if draw(st.integers(0, 4)) == 0 else ""

    def comments(col: int) -> None:
        while draw(st.integers(0, 2)) == 0:
            if draw(st.integers(0, 4)) == 0:
                lines.append("")
            c = draw(st.sampled_from([col, col, 0, max(col - ind, 0), col + ind, col + 1]))
            lines.append(" " * c + comment())

    def scalar() -> str:
        w = draw(words)
        if w == "&A v":
            anchors.append("A")
        if w == "*A" and not anchors:
            w = "b"
        return w

    def key() -> str:
        counter[0] += 1
        return f"k{counter[0]}"

    def value(head: str, col: int, depth: int) -> None:
        kind = draw(st.integers(0, 9)) if depth < 3 else 9
        if kind <= 2:
            lines.append(head + inline())
            mapping(col + ind, depth + 1)
        elif kind <= 4:
            lines.append(head + inline())
            sequence(col + (0 if kind == 3 else ind), depth + 1)
        elif kind == 5:
            lines.append(head + " |" + inline())
            lines.append(" " * (col + ind) + draw(st.sampled_from(["text", "# kept"])))
        elif kind == 6:
            lines.append(head + inline())
        else:
            lines.append(head + " " + scalar() + inline())

    def mapping(col: int, depth: int, first: str | None = None) -> None:
        for i in range(draw(st.integers(1, 3))):
            if i or first is None:
                comments(col)
            prefix = first if i == 0 and first is not None else " " * col
            value(prefix + key() + ":", col, depth)
        comments(col)

    def sequence(col: int, depth: int) -> None:
        for _ in range(draw(st.integers(1, 3))):
            comments(col)
            kind = draw(st.integers(0, 5)) if depth < 3 else 5
            dash = " " * col + "-"
            if kind == 0:
                mapping(col + 2, depth + 1, first=dash + " ")
            elif kind == 1:
                lines.append(dash + inline())
                mapping(col + 2, depth + 1)
            elif kind == 2:
                lines.append(dash + inline())
                sequence(col + 2, depth + 1)
            else:
                lines.append(dash + " " + scalar() + inline())
        comments(col)

    comments(0)
    mapping(0, 0)
    return "\n".join(lines) + "\n"


@interop
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(yaml_texts())
def test_random_documents_match_sops(text: str) -> None:
    res = _sops(text)
    if res.tree is None:
        with pytest.raises(CouldNotReadInputFile):
            load_yaml(text.encode())
        return
    _assert_same(text)


def test_loader_paths_agree() -> None:
    """Text without comments takes libyaml's events; with any '#', the yaml.v3 port: both give the
    same tree for the same structure."""
    text = CORPUS["typing"] + "l:\n  - a: &x {b: 1}\n  - *x\n  - [1, {c: d}]\nm: |\n  #x\n"
    plain = load_yaml(text.encode())
    commented = load_yaml((text + "# c\n").encode())
    commented[0].pop()
    assert normalise_docs(plain) == normalise_docs(commented)


def test_sops_error_type() -> None:
    with pytest.raises(SopsError):
        load_yaml(b"a: b: c\n")
