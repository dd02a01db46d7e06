"""Key services against the real sops (3.11): sops' server with our client, our server with sops' client,
over a Unix socket and over TCP on 127.0.0.1, with --prompt, and the errors both sides report.

The clients run with no age key of their own (HOME isolated, no SOPS_AGE_*), so only the server's key
(SOPS_AGE_KEY_FILE = the test key) can wrap or unwrap. Servers are subprocesses in their own session,
waited for (socket file or TCP connect) and stopped with SIGTERM (then SIGKILL) at teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import SOPS, requires_sops, run_sops

grpc = pytest.importorskip("grpc")

from sops_py.keyservice import keyservice_pb2 as pb  # noqa: E402
from sops_py.keyservice import keyservice_pb2_grpc as pb_grpc  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.slow, requires_sops]
REPO = Path(__file__).resolve().parents[2]
PLAIN = b"a: 1\nb: hello\nlist:\n    - x\n    - 2\n"
START_TIMEOUT = 30.0


def client_env(tmp_path: Path) -> dict[str, str]:
    """No SOPS_* variable and an empty HOME: no local age key anywhere."""
    home = tmp_path / "client-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", "")})
    return env


def server_env(tmp_path: Path, with_key: bool = True) -> dict[str, str]:
    env = client_env(tmp_path)
    home = tmp_path / "server-home"
    home.mkdir(exist_ok=True)
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    if with_key:
        env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env


def ours(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path,
         timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], env=dict(env), cwd=cwd,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    uri: str
    stdin: IO[bytes]
    out_path: Path

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def answer(self, text: str) -> None:
        self.stdin.write(text.encode())
        self.stdin.flush()


def _ready(network: str, address: str) -> bool:
    if network == "unix":
        if not os.path.exists(address):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(address)
            except OSError:
                return False
            return True
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Any]:
    """start(impl, network, env, prompt=False) -> Server; every server is stopped at teardown."""
    started: list[Server] = []
    count = [0]

    def _start(impl: str, network: str, env: Mapping[str, str], prompt: bool = False) -> Server:
        count[0] += 1
        address = str(tmp_path / f"ks{count[0]}.sock") if network == "unix" else f"127.0.0.1:{free_port()}"
        flags = ["keyservice", "--network", network, "--address", address, *(["--prompt"] if prompt else [])]
        cmd = [SOPS or "sops", *flags] if impl == "sops" else [sys.executable, "-m", "sops_py", *flags]
        out_path = tmp_path / f"server{count[0]}.out"
        with out_path.open("wb") as out:
            proc = subprocess.Popen(cmd, env=dict(env), cwd=tmp_path, stdin=subprocess.PIPE, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        assert proc.stdin is not None
        server = Server(proc, f"{network}://{address}", proc.stdin, out_path)
        started.append(server)
        deadline = time.monotonic() + START_TIMEOUT
        while not _ready(network, address):
            if proc.poll() is not None:
                raise AssertionError(f"{impl} keyservice exited {proc.returncode}: {server.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{impl} keyservice did not listen on {address}: {server.output()}")
            time.sleep(0.05)
        return server

    yield _start
    for server in started:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.proc.pid, signal.SIGKILL)
                server.proc.wait(timeout=10)
        server.stdin.close()


@pytest.fixture
def encrypted(tmp_path: Path) -> Path:
    """A file sops encrypted for the test age key."""
    src = tmp_path / "plain.yaml"
    src.write_bytes(PLAIN)
    res = run_sops(["encrypt", "--age", AGE_RECIPIENT, src], env=server_env(tmp_path))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "f.enc.yaml"
    out.write_bytes(res.stdout)
    return out


def sops_plain(path: Path, tmp_path: Path) -> bytes:
    res = run_sops(["decrypt", path], env=server_env(tmp_path))
    assert res.returncode == 0, res.stderr
    return res.stdout


def client(impl: str, args: Sequence[str | os.PathLike[str]], tmp_path: Path,
           env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    env = client_env(tmp_path) if env is None else env
    if impl == "sops":
        return run_sops(list(args), env=env, cwd=tmp_path)
    return ours(args, env, tmp_path)


def unwrapped(report: bytes) -> bytes:
    """An exit-128 report with the 60-column wrapping of its error lines undone."""
    return report.replace(b"\n      | ", b" ")


def remote_only(server: Server) -> list[str]:
    return ["--enable-local-keyservice=false", "--keyservice", server.uri]


# ------------------------------------------------------------------ both directions, unix and tcp

@pytest.mark.parametrize("network", ["unix", "tcp"])
@pytest.mark.parametrize(("server_impl", "client_impl"), [("sops", "ours"), ("ours", "sops"), ("ours", "ours")])
def test_decrypt_through_keyservice(server_impl: str, client_impl: str, network: str, tmp_path: Path,
                                    servers: Any, encrypted: Path) -> None:
    server = servers(server_impl, network, server_env(tmp_path))
    res = client(client_impl, ["decrypt", *remote_only(server), encrypted], tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == sops_plain(encrypted, tmp_path)
    # without the key service the client has no key
    res = client(client_impl, ["decrypt", encrypted], tmp_path)
    assert res.returncode == 128


@pytest.mark.parametrize("network", ["unix", "tcp"])
@pytest.mark.parametrize(("server_impl", "client_impl"), [("sops", "ours"), ("ours", "sops")])
def test_encrypt_through_keyservice(server_impl: str, client_impl: str, network: str, tmp_path: Path,
                                    servers: Any) -> None:
    server = servers(server_impl, network, server_env(tmp_path))
    src = tmp_path / "plain.yaml"
    src.write_bytes(PLAIN)
    res = client(client_impl, ["encrypt", *remote_only(server), "--age", AGE_RECIPIENT, src], tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out.enc.yaml"
    out.write_bytes(res.stdout)
    assert sops_plain(out, tmp_path) == PLAIN
    # and our local key ring reads it too
    res = ours(["decrypt", out], server_env(tmp_path), tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == PLAIN


def test_env_variables_select_services(tmp_path: Path, servers: Any, encrypted: Path) -> None:
    server = servers("sops", "unix", server_env(tmp_path))
    env = client_env(tmp_path) | {"SOPS_KEYSERVICE": f"unix://{tmp_path}/absent.sock,{server.uri}",
                                  "SOPS_ENABLE_LOCAL_KEYSERVICE": "false"}
    for impl in ("sops", "ours"):
        res = client(impl, ["decrypt", encrypted], tmp_path, env)
        assert res.returncode == 0, (impl, res.stderr)
        assert res.stdout == sops_plain(encrypted, tmp_path)


def test_legacy_form_uses_keyservice(tmp_path: Path, servers: Any, encrypted: Path) -> None:
    server = servers("sops", "unix", server_env(tmp_path))
    res = ours(["-d", *remote_only(server), encrypted], client_env(tmp_path), tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == sops_plain(encrypted, tmp_path)


def test_several_files_through_keyservice(tmp_path: Path, servers: Any, encrypted: Path) -> None:
    server = servers("sops", "unix", server_env(tmp_path))
    second = tmp_path / "g.enc.yaml"
    second.write_bytes(encrypted.read_bytes())
    res = ours(["decrypt", *remote_only(server), "--output-dir", tmp_path / "outdir", encrypted, second],
               client_env(tmp_path), tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "outdir" / "g.enc.yaml").read_bytes() == sops_plain(encrypted, tmp_path)


# ------------------------------------------------------------------ failures reported as sops does

@pytest.mark.parametrize("server_impl", ["sops", "ours"])
def test_prompt_rejection(server_impl: str, tmp_path: Path, servers: Any, encrypted: Path) -> None:
    server = servers(server_impl, "unix", server_env(tmp_path), prompt=True)
    server.answer("n\nn\n")
    results = {impl: client(impl, ["decrypt", *remote_only(server), encrypted], tmp_path)
               for impl in ("sops", "ours")}
    for res in results.values():
        assert res.returncode == 128
        assert b"rpc error: code = PermissionDenied desc = Request rejected by user" in unwrapped(res.stderr)
    assert results["ours"].stderr == results["sops"].stderr
    assert server.output().count("Respond to request? (y/n): ") == 2
    assert "Received decrypt request using " in server.output()


@pytest.mark.parametrize("server_impl", ["sops", "ours"])
def test_prompt_acceptance(server_impl: str, tmp_path: Path, servers: Any, encrypted: Path) -> None:
    server = servers(server_impl, "unix", server_env(tmp_path), prompt=True)
    server.answer("y\n")
    res = client("ours" if server_impl == "sops" else "sops", ["decrypt", *remote_only(server), encrypted],
                 tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == sops_plain(encrypted, tmp_path)


@pytest.mark.parametrize("server_impl", ["sops", "ours"])
def test_server_without_key_same_report(server_impl: str, tmp_path: Path, servers: Any,
                                        encrypted: Path) -> None:
    """Local (no key) then the remote (no key either): both clients print the same exit-128 report."""
    server = servers(server_impl, "unix", server_env(tmp_path, with_key=False))
    results = {impl: client(impl, ["decrypt", "--keyservice", server.uri, encrypted], tmp_path)
               for impl in ("sops", "ours")}
    for res in results.values():
        assert res.returncode == 128
        assert b"rpc error: code = Unknown desc = failed to load age identities" in unwrapped(res.stderr)
    if server_impl == "sops":
        # the local key's failure lists SOPS_AGE_SSH_PRIVATE_KEY_CMD, as sops 3.12+ does (age/keysource.go
        # at v3.13.2); the 3.11 binary, client and server alike, predates it
        line = b"      | locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE',\n"
        want = results["sops"].stderr.replace(line, line + b"      | 'SOPS_AGE_SSH_PRIVATE_KEY_CMD',\n", 1)
        assert want != results["sops"].stderr
        assert results["ours"].stderr == want


@pytest.mark.parametrize("action", ["decrypt", "encrypt"])
def test_no_key_services(action: str, tmp_path: Path, encrypted: Path) -> None:
    src = tmp_path / "plain.yaml"
    src.write_bytes(PLAIN)
    args: list[str | os.PathLike[str]] = (
        ["decrypt", "--enable-local-keyservice=false", encrypted] if action == "decrypt"
        else ["encrypt", "--enable-local-keyservice=false", "--age", AGE_RECIPIENT, src])
    theirs, mine = client("sops", args, tmp_path), client("ours", args, tmp_path)
    assert mine.returncode == theirs.returncode == (128 if action == "decrypt" else 1)
    assert mine.stderr == theirs.stderr
    if action == "encrypt":
        assert mine.stderr == b"Could not generate data key: [no key services provided, cannot update master keys]\n"


def test_unavailable_keyservice(tmp_path: Path, encrypted: Path) -> None:
    args: list[str | os.PathLike[str]] = [
        "decrypt", "--enable-local-keyservice=false", "--keyservice", f"unix://{tmp_path}/absent.sock", encrypted]
    for impl in ("sops", "ours"):
        res = client(impl, args, tmp_path)
        assert res.returncode == 128, impl
        assert b"rpc error: code = Unavailable desc = " in unwrapped(res.stderr), impl


@pytest.mark.parametrize("server_impl", ["sops", "ours"])
def test_missing_key_is_not_found(server_impl: str, tmp_path: Path, servers: Any) -> None:
    """No key, or a key whose type only a newer peer knows (an unknown field 8): NotFound from both."""
    server = servers(server_impl, "unix", server_env(tmp_path))
    target = "unix:" + server.uri.removeprefix("unix://")
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.KeyServiceStub(channel)
        for key in (pb.Key(), pb.Key.FromString(b"\x42\x02\x0a\x00")):
            for call, request in ((stub.Encrypt, pb.EncryptRequest(key=key, plaintext=b"x" * 32)),
                                  (stub.Decrypt, pb.DecryptRequest(key=key, ciphertext=b"x"))):
                with pytest.raises(grpc.RpcError) as info:
                    call(request, timeout=30)
                assert (info.value.code(), info.value.details()) == (grpc.StatusCode.NOT_FOUND,
                                                                     "Must provide a key")
        # a key the server has no backend or credentials for: a plain error, code Unknown
        kms = pb.Key(hckms_key=pb.HckmsKey(key_id="cn-north-4:0000"))
        with pytest.raises(grpc.RpcError) as info:
            stub.Decrypt(pb.DecryptRequest(key=kms, ciphertext=b"x"), timeout=30)
        assert info.value.code() == grpc.StatusCode.UNKNOWN


def test_our_server_stops_cleanly_on_sigint(tmp_path: Path, servers: Any) -> None:
    server = servers("ours", "unix", server_env(tmp_path))
    path = server.uri.removeprefix("unix://")
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=20) == 0
    assert not os.path.exists(path)


def test_our_server_refuses_a_taken_address(tmp_path: Path, servers: Any) -> None:
    server = servers("sops", "tcp", server_env(tmp_path))
    address = server.uri.removeprefix("tcp://")
    res = ours(["keyservice", "--address", address], server_env(tmp_path), tmp_path, timeout=30)
    assert res.returncode == 1
    assert b"Error running keyservice" in res.stderr
