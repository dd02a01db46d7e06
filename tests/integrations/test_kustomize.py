"""`sops-py kustomize`: the Flux-style decrypting build, run with the real kubectl kustomize, compared with
the expected decrypted build; failures, limits and where plaintext may (not) appear."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest
import yaml

from sops_py import Keys
from sops_py.integrations.kustomize_build import decrypt_object
from sops_py.stores import get_store
from tests.helpers import AGE_KEY_FILE
from tests.integrations.k8s_fixtures import SECRET_YAML, env, run_cli, write_encrypted
from tests.interop.sops_helpers import requires_sops

pytestmark = [requires_sops, pytest.mark.skipif(shutil.which("kubectl") is None and shutil.which("kustomize") is None,
                                                 reason="kubectl is not installed")]

KUSTOMIZATION = """namespace: prod
resources:
- ../base
- disabled.enc.yaml
- carrier.yaml
components:
- ../comp
secretGenerator:
- name: gen
  options: {disableNameSuffixHash: true}
  files:
  - config.json=config.enc.json
  envs:
  - env.enc.env
patches:
- path: patch.enc.yaml
"""

DISABLED = """apiVersion: v1
kind: Secret
metadata:
  name: keep
  annotations:
    kustomize.toolkit.fluxcd.io/decrypt: Disabled
stringData:
  x: y
