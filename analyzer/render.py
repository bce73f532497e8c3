"""Render an Airflow SQL template the way Airflow would, without Airflow.

`render_sql` is the pipeline's `render(SqlSource) -> RenderedSql` stage. It renders the raw
template in jinja2's `SandboxedEnvironment` with Airflow's template context stood in (Airflow 2
and 3 names) for one fixed daily run, and reports what the template used:

- `time_variables`: the date variables and date macros the template mentions (`ds`,
  `macros.ds_add`, `data_interval_start`, `params.start_date`, ...);
- `lookback_days`: the fixed day offsets it computes (`macros.ds_add(ds, -3)` -> -3,
  `prev_ds` -> -1, `next_ds` -> +1);
- `markers`: rendered literal -> template expression (`"2024-01-12"` ->
  `"macros.ds_add(ds, -3)"`), so later stages can tie a literal in the SQL back to its template;
- findings instead of exceptions: E012 template-error, E013 template-undefined, E014
  template-unsafe (plus E002/E003/E005/E006/E007 for `{% include %}` files).

How provenance works: every stand-in value (a `str`, `date`, `datetime`, `timedelta` subclass, or
a placeholder) carries a `_Provenance` (the expression it came from, the time variables behind it
and its day offset from the run). Operations on stand-ins return stand-ins with a derived
provenance. The environment's hooks (name lookup, attribute and item access, calls, `+ - * **`,
`finalize`) record what flowed through them into a per-call `_Recorder`; nothing outlives the call.

Nothing here runs user code or touches the network; `{% include %}` reads files under `root` only.
"""

from __future__ import annotations

import calendar
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property, lru_cache, wraps
from pathlib import Path, PurePosixPath
from time import monotonic
from types import CodeType, FrameType, MappingProxyType, ModuleType
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from jinja2 import BaseLoader, Environment, Template, TemplateNotFound, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplatesNotFound
from jinja2.runtime import Context, TemplateReference
from jinja2.sandbox import SandboxedEnvironment, safe_range
from jinja2.utils import missing

from .discover import is_file
from .errors import KappaError, scan_error
from .models import Finding, RenderedSql, SqlSource
from .pyeval import format_fields, percent_fields

__all__ = ["LOGICAL_DATE", "MAX_OUTPUT_CHARS", "render_sql"]

#: The run every template is rendered for. A fixed date, not today, so the rendered SQL, the
#: markers and the golden files are the same on every run and every machine. Mid-month, so a
#: lookback of a few days stays in the month and `start_of('month')` gives a visibly different
#: date; UTC, as Airflow stores logical dates. The data interval is the daily one,
#: [LOGICAL_DATE, LOGICAL_DATE + 1 day).
LOGICAL_DATE = datetime(2024, 1, 15, tzinfo=UTC)

#: Rendered text longer than this is abandoned (E012): a template that expands this far is a bug
#: or an attack, and later stages could not parse it anyway.
MAX_OUTPUT_CHARS = 5_000_000
#: `{% include %}` / `{% import %}` nesting deeper than this is taken for an include loop.
MAX_INCLUDE_DEPTH = 16
#: Total items all `range()` calls of one render may produce, so nested loops cannot spin forever.
MAX_LOOP_ITEMS = 1_000_000
#: Largest `{% include %}` file read, in bytes.
MAX_INCLUDE_BYTES = 5_000_000
#: Largest integer `a ** b` may produce, in bits (its decimal form would not print anyway).
MAX_INTEGER_BITS = 10_000
#: Largest width, count or indent a template may pass to a string method or filter that sizes its
#: result (`'x'.center(n)`, `|indent(n)`, `'%*d'`): a bigger one is a memory attack, not SQL.
MAX_TEMPLATE_WIDTH = 100_000

#: `macros.uuid.uuid4()` and `macros.random()` must not make the output differ between runs.
FIXED_UUID = UUID("00000000-0000-4000-8000-000000000000")
FIXED_RANDOM = 0.5

_TEMPLATE_MARKUP = ("{{", "{%", "{#")
_DAY = timedelta(days=1)
_DAY_MICROSECONDS = 86_400_000_000
# Jinja probes callables for these; an undefined value must not answer them with itself.
_JINJA_PROBES = frozenset({"jinja_pass_arg", "unsafe_callable", "alters_data"})
# Jinja's default globals that open a path to Python internals (`lipsum.__globals__`, ...) or
# that no SQL template needs; Airflow templates are rendered without them here.
_REMOVED_GLOBALS = ("cycler", "joiner", "lipsum", "namespace")


# --------------------------------------------------------------------------------------------
# Provenance and the values that carry it


@dataclass(frozen=True)
class _Provenance:
    """Where a stand-in value came from."""

    origin: str = ""  # the template expression, e.g. "macros.ds_add(ds, -3)"
    variables: frozenset[str] = frozenset()  # time variables behind it, e.g. {"ds", "macros.ds_add"}
    offset: timedelta = timedelta(0)  # shift from the run's own date
    compound: bool = False  # origin is `a - b`: parenthesize before `.method()`, `| filter`, `[i]`

    @property
    def operand(self) -> str:
        """The origin, parenthesized when something is appended to a binary expression."""
        return f"({self.origin})" if self.compound else self.origin

    @property
    def offset_days(self) -> int:
        """The offset in whole days, rounded away from zero (36 hours back is 2 days back).

        Lookbacks size state TTL later on, so a partial day counts as a whole one.
        """
        offset = self.offset
        micros = (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds
        days = -(-abs(micros) // _DAY_MICROSECONDS)
        return days if micros >= 0 else -days

    def derive(
        self, origin: str, *, shift: timedelta = timedelta(0), variables: frozenset[str] = frozenset()
    ) -> _Provenance:
        """A provenance for a value computed from this one."""
        return _Provenance(origin, self.variables | variables, self.offset + shift)


_NO_PROVENANCE = _Provenance()


class _TextValue(str):
    """A `str` stand-in (`ds`, `ts`, `var.value.x`, ...) that remembers its template expression."""

    _provenance: _Provenance = _NO_PROVENANCE

    def __new__(cls, text: str, provenance: _Provenance = _NO_PROVENANCE) -> Self:
        # The provenance is optional because the sandbox's `str.format` rebuilds results with
        # `type(self)(text)`; such results get their provenance from the call hook.
        made = super().__new__(cls, text)
        made._provenance = provenance
        return made

    @property
    def origin(self) -> str:
        return self._provenance.origin

    def __getitem__(self, key: Any) -> _TextValue:
        # Jinja compiles `ds[:7]` to a plain Python subscript, past the sandbox's getitem hook.
        text, provenance = str.__getitem__(self, key), self._provenance
        if not provenance.origin:
            return _TextValue(text)
        return _TextValue(text, provenance.derive(f"{provenance.operand}[{_describe_key(key)}]"))


class _DateValue(date):
    """A pendulum-like `Date` stand-in that remembers its template expression."""

    _provenance: _Provenance = _NO_PROVENANCE

    @classmethod
    def made(cls, value: date, provenance: _Provenance) -> Self:
        """Copy `value` into a stand-in with `provenance`."""
        made = cls(value.year, value.month, value.day)
        made._provenance = provenance
        return made

    @property
    def origin(self) -> str:
        return self._provenance.origin

    def __add__(self, other: Any) -> Any:
        return _moved_by(self, other, +1)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, date):
            return _plain(self) - _plain(other)
        return _moved_by(self, other, -1)

    def add(self, **fields: int) -> Any:
        """pendulum's `Date.add(years=, months=, weeks=, days=)`."""
        return _shifted(self, "add", +1, fields)

    def subtract(self, **fields: int) -> Any:
        """pendulum's `Date.subtract(...)`."""
        return _shifted(self, "subtract", -1, fields)

    def format(self, fmt: str, locale: str | None = None) -> _TextValue:
        """pendulum's token formatting, e.g. `format('YYYY-MM-DD')`."""
        moment = datetime.combine(self, time())
        return _TextValue(_format_tokens(moment, fmt), _method_provenance(self, "format", (fmt,), {}))

    def to_date_string(self) -> _TextValue:
        return _TextValue(self.isoformat(), _method_provenance(self, "to_date_string", (), {}))


class _DateTimeValue(datetime):
    """A pendulum-like `DateTime` stand-in that remembers its template expression."""

    _provenance: _Provenance = _NO_PROVENANCE

    @classmethod
    def made(cls, value: datetime, provenance: _Provenance) -> Self:
        """Copy `value` into a stand-in with `provenance`."""
        made = cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo,
            fold=value.fold,
        )
        made._provenance = provenance
        return made

    @property
    def origin(self) -> str:
        return self._provenance.origin

    def __str__(self) -> str:
        # pendulum prints ISO 8601 with a `T`; the stdlib would print a space.
        return self.isoformat()

    def __add__(self, other: Any) -> Any:
        return _moved_by(self, other, +1)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, datetime):
            return _plain_datetime(self) - other
        return _moved_by(self, other, -1)

    def add(self, **fields: int) -> Any:
        """pendulum's `DateTime.add(years=, months=, weeks=, days=, hours=, minutes=, seconds=)`."""
        return _shifted(self, "add", +1, fields)

    def subtract(self, **fields: int) -> Any:
        """pendulum's `DateTime.subtract(...)`."""
        return _shifted(self, "subtract", -1, fields)

    def format(self, fmt: str, locale: str | None = None) -> _TextValue:
        """pendulum's token formatting, e.g. `format('YYYY-MM-DD HH:mm')`."""
        return _TextValue(_format_tokens(self, fmt), _method_provenance(self, "format", (fmt,), {}))

    def to_date_string(self) -> _TextValue:
        return self._text("to_date_string", self.strftime("%Y-%m-%d"))

    def to_datetime_string(self) -> _TextValue:
        return self._text("to_datetime_string", self.strftime("%Y-%m-%d %H:%M:%S"))

    def to_time_string(self) -> _TextValue:
        return self._text("to_time_string", self.strftime("%H:%M:%S"))

    def to_iso8601_string(self) -> _TextValue:
        text = self.isoformat()
        return self._text("to_iso8601_string", text[:-6] + "Z" if text.endswith("+00:00") else text)

    def in_timezone(self, tz: str | tzinfo) -> _DateTimeValue:
        """pendulum's `in_timezone`; a naive value is taken to be UTC, never the machine's zone."""
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        aware = _plain_datetime(self) if self.tzinfo else _plain_datetime(self).replace(tzinfo=UTC)
        return _DateTimeValue.made(aware.astimezone(zone), _method_provenance(self, "in_timezone", (tz,), {}))

    in_tz = in_timezone

    def naive(self) -> _DateTimeValue:
        return _DateTimeValue.made(
            _plain_datetime(self).replace(tzinfo=None), _method_provenance(self, "naive", (), {})
        )

    def start_of(self, unit: str) -> _DateTimeValue:
        """pendulum's `start_of`. Not a fixed shift, so the day offset stays as it was."""
        start = _start_of(_plain_datetime(self), unit)
        return _DateTimeValue.made(start, _method_provenance(self, "start_of", (unit,), {}))

    def end_of(self, unit: str) -> _DateTimeValue:
        """pendulum's `end_of`. Not a fixed shift, so the day offset stays as it was."""
        end = _end_of(_plain_datetime(self), unit)
        return _DateTimeValue.made(end, _method_provenance(self, "end_of", (unit,), {}))

    @property
    def int_timestamp(self) -> int:
        return int(self.timestamp())

    def timestamp(self) -> float:
        # A naive stand-in is UTC; the stdlib would use the machine's time zone.
        plain = _plain_datetime(self)
        return (plain if plain.tzinfo else plain.replace(tzinfo=UTC)).timestamp()

    def _text(self, method: str, text: str) -> _TextValue:
        return _TextValue(text, _method_provenance(self, method, (), {}))


