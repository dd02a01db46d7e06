"""sops' argument conventions (urfave/cli v1.22 over Go's ``flag`` package) on top of click.

click declares every flag (names, help text, env var, type); this module parses argv the way the Go sops
does and hands the values to click, so ``sops-py`` accepts exactly what ``sops`` accepts:

* long flags with one or two dashes (``-in-place`` = ``--in-place``), ``--flag=value`` and
  ``--flag value``; a value flag takes the next argument even when it starts with ``-``;
* booleans take no argument but accept ``--flag=false`` (Go's ``strconv.ParseBool`` spellings);
* int flags parse as Go's ``strconv.ParseInt(s, 0, 64)`` (``0x10``, ``010`` octal, ``1_000``);
* repeatable flags (``StringSliceFlag``) append; their env var is split on commas;
* env vars are read as urfave reads them (an empty boolean env var means false, a bad one is fatal);
* for a subcommand, its own flags written after positional arguments are moved in front of them
  (urfave's ``reorderArgs``); the global (legacy) form and command groups do not reorder;
* parsing stops at the first positional argument or after ``--``;
* errors carry Go's messages (``flag provided but not defined: -x``, ``flag needs an argument: -x``,
  ``invalid value "x" for flag -indent: parse error``, ``Cannot use two forms of the same flag: i
  in-place``) and are reported as sops reports them (see ``UsageFailure``).

Help is rendered with urfave's templates and Go's text/tabwriter, and ``--generate-bash-completion``
(what the completion scripts call) prints urfave's suggestions.

The implementation is split by concern; this module is the entry point the command modules, ``main``,
``docgen`` and the tests import, and it re-exports every name they use:

* ``urfave_flags``: Go's ``strconv`` and ``flag.FlagSet`` rules, urfave's reordering and env vars;
* ``urfave_errors``: ``GoFatal``, ``UsageFailure`` and the ``log.Fatal`` line;
* ``urfave_commands``: the click classes ``UrfaveCommand`` / ``UrfaveGroup`` and the ``help`` command;
* ``urfave_help``: the help templates and Go's tabwriter;
* ``urfave_completion``: ``--generate-bash-completion`` (imported on first use: see ``completions``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from ..errors import SopsError
from ..gotext import go_quote as go_quote
from .urfave_commands import UrfaveCommand as UrfaveCommand
from .urfave_commands import UrfaveGroup as UrfaveGroup
from .urfave_commands import help_command as help_command
from .urfave_errors import GoFatal as GoFatal
from .urfave_errors import UsageFailure as UsageFailure
from .urfave_errors import fatal_line as fatal_line
from .urfave_flags import BOOL as BOOL
from .urfave_flags import BOOLT as BOOLT
from .urfave_flags import COMPLETION_FLAG as COMPLETION_FLAG
from .urfave_flags import INT as INT
from .urfave_flags import RANGE as RANGE
from .urfave_flags import SLICE as SLICE
from .urfave_flags import STRING as STRING
from .urfave_flags import SYNTAX as SYNTAX
from .urfave_flags import GoFlag as GoFlag
from .urfave_flags import GoNumError as GoNumError
from .urfave_flags import Parsed as Parsed
from .urfave_flags import env_values as env_values
from .urfave_flags import flag_kind as flag_kind
from .urfave_flags import go_flags as go_flags
from .urfave_flags import go_parse_bool as go_parse_bool
from .urfave_flags import go_parse_int as go_parse_int
from .urfave_flags import normalize_flags as normalize_flags
from .urfave_flags import parse_flags as parse_flags
from .urfave_flags import reorder_args as reorder_args
from .urfave_help import ROOT_VERSION as ROOT_VERSION
from .urfave_help import _args_usage as _args_usage
from .urfave_help import app_help as app_help
from .urfave_help import command_help as command_help
from .urfave_help import flag_help_line as flag_help_line
from .urfave_help import new_context as new_context
from .urfave_help import subcommand_help as subcommand_help
from .urfave_help import tabwrite as tabwrite
from .urfave_help import visible_flags as visible_flags


def completions(root: UrfaveGroup, args: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """What ``PROG ARGS --generate-bash-completion`` prints (``urfave_completion.completions``).

    Only the completion scripts ask for this, so its module is loaded here, on first use, rather than by
    every run of the CLI."""
    from .urfave_completion import completions as complete
    return complete(root, args, environ)


# ------------------------------------------------------------------ shared by the command modules

def warn_extra_positionals(args: Sequence[str], warn: Callable[[str], Any]) -> None:
    """sops' warnMoreThanOnePositionalArgument."""
    if len(args) <= 1:
        return
    warn("More than one positional argument provided. Only the first one will be used!")
    potential = ""
    for value in args[1:]:
        if value.startswith("-"):
            potential = value
    if potential:
        warn(f"Note that one of the ignored positional argument is {go_quote(potential)}, which looks like a "
             "flag. Flags must always be provided before the first positional argument!")


def fail(message: str, code: int = 1) -> NoReturn:
    raise SopsError(message, exit_code=code)
