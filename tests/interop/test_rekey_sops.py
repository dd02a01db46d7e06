"""rotate, updatekeys and groups against the real sops: results decrypt with sops, same exit codes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import AGE2_KEY_FILE, AGE2_RECIPIENT, AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA
from tests.interop.sops_helpers import run_sops

pytestmark = pytest.mark.interop
NESTED_DEC = (TESTDATA / "sops" / "nested.dec.yaml").read_bytes()


def run_py(args: list[str], env: dict[str, str], cwd: Path, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *args], input=input, capture_output=True, env=env,
                          cwd=cwd, timeout=60, check=False)


def _env(tmp: Path, *keys: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    e["HOME"] = str(tmp / "home")
    e["XDG_CONFIG_HOME"] = str(tmp / "home" / ".config")
    e["SOPS_AGE_KEY"] = "\n".join(k.read_text().strip() for k in keys)
    return e


def _ivs(text: str) -> list[str]:
    return [m for m in re.findall(r"(\w+): ENC\[AES256_GCM,data:[^,]*,iv:([^,]*)", text)]


def test_rotate_keeps_ivs_and_sops_decrypts(tmp_path: Path) -> None:
    env = _env(tmp_path, AGE_KEY_FILE, AGE2_KEY_FILE)
    f = tmp_path / "f.yaml"
    shutil.copy(TESTDATA / "sops" / "nested.enc.yaml", f)
    before = f.read_text()
    r = run_py(["rotate", "-i", "--add-age", AGE2_RECIPIENT, str(f)], env, tmp_path)
    assert r.returncode == 0, r.stderr
    after = f.read_text()
    assert [iv for k, iv in _ivs(after) if k != "mac"] == [iv for k, iv in _ivs(before) if k != "mac"]
    assert re.findall(r"data:([^,]*)", after)[0] != re.findall(r"data:([^,]*)", before)[0]  # new data key
    only2 = _env(tmp_path, AGE2_KEY_FILE)
    dec = run_sops(["decrypt", f], env=only2, cwd=tmp_path)
    assert dec.returncode == 0 and dec.stdout == NESTED_DEC
    r = run_py(["-r", "-i", "--rm-age", AGE_RECIPIENT, str(f)], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert AGE_RECIPIENT not in f.read_text()
    assert run_sops(["decrypt", f], env=_env(tmp_path, AGE_KEY_FILE), cwd=tmp_path).returncode == 128
    assert run_sops(["decrypt", f], env=only2, cwd=tmp_path).stdout == NESTED_DEC


@pytest.mark.parametrize("args", [["rotate", "--add-age", AGE2_RECIPIENT, "missing.yaml"],
                                  ["-r", "--rm-age", AGE_RECIPIENT, "missing.yaml"],
                                  ["rotate", "missing.yaml"], ["rotate"]])
def test_rotate_errors_match_sops(args: list[str], tmp_path: Path) -> None:
    env = _env(tmp_path, AGE_KEY_FILE)
    assert run_py(args, env, tmp_path).returncode == run_sops(args, env=env, cwd=tmp_path).returncode


def _config(tmp: Path) -> None:
    (tmp / ".sops.yaml").write_text(
        f"creation_rules:\n  - key_groups:\n      - age: [{AGE_RECIPIENT}]\n      - age: [{AGE2_RECIPIENT}]\n")


def test_updatekeys_rewraps_same_data_key(tmp_path: Path) -> None:
    env = _env(tmp_path, AGE_KEY_FILE, AGE2_KEY_FILE)
    _config(tmp_path)
    ours, theirs = tmp_path / "a.yaml", tmp_path / "b.yaml"
    shutil.copy(TESTDATA / "sops" / "nested.enc.yaml", ours)
    shutil.copy(TESTDATA / "sops" / "nested.enc.yaml", theirs)
    r = run_py(["updatekeys", "-y", str(ours)], env, tmp_path)
    s = run_sops(["updatekeys", "-y", theirs], env=env, cwd=tmp_path)
    assert r.returncode == s.returncode == 0, r.stderr
    assert r.stdout == s.stdout  # the same change listing
    before = (TESTDATA / "sops" / "nested.enc.yaml").read_text()
    after = ours.read_text()
    for line in ("mac:", "lastmodified:"):
        assert [x for x in before.splitlines() if line in x] == [x for x in after.splitlines() if line in x]
    assert _ivs(after) == _ivs(before)  # values untouched
    assert "shamir_threshold: 2" in after and "key_groups:" in after
    # two groups, threshold 2: both keys needed now
    assert run_sops(["decrypt", ours], env=_env(tmp_path, AGE_KEY_FILE), cwd=tmp_path).returncode == 128
    assert run_sops(["decrypt", ours], env=env, cwd=tmp_path).stdout == NESTED_DEC
    # already up to date: no change, exit 0
    again = run_py(["updatekeys", "-y", str(ours)], env, tmp_path)
    assert again.returncode == 0 and ours.read_text() == after


def test_updatekeys_prompt(tmp_path: Path) -> None:
    env = _env(tmp_path, AGE_KEY_FILE, AGE2_KEY_FILE)
    _config(tmp_path)
    f = tmp_path / "a.yaml"
    shutil.copy(TESTDATA / "sops" / "nested.enc.yaml", f)
    r = run_py(["updatekeys", str(f)], env, tmp_path, input=b"n\n")
    assert r.returncode == 0 and b"Is this okay? (y/n):" in r.stdout
    assert f.read_bytes() == (TESTDATA / "sops" / "nested.enc.yaml").read_bytes()
    r = run_py(["updatekeys", str(f)], env, tmp_path, input=b"y\n")
    assert r.returncode == 0 and "key_groups:" in f.read_text()


def test_groups_add_and_delete(tmp_path: Path) -> None:
    env = _env(tmp_path, AGE_KEY_FILE, AGE2_KEY_FILE)
    f = tmp_path / "g.yaml"
    shutil.copy(TESTDATA / "sops" / "nested.enc.yaml", f)
    r = run_py(["groups", "add", "--file", str(f), "-i", "--age", AGE2_RECIPIENT], env, tmp_path)
    assert r.returncode == 0, r.stderr
    text = f.read_text()
    assert "key_groups:" in text and "shamir_threshold: 2" in text
    assert run_sops(["decrypt", f], env=env, cwd=tmp_path).stdout == NESTED_DEC
    r = run_py(["groups", "delete", "--file", str(f), "-i", "--shamir-secret-sharing-threshold", "1", "0"], env,
               tmp_path)
    assert r.returncode == 0, r.stderr
    assert AGE_RECIPIENT not in f.read_text()
    assert run_sops(["decrypt", f], env=_env(tmp_path, AGE2_KEY_FILE), cwd=tmp_path).stdout == NESTED_DEC
    bad = run_py(["groups", "delete", "--file", str(f), "x"], env, tmp_path)
    assert bad.returncode == run_sops(["groups", "delete", "--file", f, "x"], env=env, cwd=tmp_path).returncode
