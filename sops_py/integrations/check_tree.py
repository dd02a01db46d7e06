"""Which leaves of a loaded sops file are plaintext where the file's own rules want ciphertext.

The decision is not re-implemented here: the encryptor's walk (``walk.encrypt_tree``) runs over the
loaded tree with a *marking* cipher. Every leaf the walk hands to the cipher is one sops would
encrypt under the file's recorded rule (``encrypted_regex``, ``unencrypted_suffix``, comment
regexes ...), with every quirk of the real walk (empty strings and nulls left alone, comments under
comment rules, list items); the marking cipher puts a unique marker in its place and remembers the
value that was there. A second pass over the marked tree gives each marker's path, and the value
that was there must be an ``ENC[...]`` token of the shape sops writes.

The walk changes the tree in place: callers pass a tree they no longer need.
"""

from __future__ import annotations

import binascii
import re
from typing import Any, NamedTuple

from ..cipher import Cipher
from ..rules import Rule
from ..tree import Branch, Comment
from ..walk import encrypt_tree
from .check_lines import Key, Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..metadata import Metadata

_TOKEN = re.compile(r"ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),"
                    r"type:(str|int|float|bool|time|comment|bytes)\]")
IV_SIZE = 32  # sops' nonce size
TAG_SIZE = 16  # the GCM tag
MAX_SHOWN = 200  # characters of a key path in a message


_a2b: Any = binascii.a2b_base64  # strict_mode (Python >= 3.11) is missing from older typeshed stubs


def _b64(text: str) -> bytes | None:
    try:
        return bytes(_a2b(text, strict_mode=True))
    except (binascii.Error, ValueError):
        return None


def token_problem(value: object) -> str | None:
    """None when ``value`` is an ``ENC[...]`` token of the shape sops writes (padded standard base64,
    a 32-byte IV, a 16-byte tag, a known type); else why not, without quoting the value."""
    if not isinstance(value, str):
        return "a plaintext value"
    if not value.startswith("ENC["):
        return "a plaintext value"
    m = _TOKEN.fullmatch(value)
    if m is None:
        return "a malformed ENC[...] value (not the shape sops writes)"
    data, iv, tag = (_b64(m.group(i)) for i in (1, 2, 3))
    if not data or iv is None or tag is None:
        return "a malformed ENC[...] value (bad base64)"
    if len(iv) != IV_SIZE or len(tag) != TAG_SIZE:
        return f"a malformed ENC[...] value (a {len(iv)}-byte IV and {len(tag)}-byte tag; sops writes 32 and 16)"
    return None


class _Marker(Cipher):
    """A cipher that encrypts nothing: each value the walk would encrypt becomes a unique marker."""

    PREFIX = "\x00sops-py-check:"

    def __init__(self) -> None:
        super().__init__(bytes(32), keep_ivs=False)
        self.originals: dict[str, object] = {}

    def _mark(self, original: object) -> str:
        marker = f"{self.PREFIX}{len(self.originals)}\x00"
        self.originals[marker] = original
        return marker

    def encrypt(self, value: object, aad: str, plain: bytes | None = None) -> str:
        # as Cipher.encrypt: an empty string or comment stays empty (sops writes nothing to encrypt)
        if (value.__class__ is str and not value) or (isinstance(value, Comment) and not value.value):
            return ""
        return self._mark(value)

    def encrypt_strs(self, plains: list[bytes], aads: list[str]) -> list[str]:
        return [self._mark(p.decode("utf-8", "surrogateescape")) for p in plains]


class Leaf(NamedTuple):
    """A leaf the rule wants encrypted that is not a well-formed token."""

    doc: int
    path: Path  # the value's path, or the path of the mapping or list holding a comment
    comment: str | None  # a comment's text (to find its line; never printed), None for a value
    problem: str


def plaintext_leaves(branches: list[Branch], md: Metadata) -> list[Leaf]:
    """Every leaf of ``branches`` (changed in place) that ``md``'s rule encrypts but that is not a
    well-formed ``ENC[...]`` token, in document order."""
    marker = _Marker()
    encrypt_tree(branches, marker, Rule.of(md), md.mac_only_encrypted)
    found: list[Leaf] = []
    originals = marker.originals
    for doc, branch in enumerate(branches):
        _scan(branch, doc, (), originals, found)
    return found


def _judge(original: object, doc: int, path: Path, holder: Path, found: list[Leaf]) -> None:
    if isinstance(original, Comment):
        problem = token_problem(original.value)
        if problem is not None:
            found.append(Leaf(doc, holder, original.value, problem.replace("value", "comment", 1)))
        return
    problem = token_problem(original)
    if problem is not None:
        found.append(Leaf(doc, path, None, problem))


def _scan(node: Any, doc: int, path: Path, originals: dict[str, object], found: list[Leaf]) -> None:
    """Depth-first over the marked tree with an explicit stack (no recursion limit to hit)."""
    stack: list[tuple[Any, Path]] = [(node, path)]
    while stack:
        node, path = stack.pop()
        children: list[tuple[Any, Path]] = []
        if isinstance(node, Branch):
            seen: dict[str, int] = {}
            for k, v in node:
                if isinstance(k, Comment):
                    if k.value in originals:
                        _judge(originals[k.value], doc, path, path, found)
                    continue
                name = str(k)
                nth = seen.get(name, 0)
                seen[name] = nth + 1
                child = (*path, Key(name, nth))
                if v.__class__ is str and v in originals:
                    _judge(originals[v], doc, child, path, found)
                elif isinstance(v, (Branch, list)):
                    children.append((v, child))
        elif isinstance(node, list):
            index = 0  # counted as the file counts items: a plain YAML comment is not an item
            for v in node:
                if isinstance(v, Comment):
                    continue
                if v.__class__ is str and v in originals:
                    original = originals[v]
                    _judge(original, doc, (*path, index), path, found)
                    if isinstance(original, Comment):
                        continue  # a list comment was a plain comment in the file, not an item
                elif isinstance(v, (Branch, list)):
                    children.append((v, (*path, index)))
                index += 1
        stack.extend(reversed(children))
    return None


def display_path(path: Path) -> str:
    """A key path for messages: ``data.password``, ``items[0].value`` (names only, never values)."""
    out = ""
    for step in path:
        if isinstance(step, Key):
            out += ("." if out else "") + step.name
        else:
            out += f"[{step}]"
    if len(out) > MAX_SHOWN:  # a hostile nesting must not make a line of kilobytes
        out = f"{out[:MAX_SHOWN // 2]}...{out[-MAX_SHOWN // 2:]}"
    return out or "(top level)"
