"""Stage 1 of the comment path (scannerc.go): libyaml's token stream, with the comment records
yaml.v3's scanner makes between tokens and the positions where it puts BLOCK-END tokens.

libyaml scans the same tokens as yaml.v3 but drops comments; ``_Scan`` walks its tokens and reads
the whitespace gaps that hold a '#' as yaml.v3 does (line comments, then runs of comment lines cut
into foot and head comments), so Python work happens only where there are comments. The rules are
listed in ``yaml_load``'s docstring. Also here: the text helpers and the depth limit that the fast
path and the loader's entry share.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml import tokens as tk

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
