"""AWS KMS master keys as sops uses them (``kms/keysource.go``), through boto3.

What sops does, and what this module does the same way:

* ``wrap``: ``Encrypt(KeyId=arn, Plaintext=<data key>, EncryptionContext=context)``; ``enc`` is the
  standard base64 of ``CiphertextBlob``. ``unwrap``: ``Decrypt(KeyId=arn, CiphertextBlob=...,
  EncryptionContext=context)``. The context is sent on both calls (KMS binds the ciphertext to it).
* The region is the one in the ARN (``^arn:aws[\\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$``); an ARN that
  does not match fails with sops' ``no valid ARN found in '<arn>'``.
* ``aws_profile`` selects a profile of the shared config/credentials files (``boto3.Session(profile_name=)``).
* ``role``: the role is assumed through STS first (``AssumeRole`` with the session name
  ``sops@<hostname>``, the hostname stripped of the characters sops strips and cut to 64 characters,
  and no ``DurationSeconds``, so STS' default of one hour), with the credentials of the profile or of
  the default chain; KMS is then called with the temporary credentials. sops assumes the role on every
  call; here the temporary credentials are cached and assumed again five minutes before they expire.
* Otherwise boto3's standard credential chain is used unchanged (environment variables, shared files,
  SSO, web identity ``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``, container and instance
  metadata). boto3 reads those settings from the *process* environment (``os.environ``) and its
  files, not from the ``env`` mapping given to ``make_backend``; sops reads no variable of its own here.
* Endpoints are never set by this module, so botocore applies ``AWS_ENDPOINT_URL``,
  ``AWS_ENDPOINT_URL_KMS``, ``AWS_ENDPOINT_URL_STS`` and ``endpoint_url`` in a profile itself.

Time bounds (choices): connect timeout 5 s and read timeout 10 s per request, for KMS and STS (set as
the botocore session's default client config, so the credential chain's own STS/SSO clients get them
too; instance and container metadata keep botocore's own 1-2 s limits); retries
in botocore's ``standard`` mode with 3 attempts in all (the Go SDK's default retryer also makes 3),
unless ``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS`` or the profile configure retries, which then apply.
An unreachable endpoint fails within about 20 s, a refused connection within a few seconds.

Messages are sops' own text: ``failed to encrypt sops data key with AWS KMS: <error>``, ``failed to
decrypt sops data key with AWS KMS: <error>``, ``failed to assume role '<role>': <error>``, ``could not
load AWS config: <error>``, ``error base64-decoding encrypted data key: <error>``. The ``<error>`` part
comes from botocore and differs from the Go SDK's text (``An error occurred (DisabledException) when
calling the Decrypt operation: ...`` instead of ``operation error KMS: Decrypt, https response error
...``). Neither credentials nor the data key appear in any message.

The backend may be used from several threads: boto3 sessions (not thread-safe) are created and used
only under a lock; clients (thread-safe) are cached per (region, profile, role) and shared.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

from .. import gobase64
from ..metadata import KeyEntry
from . import KeyFailed, registry
from .keylog import logged

KEY_TYPE = "kms"
ARN_REGEX = re.compile(r"^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$", re.ASCII)
# sops' stsSessionRegex; in the class, "@-_" is the range 0x40-0x5F (so "-" itself is removed).
_STS_SESSION_STRIP = re.compile(r"[^a-zA-Z0-9=,.@-_]+")
ROLE_SESSION_NAME_LIMIT = 64
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
MAX_ATTEMPTS = 3
# Assume the role again when its temporary credentials have less than this left (seconds).
ROLE_REFRESH_MARGIN = 300.0


def region_from_arn(arn: str) -> str:
    """The region in a KMS key ARN, or KeyFailed with sops' message."""
    m = ARN_REGEX.match(arn)
    if m is None:
        raise KeyFailed(f"no valid ARN found in '{arn}'")
    return m.group(1)


def sts_session_name(hostname: str | None = None) -> str:
    """``sops@<hostname>`` as sops builds it: disallowed characters removed, at most 64 characters."""
    if hostname is None:
        try:
            hostname = socket.gethostname()
        except OSError as e:
            raise KeyFailed(f"failed to construct STS session name: {e}") from e
    name = "sops@" + _STS_SESSION_STRIP.sub("", hostname)
    return name[:ROLE_SESSION_NAME_LIMIT]


def decode_enc(enc: str) -> bytes:
    """``enc`` decoded as Go's base64.StdEncoding does (CR/LF ignored, padding required)."""
    try:
        return gobase64.decode(enc.encode("utf-8", "surrogateescape"))
    except gobase64.GoBase64Error as e:
        raise KeyFailed(f"error base64-decoding encrypted data key: {e}") from None


def _sdk_errors() -> tuple[type[Exception], type[Exception]]:
    """botocore's two exception roots (every SDK failure is one of them); MissingExtra without boto3."""
    try:
        import boto3  # noqa: F401 - its absence is what the user has to fix
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise registry.missing_extra("boto3", "aws") from None
    return BotoCoreError, ClientError


class _Cached:
    __slots__ = ("client", "expires")

    def __init__(self, client: Any, expires: float | None) -> None:
        self.client = client
        self.expires = expires  # time.time() at which role credentials expire; None: no role

    def fresh(self) -> bool:
        return self.expires is None or self.expires - time.time() > ROLE_REFRESH_MARGIN


