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