class _TimedeltaValue(timedelta):
    """`macros.timedelta(...)`, remembering the call that made it."""

    _provenance: _Provenance = _NO_PROVENANCE

    @classmethod
    def made(cls, value: timedelta, provenance: _Provenance) -> Self:
        made = cls(days=value.days, seconds=value.seconds, microseconds=value.microseconds)
        made._provenance = provenance
        return made

    @property
    def origin(self) -> str:
        return self._provenance.origin

    def __neg__(self) -> _TimedeltaValue:
        provenance = self._provenance
        return _TimedeltaValue.made(
            -timedelta(days=self.days, seconds=self.seconds, microseconds=self.microseconds),
            _Provenance(f"-{provenance.operand}", provenance.variables, provenance.offset),
        )


@dataclass(frozen=True)
class _RelativeDelta:
    """`macros.dateutil.relativedelta.relativedelta(...)`: relative and absolute date fields."""

    years: int
    months: int
    delta: timedelta  # weeks, days, hours, minutes, seconds, microseconds
    absolute: Mapping[str, int]  # year, month, day, hour, ...: replaced before the shift
    _provenance: _Provenance

    @property
    def origin(self) -> str:
        return self._provenance.origin

    @property
    def span(self) -> timedelta:
        return _span(self.years, self.months, self.delta)

    def applied(self, value: _D, sign: int) -> _D:
        """`value + self` (sign 1) or `value - self` (sign -1), as dateutil does it."""
        fields = dict(self.absolute)
        if "day" in fields:
            year, month = fields.get("year", value.year), fields.get("month", value.month)
            fields["day"] = min(fields["day"], calendar.monthrange(year, month)[1])
        replaced = value.replace(**fields) if fields else value
        return _move(replaced, sign * self.years, sign * self.months, sign * self.delta)

    def __neg__(self) -> _RelativeDelta:
        provenance = self._provenance
        negated = _Provenance(f"-{provenance.operand}", provenance.variables, provenance.offset)
        return _RelativeDelta(-self.years, -self.months, -self.delta, self.absolute, negated)

    def __add__(self, other: Any) -> Any:
        if isinstance(other, _DateValue | _DateTimeValue):
            return _moved_by(other, self, +1)
        if isinstance(other, date):
            return self.applied(other, +1)
        return NotImplemented

    __radd__ = __add__

    def __rsub__(self, other: Any) -> Any:
        if isinstance(other, _DateValue | _DateTimeValue):
            return _moved_by(other, self, -1)
        if isinstance(other, date):
            return self.applied(other, -1)
        return NotImplemented


class _Placeholder:
    """A value only known at run time (`var.json.x`, `ti.xcom_pull(...)`, `conn.x.extra_dejson`).

    It prints as an SQL-identifier-like placeholder and answers any key or attribute with a
    nested placeholder, so templates that walk into it keep rendering. It iterates as empty.
    """

    __slots__ = ("_provenance", "_text")

    def __init__(self, text: str, provenance: _Provenance) -> None:
        self._text = text
        self._provenance = provenance

    @property
    def origin(self) -> str:
        return self._provenance.origin

    def __getattr__(self, key: str) -> _Placeholder:
        if key.startswith("_"):
            raise AttributeError(key)
        return self._child(key)

    def __getitem__(self, key: object) -> _Placeholder:
        return self._child(str(key))

    def get(self, key: object, default: object = None) -> _Placeholder:
        """Like `dict.get`; the key may well exist at run time, so the answer is a placeholder."""
        return self._child(str(key))

    def keys(self) -> tuple[()]:
        return ()

    values = items = keys

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return self._text

    __repr__ = __str__

    def _child(self, key: str) -> _Placeholder:
        origin = f"{self._provenance.origin}.{key}"
        return _Placeholder(f"{self._text}_{_identifier(key)}", _Provenance(origin))


_CARRIERS = (_TextValue, _DateValue, _DateTimeValue, _TimedeltaValue, _RelativeDelta, _Placeholder)


def _provenance_of(value: object) -> _Provenance | None:
    """The provenance a stand-in carries, or None for anything else."""
    if isinstance(value, _CARRIERS):
        provenance = value._provenance
        return provenance if provenance.origin else None
    return None


def _with_provenance(value: Any, provenance: _Provenance) -> Any:
    """Wrap a plain text, date, datetime or timedelta so it carries `provenance`; else as is."""
    if isinstance(value, str):
        return _TextValue(str.__str__(value), provenance)
    if isinstance(value, datetime):
        return _DateTimeValue.made(value, provenance)
    if isinstance(value, date):
        return _DateValue.made(value, provenance)
    if isinstance(value, timedelta):
        return _TimedeltaValue.made(value, provenance)
    return value


# --------------------------------------------------------------------------------------------
# Describing values inside origins


def _describe(value: object, *, operand: bool = False) -> str:
    """How `value` reads inside a template expression: its origin if it has one, else its repr."""
    provenance = _provenance_of(value)
    if provenance is not None:
        return provenance.operand if operand else provenance.origin
    if isinstance(value, Undefined):
        return _undefined_name(value)
    if isinstance(value, _StandIn):
        return value._path
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe_key(key: object) -> str:
    """A subscript as written: `ds[:4]`, `conf['x']`."""
    if isinstance(key, slice):
        parts = ["" if part is None else _describe(part) for part in (key.start, key.stop, key.step)]
        return ":".join(parts if key.step is not None else parts[:2])
    return _describe(key)


def _call_origin(callee: str, args: Sequence[object], kwargs: Mapping[str, object]) -> str:
    """`callee(arg, key=value)`, each argument described by its own origin."""
    described = [_describe(arg) for arg in args] + [f"{key}={_describe(val)}" for key, val in kwargs.items()]
    return f"{callee}({', '.join(described)})"


def _method_provenance(
    receiver: object,
    method: str,
    args: Sequence[object],
    kwargs: Mapping[str, object],
    shift: timedelta = timedelta(0),
) -> _Provenance:
    """The provenance of `receiver.method(args)`: the receiver's, moved by `shift`."""
    provenance = _provenance_of(receiver) or _Provenance("value")
    return provenance.derive(_call_origin(f"{provenance.operand}.{method}", args, kwargs), shift=shift)


def _identifier(text: str) -> str:
    """`text` made into a safe SQL identifier fragment."""
    return re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_") or "value"


# --------------------------------------------------------------------------------------------
# Date arithmetic

_D = TypeVar("_D", bound=date)


def _plain_datetime(value: datetime) -> datetime:
    """A stdlib copy, so arithmetic does not go through the stand-in's operators again."""
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        value.tzinfo,
        fold=value.fold,
    )


def _plain(value: date) -> date:
    if isinstance(value, datetime):
        return _plain_datetime(value)
    return date(value.year, value.month, value.day)


def _move(value: _D, years: int, months: int, delta: timedelta) -> _D:
    """`value` shifted by years and months (day clamped to the month's end, as pendulum does)
    and then by `delta`."""
    total_months = years * 12 + months
    if total_months:
        index = value.year * 12 + value.month - 1 + total_months
        year, month_index = divmod(index, 12)
        day = min(value.day, calendar.monthrange(year, month_index + 1)[1])
        value = value.replace(year=year, month=month_index + 1, day=day)
    return value + delta


