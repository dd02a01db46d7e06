"""Dotenv parsing as KSOPS does it (joho/godotenv 1.5.1), for ``secretFrom[].envs``.

KSOPS decrypts an ``envs`` file and hands the plaintext to ``godotenv.Unmarshal``, so a Secret built by
sops-py must hold exactly the values that parser yields, quirks included: ``export`` prefixes,
``KEY: value`` lines, single quotes taken literally, double quotes with ``\\n``/``\\r`` escapes, a
`` #`` comment cut from unquoted values, and ``$VAR`` / ``${VAR}`` expanded from earlier keys of the
same file and then from the environment (godotenv's behaviour; documented in docs/integrations.md).
This is not sops' dotenv store, which keeps quotes as part of the value.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping


class DotenvError(ValueError):
    """The text is not dotenv as godotenv reads it; the message is godotenv's."""


_SPACE = "\t\v\f\r \x85\xa0"  # godotenv's isSpace: whitespace except the newline
_ESCAPE = re.compile(r"\\.", re.S)
_UNESCAPE = re.compile(r"\\([^$])", re.S)
_EXPAND = re.compile(r"(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?")


def parse(text: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of a dotenv text, in file order (a later key replaces an earlier one)."""
    out: dict[str, str] = {}
    rest = text.replace("\r\n", "\n")
    while True:
        statement = _statement_start(rest)
        if statement is None:
            return out
        key, after = _key_name(statement)
        value, rest = _value(after, out, environ)
        out[key] = value


def key_of(name: str) -> str:
    """The variable a sops dotenv key names (sops keeps ``export KEY`` whole; godotenv drops ``export``)."""
    try:
        return _key_name(name + "=")[0]
    except DotenvError:
        return name


def _statement_start(src: str) -> str | None:
    """Skip blank space and whole-line comments; None at the end of the text."""
    while True:
        stripped = src.lstrip()
        if not stripped:
            return None
        if stripped[0] != "#":
            return stripped
        nl = stripped.find("\n")
        if nl < 0:
            return None
        src = stripped[nl:]


def _key_name(src: str) -> tuple[str, str]:
    src = src.lstrip(_SPACE)
    if src.startswith("export"):
        trimmed = src[len("export"):]
        if trimmed[:1] and trimmed[0] in _SPACE:
            src = trimmed.lstrip(_SPACE)
    key, offset = "", 0
    for i, ch in enumerate(src):
        if ch in _SPACE:
            continue
        if ch in "=:":
            key, offset = src[:i], i + 1
            break
        if ch == "_" or ch == "." or ch.isalnum():
            continue
        raise DotenvError(f"unexpected character {_go_quote(ch)} in variable name near {_go_quote(src)}")
    return key.rstrip(), src[offset:].lstrip(_SPACE)


def _value(src: str, seen: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, str]:
    quote = src[:1]
    if quote not in ("'", '"'):
        end = src.find("\n")
        if end < 0:
            end = len(src)
        line = src[:end]
        stop = len(line)
        for i in range(len(line) - 1, 0, -1):  # the last " #" starts a comment
            if line[i] == "#" and line[i - 1] in _SPACE:
                stop = i
                break
        return _expand(line[:stop].strip(_SPACE), seen, environ), src[end:]
    for i in range(1, len(src)):
        if src[i] != quote or src[i - 1] == "\\":
            continue
        value = src[:i].strip(quote)
        if quote == '"':
            value = _expand(_unescape(value), seen, environ)
        return value, src[i + 1:]
    line_end = src.find("\n")
    raise DotenvError(f"unterminated quoted value {src if line_end < 0 else src[:line_end]}")


def _unescape(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        return {"n": "\n", "r": "\r"}.get(m.group(0)[1:], m.group(0))

    return _UNESCAPE.sub(r"\1", _ESCAPE.sub(one, value))


def _expand(value: str, seen: Mapping[str, str], environ: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) == "\\":  # godotenv also tests for "(" in the group that is always "$"
            return m.group(0)[1:]
        name = m.group(4)
        if name:
            if name in seen:
                return seen[name]
            return environ.get(name, "")
        return m.group(0)

    return _EXPAND.sub(one, value)


def _go_quote(s: str) -> str:
    """Go's %q for the short texts godotenv quotes in its errors."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
