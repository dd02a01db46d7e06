"""The ``Store`` protocol, apart from ``sops_py.stores`` so that loading a store never imports typing."""

from __future__ import annotations

from typing import Any, Protocol

from ..metadata import Metadata
from ..tree import Branch


class Store(Protocol):
    name: str

    def load_plain(self, data: bytes) -> list[Branch]: ...
    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]: ...
    def emit_plain(self, branches: list[Branch]) -> bytes: ...
    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes: ...
    def emit_value(self, value: Any) -> bytes: ...
