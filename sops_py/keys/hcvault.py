"""HashiCorp Vault / OpenBao transit master keys, as sops' ``hcvault/keysource.go`` uses them.

* wrap: ``PUT {addr}/v1/{engine}/encrypt/{key}`` with ``{"plaintext": base64(data key)}``; ``enc`` is the
  ``ciphertext`` unchanged (``vault:v1:...``). unwrap: ``PUT .../decrypt/{key}`` with ``{"ciphertext": enc}``,
  then base64-decode ``data.plaintext``. Paths are joined and cleaned as Go's ``path.Join``.
* The address is the key's ``vault_address``, never ``VAULT_ADDR``; but ``VAULT_AGENT_ADDR`` (also
  ``unix:///path``) takes every request, as in the Go client.
* Token: ``VAULT_TOKEN``, else ``$HOME/.vault-token`` (trimmed; no file means no token, and Vault says 403).
  Headers: ``X-Vault-Request: true``, ``X-Vault-Token``, ``X-Vault-Namespace`` (``VAULT_NAMESPACE``) and the
  ``VAULT_HEADERS`` JSON object (``X-Vault-*`` names refused).
* TLS as the Go client: ``VAULT_CACERT`` (replaces the system roots), else ``VAULT_CACERT_BYTES``, else every
  PEM file under ``VAULT_CAPATH``; ``VAULT_CLIENT_CERT`` + ``VAULT_CLIENT_KEY``; ``VAULT_SKIP_VERIFY``;
  ``VAULT_TLS_SERVER_NAME`` (SNI and the name verified); TLS 1.2 or newer.
* Proxies as Go: ``VAULT_PROXY_ADDR`` / ``VAULT_HTTP_PROXY`` for every request, else ``HTTPS_PROXY`` /
  ``HTTP_PROXY`` (either case) minus ``NO_PROXY``, never for localhost or loopback. http:// proxies only
  (CONNECT for https); socks5 and https proxies fail with a message.
* ``SOPS_HC_VAULT_ALLOWLIST`` (sops 3.13): ``all`` (default, also unset or empty), ``none``, or comma-separated
  URL prefixes, each matched with a ``/`` added, against the address with a ``/`` added.

Every variable comes from the ``env`` mapping given to ``make_backend``; the process environment is not
read (OpenSSL may read it for its default trust store when no CA variable is given).

Why the standard library (http.client, ssl, json) and not hvac: sops needs two endpoints, hvac costs
~0.23 s to import against ~0.07 s, and the Go client's variables, retries and error texts are easier to
reproduce over a plain connection. The ``vault`` extra is empty.

Time bounds: one deadline per call, 30 s (the Go client has 60 s) or ``VAULT_CLIENT_TIMEOUT`` (seconds or
a Go duration) when positive, over connecting, TLS, the answer and retries; it ends with sops'
``context deadline exceeded``. Retries as the Go client: ``VAULT_MAX_RETRIES`` (2) more tries on
connection errors (not certificate errors), 412, 429 and 5xx but 501, after 1-1.5 s then 2-3 s
(``Retry-After`` for 429/503). One 301/302/307 is followed, never https to http
(``VAULT_DISABLE_REDIRECTS`` stops it). ``VAULT_SRV_LOOKUP``, ``VAULT_RATE_LIMIT`` (only validated),
``VAULT_WRAP_TTL`` and ``VAULT_MFA`` are not supported.

Errors carry sops' texts; network errors use Go's words where Python reports the same condition
(``dial tcp H:P: connect: connection refused``, ``x509: certificate signed by unknown authority``, ...),
else Python's reason. A password in an address shows as ``***``; tokens never appear.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import json
import os
import posixpath
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from ..metadata import KeyEntry
from . import KeyFailed
from .keylog import logged

KEY_TYPE = "hc_vault"
ALLOWLIST_ENV = "SOPS_HC_VAULT_ALLOWLIST"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
RETRY_WAIT = (1.0, 1.5)
TOKEN_FILE = ".vault-token"
DEADLINE = "context deadline exceeded"
_GO_BOOL = {**dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
            **dict.fromkeys(("", "0", "f", "F", "FALSE", "false", "False"), False)}
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SECRET_FIELDS = ("request_id", "lease_id", "lease_duration", "renewable", "data", "warnings", "auth",
                  "wrap_info", "mount_type")


class _Fail(Exception):
    """A failure with sops' text, before its per-call prefix."""


