"""Passphrase-protected age keys and the SSH key command: scrypt-encrypted identities files (armored or
binary), OpenSSH ed25519/RSA keys protected with bcrypt (the ``ssh`` extra), passphrases typed on a
terminal without echo, and sops 3.13's SOPS_AGE_SSH_PRIVATE_KEY_CMD (expected texts from 3.13.2's
age/keysource.go: the 3.11 reference binary predates the variable)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest

from sops_py.keys import KeyFailed, KeyNotApplicable, age
from tests.helpers import ROOT
from tests.interop.test_age_forms_sops import run_on_pty
from tests.interop.test_age_sops import report_message
from tests.unit.test_age_pq import pq_pair

DATA_KEY = bytes(range(32))
requires_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", ""), **extra}


def keygen(path: Path, kind: str, passphrase: str) -> str:
    bits = ["-b", "3072"] if kind == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", passphrase, "-f", str(path)], check=True,
                   capture_output=True)
    return Path(f"{path}.pub").read_text().strip()


@requires_ssh_keygen
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_bcrypt_protected_openssh_key(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("bcrypt")
    key = tmp_path / "key"
    pub = keygen(key, kind, "correct horse")
    assert b"OPENSSH PRIVATE KEY" in key.read_bytes()
    env = env_for(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(key))
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return "correct horse"

    enc = age.wrap(pub, DATA_KEY)
    assert age.unwrap(enc, age.load_identities(env, prompt=prompt)) == DATA_KEY
    assert asked == [f'Enter passphrase for "{key}":']
    with pytest.raises(KeyFailed) as exc:
        age.unwrap(enc, age.load_identities(env, prompt=lambda _: "wrong horse"))
    message = str(exc.value)
    assert message.startswith("failed to create reader for decrypting sops data key with age: failed to decrypt SSH "
                              "key file: ")
    assert "\n" not in message and "horse" not in message
    assert not isinstance(exc.value, KeyNotApplicable)


@requires_ssh_keygen
def test_bcrypt_missing_gives_the_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import ssh

    def no_bcrypt(*_: object, **__: object) -> bytes:
        raise UnsupportedAlgorithm("Need bcrypt module")  # what cryptography raises without bcrypt

    key = tmp_path / "key"
    pub = keygen(key, "ed25519", "pw")
    monkeypatch.setattr(ssh, "_bcrypt_kdf", no_bcrypt)
    with pytest.raises(KeyFailed) as exc:
        age.unwrap(age.wrap(pub, DATA_KEY),
                   age.load_identities(env_for(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(key)), prompt=lambda _: "pw"))
    assert "failed to decrypt SSH key file: bcrypt is not installed: run pip install 'sops-py[ssh]'" in str(exc.value)


@pytest.mark.slow  # scrypt at age's work factor, twice
def test_scrypt_identities_file_with_a_hybrid_key(tmp_path: Path) -> None:
    secret, recipient = pq_pair()
    locked = tmp_path / "keys.age"
    locked.write_text(age.armor(pyrage.passphrase.encrypt(f"# pq\n{secret}\n".encode(), "s3same")))
    env = env_for(tmp_path, SOPS_AGE_KEY_FILE=str(locked))
    enc = age.wrap(recipient, DATA_KEY)
    assert age.unwrap(enc, age.load_identities(env, prompt=lambda _: "s3same")) == DATA_KEY
    with pytest.raises(KeyFailed, match="with age: incorrect passphrase. Did not find"):
        age.unwrap(enc, age.load_identities(env, prompt=lambda _: "nope"))


@pytest.mark.slow  # scrypt at age's work factor
def test_passphrase_is_read_from_the_terminal_without_echo(tmp_path: Path) -> None:
    secret, recipient = pq_pair()
    locked = tmp_path / "keys.age"
    locked.write_bytes(pyrage.passphrase.encrypt(f"{secret}\n".encode(), "typed secret"))
    (tmp_path / "plain.yaml").write_text("a: secret value\n")
    env = env_for(tmp_path, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "sops_py", "encrypt", "--age", recipient, "plain.yaml"], env=env,
                         cwd=tmp_path, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    (tmp_path / "enc.yaml").write_text(res.stdout)
    prompt = b"Enter passphrase for identity 'SOPS_AGE_KEY_FILE':"
    code, out = run_on_pty([sys.executable, "-m", "sops_py", "decrypt", "enc.yaml"],
                           env | {"SOPS_AGE_KEY_FILE": str(locked)}, tmp_path, [(prompt, b"typed secret\n")])
    assert code == 0, out
    assert b"a: secret value" in out and b"typed secret" not in out
    # no terminal at all: sops' message, exit 128
    res = subprocess.run([sys.executable, "-m", "sops_py", "decrypt", "enc.yaml"],
                         env=env | {"SOPS_AGE_KEY_FILE": str(locked)}, cwd=tmp_path, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, start_new_session=True, check=False)
    assert res.returncode == 128
    assert "could not read passphrase: standard input is not a terminal" in report_message(res.stderr, recipient)


# ---------------------------------------------------------------- SOPS_AGE_SSH_PRIVATE_KEY_CMD (sops 3.12+)


def key_cmd(tmp_path: Path, key: Path) -> str:
    script = tmp_path / f"sshkeycmd_{key.name}.py"
    script.write_text("import os, sys\n"
                      f"open({str(tmp_path / 'cmd.log')!r}, 'a').write(os.environ['SOPS_AGE_RECIPIENT'] + '\\n')\n"
                      f"sys.stdout.write(open({str(key)!r}).read())\n")
    return f"'{sys.executable}' {script}"


@requires_ssh_keygen
def test_ssh_private_key_cmd(tmp_path: Path) -> None:
    key = tmp_path / "key"
    pub = keygen(key, "ed25519", "")
    enc = age.wrap(pub, DATA_KEY)
    env = env_for(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_CMD=key_cmd(tmp_path, key))
    ids = age.load_identities(env)
    assert age.unwrap(enc, ids, recipient=pub) == DATA_KEY
    assert age.unwrap(enc, ids, recipient="again") == DATA_KEY  # run for every key, like SOPS_AGE_KEY_CMD
    assert (tmp_path / "cmd.log").read_text().splitlines() == [pub, "again"]


@requires_ssh_keygen
def test_ssh_private_key_cmd_errors_and_locations(tmp_path: Path) -> None:
    home = tmp_path / "home"
    enc = age.wrap(pq_pair()[1], DATA_KEY)
    locked = tmp_path / "locked"
    keygen(locked, "ed25519", "pw")
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    cases = [
        (key_cmd(tmp_path, locked), 'the SSH key returned by running SOPS_AGE_SSH_PRIVATE_KEY_CMD is password '
                                    'protected, which is unsupported. ("ssh: this private key is passphrase protected")'),
        (key_cmd(tmp_path, garbage), 'malformed SSH identity returned by running SOPS_AGE_SSH_PRIVATE_KEY_CMD: '
                                     '"ssh: no key found"'),
        ("false", "failed to execute command false: exit status 1"),
    ]
    for cmd, err in cases:
        with pytest.raises(KeyNotApplicable) as exc:
            age.unwrap(enc, age.load_identities(env_for(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_CMD=cmd)))
        assert str(exc.value) == (
            f"failed to load age identities. Errors while loading age identities: {err}. Did not find keys in "
            f"locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', '{home}/.ssh/id_ed25519', '{home}/.ssh/id_rsa', "
            f"'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD', and '{home}/.config/sops/age/keys.txt'.")
