"""exec-env and exec-file: run ``/bin/sh -c COMMAND`` with decrypted secrets in its environment, or with
the decrypted file at a private temporary path (sops' ``cmd/sops/subcommand/exec``, 3.13).

Behaviour kept from sops:

* exec-env takes the top-level keys of the first document only; comments are skipped, a map or list value,
  a non-string key or a key containing ``=`` is an error (exit 1). Values go in raw; non-strings are
  stringified like ``stores.ValToString``. The environment is the inherited one (unless ``--pristine``) plus
  the ``--user`` variables plus the secrets, later entries winning. Quirk kept: ``--pristine`` with nothing
  to add leaves Go's ``cmd.Env`` nil, so the child inherits everything.
* exec-file writes the plaintext into ``$TMPDIR/.sops<digits>`` (0700): by default as a FIFO (0600) fed by a
  writer thread, so it never touches the disk; with ``--no-fifo`` as a regular 0600 file
  (``tmp-file<digits>`` unless ``--filename``). ``{}`` in the command is replaced by the path.
* A child that exits non-zero makes us print ``exit status N`` and exit N; one killed by a signal prints
  ``signal: <name>`` and exits 255 (Go's ``os.Exit(-1)``).
* ``--user`` switches groups, gid and uid of this process (after decrypting) and adds HOME/USER/LOGNAME.
* ``--background`` starts the child with stdio on /dev/null and returns at once; for exec-file the temporary
  directory is removed right away, as sops does (so the child rarely finds its file).

Done better than sops: the temporary directory is removed also on SIGTERM/SIGHUP/Ctrl-C (sops dies without
its deferred cleanup), which are forwarded to (SIGTERM, SIGHUP) or shared with (Ctrl-C) the child; once the
child has gone, a FIFO writer still waiting for a reader is released instead of being left blocked.
"""

from __future__ import annotations

import os
import posixpath
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from .. import log
from ..errors import ChildFailed, CouldNotReadInputFile, SopsError
from ..gotext import go_type
from ..stores.flatten import val_to_string
from ..tree import Branch, Comment

SHELL = "/bin/sh"
FALLBACK_FILENAME = "tmp-file"
NOT_LOCAL = "The provided filename is not a local path."

EnvPairs = list[tuple[bytes, bytes]]

# Go's syscall signal names on Linux (Signal.String()).
_GO_SIGNALS = {
    1: "hangup", 2: "interrupt", 3: "quit", 4: "illegal instruction", 5: "trace/breakpoint trap",
    6: "aborted",
    7: "bus error", 8: "floating point exception", 9: "killed", 10: "user defined signal 1",
    11: "segmentation fault", 12: "user defined signal 2", 13: "broken pipe", 14: "alarm clock",
    15: "terminated",
    16: "stack fault", 17: "child exited", 18: "continued", 19: "stopped (signal)", 20: "stopped",
    21: "stopped (tty input)", 22: "stopped (tty output)", 23: "urgent I/O condition",
    24: "CPU time limit exceeded", 25: "file size limit exceeded", 26: "virtual timer expired",
    27: "profiling timer expired", 28: "window changed", 29: "I/O possible", 30: "power failure",
    31: "bad system call",
}


def go_errno(e: OSError) -> str:
    """Go's syscall.Errno text: the C strerror with a lower-case first letter."""
    text = os.strerror(e.errno) if e.errno is not None else str(e)
    return text[:1].lower() + text[1:]


def go_path_error(op: str, path: str, e: OSError) -> str:
    """Go's *os.PathError text: ``op path: errno``."""
    return f"{op} {path}: {go_errno(e)}"


