"""Issue 16: the tamper corpus. Files encrypted by sops-py and by the real sops, in every store, are
altered as an attacker with write access to the repository could alter them: a bit flipped in every
ciphertext, IV and tag (values, comments and the MAC), in the age stanza; values swapped between keys;
a value left in clear (``*_unencrypted``) changed under the MAC; keys deleted or reordered.

Every case has a verdict pinned here, derived from the format (docs/security.md): the AAD binds a
ciphertext to its key path, GCM's tag to its IV and data, the MAC to every value in order, the age
stanza to the data key. sops-py must give that exit code and print no plaintext on a rejection; when
the sops binary is installed it must give the same exit code on the same bytes. The sops-py-made files
run without the binary; the sops-made corpus and the comparison need it."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.cli_harness import run_py
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import SOPS, run_sops

SECRETS = ("alpha-secret-1", "bravo-secret-2", "charlie-3", "delta note")
PLAIN = {
    "yaml": b"# delta note\nalpha: alpha-secret-1\nbravo: bravo-secret-2\nnested:\n    charlie: charlie-3\n"
            b"open_unencrypted: in clear\n",
    "json": b'{"alpha": "alpha-secret-1", "bravo": "bravo-secret-2", "nested": {"charlie": "charlie-3"}, '
            b'"open_unencrypted": "in clear"}\n',
    "dotenv": b"# delta note\nalpha=alpha-secret-1\nbravo=bravo-secret-2\ncharlie=charlie-3\n"
              b"open_unencrypted=in clear\n",
    "ini": b"[s]\n; delta note\nalpha = alpha-secret-1\nbravo = bravo-secret-2\ncharlie = charlie-3\n"
           b"open_unencrypted = in clear\n",
    "binary": b"alpha-secret-1 bravo-secret-2 charlie-3\n",
}
EXT = {"yaml": "yaml", "json": "json", "dotenv": "env", "ini": "ini", "binary": "bin"}

# exit codes (sops_py/errors.py names them; pinned here as the verdicts)
OK, BAD_VALUE, BAD_MAC_TOKEN, MAC_MISMATCH, NO_DATA_KEY = 0, 25, 51, 51, 128

_TOKEN = re.compile(rb"ENC\[AES256_GCM,data:([^,]*),iv:([^,]*),tag:([^,]*),type:(\w+)\]")
_ARMOR = re.compile(rb"-----BEGIN AGE ENCRYPTED FILE-----(?:\\n|\n)([A-Za-z0-9+/=\\n\n ]+?)(?:\\n|\n) *-----END")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env


def _flip(b64: bytes) -> bytes:
    """One bit flipped in the middle byte of a base64 field (same length, still valid base64)."""
    raw = bytearray(base64.b64decode(b64))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw))


def _is_mac(data: bytes, m: re.Match[bytes]) -> bool:
    line_start = data.rfind(b"\n", 0, m.start()) + 1
    return b"mac" in data[line_start:m.start()]


def _token_flips(data: bytes) -> Iterator[tuple[str, bytes, int]]:
    """(case id, tampered bytes, verdict) for a bit flip in each field of each token."""
    for n, m in enumerate(_TOKEN.finditer(data)):
        mac = _is_mac(data, m)
        kind = "mac" if mac else m.group(4).decode()
        for g, field in ((1, "data"), (2, "iv"), (3, "tag")):
            if not m.group(g):
                continue
            out = data[:m.start(g)] + _flip(m.group(g)) + data[m.end(g):]
            # a comment that does not decrypt is kept as text by sops (files of old versions had clear
            # comments) and comments are outside the MAC: accepted, the token printed as it is
            verdict = BAD_MAC_TOKEN if mac else OK if kind == "comment" else BAD_VALUE
            yield f"flip-{n}-{kind}-{field}", out, verdict


def _age_flip(data: bytes) -> bytes:
    m = _ARMOR.search(data)
    assert m is not None
    body = m.group(1)
    i = len(body) // 3  # inside the X25519 stanza (its share and wrapped key)
    while body[i:i + 1] in (b"\\", b"n", b"\n", b"=", b" "):
        i += 1
    c = body[i:i + 1]
    new = b"B" if c != b"B" else b"C"
    return data[:m.start(1) + i] + new + data[m.start(1) + i + 1:]


def _value_tokens(data: bytes) -> list[re.Match[bytes]]:
    return [m for m in _TOKEN.finditer(data) if not _is_mac(data, m) and m.group(4) != b"comment"]


def _swap_values(data: bytes) -> bytes:
    a, b = _value_tokens(data)[:2]
    return data[:a.start()] + b.group(0) + data[a.end():b.start()] + a.group(0) + data[b.end():]


def _line_of(data: bytes, key: bytes) -> tuple[int, int]:
    m = re.search(rb"(?m)^[\t ]*\"?" + key + rb"\"?\s*[:=].*\n", data)
    assert m is not None, key
    return m.start(), m.end()


def _delete_key(data: bytes, fmt: str) -> bytes:
    s, e = _line_of(data, b"bravo")
    line = data[s:e]
    if fmt == "json" and not line.rstrip().endswith(b","):
        raise AssertionError("bravo is followed by another key in the JSON layout")
    return data[:s] + data[e:]


def _reorder(data: bytes, fmt: str) -> bytes:
    s1, e1 = _line_of(data, b"alpha")
    s2, e2 = _line_of(data, b"bravo")
    assert e1 == s2
    return data[:s1] + data[s2:e2] + data[s1:e1] + data[e2:]


def _change_clear(data: bytes) -> bytes:
    assert data.count(b"in clear") == 1
    return data.replace(b"in clear", b"in CLEAR")


def cases(fmt: str, data: bytes) -> Iterator[tuple[str, bytes, int]]:
    yield "untouched", data, OK
    yield from _token_flips(data)
    yield "age-stanza", _age_flip(data), NO_DATA_KEY
    if fmt == "binary":
        return
    # the AAD is the key path: a ciphertext moved to another key does not decrypt
    yield "swap-values", _swap_values(data), BAD_VALUE
    yield "change-clear-value", _change_clear(data), MAC_MISMATCH
    yield "delete-key", _delete_key(data, fmt), MAC_MISMATCH
    yield "reorder-keys", _reorder(data, fmt), MAC_MISMATCH


def _encrypt(tool: str, fmt: str, tmp: Path) -> bytes:
    p = tmp / f"plain.{EXT[fmt]}"
    p.write_bytes(PLAIN[fmt])
    argv = ["encrypt", "--age", AGE_RECIPIENT, "--input-type", fmt, "--output-type", fmt, str(p)]
    if tool == "sops":
        r = run_sops(argv, env=_env())
        assert r.returncode == 0, r.stderr
        return r.stdout
    res = run_py(argv, env=_env())
    assert res.code == 0, res.err
    return res.out.encode("utf-8", "surrogateescape")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], bytes]:
    made: dict[tuple[str, str], bytes] = {}
    tmp = tmp_path_factory.mktemp("tamper")

    def get(tool: str, fmt: str) -> bytes:
        if (tool, fmt) not in made:
            made[tool, fmt] = _encrypt(tool, fmt, tmp)
        return made[tool, fmt]
    return get


def _run_case(tmp: Path, fmt: str, data: bytes) -> tuple[int, bytes, bytes, int | None]:
    p = tmp / f"case.{EXT[fmt]}"
    p.write_bytes(data)
    argv = ["decrypt", "--input-type", fmt, "--output-type", fmt, str(p)]
    py = run_py(argv, env=_env())
    go_code = None
    if SOPS is not None:
        go_code = run_sops(argv, env=_env()).returncode
    return py.code, py.out.encode("utf-8", "surrogateescape"), py.err.encode("utf-8", "surrogateescape"), go_code


def _check(tmp: Path, fmt: str, data: bytes, verdict: int) -> list[str]:
    code, out, err, go = _run_case(tmp, fmt, data)
    problems = []
    if code != verdict:
        problems.append(f"sops-py exit {code}, expected {verdict}: {err[:200]!r}")
    if go is not None and go != code:
        problems.append(f"sops exit {go}, sops-py exit {code}")
    if code != 0:
        leaked = [s for s in SECRETS if s.encode() in out or s.encode() in err]
        if leaked:
            problems.append(f"plaintext {leaked} printed on rejection")
        if b"Traceback" in err:
            problems.append("traceback")
    return problems


@pytest.mark.parametrize("fmt", list(PLAIN))
def test_tamper_sops_py_files(tmp_path: Path, corpus: Callable[[str, str], bytes], fmt: str) -> None:
    """Files sops-py wrote: every pinned verdict (and sops' exit code when the binary is present)."""
    failures = []
    n = 0
    for name, data, verdict in cases(fmt, corpus("sops-py", fmt)):
        n += 1
        failures += [f"{name}: {p}" for p in _check(tmp_path, fmt, data, verdict)]
    assert n >= 8
    assert not failures, "\n".join(failures)


@pytest.mark.slow
@pytest.mark.skipif(SOPS is None, reason="the sops binary is not on PATH")
@pytest.mark.parametrize("fmt", list(PLAIN))
def test_tamper_sops_files(tmp_path: Path, corpus: Callable[[str, str], bytes], fmt: str) -> None:
    """Files the real sops wrote: the same verdicts, the same exit codes from both tools."""
    failures = []
    for name, data, verdict in cases(fmt, corpus("sops", fmt)):
        failures += [f"{name}: {p}" for p in _check(tmp_path, fmt, data, verdict)]
    assert not failures, "\n".join(failures)


def test_corpus_covers_every_token() -> None:
    """The generator flips each field of each token: a YAML file with 4 values, a comment and the MAC
    gives 6 tokens x 3 fields."""
    fake = (b"# ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:comment]\n"
            + b"".join(b"k%d: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n" % i for i in range(4))
            + b"sops:\n    mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n")
    got = list(_token_flips(fake))
    assert len(got) == 18
    assert sum(1 for _, _, v in got if v == BAD_MAC_TOKEN) == 3
    assert all(d != fake for _, d, _ in got)
