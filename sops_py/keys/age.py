"""age master keys as sops uses them (``age/keysource.go``, filippo.io/age v1.3.1).

* ``parse_recipients``: the comma-separated ``--age`` list, each recipient validated as sops does
  (X25519 ``age1…``, hybrid ``age1pq1…``, plugin ``age1<name>1…``, ``ssh-ed25519``/``ssh-rsa``).
* ``wrap``: encrypt a data key to one recipient; ``enc`` is age's ASCII armor with a trailing newline.
* ``load_identities``: where sops looks for private keys, read lazily, once per ``Identities``.
* ``unwrap``: recover the data key from an ``enc``; failures carry sops' message for the exit-128 report.

The armor, the age header, Go's strict base64 and bech32, google/shlex and every error text are
re-implemented here so messages match sops 3.11 word for word. X25519 wrapping is done here with
``cryptography`` so ``enc`` has Go's one-stanza shape (pyrage adds a grease stanza); SSH wrapping and
the other decryption (ssh-ed25519, ssh-rsa, scrypt) are pyrage's. An X25519 ``enc`` of the usual shape
(only well-formed X25519 stanzas) is opened here too, which spares importing pyrage and running it
twice per key; anything else it cannot open goes to pyrage, whose outcome gives every error message.
Hybrid post-quantum keys and age plugins are parsed and validated, but pyrage cannot use them, so using
one is a clear KeyFailed.
Secrets (identities, data keys, passphrases) never appear in a message, a log or a ``repr``.
"""

from __future__ import annotations

import abc
import binascii
import errno
import os
import posixpath
import sys

from .. import crypto
from ..errors import SopsError
from ..gotext import go_quote
from . import KeyFailed, KeyNotApplicable

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    Prompt = Callable[[str], str]

SOPS_AGE_KEY = "SOPS_AGE_KEY"
SOPS_AGE_KEY_FILE = "SOPS_AGE_KEY_FILE"
SOPS_AGE_KEY_CMD = "SOPS_AGE_KEY_CMD"
SOPS_AGE_RECIPIENT = "SOPS_AGE_RECIPIENT"
SOPS_AGE_SSH_PRIVATE_KEY_FILE = "SOPS_AGE_SSH_PRIVATE_KEY_FILE"
USER_CONFIG_PATH = ("sops", "age", "keys.txt")

ARMOR_HEADER = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_FOOTER = "-----END AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_BYTES_PER_LINE = _COLUMNS // 4 * 3
_MAX_WHITESPACE = 1024
_INTRO = b"age-encryption.org/v1\n"
_NONCE_SIZE = 16
_KEY_SIZE_LIMIT = 1 << 24  # age's privateKeySizeLimit
_SCAN_TOKEN_LIMIT = 64 * 1024  # bufio.MaxScanTokenSize

_ERR_INCORRECT = "incorrect identity for recipient block"


def _rage() -> Any:
    """pyrage, imported on first use (~1.3 ms): the X25519 keys sops uses are handled without it."""
    import pyrage  # type: ignore[import-untyped]

    return pyrage


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

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_MAP = {ord(c): i for i, c in enumerate(_B64)}


def _b64_decode(src: bytes, padded: bool) -> bytes:
    """Strict base64 as Go decodes it (decodeQuantum), with Go's CorruptInputError offsets."""
    # Canonical input (what age writes) decodes in C: it is canonical iff re-encoding gives it back.
    # Everything else (CR/LF, bad characters or padding, non-zero trailing bits) takes Go's path below.
    try:
        out = binascii.a2b_base64(src if padded else src + b"=" * (-len(src) % 4))
    except binascii.Error:
        pass
    else:
        enc = binascii.b2a_base64(out, newline=False)
        if (enc if padded else enc.rstrip(b"=")) == src:
            return out
    return _b64_decode_go(src, padded)


def _b64_decode_go(src: bytes, padded: bool) -> bytes:
    out = bytearray()
    si = 0
    n = len(src)
    while si < n:
        dbuf = [0, 0, 0, 0]
        dlen = 4
        j = 0
        err_at: int | None = None
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                if j == 1 or padded:
                    raise _GoError(f"illegal base64 data at input byte {si - j}")
                dlen = j
                break
            c = src[si]
            si += 1
            v = _B64_MAP.get(c)
            if v is not None:
                dbuf[j] = v
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if not padded or c != 0x3D:
                raise _GoError(f"illegal base64 data at input byte {si - 1}")
            # padding
            if j in (0, 1):
                raise _GoError(f"illegal base64 data at input byte {si - 1}")
            if j == 2:
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise _GoError(f"illegal base64 data at input byte {n}")
                if src[si] != 0x3D:
                    raise _GoError(f"illegal base64 data at input byte {si - 1}")
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                err_at = si
            dlen = j
            break
        val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        b0, b1, b2 = (val >> 16) & 0xFF, (val >> 8) & 0xFF, val & 0xFF
        if dlen == 4:
            out += bytes((b0, b1, b2))
        elif dlen == 3:
            if b2 != 0:
                raise _GoError(f"illegal base64 data at input byte {si - 1}")
            out += bytes((b0, b1))
        elif dlen == 2:
            if b1 != 0 or b2 != 0:
                raise _GoError(f"illegal base64 data at input byte {si - 2}")
            out.append(b0)
        if err_at is not None:
            raise _GoError(f"illegal base64 data at input byte {err_at}")
    return bytes(out)


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


# ------------------------------------------------------------------ armor (filippo.io/age/armor)


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


# ------------------------------------------------------------------ age header (internal/format)


class _Stanza:
    __slots__ = ("args", "body", "type")

    def __init__(self, type_: str, args: list[str], body: bytes) -> None:
        self.type = type_
        self.args = args
        self.body = body


class _Header:
    __slots__ = ("length", "mac", "stanzas")

    def __init__(self, stanzas: list[_Stanza], length: int, mac: bytes = b"") -> None:
        self.stanzas = stanzas
        self.length = length  # bytes up to and including the MAC line
        self.mac = mac

    def without_mac(self) -> bytes:
        """The bytes the header MAC covers, as age marshals them: intro, stanzas, ``---``."""
        out = [_INTRO]
        for st in self.stanzas:
            out.append(" ".join(["->", st.type, *st.args]).encode("utf-8", "surrogateescape") + b"\n")
            body = _b64_raw(st.body)
            out.extend(body[i:i + _COLUMNS].encode() + b"\n" for i in range(0, len(body), _COLUMNS))
            if len(body) % _COLUMNS == 0:
                out.append(b"\n")  # a body ends with a short (here empty) line
        out.append(b"---")
        return b"".join(out)


class _Reader:
    """A byte stream that ends with ``err`` (Go's io.EOF as "EOF", or the armor reader's error)."""

    def __init__(self, data: bytes, err: str | None) -> None:
        self.data = data
        self.pos = 0
        self.err = err or "EOF"
        self.eof = err is None

    def read_line(self) -> tuple[bytes, str | None]:
        i = self.data.find(b"\n", self.pos)
        if i >= 0:
            line = self.data[self.pos:i + 1]
            self.pos = i + 1
            return line, None
        line = self.data[self.pos:]
        self.pos = len(self.data)
        return line, self.err

    def peek(self, n: int) -> tuple[bytes, str | None]:
        chunk = self.data[self.pos:self.pos + n]
        return chunk, (None if len(chunk) == n else self.err)


def _valid_arg(a: str) -> bool:
    """Non-empty, visible ASCII only (33..126), as age's isValidString."""
    return bool(a) and a.isascii() and a.isprintable() and " " not in a


