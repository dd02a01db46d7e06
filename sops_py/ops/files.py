"""File I/O for the commands: reading inputs, and writing outputs so that a file is always whole and
keeps its owner, attributes and links (the in-place part and the cleanup of killed runs: ``inplace``)."""

from __future__ import annotations

import errno
import os
import stat
import sys

from ..errors import CouldNotReadInputFile, CouldNotWriteOutputFile, NoFileSpecified, WriteFailed
from . import inplace, leftovers


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


def write_atomic(path: str, data: bytes, what: str = "output", durable: bool = True, new_mode: int = 0o666) -> None:
    """Write ``data`` to the file at ``path`` so that it is at every moment either the old or the new
    complete file, keeps what the user had (owner, group, mode, ACLs and other extended attributes, hard
    links) and leaves no copy of either behind.

    A regular file is replaced by a complete new one: written unnamed (``O_TMPFILE``) where Linux and the
    file system allow, given the old file's owner, group, mode and extended attributes, synced, then
    named and renamed over the old one. A file the rename would change (more than one hard link, an
    owner or attribute the new inode cannot be given) or whose directory takes no new entry is
    rewritten in place instead (``inplace``: a journal first, space reserved, the old bytes restored on
    an error). A symlink is followed (the link stays). Devices, FIFOs and sockets (/dev/null,
    /dev/stdout, a pipe) are written in place: renaming over them would replace the device with a file.

    ``durable`` syncs the data (and the directory) before the call returns, so a power cut cannot leave
    the renamed file empty: wanted where the user's file is replaced, not for an output derived from an
    input that stays (--output, --output-dir), where it would cost disk flushes per file (sops syncs
    neither). ``new_mode`` (less the umask) is a new file's mode; an existing file keeps its own."""
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
        _write_special(path, target, data, what)
        return
    directory = os.path.dirname(target) or "."
    leftovers.sweep(directory)
    if st is not None and st.st_nlink > 1:
        _rewrite_existing(path, target, data, what, st)
        return
    try:
        # an existing file's copy stays private until it has the old file's owner and mode
        fd, named = inplace.open_unnamed_or_named(directory, mode=0o600 if st is not None else new_mode)
    except OSError as e:
        if st is not None and e.errno in _REFUSED:
            _rewrite_existing(path, target, data, what, st, journal=False)  # the directory takes no new entry
            return
        raise _open_error(what, path, e) from None
    try:
        replaced = _replace(fd, named, directory, target, st, data, durable)
    except BaseException as e:  # a Ctrl-C too: a named copy holds the new content, maybe plaintext
        if named is not None:
            _unlink_quietly(named)
        if isinstance(e, OSError):
            raise _write_error(path, e) from None
        raise
    if not replaced:
        if named is not None:
            _unlink_quietly(named)  # the copy that could not take the old file's place
        _rewrite_existing(path, target, data, what, st)
    elif durable:
        inplace.sync_directory(directory)


# a directory that refuses new entries (permissions, an immutable or append-only directory)
_REFUSED = (errno.EACCES, errno.EPERM)


def _replace(fd: int, named: str | None, directory: str, target: str, st: os.stat_result | None,
             data: bytes, durable: bool) -> bool:
    """Fill the new file ``fd`` and put it in place of ``target``; False (nothing changed, the new file
    discarded) when it cannot carry the old file's owner and attributes or cannot be renamed over it."""
    try:
        inplace.write_all(fd, data)
        if st is not None and not _same_attributes(fd, target, st):
            return False
        if durable:
            os.fsync(fd)
        with inplace.HeldSignals():
            if named is None:
                if st is None:
                    try:
                        inplace.link_fd(fd, target)
                        return True
                    except FileExistsError:
                        pass  # created meanwhile: replaced like any other file
                named = inplace.link_unnamed(fd, directory)
            try:
                os.replace(named, target)
            except OSError as e:
                _unlink_quietly(named)
                if st is not None and e.errno in _REFUSED:
                    return False  # e.g. a sticky directory and a file owned by someone else
                raise
            return True
    finally:
        os.close(fd)


