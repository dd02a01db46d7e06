"""Go's float formatting (strconv.FormatFloat and encoding/json), which sops uses for plaintext bytes,
the MAC and every store's output. Python's repr gives the same shortest round-trip digits; only the
layout differs, so each function lays those digits out the way Go does.
"""

from __future__ import annotations

import math

_DIGITS = frozenset("0123456789")


def _digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(x) and the decimal point position.

    ``0.00125`` -> ("125", -2): the value is 0.<digits> * 10**dp.
    """
    r = repr(abs(x))
    mant, _, exp = r.partition("e")
    e = int(exp) if exp else 0
    intpart, _, frac = mant.partition(".")
    digits = (intpart + frac).lstrip("0")
    lead_zeros = len(intpart + frac) - len((intpart + frac).lstrip("0"))
    dp = len(intpart) + e - lead_zeros
    digits = digits.rstrip("0")
    if not digits:
        return "0", 1
    return digits, dp


def _special(x: float) -> str | None:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return None


def _fmt_f(neg: bool, digits: str, dp: int) -> str:
    if dp <= 0:
        s = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        s = digits + "0" * (dp - len(digits))
    else:
        s = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + s


def _fmt_e(neg: bool, digits: str, dp: int, min_exp_digits: int = 2) -> str:
    exp = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return ("-" if neg else "") + mant + "e" + sign + str(abs(exp)).rjust(min_exp_digits, "0")


def format_f(x: float) -> str:
    """strconv.FormatFloat(x, 'f', -1, 64): never an exponent; 1.0 -> '1', -0.0 -> '-0'."""
    sp = _special(x)
    if sp:
        return sp
    neg = math.copysign(1.0, x) < 0
    if x == 0:
        return "-0" if neg else "0"
    digits, dp = _digits(x)
    return _fmt_f(neg, digits, dp)


def format_g(x: float) -> str:
    """strconv.FormatFloat(x, 'g', -1, 64): for the shortest form Go uses an exponent iff the decimal
    exponent is < -4 or >= 6 (1.2345675e+06, 1e-05), with a sign and at least two exponent digits."""
    sp = _special(x)
    if sp:
        return sp
    neg = math.copysign(1.0, x) < 0
    if x == 0:
        return "-0" if neg else "0"
    digits, dp = _digits(x)
    exp = dp - 1
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, digits, dp)
    return _fmt_f(neg, digits, dp)


def format_json_float(x: float) -> str:
    """encoding/json float64 output: 'f' unless |x| < 1e-6 or >= 1e21, then 'e' with the exponent's
    leading zero removed (1e-07 -> 1e-7). NaN and Inf cannot be written (ValueError)."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"json: unsupported value: {format_f(x)}")
    neg = math.copysign(1.0, x) < 0
    if x == 0:
        return "-0" if neg else "0"
    a = abs(x)
    digits, dp = _digits(x)
    if a < 1e-6 or a >= 1e21:
        return _fmt_e(neg, digits, dp, min_exp_digits=1)
    return _fmt_f(neg, digits, dp)


def format_upper_g(x: float) -> str:
    """strconv.FormatFloat(x, 'G', -1, 64), used by the dotenv store for non-string values."""
    return format_g(x).upper().replace("INF", "Inf").replace("NAN", "NaN")


def _digits_end(s: str, i: int) -> int:
    n = len(s)
    while i < n and s[i] in _DIGITS:
        i += 1
    return i


def float_syntax(s: str) -> bool:
    """``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?``: the decimal syntax Go's ParseFloat
    takes (ASCII digits only), which is also yaml.v3's float pattern. Checked by hand: no regex at
    start-up."""
    i = 1 if s[:1] == "-" or s[:1] == "+" else 0
    j = _digits_end(s, i)
    if j == i:
        if s[i:i + 1] != ".":
            return False
        j = _digits_end(s, i + 1)
        if j == i + 1:
            return False
    elif s[j:j + 1] == ".":
        j = _digits_end(s, j + 1)
    if s[j:j + 1] in ("e", "E"):
        k = j + 2 if s[j + 1:j + 2] in ("-", "+") else j + 1
        j = _digits_end(s, k)
        if j == k:
            return False
    return j == len(s)
