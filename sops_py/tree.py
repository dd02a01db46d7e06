"""The format-neutral document tree every store loads into and emits from.

* A mapping is a ``Branch``: a list of ``(key, value)`` pairs, keeping order and duplicate keys.
  A comment inside a mapping is an item whose key is a ``Comment`` and whose value is ``None``.
* A sequence is a plain ``list``; comments inside it are ``Comment`` elements.
* Leaves are ``str``, ``bytes`` (string data that is not valid UTF-8), ``int``, ``float``, ``bool``,
  ``Time`` or ``None``.
A file is a list of branches, one per document (only YAML has more than one).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment line, without its leading marker. ``inline`` marks a comment that sat after a value."""

    value: str
    inline: bool = False


class Branch(list):  # type: ignore[type-arg]
    """An ordered mapping: a list of ``(key, value)`` tuples."""

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self:
            if k == key and isinstance(k, str):
                return v
        return default


_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True, slots=True)
class Time:
    """A timestamp kept as its Go ``time.Time.MarshalText`` (RFC 3339 with nanoseconds) text.

    Python's datetime has only microseconds; Go keeps nanoseconds, so the canonical text is stored.
    """

    text: str

    @classmethod
    def from_parts(
        cls, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, nanos: int = 0,
        offset_minutes: int | None = 0,
    ) -> Time:
        base = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
        if nanos:
            base += "." + f"{nanos:09d}".rstrip("0")
        if not offset_minutes:
            return cls(base + "Z")
        sign = "+" if offset_minutes > 0 else "-"
        off = abs(offset_minutes)
        return cls(f"{base}{sign}{off // 60:02d}:{off % 60:02d}")

    @classmethod
    def parse_rfc3339(cls, text: str) -> Time:
        """Parse RFC 3339 text as Go's ``time.UnmarshalText`` would; raises ValueError."""
        m = _TIME_RE.match(text)
        if not m:
            raise ValueError(f"cannot parse {text!r} as RFC 3339 time")
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        _dt.datetime(y, mo, d, h, mi, s)  # validates ranges
        frac = m.group(7) or ""
        nanos = int((frac + "000000000")[:9]) if frac else 0
        zone = m.group(8)
        if zone in ("Z", "z"):
            off = 0
        else:
            off = (int(zone[1:3]) * 60 + int(zone[4:6])) * (1 if zone[0] == "+" else -1)
        return cls.from_parts(y, mo, d, h, mi, s, nanos, off)

    def rfc3339(self) -> str:
        """The text without fractional seconds (Go's time.RFC3339 layout)."""
        head, sep, rest = self.text.partition(".")
        if not sep:
            return self.text
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        return head + rest[i:]


Leaf = Union[str, bytes, int, float, bool, Time, None]
Value = Any  # Branch | list[Value] | Leaf | Comment  (recursive; kept loose for speed and mypy)
Branches = list[Branch]


def is_sops_branch_key(key: object) -> bool:
    return isinstance(key, str) and key == "sops"
