"""The actions behind each command: validate arguments as sops does, run an op, write the result."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..datakey import KeyRing, parse_decryption_order
from ..errors import ConflictingParameters
from ..ops.crypt import decrypt_data, encrypt_data
from ..ops.files import read_input, require_file, write_atomic, write_stdout
from ..treepath import parse_tree_path
from .context import Env, encrypt_settings, input_store, output_store


def _resolve_paths(file: str | None, opts: Mapping[str, Any]) -> tuple[str | None, str]:
    """(absolute input path or None for stdin, path used for config and format detection)."""
    path = require_file(file) if file is not None else None
    override = opts.get("filename_override")
    name_path = os.path.abspath(override) if override else (path or "")
    return path, name_path


def _write(data: bytes, path: str | None, opts: Mapping[str, Any]) -> None:
    if opts.get("in_place") and path is not None:
        write_atomic(path, data, "in-place")
    elif opts.get("output"):
        write_atomic(str(opts["output"]), data)
    else:
        write_stdout(data)


def _check_output_flags(file: str | None, opts: Mapping[str, Any]) -> None:
    if file is None and opts.get("in_place"):
        raise ConflictingParameters("Error: cannot use --in-place when reading from stdin")
    if opts.get("in_place") and opts.get("output"):
        raise ConflictingParameters("Error: cannot operate on both --output and --in-place")


def decrypt(env: Env, file: str | None, opts: Mapping[str, Any]) -> None:
    _check_output_flags(file, opts)
    path, name_path = _resolve_paths(file, opts)
    in_store = input_store(env, opts.get("input_type"), name_path)
    out_store = output_store(env, opts.get("output_type"), name_path)
    order = parse_decryption_order(opts.get("decryption_order"))
    extract = parse_tree_path(opts.get("extract") or "")
    data = read_input(path)
    out = decrypt_data(data, in_store, out_store, KeyRing(env.environ), order, bool(opts.get("ignore_mac")),
                       extract)
    _write(out, path, opts)


def encrypt(env: Env, file: str | None, opts: Mapping[str, Any]) -> None:
    if file is None and opts.get("in_place"):
        raise ConflictingParameters("Error: cannot use --in-place when reading from stdin")
    if file is None and not opts.get("filename_override"):
        raise ConflictingParameters("Error: must specify --filename-override when reading from stdin")
    if opts.get("in_place") and opts.get("output"):
        raise ConflictingParameters("Error: cannot operate on both --output and --in-place")
    path, name_path = _resolve_paths(file, opts)
    in_store = input_store(env, opts.get("input_type"), name_path)
    out_store = output_store(env, opts.get("output_type"), name_path)
    settings = encrypt_settings(env, name_path, in_store, opts)
    data = read_input(path)
    out = encrypt_data(data, in_store, out_store, settings, KeyRing(env.environ))
    _write(out, path, opts)

