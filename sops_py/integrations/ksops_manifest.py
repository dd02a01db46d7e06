"""The ``kind: ksops`` generator manifest, read as KSOPS reads it.

KSOPS unmarshals the manifest into Go structs: ``files`` and ``secretFrom`` (``metadata``, ``type``,
``files``, ``binaryFiles``, ``envs``), with the metadata in kustomize's ``ObjectMeta``. This module reads
the same fields with the same rules (and the sops-py extensions ``emitData`` and ``configMapFrom``),
so a manifest KSOPS accepts means the same here and one it refuses is refused with the reason. It
also builds the Secret (or ConfigMap) of a ``secretFrom`` item, its keys in the order KSOPS'
marshaller writes them, so the generated objects come out as KSOPS' do.
"""

from __future__ import annotations

import base64
import os

from ..errors import SopsError
from ..tree import Branch

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

API_GROUP = "viaduct.ai/"
KIND = "ksops"


class GeneratorError(SopsError):
    """A generator manifest is malformed or one of its files could not be decrypted. The message
    names the file as KSOPS does: ``error decrypting file "<f>" from <section>: ...``."""


def is_generator(doc: object) -> bool:
    """Whether a parsed object is a KSOPS generator manifest (``viaduct.ai/v1`` or ``v2``, ``kind: ksops``)."""
    if isinstance(doc, Branch):
        api, kind = doc.get("apiVersion"), doc.get("kind")
    elif isinstance(doc, dict):
        api, kind = doc.get("apiVersion"), doc.get("kind")
    else:
        return False
    return isinstance(api, str) and api.startswith(API_GROUP) and kind == KIND


class ObjectSpec:
    """One ``secretFrom`` (or ``configMapFrom``) item: what to build and from which files."""

    __slots__ = ("binary_files", "emit_data", "envs", "files", "kind", "metadata", "section", "type")

    def __init__(self, kind: str, section: str, raw: Mapping[str, Any], emit_data: bool) -> None:
        self.kind = kind
        self.section = section
        self.metadata = object_meta(raw.get("metadata"), section)
        kind_type = raw.get("type") or ""
        if not isinstance(kind_type, str):
            raise GeneratorError(f"{section}.type must be a string")
        self.type = kind_type
        self.files = [_key_path(f) for f in _str_list(raw, "files", section)]
        self.binary_files = [_key_path(f) for f in _str_list(raw, "binaryFiles", section)]
        self.envs = _str_list(raw, "envs", section)
        own = raw.get("emitData")
        if own is not None and not isinstance(own, bool):
            raise GeneratorError(f"{section}.emitData must be true or false")
        self.emit_data = emit_data if own is None else own


class Manifest:
    """A parsed ``kind: ksops`` manifest; ``raw`` is its text, quoted in KSOPS' error for a manifest
    with nothing to generate."""

    __slots__ = ("config_maps", "files", "raw", "secrets")

    def __init__(self, doc: Mapping[str, Any], raw: str) -> None:
        self.raw = raw
        files = doc.get("files")
        self.files: list[str] = _str_list(doc, "files", "manifest") if files is not None else []
        emit_data = doc.get("emitData", False)
        if not isinstance(emit_data, bool):
            raise GeneratorError("emitData must be true or false")
        self.secrets = [ObjectSpec("Secret", "secretFrom", item, emit_data)
                        for item in _items(doc, "secretFrom")]
        self.config_maps = [ObjectSpec("ConfigMap", "configMapFrom", item, False)
                            for item in _items(doc, "configMapFrom")]
        if files is None and doc.get("secretFrom") is None and doc.get("configMapFrom") is None:
            raise GeneratorError(f"missing the required 'files' or 'secretFrom' key in the ksops manifests: {raw}")