class AWSKMSBackend:
    """Wraps and unwraps data keys with AWS KMS; one per key ring (or key service)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()          # guards the dicts below and every boto3 Session call
        self._sessions: dict[str, tuple[Any, Any]] = {}  # profile ("" = default) -> boto3, botocore sessions
        self._clients: dict[tuple[str, str, str], _Cached] = {}
        self._key_locks: dict[tuple[str, str, str], threading.Lock] = {}

    # ------------------------------------------------------------ clients

    def _config(self, core: Any) -> Any:
        """Timeouts always; retries unless the user configured them (env or profile) for botocore."""
        from botocore.config import Config

        # one client serves every thread of a batch: as many connections as threads (botocore's
        # default pool of 10 would queue the rest)
        kwargs: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT,
                                  "max_pool_connections": registry.MAX_CONCURRENT_CALLS}
        user_retries = (core.get_config_variable("max_attempts") is not None
                        or "AWS_RETRY_MODE" in os.environ
                        or "retry_mode" in core.get_scoped_config())
        if not user_retries:
            kwargs["retries"] = {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
        return Config(**kwargs)

    def _session(self, profile: str) -> tuple[Any, Any]:
        """The boto3 Session for a profile and its botocore session; call with self._lock held."""
        pair = self._sessions.get(profile)
        if pair is None:
            BotoCoreError, _ = _sdk_errors()
            import boto3
            import botocore.session

            core = botocore.session.Session()
            try:
                pair = (boto3.session.Session(botocore_session=core, profile_name=profile or None), core)
                # every client of this session, the credential chain's own (web identity, SSO) included
                core.set_default_client_config(self._config(core))
            except BotoCoreError as e:
                raise KeyFailed(f"could not load AWS config: {e}") from e
            self._sessions[profile] = pair
        return pair

    def _new_client(self, service: str, profile: str, region: str, **creds: str) -> Any:
        BotoCoreError, _ = _sdk_errors()
        with self._lock:
            session, _ = self._session(profile)
            try:
                return session.client(service, region_name=region, **creds)
            except BotoCoreError as e:
                raise KeyFailed(f"could not load AWS config: {e}") from e

    def _assume_role(self, role: str, profile: str, region: str) -> tuple[dict[str, str], float]:
        sdk_errors = _sdk_errors()
        name = sts_session_name()
        sts = self._new_client("sts", profile, region)
        try:
            out = sts.assume_role(RoleArn=role, RoleSessionName=name)
        except sdk_errors as e:
            raise KeyFailed(f"failed to assume role '{role}': {e}") from e
        c = out["Credentials"]
        expiration = c.get("Expiration")
        expires = expiration.timestamp() if hasattr(expiration, "timestamp") else time.time() + 3600.0
        creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                 "aws_session_token": c["SessionToken"]}
        return creds, expires

    def _client(self, entry: KeyEntry) -> Any:
        arn = str(entry.fields.get("arn", ""))
        region = region_from_arn(arn)
        profile = str(entry.fields.get("aws_profile") or "")
        role = str(entry.fields.get("role") or "")
        key = (region, profile, role)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None and cached.fresh():
                return cached.client
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one STS call per (region, profile, role) at a time, without blocking others
            with self._lock:
                cached = self._clients.get(key)
                if cached is not None and cached.fresh():
                    return cached.client
            if role:
                creds, expires = self._assume_role(role, profile, region)
                cached = _Cached(self._new_client("kms", profile, region, **creds), expires)
            else:
                cached = _Cached(self._new_client("kms", profile, region), None)
            with self._lock:
                self._clients[key] = cached
            return cached.client

    # ------------------------------------------------------------ the Backend interface

    @logged("AWSKMS", lambda entry: {"arn": entry.fields.get("arn", "")}, encrypt=True)
    def wrap(self, entry: KeyEntry, secret: bytes) -> str:
        sdk_errors = _sdk_errors()
        client = self._client(entry)
        try:
            out = client.encrypt(KeyId=str(entry.fields.get("arn", "")), Plaintext=secret,
                                 EncryptionContext=_context(entry))
        except sdk_errors as e:
            raise KeyFailed(f"failed to encrypt sops data key with AWS KMS: {e}") from e
        return base64.b64encode(out["CiphertextBlob"]).decode("ascii")

    @logged("AWSKMS", lambda entry: {"arn": entry.fields.get("arn", "")}, encrypt=False)
    def unwrap(self, entry: KeyEntry) -> bytes:
        blob = decode_enc(entry.enc)
        sdk_errors = _sdk_errors()
        client = self._client(entry)
        try:
            out = client.decrypt(KeyId=str(entry.fields.get("arn", "")), CiphertextBlob=blob,
                                 EncryptionContext=_context(entry))
        except sdk_errors as e:
            raise KeyFailed(f"failed to decrypt sops data key with AWS KMS: {e}") from e
        plaintext: bytes = out["Plaintext"]
        return plaintext


def _context(entry: KeyEntry) -> dict[str, str]:
    ctx = entry.fields.get("context") or {}
    return {str(k): str(v) for k, v in ctx.items()}


def make_backend(env: Mapping[str, str]) -> AWSKMSBackend:
    return AWSKMSBackend(env)