class _NoRetry(_Fail):
    """A request error the Go client does not retry (certificate errors)."""


class _ClientFail(_Fail):
    """A NewClient error (no "setting up default configuration" in sops' text)."""


def _go_bool(env: Mapping[str, str], name: str) -> bool:
    value = _GO_BOOL.get(env.get(name, ""))
    if value is None:
        raise _Fail(f"could not parse {name}")
    return value


def _duration(text: str) -> float:
    """parseutil.ParseDurationSecond: plain seconds, or a Go duration (``d`` too)."""
    if re.fullmatch(r"-?\d+", text):
        return float(text)
    body = text.lstrip("+-")
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)", body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise ValueError(text)
    return (-1 if text.startswith("-") else 1) * sum(float(n) * _UNITS[u] for n, u in parts)


def _errno_text(e: OSError) -> str:
    text = os.strerror(e.errno) if e.errno else str(e)
    return text[:1].lower() + text[1:]


def _redact(url: str) -> str:
    """A URL with its password replaced by ``***`` (Go's stripPassword)."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^/@:]*:)[^/@]*@", r"\1***@", url, flags=re.I)


def _join(*parts: str) -> str:
    """Go's path.Join: the non-empty parts joined by '/', cleaned."""
    joined = "/".join(p for p in parts if p)
    cleaned = posixpath.normpath(joined) if joined else ""
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


