"""Known answers for the flattened metadata of the dotenv and INI stores (sops 3.13 ``stores/flatten.go``
and ``stores/metadata.go``) and for the Go value formatting the flat stores share.

The layouts were checked against files written by the sops binary (3.11, "bin"): the keys are the
same, bin only orders them differently (it sorts the full flattened strings; INI ``[sops]`` order is
random), see ``testdata/sops/flat_*.enc.*``.
"""

from __future__ import annotations

import pytest

from sops_py.errors import SopsError
from sops_py.metadata import KeyEntry, Metadata
from sops_py.stores.flatten import (
    SOPS_PREFIX,
    escape_newlines,
    flatten_branch,
    flatten_metadata,
    go_quote,
    go_sprint,
    go_sprint_s,
    tokenize,
    unescape_newlines,
    unflatten_branch,
    unflatten_metadata,
    val_to_string,
)
from sops_py.tree import Branch, Comment, Time

INT_MAX = (1 << 63) - 1
T0 = "2024-01-01T00:00:00Z"


def full_metadata() -> Metadata:
    return Metadata(
        key_groups=[
            [
                KeyEntry("kms", {"arn": "arn:aws:kms:us-east-1:1:key/x", "role": "", "context": {"b": "2", "a": "1"},
                                 "created_at": T0, "enc": "E1", "aws_profile": ""}),
                KeyEntry("pgp", {"created_at": T0, "enc": "-----BEGIN PGP MESSAGE-----\nx\n-----END PGP MESSAGE-----",
                                 "fp": "ABC"}),
            ],
            [KeyEntry("age", {"recipient": "age1x", "enc": "A\nB\n"})],
        ],
        shamir_threshold=2, lastmodified=T0, mac="M", encrypted_regex="^a", mac_only_encrypted=True,
        version="3.13.2",
    )


FULL_FLAT = [
    ("sops_encrypted_regex", "^a"),
    ("sops_key_groups__list_0__map_kms__list_0__map_arn", "arn:aws:kms:us-east-1:1:key/x"),
    ("sops_key_groups__list_0__map_kms__list_0__map_aws_profile", ""),
    ("sops_key_groups__list_0__map_kms__list_0__map_context__map_a", "1"),
    ("sops_key_groups__list_0__map_kms__list_0__map_context__map_b", "2"),
    ("sops_key_groups__list_0__map_kms__list_0__map_created_at", T0),
    ("sops_key_groups__list_0__map_kms__list_0__map_enc", "E1"),
    ("sops_key_groups__list_0__map_pgp__list_0__map_created_at", T0),
    ("sops_key_groups__list_0__map_pgp__list_0__map_enc", "-----BEGIN PGP MESSAGE-----\nx\n-----END PGP MESSAGE-----"),
    ("sops_key_groups__list_0__map_pgp__list_0__map_fp", "ABC"),
    ("sops_key_groups__list_1__map_age__list_0__map_enc", "A\nB\n"),
    ("sops_key_groups__list_1__map_age__list_0__map_recipient", "age1x"),
    ("sops_lastmodified", T0),
    ("sops_mac", "M"),
    ("sops_mac_only_encrypted", True),
    ("sops_shamir_threshold", 2),
    ("sops_version", "3.13.2"),
]


def test_flatten_full_metadata_313_layout() -> None:
    """3.13: sorted at every level; empty lists (the group's hc_vault/age) give no keys."""
    assert flatten_metadata(full_metadata(), SOPS_PREFIX) == FULL_FLAT


def test_flatten_escapes_newlines_for_ini() -> None:
    flat = dict(flatten_metadata(full_metadata(), "", escape=True))
    assert flat["key_groups__list_1__map_age__list_0__map_enc"] == "A\\nB\\n"
    assert flat["shamir_threshold"] == 2 and flat["mac_only_encrypted"] is True  # non-strings untouched


def test_metadata_round_trip() -> None:
    md = full_metadata()
    items = [(k[len(SOPS_PREFIX):], v) for k, v in flatten_metadata(md, SOPS_PREFIX)]
    assert unflatten_metadata(items) == md
    assert unflatten_metadata(flatten_metadata(md, "", escape=True), unescape=True) == md


def test_metadata_from_strings_as_the_flat_stores_read_them() -> None:
    """Flat stores give every value back as a string: "2" and "true" are accepted (3.13 weak typing)."""
    md = full_metadata()
    items = [(k[len(SOPS_PREFIX):], v if isinstance(v, str) else str(v).lower()) for k, v in FULL_FLAT]
    assert unflatten_metadata(items) == md
    items = [(k, "2.0" if k == "shamir_threshold" else v) for k, v in items]  # as bin once wrote floats
    assert unflatten_metadata(items).shamir_threshold == 2


