"""The static DAG parser: a small abstract interpreter over a DAG file's AST.

Nothing of the user's code is imported or run. The interpreter walks the module in order, the way
Python would, binding names to the values it can compute (`pyeval`), entering `with DAG(...)` and
`with TaskGroup(...)` blocks, unrolling `for` loops over literal lists, following calls into the
module's own functions (`@dag`, `@task`, `@task_group` and plain helpers) and into the functions
and constants it imports from other modules of the repository (their source, read the same way),
and recording every operator instantiation as a task and every `>>`, `<<`, `chain`,
`cross_downstream`, `set_upstream` / `set_downstream` and TaskFlow argument as a dependency. A task
made outside any DAG joins the DAG of the first task it is linked to, as in Airflow. Whatever it
cannot compute is `Unknown`, never an exception; every step counts against a budget so no input
can make it loop forever.
"""

from __future__ import annotations

import ast
import itertools
import os.path
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .config import KappaConfig
from .discover import is_dir, is_file
from .errors import scan_error
from .models import Dag, Finding, Task
from .operators import (
    HOOK_DIALECTS,
    HOOK_SQL_METHODS,
    OPERATORS,
    TASKFLOW,
    OperatorKind,
    OperatorSpec,
    spec_for,
    sql,
)
from .pyeval import (
    MAX_INT_BITS,
    PLACEHOLDER_PREFIX,
    BudgetExceeded,
    CallValue,
    DatasetValue,
    DateValue,
    DurationValue,
    FileHandle,
    FileText,
    JinjaExpr,
    ModuleRef,
    PathStr,
    TaintedStr,
    Unknown,
    check_text_size,
    is_placeholder,
    join_text,
    percent_format,
    pure_function,
    string_method,
)

MAX_STEPS = 200_000  # evaluation steps per file
MAX_CALL_DEPTH = 12
MAX_LOOP_ITERATIONS = 2_000
MAX_COLLECTION = 10_000

# names Airflow puts in a task's context; a callable parameter with one of these names receives it
CONTEXT_KEYS = frozenset(
    {
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "logical_date",
        "execution_date",
        "data_interval_start",
        "data_interval_end",
        "prev_ds",
        "next_ds",
        "prev_ds_nodash",
        "next_ds_nodash",
        "yesterday_ds",
        "tomorrow_ds",
        "yesterday_ds_nodash",
        "tomorrow_ds_nodash",
        "params",
        "dag_run",
        "ti",
        "task_instance",
        "run_id",
        "dag",
        "task",
        "macros",
        "var",
        "conn",
        "test_mode",
        "prev_execution_date",
        "next_execution_date",
        "prev_data_interval_start_success",
        "prev_start_date_success",
        "templates_dict",
        "triggering_dataset_events",
        "triggering_asset_events",
        "outlets",
        "inlets",
    }
)

# database client libraries used directly from callables: import root -> dialect
CLIENT_LIBRARIES: dict[str, str | None] = {
    "psycopg2": "postgres",
    "psycopg": "postgres",
    "snowflake": "snowflake",
    "google.cloud.bigquery": "bigquery",
    "pyspark": "spark",
    "pyhive": "hive",
    "trino": "trino",
    "redshift_connector": "redshift",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "sqlalchemy": None,
    "duckdb": "duckdb",
}


_BudgetExceeded = BudgetExceeded  # steps, time or the size of a value: E008


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


# ---------------------------------------------------------------------------------------------
# Values that only the DAG interpreter makes


@dataclass(frozen=True)
class TaskRef:
    dag: int
    task_id: str


@dataclass(frozen=True)
class GroupRef:
    dag: int
    group_id: str


@dataclass(frozen=True)
class DagRef:
    dag: int


@dataclass(frozen=True)
class OperatorClass:
    name: str
    spec: OperatorSpec | None


@dataclass
class FunctionRef:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: Scope
    kind: str = "plain"  # plain | dag | task | group
    flavour: str = "task"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DecoratorFactory:
    kind: str
    flavour: str = "task"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class PartialOperator:
    operator: OperatorClass
    kwargs: dict[str, Any]
    nodes: dict[str, ast.AST]


@dataclass
class PartialTask:
    function: FunctionRef
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class HookRef:
    name: str
    dialect: str | None
    conn_id: str | None


class ContextDict(dict[str, Any]):
    """`**context` of a callable: every Airflow context key is a Jinja stand-in."""


# ---------------------------------------------------------------------------------------------
# Drafts: mutable while the module is interpreted, frozen into models at the end


@dataclass
class TaskDraft:
    task_id: str
    operator: str
    spec: OperatorSpec | None
    node: ast.AST
    group: str | None
    kwargs: dict[str, Any]
    nodes: dict[str, ast.AST]
    scope: Scope
    mapped: bool = False
    function: FunctionRef | None = None
    call_args: tuple[list[Any], dict[str, Any]] = ([], {})
    unresolved_id: bool = False


@dataclass
class GroupDraft:
    group_id: str
    parent: str | None
    prefix: str  # what member task ids start with ("" when prefix_group_id=False)
    members: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class DagDraft:
    index: int
    node: ast.AST
    kwargs: dict[str, Any]
    tasks: dict[str, TaskDraft] = field(default_factory=dict)
    groups: dict[str, GroupDraft] = field(default_factory=dict)
    edges: list[tuple[Any, Any]] = field(default_factory=list)

    @property
    def dag_id(self) -> Any:
        return self.kwargs.get("dag_id")

    @property
    def default_args(self) -> dict[str, Any]:
        value = self.kwargs.get("default_args")
        return value if isinstance(value, dict) else {}


class Scope:
    """Names bound in a module or function, with the AST node each value came from.

    `origin` is the root-relative file whose code the scope belongs to: functions imported from
    another module of the repository keep their own module's scope (and origin)."""

    def __init__(self, parent: Scope | None = None, origin: str | None = None) -> None:
        self.values: dict[str, Any] = {}
        self.nodes: dict[str, ast.AST] = {}
        self.parent = parent
        self.origin: str | None = origin if origin is not None else (parent.origin if parent else None)

    def lookup(self, name: str) -> tuple[bool, Any, ast.AST | None]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return True, scope.values[name], scope.nodes.get(name)
            scope = scope.parent
        return False, None, None

    def bind(self, name: str, value: Any, node: ast.AST | None = None) -> None:
        self.values[name] = value
        if node is not None:
            self.nodes[name] = node
        else:
            self.nodes.pop(name, None)


# ---------------------------------------------------------------------------------------------
# Repository-wide index of classes, for custom operators


@dataclass(frozen=True)
class ClassInfo:
    name: str
    file: str
    bases: tuple[str, ...]  # last component of each base's name
    sql_field: str | None  # the templated field that holds SQL, if any


SQL_FIELD_WORDS = ("sql", "query", "hql", "statement")


