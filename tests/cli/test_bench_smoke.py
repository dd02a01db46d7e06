"""The benchmark script runs (a smoke test: benchmarks are measured by bench/run.py, never asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT


def test_bench_quick_runs_and_checks_fidelity() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--env", "current"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ")]
    names = {row.split(" | ")[0].lstrip("| ") for row in rows}
    assert {"small YAML", "large YAML", "huge YAML", "large JSON", "large dotenv", "binary"} <= names
    assert any("k8s Secrets into a directory: one sops-py batch" in row for row in rows)


@pytest.mark.slow
def test_kms_bench_quick_runs() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "kms.py"), "--quick"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "sops-py decrypt 10 files, one batch" in r.stdout
    assert "batch speed-up over one sops process per file" in r.stdout