def _split_args(line: bytes) -> tuple[str, list[str]]:
    parts = line.decode("utf-8", "surrogateescape").removesuffix("\n").split(" ")
    return parts[0], parts[1:]


def _parse_header(r: _Reader) -> _Header:
    """age's format.Parse; errors are already prefixed as age.Decrypt prefixes them."""

    def perr(msg: str) -> _GoError:
        return _GoError(f"failed to read header: parsing age header: {msg}")

    line, err = r.read_line()
    if err is not None:
        if r.eof:
            raise perr("file is empty")
        raise perr(f"failed to read intro: {err}")
    if line != _INTRO:
        raise perr(f"unexpected intro: {go_quote(line)}")
    stanzas: list[_Stanza] = []
    while True:
        peek, err = r.peek(3)
        if err is not None:
            raise perr(f"failed to read header: {err}")
        if peek == b"---":
            line, err = r.read_line()
            if err is not None:
                raise _GoError(f"failed to read header: failed to read header: {err}")
            prefix, args = _split_args(line)
            if prefix != "---" or len(args) != 1:
                raise perr(f"malformed closing line: {go_quote(line)}")
            mac = b""
            try:
                mac = _format_decode(args[0])
                mac_err = "<nil>" if len(mac) != 32 else ""
            except _GoError as e:
                mac_err = str(e)
            if mac_err:
                raise perr(f"malformed closing line {go_quote(line)}: {mac_err}")
            return _Header(stanzas, r.pos, mac)
        stanzas.append(_read_stanza(r))


def _read_stanza(r: _Reader) -> _Stanza:
    def ferr(msg: str) -> _GoError:
        return _GoError(f"failed to read header: failed to parse header: {msg}")

    line, err = r.read_line()
    if err is not None:
        raise ferr(f"failed to read line: {err}")
    if not line.startswith(b"->"):
        raise ferr(f"malformed stanza opening line: {go_quote(line)}")
    prefix, args = _split_args(line)
    if prefix != "->" or len(args) < 1 or not all(_valid_arg(a) for a in args):
        raise ferr(f"malformed stanza: {go_quote(line)}")
    body = bytearray()
    while True:
        bline, err = r.read_line()
        if err is not None:
            raise ferr(f"failed to read line: {err}")
        try:
            chunk = _format_decode(bline.decode("utf-8", "surrogateescape").removesuffix("\n"))
        except _GoError as e:
            if bline.startswith((b"---", b"->")):
                raise ferr(
                    f"malformed body line {go_quote(bline)}: stanza ended without a short line\nnote: this "
                    "might be a file encrypted with an old beta version of age or rage; use age "
                    "v1.0.0-beta6 or rage to decrypt it") from None
            raise ferr(f"parsing age header: malformed body line {go_quote(bline)}: {e}") from None
        if len(chunk) > _BYTES_PER_LINE:
            raise ferr(f"parsing age header: malformed body line {go_quote(bline)}: too long")
        body += chunk
        if len(chunk) < _BYTES_PER_LINE:
            return _Stanza(args[0], args[1:], bytes(body))


# ------------------------------------------------------------------ recipients


class Recipient:
    """A parsed recipient: ``text`` as written in metadata and its kind."""

    __slots__ = ("_canonical", "kind", "text")

    def __init__(self, text: str, kind: str, canonical: str) -> None:
        self.text = text
        self.kind = kind  # "x25519", "pq", "plugin", "ssh-ed25519", "ssh-rsa"
        self._canonical = canonical

    def __repr__(self) -> str:
        return f"Recipient({self.text!r}, {self.kind!r})"

    def _pyrage(self) -> Any:
        if self.kind == "x25519":
            return _rage().x25519.Recipient.from_str(self._canonical)
        if self.kind in ("ssh-ed25519", "ssh-rsa"):
            return _rage().ssh.Recipient.from_str(self._canonical)
        raise KeyFailed(_unsupported(self.kind, "recipients"))


def _unsupported(kind: str, what: str) -> str:
    if kind == "pq":
        return (f"hybrid post-quantum age {what} (age1pq1…, AGE-SECRET-KEY-PQ-1…) are not supported "
                "by sops-py: pyrage has no ML-KEM-768")
    return f"age plugin {what} (age1<plugin>1…, AGE-PLUGIN-…) are not supported by sops-py"


_PLUGIN_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._")


def _valid_plugin_name(name: str) -> bool:
    return bool(name) and all(c in _PLUGIN_NAME_CHARS for c in name)


def parse_recipient(recipient: str) -> Recipient:
    """sops' parseRecipient: one recipient, as given; a bad one raises SopsError with sops' text."""
    try:
        return _parse_recipient(recipient)
    except _GoError as e:
        raise SopsError(str(e)) from None


def _parse_recipient(s: str) -> Recipient:
    if s.startswith("age1pq1"):
        _check_bech32_recipient(s, "age1pq", 1184 + 32, "invalid MLKEM768-X25519 public key")
        return Recipient(s, "pq", s)
    if s.startswith("age1") and s.count("1") > 1:
        try:
            hrp, _ = _bech32_decode(s)
        except _GoError as e:
            raise _GoError("failed to parse input as age key from age plugin: "
                           f"invalid recipient encoding: {e}") from None
        if not hrp.startswith("age1"):
            raise _GoError("failed to parse input as age key from age plugin: not a plugin recipient: <nil>")
        name = hrp.removeprefix("age1")
        if not _valid_plugin_name(name):
            raise _GoError("failed to parse input as age key from age plugin: "
                           f"invalid plugin name: {go_quote(name)}")
        return Recipient(s, "plugin", s)
    if s.startswith("age1"):
        _check_bech32_recipient(s, "age", 32, "invalid X25519 public key")
        return Recipient(s, "x25519", s)
    if s.startswith("ssh-"):
        try:
            kind, blob = _parse_ssh_recipient(s)
        except _GoError as e:
            raise _GoError(f"failed to parse input as age-ssh public key: {e}") from None
        canonical = f"{kind} {_b64_std(blob)}"
        try:
            _rage().ssh.Recipient.from_str(canonical)
        except Exception as e:  # noqa: BLE001 - pyrage's own validation (e.g. an invalid curve point)
            raise _GoError(f"failed to parse input as age-ssh public key: malformed SSH recipient: "
                           f"{go_quote(s)}: {e}") from None
        return Recipient(s, kind, canonical)
    raise _GoError(f"failed to parse input, unknown recipient type: {go_quote(s)}")


def _check_bech32_recipient(s: str, want_hrp: str, size: int, size_err: str) -> None:
    """age's ParseX25519Recipient / ParseHybridRecipient checks, with sops' prefix."""
    prefix = f"failed to parse input as Bech32-encoded age public key: malformed recipient {go_quote(s)}: "
    try:
        hrp, key = _bech32_decode(s)
    except _GoError as e:
        raise _GoError(f"{prefix}{e}") from None
    if hrp != want_hrp:
        raise _GoError(f"{prefix}invalid type {go_quote(hrp)}")
    if len(key) != size:
        raise _GoError(f"{prefix}{size_err}")


def parse_recipients(text: str, *, drop_empty: bool = False) -> list[str]:
    """sops' MasterKeysFromRecipients: split on commas, trim each, validate each; return the list.

    An empty ``text`` is no recipients. As in sops, an empty entry (``"a,,b"``, ``"a,"``) is an error
    (``unknown recipient type: ""``) unless ``drop_empty`` (the .sops.yaml string form drops them).
    """
    if text == "":
        return []
    out = []
    for part in text.split(","):
        r = _trim_space(part)
        if not r and drop_empty:
            continue
        parse_recipient(r)
        out.append(r)
    return out


