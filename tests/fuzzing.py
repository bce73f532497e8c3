"""Hypothesis strategies and the harness the fuzz tests and `benchmarks/fuzz.py` share.

Inputs are the sample repository's own DAG, SQL and template files, mutated (spans deleted,
duplicated, nested, tokens and odd characters inserted), and DAG files built from scratch with
odd ids, arguments and values and top-level code that has hurt static evaluators. Each input
goes through the whole scan (`analyzer.pipeline.scan`), then `generate` (`run_example`). The
properties: nothing raises, each example finishes within the per-file budget (plus slack),
every problem is a located finding with a known code, every generated path is unique and
inside the output folder, and no DAG code runs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hypothesis import strategies as st

from analyzer.contract import dumps as contract_dumps
from analyzer.errors import OUTPUT_FINDINGS, SCAN_ERRORS
from analyzer.models import Analysis, Finding
from analyzer.pipeline import FILE_BUDGET_SECONDS, scan
from analyzer.rules import RULES_BY_CODE
from generators.config import GenerateConfig
from generators.generation import generate_analysis
from generators.output import resolve_inside

PROJECT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT / "samples"
KNOWN_CODES = frozenset({*SCAN_ERRORS, *OUTPUT_FINDINGS, *RULES_BY_CODE})
#: Folders copied beside every fuzzed DAG so its `template_searchpath` and `.sql` names resolve.
SUPPORT_FOLDERS = ("dags/sql", "include")


def _seed_texts(pattern: str, *folders: str) -> tuple[tuple[str, str], ...]:
    found = []
    for folder in folders:
        for path in sorted((SAMPLES / folder).rglob(pattern)):
            found.append((path.relative_to(SAMPLES).as_posix(), path.read_text(encoding="utf-8", errors="replace")))
    return tuple(found)


DAG_SEEDS = _seed_texts("*.py", "dags", "edge_cases", "plugins")
SQL_SEEDS = _seed_texts("*.sql", "dags/sql", "include")

# Pieces that make mutations interesting: Python, SQL and Jinja syntax, and odd characters.
TOKENS = (
    "(", ")", "[", "]", "{", "}", ",", ":", "'", '"', '"""', "\\", "\n", "\t", " ", ";", "#",
    "{{", "}}", "{%", "%}", "{#", "#}", " ds ", "macros.ds_add(ds, -3)", "params.x", "{{ ds }}",
    "{% for i in range(3) %}", "{% endfor %}", "{% if x %}", "{% endif %}", "{% include 'x.sql' %}",
    "''.__class__.__mro__", "cycler.__init__.__globals__", "self.__init__", "|attr('__class__')",
    "SELECT ", " FROM ", " WHERE ", "INSERT OVERWRITE TABLE t ", "MERGE INTO t USING s ON ", "--",
    "/*", "*/", "UNION ALL ", "GROUP BY 1", "OVER (PARTITION BY k)", "QUALIFY ", "LATERAL VIEW ",
    "task_id=", "dag_id=", "sql=", ">>", "<<", "with DAG(", "def ", "lambda: ", "yield ", "await ",
    "@task", "@dag", "import os", "from airflow import DAG", "*", "**", "% ", ".format(", "f'",
    "../", "/etc/passwd", "CON", "\x00", "\ufeff", "\u202e", "é", "💥", "\udcff", "\r", "\x0b",
    "9" * 40, "1e308", "-0", "None", "True", "...", "global x", "nonlocal", "while True:", "x = x + x",
)  # fmt: skip

# odd values for ids and arguments
ODD_IDS = (
    "../../etc/passwd", "/abs/path", "a\x00b", "CON", "nul", "aux.sql", "COM1", "LPT9", ".", "..", "",
    " ", "a/b", "a\\b", "ü" * 90, "日本語" * 60, "x" * 300, "UPPER", "upper", "a" * 100 + "b", "a" * 100 + "c",
    "job.sql", "-rf", "~", "$HOME", "%2e%2e", "\u202egpj.exe", "tab\tname", "new\nline", "😀",
)  # fmt: skip

OPERATORS = (
    "PostgresOperator", "SQLExecuteQueryOperator", "BigQueryInsertJobOperator", "SnowflakeOperator",
    "SparkSqlOperator", "HiveOperator", "TrinoOperator", "BashOperator", "PythonOperator", "DatabricksSqlOperator",
)  # fmt: skip
IMPORTS = """from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator
from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator
from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.providers.apache.hive.operators.hive import HiveOperator
from airflow.providers.trino.operators.trino import TrinoOperator
from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
"""


NESTINGS = (
    ("(", ")"),
    ("[", "]"),
    ("{% if x %}", "{% endif %}"),
    ("{{ (", ") }}"),
    ("{% for i in range(2) %}", "{% endfor %}"),
)


