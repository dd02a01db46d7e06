"""A new key type is one module (tests/library/dummykey.py) plus one registry line: metadata,
key groups, the library API, key failures and the exit-128 report all follow from the record."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sops_py
from sops_py.keys import registry
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT

IDENTITY = AGE_KEY_FILE.read_text().strip().splitlines()[-1]
DUMMY = registry.KeyType(
    "dummy", fields=("key_id", "enc"), identity=lambda f: f"dummy:{f.get('key_id', '')}", flag="dummy",
    builder="tests.library.dummykey:build", config_flat="dummy", config_group=("dummy", "tests.library.dummykey:build_item"),
    backend="tests.library.dummykey", proto=("", "", ()), describe="dummy key {key_id}")


@pytest.fixture
def dummy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.KEY_TYPES, "dummy", DUMMY)  # the one registry line


def test_a_registered_type_wraps_stores_loads_and_unwraps(dummy: None, tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - key_groups:\n      - dummy: [k1]\n"
                                         f"      - age: [{AGE_RECIPIENT}]\n    shamir_threshold: 2\n")
    path = tmp_path / "s.yaml"
    sops_py.dump_file({"a": "secret"}, path)
    md = yaml.safe_load(path.read_text())["sops"]
    assert md["key_groups"][0]["dummy"][0]["key_id"] == "k1" and md["key_groups"][0]["dummy"][0]["enc"]
    keys = sops_py.Keys(age=IDENTITY, environ={"DUMMY_KEYS": "k1"})
    assert sops_py.load_file(path, keys=keys) == {"a": "secret"}


def test_a_registered_type_fails_in_the_report(dummy: None) -> None:
    blob = sops_py.encrypt(b"a: 1\n", key_groups=[{"dummy": ["k9"]}], config=False)  # type: ignore[list-item]
    with pytest.raises(sops_py.CouldNotRetrieveKey) as e:
        sops_py.load(blob, keys=sops_py.Keys(environ={}))
    assert "dummy:k9: FAILED" in str(e.value) and "dummy key k9 is not available here" in str(e.value)
    assert e.value.groups[0] is not None and e.value.groups[0][0].key_type == "dummy"


def test_without_the_line_the_type_is_unknown() -> None:
    with pytest.raises(ValueError, match="unknown key types"):
        sops_py.encrypt(b"a: 1\n", key_groups=[{"dummy": ["k9"]}], config=False)  # type: ignore[list-item]
