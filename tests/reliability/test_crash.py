"""Crash safety: SIGKILL at random moments (a fixed seed) during `encrypt -i`, `decrypt -i`, `rotate -i`,
`set` and `edit` of 20 MB files. After every kill the file is complete, either the old bytes exactly or
a complete new file (the expected plaintext exactly, or a sops file that decrypts to it with its MAC
checked), and no copy of the plaintext is left: nothing beside the file once the next run in that
directory has cleaned up, and no edit directory once the next edit has.

Half the kill times are spread over the whole run, half over its last 30 % (where the output is
written); each run's length is measured first, and only kills that land while the process still runs
count. The slow test makes 55 kills; the quick one 10, on 2 MB files.
"""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sops_py import api
from sops_py.ops import inplace, leftovers
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT

SEED = 16
EDITOR = """\
import sys
path = sys.argv[-1]
data = open(path, "rb").read()
open(path, "wb").write(data.replace(b"k0: ", b"k0: edited", 1))
"""


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(AGE_KEY_FILE))  # for checking files in this process


def _plain(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines, total, i = [], 0, 0
    while total < size:
        line = b"k%d: %s\n" % (i, base64.b64encode(rng.randbytes(75_000)))
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)


def _env(tmp: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    editor = tmp / "editor.py"
    editor.write_text(EDITOR)
    (tmp / "edit-tmp").mkdir(exist_ok=True)
    e.update(HOME=str(tmp), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE), EDITOR=f"{sys.executable} {editor}",
             TMPDIR=str(tmp / "edit-tmp"), PYTHONPATH=str(ROOT))
    return e


def _argv(op: str, f: Path) -> list[str]:
    return {
        "encrypt -i": ["encrypt", "-i", "--age", AGE_RECIPIENT, str(f)],
        "decrypt -i": ["decrypt", "-i", str(f)],
        "rotate -i": ["rotate", "-i", str(f)],
        "set": ["set", str(f), '["k1"]', '"a new value"'],
        "edit": ["edit", str(f)],
    }[op]


def _expected_plain(op: str, plain: bytes) -> bytes:
    if op == "set":
        return plain.replace(plain.split(b"\n")[1], b'k1: a new value', 1)
    if op == "edit":
        return plain.replace(b"k0: ", b"k0: edited", 1)
    return plain


def _start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "bin" / "sops-py"), *argv], env=env, cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _is_complete_new(op: str, data: bytes, plain: bytes) -> bool:
    if op == "decrypt -i":
        return data == plain
    return api.decrypt(data, "yaml") == _expected_plain(op, plain)


def _crash_trials(tmp: Path, op: str, old: bytes, plain: bytes, kills: int, rng: random.Random,
                  check: Callable[[str], None]) -> tuple[int, int, int]:
    """Run ``op`` ``kills`` times with a SIGKILL each; return (kills that landed, new files, leftovers seen)."""
    env = _env(tmp)
    d = tmp / "work"
    d.mkdir(exist_ok=True)
    f = d / "big.yaml"
    f.write_bytes(old)
    started = time.monotonic()
    r = _start(_argv(op, f), env, d)
    _, err = r.communicate(timeout=300)
    duration = time.monotonic() - started
    assert r.returncode == 0, err
    assert _is_complete_new(op, f.read_bytes(), plain)
    landed = new = leftovers = attempts = 0
    while landed < kills and attempts < 3 * kills:
        f.write_bytes(old)
        frac = rng.uniform(0.05, 1.0) if attempts % 2 == 0 else rng.uniform(0.7, 1.0)
        attempts += 1
        started = time.monotonic()
        proc = _start(_argv(op, f), env, d)
        time.sleep(duration * frac)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        else:
            duration = min(duration, time.monotonic() - started)  # a faster run than measured: aim earlier
        proc.communicate(timeout=300)
        data = f.read_bytes()
        if data != old:
            assert _is_complete_new(op, data, plain), f"{op}: attempt {attempts} left a damaged file"
            new += 1
        seen = [p for p in d.iterdir() if p.name.startswith(inplace.PREFIX)]
        leftovers += len(seen)
        check(op)
    return landed, new, leftovers