def _span(years: int, months: int, delta: timedelta) -> timedelta:
    """The longest a shift can be: a month counts 31 days and a year 366, because lookbacks
    size state TTL later on."""
    return delta + timedelta(days=31 * months + 366 * years)


def _shifted(value: _DateValue | _DateTimeValue, method: str, sign: int, fields: Mapping[str, int]) -> Any:
    """pendulum's `value.add(**fields)` (sign 1) or `value.subtract(**fields)` (sign -1)."""
    amounts = {name: int(_number(amount)) for name, amount in fields.items()}
    years, months = amounts.pop("years", 0), amounts.pop("months", 0)
    delta = timedelta(**amounts)  # a TypeError names an unknown unit
    moved = _move(_plain(value), sign * years, sign * months, sign * delta)
    provenance = _method_provenance(value, method, (), fields, sign * _span(years, months, delta))
    return _with_provenance(moved, provenance)


def _moved_by(value: _DateValue | _DateTimeValue, other: object, sign: int) -> Any:
    """`value + other` (sign 1) or `value - other` (sign -1) for a timedelta or relativedelta."""
    if isinstance(other, timedelta):
        moved = _plain(value) + sign * other
        span = sign * other
    elif isinstance(other, _RelativeDelta):
        moved = other.applied(_plain(value), sign)
        span = sign * other.span
    else:
        return NotImplemented
    base = _provenance_of(value) or _Provenance("value")
    other_provenance = _provenance_of(other)
    symbol = "+" if sign > 0 else "-"
    provenance = _Provenance(
        f"{base.origin} {symbol} {_describe(other, operand=True)}",
        base.variables | (other_provenance.variables if other_provenance else frozenset()),
        base.offset + span,
        compound=True,
    )
    return _with_provenance(moved, provenance)


_START_OF: dict[str, Callable[[datetime], datetime]] = {
    "second": lambda moment: moment.replace(microsecond=0),
    "minute": lambda moment: moment.replace(second=0, microsecond=0),
    "hour": lambda moment: moment.replace(minute=0, second=0, microsecond=0),
    "day": lambda moment: moment.replace(hour=0, minute=0, second=0, microsecond=0),
    "week": lambda moment: _START_OF["day"](moment) - timedelta(days=moment.weekday()),
    "month": lambda moment: _START_OF["day"](moment).replace(day=1),
    "year": lambda moment: _START_OF["day"](moment).replace(month=1, day=1),
}
# The last microsecond of the unit: the start of the next unit, one microsecond back.
_UNIT_LENGTH: dict[str, tuple[int, timedelta]] = {
    "second": (0, timedelta(seconds=1)),
    "minute": (0, timedelta(minutes=1)),
    "hour": (0, timedelta(hours=1)),
    "day": (0, _DAY),
    "week": (0, timedelta(weeks=1)),
    "month": (1, timedelta(0)),
    "year": (12, timedelta(0)),
}


def _start_of(moment: datetime, unit: str) -> datetime:
    if unit not in _START_OF:
        raise ValueError(f"start_of: unknown unit {unit!r}; expected one of {', '.join(_START_OF)}")
    return _START_OF[unit](moment)


def _end_of(moment: datetime, unit: str) -> datetime:
    months, delta = _UNIT_LENGTH[unit] if unit in _UNIT_LENGTH else (0, timedelta(0))
    start = _start_of(moment, unit)
    return _move(start, 0, months, delta) - timedelta(microseconds=1)


# --------------------------------------------------------------------------------------------
# pendulum's format tokens (English only: the locale of the scanning machine must not matter)

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Longest tokens first, so `MMMM` wins over `MM`; `[...]` is literal text.
_FORMAT_TOKEN = re.compile(
    r"\[([^\]]*)\]|YYYY|YY|Qo|Q|MMMM|MMM|MM|Mo|M|DDDD|DDD|Do|DD|D|dddd|ddd|dd|d|E|"
    r"HH|H|hh|h|mm|m|ss|s|S{1,6}|A|a|ZZ|Z|zz|z|X|x|W"
)


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _utc_offset(moment: datetime, separator: str) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{separator}{minutes:02d}"


def _quarter(moment: datetime) -> int:
    return (moment.month - 1) // 3 + 1


_FORMAT_TOKENS: dict[str, Callable[[datetime], str]] = {
    "YYYY": lambda m: f"{m.year:04d}",
    "YY": lambda m: f"{m.year % 100:02d}",
    "Q": lambda m: str(_quarter(m)),
    "Qo": lambda m: _ordinal(_quarter(m)),
    "MMMM": lambda m: _MONTH_NAMES[m.month - 1],
    "MMM": lambda m: _MONTH_NAMES[m.month - 1][:3],
    "MM": lambda m: f"{m.month:02d}",
    "Mo": lambda m: _ordinal(m.month),
    "M": lambda m: str(m.month),
    "DDDD": lambda m: f"{m.timetuple().tm_yday:03d}",
    "DDD": lambda m: str(m.timetuple().tm_yday),
    "Do": lambda m: _ordinal(m.day),
    "DD": lambda m: f"{m.day:02d}",
    "D": lambda m: str(m.day),
    "dddd": lambda m: _DAY_NAMES[m.weekday()],
    "ddd": lambda m: _DAY_NAMES[m.weekday()][:3],
    "dd": lambda m: _DAY_NAMES[m.weekday()][:2],
    "d": lambda m: str(m.isoweekday() % 7),  # pendulum: Sunday is 0
    "E": lambda m: str(m.isoweekday()),
    "HH": lambda m: f"{m.hour:02d}",
    "H": lambda m: str(m.hour),
    "hh": lambda m: f"{(m.hour % 12) or 12:02d}",
    "h": lambda m: str((m.hour % 12) or 12),
    "mm": lambda m: f"{m.minute:02d}",
    "m": lambda m: str(m.minute),
    "ss": lambda m: f"{m.second:02d}",
    "s": lambda m: str(m.second),
    "A": lambda m: "AM" if m.hour < 12 else "PM",
    "a": lambda m: "am" if m.hour < 12 else "pm",
    "ZZ": lambda m: _utc_offset(m, ""),
    "Z": lambda m: _utc_offset(m, ":"),
    "zz": lambda m: m.tzname() or "",
    "z": lambda m: m.tzname() or "",
    "X": lambda m: str(int(_aware(m).timestamp())),
    "x": lambda m: str(int(_aware(m).timestamp() * 1000)),
    "W": lambda m: str(m.isocalendar().week),
}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _format_tokens(moment: datetime, fmt: str) -> str:
    """Format like pendulum's `DateTime.format`: `'YYYY-MM-DD'` -> `'2024-01-15'`."""

    def token(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)
        text = match.group(0)
        if text.startswith("S"):
            return f"{moment.microsecond:06d}"[: len(text)]
        return _FORMAT_TOKENS[text](moment)

    return _FORMAT_TOKEN.sub(token, fmt)


# --------------------------------------------------------------------------------------------
# Airflow's filters and time variables

_DATE_FORMATS: dict[str, Callable[[datetime], str]] = {
    "ds": lambda moment: moment.strftime("%Y-%m-%d"),
    "ds_nodash": lambda moment: moment.strftime("%Y%m%d"),
    "ts": lambda moment: moment.isoformat(),
    "ts_nodash": lambda moment: moment.strftime("%Y%m%dT%H%M%S"),
    "ts_nodash_with_tz": lambda moment: moment.isoformat().replace("-", "").replace(":", ""),
}

# name, Airflow filter that formats it (None: a pendulum DateTime), days after the logical date,
# day offset. The offset compares a variable with the same quantity for the current run: the
# previous run's interval end is the current interval start, but it is still one run back.
_TIME_VARIABLES: tuple[tuple[str, str | None, int, int], ...] = (
    ("ds", "ds", 0, 0),
    ("ds_nodash", "ds_nodash", 0, 0),
    ("ts", "ts", 0, 0),
    ("ts_nodash", "ts_nodash", 0, 0),
    ("ts_nodash_with_tz", "ts_nodash_with_tz", 0, 0),
    ("logical_date", None, 0, 0),
    ("execution_date", None, 0, 0),
    ("data_interval_start", None, 0, 0),
    ("data_interval_end", None, 1, 0),
    ("prev_ds", "ds", -1, -1),
    ("prev_ds_nodash", "ds_nodash", -1, -1),
    ("next_ds", "ds", 1, 1),
    ("next_ds_nodash", "ds_nodash", 1, 1),
    ("yesterday_ds", "ds", -1, -1),
    ("yesterday_ds_nodash", "ds_nodash", -1, -1),
    ("tomorrow_ds", "ds", 1, 1),
    ("tomorrow_ds_nodash", "ds_nodash", 1, 1),
    ("prev_execution_date", None, -1, -1),
    ("next_execution_date", None, 1, 1),
    ("prev_execution_date_success", None, -1, -1),
    ("prev_data_interval_start_success", None, -1, -1),
    ("prev_data_interval_end_success", None, 0, -1),
    ("prev_start_date_success", None, 0, -1),
    ("prev_end_date_success", None, 0, -1),
)


