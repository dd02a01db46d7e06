"""The click command classes that parse and dispatch as urfave/cli v1 does.

``UrfaveCommand`` (a subcommand) and ``UrfaveGroup`` (the program, or a command group run as an app of
its own) replace click's parser with ``urfave_flags`` and hand the values to click, and render their help
with ``urfave_help``; every command module builds on them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click
from click.core import iter_params_for_processing

from ..errors import NoHelpTopic
from .urfave_errors import UsageFailure
from .urfave_flags import GoFlag, env_values, go_flags, normalize_flags, parse_flags, reorder_args
from .urfave_help import app_help, command_help, subcommand_help

# ------------------------------------------------------------------ feeding click

_UNSET = getattr(click.core, "UNSET", object())


def _feed(command: click.Command, ctx: click.Context, values: dict[str, Any], given: Sequence[GoFlag],
          positionals: list[str]) -> list[str]:
    """Give click the parsed values; returns the positional arguments no click argument took."""
    params = command.get_params(ctx)
    opts = dict(values)
    order: list[click.Parameter] = [f.param for f in given]
    for param in params:
        if isinstance(param, click.Argument) and param.name:
            opts[param.name] = tuple(positionals)
            order.append(param)
            positionals = []
    for param in iter_params_for_processing(order, params):
        param.handle_parse_result(ctx, opts, [])
    for name, value in ctx.params.items():
        if value is _UNSET:
            ctx.params[name] = None
    return positionals


def _parse(command: click.Command, ctx: click.Context, args: list[str], level: str) -> list[str]:
    """Parse ``args`` for ``command``; ``level`` is "command" (a subcommand: reordered), "app" (the
    program: App.Run) or "subapp" (a command group: App.RunAsSubcommand)."""
    flags = go_flags(command, ctx)
    values = env_values(flags, os.environ)
    if level == "command":
        names = {n for f in flags for n in (*f.names, *f.negations)}
        args = reorder_args(names, args)
    parsed = parse_flags(flags, args)
    if level == "command":
        problem = parsed.error or normalize_flags(flags, parsed.visited)
        if problem:
            raise UsageFailure(problem, ctx)
    else:  # normalizeFlags' error wins and is printed without "Incorrect Usage."
        problem = normalize_flags(flags, parsed.visited)
        if problem:
            raise UsageFailure(problem, ctx, head=f"{problem}\n" if level == "app" else f"{problem}\n\n")
        if parsed.error:
            raise UsageFailure(parsed.error, ctx, head=f"Incorrect Usage. {parsed.error}\n\n")
    values.update(parsed.values)
    return _feed(command, ctx, values, parsed.given, parsed.args)


# ------------------------------------------------------------------ commands

class UrfaveCommand(click.Command):
    """A subcommand parsed as urfave/cli v1 parses one (its flags may follow the positional arguments)."""

    def __init__(self, name: str | None, *, args_usage: str | None = None, aliases: Sequence[str] = (),
                 **kwargs: Any) -> None:
        settings = dict(kwargs.pop("context_settings", None) or {})
        settings.setdefault("help_option_names", ["--help", "-h"])
        kwargs["context_settings"] = settings
        super().__init__(name, **kwargs)
        self.args_usage = args_usage
        self.aliases = tuple(aliases)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _help_option(super().get_help_option(ctx))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _parse(self, ctx, args, "command")
        ctx.args = []
        return []

    def get_help(self, ctx: click.Context) -> str:
        return _chomp(command_help(self, ctx.command_path, ctx))


class UrfaveGroup(click.Group):
    """A command with subcommands (``groups``, ``completion``), or with ``root=True`` the program itself.

    urfave runs those as an app of their own: its flags come first (no reordering), then a subcommand
    name; ``help``/``h`` is a subcommand too. Without a subcommand, the root runs its own callback (the
    legacy form), a command group prints its help, and an unknown name is ``No help topic for 'x'``
    (exit 3)."""

    command_class = UrfaveCommand
    root = False

    def __init__(self, name: str | None = None, commands: Any = None, *, aliases: Sequence[str] = (),
                 **kwargs: Any) -> None:
        settings = dict(kwargs.pop("context_settings", None) or {})
        settings.setdefault("help_option_names", ["--help", "-h"])
        kwargs["context_settings"] = settings
        super().__init__(name, commands, **kwargs)
        self.aliases = tuple(aliases)
        self.version_text: str | None = None   # what --version prints (the program only)
        self.usage_text: str | None = None     # urfave's UsageText: replaces the generated USAGE line
        self.authors: list[str] = []

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _help_option(super().get_help_option(ctx))

    # the commands urfave lists, in its order, with their aliases
    def command_names(self, ctx: click.Context) -> list[tuple[str, ...]]:
        return [(name,) for name in self.list_commands(ctx)]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in ("help", "h"):
            return help_command(self)
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = _parse(self, ctx, args, "app" if self.root else "subapp")
        ctx.meta[f"urfave.args.{id(self)}"] = rest
        ctx.args = []
        return []

    def positionals(self, ctx: click.Context) -> list[str]:
        rest: list[str] = ctx.meta.get(f"urfave.args.{id(self)}", [])
        return rest

    def invoke(self, ctx: click.Context) -> Any:
        if self.root and ctx.params.get("show_version"):
            click.echo(self.version_text or "")
            return None
        args = self.positionals(ctx)
        command = self.get_command(ctx, args[0]) if args else None
        if command is None:
            ctx.invoked_subcommand = None
            if self.root:
                return click.Command.invoke(self, ctx)
            if args:
                raise NoHelpTopic(f"No help topic for '{args[0]}'")
            click.echo(self.get_help(ctx))
            return None
        ctx.invoked_subcommand = args[0]
        click.Command.invoke(self, ctx)
        with command.make_context(args[0], list(args[1:]), parent=ctx) as sub_ctx:
            return sub_ctx.command.invoke(sub_ctx)

    def get_help(self, ctx: click.Context) -> str:
        if self.root:
            return _chomp(app_help(self, ctx.command_path, ctx))
        return _chomp(subcommand_help(self, ctx.command_path, ctx))


def _help_option(option: click.Option | None) -> click.Option | None:
    if option is not None:  # urfave's HelpFlag "help, h" (click builds it from a set: order it)
        option.help = "show help"
        option.opts.sort(key=lambda name: (not name.startswith("--"), name))
    return option


def _chomp(text: str) -> str:
    """click echoes help with a newline of its own."""
    return text[:-1] if text.endswith("\n") else text


_HELP_COMMANDS: dict[int, UrfaveCommand] = {}


def help_command(parent: UrfaveGroup) -> UrfaveCommand:
    """urfave's ``help, h [command]`` of an app (the program or a command group)."""
    existing = _HELP_COMMANDS.get(id(parent))
    if existing is not None:
        return existing

    def show(args: tuple[str, ...]) -> None:
        ctx = click.get_current_context()
        parent_ctx = ctx.parent
        assert parent_ctx is not None
        if not args:
            sys.stdout.write(app_help(parent, parent_ctx.command_path, parent_ctx))
            return
        target = parent.get_command(parent_ctx, args[0])
        if target is None:
            raise NoHelpTopic(f"No help topic for '{args[0]}'")
        sys.stdout.write(command_help(target, f"{parent_ctx.command_path} {target.name}", None))

    command = UrfaveCommand("help", aliases=("h",), callback=show, args_usage="[command]",
                            help="Shows a list of commands or help for one command",
                            params=[click.Argument(["args"], nargs=-1)])
    _HELP_COMMANDS[id(parent)] = command
    return command
