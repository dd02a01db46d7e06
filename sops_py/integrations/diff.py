"""A key-level diff of two sops files (``sops-py diff``), for reviews and PR comments.

Reviewers cannot read a diff of ciphertext, and decrypting both sides to diff them puts plaintext in
front of everyone. This reports which keys were added, removed or changed, naming keys only; values are
shown only on request (``show_values``) and only when the keys to decrypt are present.

It works without keys too: sops keeps a value's ciphertext (IV included) when ``edit``, ``set`` or
``--reuse`` leave it unchanged, so comparing the ciphertext strings tells which values changed. (After
``rotate`` or a plain re-encryption every value's ciphertext changes; with keys the plaintext is
compared instead and such a value is not reported as changed.)
"""

from __future__ import annotations

from ..errors import CouldNotRetrieveKey, SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

    from ..keychain import Keys
    from ..ops.crypt import Opened
    from .sopsfile import Loaded

class DiffError(SopsError):
    """A side of the diff cannot be read as a sops file; exit 1."""


_MISSING = object()


def leaves(branches: list[Any]) -> dict[tuple[Any, ...], Any]:
    """Every leaf of a document tree by path; comments left out, an empty mapping or list is a leaf."""
    from ..tree import Branch, Comment

    out: dict[tuple[Any, ...], Any] = {}

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, Branch):
            items = [(k, v) for k, v in value if not isinstance(k, Comment)]
            if not items and path:
                out[path] = value
            for k, v in items:
                if (*path, k) not in out:  # a duplicate key: the first one counts, as sops reads it
                    walk(v, (*path, k))
            return
        if isinstance(value, list):
            items = [v for v in value if not isinstance(v, Comment)]
            if not items:
                out[path] = value
            for i, v in enumerate(items):
                walk(v, (*path, i))
            return
        out[path] = value

    many = len(branches) > 1
    for d, doc in enumerate(branches):
        walk(doc, (f"#{d}",) if many else ())
    return out


def shown(path: tuple[Any, ...]) -> str:
    """A path in sops' --extract syntax (``["db"]["hosts"][0]``), a document index as ``#N ``."""
    head = ""
    if path and isinstance(path[0], str) and path[0].startswith("#"):
        head, path = path[0] + " ", path[1:]
    return head + "".join(f"[{p}]" if isinstance(p, int) else f'["{p}"]' for p in path)


class Diff:
    """The outcome: paths added, removed and changed; ``compared`` is ``plaintext`` or ``ciphertext``;
    ``values`` (old, new) per changed path when asked for and decrypted; key changes from metadata."""

    __slots__ = ("added", "changed", "compared", "keys_added", "keys_removed", "reencrypted", "removed", "values")

    def __init__(self) -> None:
        self.added: list[tuple[Any, ...]] = []
        self.removed: list[tuple[Any, ...]] = []
        self.changed: list[tuple[Any, ...]] = []
        self.values: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        self.compared = "ciphertext"
        self.keys_added: list[str] = []
        self.keys_removed: list[str] = []
        self.reencrypted = 0  # values whose ciphertext changed but plaintext did not

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.keys_added or self.keys_removed)


def _open(loaded: Loaded | None, keys: Keys | None) -> Opened | None:
    from .sopsfile import open_loaded

    return None if loaded is None else open_loaded(loaded, keys, keep_ivs=False)


