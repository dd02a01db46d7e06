"""The ``sops`` section: load it from a tree branch into ``Metadata`` and write it back.

Wire field names live here only. Key types this build cannot use yet are still loaded into
``KeyEntry`` and written back unchanged, so their files keep working through a rewrite.
Output follows sops 3.13: every mapping's keys sorted, one key group as flat lists, more as
``key_groups``.
"""

from __future__ import annotations

from .errors import ConflictingParameters, FailedToCompareVersions, SopsError
from .keys.registry import KEY_TYPES
from .record import Record
from .tree import Branch, Comment, Time

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

# Key type names as written in metadata, and the order sops builds a group in after loading.
KEY_TYPES_LOAD_ORDER = tuple(KEY_TYPES)
KEY_FIELDS: dict[str, tuple[str, ...]] = {name: kt.fields for name, kt in KEY_TYPES.items()}
_OMIT_EMPTY = {("kms", "role"), ("kms", "context")}
# In a key group sops always writes these two lists, even empty.
_GROUP_ALWAYS = ("hc_vault", "age")
CRYPT_RULES = (
    "unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex",
    "unencrypted_comment_regex", "encrypted_comment_regex",
)
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"
CRYPT_RULES_ERROR = (
    "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, "
    "unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"
)


class KeyEntry(Record):
    """One master key as recorded in metadata: its type and wire fields (``enc`` included)."""

    __slots__ = __match_args__ = ("type", "fields")

    def __init__(self, type: str, fields: dict[str, Any]) -> None:
        self.type = type
        self.fields = fields

    @property
    def enc(self) -> str:
        return str(self.fields.get("enc") or "")

    @enc.setter
    def enc(self, value: str) -> None:
        self.fields["enc"] = value

    def identity(self) -> str:
        """What sops' ToString prints for this key (used in reports and key matching)."""
        kt = KEY_TYPES.get(self.type)
        return kt.identity(self.fields) if kt is not None else repr(self.fields)


class Metadata(Record):
    """The ``sops`` section."""

    __slots__ = __match_args__ = (
        "key_groups", "shamir_threshold", "lastmodified", "mac", *CRYPT_RULES, "mac_only_encrypted", "version")

    def __init__(self, key_groups: list[list[KeyEntry]] | None = None, shamir_threshold: int = 0,
                 lastmodified: str = "", mac: str = "", unencrypted_suffix: str = "", encrypted_suffix: str = "",
                 unencrypted_regex: str = "", encrypted_regex: str = "", unencrypted_comment_regex: str = "",
                 encrypted_comment_regex: str = "", mac_only_encrypted: bool = False, version: str = "") -> None:
        self.key_groups: list[list[KeyEntry]] = [] if key_groups is None else key_groups
        self.shamir_threshold = shamir_threshold
        self.lastmodified = lastmodified
        self.mac = mac
        self.unencrypted_suffix = unencrypted_suffix
        self.encrypted_suffix = encrypted_suffix
        self.unencrypted_regex = unencrypted_regex
        self.encrypted_regex = encrypted_regex
        self.unencrypted_comment_regex = unencrypted_comment_regex
        self.encrypted_comment_regex = encrypted_comment_regex
        self.mac_only_encrypted = mac_only_encrypted
        self.version = version

    def crypt_rule(self) -> tuple[str, str]:
        """The one crypt rule in force as (name, value); the default suffix when none is set."""
        for name in CRYPT_RULES:
            value = getattr(self, name)
            if value:
                return name, value
        return "unencrypted_suffix", DEFAULT_UNENCRYPTED_SUFFIX

    def lastmodified_aad(self) -> str:
        """lastmodified re-formatted as RFC 3339 (``Z``, no fraction): the MAC's AAD, as sops does."""
        return _normalise_rfc3339(self.lastmodified)


def check_crypt_rules(values: dict[str, str], exc: type[SopsError] = ConflictingParameters) -> None:
    if sum(1 for name in CRYPT_RULES if values.get(name)) > 1:
        raise exc(CRYPT_RULES_ERROR)


def _normalise_rfc3339(text: str) -> str:
    try:
        t = Time.parse_rfc3339(text)
    except ValueError:
        raise SopsError(
            f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}" as "2006"'
        ) from None
    # Go formats the parsed time in its own zone: keep the offset, drop the fraction.
    return t.rfc3339()


# ---------------------------------------------------------------- loading


