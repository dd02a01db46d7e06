"""PGP master keys against the real sops binary (3.11.0+), with real gpg homes in temp dirs.

* files our encrypt pipeline wraps for a PGP key are decrypted by sops, and the reverse;
* mixed age+PGP files (one group, and two Shamir groups) both ways, each key type alone;
* failures: no secret key gives the same exit-128 report as sops, byte for byte, and no public key
  the same "Could not generate data key" message (exit 1 in both).

Keys are unprotected ed25519/cv25519 keys made once per module. The gpg-agents started by gpg, sops
or sops-py are stopped at teardown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sops_py.datakey import KeyRing
from sops_py.errors import CouldNotRetrieveKey, SopsError
from sops_py.keyspec import pgp_keys
from sops_py.metadata import KeyEntry
from sops_py.ops.crypt import EncryptSettings, decrypt_data, encrypt_data
from sops_py.stores import Store, get_store
from tests.helpers import (
    AGE_KEY_FILE,
    AGE_RECIPIENT,
    GPG,
    gpg_copy_public,
    gpg_env,
    gpg_gen_key,
    gpg_home,
    gpg_kill_agent,
)
from tests.interop.sops_helpers import requires_sops, run_sops

pytestmark = [
    pytest.mark.interop,
    requires_sops,
    pytest.mark.skipif(GPG is None, reason="gpg is not installed (.ci/run installs gnupg)"),
]

PLAIN_YAML = b"""\
name: example
password: hunter2
nested:
    list:
        - 1
        - two
    flag: true
