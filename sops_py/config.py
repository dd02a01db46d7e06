"""`.sops.yaml`: discovery from the working directory upwards, creation rules and store settings.

Key descriptors from rules become ``KeyEntry`` values with an empty ``enc``; the key ring fills
``enc`` in when the data key is wrapped.
"""

from __future__ import annotations

import os

from .errors import ConfigError, SopsError
from .metadata import CRYPT_RULES, KeyEntry, check_crypt_rules
from .record import Record
from .tree import Branch, Comment

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

CONFIG_NAME = ".sops.yaml"
ALTERNATE_NAME = ".sops.yml"
MAX_DEPTH = 100


class StoreSettings(Record):
    __slots__ = __match_args__ = ("yaml_indent", "json_indent", "json_binary_indent")

    def __init__(self, yaml_indent: int | None = None, json_indent: int | None = None,
                 json_binary_indent: int | None = None) -> None:
        self.yaml_indent = yaml_indent
        self.json_indent = json_indent
        self.json_binary_indent = json_binary_indent

    def indent_for(self, fmt: str) -> int | None:
        return {"yaml": self.yaml_indent, "json": self.json_indent,
                "binary": self.json_binary_indent}.get(fmt)


class CreationRule(Record):
    __slots__ = __match_args__ = ("path_regex", "key_groups", "shamir_threshold", "rules", "mac_only_encrypted")

    def __init__(self, path_regex: str = "", key_groups: list[list[KeyEntry]] | None = None,
                 shamir_threshold: int = 0, rules: dict[str, str] | None = None,
                 mac_only_encrypted: bool = False) -> None:
        self.path_regex = path_regex
        self.key_groups: list[list[KeyEntry]] = [] if key_groups is None else key_groups
        self.shamir_threshold = shamir_threshold
        self.rules: dict[str, str] = {} if rules is None else rules
        self.mac_only_encrypted = mac_only_encrypted


class Config(Record):
    __slots__ = __match_args__ = ("path", "creation_rules", "stores", "destination_rules")

    def __init__(self, path: str, creation_rules: list[dict[str, Any]] | None, stores: StoreSettings,
                 destination_rules: list[dict[str, Any]] | None = None) -> None:
        self.path = path
        self.creation_rules = creation_rules
        self.stores = stores
        self.destination_rules: list[dict[str, Any]] = [] if destination_rules is None else destination_rules


def find_config(start: str = ".", warn: Any = None) -> str | None:
    """The nearest .sops.yaml from ``start`` upwards (sops ignores .sops.yml with a warning)."""
    directory = os.path.abspath(start)
    alternate = None
    for _ in range(MAX_DEPTH):
        candidate = os.path.join(directory, CONFIG_NAME)
        if os.path.exists(candidate):
            if alternate and warn:
                warn(f'ignoring "{alternate}" when searching for config file; the config file must be '
                     f'called "{CONFIG_NAME}"; using "{candidate}" instead')
            return candidate
        alt = os.path.join(directory, ALTERNATE_NAME)
        if alternate is None and os.path.exists(alt):
            alternate = alt
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    if alternate and warn:
        warn(f'ignoring "{alternate}" when searching for config file; the config file must be called '
             f'"{CONFIG_NAME}"')
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, Branch):
        return {k: _plain(v) for k, v in value if not isinstance(k, Comment)}
    if isinstance(value, list):
        return [_plain(v) for v in value if not isinstance(v, Comment)]
    return value


def _indent(stores: dict[str, Any], name: str) -> int | None:
    section = stores.get(name)
    if not isinstance(section, dict) or "indent" not in section:
        return None
    value = section["indent"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"error loading config: Could not unmarshal config file: stores.{name}.indent "
                          "must be an integer")
    return value


def load_config(path: str) -> Config:
    from .stores.yaml_lines import load_yaml

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"could not read config file: {e}") from None
    try:
        docs = load_yaml(data)
    except SopsError as e:
        raise ConfigError(f"error loading config: Could not unmarshal config file: {e}") from None
    raw = _plain(docs[0]) if docs else {}
    if not isinstance(raw, dict):
        raise ConfigError("error loading config: Could not unmarshal config file")
    stores = raw.get("stores") or {}
    if not isinstance(stores, dict):
        stores = {}
    settings = StoreSettings(_indent(stores, "yaml"), _indent(stores, "json"), _indent(stores, "json_binary"))
    rules = raw.get("creation_rules")
    if rules is not None and not isinstance(rules, list):
        raise ConfigError("error loading config: Could not unmarshal config file: creation_rules must be a list")
    dest = raw.get("destination_rules") or []
    return Config(path, rules if rules else None, settings, dest if isinstance(dest, list) else [])


def parse_key_field(value: Any, name: str) -> list[str]:
    """A comma-separated string (entries trimmed, empties dropped) or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(f"invalid {name} key configuration: expected string in list, "
                                  f"got {type(item).__name__}")
        return list(value)
    raise ConfigError(f"invalid {name} key configuration: expected string, []string, or nil, "
                      f"got {type(value).__name__}")


def match_creation_rule(config: Config, file_path: str) -> dict[str, Any] | None:
    """The first rule whose path_regex matches the path relative to the config's directory."""
    if config.creation_rules is None:
        return None
    config_dir = os.path.abspath(os.path.dirname(config.path))
    rel = file_path
    if rel.startswith(config_dir + os.sep):
        rel = rel[len(config_dir) + 1:]
    for rule in config.creation_rules:
        if not isinstance(rule, dict):
            continue
        regex = rule.get("path_regex") or ""
        if not regex:
            return rule
        from .goregexp import compile_go  # loads `re`: only rules with a path_regex need it

        compiled = compile_go(str(regex))  # path_regex is Go RE2, as in sops
        if compiled is None:
            raise ConfigError(f"can not compile regexp: error parsing regexp: {regex}")
        if compiled.search(rel):
            return rule
    raise ConfigError("error loading config: no matching creation rules found",
                      hint=f"no path_regex in {config.path} matches {rel!r}: add a rule for it, or give keys "
                           "with --age/--pgp/... (or SOPS_AGE_RECIPIENTS)")


# the names sops' errors use for a malformed key list in a flat creation rule
_FIELD_NAMES = {"gcp_kms": "gcpkms", "azure_kv": "azure_keyvault", "hc_vault": "vault"}


def rule_to_creation_rule(rule: dict[str, Any], kms_context: dict[str, str] | None = None) -> CreationRule:
    from . import keyspec

    rules = {name: str(rule.get(name) or "") for name in CRYPT_RULES}
    try:
        check_crypt_rules(rules, ConfigError)
    except ConfigError:
        raise ConfigError(
            "error loading config: cannot use more than one of encrypted_suffix, unencrypted_suffix, "
            "encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex "
            "for the same rule"
        ) from None
    groups_raw = rule.get("key_groups")
    if groups_raw:
        groups = [keyspec.group_from_config(g) for g in groups_raw]
    else:
        from .keys.registry import KEY_TYPES, ORDER_CONFIG, KeyOptions, build_group

        values = {name: parse_key_field(rule.get(KEY_TYPES[name].config_flat), _FIELD_NAMES.get(name, name))
                  for name in ORDER_CONFIG}
        groups = [build_group(values, ORDER_CONFIG, KeyOptions(kms_context, str(rule.get("aws_profile") or "")))]
    threshold = rule.get("shamir_threshold") or 0
    return CreationRule(str(rule.get("path_regex") or ""), groups, int(threshold), rules,
                        bool(rule.get("mac_only_encrypted")))
