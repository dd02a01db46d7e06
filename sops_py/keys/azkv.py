"""Azure Key Vault master keys, as sops' ``azkv/keysource.go`` (azkeys v1.4, azidentity v1.13).

What sops does, and so what this module does:

* Wrap: ``POST {vault_url}/keys/{name}/{version}/encrypt?api-version=7.6`` with
  ``{"alg": "RSA-OAEP-256", "value": base64url(data key)}``; ``enc`` is the returned ``value``
  re-encoded as base64url without padding. Unwrap: ``enc`` is decoded (strictly: no padding, as Go's
  ``RawURLEncoding``) and sent to ``.../decrypt`` the same way. Every call goes to the vault: no key
  material is fetched and nothing is encrypted locally (``CryptographyClient`` would fetch the public
  key and encrypt locally; this module sends the requests through ``KeyClient.send_request`` instead,
  so the vault sees exactly sops' requests and enforces its own policy on every wrap).
* A key without a version (``--azure-kv https://v.vault.azure.net/keys/name``, a flat rule's URL, a
  ``key_groups`` item without ``version``): sops reads ``GET {vault_url}/keys/{name}/`` when it builds
  the key from the flag, variable or rule, with the local credentials (even when only a remote key
  service wraps), and records the version of the returned ``kid``. ``resolve_versions`` does the same
  for every such key of a command at once (the lookups run concurrently; the first failure in sops'
  order is reported, as sops stops at it): ``failed to fetch Azure Key to retrieve key version: ...``,
  exit 1. So key services get the version in the request, and ``rotate --rm-azure-kv`` /
  ``updatekeys`` compare the resolved key with the stored one. A wrap or unwrap never looks a version
  up: like sops, a key that still has none (a hand-edited file, a key service request without one)
  is sent as ``POST {vault_url}/keys/{name}/encrypt`` (azcore joins paths as Go's ``path.Join``, so
  the empty version leaves no segment), which Key Vault reads as a version named ``encrypt``: the
  call fails as sops' does.
* Credentials: sops uses azidentity's ``DefaultAzureCredential``: environment (client secret or
  certificate), workload identity (``AZURE_FEDERATED_TOKEN_FILE`` + ``AZURE_CLIENT_ID`` +
  ``AZURE_TENANT_ID``), managed identity, Azure CLI, Azure Developer CLI, Azure PowerShell; it honours
  ``AZURE_TOKEN_CREDENTIALS`` and ``AZURE_AUTHORITY_HOST``. This module builds azure-identity's
  ``DefaultAzureCredential`` without the links Go's chain does not have (shared token cache, VS Code,
  broker; interactive browser is off by default), so the same credentials work in the same order
  (Python tries PowerShell before azd). The Azure SDKs read the *process* environment (``AZURE_*``,
  ``IDENTITY_*``, ``MSI_*``, proxies); the mapping given to ``make_backend`` supplies only
  ``SSL_CERT_FILE``, which Go honours and Python's ``requests`` does not: when it is set and neither
  ``REQUESTS_CA_BUNDLE`` nor ``CURL_CA_BUNDLE`` is, it becomes the CA bundle for vault and token calls.
* Errors carry sops' texts: ``failed to encrypt sops data key with Azure Key Vault key '<url>': `` (or
  ``decrypt``) followed by azcore's ``ResponseError`` rendering of a failed response (method and URL,
  ``RESPONSE <code>: <status>``, ``ERROR CODE``, the body indented as Go's ``json.Indent``), by
  ``<Method> "<url>": <reason>`` for a transport failure, or by the credential chain's failure under
  Go's heading ``DefaultAzureCredential: failed to acquire a token.`` (the lines under it are
  azure-identity's own). Tokens and the data key never appear in messages.

Time bounds (sops relies on Go's defaults: 10 s TLS handshake, 3 retries, no overall limit; a vault
that never completes the TLS handshake took sops ~50 s): connect (TCP, proxy tunnel, TLS) 10 s, read
20 s, at most 3 retries (azure-core's exponential back-off from 0.8 s; a POST whose response was lost
is not retried), and at most 30 s for all tries of one call (azure-core's retry ``timeout``). The same
limits apply to the credentials' token requests; DefaultAzureCredential's managed identity probe
keeps its own short timeout.

Clients (one ``KeyClient`` per vault URL, one credential per backend) are built lazily under a lock;
each call's state is local, so one backend serves concurrent wraps.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import log
from ..errors import SopsError
from ..metadata import KeyEntry
from . import KeyFailed, registry
from .keylog import logged

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.keyvault.keys import KeyClient

API_VERSION = "7.6"  # what sops' azkeys v1.4.0 sends
ALGORITHM = "RSA-OAEP-256"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 20.0
RETRIES = 3
CALL_TIMEOUT = 30.0  # all tries of one call together
_SEPARATOR = "-" * 80
_DAC_PY_HEADING = "DefaultAzureCredential failed to retrieve a token from the included credentials."
_DAC_GO_HEADING = "DefaultAzureCredential: failed to acquire a token."
_PY_TROUBLESHOOT = "To mitigate this issue, please refer to the troubleshooting guidelines"


class ResolveFailed(SopsError):
    """A versionless key's current version could not be read: sops' plain error (exit 1), reported
    where the key was named, not under the key in a data-key report. Printed as is: azcore's rendering
    ends with a newline, and sops adds its own."""

    verbatim = True


class _SDK:
    """The Azure SDK names this module uses, imported on first use."""

    def __init__(self) -> None:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise registry.missing_extra("azure-identity", "azure") from None
        try:
            from azure.core import exceptions
            from azure.core.rest import HttpRequest
            from azure.keyvault.keys import KeyClient
        except ImportError:
            raise registry.missing_extra("azure-keyvault-keys", "azure") from None
        import logging

        # azure-identity logs the chain's failure as a warning too; without a handler of its own that
        # would reach stderr through logging's last resort, beside sops' report (apps' handlers still see it)
        azure_log = logging.getLogger("azure")
        if not any(isinstance(h, logging.NullHandler) for h in azure_log.handlers):
            azure_log.addHandler(logging.NullHandler())
        self.DefaultAzureCredential = DefaultAzureCredential
        self.KeyClient = KeyClient
        self.HttpRequest = HttpRequest
        self.exc = exceptions


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def decode_raw_url(text: str) -> bytes:
    """Go's ``base64.RawURLEncoding.DecodeString``: no padding, CR/LF skipped; ValueError with Go's text."""
    data = text.encode("utf-8", "surrogateescape")
    kept = bytearray()
    starts: list[int] = []  # input offset of each kept character
    for i, c in enumerate(data):
        if c in b"\r\n":
            continue
        if c not in _B64URL:
            raise ValueError(f"illegal base64 data at input byte {i}")
        kept.append(c)
        starts.append(i)
    if len(kept) % 4 == 1:
        raise ValueError(f"illegal base64 data at input byte {starts[-1]}")
    return base64.urlsafe_b64decode(bytes(kept) + b"=" * (-len(kept) % 4))


def go_json_indent(body: bytes) -> bytes | None:
    """Go's ``json.Indent(body, "", "  ")``: strings copied verbatim; None when body is not JSON."""
    try:
        json.loads(body, parse_constant=_reject)
    except (ValueError, UnicodeDecodeError):
        return None
    src = body.lstrip(b" \t\r\n")
    out = bytearray()
    depth = 0
    i = 0
    need_indent = False
    end = len(src.rstrip(b" \t\r\n"))
    while i < end:
        c = src[i:i + 1]
        i += 1
        if c in (b" ", b"\t", b"\r", b"\n"):
            continue
        if need_indent:
            need_indent = False
            if c in (b"}", b"]"):  # an empty object or array stays compact
                out += c
                continue
            depth += 1
            out += b"\n" + b"  " * depth
        if c == b'"':
            j = i
            while src[j:j + 1] != b'"':
                j += 2 if src[j:j + 1] == b"\\" else 1
            out += src[i - 1:j + 1]
            i = j + 1
        elif c in (b"{", b"["):
            need_indent = True
            out += c
        elif c in (b"}", b"]"):
            depth -= 1
            out += b"\n" + b"  " * depth + c
        elif c == b",":
            out += b",\n" + b"  " * depth
        elif c == b":":
            out += b": "
        else:
            out += c
    return bytes(out) + src[end:]