class _Config:
    """The Go client's configuration (ReadEnvironment, then NewClient), read once from ``env``."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.retries = DEFAULT_RETRIES
        if v := env.get("VAULT_MAX_RETRIES"):
            if not v.isdigit() or not v.isascii():
                raise _Fail(f'strconv.ParseUint: parsing "{v}": invalid syntax')
            if int(v) >= 2**32:
                raise _Fail(f'strconv.ParseUint: parsing "{v}": value out of range')
            self.retries = int(v)
        rate = env.get("VAULT_RATE_LIMIT", "")
        if rate and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(:[+-]?\d+)?", rate):
            raise _Fail("VAULT_RATE_LIMIT was provided but incorrectly formatted")
        self.timeout = DEFAULT_TIMEOUT
        if v := env.get("VAULT_CLIENT_TIMEOUT"):
            try:
                self.timeout = _duration(v) if _duration(v) > 0 else DEFAULT_TIMEOUT
            except ValueError:
                raise _Fail('could not parse "VAULT_CLIENT_TIMEOUT"') from None
        insecure = _go_bool(env, "VAULT_SKIP_VERIFY")
        _go_bool(env, "VAULT_SRV_LOOKUP")
        self.server_name = env.get("VAULT_TLS_SERVER_NAME", "")
        self.proxy = env.get("VAULT_PROXY_ADDR") or env.get("VAULT_HTTP_PROXY") or ""
        self.no_redirects = _go_bool(env, "VAULT_DISABLE_REDIRECTS")
        self.ssl = self._tls(insecure)
        self.agent = env.get("VAULT_AGENT_ADDR", "")
        self.headers: dict[str, str | bytes] = {}
        if v := env.get("VAULT_HEADERS"):
            try:
                extra = json.loads(v)
            except ValueError:
                extra = None
            if not isinstance(extra, dict):
                raise _ClientFail("could not unmarshal environment-supplied headers")
            forbidden = [k for k in extra if k.startswith("X-Vault-")]
            if any(not isinstance(x, str) for k, x in extra.items() if k not in forbidden):
                raise _ClientFail("environment-supplied headers include non-string values")
            if forbidden:
                raise _ClientFail(f"failed to setup Headers[{', '.join(forbidden)}]: Header starting by "
                                  "'X-Vault-' are for internal usage only")
            self.headers.update(extra)
        self.headers["X-Vault-Request"] = "true"
        if ns := env.get("VAULT_NAMESPACE"):
            self.headers["X-Vault-Namespace"] = ns.encode("utf-8")

    def _tls(self, insecure: bool) -> ssl.SSLContext:
        env = self.env
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        cert, key = env.get("VAULT_CLIENT_CERT", ""), env.get("VAULT_CLIENT_KEY", "")
        if bool(cert) != bool(key):
            raise _Fail("both client cert and client key must be provided")
        if cert:
            try:
                ctx.load_cert_chain(cert, key)
            except OSError as e:  # ssl.SSLError included
                if isinstance(e, ssl.SSLError) or not e.filename:
                    raise _Fail("tls: failed to find any PEM data in certificate or key input") from None
                raise _Fail(f"open {e.filename}: {_errno_text(e)}") from None
        cafile, capath = env.get("VAULT_CACERT", ""), env.get("VAULT_CAPATH", "")
        try:
            if cafile:
                try:
                    ctx.load_verify_locations(cafile=cafile)
                except ssl.SSLError:
                    raise _Fail(f"Error loading CA File: Couldn't parse PEM in: {cafile}") from None
                except OSError as e:
                    raise _Fail(f"Error loading CA File: open {cafile}: {_errno_text(e)}") from None
            elif env.get("VAULT_CACERT_BYTES"):
                ctx.load_verify_locations(cadata=env["VAULT_CACERT_BYTES"])
            elif capath:
                os.lstat(capath)
                for root, _, files in os.walk(capath):
                    for path in (os.path.join(root, name) for name in sorted(files)):
                        try:
                            with open(path, encoding="utf-8", errors="replace") as f:
                                ctx.load_verify_locations(cadata=f.read())
                        except ssl.SSLError:
                            raise _Fail(f"Error loading file from CAPath: Couldn't parse PEM in: {path}") from None
            elif env.get("SSL_CERT_FILE") or env.get("SSL_CERT_DIR"):  # Go's system pool reads these
                ctx.load_verify_locations(env.get("SSL_CERT_FILE") or None, env.get("SSL_CERT_DIR") or None)
            else:
                ctx.load_default_certs()
        except ssl.SSLError:
            raise _Fail("Couldn't parse PEM in CA certificates") from None
        except OSError as e:
            raise _Fail(f"lstat {e.filename or capath}: {_errno_text(e)}") from None
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def proxy_for(self, scheme: str, host: str, port: int) -> str:
        """Go's http.ProxyFromEnvironment (golang.org/x/net/http/httpproxy), or the VAULT_ proxy."""
        if self.proxy:
            return self.proxy
        names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else ("HTTP_PROXY", "http_proxy")
        proxy = next((self.env[n] for n in names if self.env.get(n)), "")
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            ip = None
        if not proxy or host == "localhost" or ip is not None and ip.is_loopback:
            return ""
        no_proxy = next((self.env[n] for n in ("NO_PROXY", "no_proxy") if self.env.get(n)), "")
        for entry in (p.strip().lower() for p in no_proxy.split(",")):
            if entry == "*":
                return ""
            if "/" in entry and ip is not None:
                try:
                    if ip in ipaddress.ip_network(entry, strict=False):
                        return ""
                except ValueError:
                    pass
            m = re.fullmatch(r"\[?([^\[\]/]*?)\]?(?::(\d+))?", entry)
            if not m or not m.group(1) or m.group(2) and m.group(2) != str(port):
                continue
            name = m.group(1)[1:] if m.group(1).startswith("*.") else m.group(1)
            if host.lower() == name or host.lower().endswith(name if name.startswith(".") else "." + name):
                return ""
        return proxy


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS with the Go client's server name (SNI and the name verified), through a tunnel if set."""

    def __init__(self, host: str, port: int, config: _Config, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=config.ssl)
        self._tls, self._server_name = config.ssl, config.server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP, then the proxy's CONNECT if any
        name = self._server_name or getattr(self, "_tunnel_host", None) or self.host
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=name)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def _net_error(e: OSError, host: str, port: int, proxy: str, server_name: str) -> _Fail:
    """Go's words for a failed request, where Python reports the same condition."""
    if isinstance(e, ssl.SSLCertVerificationError):
        reason = {18: "certificate signed by unknown authority", 19: "certificate signed by unknown authority",
                  20: "certificate signed by unknown authority", 21: "certificate signed by unknown authority",
                  10: "certificate has expired or is not yet valid",
                  62: f"certificate is not valid for {server_name or host}"}.get(
                      e.verify_code, e.verify_message or str(e))
        return _NoRetry(f"tls: failed to verify certificate: x509: {reason}")
    if isinstance(e, ssl.SSLError):
        if "_ALERT_" in (e.reason or ""):  # the server's TLS alert, as Go names it
            alert = e.reason.split("_ALERT_", 1)[1].lower().replace("_", " ")
            return _Fail("remote error: tls: " + {"unknown ca": "unknown certificate authority"}.get(alert, alert))
        if e.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
            return _Fail("http: server gave HTTP response to HTTPS client")
        return _Fail(f"tls: {e.reason or e}")
    p = urlsplit(proxy)
    if isinstance(e, socket.gaierror):
        return _Fail(f"dial tcp: lookup {p.hostname if proxy else host}: no such host")
    if isinstance(e, http.client.RemoteDisconnected):
        return _Fail("EOF")
    if str(e).startswith("Tunnel connection failed: "):
        return _Fail(str(e).split(" ", 4)[-1])  # Go: the proxy's status text
    where = f"{p.hostname}:{p.port or 80}" if proxy else f"{host}:{port}"
    prefix = "proxyconnect tcp: " if proxy else ""
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return _Fail(f"read tcp {where}: {_errno_text(e)}")
    if e.errno:
        return _Fail(f"{prefix}dial tcp {where}: connect: {_errno_text(e)}")
    return _Fail(str(e) or type(e).__name__)


