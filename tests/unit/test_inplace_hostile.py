"""A hostile review of the write path (sops_py.ops.files, sops_py.ops.inplace): planted or foreign
journals, leftovers of a run that is alive elsewhere (another pid namespace), names that only look
like leftovers, and Ctrl-C at the moments between two states. Each test failed before its fix."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sops_py.ops import files, inplace, leftovers
from sops_py.ops.files import write_atomic

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
OTHER_UID = 4321
OLD, NEW = b"old-bytes-" * 3, b"NEW+BYTES+" * 4


@pytest.fixture(autouse=True)
def _fresh_sweeps() -> Iterator[None]:
    leftovers._swept.clear()
    yield
    leftovers._swept.clear()


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(inplace.PREFIX))


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def _blob(target: Path, old: bytes, new: bytes, name: bytes | None = None) -> bytes:
    st_ = target.stat()
    name = target.name.encode() if name is None else name
    return (inplace.JOURNAL_MAGIC + f"{st_.st_dev} {st_.st_ino} {len(old)} {len(new)} {len(name)}\n".encode()
            + name + b"\n" + old + new)


def _torn(d: Path) -> Path:
    """A hard-linked file left half-rewritten (new bytes up to 12, old after) by a killed run."""
    f = d / "linked.yaml"
    f.write_bytes(NEW[:12] + OLD[12:])
    os.link(f, d / "twin.yaml")
    return f


def _journal_path(d: Path, pid: int) -> Path:
    return d / f".sops-py-{pid}-abcdefgh.copy"


def _journal(d: Path, f: Path, pid: int, mode: int = 0o600) -> Path:
    j = _journal_path(d, pid)
    fd = os.open(j, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, _blob(f, OLD, NEW))
    os.fchmod(fd, mode)
    os.close(fd)
    return j


def _any_write(d: Path) -> None:
    write_atomic(str(d / "other.yaml"), b"x")


# ------------------------------------------------------------------ journals that must not be applied


def test_a_symlink_named_like_a_journal_is_not_followed(tmp_path: Path) -> None:
    f = _torn(tmp_path)
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    (elsewhere / "blob").write_bytes(_blob(f, OLD, NEW))
    _journal_path(tmp_path, _dead_pid()).symlink_to(elsewhere / "blob")
    _any_write(tmp_path)
    assert f.read_bytes() == NEW[:12] + OLD[12:]  # not rewritten from a file outside our control


def test_a_fifo_named_like_a_journal_does_not_hang_the_run(tmp_path: Path) -> None:
    os.mkfifo(_journal_path(tmp_path, _dead_pid()))
    code = f"from sops_py.ops import files; files.write_atomic({str(tmp_path / 'out.yaml')!r}, b'x')"
    r = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2], timeout=30, check=False,
                       capture_output=True)
    assert r.returncode == 0 and (tmp_path / "out.yaml").read_bytes() == b"x"


@ROOT_ONLY
def test_a_journal_owned_by_another_user_is_not_applied(tmp_path: Path) -> None:
    """Someone who can write the directory but not the file must not get the file rewritten by the
    next sops-py run of its owner (here root) with bytes of their choosing."""
    f = _torn(tmp_path)
    j = _journal(tmp_path, f, _dead_pid())
    os.chown(j, OTHER_UID, OTHER_UID)
    _any_write(tmp_path)
    assert f.read_bytes() == NEW[:12] + OLD[12:] and j.exists()


@ROOT_ONLY
def test_a_journal_owned_by_the_files_owner_is_applied(tmp_path: Path) -> None:
    """The file's owner could write those bytes anyway: their journal is finished (root recovering
    a run of the service user)."""
    f = _torn(tmp_path)
    os.chown(f, OTHER_UID, OTHER_UID)
    j = _journal(tmp_path, f, _dead_pid())
    os.chown(j, OTHER_UID, OTHER_UID)
    _any_write(tmp_path)
    assert f.read_bytes() == NEW and not j.exists()


def test_a_journal_others_can_write_is_not_applied(tmp_path: Path) -> None:
    f = _torn(tmp_path)
    j = _journal(tmp_path, f, _dead_pid(), mode=0o666)
    _any_write(tmp_path)
    assert f.read_bytes() == NEW[:12] + OLD[12:] and j.exists()


def test_a_hard_linked_journal_is_not_applied(tmp_path: Path) -> None:
    f = _torn(tmp_path)
    j = _journal(tmp_path, f, _dead_pid())
    os.link(j, tmp_path / "kept-elsewhere")
    _any_write(tmp_path)
    assert f.read_bytes() == NEW[:12] + OLD[12:]


@pytest.mark.parametrize("name", [b"../victim.yaml", b"sub/victim.yaml", b"..", b"."])
def test_a_journal_naming_a_file_outside_its_directory_is_not_applied(tmp_path: Path, name: bytes) -> None:
    d = tmp_path / "repo"
    (d / "sub").mkdir(parents=True)
    victim = tmp_path / "victim.yaml" if name.startswith(b"../") else d / "sub" / "victim.yaml"
    victim.write_bytes(OLD)
    j = _journal_path(d, _dead_pid())
    j.write_bytes(_blob(victim, OLD, NEW, name))
    os.chmod(j, 0o600)
    _any_write(d)
    assert victim.read_bytes() == OLD


def test_a_whole_old_file_is_left_old_and_its_journal_dropped(tmp_path: Path) -> None:
    """A run killed (or interrupted) after writing its journal but before touching the file left the
    old file whole: the next run must not apply a change the user saw fail."""
    f = tmp_path / "linked.yaml"
    f.write_bytes(OLD)
    j = _journal(tmp_path, f, _dead_pid())
    _any_write(tmp_path)
    assert f.read_bytes() == OLD and not j.exists()


def test_a_journal_whose_header_lies_about_its_size_is_left(tmp_path: Path) -> None:
    f = _torn(tmp_path)
    j = _journal_path(tmp_path, _dead_pid())
    j.write_bytes(_blob(f, OLD, NEW) + b"trailing")
    os.chmod(j, 0o600)
    _any_write(tmp_path)
    assert f.read_bytes() == NEW[:12] + OLD[12:] and j.exists()


# ------------------------------------------------------------------ leftovers of runs alive elsewhere


def _locked(path: Path) -> int:
    """Hold the lock a live writer holds: as a run in another container (another pid namespace, where
    the pid in the name means nothing here) would."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_temporary_file_of_a_run_alive_in_another_pid_namespace_is_kept(tmp_path: Path) -> None:
    tmp = tmp_path / f".sops-py-{_dead_pid()}-abcdefgh.tmp"
    tmp.write_bytes(b"being renamed into place right now")
    fd = _locked(tmp)
    try:
        _any_write(tmp_path)
        assert tmp.exists()
    finally:
        os.close(fd)
    leftovers._swept.clear()
    _any_write(tmp_path)
    assert not tmp.exists()  # once its writer is gone, it goes


