"""The title of a listing page: the trial's, not the site's, nor a sentence of its summary. Pure functions.

In order: a labelled title ("Study title: …"), the page's ``h1`` (not the site's logo, which
``page_lines`` leaves out), schema.org's name, the ``<title>`` without the site's name, or a text
page's first line standing alone (unless it reads as a sentence). A page with none of these
(like the seed listing) is titled by its intervention and condition ("Ianalumab in primary
ITP"), and only failing that by its summary's first sentence.
"""

from __future__ import annotations

import re

from models.trial import Intervention

from .page_lines import Line, PageText

_NCT_ONLY = re.compile(r"NCT\d{8}")
_GENERIC = re.compile(r"((research|clinical|medical|the|this|our|a|an|study|studies|trial|trials|details?|"
                      r"information|about|page|listing|overview|summary)\b\s*)+", re.I)
_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|·|»)\s+")
_SITE_WORDS = re.compile(r"\b(trials?|studies|study register|registry|register|results|finder|view|home|"
                         r"clinicaltrials\.gov)\b", re.I)
# A sentence of a summary, not a title: "To evaluate …", "The purpose of this study is …" (a verb
# within its first eight words, not in a clause like "… Patients Who Are …"). On the registry's
# records this takes 9 of 7,461 titles for sentences, and half of the summaries' first sentences.
_SENTENCE = re.compile(r"(?:to\s+\w+|(?:(?!who\b|that\b|which\b)\S+\s+){1,7}(?:is|are|will|was|were)\s)", re.I)
_CONDITION_IN_SUMMARY = re.compile(
    r"\b(?:patients|participants|subjects|people|adults|children|women|men)\s+with\s+(.+?)"
    r"(?=\s+(?:who|previously|after|that|treated|receiving|on|in)\b|[,.;:(]|$)", re.I)


def _names_site(part: str, page: PageText) -> bool:
    """The part is not the trial's title: the site's name (as the page names it), a bare NCT id,
    or only generic words ("Research study", "Trial details")."""
    return (bool(_NCT_ONLY.fullmatch(part)) or part.casefold() == (page.site_name or "").casefold()
            or "clinicaltrials.gov" in part.casefold() or bool(_GENERIC.fullmatch(part)))


def _worded_like_site(part: str) -> bool:
    return len(part.split()) <= 6 and bool(_SITE_WORDS.search(part))


def title_without_site(title: str | None, page: PageText) -> str | None:
    """``Study of X | Acme Clinical Trials`` → ``Study of X``: parts at either end that name the
    site (or are generic), else that are short and worded like a site's name ("Full Text View",
    "Acme Trial Finder"), are cut one at a time while more than one part is left. What is left is
    no title if it names the site, or is worded like one after a site's name was cut."""
    if not title:
        return None
    parts = _SEPARATOR.split(title)
    separators = _SEPARATOR.findall(title)
    cut_name = False
    while len(parts) > 1:
        ends = [i for i in (-1, 0) if _names_site(parts[i], page)]
        cut_name = cut_name or bool(ends)
        ends = ends or [i for i in (-1, 0) if _worded_like_site(parts[i])]
        if not ends:
            break
        parts, separators = (parts[:-1], separators[:-1]) if ends[0] == -1 else (parts[1:], separators[1:])
    left = parts[0] + "".join(sep + part for sep, part in zip(separators, parts[1:]))
    return None if _names_site(left, page) or (cut_name and _worded_like_site(left)) else left


def page_title(labelled: str | None, page: PageText, preamble: list[Line]) -> tuple[str | None, list[Line]]:
    """(the page's own title, if it shows one, and the lines before its first label without it)."""
    title = (labelled or next((h for h in page.headings if not _names_site(h, page)), None)
             or page.schema.get("name") or title_without_site(page.title, page))
    if (title is None and len(preamble) > 1 and preamble[1].text == "" and len(preamble[0].text) <= 300
            and not _SENTENCE.match(preamble[0].text)):
        title, preamble = preamble[0].text, preamble[1:]  # a text page's first line, standing alone
    return title, preamble


def built_title(interventions: list[Intervention], conditions: list[str], summary: str | None) -> str:
    """"Ianalumab in primary ITP": the interventions (not placebo) in the first condition, or the
    condition the summary names ("… in adult patients with primary ITP previously …"); failing
    that, the summary's first sentence."""
    names = [i.name for i in interventions if i.name and "placebo" not in i.name.lower()][:2]
    condition = conditions[0] if conditions else None
    if condition is None and (match := _CONDITION_IN_SUMMARY.search(summary or "")):
        condition = match.group(1)
    if names and condition:
        return f"{' and '.join(names)} in {condition}"
    return _first_sentence(summary)


def _first_sentence(text: str | None, limit: int = 300) -> str:
    if not text:
        return ""
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + "…"
