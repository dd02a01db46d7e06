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

import importlib
from typing import Any, Protocol

from ..errors import MetadataNotFound, SopsError
from ..metadata import Metadata
from ..metadata import load as load_metadata
from ..tree import Branch

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
_MODULES = {
    "yaml": "sops_py.stores.yaml_store",
    "json": "sops_py.stores.json_store",
    "binary": "sops_py.stores.json_store",
    "dotenv": "sops_py.stores.dotenv_store",
    "ini": "sops_py.stores.ini_store",
}
_CLASSES = {"yaml": "YAMLStore", "json": "JSONStore", "binary": "BinaryStore",
            "dotenv": "DotenvStore", "ini": "INIStore"}


class Store(Protocol):
    name: str

    def load_plain(self, data: bytes) -> list[Branch]: ...
    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]: ...
    def emit_plain(self, branches: list[Branch]) -> bytes: ...
    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes: ...
    def emit_value(self, value: Any) -> bytes: ...


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
    if fmt not in _MODULES:
        raise SopsError(f"unknown store format {fmt!r}")
    module = importlib.import_module(_MODULES[fmt])
    store: Store = getattr(module, _CLASSES[fmt])(indent)
    return store


def split_nested_metadata(branches: list[Branch]) -> tuple[list[Branch], Metadata]:
    """Remove the top-level ``sops`` entries (every document) and load the first one, as sops 3.13's
    ExtractMetadata does for YAML, JSON and binary files."""
    found: Any = None
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
    if found is None:
        raise MetadataNotFound()
    return branches, load_metadata(found)


def has_sops_key(branches: list[Branch], store: Store | None = None) -> bool:
    """Whether the first document already carries metadata, as the (output) store defines it:
    a top-level ``sops`` key, or ``sops_`` keys for dotenv (sops' HasSopsTopLevelKey)."""
    if not branches:
        return False
    check = getattr(store, "has_sops_top_level_key", None)
    if check is not None:
        return bool(check(branches[0]))
    return any(k == "sops" and isinstance(k, str) for k, _ in branches[0])
