"""Go's ``json.Decoder`` (Token API, UseNumber), emulated byte for byte, and sops' tree reader on it.

sops 3.13 reads a JSON file token by token (``stores/json/store.go``). Its acceptance is not that of
a standard JSON parser: input that ends where a value of the top-level object should start loads
the items read so far, bytes after the first top-level object are never read, and each error has
Go's exact text. The fast path in ``json_load`` handles valid input; whatever it rejects comes here,
so that sops-py accepts and refuses exactly what sops does, with the same messages. The Go text
helpers (string decoding, how a byte is quoted in an error, number typing) live here too, as the
reader is their main user.
"""

from __future__ import annotations

import json.decoder
import math
import re

from ..gofmt import format_g
from ..gotext import go_quote
from ..tree import MAX_DEPTH, Branch, TooDeep

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# ------------------------------------------------------------------------------------------------
# Go-compatible text helpers


class GoError(Exception):
    """An error with Go's message text (``err.Error()``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _EOF(Exception):
    """Go's ``io.EOF`` from ``Decoder.Token``: the input ended between tokens."""


_INVALID_UTF8_SURROGATE = re.compile("[\udc80-\udcff]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def go_decode(data: bytes) -> str:
    """UTF-8 bytes to text, each byte of an invalid sequence becoming U+FFFD (Go's DecodeRune)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _INVALID_UTF8_SURROGATE.sub("\ufffd", data.decode("utf-8", "surrogateescape"))


def quote_char(c: int) -> str:
    """encoding/json quoteChar: how a byte is shown in a syntax error."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(c))[1:-1] + "'"


# ------------------------------------------------------------------------------------------------
# Number typing (sops 3.13 normalizeJSONNumber)


def normalize_number(s: str) -> int | float:
    """json.Number -> int if ParseInt(s, 10, 64) succeeds, else ParseFloat(s, 64) (errors as Go)."""
    if len(s) <= 20 and "." not in s and "e" not in s and "E" not in s:
        v = int(s)
        if INT64_MIN <= v <= INT64_MAX:
            return v
    f = float(s)
    if math.isinf(f):
        raise GoError(f'strconv.ParseFloat: parsing {go_quote(s)}: value out of range')
    return f


# ------------------------------------------------------------------------------------------------
# Loading: emulation of Go's json.Decoder.Token and sops' reader on top of it

_WS = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_STRING_BODY = re.compile(rb'(?:[^"\\\x00-\x1f]+|\\[bfnrt\\/"]|\\u[0-9a-fA-F]{4})*')

# Decoder.tokenState values
_TOP, _ARR_START, _ARR_VALUE, _ARR_COMMA = 0, 1, 2, 3
_OBJ_START, _OBJ_KEY, _OBJ_COLON, _OBJ_VALUE, _OBJ_COMMA = 4, 5, 6, 7, 8
_VALUE_ALLOWED = frozenset((_TOP, _ARR_START, _ARR_VALUE, _OBJ_VALUE))
_TOKEN_ERROR_CONTEXT = {
    _TOP: " looking for beginning of value",
    _ARR_START: " looking for beginning of value",
    _ARR_VALUE: " looking for beginning of value",
    _OBJ_VALUE: " looking for beginning of value",
    _ARR_COMMA: " after array element",
    _OBJ_KEY: " looking for beginning of object key string",
    _OBJ_COLON: " after object key",
    _OBJ_COMMA: " after object key:value pair",
}  # _OBJ_START has no context in Go's tokenError


class _Delim:
    __slots__ = ("char",)

    def __init__(self, char: str) -> None:
        self.char = char


class _Number:
    """A json.Number token (the decoder runs with UseNumber)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_OPEN_OBJ, _CLOSE_OBJ, _OPEN_ARR, _CLOSE_ARR = _Delim("{"), _Delim("}"), _Delim("["), _Delim("]")
_LITERALS = {0x74: (b"true", True), 0x66: (b"false", False), 0x6E: (b"null", None)}


def _syntax_error(c: int, context: str) -> GoError:
    return GoError("invalid character " + quote_char(c) + " " + context)


_UNEXPECTED_EOF = "unexpected EOF"


class GoTokenReader:
    """Go's ``json.Decoder`` (UseNumber) Token API over an in-memory input, plus sops' tree reader."""

    def __init__(self, data: bytes, go_max_depth: int | None = None) -> None:
        self.buf = data
        self.pos = 0
        self.state = _TOP
        self.stack: list[int] = []
        # json.Unmarshal's limit (encoding/json maxNestingDepth), which sops 3.11 hit reading an
        # encrypted file; the Token API that reads plain files has none
        self.go_max_depth = go_max_depth

    # -- Decoder internals

    def _peek(self) -> int:
        buf, i, n = self.buf, self.pos, len(self.buf)
        while i < n and buf[i] in _WS:
            i += 1
        self.pos = i
        if i >= n:
            raise _EOF()
        return buf[i]

    def _token_error(self, c: int) -> GoError:
        return GoError("invalid character " + quote_char(c) + _TOKEN_ERROR_CONTEXT.get(self.state, ""))

    def _value_end(self) -> None:
        if self.state in (_ARR_START, _ARR_VALUE):
            self.state = _ARR_COMMA
        elif self.state == _OBJ_VALUE:
            self.state = _OBJ_COMMA

    def _scan_string(self, i: int) -> int:
        buf, n = self.buf, len(self.buf)
        m = _STRING_BODY.match(buf, i + 1)
        assert m is not None
        j = m.end()
        if j >= n:
            raise GoError(_UNEXPECTED_EOF)
        c = buf[j]
        if c == 0x22:
            return j + 1
        if c == 0x5C:
            j += 1
            if j >= n:
                raise GoError(_UNEXPECTED_EOF)
            if buf[j] != 0x75:
                raise _syntax_error(buf[j], "in string escape code")
            for k in range(j + 1, j + 5):
                if k >= n:
                    raise GoError(_UNEXPECTED_EOF)
                if buf[k] not in b"0123456789abcdefABCDEF":
                    raise _syntax_error(buf[k], "in \\u hexadecimal character escape")
            raise AssertionError("unreachable")  # pragma: no cover
        raise _syntax_error(c, "in string literal")

    def _scan_number(self, i: int) -> int:
        buf, n = self.buf, len(self.buf)
        c = buf[i]
        # states: 0 neg, 1 int, 2 zero, 3 dot, 4 frac, 5 e, 6 esign, 7 exp
        state = 0 if c == 0x2D else (2 if c == 0x30 else 1)
        j = i + 1
        while True:
            if j >= n:
                if state in (1, 2, 4, 7):
                    return j
                raise GoError(_UNEXPECTED_EOF)
            c = buf[j]
            digit = c in _DIGITS
            if state == 0:
                if c == 0x30:
                    state = 2
                elif digit:
                    state = 1
                else:
                    raise _syntax_error(c, "in numeric literal")
            elif state == 1 and digit:
                pass
            elif state in (1, 2):
                if c == 0x2E:
                    state = 3
                elif c in (0x65, 0x45):
                    state = 5
                else:
                    return j
            elif state == 3:
                if not digit:
                    raise _syntax_error(c, "after decimal point in numeric literal")
                state = 4
            elif state == 4:
                if c in (0x65, 0x45):
                    state = 5
                elif not digit:
                    return j
            elif state == 5:
                if c in (0x2B, 0x2D):
                    state = 6
                elif digit:
                    state = 7
                else:
                    raise _syntax_error(c, "in exponent of numeric literal")
            elif state == 6:
                if not digit:
                    raise _syntax_error(c, "in exponent of numeric literal")
                state = 7
            elif not digit:  # state 7
                return j
            j += 1

    def _decode_value(self) -> Any:
        """Decoder.Decode(&x) for a scalar at self.pos: scan it, convert it."""
        buf, i = self.buf, self.pos
        c = buf[i]
        if c == 0x22:
            end = self._scan_string(i)
            text = go_decode(buf[i:end])
            s, _ = json.decoder.scanstring(text, 1, True)  # type: ignore[attr-defined]
            value: Any = LONE_SURROGATE.sub("\ufffd", s)
        elif c == 0x2D or c in _DIGITS:
            end = self._scan_number(i)
            value = _Number(buf[i:end].decode("ascii"))
        elif c in _LITERALS:
            word, value = _LITERALS[c]
            end = i + 1
            for expected in word[1:]:
                if end >= len(buf):
                    raise GoError(_UNEXPECTED_EOF)
                if buf[end] != expected:
                    raise _syntax_error(
                        buf[end], f"in literal {word.decode()} (expecting {quote_char(expected)})"
                    )
                end += 1
        else:
            raise _syntax_error(c, "looking for beginning of value")
        self.pos = end
        self._value_end()
        return value

    def token(self) -> Any:
        """Decoder.Token: a _Delim, str, _Number, bool or None; raises _EOF or GoError."""
        while True:
            c = self._peek()
            st = self.state
            if c == 0x5B or c == 0x7B:  # [ {
                if st not in _VALUE_ALLOWED:
                    raise self._token_error(c)
                self.pos += 1
                self.stack.append(st)
                if self.go_max_depth is not None and len(self.stack) > self.go_max_depth:
                    raise _syntax_error(c, "exceeded max depth")
                if len(self.stack) > MAX_DEPTH:
                    # deeper than anything sops finishes (it slows down without end): one clear line
                    raise TooDeep()
                if c == 0x5B:
                    self.state = _ARR_START
                    return _OPEN_ARR
                self.state = _OBJ_START
                return _OPEN_OBJ
            if c == 0x5D or c == 0x7D:  # ] }
                if (c == 0x5D and st not in (_ARR_START, _ARR_COMMA)) or (
                    c == 0x7D and st not in (_OBJ_START, _OBJ_COMMA)
                ):
                    raise self._token_error(c)
                self.pos += 1
                self.state = self.stack.pop()
                self._value_end()
                return _CLOSE_ARR if c == 0x5D else _CLOSE_OBJ
            if c == 0x3A:  # :
                if st != _OBJ_COLON:
                    raise self._token_error(c)
                self.pos += 1
                self.state = _OBJ_VALUE
                continue
            if c == 0x2C:  # ,
                if st == _ARR_COMMA:
                    self.pos += 1
                    self.state = _ARR_VALUE
                    continue
                if st == _OBJ_COMMA:
                    self.pos += 1
                    self.state = _OBJ_KEY
                    continue
                raise self._token_error(c)
            if c == 0x22 and st in (_OBJ_START, _OBJ_KEY):
                self.state = _TOP
                try:
                    key = self._decode_value()
                finally:
                    self.state = st
                self.state = _OBJ_COLON
                return key
            if st not in _VALUE_ALLOWED:
                raise self._token_error(c)
            return self._decode_value()

    # -- sops' reader (stores/json/store.go), iterative so that nesting depth is unlimited

    def read_document(self) -> Branch:
        try:
            tok = self.token()
        except _EOF:
            raise GoError("EOF") from None
        if isinstance(tok, _Delim):
            if tok is not _OPEN_OBJ:
                raise GoError(
                    "SOPS only supports JSON files with a top-level object (starting with '{'), not arrays "
                    f"or other types. Got delimiter {tok.char} instead. To encrypt this file, wrap it in an "
                    'object, e.g., {"data": [...]}'
                )
        else:
            raise GoError(
                "SOPS only supports JSON files with a top-level object (starting with '{'), not other "
                f"JSON types. Got {_go_sharp_v(tok)} instead"
            )
        root: Branch = Branch()
        # Each frame: [container, pending key or None]; containers are Branch (object) or list (array).
        frames: list[list[Any]] = [[root, None]]
        while True:
            frame = frames[-1]
            container = frame[0]
            done = False
            if isinstance(container, Branch):
                # treeItemFromJSONDecoder
                try:
                    key = self.token()
                except _EOF:
                    key = None
                if key is _CLOSE_OBJ:
                    done = True
                elif not isinstance(key, str):
                    raise GoError(
                        "Expected JSON object key, got %!s(<nil>) of type <nil> instead"
                        if key is None
                        else f"Expected JSON object key, got {key!r} instead"
                    )
                else:
                    try:
                        value = self.token()
                    except _EOF:
                        done = True  # treeBranchFromJSONDecoder swallows io.EOF: drop this item
                    else:
                        if value is _OPEN_ARR:
                            frame[1] = key
                            frames.append([[], None])
                        elif value is _OPEN_OBJ:
                            frame[1] = key
                            frames.append([Branch(), None])
                        else:
                            if isinstance(value, _Number):
                                value = normalize_number(value.text)
                            container.append((key, value))
            else:
                # sliceFromJSONDecoder
                try:
                    tok = self.token()
                except _EOF:
                    # io.EOF goes up through the enclosing arrays to the nearest object, which
                    # returns what it has read so far, without the item being read.
                    frames.pop()
                    while not isinstance(frames[-1][0], Branch):
                        frames.pop()
                    done = True
                    frame = frames[-1]
                    container = frame[0]
                else:
                    if tok is _CLOSE_ARR:
                        done = True
                    elif tok is _OPEN_ARR:
                        frames.append([[], None])
                    elif tok is _OPEN_OBJ:
                        frames.append([Branch(), None])
                    else:
                        if isinstance(tok, _Number):
                            tok = normalize_number(tok.text)
                        container.append(tok)
            if done:
                frames.pop()
                if not frames:
                    return root
                parent = frames[-1]
                if isinstance(parent[0], Branch):
                    parent[0].append((parent[1], container))
                    parent[1] = None
                else:
                    parent[0].append(container)


def _go_sharp_v(tok: Any) -> str:
    """``%#v of type %T`` for a top-level scalar token after sops' normalisation."""
    if tok is None:
        return "<nil> of type <nil>"
    if isinstance(tok, bool):
        return f"{'true' if tok else 'false'} of type bool"
    if isinstance(tok, str):
        return f"{go_quote(tok)} of type string"
    assert isinstance(tok, _Number)
    try:
        v = normalize_number(tok.text)
    except GoError:
        return f"{go_quote(tok.text)} of type json.Number"
    if isinstance(v, int):
        return f"{v} of type int"
    return f"{format_g(v)} of type float64"
