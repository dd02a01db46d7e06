"""`sops-py completion bash|zsh`: urfave/cli's completion scripts, as sops prints them, for sops-py.

The scripts run ``<the words typed so far> --generate-bash-completion`` and offer what it prints
(``urfave.completions``: subcommands, or flag names after a ``-``). They register the name this
program was started as (``sops-py``, or ``sops`` when installed under that name).
"""

from __future__ import annotations

import os
import sys

import click

from .urfave import UrfaveGroup

# urfave/cli v1-maint autocomplete/zsh_autocomplete (as in sops' cmd/sops/completion.go)
ZSH = """
#compdef %s

_cli_zsh_autocomplete() {

  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi

  return
}

compdef _cli_zsh_autocomplete %s
"""

# urfave/cli v1-maint autocomplete/bash_autocomplete
BASH = """
#! /bin/bash

_cli_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts base
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if [[ "$cur" == "-"* ]]; then
      opts=$( ${COMP_WORDS[@]:0:$COMP_CWORD} ${cur} --generate-bash-completion )
    else
      opts=$( ${COMP_WORDS[@]:0:$COMP_CWORD} --generate-bash-completion )
    fi
    COMPREPLY=( $(compgen -W "${opts}" -- ${cur}) )
    return 0
  fi
}
complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete %s
"""


def prog_name(argv0: str | None = None) -> str:
    """The command name to complete: how this program was started, ``sops-py`` for ``python -m``."""
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    if not name or name.endswith(".py") or name.startswith("python") or not name.isprintable() or " " in name:
        return "sops-py"
    return name


def bash_script(name: str) -> str:
    return BASH % name


def zsh_script(name: str) -> str:
    return ZSH % (name, name)


@click.group("completion", cls=UrfaveGroup, help="Generate shell completion scripts")
def completion_cmd() -> None:
    pass


@completion_cmd.command("bash", help="Generate bash completions. To load completions: "
                        "`$ source <(sops-py completion bash)`")
def completion_bash() -> None:
    sys.stdout.write(bash_script(prog_name()))


@completion_cmd.command("zsh", help="Generate zsh completions. To load completions: "
                        "`$ source <(sops-py completion zsh)`")
def completion_zsh() -> None:
    sys.stdout.write(zsh_script(prog_name()))
