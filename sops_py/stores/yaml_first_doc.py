"""sops' pre-pass on the first document: what ``yaml.Unmarshal`` into ``map[string]interface{}``
rejects (duplicate keys, bad merges, undecodable tagged scalars, non-mapping documents), with
yaml.v3's messages and in its order; and yaml.v3's alias-expansion limit, applied to every
document (the fast path uses the same counting).

It walks the parsed nodes as decode.go would decode them, without building the decoded values.
"""

from __future__ import annotations

from typing import Any

from ..errors import CouldNotReadInputFile
from .yaml_nodes import _KIND_NAMES, ALIAS, MAP, SCALAR, SEQ, _Doc, _Node
from .yaml_resolve import MERGE

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
