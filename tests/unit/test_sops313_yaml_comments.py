"""YAML inline comments as sops 3.13 writes them (getsops/sops #2131).

The reference binary (a 3.11 snapshot) moves an inline comment onto its own line above the key, so
it cannot be the oracle here. The expected bytes come from the sops 3.13.2 source:

* ``stores/yaml/store_test.go`` (``TestCommentInline*``): the four round-trip vectors below, verbatim;
* ``stores/yaml/store.go``: a value's (or sequence item's) line comment becomes a ``Comment`` with
  ``Inline: true`` before the item; on output ``appendTreeBranch``/``appendSequence`` put pending
  inline comments on the *next* value node as its ``LineComment`` (several joined by newlines), and
  comments after the last item become the last key's foot comment, plain ones first, then inline ones;
* go.yaml.in/yaml/v3 v3.0.4 ``encode.go``/``emitterc.go``: a scalar's line comment is written after
  it (after the header of a block scalar), a mapping's or sequence's goes on its END event and is
  written at the emitter's next ``process_line_comment`` (after the next value, or right after the next
  ``key:`` when that value is a block), and a line comment still pending when a document ends is lost;
* ``sops.go`` + ``aes/cipher.go``: encrypting keeps ``Inline`` (walkBranch copies it), but decrypting an
  encrypted comment yields ``Comment{Value}`` without it, so ``sops decrypt`` (and therefore ``edit``
  and ``set``) of a 3.13 file moves encrypted inline comments above their key, as 3.11 did; a comment
  left unencrypted keeps its flag and stays inline.
"""

from __future__ import annotations

import re

import pytest

from sops_py import api
from sops_py.keychain import Keys
from sops_py.stores.dotenv_store import DotenvStore
from sops_py.stores.yaml_emit import emit_documents
from sops_py.stores.yaml_lines import load_yaml, scan
from sops_py.stores.yaml_load import load_reference
from sops_py.tree import Branch, Comment
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA

KEYS = Keys(age_key_file=AGE_KEY_FILE, environ={})
INLINE_ENC = re.compile(r"^(\s*)(\S.*): ENC\[AES256_GCM,[^\]]*\] #ENC\[AES256_GCM,[^\]]*,type:comment\]$")

# stores/yaml/store_test.go at v3.13.2, verbatim
GO_VECTORS = {
    "TestCommentInline": "key1: value1 # inline comment\nkey2: value2\n# head comment\nkey3: value3 # another inline\n",
    "TestCommentInlineSequence": "items:\n    - value1 # inline on list item\n    - value2\n",
    "TestCommentInlineMixed": "# heading\nkey1: value1 # inline\nkey2: value2\n",
    "TestCommentInlineNested": "parent:\n    child1: value1 # nested inline\n    child2: value2\n",
}


def _round_trip(text: str) -> str:
    return emit_documents(load_yaml(text.encode()))


@pytest.mark.parametrize("name", sorted(GO_VECTORS))
def test_sops_313_store_test_vectors(name: str) -> None:
    text = GO_VECTORS[name]
    assert _round_trip(text) == text
    # both loaders agree on the tree, inline flags included
    assert load_reference(text) == load_yaml(text.encode())


