"""Decrypted secrets as environment variables for CI systems (``sops-py export``).

Every CI pipeline that uses sops hand-rolls the same glue: decrypt, copy each value into the job's
environment, hope nothing is echoed. This module does it once, with the rules written down:

* **Names**: a value's path from the document root, each mapping key or list index joined with ``_``,
  after ``prefix``; every character outside ``[A-Za-z0-9_]`` becomes ``_`` and case is kept, so
  ``db: {password: x}`` is ``db_password`` and ``api-keys: [a, b]`` is ``api_keys_0``, ``api_keys_1``.
  Two paths of one file that give the same name are an error (which value wins would be a guess);
  across files, later files win, as layered configuration expects.
* **Values**: strings as they are; other scalars as sops' flat stores write them (``true``, ``1.5``,
  RFC 3339 times); null is the empty string. Empty mappings and lists export nothing.
* **Where plaintext goes**: ``github`` appends to the file named by ``$GITHUB_ENV`` (masking every value
  first, each line of it), ``gitlab`` writes the dotenv report file the job declares (``$`` doubled,
  as GitLab expands variables read from it; a value GitLab would alter is refused); ``dotenv``, ``shell`` and ``json``
  print to stdout. Nothing is written anywhere else, and nothing at all unless every file decrypted.
"""

from __future__ import annotations

import os
import secrets

from ..errors import SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any, TextIO

    from ..keychain import Keys

FORMATS = ("github", "gitlab", "dotenv", "shell", "json")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class ExportError(SopsError):
    """A file cannot be exported as asked (name collision, a value the format cannot carry, no
    ``$GITHUB_ENV``); exit 1."""


# ------------------------------------------------------------------ names and values


def env_name(prefix: str, path: Iterable[str | int]) -> str:
    """The variable name for a value's path (see the module docstring for the rule)."""
    raw = prefix + "_".join(str(p) for p in path)
    return "".join(c if c in _NAME_CHARS else "_" for c in raw)


def _shown(path: list[str | int]) -> str:
    """A value's path as sops' --extract syntax: names keys only, never a value."""
    return "".join(f"[{p}]" if isinstance(p, int) else f'["{p}"]' for p in path)


def to_text(value: Any) -> str:
    """A leaf value as an environment string, as sops' flat stores write it."""
    import datetime as dt

    from ..stores.flatten import val_to_string
    from ..tree import Time

    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dt.datetime):
        return Time.parse_rfc3339(value.isoformat().replace("+00:00", "Z")).rfc3339()
    return val_to_string(value)


def flatten(data: Any, prefix: str = "", where: str = "") -> dict[str, str]:
    """One file's data (as ``sops_py.load`` returns it) as ``{name: value}``; a collision is an error."""
    out: dict[str, str] = {}
    paths: dict[str, list[str | int]] = {}

    def walk(value: Any, path: list[str | int]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, [*path, k])
            return
        if isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, [*path, i])
            return
        if not path:
            raise ExportError(f"{where}: the document is a single value, not a mapping: nothing to name it by")
        name = env_name(prefix, path)
        if name in paths:
            raise ExportError(f"{where}: {_shown(paths[name])} and {_shown(path)} both export as {name}: "
                              "rename one of the keys or use separate files")
        if not name or name[0].isdigit():
            raise ExportError(f"{where}: {_shown(path)} exports as {name!r}, which is not a valid variable "
                              "name: give a --prefix")
        text = to_text(value)
        if "\0" in text:
            raise ExportError(f"{where}: the value of {name} holds a NUL byte, which no environment can carry")
        paths[name] = path
        out[name] = text

    walk(data, [])
    return out


def collect(files: Iterable[str], prefix: str = "", keys: Keys | None = None) -> dict[str, str]:
    """Decrypt ``files`` and merge their variables in order (later files win)."""
    from ..api import load_file

    merged: dict[str, str] = {}
    for path in files:
        try:
            data = load_file(path, keys=keys)
        except SopsError as e:
            raise SopsError(f"{path}: {e.message}", e.exit_code) from None
        merged.update(flatten(data, prefix, path))
    return merged


# ------------------------------------------------------------------ formats


def mask_lines(env: Mapping[str, str]) -> list[str]:
    """GitHub's ``::add-mask::`` command for every line of every value (the runner masks line by
    line, so a multi-line value needs one per line). The command's data is escaped as the runner
    unescapes it (``%``, CR, LF), so a value holding ``%0A`` is masked as itself."""
    out: list[str] = []
    seen: set[str] = set()
    for value in env.values():
        for line in value.splitlines():
            # a line with blanks around it is masked trimmed as well: the runner may trim the command's
            # data, and a later step may print the line without them
            for text in (line, line.strip()):
                if text.strip() and text not in seen:
                    seen.add(text)
                    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
                    out.append(f"::add-mask::{escaped}\n")
    return out


def delimiter_for(value: str, token: Any = secrets.token_hex) -> str:
    """A random heredoc delimiter for ``$GITHUB_ENV`` that occurs nowhere in ``value``."""
    while True:
        candidate = f"ghadelimiter_{token(16)}"
        if candidate not in value:
            return candidate


