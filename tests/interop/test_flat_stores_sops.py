"""The dotenv and INI stores against the real sops binary (3.11.0+, called "bin" in the spec).

Plaintext: every input is encrypted and decrypted by bin; what bin prints must equal our
``emit_plain(load_plain(input))`` byte for byte. Inputs whose written form ini.v1 itself reads back
differently (a key written in backticks that contains a backtick, ``-`` auto-increment keys that come
back as comments, ...) are left out: bin re-reads its own encrypted file, so its result there depends
on the ciphertext.

Encrypted files: we read and decrypt what bin writes, and bin decrypts what we write.

Known differences between bin and sops 3.13.2 (which sops-py follows), asserted below:

* the INI emit error prefix: bin ``Error marshaling to ini:``, 3.13 ``Error marshaling to INI:``;
* JSON numbers: bin reads every JSON number as a float64 (``1`` is written ``1.0`` in dotenv/INI),
  3.13 keeps integers as ints;
* metadata order: bin sorts the full flattened keys in dotenv (``__list_10`` before ``__list_2``) and
  writes the INI ``[sops]`` section in random order; 3.13 sorts nested. Both read either;
* a data key starting with ``sops_`` (dotenv) or a section ``sops`` (INI) when writing an encrypted
  file: bin writes it and breaks the file, 3.13 refuses (exit 4).
"""

from __future__ import annotations

import importlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from sops_py.cipher import Cipher
from sops_py.errors import CouldNotReadInputFile, SopsError
from sops_py.rules import Rule
from sops_py.stores import get_store
from sops_py.stores.dotenv_store import DotenvStore
from sops_py.stores.ini_store import INIStore
from sops_py.tree import Branch
from sops_py.walk import decrypt_tree, encrypt_tree
from tests.helpers import AGE2_RECIPIENT, AGE_RECIPIENT, TESTDATA, any_data_key_of

try:
    from tests.interop.sops_helpers import age_key, requires_sops, run_sops, sops_env
except ImportError:  # pragma: no cover - tests run without the package layout
    from sops_helpers import (  # type: ignore[import-not-found,no-redef]
        age_key,
        requires_sops,
        run_sops,
        sops_env,
    )

pytestmark = [pytest.mark.interop, requires_sops]

PLAIN = TESTDATA / "plain"
STORES: dict[str, Any] = {".env": DotenvStore(), ".ini": INIStore()}
TYPES = {".env": "dotenv", ".ini": "ini", ".yaml": "yaml", ".json": "json"}


def _env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return sops_env(extra, home=tmp_path / "home")


def bin_encrypt(tmp_path: Path, name: str, data: bytes, env: dict[str, str] | None = None,
                recipients: str | None = None) -> Any:
    src = tmp_path / name
    src.write_bytes(data)
    args: list[str | Path] = ["encrypt"]
    if recipients != "":
        args += ["--age", recipients or age_key()[1]]
    return run_sops([*args, src], env=env or _env(tmp_path), cwd=tmp_path)


def bin_decrypt(tmp_path: Path, name: str, data: bytes, *extra: str, env: dict[str, str] | None = None) -> Any:
    path = tmp_path / name
    path.write_bytes(data)
    return run_sops(["decrypt", *extra, path], env=env or _env(tmp_path), cwd=tmp_path)


def bin_roundtrip(tmp_path: Path, name: str, data: bytes) -> tuple[bytes, Any]:
    """(encrypted bytes, decrypt result) for ``data`` stored as file ``name``."""
    enc = bin_encrypt(tmp_path, name, data)
    assert enc.returncode == 0, enc.stderr.decode()
    return enc.stdout, bin_decrypt(tmp_path, "enc-" + name, enc.stdout)


def ours(data: bytes, ext: str) -> bytes:
    store = STORES[ext]
    out: bytes = store.emit_plain(store.load_plain(data))
    return out


def stable(data: bytes, ext: str) -> bool:
    """Whether our output reads back to the same tree (otherwise bin's re-read of its file differs)."""
    store = STORES[ext]
    try:
        return bool(store.load_plain(ours(data, ext)) == store.load_plain(data))
    except SopsError:
        return False


