"""age plugins (``age1<name>1…`` recipients, ``AGE-PLUGIN-<NAME>-1…`` identities) through the plugin
protocol, with tests/age_plugin_sopstest.py as ``age-plugin-sopstest`` on PATH. The real sops runs the
same plugin in tests/interop/test_age_forms_sops.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyrage
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sops_py.errors import SopsError
from sops_py.keys import KeyFailed, KeyNotApplicable, age
from tests.helpers import ROOT

PLUGIN = ROOT / "tests" / "age_plugin_sopstest.py"
DATA_KEY = bytes(range(32))


def plugin_pair(data: bytes | None = None) -> tuple[str, str]:
    """(AGE-PLUGIN-SOPSTEST-1…, age1sopstest1…) sharing one secret (the test plugin is symmetric)."""
    data = os.urandom(32) if data is None else data
    return age.bech32_encode("AGE-PLUGIN-SOPSTEST-", data), age.bech32_encode("age1sopstest", data)


def plugin_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment whose PATH finds age-plugin-sopstest (and nothing of the caller's SOPS_*)."""
    bindir = tmp_path / "bin"
    if not bindir.exists():
        bindir.mkdir()
        exe = bindir / "age-plugin-sopstest"
        exe.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{PLUGIN}' \"$@\"\n")
        exe.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home),
           "SOPSTEST_LOG": str(tmp_path / "plugin.log")}
    env.update(extra)
    return env


def log_lines(tmp_path: Path) -> list[str]:
    path = tmp_path / "plugin.log"
    return path.read_text().splitlines() if path.exists() else []


def test_wrap_and_unwrap_through_the_plugin(tmp_path: Path) -> None:
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path)
    enc = age.wrap(recipient, DATA_KEY, env=env)
    data, err = age._dearmor(enc.encode())
    assert err is None
    assert data.split(b"\n")[1].startswith(b"-> sopstest ")
    assert age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY": identity})) == DATA_KEY
    log = log_lines(tmp_path)
    assert log[0] == f"argv --age-plugin=recipient-v1 cwd {os.path.realpath(tempfile.gettempdir())}"
    assert log[1:5] == [f"client> add-recipient {recipient}", "client> wrap-file-key ", "client> extension-labels ",
                        "client> done "]
    assert any(line.startswith("argv --age-plugin=identity-v1 ") for line in log)
    assert f"client> add-identity {identity}" in log
    assert "plugin> file-key 0" in log


def test_wrong_plugin_identity_is_no_match(tmp_path: Path) -> None:
    env = plugin_env(tmp_path)
    enc = age.wrap(plugin_pair()[1], DATA_KEY, env=env)
    with pytest.raises(KeyNotApplicable, match="identity did not match any of the recipients: incorrect identity"):
        age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY": plugin_pair()[0]}))
    env["SOPSTEST_MODE"] = "nokey"
    with pytest.raises(KeyNotApplicable):
        age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY": plugin_pair()[0]}))


def test_native_identities_are_tried_before_the_plugin(tmp_path: Path) -> None:
    env = plugin_env(tmp_path)
    x = pyrage.x25519.Identity.generate()
    enc = age.wrap(str(x.to_public()), DATA_KEY)
    ids = age.load_identities(env | {"SOPS_AGE_KEY": f"{plugin_pair()[0]} {x}"})
    assert age.unwrap(enc, ids) == DATA_KEY
    assert log_lines(tmp_path) == []  # the X25519 identity matched first: the plugin never ran


