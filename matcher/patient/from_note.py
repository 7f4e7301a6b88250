"""A free-text patient note → ``models.Patient``, every fact with the sentence it came from.

"A 58-year-old African-American woman … She is known to have hypertension and obesity. She
denies smoking, diabetes, hypercholesterolemia … She currently takes no medications."
Concepts are found with the criteria parser's lexicons (conditions, procedures, drugs, lab
measures), so patient and criteria speak one vocabulary. What the words around a concept say
of it comes from the same context lexicon as the criteria's (ConText, ``matcher.criteria``):
negated before or after ("denies diabetes", "HIV negative", "diabetes was ruled out"), possible
or hypothetical ("possible PE", "rule out MI": kept, to confirm), a relative's (left out), past
or current; pseudo-negations are no negation ("no change in her diabetes").
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from models.patient import ConditionFact, Evidence, LabResult, MedicationFact, Patient, ProcedureFact

from ..criteria import (
    ContextScopes, find_measure, find_quantities, lexicon_mentions, panel_measures, panel_pattern, read_in_context,
)

_NUMBERED_LINE = re.compile(r"^\s*\d+\.\s+", re.M)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])|\n+")
_AGE = re.compile(
    r"\b(\d{1,3}(?:\.\d)?)[- ]?(?:(year|yr|month|week|day)s?[- ]?old|(y/?o|yo)\b)|\baged?\s+(\d{1,3})\b", re.I)
_FEMALE = re.compile(r"\b(woman|female|girl|lady|mother|wife|she|her|gravida|G\dP\d)\b", re.I)
_MALE = re.compile(r"\b(man|male|boy|gentleman|father|husband|he|his)\b", re.I)
_PREGNANT = re.compile(
    r"\b(?:is|currently|now|\d+[- ]weeks?)\s+pregnant\b|\bpregnant\s+(?:woman|women|patient|female|girl|mother)\b|"
    r"\b\d+\s+weeks?\s+(?:of\s+)?(?:gestation|pregnancy)\b|\bgestational\s+age\b", re.I)
_NOT_PREGNANT = re.compile(r"\b(?:not\s+pregnant|negative\s+(?:urine\s+|serum\s+)?(?:pregnancy|b?-?hcg)|"
                           r"pregnancy\s+test\b[^.;]{0,80}?\b(?:is|was|were|are)\s+negative)\b", re.I)
# "gave birth 3 weeks ago", "delivered a healthy child 10 days before": no longer pregnant.
_DELIVERED = re.compile(r"\b(?:gave|given|giving)\s+birth\b|\bdelivered\b|\bdelivery\b|\bpostpartum\b|"
                        r"\bpost-partum\b", re.I)
_MENOPAUSE = re.compile(r"\b(?:post-?menopausal|in\s+menopause|(?:reached|entered|through|after)\s+(?:the\s+)?"
                        r"menopause|menopause\s+(?:at|since)|surgical\s+menopause)\b", re.I)
_MENSTRUATING = re.compile(r"\b(?:pre-?menopausal|menstrual|menses|menstruation|periods)\b", re.I)
# "two weeks ago", "3 days earlier": when the facts of a clause happened, counted back from as_of.
_AGO = re.compile(r"\b(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
                  r"(?P<unit>hour|day|week|month|year)s?\s+(?:ago|before|earlier|prior)\b", re.I)
_CLAUSE = re.compile(r"[^,;]+")
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
# A class named as something other than what the patient takes ("steroid-induced", "NSAID allergy").
_CLASS_NOT_TAKEN = re.compile(r"^\s*-?\s*(?:induced|related|associated|allerg\w*|intoleran\w*|hypersensitiv\w*)\b", re.I)
# A drug class the note says the patient takes that makes the patient immunocompromised.
_IMMUNOSUPPRESSIVE_CLASSES = ("immunosuppressant",)
_WILL_CONSENT = re.compile(r"\bwill\s+(?:provide|give|sign)\s+(?:written\s+)?informed\s+consent\b", re.I)


def sentences(note: str) -> list[str]:
    text = _NUMBERED_LINE.sub("", note.strip())
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _negated(sentence: str, start: int, end: int | None = None) -> bool:
    return ContextScopes(sentence).at(start, end if end is not None else start + 1).negated


def _age_and_sex(text: str) -> tuple[float | None, str | None]:
    age = None
    match = _AGE.search(text)
    if match:
        number = float(match.group(1) or match.group(4))
        unit = (match.group(2) or "year").lower()
        age = number / {"year": 1, "yr": 1, "month": 12, "week": 52.18, "day": 365.25}[unit]
    head = text[: (match.end() + 60) if match else 200]
    female, male = _FEMALE.search(head), _MALE.search(head)
    if female and (not male or female.start() < male.start()):
        return age, "female"
    if male:
        return age, "male"
    female_words, male_words = len(_FEMALE.findall(text)), len(_MALE.findall(text))
    if female_words != male_words:
        return age, "female" if female_words > male_words else "male"
    return age, None


def _lab_after(sentence: str, mention, info) -> LabResult | None:
    """The value written right after a lab name: "platelet count of 22,000/µL", "Hb 9.5 g/dL"."""
    window_end = min(len(sentence), mention.end + 40)
    for quantity in find_quantities(sentence, mention.end, window_end):
        gap = _ABBREVIATION.sub("", sentence[mention.end:quantity.start])  # "hemoglobin (Hb) of 9.0 g/dL"
        if quantity.op == "=" and gap.strip(" :=,ofisaws").strip() == "":
            unit = quantity.unit.rstrip(".,;:") if quantity.unit else None
            return LabResult(name=info.synonyms[0] if info.synonyms else info.id, value=quantity.value,
                             unit=unit, measure=info.id, loinc=info.loinc)
    return None


_ABBREVIATION = re.compile(r"^\s*\([A-Za-z][\w-]{0,9}\)")
_BP_PAIR = re.compile(r"\s*(?:is|was|of|:|=|\s)*\s*(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})\b(?!\s*(?:min|hour|h\b|hpf))")


def _blood_pressure(sentence: str, mention) -> list[LabResult]:
    """"blood pressure is 80/60", "BP 155/98 mm Hg" → a systolic and a diastolic reading."""
    pair = _BP_PAIR.match(sentence, mention.end)
    if not pair or pair.start() - mention.end > 12:
        return []
    out = []
    for measure, value in (("blood_pressure", pair.group("sys")), ("systolic_blood_pressure", pair.group("sys")),
                           ("diastolic_blood_pressure", pair.group("dia"))):
        info = find_measure(measure)
        out.append(LabResult(name=info.synonyms[0] if info.synonyms else info.id, value=float(value), unit="mmHg",
                             measure=info.id, loinc=info.loinc))
    return out


def _days_ago(clause: str) -> int | None:
    match = _AGO.search(clause)
    if not match:
        return None
    n = match.group("n").lower()
    count = int(n) if n.isdigit() else _WORD_NUMBERS.get(n, 1)
    return round(count * {"hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}[match.group("unit").lower()])


def _clause_at(sentence: str, position: int) -> str:
    for clause in _CLAUSE.finditer(sentence):
        if clause.start() <= position < clause.end():
            return clause.group()
    return ""


# "The CBC is normal", "labs, including hemoglobin and TSH, are within normal limits", "normal ALT"
_NORMAL_AFTER = re.compile(r"\b(?:is|are|was|were|came\s+back)\s+(?:all\s+|entirely\s+|completely\s+)?(?:normal|"
                           r"within\s+(?:the\s+)?normal\s+(?:limits|range)|unremarkable|wnl)\b", re.I)
_NORMAL_BEFORE = re.compile(r"(?<!ab)\bnormal\s+", re.I)


def _normal_spans(sentence: str) -> list[tuple[int, int]]:
    """Stretches of a sentence that name results it calls normal."""
    spans = []
    for m in _NORMAL_AFTER.finditer(sentence):
        if not re.search(r"\bnot\s+(?:all\s+)?$", sentence[:m.start()] + " ", re.I) and \
                not re.search(r"\bnot\s*$", sentence[m.start():m.end() - len(m.group().split()[-1])], re.I):
            clause_start = max(sentence.rfind(";", 0, m.start()), sentence.rfind(":", 0, m.start())) + 1
            spans.append((clause_start, m.start()))
    for m in _NORMAL_BEFORE.finditer(sentence):
        end = len(sentence)
        stop = re.search(r"[,;.]|\bwith\b|\bbut\b", sentence[m.end():])
        spans.append((m.end(), m.end() + stop.start() if stop else end))
    return spans


def _normal_results(sentence: str, mentions, evidence: Evidence) -> dict[str, Evidence]:
    """Measures a sentence calls normal without giving their value (those given are dropped later)."""
    spans = _normal_spans(sentence) if "normal" in sentence.lower() or "unremarkable" in sentence.lower() else []
    found: dict[str, Evidence] = {}
    for start, end in spans:
        for panel in panel_pattern().finditer(sentence, start, end):
            for measure in panel_measures(panel.group()):
                found.setdefault(measure, evidence)
        for mention in mentions:
            if mention.type == "measure" and start <= mention.start < end:
                found.setdefault(mention.payload.id, evidence)
    return found


# "a solitary mass in the right frontal lobe", "a nodule in the left upper lobe of the lung"
_LOCATED_FINDING = re.compile(
    r"\b(?P<what>mass|nodule|lesion|lump)\s+(?:(?:is\s+)?(?:seen|noted|found|present)\s+)?(?:in|of|on|within|involving)\s+"
    r"(?:the\s+|his\s+|her\s+)?(?:(?:left|right|upper|middle|lower|anterior|posterior|superior|inferior)\s+)*"
    r"(?P<where>lung|lobe\s+of\s+the\s+lung|upper\s+lobe|lower\s+lobe|middle\s+lobe|frontal\s+lobe|parietal\s+lobe|"
    r"temporal\s+lobe|occipital\s+lobe|brain|cerebellum|liver|breast|kidney|pancreas|thyroid)\b", re.I)
_FINDING_SITE = {"lung": "lung mass", "lobe of the lung": "lung mass", "upper lobe": "lung mass",
                 "lower lobe": "lung mass", "middle lobe": "lung mass", "frontal lobe": "brain mass",
                 "parietal lobe": "brain mass", "temporal lobe": "brain mass", "occipital lobe": "brain mass",
                 "brain": "brain mass", "cerebellum": "brain mass", "liver": "liver mass", "breast": "breast mass",
                 "kidney": "kidney mass", "pancreas": "pancreatic mass", "thyroid": "thyroid nodule"}


def _located_findings(sentence: str) -> list[str]:
    out = []
    for m in _LOCATED_FINDING.finditer(sentence):
        context = ContextScopes(sentence).at(m.start(), m.end())
        if not (context.negated or context.family or context.possible or context.hypothetical):
            out.append(_FINDING_SITE[re.sub(r"\s+", " ", m.group("where").lower())])
    return out


def _in_context(sentence: str, mention, mentions):
    """A narrower diagnosis and the qualifiers the words around a condition give."""
    conditions = [m for m in mentions if m.type == "condition"]
    i = conditions.index(mention)
    return read_in_context(sentence, mention.start, mention.end,
                           conditions[i - 1].end if i else 0,
                           conditions[i + 1].start if i + 1 < len(conditions) else len(sentence))


# "diagnosed with X", "a history of X", "PMH: X": X is a diagnosis, understood or not.
_DIAGNOSIS_CUE = re.compile(
    r"\b(?:diagnosed\s+with|diagnosis\s+of|dx\s*(?:of|:)|known|pmh\s*(?:of|:|significant\s+for)|"
    r"past\s+medical\s+history\s*(?:is\s+)?(?:of|:|significant\s+for|includes?))\s+"
    r"(?:an?\s+|the\s+)?(?P<what>[A-Za-z][\w'’/+-]*(?:\s+[\w'’/+-]+){0,4}?)(?=\s*(?:[,.;:(]|$|\s(?:and|or|who|which|since|for|"
    r"on|in|at|with|that|presents?|presented|was|is|has|had|but|treated|diagnosed)\b))", re.I)
_NOT_A_DIAGNOSIS = re.compile(r"^(?:it|this|that|them|these|those|him|her|the|a|an|any|no|none|smoking|tobacco|"
                              r"alcohol|drug|drugs|surgery|treatment|therapy|medications?|allergies|allergy)\b", re.I)


def _unread_diagnoses(sentence: str, mentions) -> list[str]:
    """Diagnoses the note names that its phrase lookup did not find ("Parkinson's", "mBC"): kept
    as written, to be read as a whole diagnosis when matching, or confirmed when not understood."""
    out = []
    for m in _DIAGNOSIS_CUE.finditer(sentence):
        start, end = m.span("what")
        if any(x.start < end and start < x.end for x in mentions) or _NOT_A_DIAGNOSIS.match(m.group("what")):
            continue
        context = ContextScopes(sentence).at(start, end)
        if context.negated or context.family:
            continue
        out.append(m.group("what").strip())
    return out


def _menopause_status(note: str) -> bool | None:
    """True when the note says the patient is past menopause, False when it says she menstruates."""
    for sentence in sentences(note):
        found = _MENOPAUSE.search(sentence)
        if found and not _negated(sentence, found.start()):
            return True
    for sentence in sentences(note):
        found = _MENSTRUATING.search(sentence)
        if found and not _negated(sentence, found.start()) and not re.search(r"\bamenorrh", sentence, re.I):
            return False
    return None


def patient_from_note(note: str, *, patient_id: str = "patient", as_of: date | None = None) -> Patient:
    """Every fact the note states about the patient, each with its sentence as evidence."""
    age, sex = _age_and_sex(note)
    patient = Patient(id=patient_id, as_of=as_of or date.today(), age=round(age, 2) if age else None,
                      sex=sex, note=note)
    patient.menopausal = _menopause_status(note) if sex != "male" else None
    seen: set[tuple[str, str]] = set()
    for number, sentence in enumerate(sentences(note)):
        evidence = Evidence(f"note sentence {number}", sentence)
        if _WILL_CONSENT.search(sentence) and not _negated(sentence, _WILL_CONSENT.search(sentence).start()):
            patient.will_consent = True
        if _NOT_PREGNANT.search(sentence):
            patient.pregnant = False
        elif _PREGNANT.search(sentence) and not _negated(sentence, _PREGNANT.search(sentence).start()):
            patient.pregnant = True
        elif patient.pregnant is None and _DELIVERED.search(sentence):
            # gave birth within the last 12 weeks: not pregnant now
            days = _days_ago(_clause_at(sentence, _DELIVERED.search(sentence).start()))
            if days is not None and days <= 84:
                patient.pregnant = False
        mentions = lexicon_mentions(sentence)
        scopes = ContextScopes(sentence)
        for mention in mentions:
            context = scopes.at(mention.start, mention.end)
            if context.family:
                continue  # a relative's
            negated = context.negated
            payload = mention.payload
            if mention.type == "measure":
                labs = _blood_pressure(sentence, mention) if payload.id == "blood_pressure" else []
                lab = None if labs else _lab_after(sentence, mention, payload)
                for lab in labs or ([lab] if lab else []):
                    lab.evidence = evidence
                    patient.labs.append(lab)
                continue
            name = getattr(payload, "name", None) or getattr(payload, "drug", None) or getattr(payload, "drug_class", None)
            if not name or (mention.type, name) in seen:
                continue
            seen.add((mention.type, name))
            if mention.type == "condition":
                days = _days_ago(_clause_at(sentence, mention.start))
                onset = patient.as_of - timedelta(days=days) if days is not None else None
                narrower, qualifiers = _in_context(sentence, mention, mentions)
                if narrower is not None:  # "diabetes mellitus type 2": the words around say which
                    seen.add((mention.type, narrower.name))
                patient.conditions.append(ConditionFact(
                    name=narrower.name if narrower else name, negated=negated, onset=onset, past=context.historical,
                    possible=not negated and (context.possible or context.hypothetical), evidence=evidence,
                    qualifiers=qualifiers))
            elif mention.type == "procedure":
                days = _days_ago(_clause_at(sentence, mention.start))
                when = patient.as_of - timedelta(days=days) if days is not None else None
                patient.procedures.append(ProcedureFact(name=name, date=when, negated=negated, evidence=evidence))
            elif mention.type == "drug":
                current = True if context.current else None
                if payload.drug:
                    patient.medications.append(MedicationFact(name=name, current=current, negated=negated, evidence=evidence))
                elif not _CLASS_NOT_TAKEN.search(sentence[mention.end:mention.end + 30]):
                    # "She was prescribed NSAIDs": a member of the class, which one unsaid
                    patient.medications.append(MedicationFact(name=sentence[mention.start:mention.end], current=current,
                                                              negated=negated, evidence=evidence))
                if payload.drug_class in _IMMUNOSUPPRESSIVE_CLASSES and not negated and current:
                    # "on immunosuppressive medications": an immunocompromised host
                    patient.conditions.append(ConditionFact(name="immunosuppressed", evidence=evidence))
        for phrase in _unread_diagnoses(sentence, mentions):
            if ("condition", phrase.lower()) not in seen:
                seen.add(("condition", phrase.lower()))
                patient.conditions.append(ConditionFact(name=phrase, evidence=evidence))
        for finding in _located_findings(sentence):
            if ("condition", finding) not in seen:
                seen.add(("condition", finding))
                patient.conditions.append(ConditionFact(name=finding, evidence=evidence))
        for measure, where in _normal_results(sentence, mentions, evidence).items():
            patient.normal_results.setdefault(measure, where)
    given = {lab.measure for lab in patient.labs}  # a value the note gives decides, not "normal"
    patient.normal_results = {m: ev for m, ev in patient.normal_results.items() if m not in given}
    return patient
