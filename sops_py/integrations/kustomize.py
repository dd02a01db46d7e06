"""A Flux-style decrypting kustomize build, locally: what Flux's kustomize-controller would apply.

Flux (fluxcd/kustomize-controller, internal/decryptor) decrypts in two places, and so does this:

1. Before the build, the sources kustomize reads as data: ``secretGenerator`` ``files`` (format from
   the key name, ``key=path`` allowed) and ``envs`` (dotenv unless the extension says otherwise),
   ``patches`` paths, and, beyond Flux, encrypted ``resources`` files. A file is decrypted only when
   it carries its format's marker bytes (``mac: ENC[``, ``"mac": "ENC[``, ``sops_mac=ENC[``,
   ``[sops]``). Kustomizations are followed through ``resources`` and ``components`` directories.
   Because these files are decrypted before kustomize rewrites them, their MAC still matches and is
   checked (Flux cannot check it): a MAC failure is an error unless ``ignore_mac``.
2. After the build, any object that still carries sops metadata (a non-empty ``sops.mac``) is
   decrypted as Flux does it (kustomize has changed it, so its MAC cannot match and is not checked),
   and every Secret ``data`` value that decodes to a sops file is decrypted, its format from the data
   key (``.dockerconfigjson`` is JSON) - that value is a whole file kustomize did not touch, so its MAC
   is checked.

Objects annotated ``kustomize.toolkit.fluxcd.io/decrypt: Disabled`` are left encrypted. Only regular
files up to 5 MiB are decrypted, and every path must stay inside the root. All of it happens in a
private copy of the root (mode 0700) that is removed afterwards, also on failure, so plaintext never
lands in the user's directory. The build itself is ``kustomize_build``.
"""

from __future__ import annotations

import os
import stat

from ..errors import SopsError
from ..keychain import Keys
from .sopsfile import MARKERS

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

MAX_FILE_SIZE = 5 * 1024 * 1024  # Flux's default --sops-max-file-size... limit (5 MiB)
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DISABLED_ANNOTATION = "kustomize.toolkit.fluxcd.io/decrypt"


class BuildError(SopsError):
    """A source could not be decrypted or the build failed; the message names the file or object."""


def format_for_key(name: str) -> str:
    """The sops format Flux picks from a file or data key name (``.dockerconfigjson`` is JSON)."""
    from ..stores import format_for_path

    if name.endswith(".dockerconfigjson"):
        return "json"
    return format_for_path(name)


