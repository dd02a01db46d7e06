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

The stages live in their own modules; this one is the entry (``load_reference``) that picks the
path, retries libyaml's scan around yaml.v3's tab leniency and reports errors as sops does:

* ``yaml_fast_path``: the tree from libyaml's events for comment-free text;
* ``yaml_nodes``: the node model the comment path builds;
* ``yaml_comment_scan``: stage 1, tokens and comment records;
* ``yaml_comment_parse``: stages 2 and 3, nodes with their comments;
* ``yaml_first_doc``: sops' pre-pass on the first document and yaml.v3's alias limit;
* ``yaml_node_tree``: sops' conversion of the nodes into a tree.
"""

from __future__ import annotations

import gc
from typing import Any

import yaml

from ..errors import CouldNotReadInputFile
from ..tree import Branch, call_deep
from .yaml_comment_parse import _Parser, _PartialParser, _ScannerAhead, _YAMLError
from .yaml_comment_scan import _BLANK_RUN, _end, _line_start, _Scan
from .yaml_fast_path import _fast


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
