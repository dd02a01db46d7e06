"""AWS KMS master keys end to end against a local moto (tests/kms/aws_server.py), with the real sops.

One emulator per module on 127.0.0.1; both the Go sops and sops-py reach it through AWS_ENDPOINT_URL
with throwaway credentials (every inherited AWS_* variable dropped, HOME isolated, IMDS disabled), so
no request leaves the machine. The emulator records which access key id signed each KMS and STS call,
which lets the tests check that a role, a profile or a web identity was really used, by both programs.
"""

from __future__ import annotations

import base64
import os
import socket
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
from tests.kms.aws_server import ACCOUNT, AwsEmulator, closed_port
from tests.kms.common import assert_missing_sdk, run_without

pytest.importorskip("boto3")
pytest.importorskip("moto")

pytestmark = [pytest.mark.slow]
interop = [pytest.mark.interop, requires_sops]

REPO = Path(__file__).resolve().parents[2]
PLAIN = b"a: 1\nb: hello\nlist:\n    - x\n    - 2\n"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sops-py-test"
KMS_FIELDS = {"arn", "created_at", "enc", "aws_profile"}
DEV_AKID = "AKIADEVPROFILE000001"
DEV_SECRET = "dev-profile-secret-" + "x" * 20
WEB_TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzb3BzLXB5LXRlc3QifQ.webidentitytoken"


# ------------------------------------------------------------------ fixtures and helpers

@pytest.fixture(scope="module")
def aws() -> Iterator[AwsEmulator]:
    emu = AwsEmulator().start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def arns(aws: AwsEmulator) -> dict[str, str]:
    keys = {"a": aws.create_key(), "b": aws.create_key(), "disabled": aws.create_key()}
    aws.disable_key(keys["disabled"])
    return keys


