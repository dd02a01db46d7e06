"""sops' log lines, with ``logging`` imported only when something is logged.

sops logs through one logrus logger per component (``CMD``, ``SOPS``, ``EXEC``, ``KEYSERVICE``,
``PUBLISH``, ``AGE``, ``PGP``, ...), each line prefixed by ``[NAME]`` and a tab, then logrus'
TextFormatter: on a terminal ``WARN[0000] message`` with colours, elsewhere
``time="…" level=warning msg="…"`` followed by the entry's fields sorted by name. sops-py writes
the same lines, so a script or a person reading stderr cannot tell the two apart; callers pass the
component as ``name`` and sops' ``WithField`` values as ``fields``.

``logging`` costs ~10 ms at start-up, and a decrypt or encrypt usually logs nothing. The CLI's
``setup_logging`` records its settings here when ``logging`` is not loaded yet; they are applied on
the first message, so the output is exactly what a handler installed up front would write. Modules
log through this module's ``debug``/``info``/``warning``/``error`` instead of holding a
``logging.Logger``, so a deferred configuration is never bypassed.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping
    from typing import TextIO

NAME = "sops_py"
DEFAULT_COMPONENT = "CMD"  # the logger of sops' cmd/sops, which writes most of its messages
_START = time.time()  # logrus' baseTimestamp: the seconds in "WARN[0003]" count from start-up
_pending: bool | None = None  # verbose, when configure was called before ``logging`` was loaded

# logrus needsQuoting: any other character makes a value quoted with Go's %q
_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")
# logrus level names (Level.String()) and the colours of its terminal layout
_LEVELS = {10: ("debug", 37), 20: ("info", 36), 30: ("warning", 33), 40: ("error", 31), 50: ("fatal", 31)}


def configure(verbose: bool) -> None:
    """Log to stderr (warnings, or everything with ``verbose``); deferred while ``logging`` is not loaded."""
    global _pending
    if "logging" in sys.modules:
        _pending = None
        _apply(verbose)
    else:
        _pending = verbose


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def _value(text: str) -> str:
    """logrus appendValue: bare when every character is safe (an empty value too), else Go's %q."""
    if all(c in _BARE for c in text):
        return text
    from .gotext import go_quote

    return go_quote(text)


def _rfc3339(t: float) -> str:
    """Go's time.RFC3339 of a local time: ``2006-01-02T15:04:05Z07:00``."""
    lt = time.localtime(t)
    off = lt.tm_gmtoff or 0
    if off == 0:
        zone = "Z"
    else:
        sign = "+" if off > 0 else "-"
        off = abs(off) // 60
        zone = f"{sign}{off // 60:02d}:{off % 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + zone


def format_line(level: int, message: str, name: str = DEFAULT_COMPONENT, fields: Mapping[str, object] | None = None,
                *, now: float | None = None, colour: bool = False, bold: bool = False) -> str:
    """One log line as sops writes it (without the newline).

    ``colour``: logrus' terminal layout (stderr is a terminal); ``bold``: fatih/color's bold
    ``[NAME]`` (stdout is a terminal and colours are not turned off)."""
    when = time.time() if now is None else now
    label, colour_code = _LEVELS.get(level, ("info", 36))
    prefix = f"\x1b[1m[{name}]\x1b[22m" if bold else f"[{name}]"  # fatih/color 1.18+ resets bold alone
    keys = sorted(fields or {})
    if colour:
        msg = message[:-1] if message.endswith("\n") else message
        out = [f"\x1b[{colour_code}m{label.upper()[:4]}\x1b[0m[{int(when - _START):04d}] {msg:<44} "]
        for k in keys:
            out.append(f" \x1b[{colour_code}m{k}\x1b[0m={_value(str(fields[k]))}")  # type: ignore[index]
        return f"{prefix}\t {''.join(out)}"
    parts = [f"time={_value(_rfc3339(when))}", f"level={label}"]
    if message:
        parts.append(f"msg={_value(message)}")
    for k in keys:
        parts.append(f"{k}={_value(str(fields[k]))}")  # type: ignore[index]
    return f"{prefix}\t {' '.join(parts)}"


