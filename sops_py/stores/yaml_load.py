"""YAML loading as sops (go.yaml.in/yaml/v3 + its YAML store) sees it: typed scalars, anchors
expanded, merge keys kept as ``<<`` items, comments placed in the tree where sops places them,
and the same errors (sops' pre-pass decodes the first document into a map: duplicate keys, bad
merges, undecodable tagged scalars and non-mapping documents are rejected there).

libyaml (PyYAML's C binding) does the character-level work: yaml.v3 is a port of libyaml, so both
cut a document into the same tokens. Two paths share that:

* fast: text without a comment (a ``#`` may only sit inside scalars) and without anything sops
  rejects is built straight from libyaml's events;
* the port: otherwise. libyaml drops comments; yaml.v3 attaches them to nodes in three stages,
  ported here on libyaml's token stream (Python work happens only in the gaps that hold a '#'):

1. Scanner (scannerc.go). Comments are read in the whitespace between two tokens:
   * a ``#`` on the line of the token just read (not after ``-``, ``---``, ``...``) is that
     token's *line* comment; after ``:`` (block) or ``,`` (flow) it belongs to the token before;
     a block scalar's header comment is the scalar's line comment;
   * other comment lines (yaml_parser_scan_comments) form one text; a part of it becomes a *foot*
     comment of the previous token when it sits on the line right after that token and is followed
     by a blank line (not after ``:``), when it is less indented than the current block, or when a
     flow collection closes after it; the rest is a *head* comment of the next token. A line less
     indented than the block (and not at the column the text started) cuts the text there. The
     line right after each comment line is skipped when looking for blank lines, so with CRLF
     every comment line looks followed by a blank one, as in yaml.v3;
   * a block that ends after comments is closed (BLOCK-END token) at the first of those comments
     that sits at the block's own column, else right after the previous token.
2. Parser (parserc.go). Comments queue up in order and are released into head/line/foot buffers
   when the parser peeks the first token at or after their anchor (heads wait past BLOCK-END).
   Scalars, aliases, flow-collection starts and ends, block-mapping ends and document ends take
   the buffers; block-collection starts do not (their comments go to the first entry's key),
   except a head comment seen before ``-`` that directly opens a nested block ("stem" comment).
   An implicit document keeps the part of the first head comment before its last blank line.
3. Composer (decode.go): a mapping key's foot comment moves to the previous value, a value's
   foot comment to its key, a block mapping's own foot comment to its last key.

sops (stores/yaml/store.go) then turns node comments into tree items: head and line comments go
before the item, foot comments after it; a nested mapping or sequence value keeps its own
comments inside it; an alias expands to a copy of its target including the target's comments.

Where yaml.v3 and libyaml disagree, yaml.v3 wins: it reads a run of comment lines in one go, so
tabs indenting those lines are accepted (libyaml rejects them: such tabs become spaces and the
text is scanned again); it takes only ``%YAML 1.1``; its anchors live on across documents.

Known differences, all for odd input:
* the line-comment to head-comment conversion after a first ``-`` (scan_to_next_token) is not
  ported: it needs the parser to lag behind the scanner, which we could not make happen;
* only ``\\n``, ``\\r\\n`` and ``\\r`` count as line breaks (YAML 1.1 also has NEL, LS, PS);
* on invalid YAML the message can name another error than yaml.v3's when libyaml's scanner
  fails before yaml.v3's lazier simple-key check would (still exit 2);
* an alias inside its own anchor is rejected in every document (sops overflows its stack on one
  after the first document).
"""

from __future__ import annotations

import gc
import re
from typing import Any

import yaml
from yaml import events as ev
from yaml import tokens as tk

from ..errors import CouldNotReadInputFile
from ..tree import Branch, Comment, call_deep
from .yaml_resolve import MERGE, RESOLVE_FIRST, ScalarDecodeError, resolve_plain, resolve_tagged

# ---------------------------------------------------------------------------------------- nodes

SCALAR, SEQ, MAP, ALIAS = range(4)
_KIND_NAMES = {SEQ: "!!seq", MAP: "!!map"}


class _Node:
    """A yaml.v3 Node, reduced to what sops reads (class attributes are the defaults)."""

    value: Any = None  # scalars: the decoded value
    raw = ""  # scalars: the text; aliases: the anchor name
    tag = ""  # short tag ("!!merge" for a merge key)
    err: str | None = None  # scalars: yaml.v3's decode error
    head = line = foot = ""
    target: _Node | None = None
    anchor: str | None = None
    flow = False
    content: list[_Node]

    def __init__(self, kind: int, line_no: int) -> None:
        self.kind = kind
        self.line_no = line_no
        if kind == MAP or kind == SEQ:
            self.content = []


class _Doc:
    __slots__ = ("node", "head", "foot")

    def __init__(self) -> None:
        self.node: _Node | None = None
        self.head = ""
        self.foot = ""


_STR_TAG = "tag:yaml.org,2002:str"
_YAML_PREFIX = "tag:yaml.org,2002:"


def _short(tag: str) -> str:
    return "!!" + tag[len(_YAML_PREFIX):] if tag.startswith(_YAML_PREFIX) else tag


