"""The JSON store and the binary store (a JSON envelope), as sops 3.13's ``stores/json/store.go``.

Loading follows sops' token-streaming reader (Go ``json.Decoder.Token``):

* the top level must be an object; key order and duplicate keys are kept; bytes after the first
  top-level object are never read;
* numbers are typed as sops 3.13 does: a literal that parses as an int64 is an ``int``, anything else
  a ``float`` (``1.0`` is a float, ``-0`` the int 0, ``9223372036854775808`` a float);
* strings are decoded as Go does: invalid UTF-8 and unpaired ``\\u`` surrogates become U+FFFD;
* the quirks of sops' reader are kept, e.g. input that ends where a value of the top-level object
  should start (``{"a": 1, "b":``) loads the items read so far.

Valid input takes a fast path through the C ``json`` scanner; anything it rejects is re-read by a
byte-exact emulation of Go's decoder, which gives sops' acceptance and its error messages.

Emitting writes what sops' encoder followed by Go ``json.Indent`` writes: ``"key": value``, empty
``{}``/``[]`` compact, strings escaped as Go's ``json.Marshal`` (``<``, ``>``, ``&``, U+2028/U+2029,
invalid UTF-8 as ``\\ufffd``), floats with Go's JSON float layout, comments dropped.

Errors carry the store-level text of sops; the command layer adds its own prefix as sops does
(``Error unmarshalling file: `` for a plain input, ``Error dumping file: `` for output):

* ``load_plain`` raises ``CouldNotReadInputFile("Could not unmarshal input data: ...")`` (exit 2);
* ``load_encrypted`` raises ``SopsError`` with the same text (exit 1: sops' decrypt, edit, rotate...
  report a broken encrypted file through the generic exit code);
* ``emit_*`` raise ``ErrorDumpingTree`` (exit 4).
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
import re
import sys

from ..errors import CouldNotReadInputFile, ErrorDumpingTree, SopsError
from ..gofmt import format_g, format_json_float
from ..gotext import go_quote
from ..metadata import Metadata, to_branch
from ..tree import DEEP_FRAMES, MAX_DEPTH, Branch, Comment, RecursionRoom, Time, TooDeep
from . import split_nested_metadata

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = [
    "BINARY_HINT",
    "BinaryStore",
    "BinaryStoreEmitPlainError",
    "JSONStore",
    "go_json_quote",
]

BINARY_HINT = (
    "This is likely not an encrypted binary file? If not, use --output-type to select the correct "
    "output type."
)
_INDENT_ERROR = "JSON Indentation parameter smaller than -1 is not accepted"
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class BinaryStoreEmitPlainError(ErrorDumpingTree):
    """sops' ``BinaryStoreEmitPlainError``; the message carries the hint sops' decrypt appends."""

    def __init__(self, detail: str) -> None:
        self.base_message = f"error emitting binary store: {detail}"
        super().__init__(f"{self.base_message}\n\n{BINARY_HINT}")


# ------------------------------------------------------------------------------------------------
# Go-compatible text helpers


class _GoError(Exception):
    """An error with Go's message text (``err.Error()``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _EOF(Exception):
    """Go's ``io.EOF`` from ``Decoder.Token``: the input ended between tokens."""


_INVALID_UTF8_SURROGATE = re.compile("[\udc80-\udcff]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE_IN_TEXT = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _go_decode(data: bytes) -> str:
    """UTF-8 bytes to text, each byte of an invalid sequence becoming U+FFFD (Go's DecodeRune)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _INVALID_UTF8_SURROGATE.sub("\ufffd", data.decode("utf-8", "surrogateescape"))


def _quote_char(c: int) -> str:
    """encoding/json quoteChar: how a byte is shown in a syntax error."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(c))[1:-1] + "'"


# ------------------------------------------------------------------------------------------------
# Number typing (sops 3.13 normalizeJSONNumber)


class _FastPathFailed(Exception):
    pass


def _parse_float_fast(s: str) -> float:
    f = float(s)
    if math.isinf(f):
        raise _FastPathFailed()
    return f


def _parse_int_fast(s: str) -> int | float:
    if len(s) <= 20:
        v = int(s)
        if _INT64_MIN <= v <= _INT64_MAX:
            return v
    return _parse_float_fast(s)


def _normalize_number(s: str) -> int | float:
    """json.Number -> int if ParseInt(s, 10, 64) succeeds, else ParseFloat(s, 64) (errors as Go)."""
    if len(s) <= 20 and "." not in s and "e" not in s and "E" not in s:
        v = int(s)
        if _INT64_MIN <= v <= _INT64_MAX:
            return v
    f = float(s)
    if math.isinf(f):
        raise _GoError(f'strconv.ParseFloat: parsing {go_quote(s)}: value out of range')
    return f


# ------------------------------------------------------------------------------------------------
# Loading: fast path


def _raise_constant(name: str) -> NoReturn:
    raise _FastPathFailed()


_DECODER = json.JSONDecoder(
    object_pairs_hook=Branch,
    parse_int=_parse_int_fast,
    parse_float=_parse_float_fast,
    parse_constant=_raise_constant,
    strict=True,
)
# The pure-Python scanner would accept non-ASCII digits: use the fast path with the C scanner only.
_FAST_PATH = getattr(json.scanner, "c_make_scanner", None) is not None


def _fix_surrogates(root: Branch) -> None:
    """Replace unpaired surrogates (from ``\\ud800``-style escapes) by U+FFFD, as Go's unquote does."""

    def fix(s: str) -> str:
        return _LONE_SURROGATE.sub("\ufffd", s)

    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Branch):
            for i, (k, v) in enumerate(node):
                if isinstance(v, str):
                    v = fix(v)
                elif isinstance(v, list):
                    stack.append(v)
                node[i] = (fix(k), v)
        else:
            for i, v in enumerate(node):
                if isinstance(v, str):
                    node[i] = fix(v)
                elif isinstance(v, list):
                    stack.append(v)


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    return i


