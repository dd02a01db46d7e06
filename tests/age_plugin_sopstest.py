"""``age-plugin-sopstest``: a small age plugin for the tests, speaking the age plugin protocol
(C2SP age-plugin.md: recipient-v1 and identity-v1 state machines) on stdin/stdout.

Recipient ``age1sopstest1<32 bytes>``, identity ``AGE-PLUGIN-SOPSTEST-1<the same 32 bytes>``: the file
key is sealed with ChaCha20-Poly1305 under SHA-256 of those bytes, in a ``sopstest <tag>`` stanza whose
tag is the first 4 bytes of SHA-512 of them. It shares no code with sops-py (its own stanza reader and
writer, its own bech32 decoding) so that it checks sops-py's side of the protocol.

Behaviour switches (environment): SOPSTEST_MODE = ``error`` (an error stanza instead of a result),
``msg`` (a message first), ``secret`` (asks for a secret and requires "1234"), ``public`` (asks for a
public value and requires "alice"), ``confirm``/``confirm1`` (asks to confirm with two choices / one and
requires the first), ``crash`` (exits at once),
``nokey`` (never returns a file key). SOPSTEST_LOG: append the protocol and the working directory there.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import sys

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_data(s: str) -> bytes:
    """The payload of a bech32 string (checksum not verified: the client already did)."""
    s = s.lower()
    data = [CHARSET.index(c) for c in s[s.rfind("1") + 1:-6]]
    acc = bits = 0
    out = bytearray()
    for v in data:
        acc = (acc << 5) | v
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    return bytes(out)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def unb64(s: str) -> bytes:
    return base64.b64decode(s + "=" * (-len(s) % 4))


def log(line: str) -> None:
    path = os.environ.get("SOPSTEST_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def write(type_: str, *args: str, body: bytes = b"") -> None:
    text = b64(body)
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    if len(text) % 64 == 0:
        lines.append("")
    sys.stdout.write(" ".join(["->", type_, *args]) + "\n" + "".join(line + "\n" for line in lines))
    sys.stdout.flush()
    log(f"plugin> {type_} {' '.join(args)}")


def read() -> tuple[str, list[str], bytes]:
    line = sys.stdin.readline()
    if not line:
        sys.exit(3)
    parts = line.rstrip("\n").split(" ")
    assert parts[0] == "->", line
    body = b""
    while True:
        chunk = sys.stdin.readline().rstrip("\n")
        body += unb64(chunk)
        if len(chunk) < 64:
            break
    log(f"client> {parts[1]} {' '.join(parts[2:])}")
    return parts[1], parts[2:], body


def secret_key(data: bytes) -> tuple[bytes, str]:
    return hashlib.sha256(data).digest(), b64(hashlib.sha512(data).digest()[:4])


def interact(mode: str) -> bool:
    """The modes' extra exchanges before the result; False to stop."""
    if mode == "msg":
        write("msg", body=b"touch your token")
        assert read()[0] == "ok"
    if mode == "secret":
        write("request-secret", body=b"Enter the PIN")
        kind, _, answer = read()
        if kind != "ok" or answer != b"1234":
            write("error", "internal", body=b"wrong PIN")
            read()
            return False
    if mode in ("confirm", "confirm1"):
        choices = [b64(b"allow")] + ([b64(b"deny")] if mode == "confirm" else [])
        write("confirm", *choices, body=b"Use the token")
        kind, args, _ = read()
        if kind != "ok" or args != ["yes"]:
            write("error", "internal", body=f"not confirmed: {kind} {' '.join(args)}".strip().encode())
            read()
            return False
    if mode == "public":
        write("request-public", body=b"Your name")
        kind, _, answer = read()
        if kind != "ok" or answer != b"alice":
            write("error", "internal", body=b"unknown user")
            read()
            return False
    if mode == "error":
        write("error", "internal", body=b"the token is locked")
        read()
        return False
    return True


def recipient_v1(mode: str) -> None:
    recipients: list[bytes] = []
    file_keys: list[bytes] = []
    while True:
        kind, args, body = read()
        if kind == "add-recipient":
            recipients.append(bech32_data(args[0]))
        elif kind == "wrap-file-key":
            file_keys.append(body)
        elif kind == "done":
            break
    if interact(mode):
        for data in recipients:
            key, tag = secret_key(data)
            sealed = ChaCha20Poly1305(key).encrypt(bytes(12), file_keys[0], None)
            write("recipient-stanza", "0", "sopstest", tag, body=sealed)
            assert read()[0] == "ok"
    write("done")


def identity_v1(mode: str) -> None:
    identities: list[bytes] = []
    stanzas: list[tuple[list[str], bytes]] = []
    while True:
        kind, args, body = read()
        if kind == "add-identity":
            identities.append(bech32_data(args[0]))
        elif kind == "recipient-stanza":
            stanzas.append((args, body))
        elif kind == "done":
            break
    if interact(mode) and mode != "nokey":
        for data in identities:
            key, tag = secret_key(data)
            for args, body in stanzas:
                if args[1:] == ["sopstest", tag]:
                    try:
                        file_key = ChaCha20Poly1305(key).decrypt(bytes(12), body, None)
                    except Exception:  # noqa: BLE001 - not this key
                        continue
                    write("file-key", "0", body=file_key)
                    assert read()[0] == "ok"
                    write("done")
                    return
    write("done")


def main() -> None:
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))  # the client's way of saying goodbye
    mode = os.environ.get("SOPSTEST_MODE", "")
    log(f"argv {' '.join(sys.argv[1:])} cwd {os.getcwd()}")
    if mode == "crash":
        sys.exit(1)
    if sys.argv[1:] == ["--age-plugin=recipient-v1"]:
        recipient_v1(mode)
    elif sys.argv[1:] == ["--age-plugin=identity-v1"]:
        identity_v1(mode)
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
