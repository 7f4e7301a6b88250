"""A web page (HTML) or its text → the lines a reader sees, in order. Pure functions.

HTML is parsed by BeautifulSoup (lxml), never run: scripts, styles, navigation, forms, footers
and buttons (except a button that is a heading's text, as accordions write them) are dropped.
Every block element (headings, paragraphs, list items, table cells, terms and definitions, line
breaks, elements styled ``display: block``) starts a new line, so label/value pairs come out the
same whether the page lays them out as ``<h3>``/``<p>``, ``<dt>``/``<dd>``, ``<th>``/``<td>``,
``<strong>Label:</strong> value`` or a label ``<span>`` before its value. A table whose first row
holds only headings over one row of cells ("Condition or disease | Intervention/treatment |
Phase") is read column by column, each heading over its cell. Captions that are not labels
("Layout table for eligibility information") are dropped.

Each line keeps what the markup said about it: how deep in nested lists it is, whether it starts
a list item, how far it is indented with non-breaking spaces, the label element it starts with
(a heading, ``dt``, ``th``, a table row's first cell, ``strong``, ``b``, a ``caption`` or
``summary``, or an element whose class names it a label), and whether that element is the whole
line, as a heading or a term (``dt``, a row's ``th`` or first cell; not a heading over columns).

The page's schema.org description (JSON-LD, or microdata) of a MedicalTrial or MedicalStudy is
kept as a flat property → text mapping (name, identifier, phase, status, sponsor, …).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

BLOCKS = frozenset(
    "address article aside blockquote caption dd details div dl dt figcaption figure h1 h2 h3 h4 h5 h6 "
    "hr li main ol p pre section summary table tbody td tfoot th thead tr ul".split()
)
DROPPED = frozenset("script style noscript template nav footer form iframe svg button select textarea head".split())
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
LABEL_BLOCKS = HEADINGS | {"dt", "th", "caption", "summary", "legend", "label"}
LABEL_INLINE = frozenset({"strong", "b"})
_LABEL_CLASS = re.compile(r"(^|[-_])(label|term|key|field-?name)($|[-_])", re.I)
_SPACE = re.compile(r"\s+")
_DISPLAY_BLOCK = re.compile(r"display\s*:\s*(block|flex|grid|list-item|table)", re.I)
_TRIAL_TYPES = ("MedicalTrial", "MedicalStudy")


@dataclass
class Line:
    text: str
    depth: int = 0  # how many lists (ul/ol) it is in; 0 outside lists
    item: bool = False  # the first line of a list item
    indent: int = 0  # leading spaces (text) or non-breaking spaces (HTML)
    label: str | None = None  # the text of the label element the line starts with (all of it for a heading)
    block: str | None = None  # the label element the whole line is: "heading" (h1–h6) or "term" (dt, th, a row's first cell, …)


@dataclass
class PageText:
    lines: list[Line]  # text pages keep "" lines: they mark paragraph breaks
    headings: list[str] = field(default_factory=list)  # the page's <h1>s but the site's logo, taken out of the lines
    title: str | None = None  # <title>
    site_name: str | None = None  # og:site_name, application-name, the site header's h1 or its home link
    canonical_url: str | None = None  # <link rel=canonical> or og:url
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text), in page order
    schema: dict[str, str] = field(default_factory=dict)  # schema.org MedicalTrial properties


def looks_like_html(content: bytes | str) -> bool:
    head = (content[:2048].decode("utf-8", "replace") if isinstance(content, bytes) else content[:2048]).lstrip().lower()
    return head.startswith("<") and any(tag in head for tag in ("<html", "<body", "<!doctype", "<div", "<p", "<h1", "<h2", "<table", "<dl"))


def text_lines(text: str) -> PageText:
    lines = []
    for raw in text.splitlines():
        expanded = raw.replace("\t", "    ").replace("\u00a0", " ")
        lines.append(Line(_SPACE.sub(" ", expanded).strip(), indent=len(expanded) - len(expanded.lstrip())))
    return PageText(lines)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def html_lines(content: bytes | str, is_label: Callable[[str], bool] = lambda text: False) -> PageText:
    """The page's lines; ``is_label`` says which texts are labels (for captions and label-classed
    elements, and for reading a table by columns)."""
    try:
        soup = BeautifulSoup(content, "lxml")
    except ValueError:  # a declared charset lxml refuses (a NUL in its name): read the bytes as UTF-8
        soup = BeautifulSoup(content.decode("utf-8", "replace") if isinstance(content, bytes) else content, "lxml")
    canonical = soup.find("link", rel="canonical") or soup.find("meta", property="og:url")
    site = soup.find("meta", property="og:site_name") or soup.find("meta", attrs={"name": "application-name"})
    page = PageText(
        [], title=_clean(soup.title.get_text(" ")) or None if soup.title else None,
        site_name=(_clean(site.get("content") or "") or None if site else None) or _site_heading(soup),
        canonical_url=(canonical.get("href") or canonical.get("content")) if canonical else None,
        links=[(a["href"].strip(), _clean(a.get_text(" "))) for a in soup.find_all("a", href=True)],
        schema=_schema_org(soup),
    )
    for button in soup.find_all("button"):
        if button.find_parent(HEADINGS) is not None:
            button.unwrap()  # an accordion's heading
    for element in soup.find_all(DROPPED):
        element.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for caption in soup.find_all("caption"):
        if not is_label(caption.get_text(" ")):
            caption.decompose()
    for heading in soup.find_all("h1"):
        if (text := _clean(heading.get_text(" "))) and not _in_site_header(heading):
            page.headings.append(text)
        heading.decompose()
    walker = _Walker(is_label)
    walker.walk(soup.body or soup)
    walker.flush()
    page.lines = walker.lines
    return page


def _in_site_header(element: Tag) -> bool:
    """In the site's own header (a <header> outside the page's main content or article), or
    marked as the logo or brand."""
    header = element.find_parent("header")
    named = " ".join(element.get("class") or []) + " " + (element.get("id") or "")
    return ((header is not None and header.find_parent(("main", "article")) is None)
            or bool(re.search(r"logo|brand|site-?(name|title)|masthead", named, re.I)))


def _site_heading(soup: BeautifulSoup) -> str | None:
    """The site's name as its header shows it: an h1 there, or the text of a link to the home page."""
    for heading in soup.find_all("h1"):
        if _in_site_header(heading) and (text := _clean(heading.get_text(" "))):
            return text
    for link in soup.find_all("a", href=True):
        if link["href"].strip() in ("/", "./", "/index.html") and (text := _clean(link.get_text(" "))) and link.find_parent("header"):
            return text
    return None


