"""Log lines in sops' format: ``[NAME]\\t`` + logrus' TextFormatter (sops_py/log.py).

The layout is logrus v1.9.4's (``text_formatter.go``: ``time=… level=… msg=…`` then the fields
sorted, values bare or Go-quoted; on a terminal ``WARN[0000] msg`` padded to 44 with coloured
level and field names), the bold ``[NAME]`` is fatih/color's when stdout is a terminal; the
interop tests below compare whole lines with the reference sops, on pipes and on a terminal.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sops_py import log
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, ROOT, TESTDATA
from tests.interop.sops_helpers import requires_sops

NOW = 1767323045.0  # 2026-01-02T03:04:05Z


@pytest.fixture
def utc() -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_plain_layout(utc: None) -> None:
    line = log.format_line(30, "Using an encrypted regex does not make sense", now=NOW)
    assert line == '[CMD]\t time="2026-01-02T03:04:05Z" level=warning msg="Using an encrypted regex does not make sense"'


def test_bare_and_quoted_values(utc: None) -> None:
    # logrus quotes a value unless every character is a letter, digit or one of - . _ / @ ^ +
    line = log.format_line(20, "Done", "KEYSERVICE", {"z": "a/b@c^d+e-f.g_h", "a": 'x "y"\n'}, now=NOW)
    assert line == '[KEYSERVICE]\t time="2026-01-02T03:04:05Z" level=info msg=Done a="x \\"y\\"\\n" z=a/b@c^d+e-f.g_h'


def test_empty_message_is_left_out(utc: None) -> None:
    assert log.format_line(40, "", fields={"k": ""}, now=NOW) == '[CMD]\t time="2026-01-02T03:04:05Z" level=error k='


def test_levels(utc: None) -> None:
    names = [re.search(r"level=(\w+)", log.format_line(n, "m", now=NOW)).group(1) for n in (10, 20, 30, 40, 50)]  # type: ignore[union-attr]
    assert names == ["debug", "info", "warning", "error", "fatal"]


def test_local_time_offset() -> None:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "XXX-05:30"
    time.tzset()
    try:
        assert 'time="2026-01-02T08:34:05+05:30"' in log.format_line(30, "m", now=NOW)
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_terminal_layout() -> None:
    line = log.format_line(30, "short", "SOPS", {"comment": "a b"}, now=log._START + 3.7, colour=True, bold=True)
    assert line == ("\x1b[1m[SOPS]\x1b[22m\t \x1b[33mWARN\x1b[0m[0003] " + "short".ljust(45)
                    + ' \x1b[33mcomment\x1b[0m="a b"')
    # a message ending in a newline loses it on a terminal only
    assert log.format_line(20, "m\n", now=log._START, colour=True) == "[CMD]\t \x1b[36mINFO\x1b[0m[0000] " + "m".ljust(45)


# ------------------------------------------------------------------ against the reference sops

def _unencrypted_comment_file(tmp: Path) -> Path:
    """A sops file with a hand-added clear comment, which makes sops log a warning on decrypt."""
    text = (TESTDATA / "sops" / "basic.enc.yaml").read_text()
    f = tmp / "c.enc.yaml"
    f.write_text("# added by hand\n" + text)
    return f


def _commands(tmp: Path) -> list[list[str]]:
    (tmp / "b.bin").write_text("x")
    return [
        ["encrypt", "--age", AGE_RECIPIENT, "--input-type", "binary", "--encrypted-regex", "x", str(tmp / "b.bin")],
        ["decrypt", str(_unencrypted_comment_file(tmp))],
        ["exec-env", "--user", "no-such-user-xyz", str(TESTDATA / "sops" / "basic.enc.yaml"), "true"],
    ]


def _env(tmp: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    e.update(HOME=str(tmp), SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE), TZ="UTC", PYTHONPATH=str(ROOT))
    e.pop("NO_COLOR", None)
    e["TERM"] = "xterm"
    return e


def _sops_py() -> list[str]:
    return [sys.executable, "-m", "sops_py"]


def _no_time(text: str) -> str:
    return re.sub(r'time="[^"]*"', 'time="T"', text)


@requires_sops
def test_same_lines_as_sops_on_pipes(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for args in _commands(tmp_path):
        go = subprocess.run([shutil.which("sops") or "sops", *args], capture_output=True, env=env, timeout=60)
        py = subprocess.run([*_sops_py(), *args], capture_output=True, env=env, timeout=60)
        assert go.returncode == py.returncode, args
        assert _no_time(py.stderr.decode()) == _no_time(go.stderr.decode()), args
        assert 'time="' in go.stderr.decode()


def _on_terminal(cmd: list[str], env: dict[str, str]) -> bytes:
    """Run with stdout and stderr on one pseudo-terminal; return everything written to it."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return out


@requires_sops
def test_same_lines_as_sops_on_a_terminal(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for args in _commands(tmp_path)[:2]:
        go = _on_terminal([shutil.which("sops") or "sops", *args], env)
        py = _on_terminal([*_sops_py(), *args], env)
        go_lines = [ln for ln in go.decode().splitlines() if "\x1b[" in ln]
        py_lines = [ln for ln in py.decode().splitlines() if "\x1b[" in ln]
        assert go_lines and py_lines == go_lines, args


def test_lines_go_to_stderr_as_it_is_when_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """A library caller (or a test) may swap and close the stderr that was current when logging was
    configured: lines follow sys.stderr instead of failing on the closed stream."""
    import io

    from sops_py import log

    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    log.configure(False)
    log.warning("one")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    log.warning("two")
    assert 'msg=two' in second.getvalue() and "one" not in second.getvalue()
