"""Segmentation: eligibility text → inclusion/exclusion items with offsets in the original.

Handles section headings ("Inclusion Criteria:", "Key Exclusion Criteria", "INCLUSION:",
"Patients must not…", "DISEASE CHARACTERISTICS:"), headings inline in a flattened line
("inclusion criteria: … exclusion criteria: …"), bullets of every kind (``*``, ``-``, ``•``,
``1.``, ``1)``, ``(a)``, ``ii.``), nested bullets (a child carries its parent's lead-in as
``context``), the flattened one-line listing (``• a. - b. - c.``), ``~`` used as a line break,
hard-wrapped lines, and Windows line endings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import CleanText, clean


@dataclass
class Segment:
    kind: str  # "inclusion" or "exclusion"
    start: int  # offsets in the original text
    end: int
    clean: CleanText
    context: str | None = None

    @property
    def text(self) -> str:
        return self.clean.text


_HEADING = re.compile(
    r"""^\W{0,3}(?:(?:key|main|major|primary|principal|general|specific|additional|other|
        main\s+study|study|patient|participant|subject)\s+)?
        (?P<word>inclusion|exclusion|eligibility|entry|selection|non[-\s]?inclusion|ineligibility|
        disease\s+characteristics|patient\s+characteristics|prior\s+concurrent\s+therapy|
        prior/concurrent\s+therapy|protocol\s+entry\s+criteria)
        (?:\s+(?:and|/|or)\s+(?:exclusion|inclusion))?
        (?:(?P<criteria>\s*criteri(?:a|on|as))?(?:\s+(?:for|-)\s*[^:\n]{1,60}?)?\s*(?:[:.\-–]|$)|
           (?P<verb>\s*criteri(?:a|on)\s+(?:include[sd]?|are|were|is)(?:\s+the\s+following)?\s*:?))\s*""",
    re.I | re.X)
# Sentences that open a section without a heading.
_LEAD_IN = re.compile(
    r"^\W{0,3}(?:(?:patients?|participants?|subjects?|individuals?|persons?|volunteers?|"
    r"candidates?|women|men|children)\s+(?:(?:who|that)\s+(?:meet|fulfil+|satisfy|have)\s+|"
    r"(?P<ex>must\s+not|will\s+(?:not\s+be\s+(?:eligible|included|enrolled)|be\s+excluded)|"
    r"are\s+(?:not\s+eligible|excluded|ineligible)|cannot|may\s+not|should\s+not)|"
    r"must|will\s+be\s+(?:eligible|included)|are\s+eligible|may\s+be\s+included|should)"
    r"[^:\n]{0,80}?(?:the\s+following|criteria|if)[^:\n]{0,40}:)", re.I)
_INLINE_HEADING = re.compile(
    r"(?<=\S)\s+(?=(?:key\s+|main\s+)?(?:inclusion|exclusion)\s+criteria\s*(?::|-\s|"
    r"(?:include[sd]?|are|were)\b))", re.I)
_BULLET = re.compile(
    r"""^(?P<indent>[ \t]*)(?P<marker>
        [-*•·▪◦●○■□►➢➤✓✔⁃–—]+(?=\s|\S)|
        \(?\d{1,2}[.)](?!\d)|\(\d{1,2}\)|
        \(?[a-zA-Z][.)](?=\s)|\([a-zA-Z]\)|
        \(?(?:i{1,3}|iv|v|vi{1,3}|ix|x|I{1,3}|IV|V|VI{1,3}|IX|X)[.)](?=\s)|\((?:i{1,3}|iv|v|vi{1,3}|ix|x)\)
        )[ \t]*""", re.X)
# " - " (or " • ") between items of a flattened listing: "…consent. - Male or female…"; not a
# range ("(1 - ≤3cm)").
_FLAT_BULLET = re.compile(r"(?<!\d)\s+[-•·▪–]\s+(?=[A-Z(\"'0-9≥≤<>])")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
# A lead-in that only announces its sub-items.
_PURE_LEAD_IN = re.compile(
    r"\b(?:the\s+following|as\s+follows|(?:any|one|all|each)\s+of)\b|"
    r"(?:below|defined\s+as|criteria|include|includes|including|such\s+as|e\.g\.|i\.e\.)\s*:\s*$|"
    r"^\W*\w+(?:\s+\w+)?\s*:\s*$", re.I)


# A lead-in that turns the items under it into exclusions ("Excluded:", "Not allowed:").
_EXCLUDING_CONTEXT = re.compile(r"\b(?:excluded|exclusion|not\s+(?:allowed|permitted|eligible)|prohibited|"
                                r"must\s+not|ineligible)\b", re.I)


@dataclass
class _Item:
    kind: str
    start: int
    end: int
    indent: int  # indentation of the bullet marker, -1 without a marker
    marker: str
    flat_children: bool = False  # later items of one flattened line belong to this lead-in
    group: int = -1  # pieces of one flattened line share a group


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line without its line break; "~" breaks lines in texts that use
    it instead of newlines."""
    if text.count("\n") + text.count("\r") < 2 and text.count("~") >= 2:
        spans, pos = [], 0
        for m in re.finditer(r"~", text):
            spans.append((pos, m.start()))
            pos = m.end()
        spans.append((pos, len(text)))
        return spans
    out = []
    for m in _LINE.finditer(text):
        if m.start() == len(text) and m.end() == m.start():
            break
        out.append((m.start(), m.start() + len(m.group().rstrip("\r\n"))))
    return out


