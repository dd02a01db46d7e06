"""CLI parity with the Go sops: every flag of every command, urfave/cli's argv conventions, usage errors,
help and shell completion.

* The flags are read from the real binary's help (``sops --help``, ``sops CMD --help``, ``sops groups add
  --help``...) and from sops 3.13's ``cmd/sops/main.go`` when the source mirror is present; each must be
  defined by our click command with the same names, aliases, value-or-boolean kind, int/repeatable kind
  and env var. Flags sops does not have must be listed in ``EXTENSIONS`` (and documented in docs/cli.md).
* Argument handling is compared with the binary on the same argv: exit code, the first line of stdout
  (``Incorrect Usage: …``) and stderr (log lines compared by level and message, the time stripped).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from sops_py.cli import options as o
from sops_py.cli import urfave
from sops_py.cli.main import cli
from tests.cli.cli_harness import Run, as_sops, run_go, run_py, write
from tests.cli.go_flags_source import declared_flags, main_go
from tests.helpers import AGE_KEY_FILE, AGE_RECIPIENT, TESTDATA
from tests.interop.sops_helpers import SOPS

requires_sops = pytest.mark.skipif(SOPS is None, reason="the sops binary is not on PATH")

# flags sops-py has and sops does not (listed in docs/cli.md, "sops-py extensions")
EXTENSIONS: dict[tuple[str, ...], set[str]] = {path: set(flags) for path, flags in o.EXTENSIONS.items()}
# --no-enable-local-keyservice: the negative spelling sops-py has always accepted
NEGATIONS = {"no-enable-local-keyservice"}


@dataclass(frozen=True)
class HelpFlag:
    names: tuple[str, ...]
    takes_value: bool
    env: tuple[str, ...]
    is_int: bool
    is_slice: bool


_FLAG_LINE = re.compile(r"^   (-{1,2}[\w-]+(?: value)?(?:, -{1,2}[\w-]+(?: value)?)*)\s{2,}(.*)$")


def help_flags(text: str) -> list[HelpFlag]:
    """The OPTIONS / GLOBAL OPTIONS entries of urfave's help."""
    flags = []
    section = ""
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line
            continue
        if "OPTIONS" not in section:
            continue
        m = _FLAG_LINE.match(line)
        if not m:
            continue
        parts = [p.strip() for p in m.group(1).split(", ")]
        names = tuple(p.split()[0].lstrip("-") for p in parts)
        usage = m.group(2)
        env = re.search(r"\[(\$[\w$, ]+)\]$", usage)
        flags.append(HelpFlag(names, parts[0].endswith(" value"),
                              tuple(e.strip().lstrip("$") for e in env.group(1).split(",")) if env else (),
                              re.search(r"\(default: -?\d+\)", usage) is not None,
                              "Can be specified more than once" in usage))
    return flags


def help_commands(text: str) -> list[str]:
    out, section = [], ""
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line
            continue
        if section.startswith("COMMANDS") and line.startswith("   ") and line.strip():
            name = line.split()[0].rstrip(",")
            if name != "help":
                out.append(name)
    return out


def _sops_help(path: tuple[str, ...]) -> str:
    return run_go([*path, "--help"]).out


def binary_commands() -> dict[tuple[str, ...], list[HelpFlag]]:
    """Every command path of the binary and its flags (``()``: the global flags)."""
    table = {(): help_flags(_sops_help(()))}
    todo = [(name,) for name in help_commands(_sops_help(()))]
    while todo:
        path = todo.pop(0)
        text = _sops_help(path)
        table[path] = help_flags(text)
        todo += [(*path, sub) for sub in help_commands(text)] if "COMMANDS:" in text else []
    return table


def our_command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    ctx = urfave.new_context(cli)
    for name in path:
        assert isinstance(command, click.Group), path
        sub = command.get_command(ctx, name)
        assert sub is not None, f"sops-py has no command {' '.join(path)}"
        command, ctx = sub, urfave.new_context(sub, ctx, name)
    return command


def our_flags(path: tuple[str, ...]) -> dict[str, urfave.GoFlag]:
    command = our_command(path)
    by_name: dict[str, urfave.GoFlag] = {}
    for f in urfave.go_flags(command, urfave.new_context(command)):
        for n in f.names:
            by_name[n] = f
    return by_name