def compare(old: Loaded | None, new: Loaded | None, *, decrypt: bool = True, show_values: bool = False,
            keys: Keys | None = None) -> Diff:
    """Diff two loaded sops files (None: the file does not exist on that side).

    With ``decrypt``, both sides are decrypted when the keys are there (MAC checked) and plaintext is
    compared; when a data key cannot be recovered, ciphertext is compared instead."""
    from ..ops.crypt import identical
    from .sopsfile import key_identities

    result = Diff()
    before = leaves(old.branches) if old else {}
    after = leaves(new.branches) if new else {}
    cipher_before, cipher_after = before, after
    if decrypt and (old or new):
        try:
            _open(old, keys)
            _open(new, keys)
            result.compared = "plaintext"
            before = leaves(old.branches) if old else {}  # decrypted in place
            after = leaves(new.branches) if new else {}
        except CouldNotRetrieveKey:
            pass  # no key here: the ciphertext still tells what changed
    result.added = [p for p in after if p not in before]
    result.removed = [p for p in before if p not in after]
    for path, value in after.items():
        previous = before.get(path, _MISSING)
        if previous is _MISSING:
            continue
        if not identical(previous, value):
            result.changed.append(path)
            if show_values and result.compared == "plaintext":
                result.values[path] = (previous, value)
        elif result.compared == "plaintext" and not identical(cipher_before.get(path), cipher_after.get(path)):
            result.reencrypted += 1
    if old and new:
        was = {f"{t} {i}" for _, t, i in key_identities(old.metadata)}
        now = {f"{t} {i}" for _, t, i in key_identities(new.metadata)}
        result.keys_added = sorted(now - was)
        result.keys_removed = sorted(was - now)
    return result


def _value(value: Any) -> str:
    """A value for the report: JSON text, an empty mapping or list as ``{}`` / ``[]``."""
    import json

    from ..tree import Branch
    from .export import to_text

    if isinstance(value, list):
        return "{}" if isinstance(value, Branch) else "[]"
    return json.dumps(to_text(value), ensure_ascii=False)


def render_text(label: str, diff: Diff) -> str:
    """A short report: one line per key, values only if ``diff.values`` holds them."""
    if not diff:
        return ""
    lines = [f"{label} (compared {diff.compared})"]
    lines += [f"  added    {shown(p)}" for p in diff.added]
    lines += [f"  removed  {shown(p)}" for p in diff.removed]
    for p in diff.changed:
        extra = ""
        if p in diff.values:
            old, new = diff.values[p]
            extra = f": {_value(old)} -> {_value(new)}"
        lines.append(f"  changed  {shown(p)}{extra}")
    lines += [f"  key added    {k}" for k in diff.keys_added]
    lines += [f"  key removed  {k}" for k in diff.keys_removed]
    return "\n".join(lines) + "\n"


def render_json(label: str, diff: Diff) -> dict[str, Any]:
    from .export import to_text

    out: dict[str, Any] = {"file": label, "compared": diff.compared, "added": [shown(p) for p in diff.added],
                           "removed": [shown(p) for p in diff.removed],
                           "changed": [shown(p) for p in diff.changed],
                           "keys_added": diff.keys_added, "keys_removed": diff.keys_removed}
    if diff.values:
        out["values"] = {shown(p): {"old": to_text(o) if not isinstance(o, list) else None,
                                    "new": to_text(n) if not isinstance(n, list) else None}
                         for p, (o, n) in diff.values.items()}
    return out


# ------------------------------------------------------------------ the two sides


def side(data: bytes | None, name: str) -> Loaded | None:
    """Bytes of one side (None: absent) as a sops file; plaintext is an error naming the side."""
    from .sopsfile import load_sops

    if data is None:
        return None
    loaded = load_sops(data, name)
    if loaded is None:
        raise DiffError(f"{name}: not a sops file (no sops metadata found)")
    return loaded


class PlainChange:
    """A path that is not a sops file on at least one side: whether it changed and a note saying how,
    without its text (which may be a secret someone forgot to encrypt)."""

    __slots__ = ("changed", "note")

    def __init__(self, changed: bool, note: str) -> None:
        self.changed = changed
        self.note = note


