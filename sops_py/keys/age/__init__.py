"""age master keys as sops uses them (``age/keysource.go`` of sops 3.13, filippo.io/age v1.3.1).

* ``parse_recipients``: the comma-separated ``--age`` list, each recipient validated as sops does
  (X25519 ``age1…``, hybrid post-quantum ``age1pq1…``, plugin ``age1<name>1…``, ``ssh-ed25519``/``ssh-rsa``).
* ``wrap``: encrypt a data key to one recipient; ``enc`` is age's ASCII armor with a trailing newline.
* ``load_identities``: where sops looks for private keys, read lazily, once per ``Identities``.
* ``unwrap``: recover the data key from an ``enc``; failures carry sops' message for the exit-128 report.

One concern per module: ``encoding`` (Go's base64, bech32 and text helpers), ``asciiarmor``, ``format`` (the
age header and STREAM payload), ``recipients``, the stanzas (``x25519``, ``pq``), SSH keys (``sshkeys``
parses them, ``ssh`` uses them), ``passphrase`` (scrypt identities files), ``terminal`` (age's
prompts), ``plugin`` (the age plugin protocol), ``identities`` (identity strings), ``discovery`` (environment
variables and files) and ``decrypt``. Every error text is re-implemented so messages match sops word for
word. Secrets (identities, data keys, passphrases) never appear in a message, a log or a ``repr``.

The names below are loaded on first use (PEP 562): ``import sops_py.keys.age`` costs nothing, a decrypt
loads the X25519 path only, and the SSH, passphrase, hybrid and plugin modules load when a key needs them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from typing import Any

    from .asciiarmor import ARMOR_FOOTER, ARMOR_HEADER, _dearmor, armor
    from .decrypt import unwrap
    from .discovery import (
        SOPS_AGE_KEY,
        SOPS_AGE_KEY_CMD,
        SOPS_AGE_KEY_FILE,
        SOPS_AGE_RECIPIENT,
        SOPS_AGE_SSH_PRIVATE_KEY_CMD,
        SOPS_AGE_SSH_PRIVATE_KEY_FILE,
        USER_CONFIG_PATH,
        Identities,
        _shlex_split,
        identities_from_strings,
        load_identities,
    )
    from .encoding import _b64_decode, _b64_raw, _bech32_decode, _GoError, bech32_encode
    from .recipients import Recipient, parse_recipient, parse_recipients, wrap

_WHERE = {
    "asciiarmor": ("ARMOR_FOOTER", "ARMOR_HEADER", "_dearmor", "armor"),
    "discovery": ("SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_KEY_FILE", "SOPS_AGE_RECIPIENT",
                  "SOPS_AGE_SSH_PRIVATE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "USER_CONFIG_PATH",
                  "Identities", "_shlex_split", "identities_from_strings", "load_identities"),
    "encoding": ("_b64_decode", "_b64_raw", "_bech32_decode", "_GoError", "bech32_encode"),
    "recipients": ("Recipient", "parse_recipient", "parse_recipients", "wrap"),
    "decrypt": ("unwrap",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [  # every name of _WHERE (tests/unit/test_age_package.py checks they agree)
    "ARMOR_FOOTER", "ARMOR_HEADER", "SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_KEY_FILE", "SOPS_AGE_RECIPIENT",
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "USER_CONFIG_PATH", "Identities", "Recipient",
    "_GoError", "_b64_decode", "_b64_raw", "_bech32_decode", "_dearmor", "_shlex_split", "armor", "bech32_encode",
    "identities_from_strings", "load_identities", "parse_recipient", "parse_recipients", "unwrap", "wrap",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
