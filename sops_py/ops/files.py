"""File I/O for the commands: reading inputs and writing outputs atomically."""

from __future__ import annotations

import os
import stat
import sys
import tempfile

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


def write_atomic(path: str, data: bytes, what: str = "output") -> None:
    """Write a regular file via a temp file in its directory and a rename, keeping its mode; a
    symlink is followed (the link stays). Devices, FIFOs and sockets (/dev/null, /dev/stdout, a pipe)
    are written in place: renaming over them would replace the device with a file."""
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
        fd, tmp = tempfile.mkstemp(prefix=".sops-py-", dir=directory)
    except OSError as e:
        raise CouldNotWriteOutputFile(f"Could not open {what} file for writing: {e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CouldNotWriteOutputFile(f"Could not open {what} file for writing: {e}") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
