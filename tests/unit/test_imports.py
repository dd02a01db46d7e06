"""`import sops_py` and the CLI start-up must not import cloud SDKs, grpc or gnupg."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT, TESTDATA

HEAVY = ("boto3", "botocore", "google", "azure", "grpc", "gnupg", "hvac")

PROBE = """
import sys
{stmt}
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print('HEAVY=' + ','.join(heavy))
"""


def _loaded(stmt: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt, heavy=HEAVY)], capture_output=True,
                         text=True, check=True)
    return out.stdout.strip().splitlines()[-1].removeprefix('HEAVY=')


def test_import_sops_py_is_light() -> None:
    assert _loaded("import sops_py") == ""


def test_cli_startup_is_light() -> None:
    stmt = ("import sys; sys.argv = ['sops-py', '--help']\n"
            "from sops_py.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    assert _loaded(stmt) == ""


def test_decrypt_path_is_light(tmp_path: object) -> None:
    stmt = ("from sops_py.stores import get_store; get_store('yaml'); get_store('json')\n"
            "import sops_py.ops.crypt, sops_py.datakey")
    assert _loaded(stmt) == ""


# What the encrypt/decrypt fast path must not load (each costs milliseconds at start-up).
FAST_PATH_FORBIDDEN = ("typing", "dataclasses", "logging", "click", "yaml", "hashlib", "subprocess", "tempfile",
                       "inspect", "importlib", "pyrage", "datetime", "calendar", "base64", "json", "re",
                       "collections.abc")
FAST_PROBE = """
import os, sys
before = set(sys.modules)  # what the interpreter's own start-up (site, .pth hooks) loaded is not ours
from sops_py.cli import fast
with open(os.devnull, "w") as out:
    sys.stdout = out
    code = fast.run({argv!r})
sys.stdout = sys.__stdout__
assert code == 0, code
print('LOADED=' + ','.join(sorted(m for m in {forbidden!r} if m in sys.modules and m not in before)))
"""


def _fast_path_loads(argv: list[str], forbidden: tuple[str, ...], tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(HOME=str(tmp_path), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE))
    # -S: no site hooks (.pth files may import typing, re, ...), with this checkout and the dependencies on the path
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *site.getsitepackages()])
    code = FAST_PROBE.format(argv=argv, forbidden=forbidden)
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=tmp_path)
    return out.stdout.strip().splitlines()[-1].removeprefix("LOADED=")


# values with line breaks or non-ASCII text are analysed with regexes (basic.*.yaml has both)
YAML_FORBIDDEN = tuple(m for m in FAST_PATH_FORBIDDEN if m != "re")


# (a key that fails to open a stanza or value raises cryptography's InvalidTag, whose module imports typing:
# files with recipients this key is not for pay for that)
@pytest.mark.parametrize("name", ["flat_basic.enc.env", "basic.enc.yaml", "comments.enc.yaml"])
def test_fast_decrypt_loads_nothing_heavy(name: str, tmp_path: Path) -> None:
    assert _fast_path_loads(["decrypt", str(TESTDATA / "sops" / name)], YAML_FORBIDDEN, tmp_path) == ""


def test_fast_path_on_ascii_yaml_loads_no_regex(tmp_path: Path) -> None:
    """Plain ASCII YAML with comments (the common case) is scanned, encrypted, decrypted and emitted
    without the re module."""
    plain = tmp_path / "app.yaml"
    plain.write_text("# app\napp:\n    # the key\n    key: some value-1\n    port: 5432\n    items:\n"
                     "        - a: 1.5\n          b: true\n    script: |\n        echo hi\n# db\ndb: x\n")
    enc = tmp_path / "app.enc.yaml"
    argv = ["encrypt", "--age", AGE_RECIPIENT, "--output", str(enc), str(plain)]
    assert _fast_path_loads(argv, FAST_PATH_FORBIDDEN, tmp_path) == ""
    assert _fast_path_loads(["decrypt", str(enc)], FAST_PATH_FORBIDDEN, tmp_path) == ""


def test_fast_decrypt_of_dotenv_loads_no_regex(tmp_path: Path) -> None:
    argv = ["decrypt", str(TESTDATA / "sops" / "flat_basic.enc.env")]  # no regex crypt rule
    assert _fast_path_loads(argv, FAST_PATH_FORBIDDEN, tmp_path) == ""


@pytest.mark.parametrize("name", ["flat_basic.dec.env", "basic.dec.yaml"])
def test_fast_encrypt_loads_nothing_heavy(name: str, tmp_path: Path) -> None:
    argv = ["encrypt", "--age", AGE_RECIPIENT, str(TESTDATA / "sops" / name)]
    assert _fast_path_loads(argv, YAML_FORBIDDEN, tmp_path) == ""


def test_fast_decrypt_of_json_loads_only_json(tmp_path: Path) -> None:
    forbidden = tuple(m for m in FAST_PATH_FORBIDDEN if m not in ("json", "re"))  # the JSON store needs both
    assert _fast_path_loads(["decrypt", str(TESTDATA / "sops" / "basic.enc.json")], forbidden, tmp_path) == ""


def test_fast_batch_decrypt_loads_nothing_heavy(tmp_path: Path) -> None:
    files = [str(TESTDATA / "sops" / name) for name in ("basic.enc.yaml", "flat_basic.enc.env")]
    argv = ["decrypt", "--output-dir", str(tmp_path / "out"), *files]
    assert _fast_path_loads(argv, YAML_FORBIDDEN, tmp_path) == ""
