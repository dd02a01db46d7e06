"""Stages 2 and 3 of the comment path (parserc.go fused with decode.go's composer): the token
stream and comment records from ``yaml_comment_scan`` become yaml.v3 nodes with head, line and
foot comments, one document at a time.

Each document is checked as sops' pre-pass would (``yaml_first_doc``) and converted to a tree
(``yaml_node_tree``) as soon as it is read, so an error in a later document is reported after the
first document's own errors, as sops reports them. Parse errors carry yaml.v3's messages.
"""

from __future__ import annotations

from typing import Any

from ..errors import CouldNotReadInputFile
from ..tree import Branch
from .yaml_comment_scan import (
    FOOT,
    HEAD,
    T_ALIAS,
    T_ANCHOR,
    T_BEND,
    T_BENTRY,
    T_BMS,
    T_BSS,
    T_DIRECTIVE,
    T_DOC_END,
    T_DOC_START,
    T_FENTRY,
    T_FME,
    T_FMS,
    T_FSE,
    T_FSS,
    T_KEY,
    T_SCALAR,
    T_STREAM_END,
    T_TAG,
    T_VALUE,
    _Scan,
)
from .yaml_first_doc import _FirstDocChecks
from .yaml_node_tree import _doc_to_branch
from .yaml_nodes import _YAML_PREFIX, ALIAS, MAP, SCALAR, SEQ, _Doc, _empty_scalar, _Node, _scalar_node
from .yaml_resolve import MERGE, RESOLVE_FIRST, resolve_plain


class _YAMLError(Exception):
    """A yaml.v3 parse error (sops prefixes it when it is not in the first document)."""


_EMPTY_ENDS = (T_KEY, T_VALUE, T_BEND)


