"""Run fuzz cases through the sops-py command line in forked children, each under a hard time and
memory limit, and through the real sops for comparison.

Why forks: starting 3,000 x 4 interpreters would cost more than the fuzzing itself. A small server
process (``serve``, started by the test) imports everything once and builds the cases one by one;
each (case, command) runs in a fork of it that calls the console entry point ``sops_py.cli.main``
with its stdout and stderr on files, so each run starts from the same clean state and a run that
hangs, eats memory or crashes the interpreter cannot affect the others. Two children run at a time
(the CI machine has two cores).

Limits in each child: ``alarm`` (SIGALRM's default action ends the process, even inside C code) and
``RLIMIT_CPU`` for time; ``RLIMIT_AS`` for memory (the address space of the server plus
``memory_mb``: enough for the 512 MiB virtual stack the YAML port's deep-nesting thread reserves).
A ``MemoryError`` anywhere ends the child with a distinct code, as does any exception that escapes
the CLI's error boundary (its traceback is on the child's stderr).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.fuzz_corpus import Case, build_case, load_seeds, seeds_by_store

OVER_MEMORY = 250  # a child's exit code: MemoryError (sops uses none above 203)
UNCAUGHT = 251  # a child's exit code: an exception escaped sops_py.cli.main
KEEP = 4000  # bytes of stderr kept per run

# each command as run on the case's file; check is sops-py's own (keyless) command
COMMANDS: dict[str, tuple[str, ...]] = {
    "decrypt": ("decrypt",),
    "encrypt": ("encrypt",),
    "filestatus": ("filestatus",),
    "check": ("check",),
}


@dataclass
class Outcome:
    """What one (case, command) run did."""

    case: int
    command: str
    status: str  # exit | timeout | memory | uncaught | signal
    code: int
    stderr: bytes
    stdout_len: int
    seconds: float
    maxrss_mb: float
    leftovers: list[str] = field(default_factory=list)
    case_text: str = ""  # Case.describe()

    @property
    def traceback(self) -> bool:
        return self.status == "uncaught" or b"Traceback (most recent call last)" in self.stderr

    @property
    def verdict(self) -> str:
        """The exit code, or the kind of failure, as compared with sops."""
        return str(self.code) if self.status == "exit" else self.status


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def warm_up() -> None:
    """Import in the parent what every child would otherwise import again (the commands, stores,
    age), so each fork starts ready to run."""
    import importlib

    cli_main = importlib.import_module("sops_py.cli.main")
    for target in cli_main.COMMANDS.values():
        importlib.import_module(target.split(":")[0])
    for module in ("sops_py.cli.fast", "sops_py.cli.crypt_actions", "sops_py.stores.yaml_store",
                   "sops_py.stores.json_store", "sops_py.stores.dotenv_store", "sops_py.stores.ini_store",
                   "sops_py.integrations.check", "sops_py.integrations.check_report", "sops_py.keys.age",
                   "sops_py.ops.crypt", "sops_py.gobase64", "sops_py.integrations.check_files",
                   "sops_py.integrations.check_meta", "sops_py.keys.age_backend", "sops_py.keys.age.asciiarmor",
                   "sops_py.keys.age.decrypt", "sops_py.keys.age.discovery", "sops_py.keys.age.identities",
                   "sops_py.keys.age.recipients", "sops_py.keys.age.x25519", "pyrage"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def entry_point() -> Callable[[list[str]], None]:
    """``sops_py.cli.main``, the console script's function. Importing the submodule
    ``sops_py.cli.main`` (the full CLI) rebinds that name on the package to the module, so find the
    function again by re-running the package's small ``__init__`` when that happened."""
    import importlib
    import types

    pkg = importlib.import_module("sops_py.cli")
    entry = pkg.main
    if isinstance(entry, types.ModuleType):
        entry = importlib.reload(pkg).main
    assert callable(entry) and not isinstance(entry, types.ModuleType)
    return entry  # type: ignore[no-any-return]


