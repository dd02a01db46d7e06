"""The hand-assembled primitives in sops_py.crypto agree with the standard library and cryptography."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from sops_py import crypto


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_sha256_matches_the_standard_library(key: bytes, msg: bytes) -> None:
    assert crypto.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.one_of(st.none(), st.binary(max_size=64)), st.binary(max_size=64))
def test_hkdf_sha256_matches_cryptography(ikm: bytes, salt: bytes | None, info: bytes) -> None:
    want = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)
    assert crypto.hkdf_sha256(ikm, salt, info) == want


def test_sha2_are_the_real_digests() -> None:
    assert crypto.sha256(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
    assert crypto.sha512(b"abc").hexdigest() == hashlib.sha512(b"abc").hexdigest()


def test_invalid_tag_is_recognised() -> None:
    aead = crypto.AESGCM(bytes(32))
    sealed = aead.encrypt(bytes(12), b"secret", None)
    try:
        aead.decrypt(bytes(12), sealed[:-1] + bytes([sealed[-1] ^ 1]), None)
    except Exception as e:  # noqa: BLE001 - the point is which exception it is
        assert crypto.is_invalid_tag(e)
    else:
        raise AssertionError("a tampered tag decrypted")
    assert not crypto.is_invalid_tag(ValueError("other"))
