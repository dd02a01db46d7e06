"""Questions on the terminal, as age's term package and NewTerminalUI ask them: secrets without echo,
public values with it, single keys for two-choice confirmations; every prompt is erased once answered.
Imported only when something is asked."""

from __future__ import annotations

import os
import sys

from .encoding import _GoError, _path_error

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable

    from .base import Prompt


def _with_terminal(fn: Callable[[int], str]) -> str:
    """age's term.WithTerminal: run ``fn`` on /dev/tty, else on a terminal stdin; neither is age's error."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        if not (sys.stdin is not None and sys.stdin.isatty()):
            raise _GoError("standard input is not a terminal, and /dev/tty is not available: "
                           f"{_path_error('open', '/dev/tty', e)}") from None
        return fn(sys.stdin.fileno())
    try:
        return fn(fd)
    finally:
        os.close(fd)


def _read(fd: int, prompt: str, *, echo: bool, one_char: bool = False) -> str:
    """Write ``prompt``, read a line (or one key) with or without echo, then erase the prompt line.

    As age's term.ReadSecret/ReadPublic/ReadCharacter the prompt is ephemeral: a new line, then "cursor
    to the previous line, erase it", so no prompt (and never what was typed) stays on the screen. The
    terminal's mode is restored whatever happens (Ctrl+C included).
    """
    import termios

    os.write(fd, (prompt + " ").encode())
    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    if one_char:
        new[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG)
        new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
    elif not echo:
        new[3] &= ~termios.ECHO
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        got = bytearray()
        while True:
            b = os.read(fd, 1)
            if not b:
                if not got:
                    raise _GoError("EOF")
                break
            if one_char:
                got += b
                break
            if b in (b"\n", b"\r"):
                break
            got += b
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)
        os.write(fd, b"\r\n\x1b[F\x1b[K")
    return got.decode("utf-8", "replace")


def _tty_prompt(message: str) -> str:
    """Read a secret from the terminal as age's TUI does (no echo, ephemeral prompt); no terminal is
    age's error."""
    return _with_terminal(lambda fd: _read(fd, message, echo=False))


def _tty_public(message: str) -> str:
    """age's term.ReadPublic: a value that is shown as it is typed (a plugin's ``request-public``)."""
    return _with_terminal(lambda fd: _read(fd, message, echo=True))


def _tty_character(message: str) -> str:
    """age's term.ReadCharacter: one key, no echo (a plugin's two-choice ``confirm``)."""
    return _with_terminal(lambda fd: _read(fd, message, echo=False, one_char=True))


def terminal_readers(prompt: Prompt) -> tuple[Prompt, Prompt | None]:
    """The public-value and single-key readers that go with ``prompt``: the terminal's own when
    ``prompt`` is the terminal prompt, else ``prompt`` itself and None (a caller's prompt answers
    every question with a line)."""
    if getattr(prompt, "__name__", "") == "_tty_prompt" and getattr(prompt, "__module__", "").startswith(
            __package__ or "sops_py.keys.age"):
        return _tty_public, _tty_character
    return prompt, None
