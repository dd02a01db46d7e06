"""The node model of the YAML loader: yaml.v3's Node reduced to what sops reads, shared by the
comment-path parser (which builds nodes), sops' first-document checks and the node-to-tree
conversion (which read them). Kept apart so those three stages depend on it and not on each other.

A scalar node is resolved when it is built (``_scalar_node``), as decode.go does followed by the
sops store's ``node.Decode(&interface{})``: a tagged scalar that does not decode keeps its error
for the checks to report.
"""

from __future__ import annotations

from typing import Any

from .yaml_resolve import MERGE, ScalarDecodeError, resolve_plain, resolve_tagged

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
