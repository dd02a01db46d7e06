"""The composite GitHub Action (action.yml): its steps' scripts run as the runner runs them (inputs and
step outputs substituted into `env:`, bash -eo pipefail, $GITHUB_ENV/$GITHUB_OUTPUT/$GITHUB_PATH files).
The other tests put a stand-in for the installed sops-py in place of the install step, which needs
PyPI; test_install_step_installs_a_working_sops_py (slow) runs that step for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import sops_py
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def expr(text: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1).strip()
        if name.startswith("inputs."):
            key = name[len("inputs."):]
            return inputs.get(key, ACTION["inputs"][key].get("default", ""))
        if name.startswith("steps."):
            _, step, _, key = name.split(".")
            return outputs.get(step, {}).get(key, "")
        if name == "github.action_path":
            return str(ROOT)
        raise AssertionError(f"unhandled expression {name}")

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def run_action(tmp: Path, inputs: dict[str, str], base_env: dict[str, str]) -> tuple[list[Any], Path, str]:
    runner_temp = tmp / "runner_temp"
    runner_temp.mkdir()
    github_env = tmp / "github_env"
    github_env.touch()
    fake = tmp / "fake-bin" / "sops-py"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m sops_py \"$@\"\n")
    fake.chmod(0o755)
    outputs: dict[str, dict[str, str]] = {"install": {"bin": str(fake)}}
    results = []
    failed = False
    stdout = ""
    for step in ACTION["runs"]["steps"]:
        if step.get("id") == "install":
            continue
        if failed and step.get("if") != "always()":
            continue
        out_file = tmp / f"output-{len(results)}"
        out_file.touch()
        env = {**base_env, "RUNNER_TEMP": str(runner_temp), "GITHUB_ENV": str(github_env),
               "GITHUB_OUTPUT": str(out_file), "GITHUB_PATH": str(tmp / "github_path"),
               "GITHUB_ACTION_PATH": str(ROOT)}
        env.update({k: expr(str(v), inputs, outputs) for k, v in step.get("env", {}).items()})
        assert step["shell"] == "bash"
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                              cwd=tmp, capture_output=True, text=True, check=False, timeout=120)
        results.append(proc)
        stdout += proc.stdout
        failed = failed or proc.returncode != 0
        if "id" in step:
            outputs[step["id"]] = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
    return results, github_env, stdout


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITHUB_"))}


def test_env_format_with_an_age_key_input(tmp_path: Path) -> None:
    (tmp_path / "a.enc.yaml").write_bytes(sops_py.encrypt("db:\n  password: hunter2\n", "yaml",
                                                          age=[AGE_RECIPIENT], config=False))
    (tmp_path / "b.enc.yaml").write_bytes(sops_py.encrypt("token: |\n  l1\n  l2\n", "yaml", age=[AGE_RECIPIENT],
                                                          config=False))
    key = AGE_KEY_FILE.read_text()
    results, github_env, stdout = run_action(tmp_path, {"files": "a.enc.yaml\nb.enc.yaml", "age-key": key,
                                                        "prefix": "APP_"}, clean_env())
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    secret_line = next(line for line in key.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    assert f"::add-mask::{secret_line}" in stdout
    assert "::add-mask::hunter2" in stdout and "::add-mask::l1" in stdout and "::add-mask::l2" in stdout
    text = github_env.read_text()
    assert re.search(r"^APP_db_password<<(ghadelimiter_\w+)\nhunter2\n\1$", text, flags=re.M)
    assert re.search(r"^APP_token<<(ghadelimiter_\w+)\nl1\nl2\n\n\1$", text, flags=re.M)
    # the key file is gone once the action ends
    assert not any(p.name.startswith("sops-py-key") for p in (tmp_path / "runner_temp").iterdir())


def test_decrypt_format_and_cleanup_after_a_failure(tmp_path: Path) -> None:
    (tmp_path / "a.enc.json").write_bytes(sops_py.encrypt('{"k": "v"}', "json", age=[AGE_RECIPIENT], config=False))
    env = {**clean_env(), "SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE)}
    results, _, stdout = run_action(tmp_path, {"files": "a.enc.json:out/a.json", "format": "decrypt"},
                                    {**env, "PATH": os.environ["PATH"]})
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert stdout.splitlines() == ["::add-mask::v"]  # masked before the copy is written; no JSON in the log
    out = tmp_path / "out" / "a.json"
    assert out.read_text() == sops_py.decrypt_file(tmp_path / "a.enc.json", keys=sops_py.Keys(
        age_key_file=AGE_KEY_FILE, environ={})).decode()
    assert out.stat().st_mode & 0o777 == 0o600
    (tmp_path / "out").joinpath("a.json").unlink()
    (tmp_path / "x").mkdir()
    results, _, _ = run_action(tmp_path / "x", {"files": "missing.enc.yaml", "age-key": AGE_KEY_FILE.read_text()}, clean_env())
    assert results[1].returncode != 0 and results[-1].returncode == 0
    assert not any(p.name.startswith("sops-py-key") for p in (tmp_path / "x" / "runner_temp").iterdir())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("python3") is None, reason="python3 is needed")
def test_install_step_is_valid_bash() -> None:
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "install")
    assert subprocess.run(["bash", "-n", "-c", step["run"]], check=False).returncode == 0


def test_file_names_are_never_patterns(tmp_path: Path) -> None:
    """`files` is split on blanks only: a name with [ ] is that name, not a glob matching another file."""
    (tmp_path / "s[1].enc.yaml").write_bytes(sops_py.encrypt("k: from-brackets\n", "yaml", age=[AGE_RECIPIENT],
                                                             config=False))
    (tmp_path / "s1.enc.yaml").write_bytes(sops_py.encrypt("k: from-s1\n", "yaml", age=[AGE_RECIPIENT],
                                                           config=False))
    results, github_env, _ = run_action(tmp_path, {"files": "s[1].enc.yaml", "age-key": AGE_KEY_FILE.read_text()},
                                        clean_env())
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert "from-brackets" in github_env.read_text() and "from-s1" not in github_env.read_text()


@pytest.mark.slow
def test_install_step_installs_a_working_sops_py(tmp_path: Path) -> None:
    """The install step as the runner runs it, for real: a venv, pip installing the action's own
    checkout (its dependencies come from PyPI, as on a runner), then the installed command decrypts."""
    source = tmp_path / "action"
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", "tests", "testdata", "bench")
    shutil.copytree(ROOT, source, ignore=ignore)
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "install")
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()
    out_file, path_file = tmp_path / "output", tmp_path / "github_path"
    out_file.touch()
    env = {**clean_env(), "RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(out_file),
           "GITHUB_PATH": str(path_file)}
    env.update({k: expr(str(v), {}, {}).replace(str(ROOT), str(source)) for k, v in step["env"].items()})
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                          cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    outputs = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
    installed = Path(outputs["bin"])
    assert installed.parent == Path(path_file.read_text().strip()) and installed.is_file()
    enc = tmp_path / "s.enc.yaml"
    enc.write_bytes(sops_py.encrypt("token: t0ps3cret\n", "yaml", age=[AGE_RECIPIENT], config=False))
    run = subprocess.run([str(installed), "decrypt", str(enc)], capture_output=True, text=True, check=False,
                         env={**clean_env(), "SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE)}, cwd=tmp_path, timeout=60)
    assert (run.returncode, run.stdout) == (0, "token: t0ps3cret\n"), run.stderr
