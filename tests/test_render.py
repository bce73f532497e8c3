"""Tests for `analyzer.render`, driven by the YAML cases in `tests/data/render/cases.yml`.

The file's header describes a case. The tests below the YAML runner cover what data cannot
express: symlinks, an exhaustive sweep of sandbox escapes, determinism and the never-raises
contract.
"""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import render as render_module
from analyzer.models import RenderedSql, SqlOrigin, SqlSource
from analyzer.render import LOGICAL_DATE, render_sql

DATA = Path(__file__).parent / "data" / "render"
FILE = "dags/example.py"
CASES: list[dict[str, Any]] = yaml.safe_load((DATA / "cases.yml").read_text(encoding="utf-8"))

# Reprs that would show a template reached a Python object.
PYTHON_OBJECT_REPRS = ("<class", "<module", "<function", "<built-in", "<bound method", "<frame", " at 0x")


def source_of(template: str, line: int = 1, file: str = FILE) -> SqlSource:
    return SqlSource(origin=SqlOrigin.INLINE, text=template, file=file, line=line)


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def run_case(case: dict[str, Any], root: Path) -> RenderedSql:
    write_files(root, case.get("files", {}))
    logical_date = datetime.fromisoformat(case["logical_date"]) if "logical_date" in case else LOGICAL_DATE
    return render_sql(
        source_of(case["template"], case.get("line", 1)),
        root=root,
        search_path=case.get("search_path", ()),
        params=case.get("params"),
        user_defined_macros=case.get("user_defined_macros"),
        logical_date=logical_date,
        extra_context=case.get("extra_context"),
    )


def test_cases_are_many_and_named_uniquely() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) >= 30
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    rendered = run_case(case, tmp_path)
    expect = case["expect"]

    if "text" in expect:
        assert isinstance(expect["text"], str), "quote the expected text: YAML typed it"
        assert rendered.text == expect["text"]
    assert list(rendered.time_variables) == expect.get("time_variables", [])
    assert list(rendered.lookback_days) == expect.get("lookback_days", [])
    assert list(rendered.params_used) == expect.get("params_used", [])
    for text, origin in expect.get("markers", {}).items():
        assert rendered.markers.get(text) == origin, f"marker for {text!r}"
    found = [{"code": finding.code, "line": finding.line} for finding in rendered.findings]
    assert found == expect.get("findings", [])
    assert all(finding.file == FILE for finding in rendered.findings)


def test_plain_text_takes_the_fast_path(tmp_path: Path) -> None:
    text = "SELECT '{ not a template }' FROM t -- 100% plain\n"
    assert render_sql(source_of(text), root=tmp_path) == RenderedSql(text=text)


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    template = "{{ macros.uuid.uuid4() }} {{ macros.random() }} {{ macros.datetime.utcnow() }} {{ ts }} {{ macros }}"
    first = render_sql(source_of(template), root=tmp_path)
    assert first == render_sql(source_of(template), root=tmp_path)
    assert first.text.split() == [
        "00000000-0000-4000-8000-000000000000",
        "0.5",
        "2024-01-16T00:00:00+00:00",
        "2024-01-15T00:00:00+00:00",
        "__macros__",
    ]


def test_what_a_render_changes_in_the_context_does_not_reach_the_next(tmp_path: Path) -> None:
    """The context's unchangeable values are shared between renders; its lists and mappings,
    which the sandbox lets a template change, are not."""
    changing = (
        "{% do outlets.append('x') %}{% do inlets.append('y') %}{% do dag_run.conf.update({'k': 'v'}) %}"
        "{% do outlet_events.update({'e': 1}) %}{% do triggering_asset_events.update({'a': 1}) %}"
    )
    reading = (
        "{{ outlets | length }} {{ inlets | length }} {{ dag_run.conf | length }} "
        "{{ outlet_events | length }} {{ triggering_asset_events | length }}"
    )
    before = render_sql(source_of(reading), root=tmp_path)
    changed = render_sql(source_of(changing + reading), root=tmp_path)
    assert (before.text, changed.text) == ("0 0 0 0 0", "1 1 1 1 1")
    assert render_sql(source_of(reading), root=tmp_path) == before


def test_the_same_instant_in_another_zone_renders_its_own_texts(tmp_path: Path) -> None:
    template = "{{ ts }} {{ run_id }} {{ dag_run.logical_date }}"
    in_utc = render_sql(source_of(template), root=tmp_path, logical_date=datetime(2024, 1, 15, tzinfo=UTC))
    shifted = datetime(2024, 1, 15, 1, tzinfo=timezone(timedelta(hours=1)))
    in_plus_one = render_sql(source_of(template), root=tmp_path, logical_date=shifted)
    assert in_utc.text.split()[0] == "2024-01-15T00:00:00+00:00"
    assert in_plus_one.text.split()[0] == "2024-01-15T01:00:00+01:00"
    assert in_plus_one.text.split()[1] == "scheduled__2024-01-15T01:00:00+01:00"


