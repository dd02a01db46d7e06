"""The library API behind ``import sops_py``: plain functions over bytes, files and Python data.

Each function checks its arguments (a wrong type is a ``TypeError``, a bad value a ``ValueError``,
both naming the argument), then runs the same operations as the CLI (``ops/``) with the same
settings (``settings``): ``.sops.yaml`` creation rules are honoured exactly as the CLI honours them
unless ``config=False``. Every failure after that is a ``SopsError`` subclass carrying the exit code
sops would use; ``OSError``s are wrapped. Nothing here reads or writes ``os.environ``: keys come from
a ``Keys`` object (by default one built from a snapshot of the environment, as the CLI reads it).

Heavy modules (stores, crypto, key backends) are imported inside the functions, so ``import
sops_py`` stays cheap.
"""

from __future__ import annotations

import os

from .errors import SopsError
from .keychain import Keys

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any, Literal, TypeAlias, Union

    from .ops.crypt import EncryptSettings
    from .settings import Env
    from .stores import Store

    Format: TypeAlias = Literal["yaml", "json", "dotenv", "ini", "binary"]
    PathArg: TypeAlias = Union[str, "os.PathLike[str]"]
    KeyList: TypeAlias = Union[str, Sequence[str]]
    ConfigArg: TypeAlias = Union[bool, str, "os.PathLike[str]", None]

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
# the keyword arguments naming master keys, as the registry's type names
KEY_ARGS = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms")
RULE_ARGS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex",
             "unencrypted_comment_regex", "encrypted_comment_regex")


# ------------------------------------------------------------------ argument checks


def _format(value: object, name: str = "format") -> Format:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {', '.join(FORMATS)}; got {type(value).__name__}")
    if value not in FORMATS:
        raise ValueError(f"{name} {value!r} is not a sops format: use one of {', '.join(FORMATS)}")
    return value  # type: ignore[return-value]  # checked against FORMATS just above


def _path(value: object, name: str = "path") -> str:
    if isinstance(value, (str, os.PathLike)):
        p = os.fspath(value)
        if isinstance(p, str):
            return p
    raise TypeError(f"{name} must be a str or os.PathLike[str], got {type(value).__name__}")


def _bytes(value: object, name: str = "data") -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{name} must be bytes or str, got {type(value).__name__}")


def _str_list(value: object, name: str) -> list[str]:
    """A str (comma-separated, as the CLI flag) or a sequence of str."""
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise TypeError(f"{name} must be a str or a sequence of str, got {type(value).__name__}")


def _keys(value: object) -> Keys:
    if value is None:
        return Keys()
    if not isinstance(value, Keys):
        raise TypeError(f"keys must be a sops_py.Keys, got {type(value).__name__}")
    return value


def _read(path: str) -> bytes:
    from .ops.files import read_input

    return read_input(path)


def _store(fmt: str, env: Env | None = None, indent: int | None = None) -> Store:
    from .stores import get_store

    if indent is None and env is not None:
        indent = env.store_settings().indent_for(fmt)
    return get_store(fmt, indent)


def _fmt_for(path: str, fmt: object) -> Format:
    from .stores import format_for_path

    return _format(fmt) if fmt is not None else format_for_path(path)  # type: ignore[return-value]


def _env(keys: Keys, config: ConfigArg, path: str | None) -> Env:
    """The settings for one call: the keys' environment, the config (searched from the file's
    directory, as the CLI searches from the working directory) or none with ``config=False``."""
    from .settings import Env

    if config is not None and not isinstance(config, (bool, str, os.PathLike)):
        raise TypeError(f"config must be a path, True, False or None, got {type(config).__name__}")
    cwd = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    if config is False:
        return Env(keys.environ, cwd, use_config=False)
    explicit = None if config is None or config is True else _path(config, "config")
    return Env(keys.environ, cwd, config_path=explicit or keys.environ.get("SOPS_CONFIG") or None)


# ------------------------------------------------------------------ decrypting


def decrypt(data: bytes | str, format: Format = "yaml", *, keys: Keys | None = None,
            output_format: Format | None = None, ignore_mac: bool = False,
            extract: str | None = None) -> bytes:
    """Decrypt sops file bytes and return the plaintext file bytes, exactly what ``sops decrypt``
    prints (``output_format`` converts, ``extract`` takes one value as ``--extract``)."""
    from .ops.crypt import decrypt_data

    raw, fmt, k = _bytes(data), _format(format), _keys(keys)
    out_fmt = _format(output_format, "output_format") if output_format is not None else fmt
    path = None
    if extract is not None:
        from .ops.set_unset import parse_set_path

        path = parse_set_path(extract, "invalid extract path")
    return decrypt_data(raw, _store(fmt), _store(out_fmt), k.ring(), k.decryption_order, ignore_mac, path)


