"""Known answers for the ENC codec, canonical value bytes and the MAC, against files sops wrote."""

from __future__ import annotations

import hashlib
import math

import pytest

from sops_py.cipher import Cipher, CipherError, to_bytes
from sops_py.rules import Rule
from sops_py.stores import split_nested_metadata
from sops_py.stores.yaml_lines import load_yaml
from sops_py.tree import Branch, Comment, Time
from sops_py.walk import MAC_ONLY_ENCRYPTED_INIT, decrypt_tree, encrypt_tree
from tests.helpers import TESTDATA, data_key_of


def _sops_file(name: str) -> tuple[list[Branch], object, bytes]:
    branches, md = split_nested_metadata(load_yaml((TESTDATA / "sops" / name).read_bytes()))
    return branches, md, data_key_of(md)


def test_decrypts_values_written_by_sops_with_their_types() -> None:
    branches, md, key = _sops_file("basic.enc.yaml")
    c = Cipher(key)
    enc = dict((k, v) for k, v in branches[0] if isinstance(k, str))
    assert c.decrypt(enc["hello"], "hello:") == "world"
    assert c.decrypt(enc["number"], "number:") == 1234
    assert c.decrypt(enc["float"], "float:") == 1.5
    assert c.decrypt(enc["big_float"], "big_float:") == 1e21
    assert c.decrypt(enc["bool_false"], "bool_false:") is False
    assert c.decrypt(enc["octal"], "octal:") == 15
    assert c.decrypt(enc["yes_string"], "yes_string:") == "yes"
    assert c.decrypt(enc["date"], "date:") == Time("2001-01-01T00:00:00Z")
    assert enc["empty"] == ""  # empty strings are never encrypted
    assert enc["secret_unencrypted"] == "visible"
    assert enc["number"].endswith(",type:int]") and enc["big_float"].endswith(",type:float]")


def test_wrong_path_or_tampered_tag_fails_with_exit_25() -> None:
    branches, md, key = _sops_file("basic.enc.yaml")
    token = dict((k, v) for k, v in branches[0] if isinstance(k, str))["hello"]
    with pytest.raises(CipherError) as err:
        Cipher(key).decrypt(token, "other:")
    assert err.value.exit_code == 25
    assert "message authentication failed" in str(err.value)
    tampered = token.replace("tag:", "tag:A", 1).replace("tag:A", "tag:", 1)[:-20] + "AAAAAAAAAAAAAAAAAAA]"
    with pytest.raises(CipherError):
        Cipher(key).decrypt(tampered, "hello:")
    with pytest.raises(CipherError, match="does not match sops' data format"):
        Cipher(key).decrypt("ENC[AES256_GCM,garbage]", "hello:")


def test_layout_iv_32_bytes_and_stash_reuse() -> None:
    ivs = iter([b"\x01" * 32, b"\x02" * 32])
    c = Cipher(b"k" * 32, rand=lambda n: next(ivs))
    token = c.encrypt("secret", "a:b:")
    assert token.startswith("ENC[AES256_GCM,data:") and token.endswith(",type:str]")
    iv_b64 = token.split(",iv:")[1].split(",")[0]
    assert iv_b64 == "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    d = Cipher(b"k" * 32, rand=lambda n: b"\x09" * n)
    assert d.decrypt(token, "a:b:") == "secret"
    assert d.encrypt("secret", "a:b:") == token  # same value, same path: same IV, same bytes
    assert d.encrypt("secret", "a:c:") != token
    assert d.encrypt(1, "a:b:") != d.encrypt(1.0, "a:b:")  # the stash is typed


@pytest.mark.parametrize("value, expected", [
    ("héllo", "héllo".encode()), (True, b"True"), (False, b"False"), (-5, b"-5"), (1.5, b"1.5"), (1.0, b"1"),
    (1e21, b"1000000000000000000000"), (1e-7, b"0.0000001"), (-0.0, b"-0"), (math.inf, b"+Inf"),
    (-math.inf, b"-Inf"), (math.nan, b"NaN"), (Time("2001-12-14T21:59:43.1-05:00"), b"2001-12-14T21:59:43.1-05:00"),
    (Comment(" c"), b" c"), (b"\xff\x00", b"\xff\x00"),
])
def test_canonical_bytes(value: object, expected: bytes) -> None:
    assert to_bytes(value) == expected


def test_empty_values_stay_empty() -> None:
    c = Cipher(b"k" * 32)
    assert c.encrypt("", "a:") == ""
    assert c.decrypt("", "a:") == ""


def test_mac_of_sops_file_matches_spec_formula() -> None:
    branches, md, key = _sops_file("basic.enc.yaml")
    mac = decrypt_tree(branches, Cipher(key), Rule.of(md), md.mac_only_encrypted)
    assert Cipher(key).decrypt(md.mac, md.lastmodified_aad()) == mac
    assert mac == mac.upper() and len(mac) == 128


def test_mac_only_encrypted_file() -> None:
    branches, md, key = _sops_file("maconly.enc.yaml")
    assert md.mac_only_encrypted
    mac = decrypt_tree(branches, Cipher(key), Rule.of(md), True)
    assert Cipher(key).decrypt(md.mac, md.lastmodified_aad()) == mac


def test_mac_known_answer() -> None:
    tree = [Branch([("a", "x"), (Comment(" skipped"), None), ("b", 2), ("c_unencrypted", True), ("d", None),
                    ("e", [1.5, "y"])])]
    mac = encrypt_tree(tree, Cipher(b"k" * 32), Rule("unencrypted_suffix", "_unencrypted"), False)
    assert mac == hashlib.sha512(b"x" + b"2" + b"True" + b"1.5" + b"y").hexdigest().upper()
    tree2 = [Branch([("a", "x"), ("c_unencrypted", True)])]
    mac2 = encrypt_tree(tree2, Cipher(b"k" * 32), Rule("unencrypted_suffix", "_unencrypted"), True)
    assert mac2 == hashlib.sha512(MAC_ONLY_ENCRYPTED_INIT + b"x").hexdigest().upper()
    assert tree2[0][1] == ("c_unencrypted", True)


def test_lastmodified_aad_normalised() -> None:
    from sops_py.metadata import Metadata

    assert Metadata(lastmodified="2026-01-02T07:37:16+00:00").lastmodified_aad() == "2026-01-02T07:37:16Z"
    assert Metadata(lastmodified="2026-01-02T07:37:16+02:00").lastmodified_aad() == "2026-01-02T07:37:16+02:00"
    assert Metadata(lastmodified="2026-01-02T07:37:16.123Z").lastmodified_aad() == "2026-01-02T07:37:16Z"
