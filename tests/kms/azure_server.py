"""A local Azure Key Vault and Microsoft Entra token service for the azure_kv tests (127.0.0.1 only).

One HTTPS server (a leaf from ``netfix.TestCA`` covering every vault host and
``login.microsoftonline.com``) answers, by Host header:

* vault hosts (``NAME.vault.azure.net``): ``GET /keys/{name}[/[{version}]]`` (a JWK with ``kid``),
  ``POST /keys/{name}/{version}/encrypt`` and ``/decrypt`` with ``{"alg": "RSA-OAEP-256", "value": b64url}``
  on real RSA keys. A request without a token gets the 401 bearer challenge Key Vault sends; a bad
  token 401; a principal the key's access list leaves out 403 Forbidden; a disabled key 403 with
  innererror KeyDisabled; an unknown key 404 KeyNotFound. Bodies are Key Vault's error JSON.
* ``login.microsoftonline.com``: ``POST /{tenant}/oauth2/v2.0/token`` (client credentials with a
  ``client_assertion`` that must equal the federated token file's content, or a ``client_secret``),
  plus the OpenID configuration and instance discovery documents MSAL reads first.

A second, plain-HTTP server plays the App Service managed identity endpoint (``IDENTITY_ENDPOINT``):
``GET ?api-version=2019-08-01&resource=...`` with the ``X-IDENTITY-HEADER`` secret.

Clients reach the HTTPS server through ``netfix.ConnectProxy`` (``HTTPS_PROXY``), so vault URLs keep
their real host names and the challenge resource check passes. Run ``python -m tests.kms.azure_server``
to start one by hand (it prints the environment to use).
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.kms.netfix import LoopbackListener, TestCA

TENANT = "5f0c6e3a-8d1b-4c2e-9a47-0b1d2c3e4f50"
VAULT_RESOURCE = "https://vault.azure.net"
LOGIN_HOST = "login.microsoftonline.com"
MI_PRINCIPAL = "managed-identity"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


@dataclass
class KeyVersion:
    version: str
    private: rsa.RSAPrivateKey
    enabled: bool = True
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class VaultKey:
    name: str
    versions: list[KeyVersion] = field(default_factory=list)
    allowed: set[str] | None = None  # principals allowed to use the key (None: everyone)


@dataclass
class Request:
    method: str
    host: str
    path: str
    auth: str  # "" (none), or the principal the bearer token belongs to, or "bad"
    body: dict[str, Any] | None


class AzureState:
    """Everything the emulated services know; safe to use from test code while serving."""

    def __init__(self, vaults: list[str], login_hosts: list[str]) -> None:
        self.lock = threading.Lock()
        self.login_hosts = set(login_hosts)
        self.vaults: dict[str, dict[str, VaultKey]] = {v: {} for v in vaults}
        self.tokens: dict[str, str] = {}  # access token -> principal
        self.federated_token = ""  # the content client_assertion must have
        self.client_secrets: dict[str, str] = {}  # client id -> secret
        self.identity_header = ""
        self.requests: list[Request] = []
        self.get_delay = 0.0  # seconds each key read (GET) takes: shows whether lookups overlap
        self.gets_in_flight = 0
        self.max_gets = 0  # the most key reads answered at once

    def add_key(self, vault: str, name: str, versions: int = 1, allowed: set[str] | None = None) -> VaultKey:
        key = VaultKey(name, allowed=allowed)
        for _ in range(versions):
            self.new_version(key)
        with self.lock:
            self.vaults[vault][name] = key
        return key

    @staticmethod
    def new_version(key: VaultKey) -> KeyVersion:
        kv = KeyVersion(secrets.token_hex(16), rsa.generate_private_key(public_exponent=65537, key_size=2048))
        key.versions.append(kv)
        return kv

    def issue_token(self, principal: str) -> str:
        token = "tok-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = principal
        return token


_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        raw = self._body()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        st = self.server.state
        if self.server.kind == "msi":
            self._msi(query)
        elif host in st.login_hosts:
            self._login(method, host, url.path, raw)
        elif host in st.vaults:
            self._vault(method, host, url.path, query, raw)
        else:
            self._send(404, {"error": {"code": "NotFound", "message": f"no such host {host}"}})

    # ------------------------------------------------------------------ identity
    def _msi(self, query: dict[str, str]) -> None:
        st = self.server.state
        if not st.identity_header or self.headers.get("X-IDENTITY-HEADER") != st.identity_header:
            self._send(401, {"error": "unauthorized", "error_description": "bad X-IDENTITY-HEADER"})
            return
        if query.get("api-version") != "2019-08-01" or query.get("resource", "").rstrip("/") != VAULT_RESOURCE:
            self._send(400, {"error": "invalid_request", "error_description": f"unexpected query {query}"})
            return
        token = st.issue_token(MI_PRINCIPAL)
        self._send(200, {"access_token": token, "expires_on": str(int(time.time()) + 3600), "expires_in": "3600",
                         "token_type": "Bearer", "resource": query["resource"], "client_id": "mi-client"})

    def _login(self, method: str, host: str, path: str, raw: bytes) -> None:
        parts = [p for p in path.split("/") if p]
        base = f"https://{host}"
        with self.server.state.lock:
            self.server.state.requests.append(Request(method, host, path, "", None))
        if method == "GET" and parts[-2:] == ["discovery", "instance"]:
            self._send(200, {"tenant_discovery_endpoint": f"{base}/{TENANT}/v2.0/.well-known/openid-configuration",
                             "api-version": "1.1",
                             "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]})
            return
        if method == "GET" and parts[-1:] == ["openid-configuration"]:
            tenant = parts[0]
            self._send(200, {"token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                             "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                             "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                             "issuer": f"{base}/{tenant}/v2.0", "tenant_region_scope": "EU",
                             "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"]})
            return
        if method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            self._token(parts[0], dict(urllib.parse.parse_qsl(raw.decode())))
            return
        self._send(404, {"error": "not_found", "error_description": path})

    def _token(self, tenant: str, form: dict[str, str]) -> None:
        st = self.server.state

        def refuse(code: str, text: str) -> None:
            self._send(401 if code == "invalid_client" else 400,
                       {"error": code, "error_description": text, "error_codes": [700016]})

        if tenant != TENANT:
            refuse("invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
            return
        if form.get("grant_type") != "client_credentials" or "vault.azure.net" not in form.get("scope", ""):
            refuse("invalid_request", "AADSTS900144: unexpected grant or scope")
            return
        client_id = form.get("client_id", "")
        if "client_assertion" in form:
            ok = bool(st.federated_token) and form["client_assertion"] == st.federated_token \
                and form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        else:
            ok = client_id in st.client_secrets and form.get("client_secret") == st.client_secrets[client_id]
        if not ok:
            refuse("invalid_client", "AADSTS700024: Client assertion or secret is not valid.")
            return
        token = st.issue_token("app:" + client_id)
        self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})

    # ------------------------------------------------------------------ vault
    def _vault(self, method: str, host: str, path: str, query: dict[str, str], raw: bytes) -> None:
        st = self.server.state
        auth = self.headers.get("Authorization") or ""
        principal = ""
        if auth.startswith("Bearer "):
            with st.lock:
                principal = st.tokens.get(auth[7:], "bad")
        body: dict[str, Any] | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        with st.lock:
            st.requests.append(Request(method, host, path, principal, body))
        if not principal or principal == "bad":
            challenge = f'Bearer authorization="https://{LOGIN_HOST}/{TENANT}", resource="{VAULT_RESOURCE}"'
            text = "AKV10000: Request is missing a Bearer or PoP token." if not principal else \
                "AKV10032: Invalid issuer."
            self._send(401, {"error": {"code": "Unauthorized", "message": text}}, {"WWW-Authenticate": challenge})
            return
        if "api-version" not in query:
            self._send(400, {"error": {"code": "BadParameter", "message": "The api-version parameter is missing."}})
            return
        parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != "keys":
            self._send(404, {"error": {"code": "NotFound", "message": f"unknown path {path}"}})
            return
        name = parts[1]
        version = parts[2] if len(parts) > 2 else ""
        op = parts[3] if len(parts) > 3 else ""
        with st.lock:
            key = st.vaults[host].get(name)
        kv: KeyVersion | None = None
        if key is not None:
            kv = key.versions[-1] if not version else next((v for v in key.versions if v.version == version), None)
        if key is None or kv is None:
            what = name if not version else f"{name}/{version}"
            self._send(404, {"error": {"code": "KeyNotFound", "message":
                                       f"A key with (name/id) {what} was not found in this key vault. If you recently "
                                       "deleted this key you may be able to recover it using the correct recovery "
                                       "command. For help resolving this issue, please see "
                                       "https://go.microsoft.com/fwlink/?linkid=2125182"}})
            return
        operation = {"GET": "get"}.get(method, op)
        if key.allowed is not None and principal not in key.allowed:
            self._send(403, {"error": {"code": "Forbidden", "message":
                                       f"Caller is not authorized to perform action on resource.\r\nIf role "
                                       f"assignments, deny assignments or role definitions were changed recently, "
                                       f"please observe propagation time.\r\nCaller: appid={principal};"
                                       f"\r\nAction: 'Microsoft.KeyVault/vaults/keys/{operation}/action'"
                                       f"\r\nResource: '/keys/{name}'", "innererror": {"code": "ForbiddenByRbac"}}})
            return
        if not kv.enabled:
            self._send(403, {"error": {"code": "Forbidden", "message":
                                       f"Operation {operation} is not allowed on a disabled key.",
                                       "innererror": {"code": "KeyDisabled"}}})
            return
        kid = f"https://{host}/keys/{name}/{kv.version}"
        if method == "GET" and not op:
            with st.lock:
                st.gets_in_flight += 1
                st.max_gets = max(st.max_gets, st.gets_in_flight)
            try:
                time.sleep(st.get_delay)
            finally:
                with st.lock:
                    st.gets_in_flight -= 1
            self._send(200, self._bundle(kid, kv))
            return
        if method != "POST" or op not in ("encrypt", "decrypt") or len(parts) != 4:
            self._send(405, {"error": {"code": "BadRequest", "message": f"unsupported {method} {path}"}})
            return
        if not isinstance(body, dict) or body.get("alg") != "RSA-OAEP-256" or not isinstance(body.get("value"), str):
            self._send(400, {"error": {"code": "BadParameter", "message": "Property alg or value is invalid."}})
            return
        data = unb64url(body["value"])
        try:
            if op == "encrypt":
                out = kv.private.public_key().encrypt(data, _OAEP)
            else:
                out = kv.private.decrypt(data, _OAEP)
        except ValueError:
            self._send(400, {"error": {"code": "BadParameter", "message": "Error while decrypting the ciphertext."}})
            return
        self._send(200, {"kid": kid, "value": b64url(out)})

    @staticmethod
    def _bundle(kid: str, kv: KeyVersion) -> dict[str, Any]:
        pub = kv.private.public_key().public_numbers()
        return {"key": {"kid": kid, "kty": "RSA", "key_ops": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                        "n": b64url(_int_bytes(pub.n)), "e": b64url(_int_bytes(pub.e))},
                "attributes": {"enabled": kv.enabled, "created": kv.created, "updated": kv.created,
                               "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, kind: str, state: AzureState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.kind = kind
        self.state = state


class AzureServers:
    """The vault/login HTTPS server and the managed identity HTTP server, serving in threads."""

    def __init__(self, directory: Path, vaults: list[str], login_hosts: tuple[str, ...] = (LOGIN_HOST,)) -> None:
        self.ca = TestCA(directory)
        self.state = AzureState(vaults, list(login_hosts))
        self.https = _Server("https", self.state)
        ctx = self.ca.server_context([*vaults, *login_hosts, "127.0.0.1", "localhost"], stem="azure")
        self.https.socket = ctx.wrap_socket(self.https.socket, server_side=True)
        self.msi = _Server("msi", self.state)
        self.https_port = int(self.https.server_address[1])
        self.msi_url = f"http://127.0.0.1:{self.msi.server_address[1]}/msi/token"
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
                         for s in (self.https, self.msi)]
        for t in self._threads:
            t.start()

    def routes(self) -> dict[str, int]:
        return {f"{h}:443": self.https_port for h in [*self.state.vaults, *self.state.login_hosts]}

    def close(self) -> None:
        for s in (self.https, self.msi):
            s.shutdown()
            s.server_close()


class Blackhole(LoopbackListener):
    """A TCP port that accepts connections and never answers (an unresponsive endpoint)."""

    def __init__(self) -> None:
        self._conns: list[socket.socket] = []
        super().__init__(backlog=16)

    def accepted(self, conn: socket.socket) -> None:
        self._conns.append(conn)

    def close(self) -> None:
        super().close()
        for c in self._conns:
            c.close()


if __name__ == "__main__":  # pragma: no cover - manual experiments
    import sys
    import tempfile

    from tests.kms.netfix import ConnectProxy

    d = Path(tempfile.mkdtemp(prefix="azkv-"))
    srv = AzureServers(d, ["sopstest.vault.azure.net"], (LOGIN_HOST, "login.sopstest.test"))
    srv.state.identity_header = "hdr"
    k = srv.state.add_key("sopstest.vault.azure.net", "k1")
    proxy = ConnectProxy(srv.routes())
    print(f"export HTTPS_PROXY={proxy.url} NO_PROXY=127.0.0.1,localhost SSL_CERT_FILE={srv.ca.ca_pem} "
          f"REQUESTS_CA_BUNDLE={srv.ca.ca_pem} IDENTITY_ENDPOINT={srv.msi_url} IDENTITY_HEADER=hdr")
    print(f"key: https://sopstest.vault.azure.net/keys/k1/{k.versions[0].version}")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
