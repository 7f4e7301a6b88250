"""Component: therapies (drugs and drug classes), conditions and procedures, with negation,
history/current timing, time windows in days, exceptions ("other than corticosteroids") and
examples ("B-cell depleting therapy (e.g., rituximab)")."""

from __future__ import annotations

import re
from functools import lru_cache

from models import Constraint

from . import cues
from .doc import Doc, Mention
from .drugs import DrugMention, lexicon as drug_lexicon
from .temporal import Window, find_windows

# A drug named as the study's own treatment ("before first ianalumab infusion").
_STUDY_DRUG = re.compile(r"\b(?:first|last|initial|start\s+of|initiation\s+of|study|the\s+study|"
                         r"investigational)\b[\s\w(),/-]{0,45}$", re.I)
_ALLERGY = re.compile(r"\b(?:allerg\w*|hypersensitiv\w*|contraindicat\w*|sensitivity|"
                      r"reactions?|anaphyla\w*|idiosyncra\w*|(?:can\s*not|cannot|unable\s+to|not\s+able\s+to)\s+"
                      r"(?:use|take|receive|be\s+(?:given|treated\s+with)))\b[^.;]{0,40}$", re.I)
# "conditions disallowing administration of anti-HER2 therapy", "co-morbidity that would interact
# with the application of cytotoxic agents": what a condition rules out, not a therapy given.
_PRECLUDED = re.compile(r"\b(?:disallow\w*|preclud\w*|prohibit\w*|interact\w*\s+with|interfer\w*\s+with|"
                        r"(?:would|could|may|might)\s+(?:not\s+)?(?:allow|permit)|prevent\w*\s+(?:the\s+)?"
                        r"(?:use|administration|application|receipt|delivery))\b[^.;]{0,50}$", re.I)
# "According to HERCEPTIN and PERJETA SPCs": a drug's documents cited, not a therapy given.
_CITED_BEFORE = re.compile(r"\b(?:according\s+to|as\s+per|as\s+described\s+in|refer\s+to|see)\s+(?:the\s+)?"
                           r"(?:[\w-]+\s*(?:,|and|or|/)?\s*){0,3}$", re.I)
_CITED_AFTER = re.compile(r"^(?:\s*(?:,|and|or|/)\s*[\w-]+){0,3}\s*(?:'s\s+)?(?:SmPCs?|SPCs?|labels?|label(?:l)?ing|"
                          r"prescribing\s+information|package\s+inserts?|product\s+information|monographs?|"
                          r"investigator'?s?\s+brochures?)\b", re.I)
# "beta blockers are contraindicated": a statement about the patient's intolerance, not a therapy.
_ALLERGY_AFTER = re.compile(r"^[^.;]{0,30}?\b(?:(?:is|are)\s+)?contraindicated\b", re.I)
# How a therapy went, as a criterion asks it: it failed (refractory, resistant, no or an
# inadequate response, progression on it) or was not tolerated ("refractory to or intolerant of
# corticosteroids", "inadequate response to methotrexate", "platinum-resistant").
_FAILED = (r"refractor\w*|resistan(?:t|ce)|fail(?:ed|ure|ing)?|non-?respon\w*|unrespons\w*|"
           r"did\s+not\s+respond|(?:inadequate|insufficient|suboptimal|incomplete|poor|no|lack\s+of|loss\s+of|lost)\s+"
           r"(?:clinical\s+|treatment\s+|therapeutic\s+)?respon\w*|progress(?:ed|ion|ing)\s+(?:on|after|during|following|while)")
_INTOLERANT = r"intoleran\w*|(?:could\s*not|cannot|can\s*not|unable\s+to|did\s+not|fail(?:ed|ure)\s+to)\s+tolerate|not\s+tolerated"
_OUTCOME_CUES = {name: re.compile(rf"\b(?:{words})\b", re.I) for name, words in (("failed", _FAILED), ("intolerant", _INTOLERANT))}
_OUTCOME_AFTER = {name: re.compile(rf"^(?:-|\s+(?:that\s+|which\s+)?(?:has\s+|have\s+|had\s+|was\s+|were\s+|is\s+)?)(?:{words})\b", re.I)
                  for name, words in (("failed", _FAILED), ("intolerant", _INTOLERANT))}