def _reject(name: str) -> None:
    raise ValueError(name)


def _error_code(headers: Mapping[str, str], body: bytes) -> str:
    """azcore's error code: the x-ms-error-code header, else ``code`` in the (``error``-wrapped) JSON body."""
    code = headers.get("x-ms-error-code", "")
    if code:
        return code
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(obj, dict):
        return ""
    for wrapper in ("error", "odata.error"):
        if wrapper in obj:
            obj = obj[wrapper]
            if not isinstance(obj, dict):
                return ""
            break
    found = obj.get("code")
    return found if isinstance(found, str) else ""


def response_error(method: str, url: str, status: int, reason: str, headers: Mapping[str, str],
                   body: bytes) -> str:
    """azcore's ``ResponseError.Error()`` for a failed response."""
    parts = urllib.parse.urlsplit(url)
    lines = [f"{method} {parts.scheme}://{parts.netloc}{urllib.parse.unquote(parts.path)}", _SEPARATOR,
             f"RESPONSE {status}: {status} {reason}".rstrip()]
    code = _error_code(headers, body)
    lines.append(f"ERROR CODE: {code}" if code else "ERROR CODE UNAVAILABLE")
    lines.append(_SEPARATOR)
    if body:
        pretty = go_json_indent(body)
        lines.append((pretty if pretty is not None else body).decode("utf-8", "replace"))
    else:
        lines.append("Response contained no body")
    lines.append(_SEPARATOR)
    return "\n".join(lines) + "\n"


