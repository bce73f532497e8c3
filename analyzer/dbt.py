"""dbt projects: every model and snapshot is a job, rendered with dbt's context stood in.

A project is found by its `dbt_project.yml` (walking up from the repository's SQL files; packages
installed under `dbt_packages/` are dependencies, not projects). Each enabled model and snapshot
becomes a task of the DAG `dbt:<project>` and a job `dbt:<project>.<name>`:

1. its config is merged the way dbt does: `dbt_project.yml` by folder, then the property files
   (`schema.yml`: `config:`), then the model's own `{{ config(...) }}`;
2. it is rendered in the scanner's sandbox (`render_sql`) with dbt's context stood in
   (`analyzer.dbt_context`) and the project's own macros defined in front of it, twice for an
   incremental model: `is_incremental()` false (the full build) and true (the incremental run);
3. its SELECT is written out as what dbt runs for its materialization (`compile_node`): a table
   is `CREATE OR REPLACE TABLE ... AS`, a view `CREATE OR REPLACE VIEW ... AS`, an incremental
   model with a `unique_key` a `MERGE` on that key, one without an `INSERT INTO`, a snapshot a
   `MERGE` that inserts each new version (SCD-2). The full build's SELECT is used: what the
   incremental filter adds (a lookback window reaching into `{{ this }}`) is recorded in the
   task's `meta` for the dbt rules (F110), since a stream has no "since the last run";
4. the property files' columns and `data_type`s become table definitions, for generation.

DAGs that run the project (`dbt run --project-dir ...` in a BashOperator, dbt operators, Cosmos
`DbtDag` / `DbtTaskGroup`, read by `analyzer.dbt_runs`) give it its schedule, its `--vars`, and
say which models run with `--full-refresh`.

What does not render statically (a macro with no stand-in, a `ref` to nothing, a template error)
is a finding on the model's job; a model that does not render at all is listed, unparsed, with
the reason. Nothing here raises.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .config import KappaConfig
from .dbt_context import DbtRenderState, NodeContext, Relation, dbt_context, referenced_names, relation_text
from .dbt_runs import DbtRun, find_runs, select_nodes
from .discover import SKIPPED_DIRS
from .errors import scan_error
from .model_jobs import (
    ModelScan,
    Reader,
    job_from_rendered,
    listing,
    load_yaml,
    mapping,
    names,
    plain_value,
    table_def,
    write_prefix,
)
from .models import Dag, Finding, Inventory, Job, JobOrigin, RenderedSql, SqlOrigin, SqlSource, Task
from .operators import CANDIDATE_DIALECTS
from .render import render_sql
from .rules.window import RUN_VARIABLES, UNIT_DAYS
from .schemas import TableDef

PROJECT_FILE = "dbt_project.yml"
PACKAGE_FOLDERS = frozenset({"dbt_packages", "dbt_modules"})
# dbt adapter type -> sqlglot dialect
ADAPTER_DIALECTS: dict[str, str] = {
    "bigquery": "bigquery",
    "snowflake": "snowflake",
    "postgres": "postgres",
    "redshift": "redshift",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
    "starburst": "trino",
    "presto": "presto",
    "athena": "athena",
    "duckdb": "duckdb",
    "motherduck": "duckdb",
    "clickhouse": "clickhouse",
    "mysql": "mysql",
    "sqlserver": "tsql",
    "fabric": "tsql",
    "synapse": "tsql",
    "oracle": "oracle",
    "teradata": "teradata",
    "materialize": "postgres",
    "risingwave": "postgres",
    "exasol": "exasol",
    "doris": "doris",
    "starrocks": "starrocks",
    "hive": "hive",
    "impala": "hive",
    "sqlite": "sqlite",
    "dremio": "dremio",
}
# strategies that replace the rows of a key (dbt's default once a unique_key is set)
KEYED_STRATEGIES = frozenset({"merge", "delete+insert"})
SNAPSHOT_BLOCK = re.compile(r"\{%-?\s*snapshot\s+(\w+)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}", re.DOTALL)
MACRO_BLOCK = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
DO_RETURN = re.compile(r"\{%(-?)\s*do\s+return\((.*?)\)\s*(-?)%\}", re.DOTALL)
DISPATCH = re.compile(r"adapter\.dispatch\(\s*(['\"])(\w+)\1\s*(?:,[^()]*)?\)")
IS_INCREMENTAL = re.compile(r"is_incremental\s*\(\s*\)")
SENTINEL = "@@kappa_dbt_model_starts_here@@"
RUN_NAME = re.compile(r"[A-Za-z_]\w*")  # the names in a template expression (`macros.ds_add(ds, -3)`)
LINE_OFFSET = 1_000_000  # added to a model's lines while it renders behind its macros
MAX_MACROS = 400  # macros put in front of one model (a package's worth); more is left out


# ------------------------------------------------------------------------------------ the project


@dataclass(frozen=True)
class Macro:
    name: str
    file: str
    line: int
    text: str


@dataclass(frozen=True)
class Node:
    """A model or snapshot file (or a snapshot declared in YAML)."""

    name: str
    kind: str  # model | snapshot
    file: str
    text: str
    folders: tuple[str, ...]  # folders between the model path and the file, for project config
    properties: Mapping[str, Any] = field(default_factory=dict)  # its entry in a property file
    line: int = 1  # where its SQL starts in `file` (a snapshot block's body)


@dataclass(frozen=True)
class SourceTable:
    relation: Relation
    columns: tuple[tuple[str, str], ...]
    unique: tuple[str, ...]
    file: str
    line: int


@dataclass(frozen=True)
class Project:
    name: str
    folder: str  # root-relative ("" for the root)
    file: str  # its dbt_project.yml
    raw: Mapping[str, Any]
    adapter: str | None
    target_name: str
    target_schema: str
    target_database: str | None
    nodes: tuple[Node, ...]
    sources: Mapping[tuple[str, str], SourceTable]
    macros: Mapping[str, Macro]
    seeds: frozenset[str]
    findings: tuple[Finding, ...] = ()

    @property
    def dag_id(self) -> str:
        return f"dbt:{self.name}"

    def path(self, relative: str) -> str:
        return (PurePosixPath(self.folder) / relative).as_posix() if self.folder else relative


def find_project_files(inventory: Inventory, root: Path) -> list[str]:
    """The `dbt_project.yml` of every folder that holds SQL files (or one of its parents)."""
    found: dict[str, None] = {}
    checked: dict[str, bool] = {}
    folders = sorted({PurePosixPath(f).parent.as_posix() for f in inventory.sql_files})
    for folder in folders:
        current = PurePosixPath(folder)
        while True:
            key = current.as_posix()
            if key not in checked:
                candidate = (root / key / PROJECT_FILE) if key != "." else root / PROJECT_FILE
                checked[key] = candidate.is_file()
                if checked[key]:
                    found[(PurePosixPath(key) / PROJECT_FILE).as_posix() if key != "." else PROJECT_FILE] = None
                    break
            elif checked[key]:
                break
            if key in {".", ""}:
                break
            current = current.parent
    return [f for f in sorted(found) if not PACKAGE_FOLDERS & set(PurePosixPath(f).parts)]


def load_project(project_file: str, inventory: Inventory, read: Reader, root: Path) -> Project | None:
    """Read a project: dbt_project.yml, profiles.yml, property files, macros, models, snapshots."""
    text = read(project_file)
    if text is None:
        return None
    raw, problem = load_yaml(text, project_file)
    findings: list[Finding] = [problem] if problem else []
    raw = mapping(raw)
    folder = PurePosixPath(project_file).parent.as_posix()
    folder = "" if folder == "." else folder
    name = str(raw.get("name") or PurePosixPath(folder or root.name).name)
    adapter, target_name, schema, database, profile_findings = _profile(raw, folder, read, root)
    findings.extend(profile_findings)
    files = [f for f in inventory.sql_files if _under(f, folder) and not _in_package(f, folder)]
    model_dirs = [_join(folder, d) for d in _paths(raw, "model-paths", "source-paths", default="models")]
    snapshot_dirs = [_join(folder, d) for d in _paths(raw, "snapshot-paths", default="snapshots")]
    macro_dirs = [_join(folder, d) for d in _paths(raw, "macro-paths", default="macros")]
    seed_dirs = [_join(folder, d) for d in _paths(raw, "seed-paths", "data-paths", default="seeds")]
    properties, sources, yml_findings = _property_files([*model_dirs, *snapshot_dirs], read, root)
    findings.extend(yml_findings)
    nodes: list[Node] = []
    for file in files:
        text_of = read(file)
        if text_of is None:
            continue
        model_dir = next((d for d in model_dirs if _under(file, d)), None)
        snapshot_dir = next((d for d in snapshot_dirs if _under(file, d)), None)
        if model_dir is not None:
            stem = PurePosixPath(file).stem
            folders = PurePosixPath(file).relative_to(model_dir or ".").parts[:-1] if model_dir else ()
            nodes.append(Node(stem, "model", file, text_of, tuple(folders), properties.get(("model", stem), {})))
        elif snapshot_dir is not None:
            folders = PurePosixPath(file).relative_to(snapshot_dir or ".").parts[:-1] if snapshot_dir else ()
            for match in SNAPSHOT_BLOCK.finditer(text_of):
                snapshot = match.group(1)
                body_start = match.start(2)
                line = text_of.count("\n", 0, body_start) + 1
                # the block's body, padded so its lines stay the file's lines
                body = "\n" * (line - 1) + match.group(2)
                entry = properties.get(("snapshot", snapshot), {})
                nodes.append(Node(snapshot, "snapshot", file, body, tuple(folders), entry, line))
    for (kind, node_name), entry in sorted(properties.items()):
        relation = entry.get("relation")
        if kind == "snapshot" and isinstance(relation, str) and not any(n.name == node_name for n in nodes):
            body = f"select * from {{{{ {relation} }}}}\n"
            file = str(entry.get("__file__", project_file))
            nodes.append(Node(node_name, "snapshot", file, body, (), entry, int(entry.get("__line__", 1))))
    macros = _macros(inventory, macro_dirs, read)
    seeds = _seeds(seed_dirs, root)
    return Project(
        name=name,
        folder=folder,
        file=project_file,
        raw=raw,
        adapter=adapter,
        target_name=target_name,
        target_schema=schema or name,
        target_database=database,
        nodes=tuple(sorted(nodes, key=lambda n: (n.name, n.kind, n.file))),
        sources=sources,
        macros=macros,
        seeds=seeds,
        findings=tuple(findings),
    )


def _under(file: str, folder: str) -> bool:
    return not folder or file.startswith(folder.rstrip("/") + "/")


def _in_package(file: str, folder: str) -> bool:
    relative = file[len(folder) + 1 :] if folder else file
    return bool(PACKAGE_FOLDERS & set(PurePosixPath(relative).parts[:-1])) or relative.startswith("target/")


def _join(folder: str, relative: str) -> str:
    joined = os.path.normpath((PurePosixPath(folder) / relative).as_posix()) if folder else os.path.normpath(relative)
    return "" if joined == "." else PurePosixPath(joined).as_posix()


def _paths(raw: Mapping[str, Any], *keys: str, default: str) -> list[str]:
    for key in keys:
        values = [str(v) for v in listing(raw.get(key)) if isinstance(v, str) and ".." not in v]
        if values:
            return values
    return [default]


def _profile(
    raw: Mapping[str, Any], folder: str, read: Reader, root: Path
) -> tuple[str | None, str, str | None, str | None, list[Finding]]:
    """(adapter type, target name, schema, database) from a profiles.yml in the project (or the root)."""
    profile_name = raw.get("profile")
    for candidate in dict.fromkeys([_join(folder, "profiles.yml"), "profiles.yml"]):
        if not (root / candidate).is_file():
            continue
        text = read(candidate)
        if text is None:
            continue
        loaded, problem = load_yaml(text, candidate)
        if problem is not None:
            return None, "prod", None, None, [problem]
        profiles = mapping(loaded)
        profile = mapping(profiles.get(profile_name)) if isinstance(profile_name, str) else {}
        if not profile and len(profiles) == 1:
            profile = mapping(next(iter(profiles.values())))
        target = str(profile.get("target") or "dev")
        outputs = mapping(profile.get("outputs"))
        output = mapping(outputs.get(target)) or mapping(next(iter(outputs.values()), {}))
        adapter = output.get("type")
        schema = output.get("schema") or output.get("dataset")
        database = output.get("database") or output.get("project") or output.get("dbname")
        return (
            str(adapter).lower() if isinstance(adapter, str) else None,
            target,
            str(schema) if isinstance(schema, str) and "{{" not in schema else None,
            str(database) if isinstance(database, str) and "{{" not in database else None,
            [],
        )
    return None, "prod", None, None, []


def _property_files(
    folders: Sequence[str], read: Reader, root: Path
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[tuple[str, str], SourceTable], list[Finding]]:
    """Model / snapshot entries and sources of the YAML property files under `folders`."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    sources: dict[tuple[str, str], SourceTable] = {}
    findings: list[Finding] = []
    for file in _yaml_files(folders, root):
        text = read(file)
        if text is None:
            continue
        loaded, problem = load_yaml(text, file)
        if problem is not None:
            findings.append(problem)
            continue
        document = mapping(loaded)
        for kind, key in (("model", "models"), ("snapshot", "snapshots")):
            for item in listing(document.get(key)):
                entry = mapping(item)
                if isinstance(entry.get("name"), str):
                    line = _line_of(text, f"name: {entry['name']}")
                    entries.setdefault((kind, entry["name"]), {**entry, "__file__": file, "__line__": line})
        for source_item in listing(document.get("sources")):
            source = mapping(source_item)
            source_name = source.get("name")
            if not isinstance(source_name, str):
                continue
            for table_item in listing(source.get("tables")):
                table = mapping(table_item)
                table_name = table.get("name")
                if not isinstance(table_name, str):
                    continue
                relation = Relation(
                    _text(source.get("database") or source.get("project")),
                    str(source.get("schema") or source.get("dataset") or source_name),
                    str(table.get("identifier") or table_name),
                )
                columns, unique = columns_of_entry(table)
                line = _line_of(text, f"name: {table_name}")
                sources.setdefault((source_name, table_name), SourceTable(relation, columns, unique, file, line))
    return entries, sources, findings


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and "{{" not in value else None


