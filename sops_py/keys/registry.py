"""The key-type registry: everything sops-py knows about each master-key type, in one place.

One ``KeyType`` record per type says what is written in metadata (the list name and its wire
fields), how a key is named in reports (``identity``), where its descriptors come from (the CLI flag,
the ``.sops.yaml`` names, a builder), how it travels to a key service (the proto ``Key`` oneof) and
which module wraps and unwraps data keys for it. Modules are named by dotted path and imported only
when a key of that type is used, so ``import sops_py`` never loads a cloud SDK.

Adding a key type is one module (with ``make_backend(env)`` and a builder taking
``(values, KeyOptions)``) plus one line in ``KEY_TYPES``. This module imports nothing of sops-py but
the error classes, so every other module may import it.
"""

from __future__ import annotations

from ..errors import MissingExtra, SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, Protocol

    from ..metadata import KeyEntry

    class Backend(Protocol):
        """Wraps and unwraps a data key for the master keys of one type (one per key ring).

        May be called from several threads at once. Failures raise ``keys.KeyFailed`` (or its
        subclass ``KeyNotApplicable``) with sops' message; anything else is a bug and propagates."""

        def wrap(self, entry: KeyEntry, secret: bytes) -> str: ...
        def unwrap(self, entry: KeyEntry) -> bytes: ...


# How many key-service calls sops-py keeps in flight at once (a batch's threads); backends size their
# connection pools to it.
MAX_CONCURRENT_CALLS = 32
# Key types whose wrap and unwrap run in this process without waiting on anything.
LOCAL_TYPES = frozenset(("age",))


class KeyOptions:
    """Settings that apply to every key built from one set of flags or one rule (AWS KMS only today)."""

    __slots__ = ("aws_profile", "kms_context")

    def __init__(self, kms_context: Mapping[str, str] | None = None, aws_profile: str = "") -> None:
        self.kms_context = dict(kms_context or {})
        self.aws_profile = aws_profile


def _resolve(ref: str) -> Any:
    """``"package.module:attr"`` -> the attribute; ``__import__`` rather than importlib (~1 ms at start-up)."""
    module, _, attr = ref.partition(":")
    mod = __import__(module, fromlist=[attr or "make_backend"])
    return getattr(mod, attr) if attr else mod


class KeyType:
    """What sops-py knows about one key type (see the module docstring)."""

    __slots__ = ("backend", "builder", "config_flat", "config_group", "describe", "extra", "fields", "flag",
                 "identity", "name", "proto", "resolver")

    def __init__(self, name: str, *, fields: tuple[str, ...], identity: Callable[[Mapping[str, Any]], str],
                 flag: str, builder: str, config_flat: str, config_group: tuple[str, str], backend: str,
                 proto: tuple[str, str, tuple[tuple[str, str], ...]], describe: str, extra: str = "",
                 resolver: str = "") -> None:
        self.name = name                  # the metadata list name ("age", "kms", ...)
        self.fields = fields              # wire fields of one entry, in sops' struct order
        self.identity = identity          # how sops names the key (reports, --rm-*, updatekeys)
        self.flag = flag                  # CLI option dest for --<flag>, --add-<flag>, --rm-<flag>
        self.builder = builder            # "module:function" (values, KeyOptions) -> list[KeyEntry]
        self.config_flat = config_flat    # the key of a flat creation rule
        self.config_group = config_group  # (key in a key_groups entry, "module:function" raw item -> entries)
        self.backend = backend            # module with make_backend(env) -> Backend
        self.proto = proto                # (oneof of keyservice Key, message name, ((field, proto field), ...))
        self.describe = describe          # the key service's --prompt text, {} = identity
        self.extra = extra                # the pip extra the backend needs ("" = none)
        # "module:function" (entries, env) completing descriptors from the key's service when they are
        # built from flags or .sops.yaml, as sops does (Azure: a versionless key's version); "" = none
        self.resolver = resolver

    def __repr__(self) -> str:
        return f"KeyType({self.name!r})"

    def make_backend(self, env: Mapping[str, str]) -> Backend:
        backend: Backend = _resolve(self.backend).make_backend(env)
        return backend

    def build(self, values: Sequence[str], options: KeyOptions) -> list[KeyEntry]:
        """Descriptors (``enc`` empty) from flag or config strings."""
        if not values:
            return []
        entries: list[KeyEntry] = _resolve(self.builder)(list(values), options)
        return entries

    def build_from_group_item(self, raw: Any) -> list[KeyEntry]:
        """Descriptors from one item of a ``key_groups`` entry's list."""
        entries: list[KeyEntry] = _resolve(self.config_group[1])(raw)
        return entries