@pytest.fixture(scope="module")
def binary_table() -> dict[tuple[str, ...], list[HelpFlag]]:
    if SOPS is None:
        pytest.skip("the sops binary is not on PATH")
    return binary_commands()


# ================================================================== flag definitions

@requires_sops
def test_every_binary_command_exists(binary_table: dict[tuple[str, ...], list[HelpFlag]]) -> None:
    assert ("groups", "add") in binary_table and ("completion", "zsh") in binary_table
    for path in binary_table:
        our_command(path)


@requires_sops
def test_every_binary_flag_is_defined_alike(binary_table: dict[tuple[str, ...], list[HelpFlag]]) -> None:
    problems = []
    for path, flags in binary_table.items():
        ours = our_flags(path)
        where = " ".join(path) or "(global)"
        for hf in flags:
            f = ours.get(hf.names[0])
            if f is None:
                problems.append(f"{where}: --{hf.names[0]} missing")
                continue
            if f.names != hf.names:
                problems.append(f"{where}: names {f.names} != sops' {hf.names}")
            if f.takes_value != hf.takes_value:
                problems.append(f"{where}: --{hf.names[0]} takes a value: ours {f.takes_value}, sops {hf.takes_value}")
            if hf.is_int != (f.kind == urfave.INT):
                problems.append(f"{where}: --{hf.names[0]} int: ours {f.kind}")
            if hf.is_slice != (f.kind == urfave.SLICE):
                problems.append(f"{where}: --{hf.names[0]} repeatable: ours {f.kind}")
            if tuple(f.envvars()) != hf.env:
                problems.append(f"{where}: --{hf.names[0]} env {f.envvars()} != sops' {hf.env}")
    assert not problems, "\n".join(problems)


@requires_sops
def test_no_undocumented_extra_flags(binary_table: dict[tuple[str, ...], list[HelpFlag]]) -> None:
    problems = []
    for path, flags in binary_table.items():
        theirs = {n for hf in flags for n in hf.names} | {"help", "h"}
        extra: set[str] = set()
        for f in set(our_flags(path).values()):
            extra |= set(f.names) - theirs
            assert set(f.negations) <= NEGATIONS
        if extra != EXTENSIONS.get(path, set()):
            problems.append(f"{' '.join(path) or '(global)'}: extra flags {sorted(extra)}, documented "
                            f"{sorted(EXTENSIONS.get(path, set()))}")
    assert not problems, "\n".join(problems)


_GO_KIND = {"Bool": urfave.BOOL, "BoolT": urfave.BOOLT, "String": urfave.STRING, "StringSlice": urfave.SLICE,
            "Int": urfave.INT}


def sops_3_13_flags() -> dict[tuple[str, ...], list[tuple[tuple[str, ...], str, str]]]:
    """The flags sops 3.13.2 declares, extracted from its cmd/sops/main.go into testdata (regenerate with
    ``tests/cli/go_flags_source.py`` from a checkout of the sops source)."""
    raw = json.loads((TESTDATA / "sops-3.13-flags.json").read_text())
    return {tuple(k.split()) if k else (): [(tuple(n), g, e) for n, g, e in v] for k, v in raw.items()}


def test_committed_flag_table_matches_the_source_when_present() -> None:
    text = main_go()
    if text is not None:  # only where the sops source mirror exists (development machines)
        assert declared_flags(text) == sops_3_13_flags()


def test_every_sops_3_13_flag_is_defined_alike() -> None:
    table = sops_3_13_flags()
    assert ("groups", "delete") in table and len(table[()]) > 50
    problems = []
    for path, flags in table.items():
        ours = our_flags(path)
        for names, go_type, env in flags:
            f = ours.get(names[0])
            where = " ".join(path) or "(global)"
            if f is None:
                problems.append(f"{where}: --{names[0]} missing")
                continue
            if f.names != names or f.kind != _GO_KIND[go_type] or tuple(f.envvars()) != ((env,) if env else ()):
                problems.append(f"{where}: {f.names} {f.kind} {f.envvars()} != {names} {go_type} {env}")
    assert not problems, "\n".join(problems)


@requires_sops
def test_binary_and_3_13_source_declare_the_same_flags(
        binary_table: dict[tuple[str, ...], list[HelpFlag]]) -> None:
    source = sops_3_13_flags()
    for path, flags in binary_table.items():
        shown = {hf.names for hf in flags} - {("help", "h"), ("version", "v")}
        assert shown == {names for names, _, _ in source[path]}, path


