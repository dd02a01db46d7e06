"""The KSOPS-compatible generator in-process: manifests, outputs, errors, KRM ResourceLists, keyless mode
and the sops-py extensions (the runs under real kubectl and kpt are in test_ksops_tools.py)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
import yaml

from sops_py import Keys
from sops_py.integrations.ksops import GeneratorError, Options, generate, parse_manifest, render, to_objects
from sops_py.integrations.ksops_install import install
from sops_py.integrations.ksops_krm import KrmFailure, run_krm
from tests.helpers import AGE2_KEY_FILE, AGE_KEY_FILE
from tests.integrations.k8s_fixtures import ENV_TEXT, SECRET_YAML, env, run_cli, write_encrypted
from tests.interop.sops_helpers import requires_sops

pytestmark = requires_sops

GEN = """apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: gen
"""


def options(root: Path, key: Path = AGE_KEY_FILE, **kw: object) -> Options:
    return Options(str(root), Keys(age_key_file=str(key), environ={}), environ={}, **kw)  # type: ignore[arg-type]


def run(root: Path, manifest: str, **kw: object) -> bytes:
    return render(generate(parse_manifest(manifest), options(root, **kw)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kustomization directory with files encrypted by sops and by sops-py."""
    d = tmp_path_factory.mktemp("ksops") / "app"
    d.mkdir()
    write_encrypted(d, "secret.enc.yaml", SECRET_YAML, encrypted_regex="^(data|stringData)$")
    write_encrypted(d, "py.enc.yaml", SECRET_YAML.replace("mysecret", "pysecret"), tool="sops-py",
                    encrypted_regex="^(data|stringData)$")
    write_encrypted(d, "cm.enc.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, '
                    '"data": {"k": "v"}}')
    write_encrypted(d, "app.enc.env", ENV_TEXT)
    write_encrypted(d, "py.enc.env", "EXTRA=1\nUSER=override\n", tool="sops-py")
    write_encrypted(d, "blob.enc", b"\x00\x01binary\xff")
    write_encrypted(d, "conf.enc.ini", "[db]\nhost = x\n")
    return d


def test_files_are_emitted_as_decrypted_with_ksops_separators(app: Path) -> None:
    out = run(app, GEN + "files:\n  - ./secret.enc.yaml\n  - py.enc.yaml\n  - cm.enc.json\n")
    docs = out.split(b"\n---\n")
    assert len(docs) == 3 and not out.endswith(b"---\n")
    assert yaml.safe_load(docs[0]) == yaml.safe_load(SECRET_YAML)
    assert yaml.safe_load(docs[1])["metadata"]["name"] == "pysecret"
    assert docs[2].startswith(b'{\n\t"apiVersion": "v1"')  # the JSON file as sops prints it


def test_secret_from_files_binary_files_and_envs(app: Path) -> None:
    manifest = GEN + """secretFrom:
- metadata:
    name: from
    namespace: ns
    labels: {app: foo}
    annotations:
      kustomize.config.k8s.io/needs-hash: "false"
      kustomize.config.k8s.io/behavior: merge
  type: Opaque
  files:
  - conf.enc.ini
  - renamed=./conf.enc.ini
  binaryFiles:
  - bin=./blob.enc
  envs:
  - app.enc.env
  - py.enc.env
"""
    out = run(app, manifest).decode()
    assert out == """apiVersion: v1
data:
  bin: AAFiaW5hcnn/
kind: Secret
metadata:
  annotations:
    kustomize.config.k8s.io/behavior: merge
    kustomize.config.k8s.io/needs-hash: "false"
  labels:
    app: foo
  name: from
  namespace: ns
stringData:
  EXTRA: "1"
  PASS: p@ss word
  TOKEN: abc
  USER: override
  conf.enc.ini: |
    [db]
    host = x
  renamed: |
    [db]
    host = x
type: Opaque
"""


