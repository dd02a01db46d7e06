"""Recognising and opening sops files for the git integrations, which get bytes under names that may
not tell the format (git's merge driver gets temp files without an extension) and must treat a
plaintext file as plaintext rather than fail."""

from __future__ import annotations

from ..errors import SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from ..keychain import Keys
    from ..metadata import Metadata
    from ..ops.crypt import Opened
    from ..stores import Store
    from ..tree import Branch


class Loaded:
    """An encrypted file as loaded, before any key is used: its store, tree and metadata."""

    __slots__ = ("branches", "metadata", "store")

    def __init__(self, store: Store, branches: list[Branch], metadata: Metadata) -> None:
        self.store = store
        self.branches = branches
        self.metadata = metadata


def load_sops(data: bytes, name: str) -> Loaded | None:
    """``data`` as a sops file named ``name``, or None when it is not one.

    The store comes from the name as sops picks it; when that store finds no sops metadata, the other
    text formats are tried, so a file whose name does not match its content is still recognised."""
    from ..ops.crypt import load_encrypted
    from ..stores import format_for_path, get_store

    first = format_for_path(name)
    for fmt in dict.fromkeys([first, "yaml", "json", "dotenv", "ini"]):
        if not _may_hold(data, fmt):
            continue
        store = get_store(fmt)
        try:
            branches, md = load_encrypted(data, store)
        except SopsError:
            continue
        return Loaded(store, branches, md)
    return None


def _may_hold(data: bytes, fmt: str) -> bool:
    """A cheap test before a full parse: each format's metadata has a recognisable marker."""
    if fmt in ("dotenv",):
        return b"sops_mac=" in data or b"sops_version=" in data
    if fmt == "ini":
        return b"[sops]" in data
    return b"sops" in data


# The bytes Flux's decryptor takes as "this file holds sops metadata", per format (a MAC token where
# the format writes it; INI: the section).
MARKERS = {"yaml": b"mac: ENC[", "json": b'"mac": "ENC[', "binary": b'"mac": "ENC[', "dotenv": b"sops_mac=ENC[",
           "ini": b"[sops]"}


def sniff_format(data: bytes) -> str:
    """The text format whose sops metadata ``data`` carries, or "binary" (sops' default for a name that
    tells nothing): for a file encrypted with --input-type under such a name."""
    for fmt in ("yaml", "dotenv", "ini"):
        if MARKERS[fmt] in data and (fmt != "yaml" or data.startswith(b"sops:") or b"\nsops:" in data):
            return fmt
    return "binary"


def open_loaded(loaded: Loaded, keys: Keys | None = None, keep_ivs: bool = True) -> Opened:
    """Recover the data key and decrypt the tree in place (MAC checked)."""
    from ..keychain import Keys as KeysClass
    from ..ops.crypt import open_tree

    k = KeysClass() if keys is None else keys
    return open_tree(loaded.branches, loaded.metadata, k.ring(), k.decryption_order, False, keep_ivs)


def key_identities(md: Metadata) -> list[tuple[int, str, str]]:
    """(group index, key type, identity) of every master key: who can decrypt, as metadata says."""
    return [(i, entry.type, entry.identity()) for i, group in enumerate(md.key_groups) for entry in group]
