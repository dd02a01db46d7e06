"""`set` and `unset`: sops' TreeBranch.Set / Unset on a decrypted tree, and parsing of their arguments.

Everything here follows sops 3.13.2 (``sops.go`` set/unset/equals/valueFromPathAndLeaf,
``cmd/sops/main.go`` parseTreePath/jsonValueToTreeInsertableValue/extractSetArguments,
``cmd/sops/set.go``, ``cmd/sops/unset.go``):

* The value is JSON. Scalars are decoded as ``encoding/json`` decodes into ``interface{}``: every
  number becomes a float64 (``5`` is stored as ``type:float``). Objects go through the JSON store, so
  their numbers are typed as 3.13 does (int64-fitting literals stay ints; sops 3.11 makes them floats).
  A top-level array is rejected by the JSON store (``Invalid --set value format``), as in sops.
* Setting a missing key appends it to the end of its map; an index past the end of a list appends;
  a scalar (or null) in the way is replaced by the maps/lists the rest of the path needs.
* ``changed`` uses sops' ``equals``: same Go type and value, comments compared by text only.
* The places where sops panics (a string index into a list, a negative index, an empty path, ``[]``)
  raise ``GoPanic`` (exit 2, as a Go runtime panic).
* The file is re-encrypted with the same data key and the IV stash, so unchanged values keep their
  ciphertext; lastmodified and the MAC are refreshed.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import Any

from ..datakey import KeyRing
from ..errors import (
    FileAlreadyEncrypted,
    GoPanic,
    InvalidSetFormat,
    SopsError,
)
from ..gotext import go_type
from ..stores import Store, has_sops_key
from ..tree import Branch, Comment
from .crypt import ALREADY_ENCRYPTED, load_encrypted, open_tree, reseal

__all__ = [
    "GoPanic",
    "KeyNotFound",
    "parse_json_value",
    "parse_set_argument",
    "parse_set_path",
    "set_file",
    "set_value",
    "unset_file",
    "unset_value",
    "values_equal",
]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INVALID_UTF8 = re.compile("[\udc80-\udcff]")
_ATOI = re.compile("[+-]?[0-9]+")


class KeyNotFound(SopsError):
    """sops' SopsKeyNotFound (``Key not found: k`` / ``Index N out of bounds``); --idempotent ignores it."""


# ------------------------------------------------------------------ Go formatting helpers

def _go_s(comp: str | int) -> str:
    """A path component through Go's ``%s`` (an int prints as ``%!s(int=N)``)."""
    return comp if isinstance(comp, str) else f"%!s(int={comp})"


def _not_int_panic() -> GoPanic:
    return GoPanic("interface conversion: interface {} is string, not int")


# ------------------------------------------------------------------ argument parsing

_PATH_HINT = 'a path is a list of ["key"] and [index] parts, e.g. \'["db"]["users"][0]\''


def parse_set_path(text: str, error_message: str) -> list[str | int]:
    """sops' parseTreePath for set/unset: any error becomes ``InvalidSetFormat(error_message)`` (exit 7).

    The string is split on ``[``; each non-empty part must end with ``]``; a part starting with a quote
    is a string (first and last characters dropped), anything else an int as Go's strconv.Atoi reads it.
    An empty component (``[]``) or a lone quote (``["]``) makes sops panic (exit 2).
    """
    out: list[str | int] = []
    for comp in text.split("["):
        if comp == "":
            continue
        if not comp.endswith("]"):
            raise InvalidSetFormat(error_message, hint=_PATH_HINT)
        body = comp[:-1]
        if body == "":
            raise GoPanic("runtime error: index out of range [0] with length 0")
        if body[0] in "\"'":
            if len(body) == 1:
                raise GoPanic("runtime error: slice bounds out of range [1:0]")
            out.append(body[1:-1])
            continue
        if not _ATOI.fullmatch(body):
            raise InvalidSetFormat(error_message, hint=_PATH_HINT)
        index = int(body)
        if not _INT64_MIN <= index <= _INT64_MAX:
            raise InvalidSetFormat(error_message, hint=_PATH_HINT)
        out.append(index)
    return out