def is_disabled(obj: Any) -> bool:
    """Whether an object opts out of decryption; Flux compares the value without regard to case."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    value = annotations.get(DISABLED_ANNOTATION) if isinstance(annotations, dict) else None
    return isinstance(value, str) and value.casefold() == "disabled"


class SourceDecryptor:
    """Decrypts the sources of every kustomization under ``root`` in place (``root`` is the private
    copy). ``decrypted`` lists what was decrypted, relative to the root."""

    def __init__(self, root: str, keys: Keys, ignore_mac: bool = False) -> None:
        self.root = os.path.realpath(root)
        self.keys = keys
        self.ignore_mac = ignore_mac
        self.decrypted: list[str] = []
        self._opened: list[tuple[bytes, bytes]] = []  # (encrypted, decrypted) of every source, for ``secrets``
        self._done: set[str] = set()
        self._visited: set[str] = set()

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.root)

    def secure(self, base: str, ref: str) -> str:
        """``ref`` (relative to directory ``base``) as a real path that must stay inside the root."""
        path = os.path.realpath(os.path.join(base, ref))
        if path != self.root and not path.startswith(self.root + os.sep):
            raise BuildError(f"path '{ref}' (in {self.rel(base) or '.'}) leaves the kustomization root "
                             f"(--root names a wider one, such as the repository)")
        return path

    # ---------------------------------------------------------------- kustomizations

    def walk(self, directory: str) -> None:
        """Visit the kustomization in ``directory`` and, through its resources and components, every
        kustomization it includes (each once)."""
        real = self.secure(directory, ".")
        if real in self._visited or not os.path.isdir(real):
            return
        self._visited.add(real)
        kus = self._load_kustomization(real)
        if kus is None:
            return
        for gen in _list(kus.get("secretGenerator")):
            if not isinstance(gen, dict):
                continue
            for item in _list(gen.get("files")):
                if isinstance(item, str):
                    key, _, path = item.partition("=")
                    self.decrypt_file(real, path or key, format_for_key(key))
            for name in ("envs", "env"):
                for item in (_list(gen.get(name)) if name == "envs" else [gen.get(name)]):
                    if isinstance(item, str) and item:
                        fmt = format_for_key(item)
                        self.decrypt_file(real, item, "dotenv" if fmt == "binary" else fmt)
        for patch in _list(kus.get("patches")):
            patch_path = patch.get("path") if isinstance(patch, dict) else None
            if isinstance(patch_path, str) and patch_path and "://" not in patch_path:
                self.decrypt_file(real, patch_path, format_for_key(patch_path))
        for item in _list(kus.get("patchesStrategicMerge")):
            if isinstance(item, str) and "\n" not in item and "://" not in item:
                target = os.path.join(real, item)
                if os.path.isfile(target):
                    self.decrypt_file(real, item, format_for_key(item))
        for item in [*_list(kus.get("resources")), *_list(kus.get("components"))]:
            if not isinstance(item, str) or "://" in item or item.startswith("git@"):
                continue
            target = os.path.join(real, item)
            if os.path.isdir(target):
                self.walk(self.secure(real, item))
            elif os.path.isfile(target) and format_for_key(item) in ("yaml", "json"):
                self.decrypt_file(real, item, format_for_key(item), resource=True)

    def _load_kustomization(self, directory: str) -> dict[str, Any] | None:
        from ..pydata import to_python
        from ..stores import get_store

        found = [n for n in KUSTOMIZATION_FILES if os.path.lexists(os.path.join(directory, n))]
        if not found:
            return None
        if len(found) > 1:
            raise BuildError(f"found multiple kustomization files in {self.rel(directory)}")
        path = os.path.join(directory, found[0])
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise BuildError(f"expected {self.rel(path)} to be a regular file")
        try:
            with open(path, "rb") as f:
                docs = get_store("yaml").load_plain(f.read())
        except SopsError as e:
            raise BuildError(f"failed to read kustomization file {self.rel(path)}: {e}") from None
        kus = to_python(docs[0]) if docs else {}
        return kus if isinstance(kus, dict) else None

    # ---------------------------------------------------------------- one file

    def decrypt_file(self, base: str, ref: str, fmt: str, *, resource: bool = False) -> None:
        """Decrypt ``ref`` in place (0600) when it carries the marker of ``fmt``."""
        path = self.secure(base, ref)
        if path in self._done:
            return
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return  # kustomize reports the missing file itself
        name = self.rel(path)
        if not stat.S_ISREG(info.st_mode):
            raise BuildError(f"cannot decrypt {name}: not a regular file")
        if info.st_size > MAX_FILE_SIZE:
            raise BuildError(f"cannot decrypt {name}: its size ({info.st_size} bytes) exceeds the limit "
                             f"({MAX_FILE_SIZE})")
        with open(path, "rb") as f:
            data = f.read()
        if MARKERS[fmt] not in data:
            return
        if resource and self._disabled_resource(data, fmt):
            return
        out = decrypt_bytes(data, fmt, fmt, self.keys, self.ignore_mac, f"file {name}")
        self._opened.append((data, out))
        fd = os.open(path + ".sops-py-tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(out)
        os.replace(path + ".sops-py-tmp", path)
        self._done.add(path)
        self.decrypted.append(name)

    def secrets(self) -> set[str]:
        """What the decrypted sources reveal (``revealed_text``), computed only when a message needs
        cleaning, since comparing text costs time on large files."""
        found: set[str] = set()
        for encrypted, plain in self._opened:
            found |= revealed_text(encrypted, plain)
        return found

    def _disabled_resource(self, data: bytes, fmt: str) -> bool:
        from ..pydata import to_python
        from ..stores import get_store

        try:
            branches, _ = get_store(fmt).load_encrypted(data)
        except SopsError:
            return False  # decrypting reports it
        return any(is_disabled(to_python(b)) for b in branches)


MIN_REDACTED = 4  # shorter fragments would blank out unrelated words of a message


def revealed_text(encrypted: bytes, plain: bytes) -> set[str]:
    """Fragments of a decrypted file that its encrypted form does not show: its values (the keys and
    structure are plaintext in both). kustomize may quote a source it cannot read in its error (a
    dotenv line that is not UTF-8, for one), and sources are decrypted before it reads them, so its
    messages are cleaned of these before they are shown (``redact``)."""
    import re

    shown = encrypted.decode("utf-8", "replace")
    found: set[str] = set()
    for line in plain.decode("utf-8", "replace").splitlines():
        candidates = {line.strip()}
        for sep in ("=", ":"):
            if sep in line:
                candidates.add(line.split(sep, 1)[1].strip().strip("\"'"))
        candidates.update(re.split(r"[\s=:\"',{}\[\]]+", line))
        found.update(c for c in candidates if len(c) >= MIN_REDACTED and c not in shown)
    return found


def redact(message: str, secrets: set[str]) -> str:
    """``message`` with every fragment of ``secrets`` (longest first) and Go's printing of a byte slice
    (``[65 61 ...]``, how kustomize shows a line it cannot decode) replaced by ``[redacted]``."""
    import re

    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "[redacted]")
    return re.sub(r"\[(?:\d{1,3} ){3,}\d{1,3}\]", "[redacted]", message) if secrets else message


def decrypt_bytes(data: bytes, fmt: str, out_fmt: str, keys: Keys, ignore_mac: bool, what: str) -> bytes:
    """Decrypt through the library API; the error names ``what`` and never holds plaintext."""
    from ..api import decrypt

    try:
        return decrypt(data, fmt, keys=keys, output_format=out_fmt,  # type: ignore[arg-type]  # sops formats
                       ignore_mac=ignore_mac)
    except SopsError as e:
        hint = " (--ignore-mac accepts it)" if "MAC mismatch" in str(e) else ""
        raise BuildError(f"failed to decrypt {what}: {e}{hint}", e.exit_code) from None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
