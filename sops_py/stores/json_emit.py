"""Writing JSON as sops' encoder followed by Go ``json.Indent`` does, in one pass.

``"key": value``, empty ``{}``/``[]`` compact, strings escaped as Go's ``json.Marshal`` (``<``, ``>``,
``&``, U+2028/U+2029, invalid UTF-8 as ``\\ufffd``), floats with Go's JSON float layout, comments
dropped; Go's nesting limit and its indent check keep their messages. :func:`go_json_quote` and
:func:`json_scalar` are also used by the INI store and by ``publish``.
"""

from __future__ import annotations

import re

from ..gofmt import format_json_float
from ..tree import Branch, Comment, RecursionRoom, Time

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

_INDENT_ERROR = "JSON Indentation parameter smaller than -1 is not accepted"

_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')
_ESCAPES: dict[str, str] = {chr(i): f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
})
_ESCAPES.update({chr(i): "\\ufffd" for i in range(0xD800, 0xE000)})


def _escape_match(m: re.Match[str]) -> str:
    return _ESCAPES[m.group()]


def go_json_quote(s: str | bytes) -> str:
    """Go ``json.Marshal`` of a string (HTML-safe escaping).

    ``bytes`` (string data that is not UTF-8) get one ``\\ufffd`` per invalid byte, as Go writes them.
    """
    if isinstance(s, bytes):
        s = s.decode("utf-8", "surrogateescape")
    # Printable ASCII without the five specials needs no escape; these C scans are far faster than the
    # regex on big values (an encrypted binary file is one ~27 MB string).
    if (s.isascii() and s.isprintable() and '"' not in s and "\\" not in s and "<" not in s and ">" not in s
            and "&" not in s) or _NEEDS_ESCAPE.search(s) is None:
        return '"' + s + '"'
    return '"' + _NEEDS_ESCAPE.sub(_escape_match, s) + '"'


class JSONEncodeError(Exception):
    """A value Go's encoding/json cannot write; the message is Go's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def json_scalar(v: Any) -> str:
    """Go ``json.Marshal`` of a leaf (null, bool, number, string, time); raises JSONEncodeError."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (str, bytes)):
        return go_json_quote(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        try:
            return format_json_float(v)
        except ValueError as e:
            raise JSONEncodeError(str(e)) from None
    if isinstance(v, Time):
        return go_json_quote(v.text)
    raise JSONEncodeError(f"json: unsupported type: {type(v).__name__}")


def _indent_string(indent: int | None) -> str:
    if indent is None or indent < 0:
        return "\t"
    return " " * indent


_GO_MAX_NESTING = 10000  # encoding/json's scanner (maxNestingDepth)


class _Emitter:
    """sops' encodeTree/encodeArray followed by Go json.Indent, written in one pass."""

    def __init__(self, indent: str) -> None:
        self.indent = indent
        self.out: list[str] = []
        self.newlines: list[str] = ["\n"]
        self.too_deep = ""  # the first bracket that opens level _GO_MAX_NESTING + 1

    def _nl(self, depth: int) -> str:
        nls = self.newlines
        while len(nls) <= depth:
            nls.append("\n" + self.indent * len(nls))
        return nls[depth]

    def value(self, v: Any, depth: int) -> None:
        if isinstance(v, Branch):
            if depth >= _GO_MAX_NESTING and not self.too_deep:
                self.too_deep = "{"
            self.branch(v, depth)
        elif isinstance(v, list):
            if depth >= _GO_MAX_NESTING and not self.too_deep:
                self.too_deep = "["
            self.array(v, depth)
        else:
            self.out.append(json_scalar(v))

    def branch(self, br: Branch, depth: int) -> None:
        out = self.out
        start = len(out)
        inner = self._nl(depth + 1)
        sep = "{" + inner
        for k, v in br:
            if isinstance(k, Comment):
                continue
            if isinstance(k, (str, bytes)):
                key = go_json_quote(k)
            else:
                raise JSONEncodeError(f"Error encoding key: unsupported key type {type(k).__name__}")
            out.append(sep)
            out.append(key)
            out.append(": ")
            try:
                self.value(v, depth + 1)
            except JSONEncodeError as e:
                raise JSONEncodeError(f"Error encoding value : {e.message}") from None
            sep = "," + inner
        if len(out) == start:
            out.append("{}")
        else:
            out.append(self._nl(depth) + "}")

    def array(self, items: list[Any], depth: int) -> None:
        out = self.out
        start = len(out)
        inner = self._nl(depth + 1)
        sep = "[" + inner
        for v in items:
            if isinstance(v, Comment):
                continue
            out.append(sep)
            self.value(v, depth + 1)
            sep = "," + inner
        if len(out) == start:
            out.append("[]")
        else:
            out.append(self._nl(depth) + "]")

    def text(self) -> str:
        return "".join(self.out)


def encode(v: Any, indent: int | None) -> str:
    """encodeValue + reindentJSON; raises JSONEncodeError with sops' message."""
    bad_indent = indent is not None and indent < -1
    em = _Emitter("" if bad_indent else _indent_string(indent))
    try:
        with RecursionRoom():  # the emitter recurses in pure Python: a deep tree needs only the room
            em.value(v, 0)
    except RecursionError:
        raise JSONEncodeError("json: nesting too deep to encode") from None
    if em.too_deep:  # json.Indent (reindentJSON) refuses what nests deeper than Go's scanner allows
        raise JSONEncodeError(f"invalid character '{em.too_deep}' exceeded max depth")
    if bad_indent:  # Go encodes before it checks the indent, so an encoding error wins
        raise JSONEncodeError(_INDENT_ERROR)
    return em.text()
