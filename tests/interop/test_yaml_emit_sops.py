"""The YAML emitter against the real sops 3.11 binary.

Three ways to make sops write a given tree T (see the docstring of tests/unit/test_yaml_emit.py):

* direct: T is written as a sops file whose values and sequence comments are ENC tokens made with a
  data key we know (the metadata comes from a file sops encrypted with ``--encrypted-regex '.*'``),
  then ``sops decrypt --ignore-mac`` writes T. Sequence comments are ENC list items in that file, so
  their place does not depend on how yaml.v3 attaches comments; mapping comments stay YAML comments,
  which is exact for comments before a key (trailing mapping comments are re-attached by yaml.v3, so
  the generated trees avoid them below a document's top level);
* fixpoint: sops encrypt + decrypt of our text gives it back, and sops' JSON output has T's values;
* yaml: sops reads a hand-written input (nothing encrypted) and writes it back.
"""

from __future__ import annotations

import atexit
import base64
import functools
import json
import math
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyrage
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyrage import x25519

from sops_py.cipher import Cipher
from sops_py.stores.yaml_emit import emit_documents
from sops_py.tree import Branch, Comment, Time
from tests.interop.sops_helpers import age_key, requires_sops, run_sops
from tests.property.test_yaml_emit_props import documents
from tests.unit.test_yaml_emit import CORPUS, EXPECTED, VALUE_EXPECTED, VALUES

pytestmark = [pytest.mark.interop, requires_sops]

TIMEOUT = 60
_PLACEHOLDER = "__SOPS_METADATA__"


@functools.lru_cache(maxsize=None)
def _config_dir(indent: int | None) -> Path:
    """A working directory whose .sops.yaml sets stores.yaml.indent (none: sops' default)."""
    d = Path(tempfile.mkdtemp(prefix=f"yaml-emit-{indent}-"))
    atexit.register(shutil.rmtree, d, True)
    if indent is not None:
        (d / ".sops.yaml").write_text(f"stores:\n  yaml:\n    indent: {indent}\n")
    return d


def _sops(args: list[str], cwd: Path, stdin: bytes | None = None) -> tuple[int, str, str]:
    r = run_sops(args, input=stdin, cwd=cwd, timeout=TIMEOUT)
    return r.returncode, r.stdout.decode("utf-8", "surrogateescape"), r.stderr.decode("utf-8", "replace")


@functools.lru_cache(maxsize=1)
def _metadata() -> tuple[str, bytes]:
    """The ``sops:`` block of a file sops encrypted for our age key with every path encrypted, and
    that file's data key."""
    secret, recipient = age_key()
    cwd = _config_dir(None)
    src = cwd / "meta.yaml"
    src.write_text("v: x\n")
    rc, out, err = _sops(
        [
            "encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            ".*",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            str(src),
        ],
        cwd,
    )
    assert rc == 0, err
    block = out[out.index("\nsops:\n") + 1 :]
    lines = block.split("\n")
    start = next(i for i, line in enumerate(lines) if "BEGIN AGE ENCRYPTED FILE" in line)
    end = next(i for i, line in enumerate(lines) if "END AGE ENCRYPTED FILE" in line)
    armored = "".join(line.strip() for line in lines[start + 1 : end])
    key = pyrage.decrypt(base64.b64decode(armored), [x25519.Identity.from_str(secret)])
    return block, key


def _encrypt_value(v: Any, path: list[str], cipher: Cipher) -> Any:
    aad = ":".join(path) + ":"
    if isinstance(v, Branch):
        out = Branch()
        for k, x in v:
            if isinstance(k, Comment):
                out.append((k, None))  # stays a YAML comment (sops keeps comments it cannot decrypt)
            else:
                out.append((k, _encrypt_value(x, [*path, str(k)], cipher)))
        return out
    if isinstance(v, list):
        return [
            cipher.encrypt(x, aad) if isinstance(x, Comment) else _encrypt_value(x, path, cipher) for x in v
        ]
    if v is None:
        return None
    return cipher.encrypt(v, aad)


def _encrypted_file(docs: list[Branch]) -> str:
    """``docs`` as a sops file: values and sequence comments encrypted, mapping comments as they are."""
    block, key = _metadata()
    cipher = Cipher(key)
    texts = []
    for doc in docs:
        enc = _encrypt_value(doc, [], cipher)
        enc.append(("sops", _PLACEHOLDER))
        text = emit_documents([enc], 4)
        assert text.endswith(f"sops: {_PLACEHOLDER}\n")
        texts.append(text[: -len(f"sops: {_PLACEHOLDER}\n")] + block)
    return "---\n".join(texts)


