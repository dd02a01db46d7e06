"""Where sops 3.13 looks for age private keys, in its order: SOPS_AGE_SSH_PRIVATE_KEY_FILE,
SOPS_AGE_SSH_PRIVATE_KEY_CMD, ~/.ssh/id_ed25519 and id_rsa, SOPS_AGE_KEY (several keys per line),
SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD and the user's keys.txt. Files and variables are read lazily and
once per ``Identities``; the two commands run for every key, with SOPS_AGE_RECIPIENT set to it."""

from __future__ import annotations

import errno
import os
import posixpath
import sys

from ...errors import SopsError
from ...gotext import go_quote
from .asciiarmor import _dearmor
from .base import _Identity
from .encoding import _errno_text, _GoError, _path_error, _utf8
from .identities import _KEY_SIZE_LIMIT, _parse_identities

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .base import Prompt
    from .identities import Context

SOPS_AGE_KEY = "SOPS_AGE_KEY"
SOPS_AGE_KEY_FILE = "SOPS_AGE_KEY_FILE"
SOPS_AGE_KEY_CMD = "SOPS_AGE_KEY_CMD"
SOPS_AGE_RECIPIENT = "SOPS_AGE_RECIPIENT"
SOPS_AGE_SSH_PRIVATE_KEY_FILE = "SOPS_AGE_SSH_PRIVATE_KEY_FILE"
SOPS_AGE_SSH_PRIVATE_KEY_CMD = "SOPS_AGE_SSH_PRIVATE_KEY_CMD"
USER_CONFIG_PATH = ("sops", "age", "keys.txt")


def _tty_prompt(message: str) -> str:
    """The terminal prompt (passphrase module, imported only when a passphrase is asked for)."""
    from .terminal import _tty_prompt as ask

    return ask(message)


def _ssh_identity_from_file(path: str, prompt: Prompt) -> _Identity:
    from .ssh import _ssh_identity_from_file as load

    return load(path, prompt)


def _unwrap_identities(location: str, data: bytes, multiple_per_line: bool, ctx: Context) -> list[_Identity]:
    """sops' unwrapIdentities: a passphrase-encrypted identities file, or plain identity lines."""
    peeked = data[:14]
    if peeked in (b"age-encryption", b"-----BEGIN AGE"):
        contents = data
        if peeked == b"-----BEGIN AGE":
            contents, err = _dearmor(data)
            if err is not None:
                raise _GoError(f"failed to read '{location}': {err}")
        if len(contents) >= _KEY_SIZE_LIMIT:
            raise _GoError(f"failed to read '{location}': file too long")
        from .passphrase import _EncryptedFile

        return [_EncryptedFile(location, contents, ctx)]
    try:
        return _parse_identities(data, multiple_per_line, ctx)
    except _GoError as e:
        raise _GoError(f"failed to parse '{location}' age identities: {e}") from None


def _home_dir(env: Mapping[str, str], platform: str) -> tuple[str, str | None]:
    """os.UserHomeDir: (dir, error text)."""
    if platform == "win32":
        d = env.get("USERPROFILE", "")
        return d, (None if d else "%userprofile% is not defined")
    d = env.get("HOME", "")
    return d, (None if d else "$HOME is not defined")


def _path_mod(platform: str) -> Any:
    if platform == "win32":
        import ntpath

        return ntpath
    return posixpath


def _join(platform: str, *parts: str) -> str:
    """filepath.Join: join and clean."""
    return str(_path_mod(platform).normpath(_path_mod(platform).join(*parts)))


def _user_config_dir(env: Mapping[str, str], home: str | None, platform: str) -> tuple[str, str | None]:
    """sops' getUserConfigDir (os.UserConfigDir, with XDG_CONFIG_HOME honoured on macOS too)."""
    if platform == "darwin":
        xdg = env.get("XDG_CONFIG_HOME", "")
        if xdg:
            return xdg, None
        h = home if home is not None else env.get("HOME", "")
        if not h:
            return "", "$HOME is not defined"
        return h + "/Library/Application Support", None
    if platform == "win32":
        d = env.get("AppData", env.get("APPDATA", ""))
        return d, (None if d else "%AppData% is not defined")
    xdg = env.get("XDG_CONFIG_HOME", "")
    if not xdg:
        h = home if home is not None else env.get("HOME", "")
        if not h:
            return "", "neither $XDG_CONFIG_HOME nor $HOME are defined"
        return h + "/.config", None
    if not posixpath.isabs(xdg):
        return "", "path in $XDG_CONFIG_HOME is relative"
    return xdg, None


