"""`sops-py kustomize DIR`: the decrypted build Flux's kustomize-controller would apply, locally.

The work is ``sops_py.integrations.kustomize_build``; this module reads the flags and prints the
build (or writes it with ``--output``).
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import SopsError
from . import options as o
from .urfave import UrfaveCommand


@click.command("kustomize", cls=UrfaveCommand,
               help="sops-py extension: build a kustomization as Flux's kustomize-controller decrypts it "
                    "(sources before the build, with their MAC checked; encrypted objects after), in a "
                    "private temporary copy")
@o.apply([o.opt("--root", help="the directory the build may read (default: DIR); an overlay's bases must be "
                "inside it, as in a Flux source"),
          o.opt("--ignore-mac", is_flag=True, help="accept sources whose MAC does not match"),
          o.opt("--output", help="write the build to this file instead of stdout"),
          o.opt("--kustomize-flag", multiple=True, help="a flag passed to kustomize (repeatable), such as "
                "--enable-helm or --load-restrictor=LoadRestrictionsNone")])
@click.argument("args", nargs=-1, metavar="DIR")
def kustomize_cmd(args: tuple[str, ...], **opts: Any) -> None:
    from ..integrations.kustomize_build import build
    from ..ops.files import write_atomic, write_stdout

    if len(args) != 1:
        raise SopsError("error: exactly one kustomization directory required\nusage: sops-py kustomize [--root "
                        "ROOT] [--ignore-mac] [--output FILE] DIR")
    out = build(args[0], root=opts.get("root") or None, ignore_mac=bool(opts.get("ignore_mac")),
                kustomize_args=list(opts.get("kustomize_flag") or ()))
    if opts.get("output"):
        write_atomic(str(opts["output"]), out)
    else:
        write_stdout(out)