def _time_variable(name: str, moment: datetime, offset_days: int = 0) -> Any:
    """A pendulum-like DateTime stand-in that is the time variable `name`."""
    provenance = _Provenance(name, frozenset({name}), timedelta(days=offset_days))
    return _DateTimeValue.made(moment, provenance)


def _as_moment(value: object) -> datetime | None:
    """A datetime from a date, a datetime or an ISO 8601 text; None if it is none of them."""
    if isinstance(value, datetime):
        return _plain_datetime(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(str.__str__(value))
        except ValueError:
            return None
    return None


def _airflow_filter(name: str) -> Callable[[Any], Any]:
    """Airflow's `| ds`-style filter; the result keeps the input's provenance."""
    render = _DATE_FORMATS[name]

    def apply(value: Any) -> Any:
        moment = _as_moment(value)
        if moment is None:  # an undefined value or text that is not a date: let it through
            return value
        provenance = _provenance_of(value)
        text = render(moment)
        return _TextValue(text, provenance.derive(f"{provenance.operand} | {name}")) if provenance else text

    return apply


_AIRFLOW_FILTERS = {name: _airflow_filter(name) for name in _DATE_FORMATS}


# --------------------------------------------------------------------------------------------
# Context stand-ins: containers whose `_path` is their template expression


class _StandIn:
    """Base of the context containers (`macros`, `dag_run`, `var.value`, ...)."""

    __slots__ = ("_path",)

    def __init__(self, path: str) -> None:
        self._path = path

    def __str__(self) -> str:
        return f"__{_identifier(self._path)}__"

    __repr__ = __str__


class _Namespace(_StandIn):
    """An object with fixed attributes, e.g. `dag_run` or `macros`."""

    __slots__ = ("_members",)

    def __init__(self, path: str, **members: Any) -> None:
        super().__init__(path)
        self._members = members

    def __getattr__(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            raise AttributeError(name) from None


class _EmptyMapping(dict[str, Any]):
    """An empty dict that knows its template path (`dag_run.conf`), so a missing key reads
    `dag_run.conf.x` in findings."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path


class _Params(_StandIn, Mapping[str, Any]):
    """`params`: the DAG's params; every read is recorded, a missing one is undefined (E013)."""

    __slots__ = ("_on_read", "_values")

    def __init__(self, values: Mapping[str, Any], on_read: Callable[[str], None]) -> None:
        super().__init__("params")
        self._values = {name: _param_value(name, value) for name, value in values.items()}
        self._on_read = on_read

    def __getitem__(self, name: str) -> Any:
        value = self._values[name]
        self._on_read(name)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self._values  # a membership test is not a read

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?")


def _param_value(name: str, value: Any) -> Any:
    """A param's value carrying the origin `params.NAME`; a date-like param is a time variable."""
    origin = f"params.{name}"
    is_date = isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value) is not None)
    provenance = _Provenance(origin, frozenset({origin}) if is_date else frozenset())
    if isinstance(value, str | date):
        return _with_provenance(value, provenance)
    return value


class _Variables(_StandIn):
    """`var.value` and `var.json`: Airflow Variables, unknown at scan time, hence placeholders."""

    __slots__ = ("_as_json",)

    def __init__(self, path: str, *, as_json: bool) -> None:
        super().__init__(path)
        self._as_json = as_json

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def get(self, name: str, default: object = None) -> Any:
        """The variable `name`; a default cannot be chosen over the real value, so it is ignored."""
        origin = f"{self._path}.{name}"
        text = f"var_{_identifier(name)}"
        if self._as_json:
            return _Placeholder(text, _Provenance(origin))
        return _TextValue(text, _Provenance(origin))


class _Connections(_StandIn):
    """`conn`: Airflow Connections as placeholders. A password is never given: it reads `***`."""

    __slots__ = ()

    def __getattr__(self, conn_id: str) -> _Namespace:
        if conn_id.startswith("_"):
            raise AttributeError(conn_id)
        return self.get(conn_id)

    def get(self, conn_id: str, default: object = None) -> _Namespace:
        path = f"conn.{conn_id}"
        prefix = f"conn_{_identifier(conn_id)}"

        def placeholder(field_name: str) -> _TextValue:
            return _TextValue(f"{prefix}_{field_name}", _Provenance(f"{path}.{field_name}"))

        return _Namespace(
            path,
            conn_id=_TextValue(conn_id, _Provenance(f"{path}.conn_id")),
            conn_type=placeholder("conn_type"),
            host=placeholder("host"),
            login=placeholder("login"),
            schema=placeholder("schema"),
            port=placeholder("port"),
            password="***",
            extra=placeholder("extra"),
            extra_dejson=_Placeholder(f"{prefix}_extra", _Provenance(f"{path}.extra_dejson")),
            get_uri=lambda: placeholder("uri"),
        )


class _DateTimeFactory(_StandIn):
    """`macros.datetime`: builds stand-ins; `now()` is the end of the data interval, the moment
    a punctual daily run starts, never the scanning machine's clock."""

    __slots__ = ("_now",)

    def __init__(self, now: datetime) -> None:
        super().__init__("macros.datetime")
        self._now = now

    def __call__(self, *args: Any, **kwargs: Any) -> _DateTimeValue:
        return _DateTimeValue.made(
            datetime(*args, **kwargs), _Provenance(_call_origin("macros.datetime", args, kwargs))
        )

    def now(self, tz: object = None) -> _DateTimeValue:
        return self._clock("now", (tz,) if tz is not None else ())

    def utcnow(self) -> _DateTimeValue:
        return self._clock("utcnow", ())

    def today(self) -> _DateTimeValue:
        return self._clock("today", ())

    def strptime(self, text: object, fmt: str) -> _DateTimeValue:
        parsed = datetime.strptime(str(text), fmt)
        provenance = _provenance_of(text) or _NO_PROVENANCE
        origin = _call_origin("macros.datetime.strptime", (text, fmt), {})
        return _DateTimeValue.made(parsed, _Provenance(origin, provenance.variables, provenance.offset))

    def fromisoformat(self, text: object) -> _DateTimeValue:
        provenance = _provenance_of(text) or _NO_PROVENANCE
        origin = _call_origin("macros.datetime.fromisoformat", (text,), {})
        parsed = datetime.fromisoformat(str(text))
        return _DateTimeValue.made(parsed, _Provenance(origin, provenance.variables, provenance.offset))

    def _clock(self, method: str, args: tuple[object, ...]) -> _DateTimeValue:
        name = f"macros.datetime.{method}"
        return _DateTimeValue.made(self._now, _Provenance(_call_origin(name, args, {}), frozenset({name})))


def _number(value: Any) -> Any:
    """An undefined argument counts as 0, so `timedelta(days=params.missing)` keeps rendering."""
    return 0 if isinstance(value, Undefined) else value


def _make_timedelta(*args: Any, **kwargs: Any) -> _TimedeltaValue:
    """`macros.timedelta(...)`."""
    value = timedelta(*map(_number, args), **{key: _number(arg) for key, arg in kwargs.items()})
    origin = _call_origin("macros.timedelta", args, kwargs)
    return _TimedeltaValue.made(value, _Provenance(origin, frozenset({"macros.timedelta"})))


_RELATIVE_FIELDS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds", "microseconds")
_ABSOLUTE_FIELDS = ("year", "month", "day", "hour", "minute", "second", "microsecond")


def _make_relativedelta(**kwargs: int) -> _RelativeDelta:
    """`macros.dateutil.relativedelta.relativedelta(...)` (weekday rules are not modelled)."""
    unknown = set(kwargs) - set(_RELATIVE_FIELDS) - set(_ABSOLUTE_FIELDS)
    if unknown:
        raise TypeError(f"relativedelta: unsupported argument(s) {', '.join(sorted(unknown))}")
    values = {name: int(_number(value)) for name, value in kwargs.items()}
    delta = timedelta(**{name: values.get(name, 0) for name in _RELATIVE_FIELDS[2:]})
    absolute = {name: values[name] for name in _ABSOLUTE_FIELDS if name in values}
    name = "macros.dateutil.relativedelta"
    provenance = _Provenance(_call_origin(f"{name}.relativedelta", (), kwargs), frozenset({name}))
    return _RelativeDelta(values.get("years", 0), values.get("months", 0), delta, absolute, provenance)


def _as_days(days: object) -> int | None:
    """A day count from an int, float or numeric text; None when unknown (undefined)."""
    if isinstance(days, bool | Undefined):
        return None
    if isinstance(days, int | float):
        return int(days)
    try:
        return int(str(days))
    except ValueError:
        return None


def _ds_add(ds: Any, days: Any) -> _TextValue:
    """`macros.ds_add(ds, days)`: a `YYYY-MM-DD` text `days` later (or earlier)."""
    base = _provenance_of(ds) or _NO_PROVENANCE
    count = _as_days(days)
    moment = _as_moment(ds)
    # With nothing to shift, or no date to shift (a placeholder), the text stays as it was.
    text = (moment + timedelta(days=count)).strftime("%Y-%m-%d") if count and moment else str(ds)
    provenance = _Provenance(
        _call_origin("macros.ds_add", (ds, days), {}),
        base.variables | {"macros.ds_add"},
        base.offset + timedelta(days=count or 0),
    )
    return _TextValue(text, provenance)


def _ds_format(ds: Any, input_format: str, output_format: str) -> _TextValue:
    """`macros.ds_format(ds, input_format, output_format)`."""
    base = _provenance_of(ds) or _NO_PROVENANCE
    try:
        text = datetime.strptime(str(ds), input_format).strftime(output_format)
    except ValueError:
        text = str(ds)
    origin = _call_origin("macros.ds_format", (ds, input_format, output_format), {})
    return _TextValue(text, _Provenance(origin, base.variables | {"macros.ds_format"}, base.offset))


