#!/usr/bin/env bash
# A real Airflow 3 for tests/test_airflow_live.py: apache-airflow, pinned, in its own virtual
# environment under build/airflow-venv (git-ignored), never in the project's environment (its
# dependency pins would fight the project's). The test starts it standalone on 127.0.0.1 with the
# sample DAGs and a throw-away SQLite database, and stops it after.
# Idempotent: skipped when the venv already has the pinned version.
set -euo pipefail

version=3.3.2  # the server the installed apache-airflow-client (3.3.x) speaks to
# the provider of the PostgresHook one sample DAG imports; the warehouse providers are stood in for by
# tests/data/airflow_stand_ins, and the DAGs that import anything else fail to import in Airflow,
# which the scan reports (import errors are evidence, not a test failure)
providers=(apache-airflow-providers-postgres==7.1.1)
pin="$version ${providers[*]}"
venv=build/airflow-venv

if [ -x "$venv/bin/airflow" ] && [ "$(cat "$venv/VERSION" 2>/dev/null)" = "$pin" ]; then
    echo "airflow: present ($pin in $venv)"
    exit 0
fi

rm -rf "$venv"
python -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "apache-airflow==$version" "${providers[@]}"
"$venv/bin/airflow" version >/dev/null
echo "$pin" >"$venv/VERSION"
echo "airflow: installed apache-airflow $pin into $venv"
