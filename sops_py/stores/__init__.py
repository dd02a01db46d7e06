"""Stores turn file bytes into document trees and back. One module per format.

Every store offers:
    load_plain(data: bytes) -> list[Branch]
    load_encrypted(data: bytes) -> tuple[list[Branch], Metadata]
    emit_plain(branches: list[Branch]) -> bytes
    emit_encrypted(branches: list[Branch], md: Metadata) -> bytes
    emit_value(value) -> bytes            (what --extract prints for a non-string leaf or a list)
Stores are imported lazily by ``get_store`` so a command only pays for the format it uses.
"""

from __future__ import annotations

from ..errors import MetadataNotFound, SopsError
from ..metadata import load as load_metadata
from ..tree import Branch

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

    from ..metadata import Metadata
    from ._protocol import Store as Store

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")


def __getattr__(name: str) -> Any:
    # ``Store`` (a typing.Protocol) lives apart so that using a store never imports typing
    if name == "Store":
        from ._protocol import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def format_for_path(path: str) -> str:
    """The store sops picks from a file name: unknown extensions mean binary."""
    if path.endswith((".yaml", ".yml")):
        return "yaml"
    if path.endswith(".json"):
        return "json"
    if path.endswith(".env"):
        return "dotenv"
    if path.endswith(".ini"):
        return "ini"
    return "binary"


def get_store(fmt: str, indent: int | None = None) -> Store:
    """A store instance for a format name. ``indent`` is the store's configured indent (None: default)."""
    # plain imports (importlib costs ~1 ms at start-up); each format's module is loaded only when used
    if fmt == "yaml":
        from .yaml_store import YAMLStore

        return YAMLStore(indent)
    if fmt == "json":
        from .json_store import JSONStore

        return JSONStore(indent)
    if fmt == "binary":
        from .json_store import BinaryStore

        return BinaryStore(indent)
    if fmt == "dotenv":
        from .dotenv_store import DotenvStore

        return DotenvStore(indent)
    if fmt == "ini":
        from .ini_store import INIStore

        return INIStore(indent)
    raise SopsError(f"unknown store format {fmt!r}")


def split_nested_metadata(branches: list[Branch], store: str = "") -> tuple[list[Branch], Metadata]:
    """Remove the top-level ``sops`` entries (every document) and load the first one, as sops 3.13's
    ExtractMetadata does for YAML, JSON and binary files (``store``: see ``metadata.check_typed``)."""
    found = take_sops_section(branches)
    if found is None:
        raise MetadataNotFound()
    return branches, load_metadata(found, store)


def take_sops_section(branches: list[Branch]) -> Branch | None:
    """Remove the top-level ``sops`` entries of every document, in place, and return the first
    document's (None when it has none). More than one there, or one that is not a mapping, is an
    error, as in sops."""
    found: Branch | None = None
    seen = False
    for bi, branch in enumerate(branches):
        kept = Branch()
        for k, v in branch:
            if k == "sops" and isinstance(k, str):
                if bi == 0:
                    if seen:
                        raise SopsError("Found duplicate sops entry")
                    seen = True
                    if not isinstance(v, Branch):
                        raise SopsError("Found sops entry that is not a mapping")
                    found = v
                continue
            kept.append((k, v))
        branches[bi] = kept
    return found


def has_sops_key(branches: list[Branch], store: Store | None = None) -> bool:
    """Whether the first document already carries metadata, as the (output) store defines it:
    a top-level ``sops`` key, or ``sops_`` keys for dotenv (sops' HasSopsTopLevelKey)."""
    if not branches:
        return False
    check = getattr(store, "has_sops_top_level_key", None)
    if check is not None:
        return bool(check(branches[0]))
    return any(k == "sops" and isinstance(k, str) for k, _ in branches[0])
