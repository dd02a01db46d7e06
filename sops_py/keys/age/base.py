"""What every identity shares: the ``_Identity`` interface and the pyrage fallback.

pyrage opens what this package does not open itself (SSH stanzas, unusual X25519 files); running it on
the header alone first separates header failures from payload failures the way age.Decrypt orders them.
"""

from __future__ import annotations

import abc

from ... import crypto
from .encoding import _GoError
from .format import _NONCE_SIZE, _Header, _hkdf, _stream_open

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Prompt = Callable[[str], str]

_ERR_INCORRECT = "incorrect identity for recipient block"


def _rage() -> Any:
    """pyrage, imported on first use (~1.3 ms): the X25519 keys sops uses are handled without it."""
    import pyrage  # type: ignore[import-untyped]

    return pyrage


class _Identity(abc.ABC):
    """One private key. ``unwrap`` returns the payload, ``None`` for "not this key", or raises _GoError."""

    native = False  # age.Decrypt tries X25519, hybrid and scrypt identities before the others

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


def _payload_checks(hdr: _Header, data: bytes, armor_err: str | None) -> str:
    """What age.Decrypt and sops' io.Copy check before the first chunk: the nonce, the armor, a chunk.

    Returns the prefix of every later payload error."""
    payload = data[hdr.length:]
    if len(payload) < _NONCE_SIZE:
        reason = armor_err or ("EOF" if not payload else "unexpected EOF")
        raise _GoError(f"failed to read nonce: {reason}")
    copy_err = "failed to copy age decrypted data into bytes.Buffer: "
    if armor_err is not None:
        raise _CopyError(copy_err + armor_err)
    if len(payload) == _NONCE_SIZE:
        raise _CopyError(copy_err + "unexpected EOF")
    return copy_err


_BAD_CHUNK = "failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with"


def _payload(ident: Any, hdr: _Header, data: bytes, armor_err: str | None) -> bytes:
    """age.Decrypt after the header matched: the nonce, then sops' io.Copy of the STREAM payload."""
    copy_err = _payload_checks(hdr, data, armor_err)
    try:
        return bytes(_rage().decrypt(data, [ident]))
    except Exception:  # noqa: BLE001
        raise _CopyError(copy_err + _BAD_CHUNK) from None


def _finish(file_key: bytes, hdr: _Header, data: bytes, armor_err: str | None) -> bytes:
    """age.Decrypt once an identity gave the file key (hybrid and plugin identities, which pyrage
    cannot use): the header MAC, the nonce, then the STREAM payload, with age's and sops' messages."""
    import hmac  # compare_digest; not on the X25519 fast path (hmac imports hashlib)

    mac = crypto.hmac_sha256(_hkdf(file_key, None, b"header"), hdr.without_mac())
    if not hmac.compare_digest(mac, hdr.mac):
        raise _GoError("bad header MAC")
    copy_err = _payload_checks(hdr, data, armor_err)
    got = _stream_open(file_key, data[hdr.length:])
    if not isinstance(got, bytes):
        raise _CopyError(copy_err + _BAD_CHUNK)
    return got


class _CopyError(_GoError):
    """A payload error: sops reports it without the identity-location suffixes."""
