"""The fuzz corpus of issue 16: small valid seed files for every store (plaintext, encrypted by sops-py,
encrypted by the real sops) and the mutations applied to them.

The plan is deterministic: case ``i`` of seed ``s`` draws everything (store, seed file, mutations,
offsets, sizes) from ``random.Random(f"{s}:{i}")``, so a run of 200 cases is exactly the first 200
cases of a run of 3,000, and a failing case can be rebuilt from its index alone. Only the bytes of
the seeds encrypted at run time (fresh data keys and IVs) change between runs; the offsets and
mutations applied to them do not.

The mutations are the hostile inputs the issue lists: byte flips, truncation, deep nesting, alias
bombs, invalid UTF-8, NUL bytes, BOMs, CRLF, duplicate keys, huge keys and lines; plus the ones an
attacker who edits a sops file would try: splices between files, dangerous tokens of each format,
and odd values in the ``sops`` metadata. Sizes are kept where the work per input is bounded by the
design (at most a few MB and the nesting limits), so that 3,000 cases fit the CI budget.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import TESTDATA

STORES = ("yaml", "json", "dotenv", "ini", "binary")
EXT = {"yaml": ".yaml", "json": ".json", "dotenv": ".env", "ini": ".ini", "binary": ".bin"}

PLAIN_SEEDS: dict[str, tuple[str, ...]] = {
    "yaml": ("basic.yaml", "comments.yaml", "nested.yaml", "multidoc.yaml"),
    "json": ("basic.json", "nested.json"),
    "dotenv": ("flat_basic.env",),
    "ini": ("flat_basic.ini", "flat_quirks.ini"),
    "binary": (),
}
# files in testdata/sops written by the real sops (3.11), decryptable with the test age keys
SOPS_SEEDS: dict[str, tuple[str, ...]] = {
    "yaml": ("basic.enc.yaml", "comments.enc.yaml", "encregex.enc.yaml", "maconly.enc.yaml",
             "multidoc.enc.yaml", "shamir.enc.yaml"),
    "json": ("basic.enc.json", "nested.enc.json", "shamir.enc.json"),
    "dotenv": ("flat_basic.enc.env", "flat_shamir.enc.env"),
    "ini": ("flat_basic.enc.ini", "flat_quirks.enc.ini"),
    "binary": (),
}

# small hand-written seeds that reach corners the fixtures do not
EXTRA_PLAIN: dict[str, tuple[bytes, ...]] = {
    "yaml": (
        b"base: &b {user: admin, pass: hunter2}\ncopy: *b\nmerged:\n  <<: *b\n  pass: other\n",
        b"list:\n  - a\n  - {b: 1, c: [1, 2, 3]}\n  - !!binary aGVsbG8=\nwhen: 2001-12-14t21:59:43.10-05:00\n",
        b"%YAML 1.1\n---\nkey: 'single ''quoted'''\nblock: |\n  line one\n  line two\nfolded: >-\n  a\n  b\n...\n",
        b"? complex key\n: value\nnull_value: ~\nbool: yes\nint: 0x1F\nfloat: .inf\n",
    ),
    "json": (
        b'{"a": [1, 2.5e10, -0, true, false, null], "b": {"c": "\\u00e9\\ud83d\\ude00"}, "e": ""}\n',
        b'{"list": [{"x": 1}, {"y": [[], {}]}], "big": 123456789012345678901234567890}\n',
    ),
    "dotenv": (
        b"# comment\nA=1\nexport B='two words'\nC=\"quoted \\n newline\"\nD=\n E = spaced \n",
    ),
    "ini": (
        b"[section]\nkey = value\n; comment\n[other]\nk2 = v2\nempty =\n",
    ),
    "binary": (
        b"just some text\nwith lines\n",
        bytes(range(256)),
        b"",
        b"\x00" * 64 + b"tail",
    ),
}


@dataclass(frozen=True)
class Seed:
    """One valid file: its store, where it came from (``plain:``, ``sops-py:`` or ``sops:``) and bytes."""

    store: str
    origin: str
    data: bytes

    @property
    def encrypted(self) -> bool:
        return not self.origin.startswith("plain:")


@dataclass(frozen=True)
class Case:
    """One fuzz input: the file ``in<ext>`` holding ``data``, read as ``store``."""

    index: int
    store: str
    origin: str
    mutation: str
    data: bytes

    @property
    def name(self) -> str:
        return "in" + EXT[self.store]

    def describe(self) -> str:
        return f"#{self.index} {self.store} {self.origin} [{self.mutation}] ({len(self.data)} bytes)"


def plain_seeds() -> list[Seed]:
    seeds = [Seed(store, "plain:" + name, (TESTDATA / "plain" / name).read_bytes())
             for store, names in PLAIN_SEEDS.items() for name in names]
    seeds += [Seed(store, f"plain:extra{n}", data) for store, datas in EXTRA_PLAIN.items()
              for n, data in enumerate(datas)]
    return seeds


def sops_seeds() -> list[Seed]:
    return [Seed(store, "sops:" + name, (TESTDATA / "sops" / name).read_bytes())
            for store, names in SOPS_SEEDS.items() for name in names]


def encrypted_seeds(plain: list[Seed], recipient: str) -> list[Seed]:
    """Every plaintext seed encrypted by sops-py (the library API, no .sops.yaml), as it writes today."""
    import sops_py

    out = []
    for seed in plain:
        try:
            data = sops_py.encrypt(seed.data, seed.store, age=[recipient], config=False)  # type: ignore[arg-type]
        except sops_py.SopsError:
            continue  # e.g. an empty binary file: nothing to encrypt
        out.append(Seed(seed.store, "sops-py:" + seed.origin.split(":", 1)[1], data))
    return out


def all_seeds(recipient: str) -> list[Seed]:
    plain = plain_seeds()
    return plain + encrypted_seeds(plain, recipient) + sops_seeds()


# ------------------------------------------------------------------ mutations

Mutator = Callable[[bytes, str, random.Random], bytes]


def _pos(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def byte_flips(data: bytes, store: str, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        i = rng.randrange(len(buf))
        buf[i] = buf[i] ^ (1 << rng.randrange(8)) if rng.random() < 0.6 else rng.randrange(256)
    return bytes(buf)


def truncate(data: bytes, store: str, rng: random.Random) -> bytes:
    return data[:_pos(data, rng)] if rng.random() < 0.8 else data[_pos(data, rng):]


def _nest(store: str, depth: int, rng: random.Random) -> bytes:
    kind = rng.choice(("flow-map", "flow-seq", "block-map", "block-seq", "unclosed", "json-obj", "json-arr"))
    if store == "json" and kind.startswith(("flow", "block")):
        kind = rng.choice(("json-obj", "json-arr"))
    if kind == "flow-map":
        return b"{a: " * depth + b"1" + b"}" * depth
    if kind == "flow-seq":
        return b"[" * depth + b"1" + b"]" * depth
    if kind == "block-map":
        return b"\n" + b"".join(b"  " * (i + 1) + b"k%d:\n" % i for i in range(depth)) + b"  " * (depth + 1) + b"v: 1"
    if kind == "block-seq":
        return b"\n" + b"".join(b"  " * (i + 1) + b"-\n" for i in range(depth)) + b"  " * (depth + 1) + b"- 1"
    if kind == "unclosed":
        return rng.choice((b"[", b"{", b'{"a":', b"{a: ")) * depth
    if kind == "json-obj":
        return b'{"a": ' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"]" * depth


def deep_nesting(data: bytes, store: str, rng: random.Random) -> bytes:
    """A deeply nested value, as the whole file, as a new key's value, or replacing a line."""
    # mostly depths that cost little; now and then one past yaml.v3's 10,000 (refused after parsing)
    depth = rng.choice((10, 100, 1000, 2500)) if rng.random() < 0.97 else 10001
    nest = _nest(store, depth, rng)
    if len(nest) > 2_000_000:  # block styles grow with the square of the depth: 1,000 levels is 1 MB
        nest = _nest(store, 1000, rng)
    where = rng.random()
    if where < 0.3:
        return nest + b"\n"
    if store == "json":
        i = data.find(b"{")
        if i >= 0 and where < 0.8:
            return data[:i + 1] + b'"deep": ' + nest + b", " + data[i + 1:]
        return data + nest
    if where < 0.8:
        return b"deep: " + nest + b"\n" + data
    lines = _lines(data)
    lines[rng.randrange(len(lines))] = b"deep: " + nest + b"\n"
    return b"".join(lines)


