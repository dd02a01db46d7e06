"""Rewriting a file in place without ever leaving it half-written, and the files that make it safe.

``files.write_atomic`` replaces a file by renaming a complete new file over it whenever it can. A
rename cannot serve three cases: a file with several hard links (the other names would keep the old
inode), a file whose owner or extended attributes the new inode cannot be given, and a directory that
refuses new entries. Those files are rewritten in place, the way sops writes every file, but safely:

1. every byte to write is ready before the file is touched (the caller has it in memory);
2. where the directory takes new entries, a *journal* is written first and made durable: a private
   (0600) file named ``.sops-py-<pid>-<random>.copy`` holding the target's identity (device, inode,
   name) and its old and new bytes, given its name only once complete (so a journal that exists is
   always whole);
3. with SIGINT, SIGTERM, SIGHUP and SIGQUIT held back (delivered afterwards), the space the new
   content needs is reserved (``posix_fallocate``, so a full disk fails before anything is
   overwritten), the new bytes are written from offset 0, the file is cut to their length and synced;
4. the journal is removed.

If an error interrupts step 3 (a disk error, a quota) the old bytes are written back. If the process
is killed (SIGKILL, a power cut) during step 3, the journal survives and the next run finishes the
rewrite (``leftovers``).

Every temporary file and journal is created with O_EXCL and O_NOFOLLOW, mode 0600, and is locked
(``flock``) by its writer for as long as the writer has it open: the pid in the name tells a later
run in the same pid namespace that the writer is gone, the lock tells any run (another container
sharing the directory, where the pid means nothing) that it is not.

Temporary files (``.sops-py-<pid>-<random>.tmp``) only have a name when the unnamed-file route
(``O_TMPFILE``) is unavailable, or for the moment between giving the complete new file a name and
renaming it over the target. ``.sops-py-*`` is the one pattern to ignore in version control.
"""

from __future__ import annotations

import errno
import os

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

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"  # tempfile's alphabet
_CREATE_FLAGS = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
_HELD_SIGNALS = tuple(getattr(_signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                      if hasattr(_signal, name))


def _random_name(suffix: str) -> str:
    rand = "".join([_NAME_CHARS[b % len(_NAME_CHARS)] for b in os.urandom(8)])
    return f"{PREFIX}{os.getpid()}-{rand}{suffix}"


def leftover_kind(name: str) -> tuple[int, str] | None:
    """(pid, suffix) when ``name`` is exactly what this module names its files (``.sops-py-<pid>-``, eight
    characters of ``_NAME_CHARS``, then ``.tmp``, ``.copy`` or ``.copy.tmp``); None for any other name,
    which a sweep must never touch however close it looks."""
    if not name.startswith(PREFIX):
        return None
    pid, _, rest = name[len(PREFIX):].partition("-")
    rand, suffix = rest[:8], rest[8:]
    if not (pid.isdigit() and pid.isascii() and len(rand) == 8 and all(c in _NAME_CHARS for c in rand)):
        return None
    if suffix not in (TMP_SUFFIX, JOURNAL_SUFFIX, JOURNAL_SUFFIX + TMP_SUFFIX):
        return None
    return int(pid), suffix


def lock(fd: int, wait: bool = True) -> bool:
    """Take the ``flock`` that marks a file as in use; False when another open file holds it.

    Our writers lock what they create at once and keep the lock until they close it (the kernel drops
    it when the process dies, whichever pid namespace it ran in); a sweep takes it without waiting
    before it deletes or finishes anything. A file system without locks counts as unlocked: the pid
    check alone decides there."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def create_named(directory: str, suffix: str = TMP_SUFFIX, mode: int = 0o600) -> tuple[int, str]:
    """A new, empty, locked file (``mode`` less the umask) with a fresh leftover-pattern name in
    ``directory``, opened exclusively and never through a symlink."""
    for _ in range(10000):  # tempfile.TMP_MAX
        path = os.path.join(directory, _random_name(suffix))
        try:
            fd = os.open(path, _CREATE_FLAGS, mode)
        except FileExistsError:
            continue
        lock(fd)
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
    length, then a sync. On an error the old bytes are put back (best effort) and the error raised.

    Signals are held from the space reservation on: ``posix_fallocate`` already changes the file (it
    grows it with zeros), so a Ctrl-C right after it would leave neither the old nor the new file."""
    with HeldSignals():
        if len(data) > len(old) and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, len(data))
            except OSError as e:
                _truncate_quietly(fd, len(old))
                if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    raise
        try:
            write_all(fd, data, 0)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        except BaseException:
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


class Journal:
    """A complete, named journal, held open (so locked, so no sweep touches it) until ``close``."""

    __slots__ = ("fd", "path")

    def __init__(self, fd: int, path: str) -> None:
        self.fd, self.path = fd, path

    def close(self, remove: bool) -> None:
        """Release the journal; ``remove`` it first unless a torn file still needs it."""
        try:
            if remove:
                remove_journal(self.path)
        finally:
            os.close(self.fd)


def write_journal(directory: str, target: str, st: os.stat_result, old: bytes, data: bytes) -> Journal | None:
    """A complete, durable, private journal for rewriting ``target`` (``st``: the open file's stat, which
    binds the journal to that inode); None when the directory takes no new entry (the rewrite then goes
    ahead without one)."""
    name = os.fsencode(os.path.basename(target))
    header = (JOURNAL_MAGIC + f"{st.st_dev} {st.st_ino} {len(old)} {len(data)} {len(name)}\n".encode()
              + name + b"\n")
    try:
        fd, unnamed = open_unnamed_or_named(directory, JOURNAL_SUFFIX + TMP_SUFFIX)
    except OSError:
        return None
    path = unnamed
    try:
        write_all(fd, header + old)
        write_all(fd, data)
        os.fsync(fd)
        if unnamed is None:
            path = link_unnamed(fd, directory, JOURNAL_SUFFIX)
        else:
            path = unnamed[: -len(TMP_SUFFIX)]
            os.rename(unnamed, path)
    except BaseException as e:  # a Ctrl-C too: the journal holds plaintext and must not stay behind
        for p in (unnamed, path):
            if p is not None:
                _unlink_quietly(p)
        os.close(fd)
        if isinstance(e, OSError):
            return None
        raise
    sync_directory(directory)
    return Journal(fd, path)


def open_unnamed_or_named(directory: str, suffix: str = TMP_SUFFIX, mode: int = 0o600) -> tuple[int, str | None]:
    """A new empty, locked file in ``directory`` (``mode`` less the umask): unnamed (path None) where the
    system and file system offer O_TMPFILE and /proc/self/fd to name it later, else with a
    leftover-pattern name."""
    flags = getattr(os, "O_TMPFILE", 0)
    if flags and _proc_fd():
        try:
            fd = os.open(directory, flags | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), mode)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.EISDIR, errno.ENOENT):
                raise
        else:
            lock(fd)  # before it can have a name
            return fd, None
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
