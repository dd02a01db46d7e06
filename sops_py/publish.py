"""`publish`: send a sops file to the destination its ``.sops.yaml`` destination rule names.

As sops 3.13 (``cmd/sops/subcommand/publish``, ``publish/*.go``, ``config.parseDestinationRuleForFile``):

* the first ``destination_rules`` entry whose ``path_regex`` is empty or matches the path *as given*
  wins; a rule naming more than one of ``s3_bucket``, ``gcs_bucket``, ``vault_path`` is an error;
* S3 and GCS receive the encrypted file: as it is, or, when the rule's ``recreation_rule`` has keys,
  decrypted and re-encrypted for them with a new data key (only its suffixes and threshold are kept);
* Vault KV (v1, or v2 by default; mount ``secret/`` by default) receives the decrypted top-level
  mapping as JSON, unless the secret already holds equal data (Vault's numbers never compare equal
  to the file's, as in Go, so a secret with numbers is always rewritten).

The Vault client is plain ``urllib`` (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT,
VAULT_CAPATH, VAULT_CLIENT_CERT/KEY, VAULT_SKIP_VERIFY, VAULT_CLIENT_TIMEOUT). S3 and GCS use boto3
and google-cloud-storage, imported only when such a destination is used.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import ssl
import stat
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import log
from .errors import MissingExtra, SopsError
from .tree import Branch, Comment

AWS_HINT = "pip install 'sops-py[aws]' (or: pip install boto3)"
GCS_HINT = "pip install 'sops-py[gcs]' (or: pip install google-cloud-storage)"
DEFAULT_VAULT_ADDR = "https://127.0.0.1:8200"


class PublishError(SopsError):
    """A publish failure (exit 1)."""


# ------------------------------------------------------------------ destinations

class Destination(Protocol):
    def path(self, file_name: str) -> str: ...


@dataclass
class S3Destination:
    bucket: str
    prefix: str = ""

    def path(self, file_name: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{file_name}"

    def upload(self, contents: bytes, file_name: str) -> None:
        try:
            import boto3  # type: ignore[import-not-found, import-untyped, unused-ignore]
        except ImportError:
            raise MissingExtra(f"publishing to S3 needs boto3, which is not installed: {AWS_HINT}") from None
        try:
            boto3.client("s3").put_object(Bucket=self.bucket, Key=self.prefix + file_name, Body=contents)
        except Exception as e:  # noqa: BLE001 - any SDK failure is the command's error
            raise PublishError(str(e)) from None


@dataclass
class GCSDestination:
    bucket: str
    prefix: str = ""

    def path(self, file_name: str) -> str:
        return f"gcs://{self.bucket}/{self.prefix}{file_name}"

    def upload(self, contents: bytes, file_name: str) -> None:
        try:
            from google.cloud import storage  # type: ignore[attr-defined, import-not-found, import-untyped, unused-ignore]
        except ImportError:
            raise MissingExtra("publishing to Google Cloud Storage needs google-cloud-storage, which is not "
                               f"installed: {GCS_HINT}") from None
        try:
            storage.Client().bucket(self.bucket).blob(self.prefix + file_name).upload_from_string(contents)
        except Exception as e:  # noqa: BLE001 - any SDK failure is the command's error
            raise PublishError(str(e)) from None


@dataclass
class VaultDestination:
    """A KV secrets engine (publish/vault.go); ``address`` empty means VAULT_ADDR."""

    address: str
    vault_path: str
    mount: str = "secret/"
    kv_version: int = 2
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self) -> None:
        if not self.vault_path.endswith("/"):
            self.vault_path += "/"
        if not self.mount:
            self.mount = "secret/"
        if not self.mount.endswith("/"):
            self.mount += "/"
        if self.kv_version not in (1, 2):
            self.kv_version = 2

    def get_address(self) -> str:
        return self.address or self.environ.get("VAULT_ADDR") or DEFAULT_VAULT_ADDR

    def path(self, file_name: str) -> str:
        return f"{self.get_address()}/v1/{self.secrets_path(file_name)}"

    def secrets_path(self, file_name: str) -> str:
        if self.kv_version == 1:
            return f"{self.mount}{self.vault_path}{file_name}"
        return f"{self.mount}data/{self.vault_path}{file_name}"

    def upload_unencrypted(self, data: dict[str, Any], file_name: str) -> None:
        client = VaultClient(self.get_address(), self.environ)
        secrets_path = self.secrets_path(file_name)
        existing: Any = None
        try:
            existing = client.read(secrets_path)
        except PublishError:
            log.warning("Cannot check if destination secret already exists in %s. New version will be created "
                        "even if the data has not been changed.", secrets_path, name="PUBLISH")
        if isinstance(existing, dict) and go_equal(data, _field(existing.get("data"), "data")):
            log.info("Secret in %s is already up-to-date.\n", secrets_path, name="PUBLISH")
            return
        body: dict[str, Any] = data if self.kv_version == 1 else {"data": data}
        client.write(secrets_path, body)


def _net_reason(url: str, e: Exception) -> str:
    """A connection failure as Go's net/http words it (``dial tcp host:port: connect: connection refused``)."""
    import socket
    import urllib.parse

    reason: Any = getattr(e, "reason", e)
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if isinstance(reason, socket.gaierror):
        return f"dial tcp: lookup {parts.hostname}: no such host"
    if isinstance(reason, OSError) and reason.errno and not isinstance(reason, ssl.SSLError):
        return f"dial tcp {parts.hostname}:{port}: connect: {os.strerror(reason.errno).lower()}"
    return str(reason)


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None


