"""The ``ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]`` value codec.

Pure: no I/O. One ``Cipher`` per operation holds the data key and the IV stash, so a value decrypted
and re-encrypted unchanged at the same path gets the same IV and therefore the same bytes.
"""

from __future__ import annotations

import binascii
import os

from .crypto import AESGCM, is_invalid_tag
from .errors import ErrorDecryptingTree, SopsError
from .gofmt import float_syntax, format_f
from .tree import Comment, Time

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

NONCE_SIZE = 32  # sops uses a 32-byte GCM nonce, not the usual 12
_ENC_PREFIX = "ENC[AES256_GCM,"
_DATA_HEAD = _ENC_PREFIX + "data:"  # how every token starts
# Go's "." stops at a newline, so a comment holding two tokens (INI joins a run of comment lines)
# decrypts as its first token, as in sops
_ENC_PATTERN = r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]"
_TOKEN = "ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]"  # data, iv and tag in base64, then the type
_NOT_BASE64 = "!"  # stands in for a token field that fails its check: strict base64 decoding then raises


def _regex(pattern: str) -> Any:
    """A compiled regex, ``re`` loaded on first use (it costs ms at start-up, and sops' own tokens
    never need one); ``re.compile`` keeps the compiled patterns."""
    import re

    return re.compile(pattern)


class CipherError(ErrorDecryptingTree):
    """A value could not be decrypted (bad format, wrong key or tampered data); exit 25."""


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_ENC_PREFIX)


