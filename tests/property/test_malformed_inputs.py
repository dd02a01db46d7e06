"""Malformed input, every store: ``decrypt`` and ``encrypt`` never end in a Python traceback.

Random bytes, truncated or corrupted encrypted files (the fixtures sops 3.11 wrote), and broken metadata (a
missing mac, a bad lastmodified, a bad enc, wrongly shaped key groups, values of the wrong type, ...) go
through the CLI entry point. Every run must end with one of sops' exit codes and, on failure, a short
message on stderr. The hypothesis tests call ``sops_py.cli.main.main`` in-process (an exception other than
SystemExit fails the test with its traceback); a sample also goes through ``python -m sops_py`` and, when the
sops binary is there, is compared with it.

Known differences with bin (3.11) for broken metadata, where sops-py follows sops 3.13's weakly typed
mapstructure decoding: bin's JSON loader rejects a metadata value of the wrong JSON type (``"mac": 5``,
``"version": 3``) with exit 1 while 3.13 converts it and fails later (exit 51 for a MAC that is not an ENC
value, 128 for an ``enc`` that no key opens). Those cases only check that the exit code is one of sops'.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sops_py.cli.main import main
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA

# cmd/sops/codes/codes.go
SOPS_EXIT_CODES = {0, 1, 2, 3, 4, 5, 6, 7, 8, 21, 23, 24, 25, 49, 51, 52, 61, 85, 91, 92, 100, 111, 112, 128,
                   200, 201, 202, 203}
MAX_ERROR_LINES = 15  # a message, maybe a few warnings before it (not counting exit 128's key-group report)
EXTS = [".yaml", ".json", ".env", ".ini", ".bin"]
ENCRYPTED = {p.name: p.read_bytes() for p in sorted((TESTDATA / "sops").glob("*.enc.*"))}
COMMON = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ running the CLI in-process

@contextlib.contextmanager
def _cwd(path: str) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


_WORKDIR = tempfile.mkdtemp(prefix="sops-py-malformed-")


def cli_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE))
    return env


def run_main(args: Sequence[str]) -> tuple[int, bytes, str]:
    """(exit code, stdout, stderr) of ``sops-py ARGS`` run in-process in a scratch directory."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    code: Any = 0
    with mock.patch.dict(os.environ, cli_env(_WORKDIR), clear=True), _cwd(_WORKDIR), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as e:
            code = e.code
    out.flush()
    assert isinstance(out.buffer, io.BytesIO)
    return int(code or 0), out.buffer.getvalue(), err.getvalue()


def check_outcome(code: int, stderr: str) -> None:
    assert code in SOPS_EXIT_CODES, (code, stderr)
    assert "Traceback" not in stderr, stderr
    if code != 0:
        lines = stderr.strip().splitlines()
        assert lines, "a failure must say why"
        assert code == 128 or len(lines) <= MAX_ERROR_LINES, stderr


def write(name: str, data: bytes) -> str:
    path = os.path.join(_WORKDIR, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def decrypt_and_check(name: str, data: bytes, *flags: str) -> int:
    path = write(name, data)
    code, _, err = run_main(["decrypt", *flags, path])
    check_outcome(code, err)
    return code


def encrypt_and_check(name: str, data: bytes, *flags: str) -> int:
    path = write(name, data)
    code, _, err = run_main(["encrypt", *flags, "--age", AGE_RECIPIENT, path])
    check_outcome(code, err)
    return code


# ------------------------------------------------------------------ strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "2020-01-01T00:00:00Z", "garbage", "3.7.1", "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]",
                       AGE_RECIPIENT, "-----BEGIN AGE ENCRYPTED FILE-----\nx\n-----END AGE ENCRYPTED FILE-----\n"]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["recipient", "enc", "age", "fp", "arn",
                                                                          "x"]), c, max_size=3),
    max_leaves=6,
)
METADATA_KEYS = ["mac", "lastmodified", "version", "age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms",
                 "key_groups", "shamir_threshold", "unencrypted_suffix", "encrypted_suffix", "encrypted_regex",
                 "unencrypted_regex", "encrypted_comment_regex", "unencrypted_comment_regex", "mac_only_encrypted",
                 "unknown"]
KEY_GROUP_SHAPES = st.sampled_from([
    "x", [], ["x"], [[]], [{}], [{"age": "x"}], [{"age": [{}]}], [{"age": [{"recipient": AGE_RECIPIENT}]}],
    [{"age": [{"recipient": AGE_RECIPIENT, "enc": "garbage"}]}, {"pgp": [{"fp": "ABCD", "enc": "x"}]}],
    [{"unknown_type": [{"a": 1}]}], [{"merge": [{"age": []}]}], {"age": []}, [None], [{"age": None}],
])