def _no_plaintext_left(tmp: Path) -> Callable[[str], None]:
    """After the next run in the directory (here: its cleanup, as the next write would do it), nothing is
    left beside the file; after the next edit, no edit directory."""

    def check(op: str) -> None:
        d = tmp / "work"
        leftovers._swept.discard(str(d))
        leftovers.sweep(str(d))
        assert [p.name for p in d.iterdir() if p.name != "big.yaml"] == []
        from sops_py.ops.edit import _sweep_edit_dirs

        _sweep_edit_dirs(str(tmp / "edit-tmp"))
        assert list((tmp / "edit-tmp").iterdir()) == []

    return check


def _run_suite(tmp_path: Path, size: int, kills_per_op: int) -> dict[str, tuple[int, int, int]]:
    plain = _plain(size, SEED)
    encrypted = api.encrypt(plain, "yaml", age=AGE_RECIPIENT)
    rng = random.Random(SEED)
    results = {}
    for op in ("encrypt -i", "decrypt -i", "rotate -i", "set", "edit"):
        old = plain if op == "encrypt -i" else encrypted
        tmp = tmp_path / op.replace(" ", "")
        tmp.mkdir()
        results[op] = _crash_trials(tmp, op, old, plain, kills_per_op, rng, _no_plaintext_left(tmp))
    return results


@pytest.mark.slow
def test_sigkill_at_random_moments_on_20_mb_files(tmp_path: Path) -> None:
    results = _run_suite(tmp_path, 20_000_000, 11)
    print("kills landed, new files, leftovers seen before cleanup:", results)
    landed = sum(r[0] for r in results.values())
    assert landed >= 50, results
    # the late kills must also have caught some runs after their file was replaced, or the test proves little
    assert sum(r[1] for r in results.values()) >= 1, results


def test_sigkill_quick(tmp_path: Path) -> None:
    results = _run_suite(tmp_path, 2_000_000, 2)
    assert sum(r[0] for r in results.values()) >= 5, results


def test_sigkill_during_an_in_place_rewrite_is_finished_by_the_next_run(tmp_path: Path) -> None:
    """A hard-linked file is rewritten in place: a kill in the middle leaves a journal, and the next run in
    the directory completes the file (both names) from it."""
    d = tmp_path / "d"
    d.mkdir()
    f = d / "linked.yaml"
    old = _plain(3_000_000, 1)
    f.write_bytes(old)
    os.link(f, d / "twin.yaml")
    code = (
        "import os, signal, sys\n"
        "from sops_py.ops import files, inplace\n"
        "real = os.pwrite\n"
        "def pwrite(fd, data, offset):\n"
        "    n = real(fd, bytes(data)[:1_000_000], offset)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return n\n"
        "os.pwrite = pwrite\n"
        f"files.write_atomic({str(f)!r}, open({str(f)!r}, 'rb').read().upper())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=120, check=False)
    assert r.returncode == -signal.SIGKILL, r.stderr
    damaged = f.read_bytes()
    assert damaged != old and damaged != old.upper()  # half-written, as any in-place write would be
    journals = [p for p in d.iterdir() if p.name.endswith(inplace.JOURNAL_SUFFIX)]
    assert len(journals) == 1
    leftovers._swept.discard(str(d))
    api_write = subprocess.run([sys.executable, "-c", "from sops_py.ops import files; "
                                f"files.write_atomic({str(d / 'other.yaml')!r}, b'x')"], cwd=ROOT, timeout=120,
                               check=False)
    assert api_write.returncode == 0
    assert f.read_bytes() == old.upper() and (d / "twin.yaml").read_bytes() == old.upper()
    assert sorted(p.name for p in d.iterdir()) == ["linked.yaml", "other.yaml", "twin.yaml"]
