"""The two ways kustomize (and kpt) run a KSOPS generator, over ``ksops``.

* Legacy exec plugin: one argument, a file holding the generator manifest; the working directory is
  the kustomization; the generated documents go to stdout (``run_legacy``).
* KRM function: a ``ResourceList`` on stdin, the result on stdout (``run_krm``). Every item that is
  a ``kind: ksops`` manifest is replaced by what it generates and every other item is passed
  through untouched (kpt sends the whole package; kustomize sends the generator itself, marked
  local-config). Without such an item a ``kind: ksops`` ``functionConfig`` generates. A failure
  leaves the items as they were, adds an error to ``results`` and makes the run fail, as the KRM
  function specification asks.

The ResourceList is read and written with sops-py's YAML store (go-yaml v3 rules, comments kept), so
items that are passed through keep their values and types.
"""

from __future__ import annotations

from ..errors import SopsError
from ..tree import Branch, Comment
from .ksops import GeneratorError, Manifest, Options, generate, is_generator, render, to_objects

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any


class KrmFailure(SopsError):
    """The function failed: ``output`` is the ResourceList to print anyway (with its ``results``)."""

    def __init__(self, message: str, output: bytes) -> None:
        super().__init__(message)
        self.output = output


def run_legacy(manifest_text: str, options: Options) -> bytes:
    """The legacy plugin: the manifest's generated documents, as KSOPS prints them."""
    from .ksops import parse_manifest

    return render(generate(parse_manifest(manifest_text), options))


def _manifest_of(node: Branch) -> Manifest:
    from ..pydata import to_python
    from .ksops import emit_tree

    doc = to_python(node)
    return Manifest(doc, emit_tree([node]).decode("utf-8", "replace"))


def process(resource_list: Branch, options: Options) -> list[Any]:
    """The new ``items``: generators replaced by their objects, everything else as it was."""
    items = resource_list.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise GeneratorError("the ResourceList's items must be a list")
    out: list[Any] = []
    generated = False
    for item in items:
        if not isinstance(item, Comment) and is_generator(item):
            out += to_objects(generate(_manifest_of(item), options))
            generated = True
        else:
            out.append(item)
    config = resource_list.get("functionConfig")
    if not generated and is_generator(config):
        out += to_objects(generate(_manifest_of(config), options))
    return out


def run_krm(data: bytes, options: Options) -> bytes:
    """Read a ResourceList, return the one to print; raises ``KrmFailure`` (carrying that output)."""
    from ..stores import get_store

    store = get_store("yaml", 2)
    try:
        docs = store.load_plain(data)
    except SopsError as e:
        raise GeneratorError(f"unable to read the ResourceList on stdin: {e}") from None
    resource_list = docs[0] if docs else None
    if not isinstance(resource_list, Branch) or resource_list.get("kind") != "ResourceList":
        raise GeneratorError("stdin does not hold a ResourceList (kind: ResourceList)")
    try:
        items = process(resource_list, options)
    except SopsError as e:
        message = f"unable to generate manifests: {e}"
        failed = _with(resource_list, "results", [Branch([("message", str(e)), ("severity", "error")])])
        raise KrmFailure(message, store.emit_plain([failed])) from None
    return store.emit_plain([_with(resource_list, "items", items)])


def _with(node: Branch, key: str, value: Any) -> Branch:
    """A copy of a mapping with ``key`` set (appended when it was absent)."""
    out = Branch()
    found = False
    for k, v in node:
        if k == key and isinstance(k, str):
            out.append((k, value))
            found = True
        else:
            out.append((k, v))
    if not found:
        out.append((key, value))
    return out
