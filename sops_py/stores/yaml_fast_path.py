"""The YAML loader's fast path: the tree straight from libyaml's events, for text without comments.

Most files sops reads are plain: building their tree from PyYAML's C events skips the token-level
port of yaml.v3's comment handling. The path gives up (returns None) on anything where it could
differ from the port: a '#' outside a scalar, anything sops rejects (so the port reports the exact
error), yaml.v3's depth limits. It counts alias expansion as yaml.v3 does, so an alias bomb fails
here with sops' message without being expanded.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml import events as ev

from ..tree import Branch
from .yaml_comment_scan import _MAX_LEVELS, _TO_EOL, _WS, _end
from .yaml_first_doc import _excessive, _fail_aliasing
from .yaml_nodes import _STR_TAG, ALIAS, SCALAR
from .yaml_resolve import MERGE, RESOLVE_FIRST, ScalarDecodeError, resolve_plain, resolve_tagged


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
    sizes: dict[str, int] = {}  # per anchor: what decoding its node costs yaml.v3 (see yaml_first_doc)
    decodes, aliased = 1, 0  # yaml.v3's decodeCount and aliasCount for the document (see yaml_first_doc)
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
