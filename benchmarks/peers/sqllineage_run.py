"""Table lineage of statements with sqllineage (run inside the sqllineage virtual environment).

    benchmarks/.venvs/sqllineage/bin/python benchmarks/peers/sqllineage_run.py statements.json

`statements.json` holds `[sql, sqlglot dialect]` pairs; each dialect is mapped to sqllineage's
(sqlfluff's) name for it. Prints one `KAPPA_PROBE {...}` JSON line.
"""

from __future__ import annotations

import json
import sys
import time

# sqlglot dialect -> sqlfluff dialect, which sqllineage parses with
DIALECTS = {
    "spark": "sparksql",
    "databricks": "databricks",
    "hive": "hive",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "postgres": "postgres",
    "trino": "trino",
    "redshift": "redshift",
}


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as listing:
        items = json.load(listing)
    started = time.perf_counter()
    from sqllineage.runner import LineageRunner  # noqa: PLC0415 - timed on its own

    imported = time.perf_counter()
    failed = tables = 0
    for sql, dialect in items:
        try:
            runner = LineageRunner(sql, dialect=DIALECTS.get(dialect, "ansi"), silent_mode=True)
            tables += len(runner.source_tables) + len(runner.target_tables)
        except Exception:  # sqllineage refuses what sqlfluff cannot parse; the time spent counts
            failed += 1
    result = {
        "import_seconds": imported - started,
        "seconds": time.perf_counter() - imported,
        "statements": len(items),
        "failed": failed,
        "tables": tables,
    }
    print("KAPPA_PROBE " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
