"""Log output to stderr as every command writes it (warnings by default, debug with --verbose)."""

from __future__ import annotations

from .. import log


def setup_logging(verbose: bool) -> None:
    # applied lazily: `logging` is imported only if something is logged (see sops_py.log)
    log.configure(verbose)
