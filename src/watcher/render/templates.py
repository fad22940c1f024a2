"""The one way watcher makes a jinja2 environment: escaping by default, whatever the name.

Every template's output is HTML-escaped (pages, Atom feeds, HTML mail, and any template an
operator adds under another extension) except plain-text mail (`.txt`), where escaping would
show `&amp;` to the reader. Every value, in every template, also loses what no medium should
carry from remote text: control characters and bidi overrides (`watcher.text.clean`), so
text stored before that cleaning existed is harmless too.
"""

from __future__ import annotations

from typing import Any

from jinja2 import BaseLoader, Environment
from markupsafe import Markup

from watcher.text import clean

PLAIN_TEXT = (".txt",)


def escapes_html(name: str | None) -> bool:
    """Whether a template's values are HTML-escaped: all but plain-text mail."""
    return not (name or "").endswith(PLAIN_TEXT)


def _cleaned(value: Any) -> Any:
    if isinstance(value, Markup):  # already escaped: keep it so, minus the controls
        return Markup(clean(str(value)))  # noqa: S704 (escaped text, less some characters)
    if isinstance(value, str):
        return clean(value)
    return value


def environment(loader: BaseLoader, **options: Any) -> Environment:
    """A jinja2 environment over `loader` that escapes by default (see the module)."""
    return Environment(
        loader=loader,
        autoescape=escapes_html,  # noqa: S701 (True for all but plain text)
        finalize=_cleaned,
        **options,
    )