# ================================================================== Go flag syntax (unit)

@pytest.mark.parametrize("text,value", [
    ("0", 0), ("10", 10), ("-3", -3), ("+3", 3), ("010", 8), ("0x1F", 31), ("0X1f", 31), ("0o17", 15),
    ("0b101", 5), ("1_000", 1000), ("0x_1F", 31), ("0_10", 8), ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -2**63),
])
def test_go_parse_int(text: str, value: int) -> None:
    assert urfave.go_parse_int(text) == value


@pytest.mark.parametrize("text,reason", [
    ("", urfave.SYNTAX), (" 2", urfave.SYNTAX), ("2 ", urfave.SYNTAX), ("08", urfave.SYNTAX), ("0x", urfave.SYNTAX),
    ("1__0", urfave.SYNTAX), ("_1", urfave.SYNTAX), ("1_", urfave.SYNTAX), ("-", urfave.SYNTAX),
    ("1.5", urfave.SYNTAX), ("9223372036854775808", urfave.RANGE), ("99999999999999999999", urfave.RANGE),
])
def test_go_parse_int_errors(text: str, reason: str) -> None:
    with pytest.raises(urfave.GoNumError) as e:
        urfave.go_parse_int(text)
    assert e.value.reason == reason


def test_go_parse_bool() -> None:
    for t in ("1", "t", "T", "TRUE", "true", "True"):
        assert urfave.go_parse_bool(t) is True
    for f in ("0", "f", "F", "FALSE", "false", "False"):
        assert urfave.go_parse_bool(f) is False
    for bad in ("yes", "on", "tRuE", "", " true"):
        with pytest.raises(urfave.GoNumError):
            urfave.go_parse_bool(bad)


def test_go_quote() -> None:
    assert urfave.go_quote('a"b\\c\n\t\x01é\u2028') == '"a\\"b\\\\c\\n\\t\\x01é\\u2028"'


def test_tabwriter_as_go() -> None:
    text = "A:\n   x\tone\n   longer\ttwo\n\n   y\tz\n\tlead\n"
    assert urfave.tabwrite(text) == "A:\n   x       one\n   longer  two\n\n   y  z\n      lead\n"


def test_reorder_keeps_unknown_flags_in_place() -> None:
    assert urfave.reorder_args({"extract"}, ["f", "--extract", "x", "--bogus", "-"]) == \
        ["--extract", "x", "f", "--bogus", "-"]


# ================================================================== argv handling against the binary

@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("parity")
    shutil.copy(TESTDATA / "sops" / "basic.enc.yaml", d / "e.yaml")
    write(d / "p.yaml", "a: 1\nb: two\n")
    return d


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "VAULT_"))}
    env.update({"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "HOME": "/nonexistent-sops-py-home",
                "XDG_CONFIG_HOME": "/nonexistent-sops-py-home/.config", "EDITOR": "false", "SOPS_EDITOR": "false"})
    env.update(extra or {})
    return env


def _same(ours: Run, theirs: Run, whole_stdout: bool) -> None:
    assert ours.code == theirs.code, (ours, theirs)
    if whole_stdout:
        assert ours.out == theirs.out, (ours, theirs)
    else:
        assert as_sops(ours.out_first) == theirs.out_first, (ours, theirs)
    assert ours.err_lines[:1] == theirs.err_lines[:1], (ours.err, theirs.err)


