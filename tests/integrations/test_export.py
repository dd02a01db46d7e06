"""`sops-py export`: names, masking, the $GITHUB_ENV heredoc form, the other formats, and that nothing
is written unless every file decrypted."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sops_py
from sops_py.errors import SopsError
from sops_py.integrations import export as ex
from tests.helpers import AGE2_RECIPIENT, AGE_KEY_FILE, AGE_RECIPIENT, ROOT

SOPS = shutil.which("sops")


@pytest.fixture(autouse=True)
def _age_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SOPS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(AGE_KEY_FILE))


def enc(tmp: Path, name: str, plain: str, recipient: str = AGE_RECIPIENT) -> Path:
    path = tmp / name
    fmt = "yaml" if name.endswith(".yaml") else "json" if name.endswith(".json") else "dotenv"
    path.write_bytes(sops_py.encrypt(plain, fmt, age=[recipient], config=False))
    return path


def runner_env_file(text: str) -> dict[str, str]:
    """$GITHUB_ENV read as the Actions runner reads it (SetEnvFileCommand): NAME=VALUE lines, or
    NAME<<DELIM, then lines up to one equal to DELIM, joined with newlines."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


NESTED = """\
db:
  user: admin
  password: "p%0A'q"
cert: |
  -----BEGIN-----
  abc
  -----END-----
hosts: [a.example, b.example]
port: 5432
debug: false
ratio: 1.5
empty: null
"""


def test_github_masks_every_line_then_appends_heredocs(tmp_path: Path) -> None:
    f = enc(tmp_path, "s.enc.yaml", NESTED)
    github_env = tmp_path / "github_env"
    github_env.write_text("EXISTING=1\n")
    out = io.StringIO()
    ex.export([str(f)], "github", environ={"GITHUB_ENV": str(github_env)}, stdout=out)
    exported = runner_env_file(github_env.read_text())
    assert exported == {"EXISTING": "1", "db_user": "admin", "db_password": "p%0A'q",
                        "cert": "-----BEGIN-----\nabc\n-----END-----\n", "hosts_0": "a.example",
                        "hosts_1": "b.example", "port": "5432", "debug": "false", "ratio": "1.5", "empty": ""}
    masks = out.getvalue().splitlines()
    assert all(m.startswith("::add-mask::") for m in masks)
    masked = {m[len("::add-mask::"):] for m in masks}
    # the runner un-escapes %25 -> %, so the value is masked as itself
    assert "p%250A'q" in masked and "p%0A'q" not in masked
    for name, value in exported.items():
        for line in value.splitlines() if name != "EXISTING" else []:
            if line.strip():
                escaped = line.replace("%", "%25")
                assert escaped in masked, line
    assert os.stat(github_env).st_mode & 0o777 in (0o600, 0o644, 0o664)


def test_delimiter_never_occurs_in_the_value() -> None:
    tokens = iter(["aaaa", "bbbb"])
    value = "x\nghadelimiter_aaaa\ny"
    text = ex.github_env({"K": value}, token=lambda n: next(tokens))
    assert "K<<ghadelimiter_bbbb\n" in text
    assert runner_env_file(text) == {"K": value}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
                       st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\0"))))
def test_github_env_round_trips_through_the_runner_parser(env: dict[str, str]) -> None:
    assert runner_env_file(ex.github_env(env)) == env
    masked = {m[len("::add-mask::"):-1] for m in ex.mask_lines(env)}
    for value in env.values():
        for line in value.splitlines():
            if line.strip():
                assert line.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A") in masked


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40))
def test_shell_quote_round_trips_through_sh(value: str) -> None:
    script = ex.shell({"V": value}) + 'printf %s "$V"'
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout
    assert out.decode("utf-8", "surrogateescape") == value


def test_names_lists_prefix_and_collisions() -> None:
    assert ex.flatten({"a-b": {"c.d": 1}, "l": [{"x": True}]}, "APP_") == {"APP_a_b_c_d": "1", "APP_l_0_x": "true"}
    with pytest.raises(ex.ExportError, match=r'\["a_b"\] and \["a"\]\["b"\] both export as a_b'):
        ex.flatten({"a_b": 1, "a": {"b": 2}}, "", "f.yaml")
    with pytest.raises(ex.ExportError, match="not a valid variable name"):
        ex.flatten({"1x": "v"}, "", "f.yaml")
    assert ex.flatten({"1x": "v"}, "P_") == {"P_1x": "v"}
    with pytest.raises(ex.ExportError, match="NUL"):
        ex.flatten({"k": "a\0b"})


def test_several_files_later_wins(tmp_path: Path) -> None:
    a = enc(tmp_path, "a.enc.yaml", "db:\n  user: one\n  host: h\n")
    b = enc(tmp_path, "b.enc.json", '{"db": {"user": "two"}, "extra": 1}', AGE2_RECIPIENT)
    keys = sops_py.Keys(age=(ROOT / "testdata/keys/age2.txt").read_text())  # and the key file: both
    assert ex.collect([str(a), str(b)], keys=keys) == {"db_user": "two", "db_host": "h", "extra": "1"}


