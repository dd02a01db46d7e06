"""urfave/cli v1's help screens: its templates, rendered through Go's text/tabwriter.

``sops --help``, ``sops CMD --help``, ``sops help CMD`` and the command groups' help must match the Go
sops byte for byte (tests compare them with the real binary), and ``docgen`` builds docs/cli.md from the
same flag lines. Rendering only reads the click declarations, so it lives apart from parsing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..gotext import go_quote
from .urfave_flags import INT, STRING, GoFlag, go_flags

if TYPE_CHECKING:
    from .urfave_commands import UrfaveGroup


def _usage(command: click.Command) -> str:
    return " ".join((command.help or "").split()) if command.help else ""


def _args_usage(command: click.Command) -> str:
    explicit = getattr(command, "args_usage", None)
    if explicit:
        return str(explicit)
    for param in command.params:
        if isinstance(param, click.Argument) and param.metavar:
            return param.metavar
    return "[arguments...]"


def tabwrite(text: str, padding: int = 2, minwidth: int = 1) -> str:
    """Go's text/tabwriter (NewWriter(w, 1, 8, 2, ' ', 0)): tab-terminated cells aligned in column blocks."""
    cells = [line.split("\t") for line in text.split("\n")]
    out: list[str] = [""] * len(cells)

    def write_lines(line0: int, line1: int, widths: list[int]) -> None:
        for i in range(line0, line1):
            parts = []
            for j, c in enumerate(cells[i]):
                parts.append(c)
                if j < len(widths):
                    parts.append(" " * (widths[j] - len(c)))
            out[i] = "".join(parts)

    def fmt(line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        start = line0
        this = line0
        while this < line1:
            if column >= len(cells[this]) - 1:
                this += 1
                continue
            write_lines(start, this, widths)
            block = this
            width = minwidth
            while this < line1 and column < len(cells[this]) - 1:
                width = max(width, len(cells[this][column]) + padding)
                this += 1
            fmt(block, this, [*widths, width])
            start = this
        write_lines(start, line1, widths)

    fmt(0, len(cells), [])
    return "\n".join(out)


def flag_help_line(f: GoFlag) -> str:
    """urfave's stringifyFlag: ``--kms value, -k value\\tusage (default: …) [$ENV]``."""
    placeholder = " value" if f.takes_value else ""
    names = ", ".join(("-" if len(n) == 1 else "--") + n + placeholder for n in f.names)
    usage = " ".join((f.param.help or "").split())
    default = ""
    if f.kind == INT:
        default = f" (default: {f.param.default or 0})"
    elif f.kind == STRING and isinstance(f.param.default, str) and f.param.default:
        default = f" (default: {go_quote(f.param.default)})"
    line = f"{names}\t{(usage + default).strip()}"
    envs = f.envvars()
    if envs:
        line += " [" + ", ".join("$" + e for e in envs) + "]"
    return line


def new_context(command: click.Command, parent: click.Context | None = None,
                info_name: str | None = None) -> click.Context:
    """A context for ``command`` without parsing anything (with its context settings: ``-h``)."""
    return click.Context(command, parent=parent, info_name=info_name or command.name, **command.context_settings)


def visible_flags(command: click.Command, ctx: click.Context | None, with_help: bool) -> list[GoFlag]:
    ctx = ctx if ctx is not None and ctx.command is command else new_context(command)
    flags = [f for f in go_flags(command, ctx) if not f.param.hidden]
    help_names = set(command.get_help_option_names(ctx))
    if not with_help:
        return [f for f in flags if not set(f.param.opts) & help_names]
    helps = [f for f in flags if set(f.param.opts) & help_names]
    versions = [f for f in flags if f.dest == "show_version"]
    return [f for f in flags if f not in helps and f not in versions] + helps + versions


def _commands_section(group: UrfaveGroup, ctx: click.Context | None, with_help: bool) -> str:
    ctx = ctx if ctx is not None and ctx.command is group else new_context(group)
    lines = []
    for names in group.command_names(ctx):
        command = group.get_command(ctx, names[0])
        if command is None or command.hidden:
            continue
        lines.append(f"\n   {', '.join(names)}\t{_usage(command)}")
    if with_help:
        lines.append("\n   help, h\tShows a list of commands or help for one command")
    return "".join(lines)


def command_help(command: click.Command, help_name: str, ctx: click.Context | None) -> str:
    """urfave's CommandHelpTemplate (what ``sops CMD --help`` and ``sops help CMD`` print)."""
    flags = visible_flags(command, ctx, with_help=False) if not isinstance(command, click.Group) else []
    text = (f"NAME:\n   {help_name} - {_usage(command)}\n\nUSAGE:\n   {help_name}"
            f"{' [command options]' if flags else ''} {_args_usage(command)}")
    if flags:
        text += "\n\nOPTIONS:\n   " + "".join(flag_help_line(f) + "\n   " for f in flags)
    return tabwrite(text + "\n")


def subcommand_help(group: UrfaveGroup, help_name: str, ctx: click.Context | None) -> str:
    """urfave's SubcommandHelpTemplate (``sops groups --help``)."""
    flags = visible_flags(group, ctx, with_help=True)
    text = (f"NAME:\n   {help_name} - {_usage(group)}\n\nUSAGE:\n   {help_name} command"
            f"{' [command options]' if flags else ''} [arguments...]\n\nCOMMANDS:"
            + _commands_section(group, ctx, with_help=False))
    if flags:
        text += "\n\nOPTIONS:\n   " + "".join(flag_help_line(f) + "\n   " for f in flags)
    return tabwrite(text + "\n")


def app_help(group: UrfaveGroup, help_name: str, ctx: click.Context | None) -> str:
    """urfave's AppHelpTemplate (``sops --help``, ``sops help``, ``sops groups help``)."""
    flags = visible_flags(group, ctx, with_help=True)
    usage_text = group.usage_text
    text = f"NAME:\n   {help_name}{' - ' + _usage(group) if group.help else ''}\n\nUSAGE:\n   "
    text += usage_text or (f"{help_name} {'[global options]' if flags else ''} command [command options] "
                           "[arguments...]")
    version = _root_version()
    if version:
        text += f"\n\nVERSION:\n   {version}"
    if group.authors:
        text += f"\n\nAUTHOR{'S' if len(group.authors) > 1 else ''}:\n   " + "\n   ".join(group.authors)
    text += "\n\nCOMMANDS:" + _commands_section(group, ctx, with_help=group.root)
    if flags:
        text += "\n\nGLOBAL OPTIONS:\n   " + "\n   ".join(flag_help_line(f) for f in flags)
    return tabwrite(text + "\n")


ROOT_VERSION: list[str] = []  # set by main: the version the program reports (sub-apps inherit it)


def _root_version() -> str:  # every app (command groups too) shows the program's version
    return ROOT_VERSION[0] if ROOT_VERSION else ""
