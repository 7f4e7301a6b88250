"""A free-text patient note → ``models.Patient``, every fact with the sentence it came from.

"A 58-year-old African-American woman … She is known to have hypertension and obesity. She
denies smoking, diabetes, hypercholesterolemia … She currently takes no medications."
Concepts are found with the criteria parser's lexicons (conditions, procedures, drugs, lab
measures), so patient and criteria speak one vocabulary. Negation follows NegEx (Chapman et al.
2001): a cue ("denies", "no", "without", "negative for") negates the concepts after it up to the
end of its clause or a scope breaker ("but", "however"); facts about relatives are left out.
"""

from __future__ import annotations

import re
from datetime import date

from models.patient import ConditionFact, Evidence, LabResult, MedicationFact, Patient, ProcedureFact

from ..criteria.doc import Doc
from ..criteria.mentions import find_mentions
from ..criteria.quantities import find_quantities

_NUMBERED_LINE = re.compile(r"^\s*\d+\.\s+", re.M)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])|\n+")
_AGE = re.compile(
    r"\b(\d{1,3}(?:\.\d)?)[- ]?(?:(year|yr|month|week|day)s?[- ]?old|(y/?o|yo)\b)|\baged?\s+(\d{1,3})\b", re.I)
_FEMALE = re.compile(r"\b(woman|female|girl|lady|mother|wife|she|her|gravida|G\dP\d)\b", re.I)
_MALE = re.compile(r"\b(man|male|boy|gentleman|father|husband|he|his)\b", re.I)
_NEGATION_CUE = re.compile(
    r"\b(?:no|not|denies|denied|deny|without|negative\s+for|free\s+of|absence\s+of|never|ruled\s+out|"
    r"rules\s+out|nor|unremarkable\s+for|no\s+evidence\s+of|no\s+history\s+of|no\s+signs?\s+of)\b", re.I)
_SCOPE_BREAK = re.compile(r"\b(?:but|however|although|though|except|aside\s+from|apart\s+from|which|who|whereas)\b|[;:]", re.I)
_RELATIVE = re.compile(
    r"\b(?:family\s+history|mother|father|sister|brother|sibling|aunt|uncle|grand(?:mother|father|parent)s?|"
    r"cousin|parents?|son|daughter|relatives?)\b[^.;]*$", re.I)
_CURRENT = re.compile(r"\b(?:currently|now|presently|on|takes|taking|receiving|maintained\s+on)\b", re.I)
_PAST = re.compile(r"\b(?:previously|history\s+of|had|was\s+treated|treated\s+with|received|s/p|status\s+post|underwent|prior)\b", re.I)
_PREGNANT = re.compile(
    r"\b(?:is|currently|now|\d+[- ]weeks?)\s+pregnant\b|\bpregnant\s+(?:woman|women|patient|female|girl|mother)\b|"
    r"\b\d+\s+weeks?\s+(?:of\s+)?(?:gestation|pregnancy)\b|\bgestational\s+age\b", re.I)
_NOT_PREGNANT = re.compile(r"\b(?:not\s+pregnant|negative\s+pregnancy|pregnancy\s+test\s+(?:is\s+|was\s+)?negative)\b", re.I)
_WILL_CONSENT = re.compile(r"\bwill\s+(?:provide|give|sign)\s+(?:written\s+)?informed\s+consent\b", re.I)


def sentences(note: str) -> list[str]:
    text = _NUMBERED_LINE.sub("", note.strip())
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _negated(sentence: str, start: int) -> bool:
    before = sentence[:start]
    cues = list(_NEGATION_CUE.finditer(before))
    if not cues:
        return False
    return not _SCOPE_BREAK.search(before[cues[-1].end():])


def _about_relative(sentence: str, start: int) -> bool:
    clause = re.split(r"[.;]", sentence[:start])[-1]
    return bool(_RELATIVE.search(clause))


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
        if quantity.op == "=" and sentence[mention.end:quantity.start].strip(" :=,ofisaws").strip() == "":
            unit = quantity.unit.rstrip(".,;:") if quantity.unit else None
            return LabResult(name=info.synonyms[0] if info.synonyms else info.id, value=quantity.value,
                             unit=unit, measure=info.id, loinc=info.loinc)
    return None


def patient_from_note(note: str, *, patient_id: str = "patient", as_of: date | None = None) -> Patient:
    """Every fact the note states about the patient, each with its sentence as evidence."""
    age, sex = _age_and_sex(note)
    patient = Patient(id=patient_id, as_of=as_of or date.today(), age=round(age, 2) if age else None,
                      sex=sex, note=note)
    seen: set[tuple[str, str]] = set()
    for number, sentence in enumerate(sentences(note)):
        evidence = Evidence(f"note sentence {number}", sentence)
        if _WILL_CONSENT.search(sentence) and not _negated(sentence, _WILL_CONSENT.search(sentence).start()):
            patient.will_consent = True
        if _NOT_PREGNANT.search(sentence):
            patient.pregnant = False
        elif _PREGNANT.search(sentence) and not _negated(sentence, _PREGNANT.search(sentence).start()):
            patient.pregnant = True
        doc = Doc.from_text(sentence)
        find_mentions(doc)
        for mention in doc.mentions:
            if _about_relative(sentence, mention.start):
                continue
            negated = _negated(sentence, mention.start)
            payload = mention.payload
            if mention.type == "measure":
                lab = _lab_after(sentence, mention, payload)
                if lab:
                    lab.evidence = evidence
                    patient.labs.append(lab)
                continue
            name = getattr(payload, "name", None) or getattr(payload, "drug", None) or getattr(payload, "drug_class", None)
            if not name or (mention.type, name) in seen:
                continue
            seen.add((mention.type, name))
            if mention.type == "condition":
                patient.conditions.append(ConditionFact(name=name, negated=negated, evidence=evidence))
            elif mention.type == "procedure":
                patient.procedures.append(ProcedureFact(name=name, negated=negated, evidence=evidence))
            elif mention.type == "drug" and payload.drug:
                before = sentence[: mention.start]
                current = True if _CURRENT.search(before) and not _PAST.search(before) else None
                patient.medications.append(MedicationFact(name=name, current=current, negated=negated, evidence=evidence))
    return patient