def decrypt_file(path: PathArg, *, format: Format | None = None, output_format: Format | None = None,
                 keys: Keys | None = None, ignore_mac: bool = False, extract: str | None = None) -> bytes:
    """Decrypt a file; its format comes from its extension (as sops: unknown means binary) unless given."""
    p = _path(path)
    fmt = _fmt_for(p, format)
    return decrypt(_read(p), fmt, keys=keys, output_format=output_format or fmt, ignore_mac=ignore_mac,
                   extract=extract)


def decrypt_files(paths: Iterable[PathArg], *, keys: Keys | None = None, output_format: Format | None = None,
                  ignore_mac: bool = False) -> dict[str, bytes]:
    """Decrypt many files with one set of keys (identities loaded once). Every file is tried; if any
    failed, ``BatchError`` is raised after the last one, with ``.results`` (the files that worked)
    and ``.errors`` (path -> SopsError)."""
    from .errors import BatchError

    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError("paths must be an iterable of paths, not a single path")
    k = _keys(keys)
    results: dict[str, bytes] = {}
    errors: dict[str, SopsError] = {}
    for item in paths:
        p = _path(item, "paths[]")
        try:
            results[p] = decrypt_file(p, output_format=output_format, keys=k, ignore_mac=ignore_mac)
        except SopsError as e:
            errors[p] = e
    if errors:
        raise BatchError(results, errors)
    return results


def load_all(data: bytes | str, format: Format = "yaml", *, keys: Keys | None = None,
             ignore_mac: bool = False) -> list[Any]:
    """Decrypt sops file bytes into Python data: one item per document (YAML may hold several)."""
    from .ops.crypt import load_encrypted, open_tree

    k = _keys(keys)
    branches, md = load_encrypted(_bytes(data), _store(_format(format)))
    opened = open_tree(branches, md, k.ring(), k.decryption_order, ignore_mac, keep_ivs=False)
    return [to_python(b) for b in opened.branches]


def load(data: bytes | str, format: Format = "yaml", *, keys: Keys | None = None, ignore_mac: bool = False) -> Any:
    """Decrypt sops file bytes into Python data (the first document; ``load_all`` gives every one).
    Mappings are dicts in file order; YAML timestamps are ``datetime`` objects."""
    docs = load_all(data, format, keys=keys, ignore_mac=ignore_mac)
    return docs[0] if docs else {}


def load_file(path: PathArg, *, format: Format | None = None, keys: Keys | None = None,
              ignore_mac: bool = False) -> Any:
    """Decrypt a sops file into Python data (the first document)."""
    p = _path(path)
    return load(_read(p), _fmt_for(p, format), keys=keys, ignore_mac=ignore_mac)


def to_python(tree: Any) -> Any:
    """A document tree (Branch, list or leaf) as plain Python: dicts, lists and scalars; comments dropped."""
    from .pydata import to_python as convert

    return convert(tree)


# ------------------------------------------------------------------ encrypting


def _settings(env: Env, path: str, store: Store, options: Mapping[str, Any]) -> EncryptSettings:
    """Key groups, threshold and rules for encrypting ``path``: the CLI's merge of flags and the
    matching creation rule, from keyword arguments."""
    from .keys.registry import KEY_TYPES, ORDER_ENCRYPT_FLAGS, KeyOptions, build_group
    from .settings import rule_settings

    rules: dict[str, str] = {}
    for name in RULE_ARGS:
        value = options.get(name) or ""
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        rules[name] = value
    context = options.get("kms_context") or {}
    if not isinstance(context, dict) or not all(isinstance(a, str) and isinstance(b, str) for a, b in context.items()):
        raise TypeError("kms_context must be a dict of str to str")
    threshold = options.get("shamir_threshold") or 0
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        raise ValueError(f"shamir_threshold must be a non-negative int, got {threshold!r}")
    profile = options.get("aws_profile") or ""
    if not isinstance(profile, str):
        raise TypeError(f"aws_profile must be a str, got {type(profile).__name__}")
    key_options = KeyOptions(context, profile)
    flat = {name: _str_list(options.get(name), name) for name in KEY_ARGS}
    groups_arg = options.get("key_groups")
    groups = None
    if groups_arg is not None:
        if any(flat.values()):
            raise ValueError("give either key_groups or per-type keys (age=, pgp=, ...), not both")
        if not isinstance(groups_arg, (list, tuple)) or not all(isinstance(g, dict) for g in groups_arg):
            raise TypeError("key_groups must be a sequence of dicts such as {'age': [...], 'pgp': [...]}")
        groups = []
        for i, g in enumerate(groups_arg):
            unknown = sorted(set(g) - set(KEY_TYPES))
            if unknown:
                raise ValueError(f"key_groups[{i}] has unknown key types {unknown}: use {', '.join(KEY_TYPES)}")
            groups.append(build_group({n: _str_list(v, f"key_groups[{i}][{n!r}]") for n, v in g.items()},
                                      tuple(KEY_TYPES), key_options))
    elif any(flat.values()):
        groups = [build_group(flat, ORDER_ENCRYPT_FLAGS, key_options)]
    return rule_settings(env, path, store, rules=rules, mac_only=bool(options.get("mac_only_encrypted")),
                         kms_context=dict(context), groups=groups, threshold=threshold)


