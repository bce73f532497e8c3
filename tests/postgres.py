"""A throw-away PostgreSQL server for integration tests: Debian's binaries (`.ci/setup.d/
10-postgresql.sh` installs them), a fresh cluster in a temporary folder, listening on 127.0.0.1 on
a free port, password authentication over TCP, stopped and deleted after, whatever happens.

PostgreSQL refuses to run as root: as root its programs run as the `postgres` system user
(`runuser`), which owns the cluster's folder. `psql` is the client (CSV output); no Python driver.

    >>> with PostgresServer.start() as server:  # doctest: +SKIP
    ...     server.psql("SELECT 1")
    [['1']]
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pytest

USER, PASSWORD, DATABASE = "kappa", "kappa-test-password", "kappa"
NULL = "\\N"  # how psql prints NULL in CSV (empty strings print as "")
START_SECONDS = 60  # pg_ctl start waits this long at most, then the server counts as broken
RUNTIME_USER = "postgres"  # the Debian package's system user, for when the tests run as root


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: there `.ci/setup` installs what the test needs, so a missing
    dependency is a broken set-up and must not pass silently as a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test: see .ci/setup)", pytrace=False)
    pytest.skip(reason)


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder (`/usr/lib/postgresql/<major>/bin`), if any."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    bin: Path
    folder: Path  # the cluster's data folder, its log and its socket live here
    port: int
    as_user: Sequence[str]  # prefix that runs a server program as a user PostgreSQL accepts

    host = "127.0.0.1"
    user, password, database = USER, PASSWORD, DATABASE

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    @classmethod
    def start(cls, bin_dir: Path | None = None) -> PostgresServer:
        """initdb + pg_ctl start; raises RuntimeError (with the server's log) when it does not come up."""
        bin_dir = bin_dir or postgres_bin()
        if bin_dir is None:
            raise FileNotFoundError("no PostgreSQL server in /usr/lib/postgresql/*/bin")
        # not under pytest's tmp_path: its parents are private to root, and the server's user must reach it
        folder = Path(tempfile.mkdtemp(prefix="kappa-postgres-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(folder, RUNTIME_USER, RUNTIME_USER)
            as_user = ["runuser", "-u", RUNTIME_USER, "--"]
        server = cls(bin_dir, folder, free_port(), as_user)
        try:
            server._init()
            server._start()
        except BaseException:
            server.stop()
            raise
        return server

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _server(self, program: str, *args: str, timeout: float = START_SECONDS + 30) -> None:
        command = [*self.as_user, str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr or done.stdout}{self._log()}")

    def _log(self) -> str:
        log = self.folder / "server.log"
        return f"\nserver log:\n{log.read_text(errors='replace')[-4000:]}" if log.is_file() else ""

    def _init(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        if self.as_user:
            shutil.chown(password_file, RUNTIME_USER, RUNTIME_USER)
        self._server(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            self.user,
            "--pwfile",
            str(password_file),
            "--auth-host=scram-sha-256",
            "--auth-local=peer",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # a throw-away cluster: durability is not wanted, speed is
        )
        password_file.unlink()

    def _start(self) -> None:
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} -c unix_socket_directories={self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=20"
        )
        self._server(
            "pg_ctl", "start", "--pgdata", str(self.data), "--log", str(self.folder / "server.log"),
            "--wait", f"--timeout={START_SECONDS}", "--options", options,
        )  # fmt: skip
        self.psql(f"CREATE DATABASE {self.database}", database="postgres")

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate) and delete its folder; never raises."""
        if (self.data / "postmaster.pid").is_file():
            for mode in ("fast", "immediate"):
                try:
                    self._server("pg_ctl", "stop", "--pgdata", str(self.data), "--mode", mode, "--wait", timeout=60)
                    break
                except (RuntimeError, subprocess.TimeoutExpired):
                    continue
        shutil.rmtree(self.folder, ignore_errors=True)

    def psql(self, sql: str, database: str | None = None, timeout: float = 60) -> list[list[str | None]]:
        """Run SQL through psql over TCP (stops at the first error); the rows it prints, as CSV
        fields with NULL as None."""
        command = [
            str(self.bin / "psql"),
            "--no-psqlrc",
            "--quiet",  # no command tags (SET, CREATE TABLE) among the rows
            "--csv",
            "--tuples-only",
            "--set=ON_ERROR_STOP=1",
            f"--pset=null={NULL}",
            f"--host={self.host}",
            f"--port={self.port}",
            f"--username={self.user}",
            f"--dbname={database or self.database}",
            f"--command={sql}",
        ]
        env = {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"}
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}) on {sql!r}: {done.stderr}")
        return [[None if v == NULL else v for v in row] for row in csv.reader(io.StringIO(done.stdout))]
