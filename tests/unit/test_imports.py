"""`import sops_py` and the CLI start-up must not import cloud SDKs, grpc or gnupg."""

from __future__ import annotations

import subprocess
import sys

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
