"""One tree walk for encrypt and decrypt: crypt rule + cipher + MAC accumulation, in place.

Mirrors sops' walkBranch/walkSlice: AAD is the mapping keys joined by ':' plus ':' (list indices
left out), comments use their container's path, nulls are skipped, and the MAC hashes every
non-comment leaf (only encrypted ones under mac_only_encrypted).
"""

from __future__ import annotations

from . import log
from .cipher import CipherError, to_bytes
from .crypto import sha512
from .errors import ErrorDecryptingTree, ErrorEncryptingTree
from .gotext import go_type
from .tree import Branch, Comment, RecursionRoom, Time, TooDeep

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

    from .cipher import Cipher
    from .rules import Rule

# sha256("sops"): prefixes the MAC when mac_only_encrypted is set, as in sops
MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex("8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69")
_LEAF_TYPES = (str, bool, int, float, bytes, Time)
_ENCRYPT_ERROR = "Error encrypting tree: Error walking tree: "  # sops' EncryptTree + Tree.Encrypt prefixes


class GoUint64(int):
    """An integer YAML resolves to Go's uint64 (beyond int64): sops cannot walk it."""


class _Walker:
    def __init__(self, cipher: Cipher, rule: Rule, mac_only_encrypted: bool, decrypt: bool) -> None:
        self.cipher = cipher
        self.rule = rule
        self.decrypt = decrypt
        self.mac_only = mac_only_encrypted
        # the MAC input, hashed in one go at the end (appending is cheaper per leaf than hash.update)
        self.mac_parts: list[bytes] = [MAC_ONLY_ENCRYPTED_INIT] if mac_only_encrypted else []
        self.comments = rule.uses_comments
        # suffix and key-regex rules decide from the path alone: whether a match means "encrypt"
        self.encrypt_on_match = rule.name in ("encrypted_suffix", "encrypted_regex")
        self.suffix = rule.value if rule.name.endswith("suffix") else None  # tested inline per key

    def leaf(self, value: Any, prefix: str, matched: bool, stack: list[list[str]] | None) -> Any:
        is_comment = value.__class__ is Comment
        if type(value) is GoUint64:
            raise ErrorEncryptingTree(f"{_ENCRYPT_ERROR}Cannot walk value, unknown type: uint64")
        if self.comments:
            encrypted = self.rule.encrypted(matched, stack, is_comment)
        else:
            encrypted = matched is self.encrypt_on_match
        aad = prefix or ":"  # the keys joined by ":" plus ":" (a top-level comment: ":")
        if value.__class__ is str:
            return self.str_leaf(value, aad, encrypted)
        if self.decrypt:
            if not encrypted:
                result = value
            elif is_comment:
                if not value.value:
                    return ""  # as sops' cipher: in a list, an empty comment becomes an empty string
                try:
                    result = self.cipher.decrypt(value.value, aad)
                except CipherError:
                    # sops keeps a comment it cannot decrypt: files from old versions had clear comments
                    log.warning("Found possibly unencrypted comment in file. This is to be expected if "
                                "the file being decrypted was created with an older version of SOPS.",
                                name="SOPS", fields={"comment": value.value})
                    result = value
            elif isinstance(value, str):  # a str subclass
                return self.str_leaf(value, aad, encrypted)
            else:
                raise ErrorDecryptingTree(
                    "Error decrypting tree: Error walking tree: Expected encrypted value as string, "
                    f"but got {go_type(value)}"
                )
            if (encrypted or not self.mac_only) and result.__class__ is not Comment:
                self.mac_parts.append(to_bytes(result))
            return result
        plain = None
        if (encrypted or not self.mac_only) and not is_comment:
            plain = to_bytes(value)
            self.mac_parts.append(plain)
        if not encrypted:
            return value
        out = self.cipher.encrypt(value, aad, plain)
        if is_comment and isinstance(out, str) and self.rule.rejects_encrypted_comment(out):
            raise ErrorEncryptingTree(
                f'{_ENCRYPT_ERROR}Encrypted comment "{out}" matches UnencryptedCommentRegex! Make sure that '
                "UnencryptedCommentRegex cannot match an encrypted comment."
            )
        return out

    def str_leaf(self, value: str, aad: str, encrypted: bool) -> Any:
        """A string leaf (nearly every leaf): the lean path of ``leaf``."""
        mac = encrypted or not self.mac_only
        if self.decrypt:
            if not encrypted:
                result: Any = value
            else:
                try:
                    result = self.cipher.decrypt(value, aad)
                except CipherError as e:
                    raise _value_error(e) from None
            if mac and result.__class__ is not Comment:  # a list's comment is stored as an ENC string
                self.mac_parts.append(
                    result.encode("utf-8", "surrogateescape") if result.__class__ is str else to_bytes(result))
            return result
        plain = value.encode("utf-8", "surrogateescape")
        if mac:
            self.mac_parts.append(plain)
        return self.cipher.encrypt(value, aad, plain) if encrypted else value

    def value(self, value: Any, prefix: str, matched: bool, stack: list[list[str]] | None) -> Any:
        if value.__class__ is str:  # most leaves
            return self.leaf(value, prefix, matched, stack)
        if isinstance(value, Branch):
            self.branch(value, prefix, matched, stack)
            return value
        if isinstance(value, list):
            self.seq(value, prefix, matched, stack)
            return value
        if value is None:
            return None
        if isinstance(value, (_LEAF_TYPES, Comment)):
            return self.leaf(value, prefix, matched, stack)
        raise ErrorEncryptingTree(f"{_ENCRYPT_ERROR}Cannot walk value, unknown type: {type(value).__name__}")

    def seq(self, seq: list[Any], prefix: str, matched: bool, stack: list[list[str]] | None) -> None:
        if stack is not None:
            stack = stack + [[]]
        for i, v in enumerate(seq):
            is_comment = isinstance(v, Comment)
            if is_comment and stack is not None:
                stack[-1].append(v.value)
            if v is not None:
                # sops stores what the cipher returns: an encrypted (or empty) comment becomes a string item
                seq[i] = self.value(v, prefix, matched, stack)
            if not is_comment and stack is not None:
                stack[-1] = []

    def branch(self, br: Branch, prefix: str, matched: bool, stack: list[list[str]] | None) -> None:
        if stack is not None:
            stack = stack + [[]]
        rule = self.rule
        # without comment rules, a big mapping's runs of string values go to the cipher in one call
        runs = stack is None and len(br) >= _RUN_BRANCH
        decrypt = self.decrypt
        pending = _Run()
        at, texts, aads, slots = pending.at, pending.texts, pending.aads, pending.slots
        mac_parts = self.mac_parts
        mac_append = mac_parts.append
        mac_all = not self.mac_only
        on_match = self.encrypt_on_match
        suffix = self.suffix
        for i, (k, v) in enumerate(br):
            if k.__class__ is not str:
                if isinstance(k, Comment):
                    if at:
                        self._flush(br, pending)  # the cipher draws IVs in walk order
                    if stack is not None:
                        stack[-1].append(k.value)
                    out = self.leaf(k, prefix, matched, stack)
                    br[i] = (out if isinstance(out, Comment) else Comment(out, k.inline), None)
                    continue
                if not isinstance(k, str):
                    if at:
                        self._flush(br, pending)  # an earlier value's error comes first
                    raise ErrorEncryptingTree(
                        f"{_ENCRYPT_ERROR}Tree contains a non-string key "
                        f"(type {go_type(k)}): {k}. Only string keys are supported"
                    )
            if v is None:
                if stack is not None:
                    stack[-1] = []
                continue
            if matched:
                child_matched = True
            elif suffix is not None:
                child_matched = k.endswith(suffix)
            else:
                child_matched = rule.component_matches(k)
            if v.__class__ is str:  # most values: straight to the leaf
                if runs:
                    if child_matched is not on_match:  # left in clear
                        if mac_all:
                            mac_append(v.encode("utf-8", "surrogateescape"))
                    elif not v:  # an empty string stays empty
                        mac_append(b"")
                    elif decrypt:
                        at.append(i)
                        texts.append(v)
                        aads.append(prefix + k + ":")
                        slots.append(len(mac_parts))
                        mac_append(b"")  # the plaintext's MAC part, filled in by _flush
                    else:
                        plain = v.encode("utf-8", "surrogateescape")
                        mac_append(plain)
                        at.append(i)
                        texts.append(plain)
                        aads.append(prefix + k + ":")
                    continue
                if stack is None:
                    new = self.str_leaf(v, prefix + k + ":", child_matched is on_match)
                else:
                    new = self.leaf(v, prefix + k + ":", child_matched, stack)
            else:
                if at:
                    self._flush(br, pending)
                new = self.value(v, prefix + k + ":", child_matched, stack)
            if new is not v:
                br[i] = (k, new)
            if stack is not None:
                stack[-1] = []
        if at:
            self._flush(br, pending)

    def _flush(self, br: Branch, run: _Run) -> None:
        """Encrypt or decrypt a run of pending string values and put the results in place."""
        if self.decrypt:
            try:
                values, macs = self.cipher.decrypt_strs(run.texts, run.aads)
            except CipherError as e:
                raise _value_error(e) from None
            mac_parts = self.mac_parts
            for i, value, slot, mac in zip(run.at, values, run.slots, macs, strict=True):
                br[i] = (br[i][0], value)
                mac_parts[slot] = mac
        else:
            for i, token in zip(run.at, self.cipher.encrypt_strs(run.texts, run.aads), strict=True):
                br[i] = (br[i][0], token)
        run.clear()