# A mapping comment written on the line of a '-' or ':' indicator; yaml.v3 attaches such a comment
# elsewhere when it reads the file back, so these trees cannot be checked with sops_writes.
_REATTACHED_COMMENT = re.compile("(?m)(?:^|[\x85\u2028\u2029]) *[-:] +#")


def _has_leading_comment_item(v: Any) -> bool:
    """A list item that is a mapping starting with comments: yaml.v3 reads those comments back as
    comments of the list (the item's head), so sops_writes would not write this tree."""
    if isinstance(v, Branch):
        return any(_has_leading_comment_item(x) for _, x in v)
    if isinstance(v, list):
        return any(
            (isinstance(x, Branch) and len(x) > 0 and isinstance(x[0][0], Comment))
            or _has_leading_comment_item(x)
            for x in v
        )
    return False


def sops_writes(docs: list[Branch], indent: int | None, extract: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of sops decrypting a file that holds ``docs``."""
    cwd = _config_dir(indent)
    path = cwd / "direct.yaml"
    path.write_text(_encrypted_file(docs), encoding="utf-8", errors="surrogateescape")
    args = ["decrypt", "--ignore-mac", "--input-type", "yaml", "--output-type", "yaml"]
    if extract:
        args += ["--extract", extract]
    return _sops([*args, str(path)], cwd)


def _strip_metadata(text: str) -> str:
    """Each document without its trailing ``sops:`` key."""
    docs = re.split(r"(?m)^---\n", text)
    out = []
    for doc in docs:
        m = re.search(r"(?m)^sops:\n", doc)
        out.append(doc[: m.start()] if m else doc)
    return "---\n".join(out)


def sops_reads_yaml(text: str, indent: int | None) -> tuple[int, str, str]:
    """sops encrypting ``text`` with nothing encrypted: what it writes, metadata stripped."""
    _, recipient = age_key()
    cwd = _config_dir(indent)
    src = cwd / "input.yaml"
    src.write_text(text)
    rc, out, err = _sops(
        [
            "encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            "^NEVER MATCHES$",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            str(src),
        ],
        cwd,
    )
    return rc, _strip_metadata(out), err


def sops_round_trip(text: str, indent: int | None, output_type: str = "yaml") -> str:
    """sops encrypt (all values, age) then sops decrypt of ``text``."""
    _, recipient = age_key()
    cwd = _config_dir(indent)
    src = cwd / "plain.yaml"
    src.write_text(text, encoding="utf-8", errors="surrogateescape")
    rc, enc, err = _sops(
        ["encrypt", "--age", recipient, "--input-type", "yaml", "--output-type", "yaml", str(src)], cwd
    )
    assert rc == 0, err
    enc_path = cwd / "encrypted.yaml"
    enc_path.write_text(enc)
    rc, out, err = _sops(
        ["decrypt", "--input-type", "yaml", "--output-type", output_type, str(enc_path)], cwd
    )
    assert rc == 0, err
    return out


def _json_form(v: Any) -> Any:
    """The tree as sops' JSON output shows it (comments dropped); None where JSON cannot say."""
    if isinstance(v, Branch):
        return {k: _json_form(x) for k, x in v if not isinstance(k, Comment)}
    if isinstance(v, list):
        return [_json_form(x) for x in v if not isinstance(x, Comment)]
    if isinstance(v, Time):
        return v.text
    return v


def _has(v: Any, pred: Any) -> bool:
    if isinstance(v, Branch):
        return any(_has(k, pred) or _has(x, pred) for k, x in v)
    if isinstance(v, list):
        return any(_has(x, pred) for x in v)
    return bool(pred(v))


def _json_unsafe(v: Any) -> bool:
    return isinstance(v, bytes) or (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))