def encrypt(data: bytes | str, format: Format = "yaml", *, path: PathArg | None = None, config: ConfigArg = None,
            keys: Keys | None = None, output_format: Format | None = None,
            age: KeyList | None = None, pgp: KeyList | None = None, kms: KeyList | None = None,
            gcp_kms: KeyList | None = None, azure_kv: KeyList | None = None, hc_vault: KeyList | None = None,
            hckms: KeyList | None = None, key_groups: Sequence[Mapping[str, KeyList]] | None = None,
            shamir_threshold: int = 0, kms_context: Mapping[str, str] | None = None, aws_profile: str = "",
            unencrypted_suffix: str = "", encrypted_suffix: str = "", unencrypted_regex: str = "",
            encrypted_regex: str = "", unencrypted_comment_regex: str = "", encrypted_comment_regex: str = "",
            mac_only_encrypted: bool = False, reuse: bytes | PathArg | None = None) -> bytes:
    """Encrypt plaintext file bytes and return sops file bytes.

    Keys and rules come from the ``.sops.yaml`` creation rule matching ``path`` (searched upwards
    from ``path``'s directory, or the working directory without a path), exactly as ``sops encrypt``
    uses it; keys given here replace the rule's keys and rules given here win, as CLI flags do.
    ``config=False`` ignores ``.sops.yaml``; ``config="path"`` names one.

    ``reuse`` (a sops file's bytes, or its path) encrypts instead with that file's data key, keys and
    rules, keeping the exact ciphertext of every value whose path and plaintext are unchanged, so a
    re-encrypted file differs only where the plaintext did (``sops-py encrypt --reuse``)."""
    from .ops.crypt import encrypt_data

    raw, fmt, k = _bytes(data), _format(format), _keys(keys)
    p = os.path.abspath(_path(path)) if path is not None else os.path.join(os.getcwd(), f"stdin.{fmt}")
    env = _env(k, config, p if path is not None else None)
    out_fmt = _format(output_format, "output_format") if output_format is not None else fmt
    in_store = _store(fmt, env)
    if reuse is not None:
        given = [n for n, v in (("age", age), ("pgp", pgp), ("kms", kms), ("gcp_kms", gcp_kms),
                                ("azure_kv", azure_kv), ("hc_vault", hc_vault), ("hckms", hckms),
                                ("key_groups", key_groups), ("shamir_threshold", shamir_threshold),
                                ("unencrypted_suffix", unencrypted_suffix), ("encrypted_suffix", encrypted_suffix),
                                ("unencrypted_regex", unencrypted_regex), ("encrypted_regex", encrypted_regex),
                                ("unencrypted_comment_regex", unencrypted_comment_regex),
                                ("encrypted_comment_regex", encrypted_comment_regex),
                                ("mac_only_encrypted", mac_only_encrypted)) if v]
        if given:
            raise ValueError(f"reuse takes the keys and rules of the reused file: do not also give {', '.join(given)}")
        return _reuse(raw, in_store, _store(out_fmt, env), reuse, out_fmt, k)
    options = dict(age=age, pgp=pgp, kms=kms, gcp_kms=gcp_kms, azure_kv=azure_kv, hc_vault=hc_vault, hckms=hckms,
                   key_groups=key_groups, shamir_threshold=shamir_threshold, kms_context=kms_context,
                   aws_profile=aws_profile, unencrypted_suffix=unencrypted_suffix, encrypted_suffix=encrypted_suffix,
                   unencrypted_regex=unencrypted_regex, encrypted_regex=encrypted_regex,
                   unencrypted_comment_regex=unencrypted_comment_regex, encrypted_comment_regex=encrypted_comment_regex,
                   mac_only_encrypted=mac_only_encrypted)
    settings = _settings(env, p, in_store, options)
    return encrypt_data(raw, in_store, _store(out_fmt, env), settings, k.ring())