@st.composite
def mutated(draw: st.DrawFn, text: str, max_mutations: int = 6) -> str:
    """`text` after a few random edits: deletions, duplications, insertions, nesting, truncation."""
    for _ in range(draw(st.integers(1, max_mutations))):
        size = len(text)
        start = draw(st.integers(0, size))
        end = draw(st.integers(start, min(size, start + 400)))
        kind = draw(st.sampled_from(("delete", "duplicate", "insert", "char", "nest", "truncate", "swap")))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "duplicate":
            text = text[:end] + text[start:end] * draw(st.integers(1, 4)) + text[end:]
        elif kind == "insert":
            text = text[:start] + draw(st.sampled_from(TOKENS)) + text[start:]
        elif kind == "char":
            text = text[:start] + draw(st.characters()) + text[start + 1 :]
        elif kind == "nest":
            opening, closing = draw(st.sampled_from(NESTINGS))
            depth = draw(st.integers(1, 60))
            text = text[:start] + opening * depth + text[start:end] + closing * depth + text[end:]
        elif kind == "truncate":
            text = text[:start]
        else:
            lines = text.split("\n")
            if len(lines) > 1:
                i = draw(st.integers(0, len(lines) - 1))
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                text = "\n".join(lines)
    return text


def _literal(value: str) -> str:
    return repr(value)


SQL_SNIPPETS = st.one_of(
    st.sampled_from([text for _, text in SQL_SEEDS]).flatmap(lambda text: mutated(text, 3)),
    st.lists(st.sampled_from(TOKENS), max_size=20).map("".join),
    st.text(max_size=200),
)
SCALARS = st.one_of(
    st.just("None"),
    st.booleans().map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=False).map(lambda number: f"float({str(number)!r})"),
    st.sampled_from(ODD_IDS).map(_literal),
    SQL_SNIPPETS.map(_literal),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.sampled_from(ODD_IDS).map(_literal), inner), max_size=3).map(
            lambda pairs: "{" + ", ".join(f"{key}: {value}" for key, value in pairs) + "}"
        ),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) + ({pair[1]})"),
        st.tuples(inner, st.integers(0, 2000)).map(lambda pair: f"({pair[0]}) * {pair[1]}"),
        st.tuples(inner, inner).map(lambda pair: f"'{{}} {{}}'.format({pair[0]}, {pair[1]})"),
        st.tuples(inner, inner).map(lambda pair: f"'%s-%s' % ({pair[0]}, {pair[1]})"),
    ),
    max_leaves=8,
)
ARGUMENTS = (
    "sql", "bash_command", "params", "parameters", "conn_id", "postgres_conn_id", "configuration",
    "template_searchpath", "python_callable", "op_kwargs", "doc_md", "password", "retries", "pool", "outlets",
)  # fmt: skip
DAG_ARGUMENTS = ("schedule", "catchup", "params", "default_args", "template_searchpath", "doc_md", "start_date")
# top-level code that has hurt static evaluators: growth in loops, recursion, reads outside the root
PRELUDES = (
    "s = 'ab'\nfor _ in range(64):\n    s = s + s\n",
    "n = 7\nfor _ in range(64):\n    n = n * n\n",
    "items = [1]\nfor _ in range(64):\n    items.extend(items)\n",
    "def f(x):\n    return f(x + 1)\nvalue = f(0)\n",
    "while True:\n    pass\n",
    "wide = '{:>999999999}'.format('x')\n",
    "wide = '%999999999d' % 1\n",
    "text = open('/etc/passwd').read()\n",
    "text = open('../../../../../etc/hostname').read()\n",
    "from pathlib import Path\ntext = Path('/proc/self/environ').read_text()\n",
    "import os\nos.system('touch /tmp/kappa-fuzz-pwned')\n",
    "from . import nothing\nfrom ....... import deeper\n",
    "x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
)


@st.composite
def random_dag(draw: st.DrawFn) -> str:
    """A DAG file built from scratch: odd ids, random operators and argument values, risky code."""
    lines = [IMPORTS, *draw(st.lists(st.sampled_from(PRELUDES), max_size=2))]
    dag_id = draw(st.one_of(st.sampled_from(ODD_IDS), st.text(max_size=30)))
    dag_args = draw(st.dictionaries(st.sampled_from(DAG_ARGUMENTS), VALUES, max_size=3))
    extra = "".join(f", {name}={value}" for name, value in dag_args.items())
    lines.append(f"with DAG({dag_id!r}{extra}) as dag:")
    count = draw(st.integers(1, 5))
    for index in range(count):
        operator = draw(st.sampled_from(OPERATORS))
        task_id = draw(st.one_of(st.sampled_from(ODD_IDS), st.text(max_size=20)))
        arguments = draw(st.dictionaries(st.sampled_from(ARGUMENTS), VALUES, max_size=3))
        if operator not in {"BashOperator", "PythonOperator"} and draw(st.booleans()):
            arguments["sql"] = _literal(draw(SQL_SNIPPETS))
        rendered = "".join(f", {name}={value}" for name, value in arguments.items())
        lines.append(f"    t{index} = {operator}(task_id={task_id!r}{rendered})")
    if count > 1:
        lines.append("    " + " >> ".join(draw(st.permutations([f"t{i}" for i in range(count)]))))
    return "\n".join(lines) + "\n"