def _items(doc: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = doc.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise GeneratorError(f"{name} must be a list of mappings")
    return value


def _str_list(doc: Mapping[str, Any], name: str, where: str) -> list[str]:
    value = doc.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GeneratorError(f"{where}.{name} must be a list of file names")
    return value


def object_meta(value: Any, section: str) -> dict[str, Any]:
    """The metadata as KSOPS keeps it: KSOPS reads it into kustomize's ``ObjectMeta``, which has only
    ``name``, ``namespace``, ``labels`` and ``annotations``, all strings, so any other field is dropped
    (as KSOPS drops it, so the build is the same) and a value that is not a string is refused (Go
    refuses to read it; kustomize and the API server would too). Empty fields are left out."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GeneratorError(f"{section}.metadata must be a mapping")
    out: dict[str, Any] = {}
    for name in ("name", "namespace"):
        field = value.get(name)
        if field is not None and not isinstance(field, str):
            raise GeneratorError(f"{section}.metadata.{name} must be a string")
        if field:
            out[name] = field
    for name in ("labels", "annotations"):
        field = value.get(name)
        if field is None:
            continue
        if not isinstance(field, dict):
            raise GeneratorError(f"{section}.metadata.{name} must be a mapping of strings")
        strings: dict[str, str] = {}
        for k, v in field.items():
            if v is not None and not isinstance(v, str):
                raise GeneratorError(f"{section}.metadata.{name}.{k} must be a string (quote it)")
            strings[str(k)] = v or ""
        if strings:
            out[name] = strings
    return out


def go_yaml_key_order(keys: list[str]) -> list[str]:
    """Keys in the order KSOPS writes them: its marshaller (sigs.k8s.io/yaml, go-yaml v2) sorts map
    keys "naturally": runs of digits compare as numbers (``K9`` before ``K10``) and, where two keys
    first differ, a non-letter sorts before a letter (``_X`` before ``A``); letters by code point."""
    import functools

    def compare(a: str, b: str) -> int:
        return -1 if _go_key_less(a, b) else (1 if _go_key_less(b, a) else 0)

    return sorted(keys, key=functools.cmp_to_key(compare))


def _go_key_less(a: str, b: str) -> bool:
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        al, bl = a[i].isalpha(), b[i].isalpha()
        if al and bl:
            return a[i] < b[i]
        if al or bl:
            return bl
        an = bn = 0
        if a[i] == "0" or b[i] == "0":  # a run of digits with a non-zero digit before: compare as numbers
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = an * 10 + ord(a[ai]) - 48
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = bn * 10 + ord(b[bi]) - 48
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)


def _key_path(item: str) -> tuple[str, str]:
    """``key=path`` or ``path`` (the key is then the file's base name), as KSOPS splits them."""
    parts = item.split("=")
    if len(parts) == 1:
        return os.path.basename(item), item
    if len(parts) > 2:
        raise GeneratorError(f"invalid format in file generator {item}")
    return parts[0], parts[1]


def parse_manifest(text: str) -> Manifest:
    """Parse a manifest's YAML text (the legacy plugin's argument file)."""
    from ..pydata import to_python
    from ..stores import get_store

    try:
        docs = get_store("yaml").load_plain(text.encode("utf-8"))
    except SopsError as e:
        raise GeneratorError(f'error unmarshalling manifest content: "{e}" \n{text}') from None
    doc = to_python(docs[0]) if docs else {}
    if not isinstance(doc, dict):
        raise GeneratorError(f'error unmarshalling manifest content: "not a mapping" \n{text}')
    return Manifest(doc, text)


def build_object(spec: ObjectSpec, text: dict[str, str], binary: dict[str, bytes]) -> Branch:
    """The Secret or ConfigMap, its keys sorted as KSOPS' marshaller (sigs.k8s.io/yaml) sorts them
    (``go_yaml_key_order``)."""
    from ..pydata import from_python

    obj: dict[str, Any] = {"apiVersion": "v1", "kind": spec.kind, "metadata": spec.metadata}
    encoded = {k: base64.b64encode(v).decode("ascii") for k, v in binary.items()}
    if spec.kind == "Secret":
        if spec.type:
            obj["type"] = spec.type
        if spec.emit_data:
            encoded.update({k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in text.items()})
        elif text:
            obj["stringData"] = text
        if encoded:
            obj["data"] = encoded
    else:
        if text:
            obj["data"] = text
        if encoded:
            obj["binaryData"] = encoded
    tree: Branch = from_python(_sorted(obj), spec.section)
    return tree


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in go_yaml_key_order(list(value))}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value
