"""age's ASCII armor (filippo.io/age/armor): the writer, and the streaming reader with its errors."""

from __future__ import annotations

import binascii

from ...gotext import go_quote
from .encoding import _BYTES_PER_LINE, _COLUMNS, _b64_decode, _b64_std, _GoError, _trim_space

ARMOR_HEADER = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_FOOTER = "-----END AGE ENCRYPTED FILE-----"
_MAX_WHITESPACE = 1024


def armor(data: bytes) -> str:
    """age's armor writer: header, std base64 in 64-column lines, footer, trailing newline."""
    b64 = _b64_std(data)
    lines = "".join(b64[i:i + _COLUMNS] + "\n" for i in range(0, len(b64), _COLUMNS))
    return f"{ARMOR_HEADER}\n{lines}{ARMOR_FOOTER}\n"


_ARMOR_HEAD = (ARMOR_HEADER + "\n").encode()
_ARMOR_FOOT = (ARMOR_FOOTER + "\n").encode()


def _dearmor(text: bytes) -> tuple[bytes, str | None]:
    """Run age's streaming armor reader to its end.

    Returns the bytes it delivers and the error that follows them: ``None`` for a clean EOF, else
    the reader's error text (``invalid armor: …``), which surfaces wherever the age parser reaches it.
    """
    # Armor exactly as age writes it (every enc sops stores) decodes in C: it is that iff re-armoring
    # the decoded bytes gives the text back. Anything else runs the reader below.
    if text.startswith(_ARMOR_HEAD) and text.endswith(_ARMOR_FOOT):
        try:
            data = binascii.a2b_base64(text[len(_ARMOR_HEAD):-len(_ARMOR_FOOT)])
        except binascii.Error:
            pass
        else:
            if armor(data).encode() == text:
                return data, None
    pos = 0
    out = bytearray()

    def get_line() -> bytes | None:
        nonlocal pos
        if pos >= len(text):
            return None
        i = text.find(b"\n", pos)
        end = len(text) if i < 0 else i
        line = text[pos:end]
        pos = len(text) if i < 0 else i + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        return line

    def drain() -> str | None:
        rest = text[pos:pos + _MAX_WHITESPACE]
        if _trim_space(rest.decode("utf-8", "surrogateescape")):
            return "invalid armor: trailing data after armored file"
        if len(rest) == _MAX_WHITESPACE:
            return "invalid armor: too much trailing whitespace"
        return None

    removed = 0
    while True:
        line = get_line()
        if line is None:
            return bytes(out), "invalid armor: unexpected EOF"
        if not _trim_space(line.decode("utf-8", "surrogateescape")):
            removed += len(line) + 1
            if removed > _MAX_WHITESPACE:
                return bytes(out), "invalid armor: too much leading whitespace"
            continue
        if line != ARMOR_HEADER.encode():
            return bytes(out), f"invalid armor: invalid first line: {go_quote(line)}"
        break
    while True:
        line = get_line()
        if line is None:
            return bytes(out), "invalid armor: unexpected EOF"
        if line == ARMOR_FOOTER.encode():
            return bytes(out), drain()
        if not line:
            return bytes(out), "invalid armor: empty line in armored data"
        if len(line) > _COLUMNS:
            return bytes(out), "invalid armor: column limit exceeded"
        try:
            chunk = _b64_decode(line, padded=True)
        except _GoError as e:
            return bytes(out), f"invalid armor: {e}"
        if len(chunk) < _BYTES_PER_LINE:
            line = get_line()
            if line is None:
                return bytes(out), "invalid armor: unexpected EOF"
            if line != ARMOR_FOOTER.encode():
                return bytes(out), f"invalid armor: invalid closing line: {go_quote(line)}"
            out += chunk
            return bytes(out), drain()
        out += chunk
