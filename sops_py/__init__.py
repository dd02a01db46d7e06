"""sops-py: read and write SOPS-encrypted files from Python, byte-compatible with the Go sops 3.x.

The library API (docs/library.md is the guide)::

    import sops_py
    data = sops_py.load_file("secrets.enc.yaml")               # decrypted Python data (dict)
    text = sops_py.decrypt_file("secrets.enc.yaml")            # decrypted file bytes, as `sops decrypt`
    sops_py.dump_file({"password": "x"}, "new.enc.yaml")       # keys from .sops.yaml, as `sops encrypt`
    sops_py.update_file("secrets.enc.yaml", lambda d: d.update(password="y"))   # as `sops edit`

    keys = sops_py.Keys(age=["AGE-SECRET-KEY-1..."])           # identities in memory, thread-safe
    data = sops_py.load_file("secrets.enc.yaml", keys=keys)

Every failure is a ``sops_py.SopsError`` subclass with ``.exit_code`` (sops' code for the case);
wrong argument types raise ``TypeError``. Importing this package loads no cloud SDK.
"""

from __future__ import annotations

from .errors import (
    BatchError,
    ConfigError,
    CouldNotReadInputFile,
    CouldNotRetrieveKey,
    CouldNotWriteOutputFile,
    FileAlreadyEncrypted,
    KeyFailure,
    MacMismatch,
    MasterKeyError,
    MetadataNotFound,
    MissingExtra,
    SopsError,
)
from .version import __version__

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

    from .api import Format as Format
    from .api import (
        decrypt,
        decrypt_file,
        decrypt_files,
        dump,
        dump_file,
        encrypt,
        encrypt_file,
        load,
        load_all,
        load_file,
        to_python,
        update,
        update_file,
    )
    from .keychain import Keys

# Resolved on first use (PEP 562), so the CLI, which imports this package first, pays nothing for them.
_LAZY = {"Keys": "keychain", "decrypt": "api", "decrypt_file": "api", "decrypt_files": "api", "dump": "api",
         "dump_file": "api", "encrypt": "api", "encrypt_file": "api", "load": "api", "load_all": "api",
         "load_file": "api", "to_python": "api", "update": "api", "update_file": "api"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sops_py' has no attribute {name!r}")
    value = getattr(__import__(f"sops_py.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "BatchError", "ConfigError", "CouldNotReadInputFile", "CouldNotRetrieveKey", "CouldNotWriteOutputFile",
    "FileAlreadyEncrypted", "Format", "KeyFailure", "Keys", "MacMismatch", "MasterKeyError", "MetadataNotFound",
    "MissingExtra", "SopsError", "__version__", "decrypt", "decrypt_file", "decrypt_files", "dump", "dump_file",
    "encrypt", "encrypt_file", "load", "load_all", "load_file", "to_python", "update", "update_file",
]
