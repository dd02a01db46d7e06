"""The JSON store and the binary store (a JSON envelope), as sops 3.13's ``stores/json/store.go``.

Loading follows sops' token-streaming reader (Go ``json.Decoder.Token``):

* the top level must be an object; key order and duplicate keys are kept; bytes after the first
  top-level object are never read;
* numbers are typed as sops 3.13 does: a literal that parses as an int64 is an ``int``, anything else
  a ``float`` (``1.0`` is a float, ``-0`` the int 0, ``9223372036854775808`` a float);
* strings are decoded as Go does: invalid UTF-8 and unpaired ``\\u`` surrogates become U+FFFD;
* the quirks of sops' reader are kept, e.g. input that ends where a value of the top-level object
  should start (``{"a": 1, "b":``) loads the items read so far.

Valid input takes a fast path through the C ``json`` scanner (``json_load``); anything it rejects is
re-read by a byte-exact emulation of Go's decoder (``json_go_decoder``), which gives sops' acceptance
and its error messages.

Emitting (``json_emit``) writes what sops' encoder followed by Go ``json.Indent`` writes:
``"key": value``, empty ``{}``/``[]`` compact, strings escaped as Go's ``json.Marshal`` (``<``, ``>``,
``&``, U+2028/U+2029, invalid UTF-8 as ``\\ufffd``), floats with Go's JSON float layout, comments
dropped.

Errors carry the store-level text of sops; the command layer adds its own prefix as sops does
(``Error unmarshalling file: `` for a plain input, ``Error dumping file: `` for output):

* ``load_plain`` raises ``CouldNotReadInputFile("Could not unmarshal input data: ...")`` (exit 2);
* ``load_encrypted`` raises ``SopsError`` with the same text (exit 1: sops' decrypt, edit, rotate...
  report a broken encrypted file through the generic exit code);
* ``emit_*`` raise ``ErrorDumpingTree`` (exit 4).

This module holds the two stores and turns the parsing and encoding errors into sops' messages.
"""

from __future__ import annotations

from ..errors import CouldNotReadInputFile, ErrorDumpingTree, SopsError
from ..metadata import Metadata, to_branch
from ..tree import Branch
from . import split_nested_metadata
from .json_emit import JSONEncodeError, encode, go_json_quote, json_scalar
from .json_go_decoder import GoError, GoTokenReader
from .json_load import parse_json_document

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BINARY_HINT",
    "BinaryStore",
    "BinaryStoreEmitPlainError",
    "JSONEncodeError",
    "JSONStore",
    "go_json_quote",
    "json_scalar",
]

# The decoder's names as importers knew them before the module was split (the JSON store tests).
_GoError = GoError
_GoTokenReader = GoTokenReader

BINARY_HINT = (
    "This is likely not an encrypted binary file? If not, use --output-type to select the correct "
    "output type."
)


class BinaryStoreEmitPlainError(ErrorDumpingTree):
    """sops' ``BinaryStoreEmitPlainError``; the message carries the hint sops' decrypt appends."""

    def __init__(self, detail: str) -> None:
        self.base_message = f"error emitting binary store: {detail}"
        super().__init__(f"{self.base_message}\n\n{BINARY_HINT}")


def _to_bytes(s: str) -> bytes:
    return s.encode("utf-8")


def _str_to_bytes(s: str) -> bytes:
    """A tree string as the bytes Go holds: surrogate-escaped bytes come back, lone surrogates are U+FFFD."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace")


# ------------------------------------------------------------------------------------------------
# Stores


class JSONStore:
    """sops' JSON store. ``indent``: None or -1 = tab, N >= 0 = N spaces (0: newlines only)."""

    name = "json"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent

    def load_plain(self, data: bytes) -> list[Branch]:
        try:
            return [parse_json_document(bytes(data))]
        except GoError as e:
            raise CouldNotReadInputFile(f"Could not unmarshal input data: {e.message}") from None

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        try:
            branches = [parse_json_document(bytes(data), whole=True)]
        except GoError as e:
            if (e.message == "unexpected end of JSON input" or e.message.endswith("after top-level value")
                    or e.message.endswith("exceeded max depth")):
                raise SopsError(f"Error unmarshalling input json: {e.message}") from None  # sops 3.11
            raise SopsError(f"Could not unmarshal input data: {e.message}") from None
        return split_nested_metadata(branches, "json")

    def emit_plain(self, branches: list[Branch]) -> bytes:
        if not branches:
            raise ErrorDumpingTree("Error marshaling to json: no document to write")
        try:
            text = encode(branches[0], self.indent)
        except JSONEncodeError as e:
            raise ErrorDumpingTree(f"Error marshaling to json: {e.message}") from None
        return _to_bytes(text + "\n")

    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes:
        sops_branch = to_branch(md)
        out: list[Branch] = []
        for branch in branches:
            for k, _ in branch:
                if isinstance(k, str) and k == "sops":
                    raise ErrorDumpingTree(
                        'Error marshaling metadata: Found key "sops" in encrypted data, which is a reserved '
                        "key used for SOPS metadata"
                    )
            out.append(Branch([*branch, ("sops", sops_branch)]))
        if not out:
            out.append(Branch([("sops", sops_branch)]))
        return self.emit_plain(out)

    def emit_value(self, value: Any) -> bytes:
        try:
            return _to_bytes(encode(value, self.indent))
        except JSONEncodeError as e:
            raise ErrorDumpingTree(e.message) from None


class BinaryStore:
    """sops' binary store: the whole file is the string item ``data``; encrypted, a JSON envelope."""

    name = "binary"

    def __init__(self, indent: int | None = None) -> None:
        self.indent = indent
        self._json = JSONStore(indent)

    def load_plain(self, data: bytes) -> list[Branch]:
        raw = bytes(data)
        try:
            value: str | bytes = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw
        return [Branch([("data", value)])]

    def load_encrypted(self, data: bytes) -> tuple[list[Branch], Metadata]:
        return self._json.load_encrypted(data)

    def emit_plain(self, branches: list[Branch]) -> bytes:
        if len(branches) != 1:
            raise BinaryStoreEmitPlainError("there must be exactly one tree branch")
        for k, v in branches[0]:
            if isinstance(k, str) and k == "data":
                if isinstance(v, bytes):
                    return v
                if isinstance(v, str):
                    return _str_to_bytes(v)
                raise BinaryStoreEmitPlainError("'data' key in tree does not have a string value")
        raise BinaryStoreEmitPlainError("no binary data found in tree")

    def emit_encrypted(self, branches: list[Branch], md: Metadata) -> bytes:
        return self._json.emit_encrypted(branches, md)

    def emit_value(self, value: Any) -> bytes:
        raise ErrorDumpingTree(
            "Binary files are not structured and extracting a single value is not possible"
        )
