"""`sops-py set`, `sops-py unset` and the legacy `sops-py --set '<path> <json>' FILE`.

The order of checks follows sops 3.13.2 (``cmd/sops/main.go``), so the same mistake gives the same
exit code: flags, arity (100), index syntax (7), the value (7), --decryption-order (112), then the
file (read 2, keys 128, MAC 51, ...). The file is written in place, atomically; with --idempotent
nothing is written when nothing changed (set) or the key is missing (unset).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from .. import log
from ..datakey import parse_decryption_order
from ..errors import (
    CouldNotReadInputFile,
    NoFileSpecified,
    SopsError,
)
from ..ops.files import write_atomic
from ..ops.set_unset import (
    KeyNotFound,
    parse_json_value,
    parse_set_argument,
    parse_set_path,
    set_file,
    unset_file,
)
from ..settings import Env, input_store, key_ring, legacy_target, output_store
from . import options as o
from .urfave import UrfaveCommand, reorder_args

__all__ = ["UrfaveCommand", "reorder_args", "set_cmd", "unset_cmd", "set_legacy"]




def go_os_error(op: str, path: str, e: OSError) -> str:
    """An OSError as Go's *PathError prints it: ``open x: no such file or directory``."""
    reason = os.strerror(e.errno).lower() if e.errno else str(e)
    return f"{op} {path}: {reason}"


def read_go(path: str) -> bytes:
    """os.ReadFile: raises OSError with the Go operation name in ``args[0]`` ("open" or "read")."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - two error messages, as Go's open + read
    except IsADirectoryError as e:  # Go opens a directory fine and fails on read
        raise _GoReadError(go_os_error("read", path, e)) from None
    except OSError as e:
        raise _GoReadError(go_os_error("open", path, e)) from None
    with f:
        try:
            return f.read()
        except OSError as e:
            raise _GoReadError(go_os_error("read", path, e)) from None


class _GoReadError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_encrypted_file(path: str) -> bytes:
    """sops' LoadEncryptedFile read: ``Error reading file: open …`` with exit 2."""
    try:
        return read_go(path)
    except _GoReadError as e:
        raise CouldNotReadInputFile(f"Error reading file: {e.message}") from None


def read_value(args: Sequence[str], opts: Mapping[str, Any]) -> bytes:
    """The raw JSON text: stdin (--value-stdin), a file (--value-file) or the third argument."""
    if opts.get("value_stdin"):
        try:
            return sys.stdin.buffer.read()
        except OSError as e:
            raise SopsError(f"read /dev/stdin: {e.strerror or e}") from None
    if opts.get("value_file"):
        try:
            return read_go(args[2])
        except _GoReadError as e:
            raise SopsError(e.message) from None
    return os.fsencode(args[2])


def write_in_place(path: str, data: bytes) -> None:
    """Atomically replace the file; a symlink stays a symlink (sops' os.Create writes through it)."""
    write_atomic(os.path.realpath(path), data, "in-place")


def set_command(env: Env, args: Sequence[str], opts: Mapping[str, Any]) -> None:
    """``sops set [flags] FILE INDEX [VALUE]``."""
    if opts.get("value_file") and opts.get("value_stdin"):
        raise SopsError("Error: cannot use both --value-file and --value-stdin")
    if opts.get("value_stdin"):
        if len(args) != 2:
            raise NoFileSpecified("Error: file specified, or index and value are missing. Need precisely 2 "
                                  "positional arguments since --value-stdin is used.")
    elif len(args) != 3:
        raise NoFileSpecified("Error: no file specified, or index and value are missing. Need precisely 3 "
                              "positional arguments.")
    path = os.path.abspath(args[0])
    in_store = input_store(env, opts.get("input_type"), path)
    out_store = output_store(env, opts.get("output_type"), path)
    tree_path = parse_set_path(args[1], "Invalid set index format")
    value = parse_json_value(read_value(args, opts))
    order = parse_decryption_order(opts.get("decryption_order"))
    data = read_encrypted_file(path)
    output, changed = set_file(data, in_store, out_store, key_ring(env, opts), order,
                               bool(opts.get("ignore_mac")), tree_path, value)
    if not changed and opts.get("idempotent"):
        log.info("File not written due to no change")
        return
    write_in_place(path, output)
    log.info("File written successfully")


