"""Secrets in a scanned repository: find them (E050 secret-in-code), and keep them out of every output.

Reports are shared widely, so a password, token or key written into a DAG file must never reach
`analysis.json`, the report, the generated jobs or the scan cache. Two halves:

- `find_in_module(file, tree)` walks a DAG file's AST for literal credentials: a string given to
  an argument, dict key or variable named like a password (`password=`, `{"db_passwd": ...}`), a
  key-like string (long, mixed letters and digits) named like a key, token or secret, the default
  of `Variable.get("db_password", "...")`, and any string matching a known secret shape
  (`PATTERNS`: a password in a URI, an AWS key id, a private key block, ...). Each becomes an E050
  finding at its place; the value itself is never shown.
- `Redactor.text` / `Redactor.value` replace what was found, and every `PATTERNS` match, by
  `REDACTED`. The pipeline applies them where text from the user's files is captured into the
  models (SQL sources, rendered SQL, statements, DAG params and default_args, docs, messages),
  so everything built from the models is clean.

Every regular expression here has bounded repetitions: hostile input cannot make it backtrack
for long.

>>> Redactor().text("postgresql://etl:hunter2@db:5432/shop")
'postgresql://etl:***@db:5432/shop'
>>> Redactor().text("COPY t FROM 's3://b/k' ACCESS_KEY_ID 'AKIAABCDEFGHIJKLMNOP' SECRET_ACCESS_KEY 'x/y+z'")
"COPY t FROM 's3://b/k' ACCESS_KEY_ID '***' SECRET_ACCESS_KEY '***'"
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any

from .errors import scan_error
from .models import Dag, Finding, Job, RenderedSql, SqlSource, Statement, Task

REDACTED = "***"
#: Shorter literals are reported but not searched for elsewhere: replacing `abc` everywhere would
#: mangle the SQL around it (pattern matches are still redacted in place).
MIN_SEARCHED_CHARS = 6

# Names of arguments, dict keys and variables. Any literal given to a password-like name is a
# secret; a key-, token- or secret-like name only holds one when the value looks like a key.
_PASSWORD_NAME = re.compile(r"(?:password|passwd|passphrase|pwd)$", re.IGNORECASE)
_KEY_NAME = re.compile(r"(?:secret|token|key|apikey|credentials?|auth)$", re.IGNORECASE)
_SECRET_KEYWORD = (
    r"(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key(?:[_-]?id)?"
    r"|secret[_-]?(?:access[_-]?)?key|private[_-]?key|session[_-]?token|client[_-]?secret)"
)
# a value that is a placeholder, not a secret: a template, an env or bind parameter, a redaction
_NOT_A_VALUE = r"(?!\$\{|\{\{|%\(|\*\*\*|<|:\w|\?)"


@dataclass(frozen=True)
class SecretPattern:
    """A secret's shape in text; the `value` group is what gets redacted."""

    name: str  # what the finding calls it
    regex: re.Pattern[str]


# Ordered: the first pattern that matches a span names it.
PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern(
        "private key",
        re.compile(r"-----BEGIN[A-Z ]{0,30}PRIVATE KEY-----(?P<value>.{1,10000}?)-----END", re.DOTALL),
    ),
    SecretPattern(
        "password in a URI",
        re.compile(
            r"[A-Za-z][A-Za-z0-9+.\-]{0,20}://[^\s:/@'\"]{0,64}:" + _NOT_A_VALUE + r"(?P<value>[^\s@/'\"]{1,128})@"
        ),
    ),
    SecretPattern("AWS access key id", re.compile(r"(?<![A-Z0-9])(?P<value>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])")),
    SecretPattern(
        "API token",
        re.compile(
            r"(?<![\w-])(?P<value>gh[pousr]_[A-Za-z0-9]{30,255}|xox[abprs]-[A-Za-z0-9-]{10,255}"
            r"|AIza[0-9A-Za-z_\-]{35}|sk_live_[0-9A-Za-z]{20,255}"
            r"|eyJ[\w-]{8,2000}\.eyJ[\w-]{8,4000}\.[\w-]{8,2000})"
        ),
    ),
    SecretPattern("bearer token", re.compile(r"\bBearer[ \t]{1,4}(?P<value>[\w.~+/-]{16,512}=*)")),
    SecretPattern(
        "quoted credential",  # PASSWORD 'x', IDENTIFIED BY 'x', SECRET_ACCESS_KEY 'x', "token": "x"
        re.compile(
            r"(?i)(?:" + _SECRET_KEYWORD + r"|identified[ \t]{1,4}by)['\"]?[ \t]{0,4}[:=]?[ \t]{0,4}"
            r"(?P<q>['\"])" + _NOT_A_VALUE + r"(?P<value>[^'\"\n]{1,256})(?P=q)"
        ),
    ),
    SecretPattern(
        "credential assignment",  # password=x in a connection string or a command line
        re.compile(r"(?i)" + _SECRET_KEYWORD + r"=" + _NOT_A_VALUE + r"(?P<value>[^\s'\";&,)}\]]{1,256})"),
    ),
)