# encoding/json's maxNestingDepth
GO_UNMARSHAL_MAX_DEPTH = 10_000


def _parse_json_document(data: bytes, whole: bool = False) -> Branch:
    """sops 3.13 treeBranchFromJSON; raises _GoError with Go's message.

    ``whole``: the input must be exactly one complete object, as sops 3.11 checked an encrypted file
    with ``json.Unmarshal`` before reading it (3.13 no longer does; no sops ever wrote such a file, so
    refusing it costs nothing and keeps data hidden after the object from slipping past review)."""
    # (not while another thread has raised the recursion limit for a deep tree: the C scanner
    # recurses on the C stack, which that limit would no longer protect)
    if _FAST_PATH and sys.getrecursionlimit() < DEEP_FRAMES:
        text = _go_decode(data)
        i = _skip_ws(text, 0)
        if i < len(text) and text[i] == "{":
            try:
                obj, end = _DECODER.raw_decode(text, i)
            except (ValueError, RecursionError, _FastPathFailed):
                pass
            else:
                if whole:
                    _check_rest(text[end:].encode("utf-8", "surrogateescape"))
                if _SURROGATE_ESCAPE_IN_TEXT.search(text):
                    _fix_surrogates(obj)
                assert isinstance(obj, Branch)
                return obj
    reader = _GoTokenReader(data, GO_UNMARSHAL_MAX_DEPTH if whole else None)
    root = reader.read_document()
    if whole:
        if reader.stack:  # the reader's quirk: an input cut short loads the items read so far
            raise _GoError("unexpected end of JSON input")
        _check_rest(data[reader.pos:])
    return root


def _check_rest(rest: bytes) -> None:
    """Go's checkValid after the top-level value: only white space may follow."""
    stripped = rest.lstrip(b" \t\r\n")
    if stripped:
        raise _GoError(f"invalid character {_quote_char(stripped[0])} after top-level value")


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


def _syntax_error(c: int, context: str) -> _GoError:
    return _GoError("invalid character " + _quote_char(c) + " " + context)


_UNEXPECTED_EOF = "unexpected EOF"


