"""Batches big enough to be shared out over forked workers (sops_py.ops.parallel) give the same
files and the same failures as one file at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sops_py.errors import SopsError
from sops_py.ops import parallel
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import run_sops

N = 3 * parallel.MIN_FILES_PER_WORKER  # enough for two workers on any machine with two cores


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(HOME=str(tmp), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE))
    return env


def _sops_py(args: list[str], tmp: Path) -> subprocess.CompletedProcess[bytes]:
    code = "import sys; from sops_py.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, env=_env(tmp), cwd=tmp,
                          timeout=120, check=False)


def _secrets(tmp: Path, n: int = N) -> list[Path]:
    plain = tmp / "plain"
    plain.mkdir()
    files = []
    for i in range(n):
        p = plain / f"s{i:03d}.yaml"
        p.write_text(f"# secret {i}\napiVersion: v1\nkind: Secret\nstringData:\n    password: pw-{i}\n    num: {i}\n")
        files.append(p)
    return files


def test_parallel_batch_round_trips_every_file(tmp_path: Path) -> None:
    plain = _secrets(tmp_path)
    enc_dir, dec_dir = tmp_path / "enc", tmp_path / "dec"
    r = _sops_py(["encrypt", "--age", AGE_RECIPIENT, "--output-dir", str(enc_dir), *map(str, plain)], tmp_path)
    assert r.returncode == 0, r.stderr
    encrypted = sorted(enc_dir.iterdir())
    assert [p.name for p in encrypted] == [p.name for p in plain]
    r = _sops_py(["decrypt", "--output-dir", str(dec_dir), *map(str, encrypted)], tmp_path)
    assert r.returncode == 0, r.stderr
    for p in plain:
        assert (dec_dir / p.name).read_bytes() == p.read_bytes()
    # and the real sops reads what the workers encrypted, first and last slice alike
    for enc in (encrypted[0], encrypted[-1]):
        r = run_sops(["decrypt", str(enc)], env=_env(tmp_path))
        assert r.returncode == 0, r.stderr
        assert r.stdout == (tmp_path / "plain" / enc.name).read_bytes()


def test_parallel_batch_reports_the_earliest_failure(tmp_path: Path) -> None:
    plain = _secrets(tmp_path)
    enc_dir = tmp_path / "enc"
    assert _sops_py(["encrypt", "--age", AGE_RECIPIENT, "--output-dir", str(enc_dir), *map(str, plain)],
                    tmp_path).returncode == 0
    encrypted = sorted(enc_dir.iterdir())
    # two broken files in different workers' slices: the one earlier in argument order is reported
    for victim in (encrypted[-2], encrypted[N // 2]):
        text = victim.read_text()
        victim.write_text(text.replace("mac: ENC[AES256_GCM,data:", "mac: ENC[AES256_GCM,data:AAAA"))
    out = tmp_path / "out"
    r = _sops_py(["decrypt", "--output-dir", str(out), *map(str, encrypted)], tmp_path)
    one = _sops_py(["decrypt", str(encrypted[N // 2])], tmp_path)
    assert one.returncode != 0
    assert (r.returncode, r.stderr) == (one.returncode, one.stderr)
    assert (out / encrypted[0].name).exists()  # files before the failure were written


def test_work_is_shared_between_processes() -> None:
    items = [str(i) for i in range(N)]
    r, w = os.pipe()

    def job(item: str) -> None:
        os.write(w, f"{item}:{os.getpid()}\n".encode())

    parallel.run_each(items, job, 2)
    os.close(w)
    lines = parallel._read_all(r).decode().split()
    done = dict(line.split(":") for line in lines)
    assert sorted(done, key=int) == items  # every item ran once
    assert len(set(done.values())) == 2


def test_a_failure_in_a_worker_surfaces_with_its_exit_code() -> None:
    items = [str(i) for i in range(N)]

    def job(item: str) -> None:
        if item in ("40", "70"):
            raise SopsError(f"bad {item}", 42)

    with pytest.raises(SopsError) as e:
        parallel.run_each(items, job, 2)
    assert (e.value.message, e.value.exit_code) == ("bad 40", 42)


def test_small_batches_stay_in_one_process() -> None:
    assert parallel.worker_count(2 * parallel.MIN_FILES_PER_WORKER - 1) == 1