# "heart failure on beta-blockers", "glucose intolerance": an organ's or a function's, not a therapy's
_ORGAN_BEFORE = re.compile(r"\b(?:heart|cardiac|renal|kidney|liver|hepatic|respiratory|pulmonary|organ|marrow|ovarian|"
                           r"ventricular|congestive|adrenal|glucose|lactose|exercise|orthostatic|screen(?:ing)?)"
                           r"[\s-]*$", re.I)
OUTCOME_REACH = 50  # characters between the cue and the therapy it is about
# A therapy named as an option, not as something given ("no standard chemotherapy available",
# "candidate for surgery").
_OPTION_BEFORE = re.compile(r"\b(?:candidates?|eligible|suitable|fit|unfit|unwilling|refus\w*|declin\w*|"
                            r"standard|curative|approved)\s+(?:for\s+)?(?:[\w-]+\s+){0,2}$", re.I)
_OPTION_AFTER = re.compile(r"^[^.;]{0,25}?\b(?:is|are)?\s*(?:not\s+)?(?:available|exists?|an\s+option|"
                           r"options?|feasible|possible|indicated)\b", re.I)
# A condition named as what a drug treats or causes, not as a diagnosis.
_MODIFIER_AFTER = re.compile(r"^[\s-]*(?:[a-z]+\s+)?(?:treatments?|therap(?:y|ies)|medications?|drugs?|"
                             r"agents?|pharmacotherap\w*|medicines?|products?|"
                             r"regimens?|specialists?|clinics?|trials?|studies|study|"
                             r"vaccines?|vaccination|immune\s+globulins?|immunoglobulins?|hyperimmune|toxoids?|"
                             r"antitoxins?|antiser(?:um|a)|screening|guidelines?|criteria|"
                             r"-?related|-?associated|induced)\b", re.I)


_CONTRACEPTION_BEFORE = re.compile(r"\b(?:contracepti(?:on|ve)|birth\s+control)\b", re.I)
# Between the items of a carved-out list: "basal cell carcinoma of the skin, squamous cell
# carcinoma of the skin, or in situ cervical cancer" (not "…, or any other malignancy", not the
# examples after it: "other than AD, such as major depression").
_EXCEPTED_LIST = re.compile(r"^(?!.*\b(?:any|other|all|such|including|includes|e\.g|i\.e|like)\b)\s*(?:,|;|or|and|and/or|nor|/)\s*(?:(?:or|and|,)\s*)?(?:(?:[\w-]+|\(\w+\))\s+){0,6}$", re.I)
_LIST_GAP = re.compile(r"^\s*(?:,|;)?\s*(?:or|and|and/or|nor|/)?\s*(?:[a-z-]+\s+){0,2}$", re.I)


def _window_for(windows: list[Window], m: Mention, doc: Doc) -> Window | None:
    """The first window after the mention in its sentence, else the nearest before it."""
    sentence_end = m.end + len(doc.clause_after(m.end))
    # a window after a lab value times the lab ("ITP, and a platelet count < 30 measured within 2
    # days"), not what came before it
    measures = [x.start for x in doc.mentions if x.type == "measure" and x.start >= m.end]
    after = [w for w in windows if m.end <= w.start <= sentence_end and not any(p < w.start for p in measures)]
    if after:
        return after[0]
    before = [w for w in windows if w.end <= m.start and "." not in doc.text[w.end:m.start]]
    return before[-1] if before else None


def _timing(doc: Doc, m: Mention, window: Window | None, default: str | None) -> str | None:
    """"prior" with a window or a history cue, "current" with a current one, else ``default``."""
    if window:
        return "prior"
    ctx = doc.context_at(m.start, m.end)
    return "prior" if ctx.historical else "current" if ctx.current else default


