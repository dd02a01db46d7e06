"""A fast path for the invocations hooks, plugins and CI steps run once per file:
``decrypt FILE``, ``encrypt FILE`` and the legacy ``-d``/``-e``, with the common flags, and the batch
form ``decrypt|encrypt --output-dir DIR FILE...`` / ``-i FILE...``.

It recognises only argv it can handle exactly as the full CLI does and then runs the same actions
(``crypt_actions``) without importing click or the urfave/cli emulation. Anything else (other flags,
help, several files, stdin, key-service settings) returns None and the full CLI takes over, so
behaviour never depends on which path ran.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

# flag spelling -> (option name, takes a value); single-dash long forms are Go-valid too
_COMMON = {
    "--input-type": ("input_type", True), "--output-type": ("output_type", True),
    "--output": ("output", True), "--filename-override": ("filename_override", True),
    "--in-place": ("in_place", False), "-i": ("in_place", False),
}
_DECRYPT = {**_COMMON, "--extract": ("extract", True), "--ignore-mac": ("ignore_mac", False),
            "--decryption-order": ("decryption_order", True), "--output-dir": ("output_dir", True)}
_ENCRYPT = {**_COMMON, "--age": ("age", True), "-a": ("age", True), "--output-dir": ("output_dir", True)}
# env vars the full CLI reads for these commands that the fast path does not handle
_FALLBACK_ENV = ("SOPS_KEYSERVICE", "SOPS_ENABLE_LOCAL_KEYSERVICE", "SOPS_KMS_ARN", "SOPS_PGP_FP",
                 "SOPS_GCP_KMS_IDS", "SOPS_HUAWEICLOUD_KMS_IDS", "SOPS_AZURE_KEYVAULT_URLS", "SOPS_VAULT_URIS")
_LEGACY_MODE = {"-d": "decrypt", "--decrypt": "decrypt", "-e": "encrypt", "--encrypt": "encrypt"}


def parse(args: Sequence[str], environ: Mapping[str, str]) -> tuple[str, list[str], dict[str, Any]] | None:
    """(action, files, opts) when argv is a simple encrypt/decrypt the fast path runs; else None.

    Several files only as a batch (--output-dir or --in-place); without either the full CLI warns."""
    if len(args) < 2 or any(environ.get(name) for name in _FALLBACK_ENV):
        return None
    if args[0] in ("decrypt", "encrypt"):
        action, rest, legacy = args[0], list(args[1:]), False
    else:
        modes = [_LEGACY_MODE[a] for a in args[:-1] if a in _LEGACY_MODE]
        if len(modes) != 1:
            return None
        action, rest, legacy = modes[0], [a for a in args if a not in _LEGACY_MODE], True
    table = _DECRYPT if action == "decrypt" else _ENCRYPT
    opts: dict[str, Any] = {}
    i = 0
    while i < len(rest) - 1 and rest[i].startswith("-"):
        tok = rest[i]
        name, eq, value = tok.partition("=")
        spec = table.get(name)
        if spec is None:
            return None
        key, takes_value = spec
        if key in opts:
            return None  # repeated flags: the full parser's business
        if takes_value:
            if not eq:
                i += 1
                value = rest[i]
            opts[key] = value
        elif eq:
            return None
        else:
            opts[key] = True
        i += 1
    files = rest[i:]
    if not files or any(not f or f.startswith("-") for f in files):
        return None
    if len(files) > 1 and (legacy or not (opts.get("output_dir") or opts.get("in_place"))):
        return None
    if legacy and "output_dir" in opts:
        return None  # a subcommand flag only
    if legacy and action == "encrypt" and not opts.get("age"):
        return None  # legacy encrypt reads many more global flags and env vars
    if action == "decrypt" and "decryption_order" not in opts and environ.get("SOPS_DECRYPTION_ORDER"):
        opts["decryption_order"] = environ["SOPS_DECRYPTION_ORDER"]
    if action == "encrypt" and "age" not in opts and environ.get("SOPS_AGE_RECIPIENTS"):
        opts["age"] = environ["SOPS_AGE_RECIPIENTS"]
    opts.setdefault("keyservice", ())
    opts.setdefault("enable_local_keyservice", True)
    return action, files, opts


def run(args: Sequence[str]) -> int | None:
    """Run argv on the fast path and return the exit code, or None when it is not a fast-path call."""
    parsed = parse(args, os.environ)
    if parsed is None:
        return None
    action, files, opts = parsed
    from ..errors import SopsError, report
    from ..settings import Env
    from .crypt_actions import batch, decrypt, encrypt
    from .logsetup import setup_logging

    setup_logging(False)
    env = Env(config_path=os.environ.get("SOPS_CONFIG") or None)
    try:
        if not batch(env, tuple(files), opts, action):
            (decrypt if action == "decrypt" else encrypt)(env, files[0], opts)
    except SopsError as e:
        return report(e)
    return 0
