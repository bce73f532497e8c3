"""Batch-to-stream rewrites on the sqlglot AST: one batch statement in, one streaming INSERT out.

Each rewrite is a named function over the tree, applied in order (`REWRITES`), and each says
what it did in a note, so the job header can tell a reviewer exactly how the SQL changed:

- the write becomes `INSERT INTO <sink>`: INSERT OVERWRITE, CREATE [OR REPLACE] TABLE AS and
  MERGE (its USING query with the INSERT branch's values) all turn into an upsert by key; over a
  latest-change source a MERGE's `THEN DELETE` becomes a filter that retracts the key's row, and a
  partial UPDATE keeps the other columns from the row the key was inserted with;
- Airflow's run-date filters (`dt = '{{ ds }}'`, `BETWEEN ds_add(ds, -3) AND ds`) are removed:
  a stream has no run date; the partition column they fixed is carried through instead (into the
  projection of a static `PARTITION (dt=...)` or a `DATE '{{ ds }}'` column, and into the GROUP BY
  of a daily aggregate); a run date stamped on an unfiltered source is a daily snapshot, which has
  no streaming form and is left to a person;
- ROW_NUMBER deduplication orders by the source's time attribute (Flink's Deduplicate operator);
- joins to dimension tables become temporal joins (`FOR SYSTEM_TIME AS OF`);
- a sort without LIMIT is dropped (a stream has no final order); with LIMIT it is kept for a
  reviewer with a TODO, since a global Top-N needs the planner's judgement;
- table names are flattened to one Flink identifier per table, keeping the original as alias.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.simplify import simplify


@dataclass(frozen=True)
class StreamContext:
    """What the rewrites need to know beyond the statement itself."""

    dialect: str
    markers: Mapping[str, str]  # rendered literal -> template expression ("2024-01-15" -> "ds")
    time_attributes: Mapping[str, str]  # source table -> its rowtime column
    dimensions: frozenset[str]  # tables to join FOR SYSTEM_TIME AS OF
    event_time_fallback: str | None = None  # rowtime of the main source, for derived partitions
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # versioned tables' primary keys


@dataclass(frozen=True)
class StreamStatement:
    """A streaming INSERT (or a reason there is none)."""

    query: exp.Query | None
    target: str | None
    target_columns: tuple[str, ...] = ()
    partition_columns: tuple[str, ...] = ()  # static partition columns appended to the projection
    notes: tuple[str, ...] = ()
    todos: tuple[str, ...] = ()
    skipped: str = ""  # why the statement has no streaming form (it is still reported)


def table_name(table: exp.Table) -> str:
    """The qualified, lower-cased name analyzer/sql.py uses for the same table."""
    parts = [part.name for part in (table.args.get("catalog"), table.args.get("db"), table.this) if part]
    return ".".join(parts).lower()


def flink_identifier(table: str) -> str:
    """`shop-analytics.marts.fct_orders` -> `shop_analytics_marts_fct_orders`: one identifier, so no
    Flink catalog or database has to exist for the job to plan."""
    return re.sub(r"[^0-9a-zA-Z_]+", "_", table).strip("_").lower()


def parse(sql: str, dialect: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(sql, read=dialect or None)
    except SqlglotError:
        return None


# -------------------------------------------------------------------------------- the write


def _insert(statement: exp.Expr, _: StreamContext) -> StreamStatement:
    assert isinstance(statement, exp.Insert)
    target_node = statement.this
    columns: tuple[str, ...] = ()
    if isinstance(target_node, exp.Schema):
        columns = tuple(c.name for c in target_node.expressions)
        target_node = target_node.this
    query = statement.expression
    if not isinstance(target_node, exp.Table) or not isinstance(query, exp.Query):
        return StreamStatement(None, None, skipped="INSERT without a SELECT (VALUES) has no streaming source")
    notes = ["INSERT OVERWRITE becomes INSERT INTO an upsert sink"] if statement.args.get("overwrite") else []
    partition = target_node.args.get("partition")
    static: list[tuple[str, exp.Expr]] = []
    if isinstance(partition, exp.Partition):
        for item in partition.expressions:
            if isinstance(item, exp.EQ) and isinstance(item.this, exp.Column):
                static.append((item.this.name, item.expression))
    plan = StreamStatement(query.pop(), table_name(target_node), columns, notes=tuple(notes))
    if static:
        plan = replace(plan, partition_columns=tuple(name for name, _ in static))
        return _note_static_partitions(plan, static)
    return plan


def _note_static_partitions(plan: StreamStatement, static: list[tuple[str, exp.Expr]]) -> StreamStatement:
    """Say which `PARTITION (dt='...')` values become per-row columns (`carry_partitions` computes them)."""
    values = {name: value.name if isinstance(value, exp.Literal) else value.sql() for name, value in static}
    note = f"static partition ({', '.join(f'{k}={v!r}' for k, v in values.items())}) is computed per row"
    return replace(plan, notes=(*plan.notes, note))


def _create_as(statement: exp.Expr, _: StreamContext) -> StreamStatement:
    assert isinstance(statement, exp.Create)
    query = statement.expression
    target = statement.this
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(query, exp.Query) or not isinstance(target, exp.Table):
        return StreamStatement(None, None, skipped="CREATE TABLE without AS SELECT is DDL, not a job")
    note = "CREATE OR REPLACE TABLE AS becomes a continuous INSERT INTO an upsert sink"
    return StreamStatement(query.pop(), table_name(target), notes=(note,))


def _merge(statement: exp.Expr, context: StreamContext) -> StreamStatement:
    """MERGE INTO t USING s ON t.k = s.k ... -> INSERT INTO t SELECT <insert values> FROM s.

    Both branches become upserts by the sink's key. When the source is the latest change per key
    (ROW_NUMBER ... DESC = 1 on the MERGE key), two more branches have an exact streaming form:
    `WHEN MATCHED AND <source condition> THEN DELETE` filters the latest change, which retracts
    the key's row (a delete in the upsert sink); an UPDATE that sets only some columns takes the
    others from the key's first change, joined on the key. Anything else is left as a TODO.
    """
    assert isinstance(statement, exp.Merge)
    target = statement.this
    using = statement.args.get("using")
    whens = statement.args.get("whens")
    if not isinstance(target, exp.Table) or using is None or whens is None:
        return StreamStatement(None, None, skipped="MERGE without a USING source")
    branches = _MergeBranches.of(whens.expressions)
    source_alias = using.alias_or_name or "s"
    if isinstance(using, exp.Subquery):
        source: exp.Expr = using.this.copy().subquery(source_alias, copy=False)
    else:
        source = using.copy()
    keys = _merge_keys(statement)
    source_keys = _merge_keys(statement, source=True)
    latest = isinstance(using, exp.Subquery) and _latest_window(using.this, source_keys) is not None
    notes = ["MERGE becomes INSERT INTO an upsert sink keyed by the MERGE condition"]
    todos: list[str] = []
    insert = branches.insert
    if insert is None or not isinstance(insert.expression, exp.Tuple):
        if branches.update is None:
            return StreamStatement(None, None, skipped="MERGE with neither INSERT nor UPDATE branch")
        assignments = [a for a in branches.update.expressions if isinstance(a, exp.EQ)]
        projections = [exp.column(k, source_alias).as_(k) for k in keys] + [
            a.expression.copy().as_(a.this.name) for a in assignments if a.this.name not in keys
        ]
        columns = (*keys, *(a.this.name for a in assignments if a.this.name not in keys))
        todos.append("MERGE updates only existing rows: the sink receives them as upserts by key")
        query = exp.select(*projections).from_(source)
    else:
        columns = tuple(c.name for c in insert.this.expressions) if isinstance(insert.this, exp.Tuple) else ()
        values = dict(zip(columns, insert.expression.expressions, strict=False))
        query, partial_note = _partial_update(
            statement, branches, values, (source, source_alias, source_keys), context, latest=latest
        )
        notes += partial_note
    condition_notes, condition_todos, condition = _merge_conditions(statement, branches, source_alias, latest=latest)
    notes += condition_notes
    todos += condition_todos
    if condition is not None:
        query = query.where(condition, copy=False)
    return StreamStatement(query, table_name(target), columns, notes=tuple(notes), todos=tuple(todos))


@dataclass(frozen=True)
class _MergeBranches:
    """The WHEN branches of a MERGE that the streaming form reads."""

    insert: exp.Insert | None
    insert_condition: exp.Expr | None
    update: exp.Update | None
    update_condition: exp.Expr | None
    deletes: tuple[exp.Expr | None, ...]  # the condition of each `THEN DELETE` (None: unconditional)
    by_source: tuple[str, ...] = ()  # `WHEN NOT MATCHED BY SOURCE` branches: rows the source lacks

    @classmethod
    def of(cls, whens: list[exp.Expr]) -> _MergeBranches:
        insert = update = insert_condition = update_condition = None
        deletes: list[exp.Expr | None] = []
        by_source: list[str] = []
        for when in whens:
            then = when.args.get("then")
            condition = when.args.get("condition")
            if when.args.get("source"):
                by_source.append(when.sql())
            elif isinstance(then, exp.Insert) and not when.args.get("matched") and insert is None:
                insert, insert_condition = then, condition
            elif isinstance(then, exp.Update) and when.args.get("matched") and update is None:
                update, update_condition = then, condition
            elif isinstance(then, exp.Var) and then.name.upper() == "DELETE" and when.args.get("matched"):
                deletes.append(condition)
        return cls(insert, insert_condition, update, update_condition, tuple(deletes), tuple(by_source))


def _merge_keys(statement: exp.Merge, *, source: bool = False) -> list[str]:
    """The key columns of the MERGE condition: the target's side of `t.k = s.k` (`k`), or with
    `source` the source's side."""
    target_alias = statement.this.alias_or_name
    keys: list[str] = []
    for eq in statement.args["on"].find_all(exp.EQ):
        for side in (eq.this, eq.expression):
            ours = side.table != target_alias if isinstance(side, exp.Column) else False
            if isinstance(side, exp.Column) and ours == source and side.name not in keys:
                keys.append(side.name)
    return keys


