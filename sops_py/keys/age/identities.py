"""Identity strings: ``AGE-SECRET-KEY-1…``, ``AGE-SECRET-KEY-PQ-1…``, ``AGE-PLUGIN-…``, and the line rules
of sops' parseIdentities and age's ParseIdentities."""

from __future__ import annotations

from ...gotext import go_quote
from .base import _Identity
from .encoding import _GO_SPACE, _bech32_decode, _GoError
from .x25519 import _X25519

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping

    from .base import Prompt

    Context = tuple[Mapping[str, str], Prompt]  # what a plugin identity runs with: environment, prompt

_KEY_SIZE_LIMIT = 1 << 24  # age's privateKeySizeLimit
_SCAN_TOKEN_LIMIT = 64 * 1024  # bufio.MaxScanTokenSize


def _parse_identity(s: str, ctx: Context) -> _Identity:
    """sops' parseIdentity for one line or word."""
    if s.startswith("AGE-PLUGIN-"):
        from . import plugin

        return plugin.PluginIdentity(s, plugin.parse_identity(s), *ctx)
    if s.startswith("AGE-SECRET-KEY-PQ-1"):
        return _parse_secret_key(s, "AGE-SECRET-KEY-PQ-", "invalid MLKEM768-X25519 secret key")
    if s.startswith("AGE-SECRET-KEY-1"):
        return _parse_secret_key(s, "AGE-SECRET-KEY-", "invalid X25519 secret key")
    raise _GoError("unknown identity type")


def _parse_secret_key(s: str, want_hrp: str, size_err: str) -> _Identity:
    try:
        hrp, key = _bech32_decode(s)
    except _GoError as e:
        raise _GoError(f"malformed secret key: {e}") from None
    if hrp != want_hrp:
        raise _GoError(f"malformed secret key: unknown type {go_quote(hrp)}")
    if len(key) != 32:
        raise _GoError(f"malformed secret key: {size_err}")
    if want_hrp == "AGE-SECRET-KEY-PQ-":
        from .pq import HybridIdentity

        return HybridIdentity(key)  # any 32 bytes are a valid seed
    # the checks above are all rage's Identity.from_str makes (bech32, type, 32 bytes)
    return _X25519(s, key)


def _scan_lines(data: bytes) -> list[str]:
    """bufio.Scanner with ScanLines: split on LF, drop one CR per line; stops at an over-long line."""
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    out = []
    for p in parts:
        if len(p) >= _SCAN_TOKEN_LIMIT:
            break  # sops ignores the scanner's ErrTooLong: the identities read so far are kept
        out.append(p.removesuffix(b"\r").decode("utf-8", "surrogateescape"))
    return out


def _split_words(line: str) -> list[str]:
    words = []
    cur: list[str] = []
    for ch in line:
        if ch in _GO_SPACE:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def _parse_identities(data: bytes, multiple_per_line: bool, ctx: Context) -> list[_Identity]:
    """sops' parseIdentities: one identity per line (or per word), blank and ``#`` lines skipped."""
    ids: list[_Identity] = []
    for line in _scan_lines(data):
        if line == "" or line.startswith("#"):
            continue
        for word in (_split_words(line) if multiple_per_line else [line]):
            ids.append(_parse_identity(word, ctx))
    return ids


def _parse_identities_strict(data: bytes, ctx: Context) -> list[_Identity]:
    """age.ParseIdentities, used on the plaintext of a passphrase-encrypted identities file."""
    ids: list[_Identity] = []
    for n, line in enumerate(_scan_lines(data[:_KEY_SIZE_LIMIT]), 1):
        if line.startswith("#") or line == "":
            continue
        if any(0xDC80 <= ord(c) <= 0xDCFF for c in line):
            raise _GoError("identities file is not valid UTF-8")
        try:
            if line.startswith(("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-PQ-1")):
                ids.append(_parse_identity(line, ctx))
            else:
                raise _GoError(f"unknown identity type: {go_quote(line)}")
        except _GoError as e:
            raise _GoError(f"error at line {n}: {e}") from None
    if not ids:
        raise _GoError("no identities found")
    return ids
