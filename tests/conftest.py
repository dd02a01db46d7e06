from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import AGE_KEY_FILE


@pytest.fixture
def age_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment with only the test age key available (HOME isolated)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env
