"""The dotenv store, as sops 3.13's ``stores/dotenv/store.go``.

The format is taken literally:

* the input is split on ``\\n`` only (a ``\\r`` stays in the value) and empty lines are skipped;
* a line starting with ``#`` is a comment whose text is everything after the ``#``;
* any other line must contain ``=``: the key is everything before the first ``=`` (``export X`` and
  surrounding spaces included), the value everything after it, quotes kept, with each two-character
  ``\\n`` turned into a newline. Every value is a string.

Output writes ``#<text>`` for a comment and ``<key>=<value>`` for an item, newlines in string values
as ``\\n``; other scalars go through sops' ``ValToString``; maps and lists cannot be written.

Encrypted files carry the metadata flattened into top-level ``sops_``-prefixed keys written after
the data (``flatten.py``). On load every top-level key starting with ``sops_`` is metadata; on write a
data key with that prefix is refused, as in 3.13.

Input bytes that are not UTF-8 are kept as surrogate escapes and written back unchanged.
"""

from __future__ import annotations

from ..errors import CouldNotReadInputFile, ErrorDumpingTree, MetadataNotFound, SopsError
from ..gotext import go_type
from ..metadata import Metadata
from ..tree import Branch, Comment
from .flatten import (
    SOPS_PREFIX,
    flatten_metadata,
    go_bytes,
    go_quote,
    go_sprint_s,
    go_string,
    unflatten_metadata,
    val_to_string,
)

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

__all__ = ["DotenvStore"]


class DotenvStore:
    """sops' dotenv store. ``indent`` is accepted for the common constructor and ignored."""

    name = "dotenv"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent

    # -------------------------------------------------------------------------------- loading

    def load_plain(self, data: bytes) -> list[Branch]:
        text = bytes(data).decode("utf-8", "surrogateescape")
        branch = Branch()
        for line in text.split("\n"):
            if not line:
                continue
            if line[0] == "#":
                branch.append((Comment(line[1:]), None))
                continue
            pos = line.find("=")
            if pos == -1:
                raise CouldNotReadInputFile(f"invalid dotenv input line: {line}")
            branch.append((line[:pos], line[pos + 1:].replace("\\n", "\n")))
        return [branch]

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        try:
            branches = self.load_plain(data)
        except CouldNotReadInputFile as e:
            raise SopsError(e.message) from None
        kept = Branch()
        meta: list[tuple[Any, Any]] = []
        for k, v in branches[0]:
            if isinstance(k, str) and k.startswith(SOPS_PREFIX):
                meta.append((k[len(SOPS_PREFIX):], v))
            else:
                kept.append((k, v))
        if not meta:
            raise MetadataNotFound()
        branches[0] = kept
        return branches, unflatten_metadata(meta)

    # -------------------------------------------------------------------------------- emitting

    def emit_plain(self, branches: list[Branch]) -> bytes:
        if not branches:
            raise ErrorDumpingTree("no document to write")
        out: list[str] = []
        for k, v in branches[0]:
            if k.__class__ is str and v.__class__ is str:  # nearly every line
                out.append(k + "=" + v.replace("\n", "\\n") + "\n")
                continue
            if isinstance(v, (Branch, list)):
                raise ErrorDumpingTree(
                    f"cannot use complex value in dotenv file; offending key {go_sprint_s(k)}"
                )
            if isinstance(k, Comment):
                out.append(f"#{k.value}\n")
                continue
            if isinstance(v, (str, bytes)):
                value = go_string(v).replace("\n", "\\n")
            else:
                value = val_to_string(v)
            out.append(f"{go_sprint_s(k)}={value}\n")
        return go_bytes("".join(out))

    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes:
        flat = flatten_metadata(md, SOPS_PREFIX)
        out: list[Branch] = []
        for branch in branches:
            for k, _ in branch:
                if isinstance(k, str) and k.startswith(SOPS_PREFIX):
                    raise ErrorDumpingTree(
                        f"Error marshaling metadata: Found key {go_quote(k)} in encrypted data, which starts "
                        f"with the reserved key prefix {go_quote(SOPS_PREFIX)} for SOPS metadata"
                    )
            out.append(Branch([*branch, *flat]))
        return self.emit_plain(out)

    def emit_value(self, value: Any) -> bytes:
        if isinstance(value, (str, bytes)):
            return go_bytes(go_string(value))
        raise ErrorDumpingTree(f"the dotenv store only supports emitting strings, got {go_type(value)}")

    # -------------------------------------------------------------------------------- checks

    @staticmethod
    def has_sops_top_level_key(branch: Branch) -> bool:
        """sops' HasSopsTopLevelKey for dotenv: any top-level key starting with ``sops_``."""
        for k, _ in branch:  # a loop, not any(genexpr): this runs over every line of big files
            if isinstance(k, str) and k.startswith(SOPS_PREFIX):
                return True
        return False