def wrap(recipient: str, data_key: bytes, *, rand: Callable[[int], bytes] = os.urandom) -> str:
    """Encrypt ``data_key`` to one recipient; return the armored ``enc`` (trailing newline included).

    X25519 recipients are encrypted here exactly as Go's age does (one stanza, so the armor has sops'
    shape); SSH recipients go through pyrage (which adds a grease stanza Go's age ignores). A recipient
    sops cannot parse raises SopsError; one this build cannot use (hybrid PQ, plugin) raises KeyFailed.
    """
    r = parse_recipient(recipient)
    if r.kind == "x25519":
        _, point = _bech32_decode(r.text)
        return armor(_age_encrypt_x25519(point, data_key, rand))
    target = r._pyrage()
    try:
        binary = bytes(_rage().encrypt(data_key, [target]))
    except Exception as e:  # noqa: BLE001 - pyrage reports its own error type
        raise KeyFailed(f"failed to create writer for encrypting sops data key with age: {e}") from None
    return armor(binary)


_hkdf = crypto.hkdf_sha256
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_CHUNK_SIZE = 64 * 1024  # age's STREAM chunk (plaintext bytes)


def _age_encrypt_x25519(their_public: bytes, plaintext: bytes, rand: Callable[[int], bytes]) -> bytes:
    """age.Encrypt to one X25519 recipient: header, MAC, nonce, STREAM payload (binary file)."""
    ChaCha20Poly1305 = crypto.ChaCha20Poly1305  # noqa: N806 - the class, named as in cryptography

    file_key = rand(16)
    ephemeral = crypto.x25519_private_key(rand(32))
    our_public = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(crypto.x25519_public_key(their_public))
    except ValueError as e:
        raise KeyFailed("failed to create writer for encrypting sops data key with age: failed to wrap "
                        f"key for recipient #0: {e}") from None
    wrapping_key = _hkdf(shared, our_public + their_public, _X25519_LABEL)
    body = ChaCha20Poly1305(wrapping_key).encrypt(bytes(12), file_key, None)
    header = _Header([_Stanza("X25519", [_b64_raw(our_public)], body)], 0).without_mac()
    mac = crypto.hmac_sha256(_hkdf(file_key, None, b"header"), header)
    nonce = rand(_NONCE_SIZE)
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    out = bytearray(header) + f" {_b64_raw(mac)}\n".encode() + nonce
    chunks = [plaintext[i:i + _CHUNK_SIZE] for i in range(0, len(plaintext), _CHUNK_SIZE)] or [b""]
    for counter, chunk in enumerate(chunks):
        out += aead.encrypt(_stream_nonce(counter, counter == len(chunks) - 1), chunk, None)
    return bytes(out)


def _stream_nonce(counter: int, last: bool) -> bytes:
    """age's STREAM chunk nonce: an 11-byte big-endian counter and the last-chunk flag."""
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# ------------------------------------------------------------------ SSH keys


def _ssh_string(buf: bytes, off: int) -> tuple[bytes, int]:
    if off + 4 > len(buf):
        raise _GoError("ssh: short read")
    n = int.from_bytes(buf[off:off + 4], "big")
    if off + 4 + n > len(buf):
        raise _GoError("ssh: short read")
    return buf[off + 4:off + 4 + n], off + 4 + n


_SSH_OTHER_ALGOS = frozenset({
    "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
    "ssh-rsa-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
})


def _parse_ssh_public_blob(blob: bytes) -> str:
    """x/crypto/ssh ParsePublicKey, enough to get the key type and check ed25519/RSA keys."""
    algo_b, off = _ssh_string(blob, 0)
    algo = algo_b.decode("utf-8", "surrogateescape")
    if algo == "ssh-rsa":
        e, off = _ssh_string(blob, off)
        n, off = _ssh_string(blob, off)
        if int.from_bytes(n, "big").bit_length() > 16384:
            raise _GoError("ssh: rsa modulus too large")
        ev = int.from_bytes(e, "big")
        if ev.bit_length() > 24:
            raise _GoError("ssh: exponent too large")
        if ev < 3 or ev & 1 == 0:
            raise _GoError("ssh: incorrect exponent")
    elif algo == "ssh-ed25519":
        key, off = _ssh_string(blob, off)
        if len(key) != 32:
            raise _GoError(f"invalid size {len(key)} for Ed25519 public key")
    elif algo in _SSH_OTHER_ALGOS:
        return algo
    elif algo in ("rsa-sha2-256", "rsa-sha2-512"):
        raise _GoError(f"ssh: signature algorithm {go_quote(algo)} isn't a key format; key is malformed "
                       'and should be re-encoded with type "ssh-rsa"')
    else:
        raise _GoError(f"ssh: unknown key algorithm: {algo}")
    if off != len(blob):
        raise _GoError("ssh: trailing junk in public key")
    return algo


def _ssh_blob_bits(blob: bytes) -> int:
    _, off = _ssh_string(blob, 0)
    _, off = _ssh_string(blob, off)
    n, _ = _ssh_string(blob, off)
    return int.from_bytes(n, "big").bit_length()


def _parse_authorized_key_field(field: bytes) -> tuple[str, bytes]:
    field = field.strip(b" \t\r\n\v\f")
    i = min((x for x in (field.find(b" "), field.find(b"\t")) if x >= 0), default=len(field))
    blob = _b64_decode(field[:i], padded=True)
    return _parse_ssh_public_blob(blob), blob


def _parse_authorized_key(text: str) -> tuple[str, bytes]:
    """x/crypto/ssh ParseAuthorizedKey (first key found): (key type, wire blob)."""
    data = _utf8(text)
    last_err: str | None = None
    while data:
        nl = data.find(b"\n")
        line, data = (data, b"") if nl < 0 else (data[:nl], data[nl + 1:])
        cr = line.find(b"\r")
        if cr >= 0:
            line = line[:cr]
        line = line.strip(b" \t\v\f\r\n")
        if not line or line.startswith(b"#"):
            continue
        for attempt in range(2):
            i = min((x for x in (line.find(b" "), line.find(b"\t")) if x >= 0), default=-1)
            if i < 0:
                break
            try:  # x/crypto (v0.47 in sops 3.11, v0.53 in 3.13) ignores the written key type
                return _parse_authorized_key_field(line[i:])
            except _GoError as e:
                last_err = str(e)
            if attempt == 1:
                break
            # maybe an options field comes first: skip it (quotes may hold spaces)
            in_quote = False
            j = 0
            while j < len(line):
                b = line[j]
                if not in_quote and b in (0x20, 0x09):
                    break
                if b == 0x22 and (j == 0 or line[j - 1] != 0x5C):
                    in_quote = not in_quote
                j += 1
            while j < len(line) and line[j] in (0x20, 0x09):
                j += 1
            if j == len(line):
                break
            line = line[j:]
    if last_err is not None:
        raise _GoError(f"ssh: no key found; last parsing error for ignored line: {last_err}")
    raise _GoError("ssh: no key found")


def _parse_ssh_recipient(s: str) -> tuple[str, bytes]:
    """agessh.ParseRecipient: the key type and wire blob of an ssh-ed25519 or ssh-rsa public key."""
    try:
        algo, blob = _parse_authorized_key(s)
    except _GoError as e:
        raise _GoError(f"malformed SSH recipient: {go_quote(s)}: {e}") from None
    if algo == "ssh-rsa":
        if _ssh_blob_bits(blob) < 2048 - 7:  # rsa.PublicKey.Size() < 256 bytes
            raise _GoError(f"malformed SSH recipient: {go_quote(s)}: RSA key size is too small")
    elif algo != "ssh-ed25519":
        raise _GoError(f"unknown SSH recipient type: {go_quote(algo)}")
    return algo, blob


