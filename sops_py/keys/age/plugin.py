"""age plugins: ``age1<name>1…`` recipients and ``AGE-PLUGIN-<NAME>-1…`` identities, through the plugin
protocol (age's plugin/client.go): ``age-plugin-<name> --age-plugin=recipient-v1`` (wrap) or
``identity-v1`` (unwrap), speaking age stanzas on the plugin's stdin and stdout.

The client sends its phase-1 stanzas (``add-recipient``/``add-identity``, then ``wrap-file-key`` and
``extension-labels``, or one ``recipient-stanza 0 …`` per header stanza), then ``done``; it answers
every plugin command (``recipient-stanza``, ``labels``, ``file-key``, ``msg``, ``request-secret``,
``request-public``, ``confirm``, ``error``) until the plugin says ``done``. Errors read as age's, with
sops' ``<name> plugin: `` prefix. ``subprocess`` is imported only when a plugin runs.
"""

from __future__ import annotations

import os

from ...gotext import go_quote
from .base import _finish, _Identity
from .encoding import _BYTES_PER_LINE, _COLUMNS, _b64_raw, _bech32_decode, _format_decode, _GoError
from .format import _Header, _Stanza, _valid_arg

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import IO

    from .base import Prompt

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._")


def valid_name(name: str) -> bool:
    """age's validPluginName."""
    return bool(name) and all(c in _NAME_CHARS for c in name)


def parse_recipient(s: str) -> str:
    """plugin.ParseRecipient: the plugin name of an ``age1<name>1…`` recipient."""
    try:
        hrp, _ = _bech32_decode(s)
    except _GoError as e:
        raise _GoError(f"invalid recipient encoding: {e}") from None
    if not hrp.startswith("age1"):
        raise _GoError("not a plugin recipient: <nil>")
    name = hrp.removeprefix("age1")
    if not valid_name(name):
        raise _GoError(f"invalid plugin name: {go_quote(name)}")
    return name


def parse_identity(s: str) -> str:
    """plugin.ParseIdentity: the plugin name (lower case) of an ``AGE-PLUGIN-<NAME>-1…`` identity."""
    try:
        hrp, _ = _bech32_decode(s)
    except _GoError as e:
        raise _GoError(f"invalid identity encoding: {e}") from None
    if not hrp.startswith("AGE-PLUGIN-") or not hrp.endswith("-"):
        raise _GoError("not a plugin identity: <nil>")
    name = hrp.removeprefix("AGE-PLUGIN-").removesuffix("-").lower()
    if not valid_name(name):
        raise _GoError(f"invalid plugin name: {go_quote(name)}")
    return name


def _marshal(type_: str, args: list[str], body: bytes = b"") -> bytes:
    """format.Stanza.Marshal: the argument line, then the body in 64-column lines ending short."""
    out = [" ".join(["->", type_, *args]).encode() + b"\n"]
    b64 = _b64_raw(body)
    out.extend(b64[i:i + _COLUMNS].encode() + b"\n" for i in range(0, len(b64), _COLUMNS))
    if len(b64) % _COLUMNS == 0:
        out.append(b"\n")
    return b"".join(out)


def _read_stanza(out: IO[bytes]) -> _Stanza:
    """format.StanzaReader.ReadStanza on the plugin's stdout, with its error texts."""
    line = out.readline()
    if not line.endswith(b"\n"):
        raise _GoError("failed to read line: " + ("EOF" if not line else "unexpected EOF"))
    parts = line[:-1].decode("utf-8", "surrogateescape").split(" ")
    if parts[0] != "->" or len(parts) < 2 or not all(_valid_arg(a) for a in parts[1:]):
        raise _GoError(f"malformed stanza: {go_quote(line)}")
    body = bytearray()
    while True:
        bline = out.readline()
        if not bline.endswith(b"\n"):
            raise _GoError("failed to read line: " + ("EOF" if not bline else "unexpected EOF"))
        try:
            chunk = _format_decode(bline[:-1].decode("utf-8", "surrogateescape"))
        except _GoError as e:
            raise _GoError(f"malformed body line {go_quote(bline)}: {e}") from None
        if len(chunk) > _BYTES_PER_LINE:
            raise _GoError(f"malformed body line {go_quote(bline)}: too long")
        body += chunk
        if len(chunk) < _BYTES_PER_LINE:
            return _Stanza(parts[1], parts[2:], bytes(body))