def _reuse(raw: bytes, in_store: Store, out_store: Store, reuse: object, out_fmt: str, k: Keys) -> bytes:
    from .ops.crypt import reuse_encrypt

    if isinstance(reuse, (bytes, bytearray, memoryview)):
        previous, previous_fmt = bytes(reuse), out_fmt
    else:
        rp = _path(reuse, "reuse")
        previous, previous_fmt = _read(rp), _fmt_for(rp, None)
    return reuse_encrypt(raw, in_store, out_store, previous, _store(previous_fmt), k.ring(), k.decryption_order)


def encrypt_file(path: PathArg, *, format: Format | None = None, in_place: bool = False,
                 output: PathArg | None = None, **options: Any) -> bytes:
    """Encrypt a plaintext file (``.sops.yaml`` honoured for its path) and return the sops file bytes;
    ``in_place`` replaces it atomically, ``output`` writes them elsewhere. Other keyword arguments
    are ``encrypt``'s."""
    p = _path(path)
    fmt = _fmt_for(p, format)
    out = encrypt(_read(p), fmt, path=p, **options)
    if in_place and output is not None:
        raise ValueError("give in_place or output, not both")
    if in_place or output is not None:
        _write(p if in_place else _path(output, "output"), out)
    return out


def dump(obj: Any, format: Format = "yaml", **options: Any) -> bytes:
    """Encrypt Python data (dicts, lists, str, int, float, bool, None, datetime) into sops file bytes.
    Keyword arguments are ``encrypt``'s (``path=`` picks the ``.sops.yaml`` rule)."""
    from .pydata import from_python

    fmt = _format(format)
    if fmt == "binary":
        raise ValueError("format 'binary' holds bytes, not Python data: use encrypt()")
    return encrypt(_store(fmt).emit_plain([from_python(obj, "obj")]), fmt, **options)


def dump_file(obj: Any, path: PathArg, *, format: Format | None = None, **options: Any) -> None:
    """Encrypt Python data into a sops file at ``path`` (written atomically; ``.sops.yaml`` honoured)."""
    p = _path(path)
    _write(p, dump(obj, _fmt_for(p, format), path=p, **options))


def _write(path: str, data: bytes) -> None:
    from .ops.files import write_atomic

    write_atomic(path, data)


# ------------------------------------------------------------------ changing an encrypted file


def update(data: bytes | str, change: Callable[[Any], Any], format: Format = "yaml", *, keys: Keys | None = None,
           ignore_mac: bool = False) -> bytes:
    """Decrypt, let ``change`` edit the data, and re-encrypt with the same data key and metadata.

    ``change`` receives the first document as Python data; it may change it in place and return
    None, or return the new data. Every value whose path and plaintext did not change keeps its exact
    ciphertext (IV included), comments stay where they were, and the MAC is recomputed: what
    ``sops edit`` does, without an editor."""
    return _update(data, change, format, keys, ignore_mac)[0]


def _update(data: bytes | str, change: Callable[[Any], Any], format: object, keys: Keys | None,
            ignore_mac: bool) -> tuple[bytes, bool]:
    """``update``'s result, and whether any value changed."""
    from .ops.crypt import load_encrypted, open_tree, reseal
    from .pydata import merge_into
    from .pydata import to_python as convert

    if not callable(change):
        raise TypeError(f"change must be callable, got {type(change).__name__}")
    k, fmt = _keys(keys), _format(format)
    store = _store(fmt)
    branches, md = load_encrypted(_bytes(data), store)
    opened = open_tree(branches, md, k.ring(), k.decryption_order, ignore_mac)
    if not opened.branches:
        raise SopsError("the file holds no document to change")
    current = convert(opened.branches[0])
    result = change(current)
    merged = merge_into(opened.branches[0], current if result is None else result)
    changed = merged != opened.branches[0]  # merge_into reuses every unchanged object and never mutates
    opened.branches[0] = merged
    return reseal(store, opened.branches, md, opened.cipher), changed


def update_file(path: PathArg, change: Callable[[Any], Any], *, format: Format | None = None,
                keys: Keys | None = None, ignore_mac: bool = False) -> bool:
    """``update`` on a file, rewritten atomically; returns whether its content changed (an unchanged
    file is not rewritten)."""
    p = _path(path)
    after, changed = _update(_read(p), change, _fmt_for(p, format), keys, ignore_mac)
    if changed:
        _write(p, after)
    return changed
