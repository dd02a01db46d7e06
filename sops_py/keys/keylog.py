"""The info line each of sops' key sources writes when it wraps or unwraps a data key (``--verbose``).

sops logs ``Encryption succeeded`` / ``Encryption failed`` (``Decryption …`` when unwrapping) from
every ``MasterKey.Encrypt``/``Decrypt``, in the key type's own logger (``[AWSKMS]``, ``[PGP]``, …)
and with the key's identifying field (``arn=…``, ``fingerprint=…``, ``resourceID=…``). Every error
return of those methods logs the failure first, so here any exception out of a backend's
``wrap``/``unwrap`` does too. The lines are written where the local key service runs the key, as in
sops: a remote key service logs them in its own process, not in the client's.

Only identifiers are logged, never a data key, a plaintext or a credential.
"""

from __future__ import annotations

from .. import log

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Concatenate, ParamSpec, TypeVar

    from ..metadata import KeyEntry

    S = TypeVar("S")
    R = TypeVar("R")
    P = ParamSpec("P")
    Method = Callable[Concatenate[S, KeyEntry, P], R]

INFO = 20


def logged(component: str, fields_of: Callable[[KeyEntry], Mapping[str, object] | None], *, encrypt: bool,
           success: str = "succeeded") -> Callable[[Method[S, P, R]], Method[S, P, R]]:
    """Decorate a backend's ``wrap`` (``encrypt=True``) or ``unwrap`` with sops' outcome line.

    ``fields_of(entry)`` gives the line's fields (None: none, as age's decryption lines);
    ``success`` is the word after the action (HashiCorp Vault's key source says ``successful``)."""
    action = "Encryption" if encrypt else "Decryption"

    def decorate(method: Method[S, P, R]) -> Method[S, P, R]:
        def run(self: S, entry: KeyEntry, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = method(self, entry, *args, **kwargs)
            except Exception:
                if log.enabled(INFO):
                    log.info(f"{action} failed", name=component, fields=fields_of(entry))
                raise
            if log.enabled(INFO):
                log.info(f"{action} {success}", name=component, fields=fields_of(entry))
            return result

        run.__doc__ = method.__doc__
        run.__name__ = getattr(method, "__name__", run.__name__)
        return run

    return decorate
