"""The sops-compatible command line. ``main`` is the console-script entry point: it tries the
click-free fast path for simple encrypt/decrypt calls and otherwise runs the full CLI."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None, *, program: bool = False) -> None:
    """Run a sops command line. ``program``: this process is the ``sops-py`` program itself (the
    script, ``python -m sops_py``), so a fast-path command ends with ``os._exit`` once its output is
    flushed: tearing the interpreter down (every module, OpenSSL) costs ~2 ms and does nothing a
    finished command needs. Callers in a longer-lived process get ``SystemExit`` as usual."""
    import gc
    import sys

    gc.disable()  # a command is short-lived: the cyclic collector only costs time here
    args = list(sys.argv[1:] if argv is None else argv)
    from .fast import run

    try:
        code = run(args)
    except (KeyboardInterrupt, BrokenPipeError) as e:
        from ..errors import report

        code = report(e)
    if code is None:
        from .main import main as full_main

        full_main(args)
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    if program:
        import os

        try:
            sys.stderr.flush()
        finally:
            os._exit(code)
    sys.exit(code)