def _latest_window(query: exp.Expr, keys: list[str]) -> exp.Window | None:
    """The `ROW_NUMBER() OVER (PARTITION BY <keys> ORDER BY ... DESC)` that keeps one row per key
    (filtered to 1 by QUALIFY or an outer WHERE), if the query has one."""
    if not keys:
        return None
    for window in query.find_all(exp.Window):
        partition = {c.name for p in window.args.get("partition_by") or [] for c in p.find_all(exp.Column)}
        order = window.args.get("order")
        if not isinstance(window.this, exp.RowNumber) or partition != set(keys) or order is None:
            continue
        if not order.expressions or not order.expressions[0].args.get("desc"):
            continue
        if _filtered_to_first(window, query):
            return window
    return None


def _filtered_to_first(window: exp.Window, query: exp.Expr) -> bool:
    parent = window.parent
    alias = parent.alias if isinstance(parent, exp.Alias) else ""
    for eq in query.find_all(exp.EQ):
        sides = (eq.this, eq.expression)
        if not any(isinstance(s, exp.Literal) and s.name == "1" for s in sides):
            continue
        if any(s is window or (isinstance(s, exp.Column) and alias and s.name == alias) for s in sides):
            return True
    return False


FIRST_CHANGE = "_first"


def _partial_update(
    statement: exp.Merge,
    branches: _MergeBranches,
    values: dict[str, exp.Expr],
    source_of: tuple[exp.Expr, str, list[str]],
    context: StreamContext,
    *,
    latest: bool,
) -> tuple[exp.Select, list[str]]:
    """The insert values, except that an UPDATE of only some columns keeps the rest from the row the
    key was inserted with: `FROM latest AS s JOIN first AS _first ON s.k = _first.k`. The batch job
    inserted the latest change of the key's first run, so `first` ranks the run-date column the
    source was filtered on (its arrival partition) first, then the original order."""
    source, source_alias, source_keys = source_of
    plain = exp.select(*(value.copy().as_(name) for name, value in values.items())).from_(source)
    update = branches.update
    using = statement.args["using"]
    if update is None or not latest or not isinstance(using, exp.Subquery):
        return plain, []
    updated = {a.this.name: a.expression for a in update.expressions if isinstance(a, exp.EQ)}
    kept = [name for name in values if name not in updated and name not in _merge_keys(statement)]
    if not updated or not kept or not all(_reads_only(value, source_alias) for value in updated.values()):
        return plain, []
    first = using.this.copy()
    window = _latest_window(first, source_keys)
    assert window is not None
    arrival = _run_date_column(first, context.markers)
    order = window.args["order"]
    if arrival is not None:
        order.set("expressions", [exp.Ordered(this=arrival), *order.expressions])
        window.meta[KEEP_ORDER] = True
    else:
        for ordered in order.expressions:
            ordered.set("desc", not ordered.args.get("desc"))
            ordered.set("nulls_first", None)
    projections = []
    for name, value in values.items():
        if name in updated:
            projections.append(updated[name].copy().as_(name))
        elif name in kept:
            projections.append(_requalify(value.copy(), source_alias, FIRST_CHANGE).as_(name))
        else:
            projections.append(value.copy().as_(name))
    on = exp.and_(*(exp.column(k, source_alias).eq(exp.column(k, FIRST_CHANGE)) for k in source_keys))
    query = exp.select(*projections).from_(source).join(first.subquery(FIRST_CHANGE), on=on)
    inserted = f"the latest change of the key's first {arrival.sql()}" if arrival is not None else "its first change"
    note = (
        f"MERGE updates only {', '.join(updated)}: those come from the latest change per key, the other "
        f"columns ({', '.join(kept)}) from the row the key was inserted with ({inserted}), joined on the key"
    )
    return query, [note]