def _styles(stream: object) -> tuple[bool, bool]:
    """(colour, bold) as sops decides them: logrus colours when its output (stderr) is a terminal;
    fatih/color makes ``[NAME]`` bold when stdout is a terminal, TERM is not dumb and NO_COLOR is unset."""
    import os

    colour = _isatty(stream) and os.name != "nt"
    bold = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb" and _isatty(sys.stdout)
    return colour, bold


def fatal_line(message: str, name: str = DEFAULT_COMPONENT, stream: object = None) -> str:
    """The line sops' ``log.Fatal`` writes before it exits 1 (for errors reported that way)."""
    colour, bold = _styles(sys.stderr if stream is None else stream)
    return format_line(50, message, name, colour=colour, bold=bold)


def _formatter() -> logging.Formatter:
    import logging

    class LogrusFormatter(logging.Formatter):
        """logging records -> sops' lines; the terminal checks are made per line, as the stream
        may be swapped (tests capture stderr)."""

        def format(self, record: logging.LogRecord) -> str:
            colour, bold = _styles(sys.stderr)
            return format_line(record.levelno, record.getMessage(), getattr(record, "sops_name", DEFAULT_COMPONENT),
                               getattr(record, "sops_fields", None), now=record.created, colour=colour, bold=bold)

    return LogrusFormatter()


def _apply(verbose: bool) -> None:
    import logging

    class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
        """Writes to ``sys.stderr`` as it is when a line is written: a library caller or a test may
        swap (and close) the stream that was current when logging was configured."""

        @property
        def stream(self) -> TextIO:
            return sys.stderr

        @stream.setter
        def stream(self, value: object) -> None:
            pass

    log = logging.getLogger(NAME)
    handler = StderrHandler()
    handler.setFormatter(_formatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False


def logger() -> logging.Logger:
    """The ``sops_py`` logger, configured as ``configure`` asked."""
    global _pending
    import logging

    if _pending is not None:
        verbose = _pending
        _pending = None
        _apply(verbose)
    return logging.getLogger(NAME)


def enabled(level: int) -> bool:
    """Whether a message at ``level`` would be written, without loading ``logging`` when it cannot be.

    sops' info and debug lines (``--verbose``) sit on every decrypt and encrypt; without
    ``--verbose`` they must cost a comparison, not the ~10 ms import of ``logging``. Nobody can
    have configured the ``sops_py`` logger while ``logging`` is not loaded, and logging's
    last-resort handler shows warnings only, so an info or debug line is then dropped unseen."""
    if level >= 30:
        return True
    if _pending is not None:
        return _pending
    if "logging" not in sys.modules:
        return False
    return logger().isEnabledFor(level)


def _log(level: int, msg: str, args: tuple[object, ...], name: str, fields: Mapping[str, object] | None) -> None:
    if level < 30 and not enabled(level):
        return
    logger().log(level, msg, *args, extra={"sops_name": name, "sops_fields": dict(fields) if fields else None})


def debug(msg: str, *args: object, name: str = DEFAULT_COMPONENT, fields: Mapping[str, object] | None = None) -> None:
    _log(10, msg, args, name, fields)


def info(msg: str, *args: object, name: str = DEFAULT_COMPONENT, fields: Mapping[str, object] | None = None) -> None:
    _log(20, msg, args, name, fields)


def warning(msg: str, *args: object, name: str = DEFAULT_COMPONENT, fields: Mapping[str, object] | None = None) -> None:
    _log(30, msg, args, name, fields)


def error(msg: str, *args: object, name: str = DEFAULT_COMPONENT, fields: Mapping[str, object] | None = None) -> None:
    _log(40, msg, args, name, fields)
