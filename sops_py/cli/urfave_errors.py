"""How sops reports a command-line failure: ``log.Fatal``'s logrus line, and urfave's ``Incorrect Usage``.

Both the flag parser (a bad env var is fatal) and the command classes (a bad flag is a usage error)
raise these and ``cli.main`` reports them; they sit in a module of their own so that neither of those
has to import the other.
"""

from __future__ import annotations

import datetime as _dt
import sys

import click

from ..errors import EXIT_USAGE, SopsError
from ..gotext import go_quote


def _logrus_value(text: str) -> str:
    safe = all(c.isascii() and (c.isalnum() or c in "-._/@^+") for c in text)
    return text if safe and text else go_quote(text)


def fatal_line(message: str, logger: str = "CMD") -> str:
    """The line sops' ``log.Fatal`` writes (logrus text format, the time in local RFC 3339)."""
    now = _dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
    if now.endswith("+00:00"):
        now = now[:-6] + "Z"
    return f'[{logger}]\t time="{now}" level=fatal msg={_logrus_value(message)}\n'


class GoFatal(SopsError):
    """An error sops hands to ``log.Fatal``: a logrus line on stderr, exit 1."""


class UsageFailure(click.UsageError):
    """A flag error, reported as urfave does: ``Incorrect Usage: <error>`` (``Incorrect Usage.`` for an
    app's own flags) and the help on stdout, then sops' ``log.Fatal`` line on stderr; exit 1."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, ctx: click.Context, head: str | None = None) -> None:
        super().__init__(message, ctx)
        self.head = f"Incorrect Usage: {message}\n\n" if head is None else head

    def report(self) -> None:
        ctx = self.ctx
        help_text = ctx.command.get_help(ctx) + "\n" if ctx is not None else ""
        sys.stdout.write(self.head + help_text)
        sys.stdout.flush()
        sys.stderr.write(fatal_line(self.message))
