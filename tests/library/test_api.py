"""The library API used as a user would: dicts in and out, .sops.yaml honoured, keys in memory,
the documented exceptions, and re-encryption that keeps unchanged ciphertext."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

import sops_py
from tests.helpers import AGE2_KEY_FILE, AGE2_RECIPIENT, AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import requires_sops, run_sops

IDENTITY = AGE_KEY_FILE.read_text().strip().splitlines()[-1]
IDENTITY2 = AGE2_KEY_FILE.read_text().strip().splitlines()[-1]
SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2
"""


def keys(*identities: str) -> sops_py.Keys:
    return sops_py.Keys(age=list(identities) or [IDENTITY], environ={})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with a .sops.yaml like a Kubernetes repository's; no key in os.environ."""
    for name in list(os.environ):
        if name.startswith("SOPS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n"
        f"  - path_regex: k8s/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {AGE_RECIPIENT}\n"
        f"  - path_regex: \\.env$\n    age: {AGE2_RECIPIENT}\n")
    (tmp_path / "k8s").mkdir()
    return tmp_path


def test_encrypt_file_honours_sops_yaml(project: Path) -> None:
    path = project / "k8s" / "db.yaml"
    path.write_text(SECRET)
    out = sops_py.encrypt_file(path, in_place=True)
    doc = yaml.safe_load(out)
    assert doc["kind"] == "Secret" and doc["metadata"] == {"name": "db"}  # not encrypted: the rule's regex
    assert doc["stringData"]["password"].startswith("ENC[AES256_GCM,")
    assert doc["sops"]["encrypted_regex"] == "^(data|stringData)$"
    assert [k["recipient"] for k in doc["sops"]["age"]] == [AGE_RECIPIENT]
    assert path.read_bytes() == out
    assert sops_py.load_file(path, keys=keys()) == yaml.safe_load(SECRET)


def test_rule_chosen_by_path_and_opt_out(project: Path) -> None:
    env_out = sops_py.encrypt(b"A=1\n", "dotenv", path=project / "app.env")
    assert f"sops_age__list_0__map_recipient={AGE2_RECIPIENT}" in env_out.decode()
    with pytest.raises(sops_py.SopsError, match="config file not found, or has no creation rules"):
        sops_py.encrypt(b"A=1\n", "dotenv", path=project / "app.env", config=False)
    plain = sops_py.encrypt(SECRET, "yaml", path=project / "k8s" / "x.yaml", config=False, age=AGE_RECIPIENT)
    assert yaml.safe_load(plain)["kind"].startswith("ENC[")  # no rule: everything is encrypted


def test_no_matching_rule_is_a_config_error(project: Path) -> None:
    with pytest.raises(sops_py.ConfigError, match="no matching creation rules found") as e:
        sops_py.encrypt(b"a: 1\n", path=project / "other.yaml")
    assert e.value.exit_code == 1 and "path_regex" in e.value.hint


def test_age_as_a_string_and_several(tmp_path: Path) -> None:
    one = sops_py.encrypt(b"a: 1\n", age=AGE_RECIPIENT, config=False)
    assert [k["recipient"] for k in yaml.safe_load(one)["sops"]["age"]] == [AGE_RECIPIENT]
    two = sops_py.encrypt(b"a: 1\n", age=f"{AGE_RECIPIENT},{AGE2_RECIPIENT}", config=False)
    assert len(yaml.safe_load(two)["sops"]["age"]) == 2
    assert sops_py.load(two, keys=keys(IDENTITY2)) == {"a": 1}


def test_dicts_in_and_out_every_format(tmp_path: Path) -> None:
    data: dict[str, Any] = {"password": "x", "n": 3, "ok": True}
    strings = {"password": "x", "n": "3", "ok": "true"}
    for fmt, value, back in (("yaml", data, data), ("json", data, data), ("dotenv", strings, strings),
                             # INI holds strings, and sops' INI store always has a DEFAULT section
                             ("ini", {"s": data}, {"DEFAULT": {}, "s": strings})):
        blob = sops_py.dump(value, fmt, age=[AGE_RECIPIENT], config=False)
        assert sops_py.load(blob, fmt, keys=keys()) == back, fmt
    nested = {"db": {"users": [{"name": "a", "pw": "b"}], "port": 5432}}
    target = tmp_path / "n.enc.json"
    sops_py.dump_file(nested, target, age=[AGE_RECIPIENT], config=False)
    assert sops_py.load_file(str(target), keys=keys()) == nested


