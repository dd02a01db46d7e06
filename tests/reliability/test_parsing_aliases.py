"""Issue 16, defect 1: YAML alias bombs. yaml.v3 (decode.go) refuses a document whose decoding
comes mostly from alias expansion ("document contains excessive aliasing"); sops hits that limit in
its pre-pass over the first document. sops-py counts decodes the same way, on both loader paths
(libyaml events and the comment-preserving port), in every document, and before anything is copied.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sops_py
from sops_py.errors import CouldNotReadInputFile
from sops_py.stores import get_store
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT
from tests.interop.sops_helpers import SOPS, requires_sops

MESSAGE = "yaml: document contains excessive aliasing"


def bomb(levels: int = 9, width: int = 9, comment: bool = False) -> bytes:
    """The classic "billion laughs": each anchor aliases the previous one ``width`` times."""
    lines = ["a: &a [" + ",".join(['"lol"'] * width) + "]"]
    prev = "a"
    for i in range(1, levels):
        name = f"l{i}"
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * width) + "]")
        prev = name
    text = "\n".join(lines) + "\n"
    return (("# a comment\n" + text) if comment else text).encode()


def near(width: int, copies: int, pad: int, comment: bool = False, merge: bool = False) -> bytes:
    """A document close to the limit: one anchored list, ``copies`` aliases of it, ``pad`` plain values."""
    out = ["base: &b [" + ",".join(str(i) for i in range(width)) + "]"]
    if merge:
        out.append("m: &m {" + ",".join(f"k{i}: {i}" for i in range(width)) + "}")
        out.append("merged: [" + ",".join(["{<<: *m, k0: x}"] * copies) + "]")
    else:
        out.append("copies: [" + ",".join(["*b"] * copies) + "]")
    out.append("pad: [" + ",".join(str(i) for i in range(pad)) + "]")
    text = "\n".join(out) + "\n"
    return (("pre: 1 # c\n" + text) if comment else text).encode()


def run_cli(tool: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    env["PYTHONPATH"] = str(ROOT)
    argv = [SOPS or "sops", *args] if tool == "sops" else [sys.executable, "-m", "sops_py", *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=60, check=False)


@pytest.mark.parametrize("comment", [False, True], ids=["events", "port"])
def test_bomb_refused_fast_by_the_store(comment: bool) -> None:
    store = get_store("yaml")
    start = time.perf_counter()
    with pytest.raises(CouldNotReadInputFile) as info:
        store.load_plain(bomb(comment=comment))
    assert str(info.value) == MESSAGE
    assert info.value.exit_code == 2
    assert time.perf_counter() - start < 1.0


def test_bomb_in_a_later_document_is_refused_too() -> None:
    # sops only checks the first document (its pre-pass) and then expands a later one without end
    with pytest.raises(CouldNotReadInputFile, match=MESSAGE):
        get_store("yaml").load_plain(b"x: 1\n---\n" + bomb())
    with pytest.raises(CouldNotReadInputFile, match=MESSAGE):
        get_store("yaml").load_plain(b"x: 1 # c\n---\n" + bomb())


def test_bomb_refused_through_the_library() -> None:
    with pytest.raises(sops_py.SopsError, match=MESSAGE):
        sops_py.encrypt(bomb(), "yaml", age=[AGE_RECIPIENT])
    enc = (ROOT / "testdata" / "sops" / "basic.enc.yaml").read_bytes()
    with pytest.raises(sops_py.SopsError, match=MESSAGE):
        sops_py.decrypt(enc + bomb(), "yaml")
    with pytest.raises(sops_py.SopsError, match=MESSAGE):
        sops_py.load(enc + bomb(), "yaml")


@pytest.mark.parametrize("command", [
    ["encrypt", "--age", AGE_RECIPIENT, "bomb.yaml"],
    ["decrypt", "enc.yaml"],
    ["filestatus", "enc.yaml"],
    ["set", "enc.yaml", '["x"]', "1"],
    ["rotate", "enc.yaml"],
])
def test_bomb_refused_by_every_command(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "bomb.yaml").write_bytes(bomb())
    (tmp_path / "enc.yaml").write_bytes((ROOT / "testdata" / "sops" / "basic.enc.yaml").read_bytes() + bomb())
    start = time.perf_counter()
    proc = run_cli("sops-py", command, tmp_path)
    assert time.perf_counter() - start < 10
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert MESSAGE in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@requires_sops
def test_bomb_matches_sops_message_and_exit_code(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_bytes(bomb())
    ours = run_cli("sops-py", ["encrypt", "--age", AGE_RECIPIENT, "bomb.yaml"], tmp_path)
    theirs = run_cli("sops", ["encrypt", "--age", AGE_RECIPIENT, "bomb.yaml"], tmp_path)
    assert theirs.returncode == ours.returncode == 2
    assert ours.stderr == theirs.stderr == f"Error unmarshalling file: {MESSAGE}\n".encode()


CASES = [
    # (width, copies, pad): straddling 99% below 400,000 decodes, and the first 1,000 / 100 rules
    (10, 9, 0), (10, 11, 0), (50, 19, 0), (50, 21, 0), (100, 9, 0), (100, 10, 0), (100, 11, 0),
    (1000, 99, 0), (1000, 101, 0), (1000, 120, 10), (1000, 120, 20), (1000, 200, 10), (1000, 200, 40),
    (2, 600, 0), (3, 400, 0), (5, 200, 0),
]


@requires_sops
@pytest.mark.parametrize("comment", [False, True], ids=["events", "port"])
@pytest.mark.parametrize("merge", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["lists", "merges"])
def test_same_verdict_as_sops_near_the_limit(tmp_path: Path, comment: bool, merge: bool) -> None:
    store = get_store("yaml")
    differences = []
    for width, copies, pad in CASES:
        data = near(width, copies, pad, comment, merge)
        (tmp_path / "in.yaml").write_bytes(data)
        # a regex that matches no key: sops loads everything but encrypts nothing (fast)
        theirs = run_cli("sops", ["encrypt", "--age", AGE_RECIPIENT, "--encrypted-regex", "^$x", "in.yaml"],
                         tmp_path)
        sops_refuses = MESSAGE.encode() in theirs.stderr
        assert theirs.returncode == (2 if sops_refuses else 0), theirs.stderr
        try:
            store.load_plain(data)
            we_refuse = False
        except CouldNotReadInputFile as e:
            assert str(e) == MESSAGE
            we_refuse = True
        if we_refuse != sops_refuses:
            differences.append((width, copies, pad, sops_refuses))
    assert differences == []


def test_big_documents_without_aliases_are_not_limited() -> None:
    data = ("a: &a 1\nb: *a\nlist:\n" + "".join(f"- {i}\n" for i in range(5000))).encode()
    assert len(get_store("yaml").load_plain(data)[0]) == 3
