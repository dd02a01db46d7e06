"""Known answers for the INI store (gopkg.in/ini.v1 parsing and writing as sops uses it).

``BIN_ROUND_TRIPS`` and ``BIN_LOAD_ERRORS`` were recorded from the sops binary ("bin", 3.11, built with
ini.v1 v1.67.1): each input was encrypted with ``sops encrypt`` and decrypted with ``sops decrypt``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sops_py.cipher import Cipher
from sops_py.errors import CouldNotReadInputFile, ErrorDumpingTree, MetadataNotFound, SopsError
from sops_py.metadata import Metadata
from sops_py.rules import Rule
from sops_py.stores import get_store
from sops_py.stores.ini_store import INIStore, go_trim_space
from sops_py.tree import Branch, Comment, Time
from sops_py.walk import decrypt_tree
from tests.helpers import TESTDATA, any_data_key_of

PLAIN = TESTDATA / "plain"
SOPS = TESTDATA / "sops"

# (input, what bin's decrypt printed after encrypting it)
BIN_ROUND_TRIPS = [
    (b'', b''),
    (b'\n', b''),
    (b'a=1', b'a = 1\n'),
    (b'[s]', b'[s]\n'),
    (b'[s]\n', b'[s]\n'),
    (b'; only comment\n', b''),
    (b'[DEFAULT]\na=1\n', b'[DEFAULT]\na = 1\n'),
    (b'[default]\na=1\n', b'[default]\na = 1\n'),
    (b'[s]\na=1\n[DEFAULT]\nb=2\n', b'[s]\na = 1\n\n[DEFAULT]\nb = 2\n'),
    (b'a=1\n[s]\n', b'a = 1\n\n[s]\n'),
    (b'[s]\n[t]\n', b'[s]\n\n[t]\n'),
    (b'x: y\n', b'x = y\n'),
    (b'a = b = c\n', b'a = b = c\n'),
    (b'a : b = c\n', b'a = b = c\n'),
    (b'"k" = v\n', b'k = v\n'),
    (b'"k=1" = v\n', b'`k=1` = v\n'),
    (b'`k:2` = v\n', b'`k:2` = v\n'),
    (b'"""k`x""" = v\n', b'"""k`x""" = v\n'),
    (b'"""ab""" = v\n', b'ab = v\n'),
    (b'"k"junk = v\n', b'k = v\n'),
    (b'a = "x"\n', b'a = x\n'),
    (b"a = 'x'\n", b'a = x\n'),
    (b'a = "x" y"\n', b'a = "x" y"\n'),
    (b'a = ""\n', b'a = \n'),
    (b"a = '\n", b"a = '\n"),
    (b'a = "\n', b'a = "\n'),
    (b'a = `x`\n', b'a = x\n'),
    (b'a = `x ; y` ; c\n', b'a = `x ; y`\n'),
    (b'a = `multi\nline`\n', b'a = """multi\nline"""\n'),
    (b'a = """m\nl""" ; tail\nb=2\n', b'; tail\na = """m\nl"""\nb = 2\n'),
    (b'a = x \\\n  y \\\n z\nb = 1\n', b'a = x y z\nb = 1\n'),
    (b'a = x\\', b'a = x\n'),
    (b'a = x # c\n', b'; c\na = x\n'),
    (b'a = x;c\n', b'; c\na = x\n'),
    (b'a = "x ; y"\n', b'; y"\na = "x\n'),
    (b'a = x\r\nb = y\r\n', b'a = x\nb = y\n'),
    (b'; c1\n# c2\na = 1 ; c3\n', b'; c1\n# c2\n; c3\na = 1\n'),
    (b'[s] # sc\n;k\nk = v\n', b'; sc\n[s]\n; k\nk = v\n'),
    (b'[s]\n;\nk=v\n', b'[s]\nk = v\n'),
    (b'[s]\n;;;  x\n#  #y\nk=v\n', b'[s]\n; x\n# #y\nk = v\n'),
    (b'[a]]x\n', b'[a]]\n'),
    (b'   \t  a = 1\n', b'a = 1\n'),
    (b'a = 1\n a = 2\n', b'a = 2\n'),
    (b'a = \xff\xfe\n', b'a = \xff\xfe\n'),
    (b'\xef\xbb\xbfa = 1\n', b'a = 1\n'),
    (b'\xff\xfea=1\n', b'a = 1\n'),
    (b'k = v\t\n', b'k = v\n'),
    (b'k = \xc2\xa0v\xc2\xa0\n', b'k = v\n'),
    (b'k = "  spaced  "\n', b'k = "  spaced  "\n'),
    (b"k = ' sp '\n", b'k = " sp "\n'),
    (b'k = v\xe2\x80\x83\n', b'k = v\n'),
    (b'a.b = 1\n[x.y]\nz=1\n', b'a.b = 1\n\n[x.y]\nz = 1\n'),
    (b'[s]\nk = %(other)s\nother = 1\n', b'[s]\nk     = %(other)s\nother = 1\n'),
    (b'k = a\\nb\n', b'k = a\\nb\n'),
    (b'k=""""""\n', b'k = \n'),
    (b'k = """x"""y"""\n', b'k = x"""y\n'),
    (b'[s]\nk=1\n;trailing\n', b'[s]\nk = 1\n'),
    (b'[s]\nk=1\n;trailing\n[t]\n', b'[s]\nk = 1\n\n; trailing\n[t]\n'),
    (b'[ spaced ]\nk=1\n', b'[ spaced ]\nk = 1\n'),
    (b'[s]\nk=1\n\n\n[s]\nk=2\n', b'[s]\nk = 1\n\n[s]\nk = 2\n'),
    (b'k=1\n[DEFAULT]\nk=2\n', b'k = 1\n\n[DEFAULT]\nk = 2\n'),
    (b'[DEFAULT]\n[s]\nk=1\n', b'[DEFAULT]\n\n[s]\nk = 1\n'),
    (b'[s]\n; c before\nk = 1\nk = 2 ; c2\n', b'[s]\n; c2\nk = 2\n'),
    (b'[s]\n; c before\nk = 1\nk = 2\n', b'[s]\nk = 2\n'),
    (b'a = x\\\n\nb = y\n', b'a = x\nb = y\n'),
    (b'k = "a"b"\n', b'k = "a"b"\n'),
    (b"k='a'b'\n", b"k = 'a'b'\n"),
    (b'k = \\\n', b'k = \n'),
    (b'k=v\\\r\nw\r\n', b'k = vw\n'),
    (b'k`x = 1\n', b'"""k`x""" = 1\n'),
    (b'k"x = 1\n', b'`k"x` = 1\n'),
    (b'`a"b` = 1\n', b'`a"b` = 1\n'),
]
# (input, bin's stderr on encrypt)
BIN_LOAD_ERRORS = [
    (b'a = """unterminated\nb=2\n', 'Error unmarshalling file: Could not unmarshal input data: missing closing key quote from "\\"\\"\\"unterminated\\n" to ""\n'),
    (b'a = `unterminated', 'Error unmarshalling file: Could not unmarshal input data: missing closing key quote from "`unterminated" to ""\n'),
    (b'[]\n', 'Error unmarshalling file: Could not unmarshal input data: empty section name\n'),
    (b'[a\n', 'Error unmarshalling file: Could not unmarshal input data: unclosed section: [a\n\n'),
    (b'=v\n', 'Error unmarshalling file: Could not unmarshal input data: empty key name: =v\n\n'),
    (b'noval\n', 'Error unmarshalling file: Could not unmarshal input data: key-value delimiter not found: noval\n\n'),
    (b'k\n', 'Error unmarshalling file: Could not unmarshal input data: key-value delimiter not found: k\n\n'),
    (b'k="""\n', 'Error unmarshalling file: Could not unmarshal input data: missing closing key quote from "\\"\\"\\"\\n" to ""\n'),
    (b'k = `\n', 'Error unmarshalling file: Could not unmarshal input data: missing closing key quote from "`\\n" to ""\n'),
    (b'"" = v\n', 'Error unmarshalling file: Could not unmarshal input data: error creating new key: empty key name\n'),
]


