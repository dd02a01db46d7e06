"""Entry point: sops' command tree, the legacy flag form, and the single error boundary.

sops (urfave/cli v1) takes global flags before a subcommand, or the legacy form
``sops [flags] FILE`` where -e/-d/-r/--set pick the mode. ``urfave`` parses argv as sops does (global
flags up to the first positional argument; a command name there runs that command, anything else is
the legacy form's file). ``main`` runs it and turns every SopsError into its message on stderr and
sops' exit code. Subcommands live in their own modules and are imported only when invoked
(``COMMANDS``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from .. import log
from ..errors import EXIT_INTERRUPTED, EXIT_USAGE, NoFileSpecified, SopsError, report
from ..settings import Env
from ..version import SOPS_FORMAT_VERSION, __version__
from . import options as o
from . import urfave

PROG = "sops-py"

# command name -> "module:attribute" of its click command, in the order sops lists them
COMMANDS: dict[str, str] = {
    "completion": "sops_py.cli.cmd_completion:completion_cmd",
    "exec-env": "sops_py.cli.cmd_exec:exec_env_cmd",
    "exec-file": "sops_py.cli.cmd_exec:exec_file_cmd",
    "publish": "sops_py.cli.cmd_publish:publish_cmd",
    "keyservice": "sops_py.cli.cmd_keyservice:keyservice_cmd",
    "filestatus": "sops_py.cli.cmd_filestatus:filestatus_cmd",
    "groups": "sops_py.cli.cmd_keys:groups_cmd",
    "updatekeys": "sops_py.cli.cmd_keys:updatekeys_cmd",
    "decrypt": "sops_py.cli.cmd_crypt:decrypt_cmd",
    "encrypt": "sops_py.cli.cmd_crypt:encrypt_cmd",
    "rotate": "sops_py.cli.cmd_rotate:rotate_cmd",
    "edit": "sops_py.cli.cmd_edit:edit_cmd",
    "set": "sops_py.cli.cmd_set:set_cmd",
    "unset": "sops_py.cli.cmd_set:unset_cmd",
    # sops-py extensions (sops has no such commands)
    "check": "sops_py.cli.cmd_check:check_cmd",
    "ksops": "sops_py.cli.cmd_ksops:ksops_cmd",
    "kustomize": "sops_py.cli.cmd_kustomize:kustomize_cmd",
    "export": "sops_py.cli.cmd_export:export_cmd",
    "diff": "sops_py.cli.cmd_diff:diff_cmd",
    "git": "sops_py.cli.cmd_git:git_cmd",
}
# the commands above that sops does not have (listed after sops' own, in help and completion)
EXTENSION_COMMANDS: tuple[str, ...] = ("check", "ksops", "kustomize", "export", "diff", "git")
# legacy mode -> "module:function(env, file, opts)"
LEGACY_MODES: dict[str, str] = {
    "encrypt": "sops_py.cli.crypt_actions:encrypt",
    "decrypt": "sops_py.cli.crypt_actions:decrypt",
    "rotate": "sops_py.cli.cmd_rotate:rotate",
    "set": "sops_py.cli.cmd_set:set_legacy",
    "edit": "sops_py.cli.cmd_edit:edit",
}

VERSION = f"sops {SOPS_FORMAT_VERSION} (sops-py {__version__})"

USAGE_TEXT = f"""{PROG} is an editor of encrypted files that supports AWS KMS, GCP, HuaweiCloud KMS, AZKV,
   PGP, and Age. It reads and writes the files of sops 3.x and takes sops' commands and flags.

   To encrypt or decrypt a document with AWS KMS, specify the KMS ARN
   in the -k flag or in the SOPS_KMS_ARN environment variable.

   To encrypt or decrypt a document with GCP KMS, specify the
   GCP KMS resource ID in the --gcp-kms flag or in the SOPS_GCP_KMS_IDS
   environment variable.

   To encrypt or decrypt a document with HuaweiCloud KMS, specify the
   HuaweiCloud KMS key ID (format: region:key-uuid) in the --hckms flag or in the
   SOPS_HUAWEICLOUD_KMS_IDS environment variable.

   To encrypt or decrypt a document with HashiCorp Vault's Transit Secret
   Engine, specify the Vault key URI name in the --hc-vault-transit flag
   or in the SOPS_VAULT_URIS environment variable (for example
   https://vault.example.org:8200/v1/transit/keys/dev).

   To encrypt or decrypt a document with Azure Key Vault, specify the
   Azure Key Vault key URL in the --azure-kv flag or in the
   SOPS_AZURE_KEYVAULT_URLS environment variable.

   To encrypt or decrypt using age, specify the recipient in the -a flag,
   or in the SOPS_AGE_RECIPIENTS environment variable.

   To encrypt or decrypt using PGP, specify the PGP fingerprint in the
   -p flag or in the SOPS_PGP_FP environment variable.

   To use multiple KMS or PGP keys, separate them by commas. For example:
       $ {PROG} -p "10F2...0A, 85D...B3F21" file.yaml

   The -p, -k, --gcp-kms, --hckms, --hc-vault-transit, and --azure-kv flags are only
   used to encrypt new documents. Editing or decrypting existing documents
   can be done with "{PROG} file" or "{PROG} decrypt file" respectively. The KMS and
   PGP keys listed in the encrypted documents are used then. To manage master
   keys in existing documents, use the "add-{{kms,pgp,gcp-kms,hckms,azure-kv,hc-vault-transit}}"
   and "rm-{{kms,pgp,gcp-kms,hckms,azure-kv,hc-vault-transit}}" flags with --rotate
   or the updatekeys command.

   To use a different GPG binary than the one in your PATH, set SOPS_GPG_EXEC.

   To select a different editor than the default (vim), set SOPS_EDITOR or
   EDITOR.

   Note that flags must always be provided before the filename to operate on.
   Otherwise, they will be ignored.

   For more information, see docs/cli.md and the sops README at https://github.com/getsops/sops"""


def _load(target: str) -> Any:
    """Import "module:attr"; None when that module is not part of this build (yet)."""
    module, attr = target.split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as e:
        if e.name == module:
            return None
        raise


class SopsApp(urfave.UrfaveGroup):
    """The program: global flags, then a command (imported on first use) or the legacy form's file."""

    root = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is not None:
            command: click.Command | None = _load(target)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(PROG, cls=SopsApp, help="encrypted file editor with AWS KMS, GCP KMS, HuaweiCloud KMS, Azure Key "
             "Vault, age, and GPG support: a Python implementation of sops")
@o.apply(o.GLOBAL_OPTIONS)
@click.pass_context
def cli(ctx: click.Context, /, **opts: Any) -> None:
    # sops reads the global --verbose in its legacy form and in publish and keyservice (c.GlobalBool);
    # its other subcommands ask their own flags (urfave/cli 1's c.Bool), which have no --verbose
    o.setup_logging(bool(opts.get("verbose")) and ctx.invoked_subcommand in (None, "publish", "keyservice"))
    if ctx.invoked_subcommand is None:
        app = ctx.command
        assert isinstance(app, SopsApp)
        legacy(ctx, app.positionals(ctx), opts)


cli.version_text = VERSION
cli.usage_text = USAGE_TEXT
cli.authors = ["sops-py contributors (sops: CNCF Maintainers)"]
urfave.ROOT_VERSION[:] = [f"{SOPS_FORMAT_VERSION} (sops-py {__version__})"]


def legacy(ctx: click.Context, files: Sequence[str], opts: Mapping[str, Any]) -> None:
    """The legacy form: sops-py [flags] FILE, with -e/-d/-r/--set choosing the mode (default: edit)."""
    mode = legacy_mode(opts)
    if not files:
        raise NoFileSpecified("Error: no file specified")
    file = o.one_file(files)
    assert file is not None
    env = Env(config_path=opts.get("config") or None, indent=opts.get("indent"))
    action = _load(LEGACY_MODES[mode])
    if action is None:
        raise SopsError(f"sops-py does not support the {mode} mode yet")
    action(env, file, opts)


def legacy_mode(opts: Mapping[str, Any]) -> str:
    """The mode whose output sops keeps when several are given (it runs encrypt, decrypt, rotate, set in
    that order, each on the original file, and warns)."""
    modes = [m for m, on in (("encrypt", opts.get("encrypt")), ("decrypt", opts.get("decrypt")),
                             ("rotate", opts.get("rotate")), ("set", opts.get("set_"))) if on]
    if len(modes) > 1:
        log.warning("More than one command (--encrypt, --decrypt, --rotate, --set) has been specified. Only the "
                    "changes made by the last one will be visible. Note that this behavior is deprecated and "
                    "will cause an error eventually.")
    return modes[-1] if modes else "edit"


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    code = 0
    try:
        if args and args[-1] == urfave.COMPLETION_FLAG:
            for line in urfave.completions(cli, args[:-1]):
                sys.stdout.write(line + "\n")
        else:
            with cli.make_context(PROG, args) as ctx:
                cli.invoke(ctx)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except urfave.UsageFailure as e:
        e.report()
        code = 1
    except click.UsageError as e:  # not raised by our parser; kept as a safety net
        sys.stderr.write(urfave.fatal_line(e.format_message()))
        code = 1
    except click.Abort:
        code = EXIT_INTERRUPTED
    except urfave.GoFatal as e:
        sys.stderr.write(urfave.fatal_line(str(e)))
        code = EXIT_USAGE
    except (SopsError, KeyboardInterrupt, BrokenPipeError) as e:
        code = report(e)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(code)
