"""exec-env and exec-file: what the child sees, exit codes, temporary files, and the same runs with sops."""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from sops_py.errors import SopsError
from sops_py.ops import exec as ex
from sops_py.tree import Branch, Comment, Time
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA
from tests.interop.sops_helpers import SOPS, run_sops

BASIC = TESTDATA / "sops" / "basic.enc.yaml"
BASIC_JSON = TESTDATA / "sops" / "basic.enc.json"
NESTED = TESTDATA / "sops" / "nested.enc.yaml"
MULTIDOC = TESTDATA / "sops" / "multidoc.enc.yaml"
COMMENTS = TESTDATA / "sops" / "comments.enc.yaml"

requires_sops = pytest.mark.skipif(SOPS is None, reason="the sops binary is not on PATH")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="--user needs root")

PY = shlex.quote(sys.executable)
# a child that prints its environment (NUL-separated, so values with newlines survive)
DUMP_ENV = "env -0"
# a child that describes the file it is given: FIFO?, permission bits, then its content
STAT_FILE = (f"{PY} -c 'import os,stat,sys; st=os.stat(sys.argv[1]); "
             "print(stat.S_ISFIFO(st.st_mode), stat.S_ISREG(st.st_mode), oct(st.st_mode & 0o777)); "
             "sys.stdout.flush(); sys.stdout.buffer.write(open(sys.argv[1],\"rb\").read())' {}")


def run_py(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], input: bytes = b"",
           timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], input=input,
                          capture_output=True, env=dict(env), timeout=timeout, check=False)