def test_plugin_errors_are_reported(tmp_path: Path) -> None:
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path)
    enc = age.wrap(recipient, DATA_KEY, env=env)
    ids_env = env | {"SOPS_AGE_KEY": identity}
    with pytest.raises(KeyFailed) as exc:
        age.unwrap(enc, age.load_identities(ids_env | {"SOPSTEST_MODE": "error"}))
    assert str(exc.value).startswith("failed to create reader for decrypting sops data key with age: "
                                     "sopstest plugin: the token is locked. Did not find keys in locations")
    assert not isinstance(exc.value, KeyNotApplicable)
    with pytest.raises(KeyFailed, match="^failed to create writer for encrypting sops data key with age: failed to "
                                        "wrap key for recipient #0: sopstest plugin: the token is locked$"):
        age.wrap(recipient, DATA_KEY, env=env | {"SOPSTEST_MODE": "error"})
    with pytest.raises(KeyFailed, match="with age: sopstest plugin: failed to read line: EOF"):
        age.unwrap(enc, age.load_identities(ids_env | {"SOPSTEST_MODE": "crash"}))
    with pytest.raises(KeyFailed, match="recipient #0: sopstest plugin: failed to read line: EOF"):
        age.wrap(recipient, DATA_KEY, env=env | {"SOPSTEST_MODE": "crash"})


def test_plugin_not_found(tmp_path: Path) -> None:
    identity, recipient = plugin_pair()
    enc = age.wrap(recipient, DATA_KEY, env=plugin_env(tmp_path))
    no_plugin = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SOPS_AGE_KEY": identity}
    missing = ('sopstest plugin: couldn\'t start plugin: "sopstest" plugin not found: exec: "age-plugin-sopstest": '
               "executable file not found in $PATH")
    with pytest.raises(KeyFailed) as exc:
        age.unwrap(enc, age.load_identities(no_plugin))
    assert f"with age: {missing}. Did not find" in str(exc.value)
    with pytest.raises(KeyFailed) as exc:
        age.wrap(recipient, DATA_KEY, env=no_plugin)
    assert str(exc.value).endswith(f"recipient #0: {missing}")


def test_plugin_questions_go_to_the_prompt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path)
    enc = age.wrap(recipient, DATA_KEY, env=env)
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return "1234"

    ids_env = env | {"SOPS_AGE_KEY": identity, "SOPSTEST_MODE": "secret"}
    assert age.unwrap(enc, age.load_identities(ids_env, prompt=prompt)) == DATA_KEY
    assert asked == ["Enter the PIN"]
    with pytest.raises(KeyFailed, match="sopstest plugin: wrong PIN"):
        age.unwrap(enc, age.load_identities(ids_env, prompt=lambda _: "0000"))
    assert age.wrap(recipient, DATA_KEY, env=env | {"SOPSTEST_MODE": "secret"}, prompt=prompt)
    capsys.readouterr()
    # a plugin's message goes through sops' AGE logger at info level: shown with --verbose only
    from sops_py import log

    msg_env = env | {"SOPS_AGE_KEY": identity, "SOPSTEST_MODE": "msg"}
    try:
        log.configure(False)
        assert age.unwrap(enc, age.load_identities(msg_env)) == DATA_KEY
        assert "touch your token" not in capsys.readouterr().err
        log.configure(True)
        assert age.unwrap(enc, age.load_identities(msg_env)) == DATA_KEY
        err = capsys.readouterr().err
        assert err.startswith("[AGE]\t time=") and 'level=info msg="age: sopstest plugin: touch your token"' in err
    finally:
        log.configure(False)


@pytest.mark.parametrize(("mode", "answer", "asked", "ok"), [
    ("confirm", "1", 'Use the token (press [1] for "allow" or [2] for "deny")', True),
    ("confirm", "allow", 'Use the token (press [1] for "allow" or [2] for "deny")', True),
    ("confirm", "2", 'Use the token (press [1] for "allow" or [2] for "deny")', False),
    ("confirm", "maybe", 'Use the token (press [1] for "allow" or [2] for "deny")', False),
    ("confirm1", "", 'Use the token (press enter for "allow")', True),
    ("public", "alice", "Your name", True),
])
def test_plugin_confirm_and_public_values(tmp_path: Path, mode: str, answer: str, asked: str, ok: bool) -> None:
    """age's confirm wording (Enter for one choice, 1 or 2 for two); a caller's prompt may also answer with
    the choice's label; a refused or unreadable answer is the plugin's error, in one line."""
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path)
    enc = age.wrap(recipient, DATA_KEY, env=env)
    questions: list[str] = []

    def prompt(message: str) -> str:
        questions.append(message)
        return answer

    ids = age.load_identities(env | {"SOPS_AGE_KEY": identity, "SOPSTEST_MODE": mode}, prompt=prompt)
    if ok:
        assert age.unwrap(enc, ids) == DATA_KEY
    else:
        with pytest.raises(KeyFailed) as exc:
            age.unwrap(enc, ids)
        assert "sopstest plugin: not confirmed: " + ("ok no" if answer == "2" else "fail") in str(exc.value)
        assert "\n" not in str(exc.value)
    assert questions == [asked]


