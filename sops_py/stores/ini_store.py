"""The INI store, as sops 3.13's ``stores/ini/store.go`` on top of ``gopkg.in/ini.v1`` (v1.67) with
``AllowNonUniqueSections`` and otherwise default options.

Reading (ini.v1's parser):

* the implicit ``DEFAULT`` section always comes first, even when empty; every ``[name]`` header starts
  a new section (a repeated name is a separate section, ``[DEFAULT]`` included). Each section is a
  top-level key whose value is a map;
* a key line is ``name = value`` or ``name: value`` (the first ``=`` or ``:``); names may be quoted
  with ``"``, ``\"\"\"`` or backticks; a key repeated in a section keeps its first place and its last
  value; a key named ``-`` becomes ``#1``, ``#2``... within its section;
* values are always strings: ``\"\"\"…\"\"\"`` and backtick values are unwrapped and may span lines;
  otherwise the value is trimmed, everything from the first ``#`` or ``;`` is an inline comment, a
  trailing ``\\`` continues the value on the next line, and surrounding ``"…"`` or ``'…'`` are removed;
* comment lines collect until the next key (they become that key's comment, together with its inline
  comment) or section header (the section's comment). sops places a section comment as the first
  item of the section and a key comment as an item *after* its key, without the ``;``/``#`` markers
  and the spaces after them (``TrimLeft``).

Writing (ini.v1's ``WriteTo`` with its pretty defaults):

* the ``DEFAULT`` header is left out when that section comes first (nothing at all is written for it
  when it has no keys); sections are separated by a blank line;
* ``key = value`` with the ``=`` aligned within a section (byte lengths); comments as ``; text``
  before their section header or key;
* values with a newline or backtick are written in ``\"\"\"``, values with ``#`` or ``;`` in backticks,
  values with leading or trailing white space in double quotes; keys containing ``"``, ``=`` or ``:``
  in backticks, keys containing a backtick in ``\"\"\"``.

Encrypted files carry the metadata in a ``[sops]`` section, flattened without prefix, newlines written
as ``\\n`` (``flatten.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import CouldNotReadInputFile, ErrorDumpingTree, MetadataNotFound, SopsError
from ..gotext import go_type
from ..metadata import Metadata
from ..tree import Branch, Comment
from . import take_sops_section
from .flatten import (
    flatten_metadata,
    go_bytes,
    go_quote,
    go_sprint_s,
    go_string,
    unflatten_metadata,
    val_to_string,
)
from .json_store import JSONEncodeError, go_json_quote, json_scalar

__all__ = ["INIStore", "go_is_space", "go_trim_space"]

DEFAULT_SECTION = "DEFAULT"
SOPS_SECTION = "sops"

# Go's unicode.IsSpace (White_Space property of Latin-1 plus category Z).
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def go_is_space(ch: str) -> bool:
    return ch in _GO_SPACE


def go_trim_space(s: str) -> str:
    """Go's strings.TrimSpace."""
    i, j = 0, len(s)
    while i < j and s[i] in _GO_SPACE:
        i += 1
    while j > i and s[j - 1] in _GO_SPACE:
        j -= 1
    return s[i:j]


def _trim_left_space(s: str) -> str:
    i = 0
    while i < len(s) and s[i] in _GO_SPACE:
        i += 1
    return s[i:]


def _byte_len(s: str) -> int:
    return len(go_bytes(s))


class _IniError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------------------------------------
# ini.v1 data model


@dataclass
class _Key:
    name: str
    value: str
    comment: str = ""


@dataclass
class _Section:
    name: str
    comment: str = ""
    keys: dict[str, _Key] = field(default_factory=dict)

    def new_key(self, name: str, value: str) -> _Key:
        """ini.v1 Section.NewKey without shadows: a known key gets the new value in place."""
        if not name:
            raise _IniError("error creating new key: empty key name")
        key = self.keys.get(name)
        if key is not None:
            key.value = value
            return key
        key = self.keys[name] = _Key(name, value)
        return key


# ------------------------------------------------------------------------------------------------
# Parsing (ini.v1 parser.go)


class _Reader:
    """bufio ReadBytes('\\n') over the input: each line with its newline; ``eof`` after the last."""

    def __init__(self, text: str) -> None:
        self.pieces = text.split("\n")
        self.pos = 0
        self.eof = False

    def read(self) -> str:
        if self.pos >= len(self.pieces):
            self.eof = True
            return ""
        piece = self.pieces[self.pos]
        self.pos += 1
        if self.pos == len(self.pieces):
            self.eof = True
            return piece
        return piece + "\n"


def _index_any(s: str, chars: str) -> int:
    best = -1
    for c in chars:
        i = s.find(c)
        if i != -1 and (best == -1 or i < best):
            best = i
    return best


def _has_surrounded_quote(s: str, quote: str) -> bool:
    return len(s) >= 2 and s[0] == quote and s[-1] == quote and s.find(quote, 1) == len(s) - 1


