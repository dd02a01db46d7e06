"""The cipher's run methods (``encrypt_strs``, ``decrypt_strs``) and the walk that feeds them runs of
string values give exactly what one value at a time gives: the same tokens in the same IV order, the
same values and MAC bytes, and the same first error. Also the dotenv store's comprehension loader
against a line-by-line model of sops' format."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sops_py.cipher import Cipher, CipherError, to_bytes
from sops_py.errors import SopsError
from sops_py.rules import Rule
from sops_py.stores.dotenv_store import DotenvStore
from sops_py.tree import Branch, Comment, Time
from sops_py.walk import decrypt_tree, encrypt_tree

KEY = b"\x11" * 32
SETTINGS = settings(max_examples=200, deadline=None)
TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(["\udc80", "\udcff", ",", "]", "\n"]), max_size=12)


def counting_rand() -> Callable[[int], bytes]:
    """A deterministic IV source: 1, 2, 3, ... (two ciphers built from it draw the same IVs)."""
    n = 0

    def rand(size: int) -> bytes:
        nonlocal n
        n += 1
        return n.to_bytes(size, "big")

    return rand


@SETTINGS
@given(st.lists(st.tuples(TEXT.filter(bool), TEXT), max_size=20))
def test_encrypt_strs_gives_encrypts_tokens_in_order(pairs: list[tuple[str, str]]) -> None:
    plains = [v.encode("utf-8", "surrogateescape") for v, _ in pairs]
    aads = [a for _, a in pairs]
    one = Cipher(KEY, rand=counting_rand())
    assert Cipher(KEY, rand=counting_rand()).encrypt_strs(plains, aads) == [
        one.encrypt(v, a) for v, a in pairs]


def test_encrypt_strs_draws_fresh_ivs_from_the_pool() -> None:
    c = Cipher(KEY)
    values = [f"v{i}" for i in range(300)]  # more than one pool of 128
    tokens = c.encrypt_strs([v.encode() for v in values], ["k:"] * 300)
    assert len({t.split(",iv:")[1].split(",")[0] for t in tokens}) == 300
    assert [Cipher(KEY).decrypt(t, "k:") for t in tokens] == values


def test_encrypt_strs_reuses_stashed_ivs() -> None:
    c = Cipher(KEY)
    token = c.encrypt("secret", "a:")
    c.decrypt(token, "a:")  # remembered: an unchanged value re-encrypts to the same token
    assert c.encrypt_strs([b"secret", b"other"], ["a:", "a:"])[0] == token


# tokens of every type, then damaged in the ways a hand-edited or truncated file is
LEAVES = st.one_of(TEXT.filter(bool), st.integers(-(2**63), 2**63 - 1), st.booleans(),
                   st.floats(allow_nan=False), st.builds(Comment, TEXT.filter(bool)),
                   st.just(Time("2001-02-03T04:05:06Z")), st.just("\udcff\udcfe"))
DAMAGE = st.sampled_from([
    "none", "none", "none", "flip", "comma", "bracket", "drop_tag", "empty_data", "empty_iv", "aad", "type",
    "trailing", "prefix", "tag_in_data",
])


def _damage(token: str, how: str, pos: int) -> str:
    i = pos % len(token)
    if how == "flip":
        return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    if how == "comma":
        return token[:i] + "," + token[i:]
    if how == "bracket":
        return token[:i] + "]" + token[i:]
    if how == "drop_tag":
        return token.replace(",tag:", ",tga:")
    if how == "empty_data":
        return "ENC[AES256_GCM,data:," + token.split(",", 2)[2]
    if how == "empty_iv":
        head, _, rest = token.partition(",iv:")
        return head + ",iv:," + rest.partition(",")[2]
    if how == "type":
        return token.rsplit(",type:", 1)[0] + ",type:int]"
    if how == "trailing":
        return token + "x]"
    if how == "prefix":
        return token.replace("ENC[AES256_GCM,", "ENC[AES256_GCM ,", 1)
    if how == "tag_in_data":  # the whole ciphertext in data, tag left empty: sops' regex refuses it
        data, iv, tag, typ = token[len("ENC[AES256_GCM,"):-1].split(",")
        both = base64.b64encode(base64.b64decode(data[5:]) + base64.b64decode(tag[4:])).decode()
        return f"ENC[AES256_GCM,data:{both},{iv},tag:,{typ}]"
    return token


def _one_by_one(c: Cipher, tokens: list[str], aads: list[str]) -> tuple[Any, ...]:
    values = []
    for t, a in zip(tokens, aads, strict=True):
        try:
            values.append(c.decrypt(t, a))
        except CipherError as e:
            return ("error", str(e))
    return ("ok", values, [b"" if isinstance(v, Comment) else to_bytes(v) for v in values])


def _in_a_run(c: Cipher, tokens: list[str], aads: list[str]) -> tuple[Any, ...]:
    try:
        values, macs = c.decrypt_strs(tokens, aads)
    except CipherError as e:
        return ("error", str(e))
    return ("ok", values, macs)


AADS = st.sampled_from(["a:", "b:c:", "é:"])


def _check_run_against_one_by_one(items: list[Any], swap_aad: bool) -> None:
    enc = Cipher(KEY)
    tokens = [_damage(enc.encrypt(v, a), how, pos) for v, a, how, pos in items]
    aads = [("x:" if swap_aad and how == "aad" else a) for _, a, how, _ in items]
    ran = _in_a_run(Cipher(KEY, keep_ivs=False), tokens, aads)
    assert repr(ran) == repr(_one_by_one(Cipher(KEY, keep_ivs=False), tokens, aads))


@SETTINGS
@given(st.lists(st.tuples(LEAVES, AADS, DAMAGE, st.integers(0, 10**6)), min_size=1, max_size=8), st.booleans())
def test_decrypt_strs_matches_decrypt_value_by_value(items: list[Any], swap_aad: bool) -> None:
    _check_run_against_one_by_one(items, swap_aad)


@SETTINGS
@given(st.lists(st.tuples(TEXT.filter(bool), AADS, DAMAGE, st.integers(0, 10**6)), min_size=1, max_size=4),
       st.booleans())
def test_decrypt_strs_matches_decrypt_on_string_runs(items: list[Any], swap_aad: bool) -> None:
    # all string tokens: the run is read by the fast path unless a damaged token sends it back
    _check_run_against_one_by_one(items, swap_aad)


def test_decrypt_strs_keeps_non_utf8_values_as_bytes_and_fills_the_stash() -> None:
    c = Cipher(KEY)
    tokens = [c.encrypt("\udcffok", "a:"), c.encrypt("plain", "b:")]
    values, macs = c.decrypt_strs(tokens, ["a:", "b:"])
    assert values == [b"\xffok", "plain"] and macs == [b"\xffok", b"plain"]
    assert c.encrypt("plain", "b:") == tokens[1]  # the stash remembered the run's IVs


def test_decrypt_strs_reports_the_first_bad_value() -> None:
    c = Cipher(KEY)
    good = c.encrypt("fine", "a:")
    with pytest.raises(CipherError, match="does not match sops' data format"):
        c.decrypt_strs([good, "ENC[AES256_GCM,garbage]", good.replace("a", "b")], ["a:"] * 3)


# ------------------------------------------------------------------------------------------------
# the walk: runs of string values (rules without comments) against value by value (comment rules)

KEYS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=6)  # never ending in _unencrypted
FLAT_LEAVES = st.one_of(TEXT, TEXT, st.integers(0, 99), st.none())


def _branch(children: Any, max_size: int = 6) -> Any:
    # a comment's bytes are decoded with replacement: comments here are valid UTF-8
    item = st.one_of(st.tuples(KEYS, children), st.builds(lambda t: (Comment(t), None), KEYS))
    return st.lists(item, max_size=max_size).map(Branch)


# top-level mappings big enough for runs (from 16 entries), small nested ones walked value by value
NESTED = st.recursive(FLAT_LEAVES, lambda c: st.one_of(st.lists(c, max_size=3), _branch(c)), max_leaves=6)
TREES = st.lists(_branch(NESTED, max_size=40), min_size=1, max_size=2)
PADDING = [(f"k{i}", "clear") for i in range(20)]  # makes a mapping big enough for runs
# both select every leaf and comment: the suffix rule walks string runs, the comment rule one by one
RUNS = Rule("unencrypted_suffix", "_unencrypted")
ONE_BY_ONE = Rule("unencrypted_comment_regex", "NEVER-MATCHES-THIS-TEXT")


@SETTINGS
@given(TREES, st.booleans())
def test_walk_with_runs_equals_value_by_value(tree: list[Branch], mac_only: bool) -> None:
    a, b = copy.deepcopy(tree), copy.deepcopy(tree)
    mac_a = encrypt_tree(a, Cipher(KEY, rand=counting_rand()), RUNS, mac_only)
    mac_b = encrypt_tree(b, Cipher(KEY, rand=counting_rand()), ONE_BY_ONE, mac_only)
    assert (a, mac_a) == (b, mac_b)  # same tokens: the IVs were drawn in walk order
    assert decrypt_tree(a, Cipher(KEY), RUNS, mac_only) == decrypt_tree(b, Cipher(KEY), ONE_BY_ONE, mac_only)
    assert a == b
    assert _as_text(a) == tree  # a value that is not UTF-8 comes back as its bytes, as in sops


def _as_text(x: Any) -> Any:
    if isinstance(x, bytes):
        return x.decode("utf-8", "surrogateescape")
    if isinstance(x, list):
        return type(x)(_as_text(v) for v in x)
    if isinstance(x, tuple):
        return tuple(_as_text(v) for v in x)
    return x


def test_a_bad_value_is_reported_before_a_later_non_string_key() -> None:
    # as sops walks: the value's error comes first (the run is flushed before the key is refused)
    padding = [(k, Cipher(KEY).encrypt(v, k + ":")) for k, v in PADDING]
    tree = [Branch([*padding, ("a", Cipher(KEY).encrypt("x", "b:")), (5, Cipher(KEY).encrypt("y", "5:"))])]
    with pytest.raises(SopsError, match="^Error decrypting tree: .*message authentication failed"):
        decrypt_tree(tree, Cipher(KEY), RUNS, False)
    rand = counting_rand()
    with pytest.raises(SopsError, match="non-string key"):
        encrypt_tree([Branch([*PADDING, ("a", "x"), (5, "y")])], Cipher(KEY, rand=rand), RUNS, False)
    assert rand(32) == (22).to_bytes(32, "big")  # the IVs before the key were drawn before the error


def test_walk_reports_a_bad_value_as_before() -> None:
    padding = [(k, Cipher(KEY).encrypt(v, k + ":")) for k, v in PADDING]
    tree = [Branch([*padding, ("a", Cipher(KEY).encrypt("x", "a:")), ("b", "ENC[AES256_GCM,broken]")])]
    with pytest.raises(SopsError, match="^Error decrypting tree: Error walking tree: Could not decrypt value: "
                                        "Input string ENC.AES256_GCM,broken. does not match"):
        decrypt_tree(tree, Cipher(KEY), RUNS, False)


# ------------------------------------------------------------------------------------------------
# the dotenv loader against a line-by-line model of sops' format


def _model_load(data: bytes) -> Branch:
    branch = Branch()
    for line in data.decode("utf-8", "surrogateescape").split("\n"):
        if not line:
            continue
        if line[0] == "#":
            branch.append((Comment(line[1:]), None))
            continue
        if "=" not in line:
            raise SopsError(f"invalid dotenv input line: {line}")
        key, _, value = line.partition("=")
        branch.append((key, value.replace("\\n", "\n")))
    return branch


LINES = st.lists(st.lists(st.sampled_from(["a", "=", "#", "\\", "n", "\n", "sops_", " ", "\udcff", "é"]),
                          max_size=12).map("".join), max_size=10)


@SETTINGS
@given(LINES)
def test_dotenv_load_matches_the_line_model(lines: list[str]) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    try:
        expected: Any = [_model_load(data)]
    except SopsError as e:
        expected = str(e)
    try:
        got: Any = DotenvStore().load_plain(data)
    except SopsError as e:
        got = str(e)
    assert got == expected
    if isinstance(got, list):  # and the writer gives back what a loop over the lines writes
        out = "".join(f"#{k.value}\n" if isinstance(k, Comment) else k + "=" + v.replace("\n", "\\n") + "\n"
                      for k, v in got[0])
        assert DotenvStore().emit_plain(got) == out.encode("utf-8", "surrogateescape")


def test_a_token_with_empty_data_is_refused_as_sops_refuses_it() -> None:
    # sops' regex wants at least one character of data; the empty plaintext's tag alone authenticates
    from sops_py.crypto import AESGCM

    iv = b"\x01" * 32
    tag = AESGCM(KEY).encrypt(iv, b"", b"a:")
    token = f"ENC[AES256_GCM,data:,iv:{base64.b64encode(iv).decode()},tag:{base64.b64encode(tag).decode()},type:str]"
    for run in (lambda: Cipher(KEY).decrypt(token, "a:"), lambda: Cipher(KEY).decrypt_strs([token], ["a:"])):
        with pytest.raises(CipherError, match="does not match sops' data format"):
            run()
