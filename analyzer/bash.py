"""SQL hidden in shell commands: `bq query`, `spark-sql -e/-f`, `psql -c/-f`, `hive -e/-f`, ...

The command line is split with `shlex` (the shell's own quoting rules), into commands at `&&`,
`||`, `;`, `|` and unquoted newlines; each command is matched against a table of SQL clients.
`airflow dags backfill` is recorded too: it is evidence of a reprocess job.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientSpec:
    dialect: str
    inline_flags: tuple[str, ...]  # flags whose value is SQL text
    file_flags: tuple[str, ...]  # flags whose value is a SQL file
    subcommand: str | None = None  # `bq query`
    positional_sql: bool = False  # the SQL is the first positional argument (after the subcommand)
    valued_flags: tuple[str, ...] = ()  # other flags that take a separate value


CLIENTS: dict[str, ClientSpec] = {
    "bq": ClientSpec(
        "bigquery",
        (),
        (),
        subcommand="query",
        positional_sql=True,
        valued_flags=("--project_id", "--location", "--dataset_id", "--destination_table"),
    ),
    "spark-sql": ClientSpec(
        "spark",
        ("-e",),
        ("-f", "-i"),
        valued_flags=(
            "--conf",
            "--hiveconf",
            "--hivevar",
            "--master",
            "--name",
            "--database",
            "--driver-memory",
            "--executor-memory",
            "--num-executors",
            "--queue",
            "--jars",
        ),
    ),
    "hive": ClientSpec(
        "hive",
        ("-e",),
        ("-f", "-i"),
        valued_flags=("--hiveconf", "--hivevar", "-d", "--define", "--database"),
    ),
    "beeline": ClientSpec("hive", ("-e",), ("-f", "-i"), valued_flags=("-u", "-n", "-p", "--hiveconf", "--hivevar")),
    "psql": ClientSpec(
        "postgres",
        ("-c", "--command"),
        ("-f", "--file"),
        valued_flags=(
            "-h",
            "--host",
            "-p",
            "--port",
            "-U",
            "--username",
            "-d",
            "--dbname",
            "-v",
            "--set",
            "-o",
            "--output",
        ),
    ),
    "snowsql": ClientSpec(
        "snowflake",
        ("-q", "--query"),
        ("-f", "--filename"),
        valued_flags=(
            "-a",
            "--accountname",
            "-u",
            "--username",
            "-d",
            "--dbname",
            "-s",
            "--schemaname",
            "-w",
            "--warehouse",
            "-r",
            "--rolename",
            "-c",
            "--connection",
            "-o",
            "--option",
        ),
    ),
    "trino": ClientSpec(
        "trino",
        ("--execute",),
        ("-f", "--file"),
        valued_flags=("--server", "--catalog", "--schema", "--user", "--session"),
    ),
    "presto": ClientSpec(
        "presto",
        ("--execute",),
        ("-f", "--file"),
        valued_flags=("--server", "--catalog", "--schema", "--user", "--session"),
    ),
    "mysql": ClientSpec("mysql", ("-e", "--execute"), (), valued_flags=("-h", "-u", "-P", "-D", "--database")),
    "duckdb": ClientSpec("duckdb", ("-c",), (), valued_flags=()),
}

# programs that run SQL the command line does not show: why the task stays opaque
OPAQUE_TOOLS: dict[str, str] = {
    "dbt": "runs dbt: its SQL models live in the dbt project, not in the DAG",
    "spark-submit": "runs a Spark application (spark-submit): its code is not in the DAG",
    "sqoop": "runs a Sqoop transfer: it copies tables, there is no SQL to convert",
    "bteq": "runs a Teradata BTEQ script, which the scanner does not read",
}

SEPARATORS = frozenset({"&&", "||", ";", "|", "&", ";;", "(", ")"})


@dataclass(frozen=True)
class BashSql:
    client: str
    dialect: str
    text: str | None  # inline SQL
    file: str | None  # SQL file argument
    line_offset: int  # 0-based line of the SQL inside the command string


@dataclass(frozen=True)
class BashFacts:
    sql: tuple[BashSql, ...] = ()
    backfill: tuple[str, ...] = ()  # `airflow dags backfill` command lines
    error: str = ""
    tools: tuple[str, ...] = ()  # why a command without a SQL client is opaque (OPAQUE_TOOLS)


def _split_commands(command: str) -> list[list[str]]:
    """Tokens of each simple command; unquoted newlines end a command like `;` does."""
    # newline is a punctuation token, not whitespace, so that two commands on two lines do not run
    # together; newlines inside quotes stay part of the SQL.
    lexer = shlex.shlex(command.replace("\\\n", " "), posix=True, punctuation_chars=";&|()\n")
    lexer.whitespace = " \t\r"
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS or token.strip(";&|()\n") == "":
            commands.append([])
        else:
            commands[-1].append(token)
    return [tokens for tokens in commands if tokens]


def _strip_env_and_sudo(tokens: list[str]) -> list[str]:
    index = 0
    while index < len(tokens) and (
        ("=" in tokens[index] and not tokens[index].startswith("-")) or tokens[index] in {"sudo", "exec", "time", "env"}
    ):
        index += 1
    return tokens[index:]


def _client_sql(client: str, spec: ClientSpec, args: list[str], command: str) -> list[BashSql]:
    found: list[BashSql] = []
    positional_seen = False
    index = 0
    if spec.subcommand is not None:
        if spec.subcommand not in args:
            return []
        index = args.index(spec.subcommand) + 1
    while index < len(args):
        arg = args[index]
        flag, _, attached = arg.partition("=")
        value = attached if attached else (args[index + 1] if index + 1 < len(args) else None)
        step = 1 if attached or flag not in (*spec.inline_flags, *spec.file_flags, *spec.valued_flags) else 2
        if arg == "<" and index + 1 < len(args):
            found.append(BashSql(client, spec.dialect, None, args[index + 1], _line_of(command, args[index + 1])))
            step = 2
        elif flag in spec.inline_flags and value is not None:
            found.append(BashSql(client, spec.dialect, value, None, _line_of(command, value)))
        elif flag in spec.file_flags and value is not None:
            found.append(BashSql(client, spec.dialect, None, value, _line_of(command, value)))
        elif spec.positional_sql and not arg.startswith("-") and not positional_seen:
            positional_seen = True
            found.append(BashSql(client, spec.dialect, arg, None, _line_of(command, arg)))
        index += step
    return found


def _line_of(command: str, fragment: str) -> int:
    position = command.find(fragment[:60])
    return command.count("\n", 0, position) if position >= 0 else 0


def parse_bash(command: str) -> BashFacts:
    """Find the SQL clients a command line runs, and `airflow dags backfill` calls."""
    try:
        commands = _split_commands(command)
    except ValueError as error:  # unbalanced quotes
        return BashFacts(error=f"cannot split the shell command: {error}")
    sql: list[BashSql] = []
    backfill: list[str] = []
    tools: list[str] = []
    for command_tokens in commands:
        tokens = _strip_env_and_sudo(command_tokens)
        if not tokens:
            continue
        program = tokens[0].rsplit("/", 1)[-1]
        if program == "airflow" and tokens[1:3] in (["dags", "backfill"], ["dags", "clear"]):
            backfill.append(" ".join(tokens))
            continue
        spec = CLIENTS.get(program)
        if spec is not None:
            sql.extend(_client_sql(program, spec, tokens[1:], command))
        elif program in OPAQUE_TOOLS and OPAQUE_TOOLS[program] not in tools:
            tools.append(OPAQUE_TOOLS[program])
    return BashFacts(tuple(sql), tuple(backfill), tools=tuple(tools))
