"""Output files: atomic replacement of regular files, and special files written in place."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from sops_py.ops.files import write_atomic


def test_regular_file_replaced_keeping_mode(tmp_path: Path) -> None:
    f = tmp_path / "secret.yaml"
    f.write_text("old")
    os.chmod(f, 0o600)
    write_atomic(str(f), b"new")
    assert f.read_bytes() == b"new"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.yaml"]  # no temp file left


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


def _fsynced_paths(monkeypatch: object, run: object) -> list[str]:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)  # type: ignore[attr-defined]
    run()  # type: ignore[operator]
    return synced


def test_replacing_the_users_file_syncs_it_but_derived_outputs_do_not(tmp_path: Path, monkeypatch: object) -> None:
    from sops_py.cli.crypt_actions import write_result

    src = tmp_path / "in.yaml"
    src.write_text("old")
    in_place = _fsynced_paths(monkeypatch, lambda: write_result(b"new", str(src), {"in_place": True}))
    assert len(in_place) == 1 and src.read_bytes() == b"new"
    out = tmp_path / "out.yaml"
    derived = _fsynced_paths(monkeypatch, lambda: write_result(b"x", str(src), {"output": str(out)}))
    assert derived == [] and out.read_bytes() == b"x"
    onto_input = _fsynced_paths(monkeypatch, lambda: write_result(b"y", str(src), {"output": str(src)}))
    assert len(onto_input) == 1 and src.read_bytes() == b"y"