def _go_json_float(text: str) -> float:
    """A JSON number decoded into float64 as encoding/json does (out of range is an error)."""
    f = float(text)
    if math.isinf(f):
        raise ValueError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return f


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[:1]!r} looking for beginning of value")


def _go_text(data: bytes) -> str:
    """UTF-8 bytes as Go reads them: each byte of an invalid sequence becomes U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _INVALID_UTF8.sub("\ufffd", data.decode("utf-8", "surrogateescape"))


def parse_json_value(data: bytes) -> Any:
    """sops' jsonValueToTreeInsertableValue: a scalar as encoding/json decodes it, an object as a Branch."""
    try:
        value = json.loads(_go_text(data), parse_float=_go_json_float, parse_int=_go_json_float,
                           parse_constant=_reject_constant, object_pairs_hook=list)
    except (ValueError, RecursionError):
        raise InvalidSetFormat("Value for --set is not valid JSON",
                               hint="the value is JSON: quote strings, e.g. '\"secret\"' (or use --value-file)") from None
    if isinstance(value, list):  # an object (pairs list) or an array
        from ..stores.json_store import JSONStore

        try:
            branches = JSONStore().load_plain(data)
        except (SopsError, RecursionError):
            raise InvalidSetFormat("Invalid --set value format") from None
        return branches[0]
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    return value


def parse_set_argument(text: str) -> tuple[list[str | int], Any]:
    """The legacy ``--set '<path> <json>'`` (extractSetArguments): split after the first ``"] "``."""
    head, sep, json_value = text.partition("] ")
    if not sep:
        raise InvalidSetFormat("Invalid --set format")
    value = parse_json_value(json_value.encode("utf-8", "surrogateescape"))
    path = parse_set_path((head + sep).rstrip(" "), "Invalid --set format")
    return path, value


# ------------------------------------------------------------------ sops.go equals / Set / Unset

def values_equal(a: Any, b: Any) -> bool:
    """sops' ``equals``: trees item by item, comments by text, anything else by Go ``==`` (same type)."""
    if isinstance(a, Branch):
        if not isinstance(b, Branch) or len(a) != len(b):
            return False
        return all(values_equal(ka, kb) and values_equal(va, vb) for (ka, va), (kb, vb) in zip(a, b, strict=True))
    if isinstance(a, list):
        if not isinstance(b, list) or isinstance(b, Branch) or len(a) != len(b):
            return False
        return all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Comment):
        return isinstance(b, Comment) and a.value == b.value
    if type(a) is not type(b):  # Go compares interfaces by dynamic type first
        return False
    result: bool = a == b
    return result


def _key_matches(key: object, comp: str | int) -> bool:
    """Go's ``item.Key == path[0]``: equal dynamic types and values (a comment key never matches)."""
    if isinstance(comp, str):
        return isinstance(key, str) and key == comp
    return type(key) is int and key == comp


def _from_path(path: list[str | int], leaf: Any) -> Any:
    """sops' valueFromPathAndLeaf: the maps and lists that put ``leaf`` at ``path``."""
    value = leaf
    for comp in reversed(path):
        value = [value] if isinstance(comp, int) else Branch([(comp, value)])
    return value


def _set(node: Any, path: list[str | int], value: Any) -> tuple[Any, bool]:
    comp = path[0]
    if isinstance(node, Branch):
        for i, (k, v) in enumerate(node):
            if _key_matches(k, comp):
                if len(path) == 1:
                    changed = not values_equal(v, value)
                    node[i] = (k, value)
                else:
                    new, changed = _set(v, path[1:], value)
                    node[i] = (k, new)
                return node, changed
        added = _from_path(path, value)
        if isinstance(added, Branch) and added:
            node.append(added[0])
        return node, True  # an int index into a map adds nothing, but sops still calls it a change
    if isinstance(node, list):
        if not isinstance(comp, int):
            raise _not_int_panic()
        if comp >= len(node):
            node.append(value if len(path) == 1 else _from_path(path[1:], value))
            return node, True
        if comp < 0:
            raise GoPanic(f"runtime error: index out of range [{comp}]")
        if len(path) == 1:
            changed = not values_equal(node[comp], value)
            node[comp] = value
        else:
            node[comp], changed = _set(node[comp], path[1:], value)
        return node, changed
    new_value = _from_path(path, value)
    return new_value, not values_equal(node, new_value)