def _shlex_split(s: str) -> list[str]:
    """github.com/google/shlex Split, with its error texts."""
    words: list[str] = []
    i = 0
    n = len(s)
    while True:
        while i < n and s[i] in " \t\r\n":
            i += 1
        if i >= n:
            return words
        if s[i] == "#":  # a comment runs to the end of the line
            while i < n and s[i] != "\n":
                i += 1
            continue
        value: list[str] = []
        state = "word"
        while True:
            c = s[i] if i < n else None
            i += 1
            if state == "word":
                if c is None or c in " \t\r\n":
                    break
                if c == '"':
                    state = "dquote"
                elif c == "'":
                    state = "squote"
                elif c == "\\":
                    state = "escape"
                else:
                    value.append(c)
            elif state in ("escape", "dquote_escape"):
                if c is None:
                    raise _GoError("EOF found after escape character")
                value.append(c)
                state = "word" if state == "escape" else "dquote"
            elif state == "dquote":
                if c is None:
                    raise _GoError("EOF found when expecting closing quote")
                if c == '"':
                    state = "word"
                elif c == "\\":
                    state = "dquote_escape"
                else:
                    value.append(c)
            else:  # squote
                if c is None:
                    raise _GoError("EOF found when expecting closing quote")
                if c == "'":
                    state = "word"
                else:
                    value.append(c)
        words.append("".join(value))


