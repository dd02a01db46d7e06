"""Which files ``sops-py check`` looks at: the paths given (directories expanded), or with none every
file git tracks under the working directory (every file there when it is not in a git work tree).

git is asked once (``git ls-files -z``), so a check of a whole repository costs one child process.
Paths are returned as the user gave them, or relative to the working directory, so findings read
``dir/file.yaml:3: ...`` as pre-commit and editors expect.
"""

from __future__ import annotations

import os
import subprocess

_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


def git_files(directory: str) -> list[str] | None:
    """Files git tracks under ``directory``, relative to it; None when it is not in a git work tree
    (or git is missing)."""
    try:
        proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--", "."], cwd=directory,
                              capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def walk_files(directory: str) -> list[str]:
    """Every regular file under ``directory`` (VCS directories left out), relative to it, sorted."""
    out = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            out.append(os.path.relpath(os.path.join(root, name), directory))
    return out


def _under(directory: str, shown: str) -> list[str]:
    found = git_files(directory)
    if found is None:
        found = walk_files(directory)
    prefix = "" if shown in (".", "") else shown
    # a tracked file deleted from the work tree is not there to check
    return [os.path.join(prefix, p) for p in found if os.path.isfile(os.path.join(directory, p))]


def expand(paths: list[str], cwd: str) -> tuple[list[str], list[str]]:
    """(the files to check, in order, each once; the paths that do not exist)."""
    if not paths:
        return _under(cwd, "."), []
    out: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    for shown in paths:
        full = os.path.join(cwd, shown)
        if os.path.isdir(full):
            files = _under(full, shown)
        elif os.path.exists(full) or os.path.islink(full):
            files = [shown]
        else:
            missing.append(shown)
            continue
        for f in files:
            key = os.path.normpath(os.path.join(cwd, f))
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out, missing
