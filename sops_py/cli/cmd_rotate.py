"""`sops-py rotate` (and legacy -r): a new data key, keys added to or removed from the file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from .. import keyspec
from ..config import parse_key_field
from ..datakey import parse_decryption_order
from ..keys.registry import resolve_keys
from ..metadata import KeyEntry
from ..ops.files import read_input
from ..ops.rekey import rotate_data
from ..settings import Env, input_store, key_ring, legacy_target, output_store
from . import options as o
from .crypt_actions import write_result
from .urfave import UrfaveCommand


def master_keys(opts: Mapping[str, Any], prefix: str) -> list[KeyEntry]:
    """Keys from the --add-*/--rm-* flags (comma-separated lists), as sops' getMasterKeys."""
    context = keyspec.parse_encryption_context(str(opts.get("encryption_context") or ""))

    from ..keys.registry import KEY_TYPES, ORDER_ROTATE_FLAGS, KeyOptions, build_group

    values = {name: parse_key_field(opts.get(f"{prefix}_{KEY_TYPES[name].flag}"), KEY_TYPES[name].flag)
              for name in ORDER_ROTATE_FLAGS}
    return build_group(values, ORDER_ROTATE_FLAGS, KeyOptions(context, str(opts.get("aws_profile") or "")))


def rotate(env: Env, file: str | None, opts: Mapping[str, Any]) -> None:
    from ..errors import NoFileSpecified

    if file is None:
        raise NoFileSpecified("Error: no file specified")
    # sops' rotate then reads the file without checking it first: a missing one is exit 2
    path, name_path = legacy_target(file, opts, "use the `edit` subcommand instead.")
    in_store = input_store(env, opts.get("input_type"), name_path)
    out_store = output_store(env, opts.get("output_type"), name_path)
    order = parse_decryption_order(opts.get("decryption_order"))
    add, remove = master_keys(opts, "add"), master_keys(opts, "rm")
    # sops completes the keys as it parses the flags (an Azure URL without a version gets the vault's
    # current one), so --rm-azure-kv without a version matches the key stored with it
    resolve_keys([add, remove], env.environ)
    out = rotate_data(read_input(path), in_store, out_store, key_ring(env, opts), order, add, remove)
    write_result(out, path, opts)


@click.command("rotate", cls=UrfaveCommand,
               help="generate a new data encryption key and reencrypt all values with the new key")
@o.apply([o.IN_PLACE, o.output("decryption"), *o.TYPE_OPTIONS, o.ENC_CONTEXT, *o.add_rm_options(),
          o.FILENAME_OVERRIDE, o.DECRYPTION_ORDER, *o.KEYSERVICE_OPTIONS,
          # sops-py extensions
          o.INDENT, o.VERBOSE])
@click.argument("files", nargs=-1, metavar="file")
@click.pass_context
def rotate_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    rotate(o.env_of(ctx, opts), o.one_file(files), opts)
