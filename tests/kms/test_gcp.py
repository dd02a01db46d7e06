"""GCP Cloud KMS master keys end to end, against a local KMS (tests/kms/gcp_server.py) and the real sops.

sops-py reaches the emulator either through ``SOPS_GCP_KMS_ENDPOINT=127.0.0.1:PORT`` (sops 3.13's
variable; the reference binary lacks it) or, like the Go binary, through ``HTTPS_PROXY`` (a loopback
CONNECT proxy routing ``cloudkms.googleapis.com:443`` to the emulator) with the default endpoint. Both
transports (gRPC, REST) are covered. Credentials are a bearer token (``GOOGLE_OAUTH_ACCESS_TOKEN``) or a
service-account JSON (``GOOGLE_CREDENTIALS``, self-signed JWTs the emulator verifies).

Nothing leaves 127.0.0.1: the proxies refuse any other target, and sops-py's metadata-server probe
(application default credentials) is pointed at a closed loopback port. The Go binary is never run
without credentials: its default-credentials search would probe the GCE metadata server on the network.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.interop.sops_helpers import SOPS, age_key, requires_sops, run_sops
from tests.kms.common import assert_missing_sdk, run_without, stop_process
from tests.kms.gcp_server import GcpKmsServer
from tests.kms.netfix import ConnectProxy, TestCA, connect_proxy, free_port

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
HOST = "cloudkms.googleapis.com:443"
TOKEN = "ya29.sops-py-test-" + os.urandom(8).hex()
RING = "projects/sops-test/locations/global/keyRings/ring/cryptoKeys/"
K1, K2, DISABLED, CORRUPT, UNKNOWN = (RING + n for n in ("k1", "k2", "disabled", "corrupt", "unknown"))
PLAIN = b"a: 1\nb: hello\nlist:\n    - x\n    - 2\n"
TRANSPORTS = ["grpc", "rest"]
_DROP = ("SOPS_", "GOOGLE_", "GCE_", "GRPC_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY",
         "no_proxy", "ALL_PROXY", "all_proxy", "grpc_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT")


@dataclass
class Kms:
    server: GcpKmsServer
    ca: TestCA
    proxies: dict[str, ConnectProxy]
    home: Path

    def port(self, transport: str) -> int:
        return self.server.grpc_port if transport == "grpc" else self.server.rest_port

    def _base(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP)}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                   PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return env

    def ours(self, transport: str = "grpc", route: str = "endpoint", token: str | None = TOKEN,
             **extra: str) -> dict[str, str]:
        """sops-py's environment: the endpoint variable, or the proxy and the default endpoint."""
        env = self._base()
        env.update(SOPS_GCP_KMS_CLIENT_TYPE=transport, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=str(self.ca.ca_pem),
                   REQUESTS_CA_BUNDLE=str(self.ca.ca_pem),
                   # the ADC chain's metadata-server probe: a closed loopback port, never the network
                   GCE_METADATA_IP="127.0.0.1:1", GCE_METADATA_HOST="127.0.0.1:1")
        if route == "endpoint":
            env["SOPS_GCP_KMS_ENDPOINT"] = f"127.0.0.1:{self.port(transport)}"
        else:
            env["HTTPS_PROXY"] = self.proxies[transport].url
        if token is not None:
            env["GOOGLE_OAUTH_ACCESS_TOKEN"] = token
        env.update(extra)
        return env

    def go(self, transport: str = "grpc", token: str = TOKEN, **extra: str) -> dict[str, str]:
        """The Go binary's environment: always through the proxy (it has no endpoint variable)."""
        env = self._base()
        env.update(SOPS_GCP_KMS_CLIENT_TYPE=transport, HTTPS_PROXY=self.proxies[transport].url,
                   SSL_CERT_FILE=str(self.ca.ca_pem), GOOGLE_OAUTH_ACCESS_TOKEN=token)
        env.update(extra)
        return env