# Every pattern needs one of these, in any case, somewhere in the text (a keyword, a key prefix, a
# URI's `://`). Most SQL holds none, and twenty `in` tests over the lower-cased text cost a
# twentieth of running the patterns.
_NEEDLES = (
    "-----begin",
    "://",
    "akia",
    "asia",
    *(f"gh{kind}_" for kind in "pousr"),
    "xox",
    "aiza",
    "sk_live_",
    "eyj",
    "bearer",
    "passw",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "identified",
    *(f"{what}{joint}key" for what in ("api", "access", "private") for joint in ("", "_", "-")),
)


@lru_cache(maxsize=512)
def _may_hold_secret(text: str) -> bool:
    """False when no pattern can match `text` (see `_NEEDLES`). Remembered for the last texts: a
    task's SQL is looked at as the task's, the job's, and its statements' (a string keeps its hash)."""
    lowered = text.lower()
    return any(needle in lowered for needle in _NEEDLES)


def _spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, pattern name) of every secret value in `text`, in order, not overlapping."""
    found: list[tuple[int, int, str]] = []
    if not _may_hold_secret(text):
        return iter(found)
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(text):
            start, end = match.span("value")
            if not any(start < e and s < end for s, e, _ in found):
                found.append((start, end, pattern.name))
    return iter(sorted(found))


def redact_patterns(text: str) -> str:
    """`text` with every `PATTERNS` match replaced by `REDACTED`."""
    if not text:
        return text
    pieces: list[str] = []
    last = 0
    for start, end, _ in _spans(text):
        pieces.extend((text[last:start], REDACTED))
        last = end
    return "".join(pieces) + text[last:] if pieces else text


def find_in_text(text: str, file: str, line: int = 1, col: int = 1) -> tuple[Finding, ...]:
    """E050 for every `PATTERNS` match in `text`, whose first character is at (`line`, `col`)."""
    findings = []
    for start, _, name in _spans(text):
        before = text[:start]
        at_line = line + before.count("\n")
        at_col = (col if at_line == line else 1) + len(before) - (before.rfind("\n") + 1)
        article = "an" if name[0].lower() in "aeiou" else "a"
        findings.append(_finding(f"{article} {name} is written in the code", file, at_line, at_col))
    return tuple(findings)


def _finding(what: str, file: str, line: int, col: int) -> Finding:
    message = f"{what}; its value is redacted from every output (move it to a secrets backend)"
    return scan_error("E050", message, file, line, col)


def looks_like_key(value: str) -> bool:
    """Long, no spaces, letters and digits mixed, and varied enough to be random: not a name, and
    not a path (`raw/orders/2024/`) unless its letters are of both cases, as in base64."""
    if len(value) < 20 or len(value) > 4096 or any(c.isspace() for c in value):
        return False
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    if not re.fullmatch(r"[A-Za-z0-9+/=_\-.:]+", value):
        return False
    if ("/" in value or "." in value) and (value.lower() == value or value.upper() == value):
        return False
    counts = Counter(value)
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return entropy >= 3.0


def _is_placeholder(value: str) -> bool:
    stripped = value.strip()
    return not stripped or stripped.startswith(("{{", "${", "%(", "<", REDACTED)) or stripped == "?"


def secret_for_name(name: str, value: object) -> bool:
    """Is `value`, given to an argument, key or variable called `name`, a literal secret?"""
    if not isinstance(value, str) or _is_placeholder(value):
        return False
    if _PASSWORD_NAME.search(name):
        return True
    return bool(_KEY_NAME.search(name)) and looks_like_key(value)


@dataclass(frozen=True)
class ModuleSecrets:
    """What one DAG file holds: E050 findings, and the literal values to redact everywhere."""

    findings: tuple[Finding, ...] = ()
    values: tuple[str, ...] = ()


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def _named_values(node: ast.AST) -> Iterator[tuple[str, ast.expr]]:
    """(name, value node) pairs a node gives a name to: keywords, dict entries, assignments."""
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg is not None:
                yield keyword.arg, keyword.value
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        # Variable.get("db_password", "default") / os.getenv("DB_PASSWORD", "default")
        name = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        if callee in {"get", "getenv"} and len(node.args) >= 2 and isinstance(name, str):
            yield name, node.args[1]
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, value
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            name = _target_name(target)
            if name is not None:
                yield name, node.value
    elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
        name = _target_name(node.target)
        if name is not None:
            yield name, node.value


def find_in_module(file: str, tree: ast.Module) -> ModuleSecrets:
    """Every literal credential in a parsed DAG file (never imported), with its place."""
    findings: dict[tuple[int, int], Finding] = {}
    values: set[str] = set()
    for node in ast.walk(tree):
        for name, value in _named_values(node):
            if isinstance(value, ast.Constant) and secret_for_name(name, value.value):
                secret = str(value.value)
                values.add(secret)
                what = f"a literal credential is given to `{name}`"
                findings.setdefault(_place(value), _finding(what, file, *_place(value)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
            line, col = _place(node)
            for finding in find_in_text(node.value, file, line, col):
                findings.setdefault((finding.line, finding.col), finding)
            values.update(node.value[s:e] for s, e, _ in _spans(node.value))
    searched = sorted((v for v in values if len(v) >= MIN_SEARCHED_CHARS), key=lambda v: (-len(v), v))
    return ModuleSecrets(tuple(sorted(findings.values(), key=Finding.sort_key)), tuple(searched))


def _place(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 1) or 1, (getattr(node, "col_offset", 0) or 0) + 1


def sql_text_findings(source: SqlSource) -> tuple[Finding, ...]:
    """E050 for secrets in the text of a `.sql` file a task reads (inline SQL is found with its
    DAG file)."""
    return find_in_text(source.text, source.file, source.line, source.col)


@dataclass(frozen=True)
class Redactor:
    """Replaces secrets in captured text: the file's known literal values, and every pattern."""

    values: tuple[str, ...] = ()

    @cached_property
    def _known(self) -> re.Pattern[str] | None:
        if not self.values:
            return None
        alternatives = "|".join(re.escape(v) for v in sorted(self.values, key=lambda v: (-len(v), v)))
        return re.compile(r"(?<![A-Za-z0-9])(?:" + alternatives + r")(?![A-Za-z0-9])")

    def text(self, text: str) -> str:
        """`text` without secrets; the same `str` subclass (a tainted string stays tainted)."""
        if not isinstance(text, str) or not text:
            return text
        cleaned = redact_patterns(text)
        if self._known is not None:
            cleaned = self._known.sub(REDACTED, cleaned)
        if cleaned == text:
            return text
        return type(text)(cleaned) if type(text) is not str else cleaned

    def value(self, value: Any, name: str = "") -> Any:
        """A captured value (params, default_args) without secrets: strings are redacted, and so
        is any value under a password-like key."""
        if isinstance(value, str):
            return REDACTED if name and secret_for_name(name, value) else self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        return value

    def finding(self, finding: Finding) -> Finding:
        message = self.text(finding.message)
        return finding if message == finding.message else replace(finding, message=message)

    def findings(self, findings: Iterable[Finding]) -> tuple[Finding, ...]:
        return tuple(self.finding(f) for f in findings)

    def source(self, source: SqlSource) -> SqlSource:
        return replace(source, text=self.text(source.text))

    def dag(self, dag: Dag) -> Dag:
        return replace(
            dag,
            params=self.value(dict(dag.params)),
            default_args=self.value(dict(dag.default_args)),
            doc_md=self.text(dag.doc_md) if dag.doc_md is not None else None,
            description=self.text(dag.description) if dag.description is not None else None,
            schedule_datasets=tuple(self.text(uri) for uri in dag.schedule_datasets),
            tasks=tuple(self.task(task) for task in dag.tasks),
        )

    def task(self, task: Task) -> Task:
        return replace(
            task,
            sql=tuple(self.source(source) for source in task.sql),
            params=self.value(dict(task.params)),
            bash_command=self.text(task.bash_command) if task.bash_command is not None else None,
            sql_missing_reason=self.text(task.sql_missing_reason),
            opaque_reason=self.text(task.opaque_reason),
            outlets=tuple(self.text(outlet) for outlet in task.outlets),
            meta=self.value(dict(task.meta)),
        )

    def rendered(self, rendered: RenderedSql) -> RenderedSql:
        """Rendered SQL: an `{% include %}`d file may hold what the DAG file did not."""
        return replace(rendered, text=self.text(rendered.text), findings=self.findings(rendered.findings))

    def statement(self, statement: Statement) -> Statement:
        return replace(statement, sql=self.text(statement.sql), error=self.text(statement.error))

    def job(self, job: Job) -> Job:
        return replace(
            job,
            sources=tuple(self.source(s) for s in job.sources),
            rendered=tuple(self.rendered(r) for r in job.rendered),
            statements=tuple(self.statement(s) for s in job.statements),
            findings=self.findings(job.findings),
        )
