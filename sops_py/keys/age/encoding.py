"""Go's text and encodings as age and sops use them, with their exact error texts.

``_GoError`` is the one error type of the package: its ``str`` is the text Go's sops prints. Go's
strict base64 (with CorruptInputError offsets), age's bech32 and the unicode.IsSpace helpers live here
so every message matches sops word for word.
"""

from __future__ import annotations

import binascii
import os

from ... import gobase64

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Sequence

_COLUMNS = 64
_BYTES_PER_LINE = _COLUMNS // 4 * 3


class _GoError(Exception):
    """An error whose ``str`` is the text Go's sops prints for it."""


# ------------------------------------------------------------------ Go text helpers

# unicode.IsSpace, as used by strings.TrimSpace and bufio.ScanWords
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000"


def _trim_space(s: str) -> str:
    return s.strip(_GO_SPACE)


def _errno_text(e: OSError) -> str:
    """Go's syscall.Errno text: the C strerror, lower-cased first letter."""
    text = os.strerror(e.errno) if e.errno is not None else str(e)
    return text[:1].lower() + text[1:]


def _path_error(op: str, path: str, e: OSError) -> str:
    """Go's *fs.PathError text."""
    return f"{op} {path}: {_errno_text(e)}"


def _runes(s: str) -> list[tuple[int, int]]:
    """(byte offset, rune) pairs as Go's ``for i, r := range s``; undecodable bytes are U+FFFD."""
    out = []
    off = 0
    for ch in s:
        c = ord(ch)
        if 0xDC80 <= c <= 0xDCFF:
            out.append((off, 0xFFFD))
            off += 1
        else:
            out.append((off, c))
            off += len(ch.encode("utf-8", "surrogatepass"))
    return out


def _utf8(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


# ------------------------------------------------------------------ base64 (Go encoding/base64, strict)

def _b64_decode(src: bytes, padded: bool) -> bytes:
    """Strict base64 as age decodes it (Go's ``StdEncoding.Strict()`` / ``RawStdEncoding.Strict()``),
    with Go's CorruptInputError offsets."""
    try:
        return gobase64.decode(src, padded=padded, strict=True)
    except gobase64.GoBase64Error as e:
        raise _GoError(str(e)) from None


def _b64_std(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode()


def _b64_raw(data: bytes) -> str:
    return _b64_std(data).rstrip("=")


def _format_decode(s: str) -> bytes:
    """age's format.DecodeString: strict unpadded base64 that refuses CR and LF."""
    if "\n" in s or "\r" in s:
        raise _GoError("unexpected newline character")
    return _b64_decode(_utf8(s), padded=False)


# ------------------------------------------------------------------ bech32 (age's internal/bech32)

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: Sequence[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _BECH32_GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    h = _utf8(hrp.lower())
    return [c >> 5 for c in h] + [0] + [c & 31 for c in h]


def _convert_bits(data: Sequence[int], frombits: int, tobits: int, pad: bool) -> bytes:
    ret = bytearray()
    acc = 0
    bits = 0
    maxv = (1 << tobits) - 1
    for idx, value in enumerate(data):
        if value >> frombits:
            raise _GoError(f"invalid data range: data[{idx}]={value} (frombits={frombits})")
        acc = ((acc << frombits) | value) & 0xFFFFFFFF
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad:
        if bits > 0:
            ret.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits:
        raise _GoError("illegal zero padding")
    elif (acc << (tobits - bits)) & maxv:
        raise _GoError("non-zero padding")
    return bytes(ret)


def bech32_encode(hrp: str, data: bytes) -> str:
    """age's bech32.Encode (no length limit; upper-case HRP gives upper-case output)."""
    values = _convert_bits(data, 8, 5, True)
    lower = hrp.lower() == hrp
    hrp_l = hrp.lower()
    chk_values = _hrp_expand(hrp_l) + list(values) + [0] * 6
    mod = _polymod(chk_values) ^ 1
    checksum = [(mod >> (5 * (5 - p))) & 31 for p in range(6)]
    out = hrp_l + "1" + "".join(_BECH32[v] for v in list(values) + checksum)
    return out if lower else out.upper()


def _bech32_decode(s: str) -> tuple[str, bytes]:
    """age's bech32.Decode, with its error texts."""
    if s.lower() != s and s.upper() != s:
        raise _GoError("mixed case")
    b = _utf8(s)
    pos = b.rfind(b"1")
    if pos < 1 or pos + 7 > len(b):
        raise _GoError(f"separator '1' at invalid position: pos={pos}, len={len(b)}")
    hrp = b[:pos].decode("utf-8", "surrogateescape")
    for p, c in _runes(hrp):
        if c < 33 or c > 126:
            raise _GoError(f"invalid character human-readable part: s[{p}]={c}")
    lowered = _utf8(s.lower())
    data_part = lowered[pos + 1:].decode("utf-8", "surrogateescape")
    data = []
    for p, c in _runes(data_part):
        d = _BECH32.find(chr(c)) if c < 128 else -1
        if d == -1:
            raise _GoError(f"invalid character data part: s[{p}]={c}")
        data.append(d)
    if _polymod(_hrp_expand(hrp) + data) != 1:
        raise _GoError("invalid checksum")
    return hrp, _convert_bits(data[:-6], 5, 8, False)