def _heading_kind(word: str, current: str) -> str:
    w = word.lower()
    if w.startswith(("exclusion", "non", "inelig")):
        return "exclusion"
    if w.startswith("inclusion"):
        return "inclusion"
    return "inclusion" if w.startswith(("disease", "patient", "prior", "protocol", "entry",
                                        "selection")) else current


# What may stand before an inline "exclusion criteria" that is part of the same heading ("Key
# exclusion criteria", "INCLUSION / EXCLUSION CRITERIA").
_QUALIFIER_ONLY = re.compile(r"^\W*(?:key|main|major|primary|general|specific|additional|other|"
                             r"(?:inclusion|exclusion)\s*(?:/|and|or|&))\s*$", re.I)


def _split_inline_headings(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s, e in spans:
        cuts = [m.end() for m in _INLINE_HEADING.finditer(text, s, e)
                if not _QUALIFIER_ONLY.match(text[s:m.start()])]
        for c in cuts:
            out.append((s, c))
            s = c
        out.append((s, e))
    return out


def _items(text: str) -> list[_Item]:
    items: list[_Item] = []
    kind = "inclusion"
    prev_blank = True
    prev_len = 0
    for s, e in _split_inline_headings(text, _lines(text)):
        line = text[s:e]
        full_len = len(line)
        stripped = line.strip()
        if not stripped:
            prev_blank = True
            continue
        lead = len(line) - len(line.lstrip())
        # a hard-wrapped line of a bulleted item ("…within 30 days prior to / study entry.") is
        # never a heading
        wrapped = bool(items) and not prev_blank and items[-1].indent >= 0 and lead > items[-1].indent
        heading = None if wrapped else _HEADING.match(line[lead:])
        if heading and heading.group("word").lower() in ("entry", "selection") and not heading.group("criteria"):
            heading = None  # "Entry:" alone is no heading; "Entry criteria:" is
        if heading:
            word = heading.group("word")
            kind = _heading_kind(word, kind)
            if re.search(r"inclusion\s+(?:and|/|or)\s+exclusion", heading.group(0), re.I):
                kind = "inclusion"
            rest = s + lead + heading.end()
            prev_blank, prev_len = True, 0
            if rest >= e or not text[rest:e].strip():
                continue
            s, line, lead = rest, text[rest:e], 0
        elif not wrapped:
            lead_in = _LEAD_IN.match(line[lead:])
            if lead_in:
                kind = "exclusion" if lead_in.group("ex") else "inclusion"
                rest = s + lead + lead_in.end()
                prev_blank, prev_len = True, 0
                if not text[rest:e].strip():
                    continue
                s, line, lead = rest, text[rest:e], 0
        bullet = _BULLET.match(line)
        if bullet and bullet.end() < len(line):
            items.append(_Item(kind, s + bullet.end(), e, len(bullet.group("indent").expandtabs(4)),
                               bullet.group("marker")))
        elif items and not prev_blank and items[-1].kind == kind and (
                prev_len >= 60 or (items[-1].indent >= 0 and lead > items[-1].indent)):
            items[-1].end = e  # a hard-wrapped line continues the item
        else:
            items.append(_Item(kind, s + lead, e, -1, ""))
        prev_blank = False
        prev_len = full_len
    return _split_inline_lists(text, _split_flattened(text, items))


def _split_flattened(text: str, items: list[_Item]) -> list[_Item]:
    """Split "• a. - b. - c." listings into items; a piece ending with ":" leads the rest."""
    out: list[_Item] = []
    for item in items:
        seps = [m for m in _FLAT_BULLET.finditer(text, item.start, item.end)
                 if text.count("(", item.start, m.start()) <= text.count(")", item.start, m.start())]
        if not seps or (len(seps) < 2 and item.marker not in ("•", "-", "*", "·")):
            out.append(item)
            continue
        bounds = [item.start] + [m.end() for m in seps]
        ends = [m.start() for m in seps] + [item.end]
        pieces = [_Item(item.kind, b, x, item.indent, item.marker, group=len(out))
                  for b, x in zip(bounds, ends)]
        for piece in pieces[:-1]:
            piece.flat_children = text[piece.start:piece.end].rstrip().endswith(":")
        out.extend(pieces)
    return out


# A number or letter that goes on an item's own list inside its text: "…consent 5. LVEF ≥ 50%
# 6. ECOG 0-1 7. …", "…≥18 years 3a. Cohort 1 … 3b. …", "a) … b) …".
_INLINE_MARKER = re.compile(r"(?<=[^\s:])\s+\(?(?:(?P<n>\d{1,2})(?P<sub>[a-z])?|(?P<l>[a-z]))[.)]\s+(?=[A-Za-z(≥≤<>\"'])")
_LIST_LEAD = re.compile(r"\b(?:the\s+following|as\s+follows|(?:any|one|all|each|two|both|either)\s+of|"
                        r"\d\s+of|defined\s+as|includ\w*|such\s+as|e\.g|i\.e|criteria|either)\b", re.I)
_OWN_MARKER = re.compile(r"^\(?(?:(?P<n>\d{1,2})(?P<sub>[a-z])?|(?P<l>[a-z]))[.)]?$")


def _marker_key(m: re.Match) -> tuple[int, str]:
    """(number, letter) of a list marker; letters alone count as number 0."""
    return (int(m.group("n")), m.group("sub") or "") if m.group("n") else (0, m.group("l"))


def _follows(prev: tuple[int, str], key: tuple[int, str]) -> bool:
    n, sub = prev
    if key[0] == 0:  # a) b) c)
        return n == 0 and ord(key[1]) == ord(sub or "`") + 1
    if key[0] == n:  # 3a. 3b.
        return bool(sub) and bool(key[1]) and ord(key[1]) == ord(sub) + 1
    return key[0] == n + 1 and key[1] in ("", "a")


def _split_inline_lists(text: str, items: list[_Item]) -> list[_Item]:
    """Split an item at the markers that continue its own numbering (or a list it starts):
    each marker must follow the one before ("4. … 5. … 6. …"). An item whose text before the
    first marker leads its list ("at least 2 of: 1) … 2) …", "one of the following a) … b) …")
    stays whole: its entries are alternatives or parts of one criterion."""
    everywhere = list(_INLINE_MARKER.finditer(text))
    if not everywhere:
        return items
    out: list[_Item] = []
    for item in items:
        inside = [m for m in everywhere if item.start <= m.start() and m.end() <= item.end]
        if not inside:
            out.append(item)
            continue
        own = _OWN_MARKER.match(item.marker)
        prev = _marker_key(own) if own else None
        cuts = []
        for m in inside:
            if text[m.end()].islower() and text[item.start:m.start()].rstrip()[-1:] not in (";", ","):
                continue  # a lower-case entry only after "; " ("…Black; b) aged 18 or older; c) …")
            key = _marker_key(m)
            if prev is None:  # the item's text is the list's first entry, or leads it
                prev = (key[0] - 1, "") if key[0] else (0, "`") if key[1] == "a" else None
                if prev is None:
                    continue
            if _follows(prev, key):
                cuts.append(m)
                prev = key
        head = text[item.start:cuts[0].start()] if cuts else ""
        if not cuts or (not own and len(cuts) < 2) or head.rstrip().endswith(":") or _LIST_LEAD.search(head):
            out.append(item)
            continue
        bounds = [item.start] + [m.end() for m in cuts]
        ends = [m.start() for m in cuts] + [item.end]
        markers = [item.marker] + [m.group().strip() for m in cuts]
        out.extend(_Item(item.kind, b, e, item.indent, mk, group=item.group) for b, e, mk in zip(bounds, ends, markers))
    return out


# Lines that are no criterion: an amendment's label ("PER AMENDMENT 4/5/95:", "AMENDED:"), an
# empty section ("None", "N/A", "Not specified"), a connector left alone ("OR-").
_NOT_A_CRITERION = re.compile(
    r"^\W*(?:(?:(?:as\s+)?per\s+)?(?:[\d/.-]+\s+)?(?:protocol\s+)?(?:amendment|amended)(?:\s+(?:no\.?\s*)?[\d/.-]+)?|"
    r"none|nil|n/?a|not\s+(?:applicable|specified|stated)|no\s+(?:exclusion|inclusion)\s+criteria|or|and|and/or)\W*$",
    re.I)


_BOILERPLATE = re.compile(
    r"(?<=[.;])\s+(?=(?:other|additional|further)\s+(?:protocol[-\s]defined\s+)?"
    r"(?:inclusion|exclusion|eligibility)[^.]{0,40}criteria\s+(?:may|will|might)\s+apply)", re.I)


def segment(text: str) -> list[Segment]:
    """Inclusion and exclusion items of an eligibility text, in order."""
    if not isinstance(text, str) or not text.strip():
        return []
    items = _items(text)
    segments: list[Segment] = []
    parents: list[tuple[int, str]] = []  # (indent, lead-in text) of open nested lists
    block: str | None = None  # lead-ins without a bullet over the bulleted items below them
    block_open = False  # the last item was such a lead-in (lead-ins chain: "Medication: Allowed")
    flat_parent: tuple[int, str] | None = None  # (group, lead-in) inside a flattened line
    for n, item in enumerate(items):
        spans = [(item.start, item.end)]
        cut = _BOILERPLATE.search(text, item.start, item.end)
        if cut:
            spans = [(item.start, cut.start()), (cut.end(), item.end)]
        for k, (s, e) in enumerate(spans):
            ct = clean(text, s, e)
            if not ct.text or not any(ch.isalnum() for ch in ct.text) or _NOT_A_CRITERION.match(ct.text):
                continue
            # Nesting by indentation: close lead-ins at the same or a deeper level.
            while parents and (item.indent < 0 or parents[-1][0] >= item.indent):
                parents.pop()
            if flat_parent and flat_parent[0] != item.group:
                flat_parent = None
            if item.indent < 0:
                if not block_open:
                    block = None
            context = parents[-1][1] if parents else (flat_parent[1] if flat_parent else block)
            if k > 0:  # a boilerplate sentence split off its item stands alone
                context = None
            nxt = items[n + 1] if n + 1 < len(items) else None
            leads = k == 0 and ct.text.endswith(":") and nxt is not None and nxt.kind == item.kind and (
                item.flat_children or (item.indent >= 0 and nxt.indent > item.indent))
            if leads:
                lead_text = ct.text.rstrip(":").strip()
                if item.flat_children:
                    flat_parent = (item.group, lead_text)
                else:
                    parents.append((item.indent, lead_text))
                if _PURE_LEAD_IN.search(ct.text):
                    continue
            if item.indent < 0 and ct.text.endswith(":") and nxt is not None and nxt.indent >= 0 \
                    and nxt.kind == item.kind:
                lead_text = ct.text.rstrip(":").strip()
                block = f"{block}: {lead_text}" if block_open and block else lead_text
                block_open = True
                if len(ct.text.split()) <= 8 or _PURE_LEAD_IN.search(ct.text):
                    continue
            else:
                block_open = False
            if (not leads and ct.text.endswith(":") and len(ct.text.split()) <= 6 and nxt is not None
                    and nxt.kind == item.kind):
                continue  # a short lead-in ("Subject must not:") before items at its own level
            kind = item.kind
            if context and kind == "inclusion" and _EXCLUDING_CONTEXT.search(context):
                kind = "exclusion"
            start, end = ct.span(0, len(ct.text))
            segments.append(Segment(kind, start, end, ct, context))
    return segments