def plain_change(old: bytes | None, new: bytes | None, old_name: str, new_name: str) -> PlainChange | None:
    """None when each side is a sops file or absent (a key-level diff applies); else what changed."""
    from .sopsfile import load_sops

    old_sops = old is not None and load_sops(old, old_name) is not None
    new_sops = new is not None and load_sops(new, new_name) is not None
    if (old is None or old_sops) and (new is None or new_sops):
        return None
    if old_sops:
        return PlainChange(True, "was a sops file, now NOT ENCRYPTED")
    if new_sops:
        return PlainChange(True, "now a sops file, was not encrypted")
    if old is None:
        return PlainChange(True, "added, not a sops file")
    if new is None:
        return PlainChange(True, "removed, not a sops file")
    return PlainChange(old != new, "changed, not a sops file")


def changed_paths(rev1: str, rev2: str | None, paths: list[str], cwd: str | None = None) -> list[str]:
    """The files to compare: a path naming a file (in the working tree or either revision) as it is;
    a directory or other pathspec as the files under it that differ between the revisions (or
    between ``rev1`` and the working tree), as ``git diff --name-only`` lists them."""
    import os
    import subprocess

    out: list[str] = []
    for path in paths:
        kinds = {_kind(rev1, path, cwd), _kind(rev2, path, cwd) if rev2 is not None else ""}
        on_disk = os.path.join(cwd or ".", path)
        if os.path.isfile(on_disk) or "blob" in kinds:
            out.append(path)
            continue
        if not os.path.isdir(on_disk) and kinds == {""} and not any(c in path for c in "*?[:"):
            raise DiffError(f"{path}: in neither revision")
        argv = ["git", "diff", "--name-only", "--relative", "--no-renames", "-z", rev1, *([rev2] if rev2 else []),
                "--", path]
        try:
            proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
        except FileNotFoundError:
            raise DiffError("git is not installed") from None
        except subprocess.CalledProcessError as e:
            raise DiffError(f"git diff --name-only failed: {e.stderr.decode(errors='replace').strip()}") from None
        out += [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p and p not in out]
    return out


def _kind(rev: str, path: str, cwd: str | None) -> str:
    """``blob``, ``tree`` (a directory) or "" (no such path) for ``path`` in revision ``rev``."""
    import subprocess

    if rev.startswith("-"):
        raise DiffError(f"{rev!r} is not a revision")
    spec = f"{rev}:./{path}" if not path.startswith("/") else f"{rev}:{path}"
    try:
        proc = subprocess.run(["git", "cat-file", "-t", spec], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed") from None
    return proc.stdout.strip().decode() if proc.returncode == 0 else ""


def read_path(path: str) -> bytes:
    from ..ops.files import read_input

    return read_input(path)


def git_show(rev: str, path: str, cwd: str | None = None) -> bytes | None:
    """The file at ``path`` (relative to the working directory) in revision ``rev``; None when the
    revision has no such file. ``git show`` streams it to us: nothing is written to disk."""
    import subprocess

    if rev.startswith("-"):
        raise DiffError(f"{rev!r} is not a revision")
    spec = f"{rev}:./{path}" if not path.startswith("/") else f"{rev}:{path}"
    try:
        proc = subprocess.run(["git", "cat-file", "-e", spec], cwd=cwd, capture_output=True, check=False)
        if proc.returncode != 0:
            check = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=cwd,
                                   capture_output=True, check=False)
            if check.returncode != 0:
                raise DiffError(f"{rev!r} is not a git revision here")
            return None
        return subprocess.run(["git", "show", spec], cwd=cwd, capture_output=True, check=True).stdout
    except FileNotFoundError:
        raise DiffError("git is not installed") from None
    except subprocess.CalledProcessError as e:
        raise DiffError(f"git show {spec} failed: {e.stderr.decode(errors='replace').strip()}") from None


def is_revision(arg: str, cwd: str | None = None) -> bool:
    """Whether ``arg`` names a commit (and no file): how a second argument after ``--git`` is read."""
    import os
    import subprocess

    if arg.startswith("-") or os.path.exists(os.path.join(cwd or ".", arg)):
        return False
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{arg}^{{commit}}"], cwd=cwd,
                              capture_output=True, check=False)
    except FileNotFoundError:
        return False
    return proc.returncode == 0