def index_classes(file: str, tree: ast.Module) -> dict[str, ClassInfo]:
    """Classes a module defines, with their bases and the templated field that holds SQL."""
    found: dict[str, ClassInfo] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = tuple(_last_name(base) for base in node.bases if _last_name(base))
        fields: list[str] = []
        for statement in node.body:
            target, value = _class_assignment(statement)
            if target == "template_fields" and isinstance(value, ast.Tuple | ast.List | ast.Set):
                fields = [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        sql_field = next((f for f in fields if any(word in f.lower() for word in SQL_FIELD_WORDS)), None)
        found[node.name] = ClassInfo(node.name, file, bases, sql_field)
    return found


def _class_assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id, statement.value
    return None, None


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _last_name(node.value)
    return ""


def resolve_operator(name: str, classes: Mapping[str, ClassInfo], config: KappaConfig) -> OperatorSpec | None:
    """Where an operator class keeps its SQL: the config first, then the table, then the repo."""
    configured = config.operators.get(name)
    if configured is not None:
        conn = (configured.conn_arg,) if configured.conn_arg else ()
        return sql(configured.sql_arg, dialect=configured.dialect, conn=conn)
    spec = spec_for(name) if name in OPERATORS or name.endswith("Sensor") else None
    if spec is not None:
        return spec
    return _custom_operator_spec(name, classes, config, frozenset())


def _custom_operator_spec(
    name: str, classes: Mapping[str, ClassInfo], config: KappaConfig, seen: frozenset[str]
) -> OperatorSpec | None:
    info = classes.get(name)
    if info is None or name in seen:
        return None
    for base in info.bases:
        spec = resolve_operator(base, {}, config) or _custom_operator_spec(base, classes, config, seen | {name})
        if spec is None:
            continue
        if info.sql_field and spec.kind is OperatorKind.SQL and info.sql_field not in spec.sql_args:
            spec = replace(spec, sql_args=(info.sql_field, *spec.sql_args))
        return spec
    if info.sql_field:
        return sql(info.sql_field)
    return None


# ---------------------------------------------------------------------------------------------
# Imports of the repository's own modules (helpers, DAG builders, SQL constants)

MAX_IMPORT_DEPTH = 4  # modules being imported at once (A imports B imports C ...)
IMPORT_STEPS = MAX_STEPS // 4  # evaluation steps for the top level of one imported module


@dataclass(frozen=True, eq=False)
class RepoModule:
    """A module or package of the scanned repository, bound by an import."""

    qualname: str
    scope: Scope | None  # None: a package folder without __init__.py
    folder: Path | None  # the package's folder, where its submodules are


@dataclass
class ModuleLoader:
    """Finds the repository's own modules that a DAG file imports and interprets their top level.

    Airflow puts the DAG folder (and usually the repository root) on `sys.path`, so
    `from common.sql import X` is looked up next to the importing file, then in each folder above
    it up to the root. What the module defines is bound in the importer: constants, functions
    (which create their tasks in the importer's DAGs when called) and TaskFlow tasks. DAGs and
    tasks the module creates at its own top level are not the importer's and are left out.
    """

    root: Path
    classes: Mapping[str, ClassInfo]
    config: KappaConfig
    read_file: Callable[[str], str | None]
    deadline: float | None = None  # time.monotonic() past which evaluation stops (E008)
    modules: dict[Path, Scope | None] = field(default_factory=dict)
    loading: list[Path] = field(default_factory=list)

    def find(self, dotted: str, importer: Path, level: int = 0) -> RepoModule | None:
        """The repository module `dotted` as seen from the file `importer` (level: leading dots)."""
        if not dotted and not level:
            return None
        if level == 0 and dotted.split(".", 1)[0] in ("airflow", "__future__"):
            return None
        if level:
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            bases = [base]
        else:
            bases = [importer.parent]
            while bases[-1] != self.root and bases[-1].is_relative_to(self.root):
                bases.append(bases[-1].parent)
        parts = [part for part in dotted.split(".") if part]
        if not parts:  # `from . import x`: the package of the importing file
            return self._module_at(bases[0], dotted or bases[0].name, files_only=False, package=True)
        for base in bases:  # a module file first, anywhere; a bare folder only if none exists
            found = self._module_at(base.joinpath(*parts), dotted, files_only=True)
            if found is not None:
                return found
        for base in bases:
            found = self._module_at(base.joinpath(*parts), dotted, files_only=False)
            if found is not None:
                return found
        return None

    def member(self, module: RepoModule, name: str) -> Any:
        """`module.name`: a value the module binds, else one of its submodules."""
        if module.scope is not None and name in module.scope.values:
            return module.scope.values[name]
        if module.folder is not None:
            found = self._module_at(module.folder / name, f"{module.qualname}.{name}", files_only=False)
            if found is not None:
                return found
        return ModuleRef(f"{module.qualname}.{name}")

    def _module_at(self, path: Path, qualname: str, *, files_only: bool, package: bool = False) -> RepoModule | None:
        if not path.is_relative_to(self.root):  # lexically, as `root in path.parents` (or root itself)
            return None
        try:
            if not package and path.with_suffix(".py").is_file():
                return RepoModule(qualname, self.load(path.with_suffix(".py")), None)
            if (path / "__init__.py").is_file():
                return RepoModule(qualname, self.load(path / "__init__.py"), path)
            if not files_only and path.is_dir():
                return RepoModule(qualname, None, path)
        except OSError:
            return None
        return None

    def load(self, path: Path) -> Scope | None:
        """The module scope of a repository file, interpreted once per DAG file."""
        if path in self.modules:
            return self.modules[path]
        if path in self.loading or len(self.loading) >= MAX_IMPORT_DEPTH:
            return None  # an import cycle, or too deep: names stay unresolved
        try:
            relative = path.resolve().relative_to(self.root).as_posix()
        except (ValueError, OSError, RuntimeError):  # 3.11 raises RuntimeError on a symlink loop
            return None
        text = self.read_file(relative)
        tree = _parse_module(text) if text is not None else None
        if tree is None:
            self.modules[path] = None
            return None
        self.loading.append(path)
        try:
            interpreter = Interpreter(relative, path.as_posix(), self.classes, self.config, self.read_file, self)
            interpreter.max_steps = IMPORT_STEPS
            scope = interpreter.run_module(tree)
        finally:
            self.loading.pop()
        for name, value in list(scope.values.items()):
            scope.values[name] = _detached(value)
        self.modules[path] = scope
        return scope


@lru_cache(maxsize=256)
def _parse_module(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _budget_reason(error: BaseException) -> str:
    return error.reason if isinstance(error, BudgetExceeded) else "nesting depth"


def _too_many_bits(left: int, right: int) -> bool:
    """`x * x` in a loop: refuse an integer product before it grows past `MAX_INT_BITS`."""
    return abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS


def _detached(value: Any, depth: int = 0) -> Any:
    """An imported value without the DAGs, groups and tasks of the module that made it."""
    if isinstance(value, TaskRef | GroupRef | DagRef):
        return Unknown("task of an imported module")
    if depth > 4:
        return value
    if isinstance(value, ContextDict):
        return value
    if isinstance(value, dict):
        return {k: _detached(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_detached(v, depth + 1) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_detached(v, depth + 1) for v in value)
    return value


# ---------------------------------------------------------------------------------------------
# The interpreter


@dataclass(frozen=True)
class HookSqlCall:
    """SQL sent to a database from inside a Python callable."""

    value: Any
    line: int
    dialect: str | None
    conn_id: str | None
    via: str


@dataclass
class ParsedTask:
    """A task as found in the module, before SQL extraction (done by `tasks.py`)."""

    draft: TaskDraft
    dag: DagDraft
    hook_calls: list[HookSqlCall] = field(default_factory=list)
    returned: Any = None  # what a @task.bash callable returns


class Interpreter:
    def __init__(
        self,
        file: str,
        absolute_path: str,
        classes: Mapping[str, ClassInfo],
        config: KappaConfig,
        read_file: Callable[[str], str | None],
        loader: ModuleLoader | None = None,
    ) -> None:
        self.file = file
        self.absolute_path = absolute_path
        self.classes = classes
        self.config = config
        self.read_file = read_file
        self.loader = loader
        self.max_steps = MAX_STEPS
        # while code of another module runs (an imported helper), where it was called from here:
        # tasks, DAGs and findings it makes are located at that call
        self.site: ast.AST | None = None
        self.findings: list[Finding] = []
        self.dags: list[DagDraft] = []
        self.dag_stack: list[int] = []
        self.group_stack: list[str | None] = []
        self.steps = 0
        self.statement: ast.stmt | None = None  # the statement being run, where a budget runs out
        self.depth = 0
        self.airflow3 = False
        self.hook_calls: list[HookSqlCall] | None = None  # set while a callable is analysed
        self.pending_callables: list[tuple[TaskDraft, DagDraft]] = []
        # tasks made outside any DAG (negative TaskRef.dag), until a dependency gives them one
        self.detached: dict[int, TaskDraft] = {}
        self.adopted: dict[int, TaskRef] = {}

    # -- bookkeeping -----------------------------------------------------------------------

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise _BudgetExceeded
        deadline = self.loader.deadline if self.loader is not None else None
        if deadline is not None and not self.steps % 256 and time.monotonic() > deadline:
            raise _BudgetExceeded("time")

    def here(self, node: ast.AST) -> ast.AST:
        """Where something made by running `node` is located in this file."""
        return self.site if self.site is not None else node

    def finding(self, code: str, message: str, node: ast.AST | None) -> None:
        node = self.site if self.site is not None else node
        line = getattr(node, "lineno", 1) or 1
        col = (getattr(node, "col_offset", 0) or 0) + 1
        self.findings.append(scan_error(code, message, self.file, line, col))

    @property
    def current_dag(self) -> DagDraft | None:
        return self.dags[self.dag_stack[-1]] if self.dag_stack else None

    @property
    def current_group(self) -> str | None:
        return self.group_stack[-1] if self.group_stack else None

    # -- statements ------------------------------------------------------------------------

    def run_module(self, tree: ast.Module) -> Scope:
        scope = Scope(origin=self.file)
        scope.bind("__file__", self.absolute_path)
        scope.bind("__name__", "unusual_prefix_dag_file")  # Airflow's module name: never "__main__"
        try:
            self.exec_block(tree.body, scope)
        except _Return:
            pass
        except (_BudgetExceeded, RecursionError) as error:
            message = (
                f"{self.file} exceeded the evaluation budget ({_budget_reason(error)}); later tasks may be missing"
            )
            self.finding("E008", message, self.statement or tree)
        return scope

    def exec_block(self, statements: Sequence[ast.stmt], scope: Scope) -> None:
        for statement in statements:
            self.statement = statement
            self.tick()
            handler = STATEMENTS.get(type(statement))
            if handler is not None:
                handler(self, statement, scope)

    def exec_import(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".", 1)[0]
                target = alias.name if alias.asname else bound
                scope.bind(bound, self.repo_module(target, 0) or ModuleRef(target))
                self._note_airflow_version(alias.name)
            return
        module = "." * node.level + (node.module or "")
        self._note_airflow_version(module)
        source = self.repo_module(node.module or "", node.level)
        for alias in node.names:
            if alias.name == "*":
                if source is not None and source.scope is not None:
                    for name, value in source.scope.values.items():
                        if not name.startswith("_"):
                            scope.bind(name, value)
                continue
            fallback = ModuleRef(f"{module}.{alias.name}".lstrip("."))
            value = self.loader.member(source, alias.name) if source and self.loader else fallback
            scope.bind(alias.asname or alias.name, value)

    def repo_module(self, dotted: str, level: int) -> RepoModule | None:
        """An imported module of the scanned repository (None: a library, or not found)."""
        if self.loader is None:
            return None
        return self.loader.find(dotted, Path(self.absolute_path), level)

    def _note_airflow_version(self, module: str) -> None:
        if module.startswith(("airflow.sdk", "airflow.providers.standard")):
            self.airflow3 = True

    def exec_assign(self, node: ast.Assign | ast.AnnAssign, scope: Scope) -> None:
        if node.value is None:
            return
        value = self.eval(node.value, scope)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            self.assign(target, value, scope, node.value)

    def assign(self, target: ast.expr, value: Any, scope: Scope, source: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, value, source)
        elif isinstance(target, ast.Tuple | ast.List):
            items = list(value) if isinstance(value, list | tuple) else None
            names = target.elts
            if items is not None and len(items) == len(names):
                for element, item in zip(names, items, strict=True):
                    self.assign(element, item, scope, None)
            else:
                for element in names:
                    self.assign(element, Unknown(ast.unparse(element)), scope, None)
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value, scope)
            key = self.eval(target.slice, scope)
            if isinstance(container, dict) and isinstance(key, str | int):
                container[key] = value

    def exec_augassign(self, node: ast.AugAssign, scope: Scope) -> None:
        if not isinstance(node.target, ast.Name):
            return
        found, current, _ = scope.lookup(node.target.id)
        value = self.eval(node.value, scope)
        result = self.binop(type(node.op), current if found else Unknown(node.target.id), value, node)
        scope.bind(node.target.id, result, node)

    def exec_expr(self, node: ast.Expr, scope: Scope) -> None:
        self.eval(node.value, scope)

    def exec_with(self, node: ast.With | ast.AsyncWith, scope: Scope) -> None:
        entered_dags = 0
        entered_groups = 0
        wrappers: list[TaskRef] = []
        for item in node.items:
            value = self.eval(item.context_expr, scope)
            if isinstance(value, DagRef):
                self.dag_stack.append(value.dag)
                entered_dags += 1
            elif isinstance(value, GroupRef):
                self.group_stack.append(value.group_id)
                entered_groups += 1
            elif isinstance(value, TaskRef) and value.dag >= 0:  # `with teardown_task:`
                wrappers.append(value)
            if item.optional_vars is not None:
                self.assign(item.optional_vars, value, scope, item.context_expr)
        before = {ref: set(self.dags[ref.dag].tasks) for ref in wrappers}
        try:
            self.exec_block(node.body, scope)
        finally:
            del self.dag_stack[len(self.dag_stack) - entered_dags :]
            del self.group_stack[len(self.group_stack) - entered_groups :]
        for wrapper in wrappers:
            self.wrap_in_setup_teardown(wrapper, before[wrapper], node)

    def wrap_in_setup_teardown(self, wrapper: TaskRef, before: set[str], node: ast.AST) -> None:
        """Tasks made in `with teardown:` run after its setups and before it (a setup as context
        manager: after it). Only the first and last of the new tasks are linked, as Airflow does."""
        dag = self.dags[wrapper.dag]
        new = [task_id for task_id in dag.tasks if task_id not in before and task_id != wrapper.task_id]
        edges = {(a.task_id, b.task_id) for a, b in dag.edges if isinstance(a, TaskRef) and isinstance(b, TaskRef)}
        setups = sorted({a for a, b in edges if b == wrapper.task_id and a not in new})
        inside = {(a, b) for a, b in edges if a in new and b in new}
        roots = [t for t in new if not any(b == t for _, b in inside)]
        leaves = [t for t in new if not any(a == t for a, _ in inside)]
        teardown = bool(setups)
        for root in roots:
            for setup in setups if teardown else [wrapper.task_id]:
                self.depend(TaskRef(dag.index, setup), TaskRef(dag.index, root), node)
        if teardown:
            for leaf in leaves:
                self.depend(TaskRef(dag.index, leaf), wrapper, node)

    def exec_for(self, node: ast.For | ast.AsyncFor, scope: Scope) -> None:
        iterable = self.eval(node.iter, scope)
        items = self.iterate(iterable)
        if items is None:
            # unknown at scan time: walk the body once so its tasks are still found
            self.assign(node.target, Unknown(ast.unparse(node.target)), scope, None)
            self.exec_block(node.body, scope)
            return
        for item in items[:MAX_LOOP_ITERATIONS]:
            self.assign(node.target, item, scope, None)
            self.exec_block(node.body, scope)
        self.exec_block(node.orelse, scope)

    def iterate(self, value: Any) -> list[Any] | None:
        if isinstance(value, dict):
            return list(value.keys())
        if isinstance(value, list | tuple):
            return list(value)
        if isinstance(value, str) and not isinstance(value, TaintedStr | JinjaExpr):
            return list(value)
        return None

    def exec_if(self, node: ast.If, scope: Scope) -> None:
        test = self.eval(node.test, scope)
        if isinstance(test, Unknown | CallValue | JinjaExpr | TaintedStr):
            self.exec_block(node.body, scope)
            self.exec_block(node.orelse, scope)
        elif test:
            self.exec_block(node.body, scope)
        else:
            self.exec_block(node.orelse, scope)

    def exec_try(self, node: ast.Try, scope: Scope) -> None:
        self.exec_block(node.body, scope)
        self.exec_block(node.orelse, scope)
        self.exec_block(node.finalbody, scope)

    def exec_return(self, node: ast.Return, scope: Scope) -> None:
        raise _Return(self.eval(node.value, scope) if node.value is not None else None)

    def exec_function_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        function = FunctionRef(node, scope)
        for decorator in reversed(node.decorator_list):
            value = self.eval(decorator, scope)
            factory = self.as_decorator(value)
            if factory is not None:
                function.kind, function.flavour = factory.kind, factory.flavour
                function.options = dict(factory.options)
        scope.bind(node.name, function, node)

    def exec_class_def(self, node: ast.ClassDef, scope: Scope) -> None:
        scope.bind(node.name, ModuleRef(f"__local__.{node.name}"), node)

    # -- expressions -----------------------------------------------------------------------

    def eval(self, node: ast.expr | None, scope: Scope) -> Any:
        if node is None:
            return None
        self.tick()
        handler = EXPRESSIONS.get(type(node))
        if handler is None:
            return Unknown(type(node).__name__)
        try:
            return handler(self, node, scope)
        except (_BudgetExceeded, _Return, RecursionError):
            raise
        except Exception as error:
            return Unknown(f"{type(node).__name__}: {error}")

    def eval_constant(self, node: ast.Constant, _: Scope) -> Any:
        return node.value

    def eval_name(self, node: ast.Name, scope: Scope) -> Any:
        found, value, _ = scope.lookup(node.id)
        if found:
            return value
        if pure_function(node.id) is not None or node.id == "open":
            return ModuleRef(node.id)
        return Unknown(node.id)

    def eval_joined_str(self, node: ast.JoinedStr, scope: Scope) -> Any:
        parts: list[Any] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
            elif isinstance(value, ast.FormattedValue):
                parts.append(self.eval(value.value, scope))
        return join_text(parts)

    def eval_sequence(self, node: ast.List | ast.Tuple | ast.Set, scope: Scope) -> Any:
        items: list[Any] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                inner = self.iterate(self.eval(element.value, scope))
                if inner is None:
                    return Unknown("starred")
                items.extend(inner)
            else:
                items.append(self.eval(element, scope))
        return tuple(items) if isinstance(node, ast.Tuple) else items

    def eval_dict(self, node: ast.Dict, scope: Scope) -> Any:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            value = self.eval(value_node, scope)
            if key_node is None:
                if isinstance(value, dict):
                    result.update(value)
                continue
            key = self.eval(key_node, scope)
            if isinstance(key, str | int | float | bool | tuple) or key is None:
                result[key] = value
        return result

    def eval_attribute(self, node: ast.Attribute, scope: Scope) -> Any:
        receiver = self.eval(node.value, scope)
        return self.attribute(receiver, node.attr)

    def attribute(self, receiver: Any, name: str) -> Any:
        if isinstance(receiver, ModuleRef):
            return ModuleRef(f"{receiver.qualname}.{name}")
        if isinstance(receiver, RepoModule) and self.loader is not None:
            return self.loader.member(receiver, name)
        if isinstance(receiver, JinjaExpr):
            return JinjaExpr.of(f"{receiver.expression}.{name}")
        if isinstance(receiver, TaskRef) and name == "output":
            return receiver
        if isinstance(receiver, PathStr) and name == "parent":
            return PathStr(os.path.dirname(receiver))
        if isinstance(receiver, PathStr) and name in {"name", "stem"}:
            base = os.path.basename(receiver)
            return base if name == "name" else os.path.splitext(base)[0]
        if isinstance(receiver, FunctionRef | HookRef):
            return _BoundMethod(receiver, name)
        return _BoundMethod(receiver, name)

    def eval_subscript(self, node: ast.Subscript, scope: Scope) -> Any:
        container = self.eval(node.value, scope)
        key = self.eval(node.slice, scope)
        if isinstance(container, ContextDict) and isinstance(key, str):
            return JinjaExpr.of(key) if key in CONTEXT_KEYS else Unknown(f"context {key}")
        if isinstance(container, JinjaExpr) and isinstance(key, str | int):
            return JinjaExpr.of(f"{container.expression}[{key!r}]")
        if isinstance(container, TaskRef):
            return container
        if isinstance(container, dict | list | tuple | str) and isinstance(key, str | int | slice):
            try:
                return container[key]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                return Unknown(f"item {key!r}")
        return Unknown("subscript")

    def eval_slice(self, node: ast.Slice, scope: Scope) -> Any:
        parts = [self.eval(part, scope) if part is not None else None for part in (node.lower, node.upper, node.step)]
        if all(p is None or isinstance(p, int) for p in parts):
            return slice(*parts)
        return Unknown("slice")

    def eval_binop(self, node: ast.BinOp, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        right = self.eval(node.right, scope)
        return self.binop(type(node.op), left, right, node)

    def binop(self, operator: type[ast.operator], left: Any, right: Any, node: ast.AST) -> Any:
        if operator in (ast.RShift, ast.LShift) and (_is_task_like(left) or _is_task_like(right)):
            upstream, downstream = (left, right) if operator is ast.RShift else (right, left)
            self.depend(upstream, downstream, node)
            return right
        if operator is ast.Add:
            if (isinstance(left, str) and (isinstance(right, str) or is_placeholder(right))) or (
                isinstance(right, str) and is_placeholder(left)
            ):
                return join_text([left, right])
            if isinstance(left, list | tuple) and isinstance(right, list | tuple):
                if len(left) + len(right) > MAX_COLLECTION:
                    raise _BudgetExceeded(f"a collection of over {MAX_COLLECTION:,} items")
                if isinstance(left, list) and isinstance(right, list):
                    return left + right
                if isinstance(left, tuple) and isinstance(right, tuple):
                    return left + right
        if operator is ast.Mod and isinstance(left, str):
            return percent_format(left, right)
        if operator is ast.Div and isinstance(left, PathStr) and isinstance(right, str):
            return PathStr(os.path.join(left, right))
        if isinstance(left, int | float) and isinstance(right, int | float) and not isinstance(left, bool):
            arithmetic: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
                ast.Add: lambda a, b: a + b,
                ast.Sub: lambda a, b: a - b,
                ast.Mult: lambda a, b: a * b,
                ast.FloorDiv: lambda a, b: a // b if b else Unknown("div"),
            }
            apply = arithmetic.get(operator)
            if apply is not None:
                if isinstance(left, int) and isinstance(right, int) and _too_many_bits(left, right):
                    raise _BudgetExceeded(f"a number of over {MAX_INT_BITS:,} bits")
                return apply(left, right)
        if operator is ast.Mult and isinstance(left, str) and isinstance(right, int) and right < 1000:
            check_text_size(len(left) * right)
            return left * right
        return Unknown("operation")

    def eval_unaryop(self, node: ast.UnaryOp, scope: Scope) -> Any:
        operand = self.eval(node.operand, scope)
        if isinstance(node.op, ast.USub) and isinstance(operand, int | float):
            return -operand
        if isinstance(node.op, ast.Not) and isinstance(operand, bool | int | str | list | dict | type(None)):
            return not operand
        return Unknown("unary")

    def eval_boolop(self, node: ast.BoolOp, scope: Scope) -> Any:
        values = [self.eval(value, scope) for value in node.values]
        if any(isinstance(v, Unknown | CallValue) for v in values):
            return next((v for v in values if not isinstance(v, Unknown | CallValue)), values[-1])
        if isinstance(node.op, ast.Or):
            return next((v for v in values if v), values[-1])
        return next((v for v in values if not v), values[-1])

    def eval_compare(self, node: ast.Compare, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        plain = (str, int, float, bool, type(None))
        for operator, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator, scope)
            if isinstance(left, TaintedStr | JinjaExpr) or isinstance(right, TaintedStr | JinjaExpr):
                return Unknown("compare")
            if not (isinstance(left, plain) and isinstance(right, (*plain, list, tuple, dict))):
                return Unknown("compare")
            compare = COMPARISONS.get(type(operator))
            if compare is None:
                return Unknown("compare")
            try:
                if not compare(left, right):
                    return False
            except TypeError:
                return Unknown("compare")
            left = right
        return True

    def eval_ifexp(self, node: ast.IfExp, scope: Scope) -> Any:
        test = self.eval(node.test, scope)
        if isinstance(test, Unknown | CallValue | JinjaExpr | TaintedStr):
            return self.eval(node.body, scope)
        return self.eval(node.body if test else node.orelse, scope)

    def eval_comprehension(
        self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp | ast.DictComp, scope: Scope
    ) -> Any:
        inner = Scope(scope)
        results: list[Any] = []

        def walk(generators: Sequence[ast.comprehension]) -> None:
            if not generators:
                if isinstance(node, ast.DictComp):
                    results.append((self.eval(node.key, inner), self.eval(node.value, inner)))
                else:
                    results.append(self.eval(node.elt, inner))
                return
            first, rest = generators[0], generators[1:]
            items = self.iterate(self.eval(first.iter, inner))
            if items is None:
                raise ValueError("unknown iterable")
            for item in items[:MAX_LOOP_ITERATIONS]:
                self.assign(first.target, item, inner, None)
                conditions = [self.eval(condition, inner) for condition in first.ifs]
                if all(c is True or (c and not isinstance(c, Unknown)) for c in conditions):
                    walk(rest)

        try:
            walk(node.generators)
        except ValueError:
            return Unknown("comprehension")
        if isinstance(node, ast.DictComp):
            return {k: v for k, v in results if isinstance(k, str | int | float | bool | tuple)}
        return results

    def eval_lambda(self, node: ast.Lambda, _: Scope) -> Any:
        return Unknown("lambda")

    def eval_named_expr(self, node: ast.NamedExpr, scope: Scope) -> Any:
        value = self.eval(node.value, scope)
        scope.bind(node.target.id, value, node.value)
        return value

    # -- calls -----------------------------------------------------------------------------

    def eval_call(self, node: ast.Call, scope: Scope) -> Any:
        callee = self.eval(node.func, scope)
        args: list[Any] = []
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                items = self.iterate(self.eval(argument.value, scope))
                args.extend(items if items is not None else [Unknown("*args")])
            else:
                args.append(self.eval(argument, scope))
        kwargs: dict[str, Any] = {}
        nodes: dict[str, ast.AST] = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value, scope)
            if keyword.arg is None:
                if isinstance(value, dict):
                    kwargs.update({k: v for k, v in value.items() if isinstance(k, str)})
                continue
            kwargs[keyword.arg] = value
            nodes[keyword.arg] = keyword.value
        return self.call(callee, args, kwargs, nodes, node, scope)

    def call(
        self,
        callee: Any,
        args: list[Any],
        kwargs: dict[str, Any],
        nodes: dict[str, ast.AST],
        node: ast.Call,
        scope: Scope,
    ) -> Any:
        if isinstance(callee, _BoundMethod):
            return self.call_method(callee.receiver, callee.name, args, kwargs, nodes, node, scope)
        if isinstance(callee, ModuleRef):
            return self.call_module(callee, args, kwargs, nodes, node, scope)
        if isinstance(callee, FunctionRef):
            return self.call_function(callee, args, kwargs, node)
        if isinstance(callee, DecoratorFactory) and args and isinstance(args[0], FunctionRef):
            function = args[0]
            return FunctionRef(function.node, function.scope, callee.kind, callee.flavour, dict(callee.options))
        if isinstance(callee, OperatorClass):
            return self.create_task(callee, kwargs, nodes, node, scope)
        if isinstance(callee, PartialOperator | PartialTask):
            return Unknown("partial call")
        if isinstance(callee, JinjaExpr):  # `ds.replace("-", "")`: a method of a run-time value
            constants = (str, int, float, bool)
            literal = [repr(a) for a in args if isinstance(a, constants)]
            literal += [f"{k}={v!r}" for k, v in kwargs.items() if isinstance(v, constants)]
            return JinjaExpr.of(f"{callee.expression}({', '.join(literal)})")
        return Unknown("call")

    def call_module(
        self,
        ref: ModuleRef,
        args: list[Any],
        kwargs: dict[str, Any],
        nodes: dict[str, ast.AST],
        node: ast.Call,
        scope: Scope,
    ) -> Any:
        name = ref.last
        airflow = ref.root == "airflow"
        if airflow or ref.qualname == name:
            builder = BUILDERS.get(name)
            if builder is not None:
                return builder(self, args, kwargs, nodes, node)
            factory = _decorator_for(ref, kwargs) if airflow else None
            if factory is not None:  # @task.bash(...), @task.kubernetes(...)
                if args and isinstance(args[0], FunctionRef):
                    return FunctionRef(args[0].node, args[0].scope, factory.kind, factory.flavour, {})
                return factory
        if name in {"partial", "expand", "expand_kwargs"}:  # Operator.partial(...) on an imported class
            parent = ModuleRef(ref.qualname.rsplit(".", 1)[0])
            spec = resolve_operator(parent.last, self.classes, self.config)
            unknown_operator = parent.last.endswith("Operator") and "task_id" in kwargs  # still a task
            if name == "partial" and (spec is not None or unknown_operator):
                return PartialOperator(OperatorClass(parent.last, spec), kwargs, nodes)
        hook = self.make_hook(ref, args, kwargs)
        if hook is not None:
            return hook
        spec = resolve_operator(name, self.classes, self.config)
        if spec is not None or (name.endswith("Operator") and "task_id" in kwargs):
            return self.create_task(OperatorClass(name, spec), kwargs, nodes, node, scope)
        if ref.qualname == "open":
            return FileHandle(args[0]) if args and isinstance(args[0], str) else Unknown("open")
        function = pure_function(ref.qualname)
        if function is not None:
            return function(args, kwargs)
        return CallValue(ref.qualname, tuple(args), kwargs)

    def call_method(
        self,
        receiver: Any,
        name: str,
        args: list[Any],
        kwargs: dict[str, Any],
        nodes: dict[str, ast.AST],
        node: ast.Call,
        scope: Scope,
    ) -> Any:
        handler = METHODS.get((type(receiver), name)) or METHODS.get((type(receiver), "*"))
        if handler is not None:
            return handler(self, receiver, name, args, kwargs, nodes, node, scope)
        for kind, fallback in BASE_METHODS:
            if isinstance(receiver, kind):
                return fallback(self, receiver, name, args, kwargs, nodes, node, scope)
        if name in {"execute", "executemany"} and self.hook_calls is not None and args:
            self.record_sql(args[0] if args else kwargs.get("sql"), node, None, None, f"cursor.{name}")
        if isinstance(receiver, Unknown):  # `open(missing).read().format(...)`: keep the first reason
            return receiver
        return Unknown(f".{name}()")

    def call_function(self, function: FunctionRef, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
        handler = FUNCTION_KINDS[function.kind]
        saved_site = self.site
        if self.site is None and function.scope.origin not in (None, self.file):
            self.site = node  # an imported helper runs: what it makes is located at this call
        try:
            return handler(self, function, args, kwargs, node)
        finally:
            self.site = saved_site

    def run_body(self, function: FunctionRef, args: list[Any], kwargs: dict[str, Any], context: bool) -> Any:
        if self.depth >= MAX_CALL_DEPTH:
            message = f"calls nest deeper than {MAX_CALL_DEPTH} levels in `{function.node.name}`; its result is unknown"
            self.finding("E008", message, function.node)
            return Unknown("recursion")
        local = Scope(function.scope)
        self.bind_parameters(function.node, local, args, kwargs, context)
        self.depth += 1
        try:
            self.exec_block(function.node.body, local)
        except _Return as result:
            return result.value
        finally:
            self.depth -= 1
        return None

    def bind_parameters(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        local: Scope,
        args: list[Any],
        kwargs: dict[str, Any],
        context: bool,
    ) -> None:
        parameters = node.args
        positional = [*parameters.posonlyargs, *parameters.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(parameters.defaults)) + list(
            parameters.defaults
        )
        for index, (parameter, default) in enumerate(zip(positional, defaults, strict=True)):
            if index < len(args):
                value = args[index]
            elif parameter.arg in kwargs:
                value = kwargs[parameter.arg]
            elif context and parameter.arg in CONTEXT_KEYS:
                value = JinjaExpr.of(parameter.arg)
            elif default is not None:
                value = self.eval(default, local)
            else:
                value = Unknown(parameter.arg)
            local.bind(parameter.arg, value)
        for parameter, default in zip(parameters.kwonlyargs, parameters.kw_defaults, strict=True):
            if parameter.arg in kwargs:
                value = kwargs[parameter.arg]
            elif context and parameter.arg in CONTEXT_KEYS:
                value = JinjaExpr.of(parameter.arg)
            else:
                value = self.eval(default, local) if default is not None else Unknown(parameter.arg)
            local.bind(parameter.arg, value)
        if parameters.vararg is not None:
            local.bind(parameters.vararg.arg, list(args[len(positional) :]))
        if parameters.kwarg is not None:
            extra = {k: v for k, v in kwargs.items() if k not in {p.arg for p in positional}}
            local.bind(parameters.kwarg.arg, ContextDict(extra) if context else extra)

    def as_decorator(self, value: Any) -> DecoratorFactory | None:
        if isinstance(value, DecoratorFactory):
            return value
        if isinstance(value, ModuleRef):
            return _decorator_for(value, {})
        return None

    # -- DAGs, groups, tasks, dependencies ---------------------------------------------------

    def create_dag(self, kwargs: dict[str, Any], node: ast.AST) -> DagRef:
        draft = DagDraft(len(self.dags), self.here(node), kwargs)
        self.dags.append(draft)
        return DagRef(draft.index)

    def create_group(self, group_id: Any, kwargs: dict[str, Any], node: ast.AST) -> Any:
        dag_ref = kwargs.get("dag")
        dag = self.dags[dag_ref.dag] if isinstance(dag_ref, DagRef) else self.current_dag
        if dag is None:
            return Unknown("task group outside a DAG")
        if not isinstance(group_id, str) or isinstance(group_id, TaintedStr):
            self.finding("E021", "TaskGroup id is not a constant; its tasks are listed without the prefix", node)
            group_id = f"unresolved_group_L{getattr(self.here(node), 'lineno', 0)}"
        parent_ref = kwargs.get("parent_group")
        parent = parent_ref.group_id if isinstance(parent_ref, GroupRef) else self.current_group
        parent_draft = dag.groups.get(parent) if parent else None
        full_id = f"{parent_draft.prefix}{group_id}" if parent_draft else group_id
        base, suffix = full_id, 0
        while full_id in dag.groups:  # Airflow dedups repeated @task_group calls the same way
            suffix += 1
            full_id = f"{base}__{suffix}"
        prefix = (
            f"{full_id}."
            if kwargs.get("prefix_group_id", True) is not False
            else (parent_draft.prefix if parent_draft else "")
        )
        dag.groups[full_id] = GroupDraft(full_id, parent, prefix)
        if parent_draft is not None:
            parent_draft.children.append(full_id)
        return GroupRef(dag.index, full_id)

    def create_task(
        self,
        operator: OperatorClass,
        kwargs: dict[str, Any],
        nodes: dict[str, ast.AST],
        node: ast.AST,
        scope: Scope,
        *,
        mapped: bool = False,
        function: FunctionRef | None = None,
        call_args: tuple[list[Any], dict[str, Any]] = ([], {}),
        label: str | None = None,
    ) -> Any:
        if self.hook_calls is not None:
            return Unknown("task made inside a callable")
        dag_ref = kwargs.get("dag")
        group_ref = kwargs.get("task_group")
        if isinstance(dag_ref, DagRef):
            dag: DagDraft | None = self.dags[dag_ref.dag]
        elif isinstance(group_ref, GroupRef):
            dag = self.dags[group_ref.dag]
        else:
            dag = self.current_dag
        if self.site is not None:  # made by an imported helper: its argument nodes are not in this file
            node, nodes = self.site, dict.fromkeys(nodes, self.site)
        task_id = kwargs.get("task_id")
        unresolved = not _is_constant(task_id)
        if unresolved:
            if dag is None or _is_constant(dag.dag_id):  # a DAG without an id is reported (E020) once
                self.finding("E021", f"task_id of {operator.name} is not a constant the scanner can resolve", node)
            task_id = f"unresolved_task_L{getattr(node, 'lineno', 0)}"
        group = group_ref.group_id if isinstance(group_ref, GroupRef) else self.current_group
        group_draft = dag.groups.get(group) if dag is not None and group else None
        full_id = f"{group_draft.prefix}{task_id}" if group_draft else str(task_id)
        draft = TaskDraft(
            full_id,
            label or operator.name,
            operator.spec,
            node,
            group if group_draft else None,
            dict(kwargs),
            nodes,
            scope,
            mapped,
            function,
            call_args,
            unresolved,
        )
        if dag is not None:
            return self.attach(draft, dag, node)
        # no DAG yet: Airflow gives the task the DAG of the first task it is linked with (`>>`)
        key = -1 - len(self.detached)
        self.detached[key] = draft
        ref = TaskRef(key, draft.task_id)
        for upstream in _task_refs([*call_args[0], *call_args[1].values(), *kwargs.values()]):
            self.depend(upstream, ref, node)
        return self.resolved(ref)

    def attach(self, draft: TaskDraft, dag: DagDraft, node: ast.AST) -> TaskRef:
        """Put a task into a DAG: default_args, the task_id made unique, XCom dependencies."""
        full_id = draft.task_id
        if draft.function is not None:  # TaskFlow: repeated calls get __1, __2 like Airflow does
            base, suffix = full_id, 0
            while full_id in dag.tasks:
                suffix += 1
                full_id = f"{base}__{suffix}"
        elif full_id in dag.tasks:
            self.finding("E022", f"task_id {full_id!r} is used twice in one DAG; the second is ignored", node)
            return TaskRef(dag.index, full_id)
        draft.task_id = full_id
        draft.kwargs = {**dag.default_args, **draft.kwargs}
        dag.tasks[full_id] = draft
        group_draft = dag.groups.get(draft.group) if draft.group else None
        if group_draft is not None:
            group_draft.members.append(full_id)
        ref = TaskRef(dag.index, full_id)
        upstreams = [*draft.call_args[0], *draft.call_args[1].values(), *draft.kwargs.values()]
        for upstream in _task_refs(upstreams):
            if upstream != ref:
                self.depend(upstream, ref, node)
        spec = draft.spec
        if draft.function is not None or (spec is not None and spec.kind is OperatorKind.PYTHON):
            self.pending_callables.append((draft, dag))
        return ref

    def resolved(self, ref: TaskRef | GroupRef) -> TaskRef | GroupRef:
        """A task made without a DAG, as it is now: in the DAG that adopted it, or still detached."""
        if isinstance(ref, TaskRef) and ref.dag < 0:
            return self.adopted.get(ref.dag, ref)
        return ref

    def adopt(self, ref: TaskRef | GroupRef, dag_index: int) -> TaskRef | GroupRef:
        draft = self.detached.pop(ref.dag, None) if isinstance(ref, TaskRef) and ref.dag < 0 else None
        if draft is None:
            return self.resolved(ref)
        adopted = self.attach(draft, self.dags[dag_index], draft.node)
        self.adopted[ref.dag] = adopted
        return adopted

    def depend(self, upstream: Any, downstream: Any, node: ast.AST) -> None:
        for up in _flatten_refs(upstream):
            for down in _flatten_refs(downstream):
                source, target = self.resolved(up), self.resolved(down)
                if source.dag < 0 <= target.dag:
                    source = self.adopt(source, target.dag)
                elif target.dag < 0 <= source.dag:
                    target = self.adopt(target, source.dag)
                if source.dag == target.dag >= 0 and source != target:
                    self.dags[source.dag].edges.append((source, target))

    def make_hook(self, ref: ModuleRef, args: list[Any], kwargs: dict[str, Any]) -> HookRef | None:
        name = ref.last
        dialect: str | None
        if name in HOOK_DIALECTS or (name.endswith("Hook") and ref.root == "airflow"):
            dialect = HOOK_DIALECTS.get(name)
        else:
            library = next((lib for lib in CLIENT_LIBRARIES if ref.qualname.startswith(lib + ".")), None)
            if library is None:
                return None
            dialect = CLIENT_LIBRARIES[library]
        conn_id = next(
            (v for k, v in sorted(kwargs.items()) if k.endswith("conn_id") and isinstance(v, str)),
            args[0] if args and isinstance(args[0], str) and name.endswith("Hook") else None,
        )
        if dialect is None and isinstance(conn_id, str):
            dialect = self.config.connections.get(conn_id)
        return HookRef(name, dialect, conn_id)

    def record_sql(self, value: Any, node: ast.AST, dialect: str | None, conn_id: str | None, via: str) -> None:
        if self.hook_calls is not None:
            line = getattr(self.here(node), "lineno", 1)
            self.hook_calls.append(HookSqlCall(value, line, dialect, conn_id, via))

    # -- the end of the module ----------------------------------------------------------------

    def analyse_callables(self) -> dict[int, ParsedTask]:
        """Run each task's Python callable in recording mode, now that the module is complete."""
        parsed: dict[int, ParsedTask] = {}
        for draft, dag in self.pending_callables:
            function = draft.function or draft.kwargs.get("python_callable")
            entry = ParsedTask(draft, dag)
            parsed[id(draft)] = entry
            if not isinstance(function, FunctionRef):
                continue
            if draft.function is not None:
                args, kwargs = draft.call_args
            else:
                op_args = draft.kwargs.get("op_args")
                op_kwargs = draft.kwargs.get("op_kwargs")
                args = list(op_args) if isinstance(op_args, list | tuple) else []
                kwargs = dict(op_kwargs) if isinstance(op_kwargs, dict) else {}
                templates = draft.kwargs.get("templates_dict")
                if isinstance(templates, dict):
                    kwargs.setdefault("templates_dict", templates)
            args = [Unknown("upstream result") if isinstance(a, TaskRef) else a for a in args]
            kwargs = {k: Unknown("upstream result") if isinstance(v, TaskRef) else v for k, v in kwargs.items()}
            self.hook_calls = []
            saved_dags, saved_groups = self.dag_stack, self.group_stack
            self.dag_stack, self.group_stack = [], []
            # a callable imported from another module: the SQL it runs is located at its task
            self.site = draft.node if function.scope.origin not in (None, self.file) else None
            try:
                entry.returned = self.run_body(function, args, kwargs, context=True)
            except (_BudgetExceeded, RecursionError) as error:
                message = f"callable of task {draft.task_id!r} exceeded the evaluation budget ({_budget_reason(error)})"
                self.finding("E008", message, draft.node)
            finally:
                entry.hook_calls = self.hook_calls
                self.hook_calls = None
                self.site = None
                self.dag_stack, self.group_stack = saved_dags, saved_groups
        return parsed


class _BoundMethod:
    __slots__ = ("name", "receiver")

    def __init__(self, receiver: Any, name: str) -> None:
        self.receiver = receiver
        self.name = name


def _is_constant(value: Any) -> bool:
    """An id the scanner knows: a string with nothing unknown or run-time in it."""
    return isinstance(value, str) and not isinstance(value, TaintedStr | JinjaExpr)


def _is_task_like(value: Any) -> bool:
    if isinstance(value, TaskRef | GroupRef):
        return True
    return isinstance(value, list | tuple) and bool(value) and all(_is_task_like(v) for v in value)


def _flatten_refs(value: Any) -> list[TaskRef | GroupRef]:
    if isinstance(value, TaskRef | GroupRef):
        return [value]
    if isinstance(value, list | tuple):
        return [ref for item in value for ref in _flatten_refs(item)]
    return []


def _task_refs(values: Sequence[Any]) -> Iterator[TaskRef]:
    for value in values:
        if isinstance(value, TaskRef):
            yield value
        elif isinstance(value, list | tuple):
            yield from _task_refs(value)
        elif isinstance(value, dict):
            yield from _task_refs(list(value.values()))


def _decorator_for(ref: ModuleRef, options: Mapping[str, Any]) -> DecoratorFactory | None:
    parts = ref.qualname.split(".")
    if parts[0] != "airflow" and len(parts) > 2:
        return None
    if parts[-1] == "dag":
        return DecoratorFactory("dag", options=options)
    if parts[-1] in {"task_group"}:
        return DecoratorFactory("group", options=options)
    if parts[-1] in {"task", "setup", "teardown"}:
        return DecoratorFactory("task", "task", options)
    if len(parts) >= 2 and parts[-2] == "task" and parts[-1] in TASKFLOW:
        return DecoratorFactory("task", parts[-1], options)
    return None


# -- builders: Airflow names matched by their last component ---------------------------------

Builder = Callable[[Interpreter, list[Any], dict[str, Any], dict[str, ast.AST], ast.Call], Any]


def _build_dag(interpreter: Interpreter, args: list[Any], kwargs: dict[str, Any], _: Any, node: ast.Call) -> Any:
    if args and "dag_id" not in kwargs:
        kwargs = {"dag_id": args[0], **kwargs}
    return interpreter.create_dag(kwargs, node)


def _build_group(interpreter: Interpreter, args: list[Any], kwargs: dict[str, Any], _: Any, node: ast.Call) -> Any:
    group_id = args[0] if args else kwargs.get("group_id")
    return interpreter.create_group(group_id, kwargs, node)


def _build_chain(interpreter: Interpreter, args: list[Any], _kwargs: dict[str, Any], _: Any, node: ast.Call) -> Any:
    for upstream, downstream in itertools.pairwise(args):
        pairwise = isinstance(upstream, list | tuple) and isinstance(downstream, list | tuple)
        if pairwise and len(upstream) == len(downstream):
            for up, down in zip(upstream, downstream, strict=True):
                interpreter.depend(up, down, node)
        else:
            interpreter.depend(upstream, downstream, node)
    return None


def _build_chain_linear(interpreter: Interpreter, args: list[Any], _k: dict[str, Any], _: Any, node: ast.Call) -> Any:
    for upstream, downstream in itertools.pairwise(args):
        interpreter.depend(upstream, downstream, node)
    return None


def _build_cross(interpreter: Interpreter, args: list[Any], kwargs: dict[str, Any], _: Any, node: ast.Call) -> Any:
    upstream = args[0] if args else kwargs.get("from_tasks")
    downstream = args[1] if len(args) > 1 else kwargs.get("to_tasks")
    interpreter.depend(upstream, downstream, node)
    return None


# the decorator argument that may also be given first, by position: `@dag("orders_daily", ...)`
DECORATOR_ID_ARGS = {"dag": "dag_id", "group": "group_id"}


def _build_decorator(kind: str) -> Builder:
    def build(interpreter: Interpreter, args: list[Any], kwargs: dict[str, Any], _: Any, node: ast.Call) -> Any:
        if args and isinstance(args[0], FunctionRef):  # used bare: @dag applied by a call
            function = args[0]
            return FunctionRef(function.node, function.scope, kind, "task", {})
        id_arg = DECORATOR_ID_ARGS.get(kind)
        if args and id_arg is not None and id_arg not in kwargs:
            kwargs = {id_arg: args[0], **kwargs}
        return DecoratorFactory(kind, "task", kwargs)

    return build


BUILDERS: dict[str, Builder] = {
    "DAG": _build_dag,
    "TaskGroup": _build_group,
    "chain": _build_chain,
    "chain_linear": _build_chain_linear,
    "cross_downstream": _build_cross,
    "dag": _build_decorator("dag"),
    "task_group": _build_decorator("group"),
    "task": _build_decorator("task"),
}

# -- TaskFlow and helper functions ------------------------------------------------------------

FunctionKind = Callable[[Interpreter, FunctionRef, list[Any], dict[str, Any], ast.Call], Any]


def _call_plain(
    interpreter: Interpreter, function: FunctionRef, args: list[Any], kwargs: dict[str, Any], _: Any
) -> Any:
    return interpreter.run_body(function, args, kwargs, context=interpreter.hook_calls is not None)


def _call_dag(interpreter: Interpreter, function: FunctionRef, args: list[Any], kwargs: dict[str, Any], _: Any) -> Any:
    options = dict(function.options)
    options.setdefault("dag_id", function.node.name)
    ref = interpreter.create_dag(options, function.node)
    interpreter.dag_stack.append(ref.dag)
    try:
        interpreter.run_body(function, args, kwargs, context=False)
    finally:
        interpreter.dag_stack.pop()
    return ref


def _call_group(
    interpreter: Interpreter, function: FunctionRef, args: list[Any], kwargs: dict[str, Any], node: ast.Call
) -> Any:
    options = dict(function.options)
    group_id = options.pop("group_id", function.node.name)
    group = interpreter.create_group(group_id, options, node)
    if not isinstance(group, GroupRef):
        return group
    interpreter.group_stack.append(group.group_id)
    try:
        result = interpreter.run_body(function, args, kwargs, context=False)
    finally:
        interpreter.group_stack.pop()
    return result if _is_task_like(result) else group


def _call_task(
    interpreter: Interpreter, function: FunctionRef, args: list[Any], kwargs: dict[str, Any], node: ast.Call
) -> Any:
    return _taskflow_task(interpreter, function, args, kwargs, node, mapped=False)


def _taskflow_task(
    interpreter: Interpreter,
    function: FunctionRef,
    args: list[Any],
    kwargs: dict[str, Any],
    node: ast.Call,
    *,
    mapped: bool,
) -> Any:
    options = dict(function.options)
    options.setdefault("task_id", function.node.name)
    spec = TASKFLOW.get(function.flavour, TASKFLOW["task"])
    label = "@task" if function.flavour == "task" else f"@task.{function.flavour}"
    operator = OperatorClass(label, spec)
    return interpreter.create_task(
        operator,
        options,
        {},
        node,
        function.scope,
        mapped=mapped,
        function=function,
        call_args=(args, kwargs),
        label=label,
    )


FUNCTION_KINDS: dict[str, FunctionKind] = {
    "plain": _call_plain,
    "dag": _call_dag,
    "group": _call_group,
    "task": _call_task,
}

# -- methods on values ------------------------------------------------------------------------

Method = Callable[[Interpreter, Any, str, list[Any], dict[str, Any], dict[str, ast.AST], ast.Call, Scope], Any]


def _m_set_stream(
    interpreter: Interpreter,
    receiver: Any,
    name: str,
    args: list[Any],
    _kwargs: Any,
    _nodes: Any,
    node: ast.Call,
    _s: Any,
) -> Any:
    other = args[0] if args else None
    if name == "set_downstream":
        interpreter.depend(receiver, other, node)
    else:
        interpreter.depend(other, receiver, node)
    return None


def _m_as_teardown(
    interpreter: Interpreter,
    receiver: TaskRef,
    name: str,
    _a: list[Any],
    kwargs: dict[str, Any],
    _nodes: Any,
    node: ast.Call,
    _s: Any,
) -> Any:
    """`task.as_teardown(setups=s)` is `s >> task`; both return the task for further `>>`."""
    if name == "as_teardown" and kwargs.get("setups") is not None:
        interpreter.depend(kwargs["setups"], receiver, node)
    return receiver


def _m_loop(
    interpreter: Interpreter,
    receiver: FunctionRef,
    _n: str,
    _a: list[Any],
    _k: dict[str, Any],
    _no: Any,
    node: ast.Call,
    *_: Any,
) -> Any:
    """`group.loop(max_iterations=..., until=...)` (Airflow 3): the group's tasks, run repeatedly."""
    if receiver.kind != "group":
        return Unknown("loop")
    return interpreter.call_function(receiver, [], {}, node)


def _m_override(
    interpreter: Interpreter, receiver: FunctionRef, _n: str, _a: list[Any], kwargs: dict[str, Any], *_: Any
) -> Any:
    return FunctionRef(receiver.node, receiver.scope, receiver.kind, receiver.flavour, {**receiver.options, **kwargs})


def _m_function_partial(
    interpreter: Interpreter, receiver: FunctionRef, _n: str, _a: list[Any], kwargs: dict[str, Any], *_: Any
) -> Any:
    return PartialTask(receiver, kwargs)


def _m_function_expand(
    interpreter: Interpreter,
    receiver: FunctionRef | PartialTask,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    nodes: dict[str, ast.AST],
    node: ast.Call,
    scope: Scope,
) -> Any:
    function = receiver if isinstance(receiver, FunctionRef) else receiver.function
    fixed = {} if isinstance(receiver, FunctionRef) else receiver.kwargs
    # each mapped instance gets one element; an upstream XComArg stays a reference (an edge)
    expanded = {
        k: v if isinstance(v, TaskRef) else v[0] if isinstance(v, list) and v else Unknown("mapped value")
        for k, v in kwargs.items()
    }
    if function.kind == "task":
        return _taskflow_task(interpreter, function, [], {**fixed, **expanded}, node, mapped=True)
    return interpreter.call_function(function, [], {**fixed, **expanded}, node)


def _m_operator_partial(
    interpreter: Interpreter,
    receiver: Any,
    _n: str,
    _a: list[Any],
    kwargs: dict[str, Any],
    nodes: dict[str, ast.AST],
    *_: Any,
) -> Any:
    operator = receiver if isinstance(receiver, OperatorClass) else None
    if isinstance(receiver, ModuleRef):
        operator = OperatorClass(
            receiver.last, resolve_operator(receiver.last, interpreter.classes, interpreter.config)
        )
    return PartialOperator(operator, kwargs, nodes) if operator else Unknown("partial")


def _m_operator_expand(
    interpreter: Interpreter,
    receiver: PartialOperator,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    nodes: dict[str, ast.AST],
    node: ast.Call,
    scope: Scope,
) -> Any:
    if name == "expand_kwargs":
        mapping = args[0] if args else None
        kwargs = {}
        if isinstance(mapping, list) and mapping and all(isinstance(m, dict) for m in mapping):
            for entry in mapping:
                for key, value in entry.items():
                    kwargs.setdefault(key, []).append(value)
    merged = {**receiver.kwargs, **kwargs}
    merged_nodes = {**receiver.nodes, **nodes}
    return interpreter.create_task(receiver.operator, merged, merged_nodes, node, scope, mapped=True)


def _m_str(interpreter: Interpreter, receiver: str, name: str, args: list[Any], kwargs: dict[str, Any], *_: Any) -> Any:
    if isinstance(receiver, JinjaExpr):
        literal = ", ".join(repr(a) for a in args if isinstance(a, str | int | float))
        return JinjaExpr.of(f"{receiver.expression}.{name}({literal})")
    if isinstance(receiver, PathStr):
        return _m_path(interpreter, receiver, name, args, kwargs, *_)
    return string_method(receiver, name, args, kwargs)


def _m_path(
    interpreter: Interpreter, receiver: PathStr, name: str, args: list[Any], kwargs: dict[str, Any], *_: Any
) -> Any:
    if name in {"resolve", "absolute", "expanduser"}:
        return receiver
    if name == "joinpath" and all(isinstance(a, str) for a in args):
        return PathStr(os.path.join(receiver, *args))
    if name == "read_text":
        return _read(interpreter, str(receiver))
    if name == "open":
        return FileHandle(str(receiver))
    if name == "as_posix":
        return str(receiver)
    return string_method(receiver, name, args, kwargs)


def _read(interpreter: Interpreter, path: str) -> Any:
    for candidate in _file_candidates(interpreter, path):
        text = interpreter.read_file(candidate)
        if text is not None:
            return FileText(text, candidate)
    return Unknown(f"file {os.path.basename(path)}")


def _file_candidates(interpreter: Interpreter, path: str) -> Iterator[str]:
    """Where a file a DAG opens may be in the repository: as written, next to the code, and for a
    deployed absolute path (`/opt/airflow/dags/sql/x.sql`) by its trailing components, longest
    first, under the code's folder and each folder above it up to the root."""
    if isinstance(path, TaintedStr | JinjaExpr):
        return
    code = Path(interpreter.absolute_path)
    root = interpreter.loader.root if interpreter.loader is not None else code.parent
    bases = [code.parent]
    while bases[-1] != root and root in bases[-1].parents:
        bases.append(bases[-1].parent)
    if os.path.isabs(path):
        yield path
        parts = Path(path).parts[1:]
    else:
        yield (root / path).as_posix()
        parts = Path(path).parts
    for start in range(len(parts)):
        suffix = Path(*parts[start:])
        for base in bases:
            probe = base / suffix
            if is_file(probe):
                yield probe.as_posix()


def _m_file(interpreter: Interpreter, receiver: FileHandle, name: str, *_: Any) -> Any:
    return _read(interpreter, receiver.path) if name == "read" else Unknown("file")


def _m_file_text(
    interpreter: Interpreter, receiver: FileText, name: str, args: list[Any], kwargs: dict[str, Any], *_: Any
) -> Any:
    result = string_method(receiver.text, name, args, kwargs)
    return (
        FileText(result, receiver.path) if isinstance(result, str) and name in {"strip", "rstrip", "lstrip"} else result
    )


def _m_list(interpreter: Interpreter, receiver: list[Any], name: str, args: list[Any], *_: Any) -> Any:
    if name == "append" and args and len(receiver) < MAX_COLLECTION:
        receiver.append(args[0])
    elif name == "extend" and args and isinstance(args[0], list | tuple):
        if len(receiver) + len(args[0]) > MAX_COLLECTION:
            raise _BudgetExceeded(f"a collection of over {MAX_COLLECTION:,} items")
        receiver.extend(args[0])
    elif name == "insert" and len(args) == 2 and isinstance(args[0], int):
        receiver.insert(args[0], args[1])
    elif name == "copy":
        return list(receiver)
    elif name in {"set_upstream", "set_downstream"}:
        return _m_set_stream(interpreter, receiver, name, args, *_)  # on a list of tasks
    return None


def _m_dict(
    interpreter: Interpreter,
    receiver: dict[Any, Any],
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    *_: Any,
) -> Any:
    if isinstance(receiver, ContextDict) and name == "get" and args and isinstance(args[0], str):
        return JinjaExpr.of(args[0]) if args[0] in CONTEXT_KEYS else (args[1] if len(args) > 1 else None)
    if name == "get" and args:
        return receiver.get(args[0], args[1] if len(args) > 1 else None)
    if name == "items":
        return list(receiver.items())
    if name == "keys":
        return list(receiver.keys())
    if name == "values":
        return list(receiver.values())
    if name == "copy":
        return dict(receiver)
    if name == "update":
        if args and isinstance(args[0], dict):
            receiver.update(args[0])
        receiver.update(kwargs)
        return None
    if name == "setdefault" and args:
        return receiver.setdefault(args[0], args[1] if len(args) > 1 else None)
    return Unknown(f"dict.{name}")


def _m_hook(
    interpreter: Interpreter,
    receiver: HookRef,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    nodes: dict[str, ast.AST],
    node: ast.Call,
    scope: Scope,
) -> Any:
    if name in HOOK_SQL_METHODS:
        statement = args[0] if args else kwargs.get("sql", kwargs.get("hql", kwargs.get("query")))
        if name == "insert_job":
            configuration = kwargs.get("configuration")
            query = configuration.get("query") if isinstance(configuration, dict) else None
            statement = query.get("query") if isinstance(query, dict) else statement
        if statement is not None:
            interpreter.record_sql(statement, node, receiver.dialect, receiver.conn_id, f"{receiver.name}.{name}")
        return Unknown("query result")
    return receiver  # get_conn(), cursor(), connect(), builder chains: still the same database


def _m_ignore(*_: Any) -> Any:
    return None


def _m_add_tasks(interpreter: Interpreter, receiver: DagRef, _n: str, args: list[Any], *_: Any) -> Any:
    """`dag.add_task(task)`: a task made without a DAG joins this one."""
    for ref in _flatten_refs(args):
        interpreter.adopt(interpreter.resolved(ref), receiver.dag)
    return None


METHODS: dict[tuple[type, str], Method] = {
    (TaskRef, "set_upstream"): _m_set_stream,
    (TaskRef, "set_downstream"): _m_set_stream,
    (GroupRef, "set_upstream"): _m_set_stream,
    (GroupRef, "set_downstream"): _m_set_stream,
    (TaskRef, "as_setup"): _m_as_teardown,
    (TaskRef, "as_teardown"): _m_as_teardown,
    (FunctionRef, "loop"): _m_loop,
    (FunctionRef, "override"): _m_override,
    (FunctionRef, "partial"): _m_function_partial,
    (FunctionRef, "expand"): _m_function_expand,
    (FunctionRef, "expand_kwargs"): _m_function_expand,
    (PartialTask, "expand"): _m_function_expand,
    (PartialTask, "expand_kwargs"): _m_function_expand,
    (OperatorClass, "partial"): _m_operator_partial,
    (PartialOperator, "expand"): _m_operator_expand,
    (PartialOperator, "expand_kwargs"): _m_operator_expand,
    (FileHandle, "*"): _m_file,
    (FileText, "*"): _m_file_text,
    (HookRef, "*"): _m_hook,
    (DagRef, "add_task"): _m_add_tasks,
    (DagRef, "add_tasks"): _m_add_tasks,
    (DagRef, "*"): _m_ignore,
    (list, "*"): _m_list,
}

# methods found by isinstance, for str and dict subclasses (TaintedStr, JinjaExpr, ContextDict)
BASE_METHODS: tuple[tuple[type, Method], ...] = ((str, _m_str), (dict, _m_dict), (list, _m_list))

COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: bool(a == b),
    ast.NotEq: lambda a, b: bool(a != b),
    ast.Lt: lambda a, b: bool(a < b),
    ast.LtE: lambda a, b: bool(a <= b),
    ast.Gt: lambda a, b: bool(a > b),
    ast.GtE: lambda a, b: bool(a >= b),
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}

STATEMENTS: dict[type[ast.stmt], Callable[[Interpreter, Any, Scope], None]] = {
    ast.Import: Interpreter.exec_import,
    ast.ImportFrom: Interpreter.exec_import,
    ast.Assign: Interpreter.exec_assign,
    ast.AnnAssign: Interpreter.exec_assign,
    ast.AugAssign: Interpreter.exec_augassign,
    ast.Expr: Interpreter.exec_expr,
    ast.With: Interpreter.exec_with,
    ast.AsyncWith: Interpreter.exec_with,
    ast.For: Interpreter.exec_for,
    ast.AsyncFor: Interpreter.exec_for,
    ast.If: Interpreter.exec_if,
    ast.Try: Interpreter.exec_try,
    ast.Return: Interpreter.exec_return,
    ast.FunctionDef: Interpreter.exec_function_def,
    ast.AsyncFunctionDef: Interpreter.exec_function_def,
    ast.ClassDef: Interpreter.exec_class_def,
}

EXPRESSIONS: dict[type[ast.expr], Callable[[Interpreter, Any, Scope], Any]] = {
    ast.Constant: Interpreter.eval_constant,
    ast.Name: Interpreter.eval_name,
    ast.JoinedStr: Interpreter.eval_joined_str,
    ast.List: Interpreter.eval_sequence,
    ast.Tuple: Interpreter.eval_sequence,
    ast.Set: Interpreter.eval_sequence,
    ast.Dict: Interpreter.eval_dict,
    ast.Attribute: Interpreter.eval_attribute,
    ast.Subscript: Interpreter.eval_subscript,
    ast.Slice: Interpreter.eval_slice,
    ast.BinOp: Interpreter.eval_binop,
    ast.UnaryOp: Interpreter.eval_unaryop,
    ast.BoolOp: Interpreter.eval_boolop,
    ast.Compare: Interpreter.eval_compare,
    ast.IfExp: Interpreter.eval_ifexp,
    ast.ListComp: Interpreter.eval_comprehension,
    ast.GeneratorExp: Interpreter.eval_comprehension,
    ast.SetComp: Interpreter.eval_comprehension,
    ast.DictComp: Interpreter.eval_comprehension,
    ast.Lambda: Interpreter.eval_lambda,
    ast.NamedExpr: Interpreter.eval_named_expr,
    ast.Call: Interpreter.eval_call,
}


# ---------------------------------------------------------------------------------------------
# From drafts to models


def plain(value: Any) -> Any:
    """A JSON-safe, deterministic form of an evaluated value (for params, default_args)."""
    if isinstance(value, FileText):
        return value.text
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) else str(value)
    if isinstance(value, DateValue):
        return value.iso
    if isinstance(value, DurationValue):
        return value.text
    if isinstance(value, DatasetValue):
        return value.uri
    if isinstance(value, CallValue):
        return value.describe()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, TaskRef):
        return f"<task {value.task_id}>"
    if isinstance(value, FunctionRef):
        return f"<function {value.node.name}>"
    if isinstance(value, Unknown):
        return f"<unresolved {value.why}>" if value.why else "<unresolved>"
    return f"<{type(value).__name__}>"


