"""Shamir: known answers against shares written by sops, plus split/combine properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sops_py import shamir
from sops_py.cipher import Cipher
from sops_py.errors import SopsError
from sops_py.rules import Rule
from sops_py.stores import split_nested_metadata
from sops_py.stores.yaml_lines import load_yaml
from sops_py.walk import decrypt_tree
from tests.helpers import AGE2_KEY_FILE, AGE_KEY_FILE, TESTDATA, unwrap_age


def test_shares_written_by_sops_recombine() -> None:
    branches, md = split_nested_metadata(load_yaml((TESTDATA / "sops" / "shamir.enc.yaml").read_bytes()))
    assert md.shamir_threshold == 2 and len(md.key_groups) == 3
    shares = [unwrap_age(md.key_groups[0][0].enc, AGE_KEY_FILE), unwrap_age(md.key_groups[1][0].enc, AGE2_KEY_FILE),
              unwrap_age(md.key_groups[2][1].enc, AGE2_KEY_FILE)]
    assert [len(s) for s in shares] == [33, 33, 33]
    assert [s[-1] for s in shares] == [1, 2, 3]  # x = group index + 1, in the last byte
    keys = {shamir.combine(list(pair)) for pair in itertools.combinations(shares, 2)}
    keys.add(shamir.combine(shares))
    assert len(keys) == 1
    key = keys.pop()
    mac = decrypt_tree(branches, Cipher(key), Rule.of(md), md.mac_only_encrypted)
    assert Cipher(key).decrypt(md.mac, md.lastmodified_aad()) == mac


@settings(max_examples=60, deadline=None)
@given(secret=st.binary(min_size=1, max_size=40), parts=st.integers(2, 8), data=st.data())
def test_any_threshold_subset_recombines(secret: bytes, parts: int, data: st.DataObject) -> None:
    threshold = data.draw(st.integers(2, parts))
    shares = shamir.split(secret, parts, threshold)
    assert [s[-1] for s in shares] == list(range(1, parts + 1))
    subset = data.draw(st.lists(st.sampled_from(shares), min_size=threshold, max_size=parts, unique=True))
    assert shamir.combine(subset) == secret


def test_split_rejects_bad_parameters() -> None:
    with pytest.raises(SopsError):
        shamir.split(b"x" * 32, 3, 1)
    with pytest.raises(SopsError):
        shamir.split(b"x" * 32, 2, 3)
    with pytest.raises(SopsError, match="duplicate"):
        s = shamir.split(b"x" * 32, 3, 2)
        shamir.combine([s[0], s[0]])
