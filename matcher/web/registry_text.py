"""Registry free text (summaries, eligibility criteria) as safe HTML.

API v2 records write these fields in markdown (``* `` bullets, ``\\<`` escapes); legacy XML
records write plain text with the registry's indentation. Markdown is rendered with raw HTML
turned off, so any tag in the registry text comes out escaped, and with images turned off, so
a page never loads anything from outside. Plain text is escaped and keeps its line breaks.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

MARKDOWN_FORMATS = {"ctgov-api-v2"}

_markdown = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
_BLANK_RUNS = re.compile(r"\n{3,}")


def render_markdown(text: str) -> Markup:
    return Markup(f'<div class="registry-text">{_markdown.render(text)}</div>')


def render_plain(text: str) -> Markup:
    lines = "\n".join(line.strip() for line in text.replace("\r\n", "\n").split("\n"))
    body = escape(_BLANK_RUNS.sub("\n\n", lines).strip())
    return Markup(f'<div class="registry-text registry-plain">{body}</div>')  # pre-line: in the stylesheets


def render_registry_text(text: str, source_format: str | None) -> Markup:
    """HTML for one registry text field, by the format of the record it came from."""
    if source_format in MARKDOWN_FORMATS:
        return render_markdown(text)
    return render_plain(text)