def test_a_journal_of_a_run_alive_in_another_pid_namespace_is_not_finished(tmp_path: Path) -> None:
    f = _torn(tmp_path)
    j = _journal(tmp_path, f, _dead_pid())
    fd = _locked(j)
    try:
        _any_write(tmp_path)
        assert f.read_bytes() == NEW[:12] + OLD[12:] and j.exists()
    finally:
        os.close(fd)


def test_the_files_we_create_are_locked_while_we_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes the lock check above work: our own temporaries and journals are locked until closed."""
    monkeypatch.setattr(inplace, "_proc_fd_ok", False)  # named temporaries, so the test can open them
    f = tmp_path / "s.yaml"
    f.write_bytes(OLD)
    os.link(f, tmp_path / "twin.yaml")
    probed: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def probe(fd: int) -> None:
        for p in tmp_path.iterdir():
            if p.name.startswith(inplace.PREFIX):
                other = os.open(p, os.O_RDONLY)
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    probed.append((p.name, False))
                except BlockingIOError:
                    probed.append((p.name, True))
                finally:
                    os.close(other)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", probe)
    write_atomic(str(f), NEW)  # hard-linked: journal
    write_atomic(str(tmp_path / "new.yaml"), NEW)  # temporary
    assert probed and all(locked for _, locked in probed), probed
    assert {n.rsplit(".", 1)[-1] for n, _ in probed} >= {"tmp"}


@pytest.mark.parametrize("name", ["{pid}-my-notes.tmp", "{pid}-abcdefgh.tmp.orig", "{pid}-ABCDEFGH.tmp",
                                  "{pid}-abcdefghi.copy", "{pid}x-abcdefgh.tmp"])
def test_files_that_only_look_like_leftovers_are_kept(tmp_path: Path, name: str) -> None:
    p = tmp_path / (inplace.PREFIX + name.format(pid=_dead_pid()))
    p.write_bytes(b"the user's own file")
    os.chmod(p, 0o600)
    _any_write(tmp_path)
    assert p.read_bytes() == b"the user's own file"


# ------------------------------------------------------------------ Ctrl-C between two states


def test_ctrl_c_after_the_space_is_reserved_still_leaves_a_whole_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """posix_fallocate grows the file with zeros: a KeyboardInterrupt right after it must not leave the
    file so (the rewrite runs with the signals held from the reservation on)."""
    f = tmp_path / "s.yaml"
    f.write_bytes(OLD)
    os.link(f, tmp_path / "twin.yaml")
    real = os.posix_fallocate

    def reserve_then_interrupt(fd: int, offset: int, length: int) -> None:
        real(fd, offset, length)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "posix_fallocate", reserve_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(f), NEW)
    assert f.read_bytes() in (OLD, NEW)
    assert _leftovers(tmp_path) == []


def test_ctrl_c_during_a_rewrite_removes_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal holds the old and new bytes (plaintext for decrypt -i): a SIGINT held back during
    the rewrite and delivered after it must not leave it behind."""
    f = tmp_path / "s.yaml"
    f.write_bytes(OLD)
    os.link(f, tmp_path / "twin.yaml")
    real = os.ftruncate

    def truncate_and_interrupt(fd: int, length: int) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        real(fd, length)

    monkeypatch.setattr(os, "ftruncate", truncate_and_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(f), NEW)
    assert f.read_bytes() == NEW and (tmp_path / "twin.yaml").read_bytes() == NEW
    assert _leftovers(tmp_path) == []


