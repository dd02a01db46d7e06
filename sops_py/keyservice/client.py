"""Remote key services, reached as sops reaches them (cmd/sops/main.go keyservices()).

A URI ``unix:///path`` (or ``unix://./rel.sock``) dials the Unix socket at its path; any other URI
dials ``host:port`` with the scheme as the network (``tcp``, ``tcp4``, ``tcp6``). Channels are
insecure (no TLS) and calls carry no deadline, as in sops. A failed call becomes a ``KeyFailed`` whose
message is what Go's gRPC prints for it: ``rpc error: code = <Code> desc = <message>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .. import log
from ..keys import KeyFailed
from ..metadata import KeyEntry
from . import require_grpc

TCP_NETWORKS = ("tcp", "tcp4", "tcp6")

# grpc.StatusCode names whose Go spelling is not the plain CamelCase of the Python name
_GO_CODE_NAMES = {"OK": "OK", "CANCELLED": "Canceled"}


def go_code_name(name: str) -> str:
    """``PERMISSION_DENIED`` -> ``PermissionDenied``: grpc-go's codes.Code String()."""
    return _GO_CODE_NAMES.get(name) or "".join(part.capitalize() for part in name.split("_"))


def grpc_target(uri: str) -> tuple[str, str]:
    """(network, gRPC target) for a key service URI; ValueError when it cannot be parsed."""
    parts = urlsplit(uri)
    scheme = parts.scheme
    if scheme == "unix":
        path = uri[len("unix://"):] if uri.startswith("unix://") else parts.path
        return "unix", "unix:" + path
    return scheme, parts.netloc


class RemoteKeyService:
    """One ``--keyservice`` URI; the channel is opened on first use."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.network, self.target = grpc_target(uri)
        self._stub: Any = None
        self._channel: Any = None

    def _service(self) -> Any:
        if self.network not in TCP_NETWORKS and self.network != "unix":
            # what Go's net.Dial says; sops only finds out when the first call dials
            raise KeyFailed(f"rpc error: code = Unavailable desc = connection error: desc = \"transport: "
                            f"Error while dialing: dial {self.network}: unknown network {self.network}\"")
        if self._stub is None:
            grpc = require_grpc()
            from .keyservice_pb2_grpc import KeyServiceStub

            self._channel = grpc.insecure_channel(self.target)
            self._stub = KeyServiceStub(self._channel)
        return self._stub

    def _call(self, method: str, request: Any) -> Any:
        grpc = require_grpc()
        try:
            return getattr(self._service(), method)(request)
        except grpc.RpcError as e:
            code = e.code()
            name = go_code_name(code.name) if code is not None else "Unknown"
            raise KeyFailed(f"rpc error: code = {name} desc = {e.details() or ''}") from None

    def encrypt(self, entry: KeyEntry, plaintext: bytes) -> str:
        from . import keyservice_pb2 as pb
        from .convert import to_proto

        rsp = self._call("Encrypt", pb.EncryptRequest(key=to_proto(entry), plaintext=plaintext))
        return bytes(rsp.ciphertext).decode("utf-8", errors="replace")

    def decrypt(self, entry: KeyEntry) -> bytes:
        from . import keyservice_pb2 as pb
        from .convert import to_proto

        rsp = self._call("Decrypt", pb.DecryptRequest(key=to_proto(entry), ciphertext=entry.enc.encode()))
        return bytes(rsp.plaintext)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = self._stub = None


def connect_all(uris: Iterable[str]) -> list[RemoteKeyService]:
    """A client per URI, in order; an unparsable URI is skipped with sops' warning."""
    out = []
    for uri in uris:
        try:
            svc = RemoteKeyService(uri)
        except ValueError:
            log.warning("Error parsing URI for keyservice, skipping", fields={"uri": uri})
            continue
        log.info("Connecting to key service",
                 fields={"address": f"{svc.network}://{svc.target.removeprefix('unix:')}"})
        out.append(svc)
    return out
