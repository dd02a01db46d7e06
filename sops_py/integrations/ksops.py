"""A KSOPS-compatible generator: the same ``kind: ksops`` manifests, decrypted by sops-py.

KSOPS (viaduct-ai/kustomize-sops) is a kustomize plugin: a manifest lists encrypted files; ``files:``
are decrypted and emitted as they are, ``secretFrom:`` builds a ``v1 Secret`` (``files`` ->
``stringData``, ``binaryFiles`` -> base64 ``data``, ``envs`` -> dotenv parsed into ``stringData``).
This module turns one manifest into the generated documents, the same ones KSOPS makes, so
existing manifests work unchanged. Paths are relative to the kustomization directory (the working
directory kustomize runs plugins in), and may not leave it (kustomize's own load restriction).

All files of a manifest are decrypted in this one process with one key ring (identities loaded
once); when the keys wait on a service (PGP's gpg, cloud KMS, a key service) the files overlap on
threads, as KSOPS overlaps them on goroutines.

sops-py extensions (ignored by KSOPS, which does not know them):
  * ``emitData: true`` (top level or per ``secretFrom`` item): base64 ``data:`` instead of
    ``stringData:``, for server-side apply (KSOPS #260, #166);
  * ``configMapFrom:``: a ConfigMap from encrypted files, same fields as ``secretFrom`` (KSOPS #39);
  * ``SOPS_PY_KSOPS_KEYLESS=1``: no keys needed; every encrypted value becomes a placeholder that
    changes when the ciphertext changes, for CI diffs and previews (KSOPS #278).

The manifest is read (and the Secrets built) by ``ksops_manifest``, its files found and read by
``ksops_files``, the ResourceList side (KRM functions) is ``ksops_krm``,
keyless mode ``ksops_keyless``, the launchers ``ksops_install``.
"""

from __future__ import annotations

from ..errors import CouldNotRetrieveKey, SopsError
from ..tree import Branch
from .ksops_files import Options, Source, format_for, read_source, resolve
from .ksops_manifest import GeneratorError, Manifest, build_object, is_generator, parse_manifest

__all__ = ["GeneratorError", "Manifest", "Options", "Piece", "Source", "generate", "is_generator",
           "parse_manifest", "render", "to_objects"]

# ------------------------------------------------------------------ decrypting every file of a manifest


def decrypt_all(sources: list[Source], options: Options) -> dict[str, bytes]:
    """Plaintext of every distinct file (keyed by resolved path); a failure is raised naming its file.
    Files overlap on threads when their keys wait on a service; local age keys are faster in turn
    (no thread hand-offs)."""
    from ..ops.parallel import run_threads

    unique: dict[str, Source] = {}
    for s in sources:
        unique.setdefault(s.path, s)
    results: dict[str, bytes] = {}

    def one(path: str) -> None:
        results[path] = _decrypt_one(unique[path], options)

    paths = list(unique)
    if len(paths) > 1 and options.concurrency > 1 and _waits_on_service(unique[paths[0]], options):
        run_threads(paths, one, min(options.concurrency, len(paths)))
    else:
        for p in paths:
            one(p)
    return results


def _waits_on_service(source: Source, options: Options) -> bool:
    from ..keys.registry import LOCAL_TYPES
    from ..stores import get_store

    if options.keys.keyservices:
        return True
    try:
        md = get_store(format_for(source.path)).load_encrypted(read_source(source))[1]
    except SopsError:
        return False  # the run reports it
    return any(k.type not in LOCAL_TYPES for g in md.key_groups for k in g)


def _decrypt_one(source: Source, options: Options) -> bytes:
    from ..api import decrypt

    data = read_source(source)
    fmt = format_for(source.path)
    try:
        return decrypt(data, fmt, keys=options.keys)  # type: ignore[arg-type]  # a sops format name
    except CouldNotRetrieveKey as e:
        # KSOPS prints only the Go library's first line; the per-key report says which key failed why
        raise source.error(f"trouble decrypting file: Error getting data key: {e.threshold} successful groups "
                           f"required, got {sum(1 for g in e.groups if g is None)}\n{e}") from None
    except SopsError as e:
        raise source.error(f"trouble decrypting file: {e}") from None