def _run_cmd(command: str, env: Mapping[str, str], recipient: str) -> bytes:
    """sops 3.13's getOutputFromCmd: shlex split, no shell, SOPS_AGE_RECIPIENT added; stdout only."""
    try:
        args = _shlex_split(command)
    except _GoError as e:
        raise _GoError(f"failed to parse command {command}: {e}") from None
    prefix = f"failed to execute command {command}: "
    if not args:
        raise _GoError(prefix + "exec: no command")  # sops panics here (index out of range)
    import shutil
    import subprocess

    exe = args[0]
    child_env = dict(env)
    child_env[SOPS_AGE_RECIPIENT] = recipient
    if os.sep not in exe and (os.altsep is None or os.altsep not in exe):
        found = shutil.which(exe, path=env.get("PATH", ""))
        if found is None:
            raise _GoError(prefix + f"exec: {go_quote(exe)}: executable file not found in $PATH")
        exe = found
    try:
        proc = subprocess.run([exe, *args[1:]], env=child_env, stdin=subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError as e:
        raise _GoError(prefix + f"fork/exec {exe}: {_errno_text(e)}") from None
    if proc.returncode < 0:
        raise _GoError(prefix + f"signal: {_signal_name(-proc.returncode)}")
    if proc.returncode != 0:
        raise _GoError(prefix + f"exit status {proc.returncode}")
    return bytes(proc.stdout)


def _ssh_identity_from_cmd(command: str, env: Mapping[str, str], recipient: str) -> _Identity:
    """sops 3.13's SOPS_AGE_SSH_PRIVATE_KEY_CMD: the command's output is one unencrypted SSH private key."""
    out = _run_cmd(command, env, recipient)
    from .ssh import _PassphraseMissing, _plain_ssh_identity

    try:
        return _plain_ssh_identity(out)
    except _PassphraseMissing as e:
        raise _GoError(f"the SSH key returned by running {SOPS_AGE_SSH_PRIVATE_KEY_CMD} is password protected, "
                       f"which is unsupported. ({go_quote(str(e))})") from None
    except _GoError as e:
        raise _GoError(f"malformed SSH identity returned by running {SOPS_AGE_SSH_PRIVATE_KEY_CMD}: "
                       f"{go_quote(str(e))}") from None


def _signal_name(sig: int) -> str:
    import signal

    try:
        return signal.strsignal(sig) or f"signal {sig}"
    except ValueError:
        return f"signal {sig}"


def _read_file(path: str) -> tuple[bytes | None, OSError | None]:
    """os.Open then a read whose error sops ignores (a directory reads as nothing)."""
    try:
        with open(path, "rb") as f:
            return f.read(), None
    except IsADirectoryError:
        return b"", None
    except OSError as e:
        return None, e


class _Loaded:
    __slots__ = ("errors", "identities", "unused")

    def __init__(self, identities: list[_Identity], unused: list[str], errors: list[str]) -> None:
        self.identities = identities
        self.unused = unused
        self.errors = errors


class Identities:
    """Where sops looks for age private keys, read on first use and kept for this object's life.

    Files and variables are read once; ``SOPS_AGE_KEY_CMD`` runs for every ``unwrap`` with
    ``SOPS_AGE_RECIPIENT`` set to that key's recipient, as sops runs it for every age key it tries.
    Use ``load_identities`` (the environment) or ``identities_from_strings`` (injected keys).
    """

    def __init__(self, env: Mapping[str, str], home: str | None = None, platform: str = sys.platform,
                 prompt: Prompt | None = None, fixed: list[_Identity] | None = None) -> None:
        self._env = dict(env)
        self._home = home
        self._platform = platform
        self._prompt: Prompt = prompt if prompt is not None else _tty_prompt
        self._fixed = fixed
        self._default_cache: list[_Identity] | str | None = None
        self._ssh_file: _Loaded | None = None
        self._static: tuple[_Loaded, list[tuple[str, list[_Identity] | str]], str | None,
                            tuple[str, str | None, bytes | None, OSError | None]] | None = None

    def __repr__(self) -> str:
        return "<age Identities>"

    def _load_static(self) -> tuple[_Loaded, list[tuple[str, list[_Identity] | str]], str | None,
                                    tuple[str, str | None, bytes | None, OSError | None]]:
        if self._static is not None:
            return self._static
        env, platform, prompt = self._env, self._platform, self._prompt
        ids: list[_Identity] = []
        unused: list[str] = []
        errs: list[str] = []
        # 1. SSH keys (loadAgeSSHIdentities): the file, then (per key, in resolve) the command, then ~/.ssh
        ssh_file = env.get(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
        if ssh_file is not None:
            try:
                ids.append(_ssh_identity_from_file(ssh_file, prompt))
            except _GoError as e:
                errs.append(str(e))
        else:
            unused.append(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
        self._ssh_file = _Loaded(ids, unused, errs)
        ids, unused, errs = [], [], []
        home, home_err = (self._home, None) if self._home is not None else _home_dir(env, platform)
        if home_err is not None:
            errs.append(home_err)
        else:
            for name in ("id_ed25519", "id_rsa"):
                path = _join(platform, home, ".ssh", name)
                if os.path.exists(path):
                    try:
                        ids.append(_ssh_identity_from_file(path, prompt))
                    except _GoError as e:
                        errs.append(str(e))
                else:
                    unused.append(path)
        # 2. the readers before the command: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE
        readers: list[tuple[str, list[_Identity] | str]] = []
        age_key = env.get(SOPS_AGE_KEY)
        if age_key is not None:
            readers.append((SOPS_AGE_KEY, self._parse_source(SOPS_AGE_KEY, _utf8(age_key), True)))
        else:
            unused.append(SOPS_AGE_KEY)
        key_file = env.get(SOPS_AGE_KEY_FILE)
        if key_file is not None:
            content, err = _read_file(key_file)
            if err is not None:
                errs.append(f"failed to open {SOPS_AGE_KEY_FILE} file: {_path_error('open', key_file, err)}")
            else:
                readers.append((SOPS_AGE_KEY_FILE, self._parse_source(SOPS_AGE_KEY_FILE, content or b"", False)))
        else:
            unused.append(SOPS_AGE_KEY_FILE)
        # 3. the default keys file, opened now, used or not depending on what the command gives
        cfg_dir, cfg_err = _user_config_dir(env, self._home, platform)
        default: tuple[str, str | None, bytes | None, OSError | None] = (
            "", cfg_err, None, None)
        if cfg_err is None and cfg_dir:
            path = _join(platform, cfg_dir, *USER_CONFIG_PATH)
            content, oerr = _read_file(path)
            default = (path, None, content, oerr)
        self._static = (_Loaded(ids, unused, errs), readers, env.get(SOPS_AGE_KEY_CMD), default)
        return self._static

    def _parse_source(self, location: str, data: bytes, multiple: bool) -> list[_Identity] | str:
        try:
            return _unwrap_identities(location, data, multiple, (self._env, self._prompt))
        except _GoError as e:
            return str(e)

    def resolve(self, recipient: str = "") -> _Loaded:
        """sops' loadIdentities for one key: identities, unused locations and loading errors, in order."""
        if self._fixed is not None:
            return _Loaded(list(self._fixed), [], [])
        static, static_readers, cmd, default = self._load_static()
        assert self._ssh_file is not None
        ids = list(self._ssh_file.identities)
        unused = list(self._ssh_file.unused)
        errs = list(self._ssh_file.errors)
        ssh_cmd = self._env.get(SOPS_AGE_SSH_PRIVATE_KEY_CMD)
        if ssh_cmd is not None:
            try:
                ids.append(_ssh_identity_from_cmd(ssh_cmd, self._env, recipient))
            except _GoError as e:
                errs.append(str(e))
        else:
            unused.append(SOPS_AGE_SSH_PRIVATE_KEY_CMD)
        ids += static.identities
        unused += static.unused
        errs += static.errors
        readers = list(static_readers)
        if cmd is not None:
            try:
                out = _run_cmd(cmd, self._env, recipient)
                readers.append((SOPS_AGE_KEY_CMD, self._parse_source(SOPS_AGE_KEY_CMD, out, False)))
            except _GoError as e:
                errs.append(str(e))
        else:
            unused.append(SOPS_AGE_KEY_CMD)
        path, cfg_err, content, oerr = default
        if cfg_err is not None:
            if not readers and not ids:
                errs.append(f"user config directory could not be determined: {cfg_err}")
        elif path:
            if oerr is not None and oerr.errno != errno.ENOENT:
                errs.append(f"failed to open file: {_path_error('open', path, oerr)}")
            elif oerr is not None:
                if not readers and not ids:
                    unused.append(path)
            else:
                readers.append((path, self._default_parsed(path, content or b"")))
        for location, parsed in readers:
            if isinstance(parsed, str):
                errs.append(parsed)
                continue
            ids.extend(parsed)
            if not parsed:
                unused.append(location)
        return _Loaded(ids, unused, errs)

    def _default_parsed(self, path: str, content: bytes) -> list[_Identity] | str:
        if self._default_cache is None:
            self._default_cache = self._parse_source(path, content, False)
        return self._default_cache


def load_identities(env: Mapping[str, str], home: str | None = None, platform: str = sys.platform,
                    *, prompt: Prompt | None = None) -> Identities:
    """The identities sops would find in ``env`` (read lazily, on the first ``unwrap``).

    ``home`` overrides the home directory taken from ``env`` (HOME, or USERPROFILE on Windows);
    ``platform`` is a ``sys.platform`` value; ``prompt(message) -> passphrase`` replaces the terminal
    prompt used for passphrase-protected identities files and SSH keys.
    """
    return Identities(env, home, platform, prompt)


def identities_from_strings(*identity: str) -> Identities:
    """sops' ParsedIdentities.Import: identities given directly (each may hold several lines).

    A plugin identity among them runs its plugin with this process's environment and the terminal."""
    try:
        ids = _parse_identities(_utf8("\n".join(identity)), False, (os.environ, _tty_prompt))
    except _GoError as e:
        raise SopsError(f"failed to parse and add to age identities: {e}") from None
    return Identities({}, fixed=ids)
