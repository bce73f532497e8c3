"""Read a live Airflow through its REST API: one more input to `discover` (`kappa scan --airflow-url`).

`read_airflow(settings)` lists the DAGs (paged), their tasks and operators, the source of each DAG
file (the `dagSources` endpoint; the pipeline parses it with the same static parser as a
repository's files), the import errors, and the DAG runs and task instances of the last
`history_days` days. It returns plain models (`LiveAirflow`); `analyzer.history` turns the runs
into evidence.

It speaks Airflow 3's REST API v2 through `apache-airflow-client`: the client builds, authenticates
and sends every request; answers are read as plain JSON (the API classes' `*_without_preload_content`
calls) rather than through the client's strict models, so that a server a minor version away from
the client, which adds or drops a required field, does not fail the whole scan.

Credentials (a token, or a user and password exchanged for a token at `/auth/token`) go into
request headers only: never into a message, a log line, a finding or a file. Every failure is one
`AirflowError` with a code, a readable message and an exit code; every request has a timeout and
bounded retries with backoff, so nothing hangs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import urllib3
from airflow_client.client import ApiClient, Configuration
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.dag_source_api import DagSourceApi
from airflow_client.client.api.import_error_api import ImportErrorApi
from airflow_client.client.api.task_api import TaskApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi
from airflow_client.client.exceptions import ApiException, OpenApiException
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .discover import MAX_FILE_BYTES
from .errors import AirflowError, scan_error
from .models import Finding, LiveAirflow, LiveDag, LiveImportError, LiveRun, LiveTask, LiveTaskInstance

API_MAJOR = 3  # apache-airflow-client 3.x speaks the REST API v2 of Airflow 3
PAGE_SIZE = 100  # Airflow's default `maximum_page_limit`
MAX_ITEMS = 200_000  # a listing longer than this is cut: a scan must end
RETRY_STATUSES = (429, 500, 502, 503, 504)
JSON = Mapping[str, Any]


@dataclass(frozen=True)
class Credentials:
    """A token, or a user and password. Their repr shows neither secret."""

    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AirflowSettings:
    url: str  # the Airflow web / API server, e.g. https://airflow.example.com
    credentials: Credentials = field(default_factory=Credentials)
    history_days: int = 30
    timeout: float = 30.0  # seconds for one request to connect and to answer
    retries: int = 3  # more tries for a refused connection, a timeout, or a 429 / 5xx answer
    backoff: float = 0.5  # seconds before the first retry, doubling after each (capped at 10 s)
    now: datetime | None = None  # the end of the history window (None: now)


def safe_url(url: str) -> str:
    """The URL as it may be shown: no user or password in it, no query."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def base_url(url: str) -> str:
    """The server's root: `https://host/airflow/api/v2/` -> `https://host/airflow` (the client adds /api/v2)."""
    cleaned = safe_url(url)
    for suffix in ("/api/v2", "/api/v1"):
        if cleaned.endswith(suffix):
            cleaned = cleaned[: -len(suffix)]
    return cleaned


def read_airflow(settings: AirflowSettings) -> LiveAirflow:
    """Everything `kappa scan` takes from a live Airflow; raises `AirflowError` when it cannot."""
    return AirflowReader(settings).read()