# argv -> whether stdout must be identical (False: only its first line, e.g. before help text)
ARGV_CASES: list[tuple[list[str], bool]] = [
    # unknown flags: "Incorrect Usage: …" + help on stdout, Go's log line on stderr, exit 1
    (["--xyz", "e.yaml"], False),
    (["decrypt", "--xyz", "e.yaml"], False),
    (["groups", "add", "--xyz"], False),
    (["groups", "delete", "-x"], False),
    (["filestatus", "-x", "e.yaml"], False),
    (["completion", "--xyz"], False),
    (["completion", "bash", "--xyz"], False),
    (["keyservice", "--bogus"], False),
    (["encrypt", "--config", "x", "p.yaml"], False),   # global flags are not subcommand flags
    (["--age", AGE_RECIPIENT, "encrypt", "p.yaml"], True),  # ... and the command does not read them
    (["-di", "e.yaml"], False),                         # no short-flag combining
    (["---d", "e.yaml"], False),
    (["decrypt", "-=x", "e.yaml"], False),
    # values
    (["--kms"], False),
    (["decrypt", "--extract"], False),
    (["--indent", "abc", "e.yaml"], False),
    (["-d", "--indent=99999999999999999999", "e.yaml"], False),
    (["-d", "--indent", " 2", "e.yaml"], False),
    (["decrypt", "--ignore-mac=maybe", "e.yaml"], False),
    (["groups", "delete", "-f", "e.yaml", "--shamir-secret-sharing-threshold", "x", "0"], False),
    (["decrypt", "-i", "--in-place", "e.yaml"], False),
    (["-h", "-help"], False),
    (["groups", "-h", "--help"], False),
    # accepted spellings
    (["-d", "e.yaml"], True),
    (["-decrypt", "e.yaml"], True),
    (["--decrypt=true", "e.yaml"], True),
    (["-d=1", "e.yaml"], True),
    (["--encrypt=false", "-d", "e.yaml"], True),
    (["--encrypt=F", "--decrypt=T", "e.yaml"], True),
    (["--help=false", "-d", "e.yaml"], True),
    (["-d", "--indent", "010", "--output-type", "json", "e.yaml"], True),
    (["-d", "--indent=0x2", "--output-type=json", "e.yaml"], True),
    (["-d", "--indent", "1_0", "--output-type", "json", "e.yaml"], True),
    (["-d", "--", "e.yaml"], True),
    (["decrypt", '--extract=["hello"]', "e.yaml"], True),
    (["decrypt", "e.yaml", "--extract", '["hello"]'], True),      # subcommand flags after the file
    (["decrypt", "e.yaml", "-extract", '["hello"]'], True),
    (["decrypt", "e.yaml", "--output-type=json"], True),
    (["decrypt", "e.yaml", "-i=false"], True),
    (["decrypt", "--", "e.yaml"], True),
    (["decrypt", "e.yaml", "--", "--extract", "x"], True),         # after --: positional (warned)
    (["decrypt", "e.yaml", "--xyz"], True),                        # unknown after the file: positional
    (["decrypt", "--", "--extract"], True),
    (["decrypt", "--enable-local-keyservice=false", "e.yaml"], False),
    (["decrypt", "--enable-local-keyservice", "false", "e.yaml"], True),
    (["filestatus", "p.yaml", "--input-type", "yaml"], True),
    (["groups", "delete", "-f", "e.yaml", "x"], True),
    (["--decrypt", "-d", "e.yaml"], False),
    (["set", "e.yaml", '["x"]'], True),
    (["unset", "e.yaml"], True),
    (["exec-env", "e.yaml"], True),
    (["groups", "delete"], True),
    (["groups", "add", "extra"], True),
    # no file
    ([], True),
    (["-d"], True),
    (["--verbose"], True),
    (["decrypt", "nonexistent.yaml"], True),
    (["rotate"], True),
    (["edit"], True),
    (["filestatus"], True),
    (["updatekeys"], True),
    (["updatekeys", "-y"], True),
    (["exec-file", "e.yaml"], True),
    (["encrypt"], True),
    (["encrypt", "-i"], True),
    (["-e", "p.yaml", "-i", "--output", "x"], True),
    (["--", "e.yaml"], True),                                      # edit mode ($EDITOR=false)
    (["e.yaml", "-d"], True),                                      # legacy flags after the file: ignored
    # help and its command
    (["help", "nosuch"], True),
    (["groups", "nosuch"], True),
    (["completion", "nosuch"], True),
    (["groups", "help", "nosuch"], True),
]


@requires_sops
@pytest.mark.parametrize("argv,whole", ARGV_CASES, ids=[" ".join(a) or "(none)" for a, _ in ARGV_CASES])
def test_argv_handling_as_sops(argv: list[str], whole: bool, workdir: Path) -> None:
    env = _env()
    _same(run_py(argv, env, workdir), run_go(argv, env, workdir), whole)


