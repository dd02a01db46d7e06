"""sops-py: read and write SOPS-encrypted files from Python, byte-compatible with the Go sops 3.x.

The stable library API::

    import sops_py
    data = sops_py.load_file("secrets.enc.yaml")          # decrypted Python data (dict)
    text = sops_py.decrypt_file("secrets.enc.yaml")       # decrypted file bytes, as `sops -d`
    blob = sops_py.encrypt(b"key: value\\n", "yaml", age=["age1..."])

Keys come from the same places sops reads them (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, ...); pass ``env`` to
use a mapping other than ``os.environ``. Importing this package loads no cloud SDK.
"""

from __future__ import annotations

from .errors import SopsError
from .version import __version__

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["SopsError", "__version__", "decrypt", "decrypt_file", "decrypt_files", "encrypt", "encrypt_file", "load",
           "load_file", "to_python"]


def _store(fmt: str, indent: int | None = None) -> Any:
    from .stores import get_store

    return get_store(fmt, indent)


def _fmt(path: str, fmt: str | None) -> str:
    from .stores import format_for_path

    return fmt or format_for_path(path)


def decrypt(data: bytes, format: str = "yaml", *, output_format: str | None = None,
            env: Mapping[str, str] | None = None, ignore_mac: bool = False,
            decryption_order: Sequence[str] | None = None) -> bytes:
    """Decrypt sops file bytes in ``format`` and return the plaintext file bytes (as ``sops decrypt``)."""
    from .datakey import KeyRing
    from .ops.crypt import decrypt_data

    return decrypt_data(data, _store(format), _store(output_format or format), KeyRing(env),
                        list(decryption_order) if decryption_order else None, ignore_mac)


def decrypt_file(path: str, *, format: str | None = None, output_format: str | None = None,
                 env: Mapping[str, str] | None = None, ignore_mac: bool = False) -> bytes:
    """Decrypt a file; the format comes from its extension unless given."""
    with open(path, "rb") as f:
        data = f.read()
    fmt = _fmt(path, format)
    return decrypt(data, fmt, output_format=output_format or fmt, env=env, ignore_mac=ignore_mac)


def decrypt_files(paths: Sequence[str], *, output_format: str | None = None,
                  env: Mapping[str, str] | None = None, ignore_mac: bool = False) -> dict[str, bytes]:
    """Decrypt many files in one call: identities are loaded once and shared by every file."""
    from .datakey import KeyRing
    from .ops.crypt import decrypt_data

    ring = KeyRing(env)
    out: dict[str, bytes] = {}
    for path in paths:
        fmt = _fmt(path, None)
        with open(path, "rb") as f:
            out[path] = decrypt_data(f.read(), _store(fmt), _store(output_format or fmt), ring, None, ignore_mac)
    return out


def to_python(branches: Any) -> Any:
    """Turn a tree (a Branch, list or leaf) into plain Python: dicts, lists and scalars; comments dropped."""
    from .tree import Branch, Comment, Time

    if isinstance(branches, Branch):
        return {k: to_python(v) for k, v in branches if not isinstance(k, Comment)}
    if isinstance(branches, list):
        return [to_python(v) for v in branches if not isinstance(v, Comment)]
    if isinstance(branches, Time):
        import datetime as dt

        return dt.datetime.fromisoformat(branches.rfc3339().replace("Z", "+00:00"))
    return branches


def load(data: bytes, format: str = "yaml", *, env: Mapping[str, str] | None = None,
         ignore_mac: bool = False) -> Any:
    """Decrypt sops file bytes into Python data (the first document; see ``load_all`` in docs)."""
    from .datakey import KeyRing
    from .ops.crypt import load_encrypted, open_tree

    branches, md = load_encrypted(data, _store(format))
    opened = open_tree(branches, md, KeyRing(env), None, ignore_mac)
    return to_python(opened.branches[0]) if opened.branches else {}


def load_file(path: str, *, format: str | None = None, env: Mapping[str, str] | None = None,
              ignore_mac: bool = False) -> Any:
    """Decrypt a sops file into Python data."""
    with open(path, "rb") as f:
        return load(f.read(), _fmt(path, format), env=env, ignore_mac=ignore_mac)


def encrypt(data: bytes, format: str = "yaml", *, age: Sequence[str] = (), output_format: str | None = None,
            unencrypted_suffix: str = "", encrypted_suffix: str = "", unencrypted_regex: str = "",
            encrypted_regex: str = "", mac_only_encrypted: bool = False,
            env: Mapping[str, str] | None = None) -> bytes:
    """Encrypt plaintext file bytes for the given age recipients and return sops file bytes."""
    from . import keyspec
    from .datakey import KeyRing
    from .ops.crypt import EncryptSettings, encrypt_data

    if not age:
        raise SopsError("no recipients given: pass age=[...]")
    rules = {"unencrypted_suffix": unencrypted_suffix, "encrypted_suffix": encrypted_suffix,
             "unencrypted_regex": unencrypted_regex, "encrypted_regex": encrypted_regex}
    settings = EncryptSettings([keyspec.age_keys([",".join(age)])], 0, {k: v for k, v in rules.items() if v},
                               mac_only_encrypted, binary=format == "binary")
    return encrypt_data(data, _store(format), _store(output_format or format), settings, KeyRing(env))


def encrypt_file(path: str, *, age: Sequence[str], format: str | None = None, in_place: bool = False,
                 env: Mapping[str, str] | None = None) -> bytes:
    """Encrypt a plaintext file; with ``in_place`` the file is replaced atomically."""
    from .ops.files import write_atomic

    with open(path, "rb") as f:
        out = encrypt(f.read(), _fmt(path, format), age=age, env=env)
    if in_place:
        write_atomic(path, out)
    return out