class _Walker:
    """Collects the text under a node into Lines, flushing at block edges."""

    def __init__(self, is_label: Callable[[str], bool]):
        self.is_label = is_label
        self.lines: list[Line] = []
        self.text = ""
        self.label: str | None = None
        self.depth = 0
        self.item_pending = False
        self.block: str | None = None

    def flush(self) -> None:
        text = _clean(self.text)
        if text:
            indent = len(self.text) - len(self.text.lstrip(" \n\t\r\u00a0"))
            nbsp = self.text[:indent].count("\u00a0")
            label = self.label if self.label and text.startswith(self.label) else None
            self.lines.append(Line(text, self.depth, self.item_pending, nbsp, label, self.block if label == text else None))
            self.item_pending = False
        self.text, self.label, self.block = "", None, None

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                self.text += str(child)
            elif isinstance(child, Tag):
                self.element(child)

    def element(self, tag: Tag) -> None:
        name = tag.name
        if name == "br":
            self.flush()
        elif name == "table" and (columns := self._columns(tag)) is not None:
            self.flush()
            for heading, cell in columns:
                self.lines.append(Line(heading, self.depth, label=heading, block="term"))
                self.walk(cell)
                self.flush()
        elif name in ("ul", "ol"):
            self.flush()
            self.depth += 1
            self.walk(tag)
            self.flush()
            self.depth -= 1
        elif name == "li":
            self.flush()
            self.item_pending = True
            self.walk(tag)
            self.flush()
            self.item_pending = False
        elif name in BLOCKS or _DISPLAY_BLOCK.search(tag.get("style") or ""):
            self.flush()
            self.walk(tag)
            if name in LABEL_BLOCKS or (name == "td" and self._first_of_row(tag)):
                self.label = _clean(self.text) or None
                self.block = "heading" if name in HEADINGS else None if name == "th" and self._column_heading(tag) else "term"
            self.flush()
        else:
            starts_line = not _clean(self.text)
            self.walk(tag)
            if starts_line and self.label is None and (name in LABEL_INLINE or self._label_class(tag)):
                self.label = _clean(self.text) or None

    def _label_class(self, tag: Tag) -> bool:
        return any(_LABEL_CLASS.search(name) for name in tag.get("class") or []) and self.is_label(tag.get_text(" "))

    @staticmethod
    def _first_of_row(cell: Tag) -> bool:
        row = cell.find_parent("tr")
        cells = row.find_all(("td", "th"), recursive=False) if row is not None else []
        return len(cells) >= 2 and cells[0] is cell

    @staticmethod
    def _column_heading(cell: Tag) -> bool:
        """A heading in a row of headings (over columns), not a row's label."""
        row = cell.find_parent("tr")
        return row is not None and row.find("td", recursive=False) is None

    def _columns(self, table: Tag) -> list[tuple[str, Tag]] | None:
        """(heading, cell) pairs of a table with one row of headings over one row of cells, when
        a heading is a known label; None for any other table."""
        rows = [row for row in table.find_all("tr") if row.find_parent("table") is table]
        if len(rows) != 2:
            return None
        heads, cells = (row.find_all(("td", "th"), recursive=False) for row in rows)
        headings = [_clean(cell.get_text(" ")) for cell in heads]
        if (len(heads) < 2 or len(heads) != len(cells) or any(cell.name != "th" for cell in heads)
                or any(cell.name != "td" for cell in cells) or not any(map(self.is_label, headings))):
            return None
        return list(zip(headings, cells))


