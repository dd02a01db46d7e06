"""The JSON and binary stores against the real sops binary (3.11.0+, called "bin" in the spec).

What bin and sops 3.13 (which sops-py follows) share is compared byte for byte. Where they differ,
the difference is asserted explicitly:

* numbers: bin reads every JSON number as a float64; 3.13 reads a literal that fits int64 as an int.
  The texts are the same except for integers beyond 2**53 inside the int64 range (bin rounds
  1234567890123456789 to 1234567890123456800) and ``-0`` (bin keeps ``-0``, 3.13 writes ``0``). The
  float layout itself is checked by emitting bin's typing (every number a float) with our emitter;
* a top level that is not an object: bin says ``Expected JSON object start, got ...``, 3.13
  ``SOPS only supports JSON files with a top-level object ...``;
* a number out of float64 range: bin ``json: cannot unmarshal number 1e400 into Go value of type
  float64``, 3.13 ``strconv.ParseFloat: parsing "1e400": value out of range``;
* metadata layout (key order, ``null`` vs ``[]``) differs but each reads the other's.
"""

from __future__ import annotations

import json
import math
import random
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sops_py.errors import CouldNotReadInputFile
from sops_py.stores.json_store import BinaryStore, JSONStore
from sops_py.tree import Branch

try:
    from tests.interop.sops_helpers import age_key, requires_sops, run_sops, sops_env
except ImportError:  # pragma: no cover - tests run without the package layout
    from sops_helpers import age_key, requires_sops, run_sops, sops_env  # type: ignore[no-redef]

pytestmark = [pytest.mark.interop, requires_sops]


def sops_roundtrip(tmp_path: Path, name: str, data: bytes, *extra: str) -> tuple[bytes, bytes]:
    """Encrypt ``data`` with bin as file ``name`` and decrypt it again: (encrypted, decrypted)."""
    src = tmp_path / name
    src.write_bytes(data)
    env = sops_env(home=tmp_path / "home")
    enc = run_sops(["encrypt", "--age", age_key()[1], src], env=env, cwd=tmp_path)
    assert enc.returncode == 0, enc.stderr.decode()
    dst = tmp_path / ("enc-" + name)
    dst.write_bytes(enc.stdout)
    dec = run_sops([*extra, "decrypt", dst] if not extra else [*extra, "-d", dst], env=env, cwd=tmp_path)
    assert dec.returncode == 0, dec.stderr.decode()
    return enc.stdout, dec.stdout


def encrypt(tmp_path: Path, src: Path) -> subprocess.CompletedProcess[bytes]:
    env = sops_env(home=tmp_path / "home")
    return run_sops(["encrypt", "--age", age_key()[1], src], env=env, cwd=tmp_path)


def as_bin_typed(data: bytes) -> Branch:
    """The tree bin reads from plain ASCII JSON: every number a float64 (``-0`` stays -0.0)."""
    obj = json.loads(data.decode("ascii"), object_pairs_hook=Branch, parse_int=float)
    assert isinstance(obj, Branch)
    return obj


