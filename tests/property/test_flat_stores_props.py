"""Properties of the dotenv and INI stores and of the flattened metadata: generated documents
round-trip through emit/load, and arbitrary, truncated or corrupted input only ever raises a
SopsError subclass."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sops_py.errors import SopsError
from sops_py.metadata import KeyEntry, Metadata
from sops_py.stores.dotenv_store import DotenvStore
from sops_py.stores.flatten import (
    SOPS_PREFIX,
    flatten_branch,
    flatten_metadata,
    unflatten_branch,
    unflatten_metadata,
)
from sops_py.stores.ini_store import INIStore, go_trim_space
from sops_py.tree import Branch, Comment
from tests.helpers import TESTDATA

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOPS = TESTDATA / "sops"
ENC_FILES = {
    "dotenv": [(SOPS / f"{n}.enc.env").read_bytes() for n in ("flat_basic", "flat_shamir")],
    "ini": [(SOPS / f"{n}.enc.ini").read_bytes() for n in ("flat_basic", "flat_quirks", "flat_shamir")],
}
STORES: dict[str, Any] = {"dotenv": DotenvStore(), "ini": INIStore()}

# ------------------------------------------------------------------------------------------------
# dotenv documents

# any text, including surrogate escapes for invalid UTF-8 bytes
_ANY = st.characters(codec="utf-8") | st.sampled_from(["\udc80", "\udcff", "\r", "\t", "\\", "#", "=", '"'])
ENV_KEYS = st.text(_ANY, max_size=10).filter(lambda k: "=" not in k and "\n" not in k and not k.startswith("#"))
# a value containing the two characters "\n" would read back as a newline (sops' format is lossy there)
ENV_VALUES = st.text(_ANY | st.just("\n"), max_size=12).filter(lambda v: "\\n" not in v and not v.endswith("\\"))
ENV_COMMENTS = st.text(_ANY, max_size=10).filter(lambda c: "\n" not in c)
ENV_DOCS = st.lists(
    st.tuples(ENV_KEYS, ENV_VALUES) | st.tuples(st.builds(Comment, ENV_COMMENTS), st.none()), max_size=8
).map(Branch)


@SETTINGS
@given(ENV_DOCS)
def test_dotenv_round_trip(doc: Branch) -> None:
    store = DotenvStore()
    out = store.emit_plain([doc])
    assert store.load_plain(out) == [doc]
    assert store.emit_plain(store.load_plain(out)) == out


@SETTINGS
@given(st.binary(max_size=200))
def test_dotenv_arbitrary_bytes(data: bytes) -> None:
    store = DotenvStore()
    try:
        branches = store.load_plain(data)
    except SopsError:
        return
    # loading then emitting gives the input back without its empty lines
    expected = b"".join(line + b"\n" for line in data.split(b"\n") if line)
    assert store.emit_plain(branches) == expected


# ------------------------------------------------------------------------------------------------
# INI documents that ini.v1 reads back as written

_KEY_CHARS = st.sampled_from(list("abcXYZ019_.-/ é") + ["=", ":", '"'])
INI_KEYS = st.text(_KEY_CHARS, min_size=1, max_size=8).filter(
    lambda k: k == go_trim_space(k) and k != "-" and k[0] not in "#;[\"`"
)
_VALUE_CHARS = st.sampled_from(list("abcXYZ019 é\t#;=:'\"`\\") + ["\n", "\xa0", "\u3000"])


def _ini_value_reads_back(v: str) -> bool:
    if '"""' in v:
        return False
    if "\n" in v or "`" in v or "#" in v or ";" in v:
        return True  # written in """ or backticks
    if go_trim_space(v) != v:
        return '"' not in v and not v.startswith('"')  # written in double quotes
    # written raw: must not look quoted, continued or triple-quoted
    if v.endswith("\\") or v.startswith('"""'):
        return False
    return not (len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"")


INI_VALUES = st.text(_VALUE_CHARS, max_size=10).filter(_ini_value_reads_back)
INI_COMMENTS = st.text(st.sampled_from(list("abc XYZ019é#;=")), min_size=1, max_size=10).filter(
    lambda c: c == go_trim_space(c) and c[0] not in "#;"
)
SECTION_NAMES = st.text(st.sampled_from(list("abcXYZ019 _.é#;=")), min_size=1, max_size=8) | st.sampled_from(
    ["DEFAULT", "default", "sops_x", " spaced "]
)


