"""sops 3.13.2 fixes: INI metadata newlines (#2189) and exec --user's environment and groups (#2194, #2230).

INI: 3.13.0 and 3.13.1 wrote metadata strings with their newlines (ini.v1 puts them in triple
quotes); 3.13.2 writes every newline as the two characters ``\\n`` again, as 3.11 did, and reads both
(``stores/metadata.go`` EscapeNewlines). Expected bytes from that source; the reference binary
(3.11 layout) reads what sops-py writes.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sops_py import api
from sops_py.keychain import Keys
from tests.cli.cli_harness import run_py
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA
from tests.interop.sops_helpers import requires_sops, run_sops

KEYS = Keys(age_key_file=AGE_KEY_FILE, environ={})
PLAIN = b"[sec]\nkey   = value\nmulti = one\n"  # ini.v1 aligns the "="


def _encrypted() -> str:
    return api.encrypt(PLAIN, "ini", age=[AGE_RECIPIENT], keys=KEYS).decode()


def test_ini_metadata_newlines_are_escaped_as_3132() -> None:
    enc = _encrypted()
    sops = enc.split("[sops]\n", 1)[1]
    assert '"""' not in sops
    enc_line = next(line for line in sops.splitlines() if line.startswith("age__list_0__map_enc"))
    assert enc_line.split("= ", 1)[1].startswith("-----BEGIN AGE ENCRYPTED FILE-----\\n")


def _as_3130(enc: str) -> str:
    """The same file as sops 3.13.0/3.13.1 wrote it: metadata values with real newlines, in triple quotes."""
    head, sops = enc.split("[sops]\n", 1)
    out = []
    for line in sops.splitlines():
        key, sep, value = line.partition(" = ")
        if sep and "\\n" in value:
            line = f'{key} = """{value.replace(chr(92) + "n", chr(10))}"""'
        out.append(line)
    return head + "[sops]\n" + "\n".join(out) + "\n"


def test_reads_files_written_by_3130_and_3131() -> None:
    old = _as_3130(_encrypted())
    assert '"""-----BEGIN AGE ENCRYPTED FILE-----\n' in old
    assert api.decrypt(old.encode(), "ini", keys=KEYS) == PLAIN


@requires_sops
def test_reference_reads_the_escaped_layout(tmp_path: Path) -> None:
    f = tmp_path / "e.ini"
    f.write_text(_encrypted())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(HOME=str(tmp_path), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE))
    res = run_sops(["decrypt", f], env=env)
    assert (res.returncode, res.stdout) == (0, PLAIN), res.stderr


# ------------------------------------------------------------------ exec --user

needs_useradd = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("groupadd"),
                                   reason="needs root and useradd/groupadd")


@pytest.fixture
def test_user(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """A user created for the test with two supplementary groups (removed afterwards)."""
    tag = uuid.uuid4().hex[:8]
    name, groups = f"sopspy{tag}", [f"sopspyg1{tag}", f"sopspyg2{tag}"]
    home = tmp_path / "home"
    try:
        for g in groups:
            subprocess.run(["groupadd", g], check=True, capture_output=True)
        subprocess.run(["useradd", "-M", "-d", str(home), "-G", ",".join(groups), name], check=True,
                       capture_output=True)
        pw = pwd.getpwnam(name)
        gids = sorted({pw.pw_gid, *os.getgrouplist(name, pw.pw_gid)})
        yield name, gids
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        for g in groups:
            subprocess.run(["groupdel", g], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)


@needs_useradd
def test_exec_env_user_environment_and_groups(test_user: tuple[str, list[int]], tmp_path: Path) -> None:
    name, gids = test_user
    assert len(gids) == 3  # the primary group and the two supplementary ones
    env = {"PATH": os.environ["PATH"], "HOME": "/root", "USER": "root", "LOGNAME": "root",
           "SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE)}
    enc = TESTDATA / "sops" / "basic.enc.yaml"
    pw = pwd.getpwnam(name)
    # exec-env (in a child: --user changes this process for good)
    out = subprocess.run(
        ["python", "-m", "sops_py", "exec-env", "--user", name, str(enc),
         'id -u; id -g; id -G; echo "$HOME|$USER|$LOGNAME|$hello"'],
        capture_output=True, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert lines[0] == str(pw.pw_uid) and lines[1] == str(pw.pw_gid)
    assert sorted(int(g) for g in lines[2].split()) == gids  # root's groups are gone
    assert lines[3] == f"{pw.pw_dir}|{name}|{name}|world"


@needs_useradd
def test_exec_file_user_environment_and_groups(test_user: tuple[str, list[int]]) -> None:
    name, gids = test_user
    shared = Path(f"/tmp/sops-py-313-{uuid.uuid4().hex[:8]}")
    shared.mkdir(mode=0o1777)
    os.chmod(shared, 0o1777)
    try:
        env = {"PATH": os.environ["PATH"], "HOME": "/root", "USER": "root", "LOGNAME": "root", "TMPDIR": str(shared),
               "SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        out = subprocess.run(
            ["python", "-m", "sops_py", "exec-file", "--user", name, str(TESTDATA / "sops" / "basic.enc.yaml"),
             'id -G; echo "$HOME|$USER|$LOGNAME"; head -n 2 {}'], capture_output=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.decode().splitlines()
        assert sorted(int(g) for g in lines[0].split()) == gids
        assert lines[1] == f"{pwd.getpwnam(name).pw_dir}|{name}|{name}"
        assert lines[2:] == ["# Top-level comment", "hello: world"]
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_unknown_user_is_a_fatal_log_line() -> None:
    res = run_py(["exec-env", "--user", "no-such-user-xyz", TESTDATA / "sops" / "basic.enc.yaml", "true"],
                 {"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "PATH": os.environ["PATH"]})
    assert res.code == 1
    assert re.fullmatch(r'\[EXEC\]\t time="[^"]+" level=fatal msg="user: unknown user no-such-user-xyz"\n', res.err)