def test_naive_logical_date_is_taken_as_utc(tmp_path: Path) -> None:
    rendered = render_sql(source_of("{{ ts }}"), root=tmp_path, logical_date=datetime(2024, 2, 29))
    assert rendered.text == "2024-02-29T00:00:00+00:00"


def test_default_run_date_is_fixed() -> None:
    assert datetime(2024, 1, 15, tzinfo=UTC) == LOGICAL_DATE


def test_undefined_messages_name_what_is_missing(tmp_path: Path) -> None:
    template = "{{ my_macro }} {{ params.table }} {{ macros.nope }}"
    messages = [finding.message for finding in render_sql(source_of(template), root=tmp_path).findings]
    assert messages == [
        "template uses `macros.nope`, which kappa's stand-in for `macros` does not provide",
        "template uses `my_macro`, which Airflow's context does not define",
        "template uses `params.table`, which the DAG's params do not define",
    ]


def test_include_through_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    write_files(outside, {"secret.sql": "SELECT 'secret'"})
    write_files(root, {"dags/ok.sql": "SELECT 1"})
    (root / "dags" / "link.sql").symlink_to(outside / "secret.sql")
    (root / "dags" / "linked_dir").symlink_to(outside, target_is_directory=True)

    for template in ("{% include 'link.sql' %}", "{% include 'linked_dir/secret.sql' %}"):
        rendered = render_sql(source_of(template), root=root)
        assert rendered.text == ""
        assert [finding.code for finding in rendered.findings] == ["E007"]
        assert str(outside) not in rendered.findings[0].message


def test_include_symlink_loop_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "loop.sql").symlink_to("loop.sql")
    rendered = render_sql(source_of("{% include 'loop.sql' %}"), root=tmp_path)
    assert [finding.code for finding in rendered.findings] == ["E006"]


def test_search_path_outside_the_root_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write_files(tmp_path, {"outside/x.sql": "SELECT 'secret'"})
    search_path = [str(tmp_path / "outside"), "../outside"]
    rendered = render_sql(source_of("{% include 'x.sql' %}"), root=root, search_path=search_path)
    assert rendered.text == ""
    assert [finding.code for finding in rendered.findings] == ["E012"]


def test_include_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "latin1.sql").write_bytes("SELECT 'café'".encode("latin-1"))
    rendered = render_sql(source_of("{% include 'latin1.sql' %}"), root=tmp_path)
    assert [finding.code for finding in rendered.findings] == ["E002"]


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ ds.__class__ }}",
    "{{ ds.format.__globals__ }}",
    "{{ data_interval_start.__class__.__base__ }}",
    "{{ range.__self__ }}",
    "{{ macros.ds_add.__globals__ }}",
    "{{ macros._members }}",
    "{{ dag_run.conf.__class__ }}",
    "{{ params._values }}",
    "{{ var.value._path }}",
    "{{ ti.xcom_pull.__code__ }}",
    "{{ undefined_name.__class__ }}",
    "{{ lipsum['__globals__'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ '{0.__class__}'.format(ds) }}",
    "{{ '%s'.__mod__(ds) }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ dict.__base__ }}",
    "{% set x = self._TemplateReference__context %}{{ x }}",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_sandbox_escapes_are_blocked(template: str, tmp_path: Path) -> None:
    rendered = render_sql(source_of(template), root=tmp_path)
    assert rendered.text == ""
    assert "E014" in [finding.code for finding in rendered.findings]


PRINTED_OBJECTS = [
    "{{ macros }}",
    "{{ macros.json }}",
    "{{ macros.ds_add }}",
    "{{ macros.datetime }}",
    "{{ range }}",
    "{{ dict }}",
    "{{ self }}",
    "{{ dag_run }}",
    "{{ conn.pg }}",
    "{{ params }}",
    "{{ var.value }}",
    "{{ ds.upper }}",
    "{% macro m() %}{% endmacro %}{{ m }}",
    "{{ cycler }} {{ lipsum }} {{ joiner }} {{ namespace }}",
]


@pytest.mark.parametrize("template", PRINTED_OBJECTS)
def test_printed_objects_are_placeholders_not_reprs(template: str, tmp_path: Path) -> None:
    rendered = render_sql(source_of(template), root=tmp_path)
    assert rendered.text
    assert not any(marker in rendered.text for marker in PYTHON_OBJECT_REPRS), rendered.text
    assert "E014" not in [finding.code for finding in rendered.findings]


def test_removed_globals_are_undefined(tmp_path: Path) -> None:
    rendered = render_sql(source_of("{{ cycler }}"), root=tmp_path)
    assert rendered.text == "__undefined_cycler__"
    assert [finding.code for finding in rendered.findings] == ["E013"]


def test_render_never_raises(tmp_path: Path) -> None:
    def broken_macro() -> str:
        raise RuntimeError("boom")

    rendered = render_sql(
        source_of("SELECT 1\n{{ broken() }}"), root=tmp_path, user_defined_macros={"broken": broken_macro}
    )
    assert rendered.text == ""
    assert [(finding.code, finding.line) for finding in rendered.findings] == [("E012", 2)]
    assert "RuntimeError: boom" in rendered.findings[0].message


