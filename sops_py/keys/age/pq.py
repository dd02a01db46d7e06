"""The hybrid post-quantum stanza (age 1.3's ``mlkem768x25519``): ``age1pq1…`` recipients and
``AGE-SECRET-KEY-PQ-1…`` identities.

age seals the file key with HPKE (RFC 9180, base mode) whose KEM is MLKEM768-X25519 (X-Wing, KEM id
0x647a in draft-ietf-hpke-pq), HKDF-SHA256 and ChaCha20-Poly1305, info ``age-encryption.org/
mlkem768x25519``. The stanza's one argument is the 1120-byte encapsulation (ML-KEM ciphertext, then the
ephemeral X25519 share), its body the 32-byte sealed file key. The 32-byte secret key is a seed:
SHAKE-256 of it gives the 64-byte ML-KEM-768 seed, then the X25519 scalar. pyrage has no ML-KEM, so all
of it is done here with ``cryptography`` (ML-KEM-768 since 47), imported only when a hybrid key is used.
"""

from __future__ import annotations

from ... import crypto
from .. import KeyFailed
from .base import _finish, _Identity
from .encoding import _b64_raw, _format_decode, _GoError
from .format import _Header, _Stanza

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

STANZA_TYPE = "mlkem768x25519"
_INFO = b"age-encryption.org/mlkem768x25519"
_KEM_ID = 0x647A
_SUITE = b"HPKE" + _KEM_ID.to_bytes(2, "big") + (1).to_bytes(2, "big") + (3).to_bytes(2, "big")
_XWING_LABEL = b"\\.//^\\"
MLKEM_PUBLIC_SIZE = 1184
MLKEM_CIPHERTEXT_SIZE = 1088
PUBLIC_SIZE = MLKEM_PUBLIC_SIZE + 32
_ENC_SIZE = MLKEM_CIPHERTEXT_SIZE + 32
_BODY_SIZE = 16 + 16  # file key and Poly1305 tag


def _mlkem() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import mlkem
    except ImportError:  # cryptography < 47
        raise KeyFailed("hybrid post-quantum age keys need a cryptography with ML-KEM-768: upgrade cryptography") from None
    return mlkem