def test_load_all_documents() -> None:
    blob = sops_py.encrypt(b"a: 1\n---\nb: 2\n", age=AGE_RECIPIENT, config=False)
    assert sops_py.load_all(blob, keys=keys()) == [{"a": 1}, {"b": 2}]
    assert sops_py.load(blob.decode(), keys=keys()) == {"a": 1}  # str data is accepted too


def test_key_groups_and_shamir() -> None:
    blob = sops_py.encrypt(b"a: 1\n", key_groups=[{"age": [AGE_RECIPIENT]}, {"age": AGE2_RECIPIENT}],
                           shamir_threshold=2, config=False)
    md = yaml.safe_load(blob)["sops"]
    assert md["shamir_threshold"] == 2 and len(md["key_groups"]) == 2
    assert sops_py.load(blob, keys=keys(IDENTITY, IDENTITY2)) == {"a": 1}
    with pytest.raises(sops_py.CouldNotRetrieveKey) as e:
        sops_py.load(blob, keys=keys(IDENTITY))  # one group of two is below the threshold
    assert e.value.threshold == 2 and e.value.groups[0] is None and e.value.groups[1] is not None


@pytest.mark.parametrize(("call", "exc", "text"), [
    (lambda: sops_py.decrypt(b"a: 1\n", "yml"), ValueError, "use one of yaml, json, dotenv, ini, binary"),
    (lambda: sops_py.decrypt(123), TypeError, "data must be bytes or str"),  # type: ignore[arg-type]
    (lambda: sops_py.load_file(42), TypeError, "path must be a str or os.PathLike"),  # type: ignore[arg-type]
    (lambda: sops_py.decrypt(b"", keys="AGE-SECRET-KEY"), TypeError, "keys must be a sops_py.Keys"),  # type: ignore[arg-type]
    (lambda: sops_py.encrypt(b"a: 1\n", age=5, config=False), TypeError, "age must be a str or a sequence"),  # type: ignore[arg-type]
    (lambda: sops_py.Keys(age=[""]), ValueError, "must not be empty"),
    (lambda: sops_py.dump({1: "x"}, age=AGE_RECIPIENT, config=False), TypeError, "mapping keys must be str"),
    (lambda: sops_py.dump({"a": object()}, age=AGE_RECIPIENT, config=False), TypeError, r"obj\['a'\]: object"),
    (lambda: sops_py.encrypt(b"a: 1\n", key_groups=[{"agee": []}], config=False), ValueError, "unknown key types"),
    (lambda: sops_py.decrypt_files("a.yaml"), TypeError, "not a single path"),
    (lambda: sops_py.update(b"", "not callable"), TypeError, "change must be callable"),  # type: ignore[arg-type]
])
def test_wrong_arguments(call: Any, exc: type[Exception], text: str) -> None:
    with pytest.raises(exc, match=text):
        call()


def test_missing_file_is_a_sops_error(tmp_path: Path) -> None:
    with pytest.raises(sops_py.CouldNotReadInputFile) as e:
        sops_py.load_file(tmp_path / "missing.yaml", keys=keys())
    assert e.value.exit_code == 2 and "no such file or directory" in str(e.value)


def test_no_key_could_decrypt_carries_the_detail() -> None:
    blob = sops_py.encrypt(b"a: 1\n", age=AGE_RECIPIENT, config=False)
    with pytest.raises(sops_py.CouldNotRetrieveKey) as e:
        sops_py.load(blob, keys=keys(IDENTITY2))
    err = e.value
    assert err.exit_code == 128 and str(err).startswith("Failed to get the data key required to decrypt")
    assert err.groups[0] is not None
    (failure,) = err.groups[0]
    assert (failure.key_type, failure.key) == ("age", AGE_RECIPIENT)
    assert failure.errors and "identity did not match any of the recipients" in failure.errors[0]


def test_mac_mismatch_without_the_sops_binary() -> None:
    blob = sops_py.encrypt(b"a: secret\nb: 2\n", age=AGE_RECIPIENT, config=False).decode()
    mine = re.findall(r"ENC\[AES256_GCM,[^\]]*\]", blob)
    swapped = blob.replace(mine[0], "@@").replace(mine[1], mine[0]).replace("@@", mine[1])
    with pytest.raises(sops_py.SopsError) as e:
        sops_py.load(swapped, keys=keys())
    assert e.value.exit_code in (25, 51)  # a swapped value fails its own AAD check before the MAC
    data = yaml.safe_load(blob)
    data["sops"]["mac"] = data["sops"]["mac"].replace("iv:", "iv:A", 1)
    with pytest.raises(sops_py.MacMismatch) as m:
        sops_py.load(yaml.safe_dump(data), keys=keys())
    assert m.value.exit_code == 51


