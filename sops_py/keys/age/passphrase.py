"""Passphrase-protected identities files (age's scrypt recipient); the prompt itself is in ``terminal``."""

from __future__ import annotations

from .base import _Identity, _rage
from .encoding import _GoError
from .format import _Header, _parse_header, _Reader
from .identities import _parse_identities_strict

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from .identities import Context


class _EncryptedFile(_Identity):
    """An identities file that is itself passphrase-encrypted (age ``scrypt``), sops' EncryptedIdentity.

    The passphrase is asked for on first use (sops asks gpg-agent first; sops-py goes to the terminal);
    the decrypted identities are kept for the life of the ``Identities`` object.
    """

    def __init__(self, location: str, contents: bytes, ctx: Context) -> None:
        self.location = location
        self._contents = contents
        self._ctx = ctx
        self._prompt = ctx[1]
        self._inner: list[_Identity] | None = None

    def _decrypt(self) -> list[_Identity]:
        hdr = _parse_header(_Reader(self._contents, None))
        if any(s.type == "scrypt" for s in hdr.stanzas) and len(hdr.stanzas) != 1:
            raise _GoError("an scrypt recipient must be the only one")
        if len(hdr.stanzas) != 1 or hdr.stanzas[0].type != "scrypt":
            raise _GoError("incorrect passphrase")
        try:
            passphrase = self._prompt(f"Enter passphrase for identity '{self.location}':")
        except _GoError as e:
            raise _GoError(f"failed to decrypt identity file: could not read passphrase: {e}") from None
        try:
            plain = bytes(_rage().passphrase.decrypt(self._contents, passphrase))
        except Exception:  # noqa: BLE001 - a wrong passphrase is rage's generic DecryptError
            raise _GoError("incorrect passphrase") from None
        return _parse_identities_strict(plain, self._ctx)

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        if self._inner is None:
            self._inner = self._decrypt()
        for ident in self._inner:
            got = ident.unwrap(hdr, data, armor_err)
            if got is not None:
                return got
        # sops' EncryptedIdentity NoMatchWarning: the passphrase was right but no key inside matched
        from ... import log

        log.warning(f"encrypted identity '{self.location}' didn't match file's recipients", name="AGE")
        return None