def check_plain(tmp_path: Path, data: bytes, ext: str) -> None:
    _, dec = bin_roundtrip(tmp_path, "in" + ext, data)
    assert dec.returncode == 0, dec.stderr.decode()
    assert ours(data, ext) == dec.stdout


INI_CORPUS = [
    b"", b"a=1", b"[s]\n", b"; only comment\n", b"[DEFAULT]\na=1\n", b"[default]\na=1\n", b"[s]\na=1\n[DEFAULT]\nb=2\n",
    b"x: y\n", b"a : b = c\n", b'"k" = v\n', b'"k=1" = v\n', b'`k:2` = v\n', b'"""k`x""" = v\n', b'"k"junk = v\n',
    b'a = "x"\n', b"a = 'x'\n", b'a = "x" y"\n', b'a = ""\n', b"a = '\n", b"a = `x ; y` ; c\n", b"a = `multi\nline`\n",
    b'a = """m\nl""" ; tail\nb=2\n', b"a = x \\\n  y \\\n z\nb = 1\n", b"a = x\\", b"a = x # c\n", b'a = "x ; y"\n',
    b"a = x\r\nb = y\r\n", b"; c1\n# c2\na = 1 ; c3\n", b"[s] # sc\n;k\nk = v\n", b"[s]\n;\nk=v\n",
    b"[s]\n;;;  x\n#  #y\nk=v\n", b"[a]]x\n", b"a = 1\n a = 2\n", b"a = \xff\xfe\n", b"\xef\xbb\xbfa = 1\n",
    b"\xff\xfea=1\n", b"k = \xc2\xa0v\xc2\xa0\n", b"k = ' sp '\n", b"[s]\nk = %(other)s\nother = 1\n", b"k = a\\nb\n",
    b'k=""""""\n', b'k = """x"""y"""\n', b"[s]\nk=1\n;trailing\n[t]\n", b"[ spaced ]\nk=1\n", b"[s]\nk=1\n\n[s]\nk=2\n",
    b"[DEFAULT]\n[s]\nk=1\n", b"[s]\n; c before\nk = 1\nk = 2 ; c2\n", b"k=v\\\r\nw\r\n", b"k`x = 1\n", b'`a"b` = 1\n',
    b"[s]\n" + b"".join(b"key%d%s = v\n" % (i, b"x" * i) for i in range(12)),
]
ENV_CORPUS = [
    b"", b"\n\n", b"a=1", b"#", b"# c\n#\n", b"=v\n", b"a==b\n", b"a=\\n\n", b"a=\\\\n\n", b"a=x\\ny\\n\n", b"a=\r\n",
    b"a=1\r\nb=2\r\n", b" a = 1 \n", b'export A="x y"\n', b"a=\xff\xfe\n", b"\xef\xbb\xbfa=1\n", b"a=1\na=2\n",
    b" #a=1\n", b"k=v#c\n", b"\xff=1\n", b"k=\\\n", b"sops=1\n",
]


@pytest.mark.parametrize("data", INI_CORPUS, ids=[repr(c)[:40] for c in INI_CORPUS])
def test_ini_plain_matches_bin(tmp_path: Path, data: bytes) -> None:
    check_plain(tmp_path, data, ".ini")


@pytest.mark.parametrize("data", ENV_CORPUS, ids=[repr(c)[:40] for c in ENV_CORPUS])
def test_dotenv_plain_matches_bin(tmp_path: Path, data: bytes) -> None:
    check_plain(tmp_path, data, ".env")


@pytest.mark.parametrize("name", ["flat_basic.env", "flat_basic.ini", "flat_quirks.ini"])
def test_plain_fixtures_match_bin(tmp_path: Path, name: str) -> None:
    data = (PLAIN / name).read_bytes()
    check_plain(tmp_path, data, Path(name).suffix)


