"""Test helpers shared by every suite: fixture paths and a reference decryptor that uses pyrage
directly (independent of sops_py.keys), so core tests do not depend on the key layer."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyrage
from pyrage import x25519

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
AGE_KEY_FILE = TESTDATA / "keys" / "age.txt"
AGE_RECIPIENT = (TESTDATA / "keys" / "age.pub").read_text().strip()
AGE2_KEY_FILE = TESTDATA / "keys" / "age2.txt"
AGE2_RECIPIENT = (TESTDATA / "keys" / "age2.pub").read_text().strip()


def identity(path: Path = AGE_KEY_FILE) -> Any:
    return x25519.Identity.from_str(path.read_text().strip())


def unwrap_age(enc: str, path: Path = AGE_KEY_FILE) -> bytes:
    lines = enc.strip().splitlines()
    assert lines[0] == "-----BEGIN AGE ENCRYPTED FILE-----"
    return pyrage.decrypt(base64.b64decode("".join(lines[1:-1])), [identity(path)])


def data_key_of(md: Any) -> bytes:
    """The data key of a single-group age file, unwrapped with the test key."""
    return unwrap_age(md.key_groups[0][0].enc)


# ------------------------------------------------------------------ GnuPG homes for the PGP tests

GPG = shutil.which("gpg")
GPGCONF = shutil.which("gpgconf")


def gpg_env(home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process' environment) without SOPS_* variables, with GNUPGHOME=home."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("SOPS_")}
    env["GNUPGHOME"] = str(home)
    return env


def gpg_run(home: Path, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``gpg --batch ARGS`` in ``home``; raises with gpg's stderr when it fails."""
    assert GPG is not None, "gpg is not installed (.ci/run installs gnupg)"
    proc = subprocess.run([GPG, "--batch", *args], input=input, capture_output=True, env=gpg_env(home),
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"gpg {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc


def gpg_home(path: Path) -> Path:
    """An empty GnuPG home (mode 0700, as gpg wants)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def gpg_gen_key(home: Path, uid: str) -> str:
    """Generate an unprotected ed25519 key with a cv25519 encryption subkey; returns its fingerprint."""
    gpg_run(home, "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never")
    fps = gpg_fingerprints(home, uid)
    assert len(fps) == 1, fps
    return fps[0]


def gpg_fingerprints(home: Path, query: str | None = None) -> list[str]:
    """Primary-key fingerprints in the public keyring (of keys matching ``query``)."""
    out = gpg_run(home, "--with-colons", "--list-keys", *([query] if query else [])).stdout.decode()
    fps, want = [], False
    for line in out.splitlines():
        kind = line.split(":", 1)[0]
        if kind == "pub":
            want = True
        elif kind == "fpr" and want:
            fps.append(line.split(":")[9])
            want = False
        elif kind == "sub":
            want = False
    return fps


def gpg_copy_public(src: Path, fingerprint: str, dst: Path) -> None:
    """Import the public part of ``fingerprint`` from ``src`` into ``dst`` (no secret key)."""
    exported = gpg_run(src, "--armor", "--export", fingerprint).stdout
    gpg_run(dst, "--import", input=exported)


def gpg_kill_agent(home: Path) -> None:
    """Stop the gpg-agent a test run started in ``home`` (gpgconf --kill gpg-agent)."""
    if GPGCONF is not None and home.exists():
        subprocess.run([GPGCONF, "--kill", "gpg-agent"], env=gpg_env(home), capture_output=True,
                       timeout=30, check=False)


def any_data_key_of(md: Any) -> bytes:
    """The data key of an age-only file with one or more key groups (Shamir), each group unwrapped with
    whichever test key (age.txt, then age2.txt) opens one of its keys."""
    from sops_py import shamir

    shares: list[bytes] = []
    for group in md.key_groups:
        for key in group:
            if key.type != "age":
                continue
            for path in (AGE_KEY_FILE, AGE2_KEY_FILE):
                try:
                    shares.append(unwrap_age(key.enc, path))
                    break
                except Exception:  # wrong identity for this stanza
                    continue
            else:
                continue
            break
    if len(md.key_groups) == 1:
        return shares[0]
    return shamir.combine(shares[: md.shamir_threshold or len(shares)])
