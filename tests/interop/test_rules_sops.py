"""Every crypt rule, every store, against the real sops binary (3.11.0+, "bin" in the spec).

For each store (YAML with maps, lists, lists of maps, nesting, comments at every level and two documents;
JSON; dotenv; INI) and each rule (the default ``_unencrypted`` suffix, unencrypted_suffix, encrypted_suffix,
unencrypted_regex, encrypted_regex, unencrypted_comment_regex, encrypted_comment_regex, mac_only_encrypted):

* both tools encrypt the same input with the same flags and exit alike;
* the SET of encrypted leaves and comment lines is the same: every ``ENC[...]`` is masked to its type, the
  metadata section is cut, and the masked texts must be equal;
* the metadata records the same rule;
* bin decrypts our file (MAC verified) to the bytes it decrypts its own file to;
* sops-py decrypts bin's file to those same bytes.

Then rules from ``.sops.yaml`` creation rules (flags win when non-empty; conflicts exit 8 for flags and 1
for a creation rule), rules in file metadata (more than one is a load error), the RE2 regex semantics
(checked against bin's own matching), the comment-regex corner cases, and the binary store, which ignores
every rule with a warning and writes no default suffix.

Known differences between bin and sops 3.13.2 (which sops-py follows), asserted below:

* JSON numbers: bin encrypts ``1`` as ``type:float``, 3.13 as ``type:int`` (masks compare them as one type);
* ``sops --mac-only-encrypted encrypt``: bin ignores the global flag for the subcommand, 3.13 honours it;
* the ``version`` metadata value and the order of metadata keys (not compared).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sops_py import goregexp
from sops_py.metadata import CRYPT_RULES, Metadata
from sops_py.stores import get_store
from tests.interop.sops_helpers import age_key, requires_sops, run_sops, sops_env

pytestmark = [pytest.mark.interop, requires_sops]

FMT_OF_EXT = {".yaml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini", ".bin": "binary"}

YAML_DOC = b"""\
# file header
# sops:enc
top_secret: s1
plain: p1
pub_key: k
pw_enc: hunter2
nested:
    # sops:clear
    meta_unencrypted:
        a: 1
        b: [x, y]
    inner:
        # sops:enc
        deep: 1.5
        other: true
        # trailing in inner
    pw: null
    date: 2024-01-02
    # sops:clear
    # another line
    clear_block:
        k: v
list:
    # sops:enc
    - item1
    - item2
    - name: n1
      # sops:clear
      secret_value: v
      pw_enc: q
    - - nested_in_list
      # sops:enc
      - after
    - pub_item: 7
empty_map: {}
empty_list: []
empty_string: ""
---
# second document
# sops:enc
k: v
pub: [1, 2]
doc2_unencrypted: clear
"""
JSON_DOC = b"""{
  "top_secret": "s1",
  "plain": "p1",
  "pub_key": "k",
  "pw_enc": "hunter2",
  "nested": {"meta_unencrypted": {"a": 1, "b": ["x", "y"]}, "inner": {"deep": 1.5, "other": true},
             "pw": null},
  "list": ["item1", {"name": "n1", "secret_value": "v", "pw_enc": "q"}, [["deep"], 2.5], {"pub_item": false}],
  "empty_map": {},
  "empty_list": [],
  "empty_string": ""
}
"""
ENV_DOC = b"""\
# file header
# sops:enc
TOP_SECRET=s1
PLAIN=p1
pub_key=k
pw_enc=hunter2
# sops:clear
meta_unencrypted=m
# sops:clear
# another line
CLEAR_BLOCK=c
MULTI=a\\nb
EMPTY=
"""
INI_DOC = b"""\
; file header
top = 1
pub_top = 2

[section]
; sops:enc
pw_enc = x
pub_key = k
secret = s
; sops:clear
other = o

[meta_unencrypted]
a = 1
; trailing

