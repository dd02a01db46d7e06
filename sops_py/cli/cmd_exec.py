"""`sops-py exec-env` and `sops-py exec-file`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from .. import log
from ..datakey import parse_decryption_order
from ..errors import ConflictingParameters, SopsError
from ..ops.crypt import Opened, emit_plain, load_encrypted, open_tree
from ..ops.exec import env_entries, exec_env, exec_file, read_file
from ..settings import Env, input_store, key_ring, output_store
from ..stores import Store
from . import options as o
from .urfave import UrfaveCommand

MISSING = "error: missing file to decrypt"
BACKGROUND_WARNING = "{}'s --background option is deprecated and will be removed in a future version of sops"


def _file_and_command(args: tuple[str, ...]) -> tuple[str, str]:
    if len(args) != 2:
        raise SopsError(MISSING)
    return args[0], args[1]


def _open(env: Env, path: str, store: Store, order: list[str], opts: Mapping[str, Any]) -> Opened:
    """Read, load and decrypt (MAC checked: neither command has --ignore-mac)."""
    branches, md = load_encrypted(read_file(path), store)
    return open_tree(branches, md, key_ring(env, opts), order, False)


def run_exec_env(env: Env, args: tuple[str, ...], opts: Mapping[str, Any]) -> None:
    path, command = _file_and_command(args)
    store = input_store(env, None, path)
    order = parse_decryption_order(opts.get("decryption_order"))
    if opts.get("background"):
        log.warning(BACKGROUND_WARNING.format("exec-env"))
        if opts.get("same_process"):
            raise ConflictingParameters("Error: The --same-process flag cannot be used with --background")
    opened = _open(env, path, store, order, opts)
    secrets_env = env_entries(opened.branches[0]) if opened.branches else []
    exec_env(secrets_env, command, pristine=bool(opts.get("pristine")),
             background=bool(opts.get("background")), same_process=bool(opts.get("same_process")),
             user=opts.get("user") or None)


def run_exec_file(env: Env, args: tuple[str, ...], opts: Mapping[str, Any]) -> None:
    path, command = _file_and_command(args)
    in_store = input_store(env, opts.get("input_type"), path)
    out_store = output_store(env, opts.get("output_type"), path)
    order = parse_decryption_order(opts.get("decryption_order"))
    opened = _open(env, path, in_store, order, opts)
    plaintext = emit_plain(out_store, opened.branches)
    if opts.get("background"):
        log.warning(BACKGROUND_WARNING.format("exec-file"))
    exec_file(plaintext, command, fifo=not opts.get("no_fifo"), background=bool(opts.get("background")),
              user=opts.get("user") or None, filename=str(opts.get("filename") or ""))


EXEC_FILE_TYPES = [
    o.opt("--input-type", help="currently ini, json, yaml, dotenv and binary are supported. If not set, sops-py "
          "will use the file's extension to determine the type"),
    o.opt("--output-type", help="currently ini, json, yaml, dotenv and binary are supported. If not set, sops-py "
          "will use the input file's extension to determine the output format"),
]
BACKGROUND = o.opt("--background", is_flag=True,
                   help="background the process and don't wait for it to complete (DEPRECATED)")
USER = o.opt("--user", help="the user to run the command as")


@click.command("exec-env", cls=UrfaveCommand,
               help="execute a command with decrypted values inserted into the environment")
@o.apply([BACKGROUND,
          o.opt("--pristine", is_flag=True, help="insert only the decrypted values into the environment "
                "without forwarding existing environment variables"),
          USER,
          o.opt("--same-process", is_flag=True,
                help="run command in the current process instead of in a child process"),
          o.DECRYPTION_ORDER, *o.KEYSERVICE_OPTIONS])
@click.argument("args", nargs=-1, metavar="[file to decrypt] [command to run]")
@click.pass_context
def exec_env_cmd(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    run_exec_env(o.env_of(ctx), args, opts)


@click.command("exec-file", cls=UrfaveCommand,
               help="execute a command with the decrypted contents as a temporary file")
@o.apply([BACKGROUND,
          o.opt("--no-fifo", is_flag=True,
                help="use a regular file instead of a fifo to temporarily hold the decrypted contents"),
          USER, *EXEC_FILE_TYPES,
          o.opt("--filename", help="filename for the temporary file (default: tmp-file)"),
          o.DECRYPTION_ORDER, *o.KEYSERVICE_OPTIONS])
@click.argument("args", nargs=-1, metavar="[file to decrypt] [command to run]")
@click.pass_context
def exec_file_cmd(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    run_exec_file(o.env_of(ctx), args, opts)