def load(data: bytes) -> Branch:
    branches = INIStore().load_plain(data)
    assert len(branches) == 1
    return branches[0]


def emit(*sections: tuple[object, object]) -> bytes:
    return INIStore().emit_plain([Branch(sections)])


def open_encrypted(path: Path) -> tuple[list[Branch], Metadata]:
    """Load a sops INI file, decrypt it with the test keys and check its MAC."""
    branches, md = INIStore().load_encrypted(path.read_bytes())
    cipher = Cipher(any_data_key_of(md))
    mac = decrypt_tree(branches, cipher, Rule.of(md), md.mac_only_encrypted)
    assert cipher.decrypt(md.mac, md.lastmodified_aad()) == mac
    return branches, md


def test_get_store() -> None:
    store = get_store("ini", 2)
    assert isinstance(store, INIStore) and store.name == "ini"


@pytest.mark.parametrize(("data", "expected"), BIN_ROUND_TRIPS, ids=[repr(c)[:40] for c, _ in BIN_ROUND_TRIPS])
def test_round_trips_match_bin(data: bytes, expected: bytes) -> None:
    store = INIStore()
    assert store.emit_plain(store.load_plain(data)) == expected


@pytest.mark.parametrize(("data", "stderr"), BIN_LOAD_ERRORS, ids=[repr(c)[:40] for c, _ in BIN_LOAD_ERRORS])
def test_load_errors_match_bin(data: bytes, stderr: str) -> None:
    with pytest.raises(CouldNotReadInputFile) as ei:
        INIStore().load_plain(data)
    assert f"Error unmarshalling file: {ei.value}\n" == stderr
    assert ei.value.exit_code == 2