def schedule_of(kwargs: Mapping[str, Any], airflow3: bool) -> tuple[str | None, tuple[str, ...]]:
    for key in ("schedule", "schedule_interval", "timetable"):
        if key not in kwargs:
            continue
        value = kwargs[key]
        datasets = _datasets(value)
        if datasets:
            return "datasets", datasets
        if value is None:
            return None, ()
        return str(plain(value)), ()
    # Airflow 2 runs a DAG without a schedule daily; Airflow 3 does not schedule it at all
    return (None if airflow3 else "@daily"), ()


def _datasets(value: Any) -> tuple[str, ...]:
    if isinstance(value, DatasetValue):
        return (value.uri,)
    if isinstance(value, list | tuple):
        return tuple(sorted(v.uri for v in value if isinstance(v, DatasetValue)))
    if isinstance(value, CallValue):  # DatasetAll / AssetAny / (a | b)
        return tuple(sorted(uri for arg in value.args for uri in _datasets(arg)))
    return ()


def date_of(value: Any) -> str | None:
    if isinstance(value, DateValue):
        return value.iso
    if value is None:
        return None
    return str(plain(value))


def edges_of(draft: DagDraft) -> tuple[tuple[str, str], ...]:
    """Task-level edges; a TaskGroup as upstream means its leaves, as downstream its roots."""
    task_edges = {(a.task_id, b.task_id) for a, b in draft.edges if isinstance(a, TaskRef) and isinstance(b, TaskRef)}
    group_edges = [(a, b) for a, b in draft.edges if isinstance(a, GroupRef) or isinstance(b, GroupRef)]
    for _ in range(2):  # a second pass sees edges that the first pass added inside nested groups
        for upstream, downstream in group_edges:
            sources = _group_ends(draft, upstream, task_edges, leaves=True)
            targets = _group_ends(draft, downstream, task_edges, leaves=False)
            task_edges.update((s, t) for s in sources for t in targets if s != t)
    return tuple(sorted(e for e in task_edges if e[0] in draft.tasks and e[1] in draft.tasks))