def both(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str]) -> tuple[
        subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
    return run_py(args, env), run_sops(args, env=env)


def env_of(out: bytes) -> dict[bytes, bytes]:
    pairs = [item.partition(b"=") for item in out.split(b"\0") if item]
    return {k: v for k, _, v in pairs}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Only the test age key; HOME isolated; TMPDIR private so leftovers can be checked."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    e["HOME"] = str(tmp_path / "home")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    e["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    e["TMPDIR"] = str(tmp)
    return e


def skip_without_store(*names: object) -> None:
    """dotenv and INI stores are separate modules; skip cases that need one not in this build."""
    wanted = {"dotenv": "dotenv_store", "ini": "ini_store"}
    for name in names:
        text = str(name)
        for fmt, module in wanted.items():
            if (text == fmt or text.endswith("." + {"dotenv": "env"}.get(fmt, fmt))) and \
                    importlib.util.find_spec(f"sops_py.stores.{module}") is None:
                pytest.skip(f"the {fmt} store is not part of this build")


def leftovers(env: Mapping[str, str]) -> list[str]:
    return sorted(os.listdir(env["TMPDIR"]))


def sops_encrypt(tmp_path: Path, name: str, text: str, env: Mapping[str, str]) -> Path:
    """An encrypted fixture made by the real sops."""
    plain = tmp_path / name
    plain.write_text(text)
    res = run_sops(["encrypt", "--age", AGE_RECIPIENT, plain], env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / name.replace(".", ".enc.", 1)
    out.write_bytes(res.stdout)
    return out


# ------------------------------------------------------------------ unit: values, keys, paths

@pytest.mark.parametrize(("value", "text"), [
    (8.0, "8.0"), (1.5, "1.5"), (1e21, "1E+21"), (1e-07, "1E-07"), (1234567.0, "1.234567E+06"),
    (123456.0, "123456.0"), (-0.0, "-0.0"), (float("nan"), "NaN"), (float("inf"), "+Inf"),
    (float("-inf"), "-Inf"), (True, "true"), (False, "false"), (None, "<nil>"), (1234, "1234"), (-5, "-5"),
    (Time("2024-01-02T03:04:05.123Z"), "2024-01-02T03:04:05Z"), (Time("2001-01-01T00:00:00+02:00"),
                                                                  "2001-01-01T00:00:00+02:00"),
])
def test_val_to_string(value: object, text: str) -> None:
    assert ex.val_to_string(value) == text


def test_env_entries() -> None:
    branch = Branch([(Comment("c"), None), ("a", "x\ny"), ("b", 1), ("c", b"\xff"), ("d", None), ("e", True)])
    assert ex.env_entries(branch) == [(b"a", b"x\ny"), (b"b", b"1"), (b"c", b"\xff"), (b"d", b"<nil>"),
                                      (b"e", b"true")]


@pytest.mark.parametrize(("branch", "message"), [
    (Branch([("a", "1"), ("m", Branch([("x", 1)]))]),
     "cannot use complex value in environment; offending key m"),
    (Branch([("l", [1, 2])]), "cannot use complex value in environment; offending key l"),
    (Branch([("k=v", "1")]), "cannot use keys with '=' in environment: k=v"),
    (Branch([(5, "1")]), "cannot use non-string keys in environment, got int"),
])
def test_env_entries_errors(branch: Branch, message: str) -> None:
    with pytest.raises(SopsError) as e:
        ex.env_entries(branch)
    assert str(e.value) == message and e.value.exit_code == 1


def test_build_env_last_wins_and_nil_quirk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_PY_TEST_X", "old")
    env = ex.build_env(True, [(b"SOPS_PY_TEST_X", b"new")])
    assert env is not None and env[b"SOPS_PY_TEST_X"] == b"new"
    assert ex.build_env(False, [(b"A", b"1")]) == {b"A": b"1"}
    assert ex.build_env(False, []) is None  # Go's nil cmd.Env: the child inherits everything
    with pytest.raises(SopsError, match="contains NUL"):
        ex.build_env(False, [(b"A", b"1\0")])


@pytest.mark.parametrize(("path", "local"), [
    ("tmp-file", True), ("a/b", True), ("a/../b", True), (".", True), ("..", False), ("../x", False),
    ("a/../../x", False), ("/x", False), ("", False), ("x/..", True),
])
def test_is_local_like_go(path: str, local: bool) -> None:
    assert ex.is_local(path) is local


def test_status_error_texts() -> None:
    assert ex.status_error(0) is None
    err = ex.status_error(7 << 8)
    assert err is not None and (str(err), err.exit_code) == ("exit status 7", 7)
    err = ex.status_error(signal.SIGKILL)
    assert err is not None and (str(err), err.exit_code) == ("signal: killed", 255)
    err = ex.status_error(signal.SIGSEGV | 0x80)
    assert err is not None and str(err) == "signal: segmentation fault (core dumped)"


def test_switch_user_without_privilege_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def deny(groups: list[int]) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "setgroups", deny)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SopsError) as e:
        ex.switch_user(ex.User("nobody", 65534, 65534, "/nonexistent", [65534]))
    # sops 3.13 reports it with log.Fatal on its EXEC logger; sops-py's hint goes to terminals only
    assert re.fullmatch(r'\[EXEC\]\t time="[^"]+" level=fatal msg="operation not permitted"', str(e.value))
    assert e.value.hint == "--user nobody needs root"
    assert e.value.exit_code == 1


def test_unknown_user() -> None:
    with pytest.raises(SopsError, match='^\\[EXEC\\]\t time="[^"]+" level=fatal msg="user: unknown user no-such-user-xyz"$'):
        ex.lookup_user("no-such-user-xyz")


def test_fifo_writer_is_released_when_nobody_reads(tmp_path: Path) -> None:
    path = ex.make_fifo(str(tmp_path), "")
    writer = ex.FifoWriter(path, b"secret" * 100000)
    writer.start()
    time.sleep(0.1)
    assert writer.is_alive()  # blocked in open(): no reader yet
    writer.release()
    assert not writer.is_alive()


def test_exec_file_removes_its_directory_on_every_path(tmp_path: Path) -> None:
    root = str(tmp_path)
    ex.exec_file(b"x", "test -p {}", tmp_root=root)
    with pytest.raises(SopsError) as e:
        ex.exec_file(b"x", "exit 4", tmp_root=root, fifo=False)
    assert e.value.exit_code == 4
    with pytest.raises(SopsError, match="not a local path"):
        ex.exec_file(b"x", "true", tmp_root=root, filename="../x")
    with pytest.raises(SopsError, match="^no such file or directory$"):
        ex.exec_file(b"x", "true", tmp_root=root, filename="a/b")
    assert os.listdir(root) == []


# ------------------------------------------------------------------ exec-env