def _kms_identity(f: Mapping[str, Any]) -> str:
    s = str(f.get("arn", ""))
    if f.get("role"):
        s += "+" + str(f["role"])
    ctx = ",".join(f"{k}:{v}" for k, v in sorted((f.get("context") or {}).items()))
    if f.get("aws_profile"):
        return f"{s}|{ctx}|{f['aws_profile']}"  # sops writes the context field even when it is empty here
    return f"{s}|{ctx}" if ctx else s


_KS = "sops_py.keyspec"
# In the order sops builds a key group after loading metadata (kms first, age last); metadata writes
# the lists in this order too.
KEY_TYPES: dict[str, KeyType] = {t.name: t for t in (
    KeyType("kms", fields=("arn", "role", "context", "created_at", "enc", "aws_profile"), identity=_kms_identity,
            flag="kms", builder=f"{_KS}:kms_keys", config_flat="kms", config_group=("kms", f"{_KS}:kms_item"),
            backend="sops_py.keys.awskms", extra="aws", describe="AWS KMS key with ARN {arn}",
            proto=("kms_key", "KmsKey", (("arn", "arn"), ("role", "role"), ("aws_profile", "aws_profile")))),
    KeyType("gcp_kms", fields=("resource_id", "created_at", "enc"), identity=lambda f: str(f.get("resource_id", "")),
            flag="gcp_kms", builder=f"{_KS}:gcp_keys", config_flat="gcp_kms",
            config_group=("gcp_kms", f"{_KS}:gcp_item"), backend="sops_py.keys.gcpkms", extra="gcp",
            describe="GCP KMS key with resource ID {resource_id}",
            proto=("gcp_kms_key", "GcpKmsKey", (("resource_id", "resource_id"),))),
    KeyType("hckms", fields=("key_id", "created_at", "enc"), identity=lambda f: str(f.get("key_id", "")),
            flag="hckms", builder=f"{_KS}:hckms_keys", config_flat="hckms",
            config_group=("hckms", f"{_KS}:hckms_item"), backend="sops_py.keys.hckms", extra="huawei",
            describe="HuaweiCloud KMS key with ID {key_id}", proto=("hckms_key", "HckmsKey", (("key_id", "key_id"),))),
    KeyType("azure_kv", fields=("vault_url", "name", "version", "created_at", "enc"),
            identity=lambda f: f"{f.get('vault_url', '')}/keys/{f.get('name', '')}/{f.get('version', '')}",
            flag="azure_kv", builder=f"{_KS}:azkv_keys", config_flat="azure_keyvault",
            config_group=("azure_keyvault", f"{_KS}:azkv_item"), backend="sops_py.keys.azkv", extra="azure",
            resolver="sops_py.keys.azkv:resolve_versions",
            describe="Azure Key Vault key with URL {vault_url}/keys/{name}/{version}",
            proto=("azure_keyvault_key", "AzureKeyVaultKey",
                   (("vault_url", "vault_url"), ("name", "name"), ("version", "version")))),
    KeyType("hc_vault", fields=("vault_address", "engine_path", "key_name", "created_at", "enc"),
            identity=lambda f: f"{f.get('vault_address', '')}/v1/{f.get('engine_path', '')}/keys/{f.get('key_name', '')}",
            flag="hc_vault_transit", builder=f"{_KS}:vault_keys", config_flat="hc_vault_transit_uri",
            config_group=("hc_vault", f"{_KS}:vault_item"), backend="sops_py.keys.hcvault", extra="vault",
            describe="Hashicorp Vault key with URI {vault_address}/v1/{engine_path}/keys/{key_name}",
            proto=("vault_key", "VaultKey", (("vault_address", "vault_address"), ("engine_path", "engine_path"),
                                             ("key_name", "key_name")))),
    KeyType("pgp", fields=("created_at", "enc", "fp"), identity=lambda f: str(f.get("fp", "")), flag="pgp",
            builder=f"{_KS}:pgp_keys", config_flat="pgp", config_group=("pgp", f"{_KS}:pgp_item"),
            backend="sops_py.keys.pgp", describe="PGP key with fingerprint {fp}",
            proto=("pgp_key", "PgpKey", (("fp", "fingerprint"),))),
    KeyType("age", fields=("recipient", "enc"), identity=lambda f: str(f.get("recipient", "")), flag="age",
            builder=f"{_KS}:age_keys", config_flat="age", config_group=("age", f"{_KS}:age_item"),
            backend="sops_py.keys.age_backend",
            # sops' keyToString has no age case ("Unknown key type"); naming the key is more useful
            describe="age key with recipient {recipient}",
            proto=("age_key", "AgeKey", (("recipient", "recipient"),))),
)}

