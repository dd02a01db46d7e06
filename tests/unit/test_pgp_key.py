"""PGP master keys (sops_py.keys.pgp) against a real gpg, in throwaway GnuPG homes.

Keys are unprotected ed25519/cv25519 keys generated once per session. The gpg-agents the tests
start are stopped at teardown. The messages checked here are sops 3.11's own; the exit-128 report
is compared byte for byte with the real sops in tests/interop/test_pgp_sops.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sops_py.datakey import KeyRing, recover, wrap_groups
from sops_py.errors import CouldNotRetrieveKey, SopsError
from sops_py.keys import KeyFailed, KeyNotApplicable, pgp
from sops_py.keyspec import pgp_keys
from sops_py.metadata import KeyEntry, Metadata
from tests.helpers import (
    GPG,
    ROOT,
    gpg_copy_public,
    gpg_env,
    gpg_gen_key,
    gpg_home,
    gpg_kill_agent,
    gpg_run,
)

pytestmark = pytest.mark.skipif(GPG is None, reason="gpg is not installed (.ci/run installs gnupg)")

DATA_KEY = bytes(range(32))


@dataclass
class Keys:
    alice: str  # fingerprint; secret key in `home`
    bob: str  # fingerprint; secret key in `home` and in `bob_home`
    home: Path
    bob_home: Path
    public_home: Path  # alice's and bob's public keys only
    homes: list[Path]

    def env(self, home: Path | None = None) -> dict[str, str]:
        return gpg_env(self.home if home is None else home)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    base = tmp_path_factory.mktemp("pgpunit")
    home, bob_home, public_home = gpg_home(base / "a"), gpg_home(base / "b"), gpg_home(base / "p")
    alice = gpg_gen_key(home, "Alice <alice@example.com>")
    bob = gpg_gen_key(bob_home, "Bob <bob@example.com>")
    secret = gpg_run(bob_home, "--pinentry-mode", "loopback", "--passphrase", "", "--armor",
                     "--export-secret-keys", bob).stdout
    gpg_run(home, "--import", input=secret)
    gpg_copy_public(home, alice, public_home)
    gpg_copy_public(home, bob, public_home)
    keys = Keys(alice, bob, home, bob_home, public_home, [home, bob_home, public_home])
    try:
        yield keys
    finally:
        for h in keys.homes:
            gpg_kill_agent(h)


def fresh_home(keys: Keys, path: Path) -> Path:
    keys.homes.append(path)
    return gpg_home(path)


def fake_gpg(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def entry(fp: str, enc: str = "") -> KeyEntry:
    return KeyEntry("pgp", {"created_at": "2025-01-01T00:00:00Z", "enc": enc, "fp": fp})


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(("fp", "short"), [
    ("FA9D9E64A43A06EA539914B07D684E5A866C3673", "7D684E5A866C3673"),
    ("fa9d9e64a43a06ea539914b07d684e5a866c3673", "7d684e5a866c3673"),
    ("FA9D9E64A43A06EA539914B07D684E5A866C3673!", "7D684E5A866C3673!"),
    ("7D684E5A866C3673", "7D684E5A866C3673"),
    ("866C3673", "866C3673"),
    ("7D684E5A866C3673!", "7D684E5A866C3673!"),
    ("", ""),
])
def test_shorten_fingerprint(fp: str, short: str) -> None:
    assert pgp.shorten_fingerprint(fp) == short


def test_fingerprint_as_sops_stores_it() -> None:
    # sops 3.11 stores `--pgp "fa9d 9e64 ..."` as "fa9d9e64...": spaces removed, case kept.
    assert pgp.normalise_fingerprint("fa9d 9e64 A43A") == "fa9d9e64A43A"
    assert [k.fields["fp"] for k in pgp_keys(["fa9d 9e64 a43a"])] == ["fa9d9e64a43a"]


def test_gpg_binary_and_home() -> None:
    assert pgp.gpg_binary({}) == "gpg"
    assert pgp.gpg_binary({"SOPS_GPG_EXEC": ""}) == "gpg"
    assert pgp.gpg_binary({"SOPS_GPG_EXEC": "/opt/gpg2"}) == "/opt/gpg2"
    assert pgp.gnupg_home({"GNUPGHOME": "/x/y"}) == "/x/y"
    assert pgp.gnupg_home({}).endswith(os.sep + ".gnupg")


def test_gnupg_is_not_imported() -> None:
    code = ("import sys, sops_py.datakey, sops_py.keys.pgp; "
            "assert 'gnupg' not in sys.modules, 'gnupg imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ------------------------------------------------------------------ wrap / unwrap with gpg


def test_wrap_is_trimmed_armor_and_unwraps(keys: Keys) -> None:
    enc = pgp.encrypt(keys.alice, DATA_KEY, keys.env())
    assert enc.startswith("-----BEGIN PGP MESSAGE-----\n\n")
    assert enc.endswith("\n-----END PGP MESSAGE-----")
    assert enc == enc.strip()
    assert pgp.decrypt(enc, keys.env()) == DATA_KEY
    # gpg itself agrees
    assert gpg_run(keys.home, "-d", input=enc.encode()).stdout == DATA_KEY


def test_wrap_lower_case_and_spaced_fingerprint(keys: Keys) -> None:
    spaced = " ".join(keys.alice.lower()[i:i + 4] for i in range(0, 40, 4))
    enc = pgp.encrypt(spaced, DATA_KEY, keys.env())
    assert pgp.decrypt(enc, keys.env()) == DATA_KEY


def test_unwrap_uses_any_secret_key(keys: Keys) -> None:
    # encrypted to bob only: the home holding both secret keys and bob's own home both decrypt
    enc = pgp.encrypt(keys.bob, DATA_KEY, keys.env(keys.public_home))
    assert pgp.decrypt(enc, keys.env()) == DATA_KEY
    assert pgp.decrypt(enc, keys.env(keys.bob_home)) == DATA_KEY
    # a message for several recipients, made by gpg directly
    both = gpg_run(keys.public_home, "--trust-model", "always", "-a", "-e", "-r", keys.alice, "-r", keys.bob,
                   input=DATA_KEY).stdout.decode()
    assert pgp.decrypt(both, keys.env(keys.bob_home)) == DATA_KEY


def test_backend_through_key_ring(keys: Keys) -> None:
    ring = KeyRing(keys.env())
    md = Metadata(key_groups=[[entry(keys.alice)]])
    wrap_groups(md, DATA_KEY, ring)
    enc = md.key_groups[0][0].enc
    assert enc.startswith("-----BEGIN PGP MESSAGE-----")
    assert recover(md, KeyRing(keys.env())) == DATA_KEY
    assert md.key_groups[0][0].fields["fp"] == keys.alice


def test_invocation_matches_sops(keys: Keys, tmp_path: Path) -> None:
    log = tmp_path / "argv"
    wrapper = fake_gpg(tmp_path / "gpgwrap", f'printf "%s\\n" "$@" >> "{log}"\nexec "{GPG}" "$@"\n')
    env = keys.env() | {"SOPS_GPG_EXEC": str(wrapper)}
    enc = pgp.encrypt(keys.alice.lower(), DATA_KEY, env)
    assert log.read_text().splitlines() == [
        "--no-default-recipient", "--yes", "--encrypt", "-a", "-r", keys.alice.lower(),
        "--trusted-key", keys.alice.lower()[-16:], "--no-encrypt-to",
    ]
    log.unlink()
    assert pgp.decrypt(enc, env) == DATA_KEY
    assert log.read_text().splitlines() == ["-d"]  # no --homedir: gpg reads GNUPGHOME itself


# ------------------------------------------------------------------ failures, with sops' messages


def test_no_secret_key(keys: Keys) -> None:
    enc = pgp.encrypt(keys.alice, DATA_KEY, keys.env())
    with pytest.raises(KeyNotApplicable) as e:
        pgp.decrypt(enc, keys.env(keys.public_home))
    msg = str(e.value)
    assert msg.startswith(
        "could not decrypt data key with PGP key: github.com/ProtonMail/go-crypto/openpgp error: could not "
        f"load secring: open {keys.public_home}/pubring.gpg: no such file or directory; GnuPG binary error: "
        "failed to decrypt sops data key with pgp: gpg: encrypted with "), msg
    assert msg.endswith("gpg: decryption failed: No secret key"), msg


def test_no_secret_key_reported_with_exit_128(keys: Keys) -> None:
    md = Metadata(key_groups=[[entry(keys.alice)]], shamir_threshold=0)
    wrap_groups(md, DATA_KEY, KeyRing(keys.env()))
    with pytest.raises(CouldNotRetrieveKey) as e:
        recover(md, KeyRing(keys.env(keys.bob_home)))
    assert e.value.exit_code == 128
    report = str(e.value)
    assert report.startswith("Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n"
                             f"  {keys.alice}: FAILED\n    - | could not decrypt data key with PGP key:\n")
    assert "No secret key" in report


def test_no_public_key(keys: Keys, tmp_path: Path) -> None:
    home = fresh_home(keys, tmp_path / "g")
    gpg_copy_public(keys.home, keys.bob, home)  # the keybox exists, alice is not in it
    with pytest.raises(KeyFailed) as e:
        pgp.encrypt(keys.alice, DATA_KEY, gpg_env(home))
    assert str(e.value) == (
        "could not encrypt data key with PGP key: github.com/ProtonMail/go-crypto/openpgp error: key with "
        f"fingerprint '{keys.alice}' is not available in keyring; GnuPG binary error: failed to encrypt sops "
        f"data key with pgp: gpg: {keys.alice}: skipped: No public key\n"
        "gpg: [stdin]: encryption failed: No public key")
    md = Metadata(key_groups=[[entry(keys.alice)]])
    with pytest.raises(SopsError) as e2:
        wrap_groups(md, DATA_KEY, KeyRing(gpg_env(home)))
    assert str(e2.value) == (f'Could not generate data key: [failed to encrypt new data key with master key '
                             f'"{keys.alice}": {e.value}]')
    assert e2.value.exit_code == 1


def test_gpg_missing(keys: Keys, tmp_path: Path) -> None:
    enc = pgp.encrypt(keys.alice, DATA_KEY, keys.env())
    absent = str(tmp_path / "no" / "gpg")
    with pytest.raises(KeyFailed) as e:
        pgp.decrypt(enc, keys.env() | {"SOPS_GPG_EXEC": absent})
    assert str(e.value).endswith(
        f"; GnuPG binary error: failed to decrypt sops data key with pgp: fork/exec {absent}: "
        "no such file or directory")
    assert not isinstance(e.value, KeyNotApplicable)
    empty_path = str(gpg_home(tmp_path / "empty-path"))
    with pytest.raises(KeyFailed) as e:
        pgp.encrypt(keys.alice, DATA_KEY, keys.env() | {"PATH": empty_path})
    assert str(e.value).endswith(
        'failed to encrypt sops data key with pgp: exec: "gpg": executable file not found in $PATH')


def test_gpg_silent_failure_and_empty_output(keys: Keys, tmp_path: Path) -> None:
    silent = fake_gpg(tmp_path / "silent", "cat >/dev/null\nexit 2\n")
    with pytest.raises(KeyFailed) as e:
        pgp.decrypt("x", keys.env() | {"SOPS_GPG_EXEC": str(silent)})
    assert str(e.value).endswith("failed to decrypt sops data key with pgp: exit status 2")
    empty = fake_gpg(tmp_path / "empty", "cat >/dev/null\nexit 0\n")
    with pytest.raises(KeyFailed) as e:
        pgp.decrypt("x", keys.env() | {"SOPS_GPG_EXEC": str(empty)})
    assert str(e.value).endswith("failed to decrypt sops data key with pgp: zero bytes returned")


def test_legacy_keyring_is_left_to_gpg(keys: Keys, tmp_path: Path) -> None:
    home = fresh_home(keys, tmp_path / "legacy")
    (home / "secring.gpg").write_bytes(b"")
    with pytest.raises(KeyFailed) as e:
        pgp.decrypt("not a message", gpg_env(home))
    assert f"openpgp error: legacy keyring {home}/secring.gpg is not read by sops-py; gpg reads it; " \
           "GnuPG binary error: failed to decrypt sops data key with pgp: gpg:" in str(e.value)


def test_decryption_order_with_age(keys: Keys) -> None:
    """A group holding an age key without identity and a PGP key: pgp succeeds, as in sops."""
    from sops_py.keys import age  # noqa: F401 - skip cleanly if the age module is unavailable

    env = keys.env() | {"HOME": str(keys.home), "XDG_CONFIG_HOME": str(keys.home / "cfg")}
    age_pub = (ROOT / "testdata" / "keys" / "age.pub").read_text().strip()
    md = Metadata(key_groups=[[KeyEntry("age", {"recipient": age_pub, "enc": ""}), entry(keys.alice)]])
    wrap_groups(md, DATA_KEY, KeyRing(env))
    assert recover(md, KeyRing(env)) == DATA_KEY
    assert recover(md, KeyRing(env), ["pgp", "age"]) == DATA_KEY