# ------------------------------------------------------------------ a minimal Vault HTTP client

class JSONNumber(str):
    """A JSON number as Vault's client decodes it (json.Number): equal only to the same number text."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSONNumber) and str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


def go_equal(a: Any, b: Any) -> bool:
    """go-cmp's Equal on the decoded secret: same types, same values (no int/bool/float mixing)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(go_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list) and not isinstance(a, Branch) and not isinstance(b, Branch):
        return len(a) == len(b) and all(go_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    return bool(a == b)


class VaultClient:
    def __init__(self, address: str, environ: Mapping[str, str]) -> None:
        self.address = address.rstrip("/")
        self.environ = environ
        timeout = environ.get("VAULT_CLIENT_TIMEOUT", "")
        try:
            self.timeout = float(timeout.rstrip("s")) if timeout else 60.0
        except ValueError:
            self.timeout = 60.0

    def _context(self) -> ssl.SSLContext | None:
        if not self.address.startswith("https:"):
            return None
        env = self.environ
        ctx = ssl.create_default_context(cafile=env.get("VAULT_CACERT") or None,
                                         capath=env.get("VAULT_CAPATH") or None)
        if env.get("VAULT_CLIENT_CERT"):
            ctx.load_cert_chain(env["VAULT_CLIENT_CERT"], env.get("VAULT_CLIENT_KEY") or None)
        if env.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "t", "true"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        url = f"{self.address}/v1/{path}"
        data = None if body is None else go_json_marshal(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("X-Vault-Request", "true")
        if self.environ.get("VAULT_TOKEN"):
            req.add_header("X-Vault-Token", self.environ["VAULT_TOKEN"])
        if self.environ.get("VAULT_NAMESPACE"):
            req.add_header("X-Vault-Namespace", self.environ["VAULT_NAMESPACE"])
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._context()) as resp:  # noqa: S310
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as e:
            return int(e.code), e.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise PublishError(f'{method.capitalize()} "{url}": {_net_reason(url, e)}') from None

    @staticmethod
    def _decode(payload: bytes) -> Any:
        return json.loads(payload, parse_int=JSONNumber, parse_float=JSONNumber)

    def _error(self, method: str, path: str, status: int, payload: bytes) -> PublishError:
        """Vault's ResponseError text."""
        errors: list[str] = []
        raw = False
        try:
            decoded = json.loads(payload)
            errors = [str(e) for e in decoded.get("errors") or []] if isinstance(decoded, dict) else []
        except ValueError:
            raw = True
            errors = [payload.decode("utf-8", "replace")]
        kind = "Details" if status == 412 else "Errors"
        text = f"Error making API request.\n\nURL: {method} {self.address}/v1/{path}\nCode: {status}. {kind}:\n\n"
        text += errors[0] if raw and len(errors) == 1 else "".join(f"* {e}" for e in errors)
        return PublishError(text)

    def read(self, path: str) -> Any:
        """Logical().Read: the secret, or None when there is none (404 without data)."""
        status, payload = self._request("GET", path)
        if status == 404:
            try:
                secret = self._decode(payload) if payload.strip() else None
            except ValueError:
                return None
            if isinstance(secret, dict) and (secret.get("warnings") or secret.get("data")):
                return secret
            return None
        if status >= 400:
            raise self._error("GET", path, status, payload)
        try:
            return self._decode(payload)
        except ValueError as e:
            raise PublishError(str(e)) from None

    def write(self, path: str, body: Any) -> None:
        status, payload = self._request("PUT", path, body)
        if status >= 400:
            raise self._error("PUT", path, status, payload)


# ------------------------------------------------------------------ the decrypted tree as Vault data

def emit_as_map(branches: list[Branch]) -> dict[str, Any]:
    """sops.EmitAsMap: every document's top-level items (comments skipped), mappings nested as maps.
    Lists are kept as they are (a mapping inside a list stays a tree branch, as in Go)."""
    data: dict[str, Any] = {}
    for branch in branches:
        for key, value in branch:
            if isinstance(key, Comment):
                continue
            if not isinstance(key, str):
                raise PublishError(f"interface conversion: interface {{}} is {type(key).__name__}, not string")
            data[key] = emit_as_map([value]) if isinstance(value, Branch) else value
    return data


def go_json_marshal(value: Any) -> str:
    """encoding/json.Marshal of the data sops sends (sorted map keys, Go's escaping and floats)."""
    from .stores.json_store import JSONEncodeError, go_json_quote, json_scalar

    def enc(v: Any) -> str:
        if isinstance(v, JSONNumber):
            return str(v)
        if isinstance(v, Comment):
            return '{"Value":' + go_json_quote(v.value) + "}"
        if isinstance(v, Branch):  # a TreeBranch is a slice of TreeItem{Key, Value}
            return "[" + ",".join('{"Key":' + enc(k) + ',"Value":' + enc(x) + "}" for k, x in v) + "]"
        if isinstance(v, dict):
            return "{" + ",".join(go_json_quote(k) + ":" + enc(v[k]) for k in sorted(v)) + "}"
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        try:
            return json_scalar(v)
        except JSONEncodeError as e:
            raise PublishError(str(e)) from None

    return enc(value)


# ------------------------------------------------------------------ destination rules

@dataclass
class DestinationConfig:
    destination: VaultDestination | S3Destination | GCSDestination | None
    recreation_rule: dict[str, Any]
    omit_extensions: bool


def _text(rule: Mapping[str, Any], name: str) -> str:
    value = rule.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(rule: Mapping[str, Any], name: str) -> int:
    value = rule.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise PublishError(f"error loading config: Could not unmarshal config file: {name} must be an integer")
    return value


def _matches(regex: str, path: str) -> bool:
    try:
        return re.search(regex, path) is not None
    except re.error:  # Go: regexp.MatchString's error is ignored, the rule does not match
        return False


def match_destination_rule(rules: list[Any], file_path: str, environ: Mapping[str, str] | None = None
                           ) -> DestinationConfig:
    """config.parseDestinationRuleForFile: the first rule with an empty or matching path_regex."""
    chosen: Mapping[str, Any] | None = None
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        regex = _text(rule, "path_regex")
        if not regex or _matches(regex, file_path):
            chosen = rule
            break
    if chosen is None:
        raise PublishError("error loading config: no matching destination found in config")
    s3, gcs, vault = _text(chosen, "s3_bucket"), _text(chosen, "gcs_bucket"), _text(chosen, "vault_path")
    if sum(1 for d in (s3, gcs, vault) if d) > 1:
        raise PublishError("error loading config: more than one destinations were found in a single destination "
                           "rule, you can only use one per rule")
    dest: VaultDestination | S3Destination | GCSDestination | None = None
    if s3:
        dest = S3Destination(s3, _text(chosen, "s3_prefix"))
    if gcs:
        dest = GCSDestination(gcs, _text(chosen, "gcs_prefix"))
    if vault:
        dest = VaultDestination(_text(chosen, "vault_address"), vault, _text(chosen, "vault_kv_mount_name"),
                                _int(chosen, "vault_kv_version"),
                                environ=dict(os.environ) if environ is None else environ)
    recreation = chosen.get("recreation_rule")
    return DestinationConfig(dest, recreation if isinstance(recreation, dict) else {},
                             bool(chosen.get("omit_extensions")))


# ------------------------------------------------------------------ paths

def go_ext(path: str) -> str:
    """filepath.Ext: from the last dot of the last element (``.env`` for ``.env``)."""
    for i in range(len(path) - 1, -1, -1):
        if path[i] == "/":
            break
        if path[i] == ".":
            return path[i:]
    return ""


def go_clean(path: str) -> str:
    cleaned = posixpath.normpath(path) if path else "."
    return cleaned[1:] if cleaned.startswith("//") else cleaned


WalkError = Callable[[str, str, OSError], None]  # (Go operation, path, error)


def go_walk(root: str, on_error: WalkError) -> Iterator[str]:
    """filepath.Walk's files (lexical order, symlinks not followed, ``root`` itself as given)."""
    try:
        st = os.lstat(root)
    except OSError as e:
        on_error("lstat", root, e)
        return
    yield from _walk(root, st, on_error)


def _walk(path: str, st: os.stat_result, on_error: WalkError) -> Iterator[str]:
    if not stat.S_ISDIR(st.st_mode):
        yield path
        return
    try:
        names = sorted(os.listdir(path))
    except OSError as e:
        on_error("open", path, e)
        return
    for name in names:
        child = go_clean(posixpath.join(path, name))
        try:
            child_st = os.lstat(child)
        except OSError as e:
            on_error("lstat", child, e)
            continue
        yield from _walk(child, child_st, on_error)


def destination_name(input_path: str, root_path: str, recursive: bool, omit_extensions: bool) -> str:
    abs_path = os.path.abspath(input_path)
    if recursive:
        name = os.path.relpath(go_clean(input_path), go_clean(root_path))
    else:
        name = os.path.basename(abs_path)
    if omit_extensions:
        ext = go_ext(abs_path)
        if ext and name.endswith(ext):
            name = name[: -len(ext)]
    return name
