"""`sops-py keyservice`: serve this machine's master keys to sops / sops-py clients over gRPC.

Flags as sops' (``--network,--net`` default tcp, ``--address,--addr`` default 127.0.0.1:5000,
``--prompt``, ``--verbose``). Runs until SIGINT or SIGTERM, then exits 0 and removes its Unix socket.
Needs the ``keyservice`` extra (grpcio, protobuf).
"""

from __future__ import annotations

from typing import Any

import click

from .. import log
from ..errors import SopsError
from . import options as o
from .urfave import UrfaveCommand


@click.command("keyservice", cls=UrfaveCommand, help="start a SOPS key service server")
@o.opt("--network", "--net", "network", default="tcp", help="network to listen on, e.g. 'tcp' or 'unix'")
@o.opt("--address", "--addr", "address", default="127.0.0.1:5000",
       help="address to listen on, e.g. '127.0.0.1:5000' or '/tmp/sops.sock'")
@o.opt("--prompt", is_flag=True, help="Prompt user to confirm every incoming request")
@o.VERBOSE
@click.argument("args", nargs=-1)  # urfave/cli ignores positional arguments here
@click.pass_context
def keyservice_cmd(ctx: click.Context, /, args: tuple[str, ...], **opts: Any) -> None:
    env = o.env_of(ctx, opts)
    from ..keyservice.server import serve

    try:
        serve(str(opts["network"]), str(opts["address"]), bool(opts.get("prompt")), env.environ)
    except SopsError as e:
        log.error("Error running keyservice: %s", e)
        raise
