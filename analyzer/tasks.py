"""`extract_sql(task) -> SqlSource`s: where each task's SQL text is, and which dialect it speaks.

Dispatches on the operator's kind (SQL argument, shell command, Python callable, opaque, control)
through a table. SQL file references are resolved the way Airflow resolves them: through the DAG's
`template_searchpath`, then the DAG's folder; deployed absolute paths (`/opt/airflow/include/sql`)
are matched against the repository by their trailing components.
"""

from __future__ import annotations

import ast
import os.path
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .bash import parse_bash
from .config import KappaConfig
from .dags import HookSqlCall, ParsedTask, Scope
from .discover import is_file
from .errors import scan_error
from .models import Dag, Finding, SqlOrigin, SqlSource, Task
from .operators import Destination, OperatorKind, OperatorSpec, dialect_from_conn_name
from .pyeval import FileText, JinjaExpr, TaintedStr, Unknown, has_placeholder

ReadText = Callable[[str], str | None]  # root-relative path -> text (None: unreadable, reported)


@dataclass(frozen=True)
class Extracted:
    sources: tuple[SqlSource, ...] = ()
    missing_reason: str = ""
    opaque_reason: str = ""
    dialect: str | None = None  # decided by the source itself (a hook, a shell client)
    dialect_source: str = "none"
    bash_command: str | None = None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class ExtractContext:
    task: Task
    parsed: ParsedTask
    dag: Dag
    root: Path
    read_text: ReadText


def resolve_template_file(reference: str, dag: Dag, root: Path) -> str | None:
    """Root-relative path of a template file, looked up like Airflow's Jinja loader would."""
    reference = reference.strip()
    dag_dir = Path(dag.file).parent.as_posix()
    folders = [dag_dir, *dag.template_searchpath, "."]  # the DAG's folder first, as Airflow does
    candidates: list[str] = []
    if os.path.isabs(reference):
        parts = Path(reference).parts
        candidates.extend(Path(*parts[start:]).as_posix() for start in range(1, len(parts)))
    else:
        candidates.append(reference)
    for candidate in candidates:
        for folder in folders if not os.path.isabs(reference) else [".", *folders]:
            relative = os.path.normpath(os.path.join(folder, candidate))
            if relative.startswith(".."):
                continue
            if is_file(root / relative):
                return Path(relative).as_posix()
    return None


def _value_line(node: ast.AST | None, scope: Scope, path: tuple[str, ...] = ()) -> int:
    """The file line where a value's text starts: follow names to their assignment, dicts to keys."""
    return _value_position(node, scope, path)[0]


def _value_position(node: ast.AST | None, scope: Scope, path: tuple[str, ...] = ()) -> tuple[int, int]:
    """(line, col) where a string's text starts, just after its opening quote (f-prefix included)."""
    for _ in range(8):
        if isinstance(node, ast.Name):
            _, _, bound = scope.lookup(node.id)
            if bound is None:
                break
            node = bound
            continue
        if path and isinstance(node, ast.Dict):
            key, path = path[0], path[1:]
            match = next(
                (
                    v
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == key
                ),
                None,
            )
            if match is None:
                break
            node = match
            continue
        break
    line = getattr(node, "lineno", 1) or 1
    prefix = 2 if isinstance(node, ast.JoinedStr) else 1
    col = (getattr(node, "col_offset", 0) or 0) + 1 + prefix if isinstance(node, ast.Constant | ast.JoinedStr) else 1
    return line, col


def _element_nodes(node: ast.AST | None, scope: Scope, count: int) -> list[ast.AST | None]:
    if isinstance(node, ast.Name):
        _, _, bound = scope.lookup(node.id)
        node = bound
    if isinstance(node, ast.List | ast.Tuple) and len(node.elts) == count:
        return list(node.elts)
    return [node] * count