def _xcom_pull(*args: Any, **kwargs: Any) -> _Placeholder:
    """`ti.xcom_pull(...)`: the value is only known at run time."""
    task_ids = kwargs.get("task_ids", args[0] if args else None)
    key = kwargs.get("key", "return_value")
    names = task_ids if isinstance(task_ids, list | tuple) else [task_ids or "task"]
    text = "_".join(["xcom", *(_identifier(str(name)) for name in names), _identifier(str(key))])
    return _Placeholder(text, _Provenance(_call_origin("ti.xcom_pull", args, kwargs)))


def _macros(moment: datetime) -> _Namespace:
    """`macros`, with deterministic stand-ins for the clock, uuid and random.

    The stdlib modules themselves are never exposed: the sandbox would let a template walk
    from `json` to `json.codecs.open`.
    """
    interval_end = moment + _DAY

    def closest_ds_partition(table: str, ds: Any, *args: Any, **kwargs: Any) -> Any:
        return ds  # the closest partition of a daily table is the day itself

    def max_partition(table: str, *args: Any, **kwargs: Any) -> _TextValue:
        origin = _call_origin("macros.hive.max_partition", (table, *args), kwargs)
        return _TextValue(f"max_partition_{_identifier(str(table))}", _Provenance(origin))

    def json_dumps(value: Any, indent: int | None = None, sort_keys: bool = False) -> str:
        _check_widths("macros.json.dumps", [indent], {})
        return json.dumps(value, indent=indent, sort_keys=sort_keys, default=str)

    return _Namespace(
        "macros",
        ds_add=_ds_add,
        ds_format=_ds_format,
        datetime=_DateTimeFactory(interval_end),
        timedelta=_make_timedelta,
        dateutil=_Namespace(
            "macros.dateutil",
            relativedelta=_Namespace("macros.dateutil.relativedelta", relativedelta=_make_relativedelta),
        ),
        time=_Namespace(
            "macros.time",
            time=interval_end.timestamp,
            strftime=lambda fmt, *_: interval_end.strftime(fmt),
        ),
        uuid=_Namespace("macros.uuid", uuid4=lambda: FIXED_UUID, uuid1=lambda: FIXED_UUID),
        random=lambda: FIXED_RANDOM,
        json=_Namespace("macros.json", dumps=json_dumps, loads=json.loads),
        hive=_Namespace("macros.hive", max_partition=max_partition, closest_ds_partition=closest_ds_partition),
    )


def _airflow_context(moment: datetime, params: Mapping[str, Any], recorder: _Recorder) -> dict[str, Any]:
    """Airflow's template context (2.x and 3.x names) for the daily run at `moment`.

    The values no template can change are made once per moment (`_run_context`); the ones a
    template could change in the sandbox (`{{ outlets.append(x) }}`, `{% do dag_run.conf.update(x)
    %}`) and `params`, which records its reads, are made for every render.
    """
    shared = _run_context(moment, moment.tzinfo, moment.fold)
    context = dict(shared.values)  # the keys of the values below are there already, in Airflow's order
    context.update(
        dag_run=_Namespace("dag_run", conf=_EmptyMapping("dag_run.conf"), **shared.dag_run),
        params=_Params(params, recorder.params_used.add),
        inlets=[],
        outlets=[],
        inlet_events=_EmptyMapping("inlet_events"),
        outlet_events=_EmptyMapping("outlet_events"),
        triggering_dataset_events=_EmptyMapping("triggering_dataset_events"),
        triggering_asset_events=_EmptyMapping("triggering_asset_events"),
    )
    return context


@dataclass(frozen=True)
class _RunContext:
    """The part of the context of the run at one moment that no template can change: `values`
    (with None for the names `_airflow_context` fills per render), and `dag_run`'s members but
    its `conf`."""

    values: Mapping[str, Any]
    dag_run: Mapping[str, Any]


@lru_cache(maxsize=16)
def _run_context(moment: datetime, zone: tzinfo | None, fold: int) -> _RunContext:
    """The context values that depend only on the moment: texts, date-times and namespaces whose
    members a template cannot reach to change (the sandbox refuses `_members`).

    Keyed by the zone and fold too: moments that are the same instant compare equal, but their
    texts (`ts`, `run_id`) differ from one zone to another.
    """
    del zone, fold  # part of the cache key only
    values: dict[str, Any] = {}
    for name, filter_name, shift_days, offset_days in _TIME_VARIABLES:
        value = moment + timedelta(days=shift_days)
        if filter_name is None:
            values[name] = _time_variable(name, value, offset_days)
        else:
            provenance = _Provenance(name, frozenset({name}), timedelta(days=offset_days))
            values[name] = _TextValue(_DATE_FORMATS[filter_name](value), provenance)

    run_id = f"scheduled__{moment.isoformat()}"
    dag_id = _TextValue("dag_id", _Provenance("dag.dag_id"))
    task_id = _TextValue("task_id", _Provenance("task.task_id"))
    task_instance = _Namespace(
        "ti",
        dag_id=dag_id,
        task_id=task_id,
        run_id=_TextValue(run_id, _Provenance("ti.run_id")),
        try_number=1,
        map_index=-1,
        logical_date=_time_variable("ti.logical_date", moment),
        execution_date=_time_variable("ti.execution_date", moment),
        xcom_pull=_xcom_pull,
    )
    dag_run = MappingProxyType(
        {
            "dag_id": dag_id,
            "run_id": _TextValue(run_id, _Provenance("dag_run.run_id")),
            "run_type": "scheduled",
            "external_trigger": False,
            "logical_date": _time_variable("dag_run.logical_date", moment),
            "execution_date": _time_variable("dag_run.execution_date", moment),
            "data_interval_start": _time_variable("dag_run.data_interval_start", moment),
            "data_interval_end": _time_variable("dag_run.data_interval_end", moment + _DAY),
            "start_date": _time_variable("dag_run.start_date", moment + _DAY),
        }
    )
    values.update(
        run_id=_TextValue(run_id, _Provenance("run_id")),
        dag_run=None,
        dag=_Namespace("dag", dag_id=dag_id, owner="airflow"),
        task=_Namespace("task", task_id=task_id, dag_id=dag_id, owner="airflow"),
        ti=task_instance,
        task_instance=task_instance,
        task_instance_key_str=_TextValue(
            f"dag_id__task_id__{moment.strftime('%Y%m%d')}", _Provenance("task_instance_key_str")
        ),
        macros=_macros(moment),
        params=None,
        var=_Namespace(
            "var",
            value=_Variables("var.value", as_json=False),
            json=_Variables("var.json", as_json=True),
        ),
        conn=_Connections("conn"),
        conf=_Namespace(
            "conf",
            get=lambda section, key, *_, **__: _TextValue(
                f"conf_{_identifier(section)}_{_identifier(key)}",
                _Provenance(f"conf.get({section!r}, {key!r})"),
            ),
        ),
        test_mode=False,
        inlets=None,
        outlets=None,
        inlet_events=None,
        outlet_events=None,
        triggering_dataset_events=None,
        triggering_asset_events=None,
        expanded_ti_count=None,
        map_index_template=None,
        templates_dict=None,
        exception=None,
    )
    return _RunContext(MappingProxyType(values), dag_run)


# --------------------------------------------------------------------------------------------
# What one render observed


