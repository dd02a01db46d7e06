"""git integration: a textconv that never fails, a key-level merge driver, and their setup.

* ``textconv FILE`` prints a sops file decrypted and any other file unchanged (sops #460: with
  ``textconv = sops decrypt``, git cannot diff a path that holds plaintext). If a sops file cannot be
  decrypted (no key here) it is printed as it is, with a warning: a diff of ciphertext beats no diff.
* ``merge O A B P`` (git's ``%O %A %B %P``) merges the three versions of a sops file key by key, in
  memory: a key changed on one side only takes that side's value; a conflict is only where both sides
  changed the same key differently (lists of unchanged length merge item by item, other lists are
  whole values; see ``merge_trees`` for comments). The result is encrypted with ``A``'s data key and
  metadata, keeping the exact ciphertext of every value that did not change (and, when both sides share a data key, of
  every value taken from ``B``), and written over ``A``. On a conflict nothing is written, ``A`` stays
  as it was (ciphertext), the conflicting keys are named (never their values) and the exit status is
  1 (any error is reported so: git takes a status above 128 for a crashed driver and fails the whole
  merge), so git marks the path conflicted. Plain files are handed to ``git merge-file``.
* ``setup`` prints, or applies, the ``.gitattributes`` lines and ``git config`` commands.
"""

from __future__ import annotations

import os

from ..errors import SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, BinaryIO

    from ..keychain import Keys
    from ..metadata import Metadata

DRIVER = "sops"
DEFAULT_PATTERNS = ("*.enc.yaml", "*.enc.yml", "*.enc.json", "*.enc.env", "*.enc.ini")


class MergeConflict(SopsError):
    """Both sides changed the same keys differently (or the file cannot be merged here); exit 1."""


# ------------------------------------------------------------------ textconv


def textconv(path: str, out: BinaryIO, warn: Any, keys: Keys | None = None) -> None:
    """Write ``path`` decrypted when it is a sops file we can decrypt, else its bytes unchanged."""
    from ..ops.crypt import emit_plain
    from ..ops.files import read_input
    from .sopsfile import load_sops, open_loaded

    data = read_input(path)
    loaded = load_sops(data, path)
    if loaded is not None:
        try:
            opened = open_loaded(loaded, keys, keep_ivs=False)
            data = emit_plain(loaded.store, opened.branches)
        except SopsError as e:
            warn(f"sops-py: {path}: cannot decrypt ({e.message.splitlines()[0] if e.message else e}); "
                 "showing it encrypted")
    out.write(data)
    out.flush()


# ------------------------------------------------------------------ the three-way merge

_MISSING: Any = object()


def merge_trees(base: Any, ours: Any, theirs: Any, path: tuple[Any, ...], conflicts: list[tuple[Any, ...]]) -> Any:
    """The three-way merge of one value; ``_MISSING`` stands for an absent key.

    * Mappings merge key by key. The layout (key order and comment lines) is ours, unless only theirs
      changed the mapping's comments: then it is theirs. Both changing them differently is a conflict
      named ``(comments)``. Keys only theirs added come after.
    * Lists of one length on all three sides merge item by item; a list whose length changed on a
      side is one value (taken whole from the side that changed it, a conflict if both did).
    * Anything else is one value."""
    from ..tree import Branch

    if _same(ours, theirs):
        return ours
    if _same(base, ours):
        return theirs
    if _same(base, theirs):
        return ours
    if isinstance(ours, Branch) and isinstance(theirs, Branch):
        return _merge_mappings(base if isinstance(base, Branch) else Branch(), ours, theirs, path, conflicts)
    if (type(ours) is list and type(theirs) is list and type(base) is list
            and len(base) == len(ours) == len(theirs)):
        return [merge_trees(b, o, t, (*path, i), conflicts) for i, (b, o, t) in enumerate(zip(base, ours, theirs,
                                                                                            strict=True))]
    conflicts.append(path)
    return ours


