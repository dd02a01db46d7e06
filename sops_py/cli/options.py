"""Click option declarations shared by the commands (sops' flag names, help texts and env vars),
and the small helpers every command uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from .. import log
from ..settings import Env
from .logsetup import setup_logging as setup_logging  # re-exported for the commands

F = Callable[..., Any]


def opt(*names: str, **kw: Any) -> Callable[[F], F]:
    return click.option(*names, **kw)


# ------------------------------------------------------------------ option groups (sops' flag names)

def key_options(envvars: bool) -> list[Callable[[F], F]]:
    def ev(name: str) -> str | None:
        return name if envvars else None

    return [
        opt("--kms", "-k", "kms", envvar=ev("SOPS_KMS_ARN"), help="comma separated list of KMS ARNs"),
        opt("--aws-profile", help="The AWS profile to use for requests to AWS"),
        opt("--gcp-kms", envvar=ev("SOPS_GCP_KMS_IDS"), help="comma separated list of GCP KMS resource IDs"),
        opt("--hckms", envvar=ev("SOPS_HUAWEICLOUD_KMS_IDS"),
             help="comma separated list of HuaweiCloud KMS key IDs (format: region:key-uuid)"),
        opt("--azure-kv", envvar=ev("SOPS_AZURE_KEYVAULT_URLS"), help="comma separated list of Azure Key Vault URLs"),
        opt("--hc-vault-transit", envvar=ev("SOPS_VAULT_URIS"),
             help="comma separated list of vault's key URI (e.g. 'https://vault.example.org:8200/v1/transit/keys/dev')"),
        opt("--pgp", "-p", envvar=ev("SOPS_PGP_FP"), help="comma separated list of PGP fingerprints"),
        opt("--age", "-a", envvar=ev("SOPS_AGE_RECIPIENTS"), help="comma separated list of age recipients"),
    ]


RULE_OPTIONS = [
    opt("--unencrypted-suffix", help="override the unencrypted key suffix."),
    opt("--encrypted-suffix", help="override the encrypted key suffix. When empty, all keys will be encrypted, "
         "unless otherwise marked with unencrypted-suffix."),
    opt("--unencrypted-regex", help="set the unencrypted key regex. When specified, only keys matching the regex "
         "will be left unencrypted."),
    opt("--encrypted-regex", help="set the encrypted key regex. When specified, only keys matching the regex will "
         "be encrypted."),
]
COMMENT_RULE_OPTIONS = [
    opt("--unencrypted-comment-regex", help="set the unencrypted comment suffix. When specified, only keys that have "
         "comment matching the regex will be left unencrypted."),
    opt("--encrypted-comment-regex", help="set the encrypted comment suffix. When specified, only keys that have "
         "comment matching the regex will be encrypted."),
]
TYPE_OPTIONS = [
    opt("--input-type", help="currently json, yaml, dotenv, ini and binary are supported. If not set, sops-py will "
         "use the file's extension to determine the type"),
    opt("--output-type", help="currently json, yaml, dotenv, ini and binary are supported. If not set, sops-py will "
         "use the input file's extension to determine the output format"),
]
KEYSERVICE_OPTIONS = [
    opt("--enable-local-keyservice/--no-enable-local-keyservice", default=True,
        envvar="SOPS_ENABLE_LOCAL_KEYSERVICE", help="use local key service"),
    opt("--keyservice", multiple=True, envvar="SOPS_KEYSERVICE", help="Specify the key services to use in "
        "addition to the local one. Can be specified more than once. Syntax: protocol://address. Example: "
        "tcp://myserver.com:5000"),
]
DECRYPTION_ORDER = opt("--decryption-order", envvar="SOPS_DECRYPTION_ORDER",
                         help="comma separated list of decryption key types")
_FILENAME_OVERRIDE_HELP = ("Use this filename instead of the provided argument for loading configuration, and for "
                           "determining input type and output type")
FILENAME_OVERRIDE = opt("--filename-override", help=_FILENAME_OVERRIDE_HELP)


def filename_override(extra: str) -> Callable[[F], F]:
    return opt("--filename-override", help=f"{_FILENAME_OVERRIDE_HELP}. {extra}")


def output(what: str) -> Callable[[F], F]:
    return opt("--output", help=f"Save the output after {what} to the file specified")

SHAMIR = opt("--shamir-secret-sharing-threshold", type=int, default=0,
               help="the number of master keys required to retrieve the data key with shamir")
ENC_CONTEXT = opt("--encryption-context", help="comma separated list of KMS encryption context key:value pairs")
IN_PLACE = opt("--in-place", "-i", is_flag=True, help="write output back to the same file instead of stdout")
INDENT = opt("--indent", type=int, default=None, help="the number of spaces to indent YAML or JSON encoded file")
IGNORE_MAC = opt("--ignore-mac", is_flag=True, help="ignore Message Authentication Code during decryption")
EXTRACT = opt("--extract", help="extract a specific key or branch from the input document. Decrypt mode only. "
              "Example: --extract '[\"somekey\"][0]'")
VERBOSE = opt("--verbose", is_flag=True, help="Enable verbose logging output")
OUTPUT_DIR = opt("--output-dir", help="sops-py extension: with several files, write each result under this "
                 "directory (same base name); several files with --in-place rewrite each in place")
MAC_ONLY = opt("--mac-only-encrypted", is_flag=True, help="compute MAC only over values which end up encrypted")


# Flags sops-py adds to sops' commands: command path -> {flag: what it does}. docs/cli.md lists them and
# tests/cli/test_cli_parity.py checks that nothing else differs from sops' flags.
EXTENSIONS: dict[tuple[str, ...], dict[str, str]] = {
    ("decrypt",): {
        "indent": "the global --indent, also accepted after the command",
        "verbose": "verbose logging for this command (sops' global --verbose applies to its legacy form only)",
        "output-dir": "several files: write each decrypted file under this directory; several files with "
                      "--in-place are each rewritten in place (one process, identities loaded once)",
    },
    ("encrypt",): {
        "indent": "the global --indent, also accepted after the command",
        "mac-only-encrypted": "as the global flag (sops 3.13 reads the global one for subcommands)",
        "verbose": "verbose logging for this command (sops' global --verbose applies to its legacy form only)",
        "output-dir": "several files: write each encrypted file under this directory; several files with "
                      "--in-place are each rewritten in place",
        "reuse": "encrypt with the data key, keys and rules of an existing encrypted file, keeping the "
                 "ciphertext (IV included) of every value whose path and plaintext are unchanged",
    },
    ("rotate",): {
        "indent": "the global --indent, also accepted after the command",
        "verbose": "verbose logging for this command (sops' global --verbose applies to its legacy form only)",
    },
    ("updatekeys",): {
        "shamir-secret-sharing-threshold": "the threshold to write (sops reads this flag but does not define "
                                           "it on updatekeys, so it is always 0 there)",
        "verbose": "verbose logging for this command (sops' global --verbose applies to its legacy form only)",
    },
}


def apply(options: Sequence[Callable[[F], F]]) -> Callable[[F], F]:
    def deco(f: F) -> F:
        for o in reversed(options):
            f = o(f)
        return f
    return deco


KEY_KINDS_ADD_RM = ("gcp-kms", "hckms", "azure-kv", "kms", "hc-vault-transit", "age", "pgp")
_ADD_RM_WHAT = {
    "gcp-kms": "GCP KMS key resource IDs", "hckms": "HuaweiCloud KMS key IDs (format: region:key-uuid)",
    "azure-kv": "Azure Key Vault key URLs", "kms": "KMS ARNs", "hc-vault-transit": "Vault's URI key",
    "age": "age recipients", "pgp": "PGP fingerprints",
}
_VAULT_EG = " ( eg. https://vault.example.org:8200/v1/transit/keys/dev)"


def add_rm_options() -> list[Callable[[F], F]]:
    """--add-X / --rm-X for each key type, in sops' order (used by the legacy -r and by rotate)."""
    out = []
    for k in KEY_KINDS_ADD_RM:
        what = _ADD_RM_WHAT[k]
        add_what = "age recipients fingerprints" if k == "age" else what
        eg = _VAULT_EG if k == "hc-vault-transit" else ""
        out.append(opt(f"--add-{k}", help=f"add the provided comma-separated list of {add_what} to the list of "
                       f"master keys on the given file{eg}"))
        out.append(opt(f"--rm-{k}", help=f"remove the provided comma-separated list of {what} from the list of "
                       f"master keys on the given file{eg}"))
    return out