def unset_command(env: Env, args: Sequence[str], opts: Mapping[str, Any]) -> None:
    """``sops unset [flags] FILE INDEX``."""
    if len(args) != 2:
        raise NoFileSpecified("Error: no file specified, or index is missing")
    path = os.path.abspath(args[0])
    in_store = input_store(env, opts.get("input_type"), path)
    out_store = output_store(env, opts.get("output_type"), path)
    tree_path = parse_set_path(args[1], "Invalid unset index format")
    order = parse_decryption_order(opts.get("decryption_order"))
    data = read_encrypted_file(path)
    try:
        output = unset_file(data, in_store, out_store, key_ring(env, opts), order,
                            bool(opts.get("ignore_mac")), tree_path)
    except KeyNotFound:
        if opts.get("idempotent"):
            return
        raise
    write_in_place(path, output)
    log.info("File written successfully")


def set_legacy(env: Env, file: str, opts: Mapping[str, Any]) -> None:
    """The legacy ``sops --set '<path> <json>' FILE``: always written in place; --idempotent does not exist."""
    path, name_path = legacy_target(file, opts, "use `--kms` and `--pgp` instead.")
    env.config()  # sops loads the config in --set mode: a broken .sops.yaml is an error
    in_store = input_store(env, opts.get("input_type"), name_path)
    out_store = output_store(env, opts.get("output_type"), name_path)
    order = parse_decryption_order(opts.get("decryption_order"))
    tree_path, value = parse_set_argument(str(opts.get("set_") or ""))
    data = read_encrypted_file(path)
    output, _ = set_file(data, in_store, out_store, key_ring(env, opts), order, bool(opts.get("ignore_mac")),
                         tree_path, value)
    write_in_place(path, output)
    log.info("File written successfully")


# ------------------------------------------------------------------ click commands

IDEMPOTENT_SET = o.opt("--idempotent", is_flag=True, help="do nothing if the given index already has the given value")
IDEMPOTENT_UNSET = o.opt("--idempotent", is_flag=True, help="do nothing if the given index does not exist")
VALUE_FILE = o.opt("--value-file", is_flag=True, help="treat 'value' as a file to read the actual value from "
                   "(avoids leaking secrets in process listings). Mutually exclusive with --value-stdin")
VALUE_STDIN = o.opt("--value-stdin", is_flag=True, help="read the value from stdin; the 'value' argument to 'set' is "
                    "not needed in this case (avoids leaking secrets in process listings). Mutually exclusive "
                    "with --value-file")


@click.command("set", cls=UrfaveCommand,
               help="set a specific key or branch in the input document. value must be a JSON encoded string, for "
                    "example '/path/to/file [\"somekey\"][0] {\"somevalue\":true}', or a path if --value-file is "
                    "used, or omitted if --value-stdin is used")
@o.apply([*o.TYPE_OPTIONS, VALUE_FILE, VALUE_STDIN, o.SHAMIR, o.IGNORE_MAC, o.DECRYPTION_ORDER, IDEMPOTENT_SET,
          *o.KEYSERVICE_OPTIONS])
@click.argument("args", nargs=-1, metavar="file index [ value ]")
@click.pass_context
def set_cmd(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    set_command(o.env_of(ctx, opts), args, opts)


@click.command("unset", cls=UrfaveCommand,
               help="unset a specific key or branch in the input document.")
@o.apply([*o.TYPE_OPTIONS, o.SHAMIR, o.IGNORE_MAC, o.DECRYPTION_ORDER, IDEMPOTENT_UNSET, *o.KEYSERVICE_OPTIONS])
@click.argument("args", nargs=-1, metavar="file index")
@click.pass_context
def unset_cmd(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    unset_command(o.env_of(ctx, opts), args, opts)
