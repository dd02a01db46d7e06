"""YAML emitter producing the exact bytes Go sops writes.

sops turns every tree into ``yaml.Node`` values (leaves through ``Node.Encode``, comments attached as
head/foot comments) and writes them with the go.yaml.in/yaml/v3 (v3.0.4) Encoder. This module
reproduces that output without building nodes or events:

* the scalar style of a leaf is a pure function of its text (``Node.Encode`` fixes it once: literal
  for text with a newline, plain when the text would read back as a string and the emitter's scalar
  analysis allows it, otherwise single or double quotes), so it is computed once per distinct text
  and cached;
* the layout is produced by a small emulation of the emitter's state (current column, indentation,
  the "whitespace"/"indention" flags, the foot-comment indent and the pending head/foot/tail comment
  slots) driven directly by a recursive walk over the tree, calling the same primitive actions
  in the same order as the Go state machine does for the event stream sops produces.

Public API: :func:`emit_documents` and :func:`emit_value`.
"""

from __future__ import annotations

import binascii
import math

from ..errors import ErrorDumpingTree
from ..gofmt import float_syntax, format_g
from ..tree import Branch, Comment, Time, days_in_month

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any, Union

    _Container = Union[Branch, list]  # type: ignore[type-arg]

__all__ = ["emit_documents", "emit_value", "resolves_to_str", "scalar_style"]

# Scalar styles.
PLAIN = 0
SINGLE = 1  # single-quoted, rendered text has no line break
DOUBLE = 2
LITERAL = 3
SINGLE_BREAKS = 4  # single-quoted text containing U+2028/U+2029 (written line by line)

#: (style, text, tag, multiline, simple_key_length)
#: For PLAIN/SINGLE/DOUBLE ``text`` is the rendered form (quotes included); for LITERAL and
#: SINGLE_BREAKS it is the raw value.
ScalarInfo = tuple[int, str, str, bool, int]

# --------------------------------------------------------------------------------------------------
# yaml.v3 resolve(): does a plain scalar read back as a string?
# --------------------------------------------------------------------------------------------------

_RESOLVE_MAP_NON_STR = frozenset(
    [
        "true", "True", "TRUE", "false", "False", "FALSE",
        "", "~", "null", "Null", "NULL",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
        "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    ]
)
# First characters that make resolve() look further ("hint" in yaml.v3); anything else is a string.
_HINT_CHARS = frozenset("+-0123456789yYnNtTfFoO~.")
_SIGN_DIGIT = frozenset("+-0123456789")

_OLD_BOOLS = frozenset(
    ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]
)


def _has_break(s: str) -> bool:
    return "\n" in s or "\r" in s or not s.isascii() and ("\x85" in s or "\u2028" in s or "\u2029" in s)