KEEP_ORDER = "kappa_keep_order"  # a ranking whose order is not by event time (dedup_on_time_attribute keeps it)


def _run_date_column(query: exp.Expr, markers: Mapping[str, str]) -> exp.Column | None:
    """The column an equality with the run date pins (`dt = '{{ ds }}'`): the arrival partition."""
    for select in query.find_all(exp.Select):
        where = select.args.get("where")
        conjuncts = list(where.this.flatten()) if where is not None and isinstance(where.this, exp.And) else []
        for conjunct in conjuncts or ([where.this] if where is not None else []):
            column = _is_run_date_predicate(conjunct, markers) if isinstance(conjunct, exp.EQ) else None
            if column is not None:
                return exp.column(column.name)
    return None


def _requalify(node: exp.Expr, old: str, new: str) -> exp.Expr:
    for column in node.find_all(exp.Column):
        if column.table == old:
            column.set("table", exp.to_identifier(new))
    return node


def _reads_only(node: exp.Expr, alias: str) -> bool:
    return all(column.table in {alias, ""} for column in node.find_all(exp.Column))


def _merge_conditions(
    statement: exp.Merge, branches: _MergeBranches, source_alias: str, *, latest: bool
) -> tuple[list[str], list[str], exp.Expr | None]:
    """Notes, TODOs and the filter that the WHEN conditions become on a latest-change source."""
    notes: list[str] = []
    todos: list[str] = []
    filters: list[exp.Expr] = []
    for branch in branches.by_source:
        todos.append(f"{branch}: a stream sees only rows that arrive, never the ones missing from a run")
    for condition in branches.deletes:
        if condition is not None and latest and _reads_only(condition, source_alias):
            # a NULL condition deletes nothing in the batch run: keep the row then
            filters.append(exp.not_(exp.func("COALESCE", exp.paren(condition.copy()), exp.false())))
            notes.append(
                f"MERGE ... WHEN MATCHED AND {condition.sql()} THEN DELETE: the latest change per key is "
                "filtered out, which retracts the key's row (a delete in the upsert sink)"
            )
        else:
            todos.append("MERGE ... THEN DELETE: deletes must come from a changelog (CDC) source")
    insert_condition = branches.insert_condition
    negated_deletes = {_simplified(exp.not_(c.copy())) for c in branches.deletes if c is not None}
    # inserting only what is not deleted is what the delete filter already does; any other insert
    # condition would also drop the key's later updates if it were a filter
    if insert_condition is not None and not (latest and _simplified(insert_condition) in negated_deletes):
        todos.append(f"MERGE inserts only rows where {insert_condition.sql()}: not carried into the stream")
    update_condition = branches.update_condition
    if update_condition is not None:
        if latest and _recency_guard(update_condition, statement, branches.update):
            notes.append(
                f"WHEN MATCHED AND {update_condition.sql()}: the latest change per key (by its time "
                "attribute) always wins, so the guard holds by construction"
            )
        else:
            todos.append(f"MERGE updates only rows where {update_condition.sql()}: not carried into the stream")
    return notes, todos, (exp.and_(*filters) if filters else None)


