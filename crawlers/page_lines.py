"""A web page (HTML) or its text → the lines a reader sees, in order. Pure functions.

HTML is parsed by BeautifulSoup (lxml), never run: scripts, styles, navigation, forms and
footers are dropped. Every block element (headings, paragraphs, list items, table cells, terms
and definitions, line breaks) starts a new line, so label/value pairs come out the same whether
the page lays them out as ``<h3>``/``<p>``, ``<dt>``/``<dd>``, ``<th>``/``<td>`` or
``<strong>Label:</strong> value``. List items start with "• ", as pages show them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

BLOCKS = frozenset(
    "address article aside blockquote caption dd details div dl dt figcaption figure h1 h2 h3 h4 h5 h6 "
    "hr li main ol p pre section summary table tbody td tfoot th thead tr ul".split()
)
DROPPED = frozenset("script style noscript template nav footer form iframe svg button select textarea head".split())
_SPACE = re.compile(r"\s+")


@dataclass
class PageText:
    lines: list[str]  # stripped; "" marks a paragraph break in text pages
    heading: str | None = None  # the page's <h1>, taken out of the lines
    canonical_url: str | None = None  # <link rel=canonical> or og:url
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text), in page order


def looks_like_html(content: bytes | str) -> bool:
    head = (content[:2048].decode("utf-8", "replace") if isinstance(content, bytes) else content[:2048]).lstrip().lower()
    return head.startswith("<") and any(tag in head for tag in ("<html", "<body", "<!doctype", "<div", "<p", "<h1", "<h2", "<table", "<dl"))


def text_lines(text: str) -> PageText:
    return PageText([_SPACE.sub(" ", line).strip() for line in text.splitlines()])


def html_lines(content: bytes | str) -> PageText:
    try:
        soup = BeautifulSoup(content, "lxml")
    except ValueError:  # a declared charset lxml refuses (a NUL in its name): read the bytes as UTF-8
        soup = BeautifulSoup(content.decode("utf-8", "replace") if isinstance(content, bytes) else content, "lxml")
    canonical = soup.find("link", rel="canonical") or soup.find("meta", property="og:url")
    canonical_url = (canonical.get("href") or canonical.get("content")) if canonical else None
    links = [(a["href"].strip(), _SPACE.sub(" ", a.get_text(" ")).strip()) for a in soup.find_all("a", href=True)]
    for element in soup.find_all(DROPPED):
        element.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    heading = None
    first_h1 = soup.find("h1")
    if first_h1 is not None:
        heading = _SPACE.sub(" ", first_h1.get_text(" ")).strip() or None
        first_h1.decompose()
    lines: list[str] = []
    _walk(soup.body or soup, lines, [""])
    return PageText([line for line in lines if line], heading, canonical_url, links)


def _walk(node: Tag, lines: list[str], current: list[str]) -> None:
    """Append the text under ``node`` to ``current[0]``, flushing it to ``lines`` at block edges."""
    for child in node.children:
        if isinstance(child, NavigableString):
            current[0] += str(child)
        elif isinstance(child, Tag):
            if child.name == "br":
                _flush(lines, current)
            elif child.name in BLOCKS:
                _flush(lines, current)
                if child.name == "li":
                    current[0] = "• "
                _walk(child, lines, current)
                _flush(lines, current)
            else:
                _walk(child, lines, current)


def _flush(lines: list[str], current: list[str]) -> None:
    text = _SPACE.sub(" ", current[0]).strip()
    if text and text != "•":
        lines.append(text)
    current[0] = ""