def _random_ini(rng: random.Random) -> bytes:
    def ws() -> str:
        return rng.choice(["", " ", "  ", "\t"])

    lines = []
    for _ in range(rng.randint(0, 8)):
        r = rng.random()
        if r < 0.15:
            lines.append(ws() + rng.choice([";", "#", ";;", "# #"]) + ws() + rng.choice(["c", "two words", "", "x;y"]))
        elif r < 0.3:
            lines.append("[" + rng.choice(["s", "DEFAULT", "sec 2", "ü", "s"]) + "]" + rng.choice(["", " ; c", " # d", "x"]))
        elif r < 0.35:
            lines.append(ws())
        else:
            key = rng.choice(["k", "key", "a b", "K", '"q"', "`b`", '"""t"""', "ü", "k.x", "k"])
            val = rng.choice(["v", "", " v ", '"v"', "'v'", '"v', "`v`", "`v", '"""v"""', '"""v', "a;b", "a#b",
                              "a \\", "1", "x y", '"a b" c', "\xa0v", "v\r", '"""', "``"])
            com = rng.choice(["", "", " ; c", " #c", ";"])
            lines.append(ws() + key + ws() + rng.choice(["=", ":", " = "]) + ws() + val + com)
    sep = rng.choice(["\n", "\n", "\r\n"])
    return (sep.join(lines) + rng.choice(["", sep])).encode()


def _random_env(rng: random.Random) -> bytes:
    atoms = ["a", "=", "=", "#", "\\n", "\\", "\n", "\n", "\r", " ", '"', "export ", "sops_", "é", "x=y", "\t"]
    return "".join(rng.choice(atoms) for _ in range(rng.randint(0, 30))).encode()


