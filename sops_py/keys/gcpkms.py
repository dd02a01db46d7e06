"""GCP Cloud KMS master keys as sops uses them (``gcpkms/keysource.go``), through google-cloud-kms.

* ``wrap``: ``Encrypt{name=resource_id, plaintext=data key}``; ``enc`` is standard base64 of the
  ciphertext. ``unwrap``: ``Decrypt{name=resource_id, ciphertext=base64-decoded enc}``. Like sops, no
  additional authenticated data and no CRC32C checksums are sent. Unlike sops, a CRC32C checksum the
  service returns (``ciphertext_crc32c``, ``plaintext_crc32c``; Cloud KMS always sends them) is checked,
  so a response damaged in transit fails here rather than as a MAC error later.
* ``resource_id`` must match ``projects/*/locations/*/keyRings/*/cryptoKeys/*``; sops checks it when it
  builds the client, so an invalid one fails each wrap/unwrap with
  ``cannot create GCP KMS service: no valid resource ID found in "<id>"``.
* Credentials, in sops' order: ``GOOGLE_CREDENTIALS`` (a path to a credentials file if such a file
  exists, else the JSON itself: service account, authorized user, external account / workload identity
  federation, impersonated service account), then ``GOOGLE_OAUTH_ACCESS_TOKEN`` (a bearer token used as
  is), then the SDK's own application default credentials chain (``google.auth.default()``:
  ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's ADC file, the GCE/GKE metadata server). sops' variables are
  read from the ``env`` mapping; the SDK's chain reads the process environment itself.
* ``SOPS_GCP_KMS_CLIENT_TYPE=rest`` (any case) selects the REST transport, anything else gRPC.
  ``SOPS_GCP_KMS_ENDPOINT`` (``host:port``) overrides the endpoint; otherwise
  ``SOPS_GCP_KMS_UNIVERSE_DOMAIN`` gives ``cloudkms.<domain>`` (sops 3.13; the bearer token of
  ``GOOGLE_OAUTH_ACCESS_TOKEN`` is taken to belong to that universe). sops 3.12's quota project (the
  key's project), reverted in 3.13.1, is not set.
* Proxies: Go honours ``HTTPS_PROXY``/``https_proxy`` and ``NO_PROXY``/``no_proxy`` and never proxies
  a loopback host. Python's gRPC core only reads the lower-case names, so for gRPC the proxy is worked
  out here the Go way (from ``env``) and handed to the channel. The REST transport (requests) follows
  requests' own rules (process environment, both cases). TLS roots: gRPC trusts
  ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` or its bundled roots; REST trusts ``REQUESTS_CA_BUNDLE`` or certifi.
* Time bounds (sops' Go client waits up to 60 s with retries; that is too long for an unreachable
  endpoint): each attempt has a 10 s deadline, ``UNAVAILABLE`` and ``DEADLINE_EXCEEDED`` are retried
  with backoff (0.1 s, x1.3, at most 2 s apart) for 15 s in all. REST connection errors are not
  retried (as the SDK).
* Errors read as sops prints them: ``failed to encrypt sops data key with GCP KMS key: rpc error: code =
  PermissionDenied desc = ...`` over gRPC, ``...: googleapi: Error 403: ...`` over REST.
* The client is built once per backend, under a lock; calls may run from several threads at once.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from .. import gobase64
from ..gotext import go_quote
from ..metadata import KeyEntry
from . import KeyFailed, registry
from .keylog import logged

KEY_TYPE = "gcp_kms"
CREDENTIALS_ENV = "GOOGLE_CREDENTIALS"
OAUTH_TOKEN_ENV = "GOOGLE_OAUTH_ACCESS_TOKEN"
CLIENT_TYPE_ENV = "SOPS_GCP_KMS_CLIENT_TYPE"
ENDPOINT_ENV = "SOPS_GCP_KMS_ENDPOINT"
UNIVERSE_DOMAIN_ENV = "SOPS_GCP_KMS_UNIVERSE_DOMAIN"
DEFAULT_HOST = "cloudkms.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/cloudkms")
ATTEMPT_TIMEOUT = 10.0   # seconds, each call
RETRY_DEADLINE = 15.0    # seconds, all attempts of one call
_RESOURCE_ID = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+")
_ENCRYPT_FAILED = "failed to encrypt sops data key with GCP KMS key: "
_DECRYPT_FAILED = "failed to decrypt sops data key with GCP KMS key: "
_CANT_CREATE = "cannot create GCP KMS service: "
_NO_ADC = ("credentials: could not find default credentials. See "
           "https://cloud.google.com/docs/authentication/external/set-up-adc for more information")


class GcpKmsBackend:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._client: Any = None
        self._client_error: str | None = None
        self.rest = env.get(CLIENT_TYPE_ENV, "").lower() == "rest"

    # -------------------------------------------------------------- wrap / unwrap

    @logged("GCPKMS", lambda entry: {"resourceID": entry.fields.get("resource_id", "")}, encrypt=True)
    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        name = str(entry.fields.get("resource_id", ""))
        client = self._client_for(name)
        try:
            resp = client.encrypt(request={"name": name, "plaintext": secret}, **_call_options())
        except _call_errors() as e:
            raise KeyFailed(_ENCRYPT_FAILED + self._describe(e)) from None
        ciphertext = bytes(resp.ciphertext)
        if resp.ciphertext_crc32c is not None and resp.ciphertext_crc32c != crc32c(ciphertext):
            raise KeyFailed(_ENCRYPT_FAILED + "response corrupted in transit: ciphertext CRC32C mismatch")
        return base64.b64encode(ciphertext).decode("ascii")

    @logged("GCPKMS", lambda entry: {"resourceID": entry.fields.get("resource_id", "")}, encrypt=False)
    def unwrap(self, entry: KeyEntry) -> bytes:
        name = str(entry.fields.get("resource_id", ""))
        client = self._client_for(name)
        ciphertext = go_b64decode(entry.enc)
        try:
            resp = client.decrypt(request={"name": name, "ciphertext": ciphertext}, **_call_options())
        except _call_errors() as e:
            raise KeyFailed(_DECRYPT_FAILED + self._describe(e)) from None
        plaintext = bytes(resp.plaintext)
        if resp.plaintext_crc32c is not None and resp.plaintext_crc32c != crc32c(plaintext):
            raise KeyFailed(_DECRYPT_FAILED + "response corrupted in transit: plaintext CRC32C mismatch")
        return plaintext

    # -------------------------------------------------------------- the client

    def _client_for(self, name: str) -> Any:
        """The client, for a valid resource id; sops' message otherwise."""
        if not _RESOURCE_ID.fullmatch(name):
            raise KeyFailed(f"{_CANT_CREATE}no valid resource ID found in {go_quote(name)}")
        with self._lock:
            if self._client is None and self._client_error is None:
                try:
                    self._client = self._build()
                except KeyFailed as e:  # the same for every key of this operation: build once
                    self._client_error = str(e)
            if self._client_error is not None:
                raise KeyFailed(self._client_error)
            return self._client

    def _build(self) -> Any:
        try:
            import google.auth
            import google.auth.exceptions
            from google.api_core import client_options as co
            from google.cloud import kms_v1
        except ImportError:
            raise registry.missing_extra("google-cloud-kms", "gcp") from None
        options = co.ClientOptions()
        endpoint = self._env.get(ENDPOINT_ENV, "")
        universe = self._env.get(UNIVERSE_DOMAIN_ENV, "")
        if endpoint:
            options.api_endpoint = endpoint
        elif universe:
            options.universe_domain = universe
        try:
            credentials = self._credentials(universe if not endpoint else "")
            transport: Any = "rest" if self.rest else self._grpc_transport(endpoint, universe)
            return kms_v1.KeyManagementServiceClient(credentials=credentials, client_options=options,
                                                     transport=transport)
        except google.auth.exceptions.DefaultCredentialsError as e:
            raise KeyFailed(_CANT_CREATE + _adc_message(e)) from None
        except (google.auth.exceptions.GoogleAuthError, ValueError) as e:
            raise KeyFailed(_CANT_CREATE + str(e)) from None

    def _credentials(self, universe: str) -> Any:
        """sops' order: GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN, else None (the SDK's ADC)."""
        raw = self._env.get(CREDENTIALS_ENV, "")
        if raw:
            if os.path.exists(raw):
                try:
                    with open(raw, "rb") as f:
                        data = f.read()
                except OSError as e:
                    raise KeyFailed(f"{_CANT_CREATE}credentials: failed to obtain credentials from "
                                    f"{go_quote(CREDENTIALS_ENV)}: {e.strerror}") from None
            else:
                data = raw.encode("utf-8", "surrogateescape")
            import google.auth

            try:
                info = json.loads(data)
            except (ValueError, UnicodeDecodeError) as e:
                raise KeyFailed(f"{_CANT_CREATE}credentials: invalid JSON in {CREDENTIALS_ENV}: "
                                f"{type(e).__name__}") from None  # never the text: it may hold a key
            if not isinstance(info, dict):
                raise KeyFailed(f"{_CANT_CREATE}credentials: {CREDENTIALS_ENV} is not a JSON object")
            auth: Any = google.auth  # untyped
            creds, _ = auth.load_credentials_from_dict(info, default_scopes=list(SCOPES))
            return creds
        token = self._env.get(OAUTH_TOKEN_ENV, "")
        if token:
            import google.oauth2.credentials

            oauth2: Any = google.oauth2.credentials  # untyped
            if universe:
                return oauth2.Credentials(token, universe_domain=universe)
            return oauth2.Credentials(token)
        return None

    def _grpc_transport(self, endpoint: str, universe: str) -> Any:
        """A transport factory whose channel takes its proxy from ``env`` the way Go does."""
        host = endpoint or f"cloudkms.{universe or 'googleapis.com'}"
        proxy_opts = grpc_proxy_options(self._env, host)
        from google.cloud.kms_v1.services.key_management_service.transports import (
            KeyManagementServiceGrpcTransport as grpc_transport,
        )

        def channel(target: str, **kw: Any) -> Any:
            kw["options"] = [*kw.get("options", ()), *proxy_opts]
            return grpc_transport.create_channel(target, **kw)

        def make(**kw: Any) -> Any:
            return grpc_transport(channel=channel, **kw)

        return make

    # -------------------------------------------------------------- calls and errors

    def _describe(self, e: BaseException) -> str:
        """The error as Go's client prints it (gRPC status or googleapi.Error), without credentials."""
        from google.api_core import exceptions as exc

        if isinstance(e, exc.RetryError) and e.cause is not None:
            e = e.cause
        if isinstance(e, exc.GoogleAPICallError):
            if self.rest:
                return f"googleapi: Error {e.code}: {_rest_message(e)}".rstrip()
            code = e.grpc_status_code
            name = "".join(w.capitalize() for w in code.name.split("_")) if code is not None else "Unknown"
            return f"rpc error: code = {'Canceled' if name == 'Cancelled' else name} desc = {e.message}"
        return str(e) or type(e).__name__


