"""sops' YAML store (stores/yaml/store.go) on the parsed nodes: one tree per document, with node
comments turned into Comment items where sops places them (head and line comments before an
item, foot comments after it; a nested collection keeps its own comments inside it; an alias
expands to a copy of its target, comments included). Documents that are sequences or values
are rejected here, as sops rejects them.
"""

from __future__ import annotations

from typing import Any

from ..errors import CouldNotReadInputFile
from ..tree import Branch, Comment
from .yaml_nodes import ALIAS, MAP, SCALAR, SEQ, _Doc, _Node


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
