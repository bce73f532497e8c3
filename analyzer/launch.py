"""The `kappa` command: chooses the sqlglot build for the command, then runs the CLI.

The choice has to come before the CLI module is imported (it imports sqlglot), so it reads the
command name from the arguments itself.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .sqlglot_build import prefer_sqlglot_sources

# the commands that parse or write Flink SQL with kappa's Flink dialect, which cannot run on the
# compiled sqlglot (see `sqlglot_build`); the others, `scan` first, run on it when installed
COMMANDS_ON_SQLGLOT_SOURCES = frozenset({"generate", "verify", "migrate"})


def command_of(arguments: Sequence[str]) -> str | None:
    """The command named in `kappa`'s arguments: the first that is not an option."""
    return next((argument for argument in arguments if not argument.startswith("-")), None)


def main() -> None:
    if command_of(sys.argv[1:]) in COMMANDS_ON_SQLGLOT_SOURCES:
        prefer_sqlglot_sources()
    from .cli import main as run_cli  # noqa: PLC0415 - imports sqlglot, so only after the choice

    run_cli()


if __name__ == "__main__":
    main()
