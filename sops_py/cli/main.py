"""Entry point: sops' command tree on click, the legacy flag form, and the single error boundary.

sops (urfave/cli v1) takes global flags before a subcommand, or the legacy form
``sops [flags] FILE`` where -e/-d/-r/--set pick the mode. ``main`` decides which form argv uses,
runs it, and turns every SopsError into its message on stderr and sops' exit code.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from ..errors import NoFileSpecified, SopsError
from ..version import SOPS_FORMAT_VERSION, __version__
from .context import Env

log = logging.getLogger("sops_py")

F = Callable[..., Any]


def _opt(*names: str, **kw: Any) -> Callable[[F], F]:
    return click.option(*names, **kw)


# ------------------------------------------------------------------ option groups (sops' flag names)

def _key_options(envvars: bool) -> list[Callable[[F], F]]:
    def ev(name: str) -> str | None:
        return name if envvars else None

    return [
        _opt("--kms", "-k", "kms", envvar=ev("SOPS_KMS_ARN"), help="comma separated list of KMS ARNs"),
        _opt("--aws-profile", help="The AWS profile to use for requests to AWS"),
        _opt("--gcp-kms", envvar=ev("SOPS_GCP_KMS_IDS"), help="comma separated list of GCP KMS resource IDs"),
        _opt("--hckms", envvar=ev("SOPS_HUAWEICLOUD_KMS_IDS"),
             help="comma separated list of HuaweiCloud KMS key IDs (format: region:key-uuid)"),
        _opt("--azure-kv", envvar=ev("SOPS_AZURE_KEYVAULT_URLS"), help="comma separated list of Azure Key Vault URLs"),
        _opt("--hc-vault-transit", envvar=ev("SOPS_VAULT_URIS"),
             help="comma separated list of vault's key URI (e.g. 'https://vault.example.org:8200/v1/transit/keys/dev')"),
        _opt("--pgp", "-p", envvar=ev("SOPS_PGP_FP"), help="comma separated list of PGP fingerprints"),
        _opt("--age", "-a", envvar=ev("SOPS_AGE_RECIPIENTS"), help="comma separated list of age recipients"),
    ]


_RULE_OPTIONS = [
    _opt("--unencrypted-suffix", help="override the unencrypted key suffix."),
    _opt("--encrypted-suffix", help="override the encrypted key suffix. When empty, all keys will be encrypted, "
         "unless otherwise marked with unencrypted-suffix."),
    _opt("--unencrypted-regex", help="set the unencrypted key regex. When specified, only keys matching the regex "
         "will be left unencrypted."),
    _opt("--encrypted-regex", help="set the encrypted key regex. When specified, only keys matching the regex will "
         "be encrypted."),
]
_COMMENT_RULE_OPTIONS = [
    _opt("--unencrypted-comment-regex", help="set the unencrypted comment suffix. When specified, only keys that have "
         "comment matching the regex will be left unencrypted."),
    _opt("--encrypted-comment-regex", help="set the encrypted comment suffix. When specified, only keys that have "
         "comment matching the regex will be encrypted."),
]
_TYPE_OPTIONS = [
    _opt("--input-type", help="currently json, yaml, dotenv, ini and binary are supported. If not set, sops-py will "
         "use the file's extension to determine the type"),
    _opt("--output-type", help="currently json, yaml, dotenv, ini and binary are supported. If not set, sops-py will "
         "use the input file's extension to determine the output format"),
]
_KEYSERVICE_OPTIONS = [
    _opt("--keyservice", multiple=True, envvar="SOPS_KEYSERVICE", help="Specify the key services to use in "
         "addition to the local one. Can be specified more than once. Syntax: protocol://address."),
    _opt("--enable-local-keyservice/--no-enable-local-keyservice", default=True,
         envvar="SOPS_ENABLE_LOCAL_KEYSERVICE", help="use local key service"),
]
_DECRYPTION_ORDER = _opt("--decryption-order", envvar="SOPS_DECRYPTION_ORDER",
                         help="comma separated list of decryption key types")
_FILENAME_OVERRIDE = _opt("--filename-override", help="Use this filename instead of the provided argument for "
                          "loading configuration, and for determining input type and output type")
_SHAMIR = _opt("--shamir-secret-sharing-threshold", type=int, default=0,
               help="the number of master keys required to retrieve the data key with shamir")
_ENC_CONTEXT = _opt("--encryption-context", help="comma separated list of KMS encryption context key:value pairs")
_IN_PLACE = _opt("--in-place", "-i", is_flag=True, help="write output back to the same file instead of stdout")
_OUTPUT = _opt("--output", help="Save the output to the file specified")
_INDENT = _opt("--indent", type=int, default=None, help="the number of spaces to indent YAML or JSON files")
_IGNORE_MAC = _opt("--ignore-mac", is_flag=True, help="ignore Message Authentication Code during decryption")
_EXTRACT = _opt("--extract", help="extract a specific key or branch from the input document. Decrypt mode only. "
                "Example: --extract '[\"somekey\"][0]'")
_VERBOSE = _opt("--verbose", is_flag=True, help="Enable verbose logging output")
_MAC_ONLY = _opt("--mac-only-encrypted", is_flag=True, help="compute MAC only over values which end up encrypted")


def _apply(options: Sequence[Callable[[F], F]]) -> Callable[[F], F]:
    def deco(f: F) -> F:
        for o in reversed(options):
            f = o(f)
        return f
    return deco


GLOBAL_OPTIONS: list[Callable[[F], F]] = [
    _opt("--decrypt", "-d", is_flag=True, help="decrypt a file and output the result to stdout"),
    _opt("--encrypt", "-e", is_flag=True, help="encrypt a file and output the result to stdout"),
    _opt("--rotate", "-r", is_flag=True, help="generate a new data encryption key and reencrypt all values"),
    _opt("--set", "set_", help='set a specific key or branch in the input document. Example: '
         '--set \'["somekey"][0] {"somevalue":true}\''),
    _opt("--disable-version-check", is_flag=True, envvar="SOPS_DISABLE_VERSION_CHECK",
         help="do not check whether the current version is latest during --version"),
    _opt("--check-for-updates", is_flag=True, help="check for a newer sops release during --version (never "
         "done by sops-py: it makes no network calls)"),
    _opt("--version", "-v", "show_version", is_flag=True, help="print the version"),
    *_key_options(envvars=True),
    _IN_PLACE, _EXTRACT, *_TYPE_OPTIONS, _SHAMIR,
    _opt("--show-master-keys", "-s", is_flag=True, help="display master encryption keys in the file during editing"),
    *[_opt(f"--add-{k}", help=f"add the provided comma-separated list of {k} keys to the list of master keys "
           "on the given file") for k in ("gcp-kms", "hckms", "azure-kv", "kms", "hc-vault-transit", "age", "pgp")],
    *[_opt(f"--rm-{k}", help=f"remove the provided comma-separated list of {k} keys from the list of master keys "
           "on the given file") for k in ("gcp-kms", "hckms", "azure-kv", "kms", "hc-vault-transit", "age", "pgp")],
    _IGNORE_MAC, _MAC_ONLY, *_RULE_OPTIONS, *_COMMENT_RULE_OPTIONS,
    _opt("--config", envvar="SOPS_CONFIG", help="path to sops' config file. If set, sops will not search for the "
         "config file recursively."),
    _ENC_CONTEXT, _DECRYPTION_ORDER, _OUTPUT, _INDENT, _VERBOSE, _FILENAME_OVERRIDE, *_KEYSERVICE_OPTIONS,
]
_GLOBAL_VALUE_FLAGS = {
    "--set", "--kms", "-k", "--aws-profile", "--gcp-kms", "--hckms", "--azure-kv", "--hc-vault-transit", "--pgp",
    "-p", "--age", "-a", "--extract", "--input-type", "--output-type", "--shamir-secret-sharing-threshold",
    "--unencrypted-suffix", "--encrypted-suffix", "--unencrypted-regex", "--encrypted-regex",
    "--unencrypted-comment-regex", "--encrypted-comment-regex", "--config", "--encryption-context",
    "--decryption-order", "--output", "--indent", "--filename-override", "--keyservice",
    *(f"--{op}-{k}" for op in ("add", "rm") for k in ("gcp-kms", "hckms", "azure-kv", "kms", "hc-vault-transit",
                                                       "age", "pgp")),
}
_BOOL_FLAGS_TAKING_EQ = {"--enable-local-keyservice"}


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[SOPS-PY]\t level=%(levelname)s msg=%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False


def _env(ctx: click.Context) -> Env:
    root = ctx.find_root()
    params = root.params
    env = Env(config_path=params.get("config") or None, indent=params.get("indent"))
    return env


def _one_file(files: tuple[str, ...]) -> str | None:
    if len(files) > 1:
        log.warning("More than one positional argument provided. Only the first one will be used!")
    return files[0] if files else None


# ------------------------------------------------------------------ commands

@click.group(context_settings={"help_option_names": ["--help", "-h"]}, invoke_without_command=False)
@_apply(GLOBAL_OPTIONS)
@click.pass_context
def cli(ctx: click.Context, /, **_: Any) -> None:
    """sops-py: a Python implementation of SOPS (Secrets OPerationS)."""
    _setup_logging(bool(ctx.params.get("verbose")))


@cli.command("decrypt", help="decrypt a file, and output the results to stdout. If no filename is provided, "
             "stdin will be used.")
@_apply([_IN_PLACE, _EXTRACT, _OUTPUT, *_TYPE_OPTIONS, _IGNORE_MAC, _FILENAME_OVERRIDE, _DECRYPTION_ORDER, _INDENT,
         _VERBOSE, *_KEYSERVICE_OPTIONS])
@click.argument("files", nargs=-1)
@click.pass_context
def decrypt_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    from . import commands

    env = _env(ctx)
    if opts.get("indent") is not None:
        env.indent = opts["indent"]
    if opts.get("verbose"):
        log.setLevel(logging.DEBUG)
    commands.decrypt(env, _one_file(files), opts)


@cli.command("encrypt", help="encrypt a file, and output the results to stdout. If no filename is provided, "
             "stdin will be used.")
@_apply([_IN_PLACE, _OUTPUT, *_key_options(envvars=True), *_TYPE_OPTIONS, *_RULE_OPTIONS, _ENC_CONTEXT, _SHAMIR,
         _FILENAME_OVERRIDE, _INDENT, _MAC_ONLY, _VERBOSE, *_KEYSERVICE_OPTIONS])
@click.argument("files", nargs=-1)
@click.pass_context
def encrypt_cmd(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    from . import commands

    env = _env(ctx)
    if opts.get("indent") is not None:
        env.indent = opts["indent"]
    if opts.get("verbose"):
        log.setLevel(logging.DEBUG)
    if ctx.find_root().params.get("mac_only_encrypted"):
        opts["mac_only_encrypted"] = True  # sops 3.13 reads the global flag for subcommands too
    commands.encrypt(env, _one_file(files), opts)


@click.command("sops-py", context_settings={"help_option_names": ["--help", "-h"]})
@_apply(GLOBAL_OPTIONS)
@click.argument("files", nargs=-1)
@click.pass_context
def legacy(ctx: click.Context, /, files: tuple[str, ...], **opts: Any) -> None:
    """The legacy form: sops-py [flags] FILE, with -e/-d/-r/--set choosing the mode."""
    from . import commands

    _setup_logging(bool(opts.get("verbose")))
    if opts.get("show_version"):
        click.echo(f"sops {SOPS_FORMAT_VERSION} (sops-py {__version__})")
        return
    env = Env(config_path=opts.get("config") or None, indent=opts.get("indent"))
    mode = _legacy_mode(ctx.meta.get("argv", []))
    file = _one_file(files)
    if mode == "encrypt":
        if file is None:
            raise NoFileSpecified("Error: no file specified")
        commands.encrypt(env, file, opts)
    elif mode == "decrypt":
        if file is None:
            raise NoFileSpecified("Error: no file specified")
        commands.decrypt(env, file, opts)
    elif file is None:
        click.echo(ctx.get_help())
    else:
        raise SopsError(f"sops-py does not support the {mode} mode yet")


def _legacy_mode(argv: Sequence[str]) -> str:
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


SUBCOMMANDS = {"decrypt", "encrypt"}


def _first_positional(argv: Sequence[str]) -> str | None:
    skip = False
    for tok in argv:
        if skip:
            skip = False
            continue
        if tok == "--":
            return None
        if tok.startswith("-") and tok != "-":
            if "=" not in tok and tok in _GLOBAL_VALUE_FLAGS:
                skip = True
            continue
        return tok
    return None


def _normalise(argv: list[str]) -> list[str]:
    """urfave/cli accepts --flag=false for booleans; map the one sops users write to click's form."""
    out = []
    for tok in argv:
        name, eq, value = tok.partition("=")
        if eq and name in _BOOL_FLAGS_TAKING_EQ:
            out.append(name if value.lower() in ("1", "t", "true") else "--no-" + name[2:])
        else:
            out.append(tok)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    args = _normalise(list(sys.argv[1:] if argv is None else argv))
    first = _first_positional(args)
    command: click.Command = cli if first in SUBCOMMANDS else legacy
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
