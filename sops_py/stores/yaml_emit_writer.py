"""The low-level half of the YAML emitter: yaml.v3's writer state and its primitive actions.

yaml.v3's emitter is a state machine over an event stream; what shapes sops' output is a small part
of its state (current column, indentation, the "whitespace"/"indention" flags, the foot-comment
indent and the pending head/foot/tail/line comment slots) and the primitive actions that move it:
breaks, indents, indicators, comments, and scalars in each style. :class:`Writer` emulates exactly
that; the walk over sops' trees that calls these actions in the Go event order is in ``yaml_emit``.
"""

from __future__ import annotations

from ..tree import Time
from .yaml_emit_patterns import regexes
from .yaml_emit_scalar import (
    BREAK_CHARS,
    DOUBLE,
    FALSE_INFO,
    LITERAL,
    MERGE_INFO,
    NULL_INFO,
    PLAIN,
    TRUE_INFO,
    ScalarInfo,
    binary_info,
    float_text,
    str_info,
)

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any


def _has_break(s: str) -> bool:
    return "\n" in s or "\r" in s or not s.isascii() and ("\x85" in s or "\u2028" in s or "\u2029" in s)


class Writer:
    """Emulates the parts of yaml.v3's emitter state that shape sops's output, and the primitive
    actions on it; ``yaml_emit._Emitter`` adds the walk over the tree."""

    __slots__ = (
        "out", "col", "ind", "ws", "indention", "foot_ind", "head", "foot", "tail", "line", "key_line", "bi", "cache",
    )

    def __init__(self, best_indent: int) -> None:
        self.out: list[str] = []
        self.col = 0
        self.ind = -1
        self.ws = True
        self.indention = True
        self.foot_ind = -1
        self.head = ""
        self.foot = ""
        self.tail = ""
        # yaml.v3's line_comment and key_line_comment slots: sops 3.13 puts an inline comment on the
        # node of the value after it; a container's line comment waits for the next place the emitter
        # writes one, as Go's does
        self.line = ""
        self.key_line = ""
        self.bi = best_indent
        self.cache: dict[str, ScalarInfo] = {}

    # ---- primitives ------------------------------------------------------------------------------

    def put_break(self) -> None:
        self.out.append("\n")
        self.col = 0
        self.indention = True

    def write_indent(self) -> None:
        i = self.ind if self.ind > 0 else 0
        out = self.out
        if not self.indention or self.col > i or (self.col == i and not self.ws):
            out.append("\n")
            self.col = 0
            self.indention = True
        if self.foot_ind == i:
            out.append("\n")
            self.col = 0
            self.indention = True
        if self.col < i:
            out.append(" " * (i - self.col))
            self.col = i
        self.ws = True
        self.foot_ind = -1

    def indicator(self, text: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.ws:
            self.out.append(" ")
            self.col += 1
        self.out.append(text)
        self.col += len(text)
        self.ws = is_ws
        self.indention = self.indention and is_indention

    def write_comment(self, comment: str) -> None:
        out = self.out
        if comment[0] == "#" and not _has_break(comment):
            out.append(comment)
            out.append("\n")
            self.col = 0
            self.indention = True
            self.ws = True
            return
        breaks = False
        pound = False
        for part in regexes().break_split.split(comment):
            if not part:
                continue
            if part in BREAK_CHARS:
                out.append(part)
                self.col = 0
                self.indention = True
                breaks = True
                pound = False
                continue
            if breaks:
                self.write_indent()
            if not pound:
                if part[0] != "#":
                    out.append("# ")
                    self.col += 2
                pound = True
            out.append(part)
            self.col += len(part)
            self.indention = False
            breaks = False
        if not breaks:
            self.put_break()
        self.ws = True

    def process_head(self) -> None:
        if self.tail:
            self.write_indent()
            self.write_comment(self.tail)
            self.tail = ""
            self.foot_ind = self.ind if self.ind > 0 else 0
        if self.head:
            self.write_indent()
            self.write_comment(self.head)
            self.head = ""

    def process_line(self) -> None:
        """yaml_emitter_process_line_comment: the pending line comment after what was just written."""
        if self.line:
            if not self.ws:
                self.out.append(" ")
                self.col += 1
            self.write_comment(self.line)
            self.line = ""

    def process_foot(self) -> None:
        if self.foot:
            self.write_indent()
            self.write_comment(self.foot)
            self.foot = ""
            self.foot_ind = self.ind if self.ind > 0 else 0

    def _increase(self, flow: bool, top_seq: bool) -> None:
        ind = self.ind
        if ind < 0:
            self.ind = self.bi if flow else 0
        elif top_seq:
            self.ind = ind + 2
        else:
            bi = self.bi
            self.ind = bi * ((ind + bi) // bi)

    # ---- scalars ---------------------------------------------------------------------------------

    def info(self, v: Any) -> ScalarInfo:
        if isinstance(v, str):
            r = self.cache.get(v)
            if r is None:
                r = MERGE_INFO if v == "<<" else str_info(v)
                if len(v) <= 128:
                    self.cache[v] = r
            return r
        if v is None:
            return NULL_INFO
        if v is True:
            return TRUE_INFO
        if v is False:
            return FALSE_INFO
        if isinstance(v, int):
            t = str(v)
            return (PLAIN, t, "", False, len(t))
        if isinstance(v, float):
            t = float_text(v)
            return (PLAIN, t, "", False, len(t))
        if isinstance(v, Time):
            return (PLAIN, v.text, "", False, len(v.text))
        if isinstance(v, (bytes, bytearray)):
            try:
                return self.info(bytes(v).decode("utf-8"))
            except UnicodeDecodeError:
                return binary_info(bytes(v))
        raise TypeError(f"cannot emit value of type {type(v).__name__} as YAML")

    def scalar(self, info: ScalarInfo, top_seq: bool) -> None:
        style, text, tag = info[0], info[1], info[2]
        out = self.out
        if tag:
            if not self.ws:
                out.append(" ")
                self.col += 1
            out.append(tag)
            self.col += len(tag)
            self.ws = False
            self.indention = False
        if style <= DOUBLE:
            # Plain and quoted scalars are written on one line (the best width is unlimited).
            if self.ws:
                out.append(text)
                self.col += len(text)
            else:
                out.append(" ")
                out.append(text)
                self.col += len(text) + 1
            self.ws = False
            self.indention = False
            return
        saved = self.ind
        self._increase(True, top_seq)
        if style == LITERAL:
            self._literal(text)
        else:
            self._single_breaks(text)
        self.ind = saved

    def _literal(self, value: str) -> None:
        hint = ""
        if value[0] == " " or value[0] in BREAK_CHARS:
            hint = str(self.bi)
        last = value[-1]
        if last not in BREAK_CHARS:
            hint += "-"
        elif len(value) == 1 or value[-2] in BREAK_CHARS:
            hint += "+"
        self.indicator("|", True, False, False)
        if hint:
            self.indicator(hint, False, False, False)
        if self.line:
            self.process_line()  # a line comment goes after the block scalar's header
        else:
            self.put_break()
        self.ws = True
        out = self.out
        pad = " " * self.ind
        if "\u2028" in value or "\u2029" in value:
            parts = regexes().break_split.split(value)
            seps = parts[1::2]
            texts = parts[0::2]
            for n, t in enumerate(texts):
                if t:
                    out.append(pad)
                    out.append(t)
                if n < len(seps):
                    out.append(seps[n])
            lastline = texts[-1]
        else:
            lines = value.split("\n")
            out.append("\n".join([pad + ln if ln else "" for ln in lines]))
            lastline = lines[-1]
        if lastline:
            self.col = self.ind + len(lastline)
            self.indention = False
        else:
            self.col = 0
            self.indention = True

    def _single_breaks(self, value: str) -> None:
        self.indicator("'", True, False, False)
        out = self.out
        breaks = False
        for part in regexes().break_split.split(value):
            if not part:
                continue
            if part in BREAK_CHARS:
                if not breaks and part == "\n":
                    self.put_break()
                out.append(part)
                self.col = 0
                self.indention = True
                breaks = True
                continue
            if breaks:
                self.write_indent()
            t = part.replace("'", "''")
            out.append(t)
            self.col += len(t)
            self.indention = False
            breaks = False
        self.indicator("'", False, False, False)
        self.ws = False
        self.indention = False
