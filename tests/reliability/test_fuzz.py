"""Issue 16: the fuzz suite. Mutated plaintext and encrypted files of all five stores (see
``fuzz_corpus``) go through ``decrypt``, ``encrypt``, ``filestatus`` and ``check``, each run in a fork
under a hard time and memory limit (``fuzz_runner``). Every run must end with an exit code and
messages: no traceback, no timeout, no run over the memory limit, no crash, no file left beside the
input. For a fixed sample, the exit codes are compared with the real sops': every difference must be
one that docs/compatibility.md ("Fuzzing: where exit codes differ from sops") justifies.

The full run (3,000 cases, ``slow``) is what CI runs; the smoke run is its first 200 cases. The case
count can be raised with SOPS_PY_FUZZ_CASES (and the seed changed with SOPS_PY_FUZZ_SEED) to fuzz
longer locally. Failing inputs are kept under the test's tmp directory (their paths are in the
failure message), and SOPS_PY_FUZZ_REPORT=DIR also writes the outcome table there.
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import AGE2_KEY_FILE, AGE_KEY_FILE, AGE_RECIPIENT, ROOT
from tests.interop.sops_helpers import SOPS, requires_sops
from tests.reliability.fuzz_corpus import (
    STORES,
    Seed,
    all_seeds,
    build_case,
    build_corpus,
    save_seeds,
    seeds_by_store,
    write_failure,
)
from tests.reliability.fuzz_runner import SOPS_COMMANDS, Outcome, read_outcomes, run_sops

SEED = int(os.environ.get("SOPS_PY_FUZZ_SEED", "16"))
FULL = max(3000, int(os.environ.get("SOPS_PY_FUZZ_CASES", "3000")))
SMOKE = 200
SAMPLE = 150  # cases also run through the real sops in the full run (30 in the smoke run)

# (command, sops-py's verdict, sops' verdict) -> why the difference is right; each is explained in
# docs/compatibility.md, "Fuzzing: where exit codes differ from sops"
JUSTIFIED: dict[tuple[str, str, str], str] = {
    ("decrypt", "25", "2"): "a number or boolean where an encrypted file needs ENC[...] text: sops panics "
                            "(interface conversion), sops-py reports `Expected encrypted value as string`",
    ("filestatus", "1", "0"): "a YAML file that does not load (a tag its value does not fit, a duplicate key, a "
                              "bad merge, excessive aliasing) without a sops key in its first document: sops "
                              "decodes only that key to judge, sops-py loads the file and reports the error",
    ("decrypt", "1", "timeout"): "an alias or merge-key bomb beside the sops key: sops expands it without end",
    ("filestatus", "1", "timeout"): "an alias or merge-key bomb beside the sops key: sops expands it without end",
    ("decrypt", "1", "128"): "excessive aliasing in a later document: sops checks only the first one",
    ("decrypt", "1", "2"): "a dotenv/INI key path mixing list and map (sops_x__list_0__map_y changed): sops "
                           "panics in unflatten, sops-py reports `Error while unflattening: Type mismatch`",
    ("filestatus", "1", "2"): "as above (sops panics)",
}


def _keys_file(tmp: Path) -> Path:
    """Both test identities, so the Shamir seeds written by the real sops decrypt too."""
    path = tmp / "keys.txt"
    path.write_text(AGE_KEY_FILE.read_text() + "\n" + AGE2_KEY_FILE.read_text())
    return path


def _env(tmp: Path) -> dict[str, str]:
    home, gnupg = tmp / "home", tmp / "gnupg"
    home.mkdir(exist_ok=True)
    gnupg.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "AWS_", "GOOGLE_", "AZURE_", "VAULT_", "HUAWEICLOUD_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GNUPGHOME=str(gnupg),
               SOPS_AGE_KEY_FILE=str(_keys_file(tmp)), LC_ALL="C.UTF-8", TZ="UTC")
    return env


CONFIG = f"creation_rules:\n  - age: {AGE_RECIPIENT}\n".encode()


def _problems(outcomes: list[Outcome], by_store: dict[str, list[Seed]], keep: Path) -> list[str]:
    problems = []
    for o in outcomes:
        what = ""
        if o.traceback:
            what = "traceback"
        elif o.status != "exit":
            what = o.status
        elif o.leftovers:
            what = f"left {o.leftovers}"
        if what:
            path = write_failure(keep, build_case(o.case, by_store, SEED))
            tail = o.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            problems.append(f"{what}: {o.command} {o.case_text} in {o.seconds:.1f}s -> {path}: {tail}")
    return problems


def _table(outcomes: list[Outcome]) -> str:
    lines = ["case\tcommand\tverdict\tseconds\tmaxrss_mb\tstderr"]
    for o in outcomes:
        first = o.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        lines.append(f"{o.case_text}\t{o.command}\t{o.verdict}\t{o.seconds:.3f}\t{o.maxrss_mb:.0f}\t"
                     f"{first[0][:160] if first else ''}")
    return "\n".join(lines) + "\n"


def _differences(outcomes: list[Outcome], theirs: dict[tuple[int, str], str]
                 ) -> dict[tuple[str, str, str], list[str]]:
    ours = {(o.case, o.command): o for o in outcomes}
    diffs: dict[tuple[str, str, str], list[str]] = collections.defaultdict(list)
    for (index, command), verdict in sorted(theirs.items()):
        mine = ours[(index, command)]
        if mine.verdict != verdict:
            diffs[(command, mine.verdict, verdict)].append(mine.case_text)
    return dict(diffs)


def fuzz(tmp_path: Path, count: int, sample: int) -> None:
    env = _env(tmp_path)
    seeds_dir, root = tmp_path / "seeds", tmp_path / "runs"
    seeds = all_seeds(AGE_RECIPIENT)
    save_seeds(seeds, seeds_dir)
    (seeds_dir / ".sops.yaml").write_bytes(CONFIG)
    root.mkdir()
    server = subprocess.run([sys.executable, "-m", "tests.reliability.fuzz_runner", str(seeds_dir), str(root),
                             str(count), str(SEED)], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                            capture_output=True, timeout=1800, check=False)
    assert server.returncode == 0, server.stderr.decode(errors="replace")[-3000:]
    outcomes = read_outcomes(root / "outcomes.jsonl")
    assert len(outcomes) == 4 * count
    by_store = seeds_by_store(seeds)
    assert {build_case(i, by_store, SEED).store for i in range(5)} == set(STORES)
    report_dir = os.environ.get("SOPS_PY_FUZZ_REPORT")
    if report_dir:
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        (Path(report_dir) / f"fuzz-{count}.tsv").write_text(_table(outcomes))
    problems = _problems(outcomes, by_store, tmp_path / "failures")
    assert not problems, f"{len(problems)} runs failed:\n" + "\n".join(problems[:40])
    # the runs did real work: most inputs were refused, but not all, and every command got through
    verdicts = collections.Counter((o.command, o.verdict) for o in outcomes)
    for command in ("decrypt", "encrypt", "filestatus", "check"):
        assert verdicts[(command, "0")] > 0, verdicts
    assert sum(n for (_, v), n in verdicts.items() if v != "0") > count
    if not sample or SOPS is None:
        return
    # a fixed sample spread over the stores (case i is store i % 5: no regular step)
    chosen = [build_case(i, by_store, SEED) for i in sorted(random.Random(SEED).sample(range(count), sample))]
    theirs = run_sops(SOPS, chosen, tmp_path / "sops", env, CONFIG)
    assert len(theirs) == len(SOPS_COMMANDS) * len(chosen)
    diffs = _differences(outcomes, theirs)
    if report_dir:
        (Path(report_dir) / f"fuzz-{count}-differences.txt").write_text("".join(
            f"{key}: {len(v)}\n" + "".join(f"    {d}\n" for d in v) for key, v in sorted(diffs.items())))
    unexplained = {k: v for k, v in diffs.items() if k not in JUSTIFIED}
    assert not unexplained, "exit codes differ from sops' (command, ours, sops'):\n" + "\n".join(
        f"{k}: {len(v)} e.g. {v[:3]}" for k, v in sorted(unexplained.items()))


def test_fuzz_smoke(tmp_path: Path) -> None:
    fuzz(tmp_path, SMOKE, 30 if SOPS else 0)


@requires_sops
@pytest.mark.slow
def test_fuzz_full(tmp_path: Path) -> None:
    fuzz(tmp_path, FULL, SAMPLE)


def test_the_plan_is_deterministic() -> None:
    """Same seed, same cases: offsets and mutations do not depend on the run (the sops-py-encrypted
    seeds' ciphertext does, so compare the plaintext and real-sops cases byte for byte)."""
    a = build_corpus(60, AGE_RECIPIENT, SEED)
    b = build_corpus(60, AGE_RECIPIENT, SEED)
    assert [(c.store, c.origin, c.mutation) for c in a] == [(c.store, c.origin, c.mutation) for c in b]
    fixed = [(x.data, y.data) for x, y in zip(a, b, strict=True) if not x.origin.startswith("sops-py:")]
    assert fixed and all(x == y for x, y in fixed)
    assert build_corpus(20, AGE_RECIPIENT, SEED + 1) != a[:20]


def test_the_corpus_covers_every_mutation_and_store() -> None:
    cases = build_corpus(FULL, AGE_RECIPIENT, SEED)
    applied = collections.Counter(m for c in cases for m in c.mutation.split("+"))
    for name in ("flip", "truncate", "deep", "aliases", "utf8", "nul", "bom", "crlf", "dupkey", "huge",
                 "tokens", "lines", "metadata", "splice"):
        assert applied[name] >= 20, applied
    origins = collections.Counter((c.store, c.origin.split(":")[0]) for c in cases)
    for store in ("yaml", "json", "dotenv", "ini"):
        for origin in ("plain", "sops-py", "sops"):
            assert origins[(store, origin)] >= 50, origins
    assert origins[("binary", "plain")] >= 50 and origins[("binary", "sops-py")] >= 50


# ------------------------------------------------------------------ what the fuzzer found (regressions)


@requires_sops
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_yaml_is_read_as_sops_reads_it(tmp_path: Path, codec: str) -> None:
    """yaml.v3 reads UTF-16 with a BOM; sops-py refused it as invalid UTF-8 (found by the fuzzer)."""
    import sops_py
    from tests.interop.sops_helpers import run_sops

    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    plain = bom + "a: café\nb: [1, 2]\n".encode(codec)
    enc = sops_py.encrypt(plain, "yaml", age=[AGE_RECIPIENT], config=False)
    keys = sops_py.Keys(age_key_file=str(AGE_KEY_FILE), environ={})
    assert sops_py.load(enc, "yaml", keys=keys) == {"a": "café", "b": [1, 2]}
    (tmp_path / "f.yaml").write_bytes(bom + enc.decode().encode(codec))
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE)}
    theirs = run_sops(["decrypt", tmp_path / "f.yaml"], env=env)
    assert theirs.returncode == 0, theirs.stderr
    assert sops_py.decrypt_file(tmp_path / "f.yaml", keys=keys) == theirs.stdout
    (tmp_path / "odd.yaml").write_bytes(bom + b"a\x00:")
    with pytest.raises(sops_py.SopsError, match="UTF-16"):
        sops_py.load_file(tmp_path / "odd.yaml")


def test_check_with_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    """A malformed line with bytes that are not UTF-8: ``check`` printed it (a secret may be on it)
    and then failed with a traceback on a strict UTF-8 stdout (found by the fuzzer)."""
    (tmp_path / ".sops.yaml").write_bytes(CONFIG)
    (tmp_path / "s.env").write_bytes(b"A=1\n\x9c&secret-value \xac\n")
    env = {**_env(tmp_path), "PYTHONIOENCODING": "utf-8:strict", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sops_py", "check", "s.env"], cwd=tmp_path, env=env,
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert b"Traceback" not in proc.stderr + proc.stdout
    assert b"secret-value" not in proc.stdout + proc.stderr
    assert b"s.env:2: cannot be read as dotenv: invalid dotenv input line: <line of the file>" in proc.stdout