def _ssh_tag(blob: bytes) -> str:
    """agessh's sshFingerprint: the stanza's first argument for this key."""
    return _b64_raw(crypto.sha256(blob).digest()[:4])


def _pem_block(contents: bytes) -> tuple[str, dict[str, str], bytes] | None:
    """encoding/pem Decode, enough for SSH keys: the first block's type, headers and body."""
    start = contents.find(b"-----BEGIN ")
    while start >= 0:
        end_type = contents.find(b"-----", start + 11)
        if end_type < 0:
            return None
        pem_type = contents[start + 11:end_type].decode("utf-8", "surrogateescape")
        nl = contents.find(b"\n", end_type)
        if nl < 0:
            return None
        footer = f"-----END {pem_type}-----".encode()
        fend = contents.find(footer, nl)
        if fend < 0:
            start = contents.find(b"-----BEGIN ", start + 1)
            continue
        body_lines = contents[nl + 1:fend].decode("utf-8", "surrogateescape").splitlines()
        headers: dict[str, str] = {}
        while body_lines and ":" in body_lines[0]:
            k, v = body_lines.pop(0).split(":", 1)
            headers[k.strip()] = v.strip()
        import base64

        try:
            body = base64.b64decode("".join(x.strip() for x in body_lines))
        except ValueError:
            start = contents.find(b"-----BEGIN ", start + 1)
            continue
        return pem_type, headers, body
    return None


def _openssh_public_blob(body: bytes) -> tuple[str, bytes]:
    """The cipher name and the public key blob of an ``openssh-key-v1`` container."""
    magic = b"openssh-key-v1\x00"
    if not body.startswith(magic):
        raise _GoError("ssh: invalid openssh private key format")
    off = len(magic)
    cipher, off = _ssh_string(body, off)
    _, off = _ssh_string(body, off)  # kdf name
    _, off = _ssh_string(body, off)  # kdf options
    if off + 4 > len(body) or int.from_bytes(body[off:off + 4], "big") != 1:
        raise _GoError("ssh: multi-key files are not supported")
    pub, _ = _ssh_string(body, off + 4)
    return cipher.decode("utf-8", "surrogateescape"), pub


def _public_blob_of(key: Any) -> bytes:
    import base64

    from cryptography.hazmat.primitives import serialization

    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def _go_key_type(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return "*rsa.PrivateKey"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519.PrivateKey"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "*ecdsa.PrivateKey"
    if isinstance(key, dsa.DSAPrivateKey):
        return "*dsa.PrivateKey"
    return type(key).__name__


def _to_openssh_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                   serialization.NoEncryption()))


# ------------------------------------------------------------------ identities


class _Identity(abc.ABC):
    """One private key. ``unwrap`` returns the payload, ``None`` for "not this key", or raises _GoError."""

    native = False
    needs_unsupported: str | None = None

    @abc.abstractmethod
    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        """The file key's payload for this identity."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


_NO_MATCH = "No matching keys found"
_BAD_MAC = "Header MAC is invalid"
_TRUNCATED = "age file is truncated"


def _pyrage_match(ident: Any, hdr: _Header, data: bytes) -> str:
    """Run pyrage on the header alone (a zero nonce, no payload) to see whether ``ident`` opens it.

    Returns "match", "nomatch", "badmac", or rage's message when rage rejects the header itself.
    rage reads the nonce before it looks at identities, so this header-only trial separates header
    failures from payload failures the way age.Decrypt orders them.
    """
    probe = data[:hdr.length] + bytes(_NONCE_SIZE)
    try:
        _rage().decrypt(probe, [ident])
    except Exception as e:  # noqa: BLE001 - pyrage.DecryptError carries rage's text
        msg = str(e)
        if msg == _NO_MATCH:
            return "nomatch"
        if msg == _BAD_MAC:
            return "badmac"
        if msg == _TRUNCATED:
            return "match"  # the header opened; rage stopped at the missing payload
        return msg
    return "match"


def _payload(ident: Any, hdr: _Header, data: bytes, armor_err: str | None) -> bytes:
    """age.Decrypt after the header matched: the nonce, then sops' io.Copy of the STREAM payload."""
    payload = data[hdr.length:]
    if len(payload) < _NONCE_SIZE:
        reason = armor_err or ("EOF" if not payload else "unexpected EOF")
        raise _GoError(f"failed to read nonce: {reason}")
    copy_err = "failed to copy age decrypted data into bytes.Buffer: "
    if armor_err is not None:
        raise _CopyError(copy_err + armor_err)
    if len(payload) == _NONCE_SIZE:
        raise _CopyError(copy_err + "unexpected EOF")
    try:
        return bytes(_rage().decrypt(data, [ident]))
    except Exception:  # noqa: BLE001
        raise _CopyError(copy_err + "failed to decrypt and authenticate payload chunk, file may be "
                         "corrupted or tampered with") from None


class _CopyError(_GoError):
    """A payload error: sops reports it without the identity-location suffixes."""


def _check_x25519_stanzas(hdr: _Header, type_: str, nargs: int, name: str) -> None:
    """The structural checks age's X25519/ssh-ed25519 unwrap makes before trying the crypto."""
    for s in hdr.stanzas:
        if s.type != type_:
            continue
        if len(s.args) != nargs:
            raise _GoError(f"invalid {name} recipient block")
        try:
            point = _format_decode(s.args[nargs - 1])
        except _GoError as e:
            raise _GoError(f"failed to parse {name} recipient: {e}") from None
        if len(point) != 32:
            raise _GoError(f"invalid {name} recipient block")
        if type_ == "X25519" and len(s.body) != 32:
            raise _GoError("invalid X25519 recipient block: incorrect file key size")