@requires_sops
def test_filestatus_load_error_is_fatal_as_sops(workdir: Path) -> None:
    """The JSON store's message differs (3.13: ``Could not unmarshal input data``); the report is the same."""
    argv = ["filestatus", "e.yaml", "--input-type", "json"]
    ours, theirs = run_py(argv, _env(), workdir), run_go(argv, _env(), workdir)
    assert ours.code == theirs.code == 1
    prefix = "fatal: cannot check file status: cannot load encrypted file: "
    assert ours.err_lines[0].startswith(prefix) and theirs.err_lines[0].startswith(prefix)


@requires_sops
@pytest.mark.parametrize("var,value,argv", [
    ("SOPS_ENABLE_LOCAL_KEYSERVICE", "", ["decrypt", "e.yaml"]),          # empty = false: no key service
    ("SOPS_ENABLE_LOCAL_KEYSERVICE", "yes", ["decrypt", "e.yaml"]),       # not a Go bool: fatal
    ("SOPS_ENABLE_LOCAL_KEYSERVICE", "TRUE", ["decrypt", "e.yaml"]),
    ("SOPS_ENABLE_LOCAL_KEYSERVICE", "0", ["decrypt", "--enable-local-keyservice", "e.yaml"]),
    ("SOPS_ENABLE_LOCAL_KEYSERVICE", "0", ["-d", "e.yaml"]),
    ("SOPS_DISABLE_VERSION_CHECK", "yes", ["filestatus", "e.yaml"]),
    ("SOPS_DECRYPTION_ORDER", "age,age", ["decrypt", "e.yaml"]),
    ("SOPS_DECRYPTION_ORDER", "age,age", ["decrypt", "--decryption-order", "age", "e.yaml"]),
])
def test_env_vars_as_sops(var: str, value: str, argv: list[str], workdir: Path) -> None:
    env = _env({var: value})
    _same(run_py(argv, env, workdir), run_go(argv, env, workdir), True)


def test_negative_spelling_of_local_keyservice(workdir: Path) -> None:
    """sops-py's --no-enable-local-keyservice = --enable-local-keyservice=false (no key service: exit 128)."""
    assert run_py(["decrypt", "--no-enable-local-keyservice", "e.yaml"], _env(), workdir).code == 128
    assert run_py(["decrypt", "e.yaml", "--no-enable-local-keyservice=false"], _env(), workdir).code == 0


@requires_sops
def test_repeatable_flags_and_int_flags(tmp_path: Path) -> None:
    """groups add takes --age twice (two keys in the new group) and -shamir-secret-sharing-threshold=0x2."""
    from tests.helpers import AGE2_RECIPIENT

    target = tmp_path / "g.yaml"
    shutil.copy(TESTDATA / "sops" / "basic.enc.yaml", target)
    argv = ["groups", "add", "-file", str(target), "--age", AGE_RECIPIENT, "-age=" + AGE2_RECIPIENT,
            "--shamir-secret-sharing-threshold=0x2"]
    ours, theirs = run_py(argv, _env(), tmp_path), run_go(argv, _env(), tmp_path)
    assert ours.code == theirs.code == 0, (ours, theirs)
    for out in (ours.out, theirs.out):
        assert out.count("recipient: " + AGE2_RECIPIENT) == 1 and "shamir_threshold: 2" in out


# ================================================================== help

@requires_sops
@pytest.mark.parametrize("path", [(), ("decrypt",), ("groups",), ("groups", "add"), ("keyservice",),
                                  ("completion",), ("completion", "bash"), ("exec-file",), ("publish",)])
def test_help_layout_as_sops(path: tuple[str, ...], binary_table: dict[tuple[str, ...], list[HelpFlag]]) -> None:
    """Same sections, usage line and flag column (names, placeholders, defaults position) as urfave."""
    theirs = run_go([*path, "--help"]).out
    ours = as_sops(run_py([*path, "--help"]).out)

    def skeleton(text: str) -> list[str]:
        heads = [line for line in text.splitlines() if line and not line.startswith(" ")]
        usage = text.split("USAGE:\n", 1)[1].splitlines()[0] if path else ""
        return [*heads, usage]

    assert skeleton(ours) == skeleton(theirs)
    def columns(text: str) -> dict[str, str]:
        return {m.group(1): m.group(0)[: m.start(2)] for line in text.splitlines()
                if (m := _FLAG_LINE.match(line))}

    mine, go = columns(ours), columns(theirs)
    width = {len(v) for k, v in mine.items() if k in go}
    extensions = EXTENSIONS.get(path, set())
    if not extensions:  # with extensions our column may be wider; otherwise the tabwriter widths agree
        assert width == {len(v) for v in go.values()}
    for name in go:
        assert name in mine


