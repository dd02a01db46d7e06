"""docs/cli.md is generated from the click definitions (``python -m sops_py.cli.docgen > docs/cli.md``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sops_py.cli.docgen import generate
from sops_py.cli.options import EXTENSIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_committed_reference_is_generated() -> None:
    assert DOC.read_text() == generate(), "docs/cli.md is stale: run `python -m sops_py.cli.docgen > docs/cli.md`"


def test_docgen_module_prints_it() -> None:
    out = subprocess.run([sys.executable, "-m", "sops_py.cli.docgen"], capture_output=True, text=True, check=True)
    assert out.stdout == generate()


def test_reference_covers_every_command_and_extension() -> None:
    text = generate()
    for heading in ("### sops-py publish", "### sops-py groups add", "### sops-py completion zsh",
                    "## sops-py extensions", "## Differences from sops"):
        assert heading in text
    for path, flags in EXTENSIONS.items():
        for name in flags:
            assert f"| `{' '.join(path)}` | `--{name}` |" in text
