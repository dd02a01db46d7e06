"""YAML inline comments between sops-py (writing as sops 3.13) and the reference sops (3.11 snapshot).

The reference binary cannot show 3.13's inline layout (tests/unit/test_sops313_yaml_comments.py
derives those bytes from the 3.13.2 source); here it proves the files move both ways: a file whose
encrypted comments sit on their values' lines decrypts with the reference, MAC verified, to what
sops-py prints, and files the reference wrote (comments moved above) read, change and write back.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli.cli_harness import run_py
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import requires_sops, run_sops

pytestmark = [pytest.mark.interop, requires_sops]

TEXT = ("# heading\nkey1: value1 # inline comment\nkey2: value2\n# head comment\nkey3: value3 # another inline\n"
        "items:\n    - value1 # inline on list item\n    - value2\nparent:\n    child1: 1 # nested inline\n"
        "    child2: |- # block\n        two\n        lines\n")
# what both decrypt the encrypted inline comments to: above their key (sops 3.13.2's cipher drops
# the Inline flag; the 3.11 reference never had it). In a list an encrypted comment is an item.
MOVED = ("# heading\n# inline comment\nkey1: value1\nkey2: value2\n# head comment\n# another inline\nkey3: value3\n"
         "items:\n    # inline on list item\n    - value1\n    - value2\nparent:\n    # nested inline\n    child1: 1\n"
         "    # block\n    child2: |-\n        two\n        lines\n")
INLINE_ENC = re.compile(r"^\s*\S+: (ENC\[[^\]]*\]|\|-) #ENC\[AES256_GCM,[^\]]*,type:comment\]$", re.M)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    e["HOME"] = str(tmp_path / "home")
    e["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return e


def test_sops_py_inline_layout_decrypts_with_sops(env: dict[str, str], tmp_path: Path) -> None:
    plain = tmp_path / "p.yaml"
    plain.write_text(TEXT)
    enc = run_py(["encrypt", "--age", AGE_RECIPIENT, plain], env, cwd=tmp_path)
    assert enc.code == 0, enc.err
    assert len(INLINE_ENC.findall(enc.out)) == 4  # key1, key3, child1, child2 (after the block header)
    f = tmp_path / "e.yaml"
    f.write_text(enc.out)
    theirs = run_sops(["decrypt", f], env=env, cwd=tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout.decode() == MOVED
    ours = run_py(["decrypt", f], env, cwd=tmp_path)
    assert (ours.code, ours.out) == (0, MOVED)


def test_sops_files_read_and_change_the_same(env: dict[str, str], tmp_path: Path) -> None:
    plain = tmp_path / "p.yaml"
    plain.write_text(TEXT)
    enc = run_sops(["encrypt", "--age", AGE_RECIPIENT, plain], env=env, cwd=tmp_path)
    assert enc.returncode == 0, enc.stderr
    assert not INLINE_ENC.search(enc.stdout.decode())  # the reference moved every comment
    f = tmp_path / "e.yaml"
    f.write_bytes(enc.stdout)
    ours = run_py(["decrypt", f], env, cwd=tmp_path)
    assert (ours.code, ours.out) == (0, MOVED)
    # sops-py changes one value; the reference reads the result, and so do we
    res = run_py(["set", f, '["key2"]', '"changed"'], env, cwd=tmp_path)
    assert res.code == 0, res.err
    expected = MOVED.replace("key2: value2", "key2: changed")
    theirs = run_sops(["decrypt", f], env=env, cwd=tmp_path)
    assert (theirs.returncode, theirs.stdout.decode()) == (0, expected), theirs.stderr
    assert run_py(["decrypt", f], env, cwd=tmp_path).out == expected


def test_clear_inline_comments(env: dict[str, str], tmp_path: Path) -> None:
    # comments left unencrypted keep their flag in sops 3.13 and stay inline through decrypt; the
    # reference reads the same file (MAC verified) and moves them, as 3.11 moved every comment
    text = "key1: value1 # clear\nsecret: s # on secret\n"
    plain = tmp_path / "p.yaml"
    plain.write_text(text)
    enc = run_py(["encrypt", "--age", AGE_RECIPIENT, "--encrypted-regex", "^secret$", plain], env, cwd=tmp_path)
    assert enc.code == 0, enc.err
    assert enc.out.startswith("key1: value1 # clear\nsecret: ENC[")
    f = tmp_path / "e.yaml"
    f.write_text(enc.out)
    assert run_py(["decrypt", f], env, cwd=tmp_path).out == text
    theirs = run_sops(["decrypt", f], env=env, cwd=tmp_path)
    assert (theirs.returncode, theirs.stdout) == (0, b"# clear\nkey1: value1\n# on secret\nsecret: s\n"), theirs.stderr
