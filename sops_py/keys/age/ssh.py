"""SSH identities: plain and passphrase-protected ed25519/RSA private keys, as sops' ssh_parse.go loads them."""

from __future__ import annotations

from ...gotext import go_quote
from .base import _Identity, _payload, _pyrage_match, _rage
from .encoding import _GoError, _path_error, _utf8
from .format import _Header
from .sshkeys import (
    _go_key_type,
    _openssh_public_blob,
    _parse_authorized_key,
    _parse_ssh_public_blob,
    _pem_block,
    _public_blob_of,
    _ssh_tag,
    _to_openssh_pem,
)
from .x25519 import _check_x25519_stanzas

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

    from .base import Prompt


class _SSH(_Identity):
    def __init__(self, ident: Any, algo: str, blob: bytes) -> None:
        self._id = ident
        self.algo = algo
        self.tag = _ssh_tag(blob)

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        res = _pyrage_match(self._id, hdr, data)
        if res == "badmac":
            raise _GoError("bad header MAC")
        if res == "match":
            return _payload(self._id, hdr, data, armor_err)
        self._check(hdr)
        if res != "nomatch":
            raise _GoError(res)  # rage refused a header Go's age would have read
        return None

    def _check(self, hdr: _Header) -> None:
        for s in hdr.stanzas:  # agessh checks the block, then the tag, then the crypto
            if s.type != self.algo:
                continue
            if self.algo == "ssh-ed25519":
                _check_x25519_stanzas(_Header([s], 0), "ssh-ed25519", 2, "ssh-ed25519")
            elif len(s.args) != 1:
                raise _GoError("invalid ssh-rsa recipient block")
            if s.args[0] == self.tag:
                if self.algo == "ssh-ed25519":
                    raise _GoError("failed to decrypt file key: chacha20poly1305: message authentication failed")
                raise _GoError("failed to decrypt file key: crypto/rsa: decryption error")


class _EncryptedSSH(_Identity):
    """A passphrase-protected SSH key: asks for the passphrase only if a stanza names this key."""

    def __init__(self, path: str, contents: bytes, algo: str, blob: bytes, prompt: Prompt) -> None:
        self.path = path
        self._contents = contents
        self.algo = algo
        self.blob = blob
        self.tag = _ssh_tag(blob)
        self._prompt = prompt
        self._decrypted: _SSH | None = None

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        if self._decrypted is not None:
            return self._decrypted.unwrap(hdr, data, armor_err)
        match = False
        for s in hdr.stanzas:
            if s.type != self.algo:
                continue
            if len(s.args) < 1:
                raise _GoError(f"invalid {self.algo} recipient block")
            if s.args[0] == self.tag:
                match = True
                break
        if not match:
            return None
        try:
            passphrase = self._prompt(f"Enter passphrase for {go_quote(self.path)}:")
        except _GoError as e:
            raise _GoError(f"failed to obtain passphrase: could not read passphrase for "
                           f"{go_quote(self.path)}: {e}") from None
        from cryptography.hazmat.primitives import serialization

        try:
            if b"OPENSSH PRIVATE KEY" in self._contents:
                key: Any = serialization.load_ssh_private_key(self._contents, _utf8(passphrase))
            else:
                key = serialization.load_pem_private_key(self._contents, _utf8(passphrase))
        except Exception as e:  # noqa: BLE001 - cryptography's errors vary by format
            if type(e).__name__ == "UnsupportedAlgorithm" and "bcrypt" in str(e):
                # OpenSSH's own format derives the key with bcrypt, which cryptography leaves optional
                raise _GoError("failed to decrypt SSH key file: bcrypt is not installed: run pip install "
                               "'sops-py[ssh]'") from None
            raise _GoError(f"failed to decrypt SSH key file: {e}") from None
        if _public_blob_of(key) != self.blob:
            raise _GoError("mismatched private and public SSH key")
        try:
            ident = _rage().ssh.Identity.from_buffer(_to_openssh_pem(key))
        except Exception as e:  # noqa: BLE001
            raise _GoError(f"invalid SSH key: {e}") from None
        self._decrypted = _SSH(ident, self.algo, self.blob)
        return self._decrypted.unwrap(hdr, data, armor_err)