def read_file(path: str) -> bytes:
    """os.ReadFile with sops' error (exit 2): ``Error reading file: open PATH: no such file or directory``."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError as e:
        raise CouldNotReadInputFile(f"Error reading file: {go_path_error('read', path, e)}") from None
    except OSError as e:
        raise CouldNotReadInputFile(f"Error reading file: {go_path_error('open', path, e)}") from None


# ------------------------------------------------------------------ environment from a tree

def _text(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def env_entries(branch: Branch) -> EnvPairs:
    """The ``KEY=value`` pairs exec-env adds, from a decrypted document's top level."""
    out: EnvPairs = []
    for key, value in branch:
        if isinstance(value, (Branch, list)):
            shown = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
            raise SopsError(f"cannot use complex value in environment; offending key {shown}",
                            hint="exec-env takes top-level string values only: use exec-file for nested data, "
                                 "or flatten the file")
        if isinstance(key, Comment):
            continue
        if not isinstance(key, (str, bytes)):
            raise SopsError(f"cannot use non-string keys in environment, got {go_type(key)}")
        name = _text(key)
        if b"=" in name:
            raise SopsError(f"cannot use keys with '=' in environment: {name.decode('utf-8', 'replace')}")
        text = _text(value) if isinstance(value, (str, bytes)) else val_to_string(value).encode()
        out.append((name, text))
    return out


def build_env(inherit: bool, *parts: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes] | None:
    """The child's environment, later entries winning (Go's exec dedup). None (inherit everything) when
    nothing would be in it, as Go's nil ``cmd.Env``."""
    entries: EnvPairs = [*os.environb.items()] if inherit else []
    for part in parts:
        entries.extend(part)
    if not entries:
        return None
    env: dict[bytes, bytes] = {}
    for k, v in entries:
        if b"\0" in k or b"\0" in v:
            raise SopsError("exec: environment variable contains NUL")
        env.pop(k, None)
        env[k] = v
    return env


# ------------------------------------------------------------------ --user

@dataclass
class User:
    name: str
    uid: int
    gid: int
    home: str
    groups: list[int] = field(default_factory=list)

    def env(self) -> EnvPairs:
        """What sops 3.13 adds for --user (the 3.11 binary adds nothing)."""
        return [(b"HOME", _text(self.home)), (b"USER", _text(self.name)), (b"LOGNAME", _text(self.name))]


class ExecFatal(SopsError):
    """A failure sops' exec subcommand reports with ``log.Fatal`` on its ``EXEC`` logger: one logrus
    "fatal" line (``[EXEC]\t time="…" level=fatal msg="…"``), then exit 1."""

    def __str__(self) -> str:
        return log.fatal_line(self.message, "EXEC")


def lookup_user(name: str) -> User:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        raise ExecFatal(f"user: unknown user {name}") from None
    try:
        groups = os.getgrouplist(pw.pw_name, pw.pw_gid)
    except OSError:
        groups = [pw.pw_gid]
    return User(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir, groups)


def switch_user(user: User) -> None:
    """Become ``user`` for good (sops 3.13.2's SwitchUser: the user's supplementary groups replace
    ours, then gid and uid, real and effective alike)."""
    try:
        os.setgroups(user.groups)
        os.setgid(user.gid)
        os.setuid(user.uid)
        os.setreuid(user.uid, user.uid)
        os.setregid(user.gid, user.gid)
    except OSError as e:
        hint = f"--user {user.name} needs root" if os.geteuid() != 0 else ""
        raise ExecFatal(go_errno(e), hint=hint) from None


# ------------------------------------------------------------------ running the shell