def test_exec_env_environment(env: dict[str, str]) -> None:
    res = run_py(["exec-env", BASIC, DUMP_ENV], env)
    assert res.returncode == 0, res.stderr
    seen = env_of(res.stdout)
    assert seen[b"hello"] == b"world"
    assert seen[b"multiline"] == b"line one\nline two\n"  # raw, real newlines
    assert seen[b"number"] == b"1234"
    assert seen[b"bool_true"] == b"true"
    assert seen[b"float"] == b"1.5"
    assert seen[b"big_float"] == b"1E+21"
    assert seen[b"null_value"] == b"<nil>"
    assert seen[b"date"] == b"2001-01-01T00:00:00Z"
    assert seen[b"unicode"] == "héllo wörld ✓ 日本語".encode()
    assert seen[b"HOME"] == env["HOME"].encode()  # inherited
    assert b"sops" not in seen


def test_exec_env_pristine(env: dict[str, str]) -> None:
    res = run_py(["exec-env", "--pristine", BASIC, DUMP_ENV], env)
    assert res.returncode == 0, res.stderr
    seen = env_of(res.stdout)
    assert b"HOME" not in seen and b"SOPS_AGE_KEY_FILE" not in seen
    assert set(seen) - {b"PWD", b"SHLVL", b"_", b"OLDPWD"} == {
        k for k in env_of(run_py(["exec-env", BASIC, DUMP_ENV], env).stdout) if k.islower()}


def test_exec_env_flags_after_the_arguments(env: dict[str, str]) -> None:
    res = run_py(["exec-env", BASIC, DUMP_ENV, "--pristine"], env)  # urfave/cli reorders flags
    assert res.returncode == 0, res.stderr
    assert b"HOME" not in env_of(res.stdout)


def test_exec_env_exit_code(env: dict[str, str]) -> None:
    res = run_py(["exec-env", BASIC, "exit 7"], env)
    assert (res.returncode, res.stderr) == (7, b"exit status 7\n")
    res = run_py(["exec-env", BASIC, 'kill -TERM $$'], env)
    assert (res.returncode, res.stderr) == (255, b"signal: terminated\n")
    res = run_py(["exec-env", BASIC, "echo out; echo err >&2"], env)
    assert (res.returncode, res.stdout, res.stderr) == (0, b"out\n", b"err\n")


def test_exec_env_complex_value(env: dict[str, str]) -> None:
    res = run_py(["exec-env", NESTED, "echo never"], env)
    assert res.returncode == 1
    assert res.stdout == b""
    assert res.stderr == b"cannot use complex value in environment; offending key database\n"


def test_exec_env_same_process(env: dict[str, str]) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "sops_py", "exec-env", "--same-process", BASIC,
                             'echo "$$ $hello"; exit 5'], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 5 and err == b""  # the shell's own exit: no "exit status" line from us
    assert out == f"{proc.pid} world\n".encode()  # the shell replaced our process


def test_exec_env_same_process_restores_sigpipe(env: dict[str, str]) -> None:
    # Python ignores SIGPIPE; an exec'd shell must not inherit that (yes | head would never end otherwise)
    res = run_py(["exec-env", "--same-process", BASIC, 'yes | head -n 1'], env, timeout=20)
    assert (res.returncode, res.stdout) == (0, b"y\n")


def test_exec_env_errors(env: dict[str, str]) -> None:
    res = run_py(["exec-env", BASIC], env)
    assert (res.returncode, res.stderr) == (1, b"error: missing file to decrypt\n")
    res = run_py(["exec-env", "--background", "--same-process", BASIC, "true"], env)
    assert res.returncode == 8
    assert res.stderr.endswith(b"Error: The --same-process flag cannot be used with --background\n")
    res = run_py(["exec-env", "no-such.yaml", "true"], env)
    assert (res.returncode, res.stderr) == (
        2, b"Error reading file: open no-such.yaml: no such file or directory\n")
    res = run_py(["exec-env", "--decryption-order", "age,age", BASIC, "true"], env)
    assert (res.returncode, res.stderr) == (112, b"Duplicate decryption key type: age\n")