# (input, output): each derived from store.go + the yaml.v3 emitter as the module docstring says
CASES = {
    # every kind of scalar keeps its comment after it
    "scalars": ("a: 1 # int\nb: 'x: y' # quoted\nc: null # null\nd: \"\" # empty\ne: 1.5 # float\n", None),
    # a block scalar's header comment is its line comment: written after the header again
    "literal_header": ("k: |- # about k\n    line 1\n    line 2\nz: 1\n", None),
    "literal_keep": ("k: | # c\n    text\nz: 1 # zz\n", None),
    # sequence items, nested mappings in sequences, deeper nesting
    "seq_of_maps": ("l:\n    - a: 1 # ia\n      b: 2 # ib\n    - c: 3\n", None),
    "deep": ("a:\n    b:\n        c:\n            - x # in c\n        d: 1 # on d\n", None),
    # a comment after `key:` belongs to the key, not to a value: a plain comment, as in 3.11
    "after_key": ("a: # after a\n    b: 1 # on b\n", "# after a\na:\n    b: 1 # on b\n"),
    # head, inline and foot comments together
    "mixed": ("# top\na: 1 # one\n# before b\nb:\n    - x # x\n    # between\n    - w\n# end\n", None),
    # an alias to a mapping, with a comment: the mapping's line comment waits for the next value
    "alias_map_then_scalar": ("base: &b\n    x: 1\nref: *b # c\nnext: 2\n",
                              "base:\n    x: 1\nref:\n    x: 1\nnext: 2 # c\n"),
    # ... or is written right after the next `key:` when that value is a block
    "alias_map_then_block": ("base: &b\n    x: 1\nref: *b # c\nnext:\n    w: 2\n",
                             "base:\n    x: 1\nref:\n    x: 1\nnext: # c\n    w: 2\n"),
    # ... or is lost when the document ends first
    "alias_map_last": ("base: &b\n    x: 1\nref: *b # c\n", "base:\n    x: 1\nref:\n    x: 1\n"),
    # ... or opens the next document
    "alias_map_next_doc": ("base: &b\n    x: 1\nref: *b # c\n---\nk: v\n",
                           "base:\n    x: 1\nref:\n    x: 1\n---\n# c\nk: v\n"),
    # a flow sequence item with a comment: the list's line comment goes after the next item
    "seq_item_list": ("l:\n    - [a, b] # c\n    - z\n", "l:\n    - - a\n      - b\n    - z # c\n"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_inline_comment_layout(name: str) -> None:
    text, expected = CASES[name]
    assert _round_trip(text) == (text if expected is None else expected)
    assert load_reference(text) == load_yaml(text.encode())


def C(value: str, inline: bool = False) -> Comment:  # noqa: N802
    return Comment(value, inline)


def test_comments_after_the_last_key_plain_first_then_inline() -> None:
    # appendTreeBranch: headComments = append(headComments, inlineComments...) -> foot of the last key
    tree = Branch([("a", 1), (C(" i1", True), None), (C(" h"), None), (C(" i2", True), None)])
    assert emit_documents([tree]) == "a: 1\n# h\n# i1\n# i2\n"
    nested = Branch([("p", Branch([("a", 1), (C(" i", True), None), (C(" h"), None)])), ("q", 2)])
    assert emit_documents([nested]) == "p:\n    a: 1\n    # h\n    # i\nq: 2\n"
    seq = Branch([("l", ["x", C(" i", True), C(" h")])])
    assert emit_documents([seq]) == "l:\n    - x\n    # h\n    # i\n"


def test_inline_comments_before_the_first_key_wait_for_its_value() -> None:
    # at the beginning only the plain comments become the mapping's head comment
    tree = Branch([(C(" i", True), None), (C(" h"), None), ("a", 1), ("b", 2)])
    assert emit_documents([tree]) == "# h\na: 1 # i\nb: 2\n"
    seq = Branch([("l", [C(" i", True), C(" h"), "x"])])
    assert emit_documents([seq]) == "l:\n    # h\n    - x # i\n"


def test_only_comments_plain_first_then_inline() -> None:
    inline_first = Branch([(C(" i", True), None), (C(" h"), None)])
    plain = Branch([(C(" h"), None), (C(" i"), None)])
    assert emit_documents([inline_first]) == emit_documents([plain])
    assert emit_documents([Branch([("l", [C(" i", True), C(" h")])])]) == emit_documents([Branch([("l", [C(" h"), C(" i")])])])


def test_several_inline_comments_on_one_value() -> None:
    # addCommentsLine joins them with "\n#"; the emitter indents the next lines like the mapping.
    # At column 0 yaml.v3's write_indent also breaks the line once more: after the value the
    # "whitespace" flag is off (put(' ') before the comment does not set it), and column == indent
    tree = Branch([(C(" a", True), None), (C(" b", True), None), ("k", "v"), ("z", 1)])
    assert emit_documents([tree]) == "k: v # a\n\n# b\nz: 1\n"
    nested = Branch([("p", Branch([(C(" a", True), None), (C(" b", True), None), ("k", "v")]))])
    assert emit_documents([nested]) == "p:\n    k: v # a\n    # b\n"
    assert emit_documents([nested], 2) == "p:\n  k: v # a\n  # b\n"


def test_empty_containers_take_the_comment_after_them() -> None:
    tree = Branch([(C(" e", True), None), ("a", []), (C(" m", True), None), ("b", Branch()), ("c", 1)])
    assert emit_documents([tree]) == "a: [] # e\nb: {} # m\nc: 1\n"


def test_indent_setting_applies() -> None:
    text = GO_VECTORS["TestCommentInlineNested"]
    assert emit_documents(load_yaml(text.encode()), 2) == text.replace("    ", "  ")


def test_comment_text_is_kept_verbatim() -> None:
    text = "a: 1 #no space\nb: 2 #  two spaces\nc: 3 # ünïcödé ✓\n"
    assert _round_trip(text) == text


def test_fast_scanner_and_full_loader_both_flag_inline() -> None:
    text = "a: 1 # c\nl:\n    - x # d\n"
    fast = scan(text)
    assert fast is not None  # the line scanner handles it...
    assert fast == load_reference(text)  # ...as the full loader does
    assert fast[0][0] == (C(" c", True), None)
    assert fast[0][2][1][0] == C(" d", True)


# ------------------------------------------------------------------ through encryption


def _encrypt(text: str, **kw: object) -> bytes:
    return api.encrypt(text.encode(), "yaml", age=[AGE_RECIPIENT], keys=KEYS, **kw)  # type: ignore[arg-type]


def test_encrypted_file_keeps_encrypted_comments_inline() -> None:
    text = GO_VECTORS["TestCommentInline"] + GO_VECTORS["TestCommentInlineNested"]
    enc = _encrypt(text).decode()
    lines = enc.split("sops:\n")[0].splitlines()
    # key1, key3 and child1 carry their encrypted comment on their own line
    inline = [m.group(2) for m in map(INLINE_ENC.match, lines) if m]
    assert inline == ["key1", "key3", "child1"]
    assert lines[2].startswith("#ENC[")  # the head comment stays a head comment


def test_decrypting_moves_encrypted_inline_comments_above_as_sops_313() -> None:
    # aes/cipher.go returns Comment{Value} without Inline: sops 3.13.2 writes the decrypted comment
    # above its key, exactly as 3.11 did
    text = GO_VECTORS["TestCommentInlineMixed"]
    dec = api.decrypt(_encrypt(text), "yaml", keys=KEYS)
    assert dec == b"# heading\n# inline\nkey1: value1\nkey2: value2\n"


def test_unencrypted_inline_comments_stay_inline_through_decrypt() -> None:
    # an encrypted_regex that matches no comment path leaves every comment in clear, flag included
    text = "# heading\nkey1: value1 # inline\nsecret: s # on secret\nl:\n    - x # on x\n"
    enc = _encrypt(text, encrypted_regex="^secret$")
    assert b"secret: ENC[" in enc and b"key1: value1 # inline\n" in enc and b"- x # on x\n" in enc
    assert api.decrypt(enc, "yaml", keys=KEYS) == text.encode()
    # and through unencrypted_comment_regex: the inline comment comes before its key in the tree, so
    # it also leaves that key's value in clear (sops' comment rules see the comments before an item)
    enc = _encrypt("a: 1 # keep: this\nb: 2 # other\n", unencrypted_comment_regex="keep:")
    assert b"a: 1 # keep: this\nb: ENC[" in enc and INLINE_ENC.match(enc.decode().splitlines()[1])
    assert api.decrypt(enc, "yaml", keys=KEYS) == b"a: 1 # keep: this\n# other\nb: 2\n"


def test_update_keeps_clear_inline_comments_inline() -> None:
    # sops set / edit decrypt, change and encrypt again: a comment left in clear keeps its place
    enc = _encrypt("a: 1 # one\nb: 2 # two\n", unencrypted_comment_regex="o")
    out = api.update(enc, lambda tree: {**tree, "b": 3}, keys=KEYS)
    plain = api.decrypt(out, "yaml", keys=KEYS)
    assert plain == b"a: 1 # one\nb: 3 # two\n"


def test_files_written_by_sops_311_read_the_same() -> None:
    # testdata/sops/comments.enc.yaml was written by the 3.11 reference: its comments sit above the keys
    enc = (TESTDATA / "sops" / "comments.enc.yaml").read_bytes()
    keys = Keys(age_key_file=AGE_KEY_FILE, environ={})
    assert api.decrypt(enc, "yaml", keys=keys) == (TESTDATA / "sops" / "comments.dec.yaml").read_bytes()


def test_conversions_have_no_inline_comments() -> None:
    # the other stores know nothing of Inline (3.13 only reads the flag in stores/yaml)
    tree = load_yaml(b"# h\na: x # c\nb: y\n")
    assert DotenvStore().emit_plain(tree) == b"# h\n# c\na=x\nb=y\n"
    plain = api.decrypt(_encrypt("a: x # c\nb: y\n", encrypted_regex="^b$"), "yaml", keys=KEYS,
                        output_format="json")
    assert plain == b'{\n\t"a": "x",\n\t"b": "y"\n}\n'
