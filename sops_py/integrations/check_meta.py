"""The ``sops`` metadata block as text a reviewer cannot see through: whatever sops does not read in
it stays in the committed file as plaintext.

sops reads a fixed set of fields from the block and ignores everything else: an entry it does not
know (``sops: {password: ...}``), a comment inside the block (YAML, INI), the ``sops`` entry of a
second YAML document (only the first document's is read; the others are dropped, whatever they
hold). A plaintext secret put there by hand passes ``sops decrypt``, ``sops filestatus`` and a check
of the document's values, so this module audits the raw block itself:

* every leaf must sit at a path sops reads (``age[0].recipient``, ``key_groups[1].pgp[0].fp``,
  ``mac`` ...), given as the store spells it (nested for YAML/JSON, flattened ``sops_...`` keys for
  dotenv, flattened keys of the ``[sops]`` section for INI);
* the free-text fields sops always writes in a fixed shape must have it: ``version`` is ``X.Y.Z``,
  each ``enc`` is the armour or encoding its key type produces;
* a comment in the block is reported where the file's own rule would encrypt such a comment.

Findings name the entry and line, never a value. The block is read from the same parse as the
document (``load``), so a clean file costs no second parse of the YAML.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..errors import SopsError
from ..metadata import CRYPT_RULES, KEY_FIELDS, Metadata
from ..tree import Branch, Comment
from .check_lines import Key, Path, comment_line, line_of_text, locate

_SCALARS = frozenset({*CRYPT_RULES, "lastmodified", "mac", "mac_only_encrypted", "shamir_threshold", "version"})
_VERSION = re.compile(r"\d{1,4}\.\d{1,4}\.\d{1,4}")
_B64_LINE = r"[A-Za-z0-9+/=]*"
_ARMOUR = {  # key type -> the armour its enc is written in
    "age": re.compile(rf"-----BEGIN AGE ENCRYPTED FILE-----\n(?:{_B64_LINE}\n)+-----END AGE ENCRYPTED FILE-----\n?"),
    "pgp": re.compile(rf"-----BEGIN PGP MESSAGE-----\n(?:[A-Za-z][A-Za-z0-9-]*: [^\n]*\n)*\n?"
                      rf"(?:{_B64_LINE}\n)+-----END PGP MESSAGE-----\n?"),
    "hc_vault": re.compile(r"vault:v\d+:[A-Za-z0-9+/=]+"),
}
_ENCODED = re.compile(r"[A-Za-z0-9+/=_-]+")  # base64 (standard or URL) of a cloud KMS ciphertext


class MetaFinding(NamedTuple):
    line: int
    message: str
    key: str


class Loaded(NamedTuple):
    """A sops file as the check reads it: the documents without metadata, the metadata sops uses,
    and what the audit needs of the raw blocks."""

    branches: list[Branch]
    md: Metadata
    audit: _Audit


def load(fmt: str, data: bytes) -> Loaded:
    """Load ``data`` as an encrypted file of format ``fmt`` exactly as the store does (same result,
    same errors), keeping the raw metadata block(s) for ``audit``."""
    from ..stores import get_store, split_nested_metadata

    if fmt in ("yaml", "json", "binary"):
        from ..errors import CouldNotReadInputFile

        store = get_store("json" if fmt == "binary" else fmt)
        try:
            branches = store.load_plain(data)
        except CouldNotReadInputFile as e:
            raise SopsError(e.message) from None
        blocks = [(doc, v) for doc, b in enumerate(branches) for k, v in b if k.__class__ is str and k == "sops"]
        branches, md = split_nested_metadata(branches)
        return Loaded(branches, md, _Audit(fmt, blocks, []))
    branches, md = get_store(fmt).load_encrypted(data)
    return Loaded(branches, md, _Audit(fmt, [], _flat_items(fmt, data)))


def _flat_items(fmt: str, data: bytes) -> list[tuple[Any, Any]]:
    """The flattened metadata entries of a dotenv or INI file (prefix removed, newlines unescaped),
    comments of the INI ``[sops]`` section included."""
    from ..stores import get_store, take_sops_section
    from ..stores.flatten import unescape_newlines

    plain = get_store(fmt).load_plain(data)  # the store already read it once: it cannot fail now
    if fmt == "dotenv":
        return [(k[5:], v) for k, v in plain[0] if k.__class__ is str and k.startswith("sops_")]
    found = take_sops_section(plain)
    return unescape_newlines(list(found or []))


def _path_ok(path: tuple[str | int, ...], whole: bool) -> bool:
    """Whether ``path`` (inside the block) is a field sops reads (``whole``), or leads to one (an empty
    list or mapping there, as older sops versions wrote ``kms: []`` or ``"kms": null``)."""
    head = path[0]
    if head in _SCALARS:
        return len(path) == 1
    rest: tuple[str | int, ...] = path
    if head == "key_groups":
        if len(path) == 1 or (len(path) == 2 and isinstance(path[1], int)):
            return not whole
        if not isinstance(path[1], int):
            return False
        rest = path[2:]
    kind = rest[0]
    if not isinstance(kind, str) or kind not in KEY_FIELDS:
        return False
    if len(rest) == 1 or (len(rest) == 2 and isinstance(rest[1], int)):
        return not whole
    if not isinstance(rest[1], int) or rest[2] not in KEY_FIELDS[kind]:
        return False
    if rest[2] == "context":
        return len(rest) == 3 and not whole or len(rest) == 4 and isinstance(rest[3], str)
    return len(rest) == 3


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, (str, list)) and not value)


def _value_problem(path: tuple[str | int, ...], value: object) -> str | None:
    """Why a known field's value is not in the shape sops writes (without quoting it)."""
    name = path[-1]
    if path == ("version",):  # the block's own; an Azure key's ``version`` is the vault's key version
        return None if isinstance(value, str) and _VERSION.fullmatch(value) else "not a sops version number"
    if name == "enc" and value:  # an empty one is reported with the keys (check._metadata)
        kind = str(path[-3])
        text = value if isinstance(value, str) else ""
        pattern = _ARMOUR.get(kind, _ENCODED)
        return None if pattern.fullmatch(text) else f"not an encrypted {kind} data key"
    return None


