"""The age v1 file format (internal/format, internal/stream): header, stanzas, MAC and STREAM payload.

Parsing follows age's format.Parse so every malformed header gives age's message; the writer and the
STREAM functions are shared by every recipient type this package wraps to.
"""

from __future__ import annotations

from ... import crypto
from ...gotext import go_quote
from .encoding import _BYTES_PER_LINE, _COLUMNS, _b64_raw, _format_decode, _GoError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable

_INTRO = b"age-encryption.org/v1\n"
_NONCE_SIZE = 16
_CHUNK_SIZE = 64 * 1024  # age's STREAM chunk (plaintext bytes)
_hkdf = crypto.hkdf_sha256


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


def _seal(file_key: bytes, stanzas: list[_Stanza], plaintext: bytes, rand: Callable[[int], bytes]) -> bytes:
    """The rest of age.Encrypt once the stanzas are made: header, MAC, nonce, STREAM payload."""
    header = _Header(stanzas, 0).without_mac()
    mac = crypto.hmac_sha256(_hkdf(file_key, None, b"header"), header)
    nonce = rand(_NONCE_SIZE)
    aead = crypto.ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    out = bytearray(header) + f" {_b64_raw(mac)}\n".encode() + nonce
    chunks = [plaintext[i:i + _CHUNK_SIZE] for i in range(0, len(plaintext), _CHUNK_SIZE)] or [b""]
    for counter, chunk in enumerate(chunks):
        out += aead.encrypt(_stream_nonce(counter, counter == len(chunks) - 1), chunk, None)
    return bytes(out)


def _stream_nonce(counter: int, last: bool) -> bytes:
    """age's STREAM chunk nonce: an 11-byte big-endian counter and the last-chunk flag."""
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


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
