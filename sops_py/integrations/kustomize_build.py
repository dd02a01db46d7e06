"""``sops-py kustomize``: copy the root privately, decrypt the sources, run kustomize, decrypt what is
left in its output (see ``kustomize`` for what is decrypted when, and why).

The copy lives in a fresh ``mkdtemp`` directory (mode 0700, owner only) and is removed in a
``finally``, so plaintext exists only there and only for the length of the build. kustomize runs as
``kustomize build`` when that binary is on PATH, else as ``kubectl kustomize``; its own flags can be
passed through (``--enable-helm``, ``--load-restrictor`` ...).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile

from ..keychain import Keys
from ..tree import Branch
from .kustomize import (
    BuildError,
    SourceDecryptor,
    decrypt_bytes,
    format_for_key,
    is_disabled,
    redact,
)
from .sopsfile import MARKERS

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

SKIP_DIRS = (".git", ".hg", ".svn")


def kustomize_command(extra: Sequence[str] = ()) -> list[str]:
    """The build command: standalone kustomize when present (Flux embeds kustomize's API), else kubectl's.
    kustomize's own output flag is refused: the build it writes holds the decrypted sources, and it
    would write them wherever the flag says (sops-py's ``--output`` writes the finished build)."""
    for flag in extra:
        if flag in ("-o", "--output") or flag.startswith(("-o=", "--output=")) or \
                (flag.startswith("-o") and not flag.startswith("--")):
            raise BuildError(f"the kustomize flag {flag.split('=', 1)[0]!r} is refused: kustomize would write the "
                             "decrypted build itself; use sops-py kustomize --output")
    if shutil.which("kustomize"):
        return ["kustomize", "build", *extra]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", *extra]
    raise BuildError("neither kustomize nor kubectl is on PATH: install one of them to build")


def build(directory: str, *, root: str | None = None, keys: Keys | None = None, ignore_mac: bool = False,
          kustomize_args: Sequence[str] = ()) -> bytes:
    """The decrypted build of ``directory`` (which must be inside ``root``, default itself)."""
    directory = os.path.realpath(directory)
    root = os.path.realpath(root) if root else directory
    if directory != root and not directory.startswith(root + os.sep):
        raise BuildError(f"{directory} is not inside the root {root}")
    if not os.path.isdir(directory):
        raise BuildError(f"{directory} is not a directory")
    keys = keys if keys is not None else Keys()
    command = kustomize_command(kustomize_args)
    work = tempfile.mkdtemp(prefix="sops-py-kustomize-")  # mode 0700
    try:
        copy = os.path.join(work, "root")
        shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns(*SKIP_DIRS))
        _relink(root, copy)
        target = os.path.join(copy, os.path.relpath(directory, root))
        sources = SourceDecryptor(copy, keys, ignore_mac)
        sources.walk(target)
        proc = subprocess.run([*command, target], capture_output=True, check=False, cwd=work)
        if proc.returncode != 0:
            message = redact(_kustomize_error(proc.stderr.decode("utf-8", "replace")), sources.secrets())
            raise BuildError(f"{' '.join(command[:2])} failed: {message.replace(copy + os.sep, '').replace(copy, '.')}")
        return decrypt_output(proc.stdout, keys, ignore_mac)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _kustomize_error(stderr: str) -> str:
    """kustomize's message without kubectl's log-line wrapping (``E1208 12:00:00.1 123 run.go:72]
    "command failed" err="..."``), so the reason reads as kustomize wrote it."""
    import re

    text = stderr.strip()
    block = re.fullmatch(r'[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] "command failed" err=<\n(.*)\n\s*>', text, re.S)
    if block:  # a multi-line message: klog indents each line with a tab
        return "\n".join(line.removeprefix("\t") for line in block.group(1).splitlines()).strip()
    m = re.fullmatch(r'[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] "command failed" err="(.*)"', text, re.S)
    return _go_unquote(m.group(1)) if m else text


_GO_ESCAPES = {"a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v"}


def _go_unquote(quoted: str) -> str:
    """The text of a Go ``%q`` string (``\\xff`` is a raw byte there, so the result is decoded from
    bytes, as a raw byte in a message would be)."""
    import re

    def one(m: re.Match[str]) -> bytes:
        esc = m.group(0)
        if len(esc) == 1:
            return esc.encode("utf-8")
        kind = esc[1]
        if kind == "x":
            return bytes([int(esc[2:], 16)])
        if kind in "uU":
            return chr(int(esc[2:], 16)).encode("utf-8", "surrogatepass")
        if kind.isdigit():
            return bytes([int(esc[1:], 8) & 0xFF])
        return _GO_ESCAPES.get(kind, kind.encode("utf-8"))

    pattern = r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)|[^\\]"
    return b"".join(one(m) for m in re.finditer(pattern, quoted, re.S)).decode("utf-8", "replace")


