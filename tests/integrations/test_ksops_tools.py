"""The KSOPS-compatible generator run by the real tools: the legacy exec plugin under
``XDG_CONFIG_HOME=... kubectl kustomize --enable-alpha-plugins`` with the launcher ``sops-py ksops
install`` writes, and the KRM function under ``kpt fn eval --exec``. Files are encrypted by the real
sops and by sops-py, with age and PGP keys."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sops_py.integrations.ksops_install import install
from tests.helpers import AGE2_KEY_FILE, GPG, gpg_gen_key, gpg_home, gpg_kill_agent
from tests.integrations.k8s_fixtures import ENV_TEXT, SECRET_YAML, env, write_encrypted
from tests.interop.sops_helpers import SOPS, requires_sops

KUBECTL = shutil.which("kubectl")
KPT = shutil.which("kpt")
pytestmark = [pytest.mark.slow, requires_sops,
              pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (.ci/run installs it)")]

GENERATOR = """apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: gen
files:
  - ./secret.enc.yaml
  - cm.enc.json
secretFrom:
- metadata:
    name: from
    labels: {app: foo}
    annotations:
      kustomize.config.k8s.io/needs-hash: "false"
  type: Opaque
  files:
  - conf=./conf.enc.ini
  binaryFiles:
  - ./blob.enc
  envs:
  - app.enc.env
"""

KUSTOMIZATION = """namespace: prod
labels:
- pairs:
    team: a
generators:
- ./gen.yaml
"""

EXPECTED = """apiVersion: v1
data:
  k: v
kind: ConfigMap
metadata:
  labels:
    team: a
  name: cm
  namespace: prod
---
apiVersion: v1
data:
  blob.enc: AAFiaW5hcnn/
kind: Secret
metadata:
  labels:
    app: foo
    team: a
  name: from
  namespace: prod
stringData:
  PASS: p@ss word
  TOKEN: abc
  USER: admin
  conf: |
    [db]
    host = x
type: Opaque
---
apiVersion: v1
kind: Secret
metadata:
  labels:
    team: a
  name: mysecret-%s
  namespace: prod
stringData:
  password: 1f2d1e2e67df
  username: admin
