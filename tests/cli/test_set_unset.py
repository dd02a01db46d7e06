"""`set`, `unset` and the legacy `--set`: sops' tree semantics, argument parsing and, as the oracle, the
real sops run on copies of the same encrypted files.

Version skew asserted here (the reference binary is sops 3.11 + 131 commits; sops-py follows 3.13.2):

* a JSON *object* value goes through the JSON store, whose numbers 3.13 types as ``int`` when they fit
  int64 (3.11: every number is a float). The decrypted plaintext is the same (``1`` either way), the
  ``type:`` of the ENC value differs, and so does ``--idempotent`` against an existing int;
* 3.13 refuses to set a top-level ``sops`` key (exit 203, ``validateFileForEncryption``); 3.11 writes
  a broken file;
* unknown flags are reported as sops reports them (``Incorrect Usage: ...`` and the help on stdout, Go's
  log line on stderr, exit 1; see tests/cli/test_cli_parity.py).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sops_py.cli.cmd_set import reorder_args
from sops_py.datakey import KeyRing
from sops_py.errors import FileAlreadyEncrypted, InvalidSetFormat, SopsError
from sops_py.ops.crypt import decrypt_data, load_encrypted, open_tree
from sops_py.ops.set_unset import (
    GoPanic,
    KeyNotFound,
    parse_json_value,
    parse_set_argument,
    parse_set_path,
    set_file,
    set_value,
    unset_file,
    unset_value,
    values_equal,
)
from sops_py.stores import Store, format_for_path, get_store
from sops_py.tree import Branch, Comment, Time
from sops_py.treepath import truncate
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA
from tests.interop.sops_helpers import SOPS, run_sops

SOPS_DIR = TESTDATA / "sops"
BASIC = SOPS_DIR / "basic.enc.yaml"
BASIC_JSON = SOPS_DIR / "basic.enc.json"
COMMENTS = SOPS_DIR / "comments.enc.yaml"
NESTED_JSON = SOPS_DIR / "nested.enc.json"
requires_sops = pytest.mark.skipif(SOPS is None, reason="the sops binary is not on PATH")

# an environment with only the test age key (no ~/.ssh or default keys file of the host)
KEY_ENV = {"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "HOME": "/nonexistent-sops-py-home",
           "XDG_CONFIG_HOME": "/nonexistent-sops-py-home/.config"}


def store_for(path: Path) -> Store:
    return get_store(format_for_path(str(path)))


def plaintext(data: bytes, store: Store) -> bytes:
    return decrypt_data(data, store, store, KeyRing(KEY_ENV))


def enc_tokens(node: Any) -> Counter[str]:
    """Every ENC[...] string of an encrypted tree (values and comments)."""
    out: Counter[str] = Counter()
    stack = [node]
    while stack:
        v = stack.pop()
        if isinstance(v, Branch):
            for k, x in v:
                stack.append(k if isinstance(k, Comment) else x)
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, Comment):
            if v.value.startswith("ENC["):
                out[v.value] += 1
        elif isinstance(v, str) and v.startswith("ENC["):
            out[v] += 1
    return out


def file_tokens(data: bytes, store: Store) -> Counter[str]:
    branches, _ = load_encrypted(data, store)
    total: Counter[str] = Counter()
    for b in branches:
        total += enc_tokens(b)
    return total


def replaced_tokens(data: bytes, store: Store, path: Sequence[str | int]) -> Counter[str]:
    """The tokens a set/unset at ``path`` may drop: the node at ``path``, or the scalar in its way."""
    node: Any = load_encrypted(data, store)[0][0]
    for comp in path:
        if isinstance(node, Branch):
            match = [v for k, v in node if isinstance(k, str) and isinstance(comp, str) and k == comp]
            if not match:
                return Counter()  # appended: nothing replaced
            node = match[0]
        elif isinstance(node, list):
            if not isinstance(comp, int) or not 0 <= comp < len(node):
                return Counter()
            node = node[comp]
        else:
            break  # a scalar in the way is replaced
    return enc_tokens(node)


def assert_kept_ciphertexts(before: bytes, after: bytes, store: Store, path: Sequence[str | int]) -> None:
    """Every ENC value outside ``path`` is still in the new file, byte for byte (the IV stash)."""
    expected = file_tokens(before, store) - replaced_tokens(before, store, path)
    # counted in the file's bytes: a comment the store cannot read back (e.g. inside an empty flow map
    # sops writes after removing the last key of a commented map) is still written
    missing = [t for t, n in expected.items() if after.count(t.encode()) < n]
    assert not missing, f"ciphertexts not kept: {missing[:3]}"


# ================================================================== argument parsing

@pytest.mark.parametrize("text,expected", [
    ('["a"][0][\'b\']', ["a", 0, "b"]),
    ('["a"]["b c"]', ["a", "b c"]),
    ("[+3][-1][007]", [3, -1, 7]),
    ('["a]', [""]),  # sops drops the first and last characters, whatever they are
    ("", []),
    ("[[1]", [1]),  # empty parts are skipped
])
def test_parse_set_path(text: str, expected: list[str | int]) -> None:
    assert parse_set_path(text, "Invalid set index format") == expected


@pytest.mark.parametrize("text", ['a', '["a"] ["b"]', '["a"]x', "[x]", "[1.5]", "[ 1]", "[9223372036854775808]",
                                  "[١]"])
def test_parse_set_path_invalid(text: str) -> None:
    with pytest.raises(InvalidSetFormat) as e:
        parse_set_path(text, "Invalid unset index format")
    assert e.value.exit_code == 7
    assert str(e.value) == "Invalid unset index format"


@pytest.mark.parametrize("text,panic", [
    ("[]", "panic: runtime error: index out of range [0] with length 0"),
    ('["]', "panic: runtime error: slice bounds out of range [1:0]"),
    ("['][1]", "panic: runtime error: slice bounds out of range [1:0]"),
])
def test_parse_set_path_panics(text: str, panic: str) -> None:
    with pytest.raises(GoPanic) as e:
        parse_set_path(text, "x")
    assert e.value.exit_code == 2
    assert str(e.value).splitlines()[0] == panic


def test_parse_set_path_error_before_later_panic() -> None:
    with pytest.raises(InvalidSetFormat):
        parse_set_path("[x][]", "x")


@pytest.mark.parametrize("text,expected", [
    ("5", 5.0), ("-0", -0.0), ("1.5e3", 1500.0), ("12345678901234567890", 1.2345678901234567e19),
    ('"x"', "x"), ("  true ", True), ("false", False), ("null", None), ('"\\ud800x"', "\ufffdx"),
    ('"\\ud83d\\ude00"', "\U0001F600"),
])
def test_json_scalars_as_encoding_json(text: str, expected: Any) -> None:
    value = parse_json_value(text.encode())
    assert value == expected
    assert type(value) is type(expected)  # numbers are float64: `5` is stored as type:float


def test_json_invalid_utf8_becomes_replacement_chars() -> None:
    assert parse_json_value(b'"a\xe2\x82b"') == "a\ufffd\ufffdb"


def test_json_object_goes_through_the_json_store() -> None:
    value = parse_json_value(b'{"i": 1, "f": 1.0, "big": 9223372036854775808, "l": [1, "x", null], "o": {}}')
    assert value == Branch([("i", 1), ("f", 1.0), ("big", 9.223372036854776e18), ("l", [1, "x", None]),
                            ("o", Branch())])
    assert type(value.get("i")) is int  # 3.13 typing (3.11 would give a float)
    assert type(value.get("f")) is float


@pytest.mark.parametrize("text,message", [
    ("nope", "Value for --set is not valid JSON"),
    ("", "Value for --set is not valid JSON"),
    ("1e400", "Value for --set is not valid JSON"),
    ("NaN", "Value for --set is not valid JSON"),
    ("Infinity", "Value for --set is not valid JSON"),
    ('{"a":1} x', "Value for --set is not valid JSON"),
    ('{"a":1} {}', "Value for --set is not valid JSON"),
    ('{"a":1e400}', "Value for --set is not valid JSON"),
    ("[1, 2]", "Invalid --set value format"),  # the JSON store wants a top-level object
])
def test_json_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidSetFormat) as e:
        parse_json_value(text.encode())
    assert str(e.value) == message
    assert e.value.exit_code == 7


@pytest.mark.parametrize("text,path,value", [
    ('["a"][0] {"x":1}', ["a", 0], Branch([("x", 1)])),
    ('["a"]  "v"', ["a"], "v"),  # the value keeps its leading space: still valid JSON
    ('["a b"] 1', ["a b"], 1.0),
    ('["a"]["b"] ["c"] 1', ["a", "b"], None),  # split at the first "] ": the value is invalid
])
def test_legacy_set_argument(text: str, path: list[str | int], value: Any) -> None:
    if value is None:
        with pytest.raises(InvalidSetFormat, match="not valid JSON"):
            parse_set_argument(text)
        return
    assert parse_set_argument(text) == (path, value)


@pytest.mark.parametrize("text", ['["a"]"x"', 'a "x"', '["a"]'])
def test_legacy_set_argument_invalid_format(text: str) -> None:
    with pytest.raises(InvalidSetFormat) as e:
        parse_set_argument(text)
    assert str(e.value) == "Invalid --set format"


@pytest.mark.parametrize("args,expected", [
    (["f", "i", "v", "--idempotent"], ["--idempotent", "f", "i", "v"]),
    (["f", "--idempotent", "i", "v"], ["--idempotent", "i", "f", "v"]),  # urfave's quirk: the next arg moves too
    (["f", "i", "v", "--input-type", "json"], ["--input-type", "json", "f", "i", "v"]),
    (["f", "i", "v", "--input-type=json", "x"], ["--input-type=json", "f", "i", "v", "x"]),
    (["f", "--", "i", "--idempotent"], ["--", "f", "i", "--idempotent"]),
    (["f", "i", "-5"], ["f", "i", "-5"]),
    (["f", "i", "--bogus"], ["f", "i", "--bogus"]),
    (["-idempotent", "f"], ["-idempotent", "f"]),  # Go's flag package reads -name as --name itself
])
def test_reorder_args_as_urfave(args: list[str], expected: list[str]) -> None:
    assert reorder_args({"idempotent", "input-type", "h", "help"}, args) == expected


# ================================================================== TreeBranch.Set / Unset

def tree() -> Branch:
    return Branch([
        (Comment("head"), None),
        ("a", 1),
        ("m", Branch([("x", "y")])),
        ("l", [Comment("c"), "p", Branch([("k", 1.0)])]),
        ("n", None),
    ])


def test_set_existing_and_unchanged() -> None:
    t, changed = set_value(tree(), ["a"], 1)
    assert not changed and t.get("a") == 1
    t, changed = set_value(tree(), ["a"], 1.0)  # int 1 vs float64 1: different Go types
    assert changed and type(t.get("a")) is float
    t, changed = set_value(tree(), ["l", 2], Branch([("k", 1.0)]))
    assert not changed


def test_set_appends_missing_keys_and_builds_containers() -> None:
    t, changed = set_value(tree(), ["new", "deep", 3, "z"], "v")
    assert changed
    assert t[-1] == ("new", Branch([("deep", [Branch([("z", "v")])])]))


def test_set_past_the_end_of_a_list_appends() -> None:
    t, _ = set_value(tree(), ["l", 99], "q")
    assert t.get("l")[-1] == "q"
    t, _ = set_value(tree(), ["l", 99, "k"], "q")
    assert t.get("l")[-1] == Branch([("k", "q")])


def test_set_counts_comments_in_lists_and_replaces_scalars() -> None:
    t, changed = set_value(tree(), ["l", 0], "was a comment")
    assert changed and t.get("l")[0] == "was a comment"
    t, changed = set_value(tree(), ["a", "b"], True)
    assert changed and t.get("a") == Branch([("b", True)])
    t, changed = set_value(tree(), ["n", 0], 2.0)
    assert changed and t.get("n") == [2.0]


def test_set_int_index_into_a_map_changes_nothing_but_reports_a_change() -> None:
    t, changed = set_value(tree(), [0], "x")
    assert changed and t == tree()


@pytest.mark.parametrize("path,panic", [
    ([], "index out of range [0] with length 0"),
    (["l", "x"], "interface conversion: interface {} is string, not int"),
    (["l", -1], "runtime error: index out of range [-1]"),
    (["l", -2, "x"], "runtime error: index out of range [-2]"),
])
def test_set_panics_where_sops_panics(path: list[str | int], panic: str) -> None:
    with pytest.raises(GoPanic, match=panic.replace("[", r"\[").replace("]", r"\]")):
        set_value(tree(), path, 1.0)


def test_values_equal_is_sops_equals() -> None:
    assert values_equal(Comment("a"), Comment("a", inline=True))
    assert not values_equal(Comment("a"), "a")
    assert not values_equal(1, 1.0)
    assert not values_equal(True, 1)
    assert not values_equal([1], Branch())
    assert not values_equal(Branch(), [])
    assert values_equal(None, None)
    assert values_equal(Time("2020-01-01T00:00:00Z"), Time("2020-01-01T00:00:00Z"))
    assert values_equal(Branch([(Comment("x"), None), ("k", [1, "a"])]),
                        Branch([(Comment("x", True), None), ("k", [1, "a"])]))
    assert not values_equal(float("nan"), float("nan"))


def test_unset() -> None:
    t = unset_value(tree(), ["m", "x"])
    assert t.get("m") == Branch()
    t = unset_value(tree(), ["l", 0])  # comments count as list items
    assert t.get("l") == ["p", Branch([("k", 1.0)])]
    t = unset_value(tree(), ["a"])
    assert [k for k, _ in t] == [Comment("head"), "m", "l", "n"]


@pytest.mark.parametrize("path,message,exc", [
    (["zz"], "Key not found: zz", KeyNotFound),
    (["m", "zz", "y"], "Key not found: zz", KeyNotFound),
    ([0], "Key not found: %!s(int=0)", KeyNotFound),
    (["l", 3], "Index 3 out of bounds", KeyNotFound),
    (["a", "x"], "Unsupported type: int for item 'x'", SopsError),
    (["n", 0], "Unsupported type: <nil> for item '%!s(int=0)'", SopsError),
    (["l", 0, "x"], "Unsupported type: sops.Comment for item 'x'", SopsError),
    (["l", 1, "x"], "Unsupported type: string for item 'x'", SopsError),
])
def test_unset_errors(path: list[str | int], message: str, exc: type[SopsError]) -> None:
    with pytest.raises(exc) as e:
        unset_value(tree(), path)
    assert str(e.value) == message
    assert e.value.exit_code == 1
    assert isinstance(e.value, KeyNotFound) == (exc is KeyNotFound)


@pytest.mark.parametrize("path,panic", [
    (["l", -1], "runtime error: slice bounds out of range [-1::]"),
    (["l", -1, "x"], "runtime error: index out of range [-1]"),
    (["l", "x"], "interface conversion: interface {} is string, not int"),
    ([], "runtime error: index out of range [0] with length 0"),
])
def test_unset_panics_where_sops_panics(path: list[str | int], panic: str) -> None:
    with pytest.raises(GoPanic) as e:
        unset_value(tree(), path)
    assert str(e.value).splitlines()[0] == "panic: " + panic


# ================================================================== whole files, in process

NOW = _dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=_dt.timezone.utc)


@pytest.mark.parametrize("fixture,path,value", [
    (BASIC, ["hello"], "changed"),
    (COMMENTS, ["d", 1], "z"),
    (COMMENTS, ["b", "new", 0], Branch([("k", 1)])),
    (BASIC_JSON, ["hello"], 5.0),
    (NESTED_JSON, ["app", "env", 1, "value"], None),
])
def test_set_file_keeps_ciphertexts_and_refreshes_the_mac(fixture: Path, path: list[str | int],
                                                          value: Any) -> None:
    store = store_for(fixture)
    before = fixture.read_bytes()
    after, changed = set_file(before, store, store, KeyRing(KEY_ENV), None, False, path, copy.deepcopy(value),
                              now=NOW)
    assert changed
    assert_kept_ciphertexts(before, after, store, path)
    _, md = load_encrypted(after, store)
    assert md.lastmodified == "2030-01-02T03:04:05Z"
    # the MAC verifies (open_tree checks it) and the value is there
    branches, md = load_encrypted(after, store)
    opened = open_tree(branches, md, KeyRing(KEY_ENV), None, ignore_mac=False)
    assert values_equal(truncate(opened.branches[0], path), value)


def test_set_file_unchanged_reports_no_change() -> None:
    store = store_for(BASIC)
    _, changed = set_file(BASIC.read_bytes(), store, store, KeyRing(KEY_ENV), None, False, ["hello"], "world")
    assert not changed


def test_set_file_refuses_a_top_level_sops_key() -> None:
    store = store_for(BASIC)
    with pytest.raises(FileAlreadyEncrypted) as e:
        set_file(BASIC.read_bytes(), store, store, KeyRing(KEY_ENV), None, False, ["sops"], 1.0)
    assert e.value.exit_code == 203


def test_unset_file_missing_key() -> None:
    store = store_for(BASIC)
    with pytest.raises(KeyNotFound, match="Key not found: nope"):
        unset_file(BASIC.read_bytes(), store, store, KeyRing(KEY_ENV), None, False, ["nope"])


# ------------------------------------------------------------------ property: set then unset is a no-op

_KEY = st.text(st.characters(codec="utf-8", exclude_characters="[]'\"", exclude_categories=("Cs", "Cc")),
               min_size=1, max_size=12).map(lambda s: "fresh_" + s)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 63), 2 ** 63 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
_JSON = st.one_of(_SCALAR, st.dictionaries(st.text(max_size=8), st.recursive(
    _SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner,
                                                                                  max_size=3)),
    max_leaves=6), max_size=4))
_FIXTURES = [BASIC, BASIC_JSON, COMMENTS]
_ORIGINALS = {f: f.read_bytes() for f in _FIXTURES}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixture=st.sampled_from(_FIXTURES), key=_KEY, value=_JSON, nested=st.booleans())
def test_set_then_unset_restores_the_file(fixture: Path, key: str, value: Any, nested: bool) -> None:
    store = store_for(fixture)
    before = _ORIGINALS[fixture]
    path: list[str | int] = [key, "inner"] if nested else [key]
    parsed = parse_json_value(json.dumps(value).encode())
    ring = KeyRing(KEY_ENV)
    mid, changed = set_file(before, store, store, ring, None, False, path, parsed)
    assert changed
    after = unset_file(mid, store, store, ring, None, False, path[:1])
    assert plaintext(after, store) == plaintext(before, store)
    assert file_tokens(after, store) == file_tokens(before, store)  # every value kept its ciphertext


# ================================================================== the real sops as the oracle

def run_py(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path,
           input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], input=input, capture_output=True,
                          env=dict(env), cwd=cwd, timeout=60, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    e["HOME"] = str(tmp_path / "home")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    e["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return e


@dataclass
class Run:
    proc: subprocess.CompletedProcess[bytes]
    file: Path
    before: bytes

    @property
    def after(self) -> bytes:
        return self.file.read_bytes() if self.file.exists() else b""

    @property
    def first_error_line(self) -> str:
        lines = self.proc.stderr.decode(errors="replace").splitlines()
        return lines[0].replace(str(self.file.parent), "<DIR>") if lines else ""


def run_both(fixture: Path, args: Sequence[str], env: Mapping[str, str], tmp_path: Path,
             input: bytes = b"") -> tuple[Run, Run]:
    """Run ``args`` (FILE = a copy of ``fixture``) with sops in one directory and sops-py in another."""
    runs = []
    for tool in ("sops", "py"):
        d = tmp_path / tool
        d.mkdir(parents=True)
        target = d / ("f" + "".join(fixture.suffixes[-1:]))
        shutil.copyfile(fixture, target)
        argv = [a.replace("FILE", target.name) for a in args]
        proc = (run_sops(argv, env=env, cwd=d, input=input) if tool == "sops"
                else run_py(argv, env, d, input=input))
        runs.append(Run(proc, target, fixture.read_bytes()))
    return runs[0], runs[1]


def decrypted_by_sops(run: Run, env: Mapping[str, str], extra: Sequence[str] = ()) -> tuple[int, bytes]:
    p = run_sops(["decrypt", *extra, run.file], env=env, cwd=run.file.parent)
    return p.returncode, p.stdout


def tree_path_of(args: Sequence[str]) -> list[str | int]:
    """The index argument of a set/unset command line (the one after FILE), for the token check."""
    try:
        return parse_set_path(args[list(args).index("FILE") + 1], "")
    except (SopsError, IndexError, ValueError):
        return []


def compare(theirs: Run, ours: Run, env: Mapping[str, str], args: Sequence[str],
            decrypt_args: Sequence[str] = (), same_message: bool = True) -> None:
    """Same exit code, stdout, stderr presence and first error line; same file-untouched outcome; and
    a changed file decrypts (MAC verified) to the same bytes with the real sops, keeping every
    ciphertext outside the index."""
    assert ours.proc.returncode == theirs.proc.returncode, (ours.proc.stderr, theirs.proc.stderr)
    assert bool(ours.proc.stderr) == bool(theirs.proc.stderr), (ours.proc.stderr, theirs.proc.stderr)
    assert ours.proc.stdout == theirs.proc.stdout
    assert (ours.after == ours.before) == (theirs.after == theirs.before)
    if same_message and theirs.proc.stderr and not theirs.proc.stderr.startswith(b"[CMD]"):
        assert ours.first_error_line == theirs.first_error_line
    if theirs.after == theirs.before:
        assert ours.after == ours.before  # a failed or no-op command leaves the file's bytes alone
        return
    mine = decrypted_by_sops(ours, env, decrypt_args)
    assert mine == decrypted_by_sops(theirs, env, decrypt_args)
    assert mine[0] == 0  # MAC and every value verified by sops
    if not decrypt_args:
        store = store_for(ours.file)
        assert_kept_ciphertexts(ours.before, ours.after, store, tree_path_of(args))


SCENARIOS: list[tuple[Path, list[str]]] = [
    # set: replace, add, append, create containers
    (BASIC, ["set", "FILE", '["hello"]', '"world!"']),
    (BASIC, ["set", "FILE", '["new"]', "5"]),
    (BASIC, ["set", "FILE", '["new"]["x"][3]["y"]', '{"a": 1.5, "b": [true, "x", null], "c": {}}']),
    (BASIC, ["set", "FILE", '["hello"][2]', "null"]),
    (BASIC, ["set", "FILE", '["hello"]["a"]', "false"]),
    (BASIC, ["set", "FILE", "[0]", "1"]),
    (BASIC, ["set", "FILE", '["number"]', "1234"]),
    (BASIC, ["set", "FILE", '["hello"]', "-5"]),
    (COMMENTS, ["set", "FILE", '["d"][0]', '"was a comment"']),
    (COMMENTS, ["set", "FILE", '["d"][9]', '"appended"']),
    (COMMENTS, ["set", "FILE", '["d"][9]["x"]', '"c"']),
    (COMMENTS, ["set", "FILE", '["b"]["c"]', "3"]),
    (COMMENTS, ["set", "FILE", '["e"]', '"\\u00e9\\ud800<&>"']),
    (SOPS_DIR / "encregex.enc.yaml", ["set", "FILE", '["database"]["new"]', '{"password": "p", "other": "o"}']),
    (SOPS_DIR / "maconly.enc.yaml", ["set", "FILE", '["x_unencrypted"]', '"clear"']),
    (SOPS_DIR / "multidoc.enc.yaml", ["set", "FILE", '["first"]', '"one"']),
    (SOPS_DIR / "shamir.enc.yaml", ["set", "FILE", '["z"]', '"z"']),
    (NESTED_JSON, ["set", "FILE", '["app"]["env"][0]["value"]', '"x"']),
    (BASIC_JSON, ["set", "FILE", '["s"]', '"x<&>\\u2028"']),
    # --idempotent
    (BASIC, ["set", "--idempotent", "FILE", '["hello"]', '"world"']),
    (BASIC, ["set", "--idempotent", "FILE", "[0]", "1"]),
    (COMMENTS, ["set", "--idempotent", "FILE", '["b"]', '{"c": 2}']),  # b also holds comments: a change
    (NESTED_JSON, ["set", "--idempotent", "FILE", '["app"]["replicas"]', "3"]),  # a float in both versions
    (BASIC, ["set", "FILE", '["hello"]', '"world"', "--idempotent"]),  # urfave moves flags forward
    (BASIC, ["set", "FILE", "--idempotent", '["hello"]', '"world"']),  # ... with the next argument
    (BASIC, ["set", "--", "FILE", '["hello"]', '"x"']),
    (BASIC, ["set", "FILE", "--", '["hello"]', '"x"', "--idempotent"]),
    (BASIC, ["set", "--output-type", "json", "FILE", '["hello"]', "3"]),
    (BASIC, ["set", "--ignore-mac", "FILE", '["hello"]', "3"]),
    # set errors
    (BASIC, ["set", "FILE", '["hello"]']),
    (BASIC, ["set", "FILE", '["hello"]', "1", "extra"]),
    (BASIC, ["set", "FILE"]),
    (BASIC, ["set", "FILE", "hello", "1"]),
    (BASIC, ["set", "FILE", '["hello"]', "nope"]),
    (BASIC, ["set", "FILE", '["hello"]', "[1, 2]"]),
    (BASIC, ["set", "FILE", '["hello"]', "1e400"]),
    (BASIC, ["set", "--decryption-order", "age,age", "FILE", '["hello"]', "1"]),
    (BASIC, ["set", "missing.yaml", '["hello"]', "1"]),
    (BASIC, ["set", "--value-stdin", "--value-file", "FILE", '["hello"]', "x"]),
    (BASIC, ["set", "--value-file", "FILE", '["hello"]', "no-such-value.json"]),
    (BASIC, ["set", "--value-file", "FILE", '["hello"]', "/"]),
    (BASIC, ["set", "--value-stdin", "FILE", '["hello"]', "x"]),
    (COMMENTS, ["set", "FILE", '["d"]["x"]', '"c"']),
    (COMMENTS, ["set", "FILE", '["d"][-1]', '"c"']),
    (COMMENTS, ["set", "FILE", "", "1"]),
    (COMMENTS, ["set", "FILE", "[]", "1"]),
    # unset
    (COMMENTS, ["unset", "FILE", '["a"]']),
    (COMMENTS, ["unset", "FILE", '["b"]["c"]']),
    (COMMENTS, ["unset", "FILE", '["d"][0]']),
    (COMMENTS, ["unset", "FILE", '["d"][1]']),
    (SOPS_DIR / "multidoc.enc.yaml", ["unset", "FILE", '["list"][0]']),
    (NESTED_JSON, ["unset", "FILE", '["app"]["env"][0]["name"]']),
    (COMMENTS, ["unset", "FILE", '["d"][5]']),
    (COMMENTS, ["unset", "--idempotent", "FILE", '["d"][5]']),
    (COMMENTS, ["unset", "FILE", '["zz"]']),
    (COMMENTS, ["unset", "--idempotent", "FILE", '["zz"]["y"]']),
    (COMMENTS, ["unset", "FILE", '["zz"]', "--idempotent"]),
    (COMMENTS, ["unset", "FILE", "[0]"]),
    (COMMENTS, ["unset", "--idempotent", "FILE", '["a"]["x"]']),  # not a SopsKeyNotFound: still an error
    (BASIC, ["unset", "FILE", '["null_value"]["x"]']),
    (BASIC, ["unset", "FILE", '["date"]["x"]']),
    (COMMENTS, ["unset", "FILE", '["d"][-1]']),
    (COMMENTS, ["unset", "FILE", '["d"]["x"]']),
    (COMMENTS, ["unset", "FILE", "x"]),
    (COMMENTS, ["unset", "FILE"]),
    (COMMENTS, ["unset", "FILE", '["a"]', "x"]),
    # legacy --set
    (BASIC, ["--set", '["hello"] "x"', "FILE"]),
    (BASIC, ["--set", '["hello"]["a b"] {"x": "y"}', "FILE"]),
    (BASIC, ["--set", '["hello"] "world"', "FILE"]),  # no --idempotent there: always written
    (BASIC, ["--set", '["hello"]"x"', "FILE"]),
    (BASIC, ["--set", '["hello"] x', "FILE"]),
    (BASIC, ["--set", 'bad "x"', "FILE"]),
    (BASIC, ["--set", '["a"] ["b"] "x"', "FILE"]),
    (BASIC, ["--set", '[] "x"', "FILE"]),
    (BASIC, ["--set", '["hello"] "x"', "--decryption-order", "age,age", "FILE"]),
    (BASIC, ["--set", '["hello"] "x"', "-i", "--output", "o.yaml", "FILE"]),
    (BASIC, ["--set", '["hello"] "x"', "missing.yaml"]),
    (BASIC, ["--set", '["hello"] "x"', "--add-age", "age1x", "missing.yaml"]),
]


def _scenario_id(s: tuple[Path, list[str]]) -> str:
    return s[0].name + ":" + " ".join(s[1])


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[_scenario_id(s) for s in SCENARIOS])
def test_same_as_sops(scenario: tuple[Path, list[str]], env: dict[str, str], tmp_path: Path) -> None:
    fixture, args = scenario
    theirs, ours = run_both(fixture, args, env, tmp_path)
    if "--output-type" in args:
        out_type = args[args.index("--output-type") + 1]
        compare(theirs, ours, env, args, decrypt_args=["--input-type", out_type, "--output-type", out_type])
    else:
        compare(theirs, ours, env, args)


@pytest.mark.interop
@requires_sops
def test_value_file_and_stdin(env: dict[str, str], tmp_path: Path) -> None:
    value = tmp_path / "value.json"
    value.write_text('{"k": [1, "two"]}\n')
    args = ["set", "--value-file", "FILE", '["hello"]', str(value)]
    theirs, ours = run_both(BASIC, args, env, tmp_path / "file")
    compare(theirs, ours, env, args)
    args = ["set", "--value-stdin", "FILE", '["hello"]']
    theirs, ours = run_both(BASIC, args, env, tmp_path / "stdin", input=b'"from stdin"\n')
    compare(theirs, ours, env, args)


@pytest.mark.interop
@requires_sops
def test_binary_store(env: dict[str, str], tmp_path: Path) -> None:
    plain = tmp_path / "secret.bin"
    plain.write_bytes(b"raw \xff bytes\n")
    enc = run_sops(["encrypt", "--age", AGE_RECIPIENT, plain], env=env, cwd=tmp_path)
    assert enc.returncode == 0, enc.stderr
    fixture = tmp_path / "secret.enc"
    fixture.write_bytes(enc.stdout)
    for i, args in enumerate((["set", "FILE", '["data"]', '"replaced"'], ["set", "FILE", '["other"]', "1"],
                              ["unset", "FILE", '["data"]'])):
        theirs, ours = run_both(fixture, args, env, tmp_path / str(i))
        compare(theirs, ours, env, args, decrypt_args=["--output-type", "json"])  # any tree, not just "data"


@pytest.mark.interop
@requires_sops
def test_flat_stores(env: dict[str, str], tmp_path: Path) -> None:
    """dotenv and INI files, when this build has those stores and their fixtures."""
    cases = [(SOPS_DIR / "flat_basic.enc.env", ["set", "FILE", '["NEW_KEY"]', '"v"']),
             (SOPS_DIR / "flat_basic.enc.ini", ["set", "FILE", '["DEFAULT"]["new"]', '"v"'])]
    ran = 0
    for i, (fixture, args) in enumerate(cases):
        fmt = format_for_path(str(fixture))
        try:
            get_store(fmt)
        except (ImportError, SopsError):
            continue
        if not fixture.exists():
            continue
        theirs, ours = run_both(fixture, args, env, tmp_path / str(i))
        compare(theirs, ours, env, args)
        ran += 1
    if not ran:
        pytest.skip("no dotenv/INI store or fixture in this build")


# ------------------------------------------------------------------ the documented divergences


@pytest.mark.interop
@requires_sops
def test_json_object_numbers_are_typed_as_313(env: dict[str, str], tmp_path: Path) -> None:
    """Same plaintext, but an int in an object value is ``type:int`` (3.13), not ``type:float`` (3.11)."""
    args = ["set", "FILE", '["obj"]', '{"i": 1, "f": 1.5, "big": 12345678901234567890}']
    theirs, ours = run_both(BASIC, args, env, tmp_path)
    assert ours.proc.returncode == theirs.proc.returncode == 0
    assert decrypted_by_sops(ours, env) == decrypted_by_sops(theirs, env)
    store = store_for(ours.file)
    mine = load_encrypted(ours.after, store)[0][0].get("obj")
    bins = load_encrypted(theirs.after, store)[0][0].get("obj")
    assert mine.get("i").endswith(",type:int]") and bins.get("i").endswith(",type:float]")
    assert mine.get("big").endswith(",type:float]") and bins.get("big").endswith(",type:float]")
    # --idempotent with the same object: nothing changes for 3.13 (int == int); 3.11 rewrites (float != int)
    args = ["set", "--idempotent", "FILE", '["obj"]', '{"i": 1, "f": 1.5, "big": 12345678901234567890}']
    again = run_py(args[:2] + [ours.file.name] + args[3:], env, ours.file.parent)
    assert again.returncode == 0
    assert ours.file.read_bytes() == ours.after


@pytest.mark.interop
@requires_sops
def test_top_level_sops_key_is_refused_as_in_313(env: dict[str, str], tmp_path: Path) -> None:
    theirs, ours = run_both(BASIC, ["set", "FILE", '["sops"]', "1"], env, tmp_path)
    assert theirs.proc.returncode == 0  # 3.11 has no validateFileForEncryption in set
    assert ours.proc.returncode == 203
    assert ours.proc.stderr.startswith(b"The file you have provided contains a top-level entry called 'sops'")
    assert ours.after == ours.before