def _scalar_node(value: str, style: Any, tag: str | None, line_no: int) -> _Node:
    """decode.go node()/scalar() + the sops store's node.Decode(&interface{})."""
    n = _Node(SCALAR, line_no)
    n.raw = value
    plain = not style
    if tag is not None and tag != "!":
        n.tag = _short(tag)
        try:
            n.value = resolve_tagged(tag, value)
        except ScalarDecodeError as e:
            n.err = str(e)
    elif not plain:
        n.tag = "!!str"
        n.value = value
    elif value == MERGE:
        n.tag = "!!merge"
        n.value = value
    else:
        n.value = resolve_plain(value)
    return n


def _empty_scalar(line_no: int, tag: str | None = None) -> _Node:
    return _scalar_node("", "", tag, line_no)


# ------------------------------------------------------------------------------ the fast path



def _copy(v: Any) -> Any:
    if type(v) is Branch:
        return Branch([(k, _copy(x)) for k, x in v])
    if type(v) is list:
        return [_copy(x) for x in v]
    return v


def _fast(text: str) -> list[Branch] | None:
    """The tree straight from libyaml events, for text without comments (None: take the port).

    A '#' is only safe inside a scalar: anywhere else, or where a comment may hide inside an
    event's span (after an anchor or tag, on a block scalar's header line), the text takes the
    comment path; so do texts that sops rejects (duplicate keys, bad merges, undecodable tagged
    scalars in the first document...), for the port's exact errors."""
    hashes = []
    i = text.find("#")
    while i >= 0:
        hashes.append(i)
        i = text.find("#", i + 1)
    hi = 0
    nh = len(hashes)
    docs: list[Branch] = []
    anchors: dict[str, Any] = {}
    sizes: dict[str, int] = {}  # per anchor: what decoding its node costs yaml.v3 (see _AliasBudget)
    decodes, aliased = 1, 0  # yaml.v3's decodeCount and aliasCount for the document (see _AliasBudget)
    open_anchors: set[str] = set()
    # frames: [container, is_map, key or _NOKEY, seen keys, anchor, decode cost so far]
    stack: list[list[Any]] = []
    top: Any = None
    first = True
    nokey = _NOKEY
    special = RESOLVE_FIRST
    loader = yaml.CLoader(text)
    get = loader.get_event
    try:
        while True:
            e: Any = get()
            if e is None:
                break
            t = type(e)
            if t is ev.ScalarEvent:
                value = e.value
                style = e.style
                tag = e.tag
                if hi < nh and hashes[hi] < e.end_mark.index:
                    start = e.start_mark.index
                    props = e.anchor is not None or tag is not None
                    header = _end(_TO_EOL, text, start) if style == "|" or style == ">" else -1
                    while hi < nh and hashes[hi] < e.end_mark.index:
                        h = hashes[hi]
                        if h < start or h < header or props and text[h - 1] in _WS:
                            return None
                        hi += 1
                if tag is None or tag == "!":
                    if style:
                        v: Any = value
                    elif value and value[0] not in special:
                        v = value
                    else:
                        v = resolve_plain(value)
                    merge = not style and value == MERGE
                elif tag == _STR_TAG:
                    v = value
                    merge = False
                else:
                    try:
                        v = resolve_tagged(tag, value)
                    except ScalarDecodeError:
                        return None
                    merge = tag == "tag:yaml.org,2002:merge"
                if e.anchor is not None:
                    anchors[e.anchor] = v
                    sizes[e.anchor] = 1
                key = (SCALAR, value)
                size = 1
                decodes += 1
                if aliased > 100 and _excessive(decodes, aliased):
                    _fail_aliasing()
            elif t is ev.MappingStartEvent or t is ev.SequenceStartEvent:
                c: Any = Branch() if t is ev.MappingStartEvent else []
                if e.anchor is not None:
                    anchors[e.anchor] = c
                    open_anchors.add(e.anchor)
                if stack and stack[-1][1] and stack[-1][2] is nokey:
                    return None  # a collection as a mapping key
                decodes += 1
                if aliased > 100 and _excessive(decodes, aliased):
                    _fail_aliasing()
                if len(stack) >= _MAX_LEVELS:
                    return None  # the port applies yaml.v3's depth limits exactly
                stack.append([c, t is ev.MappingStartEvent, nokey, set(), e.anchor, 1])
                continue
            elif t is ev.MappingEndEvent or t is ev.SequenceEndEvent:
                frame = stack.pop()
                v = frame[0]
                size = frame[5]
                if frame[4] is not None:
                    open_anchors.discard(frame[4])
                    sizes[frame[4]] = size
                merge = False
                key = None
            elif t is ev.AliasEvent:
                if e.anchor not in anchors or e.anchor in open_anchors:
                    return None
                # an alias costs one decode, then its target's decodes all count as aliased
                # (checked before the copy is made)
                size = sizes[e.anchor]
                decodes += 1 + size
                aliased += size
                if aliased > 100 and _excessive(decodes, aliased):
                    _fail_aliasing()
                size += 1
                v = _copy(anchors[e.anchor])
                merge = False
                key = (ALIAS, e.anchor)
            elif t is ev.DocumentStartEvent:
                if e.version is not None and tuple(e.version) != (1, 1):
                    return None  # yaml.v3 only takes %YAML 1.1
                top = None
                decodes, aliased = 1, 0
                continue
            elif t is ev.DocumentEndEvent:
                if top is None:
                    docs.append(Branch())
                elif type(top) is Branch:
                    docs.append(top)
                else:
                    return None
                first = False
                continue
            else:
                continue
            if not stack:
                if t is ev.ScalarEvent and not (v is None and (tag is None or tag == "!" or
                                                               tag == "tag:yaml.org,2002:null")):
                    return None
                top = v
                continue
            frame = stack[-1]
            frame[5] += size
            if frame[1]:
                if frame[2] is nokey:
                    if key is None:
                        return None
                    if first:
                        if merge or key in frame[3]:
                            return None
                        frame[3].add(key)
                    frame[2] = v
                else:
                    frame[0].append((frame[2], v))
                    frame[2] = nokey
            else:
                frame[0].append(v)
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    if hi < nh:
        return None
    return docs