class _RenderAborted(KappaError):
    """Stops a render that exceeded a bound; becomes a finding with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[_RenderAborted], tuple[str, str]]:
        return type(self), (self.code, self.message)


@dataclass
class _Recorder:
    """What one render observed. Mutable on purpose: the hooks of a single `render_sql` call
    fill it in, and it never outlives that call."""

    time_variables: set[str] = field(default_factory=set)
    lookback_days: set[int] = field(default_factory=set)
    params_used: set[str] = field(default_factory=set)
    undefined_names: dict[str, None] = field(default_factory=dict)  # in order of first use
    markers: dict[str, str] = field(default_factory=dict)
    loop_items_left: int = MAX_LOOP_ITEMS
    deadline: float | None = None  # time.monotonic() past which the render stops (E008)
    operations: int = 0

    def tick(self) -> None:
        """Count one operation of the template; past the deadline, stop the render."""
        self.operations += 1
        if self.deadline is not None and not self.operations % 256 and monotonic() > self.deadline:
            raise _RenderAborted("E008", "template took longer than the file's scan budget; not rendered")

    def use(self, value: object) -> None:
        """Note the time variables and day offset behind `value`, if it is a stand-in."""
        provenance = _provenance_of(value)
        if provenance is None:
            return
        self.time_variables.update(provenance.variables)
        if days := provenance.offset_days:
            self.lookback_days.add(days)

    def mark(self, text: str, provenance: _Provenance) -> None:
        """Tie a printed text to its expression; the first expression printed for a text wins."""
        self.markers.setdefault(text, provenance.origin)

    def spend_loop_items(self, count: int) -> None:
        self.loop_items_left -= count
        if self.loop_items_left < 0:
            raise _RenderAborted("E012", f"template loops over more than {MAX_LOOP_ITEMS:,} items in total")


# --------------------------------------------------------------------------------------------
# Undefined names


def _undefined_name(value: Undefined) -> str:
    """The dotted name of an undefined value: `my_macro`, `params.missing`, `dag_run.conf.x`."""
    name = value._undefined_name
    owner = value._undefined_obj
    base = None if owner is missing else _path_of(owner)
    if name is None:
        return base or "undefined"
    if not isinstance(name, str):
        return f"{base or 'value'}[{name!r}]"
    return f"{base}.{name}" if base else name


def _path_of(owner: object) -> str | None:
    """The template expression of a context object, if it is one of ours."""
    provenance = _provenance_of(owner)
    if provenance is not None:
        return provenance.origin
    if isinstance(owner, _StandIn | _EmptyMapping):
        return owner._path
    return None


class _LenientUndefined(Undefined):
    """An undefined name that keeps the render going and is reported once (E013).

    It prints as `__undefined_NAME__` (an SQL identifier, so the SQL still parses); calling it,
    reading its attributes or items, or doing arithmetic with it gives itself back. Only real
    use is recorded: `x is defined` and `x | default(...)` are not uses.
    """

    __slots__ = ()
    _recorder: ClassVar[_Recorder]  # set per render by `_undefined_class`

    def _note_use(self) -> None:
        self._recorder.undefined_names.setdefault(_undefined_name(self), None)

    def _keep_going(self, *args: Any, **kwargs: Any) -> Self:
        self._note_use()
        return self

    def _compare(self, other: object) -> bool:
        self._note_use()
        return False

    def __getattr__(self, name: str) -> Any:
        # Python and Jinja probe objects for these; answering them would change behaviour.
        if name.startswith("_") or name in _JINJA_PROBES:
            raise AttributeError(name)
        self._note_use()
        return self

    # The base class declares these as raising (NoReturn); here they return the undefined value.
    __call__ = __getitem__ = _keep_going  # type: ignore[assignment]
    __add__ = __radd__ = __sub__ = __rsub__ = _keep_going  # type: ignore[assignment]
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _keep_going  # type: ignore[assignment]
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _keep_going  # type: ignore[assignment]
    __pow__ = __rpow__ = __pos__ = __neg__ = _keep_going  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = _compare  # type: ignore[assignment]

    def __int__(self) -> int:  # type: ignore[override]  # the base raises instead
        self._note_use()
        return 0

    def __float__(self) -> float:  # type: ignore[override]
        self._note_use()
        return 0.0

    def __str__(self) -> str:
        self._note_use()
        return f"__undefined_{_identifier(_undefined_name(self))}__"

    def __iter__(self) -> Iterator[Any]:
        self._note_use()
        return iter(())

    def __len__(self) -> int:
        self._note_use()
        return 0

    def __bool__(self) -> bool:
        self._note_use()
        return False


def _undefined_class(recorder: _Recorder) -> type[Undefined]:
    """An undefined class bound to one render's recorder (Jinja only ever calls the class, the way
    `jinja2.make_logging_undefined` binds a logger)."""

    class _RecordingUndefined(_LenientUndefined):
        __slots__ = ()
        _recorder = recorder

    return _RecordingUndefined


def _undefined_message(name: str) -> str:
    root = re.split(r"[.\[]", name, maxsplit=1)[0]
    if root == "params" and name != root:
        return f"template uses `{name}`, which the DAG's params do not define"
    if name != root:
        return f"template uses `{name}`, which kappa's stand-in for `{root}` does not provide"
    return f"template uses `{name}`, which Airflow's context does not define"


# --------------------------------------------------------------------------------------------
# Loading `{% include %}` files under the root only


class _IncludeRejected(TemplateNotFound, KappaError):
    """An include that must not or cannot be read; `code` says why (E002/E003/E005/E006/E007)."""

    def __init__(self, code: str, name: str, message: str) -> None:
        TemplateNotFound.__init__(self, name, message)
        self.code = code

    def __reduce__(self) -> tuple[type[_IncludeRejected], tuple[str, str, str]]:
        return type(self), (self.code, str(self.name), str(self.message))


class _RootLoader(BaseLoader):
    """Finds `{% include %}` / `{% import %}` targets in search-path folders under `root`.

    Template names use `/`; `..` is refused (as Jinja's own FileSystemLoader does, so Airflow
    would not find such a file either) and any path whose real location, symlinks resolved, is
    outside `root` is refused (E007). Folders of the search path outside `root` are ignored.
    """

    def __init__(self, root: Path, search_path: Sequence[str]) -> None:
        self._given_root = root
        self._search_path = tuple(search_path)

    @cached_property
    def _root(self) -> Path:
        # resolved when a template first includes one: most never do, and resolving is a system call per folder
        return self._given_root.resolve()

    @cached_property
    def _folders(self) -> tuple[Path, ...]:
        folders = ((self._root / folder).resolve() for folder in self._search_path)
        return tuple(folder for folder in folders if folder.is_relative_to(self._root))

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, None]:
        pieces = [piece for piece in template.split("/") if piece not in ("", ".")]
        if not pieces or ".." in pieces:
            raise TemplateNotFound(template, f"`{template}`: template names may not contain `..`")
        for folder in self._folders:
            try:
                path = folder.joinpath(*pieces).resolve()
            except (OSError, RuntimeError) as exc:  # 3.11 raises RuntimeError on a symlink loop
                message = f"included template `{template}`: symbolic link loops or cannot be resolved"
                raise _IncludeRejected("E006", template, message) from exc
            if not is_file(path):
                continue
            if not path.is_relative_to(self._root):
                message = f"included template `{template}` resolves outside the scanned root"
                raise _IncludeRejected("E007", template, message)
            return self._read(template, path), path.relative_to(self._root).as_posix(), None
        searched = ", ".join(f"`{folder}`" for folder in self._search_path) or "(empty)"
        raise TemplateNotFound(template, f"included template `{template}` not found in search path {searched}")

    @staticmethod
    def _read(template: str, path: Path) -> str:
        try:
            size = path.stat().st_size
        except OSError as exc:
            message = f"included template `{template}` cannot be read: {exc.strerror}"
            raise _IncludeRejected("E003", template, message) from exc
        if size > MAX_INCLUDE_BYTES:  # outside the `try`: _IncludeRejected is an OSError too
            message = f"included template `{template}` is larger than {MAX_INCLUDE_BYTES:,} bytes"
            raise _IncludeRejected("E005", template, message)
        try:
            with path.open("rb") as handle:
                return handle.read(MAX_INCLUDE_BYTES + 1).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _IncludeRejected("E002", template, f"included template `{template}` is not UTF-8") from exc
        except OSError as exc:
            message = f"included template `{template}` cannot be read: {exc.strerror}"
            raise _IncludeRejected("E003", template, message) from exc


# --------------------------------------------------------------------------------------------
# The environment


class _RecordingContext(Context):
    """Records every context name a template resolves (`ds`, `prev_ds`, ...).

    Jinja resolves the names a template mentions when its block starts, taken branch or not,
    so `time_variables` lists what the template mentions rather than what one run printed.
    """

    def resolve_or_missing(self, key: str) -> Any:
        value = super().resolve_or_missing(key)
        if isinstance(self.environment, _StandInEnvironment):
            self.environment.recorder.use(value)
        return value


def _refuse_private(name: str) -> None:
    """Any `_`-prefixed attribute is a step towards Python internals; stop the render (E014)."""
    if name.startswith("_"):
        raise SecurityError(f"access to private attribute {name!r} is blocked")


def _too_large(what: str) -> _RenderAborted:
    return _RenderAborted("E012", f"rendered SQL too large: {what} would build over {MAX_OUTPUT_CHARS:,} items")


def _check_size(value: Any, what: str) -> Any:
    """`value`, unless it is a text or collection over `MAX_OUTPUT_CHARS` items."""
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT_CHARS:
        raise _too_large(what)
    return value


def _check_widths(what: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Refuse an integer argument over `MAX_TEMPLATE_WIDTH` to something that sizes its result."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_TEMPLATE_WIDTH:
            raise _RenderAborted("E012", f"{what}: {value:,} is over the {MAX_TEMPLATE_WIDTH:,} a template may ask for")


def _longest(values: Sequence[Any]) -> int:
    return max((len(str(v)) for v in values), default=0)


def _check_format(what: str, template: str, values: Sequence[Any], *, percent: bool) -> None:
    """`'%-999999999s' % x`, `'{:>999999999}'.format(x)`: refuse widths and outputs too large."""
    fields = percent_fields(template) if percent else format_fields(template)
    if fields is None:
        raise _RenderAborted("E012", f"{what}: a width over the limit, or one taken from an argument")
    if len(template) + fields * _longest(values) > MAX_OUTPUT_CHARS:
        raise _too_large(what)


def _check_replace(what: str, text: str, args: Sequence[Any]) -> None:
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        grows = max(0, len(args[1]) - len(args[0]))
        if len(text) + (len(text) + 1) * grows > MAX_OUTPUT_CHARS:
            raise _too_large(what)


# str methods and filters that size their result from an argument
_SIZED_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_SIZED_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice", "tojson", "pprint"})


def _check_method_call(receiver: Any, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Before a str method runs: its widths, its format fields, its replacement growth."""
    if not isinstance(receiver, str):
        return
    if method in _SIZED_METHODS:
        _check_widths(f"str.{method}", args, kwargs)
    elif method in ("format", "format_map"):
        mapped = [value for mapping in args if isinstance(mapping, Mapping) for value in mapping.values()]
        _check_format("str.format", receiver, [*args, *kwargs.values(), *mapped], percent=False)
    elif method == "replace":
        _check_replace("str.replace", receiver, args)


