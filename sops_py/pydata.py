"""Document trees <-> plain Python data, for the library API.

``to_python`` drops comments and turns YAML timestamps into ``datetime``; ``from_python`` builds a
tree from dicts, lists and scalars; ``merge_into`` lays changed Python data over the tree it came
from, keeping every unchanged leaf object (so the cipher's IV stash gives it the same ciphertext),
the comments and the key order.
"""

from __future__ import annotations

from .tree import Branch, Comment, Time

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any


def to_python(tree: Any) -> Any:
    """A tree (a Branch, list or leaf) as plain Python: dicts, lists and scalars; comments dropped."""
    if isinstance(tree, Branch):
        return {k: to_python(v) for k, v in tree if not isinstance(k, Comment)}
    if isinstance(tree, list):
        return [to_python(v) for v in tree if not isinstance(v, Comment)]
    if isinstance(tree, Time):
        import datetime as dt

        return dt.datetime.fromisoformat(tree.rfc3339().replace("Z", "+00:00"))
    return tree


def from_python(obj: Any, where: str = "data") -> Any:
    """A tree value from Python data; ``TypeError`` names the path of anything a sops file cannot hold."""
    import datetime as dt

    if isinstance(obj, dict):
        out = Branch()
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: mapping keys must be str, got {type(k).__name__} {k!r}")
            out.append((k, from_python(v, f"{where}[{k!r}]")))
        return out
    if isinstance(obj, (list, tuple)):
        return [from_python(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (str, bool, int, float, bytes)):
        return obj
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is None:
            raise TypeError(f"{where}: a datetime needs a time zone (sops stores RFC 3339 times)")
        return Time.parse_rfc3339(obj.isoformat().replace("+00:00", "Z"))
    if isinstance(obj, dt.date):
        return obj.isoformat()
    raise TypeError(f"{where}: {type(obj).__name__} cannot be stored in a sops file")


def _same(old: Any, new: Any) -> bool:
    current = to_python(old)
    return type(current) is type(new) and current == new


def merge_into(old: Any, new: Any) -> Any:
    """``new`` (Python data) as a tree, reusing ``old``'s objects wherever nothing changed."""
    if isinstance(old, Branch) and isinstance(new, dict):
        out = Branch()
        kept: set[str] = set()
        for k, v in old:
            if isinstance(k, Comment):
                out.append((k, v))
            elif k in new:
                out.append((k, merge_into(v, new[k])))
                kept.add(k)
        for k, v in new.items():
            if k not in kept:
                if not isinstance(k, str):
                    raise TypeError(f"mapping keys must be str, got {type(k).__name__} {k!r}")
                out.append((k, from_python(v, f"[{k!r}]")))
        return out
    if isinstance(old, list) and not isinstance(old, Branch) and isinstance(new, (list, tuple)):
        items: list[Any] = []
        i = 0
        for v in old:
            if isinstance(v, Comment):
                items.append(v)
            elif i < len(new):
                items.append(merge_into(v, new[i]))
                i += 1
        items.extend(from_python(v, f"[{j}]") for j, v in enumerate(new[i:], start=i))
        return items
    if not isinstance(old, (Branch, list)) and _same(old, new):
        return old
    return from_python(new)