def sources_from_value(
    value: Any,
    node: ast.AST | None,
    context: ExtractContext,
    spec_ext: tuple[str, ...],
    via: str,
    origin: SqlOrigin,
) -> tuple[list[SqlSource], list[Finding], str]:
    """SQL sources for an evaluated argument: text, a file reference, a list of either."""
    task = context.task
    scope = context.parsed.draft.scope
    if isinstance(value, list | tuple):
        sources: list[SqlSource] = []
        findings: list[Finding] = []
        reasons: list[str] = []
        for item, item_node in zip(value, _element_nodes(node, scope, len(value)), strict=True):
            more, found, reason = sources_from_value(item, item_node, context, spec_ext, via, origin)
            sources.extend(more)
            findings.extend(found)
            reasons.extend([reason] if reason else [])
        return sources, findings, "; ".join(reasons)
    if isinstance(value, FileText):
        rel = _relative_to_root(value.path, context.root)
        if rel is None:
            return [], [], f"SQL read from {value.path}, outside the repository"
        return [SqlSource(SqlOrigin.FILE, value.text, rel, 1, reference=rel, via=via)], [], ""
    if isinstance(value, JinjaExpr):  # the whole statement is a value known only at run time
        return [], [], f"the SQL is a run-time value ({value})"
    if isinstance(value, str):
        text = str(value)
        stripped = text.strip()
        if stripped.endswith(spec_ext) and "\n" not in stripped and not isinstance(value, JinjaExpr):
            return _file_source(stripped, context, via, node)
        if origin is SqlOrigin.CALLABLE:
            line, col = getattr(node, "lineno", task.line), 1
        else:
            line, col = _value_position(node, scope)
        resolved = not isinstance(value, TaintedStr)
        return [SqlSource(origin, text, task.file, line, resolved=resolved, via=via, col=col)], [], ""
    if isinstance(value, Unknown):
        return [], [], f"the SQL is not a constant the scanner can resolve ({value.why})"
    return [], [], f"the SQL argument is a {type(value).__name__}, not a string"


def _relative_to_root(path: str, root: Path) -> str | None:
    try:
        return Path(os.path.normpath(path)).relative_to(root).as_posix()
    except ValueError:
        return None


def _file_source(
    reference: str, context: ExtractContext, via: str, node: ast.AST | None
) -> tuple[list[SqlSource], list[Finding], str]:
    task = context.task
    line = getattr(node, "lineno", task.line) or task.line
    if has_placeholder(reference):  # part of the path is known only at run time: not "missing"
        reason = f"the SQL file path {reference!r} is not a constant the scanner can resolve"
        return [], [scan_error("E031", f"task {task.task_id!r}: {reason}", task.file, line)], reason
    resolved = resolve_template_file(reference, context.dag, context.root)
    if resolved is None:
        message = f"task {task.task_id!r} refers to {reference!r}, not in template_searchpath or the DAG folder"
        return [], [scan_error("E011", message, task.file, line)], f"SQL file {reference!r} not found"
    text = context.read_text(resolved)
    if text is None:
        return [], [], f"SQL file {resolved} cannot be read"
    return [SqlSource(SqlOrigin.FILE, text, resolved, 1, reference=reference, via=via)], [], ""