def test_bad_plugin_key_material_is_one_line(tmp_path: Path) -> None:
    identity, recipient = plugin_pair()
    enc = age.wrap(recipient, DATA_KEY, env=plugin_env(tmp_path))
    bad = identity[:-1] + ("Q" if identity[-1] != "Q" else "P")
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities({"HOME": str(tmp_path), "SOPS_AGE_KEY": bad}))
    assert "failed to parse 'SOPS_AGE_KEY' age identities: invalid identity encoding: invalid checksum" in str(exc.value)
    assert bad not in str(exc.value)
    with pytest.raises(SopsError, match="failed to parse input as age key from age plugin: invalid recipient "
                                        "encoding: invalid checksum"):
        age.parse_recipient(recipient[:-1] + ("q" if recipient[-1] != "q" else "p"))


def test_cli_round_trip_and_exit_128_report(tmp_path: Path) -> None:
    identity, recipient = plugin_pair()
    env = plugin_env(tmp_path, PYTHONPATH=str(ROOT))
    (tmp_path / "plain.yaml").write_text("token: s3cr3t\n")

    def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sops_py", *args], env=env | extra, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                              start_new_session=True, check=False)

    res = cli("encrypt", "--age", recipient, "plain.yaml")
    assert res.returncode == 0, res.stderr
    (tmp_path / "enc.yaml").write_text(res.stdout)
    res = cli("decrypt", "enc.yaml", SOPS_AGE_KEY=identity)
    assert (res.returncode, res.stdout) == (0, "token: s3cr3t\n"), res.stderr
    res = cli("decrypt", "enc.yaml", SOPS_AGE_KEY=identity, SOPSTEST_MODE="error")
    assert res.returncode == 128
    assert f"{recipient}: FAILED" in res.stderr and "sopstest plugin: the token is locked" in res.stderr
    assert "Traceback" not in res.stderr and "s3cr3t" not in res.stderr


_ARG = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)


@given(type_=_ARG, args=st.lists(_ARG, max_size=4), body=st.binary(max_size=300))
def test_stanza_marshal_and_read_round_trip(type_: str, args: list[str], body: bytes) -> None:
    """The protocol's stanza writer and reader agree (bodies of every length, full 48-byte lines too)."""
    from sops_py.keys.age import plugin

    wire = plugin._marshal(type_, args, body)
    assert wire.endswith(b"\n") and all(len(line) <= 64 for line in wire.split(b"\n")[1:])
    st_ = plugin._read_stanza(io.BytesIO(wire))
    assert (st_.type, st_.args, st_.body) == (type_, args, body)


def test_stanza_reader_errors() -> None:
    from sops_py.keys.age import plugin

    for wire, err in [(b"", "failed to read line: EOF"), (b"-> ok", "failed to read line: unexpected EOF"),
                      (b"-> ok\n", "failed to read line: EOF"), (b"<- ok\n\n", 'malformed stanza: "<- ok\\n"'),
                      (b"-> ok\n!!\n", 'malformed body line "!!\\n": illegal base64 data at input byte 0')]:
        with pytest.raises(age._GoError) as exc:
            plugin._read_stanza(io.BytesIO(wire))
        assert str(exc.value) == err
