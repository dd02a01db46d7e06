"""File I/O for the commands: reading inputs and writing outputs atomically."""

from __future__ import annotations

import errno
import os
import stat
import sys

from ..errors import CouldNotReadInputFile, CouldNotWriteOutputFile, NoFileSpecified


def require_file(path: str) -> str:
    """The absolute path of an existing input file (exit 100 otherwise, as sops)."""
    abs_path = os.path.abspath(path)
    if not os.path.exists(abs_path):
        raise NoFileSpecified(f'Error: cannot operate on non-existent file "{abs_path}"')
    return abs_path


def read_input(path: str | None) -> bytes:
    if path is None:
        try:
            return sys.stdin.buffer.read()
        except OSError as e:
            raise CouldNotReadInputFile(f"Error reading from stdin: {e}") from None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        reason = e.strerror.lower() if e.strerror else str(e)
        raise CouldNotReadInputFile(f"Error reading file: open {path}: {reason}") from None


def write_atomic(path: str, data: bytes, what: str = "output", durable: bool = True) -> None:
    """Write a regular file via a temp file in its directory and a rename, keeping its mode; a
    symlink is followed (the link stays). Devices, FIFOs and sockets (/dev/null, /dev/stdout, a pipe)
    are written in place: renaming over them would replace the device with a file.

    The rename keeps readers and an interrupted run from ever seeing half a file. ``durable`` also
    syncs the data to disk before the rename, so a power cut cannot leave the renamed file empty:
    wanted where the user's file is replaced, not for an output derived from an input that stays
    (--output, --output-dir), where it would cost a disk flush per file (sops syncs neither)."""
    try:
        st: os.stat_result | None = os.lstat(path)
    except OSError:
        st = None
    target = path
    if st is not None and stat.S_ISLNK(st.st_mode):
        # a symlinked file: write where it points (symlinked directories need nothing: the kernel
        # follows them for the rename as for any other call)
        target = os.path.realpath(path)
        try:
            st = os.stat(target)
        except OSError:
            st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            with open(target, "wb") as f:
                f.write(data)
        except OSError as e:
            raise CouldNotWriteOutputFile(f"Could not open {what} file for writing: {e}") from None
        return
    mode = st.st_mode & 0o7777 if st is not None else 0o666 & ~_umask()
    directory = os.path.dirname(target) or "."
    try:
        fd, tmp = _mkstemp(directory, ".sops-py-")
    except OSError as e:
        raise CouldNotWriteOutputFile(f"Could not open {what} file for writing: {e}") from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CouldNotWriteOutputFile(f"Could not open {what} file for writing: {e}") from None


_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"  # tempfile's alphabet
_TMP_FLAGS = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
              | getattr(os, "O_BINARY", 0))


def _mkstemp(directory: str, prefix: str) -> tuple[int, str]:
    """tempfile.mkstemp(prefix=prefix, dir=directory): a new 0600 file with a random name, opened
    exclusively. tempfile itself costs ~3 ms to import (random, shutil, ...) for these few lines."""
    for _ in range(10000):  # tempfile.TMP_MAX
        name = prefix + "".join([_NAME_CHARS[b % len(_NAME_CHARS)] for b in os.urandom(8)])
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, _TMP_FLAGS, 0o600)
        except FileExistsError:
            continue
        return fd, path
    raise FileExistsError(errno.EEXIST, "No usable temporary file name found")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
