"""Go float layouts and yaml.v3 scalar typing: the tables of the spec (§1.2, §5.1, §5.2)."""

from __future__ import annotations

import math

import pytest

from sops_py.gofmt import format_f, format_g, format_json_float
from sops_py.stores.yaml_resolve import resolve_plain
from sops_py.tree import Time
from sops_py.walk import GoUint64


@pytest.mark.parametrize("x, f, g, j", [
    (1.5, "1.5", "1.5", "1.5"), (1.0, "1", "1", "1"), (1e21, "1" + "0" * 21, "1e+21", "1e+21"),
    (1e-7, "0.0000001", "1e-07", "1e-7"), (-0.0, "-0", "-0", "-0"), (123456.0, "123456", "123456", "123456"),
    (1234567.5, "1234567.5", "1.2345675e+06", "1234567.5"), (1e20, "1" + "0" * 20, "1e+20", "1" + "0" * 20),
    (0.0001, "0.0001", "0.0001", "0.0001"), (1e-5, "0.00001", "1e-05", "0.00001"), (1e-6, "0.000001", "1e-06", "0.000001"),
])
def test_float_layouts(x: float, f: str, g: str, j: str) -> None:
    assert (format_f(x), format_g(x), format_json_float(x)) == (f, g, j)


def test_special_floats() -> None:
    assert format_f(math.inf) == "+Inf" and format_f(-math.inf) == "-Inf" and format_f(math.nan) == "NaN"
    with pytest.raises(ValueError):
        format_json_float(math.nan)


@pytest.mark.parametrize("text, expected", [
    ("1234", 1234), ("-5", -5), ("+1", 1), ("017", 15), ("0x1F", 31), ("0x_1F", 31), ("0o17", 15), ("0b101", 5),
    ("1_000", 1000), ("08", 8.0), ("1.5", 1.5), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0), ("12e03", 12000.0),
    ("1e400", "1e400"), (".inf", math.inf), ("-.inf", -math.inf), ("true", True), ("True", True), ("TRUE", True),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("y", "y"), ("n", "n"), ("~", None), ("null", None), ("Null", None),
    ("", None), ("2001-01-01", Time("2001-01-01T00:00:00Z")),
    ("2001-12-14t21:59:43.10-05:00", Time("2001-12-14T21:59:43.1-05:00")),
    ("2024-01-02T03:04:05Z", Time("2024-01-02T03:04:05Z")), ("2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5"),
    ("1:20", "1:20"), ("123456789012345678901234567890", 1.2345678901234568e29),
])
def test_yaml_v3_typing(text: str, expected: object) -> None:
    got = resolve_plain(text)
    assert type(got) is type(expected) and got == expected


def test_uint64_and_nan() -> None:
    assert type(resolve_plain("9223372036854775808")) is GoUint64
    assert math.isnan(resolve_plain(".NaN"))
