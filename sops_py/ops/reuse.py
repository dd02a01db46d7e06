"""Keeping a value's exact ciphertext where it sits unchanged (minimal-churn re-encryption).

The cipher's IV stash is keyed by what sops keys it by: the value's type, its plaintext and its AAD,
which is the path of mapping keys without list indices. Two equal values under one AAD (``[a, a]``,
``[{x: 1}, {x: 1}]``, the same key in two YAML documents) therefore share one stash entry, and only
one of them can get its old IV back: re-encrypting an unchanged file would still change the other.
This module closes that gap by position: every leaf is addressed by its full path (document, keys,
list indices, the n-th comment of a mapping), and a leaf whose full path, type and plaintext are
those of a leaf in a previous version of the file gets that leaf's token back after sealing. The
token is valid there: same data key (the caller's concern), same AAD (same path), same plaintext.
The MAC hashes plaintext only, so it is unaffected.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ..tree import Branch

    Where = tuple[Any, ...]  # a leaf's full path
    Slot = tuple[list[Any], int, int]  # (container, index, kind)

_VALUE, _COMMENT, _ITEM = 0, 1, 2  # a mapping's value, a mapping's comment line, a list item


def positions(branches: list[Branch]) -> dict[Where, Slot]:
    """Every leaf of the documents by full path: where it sits, so it can be read or replaced.

    Mapping keys are named (a repeated key by its occurrence), so a key moved within its mapping
    keeps its path; list items and a mapping's comments are numbered."""
    from ..tree import Branch, Comment

    out: dict[Where, Slot] = {}

    def walk(node: Any, path: Where) -> None:
        if isinstance(node, Branch):
            seen: dict[str, int] = {}
            comments = 0
            for i, (k, v) in enumerate(node):
                if isinstance(k, Comment):
                    out[path + (("#", comments),)] = (node, i, _COMMENT)
                    comments += 1
                    continue
                n = seen.get(k, 0)
                seen[k] = n + 1
                child = (*path, k if n == 0 else (k, n))
                if isinstance(v, list):
                    walk(v, child)
                elif v is not None:
                    out[child] = (node, i, _VALUE)
            return
        for i, v in enumerate(node):
            if isinstance(v, list):
                walk(v, (*path, i))
            elif v is not None:
                out[path + (i,)] = (node, i, _ITEM)

    for d, doc in enumerate(branches):
        walk(doc, (d,))
    return out


def read(slot: Slot) -> Any:
    container, i, kind = slot
    if kind == _VALUE:
        return container[i][1]
    if kind == _COMMENT:
        return container[i][0].value
    return container[i]


def _read_plain(slot: Slot) -> Any:
    """A leaf's plaintext for comparison (a mapping's comment as a Comment, as a list's comment is)."""
    container, i, kind = slot
    return container[i][0] if kind == _COMMENT else read(slot)


def _put(slot: Slot, token: str) -> None:
    from ..tree import Comment

    container, i, kind = slot
    if kind == _VALUE:
        container[i] = (container[i][0], token)
    elif kind == _COMMENT:
        container[i] = (Comment(token, container[i][0].inline), None)
    else:
        container[i] = token


class Previous:
    """A previous version of a file: its tokens by full path, captured before it is decrypted in
    place, and its plaintext once it is (``decrypted``)."""

    __slots__ = ("_slots", "plain", "tokens")

    def __init__(self, branches: list[Branch]) -> None:
        self._slots = positions(branches)
        self.tokens: dict[Where, Any] = {p: read(s) for p, s in self._slots.items()}
        self.plain: dict[Where, Any] = {}

    def decrypted(self) -> Previous:
        """Record the plaintext, after the tree was decrypted in place."""
        self.plain = {p: _read_plain(s) for p, s in self._slots.items()}
        return self


class Pending:
    """A new plaintext tree about to be sealed: its leaves' positions and plaintext, taken before."""

    __slots__ = ("plain", "slots")

    def __init__(self, branches: list[Branch]) -> None:
        self.slots = positions(branches)
        self.plain = {p: _read_plain(s) for p, s in self.slots.items()}

    def keep(self, previous: Iterable[Previous]) -> int:
        """After sealing: give every leaf unchanged at its full path the token it had in the first
        previous version holding it. Returns how many were kept."""
        from ..cipher import is_encrypted
        sources = list(previous)
        kept = 0
        for path, slot in self.slots.items():
            if not is_encrypted(read(slot)):
                continue  # left in clear by the rules (or empty): nothing to keep
            value = self.plain[path]
            for old in sources:
                token = old.tokens.get(path)
                if token is not None and is_encrypted(token) and identical(old.plain.get(path), value):
                    if token != read(slot):
                        _put(slot, token)
                    kept += 1
                    break
        return kept


def identical(a: object, b: object) -> bool:
    """Tree equality that also compares types (``1``, ``1.0`` and ``True`` are equal in Python, but
    not in a sops file: each is encrypted with its type)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        assert isinstance(b, list)
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if isinstance(x, tuple):  # a Branch item: (key, value)
                if not (isinstance(y, tuple) and identical(x[0], y[0]) and identical(x[1], y[1])):
                    return False
            elif not identical(x, y):
                return False
        return True
    if isinstance(a, float) and a != a:
        return b != b  # NaN: the same value for a sops file
    return a == b