def extract_events(doc: Doc) -> None:
    events = [m for m in doc.mentions if m.type in ("drug", "condition", "procedure")]
    if not events:
        return
    windows = find_windows(doc.text)
    classes_named: set[str] = set()
    last: Constraint | None = None
    last_end = -1
    context_negated = bool(doc.context and re.match(
        r"^\W*(?:no|none\s+of|absence\s+of|without|must\s+not|should\s+not|free\s+of)\b", doc.context, re.I))
    excepted_end = -1  # end of the last mention carved out: the rest of its list is carved out too
    for m in events:
        if doc.is_skipped(m.start) or cues.optional(doc, m.start):
            continue
        if cues.excepted(doc, m.start) or (excepted_end >= 0 and _EXCEPTED_LIST.match(doc.text[excepted_end:m.start])):
            excepted_end = m.end
            if last is not None and (last.drug_class or last.name):
                label = _label(m)
                last.excluding = f"{last.excluding}; {label}" if last.excluding else label
            continue
        if m.type == "drug":
            c = _therapy(doc, m, windows, classes_named)
        else:
            c = _clinical(doc, m, windows)
        if c is None:
            continue
        if last is not None and last.negated and not c.negated and _LIST_GAP.match(doc.text[last_end:m.start]):
            c.negated = True  # "no history of MI or stroke": the cue covers the whole list
        if context_negated:
            c.negated = not c.negated
        doc.add(c, m.start, m.end)
        last, last_end = c, m.end


def _label(m: Mention) -> str:
    p = m.payload
    if isinstance(p, DrugMention):
        return p.drug_class or p.drug
    return p.name


def _therapy(doc: Doc, m: Mention, windows: list[Window], classes_named: set[str]) -> Constraint | None:
    p: DrugMention = m.payload
    before = doc.text[max(0, m.start - 60):m.start]
    clause = doc.clause_before(m.start)
    if _STUDY_DRUG.search(before) or _ALLERGY.search(clause[-60:]) or _PRECLUDED.search(clause[-90:]) or \
            (_CITED_BEFORE.search(before) and _CITED_AFTER.match(doc.text[m.end:m.end + 60])) or \
            _OPTION_BEFORE.search(before) or _OPTION_AFTER.match(doc.text[m.end:m.end + 40]) or \
            _ALLERGY_AFTER.match(doc.text[m.end:m.end + 40]):
        return None
    if cues.example(doc, m.start):
        if _CONTRACEPTION_BEFORE.search(doc.text, 0, m.start):
            return None  # "effective contraception (e.g., oral contraceptives)": a method, not a therapy
        classes = drug_lexicon().with_ancestors(drug_lexicon().classes_of.get(p.drug, set())) if p.drug else set()
        if classes & classes_named:
            return None  # an example of a class already named
    if p.drug_class:
        classes_named.add(p.drug_class)
    window = _window_for(windows, m, doc)
    c = Constraint(type="therapy", drug=p.drug, drug_class=p.drug_class,
                   timing=_timing(doc, m, window, "any"), negated=doc.context_at(m.start, m.end).negated,
                   outcome=_outcome(doc, m))
    if window:
        c.within_days = window.days
        if window.washout:  # "at least 4 weeks since", with or without a "no": not within
            c.negated = True
    return c


def _outcome(doc: Doc, m: Mention) -> str | None:
    """What the criterion asks of how the therapy went: "failed", "intolerant", both, or None."""
    before, after = doc.clause_before(m.start)[-(OUTCOME_REACH + 30):], doc.text[m.end:m.end + 30]
    found = [name for name, cue in _OUTCOME_CUES.items()
             if _OUTCOME_AFTER[name].match(after) or any(
                 len(before) - c.end() <= OUTCOME_REACH and not _ORGAN_BEFORE.search(before[:c.start()])
                 for c in cue.finditer(before))]
    return "|".join(found) or None


# A condition named as what a therapy was for ("prior endocrine therapy for this malignancy").
_INDICATION_BEFORE = re.compile(r"\b(?:causes?|etiolog(?:y|ies)|aetiolog(?:y|ies)|risk\s+factors?|"
                                r"therap(?:y|ies)|treatments?|treated|chemotherapy|radiotherapy|"
                                r"surgery|drugs?|medications?|agents?|prophylaxis|vaccines?)\s+"
                                r"(?:for|of|against)\s+(?:the\s+|this\s+|their\s+|his\s+|her\s+|any\s+)?$", re.I)


