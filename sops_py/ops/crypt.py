"""Encrypt and decrypt whole documents: bytes in, bytes out."""

from __future__ import annotations

import os

from ..cipher import Cipher, CipherError
from ..datakey import new_data_key, recover, wrap_groups, wrap_text
from ..errors import (
    CouldNotReadInputFile,
    ErrorDumpingTree,
    ErrorEncryptingMac,
    ErrorEncryptingTree,
    FileAlreadyEncrypted,
    MacMismatch,
    NeedAtLeastOneDocument,
    SopsError,
)
from ..metadata import CRYPT_RULES, DEFAULT_UNENCRYPTED_SUFFIX, KeyEntry, Metadata
from ..record import Record
from ..rules import Rule
from ..stores import has_sops_key
from ..tree import Branch
from ..treepath import truncate
from ..version import SOPS_FORMAT_VERSION
from ..walk import decrypt_tree, encrypt_tree
from .reuse import identical as identical  # re-exported: diff and the merge driver compare trees with it

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Callable, Sequence
    from typing import Any

    from ..datakey import KeyRing
    from ..stores import Store
    from .reuse import Previous


def _already_encrypted_message() -> str:
    return wrap_text(
        "The file you have provided contains a top-level entry called 'sops', or for flat file formats "
        "top-level entries starting with 'sops_'. This is generally due to the file already being encrypted. "
        "SOPS uses a top-level entry called 'sops' to store the metadata required to decrypt the file. For "
        "this reason, SOPS can not encrypt files that already contain such an entry.\n\n"
        "If this is an unencrypted file, rename the 'sops' entry.\n\n"
        "If this is an encrypted file and you want to edit it, use the editor mode, for example: "
        "`sops edit my_file.yaml`", 75)  # sops 3.13's text (3.11 suggests `sops my_file.yaml`)


ALREADY_ENCRYPTED = _already_encrypted_message()


_LASTMODIFIED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> _dt.datetime:
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc)


def format_lastmodified(now: _dt.datetime | None = None) -> str:
    """``now`` (the current time when None) in UTC as sops writes lastmodified."""
    if now is None:
        import time  # builtin: datetime would cost ~1 ms to import for the same text

        return time.strftime(_LASTMODIFIED_FORMAT, time.gmtime())
    import datetime as _dt

    return now.astimezone(_dt.timezone.utc).strftime(_LASTMODIFIED_FORMAT)


class EncryptSettings(Record):
    """What to encrypt for: key groups, Shamir threshold and the crypt rule."""

    __slots__ = __match_args__ = ("key_groups", "shamir_threshold", "rules", "mac_only_encrypted", "binary")

    def __init__(self, key_groups: list[list[KeyEntry]], shamir_threshold: int = 0,
                 rules: dict[str, str] | None = None, mac_only_encrypted: bool = False,
                 binary: bool = False) -> None:
        self.key_groups = key_groups
        self.shamir_threshold = shamir_threshold
        self.rules: dict[str, str] = {} if rules is None else rules
        self.mac_only_encrypted = mac_only_encrypted
        self.binary = binary  # the binary store ignores every rule and writes no default suffix


def new_metadata(settings: EncryptSettings) -> Metadata:
    md = Metadata(key_groups=[[KeyEntry(k.type, dict(k.fields)) for k in g] for g in settings.key_groups],
                  shamir_threshold=settings.shamir_threshold, version=SOPS_FORMAT_VERSION)
    if not settings.binary:
        for name in CRYPT_RULES:
            setattr(md, name, settings.rules.get(name, ""))
        if not any(settings.rules.get(n) for n in CRYPT_RULES):
            md.unencrypted_suffix = DEFAULT_UNENCRYPTED_SUFFIX
        md.mac_only_encrypted = settings.mac_only_encrypted
    return md


def seal(branches: list[Branch], md: Metadata, cipher: Cipher, now: _dt.datetime | None = None) -> None:
    """Encrypt the tree in place and set lastmodified and the encrypted MAC."""
    mac = encrypt_tree(branches, cipher, Rule.of(md), md.mac_only_encrypted)
    md.lastmodified = format_lastmodified(now)
    try:
        md.mac = cipher.encrypt(mac, md.lastmodified)
    except SopsError as e:
        raise ErrorEncryptingMac(f"Could not encrypt MAC: {e}") from None


