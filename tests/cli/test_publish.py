"""`publish`: destination rules, the Vault KV destination against a tiny local KV server (the endpoints
sops' Vault client calls: ``GET``/``PUT /v1/<mount>/data/<path>`` for KV v2, ``/v1/<mount>/<path>`` for
v1), S3/GCS through their SDKs (patched here: no cloud), and the real sops binary as the oracle for the
requests it makes and for its messages."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sops_py import publish as pub
from sops_py.datakey import KeyRing
from sops_py.ops.crypt import decrypt_data
from sops_py.stores import get_store
from tests.cli.cli_harness import Run, run_go, run_py, write
from tests.helpers import AGE2_KEY_FILE, AGE2_RECIPIENT, AGE_KEY_FILE, TESTDATA
from tests.interop.sops_helpers import SOPS

requires_sops = pytest.mark.skipif(SOPS is None, reason="the sops binary is not on PATH")
TOKEN = "s.test-token"


# ------------------------------------------------------------------ a KV server

@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeVault:
    """KV engines by mount (``secret/`` v2, ``kv1/`` v1); requests need ``X-Vault-Token: TOKEN``."""

    mounts: dict[str, int] = field(default_factory=lambda: {"secret/": 2, "kv1/": 1})
    secrets: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    address: str = ""

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.requests.append(Request(method, path, headers, body))
        if headers.get("X-Vault-Token") != TOKEN:
            return 403, {"errors": ["permission denied"]}
        rest = path.removeprefix("/v1/")
        mount = next((m for m in self.mounts if rest.startswith(m)), None)
        if mount is None:
            return 404, {"errors": [f"no handler for route \"{rest}\". route entry not found."]}
        rest = rest[len(mount):]
        if self.mounts[mount] == 2:
            if not rest.startswith("data/"):
                return 404, {"errors": []}
            key = mount + rest[len("data/"):]
            if method == "GET":
                if key not in self.secrets:
                    return 404, {"errors": []}
                return 200, {"data": {"data": self.secrets[key], "metadata": {"version": self.versions[key]}}}
            self.secrets[key] = json.loads(body)["data"]
            self.versions[key] = self.versions.get(key, 0) + 1
            return 200, {"data": {"version": self.versions[key]}}
        key = mount + rest
        if method == "GET":
            if key not in self.secrets:
                return 404, {"errors": []}
            return 200, {"data": self.secrets[key]}
        self.secrets[key] = json.loads(body)
        return 204, None

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("PUT", "POST")]


def _handler(vault: FakeVault) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            code, payload = vault.handle(self.command, self.path, dict(self.headers), body)
            raw = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(code)
            if raw:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_PUT = do_POST = _any

    return Handler


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    v = FakeVault()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(v))
    v.address = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield v
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ fixtures

PLAIN = "a: 1\nb: two\nc:\n  d: [1, x, {e: f}]\n  t: 2020-01-01T00:00:00Z\nf: 1.5\ng: true\nh: null\n# trailing\n"
STRINGS = "user: admin\npassword: hunter2\n"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "VAULT_"))}
    env.update({"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "HOME": "/nonexistent-sops-py-home",
                "XDG_CONFIG_HOME": "/nonexistent-sops-py-home/.config", "VAULT_TOKEN": TOKEN})
    env.update(extra)
    return env


def _encrypt(tmp: Path, name: str, text: str) -> Path:
    plain = write(tmp / "_plain.yaml", text)
    out = run_py(["encrypt", "--age", (TESTDATA / "keys" / "age.pub").read_text().strip(), plain], _env())
    assert out.code == 0, out.err
    plain.unlink()
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.out)
    return path


def _config(tmp: Path, text: str) -> None:
    write(tmp / ".sops.yaml", text)


def publish(tmp: Path, *args: str, input: bytes = b"", **env: str) -> Run:
    return run_py(["publish", *args], _env(**env), tmp, input)


# ================================================================== destination rules (unit)

def test_first_matching_destination_rule_wins() -> None:
    rules = [{"path_regex": "^prod/", "s3_bucket": "p"}, {"path_regex": "(", "s3_bucket": "bad-regex"},
             {"path_regex": r"\.yaml$", "gcs_bucket": "g", "gcs_prefix": "x/"}, {"s3_bucket": "catch-all"}]
    first = pub.match_destination_rule(rules, "prod/a.yaml").destination
    assert isinstance(first, pub.S3Destination) and first.bucket == "p"
    second = pub.match_destination_rule(rules, "dev/a.yaml").destination
    assert isinstance(second, pub.GCSDestination) and second.path("a.yaml") == "gcs://g/x/a.yaml"
    last = pub.match_destination_rule(rules, "dev/a.json").destination
    assert isinstance(last, pub.S3Destination) and last.path("a.json") == "s3://catch-all/a.json"
    # the path is matched as given, not made absolute or relative to the config
    assert isinstance(pub.match_destination_rule(rules, "./prod/a.yaml").destination, pub.GCSDestination)


def test_destination_rule_errors() -> None:
    with pytest.raises(pub.PublishError, match="no matching destination found in config"):
        pub.match_destination_rule([{"path_regex": "^x", "s3_bucket": "b"}], "a.yaml")
    with pytest.raises(pub.PublishError, match="no matching destination found in config"):
        pub.match_destination_rule([], "a.yaml")
    with pytest.raises(pub.PublishError, match="more than one destinations were found in a single destination rule"):
        pub.match_destination_rule([{"s3_bucket": "b", "vault_path": "p"}], "a.yaml")
    assert pub.match_destination_rule([{"path_regex": ""}], "a.yaml").destination is None


def test_vault_destination_defaults() -> None:
    rule = pub.match_destination_rule([{"vault_path": "team", "vault_address": "https://v:8200"}], "f").destination
    assert isinstance(rule, pub.VaultDestination)
    assert rule.path("f.yaml") == "https://v:8200/v1/secret/data/team/f.yaml"
    v1 = pub.VaultDestination("", "p/", "kv", 1, environ={"VAULT_ADDR": "http://a:1"})
    assert v1.path("x") == "http://a:1/v1/kv/p/x"
    odd = pub.VaultDestination("", "p", "", 3, environ={})
    assert odd.path("x") == "https://127.0.0.1:8200/v1/secret/data/p/x"


def test_destination_names() -> None:
    assert pub.destination_name("dir/sub/a.enc.yaml", "dir", True, False) == "sub/a.enc.yaml"
    assert pub.destination_name("dir/sub/a.enc.yaml", "dir", True, True) == "sub/a.enc"
    assert pub.destination_name("dir/a.yaml", "dir/a.yaml", False, True) == "a"
    assert pub.destination_name("a.yaml", "a.yaml", True, False) == "."
    assert pub.go_ext("/x/.env") == ".env" and pub.go_ext("/x.y/z") == ""


def test_emit_as_map_and_go_json() -> None:
    branches = get_store("yaml").load_plain(PLAIN.encode())
    data = pub.emit_as_map(branches)
    assert pub.go_json_marshal({"data": data}) == (
        '{"data":{"a":1,"b":"two","c":{"d":[1,"x",[{"Key":"e","Value":"f"}]],"t":"2020-01-01T00:00:00Z"},'
        '"f":1.5,"g":true,"h":null}}')
    assert pub.go_json_marshal({"h": "<&>"}) == '{"h":"\\u003c\\u0026\\u003e"}'


def test_vault_numbers_never_compare_equal() -> None:
    decoded = json.loads('{"a": 1, "b": "x", "c": true}', parse_int=pub.JSONNumber, parse_float=pub.JSONNumber)
    assert not pub.go_equal({"a": 1, "b": "x", "c": True}, decoded)
    assert pub.go_equal({"b": "x", "c": True}, {"b": "x", "c": True})
    assert not pub.go_equal({"c": 1}, {"c": True}) and not pub.go_equal({"s": "1"}, {"s": pub.JSONNumber("1")})


# ================================================================== Vault KV

def test_publish_to_vault_kv2(tmp_path: Path, vault: FakeVault) -> None:
    _config(tmp_path, f"destination_rules:\n  - path_regex: ''\n    vault_path: team\n    vault_address: "
                      f"{vault.address}\n")
    _encrypt(tmp_path, "s.yaml", PLAIN)
    out = publish(tmp_path, "-y", "s.yaml")
    assert out.code == 0, out.err
    assert [(r.method, r.path) for r in vault.requests] == [("GET", "/v1/secret/data/team/s.yaml"),
                                                            ("PUT", "/v1/secret/data/team/s.yaml")]
    put = vault.requests[1]
    assert put.headers["X-Vault-Token"] == TOKEN and put.headers["X-Vault-Request"] == "true"
    assert put.body == pub.go_json_marshal({"data": pub.emit_as_map(get_store("yaml").load_plain(PLAIN.encode()))}
                                           ).encode()
    assert vault.secrets["secret/team/s.yaml"]["b"] == "two"
    # numbers come back as json.Number: never equal, so sops writes a new version every time
    assert publish(tmp_path, "-y", "s.yaml").code == 0
    assert len(vault.writes()) == 2 and vault.versions["secret/team/s.yaml"] == 2


def test_vault_secret_already_up_to_date(tmp_path: Path, vault: FakeVault) -> None:
    _config(tmp_path, f"destination_rules:\n  - vault_path: team/\n    vault_address: {vault.address}\n")
    _encrypt(tmp_path, "s.yaml", STRINGS)
    assert publish(tmp_path, "--yes", "s.yaml").code == 0
    out = publish(tmp_path, "--yes", "--verbose", "s.yaml")
    assert out.code == 0 and "Secret in secret/data/team/s.yaml is already up-to-date." in out.err
    assert len(vault.writes()) == 1


def test_vault_kv1_mount_and_vault_addr(tmp_path: Path, vault: FakeVault) -> None:
    _config(tmp_path, "destination_rules:\n  - vault_path: app\n    vault_kv_mount_name: kv1\n"
                      "    vault_kv_version: 1\n")
    _encrypt(tmp_path, "s.yaml", STRINGS)
    out = publish(tmp_path, "-y", "--omit-extensions", "s.yaml", VAULT_ADDR=vault.address)
    assert out.code == 0, out.err
    assert [(r.method, r.path) for r in vault.requests] == [("GET", "/v1/kv1/app/s"), ("PUT", "/v1/kv1/app/s")]
    assert vault.secrets["kv1/app/s"] == {"user": "admin", "password": "hunter2"}


def test_vault_errors(tmp_path: Path, vault: FakeVault) -> None:
    _config(tmp_path, f"destination_rules:\n  - vault_path: team\n    vault_address: {vault.address}\n")
    _encrypt(tmp_path, "s.yaml", STRINGS)
    out = publish(tmp_path, "-y", "s.yaml", VAULT_TOKEN="wrong")
    assert out.code == 1
    assert "Cannot check if destination secret already exists in secret/data/team/s.yaml" in out.err
    assert (f"Error making API request.\n\nURL: PUT {vault.address}/v1/secret/data/team/s.yaml\nCode: 403. "
            "Errors:\n\n* permission denied\n") in out.err
    _config(tmp_path, "destination_rules:\n  - vault_path: team\n    vault_address: http://127.0.0.1:1\n")
    out = publish(tmp_path, "-y", "s.yaml")
    assert out.code == 1
    assert 'Put "http://127.0.0.1:1/v1/secret/data/team/s.yaml": dial tcp 127.0.0.1:1: connect: connection ' \
           "refused" in out.err


def test_interactive_confirmation(tmp_path: Path, vault: FakeVault) -> None:
    _config(tmp_path, f"destination_rules:\n  - vault_path: team\n    vault_address: {vault.address}\n")
    path = _encrypt(tmp_path, "s.yaml", STRINGS)
    question = f"uploading {path} to {vault.address}/v1/secret/data/team/s.yaml ? (y/n): "
    out = publish(tmp_path, "s.yaml", input=b"maybe\nn\n")
    assert (out.code, out.out, out.err) == (1, question * 2, f"Publication of {path} canceled\n")
    assert not vault.writes()
    for answer, message in ((b"", "EOF"), (b"\n", "unexpected newline"), (b"y n\n", "expected newline")):
        out = publish(tmp_path, "s.yaml", input=answer)
        assert (out.code, out.err) == (1, message + "\n")
    out = publish(tmp_path, "s.yaml", input=b"y\n")
    assert out.code == 0 and out.out == question and len(vault.writes()) == 1


def test_recursive_directory(tmp_path: Path, vault: FakeVault) -> None:
    _config(tmp_path, f"destination_rules:\n  - path_regex: ^dir/skip\n    vault_path: other\n    vault_address: "
                      f"{vault.address}\n  - vault_path: team\n    vault_address: {vault.address}\n")
    for name in ("dir/x.yaml", "dir/sub/y.yaml", "dir/skip/z.yaml"):
        _encrypt(tmp_path, name, STRINGS)
    out = publish(tmp_path, "dir")
    assert out.code == 1 and out.err.startswith("[CMD]\t time=")
    assert out.err.endswith(' level=fatal msg="can\'t operate on a directory without --recursive flag."\n')
    out = publish(tmp_path, "-y", "--recursive", "--omit-extensions", "dir")
    assert out.code == 0, out.err
    assert [r.path for r in vault.writes()] == ["/v1/secret/data/other/skip/z", "/v1/secret/data/team/sub/y",
                                                "/v1/secret/data/team/x"]
    vault.requests.clear()
    out = publish(tmp_path, "--recursive", "dir", input=b"n\nn\ny\n")
    assert out.code == 0 and out.out.count("canceled\n") == 2 and len(vault.writes()) == 1


def test_publish_argument_errors(tmp_path: Path) -> None:
    _encrypt(tmp_path, "s.yaml", STRINGS)
    out = publish(tmp_path, "s.yaml")
    assert (out.code, out.err) == (1, "config file not found\n")
    _config(tmp_path, "destination_rules:\n  - s3_bucket: b\n")
    assert (publish(tmp_path).code, publish(tmp_path).err) == (100, "Error: no file specified\n")
    out = publish(tmp_path, "-y", "missing.yaml")
    assert (out.code, out.err) == (1, "stat missing.yaml: no such file or directory\n")
    write(tmp_path / "plain.yaml", "a: 1\n")
    out = publish(tmp_path, "-y", "plain.yaml")
    assert (out.code, out.err) == (1, "sops metadata not found\n")
    out = publish(tmp_path, "-y", "--decryption-order", "age,age", "s.yaml")
    assert (out.code, out.err) == (112, "Duplicate decryption key type: age\n")
    _config(tmp_path, "destination_rules:\n  - path_regex: ''\n")
    out = publish(tmp_path, "-y", "s.yaml")
    assert (out.code, out.err) == (1, "no destination configured for this file\n")


# ================================================================== S3 and GCS (SDKs patched)

def test_s3_uploads_the_file_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uploads: list[tuple[str, str, bytes]] = []
    monkeypatch.setattr(pub.S3Destination, "upload",
                        lambda self, contents, name: uploads.append((self.bucket, self.prefix + name, contents)))
    _config(tmp_path, "destination_rules:\n  - s3_bucket: bucket\n    s3_prefix: pre/\n")
    path = _encrypt(tmp_path, "s.yaml", STRINGS)
    out = publish(tmp_path, "-y", "s.yaml")
    assert out.code == 0, out.err
    assert uploads == [("bucket", "pre/s.yaml", path.read_bytes())]


def test_s3_recreation_rule_reencrypts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uploads: list[bytes] = []
    monkeypatch.setattr(pub.S3Destination, "upload", lambda self, contents, name: uploads.append(contents))
    _config(tmp_path, f"destination_rules:\n  - s3_bucket: bucket\n    recreation_rule:\n      age: {AGE2_RECIPIENT}\n"
                      "      encrypted_suffix: _secret\n")
    _encrypt(tmp_path, "s.yaml", "user: admin\npassword_secret: hunter2\n")
    out = publish(tmp_path, "-y", "s.yaml")
    assert out.code == 0, out.err
    assert out.out.startswith("The following changes will be made to the file's key groups:\nGroup 1\n+++ "
                              f"{AGE2_RECIPIENT}\n--- ")
    (published,) = uploads
    assert b"user: admin\n" in published and b"encrypted_suffix: _secret" in published
    store = get_store("yaml")
    plain = decrypt_data(published, store, store, KeyRing({"SOPS_AGE_KEY_FILE": str(AGE2_KEY_FILE),
                                                           "HOME": "/nonexistent"}))
    assert plain == b"user: admin\npassword_secret: hunter2\n"
    if SOPS is not None:  # and sops reads it
        target = write(tmp_path / "published.yaml", published.decode())
        theirs = run_go(["decrypt", target], _env(SOPS_AGE_KEY_FILE=str(AGE2_KEY_FILE)))
        assert (theirs.code, theirs.out) == (0, plain.decode())


def test_missing_sdks_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setitem(sys.modules, "google.cloud", None)
    _encrypt(tmp_path, "s.yaml", STRINGS)
    _config(tmp_path, "destination_rules:\n  - s3_bucket: b\n")
    out = publish(tmp_path, "-y", "s.yaml")
    assert out.code == 1 and "publishing to S3 needs boto3" in out.err and "pip install 'sops-py[aws]'" in out.err
    _config(tmp_path, "destination_rules:\n  - gcs_bucket: b\n")
    out = publish(tmp_path, "-y", "s.yaml")
    assert out.code == 1 and "google-cloud-storage" in out.err and "pip install 'sops-py[gcs]'" in out.err


# ================================================================== the binary as the oracle

@requires_sops
@pytest.mark.parametrize("args", [["-y", "s.yaml"], ["-y", "--recursive", "dir"], ["--yes", "--omit-extensions",
                                                                                   "dir/x.yaml"]])
def test_same_requests_as_sops(tmp_path: Path, vault: FakeVault, args: list[str]) -> None:
    _config(tmp_path, f"destination_rules:\n  - path_regex: ^dir/\n    vault_path: app\n    vault_kv_mount_name: "
                      f"kv1\n    vault_kv_version: 1\n    vault_address: {vault.address}\n"
                      f"  - vault_path: team\n    vault_address: {vault.address}\n")
    _encrypt(tmp_path, "s.yaml", PLAIN)
    _encrypt(tmp_path, "dir/x.yaml", STRINGS)
    _encrypt(tmp_path, "dir/sub/y.yaml", PLAIN)
    theirs = run_go(["publish", *args], _env(), tmp_path)
    go_requests = [(r.method, r.path, r.body) for r in vault.requests]
    go_secrets = json.loads(json.dumps(vault.secrets))
    vault.requests.clear()
    vault.secrets.clear()
    vault.versions.clear()
    ours = publish(tmp_path, *args)
    assert (ours.code, ours.out) == (theirs.code, theirs.out)
    assert [(r.method, r.path, r.body) for r in vault.requests] == go_requests
    assert vault.secrets == go_secrets


@requires_sops
def test_same_messages_as_sops(tmp_path: Path) -> None:
    _encrypt(tmp_path, "s.yaml", STRINGS)
    cases = [
        ("destination_rules:\n  - vault_path: a\n    s3_bucket: b\n", ["-y", "s.yaml"]),
        ("destination_rules:\n  - path_regex: ^zzz\n    vault_path: a\n", ["-y", "s.yaml"]),
        ("creation_rules:\n  - age: x\n", ["-y", "s.yaml"]),
        ("destination_rules:\n  - s3_bucket: b\n    recreation_rule:\n      unencrypted_suffix: _u\n"
         "      encrypted_suffix: _e\n", ["s.yaml"]),
        ("destination_rules:\n  - s3_bucket: b\n    s3_prefix: p/\n", ["s.yaml"]),
    ]
    for config, args in cases:
        _config(tmp_path, config)
        ours, theirs = publish(tmp_path, *args, input=b"n\n"), run_go(["publish", *args], _env(), tmp_path, b"n\n")
        assert (ours.code, ours.out, ours.err) == (theirs.code, theirs.out, theirs.err), config


def test_no_sdk_is_imported_by_publish_to_vault(tmp_path: Path, vault: FakeVault) -> None:
    before = {m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "google")}
    _config(tmp_path, f"destination_rules:\n  - vault_path: team\n    vault_address: {vault.address}\n")
    _encrypt(tmp_path, "s.yaml", STRINGS)
    assert publish(tmp_path, "-y", "s.yaml").code == 0
    after = {m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "google")}
    assert after == before
