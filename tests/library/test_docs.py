"""docs/library.md's reference table matches the code: every public name is documented, and each
documented signature is the function's real one."""

from __future__ import annotations

import inspect
import re

import sops_py
from tests.helpers import ROOT

DOC = (ROOT / "docs" / "library.md").read_text()


def _documented() -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+)\((.*?)\)` \|", DOC, flags=re.M)
    return dict(rows)


def test_every_public_name_is_documented() -> None:
    missing = [n for n in sops_py.__all__ if n not in ("__version__", "Format") and f"`{n}" not in DOC]
    assert missing == []


def test_reference_signatures_match_the_code() -> None:
    documented = _documented()
    assert len(documented) >= 14
    for name, params in documented.items():
        parts: list[str] = []
        star = False
        for p in inspect.signature(getattr(sops_py, name)).parameters.values():
            if p.kind is p.KEYWORD_ONLY and not star:
                parts.append("*")
                star = True
            text = ("**" if p.kind is p.VAR_KEYWORD else "") + p.name
            if p.default is not p.empty:
                text += "=" + repr(p.default).replace("'", '"')
            parts.append(text)
        assert params == ", ".join(parts), name