# A severity or control the criterion requires of a condition ("uncontrolled hypertension",
# "unstable angina", "severe hepatic impairment"), which its mere presence does not show.
_SEVERITY = r"(uncontrolled|poorly[\s-]controlled|unstable|decompensated|severe|refractory)"
_SEVERITY_BEFORE = re.compile(rf"\b{_SEVERITY}\s+(?:[a-z-]+\s+){{0,2}}$", re.I)
_SEVERITY_INSIDE = re.compile(rf"{_SEVERITY}\s", re.I)
_ACTIVE_BEFORE = re.compile(r"\bactive\s+(?:[a-z-]+\s+){0,3}$", re.I)
_SEVERITY_WORDS = ("controlled", "unstable", "decompensated", "severe", "refractory")

# A word before a broad disease name that narrows it to a kind the vocabulary has no name for
# ("myeloid malignancy", "gastrointestinal malignancy", "fungal keratitis", "left atrial
# hypertension"): the record's disease must say so too, or it is to confirm — never any cancer.
_BROAD_HEADINGS = frozenset({"Neoplasms", "Infections", "Hypertension", "Keratitis", "Hepatitis", "Arthritis",
                             "Anemia", "Neuropathy", "Peripheral Nervous System Diseases", "Vasculitis"})
_NARROWING_BEFORE = re.compile(r"\b([A-Za-z]{3,}(?:oid|ic|al|ar|ary)|upper|lower|solid|GI|CNS)[\s-]+$")
_GENERIC_ADJECTIVES = frozenset("""clinical clinically significant medical historical chronic physical general local
    potential critical additional serious previous concurrent intercurrent typical usual total partial principal primary
    original initial final natural normal abnormal actual special personal social functional surgical pathological
    histological cytological radiological radiographic symptomatic asymptomatic systemic metastatic malignant
    similar particular regular annual major minor dual multifocal focal diagnostic therapeutic genetic
    evaluable unresectable locoregional regional terminal fatal lethal vital essential secondary tertiary""".split())

@lru_cache(maxsize=4096)
def _cue_words(text: str) -> tuple[bool, bool]:
    """Cheap tests before the cue patterns: (a severity, "active") named in ``text``."""
    low = text.lower()
    return any(w in low for w in _SEVERITY_WORDS), "active" in low


def _clinical(doc: Doc, m: Mention, windows: list[Window]) -> Constraint | None:
    info = m.payload
    ctx = doc.context_at(m.start, m.end)
    if info.kind == "condition":
        if _MODIFIER_AFTER.match(doc.text[m.end:m.end + 25]) or \
                _INDICATION_BEFORE.search(doc.text[max(0, m.start - 40):m.start]) or ctx.family or ctx.hypothetical:
            return None  # what a drug treats, a cause, a relative's condition, a risk ("at risk for bleeding")
    window = _window_for(windows, m, doc)
    timing = _timing(doc, m, window, "any" if info.kind == "procedure" else None)
    c = Constraint(type=info.kind, name=info.name, mesh_term=info.mesh_term, timing=timing, negated=ctx.negated)
    if info.kind == "condition":
        severity, active = _cue_words(doc.text)
        qualifier = severity and (_SEVERITY_BEFORE.search(doc.text[max(0, m.start - 45):m.start]) or
                                  _SEVERITY_INSIDE.match(doc.text[m.start:m.end] + " "))  # "unstable angina"
        if qualifier:  # "uncontrolled hypertension": the record must say it is uncontrolled
            c.value_text = re.sub(r"[\s-]+", " ", qualifier.group(1).lower())
        elif active and _ACTIVE_BEFORE.search(doc.text[max(0, m.start - 60):m.start]):
            c.value_text = "active"  # "active infection": a history of one is not enough
        elif info.mesh_term in _BROAD_HEADINGS:
            narrowing = _NARROWING_BEFORE.search(doc.text[max(0, m.start - 30):m.start])
            if narrowing and narrowing.group(1).lower() not in _GENERIC_ADJECTIVES:
                c.value_text = narrowing.group(1).lower()  # "myeloid malignancy" is not any cancer
    if window:
        c.within_days = window.days
        if window.washout:  # "at least 4 weeks since", with or without a "no": not within
            c.negated = True
    if c.timing is None and doc.context and re.search(r"\bhistory\s+of\b", doc.context, re.I):
        c.timing = "prior"
    return c
