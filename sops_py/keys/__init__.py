"""Master-key modules, one per key type, and the two ways a master key can fail to unwrap.

Every failure is reported in sops' exit-128 report under the key's name, with the exception's message.
``KeyNotApplicable`` narrows ``KeyFailed`` to "no usable private key for this key here" (for age: no
identity found, or none matched); sops still lists those keys as FAILED, so callers must report it too.
"""

from __future__ import annotations

from ..errors import MasterKeyError


class KeyFailed(MasterKeyError):
    """A master key could not wrap or unwrap the data key; ``str(e)`` is sops' message for it."""


class KeyNotApplicable(KeyFailed):
    """No private key available here applies to this master key (nothing loaded, or nothing matched)."""