def alias_bomb(data: bytes, store: str, rng: random.Random) -> bytes:
    """The billion laughs, at some size, before, after or instead of the file (aliases also in JSON)."""
    levels, width = rng.choice(((9, 9), (5, 9), (12, 4), (4, 30), (20, 2)))
    lines = [b"a0: &a0 [" + b",".join([b'"lol"'] * width) + b"]"]
    for i in range(1, levels):
        lines.append(b"a%d: &a%d [" % (i, i) + b",".join([b"*a%d" % (i - 1)] * width) + b"]")
    bomb = b"\n".join(lines) + b"\n"
    if rng.random() < 0.3:  # a merge-key bomb
        bomb = b"m0: &m0 {x: 1, y: 2}\n" + b"".join(
            b"m%d: &m%d [" % (i, i) + b", ".join([b"{<<: *m%d}" % (i - 1)] * width) + b"]\n" for i in range(1, levels))
    where = rng.random()
    if where < 0.4:
        return bomb + data
    if where < 0.8:
        return data + (b"\n" if data and not data.endswith(b"\n") else b"") + bomb
    return bomb


INVALID_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\x80")


def invalid_utf8(data: bytes, store: str, rng: random.Random) -> bytes:
    for _ in range(rng.choice((1, 1, 3))):
        i = _pos(data, rng)
        data = data[:i] + rng.choice(INVALID_UTF8) + data[i:]
    return data