def _simplified(condition: exp.Expr) -> str:
    simplified: exp.Expr = simplify(condition.copy())
    return simplified.sql()


def _recency_guard(condition: exp.Expr, statement: exp.Merge, update: exp.Update | None) -> bool:
    """`s.updated_at > t.updated_at`: an update applies only when it is newer than the row, the
    target's column being the one the update sets from that source column (`updated_at =
    s.event_time` makes `s.event_time >= t.updated_at` a guard too)."""
    if not isinstance(condition, exp.GT | exp.GTE) or update is None:
        return False
    newer, older = condition.this, condition.expression
    target_alias = statement.this.alias_or_name
    if not (isinstance(newer, exp.Column) and isinstance(older, exp.Column)):
        return False
    if older.table != target_alias or newer.table == target_alias:
        return False
    assigned = {a.this.name: a.expression for a in update.expressions if isinstance(a, exp.EQ)}
    value = assigned.get(older.name)
    return isinstance(value, exp.Column) and value.name == newer.name


def _select(statement: exp.Expr, _: StreamContext) -> StreamStatement:
    assert isinstance(statement, exp.Query)
    return StreamStatement(
        statement.copy(), None, notes=("a query without a target: the results go to a sink you name",)
    )


WRITES: dict[type[exp.Expr], Callable[[exp.Expr, StreamContext], StreamStatement]] = {
    exp.Insert: _insert,
    exp.Create: _create_as,
    exp.Merge: _merge,
    exp.Select: _select,
    exp.Union: _select,
}


# ------------------------------------------------------------------------------ the rewrites


def _literal_marker(node: exp.Expr, markers: Mapping[str, str]) -> str | None:
    if isinstance(node, exp.Literal) and node.is_string and node.name in markers:
        return markers[node.name]
    if isinstance(node, exp.Cast | exp.TsOrDsToDate | exp.Date | exp.DateStrToDate | exp.StrToDate):
        return _literal_marker(node.this, markers)
    if isinstance(node, exp.Literal | exp.Anonymous | exp.Func) and node.args.get("this") is not None:
        inner = node.args.get("this")
        return _literal_marker(inner, markers) if isinstance(inner, exp.Expr) else None
    return None


def _run_date_value(node: exp.Expr, markers: Mapping[str, str]) -> bool:
    """An expression computed only from the run date: `'2024-01-15'`, `DATE '2024-01-15' +
    INTERVAL '1' DAY`, `CAST('2024-01-15' AS DATE)`; no column in it."""
    if node.find(exp.Column) is not None:
        return False
    return any(
        isinstance(literal, exp.Literal) and literal.is_string and literal.name in markers
        for literal in node.find_all(exp.Literal)
    )


