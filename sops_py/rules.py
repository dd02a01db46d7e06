"""Which values get encrypted: sops' shouldBeEncrypted, split so the walker can decide per path
component (suffix and regex rules) and per comment stack (comment-regex rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .metadata import Metadata


@dataclass(frozen=True)
class Rule:
    """The one crypt rule in force for a file."""

    name: str
    value: str

    @classmethod
    def of(cls, md: Metadata) -> Rule:
        name, value = md.crypt_rule()
        return cls(name, value)

    @property
    def uses_comments(self) -> bool:
        return self.name.endswith("comment_regex")

    def component_matches(self, key: str) -> bool:
        """Whether one path component triggers the rule (suffix or regex rules only)."""
        if self.name.endswith("suffix"):
            return key.endswith(self.value)
        if self.name in ("unencrypted_regex", "encrypted_regex"):
            return _compile(self.value).search(key) is not None
        return False

    def encrypted(self, any_component_matched: bool, stack: list[list[str]] | None, is_comment: bool) -> bool:
        """sops' shouldBeEncrypted for a leaf, given whether any path component matched."""
        name = self.name
        if name in ("unencrypted_suffix", "unencrypted_regex"):
            return not any_component_matched
        if name in ("encrypted_suffix", "encrypted_regex"):
            return any_component_matched
        assert stack is not None
        pattern = _compile(self.value)
        if name == "unencrypted_comment_regex":
            return not any(pattern.search(c) for level in stack for c in level)
        # encrypted_comment_regex: the comment line that matches stays clear itself
        last_level = len(stack) - 1
        for i, level in enumerate(stack):
            for j, c in enumerate(level):
                if is_comment and i == last_level and j == len(level) - 1:
                    continue
                if pattern.search(c):
                    return True
        return False


_CACHE: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    compiled = _CACHE.get(pattern)
    if compiled is None:
        compiled = _CACHE[pattern] = re.compile(pattern)
    return compiled
