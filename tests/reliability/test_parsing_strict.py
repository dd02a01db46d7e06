"""Issue 16, defect 6: the parsers are as strict as sops' where sops refuses, and accept what sops
accepts. Each case is run through sops-py (in-process CLI) and, when installed, the real sops on the
same bytes: same verdict, same exit code, and sops-py's message is pinned.

The reference binary reports 3.11; where 3.13 changed a verdict the stricter/compatible choice is
documented in docs/compatibility.md ("Hostile input")."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.cli_harness import run_py
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT
from tests.interop.sops_helpers import SOPS, run_sops

BOM = b"\xef\xbb\xbf"
PLAIN = {
    "json": b'{"a": "secret1", "b": {"c": 2}, "d_unencrypted": "plain"}\n',
    "yaml": b"a: secret1\nb:\n  c: 2\nd_unencrypted: plain\n",
    "dotenv": b"a=secret1\nb=2\n",
    "ini": b"[s]\n; note\na = secret1\nb = 2\n",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(AGE_KEY_FILE)
    return env


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each store's file encrypted by sops-py (the bytes every case mutates)."""
    d = tmp_path_factory.mktemp("strict")
    out = {}
    for fmt, data in PLAIN.items():
        p = d / f"plain.{fmt}"
        p.write_bytes(data)
        r = run_py(["encrypt", "--age", AGE_RECIPIENT, "--input-type", fmt, "--output-type", fmt, p], env=_env())
        assert r.code == 0, r.err
        out[fmt] = r.out.encode()
    return out


def _both(tmp_path: Path, fmt: str, data: bytes, *args: str) -> tuple[tuple[int, str, str], tuple[int, str, str] | None]:
    p = tmp_path / f"case.{'env' if fmt == 'dotenv' else fmt}"
    p.write_bytes(data)
    argv = [*args, "--input-type", fmt, "--output-type", fmt, str(p)]
    py = run_py(argv, env=_env())
    go = None
    if SOPS is not None:
        r = run_sops(argv, env=_env())
        go = (r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))
    return (py.code, py.out, py.err), go


def _json_meta(extra: str) -> Callable[[bytes], bytes]:
    return lambda b: b.replace(b'\t\t"lastmodified"', f"\t\t{extra},\n\t\t\"lastmodified\"".encode(), 1)


def _yaml_meta(extra: str) -> Callable[[bytes], bytes]:
    return lambda b: b.replace(b"    lastmodified", f"    {extra}\n    lastmodified".encode(), 1)


# (id, store, mutation, exit code, sops-py message (a regex) or None when accepted)
REFUSED: list[tuple[str, str, Callable[[bytes], bytes], int, str]] = [
    ("json-trailing-garbage", "json", lambda b: b + b"garbage\n", 1,
     r"^Error unmarshalling input json: invalid character 'g' after top-level value$"),
    ("json-second-object", "json", lambda b: b + b"{}\n", 1,
     r"^Error unmarshalling input json: invalid character '\{' after top-level value$"),
    ("json-truncated", "json", lambda b: b[: b.index(b'"sops"') + 20], 1, r"unmarshal"),
    ("json-cut-after-value", "json", lambda b: b[: b.index(b'"sops":') + 7], 1,
     r"^Error unmarshalling input json: unexpected end of JSON input$"),
    ("json-shamir-string", "json", _json_meta('"shamir_threshold": "1"'), 1,
     r"^Error unmarshalling input json: json: cannot unmarshal string into Go struct field "
     r"Metadata\.sops\.shamir_threshold of type int$"),
    ("json-shamir-float", "json", _json_meta('"shamir_threshold": 1.5'), 1,
     r"cannot unmarshal number 1\.5 into Go struct field Metadata\.sops\.shamir_threshold of type int$"),
    ("json-shamir-too-big", "json", _json_meta('"shamir_threshold": 99999999999999999999'), 1,
     r"cannot unmarshal number .* into Go struct field Metadata\.sops\.shamir_threshold of type int$"),
    ("json-key-groups-object", "json", _json_meta('"key_groups": {"a": 1}'), 1,
     r"cannot unmarshal object into Go struct field Metadata\.sops\.key_groups of type \[\]stores\.keygroup$"),
    ("json-age-object", "json", lambda b: re.sub(rb'"age": \[.*?\]', b'"age": {"x": 1}', b, flags=re.S), 1,
     r"cannot unmarshal object into Go struct field Metadata\.sops\.age of type \[\]stores\.agekey$"),
    ("json-mac-number", "json", lambda b: re.sub(rb'"mac": "[^"]*"', b'"mac": 5', b), 1,
     r"cannot unmarshal number into Go struct field Metadata\.sops\.mac of type string$"),
    ("json-version-number", "json", lambda b: re.sub(rb'"version": "[^"]*"', b'"version": 3', b), 1,
     r"cannot unmarshal number into Go struct field Metadata\.sops\.version of type string$"),
    ("yaml-double-bom", "yaml", lambda b: BOM + BOM + b, 1, r"^yaml: line 1: did not find expected key$"),
    ("yaml-shamir-string", "yaml", _yaml_meta('shamir_threshold: "1"'), 1,
     r"cannot unmarshal !!str `1` into int \(sops\.shamir_threshold\)$"),
    ("yaml-shamir-word", "yaml", _yaml_meta("shamir_threshold: abc"), 1,
     r"cannot unmarshal !!str `abc` into int \(sops\.shamir_threshold\)$"),
    ("yaml-shamir-too-big", "yaml", _yaml_meta("shamir_threshold: 99999999999999999999"), 1,
     r"into int \(sops\.shamir_threshold\)$"),
    ("yaml-key-groups-map", "yaml", _yaml_meta("key_groups: {a: 1}"), 1,
     r"cannot unmarshal !!map into \[\]stores\.keygroup \(sops\.key_groups\)$"),
]


