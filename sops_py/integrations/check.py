"""``sops-py check``: judge, without any key, whether every file that ``.sops.yaml`` says holds
secrets is a well-formed sops file with no plaintext where its rules want ciphertext.

For each file:

1. Its ``.sops.yaml`` is the nearest one upwards from the file's directory (or ``config``), and its
   creation rule is the one ``sops encrypt`` would pick: the first whose ``path_regex`` finds a match
   in the path relative to the config's directory (``config.match_creation_rule``). A file no rule
   matches, or whose rule names no keys, is not a secrets file and is skipped; so are ``.sops.yaml``
   and pre-commit's own files.
2. The file must load in its format (by extension, or ``input_type``) with sops metadata that has a
   version, a MAC token and at least one key.
3. Every leaf that the file's *recorded* rule encrypts must be an ``ENC[...]`` token of the right
   shape (``check_tree``: the encryptor's own walk decides).
4. Its recipients are compared with the rule's (a warning, or an error with ``strict_keys``).
5. ``verify``: where keys are available, it is decrypted in memory and its MAC verified.

``fix`` encrypts, in place and with the rule's keys, a matched file that has no sops metadata at all;
a file that is already encrypted is never rewritten. Nothing ever prints a value: findings name keys
and lines, and error texts from the stores have any text of the file taken out.
"""

from __future__ import annotations

import os
from copy import deepcopy
from dataclasses import dataclass, field

from ..config import Config, find_config, load_config, match_creation_rule, rule_to_creation_rule
from ..errors import ConfigError, MetadataNotFound, SopsError
from ..metadata import KeyEntry
from ..stores import FORMATS, format_for_path, get_store
from .check_lines import Key, comment_line, line_of_text, locate
from .check_tree import Leaf, display_path, plaintext_leaves, token_problem
from .sopsfile import sniff_format

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..keychain import Keys
    from ..metadata import Metadata
    from ..tree import Branch

