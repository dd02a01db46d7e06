"""`sops-py filestatus FILE`: prints ``{"encrypted":true}`` or ``{"encrypted":false}`` as sops does.

A file is encrypted when its store finds sops metadata with a non-empty ``version`` and ``mac``.
Missing metadata means false; any other load error is reported (exit 1), as in sops'
``cmd/sops/subcommand/filestatus``. Nothing is decrypted, so no key is needed.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import MetadataNotFound, NoFileSpecified, SopsError
from ..settings import Env, input_store
from ..stores import Store
from . import options as o
from .cmd_set import read_encrypted_file
from .urfave import GoFatal, UrfaveCommand


def file_status(store: Store, path: str) -> bool:
    """Whether ``path`` is a sops-encrypted file for ``store`` (sops' cfs)."""
    try:
        data = read_encrypted_file(path)
        _, md = store.load_encrypted(data)
    except MetadataNotFound:
        return False
    except SopsError as e:  # sops returns a plain error here: log.Fatal
        raise GoFatal(f"cannot check file status: cannot load encrypted file: {e}") from None
    return bool(md.version) and bool(md.mac)


def filestatus(env: Env, args: tuple[str, ...], opts: dict[str, Any]) -> None:
    if not args:
        raise NoFileSpecified("Error: no file specified")
    path = args[0]  # sops uses the argument as given (relative paths in its messages)
    store = input_store(env, opts.get("input_type"), path)
    encrypted = file_status(store, path)
    click.echo('{"encrypted":true}' if encrypted else '{"encrypted":false}')


@click.command("filestatus", cls=UrfaveCommand,
               help="check the status of the file, returning encryption status")
@o.apply([o.opt("--input-type", help="currently ini, json, yaml, dotenv and binary are supported. If not set, "
                "sops-py will use the file's extension to determine the type")])
@click.argument("args", nargs=-1, metavar="file")
@click.pass_context
def filestatus_cmd(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    filestatus(o.env_of(ctx, opts), args, opts)