def _relink(root: str, copy: str) -> None:
    """Point the copy's absolute symbolic links that lead into the root at the same place in the
    copy. Links are copied as links (following them would copy what lies outside the root); an
    absolute one would still lead to the user's tree, where the copy's rule (stay inside it) refuses
    it and where a decrypted file must never be written."""
    prefix = root.rstrip(os.sep) + os.sep
    for directory, dirs, files in os.walk(copy):
        for name in [*dirs, *files]:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                continue
            target = os.readlink(path)
            if os.path.isabs(target) and (target == root or target.startswith(prefix)):
                os.unlink(path)
                os.symlink(os.path.join(copy, os.path.relpath(target, root)), path)


def split_documents(text: bytes) -> list[bytes]:
    """kustomize's output, one item per document (it separates them with ``---`` lines)."""
    docs, current = [], bytearray()
    for line in text.splitlines(keepends=True):
        if line.rstrip(b"\r\n") == b"---":
            docs.append(bytes(current))
            current = bytearray()
        else:
            current += line
    docs.append(bytes(current))
    return [d for d in docs if d.strip()]


def decrypt_output(text: bytes, keys: Keys, ignore_mac: bool) -> bytes:
    """Decrypt what the build still holds encrypted; documents left as they were keep kustomize's text."""
    from ..stores import get_store

    store = get_store("yaml", 2)
    out = []
    for doc in split_documents(text):
        if MARKERS["yaml"] not in doc and b"Secret" not in doc:
            out.append(doc)
            continue
        branches = store.load_plain(doc)
        changed = False
        for i, obj in enumerate(branches):
            new = decrypt_object(obj, keys, ignore_mac)
            if new is not None:
                branches[i], changed = new, True
        out.append(store.emit_plain(branches) if changed else doc)
    return b"---\n".join(out)


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    return f"'{meta.get('namespace') or ''}/{meta.get('name') or ''}' {obj.get('kind') or ''}"


def decrypt_object(obj: Branch, keys: Keys, ignore_mac: bool) -> Branch | None:
    """The object decrypted, or None when it holds nothing encrypted (or is annotated Disabled)."""
    from ..pydata import to_python
    from ..stores import get_store

    plain = to_python(obj)
    if not isinstance(plain, dict) or is_disabled(plain):
        return None
    sops = plain.get("sops")
    if isinstance(sops, dict) and sops.get("mac"):
        # kustomize rewrote the object (namespace, labels...): its MAC cannot match, so, as Flux,
        # it is not checked here (sources decrypted before the build were checked)
        json_store = get_store("json")
        data = decrypt_bytes(json_store.emit_plain([obj]), "json", "json", keys, True, f"object {_name(plain)}")
        docs = json_store.load_plain(data)
        return docs[0] if docs else None
    if plain.get("kind") != "Secret" or not isinstance(plain.get("data"), dict):
        return None
    changed = False
    data_map = dict(plain["data"])
    for key, value in plain["data"].items():
        if not isinstance(value, str):
            continue
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            continue  # kustomize or the API server reports bad base64
        in_fmt = _marker_format(raw)
        if in_fmt is None:
            continue
        out = decrypt_bytes(raw, in_fmt, format_for_key(key), keys, ignore_mac,
                            f"{_name(plain)} field '{key}'")
        data_map[key] = base64.b64encode(out).decode("ascii")
        changed = True
    if not changed:
        return None
    return Branch([(k, _data_branch(data_map) if k == "data" else v) for k, v in obj])


def _data_branch(data: dict[str, str]) -> Branch:
    return Branch(list(data.items()))


def _marker_format(raw: bytes) -> str | None:
    """The format a Secret value's sops file is in, from its marker bytes (Flux's rule); JSON markers
    are told from the binary store's by its single ``data`` key."""
    for fmt in ("yaml", "dotenv", "ini"):
        if MARKERS[fmt] in raw:
            return fmt
    if MARKERS["json"] in raw:
        import json

        try:
            doc = json.loads(raw)
        except ValueError:
            return "json"
        if isinstance(doc, dict) and set(doc) == {"data", "sops"}:
            return "binary"
        return "json"
    return None