class _Parser:
    """parserc.go's state machine as recursive descent, fused with decode.go's composer."""

    def __init__(self, scan: _Scan, docs: list[Branch]) -> None:
        self.docs = docs  # the trees of the documents read so far
        self.toks = scan.toks
        self.comments = scan.comments
        self.nc = len(scan.comments)
        self.ci = 0
        self.i = 0
        self.head = self.line = self.foot = ""
        self.stem: str | None = None
        self.anchors: dict[str, _Node] = {}
        self.open: set[int] = set()  # the collections being read (an alias to one recurses)
        self.tag_directives: dict[str, str] = {}

    # tokens and comment buffers

    def peek(self) -> tuple[int, int, Any]:
        t = self.toks[self.i]
        ci = self.ci
        if ci < self.nc:
            comments = self.comments
            while ci < self.nc:
                c = comments[ci]
                if t[1] < c.token_mark:
                    break
                if c.kind == HEAD:
                    if t[0] == T_BEND:
                        break
                    self.head = self.head + "\n" + c.text if self.head else c.text
                elif c.kind == FOOT:
                    self.foot = self.foot + "\n" + c.text if self.foot else c.text
                else:
                    self.line = self.line + "\n" + c.text if self.line else c.text
                ci += 1
            self.ci = ci
        return t

    def take(self, n: _Node) -> None:
        """yaml_parser_set_event_comments onto a node."""
        n.head, n.line, n.foot = self.head, self.line, self.foot
        self.head = self.line = self.foot = ""
        self.stem = None

    def take_end(self, n: _Node) -> None:
        """The comments of a collection's end event: decode.go sets the node's line and foot."""
        n.line, n.foot = self.line, self.foot
        self.head = self.line = self.foot = ""
        self.stem = None

    def error(self, problem: str, tok: Any, context_tok: Any = None) -> _YAMLError:
        """yaml.v3's message for a parser error (its line is the 0-based line of the context)."""
        line = 0
        if context_tok is not None and context_tok.start_mark.line != 0:
            line = context_tok.start_mark.line
        elif tok.start_mark.line != 0:
            line = tok.start_mark.line
        where = f"line {line}: " if line else ""
        return _YAMLError(f"yaml: {where}{problem}")

    # stream and documents

    def stream(self) -> None:
        docs = self.docs
        self.peek()
        self.i += 1  # STREAM-START
        implicit = True
        while True:
            t = self.peek()
            if not implicit:
                while t[0] == T_DOC_END:
                    self.i += 1
                    t = self.peek()
            doc = _Doc()
            if implicit and t[0] not in (T_DIRECTIVE, T_DOC_START, T_STREAM_END):
                self.tag_directives = {}
                head = self.head
                if head:
                    # the part before the last blank line of the head comment heads the document
                    for j in range(len(head) - 1, 0, -1):
                        if head[j] == "\n":
                            if j == len(head) - 1:
                                doc.head, self.head = head[:j], head[j + 1:]
                                break
                            if head[j - 1] == "\n":
                                doc.head, self.head = head[:j - 1], head[j + 1:]
                                break
                doc.node = self.node(True, False)
            elif t[0] != T_STREAM_END:
                self.directives()
                t = self.peek()
                if t[0] != T_DOC_START:
                    raise self.error("did not find expected <document start>", t[2])
                self.i += 1
                t = self.peek()
                if t[0] in (T_DIRECTIVE, T_DOC_START, T_DOC_END, T_STREAM_END):
                    doc.node = _empty_scalar(t[2].start_mark.line + 1)
                else:
                    doc.node = self.node(True, False)
            else:
                return
            t = self.peek()
            if t[0] == T_DOC_END:
                self.i += 1
            end = _Node(SCALAR, 0)
            self.take(end)
            doc.foot = end.foot or end.head
            self.tag_directives = {}
            _FirstDocChecks(errors=not docs).run(doc)  # sops' pre-pass; the alias limit for all
            docs.append(_doc_to_branch(doc))  # sops converts each document as it reads it
            implicit = False

    def directives(self) -> None:
        self.tag_directives = {}
        t = self.peek()
        seen_version = False
        while t[0] == T_DIRECTIVE:
            tok = t[2]
            if tok.name == "YAML":
                if seen_version:
                    raise self.error("found duplicate %YAML directive", tok)
                if tuple(tok.value) != (1, 1):
                    raise self.error("found incompatible YAML document", tok)
                seen_version = True
            elif tok.name == "TAG":
                handle, prefix = tok.value
                if handle in self.tag_directives:
                    raise self.error("found duplicate %TAG directive", tok)
                self.tag_directives[handle] = prefix
            self.i += 1
            t = self.peek()

    # nodes

    def node(self, block: bool, indentless: bool) -> _Node:
        t = self.peek()
        kind = t[0]
        tok = t[2]
        if kind == T_SCALAR and not tok.style:  # the common case first: a plain scalar
            value = tok.value
            if value != MERGE:
                n = _Node(SCALAR, tok.start_mark.line + 1)
                n.raw = value
                n.value = value if value and value[0] not in RESOLVE_FIRST else resolve_plain(value)
                if self.head or self.line or self.foot:
                    self.take(n)
                else:
                    self.stem = None
                self.i += 1
                return n
        if kind == T_ALIAS:
            n = _Node(ALIAS, tok.start_mark.line + 1)
            n.raw = tok.value
            self.take(n)
            self.i += 1
            n.target = self.anchors.get(tok.value)
            if n.target is None:
                raise _YAMLError(f"yaml: unknown anchor '{tok.value}' referenced")
            if id(n.target) in self.open:
                # sops' pre-pass rejects it; in a later document sops overflows its stack
                raise CouldNotReadInputFile(f"yaml: anchor '{tok.value}' value contains itself")
            return n
        start_line = tok.start_mark.line + 1
        anchor = None
        tag = None
        first = tok
        if kind == T_ANCHOR or kind == T_TAG:
            for _ in range(2):
                if kind == T_ANCHOR and anchor is None:
                    anchor = tok.value
                elif kind == T_TAG and tag is None:
                    tag = self.tag(tok, first)
                else:
                    break
                self.i += 1
                t = self.peek()
                kind = t[0]
                tok = t[2]
        if indentless and kind == T_BENTRY:
            n = _Node(SEQ, start_line)
            self.register(n, anchor)
            self.open.add(id(n))
            self.indentless_sequence(n)
            self.open.discard(id(n))
            return n
        if kind == T_SCALAR:
            value = tok.value
            if tag is None and not tok.style and value != MERGE:
                n = _Node(SCALAR, start_line)
                n.raw = value
                n.value = value if value and value[0] not in RESOLVE_FIRST else resolve_plain(value)
            else:
                n = _scalar_node(value, tok.style, tag, start_line)
            if self.head or self.line or self.foot:
                self.take(n)
            else:
                self.stem = None
            self.register(n, anchor)
            self.i += 1
            return n
        if kind == T_FSS or kind == T_FMS:
            n = _Node(SEQ if kind == T_FSS else MAP, start_line)
            n.flow = True
            self.take(n)
            self.register(n, anchor)
            self.open.add(id(n))
            if kind == T_FSS:
                self.flow_sequence(n)
            else:
                self.flow_mapping(n)
            self.open.discard(id(n))
            return n
        if block and (kind == T_BSS or kind == T_BMS):
            n = _Node(SEQ if kind == T_BSS else MAP, start_line)
            if self.stem is not None:
                n.head = self.stem
                self.stem = None
            self.register(n, anchor)
            self.open.add(id(n))
            if kind == T_BSS:
                self.block_sequence(n)
            else:
                self.block_mapping(n)
            self.open.discard(id(n))
            return n
        if anchor is not None or tag is not None:
            n = _empty_scalar(start_line, tag)
            self.register(n, anchor)
            return n
        raise self.error("did not find expected node content", tok, first)

    def tag(self, tok: Any, first: Any) -> str:
        handle: str | None
        suffix: str
        handle, suffix = tok.value
        if not handle:
            return suffix
        if handle in self.tag_directives:
            return self.tag_directives[handle] + suffix
        if handle == "!":
            return "!" + suffix
        if handle == "!!":
            return _YAML_PREFIX + suffix
        raise self.error("found undefined tag handle", tok, first)

    def register(self, n: _Node, anchor: str | None) -> None:
        if anchor is not None:
            n.anchor = anchor
            self.anchors[anchor] = n

    def split_stem(self, stem_len: int) -> None:
        if stem_len == 0:
            return
        t = self.peek()
        if t[0] != T_BSS and t[0] != T_BMS:
            return
        head = self.head
        self.stem = head[:stem_len]
        self.head = head[stem_len + 1:]

    def entry(self, n: _Node, stop: tuple[int, ...]) -> None:
        """One '-' entry of a block or indentless sequence."""
        t = self.peek()
        mark_line = t[2].end_mark.line + 1
        prior = len(self.head)
        self.i += 1
        self.split_stem(prior)
        t = self.peek()
        if t[0] not in stop:
            n.content.append(self.node(True, False))
        else:
            n.content.append(_empty_scalar(mark_line))

    def block_sequence(self, n: _Node) -> None:
        start = self.toks[self.i][2]
        self.i += 1  # BLOCK-SEQUENCE-START
        while True:
            t = self.peek()
            if t[0] == T_BENTRY:
                self.entry(n, (T_BENTRY, T_BEND))
            elif t[0] == T_BEND:
                self.i += 1  # SEQUENCE-END takes no comments: the node keeps no line/foot
                return
            else:
                raise self.error("did not find expected '-' indicator", t[2], start)

    def indentless_sequence(self, n: _Node) -> None:
        while True:
            t = self.peek()
            if t[0] != T_BENTRY:
                return
            self.entry(n, (T_BENTRY, T_KEY, T_VALUE, T_BEND))

    def block_mapping(self, n: _Node) -> None:
        start = self.toks[self.i][2]
        self.i += 1  # BLOCK-MAPPING-START
        content = n.content
        while True:
            t = self.peek()
            if t[0] == T_KEY:
                mark_line = t[2].end_mark.line + 1
                self.i += 1
                t = self.peek()
                if t[0] not in _EMPTY_ENDS:
                    k = self.node(True, True)
                else:
                    k = _empty_scalar(mark_line)
            elif t[0] == T_BEND:
                self.take_end(n)
                self.i += 1
                if n.foot and len(content) > 1:
                    content[-2].foot = n.foot
                    n.foot = ""
                return
            else:
                raise self.error("did not find expected key", t[2], start)
            content.append(k)
            if k.foot and len(content) > 2:
                content[-3].foot = k.foot
                k.foot = ""
            t = self.peek()
            if t[0] == T_VALUE:
                mark_line = t[2].end_mark.line + 1
                self.i += 1
                t = self.peek()
                if t[0] not in _EMPTY_ENDS:
                    v = self.node(True, True)
                else:
                    v = _empty_scalar(mark_line)
            else:
                v = _empty_scalar(t[2].start_mark.line + 1)
            content.append(v)
            if not k.foot and v.foot:
                k.foot = v.foot
                v.foot = ""

    def flow_sequence(self, n: _Node) -> None:
        start = self.toks[self.i][2]
        self.i += 1  # FLOW-SEQUENCE-START
        first = True
        while True:
            t = self.peek()
            if t[0] != T_FSE:
                if not first:
                    if t[0] == T_FENTRY:
                        self.i += 1
                        t = self.peek()
                    else:
                        raise self.error("did not find expected ',' or ']'", t[2], start)
                if t[0] == T_KEY:
                    pair = _Node(MAP, t[2].start_mark.line + 1)
                    pair.flow = True
                    self.i += 1
                    self.flow_pair(pair)
                    n.content.append(pair)
                    first = False
                    continue
                if t[0] != T_FSE:
                    n.content.append(self.node(False, False))
                    first = False
                    continue
            self.take_end(n)
            self.i += 1
            return

    def flow_pair(self, n: _Node) -> None:
        """A single-pair mapping inside a flow sequence (`[a: b]`)."""
        t = self.peek()
        if t[0] not in (T_VALUE, T_FENTRY, T_FSE):
            k = self.node(False, False)
        else:
            k = _empty_scalar(t[2].end_mark.line + 1)
            self.i += 1
        t = self.peek()
        if t[0] == T_VALUE:
            self.i += 1
            t = self.peek()
            if t[0] not in (T_FENTRY, T_FSE):
                v = self.node(False, False)
            else:
                v = _empty_scalar(t[2].start_mark.line + 1)
        else:
            v = _empty_scalar(t[2].start_mark.line + 1)
        n.content.extend((k, v))
        if not k.foot and v.foot:
            k.foot = v.foot
            v.foot = ""
        self.peek()  # MAPPING-END (no comments)

    def flow_mapping(self, n: _Node) -> None:
        start = self.toks[self.i][2]
        self.i += 1  # FLOW-MAPPING-START
        first = True
        while True:
            t = self.peek()
            if t[0] == T_FME:
                break
            if not first:
                if t[0] != T_FENTRY:
                    raise self.error("did not find expected ',' or '}'", t[2], start)
                self.i += 1
                t = self.peek()
                if t[0] == T_FME:
                    break
            first = False
            empty_value = False
            if t[0] == T_KEY:
                self.i += 1
                t = self.peek()
                if t[0] not in (T_VALUE, T_FENTRY, T_FME):
                    k = self.node(False, False)
                else:
                    k = _empty_scalar(t[2].start_mark.line + 1)
            else:
                k = self.node(False, False)
                empty_value = True
            t = self.peek()
            if empty_value:
                v = _empty_scalar(t[2].start_mark.line + 1)
            elif t[0] == T_VALUE:
                self.i += 1
                t = self.peek()
                if t[0] not in (T_FENTRY, T_FME):
                    v = self.node(False, False)
                else:
                    v = _empty_scalar(t[2].start_mark.line + 1)
            else:
                v = _empty_scalar(t[2].start_mark.line + 1)
            n.content.extend((k, v))
            if not k.foot and v.foot:
                k.foot = v.foot
                v.foot = ""
        self.take_end(n)
        self.i += 1


class _ScannerAhead(Exception):
    pass


class _PartialParser(_Parser):
    """The parser over the tokens read before a scanner error: yaml.v3's scanner stays two
    tokens ahead of the parser, so the error stops the parser two tokens early."""

    def peek(self) -> tuple[int, int, Any]:
        if self.i + 2 >= len(self.toks):
            raise _ScannerAhead()
        return super().peek()
