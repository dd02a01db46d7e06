"""OpenSSH public and private key parsing (x/crypto/ssh), enough for age's ssh-ed25519 and ssh-rsa.

Every error text is x/crypto/ssh's, so a bad key gives the message sops prints.
"""

from __future__ import annotations

from ... import crypto
from ...gotext import go_quote
from .encoding import _b64_decode, _b64_raw, _GoError, _utf8

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any


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
