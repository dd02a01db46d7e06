"""A local GCP Cloud KMS (the Encrypt and Decrypt calls sops makes), over gRPC and over REST, with TLS.

Real crypto: each crypto key has its own 32-byte secret; a ciphertext is a 12-byte nonce and the
AES-256-GCM sealing of the plaintext, with the key's resource name as additional data, so a ciphertext
only opens under the key that made it. Messages are google-cloud-kms' own types (``kms_v1.types.service``).

* gRPC: ``google.cloud.kms.v1.KeyManagementService/Encrypt`` and ``/Decrypt`` on a TLS port.
* REST: ``POST /v1/{name}:encrypt`` and ``:decrypt`` with JSON bodies on an HTTPS port.

Authorization: ``Bearer <token>`` where the token is ``token``, a self-signed RS256 JWT (what the Python
client sends for a service account) whose ``kid`` names a public key registered with ``add_signer``, or
an access token from ``POST /token`` on the REST port (the JWT-bearer grant the Go client makes).
No header: UNAUTHENTICATED (401); any other token: PERMISSION_DENIED (403); unknown key: NOT_FOUND;
disabled key: FAILED_PRECONDITION; a ciphertext that does not open: INVALID_ARGUMENT. A key created
with ``corrupt=True`` answers with a wrong CRC32C checksum. Every call is logged in ``calls``.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import grpc
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.cloud.kms_v1.types import service

from sops_py.keys.gcpkms import crc32c
from tests.kms.netfix import TestCA

SERVICE = "google.cloud.kms.v1.KeyManagementService"
HOSTS = ("cloudkms.googleapis.com", "cloudkms.example.test", "localhost", "127.0.0.1")
HTTP_STATUS = {grpc.StatusCode.UNAUTHENTICATED: 401, grpc.StatusCode.PERMISSION_DENIED: 403,
               grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.FAILED_PRECONDITION: 400,
               grpc.StatusCode.INVALID_ARGUMENT: 400}


class Fault(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class CryptoKey:
    secret: bytes
    enabled: bool = True
    corrupt: bool = False


@dataclass
class Call:
    transport: str
    method: str
    name: str
    plaintext_crc32c: bool   # the request carried a checksum
    user_project: str        # x-goog-user-project, if any


@dataclass
class KmsState:
    token: str
    keys: dict[str, CryptoKey] = field(default_factory=dict)
    signers: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    issued: set[str] = field(default_factory=set)

    def add_key(self, name: str, enabled: bool = True, corrupt: bool = False) -> str:
        self.keys[name] = CryptoKey(os.urandom(32), enabled, corrupt)
        return name

    def add_signer(self, key_id: str, public_key: rsa.RSAPublicKey) -> None:
        self.signers[key_id] = public_key

    # ------------------------------------------------------------------ the service

    def authorize(self, header: str | None) -> None:
        if not header or not header.startswith("Bearer "):
            raise Fault(grpc.StatusCode.UNAUTHENTICATED, "Request is missing required authentication credential.")
        token = header[len("Bearer "):]
        if token == self.token or token in self.issued or self._valid_jwt(token):
            return
        raise Fault(grpc.StatusCode.PERMISSION_DENIED, "The caller does not have permission")

    def _valid_jwt(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3:
            return False
        try:
            head = json.loads(_b64url(parts[0]))
            public = self.signers.get(str(head.get("kid")))
            if public is None or head.get("alg") != "RS256":
                return False
            public.verify(_b64url(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            return False
        return True

    def token_grant(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The OAuth token endpoint: a JWT-bearer grant signed by a registered key gets an access token."""
        assertion = (form.get("assertion") or [""])[0]
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or not self._valid_jwt(assertion):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        token = "ya29.issued-" + os.urandom(8).hex()
        self.issued.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _key(self, name: str, use: str) -> CryptoKey:
        key = self.keys.get(name)
        if key is None:
            raise Fault(grpc.StatusCode.NOT_FOUND, f"CryptoKey {name} not found.")
        if not key.enabled:
            raise Fault(grpc.StatusCode.FAILED_PRECONDITION,
                        f"{name}/cryptoKeyVersions/1 is not enabled, current state is: DISABLED.")
        return key

    def encrypt(self, req: service.EncryptRequest) -> service.EncryptResponse:
        key = self._key(req.name, "encrypt")
        nonce = os.urandom(12)
        ct = nonce + AESGCM(key.secret).encrypt(nonce, bytes(req.plaintext), req.name.encode())
        return service.EncryptResponse(name=f"{req.name}/cryptoKeyVersions/1", ciphertext=ct,
                                       ciphertext_crc32c=crc32c(ct) ^ (1 if key.corrupt else 0),
                                       protection_level=1)

    def decrypt(self, req: service.DecryptRequest) -> service.DecryptResponse:
        key = self._key(req.name, "decrypt")
        ct = bytes(req.ciphertext)
        try:
            pt = AESGCM(key.secret).decrypt(ct[:12], ct[12:], req.name.encode())
        except (InvalidTag, ValueError):
            raise Fault(grpc.StatusCode.INVALID_ARGUMENT,
                        "Decryption failed: verify that 'name' refers to the correct CryptoKey.") from None
        return service.DecryptResponse(plaintext=pt, plaintext_crc32c=crc32c(pt) ^ (1 if key.corrupt else 0),
                                       used_primary=True, protection_level=1)

    def handle(self, transport: str, method: str, req: Any, auth: str | None, user_project: str) -> Any:
        self.calls.append(Call(transport, method, req.name, req.plaintext_crc32c is not None
                               if method == "encrypt" else req.ciphertext_crc32c is not None, user_project))
        self.authorize(auth)
        return self.encrypt(req) if method == "encrypt" else self.decrypt(req)


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------ gRPC

