"""Hybrid post-quantum age keys (``age1pq1…`` / ``AGE-SECRET-KEY-PQ-1…``, age 1.3's mlkem768x25519).

The decryption side is checked against the C2SP CCTV age test vectors (tests/unit/data/age_cctv, copied
unchanged from github.com/C2SP/CCTV, age/testdata at commit 1e3d2860d46e94e777e1b17c7a6f2436387e3ecc):
every hybrid vector, success, no match and header failures. Encryption cannot be checked against fixed
vectors (ML-KEM encapsulation takes the OS's randomness), so it is checked by round trips here and by
the real sops in tests/interop/test_age_forms_sops.py.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sops_py.errors import SopsError
from sops_py.keys import KeyFailed, KeyNotApplicable, age
from sops_py.keys.age import pq
from tests.helpers import ROOT

CCTV = Path(__file__).parent / "data" / "age_cctv"
DATA_KEY = bytes(range(32))


def pq_pair(seed: bytes | None = None) -> tuple[str, str]:
    """(AGE-SECRET-KEY-PQ-1…, age1pq1…) as age-keygen -pq writes them."""
    seed = os.urandom(32) if seed is None else seed
    _, _, public = pq.expand_secret(seed)
    return age.bech32_encode("AGE-SECRET-KEY-PQ-", seed), age.bech32_encode("age1pq", public)


def read_vector(path: Path) -> tuple[dict[str, str], list[str], str]:
    """A CCTV vector: its header fields, its identities and the age file as an armored ``enc``."""
    head, _, body = path.read_bytes().partition(b"\n\n")
    meta: dict[str, str] = {}
    identities: list[str] = []
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        if key == "identity":
            identities.append(value)
        else:
            meta[key] = value
    if meta.get("compressed") == "zlib":
        body = zlib.decompress(body)
    enc = body.decode() if meta.get("armored") == "yes" else age.armor(body)
    return meta, identities, enc


VECTORS = sorted(p.name for p in CCTV.iterdir())


def test_every_hybrid_vector_is_here() -> None:
    assert len(VECTORS) == 19
    assert all("hybrid" in name for name in VECTORS)


@pytest.mark.parametrize("name", VECTORS)
def test_cctv_vector(name: str) -> None:
    meta, identities, enc = read_vector(CCTV / name)
    ids = age.identities_from_strings(*identities)
    expect = meta["expect"]
    if expect == "success":
        assert hashlib.sha256(age.unwrap(enc, ids)).hexdigest() == meta["payload"]
    elif expect == "no match":
        with pytest.raises(KeyNotApplicable, match="did not match any of the recipients"):
            age.unwrap(enc, ids)
    else:
        assert expect == "header failure"
        with pytest.raises(KeyFailed) as exc:
            age.unwrap(enc, ids)
        assert not isinstance(exc.value, KeyNotApplicable)
        assert str(exc.value).startswith("failed to create reader for decrypting sops data key with age: ")


def test_header_failure_messages_are_ages() -> None:
    def message(name: str) -> str:
        _, identities, enc = read_vector(CCTV / name)
        with pytest.raises(KeyFailed) as exc:
            age.unwrap(enc, age.identities_from_strings(*identities))
        return str(exc.value).removeprefix("failed to create reader for decrypting sops data key with age: ")

    assert message("hybrid_extra_argument") == "invalid mlkem768x25519 recipient block"
    assert message("hybrid_long_file_key") == "encrypted value has unexpected length"
    assert message("hybrid_short_share") == "invalid mlkem768x25519 recipient: invalid encapsulated key size"
    assert message("hybrid_low_order").endswith("bad X25519 remote ECDH input: low order point")


def test_known_public_key_of_the_cctv_identity() -> None:
    """The recipient derived from the vectors' identity opens what is wrapped to it."""
    _, identities, _ = read_vector(CCTV / "hybrid")
    secret = identities[0]
    _, seed = age._bech32_decode(secret)
    recipient = pq_pair(seed)[1]
    assert recipient.startswith("age1pq1") and len(recipient) > 1900
    assert age.unwrap(age.wrap(recipient, DATA_KEY), age.identities_from_strings(secret)) == DATA_KEY


