"""``sops-py check``: every fixture the issue lists, files encrypted by the real sops and by sops-py,
each failure case with its line, the output formats, --verify, --fix, and bad input. The CLI runs in
this process (``run_py``); the pre-commit runs are in test_check_precommit.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from sops_py import api
from tests.cli.cli_harness import Run, run_py
from tests.helpers import AGE_KEY_FILE
from tests.integrations.check_fixtures import PLAIN, SECRET, encrypt, git_init, keys, make_repo, write
from tests.interop.sops_helpers import SOPS, run_sops

BY = ["sops", "py"] if SOPS is not None else ["py"]
ENCRYPTED = [rel for rel in PLAIN]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    return {**base, **extra}


def check(root: Path, *args: str, **extra: str) -> Run:
    run = run_py(["check", *args], env=env(**extra), cwd=root)
    assert SECRET not in run.out and SECRET not in run.err, "a secret value was printed"
    assert "Traceback" not in run.err
    return run


def lines(run: Run) -> list[str]:
    return [ln for ln in run.out.splitlines() if not ln.startswith("sops-py check:")]


@pytest.fixture(scope="module", params=BY)
def encrypted_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every fixture encrypted by the real sops or by sops-py, committed to git (built once per module)."""
    root = make_repo(tmp_path_factory.mktemp(f"by-{request.param}") / "repo", git=False)
    for rel in ENCRYPTED:
        encrypt(root, rel, request.param)
    write(root, "plain/notes.yaml", f"password: {SECRET}-not-in-any-rule\n")  # no rule: ignored
    write(root, "nokeys/x.yaml", f"password: {SECRET}-rule-without-keys\n")  # rule without keys: ignored
    git_init(root)
    return root