# ---------------------------------------------------------------------------- schema.org

def _schema_org(soup: BeautifulSoup) -> dict[str, str]:
    found: dict[str, str] = {}
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            document = json.loads(script.string or "")
        except (ValueError, RecursionError):  # not JSON, or nested beyond reason: no description
            continue
        for thing in _json_things(document):
            for key, value in thing.items():
                if not key.startswith("@") and (text := _json_text(value)):
                    found.setdefault(key, text)
    for scope in soup.find_all(itemscope=True, itemtype=re.compile("|".join(_TRIAL_TYPES))):
        for element in scope.find_all(itemprop=True):
            if element.find_parent(itemscope=True) is scope:
                value = element.get("content") or element.get("href") or element.get_text(" ")
                if text := _clean(value):
                    found.setdefault(element["itemprop"], text)
    return found


def _json_things(document) -> list[dict]:
    """The MedicalTrial / MedicalStudy objects of a JSON-LD document: itself, the objects of a
    list, or those of its @graph."""
    things = document if isinstance(document, list) else [document]
    things = [thing for thing in things if isinstance(thing, dict)]
    things += [thing for top in things if isinstance(top.get("@graph"), list) for thing in top["@graph"] if isinstance(thing, dict)]
    return [thing for thing in things if set(_as_list(thing.get("@type"))) & set(_TRIAL_TYPES)]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _json_text(value, depth: int = 0) -> str | None:
    """A JSON-LD value as text: strings as they are, an object by its name (or value), a list joined by "; "."""
    if isinstance(value, str):
        return _clean(value) or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if depth > 2:
        return None
    if isinstance(value, dict):
        return _json_text(value.get("name") or value.get("value"), depth + 1)
    if isinstance(value, list):
        return "; ".join(text for item in value if (text := _json_text(item, depth + 1))) or None
    return None
