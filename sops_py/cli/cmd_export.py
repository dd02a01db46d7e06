"""`sops-py export` (a sops-py extension): decrypted values as CI environment variables.

Thin: the rules (names, masking, formats, where plaintext may go) live in
``sops_py.integrations.export``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from . import options as o
from .urfave import UrfaveCommand

if TYPE_CHECKING:
    from ..keychain import Keys


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
    *o.KEYSERVICE_OPTIONS,
    o.DECRYPTION_ORDER,
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
           output=opts.get("output") or None, keys=keys_from(opts))


def keys_from(opts: dict[str, Any]) -> Keys:
    """The keys of an extension command that decrypts: the environment's, plus --keyservice and
    --decryption-order as sops' own commands take them (SOPS_KEYSERVICE and SOPS_DECRYPTION_ORDER too)."""
    from ..datakey import parse_decryption_order
    from ..keychain import Keys

    uris = [part.strip() for value in opts.get("keyservice") or () for part in str(value).split(",")]
    local = opts.get("enable_local_keyservice")
    order = opts.get("decryption_order")
    return Keys(keyservices=[u for u in uris if u], local_keyservice=True if local is None else bool(local),
                decryption_order=parse_decryption_order(order) if order else None)