@pytest.fixture
def repo(encrypted_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the encrypted fixture repository, for a test to change."""
    return Path(shutil.copytree(encrypted_template, tmp_path / "repo", symlinks=True))


# ------------------------------------------------------------------ passing fixtures


def test_encrypted_fixtures_pass(repo: Path) -> None:
    run = check(repo)
    assert run.code == 0, run.out
    assert lines(run) == []
    assert run.out.splitlines()[-1] == f"sops-py check: {len(ENCRYPTED)} files checked, 0 errors"


@pytest.mark.parametrize("rel", ENCRYPTED)
def test_each_encrypted_file_passes_alone(repo: Path, rel: str) -> None:
    run = check(repo, rel)
    assert (run.code, lines(run)) == (0, [])
    assert "1 file checked" in run.out


def test_json_summary_counts_skipped(repo: Path) -> None:
    run = check(repo, "--format", "json")
    report = json.loads(run.out)
    assert report["ok"] is True and report["findings"] == []
    assert report["checked"] == len(ENCRYPTED)
    assert report["skipped"] == 2  # plain/notes.yaml (no rule), nokeys/x.yaml (no keys); .sops.yaml is not counted


def test_unencrypted_suffix_keys_stay_plaintext(repo: Path) -> None:
    text = (repo / "suffix/config.yaml").read_text()
    assert "host_public: example.org" in text  # the rule left it clear
    assert check(repo, "suffix/config.yaml").code == 0


# ------------------------------------------------------------------ failing fixtures


def test_plaintext_k8s_secret_fails(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"k8s/secret.yaml": PLAIN["k8s/secret.yaml"]})
    run = check(root)
    assert run.code == 1
    assert lines(run) == ["k8s/secret.yaml:1: not encrypted: .sops.yaml says it must be "
                          "(run `sops-py encrypt -i k8s/secret.yaml`)"]
    assert run.out.splitlines()[-1] == "sops-py check: 1 file checked, 1 error in 1 file"


@pytest.mark.parametrize("rel", ["secrets/app.env", "secrets/app.ini", "secrets/blob.bin", "secrets/app.json"])
def test_plaintext_of_every_format_fails(tmp_path: Path, rel: str) -> None:
    root = make_repo(tmp_path, {rel: PLAIN[rel]})
    run = check(root)
    assert run.code == 1
    assert lines(run) == [f"{rel}:1: not encrypted: .sops.yaml says it must be (run `sops-py encrypt -i {rel}`)"]


def test_enc_text_without_metadata_fails(tmp_path: Path) -> None:
    fake = ("user: admin\npassword: ENC[AES256_GCM,data:Zm9v,iv:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=,"
            "tag:MTIzNDU2Nzg5MDEyMzQ1Ng==,type:str]\n")
    root = make_repo(tmp_path, {"secrets/fake.yaml": fake})
    run = check(root)
    assert run.code == 1
    assert lines(run) == ["secrets/fake.yaml:2: holds ENC[...] text but no sops metadata: not a sops file "
                          "(copied values cannot be decrypted)"]


# a plaintext entry appended by hand to an encrypted file, per format: (file, text to append, key, line)
APPENDED = [
    ("secrets/app.yaml", f"extra: {SECRET}-added\n", "extra"),
    ("secrets/app.env", f"EXTRA={SECRET}-added\n", "EXTRA"),
    ("k8s/secret.yaml", f"data:\n    extra: {SECRET}-added\n", "data.extra"),
]


@pytest.mark.parametrize(("rel", "added", "key"), APPENDED)
def test_appended_plaintext_key_fails_naming_key_and_line(repo: Path, rel: str, added: str, key: str) -> None:
    path = repo / rel
    before = path.read_text()
    path.write_text(before + added)
    line = before.count("\n") + added.count("\n")  # the key's line is the last one appended
    run = check(repo, rel)
    assert run.code == 1
    assert lines(run) == [f"{rel}:{line}: a plaintext value at {key}, which the file's rules encrypt"]


def test_json_plaintext_value_named_with_line(repo: Path) -> None:
    path = repo / "secrets/app.json"
    doc = json.loads(path.read_text())
    doc["b"]["c"].append(f"{SECRET}-added")
    doc["b"]["new"] = 7
    path.write_text(json.dumps(doc, indent=4))
    text = path.read_text().splitlines()
    item_line = next(i for i, ln in enumerate(text, 1) if SECRET in ln)
    new_line = next(i for i, ln in enumerate(text, 1) if '"new"' in ln)
    run = check(repo, "secrets/app.json")
    assert run.code == 1
    assert lines(run) == [f"secrets/app.json:{item_line}: a plaintext value at b.c[2], which the file's rules encrypt",
                          f"secrets/app.json:{new_line}: a plaintext value at b.new, which the file's rules encrypt"]


def test_ini_value_replaced_by_plaintext(repo: Path) -> None:
    path = repo / "secrets/app.ini"
    text = path.read_text().splitlines()
    at = next(i for i, ln in enumerate(text) if ln.startswith("key"))
    text[at] = f"key = {SECRET}-plain"
    path.write_text("\n".join(text) + "\n")
    run = check(repo, "secrets/app.ini")
    assert lines(run) == [f"secrets/app.ini:{at + 1}: a plaintext value at web.key, which the file's rules encrypt"]


def test_dotenv_repeated_key_reports_the_plaintext_line(repo: Path) -> None:
    path = repo / "secrets/app.env"
    text = path.read_text()
    path.write_text(text + f"DB_PASS={SECRET}-again\n")
    run = check(repo, "secrets/app.env")
    assert lines(run) == [f"secrets/app.env:{text.count(chr(10)) + 1}: a plaintext value at DB_PASS, which the "
                          "file's rules encrypt"]


def test_plaintext_in_one_document_of_many(repo: Path) -> None:
    path = repo / "secrets/multi.yaml"
    text = path.read_text()
    second = text.index("\n---\n") + 5
    path.write_text(text[:second] + f"leak: {SECRET}-doc2\n" + text[second:])
    line = text[:second].count("\n") + 1
    run = check(repo, "secrets/multi.yaml")
    assert lines(run) == [f"secrets/multi.yaml:{line}: a plaintext value at leak in document 2, which the file's "
                          "rules encrypt"]


def test_plaintext_comment_where_comments_are_encrypted(repo: Path) -> None:
    path = repo / "secrets/app.yml"
    text = path.read_text()
    path.write_text(f"# the password is {SECRET}\n" + text)
    run = check(repo, "secrets/app.yml")
    assert lines(run) == ["secrets/app.yml:1: a plaintext comment under (top level), where the file's rules encrypt "
                          "comments"]


def test_top_level_key_under_encrypted_regex_is_not_a_finding(repo: Path) -> None:
    """encrypted_regex leaves other keys clear: a new clear label passes the keyless check."""
    path = repo / "k8s/secret.yaml"
    path.write_text(path.read_text().replace("kind: Secret", "kind: Secret\nextraLabel: fine"))
    assert check(repo, "k8s/secret.yaml").code == 0


def test_malformed_tokens_fail(repo: Path) -> None:
    path = repo / "secrets/app.yaml"
    text = path.read_text()
    start = text.index("token: ") + len("token: ")
    end = text.index("\n", start)
    token = text[start:end]
    short_iv = token.split(",iv:")[0] + ",iv:MTIzNDU2Nzg5MDEy,tag:" + token.split(",tag:")[1]
    path.write_text(text[:start] + short_iv + text[end:])
    line = text[:start].count("\n") + 1
    run = check(repo, "secrets/app.yaml")
    assert lines(run) == [f"secrets/app.yaml:{line}: a malformed ENC[...] value (a 12-byte IV and 16-byte tag; sops "
                          "writes 32 and 16) at token, which the file's rules encrypt"]
    path.write_text(text[:start] + "ENC[AES256_GCM,data:!!]" + text[end:])
    assert "a malformed ENC[...] value (not the shape sops writes) at token" in check(repo, "secrets/app.yaml").out


def test_metadata_without_mac_fails(repo: Path) -> None:
    path = repo / "secrets/app.yaml"
    text = path.read_text()
    start = text.index("    mac: ")
    path.write_text(text[:start] + "    mac: ''" + text[text.index("\n", start):])
    run = check(repo, "secrets/app.yaml")
    assert run.code == 1
    assert lines(run) == [f"secrets/app.yaml:{text[:text.index('sops:')].count(chr(10)) + 1}: incomplete sops metadata "
                          "(no mac): not a file sops wrote"]


# ------------------------------------------------------------------ recipients


def test_stale_recipients_warn_and_fail_with_strict_keys(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"secrets/app.yaml": PLAIN["secrets/app.yaml"]})
    (root / "stale").mkdir()
    encrypt(root, "secrets/app.yaml", "py")
    os.replace(root / "secrets/app.yaml", root / "stale/app.yaml")  # the stale/ rule names a second recipient
    from tests.helpers import AGE2_RECIPIENT

    run = check(root, "stale/app.yaml")
    sops_line = (root / "stale/app.yaml").read_text().split("\nsops:")[0].count("\n") + 2
    expected = (f"stale/app.yaml:{sops_line}: warning: recipients differ from .sops.yaml (missing {AGE2_RECIPIENT}): "
                "run `sops-py updatekeys stale/app.yaml`")
    assert (run.code, lines(run)) == (0, [expected])
    assert "1 warning" in run.out
    strict = check(root, "--strict-keys", "stale/app.yaml")
    assert strict.code == 1
    assert lines(strict) == [expected.replace("warning: ", "")]


def test_versionless_azure_key_in_the_rule_matches_the_recorded_version(tmp_path: Path) -> None:
    """sops resolves a versionless Key Vault URL to the key's current version when it encrypts; a
    keyless check cannot ask the vault, so the file's key of that vault and name matches (another
    key name still differs)."""
    from tests.helpers import AGE_RECIPIENT

    vault = "https://checkvault.vault.azure.net"
    root = tmp_path / "repo"
    root.mkdir()
    plain = root / "app.yaml"
    plain.write_text(f"password: {SECRET}\n")
    api.encrypt_file(plain, age=[AGE_RECIPIENT], in_place=True, config=False)
    text = plain.read_text()
    azure = (f"    azure_kv:\n        - vault_url: {vault}\n          name: sops-key\n"
             "          version: 0123456789abcdef\n          created_at: \"2026-01-01T00:00:00Z\"\n"
             "          enc: ZW5j\n")
    assert "\nsops:\n" in text
    plain.write_text(text.replace("\nsops:\n", "\nsops:\n" + azure, 1))
    for name, differs in (("sops-key", False), ("other-key", True)):
        write(root, ".sops.yaml", f"creation_rules:\n  - path_regex: app\\.yaml$\n    age: {AGE_RECIPIENT}\n"
                                  f"    azure_keyvault: {vault}/keys/{name}\n")
        run = check(root, "--strict-keys", "app.yaml")
        assert (run.code != 0) is differs, run.out
        assert ("recipients differ" in run.out) is differs


@pytest.mark.parametrize("fmt", ["yaml", "dotenv", "ini"])
def test_a_text_format_under_an_extension_that_says_nothing_is_sniffed(tmp_path: Path, fmt: str) -> None:
    """``app.conf`` encrypted with --input-type: judged in the format its sops metadata is written in
    (binary is sops' default for such an extension), so a clean file passes and an added value fails."""
    from tests.helpers import AGE_RECIPIENT

    root = tmp_path / "repo"
    root.mkdir()
    write(root, ".sops.yaml", f"creation_rules:\n  - path_regex: \\.conf$\n    age: {AGE_RECIPIENT}\n")
    plain = {"yaml": f"password: {SECRET}\n", "dotenv": f"password={SECRET}\n",
             "ini": f"[db]\npassword = {SECRET}\n"}[fmt]
    conf = root / "app.conf"
    conf.write_bytes(api.encrypt(plain, fmt, age=[AGE_RECIPIENT], config=False))  # type: ignore[arg-type]
    run = check(root, "app.conf")
    assert (run.code, lines(run)) == (0, []), run.out
    added = {"yaml": "token: leaked\n", "dotenv": "token=leaked\n", "ini": "[extra]\ntoken = leaked\n"}[fmt]
    conf.write_text(added + conf.read_text() if fmt != "yaml" else conf.read_text().replace("sops:", added + "sops:", 1))
    run = check(root, "app.conf")
    assert run.code == 1 and "token" in run.out and "leaked" not in run.out, run.out


# ------------------------------------------------------------------ --verify


def test_verify_passes_good_file_and_fails_tampered_one(repo: Path) -> None:
    key = str(AGE_KEY_FILE)
    assert check(repo, "--verify", "secrets/app.yaml", SOPS_AGE_KEY_FILE=key).code == 0
    path = repo / "secrets/app.yaml"
    text = path.read_text()
    # move one ciphertext to another key: each token still has the right shape, the keyless check passes
    user = text.split("user: ")[1].split("\n")[0]
    passwd = text.split("pass: ")[1].split("\n")[0]
    path.write_text(text.replace(f"user: {user}", f"user: {passwd}"))
    assert check(repo, "secrets/app.yaml").code == 0
    run = check(repo, "--verify", "secrets/app.yaml", SOPS_AGE_KEY_FILE=key)
    assert run.code == 1
    assert lines(run) == [f"secrets/app.yaml:{text[:text.index('sops:')].count(chr(10)) + 1}: does not decrypt: a "
                          "value fails authentication (tampered or corrupted)"]


def test_verify_mac_mismatch(repo: Path) -> None:
    path = repo / "suffix/config.yaml"
    path.write_text(path.read_text().replace("example.org", "evil.example"))  # a clear value: the MAC changes
    assert check(repo, "suffix/config.yaml").code == 0
    run = check(repo, "--verify", "suffix/config.yaml", SOPS_AGE_KEY_FILE=str(AGE_KEY_FILE))
    assert run.code == 1
    assert "MAC mismatch: the file was changed without its key" in run.out


def test_verify_without_key_is_a_warning(repo: Path, tmp_path: Path) -> None:
    run = check(repo, "--verify", "secrets/app.yaml", HOME=str(tmp_path / "nohome"))
    assert run.code == 0
    assert "warning: not verified: no available key decrypts the data key" in run.out


# ------------------------------------------------------------------ --fix


@pytest.mark.parametrize("rel", ["secrets/app.yaml", "secrets/app.env", "secrets/app.ini", "k8s/secret.yaml"])
def test_fix_encrypts_plaintext_files_in_place(tmp_path: Path, rel: str) -> None:
    root = make_repo(tmp_path, {rel: PLAIN[rel]})
    run = check(root, "--fix")
    assert run.code == 1, run.out  # a fixer that changed files fails (the commit is retried with them staged)
    assert run.out.splitlines()[0] == f"{rel}: encrypted in place with the keys of its .sops.yaml rule"
    assert "1 encrypted in place" in run.out
    data = (root / rel).read_bytes()
    assert SECRET.encode() not in data
    plain = api.decrypt_file(root / rel, keys=keys())
    if rel.endswith(".yaml"):  # YAML is re-emitted in sops' style: compare the data
        assert yaml.safe_load(plain) == yaml.safe_load(PLAIN[rel])
    else:
        assert plain == PLAIN[rel].encode()
    if SOPS is not None:  # the real sops reads what the fix wrote
        proc = run_sops(["decrypt", rel], cwd=root, env={"PATH": os.environ["PATH"],
                                                         "SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE)})
        assert proc.returncode == 0 and proc.stdout == plain
    assert check(root).code == 0


def test_fix_never_touches_an_encrypted_file(repo: Path) -> None:
    path = repo / "secrets/app.yaml"
    path.write_text(path.read_text() + f"extra: {SECRET}\n")
    before = path.read_bytes()
    run = check(repo, "--fix", "secrets/app.yaml")
    assert run.code == 1
    assert path.read_bytes() == before
    assert "a plaintext value at extra" in run.out


def test_fix_refuses_a_file_with_enc_text(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"secrets/x.yaml": "a: ENC[AES256_GCM,data:x]\n"})
    run = check(root, "--fix")
    assert run.code == 1 and (root / "secrets/x.yaml").read_text() == "a: ENC[AES256_GCM,data:x]\n"


# ------------------------------------------------------------------ file discovery and formats


def test_no_path_checks_tracked_files_only(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"secrets/app.env": PLAIN["secrets/app.env"]})
    write(root, "secrets/untracked.env", f"X={SECRET}\n")
    run = check(root)
    assert [ln.split(":")[0] for ln in lines(run)] == ["secrets/app.env"]
    run = check(root / "secrets")  # from a subdirectory: the files under it, relative to it
    assert [ln.split(":")[0] for ln in lines(run)] == ["app.env"]


def test_outside_git_every_file_is_checked(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"secrets/a.env": PLAIN["secrets/app.env"], "secrets/d/b.env": "B=1\n"}, git=False)
    run = check(root)
    assert sorted(ln.split(":")[0] for ln in lines(run)) == ["secrets/a.env", "secrets/d/b.env"]
    assert sorted(ln.split(":")[0] for ln in lines(check(root, "secrets/d"))) == ["secrets/d/b.env"]