def test_exec_env_background(env: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "bg"
    res = run_py(["exec-env", "--background", BASIC, f"sleep 0.3; echo $hello > {marker}; echo lost"], env)
    assert res.returncode == 0 and res.stdout == b""  # not waited for; its stdout is /dev/null
    assert b"--background option is deprecated" in res.stderr
    for _ in range(100):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.05)
    assert marker.read_text() == "world\n"


@needs_root
def test_exec_env_user(env: dict[str, str]) -> None:
    res = run_py(["exec-env", "--user", "nobody", BASIC,
                  'id -u; id -g; echo "$HOME $USER $LOGNAME $hello"'], env)
    assert res.returncode == 0, res.stderr
    pw = pwd.getpwnam("nobody")
    assert res.stdout.decode().split("\n")[:3] == [str(pw.pw_uid), str(pw.pw_gid),
                                                   f"{pw.pw_dir} nobody nobody world"]


def test_exec_env_unknown_user(env: dict[str, str]) -> None:
    res = run_py(["exec-env", "--user", "no-such-user-xyz", BASIC, "echo never"], env)
    # as sops: log.Fatal on the EXEC logger
    assert (res.returncode, res.stdout) == (1, b"")
    assert re.fullmatch(rb'\[EXEC\]\t time="[^"]+" level=fatal msg="user: unknown user no-such-user-xyz"\n', res.stderr)


# ------------------------------------------------------------------ exec-file

def _described(out: bytes) -> tuple[str, bytes]:
    head, _, content = out.partition(b"\n")
    return head.decode(), content


def test_exec_file_fifo(env: dict[str, str]) -> None:
    res = run_py(["exec-file", BASIC, STAT_FILE], env)
    assert res.returncode == 0, res.stderr
    head, content = _described(res.stdout)
    assert head == "True False 0o600"
    assert content == (TESTDATA / "sops" / "basic.dec.yaml").read_bytes()
    assert leftovers(env) == []


def test_exec_file_no_fifo(env: dict[str, str]) -> None:
    res = run_py(["exec-file", "--no-fifo", BASIC, STAT_FILE], env)
    assert res.returncode == 0, res.stderr
    head, content = _described(res.stdout)
    assert head == "False True 0o600"
    assert content == (TESTDATA / "sops" / "basic.dec.yaml").read_bytes()
    assert leftovers(env) == []


@pytest.mark.parametrize("fifo", [True, False])
def test_exec_file_paths(env: dict[str, str], fifo: bool) -> None:
    flags = [] if fifo else ["--no-fifo"]
    res = run_py(["exec-file", *flags, BASIC, "echo {} {}; stat -c %a $(dirname {})"], env)
    assert res.returncode == 0, res.stderr
    first, second, mode = res.stdout.decode().split()
    assert first == second
    directory, name = os.path.split(first)
    assert os.path.dirname(directory) == env["TMPDIR"]
    assert os.path.basename(directory).startswith(".sops") and os.path.basename(directory)[5:].isdigit()
    assert mode == "700"
    if fifo:
        assert name == "tmp-file"
    else:
        assert name.startswith("tmp-file") and name[8:].isdigit()
    res = run_py(["exec-file", *flags, "--filename", "secrets.env", BASIC, "basename {}"], env)
    assert (res.returncode, res.stdout) == (0, b"secrets.env\n")
    assert leftovers(env) == []


@pytest.mark.parametrize(("name", "message"), [
    ("../x", "The provided filename is not a local path."),
    ("/etc/x", "The provided filename is not a local path."),
    ("a/../../x", "The provided filename is not a local path."),
    ("a/b", "no such file or directory"),
])
def test_exec_file_filename_must_be_local(env: dict[str, str], name: str, message: str) -> None:
    res = run_py(["exec-file", "--filename", name, BASIC, "echo never"], env)
    assert (res.returncode, res.stdout, res.stderr) == (1, b"", message.encode() + b"\n")
    assert leftovers(env) == []


def test_exec_file_output_type(env: dict[str, str]) -> None:
    res = run_py(["exec-file", "--output-type", "json", BASIC, "cat {}"], env)
    assert res.returncode == 0, res.stderr
    dec = run_py(["decrypt", "--output-type", "json", BASIC], env)
    assert res.stdout == dec.stdout
    res = run_py(["exec-file", "--output-type", "binary", BASIC, "cat {}"], env)
    assert res.returncode == 4 and res.stderr.startswith(b"Error dumping file: ")
    assert leftovers(env) == []