# never secrets: sops' and pre-commit's own configuration
IGNORED_NAMES = frozenset({".sops.yaml", ".sops.yml", ".pre-commit-config.yaml", ".pre-commit-hooks.yaml"})
NO_RULE = "error loading config: no matching creation rules found"
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: where (``path`` as given, 1-based ``line``), how bad, what; ``key`` names the key
    path when there is one. Never holds a value of the file."""

    path: str
    line: int
    severity: str
    message: str
    key: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "severity": self.severity, "message": self.message,
                "key": self.key}


@dataclass
class CheckReport:
    """What a check found: the findings in file order, how many files were checked (matched by a rule),
    how many were skipped (no rule), and the files ``fix`` encrypted."""

    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    skipped: int = 0
    fixed: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        return self.errors == 0


@dataclass
class CheckOptions:
    config: str | None = None  # one .sops.yaml for every file (default: the nearest to each file)
    input_type: str | None = None  # the format of every file (default: by extension)
    verify: bool = False
    fix: bool = False
    strict_keys: bool = False
    keys: Keys | None = None  # for verify and fix (default: from the environment)


class _Configs:
    """Configs by directory, each loaded once; a broken one is reported once and skips its files."""

    def __init__(self, explicit: str | None, report: CheckReport, cwd: str) -> None:
        self.explicit = explicit
        self.report = report
        self.cwd = cwd
        self.by_dir: dict[str, str | None] = {}
        self.loaded: dict[str, Config | None] = {}

    def path_for(self, directory: str) -> str | None:
        if self.explicit is not None:
            return self.explicit
        if directory not in self.by_dir:
            self.by_dir[directory] = find_config(directory)
        return self.by_dir[directory]

    def load(self, path: str) -> Config | None:
        if path not in self.loaded:
            try:
                self.loaded[path] = load_config(path)
            except ConfigError as e:
                self.loaded[path] = None
                self.report.findings.append(Finding(_shown(path, self.cwd), _line_in_message(str(e)), ERROR,
                                                    f"cannot use this .sops.yaml: {e}"))
        return self.loaded[path]



def _versions_as_recorded(rule_groups: list[list[KeyEntry]], file_groups: list[list[KeyEntry]]
                          ) -> list[list[KeyEntry]]:
    """The rule's keys with each versionless Azure Key Vault key given the version the file records.

    A versionless URL in .sops.yaml means "the key's current version", which sops looks up in the
    vault; a keyless check never calls a key service, so the file's key of that vault and name matches
    whatever version it recorded (updatekeys, which does look it up, judges a rotated key)."""
    recorded = {(k.fields.get("vault_url"), k.fields.get("name")): k.fields.get("version")
                for g in file_groups for k in g if k.type == "azure_kv"}
    out = []
    for group in rule_groups:
        keys = []
        for k in group:
            where = (k.fields.get("vault_url"), k.fields.get("name"))
            if k.type == "azure_kv" and not k.fields.get("version") and recorded.get(where):
                k = KeyEntry(k.type, {**k.fields, "version": recorded[where]})
            keys.append(k)
        out.append(keys)
    return out

def _shown(path: str, cwd: str) -> str:
    """A path as messages show it: relative to the working directory when under it."""
    rel = os.path.relpath(path, cwd)
    return path if rel.startswith("..") else rel


def _line_in_message(message: str) -> int:
    import re

    m = re.search(r"\bline (\d+)", message)
    return int(m.group(1)) if m else 1


def redact(message: str, data: bytes) -> tuple[str, int | None]:
    """``message`` with every non-trivial line of the file ``data`` taken out (store errors quote the
    offending line, which may hold a secret), and the number of the first line it quoted."""
    quoted: int | None = None
    # the stores keep bytes that are not UTF-8 as surrogates (surrogateescape); match the file's lines
    # in that form, and with replacement characters for messages made from a lossy decoding
    for errors in ("surrogateescape", "replace"):
        lines = data.decode("utf-8", errors).split("\n")
        for number, line in sorted(((i, ln.strip()) for i, ln in enumerate(lines, 1)), key=lambda x: -len(x[1])):
            if len(line) >= 3 and line in message:
                message = message.replace(line, "<line of the file>")
                quoted = number if quoted is None else min(quoted, number)
    return message, quoted


class Checker:
    """Checks files one by one into one report; configs, rules and keys are shared across files."""

    def __init__(self, options: CheckOptions | None = None, cwd: str | None = None) -> None:
        self.options = options or CheckOptions()
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.report = CheckReport()
        explicit = os.path.abspath(self.options.config) if self.options.config else None
        self.configs = _Configs(explicit, self.report, self.cwd)
        self._rules: dict[int, Any] = {}
        self._keys: Keys | None = self.options.keys
        if self.options.input_type is not None and self.options.input_type not in FORMATS:
            raise SopsError(f"unknown input type {self.options.input_type!r}: use one of {', '.join(FORMATS)}")

    def keys(self) -> Keys:
        if self._keys is None:
            from ..keychain import Keys

            self._keys = Keys()
        return self._keys

    # ---------------------------------------------------------------- one file

    def check(self, shown: str) -> None:
        """Check one file (``shown``: its path as the user gave it, relative to ``cwd`` or absolute)."""
        path = os.path.join(self.cwd, shown)
        if os.path.basename(path) in IGNORED_NAMES:
            return
        matched = self._rule(path)
        if matched is None:
            self.report.skipped += 1
            return
        config_path, rule = matched
        self.report.checked += 1
        fmt = self.options.input_type or format_for_path(path)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            self._add(shown, 1, ERROR, f"cannot read the file: {e.strerror or e}")
            return
        if fmt == "binary" and not self.options.input_type:
            fmt = sniff_format(data)
        fixed = self._judge(shown, path, fmt, data, rule, config_path)
        if fixed:
            self.report.fixed.append(shown)

    def _rule(self, path: str) -> tuple[str, Any] | None:
        """(config path, creation rule) for a file that must be encrypted, or None."""
        config_path = self.configs.path_for(os.path.dirname(path))
        if config_path is None:
            return None
        conf = self.configs.load(config_path)
        if conf is None:
            return None
        try:
            raw = match_creation_rule(conf, path)
        except ConfigError as e:
            if str(e) == NO_RULE:
                return None
            self._add(_shown(config_path, self.cwd), 1, ERROR, f"cannot use this .sops.yaml: {e}")
            return None
        if raw is None:
            return None
        rule = self._rules.get(id(raw))
        if rule is None:
            try:
                rule = rule_to_creation_rule(raw)
            except SopsError as e:
                self._add(_shown(config_path, self.cwd), 1, ERROR, f"cannot use this .sops.yaml: {e}")
                return None
            self._rules[id(raw)] = rule
        if not any(rule.key_groups):
            return None
        return config_path, rule

    def _add(self, path: str, line: int, severity: str, message: str, key: str = "") -> None:
        message = " ".join(message.split())  # one line each, whatever an error text held
        self.report.findings.append(Finding(path, line, severity, message, key))

    def _judge(self, shown: str, path: str, fmt: str, data: bytes, rule: Any, config_path: str) -> bool:
        """Add the file's findings; True when ``fix`` encrypted it."""
        from .check_meta import load

        try:
            branches, md, audit = load(fmt, data)
        except RecursionError:  # hostile nesting, in a store without a depth limit: one line, no traceback
            self._add(shown, 1, ERROR, f"cannot be read as {fmt}: nested too deeply")
            return False
        except MetadataNotFound:
            return self._plaintext(shown, path, fmt, data, rule, config_path)
        except SopsError as e:
            if fmt == "binary":  # any bytes are a binary file: these are just not a sops one
                return self._plaintext(shown, path, fmt, data, rule, config_path)
            self._unreadable(shown, fmt, e, data)
            return False
        text = data.decode("utf-8", "surrogateescape")
        self._metadata(shown, fmt, text, md)
        for found in audit.findings(text, md):
            self._add(shown, found.line, ERROR, found.message, found.key)
        wanted = _rule_metadata(rule)
        differs = (wanted.crypt_rule(), wanted.mac_only_encrypted) != (md.crypt_rule(), md.mac_only_encrypted)
        copy = _copy(branches) if differs else None  # the walk changes the tree it is given
        try:
            leaves = plaintext_leaves(branches, md)
        except SopsError as e:
            self._add(shown, 1, ERROR, f"cannot walk the document: {redact(str(e), data)[0]}")
            leaves = []
        except RecursionError:  # the encryptor's walk recurses: sops could not encrypt such a file either
            self._add(shown, 1, ERROR, "cannot walk the document: nested too deeply")
            leaves = []
        self._leaves(shown, fmt, text, leaves)
        if copy is not None:
            self._rules_differ(shown, fmt, text, md, wanted, copy, leaves)
        self._recipients(shown, fmt, text, md, rule)
        if self.options.verify:
            self._verify(shown, fmt, text, data)
        return False

    def _leaves(self, shown: str, fmt: str, text: str, leaves: list[Leaf], by_file: bool = True) -> None:
        whose, also = ("the file's rules encrypt", "") if by_file else (
            ".sops.yaml's rule encrypts", " (the rules the file records do not)")
        for leaf in leaves:
            line = locate(fmt, text, leaf.doc, leaf.path)
            key = display_path(leaf.path)
            where = f" in document {leaf.doc + 1}" if leaf.doc else ""
            if leaf.comment is not None:
                line = comment_line(text, line, leaf.comment)
                self._add(shown, line, ERROR, f"{leaf.problem} under {key}{where}, where {whose} comments{also}", key)
            else:
                self._add(shown, line, ERROR, f"{leaf.problem} at {key}{where}, which {whose}{also}", key)

    def _rules_differ(self, shown: str, fmt: str, text: str, md: Metadata, wanted: Metadata,
                      branches: list[Branch], found: list[Leaf]) -> None:
        """The file records other encryption rules than its .sops.yaml rule: each value that rule
        encrypts but the file holds in plaintext is an error (a file encrypted by hand with a weaker
        ``--encrypted-regex`` must not pass); the difference itself is a warning (an error with
        ``strict_keys``), like recipients."""
        seen = {(leaf.doc, leaf.path, leaf.comment) for leaf in found}
        try:
            extra = [leaf for leaf in plaintext_leaves(branches, wanted) if (leaf.doc, leaf.path, leaf.comment)
                     not in seen]
        except (SopsError, RecursionError):
            extra = []  # already reported by the walk under the file's own rules
        self._leaves(shown, fmt, text, extra, by_file=False)
        have, want = md.crypt_rule(), wanted.crypt_rule()
        parts = []
        if have != want:
            parts.append(f"the file records {have[0]}, the rule {want[0]}" if have[0] != want[0]
                         else f"the file records another {have[0]}")
        if md.mac_only_encrypted != wanted.mac_only_encrypted:
            parts.append("mac_only_encrypted differs")
        severity = ERROR if self.options.strict_keys else WARNING
        self._add(shown, self._sops_line(fmt, text), severity, f"encryption rules differ from .sops.yaml "
                  f"({'; '.join(parts)}): re-encrypt it (`sops-py decrypt -i {shown}`, then `sops-py encrypt -i "
                  f"{shown}`)")

    def _unreadable(self, shown: str, fmt: str, e: SopsError, data: bytes) -> None:
        """A file that does not load in its format: the error, its line, and none of the file's text."""
        message, quoted = redact(str(e), data)
        line = quoted if quoted is not None else _line_in_message(message)
        self._add(shown, line, ERROR, f"cannot be read as {fmt}: {message}")

    def _sops_line(self, fmt: str, text: str) -> int:
        if fmt == "dotenv":
            return line_of_text("\n" + text, "\nsops_") or 1
        if fmt == "ini":
            return line_of_text(text, "[sops]") or 1
        return locate(fmt, text, 0, (Key("sops"),))

    def _metadata(self, shown: str, fmt: str, text: str, md: Metadata) -> None:
        problems = []
        if not md.version or not md.mac:
            missing = " and ".join(n for n, v in (("version", md.version), ("mac", md.mac)) if not v)
            problems.append(f"incomplete sops metadata (no {missing}): not a file sops wrote")
        elif token_problem(md.mac) is not None:
            problems.append("the sops metadata's mac is not an ENC[...] value")
        if not any(md.key_groups):
            problems.append("the sops metadata lists no key: nobody can decrypt this file")
        elif any(not k.enc for g in md.key_groups for k in g):
            problems.append("a key in the sops metadata has no encrypted data key")
        if problems:  # the line is looked up only for a finding: a clean file costs no second parse
            line = self._sops_line(fmt, text)
            for problem in problems:
                self._add(shown, line, ERROR, problem)

    def _recipients(self, shown: str, fmt: str, text: str, md: Metadata, rule: Any) -> None:
        from ..ops.rekey import diff_key_groups

        diffs = diff_key_groups(md.key_groups, _versions_as_recorded(rule.key_groups, md.key_groups))
        added = [k.identity() for d in diffs for k in d.added]
        removed = [k.identity() for d in diffs for k in d.removed]
        if not added and not removed:
            return
        detail = "; ".join(part for part in (
            f"missing {', '.join(added)}" if added else "", f"not in the rule {', '.join(removed)}" if removed else "")
            if part)
        severity = ERROR if self.options.strict_keys else WARNING
        self._add(shown, self._sops_line(fmt, text), severity,
                  f"recipients differ from .sops.yaml ({detail}): run `sops-py updatekeys {shown}`")

    def _verify(self, shown: str, fmt: str, text: str, data: bytes) -> None:
        from ..api import decrypt
        from ..errors import CouldNotRetrieveKey, MacMismatch

        try:
            decrypt(data, fmt, keys=self.keys())  # type: ignore[arg-type]  # fmt is one of FORMATS
        except CouldNotRetrieveKey:
            self._add(shown, self._sops_line(fmt, text), WARNING, "not verified: no available key decrypts the data key")
        except MacMismatch:
            self._add(shown, self._sops_line(fmt, text), ERROR, "MAC mismatch: the file was changed without its key "
                                                                "(tampered, or edited by hand)")
        except SopsError as e:
            self._add(shown, self._sops_line(fmt, text), ERROR, f"does not decrypt: {_kind_of(e)}")

    def _plaintext(self, shown: str, path: str, fmt: str, data: bytes, rule: Any, config_path: str) -> bool:
        """A matched file without sops metadata: an error, or encrypted in place with ``fix``."""
        store = get_store(fmt)
        try:
            store.load_plain(data)
        except RecursionError:
            self._add(shown, 1, ERROR, f"cannot be read as {fmt}: nested too deeply")
            return False
        except SopsError as e:
            self._unreadable(shown, fmt, e, data)
            return False
        enc_line = line_of_text(data.decode("utf-8", "replace"), "ENC[")
        if self.options.fix and enc_line is None:
            from .. import api

            try:
                api.encrypt_file(path, format=fmt, in_place=True, config=config_path,  # type: ignore[arg-type]
                                 keys=self.keys())
            except (SopsError, RecursionError) as e:
                reason = "nested too deeply" if isinstance(e, RecursionError) else redact(str(e), data)[0]
                self._add(shown, 1, ERROR, f"not encrypted, and encrypting it failed: {reason}")
                return False
            try:  # judge what was written, as a later run would
                with open(path, "rb") as f:
                    self._judge(shown, path, fmt, f.read(), rule, config_path)
            except OSError as e:
                self._add(shown, 1, ERROR, f"cannot read the file back: {e.strerror or e}")
            return True
        if enc_line is not None:
            self._add(shown, enc_line, ERROR, "holds ENC[...] text but no sops metadata: not a sops file "
                                              "(copied values cannot be decrypted)")
        else:
            self._add(shown, 1, ERROR, f"not encrypted: .sops.yaml says it must be (run `sops-py encrypt -i "
                                       f"{shown}`)")
        return False


