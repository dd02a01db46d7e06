"""A line scanner for the block-style YAML nearly every sops file uses, without PyYAML.

Files written by sops (and most hand-written ones) are block mappings and sequences, one entry per
line, with plain, quoted and literal block scalars and full-line comments. For such text this
scanner builds the same tree as the full loader (``yaml_load``, a port of yaml.v3's comment
placement on libyaml tokens) several times faster, and without importing PyYAML at all. It returns
None for anything it does not vouch for, and the full loader then runs: flow collections (other
than one-line sequences of scalars and ``{}``), anchors, aliases, tags, merge keys, duplicate keys, multi-line flow or
plain scalars, folded scalars, several documents, tabs, carriage returns, non-printable characters,
and every error. ``tests/property/test_yaml_lines.py`` checks it against the full loader on
generated and mutated documents and a corpus of real-world files.

Comment placement, as yaml.v3 + sops place full-line comments (see ``yaml_load``): the comments
before a line go into the block that line continues (or opens). Where the line closes blocks, the
comments at or right of the innermost block's column stay in it and those at the line's own column
go to the block it continues; yaml.v3 spreads any others by rules the full loader implements
(``_place_comments``). A comment after a value is an inline comment placed before its entry; one
after ``key:`` is a plain comment before the entry. Empty sequence items (``-`` alone) and items
whose value starts on the next line also go to the full loader.
"""

from __future__ import annotations

from ..errors import CouldNotReadInputFile
from ..tree import Branch, Comment
from .yaml_resolve import RESOLVE_FIRST, resolve_plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# plain scalars may not start with these (flow, anchors, tags, quotes, block scalars, reserved)
_NOT_PLAIN_FIRST = frozenset("#&*!|>'\"%@`,[]{}")
_MAX_STACK = 9000  # deeper texts go to the full loader, which applies yaml.v3's 10,000-level limits
_MAX_KEY = 1000  # yaml.v3 refuses simple keys over 1024 characters; leave those to the full loader
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}
_INDICATOR_DIGITS = frozenset("123456789")


class _Bail(Exception):
    """The text is not in the scanner's subset: the full loader takes it."""


def _resolve(s: str) -> Any:
    return s if s[0] not in RESOLVE_FIRST else resolve_plain(s)


