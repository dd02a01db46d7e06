"""Hypothesis strategies for block-style YAML texts, shaped like the files sops reads.

``yaml_texts()`` renders a random document tree with random formatting choices (indent steps 1-4 and 8,
indentless sequences, compact sequences of mappings, comments at every column, block scalars, quoted and
multi-line scalars, anchors, tags, directives, several documents, CRLF / CR line ends, tabs, a BOM...). It
does not know what the text means: tests compare two loaders on it. Most texts are valid YAML; a few choices
(tricky scalars, tabs, bad escapes, odd indents) produce invalid ones on purpose.

``mutated_texts()`` takes such a text and inserts, deletes or moves a few characters or lines.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# ------------------------------------------------------------------------------------- pools

WORDS = ["value", "x", "hello world", "a-b", "foo.bar", "path/to/file", "café", "日本語", "emoji 😀",
         "http://example.com/a?b=c#frag", "a#b", "a:b", "a: b", "user@example.com", "C:\\dir", "50%",
         "some, commas", "a]b", "a}b", "it's", 'say "hi"', "x - y", "x ? y", "back\\slash",
         "ENC[AES256_GCM,data:qrs9bHM=,iv:W0xrZ0hMZ3V3OE1xTXhRM2ZvUXR6OHc9,tag:wc1gk3MT3VR1g8t04twY1A==,type:str]",
         "ENC[AES256_GCM,data:Hg==,iv:wDODeJzzyQxkvRlcyFk2A1ilKumQ8TShvhhzaJqGoTg=,tag:P5D0pE5isof5opry9qMsjA==,"
         "type:int]",
         "trailing   ", "a\tb", "a #b", "a\t#b", "word #", "-a", "?a", ":a", "a:", "a::b", "--", "---x",
         "..."]
NUMBERS = ["0", "1", "-1", "+1", "42", "007", "017", "08", "0o17", "0O17", "0x1F", "0X1f", "0b101", "1_000",
           "1.5", "-0.5", ".5", "5.", "1e3", "1E-3", "1.0e+3", "-0", "-0.0", ".inf", "-.Inf", "+.INF", ".nan",
           ".NaN", "9223372036854775807", "9223372036854775808", "18446744073709551616", "-9223372036854775809",
           "1:20", "0x", "1e400", "0.1_0", "+.5", "1__0"]
BOOLS = ["true", "false", "True", "FALSE", "yes", "No", "on", "OFF", "y", "n", "Y", "tRUE"]
NULLS = ["~", "null", "Null", "NULL", "nULL"]
TIMES = ["2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43Z", "2001-12-14 21:59:43.10 -5",
         "2001-12-14 21:59:43.10", "2002-1-5", "2001-13-01", "2001-12-14T21:59:43.123456789+01:30",
         "2001-12-14T21:59:43.1234567891Z", "1999-02-29"]
# plain texts that start with an indicator or hold one: many are invalid, some anchors/tags/aliases
TRICKY = ["*a1", "&a1 v", "!!str 1", "!!int 7", "!!float 1", "!!bool true", "!custom v", "!!binary aGk=",
          "!!str", "!!null ''", "!!timestamp 2001-12-14", "%a", "@a", "`a", "|a", ">a", "'", '"', "[a", "{a",
          "a, b", "- a", "? a", ": a", "#a", "!!int x", "!!map {}", "!!seq []", "! x", "!<tag:yaml.org,2002:str> 5",
          "&a1", "*undefined", "&a2 [1, 2]", "!!str &a1 x"]
SINGLE = ["''", "'x'", "'it''s'", "'a # b'", "'  spaced  '", "'a: b'", "'\\n'", "'1'", "'true'", "'~'",
          "'ünï'", "'#'", "'-'", "'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]'", "'a\"b'", "'unterminated"]
DOUBLE = ['""', '"x"', '"a\\nb"', '"tab\\there"', '"q\\"q"', '"back\\\\slash"', '"\\x41"', '"\\u00e9"',
          '"\\U0001F600"', '"\\/"', '"\\0"', '"\\e"', '"\\N"', '"\\_"', '"\\L"', '"\\P"', '"\\ "', '"\\a\\b\\v\\f"',
          '"\\r"', '"1"', '"null"', '"a # b"', '"a: b"', '"#"', "\"'\"", '"\\q"', '"\\x4"', '"\\uZZZZ"',
          '"\\ud800"', '"é"', '"unterminated', '"\t"', '"a\tb"', '"\\\t"']
FLOW = ["[]", "{}", "[ ]", "{ }", "[a, b]", "{a: 1}", "[1, [2, 3]]", "{a: [b], c: {d: e}}", "[a, b,]", "[a #c]",
        "{a: 1, a: 2}", "[]  # c", "[a: b]", "{a, b}", "[ {x: 1} ]", "[\"q\", 'r']", "[*a1]", "[&a3 z, *a3]"]
KEYS = ["name", "a", "b", "key_1", "app.kubernetes.io/name", "foo-bar", "with space", "x.y.z", "path/seg",
        "ünï", "UPPER", "_under", "$dollar", "sops", "ENC", "data", "1", "0", "-1", "1.5", "0x1F", "true", "True",
        "yes", "on", "no", "null", "~", ".inf", ".nan", "2001-12-14", "'quoted'", "\"dq\"", "\"a\\tb\"", "''",
        "\"\"", "'a: b'", "\"a # b\"", "-dash", "?q", ":c", "a#b", "k\ty", "a:b", "&a1 anchored", "!!str 5",
        "!!int 5", "*a1", "[a]", "{a: b}", "? explicit", "a b c d e f g h"]
ANCHORS = ["a1", "a2", "a3"]
COMMENT_TEXTS = ["", " c", " comment", "c", " # nested", "#", " key: value", " - item", " ünï 😀", " trailing  ",
                 " ENC[AES256_GCM,data:x,iv:y,tag:z,type:comment]", " 'q' \"d\"", " |", " ---", "\ttab", " \x85"]
STEPS = [2, 4, 2, 4, 1, 3, 8]
# items that make a text invalid (or rejected by sops) whatever their context: only in "wild" documents
INVALID = {"a: b", "a:", "%a", "@a", "`a", "|a", ">a", "'", '"', "[a", "{a", "- a", "? a", ": a", "!!int x",
           "*undefined", "'unterminated", '"\\q"', '"\\x4"', '"\\uZZZZ"', '"\\ud800"', '"unterminated',
           "[a #c]", "{a: 1, a: 2}", "[a]", "{a: b}", "? explicit", "[a: b]", "{a, b}", '"\t"'}


def _canon(key: str) -> str:
    k = key.strip("'\"").lower()
    return "null" if k in ("~", "") else k


class _R:
    """Random choices that shrink toward the simplest option (the first one / 'no')."""

    def __init__(self, draw: Any, wild: bool = True, tidy: bool | None = None) -> None:
        self.draw = draw
        self.wild = wild and self.chance(25)  # this document may hold invalid constructs
        self.anchors: set[str] = set()  # anchors defined so far
        # a tidy document looks like a hand-written or sops-written file: one indent step, comments at the
        # column of what follows them (or 0), mostly ordinary scalars
        self.tidy = not self.wild and self.chance(60) if tidy is None else tidy
        self.step = draw(st.sampled_from([2, 4, 1, 3]))  # the document's usual indent step
        self.odd = not self.tidy and self.chance(25)  # this document mixes indent steps

    def chance(self, pct: int) -> bool:
        return self.draw(st.integers(0, 99)) >= 100 - pct

    def n(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, seq: list[Any]) -> Any:
        return self.draw(st.sampled_from(seq))

    def pool(self, seq: list[str]) -> str:
        """An item of a pool; outside wild documents, not one of the INVALID ones."""
        s: str = self.pick(seq if self.wild else [x for x in seq if x not in INVALID
                                                  and not (self.tidy and "\t" in x)])
        return self.props_text(s)

    def props_text(self, s: str) -> str:
        """Keeps anchors/aliases consistent: an alias to an anchor not yet defined becomes the anchor."""
        for a in ANCHORS:
            if "&" + a in s:
                self.anchors.add(a)
            elif "*" + a in s and a not in self.anchors and not self.wild:
                s = s.replace("*" + a, "&" + a + " x")
                self.anchors.add(a)
        return s

    def tab(self, pct: int = 3) -> bool:
        return self.wild and self.chance(pct)

    def indent_step(self) -> int:
        return self.pick(STEPS) if self.odd and self.chance(40) else self.step

    # ------------------------------------------------------------------- comments and gaps

    def comment(self) -> str:
        odd = not self.tidy and self.chance(10)  # a tab or a NEL in the comment
        return "#" + self.pick(COMMENT_TEXTS if odd else COMMENT_TEXTS[:-2])

    def inline_comment(self) -> str:
        """'' or a comment to put after a token (with its separating whitespace)."""
        if not self.chance(25):
            return ""
        sep = self.pick([" ", "  ", "   ", "\t" if self.tab(30) else " "])
        return sep + self.comment()

    def gap(self, indent: int, deep: int) -> list[str]:
        """Blank and comment lines between two entries: ``indent`` is the next entry's column, ``deep`` the
        deepest column of what came before."""
        out: list[str] = []
        if not self.chance(45):
            return out
        for _ in range(self.n(1, 4)):
            k = self.n(0, 9)
            if k <= 1:
                out.append(self.pick(["", "", "", " ", " " * (deep + 2)]) if not self.tab() else "\t")
                continue
            if self.tidy:
                col = self.pick([indent, indent, 0, deep])
            else:
                col = self.pick([0, indent, deep, max(indent - 1, 0), indent + 1, deep + 2, (indent + deep) // 2,
                                 indent + 4])
            pad = " " * col
            if self.tab():
                pad = "\t" + pad
            out.append(pad + self.comment())
        return out

    # ------------------------------------------------------------------------------ scalars

    def scalar(self) -> str:
        kind = self.n(0, 12)
        if self.tidy and kind >= 10:
            return self.pick(["[]", "{}", "x", "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", "'*a1'"])
        if kind <= 2:
            return self.pick(WORDS[:6]) if kind == 0 else self.pool(WORDS)
        if kind <= 4:
            return self.pool(NUMBERS)
        if kind == 5:
            return self.pool(BOOLS)
        if kind == 6:
            return self.pool(NULLS)
        if kind == 7:
            return self.pool(TIMES)
        if kind == 8:
            return self.pool(SINGLE)
        if kind == 9:
            return self.pool(DOUBLE)
        if kind == 10:
            return self.pool(TRICKY) if self.chance(50) else self.pool(["&a1 v1", "*a1", "!!str 1", "&a2 x"])
        if kind == 11:
            return self.pool(FLOW)
        return self.pick(WORDS[:6]) + " " + self.pick(NUMBERS + WORDS[:6])

    def key(self, used: list[str]) -> str:
        if used and (self.wild and self.chance(8)):
            return self.pick(used)  # a duplicate key
        k = self.pick(KEYS[:4]) + str(self.n(0, 30)) if self.chance(70 if self.tidy else 50) else self.pool(KEYS)
        canon = _canon(k)
        if canon in [_canon(u) for u in used] and not self.wild:
            k = f"k_{len(used)}"
        used.append(k)
        return k

    def multiline_scalar(self, cont: int) -> tuple[str, list[str]]:
        """A plain or quoted scalar over several lines; continuation lines at column ``cont``."""
        style = self.n(0, 2)
        words = [self.pick(WORDS[:6]) for _ in range(self.n(1, 3))]
        rest: list[str] = []
        for w in words:
            if self.chance(20):
                rest.append(self.pick(["", "  ", " " * cont]))
            pad = " " * (cont + (self.n(0, 3) if self.chance(30) else 0))
            rest.append(pad + w + self.pick(["", "", " ", "\\"]) if style == 2 and w is not words[-1] else pad + w)
            if style == 1 and self.chance(20):
                rest[-1] += "''"
        first = self.pick(["start", "a b", "1", "x"])
        if style == 0:
            return first, rest
        q = "'" if style == 1 else '"'
        rest[-1] += q
        return q + first, rest

    def block_scalar(self, parent: int) -> tuple[str, list[str]]:
        """A ``|``/``>`` header and its content lines (content at parent + step)."""
        step = self.indent_step()
        ind = parent + step
        chomp = self.pick(["", "-", "+"])
        header = self.pick(["|", "|", "|", ">"] if self.tidy else ["|", ">"])
        if self.chance(15):
            num = str(step) if not (self.wild and self.chance(30)) else str(self.n(1, 9))
            header += num + chomp if self.chance(50) else chomp + num
        else:
            header += chomp
        header += self.inline_comment()
        explicit = header[1:2].isdigit() or header[2:3].isdigit()
        lines: list[str] = []
        started = explicit or self.wild  # else the first content line must set the indentation
        for _ in range(self.n(0, 5)):
            k = self.n(0, 10)
            if k <= 3:
                lines.append(" " * ind + self.pick(["line", "echo $HOME", "two words", "x: y", "- item",
                                                    "ünï 😀", "trailing  ", "\"q\"", "'s'", "a\tb"][:-1 if self.tidy
                                                                                                  else None]))
            elif k == 4:
                lines.append("")
                continue
            elif k == 5:
                lines.append(" " * self.n(1, ind + 3 if started else ind))  # whitespace-only
                continue
            elif k == 6:
                lines.append(" " * ind + self.pick(["# not a comment", "#", "key: value # c", "---", "..."]))
            elif k == 7 and started:
                lines.append(" " * (ind + self.n(1, 4)) + "more indented")
            elif k == 8 and started and not self.tidy:
                lines.append(" " * ind + "\t" + "tabbed")
            elif k == 9 and self.wild:
                lines.append(" " * max(ind - 1, 0) + "less indented")  # ends the scalar (often an error)
            else:
                lines.append(" " * ind + "x")
            started = True
        if self.chance(30):
            lines += ["" if self.chance(70) else " " * self.n(1, ind + 2) for _ in range(self.n(1, 3))]
        return header, lines

    # ---------------------------------------------------------------------------- nodes

    def props(self, tag: str) -> str:
        """An optional anchor / tag before a block collection (``tag``: !!map or !!seq)."""
        if self.tidy or not self.chance(8):
            return ""
        p = self.pick(["&a1", "&a2", tag, "!custom", "&a3 " + tag, "!!map" if self.wild else tag])
        # an anchor on a collection is defined once the collection ends: no alias to it inside
        return " " + p

    def value_after_key(self, indent: int, depth: int) -> list[str]:
        """The rest of ``key:``'s line, then any following lines: returns [suffix, *lines]."""
        kinds = ["scalar"] * 5 + ["map"] * 3 + ["seq"] * 2 + ["indentless", "empty", "block", "multiline"]
        if self.tidy and kinds[-1] == "multiline" and self.chance(60):
            kinds.pop()
        if depth >= 4:
            kinds = ["scalar"] * 4 + ["empty", "block", "multiline"]
        kind = self.pick(kinds)
        sep = self.pick([" ", " ", " ", "  ", "\t" if self.tab(30) else " "])
        if kind == "scalar":
            return [sep + self.scalar() + self.inline_comment()]
        if kind == "empty":
            return [self.props_text(self.pick(["", "", " ", sep + "!!str", sep + "&a1", sep + "!!null"]))
                    + self.inline_comment()]
        if kind == "block":
            header, lines = self.block_scalar(indent)
            return [sep + header, *lines]
        if kind == "multiline":
            first, rest = self.multiline_scalar(indent + self.n(1, 4))
            return [sep + first, *rest]
        head = self.props("!!map" if kind == "map" else "!!seq") + self.inline_comment()
        if kind == "map":
            ind = indent + self.indent_step()
            return [head, *self.gap(ind, indent), *self.mapping(ind, depth + 1)]
        if kind == "seq":
            ind = indent + self.indent_step()
            return [head, *self.gap(ind, indent), *self.sequence(ind, depth + 1)]
        return [head, *self.gap(indent, indent), *self.sequence(indent, depth + 1, indentless=True)]

    def mapping(self, indent: int, depth: int, compact: bool = False) -> list[str]:
        """A block mapping at column ``indent``; ``compact``: no lines before the first key."""
        out: list[str] = []
        used: list[str] = []
        deep = indent
        for i in range(self.n(1, 4 if depth < 3 else 2)):
            if i or not compact:
                out += self.gap(indent, deep)
            key = self.key(used)
            pad = " " * indent
            if key == "? explicit":
                out += [pad + "? explicit" + self.inline_comment(), pad + ":" + self.pick([" v", "", " - a"])]
                continue
            if self.wild and self.chance(3):
                pad = pad + self.pick([" ", "\t"])  # a key off the mapping's column
            suffix, *lines = self.value_after_key(indent, depth)
            out.append(pad + key + ":" + suffix)
            out += lines
            deep = max([indent] + [len(s) - len(s.lstrip(" ")) for s in lines if s.strip()])
        return out

    def sequence(self, indent: int, depth: int, indentless: bool = False, compact: bool = False) -> list[str]:
        out: list[str] = []
        deep = indent
        pad = " " * indent
        for i in range(self.n(1, 4 if depth < 3 else 2)):
            if i or not compact:
                out += self.gap(indent, deep)
            kinds = ["scalar"] * 5 + ["cmap"] * 3 + ["empty", "cseq", "nested", "block", "multiline"]
            if depth >= 4:
                kinds = ["scalar"] * 4 + ["empty", "block"]
            kind = self.pick(kinds)
            start = len(out)
            if kind == "scalar":
                sep = self.pick([" ", " ", "  ", "\t" if self.tab(30) else " "])
                out.append(pad + "-" + sep + self.scalar() + self.inline_comment())
            elif kind == "empty":
                out.append(pad + "-" + self.props_text(self.pick(["", "", " ", " !!str", " &a1"]))
                           + self.inline_comment())
            elif kind in ("cmap", "cseq"):
                spaces = self.pick([1, 1, 1, 3, 2])
                ind = indent + 1 + spaces
                inner = (self.mapping(ind, depth + 1, compact=True) if kind == "cmap"
                         else self.sequence(ind, depth + 1, compact=True))
                inner[0] = pad + "-" + " " * spaces + inner[0][ind:]
                out += inner
            elif kind == "nested":
                ind = indent + max(self.indent_step(), 1)
                is_map = self.chance(60)
                head = pad + "-" + self.props("!!map" if is_map else "!!seq") + self.inline_comment()
                body = self.mapping(ind, depth + 1) if is_map else self.sequence(ind, depth + 1)
                out += [head, *self.gap(ind, indent), *body]
            elif kind == "block":
                header, lines = self.block_scalar(indent)
                out += [pad + "- " + header, *lines]
            else:
                first, rest = self.multiline_scalar(indent + self.n(1, 4))
                out += [pad + "- " + first, *rest]
            deep = max([indent] + [len(s) - len(s.lstrip(" ")) for s in out[start + 1:] if s.strip()])
        return out

    # ----------------------------------------------------------------------------- documents

    def document(self) -> list[str]:
        out: list[str] = []
        k = self.n(0, 30)
        if k == 29:
            return out  # empty
        if k == 28:
            return [self.comment() for _ in range(self.n(1, 3))]  # comments only
        if k == 27 and self.wild:
            return [self.scalar()]  # not a mapping: sops rejects it
        if k == 26 and self.wild:
            return self.sequence(0, 1)
        base = 0 if self.tidy else self.pick([0] * 12 + [1, 2, 4])
        out += self.gap(base, base)
        out += self.mapping(base, 0)
        if self.chance(40):
            out += self.gap(base, base + 4)
        return out

    def text(self) -> str:
        lines: list[str] = []
        t = 3 if self.tidy else 1  # a tidy document has fewer directives, markers, CRs, BOMs...
        if self.chance(8 // t):
            lines.append(self.pick(["%YAML 1.1", "%TAG ! tag:example.com,2000:"]
                                   + (["%YAML 1.2", "%FOO bar"] if self.wild else [])))
            lines.append("---")
        elif self.chance(12 // t):
            lines.append(self.pick(["---", "--- # doc comment", "---  "]))
        lines += self.document()
        for _ in range(self.n(0, 2) if self.chance(15 // t) else 0):
            if self.chance(25):
                lines.append(self.pick(["...", "... # end"]))
            sep = self.pick([["---"], ["--- # next"], ["--- {a: 1}"]] + ([["--- |", "  text"]] if self.wild else []))
            lines += sep
            if sep[0] in ("---", "--- # next") or self.wild:
                lines += self.document()
        if lines and self.chance(5):
            lines.append("...")
        # tabs: indentation, before comments, after colons
        if lines and self.tab(25):
            i = self.n(0, len(lines) - 1)
            s = lines[i]
            stripped = s.lstrip(" ")
            lines[i] = self.pick(["\t", "\t" + " " * (len(s) - len(stripped)), " " * (len(s) - len(stripped))
                                  + "\t"]) + stripped
        eol = self.pick(["\n"] * 10 * t + ["\r\n", "\r\n", "\r", "mixed"])
        if eol == "mixed":
            text = "".join(s + self.pick(["\n", "\r\n", "\r"]) for s in lines)
        else:
            text = "".join(s + eol for s in lines)
        if self.chance(10 // t):
            text = text.rstrip("\r\n")
        elif self.chance(5):
            text += self.pick(["\n\n", "  \n", "# end"])
        if self.chance(3 // t):
            text = "\ufeff" + text
        return text


@st.composite
def yaml_texts(draw: Any, wild: bool = True, tidy: bool | None = None) -> str:
    """A YAML text, most of the time a valid one (``wild=False``: no deliberately invalid constructs;
    ``tidy=True``: only tidy documents, False: none)."""
    return _R(draw, wild and not tidy, tidy).text()


MUTATION_CHARS = [" ", "\n", "#", ":", "-", "'", '"', "\t", "|", ">", "[", "{", "&", "*", "!", "?", "\\", "a", "1",
                  "\r", "%", ",", "}", "]", "é"]


@st.composite
def mutated_texts(draw: Any) -> str:
    """A generated text with a few characters or lines inserted, deleted, duplicated or re-indented."""
    text: str = draw(yaml_texts())
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 5))
        pos = draw(st.integers(0, len(text)))
        if op == 0:
            text = text[:pos] + draw(st.sampled_from(MUTATION_CHARS)) + text[pos:]
        elif op == 1:
            text = text[:pos] + text[pos + 1:]
        elif op == 2:
            text = text[:pos] + text[pos + draw(st.integers(1, 8)):]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == 3:
                lines.insert(i, lines[draw(st.integers(0, len(lines) - 1))])
            elif op == 4:
                del lines[i]
            else:
                lines[i] = " " * draw(st.integers(0, 3)) + lines[i][draw(st.integers(0, 3)):]
            text = "\n".join(lines)
    return text
