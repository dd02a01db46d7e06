"""Value objects without dataclasses (whose import costs ~13 ms at start-up).

A subclass lists its fields in ``__match_args__``; they give it equality and a repr (and, for
``Frozen``, immutability, a hash, copying and pickling), field by field in that order.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any


class Record:
    """A mutable value object: compared and printed by its fields (unhashable, as a dataclass with eq)."""

    __slots__ = ()
    __match_args__: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]

    def _fields(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self.__match_args__])

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()


class Frozen(Record):
    """An immutable value object: also hashed, copied and pickled by its fields."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return type(self), self._fields()  # copy, deepcopy and pickle rebuild through __init__

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._fields())
