"""Adapter from the key ring to the age key package: identities are loaded once per operation, and
plugins (``age-plugin-<name>``) are found on the operation's PATH."""

from __future__ import annotations

from . import age
from .keylog import logged

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..metadata import KeyEntry

_P25519 = 2**255 - 19


def recipient_field(recipient: str) -> str:
    """The ``recipient=`` value of sops' age log lines: Go's ``fmt.Sprint`` of the parsed age.Recipient.

    X25519 and hybrid recipients print their Bech32 encoding (lower case, as age re-encodes it), a
    plugin recipient the text as given; agessh's recipients have no String method, so Go prints the
    struct: an Ed25519 one as ``&{[<the Ed25519 key bytes>] [<its X25519 form>]}``, an RSA one as
    ``&{0xc000… 0xc000…}`` (one pointer, twice: sops-py writes a stand-in address). A recipient that does not
    parse is ``<nil>`` (sops logs its failure before it has a recipient)."""
    try:
        r = age.parse_recipient(recipient)
    except Exception:  # noqa: BLE001 - any parse failure is sops' nil recipient
        return "<nil>"
    if r.kind in ("x25519", "pq"):
        return r.text.lower()
    if r.kind == "plugin":
        return r.text
    from .age.sshkeys import _parse_authorized_key, _ssh_string

    _, blob = _parse_authorized_key(r.text)
    if r.kind == "ssh-rsa":
        address = f"0xc000{id(r) & 0xFFFFFF:06x}"  # Go's heap lies at 0xc000…; the same pointer twice
        return f"&{{{address} {address}}}"
    _, off = _ssh_string(blob, 0)
    key, _ = _ssh_string(blob, off)
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow((1 - y) % _P25519, _P25519 - 2, _P25519) % _P25519  # edwards25519 BytesMontgomery
    return "&{[" + " ".join(map(str, key)) + "] [" + " ".join(map(str, u.to_bytes(32, "little"))) + "]}"


def _recipient(entry: KeyEntry) -> dict[str, object]:
    return {"recipient": recipient_field(str(entry.fields.get("recipient", "")))}


class AgeBackend:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._ids: age.Identities | None = None

    @logged("AGE", _recipient, encrypt=True)
    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        return age.wrap(str(entry.fields["recipient"]), secret, env=self._env)

    @logged("AGE", lambda entry: None, encrypt=False)
    def unwrap(self, entry: KeyEntry) -> bytes:
        if self._ids is None:
            self._ids = age.load_identities(self._env)
        return age.unwrap(entry.enc, self._ids, recipient=str(entry.fields.get("recipient", "")))


def make_backend(env: Mapping[str, str]) -> AgeBackend:
    return AgeBackend(env)