def _ssh_identity_from_file(path: str, prompt: Prompt) -> _Identity:
    """sops' parseSSHIdentityFromPrivateKeyFile."""
    try:
        with open(path, "rb") as f:
            contents = f.read()
    except IsADirectoryError as e:
        raise _GoError(f"failed to read file: {_path_error('read', path, e)}") from None
    except OSError as e:
        raise _GoError(f"failed to open file: {_path_error('open', path, e)}") from None
    try:
        return _ssh_identity(path, contents, prompt)
    except _EncryptedSSHError:
        raise
    except _GoError as e:
        raise _GoError(f"malformed SSH identity in {go_quote(path)}: {e}") from None


class _PassphraseMissing(Exception):
    def __init__(self, blob: bytes | None) -> None:
        super().__init__("ssh: this private key is passphrase protected")
        self.blob = blob


def _ssh_identity(path: str, contents: bytes, prompt: Prompt) -> _Identity:
    try:
        return _plain_ssh_identity(contents)
    except _PassphraseMissing as pm:
        blob = pm.blob if pm.blob is not None else _read_public_key_file(path)
    try:
        algo = _parse_ssh_public_blob(blob)
        if algo not in ("ssh-ed25519", "ssh-rsa"):
            raise _GoError(f"unsupported SSH key type: {algo}")
    except _GoError as e:
        raise _EncryptedSSHError(f"could not create encrypted SSH identity: {e}") from None
    return _EncryptedSSH(path, contents, algo, blob, prompt)


class _EncryptedSSHError(_GoError):
    """Not a "malformed SSH identity" error: sops returns it as is."""


def _read_public_key_file(private_path: str) -> bytes:
    pub = private_path + ".pub"
    try:
        with open(pub, "rb") as f:
            text = f.read()
    except OSError as e:
        raise _EncryptedSSHError(f"failed to obtain public {go_quote(pub)} key for {go_quote(private_path)} "
                                 f"SSH key: {_path_error('open', pub, e)}") from None
    try:
        _, blob = _parse_authorized_key(text.decode("utf-8", "surrogateescape"))
    except _GoError as e:
        raise _EncryptedSSHError(f"failed to parse {go_quote(pub)}: {e}") from None
    return blob


def _plain_ssh_identity(contents: bytes) -> _Identity:
    """agessh.ParseIdentity (x/crypto/ssh ParseRawPrivateKey), or _PassphraseMissing."""
    from cryptography.hazmat.primitives import serialization

    block = _pem_block(contents)
    if block is None:
        raise _GoError("ssh: no key found")
    pem_type, headers, body = block
    if "ENCRYPTED" in headers.get("Proc-Type", ""):
        raise _PassphraseMissing(None)
    if pem_type == "OPENSSH PRIVATE KEY":
        cipher, blob = _openssh_public_blob(body)
        if cipher != "none":
            raise _PassphraseMissing(blob)
        algo = _parse_ssh_public_blob(blob)
        if algo not in ("ssh-ed25519", "ssh-rsa"):
            go_types = {"ssh-dss": "*dsa.PrivateKey", "ecdsa-sha2-nistp256": "*ecdsa.PrivateKey",
                        "ecdsa-sha2-nistp384": "*ecdsa.PrivateKey", "ecdsa-sha2-nistp521": "*ecdsa.PrivateKey"}
            if algo not in go_types:
                raise _GoError("ssh: unhandled key type")
            raise _GoError(f"unsupported SSH identity type: {go_types[algo]}")
        try:
            return _SSH(_rage().ssh.Identity.from_buffer(contents), algo, blob)
        except Exception as e:  # noqa: BLE001
            raise _GoError(str(e)) from None
    if pem_type not in ("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"):
        raise _GoError(f"ssh: unsupported key type {go_quote(pem_type)}")
    try:
        key: Any = serialization.load_pem_private_key(contents, None)
    except Exception as e:  # noqa: BLE001 - x509 parse errors; the wording is cryptography's
        raise _GoError(str(e)) from None
    go_type = _go_key_type(key)
    if go_type not in ("*rsa.PrivateKey", "ed25519.PrivateKey"):
        raise _GoError(f"unsupported SSH identity type: {go_type}")
    blob = _public_blob_of(key)
    algo = "ssh-rsa" if go_type == "*rsa.PrivateKey" else "ssh-ed25519"
    try:
        return _SSH(_rage().ssh.Identity.from_buffer(_to_openssh_pem(key)), algo, blob)
    except Exception as e:  # noqa: BLE001
        raise _GoError(str(e)) from None
