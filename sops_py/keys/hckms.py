"""HuaweiCloud KMS master keys (metadata list ``hckms``), as sops' ``hckms/keysource.go`` uses them.

A key is ``REGION:UUID``. Wrapping calls ``POST /v1.0/{project_id}/kms/encrypt-data`` with
``{"key_id": UUID, "plain_text": base64(data key), "encryption_algorithm": "SYMMETRIC_DEFAULT"}`` and
stores the returned ``cipher_text`` unchanged as ``enc``. Unwrapping calls ``decrypt-data`` with
``{"cipher_text": enc, "key_id": UUID, "encryption_algorithm": "SYMMETRIC_DEFAULT"}`` and base64-decodes
``plain_text``. Requests go through the official SDK (``huaweicloudsdkkms``, the ``huawei`` extra), which
signs them ``SDK-HMAC-SHA256`` as the Go SDK does; the SDK is imported on first use only.

Region and endpoint: ``HUAWEICLOUD_SDK_REGION_KMS_<REGION_UPPER_SNAKE>`` (comma-separated endpoints),
read from the ``env`` mapping, overrides the endpoint as in the Go SDK, for any region name; otherwise
the SDK's own region chain (the same variable in the process environment, then
``~/.huaweicloud/regions.yaml``) and its built-in list decide, and an unknown region fails with sops'
``invalid region`` message.

Credentials: the SDK's basic credential chain, in its order (OIDC federation from
``HUAWEICLOUD_OIDC_*``, environment, profile file ``$HUAWEICLOUD_SDK_CREDENTIALS_FILE`` or
``~/.huaweicloud/credentials``, ECS metadata service, pod identity). sops' Go chain is environment,
profile, metadata. The environment link reads the ``env`` mapping (``HUAWEICLOUD_SDK_AK``, ``_SK``,
``_SECURITY_TOKEN``, ``_PROJECT_ID``, or ``_IDP_ID`` with ``_ID_TOKEN_FILE``), like the SDK's. The
other links are the SDK's own and read the process environment. Without ``HUAWEICLOUD_SDK_PROJECT_ID``
the SDK looks the project up in IAM (``HUAWEICLOUD_SDK_IAM_ENDPOINT`` overrides where). The Python SDK's
chain stops at the first transport error (one from the metadata service, off ECS). sops-py instead
records that error and tries the next link, as the Go chain does. Clients are built once per region
(under a lock) and shared by concurrent calls.

Time bounds: the Go SDK waits up to 120 s and does not retry. Here connects time out after 10 s and
reads after 30 s, and the SDK's retry count stays 0. The metadata link has the SDK's own 3 s + 3 s
bound. ``SSL_CERT_FILE`` in ``env``, which Go honours, becomes the CA bundle for HTTPS endpoints.

Messages are sops' own. A service error is the Go SDK's JSON rendering of it, with its trailing newline:
``failed to encrypt sops data key with HuaweiCloud KMS: {"status_code":404,...,"details":null}``.
A connection failure reads like Go's, for example ``Post "URL": dial tcp HOST:PORT: connect: connection
refused``. A missing credential reads ``failed to create HuaweiCloud KMS client: failed to get HuaweiCloud
credentials: {"ErrorMessage": "unable to get credential in providers:\\n..."}``, with each link's
reason, the Python SDK's wording for the links that are the SDK's own. No message contains a key,
token or signature.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Mapping
from typing import Any

from ..metadata import KeyEntry
from . import KeyFailed, registry
from .keylog import logged

KEY_TYPE = "hckms"
ALGORITHM = "SYMMETRIC_DEFAULT"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
RETRIES = 0
_CLIENT_FAILED = "failed to create HuaweiCloud KMS client: "
_ENCRYPT_FAILED = "failed to encrypt sops data key with HuaweiCloud KMS: "
_DECRYPT_FAILED = "failed to decrypt sops data key with HuaweiCloud KMS: "
_ENV_LINK_FAILED = '{"ErrorMessage": "AK&SK or IdpId&IdTokenFile does not exist"}'


def parse_key_id(key_id: str) -> tuple[str, str]:
    """``REGION:UUID`` -> (region, uuid), with sops' messages for malformed ids."""
    key_id = key_id.strip()
    region, sep, uuid = key_id.partition(":")
    if not sep:
        raise KeyFailed(f"invalid key ID format: expected 'region:key-uuid', got {json.dumps(key_id)}")
    if not region.strip():
        raise KeyFailed(f"region cannot be empty in key ID: {json.dumps(key_id)}")
    if not uuid.strip():
        raise KeyFailed(f"key UUID cannot be empty in key ID: {json.dumps(key_id)}")
    return region.strip(), uuid.strip()