def to_bytes(value: object) -> bytes:
    """The canonical bytes sops encrypts and hashes for a leaf (sops ToBytes)."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bool):  # before int: bool is an int in Python
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return format_f(value).encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, Time):
        return value.text.encode()
    if isinstance(value, Comment):
        return value.value.encode("utf-8", "surrogateescape")
    raise SopsError(f"Value to encrypt has unsupported type {type(value).__name__}")


def type_of(value: object) -> str:
    if isinstance(value, (str, bytes)):
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Time):
        return "time"
    if isinstance(value, Comment):
        return "comment"
    raise SopsError(f"Value to encrypt has unsupported type {type(value).__name__}")


def _parse_bool(s: str) -> bool:
    # Go strconv.ParseBool
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{s}": invalid syntax')


def _parse_int(s: str) -> int:
    # Go strconv.Atoi: decimal digits with an optional sign, int64 range
    digits = s[1:] if s.startswith(("+", "-")) else s
    if not (digits.isascii() and digits.isdigit()):  # [+-]?[0-9]+
        raise ValueError(f'strconv.Atoi: parsing "{s}": invalid syntax')
    v = int(s)
    if not -(2**63) <= v < 2**63:
        raise ValueError(f'strconv.Atoi: parsing "{s}": value out of range')
    return v


def _parse_float(s: str) -> float:
    # Go strconv.ParseFloat accepts +Inf/-Inf/NaN spellings and underscores only with a base prefix
    low = s.lower()
    if low in ("+inf", "inf", "+infinity", "infinity"):
        return float("inf")
    if low in ("-inf", "-infinity"):
        return float("-inf")
    if low == "nan":
        return float("nan")
    if "_" in s or not (float_syntax(s) or _regex(r"[+-]?0[xX][0-9a-fA-F.pP+-]+").fullmatch(s)):
        raise ValueError(f'strconv.ParseFloat: parsing "{s}": invalid syntax')
    if s.lstrip("+-")[:2].lower() == "0x":
        return float.fromhex(s)
    return float(s)


def _from_bytes(data: bytes, typ: str) -> object:
    if typ == "str":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data
    text = data.decode("utf-8", "replace")
    if typ == "int":
        return _parse_int(text)
    if typ == "float":
        return _parse_float(text)
    if typ == "bool":
        return _parse_bool(text)
    if typ == "time":
        return Time.parse_rfc3339(text)
    if typ == "comment":
        return Comment(text)
    if typ == "bytes":
        return data
    raise ValueError(f"Unknown datatype: {typ}")


def _b64decode_slow(s: str) -> bytes:
    # Go base64.StdEncoding: padding required, newlines ignored
    import base64

    return base64.b64decode(s.replace("\r", "").replace("\n", ""), validate=True)


_a2b: Any = binascii.a2b_base64  # strict_mode: Python >= 3.11 (a TypeError before: the slow path runs)


def _b64decode(s: str) -> bytes:
    try:
        return _a2b(s, strict_mode=True)  # type: ignore[no-any-return]
    except (binascii.Error, TypeError):
        return _b64decode_slow(s)


def _split_token(token: str) -> tuple[str, ...] | None:
    """(data, iv, tag, type) as sops' regex ``^ENC\\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\\]``
    captures them, or None. A token with exactly three commas and one final ``]`` (every token sops
    writes) has only one way to match, read here with str methods; anything else goes to the regex."""
    if token.startswith(_DATA_HEAD) and token[-1] == "]":
        body = token[len(_DATA_HEAD):-1]
        parts = body.split(",")
        if len(parts) == 4 and "]" not in body:
            data, iv, tag, typ = parts
            if (iv[:3] == "iv:" and tag[:4] == "tag:" and typ[:5] == "type:" and data
                    and len(iv) > 3 and len(tag) > 4 and len(typ) > 5):
                return data, iv[3:], tag[4:], typ[5:]
    m = _regex(_ENC_PATTERN).match(token)
    return m.groups() if m else None


class Cipher:
    """AES-256-GCM with sops' 32-byte IVs, for one operation under one data key."""

    __slots__ = ("_aes", "_ivs", "_rand", "_stash")

    def __init__(self, key: bytes, rand: Callable[[int], bytes] = os.urandom, keep_ivs: bool = True) -> None:
        """``keep_ivs``: remember each decrypted value's IV so that re-encrypting it unchanged gives
        the same bytes (edit, set, rotate); a plain decrypt has no use for that."""
        if len(key) != 32:
            raise SopsError(f"data key must be 32 bytes, got {len(key)}")
        self._aes = AESGCM(key)
        self._rand = rand
        self._ivs: list[bytes] = []  # random IVs drawn in bulk (os.urandom only): one syscall per 128
        self._stash: dict[tuple[str, bytes, str], bytes] | None = {} if keep_ivs else None

    def rekeyed(self, key: bytes) -> Cipher:
        """A cipher under another data key sharing this one's IV stash (rotate keeps every IV)."""
        other = Cipher(key, self._rand)
        other._stash = self._stash
        return other

    def _new_iv(self) -> bytes:
        """An IV once the pool is empty (``encrypt`` pops pooled ones itself)."""
        if self._rand is not os.urandom:
            return self._rand(NONCE_SIZE)  # an injected source (tests) is asked once per IV
        self._refill(128)
        return self._ivs.pop()

    def _refill(self, count: int) -> None:
        """Add ``count`` random IVs to the pool, drawn in one call."""
        pool = os.urandom(NONCE_SIZE * count)
        self._ivs[:0] = [pool[i:i + NONCE_SIZE] for i in range(0, len(pool), NONCE_SIZE)]

    def encrypt(self, value: object, aad: str, plain: bytes | None = None) -> str:
        """Encrypt a leaf (``plain``: its ``to_bytes``, when the caller has it already). Empty
        strings and empty comments stay empty, as in sops."""
        if value.__class__ is str:  # most leaves
            typ = "str"
            if plain is None:
                plain = value.encode("utf-8", "surrogateescape")
        else:
            typ = type_of(value)
            if plain is None:
                plain = to_bytes(value)
        if not plain and typ in ("str", "comment"):
            return ""
        iv = self._stash.get((typ, plain, aad)) if self._stash else None
        if iv is None:
            iv = self._ivs.pop() if self._ivs else self._new_iv()
        out: bytes | memoryview = self._aes.encrypt(iv, plain, aad.encode("utf-8", "surrogateescape"))
        if len(out) > 1 << 16:
            out = memoryview(out)  # slicing a view does not copy a big value's ciphertext
        b2a = binascii.b2a_base64
        return _TOKEN % (b2a(out[:-16], newline=False).decode(), b2a(iv, newline=False).decode(),
                         b2a(out[-16:], newline=False).decode(), typ)

    def encrypt_strs(self, plains: list[bytes], aads: list[str]) -> list[str]:
        """``encrypt`` for many non-empty string leaves at once (a walk's run of string values): the
        same tokens without a call and the type checks per value. An injected ``rand`` is asked for
        the IVs in the order ``encrypt`` would ask; pooled random IVs are taken in any order."""
        if self._stash:
            return [self.encrypt(p.decode("utf-8", "surrogateescape"), a, p) for p, a in zip(plains, aads, strict=True)]
        n = len(plains)
        if self._rand is not os.urandom:
            taken = [self._rand(NONCE_SIZE) for _ in range(n)]  # an injected source (tests): in order
        else:
            ivs = self._ivs
            if len(ivs) < n:
                self._refill(n - len(ivs) + 128)
            taken = ivs[len(ivs) - n:]
            del ivs[len(ivs) - n:]
        seal = self._aes.encrypt
        b2a = binascii.b2a_base64
        cts = [seal(iv, plain, aad.encode("utf-8", "surrogateescape"))
               for plain, aad, iv in zip(plains, aads, taken, strict=True)]
        # comprehensions rather than a loop of ``encrypt``'s steps: a third faster (a view slices a big
        # value's ciphertext without a copy)
        return [_TOKEN % (b2a(memoryview(ct)[:-16] if len(ct) > 1 << 16 else ct[:-16], newline=False).decode(),
                          b2a(iv, newline=False).decode(), b2a(ct[-16:], newline=False).decode(), "str")
                for ct, iv in zip(cts, taken, strict=True)]

    def decrypt_strs(self, tokens: list[str], aads: list[str]) -> tuple[list[object], list[bytes]]:
        """``decrypt`` for many non-empty tokens at once (a walk's run of values), with each value's MAC
        bytes (``to_bytes``; empty for a comment). A run of sops' own str tokens is read in a few
        comprehensions; anything else, or any failure, goes value by value through ``decrypt``, which
        gives the same values or the exact error."""
        try:
            ivs, plains = self._open_str_run(tokens, aads)
        except Exception:  # noqa: BLE001 - any failure (format, base64, tag): the careful path gives the exact error
            return self._decrypt_each(tokens, aads)
        try:
            values: list[object] = [p.decode("utf-8") for p in plains]
        except UnicodeDecodeError:  # a value that is not UTF-8 is kept as bytes, as sops does
            values = [_from_bytes(p, "str") for p in plains]
        if self._stash is not None:
            self._stash.update(zip([("str", p, a) for p, a in zip(plains, aads, strict=True)], ivs, strict=True))
        return values, plains

    def _open_str_run(self, tokens: list[str], aads: list[str]) -> tuple[list[bytes], list[bytes]]:
        """(IVs, plaintexts) of tokens that are all ``ENC[AES256_GCM,data:D,iv:I,tag:T,type:str]``;
        raises otherwise. Strict base64 has no ``,`` or ``]``, so a token that splits into exactly
        these fields and decodes is read exactly as sops' regex reads it."""
        head, tail = _DATA_HEAD, ",type:str]"
        start, end = len(head), -len(tail)
        # a token of another shape becomes no fields, which fails to unpack below
        fields: list[list[str]] = [t[start:end].split(",") if t[:start] == head and t[end:] == tail else []
                                   for t in tokens]
        # every field must be non-empty, as the regex's (.+) wants: an empty one becomes _NOT_BASE64
        a2b = _a2b
        bad = _NOT_BASE64
        ivs: list[bytes] = [a2b(i[3:] if i[:3] == "iv:" and len(i) > 3 else bad, strict_mode=True)
                            for _, i, _ in fields]
        open_ = self._aes.decrypt
        plains: list[bytes] = [
            open_(iv, a2b(d or bad, strict_mode=True)
                  + a2b(t[4:] if t[:4] == "tag:" and len(t) > 4 else bad, strict_mode=True),
                  aad.encode("utf-8", "surrogateescape"))
            for (d, _, t), iv, aad in zip(fields, ivs, aads, strict=True)]
        return ivs, plains

    def _decrypt_each(self, tokens: list[str], aads: list[str]) -> tuple[list[object], list[bytes]]:
        values = [self.decrypt(t, a) for t, a in zip(tokens, aads, strict=True)]
        return values, [b"" if v.__class__ is Comment else to_bytes(v) for v in values]

    def decrypt(self, token: str, aad: str) -> object:
        """Decrypt one ENC token and remember its IV for a later identical encrypt."""
        if token == "":
            return ""
        fields = _split_token(token)
        if fields is None:
            raise CipherError(f"Input string {token} does not match sops' data format")
        try:
            data = _b64decode(fields[0])
            iv = _b64decode(fields[1])
            tag = _b64decode(fields[2])
        except (binascii.Error, ValueError) as e:
            raise CipherError(f"Error base64-decoding value: {e}") from None
        typ = fields[3]
        if not iv:
            raise CipherError("Could not decrypt with AES_GCM: empty IV")
        try:
            plain = self._aes.decrypt(iv, data + tag, aad.encode("utf-8", "surrogateescape"))
        except ValueError as e:
            raise CipherError(f"Could not decrypt with AES_GCM: {e}") from None
        except Exception as e:
            if is_invalid_tag(e):
                raise CipherError(
                    "Could not decrypt with AES_GCM: cipher: message authentication failed"
                ) from None
            raise
        try:
            value = _from_bytes(plain, typ)
        except ValueError as e:
            msg = str(e)
            if msg.startswith("strconv."):
                # sops quotes the decrypted value here (a changed type tag prints the secret): name
                # the key and the type instead (a deliberate deviation, docs/security.md)
                key = aad[:-1] if aad.endswith(":") else aad
                msg = (f'the value of "{key}" is not a valid {typ} ({msg.rsplit(": ", 1)[-1]}; '
                       "the decrypted value is not shown)")
            raise CipherError(msg) from None
        if self._stash is not None:
            self._stash[("str" if typ == "bytes" else typ, plain, aad)] = iv
        return value
