"""Parsing a JSON document as sops 3.13's ``treeBranchFromJSON`` does, fast.

Valid input takes a fast path through the C ``json`` scanner (Branch objects, sops' number typing,
Go's string decoding); anything it rejects, and any tree too deep for the C stack, is re-read by the
byte-exact emulation of Go's decoder in ``json_go_decoder``, which gives sops' acceptance and its
error messages. :func:`parse_json_document` is the one entry point; errors are ``GoError``.
"""

from __future__ import annotations

import json
import json.scanner
import math
import re
import sys

from ..tree import DEEP_FRAMES, Branch
from .json_go_decoder import (
    INT64_MAX,
    INT64_MIN,
    LONE_SURROGATE,
    GoError,
    GoTokenReader,
    go_decode,
    quote_char,
)

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any, NoReturn

_SURROGATE_ESCAPE_IN_TEXT = re.compile(r"\\u[dD][89abcdefABCDEF]")


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
        if INT64_MIN <= v <= INT64_MAX:
            return v
    return _parse_float_fast(s)


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
        return LONE_SURROGATE.sub("\ufffd", s)

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


def parse_json_document(data: bytes, whole: bool = False) -> Branch:
    """sops 3.13 treeBranchFromJSON; raises GoError with Go's message.

    ``whole``: the input must be exactly one complete object, as sops 3.11 checked an encrypted file
    with ``json.Unmarshal`` before reading it (3.13 no longer does; no sops ever wrote such a file, so
    refusing it costs nothing and keeps data hidden after the object from slipping past review)."""
    # (not while another thread has raised the recursion limit for a deep tree: the C scanner
    # recurses on the C stack, which that limit would no longer protect)
    if _FAST_PATH and sys.getrecursionlimit() < DEEP_FRAMES:
        text = go_decode(data)
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
    reader = GoTokenReader(data, GO_UNMARSHAL_MAX_DEPTH if whole else None)
    root = reader.read_document()
    if whole:
        if reader.stack:  # the reader's quirk: an input cut short loads the items read so far
            raise GoError("unexpected end of JSON input")
        _check_rest(data[reader.pos:])
    return root


def _check_rest(rest: bytes) -> None:
    """Go's checkValid after the top-level value: only white space may follow."""
    stripped = rest.lstrip(b" \t\r\n")
    if stripped:
        raise GoError(f"invalid character {quote_char(stripped[0])} after top-level value")
