"""Test helpers shared by every suite: fixture paths and a reference decryptor that uses pyrage
directly (independent of sops_py.keys), so core tests do not depend on the key layer."""

from __future__ import annotations

import base64
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
