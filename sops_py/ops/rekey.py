"""Operations on a file's master keys: rotate (new data key), updatekeys (re-wrap the same data key
for the recipients of the matching creation rule) and adding or deleting key groups."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from ..datakey import KeyRing, new_data_key, recover, wrap_groups
from ..metadata import KeyEntry, Metadata
from ..stores import Store
from ..tree import Branch
from .crypt import load_encrypted, open_tree, seal


def _emit(store: Store, branches: list[Branch], md: Metadata) -> bytes:
    from .crypt import _emit_encrypted

    return _emit_encrypted(store, branches, md)


def rotate_data(data: bytes, in_store: Store, out_store: Store, ring: KeyRing, order: list[str] | None,
                add: list[KeyEntry], remove: list[KeyEntry], now: _dt.datetime | None = None) -> bytes:
    """A new data key; every value re-encrypted under it with its old IV (sops' rotate)."""
    branches, md = load_encrypted(data, in_store)
    opened = open_tree(branches, md, ring, order, ignore_mac=False)
    if add:
        md.key_groups[0].extend(KeyEntry(k.type, dict(k.fields)) for k in add)
    gone = {(k.type, k.identity()) for k in remove}
    md.key_groups = [[k for k in g if (k.type, k.identity()) not in gone] for g in md.key_groups]
    key = new_data_key()
    wrap_groups(md, key, ring)
    seal(opened.branches, md, opened.cipher.rekeyed(key), now)
    return _emit(out_store, opened.branches, md)


@dataclass
class GroupDiff:
    common: list[KeyEntry] = field(default_factory=list)
    added: list[KeyEntry] = field(default_factory=list)
    removed: list[KeyEntry] = field(default_factory=list)


def diff_key_groups(ours: list[list[KeyEntry]], theirs: list[list[KeyEntry]]) -> list[GroupDiff]:
    """sops' DiffKeyGroups: per group index, keys kept, added and removed (by identity)."""
    diffs = []
    for i in range(max(len(ours), len(theirs))):
        mine = ours[i] if i < len(ours) else []
        other = theirs[i] if i < len(theirs) else []
        my_ids = {k.identity() for k in mine}
        other_ids = {k.identity() for k in other}
        d = GroupDiff()
        for k in other:
            (d.common if k.identity() in my_ids else d.added).append(k)
        d.removed = [k for k in mine if k.identity() not in other_ids]
        diffs.append(d)
    return diffs


def format_changes(old_threshold: int, new_threshold: int, diffs: list[GroupDiff]) -> str:
    """The change listing updatekeys prints before asking (sops' PrettyPrint* functions)."""
    lines = []
    if old_threshold > 0 and old_threshold == new_threshold:
        lines.append(f"shamir_threshold: {new_threshold}")
    else:
        if new_threshold > 0:
            lines.append(f"+++ shamir_threshold: {new_threshold}")
        if old_threshold > 0:
            lines.append(f"--- shamir_threshold: {old_threshold}")
    for i, d in enumerate(diffs):
        lines.append(f"Group {i + 1}")
        lines += [f"    {k.identity()}" for k in d.common]
        lines += [f"+++ {k.identity()}" for k in d.added]
        lines += [f"--- {k.identity()}" for k in d.removed]
    return "\n".join(lines) + "\n"


@dataclass
class KeyUpdate:
    """What updatekeys would change; ``apply`` re-wraps the data key and returns the new file bytes."""

    branches: list[Branch]
    metadata: Metadata
    new_groups: list[list[KeyEntry]]
    new_threshold: int
    diffs: list[GroupDiff]

    @property
    def changes(self) -> bool:
        keys_change = any(d.added or d.removed for d in self.diffs)
        return keys_change or self.metadata.shamir_threshold != self.new_threshold

    def apply(self, store: Store, ring: KeyRing, order: list[str] | None) -> bytes:
        md = self.metadata
        key = recover(md, ring, order)
        md.key_groups = [[KeyEntry(k.type, dict(k.fields)) for k in g] for g in self.new_groups]
        md.shamir_threshold = self.new_threshold
        wrap_groups(md, key, ring)
        # values, mac and lastmodified stay as they are: only the wrapped keys change
        return _emit(store, self.branches, md)


def plan_update(data: bytes, store: Store, groups: list[list[KeyEntry]], threshold_flag: int = 0) -> KeyUpdate:
    branches, md = load_encrypted(data, store)
    threshold = threshold_flag or md.shamir_threshold
    threshold = min(threshold, len(groups))
    return KeyUpdate(branches, md, groups, threshold, diff_key_groups(md.key_groups, groups))


def add_group(data: bytes, in_store: Store, out_store: Store, ring: KeyRing, group: list[KeyEntry],
              threshold: int = 0) -> bytes:
    branches, md = load_encrypted(data, in_store)
    key = recover(md, ring, None)
    md.key_groups.append([KeyEntry(k.type, dict(k.fields)) for k in group])
    if threshold:
        md.shamir_threshold = threshold
    wrap_groups(md, key, ring)
    return _emit(out_store, branches, md)


def delete_group(data: bytes, in_store: Store, out_store: Store, ring: KeyRing, index: int,
                 threshold: int = 0) -> bytes:
    from ..errors import SopsError

    branches, md = load_encrypted(data, in_store)
    key = recover(md, ring, None)
    if not 0 <= index < len(md.key_groups):
        raise SopsError(f"no key group with index {index}: the file has {len(md.key_groups)} key groups")
    del md.key_groups[index]
    if threshold:
        md.shamir_threshold = threshold
    if len(md.key_groups) < md.shamir_threshold:
        raise SopsError("removing this key group will make the Shamir threshold impossible to satisfy: "
                        f"Shamir threshold is {md.shamir_threshold}, but we only have {len(md.key_groups)} key groups")
    wrap_groups(md, key, ring)
    return _emit(out_store, branches, md)
