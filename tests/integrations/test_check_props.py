"""Property tests of ``sops-py check``: any file sops-py encrypts under any rule passes, and adding a
plaintext leaf that the rule encrypts makes it fail, naming that key and its line. Also: on a
plaintext tree, the leaves the check calls plaintext are exactly the leaves encryption changed."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sops_py import api
from sops_py.integrations.check import Checker, CheckOptions
from sops_py.integrations.check_lines import Key
from sops_py.integrations.check_tree import display_path, plaintext_leaves
from sops_py.stores import get_store
from sops_py.tree import Branch
from tests.helpers import AGE_RECIPIENT
from tests.integrations.check_fixtures import keys

# (rule, value, a key name the rule encrypts wherever it is added at the top level, formats)
RULES = [
    ("", "", "zz", ("yaml", "json", "dotenv")),  # no rule: sops' default unencrypted_suffix
    ("unencrypted_suffix", "_pub", "zz", ("yaml", "json", "dotenv")),
    ("encrypted_suffix", "_enc", "zz_enc", ("yaml", "json", "dotenv")),
    ("unencrypted_regex", "^pub", "zz", ("yaml", "json", "dotenv")),
    ("encrypted_regex", "^(data|secret)", "secret_zz", ("yaml", "json", "dotenv")),
    ("unencrypted_comment_regex", "clear", "zz", ("yaml", "dotenv")),
]
NAMES = st.sampled_from(["a", "b", "data", "secret_x", "pub_y", "x_enc", "y_pub", "x_unencrypted", "note"])
SCALARS = st.one_of(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
                    st.integers(-1000, 1000), st.booleans())


def trees(flat: bool) -> st.SearchStrategy[dict[str, Any]]:
    if flat:
        return st.dictionaries(NAMES, st.text("abc xyz-=", min_size=1, max_size=8), min_size=1,
                               max_size=6)
    values = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(NAMES, inner, max_size=3)), max_leaves=8)
    return st.dictionaries(NAMES, values, min_size=1, max_size=6)


def emit(fmt: str, tree: dict[str, Any]) -> bytes:
    if fmt == "dotenv":
        return "".join(f"{k}={v}\n" for k, v in tree.items()).encode()
    if fmt == "json":
        return json.dumps(tree).encode()
    import yaml

    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True).encode()


def encrypted_file(root: Path, fmt: str, rule: tuple[str, str], tree: dict[str, Any], mac_only: bool) -> Path:
    name, value = rule
    extra = f"      {name}: '{value}'\n" if name else ""
    extra += "      mac_only_encrypted: true\n" if mac_only else ""
    (root / ".sops.yaml").write_text(f"creation_rules:\n    - age: {AGE_RECIPIENT}\n{extra}")
    path = root / f"file.{'env' if fmt == 'dotenv' else fmt}"
    path.write_bytes(emit(fmt, tree))
    api.encrypt_file(path, in_place=True, keys=keys())
    return path


def judge(root: Path, path: Path) -> list[Any]:
    checker = Checker(CheckOptions(), cwd=str(root))
    checker.check(path.name)
    assert checker.report.checked == 1
    return checker.report.findings


def add_leak(fmt: str, path: Path, key: str) -> None:
    if fmt == "json":
        doc = json.loads(path.read_text())
        doc[key] = "leaked-value"
        path.write_text(json.dumps(doc, indent=4))
    elif fmt == "dotenv":
        path.write_text(path.read_text() + f"{key}=leaked-value\n")
    else:
        path.write_text(path.read_text() + f"{key}: leaked-value\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(RULES), mac_only=st.booleans())
def test_encrypted_files_pass_and_a_leak_fails(data: st.DataObject, which: tuple[str, str, str, tuple[str, ...]],
                                               mac_only: bool) -> None:
    name, value, leak, formats = which
    fmt = data.draw(st.sampled_from(formats))
    tree = data.draw(trees(flat=fmt == "dotenv"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = encrypted_file(root, fmt, (name, value), tree, mac_only)
        assert judge(root, path) == []
        add_leak(fmt, path, leak)
        key = leak
        starts = (f"{key}=", f"{key}:", f'"{key}":')
        line = next(i for i, ln in enumerate(path.read_text().split("\n"), 1) if ln.strip().startswith(starts))
        findings = judge(root, path)
        assert [(f.line, f.severity, f.key) for f in findings] == [(line, "error", key)]


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    out: dict[tuple[Any, ...], Any] = {}
    if isinstance(node, Branch):
        seen: dict[str, int] = {}
        for k, v in node:
            nth = seen.get(k, 0)
            seen[k] = nth + 1
            out.update(_leaves(v, (*path, Key(k, nth))))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.update(_leaves(v, (*path, i)))
    elif node is not None:
        out[path] = node
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(RULES), mac_only=st.booleans())
def test_plaintext_leaves_are_exactly_the_encrypted_ones(data: st.DataObject,
                                                         which: tuple[str, str, str, tuple[str, ...]],
                                                         mac_only: bool) -> None:
    name, value, _, formats = which
    fmt = data.draw(st.sampled_from(formats))
    tree = data.draw(trees(flat=fmt == "dotenv"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = encrypted_file(root, fmt, (name, value), tree, mac_only)
        store = get_store(fmt)
        enc, md = store.load_encrypted(path.read_bytes())
        plain = store.load_plain(emit(fmt, tree))
        changed = {display_path(p) for p, v in _leaves(enc[0]).items() if isinstance(v, str) and v.startswith("ENC[")}
        found = {display_path(leaf.path) for leaf in plaintext_leaves(plain, md)}
        assert found == changed