class _NoKey:
    pass


_NOKEY = _NoKey()


# ------------------------------------------------------------------- the comment path: tokens

(T_STREAM_START, T_STREAM_END, T_DIRECTIVE, T_DOC_START, T_DOC_END, T_BSS, T_BMS, T_BEND, T_FSS,
 T_FSE, T_FMS, T_FME, T_BENTRY, T_FENTRY, T_KEY, T_VALUE, T_ALIAS, T_ANCHOR, T_TAG, T_SCALAR) = range(20)
_TOKEN_KINDS = {
    tk.StreamStartToken: T_STREAM_START, tk.StreamEndToken: T_STREAM_END,
    tk.DirectiveToken: T_DIRECTIVE, tk.DocumentStartToken: T_DOC_START,
    tk.DocumentEndToken: T_DOC_END, tk.BlockSequenceStartToken: T_BSS,
    tk.BlockMappingStartToken: T_BMS, tk.BlockEndToken: T_BEND,
    tk.FlowSequenceStartToken: T_FSS, tk.FlowSequenceEndToken: T_FSE,
    tk.FlowMappingStartToken: T_FMS, tk.FlowMappingEndToken: T_FME,
    tk.BlockEntryToken: T_BENTRY, tk.FlowEntryToken: T_FENTRY, tk.KeyToken: T_KEY,
    tk.ValueToken: T_VALUE, tk.AliasToken: T_ALIAS, tk.AnchorToken: T_ANCHOR, tk.TagToken: T_TAG,
    tk.ScalarToken: T_SCALAR,
}
_NO_LINE_COMMENT = (T_STREAM_START, T_STREAM_END, T_DIRECTIVE, T_DOC_START, T_DOC_END, T_BENTRY)

HEAD, LINE, FOOT = range(3)
_BLANK = " \t"
_BREAKS = "\r\n"
_WS = " \t\r\n"
_WS_RUN = re.compile(r"[ \t\r\n]*")
_SPACE_RUN = re.compile(r" *")
_BLANK_RUN = re.compile(r"[ \t]*")
_BLANK_HASH = re.compile(r"[ \t]*#")
_TO_EOL = re.compile(r"[^\r\n]*")


def _end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a match of a pattern that cannot fail (``x*``) at ``pos`` ends."""
    m = pattern.match(text, pos)
    assert m is not None
    return m.end()


def _breaks(text: str, a: int, b: int) -> int:
    """Line breaks in text[a:b] (CRLF counts once)."""
    n = text.count("\n", a, b)
    if "\r" in text[a:b]:
        n += text.count("\r", a, b) - text.count("\r\n", a, b)
    return n


def _line_start(text: str, i: int) -> int:
    nl = text.rfind("\n", 0, i)
    cr = text.rfind("\r", nl + 1, i)  # only within the current line: a text without CR is not rescanned
    return max(nl, cr) + 1


_MAX_LEVELS = 10000  # yaml.v3's max_flow_level and max_indents (scannerc.go)


def _too_deep(what: str, tok: Any) -> yaml.scanner.ScannerError:
    """yaml.v3's scanner error for the flow level or indent stack past 10,000 (its marks are the
    opening token's: the line is left out on the first line)."""
    mark = tok.start_mark
    return yaml.scanner.ScannerError(f"while increasing {what} level", mark,
                                     f"exceeded max depth of {_MAX_LEVELS}", mark)


class _Rec:
    """A yaml_comment_t: one comment text and the marks the scanner keeps for it."""

    __slots__ = ("kind", "text", "token_mark", "start", "start_col", "end", "scan")

    def __init__(self, kind: int, text: str, token_mark: int, start: int = 0, start_col: int = 0,
                 end: int = 0, scan: int = 0) -> None:
        self.kind = kind
        self.text = text
        self.token_mark = token_mark
        self.start = start
        self.start_col = start_col  # 1-based, as yaml.v3 counts in scan_comments
        self.end = end
        self.scan = scan