def floatify(v: Any) -> Any:
    """Our tree with bin's number typing (ints as float64; no ``-0`` in the inputs this is used for)."""
    if isinstance(v, Branch):
        return Branch((k, floatify(x)) for k, x in v)
    if isinstance(v, list):
        return [floatify(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def ours(data: bytes, indent: int | None = None) -> bytes:
    store = JSONStore(indent)
    return store.emit_plain(store.load_plain(data))


# Inputs on which bin and 3.13 agree (numbers are all floats or ints of at most 2**53).
SAME_CORPUS: dict[str, bytes] = {
    "empty": b"{}",
    "nested": (
        b'{"a": {"b": [1, 2, {"c": "d"}], "e": {}}, "f": [], "g": [[], {}, [[]]], "h": null, '
        b'"i": true, "j": false, "k": [null, true, "x", 0.5, {"l": [{"m": {}}]}]}'
    ),
    "unicode": (
        '{"\u00fcn\u00efc\u00f6de": "\u00e7\u00f8d\u00e9 \U0001f600 \u4e2d\u6587", '
        '"esc": "\\u00e9\\ud83d\\ude00\\u2028\\u2029", "raw_seps": "\u2028\u2029", '
        '"lone": "a\\ud800b\\udc00c", "pairless": "\\ud800\\ud800\\udc00", '
        '"nbsp": "\u00a0\u00ad\u200b\ufeff"}'
    ).encode(),
    "escapes": (
        b'{"s": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\\u007f\\u0080<>&", '
        b'"raw": "del\x7f here", "<key>&\\u003c": "v"}'
    ),
    "invalid_utf8": b'{"a": "x\xff\xfe\xe2\x82y\xc3", "b\xc0\x80": "\xed\xa0\x80", "c": "\xf4\x90\x80\x80"}',
    "duplicates": b'{"a": 1, "b": {"x": 1, "x": [2]}, "a": "again", "a": null}',
    "floats": (
        b'{"f": [0.1, 1.0, 1.5, -2.5e-3, 1e21, 1e20, 999999999999999999999.0, 1e-7, 1e-6, 0.000001, '
        b'123456.789, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 1E2, 0.0, 1e-400, '
        b'3.141592653589793, 100.0, 1.0e+2, 12345678901234567890, 123456789012345678901234567890, '
        b'-9223372036854775809, 9223372036854775808]}'
    ),
    "small_ints": b'{"i": [0, 1, -1, 42, -42, 9007199254740992, -9007199254740992, 1000000, 4294967296]}',
    "whitespace_and_trailing": b' \n\t\r {"a" : 1 ,\n "b":[ 1 , 2 ] }  trailing garbage \xff{',
    "second_object_ignored": b'{"a": 1}{"b": 2}',
    "truncated_accepted": b'{"x": 1, "y": "two", "a": [1, 2, {"b": [',
    "long": (
        b'{"long": "' + b"abcdefghij<>&" * 5000 + b'", "many": ['
        + b",".join(b"%d" % i for i in range(3000)) + b"]}"
    ),
    "deep": b'{"d": ' + b'{"k": [' * 60 + b"1" + b"]}" * 60 + b"}",
    "keys": b'{"": "", " ": " ", "sops_": 1, "\\n": "\\n", "a.b": {"c:d": ["e"]}}',
}


@pytest.mark.parametrize("name", sorted(SAME_CORPUS))
def test_plain_json_matches_bin(tmp_path: Path, name: str) -> None:
    data = SAME_CORPUS[name]
    _, decrypted = sops_roundtrip(tmp_path, "in.json", data)
    assert ours(data) == decrypted
    assert JSONStore().emit_plain([floatify(JSONStore().load_plain(data)[0])]) == decrypted


# Inputs where bin's float64 typing shows: (input, what 3.13 / sops-py writes).
DIVERGENT = {
    "int_beyond_2_53": (
        b'{"n": [1234567890123456789, 9007199254740993, -9223372036854775808, 9223372036854775807]}',
        (
            b'{\n\t"n": [\n\t\t1234567890123456789,\n\t\t9007199254740993,\n\t\t-9223372036854775808,\n'
            b'\t\t9223372036854775807\n\t]\n}\n'
        ),
    ),
    "negative_zero": (b'{"z": -0, "y": [-0]}', b'{\n\t"z": 0,\n\t"y": [\n\t\t0\n\t]\n}\n'),
}


@pytest.mark.parametrize("name", sorted(DIVERGENT))
def test_number_divergences_from_bin(tmp_path: Path, name: str) -> None:
    data, expected_313 = DIVERGENT[name]
    _, decrypted = sops_roundtrip(tmp_path, "in.json", data)
    assert ours(data) == expected_313
    assert decrypted != expected_313  # bin's float64 typing
    assert JSONStore().emit_plain([as_bin_typed(data)]) == decrypted


def test_random_floats_layout(tmp_path: Path) -> None:
    rng = random.Random(1234)
    values: list[float] = []
    while len(values) < 400:
        (f,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(f):
            values.append(f)
    values += [rng.uniform(-1e6, 1e6) for _ in range(200)]
    values += [10.0**e for e in range(-30, 30)] + [-(10.0**e) * 1.5 for e in range(-30, 30)]
    data = ("{" + ", ".join(f'"k{i}": {v!r}' for i, v in enumerate(values)) + "}").encode()
    _, decrypted = sops_roundtrip(tmp_path, "floats.json", data)
    assert ours(data) == decrypted
    assert JSONStore().emit_plain([as_bin_typed(data)]) == decrypted


@pytest.mark.parametrize("indent", [0, 1, 2, 4])
def test_indent_matches_bin(tmp_path: Path, indent: int) -> None:
    data = SAME_CORPUS["nested"]
    _, decrypted = sops_roundtrip(tmp_path, "in.json", data, "--indent", str(indent))
    assert ours(data, indent) == decrypted


def test_indent_below_minus_one(tmp_path: Path) -> None:
    data = SAME_CORPUS["nested"]
    src = tmp_path / "in.json"
    src.write_bytes(data)
    env = sops_env(home=tmp_path / "home")
    enc = run_sops(["encrypt", "--age", age_key()[1], src], env=env, cwd=tmp_path)
    (tmp_path / "e.json").write_bytes(enc.stdout)
    dec = run_sops(["--indent", "-2", "-d", tmp_path / "e.json"], env=env, cwd=tmp_path)
    assert dec.returncode == 4
    with pytest.raises(Exception) as ei:
        JSONStore(-2).emit_plain(JSONStore().load_plain(data))
    assert dec.stderr.decode().strip() == f"Error dumping file: {ei.value}"


@pytest.mark.parametrize(
    "path", ['["a"]["b"]', '["k"]', '["f"]', '["g"]', '["a"]["b"][2]', '["i"]', '["k"][3]']
)
def test_extract_matches_bin(tmp_path: Path, path: str) -> None:
    data = SAME_CORPUS["nested"]
    enc, _ = sops_roundtrip(tmp_path, "in.json", data)
    (tmp_path / "x.json").write_bytes(enc)
    env = sops_env(home=tmp_path / "home")
    res = run_sops(["decrypt", "--extract", path, tmp_path / "x.json"], env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    # walk our tree along the path
    value: Any = JSONStore().load_plain(data)[0]
    for step in json.loads("[" + path.replace("][", "],[") + "]"):
        value = value.get(step[0]) if isinstance(step[0], str) else value[step[0]]
    store = JSONStore()
    if isinstance(value, Branch):
        expected = store.emit_plain([value])
    elif isinstance(value, str):
        expected = value.encode()
    else:
        expected = store.emit_value(value)
    assert expected == res.stdout


# Syntax errors: bin and 3.13 share these texts.
BROKEN = [
    b"", b"   \n", b"{", b'{"a": 1', b'{"a":{', b'{"y":{"x":[1', b'{"a":"abc', b'{"a":t', b'{"a":-',
    b"{1}", b"{,}", b'{"a":1,}', b'{"a" 1}', b'{"a": }', b'{"a":[1 2]}', b'{"a":[}', b'{"a":tx}',
    b'{"a":nul}', b'{"a":fals }', b'{"a":-}', b'{"a":1.}', b'{"a":1.e5}', b'{"a":1e}', b'{"a":1e+}',
    b'{"a":01}', b'{"a":"\\x"}', b'{"a":"\\u12g4"}', b'{"a":"x\ny"}', b'{"a":"x\x01y"}', b"{\"a\":'x'}",
    b'{"a":1 "b":2}', b'{"a":1:}', b'{"a"::1}', b'{"a": NaN}', b'{"a": -Infinity}', b'\xef\xbb\xbf{"a":1}',
    b'{"a": \x80}', b'{"a": \xc3\xa9}', b"]", b"}", b":", b",", b'{"a": [1,]}', b'{"a": [,1]}',
    b'{"a": {"b" 1}}', b'{"a" , 1}', b"{'a': 1}", b'{"a\\', b'{"a": "\\u', b'{"a": tru', b"\x00",
    b'{"a": [1] 2}', b'{"a": {}}}', b'{"a": "\t"}',
]


@pytest.mark.parametrize("data", BROKEN, ids=[repr(b)[:40] for b in BROKEN])
def test_load_errors_match_bin(tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "bad.json"
    src.write_bytes(data)
    res = encrypt(tmp_path, src)
    try:
        out = ours(data)
    except CouldNotReadInputFile as e:
        assert res.returncode == 2, res.stdout
        assert res.stderr.decode("utf-8", "replace").strip() == f"Error unmarshalling file: {e}"
    else:  # accepted by both (e.g. trailing data): the plaintext must match
        assert res.returncode == 0, res.stderr.decode()
        dec = tmp_path / "ok.json"
        dec.write_bytes(res.stdout)
        plain = run_sops(["decrypt", dec], env=sops_env(home=tmp_path / "home"), cwd=tmp_path)
        assert plain.stdout == out


def test_top_level_messages_differ_as_documented(tmp_path: Path) -> None:
    for data, bin_text in [
        (b"[1]", "Expected JSON object start, got delimiter [ instead"),
        (b'"s"', 'Expected JSON object start, got "s" of type string instead'),
        (b"1", "Expected JSON object start, got 1 of type float64 instead"),
    ]:
        src = tmp_path / "top.json"
        src.write_bytes(data)
        res = encrypt(tmp_path, src)
        assert res.returncode == 2
        assert res.stderr.decode().strip() == (
            f"Error unmarshalling file: Could not unmarshal input data: {bin_text}"
        )
        with pytest.raises(CouldNotReadInputFile, match="SOPS only supports JSON files with a top-level"):
            JSONStore().load_plain(data)


def test_random_truncations_match_bin(tmp_path: Path) -> None:
    doc = (
        b'{"a": 1, "b": [true, {"c": "d\\u00e9"}, [null, 2.5]], "e": {"f": {"g": []}}, '
        b'"h": "x", "i": [[1], {"j": -3e-2}]}'
    )
    env = sops_env(home=tmp_path / "home")
    cuts = sorted(set(range(0, len(doc), 3)) | {len(doc) - 1, len(doc)})
    for n in cuts:
        data = doc[:n]
        src = tmp_path / "t.json"
        src.write_bytes(data)
        res = run_sops(["encrypt", "--age", age_key()[1], src], env=env, cwd=tmp_path)
        try:
            out = ours(data)
        except CouldNotReadInputFile as e:
            assert res.returncode == 2, (data, res.stdout)
            assert res.stderr.decode().strip() == f"Error unmarshalling file: {e}", data
            continue
        assert res.returncode == 0, (data, res.stderr)
        (tmp_path / "t.enc.json").write_bytes(res.stdout)
        plain = run_sops(["decrypt", tmp_path / "t.enc.json"], env=env, cwd=tmp_path)
        assert plain.stdout == out, data


def test_encrypted_json_envelope(tmp_path: Path) -> None:
    """bin's encrypted file: we load it, write it back (3.13 metadata layout) and bin decrypts that."""
    data = SAME_CORPUS["nested"] + b""
    enc, decrypted = sops_roundtrip(tmp_path, "in.json", data)
    store = JSONStore()
    branches, md = store.load_encrypted(enc)
    rewritten = store.emit_encrypted(branches, md)
    # the data part is byte-identical; only the sops section's layout may differ
    cut = b'\n\t"sops": {'
    assert rewritten.split(cut)[0] == enc.split(cut)[0]
    (tmp_path / "re.json").write_bytes(rewritten)
    res = run_sops(["decrypt", tmp_path / "re.json"], env=sops_env(home=tmp_path / "home"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == decrypted
    # the rewritten file reads back to the same tree and metadata
    branches2, md2 = store.load_encrypted(rewritten)
    assert branches2 == branches
    assert md2 == md


@pytest.mark.parametrize("seed", range(6))
def test_binary_files(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    size = [0, 1, 17, 256, 4096, 70000][seed]
    raw = bytes(rng.getrandbits(8) for _ in range(size))
    if seed == 2:
        raw = "text é 😀\n".encode() * 3
    enc, decrypted = sops_roundtrip(tmp_path, "blob.bin", raw)
    assert decrypted == raw
    store = BinaryStore()
    assert store.emit_plain(store.load_plain(raw)) == raw
    branches, md = store.load_encrypted(enc)
    assert [k for k, _ in branches[0]] == ["data"]
    rewritten = store.emit_encrypted(branches, md)
    cut = b'\n\t"sops": {'
    assert rewritten.split(cut)[0] == enc.split(cut)[0]
    (tmp_path / "re.bin").write_bytes(rewritten)
    res = run_sops(["decrypt", tmp_path / "re.bin"], env=sops_env(home=tmp_path / "home"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == raw


def test_binary_output_of_non_binary_tree(tmp_path: Path) -> None:
    enc, _ = sops_roundtrip(tmp_path, "in.json", b'{"a": 1}')
    (tmp_path / "x.json").write_bytes(enc)
    res = run_sops(["decrypt", "--output-type", "binary", tmp_path / "x.json"],
                   env=sops_env(home=tmp_path / "home"), cwd=tmp_path)
    assert res.returncode == 4
    with pytest.raises(Exception) as ei:
        BinaryStore().emit_plain([Branch([("a", 1)])])
    assert res.stderr.decode().strip() == f"Error dumping file: {ei.value}"