def _same_attributes(fd: int, target: str, st: os.stat_result) -> bool:
    """Give the new file ``fd`` the owner, group, mode and extended attributes (POSIX ACLs among them)
    of ``target``; False when any cannot be reproduced (then the file must be rewritten in place)."""
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:
            return False
    os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after the chown, which clears set-id bits
    if not _copy_xattrs(fd, target):
        return False
    return stat.S_IMODE(os.fstat(fd).st_mode) == stat.S_IMODE(st.st_mode)


def _copy_xattrs(fd: int, target: str) -> bool:
    if not hasattr(os, "listxattr"):
        return True
    try:
        wanted = {name: os.getxattr(target, name) for name in os.listxattr(target)}
    except OSError as e:
        return e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP)  # no extended attributes on this file system
    try:
        present = {name: os.getxattr(fd, name) for name in os.listxattr(fd)}
    except OSError:
        present = {}
    try:
        for name, value in wanted.items():
            if present.get(name) != value:
                os.setxattr(fd, name, value)
        for name in present.keys() - wanted.keys():  # e.g. an ACL inherited from the directory's default
            os.removexattr(fd, name)
    except OSError:
        return False
    return True


def _rewrite_existing(path: str, target: str, data: bytes, what: str, st: os.stat_result | None,
                      journal: bool = True) -> None:
    """Rewrite ``target`` in place (see ``inplace``): same inode, so every name, owner and attribute stays.

    The file opened must be the one examined (``st``), reached without a symlink: whoever can write the
    directory (root rewriting a service user's file in that user's directory) could otherwise swap in
    a link to another file between the look and the write, and have it overwritten.

    The journal (old and new bytes: plaintext for decrypt -i) is removed whenever the file is whole,
    old or new, however the rewrite ends (a Ctrl-C delivered after it included); it stays only for a
    file an error left torn, for the next run to finish."""
    try:
        fd = os.open(target, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise _open_error(what, path, e) from None
    opened = os.fstat(fd)
    if st is not None and (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        raise CouldNotWriteOutputFile(f"Could not open {what} file for writing: open {path}: "
                                      "the file was replaced while it was being written")
    copy = None
    whole = True
    try:
        try:
            old = inplace.read_fd(fd)
        except OSError as e:
            raise _open_error(what, path, e) from None
        if journal:
            copy = inplace.write_journal(os.path.dirname(target) or ".", target, os.fstat(fd), old, data)
        try:
            inplace.rewrite(fd, old, data)
        except BaseException as e:
            whole = _holds(fd, old, data)  # torn: the journal is what finishes it
            if isinstance(e, OSError):
                raise _write_error(path, e) from None
            raise
    finally:
        os.close(fd)
        if copy is not None:
            copy.close(remove=whole)


def _holds(fd: int, *contents: bytes) -> bool:
    try:
        return inplace.read_fd(fd) in contents
    except OSError:
        return False


def _write_special(path: str, target: str, data: bytes, what: str) -> None:
    try:
        f = open(target, "wb")
    except OSError as e:
        raise _open_error(what, path, e) from None
    try:
        with f:
            f.write(data)
    except OSError as e:
        raise _write_error(path, e) from None


def _reason(e: OSError) -> str:
    """Go's text for an errno: strerror with a lower-case first letter."""
    text = e.strerror or str(e)
    return text[:1].lower() + text[1:]


def _open_error(what: str, path: str, e: OSError) -> CouldNotWriteOutputFile:
    return CouldNotWriteOutputFile(f"Could not open {what} file for writing: open {path}: {_reason(e)}")


def _write_error(path: str, e: OSError) -> CouldNotWriteOutputFile:
    return WriteFailed(f"write {path}: {_reason(e)}")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