class _Scan:
    """The token stream with yaml.v3's comment records and BLOCK-END positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[tuple[int, int, Any]] = []  # (kind, yaml.v3 start index, libyaml token)
        self.comments: list[_Rec] = []
        self.runs: list[tuple[int, int]] = []  # per scan_comments call: first and last '#' read

    def run(self) -> None:
        text = self.text
        n = len(text)
        toks = self.toks
        kinds = _TOKEN_KINDS
        blank_hash = _BLANK_HASH.match
        find = text.find
        indents: list[int] = []
        flow = 0
        after = after_line = newlines = 0  # scanner mark (and parser.newlines) after a fetch
        last_kind = prev_kind = T_STREAM_START  # parser.tokens[len-1] and [len-2] between fetches
        last_start = prev_start = 0
        gap_done = True
        gap: list[_Rec] = []
        ends: list[Any] = []
        tok: Any
        for tok in yaml.scan(text, Loader=yaml.CLoader):
            k = kinds[type(tok)]
            sm = tok.start_mark
            s = sm.index
            if not gap_done:
                i = find("#", after, s)
                if i >= 0:
                    gap = self._gap(i, after, after_line, newlines, s, last_kind, last_start,
                                    prev_kind, prev_start, indents[-1] if indents else -1, flow)
                else:
                    gap = []
                gap_done = True
            if k == T_BEND:
                ends.append(tok)
                continue
            if ends:
                self._block_ends(ends, k, tok, after, gap, indents, n)
                ends = []
            if k == T_BMS or k == T_BSS:
                indents.append(sm.column)
                if len(indents) > _MAX_LEVELS:
                    raise _too_deep("indent", tok)
                toks.append((k, s, tok))
                continue
            if k == T_KEY and s == tok.end_mark.index:
                toks.append((k, s, tok))  # a simple key's KEY, inserted before the key
                continue
            # a token fetched on its own: then its line comment, then the next gap
            comment_mark = s
            if (k == T_VALUE and flow == 0) or (k == T_FENTRY and flow > 0):
                j = len(toks) - 1
                while j > 0 and toks[j][0] in (T_BMS, T_BSS) and toks[j][1] == s:
                    j -= 1
                comment_mark = toks[j][1]
            toks.append((k, s, tok))
            if k == T_FSS or k == T_FMS:
                flow += 1
                if flow > _MAX_LEVELS:
                    raise _too_deep("flow", tok)
            elif k == T_FSE or k == T_FME:
                flow -= 1
            em = tok.end_mark
            after, after_line, newlines = em.index, em.line, 0
            if k == T_SCALAR:
                style = tok.style
                if not style:  # a plain scalar: the scanner ate the blanks and breaks after it
                    j = _end(_WS_RUN, text, after)
                    if j > after:
                        w = text[after:j]
                        newlines = w.count("\n")
                        if "\r" in w:
                            newlines += w.count("\r") - w.count("\r\n")
                        after, after_line = j, after_line + newlines
                elif style == "|" or style == ">":
                    newlines = _breaks(text, s + len(text[s:after].rstrip(_WS)), after)
                    after = _end(_SPACE_RUN, text, after)
                    self._header_comment(s)
            elif k == T_DIRECTIVE:
                j = text.find("\n", after)
                after, after_line, newlines = (n, after_line, 0) if j < 0 else (j + 1, after_line + 1, 1)
            if newlines == 0 and k not in _NO_LINE_COMMENT:
                m = blank_hash(text, after)
                if m is not None and m.end() - after <= 512:
                    after = self._line_comment(m.end() - 1, comment_mark)
            if k != T_STREAM_START:
                prev_kind, prev_start = last_kind, last_start
                last_kind, last_start = k, s
            gap_done = k == T_STREAM_END

    def _header_comment(self, start: int) -> None:
        """A block scalar's header line comment (scan_block_scalar -> scan_line_comment)."""
        text = self.text
        eol = text.find("\n", start)
        if eol < 0:
            eol = len(text)
        header = text[start:eol]
        i = header.find("#")
        if i > 0:
            self.comments.append(_Rec(LINE, header[i:].rstrip("\r"), start))

    def _line_comment(self, j: int, comment_mark: int) -> int:
        """yaml_parser_scan_line_comment: the comment at `j`, after a token on its line."""
        e = _end(_TO_EOL, self.text, j)
        self.comments.append(_Rec(LINE, self.text[j:e], comment_mark))
        return e

    def _gap(self, i: int, after: int, after_line: int, newlines: int, end: int, last_kind: int,
             last_start: int, prev_kind: int, prev_start: int, indent: int, flow: int) -> list[_Rec]:
        """yaml_parser_scan_to_next_token over text[after:end] (its first '#' at i): the comment
        records it makes."""
        text = self.text
        recs: list[_Rec] = []
        tok_kind, tok_start = last_kind, last_start
        if tok_kind == T_FENTRY:
            tok_kind, tok_start = prev_kind, prev_start
        scan_line = after_line
        pos = after
        while i >= 0:
            nl = _breaks(text, pos, i)
            newlines += nl
            line = after_line + _breaks(text, after, i)
            pos = self._comments(recs, i, line, i - _line_start(text, i), newlines, after, scan_line,
                                 tok_kind, tok_start, indent, flow)
            newlines = 0
            i = text.find("#", pos, end)
        self.comments.extend(recs)
        return recs

    def _comments(self, recs: list[_Rec], mark: int, line: int, col0: int, newlines: int,
                  scan: int, scan_line: int, tok_kind: int, token_mark: int, indent: int,
                  flow: int) -> int:
        """A port of yaml_parser_scan_comments, from the '#' at `mark`. Returns the new mark."""
        text = self.text
        n = len(text)
        next_indent = indent if indent > 0 else 0
        recent_empty = False
        first_empty = newlines <= 1
        column = col0
        acc: str | None = None
        start = start_line = start_col = 0
        foot_line = -1
        if scan_line > 0:
            foot_line = line - newlines + 1
            if newlines == 0 and col0 > 1:
                foot_line += 1
        mark_line = line
        first = last = mark
        peek = 0
        while peek < 512:
            column += 1
            j = mark + peek
            c = text[j] if j < n else "\0"
            if c == " " or c == "\t":
                peek += 1
                continue
            close_flow = flow > 0 and (c == "]" or c == "}")
            if close_flow or c == "\n" or c == "\r" or c == "\0":
                if close_flow or not recent_empty:
                    if close_flow or first_empty and (
                            start_line == foot_line and tok_kind != T_VALUE or start_col - 1 < next_indent):
                        if acc:
                            if start_col - 1 < next_indent:
                                token_mark = start
                            recs.append(_Rec(FOOT, acc, token_mark, start, start_col, j, scan))
                            scan = j
                            token_mark = j
                            acc = None
                    elif acc and c != "\0":
                        acc += "\n"
                if c == "\0" or close_flow:
                    break
                first_empty = False
                recent_empty = True
                column = 0
                line += 1
                peek += 1
                continue
            if acc and column - 1 < next_indent and column != start_col:
                recs.append(_Rec(FOOT, acc, token_mark, start, start_col, j, scan))
                scan = j
                token_mark = j
                acc = None
            if c != "#":
                break
            if not acc:
                start, start_line, start_col = j, line, column
                acc = ""
            else:
                acc += "\n"
            recent_empty = False
            e = _end(_TO_EOL, text, j)
            acc += text[j:e]
            last = j
            mark_line += _breaks(text, mark, j)
            mark = e
            line = mark_line
            peek = 1  # the loop restarts after the break that ends the comment line
            column = 0
        if acc:
            recs.append(_Rec(HEAD, acc, start, start, start_col, mark + peek - 1, scan))
        self.runs.append((first, last))
        return mark

    def _block_ends(self, ends: list[Any], next_kind: int, next_tok: Any, scan: int,
                    gap: list[_Rec], indents: list[int], n: int) -> None:
        """yaml_parser_unroll_indent: where yaml.v3 puts the BLOCK-END tokens of one fetch."""
        if next_kind == T_STREAM_END:
            text = self.text
            column = n - _line_start(text, n)
        else:
            column = next_tok.start_mark.column
        general = True
        block_mark = scan - 1
        for tok in ends:
            indent = indents[-1] if indents else -1
            if general and not indent > column:
                # the rest is closed by unroll_indent(-1) at a document marker or the stream end
                general = False
                block_mark = next_tok.start_mark.index - 1
            stop = block_mark
            for rec in reversed(gap):
                if rec.end < stop:
                    break
                if rec.start_col == indent + 1:
                    block_mark = rec.start
                stop = rec.scan
            self.toks.append((T_BEND, block_mark, tok))
            if indents:
                indents.pop()


