"""Go regexp (RE2) semantics for the crypt-rule regexes. Every expectation below was observed with the sops
binary (its encrypted_regex deciding which keys get encrypted); tests/interop/test_rules_sops.py re-checks a
larger matrix against the binary itself."""

from __future__ import annotations

import pytest

from sops_py.goregexp import compile_go, search, translate
from sops_py.rules import Rule


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    # $ is the end of the text (Python's $ also matches before a final newline); \z too
    ("a$", "a", True), ("a$", "a\n", False), ("a\\z", "a\n", False), ("(?m)a$", "a\n", True),
    # ASCII Perl classes and word boundaries
    ("\\d", "\u0663", False), ("\\d", "1", True), ("\\w", "\u00e9", False), ("\\s", "v\x0b", False),
    ("\\bb", "a b", True), ("\\bb", "\u00e9b", True), ("[[:alpha:]]+$", "\u00e9", False),
    # flags anywhere, scoped flags, ungreedy
    ("a(?i)b", "aB", True), ("a(?i)b", "Ab", False), ("(?i:a)b", "AB", False), ("(?U)a+", "aaa", True),
    ("(?i)K", "\u212a", True), ("(?i)s", "\u017f", True),
    # literal braces where RE2 sees no repeat
    ("a{,2}", "a{,2}", True), ("a{,2}", "a", False), ("}", "}", True),
    # RE2 syntax Python spells differently
    ("(?<n>a)", "a", True), ("(?P<1>a)", "a", True), ("\\x{3A9}", "\u03a9", True), ("\\Qa.b\\E", "axb", False),
    ("\\Qa.b\\E", "a.b", True), ("\\101", "A", True), ("\\pL", "\u03b1", True), ("\\p{Lu}", "\u03a9", True),
    ("\\PL", "\u03b1\u03b2", False), ("[\\p{Lu}]", "A", True), ("\\p{^L}", "1", True),
    # RE2 rejects these: they match nothing (Go's regexp.Match discards the compile error)
    ("(", "(", False), ("\\1", "a", False), ("(a)\\1", "aa", False), ("(?=a)", "a", False), ("a**", "aa", False),
    ("a++", "a", False), ("a{1001}", "a" * 1001, False), ("a{2,1}", "aa", False), ("\\e", "e", False),
    ("\\Z", "", False), ("\\C", "a", False), ("[[:foo:]]", "f", False), ("(?i", "i", False), ("(?-)", "", False),
    ("a|*", "a", False),
])
def test_search(pattern: str, text: str, expected: bool) -> None:
    assert search(pattern, text) is expected


def test_valid_patterns_translate_and_invalid_ones_do_not_compile() -> None:
    assert translate("(?i)ab$") == "(?i:ab\\Z)"
    assert compile_go("(?)") is not None
    assert compile_go("(?:a)") is not None
    assert compile_go("(unclosed") is None


def test_rules_use_go_semantics() -> None:
    assert Rule("encrypted_regex", "(").component_matches("(") is False
    assert Rule("unencrypted_regex", "^a$").component_matches("a\n") is False
    assert Rule("unencrypted_comment_regex", "AES").rejects_encrypted_comment("ENC[AES256_GCM,...]")
    assert not Rule("encrypted_comment_regex", "AES").rejects_encrypted_comment("ENC[AES256_GCM,...]")
