"""`sops-py publish [--yes] [--recursive] [--omit-extensions] FILE|DIR`: as sops 3.13 (``cmd/sops/main.go``
publish action and ``cmd/sops/subcommand/publish``). See ``sops_py.publish`` for the destinations."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from .. import log
from ..datakey import KeyRing, parse_decryption_order
from ..errors import ErrorDumpingTree, NoFileSpecified, SopsError
from ..settings import Env, input_store, key_ring
from ..stores import Store
from . import options as o
from .urfave import GoFatal, UrfaveCommand


@dataclass
class PublishOpts:
    config_path: str
    input_path: str
    root_path: str
    store: Store
    ring: KeyRing
    order: list[str]
    interactive: bool
    omit_extensions: bool
    recursive: bool
    environ: Mapping[str, str]


def _scanln() -> str:
    """fmt.Scanln of one word: EOF, an empty line and extra words are errors, as in Go."""
    line = sys.stdin.readline()
    if not line:
        raise SopsError("EOF")
    words = line.split()
    if not words:
        raise SopsError("unexpected newline")
    if len(words) > 1:
        raise SopsError("expected newline")
    return words[0]


def _print_key_changes(old: list[list[Any]], new: list[list[Any]]) -> None:
    from ..ops.rekey import diff_key_groups

    diffs = diff_key_groups(old, new)
    if not any(d.added or d.removed for d in diffs):
        return
    lines = ["The following changes will be made to the file's key groups:"]
    for i, d in enumerate(diffs):
        lines.append(f"Group {i + 1}")
        lines += [f"    {k.identity()}" for k in d.common]
        lines += [f"+++ {k.identity()}" for k in d.added]
        lines += [f"--- {k.identity()}" for k in d.removed]
    sys.stdout.write("\n".join(lines) + "\n")


def reencrypt(data: bytes, opts: PublishOpts, rule: Any) -> bytes:
    """Decrypt (MAC checked) and encrypt again for the recreation rule's keys with a new data key; the new
    metadata keeps only the rule's suffixes and Shamir threshold, as sops' publish does."""
    from ..cipher import Cipher
    from ..datakey import new_data_key, wrap_groups
    from ..metadata import KeyEntry, Metadata
    from ..ops.crypt import load_encrypted, open_tree, seal
    from ..version import SOPS_FORMAT_VERSION

    branches, md = load_encrypted(data, opts.store)
    opened = open_tree(branches, md, opts.ring, opts.order, False)
    _print_key_changes(md.key_groups, rule.key_groups)
    new_md = Metadata(key_groups=[[KeyEntry(k.type, dict(k.fields)) for k in g] for g in rule.key_groups],
                      shamir_threshold=rule.shamir_threshold, version=SOPS_FORMAT_VERSION,
                      unencrypted_suffix=rule.rules.get("unencrypted_suffix", ""),
                      encrypted_suffix=rule.rules.get("encrypted_suffix", ""))
    key = new_data_key()
    wrap_groups(new_md, key, opts.ring)
    seal(opened.branches, new_md, Cipher(key))
    try:
        return opts.store.emit_encrypted(opened.branches, new_md)
    except SopsError as e:
        raise ErrorDumpingTree(f"Could not marshal tree: {e}") from None


def publish_file(opts: PublishOpts) -> None:
    """publish.Run for one file."""
    from ..config import load_config, rule_to_creation_rule
    from ..ops.crypt import load_encrypted, open_tree
    from ..publish import VaultDestination, destination_name, emit_as_map, match_destination_rule
    from .cmd_set import read_encrypted_file

    path = os.path.abspath(opts.input_path)
    conf = load_config(opts.config_path)
    dest_conf = match_destination_rule(conf.destination_rules, opts.input_path, opts.environ)
    rule = rule_to_creation_rule(dest_conf.recreation_rule, {})
    from ..keys.registry import resolve_keys

    resolve_keys(rule.key_groups, opts.environ)  # sops completes the recreation rule's keys as it loads it
    dest = dest_conf.destination
    if dest is None:
        raise SopsError("no destination configured for this file")
    name = destination_name(opts.input_path, opts.root_path, opts.recursive,
                            opts.omit_extensions or dest_conf.omit_extensions)
    data = read_encrypted_file(opts.input_path)
    load_encrypted(data, opts.store)  # sops checks that this is a sops file first
    contents = b""
    vault_data: dict[str, Any] = {}
    if isinstance(dest, VaultDestination):
        branches, md = load_encrypted(data, opts.store)
        vault_data = emit_as_map(open_tree(branches, md, opts.ring, opts.order, False).branches)
    elif rule.key_groups and rule.key_groups[0]:
        log.debug("Re-encrypting tree before publishing", name="PUBLISH")
        contents = reencrypt(data, opts, rule)
    else:
        try:
            with open(path, "rb") as f:
                contents = f.read()
        except OSError as e:
            raise SopsError(f"could not read file: {e}") from None
    if opts.interactive:
        response = ""
        while response not in ("y", "n"):
            sys.stdout.write(f"uploading {path} to {dest.path(name)} ? (y/n): ")
            sys.stdout.flush()
            response = _scanln()
        if response == "n":
            message = f"Publication of {path} canceled"
            if opts.recursive:
                sys.stdout.write(message + "\n")
                return
            raise SopsError(message)
    if isinstance(dest, VaultDestination):
        dest.upload_unencrypted(vault_data, name)
    else:
        dest.upload(contents, name)


def publish(env: Env, files: tuple[str, ...], opts: Mapping[str, Any]) -> None:
    from ..config import find_config
    from .cmd_set import go_os_error

    config_path = env.config_path or find_config(env.cwd, warn=log.warning)
    if config_path is None:
        raise SopsError("config file not found")
    if not files:
        raise NoFileSpecified("Error: no file specified")
    root = o.one_file(files)
    assert root is not None
    try:
        is_dir = stat.S_ISDIR(os.stat(root).st_mode)
    except OSError as e:
        raise SopsError(go_os_error("stat", root, e)) from None
    if is_dir and not opts.get("recursive"):
        raise GoFatal("can't operate on a directory without --recursive flag.")
    order = parse_decryption_order(opts.get("decryption_order"))
    ring = key_ring(env, opts)
    from ..publish import go_walk

    def walk_error(op: str, path: str, e: OSError) -> None:
        raise SopsError(go_os_error(op, path, e))

    for sub in go_walk(root, walk_error):
        publish_file(PublishOpts(
            config_path=config_path, input_path=sub, root_path=root, store=input_store(env, None, sub), ring=ring,
            order=order, interactive=not opts.get("yes"), omit_extensions=bool(opts.get("omit_extensions")),
            recursive=bool(opts.get("recursive")), environ=env.environ))


@click.command("publish", cls=UrfaveCommand, help="Publish sops file or directory to a configured destination")
@o.apply([o.opt("--yes", "-y", is_flag=True, help="pre-approve all changes and run non-interactively"),
          o.opt("--omit-extensions", is_flag=True, help="Omit file extensions in destination path when publishing "
                "sops file to configured destinations"),
          o.opt("--recursive", is_flag=True, help="If the source path is a directory, publish all its content "
                "recursively"),
          o.VERBOSE, o.DECRYPTION_ORDER, *o.KEYSERVICE_OPTIONS])
@click.argument("files", nargs=-1, metavar="file")
@click.pass_context
def publish_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    publish(o.env_of(ctx, opts), files, opts)