# ------------------------------------------------------------------- the comment path: parser

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


# --------------------------------------------------------------- sops' pre-pass on document 1


# yaml.v3's alias limit (decode.go, allowedAliasRatio): while decoding, every node decoded counts,
# and a node decoded through an alias counts as aliased too; once more than 100 aliased and 1,000 in
# all, the aliased share may not pass 99% (a document up to 400,000 decodes), falling linearly to 10%
# at 4,000,000. sops' pre-pass decodes the first document, so that is where sops refuses an alias
# bomb; later documents are held to the same limit here (sops would expand them without end).
_RATIO_LOW = 400000
_RATIO_HIGH = 4000000
_RATIO_RANGE = float(_RATIO_HIGH - _RATIO_LOW)
_SATURATE = 1 << 62  # decode costs beyond this all fail the same way


def _excessive(decodes: int, aliased: int) -> bool:
    """decode.go's test (with aliased > 100 already known): the aliased share is too big."""
    if decodes <= 1000:
        return False
    if decodes <= _RATIO_LOW:
        allowed = 0.99
    elif decodes >= _RATIO_HIGH:
        allowed = 0.10
    else:
        allowed = 0.99 - 0.89 * (float(decodes - _RATIO_LOW) / _RATIO_RANGE)
    return float(aliased) / float(decodes) > allowed


def _fail_aliasing() -> None:
    raise CouldNotReadInputFile("yaml: document contains excessive aliasing")


def _key_id(n: _Node, as_string: bool) -> Any:
    """A decoded key as decode.go's mergedFields compares it (a Go interface: type and value)."""
    while n.kind == ALIAS and n.target is not None:
        n = n.target
    if n.kind != SCALAR:
        return n  # a collection key: equal to nothing else
    if as_string:
        return (str, n.raw)
    return (type(n.value), n.value)


