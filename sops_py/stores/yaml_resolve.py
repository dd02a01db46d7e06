"""Plain-scalar typing exactly as go.yaml.in/yaml/v3 resolves into interface{} (what sops sees).

yes/no/on/off stay strings, ``017`` is octal, ``08`` a float, ``1_000`` an int, dates become
timestamps, integers past int64 become uint64 (which sops cannot encrypt), past that floats.
"""

from __future__ import annotations

import binascii
import math

from ..gofmt import float_syntax
from ..tree import Time, days_in_month
from ..walk import GoUint64

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    import re
    from typing import Any

_MAP: dict[str, Any] = {}
for _v, _words in (
    (True, ("true", "True", "TRUE")),
    (False, ("false", "False", "FALSE")),
    (None, ("", "~", "null", "Null", "NULL")),
    (math.nan, (".nan", ".NaN", ".NAN")),
    (math.inf, (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")),
    (-math.inf, ("-.inf", "-.Inf", "-.INF")),
):
    for _w in _words:
        _MAP[_w] = _v
MERGE = "<<"
RESOLVE_FIRST = frozenset("0123456789+-.~nNtTfF")  # a plain scalar starting otherwise is a string

_TS_PATTERN = (
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:([Tt])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2}))"
    r"|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?))?$"
)


def _timestamp_re() -> re.Pattern[str]:
    import re  # timestamps are rare: `re` costs ms at start-up (re.compile keeps the compiled pattern)

    return re.compile(_TS_PATTERN, re.ASCII)


_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


def _go_parse_int_base0(s: str) -> int | None:
    """strconv.ParseInt(s, 0, 64) without range checks (None on syntax error)."""
    body = s
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    base = 10
    low = body[:2].lower()
    if low == "0x":
        base, body = 16, body[2:]
    elif low == "0o":
        base, body = 8, body[2:]
    elif low == "0b":
        base, body = 2, body[2:]
    elif body[0] == "0" and len(body) > 1:
        base, body = 8, body[1:]
    if not body or not all(c in "0123456789abcdefABCDEF"[: base if base <= 10 else 22] for c in body):
        return None
    try:
        return sign * int(body, base)
    except ValueError:
        return None


def _int_result(v: int) -> Any:
    if _INT64_MIN <= v <= _INT64_MAX:
        return v
    if 0 <= v <= _UINT64_MAX:
        return GoUint64(v)
    return None


def parse_timestamp(s: str) -> Time | None:
    """yaml.v3's parseTimestamp: RFC 3339 with short fields, space-separated without zone, or a date."""
    m = _timestamp_re().match(s)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= days_in_month(mo, y)):
        return None
    if m.group(4):
        h, mi, sec, frac, zone = int(m.group(5)), int(m.group(6)), int(m.group(7)), m.group(8), m.group(9)
    elif m.group(10):
        h, mi, sec, frac, zone = int(m.group(10)), int(m.group(11)), int(m.group(12)), m.group(13), "Z"
    else:
        h = mi = sec = 0
        frac, zone = None, "Z"
    if h > 23 or mi > 59 or sec > 59:
        return None
    if frac is not None and len(frac) > 9:
        return None
    nanos = int((frac or "").ljust(9, "0")) if frac else 0
    if zone == "Z":
        off = 0
    else:
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            return None
        off = (oh * 60 + om) * (1 if zone[0] == "+" else -1)
    return Time.from_parts(y, mo, d, h, mi, sec, nanos, off)


def _go_parse_float(s: str) -> float | None:
    if not float_syntax(s):
        return None
    v = float(s)
    if math.isinf(v):
        return None  # Go reports ErrRange; yaml.v3 then keeps the string
    return v


def resolve_plain(s: str) -> Any:
    """The interface{} value yaml.v3 gives a plain (unquoted, untagged) scalar."""
    if s in _MAP:
        return _MAP[s]
    c = s[:1]
    if c == ".":
        f = _go_parse_float(s)
        return s if f is None else f
    if c and (c in "+-" or c.isdigit()) and c.isascii():
        if c.isdigit() and len(s) > 4 and s[4] == "-":
            t = parse_timestamp(s)
            if t is not None:
                return t
        plain = s.replace("_", "")
        iv = _go_parse_int_base0(plain)
        if iv is not None:
            r = _int_result(iv)
            if r is not None:
                return r
        if float_syntax(plain):
            f = _go_parse_float(plain)
            if f is not None:
                return f
        for prefix, base in (("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)):
            if plain.startswith(prefix):
                digits = plain[len(prefix):]
                try:
                    v = int(digits, base) * (-1 if prefix[0] == "-" else 1)
                except ValueError:
                    break
                r = _int_result(v)
                if r is not None:
                    return r
                break
    return s


STR_TAG = "tag:yaml.org,2002:str"
_TAGS = {
    "tag:yaml.org,2002:int": "int", "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool", "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "timestamp", "tag:yaml.org,2002:binary": "binary",
    "tag:yaml.org,2002:merge": "merge",
}


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, Time):
        return "timestamp"
    return "str"


class ScalarDecodeError(ValueError):
    """yaml.v3 cannot decode a tagged scalar (sops' pre-pass fails on it in the first document;
    in later documents the value silently becomes null)."""


def resolve_tagged(tag: str, s: str) -> Any:
    """A scalar with an explicit tag. Unknown (custom) tags keep the text, as yaml.v3 does."""
    if tag == "!":
        return resolve_plain(s)
    if tag == STR_TAG:
        return s
    want = _TAGS.get(tag)
    if want is None:
        return s
    if want == "binary":
        try:
            import base64  # only !!binary needs it

            raw = base64.b64decode("".join(s.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ScalarDecodeError("!!binary value contains invalid base64 data") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if want == "merge":
        return s
    if want == "timestamp":
        t = parse_timestamp(s)
        if t is not None:
            return t
    v = resolve_plain(s)
    got = _kind(v)
    if got == want:
        return v
    if want == "float" and got == "int":
        return float(v)
    raise ScalarDecodeError(f"cannot decode !!{got} `{s}` as a !!{want}")