def _child(main: Callable[[list[str]], None], argv: Sequence[str], workdir: Path, io_dir: Path,
           env: dict[str, str], seconds: int, memory_limit: int) -> None:
    """Runs in the fork: never returns."""
    code = UNCAUGHT
    try:
        os.chdir(workdir)
        fd_in = os.open(os.devnull, os.O_RDONLY)
        fd_out = os.open(io_dir / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fd_err = os.open(io_dir / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        # pytest's capture replaced sys.stdout/err with its own objects: write to our fds instead, as
        # the interpreter would under a UTF-8 locale such as en_US.UTF-8 (stdout strict, stderr
        # backslashreplace; C.UTF-8 would hide text that cannot be encoded behind surrogateescape)
        sys.stdin = open(0, "r", encoding="utf-8", errors="strict", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", errors="strict", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        os.environ.clear()
        os.environ.update(env)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CPU, (seconds + 1, seconds + 2))
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.alarm(seconds)
        try:
            main(list(argv))
            code = 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                sys.stderr.write(f"{e.code}\n")
                code = 1
        except MemoryError:
            code = OVER_MEMORY
        except BaseException:
            import traceback

            traceback.print_exc()
            code = UNCAUGHT
        sys.stdout.flush()
        sys.stderr.flush()
    except MemoryError:
        code = OVER_MEMORY
    except BaseException:  # noqa: BLE001 - a fork must never return into pytest
        code = UNCAUGHT
    os._exit(code)


@dataclass
class Pool:
    """Runs every command on each case, ``workers`` forks at a time, each in its own slot directory
    that holds ``config`` as ``.sops.yaml`` and the case's file. Cases may come from a generator:
    only the ones running are held in memory."""

    root: Path
    env: dict[str, str]
    config: bytes
    workers: int = 2
    seconds: int = 20
    memory_mb: int = 1536

    def run(self, cases: Iterable[Case], commands: Sequence[str] = tuple(COMMANDS)) -> Iterator[Outcome]:
        warm_up()
        main = entry_point()
        memory_limit = _vm_bytes() + self.memory_mb * 1024 * 1024
        jobs = ((case, command) for case in cases for command in commands)
        slots = []
        for n in range(self.workers):
            work, io_dir = self.root / f"slot{n}", self.root / f"io{n}"
            work.mkdir(parents=True, exist_ok=True)
            io_dir.mkdir(parents=True, exist_ok=True)
            (work / ".sops.yaml").write_bytes(self.config)
            slots.append((work, io_dir))
        free = list(range(self.workers))
        running: dict[int, tuple[Case, str, int, float]] = {}
        parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        more = True
        while more or running:
            while more and free:
                job = next(jobs, None)
                if job is None:
                    more = False
                    break
                case, command = job
                slot = free.pop()
                work, io_dir = slots[slot]
                for entry in os.listdir(work):
                    if entry != ".sops.yaml":
                        os.unlink(work / entry)
                (work / case.name).write_bytes(case.data)
                argv = [*COMMANDS[command], case.name]
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _child(main, argv, work, io_dir, self.env, self.seconds, memory_limit)
                running[pid] = (case, command, slot, time.perf_counter())
            if not running:
                continue
            pid, status, usage = os.wait4(-1, 0)
            if pid not in running:
                continue
            case, command, slot, start = running.pop(pid)
            free.append(slot)
            work, io_dir = slots[slot]
            yield self._outcome(case, command, status, usage, time.perf_counter() - start, work, io_dir, parent_rss)

    def _outcome(self, case: Case, command: str, status: int, usage: resource.struct_rusage, seconds: float,
                 work: Path, io_dir: Path, parent_rss: float) -> Outcome:
        code, kind = 0, "exit"
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            kind = "timeout" if sig in (signal.SIGALRM, signal.SIGXCPU, signal.SIGKILL) else "signal"
            code = -sig
        else:
            code = os.WEXITSTATUS(status)
            if code == OVER_MEMORY:
                kind = "memory"
            elif code == UNCAUGHT:
                kind = "uncaught"
        stderr = (io_dir / "stderr").read_bytes()
        stdout = (io_dir / "stdout").read_bytes()
        if b"Traceback (most recent call last)" in stdout:
            stderr += b"\n[stdout] " + stdout[-KEEP:]
        leftovers = sorted(e for e in os.listdir(work) if e not in (".sops.yaml", case.name))
        return Outcome(case.index, command, kind, code, stderr[-KEEP:], len(stdout), seconds,
                       max(0.0, usage.ru_maxrss / 1024 - parent_rss), leftovers, case.describe())


def write_outcomes(outcomes: Iterable[Outcome], path: Path) -> int:
    """One JSON object a line (stderr as Latin-1 text, so any bytes survive)."""
    n = 0
    with open(path, "w") as f:
        for o in outcomes:
            row = dataclasses.asdict(o)
            row["stderr"] = o.stderr.decode("latin-1")
            f.write(json.dumps(row) + "\n")
            n += 1
    return n


def read_outcomes(path: Path) -> list[Outcome]:
    out = []
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            row["stderr"] = row["stderr"].encode("latin-1")
            out.append(Outcome(**row))
    return out


def serve(argv: Sequence[str]) -> int:
    """``python -m tests.reliability.fuzz_runner SEEDS ROOT COUNT SEED``: the fork server. It runs in
    a fresh, small interpreter: forking the test process itself (hundreds of MB once a whole suite
    has run in it) would cost ~25 ms of page-table copying per fork instead of ~2 ms. The children's
    environment is this process' own."""
    seeds_dir, root, count, seed = Path(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    seconds = int(argv[4]) if len(argv) > 4 else 20
    by_store = seeds_by_store(load_seeds(seeds_dir))
    pool = Pool(root, dict(os.environ), (seeds_dir / ".sops.yaml").read_bytes(), seconds=seconds)
    cases = (build_case(i, by_store, seed) for i in range(count))
    write_outcomes(pool.run(cases), root / "outcomes.jsonl")
    return 0


# ------------------------------------------------------------------ the real sops, for comparison

SOPS_COMMANDS = ("decrypt", "encrypt", "filestatus")


def run_sops(sops: str, cases: Sequence[Case], root: Path, env: dict[str, str], config: bytes,
             seconds: float = 20, workers: int = 2) -> dict[tuple[int, str], str]:
    """The real sops' verdict (exit code, or ``timeout``) for each case and command sops has."""

    def one(job: tuple[Case, str]) -> tuple[tuple[int, str], str]:
        case, command = job
        work = root / f"sops-{case.index}-{command}"
        work.mkdir(parents=True, exist_ok=True)
        (work / ".sops.yaml").write_bytes(config)
        (work / case.name).write_bytes(case.data)
        try:
            proc = subprocess.run([sops, command, case.name], cwd=work, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=seconds, check=False)
            verdict = str(proc.returncode)
        except subprocess.TimeoutExpired:
            verdict = "timeout"
        for entry in os.listdir(work):
            os.unlink(work / entry)
        work.rmdir()
        return (case.index, command), verdict

    jobs = [(case, command) for case in cases for command in SOPS_COMMANDS]
    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, jobs))


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
