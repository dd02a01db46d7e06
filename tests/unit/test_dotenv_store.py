"""Known answers for the dotenv store (texts observed with the sops binary, "bin", unless noted 3.13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sops_py.cipher import Cipher
from sops_py.errors import CouldNotReadInputFile, ErrorDumpingTree, MetadataNotFound, SopsError
from sops_py.metadata import KeyEntry, Metadata
from sops_py.rules import Rule
from sops_py.stores import get_store
from sops_py.stores.dotenv_store import DotenvStore
from sops_py.tree import Branch, Comment, Time
from sops_py.walk import decrypt_tree
from tests.helpers import TESTDATA, any_data_key_of, data_key_of

PLAIN = TESTDATA / "plain"
SOPS = TESTDATA / "sops"


def load(data: bytes) -> Branch:
    branches = DotenvStore().load_plain(data)
    assert len(branches) == 1
    return branches[0]


def emit(*items: tuple[object, object]) -> bytes:
    return DotenvStore().emit_plain([Branch(items)])


def open_encrypted(path: Path) -> tuple[list[Branch], Metadata]:
    """Load a sops dotenv file, decrypt it with the test keys and check its MAC."""
    branches, md = DotenvStore().load_encrypted(path.read_bytes())
    cipher = Cipher(any_data_key_of(md))
    mac = decrypt_tree(branches, cipher, Rule.of(md), md.mac_only_encrypted)
    assert cipher.decrypt(md.mac, md.lastmodified_aad()) == mac
    return branches, md


def test_get_store() -> None:
    store = get_store("dotenv", 3)
    assert isinstance(store, DotenvStore) and store.name == "dotenv"


# ------------------------------------------------------------------------------------------------
# loading


def test_load_is_literal() -> None:
    data = (b"# c\n#\n##x\nA=1\nexport X=a b\n  SPACED =  v \nQ=\"quoted\"\nML=l1\\nl2\nE=\nEQ=a=b\n\n\n"
            b"CR=x\r\n=empty key\nB=\\\\n")
    assert load(data) == Branch([
        (Comment(" c"), None), (Comment(""), None), (Comment("#x"), None),
        ("A", "1"), ("export X", "a b"), ("  SPACED ", "  v "), ("Q", '"quoted"'), ("ML", "l1\nl2"),
        ("E", ""), ("EQ", "a=b"), ("CR", "x\r"), ("", "empty key"), ("B", "\\\n"),
    ])


def test_load_edge_inputs() -> None:
    assert DotenvStore().load_plain(b"") == [Branch()]
    assert load(b"\n\n\n") == Branch()
    assert load(b" #not a comment=1") == Branch([(" #not a comment", "1")])
    assert load(b"\xef\xbb\xbfA=1") == Branch([("\ufeffA", "1")])  # no BOM handling
    assert load(b"A=1\nA=2") == Branch([("A", "1"), ("A", "2")])  # duplicates kept


@pytest.mark.parametrize(
    ("data", "line"),
    [(b"A", "A"), (b"A=1\nno equals sign\n", "no equals sign"), (b"\r\n", "\r"), (b" ", " ")],
)
def test_load_error(data: bytes, line: str) -> None:
    with pytest.raises(CouldNotReadInputFile) as ei:
        DotenvStore().load_plain(data)
    assert str(ei.value) == f"invalid dotenv input line: {line}"
    assert ei.value.exit_code == 2


def test_invalid_utf8_round_trips() -> None:
    data = b"\xff\xfe=\xc3\x28 value\n#\x80 comment\n"
    assert DotenvStore().emit_plain(DotenvStore().load_plain(data)) == data


# ------------------------------------------------------------------------------------------------
# emitting


def test_emit_strings_and_comments() -> None:
    assert emit((Comment(" c"), None), ("K", "v"), ("export X", "a\nb\n"), ("E", ""), ("R", "x\r")) == (
        b"# c\nK=v\nexport X=a\\nb\\n\nE=\nR=x\r\n"
    )
    assert emit() == b""
    assert emit(("B", b"raw\xff\nbytes")) == b"B=raw\xff\\nbytes\n"


def test_emit_non_strings_as_val_to_string() -> None:
    """Values from other formats (checked with bin: YAML -> --output-type dotenv)."""
    out = emit(("i", 42), ("neg", -5), ("f", 1.5), ("fi", 10.0), ("big", 1e21), ("e20", 1e20), ("mil", 1234567.0),
               ("small", 1e-7), ("z", -0.0), ("inf", float("inf")), ("nan", float("nan")), ("t", True),
               ("fa", False), ("d", Time("2001-01-01T00:00:00Z")), ("ts", Time("2001-12-14T21:59:43.1-05:00")),
               ("n", None))
    assert out == (
        b"i=42\nneg=-5\nf=1.5\nfi=10.0\nbig=1E+21\ne20=1E+20\nmil=1.234567E+06\nsmall=1E-07\nz=-0.0\n"
        b"inf=+Inf\nnan=NaN\nt=true\nfa=false\nd=2001-01-01T00:00:00Z\nts=2001-12-14T21:59:43-05:00\nn=<nil>\n"
    )


@pytest.mark.parametrize(("value", "key"), [(Branch([("b", "1")]), "a"), (["1"], "a"), ([], "a"), (Branch(), "a")])
def test_emit_complex_value(value: object, key: str) -> None:
    with pytest.raises(ErrorDumpingTree) as ei:
        emit(("ok", "1"), (key, value))
    assert str(ei.value) == f"cannot use complex value in dotenv file; offending key {key}"
    assert ei.value.exit_code == 4


def test_emit_only_first_document() -> None:
    """A multi-document YAML converted to dotenv: only the first document is written."""
    assert DotenvStore().emit_plain([Branch([("a", 1)]), Branch([("b", 2)])]) == b"a=1\n"


def test_emit_non_string_keys_like_go_percent_s() -> None:
    assert emit((1, "a"), (True, "b")) == b"%!s(int=1)=a\n%!s(bool=true)=b\n"


def test_emit_value() -> None:
    store = DotenvStore()
    assert store.emit_value("x<y") == b"x<y"
    for value, name in [(1, "int"), (1.5, "float64"), ([1], "[]interface {}"), (None, "<nil>"), (True, "bool"),
                        (Time("2001-01-01T00:00:00Z"), "time.Time")]:
        with pytest.raises(ErrorDumpingTree) as ei:
            store.emit_value(value)
        assert str(ei.value) == f"the dotenv store only supports emitting strings, got {name}"


def test_has_sops_top_level_key() -> None:
    assert DotenvStore.has_sops_top_level_key(Branch([("a", "1"), ("sops_x", "1")]))
    assert not DotenvStore.has_sops_top_level_key(Branch([("sops", "1"), (Comment("sops_x"), None)]))


# ------------------------------------------------------------------------------------------------
# fixtures written by bin


def test_plain_fixture_matches_bin() -> None:
    data = (PLAIN / "flat_basic.env").read_bytes()
    store = DotenvStore()
    assert store.emit_plain(store.load_plain(data)) == (SOPS / "flat_basic.dec.env").read_bytes()


@pytest.mark.parametrize("name", ["flat_basic", "flat_shamir", "flat_manykeys"])
def test_decrypt_files_written_by_bin(name: str) -> None:
    branches, md = open_encrypted(SOPS / f"{name}.enc.env")
    expected = (SOPS / ("flat_basic" if name == "flat_manykeys" else name)).with_suffix(".dec.env")
    assert DotenvStore().emit_plain(branches) == expected.read_bytes()
    assert md.version == "3.11.0"


def test_metadata_of_bin_files() -> None:
    _, md = DotenvStore().load_encrypted((SOPS / "flat_basic.enc.env").read_bytes())
    assert md.unencrypted_suffix == "_unencrypted" and md.shamir_threshold == 0 and not md.mac_only_encrypted
    assert [[k.type for k in g] for g in md.key_groups] == [["age"]]
    assert md.key_groups[0][0].enc.startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert md.key_groups[0][0].enc.endswith("\n-----END AGE ENCRYPTED FILE-----\n")
    assert len(data_key_of(md)) == 32
    _, md = DotenvStore().load_encrypted((SOPS / "flat_shamir.enc.env").read_bytes())
    assert md.shamir_threshold == 2 and md.mac_only_encrypted
    assert md.encrypted_regex == "^(DB_|pass|host|multi|toplevel|#)" and md.unencrypted_suffix == ""
    assert [len(g) for g in md.key_groups] == [1, 2]
    _, md = DotenvStore().load_encrypted((SOPS / "flat_manykeys.enc.env").read_bytes())
    assert len(md.key_groups[0]) == 12  # bin wrote __list_10 before __list_2


def test_emit_encrypted_layout() -> None:
    """Data lines first, then the metadata in 3.13's order; rewriting bin's file keeps the data lines."""
    enc = (SOPS / "flat_basic.enc.env").read_bytes()
    branches, md = DotenvStore().load_encrypted(enc)
    out = DotenvStore().emit_encrypted(branches, md)
    data_lines = [line for line in enc.split(b"\n") if not line.startswith(b"sops_")]
    assert [line for line in out.split(b"\n") if not line.startswith(b"sops_")] == data_lines
    meta = [line.split(b"=", 1)[0] for line in out.split(b"\n") if line.startswith(b"sops_")]
    assert meta == [b"sops_age__list_0__map_enc", b"sops_age__list_0__map_recipient", b"sops_lastmodified",
                    b"sops_mac", b"sops_unencrypted_suffix", b"sops_version"]
    assert b"sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\n" in out
    again = DotenvStore().load_encrypted(out)
    assert again == (branches, md)


def test_emit_encrypted_non_strings() -> None:
    md = Metadata(key_groups=[[KeyEntry("age", {"recipient": "r", "enc": "e"})], [KeyEntry("age", {"recipient": "s",
                  "enc": "f"})]], shamir_threshold=2, lastmodified="2024-01-01T00:00:00Z", mac="M",
                  mac_only_encrypted=True, unencrypted_suffix="_unencrypted", version="3.13.2")
    out = DotenvStore().emit_encrypted([Branch([("A", "x")])], md)
    assert out == (
        b"A=x\nsops_key_groups__list_0__map_age__list_0__map_enc=e\n"
        b"sops_key_groups__list_0__map_age__list_0__map_recipient=r\n"
        b"sops_key_groups__list_1__map_age__list_0__map_enc=f\n"
        b"sops_key_groups__list_1__map_age__list_0__map_recipient=s\n"
        b"sops_lastmodified=2024-01-01T00:00:00Z\nsops_mac=M\nsops_mac_only_encrypted=true\n"
        b"sops_shamir_threshold=2\nsops_unencrypted_suffix=_unencrypted\nsops_version=3.13.2\n"
    )
    assert DotenvStore().load_encrypted(out)[1] == md


def test_emit_encrypted_refuses_sops_prefixed_data_keys() -> None:
    """3.13 refuses (bin wrote the key and broke the file: it reads back as metadata)."""
    _, md = DotenvStore().load_encrypted((SOPS / "flat_basic.enc.env").read_bytes())
    with pytest.raises(ErrorDumpingTree) as ei:
        DotenvStore().emit_encrypted([Branch([("A", "1"), ("sops_x", "v")])], md)
    assert str(ei.value) == (
        'Error marshaling metadata: Found key "sops_x" in encrypted data, which starts with the reserved key '
        'prefix "sops_" for SOPS metadata'
    )
    assert ei.value.exit_code == 4


def test_load_encrypted_errors() -> None:
    store = DotenvStore()
    with pytest.raises(MetadataNotFound, match="sops metadata not found"):
        store.load_encrypted(b"A=1\n#sops_x=1\nsops=1\n")
    with pytest.raises(SopsError, match="invalid dotenv input line: garbage") as ei:
        store.load_encrypted(b"garbage")
    assert ei.value.exit_code == 1
    # a duplicated metadata line: the last one wins, as in sops 3.11 (issue 16; 3.13 refuses it)
    _, md = store.load_encrypted(b"sops_mac=1\nsops_lastmodified=2024-01-01T00:00:00Z\nsops_mac=2\n"
                                 b"sops_age__list_0__map_recipient=r\n")
    assert md.mac == "2"
    with pytest.raises(SopsError, match="Error while unflattening: Incomplete list"):
        store.load_encrypted(b"sops_age__list_1__map_enc=x\n")
    with pytest.raises(SopsError, match="No keys found in file"):
        store.load_encrypted(b"sops_lastmodified=2024-01-01T00:00:00Z\nsops_version=3.13.2\n")


def test_load_encrypted_keeps_comments_and_order() -> None:
    branches, md = DotenvStore().load_encrypted(
        b"#c\nsops_age__list_0__map_recipient=r\nA=1\nsops_age__list_0__map_enc=e\\nf\n"
        b"sops_lastmodified=2024-01-01T00:00:00Z\nB=2\n"
    )
    assert branches == [Branch([(Comment("c"), None), ("A", "1"), ("B", "2")])]
    assert md.key_groups[0][0].fields == {"recipient": "r", "enc": "e\nf"}