def nul(data: bytes, store: str, rng: random.Random) -> bytes:
    i = _pos(data, rng)
    if rng.random() < 0.5 and data:
        return data[:i] + b"\x00" + data[i + 1:]
    return data[:i] + b"\x00" * rng.choice((1, 2, 100)) + data[i:]


def bom(data: bytes, store: str, rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.4:
        return b"\xef\xbb\xbf" + data
    if choice < 0.55:
        return b"\xef\xbb\xbf\xef\xbb\xbf" + data
    if choice < 0.7:  # a BOM in the middle
        i = _pos(data, rng)
        return data[:i] + b"\xef\xbb\xbf" + data[i:]
    if choice < 0.85:  # the whole file as UTF-16 with its BOM
        return b"\xff\xfe" + data.decode("utf-8", "replace").encode("utf-16-le")
    return b"\xfe\xff" + data.decode("utf-8", "replace").encode("utf-16-be")


def crlf(data: bytes, store: str, rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.5:
        return data.replace(b"\n", b"\r\n")
    if choice < 0.7:
        return data.replace(b"\n", b"\r")
    lines = _lines(data)
    return b"".join(line.replace(b"\n", b"\r\n") if rng.random() < 0.5 else line for line in lines)


def duplicate_keys(data: bytes, store: str, rng: random.Random) -> bytes:
    """A line repeated (a key, a section, a sops_ entry, a YAML metadata field) or, in JSON, a key twice."""
    if store == "json" and rng.random() < 0.5:
        keys: list[bytes] = re.findall(rb'"[^"\\\n]{1,40}"\s*:', data)
        if keys:
            key = rng.choice(keys)
            i = data.find(key)
            return data[:i] + key + b' "dup", ' + data[i:]
    lines = _lines(data)
    i = rng.randrange(len(lines))
    j = rng.randrange(len(lines) + 1)
    line = lines[i] if lines[i].endswith((b"\n", b"\r")) else lines[i] + b"\n"
    lines.insert(j, line)
    return b"".join(lines)


def huge(data: bytes, store: str, rng: random.Random) -> bytes:
    """A huge key or a huge value/line: 1 KB to 2 MB."""
    size = rng.choice((1025, 4096, 65537, 1 << 20, 2 << 20))
    blob = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(64)) * (size // 64 + 1)
    blob = blob[:size]
    kind = rng.random()
    if store == "json":
        line = b'"' + blob + b'": 1' if kind < 0.5 else b'"big": "' + blob + b'"'
        i = data.find(b"{")
        return data[:i + 1] + line + b", " + data[i + 1:] if i >= 0 else data + line
    if store == "ini":
        line = blob + b" = 1\n" if kind < 0.5 else b"big = " + blob + b"\n"
        if kind > 0.9:
            line = b"[" + blob + b"]\n"
    elif store == "dotenv":
        line = blob + b"=1\n" if kind < 0.5 else b"BIG=" + blob + b"\n"
    else:
        line = blob + b": 1\n" if kind < 0.5 else b"big: " + blob + b"\n"
        if kind > 0.9:
            line = b"# " + blob + b"\n"
    lines = _lines(data)
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"".join(lines)


TOKENS: dict[str, tuple[bytes, ...]] = {
    "yaml": (b"&anchor ", b"*missing", b"<<: *x\n", b"!!python/object:os.system ", b"!!binary ", b"!!int ",
             b"!custom ", b"? ", b"---\n", b"...\n", b"%YAML 1.1\n", b"%TAG ! tag:x,2000:\n", b"\t", b"|", b">-",
             b"{", b"]", b"'", b'"', b"\\", b"#", b": ", b"- ", b"sops:\n", b"ENC[AES256_GCM,data:,iv:,tag:,type:str]",
             b"!!float ", b"!!timestamp ", b"!!null ", b"~", b"0x", b"1e999", b".nan", b"<<: [*a, *b]\n"),
    "json": (b"NaN", b"Infinity", b"1e999", b"-0", b"\\u0000", b"\\ud800", b'"', b"{", b"}", b"[", b"]", b",",
             b":", b"//", b"/*", b"\\", b"true", b"null", b'"sops": {}', b"123456789012345678901234567890",
             b'"ENC[AES256_GCM,data:,iv:,tag:,type:int]"'),
    "dotenv": (b"=", b"export ", b"'", b'"', b"\\", b"#", b"\\n", b"sops_mac=", b"sops_version=", b"=ENC[",
               b"sops_x__list_0__map_y=", b"\t", b"${VAR}", b"$"),
    "ini": (b"[", b"]", b"[sops]\n", b"=", b":", b";", b"#", b"\\\n", b'"""', b"`", b"\t", b"[DEFAULT]\n",
            b"mac = ", b"version = ", b"%(x)s", b"\n  continued"),
    "binary": (b"{", b'"data": ', b'"sops": ', b"\xff", b"\x00"),
}


def tokens(data: bytes, store: str, rng: random.Random) -> bytes:
    for _ in range(rng.choice((1, 2, 4))):
        i = _pos(data, rng)
        data = data[:i] + rng.choice(TOKENS[store] + TOKENS["yaml"][:5]) + data[i:]
    return data


def lines_shuffle(data: bytes, store: str, rng: random.Random) -> bytes:
    """Delete, swap or reorder lines: keys removed or moved, sections broken."""
    lines = _lines(data)
    choice = rng.random()
    if choice < 0.4 and len(lines) > 1:
        del lines[rng.randrange(len(lines))]
    elif choice < 0.8 and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        rng.shuffle(lines)
    return b"".join(lines)


METADATA_FIELD = re.compile(
    rb"(shamir_threshold|version|lastmodified|mac|enc|recipient|unencrypted_suffix|encrypted_regex|"
    rb"mac_only_encrypted|key_groups|age|created_at|fp)([\"']?\s*[:=]\s*)")
ODD_VALUES = (b"", b"0", b"-1", b"255", b"256", b"99999999999999999999999", b"x", b"[]", b"{}", b"null",
              b"true", b"1e400", b'""', b"ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]", b"3.7.0",
              b"9999.0.0", b"2099-13-45T99:99:99Z", b"[1, 2]", b"!!binary AAAA")


def metadata(data: bytes, store: str, rng: random.Random) -> bytes:
    """An odd value for one field of the sops metadata (or of any key with such a name)."""
    matches = list(METADATA_FIELD.finditer(data))
    if not matches:
        return tokens(data, store, rng)
    m = rng.choice(matches)
    end = data.find(b"\n", m.end())
    end = len(data) if end < 0 else end
    if store == "json":  # keep the JSON shape around a replaced value where we can
        stop = min((k for k in (data.find(b",", m.end()), data.find(b"}", m.end()), end) if k >= 0), default=end)
        return data[:m.end()] + rng.choice(ODD_VALUES) + data[stop:]
    return data[:m.end()] + rng.choice(ODD_VALUES) + data[end:]


def splice(data: bytes, store: str, rng: random.Random, other: bytes = b"") -> bytes:
    i, j = _pos(data, rng), _pos(other, rng)
    return data[:i] + other[j:j + rng.choice((16, 200, 2000))] + data[i:]


MUTATORS: dict[str, Mutator] = {
    "flip": byte_flips, "truncate": truncate, "deep": deep_nesting, "aliases": alias_bomb,
    "utf8": invalid_utf8, "nul": nul, "bom": bom, "crlf": crlf, "dupkey": duplicate_keys, "huge": huge,
    "tokens": tokens, "lines": lines_shuffle, "metadata": metadata,
}
# how often each is drawn: the cheap byte-level ones most, the costly ones (huge, deep) least
WEIGHTS = {"flip": 6, "truncate": 4, "deep": 2, "aliases": 2, "utf8": 3, "nul": 2, "bom": 2, "crlf": 2,
           "dupkey": 4, "huge": 1, "tokens": 4, "lines": 3, "metadata": 4}


def build_case(index: int, seeds_by_store: dict[str, list[Seed]], seed: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    store = STORES[index % len(STORES)]
    pool = seeds_by_store[store]
    want_encrypted = rng.random() < 0.55
    candidates = [s for s in pool if s.encrypted == want_encrypted] or pool
    base = rng.choice(candidates)
    names = list(MUTATORS)
    count = rng.choice((1, 1, 1, 2, 2, 3))
    chosen = rng.choices(names, weights=[WEIGHTS[n] for n in names], k=count)
    data = base.data
    applied = []
    for name in chosen:
        if name == "splice" or (name == "tokens" and rng.random() < 0.2):
            other = rng.choice([s for ss in seeds_by_store.values() for s in ss]).data
            data = splice(data, store, rng, other)
            applied.append("splice")
            continue
        data = MUTATORS[name](data, store, rng)
        applied.append(name)
    return Case(index, store, base.origin, "+".join(applied), data)


def seeds_by_store(seeds: list[Seed]) -> dict[str, list[Seed]]:
    return {s: [x for x in seeds if x.store == s] for s in STORES}


def build_corpus(count: int, recipient: str, seed: int = 16) -> list[Case]:
    by_store = seeds_by_store(all_seeds(recipient))
    return [build_case(i, by_store, seed) for i in range(count)]


def save_seeds(seeds: list[Seed], directory: Path) -> None:
    """The seeds as files plus a manifest, so that the fork server and the test build the same cases
    from the same (run-time encrypted) seeds."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = []
    for n, seed in enumerate(seeds):
        name = f"seed-{n}{EXT[seed.store]}"
        (directory / name).write_bytes(seed.data)
        manifest.append({"store": seed.store, "origin": seed.origin, "file": name})
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))


def load_seeds(directory: Path) -> list[Seed]:
    manifest = json.loads((directory / "manifest.json").read_text())
    return [Seed(m["store"], m["origin"], (directory / m["file"]).read_bytes()) for m in manifest]


def write_failure(directory: Path, case: Case) -> Path:
    """Keep a failing input where a developer can find it (named by its index)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"case-{case.index}{EXT[case.store]}"
    path.write_bytes(case.data)
    return path