@st.composite
def metadata_mutations(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A few (key, value) edits of the ``sops`` mapping; a value of ``...`` deletes the key."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(METADATA_KEYS))
        if key == "key_groups":
            value: Any = draw(KEY_GROUP_SHAPES)
        else:
            value = draw(st.just(...) | json_values)
        edits.append((key, value))
    return edits


def apply_edits(doc: dict[str, Any], edits: list[tuple[str, Any]]) -> dict[str, Any]:
    meta = doc["sops"]
    for key, value in edits:
        if key == "key_groups" and value is not ...:
            meta.pop("age", None)  # otherwise the flat list wins and key_groups is never read
        if value is ...:
            meta.pop(key, None)
        else:
            meta[key] = value
    return doc


# ------------------------------------------------------------------ hypothesis: random bytes

@COMMON
@given(data=st.binary(max_size=300), ext=st.sampled_from(EXTS))
def test_random_bytes(data: bytes, ext: str) -> None:
    decrypt_and_check("random" + ext, data)
    encrypt_and_check("random" + ext, data)


@COMMON
@given(text=st.text(alphabet=st.sampled_from(list("ab=:-[]{}#;\"' \n\t,.01!&*|>%@`sops_\\")), max_size=120),
       ext=st.sampled_from(EXTS))
def test_random_structured_text(text: str, ext: str) -> None:
    """Text made of each format's syntax characters reaches deeper into the parsers than random bytes."""
    data = text.encode()
    decrypt_and_check("text" + ext, data)
    decrypt_and_check("text" + ext, data, "--ignore-mac")
    encrypt_and_check("text" + ext, data)


# ------------------------------------------------------------------ hypothesis: damaged encrypted files

@COMMON
@given(name=st.sampled_from(sorted(ENCRYPTED)), cut=st.floats(0, 1))
def test_truncated_encrypted_files(name: str, cut: float) -> None:
    data = ENCRYPTED[name]
    truncated = data[: int(len(data) * cut)]
    ext = "." + name.rsplit(".", 1)[1]
    decrypt_and_check("trunc" + ext, truncated)
    decrypt_and_check("trunc" + ext, truncated, "--ignore-mac")


@COMMON
@given(name=st.sampled_from(sorted(ENCRYPTED)), edits=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=3)),
                                                                min_size=1, max_size=4))
def test_corrupted_encrypted_files(name: str, edits: list[tuple[float, bytes]]) -> None:
    data = bytearray(ENCRYPTED[name])
    for where, replacement in edits:
        i = int(len(data) * where)
        data[i:i + len(replacement) or i + 1] = replacement
    ext = "." + name.rsplit(".", 1)[1]
    decrypt_and_check("corrupt" + ext, bytes(data))
    decrypt_and_check("corrupt" + ext, bytes(data), "--ignore-mac")


@COMMON
@given(name=st.sampled_from(sorted(ENCRYPTED)), index=st.floats(0, 1), how=st.sampled_from(["drop", "dup", "blank"]))
def test_line_edits(name: str, index: float, how: str) -> None:
    lines = ENCRYPTED[name].split(b"\n")
    i = min(int(len(lines) * index), len(lines) - 1)
    if how == "drop":
        del lines[i]
    elif how == "dup":
        lines.insert(i, lines[i])
    else:
        lines[i] = lines[i].split(b"=")[0].split(b":")[0] + (b"=" if b"=" in lines[i] else b":")
    ext = "." + name.rsplit(".", 1)[1]
    decrypt_and_check("lines" + ext, b"\n".join(lines))


# ------------------------------------------------------------------ hypothesis: broken metadata

@COMMON
@given(edits=metadata_mutations(), seed=st.sampled_from(["basic.enc.json", "nested.enc.json", "shamir.enc.json"]),
       as_yaml=st.booleans())
def test_broken_metadata_nested_stores(edits: list[tuple[str, Any]], seed: str, as_yaml: bool) -> None:
    doc = apply_edits(json.loads(ENCRYPTED[seed]), edits)
    data = yaml.safe_dump(doc, sort_keys=False).encode() if as_yaml else json.dumps(doc).encode()
    ext = ".yaml" if as_yaml else ".json"
    decrypt_and_check("meta" + ext, data)
    decrypt_and_check("meta" + ext, data, "--ignore-mac")


@COMMON
@given(name=st.sampled_from(["flat_basic.enc.env", "flat_basic.enc.ini", "flat_shamir.enc.env",
                             "flat_shamir.enc.ini"]),
       index=st.floats(0, 1), how=st.sampled_from(["drop", "value", "key"]),
       value=st.sampled_from(["", "x", "garbage", "1", "true", "-1", "2020-01-01T00:00:00Z", "\\n"]))
