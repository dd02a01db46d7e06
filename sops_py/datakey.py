"""The data key: create it, wrap it for every master key (split across key groups with Shamir),
and recover it honouring the decryption order and the Shamir threshold.

Key-type code is imported lazily through ``keys.registry`` so only the types a file uses are loaded.
A ``KeyRing`` reaches master keys through key services, as sops does: the local one (the backends
here) first when enabled, then each remote ``--keyservice`` URI in order; the gRPC client behind the
remote ones (``sops_py.keyservice.client``) is imported only when a URI is given.
"""

from __future__ import annotations

import os
import sys

from . import log
from .errors import CouldNotRetrieveKey, DuplicateDecryptionKeyType, KeyFailure, MasterKeyError, SopsError
from .keys.registry import LOCAL_TYPES

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Protocol, TypeVar

    T = TypeVar("T")
    R = TypeVar("R")

    from .keys.registry import Backend
    from .metadata import KeyEntry, Metadata

    class KeyService(Protocol):
        """Wraps and unwraps data keys for master keys (sops' KeyServiceClient, one ``KeyEntry`` at a time)."""

        def encrypt(self, entry: KeyEntry, plaintext: bytes) -> str: ...
        def decrypt(self, entry: KeyEntry) -> bytes: ...

DEFAULT_DECRYPTION_ORDER = ("age", "pgp")


class KeyServicesFailed(MasterKeyError):
    """Every key service failed for one master key (or there was none); ``errors`` holds each one's
    error, in service order, as sops lists them under the key in its reports."""

    def __init__(self, errors: Sequence[BaseException]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(error_message(e) for e in self.errors) or NO_KEY_SERVICES)


NO_KEY_SERVICES = "no key services provided, cannot update master keys"


def error_message(e: BaseException) -> str:
    return str(e) or type(e).__name__


def error_messages(e: BaseException) -> list[str]:
    """One message per key service that failed (a single one for a plain backend error)."""
    if isinstance(e, KeyServicesFailed):
        return [error_message(x) for x in e.errors]
    return [error_message(e)]