def test_exec_file_exit_code_and_cleanup(env: dict[str, str]) -> None:
    res = run_py(["exec-file", BASIC, "exit 3"], env)
    assert (res.returncode, res.stderr) == (3, b"exit status 3\n")
    res = run_py(["exec-file", BASIC, "kill -KILL $$"], env)
    assert (res.returncode, res.stderr) == (255, b"signal: killed\n")
    res = run_py(["exec-file", "--no-fifo", BASIC, "exit 9"], env)
    assert res.returncode == 9
    assert leftovers(env) == []


def test_exec_file_child_never_opens_the_fifo(env: dict[str, str]) -> None:
    start = time.monotonic()
    res = run_py(["exec-file", BASIC, "true"], env, timeout=30)
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - start < 20
    res = run_py(["exec-file", BASIC, "head -c 5 {}"], env, timeout=30)  # reads part, then closes
    assert (res.returncode, res.stdout) == (0, b"# Top")
    assert leftovers(env) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_exec_file_cleanup_on_signal(env: dict[str, str], tmp_path: Path, sig: int) -> None:
    """SIGTERM to us, or Ctrl-C (SIGINT to the whole process group): the child ends, the directory goes,
    and we die by the same signal."""
    seen = tmp_path / "path"
    proc = subprocess.Popen([sys.executable, "-m", "sops_py", "exec-file", BASIC,
                             f"echo {{}} > {seen}; exec sleep 30"], env=env, start_new_session=True,
                            stderr=subprocess.PIPE)
    try:
        for _ in range(400):
            if seen.exists() and seen.read_text().strip():
                break
            time.sleep(0.05)
        assert len(leftovers(env)) == 1
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == -sig
    assert leftovers(env) == []


@needs_root
def test_exec_file_user(env: dict[str, str]) -> None:
    shared = tempfile.mkdtemp(prefix="sops-py-exec-test-")  # reachable by nobody, unlike pytest's tmp_path
    try:
        os.chmod(shared, 0o1777)
        env = {**env, "TMPDIR": shared}
        res = run_py(["exec-file", "--user", "nobody", BASIC,
                      'stat -c "%U %a" $(dirname {}) {}; head -n 2 {}; echo "$HOME $USER"'], env)
        assert res.returncode == 0, res.stderr
        home = pwd.getpwnam("nobody").pw_dir
        assert res.stdout.decode().splitlines() == ["nobody 700", "nobody 600", "# Top-level comment",
                                                    "hello: world", f"{home} nobody"]
        assert os.listdir(shared) == []
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_exec_file_large_plaintext_through_fifo(tmp_path: Path) -> None:
    data = os.urandom(1 << 20)
    out = tmp_path / "copy"
    ex.exec_file(data, f"cat {{}} > {out}", tmp_root=str(tmp_path))
    assert out.read_bytes() == data
    assert [p for p in os.listdir(tmp_path) if p.startswith(".sops")] == []


# ------------------------------------------------------------------ the same runs with sops