def _connection(config: _Config, url: str, proxy: str, timeout: float, unix_path: str,
                headers: dict[str, str | bytes]) -> http.client.HTTPConnection:
    u = urlsplit(url)
    host, port = u.hostname or "", u.port or (443 if u.scheme == "https" else 80)
    if unix_path:
        return _UnixConnection(unix_path, timeout)
    if not proxy:
        if u.scheme == "https":
            return _TLSConnection(host, port, config, timeout)
        return http.client.HTTPConnection(host, port, timeout=timeout)
    p = urlsplit(proxy)
    auth: dict[str, str] = {}
    if p.username is not None:
        cred = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
        auth["Proxy-Authorization"] = "Basic " + base64.b64encode(cred).decode("ascii")
    if u.scheme == "http":
        headers.update(auth)
        return http.client.HTTPConnection(p.hostname or "", p.port or 80, timeout=timeout)
    conn = _TLSConnection(p.hostname or "", p.port or 80, config, timeout)
    conn.set_tunnel(host, port, headers=auth)
    return conn


def _send(config: _Config, url: str, body: bytes, headers: dict[str, str | bytes], deadline: float,
          unix_path: str) -> tuple[int, dict[str, str], bytes]:
    """One PUT with the Go client's retries: (status, lower-cased headers, body), or _Fail."""
    u = urlsplit(url)
    host, port = u.hostname or "", u.port or (443 if u.scheme == "https" else 80)
    if u.scheme not in ("http", "https"):
        raise _NoRetry(f'Put "{_redact(url)}": unsupported protocol scheme "{u.scheme}"')
    headers = {"Host": u.netloc.rsplit("@", 1)[-1], **headers}
    if u.username is not None and "Authorization" not in headers:
        headers["Authorization"] = b"Basic " + base64.b64encode(
            f"{unquote(u.username)}:{unquote(u.password or '')}".encode())
    proxy = "" if unix_path else config.proxy_for(u.scheme, host, port)
    proxy = "http://" + proxy if proxy and "://" not in proxy else proxy
    if proxy and not proxy.lower().startswith("http://"):
        raise _NoRetry(f"proxy {urlsplit(proxy).scheme}:// is not supported by sops-py (http:// only)")
    target = f"{u.scheme}://{host}:{port}{u.path}" if proxy and u.scheme == "http" else u.path
    target += f"?{u.query}" if u.query else ""
    for attempt in range(config.retries + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Fail(DEADLINE)
        conn = _connection(config, url, proxy, remaining, unix_path, headers)
        error: _Fail | None = None
        try:
            conn.request("PUT", target, body=body, headers=headers)
            resp = conn.getresponse()
            status, resp_headers, data = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        except (OSError, http.client.HTTPException) as e:
            if isinstance(e, TimeoutError) or time.monotonic() >= deadline:
                raise _Fail(DEADLINE) from None
            reason = (_net_error(e, host, port, proxy, config.server_name) if isinstance(e, OSError)
                      else _Fail("EOF" if isinstance(e, http.client.IncompleteRead)
                                 else f"net/http: HTTP/1.x transport connection broken: {e}"))
            error = _Fail(f'Put "{_redact(url)}": {reason.args[0]}')
            if isinstance(reason, _NoRetry):
                raise error from None
            status, resp_headers, data = 0, {}, b""
        finally:
            conn.close()
        if not (error is not None or status in (412, 429) or status >= 500 and status != 501) \
                or attempt == config.retries:
            break
        wait = random.uniform(*RETRY_WAIT) * (attempt + 1)
        if status in (429, 503) and resp_headers.get("retry-after", "").isdigit():
            wait = float(resp_headers["retry-after"])
        if time.monotonic() + wait >= deadline:
            time.sleep(max(0.0, deadline - time.monotonic()))
            raise _Fail(DEADLINE)
        time.sleep(wait)
    if error is not None:
        raise error
    return status, resp_headers, data


def _go_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "bool", dict: "object"}.get(type(value), "number")


