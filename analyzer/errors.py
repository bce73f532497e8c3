"""One exception root, and the catalogue of scan-error codes (E0xx).

Errors in user input never escape as exceptions: each becomes a `Finding` with one of the codes
below and the scan goes on. Exceptions are for the tool's own usage errors (bad options, an
unreadable config) and for a live Airflow that cannot be read. Every one survives pickling (a
worker process's exception reaches the pool's owner that way).
"""

from __future__ import annotations

from .models import Finding


class KappaError(Exception):
    """Root of every exception kappa raises on purpose."""


class UsageError(KappaError):
    """Bad command-line usage or configuration (exit code 2)."""


class AirflowError(KappaError):
    """A live Airflow could not be read (`kappa scan --airflow-url`): one message, one exit code.

    The message names the URL without any credentials in it, and never the token or password.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[AirflowError], tuple[str, str]]:
        return type(self), (self.code, self.message)

    @property
    def exit_code(self) -> int:
        return AIRFLOW_EXIT_CODES[self.code]


# code -> (name, summary). Codes never change meaning.
SCAN_ERRORS: dict[str, tuple[str, str]] = {
    "E001": ("dag-syntax-error", "Python file does not parse"),
    "E002": ("file-not-utf8", "file is not valid UTF-8"),
    "E003": ("file-unreadable", "file cannot be read"),
    "E004": ("file-binary", "file looks binary"),
    "E005": ("file-too-large", "file is larger than the scan limit"),
    "E006": ("symlink-loop", "symbolic link loops or cannot be resolved"),
    "E007": ("path-outside-root", "path resolves outside the scanned root"),
    "E008": ("scan-budget-exceeded", "file took longer than the time or depth budget"),
    "E009": ("scan-internal-error", "the scanner failed on this file (a kappa bug: please report it); file skipped"),
    "E010": ("sql-parse-error", "SQL does not parse in the job's dialect"),
    "E011": ("sql-file-missing", "SQL file referenced by a task was not found"),
    "E012": ("template-error", "Jinja template does not render"),
    "E013": ("template-undefined", "template uses a name Airflow's context does not have"),
    "E014": ("template-unsafe", "template tries to reach Python internals; blocked by the sandbox"),
    "E020": ("dag-id-unresolved", "dag_id is not a constant the scanner can resolve"),
    "E021": ("task-id-unresolved", "task_id is not a constant the scanner can resolve"),
    "E022": ("duplicate-task-id", "two tasks of one DAG have the same task_id"),
    "E023": ("duplicate-dag-id", "two DAGs have the same dag_id"),
    "E024": ("unknown-dependency", "dependency names something that is not a task"),
    "E030": ("opaque-task", "task runs code the scanner cannot see"),
    "E031": ("sql-unresolved", "task's SQL argument is not a constant the scanner can resolve"),
    "E032": ("dialect-unknown", "no dialect could be decided for the task's SQL"),
    "E040": ("config-error", "kappa configuration is invalid"),
    "E050": ("secret-in-code", "a password, token or key is written in the code; redacted from every output"),
    # a live Airflow (`kappa scan --airflow-url`), E07x: what it reports about its DAGs (findings) ...
    "E070": ("airflow-import-error", "Airflow cannot import a DAG file"),
    "E071": ("airflow-task-unseen", "Airflow runs a task that the DAG's source, read statically, does not show"),
    "E072": ("airflow-source-missing", "Airflow gave no source for a DAG"),
    # ... and E08x: why it could not be read at all (the scan stops with the exit code below)
    "E080": ("airflow-unreachable", "Airflow's URL cannot be reached (refused, no route, unknown host)"),
    "E081": ("airflow-tls-error", "the TLS handshake with Airflow failed (certificate, protocol)"),
    "E082": ("airflow-unauthorized", "Airflow refused the credentials (HTTP 401)"),
    "E083": ("airflow-forbidden", "the user may not read what the scan needs (HTTP 403)"),
    "E084": ("airflow-timeout", "Airflow did not answer in time, retries included"),
    "E085": ("airflow-api-version", "the server is not Airflow 3, whose REST API v2 this client speaks"),
    "E086": ("airflow-api-error", "Airflow answered with an error or with something that is not its API"),
}

# exit code of `kappa scan` for each reason a live Airflow could not be read
AIRFLOW_EXIT_CODES: dict[str, int] = {
    "E080": 3,
    "E081": 4,
    "E082": 5,
    "E083": 6,
    "E084": 7,
    "E085": 8,
    "E086": 9,
}


# code -> (name, summary) of what generation (G5xx) and validation (V6xx) report
OUTPUT_FINDINGS: dict[str, tuple[str, str]] = {
    "G501": ("unsupported-construct", "a construct with no Flink equivalent; the job stays manual, with a draft"),
    "G502": ("unknown-column-type", "a column's type is unknown; declare it in a schema file"),
    "V601": ("planner-rejected", "the Flink planner rejects the generated job"),
    "V602": ("result-mismatch", "the streaming result differs from the batch result on the same data"),
    "V603": ("classification-mismatch", "the planner's operators or changelog disagree with the job's class"),
    "V604": ("connector-misconfigured", "a connector lacks a required option or primary key"),
}


def scan_error(code: str, message: str, file: str, line: int = 1, col: int = 1) -> Finding:
    """Build a scan-error finding; the name comes from the catalogue."""
    name, _ = SCAN_ERRORS[code]
    return Finding(code=code, name=name, message=message, file=file, line=max(line, 1), col=max(col, 1))
