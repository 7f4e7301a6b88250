"""Words around a mention that make it optional, an exception or an example; and sentences
that state no rule at all. Negation, a relative's, history and current time come from the
shared context lexicon (``context.py``, through ``Doc.context_at``)."""

from __future__ import annotations

import re

from .doc import Doc

_OPTIONAL = re.compile(r"(?:±|\+/-|with\s+or\s+without|and/?or\s+optionally|optional(?:ly)?)\s*\(?\s*$", re.I)
_EXCEPT = re.compile(
    r"\b(?:other\s+than|except(?:\s+for)?|excepting|excluding|with\s+the\s+exceptions?\s+of|apart\s+from|"
    r"besides|but\s+not(?!\s+(?:limited|restricted|exclusively|only|necessarily))|not\s+including|save\s+for|exceptions?\s*(?:include|are|being|:))\b(?:(?!such\s+as|including|e\.g)[^.;()]){0,40}$", re.I)
_EXAMPLE = re.compile(r"\b(?:e\.\s?g\.?|for\s+example|such\s+as|including|includ(?:es|ing)|i\.e\.?|like)\b"
                      r"[^.;()]{0,60}$|\(\s*(?:e\.\s?g\.?|eg|for\s+example|such\s+as|including)\b[^)]*$",
                      re.I)
# Sentences that allow, explain or make exceptions: they state no requirement.
_NO_RULE = re.compile(
    r"^\s*(?:if|unless|note|notes|nb|n\.b\.|for\s+(?:patients|participants|subjects)\s+who|"
    r"in\s+case|where\s+applicable|\(?\s*note)\b|"
    r"\b(?:(?:is|are|will\s+be|would\s+be|may\s+be)\s+(?:allowed|permitted|acceptable|eligible|"
    r"not\s+(?:excluded|an?\s+exclusion))|do(?:es)?\s+not\s+need|need\s+not|"
    r"(?:is|are|be|was|were)\s+not\s+required|"
    r"may\s+(?:participate|receive|continue|be\s+(?:included|enrolled|treated|given|used|continued))|"
    r"can\s+be\s+(?:included|enrolled)|"
    r"is\s+not\s+considered)\b", re.I)


def optional(doc: Doc, start: int) -> bool:
    return bool(_OPTIONAL.search(doc.text[max(0, start - 25):start]))


def excepted(doc: Doc, start: int) -> bool:
    return bool(_EXCEPT.search(doc.clause_before(start)[-60:]))


def example(doc: Doc, start: int) -> bool:
    return bool(_EXAMPLE.search(doc.text[max(0, start - 70):start]))


# Cheap test before the sentence patterns: one of these strings is in every sentence they match.
_NO_RULE_HINTS = ("if", "unless", "note", "n.b", "nb", "for patients", "for participants", "may ",
                  "for subjects", "in case", "where applicable", "allowed", "permitted", "acceptable",
                  "eligible", "exclu", "need", "required", "participate", "included", "enrolled",
                  "considered")
_PARENTHESIS = re.compile(r"\(([^()]*)\)")
_PERMITTING_CONTEXT = re.compile(r"(?:^|:\s*)(?:allowed|permitted|acceptable|optional)\s*$", re.I)
# A line that carves exceptions out of the criterion above it ("EXCEPTIONS: non-melanoma skin
# cancer, carcinoma in situ of the cervix"): what is still allowed, not an exclusion of its own.
_EXCEPTIONS_LEAD = re.compile(r"^\W*(?:exceptions?|except)\s*(?:[:\u2013-]|\s+(?:are|include|includes)\b)", re.I)


def mark_sentences_without_rules(doc: Doc) -> None:
    """Component: remember the sentences that state no requirement (permissions, notes,
    conditionals, items under an "Allowed:" lead-in) so no constraint is read from them."""
    if (doc.context and _PERMITTING_CONTEXT.search(doc.context)) or _EXCEPTIONS_LEAD.match(doc.text):
        doc.skipped.append((0, len(doc.text)))
        return
    low = doc.text.lower()
    if not any(hint in low for hint in _NO_RULE_HINTS):
        return
    text = doc.text
    if "(" in text:
        # an allowance in parentheses qualifies its sentence; the rest still states a rule
        # ("on a stable regimen for 2 months (dose adjustments during the study are acceptable)")
        for m in _PARENTHESIS.finditer(text):
            if _NO_RULE.search(m.group(1)) and text[:m.start()].strip(" -*•\t"):
                doc.skipped.append((m.start(), m.end()))
                text = text[:m.start()] + " " * (m.end() - m.start()) + text[m.end():]
    for m in re.finditer(r"[^.;]+(?:[.;](?=\s|$)|$)", text):
        if _NO_RULE.search(m.group()):
            doc.skipped.append((m.start(), m.end()))


# An exclusion written as the requirement it enforces ("Must not have received X", "Patients
# may not be pregnant"): the patient is excluded when the opposite holds.
_REQUIREMENT = re.compile(
    r"^\W*(?:(?:the\s+)?(?:patients?|participants?|subjects?|individuals?|candidates?|women|men|"
    r"volunteers?|he|she|they)\s+)?(?:(?:must|should|shall|may)\s+not|(?:cannot|can't|can\s+not)\s+"
    r"(?=(?:have|be|receive|take|use|undergo|had)\b))", re.I)
_POLAR = ("therapy", "condition", "procedure", "reproductive")


def requirement_polarity(doc: Doc) -> None:
    """Component: in an exclusion that states its requirement ("Must not have received
    immunosuppressants"), what excludes is the opposite: flip the negation of what it names."""
    if doc.kind != "exclusion" or not _REQUIREMENT.match(doc.text):
        return
    for f in doc.found:
        if f.constraint.type in _POLAR:
            f.constraint.negated = not f.constraint.negated
