"""Flattening of the ``sops`` metadata for the flat stores (dotenv and INI), as sops 3.13's
``stores/flatten.go`` and ``stores/metadata.go`` (SerializeMetadata / ExtractMetadata).

A nested path becomes one key: a map step is written ``__map_<key>``, a list step ``__list_<index>``
(0-based, comments not counted), e.g. ``age__list_0__map_enc``. dotenv prefixes every key with
``sops_``; INI keeps them without a prefix inside a ``[sops]`` section. Empty maps and lists produce no
keys.

Writing follows 3.13: the metadata tree is sorted at every level (``metadata.to_branch``) and walked
depth-first, so list items keep their numeric order (sops 3.11 sorted the full key strings instead,
putting ``__list_10`` before ``__list_2``). Reading does not depend on the order.

Unflattening follows 3.13's ``unflattenTreeBranch``: every key is split into steps, the steps are
placed into a tree, and the tree is converted back with every map's keys sorted. Its errors are
3.13's: ``Duplicate value`` (two keys with the same path), ``Type mismatch`` (a path is both a value
and a container, or both a map and a list) and ``Incomplete list`` (list indices not exactly
0..n-1). A list index that is not a number counts as 0, as Go's ignored ``strconv.Atoi`` error does.

The module also holds the Go value formatting both flat stores need: ``ValToString`` (how a
non-string value is written), ``%v``/``%s``/``%q`` and the surrogate-escape convention that keeps
input bytes that are not UTF-8 unchanged from load to emit.
"""

from __future__ import annotations

import math

from ..errors import SopsError
from ..gofmt import format_g, format_upper_g
from ..gotext import go_quote as go_quote  # re-exported for the stores
from ..metadata import CRYPT_RULES, KEY_FIELDS, Metadata, to_branch
from ..metadata import load as load_metadata
from ..tree import Branch, Comment, Time

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LIST_SEPARATOR",
    "MAP_SEPARATOR",
    "SOPS_PREFIX",
    "escape_newlines",
    "flatten_branch",
    "flatten_metadata",
    "format_f1",
    "go_bytes",
    "go_quote",
    "go_sprint",
    "go_sprint_s",
    "go_string",
    "tokenize",
    "unescape_newlines",
    "unflatten_branch",
    "unflatten_metadata",
    "val_to_string",
]

MAP_SEPARATOR = "__map_"
LIST_SEPARATOR = "__list_"
SOPS_PREFIX = "sops_"

_INT_MAX = (1 << 63) - 1
_INT_MIN = -(1 << 63)


# ------------------------------------------------------------------------------------------------
# Flatten


def _flatten_value(value: Any, key: str, out: list[tuple[str, Any]], seen: set[str]) -> None:
    if isinstance(value, Branch):
        _flatten_map(value, key + MAP_SEPARATOR, out, seen)
        return
    if isinstance(value, list):
        i = 0
        for item in value:
            if isinstance(item, Comment):
                continue
            _flatten_value(item, f"{key}{LIST_SEPARATOR}{i}", out, seen)
            i += 1
        return
    if key in seen:
        raise SopsError(f"Found key collision {go_quote(key)} while flattening")
    seen.add(key)
    out.append((key, value))


def _flatten_map(branch: Branch, prefix: str, out: list[tuple[str, Any]], seen: set[str]) -> None:
    for k, v in branch:
        if isinstance(k, Comment):
            continue
        if not isinstance(k, str):
            raise SopsError(f"Found non-string key {k!r} when flattening")
        _flatten_value(v, prefix + k, out, seen)


def flatten_branch(branch: Branch, prefix: str = "") -> list[tuple[str, Any]]:
    """sops' flattenTreeBranch: the leaves of a tree as ``(flat key, value)`` pairs, in tree order."""
    out: list[tuple[str, Any]] = []
    _flatten_map(branch, prefix, out, set())
    return out


