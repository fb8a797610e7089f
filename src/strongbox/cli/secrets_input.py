"""Secrets for the CLI: from an option, an environment variable, or a hidden prompt."""

from __future__ import annotations

import sys

import typer

from strongbox.cli.client import CliError


def secret_or_prompt(value: str | None, what: str, option: str, env: str) -> str:
    """`value` if given, else a hidden prompt on a terminal; without a terminal, a CliError that
    names the option and the environment variable to use."""
    if value:
        return value
    if sys.stdin.isatty():
        answer: str = typer.prompt(what, hide_input=True)
        return answer
    raise CliError(f"{what} is required: pass {option} or set {env}")
