"""The shape of sops_py.keys.age: one concern per module, none over ~500 lines, the public names of the
former single module still importable, and each key form's module loaded only when a key needs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sops_py.keys import age
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT, TESTDATA

PACKAGE = ROOT / "sops_py" / "keys" / "age"


def test_no_module_over_500_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert len(sizes) >= 12
    assert max(sizes.values()) <= 500, sizes


def test_every_exported_name_resolves() -> None:
    assert sorted(age.__all__) == sorted(age._MODULE_OF)
    for name in age.__all__:
        assert getattr(age, name) is not None
    assert callable(age.armor) and callable(age.unwrap) and callable(age.wrap)
    assert set(age.__all__) <= set(dir(age))
    try:
        age.no_such_name  # noqa: B018
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("a missing name must raise AttributeError")


PROBE = """
import sys
from sops_py.keys import age
{stmt}
mods = sorted(m for m in sys.modules if m.startswith("sops_py.keys.age.") or m in ("pyrage", "subprocess"))
print("LOADED=" + ",".join(mods))
"""


def _loaded(stmt: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(PYTHONPATH=str(ROOT), HOME="/nonexistent")
    out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt)], capture_output=True, text=True, check=True,
                         env=env, cwd=ROOT)
    return {m for m in out.stdout.strip().splitlines()[-1].removeprefix("LOADED=").split(",") if m}


def test_importing_the_package_loads_no_module() -> None:
    assert _loaded("") == set()


def test_x25519_decrypt_and_encrypt_load_only_their_modules() -> None:
    enc = age.wrap(AGE_RECIPIENT, bytes(32))
    stmt = (f"ids = age.load_identities({{'SOPS_AGE_KEY_FILE': {str(AGE_KEY_FILE)!r}, 'HOME': '/nonexistent'}})\n"
            f"assert age.unwrap({enc!r}, ids) == bytes(32)\n"
            f"age.wrap({AGE_RECIPIENT!r}, bytes(32))")
    loaded = _loaded(stmt)
    lazy = {"sops_py.keys.age." + m for m in ("ssh", "sshkeys", "passphrase", "terminal", "pq", "plugin")}
    assert not loaded & lazy, loaded
    assert "pyrage" not in loaded and "subprocess" not in loaded
    assert {"sops_py.keys.age.decrypt", "sops_py.keys.age.discovery", "sops_py.keys.age.x25519"} <= loaded


def test_testdata_key_still_opens_sops_files() -> None:
    """A file written by the real sops with the test key (behaviour unchanged by the split)."""
    import yaml

    doc = yaml.safe_load(Path(TESTDATA / "sops" / "basic.enc.yaml").read_text())
    key = doc["sops"]["age"][0]
    ids = age.load_identities({"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "HOME": "/nonexistent"})
    assert len(age.unwrap(key["enc"], ids, key["recipient"])) == 32
