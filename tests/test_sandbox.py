"""Server-side template injection: payloads that write a file or set a process-wide value when a
plain Jinja environment renders them (shown first, so each payload is known to be live) are
blocked by the scanner's sandbox (E014, or undefined) and reach no Python object: the file is not
written, the value not set, in a `.sql` file or in inline SQL."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from analyzer.models import SqlOrigin, SqlSource
from analyzer.pipeline import scan
from analyzer.render import render_sql

from .conftest import write_tree

MARKER_ENV = "KAPPA_SANDBOX_PWNED"


def payloads(marker: Path) -> dict[str, str]:
    """name -> a template that, run by a plain Jinja, writes `marker` or sets os.environ."""
    return {
        "cycler-open": f"{{{{ cycler.__init__.__globals__.__builtins__.open('{marker}', 'w').write('x') }}}}",
        "lipsum-os-popen": f"{{{{ lipsum.__globals__['os'].popen('touch {marker}').read() }}}}",
        "joiner-environ": f"{{{{ joiner.__init__.__globals__.os.environ.__setitem__('{MARKER_ENV}', '1') }}}}",
        "self-builtins": (
            f"{{{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch {marker}') }}}}"
        ),
        "namespace-environ": f"{{{{ namespace.__init__.__globals__.os.putenv('{MARKER_ENV}', '1') or "
        f"namespace.__init__.__globals__.os.environ.update({{'{MARKER_ENV}': '1'}}) }}}}",
        "subclasses-warnings": (
            "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}"
            f"{{{{ c()._module.__builtins__['open']('{marker}', 'w').write('x') }}}}"
            "{% endif %}{% endfor %}"
        ),
        "attr-filter": (
            "{{ (cycler|attr('__init__')|attr('__globals__'))['__builtins__']['open']"
            f"('{marker}', 'w').write('x') }}}}"
        ),
        "format-string": f"{{{{ '{{0.__init__.__globals__[os].system}}'.format(cycler)('touch {marker}') }}}}",
    }


def _cleared(marker: Path) -> None:
    marker.unlink(missing_ok=True)
    os.environ.pop(MARKER_ENV, None)


def _ran(marker: Path) -> bool:
    return marker.exists() or os.environ.get(MARKER_ENV) == "1"


NAMES = sorted(payloads(Path("/x")))
LIVE_IN_PLAIN_JINJA = [name for name in NAMES if name != "format-string"]  # str.format cannot call


@pytest.mark.parametrize("name", LIVE_IN_PLAIN_JINJA)
def test_the_payload_is_live_in_a_plain_jinja(name: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _cleared(marker)
    try:
        jinja2.Environment().from_string(payloads(marker)[name]).render()
        assert _ran(marker), "the payload did nothing even unsandboxed: it proves nothing"
    finally:
        _cleared(marker)


@pytest.mark.parametrize("name", NAMES)
def test_the_sandbox_blocks_it_inline(name: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _cleared(marker)
    template = f"SELECT 1 AS x -- {payloads(marker)[name]}"
    rendered = render_sql(SqlSource(SqlOrigin.INLINE, template, "dags/d.py", 5), root=tmp_path)
    codes = {finding.code for finding in rendered.findings}
    assert codes & {"E014", "E013"}, rendered.findings
    assert not _ran(marker)
    assert rendered.text == ""  # nothing half-rendered goes on to the parser


def test_no_payload_runs_through_the_whole_scan(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _cleared(marker)
    files = {f"dags/sql/{name}.sql": f"SELECT 1 AS x -- {text}\n" for name, text in payloads(marker).items()}
    tasks = "\n".join(
        f"    PostgresOperator(task_id={name!r}, postgres_conn_id='pg', sql='sql/{name}.sql')" for name in NAMES
    )
    inline = "\n".join(
        f"    PostgresOperator(task_id='inline_{name}', postgres_conn_id='pg', sql={text!r})"
        for name, text in payloads(marker).items()
    )
    files["dags/ssti.py"] = (
        "from airflow import DAG\nfrom airflow.providers.postgres.operators.postgres import PostgresOperator\n"
        f"with DAG('ssti', schedule=None) as dag:\n{tasks}\n{inline}\n"
    )
    analysis = scan(write_tree(tmp_path / "repo", files))
    assert not _ran(marker)
    for job in analysis.jobs:
        assert job.sql_status.value == "unparsed", job.id
        assert {f.code for f in job.findings} & {"E014", "E013"}, job.id
