"""What the cloud key-type tests share: running sops-py with an SDK hidden, and stopping a server
process they started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_without(modules: Sequence[str], args: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
                cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``python -m sops_py ARGS`` with ``modules`` unimportable, as if their SDK were not installed."""
    code = ("import runpy, sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
            + f"sys.argv = ['sops-py', *{[str(a) for a in args]!r}]\nrunpy.run_module('sops_py', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], env=dict(env), cwd=cwd, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, check=False)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to its process group (started with start_new_session=True) after 10 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def unwrapped(report: bytes) -> str:
    """An exit-128 report with the 60-column wrapping of its error lines undone."""
    return report.decode().replace("\n      | ", " ")


def assert_missing_sdk(res: subprocess.CompletedProcess[bytes], action: str, key: str, extra: str,
                       package: str, path: Path, before: bytes) -> None:
    """A key whose SDK is missing fails with the line naming the extra, never a traceback: in sops'
    encrypt error (exit 1, the file untouched) or under the key in the exit-128 report."""
    hint = f"{package} is not installed: run pip install 'sops-py[{extra}]'"
    assert b"Traceback" not in res.stderr
    assert res.stdout == b""
    assert path.read_bytes() == before
    if action == "encrypt":
        assert res.returncode == 1
        assert res.stderr.decode() == (f'Could not generate data key: [failed to encrypt new data key with master '
                                       f'key "{key}": {hint}]\n')
    else:
        assert res.returncode == 128
        assert f"  {key}: FAILED\n    - | {hint}\n" in unwrapped(res.stderr)
