"""Deterministic benchmark inputs: every workload is generated from a fixed seed."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
         "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango")


def _word(r: random.Random) -> str:
    return r.choice(WORDS) + str(r.randrange(1000))


def _scalar(r: random.Random) -> str:
    k = r.randrange(6)
    if k == 0:
        return str(r.randrange(-10**6, 10**6))
    if k == 1:
        return f"{r.random() * 1000:.3f}"
    if k == 2:
        return r.choice(("true", "false"))
    if k == 3:
        return f'"{_word(r)} {_word(r)} {_word(r)} {_word(r)} {r.randrange(10**12)}"'
    return f"{_word(r)}-{_word(r)}-{_word(r)}-{_word(r)}-{_word(r)}-{r.randrange(10**12)}"


def yaml_doc(leaves: int, seed: int = 1) -> str:
    """Maps, lists of maps, block scalars and comments, about 100 bytes per leaf."""
    r = random.Random(seed)
    out: list[str] = ["# generated benchmark document"]
    n = 0
    section = 0
    while n < leaves:
        section += 1
        out.append(f"# section {section}")
        out.append(f"section_{section}:")
        for i in range(8):
            out.append(f"    {_word(r)}_{_word(r)}_{i}: {_scalar(r)}")
            n += 1
        out.append("    items:")
        for _ in range(3):
            out.append(f"        - name: {_word(r)}")
            out.append(f"          value: {_scalar(r)}")
            out.append("          # an item comment")
            out.append(f"          enabled: {r.choice(('true', 'false'))}")
            n += 3
        out.append("    script: |")
        for _ in range(3):
            out.append(f"        echo {_word(r)} {_word(r)} {_word(r)} {_word(r)} {_word(r)} {r.randrange(10**9)}")
        n += 1
    return "\n".join(out) + "\n"


def small_yaml() -> str:
    r = random.Random(7)
    lines = ["# application secrets", "app:"]
    for i in range(10):
        lines.append(f"    key_{i}: {_word(r)}-{r.randrange(10**9)}")
    lines.append("# database")
    lines.append("db:")
    for i in range(10):
        lines.append(f"    setting_{i}: {_scalar(r)}")
    return "\n".join(lines) + "\n"


def json_doc(leaves: int, seed: int = 2) -> str:
    r = random.Random(seed)
    parts = []
    for i in range(leaves // 5):
        parts.append(
            f'"entry_{i}": {{"name": "{_word(r)}", "count": {r.randrange(10**6)}, "ratio": {r.random():.6f}, '
            f'"ok": {r.choice(("true", "false"))}, "tags": ["{_word(r)}"]}}'
        )
    return "{\n" + ",\n".join(parts) + "\n}\n"


def dotenv_doc(lines: int, seed: int = 3) -> str:
    r = random.Random(seed)
    out = []
    for i in range(lines):
        if i % 50 == 0:
            out.append(f"# block {i // 50}")
        else:
            out.append(f"VAR_{i}={_word(r)}_{r.randrange(10**9)}")
    return "\n".join(out) + "\n"


def k8s_secret(i: int) -> str:
    r = random.Random(1000 + i)
    data = "\n".join(f"    {_word(r)}: {_word(r)}{r.randrange(10**6)}" for _ in range(4))
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: secret-{i}\n    namespace: default\n"
            f"type: Opaque\nstringData:\n{data}\n")


def binary_blob(size: int, seed: int = 4) -> bytes:
    r = random.Random(seed)
    return r.randbytes(size)


def write_all(root: Path, quick: bool) -> dict[str, Path]:
    """Write every plaintext workload under root; returns name -> path (dirs for multi-file ones)."""
    root.mkdir(parents=True, exist_ok=True)
    scale = 20 if quick else 1
    files = {
        "small.yaml": small_yaml(),
        "large.yaml": yaml_doc(10_000 // scale),
        "huge.yaml": yaml_doc(100_000 // (scale * 10 if quick else 1)),
        "large.json": json_doc(50_000 // scale),
        "large.env": dotenv_doc(5_000 // scale),
    }
    out: dict[str, Path] = {}
    for name, text in files.items():
        p = root / name
        p.write_text(text)
        out[name] = p
    blob = root / "blob.bin"
    blob.write_bytes(binary_blob((20 << 20) // (scale * 10 if quick else 1)))
    out["blob.bin"] = blob
    k8s = root / "k8s"
    k8s.mkdir(exist_ok=True)
    for i in range(200 // scale):
        (k8s / f"secret-{i:03d}.yaml").write_text(k8s_secret(i))
    out["k8s"] = k8s
    return out
