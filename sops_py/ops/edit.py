"""Edit a sops file in an editor: decrypt into a private temporary file, run the editor until the
content is valid, re-encrypt with the same data key, return the new file bytes.

Mirrors sops 3.13's ``cmd/sops/edit.go``:

* the plaintext (or, with ``show_master_keys``, the plaintext plus the ``sops`` metadata) goes into
  a fresh temporary directory (mode 0700) under the original basename, mode 0600; the directory is
  removed whatever happens (error, Ctrl-C, SIGTERM, SIGHUP). Only SIGKILL or a power cut can leave it:
  it is named ``sops-py-edit-<pid>-*`` so that the next edit removes it once that pid is gone and
  the lock the edit holds on it is free (a directory sops leaves that way stays forever);
* editor: ``$SOPS_EDITOR``, else ``$EDITOR`` (shlex-split, the path appended), else the first of
  vim, nano, vi found in PATH;
* an unchanged file (same SHA-256) stops with exit 200; content that does not load, has a top-level
  ``sops`` entry, or has no document is reported, and after Enter the editor reopens;
* the tree is re-encrypted with the data key and the Cipher (IV stash) it was decrypted with, so
  unchanged values keep their exact ciphertext; the file's own crypt rule (metadata) applies.

Deliberate differences from the Go binary, all about not losing data or looping forever:

* sops (3.11 and 3.13) silently drops every change made with ``--show-master-keys`` (the edited
  tree is assigned to a copy); here data and metadata edits are kept, as sops intends.
* sops waits for a key press on stdin and reopens the editor even when stdin is at EOF, looping
  forever; here EOF ends the edit with the error that was reported.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from .. import log
from ..cipher import Cipher
from ..datakey import KeyRing, new_data_key, wrap_groups
from ..errors import (
    CouldNotReadInputFile,
    CouldNotRetrieveKey,
    CouldNotWriteOutputFile,
    ErrorDumpingTree,
    FileAlreadyEncrypted,
    FileHasNotBeenModified,
    NeedAtLeastOneDocument,
    NoEditorFound,
    SopsError,
)
from ..metadata import Metadata
from ..semver import go_quote, raise_version
from ..stores import Store, has_sops_key
from ..tree import Branch, Comment
from . import inplace
from .crypt import ALREADY_ENCRYPTED, EncryptSettings, Opened, load_encrypted, new_metadata, open_tree, seal
from .files import read_input, write_atomic

PRESS_KEY = "Press enter to return to the editor, or Ctrl+C to exit."
NO_EDITOR = ("no editor available: sops attempts to use the editor defined in the SOPS_EDITOR or EDITOR "
             "environment variables, and if that's not set defaults to any of vim, nano, vi, but none of them "
             "could be found")
EMPTY_FILE = "File cannot be completely empty, it must contain at least one document"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, shown for a new file's lastmodified

# ------------------------------------------------------------------------------------------------
# Example content for a new file (sops' stores.ExampleComplexTree / ExampleSimpleTree / ExampleFlatTree)

WELCOME = "Welcome to SOPS! Edit this file as you please!"


def _example_complex() -> list[Branch]:
    return [Branch([
        ("hello", WELCOME),
        ("example_key", "example_value"),
        (Comment(" Example comment"), None),
        ("example_array", ["example_value1", "example_value2"]),
        ("example_number", 1234.56789),
        ("example_booleans", [True, False]),
    ])]


def _example_simple() -> list[Branch]:
    return [Branch([("Welcome!", Branch([
        (Comment(" This is an example file."), None),
        ("hello", WELCOME),
        ("example_key", "example_value"),
    ]))])]


def _example_flat() -> list[Branch]:
    return [Branch([
        (Comment(" This is an example file."), None),
        ("hello", WELCOME),
        ("example_key", "example_value"),
        ("example_multiline", "foo\nbar\nbaz"),
    ])]


_EXAMPLES: dict[str, Callable[[], list[Branch]]] = {
    "yaml": _example_complex, "json": _example_complex, "ini": _example_simple, "dotenv": _example_flat,
}


def example_bytes(store: Store) -> bytes:
    """What sops' ``EmitExample`` returns for a store."""
    if store.name == "binary":
        return WELCOME.encode()
    return store.emit_plain(_EXAMPLES[store.name]())


