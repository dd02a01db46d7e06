"""Serve this process' key backends over sops' KeyService gRPC protocol (sops keyservice/server.go).

Each request rebuilds the master key from the proto ``Key`` and uses this process' own credentials
(age identities, GnuPG home, ...) through a fresh ``KeyRing``, as sops builds a new master key per
request. Errors map as in sops: no key -> NotFound ``Must provide a key``, a key type the protocol
does not know -> NotFound ``Unknown key type``, a rejected ``--prompt`` -> PermissionDenied
``Request rejected by user`` (asked *after* the operation, as sops), anything else -> Unknown.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from .. import log
from ..errors import SopsError
from ..keys.registry import key_type
from . import require_grpc

UNIX_NETWORKS = ("unix",)
TCP_NETWORKS = ("tcp", "tcp4", "tcp6")


class PromptError(SopsError):
    """The --prompt answer could not be read (sops: fmt.Scanln's error, sent as code Unknown)."""


class Prompter:
    """sops' ``--prompt``: ask on ``out`` and read ``y``/``n`` from ``inp``, one question at a time."""

    def __init__(self, inp: TextIO | None = None, out: TextIO | None = None) -> None:
        self._in = inp
        self._out = out
        self._lock = threading.Lock()

    def ask(self, request_type: str, key_text: str) -> bool:
        inp = self._in or sys.stdin
        out = self._out or sys.stdout
        with self._lock:
            response = ""
            while response not in ("y", "n"):
                out.write(f"\nReceived {request_type} request using {key_text}. Respond to request? (y/n): ")
                out.flush()
                line = inp.readline()
                if not line:
                    raise PromptError("EOF")
                words = line.split()
                if not words:
                    raise PromptError("unexpected newline")
                if len(words) > 1:
                    raise PromptError("expected newline")
                response = words[0]
            return response == "y"


def _servicer_class() -> type:
    """The servicer, defined on demand so that importing this module does not import grpc."""
    grpc = require_grpc()
    from . import keyservice_pb2 as pb
    from . import keyservice_pb2_grpc as pb_grpc
    from .convert import MissingKey, UnknownKeyType, describe, from_proto

    class KeyServiceServicer(pb_grpc.KeyServiceServicer):  # type: ignore[misc]
        def __init__(self, env: Mapping[str, str], prompter: Prompter | None) -> None:
            self.env = env
            self.prompter = prompter

        def _entry(self, request: Any, context: Any, enc: str) -> Any:
            key = request.key if request.HasField("key") else None
            try:
                return from_proto(key, enc)
            except (MissingKey, UnknownKeyType) as e:
                context.abort(grpc.StatusCode.NOT_FOUND, str(e))

        def _confirm(self, request: Any, context: Any, request_type: str) -> None:
            if self.prompter is None:
                return
            try:
                ok = self.prompter.ask(request_type, describe(request.key))
            except PromptError as e:
                context.abort(grpc.StatusCode.UNKNOWN, str(e))
            if not ok:
                context.abort(grpc.StatusCode.PERMISSION_DENIED, "Request rejected by user")

        def Encrypt(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
            entry = self._entry(request, context, "")
            log.debug("Encrypt request for %s key %s", entry.type, entry.identity(), name="KEYSERVICE")
            try:
                entry.enc = key_type(entry.type).make_backend(self.env).wrap(entry, bytes(request.plaintext))
            except SopsError as e:  # every key failure goes back to the client, as sops; bugs propagate
                context.abort(grpc.StatusCode.UNKNOWN, str(e) or type(e).__name__)
            self._confirm(request, context, "encrypt")
            return pb.EncryptResponse(ciphertext=entry.enc.encode())

        def Decrypt(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
            entry = self._entry(request, context, bytes(request.ciphertext).decode("utf-8", errors="replace"))
            log.debug("Decrypt request for %s key %s", entry.type, entry.identity(), name="KEYSERVICE")
            try:
                plaintext = key_type(entry.type).make_backend(self.env).unwrap(entry)
            except SopsError as e:  # every key failure goes back to the client, as sops; bugs propagate
                context.abort(grpc.StatusCode.UNKNOWN, str(e) or type(e).__name__)
            self._confirm(request, context, "decrypt")
            return pb.DecryptResponse(plaintext=plaintext)

    return KeyServiceServicer


@dataclass
class RunningServer:
    """A started key service; ``port`` is the bound TCP port (useful with port 0)."""

    server: Any
    network: str
    address: str
    port: int | None

    def stop(self, grace: float | None = 1.0) -> None:
        self.server.stop(grace).wait()
        if self.network in UNIX_NETWORKS:
            try:
                if stat.S_ISSOCK(os.lstat(self.address).st_mode):
                    os.unlink(self.address)
            except FileNotFoundError:
                pass


def _bind_address(network: str, address: str) -> str:
    if network in UNIX_NETWORKS:
        if os.path.lexists(address):
            # Go's net.Listen refuses an existing path; grpc would silently replace a live socket
            raise SopsError(f"listen unix {address}: bind: address already in use")
        return "unix:" + address
    if network in TCP_NETWORKS:
        return "[::]" + address if address.startswith(":") else address
    raise SopsError(f"listen {network}: unknown network {network}")


def start(network: str, address: str, prompt: bool = False, env: Mapping[str, str] | None = None,
          prompter: Prompter | None = None, max_workers: int = 8) -> RunningServer:
    """Listen on ``network`` (tcp or unix) at ``address`` and serve in background threads."""
    grpc = require_grpc()
    from . import keyservice_pb2_grpc as pb_grpc

    target = _bind_address(network, address)
    # no SO_REUSEPORT: a second server on a taken port fails, as Go's net.Listen does
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=[("grpc.so_reuseport", 0)])
    servicer = _servicer_class()(os.environ if env is None else env,
                                 (prompter or Prompter()) if prompt else None)
    pb_grpc.add_KeyServiceServicer_to_server(servicer, server)
    try:
        port = server.add_insecure_port(target)
    except RuntimeError:
        port = 0
    if not port:
        server.stop(None)
        raise SopsError(f"listen {network} {address}: could not bind")
    server.start()
    return RunningServer(server, network, address, port if network in TCP_NETWORKS else None)


def serve(network: str, address: str, prompt: bool = False, env: Mapping[str, str] | None = None) -> None:
    """Run a key service until SIGINT or SIGTERM, then stop it (removing a Unix socket file).

    The handlers are installed before the socket exists: a client (or a supervisor) that sees the
    socket may signal at once, and that signal must stop the service cleanly, not interrupt it."""
    stop = threading.Event()
    caught: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        running = start(network, address, prompt, env)
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    log.info("Listening on %s://%s", network, address, name="KEYSERVICE")
    try:
        while not stop.wait(0.5):
            pass
        # Go prints an os.Signal by its description: "interrupt", "terminated"
        go_names = {int(signal.SIGINT): "interrupt", int(signal.SIGTERM): "terminated"}
        go_name = go_names.get(caught[0], "?") if caught else "?"
        log.info("Caught signal %s: shutting down.", go_name, name="KEYSERVICE")
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
