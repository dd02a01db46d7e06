"""A key type that exists only in the tests: the registry's "one module + one line" made real.

Its data key is "wrapped" by XOR with a pad derived from the key's id (no security: it proves the
plumbing, not the crypto)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping

from sops_py.keys import KeyFailed
from sops_py.keys.registry import KeyOptions
from sops_py.metadata import KeyEntry


def _pad(key_id: str, n: int) -> bytes:
    return hashlib.shake_256(key_id.encode()).digest(n)


class DummyBackend:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.allowed = set(env.get("DUMMY_KEYS", "").split(","))

    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        pad = _pad(str(entry.fields["key_id"]), len(secret))
        return base64.b64encode(bytes(a ^ b for a, b in zip(secret, pad, strict=True))).decode()

    def unwrap(self, entry: KeyEntry) -> bytes:
        key_id = str(entry.fields["key_id"])
        if key_id not in self.allowed:
            raise KeyFailed(f"dummy key {key_id} is not available here")
        data = base64.b64decode(entry.enc)
        return bytes(a ^ b for a, b in zip(data, _pad(key_id, len(data)), strict=True))


def make_backend(env: Mapping[str, str]) -> DummyBackend:
    return DummyBackend(env)


def build(values: list[str], options: KeyOptions) -> list[KeyEntry]:
    return [KeyEntry("dummy", {"key_id": v, "enc": ""}) for v in values]


def build_item(raw: object) -> list[KeyEntry]:
    return build([str(raw)], KeyOptions())