def example_branches(store: Store) -> list[Branch]:
    """The example tree as sops builds it: the store's example bytes loaded back by the same store."""
    try:
        return store.load_plain(example_bytes(store))
    except SopsError as e:
        raise CouldNotReadInputFile(f"Error unmarshalling file: {e}") from None


# ------------------------------------------------------------------------------------------------
# Opening: an existing file, or the example for a new one


def open_existing(data: bytes, store: Store, ring: KeyRing, order: list[str] | None,
                  ignore_mac: bool) -> Opened:
    """Load and decrypt an encrypted file (MAC checked unless ignore_mac); keeps the cipher's IV stash."""
    branches, md = load_encrypted(data, store)
    return open_tree(branches, md, ring, order, ignore_mac)


def open_example(store: Store, settings: EncryptSettings, ring: KeyRing,
                 rand: Callable[[int], bytes] = os.urandom) -> Opened:
    """The example content of ``store`` with new metadata and a new data key wrapped for every key."""
    branches = example_branches(store)
    md = new_metadata(settings)
    key = new_data_key(rand)
    try:
        wrap_groups(md, key, ring, rand)
    except SopsError as e:
        raise CouldNotRetrieveKey(f"Error encrypting the data key with one or more master keys: {e}") from None
    return Opened(branches, md, key, Cipher(key, rand))


# ------------------------------------------------------------------------------------------------
# The editor

_SIGNAL_NAMES = {
    signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGINT: "interrupt",
    signal.SIGHUP: "hangup", signal.SIGQUIT: "quit", signal.SIGABRT: "aborted",
    signal.SIGSEGV: "segmentation fault", signal.SIGPIPE: "broken pipe", signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception", signal.SIGILL: "illegal instruction",
} if hasattr(signal, "SIGKILL") else {}


def _errno_text(e: OSError) -> str:
    text = e.strerror or str(e)
    return text[:1].lower() + text[1:]


def _exit_text(returncode: int) -> str:
    """Go's *exec.ExitError text."""
    if returncode < 0:
        name = _SIGNAL_NAMES.get(-returncode)  # type: ignore[call-overload]
        return f"signal: {name}" if name else f"signal {-returncode}"
    return f"exit status {returncode}"


def editor_command(path: str, environ: Mapping[str, str]) -> list[str]:
    """argv for editing ``path``; raises NoEditorFound with sops' message."""
    var, value = "SOPS_EDITOR", environ.get("SOPS_EDITOR", "")
    if not value:
        var, value = "EDITOR", environ.get("EDITOR", "")
    search_path = environ.get("PATH", os.defpath)
    if not value:
        for name in ("vim", "nano", "vi"):
            found = shutil.which(name, path=search_path)
            if found:
                return [found, path]
        raise NoEditorFound(f"Could not run editor: {NO_EDITOR}")
    try:
        parts = shlex.split(value)
    except ValueError:
        raise NoEditorFound(f"Could not run editor: invalid ${var}: {value}") from None
    argv = [*parts, path]
    if os.sep not in argv[0]:
        found = shutil.which(argv[0], path=search_path)
        if not found:
            raise NoEditorFound(
                f'Could not run editor: exec: {go_quote(argv[0])}: executable file not found in $PATH'
            )
        argv[0] = found
    return argv


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End an editor we are abandoning (Ctrl-C, SIGTERM): it must not outlive its temporary file."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except OSError:
        pass


def run_editor(path: str, environ: Mapping[str, str]) -> None:
    """Run the editor on ``path`` with this process' stdin/stdout/stderr; NoEditorFound on failure."""
    argv = editor_command(path, environ)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        proc = subprocess.Popen(argv, env=dict(environ))
    except OSError as e:
        raise NoEditorFound(f"Could not run editor: fork/exec {argv[0]}: {_errno_text(e)}") from None
    try:
        returncode = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    if returncode != 0:
        raise NoEditorFound(f"Could not run editor: {_exit_text(returncode)}")