def test_wrap_has_one_hybrid_stanza_and_unwraps() -> None:
    secret, recipient = pq_pair()
    enc = age.wrap(recipient, DATA_KEY)
    data, err = age._dearmor(enc.encode())
    assert err is None
    lines = data.split(b"\n")
    assert lines[0] == b"age-encryption.org/v1"
    arg_line = lines[1].split(b" ")
    assert arg_line[:2] == [b"->", b"mlkem768x25519"] and len(arg_line) == 3
    assert len(age._b64_decode(arg_line[2], padded=False)) == 1088 + 32
    assert len(age._b64_decode(lines[2], padded=False)) == 32  # the sealed file key
    assert lines[3].startswith(b"--- ")
    assert age.unwrap(enc, age.identities_from_strings(secret)) == DATA_KEY
    assert age.unwrap(enc, age.load_identities({"SOPS_AGE_KEY": secret})) == DATA_KEY


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.binary(min_size=32, max_size=32), key=st.binary(min_size=0, max_size=200))
def test_wrap_unwrap_roundtrip(seed: bytes, key: bytes) -> None:
    secret, recipient = pq_pair(seed)
    assert age.unwrap(age.wrap(recipient, key), age.identities_from_strings(secret)) == key


def test_wrong_key_and_mixed_identities() -> None:
    secret, recipient = pq_pair()
    other, _ = pq_pair()
    enc = age.wrap(recipient, DATA_KEY)
    with pytest.raises(KeyNotApplicable, match="identity did not match any of the recipients: incorrect identity"):
        age.unwrap(enc, age.identities_from_strings(other))
    x_secret = str(__import__("pyrage").x25519.Identity.generate())
    assert age.unwrap(enc, age.identities_from_strings(x_secret, other, secret)) == DATA_KEY


def test_tampered_body_and_mac() -> None:
    secret, recipient = pq_pair()
    data, _ = age._dearmor(age.wrap(recipient, DATA_KEY).encode())
    ids = age.identities_from_strings(secret)
    flipped = bytearray(data)
    flipped[-1] ^= 1
    with pytest.raises(KeyFailed, match="^failed to copy age decrypted data into bytes.Buffer: failed to decrypt"):
        age.unwrap(age.armor(bytes(flipped)), ids)
    mac_at = data.index(b"\n--- ") + 6
    bad_mac = data[:mac_at] + (b"A" if data[mac_at:mac_at + 1] != b"A" else b"B") + data[mac_at + 1:]
    with pytest.raises(KeyFailed, match="with age: bad header MAC"):
        age.unwrap(age.armor(bad_mac), ids)


def test_bad_key_material_is_one_line(tmp_path: Path) -> None:
    secret, recipient = pq_pair()
    enc = age.wrap(recipient, DATA_KEY)
    bad_checksum = secret[:-1] + ("Q" if secret[-1] != "Q" else "P")
    short = age.bech32_encode("AGE-SECRET-KEY-PQ-", os.urandom(31))
    for bad, err in [(bad_checksum, "malformed secret key: invalid checksum"),
                     (short, "malformed secret key: invalid MLKEM768-X25519 secret key")]:
        with pytest.raises(KeyNotApplicable) as exc:
            age.unwrap(enc, age.load_identities({"HOME": str(tmp_path), "SOPS_AGE_KEY": bad}))
        assert f"failed to parse 'SOPS_AGE_KEY' age identities: {err}" in str(exc.value)
        assert "\n" not in str(exc.value) and bad not in str(exc.value)
    with pytest.raises(SopsError, match="invalid MLKEM768-X25519 public key"):  # coefficients over q
        age.parse_recipient(age.bech32_encode("age1pq", b"\xff" * 1216))
    with pytest.raises(SopsError, match="invalid checksum"):
        age.parse_recipient(recipient[:-1] + ("q" if recipient[-1] != "q" else "p"))


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "sops_py", *args], env=full, cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, start_new_session=True, check=False)


def test_cli_encrypts_decrypts_and_reports_a_failed_hybrid_key(tmp_path: Path) -> None:
    secret, recipient = pq_pair()
    (tmp_path / "plain.yaml").write_text("db:\n    password: hunter2\n")
    res = _cli(["encrypt", "--age", recipient, "plain.yaml"], {}, tmp_path)
    assert res.returncode == 0, res.stderr
    (tmp_path / "enc.yaml").write_text(res.stdout)
    assert "hunter2" not in res.stdout
    res = _cli(["decrypt", "enc.yaml"], {"SOPS_AGE_KEY": secret}, tmp_path)
    assert (res.returncode, res.stdout) == (0, "db:\n    password: hunter2\n"), res.stderr
    res = _cli(["decrypt", "enc.yaml"], {"SOPS_AGE_KEY": pq_pair()[0]}, tmp_path)
    assert res.returncode == 128
    assert f"{recipient}: FAILED" in res.stderr
    assert "identity did not match any of the recipients" in res.stderr
    assert "Traceback" not in res.stderr and "hunter2" not in res.stderr