[pub_section]
; sops:clear
k = v
"""
DOCS = {".yaml": YAML_DOC, ".json": JSON_DOC, ".env": ENV_DOC, ".ini": INI_DOC}

# (id, flags, legacy form needed): the comment-regex flags and --mac-only-encrypted exist in bin's legacy form only
RULE_CASES: list[tuple[str, list[str], bool]] = [
    ("default", [], False),
    ("unencrypted_suffix", ["--unencrypted-suffix", "_key"], False),
    ("encrypted_suffix", ["--encrypted-suffix", "_enc"], False),
    ("unencrypted_regex", ["--unencrypted-regex", "^(pub|meta)"], False),
    ("encrypted_regex", ["--encrypted-regex", "^(pw|top|secret|deep|k$|inner)"], False),
    ("unencrypted_comment_regex", ["--unencrypted-comment-regex", "sops:clear"], True),
    ("encrypted_comment_regex", ["--encrypted-comment-regex", "sops:enc"], True),
    ("mac_only_encrypted", ["--mac-only-encrypted"], True),
    ("mac_only_encrypted+encrypted_suffix", ["--mac-only-encrypted", "--encrypted-suffix", "_enc"], True),
    ("mac_only_encrypted+encrypted_comment_regex",
     ["--mac-only-encrypted", "--encrypted-comment-regex", "sops:enc"], True),
]

_ENC = re.compile(rb"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]*,tag:[A-Za-z0-9+/=]*,type:(\w+)\]")


# ------------------------------------------------------------------ running both tools

def env_for(tmp_path: Path) -> dict[str, str]:
    return sops_env(home=tmp_path / "home")


def run_py(args: Sequence[str | os.PathLike[str]], env: dict[str, str], cwd: Path,
           input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sops_py", *map(str, args)], input=input, capture_output=True,
                          env=env, cwd=cwd, timeout=120, check=False)


def recipient() -> str:
    return age_key()[1]


def encrypt_args(flags: Sequence[str], path: Path, legacy: bool) -> list[str]:
    if legacy:
        return ["-e", *flags, "--age", recipient(), str(path)]
    return ["encrypt", *flags, "--age", recipient(), str(path)]


def last_line(stderr: bytes) -> str:
    """The last non-blank line of an error, with ciphertexts masked."""
    text = _ENC.sub(b"ENC[...]", stderr).decode("utf-8", "replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def log_messages(stderr: bytes) -> list[str]:
    """The msg= texts of bin's logrus lines and of ours (``level=... msg=TEXT``)."""
    out = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        m = re.search(r'msg="(.*)"$', line) or re.search(r"msg=(.*)$", line)
        if m:
            out.append(m.group(1).replace('\\"', '"'))
    return out


# ------------------------------------------------------------------ masking

def mask(data: bytes, fmt: str) -> str:
    """The document with every ENC value replaced by ``ENC<type>`` and the metadata cut."""
    masked = _ENC.sub(lambda m: b"ENC<" + m.group(1) + b">", data)
    if fmt in ("json", "binary"):
        masked = masked.replace(b"ENC<float>", b"ENC<number>").replace(b"ENC<int>", b"ENC<number>")
    lines = masked.decode("utf-8", "surrogateescape").split("\n")
    out: list[str] = []
    skipping = False
    for line in lines:
        if fmt == "yaml":
            if line == "---":
                skipping = False
            elif line.startswith("sops:"):
                skipping = True
        elif fmt == "dotenv":
            skipping = line.startswith("sops_")
        elif fmt == "ini":
            if line.startswith("["):
                skipping = line == "[sops]"
        if not skipping:
            out.append(line)
    text = "\n".join(out)
    if fmt in ("json", "binary"):
        doc = json.loads(text, object_pairs_hook=lambda pairs: [(k, v) for k, v in pairs if k != "sops"])
        return json.dumps(doc)
    return text


def metadata_of(data: bytes, fmt: str) -> Metadata:
    _, md = get_store(fmt).load_encrypted(data)
    return md


def rule_fields(md: Metadata) -> dict[str, Any]:
    fields: dict[str, Any] = {name: getattr(md, name) for name in CRYPT_RULES}
    fields["mac_only_encrypted"] = md.mac_only_encrypted
    return fields


# ------------------------------------------------------------------ the comparison

def compare_encrypt(tmp_path: Path, name: str, data: bytes, flags: Sequence[str], legacy: bool = False,
                    env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[bytes, bytes]:
    """Encrypt with both tools and check everything the module docstring lists; returns (bin's, ours)."""
    env = env or env_for(tmp_path)
    cwd = cwd or tmp_path
    fmt = FMT_OF_EXT[Path(name).suffix]
    src = cwd / name
    src.write_bytes(data)
    args = encrypt_args(flags, src, legacy)
    theirs = run_sops(args, env=env, cwd=cwd)
    ours = run_py(args, env, cwd)
    assert ours.returncode == theirs.returncode, (theirs.stderr, ours.stderr)
    assert b"Traceback" not in ours.stderr, ours.stderr
    if theirs.returncode != 0:
        assert last_line(ours.stderr) == last_line(theirs.stderr)
        return theirs.stdout, ours.stdout
    assert mask(ours.stdout, fmt) == mask(theirs.stdout, fmt)
    assert rule_fields(metadata_of(ours.stdout, fmt)) == rule_fields(metadata_of(theirs.stdout, fmt))

    ext = Path(name).suffix
    their_file, our_file = cwd / ("theirs.enc" + ext), cwd / ("ours.enc" + ext)
    their_file.write_bytes(theirs.stdout)
    our_file.write_bytes(ours.stdout)
    bin_own = run_sops(["decrypt", their_file], env=env, cwd=cwd)
    bin_ours = run_sops(["decrypt", our_file], env=env, cwd=cwd)
    py_theirs = run_py(["decrypt", their_file], env, cwd)
    assert bin_own.returncode == 0, bin_own.stderr
    assert bin_ours.returncode == 0, bin_ours.stderr
    assert bin_ours.stdout == bin_own.stdout
    assert py_theirs.returncode == 0, py_theirs.stderr
    assert py_theirs.stdout == bin_own.stdout
    return theirs.stdout, ours.stdout


@pytest.mark.parametrize("ext", list(DOCS))
@pytest.mark.parametrize(("flags", "legacy"), [(c[1], c[2]) for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_rule_matrix(tmp_path: Path, ext: str, flags: list[str], legacy: bool) -> None:
    compare_encrypt(tmp_path, "doc" + ext, DOCS[ext], flags, legacy)


def test_the_matrix_really_exercises_each_rule(tmp_path: Path) -> None:
    """Guard against a vacuous matrix: each rule encrypts a different subset of YAML_DOC with bin."""
    env = env_for(tmp_path)
    src = tmp_path / "doc.yaml"
    src.write_bytes(YAML_DOC)
    masks = {}
    for case_id, flags, legacy in RULE_CASES:
        if case_id.startswith("mac_only_encrypted"):
            continue
        out = run_sops(encrypt_args(flags, src, legacy), env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        masks[case_id] = mask(out.stdout, "yaml")
        assert "ENC<" in masks[case_id], case_id
    assert len(set(masks.values())) == len(masks)


# ------------------------------------------------------------------ comment-regex corner cases

def test_encrypted_comment_matching_unencrypted_comment_regex_is_refused(tmp_path: Path) -> None:
    # every comment gets encrypted, and each ENC[AES256_GCM,...] matches "AES": sops refuses (exit 23)
    compare_encrypt(tmp_path, "c.yaml", b"# hello\na: 1\n", ["--unencrypted-comment-regex", "AES"], legacy=True)
    out = run_py(["-e", "--unencrypted-comment-regex", "AES", "--age", recipient(), "c.yaml"], env_for(tmp_path),
                 tmp_path)
    assert out.returncode == 23
    assert out.stderr.decode().startswith('Error encrypting tree: Error walking tree: Encrypted comment "ENC[')
    assert out.stderr.decode().rstrip().endswith(
        "matches UnencryptedCommentRegex! Make sure that UnencryptedCommentRegex cannot match an encrypted comment.")


@pytest.mark.parametrize("ext", [".yaml", ".env", ".ini"])
def test_comment_regexes_with_stacked_comments(tmp_path: Path, ext: str) -> None:
    docs = {
        ".yaml": b"# a\n# mark\n# b\nk1: v\nk2: v\nm:\n    # mark\n    x: 1\n    # other\n    y: 2\n# mark\n",
        ".env": b"# a\n# mark\n# b\nK1=v\nK2=v\n# mark\n",
        ".ini": b"; a\nk0 = 0\n[s]\n; mark\n; b\nk1 = v\nk2 = v\n; mark\n",
    }
    for flag in ("--encrypted-comment-regex", "--unencrypted-comment-regex"):
        compare_encrypt(tmp_path, "s" + ext, docs[ext], [flag, "mark"], legacy=True)


def test_encrypted_comments_inside_lists_break_decryption_as_in_sops(tmp_path: Path) -> None:
    """In a list an encrypted comment becomes a string item: on decrypt it no longer counts as a comment, so
    the item after it is not decrypted and the MAC fails. sops-py reproduces this (same exit, same text
    with --ignore-mac)."""
    env = env_for(tmp_path)
    src = tmp_path / "l.yaml"
    src.write_bytes(b"list:\n    # secret-marker\n    # other comment\n    - x\n    - y\n")
    args = ["-e", "--encrypted-comment-regex", "secret", "--age", recipient(), str(src)]
    theirs, ours = run_sops(args, env=env, cwd=tmp_path), run_py(args, env, tmp_path)
    assert theirs.returncode == ours.returncode == 0
    assert mask(ours.stdout, "yaml") == mask(theirs.stdout, "yaml")
    for name, data in (("t.yaml", theirs.stdout), ("o.yaml", ours.stdout)):
        (tmp_path / name).write_bytes(data)
        strict = run_sops(["decrypt", name], env=env, cwd=tmp_path), run_py(["decrypt", name], env, tmp_path)
        assert strict[0].returncode == strict[1].returncode == 51
        loose = (run_sops(["decrypt", "--ignore-mac", name], env=env, cwd=tmp_path),
                 run_py(["decrypt", "--ignore-mac", name], env, tmp_path))
        assert loose[0].returncode == loose[1].returncode == 0
        assert loose[1].stdout == loose[0].stdout
        assert b"- ENC[AES256_GCM" in loose[1].stdout


def test_empty_comment_in_a_list_becomes_an_empty_string(tmp_path: Path) -> None:
    _, ours = compare_encrypt(tmp_path, "e.yaml", b"l:\n    #\n    - a\nm:\n    #\n    k: v\n", [])
    assert b'- ""' in ours
    # a rule that leaves the empty comment clear keeps it a comment
    compare_encrypt(tmp_path, "e.yaml", b"l:\n    #\n    - a\n", ["--unencrypted-comment-regex", "^$"], legacy=True)


# ------------------------------------------------------------------ rules from .sops.yaml

def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".sops.yaml"
    path.write_text(text.replace("RECIPIENT", recipient()))
    return path


CONFIG = """\
creation_rules:
  - path_regex: unenc_suffix\\.yaml$
    age: RECIPIENT
    unencrypted_suffix: _key
  - path_regex: enc_suffix\\.yaml$
    age: RECIPIENT
    encrypted_suffix: _enc
  - path_regex: unenc_regex\\.yaml$
    age: RECIPIENT
    unencrypted_regex: ^(pub|meta)
  - path_regex: enc_regex\\.yaml$
    age: RECIPIENT
    encrypted_regex: ^pw
  - path_regex: unenc_comment\\.yaml$
    age: RECIPIENT
    unencrypted_comment_regex: sops:clear
  - path_regex: enc_comment\\.yaml$
    age: RECIPIENT
    encrypted_comment_regex: sops:enc
  - path_regex: maconly\\.yaml$
    age: RECIPIENT
    mac_only_encrypted: true
    encrypted_suffix: _enc
  - path_regex: two_rules\\.yaml$
    age: RECIPIENT
    encrypted_regex: ^pw
    unencrypted_suffix: _key
  - path_regex: bad_regex\\.yaml$
    age: RECIPIENT
    encrypted_regex: "(unclosed"
  - path_regex: \\.(env|ini|json|bin)$
    age: RECIPIENT
    encrypted_regex: ^(pw|secret|k$)
    mac_only_encrypted: true
"""


@pytest.mark.parametrize("name", ["unenc_suffix.yaml", "enc_suffix.yaml", "unenc_regex.yaml", "enc_regex.yaml",
                                  "unenc_comment.yaml", "enc_comment.yaml", "maconly.yaml", "two_rules.yaml",
                                  "bad_regex.yaml", "x.env", "x.ini", "x.json"])
def test_creation_rules(tmp_path: Path, name: str) -> None:
    _config(tmp_path, CONFIG)
    (tmp_path / name).write_bytes(DOCS.get(Path(name).suffix, YAML_DOC))
    env = env_for(tmp_path)
    theirs = run_sops(["encrypt", name], env=env, cwd=tmp_path)
    ours = run_py(["encrypt", name], env, tmp_path)
    assert ours.returncode == theirs.returncode, (theirs.stderr, ours.stderr)
    if theirs.returncode:
        assert last_line(ours.stderr) == last_line(theirs.stderr)
        return
    fmt = FMT_OF_EXT[Path(name).suffix]
    assert mask(ours.stdout, fmt) == mask(theirs.stdout, fmt)
    assert rule_fields(metadata_of(ours.stdout, fmt)) == rule_fields(metadata_of(theirs.stdout, fmt))
    (tmp_path / ("o" + name)).write_bytes(ours.stdout)
    (tmp_path / ("t" + name)).write_bytes(theirs.stdout)
    bin_ours = run_sops(["decrypt", "o" + name], env=env, cwd=tmp_path)
    bin_own = run_sops(["decrypt", "t" + name], env=env, cwd=tmp_path)
    py_theirs = run_py(["decrypt", "t" + name], env, tmp_path)
    assert bin_ours.returncode == bin_own.returncode == py_theirs.returncode == 0
    assert bin_ours.stdout == bin_own.stdout == py_theirs.stdout


def test_two_rules_in_a_creation_rule_is_sops_error(tmp_path: Path) -> None:
    _config(tmp_path, CONFIG)
    (tmp_path / "two_rules.yaml").write_bytes(b"a: 1\n")
    out = run_py(["encrypt", "two_rules.yaml"], env_for(tmp_path), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "error loading config: cannot use more than one of encrypted_suffix, unencrypted_suffix, "
        "encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule")


@pytest.mark.parametrize(("name", "flags", "legacy"), [
    # a non-empty flag of the same kind wins over the rule
    ("enc_regex.yaml", ["--encrypted-regex", "^(top|k$)"], False),
    ("unenc_suffix.yaml", ["--unencrypted-suffix", "_enc"], False),
    ("enc_comment.yaml", ["--encrypted-comment-regex", "sops:clear"], True),
    # an empty flag leaves the rule in force
    ("enc_regex.yaml", ["--encrypted-regex", ""], False),
    ("enc_suffix.yaml", ["--unencrypted-suffix="], False),
    # a flag of another kind plus the rule: two rules (exit 8)
    ("enc_regex.yaml", ["--unencrypted-suffix", "_key"], False),
    ("enc_suffix.yaml", ["--unencrypted-comment-regex", "x"], True),
    ("unenc_comment.yaml", ["--encrypted-regex", "x"], False),
    # more than one rule among the flags alone
    ("plain.yaml", ["--encrypted-regex", "a", "--unencrypted-regex", "b"], False),
    ("plain.yaml", ["--encrypted-comment-regex", "a", "--encrypted-suffix", "b"], True),
    ("plain.yaml", ["--encrypted-comment-regex", "a", "--unencrypted-comment-regex", "b"], True),
    # --mac-only-encrypted ORs with the rule (the rule's mac_only_encrypted cannot be switched off)
    ("maconly.yaml", [], False),
    ("enc_suffix.yaml", ["--mac-only-encrypted"], True),
])
def test_flags_and_creation_rules(tmp_path: Path, name: str, flags: list[str], legacy: bool) -> None:
    text = CONFIG.replace("creation_rules:\n", "creation_rules:\n  - path_regex: plain\\.yaml$\n    age: RECIPIENT\n")
    _config(tmp_path, text)
    compare_encrypt(tmp_path, name, YAML_DOC, flags, legacy)


def test_flag_conflicts_exit_8_with_sops_message(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_bytes(b"a: 1\n")
    out = run_py(["encrypt", "--encrypted-regex", "a", "--encrypted-suffix", "b", "--age", recipient(), "f.yaml"],
                 env_for(tmp_path), tmp_path)
    assert out.returncode == 8
    assert last_line(out.stderr) == (
        "Error: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, "
        "unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file")


def test_global_mac_only_encrypted_for_the_encrypt_subcommand(tmp_path: Path) -> None:
    """3.13 reads ``sops --mac-only-encrypted encrypt``; bin ignores it. Ours follows 3.13, and bin reads it."""
    env = env_for(tmp_path)
    (tmp_path / "f.yaml").write_bytes(b"a: 1\nb_unencrypted: 2\n")
    args = ["--mac-only-encrypted", "encrypt", "--age", recipient(), "f.yaml"]
    theirs, ours = run_sops(args, env=env, cwd=tmp_path), run_py(args, env, tmp_path)
    assert theirs.returncode == ours.returncode == 0
    assert not metadata_of(theirs.stdout, "yaml").mac_only_encrypted  # bin
    assert metadata_of(ours.stdout, "yaml").mac_only_encrypted  # 3.13
    (tmp_path / "o.yaml").write_bytes(ours.stdout)
    dec = run_sops(["decrypt", "o.yaml"], env=env, cwd=tmp_path)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout == b"a: 1\nb_unencrypted: 2\n"
    # 3.13's subcommand flag too (bin: "flag provided but not defined")
    sub = run_py(["encrypt", "--mac-only-encrypted", "--age", recipient(), "f.yaml"], env, tmp_path)
    assert sub.returncode == 0 and metadata_of(sub.stdout, "yaml").mac_only_encrypted
    assert run_sops(["encrypt", "--mac-only-encrypted", "--age", recipient(), "f.yaml"], env=env,
                    cwd=tmp_path).returncode == 1


# ------------------------------------------------------------------ rules in file metadata

def _add_metadata_line(data: bytes, line: bytes) -> bytes:
    head, sep, tail = data.partition(b"\nsops:\n")
    assert sep
    return head + sep + line + b"\n" + tail


@pytest.mark.parametrize("extra", [b"    unencrypted_suffix: _x", b"    encrypted_comment_regex: x",
                                   b"    encrypted_suffix: \"\""])
def test_rules_in_metadata(tmp_path: Path, extra: bytes) -> None:
    """More than one rule in the metadata is an error on load (exit 1); an empty value is no rule."""
    env = env_for(tmp_path)
    (tmp_path / "f.yaml").write_bytes(YAML_DOC)
    enc = run_sops(["encrypt", "--encrypted-regex", "^pw", "--age", recipient(), "f.yaml"], env=env, cwd=tmp_path)
    assert enc.returncode == 0, enc.stderr
    (tmp_path / "g.yaml").write_bytes(_add_metadata_line(enc.stdout, extra))
    for args in (["decrypt", "g.yaml"], ["decrypt", "--ignore-mac", "g.yaml"]):
        theirs, ours = run_sops(args, env=env, cwd=tmp_path), run_py(args, env, tmp_path)
        assert ours.returncode == theirs.returncode, (theirs.stderr, ours.stderr)
        assert ours.stdout == theirs.stdout
        assert last_line(ours.stderr) == last_line(theirs.stderr)


@pytest.mark.parametrize("flags", [["--encrypted-regex", "(unclosed"], ["--unencrypted-regex", "(unclosed"],
                                   ["--unencrypted-regex", r"\1"], ["--encrypted-regex", "(?=pw)"]])
def test_regex_sops_cannot_compile_matches_nothing(tmp_path: Path, flags: list[str]) -> None:
    """Go's regexp.Match ignores the compile error: such a rule matches no key (and the file is written)."""
    compare_encrypt(tmp_path, "r.yaml", YAML_DOC, flags)


# ------------------------------------------------------------------ RE2 semantics, with bin as the oracle

REGEX_KEYS = ["a", "A", "ab", "abc", "b", "a\n", "\na", "x1", "1", "\u0663", "_", "a b", "a.b", "a-b", "\u00e9",
              "\u00c9", "\u017f", "\u212a", "k", "{", "{2}", "aa", "aaa", "$", "^", "\\", "x\ny", "ab\n", "Ab", "[",
              "]", "-", "tab\t", "\u03b1\u03b2", "\u03a9", "\U0001f600", "a,b", "foo_bar", "foobar", "bar", "\x00",
              ":", "a{,2}", "}", "v\x0b"]
REGEX_PATTERNS = [
    r"a$", r"^a", r"\d", r"\w", r"\s", r"\bb", r"a\z", r"(?i)ab", r"a(?i)b", r"(?i:a)b", r"a{,2}", r"a{2}",
    r"a{1001}", r"(", r"\1", r"(a)\1", r"(?=a)", r"(?<n>a)", r"(?P<1>a)", r"[[:digit:]]", r"[[:alpha:]]+$",
    r"[^[:alpha:]]", r"\pL", r"\p{Lu}", r"\PL", r"\x{3A9}", r"\x41", r"\Qa.b\E", r"a.b", r"(?s)x.y", r"x.y",
    r"(?m)a$", r"(?m)^y", r"(?U)a+", r"a**", r"a*?", r"[a-]", r"[]a]", r"[^]a]", r"\e", r"\_", r"\-", r"\Z",
    r"[\d]", r"[\D]", r"[a\-z]", r"\101", r"\0", r"[a-b-c]", r"(?i)K", r"(?i)s", r"^$", r"(?i)\u00e9",
    r"[[:foo:]]", r"[[:alpha]", r"a{2,1}", r"a++", r"(?i", r"(?)", r"(?-)", r"(?i-)", r"(?:a)", r"x*", r"\pN",
    r"\p{^L}", r"[\p{Lu}]", r"\C", r"\v", r"\b", r"\B", r"^\B$", r"}", r"a|*", r"[\s]", r"\S+$", r"(?i)[a-c]+$",
    "\u00e9", r"(?-s:.)", r"[^\n]", r"\W",
]


def test_rule_regexes_follow_go_regexp(tmp_path: Path) -> None:
    """For each pattern, bin's encrypted_regex tells which JSON keys Go's regexp matches; ours must agree."""
    env = env_for(tmp_path)
    src = tmp_path / "keys.json"
    src.write_text(json.dumps({k: "v" for k in REGEX_KEYS}))
    failures = []
    for pattern in REGEX_PATTERNS:
        out = run_sops(["encrypt", "--encrypted-regex", pattern, "--age", recipient(), src], env=env, cwd=tmp_path)
        assert out.returncode == 0, (pattern, out.stderr)
        doc = json.loads(out.stdout)
        go = {k for k in REGEX_KEYS if doc[k] != "v"}
        py = {k for k in REGEX_KEYS if goregexp.search(pattern, k)}
        if go != py:
            failures.append((pattern, sorted(go - py), sorted(py - go)))
    assert failures == []


def test_unicode_script_classes_are_not_supported() -> None:
    """Known difference: Python's re has no Unicode scripts; such a pattern matches nothing (with a warning)."""
    assert goregexp.compile_go(r"\p{Greek}") is None
    assert goregexp.search(r"\p{Greek}", "\u03a9") is False


# ------------------------------------------------------------------ the binary store

BINARY_FLAG_CASES: list[tuple[list[str], bool]] = [
    ([], False),
    (["--unencrypted-suffix", "_u"], False),
    (["--encrypted-suffix", "_e"], False),
    (["--unencrypted-regex", "x"], False),
    (["--encrypted-regex", "x"], False),
    (["--encrypted-regex", "x", "--unencrypted-regex", "y"], False),  # no conflict: both are dropped first
    (["--unencrypted-comment-regex", "x"], True),
    (["--encrypted-comment-regex", "x"], True),
    (["--mac-only-encrypted"], True),
    (["--mac-only-encrypted", "--encrypted-suffix", "_e", "--encrypted-comment-regex", "x"], True),
]


@pytest.mark.parametrize(("flags", "legacy"), BINARY_FLAG_CASES, ids=lambda v: " ".join(v) if isinstance(v, list)
                         else ("legacy" if v else "sub"))
@pytest.mark.parametrize("how", ["extension", "input-type"])
def test_binary_store_ignores_every_rule(tmp_path: Path, flags: list[str], legacy: bool, how: str) -> None:
    env = env_for(tmp_path)
    data = b"raw \x00\xff bytes\nunencrypted_suffix\n"
    name = "blob.dat" if how == "extension" else "blob.yaml"
    (tmp_path / name).write_bytes(data)
    extra = ["--input-type", "binary", "--output-type", "binary"] if how == "input-type" else []
    args = encrypt_args([*extra, *flags], Path(name), legacy)
    theirs, ours = run_sops(args, env=env, cwd=tmp_path), run_py(args, env, tmp_path)
    assert theirs.returncode == ours.returncode == 0, (theirs.stderr, ours.stderr)
    assert log_messages(ours.stderr) == log_messages(theirs.stderr)
    their_doc, our_doc = json.loads(theirs.stdout), json.loads(ours.stdout)
    assert list(our_doc) == list(their_doc) == ["data", "sops"]
    assert sorted(our_doc["sops"]) == sorted(their_doc["sops"]) == ["age", "lastmodified", "mac", "version"]
    (tmp_path / "o.enc").write_bytes(ours.stdout)
    (tmp_path / "t.enc").write_bytes(theirs.stdout)
    for f in ("o.enc", "t.enc"):
        args = ["decrypt", "--input-type", "binary", "--output-type", "binary", f]
        for dec in (run_sops(args, env=env, cwd=tmp_path), run_py(args, env, tmp_path)):
            assert dec.returncode == 0, dec.stderr
            assert dec.stdout == data


def test_binary_store_ignores_creation_rule_settings(tmp_path: Path) -> None:
    _config(tmp_path, CONFIG)
    env = env_for(tmp_path)
    (tmp_path / "x.bin").write_bytes(b"payload")
    theirs, ours = run_sops(["encrypt", "x.bin"], env=env, cwd=tmp_path), run_py(["encrypt", "x.bin"], env, tmp_path)
    assert theirs.returncode == ours.returncode == 0
    assert log_messages(ours.stderr) == log_messages(theirs.stderr)
    assert sorted(json.loads(ours.stdout)["sops"]) == sorted(json.loads(theirs.stdout)["sops"])