# The global flags, in sops' order (--help and --version come last in its help).
GLOBAL_OPTIONS: list[Callable[[F], F]] = [
    opt("--decrypt", "-d", is_flag=True, help="decrypt a file and output the result to stdout"),
    opt("--encrypt", "-e", is_flag=True, help="encrypt a file and output the result to stdout"),
    opt("--rotate", "-r", is_flag=True, help="generate a new data encryption key and reencrypt all values with "
        "the new key"),
    opt("--disable-version-check", is_flag=True, envvar="SOPS_DISABLE_VERSION_CHECK",
        help="do not check whether the current version is latest during --version"),
    opt("--check-for-updates", is_flag=True, help="do check whether the current version is latest during "
        "--version (sops-py never does: it makes no network calls)"),
    *key_options(envvars=True),
    IN_PLACE, EXTRACT, *TYPE_OPTIONS,
    opt("--show-master-keys", "-s", is_flag=True, help="display master encryption keys in the file during editing"),
    *add_rm_options(),
    IGNORE_MAC, MAC_ONLY, *RULE_OPTIONS, *COMMENT_RULE_OPTIONS,
    opt("--config", envvar="SOPS_CONFIG", help="path to sops' config file. If set, sops-py will not search for the "
        "config file recursively."),
    ENC_CONTEXT,
    opt("--set", "set_", help="set a specific key or branch in the input document. value must be a json encoded "
        "string. (edit mode only). eg. --set '[\"somekey\"][0] {\"somevalue\":true}'"),
    SHAMIR, INDENT, VERBOSE,
    opt("--output", help="Save the output after encryption or decryption to the file specified"),
    FILENAME_OVERRIDE, DECRYPTION_ORDER, *KEYSERVICE_OPTIONS,
    opt("--version", "-v", "show_version", is_flag=True, help="print the version"),
]




def env_of(ctx: click.Context, opts: dict[str, Any] | None = None) -> Env:
    """The process inputs for a subcommand: global --config/--indent, a subcommand's --indent winning."""
    params = ctx.find_root().params
    env = Env(config_path=params.get("config") or None, indent=params.get("indent"))
    if opts and opts.get("indent") is not None:
        env.indent = opts["indent"]
    if opts and opts.get("verbose"):  # sops-py's own flag: sops' global one does not reach subcommands
        log.configure(True)
    return env


def one_file(files: Sequence[str]) -> str | None:
    """The first positional argument; more of them are ignored with sops' warnings."""
    from .urfave import warn_extra_positionals

    warn_extra_positionals(files, log.warning)
    return files[0] if files else None
