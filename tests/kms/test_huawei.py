"""HuaweiCloud KMS (``hckms``) end to end, against a local emulator that checks request signatures.

One emulator (tests/kms/huawei_server.py) serves the whole module on 127.0.0.1. Both sops and sops-py
reach it through ``HUAWEICLOUD_SDK_REGION_KMS_TR_WEST_1``; ``HTTP(S)_PROXY`` points at a closed loopback
port (with ``NO_PROXY=127.0.0.1``) so the credential chain's metadata link never leaves the machine.
sops-py runs as ``python -m sops_py`` in a subprocess, as users run it; error reports are compared with
the real sops byte for byte, request ids masked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.interop.sops_helpers import age_key, requires_sops, run_sops, sops_env
from tests.kms.common import stop_process
from tests.kms.huawei_server import DISABLED, ENABLED, HuaweiKMS
from tests.kms.netfix import TestCA, free_port

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
AK, SK, PROJECT = "HPUAEXAMPLEAK0001", "sk-5ecret-Do-Not-Print-0001", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
REGION = "tr-west-1"
ENDPOINT_VAR = "HUAWEICLOUD_SDK_REGION_KMS_TR_WEST_1"
PLAIN = b"db:\n    user: admin\n    password: hunter2\nlist:\n    - 1\n    - two\n"
EXTRA = "huaweicloudsdkkms is not installed: run pip install 'sops-py[huawei]'\n"


@pytest.fixture(scope="module")
def kms() -> Iterator[HuaweiKMS]:
    server = HuaweiKMS(AK, SK, PROJECT).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def closed_port() -> int:
    return free_port()


@pytest.fixture
def env_for(kms: HuaweiKMS, closed_port: int, tmp_path: Path) -> Any:
    """env_for(**overrides) -> a complete environment for sops or sops-py (None removes a variable)."""

    def make(**over: str | None) -> dict[str, str]:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in sops_env(home=home).items()
               if not k.startswith(("HUAWEICLOUD_", "HC_CONTAINER_")) and k.lower() not in ("http_proxy", "https_proxy",
                                                                                           "no_proxy", "all_proxy")}
        env.update({"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK, "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
                    ENDPOINT_VAR: kms.endpoint, "HTTP_PROXY": f"http://127.0.0.1:{closed_port}",
                    "HTTPS_PROXY": f"http://127.0.0.1:{closed_port}", "NO_PROXY": "127.0.0.1,localhost",
                    "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")})
        for k, v in over.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    return make


def ours(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path | None = None,
         prelude: str = "", timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "sops_py", *map(str, args)] if not prelude else [
        sys.executable, "-c", f"{prelude}\nimport runpy, sys\nsys.argv = ['sops-py', *{[str(a) for a in args]!r}]\n"
                              "runpy.run_module('sops_py', run_name='__main__')"]
    return subprocess.run(cmd, env=dict(env), cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=timeout, check=False)


def theirs(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
           cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return run_sops(list(args), env=env, cwd=cwd)


def masked(stderr: bytes) -> bytes:
    return re.sub(rb'"request_id":"[0-9a-f]*"', b'"request_id":"-"', stderr)


def no_secrets(*outputs: bytes) -> None:
    for out in outputs:
        for secret in (SK.encode(), b"Signature=", b"security-token-value"):
            assert secret not in out


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def hckms_entries(doc: bytes) -> list[dict[str, Any]]:
    return list(yaml.safe_load(doc)["sops"]["hckms"])


def kid(uuid: str) -> str:
    return f"{REGION}:{uuid}"


# ------------------------------------------------------------------ encrypt with sops-py, decrypt with both

@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("source", ["flag", "env", "config"])
def test_encrypt_then_decrypt_both_ways(source: str, kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    key = kms.create_key()
    src = write(tmp_path / "secrets.yaml", PLAIN)
    env = env_for()
    args: list[str | os.PathLike[str]] = ["encrypt"]
    if source == "flag":
        args += ["--hckms", kid(key)]
    elif source == "env":
        env["SOPS_HUAWEICLOUD_KMS_IDS"] = kid(key)
    else:
        write(tmp_path / ".sops.yaml", f"creation_rules:\n  - path_regex: secrets\\.yaml$\n    hckms:\n"
                                       f"      - {kid(key)}\n")
    before = len(kms.requests)
    res = ours([*args, src.name], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    [entry] = hckms_entries(res.stdout)
    assert sorted(entry) == ["created_at", "enc", "key_id"]
    assert entry["key_id"] == kid(key)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["created_at"])
    # what went over the wire: the UUID alone, base64 of the 32-byte data key, the default algorithm
    [call] = kms.requests[before:]
    assert call.path == "encrypt-data"
    assert set(call.body) == {"key_id", "plain_text", "encryption_algorithm"}
    assert call.body["key_id"] == key and call.body["encryption_algorithm"] == "SYMMETRIC_DEFAULT"
    assert len(base64.b64decode(call.body["plain_text"], validate=True)) == 32
    assert "X-Project-Id" in call.headers or "x-project-id" in {h.lower() for h in call.headers}
    enc = write(tmp_path / "secrets.enc.yaml", res.stdout)
    for run in (ours, theirs):
        out = run(["decrypt", enc], env_for())
        assert out.returncode == 0, out.stderr
        assert out.stdout == PLAIN


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.interop
@requires_sops
def test_sops_encrypts_we_decrypt(fmt: str, kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    key = kms.create_key()
    plain = PLAIN if fmt == "yaml" else json.dumps(yaml.safe_load(PLAIN), indent=4).encode() + b"\n"
    src = write(tmp_path / f"s.{fmt}", plain)
    res = theirs(["encrypt", "--hckms", kid(key), src], env_for())
    assert res.returncode == 0, res.stderr
    enc = write(tmp_path / f"s.enc.{fmt}", res.stdout)
    out, reference = ours(["decrypt", enc], env_for()), theirs(["decrypt", enc], env_for())
    assert out.returncode == reference.returncode == 0, out.stderr
    assert out.stdout == reference.stdout
    assert json.loads(out.stdout) == json.loads(plain) if fmt == "json" else out.stdout == plain


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("encrypter", ["ours", "sops"])
def test_key_groups_shamir_with_age(encrypter: str, kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    """Three groups (hckms, age, hckms), threshold 2: any two groups recover the key, one does not."""
    k1, k2 = kms.create_key(), kms.create_key()
    write(tmp_path / ".sops.yaml", f"""creation_rules:
  - shamir_threshold: 2
    key_groups:
      - hckms:
          - key_id: {kid(k1)}
      - age:
          - {age_key()[1]}
      - hckms:
          - key_id: {kid(k2)}
