"""The actions behind `encrypt` and `decrypt` (and the legacy -e/-d), free of the CLI framework so
the fast path (``sops_py.cli.fast``) can run them without importing click."""

from __future__ import annotations

import os

from .. import log
from ..datakey import parse_decryption_order
from ..errors import ConflictingParameters
from ..ops.crypt import decrypt_data, encrypt_data, reuse_encrypt
from ..ops.files import read_input, require_file, write_atomic, write_stdout
from ..ops.parallel import run_each, run_threads, worker_count
from ..settings import encrypt_settings, input_store, key_ring, output_store
from ..treepath import parse_tree_path

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..settings import Env


def resolve_paths(file: str | None, opts: Mapping[str, Any]) -> tuple[str | None, str]:
    """(absolute input path or None for stdin, path used for config and format detection)."""
    path = require_file(file) if file is not None else None
    override = opts.get("filename_override")
    name_path = os.path.abspath(override) if override else (path or "")
    return path, name_path


def write_result(data: bytes, path: str | None, opts: Mapping[str, Any]) -> None:
    """In place (atomically), to --output (atomically), or to stdout."""
    if opts.get("in_place") and path is not None:
        write_atomic(path, data, "in-place")
        log.info("File written successfully")  # sops says so for --in-place only
    elif opts.get("output"):
        out = str(opts["output"])
        # an output file is derived data unless it replaces the input itself
        write_atomic(out, data, durable=path is not None and os.path.realpath(out) == os.path.realpath(path))
    else:
        write_stdout(data)


def check_output_flags(file: str | None, opts: Mapping[str, Any]) -> None:
    if file is None and opts.get("in_place"):
        raise ConflictingParameters("Error: cannot use --in-place when reading from stdin")
    if opts.get("in_place") and opts.get("output"):
        raise ConflictingParameters("Error: cannot operate on both --output and --in-place")


def batch(env: Env, files: tuple[str, ...], opts: Mapping[str, Any], action: str) -> bool:
    """Several files in one process (a sops-py extension): with --in-place or --output-dir.

    One key ring serves every file, so identities are loaded once. Returns False when the call is not a
    batch (sops' behaviour then applies: extra arguments are ignored with a warning)."""
    outdir = opts.get("output_dir")
    if len(files) < 2 and not outdir:
        return False
    if not (opts.get("in_place") or outdir):
        return False
    if opts.get("output"):
        raise ConflictingParameters("Error: --output takes one file; use --output-dir with several files")
    if opts.get("reuse"):
        raise ConflictingParameters("Error: --reuse takes one file to encrypt")
    if outdir:
        os.makedirs(str(outdir), exist_ok=True)
    ring = key_ring(env, opts)
    order = parse_decryption_order(opts.get("decryption_order"))
    extract = parse_tree_path(opts.get("extract") or "")

    def one(file: str) -> None:
        path = require_file(file)
        in_store = input_store(env, opts.get("input_type"), path)
        out_store = output_store(env, opts.get("output_type"), path)
        data = read_input(path)
        if action == "decrypt":
            out = decrypt_data(data, in_store, out_store, ring, order, bool(opts.get("ignore_mac")), extract)
        else:
            out = encrypt_data(data, in_store, out_store, encrypt_settings(env, path, in_store, opts), ring)
        if outdir:
            write_atomic(os.path.join(str(outdir), os.path.basename(path)), out, durable=False)
        else:
            write_atomic(path, out)
            log.info("File written successfully")

    names = [os.path.basename(f) for f in files] if outdir else [os.path.realpath(f) for f in files]
    distinct = len(set(names)) == len(names)
    if distinct and (ring.services or _remote_keys(env, files[0], opts, action)):
        # cloud keys, gpg or a remote key service: the time goes in waiting, so overlap the files
        run_threads(files, one)
    else:
        # CPU-bound local keys: forked workers share the files out when no two write the same output
        run_each(files, one, worker_count(len(files)) if distinct else 1)
    return True


def _remote_keys(env: Env, file: str, opts: Mapping[str, Any], action: str) -> bool:
    """Whether the first file's keys wait on a service (its metadata, or the keys it would get):
    then the batch overlaps files on threads. Anything unreadable is left to the run to report."""
    from ..errors import SopsError
    from ..keys.registry import LOCAL_TYPES

    try:
        path = require_file(file)
        store = input_store(env, opts.get("input_type"), path)
        if action == "decrypt":
            groups = store.load_encrypted(read_input(path))[1].key_groups
        else:
            groups = encrypt_settings(env, path, store, opts).key_groups
    except SopsError:
        return False
    return any(k.type not in LOCAL_TYPES for g in groups for k in g)


def decrypt(env: Env, file: str | None, opts: Mapping[str, Any]) -> None:
    check_output_flags(file, opts)
    path, name_path = resolve_paths(file, opts)
    in_store = input_store(env, opts.get("input_type"), name_path)
    out_store = output_store(env, opts.get("output_type"), name_path)
    order = parse_decryption_order(opts.get("decryption_order"))
    extract = parse_tree_path(opts.get("extract") or "")
    data = read_input(path)
    out = decrypt_data(data, in_store, out_store, key_ring(env, opts), order, bool(opts.get("ignore_mac")),
                       extract)
    write_result(out, path, opts)


def encrypt(env: Env, file: str | None, opts: Mapping[str, Any]) -> None:
    if file is None and not opts.get("in_place") and not opts.get("filename_override"):
        raise ConflictingParameters("Error: must specify --filename-override when reading from stdin")
    check_output_flags(file, opts)
    path, name_path = resolve_paths(file, opts)
    in_store = input_store(env, opts.get("input_type"), name_path)
    out_store = output_store(env, opts.get("output_type"), name_path)
    reuse = opts.get("reuse")
    if reuse:
        # a sops-py extension: keys, rules and data key come from the encrypted file, not from flags
        # or .sops.yaml, as `sops edit` keeps them
        previous_path = require_file(str(reuse))
        previous_store = input_store(env, None, previous_path)
        data = read_input(path)
        out = reuse_encrypt(data, in_store, out_store, read_input(previous_path), previous_store,
                            key_ring(env, opts), parse_decryption_order(opts.get("decryption_order")))
        write_result(out, path, opts)
        return
    settings = encrypt_settings(env, name_path, in_store, opts)
    data = read_input(path)
    out = encrypt_data(data, in_store, out_store, settings, key_ring(env, opts))
    write_result(out, path, opts)
