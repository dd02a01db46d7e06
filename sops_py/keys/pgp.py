"""PGP master keys as sops uses them (``pgp/keysource.go``), through the ``gpg`` binary.

* ``wrap``: ``gpg --no-default-recipient --yes --encrypt -a -r <FP> --trusted-key <last 16> --no-encrypt-to``
  with the data key on stdin; ``enc`` is gpg's ASCII armor with surrounding whitespace trimmed (no
  trailing newline, so YAML writes ``enc: |-``).
* ``unwrap``: ``gpg -d`` with ``enc`` on stdin; gpg (and its agent) use whatever secret keys the
  keyring holds, whichever subkey the message was encrypted to.

The binary is ``$SOPS_GPG_EXEC`` or ``gpg``. Like the sops CLI, no ``--homedir`` is passed: gpg
finds its home itself, from ``GNUPGHOME`` in the environment it is given or ``~/.gnupg``.

sops first tries ProtonMail's go-crypto on a legacy ``pubring.gpg``/``secring.gpg`` in the GnuPG home
and only then runs gpg. sops-py always runs gpg. gpg reads those legacy keyrings itself, so the keys
work either way. The error texts are sops' own: the go-crypto stage fails the way it does when those
files are absent, which is the case for every keyring created by GnuPG 2.1 or later. A failure reads

    could not decrypt data key with PGP key: github.com/ProtonMail/go-crypto/openpgp error: could not
    load secring: open <home>/pubring.gpg: no such file or directory; GnuPG binary error: failed to
    decrypt sops data key with pgp: <gpg's stderr, trimmed>

Where sops prints nothing after the last colon (gpg could not be started, or it failed without a word),
the reason is added.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence

from ..metadata import KeyEntry
from . import KeyFailed, KeyNotApplicable
from .keylog import logged

KEY_TYPE = "pgp"
SOPS_GPG_EXEC = "SOPS_GPG_EXEC"
DEFAULT_GPG = "gpg"
LEGACY_PUBRING = "pubring.gpg"
LEGACY_SECRING = "secring.gpg"
_OPENPGP = "github.com/ProtonMail/go-crypto/openpgp error: "
_GNUPG = "GnuPG binary error: "
# gpg's message when no secret key in the keyring matches the message (English locale only).
_NO_SECRET_KEY = "No secret key"


def normalise_fingerprint(fp: str) -> str:
    """What sops stores for a ``--pgp``/``.sops.yaml`` fingerprint: spaces removed, case kept."""
    return fp.replace(" ", "")


def shorten_fingerprint(fp: str) -> str:
    """The last 16 hex digits (the long key ID), passed as ``--trusted-key``.

    A trailing ``!`` (gpg's "exactly this subkey") is kept together with the 16 digits before it.
    Fingerprints of 16 characters or fewer are used whole.
    """
    offset = len(fp) - 16
    if fp.endswith("!"):
        offset -= 1
    return fp[offset:] if offset > 0 else fp


def gpg_binary(env: Mapping[str, str]) -> str:
    """``$SOPS_GPG_EXEC`` when set and non-empty, else ``gpg`` (looked up in the environment's PATH)."""
    return env.get(SOPS_GPG_EXEC) or DEFAULT_GPG


def gnupg_home(env: Mapping[str, str]) -> str:
    """The GnuPG home sops' go-crypto stage looks in: ``$GNUPGHOME``, else the user's ``~/.gnupg``.

    Like Go's ``user.Current()``, the home directory comes from the password database first and
    ``$HOME`` only when that fails.
    """
    home = env.get("GNUPGHOME", "")
    if home:
        return home
    try:
        import pwd

        user_home = pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError, AttributeError):
        user_home = env.get("HOME", "")
    return os.path.join(user_home, ".gnupg")


def _errno_text(e: OSError) -> str:
    """Go's syscall.Errno text: the C strerror with a lower-case first letter."""
    text = os.strerror(e.errno) if e.errno is not None else str(e)
    return text[:1].lower() + text[1:]


def _go_trim(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()


class _GpgRun:
    """The outcome of one gpg run: exit status, output, and why it could not start (if it could not)."""

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes, start_error: str = "") -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.start_error = start_error

    @property
    def ok(self) -> bool:
        return not self.start_error and self.returncode == 0

    def reason(self) -> str:
        """gpg's stderr, trimmed, as sops reports it; sops' empty text gets the cause added."""
        text = _go_trim(self.stderr)
        if text:
            return text
        if self.start_error:
            return self.start_error
        if self.returncode >= 0:
            return f"exit status {self.returncode}"
        try:
            name = signal.strsignal(-self.returncode) or str(-self.returncode)
        except ValueError:
            name = str(-self.returncode)
        return "signal: " + name[:1].lower() + name[1:]


def run_gpg(args: Sequence[str], stdin: bytes, env: Mapping[str, str]) -> _GpgRun:
    """Run the gpg binary with ``args`` exactly as sops' gpgExec does (no shell, no timeout)."""
    binary = gpg_binary(env)
    try:
        proc = subprocess.run([binary, *args], input=stdin, capture_output=True, env=dict(env), check=False)
    except FileNotFoundError as e:
        if os.sep in binary or (os.altsep and os.altsep in binary):
            return _GpgRun(-1, b"", b"", f"fork/exec {binary}: {_errno_text(e)}")
        return _GpgRun(-1, b"", b"", f'exec: "{binary}": executable file not found in $PATH')
    except OSError as e:
        return _GpgRun(-1, b"", b"", f"fork/exec {binary}: {_errno_text(e)}")
    return _GpgRun(proc.returncode, proc.stdout, proc.stderr)


def _openpgp_decrypt_error(env: Mapping[str, str]) -> str:
    """What sops' go-crypto stage says before it falls back to gpg.

    With no legacy ``secring.gpg`` sops reads ``pubring.gpg`` instead; when that is missing too,
    opening it fails. A legacy keyring that is present is left to gpg here.
    """
    home = gnupg_home(env)
    secring = os.path.join(home, LEGACY_SECRING)
    try:
        os.lstat(secring)
        return f"legacy keyring {secring} is not read by sops-py; gpg reads it"
    except FileNotFoundError:
        pass
    except OSError as e:
        return f"could not load secring: lstat {secring}: {_errno_text(e)}"
    pubring = os.path.join(home, LEGACY_PUBRING)
    try:
        with open(pubring, "rb"):
            pass
    except OSError as e:
        return f"could not load secring: open {pubring}: {_errno_text(e)}"
    return f"legacy keyring {pubring} is not read by sops-py; gpg reads it"


def encrypt(fingerprint: str, data_key: bytes, env: Mapping[str, str]) -> str:
    """Wrap ``data_key`` for the key with this fingerprint; returns the ``enc`` string.

    Raises ``KeyFailed`` with sops' message when gpg fails (no public key, gpg missing, ...).
    """
    fp = normalise_fingerprint(fingerprint)
    args = ["--no-default-recipient", "--yes", "--encrypt", "-a", "-r", fp,
            "--trusted-key", shorten_fingerprint(fp), "--no-encrypt-to"]
    run = run_gpg(args, data_key, env)
    if run.ok:
        return run.stdout.strip().decode("utf-8", "replace")
    raise KeyFailed(
        "could not encrypt data key with PGP key: "
        + _OPENPGP + f"key with fingerprint '{fp}' is not available in keyring; "
        + _GNUPG + "failed to encrypt sops data key with pgp: " + run.reason()
    )


def decrypt(enc: str, env: Mapping[str, str]) -> bytes:
    """Unwrap an ``enc`` string with any secret key gpg holds.

    Raises ``KeyNotApplicable`` when gpg reports that no secret key matches, else ``KeyFailed``;
    the message is sops' in both cases.
    """
    run = run_gpg(["-d"], enc.encode("utf-8"), env)
    if run.ok and run.stdout:
        return run.stdout
    if run.ok:
        # An older gpg may drop an AEAD packet it cannot read and succeed with no output.
        reason = "zero bytes returned"
    else:
        reason = run.reason()
    message = ("could not decrypt data key with PGP key: " + _OPENPGP + _openpgp_decrypt_error(env) + "; "
               + _GNUPG + "failed to decrypt sops data key with pgp: " + reason)
    if not run.start_error and _NO_SECRET_KEY in _go_trim(run.stderr):
        raise KeyNotApplicable(message)
    raise KeyFailed(message)


class PGPBackend:
    """The key ring's view of PGP: wrap for ``fields['fp']``, unwrap ``enc``, in one environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    @logged("PGP", lambda entry: {"fingerprint": entry.fields.get("fp", "")}, encrypt=True)
    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        return encrypt(str(entry.fields.get("fp", "")), secret, self._env)

    @logged("PGP", lambda entry: {"fingerprint": entry.fields.get("fp", "")}, encrypt=False)
    def unwrap(self, entry: KeyEntry) -> bytes:
        return decrypt(entry.enc, self._env)


def make_backend(env: Mapping[str, str]) -> PGPBackend:
    return PGPBackend(env)
