"""The YAML emitter's regular expressions, compiled together on first use.

Most values sops writes (ASCII text, ``ENC[...]`` strings, sops' own timestamps) are decided by
plain string tests; the regexes are needed only for the rare text those tests cannot settle.
Compiling them all at import would cost every start-up a few milliseconds (and ``import re`` is
kept off the encrypt/decrypt fast path), so they live here behind :func:`regexes`, shared by the
resolver, the scalar analysis and the writer.
"""

from __future__ import annotations


class Patterns:
    """The emitter's rarely needed regexes, compiled on first use: compiling them all at import
    would cost every start-up a few milliseconds."""

    def __init__(self) -> None:
        import re

        # Go strconv.ParseInt(s, 0, 64) syntax after underscores were removed.
        self.go_int = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
        self.go_uint = re.compile(r"(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
        # yaml.v3 base60float (YAML 1.1 sexagesimal), quoted on output for compatibility.
        self.base60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
        # The formats yaml.v3 tries with Go's time.Parse (1-2 digit month/day/hour/minute/second).
        self.ts_date = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
        self.ts_time = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?")
        self.ts_zone = re.compile(r"Z|[+-][0-9]{2}:[0-9]{2}")
        self.bin_digits = re.compile(r"[-+]?[01]+")
        self.oct_digits = re.compile(r"[-+]?[0-7]+")
        self.breaks = re.compile("[\r\n\x85\u2028\u2029]")
        self.break_space = re.compile("[\r\n\x85\u2028\u2029] ")
        self.space_break = re.compile(" [\r\n\x85\u2028\u2029]")
        self.colon_ind = re.compile(r":(?:[ \t]|\Z)")
        self.hash_ind = re.compile("[ \t\r\n\x85\u2028\u2029\x00]#")
        self.break_split = re.compile("([\r\n\x85\u2028\u2029])")
        # characters the emitter does not consider printable (tab is counted separately)
        self.nonprint = re.compile("[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
        # what a double-quoted scalar escapes
        self.dq_escape = re.compile('[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]|["\\\\\u2028\u2029]')


_PATTERNS: list[Patterns] = []  # the compiled patterns, once needed (a cache, like re's own)


def regexes() -> Patterns:
    if not _PATTERNS:
        _PATTERNS.append(Patterns())
    return _PATTERNS[0]
