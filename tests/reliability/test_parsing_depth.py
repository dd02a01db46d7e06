"""Issue 16, defect 3: deep nesting never ends in a RecursionError traceback.

sops handles 10,000 levels (yaml.v3 stops at 10,000 flow levels and 10,000 block levels with
"exceeded max depth of 10000"; Go's json.Indent refuses an 10,001st level when it writes JSON).
sops-py reads, walks, MACs and writes the same depths and refuses past them with sops' message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sops_py.cipher import Cipher
from sops_py.errors import CouldNotReadInputFile, ErrorDumpingTree
from sops_py.rules import Rule
from sops_py.stores import get_store
from sops_py.tree import MAX_DEPTH, Branch
from sops_py.walk import decrypt_tree, encrypt_tree
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT
from tests.interop.sops_helpers import SOPS, requires_sops


def flow_map(n: int) -> bytes:
    return ("a: " + "{a: " * n + "1" + "}" * n + "\n").encode()


def flow_seq(n: int) -> bytes:
    return ("a: " + "[" * n + "1" + "]" * n + "\n").encode()


def block_seq(n: int) -> bytes:
    return ("a:\n" + "".join(" " * i + "-\n" for i in range(n - 1)) + " " * (n - 1) + "- 1\n").encode()


def json_obj(n: int) -> bytes:
    return ('{"a":' * n + "1" + "}" * n).encode()


def depth(v: object) -> int:
    d = 0
    while isinstance(v, (Branch, list)) and v:
        v = v[0][1] if isinstance(v, Branch) else v[0]
        d += 1
    return d


def run_cli(tool: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    env["PYTHONPATH"] = str(ROOT)
    argv = [SOPS or "sops", *args] if tool == "sops" else [sys.executable, "-m", "sops_py", *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize("make", [flow_map, flow_seq, block_seq], ids=["flow-map", "flow-seq", "block-seq"])
def test_yaml_2000_levels_round_trip_in_process(make: object) -> None:
    store = get_store("yaml")
    data = make(2000)  # type: ignore[operator]
    tree = store.load_plain(data)
    assert depth(tree[0]) == 2001
    key = os.urandom(32)
    mac = encrypt_tree(tree, Cipher(key), _rule(), False)
    out = store.emit_plain(tree)
    again = store.load_plain(out)
    assert decrypt_tree(again, Cipher(key), _rule(), False) == mac
    assert depth(again[0]) == 2001


def _rule() -> Rule:
    from sops_py.metadata import DEFAULT_UNENCRYPTED_SUFFIX

    return Rule("unencrypted_suffix", DEFAULT_UNENCRYPTED_SUFFIX)


@pytest.mark.parametrize(("make", "n"), [(flow_map, 10001), (flow_seq, 10001), (block_seq, 10001)],
                         ids=["flow-map", "flow-seq", "block-seq"])
def test_yaml_past_10000_levels_is_refused_in_one_line(make: object, n: int) -> None:
    with pytest.raises(CouldNotReadInputFile, match=r"^yaml: (line \d+: )?exceeded max depth of 10000$"):
        get_store("yaml").load_plain(make(n))  # type: ignore[operator]


def test_json_depths() -> None:
    store = get_store("json")
    tree = store.load_plain(json_obj(10000))
    assert depth(tree[0]) == 10000
    out = store.emit_plain(tree)
    assert store.emit_plain(store.load_plain(out)) == out
    with pytest.raises(ErrorDumpingTree, match="invalid character '{' exceeded max depth"):
        store.emit_plain(store.load_plain(json_obj(10001)))
    with pytest.raises(CouldNotReadInputFile, match=f"deeper than {MAX_DEPTH} levels"):
        store.load_plain(json_obj(MAX_DEPTH + 1))


@requires_sops
@pytest.mark.slow
@pytest.mark.parametrize(("name", "data"), [
    ("flow.yaml", flow_map(10000)), ("flow.yaml", flow_map(10001)), ("seq.yaml", flow_seq(10001)),
    ("block.yaml", block_seq(10000)), ("block.yaml", block_seq(10001)),
    ("deep.json", json_obj(10000)), ("deep.json", json_obj(10001)),
], ids=["flow-10000", "flow-10001", "seq-10001", "block-10000", "block-10001", "json-10000", "json-10001"])
def test_cli_matches_sops_at_the_limits(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    theirs = run_cli("sops", ["encrypt", "--age", AGE_RECIPIENT, name], tmp_path)
    ours = run_cli("sops-py", ["encrypt", "--age", AGE_RECIPIENT, name], tmp_path)
    assert b"Traceback" not in ours.stderr
    assert ours.returncode == theirs.returncode
    assert ours.stderr == theirs.stderr
    if ours.returncode == 0:
        (tmp_path / ("enc." + name)).write_bytes(ours.stdout)
        # sops cannot read back every file it writes here (its 10,000-level flow map comes out as
        # 10,001 block levels): the verdicts must agree, the message ends with the same yaml error
        dec = run_cli("sops-py", ["decrypt", "enc." + name], tmp_path)
        dec_sops = run_cli("sops", ["decrypt", "enc." + name], tmp_path)
        assert b"Traceback" not in dec.stderr
        assert dec.returncode == dec_sops.returncode, dec.stderr[-300:]
        if dec.returncode:
            assert dec_sops.stderr.endswith(dec.stderr.split(b": ", 1)[-1])


def _encrypted_json_nesting(n: int) -> bytes:
    """A JSON file with sops metadata beside a value nesting ``n`` levels (the top object included)."""
    body = b'{"a":' * (n - 1) + b"1" + b"}" * (n - 1)
    return b'{"deep": ' + body + b', "sops": {"mac": "x", "version": "3.13.2"}}'


@pytest.mark.parametrize(("n", "refused"), [(10_000, False), (10_001, True)])
def test_encrypted_json_has_go_unmarshal_depth_limit(n: int, refused: bool) -> None:
    """sops reads an encrypted JSON file's metadata with json.Unmarshal, whose limit is 10,000 levels;
    reading plain JSON (the Token API) has none."""
    from sops_py.errors import SopsError

    store = get_store("json")
    data = _encrypted_json_nesting(n)
    if refused:
        with pytest.raises(SopsError, match=r"^Error unmarshalling input json: invalid character '\{' "
                                            r"exceeded max depth$"):
            store.load_encrypted(data)
    else:
        with pytest.raises(SopsError) as e:  # past the depth check: the metadata is what is wrong
            store.load_encrypted(data)
        assert "exceeded max depth" not in str(e.value)
    assert depth(store.load_plain(data)[0]) >= n


@requires_sops
@pytest.mark.slow
def test_encrypted_json_depth_limit_as_sops(tmp_path: Path) -> None:
    for n in (10_000, 10_001):
        f = tmp_path / f"deep{n}.json"
        f.write_bytes(_encrypted_json_nesting(n))
        ours, theirs = run_cli("ours", ["filestatus", str(f)], tmp_path), run_cli("sops", ["filestatus", str(f)], tmp_path)
        assert ours.returncode == theirs.returncode == 1
        assert (b"exceeded max depth" in ours.stderr) is (b"exceeded max depth" in theirs.stderr) is (n > 10_000)