@pytest.mark.parametrize("seed", range(4))
def test_random_ini_documents_match_bin(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    while checked < 15:
        data = _random_ini(rng)
        try:
            out = ours(data, ".ini")
        except CouldNotReadInputFile as e:
            res = bin_encrypt(tmp_path, "r.ini", data)
            assert res.returncode == 2, data
            assert res.stderr.decode("utf-8", "surrogateescape") == f"Error unmarshalling file: {e}\n", data
            checked += 1
            continue
        except SopsError:
            continue  # an empty comment line: bin panics when it writes the file
        if not stable(data, ".ini"):
            continue
        _, dec = bin_roundtrip(tmp_path, "r.ini", data)
        assert dec.returncode == 0, (data, dec.stderr)
        assert out == dec.stdout, data
        checked += 1


@pytest.mark.parametrize("seed", range(2))
def test_random_dotenv_documents_match_bin(tmp_path: Path, seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(15):
        data = _random_env(rng)
        try:
            out = ours(data, ".env")
        except CouldNotReadInputFile as e:
            res = bin_encrypt(tmp_path, "r.env", data)
            assert res.returncode == 2, data
            assert res.stderr.decode("utf-8", "surrogateescape") == f"Error unmarshalling file: {e}\n", data
            continue
        enc = bin_encrypt(tmp_path, "r.env", data)
        if DotenvStore.has_sops_top_level_key(DotenvStore().load_plain(data)[0]):
            assert enc.returncode == 203  # already encrypted, in bin's eyes
            continue
        assert enc.returncode == 0, (data, enc.stderr)
        dec = bin_decrypt(tmp_path, "enc-r.env", enc.stdout)
        assert dec.returncode == 0, (data, dec.stderr)
        assert out == dec.stdout, data


LOAD_ERRORS = [
    (".ini", b'a = """unterminated\nb=2\n'), (".ini", b"a = `unterminated"), (".ini", b"[]\n"), (".ini", b"[a\n"),
    (".ini", b"=v\n"), (".ini", b"noval\n"), (".ini", b'k="""\n'), (".ini", b'"" = v\n'), (".ini", b'"k = v\n'),
    (".env", b"a"), (".env", b"a=1\nbad line\n"), (".env", b"\r\n"),
]


@pytest.mark.parametrize(("ext", "data"), LOAD_ERRORS, ids=[repr(d)[:40] for _, d in LOAD_ERRORS])
def test_load_errors_match_bin(tmp_path: Path, ext: str, data: bytes) -> None:
    with pytest.raises(CouldNotReadInputFile) as ei:
        STORES[ext].load_plain(data)
    res = bin_encrypt(tmp_path, "bad" + ext, data)
    assert res.returncode == 2
    assert res.stderr.decode("utf-8", "surrogateescape") == f"Error unmarshalling file: {ei.value}\n"


# ------------------------------------------------------------------------------------------------
# conversions

YAML_SCALARS = b"""s: str
i: 42
neg: -5
f: 1.5
fi: 10.0
big: 1e21
mil: 1234567.0
small: 0.0000001
z: -0.0
inf: .inf
nan: .nan
t: true
d: 2001-01-01
ts: 2001-12-14t21:59:43.10-05:00
n: null
e: ""
ml: "a\\nb"
"""
YAML_INI = (
    b"sec:\n" + b"".join(b"    " + line + b"\n" for line in YAML_SCALARS.splitlines())
    + b"sec2:\n    # c1\n    a: 1\n    # c2\n    b: [1, 'x', {k: v}, 2001-12-14t21:59:43.10-05:00]\n"
    b"    c: {x: {y: 1.5}, z: null}\n    d: []\n    e: {}\n"
    b"DEFAULT: {late: default}\n"
    b"keys:\n    'k=1': 1\n    'k`2': 2\n    'k\"3': 3\n    long_key_name: x\n    v1: 'x`y'\n    v2: 'a;b'\n"
    b"    v3: ' s'\n    v5: '\"q\"'\n"
)
CONVERSIONS = [
    ("scalars.yaml", YAML_SCALARS, "dotenv"),
    ("multi.yaml", b"a: 1\n---\nb: 2\n", "dotenv"),
    ("comments.yaml", b"# top\na: 1\n# mid\nb: x\n", "dotenv"),
    ("sections.yaml", YAML_INI, "ini"),
    ("multi.yaml", b"a: {x: 1}\n---\nb: {y: 2}\n", "ini"),
    ("first.yaml", b"b: {y: 2}\nDEFAULT: {x: 1}\n", "ini"),
    ("flat_basic.ini", (PLAIN / "flat_basic.ini").read_bytes(), "yaml"),
    ("flat_basic.ini", (PLAIN / "flat_basic.ini").read_bytes(), "json"),
    ("flat_quirks.ini", (PLAIN / "flat_quirks.ini").read_bytes(), "yaml"),
    ("flat_basic.env", (PLAIN / "flat_basic.env").read_bytes(), "yaml"),
    ("flat_basic.env", (PLAIN / "flat_basic.env").read_bytes(), "json"),
    ("flat_basic.env", (PLAIN / "flat_basic.env").read_bytes(), "ini"),  # error: not sections
    ("flat_basic.ini", (PLAIN / "flat_basic.ini").read_bytes(), "dotenv"),  # error: complex values
    ("complex.yaml", b"a: {b: 1}\n", "dotenv"),
    ("scalar.yaml", b"a: 1\n", "ini"),
    ("emptysec.yaml", b"'': {a: 1}\n", "ini"),
    ("emptykey.yaml", b"a: {'': 1}\n", "ini"),
]


@pytest.mark.parametrize(("name", "data", "out_type"), CONVERSIONS, ids=[f"{n}->{o}" for n, _, o in CONVERSIONS])
def test_conversions_match_bin(tmp_path: Path, name: str, data: bytes, out_type: str) -> None:
    enc = bin_encrypt(tmp_path, name, data)
    assert enc.returncode == 0, enc.stderr.decode()
    ext = Path(name).suffix
    dec = bin_decrypt(tmp_path, "enc" + ext, enc.stdout, "--output-type", out_type)
    try:
        expected = get_store(out_type).emit_plain(get_store(TYPES[ext]).load_plain(data))
    except SopsError as e:
        assert dec.returncode == e.exit_code == 4
        assert dec.stderr.decode() == f"Error dumping file: {e}\n".replace("to INI:", "to ini:")
        return
    assert dec.returncode == 0, dec.stderr.decode()
    assert dec.stdout == expected


def test_json_numbers_differ_as_documented(tmp_path: Path) -> None:
    data = b'{"s": {"a": 1, "b": 1.5, "c": 100, "d": true, "e": null, "f": "x\\ny", "g": [1, {"x": 2}]}}'
    enc = bin_encrypt(tmp_path, "in.json", data)
    bin_typed = json.loads(data, object_pairs_hook=Branch, parse_int=float)
    ours_typed = get_store("json").load_plain(data)
    for out_type in ("ini", "dotenv"):
        dec = bin_decrypt(tmp_path, "enc.json", enc.stdout, "--output-type", out_type)
        if out_type == "dotenv":  # the section is a complex value
            assert dec.returncode == 4
            continue
        assert dec.stdout == INIStore().emit_plain([bin_typed])  # bin: every number a float64
        assert INIStore().emit_plain(ours_typed) != dec.stdout  # 3.13: 1 stays 1, bin writes 1.0
    flat = b'{"a": 1, "b": 1.5, "c": 100, "d": true, "e": null, "f": "x\\ny"}'
    enc = bin_encrypt(tmp_path, "flat.json", flat)
    dec = bin_decrypt(tmp_path, "enc.json", enc.stdout, "--output-type", "dotenv")
    assert dec.stdout == b"a=1.0\nb=1.5\nc=100.0\nd=true\ne=<nil>\nf=x\\ny\n"
    assert dec.stdout == DotenvStore().emit_plain([json.loads(flat, object_pairs_hook=Branch, parse_int=float)])
    assert DotenvStore().emit_plain(get_store("json").load_plain(flat)) == b"a=1\nb=1.5\nc=100\nd=true\ne=<nil>\nf=x\\ny\n"


@pytest.mark.parametrize("key", ["i", "f", "l", "n", "b", "t", "s"])
@pytest.mark.parametrize("out_type", ["dotenv", "ini"])
def test_extract_matches_bin(tmp_path: Path, key: str, out_type: str) -> None:
    data = b'i: 1\nf: 1.5\nl: [1, "a", {x: 2}]\nn: null\nb: true\nt: 2001-01-01\ns: "x<y"\n'
    enc = bin_encrypt(tmp_path, "x.yaml", data)
    res = bin_decrypt(tmp_path, "enc.yaml", enc.stdout, "--extract", f'["{key}"]', "--output-type", out_type)
    value = get_store("yaml").load_plain(data)[0].get(key)
    if isinstance(value, str):
        assert res.stdout == value.encode()
        return
    try:
        expected = get_store(out_type).emit_value(value)
    except SopsError as e:
        assert res.returncode == 4
        assert res.stderr.decode() == f"Error dumping tree: {e}\n"
        return
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == expected


# ------------------------------------------------------------------------------------------------
# encrypted files


def _decrypt_ours(store: Any, enc: bytes) -> tuple[list[Branch], Any, Cipher]:
    branches, md = store.load_encrypted(enc)
    cipher = Cipher(any_data_key_of(md))
    mac = decrypt_tree(branches, cipher, Rule.of(md), md.mac_only_encrypted)
    assert cipher.decrypt(md.mac, md.lastmodified_aad()) == mac
    return branches, md, cipher


def _check_encrypted_both_ways(tmp_path: Path, ext: str, enc: bytes, env: dict[str, str]) -> None:
    """We decrypt bin's file to bin's plaintext; bin decrypts our re-encrypted, re-emitted file."""
    store = STORES[ext]
    dec = bin_decrypt(tmp_path, "bin" + ext, enc, env=env)
    assert dec.returncode == 0, dec.stderr.decode()
    branches, md, cipher = _decrypt_ours(store, enc)
    assert store.emit_plain(branches) == dec.stdout
    # re-encrypt (IVs reused from the stash), new MAC, our metadata layout
    md.mac = cipher.encrypt(encrypt_tree(branches, cipher, Rule.of(md), md.mac_only_encrypted), md.lastmodified)
    rewritten = store.emit_encrypted(branches, md)
    res = bin_decrypt(tmp_path, "ours" + ext, rewritten, env=env)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == dec.stdout
    again, md2, _ = _decrypt_ours(store, rewritten)
    assert md2 == md and store.emit_plain(again) == dec.stdout


@pytest.mark.parametrize("name", ["flat_basic.env", "flat_basic.ini", "flat_quirks.ini"])
def test_encrypted_files_both_ways(tmp_path: Path, name: str) -> None:
    ext = Path(name).suffix
    key_file = tmp_path / "keys.txt"
    key_file.write_text((TESTDATA / "keys" / "age.txt").read_text())
    env = _env(tmp_path, {"SOPS_AGE_KEY_FILE": str(key_file)})
    enc = bin_encrypt(tmp_path, "in" + ext, (PLAIN / name).read_bytes(), env=env, recipients=AGE_RECIPIENT)
    assert enc.returncode == 0, enc.stderr.decode()
    _check_encrypted_both_ways(tmp_path, ext, enc.stdout, env)


@pytest.mark.parametrize("ext", [".env", ".ini"])
def test_shamir_mac_only_regex_both_ways(tmp_path: Path, ext: str) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text((TESTDATA / "keys" / "age.txt").read_text() + (TESTDATA / "keys" / "age2.txt").read_text())
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n  - shamir_threshold: 2\n    mac_only_encrypted: true\n"
        '    encrypted_regex: "^(DB_|pass|host|multi|toplevel)"\n'
        f"    key_groups:\n      - age: [{AGE_RECIPIENT}]\n      - age: [{AGE2_RECIPIENT}, {AGE_RECIPIENT}]\n"
    )
    env = _env(tmp_path, {"SOPS_AGE_KEY_FILE": str(key_file)})
    enc = bin_encrypt(tmp_path, "in" + ext, (PLAIN / f"flat_basic{ext}").read_bytes(), env=env, recipients="")
    assert enc.returncode == 0, enc.stderr.decode()
    assert (b"sops_shamir_threshold=2\n" if ext == ".env" else b"shamir_threshold") in enc.stdout
    _check_encrypted_both_ways(tmp_path, ext, enc.stdout, env)


@pytest.mark.parametrize("ext", [".env", ".ini"])
def test_many_recipients_list_order(tmp_path: Path, ext: str) -> None:
    """bin sorts the flattened keys as strings (``__list_10`` before ``__list_2``); we write 3.13's
    nested order; each reads the other's."""
    x25519: Any = importlib.import_module("pyrage.x25519")
    others = [x25519.Identity.generate() for _ in range(11)]
    recipients = ",".join([AGE_RECIPIENT, *(str(i.to_public()) for i in others)])
    key_file = tmp_path / "keys.txt"
    key_file.write_text((TESTDATA / "keys" / "age.txt").read_text())
    env = _env(tmp_path, {"SOPS_AGE_KEY_FILE": str(key_file)})
    enc = bin_encrypt(tmp_path, "in" + ext, (PLAIN / f"flat_basic{ext}").read_bytes(), env=env, recipients=recipients)
    assert enc.returncode == 0, enc.stderr.decode()
    if ext == ".env":
        lines = [line.split(b"=", 1)[0] for line in enc.stdout.split(b"\n") if line.startswith(b"sops_age__list_")]
        assert lines[2] == b"sops_age__list_10__map_enc"
    _check_encrypted_both_ways(tmp_path, ext, enc.stdout, env)
    branches, md = STORES[ext].load_encrypted(enc.stdout)
    out = STORES[ext].emit_encrypted(branches, md)
    prefix = b"sops_" if ext == ".env" else b""
    assert out.index(prefix + b"age__list_2__map_enc") < out.index(prefix + b"age__list_10__map_enc")


def test_sops_prefixed_dotenv_key(tmp_path: Path) -> None:
    """Encrypting such a plaintext: exit 203 in both. Writing one into an encrypted file: bin writes it
    (the file then fails its MAC check), 3.13 refuses with exit 4."""
    res = bin_encrypt(tmp_path, "p.env", b"A=1\nsops_x=1\n")
    assert res.returncode == 203
    assert DotenvStore.has_sops_top_level_key(DotenvStore().load_plain(b"A=1\nsops_x=1\n")[0])
    enc, _ = bin_roundtrip(tmp_path, "s.env", b"A=1\n")
    path = tmp_path / "s.enc.env"
    path.write_bytes(enc)
    env = _env(tmp_path)
    assert run_sops(["set", path, '["sops_x"]', '"v"'], env=env, cwd=tmp_path).returncode == 0
    assert run_sops(["decrypt", path], env=env, cwd=tmp_path).returncode == 51
    branches, md = DotenvStore().load_encrypted(enc)
    with pytest.raises(SopsError) as ei:
        DotenvStore().emit_encrypted([Branch([*branches[0], ("sops_x", "v")])], md)
    assert ei.value.exit_code == 4