def _dup_env_line(prefix: bytes, replacement: bytes | None = None) -> Callable[[bytes], bytes]:
    def mutate(b: bytes) -> bytes:
        line = next(x for x in b.splitlines() if x.startswith(prefix))
        return b + (replacement if replacement is not None else line) + b"\n"
    return mutate


def _dup_ini_comment(b: bytes) -> bytes:
    lines = b.splitlines(keepends=True)
    i = next(n for n, x in enumerate(lines) if x.startswith(b"; ENC["))
    return b"".join([*lines[: i + 1], lines[i], *lines[i + 1:]])


ACCEPTED: list[tuple[str, str, Callable[[bytes], bytes], bytes]] = [
    ("dotenv-duplicate-lastmodified", "dotenv", _dup_env_line(b"sops_lastmodified="), b"a=secret1\nb=2\n"),
    ("dotenv-duplicate-mac", "dotenv", _dup_env_line(b"sops_mac="), b"a=secret1\nb=2\n"),
    ("dotenv-duplicate-suffix-last-wins", "dotenv",
     _dup_env_line(b"sops_unencrypted_suffix=", b"sops_unencrypted_suffix=_other"), b"a=secret1\nb=2\n"),
    ("ini-duplicate-lastmodified", "ini", lambda b: b + next(
        x for x in b.splitlines() if x.startswith(b"lastmodified")) + b"\n", PLAIN["ini"]),
    # go-ini joins the two comment lines into one comment; Go's regexp reads its first token
    ("ini-encrypted-comment-twice", "ini", _dup_ini_comment, b"[s]\n; note\na = secret1\nb = 2\n"),
    ("yaml-single-bom", "yaml", lambda b: BOM + b, b"a: secret1\nb:\n    c: 2\nd_unencrypted: plain\n"),
    ("json-trailing-whitespace", "json", lambda b: b + b"\n \t\r\n", None),  # type: ignore[list-item]
]


@pytest.mark.parametrize("name,fmt,mutate,code,message", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_as_sops(tmp_path: Path, encrypted: dict[str, bytes], name: str, fmt: str,
                         mutate: Callable[[bytes], bytes], code: int, message: str) -> None:
    (py_code, py_out, py_err), go = _both(tmp_path, fmt, mutate(encrypted[fmt]), "decrypt")
    assert py_code == code, py_err
    assert py_out == ""
    assert re.search(message, py_err.strip()), py_err
    assert "Traceback" not in py_err and "secret1" not in py_err
    if go is not None:
        assert go[0] == code, go[2]


@pytest.mark.parametrize("name,fmt,mutate,expected", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_as_sops(tmp_path: Path, encrypted: dict[str, bytes], name: str, fmt: str,
                          mutate: Callable[[bytes], bytes], expected: bytes | None) -> None:
    (py_code, py_out, py_err), go = _both(tmp_path, fmt, mutate(encrypted[fmt]), "decrypt")
    assert py_code == 0, py_err
    if expected is not None:
        assert py_out.encode() == expected
    assert "ENC[" not in py_out
    if go is not None:
        assert go[0] == 0, go[2]
        assert go[1] == py_out


@pytest.mark.parametrize("text,verdict", [
    (BOM + BOM + b"a: 1\n", None),  # one line: the second BOM only indents it
    (BOM + BOM + b"a:\n  b: 1\n", None),
    (BOM + BOM + b"a: 1\n b: 2\n", None),
    (BOM + BOM + b"a: 1\nb: 2\n", "yaml: line 1: did not find expected key"),
    (BOM + BOM + b"a: 1\n# c\n", "yaml: line 1: did not find expected key"),
    (BOM + BOM + b"- 1\n- 2\n", "yaml: line 1: did not find expected '-' indicator"),
], ids=["one-line", "nested", "indented-sibling", "sibling", "comment", "sequence"])
def test_double_bom_plain_yaml(tmp_path: Path, text: bytes, verdict: str | None) -> None:
    p = tmp_path / "v.yaml"
    p.write_bytes(text)
    argv = ["encrypt", "--age", AGE_RECIPIENT, str(p)]
    py = run_py(argv, env=_env())
    if verdict is None:
        assert py.code == 0, py.err
    else:
        assert py.code == 2 and py.err.strip() == f"Error unmarshalling file: {verdict}"
    if SOPS is not None:
        go = run_sops(argv, env=_env())
        assert go.returncode == py.code, go.stderr
        if verdict is not None:
            assert go.stderr.decode().strip() == py.err.strip()


def test_plain_json_trailing_data_still_accepted(tmp_path: Path) -> None:
    """sops reads a plain JSON file with its token reader, which stops after the object."""
    p = tmp_path / "p.json"
    p.write_bytes(PLAIN["json"] + b"garbage")
    argv = ["encrypt", "--age", AGE_RECIPIENT, str(p)]
    assert run_py(argv, env=_env()).code == 0
    if SOPS is not None:
        assert run_sops(argv, env=_env()).returncode == 0
