"""The package is typed (py.typed) and a user's module type-checks under mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

HERE = Path(__file__).resolve().parent


def test_py_typed_is_shipped() -> None:
    assert (ROOT / "sops_py" / "py.typed").is_file()


def test_user_module_is_mypy_strict_clean(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path),
                          "--python-version", "3.10", str(HERE / "user_module.py")],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_sees_precise_types(tmp_path: Path) -> None:
    """A wrong call is an error for the user's mypy (the package is not seen as Any)."""
    bad = tmp_path / "bad_user.py"
    bad.write_text("import sops_py\n"
                   "sops_py.decrypt(b'', format='yml')\n"
                   "x: int = sops_py.decrypt_file('a.yaml')\n")
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
                          str(tmp_path / "cache"), str(bad)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 1
    assert 'Argument "format" to "decrypt" has incompatible type' in out.stdout
    assert 'Incompatible types in assignment (expression has type "bytes", variable has type "int")' in out.stdout
