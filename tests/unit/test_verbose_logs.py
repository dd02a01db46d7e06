"""sops' ``--verbose`` lines: each key source's ``Encryption/Decryption succeeded|failed``, the data-key
and tree lines of sops.go, cmd/sops' ``File written successfully`` and ``Master keys available``.

The oracle is the real ``sops`` binary (3.11, whose call sites are those of 3.13.2 except HuaweiCloud's,
which 3.11 lacks). sops 3.11 and 3.13.2 (the same urfave/cli 1.22.17) set the debug level from the
global ``--verbose`` in the legacy form (``sops --verbose -d FILE``), ``publish`` and ``keyservice``
only: the other subcommands ask their own flags (``c.Bool``), which have no --verbose, so
``sops --verbose decrypt`` logs no info line; sops-py's ``decrypt --verbose`` extension gives the
legacy form's lines. Lines are compared whole after two substitutions: the timestamp, and the heap
addresses Go prints for ``%+v`` of a key group (sops-py prints stand-ins).

Where the lines come from in sops 3.13.2: ``age/keysource.go`` (recipient field, no field on
decryption), ``pgp/keysource.go`` (fingerprint), ``kms/keysource.go`` (``[AWSKMS]``, arn),
``hcvault/keysource.go`` (``[VAULT_TRANSIT]``, Path, "successful"), ``sops.go`` (Shamir split, data
key recovered, Decrypting tree, Truncating tree), ``cmd/sops/main.go`` (File written successfully,
Master keys available).
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from sops_py import log
from sops_py.keys.keylog import logged
from sops_py.metadata import KeyEntry
from tests.helpers import (
    AGE2_KEY_FILE,
    AGE2_RECIPIENT,
    AGE_KEY_FILE,
    AGE_RECIPIENT,
    GPG,
    ROOT,
    gpg_copy_public,
    gpg_gen_key,
    gpg_home,
    gpg_kill_agent,
    unwrap_age,
)
from tests.interop.sops_helpers import SOPS, requires_sops

PLAIN = b"name: example\npassword: hunter2\nlist:\n    - one\n    - two\n"
SECRET_VALUES = (b"hunter2",)


# ------------------------------------------------------------------ running both programs


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No SOPS_* or cloud variables from outside, HOME isolated, the test age key unless overridden."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "AWS_", "VAULT_", "GOOGLE_", "AZURE_"))}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run(impl: str, args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path,
        timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    cmd = [SOPS or "sops"] if impl == "sops" else [sys.executable, "-m", "sops_py"]
    return subprocess.run([*cmd, *map(str, args)], env=dict(env), cwd=cwd, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, check=False)


_TIME = re.compile(r'time="[^"]*"')
_ADDR = re.compile(r"0xc[0-9a-f]{9}")


def lines(stderr: bytes) -> list[str]:
    """The log lines of a run (``[NAME]\\t …``), with the time and Go heap addresses normalised."""
    out = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("[") and "]\t " in line:
            out.append(_ADDR.sub("0xADDR", _TIME.sub("time=T", line)))
    return out


def line(name: str, level: str, msg: str, **fields: str) -> str:
    """One expected line, in the pipe layout (fields sorted, quoted as logrus quotes them)."""
    return _TIME.sub("time=T", log.format_line({"debug": 10, "info": 20}[level], msg, name, fields or None))


def both(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path, *,
         ok: bool = True) -> tuple[list[str], list[str]]:
    """(sops' lines, sops-py's lines) of one command line run by each, on copies of any file it names."""
    got = {}
    for impl in ("sops", "ours"):
        res = run(impl, args, env, cwd)
        assert (res.returncode == 0) == ok, (impl, res.returncode, res.stderr.decode())
        for secret in SECRET_VALUES:
            assert secret not in res.stderr, f"{impl} logged a decrypted value"
        got[impl] = lines(res.stderr)
    return got["sops"], got["ours"]


def encrypted(tmp_path: Path, env: Mapping[str, str], *flags: str, name: str = "secret.yaml") -> Path:
    """A file encrypted by sops-py (quietly)."""
    plain = tmp_path / ("plain-" + name)
    plain.write_bytes(PLAIN)
    res = run("ours", ["encrypt", *flags, plain], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stderr == b""
    path = tmp_path / name
    path.write_bytes(res.stdout)
    return path


AGE_ENC_OK = line("AGE", "info", "Encryption succeeded", recipient=AGE_RECIPIENT)
AGE_DEC_OK = line("AGE", "info", "Decryption succeeded")
AGE_DEC_FAILED = line("AGE", "info", "Decryption failed")
RECOVERED = line("SOPS", "info", "Data key recovered successfully")
DECRYPTING = line("SOPS", "debug", "Decrypting tree")
WRITTEN = line("CMD", "info", "File written successfully")
MASTER_KEYS_1 = line("CMD", "debug", "Master keys available:  [0xADDR]")


# ------------------------------------------------------------------ the level check and the helper


def test_nothing_without_verbose(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    path = encrypted(tmp_path, env, "--age", AGE_RECIPIENT)
    cases: list[list[str | os.PathLike[str]]] = [
        ["decrypt", path], ["-d", path], ["rotate", "-i", path], ["-d", "--extract", '["list"][0]', path]]
    for args in cases:
        res = run("ours", args, env, tmp_path)
        assert res.returncode == 0, res.stderr.decode()
        assert res.stderr == b"", args


def test_info_and_debug_do_not_load_logging() -> None:
    """Without --verbose an info or debug line costs a comparison: ``logging`` stays unloaded."""
    code = ("import sys\nfrom sops_py import log\nlog.configure(False)\nlog.info('x', name='AGE')\n"
            "log.debug('y')\nassert 'logging' not in sys.modules, 'logging was imported'\n"
            "assert not log.enabled(20) and not log.enabled(10) and log.enabled(30)\n"
            "log.configure(True)\nassert log.enabled(10) and 'logging' not in sys.modules\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False, cwd=ROOT)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stderr == b""


def _entry(name: str) -> KeyEntry:
    return KeyEntry("age", {"recipient": name, "enc": ""})


class _Backend:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    @logged("TEST", lambda entry: {"key": entry.fields["recipient"]}, encrypt=True)
    def wrap(self, entry: KeyEntry, secret: bytes, /) -> str:
        if self.fail:
            raise ValueError("no")
        return "enc"

    @logged("TEST", lambda entry: None, encrypt=False, success="successful")
    def unwrap(self, entry: KeyEntry, /) -> bytes:
        if self.fail:
            raise KeyError("no")
        return b"k"


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """capsys, with --verbose's level set by the test itself (``verbose()``): the handler takes the
    stderr of the moment, and capsys installs its own only once the test runs."""
    yield capsys
    log.configure(False)


def verbose() -> None:
    log.configure(True)
    log.logger()


def test_keylog_outcome_lines(captured: pytest.CaptureFixture[str]) -> None:
    verbose()
    assert _Backend(False).wrap(_entry("a b"), b"s") == "enc"
    assert _Backend(False).unwrap(_entry("k")) == b"k"
    with pytest.raises(ValueError, match="no"):
        _Backend(True).wrap(_entry("x"), b"s")
    with pytest.raises(KeyError):
        _Backend(True).unwrap(_entry("x"))
    assert lines(captured.readouterr().err.encode()) == [
        line("TEST", "info", "Encryption succeeded", key="a b"),
        line("TEST", "info", "Decryption successful"),
        line("TEST", "info", "Encryption failed", key="x"),
        line("TEST", "info", "Decryption failed"),
    ]
    assert _Backend.wrap.__name__ == "wrap"


def test_keylog_silent_at_warning_level(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure(False)
    log.logger()
    _Backend(False).wrap(_entry("a"), b"s")
    with pytest.raises(ValueError):
        _Backend(True).wrap(_entry("a"), b"s")
    assert capsys.readouterr().err == ""


def test_recipient_field_forms() -> None:
    from sops_py.keys.age_backend import recipient_field

    assert recipient_field(AGE_RECIPIENT) == AGE_RECIPIENT
    assert recipient_field(AGE_RECIPIENT.upper()) == "<nil>"  # "AGE1…" is no type sops knows
    assert recipient_field("not-a-recipient") == "<nil>"  # logged before parsing succeeded
    assert recipient_field("") == "<nil>"


def test_truncating_tree_path_in_go_form(captured: pytest.CaptureFixture[str]) -> None:
    from sops_py.tree import Branch
    from sops_py.treepath import truncate

    verbose()
    assert truncate(Branch([("a", [Branch([("b c", "v")])])]), ["a", 0, "b c"]) == "v"
    assert lines(captured.readouterr().err.encode()) == [
        line("SOPS", "info", "Truncating tree", path="[a 0 b c]")]


# ------------------------------------------------------------------ age, against the binary


@pytest.fixture
def age_file(tmp_path: Path) -> Path:
    return encrypted(tmp_path, base_env(tmp_path), "--age", AGE_RECIPIENT)


@requires_sops
@pytest.mark.interop
@pytest.mark.parametrize(("args", "expected"), [
    (["--verbose", "-d", "{f}"], [AGE_DEC_OK, RECOVERED, DECRYPTING]),
    (["--verbose", "-d", "--extract", '["list"][1]', "{f}"],
     [AGE_DEC_OK, RECOVERED, DECRYPTING, line("SOPS", "info", "Truncating tree", path="[list 1]")]),
    (["--verbose", "-d", "-i", "{f}"], [AGE_DEC_OK, RECOVERED, DECRYPTING, WRITTEN]),
    (["--verbose", "-d", "--output", "{f}.out", "{f}"], [AGE_DEC_OK, RECOVERED, DECRYPTING]),
    (["--verbose", "-r", "-i", "{f}"], [AGE_DEC_OK, RECOVERED, DECRYPTING, AGE_ENC_OK, WRITTEN]),
    (["--verbose", "-r", "{f}"], [AGE_DEC_OK, RECOVERED, DECRYPTING, AGE_ENC_OK]),
    (["--verbose", "--set", '["name"] "x"', "{f}"], [AGE_DEC_OK, RECOVERED, DECRYPTING, WRITTEN]),
    (["--verbose", "-r", "-i", "--add-age", AGE2_RECIPIENT, "{f}"],
     [AGE_DEC_OK, RECOVERED, DECRYPTING, AGE_ENC_OK,
      line("AGE", "info", "Encryption succeeded", recipient=AGE2_RECIPIENT), WRITTEN]),
], ids=["decrypt", "extract", "decrypt-in-place", "decrypt-output", "rotate-in-place", "rotate-stdout", "set",
        "rotate-add-key"])
def test_age_legacy_commands_match_sops(tmp_path: Path, age_file: Path, args: list[str],
                                        expected: list[str]) -> None:
    env = base_env(tmp_path)
    got = {}
    for impl in ("sops", "ours"):
        f = tmp_path / f"{impl}.yaml"
        f.write_bytes(age_file.read_bytes())
        res = run(impl, [a.replace("{f}", str(f)) for a in args], env, tmp_path)
        assert res.returncode == 0, (impl, res.stderr.decode())
        assert b"hunter2" not in res.stderr
        got[impl] = lines(res.stderr)
    assert got["sops"] == expected
    assert got["ours"] == got["sops"]


@requires_sops
@pytest.mark.interop
def test_age_encrypt_matches_sops(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    theirs, ours = both(["--verbose", "-e", "--age", AGE_RECIPIENT, "p.yaml"], env, tmp_path)
    assert theirs == [MASTER_KEYS_1, AGE_ENC_OK]
    assert ours == theirs
    theirs, ours = both(["--verbose", "-e", "--age", f"{AGE_RECIPIENT},{AGE2_RECIPIENT}", "p.yaml"], env, tmp_path)
    assert theirs == [line("CMD", "debug", "Master keys available:  [0xADDR 0xADDR]"), AGE_ENC_OK,
                      line("AGE", "info", "Encryption succeeded", recipient=AGE2_RECIPIENT)]
    assert ours == theirs


@requires_sops
@pytest.mark.interop
def test_edit_matches_sops(tmp_path: Path, age_file: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/example/changed/' \"$1\"\n")
    editor.chmod(0o755)
    env = base_env(tmp_path, EDITOR=str(editor))
    got = {}
    for impl in ("sops", "ours"):
        f = tmp_path / f"{impl}.yaml"
        f.write_bytes(age_file.read_bytes())
        res = run(impl, ["--verbose", f], env, tmp_path)
        assert res.returncode == 0, (impl, res.stderr.decode())
        got[impl] = lines(res.stderr)
    # edit re-encrypts with the data key it recovered: no key source line after the tree's
    assert got["sops"] == [AGE_DEC_OK, RECOVERED, DECRYPTING, WRITTEN]
    assert got["ours"] == got["sops"]


@requires_sops
@pytest.mark.interop
def test_global_flag_does_not_reach_subcommands(tmp_path: Path, age_file: Path) -> None:
    """sops (3.11 and 3.13.2, both on urfave/cli 1.22.17) asks a subcommand's own flags for --verbose
    (``c.Bool``), and decrypt, encrypt, edit, ... have none: ``sops --verbose decrypt`` logs no info
    line. sops-py's own ``decrypt --verbose`` (an extension) gives the legacy form's lines."""
    env = base_env(tmp_path)
    theirs, ours = both(["--verbose", "decrypt", age_file], env, tmp_path)
    assert theirs == ours == []
    cases: list[list[str | os.PathLike[str]]] = [["decrypt", "--verbose", age_file], ["--verbose", "-d", age_file]]
    for args in cases:
        res = run("ours", args, env, tmp_path)
        assert res.returncode == 0, res.stderr.decode()
        assert lines(res.stderr) == [AGE_DEC_OK, RECOVERED, DECRYPTING]
    f = tmp_path / "in-place.yaml"
    f.write_bytes(PLAIN)
    res = run("ours", ["encrypt", "--verbose", "--age", AGE_RECIPIENT, "-i", f], env, tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert lines(res.stderr) == [MASTER_KEYS_1, AGE_ENC_OK, WRITTEN]
    res = run("ours", ["rotate", "--verbose", "-i", f], env, tmp_path)
    assert lines(res.stderr) == [AGE_DEC_OK, RECOVERED, DECRYPTING, AGE_ENC_OK, WRITTEN]
    theirs, ours = both(["--verbose", "rotate", "-i", f], env, tmp_path)
    assert theirs == ours == []


def test_data_key_never_logged(tmp_path: Path, age_file: Path) -> None:
    env = base_env(tmp_path)
    meta = yaml.safe_load(age_file.read_bytes())["sops"]
    data_key = unwrap_age(meta["age"][0]["enc"])
    res = run("ours", ["--verbose", "-r", "-i", age_file], env, tmp_path)
    assert res.returncode == 0
    text = res.stderr
    for form in (data_key, base64.b64encode(data_key), data_key.hex().encode(), data_key.hex().upper().encode()):
        assert form not in text
    assert lines(text)  # the lines were written


@requires_sops
@pytest.mark.interop
def test_age_failures_match_sops(tmp_path: Path, age_file: Path) -> None:
    # an identity that matches no recipient, then none at all
    theirs, ours = both(["--verbose", "-d", age_file], base_env(tmp_path, SOPS_AGE_KEY_FILE=str(AGE2_KEY_FILE)),
                        tmp_path, ok=False)
    assert theirs == [AGE_DEC_FAILED]
    assert ours == theirs
    theirs, ours = both(["--verbose", "-d", age_file],
                        base_env(tmp_path, SOPS_AGE_KEY_FILE=str(tmp_path / "missing.txt")), tmp_path, ok=False)
    assert theirs == [AGE_DEC_FAILED]
    assert ours == theirs


@requires_sops
@pytest.mark.interop
def test_shamir_groups_match_sops(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n"
        f"      - age: [{AGE_RECIPIENT}]\n      - age: [{AGE2_RECIPIENT}, {AGE_RECIPIENT}]\n")
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    env = base_env(tmp_path)
    theirs, ours = both(["--verbose", "-e", "p.yaml"], env, tmp_path)
    assert theirs == [line("SOPS", "info", "Splitting data key with Shamir Secret Sharing", parts="2", quorum="2"),
                      AGE_ENC_OK, line("AGE", "info", "Encryption succeeded", recipient=AGE2_RECIPIENT), AGE_ENC_OK]
    assert ours == theirs
    enc = run("ours", ["-e", "p.yaml"], env, tmp_path)
    (tmp_path / "s.yaml").write_bytes(enc.stdout)
    theirs, ours = both(["--verbose", "-d", "s.yaml"], env, tmp_path)
    assert theirs == [AGE_DEC_OK, AGE_DEC_FAILED, AGE_DEC_OK, RECOVERED, DECRYPTING]
    assert ours == theirs


@requires_sops
@pytest.mark.interop
def test_ssh_recipients_match_sops(tmp_path: Path) -> None:
    keys = {}
    for kind, extra in (("ed25519", []), ("rsa", ["-b", "2048"])):
        key = tmp_path / f"id_{kind}"
        subprocess.run(["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-f", str(key)], check=True,
                       capture_output=True)
        keys[kind] = (tmp_path / f"id_{kind}.pub").read_text().strip()
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    env = base_env(tmp_path)
    theirs, ours = both(["--verbose", "-e", "--age", keys["ed25519"], "p.yaml"], env, tmp_path)
    assert re.fullmatch(r'.*msg="Encryption succeeded" recipient="&\{\[(\d+ ){31}\d+\] \[(\d+ ){31}\d+\]\}"',
                        theirs[1])
    assert ours == theirs  # the Ed25519 key's bytes and their X25519 form, as Go prints the struct
    theirs, ours = both(["--verbose", "-e", "--age", keys["rsa"], "p.yaml"], env, tmp_path)
    rsa = line("AGE", "info", "Encryption succeeded", recipient="&{0xADDR 0xADDR}")
    assert theirs == [MASTER_KEYS_1, rsa]
    assert ours == theirs


# ------------------------------------------------------------------ PGP, against the binary


@pytest.fixture(scope="module")
def pgp_homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """(fingerprint, home with its secret key, home with its public key only)."""
    if GPG is None:
        pytest.skip("gpg is not installed")
    base = tmp_path_factory.mktemp("verbosepgp")
    home, public = gpg_home(base / "a"), gpg_home(base / "p")
    fp = gpg_gen_key(home, "Verbose Test <verbose@example.com>")
    gpg_copy_public(home, fp, public)
    try:
        yield fp, home, public
    finally:
        gpg_kill_agent(home)
        gpg_kill_agent(public)


@requires_sops
@pytest.mark.interop
def test_pgp_matches_sops(tmp_path: Path, pgp_homes: tuple[str, Path, Path]) -> None:
    fp, home, public = pgp_homes
    env = dict(base_env(tmp_path), GNUPGHOME=str(home))
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    theirs, ours = both(["--verbose", "-e", "--pgp", fp, "p.yaml"], env, tmp_path)
    assert theirs == [MASTER_KEYS_1, line("PGP", "info", "Encryption succeeded", fingerprint=fp)]
    assert ours == theirs
    path = encrypted(tmp_path, env, "--pgp", fp)
    theirs, ours = both(["--verbose", "-d", path], env, tmp_path)
    assert theirs == [line("PGP", "info", "Decryption succeeded", fingerprint=fp), RECOVERED, DECRYPTING]
    assert ours == theirs
    # the public key only: decryption fails, and the age key of the same group then succeeds
    env_public = dict(base_env(tmp_path), GNUPGHOME=str(public))
    mixed = encrypted(tmp_path, env, "--pgp", fp, "--age", AGE_RECIPIENT, name="mixed.yaml")
    theirs, ours = both(["--verbose", "--decryption-order", "pgp,age", "-d", mixed], env_public, tmp_path)
    assert theirs == [line("PGP", "info", "Decryption failed", fingerprint=fp), AGE_DEC_OK, RECOVERED, DECRYPTING]
    assert ours == theirs
    theirs, ours = both(["--verbose", "-e", "--pgp", "0" * 40, "p.yaml"], env, tmp_path, ok=False)
    assert theirs == [MASTER_KEYS_1, line("PGP", "info", "Encryption failed", fingerprint="0" * 40)]
    assert ours == theirs


# ------------------------------------------------------------------ cloud key sources


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@requires_sops
@pytest.mark.interop
def test_vault_failure_matches_sops(tmp_path: Path) -> None:
    """Vault's key source says "successful" and names the transit path (no server: the failure line)."""
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    uri = f"http://127.0.0.1:{_closed_port()}/v1/transit/keys/k1"
    env = base_env(tmp_path, VAULT_TOKEN="t", VAULT_MAX_RETRIES="0")
    theirs, ours = both(["--verbose", "-e", "--hc-vault-transit", uri, "p.yaml"], env, tmp_path, ok=False)
    assert theirs == [MASTER_KEYS_1, line("VAULT_TRANSIT", "info", "Encryption failed", Path="transit/encrypt/k1")]
    assert ours == theirs


