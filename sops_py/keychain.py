"""``Keys``: where a library user's private keys come from, held in memory and shared safely.

The CLI reads identities from the process environment (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, GNUPGHOME,
cloud credentials ...). A library user often has them elsewhere (a vault, a test fixture) and must
not have to write them into ``os.environ``, which is shared by every thread of the process. A
``Keys`` object is an environment of its own: a snapshot of ``os.environ`` taken when it is built
(or an empty one with ``environ={}``), plus what was given to it. It is never written back.

One ``Keys`` holds one key ring, so identities are parsed once however many files it opens; the
ring is safe to use from several threads at once (backends are built under a lock, and every
operation keeps its own state).
"""

from __future__ import annotations

import os
import threading

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .datakey import KeyRing


def _strs(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f"{name} must be a str or a sequence of str, got {type(value).__name__}")


def _opt_path(value: object, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        p = os.fspath(value)
        if isinstance(p, str):
            return p
    raise TypeError(f"{name} must be a str or os.PathLike[str], got {type(value).__name__}")


class Keys:
    """The private keys used to decrypt (and the key services used to encrypt).

    - ``age``: age identities (``AGE-SECRET-KEY-1...`` strings, or the text of a keys file), used
      before any found through the environment, as ``SOPS_AGE_KEY`` would be.
    - ``age_key_file``: a keys file (``SOPS_AGE_KEY_FILE``); ``ssh_key_file``: an SSH private key
      for age (``SOPS_AGE_SSH_PRIVATE_KEY_FILE``).
    - ``gnupg_home``: the GnuPG home for PGP keys (``GNUPGHOME``).
    - ``environ``: the environment the other sources are read from: ``None`` takes a snapshot of
      ``os.environ`` now, ``{}`` uses nothing but what is given here. Cloud key services read their
      sops variables (``VAULT_TOKEN``, ``GOOGLE_CREDENTIALS`` ...) from it.
    - ``keyservices``: remote key service URIs (``tcp://host:port``, ``unix:///path``);
      ``local_keyservice=False`` uses only those.
    - ``decryption_order``: key types in the order to try them (default ``["age", "pgp"]``).
    """

    __slots__ = ("_lock", "_ring", "decryption_order", "environ", "keyservices", "local_keyservice")

    def __init__(self, *, age: str | Sequence[str] | None = None, age_key_file: str | os.PathLike[str] | None = None,
                 ssh_key_file: str | os.PathLike[str] | None = None,
                 gnupg_home: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None,
                 keyservices: Sequence[str] = (), local_keyservice: bool = True,
                 decryption_order: Sequence[str] | None = None) -> None:
        if environ is not None and not hasattr(environ, "get"):
            raise TypeError(f"environ must be a mapping of str to str, got {type(environ).__name__}")
        env = dict(os.environ if environ is None else environ)
        identities = _strs(age, "age")
        for ident in identities:
            if not ident.strip():
                raise ValueError("age identities must not be empty")
        if identities:
            env["SOPS_AGE_KEY"] = "\n".join([*identities, env.get("SOPS_AGE_KEY", "")]).strip("\n")
        for name, var, value in (("age_key_file", "SOPS_AGE_KEY_FILE", age_key_file),
                                 ("ssh_key_file", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", ssh_key_file),
                                 ("gnupg_home", "GNUPGHOME", gnupg_home)):
            path = _opt_path(value, name)
            if path is not None:
                env[var] = path
        self.environ: Mapping[str, str] = env
        self.keyservices = _strs(keyservices, "keyservices")
        if not isinstance(local_keyservice, bool):
            raise TypeError("local_keyservice must be a bool")
        self.local_keyservice = local_keyservice
        if decryption_order is None:
            self.decryption_order: list[str] | None = None
        else:
            from .datakey import parse_decryption_order

            self.decryption_order = parse_decryption_order(",".join(_strs(decryption_order, "decryption_order")))
        self._ring: KeyRing | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the identities: a repr ends up in logs
        return (f"Keys(keyservices={self.keyservices!r}, local_keyservice={self.local_keyservice!r}, "
                f"decryption_order={self.decryption_order!r})")

    def ring(self) -> KeyRing:
        """The key ring these keys open files with (built once; thread-safe)."""
        if self._ring is None:
            with self._lock:
                if self._ring is None:
                    from .datakey import KeyRing

                    self._ring = KeyRing(self.environ, services=self.keyservices, local=self.local_keyservice)
        return self._ring