@pytest.fixture
def env(aws: AwsEmulator, tmp_path: Path) -> dict[str, str]:
    """sops_env() (no SOPS_*, the test age key) routed to the emulator, with a `dev` profile on file."""
    home = tmp_path / "home"
    e = aws.env(sops_env(), home, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    Path(e["AWS_CONFIG_FILE"]).write_text(f"[profile dev]\nregion = {'eu-west-1'}\n")
    Path(e["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[dev]\naws_access_key_id = {DEV_AKID}\naws_secret_access_key = {DEV_SECRET}\n")
    return e


def secrets_of(env: Mapping[str, str]) -> list[str]:
    out = [DEV_SECRET, WEB_TOKEN, "webidentitytoken"]
    if env.get("AWS_SECRET_ACCESS_KEY"):
        out.append(env["AWS_SECRET_ACCESS_KEY"])
    return out


def _check(res: subprocess.CompletedProcess[bytes], env: Mapping[str, str]) -> subprocess.CompletedProcess[bytes]:
    for secret in secrets_of(env):
        assert secret.encode() not in res.stderr, "a secret appeared on stderr"
    return res


def ours(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path | None = None,
         timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    res = subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], env=dict(env), cwd=cwd,
                         capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    return _check(res, env)


def gosops(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path | None = None,
           timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    return _check(run_sops(list(args), env=env, cwd=cwd, timeout=timeout), env)


def run(impl: str, args: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return gosops(args, env, cwd) if impl == "sops" else ours(args, env, cwd)


def plain_file(tmp_path: Path, name: str = "plain.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(PLAIN)
    return p


def encrypt(impl: str, args: Sequence[str], env: Mapping[str, str], tmp_path: Path,
            name: str = "secret.enc.yaml") -> Path:
    src = plain_file(tmp_path, name)
    res = run(impl, ["encrypt", "-i", *args, src], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    return src


def decrypted(impl: str, path: Path, env: Mapping[str, str]) -> bytes:
    res = run(impl, ["decrypt", path], env, cwd=path.parent)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout


def sops_meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = yaml.safe_load(path.read_text())["sops"]
    return meta


def one_line(report: bytes) -> str:
    """An exit-128 report with its 60-column wrapping undone."""
    return report.decode().replace("\n      | ", " ")


def assert_kms_entry(entry: Mapping[str, Any], arn: str, **extra: Any) -> None:
    assert set(entry) == KMS_FIELDS | set(extra), entry
    assert entry["arn"] == arn
    assert entry["aws_profile"] == extra.pop("aws_profile", "")
    for k, v in extra.items():
        assert entry[k] == v
    assert len(base64.b64decode(entry["enc"], validate=True)) > 32


def use_aws_env(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 reads the process environment: make its AWS_* variables exactly env's, for one test."""
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    for k, v in env.items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)


def dead_endpoint(env: Mapping[str, str]) -> dict[str, str]:
    """env with every AWS endpoint variable at a closed loopback port."""
    url = f"http://127.0.0.1:{closed_port()}"
    return dict(env, AWS_ENDPOINT_URL=url, AWS_ENDPOINT_URL_KMS=url, AWS_ENDPOINT_URL_STS=url)


def sops_session_name() -> str:
    import re

    return ("sops@" + re.sub(r"[^a-zA-Z0-9=,.@-_]+", "", socket.gethostname()))[:64]


# ------------------------------------------------------------------ 1-2: flags, env, .sops.yaml, interop

@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_encrypt_with_flag_and_context(impl: str, aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                                       tmp_path: Path) -> None:
    """--kms with --encryption-context: exactly sops' fields, the context sent on Encrypt and Decrypt, and
    the file decrypts on both sides."""
    aws.clear()
    path = encrypt(impl, ["--kms", arns["a"], "--encryption-context", "app:web,env:prod"], env, tmp_path)
    (entry,) = sops_meta(path)["kms"]
    assert_kms_entry(entry, arns["a"], context={"app": "web", "env": "prod"})
    (call,) = aws.calls_of("Encrypt")
    assert call.params["KeyId"] == arns["a"]
    assert call.params["EncryptionContext"] == {"app": "web", "env": "prod"}
    assert call.access_key_id == env["AWS_ACCESS_KEY_ID"]
    other = "sops" if impl == "ours" else "ours"
    if SOPS is not None:
        assert decrypted(other, path, env) == PLAIN
    assert decrypted(impl, path, env) == PLAIN
    decrypts = aws.calls_of("Decrypt")
    assert decrypts and all(c.params["EncryptionContext"] == {"app": "web", "env": "prod"} and
                            c.params["KeyId"] == arns["a"] for c in decrypts)


@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_env_var_two_keys(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    e = dict(env, SOPS_KMS_ARN=f"{arns['a']}, {arns['b']}")
    path = encrypt(impl, [], e, tmp_path)
    entries = sops_meta(path)["kms"]
    assert [x["arn"] for x in entries] == [arns["a"], arns["b"]]
    for x in entries:
        assert_kms_entry(x, x["arn"])
    assert decrypted("ours", path, env) == PLAIN
    if SOPS is not None:
        assert decrypted("sops", path, env) == PLAIN


@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_sops_yaml_flat_rule(impl: str, aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                             tmp_path: Path) -> None:
    """A flat rule with `kms:` as a comma-separated string and `aws_profile:`."""
    (tmp_path / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    kms: '{arns['a']}, {arns['b']}'\n"
        "    aws_profile: dev\n")
    aws.clear()
    path = encrypt(impl, [], env, tmp_path)
    entries = sops_meta(path)["kms"]
    assert [x["arn"] for x in entries] == [arns["a"], arns["b"]]
    for x in entries:
        assert_kms_entry(x, x["arn"], aws_profile="dev")
    assert {c.access_key_id for c in aws.calls_of("Encrypt")} == {DEV_AKID}
    aws.clear()
    assert decrypted("ours", path, env) == PLAIN
    if SOPS is not None:
        assert decrypted("sops", path, env) == PLAIN
    assert {c.access_key_id for c in aws.calls_of("Decrypt")} == {DEV_AKID}


@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_sops_yaml_key_groups_shamir(impl: str, aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                                     tmp_path: Path) -> None:
    """key_groups with kms maps (arn, role, context, aws_profile) and an age group, threshold 2: written by
    one side, read by the other; either kms group plus age is enough."""
    recipient = age_key()[1]
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n"
        f"      - kms:\n          - arn: {arns['a']}\n            role: {ROLE}\n"
        "            context: {team: core}\n            aws_profile: dev\n"
        f"      - age: [{recipient}]\n"
        f"      - kms:\n          - arn: {arns['b']}\n")
    aws.clear()
    path = encrypt(impl, [], env, tmp_path)
    meta = sops_meta(path)
    assert meta["shamir_threshold"] == 2
    groups = meta["key_groups"]
    assert len(groups) == 3
    assert_kms_entry(groups[0]["kms"][0], arns["a"], role=ROLE, context={"team": "core"}, aws_profile="dev")
    assert groups[1]["age"][0]["recipient"] == recipient
    assert_kms_entry(groups[2]["kms"][0], arns["b"])
    (assumed,) = aws.calls_of("AssumeRole")
    assert assumed.params["RoleArn"] == ROLE
    assert assumed.access_key_id == DEV_AKID  # the role is assumed with the profile's credentials
    encrypts = {c.params["KeyId"]: c for c in aws.calls_of("Encrypt")}
    assert encrypts[arns["a"]].session_token and encrypts[arns["a"]].params["EncryptionContext"] == {"team": "core"}
    assert encrypts[arns["b"]].access_key_id == env["AWS_ACCESS_KEY_ID"]
    other = "sops" if impl == "ours" else "ours"
    if SOPS is not None:
        assert decrypted(other, path, env) == PLAIN
    # without AWS credentials only the age group answers: one part of two
    no_aws = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    no_aws["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    res = ours(["decrypt", path], no_aws, cwd=tmp_path)
    assert res.returncode == 128
    assert "Shamir threshold of 2, but only 1 part(s)" in one_line(res.stderr).replace("\n", " ")


# ------------------------------------------------------------------ credentials: role, profile, web identity

@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_role_is_assumed(impl: str, aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                         tmp_path: Path) -> None:
    """ARN+ROLE: AssumeRole with sops' session name, signed by the caller; KMS signed by the role's keys."""
    aws.clear()
    path = encrypt(impl, ["--kms", f"{arns['a']}+{ROLE}"], env, tmp_path)
    (entry,) = sops_meta(path)["kms"]
    assert_kms_entry(entry, arns["a"], role=ROLE)
    (assumed,) = aws.calls_of("AssumeRole")
    assert assumed.params["RoleArn"] == ROLE
    assert assumed.params["RoleSessionName"] == sops_session_name()
    assert "DurationSeconds" not in assumed.params
    assert assumed.access_key_id == env["AWS_ACCESS_KEY_ID"]
    (enc_call,) = aws.calls_of("Encrypt")
    assert enc_call.access_key_id not in ("", env["AWS_ACCESS_KEY_ID"]) and enc_call.session_token
    for reader in ["ours", "sops"] if SOPS is not None else ["ours"]:
        aws.clear()
        assert decrypted(reader, path, env) == PLAIN
        (assumed,) = aws.calls_of("AssumeRole")
        assert assumed.params["RoleSessionName"] == sops_session_name(), reader
        assert all(c.session_token for c in aws.calls_of("Decrypt"))


@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_profile_flag(impl: str, aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                      tmp_path: Path) -> None:
    """--aws-profile: the profile's keys sign; the region still comes from the ARN, not the profile."""
    aws.clear()
    path = encrypt(impl, ["--kms", arns["a"], "--aws-profile", "dev"], env, tmp_path)
    (entry,) = sops_meta(path)["kms"]
    assert_kms_entry(entry, arns["a"], aws_profile="dev")
    (call,) = aws.calls_of("Encrypt")
    assert call.access_key_id == DEV_AKID
    if SOPS is not None:
        assert decrypted("sops", path, env) == PLAIN
    assert decrypted("ours", path, env) == PLAIN


@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_web_identity(impl: str, aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                      tmp_path: Path) -> None:
    """No static keys: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE go through AssumeRoleWithWebIdentity."""
    token = tmp_path / "token.jwt"
    token.write_text(WEB_TOKEN)
    web = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    web.update(AWS_ROLE_ARN=f"arn:aws:iam::{ACCOUNT}:role/web-identity", AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    aws.clear()
    path = encrypt(impl, ["--kms", arns["a"]], web, tmp_path)
    (assumed,) = aws.calls_of("AssumeRoleWithWebIdentity")
    assert assumed.params["WebIdentityToken"] == WEB_TOKEN
    (call,) = aws.calls_of("Encrypt")
    assert call.access_key_id and call.session_token
    other = "sops" if impl == "ours" else "ours"
    if SOPS is not None:
        assert decrypted(other, path, web) == PLAIN


# ------------------------------------------------------------------ 3: rotate, updatekeys, add/rm

@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_rotate_add_and_remove(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    path = encrypt(impl, ["--kms", arns["a"]], env, tmp_path)
    res = ours(["rotate", "-i", "--add-kms", arns["b"], path], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert [x["arn"] for x in sops_meta(path)["kms"]] == [arns["a"], arns["b"]]
    res = ours(["rotate", "-i", "--rm-kms", arns["a"], path], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    (entry,) = sops_meta(path)["kms"]
    assert_kms_entry(entry, arns["b"])
    if SOPS is not None:
        assert decrypted("sops", path, env) == PLAIN
    assert decrypted("ours", path, env) == PLAIN


@pytest.mark.parametrize("impl", ["ours", pytest.param("sops", marks=interop)])
def test_updatekeys(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    path = encrypt(impl, ["--kms", arns["a"]], env, tmp_path)
    (tmp_path / ".sops.yaml").write_text(
        f"creation_rules:\n  - kms: {arns['a']},{arns['b']}\n    aws_profile: dev\n")
    res = run(impl, ["updatekeys", "-y", path], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    entries = sops_meta(path)["kms"]
    assert sorted(x["arn"] for x in entries) == sorted([arns["a"], arns["b"]])
    assert {x["aws_profile"] for x in entries} == {"dev"}
    other = "sops" if impl == "ours" else "ours"
    if SOPS is not None:
        assert decrypted(other, path, env) == PLAIN


# ------------------------------------------------------------------ 4: key services both ways

def _start_keyservice(impl: str, env: Mapping[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = closed_port()
    flags = ["keyservice", "--network", "tcp", "--address", f"127.0.0.1:{port}"]
    cmd = [SOPS or "sops", *flags] if impl == "sops" else [sys.executable, "-m", "sops_py", *flags]
    log = (tmp_path / f"ks-{impl}.log").open("wb")
    proc = subprocess.Popen(cmd, env=dict(env), cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, (tmp_path / f"ks-{impl}.log").read_text()
            assert time.monotonic() < deadline, "key service did not start"
            time.sleep(0.05)
    return proc, f"tcp://127.0.0.1:{port}"


@pytest.mark.parametrize(("server", "client"), [pytest.param("sops", "ours", marks=interop),
                                                pytest.param("ours", "sops", marks=interop)])
def test_through_keyservice(server: str, client: str, aws: AwsEmulator, arns: dict[str, str],
                            env: dict[str, str], tmp_path: Path) -> None:
    """The key service holds the AWS credentials; the client has none (and a dead endpoint)."""
    proc, uri = _start_keyservice(server, env, tmp_path)
    try:
        client_env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        client_env = dead_endpoint(client_env)
        client_env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
        remote = ["--enable-local-keyservice=false", "--keyservice", uri]
        aws.clear()
        path = encrypt(client, [*remote, "--kms", arns["a"], "--encryption-context", "via:keyservice"],
                       client_env, tmp_path)
        (entry,) = sops_meta(path)["kms"]
        assert_kms_entry(entry, arns["a"], context={"via": "keyservice"})
        (call,) = aws.calls_of("Encrypt")
        assert call.access_key_id == env["AWS_ACCESS_KEY_ID"]
        assert call.params["EncryptionContext"] == {"via": "keyservice"}
        res = run(client, ["decrypt", *remote, path], client_env, cwd=tmp_path)
        assert res.returncode == 0, res.stderr.decode()
        assert res.stdout == PLAIN
        # the same client without the key service has no credentials and no endpoint
        res = run(client, ["decrypt", path], client_env, cwd=tmp_path)
        assert res.returncode == 128
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# ------------------------------------------------------------------ 5-6: failures, compared with sops

IMPLS = ["ours", pytest.param("sops", marks=interop)]
REPORT_HEAD = b"Failed to get the data key required to decrypt the SOPS file."


def _decrypt_failure(impl: str, path: Path, env: Mapping[str, str], name: str) -> str:
    res = run(impl, ["decrypt", path], env, cwd=path.parent)
    assert res.returncode == 128, res.stderr.decode()
    assert res.stderr.startswith(REPORT_HEAD)
    text = one_line(res.stderr)
    assert f"  {name}: FAILED\n" in text
    return text


@pytest.mark.parametrize("impl", IMPLS)
def test_wrong_context_on_decrypt(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    path = encrypt("ours", ["--kms", arns["a"], "--encryption-context", "k:right"], env, tmp_path)
    path.write_text(path.read_text().replace("k: right", "k: wrong"))
    text = _decrypt_failure(impl, path, env, f"{arns['a']}|k:wrong")
    assert "- | failed to decrypt sops data key with AWS KMS: " in text
    assert "InvalidCiphertextException" in text


@pytest.mark.parametrize("impl", IMPLS)
def test_disabled_key(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    src = plain_file(tmp_path)
    res = run(impl, ["encrypt", "-i", "--kms", arns["disabled"], src], env, cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.decode().startswith(
        f'Could not generate data key: [failed to encrypt new data key with master key "{arns["disabled"]}": '
        "failed to encrypt sops data key with AWS KMS: ")
    assert b"DisabledException" in res.stderr
    assert src.read_bytes() == PLAIN  # nothing written
    # a file written while the key was enabled: decryption is refused
    path = encrypt("ours", ["--kms", arns["a"]], env, tmp_path, "b.enc.yaml")
    path.write_text(path.read_text().replace(arns["a"], arns["disabled"]))
    text = _decrypt_failure(impl, path, env, arns["disabled"])
    assert "failed to decrypt sops data key with AWS KMS: " in text and "DisabledException" in text


@pytest.mark.parametrize("impl", IMPLS)
def test_unknown_and_wrong_key(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    unknown = arns["a"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    src = plain_file(tmp_path)
    res = run(impl, ["encrypt", "-i", "--kms", unknown, src], env, cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.decode().startswith(
        f'Could not generate data key: [failed to encrypt new data key with master key "{unknown}": '
        "failed to encrypt sops data key with AWS KMS: ")
    assert b"NotFoundException" in res.stderr
    assert src.read_bytes() == PLAIN
    # the wrong key: a data key wrapped by key a, sent to KMS as key b's
    path = encrypt("ours", ["--kms", arns["a"]], env, tmp_path, "w.enc.yaml")
    path.write_text(path.read_text().replace(arns["a"], arns["b"]))
    text = _decrypt_failure(impl, path, env, arns["b"])
    assert "failed to decrypt sops data key with AWS KMS: " in text and "AccessDeniedException" in text


@pytest.mark.parametrize("impl", IMPLS)
def test_access_denied(impl: str, aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                       tmp_path: Path) -> None:
    path = encrypt("ours", ["--kms", arns["a"]], env, tmp_path)
    denied = dict(env, AWS_ACCESS_KEY_ID="AKIADENIED" + os.urandom(5).hex().upper())
    aws.deny(denied["AWS_ACCESS_KEY_ID"])
    text = _decrypt_failure(impl, path, denied, arns["a"])
    assert "failed to decrypt sops data key with AWS KMS: " in text and "AccessDeniedException" in text
    # a denied AssumeRole: sops' "failed to assume role" and nothing written
    src = plain_file(tmp_path, "c.yaml")
    res = run(impl, ["encrypt", "-i", "--kms", f"{arns['a']}+{ROLE}", src], denied, cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.decode().startswith(
        f'Could not generate data key: [failed to encrypt new data key with master key "{arns["a"]}+{ROLE}": '
        f"failed to assume role '{ROLE}': ")
    assert b"AccessDenied" in res.stderr
    assert src.read_bytes() == PLAIN


@pytest.mark.parametrize("impl", IMPLS)
def test_no_credentials(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    path = encrypt("ours", ["--kms", arns["a"]], env, tmp_path)
    bare = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    bare["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    text = _decrypt_failure(impl, path, bare, arns["a"])
    assert "- | failed to decrypt sops data key with AWS KMS: " in text
    if impl == "ours":
        assert "Unable to locate credentials" in text


@pytest.mark.parametrize("impl", IMPLS)
def test_unreachable_endpoint(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    path = encrypt("ours", ["--kms", arns["a"]], env, tmp_path)
    dead = dead_endpoint(env)
    start = time.monotonic()
    text = _decrypt_failure(impl, path, dead, arns["a"])
    assert "failed to decrypt sops data key with AWS KMS: " in text
    src = plain_file(tmp_path, "d.yaml")
    res = run(impl, ["encrypt", "-i", "--kms", arns["a"], src], dead, cwd=tmp_path)
    assert res.returncode == 1
    assert b"failed to encrypt sops data key with AWS KMS: " in res.stderr
    assert src.read_bytes() == PLAIN
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("impl", IMPLS)
def test_sops_own_messages(impl: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    """Where the whole message is sops' own text, it is the same byte for byte."""
    src = plain_file(tmp_path)
    res = run(impl, ["encrypt", "-i", "--kms", "arn:aws:kms:nowhere", src], env, cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr == (b'Could not generate data key: [failed to encrypt new data key with master key '
                          b'"arn:aws:kms:nowhere": no valid ARN found in \'arn:aws:kms:nowhere\']\n')
    res = run(impl, ["encrypt", "-i", "--kms", arns["a"], "--aws-profile", "missing", src], env, cwd=tmp_path)
    assert res.returncode == 1
    assert b": could not load AWS config: " in res.stderr
    assert src.read_bytes() == PLAIN
    # a damaged enc: Go's base64 error text
    path = encrypt("ours", ["--kms", arns["a"]], env, tmp_path, "e.enc.yaml")
    enc = sops_meta(path)["kms"][0]["enc"]
    path.write_text(path.read_text().replace(enc, enc[:10] + "*" + enc[11:]))
    text = _decrypt_failure(impl, path, env, arns["a"])
    assert "- | error base64-decoding encrypted data key: illegal base64 data at input byte 10\n" in text


@pytest.mark.parametrize("action", ["encrypt", "decrypt"])
def test_missing_sdk(action: str, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    """boto3 cannot be imported: the key fails with the line naming the extra (no traceback), in sops'
    encrypt error (exit 1, nothing written) or under the key in the exit-128 report."""
    path = encrypt("ours", ["--kms", arns["a"]], env, tmp_path) if action == "decrypt" else plain_file(tmp_path)
    before = path.read_bytes()
    args = ["decrypt", str(path)] if action == "decrypt" else ["encrypt", "-i", "--kms", arns["a"], str(path)]
    res = _check(run_without(["boto3"], args, env, cwd=tmp_path), env)
    assert_missing_sdk(res, action, arns["a"], "aws", "boto3", path, before)


# ------------------------------------------------------------------ the backend in-process

def test_backend_threads_share_clients(aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Many threads at once, several (profile, role) combinations: every data key comes back, and each
    role is assumed once."""
    from sops_py.keys import awskms
    from sops_py.metadata import KeyEntry

    use_aws_env(env, monkeypatch)
    backend = awskms.make_backend(env)
    combos = [("", ""), ("dev", ""), ("", ROLE), ("dev", ROLE + "-dev")]
    errors: list[BaseException] = []
    aws.clear()

    def work(i: int) -> None:
        profile, role = combos[i % len(combos)]
        entry = KeyEntry("kms", {"arn": arns["a" if i % 2 else "b"], "role": role, "aws_profile": profile,
                                 "context": {"n": str(i)}, "created_at": "", "enc": ""})
        secret = bytes([i]) * 32
        try:
            entry.enc = backend.wrap(entry, secret)
            assert backend.unwrap(entry) == secret
        except BaseException as e:  # noqa: BLE001 - collected for the assertion below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(c.params["RoleArn"] for c in aws.calls_of("AssumeRole")) == [ROLE, ROLE + "-dev"]
    assert len(aws.calls_of("Encrypt")) == 16


@pytest.mark.parametrize("silent", ["kms", "web-identity-sts"])
def test_backend_read_timeout_is_bounded(silent: str, env: dict[str, str], arns: dict[str, str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and never answers, as KMS or as the STS the web-identity chain calls: the
    read timeout ends each attempt, 3 attempts in all."""
    from sops_py.keys import KeyFailed, awskms
    from sops_py.metadata import KeyEntry

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    use_aws_env(env, monkeypatch)
    silent_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    if silent == "kms":
        monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", silent_url)
    else:
        token = tmp_path / "token.jwt"
        token.write_text(WEB_TOKEN)
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/web-identity")
        monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", silent_url)
    monkeypatch.setattr(awskms, "READ_TIMEOUT", 1.0)
    entry = KeyEntry("kms", {"arn": arns["a"], "role": "", "aws_profile": "", "created_at": "", "enc": ""})
    start = time.monotonic()
    try:
        with pytest.raises(KeyFailed) as info:
            awskms.make_backend(env).wrap(entry, b"k" * 32)
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    assert str(info.value).startswith("failed to encrypt sops data key with AWS KMS: Read timeout on endpoint URL")
    assert len(accepted) == awskms.MAX_ATTEMPTS
    assert time.monotonic() - start < 15


def test_session_name() -> None:
    from sops_py.keys.awskms import sts_session_name

    assert sts_session_name("build-host_01.example.com") == "sops@buildhost_01.example.com"
    assert sts_session_name("x" * 100) == "sops@" + "x" * 59
    assert sts_session_name("héllo wörld") == "sops@hllowrld"


# ------------------------------------------------------------------ concurrency (beyond sops)


def test_wraps_for_several_keys_overlap(aws: AwsEmulator, env: dict[str, str], tmp_path: Path) -> None:
    """A new data key is wrapped for every KMS key at once: the server sees the calls overlap.
    sops makes them one after another (max_in_flight stays 1)."""
    keys = [aws.create_key() for _ in range(4)]
    aws.latency, aws.max_in_flight = 0.3, 0
    try:
        src = encrypt("sops-py", ["--kms", ",".join(keys)], env, tmp_path)
        assert aws.max_in_flight == 4
        aws.max_in_flight = 0
        assert decrypted("sops", src, env) == PLAIN
        assert aws.max_in_flight == 1
    finally:
        aws.latency = 0.0


def test_batch_decrypt_overlaps_files(aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                                      tmp_path: Path) -> None:
    files = []
    for i in range(8):
        files.append(encrypt("sops", ["--kms", arns["a"]], env, tmp_path, name=f"s{i}.enc.yaml"))
    aws.latency, aws.max_in_flight = 0.3, 0
    try:
        res = ours(["decrypt", "--output-dir", tmp_path / "out", *files], env, cwd=tmp_path)
        assert res.returncode == 0, res.stderr.decode()
        assert aws.max_in_flight > 1
    finally:
        aws.latency = 0.0
    for f in files:
        assert (tmp_path / "out" / f.name).read_bytes() == PLAIN


def test_batch_reports_the_first_failed_file(aws: AwsEmulator, arns: dict[str, str], env: dict[str, str],
                                             tmp_path: Path) -> None:
    good = [encrypt("sops", ["--kms", arns["a"]], env, tmp_path, name=f"g{i}.enc.yaml") for i in range(3)]
    doomed = aws.create_key()  # its own key: the module's keys stay usable for other tests
    bad = encrypt("sops", ["--kms", doomed], env, tmp_path, name="bad.enc.yaml")
    aws.disable_key(doomed)
    res = ours(["decrypt", "--output-dir", tmp_path / "out", good[0], bad, *good[1:]], env, cwd=tmp_path)
    assert res.returncode == 128
    assert b"Failed to get the data key required to decrypt the SOPS file." in res.stderr
    for f in good:  # every other file was still decrypted
        assert (tmp_path / "out" / f.name).read_bytes() == PLAIN


# ------------------------------------------------------------------ groups and decryption order


def test_groups_add_and_delete(aws: AwsEmulator, arns: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    path = encrypt("ours", ["--age", age_key()[1]], env, tmp_path)
    res = ours(["groups", "add", "--file", path, "-i", "--kms", arns["a"]], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    groups = sops_meta(path)["key_groups"]
    assert [g["kms"][0]["arn"] for g in groups if g.get("kms")] == [arns["a"]]
    if SOPS is not None:
        assert decrypted("sops", path, env) == PLAIN
    res = ours(["groups", "add", "--file", path, "-i", "--kms", arns["b"]], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    res = ours(["groups", "delete", "--file", path, "-i", "0"], env, cwd=tmp_path)  # the age group
    assert res.returncode == 0, res.stderr.decode()
    no_age = {k: v for k, v in env.items() if k != "SOPS_AGE_KEY"}
    assert [g["kms"][0]["arn"] for g in sops_meta(path)["key_groups"]] == [arns["a"], arns["b"]]
    assert decrypted("ours", path, no_age) == PLAIN
    if SOPS is not None:
        assert decrypted("sops", path, no_age) == PLAIN


@pytest.mark.parametrize(("order", "kms_calls"), [("age,kms", 0), ("kms,age", 1)])
def test_decryption_order_picks_the_key(order: str, kms_calls: int, aws: AwsEmulator, arns: dict[str, str],
                                        env: dict[str, str], tmp_path: Path) -> None:
    path = encrypt("ours", ["--kms", arns["a"], "--age", age_key()[1]], env, tmp_path)
    aws.clear()
    res = ours(["decrypt", "--decryption-order", order, path], env, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout == PLAIN, res.stderr.decode()
    assert len(aws.calls_of("Decrypt")) == kms_calls