# The order each of sops' commands builds one group from key flags (sops lists them by hand, and the
# order decides which key of a type-less decryption order is tried first and how errors are listed).
ORDER_ENCRYPT_FLAGS = ("kms", "gcp_kms", "hckms", "azure_kv", "pgp", "hc_vault", "age")
ORDER_ROTATE_FLAGS = ("kms", "pgp", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age")
ORDER_GROUPS_ADD = ("pgp", "kms", "gcp_kms", "hckms", "hc_vault", "azure_kv", "age")
ORDER_CONFIG = ("age", "pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault")


def key_type(name: str) -> KeyType:
    kt = KEY_TYPES.get(name)
    if kt is None:
        raise SopsError(f"{name} master keys are not supported by sops-py")
    return kt


def missing_extra(package: str, extra: str) -> SopsError:
    """The one-line error for a key type whose SDK is not installed."""
    return MissingExtra(f"{package} is not installed: run pip install 'sops-py[{extra}]'")


def with_others(order: Sequence[str]) -> tuple[str, ...]:
    """``order`` followed by every other registered type (types added after sops' lists)."""
    return (*order, *(name for name in KEY_TYPES if name not in order))


def build_group(values: Mapping[str, Sequence[str]], order: Sequence[str], options: KeyOptions) -> list[KeyEntry]:
    """One key group from per-type string lists (keyed by type name), built in ``order``."""
    group: list[KeyEntry] = []
    for name in with_others(order):
        vals = values.get(name)
        if vals:
            group += KEY_TYPES[name].build(vals, options)
    return group


def resolve_keys(groups: Sequence[Sequence[KeyEntry]], env: Mapping[str, str]) -> None:
    """Complete freshly built descriptors in place, as sops completes keys when it builds them from
    flags or a creation rule (an Azure key without a version gets the vault's current one). Keys of
    one type are completed together (concurrently where the type allows); a failure raises SopsError
    with sops' message. Types without a resolver, and groups without such keys, cost nothing."""
    by_type: dict[str, list[KeyEntry]] = {}
    for group in groups:
        for entry in group:
            kt = KEY_TYPES.get(entry.type)
            if kt is not None and kt.resolver:
                by_type.setdefault(entry.type, []).append(entry)
    for name, entries in by_type.items():
        _resolve(KEY_TYPES[name].resolver)(entries, env)