def _call_options() -> dict[str, Any]:
    """Bounded time for one call: per-attempt deadline, retries of transient failures within a deadline."""
    from google.api_core import exceptions, retry

    pred = retry.if_exception_type(exceptions.ServiceUnavailable, exceptions.DeadlineExceeded)
    return {"retry": retry.Retry(initial=0.1, maximum=2.0, multiplier=1.3, predicate=pred, timeout=RETRY_DEADLINE),
            "timeout": ATTEMPT_TIMEOUT}


def _call_errors() -> tuple[type[BaseException], ...]:
    """What a call may raise for a service or network failure (never a bug in this module)."""
    import google.auth.exceptions
    from google.api_core import exceptions

    errors: list[type[BaseException]] = [exceptions.GoogleAPIError, google.auth.exceptions.GoogleAuthError]
    try:
        import requests
    except ImportError:  # the gRPC transport does not need it
        pass
    else:
        errors.append(requests.exceptions.RequestException)
    return tuple(errors)


def _rest_message(e: Any) -> str:
    """The service's own ``error.message`` (the SDK prefixes it with the method and URL)."""
    response = getattr(e, "response", None)
    try:
        payload = response.json() if response is not None else None
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("message", ""))
    return str(e.message)


def _adc_message(e: BaseException) -> str:
    text = str(e)
    if "default credentials were not found" in text:
        return _NO_ADC
    return "credentials: " + text


