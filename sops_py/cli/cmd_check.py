"""`sops-py check [PATH ...]` (a sops-py extension): the keyless pre-commit check of
``sops_py.integrations.check``, printed as text, JSON or GitHub annotations; exit 0 when clean, 1
when a problem was found or ``--fix`` encrypted a file."""

from __future__ import annotations

from typing import Any

import click

from ..errors import EXIT_OK, EXIT_PROBLEMS_FOUND
from . import options as o
from .urfave import UrfaveCommand, UsageFailure


@click.command("check", cls=UrfaveCommand,
               help="sops-py extension: check, without keys, that every file .sops.yaml names is encrypted, "
                    "with no plaintext value its rules encrypt")
@o.apply([
    o.opt("--config", "check_config", help="the .sops.yaml to use for every file (default: the nearest one "
          "above each file)"),
    o.opt("--input-type", help="the format of every file: yaml, json, dotenv, ini or binary (default: by "
          "extension)"),
    o.opt("--verify", is_flag=True, help="also decrypt in memory and verify the MAC where a key is available"),
    o.opt("--fix", is_flag=True, help="encrypt in place, with the rule's keys, each matched file that is not "
          "encrypted at all"),
    o.opt("--strict-keys", is_flag=True, help="recipients that differ from .sops.yaml are an error, not a "
          "warning"),
    o.opt("--format", "output_format", default="text", help="text, json or github (workflow annotations)"),
    o.VERBOSE,
])
@click.argument("paths", nargs=-1, metavar="[PATH...]")
@click.pass_context
def check_cmd(ctx: click.Context, /, paths: tuple[str, ...], **opts: Any) -> None:
    from ..integrations.check import CheckOptions, run_check
    from ..integrations.check_report import FORMATS, render

    fmt = opts.get("output_format") or "text"
    if fmt not in FORMATS:
        raise UsageFailure(f'invalid value "{fmt}" for flag -format: use text, json or github', ctx)
    env = o.env_of(ctx, opts)
    options = CheckOptions(config=opts.get("check_config") or env.config_path, input_type=opts.get("input_type"),
                           verify=bool(opts.get("verify")), fix=bool(opts.get("fix")),
                           strict_keys=bool(opts.get("strict_keys")))
    report = run_check(list(paths), options, env.cwd)
    # as bytes: a file name or a message may hold bytes that are not UTF-8 (kept as surrogates), which
    # a strict text stdout (any UTF-8 locale but C.UTF-8) would refuse with a traceback
    click.echo(render(report, fmt).encode("utf-8", "surrogateescape"), nl=False)
    # a fixer that changed files fails, as pre-commit's own fixers do: the commit must be retried with
    # the encrypted files staged (and a CI run of --fix must not look clean)
    ctx.exit(EXIT_OK if report.ok and not report.fixed else EXIT_PROBLEMS_FOUND)