def _unescape(body: str) -> str:
    """The value of a double-quoted scalar's text (between the quotes) that holds a backslash."""
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        j = body.find("\\", i)
        if j < 0:
            out.append(body[i:])
            break
        out.append(body[i:j])
        c = body[j + 1:j + 2]
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
            i = j + 2
        elif c in _HEX_LEN:
            digits = body[j + 2:j + 2 + _HEX_LEN[c]]
            if len(digits) != _HEX_LEN[c] or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise _Bail
            code = int(digits, 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise _Bail
            out.append(chr(code))
            i = j + 2 + len(digits)
        else:
            raise _Bail
    return "".join(out)


def _quoted(s: str) -> tuple[str, str]:
    """A quoted scalar at the start of ``s``: (value, what follows the closing quote)."""
    if s[0] == "'":
        pos = 1
        while True:
            k = s.find("'", pos)
            if k < 0:
                raise _Bail  # continues on the next line
            if s[k + 1:k + 2] == "'":
                pos = k + 2
                continue
            return s[1:k].replace("''", "'"), s[k + 1:]
    k = s.find('"', 1)
    if k < 0:
        raise _Bail
    if "\\" not in s[1:k]:
        return s[1:k], s[k + 1:]
    pos = 1
    while True:
        k = s.find('"', pos)
        if k < 0:
            raise _Bail
        backslashes = 0
        while s[k - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return _unescape(s[1:k]), s[k + 1:]
        pos = k + 1


def _trailing_comment(rest: str) -> str | None:
    """What follows a scalar on its line: None for nothing, else the inline comment's text."""
    if not rest or rest.isspace():
        return None
    stripped = rest.lstrip(" ")
    if stripped[0] == "#" and len(stripped) < len(rest):
        return stripped[1:]
    raise _Bail


def _scalar(s: str) -> tuple[Any, str | None]:
    """A scalar value written on one line (``s`` starts at its first character): (value, inline
    comment or None). Block scalar headers and empty values are the caller's business."""
    c = s[0]
    if c == '"' or c == "'":
        value, rest = _quoted(s)
        return value, _trailing_comment(rest)
    if c in _NOT_PLAIN_FIRST:
        if c == "{" and s.rstrip(" ") == "{}":
            return Branch(), None
        if c == "[":
            return _flow_sequence(s), None
        raise _Bail
    if (c == "-" or c == "?" or c == ":") and (len(s) == 1 or s[1] == " "):
        raise _Bail
    comment = None
    k = s.find(" #")
    if k >= 0:
        comment = s[k + 2:]
        s = s[:k]
    s = s.rstrip(" ")
    if ": " in s or s.endswith(":"):
        raise _Bail  # a mapping where yaml.v3 reports an error
    return _resolve(s), comment


def _flow_sequence(s: str) -> list[Any]:
    """A one-line flow sequence of scalars, ``[a, "b", 3]``, alone on the rest of its line. Nested
    collections, a comment after it (yaml.v3 puts that inside the sequence), a trailing comma and
    anything spanning lines go to the full loader."""
    items: list[Any] = []
    pos = 1
    n = len(s)
    while True:
        while pos < n and s[pos] == " ":
            pos += 1
        if pos == n:
            raise _Bail  # continues on the next line
        c = s[pos]
        if c == "]" and not items:
            break
        if c == '"' or c == "'":
            value, rest = _quoted(s[pos:])
            items.append(value)
            pos = n - len(rest)
        else:
            end = pos
            while end < n and s[end] not in ",]":
                end += 1
            text = s[pos:end].rstrip(" ")
            if (not text or c in _NOT_PLAIN_FIRST or (c == "-" or c == "?" or c == ":")
                    and (len(text) == 1 or text[1] == " ") or ": " in text or " #" in text
                    or text[-1] == ":" or "[" in text or "{" in text or "}" in text):
                raise _Bail
            items.append(_resolve(text))
            pos = end
        while pos < n and s[pos] == " ":
            pos += 1
        if pos < n and s[pos] == ",":
            pos += 1
            continue
        if pos < n and s[pos] == "]":
            break
        raise _Bail
    if s[pos + 1:].strip(" "):
        raise _Bail
    return items


def _key(s: str) -> tuple[Any, str, int]:
    """A key at the start of ``s``: (its value, its text for the duplicate check, where its value
    starts), or (None, "", -1) when ``s`` is not ``key:`` / ``key: ...``."""
    c = s[0]
    if c == '"' or c == "'":
        value, rest = _quoted(s)
        after = rest.lstrip(" ")
        if after[:1] != ":" or after[1:2] not in ("", " ") or len(s) - len(rest) > _MAX_KEY:
            return None, "", -1
        return value, value, len(s) - len(after) + 1
    k = s.find(": ")
    if k < 0:
        if not s.endswith(":"):
            return None, "", -1
        k = len(s) - 1
    raw = s[:k].rstrip(" ")
    if not raw or k > _MAX_KEY:
        return None, "", -1
    c = raw[0]
    if c in _NOT_PLAIN_FIRST or (c == "-" or c == "?" or c == ":") and (len(raw) == 1 or raw[1] == " "):
        return None, "", -1
    if " #" in raw or raw == "<<":
        return None, "", -1  # a comment; merge keys are the full loader's business
    return _resolve(raw), raw, k + 1


def _block(lines: list[str], i: int, parent: int, header: str) -> tuple[str, int]:
    """A literal block scalar whose header (``|``, ``|-``, ``|+``) ends line ``i - 1``; ``parent``
    is the indentation its content must exceed. Returns (value, index of the next line)."""
    spec = header[1:].rstrip(" ")
    digits = [ch for ch in spec if ch in _INDICATOR_DIGITS]
    chomp = "".join(ch for ch in spec if ch == "-" or ch == "+")
    if len(digits) + len(chomp) != len(spec) or len(digits) > 1 or len(chomp) > 1:
        raise _Bail  # header comments, malformed indicators
    explicit = int(digits[0]) if digits else 0
    n = len(lines)
    j = i
    while j < n and not lines[j]:
        j += 1
    if j == n:
        raise _Bail
    first = lines[j]
    indent = len(first) - len(first.lstrip(" "))
    if explicit:
        if indent < parent + explicit:
            raise _Bail  # an empty block scalar
        indent = parent + explicit
    if indent <= parent or first.isspace():
        raise _Bail  # empty block scalar, or a line of spaces
    pad = " " * indent
    body: list[str] = [""] * (j - i)
    last = j  # index after the last non-empty content line
    while j < n:
        line = lines[j]
        if not line:
            body.append("")
        elif line.startswith(pad):
            if line.isspace():
                raise _Bail
            body.append(line[indent:])
            last = j + 1
        elif line.isspace():
            raise _Bail  # spaces-only lines: their own rules
        else:
            break
        j += 1
    trailing = j - last
    if trailing:
        del body[len(body) - trailing:]
    value = "\n".join(body)
    if chomp == "":
        value += "\n"
    elif chomp == "+":
        value += "\n" * (1 + trailing)
    return value, j


def load_yaml(data: bytes) -> list[Branch]:
    """Parse YAML bytes into one Branch per document, as sops' YAML store does."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = _from_utf16(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CouldNotReadInputFile("yaml: invalid leading UTF-8 octet") from None
    if text.startswith("\ufeff"):
        text = text[1:]
        if text.startswith("\ufeff"):
            text = _second_bom(text[1:])
    if not data:
        return []
    branches = scan(text)
    if branches is not None:
        return branches
    from .yaml_load import load_reference

    return load_reference(text)


def _from_utf16(data: bytes) -> bytes:
    """yaml.v3's reader takes UTF-16 (little or big endian) when the input starts with its BOM, and
    parses the text as UTF-8; so does sops, which then writes UTF-8."""
    try:
        return data[2:].decode("utf-16-le" if data[0] == 0xFF else "utf-16-be").encode("utf-8")
    except UnicodeError:  # an odd length or a lone surrogate (yaml.v3 names the case; one message here)
        raise CouldNotReadInputFile("yaml: incomplete UTF-16 character") from None


def _second_bom(rest: str) -> str:
    """A second BOM: the reader of yaml.v3 drops only the first; its scanner skips one that starts a
    line, but counts it as a column. The first line is then indented by one, and any later line that
    starts at column 0 (a comment too) is refused as yaml.v3 refuses it. An encrypted file always has
    such a line (``sops:``), so a doubled BOM before one is refused, as sops refuses it."""
    lines = rest.split("\n")
    if any(line.strip(" \t\r") and line[0] not in " \t" for line in lines[1:]):
        head = lines[0].lstrip(" ")[:1]
        what = "'-' indicator" if head == "-" else "node content" if head in ("{", "[") else "key"
        raise CouldNotReadInputFile(f"yaml: line 1: did not find expected {what}")
    return " " + rest


def _blank_in_tail(lines: list[str]) -> bool:
    """Whether the comments and blank lines that end the text include a blank line."""
    for line in reversed(lines):
        s = line.lstrip(" ")
        if not s:
            return True
        if s[0] != "#":
            return False
    return False


def scan(text: str) -> list[Branch] | None:
    """The one-document tree of ``text``, or None when the full loader must read it."""
    if not text.endswith("\n") or "\t" in text or "\r" in text:
        return None
    if not text.replace("\n", " ").isprintable():
        return None  # control characters, NEL, LS, PS, BOMs, non-breaking spaces...
    lines = text.split("\n")
    lines.pop()
    try:
        return [_scan(lines)]
    except _Bail:
        return None


def _place_comments(comments: list[tuple[int, str, bool]], stack: list[list[Any]], t: int, indent: int,
                    blank_after: bool, lines_at_end: list[str] | None) -> None:
    """Put the full-line comments read before a line at ``indent`` that continues ``stack[t]``
    (``lines_at_end``: the text's lines when that "line" is the end of the text).

    Where blocks close, yaml.v3 spreads comments over them by rules of its own. Taken here: first
    any comments at or right of the innermost block's column (they stay in it), then comments at
    the new line's column (they go to the block it continues); anything else, and the cases where
    blank lines decide (between the innermost block's comments, after an indentless sequence,
    before a sequence's next item, a document's foot), go to the full loader."""
    inner = stack[-1]
    closing = t < len(stack) - 1
    if closing and lines_at_end is not None and _blank_in_tail(lines_at_end):
        raise _Bail
    indentless = closing and not stack[t + 1][2] and stack[t + 1][0] == indent
    if closing and blank_after and not stack[t][2]:
        raise _Bail
    deep = closing
    for n, (col, txt, blank_before) in enumerate(comments):
        if col < indent:
            raise _Bail
        if deep and col >= inner[0] and not (indentless and col == indent) and not (n and blank_before):
            frame = inner
        else:
            deep = False
            if closing and (col != indent or indentless):
                raise _Bail
            frame = stack[t]
        frame[1].append((Comment(txt), None) if frame[2] else Comment(txt))


def _scan(lines: list[str]) -> Branch:
    top = Branch()
    # open blocks, outermost first: [indent, container, is_mapping, keys seen (mappings)]
    stack: list[list[Any]] = [[0, top, True, set()]]
    comments: list[tuple[int, str, bool]] = []  # (column, text, a blank line since the last comment)
    # a mapping entry whose value starts on a later line: (its mapping, key, the key's line comment)
    pending: tuple[list[Any], Any, str | None] | None = None
    n = len(lines)
    i = 0
    content = False
    blank_after_comment = False
    while True:
        if i < n:
            line = lines[i]
            i += 1
            s = line.lstrip(" ")
            if not s:
                if comments:
                    blank_after_comment = True
                continue
            indent = len(line) - len(s)
            if s[0] == "#":
                comments.append((indent, s[1:], blank_after_comment))
                continue
            if indent == 0 and (s.startswith("---") or s.startswith("...") or s[0] == "%"):
                raise _Bail  # document markers and directives
            item = s[0] == "-" and (len(s) == 1 or s[1] == " ")
        elif not content:
            raise _Bail  # no content at all: the full loader knows what sops makes of that
        else:
            indent, s, item = 0, "", False
        content = True

        opened = null_value = False
        if pending is not None:
            # the value is the block this line opens (deeper, or an indentless sequence), else null
            mapping, key, key_comment = pending
            pending = None
            value: Any = None
            if indent > mapping[0] or indent == mapping[0] and item and s:
                opened = True
                value = [] if item else Branch()
                stack.append([indent, value, not item, None if item else set()])
                if len(stack) > _MAX_STACK:
                    raise _Bail  # near yaml.v3's depth limit: the full loader applies it
            else:
                null_value = True
            if key_comment is not None:
                mapping[1].append((Comment(key_comment), None))
            mapping[1].append((key, value))

        # the block this line continues; the ones above it close here
        t = len(stack) - 1
        if not s:
            t = 0  # the end of the text closes every block
        elif not opened:
            while True:
                frame = stack[t]
                if frame[0] < indent:
                    raise _Bail  # a column no open block has
                if frame[0] == indent:
                    if frame[2] != item:
                        break
                    if frame[2]:
                        raise _Bail  # an item at a mapping's column (not right after its key)
                    # a key at an indentless sequence's column ends it; its mapping continues
                t -= 1
                if t < 0:
                    raise _Bail
        if comments:
            if null_value and t < len(stack) - 1:
                raise _Bail  # comments after an empty value where blocks close: yaml.v3's own rules
            _place_comments(comments, stack, t, indent, blank_after_comment, lines if not s else None)
            comments.clear()
            blank_after_comment = False
        if not s:
            return top
        del stack[t + 1:]

        frame = stack[t]
        if item:
            rest = s[1:].lstrip(" ")
            while rest[:1] == "-" and (len(rest) == 1 or rest[1] == " "):
                # a sequence opening on its parent item's line (``- - a``)
                indent += len(s) - len(rest)
                child: Any = []
                frame[1].append(child)
                frame = [indent, child, False, None]
                stack.append(frame)
                if len(stack) > _MAX_STACK:
                    raise _Bail
                s = rest
                rest = s[1:].lstrip(" ")
            if not rest or rest[0] == "#":
                # an item whose value starts on a later line (or is empty): rare, and yaml.v3
                # drops comments around an empty one
                raise _Bail
            key, raw, vpos = _key(rest)
            if vpos < 0:
                if rest[0] == "|":
                    value, i = _block(lines, i, indent, rest)
                    frame[1].append(value)
                    continue
                value, comment = _scalar(rest)
                if comment is not None:
                    frame[1].append(Comment(comment, True))
                frame[1].append(value)
                continue
            # an item that is a mapping: its first key sits on the item's line
            indent += len(s) - len(rest)
            child = Branch()
            frame[1].append(child)
            frame = [indent, child, True, set()]
            stack.append(frame)
            if len(stack) > _MAX_STACK:
                raise _Bail
            s = rest
        else:
            key, raw, vpos = _key(s)
            if vpos < 0:
                raise _Bail
        if raw in frame[3]:
            raise _Bail  # duplicate keys: the full loader has sops' errors
        frame[3].add(raw)
        rest = s[vpos:].lstrip(" ")
        if not rest:
            pending = (frame, key, None)
            continue
        c = rest[0]
        if c == "#":
            pending = (frame, key, rest[1:])
            continue
        if c == "|":
            value, i = _block(lines, i, indent, rest)
            frame[1].append((key, value))
            continue
        value, comment = _scalar(rest)
        if comment is not None:
            frame[1].append((Comment(comment, True), None))
        frame[1].append((key, value))
