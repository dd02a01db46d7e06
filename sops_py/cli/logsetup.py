"""Log output to stderr as every command writes it (warnings by default, debug with --verbose)."""

from __future__ import annotations

import logging
import sys


def setup_logging(verbose: bool) -> None:
    log = logging.getLogger("sops_py")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[SOPS-PY]\t level=%(levelname)s msg=%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False