def _single_column(node: exp.Expr) -> exp.Column | None:
    columns = list(node.find_all(exp.Column))
    return columns[0] if len(columns) == 1 else None


def _is_run_date_predicate(node: exp.Expr, markers: Mapping[str, str]) -> exp.Column | None:
    """`col = '<run date>'`, `DATE(col) BETWEEN '<d1>' AND '<d2>'`, `col < '<d>' + INTERVAL 1 DAY`:
    the column the predicate pins to the run's dates, else None."""
    comparisons = (exp.EQ, exp.GTE, exp.GT, exp.LTE, exp.LT)
    if isinstance(node, comparisons):
        for side, other in ((node.this, node.expression), (node.expression, node.this)):
            if _run_date_value(other, markers):
                return _single_column(side)
    if isinstance(node, exp.Between) and all(_run_date_value(node.args[b], markers) for b in ("low", "high")):
        return _single_column(node.this)
    if isinstance(node, exp.In):
        values = node.expressions
        if values and all(_run_date_value(v, markers) for v in values):
            return _single_column(node.this)
    return None


RUN_DATE_FILTERS_REMOVED = "run-date filters removed"


def drop_run_date_filters(plan: StreamStatement, context: StreamContext) -> StreamStatement:
    """Remove predicates that pin the query to Airflow's run date; remember the columns."""
    if plan.query is None or not context.markers:
        return plan
    removed: list[str] = []
    for select in plan.query.find_all(exp.Select):
        pinned: dict[str, tuple[exp.Expr, str]] = {}
        for clause in ("where", "having", "qualify"):
            condition = select.args.get(clause)
            if condition is None:
                continue
            before = len(removed)
            kept = _remove_conjuncts(condition.this, context.markers, removed, pinned)
            if len(removed) > before:
                select.meta["kappa_date_columns"] = removed[before:]
                select.meta[PINNED] = dict(pinned)
            if kept is None:
                select.set(clause, None)
            else:
                condition.set("this", kept)
        for join in select.args.get("joins") or []:
            on = join.args.get("on")
            if on is not None:
                kept = _remove_conjuncts(on, context.markers, removed, {})
                join.set("on", kept if kept is not None else exp.true())
    if not removed:
        return plan
    note = f"{RUN_DATE_FILTERS_REMOVED} ({', '.join(dict.fromkeys(removed))}): the stream covers every day"
    return replace(plan, notes=(*plan.notes, note))


# SELECT meta: run-date equalities removed from it, column -> (the expression compared, the date as written)
PINNED = "kappa_pinned"


def _remove_conjuncts(
    condition: exp.Expr,
    markers: Mapping[str, str],
    removed: list[str],
    pinned: dict[str, tuple[exp.Expr, str]],
) -> exp.Expr | None:
    """The condition without its run-date predicates (None when nothing is left); `removed` gets
    their columns and `pinned` the expression each equality held equal to the run date."""
    conjuncts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
    kept = []
    for conjunct in conjuncts:
        inner = conjunct.unnest() if isinstance(conjunct, exp.Paren) else conjunct
        column = _is_run_date_predicate(inner, markers)
        if column is not None:
            removed.append(column.sql())
            if isinstance(inner, exp.EQ):
                on_left = _run_date_value(inner.expression, markers)
                side, day = (inner.this, inner.expression) if on_left else (inner.expression, inner.this)
                literal = next((lit.name for lit in day.find_all(exp.Literal) if lit.name in markers), "")
                pinned[column.sql()] = (side.copy(), literal)
        else:
            kept.append(conjunct)
    if not kept:
        return None
    return exp.and_(*kept) if len(kept) > 1 else kept[0]


def carry_partitions(plan: StreamStatement, context: StreamContext) -> StreamStatement:
    """Project each static partition column (and group by it): from the source column that the
    removed filter compared with the same date, else from the event time."""
    if plan.query is None or not plan.partition_columns or not isinstance(plan.query, exp.Select):
        return plan
    select = plan.query
    for name in plan.partition_columns:
        expression = _partition_expression(select, name, context)
        if expression is None:
            return replace(
                plan,
                skipped=f"partition column {name}: no source date column or event time to compute it from",
            )
        select.select(expression.copy().as_(name), copy=False)
        if select.args.get("group"):
            select.group_by(expression.copy(), copy=False)
    return plan


def _partition_expression(select: exp.Select, name: str, context: StreamContext) -> exp.Expr | None:
    """The source's own date column, the one the removed filter compared with the run date: in
    this SELECT, or projected out of the derived tables it reads (COALESCE over several)."""
    own = _date_column(select, context)
    if own is not None:
        return own
    carried: list[exp.Column] = []
    for derived in _derived_tables(select):
        branches = _branches(derived.this)
        columns = [_date_column(branch, context) for branch in branches]
        if not branches or any(column is None for column in columns):
            continue
        for branch, column in zip(branches, columns, strict=True):
            assert column is not None
            branch.select(column.copy().as_(name), copy=False)
            if branch.args.get("group"):
                branch.group_by(column.copy(), copy=False)
        carried.append(exp.column(name, derived.alias_or_name))
    if carried:
        _join_on_partition(select, carried)
        return carried[0] if len(carried) == 1 else exp.func("COALESCE", *carried)
    if context.event_time_fallback and _single_table(select):
        return exp.func("DATE_FORMAT", exp.column(context.event_time_fallback), exp.Literal.string("yyyy-MM-dd"))
    return None


