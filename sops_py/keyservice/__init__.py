"""sops' key service: wrap and unwrap data keys through another process, over gRPC (spec §9).

* ``keyservice.proto`` and the generated ``keyservice_pb2*`` modules (``generate.sh``): sops' protocol.
* ``convert``: ``KeyEntry`` <-> proto ``Key``.
* ``client``: a remote key service reached by URI (``unix:///path``, ``tcp://host:port``), for
  ``KeyRing(services=...)``.
* ``server``: serves this process' own key backends to sops or sops-py clients (``sops-py keyservice``).

The local key service is ``datakey.KeyRing`` itself. ``import sops_py`` never imports this package's
modules beyond this one: grpc and protobuf load only when a remote key service is used or served,
and come with the ``keyservice`` extra.
"""

from __future__ import annotations

from typing import Any

from ..errors import MissingExtra

INSTALL_HINT = "pip install 'sops-py[keyservice]'"


def require_grpc() -> Any:
    """The ``grpc`` module, or a clear error naming the extra to install."""
    try:
        import google.protobuf  # noqa: F401
        import grpc
    except ImportError as e:
        raise MissingExtra(f"key services need grpcio and protobuf ({e.name} is missing): {INSTALL_HINT}") from None
    return grpc
