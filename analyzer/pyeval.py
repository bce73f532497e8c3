"""Values of the static Python evaluator, and the table of functions it knows how to evaluate.

The DAG interpreter (`dags.py`) walks a module's AST and computes what it can without running
anything: constants, strings built with f-strings, `+`, `%` and `.format`, paths built with
`os.path.join` or `pathlib`, dates, Datasets. Whatever it cannot compute is an `Unknown`, which
flows through every operation instead of an exception. Strings that were built from unknown parts
are `TaintedStr`; strings that stand for a value Airflow fills in at run time (`ds` passed to a
callable) are `JinjaExpr`, whose text is the Jinja expression, so the renderer later records the
time variable exactly as if the author had written the template.
"""

from __future__ import annotations

import datetime as dt
import os.path
import re
import string
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: No text the evaluator builds is longer than the largest file the scanner reads (discover's
#: MAX_FILE_BYTES): a DAG file that doubles a string in a loop must not take the machine's memory.
MAX_TEXT_CHARS = 5 * 1024 * 1024
#: Integers the evaluator computes stay below this many bits (`x = x * x` in a loop).
MAX_INT_BITS = 4_096
#: Largest field width or precision in a format (`'{:>999999999}'`, `'%999999999d'`).
MAX_FORMAT_WIDTH = 10_000


class BudgetExceeded(Exception):
    """Evaluating a file would cross a budget (steps, time, size of a value): an E008 finding."""

    def __init__(self, reason: str = "evaluation steps") -> None:
        super().__init__(reason)
        self.reason = reason


def check_text_size(size: int, what: str = "text") -> None:
    """Refuse, before it is built, a text longer than `MAX_TEXT_CHARS`."""
    if size > MAX_TEXT_CHARS:
        raise BudgetExceeded(f"{what} of over {MAX_TEXT_CHARS:,} characters")


class Unknown:
    """A value the scanner cannot compute statically (a run-time value, an unsupported call)."""

    __slots__ = ("why",)

    def __init__(self, why: str = "") -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"<unknown {self.why}>"

    def placeholder(self) -> str:
        """Identifier-like stand-in used when an unknown value is formatted into SQL text."""
        word = re.sub(r"[^A-Za-z0-9]+", "_", self.why).strip("_")[:40] or "value"
        return f"{PLACEHOLDER_PREFIX}{word}__"


PLACEHOLDER_PREFIX = "__unresolved_"


def has_placeholder(text: str) -> bool:
    """Text with an unknown value formatted into it (even after it went through a shell split)."""
    return isinstance(text, TaintedStr) or PLACEHOLDER_PREFIX in text


class TaintedStr(str):
    """A string built partly from unknown values (their placeholders are in the text)."""


class JinjaExpr(str):
    """A run-time Airflow value, held as the Jinja template text that produces it (`{{ ds }}`)."""

    @property
    def expression(self) -> str:
        return self[3:-3] if self.startswith("{{ ") and self.endswith(" }}") else str(self)

    @classmethod
    def of(cls, expression: str) -> JinjaExpr:
        return cls("{{ " + expression + " }}")


class PathStr(str):
    """A filesystem path built with pathlib (supports `/`)."""


@dataclass(frozen=True)
class FileText:
    """Text read from a file with `open(...).read()` or `Path.read_text()`."""

    text: str
    path: str  # absolute path


@dataclass(frozen=True)
class FileHandle:
    path: str


@dataclass(frozen=True)
class ModuleRef:
    """A name bound by an import (or an attribute of one): `airflow.sdk.DAG`, `os.path.join`."""

    qualname: str

    @property
    def last(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    @property
    def root(self) -> str:
        return self.qualname.split(".", 1)[0]


@dataclass(frozen=True)
class CallValue:
    """The result of calling something the scanner does not evaluate, kept for display."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        first = next((repr(a) if isinstance(a, str) else "" for a in self.args), "")
        return f"{self.name.rsplit('.', 1)[-1]}({first})"


@dataclass(frozen=True)
class DateValue:
    iso: str  # ISO date/time, or a relative description such as "days_ago(2)"


@dataclass(frozen=True)
class DurationValue:
    days: float
    text: str


@dataclass(frozen=True)
class DatasetValue:
    uri: str


def is_placeholder(value: Any) -> bool:
    """A value whose text is only a stand-in: unknown, a call not evaluated, an unresolved import."""
    return isinstance(value, Unknown | TaintedStr | CallValue | ModuleRef)


def as_text(value: Any) -> str:
    """Format a value into a string the way Python's str() would, unknowns as placeholders."""
    if isinstance(value, Unknown):
        return value.placeholder()
    if isinstance(value, FileText):
        return value.text
    if isinstance(value, DateValue):
        return value.iso
    if isinstance(value, DatasetValue):
        return value.uri
    if isinstance(value, CallValue):
        return Unknown(value.name.rsplit(".", 1)[-1]).placeholder()
    if isinstance(value, ModuleRef):  # an imported name the scanner could not resolve
        return Unknown(value.last).placeholder()
    return str(value)


def join_text(parts: Sequence[Any]) -> str:
    """Concatenate parts; the result is tainted when any part is unknown or tainted."""
    texts = [as_text(part) for part in parts]
    check_text_size(sum(map(len, texts)))
    text = "".join(texts)
    tainted = any(is_placeholder(p) for p in parts)
    return TaintedStr(text) if tainted else text


# ---------------------------------------------------------------------------------------------
# Pure functions the evaluator may call: qualified name -> implementation(args, kwargs)

PureFunction = Callable[[list[Any], dict[str, Any]], Any]


def _all_str(values: Sequence[Any]) -> bool:
    return all(isinstance(v, str) for v in values)


def _path_join(args: list[Any], _: dict[str, Any]) -> Any:
    if not args or not _all_str(args):
        return Unknown("path")
    return PathStr(os.path.join(*args))


def _path_unary(function: Callable[[str], str]) -> PureFunction:
    def apply(args: list[Any], _: dict[str, Any]) -> Any:
        if len(args) == 1 and isinstance(args[0], str):
            return PathStr(function(args[0]))
        return Unknown("path")

    return apply


def _make_path(args: list[Any], _: dict[str, Any]) -> Any:
    if not args:
        return PathStr(".")
    return _path_join(args, {})


def _datetime(args: list[Any], kwargs: dict[str, Any]) -> Any:
    numbers = [a for a in args if isinstance(a, int)]
    parts = [
        kwargs.get(name, numbers[i] if len(numbers) > i else default)
        for i, (name, default) in enumerate((("year", None), ("month", 1), ("day", 1)))
    ]
    year, month, day = parts
    if not (isinstance(year, int) and isinstance(month, int) and isinstance(day, int)):
        return Unknown("datetime")
    try:
        return DateValue(dt.date(year, month, day).isoformat())
    except ValueError:
        return Unknown("datetime")


def _duration(args: list[Any], kwargs: dict[str, Any]) -> Any:
    units = {"weeks": 7.0, "days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440, "seconds": 1 / 86400}
    try:
        days = float(args[0]) if args else 0.0
        days += sum(float(kwargs[k]) * factor for k, factor in units.items() if k in kwargs)
    except (TypeError, ValueError):
        return Unknown("timedelta")
    text = ", ".join(f"{k}={kwargs[k]}" for k in units if k in kwargs) or (f"days={args[0]}" if args else "0")
    return DurationValue(days, f"timedelta({text})")


def _days_ago(args: list[Any], _: dict[str, Any]) -> Any:
    return DateValue(f"days_ago({args[0] if args else '?'})")


def _relative_now(name: str) -> PureFunction:
    return lambda _args, _kwargs: DateValue(name)


def _dedent(args: list[Any], _: dict[str, Any]) -> Any:
    if args and isinstance(args[0], str):
        return type(args[0])(textwrap.dedent(args[0])) if isinstance(args[0], TaintedStr) else textwrap.dedent(args[0])
    return Unknown("dedent")


def _getenv(args: list[Any], kwargs: dict[str, Any]) -> Any:
    default = args[1] if len(args) > 1 else kwargs.get("default")
    name = args[0] if args else "env"
    return default if default is not None else Unknown(f"env {name}")


def _variable_get(args: list[Any], kwargs: dict[str, Any]) -> Any:
    """`Variable.get(key, default_var)`: the default stands in for the value set in Airflow."""
    name = args[0] if args and isinstance(args[0], str) else "variable"
    default = args[1] if len(args) > 1 else kwargs.get("default_var", kwargs.get("default"))
    known = isinstance(default, str | int | float | bool | list | dict) and not isinstance(default, TaintedStr)
    return default if known else Unknown(f"Variable {name}")


def _param(args: list[Any], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs.get("default")


def _dataset(args: list[Any], kwargs: dict[str, Any]) -> Any:
    uri = args[0] if args else kwargs.get("uri", kwargs.get("name"))
    return DatasetValue(uri) if isinstance(uri, str) else Unknown("dataset")


def _builtin_str(args: list[Any], _: dict[str, Any]) -> Any:
    return join_text([args[0]]) if args else ""  # str(unknown) is still unknown: tainted


def _builtin_len(args: list[Any], _: dict[str, Any]) -> Any:
    return len(args[0]) if args and isinstance(args[0], str | list | tuple | dict) else Unknown("len")


def _builtin_range(args: list[Any], _: dict[str, Any]) -> Any:
    if all(isinstance(a, int) for a in args) and args:
        values = range(*args)
        return list(values) if len(values) <= 10_000 else Unknown("range")
    return Unknown("range")


def _sequence(builder: Callable[[Any], Any], what: str) -> PureFunction:
    def apply(args: list[Any], _: dict[str, Any]) -> Any:
        if not args:
            return builder(())
        if isinstance(args[0], list | tuple | dict | str):
            return builder(args[0])
        return Unknown(what)

    return apply


def _enumerate(args: list[Any], kwargs: dict[str, Any]) -> Any:
    if args and isinstance(args[0], list | tuple | dict | str):
        start = args[1] if len(args) > 1 else kwargs.get("start", 0)
        return list(enumerate(args[0], start if isinstance(start, int) else 0))
    return Unknown("enumerate")


def _zip(args: list[Any], _: dict[str, Any]) -> Any:
    if all(isinstance(a, list | tuple | str) for a in args):
        return list(zip(*args, strict=False))
    return Unknown("zip")


def _dict(args: list[Any], kwargs: dict[str, Any]) -> Any:
    base: dict[Any, Any] = {}
    if args:
        if isinstance(args[0], dict):
            base.update(args[0])
        elif isinstance(args[0], list | tuple) and all(isinstance(p, list | tuple) and len(p) == 2 for p in args[0]):
            base.update({p[0]: p[1] for p in args[0]})
        else:
            return Unknown("dict")
    base.update(kwargs)
    return base


def _sorted(args: list[Any], _: dict[str, Any]) -> Any:
    try:
        return sorted(args[0]) if args and isinstance(args[0], list | tuple | dict | str) else Unknown("sorted")
    except TypeError:
        return Unknown("sorted")


PURE_FUNCTIONS: dict[str, PureFunction] = {
    "os.path.join": _path_join,
    "posixpath.join": _path_join,
    "os.path.dirname": _path_unary(os.path.dirname),
    "os.path.abspath": _path_unary(os.path.normpath),
    "os.path.realpath": _path_unary(os.path.normpath),
    "os.path.normpath": _path_unary(os.path.normpath),
    "os.path.basename": _path_unary(os.path.basename),
    "os.getenv": _getenv,
    "os.environ.get": _getenv,
    "pathlib.Path": _make_path,
    "pathlib.PurePosixPath": _make_path,
    "datetime.datetime": _datetime,
    "datetime.date": _datetime,
    "pendulum.datetime": _datetime,
    "pendulum.date": _datetime,
    "pendulum.DateTime": _datetime,
    "datetime.timedelta": _duration,
    "pendulum.duration": _duration,
    "airflow.utils.dates.days_ago": _days_ago,
    "pendulum.now": _relative_now("now"),
    "pendulum.today": _relative_now("today"),
    "pendulum.yesterday": _relative_now("yesterday"),
    "datetime.datetime.now": _relative_now("now"),
    "datetime.datetime.today": _relative_now("today"),
    "datetime.datetime.utcnow": _relative_now("now"),
    "textwrap.dedent": _dedent,
    "inspect.cleandoc": _dedent,
    "str": _builtin_str,
    "len": _builtin_len,
    "range": _builtin_range,
    "list": _sequence(list, "list"),
    "tuple": _sequence(tuple, "tuple"),
    "set": _sequence(lambda v: sorted(set(v), key=repr), "set"),
    "sorted": _sorted,
    "reversed": _sequence(lambda v: list(reversed(list(v))), "reversed"),
    "enumerate": _enumerate,
    "zip": _zip,
    "dict": _dict,
}

# Airflow names matched by their last component, wherever they are imported from
AIRFLOW_VALUE_FUNCTIONS: dict[str, PureFunction] = {
    "Param": _param,
    "Dataset": _dataset,
    "Asset": _dataset,
    "AssetAlias": _dataset,
    "days_ago": _days_ago,
    "get": _variable_get,  # Variable.get
}


def pure_function(qualname: str) -> PureFunction | None:
    """The implementation for a qualified name, if the evaluator may compute it."""
    function = PURE_FUNCTIONS.get(qualname)
    if function is not None:
        return function
    parts = qualname.split(".")
    if parts[0] == "airflow":
        if parts[-2:] == ["Variable", "get"]:
            return _variable_get
        return AIRFLOW_VALUE_FUNCTIONS.get(parts[-1]) if parts[-1] != "get" else None
    return None


# str methods the evaluator applies to known strings (all pure)
STR_METHODS = frozenset(
    {
        "strip",
        "lstrip",
        "rstrip",
        "upper",
        "lower",
        "replace",
        "format",
        "join",
        "split",
        "title",
        "capitalize",
        "removeprefix",
        "removesuffix",
        "startswith",
        "endswith",
        "splitlines",
        "casefold",
    }
)


def string_method(receiver: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Apply a pure str method, keeping taint; unknown arguments give placeholders."""
    if method not in STR_METHODS:
        return Unknown(f"str.{method}")
    tainted = isinstance(receiver, TaintedStr)
    if method == "format":
        texts = [as_text(a) for a in args]
        named = {k: as_text(v) for k, v in kwargs.items()}
        tainted = tainted or any(is_placeholder(v) for v in [*args, *kwargs.values()])
        fields = format_fields(receiver)
        if fields is None:
            raise BudgetExceeded(f"a format width over {MAX_FORMAT_WIDTH:,}")
        check_text_size(len(receiver) + fields * max(map(len, [*texts, *named.values()]), default=0))
        try:
            result: Any = str(receiver).format(*texts, **named)
        except (IndexError, KeyError, ValueError) as error:
            return Unknown(f"format {error}")
    elif method == "join":
        if not args or not isinstance(args[0], list | tuple):
            return Unknown("join")
        return join_text(_interleave(list(args[0]), receiver))
    else:
        plain = [as_text(a) if isinstance(a, str) or is_placeholder(a) else a for a in args]
        if method == "replace" and len(plain) >= 2 and isinstance(plain[0], str) and isinstance(plain[1], str):
            grows = max(0, len(plain[1]) - len(plain[0]))
            check_text_size(len(receiver) + (len(receiver) + 1) * grows)
        try:
            result = getattr(str(receiver), method)(*plain)
        except (TypeError, ValueError):
            return Unknown(f"str.{method}")
    if isinstance(result, str) and tainted:
        return TaintedStr(result)
    return result


def format_fields(template: str) -> int | None:
    """How many replacement fields a `str.format` template has; None when one asks for a width
    over `MAX_FORMAT_WIDTH` or takes its width from an argument (`{:{}}`)."""
    count = 0
    try:
        for _, name, spec, _ in string.Formatter().parse(template):
            if name is None:
                continue
            count += 1
            if spec and ("{" in spec or any(_too_wide(n) for n in re.findall(r"\d+", spec))):
                return None
    except ValueError:  # a malformed template: str.format reports it
        return count
    return count


def _too_wide(digits: str) -> bool:
    return len(digits) > len(str(MAX_FORMAT_WIDTH)) or int(digits) > MAX_FORMAT_WIDTH


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def percent_fields(template: str) -> int | None:
    """How many `%` conversions a template has; None when one has a width over the limit or `*`."""
    count = 0
    for match in _PERCENT_SPEC.finditer(template):
        for size in match.groups():
            if size == "*" or (size and _too_wide(size)):
                return None
        count += 1
    return count


def _interleave(items: list[Any], separator: str) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(items):
        if index:
            out.append(separator)
        out.append(item)
    return out


def percent_format(template: str, values: Any) -> Any:
    """`"... %s ..." % value` with unknowns as placeholders."""
    items = values if isinstance(values, tuple) else (values,)
    tainted = isinstance(template, TaintedStr) or any(is_placeholder(v) for v in items)
    fields = percent_fields(template)
    if fields is None:
        raise BudgetExceeded(f"a format width over {MAX_FORMAT_WIDTH:,}")
    texts = [as_text(v) for v in (values.values() if isinstance(values, dict) else items)]
    check_text_size(len(template) + fields * max(map(len, texts), default=0))
    try:
        if isinstance(values, dict):
            result = str(template) % {k: as_text(v) for k, v in values.items()}
        else:
            result = str(template) % tuple(as_text(v) if is_placeholder(v) else v for v in items)
    except (TypeError, ValueError, KeyError):
        return Unknown("% format")
    return TaintedStr(result) if tainted else result