def _read_key_name(line: str) -> tuple[str, int]:
    delimiters = "=:"
    key_quote = ""
    if line[0] == '"':
        key_quote = '"""' if _byte_len(line) > 6 and line[0:3] == '"""' else '"'
    elif line[0] == "`":
        key_quote = "`"
    if key_quote:
        start = len(key_quote)
        pos = line.find(key_quote, start)
        if pos == -1:
            raise _IniError(f"missing closing key quote: {line}")
        i = _index_any(line[pos + start:], delimiters)
        if i < 0:
            raise _IniError(f"key-value delimiter not found: {line}")
        end = pos + i
        return go_trim_space(line[start:pos]), end + start + 1
    end = _index_any(line, delimiters)
    if end < 0:
        raise _IniError(f"key-value delimiter not found: {line}")
    if end == 0:
        raise _IniError(f"empty key name: {line}")
    return go_trim_space(line[:end]), end + 1


class _Parser:
    def __init__(self, text: str) -> None:
        self.reader = _Reader(text)
        self.comment: list[str] = []

    def read_multilines(self, line: str, val: str, quote: str) -> str:
        while True:
            nxt = self.reader.read()
            pos = nxt.rfind(quote)
            if pos > -1:
                val += nxt[:pos]
                rest = nxt[pos:]
                i = _index_any(rest, "#;")
                if i != -1:
                    self.comment.append(go_trim_space(rest[i:]))
                break
            val += nxt
            if self.reader.eof:
                raise _IniError(f"missing closing key quote from {go_quote(line)} to {go_quote(nxt)}")
        return val

    def read_continuation_lines(self, val: str) -> str:
        while True:
            nxt = go_trim_space(self.reader.read())
            if not nxt:
                break
            val += nxt
            if val[-1] != "\\":
                break
            val = val[:-1]
        return val

    def read_value(self, raw: str) -> str:
        line = _trim_left_space(raw)
        if not line:
            return ""
        quote = ""
        if len(line) > 3 and line[0:3] == '"""':
            quote = '"""'
        elif line[0] == "`":
            quote = "`"
        if quote:
            start = len(quote)
            pos = line.rfind(quote, start)
            if pos == -1:
                return self.read_multilines(line, line[start:], quote)
            return line[start:pos]
        line = go_trim_space(line)
        if line[-1] == "\\":
            return self.read_continuation_lines(line[:-1])
        i = _index_any(line, "#;")
        if i > -1:
            self.comment.append(line[i:])
            line = go_trim_space(line[:i])
        if _has_surrounded_quote(line, "'") or _has_surrounded_quote(line, '"'):
            line = line[1:-1]
        return line

    def take_comment(self) -> str:
        text = go_trim_space("".join(self.comment))
        self.comment = []
        return text

    def parse(self) -> list[_Section]:
        section = _Section(DEFAULT_SECTION)
        sections = [section]
        count = 1
        reader = self.reader
        while not reader.eof:
            line = _trim_left_space(reader.read())
            if not line:
                continue
            if line[0] in "#;":
                self.comment.append(line)
                continue
            if line[0] == "[":
                close = line.rfind("]")
                if close == -1:
                    raise _IniError(f"unclosed section: {line}")
                name = line[1:close]
                if not name:
                    raise _IniError("empty section name")
                section = _Section(name)
                sections.append(section)
                rest = line[close + 1:]
                i = _index_any(rest, "#;")
                if i != -1:
                    self.comment.append(rest[i:])
                section.comment = self.take_comment()
                count = 1
                continue
            kname, offset = _read_key_name(line)
            if kname == "-":
                kname = f"#{count}"
                count += 1
            value = self.read_value(line[offset:])
            key = section.new_key(kname, value)
            key.comment = self.take_comment()
        return sections


def _strip_comment_char(comment: str) -> str:
    """sops' stripCommentChar: TrimLeft of the marker and spaces."""
    if comment.startswith(";"):
        return comment.lstrip("; ")
    if comment.startswith("#"):
        return comment.lstrip("# ")
    return comment


def _parse(data: bytes) -> list[_Section]:
    raw = bytes(data)
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        raw = raw[2:]
    elif raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    return _Parser(raw.decode("utf-8", "surrogateescape")).parse()


# ------------------------------------------------------------------------------------------------
# Writing (sops encodeTree + ini.v1 writeToBuffer)


def _go_upper(s: str) -> str:
    return "".join(u if len(u := c.upper()) == 1 else c for c in s)


def _comment_lines(comment: str, trim_plain: bool) -> list[str]:
    out = []
    for line in comment.split("\n"):
        if not line:
            raise _IniError("runtime error: index out of range [0] with length 0")
        if line[0] not in "#;":
            out.append("; " + (go_trim_space(line) if trim_plain else line))
        else:
            out.append(line[0] + " " + go_trim_space(line[1:]))
    return out


def _quote_key(name: str) -> str:
    if '"' in name or "=" in name or ":" in name:
        return "`" + name + "`"
    if "`" in name:
        return '"""' + name + '"""'
    return name


def _quote_value(val: str) -> str:
    if "\n" in val or "`" in val:
        return '"""' + val + '"""'
    if "#" in val or ";" in val:
        return "`" + val + "`"
    if go_trim_space(val) != val:
        return '"' + val + '"'
    return val