class _LocalKeyService:
    """The local key service: this process' own backends and credentials."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def encrypt(self, entry: KeyEntry, plaintext: bytes) -> str:
        return self._ring.backend(entry.type).wrap(entry, plaintext)

    def decrypt(self, entry: KeyEntry) -> bytes:
        return self._ring.backend(entry.type).unwrap(entry)


class KeyRing:
    """Per-operation access to key backends; each backend is built once, on first use.

    ``services`` are remote key service URIs (``unix:///path``, ``tcp://host:port``) and ``local``
    enables this process' own backends, tried first (sops' --keyservice / --enable-local-keyservice).
    """

    def __init__(self, env: Mapping[str, str] | None = None, services: Sequence[str] = (),
                 local: bool = True) -> None:
        import threading

        self.env: Mapping[str, str] = os.environ if env is None else env
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()  # backends and clients are built once even when keys wrap concurrently
        self.services = list(services)
        self.local = local
        self._clients: list[KeyService] | None = None

    def backend(self, kind: str) -> Backend:
        b = self._backends.get(kind)
        if b is None:
            with self._lock:
                b = self._backends.get(kind)
                if b is None:
                    from .keys.registry import key_type

                    b = self._backends[kind] = key_type(kind).make_backend(self.env)
        return b

    def key_services(self) -> list[KeyService]:
        """Local first when enabled, then each remote in the order given (sops' keyservices())."""
        if self._clients is None:
            with self._lock:
                if self._clients is None:
                    clients: list[KeyService] = [_LocalKeyService(self)] if self.local else []
                    if self.services:
                        from .keyservice.client import connect_all  # grpc only when a remote service is used

                        clients.extend(connect_all(self.services))
                    self._clients = clients
        return self._clients

    @property
    def has_key_services(self) -> bool:
        return bool(self.key_services())

    def wrap(self, entry: KeyEntry, secret: bytes) -> None:
        """Wrap with the first key service that succeeds (sops: one success per master key is enough)."""
        errors: list[MasterKeyError] = []
        for svc in self.key_services():
            try:
                entry.enc = svc.encrypt(entry, secret)
                return
            except MasterKeyError as e:  # reported per key service, like sops; anything else is a bug
                errors.append(e)
        raise _failure(errors)

    def unwrap(self, entry: KeyEntry) -> bytes:
        """Unwrap with each key service in order until one succeeds."""
        errors: list[MasterKeyError] = []
        for svc in self.key_services():
            try:
                return svc.decrypt(entry)
            except MasterKeyError as e:  # reported per key service, like sops; anything else is a bug
                errors.append(e)
        raise _failure(errors)


def _failure(errors: list[MasterKeyError]) -> MasterKeyError:
    # One service (the usual local-only case): its own error, unchanged.
    return errors[0] if len(errors) == 1 else KeyServicesFailed(errors)


def parse_decryption_order(text: str | None) -> list[str]:
    if not text:
        return list(DEFAULT_DECRYPTION_ORDER)
    order = [t.strip() for t in text.split(",") if t.strip()]
    seen: set[str] = set()
    for t in order:
        if t in seen:
            raise DuplicateDecryptionKeyType(f"Duplicate decryption key type: {t}")
        seen.add(t)
    return order


def new_data_key(rand: Callable[[int], bytes] = os.urandom) -> bytes:
    return rand(32)


def wrap_groups(md: Metadata, data_key: bytes, ring: KeyRing,
                rand: Callable[[int], bytes] = os.urandom) -> None:
    """Wrap the data key (or one Shamir share per group) with every master key, in place."""
    if not ring.has_key_services:
        raise SopsError(f"Could not generate data key: [{NO_KEY_SERVICES}]")
    if not md.key_groups:
        raise SopsError("Could not generate data key: [no key groups provided]")
    if len(md.key_groups) == 1:
        parts = [data_key]
    else:
        if md.shamir_threshold == 0:
            md.shamir_threshold = len(md.key_groups)
        from . import shamir

        log.info("Splitting data key with Shamir Secret Sharing", name="SOPS",
                 fields={"parts": len(md.key_groups), "quorum": md.shamir_threshold})
        try:
            parts = shamir.split(data_key, len(md.key_groups), md.shamir_threshold, rand)
        except SopsError as e:
            raise SopsError(f"Could not generate data key: [could not split data key into parts for Shamir: {e}]") \
                from None
    jobs: list[tuple[KeyEntry, bytes]] = []
    for group, part in zip(md.key_groups, parts, strict=True):
        if not group:
            raise SopsError("Could not generate data key: [empty key group provided]")  # as sops' encrypt
        jobs.extend((entry, part) for entry in group)

    def wrap_one(job: tuple[KeyEntry, bytes]) -> list[str]:
        entry, part = job
        try:
            ring.wrap(entry, part)
        except MasterKeyError as e:  # every key failure is reported the same way
            return [f"failed to encrypt new data key with master key \"{entry.identity()}\": {m}"
                    for m in error_messages(e)]
        return []

    errors = [m for ms in concurrently(wrap_one, jobs, _remote(ring, [e for e, _ in jobs])) for m in ms]
    if errors:
        raise SopsError("Could not generate data key: [" + " ".join(errors) + "]")


def _remote(ring: KeyRing, entries: Sequence[KeyEntry]) -> bool:
    """Whether wrapping or unwrapping ``entries`` waits on something outside this process (a cloud
    service, gpg, a remote key service): then it pays to run the calls concurrently."""
    return len(entries) > 1 and (bool(ring.services) or any(e.type not in LOCAL_TYPES for e in entries))


def concurrently(fn: Callable[[T], R], items: Sequence[T], parallel: bool) -> list[R]:
    """``[fn(x) for x in items]``, on one thread per item when ``parallel`` (results in order).

    sops makes each key service call in turn; network-bound calls overlap here instead. Exceptions
    other than the ones ``fn`` handles propagate from the first item that raised."""
    if not parallel or len(items) < 2:
        return [fn(x) for x in items]
    import threading

    results: list[R | None] = [None] * len(items)
    raised: list[BaseException | None] = [None] * len(items)

    def run(i: int) -> None:
        try:
            results[i] = fn(items[i])
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread below
            raised[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in raised:
        if e is not None:
            raise e
    return results  # type: ignore[return-value]  # every slot was filled when nothing raised


def _sorted_group(group: list[KeyEntry], order: list[str]) -> list[KeyEntry]:
    rank = {t: i for i, t in enumerate(order)}
    return sorted(group, key=lambda k: rank.get(k.type, len(order)))  # stable, as sops


def recover(md: Metadata, ring: KeyRing, order: list[str] | None = None) -> bytes:
    """Recover the data key: try every group in order, each key in decryption order."""
    order = list(DEFAULT_DECRYPTION_ORDER) if order is None else order

    def recover_group(group: list[KeyEntry]) -> tuple[bytes | None, list[tuple[str, str, list[str]]]]:
        failures: list[tuple[str, str, list[str]]] = []
        for entry in _sorted_group(group, order):  # keys of one group in turn, in sops' order
            try:
                return ring.unwrap(entry), failures
            except MasterKeyError as e:  # reported per key, like sops
                failures.append((entry.type, entry.identity(), error_messages(e)))
        return None, failures

    # groups are independent: with remote keys they are recovered concurrently
    outcomes = concurrently(recover_group, md.key_groups,
                            _remote(ring, [e for g in md.key_groups for e in g]) and len(md.key_groups) > 1)
    parts = [got for got, _ in outcomes if got is not None]
    results = [None if got is not None else failures for got, failures in outcomes]
    detail: list[list[KeyFailure] | None] = [
        None if r is None else [KeyFailure(t, name, errs) for t, name, errs in r] for r in results]
    if len(md.key_groups) > 1:
        if len(parts) < md.shamir_threshold or len(parts) < 2:
            raise CouldNotRetrieveKey(_report(results, md.shamir_threshold), detail, md.shamir_threshold)
        from . import shamir

        try:
            key = shamir.combine(parts)
        except SopsError as e:
            raise CouldNotRetrieveKey(f"could not get data key from shamir parts: {e}") from None
    else:
        if len(parts) != 1:
            raise CouldNotRetrieveKey(_report(results, md.shamir_threshold), detail, md.shamir_threshold)
        key = parts[0]
    log.info("Data key recovered successfully", name="SOPS")
    return key


def wrap_text(text: str, width: int) -> str:
    """Word wrapping as go-wordwrap 1.0.1 (used by sops' reports): runs of spaces are kept (so
    indentation survives), a line breaks before a word that would pass ``width`` unless the word alone
    is that long, and the spaces at such a break are dropped."""
    out: list[str] = []
    col = 0
    word: list[str] = []
    space: list[str] = []

    def flush() -> None:
        nonlocal col
        col += len(space) + len(word)
        out.extend(space)
        out.extend(word)
        space.clear()
        word.clear()

    for ch in text:
        if ch == "\n":
            if not word:
                if col + len(space) <= width:
                    out.extend(space)
                space.clear()
            else:
                flush()
            out.append("\n")
            col = 0
        elif ch.isspace() and ch != "\u00a0":
            if not space or word:
                flush()
            space.append(ch)
        else:
            word.append(ch)
            if col + len(word) + len(space) > width and len(word) < width:
                out.append("\n")
                col = 0
                space.clear()
    if not word:
        if col + len(space) <= width:
            out.extend(space)
    else:
        out.extend(space)
        out.extend(word)
    return "".join(out)


def _status(ok: bool) -> str:
    word = "SUCCESS" if ok else "FAILED"
    if sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb":
        return ("\x1b[32m" if ok else "\x1b[31m") + word + "\x1b[0m"
    return word


def _prefix(text: str, prefix: str) -> str:
    """Each line prefixed, as goware/prefixer: nothing after a final newline, nothing for ''."""
    lines = text.split("\n")
    out = [prefix + line for line in lines[:-1]]
    if lines[-1]:
        out.append(prefix + lines[-1])
    elif len(lines) > 1:
        out.append("")
    return "\n".join(out)


def _report(results: list[list[tuple[str, str, list[str]]] | None], threshold: int) -> str:
    blocks = []
    for i, failures in enumerate(results):
        header = f"Group {i}: {_status(failures is None)}"
        if failures is None:
            blocks.append(header)
            continue
        keys = []
        for _, name, errs in failures:
            # one message per key service tried, as sops' decryptKeyError
            msgs = ["-" + _prefix(wrap_text(err, 60), "  | ")[1:] for err in errs]
            keys.append(f"{name}: {_status(False)}\n" + _prefix("\n\n".join(msgs), "  "))
        blocks.append(header + "\n" + _prefix("\n\n".join(keys), "  "))
    successes = sum(1 for r in results if r is None)
    if threshold == 0:
        trailer = ("Recovery failed because no master key was able to decrypt the file. In order for "
                   "SOPS to recover the file, at least one key has to be successful, but none were.")
    else:
        trailer = (f"Recovery failed because the file was encrypted with a Shamir threshold of {threshold}, "
                   f"but only {successes} part(s) were successfully recovered, one for each successful "
                   f"key group. In order for SOPS to recover the file, at least {threshold} groups have "
                   "to be successful. In order for a group to be successful, decryption has to succeed "
                   "with any of the keys in that key group.")
    return ("Failed to get the data key required to decrypt the SOPS file.\n\n"
            + "\n\n".join(blocks) + "\n\n" + wrap_text(trailer, 75))