class _FirstDocChecks:
    """What `yaml.Unmarshal(first document, &map[string]interface{})` rejects, in its order:
    decode failures abort at once, type errors (duplicate keys...) are reported together, and
    alias expansion is counted as decode.go counts it (``errors=False``: only the counting, for
    the later documents).

    The decoder's walk is followed node by node outside aliases; an alias adds its target's whole
    decode cost at once (memoised per node): both counts grow by one per node inside it, so the
    aliased share only rises while it is expanded and the test at its end gives yaml.v3's verdict.
    A target's type errors are collected once and repeated per expansion, as yaml.v3 repeats them."""

    def __init__(self, errors: bool = True) -> None:
        self.terrors: list[str] = []
        self.errors = errors
        self.decodes = 0
        self.aliased = 0
        self.sizes: dict[int, int] = {}
        self.merge_sizes: dict[tuple[int, frozenset[Any]], tuple[int, frozenset[Any]]] = {}
        self.target_terrors: dict[int, list[str]] = {}
        self.silent = 0  # > 0: walking an alias target for its errors (already counted)

    # ---- counting

    def step(self) -> None:
        if self.silent:
            return
        self.decodes += 1
        if self.aliased > 100 and _excessive(self.decodes, self.aliased):
            _fail_aliasing()

    def expand(self, cost: int) -> None:
        if self.silent:
            return
        self.decodes = min(self.decodes + cost, _SATURATE)
        self.aliased = min(self.aliased + cost, _SATURATE)
        if self.aliased > 100 and _excessive(self.decodes, self.aliased):
            _fail_aliasing()

    def size(self, n: _Node) -> int:
        """The decodes of node ``n`` decoded into an interface{} (memoised: aliases repeat nodes)."""
        known = self.sizes.get(id(n))
        if known is not None:
            return known
        kind = n.kind
        if kind == SCALAR:
            return 1
        if kind == ALIAS:
            total = 1 + (self.size(n.target) if n.target is not None else 0)
        elif kind == SEQ:
            total = 1
            for c in n.content:
                total += self.size(c)
        else:
            total = 1
            content = n.content
            keys = content[0::2]
            if len({(k.kind, k.raw) for k in keys}) == len(keys):  # else: duplicate keys, no decode
                merge = None
                for i in range(0, len(content), 2):
                    k = content[i]
                    if _is_merge(k):
                        merge = content[i + 1]
                        continue
                    total += self.size(k) + self.size(content[i + 1])
                if merge is not None:
                    for k in keys:
                        total += self.size(k)
                    parent = frozenset(_key_id(k, False) for k in keys)
                    total += self.merge_size(merge, parent, _is_string_map(n))[0]
        total = min(total, _SATURATE)
        self.sizes[id(n)] = total
        return total

    def merge_size(self, m: _Node, seen: frozenset[Any], as_string: bool) -> tuple[int, frozenset[Any]]:
        """decode.go's merge(): the decodes of merging ``m`` when keys ``seen`` are set already
        (their values are not decoded); also the keys set afterwards."""
        memo = self.merge_sizes.get((id(m), seen))
        if memo is not None:
            return memo
        total = 0
        if m.kind == ALIAS and m.target is not None:
            cost, seen2 = self.merge_size(m.target, seen, as_string)
            result = (1 + cost, seen2)
        elif m.kind == SEQ:
            seen2 = seen
            for c in m.content:
                cost, seen2 = self.merge_size(c, seen2, as_string)
                total += cost
            result = (total, seen2)
        elif m.kind == MAP:
            total = 1
            content = m.content
            keys = content[0::2]
            seen2 = seen
            if len({(k.kind, k.raw) for k in keys}) == len(keys):
                added = set()
                inner = None
                for i in range(0, len(content), 2):
                    k = content[i]
                    if _is_merge(k):
                        inner = content[i + 1]
                        continue
                    total += self.size(k)
                    kid = _key_id(k, as_string)
                    if kid not in seen2 and kid not in added:
                        added.add(kid)
                        total += self.size(content[i + 1])
                seen2 = seen2 | added
                if inner is not None:
                    cost, seen2 = self.merge_size(inner, seen2, as_string)
                    total += cost
            result = (min(total, _SATURATE), seen2)
        else:
            result = (0, seen)  # yaml.v3 fails on it (checked by merge())
        self.merge_sizes[(id(m), seen)] = result
        return result

    def alias(self, n: _Node, key: bool = False) -> None:
        """An alias met outside any alias: one decode, then its target's, all aliased; then the
        type errors decoding the target adds (collected once per target)."""
        self.step()
        target = n.target
        if target is None:
            return
        self.expand(self.size(target))
        if not self.errors or key:
            return
        known = self.target_terrors.get(id(target))
        if known is None:
            start = len(self.terrors)
            self.silent += 1
            try:
                self.value(target)
            finally:
                self.silent -= 1
            known = self.target_terrors[id(target)] = self.terrors[start:]
            del self.terrors[start:]
        self.terrors.extend(known)

    # ---- the decoder's walk

    def run(self, doc: _Doc) -> None:
        self.decodes = 1  # the document node
        node = doc.node
        if node is None:
            return
        if node.kind == ALIAS:
            self.alias(node, key=not self.errors)
            while node is not None and node.kind == ALIAS:
                node = node.target
            if node is None or not self.errors:
                return
            self.silent += 1
        else:
            self.step()
        if node.kind == MAP:
            self.mapping(node, top=True)
        elif not self.errors:
            self.value(node)
        elif node.kind == SEQ:
            self.terrors.append(f"line {node.line_no}: cannot unmarshal !!seq into map[string]interface {{}}")
        else:
            self.scalar(node)
            if node.value is not None:
                tag = node.tag or _plain_tag(node.value)
                value = node.raw if len(node.raw) <= 10 else node.raw[:7] + "..."
                self.terrors.append(
                    f"line {node.line_no}: cannot unmarshal {tag} `{value}` into map[string]interface {{}}")
        if self.terrors:
            raise CouldNotReadInputFile("yaml: unmarshal errors:\n  " + "\n  ".join(self.terrors))

    def scalar(self, n: _Node) -> None:
        if n.err is not None and self.errors:
            raise CouldNotReadInputFile(f"yaml: {n.err}")

    def value(self, n: _Node) -> None:
        """Decode ``n`` into an interface{} (counted by the caller)."""
        kind = n.kind
        if kind == SCALAR:
            self.scalar(n)
        elif kind == MAP:
            self.mapping(n)
        elif kind == SEQ:
            for c in n.content:
                self.node(c)
        elif kind == ALIAS:
            # counted by node(); reached directly only for a top-level alias
            pass

    def node(self, n: _Node, key: bool = False) -> None:
        if n.kind == ALIAS:
            self.alias(n, key)
        else:
            self.step()
            self.value(n)

    def mapping(self, n: _Node, top: bool = False, merged: set[Any] | None = None,
                as_string: bool = False) -> None:
        content = n.content
        keys = content[0::2]
        seen: dict[tuple[int, str], list[int]] = {}
        for i, k in enumerate(keys):
            seen.setdefault((k.kind, k.raw), []).append(i)
        if len(seen) < len(keys):
            if self.errors:
                # yaml.v3 compares every key with every later one, in that order
                for i, k in enumerate(keys):
                    same = seen[(k.kind, k.raw)]
                    for j in same[same.index(i) + 1:]:
                        self.terrors.append(f"line {keys[j].line_no}: mapping key {_go_quote(k.raw)} "
                                            f"already defined at line {k.line_no}")
            return
        merge = None
        for i in range(0, len(content), 2):
            k, v = content[i], content[i + 1]
            if _is_merge(k):
                merge = v
                continue
            kt = k
            while kt.kind == ALIAS and kt.target is not None:
                kt = kt.target
            if top and kt.kind != SCALAR:
                self.step()  # decoding a collection into a string fails at once
                if self.errors:
                    self.terrors.append(f"line {k.line_no}: cannot unmarshal {_KIND_NAMES[kt.kind]} into string")
                continue
            self.node(k, key=True)
            if kt.kind != SCALAR:
                if self.errors:
                    raise CouldNotReadInputFile("yaml: invalid map key: " + ("map[string]interface {}{}"
                                                if kt.kind == MAP else "[]interface {}{}"))
                continue
            self.scalar(kt)
            if top and kt.value is None and kt.tag in ("", "!!null"):
                continue  # a null key does not decode into a string: its value is skipped
            if merged is not None:
                kid = _key_id(k, as_string)
                if kid in merged:
                    continue
                merged.add(kid)
            self.node(v)
        if merge is not None:
            if merged is None:
                merged = set()
                for k in keys:
                    self.node(k, key=True)
                    merged.add(_key_id(k, False))
            self.merge(merge, merged, top or _is_string_map(n))

    def merge(self, m: _Node, merged: set[Any], as_string: bool) -> None:
        def want_map() -> None:
            if self.errors:
                raise CouldNotReadInputFile("yaml: map merge requires map or sequence of maps as the value")

        def alias_merge(a: _Node) -> None:
            self.step()
            if a.target is None:
                return
            cost, seen = self.merge_size(a.target, frozenset(merged), as_string)
            self.expand(cost)
            merged.update(seen)

        if m.kind == MAP:
            self.step()
            self.mapping(m, merged=merged, as_string=as_string)
        elif m.kind == ALIAS:
            if m.target is not None and m.target.kind != MAP:
                want_map()
            alias_merge(m)
        elif m.kind == SEQ:
            for c in m.content:
                if c.kind == ALIAS:
                    if c.target is not None and c.target.kind != MAP:
                        want_map()
                    alias_merge(c)
                elif c.kind != MAP:
                    want_map()
                else:
                    self.step()
                    self.mapping(c, merged=merged, as_string=as_string)
        else:
            want_map()