@requires_sops
def test_help_command_as_sops() -> None:
    for argv in (["help", "groups"], ["groups", "help", "add"], ["h", "completion"]):
        assert as_sops(run_py(argv).out) == run_go(argv).out


@requires_sops
def test_usage_error_prints_command_help_on_stdout(workdir: Path) -> None:
    ours, theirs = run_py(["filestatus", "--nope"], _env(), workdir), run_go(["filestatus", "--nope"], _env(), workdir)
    assert as_sops(ours.out) == theirs.out


# ================================================================== completion

COMPLETION_CASES = ["", "--ag", "decrypt", "decrypt --ex", "groups", "groups add --f", "groups add -",
                    "completion", "decrypt p.yaml", "-", "groups -", "--bogus decrypt --ex", "help", "h -",
                    "exec-env -", "set --", "completion bash -", "publish -"]


@requires_sops
@pytest.mark.parametrize("words", COMPLETION_CASES)
@pytest.mark.parametrize("zsh", [False, True])
def test_generate_bash_completion_as_sops(words: str, zsh: bool) -> None:
    argv = [*words.split(), urfave.COMPLETION_FLAG]
    env = _env({"_CLI_ZSH_AUTOCOMPLETE_HACK": "1"} if zsh else {})
    assert without_extensions(as_sops(run_py(argv, env).out)) == run_go(argv, env).out


def without_extensions(completions: str) -> str:
    """Completion output without sops-py's extension commands (listed after sops' own; sops has none)."""
    from sops_py.cli.main import EXTENSION_COMMANDS

    return "".join(line for line in completions.splitlines(keepends=True)
                   if line.rstrip("\n").split(":")[0] not in EXTENSION_COMMANDS)


def test_extension_commands_complete() -> None:
    out = run_py(["--generate-bash-completion"], _env({})).out.split()
    assert out[out.index("unset") + 1:out.index("help")] == ["check", "ksops", "kustomize", "export", "diff", "git"]


def test_completion_scripts_name_the_program() -> None:
    from sops_py.cli.cmd_completion import bash_script, prog_name, zsh_script

    assert bash_script("sops-py").rstrip().endswith("complete -o bashdefault -o default -o nospace -F "
                                                    "_cli_bash_autocomplete sops-py")
    assert "compdef _cli_zsh_autocomplete sops-py" in zsh_script("sops-py")
    assert prog_name("/usr/bin/sops") == "sops" and prog_name("/x/sops_py/__main__.py") == "sops-py"


@requires_sops
def test_completion_scripts_as_sops() -> None:
    for shell in ("bash", "zsh"):
        ours = subprocess.run([sys.executable, "-m", "sops_py", "completion", shell], capture_output=True,
                              text=True, check=True).stdout
        assert ours.replace("sops-py", "sops") == run_go(["completion", shell]).out


def test_bash_sources_the_completion_script_and_completes(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "sops-py"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m sops_py \"$@\"\n")
    wrapper.chmod(0o755)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(root)}
    script = (
        "set -e\n"
        "source <(sops-py completion bash)\n"
        "complete -p sops-py\n"
        "COMP_WORDS=(sops-py dec); COMP_CWORD=1; _cli_bash_autocomplete; echo \"R1=${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(sops-py decrypt --ext); COMP_CWORD=2; _cli_bash_autocomplete; echo \"R2=${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(sops-py groups ''); COMP_CWORD=2; _cli_bash_autocomplete; echo \"R3=${COMPREPLY[*]}\"\n"
    )
    proc = subprocess.run([bash, "--norc", "--noprofile", "-c", script], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete sops-py" in proc.stdout
    assert "R1=decrypt" in proc.stdout
    assert "R2=--extract --extract" in proc.stdout
    assert "R3=add delete help h" in proc.stdout


def test_zsh_script_parses() -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("no zsh on this machine")
    from sops_py.cli.cmd_completion import zsh_script

    proc = subprocess.run([zsh, "-n"], input=zsh_script("sops-py"), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