def test_formats_on_stdout(tmp_path: Path) -> None:
    f = enc(tmp_path, "s.enc.yaml", "a: x y\nb: |\n  l1\n  l2\n")
    for fmt, expected in [("dotenv", "a=x y\nb=l1\\nl2\\n\n"), ("shell", "export a='x y'\nexport b='l1\nl2\n'\n")]:
        out, err = io.StringIO(), io.StringIO()
        ex.export([str(f)], fmt, stdout=out, stderr=err)
        assert out.getvalue() == expected and err.getvalue() == ""
    out, err = io.StringIO(), io.StringIO()
    ex.export([str(f)], "json", mask=True, stdout=out, stderr=err)
    assert json.loads(out.getvalue()) == {"a": "x y", "b": "l1\nl2\n"}
    assert err.getvalue() == "::add-mask::x y\n::add-mask::l1\n::add-mask::l2\n"


def test_gitlab_dotenv_report(tmp_path: Path) -> None:
    f = enc(tmp_path, "s.enc.yaml", "a: 1\nb: two\n")
    report = tmp_path / "build.env"
    out = io.StringIO()
    ex.export([str(f)], "gitlab", output=str(report), stdout=out)
    assert report.read_text() == "a=1\nb=two\n"
    assert report.stat().st_mode & 0o777 == 0o600
    assert out.getvalue() == ""
    multi = enc(tmp_path, "m.enc.yaml", "a: |\n  x\n  y\n")
    with pytest.raises(ex.ExportError, match="spans several lines"):
        ex.export([str(multi)], "gitlab", output=str(tmp_path / "other.env"))
    assert not (tmp_path / "other.env").exists()


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sops_py", "export", *args], capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(ROOT)}, cwd=cwd, check=False, timeout=60)


def test_cli_failures_write_nothing(tmp_path: Path) -> None:
    good = enc(tmp_path, "good.enc.yaml", "a: secret-a\n")
    other = enc(tmp_path, "other.enc.yaml", "b: secret-b\n", AGE2_RECIPIENT)  # no key for this one here
    github_env = tmp_path / "github_env"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITHUB_"))}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    proc = cli("--format", "github", str(good), str(other), env={**env, "GITHUB_ENV": str(github_env)}, cwd=tmp_path)
    assert proc.returncode == 128, proc.stderr
    assert "other.enc.yaml" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == "" and not github_env.exists()
    proc = cli("--format", "github", str(good), env=env, cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.strip() == \
        "GITHUB_ENV is not set: --format github runs inside a GitHub Actions job"
    proc = cli(str(good), env=env, cwd=tmp_path)
    assert proc.returncode == 1 and "--format is required" in proc.stderr
    proc = cli("--format", "shell", "--output", "x.env", str(good), env=env, cwd=tmp_path)
    assert proc.returncode == 1 and not (tmp_path / "x.env").exists()
    proc = cli("--format", "github", str(good), env={**env, "GITHUB_ENV": str(github_env)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "::add-mask::secret-a\n"
    assert runner_env_file(github_env.read_text()) == {"a": "secret-a"}
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".sops")]
    assert leftovers == []


@pytest.mark.skipif(SOPS is None, reason="the real sops binary is installed by .ci/run")
def test_files_encrypted_by_the_real_sops(tmp_path: Path) -> None:
    plain = tmp_path / "s.yaml"
    plain.write_text("token: abc\nnested:\n  n: 2\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    data = subprocess.run([SOPS, "encrypt", "--age", AGE_RECIPIENT, str(plain)], capture_output=True, check=True,
                          env=env).stdout
    (tmp_path / "s.enc.yaml").write_bytes(data)
    dot = tmp_path / "d.env"
    dot.write_text("TOKEN=xyz\n")
    data = subprocess.run([SOPS, "encrypt", "--age", AGE_RECIPIENT, str(dot)], capture_output=True, check=True,
                          env=env).stdout
    (tmp_path / "d.enc.env").write_bytes(data)
    out = io.StringIO()
    ex.export([str(tmp_path / "s.enc.yaml"), str(tmp_path / "d.enc.env")], "json", stdout=out)
    assert json.loads(out.getvalue()) == {"token": "abc", "nested_n": "2", "TOKEN": "xyz"}


def test_export_error_is_a_sops_error() -> None:
    assert issubclass(ex.ExportError, SopsError)


def go_expand(s: str, mapping: Any) -> str:
    """Go's os.Expand, which the GitLab runner applies to every variable not marked raw (dotenv report
    variables are not): ``$$`` is ``$``, ``$NAME`` / ``${NAME}`` are looked up."""
    special = set("*#$@!?-0123456789")
    out, i, j = [], 0, 0
    while j < len(s):
        if s[j] == "$" and j + 1 < len(s):
            out.append(s[i:j])
            rest = s[j + 1:]
            if rest[0] == "{":
                if len(rest) > 2 and rest[1] in special and rest[2] == "}":
                    name, w = rest[1], 3
                else:
                    end = rest.find("}")
                    name, w = ("", 2) if end == 1 else ("", 1) if end < 0 else (rest[1:end], end + 1)
            elif rest[0] in special:
                name, w = rest[0], 1
            else:
                k = 0
                while k < len(rest) and (rest[k].isascii() and (rest[k].isalnum() or rest[k] == "_")):
                    k += 1
                name, w = rest[:k], k
            if name:
                out.append(mapping(name))
            elif w == 0:
                out.append("$")
            j += w
            i = j + 1
        j += 1
    return "".join(out) + s[i:]


def gitlab_reads(report: str) -> dict[str, str]:
    """A dotenv report as GitLab reads it (Ci::ParseDotenvArtifactService: each line split at its first
    '=', both parts stripped, names [a-zA-Z0-9_]+) and a later job's runner expands it."""
    import re

    parsed: dict[str, str] = {}
    for line in report.split("\n")[:-1]:
        m = re.match(r"^(.*?)=(.*)$", line)
        assert m is not None, line
        key, value = (g.strip(" \t\n\v\f\r\0") for g in m.groups())
        assert re.fullmatch(r"[a-zA-Z0-9_]+", key), key
        parsed[key] = value
    return {k: go_expand(v, lambda n: "$" if n == "$" else parsed.get(n, "")) for k, v in parsed.items()}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
                       st.text(st.sampled_from("ab $${}=_'\"#\t\\") | st.characters(blacklist_categories=("Cs",),
                               blacklist_characters="\r\n\0"))
                       .filter(lambda v: v == v.strip(" \t\n\v\f\r"))))
