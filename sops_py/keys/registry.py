"""The key-type registry: one record per master-key type sops knows, in one place.

Each record names what is written in metadata (the list name and its wire fields), the module that
wraps and unwraps data keys for it (imported only when a key of that type is used, so ``import
sops_py`` never loads a cloud SDK), and the pip extra that module needs. Adding a key type is one
module under ``sops_py/keys/`` (exposing ``make_backend(env)``) plus one line in ``KEY_TYPES``.
"""

from __future__ import annotations

from ..errors import SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    from ..metadata import KeyEntry

    class Backend(Protocol):
        """Wraps and unwraps a data key for the master keys of one type (one per key ring).

        May be called from several threads at once. Failures raise ``keys.KeyFailed`` (or its
        subclass ``KeyNotApplicable``) with sops' message; anything else is a bug and propagates."""

        def wrap(self, entry: KeyEntry, secret: bytes) -> str: ...
        def unwrap(self, entry: KeyEntry) -> bytes: ...


class KeyType:
    """What sops-py knows about one key type."""

    __slots__ = ("extra", "fields", "module", "name")

    def __init__(self, name: str, module: str, fields: tuple[str, ...], extra: str = "") -> None:
        self.name = name          # the metadata list name ("age", "kms", ...)
        self.module = module      # sops_py.keys.<module>: make_backend(env) -> Backend
        self.fields = fields      # wire fields of one entry, in sops' struct order
        self.extra = extra        # the pip extra the backend needs ("" = none)

    def __repr__(self) -> str:
        return f"KeyType({self.name!r})"

    def make_backend(self, env: Mapping[str, str]) -> Backend:
        # __import__ rather than importlib (which costs ~1 ms at start-up)
        mod = __import__(f"sops_py.keys.{self.module}", fromlist=["make_backend"])
        backend: Backend = mod.make_backend(env)
        return backend


# In the order sops builds a key group after loading metadata (kms first, age last).
KEY_TYPES: dict[str, KeyType] = {
    "kms": KeyType("kms", "awskms", ("arn", "role", "context", "created_at", "enc", "aws_profile"), "aws"),
    "gcp_kms": KeyType("gcp_kms", "gcpkms", ("resource_id", "created_at", "enc"), "gcp"),
    "hckms": KeyType("hckms", "hckms", ("key_id", "created_at", "enc"), "huawei"),
    "azure_kv": KeyType("azure_kv", "azkv", ("vault_url", "name", "version", "created_at", "enc"), "azure"),
    "hc_vault": KeyType("hc_vault", "hcvault", ("vault_address", "engine_path", "key_name", "created_at", "enc"),
                        "vault"),
    "pgp": KeyType("pgp", "pgp", ("created_at", "enc", "fp")),
    "age": KeyType("age", "age_backend", ("recipient", "enc")),
}


def key_type(name: str) -> KeyType:
    kt = KEY_TYPES.get(name)
    if kt is None:
        raise SopsError(f"{name} master keys are not supported by sops-py")
    return kt


def missing_extra(package: str, extra: str) -> SopsError:
    """The one-line error for a key type whose SDK is not installed."""
    from ..errors import MissingExtra

    return MissingExtra(f"{package} is not installed: run pip install 'sops-py[{extra}]'")
