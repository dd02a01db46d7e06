"""sops' tree path syntax (``["a"][0]['b']``) used by --extract, set and unset."""

from __future__ import annotations

from . import log
from .errors import InvalidTreePathFormat, SopsError
from .tree import Branch

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any


def parse_tree_path(text: str) -> list[str | int]:
    """Parse ``["key"][0]`` into ["key", 0] as sops' parseTreePath (split on '[', empty parts skipped)."""
    out: list[str | int] = []
    for comp in text.split("["):
        if comp == "":
            continue
        if not comp.endswith("]"):
            raise InvalidTreePathFormat(f"error parsing --extract path: component {comp} doesn't end with ]")
        comp = comp[:-1]
        if comp[:1] in ("'", '"'):
            out.append(comp[1:-1])
            continue
        sign = comp[:1] in ("+", "-")
        if not comp[int(sign):].isdigit() or not comp.isascii():
            raise InvalidTreePathFormat(
                f'error parsing --extract path: strconv.Atoi: parsing "{comp}": invalid syntax'
            )
        out.append(int(comp))
    return out


def truncate(branch: Branch, path: list[str | int]) -> Any:
    """The value at ``path`` (sops' Truncate); list indices count comment items too, as in sops."""
    if log.enabled(20):
        # Go's fmt.Sprint of the []interface{} path: ["a", 0] -> [a 0]
        log.info("Truncating tree", name="SOPS", fields={"path": "[" + " ".join(map(str, path)) + "]"})
    current: Any = branch
    for comp in path:
        if isinstance(comp, str):
            if isinstance(current, Branch):
                for k, v in current:
                    if isinstance(k, str) and k == comp:
                        current = v
                        break
                else:
                    raise SopsError(f"error truncating tree: component ['{comp}'] not found")
            else:
                raise SopsError(f"error truncating tree: component ['{comp}'] not found")
        else:
            if not isinstance(current, list) or isinstance(current, Branch):
                raise SopsError(
                    f"error truncating tree: component [{comp}] is integer, but tree part is not a slice"
                )
            if comp >= len(current) or comp < 0:
                raise SopsError(f"error truncating tree: component [{comp}] accesses out of bounds")
            current = current[comp]
    return current
