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
    from typing import Any, NoReturn

__all__ = ["DotenvStore"]

_PREFIX_LEN = len(SOPS_PREFIX)


class DotenvStore:
    """sops' dotenv store. ``indent`` is accepted for the common constructor and ignored."""

    name = "dotenv"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent

    # -------------------------------------------------------------------------------- loading

    def load_plain(self, data: bytes) -> list[Branch]:
        text = bytes(data).decode("utf-8", "surrogateescape")
        lines = text.split("\n")
        # comprehensions rather than a loop: a big file's lines cost a third as much
        parts = [(Comment(line[1:]), None, None) if line[0] == "#" else line.partition("=")
                 for line in lines if line]
        escapes = "\\" in text  # values spell a newline as the two characters \n
        items = [(k, v.replace("\\n", "\n") if escapes and v and "\\" in v else v) for k, sep, v in parts if sep != ""]
        if len(items) != len(parts):  # a line without "="
            bad = next(k for k, sep, _ in parts if sep == "")
            raise CouldNotReadInputFile(f"invalid dotenv input line: {bad}")
        return [Branch(items)]

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        try:
            branches = self.load_plain(data)
        except CouldNotReadInputFile as e:
            raise SopsError(e.message) from None
        items = branches[0]
        meta = [(k[_PREFIX_LEN:], v) for k, v in items if k.__class__ is str and k[:_PREFIX_LEN] == SOPS_PREFIX]
        if not meta:
            raise MetadataNotFound()
        branches[0] = Branch([(k, v) for k, v in items if k.__class__ is not str or k[:_PREFIX_LEN] != SOPS_PREFIX])
        # a key given twice: the last line wins, as in sops 3.11 (a Go map; 3.13 refuses it)
        return branches, unflatten_metadata(list(dict(meta).items()))

    # -------------------------------------------------------------------------------- emitting

    def emit_plain(self, branches: list[Branch]) -> bytes:
        if not branches:
            raise ErrorDumpingTree("no document to write")
        try:
            # Nearly every file has only comments and string keys and values: one comprehension writes
            # it. Any other key or value makes it raise, and the loop below, which handles every
            # case, writes the file.
            return go_bytes("".join([k + "=" + v.replace("\n", "\\n") + "\n" if k.__class__ is str
                                     else "#" + k.value + "\n" if not isinstance(v, list) else _complex_value(k)
                                     for k, v in branches[0]]))
        except (TypeError, AttributeError):  # AttributeError: a map or list value has no replace
            pass
        out: list[str] = []
        for k, v in branches[0]:
            if isinstance(v, (Branch, list)):
                _complex_value(k)
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
        for branch in branches:
            reserved = [k for k, _ in branch if k.__class__ is str and k[:_PREFIX_LEN] == SOPS_PREFIX]
            if reserved:
                raise ErrorDumpingTree(
                    f"Error marshaling metadata: Found key {go_quote(reserved[0])} in encrypted data, which starts "
                    f"with the reserved key prefix {go_quote(SOPS_PREFIX)} for SOPS metadata"
                )
        if not branches:
            raise ErrorDumpingTree("no document to write")
        # only the first document is written; the metadata lines follow its data
        return self.emit_plain([Branch([*branches[0], *flatten_metadata(md, SOPS_PREFIX)])])

    def emit_value(self, value: Any) -> bytes:
        if isinstance(value, (str, bytes)):
            return go_bytes(go_string(value))
        raise ErrorDumpingTree(f"the dotenv store only supports emitting strings, got {go_type(value)}")

    # -------------------------------------------------------------------------------- checks

    @staticmethod
    def has_sops_top_level_key(branch: Branch) -> bool:
        """sops' HasSopsTopLevelKey for dotenv: any top-level key starting with ``sops_``."""
        # a comprehension, not any(genexpr): this runs over every line of big files
        return bool([k for k, _ in branch if k.__class__ is str and k[:_PREFIX_LEN] == SOPS_PREFIX])


def _complex_value(key: Any) -> NoReturn:
    raise ErrorDumpingTree(f"cannot use complex value in dotenv file; offending key {go_sprint_s(key)}")