@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("fixture", [BASIC, BASIC_JSON, COMMENTS, MULTIDOC], ids=lambda p: p.name)
@pytest.mark.parametrize("pristine", [False, True], ids=["inherit", "pristine"])
def test_interop_environment(env: dict[str, str], fixture: Path, pristine: bool) -> None:
    args: list[str | Path] = ["exec-env", *(["--pristine"] if pristine else []), fixture, DUMP_ENV]
    ours, theirs = both(args, env)
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
    assert env_of(ours.stdout) == env_of(theirs.stdout)


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("args", [
    ["exec-env", BASIC, "exit 7"],
    ["exec-env", BASIC, "exit 0"],
    ["exec-env", BASIC, "kill -KILL $$"],
    ["exec-env", BASIC, "kill -TERM $$"],
    ["exec-env", BASIC, "kill -INT $$"],
    ["exec-env", NESTED, "echo never"],
    ["exec-env", BASIC],
    ["exec-env", BASIC, "a", "b"],
    ["exec-env", "no-such.yaml", "true"],
    ["exec-env", "--background", "--same-process", "no-such.yaml", "true"],
    ["exec-env", "--decryption-order", "age,age", BASIC, "true"],
    ["exec-env", "--same-process", BASIC, "echo $hello; exit 6"],
    ["exec-env", BASIC, "echo $hello", "--pristine"],
    ["exec-file", BASIC, "exit 3"],
    ["exec-file", BASIC, "cat {}"],
    ["exec-file", "--no-fifo", BASIC, "cat {}; exit 2"],
    ["exec-file", "--output-type", "json", BASIC, "cat {}"],
    ["exec-file", "--output-type", "dotenv", COMMENTS, "cat {}"],
    ["exec-file", "--output-type", "binary", BASIC, "cat {}"],
    ["exec-file", "--input-type", "yaml", "--output-type", "json", BASIC, "cat {}"],
    ["exec-file", MULTIDOC, "cat {}"],
    # (a child that never opens the FIFO is left out: sops then races its writer goroutine against the
    # directory's removal and sometimes dies with "level=fatal msg=open …: no such file or directory")
    ["exec-file", BASIC, "head -c 5 {}"],
    ["exec-file", "--filename", "x.yaml", BASIC, "basename {}; cat {} >/dev/null"],
    ["exec-file", "--no-fifo", "--filename", "x.yaml", BASIC, "basename {}; stat -c %a {}"],
    ["exec-file", BASIC, "test -p {} && stat -c %a {}"],
    ["exec-file", "--no-fifo", BASIC, "test -f {} && stat -c %a {}"],
    ["exec-file", BASIC],
], ids=lambda a: " ".join(str(x).replace(str(TESTDATA), "") for x in a))
def test_interop_same_result(env: dict[str, str], args: list[str | Path]) -> None:
    skip_without_store(*args)
    ours, theirs = both(args, env)
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    assert ours.stdout == theirs.stdout
    if b"level=warning" not in theirs.stderr:
        assert ours.stderr == theirs.stderr
    assert leftovers(env) == []


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize(("text", "name"), [
    ("a: 1\n'k=v': x\n", "eq.yaml"),
    ("{}\n", "empty.json"),  # --pristine with nothing to add inherits everything (Go's nil cmd.Env)
    ("HOME: secret-home\nPATH: /nonexistent\n", "override.yaml"),
    ("list: [1, 2]\nz: 1\n", "list.yaml"),
    ("# only\nA: 'x'\nn: 1.0\nb: false\nbig: 1234567890123\nt: 2020-01-01T10:00:00.5+02:00\n", "types.yaml"),
    ("A=1\nB=two words\n", "vars.env"),
    ("[sec]\nk = v\n", "ini.ini"),
])
@pytest.mark.parametrize("flags", [[], ["--pristine"], ["--same-process"]],
                         ids=["inherit", "pristine", "same"])
def test_interop_generated_fixtures(env: dict[str, str], tmp_path: Path, text: str, name: str,
                                    flags: list[str]) -> None:
    skip_without_store(name)
    enc = sops_encrypt(tmp_path, name, text, env)
    ours, theirs = both(["exec-env", *flags, enc, DUMP_ENV], env)
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
    assert env_of(ours.stdout) == env_of(theirs.stdout)


@pytest.mark.interop
@requires_sops
def test_interop_large_fifo(env: dict[str, str], tmp_path: Path) -> None:
    enc = sops_encrypt(tmp_path, "big.yaml", "v: " + "x" * 300000 + "\n", env)
    ours, theirs = both(["exec-file", enc, "wc -c < {}"], env)
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout) == (0, b"300004\n")


@pytest.mark.interop
@requires_sops
def test_interop_mac_mismatch(env: dict[str, str], tmp_path: Path) -> None:
    text = BASIC.read_text()
    marker = "mac: ENC[AES256_GCM,data:"
    i = text.index(marker) + len(marker)
    bad = tmp_path / "bad.enc.yaml"
    bad.write_text(text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:])
    for cmd in ("exec-env", "exec-file"):
        ours, theirs = both([cmd, bad, "echo never"], env)
        assert (ours.returncode, ours.stdout, ours.stderr) == (
            theirs.returncode, theirs.stdout, theirs.stderr)
        assert ours.returncode == 51
