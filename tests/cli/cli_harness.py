"""Run sops-py's CLI in-process (fast) or the real sops binary, and normalise their outputs for comparison."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sops_py.cli.main import main
from tests.interop.sops_helpers import run_sops


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def out_first(self) -> str:
        return self.out.split("\n", 1)[0]

    @property
    def err_lines(self) -> list[str]:
        return [normalise_log(line) for line in self.err.splitlines()]


_LOG = re.compile(r'^\[[A-Z-]+\]\t\s*(?:time="[^"]*"\s*)?level=(\w+) msg=(.*)$')


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r'\\(.)', r"\1", text[1:-1])
    return text


def normalise_log(line: str) -> str:
    """``[CMD]\\t time="…" level=warning msg="x"`` (sops) and ``[SOPS-PY]\\t level=WARNING msg=x`` (sops-py
    warnings) both become ``warning: x``; other lines are kept."""
    m = _LOG.match(line)
    if not m:
        return line
    return f"{m.group(1).lower()}: {_unquote(m.group(2))}"


@contextlib.contextmanager
def _process_state(env: Mapping[str, str], cwd: str | os.PathLike[str] | None) -> Iterator[None]:
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)


def run_py(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str] | None = None,
           cwd: str | os.PathLike[str] | None = None, input: bytes = b"") -> Run:
    """sops-py's ``main`` in this process, with its own stdin/stdout/stderr, environment and directory."""
    out_b, err_b = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_b, encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(err_b, encoding="utf-8", write_through=True)
    inp = io.TextIOWrapper(io.BytesIO(input), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    code = 0
    with _process_state(dict(os.environ) if env is None else env, cwd):
        sys.stdin, sys.stdout, sys.stderr = inp, out, err
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = int(e.code or 0)
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
    return Run(code, out_b.getvalue().decode("utf-8", "replace"), err_b.getvalue().decode("utf-8", "replace"))


def run_go(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str] | None = None,
           cwd: str | os.PathLike[str] | None = None, input: bytes = b"") -> Run:
    proc = run_sops(list(args), env=env, input=input, cwd=cwd)
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def as_sops(text: str) -> str:
    """sops-py's output with its program name written as sops'."""
    return text.replace("sops-py", "sops")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
