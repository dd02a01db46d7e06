"""Rewriting a file in place without ever leaving it half-written, and cleaning up after killed runs.

``files.write_atomic`` replaces a file by renaming a complete new file over it whenever it can. A
rename cannot serve three cases: a file with several hard links (the other names would keep the old
inode), a file whose owner or extended attributes the new inode cannot be given, and a directory that
refuses new entries. Those files are rewritten in place, the way sops writes every file, but safely:

1. every byte to write is ready before the file is touched (the caller has it in memory);
2. where the directory takes new entries, a *journal* is written first and made durable: a file
   named ``.sops-py-<pid>-<random>.copy`` holding the target's old and new bytes, given its name only
   once complete (so a journal that exists is always whole);
3. the space the new content needs is reserved (``posix_fallocate``), so a full disk fails here,
   before anything is overwritten;
4. the new bytes are written from offset 0, the file is cut to their length and synced; SIGINT,
   SIGTERM, SIGHUP and SIGQUIT are held back meanwhile (and delivered afterwards);
5. the journal is removed.

If an error interrupts step 4 (a disk error, a quota) the old bytes are written back. If the process
is killed (SIGKILL, a power cut) during step 4, the journal survives: the next sops-py run that writes
into that directory sees that its writer is dead and finishes the rewrite, but only when the file
still holds exactly what an interrupted rewrite leaves (new bytes up to some offset, old bytes after
it): a file changed since by someone else is never overwritten (the journal is kept and a warning
names it).

Temporary files (``.sops-py-<pid>-<random>.tmp``) only have a name when the unnamed-file route
(``O_TMPFILE``) is unavailable, or for the moment between giving the complete new file a name and
renaming it over the target. A run killed in that moment leaves one; the next run in that directory
removes it when its writer is dead. ``.sops-py-*`` is the one pattern to ignore in version control.
"""

from __future__ import annotations

import errno
import os

from .. import log

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    import signal as _signal
    from types import TracebackType
else:
    try:
        import _signal  # the C module: `signal` itself imports enum wrappers (~1 ms) for nothing we use
    except ImportError:  # pragma: no cover - other interpreters
        import signal as _signal

