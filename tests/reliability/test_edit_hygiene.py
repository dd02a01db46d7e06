"""Edit hygiene: whatever the editor or the user does (the editor fails, is killed, empties the file,
writes garbage with stdin closed; sops-py gets SIGINT, SIGTERM, SIGHUP or SIGKILL), the decrypted copy
lives only in a private directory (0700, the file 0600) under $TMPDIR, that directory is gone when
sops-py exits (after SIGKILL: when the next edit starts), the encrypted file is unchanged, and the exit
code is the documented one (the real sops' where it terminates at all)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sops_py import api
from sops_py.errors import (
    CouldNotReadInputFile,
    FileHasNotBeenModified,
    NeedAtLeastOneDocument,
    NoEditorFound,
)
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT
from tests.interop.sops_helpers import SOPS

PLAIN = b"user: app\npassword: hunter2\n"
EDITOR = """\
import json, os, signal, sys, time
path = sys.argv[-1]
log = os.environ["EDIT_LOG"]
with open(log, "a") as f:
    f.write(json.dumps({"path": path, "mode": os.stat(path).st_mode & 0o777,
                        "dir_mode": os.stat(os.path.dirname(path)).st_mode & 0o777}) + "\\n")
action = os.environ["EDIT_ACTION"]
if action == "fail":
    sys.exit(3)
if action == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
if action == "empty":
    open(path, "w").close()
if action == "invalid":
    open(path, "w").write("{{{ not: [valid\\n")
if action == "wait":
    open(log + ".ready", "w").close()
    time.sleep(120)
"""


def _env(tmp: Path, action: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    editor = tmp / "editor.py"
    editor.write_text(EDITOR)
    (tmp / "tmpdir").mkdir(exist_ok=True)
    e.update(HOME=str(tmp), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE), EDITOR=f"{sys.executable} {editor}",
             EDIT_ACTION=action, EDIT_LOG=str(tmp / "edit.log"), TMPDIR=str(tmp / "tmpdir"), PYTHONPATH=str(ROOT))
    return e


def _secret(tmp: Path) -> Path:
    f = tmp / "secret.yaml"
    f.write_bytes(api.encrypt(PLAIN, "yaml", age=AGE_RECIPIENT))
    return f


def _cmd(tool: str) -> list[str]:
    return [sys.executable, str(ROOT / "bin" / "sops-py")] if tool == "sops-py" else [str(SOPS)]


def _edit(tool: str, tmp: Path, action: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*_cmd(tool), "edit", str(tmp / "secret.yaml")], env=_env(tmp, action), cwd=tmp,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)


def _assert_private_and_gone(tmp: Path) -> None:
    records = [json.loads(line) for line in (tmp / "edit.log").read_text().splitlines()]
    assert records
    for r in records:
        assert (r["mode"], r["dir_mode"]) == (0o600, 0o700)
        assert Path(r["path"]).parent.parent == tmp / "tmpdir"
        assert not Path(r["path"]).parent.exists()
    assert list((tmp / "tmpdir").iterdir()) == []


@pytest.mark.parametrize("action, code, message", [
    ("fail", NoEditorFound.exit_code, b"Could not run editor: exit status 3\n"),
    ("kill", NoEditorFound.exit_code, b"Could not run editor: signal: killed\n"),
    ("keep", FileHasNotBeenModified.exit_code, b"File has not changed, exiting.\n"),
])
def test_editor_outcomes_match_sops(action: str, code: int, message: bytes, tmp_path: Path) -> None:
    for tool in ("sops-py", "sops"):
        tmp = tmp_path / tool
        tmp.mkdir()
        before = _secret(tmp).read_bytes()
        r = _edit(tool, tmp, action)
        assert r.returncode == code, (tool, r.stderr)
        assert r.stderr.endswith(message), (tool, r.stderr)
        assert (tmp / "secret.yaml").read_bytes() == before
        if tool == "sops-py":
            _assert_private_and_gone(tmp)


@pytest.mark.parametrize("action, code, detail", [
    ("empty", NeedAtLeastOneDocument.exit_code, b"File cannot be completely empty"),
    ("invalid", CouldNotReadInputFile.exit_code, b"Error unmarshalling file"),
])
def test_unacceptable_content_with_stdin_closed_ends_cleanly(action: str, code: int, detail: bytes,
                                                             tmp_path: Path) -> None:
    """sops reopens the editor forever here (it waits for Enter on a closed stdin); sops-py reports the
    problem and stops with the documented code."""
    before = _secret(tmp_path).read_bytes()
    r = _edit("sops-py", tmp_path, action)
    assert r.returncode == code and detail in r.stderr, r.stderr
    assert b"Traceback" not in r.stderr and b"hunter2" not in r.stderr
    assert (tmp_path / "secret.yaml").read_bytes() == before
    _assert_private_and_gone(tmp_path)


def _start_waiting_edit(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([*_cmd("sops-py"), "edit", str(tmp / "secret.yaml")], env=_env(tmp, "wait"), cwd=tmp,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not (tmp / "edit.log.ready").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the editor did not start"
        time.sleep(0.05)
    path = json.loads((tmp / "edit.log").read_text().splitlines()[0])["path"]
    assert Path(path).read_bytes() == PLAIN  # the decrypted copy exists only while the edit runs
    return proc, path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_cancel_the_edit_and_remove_the_copy(sig: int, tmp_path: Path) -> None:
    before = _secret(tmp_path).read_bytes()
    proc, path = _start_waiting_edit(tmp_path)
    try:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert (proc.returncode, err) == (1, b"User canceled operation\n")
    assert not os.path.exists(path)
    assert (tmp_path / "secret.yaml").read_bytes() == before
    _assert_private_and_gone(tmp_path)


def test_copy_left_by_sigkill_is_removed_by_the_next_edit(tmp_path: Path) -> None:
    before = _secret(tmp_path).read_bytes()
    proc, path = _start_waiting_edit(tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)  # sops-py and its editor: nothing runs any cleanup
    proc.wait()
    assert Path(path).exists()  # the one case a copy outlives the run...
    (tmp_path / "edit.log").unlink()
    r = _edit("sops-py", tmp_path, "keep")
    assert r.returncode == FileHasNotBeenModified.exit_code, r.stderr
    assert not Path(path).exists()  # ...until the next edit
    assert (tmp_path / "secret.yaml").read_bytes() == before
    _assert_private_and_gone(tmp_path)


def test_another_users_or_a_live_edit_is_left_alone(tmp_path: Path) -> None:
    _secret(tmp_path)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    live = tmpdir / f"sops-py-edit-{os.getppid()}-abc"
    live.mkdir()
    unrelated = tmpdir / "sops-py-edit-notapid"
    unrelated.mkdir()
    r = _edit("sops-py", tmp_path, "keep")
    assert r.returncode == FileHasNotBeenModified.exit_code
    assert sorted(p.name for p in tmpdir.iterdir()) == sorted([live.name, unrelated.name])