def test_sops_yaml_and_precommit_config_are_never_secrets(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {".pre-commit-config.yaml": "repos: []\n"}, git=False)
    (root / ".sops.yaml").write_text((root / ".sops.yaml").read_text() + "    - path_regex: .*\n      age: "
                                     + "age1p5clvj6k6g37egsv4lgyrpcafmascz29xqxgqh0706as54kfp97sqxgkky\n")
    run = check(root, ".sops.yaml", ".pre-commit-config.yaml")
    assert (run.code, lines(run)) == (0, [])
    assert "0 files checked" in run.out


def test_path_regex_is_an_unanchored_search(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"deploy/secrets/x.env": "A=1\n"}, git=False)
    assert lines(check(root))[0].startswith("deploy/secrets/x.env:1: not encrypted")


def test_nearest_config_and_explicit_config(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"sub/secrets/x.env": "A=1\n"}, git=False)
    write(root, "sub/.sops.yaml", "creation_rules:\n    - path_regex: nothing-matches\n      age: "
                                  "age1p5clvj6k6g37egsv4lgyrpcafmascz29xqxgqh0706as54kfp97sqxgkky\n")
    assert lines(check(root)) == []  # sub/.sops.yaml is the nearest: no rule names the file
    assert len(lines(check(root, "--config", ".sops.yaml"))) == 1


