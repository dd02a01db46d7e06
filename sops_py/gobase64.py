"""Base64 decoding as Go's ``encoding/base64`` does it, with Go's error offsets.

sops prints Go's ``illegal base64 data at input byte N`` for a damaged data key or age header, and
users (and our interop tests) compare those messages, so the decoder must reject exactly what Go
rejects and name the same byte. Go skips CR and LF anywhere, requires padding in ``StdEncoding``
(never in ``RawStdEncoding``), and only its ``Strict()`` variants (age's) refuse non-zero trailing bits.
Canonical input, which is all that sops and age ever write, is decoded in C; anything else takes the
quantum-by-quantum port of Go's ``decodeQuantum`` below.
"""

from __future__ import annotations

import binascii

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}
_NEWLINES = (0x0A, 0x0D)
_PAD = 0x3D


class GoBase64Error(ValueError):
    """Go's ``base64.CorruptInputError``: the offset of the first byte Go refuses."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


def decode(src: bytes, *, padded: bool = True, strict: bool = False) -> bytes:
    """``src`` decoded as Go's ``StdEncoding`` (``padded``) or ``RawStdEncoding``, ``.Strict()`` when
    ``strict``; GoBase64Error otherwise."""
    try:
        out = binascii.a2b_base64(src if padded else src + b"=" * (-len(src) % 4))
    except binascii.Error:
        pass
    else:  # canonical iff re-encoding gives the input back
        enc = binascii.b2a_base64(out, newline=False)
        if (enc if padded else enc.rstrip(b"=")) == src:
            return out
    return _decode_quanta(src, padded, strict)


def _skip_newlines(src: bytes, si: int) -> int:
    while si < len(src) and src[si] in _NEWLINES:
        si += 1
    return si


def _decode_quanta(src: bytes, padded: bool, strict: bool) -> bytes:
    out = bytearray()
    si, n = 0, len(src)
    while si < n:
        dbuf = [0, 0, 0, 0]
        dlen, j = 4, 0
        trailing_at: int | None = None  # bytes after the padding: an error once this quantum is out
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                if j == 1 or padded:
                    raise GoBase64Error(si - j)
                dlen = j
                break
            c = src[si]
            si += 1
            value = _VALUE.get(c)
            if value is not None:
                dbuf[j] = value
                j += 1
                continue
            if c in _NEWLINES:
                continue
            if not padded or c != _PAD or j < 2:
                raise GoBase64Error(si - 1)
            if j == 2:  # "xx==": a second '=' must follow, newlines aside
                si = _skip_newlines(src, si)
                if si == n:
                    raise GoBase64Error(n)
                if src[si] != _PAD:
                    raise GoBase64Error(si - 1)
                si += 1
            si = _skip_newlines(src, si)
            if si < n:
                trailing_at = si
            dlen = j
            break
        val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        b0, b1, b2 = (val >> 16) & 0xFF, (val >> 8) & 0xFF, val & 0xFF
        if dlen == 4:
            out += bytes((b0, b1, b2))
        elif dlen == 3:
            if strict and b2 != 0:
                raise GoBase64Error(si - 1)
            out += bytes((b0, b1))
        elif dlen == 2:
            if strict and (b1 != 0 or b2 != 0):
                raise GoBase64Error(si - 2)
            out.append(b0)
        if trailing_at is not None:
            raise GoBase64Error(trailing_at)
    return bytes(out)
