"""Benchmark ``sops-py check`` (keyless) on many files against the real sops' ``filestatus``, the only
keyless judgement sops has, run once per file as a hook script would.

    python bench/check.py              # 1,000 files, 3 rounds; filestatus timed on 100 files and scaled
    python bench/check.py --quick      # 100 files, 1 round: a smoke test

Rows: the check's work in this process (``run_check``: discovery by git, config and rule matching,
loading and judging every file); the same as one ``sops-py check`` process (start-up included); and
``sops filestatus`` per file. The files are small YAML documents (a Kubernetes Secret each, with
``encrypted_regex``) encrypted by sops-py for an age recipient, committed to a temporary git repo.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = """apiVersion: v1
kind: Secret
metadata:
    name: app-{i}
type: Opaque
stringData:
    username: user-{i}
    password: pass-{i}
    token: tok-{i}
"""


def build(root: Path, count: int) -> list[str]:
    from sops_py import api

    recipient = (ROOT / "testdata/keys/age.pub").read_text().strip()
    (root / ".sops.yaml").write_text(f"creation_rules:\n    - path_regex: secrets/\n      encrypted_regex: "
                                     f"^(data|stringData)$\n      age: {recipient}\n")
    (root / "secrets").mkdir()
    rels = []
    for i in range(count):
        rel = f"secrets/s{i:04d}.yaml"
        (root / rel).write_bytes(api.encrypt(SECRET.format(i=i), "yaml", path=root / rel))
        rels.append(rel)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return rels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sample", type=int, default=100, help="files timed with sops filestatus (then scaled)")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.files, a.rounds, a.sample = 100, 1, 10
    from sops_py.integrations.check import run_check

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rels = build(root, a.files)
        work, cpu, proc = [], [], []
        for _ in range(a.rounds):
            t, c = time.perf_counter(), time.process_time()
            report = run_check([], cwd=str(root))
            work.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            assert report.ok and report.checked == a.files, report
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sops_py", "check"], cwd=root, env=env, check=True,
                           capture_output=True)
            proc.append(time.perf_counter() - t)
        sample = rels[:a.sample]
        t = time.perf_counter()
        for rel in sample:
            out = subprocess.run(["sops", "filestatus", rel], cwd=root, env=env, check=True, capture_output=True)
            assert out.stdout.strip() == b'{"encrypted":true}'
        per_file = (time.perf_counter() - t) / len(sample)
    sops_total = per_file * a.files
    print(f"| workload ({a.files} files) | seconds |")
    print("|---|---|")
    print(f"| sops-py check: the work, in process (median of {a.rounds}) | {statistics.median(work):.3f} |")
    print(f"| sops-py check: the work, CPU time of this process (median of {a.rounds}) | {statistics.median(cpu):.3f} |")
    print(f"| sops-py check: one process, start-up included (median of {a.rounds}) | {statistics.median(proc):.3f} |")
    print(f"| sops filestatus, one process per file ({per_file * 1000:.1f} ms each, timed on {len(sample)}) | "
          f"{sops_total:.2f} |")
    print(f"\nratio: sops-py check process / filestatus loop = {statistics.median(proc) / sops_total:.3f}")


if __name__ == "__main__":
    main()