def set_value(branch: Branch, path: list[str | int], value: Any) -> tuple[Branch, bool]:
    """sops' TreeBranch.Set, in place: (the branch, whether anything changed)."""
    if not path:
        raise GoPanic("runtime error: index out of range [0] with length 0")
    new, changed = _set(branch, path, value)
    assert isinstance(new, Branch)
    return new, changed


def _unset(node: Any, path: list[str | int]) -> Any:
    comp = path[0]
    if isinstance(node, Branch):
        for i, (k, v) in enumerate(node):
            if _key_matches(k, comp):
                if len(path) == 1:
                    del node[i]
                else:
                    node[i] = (k, _unset(v, path[1:]))
                return node
        raise KeyNotFound(f"Key not found: {_go_s(comp)}")
    if isinstance(node, list):
        if not isinstance(comp, int):
            raise _not_int_panic()
        if comp >= len(node):
            raise KeyNotFound(f"Index {comp} out of bounds")
        if len(path) == 1:
            if comp < 0:
                raise GoPanic(f"runtime error: slice bounds out of range [{comp}::]")
            del node[comp]
        else:
            if comp < 0:
                raise GoPanic(f"runtime error: index out of range [{comp}]")
            node[comp] = _unset(node[comp], path[1:])
        return node
    raise SopsError(f"Unsupported type: {go_type(node)} for item '{_go_s(comp)}'")


def unset_value(branch: Branch, path: list[str | int]) -> Branch:
    """sops' TreeBranch.Unset, in place. Raises KeyNotFound for a missing key or index."""
    if not path:
        raise GoPanic("runtime error: index out of range [0] with length 0")
    new = _unset(branch, path)
    assert isinstance(new, Branch)
    return new


# ------------------------------------------------------------------ whole files

def _has_sops_top_level_key(store: Store, branch: Branch) -> bool:
    check = getattr(store, "has_sops_top_level_key", None)
    if check is not None:
        return bool(check(branch))
    return has_sops_key([branch])


def set_file(data: bytes, in_store: Store, out_store: Store, ring: KeyRing, order: list[str] | None,
             ignore_mac: bool, path: list[str | int], value: Any,
             now: _dt.datetime | None = None) -> tuple[bytes, bool]:
    """Decrypt an encrypted file, set ``value`` at ``path``, re-encrypt: (file bytes, changed)."""
    branches, md = load_encrypted(data, in_store)
    opened = open_tree(branches, md, ring, order, ignore_mac)
    if not opened.branches:
        raise GoPanic("runtime error: index out of range [0] with length 0")
    opened.branches[0], changed = set_value(opened.branches[0], path, value)
    if _has_sops_top_level_key(out_store, opened.branches[0]):
        raise FileAlreadyEncrypted(ALREADY_ENCRYPTED)
    return reseal(out_store, opened.branches, md, opened.cipher, now), changed


def unset_file(data: bytes, in_store: Store, out_store: Store, ring: KeyRing, order: list[str] | None,
               ignore_mac: bool, path: list[str | int], now: _dt.datetime | None = None) -> bytes:
    """Decrypt an encrypted file, remove ``path``, re-encrypt. Raises KeyNotFound when it is missing."""
    branches, md = load_encrypted(data, in_store)
    opened = open_tree(branches, md, ring, order, ignore_mac)
    if not opened.branches:
        raise GoPanic("runtime error: index out of range [0] with length 0")
    opened.branches[0] = unset_value(opened.branches[0], path)
    return reseal(out_store, opened.branches, md, opened.cipher, now)
