"""Which values get encrypted: sops' shouldBeEncrypted, split so the walker can decide per path
component (suffix and regex rules) and per comment stack (comment-regex rules).

Regexes are Go RE2 patterns (see goregexp): one sops cannot compile matches nothing."""

from __future__ import annotations

from dataclasses import dataclass

from .goregexp import search
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
            return search(self.value, key)
        return False

    def encrypted(self, any_component_matched: bool, stack: list[list[str]] | None, is_comment: bool) -> bool:
        """sops' shouldBeEncrypted for a leaf, given whether any path component matched."""
        name = self.name
        if name in ("unencrypted_suffix", "unencrypted_regex"):
            return not any_component_matched
        if name in ("encrypted_suffix", "encrypted_regex"):
            return any_component_matched
        assert stack is not None
        pattern = self.value
        if name == "unencrypted_comment_regex":
            return not any(search(pattern, c) for level in stack for c in level)
        # encrypted_comment_regex: the comment line that matches stays clear itself
        last_level = len(stack) - 1
        for i, level in enumerate(stack):
            for j, c in enumerate(level):
                if is_comment and i == last_level and j == len(level) - 1:
                    continue
                if search(pattern, c):
                    return True
        return False

    def rejects_encrypted_comment(self, ciphertext: str) -> bool:
        """sops refuses to write an encrypted comment its unencrypted_comment_regex matches: on decrypt
        that comment would be taken as clear text and the MAC would not verify."""
        return self.name == "unencrypted_comment_regex" and search(self.value, ciphertext)
