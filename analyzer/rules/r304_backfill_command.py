from __future__ import annotations

from collections.abc import Iterator

from ..bash import parse_bash
from ..models import Finding, Pattern
from .base import JobFacts, Rule

# The shell removes quotes and backslashes from a word (`air"flow"` runs airflow): without
# them, a command that runs `airflow dags backfill` or `airflow dags clear` spells these words.
_UNQUOTED = str.maketrans("", "", "'\"\\")


def might_backfill(command: str) -> bool:
    """A cheap test that rejects most commands before they are split like the shell does."""
    words = command.translate(_UNQUOTED)
    return "airflow" in words and "dags" in words and ("backfill" in words or "clear" in words)


class R304BackfillCommand(Rule):
    """Task runs `airflow dags backfill` (or `dags clear`) to re-run past intervals.

    **Anti-pattern**: a BashOperator running `airflow dags backfill -s 2024-01-01 -e 2024-01-31 dag`
    to recompute a month after a logic change or an outage.
    **Streaming equivalent**: replay from the log into a new sink version (or from a savepoint),
    then switch readers over; no per-interval re-runs.
    """

    code, name, pattern = "R304", "backfill-command", Pattern.REPROCESS

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        command = facts.task.bash_command
        if not command or not might_backfill(command):
            return
        for line in parse_bash(command).backfill:
            yield self.at_task(facts, f"re-runs past intervals: {line}")
