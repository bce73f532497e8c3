"""Jinja templates shipped with the tool (the `templates/` folder, beside this package both in a
source checkout and in an installed wheel)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# what ends a line for Python, SQL parsers or editors: none may reach a `-- comment` line
_LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def one_line(value: object) -> str:
    """Text for a `-- comment` line of generated SQL: its line breaks become spaces, so a dag_id,
    task_id, table name or message from the scanned repository cannot end the comment and add a
    statement of its own (`"t\nDROP TABLE x; --"`).

    >>> one_line("t\nDROP TABLE x; --")
    't DROP TABLE x; --'
    """
    return _LINE_BREAKS.sub(" ", str(value))


@cache
def template_environment() -> jinja2.Environment:
    """Our own templates: trusted, but autoescaped for HTML so user data can never become markup,
    and `|one_line` for user data in SQL comments."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["one_line"] = one_line
    return environment


def render_template(name: str, **context: object) -> str:
    return template_environment().get_template(name).render(**context)
