"""Semantic versions as sops compares them (github.com/blang/semver v3 Parse and Compare, used by
sops' version.AIsNewerThanB): the file version check on load and the version bump on edit."""

from __future__ import annotations

from .errors import FailedToCompareVersions, SopsError
from .gotext import go_quote as go_quote  # re-exported
from .metadata import Metadata
from .version import SOPS_FORMAT_VERSION

_DIGITS = frozenset("0123456789")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") | _DIGITS
_UINT64_MAX = 2**64 - 1


class SemverError(ValueError):
    pass


def _parse_uint(text: str) -> int:
    if not text:
        raise SemverError('strconv.ParseUint: parsing "": invalid syntax')
    value = int(text)
    if value > _UINT64_MAX:
        raise SemverError(f"strconv.ParseUint: parsing {go_quote(text)}: value out of range")
    return value


def _version_number(text: str, what: str) -> int:
    if not set(text) <= _DIGITS:
        raise SemverError(f"Invalid character(s) found in {what} number {go_quote(text)}")
    if len(text) > 1 and text[0] == "0":
        raise SemverError(f"{what.capitalize()} number must not contain leading zeroes {go_quote(text)}")
    return _parse_uint(text)


SemVer = tuple[int, int, int, tuple[tuple[int, int | str], ...]]


def parse_semver(s: str) -> SemVer:
    """(major, minor, patch, prerelease identifiers); raises SemverError with blang/semver's message.
    A numeric prerelease identifier is (0, n), an alphanumeric one (1, text): numeric ones sort first."""
    if not s:
        raise SemverError("Version string empty")
    parts = s.split(".", 2)
    if len(parts) != 3:
        raise SemverError("No Major.Minor.Patch elements found")
    major = _version_number(parts[0], "major")
    minor = _version_number(parts[1], "minor")
    patch_text, build = parts[2], []
    if "+" in patch_text:
        patch_text, build_text = patch_text.split("+", 1)
        build = build_text.split(".")
    pre_ids: list[str] = []
    if "-" in patch_text:
        patch_text, pre_text = patch_text.split("-", 1)
        pre_ids = pre_text.split(".")
    patch = _version_number(patch_text, "patch")
    pre: list[tuple[int, int | str]] = []
    for ident in pre_ids:
        if not ident:
            raise SemverError("Prerelease is empty")
        if set(ident) <= _DIGITS:
            if len(ident) > 1 and ident[0] == "0":
                raise SemverError(f"Numeric PreRelease version must not contain leading zeroes {go_quote(ident)}")
            pre.append((0, _parse_uint(ident)))
        elif set(ident) <= _ALNUM:
            pre.append((1, ident))
        else:
            raise SemverError(f"Invalid character(s) found in prerelease {go_quote(ident)}")
    for item in build:
        if not item:
            raise SemverError("Build meta data is empty")
        if not set(item) <= _ALNUM:
            raise SemverError(f"Invalid character(s) found in build meta data {go_quote(item)}")
    return major, minor, patch, tuple(pre)


def _semver_key(v: SemVer) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    # a version without prerelease ranks above any prerelease of the same major.minor.patch
    return v[0], v[1], v[2], 0 if v[3] else 1, v[3]


def a_is_newer_than_b(a: str, b: str) -> bool:
    """sops' version.AIsNewerThanB: a ``1.x`` B is always older (sops 1 was not semver)."""
    if b.startswith("1."):
        return True
    va = parse_semver(a.removeprefix("v"))
    vb = parse_semver(b.removeprefix("v"))
    return _semver_key(va) > _semver_key(vb)


def check_file_version(version: str) -> None:
    """sops parses a loaded file's version (its KMS-context bug check); an invalid one is exit 1."""
    try:
        a_is_newer_than_b("3.3.0", version)
    except SemverError as e:
        raise SopsError(str(e)) from None


def raise_version(md: Metadata, ours: str = SOPS_FORMAT_VERSION) -> None:
    """Set the file's version to ours when ours is newer (exit 202 if either does not parse)."""
    try:
        newer = a_is_newer_than_b(ours, md.version)
    except SemverError as e:
        raise FailedToCompareVersions(
            f"Failed to compare document version {go_quote(md.version)} with program version "
            f"{go_quote(ours)}: {e}"
        ) from None
    if newer:
        md.version = ours