# mappings with fewer entries go value by value: a run's set-up costs more than it saves there
# (a YAML list of small maps decrypts ~10% slower in runs)
_RUN_BRANCH = 16


class _Run:
    """A mapping's string values waiting for the cipher: their indexes, texts (tokens to decrypt or
    plaintext bytes to encrypt), AADs and, when decrypting, the slots of their MAC parts."""

    __slots__ = ("aads", "at", "slots", "texts")

    def __init__(self) -> None:
        self.at: list[int] = []
        self.texts: list[Any] = []
        self.aads: list[str] = []
        self.slots: list[int] = []

    def clear(self) -> None:
        for part in (self.at, self.texts, self.aads, self.slots):
            part.clear()


def _value_error(e: CipherError) -> ErrorDecryptingTree:
    return ErrorDecryptingTree(f"Error decrypting tree: Error walking tree: Could not decrypt value: {e}")


def _run(branches: list[Branch], cipher: Cipher, rule: Rule, mac_only: bool, decrypt: bool) -> str:
    w = _Walker(cipher, rule, mac_only, decrypt)
    stack: list[list[str]] | None = [] if w.comments else None
    # the walk recurses in pure Python (two frames a level): deep trees need only the room
    with RecursionRoom():
        try:
            for br in branches:
                w.branch(br, "", False, stack)
        except RecursionError:
            raise TooDeep() from None
    return _sha512_hex(w.mac_parts).upper()


def _sha512_hex(parts: list[bytes]) -> str:
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    if len(data) >= 1 << 20:
        try:
            # OpenSSL's SHA-512 is twice as fast on big inputs (a binary file) but costs ~2 ms to load
            from _hashlib import openssl_sha512

            return str(openssl_sha512(data).hexdigest())
        except ImportError:  # a Python built without OpenSSL's hashlib
            pass
    return str(sha512(data).hexdigest())


def encrypt_tree(branches: list[Branch], cipher: Cipher, rule: Rule, mac_only_encrypted: bool) -> str:
    """Encrypt every value the rule selects, in place; return the MAC (uppercase hex)."""
    return _run(branches, cipher, rule, mac_only_encrypted, decrypt=False)


def decrypt_tree(branches: list[Branch], cipher: Cipher, rule: Rule, mac_only_encrypted: bool) -> str:
    """Decrypt every value the rule selects, in place; return the MAC computed over the plaintext."""
    log.debug("Decrypting tree", name="SOPS")
    return _run(branches, cipher, rule, mac_only_encrypted, decrypt=True)
