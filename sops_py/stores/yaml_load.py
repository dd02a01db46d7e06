"""YAML loading as sops (go.yaml.in/yaml/v3) sees it: typed scalars, anchors expanded, merge keys
kept as ``<<`` items, and comments placed in the tree where sops places them.

Parsing uses libyaml's event parser (PyYAML's C binding): yaml.v3 is a port of libyaml, so both
accept the same documents, and the C parser is 10-20x faster than a pure-Python round-trip parser.
libyaml drops comments; we recover them from the text between consecutive events and place them
with the rules yaml.v3 + sops apply (checked against the sops binary):
* a comment on the same line as content goes before the item that line starts;
* other comments go before the next item of the container holding the next token, except when
  blocks close after them: then a comment indented differently from the next token closes the
  deepest of those blocks (it is its foot comment);
* a comment just before a nested block that is a mapping value opens that block.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events as ev

from ..errors import CouldNotReadInputFile
from ..tree import Branch, Comment
from .yaml_resolve import resolve_plain, resolve_tagged

_PLAIN = ""


@dataclass
class _Frame:
    container: Any  # Branch or list
    is_map: bool
    doc_top: bool = False
    expect_key: bool = True
    key: Any = None
    key_line: int = -1
    item_index: int = -1  # index of the item being built (maps: key's slot; seqs: entry slot)
    item_line: int = -1
    anchor: str | None = None
    col: int = 0  # column of the node's first token ('-' for block sequences)
    keys_seen: dict[Any, int] = field(default_factory=dict)


@dataclass
class _PendingComment:
    text: str
    col: int


class _Loader:
    def __init__(self, text: str, check_duplicates_first_doc: bool) -> None:
        self.text = text
        self.check_dups = check_duplicates_first_doc
        self.docs: list[Branch] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, Any] = {}
        self.pending: list[_PendingComment] = []
        self.closed: list[_Frame] = []  # frames closed since the pending comments were seen
        self.doc_index = -1
        self.top_value: Any = None
        self.line_starts: list[int] | None = None

    # ------------------------------------------------------------ comments

    def _scan_gap(self, start: int, end: int) -> None:
        text = self.text
        gap = text[start:end]
        if "#" not in gap:
            return
        pos = start
        while True:
            i = text.find("#", pos, end)
            if i < 0:
                return
            line_start = text.rfind("\n", 0, i) + 1
            before = text[line_start:i]
            if i > start and not text[i - 1] in " \t\n\r" and i != line_start:
                pos = i + 1  # a '#' glued to a token (anchor or tag names): not a comment
                continue
            eol = text.find("\n", i)
            if eol < 0 or eol > len(text):
                eol = len(text)
            body = text[i + 1:eol].rstrip("\r")
            col = i - line_start
            if before.strip() and not self._attach_inline(body, line_start, before):
                self.pending.append(_PendingComment(body, col))
            elif not before.strip():
                self.pending.append(_PendingComment(body, col))
            pos = eol

    def _line_of(self, index: int) -> int:
        return self.text.count("\n", 0, index)

    def _attach_inline(self, body: str, line_start: int, before: str) -> bool:
        """A comment after content on its line goes before the item that line started (outermost)."""
        line = self._line_of(line_start)
        for frame in self.stack:
            if frame.item_line == line and frame.item_index >= 0:
                self._insert(frame, frame.item_index, Comment(body, inline=True))
                frame.item_index += 1
                return True
        return False

    def _insert(self, frame: _Frame, index: int, comment: Comment) -> None:
        if frame.is_map:
            frame.container.insert(index, (comment, None))
        else:
            frame.container.insert(index, comment)
        for f in self.stack:  # keep other frames' slots pointing at their items
            if f is not frame and f.container is frame.container and f.item_index >= index:
                f.item_index += 1

    def _append_comment(self, frame: _Frame, comment: Comment) -> None:
        if frame.is_map:
            frame.container.append((comment, None))
        else:
            frame.container.append(comment)

    def _flush(self, next_col: int, target: _Frame | None, before_item: bool = False) -> None:
        """Place pending comments now that the next token (at next_col) is known."""
        if not self.pending:
            self.closed = []
            return
        for pc in self.pending:
            c = Comment(pc.text)
            if self.closed and pc.col != next_col:
                self._append_comment(self.closed[0], c)
            elif target is not None:
                if before_item and target.item_index >= 0:
                    self._insert(target, target.item_index, c)
                    target.item_index += 1
                else:
                    self._append_comment(target, c)
            elif self.stack:
                self._append_comment(self.stack[-1], c)
        self.pending = []
        self.closed = []

    # ------------------------------------------------------------ building

    def _error_line(self, e: Any) -> int:
        return int(e.start_mark.line) + 1

    def _add_value(self, value: Any, event: Any, opens: _Frame | None = None) -> None:
        """Attach a finished (or just opened) node to its parent frame."""
        line = self._error_line(event)
        col = event.start_mark.column
        if not self.stack:
            # document root
            self._flush(col, opens)
            self.top_value = value
            return
        parent = self.stack[-1]
        if parent.is_map:
            if parent.expect_key:
                self._flush(col, parent)
                if isinstance(value, (Branch, list)) and opens is None:
                    raise CouldNotReadInputFile(
                        f"yaml: line {line}: invalid map key: {value!r}"
                    )
                if opens is not None:
                    raise CouldNotReadInputFile(f"yaml: line {line}: complex mapping keys are not supported")
                if self.check_dups and self.doc_index == 0:
                    hk = _hashable(value)
                    if hk in parent.keys_seen:
                        raise CouldNotReadInputFile(
                            f"yaml: unmarshal errors:\n  line {line}: mapping key \"{value}\" already "
                            f"defined at line {parent.keys_seen[hk]}"
                        )
                    parent.keys_seen[hk] = line
                parent.key = value
                parent.item_index = len(parent.container)
                parent.item_line = event.start_mark.line
                parent.container.append((value, None))
                parent.expect_key = False
            else:
                if opens is not None:
                    self._flush(col, opens)
                else:
                    self._flush(col, parent, before_item=True)
                parent.container[parent.item_index] = (parent.key, value)
                parent.expect_key = True
        else:
            self._flush(parent.col, parent)  # an entry starts at its '-', the sequence's column
            parent.item_index = len(parent.container)
            parent.item_line = event.start_mark.line
            parent.container.append(value)

    def _scalar(self, e: Any) -> Any:
        tag = e.tag
        if tag is None:
            if e.style == _PLAIN or e.style is None:
                return resolve_plain(e.value)
            return e.value
        return resolve_tagged(tag, e.value, self._error_line(e))

    def run(self) -> list[Branch]:
        text = self.text
        prev_end = 0
        try:
            for e in yaml.parse(text, Loader=yaml.CLoader):
                start = e.start_mark.index
                if start > prev_end:
                    self._scan_gap(prev_end, start)
                if e.end_mark.index > prev_end:
                    prev_end = e.end_mark.index
                self._event(e)
        except yaml.YAMLError as err:
            raise CouldNotReadInputFile(_yaml_error(err)) from None
        return self.docs

    def _event(self, e: Any) -> None:
        t = type(e)
        if t is ev.ScalarEvent:
            value = self._scalar(e)
            if e.anchor:
                self.anchors[e.anchor] = value
            self._add_value(value, e)
        elif t is ev.MappingStartEvent or t is ev.SequenceStartEvent:
            is_map = t is ev.MappingStartEvent
            container: Any = Branch() if is_map else []
            frame = _Frame(container, is_map, doc_top=not self.stack, anchor=e.anchor, col=e.start_mark.column)
            self._add_value(container, e, opens=frame)
            self.stack.append(frame)
        elif t is ev.MappingEndEvent or t is ev.SequenceEndEvent:
            frame = self.stack.pop()
            if frame.anchor:
                self.anchors[frame.anchor] = frame.container
            if self.pending:
                self.closed.append(frame)
        elif t is ev.AliasEvent:
            if e.anchor not in self.anchors:
                raise CouldNotReadInputFile(f"yaml: unknown anchor '{e.anchor}' referenced")
            self._add_value(copy.deepcopy(self.anchors[e.anchor]), e)
        elif t is ev.DocumentStartEvent:
            self.doc_index += 1
            self.top_value = None
            self.anchors = {}
        elif t is ev.DocumentEndEvent:
            self._end_document(e)

    def _end_document(self, e: Any) -> None:
        value = self.top_value
        if value is None:
            branch = Branch()
        elif isinstance(value, Branch):
            branch = value
        elif isinstance(value, list):
            if self.doc_index == 0:
                raise CouldNotReadInputFile(
                    "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]interface {}"
                )
            raise CouldNotReadInputFile("YAML documents that are sequences are not supported")
        else:
            if self.doc_index == 0:
                raise CouldNotReadInputFile(
                    f"yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `{value}` into "
                    "map[string]interface {}"
                )
            raise CouldNotReadInputFile("YAML documents that are values are not supported")
        for pc in self.pending:
            c = Comment(pc.text)
            if self.closed and pc.col != 0:
                self._append_comment(self.closed[0], c)
            else:
                branch.append((c, None))
        self.pending = []
        self.closed = []
        self.docs.append(branch)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return (type(value).__name__, value)
    except TypeError:
        return repr(value)


def _yaml_error(err: Any) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"


def load_yaml(data: bytes) -> list[Branch]:
    """Parse YAML bytes into one Branch per document, as sops' YAML store does."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CouldNotReadInputFile("yaml: invalid leading UTF-8 octet") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return _Loader(text, check_duplicates_first_doc=True).run()
