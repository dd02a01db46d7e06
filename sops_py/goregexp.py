"""Go ``regexp`` (RE2 syntax) patterns evaluated with Python's ``re``.

sops matches its crypt-rule regexes with ``regexp.Match(pattern, key)``, which discards the compile error:
an invalid pattern simply never matches. ``search`` does the same here. The pattern is translated so that
Python reads it the way Go does:

* ``$`` (without ``m``) is the end of the text (Python's ``$`` also matches before a final newline); ``\\z``;
* ``\\d \\s \\w \\b`` and POSIX ``[[:name:]]`` classes are ASCII, as in RE2;
* flags in the middle of a group (``a(?i)b``), the ``U`` (ungreedy) flag, ``(?<name>…)``, ``\\Q…\\E``,
  ``\\x{…}``, octal escapes, and ``\\pL``/``\\p{Lu}`` general categories are supported;
* what RE2 rejects (back-references, look-around, possessive or nested repetition, unknown escapes,
  repeat counts over 1000) makes the pattern invalid, even where Python would accept it.

Unicode script classes (``\\p{Greek}``) have no Python equivalent: such a pattern never matches, with a warning.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
import warnings

from . import log

_MAX_REPEAT = 1000
_WORD = "0-9A-Za-z_"
_PERL = {"d": "0-9", "s": "\\t\\n\\f\\r ", "w": _WORD}
_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": _WORD,
    "xdigit": "0-9A-Fa-f",
}
_CATEGORIES = {"C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd",
               "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl",
               "Zp", "Zs"}
_REPEAT = re.compile(r"(\d+)(,(\d*))?\}")
_FLAGS = re.compile(r"([imsU]*)(?:(-)([imsU]*))?([:)])")
_NAME = re.compile(r"P?<([A-Za-z0-9_]+)>")
_BOUNDARY = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_NON_BOUNDARY = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"


class InvalidPattern(ValueError):
    """RE2 rejects the pattern."""


class UnsupportedPattern(ValueError):
    """A valid RE2 pattern Python's ``re`` cannot express."""


def search(pattern: str, text: str) -> bool:
    """Go's ``regexp.MatchString(pattern, text)`` with the error ignored (an invalid pattern never matches)."""
    compiled = compile_go(pattern)
    return compiled is not None and compiled.search(text) is not None


@functools.lru_cache(maxsize=256)
def compile_go(pattern: str) -> re.Pattern[str] | None:
    """The Python equivalent of a Go regexp, or None when Go (or this translation) cannot compile it."""
    try:
        translated = translate(pattern)
    except InvalidPattern:
        return None
    except UnsupportedPattern as e:
        log.warning("Cannot evaluate the regular expression %r (%s); it is treated as matching nothing.",
                    pattern, e)
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(translated)
    except (re.error, OverflowError, RecursionError):
        return None


def translate(pattern: str) -> str:
    """Rewrite an RE2 pattern as a Python pattern; raises InvalidPattern or UnsupportedPattern."""
    return _Translator(pattern).run()


def _cat_ranges(name: str) -> str:
    """A class body for a Unicode general category (one or two letters) or ``Any``."""
    if name == "Any":
        return "\\x00-\\U0010ffff"
    if name not in _CATEGORIES:
        raise UnsupportedPattern(f"Unicode class {name!r} is not a general category")
    return _category_body(name)


@functools.lru_cache(maxsize=None)
def _category_body(name: str) -> str:
    parts: list[str] = []
    start = -1
    for cp in range(sys.maxunicode + 2):
        cat = unicodedata.category(chr(cp)) if cp <= sys.maxunicode else ""
        inside = cat.startswith(name) and cat != "Cn"  # Go has no table for unassigned code points
        if inside and start < 0:
            start = cp
        elif not inside and start >= 0:
            parts.append(_esc_cp(start) if start == cp - 1 else f"{_esc_cp(start)}-{_esc_cp(cp - 1)}")
            start = -1
    return "".join(parts)


def _complement(body_ranges: list[tuple[int, int]]) -> str:
    out: list[str] = []
    nxt = 0
    for lo, hi in sorted(body_ranges):
        if lo > nxt:
            out.append(f"{_esc_cp(nxt)}-{_esc_cp(lo - 1)}")
        nxt = max(nxt, hi + 1)
    if nxt <= sys.maxunicode:
        out.append(f"{_esc_cp(nxt)}-{_esc_cp(sys.maxunicode)}")
    return "".join(out)


def _esc_cp(cp: int) -> str:
    return f"\\U{cp:08x}"