def _group_members(draft: DagDraft, group_id: str) -> list[str]:
    group = draft.groups.get(group_id)
    if group is None:
        return []
    members = list(group.members)
    for child in group.children:
        members.extend(_group_members(draft, child))
    return members


def _group_ends(draft: DagDraft, ref: TaskRef | GroupRef, edges: set[tuple[str, str]], *, leaves: bool) -> list[str]:
    if isinstance(ref, TaskRef):
        return [ref.task_id]
    members = set(_group_members(draft, ref.group_id))
    inside = {(a, b) for a, b in edges if a in members and b in members}
    if leaves:
        return sorted(m for m in members if not any(a == m for a, _ in inside))
    return sorted(m for m in members if not any(b == m for _, b in inside))


@dataclass(frozen=True)
class DagFileResult:
    dags: tuple[Dag, ...]
    tasks: tuple[ParsedTask, ...]  # for SQL extraction, in task order
    findings: tuple[Finding, ...]
    user_macros: Mapping[str, Mapping[str, Any]]  # dag_id -> user_defined_macros (static values)


def parse_dag_file(
    file: str,
    tree: ast.Module,
    root: Path,
    classes: Mapping[str, ClassInfo],
    config: KappaConfig,
    read_file: Callable[[str], str | None],
    deadline: float | None = None,
) -> DagFileResult:
    """Interpret one DAG module and return its DAGs (tasks and edges), without any SQL yet.

    Past `deadline` (a `time.monotonic()` value) evaluation stops with an E008 finding.
    """
    absolute = (root / file).as_posix()
    loader = ModuleLoader(root, classes, config, read_file, deadline)
    interpreter = Interpreter(file, absolute, classes, config, read_file, loader)
    interpreter.run_module(tree)
    try:
        parsed = interpreter.analyse_callables()
    except (_BudgetExceeded, RecursionError):
        parsed = {}
    dags: list[Dag] = []
    tasks: list[ParsedTask] = []
    macros: dict[str, Mapping[str, Any]] = {}
    for draft in interpreter.dags:
        dag_id = draft.dag_id
        if not isinstance(dag_id, str) or isinstance(dag_id, TaintedStr | JinjaExpr):
            interpreter.finding(
                "E020", "dag_id is not a constant the scanner can resolve; the DAG is skipped", draft.node
            )
            continue
        dag_tasks = []
        for task_draft in draft.tasks.values():
            entry = parsed.get(id(task_draft)) or ParsedTask(task_draft, draft)
            tasks.append(entry)
            dag_tasks.append(_task_model(file, task_draft))
        schedule, datasets = schedule_of(draft.kwargs, interpreter.airflow3)
        default_args = draft.default_args
        params = draft.kwargs.get("params")
        tags = draft.kwargs.get("tags")
        doc = draft.kwargs.get("doc_md")
        description = draft.kwargs.get("description")
        user_macros = draft.kwargs.get("user_defined_macros")
        macros[dag_id] = (
            {k: v for k, v in user_macros.items() if isinstance(k, str)} if isinstance(user_macros, dict) else {}
        )
        dags.append(
            Dag(
                dag_id=str(dag_id),
                file=file,
                line=getattr(draft.node, "lineno", 1),
                schedule=schedule,
                catchup=draft.kwargs.get("catchup") if isinstance(draft.kwargs.get("catchup"), bool) else None,
                start_date=date_of(draft.kwargs.get("start_date", default_args.get("start_date"))),
                end_date=date_of(draft.kwargs.get("end_date", default_args.get("end_date"))),
                default_args=plain(default_args),
                params=plain(params) if isinstance(params, dict) else {},
                tags=tuple(sorted(str(t) for t in tags if isinstance(t, str)))
                if isinstance(tags, list | tuple)
                else (),
                doc_md=plain(doc) if isinstance(doc, str | FileText) else None,
                description=str(description) if isinstance(description, str) else None,
                template_searchpath=search_path_of(draft.kwargs.get("template_searchpath"), root, file),
                tasks=tuple(dag_tasks),
                edges=edges_of(draft),
                schedule_datasets=datasets,
            )
        )
    return DagFileResult(tuple(dags), tuple(tasks), tuple(interpreter.findings), macros)