def test_files_then_secrets_joined_without_trailing_separator(app: Path) -> None:
    out = run(app, GEN + "files: [secret.enc.yaml]\nsecretFrom:\n- metadata: {name: a}\n  envs: [app.enc.env]\n"
              "- metadata: {name: b}\n  envs: [py.enc.env]\n").decode()
    assert out.count("---\n") == 2 and not out.endswith("---\n")
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(out)] == ["mysecret", "a", "b"]


def test_extensions_emit_data_and_config_map(app: Path) -> None:
    out = run(app, GEN + "emitData: true\nsecretFrom:\n- metadata: {name: s}\n  envs: [py.enc.env]\n"
              "configMapFrom:\n- metadata: {name: c}\n  files: [conf=conf.enc.ini]\n  binaryFiles: [blob.enc]\n"
              "  envs: [py.enc.env]\n").decode()
    secret, cm = yaml.safe_load_all(out)
    assert "stringData" not in secret
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {"EXTRA": "1", "USER": "override"}
    assert cm["kind"] == "ConfigMap" and cm["data"] == {"EXTRA": "1", "USER": "override", "conf": "[db]\nhost = x\n"}
    assert base64.b64decode(cm["binaryData"]["blob.enc"]) == b"\x00\x01binary\xff"


def test_keyless_mode_needs_no_key_and_marks_changes(app: Path, tmp_path: Path) -> None:
    manifest = GEN + "files: [secret.enc.yaml]\nsecretFrom:\n- metadata: {name: s}\n  files: [conf.enc.ini]\n" \
                     "  envs: [app.enc.env]\n"
    out = run(app, manifest, key=tmp_path / "no-such-key", keyless=True).decode()
    first, second = yaml.safe_load_all(out)
    assert first["metadata"]["name"] == "mysecret" and "sops" not in first
    assert set(first["stringData"]) == {"username", "password"}
    assert all(v.startswith("sops-py-keyless-") for v in first["stringData"].values())
    assert set(second["stringData"]) == {"USER", "PASS", "TOKEN", "conf.enc.ini"}
    assert "admin" not in out and "1f2d1e2e67df" not in out
    assert run(app, manifest, key=tmp_path / "x", keyless=True).decode() == out  # stable


