"""Build master-key descriptors (``KeyEntry`` with an empty ``enc``) from CLI flags and .sops.yaml.

Only the strings are parsed here; no key-type library is imported except age's recipient check.
"""

from __future__ import annotations

from .errors import InvalidKMSEncryptionContext, SopsError
from .metadata import KeyEntry

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

# compiled where used (`re` costs ms at start-up; age keys never need them)
_AZKV = r"^(https://[^/]+)/keys/([^/]+)(?:/([^/]*))?/?$"
_VAULT = r"^(https?://[^/]+)/v1/(.+)/keys/([^/]+)/?$"


def _now() -> str:
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_keys(recipients: list[str]) -> list[KeyEntry]:
    if not recipients:
        return []
    from .keys import age

    out = []
    for r in recipients:
        for parsed in age.parse_recipients(r):
            out.append(KeyEntry("age", {"recipient": parsed, "enc": ""}))
    return out


def pgp_keys(fps: list[str]) -> list[KeyEntry]:
    return [KeyEntry("pgp", {"created_at": _now(), "enc": "", "fp": fp.replace(" ", "")}) for fp in fps if fp]


def kms_keys(arns: list[str], context: dict[str, str] | None, profile: str = "") -> list[KeyEntry]:
    out = []
    for arn in arns:
        arn = arn.replace(" ", "")
        role = ""
        if "+" in arn:
            arn, role = arn.split("+", 1)
        fields: dict[str, Any] = {"arn": arn, "role": role, "created_at": _now(), "enc": "",
                                  "aws_profile": profile}
        if context:
            fields["context"] = dict(context)
        out.append(KeyEntry("kms", fields))
    return out


def gcp_keys(ids: list[str]) -> list[KeyEntry]:
    return [KeyEntry("gcp_kms", {"resource_id": i.replace(" ", ""), "created_at": _now(), "enc": ""})
            for i in ids]


def hckms_keys(ids: list[str]) -> list[KeyEntry]:
    out = []
    for i in ids:
        i = i.strip()
        if ":" not in i:
            raise SopsError(f"invalid HuaweiCloud KMS key ID format: {i} (expected region:key-uuid)")
        out.append(KeyEntry("hckms", {"key_id": i, "created_at": _now(), "enc": ""}))
    return out


def azkv_keys(urls: list[str]) -> list[KeyEntry]:
    out = []
    for u in urls:
        import re  # here, not above: most calls get no URL at all

        m = re.match(_AZKV, u.strip())
        if not m:
            raise SopsError(f"could not parse {u!r} as an Azure Key Vault key URL")
        out.append(KeyEntry("azure_kv", {"vault_url": m.group(1), "name": m.group(2),
                                         "version": m.group(3) or "", "created_at": _now(), "enc": ""}))
    return out


def vault_keys(uris: list[str]) -> list[KeyEntry]:
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


def flat_group(*, age: list[str], pgp: list[str], kms: list[str], gcp_kms: list[str], hckms: list[str],
               azure_kv: list[str], hc_vault: list[str], kms_context: dict[str, str] | None = None,
               aws_profile: str = "") -> list[KeyEntry]:
    return (age_keys(age) + pgp_keys(pgp) + kms_keys(kms, kms_context, aws_profile) + gcp_keys(gcp_kms)
            + hckms_keys(hckms) + azkv_keys(azure_kv) + vault_keys(hc_vault))


def group_from_config(raw: Any) -> list[KeyEntry]:
    """One ``key_groups`` entry of a creation rule, ``merge`` included (recursively)."""
    if not isinstance(raw, dict):
        raise SopsError("invalid key group in config")
    group: list[KeyEntry] = []
    for sub in raw.get("merge") or []:
        group.extend(group_from_config(sub))
    group += age_keys([str(x) for x in raw.get("age") or []])
    group += pgp_keys([str(x) for x in raw.get("pgp") or []])
    for k in raw.get("kms") or []:
        if isinstance(k, dict):
            arn = str(k.get("arn", ""))
            role = str(k.get("role") or "")
            ctx = {str(a): str(b) for a, b in (k.get("context") or {}).items()}
            group += kms_keys([arn + ("+" + role if role else "")], ctx, str(k.get("aws_profile") or ""))
    group += gcp_keys([str(k.get("resource_id", "")) for k in raw.get("gcp_kms") or [] if isinstance(k, dict)])
    group += hckms_keys([str(k.get("key_id", "")) for k in raw.get("hckms") or [] if isinstance(k, dict)])
    for k in raw.get("azure_keyvault") or []:
        if isinstance(k, dict):
            group.append(KeyEntry("azure_kv", {"vault_url": str(k.get("vaultUrl", "")), "name": str(k.get("key", "")),
                                               "version": str(k.get("version") or ""), "created_at": _now(),
                                               "enc": ""}))
    group += vault_keys([str(x) for x in raw.get("hc_vault") or []])
    return dedupe(group)