def test_many_list_items_keep_numeric_order() -> None:
    group = [KeyEntry("age", {"recipient": f"age1r{i:02d}", "enc": f"E{i}"}) for i in range(12)]
    md = Metadata(key_groups=[group], lastmodified=T0, mac="M", unencrypted_suffix="_unencrypted",
                  version="3.13.2")
    keys = [k for k, _ in flatten_metadata(md)]
    assert keys[:6] == ["age__list_0__map_enc", "age__list_0__map_recipient", "age__list_1__map_enc",
                        "age__list_1__map_recipient", "age__list_2__map_enc", "age__list_2__map_recipient"]
    assert keys.index("age__list_2__map_enc") < keys.index("age__list_10__map_enc")
    # 3.11 (bin) sorted the full strings: __list_10 before __list_2; reading does not care
    bin_order = sorted(flatten_metadata(md))
    assert [k for k, _ in bin_order][2] == "age__list_10__map_enc"
    assert unflatten_metadata(bin_order) == md
    assert unflatten_metadata(list(reversed(bin_order))) == md


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("a", ["a"]),
        ("", [""]),
        ("a__map_b", ["a", "b"]),
        ("age__list_0__map_enc", ["age", 0, "enc"]),
        ("key_groups__list_12__map_age__list_3__map_recipient", ["key_groups", 12, "age", 3, "recipient"]),
        ("__map_x", ["", "x"]),
        ("a__map_", ["a", ""]),
        ("a__list_", ["a", 0]),
        ("a__list_x", ["a", 0]),  # Atoi error ignored
        ("a__list_-1", ["a", -1]),
        ("a__list_+3", ["a", 3]),
        ("a__list_007", ["a", 7]),
        ("a__list_1_000", ["a", 0]),
        ("a__list_99999999999999999999", ["a", INT_MAX]),  # Atoi clamps on overflow
        ("a___map_b", ["a_", "b"]),
        ("a__map___list_1", ["a", "", 1]),
        ("a_map_b__lis_0", ["a_map_b__lis_0"]),
    ],
)
def test_tokenize(path: str, tokens: list[str | int]) -> None:
    assert tokenize(path) == tokens


def test_unflatten_sorts_and_builds_lists() -> None:
    items = [("z", "1"), ("a__list_1", "y"), ("a__list_0__map_k", "x"), ("m__map_b", "2"), ("m__map_a", None),
             (Comment("ignored"), None)]
    assert unflatten_branch(items) == Branch([
        ("a", [Branch([("k", "x")]), "y"]),
        ("m", Branch([("a", None), ("b", "2")])),
        ("z", "1"),
    ])
    assert unflatten_branch([]) == Branch()


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([("a", "1"), ("a", "2")], 'Error while unflattening "a": Duplicate value'),
        ([("a__list_x", "1"), ("a__list_0", "2")], 'Error while unflattening "a__list_0": Duplicate value'),
        ([("a", "1"), ("a__map_b", "2")], "Error while unflattening: Type mismatch"),
        ([("a__map_b", "1"), ("a__list_0", "2")], "Error while unflattening: Type mismatch"),
        ([("a__list_1", "1")], "Error while unflattening: Incomplete list"),
        ([("a__list_0", "1"), ("a__list_2", "1")], "Error while unflattening: Incomplete list"),
        ([("a__list_-1", "1"), ("a__list_0", "1")], "Error while unflattening: Incomplete list"),
        ([("a__list_99999999999999999999", "1")], "Error while unflattening: Incomplete list"),
        ([("a\n", "1"), ("a\n", "1")], 'Error while unflattening "a\\n": Duplicate value'),
        ([(1, "x")], "Found non-string key 1 when unflattening"),
    ],
)
def test_unflatten_errors(items: list[tuple[object, object]], message: str) -> None:
    with pytest.raises(SopsError) as ei:
        unflatten_branch(items)
    assert str(ei.value) == message


def test_unflatten_checks_nodes_in_sorted_order() -> None:
    # both subtrees are broken; Go's recursion meets "a" (Type mismatch) before "b" (Incomplete list)
    items = [("b__list_1", "x"), ("a", "1"), ("a__map_c", "2")]
    with pytest.raises(SopsError, match="Type mismatch"):
        unflatten_branch(items)


