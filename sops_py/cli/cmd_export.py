"""`sops-py export` (a sops-py extension): decrypted values as CI environment variables.

Thin: the rules (names, masking, formats, where plaintext may go) live in
``sops_py.integrations.export``."""

from __future__ import annotations

from typing import Any

import click

from . import options as o
from .urfave import UrfaveCommand


@click.command("export", cls=UrfaveCommand, help="sops-py extension: decrypt files into CI environment variables "
               "(nested keys joined with _; later files win)")
@o.apply([
    o.opt("--format", "fmt", help="github (mask every value, then append to $GITHUB_ENV), gitlab (a dotenv report "
          "file, with --output), dotenv, shell (export lines) or json (these three print to stdout)"),
    o.opt("--prefix", help="prepended to every variable name"),
    o.opt("--mask", is_flag=True, help="print ::add-mask:: for every line of every value (default for github; "
          "on stderr for dotenv, shell and json)"),
    o.opt("--no-mask", is_flag=True, help="do not print ::add-mask:: lines"),
    o.opt("--output", help="the dotenv report file to write (--format gitlab only)"),
])
@click.argument("files", nargs=-1, metavar="file...")
@click.pass_context
def export_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    from ..errors import ConflictingParameters, NoFileSpecified
    from ..integrations.export import ExportError, export

    o.env_of(ctx, opts)
    if not files:
        raise NoFileSpecified("Error: no file specified")
    if not opts.get("fmt"):
        raise ExportError("--format is required: github, gitlab, dotenv, shell or json")
    if opts.get("mask") and opts.get("no_mask"):
        raise ConflictingParameters("Error: give --mask or --no-mask, not both")
    mask = True if opts.get("mask") else False if opts.get("no_mask") else None
    export(files, str(opts["fmt"]), prefix=str(opts.get("prefix") or ""), mask=mask,
           output=opts.get("output") or None)