def wait_for_enter(fd: int = 0) -> bool:
    """Read up to a newline from stdin, a byte at a time so nothing meant for the editor is taken.
    False when stdin is at EOF or unreadable."""
    while True:
        try:
            b = os.read(fd, 1)
        except OSError:
            return False
        if not b:
            return False
        if b == b"\n":
            return True


@dataclass
class EditIO:
    """The interactive parts of an edit, replaceable in tests."""

    environ: Mapping[str, str]
    editor: Callable[[str, Mapping[str, str]], object] = run_editor
    wait: Callable[[], bool] = wait_for_enter


# ------------------------------------------------------------------------------------------------
# The session


class _Retry(Exception):
    """The edited content is not acceptable: report, wait for Enter, reopen the editor."""

    def __init__(self, message: str, detail: str | None, error: SopsError) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.error = error  # what to stop with when there is nobody to press Enter


@contextmanager
def _signals_cancel() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt during the edit, so cleanup runs (SIGINT already does)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _has_sops_top_level_key(store: Store, branch: Branch) -> bool:
    check = getattr(store, "has_sops_top_level_key", None)  # dotenv: any sops_ key
    if check is not None:
        return bool(check(branch))
    return has_sops_key([branch])


def _hash(path: str) -> bytes:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 16), b""):
                digest.update(chunk)
    except OSError as e:
        raise CouldNotReadInputFile(f"Could not hash file: {e}") from None
    return digest.digest()