def plaintext_documents(data: bytes, in_store: Store, out_store: Store) -> list[Branch]:
    """The documents of a plaintext file to encrypt, refused as sops refuses them: unparsable, empty,
    or already carrying sops metadata."""
    try:
        branches = in_store.load_plain(data)
    except SopsError as e:
        raise CouldNotReadInputFile(f"Error unmarshalling file: {e}") from None
    if not branches:
        raise NeedAtLeastOneDocument(
            "File cannot be completely empty, it must contain at least one document"
        )
    if has_sops_key(branches, out_store):
        raise FileAlreadyEncrypted(ALREADY_ENCRYPTED)
    return branches


def encrypt_data(data: bytes, in_store: Store, out_store: Store, settings: EncryptSettings, ring: KeyRing,
                 now: _dt.datetime | None = None, rand: Callable[[int], bytes] = os.urandom) -> bytes:
    """Encrypt plaintext file bytes into sops file bytes."""
    branches = plaintext_documents(data, in_store, out_store)
    md = new_metadata(settings)
    key = new_data_key(rand)
    wrap_groups(md, key, ring, rand)
    seal(branches, md, Cipher(key, rand), now)
    return _emit_encrypted(out_store, branches, md)


def reseal(store: Store, branches: list[Branch], md: Metadata, cipher: Cipher,
           now: _dt.datetime | None = None) -> bytes:
    """Re-encrypt an opened tree with its own data key and cipher (unchanged values keep their IVs)."""
    try:
        seal(branches, md, cipher, now)
    except ErrorEncryptingTree as e:
        msg = e.message if e.message.startswith("Error encrypting tree") else f"Error encrypting tree: {e.message}"
        raise ErrorEncryptingTree(msg) from None
    return _emit_encrypted(store, branches, md)


def reseal_changes(store: Store, branches: list[Branch], opened: Opened, now: _dt.datetime | None = None,
                   previous: Sequence[Previous] = ()) -> bytes:
    """Encrypt ``branches`` (a new plaintext tree) with an opened file's data key, metadata and IV
    stash, and recompute the MAC. Every value whose full path (list indices included), type and
    plaintext are those of a value in one of ``previous`` (versions under the same data key, captured
    before they were decrypted) gets that value's exact token back; the stash covers the rest (a
    value moved to another list index). When the whole tree is unchanged, lastmodified is kept too,
    so the result is the original file byte for byte (the MAC's IV is in the stash as well)."""
    from .reuse import Pending

    md = opened.metadata
    unchanged = identical(branches, opened.branches)
    pending = Pending(branches)
    try:
        if unchanged:
            mac = encrypt_tree(branches, opened.cipher, Rule.of(md), md.mac_only_encrypted)
            try:
                md.mac = opened.cipher.encrypt(mac, md.lastmodified_aad())
            except SopsError as e:
                raise ErrorEncryptingMac(f"Could not encrypt MAC: {e}") from None
        else:
            seal(branches, md, opened.cipher, now)
    except ErrorEncryptingTree as e:
        msg = e.message if e.message.startswith("Error encrypting tree") else f"Error encrypting tree: {e.message}"
        raise ErrorEncryptingTree(msg) from None
    pending.keep(previous)
    return _emit_encrypted(store, branches, md)


def reuse_encrypt(data: bytes, in_store: Store, out_store: Store, previous: bytes, previous_store: Store,
                  ring: KeyRing, order: list[str] | None = None, now: _dt.datetime | None = None) -> bytes:
    """Encrypt plaintext file bytes with the data key and metadata of ``previous`` (a sops file),
    keeping the ciphertext of every value that did not change (minimal-churn re-encryption, a sops-py
    extension). ``previous`` must decrypt with a valid MAC: a tampered file lends nothing."""
    branches = plaintext_documents(data, in_store, out_store)
    from .reuse import Previous

    old, md = load_encrypted(previous, previous_store)
    before = Previous(old)
    opened = open_tree(old, md, ring, order, ignore_mac=False)
    return reseal_changes(out_store, branches, opened, now, [before.decrypted()])