def _copy(branches: list[Branch]) -> list[Branch] | None:
    """A deep copy of the documents (deepcopy recurses in pure Python: it gets the walk's room), or
    None for a tree too deep to copy (the walk reports it)."""
    from ..tree import RecursionRoom

    with RecursionRoom():
        try:
            return deepcopy(branches)
        except RecursionError:
            return None


def _rule_metadata(rule: Any) -> Metadata:
    """The encryption rules a creation rule gives a file, as the metadata sops would record."""
    from ..metadata import Metadata

    md = Metadata(**{name: value for name, value in rule.rules.items() if value})
    md.mac_only_encrypted = bool(rule.mac_only_encrypted)
    return md


def _kind_of(e: SopsError) -> str:
    """A decryption failure described without its message (which may quote a token or a path)."""
    from ..errors import ErrorDecryptingTree

    if isinstance(e, ErrorDecryptingTree):
        return "a value fails authentication (tampered or corrupted)"
    return type(e).__name__


def run_check(paths: list[str], options: CheckOptions | None = None, cwd: str | None = None) -> CheckReport:
    """Check ``paths`` (files or directories, relative to ``cwd``); with none, every file git tracks
    under ``cwd`` (every file there outside git)."""
    from .check_files import expand

    checker = Checker(options, cwd)
    files, missing = expand(paths, checker.cwd)
    for shown in missing:
        checker.report.findings.append(Finding(shown, 1, ERROR, "no such file or directory"))
    for shown in files:
        checker.check(shown)
    return checker.report
