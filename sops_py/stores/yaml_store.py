"""The YAML store: sops' layout (metadata as a top-level ``sops`` key in every document)."""

from __future__ import annotations

from ..errors import ErrorDumpingTree
from ..metadata import Metadata, to_branch
from ..tree import Branch, call_deep
from . import split_nested_metadata
from .yaml_emit import emit_documents, emit_value
from .yaml_lines import load_yaml

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

INDENT_DEFAULT = 4


class YAMLStore:
    name = "yaml"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent

    def _indent(self) -> int:
        if self.indent is None or self.indent == 0:
            return INDENT_DEFAULT
        if self.indent < 0:
            raise ErrorDumpingTree("YAML Negative indentation not accepted")
        return self.indent

    def load_plain(self, data: bytes) -> list[Branch]:
        return load_yaml(data)

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        return split_nested_metadata(load_yaml(data), "yaml")

    def emit_plain(self, branches: list[Branch]) -> bytes:
        # call_deep: a tree nesting deeper than Python's recursion limit is emitted on a big stack
        text: str = call_deep(emit_documents, branches, self._indent())
        return text.encode("utf-8", "surrogateescape")

    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes:
        meta = to_branch(md)
        out = [Branch([*br, ("sops", meta)]) for br in branches]
        return self.emit_plain(out)

    def emit_value(self, value: Any) -> bytes:
        text: str = call_deep(emit_value, value)  # sops --extract always indents 4
        return text.encode("utf-8", "surrogateescape")
