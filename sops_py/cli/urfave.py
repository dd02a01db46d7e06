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
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click
from click.core import iter_params_for_processing

from ..errors import EXIT_USAGE, NoHelpTopic, SopsError
from ..gotext import go_quote as go_quote  # re-exported

BOOL, BOOLT, STRING, INT, SLICE = "bool", "boolT", "string", "int", "slice"
SYNTAX, RANGE = "invalid syntax", "value out of range"
COMPLETION_FLAG = "--generate-bash-completion"


# ------------------------------------------------------------------ Go's strconv

class GoNumError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def go_parse_bool(s: str) -> bool:
    """strconv.ParseBool."""
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise GoNumError(SYNTAX)


def _underscore_ok(s: str) -> bool:
    saw = "^"
    i = 0
    if s[:1] in ("-", "+"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def go_parse_int(s0: str, bits: int = 64) -> int:
    """strconv.ParseInt(s, 0, bits): base prefixes, a leading 0 for octal, ``_`` separators."""
    s = s0
    if not s:
        raise GoNumError(SYNTAX)
    neg = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
        if not s:
            raise GoNumError(SYNTAX)
    base = 10
    if s[0] == "0":
        if len(s) >= 3 and s[1].lower() in "box":
            base = {"b": 2, "o": 8, "x": 16}[s[1].lower()]
            s = s[2:]
        else:
            base = 8
            s = s[1:]
    n = 0
    underscores = False
    limit = 1 << 64
    for c in s:
        if c == "_":
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - 48
        elif "a" <= c.lower() <= "z":
            d = ord(c.lower()) - 87
        else:
            raise GoNumError(SYNTAX)
        if d >= base:
            raise GoNumError(SYNTAX)
        n = n * base + d
        if n >= limit:
            raise GoNumError(RANGE)
    if underscores and not _underscore_ok(s0):
        raise GoNumError(SYNTAX)
    cutoff = 1 << (bits - 1)
    if (not neg and n >= cutoff) or (neg and n > cutoff):
        raise GoNumError(RANGE)
    return -n if neg else n




def _logrus_value(text: str) -> str:
    safe = all(c.isascii() and (c.isalnum() or c in "-._/@^+") for c in text)
    return text if safe and text else go_quote(text)


def fatal_line(message: str, logger: str = "CMD") -> str:
    """The line sops' ``log.Fatal`` writes (logrus text format, the time in local RFC 3339)."""
    now = _dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
    if now.endswith("+00:00"):
        now = now[:-6] + "Z"
    return f'[{logger}]\t time="{now}" level=fatal msg={_logrus_value(message)}\n'


# ------------------------------------------------------------------ flags of a click command

@dataclass(frozen=True)
class GoFlag:
    """A click option seen as the urfave flag sops declares."""

    param: click.Option
    names: tuple[str, ...]          # without dashes, in declaration order ("kms", "k")
    kind: str
    negations: tuple[str, ...] = ()  # sops-py's --no-X spelling of a default-true flag

    @property
    def dest(self) -> str:
        return self.param.name or ""

    @property
    def takes_value(self) -> bool:
        return self.kind in (STRING, INT, SLICE)

    @property
    def go_name(self) -> str:
        return ", ".join(self.names)

    def envvars(self) -> list[str]:
        ev = self.param.envvar
        if not ev:
            return []
        return [ev] if isinstance(ev, str) else list(ev)


def flag_kind(param: click.Option) -> str:
    if param.is_flag and not param.count:
        return BOOLT if param.default is True else BOOL
    if param.multiple:
        return SLICE
    if isinstance(param.type, click.types.IntParamType):
        return INT
    return STRING


def go_flags(command: click.Command, ctx: click.Context) -> list[GoFlag]:
    flags = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue
        names = tuple(o.lstrip("-") for o in param.opts)
        negations = tuple(o.lstrip("-") for o in param.secondary_opts)
        flags.append(GoFlag(param, names, flag_kind(param), negations))
    return flags


# ------------------------------------------------------------------ urfave's argument reordering

def _arg_is_flag(flag_names: set[str], arg: str) -> bool:
    """urfave/cli v1's argIsFlag."""
    if arg in ("-", "--") or not arg.startswith("-"):
        return False
    if arg.startswith("--"):
        arg = arg.replace("-", "", 2)
    if arg.startswith("-"):
        arg = arg.replace("-", "", 1)
    return arg.split("=")[0] in flag_names


def reorder_args(flag_names: set[str], args: Sequence[str]) -> list[str]:
    """urfave/cli v1.22's reorderArgs: the command's own flags move in front of the positional arguments.

    As in urfave, the argument after a flag written without ``=`` moves with it (even after a boolean
    flag) unless it is itself a flag; the first ``--`` is put in front of the positional arguments and
    ends the reordering; anything else starting with ``-`` (``-5``, an unknown flag) stays where it is.
    """
    moved: list[str] = []
    rest: list[str] = []
    may_take_value = False
    for i, arg in enumerate(args):
        if may_take_value and not _arg_is_flag(flag_names, arg):
            may_take_value = False
            moved.append(arg)
        elif arg == "--":
            rest = ["--", *rest, *args[i + 1:]]
            break
        elif _arg_is_flag(flag_names, arg):
            moved.append(arg)
            may_take_value = "=" not in arg
        else:
            rest.append(arg)
    return moved + rest


# ------------------------------------------------------------------ Go's flag.FlagSet.Parse

@dataclass
class Parsed:
    values: dict[str, Any] = field(default_factory=dict)   # click parameter name -> value
    given: list[GoFlag] = field(default_factory=list)      # flags set on the command line, in order
    visited: set[str] = field(default_factory=set)         # flag names used
    args: list[str] = field(default_factory=list)          # what is left: the positional arguments
    error: str | None = None


def parse_flags(flags: Sequence[GoFlag], args: Sequence[str]) -> Parsed:
    """flag.FlagSet.Parse: flags up to the first non-flag or ``--``; stops at the first error."""
    by_name: dict[str, tuple[GoFlag, bool]] = {}
    for f in flags:
        for n in f.names:
            by_name[n] = (f, False)
        for n in f.negations:
            by_name.setdefault(n, (f, True))
    p = Parsed()
    started: set[str] = set()
    i = 0
    while i < len(args):
        s = args[i]
        if len(s) < 2 or s[0] != "-":
            break
        minuses = 1
        if s[1] == "-":
            minuses = 2
            if len(s) == 2:
                i += 1
                break
        name = s[minuses:]
        if not name or name[0] in "-=":
            p.error, p.args = f"bad flag syntax: {s}", list(args[i:])
            return p
        i += 1
        value: str | None = None
        eq = name.find("=", 1)
        if eq > 0:
            name, value = name[:eq], name[eq + 1:]
        entry = by_name.get(name)
        if entry is None:
            p.error, p.args = f"flag provided but not defined: -{name}", list(args[i:])
            return p
        flag, negated = entry
        if not flag.takes_value:
            on = True
            if value is not None:
                try:
                    on = go_parse_bool(value)
                except GoNumError:
                    p.error, p.args = f"invalid boolean value {go_quote(value)} for -{name}: parse error", list(args[i:])
                    return p
            p.values[flag.dest] = on != negated
        else:
            if value is None:
                if i >= len(args):
                    p.error = f"flag needs an argument: -{name}"
                    return p
                value = args[i]
                i += 1
            if flag.kind == INT:
                try:
                    p.values[flag.dest] = go_parse_int(value)
                except GoNumError as e:
                    reason = "parse error" if e.reason == SYNTAX else RANGE
                    p.error = f"invalid value {go_quote(value)} for flag -{name}: {reason}"
                    p.args = list(args[i:])
                    return p
            elif flag.kind == SLICE:
                if flag.dest not in started:
                    started.add(flag.dest)
                    p.values[flag.dest] = []
                p.values[flag.dest].append(value)
            else:
                p.values[flag.dest] = value
        p.visited.add(name)
        if flag not in p.given:
            p.given.append(flag)
    p.args = list(args[i:])
    return p


def normalize_flags(flags: Iterable[GoFlag], visited: set[str]) -> str | None:
    """urfave's normalizeFlags: one flag given under two of its names is an error."""
    for f in flags:
        first = None
        for name in f.names:
            if name in visited:
                if first is not None:
                    return f"Cannot use two forms of the same flag: {name} {first}"
                first = name
    return None


def env_values(flags: Iterable[GoFlag], environ: Mapping[str, str]) -> dict[str, Any]:
    """Defaults from env vars, as urfave's Apply reads them (before the command line is parsed)."""
    values: dict[str, Any] = {}
    for f in flags:
        raw = next((environ[v] for v in f.envvars() if v in environ), None)
        if raw is None:
            continue
        if f.kind in (BOOL, BOOLT):
            if raw == "":
                values[f.dest] = False
                continue
            try:
                values[f.dest] = go_parse_bool(raw)
            except GoNumError:
                raise GoFatal(f"could not parse {raw} as bool value for flag {f.go_name}: strconv.ParseBool: "
                              f"parsing {go_quote(raw)}: invalid syntax") from None
        elif f.kind == INT:
            try:
                values[f.dest] = go_parse_int(raw)
            except GoNumError as e:
                raise GoFatal(f"could not parse {raw} as int value for flag {f.go_name}: strconv.ParseInt: "
                              f"parsing {go_quote(raw)}: {e.reason}") from None
        elif f.kind == SLICE:
            values[f.dest] = [part.strip() for part in raw.split(",")]
        else:
            values[f.dest] = raw
    return values


# ------------------------------------------------------------------ errors

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


# ------------------------------------------------------------------ help (urfave's templates, Go's tabwriter)

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


# ------------------------------------------------------------------ --generate-bash-completion

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
