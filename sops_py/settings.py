"""What the CLI, the library API and the integrations share: the process inputs (``Env``: the
environment, working directory and .sops.yaml), store selection, the key ring, and the encryption
settings that come from flags or arguments merged with the matching creation rule.

Functions here take plain values (never click objects), so every entry point builds the same
settings the same way.
"""

from __future__ import annotations

import os

from . import keyspec, log
from .config import (
    StoreSettings,
    find_config,
    load_config,
    match_creation_rule,
    parse_key_field,
    rule_to_creation_rule,
)
from .datakey import KeyRing
from .errors import CannotChangeKeysFromNonExistentFile, ConflictingParameters, SopsError
from .keys.registry import resolve_keys
from .metadata import CRYPT_RULES
from .ops.crypt import EncryptSettings
from .stores import FORMATS, format_for_path, get_store

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .config import Config
    from .metadata import KeyEntry
    from .stores import Store

NO_KEYS = ("config file not found, or has no creation rules, and no keys provided through command line "
           "options")


class Env:
    """Process-level inputs: environment, working directory and the global --config/--indent.

    The config file is looked up and loaded once, on first use (a batch shares it across files)."""

    __slots__ = ("_config", "_config_loaded", "config_path", "cwd", "environ", "indent")

    def __init__(self, environ: Mapping[str, str] | None = None, cwd: str | None = None,
                 config_path: str | None = None, indent: int | None = None, use_config: bool = True) -> None:
        self.environ: Mapping[str, str] = dict(os.environ) if environ is None else environ
        self.cwd = os.getcwd() if cwd is None else cwd
        self.config_path = config_path
        self.indent = indent
        self._config: Config | None = None
        self._config_loaded = not use_config  # use_config=False: as if no .sops.yaml existed

    def __repr__(self) -> str:
        return (f"Env(environ={self.environ!r}, cwd={self.cwd!r}, config_path={self.config_path!r}, "
                f"indent={self.indent!r}, _config={self._config!r}, _config_loaded={self._config_loaded!r})")

    def config(self) -> Config | None:
        if not self._config_loaded:
            path = self.config_path or find_config(self.cwd, warn=log.warning)
            self._config = load_config(path) if path else None
            self._config_loaded = True
        return self._config

    def store_settings(self) -> StoreSettings:
        conf = self.config()
        return conf.stores if conf else StoreSettings()


def pick_format(type_flag: str | None, path: str) -> str:
    """--input-type/--output-type if it names a format, else by extension (unknown names fall back)."""
    if type_flag and type_flag in FORMATS:
        return type_flag
    return format_for_path(path)


def input_store(env: Env, type_flag: str | None, path: str) -> Store:
    fmt = pick_format(type_flag, path)
    return get_store(fmt, env.store_settings().indent_for(fmt))


def output_store(env: Env, type_flag: str | None, path: str) -> Store:
    fmt = pick_format(type_flag, path)
    indent = env.indent if env.indent is not None else env.store_settings().indent_for(fmt)
    return get_store(fmt, indent)


def key_ring(env: Env, opts: Mapping[str, Any]) -> KeyRing:
    """The key ring for a command: --enable-local-keyservice (default true) and each --keyservice URI,
    in order. Values are also split on commas, as urfave/cli splits SOPS_KEYSERVICE."""
    uris = [part.strip() for value in opts.get("keyservice") or () for part in str(value).split(",")]
    local = opts.get("enable_local_keyservice")
    return KeyRing(env.environ, services=[u for u in uris if u], local=True if local is None else bool(local))


KEY_FLAGS = ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault_transit", "pgp", "age")


def encrypt_settings(env: Env, file_path: str, store: Store, opts: Mapping[str, Any]) -> EncryptSettings:
    """Key groups, threshold and crypt rule for encrypting ``file_path`` from CLI options (sops'
    getEncryptConfig)."""
    kms_context = keyspec.parse_encryption_context(str(opts.get("encryption_context") or ""))
    return rule_settings(
        env, file_path, store, rules={name: str(opts.get(name) or "") for name in CRYPT_RULES},
        mac_only=bool(opts.get("mac_only_encrypted")), kms_context=kms_context,
        groups=key_groups_from_flags(opts, kms_context),
        threshold=int(opts.get("shamir_secret_sharing_threshold") or 0))


