"""A local HuaweiCloud KMS for tests: the two calls sops makes, with real crypto and real request signing.

``HuaweiKMS`` serves ``POST /v1.0/{project_id}/kms/encrypt-data`` and ``.../decrypt-data`` on 127.0.0.1
(plain HTTP, an ``http.server`` in a thread). Every request must carry the API gateway's
``Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=HEX`` header; the server
rebuilds the canonical request from what it received, exactly as huaweicloudsdkcore's ``Signer`` (and the
Go SDK's) builds it, and recomputes the HMAC with the secret key it knows for that AK:

    canonical = METHOD \\n URI (each path segment percent-encoded, "/" appended) \\n sorted query \\n
                "name:value\\n" per signed header \\n signed;headers \\n hex(sha256(body))
    string_to_sign = "SDK-HMAC-SHA256" \\n X-Sdk-Date \\n hex(sha256(canonical))
    signature = hex(hmac_sha256(SK, string_to_sign))

A bad or missing signature, an unknown AK or a stale ``X-Sdk-Date`` gets 401 with the gateway's error JSON
(``APIGW.0301``); a project id in the path other than the configured one gets 403. Keys are UUIDs with a
state ("2" enabled, "3" disabled, as Huawei reports key_state); each has a random 256-bit AES-GCM secret.
``cipher_text`` is base64 of ``02 00 | nonce(12) | ciphertext+tag | key uuid (36 ASCII bytes)``: like
Huawei's, it names its key, so ``decrypt-data`` works without ``key_id``. ``plain_text`` is encrypted as
the UTF-8 text it is (sops sends base64 text) and returned unchanged by ``decrypt-data``, together with
``plain_text_base64``. KMS errors use Huawei's shape ``{"error": {"error_code", "error_msg"}}``: an unknown
key is 404 ``KMS.0205``, a disabled key 400 ``KMS.0207`` (codes chosen for the emulator).

``GET /v3/projects?name=REGION`` answers as IAM does (``{"projects": [{"id", "name"}]}``, signed requests
only), for clients without a project id that are pointed here with ``HUAWEICLOUD_SDK_IAM_ENDPOINT``.
``start(tls=(cert, key))`` serves HTTPS instead. ``requests`` records what each call received (operation,
headers, JSON body) for assertions.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_AUTH = re.compile(r"^SDK-HMAC-SHA256 Access=([^,]*), SignedHeaders=([^,]*), Signature=([0-9a-f]*)$")
_PATH = re.compile(r"^/v1\.0/([^/]+)/kms/(encrypt-data|decrypt-data)$")
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_MAX_SKEW = dt.timedelta(minutes=15)
_VERSION = b"\x02\x00"
ENABLED, DISABLED = "2", "3"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


def _encode(segment: str) -> str:
    return quote(segment, safe="~")


def canonical_request(method: str, target: str, headers: dict[str, str], signed: list[str], body: bytes) -> str:
    """The canonical request as the Huawei SDK signers build it, from what the server received."""
    parts = urlsplit(target)
    uri = "/".join(_encode(s) for s in unquote(parts.path).split("/"))
    if not uri.endswith("/"):
        uri += "/"
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))
    lower = {k.lower(): v for k, v in headers.items()}
    canon_headers = "".join(f"{name}:{lower.get(name, '').strip()}\n" for name in signed)
    payload = lower.get("x-sdk-content-sha256") or hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), uri, query, canon_headers, ";".join(signed), payload])


def signature(sk: str, date: str, canonical: str) -> str:
    to_sign = "SDK-HMAC-SHA256\n%s\n%s" % (date, hashlib.sha256(canonical.encode()).hexdigest())
    return hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class HuaweiKMS:
    """The emulator: ``start()``, then point clients at ``endpoint``; ``stop()`` at teardown."""

    def __init__(self, ak: str, sk: str, project_id: str) -> None:
        self.credentials = {ak: sk}
        self.project_id = project_id
        self.keys: dict[str, tuple[str, bytes]] = {}  # uuid -> (state, AES key)
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.scheme = "http"

    # ------------------------------------------------------------------ setup

    def create_key(self, state: str = ENABLED) -> str:
        key_id = str(uuid.uuid4())
        self.keys[key_id] = (state, AESGCM.generate_key(bit_length=256))
        return key_id

    def start(self, tls: tuple[Path, Path] | None = None) -> HuaweiKMS:
        kms = self
        self.scheme = "https" if tls else "http"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, answer = kms.handle(self.command, self.path, dict(self.headers.items()), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Request-Id", uuid.uuid4().hex)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST  # noqa: N815 - anything else is answered by handle() too

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="huawei-kms", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ requests

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        denied = self._authenticate(method, target, headers, body)
        if denied is not None:
            return denied
        parts = urlsplit(target)
        if method == "GET" and parts.path == "/v3/projects":
            with self._lock:
                self.requests.append(Recorded("list-projects", dict(headers)))
            name = dict(parse_qsl(parts.query)).get("name", "")
            return 200, {"projects": [{"id": self.project_id, "name": name}] if name else []}
        m = _PATH.match(parts.path)
        if method != "POST" or m is None:
            return 404, _kms_error("KMS.0001", "The requested API does not exist.")
        if m.group(1) != self.project_id:
            return 403, _kms_error("KMS.0303", "The project id does not match the token.")
        try:
            req = json.loads(body)
        except ValueError:
            return 400, _kms_error("KMS.0004", "The request body format is wrong.")
        if not isinstance(req, dict):
            return 400, _kms_error("KMS.0004", "The request body format is wrong.")
        with self._lock:
            self.requests.append(Recorded(m.group(2), dict(headers), req))
        if req.get("encryption_algorithm", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
            return 400, _kms_error("KMS.0002", "The encryption algorithm is invalid.")
        return self._encrypt(req) if m.group(2) == "encrypt-data" else self._decrypt(req)

    def _authenticate(self, method: str, target: str, headers: dict[str, str],
                      body: bytes) -> tuple[int, dict[str, Any]] | None:
        lower = {k.lower(): v for k, v in headers.items()}
        m = _AUTH.match(lower.get("authorization", ""))
        if m is None:
            return _gateway_error("Incorrect IAM authentication information: Authorization header missing or "
                                  "malformed")
        ak, signed_text, sig = m.groups()
        signed = signed_text.split(";")
        sk = self.credentials.get(ak)
        if sk is None:
            return _gateway_error("Incorrect IAM authentication information: access key does not exist")
        date = lower.get("x-sdk-date", "")
        try:
            when = dt.datetime.strptime(date, _DATE_FORMAT).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return _gateway_error("Incorrect IAM authentication information: X-Sdk-Date missing or malformed")
        if abs(dt.datetime.now(dt.timezone.utc) - when) > _MAX_SKEW or "x-sdk-date" not in signed:
            return _gateway_error("Incorrect IAM authentication information: request expired or date not signed")
        expected = signature(sk, date, canonical_request(method, target, headers, signed, body))
        if not hmac.compare_digest(expected, sig):
            return _gateway_error("Incorrect IAM authentication information: verify aksk signature fail")
        return None

    def _key(self, key_id: Any) -> tuple[int, dict[str, Any]] | bytes:
        entry = self.keys.get(key_id) if isinstance(key_id, str) else None
        if entry is None:
            return 404, _kms_error("KMS.0205", "The key does not exist.")
        state, secret = entry
        if state != ENABLED:
            return 400, _kms_error("KMS.0207", "The key is disabled.")
        return secret

    def _encrypt(self, req: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key_id, plain = req.get("key_id"), req.get("plain_text")
        if not isinstance(plain, str) or not plain:
            return 400, _kms_error("KMS.0107", "The plain_text parameter is invalid.")
        secret = self._key(key_id)
        if isinstance(secret, tuple):
            return secret
        nonce = os.urandom(12)
        sealed = AESGCM(secret).encrypt(nonce, plain.encode(), str(key_id).encode())
        blob = _VERSION + nonce + sealed + str(key_id).encode()
        return 200, {"key_id": key_id, "cipher_text": base64.b64encode(blob).decode()}

    def _decrypt(self, req: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text = req.get("cipher_text")
        try:
            blob = base64.b64decode(text if isinstance(text, str) else "", validate=True)
        except (binascii.Error, ValueError):
            blob = b""
        if len(blob) < 2 + 12 + 16 + 36 or not blob.startswith(_VERSION):
            return 400, _kms_error("KMS.0108", "The cipher_text parameter is invalid.")
        owner = blob[-36:].decode(errors="replace")
        if req.get("key_id") not in (None, "", owner):
            return 400, _kms_error("KMS.0108", "The cipher_text does not belong to the key.")
        secret = self._key(owner)
        if isinstance(secret, tuple):
            return secret
        try:
            plain = AESGCM(secret).decrypt(blob[2:14], blob[14:-36], owner.encode())
        except InvalidTag:  # a damaged cipher_text
            return 400, _kms_error("KMS.0108", "The cipher_text parameter is invalid.")
        return 200, {"key_id": owner, "plain_text": plain.decode(),
                     "plain_text_base64": base64.b64encode(plain).decode()}


def _kms_error(code: str, msg: str) -> dict[str, Any]:
    return {"error": {"error_code": code, "error_msg": msg}}


def _gateway_error(msg: str) -> tuple[int, dict[str, Any]]:
    return 401, {"error_msg": msg, "error_code": "APIGW.0301", "request_id": uuid.uuid4().hex}