def _parse_secret(payload: bytes) -> dict[str, Any] | None:
    """api.ParseSecret: the ``data`` map of an answer (None for an empty body or no data)."""
    text = payload.decode("utf-8", "replace").lstrip(" \t\r\n")
    if not text:
        return None
    try:
        secret, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        if text[:1] in '{["-0123456789tfn':
            raise _Fail("unexpected EOF") from None
        raise _Fail(f"invalid character {text[:1]!r} looking for beginning of value") from None
    if secret is not None and not isinstance(secret, dict):
        raise _Fail(f"json: cannot unmarshal {_go_type(secret)} into Go value of type api.Secret")
    data = secret.get("data") if secret else None
    if data is not None and not isinstance(data, dict):
        raise _Fail(f"json: cannot unmarshal {_go_type(data)} into Go struct field Secret.data of type "
                    "map[string]interface {}")
    if secret and all(secret.get(k) in (None, "", 0, False) for k in _SECRET_FIELDS):
        return secret  # no known field: Go takes the whole object as the data
    return data


def _write(config: _Config, address: str, path: str, token: str, payload: dict[str, str]) -> dict[str, Any] | None:
    """Logical().Write: PUT /v1/<path>; the answer's data, or _Fail with the Go client's text."""
    deadline = time.monotonic() + config.timeout
    base = urlsplit(address)
    unix_path = base.path if base.scheme == "unix" else ""
    url = ("http://localhost" if unix_path else f"{base.scheme}://{base.netloc}") + quote(
        _join("" if unix_path else base.path, "/v1/" + path), safe="/!$&'()*+,;=:@-._~")
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = dict(config.headers)
    if token:
        headers["X-Vault-Token"] = token.encode("utf-8")
    status, resp_headers, data = _send(config, url, body, headers, deadline, unix_path)
    if status in (301, 302, 307) and not config.no_redirects:  # one redirect, the body sent again
        if not resp_headers.get("location"):
            raise _Fail("http: no Location header in response")
        target = urljoin(url, resp_headers["location"])
        if url.startswith("https:") and not target.startswith("https:"):
            raise _Fail("redirect would cause protocol downgrade")
        url = target
        status, resp_headers, data = _send(config, url, body, headers, deadline, "")
    if 200 <= status < 400 or status == 429:
        return _parse_secret(data)
    if status == 404 and data.strip():
        _parse_secret(data)  # Go parses a 404's body first: a JSON error wins over the status
    head = f"Error making API request.\n\nURL: PUT {_redact(url)}\nCode: {status}."
    try:
        decoded = json.loads(data)
        errors = decoded.get("errors") if isinstance(decoded, dict) else None
        if decoded is not None and not isinstance(decoded, dict) or errors is not None and (
                not isinstance(errors, list) or not all(isinstance(x, str) for x in errors)):
            raise ValueError
    except ValueError:
        raise _Fail(f"{head} Raw Message:\n\n{data.decode('utf-8', 'replace')}") from None
    raise _Fail(f"{head} Errors:\n\n" + "".join(f"* {e}" for e in errors or []))