def _sha3_256(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha3_256(data).digest()


def expand_secret(secret: bytes) -> tuple[Any, Any, bytes]:
    """The X-Wing key pair of a 32-byte seed: (ML-KEM-768 key, X25519 key, the 1216-byte public key)."""
    import hashlib

    stream = hashlib.shake_256(secret).digest(96)
    pq = _mlkem().MLKEM768PrivateKey.from_seed_bytes(stream[:64])
    t = crypto.x25519_private_key(stream[64:96])
    public = pq.public_key().public_bytes_raw() + t.public_key().public_bytes_raw()
    return pq, t, public


def _combine(ss_pq: bytes, ss_t: bytes, ct_t: bytes, pk_t: bytes) -> bytes:
    return _sha3_256(ss_pq + ss_t + ct_t + pk_t + _XWING_LABEL)


def _extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return crypto.hmac_sha256(salt or bytes(32), b"HPKE-v1" + _SUITE + label + ikm)


def _expand(prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """HPKE's LabeledExpand for at most one SHA-256 block (every length used here is <= 32)."""
    labeled = length.to_bytes(2, "big") + b"HPKE-v1" + _SUITE + label + info
    return crypto.hmac_sha256(prk, labeled + b"\x01")[:length]


def _key_schedule(shared: bytes) -> tuple[bytes, bytes]:
    """HPKE base-mode key schedule: the AEAD key and base nonce (sequence 0 is the only one used)."""
    context = b"\x00" + _extract(b"", b"psk_id_hash", b"") + _extract(b"", b"info_hash", _INFO)
    secret = _extract(shared, b"secret", b"")
    return _expand(secret, b"key", context, 32), _expand(secret, b"base_nonce", context, 12)


def check_public(public: bytes) -> None:
    """hpke.MLKEM768X25519().NewPublicKey's checks (ML-KEM's modulus check, X25519 takes any 32 bytes)."""
    try:
        _mlkem().MLKEM768PublicKey.from_public_bytes(public[:MLKEM_PUBLIC_SIZE])
    except ValueError:
        raise _GoError("invalid MLKEM768-X25519 public key") from None


def stanza(public: bytes, file_key: bytes, rand: Callable[[int], bytes]) -> _Stanza:
    """HybridRecipient.Wrap: HPKE-seal the file key to ``public`` (ML-KEM randomness is the OS's)."""
    pk_pq = _mlkem().MLKEM768PublicKey.from_public_bytes(public[:MLKEM_PUBLIC_SIZE])
    pk_t = public[MLKEM_PUBLIC_SIZE:]
    ss_pq, ct_pq = pk_pq.encapsulate()
    ephemeral = crypto.x25519_private_key(rand(32))
    ct_t = ephemeral.public_key().public_bytes_raw()
    try:
        ss_t = ephemeral.exchange(crypto.x25519_public_key(pk_t))
    except ValueError as e:
        raise KeyFailed("failed to create writer for encrypting sops data key with age: failed to wrap "
                        f"key for recipient #0: failed to set up HPKE sender: {e}") from None
    key, nonce = _key_schedule(_combine(ss_pq, ss_t, ct_t, pk_t))
    body = crypto.ChaCha20Poly1305(key).encrypt(nonce, file_key, None)
    return _Stanza(STANZA_TYPE, [_b64_raw(ct_pq + ct_t)], body)


class HybridIdentity(_Identity):
    """An ``AGE-SECRET-KEY-PQ-1…`` identity; the key pair is derived on first use (ML-KEM costs ~1 ms)."""

    native = True

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._keys: tuple[Any, Any, bytes] | None = None

    def _unwrap_stanza(self, st: _Stanza) -> bytes | None:
        """HybridIdentity.unwrap for one stanza: the file key, None for "not this key", or age's error."""
        if st.type != STANZA_TYPE:
            return None
        if len(st.args) != 1:
            raise _GoError("invalid mlkem768x25519 recipient block")
        try:
            enc = _format_decode(st.args[0])
        except _GoError as e:
            raise _GoError(f"failed to parse mlkem768x25519 recipient: {e}") from None
        if len(st.body) != _BODY_SIZE:
            raise _GoError("encrypted value has unexpected length")
        if len(enc) != _ENC_SIZE:
            raise _GoError("invalid mlkem768x25519 recipient: invalid encapsulated key size")
        if self._keys is None:
            self._keys = expand_secret(self._secret)
        pq, t, public = self._keys
        ct_t = enc[MLKEM_CIPHERTEXT_SIZE:]
        try:
            ss_t = t.exchange(crypto.x25519_public_key(ct_t))
        except ValueError:
            raise _GoError("invalid mlkem768x25519 recipient: crypto/ecdh: bad X25519 remote ECDH input: "
                           "low order point") from None
        ss_pq = pq.decapsulate(enc[:MLKEM_CIPHERTEXT_SIZE])  # implicit rejection: a wrong key gives noise
        key, nonce = _key_schedule(_combine(ss_pq, ss_t, ct_t, public[MLKEM_PUBLIC_SIZE:]))
        try:
            return bytes(crypto.ChaCha20Poly1305(key).decrypt(nonce, st.body, None))
        except Exception:  # noqa: BLE001 - InvalidTag: sealed to another key
            return None

    def file_key(self, hdr: _Header) -> bytes | None:
        """age's multiUnwrap over the header's stanzas."""
        for st in hdr.stanzas:
            got = self._unwrap_stanza(st)
            if got is not None:
                return got
        return None

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        file_key = self.file_key(hdr)
        return None if file_key is None else _finish(file_key, hdr, data, armor_err)
