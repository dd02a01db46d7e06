"""The style and rendering of one YAML leaf, as sops' ``Node.Encode`` and yaml.v3's emitter choose them.

The scalar style of a leaf is a pure function of its text (``Node.Encode`` fixes it once: literal
for text with a newline, plain when the text would read back as a string and the emitter's scalar
analysis allows it, otherwise single or double quotes), so the emitter computes a
:data:`ScalarInfo` once per distinct text and caches it. This module holds that analysis
(``yaml_emitter_analyze_scalar``), the quoting, and the fixed infos of non-string leaves.
"""

from __future__ import annotations

import binascii
import math

from ..gofmt import format_g
from .yaml_emit_patterns import regexes
from .yaml_emit_resolve import HINT_CHARS, can_use_plain

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


BREAK_CHARS = "\r\n\x85\u2028\u2029"
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
        rx = regexes()
        line_breaks = rx.breaks.search(s) is not None
        special = rx.nonprint.search(s) is not None
        tab = "\t" in s
        break_space = line_breaks and rx.break_space.search(s) is not None
        space_break = line_breaks and rx.space_break.search(s) is not None
        colon_or_hash = rx.colon_ind.search(s, 1) is not None or rx.hash_ind.search(s) is not None
    first = s[0]
    last = s[-1]
    leading = first == " " or first in BREAK_CHARS
    trailing_space = last == " "
    trailing = trailing_space or last in BREAK_CHARS
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
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    dq_escape = regexes().dq_escape
    if dq_escape.search(s) is None:
        return '"' + s + '"'
    return '"' + dq_escape.sub(lambda m: _dq_escape_char(m.group()), s) + '"'


def _utf8_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def str_info(s: str, tag: str = "") -> ScalarInfo:
    """Style and rendering of a string leaf as sops writes it (Node.Encode then the emitter)."""
    if (
        not tag
        and _safe_plain(s)
        and not s.startswith("...")
        and (s[0] not in HINT_CHARS or can_use_plain(s))
    ):
        return (PLAIN, s, "", False, _utf8_len(s))
    if "\n" in s:
        style = LITERAL
    elif tag or can_use_plain(s):
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
        # ignores the error and the zero node goes out as null (or fails, see FAILED).
        return FAILED
    return (LITERAL, s, tag, multiline, key_len)


def scalar_style(s: str) -> str:
    """The style sops writes string s in: 'plain', 'single', 'double', 'literal', or 'null' when
    yaml.v3 cannot round-trip it (a multi-line string starting with a tab)."""
    info = str_info(s)
    if info is FAILED:
        return "null"
    names = {PLAIN: "plain", SINGLE: "single", SINGLE_BREAKS: "single", DOUBLE: "double", LITERAL: "literal"}
    return names[info[0]]


def binary_info(b: bytes) -> ScalarInfo:
    """Invalid UTF-8 goes out as ``!!binary``: base64 broken into 70-column lines when long."""
    enc = binascii.b2a_base64(b, newline=False).decode("ascii")
    if len(enc) >= 70:
        enc = "".join(enc[i:i + 70] + "\n" for i in range(0, len(enc), 70))
    return str_info(enc, "!!binary")


TRUE_INFO: ScalarInfo = (PLAIN, "true", "", False, 4)
FALSE_INFO: ScalarInfo = (PLAIN, "false", "", False, 5)
NULL_INFO: ScalarInfo = (PLAIN, "null", "", False, 4)
MERGE_INFO: ScalarInfo = (PLAIN, "<<", "!!merge", False, 9)
#: A leaf whose Node.Encode failed: the zero node is written as null, unless sops attached a head or
#: foot comment to it (a key or sequence item after/before comments): then the Go encoder fails with
#: "cannot encode node with unknown kind 0".
FAILED: ScalarInfo = (PLAIN, "null", "", False, 4)
UNKNOWN_KIND = "yaml: cannot encode node with unknown kind 0"


def float_text(f: float) -> str:
    if math.isnan(f):
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    return format_g(f)