@st.composite
def ini_sections(draw: Any, default: bool) -> Branch:
    items = Branch()
    if not default and draw(st.booleans()):
        items.append((Comment(draw(INI_COMMENTS)), None))
    for key in draw(st.lists(INI_KEYS, unique=True, max_size=5)):
        items.append((key, draw(INI_VALUES)))
        if draw(st.booleans()):
            items.append((Comment(draw(INI_COMMENTS)), None))
    return items


@st.composite
def ini_docs(draw: Any) -> Branch:
    doc = Branch([("DEFAULT", draw(ini_sections(True)))])
    for name in draw(st.lists(SECTION_NAMES, max_size=4)):
        doc.append((name, draw(ini_sections(False))))
    return doc


@SETTINGS
@given(ini_docs())
def test_ini_round_trip(doc: Branch) -> None:
    store = INIStore()
    out = store.emit_plain([doc])
    assert store.load_plain(out) == [doc]
    assert store.emit_plain(store.load_plain(out)) == out


_INI_ATOMS = st.sampled_from([
    "[s]", "[DEFAULT]", "[t] ; c", "k", "-", '"q"', "`b`", '"""t"""', " ", "\t", "=", ":", "x", "#", "; ",
    '"', "'", "`", '"""', "\\", "\r", "\n", "\n", "é", "\xa0", "a=1", "b = 2", "\udcff",
])


@SETTINGS
@given(st.lists(_INI_ATOMS, max_size=30).map("".join))
def test_ini_arbitrary_text_is_stable(text: str) -> None:
    """Whatever ini.v1 accepts loads to a tree that emits; re-loading that output emits it again
    unless the output itself is one of ini.v1's lossy cases."""
    store = INIStore()
    try:
        branches = store.load_plain(text.encode("utf-8", "surrogateescape"))
    except SopsError:
        return
    try:
        out = store.emit_plain(branches)
    except SopsError:
        return  # an empty comment line: Go's ini.v1 panics there
    try:
        again = store.load_plain(out)
    except SopsError:
        return
    assert again[0][0][0] == "DEFAULT"


@SETTINGS
@given(st.binary(max_size=200))
def test_ini_arbitrary_bytes(data: bytes) -> None:
    store = INIStore()
    try:
        branches = store.load_plain(data)
    except SopsError:
        return
    assert branches[0][0][0] == "DEFAULT"
    try:
        store.emit_plain(branches)
    except SopsError:
        pass


# ------------------------------------------------------------------------------------------------
# metadata

# metadata text that both flat formats keep exactly (no quotes, backticks or backslashes, which
# dotenv's "\\n" convention and ini.v1's quoting would alter, exactly as in sops)
_TEXT = st.text(st.sampled_from(list("abcXYZ019 -+/=#;:é\n\t")), max_size=12)
_AGE = st.builds(lambda r, e: KeyEntry("age", {"recipient": r, "enc": e}), _TEXT, _TEXT)
_PGP = st.builds(lambda e, f: KeyEntry("pgp", {"created_at": "2024-01-01T00:00:00Z", "enc": e, "fp": f}), _TEXT, _TEXT)
_KMS = st.builds(
    lambda a, c, p: KeyEntry("kms", {"arn": a, "role": "", **({"context": c} if c else {}),
                                     "created_at": "2024-01-01T00:00:00Z", "enc": "x", "aws_profile": p}),
    _TEXT, st.dictionaries(st.text("abc_", min_size=1, max_size=4), _TEXT, max_size=3), _TEXT,
)
_GROUP = st.lists(_AGE | _PGP | _KMS, min_size=1, max_size=12).map(
    lambda g: sorted(g, key=lambda k: ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp", "age").index(k.type))
)


@st.composite
def metadata(draw: Any) -> Metadata:
    groups = draw(st.lists(_GROUP, min_size=1, max_size=3))
    rule = draw(st.sampled_from(["unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex"]))
    md = Metadata(key_groups=groups, shamir_threshold=len(groups) if len(groups) > 1 else 0,
                  lastmodified="2024-01-02T03:04:05Z", mac=draw(_TEXT), mac_only_encrypted=draw(st.booleans()),
                  version=draw(st.sampled_from(["3.11.0", "3.13.2"])))
    setattr(md, rule, draw(_TEXT.filter(bool)))
    return md


@SETTINGS
@given(metadata(), st.randoms(use_true_random=False))
def test_metadata_round_trips_in_any_order(md: Metadata, rnd: Any) -> None:
    for prefix, escape in ((SOPS_PREFIX, False), ("", True)):
        items = flatten_metadata(md, prefix, escape)
        rnd.shuffle(items)
        stripped = [(k[len(prefix):], v) for k, v in items]
        assert unflatten_metadata(stripped, unescape=escape) == md


@SETTINGS
@given(metadata())
def test_metadata_through_the_stores(md: Metadata) -> None:
    for store in STORES.values():
        data = Branch([("s", Branch([("k", "v")]))]) if store.name == "ini" else Branch([("k", "v")])
        out = store.emit_encrypted([data], md)
        branches, md2 = store.load_encrypted(out)
        assert md2 == md
        assert branches[0][-1] == data[-1]


_LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=5)