def _is_merge(k: _Node) -> bool:
    return k.kind == SCALAR and k.raw == MERGE and k.tag in ("", "!!merge")


def _is_string_map(n: _Node) -> bool:
    """decode.go isStringMap: every key tagged !!str or !!merge (the map decodes to map[string]...)."""
    for k in n.content[0::2]:
        if k.kind != SCALAR:
            return False
        tag = k.tag or _plain_tag(k.value) if k.value is not None else (k.tag or "!!null")
        if tag not in ("!!str", "!!merge"):
            return False
    return True


def _plain_tag(v: Any) -> str:
    if isinstance(v, bool):
        return "!!bool"
    if isinstance(v, int):
        return "!!int"
    if isinstance(v, float):
        return "!!float"
    if isinstance(v, str):
        return "!!str"
    return "!!timestamp"


def _go_quote(s: str) -> str:
    """Go's %#v of a string (strconv.Quote)."""
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# ------------------------------------------------------------------ sops' YAML store: the tree


def _add(comment: str, branch: list[Any], is_map: bool, inline: bool = False) -> None:
    """appendCommentToMap / appendCommentToList: one item per non-empty comment line."""
    if not comment:
        return
    for c in comment.split("\n"):
        if c:
            item = Comment(c[1:], inline)
            branch.append((item, None) if is_map else item)


def _to_value(n: _Node, handled: bool) -> Any:
    """nodeToTreeValue."""
    kind = n.kind
    if kind == SCALAR:
        return n.value
    if kind == MAP:
        return _to_branch(n, Branch(), handled)
    if kind == SEQ:
        result: list[Any] = []
        if not handled:
            _add(n.head, result, False)
            _add(n.line, result, False)
        for item in n.content:
            if item.head:
                _add(item.head, result, False)
            if item.line:
                _add(item.line, result, False, True)
            result.append(_to_value(item, True))
            if item.foot:
                _add(item.foot, result, False)
        if not handled:
            _add(n.foot, result, False)
        return result
    assert n.target is not None
    return _to_value(n.target, False)


