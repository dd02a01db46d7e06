"""The YAML-loading oracle: the real sops builds its tree of an input, we read that tree back.

``sops encrypt`` loads the plaintext with go.yaml.in/yaml/v3 and its YAML store, encrypts every
value and comment (a comment with the path of the container sops put it in) and emits the result.
Decrypting that file with sops_py's walker gives back sops' tree of the input *after one trip
through sops' emitter and loader*. That trip is not always the identity: the emitter writes the
comments that open a mapping held in a list above its ``-`` (they read back as list items), drops
the comments of an empty flow collection, and so on. So the oracle is compared with our tree
after the same trip (``round_trip``: encrypt with our walker, emit with our emitter, load with our
loader, decrypt), which matches sops' trip byte for byte when our emitter and loader are exact.
(A comment that came back in another container would not decrypt: its AAD is its container's
path; a comment of a mapping inside a list and one of the list itself share that path.)

``normalise`` turns a tree into plain tuples so trees compare with ``==``; the ``inline`` flag of
comments is dropped (sops 3.11 loses it when it re-emits a line comment above its key).
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sops_py.cipher import Cipher
from sops_py.metadata import DEFAULT_UNENCRYPTED_SUFFIX
from sops_py.rules import Rule
from sops_py.stores import split_nested_metadata
from sops_py.stores.yaml_emit import emit_documents
from sops_py.stores.yaml_lines import load_yaml
from sops_py.tree import Branch, Comment, Time
from sops_py.walk import decrypt_tree, encrypt_tree
from tests.helpers import AGE_RECIPIENT, unwrap_age


@dataclass
class SopsResult:
    returncode: int
    stderr: str
    tree: list[Branch] | None  # sops' tree of the input (decrypted), when encryption succeeded
    encrypted: bytes


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    return env


def sops_encrypt(data: bytes, *extra: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``sops encrypt --age <test recipient>`` on ``data`` (in a scratch dir, no .sops.yaml)."""
    with tempfile.TemporaryDirectory(prefix="sops-oracle-") as d:
        tmp = Path(d)
        src = tmp / "in.yaml"
        src.write_bytes(data)
        (tmp / "home").mkdir()
        return subprocess.run(
            ["sops", "encrypt", "--age", AGE_RECIPIENT, *extra, str(src)],
            cwd=tmp, env=_env(tmp / "home"), capture_output=True, timeout=60,
        )


def decrypt_with_sops_py(encrypted: bytes) -> list[Branch]:
    """Decrypt a sops-encrypted YAML file with our walker (data key unwrapped with pyrage)."""
    branches, md = split_nested_metadata(load_yaml(encrypted))
    key = unwrap_age(md.key_groups[0][0].enc)
    cipher = Cipher(key)
    mac = decrypt_tree(branches, cipher, Rule.of(md), md.mac_only_encrypted)
    assert cipher.decrypt(md.mac, md.lastmodified_aad()) == mac, "MAC mismatch"
    return branches


def sops_tree(data: bytes) -> SopsResult:
    """sops' tree of the YAML ``data`` (None when ``sops encrypt`` fails)."""
    proc = sops_encrypt(data)
    if proc.returncode != 0:
        return SopsResult(proc.returncode, proc.stderr.decode("utf-8", "replace"), None, b"")
    return SopsResult(0, proc.stderr.decode("utf-8", "replace"), decrypt_with_sops_py(proc.stdout), proc.stdout)


def _as_sops_311(x: Any) -> Any:
    """A copy of a tree as sops 3.11 holds it before encryption: no inline flags; an empty comment
    in a list becomes an empty string once encrypted (walkSlice stores what encryption returns)."""
    if isinstance(x, Branch):
        return Branch([(Comment(k.value) if isinstance(k, Comment) else k, _as_sops_311(v)) for k, v in x])
    if isinstance(x, list):
        return ["" if isinstance(v, Comment) and not v.value else _as_sops_311(v) for v in x]
    if isinstance(x, Comment):
        return Comment(x.value)
    return x


def round_trip(docs: list[Branch]) -> list[Branch]:
    """What becomes of a tree through ``sops encrypt`` and a decryption: encrypted, emitted (indent
    4) with a ``sops`` key closing each document, loaded again and decrypted."""
    enc = [_as_sops_311(d) for d in docs]
    cipher = Cipher(os.urandom(32))
    rule = Rule("unencrypted_suffix", DEFAULT_UNENCRYPTED_SUFFIX)
    encrypt_tree(enc, cipher, rule, False)
    for d in enc:
        d.append(("sops", Branch([("version", "3.11.0")])))
    loaded = load_yaml(emit_documents(enc, 4).encode("utf-8", "surrogateescape"))
    loaded = [Branch([(k, v) for k, v in d if k != "sops"]) for d in loaded]
    decrypt_tree(loaded, cipher, rule, False)
    return loaded


def normalise(x: Any) -> Any:
    """A comparable form of a tree: containers as tuples, leaves tagged with their type."""
    if isinstance(x, Branch):
        return ("map", [(normalise(k), normalise(v)) for k, v in x])
    if isinstance(x, list):
        return [normalise(v) for v in x]
    if isinstance(x, Comment):
        if x.value.startswith("ENC[AES256_GCM,"):
            # sops' trip moved this comment out of the container it was encrypted for
            return ("#", "<undecryptable>")
        return ("#", x.value)
    if isinstance(x, Time):
        return ("time", x.text)
    if isinstance(x, float) and math.isnan(x):
        return ("float", "nan")
    return (type(x).__name__, x)


def normalise_docs(docs: list[Branch]) -> list[Any]:
    return [normalise(d) for d in docs]
