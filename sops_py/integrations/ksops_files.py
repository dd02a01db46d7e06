"""Where a KSOPS generator's files are and how they are read: the run's options (from the
environment, as KSOPS reads ``KSOPS_CONCURRENCY_LIMIT``), each file reference resolved against the
kustomization directory under kustomize's load restriction, and read with Go's error wording.

KSOPS itself reads any path it is given; sops-py refuses one that leaves the kustomization
directory (through ``..``, an absolute path or a symbolic link), as kustomize refuses such files
for its own generators, unless ``SOPS_PY_KSOPS_LOAD_RESTRICTOR=LoadRestrictionsNone``.
"""

from __future__ import annotations

import os

from ..keychain import Keys
from .ksops_manifest import GeneratorError

TYPE_CHECKING = False  # typing costs milliseconds of start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping

KEYLESS_VAR = "SOPS_PY_KSOPS_KEYLESS"
RESTRICTOR_VAR = "SOPS_PY_KSOPS_LOAD_RESTRICTOR"  # LoadRestrictionsNone lifts the root-only rule
CONCURRENCY_VAR = "KSOPS_CONCURRENCY_LIMIT"  # KSOPS' variable, same meaning and default
DEFAULT_CONCURRENCY = 20
TRUE_WORDS = ("1", "t", "true", "yes", "on", "y")


class Options:
    """How to run: the kustomization directory, the keys, keyless mode, the load restriction and how
    many files may wait on key services at once (``from_environ`` reads the variables)."""

    __slots__ = ("concurrency", "environ", "keyless", "keys", "restricted", "root")

    def __init__(self, root: str, keys: Keys | None = None, *, keyless: bool = False, restricted: bool = True,
                 concurrency: int = DEFAULT_CONCURRENCY, environ: Mapping[str, str] | None = None) -> None:
        self.root = os.path.abspath(root)
        self.keys = keys if keys is not None else Keys()
        self.keyless = keyless
        self.restricted = restricted
        self.concurrency = concurrency
        self.environ: Mapping[str, str] = self.keys.environ if environ is None else environ

    @classmethod
    def from_environ(cls, root: str, environ: Mapping[str, str] | None = None) -> Options:
        env = dict(os.environ if environ is None else environ)
        limit = env.get(CONCURRENCY_VAR, "")
        concurrency = DEFAULT_CONCURRENCY
        if limit:
            try:
                concurrency = int(limit)
            except ValueError:
                concurrency = 0
            if concurrency < 1:
                raise GeneratorError(f"error parsing {CONCURRENCY_VAR} value {limit!r}: must be a positive integer")
        return cls(root, Keys(environ=env), keyless=env.get(KEYLESS_VAR, "").strip().lower() in TRUE_WORDS,
                   restricted=env.get(RESTRICTOR_VAR, "") != "LoadRestrictionsNone", concurrency=concurrency,
                   environ=env)


class Source:
    """One file reference of a manifest: where it was listed (for the error) and its resolved path."""

    __slots__ = ("path", "ref", "section")

    def __init__(self, section: str, ref: str, path: str) -> None:
        self.section = section
        self.ref = ref
        self.path = path

    def error(self, reason: str) -> GeneratorError:
        return GeneratorError(f'error decrypting file "{self.ref}" from {self.section}: {reason}')


def resolve(options: Options, section: str, ref: str) -> Source:
    """The file a reference names, relative to the kustomization directory; with the load restriction
    on (the default, as kustomize's), a path that leaves that directory, through ``..``, an absolute
    path or a symbolic link, is refused."""
    path = os.path.normpath(os.path.join(options.root, ref))
    source = Source(section, ref, path)
    if options.restricted:
        real, root = os.path.realpath(path), os.path.realpath(options.root)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise source.error(f"security; file '{path}' is not in or below '{options.root}' "
                               f"(set {RESTRICTOR_VAR}=LoadRestrictionsNone to allow it)")
    return source


def read_source(source: Source) -> bytes:
    """The file's bytes; errors in Go's words, as KSOPS reports them. Only a regular file is read: a
    FIFO or a device (``/dev/zero``) would block the build or exhaust memory, so it is refused
    (opened without blocking, so a FIFO with no writer cannot hang the refusal itself)."""
    import stat

    try:
        fd = os.open(source.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        reason = f"open {source.ref}: no such file or directory"
    except PermissionError:
        reason = f"open {source.ref}: permission denied"
    except OSError as e:
        reason = f"open {source.ref}: {e.strerror or e}"
    else:
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                with os.fdopen(fd, "rb", closefd=False) as f:
                    return f.read()
            kind = "is a directory" if stat.S_ISDIR(mode) else "not a regular file"
            reason = f"read {source.ref}: {kind}"
        except OSError as e:
            reason = f"read {source.ref}: {e.strerror or e}"
        finally:
            os.close(fd)
    raise source.error(f'error reading "{source.ref}": {reason}')


def format_for(path: str) -> str:
    from ..stores import format_for_path

    return format_for_path(path)