def go_service_error(status: int, request_id: str, body: bytes) -> str:
    """The Go SDK's ``ServiceResponseError.Error()`` for an HTTP error answer (JSON plus a newline)."""
    err: dict[str, Any] = {"status_code": status, "request_id": request_id, "error_code": "",
                           "error_message": "", "encoded_authorization_message": "", "details": None}
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        _fill_error(data, err)
    if not err["error_message"]:
        err["error_message"] = text
    return json.dumps(err, ensure_ascii=False, separators=(",", ":")) + "\n"


def _fill_error(m: Mapping[str, Any], err: dict[str, Any]) -> None:
    def s(key: str) -> str:
        v = m.get(key)
        return v if isinstance(v, str) else ""

    if s("encoded_authorization_message"):
        err["encoded_authorization_message"] = s("encoded_authorization_message")
    if "details" in m:
        details = []
        for d in m["details"] if isinstance(m["details"], list) else []:
            if isinstance(d, dict):
                sub: dict[str, Any] = {"status_code": 0, "request_id": "", "error_code": "", "error_message": "",
                                       "encoded_authorization_message": "", "details": None}
                _fill_error(d, sub)
                details.append(sub)
        err["details"] = details or None
    for code, msg in (("error_code", "error_msg"), ("code", "message")):
        if s(code) and s(msg):
            err["error_code"], err["error_message"] = s(code), s(msg)
            return
    for v in m.values():
        if isinstance(v, dict):
            _fill_error(v, err)


def _chain(e: BaseException) -> list[BaseException]:
    """``e`` and what caused it (raise-from, context, urllib3's ``reason``, wrapped args), outermost first."""
    out: list[BaseException] = []
    x: BaseException | None = e
    while x is not None and x not in out and len(out) < 16:
        out.append(x)
        reason = getattr(x, "reason", None)
        nested = [a for a in x.args if isinstance(a, BaseException)]
        x = x.__cause__ or x.__context__ or (reason if isinstance(reason, BaseException) else None) \
            or (nested[0] if nested else None)
    return out


def transport_error(e: BaseException) -> str | None:
    """A connection or timeout failure worded as Go's ``net/http`` client words it, or None."""
    import socket
    from urllib.parse import urlsplit

    chain = _chain(e)
    request = next((r for r in (getattr(x, "request", None) for x in chain) if r is not None), None)
    if request is None or not getattr(request, "url", None):
        return None
    url = urlsplit(str(request.url))
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    for x in chain:
        conn = getattr(x, "conn", None)
        if conn is not None and getattr(conn, "host", None):
            host, port = conn.host, conn.port
    names = {type(x).__name__ for x in chain}
    dial = ("proxyconnect tcp: " if "ProxyError" in names else "") + f"dial tcp {host}:{port}: "
    if "ReadTimeout" in names or "ReadTimeoutError" in names:
        reason = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    elif any(isinstance(x, ConnectionRefusedError) for x in chain):
        reason = dial + "connect: connection refused"
    elif any(isinstance(x, socket.gaierror) for x in chain):
        reason = f"dial tcp: lookup {host}: no such host"
    elif any(isinstance(x, TimeoutError) for x in chain) or "ConnectTimeoutError" in names:
        reason = dial + "i/o timeout"
    else:
        last = chain[-1]
        reason = (last.strerror if isinstance(last, OSError) and last.strerror else str(last)) or type(last).__name__
    return f'{str(request.method).capitalize()} "{request.url}": {reason}'