class _Patterns:
    """The emitter's rarely needed regexes, compiled on first use: compiling them all at import
    would cost every start-up a few milliseconds."""

    def __init__(self) -> None:
        import re

        # Go strconv.ParseInt(s, 0, 64) syntax after underscores were removed.
        self.go_int = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
        self.go_uint = re.compile(r"(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
        # yaml.v3 base60float (YAML 1.1 sexagesimal), quoted on output for compatibility.
        self.base60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
        # The formats yaml.v3 tries with Go's time.Parse (1-2 digit month/day/hour/minute/second).
        self.ts_date = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
        self.ts_time = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?")
        self.ts_zone = re.compile(r"Z|[+-][0-9]{2}:[0-9]{2}")
        self.bin_digits = re.compile(r"[-+]?[01]+")
        self.oct_digits = re.compile(r"[-+]?[0-7]+")
        self.breaks = re.compile("[\r\n\x85\u2028\u2029]")
        self.break_space = re.compile("[\r\n\x85\u2028\u2029] ")
        self.space_break = re.compile(" [\r\n\x85\u2028\u2029]")
        self.colon_ind = re.compile(r":(?:[ \t]|\Z)")
        self.hash_ind = re.compile("[ \t\r\n\x85\u2028\u2029\x00]#")
        self.break_split = re.compile("([\r\n\x85\u2028\u2029])")
        # characters the emitter does not consider printable (tab is counted separately)
        self.nonprint = re.compile("[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
        # what a double-quoted scalar escapes
        self.dq_escape = re.compile('[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]|["\\\\\u2028\u2029]')


_PATTERNS: list[_Patterns] = []  # the compiled patterns, once needed (a cache, like re's own)


def _rx() -> _Patterns:
    if not _PATTERNS:
        _PATTERNS.append(_Patterns())
    return _PATTERNS[0]


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1


def _is_timestamp(s: str) -> bool:
    """yaml.v3 parseTimestamp: the date-only, RFC 3339 (``T``/``t``) and space-separated forms."""
    if len(s) < 8 or s[4] != "-" or not (s[:4].isdigit() and s[:4].isascii()):
        return False  # not even the date's year (the common case, decided without a regex)
    if len(s) == 20 and s[7] == "-" and s[10] in "Tt" and s[13] == ":" and s[16] == ":" and s[19] == "Z":
        # YYYY-MM-DDTHH:MM:SSZ, the form sops writes (lastmodified): no regex needed either
        fields = s[5:7] + s[8:10] + s[11:13] + s[14:16] + s[17:19]
        if fields.isdigit() and fields.isascii():
            year, month, day = int(s[:4]), int(s[5:7]), int(s[8:10])
            return (1 <= month <= 12 and 1 <= day <= days_in_month(month, year) and int(s[11:13]) <= 23
                    and int(s[14:16]) <= 59 and int(s[17:19]) <= 59)
    m = _rx().ts_date.match(s)
    if m is None:
        return False
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12 or not 1 <= day <= days_in_month(month, year):
        return False
    rest = s[m.end():]
    if not rest:
        return True
    sep = rest[0]
    if sep not in "Tt ":
        return False
    t = _rx().ts_time.match(rest, 1)
    if t is None:
        return False
    hour, minute, sec = int(t.group(1)), int(t.group(2)), int(t.group(3))
    if hour > 23 or minute > 59 or sec > 59:
        return False
    tail = rest[t.end():]
    if sep == " ":
        return not tail
    z = _rx().ts_zone.fullmatch(tail)
    if z is None:
        return False
    if tail != "Z" and (int(tail[1:3]) > 24 or int(tail[4:6]) > 60):
        return False
    return True


_INT_CHARS = "+-0123456789abcdefABCDEFxXoO"


def _go_parse_int(plain: str) -> bool:
    """strconv.ParseInt(plain, 0, 64) succeeds, or else ParseUint(plain, 0, 64) does."""
    if plain.strip(_INT_CHARS):
        return False  # a character no integer syntax has (the common case, decided without a regex)
    if _rx().go_int.fullmatch(plain) is None:
        return False
    neg = plain[0] == "-"
    body = plain[1:] if plain[0] in "+-" else plain
    low = body[:2].lower()
    if low == "0x":
        v = int(body[2:], 16)
    elif low == "0o":
        v = int(body[2:], 8)
    elif low == "0b":
        v = int(body[2:], 2)
    elif len(body) > 1 and body[0] == "0":
        v = int(body, 8)
    else:
        v = int(body)
    if neg:
        v = -v
    if _INT64_MIN <= v <= _INT64_MAX:
        return True
    # ParseUint: no sign allowed.
    return plain[0] not in "+-" and 0 <= v <= _UINT64_MAX




def _go_parse_base(digits: str, base: int, allow_uint: bool) -> bool:
    """strconv.ParseInt(digits, base, 64) (sign allowed), or ParseUint when allow_uint."""
    rx = _rx().bin_digits if base == 2 else _rx().oct_digits
    if rx.fullmatch(digits) is None:
        return False
    v = int(digits.lstrip("+-"), base)
    if digits[0] == "-":
        v = -v
    if _INT64_MIN <= v <= _INT64_MAX:
        return True
    return allow_uint and digits[0] not in "+-" and v <= _UINT64_MAX


def _parse_float_ok(text: str) -> bool:
    """Go strconv.ParseFloat of already syntax-checked decimal text: fails only on overflow."""
    try:
        return not math.isinf(float(text))
    except (ValueError, OverflowError):
        return False


def resolves_to_str(s: str) -> bool:
    """True when yaml.v3's ``resolve("", s)`` yields ``!!str`` (so a plain scalar reads back as s)."""
    if not s:
        return False
    c = s[0]
    if c not in _HINT_CHARS:
        return True
    if s in _RESOLVE_MAP_NON_STR:
        return False
    if c == ".":
        return not (float_syntax(s) and _parse_float_ok(s))
    if c not in _SIGN_DIGIT:
        return True  # yYnNtTfFoO~ not in the map
    # Int, float or timestamp.
    if _is_timestamp(s):
        return False
    plain = s.replace("_", "")
    if not plain:
        return True
    if _go_parse_int(plain):
        return False
    if float_syntax(plain) and _parse_float_ok(plain):
        return False
    if plain.startswith("0b"):
        if _go_parse_base(plain[2:], 2, True):
            return False
    elif plain.startswith("-0b"):
        if _go_parse_base("-" + plain[3:], 2, False):
            return False
    if plain.startswith("0o"):
        if _go_parse_base(plain[2:], 8, True):
            return False
    elif plain.startswith("-0o"):
        if _go_parse_base("-" + plain[3:], 8, False):
            return False
    return True


def _can_use_plain(s: str) -> bool:
    """encoder.stringv: plain is requested when the text resolves to a string and is neither a
    YAML 1.1 bool nor a base-60 float."""
    if not resolves_to_str(s):
        return False
    if s in _OLD_BOOLS:
        return False
    if s[0] in _SIGN_DIGIT and ":" in s and _rx().base60.fullmatch(s) is not None:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Emitter scalar analysis (yaml_emitter_analyze_scalar) and style choice
# --------------------------------------------------------------------------------------------------

_BREAK_CHARS = "\r\n\x85\u2028\u2029"
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
# Text that is certainly allowed plain in block context: no indicator first, no blanks or special
# characters at all, and colons only before another such character (as in every ENC[...] value).
# Tested with str.strip: no regex needed, and faster than one.
_SAFE_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/.(<=^$;\\+~")
_SAFE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/.()<>=^$;\\+~-,[]{}!%@&*|'\"`?:"


def _safe_plain(s: str) -> bool:
    return s[:1] in _SAFE_FIRST and not s.strip(_SAFE_CHARS) and s[-1] != ":"


def _analyze(s: str) -> tuple[bool, bool, bool, bool]:
    """(block_plain_allowed, single_quoted_allowed, block_allowed, multiline) for non-empty s."""
    if s.isascii() and (s.isprintable() or s.replace("\n", " ").isprintable()):
        # the common case, without regexes: printable ASCII, maybe with line feeds
        line_breaks = "\n" in s
        special = tab = False
        break_space = line_breaks and "\n " in s
        space_break = line_breaks and " \n" in s
        colon_or_hash = s.find(": ", 1) >= 0 or len(s) > 1 and s[-1] == ":" or " #" in s or "\n#" in s
    else:
        rx = _rx()
        line_breaks = rx.breaks.search(s) is not None
        special = rx.nonprint.search(s) is not None
        tab = "\t" in s
        break_space = line_breaks and rx.break_space.search(s) is not None
        space_break = line_breaks and rx.space_break.search(s) is not None
        colon_or_hash = rx.colon_ind.search(s, 1) is not None or rx.hash_ind.search(s) is not None
    first = s[0]
    last = s[-1]
    leading = first == " " or first in _BREAK_CHARS
    trailing_space = last == " "
    trailing = trailing_space or last in _BREAK_CHARS
    block_ind = False
    if s.startswith("---") or s.startswith("..."):
        block_ind = True
    elif first in _FIRST_INDICATORS:
        block_ind = True
    elif first in "?:-":
        if len(s) == 1 or s[1] in " \t":
            block_ind = True
    if colon_or_hash:
        block_ind = True
    block_plain = not (
        leading or trailing or break_space or space_break or tab or special or line_breaks or block_ind
    )
    single = not (break_space or space_break or tab or special)
    block = not (trailing_space or space_break or special)
    return block_plain, single, block, line_breaks


_DQ_NAMED = {
    "\x00": "\\0", "\x07": "\\a", "\x08": "\\b", "\t": "\\t", "\n": "\\n", "\x0b": "\\v",
    "\x0c": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N",
    "\xa0": "\\_", "\u2028": "\\L", "\u2029": "\\P",
}

def _dq_escape_char(c: str) -> str:
    named = _DQ_NAMED.get(c)
    if named is not None:
        return named
    v = ord(c)
    if v <= 0xFF:
        return f"\\x{v:02X}"
    if v <= 0xFFFF:
        return f"\\u{v:04X}"
    return f"\\U{v:08X}"


def _double_quoted(s: str) -> str:
    if s.startswith("\ufeff"):
        # The Go writer's BOM test looks at the start of the value for every character.
        return '"' + "".join(_dq_escape_char(c) for c in s) + '"'
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s or _rx().dq_escape.search(s) is None:
        return '"' + s + '"'
    return '"' + _rx().dq_escape.sub(lambda m: _dq_escape_char(m.group()), s) + '"'


def _utf8_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _str_info(s: str, tag: str = "") -> ScalarInfo:
    """Style and rendering of a string leaf as sops writes it (Node.Encode then the emitter)."""
    if (
        not tag
        and _safe_plain(s)
        and not s.startswith("...")
        and (s[0] not in _HINT_CHARS or _can_use_plain(s))
    ):
        return (PLAIN, s, "", False, _utf8_len(s))
    if "\n" in s:
        style = LITERAL
    elif tag or _can_use_plain(s):
        style = PLAIN
    else:
        style = DOUBLE
    if s:
        block_plain, single_ok, block_ok, multiline = _analyze(s)
    else:
        block_plain, single_ok, block_ok, multiline = True, True, False, False
    if style == PLAIN and not block_plain:
        style = SINGLE
    if style == SINGLE and not single_ok:
        style = DOUBLE
    if style == LITERAL and not block_ok:
        style = DOUBLE
    key_len = len(tag) + _utf8_len(s)
    if style == PLAIN:
        return (PLAIN, s, tag, multiline, key_len)
    if style == SINGLE:
        if multiline:
            return (SINGLE_BREAKS, s, tag, True, key_len)
        return (SINGLE, "'" + s.replace("'", "''") + "'", tag, multiline, key_len)
    if style == DOUBLE:
        return (DOUBLE, _double_quoted(s), tag, multiline, key_len)
    if s[0] == "\t":
        # Node.Encode re-parses what it emitted; a literal block whose first line starts with a tab
        # does not parse ("found a tab character where an indentation space is expected"). sops
        # ignores the error and the zero node goes out as null (or fails, see _FAILED).
        return _FAILED
    return (LITERAL, s, tag, multiline, key_len)


def scalar_style(s: str) -> str:
    """The style sops writes string s in: 'plain', 'single', 'double', 'literal', or 'null' when
    yaml.v3 cannot round-trip it (a multi-line string starting with a tab)."""
    info = _str_info(s)
    if info is _FAILED:
        return "null"
    names = {PLAIN: "plain", SINGLE: "single", SINGLE_BREAKS: "single", DOUBLE: "double", LITERAL: "literal"}
    return names[info[0]]


def _binary_info(b: bytes) -> ScalarInfo:
    """Invalid UTF-8 goes out as ``!!binary``: base64 broken into 70-column lines when long."""
    enc = binascii.b2a_base64(b, newline=False).decode("ascii")
    if len(enc) >= 70:
        enc = "".join(enc[i:i + 70] + "\n" for i in range(0, len(enc), 70))
    return _str_info(enc, "!!binary")


_TRUE: ScalarInfo = (PLAIN, "true", "", False, 4)
_FALSE: ScalarInfo = (PLAIN, "false", "", False, 5)
_NULL: ScalarInfo = (PLAIN, "null", "", False, 4)
_MERGE: ScalarInfo = (PLAIN, "<<", "!!merge", False, 9)
#: A leaf whose Node.Encode failed: the zero node is written as null, unless sops attached a head or
#: foot comment to it (a key or sequence item after/before comments): then the Go encoder fails with
#: "cannot encode node with unknown kind 0".
_FAILED: ScalarInfo = (PLAIN, "null", "", False, 4)
_UNKNOWN_KIND = "yaml: cannot encode node with unknown kind 0"


def _float_text(f: float) -> str:
    if math.isnan(f):
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    return format_g(f)


# --------------------------------------------------------------------------------------------------
# The emitter
# --------------------------------------------------------------------------------------------------

def _join_comments(values: list[str]) -> str:
    return "#" + "\n#".join(values)


class _Emitter:
    """Emulates the parts of yaml.v3's emitter state that shape sops's output."""

    __slots__ = (
        "out", "col", "ind", "ws", "indention", "foot_ind", "head", "foot", "tail", "line", "key_line", "bi", "cache",
    )

    def __init__(self, best_indent: int) -> None:
        self.out: list[str] = []
        self.col = 0
        self.ind = -1
        self.ws = True
        self.indention = True
        self.foot_ind = -1
        self.head = ""
        self.foot = ""
        self.tail = ""
        # yaml.v3's line_comment and key_line_comment slots: sops 3.13 puts an inline comment on the
        # node of the value after it; a container's line comment waits for the next place the emitter
        # writes one, as Go's does
        self.line = ""
        self.key_line = ""
        self.bi = best_indent
        self.cache: dict[str, ScalarInfo] = {}

    # ---- primitives ------------------------------------------------------------------------------

    def put_break(self) -> None:
        self.out.append("\n")
        self.col = 0
        self.indention = True

    def write_indent(self) -> None:
        i = self.ind if self.ind > 0 else 0
        out = self.out
        if not self.indention or self.col > i or (self.col == i and not self.ws):
            out.append("\n")
            self.col = 0
            self.indention = True
        if self.foot_ind == i:
            out.append("\n")
            self.col = 0
            self.indention = True
        if self.col < i:
            out.append(" " * (i - self.col))
            self.col = i
        self.ws = True
        self.foot_ind = -1

    def indicator(self, text: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.ws:
            self.out.append(" ")
            self.col += 1
        self.out.append(text)
        self.col += len(text)
        self.ws = is_ws
        self.indention = self.indention and is_indention

    def write_comment(self, comment: str) -> None:
        out = self.out
        if comment[0] == "#" and not _has_break(comment):
            out.append(comment)
            out.append("\n")
            self.col = 0
            self.indention = True
            self.ws = True
            return
        breaks = False
        pound = False
        for part in _rx().break_split.split(comment):
            if not part:
                continue
            if part in _BREAK_CHARS:
                out.append(part)
                self.col = 0
                self.indention = True
                breaks = True
                pound = False
                continue
            if breaks:
                self.write_indent()
            if not pound:
                if part[0] != "#":
                    out.append("# ")
                    self.col += 2
                pound = True
            out.append(part)
            self.col += len(part)
            self.indention = False
            breaks = False
        if not breaks:
            self.put_break()
        self.ws = True

    def process_head(self) -> None:
        if self.tail:
            self.write_indent()
            self.write_comment(self.tail)
            self.tail = ""
            self.foot_ind = self.ind if self.ind > 0 else 0
        if self.head:
            self.write_indent()
            self.write_comment(self.head)
            self.head = ""

    def process_line(self) -> None:
        """yaml_emitter_process_line_comment: the pending line comment after what was just written."""
        if self.line:
            if not self.ws:
                self.out.append(" ")
                self.col += 1
            self.write_comment(self.line)
            self.line = ""

    def process_foot(self) -> None:
        if self.foot:
            self.write_indent()
            self.write_comment(self.foot)
            self.foot = ""
            self.foot_ind = self.ind if self.ind > 0 else 0

    def _increase(self, flow: bool, top_seq: bool) -> None:
        ind = self.ind
        if ind < 0:
            self.ind = self.bi if flow else 0
        elif top_seq:
            self.ind = ind + 2
        else:
            bi = self.bi
            self.ind = bi * ((ind + bi) // bi)

    # ---- scalars ---------------------------------------------------------------------------------

    def info(self, v: Any) -> ScalarInfo:
        if isinstance(v, str):
            r = self.cache.get(v)
            if r is None:
                r = _MERGE if v == "<<" else _str_info(v)
                if len(v) <= 128:
                    self.cache[v] = r
            return r
        if v is None:
            return _NULL
        if v is True:
            return _TRUE
        if v is False:
            return _FALSE
        if isinstance(v, int):
            t = str(v)
            return (PLAIN, t, "", False, len(t))
        if isinstance(v, float):
            t = _float_text(v)
            return (PLAIN, t, "", False, len(t))
        if isinstance(v, Time):
            return (PLAIN, v.text, "", False, len(v.text))
        if isinstance(v, (bytes, bytearray)):
            try:
                return self.info(bytes(v).decode("utf-8"))
            except UnicodeDecodeError:
                return _binary_info(bytes(v))
        raise TypeError(f"cannot emit value of type {type(v).__name__} as YAML")

    def scalar(self, info: ScalarInfo, top_seq: bool) -> None:
        style, text, tag = info[0], info[1], info[2]
        out = self.out
        if tag:
            if not self.ws:
                out.append(" ")
                self.col += 1
            out.append(tag)
            self.col += len(tag)
            self.ws = False
            self.indention = False
        if style <= DOUBLE:
            # Plain and quoted scalars are written on one line (the best width is unlimited).
            if self.ws:
                out.append(text)
                self.col += len(text)
            else:
                out.append(" ")
                out.append(text)
                self.col += len(text) + 1
            self.ws = False
            self.indention = False
            return
        saved = self.ind
        self._increase(True, top_seq)
        if style == LITERAL:
            self._literal(text)
        else:
            self._single_breaks(text)
        self.ind = saved

    def _literal(self, value: str) -> None:
        hint = ""
        if value[0] == " " or value[0] in _BREAK_CHARS:
            hint = str(self.bi)
        last = value[-1]
        if last not in _BREAK_CHARS:
            hint += "-"
        elif len(value) == 1 or value[-2] in _BREAK_CHARS:
            hint += "+"
        self.indicator("|", True, False, False)
        if hint:
            self.indicator(hint, False, False, False)
        if self.line:
            self.process_line()  # a line comment goes after the block scalar's header
        else:
            self.put_break()
        self.ws = True
        out = self.out
        pad = " " * self.ind
        if "\u2028" in value or "\u2029" in value:
            parts = _rx().break_split.split(value)
            seps = parts[1::2]
            texts = parts[0::2]
            for n, t in enumerate(texts):
                if t:
                    out.append(pad)
                    out.append(t)
                if n < len(seps):
                    out.append(seps[n])
            lastline = texts[-1]
        else:
            lines = value.split("\n")
            out.append("\n".join([pad + ln if ln else "" for ln in lines]))
            lastline = lines[-1]
        if lastline:
            self.col = self.ind + len(lastline)
            self.indention = False
        else:
            self.col = 0
            self.indention = True

    def _single_breaks(self, value: str) -> None:
        self.indicator("'", True, False, False)
        out = self.out
        breaks = False
        for part in _rx().break_split.split(value):
            if not part:
                continue
            if part in _BREAK_CHARS:
                if not breaks and part == "\n":
                    self.put_break()
                out.append(part)
                self.col = 0
                self.indention = True
                breaks = True
                continue
            if breaks:
                self.write_indent()
            t = part.replace("'", "''")
            out.append(t)
            self.col += len(t)
            self.indention = False
            breaks = False
        self.indicator("'", False, False, False)
        self.ws = False
        self.indention = False

    # ---- containers ------------------------------------------------------------------------------

    def container_start(self, node: _Container, extra_head: str) -> tuple[str, int]:
        """Head comment of a container node (leading comment items) and the index of its first
        real item (len(node) when it has none).

        sops 3.13 (appendTreeBranch/appendSequence) keeps the inline comments of that leading run
        for the first item's value; a container with no item gets them after its other comments."""
        i = 0
        n = len(node)
        if isinstance(node, Branch):
            while i < n and isinstance(node[i][0], Comment):
                i += 1
            lead = [c[0] for c in node[:i]]
        else:
            while i < n and isinstance(node[i], Comment):
                i += 1
            lead = list(node[:i])
        own = ""
        if lead:
            values = [c.value for c in lead if not c.inline]
            if i == n:
                values += [c.value for c in lead if c.inline]
            own = _join_comments(values) if values else ""
        if extra_head:
            own = extra_head + "\n" + own if own else extra_head
        return own, i

    def body(self, node: _Container, first: int, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        """The container's items; ``end_foot``/``end_line`` are its own foot and line comments,
        which yaml.v3's encoder puts on the container's END event."""
        if isinstance(node, Branch):
            if first == len(node):
                self.flow_map_end(top_seq, end_foot, end_line)
            else:
                self.map_body(node, first, top_seq, end_foot, end_line)
        else:
            if first == len(node):
                self.flow_seq_end(top_seq, end_foot, end_line)
            else:
                self.seq_body(node, first, top_seq, end_foot, end_line)

    def flow_map_end(self, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.indicator("{", True, True, False)
        saved = self.ind
        self._increase(True, top_seq)
        self.process_head()
        self.ind = saved
        self.indicator("}", False, False, False)
        self.process_line()
        self.process_foot()

    def flow_seq_end(self, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.indicator("[", True, True, False)
        # The indentation is increased and restored again; nothing is written in between.
        if self.col == 0:
            self.write_indent()
        self.indicator("]", False, False, False)
        self.process_line()
        self.process_foot()

    def map_body(self, br: Branch, first: int, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        saved = self.ind
        self._increase(False, top_seq)
        m = self.ind
        last = len(br) - 1
        while isinstance(br[last][0], Comment):
            last -= 1
        pending: list[str] = []
        # sops 3.13: inline comments become the line comment of the next value
        inline: list[str] = [item[0].value for item in br[:first] if item[0].inline]
        out = self.out
        info = self.info
        cache = self.cache
        for idx in range(first, last + 1):
            k, v = br[idx]
            if k.__class__ is Comment or isinstance(k, Comment):
                (inline if k.inline else pending).append(k.value)
                continue
            kinfo = cache.get(k) if k.__class__ is str else None
            if kinfo is None:
                kinfo = info(k)
            if pending:
                if kinfo is _FAILED:
                    raise ErrorDumpingTree(_UNKNOWN_KIND)
                self.head = _join_comments(pending)
                pending = []
            line = ""
            if inline:
                line = _join_comments(inline)
                inline = []
            # Fast path: no comments anywhere near, plain simple key, plain scalar value.
            if (
                kinfo[0] == PLAIN
                and kinfo[4] <= 128
                and not (self.head or self.tail or self.foot or kinfo[2] or line or self.line or self.key_line)
                and self.foot_ind != m
                and not isinstance(v, list)
            ):
                vinfo = cache.get(v) if v.__class__ is str else None
                if vinfo is None:
                    vinfo = info(v)
                if vinfo[0] <= DOUBLE and not vinfo[2]:
                    col = self.col
                    kt = kinfo[1]
                    vt = vinfo[1]
                    if not self.indention or col > m or (col == m and not self.ws):
                        out.append("\n" + " " * m + kt + ": " + vt)
                    elif col < m:
                        out.append(" " * (m - col) + kt + ": " + vt)
                    else:
                        out.append(kt + ": " + vt)
                    self.col = m + len(kt) + 2 + len(vt)
                    self.ws = False
                    self.indention = False
                    self.foot_ind = -1
                    continue
            if self.head or self.tail:
                self.process_head()
            self.write_indent()
            if self.line:
                # a line comment still pending when a key starts is kept for its value
                self.key_line = self.line
                self.line = ""
            if not kinfo[3] and kinfo[4] <= 128:
                self.scalar(kinfo, False)
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, True)
                self.scalar(kinfo, False)
                self.write_indent()
                self.indicator(":", True, False, True)
            self.value(v, False, "", "", line)
        # comments after the last key: sops 3.13 writes the plain ones, then the inline ones
        rest = [item[0] for item in br[last + 1:]]
        trailing = [c.value for c in rest if not c.inline] + [c.value for c in rest if c.inline]
        if trailing:
            self.tail = _join_comments(trailing)
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.process_head()
        self.ind = saved

    def seq_body(
        self, lst: list, first: int, top_seq: bool, end_foot: str, end_line: str = "",  # type: ignore[type-arg]
    ) -> None:
        saved = self.ind
        self._increase(False, top_seq)
        last = len(lst) - 1
        while isinstance(lst[last], Comment):
            last -= 1
        rest = lst[last + 1:]
        trailing_values = [c.value for c in rest if not c.inline] + [c.value for c in rest if c.inline]
        trailing = _join_comments(trailing_values) if trailing_values else ""
        pending: list[str] = []
        inline: list[str] = [c.value for c in lst[:first] if c.inline]
        for idx in range(first, last + 1):
            v = lst[idx]
            if isinstance(v, Comment):
                (inline if v.inline else pending).append(v.value)
                continue
            head = ""
            if pending:
                head = _join_comments(pending)
                pending = []
            line = ""
            if inline:
                line = _join_comments(inline)
                inline = []
            self.value(v, True, head, trailing if idx == last else "", line)
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.ind = saved

    def value(self, v: Any, in_seq: bool, head: str, foot: str, line: str = "") -> None:
        """Emit v as a mapping value (in_seq False; ':' already written) or as a sequence item
        (in_seq True) with the item's head, foot and line comments.

        A scalar's line comment follows it on its line. A container's is on its END event, so
        yaml.v3 writes it at the next place it writes line comments (after the next value)."""
        if isinstance(v, list):
            chead, first = self.container_start(v, head)
            if chead:
                self.head = chead
            if in_seq:
                if self.head or self.tail:
                    self.process_head()
                self.write_indent()
                self.indicator("-", True, False, True)
            elif self.key_line:
                # yaml_emitter_emit_block_mapping_value: a block follows, so the key's line
                # comment is written now (the START event of an empty container is block style too)
                self.line, self.key_line = self.key_line, self.line
                self.process_line()
                self.line, self.key_line = self.key_line, self.line
            self.process_line()
            if self.foot:
                self.process_foot()
            self.body(v, first, in_seq, foot, line)
            return
        info = self.info(v)
        if info is _FAILED and (head or foot or line):
            raise ErrorDumpingTree(_UNKNOWN_KIND)
        if head:
            self.head = head
        if foot:
            self.foot = foot
        if line:
            self.line = line
        if in_seq:
            if self.head or self.tail:
                self.process_head()
            self.write_indent()
            self.indicator("-", True, False, True)
        elif self.key_line and not self.line:
            self.line = self.key_line  # the scalar takes the key's line comment (else it is kept)
            self.key_line = ""
        self.scalar(info, in_seq)
        self.process_line()
        if self.foot:
            self.process_foot()

    # ---- documents -------------------------------------------------------------------------------

    def document(self, root: Any, first_doc: bool) -> None:
        if not first_doc:
            self.write_indent()
            self.indicator("---", True, False, False)
            self.write_indent()
        if self.head:
            self.process_head()
            self.put_break()
        if isinstance(root, list):
            chead, first = self.container_start(root, "")
            if chead:
                self.head = chead
            self.process_head()
            self.process_line()
            self.process_foot()
            self.body(root, first, False, "")
        else:
            info = self.info(root)
            self.process_head()
            self.scalar(info, False)
            self.process_line()
            self.process_foot()
        self.foot_ind = 0
        self.process_foot()
        self.foot_ind = -1
        self.write_indent()




def _best_indent(indent: int) -> int:
    if indent < 0:
        raise ValueError("YAML Negative indentation not accepted")
    if indent == 0:
        return 4
    if indent < 2 or indent > 9:
        return 2
    return indent


def emit_documents(branches: list[Branch], indent: int = 4) -> str:
    """The YAML text sops writes for these documents (one mapping per branch), as
    ``yaml.v3 Encoder`` with ``SetIndent(indent)`` produces it."""
    em = _Emitter(_best_indent(indent))
    try:
        for n, br in enumerate(branches):
            if not isinstance(br, Branch):
                br = Branch(br)
            em.document(br, n == 0)
    except ErrorDumpingTree as e:
        raise ErrorDumpingTree(f"Error marshaling to yaml: {e}") from None
    return "".join(em.out)


def emit_value(value: Any, indent: int = 4) -> str:
    """``yaml.Marshal`` of the node sops builds for a single value (a list, a scalar or a mapping),
    as used by ``--extract``. Note: sops's ``EmitValue`` calls ``yaml.Marshal``, which always uses
    the default indent 4 whatever ``stores.yaml.indent`` says; pass a different indent only to get
    an Encoder-with-SetIndent layout."""
    em = _Emitter(_best_indent(indent))
    em.document(value, True)
    return "".join(em.out)