def test_broken_metadata_flat_stores(name: str, index: float, how: str, value: str) -> None:
    lines = ENCRYPTED[name].decode().split("\n")
    ext = "." + name.rsplit(".", 1)[1]
    if ext == ".env":
        meta = [i for i, line in enumerate(lines) if line.startswith("sops_")]
    else:
        start = lines.index("[sops]")
        meta = [i for i in range(start + 1, len(lines)) if "=" in lines[i]]
    i = meta[min(int(len(meta) * index), len(meta) - 1)]
    key, _, _ = lines[i].partition("=")
    if how == "drop":
        del lines[i]
    elif how == "value":
        lines[i] = f"{key}={value}" if ext == ".env" else f"{key}= {value}"
    else:
        lines[i] = lines[i].replace("__list_0", "__list_" + (value or "9"), 1).replace("__map_", "__map_x", 1)
    decrypt_and_check("flat" + ext, "\n".join(lines).encode())


# ------------------------------------------------------------------ fixed cases, our CLI in a subprocess and bin

def _meta_case(edit: Any) -> bytes:
    doc = json.loads(ENCRYPTED["basic.enc.json"])
    edit(doc["sops"])
    return json.dumps(doc).encode()


def _set(**kw: Any) -> Any:
    return lambda m: m.update(kw)


def _drop(key: str) -> Any:
    return lambda m: m.pop(key)


def _yaml_of(data: bytes) -> bytes:
    return yaml.safe_dump(json.loads(data), sort_keys=False).encode()


# (id, file name, content, action); the same exit code as bin is expected
FIXED_CASES: list[tuple[str, str, bytes, str]] = [
    ("missing-mac", "f.json", _meta_case(_drop("mac")), "decrypt"),
    ("empty-mac", "f.json", _meta_case(_set(mac="")), "decrypt"),
    ("missing-mac-yaml", "f.yaml", _yaml_of(_meta_case(_drop("mac"))), "decrypt"),
    ("bad-lastmodified", "f.json", _meta_case(_set(lastmodified="garbage")), "decrypt"),
    ("missing-lastmodified", "f.json", _meta_case(_drop("lastmodified")), "decrypt"),
    ("bad-enc", "f.json", _meta_case(lambda m: m["age"][0].update(enc="garbage")), "decrypt"),
    ("missing-enc", "f.json", _meta_case(lambda m: m["age"][0].pop("enc")), "decrypt"),
    ("age-not-a-list", "f.json", _meta_case(_set(age="x")), "decrypt"),
    ("age-entries-not-maps", "f.json", _meta_case(_set(age=["x"])), "decrypt"),
    ("no-keys", "f.json", _meta_case(_set(age=[])), "decrypt"),
    ("key-groups-of-strings", "f.json", _meta_case(lambda m: (m.pop("age"), m.update(key_groups=["x"]))), "decrypt"),
    ("key-group-age-not-a-list", "f.json", _meta_case(lambda m: (m.pop("age"), m.update(key_groups=[{"age": "x"}]))),
     "decrypt"),
    ("key-group-unknown-type", "f.json",
     _meta_case(lambda m: (m.pop("age"), m.update(key_groups=[{"foo": [{"a": 1}]}]))), "decrypt"),
    ("key-groups-yaml", "f.yaml",
     _yaml_of(_meta_case(lambda m: m.update(key_groups=[{"age": m.pop("age")}]))), "decrypt"),
    ("missing-version", "f.json", _meta_case(_drop("version")), "decrypt"),
    ("bad-version", "f.json", _meta_case(_set(version="abc")), "decrypt"),
    ("shamir-threshold-string", "f.json", _meta_case(_set(shamir_threshold="x")), "decrypt"),
    ("two-rules", "f.json", _meta_case(_set(encrypted_regex="x")), "decrypt"),
    ("invalid-regex", "f.json",
     _meta_case(lambda m: (m.pop("unencrypted_suffix", None), m.update(encrypted_regex="("))), "decrypt"),
    ("sops-not-a-map", "f.json", b'{"a": "b", "sops": [1]}', "decrypt"),
    ("no-metadata", "f.json", b'{"a": "b"}', "decrypt"),
    ("truncated-yaml", "f.yaml", ENCRYPTED["basic.enc.yaml"][:300], "decrypt"),
    ("truncated-json", "f.json", ENCRYPTED["basic.enc.json"][:300], "decrypt"),
    ("truncated-env", "f.env", ENCRYPTED["flat_basic.enc.env"][:300], "decrypt"),
    ("truncated-ini", "f.ini", ENCRYPTED["flat_basic.enc.ini"][:300], "decrypt"),
    ("yaml-sequence", "f.yaml", b"- a\n", "decrypt"),
    ("yaml-sequence", "f.yaml", b"- a\n", "encrypt"),
    ("broken-yaml", "f.yaml", b"a: [\n", "encrypt"),
    ("json-array", "f.json", b"[1]", "encrypt"),
    ("dotenv-no-equals", "f.env", b"A\n", "encrypt"),
    ("ini-unclosed-section", "f.ini", b"[a\n", "encrypt"),
    ("empty-yaml", "f.yaml", b"", "encrypt"),
    ("uint64", "f.yaml", b"a: 18446744073709551615\n", "encrypt"),
    ("already-encrypted", "f.env", b"sops_x=1\n", "encrypt"),
    ("random-bytes-binary", "f.bin", bytes(range(256)), "decrypt"),
]