def test_keyless_mode_refuses_an_object_whose_identity_is_encrypted(app: Path, tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as e:
        run(app, GEN + "files: [secret.enc.yaml, cm.enc.json]\n", key=tmp_path / "none", keyless=True)
    assert str(e.value) == ('error decrypting file "cm.enc.json" from manifest.Files: keyless mode cannot show this '
                            "object: its apiVersion is encrypted (encrypt Kubernetes objects with --encrypted-regex "
                            "'^(data|stringData)$')")


def test_missing_file_is_named(app: Path) -> None:
    with pytest.raises(GeneratorError) as e:
        run(app, GEN + "files: [secret.enc.yaml, nope.enc.yaml]\n")
    assert str(e.value) == ('error decrypting file "nope.enc.yaml" from manifest.Files: error reading '
                            '"nope.enc.yaml": open nope.enc.yaml: no such file or directory')


def test_file_no_key_opens_gets_the_per_key_report(app: Path) -> None:
    with pytest.raises(GeneratorError) as e:
        run(app, GEN + "secretFrom:\n- metadata: {name: s}\n  envs: [app.enc.env]\n", key=AGE2_KEY_FILE)
    text = str(e.value)
    assert text.startswith('error decrypting file "app.enc.env" from secretFrom.Envs: trouble decrypting file: '
                           "Error getting data key: 0 successful groups required, got 0\n")
    assert "Group 0: FAILED" in text and "age1" in text


def test_tampered_file_fails_the_mac(app: Path, tmp_path: Path) -> None:
    d = tmp_path / "t"
    d.mkdir()
    f = write_encrypted(d, "s.enc.env", "A=1\nB=2\n")
    f.write_text("".join(line for line in f.read_text().splitlines(keepends=True) if not line.startswith("B=")))
    with pytest.raises(GeneratorError) as e:
        run(d, GEN + "secretFrom:\n- metadata: {name: s}\n  envs: [s.enc.env]\n")
    assert str(e.value).startswith('error decrypting file "s.enc.env" from secretFrom.Envs: trouble decrypting file:')
    assert "MAC mismatch" in str(e.value) and "1\n" not in str(e.value)


def test_manifest_without_files_or_secret_from() -> None:
    with pytest.raises(GeneratorError, match="missing the required 'files' or 'secretFrom' key"):
        parse_manifest(GEN)


@pytest.mark.parametrize("ref", ["../outside.enc.yaml", "/etc/passwd", "link.enc.yaml"])
def test_paths_escaping_the_kustomization_are_refused(tmp_path: Path, ref: str) -> None:
    root = tmp_path / "k"
    root.mkdir()
    outside = write_encrypted(tmp_path, "outside.enc.yaml", SECRET_YAML)
    (root / "link.enc.yaml").symlink_to(outside)
    with pytest.raises(GeneratorError) as e:
        run(root, GEN + f"files: [{ref}]\n")
    assert str(e.value).startswith(f'error decrypting file "{ref}" from manifest.Files: security;')
    assert b"admin" in run(root, GEN + f"files: [{ref}]\n", restricted=False) if ref != "/etc/passwd" else True


def test_key_path_with_two_equals_signs(app: Path) -> None:
    with pytest.raises(GeneratorError, match="invalid format in file generator a=b=c"):
        run(app, GEN + "secretFrom:\n- files: [a=b=c]\n")


# ------------------------------------------------------------------ KRM ResourceLists


RESOURCE_LIST = """apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web # a comment that stays
    spec:
      replicas: 3
      template: {metadata: {labels: {"on": "yes", v: "010"}}}
  - apiVersion: viaduct.ai/v1
    kind: ksops
    metadata:
      name: gen
      annotations:
        config.kubernetes.io/local-config: "true"
    files: [secret.enc.yaml]
    secretFrom:
      - metadata: {name: envs}
        envs: [app.enc.env]
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: fn-config}
"""


def test_krm_items_replaced_and_others_passed_through(app: Path) -> None:
    out = yaml.safe_load(run_krm(RESOURCE_LIST.encode(), options(app)))
    inp = yaml.safe_load(RESOURCE_LIST)
    assert out["functionConfig"] == inp["functionConfig"]
    assert out["items"][0] == inp["items"][0]
    assert [i["metadata"]["name"] for i in out["items"]] == ["web", "mysecret", "envs"]
    assert out["items"][2]["stringData"] == {"USER": "admin", "PASS": "p@ss word", "TOKEN": "abc"}
    assert b"# a comment that stays" in run_krm(RESOURCE_LIST.encode(), options(app))


def test_krm_function_config_generates_when_no_item_does(app: Path) -> None:
    rl = ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n"
          "  apiVersion: viaduct.ai/v2\n  kind: ksops\n  metadata: {name: g}\n  files: [cm.enc.json]\n")
    out = yaml.safe_load(run_krm(rl.encode(), options(app)))
    assert out["items"] == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}]


def test_krm_failure_goes_to_results(app: Path) -> None:
    rl = RESOURCE_LIST.replace("files: [secret.enc.yaml]", "files: [gone.enc.yaml]")
    with pytest.raises(KrmFailure) as e:
        run_krm(rl.encode(), options(app))
    out = yaml.safe_load(e.value.output)
    assert out["items"] == yaml.safe_load(rl)["items"]
    assert out["results"][0]["severity"] == "error"
    assert 'error decrypting file "gone.enc.yaml"' in out["results"][0]["message"]


def test_krm_rejects_a_non_manifest_file(app: Path) -> None:
    rl = RESOURCE_LIST.replace("files: [secret.enc.yaml]", "files: [blob.enc]")
    with pytest.raises(KrmFailure, match="holds no Kubernetes object"):
        run_krm(rl.encode(), options(app))


def test_to_objects_parses_json_manifests(app: Path) -> None:
    objs = to_objects(generate(parse_manifest(GEN + "files: [cm.enc.json]\n"), options(app)))
    assert [dict(o)["kind"] for o in objs] == ["ConfigMap"]


# ------------------------------------------------------------------ the command and its launchers


