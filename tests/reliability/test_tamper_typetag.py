"""Issue 16, defect 7: a changed type tag (``type:str`` -> ``type:int``) must not print the secret.
sops quotes the decrypted value in its strconv error; sops-py names the key and the type instead.
Runs without the sops binary."""

from __future__ import annotations

import os

import pytest

from sops_py.cipher import Cipher
from sops_py.errors import ErrorDecryptingTree
from sops_py.metadata import DEFAULT_UNENCRYPTED_SUFFIX
from sops_py.rules import Rule
from sops_py.tree import Branch
from sops_py.walk import decrypt_tree, encrypt_tree

SECRET = "hunter2-very-secret"


@pytest.mark.parametrize("new_type", ["int", "float", "bool"])
def test_changed_type_tag_names_key_and_type_not_value(new_type: str) -> None:
    key = os.urandom(32)
    rule = Rule("unencrypted_suffix", DEFAULT_UNENCRYPTED_SUFFIX)
    tree = [Branch([("db", Branch([("password", SECRET)]))])]
    encrypt_tree(tree, Cipher(key), rule, False)
    token = tree[0][0][1][0][1]
    assert token.endswith(",type:str]")
    tree[0][0][1][0] = ("password", token.replace(",type:str]", f",type:{new_type}]"))
    with pytest.raises(ErrorDecryptingTree) as info:
        decrypt_tree(tree, Cipher(key), rule, False)
    msg = str(info.value)
    assert SECRET not in msg
    assert '"db:password"' in msg and f"valid {new_type}" in msg
    assert info.value.exit_code == ErrorDecryptingTree.exit_code
