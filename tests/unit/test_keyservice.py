"""Key services in one process: proto conversion, URI parsing, the gRPC server and client over a Unix
socket in a temp dir, KeyRing's service order and its reports, and the --prompt answers."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from sops_py import datakey
from sops_py.datakey import KeyRing, KeyServicesFailed, recover, wrap_groups
from sops_py.errors import CouldNotRetrieveKey, SopsError
from sops_py.keyspec import age_keys
from sops_py.metadata import KeyEntry, Metadata
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, unwrap_age

grpc = pytest.importorskip("grpc")

from sops_py.keyservice import keyservice_pb2 as pb  # noqa: E402
from sops_py.keyservice import keyservice_pb2_grpc as pb_grpc  # noqa: E402
from sops_py.keyservice.client import RemoteKeyService, go_code_name, grpc_target  # noqa: E402
from sops_py.keyservice.convert import MissingKey, UnknownKeyType, describe, from_proto, to_proto  # noqa: E402
from sops_py.keyservice.server import Prompter, PromptError, RunningServer, start  # noqa: E402

DATA_KEY = bytes(range(32))


def no_keys_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "nokeys-home"
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "PATH": os.environ.get("PATH", "")}


def keys_env(tmp_path: Path) -> dict[str, str]:
    return no_keys_env(tmp_path) | {"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE)}


@pytest.fixture
def serve_unix(tmp_path: Path) -> Iterator[Any]:
    """Start in-process servers on Unix sockets; returns (uri, server); all stopped at teardown."""
    running: list[RunningServer] = []

    def _start(name: str, env: Mapping[str, str], prompter: Prompter | None = None) -> tuple[str, RunningServer]:
        path = str(tmp_path / name)
        srv = start("unix", path, prompt=prompter is not None, env=env, prompter=prompter)
        running.append(srv)
        return "unix://" + path, srv

    yield _start
    for srv in running:
        srv.stop(None)


def age_entry(enc: str = "") -> KeyEntry:
    return KeyEntry("age", {"recipient": AGE_RECIPIENT, "enc": enc})


# ------------------------------------------------------------------ conversion

ALL_TYPES = [
    KeyEntry("kms", {"arn": "arn:aws:kms:us-east-1:1:key/x", "role": "arn:aws:iam::1:role/r",
                     "context": {"a": "1", "b": "2"}, "aws_profile": "prof", "enc": "E"}),
    KeyEntry("pgp", {"fp": "ABCDEF0123456789", "enc": "E"}),
    KeyEntry("gcp_kms", {"resource_id": "projects/p/locations/l/keyRings/r/cryptoKeys/k", "enc": "E"}),
    KeyEntry("azure_kv", {"vault_url": "https://v.vault.azure.net", "name": "n", "version": "v1", "enc": "E"}),
    KeyEntry("hc_vault", {"vault_address": "http://127.0.0.1:8200", "engine_path": "transit", "key_name": "k",
                          "enc": "E"}),
    KeyEntry("age", {"recipient": AGE_RECIPIENT, "enc": "E"}),
    KeyEntry("hckms", {"key_id": "region:uuid", "enc": "E"}),
]


@pytest.mark.parametrize("entry", ALL_TYPES, ids=lambda e: e.type)
def test_key_round_trips_through_proto(entry: KeyEntry) -> None:
    key = to_proto(entry)
    wire = pb.Key.FromString(key.SerializeToString())
    back = from_proto(wire, "E")
    assert back.type == entry.type
    assert back.fields == entry.fields
    assert back.identity() == entry.identity()


def test_oneof_field_numbers_are_sops() -> None:
    numbers = {f.name: f.number for f in pb.Key.DESCRIPTOR.fields}
    assert numbers == {"kms_key": 1, "pgp_key": 2, "gcp_kms_key": 3, "azure_keyvault_key": 4, "vault_key": 5,
                       "age_key": 6, "hckms_key": 7}
    assert pb.DESCRIPTOR.package == ""
    assert [m.full_name for m in pb.DESCRIPTOR.services_by_name["KeyService"].methods] == [
        "KeyService.Encrypt", "KeyService.Decrypt"]


def test_kms_without_role_or_context_has_no_such_fields() -> None:
    entry = KeyEntry("kms", {"arn": "arn:x", "role": "", "aws_profile": "", "enc": ""})
    back = from_proto(to_proto(entry))
    assert "context" not in back.fields
    assert back.fields["role"] == ""


def test_missing_and_unknown_keys() -> None:
    with pytest.raises(MissingKey, match="Must provide a key"):
        from_proto(None)
    with pytest.raises(MissingKey):
        from_proto(pb.Key())
    # a oneof member only a newer peer knows arrives as an unknown field: no key, as in sops
    with pytest.raises(MissingKey):
        from_proto(pb.Key.FromString(b"\x42\x00"))  # field 8, length 0
    with pytest.raises(UnknownKeyType, match="Unknown key type"):
        to_proto(KeyEntry("nope", {}))


def test_describe_as_sops_prompt() -> None:
    assert describe(to_proto(ALL_TYPES[1])) == "PGP key with fingerprint ABCDEF0123456789"
    assert describe(to_proto(ALL_TYPES[0])) == "AWS KMS key with ARN arn:aws:kms:us-east-1:1:key/x"
    assert describe(to_proto(ALL_TYPES[3])) == "Azure Key Vault key with URL https://v.vault.azure.net/keys/n/v1"
    assert describe(to_proto(ALL_TYPES[4])) == ("Hashicorp Vault key with URI http://127.0.0.1:8200/v1/transit/"
                                                "keys/k")
    assert describe(pb.Key()) == "Unknown key type"


# ------------------------------------------------------------------ URIs and codes

@pytest.mark.parametrize(("uri", "want"), [
    ("unix:///tmp/ks.sock", ("unix", "unix:/tmp/ks.sock")),
    ("unix://./ks.sock", ("unix", "unix:./ks.sock")),
    ("tcp://127.0.0.1:5000", ("tcp", "127.0.0.1:5000")),
    ("tcp://[::1]:5000", ("tcp", "[::1]:5000")),
    ("tcp4://localhost:5000", ("tcp4", "localhost:5000")),
])
def test_grpc_target(uri: str, want: tuple[str, str]) -> None:
    assert grpc_target(uri) == want


def test_go_code_names() -> None:
    assert go_code_name("PERMISSION_DENIED") == "PermissionDenied"
    assert go_code_name("NOT_FOUND") == "NotFound"
    assert go_code_name("CANCELLED") == "Canceled"
    assert go_code_name("DEADLINE_EXCEEDED") == "DeadlineExceeded"
    assert go_code_name("OK") == "OK"


def test_unknown_network_fails_like_go() -> None:
    with pytest.raises(SopsError, match="dial http: unknown network http"):
        RemoteKeyService("http://127.0.0.1:1").decrypt(age_entry("x"))


def test_unparsable_uri_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    ring = KeyRing({}, services=["tcp://[::1"], local=False)
    assert ring.key_services() == []
    assert not ring.has_key_services


# ------------------------------------------------------------------ server and client

def test_remote_wrap_and_unwrap(tmp_path: Path, serve_unix: Any) -> None:
    uri, _ = serve_unix("ks.sock", keys_env(tmp_path))
    svc = RemoteKeyService(uri)
    enc = svc.encrypt(age_entry(), DATA_KEY)
    assert enc.startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert unwrap_age(enc) == DATA_KEY
    assert svc.decrypt(age_entry(enc)) == DATA_KEY
    svc.close()


def test_server_errors_map_to_codes(tmp_path: Path, serve_unix: Any) -> None:
    uri, _ = serve_unix("ks.sock", no_keys_env(tmp_path))
    with grpc.insecure_channel(grpc_target(uri)[1]) as channel:
        stub = pb_grpc.KeyServiceStub(channel)
        for call in (stub.Encrypt, stub.Decrypt):
            with pytest.raises(grpc.RpcError) as info:
                call(pb.EncryptRequest() if call is stub.Encrypt else pb.DecryptRequest())
            assert (info.value.code(), info.value.details()) == (grpc.StatusCode.NOT_FOUND, "Must provide a key")
        with pytest.raises(grpc.RpcError) as info:
            stub.Decrypt(pb.DecryptRequest(key=to_proto(age_entry()), ciphertext=b"garbage"))
        assert info.value.code() == grpc.StatusCode.UNKNOWN
        with pytest.raises(grpc.RpcError) as info:
            stub.Encrypt(pb.EncryptRequest(key=to_proto(ALL_TYPES[2]), plaintext=DATA_KEY))
        assert info.value.code() == grpc.StatusCode.UNKNOWN
        assert info.value.details().startswith("cannot create GCP KMS service: ")  # no credentials here


def test_client_error_text_is_gos(tmp_path: Path, serve_unix: Any) -> None:
    uri, _ = serve_unix("ks.sock", no_keys_env(tmp_path))
    enc = RemoteKeyService(serve_unix("ks2.sock", keys_env(tmp_path))[0]).encrypt(age_entry(), DATA_KEY)
    with pytest.raises(SopsError) as info:
        RemoteKeyService(uri).decrypt(age_entry(enc))
    assert str(info.value).startswith("rpc error: code = Unknown desc = failed to load age identities.")


def test_unavailable_service(tmp_path: Path) -> None:
    with pytest.raises(SopsError, match=r"^rpc error: code = Unavailable desc = "):
        RemoteKeyService(f"unix://{tmp_path}/absent.sock").decrypt(age_entry("x"))


def test_prompt_yes_and_no(tmp_path: Path, serve_unix: Any) -> None:
    out = io.StringIO()
    uri, _ = serve_unix("ks.sock", keys_env(tmp_path), Prompter(io.StringIO("maybe\ny\nn\n"), out))
    svc = RemoteKeyService(uri)
    enc = svc.encrypt(age_entry(), DATA_KEY)  # "maybe" asks again, then "y"
    assert out.getvalue() == 2 * ("\nReceived encrypt request using age key with recipient "
                                  f"{AGE_RECIPIENT}. Respond to request? (y/n): ")
    with pytest.raises(SopsError, match=r"^rpc error: code = PermissionDenied desc = Request rejected by user$"):
        svc.decrypt(age_entry(enc))
    with pytest.raises(SopsError, match=r"^rpc error: code = Unknown desc = EOF$"):
        svc.decrypt(age_entry(enc))


@pytest.mark.parametrize(("answer", "error"), [("", "EOF"), ("\n", "unexpected newline"),
                                                ("y n\n", "expected newline")])
def test_prompt_read_errors_as_scanln(answer: str, error: str) -> None:
    with pytest.raises(PromptError, match=f"^{error}$"):
        Prompter(io.StringIO(answer), io.StringIO()).ask("decrypt", "k")


def test_existing_socket_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "taken.sock"
    path.write_text("")
    with pytest.raises(SopsError, match="bind: address already in use"):
        start("unix", str(path))
    with pytest.raises(SopsError, match="unknown network udp"):
        start("udp", "127.0.0.1:0")


def test_stop_removes_socket(tmp_path: Path) -> None:
    srv = start("unix", str(tmp_path / "ks.sock"), env={})
    assert (tmp_path / "ks.sock").exists()
    srv.stop(None)
    assert not (tmp_path / "ks.sock").exists()


def test_tcp_port_zero(tmp_path: Path) -> None:
    srv = start("tcp", "127.0.0.1:0", env=keys_env(tmp_path))
    try:
        assert srv.port
        svc = RemoteKeyService(f"tcp://127.0.0.1:{srv.port}")
        assert svc.decrypt(age_entry(svc.encrypt(age_entry(), DATA_KEY))) == DATA_KEY
    finally:
        srv.stop(None)


# ------------------------------------------------------------------ KeyRing with services

def one_group(entries: list[KeyEntry]) -> Metadata:
    return Metadata(key_groups=[entries])


def test_ring_tries_local_then_each_remote(tmp_path: Path, serve_unix: Any) -> None:
    bad, _ = serve_unix("bad.sock", no_keys_env(tmp_path))
    good, _ = serve_unix("good.sock", keys_env(tmp_path))
    md = one_group(age_keys([AGE_RECIPIENT]))
    wrap_groups(md, DATA_KEY, KeyRing(no_keys_env(tmp_path), services=[bad], local=False))
    assert unwrap_age(md.key_groups[0][0].enc) == DATA_KEY
    ring = KeyRing(no_keys_env(tmp_path), services=[bad, good])
    assert recover(md, ring) == DATA_KEY
    assert len(ring.key_services()) == 3


def test_ring_report_lists_every_service(tmp_path: Path, serve_unix: Any) -> None:
    bad, _ = serve_unix("bad.sock", no_keys_env(tmp_path))
    md = one_group(age_keys([AGE_RECIPIENT]))
    wrap_groups(md, DATA_KEY, KeyRing(keys_env(tmp_path)))
    with pytest.raises(CouldNotRetrieveKey) as info:
        recover(md, KeyRing(no_keys_env(tmp_path), services=[bad]))
    text = str(info.value)
    block = text.split("\n\n", 1)[1]
    assert block.startswith(f"Group 0: FAILED\n  {AGE_RECIPIENT}: FAILED\n    - | failed to load age identities.")
    assert "\n    \n    - | rpc error: code = Unknown desc = failed to load age\n" in block


def test_ring_without_services(tmp_path: Path) -> None:
    md = one_group(age_keys([AGE_RECIPIENT]))
    with pytest.raises(SopsError, match=r"^Could not generate data key: \[no key services provided, cannot "
                                        r"update master keys\]$"):
        wrap_groups(md, DATA_KEY, KeyRing(keys_env(tmp_path), local=False))
    wrap_groups(md, DATA_KEY, KeyRing(keys_env(tmp_path)))
    with pytest.raises(CouldNotRetrieveKey) as info:
        recover(md, KeyRing(keys_env(tmp_path), local=False))
    assert f"Group 0: FAILED\n  {AGE_RECIPIENT}: FAILED\n\n\nRecovery failed" in str(info.value)


def test_encrypt_errors_one_per_service(tmp_path: Path, serve_unix: Any) -> None:
    uri, _ = serve_unix("ks.sock", {})
    entry = KeyEntry("gcp_kms", {"resource_id": "projects/p", "enc": ""})
    with pytest.raises(SopsError) as info:
        wrap_groups(one_group([entry]), DATA_KEY, KeyRing({}, services=[uri]))
    why = 'cannot create GCP KMS service: no valid resource ID found in "projects/p"'
    assert str(info.value) == (
        f'Could not generate data key: [failed to encrypt new data key with master key "projects/p": {why} '
        f'failed to encrypt new data key with master key "projects/p": rpc error: code = Unknown desc = {why}]')


def test_single_local_error_is_unchanged(tmp_path: Path) -> None:
    """The usual local-only ring raises the backend's own error, not a KeyServicesFailed."""
    ring = KeyRing(no_keys_env(tmp_path))
    enc = KeyRing(keys_env(tmp_path))
    entry = age_entry()
    enc.wrap(entry, DATA_KEY)
    with pytest.raises(SopsError) as info:
        ring.unwrap(entry)
    assert not isinstance(info.value, KeyServicesFailed)
    assert datakey.error_messages(info.value) == [str(info.value)]
