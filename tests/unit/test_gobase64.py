"""sops_py.gobase64 against Go's encoding/base64: its corrupt-input table, the strict/non-strict
trailing-bit rule (Go issue 15656) and round trips."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sops_py.gobase64 import GoBase64Error, decode

# (input, offset Go's StdEncoding reports, or -1 when it decodes): Go's TestDecodeCorrupt table
GO_CORRUPT = [
    ("", -1), ("\n", -1), ("AAA=\n", -1), ("AAAA\n", -1), ("!!!!", 0), ("====", 0), ("x===", 1),
    ("=AAA", 0), ("A=AA", 1), ("AA=A", 2), ("AA==A", 4), ("AAA=AAAA", 4), ("AAAAA", 4), ("AAAAAA", 4),
    ("A=", 1), ("A==", 1), ("AA=", 3), ("AA==", -1), ("AAA=", -1), ("AAAA", -1), ("AAAAAA=", 7),
    ("YWJjZA=====", 8), ("A!\n", 1), ("A=\n", 1),
    ("dGhpcyBpcyBhI@HRlc3Qgc3RyaW5nLg==", 13), ("aGVsb?8=", 5),
]


@pytest.mark.parametrize(("text", "offset"), GO_CORRUPT)
def test_go_corrupt_input_table(text: str, offset: int) -> None:
    if offset < 0:
        assert decode(text.encode()) == base64.b64decode(text.replace("\n", ""))
    else:
        with pytest.raises(GoBase64Error, match=f"^illegal base64 data at input byte {offset}$"):
            decode(text.encode())


def test_trailing_bits_refused_only_when_strict() -> None:
    assert decode(b"WvLTlMrX9NpYDQlEIFlnDB==") == decode(b"WvLTlMrX9NpYDQlEIFlnDA==")
    with pytest.raises(GoBase64Error) as e:
        decode(b"WvLTlMrX9NpYDQlEIFlnDB==", strict=True)
    assert e.value.offset == 22
    assert decode(b"WvLTlMrX9NpYDQlEIFlnDA", padded=False, strict=True) == decode(b"WvLTlMrX9NpYDQlEIFlnDA==")


def test_raw_encoding_refuses_padding() -> None:
    with pytest.raises(GoBase64Error) as e:
        decode(b"QQ==", padded=False)
    assert e.value.offset == 2


@given(st.binary(max_size=200), st.booleans(), st.booleans())
def test_round_trip_with_newlines(data: bytes, padded: bool, strict: bool) -> None:
    text = base64.b64encode(data)
    if not padded:
        text = text.rstrip(b"=")
    assert decode(text, padded=padded, strict=strict) == data
    wrapped = b"\r\n".join(text[i:i + 7] for i in range(0, len(text), 7))
    assert decode(wrapped, padded=padded, strict=strict) == data


@given(st.text(alphabet="AB+/=\n!", max_size=20))
def test_decodes_exactly_what_python_strict_mode_accepts(text: str) -> None:
    """On newline-free canonical-or-not input, Go's StdEncoding.Strict() and Python's strict mode
    accept the same strings and give the same bytes."""
    src = text.replace("\n", "").encode()
    try:
        want: bytes | None = base64.b64decode(src, validate=True)
        if base64.b64encode(want) != src:
            want = None  # Python accepts non-zero trailing bits; Go's strict mode does not
    except ValueError:
        want = None
    try:
        got: bytes | None = decode(src, strict=True)
    except GoBase64Error:
        got = None
    assert got == want
