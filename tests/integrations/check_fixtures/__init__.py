"""Fixture repositories for the ``sops-py check`` tests, built in temporary directories: a
``.sops.yaml`` with several rules, plaintext sources whose secret values all contain ``S3CRET`` (so a
test can assert that no output ever shows one), and encryption by the real ``sops`` or by sops-py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sops_py import Keys, api
from tests.helpers import AGE2_RECIPIENT, AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import run_sops

SECRET = "S3CRET"

K8S_SECRET = f"""apiVersion: v1
kind: Secret
metadata:
    name: db
    namespace: prod
type: Opaque
stringData:
    password: {SECRET}-k8s-pass
    user: {SECRET}-k8s-user
"""
PLAIN = {
    "secrets/app.yaml": f"# database settings\ndb:\n    user: {SECRET}-u\n    pass: {SECRET}-p\n    ports: [1, 2]\n"
                        f"token: {SECRET}-t\nempty: ''\nnothing: null\n",
    "secrets/app.yml": f"a: {SECRET}-a\nb:\n    - {SECRET}-b0\n    - {SECRET}-b1\n",
    "secrets/app.json": f'{{"a": "{SECRET}-a", "n": 5, "b": {{"c": ["{SECRET}-c0", true]}}}}\n',
    "secrets/app.env": f"# env comment\nDB_USER={SECRET}-u\nDB_PASS={SECRET}-p\n",
    "secrets/app.ini": f"[db]\nuser = {SECRET}-u\npass = {SECRET}-p\n\n[web]\nkey = {SECRET}-k\n",
    "secrets/blob.bin": f"\x00\x01binary {SECRET}-bin\n",
    "secrets/multi.yaml": f"a: {SECRET}-1\n---\nb: {SECRET}-2\nc:\n    d: {SECRET}-3\n",
    "suffix/config.yaml": f"host_public: example.org\nport_public: 5432\npassword: {SECRET}-suffix\n",
    "k8s/secret.yaml": K8S_SECRET,
}
# path_regex is an unanchored search on the path relative to this file's directory, first rule wins
SOPS_YAML = f"""creation_rules:
    - path_regex: k8s/.*\\.ya?ml$
      encrypted_regex: ^(data|stringData)$
      age: {AGE_RECIPIENT}
    - path_regex: suffix/
      unencrypted_suffix: _public
      age: {AGE_RECIPIENT}
    - path_regex: stale/
      age: {AGE_RECIPIENT},{AGE2_RECIPIENT}
    - path_regex: nokeys/
    - path_regex: secrets/
      age: {AGE_RECIPIENT}
"""


def keys() -> Keys:
    return Keys(age_key_file=AGE_KEY_FILE, environ={})


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def make_repo(root: Path, files: dict[str, str] | None = None, git: bool = True) -> Path:
    """A repository with .sops.yaml and ``files`` (default: every plaintext source), committed."""
    root.mkdir(parents=True, exist_ok=True)
    write(root, ".sops.yaml", SOPS_YAML)
    for rel, text in (PLAIN if files is None else files).items():
        write(root, rel, text)
    if git:
        git_init(root)
    return root


def git_init(root: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fixtures", "--no-verify"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def encrypt(root: Path, rel: str, by: str, *, fmt: str | None = None) -> Path:
    """Encrypt ``root/rel`` in place with the rule .sops.yaml gives it, by the real sops or by sops-py."""
    path = root / rel
    if by == "sops":
        args = ["encrypt", "-i"]
        if fmt:
            args += ["--input-type", fmt, "--output-type", fmt]
        proc = run_sops([*args, rel], cwd=root, env={"PATH": os.environ.get("PATH", ""), "HOME": str(root)})
        assert proc.returncode == 0, proc.stderr.decode()
    else:
        api.encrypt_file(path, in_place=True, keys=keys(), **({"format": fmt} if fmt else {}))
    return path