def _run_py_cli(args: Sequence[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *args], capture_output=True, env=env, cwd=cwd,
                          timeout=60, check=False)


def _args(action: str, name: str) -> list[str]:
    return ["encrypt", "--age", AGE_RECIPIENT, name] if action == "encrypt" else ["decrypt", name]


@pytest.mark.parametrize(("name", "content", "action"), [c[1:] for c in FIXED_CASES],
                         ids=[f"{c[0]}-{c[3]}" for c in FIXED_CASES])
def test_fixed_cases_through_python_m_sops_py(tmp_path: Path, name: str, content: bytes, action: str) -> None:
    (tmp_path / name).write_bytes(content)
    out = _run_py_cli(_args(action, name), tmp_path, cli_env(str(tmp_path / "home")))
    check_outcome(out.returncode, out.stderr.decode("utf-8", "replace"))


@pytest.mark.interop
@pytest.mark.parametrize(("name", "content", "action"), [c[1:] for c in FIXED_CASES],
                         ids=[f"{c[0]}-{c[3]}" for c in FIXED_CASES])
def test_fixed_cases_exit_like_sops(tmp_path: Path, name: str, content: bytes, action: str) -> None:
    from tests.interop.sops_helpers import run_sops

    (tmp_path / name).write_bytes(content)
    env = cli_env(str(tmp_path / "home"))
    theirs = run_sops(_args(action, name), env=env, cwd=tmp_path)
    ours = _run_py_cli(_args(action, name), tmp_path, env)
    assert ours.returncode == theirs.returncode, (theirs.stderr, ours.stderr)
    assert ours.stdout == theirs.stdout or action == "encrypt"


@pytest.mark.interop
@pytest.mark.parametrize("edit", [_set(mac=5), _set(version=3), _set(lastmodified=5),
                                  lambda m: m["age"][0].update(enc=3), _set(mac_only_encrypted="yes")],
                         ids=["mac-int", "version-int", "lastmodified-int", "enc-int", "mac-only-string"])
def test_wrongly_typed_json_metadata(tmp_path: Path, edit: Any) -> None:
    """bin's strict JSON typing vs 3.13's weak typing (see the module docstring): only sops' exit codes."""
    from tests.interop.sops_helpers import run_sops

    (tmp_path / "f.json").write_bytes(_meta_case(edit))
    env = cli_env(str(tmp_path / "home"))
    theirs = run_sops(["decrypt", "f.json"], env=env, cwd=tmp_path)
    ours = _run_py_cli(["decrypt", "f.json"], tmp_path, env)
    assert theirs.returncode == 1
    check_outcome(ours.returncode, ours.stderr.decode())


@pytest.mark.interop
def test_value_that_is_not_an_enc_string(tmp_path: Path) -> None:
    """bin panics on the type assertion (a Go stack trace, exit 2); 3.13, and sops-py, report
    ``Expected encrypted value as string, but got int`` with exit 25."""
    from tests.interop.sops_helpers import run_sops

    (tmp_path / "f.yaml").write_bytes(ENCRYPTED["basic.enc.yaml"].replace(b": ENC[", b": 1 #ENC[", 1))
    env = cli_env(str(tmp_path / "home"))
    theirs = run_sops(["decrypt", "f.yaml"], env=env, cwd=tmp_path)
    ours = _run_py_cli(["decrypt", "f.yaml"], tmp_path, env)
    assert theirs.returncode == 2 and b"panic" in theirs.stderr
    assert ours.returncode == 25
    assert ours.stderr.decode().splitlines()[-1] == (
        "Error decrypting tree: Error walking tree: Expected encrypted value as string, but got int")