def _task_model(file: str, draft: TaskDraft) -> Task:
    """The task as the DAG model lists it; SQL and dialect are filled in by `tasks.py`."""
    params = draft.kwargs.get("params")
    outlets = draft.kwargs.get("outlets")
    return Task(
        task_id=draft.task_id,
        operator=draft.operator,
        file=file,
        line=getattr(draft.node, "lineno", 1),
        col=(getattr(draft.node, "col_offset", 0) or 0) + 1,
        group=draft.group,
        mapped=draft.mapped,
        params=plain(params) if isinstance(params, dict) else {},
        outlets=_datasets(outlets) if outlets is not None else (),
    )


def search_path_of(value: Any, root: Path, file: str) -> tuple[str, ...]:
    """template_searchpath as folders relative to the root (absolute paths matched by suffix)."""
    entries = [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else []
    found: list[str] = []
    dag_dir = (root / file).parent
    for entry in entries:
        if not isinstance(entry, str) or isinstance(entry, JinjaExpr):
            continue
        path = str(entry)
        if isinstance(entry, TaintedStr):  # f"{AIRFLOW_HOME}/dags/sql": the known tail, matched by suffix
            path = re.split(rf"{PLACEHOLDER_PREFIX}\w*?__", entry)[-1]
            if not path.startswith("/") or not path.strip("/"):
                continue
        folder = locate_folder(path, root, dag_dir)
        if folder is not None and folder not in found:
            found.append(folder)
    return tuple(found)


def locate_folder(path: str, root: Path, dag_dir: Path) -> str | None:
    """A folder of the repository for a path the DAG names (deployed paths like /opt/airflow/x)."""
    candidate = Path(path) if os.path.isabs(path) else dag_dir / path
    try:
        resolved = candidate.resolve()
        if is_dir(resolved):
            return resolved.relative_to(root).as_posix() or "."
    except (ValueError, OSError, RuntimeError):  # 3.11 raises RuntimeError on a symlink loop
        pass
    parts = Path(path).parts
    bases = [root, dag_dir]
    while bases[-1] != root and root in bases[-1].parents:  # and each folder between them
        bases.append(bases[-1].parent)
    for start in range(1, len(parts)):  # /opt/airflow/include/sql -> include/sql -> sql
        suffix = Path(*parts[start:])
        for base in bases:
            probe = base / suffix
            if is_dir(probe):
                try:
                    return probe.resolve().relative_to(root).as_posix()
                except (ValueError, OSError, RuntimeError):
                    continue
    return None