class AirflowReader:
    """One scan of one Airflow: a configured client, and the calls it makes, each checked."""

    def __init__(self, settings: AirflowSettings) -> None:
        if urlsplit(settings.url.strip()).scheme not in {"http", "https"} or not urlsplit(settings.url).hostname:
            raise AirflowError("E080", f"{safe_url(settings.url)!r} is not an http:// or https:// URL")
        parts = urlsplit(settings.url.strip())
        if parts.username and not (settings.credentials.token or settings.credentials.user):
            # credentials written into the URL (https://user:password@host) are credentials too
            given = Credentials(user=unquote(parts.username), password=unquote(parts.password or ""))
            settings = replace(settings, credentials=given)
        self.settings = settings
        self.shown = safe_url(settings.url)
        configuration = Configuration(host=base_url(settings.url))
        configuration.retries = urllib3.Retry(
            total=settings.retries,
            connect=settings.retries,
            read=settings.retries,
            status=settings.retries,
            backoff_factor=settings.backoff,
            backoff_max=10.0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # GETs, and the POST for a token, are all safe to repeat
            raise_on_status=False,  # the last answer is judged below, with its status
            respect_retry_after_header=False,  # a server's Retry-After must not make the scan hang
        )
        self.configuration = configuration
        self.client = ApiClient(configuration)
        self.timeout = (float(min(settings.timeout, 10.0)), float(settings.timeout))

    # ------------------------------------------------------------------ the scan

    def read(self) -> LiveAirflow:
        version = self.check_version()
        self.authenticate()
        dag_api, task_api = DAGApi(self.client), TaskApi(self.client)
        dags: list[LiveDag] = []
        sources: dict[str, str] = {}
        findings: list[Finding] = []
        for entry in self.pages(
            "the DAGs",
            "dags",
            lambda o: dag_api.get_dags_without_preload_content(
                limit=PAGE_SIZE, offset=o, exclude_stale=True, _request_timeout=self.timeout
            ),
        ):
            dag_id = str(entry["dag_id"])
            file = _dag_file(entry)
            tasks = self.call(
                f"the tasks of DAG {dag_id}",
                partial(task_api.get_tasks_without_preload_content, dag_id, _request_timeout=self.timeout),
                missing_ok=True,  # a DAG removed between the listing and this call has no tasks
            )
            dags.append(
                LiveDag(
                    dag_id=dag_id,
                    file=file,
                    paused=bool(entry.get("is_paused")),
                    schedule=entry.get("timetable_summary"),
                    tasks=tuple(sorted((_task(t) for t in tasks.get("tasks") or ()), key=lambda t: t.task_id)),
                )
            )
            if file not in sources:
                text = self.source(dag_id)
                if text is None:
                    findings.append(scan_error("E072", f"Airflow has no source for DAG {dag_id} ({file})", file))
                elif len(text.encode("utf-8")) > MAX_FILE_BYTES:  # as for a repository's files
                    message = f"{file} from Airflow is over the {MAX_FILE_BYTES}-byte limit; skipped"
                    findings.append(scan_error("E005", message, file))
                else:
                    sources[file] = text
        start = (self.settings.now or datetime.now(UTC)) - timedelta(days=self.settings.history_days)
        return LiveAirflow(
            version=version,
            history_days=self.settings.history_days,
            dags=tuple(sorted(dags, key=lambda d: d.dag_id)),
            sources=tuple(sorted(sources.items())),
            import_errors=self.import_errors(),
            runs=self.runs(start),
            task_instances=self.task_instances(start),
            findings=tuple(findings),
        )

    def check_version(self) -> str:
        """The server's version; an Airflow 2 (REST API v1) or a future major version stops the scan."""
        response = self.request("GET", "/api/v2/version", "the version")
        if response.status == 404:
            old = self.airflow2_version()
            if old is not None:
                raise AirflowError(
                    "E085",
                    f"{self.shown} runs Airflow {old}, whose REST API is v1; kappa reads Airflow 3's REST API v2 "
                    "(apache-airflow-client 3). Scan the DAG repository instead, or upgrade Airflow",
                )
            raise AirflowError("E086", f"{self.shown} has no Airflow REST API (GET /api/v2/version: 404)")
        version = str(self.json(response, "the version").get("version") or "")
        major = version.split(".", 1)[0]
        if major != str(API_MAJOR):
            raise AirflowError(
                "E085",
                f"{self.shown} runs Airflow {version or 'of an unknown version'}; "
                f"kappa reads the REST API v2 of Airflow {API_MAJOR}",
            )
        return version

    def airflow2_version(self) -> str | None:
        """Airflow 2 answers /api/v1/version (with its basic auth, when it asks for it)."""
        credentials = self.settings.credentials
        headers = {"Accept": "application/json"}
        if credentials.user is not None and credentials.password is not None:
            headers.update(urllib3.make_headers(basic_auth=f"{credentials.user}:{credentials.password}"))
        elif credentials.token is not None:
            headers["Authorization"] = f"Bearer {credentials.token}"
        response = self.request("GET", "/api/v1/version", "the version", headers)
        if response.status == 200:
            try:
                return str(json.loads(response.data).get("version") or "2")
            except (ValueError, AttributeError):
                return None
        if response.status in {401, 403}:
            return "2 (its /api/v1 asks for credentials)"
        return None

    def authenticate(self) -> None:
        """A bearer token: the one given, or one from Airflow 3's `/auth/token` for a user and password."""
        credentials = self.settings.credentials
        if credentials.token:
            self.configuration.access_token = credentials.token
            return
        if credentials.user is None and credentials.password is None:
            return  # an Airflow that lets anyone read (its auth manager allows it)
        if not credentials.user or credentials.password is None:
            raise AirflowError("E082", "give both --airflow-user and --airflow-password (or a token)")
        body = {"username": credentials.user, "password": credentials.password}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        response = self.request("POST", "/auth/token", "a token", headers, body)
        if response.status in {401, 403}:
            raise AirflowError("E082", f"{self.shown} refused the user and password ({response.status})")
        if response.status in {404, 405}:
            raise AirflowError(
                "E086",
                f"{self.shown} does not hand out tokens at /auth/token ({response.status}): give --airflow-token",
            )
        token = self.json(response, "a token").get("access_token")
        if not isinstance(token, str) or not token:
            raise AirflowError("E086", f"{self.shown}/auth/token answered without an access_token")
        self.configuration.access_token = token

    def source(self, dag_id: str) -> str | None:
        api = DagSourceApi(self.client)
        answer = self.call(
            f"the source of DAG {dag_id}",
            lambda: api.get_dag_source_without_preload_content(
                dag_id, accept="application/json", _request_timeout=self.timeout
            ),
            missing_ok=True,
        )
        content = answer.get("content")
        return content if isinstance(content, str) else None

    def import_errors(self) -> tuple[LiveImportError, ...]:
        api = ImportErrorApi(self.client)
        found = {
            LiveImportError(str(entry.get("filename") or ""), _last_line(str(entry.get("stack_trace") or "")))
            for entry in self.pages(
                "the import errors",
                "import_errors",
                lambda o: api.get_import_errors_without_preload_content(
                    limit=PAGE_SIZE, offset=o, _request_timeout=self.timeout
                ),
            )
        }
        return tuple(sorted(found, key=lambda e: (e.file, e.message)))

    def runs(self, start: datetime) -> tuple[LiveRun, ...]:
        api = DagRunApi(self.client)
        entries = self.pages(
            "the DAG runs",
            "dag_runs",
            lambda o: api.get_dag_runs_without_preload_content(
                "~", limit=PAGE_SIZE, offset=o, run_after_gte=start, _request_timeout=self.timeout
            ),
        )
        runs = {(r.dag_id, r.run_id): r for r in map(_run, entries)}  # a run seen on two pages counts once
        return tuple(sorted(runs.values(), key=lambda r: (r.dag_id, r.run_id)))

    def task_instances(self, start: datetime) -> tuple[LiveTaskInstance, ...]:
        api = TaskInstanceApi(self.client)
        entries = self.pages(
            "the task instances",
            "task_instances",
            lambda o: api.get_task_instances_without_preload_content(
                "~", "~", run_after_gte=start, limit=PAGE_SIZE, offset=o, _request_timeout=self.timeout
            ),
        )
        found: dict[tuple[str, str, str, int], LiveTaskInstance] = {}
        for entry in entries:
            instance = _task_instance(entry)
            found[(instance.dag_id, instance.run_id, instance.task_id, int(entry.get("map_index", -1) or -1))] = (
                instance
            )
        return tuple(sorted(found.values(), key=lambda t: (t.dag_id, t.run_id, t.task_id)))

    # ------------------------------------------------------------------ requests, checked

    def pages(self, what: str, key: str, fetch: Callable[[int], Any]) -> Iterator[JSON]:
        """Every item of a paged listing (limit / offset), until `total_entries` or an empty page."""
        offset = 0
        while offset < MAX_ITEMS:
            answer = self.call(what, partial(fetch, offset))
            items = answer.get(key)
            if not isinstance(items, list):
                raise AirflowError("E086", f"{self.shown} answered for {what} without a {key!r} list")
            yield from (item for item in items if isinstance(item, Mapping))
            offset += len(items)
            total = answer.get("total_entries")
            if not items or (isinstance(total, int) and offset >= total):
                return

    def call(self, what: str, send: Callable[[], Any], *, missing_ok: bool = False) -> JSON:
        """One API call through the client: its JSON answer, or the `AirflowError` that says why not."""
        response = self.guarded(what, send)
        if missing_ok and response.status == 404:
            return {}
        return self.json(response, what)

    def request(
        self, method: str, path: str, what: str, headers: Mapping[str, str] | None = None, body: Any = None
    ) -> Any:
        """A request the client's API classes do not make (the version probe of v1, /auth/token)."""
        url = self.configuration.host + path
        head = {"Accept": "application/json", **(headers or {})}

        def send() -> Any:
            response: Any = self.client.call_api(
                method, url, header_params=head, body=body, _request_timeout=self.timeout
            )
            response.read()
            return response

        return self.guarded(what, send)

    def guarded(self, what: str, send: Callable[[], Any]) -> Any:
        try:
            return send()
        except AirflowError:
            raise
        except MaxRetryError as error:
            raise self.transport_error(what, error.reason or error) from None
        except ApiException as error:
            if error.status == 0:  # the client's own wrapping of an SSL error
                raise AirflowError("E081", f"TLS handshake with {self.shown} failed: {_reason(error.reason)}") from None
            raise self.status_error(what, int(error.status or 0), str(error.body or "")) from None
        except (HTTPError, OSError) as error:
            raise self.transport_error(what, error) from None
        except (OpenApiException, ValueError) as error:
            raise AirflowError("E086", f"cannot ask {self.shown} for {what}: {_reason(error)}") from None

    def json(self, response: Any, what: str) -> JSON:
        status = int(getattr(response, "status", 0) or 0)
        data = getattr(response, "data", b"") or b""
        if not 200 <= status < 300:
            raise self.status_error(what, status, data.decode("utf-8", "replace"))
        try:
            answer = json.loads(data)
        except ValueError:
            raise AirflowError("E086", f"{self.shown} answered for {what} with something that is not JSON") from None
        if not isinstance(answer, Mapping):
            raise AirflowError("E086", f"{self.shown} answered for {what} with JSON that is not an object")
        return answer

    def status_error(self, what: str, status: int, body: str) -> AirflowError:
        detail = _detail(body)
        if status == 401:
            given = self.settings.credentials
            hint = (
                "the token or the user and password were refused"
                if given.token or given.user
                else "it needs credentials: --airflow-token, or --airflow-user and --airflow-password"
            )
            return AirflowError("E082", f"{self.shown} answered 401 for {what}: {hint}")
        if status == 403:
            return AirflowError("E083", f"{self.shown} answered 403 for {what}: the user may not read it{detail}")
        if status in RETRY_STATUSES:
            return AirflowError(
                "E086", f"{self.shown} answered {status} for {what}, {self.settings.retries} retries included{detail}"
            )
        return AirflowError("E086", f"{self.shown} answered {status} for {what}{detail}")

    def transport_error(self, what: str, error: BaseException) -> AirflowError:
        for kinds, code, text in TRANSPORT_ERRORS:
            if isinstance(error, kinds):
                tries = f" ({self.settings.retries} retries)" if code in {"E080", "E084"} else ""
                return AirflowError(code, f"{text.format(url=self.shown, what=what)}{tries}: {_reason(error)}")
        return AirflowError("E086", f"cannot ask {self.shown} for {what}: {_reason(error)}")