def _join_on_partition(select: exp.Select, carried: list[exp.Column]) -> None:
    """Each batch run joined one partition of each side: the join of the derived tables that
    now carry the partition column also equates it (`AND c.dt = p.dt`)."""
    by_alias = {column.table: column for column in carried}
    base = select.args.get("from_") or select.args.get("from")
    first = by_alias.get(base.this.alias_or_name) if base is not None else None
    for join in select.args.get("joins") or []:
        column = by_alias.get(join.this.alias_or_name)
        on = join.args.get("on")
        if first is None or column is None or on is None:
            continue
        join.set("on", exp.and_(on, column.copy().eq(first.copy())))


def _date_column(select: exp.Select, context: StreamContext) -> exp.Expr | None:
    pinned = _pinned_day(select)
    if pinned is not None:
        return pinned[0]
    names = select.meta.get("kappa_date_columns") or []
    parsed = parse(names[0], context.dialect) if names else None
    return parsed if isinstance(parsed, exp.Column) else None


def _branches(query: exp.Expr) -> list[exp.Select]:
    """The SELECTs whose rows a derived table returns: itself, or each branch of a UNION ALL."""
    if isinstance(query, exp.Select):
        return [query]
    if isinstance(query, exp.Union) and not query.args.get("distinct"):
        return [*_branches(query.this), *_branches(query.expression)]
    return []


def _derived_tables(select: exp.Select) -> list[exp.Subquery]:
    sources = [select.args.get("from_") or select.args.get("from"), *list(select.args.get("joins") or [])]
    return [s.this for s in sources if s is not None and isinstance(s.this, exp.Subquery)]


def _single_table(select: exp.Select) -> bool:
    base = select.args.get("from_") or select.args.get("from")
    return base is not None and isinstance(base.this, exp.Table) and not select.args.get("joins")


def dedup_on_time_attribute(plan: StreamStatement, context: StreamContext) -> StreamStatement:
    """ROW_NUMBER() OVER (PARTITION BY k ORDER BY <col>) = 1 orders by the time attribute instead."""
    if plan.query is None:
        return plan
    changed = []
    for window in plan.query.find_all(exp.Window):
        if not isinstance(window.this, exp.RowNumber) or window.meta.get(KEEP_ORDER):
            continue
        order = window.args.get("order")
        table = _single_source(window, context)
        rowtime = context.time_attributes.get(table) if table else None
        if order is None or rowtime is None:
            continue
        descending = any(o.args.get("desc") for o in order.expressions)
        original = ", ".join(o.sql() for o in order.expressions)
        order.set("expressions", [exp.Ordered(this=exp.column(rowtime), desc=descending)])
        changed.append(f"ROW_NUMBER() ordered by {original} now orders by the time attribute {rowtime}")
    return replace(plan, notes=(*plan.notes, *changed)) if changed else plan


def _single_source(node: exp.Expr, context: StreamContext) -> str | None:
    select = node.find_ancestor(exp.Select)
    if select is None:
        return None
    tables = [t for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]
    names = {table_name(t) for t in tables if table_name(t) in context.time_attributes}
    return names.pop() if len(names) == 1 else None


def temporal_joins(plan: StreamStatement, context: StreamContext) -> StreamStatement:
    """`JOIN dim ON ...` -> `JOIN dim FOR SYSTEM_TIME AS OF <left rowtime>`: the dimension row as
    of the fact's event time, instead of a join that keeps both sides forever."""
    if plan.query is None or not context.dimensions:
        return plan
    joined: list[str] = []
    for select in plan.query.find_all(exp.Select):
        base = select.args.get("from_") or select.args.get("from")
        left = base.this if base is not None else None
        if not isinstance(left, exp.Table):
            continue
        rowtime = context.time_attributes.get(table_name(left))
        if rowtime is None:
            continue
        for join in select.args.get("joins") or []:
            right = join.this
            kind = (join.args.get("side") or "").upper()
            if (
                not isinstance(right, exp.Table)
                or table_name(right) not in context.dimensions
                or kind not in {"", "LEFT"}
            ):
                continue
            if not join.args.get("on") or not _joins_on_key(join, right, context.keys.get(table_name(right), ())):
                continue
            as_of = exp.column(rowtime, left.alias_or_name)
            right.set("version", exp.Version(this=exp.var("SYSTEM_TIME"), kind="AS OF", expression=as_of))
            joined.append(table_name(right))
    if not joined:
        return plan
    note = f"dimension joins are temporal joins FOR SYSTEM_TIME AS OF the fact's event time ({', '.join(joined)})"
    return replace(plan, notes=(*plan.notes, note))


