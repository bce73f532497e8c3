#!/usr/bin/env bash
# sqlglot's compiled build (sqlglot + sqlglotc) for tests/test_compiled_sqlglot.py, in its own
# folder, build/sqlglotc (git-ignored), that the test puts first on PYTHONPATH: the project's
# environment keeps the pure-Python sqlglot, and the test runs kappa on both builds.
# The sqlglot version of the project's environment when it has one, else the newest the project
# accepts. Idempotent: skipped when the folder holds that version.
set -euo pipefail

folder=build/sqlglotc
accepted=$(python -c 'import tomllib; print(next(d for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"] if d.startswith("sqlglot")))')
installed=$(python -c 'import importlib.metadata as m; print(m.version("sqlglot"))' 2>/dev/null || true)

if [ -n "$installed" ] && [ "$(cat "$folder/VERSION" 2>/dev/null)" = "$installed" ]; then
    echo "sqlglotc: present (sqlglot $installed compiled, in $folder)"
    exit 0
fi

wanted=${installed:+sqlglot==$installed}
rm -rf "$folder"
if ! python -m pip install --quiet --only-binary sqlglotc --target "$folder" "${wanted:-$accepted}" sqlglotc; then
    # no compiled wheel for this platform: the test says so (skipped locally, failed in CI)
    rm -rf "$folder"
    echo "sqlglotc: no compiled sqlglot ${installed:-$accepted} for this platform; tests/test_compiled_sqlglot.py cannot run"
    exit 0
fi
PYTHONPATH=$folder python -c 'import sqlglot; print(sqlglot.__version__)' >"$folder/VERSION"
echo "sqlglotc: installed sqlglot $(cat "$folder/VERSION") compiled into $folder"