def escape_newlines(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """MetadataOpts.EscapeNewlines on write: newlines in string values become the two characters ``\\n``."""
    return [(k, v.replace("\n", "\\n") if isinstance(v, str) else v) for k, v in items]


def unescape_newlines(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """MetadataOpts.EscapeNewlines on read: every two-character ``\\n`` in a string value becomes a newline."""
    return [(k, v.replace("\\n", "\n") if isinstance(v, str) else v) for k, v in items]


def flatten_metadata(md: Metadata, prefix: str = "", escape: bool = False) -> list[tuple[str, Any]]:
    """The metadata as sops 3.13 embeds it in a flat store: sorted, flattened, optionally escaped."""
    items = flatten_branch(to_branch(md), prefix)
    return escape_newlines(items) if escape else items


# ------------------------------------------------------------------------------------------------
# Unflatten


def _go_atoi(s: str) -> int:
    """Go ``strconv.Atoi`` with its error ignored: 0 on a syntax error, clamped on overflow."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if not body or not all("0" <= c <= "9" for c in body):
        return 0
    v = int(s)
    if v > _INT_MAX:
        return _INT_MAX
    if v < _INT_MIN:
        return _INT_MIN
    return v


def tokenize(path: str) -> list[str | int]:
    """sops' tokenize: a flat key as its steps; a ``str`` is a map step, an ``int`` a list step."""
    tokens: list[str | int] = []
    state = 0  # 0 normal, 1 map, 2 list
    last = 0
    i = 0
    n = len(path)

    def finish() -> None:
        if state == 0:
            tokens.append(path[last:i])
        elif state == 1:
            tokens.append(path[last + len(MAP_SEPARATOR):i])
        else:
            tokens.append(_go_atoi(path[last + len(LIST_SEPARATOR):i]))

    while i < n:
        if path.startswith(MAP_SEPARATOR, i):
            finish()
            last = i
            state = 1
            i += len(MAP_SEPARATOR)
        elif path.startswith(LIST_SEPARATOR, i):
            finish()
            last = i
            state = 2
            i += len(LIST_SEPARATOR)
        else:
            i += 1
    finish()
    return tokens


class _Node:
    # a plain class: dataclasses cost ~13 ms to import
    __slots__ = ("has_value", "indices", "subkeys", "value")

    def __init__(self) -> None:
        self.has_value = False
        self.value: Any = None
        self.subkeys: dict[str, _Node] = {}
        self.indices: dict[int, _Node] = {}


def _sort_key(s: str) -> bytes:
    """Go compares strings by their bytes."""
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


def _place(value: Any, path: list[str | int], root: _Node) -> None:
    node = root
    for tok in path:
        if isinstance(tok, str):
            nxt = node.subkeys.get(tok)
            if nxt is None:
                nxt = node.subkeys[tok] = _Node()
        else:
            nxt = node.indices.get(tok)
            if nxt is None:
                nxt = node.indices[tok] = _Node()
        node = nxt
    if node.has_value:
        raise SopsError("Duplicate value")
    node.has_value = True
    node.value = value


def _convert(root: _Node) -> Any:
    # Go's recursive convert, made iterative so that long keys cannot exhaust the Python stack:
    # nodes are checked in Go's pre-order (map keys sorted), then built bottom-up.
    results: dict[int, Any] = {}
    stack: list[_Node] = [root]
    order: list[_Node] = []
    while stack:
        node = stack.pop()
        kinds = int(node.has_value) + int(bool(node.subkeys)) + int(bool(node.indices))
        if kinds > 1:
            raise SopsError("Type mismatch")
        order.append(node)
        if node.subkeys:
            stack.extend(node.subkeys[k] for k in sorted(node.subkeys, key=_sort_key, reverse=True))
        elif node.indices:
            lo, hi = min(node.indices), max(node.indices)
            if lo != 0 or hi + 1 != len(node.indices):
                raise SopsError("Incomplete list")
            stack.extend(node.indices[i] for i in range(len(node.indices) - 1, -1, -1))
    for node in reversed(order):
        if node.has_value:
            res: Any = node.value
        elif node.subkeys:
            res = Branch((k, results[id(node.subkeys[k])]) for k in sorted(node.subkeys, key=_sort_key))
        elif node.indices:
            res = [results[id(node.indices[i])] for i in range(len(node.indices))]
        else:
            res = Branch()
        results[id(node)] = res
    return results[id(root)]


def unflatten_branch(items: list[tuple[Any, Any]]) -> Branch:
    """sops 3.13's unflattenTreeBranch: comments are skipped, maps come back with sorted keys."""
    root = _Node()
    for k, v in items:
        if isinstance(k, Comment):
            continue
        if not isinstance(k, str):
            raise SopsError(f"Found non-string key {k!r} when unflattening")
        try:
            _place(v, tokenize(k), root)
        except SopsError as e:
            raise SopsError(f"Error while unflattening {go_quote(k)}: {e}") from None
    try:
        result = _convert(root)
    except SopsError as e:
        raise SopsError(f"Error while unflattening: {e}") from None
    if not isinstance(result, Branch):
        raise SopsError("Internal error: cannot find root")
    return result


_METADATA_FIELDS = frozenset(
    {*KEY_FIELDS, *CRYPT_RULES, "key_groups", "lastmodified", "mac", "mac_only_encrypted",
     "shamir_threshold", "version"}
)


def unflatten_metadata(items: list[tuple[Any, Any]], unescape: bool = False) -> Metadata:
    """Metadata from flattened ``(key, value)`` items (prefix already removed).

    Keys sops does not know are ignored, as mapstructure ignores them; nesting too deep for Python's
    stack is reported as an error rather than crashing.
    """
    if unescape:
        items = unescape_newlines(items)
    tree = unflatten_branch(items)
    known = Branch((k, v) for k, v in tree if k in _METADATA_FIELDS)
    try:
        return load_metadata(known)
    except RecursionError:
        raise SopsError("Error while decoding metadata: nesting too deep") from None


# ------------------------------------------------------------------------------------------------
# Go value formatting shared by the flat stores


def go_string(value: str | bytes) -> str:
    """A tree string (``bytes`` when not UTF-8) as text whose surrogate escapes stand for raw bytes."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value


def go_bytes(text: str) -> bytes:
    """Text (surrogate escapes for raw bytes) as the bytes Go would write; lone surrogates as U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _time_string(t: Time) -> str:
    """Go ``time.Time.String()`` for a parsed time (UTC, or an unnamed fixed zone)."""
    import re  # only for Time values

    m = re.match(_TIME_TEXT, t.text)
    if not m:
        return t.text
    date, clock, frac, zone = m.groups()
    if zone in ("Z", "z", "+00:00", "-00:00"):
        tz = "+0000 UTC"
    else:
        off = zone.replace(":", "")
        tz = f"{off} {off}"
    return f"{date} {clock}{frac or ''} {tz}"


_TIME_TEXT = r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$"


def go_sprint(value: Any) -> str:
    """Go's ``fmt.Sprintf("%v", value)`` for a tree value (maps print as ``[{key value} ...]``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, (str, bytes)):
        return go_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_g(value)
    if isinstance(value, Time):
        return _time_string(value)
    if isinstance(value, Comment):
        return "{" + value.value + "}"
    if isinstance(value, Branch):
        return "[" + " ".join("{" + go_sprint(k) + " " + go_sprint(v) + "}" for k, v in value) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    return str(value)


def go_sprint_s(value: Any) -> str:
    """Go's ``%s`` of a tree key: strings as they are, other scalars as ``%!s(type=value)``."""
    if isinstance(value, (str, bytes)):
        return go_string(value)
    if isinstance(value, Comment):
        return "{" + value.value + "}"
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, bool):
        return f"%!s(bool={go_sprint(value)})"
    if isinstance(value, int):
        return f"%!s(int={value})"
    if isinstance(value, float):
        return f"%!s(float64={go_sprint(value)})"
    return go_sprint(value)


def val_to_string(value: Any) -> str:
    """sops' ``stores.ValToString``: how the flat stores write a value that is not a string.

    floats use Go's ``'G'`` shortest layout (``1E+21``) and get ``.0`` when they would read as an
    integer; bools are ``true``/``false``; times RFC 3339 without a fraction; the rest is ``%v``.
    """
    if isinstance(value, float):
        text = format_upper_g(value)
        if "." not in text and "E" not in text:
            text = format_f1(value)
        return text
    if isinstance(value, Time):
        return value.rfc3339()
    return go_sprint(value)


def format_f1(value: float) -> str:
    """Go ``strconv.FormatFloat(v, 'f', 1, 64)`` for a value whose 'G' form has no point or exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.1f}"