class _Connection:
    """A running ``age-plugin-<name>``; closing it closes the pipes, sends SIGINT and waits, as age does."""

    def __init__(self, name: str, protocol: str, env: Mapping[str, str]) -> None:
        import shutil
        import subprocess
        import tempfile

        self.name = name
        exe = "age-plugin-" + name
        if os.sep in name:
            raise _GoError(f"invalid plugin name: {go_quote(name)}")
        found = shutil.which(exe, path=env.get("PATH", ""))
        if found is None:
            raise _GoError(f"couldn't start plugin: {go_quote(name)} plugin not found: exec: {go_quote(exe)}: "
                           "executable file not found in $PATH")
        try:
            # the plugin's stderr is discarded unless AGEDEBUG=plugin, as age does
            stderr = None if env.get("AGEDEBUG") == "plugin" else subprocess.DEVNULL
            self.proc = subprocess.Popen([found, "--age-plugin=" + protocol], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=stderr, env=dict(env),
                                         cwd=tempfile.gettempdir())
        except OSError as e:
            raise _GoError(f"couldn't start plugin: fork/exec {found}: {os.strerror(e.errno or 0).lower()}") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout

    def send(self, type_: str, args: list[str], body: bytes = b"") -> None:
        try:
            self.stdin.write(_marshal(type_, args, body))
            self.stdin.flush()
        except OSError as e:  # the plugin exited: Go reports the broken pipe
            raise _GoError(f"write |1: {os.strerror(e.errno or 0).lower()}") from None

    def receive(self) -> _Stanza:
        """The plugin's next stanza; after 5 s of waiting (a token to touch) say so, as age's WaitTimer."""
        import threading

        from ... import log

        timer = threading.Timer(5.0, lambda: log.info(f"age: waiting on {self.name} plugin...", name="AGE"))
        timer.daemon = True
        timer.start()
        try:
            return _read_stanza(self.stdout)
        finally:
            timer.cancel()

    def close(self) -> None:
        import signal

        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGINT)
            except OSError:
                pass
        self.proc.wait()


def _handle_ui(name: str, conn: _Connection, st: _Stanza, prompt: Prompt) -> None:
    """ClientUI.handle with sops' pluginTerminalUI (age's NewTerminalUI printing through sops' ``AGE``
    logger at info level, so messages show with ``--verbose`` only, as in sops); values and
    confirmations are asked for on the terminal, in age's words."""
    from ... import log
    from .terminal import terminal_readers

    def cannot_read(err: _GoError) -> None:
        log.info(f"age: warning: could not read value for age-plugin-{name}: {err}", name="AGE")
        conn.send("fail", [])

    public, character = terminal_readers(prompt)
    if st.type == "msg":
        log.info(f"age: {name} plugin: {st.body.decode('utf-8', 'replace')}", name="AGE")
        conn.send("ok", [])
    elif st.type in ("request-secret", "request-public"):
        ask = prompt if st.type == "request-secret" else public
        try:
            value = ask(st.body.decode("utf-8", "replace"))
        except _GoError as e:
            cannot_read(e)
            return
        conn.send("ok", [], value.encode("utf-8"))
    elif st.type == "confirm":
        if len(st.args) not in (1, 2):
            raise _GoError("malformed confirm stanza: unexpected number of arguments")
        try:
            yes = _format_decode(st.args[0]).decode("utf-8", "replace")
        except _GoError:
            raise _GoError("malformed confirm stanza: invalid YES option encoding") from None
        no = ""
        if len(st.args) == 2:
            try:
                no = _format_decode(st.args[1]).decode("utf-8", "replace")
            except _GoError:
                raise _GoError("malformed confirm stanza: invalid NO option encoding") from None
        try:
            chose_yes = _confirm(name, st.body.decode("utf-8", "replace"), yes, no, prompt, character)
        except _GoError as e:
            cannot_read(e)
            return
        conn.send("ok", ["yes" if chose_yes else "no"])
    else:
        conn.send("unsupported", [])


def _confirm(name: str, message: str, yes: str, no: str, prompt: Prompt, character: Prompt | None) -> bool:
    """age's terminal Confirm: Enter for a single choice, key 1 or 2 for two (asked again on any
    other key, Ctrl+C cancels). A caller's line prompt may answer 1/2 or the choice's label."""
    if not no:
        prompt(f"{message} (press enter for {go_quote(yes)})")
        return True
    message += f" (press [1] for {go_quote(yes)} or [2] for {go_quote(no)})"
    if character is None:
        answer = prompt(message).strip()
        if answer in ("1", yes):
            return True
        if answer in ("2", no):
            return False
        raise _GoError(f"invalid selection {go_quote(answer)}")
    from ... import log

    while True:
        selection = character(message)
        if selection == "1":
            return True
        if selection == "2":
            return False
        if selection == "\x03":
            raise _GoError("user cancelled prompt")
        log.info(f"age: warning: reading value for age-plugin-{name}: invalid selection '{go_quote(selection)[1:-1]}'",
                 name="AGE")