def _lookup_path(kwargs: Mapping[str, Any], path: str) -> Any:
    value: Any = kwargs
    for part in path.split("."):
        if not isinstance(value, dict | Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _extract_sql_argument(spec: OperatorSpec, context: ExtractContext) -> Extracted:
    draft = context.parsed.draft
    for path in spec.sql_args:
        head, *rest = path.split(".")
        value = _lookup_path(draft.kwargs, path)
        if value is None:
            continue
        node = draft.nodes.get(head)
        if rest and node is not None:
            line = _value_line(node, draft.scope, tuple(rest))
            node = ast.Constant(value=None, lineno=line, col_offset=0)
        sources, findings, reason = sources_from_value(value, node, context, spec.template_ext, path, SqlOrigin.INLINE)
        if spec.destination is not None:
            sources = [with_destination(source, spec.destination, draft.kwargs) for source in sources]
        if not sources and not findings:
            findings = [
                scan_error("E031", f"task {context.task.task_id!r}: {reason}", context.task.file, context.task.line)
            ]
        return Extracted(tuple(sources), reason if not sources else "", findings=tuple(findings))
    wanted = " or ".join(f"`{p}`" for p in spec.sql_args)
    return Extracted(missing_reason=f"{context.task.operator} has no {wanted} argument")


QUERY_START = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(?:select|with)\b", re.IGNORECASE | re.DOTALL)


def _destination_table(value: Any) -> str | None:
    """`{projectId, datasetId, tableId}` or `"project:dataset.table$20240115"` as one name."""
    if isinstance(value, dict):
        parts = [value.get(k) for k in ("projectId", "datasetId", "tableId")]
        return ".".join(str(p) for p in parts if isinstance(p, str)) if isinstance(parts[2], str) else None
    if isinstance(value, str) and not isinstance(value, TaintedStr):
        return value.replace(":", ".")
    return None


def with_destination(source: SqlSource, destination: Destination, kwargs: Mapping[str, Any]) -> SqlSource:
    """A BigQuery job that names its destination table outside the SQL writes its SELECT there:
    spell the write out, so lineage and the rules see it (WRITE_TRUNCATE replaces the table, or
    the `$YYYYMMDD` partition it names; anything else appends)."""
    table = _destination_table(_lookup_path(kwargs, destination.table_arg))
    if table is None or not QUERY_START.match(source.text):
        return source
    disposition = _lookup_path(kwargs, destination.disposition_arg)
    truncate = isinstance(disposition, str) and disposition.upper() == "WRITE_TRUNCATE"
    name, _, partition = table.partition("$")
    if truncate and partition:
        prefix = (
            f"DELETE FROM `{name}` WHERE _PARTITIONDATE = PARSE_DATE('%Y%m%d', '{partition}'); INSERT INTO `{name}` "
        )
    elif truncate:
        prefix = f"CREATE OR REPLACE TABLE `{name}` AS "
    else:
        prefix = f"INSERT INTO `{name}` "
    via = f"{source.via} -> {destination.table_arg}"
    return replace(source, text=prefix + source.text, col=max(1, source.col - len(prefix)), via=via)


def _extract_bash(spec: OperatorSpec, context: ExtractContext) -> Extracted:
    draft = context.parsed.draft
    command = context.parsed.returned if spec.sql_args == ("<return>",) else draft.kwargs.get("bash_command")
    node = draft.nodes.get("bash_command")
    base_line = _value_line(node, draft.scope) if node is not None else context.task.line
    text = command.text if isinstance(command, FileText) else command
    if not isinstance(text, str):
        return Extracted(opaque_reason="the shell command is not a constant the scanner can resolve")
    command_file = context.task.file
    if text.strip().endswith((".sh", ".bash")) and "\n" not in text.strip():
        script = resolve_template_file(text.strip(), context.dag, context.root)
        body = context.read_text(script) if script else None
        if body is None:
            return Extracted(opaque_reason=f"runs the shell script {text.strip()!r}, not found in the repository")
        text, command_file, base_line = body, script or command_file, 1
    facts = parse_bash(text)
    if facts.error:
        finding = scan_error("E031", f"task {context.task.task_id!r}: {facts.error}", context.task.file, base_line)
        return Extracted(opaque_reason=facts.error, bash_command=text, findings=(finding,))
    sources: list[SqlSource] = []
    findings: list[Finding] = []
    for found in facts.sql:
        if found.text is not None:
            line = base_line + found.line_offset
            sources.append(SqlSource(SqlOrigin.BASH, found.text, command_file, line, via=found.client))
            continue
        more, problems, _ = _file_source(found.file or "", context, found.client, None)
        sources.extend(replace(s, origin=SqlOrigin.BASH) for s in more)
        findings.extend(problems)
    if not sources and not facts.sql:
        reason = (
            "runs `airflow dags backfill`"
            if facts.backfill
            else "; ".join(facts.tools) or "runs a shell command with no SQL client"
        )
        return Extracted(opaque_reason=reason, bash_command=text, findings=tuple(findings))
    dialect = facts.sql[0].dialect if facts.sql else None
    return Extracted(tuple(sources), "", "", dialect, "operator" if dialect else "none", text, tuple(findings))


def _extract_callable(spec: OperatorSpec, context: ExtractContext) -> Extracted:
    parsed = context.parsed
    draft = parsed.draft
    function = draft.function or draft.kwargs.get("python_callable")
    if function is None or not hasattr(function, "node"):
        where = draft.nodes.get("python_callable")
        name = ast.unparse(where) if isinstance(where, ast.expr) else "the callable"
        return Extracted(opaque_reason=f"{name} is defined outside this file; its code is not followed")
    sources: list[SqlSource] = []
    reasons: list[str] = []
    dialect: str | None = None
    dialect_source = "none"
    conn_ids: list[str] = []
    findings: list[Finding] = []
    for call in parsed.hook_calls:
        node = ast.Constant(value=None, lineno=call.line, col_offset=0)
        more, found, reason = sources_from_value(
            call.value, node, context, (".sql", ".hql"), call.via, SqlOrigin.CALLABLE
        )
        sources.extend(more)
        reasons.extend([f"{call.via}: {reason}"] if reason else [])
        if reason and not found:  # the SQL a hook runs is built at run time
            message = f"task {context.task.task_id!r}: {call.via}: {reason}"
            found = [scan_error("E031", message, context.task.file, call.line)]
        findings.extend(found)
        dialect, dialect_source = _hook_dialect(call, dialect, dialect_source)
        conn_ids.extend([call.conn_id] if call.conn_id else [])
    if not parsed.hook_calls:
        return Extracted(opaque_reason=f"the Python callable {function.node.name}() runs no SQL the scanner can see")
    missing = "; ".join(reasons) if not sources else ""
    return Extracted(tuple(sources), missing, "", dialect, dialect_source, findings=tuple(findings))


def _hook_dialect(call: HookSqlCall, current: str | None, source: str) -> tuple[str | None, str]:
    if current is not None or call.dialect is None:
        return current, source
    return call.dialect, "hook"


def _extract_opaque(_: OperatorSpec, context: ExtractContext) -> Extracted:
    return Extracted(opaque_reason=f"{context.task.operator} runs code the scanner cannot see")


def _extract_nothing(_: OperatorSpec, __: ExtractContext) -> Extracted:
    return Extracted()


EXTRACTORS: dict[OperatorKind, Callable[[OperatorSpec, ExtractContext], Extracted]] = {
    OperatorKind.SQL: _extract_sql_argument,
    OperatorKind.BASH: _extract_bash,
    OperatorKind.PYTHON: _extract_callable,
    OperatorKind.OPAQUE: _extract_opaque,
    OperatorKind.CONTROL: _extract_nothing,
}


def conn_id_of(spec: OperatorSpec | None, kwargs: Mapping[str, Any]) -> str | None:
    names = [*(spec.conn_args if spec else ()), *sorted(k for k in kwargs if k.endswith("conn_id"))]
    return next((kwargs[n] for n in names if isinstance(kwargs.get(n), str)), None)


def decide_dialect(
    spec: OperatorSpec | None, extracted: Extracted, conn_id: str | None, config: KappaConfig
) -> tuple[str | None, str, float]:
    """The dialect, where it came from, and how sure it is; parse-guessing is left to the caller."""
    if spec is not None and spec.dialect:
        return spec.dialect, "operator", 1.0
    if extracted.dialect:
        return extracted.dialect, extracted.dialect_source, 0.95
    if conn_id and conn_id in config.connections:
        return config.connections[conn_id], "conn_table", 0.9
    if conn_id:
        named = dialect_from_conn_name(conn_id)
        if named:
            return named, "conn_name", 0.6
    return None, "none", 0.0


def extract_sql(
    parsed: ParsedTask, task: Task, dag: Dag, root: Path, config: KappaConfig, read_text: ReadText
) -> tuple[Task, tuple[Finding, ...]]:
    """Fill a task's SQL sources, connection and dialect."""
    draft = parsed.draft
    spec = draft.spec
    context = ExtractContext(task, parsed, dag, root, read_text)
    if spec is None:
        reason = (
            f"unknown operator {task.operator}: not in the operator table, not defined in the repository, "
            "not in [tool.kappa.operators]"
        )
        finding = scan_error("E030", f"task {task.task_id!r}: {reason}", task.file, task.line, task.col)
        return replace(task, opaque=True, opaque_reason=reason), (finding,)
    extracted = EXTRACTORS[spec.kind](spec, context)
    conn_id = conn_id_of(spec, draft.kwargs)
    dialect, dialect_source, confidence = decide_dialect(spec, extracted, conn_id, config)
    findings = list(extracted.findings)
    opaque = bool(extracted.opaque_reason) and not extracted.sources
    if opaque:
        message = f"task {task.task_id!r}: {extracted.opaque_reason}"
        findings.append(scan_error("E030", message, task.file, task.line, task.col))
    bash = draft.kwargs.get("bash_command")
    updated = replace(
        task,
        conn_id=conn_id,
        dialect=dialect,
        dialect_source=dialect_source,
        dialect_confidence=confidence,
        sql=extracted.sources,
        sql_missing_reason=extracted.missing_reason,
        opaque=opaque,
        opaque_reason=extracted.opaque_reason if opaque else "",
        bash_command=extracted.bash_command or (str(bash) if isinstance(bash, str) else None),
    )
    return updated, tuple(findings)


def operator_kind(parsed: ParsedTask) -> OperatorKind | None:
    spec = parsed.draft.spec
    return spec.kind if spec is not None else None
