"""Where bundled data lives: `rubrics/` and `templates/` at the top of a checkout, or the copies
installed inside the package (`cchc_xls/_data/…`) when installed from a wheel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2


def data_dir(name: str) -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / name, here / "_data" / name):
        if candidate.is_dir():
            return candidate
    return here.parent / name


@lru_cache(maxsize=1)
def jinja_env() -> jinja2.Environment:
    """Jinja2 for the text templates in templates/ (plain text: no HTML autoescape)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render_text(template: str, **context) -> str:
    return jinja_env().get_template(template).render(**context)
