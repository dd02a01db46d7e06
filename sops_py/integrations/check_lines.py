"""Line numbers for ``sops-py check``: where, in a file's text, a key path of its document tree is.

The stores build trees without positions (positions would slow every decrypt), so the check finds
the line only for the few keys it reports, with one small locator per format:

* YAML: PyYAML's composer (positions on every node; aliases are not expanded, so a hostile file
  costs no more than its text);
* JSON (and the binary store, whose encrypted form is JSON): a token scanner keeping a stack of
  containers, iterative so that nesting depth cannot exhaust Python's stack;
* dotenv: the line of the key's n-th ``KEY=`` line, split exactly as the dotenv store splits;
* INI: the key's line inside the n-th section of that name (a repeated key takes its value from its
  last line, as ini.v1 does, so that line is the one reported).

A path is a tuple of steps: ``Key(name, nth)`` for the ``nth`` (0-based) entry called ``name`` in a
mapping, an ``int`` for a list item counted without comments. A locator answers the line of the
deepest step it can find (the whole path when it can): a report always points somewhere useful,
and a file a locator cannot read gives line 1.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple


class Key(NamedTuple):
    """A mapping entry: its name and which occurrence of that name (0 = the first)."""

    name: str
    nth: int = 0


Step = Key | int
Path = tuple[Step, ...]


def locate(fmt: str, text: str, doc: int, path: Path) -> int:
    """The 1-based line of ``path`` in document ``doc`` of ``text`` (a file of format ``fmt``)."""
    try:
        if fmt == "yaml":
            return _yaml_line(text, doc, path)
        if fmt in ("json", "binary"):
            return _json_line(text, path)
        if fmt == "dotenv":
            return _dotenv_line(text, path)
        if fmt == "ini":
            return _ini_line(text, path)
    except Exception:  # noqa: BLE001 - a locator that cannot read the text must not hide the finding itself
        return 1
    return 1


def comment_line(text: str, near: int, comment: str) -> int:
    """The line holding the comment ``comment`` (its text after ``#`` or ``;``, whole-line or after a
    value) nearest to line ``near`` (the line of the mapping or list holding it; the earlier line on a
    tie), or ``near`` when no line does."""
    want = comment.strip()
    best: int | None = None
    for i, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        whole = line[:1] in ("#", ";") and line.lstrip("#; ").strip() == want
        inline = bool(want) and line.endswith(want) and line[:-len(want)].rstrip().endswith("#")
        if (whole or inline) and (best is None or abs(i - near) < abs(best - near)):
            best = i
    return near if best is None else best


def line_of_text(text: str, needle: str) -> int | None:
    """The first line containing ``needle``, or None."""
    at = text.find(needle)
    return None if at < 0 else text.count("\n", 0, at) + 1


# ------------------------------------------------------------------ YAML


def _yaml_line(text: str, doc: int, path: Path) -> int:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    nodes = list(yaml.compose_all(text, Loader=loader))
    if doc >= len(nodes) or nodes[doc] is None:
        return 1
    node = nodes[doc]
    line = int(node.start_mark.line) + 1
    for step in path:
        if isinstance(step, Key):
            if not isinstance(node, yaml.MappingNode):
                break
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == step.name]
            if len(found) <= step.nth:
                break
            key_node, node = found[step.nth]
            line = int(key_node.start_mark.line) + 1
        else:
            if not isinstance(node, yaml.SequenceNode) or step >= len(node.value):
                break
            node = node.value[step]
            line = int(node.start_mark.line) + 1
    return line


# ------------------------------------------------------------------ JSON

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)


class _Frame:
    __slots__ = ("index", "is_object", "key", "seen", "want_key")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        self.want_key = is_object
        self.key: Step | None = None if is_object else 0
        self.index = 0
        self.seen: dict[str, int] = {}


def _json_line(text: str, path: Path) -> int:
    """Scan tokens, keeping the path of the value about to start; stop at the target path."""
    stack: list[_Frame] = []
    best, best_depth = 1, 0
    line, last = 1, 0
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        line += text.count("\n", last, m.start())
        last = m.start()
        top = stack[-1] if stack else None
        if top is not None and top.is_object and top.want_key and tok[0] == '"':
            name = json.loads(tok)
            nth = top.seen.get(name, 0)
            top.seen[name] = nth + 1
            top.key = Key(name, nth)
            top.want_key = False
            here = tuple(f.key for f in stack)
            depth = _prefix_depth(here, path)
            if depth > best_depth:
                best, best_depth = line, depth
                if depth == len(path):
                    return best
            continue
        if tok == ",":
            if top is not None:
                if top.is_object:
                    top.want_key = True
                else:
                    top.index += 1
                    top.key = top.index
            continue
        if tok in ("}", "]"):
            if stack:
                stack.pop()
            continue
        if tok == ":":
            continue
        if top is not None and not top.is_object:  # an array item starts here
            here = tuple(f.key for f in stack)
            depth = _prefix_depth(here, path)
            if depth > best_depth:
                best, best_depth = line, depth
                if depth == len(path):
                    return best
        if tok in ("{", "["):
            stack.append(_Frame(tok == "{"))
    return best


def _prefix_depth(here: tuple[Step | None, ...], path: Path) -> int:
    """How many leading steps of ``path`` ``here`` equals (0 unless ``here`` is a prefix of it)."""
    if len(here) > len(path) or any(a != b for a, b in zip(here, path, strict=False)):
        return 0
    return len(here)


# ------------------------------------------------------------------ dotenv


def _dotenv_line(text: str, path: Path) -> int:
    if not path or not isinstance(path[0], Key):
        return 1
    name, nth = path[0]
    seen = 0
    for i, line in enumerate(text.split("\n")):
        if not line or line[0] == "#":
            continue
        if line.partition("=")[0] == name:
            if seen == nth:
                return i + 1
            seen += 1
    return 1


# ------------------------------------------------------------------ INI


def _ini_key(line: str) -> str | None:
    """The key name of an INI key line (quotes removed), as ini.v1 reads it; None for others."""
    for quote in ('"""', '"', "`"):
        if line.startswith(quote):
            end = line.find(quote, len(quote))
            return None if end < 0 else line[len(quote):end].strip()
    cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
    return line[:cut].strip() if cut > 0 else None


def _ini_line(text: str, path: Path) -> int:
    if not path or not isinstance(path[0], Key):
        return 1
    section = path[0]
    key = path[1] if len(path) > 1 and isinstance(path[1], Key) else None
    current, occurrence = "DEFAULT", 0
    seen_sections: dict[str, int] = {"DEFAULT": 1}
    header_line = 1
    in_target = section.name == "DEFAULT" and section.nth == 0
    found: int | None = None
    for i, raw in enumerate(text.split("\n")):
        line = raw.lstrip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            close = line.rfind("]")
            current = line[1:close] if close > 0 else line[1:]
            occurrence = seen_sections.get(current, 0)
            seen_sections[current] = occurrence + 1
            if in_target and found is not None:
                return found
            in_target = current == section.name and occurrence == section.nth
            if in_target:
                header_line = i + 1
            continue
        if in_target and key is not None and _ini_key(line) == key.name:
            found = i + 1  # the last line of a repeated key gives its value
    if found is not None:
        return found
    return header_line
