"""The SopsError tree. Each class carries the exit code the Go sops uses for that case.

This is the only module where exit codes live; the CLI's error boundary reads ``exit_code``.
"""

from __future__ import annotations


class SopsError(Exception):
    """Base class of every error sops-py reports to a user."""

    exit_code = 1
    hint = ""  # what to do next, shown after the message on a terminal (see ``report``)
    verbatim = False  # True: a message ending in a newline keeps it (sops prints an empty line after it)

    def __init__(self, message: str, exit_code: int | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


class CouldNotReadInputFile(SopsError):
    exit_code = 2


class CouldNotWriteOutputFile(SopsError):
    exit_code = 3


class WriteFailed(CouldNotWriteOutputFile):
    """A write that failed once the output was open (a full disk, an I/O error): sops reports Go's bare
    error ("write PATH: no space left on device") with exit 1. The user's file is left as it was."""

    exit_code = 1


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


class KeyFailure:
    """One master key that could not unwrap the data key: its type, how sops names it, and one
    message per key service tried."""

    __slots__ = ("errors", "key", "key_type")

    def __init__(self, key_type: str, key: str, errors: list[str]) -> None:
        self.key_type = key_type
        self.key = key
        self.errors = errors

    def __repr__(self) -> str:
        return f"KeyFailure(key_type={self.key_type!r}, key={self.key!r}, errors={self.errors!r})"


class CouldNotRetrieveKey(SopsError):
    """No key (or too few key groups) could unwrap the data key. ``str(e)`` is sops' report;
    ``groups`` has one item per key group: None where the group succeeded, else its KeyFailures in
    the order tried; ``threshold`` is the file's Shamir threshold (0: one group)."""

    exit_code = 128

    def __init__(self, message: str, groups: list[list[KeyFailure] | None] | None = None,
                 threshold: int = 0) -> None:
        super().__init__(message)
        self.groups: list[list[KeyFailure] | None] = [] if groups is None else groups
        self.threshold = threshold


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


class MasterKeyError(SopsError):
    """A master key could not wrap or unwrap a data key; collected into a CouldNotRetrieveKey report."""


KeyError_ = MasterKeyError  # the former name


class MissingExtra(MasterKeyError):
    """An optional dependency (a key type's SDK, grpcio for key services) is not installed."""


class ConfigError(SopsError):
    """A broken or unusable .sops.yaml (exit 1, as in sops)."""


class BatchError(SopsError):
    """Some files of a batch failed: ``results`` holds the outputs of those that worked, ``errors``
    each failed path's SopsError. Its exit code is the first failure's."""

    def __init__(self, results: dict[str, bytes], errors: dict[str, SopsError]) -> None:
        first_path, first = next(iter(errors.items()))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first_path}: {first}{more}", first.exit_code)
        self.results = results
        self.errors = errors


class GoPanic(SopsError):
    """Where sops crashes with a Go runtime panic: the same first line, exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(f"panic: {message}\n\ngoroutine 1 [running]:\n(sops-py: sops panics here)")


class ChildFailed(SopsError):
    """The command run by exec-env/exec-file failed: sops exits with the child's own status, or 255
    when a signal ended it."""

    SIGNALED = 255


class NoHelpTopic(SopsError):
    """``sops help X`` for an unknown X (urfave/cli's exit 3)."""

    exit_code = 3


# Exit codes of the error boundary that are not a SopsError: sops' (and the shell's) conventions.
EXIT_OK = 0
EXIT_USAGE = 1
EXIT_PROBLEMS_FOUND = 1  # sops-py check (a linter's convention): problems were found
EXIT_INTERRUPTED = 130
EXIT_DIFFERENCES = 1  # `sops-py diff --exit-code` found differences (as `git diff --exit-code`)


def report(exc: BaseException, stderr: object = None) -> int:
    """The one error boundary of every entry point (fast path, full CLI, integrations): write what
    the user must see to stderr and return the exit code.

    A ``SopsError`` prints its message as sops does; its ``hint`` (what to do next, a sops-py
    addition) follows on a ``hint:`` line only when stderr is a terminal, so scripts that compare
    output with sops see no difference. Ctrl-C is 130 and a closed stdout is a quiet 0, as in sops.
    Anything else is a bug: it propagates to Python's handler (a crash report, not a user error)."""
    import sys

    out = sys.stderr if stderr is None else stderr
    if isinstance(exc, SopsError):
        text = (str(exc) if exc.verbatim else str(exc).rstrip("\n")) + "\n"
        hint = getattr(exc, "hint", "")
        if hint and getattr(out, "isatty", lambda: False)():
            text += f"hint: {hint}\n"
        out.write(text)  # type: ignore[union-attr]
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        return EXIT_OK
    raise exc
