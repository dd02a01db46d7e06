"""`sops-py updatekeys` and `sops-py groups add|delete`: change who can decrypt a file."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .. import keyspec, log
from ..config import find_config, match_creation_rule, rule_to_creation_rule
from ..errors import NoFileSpecified, SopsError
from ..keys.registry import KEY_TYPES, ORDER_GROUPS_ADD, KeyOptions, build_group, resolve_keys
from ..metadata import KeyEntry
from ..ops.files import read_input, write_atomic, write_stdout
from ..ops.rekey import add_group, delete_group, format_changes, plan_update
from ..settings import Env, input_store, key_ring, output_store
from . import options as o
from .urfave import GoFatal, UrfaveCommand, UrfaveGroup, go_quote


def golog(message: str) -> None:
    """A line as Go's standard logger writes it (updatekeys reports through it in sops)."""
    import time

    sys.stderr.write(time.strftime("%Y/%m/%d %H:%M:%S ") + message + "\n")


def update_one(env: Env, config_path: str, path: str, opts: dict[str, Any], interactive: bool) -> None:
    from ..config import load_config

    abs_path = os.path.abspath(path)
    if not os.path.exists(abs_path):
        raise SopsError(f"stat {abs_path}: no such file or directory")
    if os.path.isdir(abs_path):
        raise SopsError("can't operate on a directory")
    env = Env(env.environ, env.cwd, config_path, env.indent)
    store = input_store(env, opts.get("input_type"), abs_path)
    golog(f"Syncing keys for file {abs_path}")
    data = read_input(abs_path)
    conf = load_config(config_path)
    rule = match_creation_rule(conf, abs_path)
    if rule is None:
        raise SopsError(f"The config file {config_path} does not contain any creation rule")
    groups = rule_to_creation_rule(rule).key_groups
    resolve_keys(groups, env.environ)  # sops completes the rule's keys as it loads it
    plan = plan_update(data, store, groups, int(opts.get("shamir_secret_sharing_threshold") or 0))
    if not plan.changes:
        golog(f"File {abs_path} already up to date")
        return
    click.echo("The following changes will be made to the file's groups:")
    click.echo(format_changes(plan.metadata.shamir_threshold, plan.new_threshold, plan.diffs), nl=False)
    if interactive:
        response = ""
        while response not in ("y", "n"):
            click.echo("Is this okay? (y/n):", nl=False)
            line = sys.stdin.readline()
            if not line:
                raise SopsError("unexpected newline", hint="stdin is closed: pass -y to apply the changes "
                                                           "without asking")
            response = line.strip()
        if response == "n":
            golog(f"File {abs_path} left unchanged")
            return
    out = plan.apply(store, key_ring(env, opts), None)
    write_atomic(abs_path, out)
    golog(f"File {abs_path} synced with new keys")


@click.command("updatekeys", cls=UrfaveCommand, help="update the keys of SOPS files using the config file")
@o.apply([o.opt("--yes", "-y", is_flag=True, help="pre-approve all changes and run non-interactively"),
          o.opt("--input-type", help="currently ini, json, yaml, dotenv and binary are supported. If not set, "
                "sops-py will use the file's extension to determine the type"),
          *o.KEYSERVICE_OPTIONS,
          # sops-py extensions (sops reads an undefined --shamir-secret-sharing-threshold: always 0)
          o.SHAMIR, o.VERBOSE])
@click.argument("files", nargs=-1, metavar="file")
@click.pass_context
def updatekeys_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    env = o.env_of(ctx, opts)
    config_path = env.config_path or find_config(env.cwd)
    if config_path is None:
        raise SopsError("config file not found")
    if not files:
        raise NoFileSpecified("Error: no file specified")
    failed = 0
    for path in files:
        try:
            update_one(env, config_path, path, opts, interactive=not opts.get("yes"))
        except SopsError as e:
            if len(files) == 1:
                raise
            failed += 1
            log.error("%s", e)
    if failed:
        raise SopsError(f"failed updating {failed} key(s)")