def _grpc_handler(state: KmsState, method: str) -> Any:
    def call(req: Any, context: grpc.ServicerContext) -> Any:
        md = dict(context.invocation_metadata())
        try:
            return state.handle("grpc", method, req, md.get("authorization"), str(md.get("x-goog-user-project", "")))
        except Fault as f:
            context.abort(f.code, f.message)

    req_t, resp_t = ((service.EncryptRequest, service.EncryptResponse) if method == "encrypt"
                     else (service.DecryptRequest, service.DecryptResponse))
    return grpc.unary_unary_rpc_method_handler(call, request_deserializer=req_t.deserialize,
                                               response_serializer=resp_t.serialize)


# ------------------------------------------------------------------ REST

def _rest_handler(state: KmsState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() or "{}"
            path = unquote(urlsplit(self.path).path)
            if path == "/token":
                status, doc = state.token_grant(parse_qs(body))
                self._send(status, json.dumps(doc))
                return
            name, _, method = path.removeprefix("/v1/").rpartition(":")
            if not path.startswith("/v1/") or method not in ("encrypt", "decrypt"):
                self._send(404, json.dumps({"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}}))
                return
            req_t, resp_t = ((service.EncryptRequest, service.EncryptResponse) if method == "encrypt"
                             else (service.DecryptRequest, service.DecryptResponse))
            req = req_t.from_json(body, ignore_unknown_fields=True)
            req.name = req.name or name
            try:
                resp = state.handle("rest", method, req, self.headers.get("Authorization"),
                                    self.headers.get("x-goog-user-project") or "")
            except Fault as f:
                status = HTTP_STATUS.get(f.code, 500)
                self._send(status, json.dumps({"error": {"code": status, "message": f.message,
                                                         "status": f.code.name}}))
                return
            self._send(200, resp_t.to_json(resp))

    return Handler


class GcpKmsServer:
    """Both transports of one ``KmsState``, each on its own TLS port on 127.0.0.1."""

    def __init__(self, ca: TestCA, token: str) -> None:
        self.state = KmsState(token)
        cert, key = ca.issue(HOSTS, stem="gcpkms")
        self.ca_pem: Path = ca.ca_pem
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._grpc.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
            "Encrypt": _grpc_handler(self.state, "encrypt"), "Decrypt": _grpc_handler(self.state, "decrypt")}),))
        creds = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
        self.grpc_port = self._grpc.add_secure_port("127.0.0.1:0", creds)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _rest_handler(self.state))
        self._http.daemon_threads = True
        self._http.socket = ctx.wrap_socket(self._http.socket, server_side=True, do_handshake_on_connect=False)
        self.rest_port = int(self._http.server_address[1])
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def start(self) -> GcpKmsServer:
        self._grpc.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._grpc.stop(grace=1)
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