# ------------------------------------------------------------------------------------------------
# the tree sops builds


def test_default_section_always_first() -> None:
    assert INIStore().load_plain(b"") == [Branch([("DEFAULT", Branch())])]
    assert load(b"[s]\nk = v\n") == Branch([("DEFAULT", Branch()), ("s", Branch([("k", "v")]))])
    assert load(b"a=1\n[DEFAULT]\nb=2\n[s]\n[s]\n") == Branch([
        ("DEFAULT", Branch([("a", "1")])), ("DEFAULT", Branch([("b", "2")])), ("s", Branch()), ("s", Branch()),
    ])


def test_comment_placement() -> None:
    """Comment lines go to the next key (placed after it) or section header (first item)."""
    data = b"; k1 comment\nk1 = v ; inline\n[s] ; sc\n# c\nk = 1\n;; lost at the end\n"
    assert load(data) == Branch([
        ("DEFAULT", Branch([("k1", "v"), (Comment("k1 comment\n; inline"), None)])),
        ("s", Branch([(Comment("sc"), None), ("k", "1"), (Comment("c"), None)])),
    ])
    assert load(b"[s]\n; a\n[t]\n")[1:] == Branch([("s", Branch([])), ("t", Branch([(Comment("a"), None)]))])
    assert load(b"k = v ;\n")[0][1] == Branch([("k", "v"), (Comment(""), None)])
    assert load(b"k = v # ; x\n")[0][1] == Branch([("k", "v"), (Comment("; x"), None)])  # TrimLeft "# "


def test_values_are_strings_and_unquoted() -> None:
    data = (b'n = 3\nb = true\nq = "x"\ns = \'y\'\nbt = `a;b`\nt = """m\nl"""\nc = a \\\n  b\n'
            b'e =\nhash = x#y\n')
    assert load(data)[0][1] == Branch([
        ("n", "3"), ("b", "true"), ("q", "x"), ("s", "y"), ("bt", "a;b"), ("t", "m\nl"), ("c", "a b"), ("e", ""),
        ("hash", "x"), (Comment("y"), None),
    ])


def test_duplicate_keys_and_auto_increment() -> None:
    assert load(b"a=1\nb=2\na=3\n")[0][1] == Branch([("a", "3"), ("b", "2")])
    assert load(b"- = x\n- = y\n[s]\n- = z\n") == Branch([
        ("DEFAULT", Branch([("#1", "x"), ("#2", "y")])), ("s", Branch([("#1", "z")])),
    ])


def test_go_trim_space() -> None:
    assert go_trim_space("\t\n\v\f\r \x85\xa0\u2003x y\u3000\u2028") == "x y"
    assert go_trim_space("\x1cx\x1f") == "\x1cx\x1f"  # Python's isspace, not Go's


# ------------------------------------------------------------------------------------------------
# emitting


def test_emit_alignment_and_key_quoting() -> None:
    out = emit(("s", Branch([("a", "1"), ("k=1", "2"), ("k`2", "3"), ('k"4', "4"), ("é", "5")])))
    assert out == (
        b"[s]\n"
        b"a         = 1\n"
        b"`k=1`     = 2\n"
        b'"""k`2""" = 3\n'
        b"`k\"4`     = 4\n"
        b"\xc3\xa9        = 5\n"  # byte length (checked with bin: YAML -> --output-type ini)
    )


def test_emit_value_quoting() -> None:
    values = [("nl", "a\nb"), ("bt", "a`b"), ("hash", "a#b"), ("semi", "a;b"), ("lead", " x"), ("trail", "x\t"),
              ("nbsp", "\xa0x"), ("quotes", '"x"'), ("single", "'x'"), ("empty", ""), ("plain", "a = b")]
    assert emit(("s", Branch(values))) == (
        b'[s]\nnl     = """a\nb"""\nbt     = """a`b"""\nhash   = `a#b`\nsemi   = `a;b`\nlead   = " x"\n'
        b'trail  = "x\t"\nnbsp   = "\xc2\xa0x"\nquotes = "x"\nsingle = \'x\'\nempty  = \nplain  = a = b\n'
    )


