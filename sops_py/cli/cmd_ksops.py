"""`sops-py ksops`: the KSOPS-compatible kustomize generator, and `sops-py ksops install`.

Invoked as KSOPS is: with one argument (a generator manifest file) it is the legacy exec plugin;
with none it is a KRM function reading a ResourceList on stdin (a terminal on stdin is refused, as
KSOPS refuses it). The work is in ``sops_py.integrations.ksops*``; this module reads argv and stdin
and writes stdout.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import SopsError
from . import options as o
from .urfave import UrfaveGroup

USAGE = """KSOPS-compatible generator (sops-py): decrypts the files of a `kind: ksops` manifest.

kustomize usage:
- legacy plugin: sops-py ksops install "$XDG_CONFIG_HOME/kustomize/plugin", then
  kubectl kustomize --enable-alpha-plugins DIR
- KRM function: sops-py ksops install --bin DIR-ON-PATH, then
  kustomize build --enable-alpha-plugins --enable-exec DIR

Standalone usage:
- legacy: sops-py ksops secret-generator.yaml
- KRM: cat resource-list.yaml | sops-py ksops"""


class KsopsGroup(UrfaveGroup):
    """``install`` (and ``help``) are subcommands; anything else is KSOPS' own argv: no argument for
    the KRM function, one for the legacy plugin."""

    def invoke(self, ctx: click.Context) -> Any:
        args = self.positionals(ctx)
        if args and (args[0] in self.commands or args[0] in ("help", "h")):
            return super().invoke(ctx)
        run(args)
        return None


def run(args: list[str]) -> None:
    from ..integrations.ksops import Options
    from ..ops.files import write_stdout

    if len(args) > 1:
        raise SopsError(f"received too many args: {args}\nalways invoke this via kustomize plugins\n\n{USAGE}")
    if not args:
        from ..integrations.ksops_krm import KrmFailure, run_krm

        if sys.stdin.isatty():
            raise SopsError(f"no ResourceList on stdin\n\n{USAGE}")
        data = sys.stdin.buffer.read()
        try:
            out = run_krm(data, Options.from_environ(os.getcwd()))
        except KrmFailure as e:
            write_stdout(e.output)
            raise SopsError(e.message) from None
        write_stdout(out)
        return
    from ..integrations.ksops_krm import run_legacy

    try:
        with open(args[0], encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        raise SopsError(f"unable to read in manifest: {args[0]}") from None
    try:
        out = run_legacy(text, Options.from_environ(os.getcwd()))
    except SopsError as e:
        raise SopsError(f"unable to generate manifests: {e}", e.exit_code) from None
    write_stdout(out)


@click.group("ksops", cls=KsopsGroup, help="sops-py extension: a KSOPS-compatible kustomize generator (legacy "
             "exec plugin with a manifest argument, KRM function with a ResourceList on stdin)")
def ksops_cmd() -> None:
    pass


@ksops_cmd.command("install", help="write launchers running this sops-py where kustomize looks for ksops: "
                   "DIR/viaduct.ai/{v1,v2}/ksops/ksops (a kustomize plugin directory), or DIR/ksops with --bin")
@o.apply([o.opt("--bin", "bin_dir", is_flag=True, help="write DIR/ksops (for KRM manifests saying `path: "
                "ksops`, with DIR on PATH) instead of the plugin layout")])
@click.argument("args", nargs=-1, metavar="DIR")
def ksops_install(args: tuple[str, ...], bin_dir: bool) -> None:
    from ..integrations.ksops_install import install

    if len(args) != 1:
        raise SopsError("install requires a destination directory\nusage: sops-py ksops install [--bin] DIR")
    for path in install(args[0], bin_dir=bin_dir):
        sys.stderr.write(f"installed {path}\n")
