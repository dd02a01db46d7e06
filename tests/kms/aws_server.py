"""A local AWS (KMS and STS) for tests: moto's server on 127.0.0.1 behind a small recording WSGI layer.

``AwsEmulator`` serves moto's ``DomainDispatcherApplication`` (what ``moto_server`` runs) with werkzeug in
a thread of the test process, on a free port of 127.0.0.1. moto checks the key id and the encryption
context on Decrypt and answers STS AssumeRole / AssumeRoleWithWebIdentity. The layer in front of it adds
what moto 5 lacks and records what each request carried:

* ``calls``: one ``Call`` per request (service and action from the SigV4 ``Authorization`` header and
  ``X-Amz-Target`` or the form body, the access key id that signed it, whether a session token came
  with it, and the request parameters), so tests can see which credentials reached KMS and STS.
* ``deny(access_key_id)``: requests signed by that access key id get AWS' 400 ``AccessDeniedException``
  (an IAM principal without kms:Encrypt / kms:Decrypt).
* ``disable_key(arn)``: moto records the state but still uses a disabled key; here Encrypt and Decrypt
  with it get 400 ``DisabledException`` ("<arn> is disabled."), as AWS answers.

``env()`` is the environment that routes both the Go sops and boto3 to the emulator: every inherited
``AWS_*`` variable dropped, ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_KMS``/``_STS`` (the Go SDK's
web-identity provider ignores the generic one and would look up ``sts.<region>.amazonaws.com``), static
test credentials, the region, IMDS disabled, shared config files at paths of the test's own, and
``HTTPS_PROXY``/``HTTP_PROXY`` at a dead loopback port (``NO_PROXY`` = loopback) so that a request the
endpoint variables miss fails at once instead of leaving the machine.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")

StartResponse = Callable[..., Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


@dataclass
class Call:
    service: str          # "kms", "sts" ("" when the request was not signed)
    action: str           # "Encrypt", "Decrypt", "AssumeRole", "AssumeRoleWithWebIdentity", ...
    access_key_id: str    # the access key id that signed the request ("" when unsigned)
    session_token: bool   # an X-Amz-Security-Token header came with it
    params: dict[str, Any] = field(default_factory=dict)


class AwsEmulator:
    """moto on 127.0.0.1:PORT with recording, denied principals and disabled keys (see the module doc)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dead_url = f"http://127.0.0.1:{closed_port()}"
        self.calls: list[Call] = []
        self.access_key_id = "AKIA" + secrets.token_hex(8).upper()
        self.secret_access_key = secrets.token_urlsafe(30)
        self._denied: set[str] = set()
        self._disabled: set[str] = set()
        self._lock = threading.Lock()
        self._server: Any = None
        self.latency = 0.0        # seconds added to every KMS Encrypt/Decrypt (a distant region)
        self.in_flight = 0        # KMS Encrypt/Decrypt calls being answered now
        self.max_in_flight = 0    # the most answered at once: > 1 proves a client overlapped its calls
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> AwsEmulator:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", self.port, self._middleware(app), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ------------------------------------------------------------------ set-up helpers

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.url,
                            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)

    def create_key(self) -> str:
        arn: str = self.client("kms").create_key(Description="sops-py test")["KeyMetadata"]["Arn"]
        return arn

    def disable_key(self, arn: str) -> None:
        self.client("kms").disable_key(KeyId=arn.rsplit("/", 1)[1])
        with self._lock:
            self._disabled.add(arn)

    def deny(self, access_key_id: str) -> None:
        with self._lock:
            self._denied.add(access_key_id)

    def env(self, base: Mapping[str, str], home: Path, **extra: str) -> dict[str, str]:
        """``base`` without AWS_* (and proxy) variables, routed to this emulator with test credentials."""
        drop = ("AWS_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
        env = {k: v for k, v in base.items() if not k.startswith(drop)}
        home.mkdir(parents=True, exist_ok=True)
        env.update({
            "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "AWS_ENDPOINT_URL": self.url, "AWS_ENDPOINT_URL_KMS": self.url, "AWS_ENDPOINT_URL_STS": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key, "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            # a safety net: anything not routed to 127.0.0.1 goes to a dead loopback proxy, never out
            "HTTPS_PROXY": self.dead_url, "HTTP_PROXY": self.dead_url,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        env.update(extra)
        return env

    def calls_of(self, action: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.action == action]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # ------------------------------------------------------------------ the WSGI layer

    def _middleware(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> Any:
        def handle(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            call = _describe(environ, body)
            with self._lock:
                self.calls.append(call)
                denied = call.access_key_id in self._denied
                disabled = call.service == "kms" and str(call.params.get("KeyId", "")) in self._disabled
            if denied and call.service == "sts":
                return _sts_error(start_response, "AccessDenied",
                                  f"User: arn:aws:iam::{ACCOUNT}:user/denied is not authorized to perform: "
                                  f"sts:{call.action} on resource: {call.params.get('RoleArn', '')}")
            if denied:
                return _kms_error(start_response, "AccessDeniedException",
                                  f"User: arn:aws:iam::{ACCOUNT}:user/denied is not authorized to perform: "
                                  f"kms:{call.action} on resource: {call.params.get('KeyId', '')} because no "
                                  f"identity-based policy allows the kms:{call.action} action")
            if disabled and call.action in ("Encrypt", "Decrypt"):
                return _kms_error(start_response, "DisabledException", f"{call.params['KeyId']} is disabled.")
            if call.service != "kms" or call.action not in ("Encrypt", "Decrypt"):
                return app(environ, start_response)
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.latency:
                    time.sleep(self.latency)
                return list(app(environ, start_response))
            finally:
                with self._lock:
                    self.in_flight -= 1

        return handle


def _describe(environ: Mapping[str, Any], body: bytes) -> Call:
    m = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    akid, service = (m.group(1), m.group(3)) if m else ("", "")
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    params: dict[str, Any] = {}
    if target:
        action = target.rsplit(".", 1)[-1]
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
    else:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        params = {k: v[0] for k, v in form.items()}
        action = str(params.get("Action", ""))
        if not service and action.startswith("AssumeRoleWith"):
            service = "sts"
    return Call(service, action, akid, "HTTP_X_AMZ_SECURITY_TOKEN" in environ, params)


def _kms_error(start_response: StartResponse, kind: str, message: str) -> list[bytes]:
    payload = json.dumps({"__type": kind, "message": message}).encode()
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                       ("Content-Length", str(len(payload))),
                                       ("x-amzn-RequestId", secrets.token_hex(16))])
    return [payload]


def _sts_error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    from xml.sax.saxutils import escape

    payload = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
               f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
               f"<RequestId>{secrets.token_hex(16)}</RequestId></ErrorResponse>").encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))])
    return [payload]


if __name__ == "__main__":  # a manual run: python tests/kms/aws_server.py
    emu = AwsEmulator().start()
    print(f"AWS_ENDPOINT_URL={emu.url} key={emu.create_key()}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emu.stop()
