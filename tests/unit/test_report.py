"""The one error boundary: sops' message always, the hint only on a terminal, sops' exit codes."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from sops_py.errors import EXIT_INTERRUPTED, GoPanic, InvalidSetFormat, SopsError, report
from sops_py.ops.set_unset import parse_json_value, parse_set_path
from tests.helpers import ROOT


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hint_only_on_a_terminal() -> None:
    e = SopsError("boom", 7, hint="do this")
    plain, tty = io.StringIO(), Tty()
    assert report(e, plain) == 7 and plain.getvalue() == "boom\n"
    assert report(e, tty) == 7 and tty.getvalue() == "boom\nhint: do this\n"


def test_codes_of_the_boundary() -> None:
    assert report(KeyboardInterrupt(), io.StringIO()) == EXIT_INTERRUPTED
    assert report(BrokenPipeError(), io.StringIO()) == 0
    assert report(GoPanic("x"), io.StringIO()) == 2
    with pytest.raises(ZeroDivisionError):  # a bug is not a user error: it propagates
        report(ZeroDivisionError(), io.StringIO())


@pytest.mark.parametrize(("call", "hint"), [
    (lambda: parse_json_value(b"secret"), "quote strings"),
    (lambda: parse_set_path('["a"', "invalid path"), '["db"]["users"][0]'),
])
def test_messages_that_say_what_to_do(call: object, hint: str) -> None:
    with pytest.raises(InvalidSetFormat) as e:
        call()  # type: ignore[operator]
    assert hint in e.value.hint


def test_cli_prints_the_hint_on_a_terminal_only(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - path_regex: only\\.yaml$\n    age: age1x\n")
    (tmp_path / "other.yaml").write_text("a: 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["PYTHONPATH"] = str(ROOT)
    args = [sys.executable, "-m", "sops_py", "encrypt", "other.yaml"]
    piped = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert piped.returncode == 1
    assert piped.stderr == "error loading config: no matching creation rules found\n"
    leader, follower = pty.openpty()
    with subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=follower) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 1
    os.close(leader)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert text.startswith("error loading config: no matching creation rules found\nhint: no path_regex in ")


def test_exit_codes_live_only_in_errors_py() -> None:
    import re

    pattern = re.compile(r"exit_code\s*=\s*\d|exit_code=\d|Error\([^()]*,\s*\d+\)|os\._exit\(\d|sys\.exit\(\d")
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
             for p in (ROOT / "sops_py").rglob("*.py") if p.name != "errors.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []
