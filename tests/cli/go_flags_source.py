"""The flags sops declares in ``cmd/sops/main.go`` (urfave/cli v1 composite literals), read from the Go source.

``declared_flags(text)`` maps a command path (``()`` for the global flags, ``("groups", "add")``...) to
its flags as ``(names, Go type, env var)``, e.g. ``(("kms", "k"), "String", "SOPS_KMS_ARN")``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

MIRROR = Path("/work/.mirror/getsops+sops/repo")

GoFlagDecl = tuple[tuple[str, ...], str, str]


def main_go() -> str | None:
    """cmd/sops/main.go of the sops 3.13 source mirror, when it is on this machine."""
    if not MIRROR.exists():
        return None
    proc = subprocess.run(["git", "-C", str(MIRROR), "show", "HEAD:cmd/sops/main.go"], capture_output=True,
                          text=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _skip_string(text: str, i: int) -> int:
    quote = text[i]
    i += 1
    while i < len(text) and text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i + 1


def _closing(text: str, i: int) -> int:
    """Index just past the brace matching ``text[i] == '{'`` (strings and comments skipped)."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c in "\"`":
            i = _skip_string(text, i)
            continue
        if text.startswith("//", i):
            i = text.index("\n", i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced braces")


def _top_level(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The ``{...}`` spans directly inside the literal text[start:end] (start at its '{')."""
    spans = []
    i = start + 1
    while i < end - 1:
        c = text[i]
        if c in "\"`":
            i = _skip_string(text, i)
            continue
        if c == "{":
            j = _closing(text, i)
            spans.append((i, j))
            i = j
            continue
        i += 1
    return spans


def _depth1(text: str, start: int, end: int) -> str:
    """The literal's own text with nested literals blanked (so regexes see only its fields)."""
    out = list(text[start:end])
    for s, e in _top_level(text, start, end):
        for k in range(s - start + 1, e - start - 1):
            out[k] = " "
    return "".join(out)


def _flags_of_list(text: str, start: int, end: int) -> list[GoFlagDecl]:
    flags = []
    for m in re.finditer(r"cli\.(\w+)Flag\{", text[start:end]):
        s = start + m.end() - 1
        e = _closing(text, s)
        body = text[s:e]
        name = re.search(r'Name:\s*"([^"]*)"', body)
        env = re.search(r'EnvVar:\s*"([^"]*)"', body)
        assert name is not None
        names = tuple(n.strip() for n in name.group(1).split(","))
        flags.append((names, m.group(1), env.group(1) if env else ""))
    return flags


def _flags_field(text: str, start: int, end: int, keyservice: list[GoFlagDecl]) -> list[GoFlagDecl]:
    own = _depth1(text, start, end)
    m = re.search(r"Flags:\s*(append\()?\s*\[\]cli\.Flag\{", own)
    if not m:
        return []
    s = start + m.end() - 1
    e = _closing(text, s)
    flags = _flags_of_list(text, s, e)
    if m.group(1) and text[e:e + 40].lstrip(", \n\t").startswith("keyserviceFlags..."):
        flags += keyservice
    return flags


def _commands(text: str, start: int, end: int, prefix: tuple[str, ...], keyservice: list[GoFlagDecl],
              out: dict[tuple[str, ...], list[GoFlagDecl]]) -> None:
    for s, e in _top_level(text, start, end):
        own = _depth1(text, s, e)
        name = re.search(r'Name:\s*"([^"]*)"', own)
        if name is None:
            continue
        path = (*prefix, name.group(1))
        out[path] = _flags_field(text, s, e, keyservice)
        sub = re.search(r"Subcommands:\s*\[\]cli\.Command\{", own)
        if sub:
            ss = s + sub.end() - 1
            _commands(text, ss, _closing(text, ss), path, keyservice, out)


def declared_flags(text: str) -> dict[tuple[str, ...], list[GoFlagDecl]]:
    ks = re.search(r"keyserviceFlags := \[\]cli\.Flag\{", text)
    assert ks is not None
    keyservice = _flags_of_list(text, ks.end() - 1, _closing(text, ks.end() - 1))
    out: dict[tuple[str, ...], list[GoFlagDecl]] = {}
    cmds = re.search(r"app\.Commands = \[\]cli\.Command\{", text)
    assert cmds is not None
    _commands(text, cmds.end() - 1, _closing(text, cmds.end() - 1), (), keyservice, out)
    glob = re.search(r"app\.Flags = append\(\[\]cli\.Flag\{", text)
    assert glob is not None
    out[()] = _flags_of_list(text, glob.end() - 1, _closing(text, glob.end() - 1)) + keyservice
    return out
