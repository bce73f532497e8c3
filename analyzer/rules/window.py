"""Which days a writing statement writes, as offsets from the run's date: what the lookback rules
(F101, F105, C412, C414) compare.

Every template is rendered for one fixed run (`LOGICAL_DATE`), and the renderer marks each literal
a template printed (`'2024-01-12'` <- `macros.ds_add(ds, -3)`). A literal whose template used the
run's own time variables is therefore a day offset, its date minus the run's date, whatever macro
made it (`ds_add`, `prev_ds`, `timedelta`, `data_interval_end`, `ds_nodash`). SQL date arithmetic
on such a literal, or on CURRENT_DATE, moves it further: `DATE_SUB('{{ ds }}', 2)` is -2,
`CURRENT_DATE - INTERVAL '3' DAY` is -3.

A statement's *write window* is the span of days it writes: the values of a static PARTITION
clause when one is tied to the run, else the widest span its run-tied predicates allow on one
column (a dynamic partition overwrite, a DELETE, a MERGE source, a REPLACE WHERE).

    >>> offset_of_date_text("2024-01-12T00:00:00")
    -3
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

import sqlglot
from sqlglot import exp

from ..models import Job, Statement
from ..render import LOGICAL_DATE
from ..sql import PartitionPredicate, StatementAnalysis
from .base import WRITING_KINDS, JobFacts

# Template names that are the run's own time (not a DAG parameter or a fixed date)
RUN_VARIABLES = frozenset(
    {
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "execution_date",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "prev_ds",
        "prev_ds_nodash",
        "next_ds",
        "next_ds_nodash",
        "yesterday_ds",
        "yesterday_ds_nodash",
        "tomorrow_ds",
        "tomorrow_ds_nodash",
        "prev_execution_date",
        "next_execution_date",
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
    }
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DATE_TEXT = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?!\d)")

# Days in one unit of an INTERVAL / DATEADD; a month counts 31 and a year 366, as in the renderer,
# so that a lookback is never under-estimated
UNIT_DAYS: dict[str, float] = {
    "DAY": 1,
    "DAYS": 1,
    "WEEK": 7,
    "WEEKS": 7,
    "MONTH": 31,
    "MONTHS": 31,
    "YEAR": 366,
    "YEARS": 366,
    "HOUR": 1 / 24,
    "HOURS": 1 / 24,
    "MINUTE": 1 / 1440,
    "MINUTES": 1 / 1440,
}
NOW = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentDatetime)
ADDING = (exp.DateAdd, exp.TsOrDsAdd, exp.DatetimeAdd, exp.TimestampAdd, exp.TimeAdd)
SUBTRACTING = (exp.DateSub, exp.DatetimeSub, exp.TimestampSub, exp.TimeSub)
TRUNCATING = (exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc)
# DATE_TRUNC units (and Spark's `trunc(d, 'MM')` spellings) -> the period truncated to
TRUNCATION_UNITS: dict[str, str] = {
    "DAY": "day",
    "DD": "day",
    "WEEK": "week",
    "MONTH": "month",
    "MM": "month",
    "MON": "month",
    "QUARTER": "quarter",
    "YEAR": "year",
    "YYYY": "year",
    "YY": "year",
}
# Writes that add or replace rows (a DELETE's window is the slice it clears)
ROW_WRITING_KINDS = WRITING_KINDS - {"truncate", "update"}
# Writes that replace the rows of their window rather than adding to them
REPLACING_KINDS = frozenset({"insert_overwrite", "delete", "merge", "create_or_replace_table_as"})


@dataclass(frozen=True)
class Window:
    """Days `first`..`last` relative to the run (0 is the run's date), `days` of them written."""

    column: str
    first: int
    last: int
    days: int


def job_markers(job: Job) -> dict[str, str]:
    """Rendered literal -> the template expression that printed it, over the job's sources."""
    markers: dict[str, str] = {}
    for rendered in job.rendered:
        for text, origin in rendered.markers.items():
            markers.setdefault(text, origin)
    return markers


def offset_of_date_text(text: str) -> int | None:
    """Days between a rendered date (`2024-01-12`, `20240112`, `2024-01-12 00:00:00`) and the run."""
    match = DATE_TEXT.match(text.strip())
    if match is None:
        return None
    try:
        day = dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return (day - LOGICAL_DATE.date()).days


def run_origin(origin: str) -> bool:
    """The template expression derives from the run's time (`macros.ds_add(ds, -3)`), not from a
    parameter (`params.start_date`) or a variable."""
    return bool(RUN_VARIABLES & set(IDENTIFIER.findall(origin)))


def marked_offset(text: str, markers: Mapping[str, str]) -> int | None:
    """The offset of a literal a run-tied template printed, alone or followed by a time
    (`'{{ ds }} 00:00:00'`)."""
    origin = markers.get(text)
    if origin is None:
        origin = next(
            (o for t, o in markers.items() if text.startswith(t) and not text[len(t) : len(t) + 1].isdigit()),
            None,
        )
    if origin is None or not run_origin(origin):
        return None
    return offset_of_date_text(text)


def value_offset(value: str, dialect: str, markers: Mapping[str, str]) -> int | None:
    """Days from the run a predicate value points at; None when it is not tied to the run.

    A value is a literal's text (`2024-01-12`) or, when computed, its SQL in the dialect
    (`DATE_SUB(CAST('2024-01-15' AS DATE), INTERVAL '3' DAY)`).
    """
    marked = marked_offset(value, markers)
    if marked is not None or DATE_TEXT.match(value.strip()):
        return marked  # a literal: tied to the run, or a fixed date
    try:
        node = sqlglot.parse_one(value, read=dialect)
    except Exception:  # a value we cannot read is not tied to the run
        return None
    days = _days_from_run(node, markers)
    return None if days is None else int(days)  # towards zero: six hours back is still the run's day


def _days_from_run(node: exp.Expr, markers: Mapping[str, str]) -> float | None:
    if isinstance(node, exp.Literal):
        return marked_offset(node.name, markers) if node.is_string else None
    if isinstance(node, NOW):
        return 0
    if isinstance(node, exp.Paren):
        return _days_from_run(node.this, markers)
    shift = _shift(node, markers)
    if shift is not None:
        return shift
    if isinstance(node, TRUNCATING):
        return _truncated(node, markers)
    if isinstance(node, (exp.Cast, exp.TryCast, exp.Func)) and isinstance(node.this, exp.Expr):
        return _days_from_run(node.this, markers)  # DATE('...'), CAST(... AS DATE), TO_DATE(...)
    return None


def _shift(node: exp.Expr, markers: Mapping[str, str]) -> float | None:
    """`DATE_ADD(x, n)`, `DATEADD(day, n, x)`, `x - INTERVAL 'n' DAY`, `x - n`: x moved by n days."""
    if isinstance(node, (*ADDING, exp.Add)):
        sign = 1
    elif isinstance(node, (*SUBTRACTING, exp.Sub)):
        sign = -1
    else:
        return None
    base, amount = node.this, node.expression
    if isinstance(node, exp.Add) and isinstance(base, exp.Interval):
        base, amount = amount, base  # INTERVAL '1' DAY + x
    start = _days_from_run(base, markers) if isinstance(base, exp.Expr) else None
    unit = node.args.get("unit")
    step = _amount_days(amount, unit.name.upper() if isinstance(unit, exp.Expr) else "DAY")
    if start is None or step is None:
        return None
    return start + sign * step


def _truncated(node: exp.Expr, markers: Mapping[str, str]) -> float | None:
    """`DATE_TRUNC('month', x)`: the first day of x's month, as an offset from the run (the render's
    fixed date makes it exact: a month-to-date window reaches back to the 1st)."""
    start = _days_from_run(node.this, markers) if isinstance(node.this, exp.Expr) else None
    unit = node.args.get("unit")
    period = TRUNCATION_UNITS.get(unit.name.upper() if isinstance(unit, exp.Expr) else "")
    if start is None or period is None:
        return start
    day = LOGICAL_DATE.date() + dt.timedelta(days=int(start))
    first = {
        "week": day - dt.timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "quarter": day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1),
        "year": day.replace(month=1, day=1),
    }.get(period, day)
    return float((first - LOGICAL_DATE.date()).days)