def test_emit_default_header_rules() -> None:
    assert emit(("DEFAULT", Branch([("a", "1")])), ("s", Branch())) == b"a = 1\n\n[s]\n"
    assert emit(("DEFAULT", Branch()), ("s", Branch([("b", "2")]))) == b"[s]\nb = 2\n"
    assert emit(("default", Branch([("a", "1")]))) == b"a = 1\n"  # ToUpper(name) == DEFAULT
    assert emit(("s", Branch()), ("DEFAULT", Branch([("a", "1")]))) == b"[s]\n\n[DEFAULT]\na = 1\n"
    assert emit(("DEFAULT", Branch([(Comment("c"), None)])), ("s", Branch())) == b"; c\n[s]\n"
    assert INIStore().emit_plain([]) == b""


def test_emit_comments() -> None:
    sec = Branch([(Comment("  section"), None), (Comment("dropped: before any key"), None), ("k", "v"),
                  (Comment("first"), None), (Comment(" last wins"), None), ("m", "w"), (Comment("#x\n; y\nz"), None)])
    assert emit(("s", sec)) == b";   section\n[s]\n; last wins\nk = v\n# x\n; y\n; z\nm = w\n"
    assert emit(("s", Branch([(Comment(""), None), ("k", "v"), (Comment(""), None)]))) == b"[s]\nk = v\n"
    with pytest.raises(ErrorDumpingTree, match="index out of range"):  # Go panics on an empty comment line
        emit(("s", Branch([("k", "v"), (Comment("\nx"), None)])))


def test_emit_converted_values() -> None:
    """Non-string values from YAML/JSON (checked with bin: --output-type ini)."""
    sec = Branch([("i", 42), ("f", 1.0), ("g", 1e21), ("b", True), ("n", None), ("t", Time("2001-12-14T21:59:43.1-05:00")),
                  ("l", [1, "x", Branch([("k", "v")])]), ("m", Branch([("x", Branch([("y", 1.5)])), ("z", None)])),
                  ("el", []), ("em", Branch())])
    assert emit(("s", sec)) == (
        b"[s]\ni  = 42\nf  = 1.0\ng  = 1E+21\nb  = true\nn  = <nil>\nt  = 2001-12-14T21:59:43-05:00\n"
        b"l  = [1 x [{k v}]]\nm  = [{x [{y 1.5}]} {z <nil>}]\nel = []\nem = []\n"
    )
    assert INIStore().emit_plain([Branch([("a", Branch([("x", "1")]))]), Branch([("b", Branch())])]) == (
        b"[a]\nx = 1\n\n[b]\n"
    )


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (Branch([("a", "1")]), "Error encoding section: Section values should always be TreeBranches"),
        (Branch([("a", None)]), "Error encoding section: Section values should always be TreeBranches"),
        (Branch([("", Branch())]), "Error encoding section : empty section name"),
        (Branch([("a", Branch([("", "1")]))]), "Error encoding key: error creating new key: empty key name"),
    ],
)
def test_emit_errors(tree: Branch, message: str) -> None:
    with pytest.raises(ErrorDumpingTree) as ei:
        INIStore().emit_plain([tree])
    assert str(ei.value) == f"Error marshaling to INI: {message}"  # bin: "Error marshaling to ini: "
    assert ei.value.exit_code == 4


def test_emit_value_is_go_json() -> None:
    store = INIStore()
    assert store.emit_value(1) == b"1"
    assert store.emit_value(1.5) == b"1.5"
    assert store.emit_value(1e21) == b"1e+21"
    assert store.emit_value(None) == b"null"
    assert store.emit_value(True) == b"true"
    assert store.emit_value(Time("2001-01-01T00:00:00Z")) == b'"2001-01-01T00:00:00Z"'
    assert store.emit_value([1, "a", Branch([("x", 2)])]) == b'[1,"a",[{"Key":"x","Value":2}]]'
    assert store.emit_value("x<y") == b'"x\\u003cy"'
    with pytest.raises(ErrorDumpingTree, match="unsupported value"):
        store.emit_value(float("nan"))


# ------------------------------------------------------------------------------------------------
# fixtures written by bin


