"""`sops-py diff` (a sops-py extension): which keys of a sops file were added, removed or changed,
between two files or two git revisions. The work is in ``sops_py.integrations.diff``."""

from __future__ import annotations

from typing import Any

import click

from . import options as o
from .urfave import UrfaveCommand


@click.command("diff", cls=UrfaveCommand, help="sops-py extension: key-level diff of two sops files (A B), or of "
               "files between git revisions (--git REV1 [REV2] PATH...; without REV2 the working tree)")
@o.apply([
    o.opt("--git", is_flag=True, help="compare PATHs between git revisions: REV1 [REV2] PATH..."),
    o.opt("--show-values", is_flag=True, help="show the old and new values of changed keys (only when the keys to "
          "decrypt both sides are present)"),
    o.opt("--no-decrypt", is_flag=True, help="compare ciphertext only, even when keys are present"),
    o.opt("--json", "as_json", is_flag=True, help="print the differences as JSON"),
    o.opt("--exit-code", is_flag=True, help="exit with 1 when there are differences (as git diff --exit-code)"),
    *o.KEYSERVICE_OPTIONS,
    o.DECRYPTION_ORDER,
])
@click.argument("args", nargs=-1, metavar="A B | --git REV1 [REV2] PATH...")
@click.pass_context
def diff_cmd(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    import json
    import sys

    from ..errors import EXIT_DIFFERENCES
    from ..integrations.diff import (
        DiffError,
        changed_paths,
        compare,
        git_show,
        is_revision,
        plain_change,
        read_path,
        render_json,
        render_text,
        side,
    )
    from .cmd_export import keys_from

    o.env_of(ctx, opts)
    keys = keys_from(opts)
    positional = [a for a in args if a != "--"]
    # (label, old bytes, new bytes, old name, new name): a name picks the format and labels errors
    pairs: list[tuple[str, bytes | None, bytes | None, str, str]] = []
    if opts.get("git"):
        if len(positional) < 2:
            raise DiffError("usage: sops-py diff --git REV1 [REV2] PATH...")
        rev1, rest = positional[0], positional[1:]
        rev2 = rest.pop(0) if len(rest) > 1 and is_revision(rest[0]) else None
        for path in changed_paths(rev1, rev2, rest):
            new = git_show(rev2, path) if rev2 else _worktree(path)
            pairs.append((path, git_show(rev1, path), new, f"{rev1}:{path}", f"{rev2}:{path}" if rev2 else path))
    else:
        if len(positional) != 2:
            raise DiffError("usage: sops-py diff A B (or --git REV1 [REV2] PATH...)")
        a, b = positional
        pairs.append((f"{a} -> {b}", read_path(a), read_path(b), a, b))
    reports: list[dict[str, Any]] = []
    different = False
    for label, old, new, old_name, new_name in pairs:
        if old is None and new is None:
            raise DiffError(f"{label}: in neither revision")
        plain = plain_change(old, new, old_name, new_name) if opts.get("git") else None
        if plain is not None:  # a path that is not a sops file on some side: what changed, never its text
            if plain.changed:
                different = True
                if opts.get("as_json"):
                    reports.append({"file": label, "plaintext": plain.note})
                else:
                    sys.stdout.write(f"{label} ({plain.note})\n")
            continue
        d = compare(side(old, old_name), side(new, new_name), decrypt=not opts.get("no_decrypt"),
                    show_values=bool(opts.get("show_values")), keys=keys)
        different = different or bool(d)
        if opts.get("as_json"):
            reports.append(render_json(label, d))
        else:
            sys.stdout.write(render_text(label, d))
    if opts.get("as_json"):
        sys.stdout.write(json.dumps(reports, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if different and opts.get("exit_code"):
        raise click.exceptions.Exit(EXIT_DIFFERENCES)


def _worktree(path: str) -> bytes | None:
    import os

    from ..integrations.diff import read_path

    return read_path(path) if os.path.exists(path) else None