def _amount_days(node: object, unit: str) -> float | None:
    if isinstance(node, exp.Interval):
        text = node.this.name if isinstance(node.this, exp.Expr) else ""
        inner_unit = node.args.get("unit")
        match = re.fullmatch(r"\s*(-?\d+)\s*([A-Za-z]*)\s*", text)
        if match is None:
            return None
        name = (inner_unit.name if isinstance(inner_unit, exp.Expr) else "") or match.group(2) or "DAY"
        per_unit = UNIT_DAYS.get(name.upper())
        return None if per_unit is None else int(match.group(1)) * per_unit
    number = _number(node)
    per_unit = UNIT_DAYS.get(unit)
    return None if number is None or per_unit is None else number * per_unit


def _number(node: object) -> float | None:
    if isinstance(node, exp.Literal):
        try:
            return float(node.name)
        except ValueError:
            return None
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Paren):
        return _number(node.this)
    if isinstance(node, exp.Mul):
        left, right = _number(node.this), _number(node.expression)
        return None if left is None or right is None else left * right
    return None


# predicate op -> (lower bound, upper bound) of the days it allows, from the offsets of its values
BOUNDS: dict[str, Callable[[list[int]], tuple[int | None, int | None]]] = {
    "=": lambda o: (o[0], o[0]),
    "in": lambda o: (min(o), max(o)),
    "between": lambda o: (o[0], o[-1]),
    ">=": lambda o: (o[0], None),
    ">": lambda o: (o[0] + 1, None),
    "<=": lambda o: (None, o[0]),
    "<": lambda o: (None, o[0] - 1),
}


