"""The ``sops_py`` logger, with ``logging`` imported only when something is logged.

``logging`` costs ~10 ms at start-up, and a decrypt or encrypt usually logs nothing. The CLI's
``setup_logging`` records its settings here when ``logging`` is not loaded yet; they are applied on the
first message, so the output is exactly what a handler installed up front would write. Modules on the
``sops_py`` log through this module's ``debug``/``info``/``warning``/``error`` instead of holding a
``logging.Logger``, so a deferred configuration is never bypassed.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    import logging
    from typing import TextIO

NAME = "sops_py"
FORMAT = "[SOPS-PY]\t level=%(levelname)s msg=%(message)s"
_pending: tuple[bool, TextIO] | None = None  # (verbose, stream) not applied yet


def configure(verbose: bool) -> None:
    """Log to stderr (warnings, or everything with ``verbose``); deferred while ``logging`` is not loaded."""
    global _pending
    if "logging" in sys.modules:
        _pending = None
        _apply(verbose, sys.stderr)
    else:
        _pending = (verbose, sys.stderr)  # the stream in use now, as an eager handler would hold


def _apply(verbose: bool, stream: TextIO) -> None:
    import logging

    log = logging.getLogger(NAME)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False


def logger() -> logging.Logger:
    """The ``sops_py`` logger, configured as ``configure`` asked."""
    global _pending
    import logging

    if _pending is not None:
        verbose, stream = _pending
        _pending = None
        _apply(verbose, stream)
    return logging.getLogger(NAME)


def debug(msg: str, *args: object) -> None:
    logger().debug(msg, *args)


def info(msg: str, *args: object) -> None:
    logger().info(msg, *args)


def warning(msg: str, *args: object) -> None:
    logger().warning(msg, *args)


def error(msg: str, *args: object) -> None:
    logger().error(msg, *args)
