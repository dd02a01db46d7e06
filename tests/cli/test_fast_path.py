"""The click-free fast path behaves exactly like the full CLI for every argv it accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sops_py.cli.fast import parse
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA

ENC = str(TESTDATA / "sops" / "basic.enc.yaml")
PLAIN = str(TESTDATA / "plain" / "basic.yaml")

FAST = [
    ["decrypt", ENC], ["-d", ENC], ["--decrypt", ENC], ["decrypt", "--output-type", "json", ENC],
    ["decrypt", "--output-type=json", ENC], ["decrypt", "--extract", '["hello"]', ENC],
    ["decrypt", "--extract", '["nope"]', ENC], ["decrypt", "--extract", '["a"', ENC],
    ["decrypt", "--ignore-mac", ENC], ["decrypt", "--decryption-order", "age,age", ENC],
    ["decrypt", "--input-type", "json", ENC], ["decrypt", str(TESTDATA / "nope.yaml")], ["decrypt", PLAIN],
    ["-d", "--output-type", "json", ENC], ["encrypt", ENC], ["decrypt", "-i", "--output", "x", ENC],
    # batches
    ["decrypt", "--output-dir", "out", ENC, ENC], ["decrypt", "--output-dir", "out", ENC],
    ["decrypt", "--output-dir", "out", ENC, str(TESTDATA / "nope.yaml")],
    ["decrypt", "--output-dir", "out", "--output", "x", ENC, ENC],
    ["encrypt", "--age", AGE_RECIPIENT, "--output-dir", "out", PLAIN, PLAIN], ["encrypt", "--output-dir", "out", ENC],
]
SLOW = [["decrypt"], ["decrypt", ENC, "--output", "x"], ["decrypt", "--verbose", ENC], ["-d", "-e", ENC],
        ["decrypt", "--help"], ["decrypt", "-i", "-i", ENC], ["-e", PLAIN], ["decrypt", "--bogus", ENC],
        ["decrypt", ENC, ENC], ["-d", "--output-dir", "out", ENC], ["decrypt", "--output-dir", "out", ENC, "-i"],
        ["decrypt", "--output-dir", "out", ENC, ""]]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["HOME"] = str(tmp)
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env


def _run(code: str, args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, bytes, bytes]:
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, env=env, cwd=cwd, timeout=60,
                       check=False)
    return p.returncode, p.stdout, p.stderr


ENTRY = "import sys; from sops_py.cli import main; main(sys.argv[1:])"
FULL = "import sys; from sops_py.cli.main import main; main(sys.argv[1:])"
NO_CLICK = ("import sys\nfrom sops_py.cli import fast\ncode = fast.run(sys.argv[1:])\n"
            "assert 'click' not in sys.modules, 'the fast path imported click'\nsys.exit(code)")


@pytest.mark.parametrize("args", FAST, ids=lambda a: " ".join(a).replace(str(TESTDATA), "T"))
def test_fast_path_matches_full_cli(args: list[str], tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert parse(args, env) is not None
    fast = _run(NO_CLICK, args, env, tmp_path)
    full = _run(FULL, args, env, tmp_path)
    assert fast == full


@pytest.mark.parametrize("args", SLOW, ids=lambda a: " ".join(a).replace(str(TESTDATA), "T"))
def test_other_argv_goes_to_the_full_cli(args: list[str], tmp_path: Path) -> None:
    assert parse(args, _env(tmp_path)) is None


def test_encrypt_with_recipient_env_and_keyservice_env_falls_back(tmp_path: Path) -> None:
    env = _env(tmp_path)
    env["SOPS_AGE_RECIPIENTS"] = AGE_RECIPIENT
    parsed = parse(["encrypt", PLAIN], env)
    assert parsed is not None and parsed[2]["age"] == AGE_RECIPIENT
    env["SOPS_KEYSERVICE"] = "unix:///nowhere"
    assert parse(["encrypt", PLAIN], env) is None
    rc, out, err = _run(ENTRY, ["encrypt", "--age", AGE_RECIPIENT, PLAIN], _env(tmp_path), tmp_path)
    assert rc == 0 and b"sops:" in out