def _merge_mappings(base: Any, ours: Any, theirs: Any, path: tuple[Any, ...],
                    conflicts: list[tuple[Any, ...]]) -> Any:
    from ..tree import Branch

    layout, other = ours, theirs
    if not _same(_comments(ours), _comments(theirs)):
        if _same(_comments(base), _comments(ours)):
            layout, other = theirs, ours  # only theirs changed the comments: keep them
        elif not _same(_comments(base), _comments(theirs)):
            conflicts.append((*path, "(comments)"))
    out = Branch()
    keys_layout = {k for k, _ in layout if isinstance(k, str)}
    for k, v in layout:
        if not isinstance(k, str):
            out.append((k, v))  # a comment line
            continue
        o, t = (v, _get(theirs, k)) if layout is ours else (_get(ours, k), v)
        merged = merge_trees(_get(base, k), o, t, (*path, k), conflicts)
        if merged is not _MISSING:
            out.append((k, merged))
    for k, v in other:
        if isinstance(k, str) and k not in keys_layout:
            o, t = (v, _MISSING) if other is ours else (_MISSING, v)
            merged = merge_trees(_get(base, k), o, t, (*path, k), conflicts)
            if merged is not _MISSING:
                out.append((k, merged))
    return out


def _comments(branch: Any) -> list[Any]:
    """A mapping's comment lines with the key each one precedes (what a comment change is)."""
    out: list[Any] = []
    pending: list[Any] = []
    for k, _ in branch:
        if isinstance(k, str):
            out += [(c, k) for c in pending]
            pending = []
        else:
            pending.append(k)
    return out + [(c, None) for c in pending]


def _same(a: Any, b: Any) -> bool:
    from ..ops.crypt import identical

    if a is _MISSING or b is _MISSING:
        return a is b
    return identical(a, b)


def _get(branch: Any, key: str) -> Any:
    for k, v in branch:
        if isinstance(k, str) and k == key:
            return v
    return _MISSING


def _shown(path: tuple[Any, ...]) -> str:
    from .diff import shown

    if path and path[-1] == "(comments)":
        return f"{shown(path[:-1]) or 'the top level'} (comments)"
    return shown(path) or "(the whole document)"


def _access(md: Metadata) -> tuple[Any, ...]:
    """What decides who can decrypt and what is encrypted: key groups, threshold and crypt rules."""
    from ..metadata import CRYPT_RULES

    groups = tuple(tuple(sorted((e.type, e.identity()) for e in g)) for g in md.key_groups)
    return (groups, md.shamir_threshold, tuple(getattr(md, n) or "" for n in CRYPT_RULES), md.mac_only_encrypted)


def merge(base_path: str, ours_path: str, theirs_path: str, name: str, keys: Keys | None = None) -> list[str]:
    """Merge ``theirs`` and ``base`` into ``ours`` (rewritten only on success). Returns the paths
    merged from theirs; raises MergeConflict naming the conflicting keys."""
    from ..datakey import recover
    from ..keychain import Keys as KeysClass
    from ..ops.crypt import Opened, open_with, reseal_changes
    from ..ops.files import read_input, write_atomic
    from ..tree import Branch
    from .sopsfile import load_sops

    datas = [read_input(p) for p in (base_path, ours_path, theirs_path)]
    if datas[2] in (datas[0], datas[1]):
        return []  # theirs changed nothing (or made the same change): ours is the result, no key needed
    if datas[1] == datas[0]:
        write_atomic(ours_path, datas[2])  # only theirs changed: take it whole, no key needed
        return ["(the other side's file, whole)"]
    loaded = [load_sops(d, name) if d.strip() else None for d in datas]
    base, ours, theirs = loaded
    no_base = not datas[0].strip()  # both sides added the file: git gives an empty ancestor
    if ours is None and theirs is None and base is None:
        _merge_plain(base_path, ours_path, theirs_path, name)
        return []
    if ours is None or theirs is None or (base is None and not no_base):
        raise MergeConflict(f"{name}: one side is a sops file and another is not: merge by hand")
    k = KeysClass() if keys is None else keys
    ring, order = k.ring(), k.decryption_order
    if _access(theirs.metadata) != _access(ours.metadata) \
            and (base is None or _access(theirs.metadata) != _access(base.metadata)):
        raise MergeConflict(f"{name}: the other side changed the file's keys or encryption rules: merge by hand, "
                            "then run updatekeys")
    from ..ops.reuse import Previous

    ours_before, theirs_before = Previous(ours.branches), Previous(theirs.branches)
    try:
        from ..cipher import Cipher

        ours_key = recover(ours.metadata, ring, order)
        cipher = Cipher(ours_key)
        theirs_key = recover(theirs.metadata, ring, order)
        # under one data key, theirs' IVs go in the stash first, so ours' win for a value both hold
        open_with(theirs.branches, theirs.metadata, cipher if theirs_key == ours_key else Cipher(theirs_key), False)
        open_with(ours.branches, ours.metadata, cipher, False)
        if base is not None:
            base_key = recover(base.metadata, ring, order)
            open_with(base.branches, base.metadata, Cipher(base_key, keep_ivs=False), False)
    except SopsError as e:
        raise MergeConflict(f"{name}: cannot decrypt for a key-level merge: {e.message}") from None
    base_docs = base.branches if base is not None else []
    if len(ours.branches) != len(theirs.branches) or (base is not None and len(base_docs) != len(ours.branches)):
        raise MergeConflict(f"{name}: the sides hold different numbers of YAML documents: merge by hand")
    conflicts: list[tuple[Any, ...]] = []
    many = len(ours.branches) > 1
    merged_docs = []
    for d, doc in enumerate(ours.branches):
        b = base_docs[d] if base is not None else Branch()
        merged_docs.append(merge_trees(b, doc, theirs.branches[d], (f"#{d}",) if many else (), conflicts))
    if conflicts:
        shown = ", ".join(_shown(p) for p in conflicts)
        raise MergeConflict(f"{name}: both sides changed {len(conflicts)} key(s) differently: {shown}")
    taken = [_shown(p) for p in _changed_paths(ours.branches, merged_docs)]
    opened = Opened(ours.branches, ours.metadata, ours_key, cipher)
    # a value where it was in ours keeps ours' token; one taken from theirs keeps theirs' (one data key)
    previous = [ours_before.decrypted()] + ([theirs_before.decrypted()] if theirs_key == ours_key else [])
    out = reseal_changes(ours.store, merged_docs, opened, previous=previous)
    write_atomic(ours_path, out)
    return taken