def _ascii_ranges(body: str) -> list[tuple[int, int]]:
    """The (lo, hi) code point ranges of one of our ASCII class bodies (for complementing)."""
    chars = re.compile(f"[{body}]")
    ranges: list[tuple[int, int]] = []
    for cp in range(128):
        if chars.match(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return ranges


def _lit(ch: str) -> str:
    """One literal character, safe inside and outside a class."""
    if ch.isalnum() and ch.isascii():
        return ch
    return f"\\U{ord(ch):08x}"


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        # one entry per open group: (flags before the group, extra ")" to emit when it closes)
        self.groups: list[tuple[str, int]] = []
        self.flags = ""  # active flags among "imsU"
        self.extra = 0  # ")" owed to inline-flag groups opened in the current group
        self.can_repeat = False
        self.names: set[str] = set()

    def run(self) -> str:
        p = self.p
        while self.i < len(p):
            c = p[self.i]
            self.i += 1
            if c == "\\":
                self.out.append(self.escape())
                self.can_repeat = True
            elif c == "[":
                self.out.append(self.char_class())
                self.can_repeat = True
            elif c == "(":
                self.open_group()
            elif c == ")":
                self.close_group()
            elif c == "|":
                self.out.append("|")
                self.can_repeat = False
            elif c in "*+?":
                self.repeat(c)
            elif c == "{":
                self.brace()
            elif c == "$":
                self.out.append("$" if "m" in self.flags else "\\Z")
                self.can_repeat = True
            elif c in "^.":
                self.out.append(c)
                self.can_repeat = True
            else:
                self.out.append(_lit(c))
                self.can_repeat = True
        if self.groups:
            raise InvalidPattern("missing closing )")
        self.out.append(")" * self.extra)
        return "".join(self.out)

    # ------------------------------------------------------------ repetition

    def repeat(self, op: str) -> None:
        if not self.can_repeat:
            raise InvalidPattern("missing argument to repetition operator")
        self.finish_repeat(op)

    def brace(self) -> None:
        """``{n}``, ``{n,}`` or ``{n,m}``; any other ``{`` is a literal in RE2 (Python reads ``{,m}``)."""
        m = _REPEAT.match(self.p, self.i)
        if m is None:
            self.out.append(_lit("{"))
            self.can_repeat = True
            return
        lo = int(m.group(1))
        hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else -1)
        if lo > _MAX_REPEAT or hi > _MAX_REPEAT or (hi >= 0 and hi < lo):
            raise InvalidPattern("invalid repeat count")
        if not self.can_repeat:
            raise InvalidPattern("missing argument to repetition operator")
        self.i = m.end()
        self.finish_repeat("{" + m.group(0))

    def finish_repeat(self, op: str) -> None:
        lazy = self.i < len(self.p) and self.p[self.i] == "?"
        if lazy:
            self.i += 1
        if "U" in self.flags:
            lazy = not lazy
        self.out.append(op + ("?" if lazy else ""))
        nxt = self.p[self.i] if self.i < len(self.p) else ""
        if nxt in ("*", "+", "?") or (nxt == "{" and _REPEAT.match(self.p, self.i + 1)):
            raise InvalidPattern("invalid nested repetition operator")
        self.can_repeat = False

    # ------------------------------------------------------------ groups and flags

    def open_group(self) -> None:
        p = self.p
        if not p.startswith("?", self.i):
            self.push("(")
            return
        m = _NAME.match(p, self.i + 1)
        if m:
            name = m.group(1)
            if name in self.names:
                raise InvalidPattern("duplicate capture group name")
            self.names.add(name)
            self.i = m.end()
            self.push("(")  # names do not matter for matching (and Go allows some Python does not)
            return
        m = _FLAGS.match(p, self.i + 1)
        if m is None or (m.group(2) and not m.group(3)):
            raise InvalidPattern("invalid or unsupported Perl syntax")
        on, off, end = m.group(1), m.group(3) or "", m.group(4)
        self.i = m.end()
        flags = "".join(f for f in "imsU" if (f in self.flags or f in on) and f not in off)
        py_on = "".join(f for f in "ims" if f in flags and f not in self.flags)
        py_off = "".join(f for f in "ims" if f in self.flags and f not in flags)
        opener = "(?" + py_on + ("-" + py_off if py_off else "") + ":"
        if end == ":":
            self.push(opener)
            self.flags = flags
        else:  # (?flags): in force up to the end of the enclosing group
            self.out.append(opener)
            self.extra += 1
            self.flags = flags
            self.can_repeat = False

    def push(self, opener: str) -> None:
        self.groups.append((self.flags, self.extra))
        self.extra = 0
        self.out.append(opener)
        self.can_repeat = False

    def close_group(self) -> None:
        if not self.groups:
            raise InvalidPattern("unexpected )")
        self.out.append(")" * self.extra + ")")
        self.flags, self.extra = self.groups.pop()
        self.can_repeat = True

    # ------------------------------------------------------------ escapes

    def escape(self, in_class: bool = False) -> str:
        """The translation of the escape after a backslash (a class body fragment when in_class)."""
        p = self.p
        if self.i >= len(p):
            raise InvalidPattern("trailing backslash at end of expression")
        c = p[self.i]
        self.i += 1
        if c.isascii() and not c.isalnum():
            return _lit(c)
        if c in "dswDSW":
            body = _PERL[c.lower()]
            if c.islower():
                return body if in_class else f"[{body}]"
            return _complement(_ascii_ranges(body)) if in_class else f"[^{body}]"
        if c in "pP":
            return self.unicode_class(c == "P", in_class)
        if c in "01234567":
            return self.octal(c)
        if c == "x":
            return self.hex()
        simple = {"a": "\\x07", "f": "\\x0c", "t": "\\t", "n": "\\n", "r": "\\r", "v": "\\x0b"}
        if c in simple:
            return simple[c]
        if not in_class:
            if c == "A":
                return "\\A"
            if c == "z":
                return "\\Z"
            if c == "b":
                return _BOUNDARY
            if c == "B":
                return _NON_BOUNDARY
            if c == "Q":
                end = p.find("\\E", self.i)
                text = p[self.i:] if end < 0 else p[self.i:end]
                self.i = len(p) if end < 0 else end + 2
                return "".join(_lit(ch) for ch in text)
        raise InvalidPattern(f"invalid escape sequence \\{c}")

    def octal(self, first: str) -> str:
        p = self.p
        if first != "0" and not (self.i < len(p) and p[self.i] in "01234567"):
            raise InvalidPattern("back-references are not supported")
        digits = first
        while len(digits) < 3 and self.i < len(p) and p[self.i] in "01234567":
            digits += p[self.i]
            self.i += 1
        return _lit(chr(int(digits, 8)))

    def hex(self) -> str:
        p = self.p
        if p.startswith("{", self.i):
            end = p.find("}", self.i)
            digits = p[self.i + 1:end] if end > 0 else ""
            if not digits or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
                raise InvalidPattern("invalid escape sequence \\x")
            self.i = end + 1
        else:
            digits = p[self.i:self.i + 2]
            if len(digits) != 2 or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
                raise InvalidPattern("invalid escape sequence \\x")
            self.i += 2
        value = int(digits, 16)
        if value > sys.maxunicode:
            raise InvalidPattern("invalid escape sequence \\x")
        return _lit(chr(value))

    def unicode_class(self, negated: bool, in_class: bool) -> str:
        p = self.p
        if self.i >= len(p):
            raise InvalidPattern("invalid character class range")
        if p[self.i] == "{":
            end = p.find("}", self.i)
            if end < 0:
                raise InvalidPattern("invalid character class range")
            name = p[self.i + 1:end]
            self.i = end + 1
        else:
            name = p[self.i]
            self.i += 1
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        body = _cat_ranges(name)
        if in_class:
            if negated:
                raise UnsupportedPattern("a negated Unicode class inside a character class")
            return body
        return ("[^" if negated else "[") + body + "]"

    # ------------------------------------------------------------ character classes

    def char_class(self) -> str:
        p = self.p
        negated = p.startswith("^", self.i)
        if negated:
            self.i += 1
        parts: list[str] = []
        first = True
        while True:
            if self.i >= len(p):
                raise InvalidPattern("missing closing ]")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if p.startswith("[:", self.i):
                end = p.find(":]", self.i + 2)
                if end >= 0:
                    name = p[self.i + 2:end]
                    neg = name.startswith("^")
                    body = _POSIX.get(name[1:] if neg else name)
                    if body is None:
                        raise InvalidPattern("invalid character class range")
                    parts.append(_complement(_ascii_ranges(body)) if neg else body)
                    self.i = end + 2
                    continue
            lo, lo_text = self.class_char()
            if lo is None or not (p.startswith("-", self.i) and self.i + 1 < len(p) and p[self.i + 1] != "]"):
                parts.append(lo_text)
                continue
            self.i += 1
            hi, hi_text = self.class_char()
            if hi is None or hi < lo:
                raise InvalidPattern("invalid character class range")
            parts.append(f"{lo_text}-{hi_text}")
        return ("[^" if negated else "[") + "".join(parts) + "]"

    def class_char(self) -> tuple[int | None, str]:
        """(code point or None for a class escape such as \\d, translation) of one class item."""
        c = self.p[self.i]
        self.i += 1
        if c != "\\":
            return ord(c), _lit(c)
        start = self.i
        text = self.escape(in_class=True)
        single = self.p[start] not in "dswDSWpP"
        if single:
            m = re.fullmatch(r"\\U([0-9a-f]{8})|([0-9A-Za-z])", text)
            if m is not None:
                return (int(m.group(1), 16) if m.group(1) else ord(m.group(2))), text
            simple = {"\\x07": 7, "\\x0c": 12, "\\t": 9, "\\n": 10, "\\r": 13, "\\x0b": 11}
            return simple[text], text
        return None, text
