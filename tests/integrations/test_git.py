"""git integration in real repositories: textconv on mixed paths (git diff, git log -p), the key-level
merge driver (clean merge decryptable by the real sops with untouched ciphertext kept; a conflict that
writes no plaintext), setup, and `sops-py diff` between files and revisions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT

SOPS = shutil.which("sops")
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is installed by .ci/run")
PROGRAM = f"{sys.executable} -m sops_py"


def env_for(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GIT_"))}
    env.update(SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE), PYTHONPATH=str(ROOT), HOME=str(tmp / "home"),
               GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@e", TMPDIR=str(tmp / "tmp"))
    (tmp / "home").mkdir(exist_ok=True)
    (tmp / "tmp").mkdir(exist_ok=True)
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} failed ({proc.returncode}): {proc.stderr}")
    return proc


def sops_py(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "sops_py", *args], cwd, env, check)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = env_for(tmp_path)
    r = tmp_path / "repo"
    r.mkdir()
    run(["git", "init", "-q", "-b", "main"], r, env)
    sops_py(["git", "setup", "--write", "--program", PROGRAM], r, env)
    (r / "s.yaml").write_text("a: keep-a\nb: base-b\nc: base-c\n")
    (r / "s.enc.yaml").write_text(sops_py(["encrypt", "--age", AGE_RECIPIENT, "s.yaml"], r, env).stdout)
    (r / "s.yaml").unlink()
    (r / "plain.enc.yaml").write_text("not: encrypted\n")
    run(["git", "add", "-A"], r, env)
    run(["git", "commit", "-qm", "init"], r, env)
    return r, env


def edit(r: Path, env: dict[str, str], plain: str) -> None:
    """Re-encrypt s.enc.yaml from new plaintext with --reuse (the way a team keeps diffs small)."""
    (r / "new.yaml").write_text(plain)
    out = sops_py(["encrypt", "--reuse", "s.enc.yaml", "new.yaml"], r, env).stdout
    (r / "new.yaml").unlink()
    (r / "s.enc.yaml").write_text(out)


def tokens(text: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+): (ENC\[AES256_GCM,[^\]]*\])$", text, flags=re.M))


def no_plaintext_left(root: Path, secrets: list[str]) -> None:
    for path in root.rglob("*"):
        if path.is_file() and ".git/objects" not in str(path):
            data = path.read_bytes()
            for s in secrets:
                assert s.encode() not in data, f"{s} in {path}"


def test_setup_prints_and_writes(repo: tuple[Path, dict[str, str]]) -> None:
    r, env = repo
    assert "*.enc.yaml diff=sops merge=sops" in (r / ".gitattributes").read_text().splitlines()
    assert run(["git", "config", "merge.sops.driver"], r, env).stdout.strip() == f"{PROGRAM} git merge %O %A %B %P"
    printed = sops_py(["git", "setup", "*.secret.json"], r, env).stdout
    assert "*.secret.json diff=sops merge=sops" in printed and "git config diff.sops.textconv 'sops-py git textconv'" \
        in printed
    before = (r / ".gitattributes").read_text()
    sops_py(["git", "setup", "--write", "--program", PROGRAM], r, env)
    assert (r / ".gitattributes").read_text() == before  # idempotent


def test_textconv_diff_and_log_on_mixed_paths(repo: tuple[Path, dict[str, str]]) -> None:
    r, env = repo
    edit(r, env, "a: keep-a\nb: new-b\nc: base-c\n")
    (r / "plain.enc.yaml").write_text("not: encrypted-either\n")
    diff = run(["git", "diff"], r, env).stdout
    assert "-b: base-b\n+b: new-b" in diff
    assert "-not: encrypted\n+not: encrypted-either" in diff
    run(["git", "commit", "-qam", "change"], r, env)
    log = run(["git", "log", "-p"], r, env).stdout
    assert "+b: new-b" in log and "+a: keep-a" in log
    # without a key, textconv shows the ciphertext (and says why) rather than failing the diff
    nokey = {**env, "SOPS_AGE_KEY_FILE": str(r / "missing.txt")}
    proc = run(["git", "log", "-p", "-1"], r, nokey)
    assert "b: ENC[AES256_GCM" in proc.stdout and "cannot decrypt" in proc.stderr
    # the raw diff is small: only b's line (and the MAC and timestamp) changed
    raw = run(["git", "diff", "--no-textconv", "HEAD~1", "HEAD", "--", "s.enc.yaml"], r, env).stdout
    assert len([line for line in raw.splitlines() if line.startswith("+") and not line.startswith("+++")]) <= 3


def test_merge_of_different_keys_is_clean_and_keeps_ciphertext(repo: tuple[Path, dict[str, str]]) -> None:
    r, env = repo
    run(["git", "checkout", "-qb", "feature"], r, env)
    edit(r, env, "a: keep-a\nb: feature-b\nc: base-c\n")
    run(["git", "commit", "-qam", "feature"], r, env)
    feature = tokens((r / "s.enc.yaml").read_text())
    run(["git", "checkout", "-q", "main"], r, env)
    edit(r, env, "a: keep-a\nb: base-b\nc: main-c\nd: main-d\n")
    run(["git", "commit", "-qam", "main"], r, env)
    main = tokens((r / "s.enc.yaml").read_text())
    proc = run(["git", "merge", "-q", "--no-edit", "feature"], r, env)
    merged_text = (r / "s.enc.yaml").read_text()
    merged = tokens(merged_text)
    assert merged["a"] == main["a"] == feature["a"]  # untouched everywhere: the same ciphertext
    assert merged["c"] == main["c"] and merged["d"] == main["d"]
    assert merged["b"] == feature["b"]  # one data key: the other side's ciphertext is kept too
    assert '["b"]' in proc.stderr
    if SOPS is not None:
        out = run([SOPS, "decrypt", "s.enc.yaml"], r, env).stdout
        assert out == "a: keep-a\nb: feature-b\nc: main-c\nd: main-d\n"
    assert sops_py(["diff", "--git", "HEAD~1", "HEAD", "s.enc.yaml"], r, env).stdout.splitlines()[1:] == \
        ['  changed  ["b"]']


def test_merge_conflict_writes_no_plaintext(repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    r, env = repo
    run(["git", "checkout", "-qb", "feature"], r, env)
    edit(r, env, "a: keep-a\nb: feature-secret\nc: base-c\n")
    run(["git", "commit", "-qam", "feature"], r, env)
    run(["git", "checkout", "-q", "main"], r, env)
    edit(r, env, "a: keep-a\nb: main-secret\nc: base-c\n")
    run(["git", "commit", "-qam", "main"], r, env)
    ours = (r / "s.enc.yaml").read_bytes()
    proc = run(["git", "merge", "--no-edit", "feature"], r, env, check=False)
    assert proc.returncode != 0
    assert 'both sides changed 1 key(s) differently: ["b"]' in proc.stdout + proc.stderr
    assert "secret" not in proc.stdout + proc.stderr
    assert (r / "s.enc.yaml").read_bytes() == ours  # %A untouched: ciphertext, no conflict markers
    assert "UU s.enc.yaml" in run(["git", "status", "--short"], r, env).stdout
    no_plaintext_left(tmp_path, ["feature-secret", "main-secret"])


def test_merge_driver_direct_calls(repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    r, env = repo
    base = (r / "s.enc.yaml").read_text()
    (tmp_path / "O").write_text(base)
    (tmp_path / "A").write_text(base + "\n")
    (tmp_path / "B").write_text("b: not a sops file\n")
    proc = sops_py(["git", "merge", str(tmp_path / "O"), str(tmp_path / "A"), str(tmp_path / "B"), "s.enc.yaml"],
                   r, env, check=False)
    assert proc.returncode == 1 and "one side is a sops file" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "A").read_text() == base + "\n"
    (tmp_path / "A").write_text(base)
    nokey = {**env, "SOPS_AGE_KEY_FILE": str(tmp_path / "none.txt")}
    (tmp_path / "B").write_text(base)
    proc = sops_py(["git", "merge", str(tmp_path / "O"), str(tmp_path / "A"), str(tmp_path / "B"), "s.enc.yaml"],
                   r, nokey, check=False)
    assert proc.returncode == 0 and (tmp_path / "A").read_text() == base  # nothing to merge: no key needed
    (tmp_path / "B").write_text(base + "\n")  # both sides differ: merging them needs the keys
    (tmp_path / "A").write_text(base + "\n\n")
    proc = sops_py(["git", "merge", str(tmp_path / "O"), str(tmp_path / "A"), str(tmp_path / "B"), "s.enc.yaml"],
                   r, nokey, check=False)
    assert proc.returncode == 1 and "cannot decrypt for a key-level merge" in proc.stderr
    assert (tmp_path / "A").read_text() == base + "\n\n"
    mid = "m1\nm2\nm3\n"
    for name, text in (("O", f"x: 1\n{mid}y: 1\n"), ("A", f"x: 2\n{mid}y: 1\n"), ("B", f"x: 1\n{mid}y: 2\n")):
        (tmp_path / name).write_text(text)
    sops_py(["git", "merge", str(tmp_path / "O"), str(tmp_path / "A"), str(tmp_path / "B"), "p.txt"], r, env)
    assert (tmp_path / "A").read_text() == f"x: 2\n{mid}y: 2\n"  # plain files: git merge-file


def test_diff_files_and_values(repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    r, env = repo
    shutil.copy(r / "s.enc.yaml", tmp_path / "old.enc.yaml")
    edit(r, env, "a: keep-a\nb: new-b\nd: added\n")
    old, new = str(tmp_path / "old.enc.yaml"), str(r / "s.enc.yaml")
    out = sops_py(["diff", old, new], r, env).stdout
    assert out.splitlines()[1:] == ['  added    ["d"]', '  removed  ["c"]', '  changed  ["b"]']
    assert "(compared plaintext)" in out and "new-b" not in out
    shown = sops_py(["diff", "--show-values", old, new], r, env).stdout
    assert '  changed  ["b"]: "base-b" -> "new-b"' in shown
    nokey = {**env, "SOPS_AGE_KEY_FILE": str(tmp_path / "none.txt")}
    blind = sops_py(["diff", "--show-values", "--json", old, new], r, nokey).stdout
    report = json.loads(blind)[0]
    assert report["compared"] == "ciphertext" and report["changed"] == ['["b"]'] and "values" not in report
    assert "new-b" not in blind
    proc = sops_py(["diff", "--exit-code", old, new], r, env, check=False)
    assert proc.returncode == 1
    assert sops_py(["diff", "--exit-code", old, old], r, env).stdout == ""
    proc = sops_py(["diff", old, str(r / "plain.enc.yaml")], r, env, check=False)
    assert proc.returncode == 1 and "not a sops file" in proc.stderr


def test_merge_lists_item_by_item_and_comments(repo: tuple[Path, dict[str, str]]) -> None:
    """Lists of one length merge per item (equal items keep their own ciphertext); a comment added on
    one side survives a value change on the other; a list grown on both sides is one conflict."""
    r, env = repo
    edit(r, env, "a: keep-a\nl: [x, x, y]\n")
    run(["git", "commit", "-qam", "lists"], r, env)
    base_items = re.findall(r"^    - (ENC\[[^\]]*\])$", (r / "s.enc.yaml").read_text(), flags=re.M)
    run(["git", "checkout", "-qb", "feature"], r, env)
    edit(r, env, "# about a\na: keep-a\nl: [x, x, y2]\n")
    run(["git", "commit", "-qam", "feature"], r, env)
    run(["git", "checkout", "-q", "main"], r, env)
    edit(r, env, "a: main-a\nl: [x0, x, y]\n")
    run(["git", "commit", "-qam", "main"], r, env)
    run(["git", "merge", "-q", "--no-edit", "feature"], r, env)
    out = sops_py(["decrypt", "s.enc.yaml"], r, env).stdout
    assert out == "# about a\na: main-a\nl:\n    - x0\n    - x\n    - y2\n"
    items = re.findall(r"^    - (ENC\[[^\]]*\])$", (r / "s.enc.yaml").read_text(), flags=re.M)
    assert items[1] == base_items[1]  # the second x, equal to the first, kept its own token
    if SOPS is not None:
        assert run([SOPS, "decrypt", "s.enc.yaml"], r, env).stdout == out
    # both sides grow the list differently: one conflict, named by the list's path
    run(["git", "checkout", "-qb", "grow"], r, env)
    edit(r, env, "# about a\na: main-a\nl: [x0, x, y2, g1]\n")
    run(["git", "commit", "-qam", "grow"], r, env)
    run(["git", "checkout", "-q", "main"], r, env)
    edit(r, env, "# about a\na: main-a\nl: [x0, x, y2, m1]\n")
    run(["git", "commit", "-qam", "main grows"], r, env)
    ours = (r / "s.enc.yaml").read_bytes()
    proc = run(["git", "merge", "--no-edit", "grow"], r, env, check=False)
    assert proc.returncode != 0 and 'both sides changed 1 key(s) differently: ["l"]' in proc.stdout + proc.stderr
    assert (r / "s.enc.yaml").read_bytes() == ours


def test_merge_driver_reports_any_error_as_a_conflict(repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """git takes an exit status above 128 for a crashed driver: every error is exit 1, %A untouched."""
    r, env = repo
    base = (r / "s.enc.yaml").read_text()
    (tmp_path / "A").write_text(base)
    (tmp_path / "B").write_text(base + "\n")
    proc = sops_py(["git", "merge", str(tmp_path / "missing"), str(tmp_path / "A"), str(tmp_path / "B"),
                    "s.enc.yaml"], r, env, check=False)
    assert proc.returncode == 1 and "s.enc.yaml" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "A").read_text() == base


def test_diff_git_on_mixed_paths_and_directories(repo: tuple[Path, dict[str, str]]) -> None:
    """`diff --git` over a directory: sops files get a key-level diff; a path that is not a sops file is
    named with how it changed but never shown, and a sops file committed decrypted is flagged."""
    r, env = repo
    edit(r, env, "a: keep-a\nb: new-b\nc: base-c\n")
    (r / "plain.enc.yaml").write_text("not: encrypted-either\n")
    (r / "sub").mkdir()
    (r / "sub" / "t.enc.yaml").write_text("x: 1\n")
    run(["git", "add", "-A"], r, env)
    run(["git", "commit", "-qm", "second"], r, env)
    (r / "s.enc.yaml").write_text(sops_py(["decrypt", "s.enc.yaml"], r, env).stdout)  # oops: decrypted
    out = sops_py(["diff", "--git", "HEAD~1", "HEAD", "--", "."], r, env).stdout
    assert '  changed  ["b"]' in out and "new-b" not in out
    assert "plain.enc.yaml (changed, not a sops file)" in out and "encrypted-either" not in out
    assert "sub/t.enc.yaml (added, not a sops file)" in out
    proc = sops_py(["diff", "--git", "--exit-code", "HEAD", "s.enc.yaml", "plain.enc.yaml"], r, env, check=False)
    assert proc.returncode == 1 and proc.stdout == "s.enc.yaml (was a sops file, now NOT ENCRYPTED)\n"
    js = json.loads(sops_py(["diff", "--git", "--json", "HEAD", "."], r, env).stdout)
    assert js == [{"file": "s.enc.yaml", "plaintext": "was a sops file, now NOT ENCRYPTED"}]
    proc = sops_py(["diff", "--git", "HEAD", "nowhere.enc.yaml"], r, env, check=False)
    assert proc.returncode == 1 and "nowhere.enc.yaml: in neither revision" in proc.stderr
