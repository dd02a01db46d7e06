"""``KeyEntry`` (metadata wire fields) <-> the proto ``Key`` sops sends to a key service.

Only the fields that identify a master key travel (sops' KeyFromMasterKey); ``enc`` goes beside the
key in the request, and ``created_at`` is not sent.
"""

from __future__ import annotations

from typing import Any

from ..errors import SopsError
from ..keys.registry import KEY_TYPES
from ..metadata import KeyEntry
from . import keyservice_pb2 as pb

# metadata key type -> (oneof field of Key, message class, ((metadata field, proto field), ...))
_TYPES: dict[str, tuple[str, Any, tuple[tuple[str, str], ...]]] = {
    name: (kt.proto[0], getattr(pb, kt.proto[1]), kt.proto[2]) for name, kt in KEY_TYPES.items()}
_BY_ONEOF = {oneof: kind for kind, (oneof, _, _) in _TYPES.items()}


class MissingKey(SopsError):
    """The request carries no key (sops: NotFound "Must provide a key")."""

    def __init__(self) -> None:
        super().__init__("Must provide a key")


class UnknownKeyType(SopsError):
    """A key type this side cannot express (sops: NotFound "Unknown key type")."""

    def __init__(self) -> None:
        super().__init__("Unknown key type")


def to_proto(entry: KeyEntry) -> pb.Key:
    spec = _TYPES.get(entry.type)
    if spec is None:
        raise UnknownKeyType()
    oneof, cls, fields = spec
    msg = cls(**{proto: str(entry.fields.get(name) or "") for name, proto in fields})
    if entry.type == "kms":
        for k, v in (entry.fields.get("context") or {}).items():
            msg.context[str(k)] = str(v)
    key = pb.Key()
    getattr(key, oneof).CopyFrom(msg)
    return key


def from_proto(key: pb.Key | None, enc: str = "") -> KeyEntry:
    """The master key a request names, with ``enc`` set; MissingKey / UnknownKeyType as sops' server."""
    which = key.WhichOneof("key_type") if key is not None else None
    if key is None or which is None:
        # sops: a Key with no oneof set (also one only a newer peer knows) is "Must provide a key"
        raise MissingKey()
    kind = _BY_ONEOF.get(which)
    if kind is None:
        raise UnknownKeyType()
    _, _, fields = _TYPES[kind]
    msg = getattr(key, which)
    values: dict[str, Any] = {name: str(getattr(msg, proto)) for name, proto in fields}
    if kind == "kms" and len(msg.context):
        values["context"] = dict(sorted(msg.context.items()))
    values["enc"] = enc
    return KeyEntry(kind, values)


def describe(key: pb.Key) -> str:
    """How sops' server names a key in its --prompt question (keyToString)."""
    which = key.WhichOneof("key_type")
    kind = _BY_ONEOF.get(which or "")
    if kind is None:
        return "Unknown key type"
    _, _, fields = _TYPES[kind]
    msg = getattr(key, str(which))
    return KEY_TYPES[kind].describe.format(**{name: getattr(msg, proto) for name, proto in fields})