def _write(sections: list[_Section]) -> str:
    out: list[str] = []
    last = len(sections) - 1
    for i, sec in enumerate(sections):
        if sec.comment:
            out.extend(line + "\n" for line in _comment_lines(sec.comment, trim_plain=False))
        if i > 0 or _go_upper(sec.name) != DEFAULT_SECTION:
            out.append("[" + sec.name + "]\n")
        elif not sec.keys:
            continue
        align = 0
        for name in sec.keys:
            n = _byte_len(name)
            if '"' in name or "=" in name or ":" in name:
                n += 2
            elif "`" in name:
                n += 6
            align = max(align, n)
        for key in sec.keys.values():
            if key.comment:
                out.extend(line + "\n" for line in _comment_lines(key.comment, trim_plain=True))
            kname = _quote_key(key.name)
            pad = " " * max(0, align - _byte_len(kname))
            out.append(kname + pad + " = " + _quote_value(key.value) + "\n")
        if i != last:
            out.append("\n")
    return "".join(out)


def _encode_tree(branches: list[Branch]) -> str:
    sections: list[_Section] = []
    for branch in branches:
        for k, v in branch:
            if isinstance(k, Comment):
                continue
            if not isinstance(k, (str, bytes)):
                raise _IniError(f"interface conversion: interface {{}} is {'nil' if k is None else go_type(k)}, not string")
            name = go_string(k)
            if not name:
                raise _IniError(f"Error encoding section {go_sprint_s(k)}: empty section name")
            section = _Section(name)
            sections.append(section)
            if not isinstance(v, Branch):
                raise _IniError("Error encoding section: Section values should always be TreeBranches")
            first = 0
            if v and isinstance(v[0][0], Comment):
                section.comment = v[0][0].value
                first = 1
            last_key: _Key | None = None
            for kk, vv in v[first:]:
                if isinstance(kk, Comment):
                    if last_key is not None:
                        last_key.comment = kk.value
                    continue
                if not isinstance(kk, (str, bytes)):
                    raise _IniError(f"interface conversion: interface {{}} is {'nil' if kk is None else go_type(kk)}, not string")
                value = go_string(vv) if isinstance(vv, (str, bytes)) else val_to_string(vv)
                try:
                    last_key = section.new_key(go_string(kk), value)
                except _IniError as e:
                    raise _IniError(f"Error encoding key: {e.message}") from None
    return _write(sections)


# ------------------------------------------------------------------------------------------------
# EmitValue: Go json.Marshal (compact)


def _json_marshal(v: Any) -> str:
    """Go ``json.Marshal`` (compact) of a tree value, sops' INI EmitValue."""
    if isinstance(v, Comment):
        return '{"Value":' + go_json_quote(v.value) + "}"
    if isinstance(v, Branch):
        # a sops.TreeBranch is a slice of TreeItem structs
        return "[" + ",".join(
            '{"Key":' + _json_marshal(k) + ',"Value":' + _json_marshal(val) + "}" for k, val in v
        ) + "]"
    if isinstance(v, list):
        return "[" + ",".join(_json_marshal(x) for x in v) + "]"
    return json_scalar(v)


# ------------------------------------------------------------------------------------------------
# The store


class INIStore:
    """sops' INI store. ``indent`` is accepted for the common constructor and ignored."""

    name = "ini"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent

    def load_plain(self, data: bytes) -> list[Branch]:
        try:
            sections = _parse(data)
        except _IniError as e:
            raise CouldNotReadInputFile(f"Could not unmarshal input data: {e.message}") from None
        branch = Branch()
        for sec in sections:
            items = Branch()
            if sec.comment:
                items.append((Comment(_strip_comment_char(sec.comment)), None))
            for key in sec.keys.values():
                items.append((key.name, key.value))
                if key.comment:
                    items.append((Comment(_strip_comment_char(key.comment)), None))
            branch.append((sec.name, items))
        return [branch]

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        try:
            branches = self.load_plain(data)
        except CouldNotReadInputFile as e:
            raise SopsError(e.message) from None
        found = take_sops_section(branches)
        if not found:  # a section without items is Go's nil TreeBranch: not found either
            raise MetadataNotFound()
        return branches, unflatten_metadata(list(found), unescape=True)

    def emit_plain(self, branches: list[Branch]) -> bytes:
        try:
            return go_bytes(_encode_tree(branches))
        except _IniError as e:
            raise ErrorDumpingTree(f"Error marshaling to INI: {e.message}") from None

    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes:
        flat = Branch(flatten_metadata(md, "", escape=True))
        out: list[Branch] = []
        for branch in branches:
            for k, _ in branch:
                if isinstance(k, str) and k == SOPS_SECTION:
                    raise ErrorDumpingTree(
                        'Error marshaling metadata: Found key "sops" in encrypted data, which is a reserved '
                        "key used for SOPS metadata"
                    )
            out.append(Branch([*branch, (SOPS_SECTION, flat)]))
        return self.emit_plain(out)

    def emit_value(self, value: Any) -> bytes:
        try:
            return _json_marshal(value).encode("utf-8")
        except JSONEncodeError as e:
            raise ErrorDumpingTree(e.message) from None