# Wrapped once per process, not once per render (a third of a short template's render went to it)
_GUARDED_FILTERS: dict[tuple[tuple[str, Callable[..., Any]], ...], dict[str, Callable[..., Any]]] = {}


def _guarded_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Each filter wrapped by `_guarded_filter`: a new dict, its wrappers made once per set of
    filters (the wrappers hold nothing of a render)."""
    key = tuple(filters.items())
    guarded = _GUARDED_FILTERS.get(key)
    if guarded is None:
        guarded = _GUARDED_FILTERS[key] = {name: _guarded_filter(name, function) for name, function in key}
    return dict(guarded)


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses sizes over the limits before it runs and results over them after."""

    @wraps(function)  # keeps `jinja_pass_arg`: Jinja still passes the environment or context
    def guarded(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not isinstance(a, Environment | Context | nodes.EvalContext)]
        if values:
            value, rest = values[0], values[1:]
            if name in _SIZED_FILTERS:
                _check_widths(f"filter `{name}`", rest, kwargs)
            elif name == "format" and isinstance(value, str):
                _check_format("filter `format`", value, [*rest, *kwargs.values()], percent=True)
            elif name == "replace" and isinstance(value, str):
                _check_replace("filter `replace`", value, rest)
        return _check_size(function(*args, **kwargs), f"filter `{name}`")

    return guarded


def _check_operation_size(operator: str, left: Any, right: Any) -> None:
    """Refuse `'x' * 10**9` and `9 ** 9 ** 9` before Python spends the memory or time."""
    sequences = isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple)
    if operator == "+" and sequences and len(left) + len(right) > MAX_OUTPUT_CHARS:
        raise _too_large("`+`")
    if operator == "%" and isinstance(left, str):
        values = list(right.values()) if isinstance(right, Mapping) else right if isinstance(right, tuple) else [right]
        _check_format("`%` format", left, values, percent=True)
    integers = isinstance(left, int) and isinstance(right, int)
    if operator == "*" and integers and abs(left).bit_length() + abs(right).bit_length() > MAX_INTEGER_BITS:
        raise _RenderAborted("E012", f"`*` would build a number over {MAX_INTEGER_BITS:,} bits")
    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            if (
                isinstance(sequence, str | list | tuple)
                and isinstance(count, int)
                and len(sequence) * count > MAX_OUTPUT_CHARS
            ):
                raise _RenderAborted("E012", f"rendered SQL too large: `*` would build over {MAX_OUTPUT_CHARS:,} items")
    if (
        operator == "**"
        and isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and abs(left).bit_length() * right > MAX_INTEGER_BITS
    ):
        raise _RenderAborted("E012", f"`**` would build a number over {MAX_INTEGER_BITS:,} bits")


def _bound_receiver(function: Any) -> Any:
    """The object a bound method belongs to (also through the sandbox's `str.format` wrapper)."""
    receiver = getattr(function, "__self__", None)
    if receiver is None:
        receiver = getattr(getattr(function, "__wrapped__", None), "__self__", None)
    return receiver


