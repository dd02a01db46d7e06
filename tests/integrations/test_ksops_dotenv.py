"""The godotenv-compatible parser behind ``secretFrom[].envs``: known answers from godotenv 1.5.1's
rules, and a property: any variables written in its double-quoted form read back unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sops_py.integrations.ksops_dotenv import DotenvError, key_of, parse


@pytest.mark.parametrize(("text", "expected"), [
    ("A=1\nB=2\n", {"A": "1", "B": "2"}),
    ("export A=1", {"A": "1"}),
    ("A: yaml style\n", {"A": "yaml style"}),
    ("# comment\n\n  A=x # trailing\n", {"A": "x"}),
    ("A=x#not-a-comment\n", {"A": "x#not-a-comment"}),
    ("A='single $B \\n'\n", {"A": "single $B \\n"}),
    ('A="line\\nbreak \\"q\\" x"\n', {"A": 'line\nbreak "q" x'}),
    ("A=1\nB=${A}-$A\n", {"A": "1", "B": "1-1"}),
    ("A=\\$LITERAL\n", {"A": "$LITERAL"}),
    ("A=$FROM_ENV\n", {"A": "env-value"}),
    ("A=$UNSET\n", {"A": ""}),
    ("A=\r\nB=2\r\n", {"A": "", "B": "2"}),
    ("A=1\nA=2\n", {"A": "2"}),
])
def test_known_answers(text: str, expected: dict[str, str]) -> None:
    assert parse(text, {"FROM_ENV": "env-value"}) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("A-B=1\n", 'unexpected character "-" in variable name near "A-B=1\\n"'),
    ('A="open\n', 'unterminated quoted value "open'),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(DotenvError) as e:
        parse(text, {})
    assert str(e.value) == message


def test_key_of_drops_export() -> None:
    assert key_of("export TOKEN") == "TOKEN" and key_of("PLAIN") == "PLAIN"


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
# values without "$" and "\" (godotenv expands and unescapes those), written double-quoted
VALUES = st.text(st.characters(blacklist_characters='$\\"', blacklist_categories=("Cs",)), max_size=30)


@given(st.dictionaries(NAMES, VALUES, max_size=8))
def test_double_quoted_values_round_trip(env: dict[str, str]) -> None:
    def quoted(v: str) -> str:
        return '"' + v.replace("\n", "\\n").replace("\r", "\\r") + '"'

    text = "".join(f"{k}={quoted(v)}\n" for k, v in env.items())
    assert parse(text, {}) == env