def github_env(env: Mapping[str, str], token: Any = secrets.token_hex) -> str:
    """The ``$GITHUB_ENV`` text: every variable in the multi-line form ``NAME<<DELIM``, value, ``DELIM``.
    (The runner reads the file line by line, so a CR LF in a value arrives as LF.)"""
    parts = []
    for name, value in env.items():
        if name.upper() == "NODE_OPTIONS":
            raise ExportError(f"{name}: the Actions runner refuses NODE_OPTIONS from $GITHUB_ENV (and fails the "
                              "step): rename the key or give a --prefix")
        if value.endswith("\r"):
            raise ExportError(f"the value of {name} ends with a carriage return, which the runner drops from "
                              "$GITHUB_ENV: use --format json or shell")
        delim = delimiter_for(value, token)
        parts.append(f"{name}<<{delim}\n{value}\n{delim}\n")
    return "".join(parts)


def gitlab_dotenv(env: Mapping[str, str]) -> str:
    """A GitLab dotenv report: ``NAME=value`` lines, as GitLab's parser reads them back exactly.

    GitLab (``Ci::ParseDotenvArtifactService``) splits each line at its first ``=``, strips blanks
    around the value, takes no quoting and no multi-line value, and stores the variables for later
    jobs as expandable (not raw), so the runner expands ``$NAME`` in them: a ``$`` is written ``$$``,
    which the runner's expansion turns back into one ``$``. A value GitLab would change (several
    lines, blanks at either end) is refused rather than exported altered."""
    lines = []
    for name, value in env.items():
        if "\n" in value or "\r" in value:
            raise ExportError(f"the value of {name} spans several lines, which a GitLab dotenv report cannot "
                              "carry: use --format shell or json")
        if len(name) > 255:
            raise ExportError(f"{name[:40]}...: GitLab takes variable names of up to 255 characters")
        if value != value.strip(" \t\n\v\f\r"):  # Ruby's String#strip
            raise ExportError(f"the value of {name} starts or ends with blanks, which GitLab strips from a "
                              "dotenv report: use --format shell or json")
        lines.append(f"{name}={value.replace('$', '$$')}\n")
    return "".join(lines)


def dotenv(env: Mapping[str, str]) -> str:
    """``NAME=value`` lines as sops' dotenv store writes them (a newline as the two characters ``\\n``),
    so ``sops exec-env`` and docker's ``--env-file`` read them back."""
    return "".join(f"{name}={value.replace(chr(10), chr(92) + 'n')}\n" for name, value in env.items())


def shell_quote(value: str) -> str:
    """``value`` in single quotes for POSIX sh (a ``'`` closes, escapes and reopens the quotes)."""
    return "'" + value.replace("'", "'\\''") + "'"


def shell(env: Mapping[str, str]) -> str:
    return "".join(f"export {name}={shell_quote(value)}\n" for name, value in env.items())


def as_json(env: Mapping[str, str]) -> str:
    import json

    return json.dumps(dict(env), indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ writing


def append_private(path: str, text: str) -> None:
    """Append ``text`` in one write to a file the CI system gave us (created 0600 if absent)."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as e:
        raise ExportError(f"cannot open {path} for appending: {e.strerror or e}") from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        os.close(fd)


def write_private(path: str, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by the owner only (a dotenv report)."""
    from ..ops.files import write_atomic

    write_atomic(path, text.encode("utf-8", "surrogateescape"), durable=False, new_mode=0o600)


def export(files: Iterable[str], fmt: str, *, prefix: str = "", mask: bool | None = None,
           output: str | None = None, environ: Mapping[str, str] | None = None,
           keys: Keys | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
    """Decrypt ``files`` and export their values as ``fmt``.

    ``mask`` (default: on for ``github`` only) emits ``::add-mask::`` lines, flushed before any value
    is exported: on stdout for ``github``, on stderr for the formats whose stdout is the data, and
    never for ``gitlab`` (refused: GitLab would print them). Nothing is written before every file decrypted and every value passed its checks."""
    import sys

    environ = os.environ if environ is None else environ
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    target = ""
    if fmt == "github":
        target = environ.get("GITHUB_ENV", "")
        if not target:
            raise ExportError("GITHUB_ENV is not set: --format github runs inside a GitHub Actions job")
    elif fmt == "gitlab":
        if not output:
            raise ExportError("--format gitlab needs --output FILE: the dotenv report file the job declares "
                              "under artifacts:reports:dotenv")
        target = output
    elif output:
        raise ExportError(f"--output is only for --format gitlab: --format {fmt} prints to stdout")
    if fmt == "gitlab" and mask:
        # GitLab has no command to mask a value at run time: the lines would print every secret in
        # the job log
        raise ExportError("--mask is for GitHub Actions: GitLab does not read ::add-mask:: lines, so they would "
                          "print every value in the job log (mark the variables masked in GitLab instead)")
    env = collect(files, prefix, keys)
    render = {"github": github_env, "gitlab": gitlab_dotenv, "dotenv": dotenv, "shell": shell, "json": as_json}
    text = render[fmt](env)  # every check done before anything is written
    if fmt == "github" if mask is None else mask:
        stream = out if fmt == "github" else err
        stream.write("".join(mask_lines(env)))
        stream.flush()
    if fmt == "github":
        append_private(target, text)
    elif fmt == "gitlab":
        write_private(target, text)
    else:
        out.write(text)
        out.flush()
