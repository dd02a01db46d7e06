"""Build master-key descriptors (``KeyEntry`` with an empty ``enc``) from CLI flags and .sops.yaml.

The registry (``keys.registry``) points at the builders here; each takes ``(values, KeyOptions)``.
Only the strings are parsed; no key-type library is imported except age's recipient check.
"""

from __future__ import annotations

from .errors import InvalidKMSEncryptionContext, SopsError
from .keys.registry import KEY_TYPES, ORDER_CONFIG, KeyOptions, with_others
from .metadata import KeyEntry

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

# compiled where used (`re` costs ms at start-up; age keys never need them)
_AZKV = r"^(https://[^/]+)/keys/([^/]+)(?:/([^/]*))?$"  # sops' NewMasterKeyFromURL (no "/" after a version)
_VAULT = r"^(https?://[^/]+)/v1/(.+)/keys/([^/]+)/?$"


def _now() -> str:
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_keys(recipients: list[str], options: KeyOptions | None = None) -> list[KeyEntry]:
    if not recipients:
        return []
    from .keys import age

    out = []
    for r in recipients:
        for parsed in age.parse_recipients(r):
            out.append(KeyEntry("age", {"recipient": parsed, "enc": ""}))
    return out


def pgp_keys(fps: list[str], options: KeyOptions | None = None) -> list[KeyEntry]:
    return [KeyEntry("pgp", {"created_at": _now(), "enc": "", "fp": fp.replace(" ", "")}) for fp in fps if fp]


def kms_keys(arns: list[str], options: KeyOptions | None = None) -> list[KeyEntry]:
    context = options.kms_context if options else {}
    profile = options.aws_profile if options else ""
    out = []
    for arn in arns:
        arn = arn.replace(" ", "")
        role = ""
        if "+arn:" in arn:  # sops splits a role ARN off at "+arn:"
            arn, role = arn.split("+arn:", 1)
            role = "arn:" + role
        fields: dict[str, Any] = {"arn": arn, "role": role, "created_at": _now(), "enc": "",
                                  "aws_profile": profile}
        if context:
            fields["context"] = dict(context)
        out.append(KeyEntry("kms", fields))
    return out


def gcp_keys(ids: list[str], options: KeyOptions | None = None) -> list[KeyEntry]:
    return [KeyEntry("gcp_kms", {"resource_id": i.replace(" ", ""), "created_at": _now(), "enc": ""})
            for i in ids]


def hckms_keys(ids: list[str], options: KeyOptions | None = None) -> list[KeyEntry]:
    """``REGION:UUID`` ids, validated with sops' messages (empty items skipped, as sops does)."""
    from .keys.hckms import parse_key_id  # the SDK itself is imported only when a key is used

    out = []
    for i in ids:
        i = i.strip()
        if not i:
            continue
        try:
            parse_key_id(i)
        except SopsError as e:
            raise SopsError(e.message) from None
        out.append(KeyEntry("hckms", {"key_id": i, "created_at": _now(), "enc": ""}))
    return out


def azkv_keys(urls: list[str], options: KeyOptions | None = None) -> list[KeyEntry]:
    out = []
    for u in urls:
        import re  # here, not above: most calls get no URL at all

        u = u.strip()
        m = re.match(_AZKV, u)
        if not m:
            from .gotext import go_quote

            raise SopsError(f"could not parse {go_quote(u)} into a valid Azure Key Vault MasterKey []")
        out.append(KeyEntry("azure_kv", {"vault_url": m.group(1), "name": m.group(2),
                                         "version": m.group(3) or "", "created_at": _now(), "enc": ""}))
    return out


def vault_keys(uris: list[str], options: KeyOptions | None = None) -> list[KeyEntry]:
    out = []
    for u in uris:
        import re  # here, not above: most calls get no URL at all

        m = re.match(_VAULT, u.strip())
        if not m:
            raise SopsError(f"could not parse {u!r} as a Vault transit key URI "
                            "(expected https://host:8200/v1/<engine>/keys/<name>)")
        out.append(KeyEntry("hc_vault", {"vault_address": m.group(1), "engine_path": m.group(2),
                                         "key_name": m.group(3), "created_at": _now(), "enc": ""}))
    return out


# ---------------------------------------------------------------- one item of a key_groups entry


def age_item(raw: Any) -> list[KeyEntry]:
    return age_keys([str(raw)])


def pgp_item(raw: Any) -> list[KeyEntry]:
    return pgp_keys([str(raw)])


def vault_item(raw: Any) -> list[KeyEntry]:
    return vault_keys([str(raw)])


def kms_item(raw: Any) -> list[KeyEntry]:
    if not isinstance(raw, dict):
        return []
    arn = str(raw.get("arn", ""))
    role = str(raw.get("role") or "")
    ctx = {str(a): str(b) for a, b in (raw.get("context") or {}).items()}
    return kms_keys([arn + ("+" + role if role else "")], KeyOptions(ctx, str(raw.get("aws_profile") or "")))


def gcp_item(raw: Any) -> list[KeyEntry]:
    return gcp_keys([str(raw.get("resource_id", ""))]) if isinstance(raw, dict) else []


def hckms_item(raw: Any) -> list[KeyEntry]:
    return hckms_keys([str(raw.get("key_id", ""))]) if isinstance(raw, dict) else []


def azkv_item(raw: Any) -> list[KeyEntry]:
    if not isinstance(raw, dict):
        return []
    return [KeyEntry("azure_kv", {"vault_url": str(raw.get("vaultUrl", "")), "name": str(raw.get("key", "")),
                                  "version": str(raw.get("version") or ""), "created_at": _now(), "enc": ""})]


def parse_encryption_context(text: str) -> dict[str, str]:
    """``k1:v1,k2:v2`` as sops' --encryption-context (malformed: exit 6)."""
    out: dict[str, str] = {}
    if not text:
        return out
    for pair in text.split(","):
        k, sep, v = pair.partition(":")
        if not sep or not k:
            raise InvalidKMSEncryptionContext("Invalid KMS encryption context format")
        out[k] = v
    return out


def dedupe(group: list[KeyEntry]) -> list[KeyEntry]:
    seen: set[tuple[str, str]] = set()
    out = []
    for k in group:
        ident = (k.type, k.identity())
        if ident not in seen:
            seen.add(ident)
            out.append(k)
    return out


def group_from_config(raw: Any) -> list[KeyEntry]:
    """One ``key_groups`` entry of a creation rule, ``merge`` included (recursively)."""
    if not isinstance(raw, dict):
        raise SopsError("invalid key group in config")
    group: list[KeyEntry] = []
    for sub in raw.get("merge") or []:
        group.extend(group_from_config(sub))
    for name in with_others(ORDER_CONFIG):
        kt = KEY_TYPES[name]
        for item in raw.get(kt.config_group[0]) or []:
            group += kt.build_from_group_item(item)
    return dedupe(group)