def _joins_on_key(join: exp.Join, right: exp.Table, key: tuple[str, ...]) -> bool:
    """A temporal join must equate the versioned table's whole primary key."""
    alias = right.alias_or_name
    equated = {
        side.name
        for eq in join.args["on"].find_all(exp.EQ)
        for side in (eq.this, eq.expression)
        if isinstance(side, exp.Column) and side.table == alias
    }
    return bool(key) and set(key) <= equated


def drop_sorting(plan: StreamStatement, _: StreamContext) -> StreamStatement:
    if plan.query is None:
        return plan
    notes, todos = list(plan.notes), list(plan.todos)
    for query in list(plan.query.find_all(exp.Select, exp.Union)):
        order = query.args.get("order")
        if order is None:
            continue
        if query.args.get("limit") is not None:
            todos.append("ORDER BY ... LIMIT: a global Top-N in streaming; rewrite with ROW_NUMBER() if it matters")
            continue
        query.set("order", None)
        notes.append("ORDER BY dropped: a stream has no final order")
    return replace(plan, notes=tuple(notes), todos=tuple(todos))


def flatten_table_names(plan: StreamStatement, _: StreamContext) -> StreamStatement:
    """Every physical table becomes one Flink identifier; its old name stays as the alias."""
    if plan.query is None:
        return plan
    ctes = {cte.alias_or_name.lower() for cte in plan.query.find_all(exp.CTE)}
    for table in list(plan.query.find_all(exp.Table)):
        name = table_name(table)
        if not table.name or name in ctes:
            continue
        alias = table.alias or table.name
        replacement = exp.Table(this=exp.to_identifier(flink_identifier(name)))
        if table.args.get("version") is not None:
            replacement.set("version", table.args["version"])
        replacement.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        table.replace(replacement)
    return plan


def output_columns(query: exp.Query) -> tuple[str, ...]:
    """Names of the query's result columns (empty when a star hides them)."""
    if isinstance(query, exp.Union):
        return output_columns(query.this)
    if not isinstance(query, exp.Select):
        return ()
    names = []
    for projection in query.expressions:
        if isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        ):
            return ()
        names.append(projection.alias_or_name)
    return tuple(names)


def run_date_projections(plan: StreamStatement, context: StreamContext) -> StreamStatement:
    """`SELECT DATE '{{ ds }}' AS snapshot_date, ...`: the run date becomes the event's date."""
    if plan.query is None:
        return plan
    changed = []
    # without any run-date filter, every run reads the whole source: the constant dates a snapshot
    filtered = any(note.startswith(RUN_DATE_FILTERS_REMOVED) for note in plan.notes)
    for select in plan.query.find_all(exp.Select):
        base = select.args.get("from_") or select.args.get("from")
        table = base.this if base is not None else None
        rowtime = context.time_attributes.get(table_name(table)) if isinstance(table, exp.Table) else None
        pinned = _pinned_day(select)
        for projection in list(select.expressions):
            value = projection.unalias()
            if not _run_date_value(value, context.markers):
                continue
            if pinned is None and not filtered:
                return replace(plan, skipped=SNAPSHOT.format(name=projection.alias_or_name or value.sql()))
            pinned_day = _as_date(*pinned) if pinned is not None else None
            if pinned_day is not None:
                day = pinned_day
            elif rowtime is not None and isinstance(table, exp.Table):
                day = exp.cast(exp.column(rowtime, table.alias_or_name), exp.DataType.build("DATE"))
            else:
                continue
            name = projection.alias_or_name
            projection.replace(day.as_(name) if name else day)
            if select.args.get("group"):
                select.group_by(day.copy(), copy=False)
            origin = pinned[0].sql() if pinned_day is not None and pinned is not None else "the event date"
            changed.append(f"{name or value.sql()} from {origin}")
    if not changed:
        return plan
    note = (
        f"run-date constants become per-row dates ({', '.join(changed)}): the source column the run's "
        "filter held equal to the run date, else the event's time attribute cast to DATE"
    )
    return replace(plan, notes=(*plan.notes, note))


SNAPSHOT = (
    "a daily snapshot: the run date ({name}) stamps every row of an unfiltered source, and a stream has no "
    "end-of-day moment to take it at; keep the source's current state in an upsert table by key and read it "
    "FOR SYSTEM_TIME AS OF each day's end where a dated snapshot is needed"
)


def _pinned_day(select: exp.Select) -> tuple[exp.Expr, str] | None:
    """The expression this SELECT's run-date equality held equal to the run date (`dt` of
    `WHERE dt = '{{ ds }}'`) and the date as the run wrote it: within one run, a run-date
    constant in the projection equals it. An event-time expression (`to_date(event_time) = ds`)
    wins over an arrival partition."""
    pinned: dict[str, tuple[exp.Expr, str]] = select.meta.get(PINNED) or {}
    if not pinned:
        return None
    computed = [p for p in pinned.values() if not isinstance(p[0], exp.Column)]
    return computed[0] if computed else next(iter(pinned.values()))


