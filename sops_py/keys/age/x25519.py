"""The X25519 stanza: wrapping to ``age1…`` recipients and opening with ``AGE-SECRET-KEY-1…`` identities.

Wrapping is done here with ``cryptography`` so ``enc`` has Go's one-stanza shape (pyrage adds a grease
stanza). An ``enc`` of the usual shape (only well-formed X25519 stanzas) is opened here too, which spares
importing pyrage; anything else goes to pyrage, whose outcome gives every error message.
"""

from __future__ import annotations

from ... import crypto
from .. import KeyFailed
from .base import _Identity, _payload, _pyrage_match, _rage
from .encoding import _b64_raw, _format_decode, _GoError
from .format import _UNSURE, _Header, _hkdf, _seal, _Stanza, _stream_open

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_X25519_LABEL = b"age-encryption.org/v1/X25519"


def _age_encrypt_x25519(their_public: bytes, plaintext: bytes, rand: Callable[[int], bytes]) -> bytes:
    """age.Encrypt to one X25519 recipient: header, MAC, nonce, STREAM payload (binary file)."""
    file_key = rand(16)
    return _seal(file_key, [_x25519_stanza(their_public, file_key, rand)], plaintext, rand)


def _x25519_stanza(their_public: bytes, file_key: bytes, rand: Callable[[int], bytes]) -> _Stanza:
    """X25519Recipient.Wrap: an ephemeral share and the file key sealed under the shared secret."""
    ephemeral = crypto.x25519_private_key(rand(32))
    our_public = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(crypto.x25519_public_key(their_public))
    except ValueError as e:
        raise KeyFailed("failed to create writer for encrypting sops data key with age: failed to wrap "
                        f"key for recipient #0: {e}") from None
    wrapping_key = _hkdf(shared, our_public + their_public, _X25519_LABEL)
    body = crypto.ChaCha20Poly1305(wrapping_key).encrypt(bytes(12), file_key, None)
    return _Stanza("X25519", [_b64_raw(our_public)], body)


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