# a comment
"""
PLAIN_JSON = b'{\n\t"a": "b",\n\t"n": 1.5,\n\t"l": [\n\t\t1,\n\t\t"x"\n\t]\n}'


@dataclass
class Gpg:
    fp: str  # secret key in `home`
    other_fp: str  # secret key in `other_home` only
    home: Path
    other_home: Path  # another key's secret, plus `fp`'s public key
    homes: list[Path]


@pytest.fixture(scope="module")
def gpg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gpg]:
    base = tmp_path_factory.mktemp("pgpinterop")
    home, other = gpg_home(base / "a"), gpg_home(base / "o")
    fp = gpg_gen_key(home, "Sops Test <sops-test@example.com>")
    other_fp = gpg_gen_key(other, "Other <other@example.com>")
    gpg_copy_public(home, fp, other)
    g = Gpg(fp, other_fp, home, other, [home, other])
    try:
        yield g
    finally:
        for h in g.homes:
            gpg_kill_agent(h)


def env_for(tmp_path: Path, home: Path, age: bool = False) -> dict[str, str]:
    """GNUPGHOME=home, HOME isolated (no default age keys), and the test age key only if ``age``."""
    env = gpg_env(home)
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    if age:
        env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env


def pgp_entry(fp: str) -> KeyEntry:
    return KeyEntry("pgp", {"created_at": "2025-01-01T00:00:00Z", "enc": "", "fp": fp})


def age_entry() -> KeyEntry:
    return KeyEntry("age", {"recipient": AGE_RECIPIENT, "enc": ""})


def our_encrypt(data: bytes, fmt: str, groups: list[list[KeyEntry]], env: dict[str, str],
                threshold: int = 0) -> bytes:
    store = get_store(fmt)
    settings = EncryptSettings(key_groups=groups, shamir_threshold=threshold)
    return encrypt_data(data, store, store, settings, KeyRing(env))


def our_decrypt(data: bytes, store: Store, env: dict[str, str], order: list[str] | None = None) -> bytes:
    return decrypt_data(data, store, store, KeyRing(env), order)


def sops_decrypt(tmp_path: Path, name: str, data: bytes, env: dict[str, str], *flags: str) -> bytes:
    path = tmp_path / name
    path.write_bytes(data)
    proc = run_sops(["decrypt", *flags, path], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def sops_encrypt(tmp_path: Path, name: str, data: bytes, env: dict[str, str], *flags: str) -> bytes:
    path = tmp_path / name
    path.write_bytes(data)
    proc = run_sops(["encrypt", *flags, path], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


# ------------------------------------------------------------------ (1) we wrap, sops unwraps


@pytest.mark.parametrize(("fmt", "name", "plain"), [("yaml", "s.yaml", PLAIN_YAML), ("json", "s.json", PLAIN_JSON)])
def test_sops_decrypts_our_pgp_file(gpg: Gpg, tmp_path: Path, fmt: str, name: str, plain: bytes) -> None:
    env = env_for(tmp_path, gpg.home)
    enc = our_encrypt(plain, fmt, [[pgp_entry(gpg.fp)]], env)
    if fmt == "yaml":
        assert b"enc: |-\n            -----BEGIN PGP MESSAGE-----\n" in enc  # trimmed: no trailing newline
        assert f"fp: {gpg.fp}\n".encode() in enc
    else:
        assert b'-----END PGP MESSAGE-----",' in enc
    assert sops_decrypt(tmp_path, name, enc, env) == our_decrypt(enc, get_store(fmt), env)
    # sops decrypts to the same bytes it gets from its own file
    own = sops_encrypt(tmp_path, "own-" + name, plain, env, "--pgp", gpg.fp)
    assert sops_decrypt(tmp_path, name, enc, env) == sops_decrypt(tmp_path, "own2-" + name, own, env)


def test_sops_decrypts_lower_case_spaced_fingerprint(gpg: Gpg, tmp_path: Path) -> None:
    spaced = " ".join(gpg.fp.lower()[i:i + 4] for i in range(0, 40, 4))
    env = env_for(tmp_path, gpg.home)
    ours = our_encrypt(PLAIN_YAML, "yaml", [pgp_keys([spaced])], env)
    theirs = sops_encrypt(tmp_path, "t.yaml", PLAIN_YAML, env, "--pgp", spaced)
    # both store the fingerprint the same way: spaces removed, case kept
    line = f"fp: {gpg.fp.lower()}\n".encode()
    assert line in ours and line in theirs
    assert sops_decrypt(tmp_path, "o.yaml", ours, env) == our_decrypt(theirs, get_store("yaml"), env)


# ------------------------------------------------------------------ (2) sops wraps, we unwrap


@pytest.mark.parametrize(("fmt", "name", "plain"), [("yaml", "s.yaml", PLAIN_YAML), ("json", "s.json", PLAIN_JSON)])
def test_we_decrypt_sops_pgp_file(gpg: Gpg, tmp_path: Path, fmt: str, name: str, plain: bytes) -> None:
    env = env_for(tmp_path, gpg.home)
    enc = sops_encrypt(tmp_path, name, plain, env, "--pgp", gpg.fp)
    assert our_decrypt(enc, get_store(fmt), env) == sops_decrypt(tmp_path, "e-" + name, enc, env)


def test_gpg_invocation_same_as_sops(gpg: Gpg, tmp_path: Path) -> None:
    """Through a logging SOPS_GPG_EXEC wrapper: sops and sops-py run gpg with the same arguments."""
    log = tmp_path / "argv"
    wrapper = tmp_path / "gpg-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{GPG}" "$@"\n')
    wrapper.chmod(0o755)
    env = env_for(tmp_path, gpg.home) | {"SOPS_GPG_EXEC": str(wrapper)}
    fp = gpg.fp.lower()

    def calls() -> list[str]:
        lines = log.read_text().splitlines()
        log.unlink()
        return lines

    theirs = sops_encrypt(tmp_path, "w.yaml", PLAIN_YAML, env, "--pgp", fp)
    sops_calls = calls()
    ours = our_encrypt(PLAIN_YAML, "yaml", [pgp_keys([fp])], env)
    assert calls() == sops_calls == [
        f"--no-default-recipient --yes --encrypt -a -r {fp} --trusted-key {fp[-16:]} --no-encrypt-to"]
    expected = sops_decrypt(tmp_path, "w1.yaml", theirs, env)
    sops_calls = calls()
    assert our_decrypt(ours, get_store("yaml"), env) == expected
    assert calls() == sops_calls == ["-d"]


# ------------------------------------------------------------------ (3) mixed age + PGP


def test_mixed_group_ours_to_sops(gpg: Gpg, tmp_path: Path) -> None:
    enc = our_encrypt(PLAIN_YAML, "yaml", [[age_entry(), pgp_entry(gpg.fp)]], env_for(tmp_path, gpg.home))
    assert b"-----BEGIN AGE ENCRYPTED FILE-----" in enc and b"-----BEGIN PGP MESSAGE-----" in enc
    empty = gpg_home(tmp_path / "empty")
    gpg.homes.append(empty)
    pgp_only = env_for(tmp_path, gpg.home)
    age_only = env_for(tmp_path, empty, age=True)
    expected = sops_decrypt(tmp_path, "a.yaml", enc, pgp_only)
    assert sops_decrypt(tmp_path, "b.yaml", enc, age_only) == expected
    assert sops_decrypt(tmp_path, "c.yaml", enc, pgp_only, "--decryption-order", "pgp,age") == expected
    assert our_decrypt(enc, get_store("yaml"), pgp_only) == expected


def test_mixed_group_sops_to_ours(gpg: Gpg, tmp_path: Path) -> None:
    empty = gpg_home(tmp_path / "empty")
    gpg.homes.append(empty)
    pgp_only = env_for(tmp_path, gpg.home)
    age_only = env_for(tmp_path, empty, age=True)
    enc = sops_encrypt(tmp_path, "m.yaml", PLAIN_YAML, pgp_only, "--age", AGE_RECIPIENT, "--pgp", gpg.fp)
    expected = sops_decrypt(tmp_path, "d.yaml", enc, pgp_only)
    store = get_store("yaml")
    assert our_decrypt(enc, store, pgp_only) == expected
    assert our_decrypt(enc, store, pgp_only, ["pgp", "age"]) == expected
    assert our_decrypt(enc, store, age_only) == expected


def test_shamir_age_and_pgp_groups_both_ways(gpg: Gpg, tmp_path: Path) -> None:
    both = env_for(tmp_path, gpg.home, age=True)
    pgp_only = env_for(tmp_path, gpg.home)
    store = get_store("yaml")
    ours = our_encrypt(PLAIN_YAML, "yaml", [[age_entry()], [pgp_entry(gpg.fp)]], both, threshold=2)
    assert b"shamir_threshold: 2" in ours and b"key_groups:" in ours
    expected = sops_decrypt(tmp_path, "s1.yaml", ours, both)
    assert our_decrypt(ours, store, both) == expected
    # one part is not enough, in either implementation
    lacking = tmp_path / "s2.yaml"
    lacking.write_bytes(ours)
    assert run_sops(["decrypt", lacking], env=pgp_only, cwd=tmp_path).returncode == 128
    with pytest.raises(CouldNotRetrieveKey):
        our_decrypt(ours, store, pgp_only)

    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - shamir_threshold: 2\n"
        "    key_groups:\n"
        f"      - age: ['{AGE_RECIPIENT}']\n"
        f"      - pgp: ['{gpg.fp}']\n")
    theirs = sops_encrypt(tmp_path, "s3.yaml", PLAIN_YAML, both)
    assert b"shamir_threshold: 2" in theirs
    assert our_decrypt(theirs, store, both) == sops_decrypt(tmp_path, "s4.yaml", theirs, both)


# ------------------------------------------------------------------ (4) failures


def no_secret_key_reports(gpg: Gpg, tmp_path: Path) -> tuple[str, str]:
    """(ours, sops') exit-128 reports for a file wrapped for ``gpg.fp`` opened without its secret key."""
    enc = our_encrypt(PLAIN_YAML, "yaml", [[pgp_entry(gpg.fp)]], env_for(tmp_path, gpg.home))
    # `other_home` holds fp's public key only: gpg's stderr is the same on every run
    env = env_for(tmp_path, gpg.other_home)
    path = tmp_path / "n.yaml"
    path.write_bytes(enc)
    proc = run_sops(["decrypt", path], env=env, cwd=tmp_path)
    assert proc.returncode == 128
    with pytest.raises(CouldNotRetrieveKey) as e:
        our_decrypt(enc, get_store("yaml"), env)
    assert e.value.exit_code == proc.returncode
    return str(e.value) + "\n", proc.stderr.decode()


def test_no_secret_key_report_matches_sops_exactly(gpg: Gpg, tmp_path: Path) -> None:
    ours, theirs = no_secret_key_reports(gpg, tmp_path)
    assert f"\n  {gpg.fp}: FAILED\n" in ours
    assert "gpg: decryption failed: No secret key" in ours
    assert ours == theirs  # gpg's indented user ID line keeps its indentation, as go-wordwrap does


def test_no_public_key_message_matches_sops(gpg: Gpg, tmp_path: Path) -> None:
    env = env_for(tmp_path, gpg.home)  # has no public key for other_fp
    path = tmp_path / "p.yaml"
    path.write_bytes(PLAIN_YAML)
    proc = run_sops(["encrypt", "--pgp", gpg.other_fp, path], env=env, cwd=tmp_path)
    with pytest.raises(SopsError) as e:
        our_encrypt(PLAIN_YAML, "yaml", [[pgp_entry(gpg.other_fp)]], env)
    assert e.value.exit_code == proc.returncode == 1
    assert (str(e.value) + "\n").encode() == proc.stderr


def test_missing_gpg_message(gpg: Gpg, tmp_path: Path) -> None:
    enc = our_encrypt(PLAIN_YAML, "yaml", [[pgp_entry(gpg.fp)]], env_for(tmp_path, gpg.home))
    env = env_for(tmp_path, gpg.home) | {"SOPS_GPG_EXEC": str(tmp_path / "nonexistent-gpg")}
    path = tmp_path / "g.yaml"
    path.write_bytes(enc)
    proc = run_sops(["decrypt", path], env=env, cwd=tmp_path)
    with pytest.raises(CouldNotRetrieveKey) as e:
        our_decrypt(enc, get_store("yaml"), env)
    assert e.value.exit_code == proc.returncode == 128
    # sops says nothing after "data key with pgp:"; sops-py adds why gpg did not run
    theirs = proc.stderr.decode()
    head = theirs.split("data key with pgp:")[0]
    assert str(e.value).startswith(head)
    assert "no such file or directory" in str(e.value).replace("\n      | ", " ")
    assert os.path.basename(env["SOPS_GPG_EXEC"]) in str(e.value).replace("\n      | ", "")
