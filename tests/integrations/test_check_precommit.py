"""The hooks of ``.pre-commit-hooks.yaml`` run by the real pre-commit (PyPI ``pre-commit``), offline,
in temporary git repositories: through ``pre-commit try-repo`` and through a ``.pre-commit-config.yaml``
whose ``repo:`` is a local path.

pre-commit installs a hook repository from git, so it sees only committed files. The tests commit a
snapshot of this checkout's working tree (the package, its build files and the hooks manifest) to a
temporary repository and point pre-commit at that: uncommitted work is tested too, and in CI (a fresh
clone) the snapshot equals the clone. pre-commit builds the hook's virtualenv once for the module
(one shared PRE_COMMIT_HOME, ~20 s) and reuses it for every run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import AGE_KEY_FILE
from tests.integrations.check_fixtures import PLAIN, SECRET, encrypt, git_init, make_repo, write
from tests.interop.sops_helpers import SOPS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is not installed")]

CHECKOUT = Path(__file__).resolve().parents[2]
SNAPSHOT_FILES = ("pyproject.toml", "README.md", "bin", "sops_py", ".pre-commit-hooks.yaml")
GIT_ID = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
          "GIT_COMMITTER_EMAIL": "t@example.org"}
BY = "sops" if SOPS is not None else "py"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's directory: the hooks repository and every fixture repository side by side, so that
    the relative path pre-commit records for the hooks repository (its cache key) is the same for all
    and the hook environment is built once."""
    return tmp_path_factory.mktemp("pre-commit")


@pytest.fixture(scope="module")
def hooks_repo(base: Path) -> Path:
    """This checkout's working tree, committed to a git repository of its own."""
    snap = base / "hooks" / "sops-py"
    snap.mkdir(parents=True)
    for name in SNAPSHOT_FILES:
        src = CHECKOUT / name
        if src.is_dir():
            shutil.copytree(src, snap / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, snap / name)
    git_init(snap)
    return snap


@pytest.fixture(scope="module")
def pc_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "PRE_COMMIT"))}
    env.update(GIT_ID)
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env


def pre_commit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["pre-commit", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert SECRET not in proc.stdout + proc.stderr, "a secret value was printed"
    return proc


def fixture_repo(root: Path, failing: bool) -> Path:
    """Encrypted files of every format (passing); with ``failing``, also each failure case."""
    files = {rel: PLAIN[rel] for rel in ("k8s/secret.yaml", "secrets/app.yml", "secrets/app.json",
                                         "secrets/app.env", "secrets/app.ini", "secrets/blob.bin",
                                         "secrets/multi.yaml", "suffix/config.yaml")}
    make_repo(root, files, git=False)
    for rel in files:
        encrypt(root, rel, BY)
    write(root, "docs/readme.yaml", f"not: {SECRET}-but-no-rule\n")
    if failing:
        write(root, "k8s/plain-secret.yaml", PLAIN["k8s/secret.yaml"])
        write(root, "secrets/fake.yaml", "password: ENC[AES256_GCM,data:Zm9v,iv:x,tag:y,type:str]\n")
        app = root / "secrets/app.yml"
        app.write_text(app.read_text() + f"added: {SECRET}-by-hand\n")
    git_init(root)
    return root


def test_try_repo_sops_check_passes_clean_repo(hooks_repo: Path, pc_env: dict[str, str], base: Path) -> None:
    repo = fixture_repo(base / "clean", failing=False)
    proc = pre_commit(repo, pc_env, "try-repo", str(hooks_repo), "sops-check", "--all-files")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sops files are encrypted" in proc.stdout and "Passed" in proc.stdout


def test_try_repo_sops_check_fails_each_failure(hooks_repo: Path, pc_env: dict[str, str], base: Path) -> None:
    repo = fixture_repo(base / "dirty", failing=True)
    proc = pre_commit(repo, pc_env, "try-repo", str(hooks_repo), "sops-check", "--all-files")
    assert proc.returncode == 1
    found = sorted(line for line in proc.stdout.splitlines() if line.split(":")[0].endswith((".yaml", ".yml")))
    added_line = (repo / "secrets/app.yml").read_text().split("\n").index(f"added: {SECRET}-by-hand") + 1
    assert found == [
        "k8s/plain-secret.yaml:1: not encrypted: .sops.yaml says it must be (run `sops-py encrypt -i "
        "k8s/plain-secret.yaml`)",
        f"secrets/app.yml:{added_line}: a plaintext value at added, which the file's rules encrypt",
        "secrets/fake.yaml:1: holds ENC[...] text but no sops metadata: not a sops file (copied values cannot be "
        "decrypted)",
    ]


def test_config_with_local_repo_path(hooks_repo: Path, pc_env: dict[str, str], base: Path) -> None:
    repo = fixture_repo(base / "configured", failing=False)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hooks_repo, capture_output=True, text=True,
                         check=True).stdout.strip()
    local = os.path.relpath(hooks_repo, repo)  # a local path, as try-repo records it
    write(repo, ".pre-commit-config.yaml", f"repos:\n-   repo: {local}\n    rev: {rev}\n    hooks:\n"
                                           "    -   id: sops-check\n    -   id: sops-check-verify\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    proc = pre_commit(repo, pc_env, "run", "--all-files")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("Passed") == 2
    # two list items swapped: each token keeps its shape (sops-check passes), the MAC does not verify
    path = repo / "secrets/app.yml"
    text = path.read_text()
    first, second = [line[6:] for line in text.splitlines() if line.startswith("    - ")][:2]
    path.write_text(text.replace(first, "@@").replace(second, first).replace("@@", second))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    proc = pre_commit(repo, pc_env, "run", "--all-files")
    assert proc.returncode == 1
    assert "secrets/app.yml:" in proc.stdout and "MAC mismatch" in proc.stdout
    hooks = [line for line in proc.stdout.splitlines() if line.startswith("sops files are")]
    assert [h.rsplit(".", 1)[-1] for h in hooks] == ["Passed", "Failed"]


def test_try_repo_sops_fix(hooks_repo: Path, pc_env: dict[str, str], base: Path) -> None:
    repo = make_repo(base / "fix", {"secrets/app.env": PLAIN["secrets/app.env"],
                                        "secrets/app.ini": PLAIN["secrets/app.ini"]})
    proc = pre_commit(repo, pc_env, "try-repo", str(hooks_repo), "sops-fix", "--all-files")
    assert proc.returncode == 1  # pre-commit fails a hook that changed files, so they get staged again
    assert "files were modified by this hook" in proc.stdout
    for rel in ("secrets/app.env", "secrets/app.ini"):
        assert SECRET.encode() not in (repo / rel).read_bytes()
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    proc = pre_commit(repo, pc_env, "try-repo", str(hooks_repo), "sops-check", "--all-files")
    assert proc.returncode == 0, proc.stdout