@pytest.mark.slow
def test_aws_kms_lines(tmp_path: Path) -> None:
    """AWS KMS through moto: the lines and their arn field, from both programs where the binary is there."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto")
    from tests.kms.aws_server import AwsEmulator

    emu = AwsEmulator().start()
    try:
        arn, disabled = emu.create_key(), emu.create_key()
        emu.disable_key(disabled)
        env = emu.env(base_env(tmp_path), tmp_path / "awshome")
        (tmp_path / "p.yaml").write_bytes(PLAIN)
        impls = ["ours", *(["sops"] if SOPS else [])]
        for impl in impls:
            res = run(impl, ["--verbose", "-e", "--kms", arn, "p.yaml"], env, tmp_path)
            assert res.returncode == 0, res.stderr.decode()
            assert lines(res.stderr) == [MASTER_KEYS_1, line("AWSKMS", "info", "Encryption succeeded", arn=arn)]
            (tmp_path / f"{impl}.yaml").write_bytes(res.stdout)
            res = run(impl, ["--verbose", "-d", f"{impl}.yaml"], env, tmp_path)
            assert res.returncode == 0, res.stderr.decode()
            assert lines(res.stderr) == [line("AWSKMS", "info", "Decryption succeeded", arn=arn), RECOVERED,
                                         DECRYPTING]
            res = run(impl, ["--verbose", "-e", "--kms", disabled, "p.yaml"], env, tmp_path)
            assert res.returncode != 0
            assert lines(res.stderr) == [MASTER_KEYS_1, line("AWSKMS", "info", "Encryption failed", arn=disabled)]
            for secret in (env.get("AWS_SECRET_ACCESS_KEY", "\0"), "hunter2"):
                assert secret.encode() not in res.stderr
    finally:
        emu.stop()


@pytest.mark.slow
@requires_sops
@pytest.mark.interop
def test_azure_failures_match_sops(tmp_path: Path) -> None:
    """Azure Key Vault's lines name the key and version: a versionless key fails while its version is
    looked up (still "Encryption failed", version empty), a versioned one on the encrypt call."""
    pytest.importorskip("azure.identity")
    pytest.importorskip("azure.keyvault.keys")
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    dead = f"https://127.0.0.1:{_closed_port()}"
    env = base_env(tmp_path, AZURE_CLIENT_ID="c", AZURE_TENANT_ID="t", AZURE_CLIENT_SECRET="s",
                   AZURE_AUTHORITY_HOST=dead, NO_PROXY="*", no_proxy="*")
    theirs, ours = both(["--verbose", "-e", "--azure-kv", f"{dead}/keys/k1", "p.yaml"], env, tmp_path, ok=False)
    assert theirs == [line("AZKV", "info", "Encryption failed", key="k1", version="")]
    assert ours == theirs
    theirs, ours = both(["--verbose", "-e", "--azure-kv", f"{dead}/keys/k1/v1", "p.yaml"], env, tmp_path,
                        ok=False)
    assert theirs == [MASTER_KEYS_1, line("AZKV", "info", "Encryption failed", key="k1", version="v1")]
    assert ours == theirs


@pytest.mark.parametrize(("flag", "key", "sdk", "expected"), [
    # HuaweiCloud KMS is newer than the 3.11 binary: the line as hckms/keysource.go writes it
    ("--hckms", "tr-west-1:0f5b1a58-8e43-4b17-9c8b-05a3b8a1ad8e", "huaweicloudsdkcore",
     line("HCKMS", "info", "Encryption failed", keyID="tr-west-1:0f5b1a58-8e43-4b17-9c8b-05a3b8a1ad8e")),
    # the binary takes a minute to give up on GCP here; its line is gcpkms/keysource.go's
    pytest.param("--gcp-kms", "projects/p/locations/global/keyRings/r/cryptoKeys/k", "google.cloud.kms",
                 line("GCPKMS", "info", "Encryption failed",
                      resourceID="projects/p/locations/global/keyRings/r/cryptoKeys/k"), marks=pytest.mark.slow),
], ids=["hckms", "gcpkms"])
def test_other_cloud_failure_lines(tmp_path: Path, flag: str, key: str, sdk: str, expected: str) -> None:
    pytest.importorskip(sdk)
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    dead = f"127.0.0.1:{_closed_port()}"
    env = base_env(tmp_path, HUAWEICLOUD_SDK_AK="ak", HUAWEICLOUD_SDK_SK="sk", HUAWEICLOUD_SDK_PROJECT_ID="p",
                   HTTPS_PROXY=f"http://{dead}", HTTP_PROXY=f"http://{dead}", GCE_METADATA_HOST=dead,
                   GCE_METADATA_IP=dead, NO_GCE_CHECK="True")
    res = run("ours", ["--verbose", "-e", flag, key, "p.yaml"], env, tmp_path)
    assert res.returncode == 1, res.stderr.decode()
    assert lines(res.stderr) == [MASTER_KEYS_1, expected]
    assert b"Traceback" not in res.stderr
