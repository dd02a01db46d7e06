"""Adapter from the key ring to the age key package: identities are loaded once per operation, and
plugins (``age-plugin-<name>``) are found on the operation's PATH."""

from __future__ import annotations

from . import age

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..metadata import KeyEntry


class AgeBackend:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._ids: age.Identities | None = None

    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        return age.wrap(str(entry.fields["recipient"]), secret, env=self._env)

    def unwrap(self, entry: KeyEntry) -> bytes:
        if self._ids is None:
            self._ids = age.load_identities(self._env)
        return age.unwrap(entry.enc, self._ids, recipient=str(entry.fields.get("recipient", "")))


def make_backend(env: Mapping[str, str]) -> AgeBackend:
    return AgeBackend(env)