class _GoTokenReader:
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

    def _token_error(self, c: int) -> _GoError:
        return _GoError("invalid character " + _quote_char(c) + _TOKEN_ERROR_CONTEXT.get(self.state, ""))

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
            raise _GoError(_UNEXPECTED_EOF)
        c = buf[j]
        if c == 0x22:
            return j + 1
        if c == 0x5C:
            j += 1
            if j >= n:
                raise _GoError(_UNEXPECTED_EOF)
            if buf[j] != 0x75:
                raise _syntax_error(buf[j], "in string escape code")
            for k in range(j + 1, j + 5):
                if k >= n:
                    raise _GoError(_UNEXPECTED_EOF)
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
                raise _GoError(_UNEXPECTED_EOF)
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
            text = _go_decode(buf[i:end])
            s, _ = json.decoder.scanstring(text, 1, True)  # type: ignore[attr-defined]
            value: Any = _LONE_SURROGATE.sub("\ufffd", s)
        elif c == 0x2D or c in _DIGITS:
            end = self._scan_number(i)
            value = _Number(buf[i:end].decode("ascii"))
        elif c in _LITERALS:
            word, value = _LITERALS[c]
            end = i + 1
            for expected in word[1:]:
                if end >= len(buf):
                    raise _GoError(_UNEXPECTED_EOF)
                if buf[end] != expected:
                    raise _syntax_error(
                        buf[end], f"in literal {word.decode()} (expecting {_quote_char(expected)})"
                    )
                end += 1
        else:
            raise _syntax_error(c, "looking for beginning of value")
        self.pos = end
        self._value_end()
        return value

    def token(self) -> Any:
        """Decoder.Token: a _Delim, str, _Number, bool or None; raises _EOF or _GoError."""
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
            raise _GoError("EOF") from None
        if isinstance(tok, _Delim):
            if tok is not _OPEN_OBJ:
                raise _GoError(
                    "SOPS only supports JSON files with a top-level object (starting with '{'), not arrays "
                    f"or other types. Got delimiter {tok.char} instead. To encrypt this file, wrap it in an "
                    'object, e.g., {"data": [...]}'
                )
        else:
            raise _GoError(
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
                    raise _GoError(
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
                                value = _normalize_number(value.text)
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
                            tok = _normalize_number(tok.text)
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
        v = _normalize_number(tok.text)
    except _GoError:
        return f"{go_quote(tok.text)} of type json.Number"
    if isinstance(v, int):
        return f"{v} of type int"
    return f"{format_g(v)} of type float64"


# ------------------------------------------------------------------------------------------------
# Emitting

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


def _encode(v: Any, indent: int | None) -> str:
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


def _to_bytes(s: str) -> bytes:
    return s.encode("utf-8")


def _str_to_bytes(s: str) -> bytes:
    """A tree string as the bytes Go holds: surrogate-escaped bytes come back, lone surrogates are U+FFFD."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace")


# ------------------------------------------------------------------------------------------------
# Stores


class JSONStore:
    """sops' JSON store. ``indent``: None or -1 = tab, N >= 0 = N spaces (0: newlines only)."""

    name = "json"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent

    def load_plain(self, data: bytes) -> list[Branch]:
        try:
            return [_parse_json_document(bytes(data))]
        except _GoError as e:
            raise CouldNotReadInputFile(f"Could not unmarshal input data: {e.message}") from None

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        try:
            branches = [_parse_json_document(bytes(data), whole=True)]
        except _GoError as e:
            if (e.message == "unexpected end of JSON input" or e.message.endswith("after top-level value")
                    or e.message.endswith("exceeded max depth")):
                raise SopsError(f"Error unmarshalling input json: {e.message}") from None  # sops 3.11
            raise SopsError(f"Could not unmarshal input data: {e.message}") from None
        return split_nested_metadata(branches, "json")

    def emit_plain(self, branches: list[Branch]) -> bytes:
        if not branches:
            raise ErrorDumpingTree("Error marshaling to json: no document to write")
        try:
            text = _encode(branches[0], self.indent)
        except JSONEncodeError as e:
            raise ErrorDumpingTree(f"Error marshaling to json: {e.message}") from None
        return _to_bytes(text + "\n")

    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes:
        sops_branch = to_branch(md)
        out: list[Branch] = []
        for branch in branches:
            for k, _ in branch:
                if isinstance(k, str) and k == "sops":
                    raise ErrorDumpingTree(
                        'Error marshaling metadata: Found key "sops" in encrypted data, which is a reserved '
                        "key used for SOPS metadata"
                    )
            out.append(Branch([*branch, ("sops", sops_branch)]))
        if not out:
            out.append(Branch([("sops", sops_branch)]))
        return self.emit_plain(out)

    def emit_value(self, value: Any) -> bytes:
        try:
            return _to_bytes(_encode(value, self.indent))
        except JSONEncodeError as e:
            raise ErrorDumpingTree(e.message) from None


class BinaryStore:
    """sops' binary store: the whole file is the string item ``data``; encrypted, a JSON envelope."""

    name = "binary"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent
        self._json = JSONStore(indent)

    def load_plain(self, data: bytes) -> list[Branch]:
        raw = bytes(data)
        try:
            value: str | bytes = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw
        return [Branch([("data", value)])]

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        return self._json.load_encrypted(data)

    def emit_plain(self, branches: list[Branch]) -> bytes:
        if len(branches) != 1:
            raise BinaryStoreEmitPlainError("there must be exactly one tree branch")
        for k, v in branches[0]:
            if isinstance(k, str) and k == "data":
                if isinstance(v, bytes):
                    return v
                if isinstance(v, str):
                    return _str_to_bytes(v)
                raise BinaryStoreEmitPlainError("'data' key in tree does not have a string value")
        raise BinaryStoreEmitPlainError("no binary data found in tree")

    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes:
        return self._json.emit_encrypted(branches, md)

    def emit_value(self, value: Any) -> bytes:
        raise ErrorDumpingTree(
            "Binary files are not structured and extracting a single value is not possible"
        )