def _create_private(path: str, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as e:
        raise CouldNotWriteOutputFile(f"Could not create temporary file: {e}") from None
    with os.fdopen(fd, "wb") as f:
        try:
            os.fchmod(f.fileno(), 0o600)
        except OSError as e:
            raise CouldNotWriteOutputFile(
                "Could not change permissions of temporary file to read-write for owner only: "
                f"{e}") from None
        try:
            f.write(data)
        except OSError as e:
            raise CouldNotWriteOutputFile(f"Could not write output file: {e}") from None


def _accept(edited: bytes, opened: Opened, in_store: Store, out_store: Store,
            show_master_keys: bool) -> tuple[list[Branch], Metadata]:
    """The edited tree and metadata, or _Retry with what is wrong (sops' runEditorUntilOk checks)."""
    try:
        branches = in_store.load_plain(edited)
    except SopsError as e:
        raise _Retry("Could not load tree, probably due to invalid syntax.", str(e),
                     CouldNotReadInputFile(f"Error unmarshalling file: {e}")) from None
    md = opened.metadata
    if show_master_keys:
        try:
            branches, md = in_store.load_encrypted(edited)
        except SopsError as e:
            raise _Retry("SOPS metadata is invalid.", str(e), SopsError(str(e))) from None
    elif not branches:
        raise _Retry("Tree not valid for encryption.", EMPTY_FILE, NeedAtLeastOneDocument(EMPTY_FILE))
    elif _has_sops_top_level_key(out_store, branches[0]):
        raise _Retry("Tree not valid for encryption.", ALREADY_ENCRYPTED, FileAlreadyEncrypted(ALREADY_ENCRYPTED))
    raise_version(md)
    if sum(len(g) for g in md.key_groups) == 0:
        raise _Retry("No master keys were provided, so sops can't encrypt the file.", None,
                     SopsError("No master keys were provided, so sops can't encrypt the file."))
    return branches, md


def _edit_until_ok(tmp: str, original: bytes, opened: Opened, in_store: Store, out_store: Store,
                   show_master_keys: bool, io: EditIO) -> tuple[list[Branch], Metadata]:
    while True:
        io.editor(tmp, io.environ)
        if _hash(tmp) == original:
            raise FileHasNotBeenModified("File has not changed, exiting.")
        try:
            with open(tmp, "rb") as f:
                edited = f.read()
        except OSError as e:
            raise CouldNotReadInputFile(f"Could not read edited file: {e}") from None
        try:
            return _accept(edited, opened, in_store, out_store, show_master_keys)
        except _Retry as r:
            if r.detail is None:
                log.error("%s %s", r.message, PRESS_KEY)
            else:
                log.error("%s %s", r.message, PRESS_KEY, fields={"error": r.detail})
            if not io.wait():
                raise r.error from None


EDIT_DIR_PREFIX = "sops-py-edit-"


def _sweep_edit_dirs(parent: str) -> None:
    """Remove the private directories of edits whose sops-py process was killed (SIGKILL, a power cut):
    they hold the decrypted file. Named ``sops-py-edit-<pid>-<random>``; a live or foreign pid is left."""
    try:
        names = [n for n in os.listdir(parent) if n.startswith(EDIT_DIR_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(EDIT_DIR_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except OSError:
            continue  # another user's process
        path = os.path.join(parent, name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            # an edit alive in another pid namespace (a container sharing TMPDIR) holds the lock
            if os.fstat(fd).st_uid == os.geteuid() and inplace.lock(fd, wait=False):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
        finally:
            os.close(fd)


def _lock_dir(path: str) -> int | None:
    """Hold a lock on the edit directory for as long as the edit runs: the pid in its name means
    nothing to a run in another pid namespace, the lock does."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    inplace.lock(fd)
    return fd


def edit_tree(opened: Opened, basename: str, in_store: Store, out_store: Store, io: EditIO,
              show_master_keys: bool = False, now: _dt.datetime | None = None) -> bytes:
    """Let the user edit ``opened`` in a private temporary file; return the re-encrypted file bytes.

    ``opened.cipher`` (its IV stash) and ``opened.data_key`` are reused, so values the user did not
    change are written back byte-identical. The tree and metadata in ``opened`` are replaced.
    """
    parent = io.environ.get("TMPDIR") or tempfile.gettempdir()
    _sweep_edit_dirs(parent)
    try:
        tmpdir = tempfile.mkdtemp(prefix=f"{EDIT_DIR_PREFIX}{os.getpid()}-", dir=parent)
    except OSError as e:
        raise CouldNotWriteOutputFile(f"Could not create temporary directory: {e}") from None
    held = _lock_dir(tmpdir)
    try:
        with _signals_cancel():
            tmp = os.path.join(tmpdir, basename)
            md = opened.metadata
            try:
                if show_master_keys:
                    if not md.lastmodified:
                        md.lastmodified = ZERO_TIME
                    plain = out_store.emit_encrypted(opened.branches, md)
                else:
                    plain = out_store.emit_plain(opened.branches)
            except SopsError as e:
                raise ErrorDumpingTree(f"Could not marshal tree: {e}") from None
            _create_private(tmp, plain)
            original = hashlib.sha256(plain).digest()
            del plain
            branches, md = _edit_until_ok(tmp, original, opened, in_store, out_store, show_master_keys, io)
    except KeyboardInterrupt:
        raise SopsError("User canceled operation") from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if held is not None:
            os.close(held)
    opened.branches, opened.metadata = branches, md
    seal(branches, md, opened.cipher, now)
    try:
        return out_store.emit_encrypted(branches, md)
    except SopsError as e:
        raise ErrorDumpingTree(f"Could not marshal tree: {e}") from None


def edit_file(path: str, in_store: Store, out_store: Store, ring: KeyRing, io: EditIO, *,
              settings: Callable[[], EncryptSettings], order: list[str] | None = None,
              ignore_mac: bool = False, show_master_keys: bool = False) -> None:
    """sops edit: an existing file is decrypted, a missing one starts from the store's example
    (encrypted for ``settings()``); after editing the file is written back atomically."""
    if os.path.exists(path):
        opened = open_existing(read_input(path), in_store, ring, order, ignore_mac)
    else:
        opened = open_example(in_store, settings(), ring)
    out = edit_tree(opened, os.path.basename(path), in_store, out_store, io, show_master_keys)
    write_atomic(os.path.realpath(path), out, "in-place")
