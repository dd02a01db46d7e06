"""A module written as a sops-py user would write it; test_typing.py runs mypy --strict on it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sops_py


def read_config(path: Path, identity: str) -> dict[str, Any]:
    keys = sops_py.Keys(age=[identity], environ={})
    data = sops_py.load_file(path, keys=keys)
    assert isinstance(data, dict)
    return data


def write_config(path: Path, recipient: str, values: dict[str, Any]) -> bytes:
    sops_py.dump_file(values, path, age=recipient, config=False)
    blob: bytes = sops_py.encrypt(b"a: 1\n", "yaml", age=[recipient], config=False)
    return blob


def rotate_password(path: Path, keys: sops_py.Keys) -> bool:
    def change(doc: Any) -> None:
        doc["password"] = "n3w"

    return sops_py.update_file(path, change, keys=keys)


def safe_decrypt(path: str, keys: sops_py.Keys) -> bytes | None:
    fmt: sops_py.Format = "yaml"
    try:
        return sops_py.decrypt_file(path, format=fmt, keys=keys)
    except sops_py.CouldNotRetrieveKey as e:
        for group in e.groups:
            for failure in group or []:
                print(failure.key_type, failure.key, failure.errors)
        return None
    except sops_py.MacMismatch:
        return None
    except sops_py.SopsError as e:
        print(e.exit_code)
        return None


def many(paths: list[str], keys: sops_py.Keys) -> dict[str, bytes]:
    try:
        return sops_py.decrypt_files(paths, keys=keys)
    except sops_py.BatchError as e:
        return e.results


def in_threads(path: Path, keys: sops_py.Keys) -> None:
    threads = [threading.Thread(target=sops_py.load_file, args=(path,), kwargs={"keys": keys}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