def rule_settings(env: Env, file_path: str, store: Store, *, rules: Mapping[str, str], mac_only: bool,
                  kms_context: dict[str, str], groups: list[list[KeyEntry]] | None,
                  threshold: int) -> EncryptSettings:
    """Explicit settings merged with the creation rule matching ``file_path``, as sops merges flags:
    explicit keys replace the rule's keys, explicit rules and threshold win, mac_only is either's."""
    rules = {name: str(rules.get(name) or "") for name in CRYPT_RULES}
    conf = env.config()
    rule_raw = match_creation_rule(conf, file_path) if conf else None
    rule = rule_to_creation_rule(rule_raw, kms_context) if rule_raw is not None else None
    if rule is not None:
        resolve_keys(rule.key_groups, env.environ)  # sops completes the rule's keys as it loads it
        for name in CRYPT_RULES:
            if not rules[name]:
                rules[name] = rule.rules.get(name, "")
        mac_only = mac_only or rule.mac_only_encrypted
    binary = getattr(store, "name", "") == "binary"
    if binary:
        for name, what in (("unencrypted_suffix", "an unencrypted suffix"), ("encrypted_suffix", "an encrypted suffix"),
                           ("encrypted_regex", "an encrypted regex"), ("unencrypted_regex", "an unencrypted regex")):
            if rules[name]:
                log.warning("Using %s does not make sense with the input store (the binary store produces one "
                            "key that should always be encrypted) and will be ignored.", what)
        if rules["encrypted_comment_regex"]:
            log.warning("Using an encrypted comment regex does not make sense with the input store (the binary "
                        "store never produces comments) and will be ignored.")
        rules = {}
        mac_only = False
    elif sum(1 for v in rules.values() if v) > 1:
        raise ConflictingParameters(
            "Error: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, "
            "unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"
        )
    if groups is None:
        if rule is None:
            raise SopsError(NO_KEYS)
        groups = rule.key_groups
    else:
        resolve_keys(groups, env.environ)  # explicit keys: sops completes them after the checks above
        if log.enabled(10):
            # sops prints its key group with %+v: a slice of pointers, so addresses; these stand in for them
            keys = " ".join(f"0xc000{id(k) & 0xFFFFFF:06x}" for g in groups for k in g)
            log.debug("Master keys available:  [%s]", keys)
    threshold = threshold or (rule.shamir_threshold if rule else 0)
    return EncryptSettings(groups, threshold, rules, mac_only, binary)


def key_groups_from_flags(opts: Mapping[str, Any], kms_context: dict[str, str]) -> list[list[KeyEntry]] | None:
    """One group from the key flags (sops: any key flag replaces the config's keys), or None."""
    if not any(opts.get(name) for name in KEY_FLAGS):
        return None
    from .keys.registry import KEY_TYPES, ORDER_ENCRYPT_FLAGS, KeyOptions, build_group

    values = {name: parse_key_field(opts.get(KEY_TYPES[name].flag), KEY_TYPES[name].flag)
              for name in ORDER_ENCRYPT_FLAGS}
    group = build_group(values, ORDER_ENCRYPT_FLAGS, KeyOptions(kms_context, str(opts.get("aws_profile") or "")))
    return [group]


KEY_CHANGE_FLAGS = tuple(f"{op}_{k}" for op in ("add", "rm")
                         for k in ("kms", "pgp", "gcp_kms", "hckms", "hc_vault_transit", "azure_kv", "age"))


def legacy_target(file: str, opts: Mapping[str, Any], instead: str) -> tuple[str, str]:
    """The checks sops' legacy form makes before a mode runs, and (absolute path, path that picks the
    stores and creation rule): --in-place with --output is exit 8; --add-*/--rm-* on a missing file is
    exit 49 (``instead`` names what to use)."""
    if opts.get("in_place") and opts.get("output"):
        raise ConflictingParameters("Error: cannot operate on both --output and --in-place")
    path = os.path.abspath(file)
    if not os.path.exists(path) and any(opts.get(name) for name in KEY_CHANGE_FLAGS):
        raise CannotChangeKeysFromNonExistentFile(
            f'Error: cannot add or remove keys on non-existent file "{path}", {instead}')
    override = opts.get("filename_override")
    return path, os.path.abspath(override) if override else path