class _Terminated(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class SignalGuard:
    """While active: SIGTERM/SIGHUP are forwarded to the child (or, before it exists, abort the setup so
    cleanup runs); Ctrl-C, which the terminal also sent to the child, is only noted while the child runs."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.done = False
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        if self.done:
            return
        if self.child is None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise _Terminated(signum)
        if signum != signal.SIGINT:
            try:
                os.kill(self.child.pid, signum)
            except OSError:
                pass

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done = True
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old.clear()

    def die_like(self, status: int | None) -> None:
        """After cleanup: if we got a signal that also ended the child (or came before it), die by it."""
        sig = self.received
        if sig is None:
            return
        if status is not None and not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig):
            return
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        raise SopsError("", 128 + sig)  # only if the signal is blocked


def _reset_signals() -> None:
    """Python ignores SIGPIPE and SIGXFSZ; an exec'd program must not inherit that (Popen does the same)."""
    for name in ("SIGPIPE", "SIGXFSZ", "SIGXFZ"):
        s = getattr(signal, name, None)
        if s is not None:
            signal.signal(s, signal.SIG_DFL)


def _start(command: str, env: dict[bytes, bytes] | None, background: bool) -> subprocess.Popen[bytes]:
    stdio = subprocess.DEVNULL if background else None
    try:
        return subprocess.Popen([SHELL, "-c", command], env=env, stdin=stdio, stdout=stdio, stderr=stdio,
                                close_fds=True, restore_signals=True)
    except OSError as e:
        raise SopsError(f"fork/exec {SHELL}: {go_errno(e)}") from None
    except ValueError as e:  # NUL bytes in the command
        raise SopsError(f"fork/exec {SHELL}: invalid argument ({e})") from None


def _wait(proc: subprocess.Popen[bytes]) -> int:
    """Wait for the child and return its raw wait status (signal handlers run in between: PEP 475)."""
    try:
        _, status = os.waitpid(proc.pid, 0)
    except ChildProcessError:  # reaped elsewhere: like Popen, call it a success
        status = 0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return status


def status_error(status: int) -> SopsError | None:
    """sops' error for a finished child: ``exit status N`` (exit N) or ``signal: NAME`` (exit 255)."""
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        return ChildFailed(f"exit status {code}", code) if code else None
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        text = "signal: " + _GO_SIGNALS.get(sig, f"signal {sig}")
        if os.WCOREDUMP(status):
            text += " (core dumped)"
        return ChildFailed(text, ChildFailed.SIGNALED)
    return ChildFailed(f"exit status {status}")


def run_shell(command: str, env: dict[bytes, bytes] | None, background: bool,
              guard: SignalGuard) -> int | None:
    """Run ``/bin/sh -c command``; the raw wait status, or None in the background."""
    try:
        proc = _start(command, env, background)
        if background:
            return None
        guard.child = proc
        return _wait(proc)
    finally:
        guard.done = True  # from now on signals are only noted, so cleanup cannot be cut short


def finish(guard: SignalGuard, status: int | None) -> None:
    """After cleanup: die by a signal we shared with the child, else report the child's status as sops."""
    guard.die_like(status)
    if status is not None:
        err = status_error(status)
        if err is not None:
            raise err


def exec_in_place(command: str, env: dict[bytes, bytes] | None) -> None:
    """--same-process: replace this process with the shell (returns only by raising)."""
    sys.stdout.flush()
    sys.stderr.flush()
    _reset_signals()
    try:
        os.execve(SHELL, [SHELL, "-c", command], env if env is not None else {})
    except OSError as e:
        raise SopsError(go_errno(e)) from None
    except ValueError as e:
        raise SopsError(f"invalid argument ({e})") from None


# ------------------------------------------------------------------ exec-env

def exec_env(secrets_env: EnvPairs, command: str, *, pristine: bool = False, background: bool = False,
             same_process: bool = False, user: str | None = None) -> None:
    """Run ``command`` with the secrets in its environment; raises SopsError carrying the child's code."""
    user_env: EnvPairs = []
    if user:
        u = lookup_user(user)
        user_env = u.env()
        switch_user(u)
    env = build_env(not pristine, user_env, secrets_env)
    if same_process:
        exec_in_place(command, env)
        return
    guard = SignalGuard()
    status: int | None = None
    try:
        with guard:
            status = run_shell(command, env, background, guard)
    except _Terminated:
        pass
    finish(guard, status)


# ------------------------------------------------------------------ exec-file

def is_local(path: str) -> bool:
    """Go's filepath.IsLocal on Unix."""
    if path == "" or posixpath.isabs(path):
        return False
    if any(part in (".", "..") for part in path.split("/")):
        path = posixpath.normpath(path)
    return not (path == ".." or path.startswith("../"))


def _go_join(directory: str, name: str) -> str:
    """filepath.Join: joined and cleaned."""
    return posixpath.normpath(directory + "/" + name)


def temp_root() -> str:
    """Go's os.TempDir on Unix: $TMPDIR, else /tmp."""
    return os.environ.get("TMPDIR") or "/tmp"


def make_temp_dir(root: str | None = None, prefix: str = ".sops") -> str:
    """os.MkdirTemp(root, prefix): ``<root>/<prefix><random uint32>``, mode 0700."""
    root = root if root is not None else temp_root()
    for _ in range(10000):
        path = posixpath.join(root, f"{prefix}{secrets.randbits(32)}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        except OSError as e:
            raise SopsError(go_path_error("mkdirtemp", posixpath.join(root, prefix + "*"), e)) from None
        return path
    raise SopsError(f"mkdirtemp {posixpath.join(root, prefix + '*')}: file exists")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_regular(directory: str, filename: str, data: bytes) -> str:
    """--no-fifo: the plaintext as a 0600 file; ``tmp-file<random>`` when no --filename (os.CreateTemp)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    if filename:
        path = _go_join(directory, filename)
        try:
            fd = os.open(path, flags | os.O_TRUNC, 0o600)
        except OSError as e:
            raise SopsError(go_path_error("open", path, e)) from None
    else:
        for _ in range(10000):
            path = f"{directory}/{FALLBACK_FILENAME}{secrets.randbits(32)}"
            try:
                fd = os.open(path, flags | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                continue
            except OSError as e:
                raise SopsError(go_path_error("open", path, e)) from None
        else:
            raise SopsError(f"open {directory}/{FALLBACK_FILENAME}: file exists")
    try:
        os.fchmod(fd, 0o600)
        _write_all(fd, data)
    except OSError as e:
        raise SopsError(go_path_error("write", path, e)) from None
    finally:
        os.close(fd)
    return path


class FifoWriter(threading.Thread):
    """Feeds the plaintext to the first reader of a FIFO, then closes it (sops' WritePipe)."""

    def __init__(self, path: str, data: bytes) -> None:
        super().__init__(name="sops-fifo-writer", daemon=True)
        self.path = path
        self.data = data
        self.error: OSError | None = None

    def run(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)  # blocks until a reader opens the FIFO
        except OSError as e:
            self.error = e
            return
        try:
            _write_all(fd, self.data)
        except OSError:
            pass  # the reader went away early (EPIPE): its business
        finally:
            os.close(fd)

    def release(self, timeout: float = 0.5) -> None:
        """Unblock a writer still waiting for a reader: open and close the read end ourselves, so its
        open returns and its write fails with EPIPE. Never reads the plaintext."""
        if not self.is_alive():
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            pass
        else:
            os.close(fd)
        self.join(timeout)


def make_fifo(directory: str, filename: str) -> str:
    path = _go_join(directory, filename or FALLBACK_FILENAME)
    try:
        os.mkfifo(path, 0o600)
    except OSError as e:
        raise SopsError(go_errno(e)) from None
    return path


@contextmanager
def private_dir(root: str | None = None) -> Iterator[str]:
    """A fresh 0700 temporary directory, removed on the way out whatever happens."""
    directory = make_temp_dir(root)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def exec_file(plaintext: bytes, command: str, *, fifo: bool = True, background: bool = False,
              user: str | None = None, filename: str = "", tmp_root: str | None = None) -> None:
    """Run ``command`` with ``{}`` replaced by the path of the plaintext; raises SopsError carrying the
    child's code. The temporary directory is gone when this returns or raises."""
    user_env: EnvPairs = []
    if user:
        u = lookup_user(user)
        user_env = u.env()
        switch_user(u)
    guard = SignalGuard()
    status: int | None = None
    writer: FifoWriter | None = None
    try:
        with guard, private_dir(tmp_root) as directory:
            try:
                if filename and (posixpath.isabs(filename) or not is_local(filename)):
                    raise SopsError(NOT_LOCAL)
                if fifo:
                    path = make_fifo(directory, filename)
                    writer = FifoWriter(path, plaintext)
                    writer.start()
                else:
                    path = write_regular(directory, filename, plaintext)
                env = build_env(True, user_env)
                status = run_shell(command.replace("{}", path), env, background, guard)
            finally:
                guard.done = True  # signals are only noted from here on: the cleanup runs to the end
                if writer is not None:
                    writer.release()
    except _Terminated:
        pass
    if writer is not None and writer.error is not None and not background:
        log.warning("could not open the FIFO for writing: %s", go_errno(writer.error), name="EXEC")
    finish(guard, status)
