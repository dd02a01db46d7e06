"""Output files (sops_py.ops.files, sops_py.ops.inplace): a file is replaced whole or rewritten in place
keeping its owner, attributes and links; leftovers of killed runs are recognised and cleaned up."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sops_py.errors import CouldNotWriteOutputFile
from sops_py.ops import files, inplace, leftovers
from sops_py.ops.files import write_atomic

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
OTHER_UID, OTHER_GID = 4321, 4322


@pytest.fixture(autouse=True)
def _fresh_sweeps() -> None:
    leftovers._swept.clear()  # each test's directory is new, but keep the per-process cache out of the way


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(inplace.PREFIX))


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_regular_file_replaced_keeping_mode(tmp_path: Path) -> None:
    f = tmp_path / "secret.yaml"
    f.write_text("old")
    os.chmod(f, 0o640)
    ino = f.stat().st_ino
    write_atomic(str(f), b"new")
    assert f.read_bytes() == b"new"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert f.stat().st_ino != ino  # replaced by a rename, not rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["secret.yaml"]  # no temp file left


def test_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(str(tmp_path / "new.yaml"), b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o640
    assert (tmp_path / "new.yaml").read_bytes() == b"x"


def test_no_named_file_exists_while_the_data_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new content is written into an unnamed file (O_TMPFILE): a kill during the write can leave nothing."""
    f = tmp_path / "secret.yaml"
    f.write_text("old")
    seen: list[list[str]] = []
    real_write = os.write

    def spy(fd: int, data: Any) -> int:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    write_atomic(str(f), b"plaintext" * 1000)
    write_atomic(str(tmp_path / "created.yaml"), b"plaintext")
    assert seen and all(names in (["secret.yaml"], ["created.yaml", "secret.yaml"]) for names in seen)
    assert f.read_bytes() == b"plaintext" * 1000