def _plain(value: Any) -> Any:
    """A metadata value with comments dropped, branches as dicts and lists as lists."""
    if isinstance(value, Branch):
        return {k: _plain(v) for k, v in value if not isinstance(k, Comment)}
    if isinstance(value, list):
        return [_plain(v) for v in value if not isinstance(v, Comment)]
    return value


def _as_str(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"  # mapstructure weak typing
    if isinstance(value, (int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, Time):
        return value.text
    raise SopsError(f"'{name}' expected type 'string', got {type(value).__name__}")


def _as_int(value: Any, name: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            try:
                f = float(value)  # sops 3.11 accepts "2.0" from flattened stores
                if f.is_integer():
                    return int(f)
            except ValueError:
                pass
    raise SopsError(f"cannot parse '{name}' as int: {value!r}")


def _as_bool(value: Any) -> bool:
    """mapstructure's weak bool decoding, as sops 3.13 reads mac_only_encrypted."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value == "":
            return False
        if value in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if value in ("0", "f", "F", "FALSE", "false", "False"):
            return False
        raise SopsError(f"cannot parse 'mac_only_encrypted' as bool: strconv.ParseBool: parsing {value!r}: "
                        "invalid syntax")
    if isinstance(value, (int, float)):
        return value != 0
    raise SopsError(f"'mac_only_encrypted' expected type 'bool', got {type(value).__name__}")


def _load_key(kind: str, raw: Any) -> KeyEntry:
    if not isinstance(raw, dict):
        raise SopsError(f"invalid {kind} key entry in sops metadata")
    fields: dict[str, Any] = {}
    for name in KEY_TYPES[kind].fields:
        if name == "context":
            ctx = raw.get("context")
            if ctx:
                if not isinstance(ctx, dict):
                    raise SopsError("invalid kms context in sops metadata")
                fields["context"] = {str(k): _as_str(v, "context") for k, v in ctx.items()}
            continue
        fields[name] = _as_str(raw.get(name), name)
    if "created_at" in fields:
        try:
            Time.parse_rfc3339(fields["created_at"])
        except ValueError:
            raise SopsError(
                f'parsing time "{fields["created_at"]}" as "2006-01-02T15:04:05Z07:00": '
                f'cannot parse "{fields["created_at"]}" as "2006"'
            ) from None
    return KeyEntry(kind, fields)


def _load_group(raw: dict[str, Any]) -> list[KeyEntry]:
    group: list[KeyEntry] = []
    for kind in KEY_TYPES:
        entries = raw.get(kind) or []
        if not isinstance(entries, list):
            raise SopsError(f"invalid '{kind}' list in sops metadata")
        group.extend(_load_key(kind, e) for e in entries)
    return group


# The Go types of sops 3.11's metadata struct, for the typed stores' checks (``check_typed``).
_GO_LIST_TYPES = {"key_groups": "keygroup", "kms": "kmskey", "gcp_kms": "gcpkmskey", "azure_kv": "azkvkey",
                  "hc_vault": "vaultkey", "age": "agekey", "pgp": "pgpkey"}
_GO_STRINGS = ("lastmodified", "mac", "version", *CRYPT_RULES)
_YAML_TAGS = {str: "!!str", bool: "!!bool", int: "!!int", float: "!!float", dict: "!!map", list: "!!seq"}


def _json_kind(value: Any) -> str:
    """How Go's UnmarshalTypeError names a JSON value (``Value``)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "number"


def check_typed(raw: dict[str, Any], store: str) -> None:
    """Refuse metadata whose types sops never writes in a typed store (JSON, YAML): a string or an
    out-of-range shamir_threshold, key lists that are not lists... sops 3.11 decoded the section into
    a Go struct and refused these; 3.13 converts them weakly. Being strict costs no real file and
    keeps a hand-edited (or hostile) section from being read in a way its author did not see.
    Messages follow sops 3.11's (YAML without the line number, which the tree does not keep)."""

    def fail(name: str, value: Any, go_type: str) -> None:
        if store == "json":
            kind = _json_kind(value)
            if kind == "number" and go_type == "int":
                kind = f"number {value}"
            raise SopsError(f"Error unmarshalling input json: json: cannot unmarshal {kind} into Go struct "
                            f"field Metadata.sops.{name} of type {go_type}")
        tag = _YAML_TAGS.get(type(value), "!!str")
        shown = "" if isinstance(value, (dict, list)) else f" `{value}`"
        raise SopsError(f"Error unmarshalling input yaml: yaml: unmarshal errors: cannot unmarshal "
                        f"{tag}{shown} into {go_type} (sops.{name})")

    st = raw.get("shamir_threshold")
    if st is not None:
        if isinstance(st, bool) or not isinstance(st, (int, float)):
            fail("shamir_threshold", st, "int")
        if isinstance(st, float) and not st.is_integer():  # 2.0: old JSON files may hold one
            fail("shamir_threshold", st, "int")
        if not -(1 << 63) <= st < (1 << 63):
            fail("shamir_threshold", st, "int")
    for name, elem in _GO_LIST_TYPES.items():
        value = raw.get(name)
        if value is not None and not isinstance(value, list):
            fail(name, value, f"[]stores.{elem}")
    moe = raw.get("mac_only_encrypted")
    if store == "json":
        if moe is not None and not isinstance(moe, bool):
            fail("mac_only_encrypted", moe, "bool")
        for name in _GO_STRINGS:
            value = raw.get(name)
            if value is not None and not isinstance(value, str):
                fail(name, value, "string")


def load(branch: Any, store: str = "") -> Metadata:
    """Build Metadata from the ``sops`` value of a tree (a Branch), validating like sops' ToInternal.
    ``store``: "json" or "yaml" when the section comes from a typed store (see ``check_typed``)."""
    raw = _plain(branch)
    if not isinstance(raw, dict):
        raise SopsError("Found sops entry that is not a mapping")
    if store:
        check_typed(raw, store)
    md = Metadata()
    md.lastmodified = _as_str(raw.get("lastmodified"), "lastmodified")
    md.lastmodified_aad()  # validates, as sops parses it on load
    if any(raw.get(kind) for kind in KEY_TYPES):
        md.key_groups = [_load_group(raw)]
    elif raw.get("key_groups"):
        groups = raw["key_groups"]
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise SopsError("invalid 'key_groups' in sops metadata")
        md.key_groups = [_load_group(g) for g in groups]
    else:
        raise SopsError("No keys found in file")
    md.shamir_threshold = _as_int(raw.get("shamir_threshold"), "shamir_threshold")
    md.mac = _as_str(raw.get("mac"), "mac")
    md.version = _as_str(raw.get("version"), "version")
    md.mac_only_encrypted = _as_bool(raw.get("mac_only_encrypted"))
    rules = {name: _as_str(raw.get(name), name) for name in CRYPT_RULES}
    check_crypt_rules(rules, SopsError)
    for name, value in rules.items():
        setattr(md, name, value)
    if not any(rules.values()):
        md.unencrypted_suffix = DEFAULT_UNENCRYPTED_SUFFIX
    return md


# ---------------------------------------------------------------- writing


def _key_branch(key: KeyEntry) -> Branch:
    out = Branch()
    kt = KEY_TYPES.get(key.type)
    for name in sorted(kt.fields if kt is not None else tuple(key.fields)):
        value = key.fields.get(name, "")
        if (key.type, name) in _OMIT_EMPTY and not value:
            continue
        if name == "context":
            value = Branch(sorted(value.items()))
        out.append((name, value))
    return out


def _group_items(group: list[KeyEntry], always: tuple[str, ...]) -> list[tuple[str, Any]]:
    items = []
    for kind in KEY_TYPES:
        keys = [_key_branch(k) for k in group if k.type == kind]
        if keys or kind in always:
            items.append((kind, keys))
    return items


def to_branch(md: Metadata) -> Branch:
    """The ``sops`` mapping as sops 3.13 writes it (all keys sorted)."""
    items: list[tuple[str, Any]] = []
    if len(md.key_groups) == 1:
        items.extend(_group_items(md.key_groups[0], ()))
    elif md.key_groups:
        items.append(
            ("key_groups", [Branch(sorted(_group_items(g, _GROUP_ALWAYS))) for g in md.key_groups])
        )
    items.append(("lastmodified", md.lastmodified))
    items.append(("mac", md.mac))
    if md.mac_only_encrypted:
        items.append(("mac_only_encrypted", True))
    if md.shamir_threshold:
        items.append(("shamir_threshold", md.shamir_threshold))
    for name in CRYPT_RULES:
        if getattr(md, name):
            items.append((name, getattr(md, name)))
    items.append(("version", md.version))
    return Branch(sorted(items, key=lambda kv: kv[0]))


def version_tuple(version: str) -> tuple[int, int, int]:
    import re  # rarely used: not at start-up

    m = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    if not m:
        raise FailedToCompareVersions(f"Invalid Semantic Version: {version!r}")
    return tuple(int(g or 0) for g in m.groups())  # type: ignore[return-value]