class _X25519(_Identity):
    native = True

    def __init__(self, text: str, secret: bytes) -> None:
        self._text = text  # AGE-SECRET-KEY-1...
        self._secret = secret
        self._key: Any = None  # the X25519 private key and its public bytes, made on first use
        self._public = b""
        self._rage_id: Any = None

    def _pyrage_id(self) -> Any:
        if self._rage_id is None:
            self._rage_id = _rage().x25519.Identity.from_str(self._text)
        return self._rage_id

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        got = self._open(hdr, data, armor_err)
        if got is not _UNSURE:
            return got  # type: ignore[return-value]
        ident = self._pyrage_id()
        res = _pyrage_match(ident, hdr, data)
        if res == "badmac":
            raise _GoError("bad header MAC")
        if res == "match":
            return _payload(ident, hdr, data, armor_err)
        _check_x25519_stanzas(hdr, "X25519", 1, "X25519")
        if res != "nomatch":
            raise _GoError(res)  # rage refused a header Go's age would have read
        return None

    def _open(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None | object:
        """Open an ``enc`` of the usual shape natively: the payload, None when no stanza is for this key
        (what age and rage both report as no match), or _UNSURE for anything else, left to pyrage so
        that every failure keeps its message. Only well-formed X25519 stanzas, no armor error, a valid
        header MAC and a payload that authenticates lead to a result."""
        if armor_err is not None or not hdr.stanzas:
            return _UNSURE
        points = []
        for st in hdr.stanzas:
            if st.type != "X25519" or len(st.args) != 1 or len(st.body) != 32:
                return _UNSURE
            try:
                point = _format_decode(st.args[0])
            except _GoError:
                return _UNSURE
            if len(point) != 32:
                return _UNSURE
            points.append(point)
        if self._key is None:
            self._key = crypto.x25519_private_key(self._secret)
            self._public = self._key.public_key().public_bytes_raw()
        file_key = None
        for st, point in zip(hdr.stanzas, points, strict=True):
            try:
                shared = self._key.exchange(crypto.x25519_public_key(point))
            except ValueError:  # a low-order point: age rejects the header
                return _UNSURE
            wrapping_key = _hkdf(shared, point + self._public, _X25519_LABEL)
            try:
                file_key = crypto.ChaCha20Poly1305(wrapping_key).decrypt(bytes(12), st.body, None)
                break
            except Exception:  # noqa: BLE001 - InvalidTag: this stanza is for another key
                continue
        if file_key is None:
            return None
        if crypto.hmac_sha256(_hkdf(file_key, None, b"header"), hdr.without_mac()) != hdr.mac:
            return _UNSURE
        return _stream_open(file_key, data[hdr.length:])


_UNSURE = object()  # _X25519._open: "let pyrage decide"


def _stream_open(file_key: bytes, payload: bytes) -> bytes | object:
    """age's STREAM payload (16-byte nonce, 64 KiB ChaCha20-Poly1305 chunks, the last one flagged);
    _UNSURE on any irregularity."""
    nonce, body = payload[:_NONCE_SIZE], payload[_NONCE_SIZE:]
    if len(nonce) != _NONCE_SIZE or not body:
        return _UNSURE
    aead = crypto.ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    size = _CHUNK_SIZE + 16
    count = (len(body) + size - 1) // size
    out = []
    for i in range(count):
        last = i == count - 1
        try:
            plain = aead.decrypt(_stream_nonce(i, last), body[i * size:(i + 1) * size], None)
        except Exception:  # noqa: BLE001 - InvalidTag or a chunk shorter than a tag
            return _UNSURE
        if last and not plain and i > 0:
            return _UNSURE  # age refuses an empty final chunk after others
        out.append(plain)
    return b"".join(out)


class _Unusable(_Identity):
    """A hybrid PQ or plugin identity: valid for sops, but pyrage cannot use it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.native = kind == "pq"

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        if self.kind == "pq":
            if any(s.type == "mlkem768x25519" for s in hdr.stanzas):
                self.needs_unsupported = _unsupported("pq", "identities")
        else:
            self.needs_unsupported = _unsupported("plugin", "identities")
        return None


class _SSH(_Identity):
    def __init__(self, ident: Any, algo: str, blob: bytes) -> None:
        self._id = ident
        self.algo = algo
        self.tag = _ssh_tag(blob)

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        res = _pyrage_match(self._id, hdr, data)
        if res == "badmac":
            raise _GoError("bad header MAC")
        if res == "match":
            return _payload(self._id, hdr, data, armor_err)
        self._check(hdr)
        if res != "nomatch":
            raise _GoError(res)  # rage refused a header Go's age would have read
        return None

    def _check(self, hdr: _Header) -> None:
        for s in hdr.stanzas:  # agessh checks the block, then the tag, then the crypto
            if s.type != self.algo:
                continue
            if self.algo == "ssh-ed25519":
                _check_x25519_stanzas(_Header([s], 0), "ssh-ed25519", 2, "ssh-ed25519")
            elif len(s.args) != 1:
                raise _GoError("invalid ssh-rsa recipient block")
            if s.args[0] == self.tag:
                if self.algo == "ssh-ed25519":
                    raise _GoError("failed to decrypt file key: chacha20poly1305: message authentication failed")
                raise _GoError("failed to decrypt file key: crypto/rsa: decryption error")


class _EncryptedSSH(_Identity):
    """A passphrase-protected SSH key: asks for the passphrase only if a stanza names this key."""

    def __init__(self, path: str, contents: bytes, algo: str, blob: bytes, prompt: Prompt) -> None:
        self.path = path
        self._contents = contents
        self.algo = algo
        self.blob = blob
        self.tag = _ssh_tag(blob)
        self._prompt = prompt
        self._decrypted: _SSH | None = None

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        if self._decrypted is not None:
            return self._decrypted.unwrap(hdr, data, armor_err)
        match = False
        for s in hdr.stanzas:
            if s.type != self.algo:
                continue
            if len(s.args) < 1:
                raise _GoError(f"invalid {self.algo} recipient block")
            if s.args[0] == self.tag:
                match = True
                break
        if not match:
            return None
        try:
            passphrase = self._prompt(f"Enter passphrase for {go_quote(self.path)}:")
        except _GoError as e:
            raise _GoError(f"failed to obtain passphrase: could not read passphrase for "
                           f"{go_quote(self.path)}: {e}") from None
        from cryptography.hazmat.primitives import serialization

        try:
            if b"OPENSSH PRIVATE KEY" in self._contents:
                key: Any = serialization.load_ssh_private_key(self._contents, _utf8(passphrase))
            else:
                key = serialization.load_pem_private_key(self._contents, _utf8(passphrase))
        except Exception as e:  # noqa: BLE001 - cryptography's errors vary by format
            raise _GoError(f"failed to decrypt SSH key file: {e}") from None
        if _public_blob_of(key) != self.blob:
            raise _GoError("mismatched private and public SSH key")
        try:
            ident = _rage().ssh.Identity.from_buffer(_to_openssh_pem(key))
        except Exception as e:  # noqa: BLE001
            raise _GoError(f"invalid SSH key: {e}") from None
        self._decrypted = _SSH(ident, self.algo, self.blob)
        return self._decrypted.unwrap(hdr, data, armor_err)


class _EncryptedFile(_Identity):
    """An identities file that is itself passphrase-encrypted (age ``scrypt``), sops' EncryptedIdentity.

    The passphrase is asked for on first use (sops asks gpg-agent first; sops-py goes to the terminal);
    the decrypted identities are kept for the life of the ``Identities`` object.
    """

    def __init__(self, location: str, contents: bytes, prompt: Prompt) -> None:
        self.location = location
        self._contents = contents
        self._prompt = prompt
        self._inner: list[_Identity] | None = None

    def _decrypt(self) -> list[_Identity]:
        hdr = _parse_header(_Reader(self._contents, None))
        if any(s.type == "scrypt" for s in hdr.stanzas) and len(hdr.stanzas) != 1:
            raise _GoError("an scrypt recipient must be the only one")
        if len(hdr.stanzas) != 1 or hdr.stanzas[0].type != "scrypt":
            raise _GoError("incorrect passphrase")
        try:
            passphrase = self._prompt(f"Enter passphrase for identity '{self.location}':")
        except _GoError as e:
            raise _GoError(f"failed to decrypt identity file: could not read passphrase: {e}") from None
        try:
            plain = bytes(_rage().passphrase.decrypt(self._contents, passphrase))
        except Exception:  # noqa: BLE001 - a wrong passphrase is rage's generic DecryptError
            raise _GoError("incorrect passphrase") from None
        return _parse_identities_strict(plain)

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        if self._inner is None:
            self._inner = self._decrypt()
        for ident in self._inner:
            got = ident.unwrap(hdr, data, armor_err)
            if got is not None:
                return got
        return None


def _parse_identity(s: str) -> _Identity:
    """sops' parseIdentity for one line or word."""
    if s.startswith("AGE-PLUGIN-"):
        try:
            hrp, _ = _bech32_decode(s)
        except _GoError as e:
            raise _GoError(f"invalid identity encoding: {e}") from None
        if not hrp.startswith("AGE-PLUGIN-") or not hrp.endswith("-"):
            raise _GoError("not a plugin identity: <nil>")
        name = hrp.removeprefix("AGE-PLUGIN-").removesuffix("-").lower()
        if not _valid_plugin_name(name):
            raise _GoError(f"invalid plugin name: {go_quote(name)}")
        return _Unusable("plugin")
    if s.startswith("AGE-SECRET-KEY-PQ-1"):
        return _parse_secret_key(s, "AGE-SECRET-KEY-PQ-", "invalid MLKEM768-X25519 secret key")
    if s.startswith("AGE-SECRET-KEY-1"):
        return _parse_secret_key(s, "AGE-SECRET-KEY-", "invalid X25519 secret key")
    raise _GoError("unknown identity type")


def _parse_secret_key(s: str, want_hrp: str, size_err: str) -> _Identity:
    try:
        hrp, key = _bech32_decode(s)
    except _GoError as e:
        raise _GoError(f"malformed secret key: {e}") from None
    if hrp != want_hrp:
        raise _GoError(f"malformed secret key: unknown type {go_quote(hrp)}")
    if len(key) != 32:
        raise _GoError(f"malformed secret key: {size_err}")
    if want_hrp == "AGE-SECRET-KEY-PQ-":
        return _Unusable("pq")
    # the checks above are all rage's Identity.from_str makes (bech32, type, 32 bytes)
    return _X25519(s, key)


def _scan_lines(data: bytes) -> list[str]:
    """bufio.Scanner with ScanLines: split on LF, drop one CR per line; stops at an over-long line."""
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    out = []
    for p in parts:
        if len(p) >= _SCAN_TOKEN_LIMIT:
            break  # sops ignores the scanner's ErrTooLong: the identities read so far are kept
        out.append(p.removesuffix(b"\r").decode("utf-8", "surrogateescape"))
    return out


def _split_words(line: str) -> list[str]:
    words = []
    cur: list[str] = []
    for ch in line:
        if ch in _GO_SPACE:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def _parse_identities(data: bytes, multiple_per_line: bool) -> list[_Identity]:
    """sops' parseIdentities: one identity per line (or per word), blank and ``#`` lines skipped."""
    ids: list[_Identity] = []
    for line in _scan_lines(data):
        if line == "" or line.startswith("#"):
            continue
        for word in (_split_words(line) if multiple_per_line else [line]):
            ids.append(_parse_identity(word))
    return ids


def _parse_identities_strict(data: bytes) -> list[_Identity]:
    """age.ParseIdentities, used on the plaintext of a passphrase-encrypted identities file."""
    ids: list[_Identity] = []
    for n, line in enumerate(_scan_lines(data[:_KEY_SIZE_LIMIT]), 1):
        if line.startswith("#") or line == "":
            continue
        if any(0xDC80 <= ord(c) <= 0xDCFF for c in line):
            raise _GoError("identities file is not valid UTF-8")
        try:
            if line.startswith(("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-PQ-1")):
                ids.append(_parse_identity(line))
            else:
                raise _GoError(f"unknown identity type: {go_quote(line)}")
        except _GoError as e:
            raise _GoError(f"error at line {n}: {e}") from None
    if not ids:
        raise _GoError("no identities found")
    return ids


def _unwrap_identities(location: str, data: bytes, multiple_per_line: bool, prompt: Prompt) -> list[_Identity]:
    """sops' unwrapIdentities: a passphrase-encrypted identities file, or plain identity lines."""
    peeked = data[:14]
    if peeked in (b"age-encryption", b"-----BEGIN AGE"):
        contents = data
        if peeked == b"-----BEGIN AGE":
            contents, err = _dearmor(data)
            if err is not None:
                raise _GoError(f"failed to read '{location}': {err}")
        if len(contents) >= _KEY_SIZE_LIMIT:
            raise _GoError(f"failed to read '{location}': file too long")
        return [_EncryptedFile(location, contents, prompt)]
    try:
        return _parse_identities(data, multiple_per_line)
    except _GoError as e:
        raise _GoError(f"failed to parse '{location}' age identities: {e}") from None


def _ssh_identity_from_file(path: str, prompt: Prompt) -> _Identity:
    """sops' parseSSHIdentityFromPrivateKeyFile."""
    try:
        with open(path, "rb") as f:
            contents = f.read()
    except IsADirectoryError as e:
        raise _GoError(f"failed to read file: {_path_error('read', path, e)}") from None
    except OSError as e:
        raise _GoError(f"failed to open file: {_path_error('open', path, e)}") from None
    try:
        return _ssh_identity(path, contents, prompt)
    except _EncryptedSSHError:
        raise
    except _GoError as e:
        raise _GoError(f"malformed SSH identity in {go_quote(path)}: {e}") from None


class _PassphraseMissing(Exception):
    def __init__(self, blob: bytes | None) -> None:
        super().__init__("ssh: this private key is passphrase protected")
        self.blob = blob


def _ssh_identity(path: str, contents: bytes, prompt: Prompt) -> _Identity:
    try:
        return _plain_ssh_identity(contents)
    except _PassphraseMissing as pm:
        blob = pm.blob if pm.blob is not None else _read_public_key_file(path)
    try:
        algo = _parse_ssh_public_blob(blob)
        if algo not in ("ssh-ed25519", "ssh-rsa"):
            raise _GoError(f"unsupported SSH key type: {algo}")
    except _GoError as e:
        raise _EncryptedSSHError(f"could not create encrypted SSH identity: {e}") from None
    return _EncryptedSSH(path, contents, algo, blob, prompt)


class _EncryptedSSHError(_GoError):
    """Not a "malformed SSH identity" error: sops returns it as is."""


def _read_public_key_file(private_path: str) -> bytes:
    pub = private_path + ".pub"
    try:
        with open(pub, "rb") as f:
            text = f.read()
    except OSError as e:
        raise _EncryptedSSHError(f"failed to obtain public {go_quote(pub)} key for {go_quote(private_path)} "
                                 f"SSH key: {_path_error('open', pub, e)}") from None
    try:
        _, blob = _parse_authorized_key(text.decode("utf-8", "surrogateescape"))
    except _GoError as e:
        raise _EncryptedSSHError(f"failed to parse {go_quote(pub)}: {e}") from None
    return blob


def _plain_ssh_identity(contents: bytes) -> _Identity:
    """agessh.ParseIdentity (x/crypto/ssh ParseRawPrivateKey), or _PassphraseMissing."""
    from cryptography.hazmat.primitives import serialization

    block = _pem_block(contents)
    if block is None:
        raise _GoError("ssh: no key found")
    pem_type, headers, body = block
    if "ENCRYPTED" in headers.get("Proc-Type", ""):
        raise _PassphraseMissing(None)
    if pem_type == "OPENSSH PRIVATE KEY":
        cipher, blob = _openssh_public_blob(body)
        if cipher != "none":
            raise _PassphraseMissing(blob)
        algo = _parse_ssh_public_blob(blob)
        if algo not in ("ssh-ed25519", "ssh-rsa"):
            go_types = {"ssh-dss": "*dsa.PrivateKey", "ecdsa-sha2-nistp256": "*ecdsa.PrivateKey",
                        "ecdsa-sha2-nistp384": "*ecdsa.PrivateKey", "ecdsa-sha2-nistp521": "*ecdsa.PrivateKey"}
            if algo not in go_types:
                raise _GoError("ssh: unhandled key type")
            raise _GoError(f"unsupported SSH identity type: {go_types[algo]}")
        try:
            return _SSH(_rage().ssh.Identity.from_buffer(contents), algo, blob)
        except Exception as e:  # noqa: BLE001
            raise _GoError(str(e)) from None
    if pem_type not in ("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"):
        raise _GoError(f"ssh: unsupported key type {go_quote(pem_type)}")
    try:
        key: Any = serialization.load_pem_private_key(contents, None)
    except Exception as e:  # noqa: BLE001 - x509 parse errors; the wording is cryptography's
        raise _GoError(str(e)) from None
    go_type = _go_key_type(key)
    if go_type not in ("*rsa.PrivateKey", "ed25519.PrivateKey"):
        raise _GoError(f"unsupported SSH identity type: {go_type}")
    blob = _public_blob_of(key)
    algo = "ssh-rsa" if go_type == "*rsa.PrivateKey" else "ssh-ed25519"
    try:
        return _SSH(_rage().ssh.Identity.from_buffer(_to_openssh_pem(key)), algo, blob)
    except Exception as e:  # noqa: BLE001
        raise _GoError(str(e)) from None


def _tty_prompt(message: str) -> str:
    """Read a secret from the terminal as age's TUI does; no terminal is sops' error."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
        os.close(fd)
    except OSError as e:
        if not (sys.stdin is not None and sys.stdin.isatty()):
            raise _GoError("standard input is not a terminal, and /dev/tty is not available: "
                           f"{_path_error('open', '/dev/tty', e)}") from None
    import getpass

    try:
        return getpass.getpass(message + " ")
    except (EOFError, OSError) as e:
        raise _GoError(str(e) or "EOF") from None


# ------------------------------------------------------------------ where identities come from


def _home_dir(env: Mapping[str, str], platform: str) -> tuple[str, str | None]:
    """os.UserHomeDir: (dir, error text)."""
    if platform == "win32":
        d = env.get("USERPROFILE", "")
        return d, (None if d else "%userprofile% is not defined")
    d = env.get("HOME", "")
    return d, (None if d else "$HOME is not defined")


def _path_mod(platform: str) -> Any:
    if platform == "win32":
        import ntpath

        return ntpath
    return posixpath


def _join(platform: str, *parts: str) -> str:
    """filepath.Join: join and clean."""
    return str(_path_mod(platform).normpath(_path_mod(platform).join(*parts)))


def _user_config_dir(env: Mapping[str, str], home: str | None, platform: str) -> tuple[str, str | None]:
    """sops' getUserConfigDir (os.UserConfigDir, with XDG_CONFIG_HOME honoured on macOS too)."""
    if platform == "darwin":
        xdg = env.get("XDG_CONFIG_HOME", "")
        if xdg:
            return xdg, None
        h = home if home is not None else env.get("HOME", "")
        if not h:
            return "", "$HOME is not defined"
        return h + "/Library/Application Support", None
    if platform == "win32":
        d = env.get("AppData", env.get("APPDATA", ""))
        return d, (None if d else "%AppData% is not defined")
    xdg = env.get("XDG_CONFIG_HOME", "")
    if not xdg:
        h = home if home is not None else env.get("HOME", "")
        if not h:
            return "", "neither $XDG_CONFIG_HOME nor $HOME are defined"
        return h + "/.config", None
    if not posixpath.isabs(xdg):
        return "", "path in $XDG_CONFIG_HOME is relative"
    return xdg, None


def _shlex_split(s: str) -> list[str]:
    """github.com/google/shlex Split, with its error texts."""
    words: list[str] = []
    i = 0
    n = len(s)
    while True:
        while i < n and s[i] in " \t\r\n":
            i += 1
        if i >= n:
            return words
        if s[i] == "#":  # a comment runs to the end of the line
            while i < n and s[i] != "\n":
                i += 1
            continue
        value: list[str] = []
        state = "word"
        while True:
            c = s[i] if i < n else None
            i += 1
            if state == "word":
                if c is None or c in " \t\r\n":
                    break
                if c == '"':
                    state = "dquote"
                elif c == "'":
                    state = "squote"
                elif c == "\\":
                    state = "escape"
                else:
                    value.append(c)
            elif state in ("escape", "dquote_escape"):
                if c is None:
                    raise _GoError("EOF found after escape character")
                value.append(c)
                state = "word" if state == "escape" else "dquote"
            elif state == "dquote":
                if c is None:
                    raise _GoError("EOF found when expecting closing quote")
                if c == '"':
                    state = "word"
                elif c == "\\":
                    state = "dquote_escape"
                else:
                    value.append(c)
            else:  # squote
                if c is None:
                    raise _GoError("EOF found when expecting closing quote")
                if c == "'":
                    state = "word"
                else:
                    value.append(c)
        words.append("".join(value))


def _run_cmd(command: str, env: Mapping[str, str], recipient: str) -> bytes:
    """sops 3.11's SOPS_AGE_KEY_CMD: shlex split, no shell, SOPS_AGE_RECIPIENT added; stdout only."""
    try:
        args = _shlex_split(command)
    except _GoError as e:
        raise _GoError(f"failed to parse command {command} from {SOPS_AGE_KEY_CMD}: {e}") from None
    prefix = f"failed to execute command {command} from {SOPS_AGE_KEY_CMD}: "
    if not args:
        raise _GoError(prefix + "exec: no command")  # sops panics here (index out of range)
    import shutil
    import subprocess

    exe = args[0]
    child_env = dict(env)
    child_env[SOPS_AGE_RECIPIENT] = recipient
    if os.sep not in exe and (os.altsep is None or os.altsep not in exe):
        found = shutil.which(exe, path=env.get("PATH", ""))
        if found is None:
            raise _GoError(prefix + f"exec: {go_quote(exe)}: executable file not found in $PATH")
        exe = found
    try:
        proc = subprocess.run([exe, *args[1:]], env=child_env, stdin=subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError as e:
        raise _GoError(prefix + f"fork/exec {exe}: {_errno_text(e)}") from None
    if proc.returncode < 0:
        raise _GoError(prefix + f"signal: {_signal_name(-proc.returncode)}")
    if proc.returncode != 0:
        raise _GoError(prefix + f"exit status {proc.returncode}")
    return bytes(proc.stdout)


def _signal_name(sig: int) -> str:
    import signal

    try:
        return signal.strsignal(sig) or f"signal {sig}"
    except ValueError:
        return f"signal {sig}"


def _read_file(path: str) -> tuple[bytes | None, OSError | None]:
    """os.Open then a read whose error sops ignores (a directory reads as nothing)."""
    try:
        with open(path, "rb") as f:
            return f.read(), None
    except IsADirectoryError:
        return b"", None
    except OSError as e:
        return None, e


class _Loaded:
    __slots__ = ("errors", "identities", "unused")

    def __init__(self, identities: list[_Identity], unused: list[str], errors: list[str]) -> None:
        self.identities = identities
        self.unused = unused
        self.errors = errors


class Identities:
    """Where sops looks for age private keys, read on first use and kept for this object's life.

    Files and variables are read once; ``SOPS_AGE_KEY_CMD`` runs for every ``unwrap`` with
    ``SOPS_AGE_RECIPIENT`` set to that key's recipient, as sops runs it for every age key it tries.
    Use ``load_identities`` (the environment) or ``identities_from_strings`` (injected keys).
    """

    def __init__(self, env: Mapping[str, str], home: str | None = None, platform: str = sys.platform,
                 prompt: Prompt | None = None, fixed: list[_Identity] | None = None) -> None:
        self._env = dict(env)
        self._home = home
        self._platform = platform
        self._prompt: Prompt = prompt if prompt is not None else _tty_prompt
        self._fixed = fixed
        self._default_cache: list[_Identity] | str | None = None
        self._static: tuple[_Loaded, list[tuple[str, list[_Identity] | str]], str | None,
                            tuple[str, str | None, bytes | None, OSError | None]] | None = None

    def __repr__(self) -> str:
        return "<age Identities>"

    def _load_static(self) -> tuple[_Loaded, list[tuple[str, list[_Identity] | str]], str | None,
                                    tuple[str, str | None, bytes | None, OSError | None]]:
        if self._static is not None:
            return self._static
        env, platform, prompt = self._env, self._platform, self._prompt
        ids: list[_Identity] = []
        unused: list[str] = []
        errs: list[str] = []
        # 1. SSH keys (loadAgeSSHIdentities)
        ssh_file = env.get(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
        if ssh_file is not None:
            try:
                ids.append(_ssh_identity_from_file(ssh_file, prompt))
            except _GoError as e:
                errs.append(str(e))
        else:
            unused.append(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
        home, home_err = (self._home, None) if self._home is not None else _home_dir(env, platform)
        if home_err is not None:
            errs.append(home_err)
        else:
            for name in ("id_ed25519", "id_rsa"):
                path = _join(platform, home, ".ssh", name)
                if os.path.exists(path):
                    try:
                        ids.append(_ssh_identity_from_file(path, prompt))
                    except _GoError as e:
                        errs.append(str(e))
                else:
                    unused.append(path)
        # 2. the readers before the command: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE
        readers: list[tuple[str, list[_Identity] | str]] = []
        age_key = env.get(SOPS_AGE_KEY)
        if age_key is not None:
            readers.append((SOPS_AGE_KEY, self._parse_source(SOPS_AGE_KEY, _utf8(age_key), True)))
        else:
            unused.append(SOPS_AGE_KEY)
        key_file = env.get(SOPS_AGE_KEY_FILE)
        if key_file is not None:
            content, err = _read_file(key_file)
            if err is not None:
                errs.append(f"failed to open {SOPS_AGE_KEY_FILE} file: {_path_error('open', key_file, err)}")
            else:
                readers.append((SOPS_AGE_KEY_FILE, self._parse_source(SOPS_AGE_KEY_FILE, content or b"", False)))
        else:
            unused.append(SOPS_AGE_KEY_FILE)
        # 3. the default keys file, opened now, used or not depending on what the command gives
        cfg_dir, cfg_err = _user_config_dir(env, self._home, platform)
        default: tuple[str, str | None, bytes | None, OSError | None] = (
            "", cfg_err, None, None)
        if cfg_err is None and cfg_dir:
            path = _join(platform, cfg_dir, *USER_CONFIG_PATH)
            content, oerr = _read_file(path)
            default = (path, None, content, oerr)
        self._static = (_Loaded(ids, unused, errs), readers, env.get(SOPS_AGE_KEY_CMD), default)
        return self._static

    def _parse_source(self, location: str, data: bytes, multiple: bool) -> list[_Identity] | str:
        try:
            return _unwrap_identities(location, data, multiple, self._prompt)
        except _GoError as e:
            return str(e)

    def resolve(self, recipient: str = "") -> _Loaded:
        """sops' loadIdentities for one key: identities, unused locations and loading errors, in order."""
        if self._fixed is not None:
            return _Loaded(list(self._fixed), [], [])
        static, static_readers, cmd, default = self._load_static()
        ids = list(static.identities)
        unused = list(static.unused)
        errs = list(static.errors)
        readers = list(static_readers)
        if cmd is not None:
            try:
                out = _run_cmd(cmd, self._env, recipient)
                readers.append((SOPS_AGE_KEY_CMD, self._parse_source(SOPS_AGE_KEY_CMD, out, False)))
            except _GoError as e:
                errs.append(str(e))
        else:
            unused.append(SOPS_AGE_KEY_CMD)
        path, cfg_err, content, oerr = default
        if cfg_err is not None:
            if not readers and not ids:
                errs.append(f"user config directory could not be determined: {cfg_err}")
        elif path:
            if oerr is not None and oerr.errno != errno.ENOENT:
                errs.append(f"failed to open file: {_path_error('open', path, oerr)}")
            elif oerr is not None:
                if not readers and not ids:
                    unused.append(path)
            else:
                readers.append((path, self._default_parsed(path, content or b"")))
        for location, parsed in readers:
            if isinstance(parsed, str):
                errs.append(parsed)
                continue
            ids.extend(parsed)
            if not parsed:
                unused.append(location)
        return _Loaded(ids, unused, errs)

    def _default_parsed(self, path: str, content: bytes) -> list[_Identity] | str:
        if self._default_cache is None:
            self._default_cache = self._parse_source(path, content, False)
        return self._default_cache


def load_identities(env: Mapping[str, str], home: str | None = None, platform: str = sys.platform,
                    *, prompt: Prompt | None = None) -> Identities:
    """The identities sops would find in ``env`` (read lazily, on the first ``unwrap``).

    ``home`` overrides the home directory taken from ``env`` (HOME, or USERPROFILE on Windows);
    ``platform`` is a ``sys.platform`` value; ``prompt(message) -> passphrase`` replaces the terminal
    prompt used for passphrase-protected identities files and SSH keys.
    """
    return Identities(env, home, platform, prompt)


def identities_from_strings(*identity: str) -> Identities:
    """sops' ParsedIdentities.Import: identities given directly (each may hold several lines)."""
    try:
        ids = _parse_identities(_utf8("\n".join(identity)), False)
    except _GoError as e:
        raise SopsError(f"failed to parse and add to age identities: {e}") from None
    return Identities({}, fixed=ids)


# ------------------------------------------------------------------ unwrap


def _format_error(msg: str, err: str | None, errs: list[str], unused: list[str]) -> str:
    """sops' formatError."""
    load = f". Errors while loading age identities: {'; '.join(errs)}" if errs else ""
    tail = ""
    if unused:
        if len(unused) == 1:
            tail = f" '{unused[0]}'"
        elif len(unused) == 2:
            tail = f"s '{unused[0]}' and '{unused[1]}'"
        else:
            tail = "s '" + "', '".join(unused[:-1]) + f"', and '{unused[-1]}'"
        tail = f". Did not find keys in location{tail}."
    if err is not None:
        return f"{msg}: {err}{load}{tail}"
    return f"{msg}{load}{tail}"


def unwrap(enc: str, ids: Identities, recipient: str = "") -> bytes:
    """Recover the data key (or Shamir share) from an age ``enc``, as sops' MasterKey.Decrypt.

    ``recipient`` is the key's recipient from metadata (given to SOPS_AGE_KEY_CMD). Raises
    KeyNotApplicable when no identity was found or none matched, KeyFailed for any other failure;
    both carry sops' message, which sops prints in its exit-128 report.
    """
    loaded = ids.resolve(recipient)
    if not loaded.identities:
        raise KeyNotApplicable(_format_error("failed to load age identities", None, loaded.errors,
                                             loaded.unused))
    reader_msg = "failed to create reader for decrypting sops data key with age"
    data, armor_err = _dearmor(_utf8(enc))
    # age.Decrypt tries native identities (X25519, hybrid) first, the others in their order
    ordered = [i for i in loaded.identities if i.native] + [i for i in loaded.identities if not i.native]
    try:
        hdr = _parse_header(_Reader(data, armor_err))
        for ident in ordered:
            got = ident.unwrap(hdr, data, armor_err)
            if got is not None:
                return got
    except _CopyError as e:
        raise KeyFailed(str(e)) from None
    except _GoError as e:
        raise KeyFailed(_format_error(reader_msg, str(e), loaded.errors, loaded.unused)) from None
    for ident in ordered:
        if ident.needs_unsupported:
            raise KeyFailed(_format_error(reader_msg, ident.needs_unsupported, loaded.errors, loaded.unused))
    if len(ordered) == 1:
        no_match = f"identity did not match any of the recipients: {_ERR_INCORRECT}"
    else:
        no_match = "no identity matched any of the recipients"
    raise KeyNotApplicable(_format_error(reader_msg, no_match, loaded.errors, loaded.unused))
