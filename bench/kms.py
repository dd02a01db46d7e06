"""Benchmark network-bound work against the real sops: AWS KMS through a local emulator that adds a
fixed latency to every Encrypt/Decrypt call (a distant region).

    python bench/kms.py                 # 50 ms per call, 3 rounds, 100 files
    python bench/kms.py --quick         # 1 round, 10 files: a smoke test

Rows: one KMS call (the unit); encrypting a file for four KMS keys, as the time the latency adds to
the whole run (run once without and once with latency, so start-up and local work cancel out: sops
wraps in turn, ~4 calls; sops-py wraps concurrently, ~1 call); and decrypting N KMS-wrapped files: sops-py's one batch
(files overlapped on threads) against one `sops decrypt` process per file, as a shell loop runs it.
The emulator is tests/kms/aws_server.py (moto on 127.0.0.1); nothing leaves the machine. sops-py is
this interpreter's (`python -m sops_py`).
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
from tests.kms.aws_server import AwsEmulator  # noqa: E402

PLAIN = b"db:\n    user: admin\n    password: hunter2\nport: 5432\n"


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.files = 1, 10
    ours = [sys.executable, "-m", "sops_py"]
    sops = ["sops"]
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in the table
    emu = AwsEmulator().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            base = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
            env = emu.env(base, work / "home", PYTHONPATH=str(ROOT))
            keys = [emu.create_key() for _ in range(4)]
            kms = emu.client("kms")
            emu.latency = a.latency
            one = statistics.median(
                _call(lambda: kms.encrypt(KeyId=keys[0], Plaintext=b"x" * 32)) for _ in range(5))
            (work / "plain.yaml").write_bytes(PLAIN)
            rows = [("one KMS Encrypt call", one, None)]
            for name, tool in (("sops-py", ours), ("sops", sops)):
                cmd = [*tool, "encrypt", "--kms", ",".join(keys), "plain.yaml"]
                emu.latency = 0.0
                base_t = statistics.median(timed(cmd, env, work) for _ in range(a.rounds))
                emu.latency = a.latency
                t = statistics.median(timed(cmd, env, work) for _ in range(a.rounds))
                # what the latency added to the run (start-up and local work cancel out)
                rows.append((f"{name} encrypt for 4 KMS keys: added by latency", t - base_t, (t - base_t) / one))
                rows.append((f"{name} encrypt for 4 KMS keys: whole run", t, None))
            files = []
            emu.latency = 0.0
            for i in range(a.files):
                p = work / f"s{i:03d}.enc.yaml"
                p.write_bytes(PLAIN)
                subprocess.run([*sops, "encrypt", "-i", "--kms", keys[i % 4], p.name], env=env, cwd=work, check=True)
                files.append(p.name)
            emu.latency = a.latency
            batch = statistics.median(
                timed([*ours, "decrypt", "--output-dir", f"out{r}", *files], env, work) for r in range(a.rounds))
            loop_times = []
            for _ in range(a.rounds):
                t = time.perf_counter()
                for f in files:
                    subprocess.run([*sops, "decrypt", f], env=env, cwd=work, check=True, capture_output=True)
                loop_times.append(time.perf_counter() - t)
            loop = statistics.median(loop_times)
            rows.append((f"sops-py decrypt {a.files} files, one batch", batch, batch / one))
            rows.append((f"sops decrypt {a.files} files, one process each", loop, loop / one))
    finally:
        emu.stop()
    print(f"latency added per KMS call: {a.latency * 1000:.0f} ms; medians of {a.rounds} round(s)\n")
    print(f"| {'workload':50} | {'time':>9} | {'calls of latency':>16} |")
    print(f"|{'-' * 52}|{'-' * 11}|{'-' * 18}|")
    for label, t, ratio in rows:
        print(f"| {label:50} | {t * 1000:7.0f}ms | {'' if ratio is None else f'{ratio:.1f}':>16} |")
    print(f"\nbatch speed-up over one sops process per file: {loop / batch:.1f}x")


def _call(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
