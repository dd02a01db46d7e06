"""How sops reads flag values: Go's ``flag`` package and ``strconv`` applied to click's option declarations.

click declares every flag (names, help text, env var, type); this module turns argv and the environment
into values exactly as the Go sops does (urfave/cli v1.22 over Go's ``flag.FlagSet``), so that
``sops-py`` accepts what ``sops`` accepts and rejects what it rejects with Go's messages. It is kept
apart from click's command classes (``urfave_commands``) because it is plain data in, data out: the
parsing rules can be read and property-tested without a click context, and ``cmd_set`` reuses
``reorder_args`` on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from ..gotext import go_quote
from .urfave_errors import GoFatal

BOOL, BOOLT, STRING, INT, SLICE = "bool", "boolT", "string", "int", "slice"
SYNTAX, RANGE = "invalid syntax", "value out of range"
COMPLETION_FLAG = "--generate-bash-completion"  # urfave's own flag: the completion scripts put it last


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