def _as_date(expression: exp.Expr, written: str) -> exp.Expr | None:
    """The pinned expression as a DATE, read the way the run wrote the date it compared it with
    (`2024-01-15` for ds, `20240115` for ds_nodash); None for another form."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", written):
        return exp.cast(expression.copy(), exp.DataType.build("DATE"))
    if re.fullmatch(r"\d{8}", written):
        return exp.Anonymous(this="TO_DATE", expressions=[expression.copy(), exp.Literal.string("yyyyMMdd")])
    return None


def window_conflicts(plan: StreamStatement, context: StreamContext) -> StreamStatement:
    """Flink computes the OVER aggregates of one SELECT on a single window; several windows in one
    SELECT have no direct streaming form (G501) and stay with a person, as do LAG / LEAD ordered
    by something other than a time attribute."""
    if plan.query is None:
        return plan
    for select in plan.query.find_all(exp.Select):
        specs = set()
        for window in select.find_all(exp.Window):
            if window.find_ancestor(exp.Select) is not select:
                continue
            spec = window.copy()
            spec.set("this", None)
            specs.add(spec.sql())
        if len(specs) > 1:
            return replace(plan, skipped=f"{len(specs)} different OVER windows in one SELECT (Flink needs one)")
    for window in plan.query.find_all(exp.Window):
        offset = _offset_without_time_order(window, context)
        if offset:
            return replace(plan, skipped=offset)
        if isinstance(window.this, RANKINGS) and not _top_n_filter(window):
            name = window.this.key.upper()
            return replace(plan, skipped=f"{name}() as a column has no streaming form (only ROW_NUMBER top-N filters)")
    return plan


def _offset_without_time_order(window: exp.Window, context: StreamContext) -> str:
    """Why a LAG / LEAD has no streaming form ("" when it has one). Flink 2.3 plans one ordered by
    a plain column (a non-time OVER), but its accumulator fails at run time: `Unmaterialized
    BinaryRawValueData cannot be compared`. Ordered by a time attribute it is a regular OVER."""
    if not isinstance(window.this, exp.Lag | exp.Lead):
        return ""
    order = window.args.get("order")
    ordered_by = [c.name for o in (order.expressions if order else []) for c in o.find_all(exp.Column)]
    if any(name in set(context.time_attributes.values()) for name in ordered_by):
        return ""
    name = window.this.key.upper()
    by = ", ".join(ordered_by) or "nothing"
    return (
        f"{name}() ordered by {by}, not a time attribute: Flink 2.3 plans it but fails at run time "
        "(`Unmaterialized BinaryRawValueData cannot be compared`); order by the event time, or join each "
        "row to the previous one by key"
    )


RANKINGS = (exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile)


def _top_n_filter(window: exp.Window) -> bool:
    """The window's result is only compared with a constant in an outer filter (rn <= 3)."""
    projection = window.parent
    alias = projection.alias if isinstance(projection, exp.Alias) else ""
    outer = window.find_ancestor(exp.Select)
    outer = outer.find_ancestor(exp.Select) if outer is not None else None
    where = outer.args.get("where") if outer is not None else None
    return bool(alias and where is not None and any(c.name == alias for c in where.find_all(exp.Column)))


def group_key_outputs(query: exp.Query) -> frozenset[str] | None:
    """Output names of the top SELECT's GROUP BY keys (the upsert key Flink derives), or None."""
    if not isinstance(query, exp.Select) or not query.args.get("group"):
        return None
    names = set()
    for key in query.args["group"].expressions:
        match = next((p for p in query.expressions if p.unalias() == key), None)
        if match is None:
            return None
        names.add(match.alias_or_name)
    return frozenset(names)


REWRITES: tuple[Callable[[StreamStatement, StreamContext], StreamStatement], ...] = (
    drop_run_date_filters,
    run_date_projections,
    dedup_on_time_attribute,
    temporal_joins,
    drop_sorting,
)


def to_stream(sql: str, context: StreamContext) -> StreamStatement:
    """Rewrite one batch statement into its streaming form (not yet flattened or printed).

    The statement is parsed here for this rewrite alone, so the writes take their query out of
    it (`pop`) rather than copying it."""
    statement = parse(sql, context.dialect)
    if statement is None:
        return StreamStatement(None, None, skipped="the statement does not parse")
    write = WRITES.get(type(statement))
    if write is None or (isinstance(statement, exp.Create) and not isinstance(statement.expression, exp.Query)):
        return StreamStatement(None, None, skipped=f"{statement.key.upper()} has no streaming form")
    plan = write(statement, context)
    if plan.query is None:
        return plan
    for rewrite in REWRITES:
        plan = rewrite(plan, context)
    plan = carry_partitions(plan, context)
    plan = window_conflicts(plan, context)
    if plan.skipped:
        return replace(plan, query=None)
    return flatten_table_names(plan, context)
