"""Benchmark the KSOPS-compatible generator: one kustomization with N age-encrypted Secrets.

    python bench/ksops.py               # 100 Secrets, 3 rounds
    python bench/ksops.py --quick       # 10 Secrets, 1 round: a smoke test

Rows (best of the rounds, wall clock):
  * sops-py ksops: the legacy plugin run once on a generator listing every file (one process, every
    file decrypted there with identities loaded once), exactly as kustomize starts it;
  * sops decrypt per file: one Go `sops decrypt` process per file, the work KSOPS does for each file
    (KSOPS links the same Go library; a shell loop or a per-file plugin pays one start-up per file);
  * kubectl kustomize with the sops-py plugin: the whole build, kustomize included.
The files and the keys live in a temporary directory; sops-py is this interpreter's (`python -m sops_py`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\ntype: Opaque\nstringData:\n"
          "  username: user{i}\n  password: p{i}-hunter2\n")


def best(fn: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.files, a.rounds = 10, 1
    import sops_py
    from sops_py.integrations.ksops_install import install
    from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        app = t / "app"
        app.mkdir()
        names = []
        for i in range(a.files):
            name = f"s{i:03d}.enc.yaml"
            (app / name).write_bytes(sops_py.encrypt(SECRET.format(i=i), "yaml", age=AGE_RECIPIENT, config=False,
                                                     encrypted_regex="^(data|stringData)$"))
            names.append(name)
        (app / "gen.yaml").write_text("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: g}\nfiles:\n"
                                      + "".join(f"- {n}\n" for n in names))
        (app / "kustomization.yaml").write_text("generators: [gen.yaml]\n")
        install(str(t / "xdg" / "kustomize" / "plugin"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env.update(SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE), XDG_CONFIG_HOME=str(t / "xdg"),
                   PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))

        def ours() -> None:
            out = subprocess.run([sys.executable, "-m", "sops_py", "ksops", str(app / "gen.yaml")], cwd=app,
                                 env=env, capture_output=True, check=True).stdout
            assert out.count(b"kind: Secret") == a.files

        def go_per_file() -> None:
            for n in names:
                subprocess.run(["sops", "decrypt", n], cwd=app, env=env, capture_output=True, check=True)

        def kubectl() -> None:
            subprocess.run(["kubectl", "kustomize", "--enable-alpha-plugins", str(app)], env=env,
                           capture_output=True, check=True)

        rows = [("sops-py ksops (one process, all files)", best(ours, a.rounds)),
                (f"sops decrypt, one process per file (x{a.files})", best(go_per_file, a.rounds))]
        if shutil.which("kubectl"):
            rows.append(("kubectl kustomize + sops-py plugin (whole build)", best(kubectl, a.rounds)))
        print(f"{a.files} Secrets, best of {a.rounds}")
        for label, secs in rows:
            print(f"  {label:<52} {secs * 1000:8.0f} ms")
        print(f"  ratio sops-per-file / sops-py ksops: {rows[1][1] / rows[0][1]:.1f}x")


if __name__ == "__main__":
    main()