def _changed_paths(before: list[Any], after: list[Any]) -> list[tuple[Any, ...]]:
    from ..ops.crypt import identical
    from .diff import leaves

    old, new = leaves(before), leaves(after)
    return [p for p, v in new.items() if p not in old or not identical(old[p], v)] + [p for p in old if p not in new]


def _merge_plain(base: str, ours: str, theirs: str, name: str) -> None:
    """A file that is not a sops file: git's own three-way text merge, into ``ours``."""
    import subprocess

    proc = subprocess.run(["git", "merge-file", "-L", "ours", "-L", "base", "-L", "theirs", ours, base, theirs],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise MergeConflict(f"{name}: not a sops file, and git merge-file left conflict markers"
                            if proc.returncode > 0 else f"{name}: git merge-file failed: "
                            f"{proc.stderr.decode(errors='replace').strip()}")


# ------------------------------------------------------------------ setup


def setup_lines(patterns: Sequence[str], program: str) -> tuple[list[str], list[list[str]]]:
    """The .gitattributes lines and ``git config`` commands (argv lists) for ``program``."""
    attrs = [f"{p} diff={DRIVER} merge={DRIVER}" for p in patterns]
    config = [
        ["git", "config", f"diff.{DRIVER}.textconv", f"{program} git textconv"],
        ["git", "config", f"merge.{DRIVER}.name", "sops-py key-level merge of sops files"],
        ["git", "config", f"merge.{DRIVER}.driver", f"{program} git merge %O %A %B %P"],
    ]
    return attrs, config


def apply_setup(attrs: list[str], config: list[list[str]], cwd: str | None = None) -> list[str]:
    """Append the missing lines to the repository's top-level .gitattributes and run the config
    commands; returns the lines added."""
    import subprocess

    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, check=True,
                             text=True).stdout.strip()
        attributes = os.path.join(top, ".gitattributes")
        existing = open(attributes, encoding="utf-8").read() if os.path.exists(attributes) else ""
        present = {line.strip() for line in existing.splitlines()}
        added = [line for line in attrs if line not in present]
        if added:
            with open(attributes, "a", encoding="utf-8") as f:
                if existing and not existing.endswith("\n"):
                    f.write("\n")
                f.write("".join(line + "\n" for line in added))
        for argv in config:
            subprocess.run(argv, cwd=top, capture_output=True, check=True)
    except FileNotFoundError:
        raise SopsError("git is not installed") from None
    except subprocess.CalledProcessError as e:
        detail = e.stderr.decode(errors="replace").strip() if isinstance(e.stderr, bytes) else str(e.stderr or "")
        raise SopsError(f"{' '.join(e.cmd[:3])} failed: {detail}") from None
    return added