@SETTINGS
@given(st.recursive(
    _LEAF,
    # no empty containers: they produce no keys but still take a list index (as in sops)
    lambda ch: st.lists(ch, min_size=1, max_size=3) | st.dictionaries(
        st.text("ab", min_size=1, max_size=3), ch, min_size=1, max_size=3).map(lambda d: Branch(sorted(d.items()))),
    max_leaves=15,
).filter(lambda t: isinstance(t, Branch)))
def test_unflatten_inverts_flatten(tree: Branch) -> None:
    flat = flatten_branch(tree)  # empty maps and lists produce nothing
    rebuilt = unflatten_branch(flat)
    assert flatten_branch(rebuilt) == flat


_FLAT_KEYS = st.lists(st.sampled_from(["age", "__list_", "__map_", "0", "1", "12", "x", "enc", "-", "_"]),
                      max_size=8).map("".join)


@SETTINGS
@given(st.lists(st.tuples(_FLAT_KEYS, _TEXT), max_size=10))
def test_unflatten_only_sops_errors(items: list[tuple[str, str]]) -> None:
    try:
        unflatten_metadata(list(items))
    except SopsError:
        pass


# ------------------------------------------------------------------------------------------------
# broken encrypted files


@SETTINGS
@given(st.sampled_from(sorted(STORES)), st.data())
def test_truncated_encrypted_files(fmt: str, data: st.DataObject) -> None:
    enc = data.draw(st.sampled_from(ENC_FILES[fmt]))
    cut = data.draw(st.integers(0, len(enc)))
    try:
        STORES[fmt].load_encrypted(enc[:cut])
    except SopsError:
        pass


@SETTINGS
@given(st.sampled_from(sorted(STORES)), st.data())
def test_corrupted_metadata_lines(fmt: str, data: st.DataObject) -> None:
    enc = data.draw(st.sampled_from(ENC_FILES[fmt]))
    lines = enc.split(b"\n")
    meta_idx = [i for i, line in enumerate(lines)
                if line.startswith(b"sops_") or (fmt == "ini" and i > lines.index(b"[sops]"))]
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.sampled_from(meta_idx))
        action = data.draw(st.sampled_from(["drop", "dup", "key", "value", "garbage"]))
        line = lines[i]
        sep = b"=" if fmt == "dotenv" else b" = "
        key, _, value = line.partition(sep)
        if action == "drop":
            lines[i] = b""
        elif action == "dup":
            lines.insert(i, line)
        elif action == "key":
            key += data.draw(st.sampled_from([b"__list_0", b"__map_x", b"__list_7", b"x", b"__list_"]))
            lines[i] = key + sep + value
        elif action == "value":
            value = data.draw(st.sampled_from([b"", b"2.5", b"abc", b"-1", b"true", b"1e400", b"2024-13-01"]))
            lines[i] = key + sep + value
        else:
            lines[i] = data.draw(st.binary(max_size=20)).replace(b"\n", b"")
    try:
        STORES[fmt].load_encrypted(b"\n".join(lines))
    except SopsError:
        pass


@SETTINGS
@given(st.sampled_from(sorted(STORES)), st.binary(max_size=300))
def test_arbitrary_bytes_as_encrypted(fmt: str, data: bytes) -> None:
    try:
        STORES[fmt].load_encrypted(data)
    except SopsError:
        pass
