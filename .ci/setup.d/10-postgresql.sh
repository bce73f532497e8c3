#!/usr/bin/env bash
# PostgreSQL server and psql (Debian's package) for tests/test_postgres_sink.py. The test runs its
# own throw-away cluster (initdb + pg_ctl on 127.0.0.1, stopped after), never the package's service.
# Idempotent: nothing to do when a server's pg_ctl is already there.
set -euo pipefail

if compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null && command -v psql >/dev/null; then
    echo "postgresql: present ($(compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' | head -n 1))"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "warning: postgresql is not installed and installing it needs root (apt-get);" \
        "the PostgreSQL integration test will be skipped" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -q --no-install-recommends postgresql postgresql-client; }
# the package lists are refreshed only when the install cannot go through with the ones there are
if ! install; then
    apt-get update -q
    install
fi
