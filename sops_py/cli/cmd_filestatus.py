"""`sops-py filestatus FILE`: prints ``{"encrypted":true}`` or ``{"encrypted":false}`` as sops does.

The judgement is ``ops.status.is_encrypted``; a load error is reported as sops' ``log.Fatal``
(exit 1). Nothing is decrypted, so no key is needed.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import CouldNotReadInputFile, NoFileSpecified
from ..ops.status import FileStatusError, is_encrypted
from ..settings import Env, input_store
from ..stores import Store
from . import options as o
from .cmd_set import read_encrypted_file
from .urfave import GoFatal, UrfaveCommand


def file_status(store: Store, path: str) -> bool:
    """Whether ``path`` is a sops-encrypted file for ``store``; a load error is sops' log.Fatal."""
    try:
        return is_encrypted(store, read_encrypted_file(path))
    except CouldNotReadInputFile as e:  # sops reads inside the same call: one log.Fatal for both
        raise GoFatal(f"cannot check file status: cannot load encrypted file: {e}") from None
    except FileStatusError as e:
        raise GoFatal(str(e)) from None


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
