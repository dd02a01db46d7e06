"""Keyless generation for the KSOPS-compatible generator (a sops-py extension, KSOPS #278).

A CI job that diffs or previews manifests often has no key. With ``SOPS_PY_KSOPS_KEYLESS=1`` the
generator still emits every object a manifest makes, with the same names, kinds, metadata and keys,
but each encrypted value replaced by a placeholder derived from its ciphertext: the placeholder
stays the same while the ciphertext does and changes when it changes, so a diff shows *that* a
secret changed without showing it. Nothing is decrypted, so no key is read and no plaintext exists.

Each file must still be a sops file (its metadata is parsed), so a plaintext file committed by
mistake is reported rather than passed through.
"""

from __future__ import annotations

import base64
import hashlib

from ..errors import SopsError
from ..tree import Branch, Comment
from .ksops_files import Source, format_for, read_source
from .ksops_manifest import ObjectSpec, build_object

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

PLACEHOLDER_PREFIX = "sops-py-keyless-"


def placeholder(token: str) -> str:
    """A stand-in for one encrypted value: stable while the ciphertext is, different once it changes."""
    return PLACEHOLDER_PREFIX + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _typed_placeholder(token: str) -> Any:
    kind = token.rsplit(",type:", 1)[-1].rstrip("]") if ",type:" in token else "str"
    return {"int": 0, "float": 0.0, "bool": False}.get(kind, placeholder(token))


def blank_tree(node: Any, base64_under: Callable[[tuple[Any, ...]], bool], path: tuple[Any, ...] = ()) -> Any:
    """The tree with every encrypted value replaced by a placeholder (base64 of it where the field
    holds base64, such as a Secret's ``data``) and encrypted comments dropped."""
    if isinstance(node, Branch):
        out = Branch()
        for k, v in node:
            if isinstance(k, Comment):
                if not k.value.startswith("ENC["):
                    out.append((k, v))
                continue
            out.append((k, blank_tree(v, base64_under, (*path, k))))
        return out
    if isinstance(node, list):
        return [blank_tree(v, base64_under, (*path, i)) for i, v in enumerate(node)
                if not (isinstance(v, Comment) and v.value.startswith("ENC["))]
    if isinstance(node, str) and node.startswith("ENC[AES256_GCM,"):
        value = _typed_placeholder(node)
        if isinstance(value, str) and base64_under(path):
            return base64.b64encode(value.encode()).decode()
        return value
    return node


def keyless_file(source: Source) -> str:
    """A placeholder for a whole file (``secretFrom`` files): from the file's bytes, so it changes
    whenever the file does. The file must still be a sops file."""
    data = read_source(source)
    _load_encrypted(source, data)
    return PLACEHOLDER_PREFIX + hashlib.sha256(data).hexdigest()[:16]


def _load_encrypted(source: Source, data: bytes) -> tuple[list[Branch], Any]:
    from ..stores import get_store

    try:
        return get_store(format_for(source.path)).load_encrypted(data)
    except SopsError as e:
        raise source.error(f"trouble decrypting file: {e}") from None


def _secret_data_field(kind: object) -> Callable[[tuple[Any, ...]], bool]:
    fields = {"Secret": ("data",), "ConfigMap": ("binaryData",)}.get(kind if isinstance(kind, str) else "", ())
    return lambda path: bool(path) and path[0] in fields


def generate_keyless(file_sources: list[Source], specs: list[ObjectSpec],
                     spec_sources: list[tuple[list[Source], list[Source], list[Source]]]
                     ) -> list[tuple[list[Branch], str, Source | None]]:
    """What ``ksops.generate`` makes, with placeholders instead of decrypted values: each document
    list with its format and the file it came from (None for a built Secret or ConfigMap)."""
    pieces: list[tuple[list[Branch], str, Source | None]] = []
    for src in file_sources:
        branches, _ = _load_encrypted(src, read_source(src))
        for b in branches:
            _check_identity_plain(b, src)
        docs = [blank_tree(b, _secret_data_field(b.get("kind"))) for b in branches]
        pieces.append((docs, format_for(src.path), src))
    for spec, (files, binaries, envs) in zip(specs, spec_sources, strict=True):
        text = {key: keyless_file(src) for (key, _), src in zip(spec.files, files, strict=True)}
        binary = {key: keyless_file(src).encode() for (key, _), src in zip(spec.binary_files, binaries, strict=True)}
        for src in envs:
            text.update(_keyless_env(src))
        pieces.append(([build_object(spec, text, binary)], "yaml", None))
    return pieces


def _check_identity_plain(doc: Branch, source: Source) -> None:
    """An object's identity (``apiVersion``, ``kind``, ``metadata``) must be plaintext: a placeholder
    there would make a different object, not the same one with hidden values (Flux asks the same of
    encrypted resources)."""
    for field in ("apiVersion", "kind", "metadata"):
        if _holds_ciphertext(doc.get(field)):
            raise source.error(f"keyless mode cannot show this object: its {field} is encrypted (encrypt "
                               "Kubernetes objects with --encrypted-regex '^(data|stringData)$')")


def _holds_ciphertext(node: Any) -> bool:
    if isinstance(node, Branch):
        return any(_holds_ciphertext(v) for k, v in node if not isinstance(k, Comment))
    if isinstance(node, list):
        return any(_holds_ciphertext(v) for v in node)
    return isinstance(node, str) and node.startswith("ENC[AES256_GCM,")


def _keyless_env(source: Source) -> dict[str, str]:
    """An ``envs`` file's variables with placeholders (the names are plaintext in a sops file)."""
    from .ksops_dotenv import key_of

    branches, _ = _load_encrypted(source, read_source(source))
    out: dict[str, str] = {}
    for b in branches[:1]:
        for k, v in b:
            if isinstance(k, str):
                value = _typed_placeholder(v) if isinstance(v, str) and v.startswith("ENC[") else v
                out[key_of(k)] = str(value)
    return out
