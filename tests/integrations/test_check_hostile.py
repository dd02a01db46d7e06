"""``sops-py check`` against a PR author who tries to sneak plaintext past it: text in the sops
metadata block that sops never reads (unknown entries, comments, a second document's block, a
version or data key that is not one), a file encrypted by hand under weaker rules than its
``.sops.yaml`` rule, and the fixer's exit code. Every case here passed the check before it was
hardened; files the real sops writes (every format, PGP too) must still pass."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sops_py import api
from sops_py.integrations.check_meta import load
from sops_py.stores import format_for_path
from tests.cli.cli_harness import Run, run_py
from tests.helpers import AGE_RECIPIENT
from tests.integrations.check_fixtures import PLAIN, SECRET, encrypt, keys, make_repo, write
from tests.interop.sops_helpers import SOPS

BY = ["sops", "py"] if SOPS is not None else ["py"]
TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "sops"


def check(root: Path, *args: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    run = run_py(["check", *args], env=env, cwd=root)
    assert SECRET not in run.out and SECRET not in run.err, "a secret value was printed"
    assert "Traceback" not in run.err
    return run


def lines(run: Run) -> list[str]:
    return [ln for ln in run.out.splitlines() if not ln.startswith("sops-py check:")]


def line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().split("\n"), 1) if needle in ln)


@pytest.fixture(scope="module", params=BY)
def template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_repo(tmp_path_factory.mktemp(f"hostile-{request.param}") / "repo", git=False)
    for rel in PLAIN:
        encrypt(root, rel, request.param)
    return root


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "repo"))


# ------------------------------------------------------------------ text sops never reads


def _insert_after(path: Path, anchor: str, text: str) -> None:
    body = path.read_text()
    at = body.index(anchor) + len(anchor)
    path.write_text(body[:at] + text + body[at:])


UNKNOWN = [  # (file, how to add an entry sops ignores, the text on its line)
    ("secrets/app.yaml", lambda p: _insert_after(p, "\nsops:\n", f"    password: {SECRET}\n"), "password:"),
    ("secrets/app.env", lambda p: p.write_text(p.read_text() + f"sops_password={SECRET}\n"), "sops_password="),
    ("secrets/app.ini", lambda p: p.write_text(p.read_text() + f"password = {SECRET}\n"), "password ="),
]


@pytest.mark.parametrize(("rel", "add", "needle"), UNKNOWN)
def test_unknown_metadata_entry_fails(repo: Path, rel: str, add: object, needle: str) -> None:
    path = repo / rel
    add(path)  # type: ignore[operator]
    run = check(repo, rel)
    assert run.code == 1
    assert lines(run) == [f"{rel}:{line_of(path, needle)}: sops.password is not a field sops reads: sops ignores "
                          "it, it stays in the file as plaintext"]


@pytest.mark.parametrize("rel", ["secrets/app.json", "secrets/blob.bin"])
def test_unknown_nested_metadata_entry_in_json_fails(repo: Path, rel: str) -> None:
    path = repo / rel
    doc = json.loads(path.read_text())
    doc["sops"]["age"][0]["note"] = f"{SECRET}-nested"
    path.write_text(json.dumps(doc, indent=4))
    run = check(repo, rel)
    note = line_of(path, '"note"')
    assert lines(run) == [f"{rel}:{note}: sops.age[0].note is not a field sops reads: sops "
                          "ignores it, it stays in the file as plaintext"]


def test_comment_in_metadata_fails_where_the_rules_encrypt_comments(repo: Path) -> None:
    path = repo / "secrets/app.yaml"
    _insert_after(path, "\nsops:\n", f"    # the password is {SECRET}\n")
    run = check(repo, "secrets/app.yaml")
    assert lines(run) == [f"secrets/app.yaml:{line_of(path, '# the password')}: a plaintext comment in the sops "
                          "metadata, which sops drops and the file's rules would encrypt"]
    k8s = repo / "k8s/secret.yaml"  # encrypted_regex leaves comments clear: so may the block's
    _insert_after(k8s, "\nsops:\n", "    # rotated by the platform team\n")
    assert check(repo, "k8s/secret.yaml").code == 0


def test_comment_in_ini_sops_section_fails(repo: Path) -> None:
    path = repo / "secrets/app.ini"
    _insert_after(path, "[sops]\n", f"; {SECRET}\n")
    run = check(repo, "secrets/app.ini")
    assert lines(run) == [f"secrets/app.ini:{line_of(path, '; ')}: a plaintext comment in the sops metadata, which "
                          "sops drops and the file's rules would encrypt"]


def test_second_documents_sops_entry_is_audited(repo: Path) -> None:
    path = repo / "secrets/multi.yaml"
    text = path.read_text()
    start = text.rindex("\nsops:\n") + 1  # the second document's block: sops drops it unread
    path.write_text(text[:start] + f"sops: {SECRET}\n")
    run = check(repo, "secrets/multi.yaml")
    assert lines(run) == [f"secrets/multi.yaml:{line_of(path, 'sops: S3')}: a sops entry of document 2 that is not "
                          "a mapping (sops ignores it: it stays in the file as plaintext)"]
    path.write_text(text[:start] + text[start:].replace("    lastmodified:", f"    leak: {SECRET}\n    lastmodified:"))
    run = check(repo, "secrets/multi.yaml")
    assert lines(run) == [f"secrets/multi.yaml:{line_of(path, 'leak:')}: sops.leak of document 2 is not a field sops "
                          "reads: sops ignores it, it stays in the file as plaintext"]


def test_version_and_data_key_must_have_sops_shape(repo: Path) -> None:
    path = repo / "secrets/app.yaml"
    text = path.read_text()
    version = text.split("    version: ")[1].split("\n")[0]
    path.write_text(text.replace(f"    version: {version}", f"    version: {version}-{SECRET}"))
    run = check(repo, "secrets/app.yaml")
    assert lines(run) == [f"secrets/app.yaml:{line_of(path, 'version:')}: sops.version is not a sops version number: "
                          "sops never writes that, it may be plaintext"]
    env = repo / "secrets/app.env"
    env_text = env.read_text()
    enc = env_text.split("sops_age__list_0__map_enc=")[1].split("\n")[0]
    env.write_text(env_text.replace(enc, f"{SECRET}-pasted-here"))
    run = check(repo, "secrets/app.env")
    assert lines(run) == [f"secrets/app.env:{line_of(env, 'map_enc=')}: sops.age[0].enc is not an encrypted age data "
                          "key: sops never writes that, it may be plaintext"]


def test_files_sops_wrote_have_a_clean_metadata_block(tmp_path: Path) -> None:
    """No false positive: every metadata form in testdata (real sops 3.11: kms, gcp_kms, hc_vault, age,
    key groups, shamir, flat stores, mac_only_encrypted), and the empty lists and nulls older sops
    versions wrote."""
    seen = 0
    for path in sorted(TESTDATA.iterdir()):
        data = path.read_bytes()
        if b"ENC[AES256_GCM" not in data:
            continue
        fmt = format_for_path(path.name.replace(".enc", ""))
        _, md, audit = load(fmt, data)
        assert audit.findings(data.decode(), md) == [], path.name
        seen += 1
    assert seen >= 10
    old = (TESTDATA / "basic.enc.yaml").read_text().replace(
        "sops:\n", "sops:\n    kms: []\n    gcp_kms: []\n    azure_kv: []\n    hc_vault: []\n    pgp: []\n", 1)
    _, md, audit = load("yaml", old.encode())
    assert audit.findings(old, md) == []
    doc = json.loads((TESTDATA / "basic.enc.json").read_text())
    doc["sops"].update(kms=None, gcp_kms=None, azure_kv=None, hc_vault=None, pgp=None)
    old = json.dumps(doc)
    _, md, audit = load("json", old.encode())
    assert audit.findings(old, md) == []


@pytest.mark.skipif(SOPS is None or shutil.which("gpg") is None, reason="needs the real sops and gpg")
def test_real_sops_pgp_files_pass(tmp_path: Path) -> None:
    import subprocess

    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {"PATH": os.environ["PATH"], "GNUPGHOME": str(home), "HOME": str(tmp_path)}
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "t <t@example.org>",
                    "default", "default", "never"], env=env, check=True, capture_output=True)
    listing = subprocess.run(["gpg", "--list-keys", "--with-colons"], env=env, check=True, capture_output=True,
                             text=True).stdout
    fp = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr"))
    write(tmp_path, ".sops.yaml", f"creation_rules:\n    - pgp: {fp}\n")
    for name, text in (("a.yaml", "a: 1\n"), ("a.json", '{"a": 1}'), ("a.env", "A=1\n"), ("a.ini", "[s]\na = 1\n")):
        write(tmp_path, f"p-{name}", text)
        out = subprocess.run([str(SOPS), "encrypt", f"p-{name}"], cwd=tmp_path, env=env, check=True,
                             capture_output=True).stdout
        write(tmp_path, name, out)
        os.remove(tmp_path / f"p-{name}")
    run = check(tmp_path, "a.yaml", "a.json", "a.env", "a.ini")
    assert (run.code, lines(run)) == (0, []), run.out


# ------------------------------------------------------------------ the file's rules against .sops.yaml


def _encrypt_with(root: Path, rel: str, plain: str, **rule: object) -> Path:
    """``rel`` encrypted by sops-py with rules of its own (as ``sops encrypt --encrypted-regex ...``)."""
    path = write(root, rel, plain)
    out = api.encrypt(plain.encode(), format_for_path(rel), keys=keys(),  # type: ignore[arg-type]
                      config=str(root / ".sops.yaml"), path=path, **rule)
    path.write_bytes(out)
    return path


def test_file_encrypted_under_weaker_rules_fails(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {}, git=False)
    path = _encrypt_with(root, "secrets/weak.yaml", f"password: {SECRET}-p\napi_key: {SECRET}-k\n",
                         encrypted_regex="^password$")
    run = check(root, "secrets/weak.yaml")
    sops_line = line_of(path, "sops:")
    differ = ("secrets/weak.yaml:{}: {}encryption rules differ from .sops.yaml (the file records encrypted_regex, the "
              "rule unencrypted_suffix): re-encrypt it (`sops-py decrypt -i secrets/weak.yaml`, then `sops-py encrypt "
              "-i secrets/weak.yaml`)")
    assert run.code == 1
    assert lines(run) == ["secrets/weak.yaml:2: a plaintext value at api_key, which .sops.yaml's rule encrypts (the "
                          "rules the file records do not)", differ.format(sops_line, "warning: ")]
    strict = check(root, "--strict-keys", "secrets/weak.yaml")
    assert lines(strict)[1] == differ.format(sops_line, "")


def test_file_encrypting_more_than_its_rule_only_warns(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"k8s/secret.yaml": PLAIN["k8s/secret.yaml"]}, git=False)
    path = root / "k8s/secret.yaml"  # everything encrypted, where the rule encrypts data and stringData only
    path.write_bytes(api.encrypt(path.read_bytes(), "yaml", keys=keys(), config=False, age=AGE_RECIPIENT))
    run = check(root)
    assert run.code == 0
    assert lines(run) == [f"k8s/secret.yaml:{line_of(path, 'sops:')}: warning: encryption rules differ from .sops.yaml "
                          "(the file records unencrypted_suffix, the rule encrypted_regex): re-encrypt it (`sops-py "
                          "decrypt -i k8s/secret.yaml`, then `sops-py encrypt -i k8s/secret.yaml`)"]
    assert check(root, "--strict-keys").code == 1