def test_symlink_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    write_atomic(str(link), b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_fifo_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    # the same path as --output /dev/null or /dev/stdout: a rename would turn the device into a file
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_atomic(str(fifo), b"payload")
    reader.join(timeout=10)
    assert got == [b"payload"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_hard_links_are_all_updated(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_bytes(b"old content that is longer than the new one")
    os.link(a, b)
    ino = a.stat().st_ino
    write_atomic(str(a), b"new")
    assert a.read_bytes() == b.read_bytes() == b"new"
    assert a.stat().st_ino == b.stat().st_ino == ino and a.stat().st_nlink == 2
    write_atomic(str(b), b"grown " * 1000)
    assert a.read_bytes() == b"grown " * 1000
    assert _leftovers(tmp_path) == []  # the journal is gone


@ROOT_ONLY
def test_owner_group_and_setgid_mode_are_kept(tmp_path: Path) -> None:
    f = tmp_path / "svc.yaml"
    f.write_text("old")
    os.chown(f, OTHER_UID, OTHER_GID)
    os.chmod(f, 0o2640)
    write_atomic(str(f), b"new")
    s = f.stat()
    assert (s.st_uid, s.st_gid, stat.S_IMODE(s.st_mode)) == (OTHER_UID, OTHER_GID, 0o2640)
    assert f.read_bytes() == b"new"


def _acl(user_perm: int, uid: int, named_perm: int, group_perm: int, mask: int, other: int) -> bytes:
    """A system.posix_acl_access value (the kernel's little-endian format): version 2, then entries."""
    import struct

    undefined = 0xFFFFFFFF
    entries = [(0x01, user_perm, undefined), (0x02, named_perm, uid), (0x04, group_perm, undefined),
               (0x10, mask, undefined), (0x20, other, undefined)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def _set_or_skip(path: Path, name: str, value: bytes) -> None:
    try:
        os.setxattr(path, name, value)
    except OSError as e:
        pytest.skip(f"{name} cannot be set on this file system: {e}")


def test_extended_attributes_and_acls_are_kept(tmp_path: Path) -> None:
    f = tmp_path / "acl.yaml"
    f.write_text("old")
    os.chmod(f, 0o640)
    _set_or_skip(f, "user.origin", b"vault")
    acl = _acl(6, OTHER_UID, 4, 4, 4, 0)
    _set_or_skip(f, "system.posix_acl_access", acl)
    mode = stat.S_IMODE(f.stat().st_mode)
    write_atomic(str(f), b"new")
    assert f.read_bytes() == b"new"
    assert os.getxattr(f, "user.origin") == b"vault"
    assert os.getxattr(f, "system.posix_acl_access") == acl
    assert stat.S_IMODE(f.stat().st_mode) == mode


def test_attributes_inherited_from_the_directory_are_not_added(tmp_path: Path) -> None:
    """A default ACL on the directory gives new files an access ACL: the old file had none, so neither
    may the new one."""
    d = tmp_path / "d"
    d.mkdir()
    f = d / "plain.yaml"
    f.write_text("old")
    os.chmod(f, 0o600)
    default = _acl(7, OTHER_UID, 7, 5, 7, 5)
    _set_or_skip(d, "system.posix_acl_default", default)
    write_atomic(str(f), b"new")
    assert "system.posix_acl_access" not in os.listxattr(f)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_new_file_cannot_be_given_the_owner_so_it_is_rewritten_in_place(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "theirs.yaml"
    f.write_text("old")
    ino = f.stat().st_ino
    st_real = os.fstat

    def other_owner(fd: int) -> os.stat_result:  # the new file seems owned by someone else: fchown will fail
        s = st_real(fd)
        return os.stat_result((s.st_mode, s.st_ino, s.st_dev, s.st_nlink, s.st_uid + 1, s.st_gid, s.st_size,
                               s.st_atime, s.st_mtime, s.st_ctime))

    def refuse(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "fstat", other_owner)
    monkeypatch.setattr(os, "fchown", refuse)
    write_atomic(str(f), b"new")
    assert f.read_bytes() == b"new" and f.stat().st_ino == ino
    assert _leftovers(tmp_path) == []


def test_directory_refusing_new_entries_falls_back_to_a_rewrite(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("old")
    real_open = os.open

    def no_new_entries(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & os.O_CREAT or (flags & getattr(os, "O_TMPFILE", 0)) == getattr(os, "O_TMPFILE", -1):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", no_new_entries)
    ino = f.stat().st_ino
    write_atomic(str(f), b"new and longer")
    assert f.read_bytes() == b"new and longer" and f.stat().st_ino == ino
    with pytest.raises(CouldNotWriteOutputFile, match=r"^Could not open output file for writing: open .*new\.yaml: "
                                                         r"permission denied$"):
        write_atomic(str(tmp_path / "new.yaml"), b"x")


@pytest.mark.parametrize("hard_linked", [False, True])
@pytest.mark.parametrize("fail_after", [0, 5000, 60000])
def test_disk_full_mid_write_leaves_the_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    hard_linked: bool, fail_after: int) -> None:
    f = tmp_path / "s.yaml"
    old = b"old secret\n" * 3000
    f.write_bytes(old)
    if hard_linked:
        os.link(f, tmp_path / "twin.yaml")
    written = [0]
    real_write, real_pwrite = os.write, os.pwrite

    def budget(n: int) -> int:
        if written[0] >= fail_after:
            raise OSError(errno.ENOSPC, "No space left on device")
        allowed = min(n, fail_after - written[0])
        written[0] += allowed
        return allowed

    def write(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data)[:budget(len(data))])

    def pwrite(fd: int, data: Any, offset: int) -> int:
        return real_pwrite(fd, bytes(data)[:budget(len(data))], offset)

    def fallocate(fd: int, offset: int, length: int) -> None:
        pass  # let the write itself hit the full disk (the worst case: space reservation unsupported)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "pwrite", pwrite)
    monkeypatch.setattr(os, "posix_fallocate", fallocate)
    with pytest.raises(CouldNotWriteOutputFile) as e:
        write_atomic(str(f), b"new secret\n" * 9000)
    assert (str(e.value), e.value.exit_code) == (f"write {f}: no space left on device", 1)  # sops' words and code
    monkeypatch.undo()
    assert f.read_bytes() == old
    if hard_linked:
        assert (tmp_path / "twin.yaml").read_bytes() == old
    assert _leftovers(tmp_path) == []


def test_a_full_disk_is_found_before_a_rewrite_touches_the_file(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "s.yaml"
    f.write_bytes(b"short")
    os.link(f, tmp_path / "twin.yaml")
    touched: list[int] = []
    real_pwrite = os.pwrite

    def fallocate(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def pwrite(fd: int, data: Any, offset: int) -> int:
        touched.append(fd)
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "posix_fallocate", fallocate)
    monkeypatch.setattr(os, "pwrite", pwrite)
    with pytest.raises(CouldNotWriteOutputFile):
        write_atomic(str(f), b"much longer content")
    assert touched == [] and f.read_bytes() == b"short"


def test_signals_are_held_during_the_switch_and_delivered_after() -> None:
    order: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with inplace.HeldSignals():
            os.kill(os.getpid(), signal.SIGINT)
            order.append("finished")
        order.append("not reached")
    assert order == ["finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_killed_run_during_the_switch_finishes_the_write_first(tmp_path: Path) -> None:
    """SIGTERM arriving while the new file is being put in place ends the run only afterwards."""
    f = tmp_path / "s.yaml"
    f.write_text("old")
    code = (
        "import os, signal, sys\n"
        "from sops_py.ops import files, inplace\n"
        "real = os.replace\n"
        "def slow(a, b):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    real(a, b)\n"
        "    print('replaced', flush=True)\n"
        "os.replace = slow\n"
        f"files.write_atomic({str(f)!r}, b'new')\n"
        "print('after', flush=True)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2],
                       timeout=60, check=False)
    assert r.returncode == -signal.SIGTERM
    assert r.stdout == "replaced\n"
    assert f.read_bytes() == b"new" and _leftovers(tmp_path) == []


# ------------------------------------------------------------------ leftovers of killed runs


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".sops-py-{dead}-abcdefgh.tmp").write_text("plaintext")
    (tmp_path / f".sops-py-{dead}-abcdefgh.copy.tmp").write_text("plaintext")
    (tmp_path / f".sops-py-{alive}-abcdefgh.tmp").write_text("in use")
    legacy_old, legacy_new = tmp_path / ".sops-py-ab_cd123", tmp_path / ".sops-py-zz_zz999"
    legacy_old.write_text("plaintext")
    legacy_new.write_text("in use")
    os.utime(legacy_old, (1, 1))
    (tmp_path / ".sops-py-notes.txt").write_text("someone else's")
    write_atomic(str(tmp_path / "out.yaml"), b"x")
    assert _leftovers(tmp_path) == sorted([f".sops-py-{alive}-abcdefgh.tmp", ".sops-py-zz_zz999",
                                           ".sops-py-notes.txt"])


def _journal(tmp_path: Path, target: Path, old: bytes, new: bytes, pid: int) -> Path:
    """A journal as a run killed during an in-place rewrite leaves it."""
    st_ = target.stat()
    name = target.name.encode()
    blob = (inplace.JOURNAL_MAGIC + f"{st_.st_dev} {st_.st_ino} {len(old)} {len(new)} {len(name)}\n".encode()
            + name + b"\n" + old + new)
    j = tmp_path / f".sops-py-{pid}-abcdefgh.copy"
    j.write_bytes(blob)
    j.chmod(0o600)  # as sops-py creates it (others' journals are not trusted)
    return j


@pytest.mark.parametrize("k", [1, 7, 20, 35])
def test_an_interrupted_rewrite_is_finished_by_the_next_run(tmp_path: Path, k: int) -> None:
    old, new = b"old-bytes-" * 3, b"NEW+BYTES+" * 4
    f = tmp_path / "linked.yaml"
    f.write_bytes(new[:k] + old[k:])
    os.link(f, tmp_path / "twin.yaml")
    _journal(tmp_path, f, old, new, _dead_pid())
    write_atomic(str(tmp_path / "other.yaml"), b"x")  # any write in that directory
    assert f.read_bytes() == new and (tmp_path / "twin.yaml").read_bytes() == new
    assert _leftovers(tmp_path) == []


def test_a_journal_for_a_file_changed_since_is_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    # an earlier in-process CLI run may have configured the sops_py logger (which does not propagate)
    monkeypatch.setattr(logging.getLogger("sops_py"), "propagate", True)
    old, new = b"old-bytes-" * 3, b"NEW+BYTES+" * 4
    f = tmp_path / "linked.yaml"
    f.write_bytes(b"edited by hand since")
    j = _journal(tmp_path, f, old, new, _dead_pid())
    with caplog.at_level("WARNING", logger="sops_py"):
        write_atomic(str(tmp_path / "other.yaml"), b"x")
    assert f.read_bytes() == b"edited by hand since" and j.exists()
    assert "has changed since" in caplog.text


def test_a_journal_whose_file_was_replaced_is_dropped(tmp_path: Path) -> None:
    f = tmp_path / "linked.yaml"
    f.write_bytes(b"x")
    _journal(tmp_path, f, b"old", b"new", _dead_pid())
    (tmp_path / "replacement").write_bytes(b"another file now")  # created while the old inode lives: a new one
    os.replace(tmp_path / "replacement", f)
    write_atomic(str(tmp_path / "other.yaml"), b"x")
    assert f.read_bytes() == b"another file now" and _leftovers(tmp_path) == []


@settings(max_examples=300, deadline=None)
@given(old=st.binary(max_size=40), new=st.binary(max_size=40), k=st.integers(0, 40), pad=st.booleans())
def test_interrupted_states_are_recognised(old: bytes, new: bytes, k: int, pad: bool) -> None:
    """Every state a rewrite can be stopped in is recognised; the rewrite's own trace is the reference."""
    k = min(k, len(new))
    base = old + b"\0" * max(0, len(new) - len(old)) if pad else old
    state = new[:k] + base[k:]
    assert leftovers.interrupted_state(state, old, new)
    assert leftovers.interrupted_state(old, old, new) and leftovers.interrupted_state(new, old, new)


@settings(max_examples=300, deadline=None)
@given(old=st.binary(min_size=1, max_size=30), new=st.binary(min_size=1, max_size=30),
       other=st.binary(min_size=1, max_size=30))
def test_other_content_is_not_taken_for_an_interrupted_state(old: bytes, new: bytes, other: bytes) -> None:
    """A state is recognised only if it really is new[:k] + (old, maybe zero-extended)[k:] for some k."""
    possible = {new[:k] + base[k:] for base in (old, old + b"\0" * max(0, len(new) - len(old)))
                for k in range(len(new) + 1)}
    possible |= {new[:k] for k in range(len(old), len(new) + 1)} | {new}
    assert leftovers.interrupted_state(other, old, new) == (other in possible)


def _fsynced_paths(monkeypatch: pytest.MonkeyPatch, run: Any) -> list[str]:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    run()
    return synced


def test_replacing_the_users_file_syncs_it_but_derived_outputs_do_not(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sops_py.cli.crypt_actions import write_result

    src = tmp_path / "in.yaml"
    src.write_text("old")
    in_place = _fsynced_paths(monkeypatch, lambda: write_result(b"new", str(src), {"in_place": True}))
    # the new file (unnamed while synced: "/dir/#inode (deleted)"), then the directory with its new entry
    assert len(in_place) == 2 and in_place[-1] == str(tmp_path) and src.read_bytes() == b"new"
    out = tmp_path / "out.yaml"
    derived = _fsynced_paths(monkeypatch, lambda: write_result(b"x", str(src), {"output": str(out)}))
    assert derived == [] and out.read_bytes() == b"x"
    onto_input = _fsynced_paths(monkeypatch, lambda: write_result(b"y", str(src), {"output": str(src)}))
    assert len(onto_input) == 2 and src.read_bytes() == b"y"


def test_errors_name_the_path_as_sops_does(tmp_path: Path) -> None:
    with pytest.raises(CouldNotWriteOutputFile) as e:
        write_atomic(str(tmp_path / "missing" / "f.yaml"), b"x", "in-place")
    assert str(e.value) == (f"Could not open in-place file for writing: open {tmp_path}/missing/f.yaml: "
                            "no such file or directory")
    assert files._reason(OSError(errno.EROFS, "Read-only file system")) == "read-only file system"


@pytest.mark.parametrize("hard_linked", [False, True])
def test_without_o_tmpfile_named_temporaries_are_used_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   hard_linked: bool) -> None:
    """Other systems (or file systems without O_TMPFILE): the temporary file and the journal have
    leftover-pattern names while they exist, and none is left afterwards."""
    monkeypatch.setattr(inplace, "_proc_fd_ok", False)
    f = tmp_path / "s.yaml"
    f.write_bytes(b"old")
    if hard_linked:
        os.link(f, tmp_path / "twin.yaml")
    seen: list[str] = []
    real_write = os.write

    def spy(fd: int, data: Any) -> int:
        seen.extend(p.name for p in tmp_path.iterdir() if p.name.startswith(inplace.PREFIX))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    write_atomic(str(f), b"new")
    write_atomic(str(tmp_path / "created.yaml"), b"x")
    assert f.read_bytes() == b"new" and (tmp_path / "created.yaml").read_bytes() == b"x"
    pid = os.getpid()
    assert seen and all(n.startswith(f".sops-py-{pid}-") and n.endswith(".tmp") for n in seen)
    assert _leftovers(tmp_path) == []
