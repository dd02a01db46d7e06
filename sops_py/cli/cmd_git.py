"""`sops-py git textconv|merge|setup` (a sops-py extension): git's diff and merge drivers for sops
files. The work is in ``sops_py.integrations.gitdriver``."""

from __future__ import annotations

import sys
from typing import Any

import click

from . import options as o
from .urfave import UrfaveGroup


@click.group("git", cls=UrfaveGroup, help="sops-py extension: git textconv and merge drivers for sops files")
def git_cmd() -> None:
    pass


@git_cmd.command("textconv", help="print a sops file decrypted, and any other file unchanged (git diff's textconv)")
@click.argument("args", nargs=-1, metavar="file")
@click.pass_context
def textconv_cmd(ctx: click.Context, /, args: tuple[str, ...]) -> None:
    from .. import log
    from ..errors import SopsError
    from ..integrations.gitdriver import textconv

    o.env_of(ctx)
    if len(args) != 1:
        raise SopsError("usage: sops-py git textconv FILE")
    textconv(args[0], sys.stdout.buffer, log.warning)


@git_cmd.command("merge", help="merge driver: merge three versions of a sops file key by key (%O %A %B %P)")
@click.argument("args", nargs=-1, metavar="base ours theirs path")
@click.pass_context
def merge_cmd(ctx: click.Context, /, args: tuple[str, ...]) -> None:
    from ..errors import SopsError
    from ..integrations.gitdriver import MergeConflict, merge

    o.env_of(ctx)
    if len(args) != 4:
        raise SopsError("usage: sops-py git merge %O %A %B %P (git's merge driver placeholders)")
    try:
        taken = merge(*args)
    except MergeConflict:
        raise
    except SopsError as e:
        # git reads an exit status above 128 as a crashed driver and fails the whole merge: whatever
        # went wrong, report a conflict on this path (exit 1) and leave %A as it was
        raise MergeConflict(f"{args[3]}: {e.message}") from None
    if taken:
        click.echo(f"sops-py: {args[3]}: merged key by key; changed by the merge: {', '.join(taken)}", err=True)


@git_cmd.command("setup", help="print (or with --write apply) the .gitattributes lines and git config commands")
@o.apply([o.opt("--write", is_flag=True, help="append the lines to .gitattributes and run the git config commands "
                "in this repository"),
          o.opt("--program", help="how git should run sops-py (default: sops-py)")])
@click.argument("patterns", nargs=-1, metavar="[pattern...]")
@click.pass_context
def setup_cmd(ctx: click.Context, /, patterns: tuple[str, ...], **opts: Any) -> None:
    import shlex

    from ..integrations.gitdriver import DEFAULT_PATTERNS, apply_setup, setup_lines

    o.env_of(ctx)
    attrs, config = setup_lines(patterns or DEFAULT_PATTERNS, str(opts.get("program") or "sops-py"))
    if opts.get("write"):
        added = apply_setup(attrs, config)
        click.echo(f"added {len(added)} line(s) to .gitattributes; git config set for diff.sops and merge.sops")
        return
    click.echo("# .gitattributes")
    for line in attrs:
        click.echo(line)
    click.echo("")
    click.echo("# git config (per clone; never set diff.sops.cachetextconv: it would store plaintext in git)")
    for argv in config:
        click.echo(shlex.join(argv))