def test_ctrl_c_while_a_named_temporary_is_filled_removes_it(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inplace, "_proc_fd_ok", False)
    f = tmp_path / "s.yaml"
    f.write_bytes(OLD)
    real = os.write

    def interrupted(fd: int, data: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(f), b"plaintext")
    monkeypatch.setattr(os, "write", real)
    assert f.read_bytes() == OLD and _leftovers(tmp_path) == []


def test_a_named_temporary_is_removed_when_the_file_is_rewritten_in_place_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without O_TMPFILE, a new file that cannot carry the old one's attributes falls back to the
    in-place rewrite: its named copy (the whole new content) must not stay beside the target."""
    monkeypatch.setattr(inplace, "_proc_fd_ok", False)
    monkeypatch.setattr(files, "_same_attributes", lambda fd, target, st: False)
    f = tmp_path / "s.yaml"
    f.write_bytes(OLD)
    ino = f.stat().st_ino
    write_atomic(str(f), b"decrypted plaintext")
    assert f.read_bytes() == b"decrypted plaintext" and f.stat().st_ino == ino
    assert _leftovers(tmp_path) == []


def test_journals_and_temporaries_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inplace, "_proc_fd_ok", False)
    old_umask = os.umask(0)
    try:
        seen: dict[str, int] = {}
        real_fsync = os.fsync

        def spy(fd: int) -> None:
            for p in tmp_path.iterdir():
                if p.name.startswith(inplace.PREFIX):
                    seen[p.name] = stat.S_IMODE(p.lstat().st_mode)
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", spy)
        f = tmp_path / "s.yaml"
        f.write_bytes(OLD)
        os.chmod(f, 0o644)
        write_atomic(str(f), NEW)
        os.link(f, tmp_path / "twin.yaml")
        write_atomic(str(f), OLD)
    finally:
        os.umask(old_umask)
    assert seen and set(seen.values()) <= {0o600, 0o644}, seen  # 0o644: the copy once it has the target's mode
    assert any(n.endswith(".copy.tmp") for n in seen) and any(v == 0o600 for v in seen.values())


# ------------------------------------------------------------------ edit directories, set-id bits


def test_an_edit_directory_of_an_edit_alive_in_another_pid_namespace_is_kept(tmp_path: Path) -> None:
    from sops_py.ops.edit import _sweep_edit_dirs

    live = tmp_path / f"sops-py-edit-{_dead_pid()}-abc"
    live.mkdir(mode=0o700)
    (live / "secret.yaml").write_bytes(b"being edited")
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        _sweep_edit_dirs(str(tmp_path))
        assert (live / "secret.yaml").read_bytes() == b"being edited"
    finally:
        os.close(fd)
    _sweep_edit_dirs(str(tmp_path))
    assert not live.exists()


@ROOT_ONLY
@pytest.mark.skipif(not os.path.exists("/usr/bin/setpriv"), reason="needs setpriv to drop CAP_FSETID")
@pytest.mark.parametrize("owner", [OTHER_UID, 0])
def test_set_id_bits_end_as_sops_leaves_them(tmp_path: Path, owner: int) -> None:
    """Go's os.WriteFile keeps the inode, and the kernel clears set-id bits on a write by a process
    without CAP_FSETID: the replacement (or rewrite) must end with the same mode as sops' file."""
    from sops_py import api
    from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT

    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE)}
    enc = api.encrypt(b"a: b\n", "yaml", age=AGE_RECIPIENT)
    modes = {}
    for tool in (["sops"], [sys.executable, "-m", "sops_py"]):
        f = tmp_path / f"{len(tool)}.yaml"
        f.write_bytes(enc)
        os.chown(f, owner, OTHER_UID)
        os.chmod(f, 0o6755)
        r = subprocess.run(["setpriv", "--bounding-set", "-fsetid", *tool, "set", str(f), '["a"]', '"c"'],
                           env=env, capture_output=True, timeout=120, check=False, cwd=Path(__file__).parents[2])
        assert r.returncode == 0, r.stderr
        st_ = f.stat()
        modes[tool[0]] = (stat.S_IMODE(st_.st_mode), st_.st_uid, st_.st_gid)
    assert modes["sops"] == modes[sys.executable]


# ------------------------------------------------------------------ the target swapped under the write


@pytest.mark.parametrize("swap", ["symlink", "other file"])
def test_a_target_swapped_before_an_in_place_rewrite_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    swap: str) -> None:
    """Whoever can write the directory swaps the hard-linked file (just examined) for a symlink to, or
    another name of, a file they cannot write: the rewrite must not land there."""
    d = tmp_path / "theirs"
    d.mkdir()
    f = d / "s.yaml"
    f.write_bytes(OLD)
    os.link(f, d / "twin.yaml")
    victim = tmp_path / "victim"
    victim.write_bytes(b"root's file")
    real_sweep = leftovers.sweep

    def swap_then_sweep(directory: str) -> None:
        f.unlink()
        if swap == "symlink":
            f.symlink_to(victim)
        else:
            os.link(victim, f)
        real_sweep(directory)

    monkeypatch.setattr(leftovers, "sweep", swap_then_sweep)
    with pytest.raises(files.CouldNotWriteOutputFile, match=r"^Could not open output file for writing: open "):
        write_atomic(str(f), NEW)
    assert victim.read_bytes() == b"root's file"
    assert _leftovers(d) == []
