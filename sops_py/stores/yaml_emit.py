"""YAML emitter producing the exact bytes Go sops writes.

sops turns every tree into ``yaml.Node`` values (leaves through ``Node.Encode``, comments attached as
head/foot comments) and writes them with the go.yaml.in/yaml/v3 (v3.0.4) Encoder. The emitter here
reproduces that output without building nodes or events, in four layers, each in its own module:

* ``yaml_emit_resolve``: whether a plain scalar would read back as a string (yaml.v3 ``resolve``);
* ``yaml_emit_scalar``: the style and rendering of a leaf, a pure function of its text (``Node.Encode``
  fixes it once: literal for text with a newline, plain when the text would read back as a string
  and the emitter's scalar analysis allows it, otherwise single or double quotes), so it is computed
  once per distinct text and cached;
* ``yaml_emit_writer``: a small emulation of the emitter's state (current column, indentation, the
  "whitespace"/"indention" flags, the foot-comment indent and the pending head/foot/tail comment
  slots) and its primitive actions;
* this module: the recursive walk over the tree that drives those actions in the same order as the Go
  state machine does for the event stream sops produces, and the public API.

Public API: :func:`emit_documents` and :func:`emit_value` (and, re-exported, :func:`resolves_to_str`
and :func:`scalar_style`).
"""

from __future__ import annotations

from ..errors import ErrorDumpingTree
from ..tree import Branch, Comment
from .yaml_emit_resolve import resolves_to_str
from .yaml_emit_scalar import DOUBLE, FAILED, PLAIN, UNKNOWN_KIND, scalar_style
from .yaml_emit_writer import Writer

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any, Union

    _Container = Union[Branch, list]  # type: ignore[type-arg]

__all__ = ["emit_documents", "emit_value", "resolves_to_str", "scalar_style"]


def _join_comments(values: list[str]) -> str:
    return "#" + "\n#".join(values)