def test_cli_legacy_and_krm_and_errors(app: Path, tmp_path: Path) -> None:
    e = env(tmp_path)
    (tmp_path / "gen.yaml").write_text(GEN + "files: [secret.enc.yaml]\n")
    ok = run_cli(["ksops", str(tmp_path / "gen.yaml")], e, app)
    assert ok.returncode == 0 and yaml.safe_load(ok.stdout)["stringData"]["username"] == "admin"
    krm = run_cli(["ksops"], e, app, input=RESOURCE_LIST.encode())
    assert krm.returncode == 0 and b"p@ss word" in krm.stdout
    (tmp_path / "bad.yaml").write_text(GEN + "files: [missing.enc.yaml]\n")
    bad = run_cli(["ksops", str(tmp_path / "bad.yaml")], e, app)
    assert bad.returncode == 1 and bad.stdout == b""
    assert bad.stderr.decode() == ('unable to generate manifests: error decrypting file "missing.enc.yaml" from '
                                   'manifest.Files: error reading "missing.enc.yaml": open missing.enc.yaml: no '
                                   'such file or directory\n')
    bad_krm = run_cli(["ksops"], e, app, input=RESOURCE_LIST.replace("app.enc.env", "x.env").encode())
    assert bad_krm.returncode == 1 and b"severity: error" in bad_krm.stdout
    assert b"Traceback" not in bad.stderr + bad_krm.stderr
    many = run_cli(["ksops", "a", "b"], e, app)
    assert many.returncode == 1 and b"too many args" in many.stderr


def test_cli_refuses_a_terminal_on_stdin(app: Path, tmp_path: Path) -> None:
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "sops_py", "ksops"], stdin=slave, capture_output=True,
                              env=env(tmp_path), cwd=app, timeout=60, check=False)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 1 and b"no ResourceList on stdin" in proc.stderr


def test_install_writes_executable_launchers(tmp_path: Path) -> None:
    paths = install(str(tmp_path / "plugin"))
    assert paths == [str(tmp_path / "plugin" / "viaduct.ai" / v / "ksops" / "ksops") for v in ("v1", "v2")]
    (bin_path,) = install(str(tmp_path / "bin"), bin_dir=True)
    for p in [*paths, bin_path]:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o755
        text = Path(p).read_text()
        assert text.startswith("#!/bin/sh\n") and '-m sops_py ksops "$@"' in text


def test_install_command(tmp_path: Path) -> None:
    proc = run_cli(["ksops", "install", "--bin", str(tmp_path / "b")], env(tmp_path), tmp_path)
    assert proc.returncode == 0 and (tmp_path / "b" / "ksops").exists()
    assert proc.stderr.decode() == f"installed {tmp_path / 'b' / 'ksops'}\n"
    usage = run_cli(["ksops", "install"], env(tmp_path), tmp_path)
    assert usage.returncode == 1 and b"install requires a destination directory" in usage.stderr


# ------------------------------------------------------------------ review fixes: KSOPS' reading of metadata, key order


def test_metadata_is_read_as_kustomize_object_meta(app: Path) -> None:
    """KSOPS reads metadata into kustomize's ObjectMeta: only name, namespace, labels and annotations
    survive; a manifest without metadata still gets ``metadata: {}``."""
    out = run(app, GEN + "secretFrom:\n- metadata:\n    name: s\n    generateName: x-\n    finalizers: [f]\n"
                         "    labels: {a: b}\n  envs: [py.enc.env]\n- envs: [py.enc.env]\n").decode()
    first, second = yaml.safe_load_all(out)
    assert first["metadata"] == {"name": "s", "labels": {"a": "b"}}
    assert "metadata: {}\n" in out and second["metadata"] == {}