class VaultBackend:
    """Wraps and unwraps with Vault transit keys; safe to call from several threads at once."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._config: _Config | None = None
        self._config_error: _Fail | None = None

    @logged("VAULT_TRANSIT", lambda entry: {"Path": VaultBackend._path(entry, "encrypt")}, encrypt=True,
            success="successful")
    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        path, what = self._path(entry, "encrypt"), "failed to encrypt sops data key to Vault transit backend"
        data = self._call(entry, path, {"plaintext": base64.b64encode(secret).decode("ascii")}, what)
        if data is not None and isinstance(data.get("ciphertext"), str):
            return str(data["ciphertext"])
        reason = ("transit backend is empty" if data is None else "no encrypted data" if "ciphertext" not in data
                  else "encrypted ciphertext cannot be cast to string")
        raise KeyFailed(f"{what} '{path}': {reason}")

    @logged("VAULT_TRANSIT", lambda entry: {"Path": VaultBackend._path(entry, "decrypt")}, encrypt=False,
            success="successful")
    def unwrap(self, entry: KeyEntry) -> bytes:
        path, what = self._path(entry, "decrypt"), "failed to decrypt sops data key from Vault transit backend"
        data = self._call(entry, path, {"ciphertext": entry.enc}, what)
        if data is not None and isinstance(data.get("plaintext"), str):
            try:
                return base64.b64decode(str(data["plaintext"]).replace("\r", "").replace("\n", ""), validate=True)
            except (binascii.Error, ValueError):
                raise KeyFailed(f"{what} '{path}': cannot decode base64 plaintext into data key bytes") from None
        reason = ("transit backend is empty" if data is None else "no decrypted data" if "plaintext" not in data
                  else "decrypted plaintext data cannot be cast to string")
        raise KeyFailed(f"{what} '{path}': {reason}")

    @staticmethod
    def _path(entry: KeyEntry, op: str) -> str:
        return _join(str(entry.fields.get("engine_path", "")), op, str(entry.fields.get("key_name", "")))

    def _call(self, entry: KeyEntry, path: str, payload: dict[str, str], what: str) -> dict[str, Any] | None:
        address = str(entry.fields.get("vault_address", ""))
        config, token = self._client(address)
        try:
            if not token.isprintable():
                raise _Fail("configured Vault token contains non-printable characters and cannot be used")
            return _write(config, config.agent or address, path, token, payload)
        except _Fail as e:
            raise KeyFailed(f"{what} '{path}': {e.args[0]}") from None

    def _client(self, address: str) -> tuple[_Config, str]:
        """sops' vaultClient: the allowlist, the client configuration, the token; KeyFailed unprefixed."""
        allow = self._env.get(ALLOWLIST_ENV) or "all"
        if allow != "all":
            prefixes = [] if allow == "none" else [u.strip(" ") for u in allow.split(",")]
            for i, p in enumerate(prefixes):
                if not p:
                    raise KeyFailed(f"{ALLOWLIST_ENV}'s entry {i + 1} is empty")
            addr = address if address.endswith("/") else address + "/"
            if not any(addr.startswith(p if p.endswith("/") else p + "/") for p in prefixes):
                raise KeyFailed(f"Allowlist does not allow {address}")
        with self._lock:
            if self._config is None and self._config_error is None:
                try:
                    self._config = _Config(self._env)
                except _Fail as e:
                    self._config_error = e
            config, error = self._config, self._config_error
        if config is None:
            stage = "" if isinstance(error, _ClientFail) else "error encountered setting up default configuration: "
            raise KeyFailed(f"cannot create Vault client: {stage}{error.args[0] if error else ''}")
        return config, self._token()

    def _token(self) -> str:
        """``VAULT_TOKEN``, else ``~/.vault-token`` trimmed ('' when there is no such file)."""
        if token := self._env.get("VAULT_TOKEN", ""):
            return token
        home = self._env.get("HOME", "")
        if not home:
            try:
                import pwd

                home = pwd.getpwuid(os.getuid()).pw_dir
            except (ImportError, KeyError):
                raise KeyFailed("cannot get Vault token: error getting user's home directory: "
                                "blank output when reading home directory") from None
        path = os.path.join(home, TOKEN_FILE)
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace").strip()
        except FileNotFoundError:
            return ""
        except OSError as e:  # Go opens a directory, then fails reading it
            op = "read" if isinstance(e, IsADirectoryError) or e.filename is None else "open"
            raise KeyFailed(f"cannot get Vault token: {op} {path}: {_errno_text(e)}") from None


def make_backend(env: Mapping[str, str]) -> VaultBackend:
    return VaultBackend(env)
