"""yaml.v3's ``resolve()`` as the YAML emitter needs it: does a plain scalar read back as a string?

sops writes a string leaf plain only when go-yaml would read that plain text back as the same
string (not as a bool, null, number, timestamp, YAML 1.1 bool or base-60 float); otherwise it is
quoted. This is the emitter's side of that question, answered without building values (the loader's
full typing is in ``yaml_resolve``), with a regex-free path for the common cases.
"""

from __future__ import annotations

import math

from ..gofmt import float_syntax
from ..tree import days_in_month
from .yaml_emit_patterns import regexes

_RESOLVE_MAP_NON_STR = frozenset(
    [
        "true", "True", "TRUE", "false", "False", "FALSE",
        "", "~", "null", "Null", "NULL",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
        "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    ]
)
# First characters that make resolve() look further ("hint" in yaml.v3); anything else is a string.
HINT_CHARS = frozenset("+-0123456789yYnNtTfFoO~.")
_SIGN_DIGIT = frozenset("+-0123456789")

_OLD_BOOLS = frozenset(
    ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]
)


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
    m = regexes().ts_date.match(s)
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
    t = regexes().ts_time.match(rest, 1)
    if t is None:
        return False
    hour, minute, sec = int(t.group(1)), int(t.group(2)), int(t.group(3))
    if hour > 23 or minute > 59 or sec > 59:
        return False
    tail = rest[t.end():]
    if sep == " ":
        return not tail
    z = regexes().ts_zone.fullmatch(tail)
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
    if regexes().go_int.fullmatch(plain) is None:
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
    rx = regexes().bin_digits if base == 2 else regexes().oct_digits
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
    if c not in HINT_CHARS:
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


def can_use_plain(s: str) -> bool:
    """encoder.stringv: plain is requested when the text resolves to a string and is neither a
    YAML 1.1 bool nor a base-60 float."""
    if not resolves_to_str(s):
        return False
    if s in _OLD_BOOLS:
        return False
    if s[0] in _SIGN_DIGIT and ":" in s and regexes().base60.fullmatch(s) is not None:
        return False
    return True