def _display(path: tuple[str | int, ...]) -> str:
    out = "sops"
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


def _flat_name(path: tuple[str | int, ...]) -> str:
    out = str(path[0])
    for step in path[1:]:
        out += f"__list_{step}" if isinstance(step, int) else f"__map_{step}"
    return out


class _Audit:
    """The raw block(s) of one file, audited on demand (``findings``)."""

    def __init__(self, fmt: str, blocks: list[tuple[int, Any]], flat: list[tuple[Any, Any]]) -> None:
        self.fmt = fmt
        self.blocks = blocks  # (document, raw sops value) for YAML, JSON and binary
        self.flat = flat  # flattened (key, value) entries for dotenv and INI

    def findings(self, text: str, md: Metadata) -> list[MetaFinding]:
        from ..rules import Rule
        from .check_tree import token_problem

        rule = Rule.of(md)
        out: list[MetaFinding] = []

        def comment(text_of: str, near: int, where: str) -> None:
            if token_problem(text_of) is not None and rule.encrypted(False, [[text_of]], True):
                out.append(MetaFinding(comment_line(text, near, text_of), "a plaintext comment in the sops "
                                       f"metadata{where}, which sops drops and the file's rules would encrypt", ""))

        for doc, block in self.blocks:
            where = f" of document {doc + 1}" if doc else ""
            if not isinstance(block, Branch):
                out.append(MetaFinding(self._line(text, doc, ()), f"a sops entry{where} that is not a mapping "
                                       "(sops ignores it: it stays in the file as plaintext)", "sops"))
                continue
            for path, value in _leaves(block):
                if isinstance(value, Comment):
                    comment(value.value, self._line(text, doc, path), where)
                    continue
                self._judge(out, text, doc, path, value, where)
        for k, v in self.flat:
            if isinstance(k, Comment):
                comment(k.value, self._flat_line(text, ""), "")
                continue
            try:
                from ..stores.flatten import tokenize

                path = tuple(tokenize(str(k)))
            except SopsError:
                path = (str(k),)
            self._judge(out, text, 0, path, v, "", flat=str(k))
        return out

    def _judge(self, out: list[MetaFinding], text: str, doc: int, path: tuple[str | int, ...], value: object,
               where: str, flat: str | None = None) -> None:
        if not path:
            return
        shown = _display(path)
        if _path_ok(path, True) or (_empty(value) and _path_ok(path, False)):
            problem = _value_problem(path, value)
            if problem is None:
                return
            message = f"{shown}{where} is {problem}: sops never writes that, it may be plaintext"
        else:
            message = f"{shown}{where} is not a field sops reads: sops ignores it, it stays in the file as plaintext"
        line = self._flat_line(text, flat) if flat is not None else self._line(text, doc, path)
        out.append(MetaFinding(line, message, shown))

    def _line(self, text: str, doc: int, path: tuple[str | int, ...]) -> int:
        steps: Path = (Key("sops"), *(Key(s) if isinstance(s, str) else s for s in path))
        return locate(self.fmt, text, doc, steps)

    def _flat_line(self, text: str, flat: str | None) -> int:
        if self.fmt == "dotenv":
            return line_of_text("\n" + text, f"\nsops_{flat}=") or 1
        found = locate("ini", text, 0, (Key("sops"), Key(flat))) if flat else None
        return found or line_of_text(text, "[sops]") or 1


def _leaves(block: Branch) -> list[tuple[tuple[str | int, ...], object]]:
    """(path, value) of every leaf of a raw block, empty containers and comments included (a comment's
    path is the path of what holds it), with an explicit stack (no recursion limit to hit)."""
    out: list[tuple[tuple[str | int, ...], object]] = []
    stack: list[tuple[tuple[str | int, ...], object]] = [((), block)]
    while stack:
        path, node = stack.pop()
        children: list[tuple[tuple[str | int, ...], object]] = []
        if isinstance(node, Branch):
            for k, v in node:
                if isinstance(k, Comment):
                    out.append((path, k))
                else:
                    children.append(((*path, str(k)), v))
            if not node and path:
                out.append((path, node))
        elif isinstance(node, list):
            index = 0
            for v in node:
                if isinstance(v, Comment):
                    out.append((path, v))
                    continue
                children.append(((*path, index), v))
                index += 1
            if not node and path:
                out.append((path, node))
        else:
            out.append((path, node))
        stack.extend(reversed(children))
    return out