@pytest.mark.parametrize("name", ["flat_basic", "flat_quirks"])
def test_plain_fixtures_match_bin(name: str) -> None:
    store = INIStore()
    data = (PLAIN / f"{name}.ini").read_bytes()
    assert store.emit_plain(store.load_plain(data)) == (SOPS / f"{name}.dec.ini").read_bytes()


@pytest.mark.parametrize("name", ["flat_basic", "flat_quirks", "flat_shamir", "flat_manykeys"])
def test_decrypt_files_written_by_bin(name: str) -> None:
    branches, md = open_encrypted(SOPS / f"{name}.enc.ini")
    expected = SOPS / f"{'flat_basic' if name == 'flat_manykeys' else name}.dec.ini"
    assert INIStore().emit_plain(branches) == expected.read_bytes()
    assert md.version == "3.11.0"


def test_metadata_of_bin_files() -> None:
    _, md = INIStore().load_encrypted((SOPS / "flat_shamir.enc.ini").read_bytes())
    assert md.shamir_threshold == 2 and md.mac_only_encrypted
    assert md.encrypted_regex == "^(DB_|pass|host|multi|toplevel|#)"
    assert [len(g) for g in md.key_groups] == [1, 2]
    assert all(k.enc.endswith("-----END AGE ENCRYPTED FILE-----\n") for g in md.key_groups for k in g)
    _, md = INIStore().load_encrypted((SOPS / "flat_manykeys.enc.ini").read_bytes())
    assert len(md.key_groups[0]) == 12


def test_emit_encrypted_layout() -> None:
    enc = (SOPS / "flat_basic.enc.ini").read_bytes()
    branches, md = INIStore().load_encrypted(enc)
    out = INIStore().emit_encrypted(branches, md)
    data_part, sops_part = out.split(b"\n[sops]\n")
    assert data_part == enc.split(b"\n[sops]\n")[0]  # bin's data part, byte for byte
    names = [line.split(b" ", 1)[0] for line in sops_part.splitlines()]
    assert names == [b"age__list_0__map_enc", b"age__list_0__map_recipient", b"lastmodified", b"mac",
                     b"unencrypted_suffix", b"version"]  # 3.13 sorted; bin's order is random
    assert sops_part.startswith(b"age__list_0__map_enc       = -----BEGIN AGE ENCRYPTED FILE-----\\n")
    assert INIStore().load_encrypted(out) == (branches, md)


def test_emit_encrypted_refuses_sops_section() -> None:
    _, md = INIStore().load_encrypted((SOPS / "flat_basic.enc.ini").read_bytes())
    with pytest.raises(ErrorDumpingTree) as ei:
        INIStore().emit_encrypted([Branch([("sops", Branch())])], md)
    assert str(ei.value) == (
        'Error marshaling metadata: Found key "sops" in encrypted data, which is a reserved key used for SOPS metadata'
    )


def test_load_encrypted_errors() -> None:
    store = INIStore()
    with pytest.raises(MetadataNotFound):
        store.load_encrypted(b"[s]\nk = v\n")
    with pytest.raises(MetadataNotFound):  # an empty section is Go's nil branch
        store.load_encrypted(b"[sops]\n")
    with pytest.raises(SopsError, match="Found duplicate sops entry"):
        store.load_encrypted(b"[sops]\na = 1\n[sops]\nb = 2\n")
    with pytest.raises(SopsError, match="Could not unmarshal input data: unclosed section") as ei:
        store.load_encrypted(b"[sops\n")
    assert ei.value.exit_code == 1
    with pytest.raises(SopsError, match="Type mismatch"):
        store.load_encrypted(b"[sops]\nage = x\nage__list_0__map_enc = y\n")
    with pytest.raises(MetadataNotFound):  # a comment at the end belongs to no key: the section is empty
        store.load_encrypted(b"[sops]\n; c\n")
    with pytest.raises(SopsError, match='parsing time ""'):  # only a section comment: an empty tree
        store.load_encrypted(b"; c\n[sops]\n")


def test_load_encrypted_unescapes_and_ignores_comments() -> None:
    branches, md = INIStore().load_encrypted(
        b"[s]\nk = v\n[sops]\n; a comment\nage__list_0__map_enc = a\\nb\\n\nage__list_0__map_recipient = r\n"
        b"lastmodified = 2024-01-01T00:00:00Z\nmac_only_encrypted = true\nshamir_threshold = 2\n"
    )
    assert branches == [Branch([("DEFAULT", Branch()), ("s", Branch([("k", "v")]))])]
    assert md.key_groups[0][0].fields == {"recipient": "r", "enc": "a\nb\n"}
    assert md.mac_only_encrypted and md.shamir_threshold == 2