def _credential_message(text: str) -> str:
    """azure-identity's chain failure under Go's heading (the per-credential lines are Python's)."""
    lines = text.strip().split("\n")
    if lines and lines[0].strip() == _DAC_PY_HEADING:
        lines[0] = _DAC_GO_HEADING
        lines = [ln for ln in lines if not ln.startswith(_PY_TROUBLESHOOT)]
    return "\n".join(lines)


def _transport_reason(e: BaseException) -> str:
    """The innermost useful text of a transport failure (requests/urllib3 nest theirs)."""
    text = str(e.message if hasattr(e, "message") else e)
    marker = "(Caused by "
    if marker in text:
        text = text[text.index(marker) + len(marker):].removesuffix(")")
    return text


def _azkv_fields(entry: KeyEntry) -> dict[str, object]:
    """The fields of sops' AZKV log lines: the key's name and version."""
    return {"key": entry.fields.get("name", ""), "version": entry.fields.get("version", "")}


class AzureKeyVaultBackend:
    """Wraps and unwraps data keys with Azure Key Vault keys (one credential for every vault)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._sdk: _SDK | None = None
        self._credential: TokenCredential | None = None
        self._clients: dict[str, KeyClient] = {}

    def _pipeline_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"connection_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT,
                                "retry_total": RETRIES, "timeout": CALL_TIMEOUT}
        bundle = self._env.get("SSL_CERT_FILE", "")
        # requests (the SDK's transport) reads its own CA variables from the process environment
        if bundle and not (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")):
            opts["connection_verify"] = bundle
        return opts

    def _client(self, vault_url: str, purpose: str) -> tuple[_SDK, KeyClient]:
        with self._lock:
            if self._sdk is None:
                self._sdk = _SDK()
            sdk = self._sdk
            client = self._clients.get(vault_url)
            if client is None:
                opts = self._pipeline_options()
                if self._credential is None:
                    try:
                        self._credential = sdk.DefaultAzureCredential(
                            exclude_shared_token_cache_credential=True, exclude_visual_studio_code_credential=True,
                            exclude_broker_credential=True, **opts)
                    except ValueError as e:  # a bad setting (AZURE_AUTHORITY_HOST not https, ...)
                        raise KeyFailed(f"failed to get Azure token credential to {purpose}: {e}") from None
                client = self._clients[vault_url] = sdk.KeyClient(vault_url, self._credential,
                                                                  api_version=API_VERSION, **opts)
            return sdk, client

    def _call(self, vault_url: str, method: str, path: str, body: dict[str, str] | None,
              prefix: str, purpose: str) -> dict[str, Any]:
        """One Key Vault request; the parsed JSON of a 200 answer, else KeyFailed(prefix + sops' text)
        (``purpose`` words a credential that cannot be built, as sops does)."""
        sdk, client = self._client(vault_url, purpose)
        url = f"{vault_url}{path}?api-version={API_VERSION}"
        try:
            resp = client.send_request(sdk.HttpRequest(method, path, json=body))
            status, content = resp.status_code, resp.read()
        except sdk.exc.ClientAuthenticationError as e:  # the credential chain found no token
            raise KeyFailed(prefix + _credential_message(str(e.message))) from None
        except (sdk.exc.ServiceRequestError, sdk.exc.ServiceResponseError) as e:
            raise KeyFailed(f'{prefix}{method.title()} "{url}": {_transport_reason(e)}') from None
        except sdk.exc.AzureError as e:
            raise KeyFailed(f"{prefix}{e.message}") from None
        except ValueError as e:  # the challenge policy refuses a resource that does not match the vault
            raise KeyFailed(f"{prefix}{e}") from None
        if status != 200:
            raise KeyFailed(prefix + response_error(method, url, status, resp.reason or "", resp.headers, content))
        try:
            result = json.loads(content)
        except (ValueError, UnicodeDecodeError) as e:
            raise KeyFailed(f"{prefix}unexpected response from {url}: {e}") from None
        if not isinstance(result, dict):
            raise KeyFailed(f"{prefix}unexpected response from {url}")
        return result

    def _operation(self, entry: KeyEntry, op: str, value: bytes) -> bytes:
        f = entry.fields
        vault_url, name, version = str(f.get("vault_url", "")), str(f.get("name", "")), str(f.get("version", ""))
        ident = f"{vault_url}/keys/{name}/{version}"
        prefix = f"failed to {op} sops data key with Azure Key Vault key '{ident}': "
        # azcore joins the path as Go's path.Join: an empty version leaves no empty segment behind
        path = f"/keys/{_quote(name)}/{_quote(version)}/{op}" if version else f"/keys/{_quote(name)}/{op}"
        result = self._call(vault_url, "POST", path, {"alg": ALGORITHM, "value": b64url(value)}, prefix,
                            "encrypt data" if op == "encrypt" else "decrypt")
        out = result.get("value")
        try:
            if not isinstance(out, str):
                raise ValueError("no value in the response")
            return base64.urlsafe_b64decode(out + "=" * (-len(out) % 4))
        except (ValueError, binascii.Error) as e:
            raise KeyFailed(f"{prefix}unexpected response: {e}") from None

    def resolve_version(self, entry: KeyEntry) -> None:
        """sops' ensureKeyHasVersion: a versionless key gets the vault's current version (from ``kid``)."""
        if entry.fields.get("version"):
            return
        vault_url, name = str(entry.fields.get("vault_url", "")), str(entry.fields.get("name", ""))
        prefix = "failed to fetch Azure Key to retrieve key version: "
        try:
            result = self._call(vault_url, "GET", f"/keys/{_quote(name)}/", None, prefix, "retrieve key version")
            key = result.get("key")
            kid = key.get("kid") if isinstance(key, dict) else None
            version = kid_version(kid) if isinstance(kid, str) else ""
            if not version:  # Go would record "" here (or panic on a missing kid); refuse instead
                raise KeyFailed(f"{prefix}the vault's answer has no versioned key id (kid): {kid!r}")
        except Exception:
            log.info("Encryption failed", name="AZKV", fields=_azkv_fields(entry))  # sops' words, version ""
            raise
        entry.fields["version"] = version
        log.info("Version fetch succeeded", name="AZKV", fields=_azkv_fields(entry))

    @logged("AZKV", _azkv_fields, encrypt=True)
    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        return b64url(self._operation(entry, "encrypt", secret))

    @logged("AZKV", _azkv_fields, encrypt=False)
    def unwrap(self, entry: KeyEntry) -> bytes:
        try:
            raw = decode_raw_url(entry.enc)
        except ValueError as e:
            raise KeyFailed(f"failed to base64 decode Azure Key Vault encrypted key: {e}") from None
        return self._operation(entry, "decrypt", raw)


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def kid_version(kid: str) -> str:
    """azkeys' ``ID.Version()``: the third path segment of a key id (``/keys/NAME/VERSION``), else ""."""
    segments = urllib.parse.urlsplit(kid).path.lstrip("/").split("/")
    return segments[2] if len(segments) > 2 and segments[0] == "keys" else ""


def needs_version(entry: KeyEntry) -> bool:
    return entry.type == "azure_kv" and not entry.fields.get("version")


def resolve_versions(entries: Sequence[KeyEntry], env: Mapping[str, str]) -> None:
    """Give every versionless key among ``entries`` the vault's current version, as sops does when it
    builds keys from flags or .sops.yaml; raises ``ResolveFailed`` with sops' message (exit 1).

    sops looks the keys up one after the other and stops at the first failure; here the lookups run
    concurrently (one backend, so one credential and one client per vault) and the first failure in
    ``entries`` order is the one reported, the error sops would have printed."""
    pending = [e for e in entries if needs_version(e)]
    if not pending:
        return
    backend = AzureKeyVaultBackend(env)
    failures: list[BaseException | None] = [None] * len(pending)

    def run(i: int) -> None:
        try:
            backend.resolve_version(pending[i])
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread below
            failures[i] = e

    if len(pending) == 1:
        run(0)
    else:
        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(pending))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for failure in failures:
        if isinstance(failure, KeyFailed):
            raise ResolveFailed(str(failure)) from None
        if failure is not None:
            raise failure


def make_backend(env: Mapping[str, str]) -> AzureKeyVaultBackend:
    return AzureKeyVaultBackend(env)
