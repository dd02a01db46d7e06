"""How ``sops-py check`` prints a report: ``text`` (``PATH:LINE: message`` lines and a summary, the
form editors and pre-commit show), ``json`` (one machine-readable object) or ``github`` (workflow
commands that annotate the lines of a pull request, and the summary).

Findings never hold a value of a file, so nothing here can print one.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .check import CheckReport, Finding

FORMATS = ("text", "json", "github")


def summary(report: CheckReport) -> str:
    files = len({f.path for f in report.findings if f.severity == "error"})
    parts = [f"{report.checked} file{'' if report.checked == 1 else 's'} checked"]
    if report.fixed:
        parts.append(f"{len(report.fixed)} encrypted in place")
    parts.append(f"{report.errors} error{'' if report.errors == 1 else 's'}"
                 + (f" in {files} file{'' if files == 1 else 's'}" if report.errors else ""))
    if report.warnings:
        parts.append(f"{report.warnings} warning{'' if report.warnings == 1 else 's'}")
    return "sops-py check: " + ", ".join(parts)


def _text_line(f: Finding) -> str:
    kind = "" if f.severity == "error" else f"{f.severity}: "
    return f"{f.path}:{f.line}: {kind}{f.message}"


def _gh_escape(text: str, prop: bool = False) -> str:
    """GitHub's workflow-command escaping (``%``, CR, LF; also ``:`` and ``,`` in properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github_line(f: Finding) -> str:
    return (f"::{f.severity} file={_gh_escape(f.path, True)},line={f.line},title=sops-py check::"
            f"{_gh_escape(f.message)}")


def render(report: CheckReport, fmt: str = "text") -> str:
    """The whole report as the chosen format prints it (ends with a newline)."""
    ordered = sorted(report.findings, key=lambda f: (f.path, f.line))
    if fmt == "json":
        return json.dumps({
            "checked": report.checked, "skipped": report.skipped, "errors": report.errors,
            "warnings": report.warnings, "fixed": report.fixed, "ok": report.ok,
            "findings": [f.as_dict() for f in ordered],
        }, indent=2) + "\n"
    fixed = [f"{p}: encrypted in place with the keys of its .sops.yaml rule" for p in report.fixed]
    line = _github_line if fmt == "github" else _text_line
    return "\n".join([*fixed, *(line(f) for f in ordered), summary(report)]) + "\n"