# (exception types, code, message): the first that matches wins, so subclasses come first
# (urllib3's NewConnectionError is a ConnectTimeoutError; its NameResolutionError a NewConnectionError)
TRANSPORT_ERRORS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str, str], ...] = (
    (SSLError, "E081", "TLS handshake with {url} failed"),
    (NameResolutionError, "E080", "cannot resolve the host of {url}"),
    (NewConnectionError, "E080", "cannot connect to {url}"),
    (
        (ConnectTimeoutError, ReadTimeoutError, Urllib3Timeout, TimeoutError),
        "E084",
        "{url} did not answer for {what} in time",
    ),
    ((ProtocolError, ConnectionError), "E080", "the connection to {url} broke"),
)


def _reason(error: object) -> str:
    """The innermost readable reason of a transport error, without urllib3's object reprs."""
    text = str(error)
    for marker in ("Failed to establish a new connection: ", "Caused by ", "SSLError(", "SSLCertVerificationError("):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.strip("()'\" ")
    return text[:200] or type(error).__name__


def _detail(body: str) -> str:
    """Airflow's `detail` message of an error answer, when it has one."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    if isinstance(detail, str) and detail:
        return f" ({detail[:200]})"
    return ""


def _last_line(stack_trace: str) -> str:
    lines = [line.strip() for line in stack_trace.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "import failed"


def _dag_file(entry: JSON) -> str:
    """The DAG's file relative to its bundle (Airflow 3's `relative_fileloc`), else the file's name."""
    relative = entry.get("relative_fileloc")
    if isinstance(relative, str) and relative:
        return relative.lstrip("/")
    return str(entry.get("fileloc") or f"{entry.get('dag_id')}.py").rsplit("/", 1)[-1]