def _yaml_files(folders: Sequence[str], root: Path) -> list[str]:
    """YAML files under `folders`, sorted; symlinks that leave the root are not followed."""
    found: set[str] = set()
    resolved_root = root.resolve()
    for dirpath, filenames in _walk_folders(folders, root):
        for filename in filenames:
            if filename.endswith((".yml", ".yaml")):
                path = Path(dirpath) / filename
                try:
                    relative = path.resolve().relative_to(resolved_root)
                except (ValueError, OSError, RuntimeError):
                    continue
                found.add(relative.as_posix())
    return sorted(found)


def _walk_folders(folders: Sequence[str], root: Path) -> Iterator[tuple[str, list[str]]]:
    """(folder, file names) under each of `folders` inside the root, leaving out package folders,
    hidden ones and those the scanner never enters (a virtual environment): what the scan cache's
    layout digest sees, so a file added where this walk looks ends the reuse of a cached scan."""
    resolved_root = root.resolve()
    for folder in folders:
        base = root / folder if folder else root
        try:
            inside = base.is_dir() and base.resolve().is_relative_to(resolved_root)
        except (OSError, RuntimeError):
            inside = False
        if not inside:
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in PACKAGE_FOLDERS
                and d not in SKIPPED_DIRS
                and not d.startswith(".")
                and not d.endswith(".egg-info")
            )
            yield dirpath, filenames


