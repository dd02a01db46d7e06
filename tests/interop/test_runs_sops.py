"""Big mappings (16 entries or more), whose string values sops-py encrypts and decrypts in runs,
against the real sops binary in both directions, with the crypt rules that change what a run holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.interop.sops_helpers import requires_sops, run_sops
from tests.interop.test_rules_sops import env_for, recipient, run_py

pytestmark = [pytest.mark.interop, requires_sops]


def _yaml() -> bytes:
    lines = ["# a big mapping with comments, types and a nested big mapping"]
    for i in range(24):
        if i % 7 == 3:
            lines.append(f"# comment {i}")
        value = [f"value {i} é", str(i), "true", "", f"s_{i}"][i % 5]
        lines.append(f"key_{i}: {value!s}" if value else f'key_{i}: ""')
    lines.append("nested:")
    lines += [f"    inner_{i}_unencrypted: clear {i}" if i % 6 == 0 else f"    inner_{i}: text {i}" for i in range(20)]
    lines.append("tail: last")
    return ("\n".join(lines) + "\n").encode()


def _dotenv() -> bytes:
    lines = []
    for i in range(30):
        if i % 9 == 4:
            lines.append(f"# comment {i}")
        lines.append(f"KEY_{i}=value {i}\\nline two é" if i % 4 == 1 else f"KEY_{i}={'' if i % 10 == 7 else i}")
    return ("\n".join(lines) + "\n").encode()


def _json() -> bytes:
    items = ", ".join(f'"k{i}": ' + (f'"v{i}"' if i % 3 else str(i)) for i in range(20))
    return ("{" + items + ', "n": {' + ", ".join(f'"m{i}": "x{i}"' for i in range(18)) + "}}\n").encode()


def _ini() -> bytes:
    return ("[main]\n" + "".join(f"k{i} = v{i}\n" for i in range(20)) + "[other]\nshort = one\n").encode()


FILES = {"big.yaml": _yaml, "big.env": _dotenv, "big.json": _json, "big.ini": _ini}
# flags, or None for a .sops.yaml creation rule (sops 3.11 sets mac_only_encrypted only there)
RULES = [[], ["--encrypted-regex", "^(key_1|KEY_1|k1|inner_)"], None]


@pytest.mark.parametrize("flags", RULES, ids=["default", "encrypted-regex", "mac-only-encrypted"])
@pytest.mark.parametrize("name", sorted(FILES))
def test_big_mappings_both_ways(tmp_path: Path, name: str, flags: list[str] | None) -> None:
    env = env_for(tmp_path)
    src = tmp_path / name
    src.write_bytes(FILES[name]())
    if flags is None:
        (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - mac_only_encrypted: true\n"
                                             f"    unencrypted_suffix: _unencrypted\n    age: {recipient()}\n")
        args = ["encrypt", src]
    else:
        args = ["encrypt", *flags, "--age", recipient(), src]
    theirs = run_sops(args, env=env, cwd=tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    ours = run_py(args, env, tmp_path)
    assert ours.returncode == 0, ours.stderr
    (tmp_path / f"theirs.{name}").write_bytes(theirs.stdout)
    (tmp_path / f"ours.{name}").write_bytes(ours.stdout)
    expected = run_sops(["decrypt", tmp_path / f"theirs.{name}"], env=env, cwd=tmp_path)
    assert expected.returncode == 0, expected.stderr
    # sops decrypts what sops-py wrote, and sops-py what sops wrote, to sops' own plaintext
    by_sops = run_sops(["decrypt", tmp_path / f"ours.{name}"], env=env, cwd=tmp_path)
    by_us = run_py(["decrypt", tmp_path / f"theirs.{name}"], env, tmp_path)
    assert by_sops.returncode == 0 and by_us.returncode == 0, (by_sops.stderr, by_us.stderr)
    assert by_sops.stdout == expected.stdout
    assert by_us.stdout == expected.stdout


@pytest.mark.parametrize("name", ["big.yaml", "big.env"])
def test_a_damaged_value_in_a_big_mapping_fails_as_in_sops(tmp_path: Path, name: str) -> None:
    env = env_for(tmp_path)
    src = tmp_path / name
    src.write_bytes(FILES[name]())
    enc = run_sops(["encrypt", "--age", recipient(), src], env=env, cwd=tmp_path).stdout
    # the tenth token's tag, replaced by another valid base64 tag
    tags = [m.start(1) for m in re.finditer(rb",tag:([A-Za-z0-9+/]{22}==)", enc)]
    damaged = enc[:tags[9]] + b"AAAAAAAAAAAAAAAAAAAAAA" + enc[tags[9] + 22:]
    path = tmp_path / f"damaged.{name}"
    path.write_bytes(damaged)
    theirs = run_sops(["decrypt", path], env=env, cwd=tmp_path)
    ours = run_py(["decrypt", path], env, tmp_path)
    assert theirs.returncode == ours.returncode != 0
    assert ours.stderr.decode().strip().endswith("cipher: message authentication failed")
    assert b"Could not decrypt value" in theirs.stderr and b"Could not decrypt value" in ours.stderr