def wrap(recipient: str, file_key: bytes, env: Mapping[str, str], prompt: Prompt) -> list[_Stanza]:
    """plugin.Recipient.WrapWithLabels: the plugin's stanzas for ``file_key`` (errors have sops' prefix)."""
    name = parse_recipient(recipient)
    try:
        return _wrap(name, recipient, file_key, env, prompt)
    except _GoError as e:
        raise _GoError(f"{name} plugin: {e}") from None


def _wrap(name: str, recipient: str, file_key: bytes, env: Mapping[str, str], prompt: Prompt) -> list[_Stanza]:
    conn = _Connection(name, "recipient-v1", env)
    try:
        conn.send("add-recipient", [recipient])
        conn.send("wrap-file-key", [], file_key)
        conn.send("extension-labels", [])
        conn.send("done", [])
        stanzas: list[_Stanza] = []
        labels: list[str] | None = None
        while True:
            st = conn.receive()
            if st.type == "recipient-stanza":
                if len(st.args) < 2:
                    raise _GoError("malformed recipient stanza: unexpected argument count")
                _check_first_index(st.args[0], "recipient")
                stanzas.append(_Stanza(st.args[1], st.args[2:], st.body))
                conn.send("ok", [])
            elif st.type == "labels":
                if labels is not None:
                    raise _GoError("repeated labels stanza")
                labels = st.args
                conn.send("ok", [])
            elif st.type == "error":
                conn.send("ok", [])
                raise _GoError(st.body.decode("utf-8", "surrogateescape"))
            elif st.type == "done":
                break
            else:
                _handle_ui(name, conn, st, prompt)
    finally:
        conn.close()
    if not stanzas:
        raise _GoError("received zero recipient stanzas")
    return stanzas


def _check_first_index(index: str, stanza: str) -> None:
    """A plugin's answer names the recipient or identity it is for; sops-py sends one, index 0."""
    if not index.lstrip("+-").isdigit():
        raise _GoError(f"malformed {stanza} stanza: invalid index")
    if int(index) != 0:
        raise _GoError(f"malformed {stanza} stanza: unexpected index")


class PluginIdentity(_Identity):
    """An ``AGE-PLUGIN-…`` identity: the plugin is run for every header it is offered (never native)."""

    def __init__(self, text: str, name: str, env: Mapping[str, str], prompt: Prompt) -> None:
        self._text = text
        self.name = name
        self._env = env
        self._prompt = prompt

    def file_key(self, hdr: _Header) -> bytes | None:
        """plugin.Identity.Unwrap: the file key, None when the plugin found none (no match)."""
        try:
            return self._file_key(hdr)
        except _GoError as e:
            raise _GoError(f"{self.name} plugin: {e}") from None

    def _file_key(self, hdr: _Header) -> bytes | None:
        conn = _Connection(self.name, "identity-v1", self._env)
        file_key: bytes | None = None
        try:
            conn.send("add-identity", [self._text])
            for s in hdr.stanzas:
                conn.send("recipient-stanza", ["0", s.type, *s.args], s.body)
            conn.send("done", [])
            while True:
                st = conn.receive()
                if st.type == "file-key":
                    if len(st.args) != 1:
                        raise _GoError("malformed file-key stanza: unexpected arguments count")
                    _check_first_index(st.args[0], "file-key")
                    if file_key is not None:
                        raise _GoError("received duplicated file-key stanza")
                    file_key = st.body
                    conn.send("ok", [])
                elif st.type == "error":
                    conn.send("ok", [])
                    raise _GoError(st.body.decode("utf-8", "surrogateescape"))
                elif st.type == "done":
                    break
                else:
                    _handle_ui(self.name, conn, st, self._prompt)
        finally:
            conn.close()
        return file_key

    def unwrap(self, hdr: _Header, data: bytes, armor_err: str | None) -> bytes | None:
        file_key = self.file_key(hdr)
        return None if file_key is None else _finish(file_key, hdr, data, armor_err)

    def __repr__(self) -> str:
        return f"<PluginIdentity {self.name}>"