@pytest.fixture(scope="module")
def kms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kms]:
    root = tmp_path_factory.mktemp("gcpkms")
    ca = TestCA(root / "ca")
    server = GcpKmsServer(ca, TOKEN).start()
    for name in (K1, K2):
        server.state.add_key(name)
    server.state.add_key(DISABLED, enabled=False)
    server.state.add_key(CORRUPT, corrupt=True)
    home = root / "home"
    home.mkdir()
    try:
        with connect_proxy({HOST: server.grpc_port}) as pg, connect_proxy({HOST: server.rest_port}) as pr:
            yield Kms(server, ca, {"grpc": pg, "rest": pr}, home)
    finally:
        server.stop()


# ------------------------------------------------------------------ helpers

def run(impl: str, args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path,
        timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    if impl == "sops":
        res = run_sops(list(args), env=env, cwd=cwd, timeout=timeout)
    else:
        res = subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], env=dict(env), cwd=cwd,
                             capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    for secret in (TOKEN, "PRIVATE KEY"):  # no credential text, ever
        assert secret.encode() not in res.stderr
    return res


def plain_file(tmp_path: Path, name: str = "plain.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(PLAIN)
    return path


def encrypt(impl: str, flags: Sequence[str], env: Mapping[str, str], tmp_path: Path,
            name: str = "f.enc.yaml") -> Path:
    res = run(impl, ["encrypt", *flags, plain_file(tmp_path)], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    out = tmp_path / name
    out.write_bytes(res.stdout)
    return out


def decrypted(impl: str, path: Path, env: Mapping[str, str], *flags: str) -> bytes:
    res = run(impl, ["decrypt", *flags, path], env, path.parent)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout


def meta(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())["sops"]
    return doc


def gcp_ids(path: Path) -> list[str]:
    return [k["resource_id"] for k in meta(path).get("gcp_kms") or []]


def check_entry(entry: dict[str, Any], resource_id: str) -> None:
    """Exactly sops' fields; enc is standard base64 of a ciphertext."""
    import base64

    assert set(entry) == {"resource_id", "created_at", "enc"}
    assert entry["resource_id"] == resource_id
    assert len(base64.b64decode(entry["enc"], validate=True)) == 12 + 32 + 16
    time.strptime(entry["created_at"], "%Y-%m-%dT%H:%M:%SZ")


def unwrapped(report: bytes) -> bytes:
    """An exit-128 report with the 60-column wrapping of its error lines undone."""
    return report.replace(b"\n      | ", b" ")


def write_config(tmp_path: Path, text: str) -> None:
    (tmp_path / ".sops.yaml").write_text(text)


# ------------------------------------------------------------------ 1, 2: encrypt and decrypt both ways

@pytest.mark.parametrize("route", ["endpoint", "proxy"])
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.interop
@requires_sops
def test_flag_roundtrip_and_interop(kms: Kms, transport: str, route: str, tmp_path: Path) -> None:
    """--gcp-kms over each transport and route; sops decrypts what sops-py wrote."""
    calls = len(kms.server.state.calls)
    seen = len(kms.proxies[transport].seen)
    env = kms.ours(transport, route)
    path = encrypt("ours", ["--gcp-kms", K1], env, tmp_path)
    entries = meta(path)["gcp_kms"]
    assert len(entries) == 1
    check_entry(entries[0], K1)
    assert decrypted("ours", path, env) == PLAIN
    new = kms.server.state.calls[calls:]
    assert [(c.transport, c.method, c.name) for c in new] == [(transport, "encrypt", K1), (transport, "decrypt", K1)]
    assert not any(c.plaintext_crc32c for c in new)  # sops sends no checksums
    assert not any(c.user_project for c in new)      # nor a quota project (sops 3.13)
    assert len(kms.proxies[transport].seen) == seen + (2 if route == "proxy" else 0)
    assert decrypted("sops", path, kms.go(transport)) == PLAIN


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.interop
@requires_sops
def test_sops_encrypts_ours_decrypts(kms: Kms, transport: str, tmp_path: Path) -> None:
    theirs = encrypt("sops", ["--gcp-kms", K1], kms.go(transport), tmp_path, "theirs.yaml")
    assert decrypted("ours", theirs, kms.ours(transport)) == PLAIN
    mine = encrypt("ours", ["--gcp-kms", K1], kms.ours(transport), tmp_path, "mine.yaml")
    assert [set(k) for k in meta(theirs)["gcp_kms"]] == [set(k) for k in meta(mine)["gcp_kms"]]


@pytest.mark.interop
@requires_sops
def test_env_var_and_creation_rules(kms: Kms, tmp_path: Path) -> None:
    """SOPS_GCP_KMS_IDS, a flat creation rule and a key_groups rule; sops reads each result."""
    env = kms.ours(SOPS_GCP_KMS_IDS=f"{K1},{K2}")
    path = encrypt("ours", [], env, tmp_path, "env.yaml")
    entries = meta(path)["gcp_kms"]
    assert [e["resource_id"] for e in entries] == [K1, K2]
    for e, k in zip(entries, (K1, K2), strict=True):
        check_entry(e, k)
    assert decrypted("sops", path, kms.go()) == PLAIN

    recipient = age_key()[1]
    write_config(tmp_path, f"""creation_rules:
  - path_regex: flat\\.yaml$
    gcp_kms: "{K2}, {K1}"
  - path_regex: groups\\.yaml$
    key_groups:
      - gcp_kms:
          - resource_id: {K1}
        age:
          - {recipient}
""")
    env = kms.ours()
    for name in ("flat.yaml", "groups.yaml"):
        plain_file(tmp_path, name)
        res = run("ours", ["encrypt", name], env, tmp_path)
        assert res.returncode == 0, res.stderr.decode()
        (tmp_path / ("enc-" + name)).write_bytes(res.stdout)
    flat = tmp_path / "enc-flat.yaml"
    assert gcp_ids(flat) == [K2, K1]
    groups = meta(tmp_path / "enc-groups.yaml")  # one group: written as flat lists, as sops does
    assert "key_groups" not in groups
    assert [e["resource_id"] for e in groups["gcp_kms"]] == [K1]
    assert [e["recipient"] for e in groups["age"]] == [recipient]
    assert decrypted("sops", flat, kms.go()) == PLAIN
    # the group decrypts with the GCP key alone (no age identity on the sops side)
    assert decrypted("sops", tmp_path / "enc-groups.yaml", kms.go()) == PLAIN


@pytest.mark.parametrize(("writer", "reader"), [("ours", "sops"), ("sops", "ours")])
@pytest.mark.interop
@requires_sops
def test_shamir_groups_with_age(kms: Kms, writer: str, reader: str, tmp_path: Path) -> None:
    """Three groups (GCP, age, GCP), threshold 2: the other side recovers the key from the two GCP
    groups; with a bad token only the age group opens, and both sides fail the same way."""
    secret, recipient = age_key()
    write_config(tmp_path, f"""creation_rules:
  - shamir_threshold: 2
    key_groups:
      - gcp_kms:
          - resource_id: {K1}
      - age:
          - {recipient}
      - gcp_kms:
          - resource_id: {K2}
""")
    env = {"ours": kms.ours(), "sops": kms.go()}
    path = encrypt(writer, [], env[writer], tmp_path)
    md = meta(path)
    assert md["shamir_threshold"] == 2 and len(md["key_groups"]) == 3
    assert decrypted(reader, path, env[reader]) == PLAIN
    # age only: one part of two
    reports = []
    for impl, e in (("ours", kms.ours(token="bad", SOPS_AGE_KEY=secret)),
                    ("sops", kms.go(token="bad", SOPS_AGE_KEY=secret))):
        res = run(impl, ["decrypt", path], e, tmp_path)
        assert res.returncode == 128
        reports.append(res.stderr)
    assert reports[0] == reports[1]
    assert b"Group 1: SUCCESS" in reports[0] and b"code = PermissionDenied" in reports[0]
    # age and GCP: fine
    assert decrypted(reader, path, kms.go(SOPS_AGE_KEY=secret) if reader == "sops"
                     else kms.ours(SOPS_AGE_KEY=secret)) == PLAIN


# ------------------------------------------------------------------ 3: rotate / updatekeys

@pytest.mark.interop
@requires_sops
def test_rotate_add_rm_and_updatekeys(kms: Kms, tmp_path: Path) -> None:
    env = kms.ours("rest")
    path = encrypt("ours", ["--gcp-kms", K1], env, tmp_path)
    res = run("ours", ["rotate", "-i", "--add-gcp-kms", K2, path], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert gcp_ids(path) == [K1, K2]
    assert decrypted("sops", path, kms.go()) == PLAIN
    res = run("ours", ["rotate", "-i", "--rm-gcp-kms", K1, path], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert gcp_ids(path) == [K2]
    assert decrypted("sops", path, kms.go("rest")) == PLAIN
    # updatekeys from .sops.yaml: back to K1 and an age key; sops decrypts with the age key alone
    secret, recipient = age_key()
    write_config(tmp_path, f"creation_rules:\n  - gcp_kms: {K1}\n    age: {recipient}\n")
    res = run("ours", ["updatekeys", "-y", path], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert gcp_ids(path) == [K1]
    assert [k["recipient"] for k in meta(path)["age"]] == [recipient]
    assert decrypted("sops", path, kms.go(token="bad", SOPS_AGE_KEY=secret)) == PLAIN
    assert decrypted("sops", path, kms.go()) == PLAIN
    # and the reverse: sops rotates a file sops-py wrote, sops-py reads it
    res = run("sops", ["rotate", "-i", "--add-gcp-kms", K2, path], kms.go(), tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert gcp_ids(path) == [K1, K2]
    assert decrypted("ours", path, kms.ours()) == PLAIN


# ------------------------------------------------------------------ 4: key services

@pytest.fixture
def keyservice(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(impl: str, env: Mapping[str, str]) -> str:
        address = f"127.0.0.1:{free_port()}"
        flags = ["keyservice", "--network", "tcp", "--address", address]
        cmd = [SOPS or "sops", *flags] if impl == "sops" else [sys.executable, "-m", "sops_py", *flags]
        log = (tmp_path / f"ks-{impl}.log").open("wb")
        proc = subprocess.Popen(cmd, env=dict(env), cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(address.rsplit(":", 1)[1])), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "key service did not start"
                time.sleep(0.05)
        return f"tcp://{address}"

    yield start
    for proc in procs:
        stop_process(proc)


@pytest.mark.parametrize(("server", "client"), [("sops", "ours"), ("ours", "sops")])
@pytest.mark.interop
@requires_sops
def test_keyservice(kms: Kms, server: str, client: str, keyservice: Any, tmp_path: Path) -> None:
    """The key service holds the credentials; the client has a wrong token and no local key service."""
    uri = keyservice(server, kms.go() if server == "sops" else kms.ours("rest"))
    client_env = kms.go(token="bad") if client == "sops" else kms.ours(token="bad")
    remote = ["--enable-local-keyservice=false", "--keyservice", uri]
    path = encrypt(client, [*remote, "--gcp-kms", K1], client_env, tmp_path)
    check_entry(meta(path)["gcp_kms"][0], K1)
    assert decrypted(client, path, client_env, *remote) == PLAIN
    assert decrypted("ours" if client == "sops" else "sops", path,
                     kms.ours() if client == "sops" else kms.go()) == PLAIN
    # without the key service, the client's own (bad) credentials fail
    res = run(client, ["decrypt", path], client_env, tmp_path)
    assert res.returncode == 128 and b"code = PermissionDenied" in unwrapped(res.stderr)


# ------------------------------------------------------------------ 5, 6: failures

def _same_failure(kms: Kms, args: Sequence[str | os.PathLike[str]], transport: str, tmp_path: Path,
                  token: str = TOKEN, output: Path | None = None) -> bytes:
    """Run the same failing command under both; exit codes and stderr agree, nothing is written."""
    results = []
    for impl, env in (("ours", kms.ours(transport, token=token)), ("sops", kms.go(transport, token=token))):
        res = run(impl, args, env, tmp_path)
        assert res.stdout == b""
        if output is not None:
            assert not output.exists()
        results.append(res)
    assert results[0].returncode == results[1].returncode
    assert results[0].stderr == results[1].stderr
    return results[0].stderr


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.interop
@requires_sops
def test_failures_match_sops(kms: Kms, transport: str, tmp_path: Path) -> None:
    path = encrypt("ours", ["--gcp-kms", K1], kms.ours(transport), tmp_path)
    out = tmp_path / "out.yaml"
    src = plain_file(tmp_path)
    # wrong token: exit 128, the per-key report
    err = _same_failure(kms, ["decrypt", path], transport, tmp_path, token="wrong-token")
    want = ("code = PermissionDenied desc = The caller does not have permission" if transport == "grpc"
            else "googleapi: Error 403: The caller does not have permission")
    assert want.encode() in unwrapped(err)
    assert err.startswith(b"Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n")
    # unknown key, disabled key, invalid resource id: sops' exit code and message, nothing written
    for key, text in ((UNKNOWN, f"CryptoKey {UNKNOWN} not found."),
                      (DISABLED, "is not enabled, current state is: DISABLED."),
                      ("projects/p/keyRings/r", 'cannot create GCP KMS service: no valid resource ID found in '
                                                '"projects/p/keyRings/r"')):
        err = _same_failure(kms, ["encrypt", "--output", out, "--gcp-kms", key, src], transport, tmp_path,
                            output=out)
        assert err.decode().startswith(f'Could not generate data key: [failed to encrypt new data key with master '
                                       f'key "{key}": ')
        assert text in err.decode()
    # a damaged enc: Go's base64 error, bare
    enc = meta(path)["gcp_kms"][0]["enc"]
    path.write_text(path.read_text().replace(enc, enc[:10] + "*" + enc[11:]))
    err = _same_failure(kms, ["decrypt", path], transport, tmp_path)
    assert b"- | illegal base64 data at input byte 10\n" in err


def test_no_credentials(kms: Kms, tmp_path: Path) -> None:
    """No GOOGLE_CREDENTIALS, no token, no ADC: sops' message (as the 09cf07a5 binary prints it; the
    binary itself is not run here, its ADC search would probe the network's metadata server)."""
    path = encrypt("ours", ["--gcp-kms", K1], kms.ours(), tmp_path)
    res = run("ours", ["decrypt", path], kms.ours(token=None), tmp_path)
    assert res.returncode == 128
    assert res.stderr.decode().split("\n\n")[1] == (
        f"Group 0: FAILED\n  {K1}: FAILED\n"
        "    - | cannot create GCP KMS service: credentials: could not find\n"
        "      | default credentials. See\n"
        "      | https://cloud.google.com/docs/authentication/external/set-up-adc\n"
        "      | for more information")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unreachable_endpoint_is_bounded(kms: Kms, transport: str, tmp_path: Path) -> None:
    """A closed port and a port that accepts but never answers: failure within the bounds, nothing written."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        src = plain_file(tmp_path)
        procs = {}
        for what, port in (("closed", free_port()), ("silent", silent.getsockname()[1])):
            env = kms.ours(transport, SOPS_GCP_KMS_ENDPOINT=f"127.0.0.1:{port}")
            procs[what] = (time.monotonic(), subprocess.Popen(
                [sys.executable, "-m", "sops_py", "encrypt", "--output", str(tmp_path / f"{what}.yaml"),
                 "--gcp-kms", K1, str(src)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for what, (start, proc) in procs.items():
            out, err = proc.communicate(timeout=60)
            elapsed = time.monotonic() - start
            assert proc.returncode == 1 and out == b"", err
            assert elapsed < 30, (what, elapsed)
            assert not (tmp_path / f"{what}.yaml").exists()
            text = err.decode()
            assert text.startswith(f'Could not generate data key: [failed to encrypt new data key with master key '
                                   f'"{K1}": failed to encrypt sops data key with GCP KMS key: ')
            if transport == "grpc":  # a silent peer fails the TLS handshake (Unavailable) or the deadline
                assert "code = Unavailable" in text or (what == "silent" and "code = DeadlineExceeded" in text), text
    finally:
        silent.close()


@pytest.mark.parametrize("action", ["encrypt", "decrypt"])
def test_missing_sdk(kms: Kms, action: str, tmp_path: Path) -> None:
    """google-cloud-kms cannot be imported: the key fails with the line naming the extra (no traceback),
    in sops' encrypt error (exit 1, nothing written) or under the key in the exit-128 report."""
    env = kms.ours()
    path = encrypt("ours", ["--gcp-kms", K1], env, tmp_path) if action == "decrypt" else plain_file(tmp_path)
    before = path.read_bytes()
    args = ["decrypt", str(path)] if action == "decrypt" else ["encrypt", "-i", "--gcp-kms", K1, str(path)]
    res = run_without(["google.cloud.kms_v1"], args, env, cwd=tmp_path)
    assert_missing_sdk(res, action, K1, "gcp", "google-cloud-kms", path, before)


def test_crc32c_of_responses_is_checked(kms: Kms, tmp_path: Path) -> None:
    res = run("ours", ["encrypt", "--gcp-kms", CORRUPT, plain_file(tmp_path)], kms.ours(), tmp_path)
    assert res.returncode == 1 and res.stdout == b""
    assert b"response corrupted in transit: ciphertext CRC32C mismatch" in res.stderr


# ------------------------------------------------------------------ credentials: GOOGLE_CREDENTIALS, universe

def _service_account(kms: Kms, tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = os.urandom(8).hex()
    kms.server.state.add_signer(key_id, key.public_key())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "sops-test", "private_key_id": key_id, "private_key": pem,
            "client_email": "sops@sops-test.iam.gserviceaccount.com", "client_id": "1",
            # Go exchanges a signed JWT for a token here; Python signs its own JWTs (no exchange)
            "token_uri": f"https://127.0.0.1:{kms.server.rest_port}/token"}
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    return path


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.interop
@requires_sops
def test_google_credentials_service_account(kms: Kms, transport: str, tmp_path: Path) -> None:
    """GOOGLE_CREDENTIALS as a path and as the JSON itself; it wins over a (wrong) bearer token."""
    sa = _service_account(kms, tmp_path)
    by_path = {"GOOGLE_CREDENTIALS": str(sa)}
    inline = {"GOOGLE_CREDENTIALS": sa.read_text()}
    path = encrypt("ours", ["--gcp-kms", K1], kms.ours(transport, token="bad", **by_path), tmp_path)
    assert decrypted("ours", path, kms.ours(transport, token=None, **inline)) == PLAIN
    assert decrypted("sops", path, kms.go(transport, token="bad", **inline)) == PLAIN
    theirs = encrypt("sops", ["--gcp-kms", K2], kms.go(transport, **by_path), tmp_path, "theirs.yaml")
    assert decrypted("ours", theirs, kms.ours(transport, token=None, **by_path)) == PLAIN
    # a key the emulator does not know signs nothing valid: 403, and no key material in the message
    (tmp_path / "other").mkdir()
    other = _service_account(kms, tmp_path / "other")
    kms.server.state.signers.pop(json.loads(other.read_text())["private_key_id"])
    res = run("ours", ["decrypt", path], kms.ours(transport, token=None, GOOGLE_CREDENTIALS=str(other)), tmp_path)
    assert res.returncode == 128 and b"The caller does not have permission" in unwrapped(res.stderr)
    # not JSON: no echo of the value
    res = run("ours", ["decrypt", path], kms.ours(transport, token=None, GOOGLE_CREDENTIALS="{secret-ish"), tmp_path)
    assert res.returncode == 128 and b"secret-ish" not in res.stderr
    assert b"cannot create GCP KMS service: credentials:" in unwrapped(res.stderr)


def test_universe_domain_through_proxy(kms: Kms, tmp_path: Path) -> None:
    """SOPS_GCP_KMS_UNIVERSE_DOMAIN (sops 3.13; not in the reference binary): cloudkms.<domain>:443."""
    with connect_proxy({"cloudkms.example.test:443": kms.server.grpc_port}) as proxy:
        env = kms.ours(route="proxy", SOPS_GCP_KMS_UNIVERSE_DOMAIN="example.test", HTTPS_PROXY=proxy.url)
        path = encrypt("ours", ["--gcp-kms", K1], env, tmp_path)
        assert decrypted("ours", path, env) == PLAIN
        assert proxy.seen == ["cloudkms.example.test:443"] * 2


# ------------------------------------------------------------------ the backend in-process

def test_backend_concurrent_calls(kms: Kms, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many threads through one backend (one client built once): every data key comes back."""
    from sops_py.keys import KeyFailed, gcpkms
    from sops_py.metadata import KeyEntry

    monkeypatch.setenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", str(kms.ca.ca_pem))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(kms.ca.ca_pem))
    for transport in TRANSPORTS:
        backend = gcpkms.make_backend({"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN, "SOPS_GCP_KMS_CLIENT_TYPE": transport,
                                       "SOPS_GCP_KMS_ENDPOINT": f"127.0.0.1:{kms.port(transport)}"})
        errors: list[BaseException] = []

        def work(i: int, backend: Any = backend, errors: list[BaseException] = errors) -> None:
            entry = KeyEntry("gcp_kms", {"resource_id": K1 if i % 2 else K2, "created_at": "", "enc": ""})
            try:
                entry.enc = backend.wrap(entry, bytes([i]) * 32)
                assert backend.unwrap(entry) == bytes([i]) * 32
            except BaseException as e:  # noqa: BLE001 - collected for the assertion below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        with pytest.raises(KeyFailed, match="no valid resource ID"):
            backend.wrap(KeyEntry("gcp_kms", {"resource_id": K1 + "/cryptoKeyVersions/1", "enc": ""}), b"k" * 32)


def test_go_base64_offsets() -> None:
    from sops_py.keys import KeyFailed, gcpkms

    assert gcpkms.go_b64decode("QUJD\r\nRA==") == b"ABCD"
    for text, offset in (("QQ=", 3), ("Q", 0), ("QUJ", 0), ("QQ==QQ==", 4), ("Q!==", 1), ("QUJD*", 4)):
        with pytest.raises(KeyFailed, match=f"^illegal base64 data at input byte {offset}$"):
            gcpkms.go_b64decode(text)
    assert gcpkms.crc32c(b"123456789") == 0xE3069283
    assert gcpkms.grpc_proxy_options({"HTTPS_PROXY": "http://p:1"}, "cloudkms.googleapis.com") == [
        ("grpc.http_proxy", "http://p:1")]
    assert gcpkms.grpc_proxy_options({"https_proxy": "http://p:1"}, "127.0.0.1:443") == [
        ("grpc.enable_http_proxy", 0)]
    assert gcpkms.grpc_proxy_options({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".googleapis.com"},
                                     "cloudkms.googleapis.com:443") == [("grpc.enable_http_proxy", 0)]