def test_github_format(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"secrets/a,b.env": "A=1\n"}, git=False)
    run = check(root, "--format", "github")
    assert run.code == 1
    assert lines(run) == ["::error file=secrets/a%2Cb.env,line=1,title=sops-py check::not encrypted: .sops.yaml says "
                          "it must be (run `sops-py encrypt -i secrets/a,b.env`)"]


def test_json_format(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"secrets/a.env": "A=1\n"}, git=False)
    run = check(root, "--format", "json")
    report = json.loads(run.out)
    assert report["ok"] is False and report["errors"] == 1 and report["checked"] == 1
    assert report["findings"] == [{"path": "secrets/a.env", "line": 1, "severity": "error", "key": "",
                                   "message": "not encrypted: .sops.yaml says it must be "
                                              "(run `sops-py encrypt -i secrets/a.env`)"}]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("rel", "text", "expected"), [
    ("secrets/bad.yaml", f"a: {SECRET}\n  b: : c\n", "secrets/bad.yaml:2: cannot be read as yaml: "
                                                      "yaml: line 2: mapping values are not allowed in this context"),
    ("secrets/bad.env", f"A=1\n{SECRET} no equals sign\n", "secrets/bad.env:2: cannot be read as "
                                                            "dotenv: invalid dotenv input line: <line of the file>"),
    ("secrets/bad.ini", f"[s]\n{SECRET} no delimiter\n", "secrets/bad.ini:2: cannot be read as ini: "
                                                          "Could not unmarshal input data: key-value delimiter not found: "
                                                          "<line of the file>"),
    ("secrets/bad.yaml", "a: 1\nsops: 3\n", "secrets/bad.yaml:1: cannot be read as yaml: Found sops entry that "
                                            "is not a mapping"),
])
def test_unparsable_files_one_line_each(tmp_path: Path, rel: str, text: str, expected: str) -> None:
    root = make_repo(tmp_path, {rel: text}, git=False)
    run = check(root, rel)
    assert (run.code, lines(run), run.err) == (1, [expected], "")


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {}, git=False)
    (root / "secrets").mkdir()
    os.symlink(root / "nowhere", root / "secrets/dangling.env")
    run = check(root, "secrets/dangling.env", "secrets/missing.env")
    assert run.code == 1
    assert lines(run) == ["secrets/dangling.env:1: cannot read the file: No such file or directory",
                          "secrets/missing.env:1: no such file or directory"]