def _to_branch(n: _Node, branch: Branch, handled: bool) -> Branch:
    """appendYamlNodeToTreeBranch for a mapping (or what a document holds)."""
    if not handled:
        _add(n.head, branch, True)
        _add(n.line, branch, True)
    kind = n.kind
    if kind == MAP:
        content = n.content
        for i in range(0, len(content), 2):
            k, v = content[i], content[i + 1]
            if k.head:
                _add(k.head, branch, True)
            if k.line:
                _add(k.line, branch, True)
            simple = v.kind == SCALAR or v.kind == ALIAS
            if simple:
                if v.head:
                    _add(v.head, branch, True)
                if v.line:
                    _add(v.line, branch, True, True)
            branch.append((_to_value(k, False), _to_value(v, simple)))
            if simple and v.foot:
                _add(v.foot, branch, True)
            if k.foot:
                _add(k.foot, branch, True)
    elif kind == SEQ:
        raise CouldNotReadInputFile("Error unmarshaling input YAML: YAML documents that are sequences are not supported")
    elif kind == SCALAR:
        if n.value is None and n.tag in ("", "!!null"):
            return branch
        raise CouldNotReadInputFile("Error unmarshaling input YAML: YAML documents that are values are not supported")
    else:
        assert n.target is not None
        branch = _to_branch(n.target, branch, False)
    if not handled:
        _add(n.foot, branch, True)
    return branch


def _doc_to_branch(doc: _Doc) -> Branch:
    branch = Branch()
    _add(doc.head, branch, True)
    if doc.node is not None:
        branch = _to_branch(doc.node, branch, False)
    _add(doc.foot, branch, True)
    return branch


# ------------------------------------------------------------------------------------- entry


class _YAMLError(Exception):
    """A yaml.v3 parse error (sops prefixes it when it is not in the first document)."""


def _yaml_error(err: Any) -> str:
    """yaml.v3's parser.fail(): the line is the context mark's, else the problem mark's (0-based
    for parser errors, 1-based for scanner errors), and left out when it is 0."""
    scanner = isinstance(err, yaml.scanner.ScannerError)
    line = 0
    for mark in (getattr(err, "context_mark", None), getattr(err, "problem_mark", None)):
        if mark is not None and mark.line != 0:
            line = mark.line + (1 if scanner else 0)
            break
    problem = getattr(err, "problem", None) or str(err)
    where = f"line {line}: " if line else ""
    return f"yaml: {where}{problem}"


def _compose_tokens(text: str, docs: list[Branch]) -> None:
    fixes: list[tuple[tuple[int, int], Any, _Scan]] = []
    err: Any = None
    while True:
        scan = _Scan(text)
        try:
            scan.run()
            break
        except yaml.YAMLError as e:
            retry = _untab(text, e)
            if retry is None or len(fixes) > 10000:
                err = e
                break
            text, where = retry
            fixes.append((where, e, scan))
    for (ls, j), tab_err, failed in fixes:
        if not any(a < j <= b if text[j:j + 1] == "#" else a < ls < b for a, b in scan.runs):
            err, scan = tab_err, failed  # yaml.v3 rejects this tab too
            break
    if err is not None:
        # what comes before the error is read first: a parse error there, or the first
        # document's checks, are reported instead
        try:
            _PartialParser(scan, docs).stream()
        except _ScannerAhead:
            pass
        raise _YAMLError(_yaml_error(err))
    _Parser(scan, docs).stream()


def _untab(text: str, err: Any) -> tuple[str, tuple[int, int]] | None:
    """yaml.v3 reads a run of comment lines in one go, tabs in their indentation included, where
    libyaml rejects a tab that starts a line. Such a tab becomes a space (same column) and the
    text is scanned again; the caller then checks yaml.v3 really read that line as part of a run."""
    mark = getattr(err, "problem_mark", None)
    if mark is None or not isinstance(err, yaml.scanner.ScannerError):
        return None
    p = mark.index
    if p >= len(text) or text[p] != "\t":
        return None
    ls = _line_start(text, p)
    j = _end(_BLANK_RUN, text, ls)
    if j < len(text) and text[j] not in "#\r\n":
        return None
    return text[:ls] + text[ls:j].replace("\t", " ") + text[j:], (ls, j)


def load_reference(text: str) -> list[Branch]:
    """The full loader: one Branch per document of decoded, BOM-less, non-empty text. ``load_yaml``
    (in ``yaml_lines``) tries the line scanner first and comes here for everything else."""
    # the loaders allocate many long-lived objects: the cyclic GC would rescan them over and over
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        # the port recurses per nesting level: a deep text is read on a big stack
        result: list[Branch] = call_deep(_load, text)
        return result
    finally:
        if gc_was_enabled:
            gc.enable()


def _load(text: str) -> list[Branch]:
    branches = _fast(text)
    if branches is not None:
        if not branches:
            raise CouldNotReadInputFile("EOF")
        return branches
    docs: list[Branch] = []
    try:
        _compose_tokens(text, docs)
    except _YAMLError as e:
        msg = str(e)
        raise CouldNotReadInputFile(f"Error unmarshaling input YAML: {msg}" if docs else msg) from None
    if not docs:
        raise CouldNotReadInputFile("EOF")
    return docs
