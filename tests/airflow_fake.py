"""A tiny stand-in for Airflow 3's REST API on 127.0.0.1, serving recorded answers.

The answers in tests/data/airflow_api/ were recorded from the real Airflow 3.3.2 that
tests/test_airflow_live.py starts (two of its DAGs kept, with their runs and import errors; host
paths, pids and host names replaced). `FakeAirflow.behaviour` makes it misbehave the ways a real
server or network does: refuse credentials, forbid, answer slowly, speak Airflow 2, fail with 5xx.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

RECORDED = Path(__file__).resolve().parent / "data" / "airflow_api"
USER, PASSWORD, TOKEN = "reader", "s3cret-Pa55word", "recorded-token-0123456789"
# which key of a paged answer holds the items
PAGED = {"dags": "dags", "importErrors": "import_errors", "dagRuns": "dag_runs", "taskInstances": "task_instances"}


def recorded(name: str) -> Any:
    return json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class FakeAirflow:
    """What the fake server does; tests change `behaviour` and read `requests`."""

    behaviour: str = "ok"  # ok | airflow2 | not-airflow | slow | unavailable | forbidden | not-json | open
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (method, path?query, headers)
    delay: float = 0.0  # seconds each answer waits when behaviour is "slow"
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAirflow  # set on the subclass made for each server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        fake.requests.append((method, self.path, {k.title(): v for k, v in self.headers.items()}))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
        if fake.behaviour == "slow":
            time.sleep(fake.delay)
        if fake.behaviour == "unavailable":
            return self._send(503, {"detail": "the scheduler is restarting"})
        if fake.behaviour == "not-json" and path.startswith("/api/v2/dags"):
            return self._send_raw(200, b"<html>login</html>", "text/html")
        if path == "/api/v2/version":
            if fake.behaviour in {"airflow2", "not-airflow"}:
                return self._send(404, {"detail": "Not Found"})
            return self._send(200, recorded("version"))
        if path == "/api/v1/version":
            if fake.behaviour == "airflow2":
                return self._send(200, {"version": "2.10.5", "git_version": "recorded"})
            return self._send(404, {"detail": "Not Found"})
        if path == "/auth/token" and method == "POST":
            given = json.loads(body or b"{}")
            if given == {"username": USER, "password": PASSWORD}:
                return self._send(201, {"access_token": TOKEN})
            return self._send(401, {"detail": "Invalid credentials"})
        if fake.behaviour != "open" and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"detail": "Not authenticated"})
        if fake.behaviour == "forbidden" and path.startswith("/api/v2/dags"):
            return self._send(403, {"detail": "Forbidden"})
        return self._route(path, query)

    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        segments = path.removeprefix("/api/v2/").split("/")
        if segments == ["dags"]:
            return self._page("dags", query)
        if segments == ["importErrors"]:
            return self._page("importErrors", query)
        if segments == ["dags", "~", "dagRuns"]:
            return self._page("dagRuns", query)
        if segments == ["dags", "~", "dagRuns", "~", "taskInstances"]:
            return self._page("taskInstances", query)
        if len(segments) == 3 and segments[0] == "dags" and segments[2] == "tasks":
            return self._one("tasks", segments[1])
        if len(segments) == 2 and segments[0] == "dagSources":
            return self._one("dagSources", segments[1])
        return self._send(404, {"detail": "Not Found"})

    def _page(self, name: str, query: dict[str, list[str]]) -> None:
        items = recorded(name)[PAGED[name]]
        limit = int(query.get("limit", ["100"])[0])
        offset = int(query.get("offset", ["0"])[0])
        self._send(200, {PAGED[name]: items[offset : offset + limit], "total_entries": len(items)})

    def _one(self, name: str, key: str) -> None:
        answers = recorded(name)
        if key not in answers:
            return self._send(404, {"detail": f"{key} not found"})
        return self._send(200, answers[key])

    def _send(self, status: int, payload: Any) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json")

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass


@contextmanager
def fake_airflow(behaviour: str = "ok", delay: float = 0.0) -> Iterator[FakeAirflow]:
    """A fake Airflow on a free port of 127.0.0.1, for the `with` block."""
    fake = FakeAirflow(behaviour=behaviour, delay=delay)
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
