"""Entry point: sops' command tree, the legacy flag form, and the single error boundary.

sops (urfave/cli v1) takes global flags before a subcommand, or the legacy form
``sops [flags] FILE`` where -e/-d/-r/--set pick the mode. ``main`` decides which form argv uses,
runs it, and turns every SopsError into its message on stderr and sops' exit code.
Subcommands live in their own modules and are imported only when invoked (``COMMANDS``).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..errors import NoFileSpecified, SopsError
from ..version import SOPS_FORMAT_VERSION, __version__
from . import options as o
from .context import Env

log = logging.getLogger("sops_py")

# command name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "decrypt": "sops_py.cli.cmd_crypt:decrypt_cmd",
    "encrypt": "sops_py.cli.cmd_crypt:encrypt_cmd",
    "edit": "sops_py.cli.cmd_edit:edit_cmd",
    "set": "sops_py.cli.cmd_set:set_cmd",
    "unset": "sops_py.cli.cmd_set:unset_cmd",
    "filestatus": "sops_py.cli.cmd_filestatus:filestatus_cmd",
    "exec-env": "sops_py.cli.cmd_exec:exec_env_cmd",
    "exec-file": "sops_py.cli.cmd_exec:exec_file_cmd",
    "rotate": "sops_py.cli.cmd_rotate:rotate_cmd",
    "updatekeys": "sops_py.cli.cmd_keys:updatekeys_cmd",
    "groups": "sops_py.cli.cmd_keys:groups_cmd",
    "keyservice": "sops_py.cli.cmd_keyservice:keyservice_cmd",
    "publish": "sops_py.cli.cmd_publish:publish_cmd",
    "completion": "sops_py.cli.cmd_completion:completion_cmd",
}
# legacy mode -> "module:function(env, file, opts)"
LEGACY_MODES: dict[str, str] = {
    "encrypt": "sops_py.cli.cmd_crypt:encrypt",
    "decrypt": "sops_py.cli.cmd_crypt:decrypt",
    "rotate": "sops_py.cli.cmd_rotate:rotate",
    "set": "sops_py.cli.cmd_set:set_legacy",
    "edit": "sops_py.cli.cmd_edit:edit",
}


def _load(target: str) -> Any:
    """Import "module:attr"; None when that module is not part of this build (yet)."""
    module, attr = target.split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as e:
        if e.name == module:
            return None
        raise


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, keeping start-up fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        command: click.Command | None = _load(target) if target else None
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["--help", "-h"]}, invoke_without_command=True)
@o.apply(o.GLOBAL_OPTIONS)
@click.pass_context
def cli(ctx: click.Context, /, **_: Any) -> None:
    """sops-py: a Python implementation of SOPS (Secrets OPerationS).

    Use a subcommand, or the legacy form: sops-py [-e|-d|-r|--set ...] [flags] FILE (edit by default).
    """
    o.setup_logging(bool(ctx.params.get("verbose")))
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@click.command("sops-py", context_settings={"help_option_names": ["--help", "-h"]})
@o.apply(o.GLOBAL_OPTIONS)
@click.argument("files", nargs=-1)
@click.pass_context
def legacy(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    """The legacy form: sops-py [flags] FILE, with -e/-d/-r/--set choosing the mode (default: edit)."""
    o.setup_logging(bool(opts.get("verbose")))
    if opts.get("show_version"):
        click.echo(f"sops {SOPS_FORMAT_VERSION} (sops-py {__version__})")
        return
    env = Env(config_path=opts.get("config") or None, indent=opts.get("indent"))
    mode = legacy_mode(ctx.meta.get("argv", []))
    file = o.one_file(files)
    if file is None:
        if mode in ("encrypt", "decrypt", "rotate", "set"):
            raise NoFileSpecified("Error: no file specified")
        click.echo(ctx.get_help())
        return
    action = _load(LEGACY_MODES[mode])
    if action is None:
        raise SopsError(f"sops-py does not support the {mode} mode yet")
    action(env, file, opts)


def legacy_mode(argv: Sequence[str]) -> str:
    """The mode the last mode flag selects (sops: several mode flags warn and the last wins)."""
    modes = []
    for tok in argv:
        if tok in ("-e", "--encrypt"):
            modes.append("encrypt")
        elif tok in ("-d", "--decrypt"):
            modes.append("decrypt")
        elif tok in ("-r", "--rotate"):
            modes.append("rotate")
        elif tok == "--set" or tok.startswith("--set="):
            modes.append("set")
    if len(set(modes)) > 1:
        log.warning("More than one mode flag was provided; the last one (%s) is used", modes[-1])
    return modes[-1] if modes else "edit"


def _first_positional(argv: Sequence[str]) -> str | None:
    skip = False
    for tok in argv:
        if skip:
            skip = False
            continue
        if tok == "--":
            return None
        if tok.startswith("-") and tok != "-":
            if "=" not in tok and tok in o.GLOBAL_VALUE_FLAGS:
                skip = True
            continue
        return tok
    return None


def _normalise(argv: list[str]) -> list[str]:
    """urfave/cli accepts --flag=false for booleans; map the one sops users write to click's form."""
    out = []
    for tok in argv:
        name, eq, value = tok.partition("=")
        if eq and name in o.BOOL_FLAGS_TAKING_EQ:
            out.append(name if value.lower() in ("1", "t", "true") else "--no-" + name[2:])
        else:
            out.append(tok)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    args = _normalise(list(sys.argv[1:] if argv is None else argv))
    first = _first_positional(args)
    command: click.Command = cli if first in COMMANDS else legacy
    if first is None and (not args or "--help" in args or "-h" in args):
        command = cli  # help lists the subcommands
    if first is not None and command is cli and any(a in ("--version", "-v") for a in args[: args.index(first)]):
        command = legacy
    code = 0
    try:
        with command.make_context("sops-py", list(args)) as ctx:
            ctx.meta["argv"] = args
            command.invoke(ctx)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.UsageError as e:
        # sops (urfave/cli) exits 1 on usage errors; click's 2 would mean "could not read input"
        click.echo(f"Incorrect Usage: {e.format_message()}", err=True)
        code = 1
    except click.Abort:
        code = 130
    except SopsError as e:
        sys.stderr.write(str(e).rstrip("\n") + "\n")
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 0
    sys.stdout.flush()
    sys.exit(code)