def predicate_windows(
    predicates: tuple[PartitionPredicate, ...], dialect: str, markers: Mapping[str, str]
) -> Iterator[Window]:
    """One window per column that run-tied predicates bound from below; the run's date is the
    upper bound when none is written."""
    lower: dict[str, int] = {}
    upper: dict[str, int] = {}
    listed: dict[str, int] = {}
    for predicate in predicates:
        offsets = [value_offset(v, dialect, markers) for v in predicate.values]
        bounds = BOUNDS.get(predicate.op)
        if bounds is None or not offsets or None in offsets:
            continue
        low, high = bounds([o for o in offsets if o is not None])
        if low is not None:
            lower[predicate.column] = max(low, lower.get(predicate.column, low))
        if high is not None:
            upper[predicate.column] = min(high, upper.get(predicate.column, high))
        if predicate.op == "in":
            listed[predicate.column] = len(set(offsets))
    for column, first in lower.items():
        last = upper.get(column, max(first, 0))
        days = listed.get(column, last - first + 1)
        if days >= 1:
            yield Window(column, first, last, days)


def partition_window(analysis: StatementAnalysis, markers: Mapping[str, str]) -> tuple[bool, Window | None]:
    """(the PARTITION clause decides, its window): a static partition value tied to the run pins
    the write to that day; a fixed static value with no dynamic column pins it to no run day."""
    static = [(c, v) for c, v in analysis.partition_spec if v is not None]
    for column, value in static:
        offset = marked_offset(value, markers)
        if offset is not None:
            return True, Window(column, offset, offset, 1)
    dynamic = any(v is None for _, v in analysis.partition_spec)
    return (bool(static) and not dynamic), None


def write_window(facts: JobFacts, statement: Statement, analysis: StatementAnalysis) -> Window | None:
    """The days a writing statement writes, relative to the run; None when not tied to the run.

    Five rules and the classifier ask for it: worked out once per statement (`facts.derived`)."""
    if analysis.kind not in ROW_WRITING_KINDS:
        return None
    key = ("write_window", statement.index)
    if key not in facts.derived:
        facts.derived[key] = _write_window(facts, statement, analysis)
    return cast("Window | None", facts.derived[key])


def _write_window(facts: JobFacts, statement: Statement, analysis: StatementAnalysis) -> Window | None:
    markers = job_markers(facts.job)
    decided, window = partition_window(analysis, markers)
    if decided:
        return window
    windows = list(predicate_windows(analysis.predicates, statement.dialect, markers))
    return max(windows, key=lambda w: (w.days, -w.first), default=None)


def replaces_rows(facts: JobFacts, analysis: StatementAnalysis) -> bool:
    """The statement replaces rows in its window: an overwrite, a DELETE, a MERGE or an upsert, or
    an INSERT into a table the job truncates. A plain INSERT adds rows: a longer window it reads
    is context for window functions or rolling aggregates of the run's own rows (re-appending
    past days would duplicate them; a job that clears them first says so in its DELETE)."""
    if analysis.kind in REPLACING_KINDS or (analysis.kind == "insert" and "update" in analysis.merge_actions):
        return True
    return analysis.kind == "insert" and any(
        other.kind == "truncate" and set(other.writes) & set(analysis.writes) for _, other in facts.statements
    )


def lookback_window(facts: JobFacts, statement: Statement, analysis: StatementAnalysis) -> Window | None:
    """The write window of a statement that replaces rows, when it spans more than the run's own
    day: each run re-writes days that earlier runs already wrote (a lookback rerun)."""
    if not replaces_rows(facts, analysis):
        return None
    window = write_window(facts, statement, analysis)
    return window if window is not None and window.days >= 2 else None


def restated_partition(
    facts: JobFacts, statement: Statement, analysis: StatementAnalysis
) -> tuple[int, tuple[str, ...]] | None:
    """(days back, other writers) when an overwrite replaces one past day that was written
    before: two or more days back, or yesterday's when another job writes the table too."""
    if analysis.kind != "insert_overwrite" or analysis.target is None:
        return None
    window = write_window(facts, statement, analysis)
    if window is None or window.days != 1:
        return None
    shared = facts.other_producers(analysis.target)
    if window.first <= -2 or (window.first <= -1 and shared):
        return -window.first, shared
    return None


def rewritten_days(facts: JobFacts) -> int:
    """How many days before the run the job re-writes rows already written (0: none)."""
    days = 0
    for statement, analysis in facts.statements:
        window = lookback_window(facts, statement, analysis)
        if window is not None:
            days = max(days, -window.first, 1)
        restated = restated_partition(facts, statement, analysis)
        if restated is not None:
            days = max(days, restated[0])
    return days
