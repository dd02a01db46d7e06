"""The format-neutral document tree every store loads into and emits from.

* A mapping is a ``Branch``: a list of ``(key, value)`` pairs, keeping order and duplicate keys.
  A comment inside a mapping is an item whose key is a ``Comment`` and whose value is ``None``.
* A sequence is a plain ``list``; comments inside it are ``Comment`` elements.
* Leaves are ``str``, ``bytes`` (string data that is not valid UTF-8), ``int``, ``float``, ``bool``,
  ``Time`` or ``None``.
A file is a list of branches, one per document (only YAML has more than one).
"""

from __future__ import annotations

from .errors import CouldNotReadInputFile
from .record import Frozen

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any, Union


class Comment(Frozen):
    """A comment line, without its leading marker. ``inline`` marks a comment that sat after a value.

    Compared, hashed and printed by value."""

    __slots__ = ("inline", "value")
    __match_args__ = ("value", "inline")
    value: str
    inline: bool

    def __init__(self, value: str, inline: bool = False) -> None:
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "inline", inline)


class Branch(list):  # type: ignore[type-arg]
    """An ordered mapping: a list of ``(key, value)`` tuples."""

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self:
            if k == key and isinstance(k, str):
                return v
        return default


_TIME_PATTERN = r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"


class Time(Frozen):
    """A timestamp kept as its Go ``time.Time.MarshalText`` (RFC 3339 with nanoseconds) text.

    Python's datetime has only microseconds; Go keeps nanoseconds, so the canonical text is stored.
    Compared, hashed and printed by value.
    """

    __slots__ = ("text",)
    __match_args__ = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        object.__setattr__(self, "text", text)

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
        groups = _time_groups(text)
        if groups is None:
            raise ValueError(f"cannot parse {text!r} as RFC 3339 time")
        y, mo, d, h, mi, s = (int(g) for g in groups[:6])
        _check_date_time(y, mo, d, h, mi, s)
        frac = groups[6] or ""
        nanos = int((frac + "000000000")[:9]) if frac else 0
        zone = groups[7]
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


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def _time_groups(text: str) -> tuple[Any, ...] | None:
    """The groups of ``_TIME_PATTERN`` matched against ``text``, or None. Plain ASCII text (every
    timestamp sops writes) is read with str methods; anything else goes to the regex, compiled on first
    use (``re`` costs ms at start-up, and every decrypt parses lastmodified)."""
    if len(text) >= 20 and text[4] == "-" and text[7] == "-" and text[10] in "Tt" and text[13] == ":" \
            and text[16] == ":":
        head = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
        rest = text[19:]
        frac = None
        if rest.startswith("."):
            end = 1
            while end < len(rest) and rest[end].isascii() and rest[end].isdigit():
                end += 1
            frac, rest = rest[1:end], rest[end:]
        if all(_digits(g) for g in head) and frac != "":
            if rest in ("Z", "z"):
                return (*head, frac, rest)
            if len(rest) == 6 and rest[0] in "+-" and rest[3] == ":" and _digits(rest[1:3]) and _digits(rest[4:6]):
                return (*head, frac, rest)
    import re  # odd text only: `re` costs ms at start-up (re.compile keeps the compiled pattern)

    m = re.compile(_TIME_PATTERN).match(text)
    return m.groups() if m else None


def days_in_month(month: int, year: int) -> int:
    """The days of a month in the proleptic Gregorian calendar (Go's and Python's)."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31



def _check_date_time(y: int, mo: int, d: int, h: int, mi: int, s: int) -> None:
    """The range checks datetime.datetime(y, mo, d, h, mi, s) makes, with its messages, without
    importing datetime (which pulls in ~1 ms of modules) for every timestamp parsed."""
    if not 1 <= y <= 9999:
        raise ValueError(f"year {y} is out of range")
    if not 1 <= mo <= 12:
        raise ValueError("month must be in 1..12")
    if not 1 <= d <= days_in_month(mo, y):
        raise ValueError("day is out of range for month")
    if not 0 <= h <= 23:
        raise ValueError("hour must be in 0..23")
    if not 0 <= mi <= 59:
        raise ValueError("minute must be in 0..59")
    if not 0 <= s <= 59:
        raise ValueError("second must be in 0..59")


if TYPE_CHECKING:
    Leaf = Union[str, bytes, int, float, bool, Time, None]
    Value = Any  # Branch | list[Value] | Leaf | Comment  (recursive; kept loose for speed and mypy)
Branches = list[Branch]


def is_sops_branch_key(key: object) -> bool:
    return isinstance(key, str) and key == "sops"


# ------------------------------------------------------------------------------- deep trees

# How deep a tree may nest. yaml.v3 stops at 10,000 flow levels and 10,000 block levels; sops
# encrypts 10,000-level JSON. Past this, stores refuse a document with one line (TooDeep).
MAX_DEPTH = 20_100
# Python frames a recursive pass over a MAX_DEPTH tree may use (a few per level).
DEEP_FRAMES = 8 * MAX_DEPTH + 2_000
_DEEP_STACK = 512 << 20  # bytes of (virtual) stack for a deep pass run on its own thread


class RecursionRoom:
    """Raise Python's recursion limit to ``DEEP_FRAMES`` around a pass that recurses in pure
    Python (each level a Python-to-Python call): CPython 3.11+ runs those without growing the C
    stack, so only the limit stands between a deep tree and a RecursionError. Nested and
    concurrent users are counted; the last one out restores the limit."""

    _lock: Any = None  # created on first use (threading costs start-up time)
    _users = 0
    _saved = 0

    def __enter__(self) -> None:
        import threading

        cls = RecursionRoom
        if cls._lock is None:
            cls._lock = threading.Lock()
        with cls._lock:
            if cls._users == 0:
                import sys

                cls._saved = sys.getrecursionlimit()
                if cls._saved < DEEP_FRAMES:
                    sys.setrecursionlimit(DEEP_FRAMES)
            cls._users += 1

    def __exit__(self, *exc: object) -> None:
        import sys

        cls = RecursionRoom
        assert cls._lock is not None
        with cls._lock:
            cls._users -= 1
            if cls._users == 0:
                sys.setrecursionlimit(cls._saved)


def call_deep(fn: Any, *args: Any) -> Any:
    """``fn(*args)``; when that overflows the recursion limit (a very deep tree), run it again on a
    thread with a big stack and a recursion limit of ``DEEP_FRAMES``, where recursion through C code
    (libyaml, ``json``, generators) is safe too. For pure functions only: the first try is thrown
    away. Shallow input, nearly every file, pays nothing."""
    try:
        return fn(*args)
    except RecursionError:
        pass
    import threading

    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with RecursionRoom():
                result.append(fn(*args))
        except BaseException as e:  # handed to the caller's thread
            failure.append(e)

    old = threading.stack_size()
    threading.stack_size(_DEEP_STACK)
    try:
        worker = threading.Thread(target=run, name="sops-py-deep", daemon=True)
        worker.start()
    finally:
        threading.stack_size(old)
    worker.join()
    if failure:
        if isinstance(failure[0], RecursionError):
            raise TooDeep() from None
        raise failure[0]
    return result[0]


class TooDeep(CouldNotReadInputFile):
    """A tree deeper than any pass supports (deeper than sops goes: it refuses such files too)."""

    def __init__(self) -> None:
        super().__init__(f"document nests deeper than {MAX_DEPTH} levels")
