"""Integrations built on the library API: pre-commit checking, KSOPS/Flux-style Kubernetes builds, CI
export and git drivers.

Each module holds one integration and calls ``sops_py.api`` / ``sops_py.settings`` and the stores; the
thin CLI commands on top live in ``sops_py.cli``. Nothing here is imported by ``import sops_py`` or by
sops' own commands, so start-up does not pay for it.
"""
