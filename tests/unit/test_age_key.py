"""age master keys (sops_py.keys.age): armor, recipients, identity sources, unwrap and its messages.

pyrage is the independent reference for the age format; expected messages were read off the real
sops binary (tests/interop/test_age_sops.py re-checks them against it), except where sops 3.13 differs
from that 3.11 build: 3.13 lists SOPS_AGE_SSH_PRIVATE_KEY_CMD among the places it looked (after
SOPS_AGE_SSH_PRIVATE_KEY_FILE) and words command failures without " from SOPS_AGE_KEY_CMD"
(getOutputFromCmd in age/keysource.go of 3.13.2). Hybrid and plugin keys are in test_age_pq.py and
test_age_plugin.py.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest

from sops_py.errors import SopsError
from sops_py.gotext import go_quote
from sops_py.keys import KeyFailed, KeyNotApplicable, age

DATA_KEY = bytes(range(32))
requires_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def new_identity() -> tuple[str, str]:
    ident = pyrage.x25519.Identity.generate()
    return str(ident), str(ident.to_public())


def empty_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "")}


def locations(home: Path, *names: str) -> str:
    return ", ".join(f"'{n}'" for n in names)


def not_found(home: Path, cfg: Path | None = None) -> str:
    cfg = cfg if cfg is not None else home / ".config"
    return (f"Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', 'SOPS_AGE_SSH_PRIVATE_KEY_CMD', "
            f"'{home}/.ssh/id_ed25519', "
            f"'{home}/.ssh/id_rsa', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD', and "
            f"'{cfg}/sops/age/keys.txt'.")


# ---------------------------------------------------------------- armor and wrap


def test_wrap_x25519_has_sops_armor_layout_and_pyrage_decrypts_it() -> None:
    secret, recipient = new_identity()
    enc = age.wrap(recipient, DATA_KEY)
    lines = enc.split("\n")
    assert enc.endswith("-----END AGE ENCRYPTED FILE-----\n")
    assert [len(x) for x in lines] == [34, 64, 64, 64, 64, 56, 32, 0]
    data, err = age._dearmor(enc.encode())
    assert err is None
    assert data == base64.b64decode("".join(lines[1:-2]))
    assert data.startswith(b"age-encryption.org/v1\n-> X25519 ")
    assert data.count(b"\n-> ") == 1  # no grease stanza, like Go's age
    assert pyrage.decrypt(data, [pyrage.x25519.Identity.from_str(secret)]) == DATA_KEY


def test_wrap_is_deterministic_given_rand_and_differs_otherwise() -> None:
    _, recipient = new_identity()
    seq = iter([bytes([1]) * 16, bytes([2]) * 32, bytes([3]) * 16] * 2)

    def rand(n: int) -> bytes:
        b = next(seq)
        assert len(b) == n
        return b

    assert age.wrap(recipient, DATA_KEY, rand=rand) == age.wrap(recipient, DATA_KEY, rand=rand)
    assert age.wrap(recipient, DATA_KEY) != age.wrap(recipient, DATA_KEY)


def test_wrap_shamir_share_and_unwrap_roundtrip() -> None:
    secret, recipient = new_identity()
    share = bytes(range(33))
    ids = age.identities_from_strings(secret)
    assert age.unwrap(age.wrap(recipient, share), ids) == share


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 96, 100])
def test_armor_writer_matches_age(size: int) -> None:
    data = os.urandom(size)
    text = age.armor(data)
    b64 = base64.b64encode(data).decode()
    body = "".join(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64))
    assert text == f"-----BEGIN AGE ENCRYPTED FILE-----\n{body}-----END AGE ENCRYPTED FILE-----\n"
    assert age._dearmor(text.encode()) == (data, None)


def test_armor_reader_tolerates_whitespace_and_crlf() -> None:
    data = os.urandom(100)
    text = age.armor(data)
    assert age._dearmor(("\n  \n" + text + "  \n\n").encode()) == (data, None)
    assert age._dearmor(text.replace("\n", "\r\n").encode()) == (data, None)
    assert age._dearmor(text.rstrip("\n").encode()) == (data, None)


@pytest.mark.parametrize(("mutate", "error"), [
    (lambda t: "x" + t, 'invalid armor: invalid first line: "x-----BEGIN AGE ENCRYPTED FILE-----"'),
    (lambda t: t.replace("\n", "\n\n", 2), "invalid armor: empty line in armored data"),
    (lambda t: t + "junk\n", "invalid armor: trailing data after armored file"),
    (lambda t: t + " " * 1024, "invalid armor: too much trailing whitespace"),
    (lambda t: "\n" * 1025 + t, "invalid armor: too much leading whitespace"),
    (lambda t: t.split("-----END")[0], "invalid armor: unexpected EOF"),
    (lambda t: "", "invalid armor: unexpected EOF"),
])
def test_armor_reader_errors(mutate: object, error: str) -> None:
    text = age.armor(os.urandom(100))
    assert callable(mutate)
    _, err = age._dearmor(mutate(text).encode())
    assert err == error


def test_armor_reader_line_rules() -> None:
    h, f = age.ARMOR_HEADER, age.ARMOR_FOOTER
    assert age._dearmor(f"{h}\n{'A' * 68}\n{f}\n".encode())[1] == "invalid armor: column limit exceeded"
    assert age._dearmor(f"{h}\nYR==\n{f}\n".encode())[1] == "invalid armor: illegal base64 data at input byte 2"
    assert age._dearmor(f"{h}\nYQ\n{f}\n".encode())[1] == "invalid armor: illegal base64 data at input byte 0"
    assert age._dearmor(f"{h}\nYQ==\nYQ==\n{f}\n".encode())[1] == 'invalid armor: invalid closing line: "YQ=="'
    assert age._dearmor(f"{h}\nYQ==\n{f}\n".encode()) == (b"a", None)


def test_go_base64_offsets() -> None:
    dec = age._b64_decode
    assert dec(b"YWJj", True) == b"abc"
    assert dec(b"YWI=", True) == b"ab"
    for src, padded, off in [(b"YW!j", True, 2), (b"YWI", True, 0), (b"YWJ=", True, 3),
                             (b"YQ=a", True, 2), (b"YQ==YQ==", True, 4), (b"YWI=", False, 3)]:
        with pytest.raises(age._GoError, match=f"^illegal base64 data at input byte {off}$"):
            dec(src, padded)
    assert dec(b"YWI", False) == b"ab"


def test_go_quote() -> None:
    assert go_quote('a"b\\c\n\x01\x7f') == '"a\\"b\\\\c\\n\\x01\\x7f"'
    assert go_quote(b"\xff\xc3\xa9") == '"\\xffé"'


# ---------------------------------------------------------------- recipients


def test_bech32_roundtrip_against_pyrage() -> None:
    _, recipient = new_identity()
    hrp, data = age._bech32_decode(recipient)
    assert hrp == "age" and len(data) == 32
    assert age.bech32_encode("age", data) == recipient


@pytest.mark.parametrize(("recipient", "message"), [
    ("age1bad", 'failed to parse input as Bech32-encoded age public key: malformed recipient "age1bad": '
                "separator '1' at invalid position: pos=3, len=7"),
    ("age1" + "q" * 61, 'failed to parse input as Bech32-encoded age public key: malformed recipient '
                        f'"age1{"q" * 61}": invalid checksum'),
    ("AGE1QQQ", 'failed to parse input, unknown recipient type: "AGE1QQQ"'),
    ("foo", 'failed to parse input, unknown recipient type: "foo"'),
    ("", 'failed to parse input, unknown recipient type: ""'),
    ("ssh-ed25519 AAAA", 'failed to parse input as age-ssh public key: malformed SSH recipient: '
                         '"ssh-ed25519 AAAA": ssh: no key found; last parsing error for ignored line: '
                         "ssh: short read"),
    ("ssh-rsa", 'failed to parse input as age-ssh public key: malformed SSH recipient: "ssh-rsa": '
                "ssh: no key found"),
    ("age1pq1qqqqqqqq", 'failed to parse input as Bech32-encoded age public key: malformed recipient '
                        '"age1pq1qqqqqqqq": invalid checksum'),
    ("age1yubikey1qqqqqqqqqqqqqqqqqqq", "failed to parse input as age key from age plugin: invalid "
                                        "recipient encoding: invalid checksum"),
])
def test_recipient_errors_are_sops_messages(recipient: str, message: str) -> None:
    with pytest.raises(SopsError) as exc:
        age.parse_recipient(recipient)
    assert str(exc.value) == message


def test_parse_recipients_splits_trims_and_keeps_sops_empty_entry_error() -> None:
    _, r1 = new_identity()
    _, r2 = new_identity()
    assert age.parse_recipients("") == []
    assert age.parse_recipients(f"  {r1} ,\t{r2}\n") == [r1, r2]
    with pytest.raises(SopsError, match='unknown recipient type: ""'):
        age.parse_recipients(f"{r1},")
    with pytest.raises(SopsError, match='unknown recipient type: ""'):
        age.parse_recipients(f"{r1}, ,{r2}")
    assert age.parse_recipients(f"{r1}, ,{r2},", drop_empty=True) == [r1, r2]


def test_pq_and_plugin_recipient_validation() -> None:
    plugin = age.bech32_encode("age1yubikey", os.urandom(20))
    assert age.parse_recipient(plugin).kind == "plugin"
    with pytest.raises(SopsError, match="invalid MLKEM768-X25519 public key"):
        age.parse_recipient(age.bech32_encode("age1pq", os.urandom(32)))
    with pytest.raises(SopsError, match="invalid MLKEM768-X25519 public key"):  # not an ML-KEM key (age checks)
        age.parse_recipient(age.bech32_encode("age1pq", b"\xff" * 1216))
    with pytest.raises(SopsError, match='invalid plugin name: "b!d"'):
        age.parse_recipient(age.bech32_encode("age1b!d", b"x"))


def test_pq_identity_is_accepted_and_reported_when_only_pq_could_match() -> None:
    pq_secret = age.bech32_encode("AGE-SECRET-KEY-PQ-", os.urandom(32))
    x_secret, recipient = new_identity()
    ids = age.identities_from_strings(pq_secret, x_secret)
    assert age.unwrap(age.wrap(recipient, DATA_KEY), ids) == DATA_KEY
    with pytest.raises(KeyNotApplicable, match="^failed to create reader .*: no identity matched any"):
        age.unwrap(age.wrap(new_identity()[1], DATA_KEY), ids)


# ---------------------------------------------------------------- identity sources


def test_nothing_found_message(tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    _, recipient = new_identity()
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(age.wrap(recipient, DATA_KEY), age.load_identities(env))
    home = tmp_path / "home"
    assert str(exc.value) == "failed to load age identities. " + not_found(home)
    assert isinstance(exc.value, KeyFailed)


def test_nothing_found_message_xdg_and_other_platforms(tmp_path: Path) -> None:
    home = tmp_path / "home"
    enc = age.wrap(new_identity()[1], DATA_KEY)
    env = empty_env(tmp_path) | {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities(env))
    assert str(exc.value).endswith(not_found(home, tmp_path / "xdg"))
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities(env, platform="darwin"))
    assert str(exc.value).endswith(not_found(home, tmp_path / "xdg"))
    del env["XDG_CONFIG_HOME"]
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities(env, platform="darwin"))
    assert str(exc.value).endswith(f"'{home}/Library/Application Support/sops/age/keys.txt'.")
    win = {"USERPROFILE": "C:\\Users\\me", "AppData": "C:\\Users\\me\\AppData\\Roaming"}
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities(win, platform="win32"))
    assert str(exc.value) == (
        "failed to load age identities. Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', "
        "'SOPS_AGE_SSH_PRIVATE_KEY_CMD', 'C:\\Users\\me\\.ssh\\id_ed25519', 'C:\\Users\\me\\.ssh\\id_rsa', 'SOPS_AGE_KEY', "
        "'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD', and 'C:\\Users\\me\\AppData\\Roaming\\sops\\age\\keys.txt'.")


def test_no_home_and_relative_xdg(tmp_path: Path) -> None:
    enc = age.wrap(new_identity()[1], DATA_KEY)
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities({}))
    assert str(exc.value) == (
        "failed to load age identities. Errors while loading age identities: $HOME is not defined; user "
        "config directory could not be determined: neither $XDG_CONFIG_HOME nor $HOME are defined. Did "
        "not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', 'SOPS_AGE_SSH_PRIVATE_KEY_CMD', 'SOPS_AGE_KEY', "
        "'SOPS_AGE_KEY_FILE', and 'SOPS_AGE_KEY_CMD'.")
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities(empty_env(tmp_path) | {"XDG_CONFIG_HOME": "rel"}))
    assert "user config directory could not be determined: path in $XDG_CONFIG_HOME is relative" in str(exc.value)


def test_wrong_key_messages_count_identities(tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    home = tmp_path / "home"
    enc = age.wrap(new_identity()[1], DATA_KEY)
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY": new_identity()[0]}))
    assert str(exc.value) == (
        "failed to create reader for decrypting sops data key with age: identity did not match any of the "
        "recipients: incorrect identity for recipient block. Did not find keys in locations "
        f"'SOPS_AGE_SSH_PRIVATE_KEY_FILE', 'SOPS_AGE_SSH_PRIVATE_KEY_CMD', '{home}/.ssh/id_ed25519', "
        f"'{home}/.ssh/id_rsa', 'SOPS_AGE_KEY_FILE', and 'SOPS_AGE_KEY_CMD'.")
    two = new_identity()[0] + "\n" + new_identity()[0]
    with pytest.raises(KeyNotApplicable, match="with age: no identity matched any of the recipients. Did"):
        age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY": two}))


def test_sops_age_key_lines_comments_crlf_and_words(tmp_path: Path) -> None:
    secret, recipient = new_identity()
    enc = age.wrap(recipient, DATA_KEY)
    env = empty_env(tmp_path)
    text = f"# created: today\r\n\r\n{new_identity()[0]}\r\n{secret}\r\n"
    assert age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY": text})) == DATA_KEY
    # sops 3.13 also accepts several space-separated keys on one line of SOPS_AGE_KEY (3.11 does not)
    words = f"{new_identity()[0]}  {secret}\t{new_identity()[0]}"
    assert age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY": words})) == DATA_KEY
    # ... but not in a keys file
    keys = tmp_path / "keys.txt"
    keys.write_text(words + "\n")
    with pytest.raises(KeyNotApplicable, match="failed to parse 'SOPS_AGE_KEY_FILE' age identities: "
                                               "malformed secret key: invalid character human-readable"):
        age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY_FILE": str(keys)}))


def test_bad_identity_lines(tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    enc = age.wrap(new_identity()[1], DATA_KEY)
    keys = tmp_path / "keys.txt"
    for text, err in [("garbage", "unknown identity type"),
                      (" " + new_identity()[0], "unknown identity type"),
                      (new_identity()[0].lower(), "unknown identity type"),
                      ("AGE-SECRET-KEY-1QQQQQQQQQ", "malformed secret key: invalid checksum"),
                      ("AGE-PLUGIN-YUBIKEY-1QQQQQQQQ", "invalid identity encoding: invalid checksum")]:
        keys.write_text(text + "\n")
        with pytest.raises(KeyNotApplicable) as exc:
            age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY_FILE": str(keys)}))
        assert f"Errors while loading age identities: failed to parse 'SOPS_AGE_KEY_FILE' age identities: {err}." \
            in str(exc.value)
        assert text.strip() not in str(exc.value)  # never echo a key


def test_key_file_and_default_paths(tmp_path: Path) -> None:
    secret, recipient = new_identity()
    enc = age.wrap(recipient, DATA_KEY)
    env = empty_env(tmp_path)
    home = tmp_path / "home"
    f = tmp_path / "k.txt"
    f.write_text(secret + "\n")
    assert age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY_FILE": str(f)})) == DATA_KEY
    with pytest.raises(KeyNotApplicable, match="failed to open SOPS_AGE_KEY_FILE file: open /nonexistent/k: "
                                               "no such file or directory. Did not find"):
        age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY_FILE": "/nonexistent/k"}))
    default = home / ".config" / "sops" / "age" / "keys.txt"
    default.parent.mkdir(parents=True)
    default.write_text(f"# key\n{secret}\n")
    assert age.unwrap(enc, age.load_identities(env)) == DATA_KEY
    xdg = tmp_path / "xdg" / "sops" / "age" / "keys.txt"
    xdg.parent.mkdir(parents=True)
    xdg.write_text(secret)
    default.unlink()
    assert age.unwrap(enc, age.load_identities(env | {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})) == DATA_KEY
    mac = home / "Library" / "Application Support" / "sops" / "age" / "keys.txt"
    mac.parent.mkdir(parents=True)
    mac.write_text(secret)
    assert age.unwrap(enc, age.load_identities(env, platform="darwin")) == DATA_KEY


def test_empty_sources_are_listed_last_and_default_file_skipped(tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    home = tmp_path / "home"
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(age.wrap(new_identity()[1], DATA_KEY), age.load_identities(env | {"SOPS_AGE_KEY": ""}))
    assert str(exc.value) == (
        "failed to load age identities. Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', "
        f"'SOPS_AGE_SSH_PRIVATE_KEY_CMD', '{home}/.ssh/id_ed25519', '{home}/.ssh/id_rsa', 'SOPS_AGE_KEY_FILE', "
        "'SOPS_AGE_KEY_CMD', and 'SOPS_AGE_KEY'.")


def _key_cmd(tmp_path: Path, secret: str) -> str:
    script = tmp_path / "keycmd.py"
    log = tmp_path / "keycmd.log"
    script.write_text(
        "import os, sys\n"
        f"open({str(log)!r}, 'a').write(os.environ.get('SOPS_AGE_RECIPIENT', '<unset>') + '\\n')\n"
        "sys.stderr.write('noise on stderr\\n')\n"
        f"print({secret!r})\n")
    return f"'{sys.executable}' {script}"


def test_key_cmd_runs_per_unwrap_with_recipient(tmp_path: Path) -> None:
    secret, recipient = new_identity()
    env = empty_env(tmp_path) | {"SOPS_AGE_KEY_CMD": _key_cmd(tmp_path, secret)}
    ids = age.load_identities(env)
    enc = age.wrap(recipient, DATA_KEY)
    assert age.unwrap(enc, ids, recipient) == DATA_KEY
    assert age.unwrap(enc, ids, "age1other") == DATA_KEY
    assert (tmp_path / "keycmd.log").read_text().splitlines() == [recipient, "age1other"]


def test_key_cmd_errors(tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    enc = age.wrap(new_identity()[1], DATA_KEY)
    for cmd, err in [("false", "failed to execute command false: exit status 1"),
                     ("no-such-cmd-xyz a", 'failed to execute command no-such-cmd-xyz a: '
                                           'exec: "no-such-cmd-xyz": executable file not found in $PATH'),
                     ("echo 'a", "failed to parse command echo 'a: EOF found when "
                                 "expecting closing quote"),
                     ("/nonexistent/cmd", "failed to execute command /nonexistent/cmd: "
                                          "fork/exec /nonexistent/cmd: no such file or directory")]:
        with pytest.raises(KeyNotApplicable) as exc:
            age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_KEY_CMD": cmd}))
        assert f"Errors while loading age identities: {err}. Did not find" in str(exc.value)


def test_google_shlex() -> None:
    split = age._shlex_split
    assert split('a "b c" d\\ e \'f g\'') == ["a", "b c", "d e", "f g"]
    assert split('x"y\\n"z') == ["xynz"]  # google/shlex: a backslash escapes anything inside "..."
    assert split("a #comment\nb") == ["a", "b"]
    assert split("a#b") == ["a#b"]
    assert split("''") == [""]
    with pytest.raises(age._GoError, match="EOF found after escape character"):
        split("a\\")


def test_identities_are_loaded_once(tmp_path: Path) -> None:
    secret, recipient = new_identity()
    enc = age.wrap(recipient, DATA_KEY)
    f = tmp_path / "k.txt"
    ids = age.load_identities(empty_env(tmp_path) | {"SOPS_AGE_KEY_FILE": str(f)})
    f.write_text(secret)  # nothing is read before the first unwrap
    assert age.unwrap(enc, ids) == DATA_KEY
    f.unlink()
    assert age.unwrap(enc, ids) == DATA_KEY
    assert secret not in repr(ids) and secret not in repr(ids.resolve().identities)


def test_passphrase_encrypted_identities_file(tmp_path: Path) -> None:
    secret, recipient = new_identity()
    enc = age.wrap(recipient, DATA_KEY)
    f = tmp_path / "k.age"
    f.write_bytes(pyrage.passphrase.encrypt((secret + "\n").encode(), "pw"))
    armored = tmp_path / "k.age.txt"
    armored.write_text(age.armor(f.read_bytes()))
    prompts: list[str] = []

    def prompt(msg: str) -> str:
        prompts.append(msg)
        return "pw"

    for path in (f, armored):
        ids = age.load_identities(empty_env(tmp_path) | {"SOPS_AGE_KEY_FILE": str(path)}, prompt=prompt)
        assert age.unwrap(enc, ids) == DATA_KEY
        assert age.unwrap(enc, ids) == DATA_KEY  # asked once per Identities
    assert prompts == ["Enter passphrase for identity 'SOPS_AGE_KEY_FILE':"] * 2
    ids = age.load_identities(empty_env(tmp_path) | {"SOPS_AGE_KEY_FILE": str(f)}, prompt=lambda m: "bad")
    with pytest.raises(KeyFailed, match="^failed to create reader for decrypting sops data key with age: "
                                        "incorrect passphrase. Did not find"):
        age.unwrap(enc, ids)

    def no_tty(msg: str) -> str:
        raise age._GoError("standard input is not a terminal, and /dev/tty is not available: open /dev/tty: "
                           "no such device or address")

    ids = age.load_identities(empty_env(tmp_path) | {"SOPS_AGE_KEY_FILE": str(f)}, prompt=no_tty)
    with pytest.raises(KeyFailed, match="with age: failed to decrypt identity file: could not read passphrase: "
                                        "standard input is not a terminal"):
        age.unwrap(enc, ids)


# ---------------------------------------------------------------- SSH


def ssh_keygen(path: Path, kind: str, *extra: str, passphrase: str = "") -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "test@sops-py", "-f", str(path),
                    *extra], check=True, capture_output=True)
    return path.with_suffix(".pub").read_text().strip() if path.suffix else Path(f"{path}.pub").read_text().strip()


@requires_ssh_keygen
@pytest.mark.parametrize(("kind", "extra"), [("ed25519", ()), ("rsa", ("-b", "2048")),
                                             ("rsa", ("-b", "2048", "-m", "PEM")),
                                             ("rsa", ("-b", "3072", "-m", "PKCS8"))])
def test_ssh_identities(tmp_path: Path, kind: str, extra: tuple[str, ...]) -> None:
    env = empty_env(tmp_path)
    home = tmp_path / "home"
    (home / ".ssh").mkdir()
    name = "id_ed25519" if kind == "ed25519" else "id_rsa"
    pub = ssh_keygen(home / ".ssh" / name, kind, *extra)
    assert age.parse_recipients(pub) == [pub]
    enc = age.wrap(pub, DATA_KEY)
    assert age.unwrap(enc, age.load_identities(env)) == DATA_KEY
    moved = tmp_path / "elsewhere"
    (home / ".ssh" / name).rename(moved)
    assert age.unwrap(enc, age.load_identities(env | {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(moved)})) == DATA_KEY
    # a different key of the same type: no match
    other = ssh_keygen(tmp_path / "other", kind, *extra)
    with pytest.raises(KeyNotApplicable, match="identity did not match any of the recipients"):
        age.unwrap(age.wrap(other, DATA_KEY), age.load_identities(env | {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(moved)}))


@requires_ssh_keygen
def test_ssh_recipient_rules(tmp_path: Path) -> None:
    small = ssh_keygen(tmp_path / "small", "rsa", "-b", "1024")
    with pytest.raises(SopsError, match=r"^failed to parse input as age-ssh public key: malformed SSH recipient: "
                                        r'"ssh-rsa .*": RSA key size is too small$'):
        age.parse_recipient(small)
    ec = ssh_keygen(tmp_path / "ec", "ecdsa")
    with pytest.raises(SopsError, match='^failed to parse input, unknown recipient type: "ecdsa-sha2-nistp256 '):
        age.parse_recipient(ec)
    ed = ssh_keygen(tmp_path / "ed", "ed25519")
    typ, b64, _ = ed.split(" ", 2)
    assert age.parse_recipient(f"{typ} {b64}").kind == "ssh-ed25519"
    assert age.parse_recipient(f"ssh-rsa {b64}").kind == "ssh-ed25519"  # the blob's type counts, as in sops


@requires_ssh_keygen
def test_encrypted_ssh_key_asks_only_when_it_matches(tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    key = tmp_path / "enc_rsa"
    pub = ssh_keygen(key, "rsa", "-b", "2048", "-m", "PEM", passphrase="secret-pw")
    asked: list[str] = []

    def prompt(msg: str) -> str:
        asked.append(msg)
        return "secret-pw"

    env2 = env | {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(key)}
    with pytest.raises(KeyNotApplicable):
        age.unwrap(age.wrap(new_identity()[1], DATA_KEY), age.load_identities(env2, prompt=prompt))
    assert asked == []
    assert age.unwrap(age.wrap(pub, DATA_KEY), age.load_identities(env2, prompt=prompt)) == DATA_KEY
    assert asked == [f'Enter passphrase for "{key}":']
    with pytest.raises(KeyFailed, match="with age: failed to decrypt SSH key file: "):
        age.unwrap(age.wrap(pub, DATA_KEY), age.load_identities(env2, prompt=lambda m: "wrong"))
    (tmp_path / "enc_rsa.pub").unlink()
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(age.wrap(pub, DATA_KEY), age.load_identities(env2, prompt=prompt))
    assert (f'Errors while loading age identities: failed to obtain public "{key}.pub" key for "{key}" SSH key: '
            f"open {key}.pub: no such file or directory.") in str(exc.value)


@requires_ssh_keygen
def test_malformed_ssh_key_file(tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    bad = tmp_path / "bad"
    bad.write_text("not a key")
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(age.wrap(new_identity()[1], DATA_KEY),
                   age.load_identities(env | {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(bad)}))
    assert f'Errors while loading age identities: malformed SSH identity in "{bad}": ssh: no key found. ' \
        in str(exc.value)
    ec = tmp_path / "ec"
    ssh_keygen(ec, "ecdsa")
    with pytest.raises(KeyNotApplicable) as exc:
        age.unwrap(age.wrap(new_identity()[1], DATA_KEY),
                   age.load_identities(env | {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(ec)}))
    assert f'malformed SSH identity in "{ec}": unsupported SSH identity type: *ecdsa.PrivateKey.' in str(exc.value)


def test_key_file_that_is_a_directory_gives_no_keys(tmp_path: Path) -> None:
    # checked against the sops binary: a directory reads as empty, listed last among the sources tried
    d = tmp_path / "keys.txt"
    d.mkdir()
    with pytest.raises(KeyNotApplicable, match="'SOPS_AGE_KEY_CMD', and 'SOPS_AGE_KEY_FILE'"):
        age.unwrap(age.wrap(new_identity()[1], DATA_KEY),
                   age.load_identities(empty_env(tmp_path) | {"SOPS_AGE_KEY_FILE": str(d)}))


# ---------------------------------------------------------------- malformed enc


def test_malformed_enc_messages() -> None:
    secret, recipient = new_identity()
    ids = age.identities_from_strings(secret)
    enc = age.wrap(recipient, DATA_KEY)
    data, _ = age._dearmor(enc.encode())
    prefix = "failed to create reader for decrypting sops data key with age: "

    def msg(text: str) -> str:
        with pytest.raises(KeyFailed) as exc:
            age.unwrap(text, ids)
        return str(exc.value)

    assert msg(data.decode("latin-1")) == (
        prefix + 'failed to read header: parsing age header: failed to read intro: invalid armor: invalid '
        'first line: "age-encryption.org/v1"')
    assert msg("") == prefix + "failed to read header: parsing age header: failed to read intro: invalid " \
                               "armor: unexpected EOF"
    assert msg(enc + "junk") == "failed to copy age decrypted data into bytes.Buffer: invalid armor: " \
                                "trailing data after armored file"
    hdr_end = data.index(b"\n---") + 1
    mac_end = data.index(b"\n", hdr_end) + 1
    assert msg(age.armor(data[:mac_end])) == prefix + "failed to read nonce: EOF"
    assert msg(age.armor(data[:mac_end + 5])) == prefix + "failed to read nonce: unexpected EOF"
    assert msg(age.armor(data[:mac_end + 16])) == "failed to copy age decrypted data into bytes.Buffer: " \
                                                  "unexpected EOF"
    assert msg(age.armor(data[:-1] + bytes([data[-1] ^ 1]))) == (
        "failed to copy age decrypted data into bytes.Buffer: failed to decrypt and authenticate payload "
        "chunk, file may be corrupted or tampered with")
    mac = base64.b64decode(data[hdr_end + 4:mac_end - 1] + b"=")
    bad_mac = data[:hdr_end] + b"--- " + age._b64_raw(bytes([mac[0] ^ 1]) + mac[1:]).encode() + b"\n" + \
        data[mac_end:]
    assert msg(age.armor(bad_mac)) == prefix + "bad header MAC"
    assert msg(age.armor(data.replace(b"age-encryption.org/v1", b"age-encryption.org/v2"))) == (
        prefix + 'failed to read header: parsing age header: unexpected intro: "age-encryption.org/v2\\n"')
    # a malformed X25519 stanza is reported only when no identity matched
    lines = data.split(b"\n")
    longer = b"\n".join([lines[0], lines[1] + b"x"] + lines[2:])
    assert msg(age.armor(longer)) == prefix + "invalid X25519 recipient block"
    bad = b"\n".join([lines[0], lines[1] + b"!"] + lines[2:])
    assert msg(age.armor(bad)) == prefix + "failed to parse X25519 recipient: illegal base64 data at input byte 43"