def grpc_proxy_options(env: Mapping[str, str], host: str) -> list[tuple[str, Any]]:
    """gRPC channel options routing ``host`` (``name`` or ``name:port``) as Go's ProxyFromEnvironment."""
    proxy = env.get("HTTPS_PROXY") or env.get("https_proxy") or ""
    name = urllib.parse.urlsplit("//" + host).hostname or host
    if proxy and not _is_loopback(name):
        no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
        bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - not in typeshed
        if not (no_proxy and bypass(name, {"no": no_proxy})):
            return [("grpc.http_proxy", proxy)]
    return [("grpc.enable_http_proxy", 0)]


def _is_loopback(name: str) -> bool:
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------ Go's base64.StdEncoding, CRC32C

def go_b64decode(text: str) -> bytes:
    """``text`` decoded as Go's base64.StdEncoding (CR/LF skipped, padding required, trailing bits
    ignored); Go's ``illegal base64 data at input byte N`` otherwise (sops prints it bare)."""
    try:
        return gobase64.decode(text.encode("utf-8", "surrogateescape"))
    except gobase64.GoBase64Error as e:
        raise KeyFailed(str(e)) from None


def _crc32c_entry(c: int) -> int:
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c


_CRC32C = tuple(_crc32c_entry(i) for i in range(256))


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as Cloud KMS checksums; inputs are a few hundred bytes at most."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def make_backend(env: Mapping[str, str]) -> GcpKmsBackend:
    return GcpKmsBackend(env)