class _Sdk:
    """The SDK's pieces, imported once (the import itself costs ~0.4 s)."""

    def __init__(self) -> None:
        try:
            import logging

            import requests
            from huaweicloudsdkcore.auth import provider
            from huaweicloudsdkcore.auth.credentials import BasicCredentials
            from huaweicloudsdkcore.exceptions.exception_handler import ExceptionHandler
            from huaweicloudsdkcore.exceptions.exceptions import ApiTypeError, ApiValueError, SdkException
            from huaweicloudsdkcore.http.http_config import HttpConfig
            from huaweicloudsdkcore.region.region import Region
            from huaweicloudsdkkms.v2 import kms_client, model
            from huaweicloudsdkkms.v2.region.kms_region import KmsRegion
        except ImportError:
            raise registry.missing_extra("huaweicloudsdkkms", "huawei") from None
        self.provider, self.BasicCredentials, self.HttpConfig = provider, BasicCredentials, HttpConfig
        self.Region, self.KmsRegion, self.KmsClient, self.model = Region, KmsRegion, kms_client.KmsClient, model
        self.SdkException = SdkException
        # what the SDK and its transport raise; anything else is a bug and propagates
        self.errors: tuple[type[BaseException], ...] = (SdkException, ApiValueError, ApiTypeError,
                                                        requests.exceptions.RequestException)

        class ServiceError(SdkException):  # type: ignore[misc]  # the SDK is untyped
            pass

        class GoErrors(ExceptionHandler):  # type: ignore[misc]
            """Service errors rendered as the Go SDK renders them (sops prints that text)."""

            def handle_exception(self, request: Any, response: Any) -> None:
                if response.status_code >= 400:
                    raise ServiceError(go_service_error(response.status_code,
                                                        response.headers.get("X-Request-Id", ""), response.content))

        self.ServiceError, self.handler = ServiceError, GoErrors()
        # the client logs connection errors at ERROR on a logger that does not propagate: keep stderr clean
        log = logging.getLogger("HuaweiCloud-SDK-KmsClient")
        if not log.handlers:
            log.addHandler(logging.NullHandler())

    def describe(self, e: BaseException) -> str:
        if isinstance(e, self.ServiceError):
            return str(e.error_msg)
        transport = transport_error(e)
        if transport is not None:
            return transport
        if isinstance(e, self.SdkException):
            return str(e.error_msg)
        return str(e) or type(e).__name__


_SDK: _Sdk | None = None
_SDK_LOCK = threading.Lock()


def _sdk() -> _Sdk:
    global _SDK
    with _SDK_LOCK:
        if _SDK is None:
            _SDK = _Sdk()
        return _SDK


