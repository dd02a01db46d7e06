"""Cleaning up after killed sops-py runs: their temporary files are removed, their journals finished or
dropped (what they are: ``inplace``). ``files.write_atomic`` sweeps a directory before its first write
into it in a process.

A sweep treats everything it finds as possibly planted by someone else who can write the directory:

* only a name exactly of the pattern ``inplace`` gives its files is considered (``leftover_kind``);
  ``.sops-py-notes.txt`` or ``.sops-py-1-my-copy.tmp`` are the user's and stay;
* the file is opened without following a symlink and without blocking (a FIFO), and must be a regular
  file;
* its writer must be gone: its pid absent here, and its ``flock`` free, because a writer alive in
  another pid namespace (a container sharing the directory) may carry a pid that is dead here;
* a journal is acted on only when whoever wrote it could have written the target anyway: it is
  private (no group or other permission), has one link, and is owned by us or by the target's owner;
  it must name a file in its own directory (a plain name, no ``/``), that file must still be the
  inode it was written for, and hold the old content, the new one, or a state that a rewrite of one
  into the other passes through (new bytes up to some offset, old after it). A whole file (old or
  new) only loses its journal, since the run that wrote it either finished or failed visibly; a torn
  file is finished to the new content. Anything else is left in place with a warning naming it.
"""

from __future__ import annotations

import errno
import os
import stat

from .. import log
from . import inplace

# a leftover of sops-py before 0.2 (".sops-py-" and 8 random characters, no pid, no lock): removed once
# older than this, when it is a private-looking regular file of ours
LEGACY_AGE_SECONDS = 600.0
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_HEADER_MAX = 8192  # magic, five numbers and a file name (NAME_MAX is 255 bytes)
_swept: set[str] = set()  # directories this process has already cleaned


def sweep(directory: str) -> None:
    """Remove (or, for journals, finish) what killed sops-py runs left in ``directory``; once per process
    and directory. Never fails: a leftover that cannot be handled now is handled by a later run."""
    key = os.path.abspath(directory)
    if key in _swept:
        return
    _swept.add(key)
    try:
        with os.scandir(directory) as entries:
            names = [e.name for e in entries if e.name.startswith(inplace.PREFIX)]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            kind = inplace.leftover_kind(name)
            if kind is None:
                if _is_legacy(name):
                    _remove_legacy(path)
                continue
            pid, suffix = kind
            if _pid_alive(pid):
                continue
            fd = _claim(path)
            if fd is None:
                continue
            try:
                if suffix == inplace.JOURNAL_SUFFIX:
                    recover(path, fd)
                else:
                    os.unlink(path)
            finally:
                os.close(fd)
        except OSError:
            continue


def _pid_alive(pid: int) -> bool:
    """Whether the process ``pid`` runs (or might: it exists under another user) in our pid namespace."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists under another user
        return True
    return True


def _claim(path: str) -> int | None:
    """The regular file at ``path`` opened and locked (its writer is gone, and no other sweep has it),
    still under that name; None otherwise (a symlink, a FIFO, a file in use)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and inplace.lock(fd, wait=False):
            now = os.lstat(path)
            if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _is_legacy(name: str) -> bool:
    rest = name[len(inplace.PREFIX):]
    return len(rest) == 8 and all(c in inplace._NAME_CHARS for c in rest)


def _remove_legacy(path: str) -> None:
    import time

    st = os.lstat(path)
    if (stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1
            and time.time() - st.st_mtime > LEGACY_AGE_SECONDS):
        os.unlink(path)


# ------------------------------------------------------------------------------------------------
# Journals


def _parse_header(head: bytes) -> tuple[int, int, int, int, bytes, int] | None:
    """(dev, ino, old length, new length, target name, offset of the old bytes) of a journal's header."""
    if not head.startswith(inplace.JOURNAL_MAGIC):
        return None
    end = head.find(b"\n", len(inplace.JOURNAL_MAGIC))
    if end < 0:
        return None
    try:
        dev, ino, n_old, n_new, n_name = (int(x) for x in head[len(inplace.JOURNAL_MAGIC):end].split(b" "))
    except ValueError:
        return None
    if min(dev, ino, n_old, n_new, n_name) < 0:
        return None
    start = end + 1
    body = start + n_name + 1
    if body > len(head) or head[body - 1:body] != b"\n":
        return None
    return dev, ino, n_old, n_new, head[start:start + n_name], body


def _plain_name(name: bytes) -> bool:
    """A name in the journal's own directory: never a path leading elsewhere."""
    return bool(name) and name not in (b".", b"..") and b"/" not in name and b"\0" not in name


def _read_journal(fd: int, size: int) -> tuple[int, int, bytes, bytes, bytes] | None:
    """(dev, ino, target name, old bytes, new bytes), or None when the file is not a whole journal. The
    header is checked against the file's size before the rest is read: a large file that merely
    carries the name is not loaded."""
    header = _parse_header(os.pread(fd, _HEADER_MAX, 0))
    if header is None:
        return None
    dev, ino, n_old, n_new, name, body = header
    if size != body + n_old + n_new or not _plain_name(name):
        return None
    blob = inplace.read_fd(fd)
    if len(blob) != size:
        return None
    return dev, ino, name, blob[body:body + n_old], blob[body + n_old:]


def recover(journal: str, fd: int) -> None:
    """Finish or drop the interrupted rewrite the journal ``fd`` (claimed: locked, its writer gone)
    describes; a journal that cannot be trusted, or whose file changed since, is left with a warning."""
    st = os.fstat(fd)
    parsed = _read_journal(fd, st.st_size) if st.st_nlink == 1 and not st.st_mode & 0o077 else None
    if parsed is None:
        log.warning("%s is not a sops-py journal (left in place)", journal)
        return
    dev, ino, name, old, new = parsed
    target = os.path.join(os.path.dirname(journal), os.fsdecode(name))
    try:
        tfd = os.open(target, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                      | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ELOOP) and st.st_uid == os.geteuid():
            inplace.remove_journal(journal)  # the file is gone or is a symlink now: nothing to finish
        return
    try:
        tst = os.fstat(tfd)
        if st.st_uid not in (os.geteuid(), tst.st_uid):
            log.warning("%s was written by another user (uid %d): left in place", journal, st.st_uid)
            return
        if not stat.S_ISREG(tst.st_mode) or (tst.st_dev, tst.st_ino) != (dev, ino):
            inplace.remove_journal(journal)  # the file was replaced since: nothing to finish
            return
        current = inplace.read_fd(tfd)
        if current not in (old, new):
            if not interrupted_state(current, old, new):
                log.warning("%s holds an interrupted write to %s, which has changed since: left in place",
                            journal, target)
                return
            inplace.rewrite(tfd, current, new)
    finally:
        os.close(tfd)
    inplace.remove_journal(journal)


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