# ------------------------------------------------------------------ generating


class Piece:
    """One generated document: decrypted file bytes emitted as they are (``files``), or a tree (a
    built Secret/ConfigMap, or a keyless manifest)."""

    __slots__ = ("data", "fmt", "source", "tree")

    def __init__(self, *, data: bytes | None = None, fmt: str = "yaml", tree: list[Branch] | None = None,
                 source: Source | None = None) -> None:
        self.data = data
        self.fmt = fmt
        self.tree = tree
        self.source = source


def generate(manifest: Manifest, options: Options) -> list[Piece]:
    """The documents a manifest generates, in KSOPS' order: ``files``, then each ``secretFrom``
    Secret, then each ``configMapFrom`` ConfigMap."""
    file_sources = [resolve(options, "manifest.Files", f) for f in manifest.files]
    specs = [*manifest.secrets, *manifest.config_maps]
    spec_sources = [([resolve(options, f"{s.section}.Files", p) for _, p in s.files],
                     [resolve(options, f"{s.section}.BinaryFiles", p) for _, p in s.binary_files],
                     [resolve(options, f"{s.section}.Envs", p) for p in s.envs]) for s in specs]
    every = file_sources + [src for group in spec_sources for part in group for src in part]
    if options.keyless:
        from .ksops_keyless import generate_keyless

        return [Piece(tree=docs, fmt=fmt, source=src)
                for docs, fmt, src in generate_keyless(file_sources, specs, spec_sources)]
    plain = decrypt_all(every, options)
    pieces = [Piece(data=plain[s.path], fmt=format_for(s.path), source=s) for s in file_sources]
    for spec, (files, binaries, envs) in zip(specs, spec_sources, strict=True):
        text: dict[str, str] = {}
        for (key, _), src in zip(spec.files, files, strict=True):
            text[key] = _utf8(plain[src.path], src)
        binary = {key: plain[src.path] for (key, _), src in zip(spec.binary_files, binaries, strict=True)}
        for src in envs:
            text.update(_dotenv(plain[src.path], src, options))
        pieces.append(Piece(tree=[build_object(spec, text, binary)]))
    return pieces


def _utf8(data: bytes, source: Source) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise source.error("the decrypted file is not UTF-8 text: list it under binaryFiles") from None


def _dotenv(data: bytes, source: Source, options: Options) -> dict[str, str]:
    from .ksops_dotenv import DotenvError, parse

    try:
        return parse(_utf8(data, source), options.environ)
    except DotenvError as e:
        raise GeneratorError(f'error unmarshalling .env file "{source.ref}": {e}') from None


# ------------------------------------------------------------------ rendering


def emit_tree(docs: list[Branch], fmt: str = "yaml") -> bytes:
    from ..stores import get_store

    return get_store(fmt if fmt in ("yaml", "json") else "yaml", 2).emit_plain(docs)


def render(pieces: list[Piece]) -> bytes:
    """The legacy plugin's stdout, as KSOPS writes it: each document, separated by ``---`` lines,
    with no separator after the last (KRM parsers would read an empty document)."""
    out = bytearray()
    for i, piece in enumerate(pieces):
        if piece.data is not None:
            out += piece.data
            if i < len(pieces) - 1:
                out += b"\n---\n"
        else:
            out += emit_tree(piece.tree or [], piece.fmt)
            if i < len(pieces) - 1:
                out += b"---\n"
    return bytes(out)


def to_objects(pieces: list[Piece]) -> list[Branch]:
    """The generated documents as trees (KRM mode); a decrypted file must hold YAML or JSON objects."""
    from ..stores import get_store

    objects: list[Branch] = []
    for piece in pieces:
        if piece.tree is not None:
            docs = piece.tree
        else:
            assert piece.data is not None and piece.source is not None
            if piece.fmt not in ("yaml", "json"):
                raise piece.source.error(f"a {piece.fmt} file holds no Kubernetes object: list it under "
                                         "secretFrom instead")
            try:
                docs = get_store(piece.fmt).load_plain(piece.data)
            except SopsError as e:
                raise piece.source.error(f"the decrypted file is not a Kubernetes object: {e}") from None
        objects += [d for d in docs if isinstance(d, Branch) and d]
    return objects
