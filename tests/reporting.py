"""The sample repository's migration report, built the way a user builds it (generate, then report)
but without the JVM: validation and equivalence stay `skipped`, so the report is fast and stable."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from analyzer.cli import app

from .conftest import SAMPLES

TIMESTAMP = "2024-01-15T06:00:00Z"
DATA_ELEMENT = re.compile(r'<script type="application/json" id="kappa-report-data">(.*?)</script>', re.DOTALL)


def build_sample_report(out: Path) -> Path:
    """`kappa generate samples --out OUT` then `kappa report OUT`; returns OUT."""
    runner = CliRunner()
    generated = runner.invoke(app, ["generate", str(SAMPLES), "--out", str(out), "--force"])
    assert generated.exit_code == 0, generated.output
    reported = runner.invoke(app, ["report", str(out), "--timestamp", TIMESTAMP])
    assert reported.exit_code == 0, reported.output
    return out


def embedded_data(html: str) -> Any:
    """The JSON the page embeds (the data its scripts read)."""
    match = DATA_ELEMENT.search(html)
    assert match, "no embedded report data"
    return json.loads(match.group(1))


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's parser sees them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))
