"""`sops-py encrypt` and `sops-py decrypt` (the actions are in crypt_actions)."""

from __future__ import annotations

from typing import Any

import click

from . import options as o
from .crypt_actions import batch, decrypt, encrypt
from .urfave import UrfaveCommand

DECRYPT_EXTRACT = o.opt("--extract", help="extract a specific key or branch from the input document. Example: "
                        "--extract '[\"somekey\"][0]'")


@click.command("decrypt", cls=UrfaveCommand, help="decrypt a file, and output the results to stdout. If no filename "
               "is provided, stdin will be used.")
@o.apply([o.IN_PLACE, DECRYPT_EXTRACT, o.output("decryption"), *o.TYPE_OPTIONS, o.IGNORE_MAC,
          o.filename_override("Should be provided when reading from stdin."), o.DECRYPTION_ORDER,
          *o.KEYSERVICE_OPTIONS,
          # sops-py extensions
          o.INDENT, o.VERBOSE, o.OUTPUT_DIR])
@click.argument("files", nargs=-1, metavar="[file]")
@click.pass_context
def decrypt_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    env = o.env_of(ctx, opts)
    if not batch(env, files, opts, "decrypt"):
        decrypt(env, o.one_file(files), opts)


REUSE = o.opt("--reuse", help="sops-py extension: encrypt with the data key, keys and rules of this encrypted "
             "file, keeping the exact ciphertext of every unchanged value (minimal-churn re-encryption)")


@click.command("encrypt", cls=UrfaveCommand, help="encrypt a file, and output the results to stdout. If no filename "
               "is provided, stdin will be used.")
@o.apply([o.IN_PLACE, o.output("encryption"), *o.key_options(envvars=True), *o.TYPE_OPTIONS, *o.RULE_OPTIONS,
          o.ENC_CONTEXT, o.SHAMIR, o.filename_override("Required when reading from stdin."), *o.KEYSERVICE_OPTIONS,
          # sops-py extensions
          o.INDENT, o.MAC_ONLY, o.VERBOSE, o.OUTPUT_DIR, REUSE])
@click.argument("files", nargs=-1, metavar="[file]")
@click.pass_context
def encrypt_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    if ctx.find_root().params.get("mac_only_encrypted"):
        opts["mac_only_encrypted"] = True  # sops 3.13 reads the global flag for subcommands too
    env = o.env_of(ctx, opts)
    if not batch(env, files, opts, "encrypt"):
        encrypt(env, o.one_file(files), opts)
