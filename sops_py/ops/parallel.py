"""Run one job per file over the machine's cores, for batch encrypt/decrypt.

A batch spends ~0.3 ms of Python work per small file, so 200 files take a core for tens of
milliseconds; forked workers share that out. The first file runs here first, so every lazy import,
key backend and identity is ready before the fork and the workers inherit them for free. Each
worker takes a contiguous slice of the remaining files and stops at its first failure, which it
reports through a pipe; the caller then raises the failure of the earliest file, as a run in order
would have. Files after a failure may have been processed by other workers (the run in order
would have stopped there).
"""

from __future__ import annotations

import os
import sys

from ..errors import SopsError
from ..keys.registry import MAX_CONCURRENT_CALLS

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# below this many files per worker a fork (~1 ms) does not pay for itself
MIN_FILES_PER_WORKER = 24


def worker_count(n_files: int) -> int:
    if not hasattr(os, "fork") or n_files < 2 * MIN_FILES_PER_WORKER:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, n_files // MIN_FILES_PER_WORKER))


def run_each(items: Sequence[str], job: Callable[[str], None], workers: int) -> None:
    """``job(item)`` for every item; with ``workers`` > 1, spread over forked processes."""
    if workers <= 1 or len(items) < 2:
        for item in items:
            job(item)
        return
    job(items[0])  # warm: imports, backends and identities are loaded before the fork
    rest = list(enumerate(items))[1:]
    size = -(-len(rest) // workers)
    slices = [rest[i:i + size] for i in range(0, len(rest), size)]
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    failures: list[tuple[int, int, str]] = []
    try:
        for part in slices[1:]:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(r)
                os._exit(_work(part, job, w))
            os.close(w)
            children.append((pid, r))
        mine = _run_slice(slices[0], job)
        if mine is not None:
            failures.append(mine)
    finally:
        for pid, r in children:
            report = _read_all(r)
            _, status = os.waitpid(pid, 0)
            if report:
                at, exit_code, text = report.decode("utf-8", "surrogateescape").split("\n", 2)
                failures.append((int(at), int(exit_code), text))
            elif status != 0:
                failures.append((len(items), 1, f"a batch worker failed (status {status})"))
    if failures:
        _, code, message = min(failures)
        raise SopsError(message, code)


# files in flight at once when each waits on a key service (network latency, not CPU, is the cost)
MAX_THREADS = MAX_CONCURRENT_CALLS


def run_threads(items: Sequence[str], job: Callable[[str], None], threads: int = MAX_THREADS) -> None:
    """``job(item)`` for every item on a pool of threads, for jobs that mostly wait on key services
    (where forking would not help and gRPC channels would not survive it). Every item is run; the
    failure of the earliest failed item is raised, as a run in order would have raised it."""
    if len(items) < 2:
        for item in items:
            job(item)
        return
    import threading

    queue = list(enumerate(items))
    queue.reverse()
    lock = threading.Lock()
    failures: list[tuple[int, int, str]] = []
    crashes: list[tuple[int, BaseException]] = []

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                index, item = queue.pop()
            try:
                job(item)
            except SopsError as e:
                with lock:
                    failures.append((index, e.exit_code, e.message))
            except BaseException as e:  # noqa: BLE001 - a bug: re-raised in the caller's thread
                with lock:
                    crashes.append((index, e))

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(min(threads, len(items)))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if crashes:
        raise min(crashes, key=lambda c: c[0])[1]
    if failures:
        _, code, message = min(failures)
        raise SopsError(message, code)


def _run_slice(part: list[tuple[int, str]], job: Callable[[str], None]) -> tuple[int, int, str] | None:
    for index, item in part:
        try:
            job(item)
        except SopsError as e:
            return index, e.exit_code, e.message
    return None


def _work(part: list[tuple[int, str]], job: Callable[[str], None], w: int) -> int:
    try:
        failure = _run_slice(part, job)
    except BaseException as e:  # anything unexpected still reaches the parent as this file's failure
        failure = (part[0][0], 1, f"{type(e).__name__}: {e}")
    try:
        if failure is not None:
            os.write(w, f"{failure[0]}\n{failure[1]}\n{failure[2]}".encode("utf-8", "surrogateescape"))
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os.close(w)
    return 0


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)