def test_gitlab_report_round_trips_through_gitlab_and_the_runner(env: dict[str, str]) -> None:
    assert gitlab_reads(ex.gitlab_dotenv(env)) == env


def test_gitlab_refuses_what_it_would_alter_and_mask(tmp_path: Path) -> None:
    assert ex.gitlab_dotenv({"P": "a$HOME$$b"}) == "P=a$$HOME$$$$b\n"
    for value, message in ((" lead", "blanks"), ("trail\t", "blanks"), ("a\nb", "several lines")):
        with pytest.raises(ex.ExportError, match=message):
            ex.gitlab_dotenv({"K": value})
    f = enc(tmp_path, "s.enc.yaml", "a: secret-a\n")
    out = io.StringIO()
    with pytest.raises(ex.ExportError, match="GitLab does not read ::add-mask::"):
        ex.export([str(f)], "gitlab", output=str(tmp_path / "r.env"), mask=True, stdout=out)
    assert out.getvalue() == "" and not (tmp_path / "r.env").exists()


def test_github_refuses_what_the_runner_rejects_and_masks_trimmed_lines(tmp_path: Path) -> None:
    with pytest.raises(ex.ExportError, match="refuses NODE_OPTIONS"):
        ex.github_env({"node_options": "--require x"})
    with pytest.raises(ex.ExportError, match="carriage return"):
        ex.github_env({"K": "v\r"})
    assert ex.mask_lines({"K": "  indented secret \nx"}) == [
        "::add-mask::  indented secret \n", "::add-mask::indented secret\n", "::add-mask::x\n"]
    f = enc(tmp_path, "s.enc.yaml", "NODE_OPTIONS: --require ./evil.js\n")
    github_env = tmp_path / "github_env"
    out = io.StringIO()
    with pytest.raises(ex.ExportError):
        ex.export([str(f)], "github", environ={"GITHUB_ENV": str(github_env)}, stdout=out)
    assert out.getvalue() == "" and not github_env.exists()


def test_cli_takes_keyservice_options(tmp_path: Path) -> None:
    """export and diff take sops' --keyservice, --enable-local-keyservice and --decryption-order."""
    good = enc(tmp_path, "good.enc.yaml", "a: secret-a\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITHUB_"))}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    proc = cli("--format", "json", "--decryption-order", "age,pgp", str(good), env=env, cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"a": "secret-a"}, proc.stderr
    proc = cli("--format", "json", "--no-enable-local-keyservice", str(good), env=env, cwd=tmp_path)
    assert proc.returncode == 128 and proc.stdout == "" and "secret-a" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "sops_py", "diff", "--no-enable-local-keyservice", str(good),
                           str(good)], capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)},
                          cwd=tmp_path, check=False, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr  # no key: ciphertext compared, identical


def test_a_failed_report_write_leaves_no_plaintext(tmp_path: Path) -> None:
    f = enc(tmp_path, "s.enc.yaml", "a: secret-report-value\n")
    (tmp_path / "report.env").mkdir()  # the report path is a directory: the write fails
    out = io.StringIO()
    with pytest.raises(SopsError) as info:
        ex.export([str(f)], "gitlab", output=str(tmp_path / "report.env"), stdout=out)
    assert "secret-report-value" not in info.value.message and out.getvalue() == ""
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or b"secret-report-value" not in path.read_bytes(), path