#: What one example may take at most: the scanner's per-file budget, plus room for the rest of
#: the scan and for `generate` on a loaded machine.
EXAMPLE_SECONDS = FILE_BUDGET_SECONDS + 30
#: Files the payloads in `PRELUDES` would create if the scanner ever ran DAG code.
MARKERS = (Path("/tmp/kappa-fuzz-pwned"),)


@dataclass(frozen=True)
class Outcome:
    analysis: Analysis
    seconds: float  # the scan and generate together
    generated: int  # job files generate would write


def make_repo(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """A scratch repository: the sample SQL folders, plus `files` (relative path -> content)."""
    for folder in SUPPORT_FOLDERS:
        shutil.copytree(SAMPLES / folder, root / folder, dirs_exist_ok=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return root


def assert_well_formed(analysis: Analysis) -> None:
    """Every finding has a known code and a location inside the scanned root."""
    findings: list[Finding] = [*analysis.findings, *(f for job in analysis.jobs for f in job.findings)]
    for finding in findings:
        assert finding.code in KNOWN_CODES and finding.code != "E009", finding  # E009: kappa crashed
        assert finding.line >= 1 and finding.col >= 1, finding
        path = PurePosixPath(finding.file)
        assert not path.is_absolute() and ".." not in path.parts, finding


def assert_safe_outputs(analysis: Analysis, out: Path) -> int:
    """`generate` gives every job an outcome, and every file it would write a unique path inside `out`."""
    generation = generate_analysis(analysis, GenerateConfig())
    analysis, results = generation.analysis, generation.results
    assert [r.job_id for r in results] == [job.id for job in analysis.jobs]
    paths = [r.path for r in results if r.path]
    assert len({p.casefold() for p in paths}) == len(paths), paths
    for path in paths:
        assert out in resolve_inside(out, path).parents, path
    document = contract_dumps(analysis)  # analysis.json can be written, and names no absolute path
    assert analysis.root not in document, "analysis.json holds the scanned root's absolute path"
    return len(paths)


def run_example(files: Mapping[str, str | bytes]) -> Outcome:
    """Scan a scratch repository holding `files`, generate from it, and check every property."""
    with tempfile.TemporaryDirectory(prefix="kappa-fuzz-") as folder:
        root = make_repo(Path(folder) / "repo", files)
        started = time.monotonic()
        analysis = scan(root)
        assert_well_formed(analysis)
        generated = assert_safe_outputs(analysis, Path(folder) / "out")
        seconds = time.monotonic() - started
    assert seconds < EXAMPLE_SECONDS, f"the example took {seconds:.1f} s"
    assert not [marker for marker in MARKERS if marker.exists()], "DAG code ran"
    return Outcome(analysis, seconds, generated)


def sql_file_dag(name: str, operator: str) -> str:
    """A DAG whose one task reads `name` through template_searchpath."""
    return IMPORTS + (
        f"with DAG('fuzz_sql', template_searchpath=['include/sql', 'dags/sql']) as dag:\n"
        f"    {operator}(task_id='t', conn_id='shop_pg', sql={name!r})\n"
    )


#: One example of each kind, as the files of a repository.
MUTATED_DAGS = st.sampled_from(DAG_SEEDS).flatmap(lambda seed: mutated(seed[1]).map(lambda text: {seed[0]: text}))
RANDOM_DAGS = random_dag().map(lambda text: {"dags/random_dag.py": text})
MUTATED_SQL = st.tuples(st.sampled_from(SQL_SEEDS), st.sampled_from(OPERATORS[:7])).flatmap(
    lambda pair: mutated(pair[0][1]).map(
        lambda text: {
            "dags/fuzz_sql_dag.py": sql_file_dag("fuzzed.sql", pair[1]),
            "dags/sql/fuzzed.sql": text,
        }
    )
)


@st.composite
def mutated_bytes(draw: st.DrawFn) -> dict[str, str | bytes]:
    """A sample DAG file with raw bytes spliced in: invalid UTF-8, NUL, BOMs, truncated sequences."""
    name, text = draw(st.sampled_from(DAG_SEEDS))
    data = text.encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        piece = draw(
            st.one_of(st.binary(max_size=16), st.sampled_from((b"\xef\xbb\xbf", b"\xe9", b"\xf0\x9f", b"\x00")))
        )
        data = data[:at] + piece + data[at + draw(st.integers(0, 8)) :]
    return {name: data}


MUTATED_BYTES = mutated_bytes()
KINDS = {
    "mutated-dag": MUTATED_DAGS,
    "random-dag": RANDOM_DAGS,
    "mutated-sql": MUTATED_SQL,
    "mutated-bytes": MUTATED_BYTES,
}