PREFIX = ".sops-py-"
TMP_SUFFIX = ".tmp"
JOURNAL_SUFFIX = ".copy"
JOURNAL_MAGIC = b"sops-py journal 1\n"
# a leftover of sops-py before 0.2 (".sops-py-" and 8 random characters, no pid): removed once older than this
LEGACY_AGE_SECONDS = 600.0

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"  # tempfile's alphabet
_CREATE_FLAGS = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
_HELD_SIGNALS = tuple(getattr(_signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                      if hasattr(_signal, name))
_swept: set[str] = set()  # directories this process has already cleaned


def _random_name(suffix: str) -> str:
    rand = "".join([_NAME_CHARS[b % len(_NAME_CHARS)] for b in os.urandom(8)])
    return f"{PREFIX}{os.getpid()}-{rand}{suffix}"


def create_named(directory: str, suffix: str = TMP_SUFFIX, mode: int = 0o600) -> tuple[int, str]:
    """A new, empty file (``mode`` less the umask) with a fresh leftover-pattern name in ``directory``,
    opened exclusively."""
    for _ in range(10000):  # tempfile.TMP_MAX
        path = os.path.join(directory, _random_name(suffix))
        try:
            fd = os.open(path, _CREATE_FLAGS, mode)
        except FileExistsError:
            continue
        return fd, path
    raise FileExistsError(errno.EEXIST, "No usable temporary file name found")


def link_unnamed(fd: int, directory: str, suffix: str = TMP_SUFFIX) -> str:
    """Give an ``O_TMPFILE`` file a fresh leftover-pattern name (linkat through /proc/self/fd)."""
    for _ in range(10000):
        path = os.path.join(directory, _random_name(suffix))
        try:
            link_fd(fd, path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "No usable temporary file name found")


_proc: int | None = None


def link_fd(fd: int, path: str) -> None:
    """linkat(2) of the open file ``fd`` to ``path`` through /proc/self/fd. ``os.link`` calls plain
    link(2), which does not follow the magic link, unless a directory fd is passed: hence /proc's."""
    global _proc
    if _proc is None:
        _proc = os.open("/proc", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    os.link(f"self/fd/{fd}", path, src_dir_fd=_proc, follow_symlinks=True)


def write_all(fd: int, data: bytes | memoryview, offset: int | None = None) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        if offset is not None:
            offset += n
        view = view[n:]


def sync_directory(directory: str) -> None:
    """Make a rename or unlink in ``directory`` durable; some file systems refuse, which costs nothing."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class HeldSignals:
    """Hold back SIGINT, SIGTERM, SIGHUP and SIGQUIT while a file is between two states, then deliver
    them: Ctrl-C or a ``kill`` ends the run after the file is whole, not in the middle of it.

    In the main thread the handlers are swapped for one that records the signal; in another thread
    (batches on threads) the signals are blocked for that thread only."""

    def __init__(self) -> None:
        self.caught: list[int] = []
        self.previous: dict[int, object] = {}
        self.mask: set[int] | None = None

    def _record(self, signum: int, frame: object) -> None:
        self.caught.append(signum)

    def __enter__(self) -> HeldSignals:
        try:
            for sig in _HELD_SIGNALS:
                self.previous[sig] = _signal.signal(sig, self._record)
        except ValueError:  # not the main thread
            self._restore()
            if hasattr(_signal, "pthread_sigmask"):
                self.mask = set(_signal.pthread_sigmask(_signal.SIG_BLOCK, _HELD_SIGNALS))
        return self

    def _restore(self) -> None:
        for sig, old in self.previous.items():
            _signal.signal(sig, old if old is not None else _signal.SIG_DFL)  # type: ignore[arg-type]
        self.previous = {}

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._restore()
        if self.mask is not None:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, self.mask)  # pending signals arrive now
        for sig in dict.fromkeys(self.caught):
            _signal.raise_signal(sig)


# ------------------------------------------------------------------------------------------------
# The in-place rewrite


def read_fd(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def rewrite(fd: int, old: bytes, data: bytes) -> None:
    """Overwrite the open file ``fd`` (holding ``old``) with ``data``: space first, then the bytes, then the
    length, then a sync. On an error the old bytes are put back (best effort) and the error raised."""
    if len(data) > len(old) and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, len(data))
        except OSError as e:
            _truncate_quietly(fd, len(old))
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    with HeldSignals():
        try:
            write_all(fd, data, 0)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        except OSError:
            try:
                write_all(fd, old, 0)
                os.ftruncate(fd, len(old))
                os.fsync(fd)
            except OSError:
                pass
            raise


def _truncate_quietly(fd: int, length: int) -> None:
    try:
        os.ftruncate(fd, length)
    except OSError:
        pass


def write_journal(directory: str, target: str, st: os.stat_result, old: bytes, data: bytes) -> str | None:
    """A complete, durable journal for rewriting ``target``; None when the directory takes no new entry
    (the rewrite then goes ahead without one)."""
    name = os.fsencode(os.path.basename(target))
    header = (JOURNAL_MAGIC + f"{st.st_dev} {st.st_ino} {len(old)} {len(data)} {len(name)}\n".encode()
              + name + b"\n")
    try:
        fd, unnamed = open_unnamed_or_named(directory, JOURNAL_SUFFIX + TMP_SUFFIX)
    except OSError:
        return None
    path = unnamed
    try:
        try:
            write_all(fd, header + old)
            write_all(fd, data)
            os.fsync(fd)
            if unnamed is None:
                path = link_unnamed(fd, directory, JOURNAL_SUFFIX)
            else:
                path = unnamed[: -len(TMP_SUFFIX)]
                os.rename(unnamed, path)
        finally:
            os.close(fd)
    except OSError:
        for p in (unnamed, path):
            if p is not None:
                _unlink_quietly(p)
        return None
    sync_directory(directory)
    return path


def open_unnamed_or_named(directory: str, suffix: str = TMP_SUFFIX, mode: int = 0o600) -> tuple[int, str | None]:
    """A new empty file in ``directory`` (``mode`` less the umask): unnamed (path None) where the system
    and file system offer O_TMPFILE and /proc/self/fd to name it later, else with a leftover-pattern name."""
    flags = getattr(os, "O_TMPFILE", 0)
    if flags and _proc_fd():
        try:
            return os.open(directory, flags | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), mode), None
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.EISDIR, errno.ENOENT):
                raise
    return create_named(directory, suffix, mode)


_proc_fd_ok: bool | None = None


def _proc_fd() -> bool:
    global _proc_fd_ok
    if _proc_fd_ok is None:
        _proc_fd_ok = os.path.isdir("/proc/self/fd")
    return _proc_fd_ok


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_journal(path: str | None) -> None:
    if path is not None:
        _unlink_quietly(path)
        sync_directory(os.path.dirname(path))


# ------------------------------------------------------------------------------------------------
# Leftovers of killed runs


def _writer_alive(name: str) -> bool:
    """Whether the process that created the leftover-pattern ``name`` still runs (or might)."""
    pid_text = name[len(PREFIX):].split("-", 1)[0]
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists under another user
        return True
    return True


def _is_legacy(name: str) -> bool:
    rest = name[len(PREFIX):]
    return len(rest) == 8 and all(c in _NAME_CHARS for c in rest)


def sweep(directory: str) -> None:
    """Remove (or, for journals, finish) what killed sops-py runs left in ``directory``; once per process
    and directory. Never fails: a leftover that cannot be handled now is handled by a later run."""
    key = os.path.abspath(directory)
    if key in _swept:
        return
    _swept.add(key)
    try:
        with os.scandir(directory) as entries:
            names = [e.name for e in entries if e.name.startswith(PREFIX)]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            if name.endswith(JOURNAL_SUFFIX):
                if not _writer_alive(name):
                    recover(path)
            elif name.endswith(TMP_SUFFIX):
                if not _writer_alive(name):
                    os.unlink(path)
            elif _is_legacy(name):
                st = os.lstat(path)
                import time

                if time.time() - st.st_mtime > LEGACY_AGE_SECONDS:
                    os.unlink(path)
        except OSError:
            continue


def _parse_journal(blob: bytes) -> tuple[int, int, bytes, bytes, bytes] | None:
    """(dev, ino, target name, old bytes, new bytes) of a journal, or None when it is not one."""
    if not blob.startswith(JOURNAL_MAGIC):
        return None
    end = blob.find(b"\n", len(JOURNAL_MAGIC))
    try:
        dev, ino, n_old, n_new, n_name = (int(x) for x in blob[len(JOURNAL_MAGIC):end].split(b" "))
    except ValueError:
        return None
    start = end + 1
    name = blob[start:start + n_name]
    body = start + n_name + 1
    if len(blob) != body + n_old + n_new or blob[body - 1:body] != b"\n":
        return None
    return dev, ino, name, blob[body:body + n_old], blob[body + n_old:]


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    lo = 0
    step = 1 << 16
    while lo < n and a[lo:lo + step] == b[lo:lo + step]:
        lo += step
    lo = min(lo, n)
    while lo < n and a[lo] == b[lo]:
        lo += 1
    return lo


def interrupted_state(current: bytes, old: bytes, new: bytes) -> bool:
    """Whether ``current`` is what a rewrite of ``old`` into ``new`` leaves when stopped at some point:
    ``new[:k] + old[k:]`` (over the old bytes, or over them zero-extended by the space reservation), or
    ``new[:k]`` when the old file was shorter than k. The old and new files themselves qualify."""
    if current == new:
        return True
    k = _common_prefix(current, new)
    if k == len(current) and len(old) <= len(current) <= len(new):
        return True  # new bytes all the way (or a prefix of them, past the old end)
    padded = old + b"\0" * max(0, len(new) - len(old))
    for base in (old, padded):
        if len(current) == len(base) and current[k:] == base[k:]:
            return True
    return False


def recover(journal: str) -> None:
    """Finish the interrupted rewrite a journal describes, then remove the journal."""
    with open(journal, "rb") as f:
        parsed = _parse_journal(f.read())
    if parsed is None:
        log.warning("%s is not a sops-py journal (left in place)", journal)
        return
    dev, ino, name, old, new = parsed
    target = os.path.join(os.path.dirname(journal), os.fsdecode(name))
    try:
        fd = os.open(target, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        remove_journal(journal)  # the file is gone or replaced: nothing to finish
        return
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (dev, ino):
            remove_journal(journal)
            return
        current = read_fd(fd)
        if current != new:
            if not interrupted_state(current, old, new):
                log.warning("%s holds an interrupted write to %s, which has changed since: left in place",
                            journal, target)
                return
            rewrite(fd, current, new)
    finally:
        os.close(fd)
    remove_journal(journal)
