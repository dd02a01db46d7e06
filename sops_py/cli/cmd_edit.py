"""`sops-py edit FILE` and the legacy bare form `sops-py [flags] FILE`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import click

from .. import log
from ..config import match_creation_rule, rule_to_creation_rule
from ..datakey import parse_decryption_order
from ..errors import NoFileSpecified
from ..keys.registry import resolve_keys
from ..ops.crypt import EncryptSettings
from ..ops.edit import EditIO, edit_file
from ..settings import Env, encrypt_settings, input_store, key_ring, legacy_target, output_store
from . import options as o
from .urfave import UrfaveCommand

SHOW_MASTER_KEYS = o.opt("--show-master-keys", "-s", is_flag=True,
                         help="display master encryption keys in the file during editing")


def run(env: Env, path: str, name_path: str, opts: Mapping[str, Any], io: EditIO | None = None) -> None:
    """Edit ``path`` (absolute); ``name_path`` picks the stores and the creation rule for a new file."""
    in_store = input_store(env, opts.get("input_type"), name_path)
    out_store = output_store(env, opts.get("output_type"), name_path)
    order = parse_decryption_order(opts.get("decryption_order"))

    def settings() -> EncryptSettings:
        return encrypt_settings(env, name_path, in_store, opts)

    edit_file(path, in_store, out_store, key_ring(env, opts), io or EditIO(env.environ),
              settings=settings, order=order, ignore_mac=bool(opts.get("ignore_mac")),
              show_master_keys=bool(opts.get("show_master_keys")))
    log.info("File written successfully")


def edit(env: Env, file: str, opts: Mapping[str, Any]) -> None:
    """The legacy form's edit mode (opts: the global flags)."""
    path, name_path = legacy_target(file, opts, "use `--kms` and `--pgp` instead.")
    # sops loads the creation rule up front in the legacy form, even for an existing file
    conf = env.config()
    if conf is not None:
        rule = match_creation_rule(conf, name_path)
        if rule is not None:
            resolve_keys(rule_to_creation_rule(rule).key_groups, env.environ)
    run(env, path, name_path, opts)


@click.command("edit", cls=UrfaveCommand, help="edit an encrypted file")
@o.apply([*o.key_options(envvars=True), *o.TYPE_OPTIONS, *o.RULE_OPTIONS, o.ENC_CONTEXT, o.SHAMIR,
          SHOW_MASTER_KEYS, o.IGNORE_MAC, o.DECRYPTION_ORDER, *o.KEYSERVICE_OPTIONS])
@click.argument("files", nargs=-1, metavar="file")
@click.pass_context
def edit_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    if ctx.find_root().params.get("mac_only_encrypted"):
        opts["mac_only_encrypted"] = True  # sops reads the global flag for a new file's metadata
    file = o.one_file(files)
    if file is None:
        raise NoFileSpecified("Error: no file specified")
    path = os.path.abspath(file)
    run(o.env_of(ctx, opts), path, path, opts)
