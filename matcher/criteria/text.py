"""Cleaned text that remembers where each of its characters came from in the original."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Markdown escapes of the API v2 ("\<", "\>", "\*"), HTML entities the registry leaves in,
# and runs of whitespace (line breaks of hard-wrapped text included).
_CLEAN = re.compile(
    r"\\([<>*_\[\]()#+\-.!|~`=\\^])|&(lt|gt|amp|le|ge|quot|apos|nbsp);|\s+")
_ENTITY = {"lt": "<", "gt": ">", "amp": "&", "le": "≤", "ge": "≥", "quot": '"', "apos": "'",
           "nbsp": " "}


@dataclass
class CleanText:
    """``text`` with ``offsets[i]`` = index in the original of ``text[i]`` (one extra entry
    at the end for the end of the span)."""

    text: str
    offsets: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of ``text[start:end]``."""
        if end <= start:
            o = self.offsets[min(start, len(self.offsets) - 1)]
            return o, o
        return self.offsets[start], self.offsets[end - 1] + 1


def clean(original: str, start: int, end: int) -> CleanText:
    """``original[start:end]`` with escapes removed and whitespace collapsed to single spaces,
    stripped at both ends."""
    parts: list[str] = []
    offsets: list[int] = []
    pos = start
    for m in _CLEAN.finditer(original, start, end):
        if m.start() > pos:
            parts.append(original[pos:m.start()])
            offsets.extend(range(pos, m.start()))
        if m.group(1) is not None:
            parts.append(m.group(1))
            offsets.append(m.start() + 1)
        elif m.group(2) is not None:
            parts.append(_ENTITY[m.group(2)])
            offsets.append(m.start())
        else:
            parts.append(" ")
            offsets.append(m.start())
        pos = m.end()
    if pos < end:
        parts.append(original[pos:end])
        offsets.extend(range(pos, end))
    text = "".join(parts)
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    offsets = offsets[lead:lead + len(stripped)]
    offsets.append(offsets[-1] + 1 if offsets else end)
    return CleanText(stripped, offsets)
