"""Shamir secret sharing over GF(2^8) with the AES polynomial, byte-compatible with sops.

A share is ``len(secret) + 1`` bytes: one y value per secret byte, then the x coordinate in the last
byte. Unlike Vault, sops does not randomise x: share i gets x = i + 1.
"""

from __future__ import annotations

import os

from .errors import SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable


def _xtime_mul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


# exp/log tables over the generator 3 (cheap to build: 255 steps, no 64k-entry table at import)
_EXP = [0] * 510
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _EXP[_i + 255] = _x
    _LOG[_x] = _i
    _x = _xtime_mul(_x, 3)


def _gmul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _ginv(a: int) -> int:
    return _EXP[255 - _LOG[a]]


def split(secret: bytes, parts: int, threshold: int, rand: Callable[[int], bytes] = os.urandom) -> list[bytes]:
    """Split ``secret`` into ``parts`` shares, any ``threshold`` of which recombine it."""
    if parts < threshold:
        raise SopsError("parts cannot be less than threshold")
    if parts > 255:
        raise SopsError("parts cannot exceed 255")
    if threshold < 2:
        raise SopsError("threshold must be at least 2")
    if threshold > 255:
        raise SopsError("threshold cannot exceed 255")
    if not secret:
        raise SopsError("cannot split an empty secret")
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for i in range(parts):
        shares[i][-1] = i + 1
    for idx, byte in enumerate(secret):
        coeffs = [byte, *rand(threshold - 1)]
        for i in range(parts):
            x = i + 1
            y = 0
            for c in reversed(coeffs):  # Horner's rule
                y = _gmul(y, x) ^ c
            shares[i][idx] = y
    return [bytes(s) for s in shares]


def combine(shares: list[bytes]) -> bytes:
    """Recover the secret from at least two shares (Lagrange interpolation at x = 0)."""
    if len(shares) < 2:
        raise SopsError("less than two parts cannot be used to reconstruct the secret")
    length = len(shares[0])
    if length < 2:
        raise SopsError("parts must be at least two bytes")
    if any(len(s) != length for s in shares):
        raise SopsError("all parts must be the same length")
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise SopsError("duplicate part detected")
    secret = bytearray(length - 1)
    # Lagrange basis at 0: prod x_j / (x_j - x_i); subtraction is XOR in GF(2^8)
    basis = []
    for i, xi in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if i != j:
                num = _gmul(num, xj)
                den = _gmul(den, xj ^ xi)
        basis.append(_gmul(num, _ginv(den)))
    for idx in range(length - 1):
        acc = 0
        for share, b in zip(shares, basis, strict=True):
            acc ^= _gmul(share[idx], b)
        secret[idx] = acc
    return bytes(secret)