type: Opaque
"""


def kubectl_build(directory: Path, e: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, "kustomize", "--enable-alpha-plugins", str(directory)], capture_output=True,
                          text=True, env=e, timeout=120, check=False)


def make_app(root: Path, tool: str) -> Path:
    app = root / "app"
    app.mkdir(parents=True)
    secret = SECRET_YAML.replace("  name: mysecret\n", "  name: mysecret\n  annotations:\n"
                                 "    kustomize.config.k8s.io/needs-hash: \"true\"\n")
    write_encrypted(app, "secret.enc.yaml", secret, tool=tool, encrypted_regex="^(data|stringData)$")
    write_encrypted(app, "cm.enc.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, '
                    '"data": {"k": "v"}}', tool=tool)
    write_encrypted(app, "app.enc.env", ENV_TEXT, tool=tool)
    write_encrypted(app, "blob.enc", b"\x00\x01binary\xff", tool=tool)
    write_encrypted(app, "conf.enc.ini", "[db]\nhost = x\n", tool=tool)
    (app / "gen.yaml").write_text(GENERATOR)
    (app / "kustomization.yaml").write_text(KUSTOMIZATION)
    install(str(root / "xdg" / "kustomize" / "plugin"))
    return app


@pytest.mark.parametrize("tool", ["sops", "sops-py"])
def test_legacy_plugin_under_kubectl(tmp_path: Path, tool: str) -> None:
    app = make_app(tmp_path, tool)
    proc = kubectl_build(app, env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    name = yaml.safe_load_all(proc.stdout).__iter__()
    suffix = [d for d in name if d["kind"] == "Secret" and d["metadata"]["name"].startswith("mysecret-")]
    assert len(suffix) == 1  # needs-hash carried through: kustomize appended the content hash
    assert proc.stdout == EXPECTED % suffix[0]["metadata"]["name"].rsplit("-", 1)[1]


def test_failures_fail_the_build_naming_the_file(tmp_path: Path) -> None:
    app = make_app(tmp_path, "sops")
    e = env(tmp_path)
    base = GENERATOR.split("files:\n", 1)[0]
    tampered = app / "tampered.enc.env"
    tampered.write_text("".join(line for line in (app / "app.enc.env").read_text().splitlines(keepends=True)
                                if not line.startswith("USER=")))
    (tmp_path / "outside.enc.yaml").write_bytes((app / "secret.enc.yaml").read_bytes())
    cases = {
        "missing": (base + "files: [gone.enc.yaml]\n", e, 'error decrypting file "gone.enc.yaml"'),
        "no key": (GENERATOR, env(tmp_path, SOPS_AGE_KEY_FILE=str(AGE2_KEY_FILE)),
                   "0 successful groups required, got 0"),
        "tampered": (base + "secretFrom:\n- metadata: {name: t}\n  envs: [tampered.enc.env]\n", e, "MAC mismatch"),
        "empty": (base, e, "missing the required 'files' or 'secretFrom' key"),
        "escape": (base + "files: [../outside.enc.yaml]\n", e, 'error decrypting file "../outside.enc.yaml"'),
    }
    for what, (manifest, e_, needle) in cases.items():
        (app / "gen.yaml").write_text(manifest)
        proc = kubectl_build(app, e_)
        assert proc.returncode != 0 and proc.stdout == "", what
        assert needle in proc.stderr and "Traceback" not in proc.stderr, (what, proc.stderr)
        if what == "no key":
            assert "Group 0: FAILED" in proc.stderr and 'error decrypting file "./secret.enc.yaml"' in proc.stderr
        assert "admin" not in proc.stderr


@pytest.mark.skipif(KPT is None, reason="kpt is not installed")
def test_krm_function_under_kpt(tmp_path: Path) -> None:
    assert KPT is not None
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    secrets = pkg / "secrets"
    secrets.mkdir()
    write_encrypted(secrets, "app.enc.env", ENV_TEXT, tool="sops-py")
    (pkg / "gen.yaml").write_text(
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: gen\n  annotations:\n"
        "    config.kubernetes.io/function: |\n      exec:\n        path: ksops\n"
        "secretFrom:\n- metadata: {name: from-env}\n  envs: [secrets/app.enc.env]\n")
    deploy = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # stays\nspec:\n  replicas: 3\n")
    (pkg / "deploy.yaml").write_text(deploy)
    (launcher,) = install(str(tmp_path / "bin"), bin_dir=True)
    proc = subprocess.run([KPT, "fn", "eval", ".", "--exec", launcher, "-o", "unwrap"], cwd=pkg,
                          capture_output=True, text=True, env=env(tmp_path), timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = list(yaml.safe_load_all(proc.stdout))
    assert docs[0] == yaml.safe_load(deploy) and "name: web # stays" in proc.stdout
    (secret,) = [d for d in docs if d.get("kind") == "Secret"]
    assert secret == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "from-env"},
                      "stringData": {"USER": "admin", "PASS": "p@ss word", "TOKEN": "abc"}}
    assert not [d for d in docs if d.get("kind") == "ksops"]
    (pkg / "gen.yaml").write_text((pkg / "gen.yaml").read_text().replace("app.enc.env", "gone.env"))
    bad = subprocess.run([KPT, "fn", "eval", ".", "--exec", launcher, "-o", "unwrap"], cwd=pkg,
                         capture_output=True, text=True, env=env(tmp_path), timeout=120, check=False)
    assert bad.returncode != 0 and 'error decrypting file "secrets/gone.env"' in bad.stdout + bad.stderr


@pytest.mark.skipif(GPG is None, reason="gpg is not installed")
def test_pgp_files_under_kubectl(tmp_path: Path) -> None:
    home = gpg_home(tmp_path / "gnupg")
    try:
        fp = gpg_gen_key(home, "ksops test <ksops@example.com>")
        app = tmp_path / "app"
        app.mkdir()
        e = env(tmp_path, GNUPGHOME=str(home))
        del e["SOPS_AGE_KEY_FILE"]
        for i in range(3):
            plain = tmp_path / f"s{i}.yaml"
            plain.write_text(SECRET_YAML.replace("mysecret", f"pgp{i}"))
            assert SOPS is not None
            out = subprocess.run([SOPS, "encrypt", "--pgp", fp, str(plain)], capture_output=True, env=e,
                                 timeout=60, check=True).stdout
            (app / f"s{i}.enc.yaml").write_bytes(out)
            plain.unlink()
        (app / "gen.yaml").write_text("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: g}\n"
                                      "files: [s0.enc.yaml, s1.enc.yaml, s2.enc.yaml]\n")
        (app / "kustomization.yaml").write_text("generators: [gen.yaml]\n")
        install(str(tmp_path / "xdg" / "kustomize" / "plugin"))
        proc = kubectl_build(app, e)
        assert proc.returncode == 0, proc.stderr
        docs = list(yaml.safe_load_all(proc.stdout))
        assert sorted(d["metadata"]["name"] for d in docs) == ["pgp0", "pgp1", "pgp2"]
        assert all(d["stringData"]["password"] == "1f2d1e2e67df" for d in docs)
    finally:
        gpg_kill_agent(home)


def test_keyless_build_under_kubectl_needs_no_key(tmp_path: Path) -> None:
    """SOPS_PY_KSOPS_KEYLESS=1 with no key at all: the same objects, names and keys, placeholders for
    the values, no plaintext; the placeholders change only for the file whose ciphertext changed."""
    app = make_app(tmp_path, "sops")
    e = env(tmp_path, SOPS_PY_KSOPS_KEYLESS="1")
    del e["SOPS_AGE_KEY_FILE"]
    whole = kubectl_build(app, e)  # cm.enc.json is encrypted whole: its kind cannot be shown
    assert whole.returncode != 0 and 'error decrypting file "cm.enc.json" from manifest.Files: keyless mode cannot ' \
        "show this object: its apiVersion is encrypted" in whole.stderr, whole.stderr
    (app / "gen.yaml").write_text(GENERATOR.replace("  - cm.enc.json\n", ""))
    proc = kubectl_build(app, e)
    assert proc.returncode == 0, proc.stderr
    docs = {(d["kind"], d["metadata"]["name"].split("-")[0]): d for d in yaml.safe_load_all(proc.stdout)}
    assert set(docs) == {("Secret", "from"), ("Secret", "mysecret")}
    secret = docs[("Secret", "from")]
    assert set(secret["stringData"]) == {"PASS", "TOKEN", "USER", "conf"} and set(secret["data"]) == {"blob.enc"}
    assert all(v.startswith("sops-py-keyless-") for v in secret["stringData"].values())
    assert secret["metadata"]["namespace"] == "prod" and secret["metadata"]["labels"] == {"app": "foo", "team": "a"}
    assert docs[("Secret", "mysecret")]["metadata"]["name"].startswith("mysecret-")  # needs-hash still honoured
    for plain in ("admin", "1f2d1e2e67df", "p@ss word", "host = x"):
        assert plain not in proc.stdout
    write_encrypted(app, "app.enc.env", ENV_TEXT.replace("admin", "root"))  # re-encrypted: new ciphertext
    again = kubectl_build(app, e)
    assert again.returncode == 0, again.stderr
    changed = difflines(proc.stdout, again.stdout)
    assert changed and all(line.lstrip("+- ").startswith(("PASS:", "TOKEN:", "USER:")) for line in changed)
    without = kubectl_build(app, {k: v for k, v in e.items() if k != "SOPS_PY_KSOPS_KEYLESS"})
    assert without.returncode != 0 and "0 successful groups required" in without.stderr  # keys are needed again


def difflines(a: str, b: str) -> list[str]:
    import difflib

    return [line for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_hostile_paths_fail_the_kubectl_build(tmp_path: Path) -> None:
    """``..``, absolute paths and symbolic links leading out of the kustomization fail the build, with
    the reference named, and never print what the file holds; a link inside it is followed."""
    app = make_app(tmp_path, "sops")
    e = env(tmp_path)
    outside = tmp_path / "outside.enc.yaml"
    outside.write_bytes((app / "secret.enc.yaml").read_bytes())
    (app / "link-out.enc.yaml").symlink_to(outside)
    (app / "sub").mkdir()
    (app / "sub" / "up.enc.yaml").symlink_to("../../outside.enc.yaml")
    (app / "link-in.enc.yaml").symlink_to("secret.enc.yaml")
    base = GENERATOR.split("files:\n", 1)[0]
    for ref in ("../outside.enc.yaml", str(outside), "link-out.enc.yaml", "sub/up.enc.yaml",
                "sub/../../outside.enc.yaml"):
        for section in (f"files: [{ref!r}]\n", f"secretFrom:\n- metadata: {{name: s}}\n  files: [k={ref}]\n"):
            (app / "gen.yaml").write_text(base + section)
            proc = kubectl_build(app, e)
            assert proc.returncode != 0 and proc.stdout == "", (ref, section)
            assert f'error decrypting file "{ref}"' in proc.stderr and "security;" in proc.stderr, proc.stderr
            assert "admin" not in proc.stderr and "Traceback" not in proc.stderr
    (app / "gen.yaml").write_text(base + "files: [link-in.enc.yaml]\n")
    ok = kubectl_build(app, e)
    assert ok.returncode == 0 and "username: admin" in ok.stdout, ok.stderr


@pytest.mark.parametrize("behavior", ["merge", "replace"])
def test_behavior_annotation_merges_into_or_replaces_a_base_secret(tmp_path: Path, behavior: str) -> None:
    base, overlay = tmp_path / "base", tmp_path / "overlay"
    base.mkdir()
    overlay.mkdir()
    (base / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\n"
                                      "data:\n  from-base: a2VwdA==\n")
    (base / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    write_encrypted(overlay, "app.enc.env", ENV_TEXT, tool="sops-py")
    (overlay / "gen.yaml").write_text(
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: g}\nsecretFrom:\n- metadata:\n    name: app\n"
        f"    annotations:\n      kustomize.config.k8s.io/behavior: {behavior}\n"
        "      kustomize.config.k8s.io/needs-hash: \"false\"\n  type: Opaque\n  envs: [app.enc.env]\n")
    (overlay / "kustomization.yaml").write_text("resources: [../base]\ngenerators: [gen.yaml]\n")
    install(str(tmp_path / "xdg" / "kustomize" / "plugin"))
    proc = kubectl_build(overlay, env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (secret,) = yaml.safe_load_all(proc.stdout)
    assert secret["metadata"] == {"name": "app"}  # kustomize consumed the generator annotations
    assert secret["stringData"] == {"USER": "admin", "PASS": "p@ss word", "TOKEN": "abc"}
    assert secret.get("data") == ({"from-base": "a2VwdA=="} if behavior == "merge" else None)