def test_broken_sops_yaml(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"secrets/a.env": "A=1\n"}, git=False)
    (root / ".sops.yaml").write_text("creation_rules: [\n")
    run = check(root)
    assert run.code == 1
    assert len(lines(run)) == 1 and lines(run)[0].startswith(".sops.yaml:")
    assert "cannot use this .sops.yaml: error loading config: Could not unmarshal config file" in run.out
    (root / ".sops.yaml").write_text("creation_rules:\n    - path_regex: '(['\n      age: x\n")
    run = check(root)
    assert run.code == 1 and lines(run)[0].startswith(".sops.yaml:1: cannot use this .sops.yaml: can not compile")


def test_bad_format_flag_is_a_usage_error(tmp_path: Path) -> None:
    run = run_py(["check", "--format", "xml"], env=env(), cwd=tmp_path)
    assert run.code == 1
    assert 'Incorrect Usage: invalid value "xml" for flag -format' in run.out + run.err


def test_hostile_nesting_is_one_line(repo: Path) -> None:
    text = (repo / "secrets/app.yml").read_text()
    metadata = text[text.index("sops:"):]
    write(repo, "secrets/deep.yaml", "a: " + "[" * 3000 + "x" + "]" * 3000 + "\n" + metadata)
    write(repo, "secrets/bomb.yaml", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)))
    run = check(repo, "secrets/deep.yaml", "secrets/bomb.yaml", "--fix")
    assert run.code == 1
    assert len(lines(run)) == 2, run.out
    bomb, deep = lines(run)
    assert bomb.startswith("secrets/bomb.yaml:1: cannot be read as yaml:")
    # the walk goes as deep as the loader (or says it cannot); the key path is cut short either way
    assert deep.startswith(("secrets/deep.yaml:1: a plaintext value at a[0][0]", "secrets/deep.yaml:1: cannot"))
    assert len(deep) < 400
