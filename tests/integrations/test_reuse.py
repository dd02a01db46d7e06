"""`encrypt --reuse` / `encrypt(reuse=)`: minimal-churn re-encryption keeps the ciphertext of every
unchanged value, recomputes a MAC the real sops accepts, and is byte-identical when nothing changed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sops_py
from sops_py.errors import CouldNotRetrieveKey, MacMismatch
from tests.helpers import AGE2_KEY_FILE, AGE_KEY_FILE, AGE_RECIPIENT, ROOT

SOPS = shutil.which("sops")
KEYS = sops_py.Keys(age_key_file=AGE_KEY_FILE, environ={})


def sops_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env


def real_sops_decrypt(data: bytes, fmt: str, tmp: Path) -> bytes:
    assert SOPS is not None
    path = tmp / f"f.{fmt}"
    path.write_bytes(data)
    proc = subprocess.run([SOPS, "decrypt", str(path)], capture_output=True, env=sops_env(), check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def tokens(data: bytes) -> dict[tuple[Any, ...], Any]:
    """Every leaf of an encrypted JSON file by path (the ciphertext strings), metadata left out."""
    out: dict[tuple[Any, ...], Any] = {}

    def walk(v: Any, path: tuple[Any, ...]) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, (*path, k))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, (*path, i))
        else:
            out[path] = v

    doc = json.loads(data)
    doc.pop("sops")
    walk(doc, ())
    return out


keys_st = st.text("abcdefgh", min_size=1, max_size=4)
leaf_st = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
                    st.integers(-10**6, 10**6), st.booleans())
tree_st = st.recursive(leaf_st, lambda inner: st.one_of(st.dictionaries(keys_st, inner, min_size=1, max_size=4),
                                                         st.lists(inner, min_size=1, max_size=3)), max_leaves=12)
doc_st = st.dictionaries(keys_st, tree_st, min_size=1, max_size=5)


def leaf_paths(v: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(v, dict):
        return [p for k, x in v.items() for p in leaf_paths(x, (*path, k))]
    if isinstance(v, list):
        return [p for i, x in enumerate(v) for p in leaf_paths(x, (*path, i))]
    return [path]


def edited(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return value + "!"


def set_path(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def get_path(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc_st, st.data())
def test_only_edited_values_change(tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any],
                                   data: st.DataObject) -> None:
    before = sops_py.encrypt(json.dumps(doc), "json", age=[AGE_RECIPIENT], config=False)
    paths = leaf_paths(doc)
    chosen = data.draw(st.lists(st.sampled_from(paths), unique=True, max_size=len(paths)))
    new = json.loads(json.dumps(doc))
    for p in chosen:
        set_path(new, p, edited(get_path(doc, p)))
    added = data.draw(st.booleans())
    if added:
        new["zzzz-added"] = "fresh"
    after = sops_py.encrypt(json.dumps(new), "json", reuse=before, keys=KEYS, config=False)
    old_t, new_t = tokens(before), tokens(after)
    # exactly the edited values changed, equal values under one AAD (list items) included
    for p in paths:
        if p in chosen:
            assert old_t[p] != new_t[p], p
        else:
            assert old_t[p] == new_t[p], p
    assert set(new_t) - set(old_t) == ({("zzzz-added",)} if added else set())
    assert sops_py.load(after, "json", keys=KEYS) == new
    if not chosen and not added:
        assert after == before  # nothing changed: the same file, lastmodified and MAC included
    if SOPS is not None and data.draw(st.integers(0, 3)) == 0:  # the real sops on a quarter of the examples
        assert json.loads(real_sops_decrypt(after, "json", tmp_path_factory.mktemp("sops"))) == new


@pytest.mark.skipif(SOPS is None, reason="the real sops binary is installed by .ci/run")
def test_cli_reuse_yaml_with_comments_and_real_sops(tmp_path: Path) -> None:
    env = {**sops_env(), "PYTHONPATH": str(ROOT)}
    plain = tmp_path / "s.yaml"
    plain.write_text("# top\na: 1 # one\nb:\n  c: two\n  d: [x, y]\n")
    first = subprocess.run([SOPS, "encrypt", "--age", AGE_RECIPIENT, str(plain)], capture_output=True, env=env,
                           check=True).stdout
    enc = tmp_path / "s.enc.yaml"
    enc.write_bytes(first)
    plain.write_text("# top\na: 1 # one\nb:\n  c: three\n  d: [x, y]\n")
    proc = subprocess.run([sys.executable, "-m", "sops_py", "encrypt", "--reuse", str(enc), str(plain)],
                          capture_output=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    # a file the real sops wrote (3.11 lays out comments and metadata slightly differently, so compare the
    # value tokens): every token but c's and the MAC's is kept
    def enc_tokens(data: bytes) -> set[str]:
        return set(re.findall(r"ENC\[AES256_GCM,[^\]]*\]", data.decode()))

    assert len(enc_tokens(first) - enc_tokens(proc.stdout)) == 2
    assert len(enc_tokens(first)) == len(enc_tokens(proc.stdout)) == 7  # 2 comments, a, c, x, y, MAC
    ours = proc.stdout
    (tmp_path / "ours.enc.yaml").write_bytes(ours)
    plain.write_text("# top\na: 1 # one\nb:\n  c: three\n  d: [x, z]\n")
    again = subprocess.run([sys.executable, "-m", "sops_py", "encrypt", "--reuse", str(tmp_path / "ours.enc.yaml"),
                            str(plain)], capture_output=True, env=env, check=True).stdout
    changed = [a for a, b in zip(ours.decode().splitlines(), again.decode().splitlines(), strict=True) if a != b]
    rest = [line for line in changed[1:] if "lastmodified" not in line]  # the same second: unchanged
    assert changed[0].startswith("        - ENC[") and len(rest) == 1 and "mac: ENC[" in rest[0], changed
    assert yaml.safe_load(real_sops_decrypt(again, "yaml", tmp_path)) == yaml.safe_load(plain.read_text())


def test_reuse_refuses_bad_inputs(tmp_path: Path) -> None:
    before = sops_py.encrypt("a: 1\n", "yaml", age=[AGE_RECIPIENT], config=False)
    with pytest.raises(ValueError, match="do not also give age"):
        sops_py.encrypt("a: 2\n", "yaml", reuse=before, age=[AGE_RECIPIENT], config=False)
    tampered = before.replace(b"a: ENC[", b"b_unencrypted: x\na: ENC[")
    with pytest.raises(MacMismatch):
        sops_py.encrypt("a: 2\n", "yaml", reuse=tampered, keys=KEYS, config=False)
    with pytest.raises(CouldNotRetrieveKey):
        sops_py.encrypt("a: 2\n", "yaml", reuse=before, keys=sops_py.Keys(age_key_file=AGE2_KEY_FILE, environ={}),
                        config=False)
    enc = tmp_path / "s.enc.yaml"
    enc.write_bytes(before)
    plain = tmp_path / "s.yaml"
    plain.write_text("a: 1\n")
    assert sops_py.encrypt_file(plain, reuse=enc, keys=KEYS, config=False) == before
    env = {**sops_env(), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sops_py", "encrypt", "--reuse", str(enc), "--in-place",
                           str(plain), str(tmp_path / "other.yaml")], capture_output=True, env=env, check=False,
                          cwd=tmp_path)
    assert proc.returncode == 8 and b"--reuse takes one file" in proc.stderr


def test_equal_values_under_one_aad_keep_their_ciphertext(tmp_path: Path) -> None:
    """sops' IV stash is keyed by type, plaintext and AAD (list indices left out): two equal items of a
    list, the same key in two list items or two YAML documents, two equal comments of one mapping all
    share one entry. --reuse keeps each one's token by its position, so an unchanged file stays the
    same file and an edit changes only the edited item."""
    plain = ("# same\n# same\nl: [a, a, b]\nm:\n  - x: 1\n  - x: 1\nk: v\n"
             "---\nl: [a, a]\n")
    before = sops_py.encrypt(plain, "yaml", age=[AGE_RECIPIENT], config=False)
    assert sops_py.encrypt(plain, "yaml", reuse=before, keys=KEYS, config=False) == before
    edited_plain = plain.replace("l: [a, a, b]", "l: [a, a, c]").replace("  - x: 1\nk", "  - x: 2\nk")
    after = sops_py.encrypt(edited_plain, "yaml", reuse=before, keys=KEYS, config=False)
    changed = [(a, b) for a, b in zip(before.decode().splitlines(), after.decode().splitlines(), strict=True)
               if a != b]
    # the third item of l and the second x; then the MAC (and maybe lastmodified) in each document's
    # copy of the metadata
    rest = [a for a, _ in changed if "lastmodified" not in a and "mac: ENC[" not in a]
    assert len(rest) == 2 and len(changed) - len(rest) in (2, 4), changed
    assert rest[0].lstrip().startswith("- ENC[") and "x: ENC[" in rest[1]
    if SOPS is not None:
        docs = list(yaml.safe_load_all(real_sops_decrypt(after, "yaml", tmp_path)))
        assert docs == list(yaml.safe_load_all(edited_plain))