""")
    src = write(tmp_path / "s.yaml", PLAIN)
    run, other = (ours, theirs) if encrypter == "ours" else (theirs, ours)
    res = run(["encrypt", src.name], env_for(), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    meta = yaml.safe_load(res.stdout)["sops"]
    assert meta["shamir_threshold"] == 2
    groups = meta["key_groups"]
    assert [g["hckms"][0]["key_id"] for g in (groups[0], groups[2])] == [kid(k1), kid(k2)]
    assert sorted(groups[0]["hckms"][0]) == ["created_at", "enc", "key_id"]
    enc = write(tmp_path / "s.enc.yaml", res.stdout)
    # age + k2 (k1 disabled), then k1 + k2 without the age key
    kms.keys[k1] = (DISABLED, kms.keys[k1][1])
    out = other(["decrypt", enc], env_for())
    assert out.returncode == 0, out.stderr
    assert out.stdout == PLAIN
    kms.keys[k1] = (ENABLED, kms.keys[k1][1])
    out = other(["decrypt", enc], env_for(SOPS_AGE_KEY=None))
    assert out.returncode == 0, out.stderr
    assert out.stdout == PLAIN
    # only age: one part of two; both report it the same way
    reports = [r(["decrypt", enc], env_for(HUAWEICLOUD_SDK_SK="wrong-secret")) for r in (ours, theirs)]
    assert [r.returncode for r in reports] == [128, 128]
    assert masked(reports[0].stderr) == masked(reports[1].stderr)
    assert b"Shamir threshold of 2, but only 1 part(s)" in reports[0].stderr.replace(b"\n", b" ")
    no_secrets(*(r.stderr for r in reports))


# ------------------------------------------------------------------ rotate, add/remove keys, updatekeys

@pytest.mark.interop
@requires_sops
def test_rotate_add_and_remove(kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    k1, k2 = kms.create_key(), kms.create_key()
    res = ours(["encrypt", "--hckms", kid(k1), write(tmp_path / "s.yaml", PLAIN)], env_for())
    assert res.returncode == 0, res.stderr
    enc = write(tmp_path / "s.enc.yaml", res.stdout)
    res = ours(["rotate", "-i", "--add-hckms", kid(k2), enc], env_for())
    assert res.returncode == 0, res.stderr
    assert [e["key_id"] for e in hckms_entries(enc.read_bytes())] == [kid(k1), kid(k2)]
    kms.keys[k1] = (DISABLED, kms.keys[k1][1])  # sops must use the added key
    out = theirs(["decrypt", enc], env_for())
    assert out.returncode == 0, out.stderr
    assert out.stdout == PLAIN
    kms.keys[k1] = (ENABLED, kms.keys[k1][1])
    res = ours(["rotate", "-i", "--rm-hckms", kid(k2), enc], env_for())
    assert res.returncode == 0, res.stderr
    assert [e["key_id"] for e in hckms_entries(enc.read_bytes())] == [kid(k1)]
    kms.keys[k2] = (DISABLED, kms.keys[k2][1])
    out = theirs(["decrypt", enc], env_for())
    assert out.returncode == 0, out.stderr
    assert out.stdout == PLAIN
    # and sops' own rotate output reads back here
    res = theirs(["rotate", "--add-hckms", kid(kms.create_key()), enc], env_for())
    assert res.returncode == 0, res.stderr
    out = ours(["decrypt", write(tmp_path / "r.enc.yaml", res.stdout)], env_for())
    assert out.returncode == 0, out.stderr
    assert out.stdout == PLAIN


@pytest.mark.interop
@requires_sops
def test_updatekeys(kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    k1, k2 = kms.create_key(), kms.create_key()
    res = ours(["encrypt", "--hckms", kid(k1), write(tmp_path / "s.yaml", PLAIN)], env_for())
    assert res.returncode == 0, res.stderr
    enc = write(tmp_path / "s.enc.yaml", res.stdout)
    write(tmp_path / ".sops.yaml", f"creation_rules:\n  - hckms:\n      - {kid(k2)}\n")
    res = ours(["updatekeys", "-y", enc.name], env_for(), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [e["key_id"] for e in hckms_entries(enc.read_bytes())] == [kid(k2)]
    kms.keys[k1] = (DISABLED, kms.keys[k1][1])
    out = theirs(["decrypt", enc], env_for())
    assert out.returncode == 0, out.stderr
    assert out.stdout == PLAIN


# ------------------------------------------------------------------ key services both ways

@contextmanager
def keyservice(impl: str, env: Mapping[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    flags = ["keyservice", "--network", "tcp", "--address", f"127.0.0.1:{port}"]
    cmd = [sys.executable, "-m", "sops_py", *flags] if impl == "ours" else ["sops", *flags]
    log = tmp_path / f"keyservice-{impl}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize(("server", "client"), [("sops", "ours"), ("ours", "sops")])
def test_through_keyservice(server: str, client: str, kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    """The server holds the credentials; the client has none and no local key service."""
    key = kms.create_key()
    bare = env_for(HUAWEICLOUD_SDK_AK=None, HUAWEICLOUD_SDK_SK=None, HUAWEICLOUD_SDK_PROJECT_ID=None,
                   **{ENDPOINT_VAR: None})
    run = ours if client == "ours" else theirs
    with keyservice(server, env_for(), tmp_path) as uri:
        remote = ["--enable-local-keyservice=false", "--keyservice", uri]
        res = run(["encrypt", *remote, "--hckms", kid(key), write(tmp_path / "s.yaml", PLAIN)], bare)
        assert res.returncode == 0, res.stderr
        enc = write(tmp_path / "s.enc.yaml", res.stdout)
        assert hckms_entries(res.stdout)[0]["key_id"] == kid(key)
        out = run(["decrypt", *remote, enc], bare)
        assert out.returncode == 0, out.stderr
        assert out.stdout == PLAIN
    # the local key ring of the client has no credentials
    out = run(["decrypt", enc], bare)
    assert out.returncode == 128
    assert b"failed to get HuaweiCloud credentials" in out.stderr.replace(b"\n      | ", b" ")
    # and the file is an ordinary hckms file for the other side
    direct = (theirs if client == "ours" else ours)(["decrypt", enc], env_for())
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout == PLAIN


@pytest.mark.interop
@requires_sops
def test_keyservice_errors_reach_the_client(kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    """A server with a wrong secret key: the client's report carries the server's KMS error, the same
    from either server, and no secret."""
    key = kms.create_key()
    res = ours(["encrypt", "--hckms", kid(key), write(tmp_path / "s.yaml", PLAIN)], env_for())
    assert res.returncode == 0, res.stderr
    enc = write(tmp_path / "s.enc.yaml", res.stdout)
    bare = env_for(HUAWEICLOUD_SDK_AK=None, HUAWEICLOUD_SDK_SK=None)
    reports = []
    for server in ("sops", "ours"):
        with keyservice(server, env_for(HUAWEICLOUD_SDK_SK="not-the-secret"), tmp_path) as uri:
            out = ours(["decrypt", "--enable-local-keyservice=false", "--keyservice", uri, enc], bare)
        assert out.returncode == 128
        reports.append(masked(out.stderr))
    assert reports[0] == reports[1]
    assert b"rpc error: code = Unknown desc = failed to decrypt sops data key with HuaweiCloud KMS:" in \
        reports[0].replace(b"\n      | ", b" ")
    no_secrets(*reports)


# ------------------------------------------------------------------ failures, compared with sops

def both(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
         cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
    return ours(args, env, cwd), theirs(args, env, cwd)


@pytest.fixture
def encrypted(kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> tuple[str, Path]:
    key = kms.create_key()
    res = ours(["encrypt", "--hckms", kid(key), write(tmp_path / "s.yaml", PLAIN)], env_for())
    assert res.returncode == 0, res.stderr
    return key, write(tmp_path / "s.enc.yaml", res.stdout)


@pytest.mark.interop
@requires_sops
def test_wrong_secret_key_is_rejected(encrypted: tuple[str, Path], env_for: Any, tmp_path: Path) -> None:
    key, enc = encrypted
    env = env_for(HUAWEICLOUD_SDK_SK="not-the-secret", HUAWEICLOUD_SDK_SECURITY_TOKEN="security-token-value")
    mine, sops = both(["decrypt", enc], env)
    assert mine.returncode == sops.returncode == 128
    assert masked(mine.stderr) == masked(sops.stderr)
    assert mine.stderr.startswith(b"Failed to get the data key required to decrypt the SOPS file.")
    assert b'"status_code":401' in mine.stderr and b"APIGW.0301" in mine.stderr
    # encrypt: sops' exit code and message, nothing written
    out = tmp_path / "never.enc.yaml"
    mine, sops = both(["encrypt", "--hckms", kid(key), "--output", out, tmp_path / "s.yaml"], env)
    assert mine.returncode == sops.returncode != 0
    assert masked(mine.stderr) == masked(sops.stderr)
    assert mine.stderr.startswith(f'Could not generate data key: [failed to encrypt new data key with master key '
                                  f'"{kid(key)}": failed to encrypt sops data key with HuaweiCloud KMS: '
                                  '{"status_code":401,'.encode())
    assert not out.exists()
    no_secrets(mine.stderr, sops.stderr)


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("case", ["unknown", "disabled", "bad-region"])
def test_key_errors_match_sops(case: str, kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    src = write(tmp_path / "s.yaml", PLAIN)
    key = {"unknown": kid("00000000-0000-4000-8000-000000000000"), "disabled": kid(kms.create_key(DISABLED)),
           "bad-region": f"xx-nowhere-9:{kms.create_key()}"}[case]
    before = src.read_bytes()
    mine, sops = both(["encrypt", "-i", "--hckms", key, src], env_for())
    assert mine.returncode == sops.returncode == 1
    assert masked(mine.stderr) == masked(sops.stderr)
    assert src.read_bytes() == before
    expected = {"unknown": b'"status_code":404,"request_id":"-","error_code":"KMS.0205"',
                "disabled": b'"error_code":"KMS.0207","error_message":"The key is disabled."',
                "bad-region": b"invalid region \"xx-nowhere-9\": region id 'xx-nowhere-9' is not in"}[case]
    assert expected in masked(mine.stderr)
    no_secrets(mine.stderr, sops.stderr)


@pytest.mark.interop
@requires_sops
def test_unreachable_endpoint(encrypted: tuple[str, Path], env_for: Any, closed_port: int) -> None:
    _, enc = encrypted
    start = time.monotonic()
    mine, sops = both(["decrypt", enc], env_for(**{ENDPOINT_VAR: f"http://127.0.0.1:{closed_port}"}))
    assert time.monotonic() - start < 30
    assert mine.returncode == sops.returncode == 128
    assert mine.stderr == sops.stderr
    assert f"dial tcp 127.0.0.1:{closed_port}: connect: connection refused".encode() in \
        mine.stderr.replace(b"\n      | ", b" ")
    no_secrets(mine.stderr, sops.stderr)


@pytest.mark.interop
@requires_sops
def test_no_credentials(encrypted: tuple[str, Path], env_for: Any) -> None:
    """Same exit code and the same leading text; the chain's per-link reasons are each SDK's own."""
    _, enc = encrypted
    mine, sops = both(["decrypt", enc], env_for(HUAWEICLOUD_SDK_AK=None, HUAWEICLOUD_SDK_SK=None))
    assert mine.returncode == sops.returncode == 128
    flat = [r.stderr.replace(b"\n      | ", b" ") for r in (mine, sops)]
    for text in flat:
        assert (b"failed to create HuaweiCloud KMS client: failed to get HuaweiCloud credentials: "
                b'{"ErrorMessage": "unable to get credential in providers:') in text
        assert b'{"ErrorMessage": "AK&SK or IdpId&IdTokenFile does not exist"}' in text
        assert b'Put "http://169.254.169.254/meta-data/latest/api/token": proxyconnect tcp: dial tcp' in text
    no_secrets(mine.stderr, sops.stderr)


@pytest.mark.interop
@requires_sops
def test_project_id_from_iam(kms: HuaweiKMS, env_for: Any, tmp_path: Path) -> None:
    """Without a project id the SDK asks IAM (signed, here the emulator) for the region's project.

    Only sops-py is run this way: the Go SDK prefixes ``https://`` to HUAWEICLOUD_SDK_IAM_ENDPOINT, and sops
    panics (exit 2) when the lookup fails instead of reporting it."""
    key = kms.create_key()
    env = env_for(HUAWEICLOUD_SDK_PROJECT_ID=None, HUAWEICLOUD_SDK_IAM_ENDPOINT=kms.endpoint)
    before = len(kms.requests)
    res = ours(["encrypt", "--hckms", kid(key), write(tmp_path / "s.yaml", PLAIN)], env)
    assert res.returncode == 0, res.stderr
    assert [r.path for r in kms.requests[before:]] == ["list-projects", "encrypt-data"]
    out = theirs(["decrypt", write(tmp_path / "s.enc.yaml", res.stdout)], env_for())
    assert out.returncode == 0, out.stderr
    assert out.stdout == PLAIN


@pytest.mark.interop
@requires_sops
def test_https_endpoint_with_ssl_cert_file(env_for: Any, tmp_path: Path) -> None:
    ca = TestCA(tmp_path / "ca")
    server = HuaweiKMS(AK, SK, PROJECT).start(tls=ca.issue(["127.0.0.1"]))
    try:
        key = server.create_key()
        env = env_for(**{ENDPOINT_VAR: server.endpoint, "SSL_CERT_FILE": str(ca.ca_pem)})
        res = ours(["encrypt", "--hckms", kid(key), write(tmp_path / "s.yaml", PLAIN)], env)
        assert res.returncode == 0, res.stderr
        enc = write(tmp_path / "s.enc.yaml", res.stdout)
        out = theirs(["decrypt", enc], env)
        assert out.returncode == 0, out.stderr
        assert out.stdout == PLAIN
        # without the CA both refuse the certificate
        for run in (ours, theirs):
            assert run(["decrypt", enc], env_for(**{ENDPOINT_VAR: server.endpoint})).returncode == 128
    finally:
        server.stop()


def test_missing_sdk_names_the_extra(encrypted: tuple[str, Path], env_for: Any, tmp_path: Path) -> None:
    """Without the SDK the key fails with one line naming the extra (a master-key error, reported per key
    like any other, so another key of the file can still succeed); nothing is written."""
    key, enc = encrypted
    block = "import sys; sys.modules['huaweicloudsdkkms'] = None"
    res = ours(["decrypt", enc], env_for(), prelude=block)
    assert res.returncode == 128
    assert res.stdout == b""
    flat = res.stderr.decode().replace("\n      | ", " ")
    assert f"  {kid(key)}: FAILED\n    - | {EXTRA}" in flat
    assert "Traceback" not in flat
    out = tmp_path / "never.enc.yaml"
    res = ours(["encrypt", "--hckms", kid(key), "--output", out, tmp_path / "s.yaml"], env_for(), prelude=block)
    assert res.returncode == 1
    assert res.stderr.decode() == (f'Could not generate data key: [failed to encrypt new data key with master key '
                                   f'"{kid(key)}": {EXTRA.strip()}]\n')
    assert not out.exists()


# ------------------------------------------------------------------ the library backend

def test_backend_in_process(kms: HuaweiKMS, closed_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The env mapping is honoured (nothing in os.environ), and concurrent calls share one client."""
    from sops_py.keys import KeyFailed, hckms
    from sops_py.metadata import KeyEntry

    for k in list(os.environ):
        if k.startswith("HUAWEICLOUD_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    env = {"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK, "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
           ENDPOINT_VAR: kms.endpoint}
    backend = hckms.make_backend(env)
    keys = [kms.create_key() for _ in range(4)]
    secrets = [os.urandom(32) for _ in keys]
    entries = [KeyEntry("hckms", {"key_id": kid(k), "created_at": "", "enc": ""}) for k in keys]
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        entries[i].enc = backend.wrap(entries[i], secrets[i])
        results[i] = backend.unwrap(entries[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(keys))] == secrets
    with pytest.raises(KeyFailed, match=r"^invalid key ID format: expected 'region:key-uuid', got \"nocolon\"$"):
        backend.unwrap(KeyEntry("hckms", {"key_id": "nocolon", "enc": "x"}))
    with pytest.raises(KeyFailed, match=r"^key UUID cannot be empty in key ID: \"tr-west-1:\"$"):
        backend.unwrap(KeyEntry("hckms", {"key_id": "tr-west-1:", "enc": "x"}))


def test_read_timeout_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and never answers: the read timeout ends the call (shortened here)."""
    from sops_py.keys import KeyFailed, hckms
    from sops_py.metadata import KeyEntry

    monkeypatch.setattr(hckms, "READ_TIMEOUT", 1.0)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        backend = hckms.make_backend({"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK,
                                      "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
                                      ENDPOINT_VAR: f"http://127.0.0.1:{port}"})
        start = time.monotonic()
        with pytest.raises(KeyFailed) as info:
            backend.unwrap(KeyEntry("hckms", {"key_id": kid("k"), "enc": "x"}))
        assert time.monotonic() - start < 10
    assert str(info.value) == (f'failed to decrypt sops data key with HuaweiCloud KMS: Post "http://127.0.0.1:{port}'
                               f'/v1.0/{PROJECT}/kms/decrypt-data": context deadline exceeded (Client.Timeout '
                               'exceeded while awaiting headers)')