def test_unflatten_handles_very_long_keys() -> None:
    key = "__map_".join(["k"] * 5000)
    tree = unflatten_branch([(key, "v")])
    depth = 0
    node: object = tree
    while isinstance(node, Branch):
        node = node[0][1]
        depth += 1
    assert depth == 5000 and node == "v"
    # as metadata the unknown key is ignored like mapstructure does; a deep known key is an error
    with pytest.raises(SopsError):
        unflatten_metadata([("age__" + key, "v"), ("lastmodified", T0)])


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([("lastmodified", T0), ("mac", "M"), ("version", "3")], "No keys found in file"),
        ([("age__list_0__map_recipient", "r"), ("lastmodified", "garbage")],
         'parsing time "garbage" as "2006-01-02T15:04:05Z07:00": cannot parse "garbage" as "2006"'),
        ([("age", "x"), ("lastmodified", T0)], "invalid 'age' list in sops metadata"),
        ([("age__list_0", "x"), ("lastmodified", T0)], "invalid age key entry in sops metadata"),
        ([("age__list_0__map_enc", "x"), ("lastmodified", T0), ("shamir_threshold", "two")],
         "cannot parse 'shamir_threshold' as int: 'two'"),
    ],
)
def test_broken_metadata(items: list[tuple[object, object]], message: str) -> None:
    with pytest.raises(SopsError) as ei:
        unflatten_metadata(items)
    assert str(ei.value) == message


def test_flatten_branch_collisions_and_comments() -> None:
    tree = Branch([(Comment("c"), None), ("a", [Comment("x"), "0", Comment("y"), "1"]), ("b", Branch()), ("c", [])])
    assert flatten_branch(tree, "p_") == [("p_a__list_0", "0"), ("p_a__list_1", "1")]
    with pytest.raises(SopsError, match='Found key collision "a__map_b" while flattening'):
        flatten_branch(Branch([("a", Branch([("b", "1")])), ("a__map_b", "2")]))
    with pytest.raises(SopsError, match="non-string key"):
        flatten_branch(Branch([(1, "x")]))


def test_newline_escaping() -> None:
    assert escape_newlines([("a", "x\ny\n"), ("b", 2)]) == [("a", "x\\ny\\n"), ("b", 2)]
    assert unescape_newlines([("a", "x\\ny\\\\n"), ("b", True)]) == [("a", "x\ny\\\n"), ("b", True)]


# ------------------------------------------------------------------------------------------------
# Go formatting (ValToString, %v, %s, %q), outputs observed with bin through dotenv and INI files


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"), (10.0, "10.0"), (123456.0, "123456.0"), (1234567.0, "1.234567E+06"), (1e20, "1E+20"),
        (1e21, "1E+21"), (1e-7, "1E-07"), (1e-5, "1E-05"), (0.0001, "0.0001"), (1.5, "1.5"), (0.1, "0.1"),
        (-0.0, "-0.0"), (123456789.0, "1.23456789E+08"), (float("nan"), "NaN"), (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"), (True, "true"), (False, "false"), (None, "<nil>"), (42, "42"), (-5, "-5"),
        ("text", "text"), (Time("2001-12-14T21:59:43.1-05:00"), "2001-12-14T21:59:43-05:00"),
        (Time("2024-01-02T03:04:05.123Z"), "2024-01-02T03:04:05Z"),
        (Branch([("a", 1), ("b", ["x", "y"])]), "[{a 1} {b [x y]}]"),
        ([1, "x", Branch([("k", "v")])], "[1 x [{k v}]]"),
        ([[1, 2], Branch()], "[[1 2] []]"),
        ([1e21, -0.0, 10.0, None, ""], "[1e+21 -0 10 <nil> ]"),
        ([Time("2001-12-14T21:59:43.1-05:00"), Time("2024-01-02T03:04:05Z")],
         "[2001-12-14 21:59:43.1 -0500 -0500 2024-01-02 03:04:05 +0000 UTC]"),
    ],
)
def test_val_to_string(value: object, text: str) -> None:
    assert val_to_string(value) == text


def test_go_sprint_and_keys() -> None:
    assert go_sprint(Comment("c")) == "{c}"
    assert go_sprint_s("k") == "k"
    assert go_sprint_s(1) == "%!s(int=1)"
    assert go_sprint_s(True) == "%!s(bool=true)"
    assert go_sprint_s(1.5) == "%!s(float64=1.5)"
    assert go_sprint_s(None) == "%!s(<nil>)"
    assert go_sprint_s(Comment("x")) == "{x}"


def test_go_quote() -> None:
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("\n\t\r\x00\x7f") == '"\\n\\t\\r\\x00\\x7f"'
    assert go_quote("é😀") == '"é😀"'
    assert go_quote("\u200b") == '"\\u200b"'
    assert go_quote(b"\xff".decode("utf-8", "surrogateescape")) == '"\\xff"'