def _task(entry: JSON) -> LiveTask:
    operator = entry.get("operator_name") or (entry.get("class_ref") or {}).get("class_name") or ""
    retries = entry.get("retries")
    return LiveTask(
        str(entry.get("task_id") or ""), str(operator), int(retries) if isinstance(retries, int | float) else 0
    )


def _day(value: object) -> str | None:
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _seconds(entry: JSON) -> float:
    duration = entry.get("duration")
    if isinstance(duration, int | float):
        return round(float(duration), 3)
    start, end = entry.get("start_date"), entry.get("end_date")
    if isinstance(start, str) and isinstance(end, str):
        try:
            delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
        except ValueError:
            return 0.0
        return round(max(delta.total_seconds(), 0.0), 3)
    return 0.0


def _run(entry: JSON) -> LiveRun:
    return LiveRun(
        dag_id=str(entry.get("dag_id") or ""),
        run_id=str(entry.get("dag_run_id") or ""),
        run_type=str(entry.get("run_type") or "unknown"),
        state=str(entry.get("state") or ""),
        date=_day(entry.get("logical_date")) or _day(entry.get("data_interval_start")),
        seconds=_seconds(entry),
    )


def _task_instance(entry: JSON) -> LiveTaskInstance:
    return LiveTaskInstance(
        dag_id=str(entry.get("dag_id") or ""),
        run_id=str(entry.get("dag_run_id") or ""),
        task_id=str(entry.get("task_id") or ""),
        state=str(entry.get("state") or ""),
        date=_day(entry.get("logical_date")) or _day(entry.get("run_after")) or "",
        try_number=int(entry.get("try_number") or 0),
        max_tries=int(entry.get("max_tries") or 0),
        seconds=_seconds(entry),
    )