TEMPLATE_PIECES = st.sampled_from(
    [
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        " ds ",
        "macros.ds_add(ds, -1)",
        "if",
        "for x in",
        "endfor",
        "endif",
        "include 'x.sql'",
        "|",
        " ds ",
        "(",
        ")",
        "[",
        "]",
        "'",
        "__class__",
        ".",
        "-",
        "*",
        "nope",
        "\n",
        "SELECT ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEMPLATE_PIECES, max_size=12).map("".join))
def test_render_never_raises_on_any_text(template: str) -> None:
    rendered = render_sql(source_of(template, line=3), root=Path("/nonexistent-root"))
    assert all(finding.code in {"E006", "E007", "E012", "E013", "E014"} for finding in rendered.findings)
    assert all(finding.line >= 3 for finding in rendered.findings)


def test_missing_root_is_not_an_exception(tmp_path: Path) -> None:
    rendered = render_sql(source_of("{% include 'x.sql' %}"), root=tmp_path / "does-not-exist")
    assert [finding.code for finding in rendered.findings] == ["E012"]


def test_markers_are_sorted_and_first_expression_wins(tmp_path: Path) -> None:
    rendered = render_sql(source_of("{{ next_ds }} {{ ds }} {{ logical_date | ds }}"), root=tmp_path)
    assert list(rendered.markers.items()) == [("2024-01-15", "ds"), ("2024-01-16", "next_ds")]


def test_findings_use_the_source_file(tmp_path: Path) -> None:
    rendered = render_sql(source_of("{{ nope }}", file="dags/sql/daily.sql", line=3), root=tmp_path)
    assert [finding.format() for finding in rendered.findings] == [
        "dags/sql/daily.sql:3:1 E013 template uses `nope`, which Airflow's context does not define"
    ]


def test_docstring_examples() -> None:
    failures, _ = doctest.testmod(render_module)
    assert failures == 0


# ------------------------------------------------------------- templates that only print values


def whole_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `render_sql` compile every template whole, as Jinja does, never block by block."""
    monkeypatch.setattr(render_module, "_printed_only", lambda text: None)


def render_both(template: str, root: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> tuple[Any, Any]:
    by_block = render_sql(source_of(template, line=3), root=root, **options)
    with monkeypatch.context() as patch:
        whole_template(patch)
        whole = render_sql(source_of(template, line=3), root=root, **options)
    return by_block, whole


@pytest.mark.parametrize(
    ("template", "pieces"),
    [
        ("a {{ ds }} b", ["a ", "{{ ds }}", " b"]),
        ("{{ ds }}{{ macros.ds_add(ds, -3) }}\n", ["", "{{ ds }}", "", "{{ macros.ds_add(ds, -3) }}", "\n"]),
        ("x }} {{ '}' }}", None),  # a brace in the expression: Jinja decides where it ends
        ("{{- ds }}", None),
        ("{{ ds -}}", None),
        ("{{ ds }} {% if x %}{% endif %}", None),
        ("{# note #}{{ ds }}", None),
        ("{{ ds\n}}", None),
        ("{{ ds }}\r\n", None),
        ("{{ ds", None),
    ],
)
def test_templates_that_only_print_are_split_into_blocks(template: str, pieces: list[str] | None) -> None:
    assert render_module._printed_only(template) == pieces


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_block_by_block_renders_as_the_whole_template(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_block = run_case(case, tmp_path)
    whole_template(monkeypatch)
    assert by_block == run_case(case, tmp_path)


PRINT_PIECES = st.sampled_from(
    [
        "{{ ds }}",
        "{{ params.table }}",
        "{{ macros.ds_add(ds, -7) }}",
        "{{ macros.ds_format(ds, '%Y-%m-%d', '%Y%m%d') }}",
        "{{ nope }}",
        "{{ nope.deeper }}",
        "{{ ds | upper }}",
        "{{ ds + 1 }}",
        "{{ broken() }}",
        "{{ 'x' * 3 }}",
        "{{ self }}",
        "{{ ds ~ ts }}",
        "{{ var.value.x }}",
        "{{ ) }}",
        "{{ }}",
        "{{- ds }}",
        "{% if true %}",
        "{% endif %}",
        "{# c #}",
        "{{",
        "}}",
        "\n",
        "\r\n",
        "SELECT * FROM t WHERE dt = '",
        "' AND x = 1 ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PRINT_PIECES, max_size=10).map("".join))
def test_block_by_block_renders_as_the_whole_template_on_any_text(template: str) -> None:
    def broken() -> str:
        raise RuntimeError("boom")

    options: dict[str, Any] = {"params": {"table": "t"}, "user_defined_macros": {"broken": broken}}
    with pytest.MonkeyPatch.context() as monkeypatch:
        by_block, whole = render_both(template, Path("/nonexistent-root"), monkeypatch, **options)
    assert by_block == whole