def test_already_encrypted_and_no_metadata() -> None:
    blob = sops_py.encrypt(b"a: 1\n", age=AGE_RECIPIENT, config=False)
    with pytest.raises(sops_py.FileAlreadyEncrypted) as e:
        sops_py.encrypt(blob, age=AGE_RECIPIENT, config=False)
    assert e.value.exit_code == 203
    with pytest.raises(sops_py.MetadataNotFound):
        sops_py.load(b"a: 1\n", keys=keys())


def test_keys_never_touch_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    before = dict(os.environ)
    k = sops_py.Keys(age=IDENTITY, gnupg_home="/nonexistent")
    blob = sops_py.encrypt(b"a: 1\n", age=AGE_RECIPIENT, config=False)
    assert sops_py.load(blob, keys=k) == {"a": 1}
    assert dict(os.environ) == before
    assert IDENTITY not in repr(k)


def test_keys_shared_by_threads() -> None:
    k = keys()
    blobs = [sops_py.encrypt(f"n: {i}\n".encode(), age=AGE_RECIPIENT, config=False) for i in range(16)]
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                results[i] = sops_py.load(blobs[i], keys=k)
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == {i: {"n": i} for i in range(16)}


def test_decrypt_files_collects_every_failure(tmp_path: Path) -> None:
    good = tmp_path / "a.enc.yaml"
    good.write_bytes(sops_py.encrypt(b"a: 1\n", age=AGE_RECIPIENT, config=False))
    with pytest.raises(sops_py.BatchError) as e:
        sops_py.decrypt_files([tmp_path / "missing.yaml", good], keys=keys())
    assert e.value.results == {str(good): b"a: 1\n"}
    assert isinstance(e.value.errors[str(tmp_path / "missing.yaml")], sops_py.CouldNotReadInputFile)
    assert e.value.exit_code == 2
    assert sops_py.decrypt_files([good], keys=keys()) == {str(good): b"a: 1\n"}


def _tokens(blob: bytes) -> dict[str, str]:
    doc = yaml.safe_load(blob)
    return {k: v for k, v in doc.items() if k != "sops"}


def test_update_keeps_unchanged_ciphertext(tmp_path: Path) -> None:
    path = tmp_path / "s.enc.yaml"
    path.write_bytes(sops_py.encrypt(b"# note\na: one\nb: two\nc: [1, 2]\n", age=AGE_RECIPIENT, config=False))
    before = _tokens(path.read_bytes())
    comment = path.read_bytes().split(b"\n")[0]

    def change(doc: dict[str, Any]) -> None:
        doc["b"] = "TWO"
        doc["d"] = {"new": True}

    assert sops_py.update_file(path, change, keys=keys()) is True
    after_bytes = path.read_bytes()
    after = _tokens(after_bytes)
    assert after["a"] == before["a"] and after["c"] == before["c"]
    assert after["b"] != before["b"]
    assert after_bytes.split(b"\n")[0] == comment  # the comment (encrypted too) keeps its ciphertext
    assert sops_py.load(after_bytes, keys=keys()) == {"a": "one", "b": "TWO", "c": [1, 2], "d": {"new": True}}
    assert sops_py.update_file(path, lambda d: None, keys=keys()) is False  # nothing changed: file untouched
    assert path.read_bytes() == after_bytes


def test_update_returning_new_data() -> None:
    blob = sops_py.encrypt(b"a: 1\nb: 2\n", age=AGE_RECIPIENT, config=False)
    out = sops_py.update(blob, lambda d: {"b": d["b"], "z": 9}, keys=keys())
    assert sops_py.load(out, keys=keys()) == {"b": 2, "z": 9}
    assert _tokens(out)["b"] == _tokens(blob)["b"]


@requires_sops
def test_sops_reads_what_the_library_writes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE), HOME=str(tmp_path))
    path = tmp_path / "s.enc.yaml"
    sops_py.dump_file({"a": "x", "b": [1, 2]}, path, age=AGE_RECIPIENT, config=False)
    sops_py.update_file(path, lambda d: d.update(a="y"), keys=keys())
    res = run_sops(["decrypt", path], env=env)
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load(res.stdout) == {"a": "y", "b": [1, 2]}


def test_keys_take_strings_as_the_cli_does() -> None:
    k = sops_py.Keys(keyservices="tcp://127.0.0.1:1", local_keyservice=False, decryption_order="pgp,age",
                     environ={})
    assert k.keyservices == ["tcp://127.0.0.1:1"]
    assert k.decryption_order == ["pgp", "age"]
    assert sops_py.Keys(decryption_order=["age", "pgp"], environ={}).decryption_order == ["age", "pgp"]