def _emit_encrypted(store: Store, branches: list[Branch], md: Metadata) -> bytes:
    try:
        return store.emit_encrypted(branches, md)
    except ErrorDumpingTree as e:
        raise ErrorDumpingTree(f"Could not marshal tree: {e}") from None


class Opened:
    """A decrypted document: its tree, metadata, data key and the cipher holding the IV stash."""

    __slots__ = ("branches", "cipher", "data_key", "metadata")

    def __init__(self, branches: list[Branch], metadata: Metadata, data_key: bytes, cipher: Cipher) -> None:
        self.branches = branches
        self.metadata = metadata
        self.data_key = data_key
        self.cipher = cipher

    def __repr__(self) -> str:  # never the data key or the plaintext: a repr ends up in logs and tracebacks
        return f"Opened(metadata={self.metadata!r})"


def load_encrypted(data: bytes, store: Store) -> tuple[list[Branch], Metadata]:
    """Load an encrypted file; its version must parse as semver (sops' KMS-context bug check).

    sops returns a store's load error unwrapped, so it exits 1 whatever the error (the plain-file loaders
    raise CouldNotReadInputFile, exit 2, because encrypt wraps their errors with that code)."""
    from ..semver import check_file_version

    try:
        branches, md = store.load_encrypted(data)
    except SopsError as e:
        if e.exit_code == SopsError.exit_code:
            raise
        raise SopsError(e.message) from None
    check_file_version(md.version)
    return branches, md


def open_tree(branches: list[Branch], md: Metadata, ring: KeyRing, order: list[str] | None,
              ignore_mac: bool, keep_ivs: bool = True) -> Opened:
    """Recover the data key, decrypt the tree in place and check the MAC. ``keep_ivs``: the cipher
    remembers IVs for re-encrypting unchanged values (not needed when only the plaintext is wanted)."""
    key = recover(md, ring, order)
    cipher = Cipher(key, keep_ivs=keep_ivs)
    open_with(branches, md, cipher, ignore_mac)
    return Opened(branches, md, key, cipher)


def open_with(branches: list[Branch], md: Metadata, cipher: Cipher, ignore_mac: bool) -> None:
    """Decrypt the tree in place with a cipher already holding its data key, and check the MAC.

    The cipher's IV stash learns every value's IV, so a cipher shared by two files under the same data
    key (the merge driver's two sides) can re-encrypt a value from either one to its exact ciphertext."""
    computed = decrypt_tree(branches, cipher, Rule.of(md), md.mac_only_encrypted)
    if not ignore_mac:
        try:
            file_mac = cipher.decrypt(md.mac, md.lastmodified_aad())
        except CipherError as e:
            raise MacMismatch(f"Cannot decrypt MAC: {e}") from None
        if file_mac != computed:
            shown = file_mac if file_mac else "no MAC"
            raise MacMismatch(f"MAC mismatch. File has {shown}, computed {computed}")


def decrypt_data(data: bytes, in_store: Store, out_store: Store, ring: KeyRing,
                 order: list[str] | None = None, ignore_mac: bool = False,
                 extract: list[str | int] | None = None) -> bytes:
    """Decrypt sops file bytes to plaintext bytes (or the --extract'ed value)."""
    branches, md = load_encrypted(data, in_store)
    opened = open_tree(branches, md, ring, order, ignore_mac, keep_ivs=False)
    if extract:
        return extract_value(opened.branches, extract, out_store)
    return emit_plain(out_store, opened.branches)


def emit_plain(store: Store, branches: list[Branch]) -> bytes:
    """Emit plaintext; the binary store's error already carries sops' --output-type hint."""
    try:
        return store.emit_plain(branches)
    except ErrorDumpingTree as e:
        raise ErrorDumpingTree(f"Error dumping file: {e}") from None


def extract_value(branches: list[Branch], path: list[str | int], store: Store) -> bytes:
    value: Any = truncate(branches[0], path)
    if isinstance(value, Branch):
        return emit_plain(store, [value])
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        return value
    try:
        return store.emit_value(value)
    except ErrorDumpingTree as e:
        raise ErrorDumpingTree(f"Error dumping tree: {e}") from None
