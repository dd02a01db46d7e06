"""Recipients: parsing and validating each form sops accepts, and wrapping a data key to one."""

from __future__ import annotations

import os

from ...errors import SopsError
from ...gotext import go_quote
from .. import KeyFailed
from .asciiarmor import armor
from .base import _rage
from .encoding import _b64_std, _bech32_decode, _GoError, _trim_space
from .format import _seal
from .x25519 import _age_encrypt_x25519

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from .base import Prompt


class Recipient:
    """A parsed recipient: ``text`` as written in metadata and its kind."""

    __slots__ = ("_canonical", "kind", "text")

    def __init__(self, text: str, kind: str, canonical: str) -> None:
        self.text = text
        self.kind = kind  # "x25519", "pq", "plugin", "ssh-ed25519", "ssh-rsa"
        self._canonical = canonical

    def __repr__(self) -> str:
        return f"Recipient({self.text!r}, {self.kind!r})"

    def _pyrage(self) -> Any:
        if self.kind == "x25519":
            return _rage().x25519.Recipient.from_str(self._canonical)
        return _rage().ssh.Recipient.from_str(self._canonical)


def parse_recipient(recipient: str) -> Recipient:
    """sops' parseRecipient: one recipient, as given; a bad one raises SopsError with sops' text."""
    try:
        return _parse_recipient(recipient)
    except _GoError as e:
        raise SopsError(str(e)) from None


def _parse_recipient(s: str) -> Recipient:
    if s.startswith("age1pq1"):
        from . import pq

        key = _check_bech32_recipient(s, "age1pq", pq.PUBLIC_SIZE, "invalid MLKEM768-X25519 public key")
        try:
            pq.check_public(key)
        except _GoError as e:
            raise _GoError("failed to parse input as Bech32-encoded age public key: malformed recipient "
                           f"{go_quote(s)}: {e}") from None
        return Recipient(s, "pq", s)
    if s.startswith("age1") and s.count("1") > 1:
        from . import plugin

        try:
            plugin.parse_recipient(s)
        except _GoError as e:
            raise _GoError(f"failed to parse input as age key from age plugin: {e}") from None
        return Recipient(s, "plugin", s)
    if s.startswith("age1"):
        _check_bech32_recipient(s, "age", 32, "invalid X25519 public key")
        return Recipient(s, "x25519", s)
    if s.startswith("ssh-"):
        from .sshkeys import _parse_ssh_recipient

        try:
            kind, blob = _parse_ssh_recipient(s)
        except _GoError as e:
            raise _GoError(f"failed to parse input as age-ssh public key: {e}") from None
        canonical = f"{kind} {_b64_std(blob)}"
        try:
            _rage().ssh.Recipient.from_str(canonical)
        except Exception as e:  # noqa: BLE001 - pyrage's own validation (e.g. an invalid curve point)
            raise _GoError(f"failed to parse input as age-ssh public key: malformed SSH recipient: "
                           f"{go_quote(s)}: {e}") from None
        return Recipient(s, kind, canonical)
    raise _GoError(f"failed to parse input, unknown recipient type: {go_quote(s)}")


def _check_bech32_recipient(s: str, want_hrp: str, size: int, size_err: str) -> bytes:
    """age's ParseX25519Recipient / ParseHybridRecipient checks, with sops' prefix; the key bytes."""
    prefix = f"failed to parse input as Bech32-encoded age public key: malformed recipient {go_quote(s)}: "
    try:
        hrp, key = _bech32_decode(s)
    except _GoError as e:
        raise _GoError(f"{prefix}{e}") from None
    if hrp != want_hrp:
        raise _GoError(f"{prefix}invalid type {go_quote(hrp)}")
    if len(key) != size:
        raise _GoError(f"{prefix}{size_err}")
    return key


def parse_recipients(text: str, *, drop_empty: bool = False) -> list[str]:
    """sops' MasterKeysFromRecipients: split on commas, trim each, validate each; return the list.

    An empty ``text`` is no recipients. As in sops, an empty entry (``"a,,b"``, ``"a,"``) is an error
    (``unknown recipient type: ""``) unless ``drop_empty`` (the .sops.yaml string form drops them).
    """
    if text == "":
        return []
    out = []
    for part in text.split(","):
        r = _trim_space(part)
        if not r and drop_empty:
            continue
        parse_recipient(r)
        out.append(r)
    return out


_WRITER_ERR = "failed to create writer for encrypting sops data key with age: "


def wrap(recipient: str, data_key: bytes, *, rand: Callable[[int], bytes] = os.urandom,
         env: Mapping[str, str] | None = None, prompt: Prompt | None = None) -> str:
    """Encrypt ``data_key`` to one recipient; return the armored ``enc`` (trailing newline included).

    X25519 and hybrid post-quantum recipients are encrypted here exactly as Go's age does (one stanza,
    so the armor has sops' shape); a plugin recipient runs ``age-plugin-<name>`` found on ``env``'s PATH
    (default: this process's environment; ``prompt`` answers its questions, default the terminal); SSH
    recipients go through pyrage (which adds a grease stanza Go's age ignores). A recipient sops cannot
    parse raises SopsError; a failure to wrap raises KeyFailed with sops' message.
    """
    r = parse_recipient(recipient)
    if r.kind == "x25519":
        _, point = _bech32_decode(r.text)
        return armor(_age_encrypt_x25519(point, data_key, rand))
    if r.kind in ("pq", "plugin"):
        file_key = rand(16)
        try:
            if r.kind == "pq":
                from . import pq

                stanzas = [pq.stanza(_bech32_decode(r.text)[1], file_key, rand)]
            else:
                from . import plugin
                from .terminal import _tty_prompt

                stanzas = plugin.wrap(r.text, file_key, os.environ if env is None else env,
                                      _tty_prompt if prompt is None else prompt)
        except _GoError as e:
            raise KeyFailed(f"{_WRITER_ERR}failed to wrap key for recipient #0: {e}") from None
        return armor(_seal(file_key, stanzas, data_key, rand))
    target = r._pyrage()
    try:
        binary = bytes(_rage().encrypt(data_key, [target]))
    except Exception as e:  # noqa: BLE001 - pyrage reports its own error type
        raise KeyFailed(f"{_WRITER_ERR}{e}") from None
    return armor(binary)
