"""The primitives sops-py computes with: AES-GCM, ChaCha20-Poly1305, X25519, SHA-256/512, HMAC, HKDF.

cryptography's public modules cost ~13 ms each to import (they build its whole class hierarchy); the
compiled ``_rust.openssl`` module they re-export costs ~3 ms. So the classes come from the compiled
module, with the public API as the fallback should a cryptography release move them. SHA-2 comes from
the interpreter's builtin modules (~0.3 ms, where ``hashlib`` costs ~3 ms) and HMAC/HKDF-SHA256 are
built on it (the only uses are age's 32-byte keys and header MAC).
"""

from __future__ import annotations

__all__ = ["AESGCM", "ChaCha20Poly1305", "hkdf_sha256", "hmac_sha256", "is_invalid_tag", "sha256", "sha512",
           "x25519_private_key", "x25519_public_key"]

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as AESGCM
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305 as ChaCha20Poly1305

    x25519_private_key: Callable[[bytes], X25519PrivateKey]
    x25519_public_key: Callable[[bytes], X25519PublicKey]
    sha256: Callable[..., Any]
    sha512: Callable[..., Any]
else:
    try:
        # private, but the very classes the public modules re-export (cryptography 48 and 50 checked)
        from cryptography.hazmat.bindings._rust import openssl as _openssl

        AESGCM = _openssl.aead.AESGCM
        ChaCha20Poly1305 = _openssl.aead.ChaCha20Poly1305
        x25519_private_key = _openssl.x25519.from_private_bytes
        x25519_public_key = _openssl.x25519.from_public_bytes
    except (ImportError, AttributeError):
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        x25519_private_key = X25519PrivateKey.from_private_bytes
        x25519_public_key = X25519PublicKey.from_public_bytes
    try:
        from _sha256 import sha256
        from _sha512 import sha512
    except ImportError:
        try:
            from _sha2 import sha256, sha512  # Python >= 3.12
        except ImportError:
            from hashlib import sha256, sha512


def is_invalid_tag(e: BaseException) -> bool:
    """Whether ``e`` is cryptography's InvalidTag (an AEAD's authentication failure); the exceptions
    module is imported only on this failure path."""
    from cryptography.exceptions import InvalidTag

    return isinstance(e, InvalidTag)


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104)."""
    if len(key) > 64:
        key = sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = sha256(key.translate(_IPAD) + msg).digest()
    return bytes(sha256(key.translate(_OPAD) + inner).digest())


def hkdf_sha256(ikm: bytes, salt: bytes | None, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) with a 32-byte output: one expand block. No salt is 32 zero bytes."""
    prk = hmac_sha256(salt or bytes(32), ikm)
    return hmac_sha256(prk, info + b"\x01")