def _line_of(text: str, needle: str) -> int:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def columns_of_entry(entry: Mapping[str, Any]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(name, data_type) of an entry's columns, and the columns tested unique and not null."""
    columns: list[tuple[str, str]] = []
    unique: list[str] = []
    for item in listing(entry.get("columns")):
        column = mapping(item)
        name = column.get("name")
        if not isinstance(name, str):
            continue
        data_type = column.get("data_type") or mapping(column.get("meta")).get("data_type")
        columns.append((name, str(data_type) if isinstance(data_type, str) else ""))
        tests = {str(t) if isinstance(t, str) else next(iter(mapping(t)), "") for t in _tests(column)}
        constraints = {str(mapping(c).get("type")) for c in listing(column.get("constraints"))}
        if {"unique", "not_null"} <= tests or "primary_key" in constraints:
            unique.append(name)
    return tuple(columns), tuple(unique)


def _tests(column: Mapping[str, Any]) -> list[Any]:
    return [*listing(column.get("tests")), *listing(column.get("data_tests"))]


def _macros(inventory: Inventory, folders: Sequence[str], read: Reader) -> dict[str, Macro]:
    macros: dict[str, Macro] = {}
    for file in inventory.sql_files:
        if not any(_under(file, folder) for folder in folders):
            continue
        text = read(file)
        if text is None:
            continue
        for match in MACRO_BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            macros.setdefault(match.group(1), Macro(match.group(1), file, line, match.group(0)))
    return macros


def _seeds(folders: Sequence[str], root: Path) -> frozenset[str]:
    return frozenset(
        name.removesuffix(".csv")
        for dirpath, filenames in _walk_folders(folders, root)
        for name in filenames
        if name.endswith(".csv") and os.path.isfile(os.path.join(dirpath, name))
    )


# ------------------------------------------------------------------------------------ config


CONFIG_KEYS = frozenset(
    {
        "materialized",
        "unique_key",
        "incremental_strategy",
        "partition_by",
        "cluster_by",
        "on_schema_change",
        "full_refresh",
        "schema",
        "alias",
        "database",
        "project",
        "dataset",
        "tags",
        "enabled",
        "strategy",
        "updated_at",
        "check_cols",
        "target_schema",
        "target_database",
        "event_time",
        "lookback",
        "batch_size",
        "pre_hook",
        "post_hook",
        "pre-hook",
        "post-hook",
    }
)


def project_config(project: Project, node: Node) -> dict[str, Any]:
    """The config dbt_project.yml gives `node`: the `+key`s of every folder level down to it."""
    section = mapping(project.raw.get("models" if node.kind == "model" else "snapshots"))
    config: dict[str, Any] = {}
    _apply_level(config, section)
    level = mapping(section.get(project.name))
    _apply_level(config, level)
    for folder in node.folders:
        level = mapping(level.get(folder))
        if not level:
            break
        _apply_level(config, level)
    return config


def _apply_level(config: dict[str, Any], level: Mapping[str, Any]) -> None:
    for key, value in level.items():
        name = str(key)
        if name.startswith("+"):
            config[name[1:]] = plain_value(value)
        elif (name in CONFIG_KEYS and not isinstance(value, Mapping | type(None))) or name == "partition_by":
            config[name] = plain_value(value)


def property_config(node: Node) -> dict[str, Any]:
    return {k: plain_value(v) for k, v in mapping(node.properties.get("config")).items()}


# ------------------------------------------------------------------------------------ rendering


@dataclass(frozen=True)
class Rendered:
    """A node rendered once (`is_incremental()` true or false)."""

    text: str  # the model's SELECT, its lines the file's lines
    result: RenderedSql
    state: DbtRenderState
    findings: tuple[Finding, ...]


class _Renderer:
    """Renders the nodes of one project; knows every node's relation for `ref`."""

    def __init__(
        self,
        project: Project,
        dialect: str,
        root: Path,
        known_tables: Mapping[str, TableDef],
        variables: Mapping[str, Any],
        var_markers: Mapping[str, str],
    ) -> None:
        self.project = project
        self.dialect = dialect
        self.root = root
        self.known_tables = known_tables
        self.variables = variables
        self.var_markers = var_markers
        self.base_configs = {n.name: {**project_config(project, n), **property_config(n)} for n in project.nodes}
        self.relations = {n.name: self.relation(n, self.base_configs[n.name]) for n in project.nodes}
        self.node_columns = {n.name: columns_of_entry(n.properties)[0] for n in project.nodes}

    def relation(self, node: Node, config: Mapping[str, Any]) -> Relation:
        database = _text(config.get("database") or config.get("project") or config.get("target_database"))
        if node.kind == "snapshot":
            schema = _text(config.get("target_schema") or config.get("schema")) or self.project.target_schema
        else:
            schema = _text(config.get("schema") or config.get("dataset")) or self.project.target_schema
        return Relation(database, schema, _text(config.get("alias")) or node.name)

    def lookup_node(self, name: str) -> Relation | None:
        if name in self.relations:
            return self.relations[name]
        if name in self.project.seeds:
            return Relation(None, self.project.target_schema, name)
        return None

    def lookup_source(self, source: str, table: str) -> Relation | None:
        found = self.project.sources.get((source, table))
        return found.relation if found is not None else None

    def columns_of(self, relation_name: str) -> list[str]:
        name = relation_name.strip('`"').lower()
        for node, relation in self.relations.items():
            if relation_text(relation, self.dialect).strip("`").lower() == name and self.node_columns[node]:
                return [c for c, _ in self.node_columns[node]]
        for source in self.project.sources.values():
            if relation_text(source.relation, self.dialect).strip("`").lower() == name and source.columns:
                return [c for c, _ in source.columns]
        definition = self.known_tables.get(name)
        return [c.name for c in definition.columns] if definition is not None else []

    def dispatched(self, name: str) -> str | None:
        adapter = self.project.adapter or self.dialect
        for candidate in (f"{adapter}__{name}", f"default__{name}", name):
            if candidate in self.project.macros:
                return candidate
        return None

    def render(self, node: Node, incremental: bool, config: Mapping[str, Any]) -> Rendered:
        state = DbtRenderState(incremental=incremental)
        context = NodeContext(
            project=self.project.name,
            dialect=self.dialect,
            adapter=self.project.adapter or self.dialect,
            target_name=self.project.target_name,
            target_schema=self.project.target_schema,
            target_database=self.project.target_database,
            this=self.relations.get(node.name) or Relation(None, self.project.target_schema, node.name),
            node_name=node.name,
            node_config=config,
            lookup_node=self.lookup_node,
            lookup_source=self.lookup_source,
            columns_of=self.columns_of,
            variables=self.variables,
            dispatch=self.dispatched,
        )
        text = self.prepared(node.text)
        macros = self.macros_for(text)
        prefix = "".join(f"{self.prepared(m.text)}\n" for m in macros)
        prefix_lines = prefix.count("\n")
        template = prefix + "{{ '" + SENTINEL + "' }}" + text
        # lines far past any file's: a finding's line tells the model's own lines from the macros'
        source = SqlSource(SqlOrigin.FILE, template, node.file, LINE_OFFSET + 1 - prefix_lines)
        result = render_sql(
            source,
            root=self.root,
            search_path=(self.project.folder,),
            extra_context=dbt_context(context, state),
        )
        _, found, body = result.text.partition(SENTINEL)
        findings = [self.relocated(f, macros, prefix_lines, node) for f in result.findings]
        findings.extend(self.problems(state, node, text))
        used = {text: origin for text, origin in self.var_markers.items() if text in body}
        variables = {v for origin in used.values() for v in RUN_NAME.findall(origin)} & RUN_VARIABLES
        cleaned = replace(
            result,
            text=body if found else "",
            findings=(),
            markers={**used, **result.markers},
            time_variables=tuple(sorted({*result.time_variables, *variables})),
        )
        return Rendered(body if found else "", cleaned, state, tuple(findings))

    def prepared(self, text: str) -> str:
        """dbt idioms plain Jinja lacks: `{% do return(x) %}` prints x; `adapter.dispatch('m')` calls
        the project's implementation of m for this adapter, when it has one."""
        text = DO_RETURN.sub(lambda m: "{{" + m.group(1) + " return(" + m.group(2) + ") " + m.group(3) + "}}", text)

        def dispatch(match: re.Match[str]) -> str:
            chosen = self.dispatched(match.group(2))
            return chosen if chosen is not None else match.group(0)

        return DISPATCH.sub(dispatch, text)

    def macros_for(self, text: str) -> list[Macro]:
        """The project's macros the text calls, and the macros they call, in a stable order."""
        wanted: dict[str, Macro] = {}
        pending = referenced_names([text])
        while pending and len(wanted) < MAX_MACROS:
            name = pending.pop()
            macro = self.project.macros.get(name)
            if macro is None or name in wanted:
                continue
            wanted[name] = macro
            pending |= referenced_names([self.prepared(macro.text)]) - set(wanted)
        return sorted(wanted.values(), key=lambda m: (m.file, m.line))

    def relocated(self, finding: Finding, macros: Sequence[Macro], prefix_lines: int, node: Node) -> Finding:
        """Findings in the macros in front of the model point at the macro's own file and line."""
        message = finding.message.replace(
            "which Airflow's context does not define", "which neither dbt's context nor the project's macros define"
        )
        if finding.line > LINE_OFFSET:
            return replace(finding, line=finding.line - LINE_OFFSET, message=message)
        template_line = finding.line - LINE_OFFSET + prefix_lines  # 1-based line of the whole template
        start = 1
        for macro in macros:
            length = self.prepared(macro.text).count("\n") + 1
            if start <= template_line < start + length:
                return replace(finding, file=macro.file, line=macro.line + template_line - start, message=message)
            start += length
        return replace(finding, line=node.line, message=message)

    def problems(self, state: DbtRenderState, node: Node, text: str) -> list[Finding]:
        findings = []
        for message, needle in state.problems:
            index = text.find(needle)
            line = text.count("\n", 0, index) + 1 if index >= 0 else node.line
            findings.append(scan_error("E013", message, node.file, line))
        return findings


# ------------------------------------------------------------------------------------ compiling


@dataclass(frozen=True)
class Compiled:
    text: str  # the SQL dbt runs for the node (the SELECT wrapped in its materialization)
    how: str  # e.g. "incremental, merge on order_id"


def compile_node(
    node: Node, config: Mapping[str, Any], select: str, relation: str, dialect: str, columns: Sequence[str]
) -> Compiled:
    """The statement dbt runs for `node`, its SELECT written out in place (lines kept)."""
    materialized = materialization(node, config)
    if materialized == "snapshot":
        return _snapshot(config, select, relation, columns)
    if materialized in {"view", "ephemeral", "materialized_view"}:
        kind = "MATERIALIZED VIEW" if materialized == "materialized_view" else "VIEW"
        return Compiled(write_prefix(select, f"CREATE OR REPLACE {kind} {relation} AS "), materialized)
    if materialized != "incremental" or config.get("full_refresh") is True:
        return Compiled(write_prefix(select, f"CREATE OR REPLACE TABLE {relation} AS "), materialized)
    keys = names(config.get("unique_key"))
    strategy = str(config.get("incremental_strategy") or ("merge" if keys else "append")).lower()
    if keys and strategy in KEYED_STRATEGIES and columns:
        on = " AND ".join(f"dbt_internal_dest.{k} = dbt_internal_source.{k}" for k in keys)
        updates = ", ".join(f"{c} = dbt_internal_source.{c}" for c in columns)
        values = ", ".join(f"dbt_internal_source.{c}" for c in columns)
        suffix = (
            f") AS dbt_internal_source ON {on}\n"
            f"WHEN MATCHED THEN UPDATE SET {updates}\n"
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({values})"
        )
        prefix = f"MERGE INTO {relation} AS dbt_internal_dest USING ("
        return Compiled(write_prefix(select, prefix, suffix), f"incremental, {strategy} on {', '.join(keys)}")
    if strategy == "insert_overwrite" and dialect in {"spark", "databricks", "hive"}:
        partition = names(mapping(config.get("partition_by")).get("field") or config.get("partition_by"))
        clause = f" PARTITION ({', '.join(partition)})" if partition else ""
        return Compiled(
            write_prefix(select, f"INSERT OVERWRITE TABLE {relation}{clause} "), "incremental, insert_overwrite"
        )
    return Compiled(write_prefix(select, f"INSERT INTO {relation} "), f"incremental, {strategy}")


def materialization(node: Node, config: Mapping[str, Any]) -> str:
    if node.kind == "snapshot":
        return "snapshot"
    return str(config.get("materialized") or "view").lower()


def _snapshot(config: Mapping[str, Any], select: str, relation: str, columns: Sequence[str]) -> Compiled:
    """dbt's SCD-2 snapshot: each new version of a row (by unique_key) is inserted with its
    validity start; the rows it replaces are closed (`dbt_valid_to`) by the same run."""
    keys = names(config.get("unique_key")) or ("id",)
    strategy = str(config.get("strategy") or "timestamp").lower()
    updated_at = str(config.get("updated_at")) if strategy == "timestamp" and config.get("updated_at") else None
    valid_from = f"dbt_source.{updated_at}" if updated_at else "CURRENT_TIMESTAMP"
    on = " AND ".join(f"dbt_snapshot.{k} = dbt_internal_source.{k}" for k in keys)
    if columns:
        listed = [*columns, "dbt_valid_from", "dbt_valid_to"]
        insert = f"INSERT ({', '.join(listed)}) VALUES ({', '.join(f'dbt_internal_source.{c}' for c in listed)})"
    else:
        insert = "INSERT *"
    prefix = (
        f"MERGE INTO {relation} AS dbt_snapshot USING (SELECT dbt_source.*, {valid_from} AS dbt_valid_from, "
        "CAST(NULL AS TIMESTAMP) AS dbt_valid_to FROM ("
    )
    suffix = (
        f") AS dbt_source) AS dbt_internal_source ON {on} AND dbt_snapshot.dbt_valid_from = "
        f"dbt_internal_source.dbt_valid_from\nWHEN NOT MATCHED THEN {insert}"
    )
    return Compiled(write_prefix(select, prefix, suffix), f"snapshot, {strategy} on {', '.join(keys)}")


def output_columns(select: str, dialect: str) -> list[str]:
    """The SELECT's output names (empty when a `*` hides them or it does not parse)."""
    try:
        tree = sqlglot.parse_one(select, read=dialect)
    except (SqlglotError, RecursionError, ValueError):
        return []
    if not isinstance(tree, exp.Query):
        return []
    selects = tree.named_selects
    if not selects or any(name == "*" for name in selects) or any(isinstance(s, exp.Star) for s in tree.selects):
        return []
    return list(selects)


# ------------------------------------------------------------------------------------ the lookback


def incremental_filter(full: str, incremental: str, dialect: str) -> tuple[str, int]:
    """(the conditions the incremental run adds, the days they reach back) from the two renders.

    `where updated_at >= (select max(updated_at) from {{ this }}) - interval '3 days'` reaches 3
    days back: every run re-processes the last 3 days that earlier runs already wrote.
    """
    added = _conditions(incremental, dialect) - _conditions(full, dialect)
    if not added:
        return "", 0
    days = max((_days_back(sqlglot.parse_one(c, read=dialect)) for c in sorted(added)), default=0)
    return " AND ".join(sorted(added)), days


def _conditions(sql: str, dialect: str) -> set[str]:
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except (SqlglotError, RecursionError, ValueError):
        return set()
    found: set[str] = set()
    for where in tree.find_all(exp.Where, exp.Having):
        condition = where.this
        parts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
        found.update(part.sql(dialect=dialect) for part in parts)
    return found


def _days_back(node: exp.Expr) -> int:
    """The largest day offset date arithmetic in a condition writes (`- interval '3 day'`,
    `dateadd(day, -3, ...)`, `date_sub(..., interval 3 day)`); hours round up to a day."""
    days = 0.0
    for item in node.walk():
        amount: float | None = None
        if isinstance(item, exp.Interval):
            amount = _interval_days(item)
        elif isinstance(item, exp.DateAdd | exp.DateSub | exp.TsOrDsAdd | exp.TimestampAdd | exp.TimestampSub):
            unit = item.args.get("unit")
            shift = item.expression
            if isinstance(shift, exp.Interval):
                continue  # counted as the interval itself
            literal = shift.this if isinstance(shift, exp.Neg) else shift
            if isinstance(literal, exp.Literal) and re.fullmatch(r"\s*-?\d+(?:\.\d+)?\s*", literal.name):
                per_unit = UNIT_DAYS.get(unit.name.upper() if isinstance(unit, exp.Expr) else "DAY")
                amount = float(literal.name) * per_unit if per_unit is not None else None
        if amount is not None:
            days = max(days, abs(amount))
    return int(-(-days // 1))


def _interval_days(interval: exp.Interval) -> float | None:
    text = interval.this.name if isinstance(interval.this, exp.Expr) else ""
    match = re.fullmatch(r"\s*-?(\d+)\s*([A-Za-z]*)\s*", text)
    if match is None:
        return None
    unit = interval.args.get("unit")
    name = (unit.name if isinstance(unit, exp.Expr) else "") or match.group(2) or "DAY"
    per_unit = UNIT_DAYS.get(name.upper())
    return None if per_unit is None else int(match.group(1)) * per_unit


# ------------------------------------------------------------------------------------ the scan


@dataclass(frozen=True)
class _NodeResult:
    node: Node
    task: Task
    job: Job
    refs: tuple[str, ...]
    config: Mapping[str, Any]


def scan_dbt_projects(
    root: Path,
    inventory: Inventory,
    dags: Sequence[Dag],
    config: KappaConfig,
    read: Reader,
    *,
    dialect: str | None = None,
    known_tables: Mapping[str, TableDef] | None = None,
) -> ModelScan:
    """Every dbt project under `root`: a DAG per project, a job per model and snapshot.

    `dags` are the repository's Airflow DAGs (the ones that run a project give it a schedule,
    vars and full-refresh runs); `dialect` is used when the project's profile names no adapter.
    """
    root = root.resolve()
    projects = [p for f in find_project_files(inventory, root) if (p := load_project(f, inventory, read, root))]
    if not projects:
        return ModelScan()
    runs = find_runs(root, inventory, dags, read, projects)
    result_dags: list[Dag] = []
    jobs: list[Job] = []
    findings: list[Finding] = []
    schemas: dict[str, TableDef] = {}
    counts = {"projects": len(projects), "models": 0, "snapshots": 0, "parsed": 0}
    for project in sorted(projects, key=lambda p: (p.name, p.folder)):
        project_runs = [r for r in runs if r.project == project.file]
        scanned = _scan_project(project, project_runs, root, config, dialect, known_tables or {})
        result_dags.append(scanned.dags[0])
        jobs.extend(scanned.jobs)
        findings.extend(project.findings)
        findings.extend(scanned.findings)
        for table, definition in scanned.schemas:
            schemas.setdefault(table, definition)
        for job in scanned.jobs:
            counts["snapshots" if job.operator == "dbt snapshot" else "models"] += 1
            counts["parsed"] += job.sql_status.value == "parsed"
    return ModelScan(
        tuple(result_dags),
        tuple(jobs),
        tuple(sorted(set(findings), key=Finding.sort_key)),
        tuple(sorted(schemas.items())),
        counts,
    )


def project_dialect(
    project: Project, runs: Sequence[DbtRun], fallback: str | None, config: KappaConfig
) -> tuple[str | None, str]:
    """(dialect, what decided it): the profile's adapter, a Cosmos profile mapping, --dialect,
    the configuration's default."""
    if project.adapter and project.adapter in ADAPTER_DIALECTS:
        return ADAPTER_DIALECTS[project.adapter], "dbt_profile"
    hinted = next((r.adapter for r in runs if r.adapter in ADAPTER_DIALECTS), None)
    if hinted is not None:
        return ADAPTER_DIALECTS[hinted], "dbt_profile"
    if fallback:
        return fallback, "config"
    if config.default_dialect:
        return config.default_dialect, "config"
    return None, "none"


def _scan_project(
    project: Project,
    runs: Sequence[DbtRun],
    root: Path,
    config: KappaConfig,
    fallback: str | None,
    known_tables: Mapping[str, TableDef],
) -> ModelScan:
    dialect, dialect_source = project_dialect(project, runs, fallback, config)
    variables, var_markers = _variables(project, runs, root)
    renderer = _Renderer(project, dialect or "", root, known_tables, variables, var_markers)
    results: list[_NodeResult] = []
    seen: set[str] = set()
    findings: list[Finding] = []
    for node in project.nodes:
        if node.name in seen:
            message = f"dbt project {project.name} has two nodes named {node.name!r}; the second is skipped"
            findings.append(scan_error("E022", message, node.file, node.line))
            continue
        seen.add(node.name)
        result = _scan_node(project, node, renderer, dialect, dialect_source)
        if result is not None:
            results.append(result)
    names_in_project = {r.node.name for r in results}
    selected = {
        r.node.name: [run for run in runs if r.node.name in select_nodes(run, results_view(results))] for r in results
    }
    jobs: list[Job] = []
    tasks: list[Task] = []
    for result in results:
        meta = dict(result.task.meta)
        chosen = selected[result.node.name]
        meta["run_by"] = sorted(f"{run.dag_id}.{run.task_id}" for run in chosen)
        meta["full_refresh_by"] = sorted(f"{run.dag_id}.{run.task_id}" for run in chosen if run.full_refresh)
        task = replace(result.task, meta=meta)
        tasks.append(task)
        jobs.append(result.job)
    edges = sorted(
        {(ref, r.node.name) for r in results for ref in r.refs if ref in names_in_project and ref != r.node.name}
    )
    schedule = next((run.schedule for run in sorted(runs, key=lambda r: (r.dag_id, r.task_id)) if run.schedule), None)
    dag = Dag(
        dag_id=project.dag_id,
        file=project.file,
        line=1,
        schedule=schedule,
        tags=("dbt",),
        description=f"dbt project {project.name}" + (f" ({project.folder})" if project.folder else ""),
        tasks=tuple(tasks),
        edges=tuple(edges),
    )
    schemas = _table_defs(project, renderer, dialect or "")
    return ModelScan((dag,), tuple(jobs), tuple(findings), tuple(schemas.items()))


@dataclass(frozen=True)
class NodeView:
    """What run selection needs of a node."""

    name: str
    kind: str
    file: str
    folders: tuple[str, ...]
    tags: tuple[str, ...]
    materialized: str
    refs: tuple[str, ...]


def results_view(results: Sequence[_NodeResult]) -> list[NodeView]:
    return [
        NodeView(
            r.node.name,
            r.node.kind,
            r.node.file,
            r.node.folders,
            names(r.config.get("tags")),
            materialization(r.node, r.config),
            r.refs,
        )
        for r in results
    ]


def _variables(project: Project, runs: Sequence[DbtRun], root: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """--vars of the DAG runs (Airflow templates rendered for the scan's run), then the project's vars."""
    variables: dict[str, Any] = {}
    markers: dict[str, str] = {}
    raw_vars = mapping(project.raw.get("vars"))
    for key, value in {**mapping(raw_vars.get(project.name)), **raw_vars}.items():
        if key != project.name and not isinstance(value, Mapping):
            variables[str(key)] = plain_value(value)
    for run in sorted(runs, key=lambda r: (r.dag_id, r.task_id), reverse=True):
        for key, given in run.vars.items():
            value = given
            if isinstance(given, str) and "{{" in given:
                rendered = render_sql(SqlSource(SqlOrigin.INLINE, given, run.file, run.line), root=root)
                if rendered.text and not rendered.findings:
                    markers.update(rendered.markers)
                    value = rendered.text
            variables[str(key)] = value
    return variables, markers


def _scan_node(
    project: Project, node: Node, renderer: _Renderer, dialect: str | None, dialect_source: str
) -> _NodeResult | None:
    base = renderer.base_configs[node.name]
    if base.get("enabled") is False:
        return None
    full = renderer.render(node, False, base)
    node_config = {**base, **{k: plain_value(v) for k, v in full.state.config.items()}}
    if node_config.get("enabled") is False:
        return None
    materialized = materialization(node, node_config)
    relation = renderer.relation(node, node_config)
    renderer.relations[node.name] = relation
    findings = list(full.findings)
    refs = list(full.state.refs)
    meta: dict[str, Any] = {
        "tool": "dbt",
        "project": project.name,
        "materialized": materialized,
        "config": {k: v for k, v in sorted(node_config.items()) if k in CONFIG_KEYS},
        "relation": relation_text(relation, dialect or "").strip("`"),
        "config_line": _line_of(node.text, "config(") if "config(" in node.text else node.line,
    }
    lookback = 0
    if materialized == "incremental" and IS_INCREMENTAL.search(node.text):
        incremental = renderer.render(node, True, node_config)
        refs.extend(incremental.state.refs)
        findings.extend(f for f in incremental.findings if f not in findings)
        added, lookback = incremental_filter(full.text, incremental.text, dialect or "")
        match = IS_INCREMENTAL.search(node.text)
        meta["incremental_filter"] = added
        meta["incremental_line"] = node.text.count("\n", 0, match.start()) + 1 if match else node.line
        meta["lookback_days"] = lookback
    columns = output_columns(full.text, dialect or "") or [c for c, _ in renderer.node_columns[node.name]]
    text = relation_text(relation, dialect or "")
    compiled = compile_node(node, node_config, full.text, text, dialect or "", columns) if full.text.strip() else None
    meta["compiled_as"] = compiled.how if compiled is not None else ""
    operator = f"dbt {materialized}"
    source = SqlSource(
        SqlOrigin.FILE,
        compiled.text if compiled is not None else "",
        node.file,
        1,
        reference=node.file,
        via=f"dbt {compiled.how}" if compiled is not None else "dbt",
    )
    task = Task(
        task_id=node.name,
        operator=operator,
        file=node.file,
        line=node.line,
        dialect=dialect,
        dialect_source=dialect_source,
        dialect_confidence=1.0 if dialect else 0.0,
        sql=(source,),
        meta=meta,
    )
    rendered = replace(full.result, text=compiled.text if compiled is not None else "")
    job = job_from_rendered(
        task,
        project.dag_id,
        JobOrigin.DBT,
        (rendered,),
        dialect=dialect,
        dialect_source=dialect_source,
        findings=findings,
        lookback_days=(-lookback,) if lookback else (),
        candidates=CANDIDATE_DIALECTS,
    )
    return _NodeResult(node, task, job, tuple(dict.fromkeys(refs)), node_config)


def _table_defs(project: Project, renderer: _Renderer, dialect: str) -> dict[str, TableDef]:
    """Tables the property files type: the project's models and snapshots, and its sources."""
    defs: dict[str, TableDef] = {}
    for node in project.nodes:
        columns, unique = columns_of_entry(node.properties)
        relation = relation_text(renderer.relations[node.name], dialect).strip("`")
        file = str(node.properties.get("__file__", node.file))
        definition = table_def(
            relation, dialect, columns, file, int(node.properties.get("__line__", 1)), primary_key=unique
        )
        if definition is not None:
            defs[definition.table] = definition
    for source in project.sources.values():
        relation = relation_text(source.relation, dialect).strip("`")
        definition = table_def(relation, dialect, source.columns, source.file, source.line, primary_key=source.unique)
        if definition is not None:
            defs.setdefault(definition.table, definition)
    return defs