@pytest.mark.parametrize(("meta", "message"), [
    ("{name: s, labels: {version: 2}}", "secretFrom.metadata.labels.version must be a string (quote it)"),
    ("{name: s, annotations: {on: true}}", "secretFrom.metadata.annotations.on must be a string (quote it)"),
    ("{name: 12}", "secretFrom.metadata.name must be a string"),
    ("[a]", "secretFrom.metadata must be a mapping"),
])
def test_metadata_values_that_ksops_cannot_read_are_refused(app: Path, meta: str, message: str) -> None:
    with pytest.raises(GeneratorError) as e:
        run(app, GEN + f"secretFrom:\n- metadata: {meta}\n  envs: [py.enc.env]\n")
    assert str(e.value) == message


def test_generated_keys_come_in_go_yaml_order(tmp_path: Path) -> None:
    """Digit runs compare as numbers and a non-letter sorts before a letter, as KSOPS' marshaller sorts
    (Python's sorted() would give K10 before K9 and A before _X)."""
    d = tmp_path / "k"
    d.mkdir()
    write_encrypted(d, "s.enc.env", "K10=a\nK9=b\nA=c\n_X=d\na=e\nK2b=f\n")
    out = run(d, GEN + "secretFrom:\n- metadata: {name: s}\n  envs: [s.enc.env]\n").decode()
    assert list(yaml.safe_load(out)["stringData"]) == ["_X", "A", "K2b", "K9", "K10", "a"]


# go-yaml v2's order is not a total order where digit runs have leading zeros ("b2", "b02", "b2x" can
# come out either way, depending on Go's random map order), so the sample has none of those
KEY_SAMPLE = ["K10", "K9", "K1", "K0", "_X", "A", "a", "Z", "z", "b2", "b2x", "b20", "x.y", "x-y", "x_y", "x1y", "xy",
              "x", "1", "10", "9", "0", "a0b", "a1b", "é", "e", "E", "A1", "A_", "A.", "A-", "A10b", "A9b", "A9", "A0",
              "ab", "abc", "a.b.c", "v1.2.10", "v1.2.9", "v1.10.0", "db-host-2", "db-host-12", "DB_PORT", "db_port"]


@pytest.mark.skipif(__import__("shutil").which("kubectl") is None, reason="kubectl is not installed")
def test_go_yaml_key_order_matches_kustomize(tmp_path: Path) -> None:
    """kustomize (Go, the same go-yaml v2 sorter as KSOPS' sigs.k8s.io/yaml) is the oracle."""
    import json
    import subprocess

    from sops_py.integrations.ksops_manifest import go_yaml_key_order

    (tmp_path / "r.json").write_text(json.dumps({"apiVersion": "example.com/v1", "kind": "Thing",  # every key a string
                                                 "metadata": {"name": "t"}, "spec": {k: "v" for k in KEY_SAMPLE}}))
    (tmp_path / "kustomization.yaml").write_text("resources: [r.json]\n")
    proc = subprocess.run(["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=120,
                          check=True)
    assert list(yaml.safe_load(proc.stdout)["spec"]) == go_yaml_key_order(list(KEY_SAMPLE))


def test_neither_import_nor_cli_start_up_loads_the_kubernetes_integrations() -> None:
    import subprocess
    import sys

    probe = ("import sys, io, contextlib\nimport sops_py\nsys.argv = ['sops-py', '--help']\n"
             "from sops_py.cli.main import main\n"
             "try:\n    with contextlib.redirect_stdout(io.StringIO()):\n        main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('sops_py.integrations.')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    """A FIFO would block the build and /dev/zero would exhaust memory: both are refused at once."""
    root = tmp_path / "k"
    root.mkdir()
    os.mkfifo(root / "pipe.enc.yaml")
    with pytest.raises(GeneratorError) as e:
        run(root, GEN + "files: [pipe.enc.yaml]\n")
    assert str(e.value) == ('error decrypting file "pipe.enc.yaml" from manifest.Files: error reading '
                            '"pipe.enc.yaml": read pipe.enc.yaml: not a regular file')
    with pytest.raises(GeneratorError, match="read /dev/zero: not a regular file"):
        run(root, GEN + "secretFrom:\n- files: [/dev/zero]\n", restricted=False)
    with pytest.raises(GeneratorError, match='error reading ".": read .: is a directory'):
        run(root, GEN + "files: [.]\n")