def _include_depth() -> int:
    """How many templates are rendering inside one another right now."""
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == "root" and "__jinja_template__" in frame.f_globals:
            depth += 1
        frame = frame.f_back
    return depth


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to `environment.bounded_concat(...)`: the sandbox has no hook for `~`, and
    `{% set a = a ~ a %}` in a loop would double a text until the memory runs out."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class _StandInEnvironment(SandboxedEnvironment):
    """The sandbox with Airflow's filters and the recording hooks of one render."""

    # `+`/`-` to follow date arithmetic; `*`/`**` to bound them (intercepted operators are
    # also never constant-folded at compile time, where `9 ** 9 ** 9` would hang the compiler).
    intercepted_binops = frozenset({"+", "-", "*", "**", "%"})
    context_class = _RecordingContext
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, recorder: _Recorder, loader: BaseLoader) -> None:
        self.recorder = recorder
        super().__init__(
            loader=loader,
            autoescape=False,  # SQL, not HTML
            undefined=_undefined_class(recorder),
            finalize=self._finalize,
            # Airflow strips a trailing newline; keeping it keeps the rendered text's lines
            # aligned with the source for later stages.
            keep_trailing_newline=True,
            extensions=["jinja2.ext.do"],  # Airflow enables `{% do %}`
        )
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = self._range
        self.filters.update(_AIRFLOW_FILTERS)
        self.filters = _guarded_filters(self.filters)

    def bounded_concat(self, parts: Sequence[Any]) -> str:
        """`a ~ b`: refused when the text would pass `MAX_OUTPUT_CHARS` (see `_BoundedCodeGenerator`)."""
        texts = [str(part) for part in parts]
        if sum(map(len, texts)) > MAX_OUTPUT_CHARS:
            raise _too_large("`~`")
        return "".join(texts)

    def _range(self, *args: int) -> range:
        """`range` with the sandbox's per-call cap and a budget across the whole render."""
        self.recorder.tick()
        items = safe_range(*args)
        self.recorder.spend_loop_items(len(items))
        return items

    def _observed(self, value: Any, owner: Any, origin: Callable[[_Provenance], str]) -> Any:
        """Give `value` its owner's provenance when it is plain text or a date derived from a
        stand-in (`ds.replace('-', '')`, `ds[:7]`), and record it."""
        if _provenance_of(value) is None and not isinstance(value, bool):
            owner_provenance = _provenance_of(owner)
            if owner_provenance is not None:
                value = _with_provenance(value, owner_provenance.derive(origin(owner_provenance)))
        self.recorder.use(value)
        return value

    def getattr(self, obj: Any, attribute: str) -> Any:
        _refuse_private(attribute)
        self.recorder.tick()
        value = super().getattr(obj, attribute)
        return self._observed(value, obj, lambda owner: f"{owner.operand}.{attribute}")

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and not isinstance(obj, Mapping):
            _refuse_private(argument)
        self.recorder.tick()
        value = super().getitem(obj, argument)
        return self._observed(value, obj, lambda owner: f"{owner.operand}[{_describe_key(argument)}]")

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # The stock sandbox returns an undefined that fails only when used; the lenient
        # undefined would never fail, so an unsafe access stops the render right here.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.recorder.tick()
        _check_method_call(_bound_receiver(obj), getattr(obj, "__name__", ""), args, kwargs)
        result = _check_size(super().call(context, obj, *args, **kwargs), "a call")
        method = getattr(obj, "__name__", "call")
        return self._observed(
            result,
            _bound_receiver(obj),
            lambda owner: _call_origin(f"{owner.operand}.{method}", args, kwargs),
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_operation_size(operator, left, right)
        self.recorder.tick()
        result = _check_size(super().call_binop(context, operator, left, right), f"`{operator}`")
        sources = [provenance for provenance in map(_provenance_of, (left, right)) if provenance]
        if sources and _provenance_of(result) is None and not isinstance(result, bool):
            origin = f"{_describe(left, operand=True)} {operator} {_describe(right, operand=True)}"
            variables = frozenset().union(*(provenance.variables for provenance in sources))
            provenance = _Provenance(origin, variables, sources[0].offset, compound=True)
            result = _with_provenance(result, provenance)
        self.recorder.use(result)
        return result

    def get_template(self, name: str | Template, parent: str | None = None, globals: Any = None) -> Template:
        if _include_depth() >= MAX_INCLUDE_DEPTH:
            message = (
                f"templates nest deeper than {MAX_INCLUDE_DEPTH} levels at `{name}`"
                " (do they include each other in a loop?)"
            )
            raise _RenderAborted("E012", message)
        return super().get_template(name, parent, globals)

    def _finalize(self, value: Any) -> Any:
        """Runs on every printed value: ties stand-ins to their expression (`markers`) and
        prints callables and containers as placeholders instead of reprs with addresses."""
        if isinstance(value, Undefined):
            return value
        provenance = _provenance_of(value)
        if provenance is not None:
            self.recorder.mark(str(value), provenance)
            self.recorder.use(value)
            return value
        if isinstance(value, _StandIn):
            return str(value)
        if callable(value) or isinstance(value, ModuleType | TemplateReference):
            return f"__object_{_identifier(getattr(value, '__name__', type(value).__name__))}__"
        return value


# --------------------------------------------------------------------------------------------
# Locating problems in the template


def _template_tokens(environment: Environment, text: str) -> list[tuple[int, str]]:
    """(line, value) of the names, strings and numbers inside the template's tags."""
    tokens = []
    for line, kind, value in environment.lex(text):
        if kind in ("name", "integer"):
            tokens.append((line, value))
        elif kind == "string":
            tokens.append((line, value[1:-1]))
    return tokens


def _line_of_name(tokens: Sequence[tuple[int, str]], name: str) -> int:
    """The template line where the dotted `name` first appears; 1 if it does not.

    Tries the whole path (`dag_run.conf['x']` matches `dag_run.conf.x`), then its last part,
    then its first part; a name used only in an included file points at the first include.
    """
    parts = [part for part in re.split(r"[.\[\]']+", name) if part]
    values = [value for _, value in tokens]
    for start in range(len(values) - len(parts) + 1):
        if values[start : start + len(parts)] == parts:
            return tokens[start][0]
    for wanted in (parts[-1], parts[0], "include", "import", "extends", "from"):
        for line, value in tokens:
            if value == wanted:
                return line
    return 1


def _traceback_line(exc: BaseException) -> int:
    """The line of the main template where `exc` was raised (Jinja rewrites tracebacks so that
    template frames carry template lines); 1 if the main template is not on the traceback."""
    line, frame = 1, exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == "<template>":
            line = frame.tb_lineno
        frame = frame.tb_next
    return line


def _render_failure(exc: Exception) -> tuple[str, str, int]:
    """(code, message, template line) for an exception raised while rendering."""
    line = _traceback_line(exc)
    if isinstance(exc, SecurityError):
        return "E014", f"template tries to reach Python internals; blocked by the sandbox: {exc}", line
    if isinstance(exc, _IncludeRejected):
        return exc.code, str(exc.message), line
    if isinstance(exc, TemplatesNotFound):
        return "E012", f"none of the included templates {', '.join(map(str, exc.templates))} was found", line
    if isinstance(exc, TemplateNotFound):
        return "E012", str(exc.message), line
    if isinstance(exc, _RenderAborted):
        return exc.code, exc.message, line
    if isinstance(exc, TemplateSyntaxError):  # in an included file, compiled while rendering
        where = f" in `{exc.name}` line {exc.lineno}" if exc.name else ""
        return "E012", f"template syntax error{where}: {exc.message}", line
    if isinstance(exc, RecursionError):
        return "E012", "template recursion too deep (a macro calling itself without end?)", line
    return "E012", f"template does not render: {type(exc).__name__}: {exc}", line


# --------------------------------------------------------------------------------------------
# The stage


def render_sql(
    source: SqlSource,
    *,
    root: Path,
    search_path: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
    user_defined_macros: Mapping[str, Any] | None = None,
    logical_date: datetime = LOGICAL_DATE,
    extra_context: Mapping[str, Any] | None = None,
    deadline: float | None = None,
) -> RenderedSql:
    """Render `source.text` as Airflow would for the daily run at `logical_date`; never raises.

    `search_path` holds folders relative to `root` (POSIX) for `{% include %}`; Airflow searches
    the DAG's folder first and then `template_searchpath`, so pass both. When it is empty, the
    folder of `source.file` is searched. `user_defined_macros` become globals (the context wins
    on a clash, as in Airflow); `extra_context` is added last and wins over everything. A naive
    `logical_date` is taken to be UTC. Past `deadline` (a `time.monotonic()` value) the render
    stops with an E008 finding.

    >>> from analyzer.models import SqlOrigin
    >>> sql = SqlSource(SqlOrigin.INLINE, "WHERE dt >= '{{ macros.ds_add(ds, -3) }}'", "dags/d.py", 7)
    >>> rendered = render_sql(sql, root=Path("repo"), search_path=["dags", "dags/sql"])
    >>> rendered.text, rendered.lookback_days, rendered.markers
    ("WHERE dt >= '2024-01-12'", (-3,), {'2024-01-12': 'macros.ds_add(ds, -3)'})
    """
    text = source.text
    if not any(markup in text for markup in _TEMPLATE_MARKUP):
        return RenderedSql(text=bind_placeholders(text))

    def attempt(printed: list[str] | None) -> tuple[_Recorder, tuple[str, str, int] | None, str, Environment | None]:
        recorder = _Recorder(deadline=deadline)
        failure: tuple[str, str, int] | None = None
        rendered = ""
        compiled: Environment | None = None  # the environment the text compiled in
        try:
            folders = search_path or (PurePosixPath(source.file).parent.as_posix(),)
            environment = _StandInEnvironment(recorder, _RootLoader(root, folders))
            environment.globals.update(user_defined_macros or {})
            moment = logical_date if logical_date.tzinfo else logical_date.replace(tzinfo=UTC)
            context = {**_airflow_context(moment, params or {}, recorder), **(extra_context or {})}
            if printed is not None:
                compiled = environment
                rendered = _render_printed(printed, environment, context, recorder)
                return recorder, None, rendered, compiled
            try:
                template = environment.from_string(text)
            except TemplateSyntaxError as exc:
                failure = ("E012", f"template syntax error: {exc.message}", exc.lineno)
            else:
                compiled = environment
                rendered = _generate_bounded(template, context, recorder)
        except Exception as exc:  # the stage's contract: every failure becomes a finding
            failure = _render_failure(exc)
        return recorder, failure, rendered, compiled

    printed = _printed_only(text)
    recorder, failure, rendered, compiled = attempt(printed)
    if printed is not None and failure is not None:  # Jinja, on the whole text, says where and why
        recorder, failure, rendered, compiled = attempt(None)

    def file_line(template_line: int) -> int:
        return source.line + max(template_line, 1) - 1

    # lexed again only to place an undefined name: most templates have none
    tokens = _template_tokens(compiled, text) if recorder.undefined_names and compiled is not None else []
    findings = [
        scan_error("E013", _undefined_message(name), source.file, file_line(_line_of_name(tokens, name)))
        for name in recorder.undefined_names
    ]
    if failure is not None:
        code, message, line = failure
        findings.append(scan_error(code, message, source.file, file_line(line)))
        rendered = ""
    return RenderedSql(
        text=bind_placeholders(rendered),
        time_variables=tuple(sorted(recorder.time_variables)),
        lookback_days=tuple(sorted(recorder.lookback_days)),
        params_used=tuple(sorted(recorder.params_used)),
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        markers=dict(sorted(recorder.markers.items())) if failure is None else {},
    )


# DB-API parameter markers that the database driver fills in, outside quotes and comments:
# pyformat `%(name)s` and format `%s` (psycopg2, snowflake-connector, mysqlclient, pyhive)
_DBAPI_MARKERS = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/)"""
    r"|%\((?P<name>\w+)\)s|(?<![\w%)])%s(?!\w)",
    re.DOTALL,
)


def bind_placeholders(sql: str) -> str:
    """DB-API parameter markers as SQL parameters every dialect parses (`:name`, `?`).

    Airflow passes `parameters=` to the driver, which substitutes `%(name)s` and `%s`; only a few
    dialects read those markers, so `WHERE id = %(id)s` becomes `WHERE id = :id`.

    >>> bind_placeholders("SELECT '%s' FROM t WHERE a = %(a)s AND b = %s")
    "SELECT '%s' FROM t WHERE a = :a AND b = ?"
    """
    if "%" not in sql:
        return sql

    def replace(match: re.Match[str]) -> str:
        if match.group("skip"):
            return match.group("skip")
        name = match.group("name")
        return f":{name}" if name else "?"

    return _DBAPI_MARKERS.sub(replace, sql)


# A block printing one expression on one line, without whitespace control: `{{ ds }}`,
# `{{ macros.ds_add(ds, -3) }}`.
_PRINT_BLOCK = re.compile(r"(\{\{(?![-+])[^{}\n]*?(?<![-+])\}\})")
# Compiled print blocks, by their text; cleared when full (a repository has a few hundred).
_PRINT_BLOCK_CODE: dict[str, CodeType] = {}
_PRINT_BLOCK_CODE_LIMIT = 4096


def _printed_only(text: str) -> list[str] | None:
    """The template as literal text and print blocks in turn (`[text, block, text, ...]`), when
    it holds nothing else Jinja reads: no statement, comment, whitespace control, multi-line
    expression, nor a carriage return (Jinja turns every newline into `\n`). None otherwise.

    Most SQL templates only print values (`{{ ds }}`). Compiling one whole takes Jinja ~2.5 ms per
    5 KB, mostly lexing and compiling the literal text; rendered block by block, each block
    compiled once per process (`_render_printed`), a whole render of the same template takes
    ~0.6 ms against ~3 ms (most of it now the environment and the context). Every hook
    of the environment runs as it does for the whole template: each print calls `finalize`,
    each name is looked up in the same context, in the same order.
    """
    if "\r" in text:
        return None
    parts = _PRINT_BLOCK.split(text)
    if any(markup in literal for literal in parts[0::2] for markup in _TEMPLATE_MARKUP):
        return None
    return parts


def _render_printed(
    parts: Sequence[str], environment: Environment, context: Mapping[str, Any], recorder: _Recorder
) -> str:
    """`_printed_only`'s pieces rendered: each print block as a template of its own, from code
    compiled once (every `_StandInEnvironment` compiles a text alike: the same filters, tests and
    settings; only globals and hooks differ, and those are looked up when the code runs)."""
    chunks: list[str] = []
    size = 0
    template_globals = environment.make_globals(None)
    for index, part in enumerate(parts):
        chunk = part
        if index % 2:
            code = _PRINT_BLOCK_CODE.get(part)
            if code is None:
                if len(_PRINT_BLOCK_CODE) >= _PRINT_BLOCK_CODE_LIMIT:
                    _PRINT_BLOCK_CODE.clear()
                code = _PRINT_BLOCK_CODE[part] = environment.compile(part)
            template = environment.template_class.from_code(environment, code, template_globals)
            chunk = _generate_bounded(template, context, recorder)
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise _RenderAborted("E012", f"rendered SQL too large (over {MAX_OUTPUT_CHARS:,} characters)")
        chunks.append(chunk)
    return "".join(chunks)


def _generate_bounded(template: Template, context: Mapping[str, Any], recorder: _Recorder) -> str:
    """Render chunk by chunk, stopping once the output passes `MAX_OUTPUT_CHARS` or the deadline."""
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(context):
        recorder.tick()
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise _RenderAborted("E012", f"rendered SQL too large (over {MAX_OUTPUT_CHARS:,} characters)")
        chunks.append(chunk)
    return "".join(chunks)