class HckmsBackend:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    @logged("HCKMS", lambda entry: {"keyID": entry.fields.get("key_id", "")}, encrypt=True)
    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        region, uuid = parse_key_id(str(entry.fields.get("key_id", "")))
        sdk = _sdk()
        client = self._client(sdk, region)
        body = sdk.model.EncryptDataRequestBody(key_id=uuid, plain_text=base64.b64encode(secret).decode(),
                                                encryption_algorithm=ALGORITHM)
        try:
            response = client.encrypt_data(sdk.model.EncryptDataRequest(body=body))
        except sdk.errors as e:
            raise KeyFailed(_ENCRYPT_FAILED + sdk.describe(e)) from None
        if response.cipher_text is None:
            raise KeyFailed("encryption response missing ciphertext")
        return str(response.cipher_text)

    @logged("HCKMS", lambda entry: {"keyID": entry.fields.get("key_id", "")}, encrypt=False)
    def unwrap(self, entry: KeyEntry) -> bytes:
        region, uuid = parse_key_id(str(entry.fields.get("key_id", "")))
        sdk = _sdk()
        client = self._client(sdk, region)
        body = sdk.model.DecryptDataRequestBody(cipher_text=entry.enc, encryption_algorithm=ALGORITHM, key_id=uuid)
        try:
            response = client.decrypt_data(sdk.model.DecryptDataRequest(body=body))
        except sdk.errors as e:
            raise KeyFailed(_DECRYPT_FAILED + sdk.describe(e)) from None
        if response.plain_text is None:
            raise KeyFailed("decryption response missing plaintext")
        try:
            return base64.b64decode(str(response.plain_text), validate=True)
        except (binascii.Error, ValueError) as e:
            raise KeyFailed(f"failed to base64 decode decrypted data key: {e}") from None

    # ------------------------------------------------------------------ clients

    def _client(self, sdk: _Sdk, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._clients[region] = self._build(sdk, region)
            return client

    def _build(self, sdk: _Sdk, region_id: str) -> Any:
        credentials = self._credentials(sdk)  # before the region, as sops
        region = self._region(sdk, region_id)
        config = sdk.HttpConfig(timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), retry_times=RETRIES,
                                ssl_ca_cert=self._env.get("SSL_CERT_FILE") or None)
        builder = (sdk.KmsClient.new_builder().with_credentials(credentials).with_region(region)
                   .with_http_config(config).with_exception_handler(sdk.handler))
        try:
            return builder.build()  # without a project id, the SDK asks IAM for it here
        except sdk.errors as e:
            raise KeyFailed(_CLIENT_FAILED + sdk.describe(e)) from None

    def _region(self, sdk: _Sdk, region_id: str) -> Any:
        override = self._env.get("HUAWEICLOUD_SDK_REGION_KMS_" + region_id.replace("-", "_").upper(), "")
        endpoints = [e.strip() for e in override.split(",") if e.strip()]
        if endpoints:
            return sdk.Region(region_id, *endpoints)
        try:
            return sdk.KmsRegion.value_of(region_id)
        except KeyError:
            known = ", ".join(sorted(sdk.KmsRegion.static_fields))
            raise KeyFailed(f"{_CLIENT_FAILED}invalid region {json.dumps(region_id)}: region id '{region_id}' is "
                            f"not in the following supported regions of service 'KMS': [{known}]") from None

    def _env_credentials(self, sdk: _Sdk) -> Any:
        """The SDK's environment link, reading the ``env`` mapping."""
        env = self._env
        credentials = sdk.BasicCredentials().with_project_id(env.get("HUAWEICLOUD_SDK_PROJECT_ID") or None)
        idp, token_file = env.get("HUAWEICLOUD_SDK_IDP_ID"), env.get("HUAWEICLOUD_SDK_ID_TOKEN_FILE")
        ak, sk = env.get("HUAWEICLOUD_SDK_AK"), env.get("HUAWEICLOUD_SDK_SK")
        if idp and token_file:
            from huaweicloudsdkcore.auth.internal import FederalAccessor

            credentials.with_idp_id(idp).with_id_token_file(token_file)
            credentials.sts_accessor = FederalAccessor()
        elif ak and sk:
            credentials.with_ak(ak).with_sk(sk).with_security_token(env.get("HUAWEICLOUD_SDK_SECURITY_TOKEN") or None)
        else:
            raise KeyFailed(_ENV_LINK_FAILED)
        return credentials

    def _credentials(self, sdk: _Sdk) -> Any:
        failures: list[str] = []
        for name in ("OidcStsCredentialProvider", "EnvCredentialProvider", "ProfileCredentialProvider",
                     "MetadataCredentialProvider", "PodIdentityCredentialProvider"):
            link = getattr(sdk.provider, name, None)  # older SDKs lack the first and the last
            if link is None:
                continue
            try:
                if name == "EnvCredentialProvider":
                    return self._env_credentials(sdk)
                return link.get_basic().get_credentials()
            except KeyFailed as e:
                failures.append(str(e))
            except sdk.errors as e:
                failures.append(sdk.describe(e))
        raise KeyFailed(_CLIENT_FAILED + "failed to get HuaweiCloud credentials: "
                        '{"ErrorMessage": "unable to get credential in providers:\n' + "\n".join(failures) + '"}')


def make_backend(env: Mapping[str, str]) -> HckmsBackend:
    return HckmsBackend(env)
