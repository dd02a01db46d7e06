"""``sops-py ksops install``: small launchers that make kustomize (and kpt, Argo CD) run sops-py
where they expect a ``ksops`` binary.

A launcher is a two-line sh script that runs ``<this interpreter> -m sops_py ksops "$@"``: the same
Python that runs this command, so it works inside a virtualenv and in CI without activating
anything. It is not a console script called ``ksops`` because PyPI's ``ksops`` name belongs to an
unrelated package, and a second ``ksops`` on PATH from pip would shadow (or be shadowed by) the Go
binary without warning; a launcher is written only where it is asked for.

Two places:
  * ``DIR/viaduct.ai/v1/ksops/ksops`` (and ``v2``): the legacy exec plugin layout kustomize looks up
    under ``$XDG_CONFIG_HOME/kustomize/plugin`` (``DIR`` is that plugin directory);
  * ``--bin DIR``: ``DIR/ksops``, for KRM manifests that say ``exec: path: ksops`` with DIR on PATH.
"""

from __future__ import annotations

import os
import shlex
import sys

from ..errors import CouldNotWriteOutputFile

API_VERSIONS = ("v1", "v2")


def launcher_text(python: str | None = None) -> str:
    exe = shlex.quote(python or sys.executable)
    return ("#!/bin/sh\n"
            "# Written by `sops-py ksops install`: runs sops-py's KSOPS-compatible generator.\n"
            f"exec {exe} -m sops_py ksops \"$@\"\n")


def install(directory: str, *, bin_dir: bool = False, python: str | None = None) -> list[str]:
    """Write the launchers and return their paths. Each is written whole (temp file, then rename)
    with mode 0755, so a running build never sees half a script."""
    if bin_dir:
        targets = [os.path.join(directory, "ksops")]
    else:
        targets = [os.path.join(directory, "viaduct.ai", v, "ksops", "ksops") for v in API_VERSIONS]
    text = launcher_text(python).encode("utf-8")
    for target in targets:
        _write_executable(target, text)
    return targets


def _write_executable(path: str, data: bytes) -> None:
    import tempfile

    parent = os.path.dirname(path) or "."
    try:
        os.makedirs(parent, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".ksops-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o755)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise CouldNotWriteOutputFile(f"error installing ksops to {path}: {e.strerror or e}") from None
