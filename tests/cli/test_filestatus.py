"""`filestatus`: ``{"encrypted":true|false}`` exactly as sops prints it, and the same errors.

sops reports false when the store finds no metadata, or when ``version`` or ``mac`` is empty; any
other load error is fatal (exit 1). No key is needed: nothing is decrypted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from sops_py.cli.cmd_filestatus import file_status
from sops_py.errors import SopsError
from sops_py.stores import format_for_path, get_store
from tests.helpers import TESTDATA
from tests.interop.sops_helpers import SOPS, run_sops

SOPS_DIR = TESTDATA / "sops"
requires_sops = pytest.mark.skipif(SOPS is None, reason="the sops binary is not on PATH")

_KEYS = "  age:\n    - recipient: age1x\n      enc: x\n"
_LASTMOD = '  lastmodified: "2020-01-01T00:00:00Z"\n'
# name -> content of files made for the test (metadata with and without the fields filestatus checks)
MADE: dict[str, bytes] = {
    "plain.yaml": b"a: 1\n",
    "plain.json": b'{"a": 1}',
    "empty.yaml": b"",
    "bad.yaml": b"a: [\n",
    "array.json": b"[1]",
    "empty.json": b"",
    "complete.yaml": f"a: 1\nsops:\n{_KEYS}  version: 3.7.0\n  mac: x\n{_LASTMOD}".encode(),
    "nomac.yaml": f'a: 1\nsops:\n{_KEYS}  version: 3.7.0\n  mac: ""\n{_LASTMOD}'.encode(),
    "noversion.yaml": f"a: 1\nsops:\n{_KEYS}  mac: x\n{_LASTMOD}".encode(),
    "emptyversion.yaml": f'a: 1\nsops:\n{_KEYS}  version: ""\n  mac: x\n{_LASTMOD}'.encode(),
    "nokeys.yaml": f"a: 1\nsops:\n  version: 3.7.0\n  mac: x\n{_LASTMOD}".encode(),
    "nolastmodified.yaml": f"a: 1\nsops:\n{_KEYS}  version: 3.7.0\n  mac: x\n".encode(),
    "scalar_sops.yaml": b"a: 1\nsops: 5\n",
    "text.bin": b"hello",
    "envelope.bin": b'{"data": "x"}',
    "complete.json": (b'{"a": "x", "sops": {"age": [{"recipient": "age1x", "enc": "x"}], '
                      b'"lastmodified": "2020-01-01T00:00:00Z", "mac": "m", "version": "3.7.0"}}'),
}
FIXTURES = sorted(SOPS_DIR.glob("*.enc.*")) + sorted(SOPS_DIR.glob("*.dec.*"))


def run_py(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
           cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], capture_output=True,
                          env=dict(env), cwd=cwd, timeout=60, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    e["HOME"] = str(tmp_path / "home")  # no key anywhere: filestatus must not need one
    e["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    return e


@pytest.mark.parametrize("name,expected", [
    ("plain.yaml", False), ("plain.json", False), ("empty.yaml", False), ("complete.yaml", True),
    ("nomac.yaml", False), ("noversion.yaml", False), ("emptyversion.yaml", False), ("envelope.bin", False),
    ("complete.json", True),
])
def test_file_status(name: str, expected: bool, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(MADE[name])
    assert file_status(get_store(format_for_path(name)), str(path)) is expected


@pytest.mark.parametrize("name", ["bad.yaml", "array.json", "nokeys.yaml", "nolastmodified.yaml",
                                  "scalar_sops.yaml", "text.bin", "missing.yaml"])
def test_file_status_errors(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    if name in MADE:
        path.write_bytes(MADE[name])
    with pytest.raises(SopsError) as e:
        file_status(get_store(format_for_path(name)), str(path))
    assert e.value.exit_code == 1
    assert str(e.value).startswith("cannot check file status: cannot load encrypted file: ")


def test_every_encrypted_fixture_is_encrypted() -> None:
    for path in sorted(SOPS_DIR.glob("*.enc.*")):
        fmt = format_for_path(str(path))
        try:
            store = get_store(fmt)
        except (ImportError, SopsError):
            continue  # a store this build does not have yet
        assert file_status(store, str(path)), path


def _compare(args: list[str], env: Mapping[str, str], cwd: Path) -> None:
    theirs = run_sops(args, env=env, cwd=cwd)
    ours = run_py(args, env, cwd)
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    assert ours.stdout == theirs.stdout
    assert bool(ours.stderr) == bool(theirs.stderr), (ours.stderr, theirs.stderr)
    if theirs.stdout:
        assert theirs.stdout in (b'{"encrypted":true}\n', b'{"encrypted":false}\n')


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("name", sorted(MADE))
def test_made_files_as_sops(name: str, env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(MADE[name])
    _compare(["filestatus", name], env, tmp_path)


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_fixtures_as_sops(fixture: Path, env: dict[str, str], tmp_path: Path) -> None:
    try:
        get_store(format_for_path(str(fixture)))
    except (ImportError, SopsError):
        pytest.skip("store not in this build")
    shutil.copyfile(fixture, tmp_path / fixture.name)
    _compare(["filestatus", fixture.name], env, tmp_path)


@pytest.mark.interop
@requires_sops
@pytest.mark.parametrize("args", [
    ["filestatus"],
    ["filestatus", "missing.yaml"],
    ["filestatus", "f.enc.yaml", "extra"],
    ["filestatus", "--input-type", "json", "f.enc.yaml"],
    ["filestatus", "f.enc.yaml", "--input-type", "json"],
    ["filestatus", "--input-type", "binary", "f.enc.yaml"],
    ["filestatus", "--input-type", "nonsense", "f.enc.yaml"],
    ["filestatus", "--input-type", "yaml", "f.enc.json"],
    ["filestatus", "--input-type", "json", "f.enc.json"],
])
def test_flags_and_arguments_as_sops(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    shutil.copyfile(SOPS_DIR / "basic.enc.yaml", tmp_path / "f.enc.yaml")
    shutil.copyfile(SOPS_DIR / "basic.enc.json", tmp_path / "f.enc.json")
    _compare(args, env, tmp_path)
