"""Jinja templates shipped with the tool (the `templates/` folder, beside this package both in a
source checkout and in an installed wheel)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@cache
def template_environment() -> jinja2.Environment:
    """Our own templates: trusted, but autoescaped for HTML so user data can never become markup."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_template(name: str, **context: object) -> str:
    return template_environment().get_template(name).render(**context)
