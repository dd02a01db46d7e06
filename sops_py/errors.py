"""The SopsError tree. Each class carries the exit code the Go sops uses for that case.

This is the only module where exit codes live; the CLI's error boundary reads ``exit_code``.
"""

from __future__ import annotations


class SopsError(Exception):
    """Base class of every error sops-py reports to a user."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class CouldNotReadInputFile(SopsError):
    exit_code = 2


class CouldNotWriteOutputFile(SopsError):
    exit_code = 3


class ErrorDumpingTree(SopsError):
    exit_code = 4


class InvalidKMSEncryptionContext(SopsError):
    exit_code = 6


class InvalidSetFormat(SopsError):
    exit_code = 7


class ConflictingParameters(SopsError):
    exit_code = 8


class ErrorEncryptingMac(SopsError):
    exit_code = 21


class ErrorEncryptingTree(SopsError):
    exit_code = 23


class ErrorDecryptingTree(SopsError):
    exit_code = 25


class CannotChangeKeysFromNonExistentFile(SopsError):
    exit_code = 49


class MacMismatch(SopsError):
    exit_code = 51


class InvalidTreePathFormat(SopsError):
    exit_code = 91


class NeedAtLeastOneDocument(SopsError):
    exit_code = 92


class NoFileSpecified(SopsError):
    exit_code = 100


class DuplicateDecryptionKeyType(SopsError):
    exit_code = 112


class CouldNotRetrieveKey(SopsError):
    exit_code = 128


class FileHasNotBeenModified(SopsError):
    exit_code = 200


class NoEditorFound(SopsError):
    exit_code = 201


class FailedToCompareVersions(SopsError):
    exit_code = 202


class FileAlreadyEncrypted(SopsError):
    exit_code = 203


class MetadataNotFound(SopsError):
    """The input has no ``sops`` section (exit 1, as in sops)."""

    def __init__(self, message: str = "sops metadata not found") -> None:
        super().__init__(message)


class KeyError_(SopsError):
    """A master key could not wrap or unwrap a data key; collected into a CouldNotRetrieveKey report."""


class MissingExtra(SopsError):
    """An optional dependency for a key type is not installed."""
