"""Every command that writes a file keeps what the user had (owner, group, mode, extended attributes,
hard links, symlinks), and a write that cannot complete (read-only mount, full disk, a disk error in
the middle) leaves the user's file exactly as it was, with no copy of the plaintext beside it.

Commands run in this process (tests.cli.cli_harness.run_py) unless a real mount or the real sops is
involved. The tests run as root here (CI too): ownership is tested by giving the file to another uid.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sops_py import api
from sops_py.ops import inplace, leftovers
from tests.cli.cli_harness import run_go, run_py
from tests.helpers import AGE2_RECIPIENT, AGE_KEY_FILE, AGE_RECIPIENT

ROOT = os.geteuid() == 0
OTHER_UID, OTHER_GID = 4321, 4322
PLAIN = b"# service credentials\ndb:\n    user: app\n    password: hunter2\nport: 5432\n"
EDITOR = """\
import sys
path = sys.argv[-1]
text = open(path).read()
open(path, "w").write(text.replace("hunter2", "correct horse"))
"""


@pytest.fixture(autouse=True)
def _fresh_sweeps() -> None:
    leftovers._swept.clear()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    home = tmp_path / "home"
    home.mkdir()
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    e.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE),
             EDITOR=f"{sys.executable} {editor}", SOPS_EDITOR="")
    return e


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(inplace.PREFIX))


def _encrypted(path: Path) -> Path:
    path.write_bytes(api.encrypt(PLAIN, "yaml", age=AGE_RECIPIENT))
    return path


# Each case: (name, prepare(dir) -> file to check, argv run in dir). The file starts encrypted unless noted.
def _in_place_commands(d: Path) -> dict[str, tuple[Path, list[str]]]:
    enc = d / "secret.yaml"
    plain = d / "plain.yaml"
    return {
        "encrypt -i": (plain, ["encrypt", "-i", "--age", AGE_RECIPIENT, str(plain)]),
        "decrypt -i": (enc, ["decrypt", "-i", str(enc)]),
        "rotate -i": (enc, ["rotate", "-i", str(enc)]),
        "set": (enc, ["set", str(enc), '["db"]["password"]', '"new"']),
        "unset": (enc, ["unset", str(enc), '["port"]']),
        "edit": (enc, ["edit", str(enc)]),
        "updatekeys": (enc, ["updatekeys", "-y", str(enc)]),
        "groups add": (enc, ["groups", "add", "--file", str(enc), "--in-place", "--age", AGE2_RECIPIENT]),
        "batch encrypt -i": (plain, ["encrypt", "-i", "--age", AGE_RECIPIENT, str(plain), str(d / "second.yaml")]),
    }


COMMANDS = list(_in_place_commands(Path("/")))


def _prepare(d: Path, name: str) -> tuple[Path, list[str]]:
    (d / ".sops.yaml").write_text(f"creation_rules:\n  - age: {AGE_RECIPIENT},{AGE2_RECIPIENT}\n")
    _encrypted(d / "secret.yaml")
    (d / "plain.yaml").write_bytes(PLAIN)
    (d / "second.yaml").write_bytes(PLAIN)
    return _in_place_commands(d)[name]


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> None:
    r = run_py(argv, env=env, cwd=cwd)
    assert r.code == 0, r.err


@pytest.mark.skipif(not ROOT, reason="giving a file to another user needs root")
@pytest.mark.parametrize("name", COMMANDS)
def test_owner_group_mode_and_attributes_survive(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    """Root running a command on a service user's file leaves it that user's, with its mode and attributes."""
    target, argv = _prepare(tmp_path, name)
    os.chown(target, OTHER_UID, OTHER_GID)
    os.chmod(target, 0o640)
    os.setxattr(target, "user.owner-team", b"payments")
    before = target.read_bytes()
    _run(argv, env, tmp_path)
    s = target.stat()
    assert target.read_bytes() != before
    assert (s.st_uid, s.st_gid, stat.S_IMODE(s.st_mode)) == (OTHER_UID, OTHER_GID, 0o640)
    assert os.getxattr(target, "user.owner-team") == b"payments"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", COMMANDS)
def test_hard_links_see_the_new_content(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    target, argv = _prepare(tmp_path, name)
    (tmp_path / "elsewhere").mkdir()
    twin = tmp_path / "elsewhere" / "twin.yaml"
    os.link(target, twin)
    before = target.read_bytes()
    _run(argv, env, tmp_path)
    after = target.read_bytes()
    assert after != before and twin.read_bytes() == after
    assert target.stat().st_ino == twin.stat().st_ino and target.stat().st_nlink == 2
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "elsewhere") == []


@pytest.mark.parametrize("name", ["encrypt -i", "decrypt -i", "set", "edit"])
def test_in_place_through_a_symlink_writes_the_target_as_sops(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    results = []
    for tool in ("sops-py", "sops"):
        d = tmp_path / tool
        d.mkdir()
        target, argv = _prepare(d, name)
        real = d / "real" / target.name
        real.parent.mkdir()
        before = target.read_bytes()
        shutil.move(target, real)
        target.symlink_to(Path("real") / target.name)
        r = run_py(argv, env=env, cwd=d) if tool == "sops-py" else run_go(argv, env=env, cwd=d)
        assert r.code == 0, r.err
        results.append((target.is_symlink(), os.readlink(target), real.read_bytes() != before))
        assert _leftovers(d) == [] and _leftovers(real.parent) == []
    assert results[0] == results[1] == (True, "real/" + Path(_in_place_commands(tmp_path)[name][0]).name, True)


# ------------------------------------------------------------------ writes that cannot complete


def _sh(*argv: str) -> bool:
    return subprocess.run(list(argv), capture_output=True, check=False).returncode == 0


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """Mount points a test made, unmounted afterwards (lazily, so a failed test cannot leave one busy)."""
    made: list[Path] = []
    yield made
    for m in reversed(made):
        _sh("umount", "-l", str(m))


def _read_only(d: Path, mounts: list[Path]) -> None:
    if not (_sh("mount", "--bind", str(d), str(d)) and (mounts.append(d) or True)
            and _sh("mount", "-o", "remount,ro,bind", str(d))):
        pytest.skip("a read-only bind mount is not possible here (needs root and mount privileges)")


def _tmpfs(d: Path, mounts: list[Path], size: str) -> None:
    d.mkdir()
    if not _sh("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)):
        pytest.skip("mount -t tmpfs is not permitted here: the full-disk case is covered by the injected "
                    "ENOSPC tests below")
    mounts.append(d)


def test_read_only_mount_fails_as_sops_and_keeps_the_file(tmp_path: Path, env: dict[str, str],
                                                          mounts: list[Path]) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    f = d / "plain.yaml"
    f.write_bytes(PLAIN)
    _read_only(d, mounts)
    argv = ["encrypt", "-i", "--age", AGE_RECIPIENT, str(f)]
    py, go = run_py(argv, env=env, cwd=tmp_path), run_go(argv, env=env, cwd=tmp_path)
    assert (py.code, py.err) == (go.code, go.err) == (3, f"Could not open in-place file for writing: open {f}: "
                                                         "read-only file system\n")
    assert f.read_bytes() == PLAIN


def _filled_tmpfs(tmp_path: Path, mounts: list[Path]) -> tuple[Path, bytes]:
    """A 256 KiB tmpfs holding a plaintext file that fits, with too little room left for its encryption."""
    d = tmp_path / "small"
    _tmpfs(d, mounts, "256k")
    plain = b"".join(b"key%d: value number %d, a secret of some length\n" % (i, i) for i in range(1500))
    f = d / "big.yaml"
    f.write_bytes(plain)
    filler = d / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # fill what is left, then free a little: not enough for the new file
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - 16384))
    return f, plain


@pytest.mark.parametrize("hard_linked", [False, True])
def test_full_disk_keeps_the_file_where_sops_damages_it(hard_linked: bool, tmp_path: Path, env: dict[str, str],
                                                        mounts: list[Path]) -> None:
    f, plain = _filled_tmpfs(tmp_path, mounts)
    if hard_linked:
        os.link(f, f.parent / "twin.yaml")
    r = run_py(["encrypt", "-i", "--age", AGE_RECIPIENT, str(f)], env=env, cwd=tmp_path)
    assert (r.code, r.err) == (1, f"write {f}: no space left on device\n")  # sops' code and words
    assert f.read_bytes() == plain and _leftovers(f.parent) == []
    if hard_linked:
        assert (f.parent / "twin.yaml").read_bytes() == plain
    # the real sops truncates the file and writes what fits
    go = run_go(["encrypt", "-i", "--age", AGE_RECIPIENT, str(f)], env=env, cwd=tmp_path)
    assert (go.code, go.err) == (1, f"write {f}: no space left on device\n")
    assert f.read_bytes() != plain


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    made: list[Path] = []

    def make(d: Path) -> None:
        if not _sh("chattr", "+i", str(d)):
            pytest.skip("chattr +i is not possible here (needs root and a file system with attributes)")
        made.append(d)

    yield make
    for d in made:
        _sh("chattr", "-i", str(d))


@pytest.mark.parametrize("name", ["encrypt -i", "decrypt -i", "rotate -i", "set", "edit"])
def test_directory_taking_no_new_entries_is_rewritten_in_place(name: str, tmp_path: Path, env: dict[str, str],
                                                               immutable: Callable[[Path], None],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(AGE_KEY_FILE))
    d = tmp_path / "locked"
    d.mkdir()
    target, argv = _prepare(d, name)
    ino, before = target.stat().st_ino, target.read_bytes()
    immutable(d)
    r = run_py(argv, env=env, cwd=d)
    assert r.code == 0, r.err
    assert target.stat().st_ino == ino and target.read_bytes() != before
    assert _leftovers(d) == []
    if name != "decrypt -i":
        assert api.decrypt(target.read_bytes(), "yaml") != b""
    # a new file cannot be made there: the same refusal as sops
    argv = ["encrypt", "--age", AGE_RECIPIENT, "--output", str(d / "new.yaml"), str(tmp_path / "home")]
    (tmp_path / "p.yaml").write_bytes(PLAIN)
    argv[-1] = str(tmp_path / "p.yaml")
    py, go = run_py(argv, env=env, cwd=tmp_path), run_go(argv, env=env, cwd=tmp_path)
    assert (py.code, py.err) == (go.code, go.err) == (3, f"Could not open output file for writing: open {d}/new.yaml: "
                                                         "operation not permitted\n")


# ------------------------------------------------------------------ a disk error in the middle of every write


def _write_paths(d: Path) -> dict[str, tuple[Path, Callable[[dict[str, str]], int]]]:
    """Every way sops-py writes a user's file: the CLI commands, --output onto the input, --output-dir,
    and the library's file functions. Each returns its exit code (0 or the error's)."""

    def cli(argv: list[str]) -> Callable[[dict[str, str]], int]:
        def run(env: dict[str, str]) -> int:
            r = run_py(argv, env=env, cwd=d)
            assert "Traceback" not in r.err and "hunter2" not in r.err, r.err
            assert r.code == 0 or r.err.splitlines()[-1].endswith(": no space left on device"), r.err
            return r.code
        return run

    def library(call: Callable[[], object]) -> Callable[[dict[str, str]], int]:
        def run(env: dict[str, str]) -> int:
            from sops_py.errors import SopsError

            saved = dict(os.environ)
            os.environ.update(env)
            try:
                call()
            except SopsError as e:
                return e.exit_code
            finally:
                os.environ.clear()
                os.environ.update(saved)
            return 0
        return run

    enc, plain = d / "secret.yaml", d / "plain.yaml"
    paths = {name: (target, cli(argv)) for name, (target, argv) in _in_place_commands(d).items()}
    paths["--output onto the input"] = (plain, cli(["encrypt", "--age", AGE_RECIPIENT, "--output", str(plain),
                                                    str(plain)]))
    paths["--output-dir"] = (d / "out" / "plain.yaml",
                             cli(["encrypt", "--age", AGE_RECIPIENT, "--output-dir", str(d / "out"), str(plain)]))
    paths["api.update_file"] = (enc, library(lambda: api.update_file(enc, lambda data: data.update(port=1))))
    paths["api.encrypt_file"] = (plain, library(lambda: api.encrypt_file(plain, in_place=True, age=AGE_RECIPIENT)))
    paths["api.dump_file"] = (enc, library(lambda: api.dump_file({"a": "b"}, enc, age=AGE_RECIPIENT)))
    return paths


WRITE_PATHS = list(_write_paths(Path("/")))


def _disk_fills_under(monkeypatch: pytest.MonkeyPatch, d: Path, budget: int) -> None:
    """Writes to files under ``d`` (named or not yet) fail with ENOSPC once ``budget`` bytes are written."""
    used = [0]
    real_write, real_pwrite = os.write, os.pwrite

    def allowed(fd: int, n: int) -> int:
        try:
            where = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return n
        if not where.startswith(str(d)):
            return n
        if used[0] >= budget:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(n, budget - used[0])
        used[0] += n
        return n

    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:allowed(fd, len(data))]))
    monkeypatch.setattr(os, "pwrite", lambda fd, data, off: real_pwrite(fd, bytes(data)[:allowed(fd, len(data))],
                                                                         off))
    monkeypatch.setattr(os, "posix_fallocate", lambda fd, off, n: None)  # space reservation unsupported


@pytest.mark.parametrize("budget", [0, 40])  # nothing written, or part of the smallest output
@pytest.mark.parametrize("hard_linked", [False, True])
@pytest.mark.parametrize("name", WRITE_PATHS)
def test_disk_error_mid_write_leaves_the_file_intact(name: str, hard_linked: bool, budget: int, tmp_path: Path,
                                                     env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "w"
    d.mkdir()
    _prepare(d, "set")
    (d / "out").mkdir()
    (d / "out" / "plain.yaml").write_bytes(b"previous output\n")
    target, run = _write_paths(d)[name]
    if hard_linked:
        os.link(target, tmp_path / "twin")
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    _disk_fills_under(monkeypatch, d, budget)
    code = run(env)
    monkeypatch.undo()
    assert code == 1
    assert {p: p.read_bytes() for p in d.rglob("*") if p.is_file()} == before
    if hard_linked:
        assert (tmp_path / "twin").read_bytes() == before[target]
    assert _leftovers(d) == [] and _leftovers(d / "out") == []


def test_leftover_of_an_older_run_is_ignored_by_git(tmp_path: Path) -> None:
    """The pattern the README gives for .gitignore covers every name sops-py writes beside a file."""
    (tmp_path / ".gitignore").write_text(".sops-py-*\n")
    names = [inplace._random_name(inplace.TMP_SUFFIX), inplace._random_name(inplace.JOURNAL_SUFFIX),
             inplace._random_name(inplace.JOURNAL_SUFFIX + inplace.TMP_SUFFIX)]
    for n in names:
        (tmp_path / n).write_text("x")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines() == ["?? .gitignore"]
