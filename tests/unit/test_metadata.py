"""The sops section: loading every layout sops writes, writing 3.13's, and keeping unknown key types."""

from __future__ import annotations

import pytest

from sops_py.errors import SopsError
from sops_py.metadata import Metadata, load, to_branch
from sops_py.stores import split_nested_metadata
from sops_py.stores.yaml_lines import load_yaml
from sops_py.tree import Branch
from tests.helpers import AGE_RECIPIENT, TESTDATA


def _md(name: str) -> Metadata:
    return split_nested_metadata(load_yaml((TESTDATA / "sops" / name).read_bytes()))[1]


def test_flat_layout_from_sops() -> None:
    md = _md("basic.enc.yaml")
    assert [[k.type for k in g] for g in md.key_groups] == [["age"]]
    assert md.key_groups[0][0].fields["recipient"] == AGE_RECIPIENT
    assert md.unencrypted_suffix == "_unencrypted" and md.version == "3.11.0"


def test_key_groups_layout_from_sops() -> None:
    md = _md("shamir.enc.yaml")
    assert md.shamir_threshold == 2
    assert [len(g) for g in md.key_groups] == [1, 1, 2]


def test_unknown_key_types_survive_a_rewrite() -> None:
    md = _md("multikey.enc.yaml")
    assert [k.type for k in md.key_groups[0]] == ["kms", "gcp_kms", "hc_vault", "age"]
    again = load(to_branch(md))
    assert again == md
    kms = dict(dict(to_branch(md))["kms"][0])
    assert list(kms) == ["arn", "aws_profile", "context", "created_at", "enc", "role"]  # 3.13 sorts keys


def test_written_layout_is_sops_3_13() -> None:
    md = _md("shamir.enc.yaml")
    out = to_branch(md)
    assert [k for k, _ in out] == ["key_groups", "lastmodified", "mac", "shamir_threshold", "unencrypted_suffix",
                                   "version"]
    group0 = out[0][1][0]
    assert [k for k, _ in group0] == ["age", "hc_vault"] and group0.get("hc_vault") == []


@pytest.mark.parametrize("branch, message", [
    (Branch([("lastmodified", "garbage"), ("age", [])]), "parsing time"),
    (Branch([("lastmodified", "2024-01-01T00:00:00Z")]), "No keys found in file"),
    (Branch([("lastmodified", "2024-01-01T00:00:00Z"), ("age", [Branch([("recipient", "x"), ("enc", "y")])]),
             ("encrypted_regex", "a"), ("unencrypted_suffix", "b")]), "Cannot use more than one"),
])
def test_broken_metadata(branch: Branch, message: str) -> None:
    with pytest.raises(SopsError, match=message):
        load(branch)