@click.group("groups", cls=UrfaveGroup, help="modify the groups on a SOPS file")
def groups_cmd() -> None:
    pass


def _group_keys(flag: str, what: str) -> Any:
    return o.opt(f"--{flag}", multiple=True, help=f"{what} the new group should contain. Can be specified more "
                 "than once")


def _emit(out: bytes, path: str, in_place: bool) -> None:
    if in_place:
        write_atomic(path, out)
    else:
        write_stdout(out)


@groups_cmd.command("add", help="add a new group to a SOPS file")
@o.apply([o.opt("--file", "-f", help="the file to add the group to"),
          _group_keys("pgp", "the PGP fingerprints"), _group_keys("kms", "the KMS ARNs"),
          o.opt("--aws-profile", help="The AWS profile to use for requests to AWS"),
          _group_keys("gcp-kms", "the GCP KMS Resource ID"),
          _group_keys("hckms", "the HuaweiCloud KMS key ID (format: region:key-uuid)"),
          _group_keys("azure-kv", "the Azure Key Vault key URL"),
          o.opt("--hc-vault-transit", multiple=True, help="the full vault path to the key used to encrypt/decrypt. "
                "Make you choose and configure a key with encryption/decryption enabled (e.g. "
                "'https://vault.example.org:8200/v1/transit/keys/dev'). Can be specified more than once"),
          _group_keys("age", "the age recipient"),
          o.IN_PLACE, o.SHAMIR, o.ENC_CONTEXT, *o.KEYSERVICE_OPTIONS])
@click.argument("args", nargs=-1)
@click.pass_context
def groups_add(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    if args:
        raise SopsError("error: no positional arguments allowed")
    env = o.env_of(ctx)
    context = keyspec.parse_encryption_context(str(opts.get("encryption_context") or ""))
    values = {name: list(opts[KEY_TYPES[name].flag]) for name in ORDER_GROUPS_ADD}
    group = _completed(build_group(values, ORDER_GROUPS_ADD, KeyOptions(context, str(opts.get("aws_profile") or ""))),
                       env)
    path = str(opts.get("file") or "")
    data = read_input(path)
    out = add_group(data, input_store(env, None, path), output_store(env, None, path), key_ring(env, opts), group,
                    int(opts.get("shamir_secret_sharing_threshold") or 0))
    _emit(out, path, bool(opts.get("in_place")))


def _completed(group: list[KeyEntry], env: Env) -> list[KeyEntry]:
    """The keys sops keeps: each is completed as sops builds it (an Azure URL without a version gets the
    vault's current one); one that cannot be is logged (``Failed to add key``) and left out, as sops does."""
    kept = []
    for entry in group:
        try:
            resolve_keys([[entry]], env.environ)
        except SopsError as e:
            log.error("Failed to add key", fields={"error": e.message})
            continue
        kept.append(entry)
    return kept


@groups_cmd.command("delete", help="delete a key group from a SOPS file")
@o.apply([o.opt("--file", "-f", help="the file to delete the group from"), o.IN_PLACE, o.SHAMIR,
          *o.KEYSERVICE_OPTIONS])
@click.argument("args", nargs=-1, metavar="[index]")
@click.pass_context
def groups_delete(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    if len(args) != 1:
        raise SopsError("error: exactly one positional argument (index) required")
    digits = args[0].isascii() and args[0].isdigit()
    if not digits or int(args[0]) >= 1 << 32:  # strconv.ParseUint(s, 10, 32)
        raise GoFatal(f"failed to parse [index] argument: strconv.ParseUint: parsing {go_quote(args[0])}: "
                      f"{'value out of range' if digits else 'invalid syntax'}")
    env = o.env_of(ctx)
    path = str(opts.get("file") or "")
    data = read_input(path)
    out = delete_group(data, input_store(env, None, path), output_store(env, None, path), key_ring(env, opts),
                       int(args[0]), int(opts.get("shamir_secret_sharing_threshold") or 0))
    _emit(out, path, bool(opts.get("in_place")))
