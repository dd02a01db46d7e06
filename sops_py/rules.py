"""Which values get encrypted: sops' shouldBeEncrypted, split so the walker can decide per path
component (suffix and regex rules) and per comment stack (comment-regex rules).

Regexes are Go RE2 patterns (see goregexp): one sops cannot compile matches nothing."""

from __future__ import annotations

from .record import Frozen

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from .metadata import Metadata


def _search(pattern: str, text: str) -> bool:
    # goregexp loads `re` and `unicodedata`: only files with a regex rule pay for it
    from .goregexp import search

    return search(pattern, text)


class Rule(Frozen):
    """The one crypt rule in force for a file (an immutable value)."""

    __slots__ = ("name", "value")
    __match_args__ = ("name", "value")
    name: str
    value: str

    def __init__(self, name: str, value: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "value", value)

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
            return _search(self.value, key)
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
            return not any(_search(pattern, c) for level in stack for c in level)
        # encrypted_comment_regex: the comment line that matches stays clear itself
        last_level = len(stack) - 1
        for i, level in enumerate(stack):
            for j, c in enumerate(level):
                if is_comment and i == last_level and j == len(level) - 1:
                    continue
                if _search(pattern, c):
                    return True
        return False

    def rejects_encrypted_comment(self, ciphertext: str) -> bool:
        """sops refuses to write an encrypted comment its unencrypted_comment_regex matches: on decrypt
        that comment would be taken as clear text and the MAC would not verify."""
        return self.name == "unencrypted_comment_regex" and _search(self.value, ciphertext)
