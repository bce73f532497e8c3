"""Which Airflow tasks run a dbt project, and which of its models each one runs.

Three ways a DAG runs dbt, all read statically:

- a shell command (`BashOperator`, `@task.bash`): `dbt run --project-dir /opt/dbt/shop --select
  marts --full-refresh --vars '{run_date: "{{ ds }}"}'`, possibly after `cd /opt/dbt/shop &&`;
- a dbt operator (`DbtRunOperator(project_dir=...)`, airflow-dbt's `dir=`, Cosmos's
  `DbtRunLocalOperator`...), with `select` / `models`, `full_refresh`, `vars`;
- Cosmos `DbtDag` and `DbtTaskGroup`: `ProjectConfig(dbt_project_path=...)`,
  `RenderConfig(select=[...])`, `operator_args={"full_refresh": True, "vars": {...}}`, and the
  adapter named by the profile mapping's class (`SnowflakeUserPasswordProfileMapping`).

A run names its project by a path; the path matches the project whose folder it ends with
(`/usr/local/airflow/dbt/shop` is the repository's `dbt/shop`). With one project in the
repository, a run that names none runs that one. Selection (`select_nodes`) follows dbt's syntax
for what kappa can know statically: names, folders, `path:`, `tag:`, `config.materialized:`,
`resource_type:`, wildcards, `+` / `N+` / `@` graph operators, comma intersections and `--exclude`.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import yaml

from .model_jobs import Reader
from .models import Dag, Inventory

DBT_BINARY = re.compile(r"(?:^|/)dbt$")
SUBCOMMANDS = frozenset({"run", "build", "snapshot", "seed", "test", "compile", "retry", "clone"})
# what each command runs: models, snapshots (seed / test change nothing kappa follows)
RUNS: dict[str, frozenset[str]] = {
    "run": frozenset({"model"}),
    "build": frozenset({"model", "snapshot"}),
    "snapshot": frozenset({"snapshot"}),
    "retry": frozenset({"model", "snapshot"}),
    "clone": frozenset({"model"}),
}
PROFILE_MAPPING = re.compile(
    r"^(Postgres|Snowflake|BigQuery|GoogleCloud|Databricks|Redshift|Trino|Spark|DuckDB|Athena|Exasol|"
    r"Vertica|Teradata|Oracle|ClickHouse|MySQL|SQLServer|Sqlserver|Starrocks|Doris)\w*ProfileMapping$"
)
COSMOS_CONTAINERS = frozenset({"DbtDag", "DbtTaskGroup"})


@dataclass(frozen=True)
class DbtRun:
    """A task that runs dbt on a project."""

    project: str  # the project's dbt_project.yml
    dag_id: str
    task_id: str
    file: str
    line: int
    command: str  # run | build | snapshot | ...
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    full_refresh: bool = False
    vars: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    adapter: str | None = None  # from a Cosmos profile mapping class


@dataclass(frozen=True)
class _Found:
    """A run before its project is known."""

    hints: tuple[str, ...]  # paths that may name the project
    dag_id: str
    task_id: str
    file: str
    line: int
    command: str
    select: tuple[str, ...]
    exclude: tuple[str, ...]
    full_refresh: bool
    vars: Mapping[str, Any]
    schedule: str | None
    adapter: str | None = None


class ProjectLike(Protocol):
    @property
    def file(self) -> str: ...

    @property
    def folder(self) -> str: ...

    @property
    def name(self) -> str: ...


class NodeLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def file(self) -> str: ...

    @property
    def folders(self) -> tuple[str, ...]: ...

    @property
    def tags(self) -> tuple[str, ...]: ...

    @property
    def materialized(self) -> str: ...

    @property
    def refs(self) -> tuple[str, ...]: ...


def find_runs(
    root: Path, inventory: Inventory, dags: Sequence[Dag], read: Reader, projects: Sequence[ProjectLike]
) -> list[DbtRun]:
    """Every task of `dags` (and every Cosmos DAG or group in the Python files) that runs dbt."""
    found = [*_shell_runs(dags), *_python_runs(inventory, dags, read)]
    runs = []
    for item in found:
        project = _match_project(item.hints, projects)
        if project is None:
            continue
        runs.append(
            DbtRun(
                project.file,
                item.dag_id,
                item.task_id,
                item.file,
                item.line,
                item.command,
                item.select,
                item.exclude,
                item.full_refresh,
                item.vars,
                item.schedule,
                item.adapter,
            )
        )
    return sorted(runs, key=lambda r: (r.project, r.dag_id, r.task_id, r.command))


def _match_project(hints: Sequence[str], projects: Sequence[ProjectLike]) -> ProjectLike | None:
    best: tuple[int, str] | None = None
    chosen = None
    for project in projects:
        parts = PurePosixPath(project.folder).parts if project.folder else ()
        for hint in hints:
            hinted = [p for p in PurePosixPath(hint.replace("\\", "/")).parts if p not in {"/", "."}]
            if hinted and hinted[-1] == "dbt_project.yml":
                hinted = hinted[:-1]
            common = 0
            while common < min(len(parts), len(hinted)) and parts[-1 - common] == hinted[-1 - common]:
                common += 1
            if not common and hinted and hinted[-1] == project.name:
                common = 1
            if common and (best is None or (common, project.file) > best):
                best, chosen = (common, project.file), project
    if chosen is None and len(projects) == 1:
        return projects[0]
    return chosen


# ------------------------------------------------------------------------------ shell commands


def _shell_runs(dags: Sequence[Dag]) -> list[_Found]:
    found = []
    for dag in dags:
        for task in dag.tasks:
            command = task.bash_command
            if not command or "dbt" not in command:
                continue
            for run in parse_dbt_commands(command):
                found.append(
                    _Found(
                        run["hints"],
                        dag.dag_id,
                        task.task_id,
                        task.file,
                        task.line,
                        run["command"],
                        run["select"],
                        run["exclude"],
                        run["full_refresh"],
                        run["vars"],
                        dag.schedule,
                    )
                )
    return found


def parse_dbt_commands(command: str) -> list[dict[str, Any]]:
    """The dbt invocations of a shell command, with their options.

    >>> [r["command"] for r in parse_dbt_commands("cd /opt/dbt/shop && dbt deps && dbt run -s marts")]
    ['deps', 'run']
    """
    runs: list[dict[str, Any]] = []
    cwd: list[str] = []
    for segment in re.split(r"&&|\|\||;|\n|\|", command):
        try:
            tokens = shlex.split(segment)
        except ValueError:
            tokens = segment.split()
        if not tokens:
            continue
        if tokens[0] == "cd" and len(tokens) > 1:
            cwd = [tokens[1]]
            continue
        start = next((i for i, t in enumerate(tokens) if DBT_BINARY.search(t)), None)
        if start is None or start + 1 >= len(tokens):
            continue
        runs.append(_options(tokens[start + 1 :], cwd))
    return runs


def _options(tokens: list[str], cwd: list[str]) -> dict[str, Any]:
    command = tokens[0]
    values: dict[str, list[str]] = {}
    flags: set[str] = set()
    current: str | None = None
    for token in tokens[1:]:
        if token.startswith("-"):
            name, _, value = token.partition("=")
            current = {"-s": "--select", "-m": "--select", "--models": "--select", "--model": "--select"}.get(
                name, name
            )
            if value:
                values.setdefault(current, []).append(value)
                current = None
            else:
                flags.add(current)
            continue
        if current is not None:
            values.setdefault(current, []).append(token)
            if current not in {"--select", "--exclude"}:
                current = None
    variables: dict[str, Any] = {}
    for text in values.get("--vars", []):
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError:
            loaded = None
        if isinstance(loaded, Mapping):
            variables.update({str(k): v for k, v in loaded.items()})
    hints = [*values.get("--project-dir", []), *cwd]
    return {
        "command": command,
        "hints": tuple(hints),
        "select": tuple(values.get("--select", [])),
        "exclude": tuple(values.get("--exclude", [])),
        "full_refresh": "--full-refresh" in flags or "-f" in flags,
        "vars": variables,
    }


# ------------------------------------------------------------------------------ Python: operators, Cosmos


def _python_runs(inventory: Inventory, dags: Sequence[Dag], read: Reader) -> list[_Found]:
    found: list[_Found] = []
    for file in inventory.python_files:
        text = read(file)
        if text is None or "dbt" not in text.lower():
            continue
        try:
            tree = ast.parse(text, filename=file)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        constants = _constants(tree)
        file_dags = sorted((d for d in dags if d.file == file), key=lambda d: d.line)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                run = _call_run(node, constants, file, file_dags)
                if run is not None:
                    found.append(run)
    return found


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _call_run(call: ast.Call, constants: Mapping[str, Any], file: str, dags: Sequence[Dag]) -> _Found | None:
    name = _call_name(call.func)
    cosmos = name in COSMOS_CONTAINERS
    operator = name.startswith("Dbt") and name.endswith("Operator") and "Cloud" not in name
    if not cosmos and not operator:
        return None
    kwargs = {k.arg: k.value for k in call.keywords if k.arg}
    operator_args = _value(kwargs.get("operator_args"), constants)
    operator_args = operator_args if isinstance(operator_args, dict) else {}
    render = kwargs.get("render_config")
    render_kwargs = {k.arg: k.value for k in render.keywords if k.arg} if isinstance(render, ast.Call) else {}
    hints: list[str] = []
    for key in ("project_config", "project_dir", "dir", "dbt_project_path", "project_path"):
        if key in kwargs:
            hints.extend(_strings(kwargs[key], constants))
    if operator and call.args:
        hints.extend(_strings(call.args[0], constants))
    select = _names(_value(render_kwargs.get("select") or kwargs.get("select") or kwargs.get("models"), constants))
    exclude = _names(_value(render_kwargs.get("exclude") or kwargs.get("exclude"), constants))
    full_refresh = _value(kwargs.get("full_refresh"), constants) is True or operator_args.get("full_refresh") is True
    variables = _value(kwargs.get("vars"), constants)
    variables = variables if isinstance(variables, dict) else operator_args.get("vars")
    adapter = next(
        (
            m.group(1).lower().replace("googlecloud", "bigquery")
            for n in ast.walk(call)
            if isinstance(n, ast.Call) and (m := PROFILE_MAPPING.match(_call_name(n.func)))
        ),
        None,
    )
    line = call.lineno
    enclosing = next((d for d in reversed(dags) if d.line <= line), dags[0] if dags else None)
    if name == "DbtDag":
        dag_id = _value(kwargs.get("dag_id"), constants)
        schedule = _value(kwargs.get("schedule") or kwargs.get("schedule_interval"), constants)
        dag_name = str(dag_id) if isinstance(dag_id, str) else f"{PurePosixPath(file).stem}"
        task_id, schedule_text = "dbt", str(schedule) if isinstance(schedule, str) else None
    else:
        label = _value(kwargs.get("group_id") or kwargs.get("task_id"), constants)
        task_id = str(label) if isinstance(label, str) else name
        dag_name = enclosing.dag_id if enclosing is not None else PurePosixPath(file).stem
        schedule_text = enclosing.schedule if enclosing is not None else None
    command = "build" if cosmos else _operator_command(name)
    return _Found(
        tuple(hints),
        dag_name,
        task_id,
        file,
        line,
        command,
        select,
        exclude,
        full_refresh,
        {str(k): v for k, v in (variables or {}).items()} if isinstance(variables, dict) else {},
        schedule_text,
        "bigquery" if adapter == "bigquery" else adapter,
    )


def _operator_command(name: str) -> str:
    lowered = name.lower()
    for command in ("snapshot", "seed", "build", "test", "run"):
        if command in lowered:
            return command
    return "run"


def _constants(tree: ast.Module) -> dict[str, Any]:
    """Module-level names bound to values `_value` can compute (strings, paths, lists, dicts)."""
    constants: dict[str, Any] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                value = _value(statement.value, constants)
                if value is not None:
                    constants[target.id] = value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
            value = _value(statement.value, constants)
            if value is not None:
                constants[statement.target.id] = value
    return constants


def _value(node: ast.AST | None, constants: Mapping[str, Any], depth: int = 0) -> Any:
    """A literal, a known name, a path or string built from them; None when unknown."""
    if node is None or depth > 20:
        return None
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(e, constants, depth + 1) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {
            _value(k, constants, depth + 1): _value(v, constants, depth + 1)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
    if isinstance(node, ast.JoinedStr):
        parts = []
        for piece in node.values:
            if isinstance(piece, ast.Constant):
                parts.append(str(piece.value))
            elif isinstance(piece, ast.FormattedValue):
                inner = _value(piece.value, constants, depth + 1)
                parts.append(str(inner) if isinstance(inner, str) else "")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div | ast.Add):
        left, right = _value(node.left, constants, depth + 1), _value(node.right, constants, depth + 1)
        separator = "/" if isinstance(node.op, ast.Div) else ""
        if isinstance(left, str) or isinstance(right, str):
            return f"{left if isinstance(left, str) else ''}{separator}{right if isinstance(right, str) else ''}"
        return None
    if isinstance(node, ast.Call):
        name = _call_name(node.func)
        args = [_value(a, constants, depth + 1) for a in node.args]
        if name in {"Path", "PurePath", "PurePosixPath", "join"}:
            return "/".join(a for a in args if isinstance(a, str)) or None
        if name == "ProjectConfig":
            keyword = {k.arg: k.value for k in node.keywords if k.arg}
            path = _value(keyword.get("dbt_project_path"), constants, depth + 1)
            return path if isinstance(path, str) else (args[0] if args and isinstance(args[0], str) else None)
    return None


def _strings(node: ast.AST, constants: Mapping[str, Any]) -> list[str]:
    value = _value(node, constants)
    if isinstance(value, str):
        return [value]
    found = []
    for child in ast.walk(node):
        inner = _value(child, constants) if isinstance(child, ast.Name | ast.JoinedStr | ast.BinOp | ast.Call) else None
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.append(child.value)
        elif isinstance(inner, str):
            found.append(inner)
    return found


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str))
    return ()


# ------------------------------------------------------------------------------ selection


def select_nodes(run: DbtRun, nodes: Sequence[NodeLike]) -> set[str]:
    """The names of the nodes a run runs (dbt's node selection, as far as it is static)."""
    kinds = RUNS.get(run.command, frozenset())
    candidates = [n for n in nodes if n.kind in kinds]
    if not candidates:
        return set()
    chosen = _union(run.select, nodes) if run.select else {n.name for n in nodes}
    chosen -= _union(run.exclude, nodes)
    return {n.name for n in candidates if n.name in chosen}


def _union(arguments: Iterable[str], nodes: Sequence[NodeLike]) -> set[str]:
    chosen: set[str] = set()
    for argument in arguments:
        for term in argument.split():
            parts = [_term(p, nodes) for p in term.split(",") if p]
            if parts:
                chosen |= set.intersection(*parts)
    return chosen


GRAPH_TERM = re.compile(r"^(@)?(\d*\+)?(.*?)(\+\d*)?$")


def _term(term: str, nodes: Sequence[NodeLike]) -> set[str]:
    match = GRAPH_TERM.match(term)
    assert match is not None  # the pattern matches every text
    at, up, selector, down = match.groups()
    base = {n.name for n in nodes if _matches(selector, n)}
    parents = {n.name: set(n.refs) for n in nodes}
    result = set(base)
    if up or at:
        result |= _walk(base, parents, _depth(up))
    if down or at:
        children: dict[str, set[str]] = {}
        for name, refs in parents.items():
            for ref in refs:
                children.setdefault(ref, set()).add(name)
        below = _walk(base, children, _depth(down))
        result |= below
        if at:
            result |= _walk(below, parents, None)
    return result


def _depth(operator: str | None) -> int | None:
    digits = (operator or "").strip("+")
    return int(digits) if digits else None


def _walk(start: set[str], edges: Mapping[str, set[str]], depth: int | None) -> set[str]:
    seen: set[str] = set()
    frontier = set(start)
    level = 0
    while frontier and (depth is None or level < depth):
        frontier = {n for name in frontier for n in edges.get(name, set())} - seen - start
        seen |= frontier
        level += 1
    return seen


def _matches(selector: str, node: NodeLike) -> bool:
    method, _, value = selector.partition(":") if ":" in selector else ("", "", selector)
    value = value.strip()
    if method == "tag":
        return any(fnmatch.fnmatch(tag, value) for tag in node.tags)
    if method == "path":
        path = value.rstrip("/")
        return node.file.endswith(path) or f"/{path}/" in f"/{node.file}" or path in node.folders
    if method == "config.materialized":
        return node.materialized == value
    if method == "resource_type":
        return node.kind == value
    if method in {"fqn", ""}:
        if "/" in value or value.endswith(".sql"):
            return node.file.endswith(value.rstrip("/")) or f"/{value.rstrip('/')}/" in f"/{node.file}"
        pieces = value.split(".")
        if len(pieces) > 1:
            return pieces[-1] in {node.name, "*"} and all(p in node.folders for p in pieces[:-1] if p not in {"*"})
        return fnmatch.fnmatch(node.name, value) or value in node.folders
    return False