"""


def make_tree(root: Path) -> Path:
    base, app, comp = root / "base", root / "app", root / "comp"
    for d in (base, app, comp):
        d.mkdir(parents=True)
    write_encrypted(base, "secret.enc.yaml", SECRET_YAML, encrypted_regex="^(data|stringData)$")
    (base / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                                      "spec:\n  replicas: 1\n")
    (base / "kustomization.yaml").write_text("resources:\n- secret.enc.yaml\n- deploy.yaml\n")
    write_encrypted(app, "config.enc.json", '{"db": {"password": "pw"}}', tool="sops-py")
    write_encrypted(app, "env.enc.env", "A=1\nB=two\n")
    write_encrypted(app, "patch.enc.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                    "spec:\n  replicas: 3\n", encrypted_regex="^spec$")
    write_encrypted(app, "disabled.enc.yaml", DISABLED, encrypted_regex="^(data|stringData)$")
    inner = write_encrypted(app, "inner.enc.yaml", "token: t0k3n\n", tool="sops-py")
    carrier = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "carrier"},
               "data": {"settings.yaml": base64.b64encode(inner.read_bytes()).decode()}}
    inner.unlink()
    (app / "carrier.yaml").write_text(yaml.safe_dump(carrier))
    (comp / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                             "labels:\n- pairs: {comp: x}\n")
    (app / "kustomization.yaml").write_text(KUSTOMIZATION)
    return app


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_flux_style_build(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    app = make_tree(root)
    before = snapshot(root)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = run_cli(["kustomize", "--root", str(root), str(app)], env(tmp_path, TMPDIR=str(tmpdir)), tmp_path)
    assert proc.returncode == 0, proc.stderr
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(proc.stdout)}
    gen = docs[("Secret", "gen")]
    assert {k: base64.b64decode(v).decode() for k, v in gen["data"].items()} == {
        "A": "1", "B": "two", "config.json": '{\n\t"db": {\n\t\t"password": "pw"\n\t}\n}\n'}
    assert docs[("Secret", "mysecret")]["stringData"] == {"username": "admin", "password": "1f2d1e2e67df"}
    assert docs[("Secret", "mysecret")]["metadata"] == {"name": "mysecret", "namespace": "prod",
                                                         "labels": {"comp": "x"}}
    assert "sops" not in docs[("Secret", "mysecret")]
    assert docs[("Deployment", "web")]["spec"]["replicas"] == 3
    assert docs[("Secret", "keep")]["stringData"]["x"].startswith("ENC[")  # Disabled: left encrypted
    assert base64.b64decode(docs[("Secret", "carrier")]["data"]["settings.yaml"]) == b"token: t0k3n\n"
    assert all(d["metadata"]["namespace"] == "prod" for d in docs.values())
    assert snapshot(root) == before  # nothing written into the user's tree
    assert list(tmpdir.iterdir()) == []  # the private copy is gone


@pytest.mark.slow
def test_tampered_source_fails_unless_ignore_mac(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    app = make_tree(root)
    env_file = app / "env.enc.env"
    env_file.write_text("".join(line for line in env_file.read_text().splitlines(keepends=True)
                                if not line.startswith("B=")))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    e = env(tmp_path, TMPDIR=str(tmpdir))
    proc = run_cli(["kustomize", "--root", str(root), str(app)], e, tmp_path)
    assert proc.returncode == 51 and proc.stdout == b""
    assert proc.stderr.decode().startswith("failed to decrypt file app/env.enc.env: MAC mismatch")
    assert list(tmpdir.iterdir()) == []
    ok = run_cli(["kustomize", "--ignore-mac", "--root", str(root), str(app)], e, tmp_path)
    assert ok.returncode == 0 and b"A: MQ==" in ok.stdout


@pytest.mark.slow
def test_limits_and_escapes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    app = make_tree(root)
    e = env(tmp_path)
    (app / "kustomization.yaml").write_text("secretGenerator:\n- name: s\n  files: [../../outside.env]\n")
    (tmp_path / "outside.env").write_text("X=1\n")
    proc = run_cli(["kustomize", "--root", str(root), str(app)], e, tmp_path)
    assert proc.returncode == 1 and b"leaves the kustomization root" in proc.stderr
    big = app / "big.enc.env"
    big.write_bytes(b"A=" + b"x" * (5 * 1024 * 1024) + b"\nsops_mac=ENC[\n")
    (app / "kustomization.yaml").write_text("secretGenerator:\n- name: s\n  envs: [big.enc.env]\n")
    proc = run_cli(["kustomize", str(app)], e, tmp_path)
    assert proc.returncode == 1 and b"exceeds the limit" in proc.stderr
    big.unlink()
    os.symlink("env.enc.env", app / "link.enc.env")
    os.symlink(tmp_path / "outside.env", app / "away.env")
    (app / "kustomization.yaml").write_text("secretGenerator:\n- name: s\n  envs: [link.enc.env]\n")
    proc = run_cli(["kustomize", str(app)], e, tmp_path)
    assert proc.returncode == 0, proc.stderr  # a link inside the root is followed to its (regular) target
    assert b"A: MQ==" in proc.stdout
    (app / "kustomization.yaml").write_text("secretGenerator:\n- name: s\n  envs: [away.env]\n")
    proc = run_cli(["kustomize", str(app)], e, tmp_path)
    assert proc.returncode == 1 and b"path 'away.env' (in .) leaves the kustomization root" in proc.stderr


def test_objects_rewritten_by_kustomize_decrypt_without_their_mac(tmp_path: Path) -> None:
    enc = write_encrypted(tmp_path, "s.enc.yaml", SECRET_YAML, encrypted_regex="^(data|stringData)$")
    store = get_store("yaml")
    rewritten = enc.read_bytes().replace(b"    name: mysecret\n", b"    name: mysecret\n    namespace: x\n")
    (obj,) = store.load_plain(rewritten)
    keys = Keys(age_key_file=str(AGE_KEY_FILE), environ={})
    out = decrypt_object(obj, keys, ignore_mac=False)
    assert out is not None
    plain = yaml.safe_load(store.emit_plain([out]))
    assert plain["stringData"] == {"username": "admin", "password": "1f2d1e2e67df"}
    assert plain["metadata"]["namespace"] == "x" and "sops" not in plain


def test_usage_error(tmp_path: Path) -> None:
    proc = run_cli(["kustomize"], env(tmp_path), tmp_path)
    assert proc.returncode == 1 and b"exactly one kustomization directory" in proc.stderr


# ------------------------------------------------------------------ review: flags, failed builds, Flux's rules


def shared_tree(root: Path) -> Path:
    """An app whose resource lives beside it (``../shared``), which kustomize only loads with
    ``--load-restrictor=LoadRestrictionsNone``; the resource is encrypted."""
    app, shared = root / "app", root / "shared"
    app.mkdir(parents=True)
    shared.mkdir()
    write_encrypted(shared, "db.enc.yaml", SECRET_YAML, tool="sops-py", encrypted_regex="^(data|stringData)$")
    (app / "kustomization.yaml").write_text("resources: [../shared/db.enc.yaml]\n")
    return app


def test_kustomize_flags_are_passed_and_a_failed_build_leaves_no_plaintext(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    app = shared_tree(root)
    before = snapshot(root)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    e = env(tmp_path, TMPDIR=str(tmpdir))
    # the source is decrypted in the private copy, then kustomize refuses the file: nothing may remain
    failed = run_cli(["kustomize", "--root", str(root), str(app)], e, tmp_path)
    assert failed.returncode == 1 and failed.stdout == b""
    assert failed.stderr.decode().startswith("kubectl kustomize failed: accumulating resources: ")
    assert "security; file 'shared/db.enc.yaml' is not in or below 'app'" in failed.stderr.decode()
    assert b"admin" not in failed.stderr and b"Traceback" not in failed.stderr
    assert list(tmpdir.iterdir()) == [] and snapshot(root) == before
    for flags in (["--kustomize-flag", "--load-restrictor=LoadRestrictionsNone"],
                  ["--kustomize-flag=--load-restrictor=LoadRestrictionsNone"]):
        ok = run_cli(["kustomize", "--root", str(root), *flags, str(app)], e, tmp_path)
        assert ok.returncode == 0, ok.stderr
        assert yaml.safe_load(ok.stdout)["stringData"] == {"username": "admin", "password": "1f2d1e2e67df"}
    out = tmp_path / "leak.yaml"
    for flags in (["--kustomize-flag", "-o", "--kustomize-flag", str(out)], [f"--kustomize-flag=--output={out}"],
                  [f"--kustomize-flag=-o{out}"]):
        refused = run_cli(["kustomize", "--root", str(root), *flags, str(app)], e, tmp_path)
        assert refused.returncode == 1 and b"is refused: kustomize would write the decrypted build" in refused.stderr
        assert not out.exists()
    assert list(tmpdir.iterdir()) == [] and snapshot(root) == before


@pytest.mark.parametrize("value", ["Disabled", "disabled", "DISABLED"])
def test_disabled_annotation_is_matched_without_case_as_flux_does(tmp_path: Path, value: str) -> None:
    enc = write_encrypted(tmp_path, "s.enc.yaml", SECRET_YAML.replace(
        "  name: mysecret\n", f"  name: mysecret\n  annotations:\n    kustomize.toolkit.fluxcd.io/decrypt: {value}\n"),
        tool="sops-py", encrypted_regex="^(data|stringData)$")
    (obj,) = get_store("yaml").load_plain(enc.read_bytes())
    assert decrypt_object(obj, Keys(age_key_file=str(AGE_KEY_FILE), environ={}), ignore_mac=False) is None


def test_a_base_outside_the_root_names_the_root_option(tmp_path: Path) -> None:
    from sops_py.integrations.kustomize import BuildError, SourceDecryptor

    (tmp_path / "base").mkdir()
    app = tmp_path / "overlay"
    app.mkdir()
    (app / "kustomization.yaml").write_text("resources: [../base]\n")
    with pytest.raises(BuildError) as e:
        SourceDecryptor(str(app), Keys(environ={})).walk(str(app))
    assert str(e.value) == ("path '../base' (in .) leaves the kustomization root (--root names a wider one, such as "
                            "the repository)")


def test_kustomize_errors_never_show_decrypted_sources(tmp_path: Path) -> None:
    """kustomize quotes a dotenv line it cannot decode, and reads it decrypted: the message shown is
    cleaned of every decrypted value (and of Go's byte-list printing of the line)."""
    app = tmp_path / "app"
    app.mkdir()
    write_encrypted(app, "app.enc.env", b"USER=admin\nTOKEN=S3cr3t\xffTail\n", tool="sops-py")
    (app / "kustomization.yaml").write_text("secretGenerator:\n- name: s\n  envs: [app.enc.env]\n")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = run_cli(["kustomize", str(app)], env(tmp_path, TMPDIR=str(tmpdir)), tmp_path)
    assert proc.returncode == 1 and proc.stdout == b""
    message = proc.stderr.decode()
    assert message.startswith("kubectl kustomize failed: loading KV pairs: env source files: [app.enc.env]: line "
                              "[redacted] has invalid utf8 bytes : [redacted]"), message
    assert "S3cr3t" not in message and "Tail" not in message and "84 111" not in message
    assert list(tmpdir.iterdir()) == []


def test_kustomize_messages_are_unwrapped_from_kubectl_log_lines() -> None:
    from sops_py.integrations.kustomize_build import _kustomize_error

    one = 'E1208 00:11:59.744497    8532 run.go:72] "command failed" err="a \\"b\\": c\\xff\\n\\u00e9"\n'
    assert _kustomize_error(one) == 'a "b": c\ufffd\né'
    block = 'E1208 00:11:15.425102    5007 run.go:72] "command failed" err=<\n\tfirst `\n\tpath: p.yaml\n\t` end\n >\n'
    assert _kustomize_error(block) == "first `\npath: p.yaml\n` end"
    assert _kustomize_error("Error: plain kustomize\n") == "Error: plain kustomize"


def test_revealed_text_is_what_the_encrypted_file_hides() -> None:
    from sops_py.integrations.kustomize import redact, revealed_text

    encrypted = b"password: ENC[AES256_GCM,data:xx,type:str]\nusername: admin\nsops:\n  mac: ENC[...]\n"
    plain = b"password: correct horse\nusername: admin\n"
    secrets = revealed_text(encrypted, plain)
    assert "correct horse" in secrets and "horse" in secrets and not any("admin" in s for s in secrets)
    assert redact("value 'correct horse' and [99 111 114 114] for admin", secrets) == \
        "value '[redacted]' and [redacted] for admin"


def test_absolute_links_inside_the_root_are_followed_in_the_copy(tmp_path: Path) -> None:
    """An absolute link to a file inside the root works as with kustomize alone, and the decrypted
    file is written in the private copy, never through the link into the user's tree."""
    root = tmp_path / "repo"
    app = root / "app"
    (app / "secrets").mkdir(parents=True)
    shared = write_encrypted(app / "secrets", "shared.enc.env", "A=1\nB=two\n", tool="sops-py")
    (app / "link.enc.env").symlink_to(shared)  # absolute
    (app / "kustomization.yaml").write_text("secretGenerator:\n- name: s\n  envs: [link.enc.env]\n"
                                            "  options: {disableNameSuffixHash: true}\n")
    before = snapshot(root)
    proc = run_cli(["kustomize", "--root", str(root), str(app)], env(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["data"] == {"A": "MQ==", "B": "dHdv"}
    assert snapshot(root) == before and os.readlink(app / "link.enc.env") == str(shared)