def _same_json(got: Any, want: Any) -> bool:
    """JSON values equal, a float matching the number sops printed for it (Go prints 4.76e+16 as
    47615517759879260)."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and list(got) == list(want)
            and all(_same_json(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same_json, got, want))
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return float(got) == want
    return type(got) is type(want) and bool(got == want)


def check_fixpoint(docs: list[Branch], indent: int | None, expected: str) -> None:
    assert sops_round_trip(expected, indent) == expected
    if len(docs) == 1 and not _has(docs[0], _json_unsafe):
        out = sops_round_trip(expected, indent, "json")
        got = json.loads(out)
        assert _same_json(got, _json_form(docs[0])), (got, docs[0])


# ---- the unit-test corpus, replayed against sops -------------------------------------------------


# cases no oracle can check (sops cannot be made to write those trees) are covered by the unit tests only
ORACLE_CORPUS = [case for case in CORPUS if case[3] != "none"]
ORACLE_VALUES = [case for case in VALUES if case[2] != "none"]  # strings: --extract prints them raw


@pytest.mark.parametrize("name,docs,indent,oracle", ORACLE_CORPUS, ids=[case[0] for case in ORACLE_CORPUS])
def test_corpus_matches_sops(name: str, docs: list[Branch], indent: int, oracle: str) -> None:
    expected = EXPECTED[name]
    if oracle == "direct":
        rc, out, err = sops_writes(docs, indent)
        assert rc == 0, err
        assert out == expected
    elif oracle == "fixpoint":
        assert expected is not None
        check_fixpoint(docs, indent, expected)
    elif oracle.startswith("yaml:"):
        assert expected is not None
        rc, out, err = sops_reads_yaml(oracle[len("yaml:") :], indent)
        assert rc == 0, err
        with_meta = emit_documents([Branch([*d, ("sops", _PLACEHOLDER)]) for d in docs], indent)
        assert out == _strip_metadata(with_meta.replace(f"sops: {_PLACEHOLDER}\n", "sops:\n"))
    elif oracle == "error":
        rc, out, err = sops_writes(docs, indent)
        assert rc != 0 and "cannot encode node with unknown kind 0" in err
    elif oracle.startswith("error-yaml:"):
        rc, out, err = sops_reads_yaml(oracle[len("error-yaml:") :], indent)
        assert rc != 0 and "cannot encode node with unknown kind 0" in err
    else:
        raise AssertionError(f"unknown oracle {oracle}")


@pytest.mark.parametrize("name,value,oracle", ORACLE_VALUES, ids=[case[0] for case in ORACLE_VALUES])
def test_value_corpus_matches_sops(name: str, value: Any, oracle: str) -> None:
    for indent in (None, 2):  # yaml.Marshal ignores stores.yaml.indent
        rc, out, err = sops_writes([Branch([("v", value)])], indent, extract='["v"]')
        assert rc == 0, err
        assert out == VALUE_EXPECTED[name]


# ---- random trees --------------------------------------------------------------------------------

_HYP = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@_HYP
@given(
    st.lists(
        documents(map_trailing=False, comment_only_maps=False, tab_literal=False, merge=False),
        min_size=1,
        max_size=2,
    ),
    st.sampled_from([None, 2, 3]),
)
def test_random_trees_direct(docs: list[Branch], indent: int | None) -> None:
    assume(not _REATTACHED_COMMENT.search(_encrypted_file(docs)))
    assume(not any(_has_leading_comment_item(d) for d in docs))
    try:
        mine = emit_documents(docs, indent or 4)
    except Exception as e:
        assert "cannot encode node with unknown kind 0" in str(e)
        rc, _, err = sops_writes(docs, indent)
        assert rc != 0 and "cannot encode node with unknown kind 0" in err
        return
    rc, out, err = sops_writes(docs, indent)
    assert rc == 0, err
    assert out == mine


@_HYP
@given(
    documents(comments=False, nan=False, binary=False, multiline_lead=False, tab_literal=False, merge=False),
    st.sampled_from([None, 2]),
)
def test_random_trees_fixpoint(doc: Branch, indent: int | None) -> None:
    # -0.0 is written "-0", which reads back as the int 0 (checked by the 'scalars' corpus case).
    assume(not _has(doc, lambda v: isinstance(v, float) and v == 0 and math.copysign(1, v) < 0))
    check_fixpoint([doc], indent, emit_documents([doc], indent or 4))



@requires_sops
def test_kept_literal_ending_in_line_separator_is_written_as_sops_writes_it(tmp_path: Path) -> None:
    """yaml.v3 writes a ``|+`` literal that ends in U+2028 up to that break, with no line feed."""
    import subprocess
    import sys

    from tests.helpers import AGE_RECIPIENT

    src = tmp_path / "ls.json"
    src.write_text('{"a": "\\n\\u2028", "b": 1}')
    args = ["encrypt", "--age", AGE_RECIPIENT, "--unencrypted-regex", "^(a|b)$", "--input-type", "json",
            "--output-type", "yaml", str(src)]
    ours = subprocess.run([sys.executable, "-m", "sops_py", *args], capture_output=True, check=False)
    theirs = run_sops(args)
    assert theirs.returncode == ours.returncode == 0, (ours.stderr, theirs.stderr)
    want = "a: |4+\n\n\u2028b: 1\n".encode()
    assert ours.stdout.split(b"sops:")[0] == theirs.stdout.split(b"sops:")[0] == want
