"""How Go prints values in the messages sops shows: ``%q`` (strconv.Quote) and ``%T`` of tree values.

One place for both, so every error that quotes a key or names a type reads as sops' does.
"""

from __future__ import annotations

from .tree import Branch, Comment, Time

_QUOTE_SHORT = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str | bytes) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints); undecodable bytes (kept by surrogateescape) print as
    ``\\xNN``, other unprintable characters as ``\\a``-style, ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``."""
    if isinstance(s, bytes):
        s = s.decode("utf-8", "surrogateescape")
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif 0x20 <= o < 0x7F or (o >= 0x80 and not 0xD800 <= o <= 0xDFFF and ch.isprintable()):
            out.append(ch)
        elif ch in _QUOTE_SHORT:
            out.append(_QUOTE_SHORT[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def go_type(value: object) -> str:
    """Go's ``%T`` of a tree value as sops holds it."""
    if value is None:
        return "<nil>"
    if isinstance(value, Branch):
        return "sops.TreeBranch"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, Comment):
        return "sops.Comment"
    if isinstance(value, Time):
        return "time.Time"
    if isinstance(value, bool):
        return "bool"
    if type(value).__name__ == "GoUint64":
        return "uint64"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, bytes):
        return "[]uint8"
    if isinstance(value, str):
        return "string"
    return type(value).__name__