class _Emitter(Writer):
    """The walk over sops' trees: containers, items and documents, with their comments."""

    __slots__ = ()

    # ---- containers ------------------------------------------------------------------------------

    def container_start(self, node: _Container, extra_head: str) -> tuple[str, int]:
        """Head comment of a container node (leading comment items) and the index of its first
        real item (len(node) when it has none).

        sops 3.13 (appendTreeBranch/appendSequence) keeps the inline comments of that leading run
        for the first item's value; a container with no item gets them after its other comments."""
        i = 0
        n = len(node)
        if isinstance(node, Branch):
            while i < n and isinstance(node[i][0], Comment):
                i += 1
            lead = [c[0] for c in node[:i]]
        else:
            while i < n and isinstance(node[i], Comment):
                i += 1
            lead = list(node[:i])
        own = ""
        if lead:
            values = [c.value for c in lead if not c.inline]
            if i == n:
                values += [c.value for c in lead if c.inline]
            own = _join_comments(values) if values else ""
        if extra_head:
            own = extra_head + "\n" + own if own else extra_head
        return own, i

    def body(self, node: _Container, first: int, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        """The container's items; ``end_foot``/``end_line`` are its own foot and line comments,
        which yaml.v3's encoder puts on the container's END event."""
        if isinstance(node, Branch):
            if first == len(node):
                self.flow_map_end(top_seq, end_foot, end_line)
            else:
                self.map_body(node, first, top_seq, end_foot, end_line)
        else:
            if first == len(node):
                self.flow_seq_end(top_seq, end_foot, end_line)
            else:
                self.seq_body(node, first, top_seq, end_foot, end_line)

    def flow_map_end(self, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.indicator("{", True, True, False)
        saved = self.ind
        self._increase(True, top_seq)
        self.process_head()
        self.ind = saved
        self.indicator("}", False, False, False)
        self.process_line()
        self.process_foot()

    def flow_seq_end(self, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.indicator("[", True, True, False)
        # The indentation is increased and restored again; nothing is written in between.
        if self.col == 0:
            self.write_indent()
        self.indicator("]", False, False, False)
        self.process_line()
        self.process_foot()

    def map_body(self, br: Branch, first: int, top_seq: bool, end_foot: str, end_line: str = "") -> None:
        saved = self.ind
        self._increase(False, top_seq)
        m = self.ind
        last = len(br) - 1
        while isinstance(br[last][0], Comment):
            last -= 1
        pending: list[str] = []
        # sops 3.13: inline comments become the line comment of the next value
        inline: list[str] = [item[0].value for item in br[:first] if item[0].inline]
        out = self.out
        info = self.info
        cache = self.cache
        for idx in range(first, last + 1):
            k, v = br[idx]
            if k.__class__ is Comment or isinstance(k, Comment):
                (inline if k.inline else pending).append(k.value)
                continue
            kinfo = cache.get(k) if k.__class__ is str else None
            if kinfo is None:
                kinfo = info(k)
            if pending:
                if kinfo is FAILED:
                    raise ErrorDumpingTree(UNKNOWN_KIND)
                self.head = _join_comments(pending)
                pending = []
            line = ""
            if inline:
                line = _join_comments(inline)
                inline = []
            # Fast path: no comments anywhere near, plain simple key, plain scalar value.
            if (
                kinfo[0] == PLAIN
                and kinfo[4] <= 128
                and not (self.head or self.tail or self.foot or kinfo[2] or line or self.line or self.key_line)
                and self.foot_ind != m
                and not isinstance(v, list)
            ):
                vinfo = cache.get(v) if v.__class__ is str else None
                if vinfo is None:
                    vinfo = info(v)
                if vinfo[0] <= DOUBLE and not vinfo[2]:
                    col = self.col
                    kt = kinfo[1]
                    vt = vinfo[1]
                    if not self.indention or col > m or (col == m and not self.ws):
                        out.append("\n" + " " * m + kt + ": " + vt)
                    elif col < m:
                        out.append(" " * (m - col) + kt + ": " + vt)
                    else:
                        out.append(kt + ": " + vt)
                    self.col = m + len(kt) + 2 + len(vt)
                    self.ws = False
                    self.indention = False
                    self.foot_ind = -1
                    continue
            if self.head or self.tail:
                self.process_head()
            self.write_indent()
            if self.line:
                # a line comment still pending when a key starts is kept for its value
                self.key_line = self.line
                self.line = ""
            if not kinfo[3] and kinfo[4] <= 128:
                self.scalar(kinfo, False)
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, True)
                self.scalar(kinfo, False)
                self.write_indent()
                self.indicator(":", True, False, True)
            self.value(v, False, "", "", line)
        # comments after the last key: sops 3.13 writes the plain ones, then the inline ones
        rest = [item[0] for item in br[last + 1:]]
        trailing = [c.value for c in rest if not c.inline] + [c.value for c in rest if c.inline]
        if trailing:
            self.tail = _join_comments(trailing)
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.process_head()
        self.ind = saved

    def seq_body(
        self, lst: list, first: int, top_seq: bool, end_foot: str, end_line: str = "",  # type: ignore[type-arg]
    ) -> None:
        saved = self.ind
        self._increase(False, top_seq)
        last = len(lst) - 1
        while isinstance(lst[last], Comment):
            last -= 1
        rest = lst[last + 1:]
        trailing_values = [c.value for c in rest if not c.inline] + [c.value for c in rest if c.inline]
        trailing = _join_comments(trailing_values) if trailing_values else ""
        pending: list[str] = []
        inline: list[str] = [c.value for c in lst[:first] if c.inline]
        for idx in range(first, last + 1):
            v = lst[idx]
            if isinstance(v, Comment):
                (inline if v.inline else pending).append(v.value)
                continue
            head = ""
            if pending:
                head = _join_comments(pending)
                pending = []
            line = ""
            if inline:
                line = _join_comments(inline)
                inline = []
            self.value(v, True, head, trailing if idx == last else "", line)
        if end_foot:
            self.foot = end_foot
        if end_line:
            self.line = end_line
        self.ind = saved

    def value(self, v: Any, in_seq: bool, head: str, foot: str, line: str = "") -> None:
        """Emit v as a mapping value (in_seq False; ':' already written) or as a sequence item
        (in_seq True) with the item's head, foot and line comments.

        A scalar's line comment follows it on its line. A container's is on its END event, so
        yaml.v3 writes it at the next place it writes line comments (after the next value)."""
        if isinstance(v, list):
            chead, first = self.container_start(v, head)
            if chead:
                self.head = chead
            if in_seq:
                if self.head or self.tail:
                    self.process_head()
                self.write_indent()
                self.indicator("-", True, False, True)
            elif self.key_line:
                # yaml_emitter_emit_block_mapping_value: a block follows, so the key's line
                # comment is written now (the START event of an empty container is block style too)
                self.line, self.key_line = self.key_line, self.line
                self.process_line()
                self.line, self.key_line = self.key_line, self.line
            self.process_line()
            if self.foot:
                self.process_foot()
            self.body(v, first, in_seq, foot, line)
            return
        info = self.info(v)
        if info is FAILED and (head or foot or line):
            raise ErrorDumpingTree(UNKNOWN_KIND)
        if head:
            self.head = head
        if foot:
            self.foot = foot
        if line:
            self.line = line
        if in_seq:
            if self.head or self.tail:
                self.process_head()
            self.write_indent()
            self.indicator("-", True, False, True)
        elif self.key_line and not self.line:
            self.line = self.key_line  # the scalar takes the key's line comment (else it is kept)
            self.key_line = ""
        self.scalar(info, in_seq)
        self.process_line()
        if self.foot:
            self.process_foot()

    # ---- documents -------------------------------------------------------------------------------

    def document(self, root: Any, first_doc: bool) -> None:
        if not first_doc:
            self.write_indent()
            self.indicator("---", True, False, False)
            self.write_indent()
        if self.head:
            self.process_head()
            self.put_break()
        if isinstance(root, list):
            chead, first = self.container_start(root, "")
            if chead:
                self.head = chead
            self.process_head()
            self.process_line()
            self.process_foot()
            self.body(root, first, False, "")
        else:
            info = self.info(root)
            self.process_head()
            self.scalar(info, False)
            self.process_line()
            self.process_foot()
        self.foot_ind = 0
        self.process_foot()
        self.foot_ind = -1
        self.write_indent()


def _best_indent(indent: int) -> int:
    if indent < 0:
        raise ValueError("YAML Negative indentation not accepted")
    if indent == 0:
        return 4
    if indent < 2 or indent > 9:
        return 2
    return indent


def emit_documents(branches: list[Branch], indent: int = 4) -> str:
    """The YAML text sops writes for these documents (one mapping per branch), as
    ``yaml.v3 Encoder`` with ``SetIndent(indent)`` produces it."""
    em = _Emitter(_best_indent(indent))
    try:
        for n, br in enumerate(branches):
            if not isinstance(br, Branch):
                br = Branch(br)
            em.document(br, n == 0)
    except ErrorDumpingTree as e:
        raise ErrorDumpingTree(f"Error marshaling to yaml: {e}") from None
    return "".join(em.out)


def emit_value(value: Any, indent: int = 4) -> str:
    """``yaml.Marshal`` of the node sops builds for a single value (a list, a scalar or a mapping),
    as used by ``--extract``. Note: sops's ``EmitValue`` calls ``yaml.Marshal``, which always uses
    the default indent 4 whatever ``stores.yaml.indent`` says; pass a different indent only to get
    an Encoder-with-SetIndent layout."""
    em = _Emitter(_best_indent(indent))
    em.document(value, True)
    return "".join(em.out)
