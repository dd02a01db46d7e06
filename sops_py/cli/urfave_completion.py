"""What ``--generate-bash-completion`` prints: urfave/cli v1's suggestions for the completion scripts.

The scripts ``sops-py completion bash|zsh`` prints call the program with this flag last; ``cli.main``
sends that argv here instead of parsing it. Nothing else needs this module, so ``urfave`` imports it on
first use rather than at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import click

from .urfave_commands import UrfaveGroup
from .urfave_flags import COMPLETION_FLAG, GoFlag, go_flags, parse_flags
from .urfave_help import _usage, new_context, visible_flags


def _cli_arg_contains(flag: GoFlag, argv: Sequence[str]) -> bool:
    return any(("-" * min(len(n), 2) + n) in argv for n in flag.names)


def _flag_suggestions(last: str, flags: Sequence[GoFlag], argv: Sequence[str]) -> list[str]:
    cur = last[1:] if last.startswith("-") else last
    cur = cur[1:] if cur.startswith("-") else cur
    out = []
    for f in flags:
        if f.param.hidden:
            continue
        for name in f.names:
            count = min(len(name), 2)
            if last.startswith("--") and count == 1:
                continue
            if name.startswith(cur) and cur != name and not _cli_arg_contains(f, argv):
                out.append("-" * count + name)
    return out


def _command_suggestions(group: UrfaveGroup, ctx: click.Context, zsh: bool) -> list[str]:
    out = []
    entries = [*group.command_names(ctx), ("help", "h")]
    for names in entries:
        command = group.get_command(ctx, names[0])
        if command is None or command.hidden:
            continue
        for name in names:
            out.append(f"{name}:{_usage(command)}" if zsh else name)
    return out


def completions(root: UrfaveGroup, args: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """What ``PROG ARGS --generate-bash-completion`` prints (urfave's DefaultCompleteWithFlags): flag
    names when the last argument starts with ``-`` (the app's flags, then the command's), else the
    (sub)commands. Parse errors are ignored, as urfave ignores them in this mode."""
    environ = os.environ if environ is None else environ
    zsh = environ.get("_CLI_ZSH_AUTOCOMPLETE_HACK") == "1"
    argv = ["prog", *args, COMPLETION_FLAG]
    last = argv[-2] if len(argv) > 2 else ""
    app: UrfaveGroup = root
    app_ctx = new_context(root)
    rest = list(args)
    while True:
        app_flags = visible_flags(app, app_ctx, with_help=True)
        rest = parse_flags(go_flags(app, app_ctx), rest).args
        command = app.get_command(app_ctx, rest[0]) if rest else None
        if command is None:
            if last.startswith("-"):
                return _flag_suggestions(last, app_flags, argv)
            return _command_suggestions(app, app_ctx, zsh)
        if isinstance(command, UrfaveGroup):
            app, app_ctx, rest = command, new_context(command, app_ctx, rest[0]), rest[1:]
            continue
        if last.startswith("-"):
            cmd_flags = visible_flags(command, None, with_help=False)
            return _flag_suggestions(last, app_flags, argv) + _flag_suggestions(last, cmd_flags, argv)
        return []
