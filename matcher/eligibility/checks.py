"""One constraint against one patient → a Check: true, false or unknown, with the reason.

``truth`` says whether the constraint's statement holds for the patient (before the
constraint's own ``negated`` flag is applied). ``bears`` says whether the patient's record said
anything about it (a fact present or explicitly denied, a measurement taken); absent facts count
as absent, by the clinical convention, but do not "bear".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from models.criteria import Constraint
from models.patient import ConditionFact, LabResult, MedicationFact, Patient

from ..criteria import (
    ULN, ConditionInfo, ConditionReading, canonical_drug, classes_named, decide, drug_classes, find_condition,
    compare_qualifiers, describe_qualifiers, find_condition_code, find_measure, merge_qualifiers, qualifiers_from_text, find_procedure, is_heading_concept, read_condition, reference_range,
    to_canonical, unit_understood,
)


@dataclass
class Check:
    truth: bool | None
    reason: str
    evidence: list[str] = field(default_factory=list)
    bears: bool = True
    # decided by a convention, not by the record ("not pregnant" when no pregnancy is stated):
    # the verdict is to be confirmed at screening
    presumed: bool = False


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: abs(a - b) < 1e-9,
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def compare(value: float, constraint: Constraint) -> bool | None:
    if constraint.value is None or constraint.op is None:
        return None
    if constraint.op == "between":
        if constraint.value_max is None:
            return None
        return constraint.value <= value <= constraint.value_max
    test = _OPS.get(constraint.op)
    return test(value, constraint.value) if test else None


def _bound(constraint: Constraint) -> str:
    if constraint.op == "between":
        return f"between {_fmt(constraint.value)} and {_fmt(constraint.value_max)}"
    return f"{constraint.op} {_fmt(constraint.value)}"


def _evidence(fact) -> list[str]:
    return _cite(getattr(fact, "evidence", None))


def _cite(evidence) -> list[str]:
    if evidence is None:
        return []
    return [f"{evidence.source}: {evidence.text}" if evidence.text else evidence.source]


# ---------------------------------------------------------------------------- demographics


def check_age(patient: Patient, constraint: Constraint) -> Check:
    if patient.age is None:
        return Check(None, "age not in the record", bears=False)
    holds = compare(patient.age, constraint)
    return Check(holds, f"age {_fmt(patient.age)} years {'is' if holds else 'is not'} {_bound(constraint)}")


def check_sex(patient: Patient, constraint: Constraint) -> Check:
    wanted = (constraint.value_text or "").lower()
    if patient.sex is None:
        return Check(None, "sex not in the record", bears=False)
    return Check(patient.sex == wanted, f"patient is {patient.sex}")


def check_ethnicity(patient: Patient, constraint: Constraint) -> Check:
    """Race or ethnicity: no record field states it; never met by the rest of a criterion."""
    return Check(None, f"race/ethnicity ({constraint.value_text}): to confirm with the patient", bears=False)


# From this age a woman is taken to be past menopause (natural menopause is over by then in all
# but a very few), and below this one not yet able to bear children.
POSTMENOPAUSAL_AGE = 55
CHILDBEARING_AGE = 10


def postmenopausal(patient: Patient) -> tuple[bool | None, str]:
    """Whether a woman is past menopause: as the record says, else from her age."""
    if patient.menopausal is not None:
        return patient.menopausal, "post-menopausal (record)" if patient.menopausal else "menstruating (record)"
    if patient.sex == "female" and patient.age is not None and patient.age >= POSTMENOPAUSAL_AGE:
        return True, f"a woman of {_fmt(patient.age)}: post-menopausal"
    return None, "menopausal status not in the record"


def check_reproductive(patient: Patient, constraint: Constraint) -> Check:
    state = (constraint.value_text or "").lower()
    if patient.sex == "male" and state in ("pregnant", "lactating"):
        return Check(False, f"a male patient cannot be {state}")
    if state == "pregnant" and patient.pregnant is not None and constraint.timing != "planned":
        return Check(patient.pregnant, "pregnant" if patient.pregnant else "not pregnant (record)")
    if state in ("pregnant", "lactating", "contraception") and not patient.pregnant:
        # not of childbearing potential: cannot be pregnant or nursing, needs no contraception
        why = f"a child of {_fmt(patient.age)}" if patient.age is not None and patient.age < CHILDBEARING_AGE else None
        if why is None and patient.sex == "female":
            past, reason = postmenopausal(patient)
            why = reason if past else None
        if why and state == "contraception":
            return Check(True, f"{why}: not of childbearing potential, contraception does not apply")
        if why:
            return Check(False, f"{why}: not {state}")
    if state == "postmenopausal":
        past, why = postmenopausal(patient)
        if patient.sex == "male":
            return Check(None, "menopausal status does not apply to a male patient", bears=False)
        return Check(past, why, bears=past is not None)
    if state == "pregnant" and constraint.timing == "planned":
        return Check(None, "plans for pregnancy: to confirm with the patient", bears=False)
    if state == "pregnant":
        # A pregnancy is something a record states; trials test for it at screening.
        return Check(False, "no pregnancy in the record: presumed not pregnant (pregnancy test at screening)",
                     bears=False, presumed=True)
    if state == "lactating":
        return Check(False, "no breastfeeding in the record: presumed not (confirm at screening)",
                     bears=False, presumed=True)
    return Check(None, f"{state or 'reproductive status'}: to confirm with the patient", bears=False)


def check_healthy_volunteer(patient: Patient, constraint: Constraint) -> Check:
    """Could the patient take part as a healthy volunteer?"""
    diagnoses = [c.name for c in patient.conditions if not c.negated]
    if patient.healthy is not None:
        return Check(patient.healthy, "a healthy volunteer" if patient.healthy else "not a healthy volunteer (record)")
    if diagnoses:
        return Check(False, f"not a healthy volunteer: {', '.join(diagnoses[:3])}")
    return Check(True, "no diagnoses in the record: could take part as a healthy volunteer", bears=False)


# ---------------------------------------------------------------------------- measurements


@lru_cache(maxsize=4096)
def _measure_of(name: str) -> str | None:
    info = find_measure(name)
    return info.id if info else None


def lab_measure(lab: LabResult) -> str | None:
    return lab.measure or (lab.loinc and _measure_of(lab.loinc)) or _measure_of(lab.name)


def canonical_lab(lab: LabResult) -> tuple[str, float, str] | None:
    """(measure, value, unit) of a lab result in the measure's canonical unit."""
    measure = lab_measure(lab)
    if measure is None:
        return None
    converted = to_canonical(measure, lab.value, lab.unit)
    return (measure, *converted) if converted else None


def check_measurement(patient: Patient, constraint: Constraint) -> Check:
    name = constraint.measure.replace("_", " ") if constraint.measure else "measurement"
    if constraint.timing == "prior":
        return Check(None, f"past {name} {_bound(constraint)} {constraint.unit or ''}: to confirm from history".strip(), bears=False)
    results = [(lab, canonical_lab(lab)) for lab in patient.labs]
    matching = [(lab, c) for lab, c in results if c and c[0] == constraint.measure]
    if not matching:
        unconvertible = [lab for lab, c in results if c is None and lab_measure(lab) == constraint.measure]
        if unconvertible:
            lab = unconvertible[0]
            if not unit_understood(constraint.measure, lab.unit):
                return Check(None, f"{name} {_fmt(lab.value)} {lab.unit}: unit '{lab.unit}' not understood", _evidence(lab))
            return Check(None, f"{name} {_fmt(lab.value)} {lab.unit or ''} cannot be compared with {constraint.unit}", _evidence(lab))
        if constraint.measure in patient.normal_results:
            return _check_normal(patient, constraint, name)
        return Check(None, f"no {name} in the record", bears=False)
    # the latest result; undated ones (a note's) in the order the record gives them
    _, (lab, (_, value, unit)) = max(enumerate(matching), key=lambda m: (m[1][0].date or date.min, m[0]))
    if constraint.unit and unit != constraint.unit:
        return Check(None, f"{name} in {unit} cannot be compared with a limit in {constraint.unit}", _evidence(lab))
    holds = compare(value, constraint)
    if holds is None:
        return Check(None, f"{name} {_fmt(value)} {unit}: limit not readable", _evidence(lab))
    when = f" on {lab.date.isoformat()}" if lab.date else ""
    relation = _bound(constraint) if holds else "not " + _bound(constraint)
    return Check(holds, f"{name} {_fmt(value)} {unit}{when} {relation}", _evidence(lab))


def _check_normal(patient: Patient, constraint: Constraint, name: str) -> Check:
    """A result the record calls normal without a value: decided when every value in the
    reference interval decides the limit alike ("CBC normal" → hematocrit is not < 25)."""
    evidence = _cite(patient.normal_results[constraint.measure])
    interval = reference_range(constraint.measure, patient.sex)
    if constraint.unit == ULN and interval:
        interval = (interval[0] / interval[1], 1.0)
    if interval is None or (constraint.unit not in (ULN, None) and constraint.unit != _canonical_unit(constraint.measure)):
        return Check(None, f"{name} normal (record): limit not comparable", evidence)
    holds = decide(*interval, constraint.op, constraint.value, constraint.value_max)
    shown = f"{name} normal (record; reference {_fmt(interval[0])}–{_fmt(interval[1])}{' x ULN' if constraint.unit == ULN else ''})"
    if holds is None:
        return Check(None, f"{shown}: confirm whether {_bound(constraint)}", evidence)
    return Check(holds, f"{shown} {'is' if holds else 'is not'} {_bound(constraint)}", evidence)


@lru_cache(maxsize=256)
def _canonical_unit(measure: str) -> str | None:
    info = find_measure(measure)
    return info.unit if info else None


# ---------------------------------------------------------------------------- therapies


def _window_start(patient: Patient, constraint: Constraint) -> date | None:
    return patient.as_of - timedelta(days=constraint.within_days) if constraint.within_days else None


def _med_matches(med: MedicationFact, constraint: Constraint) -> bool:
    generic = canonical_drug(med.name) or med.name.strip().lower()
    classes = drug_classes(med.name) or classes_named(med.name)
    carved_out = [x.strip() for x in (constraint.excluding or "").split(";") if x.strip()]
    if any(generic == (canonical_drug(x) or x) or x in classes for x in carved_out):
        return False
    if constraint.drug and generic == (canonical_drug(constraint.drug) or constraint.drug.lower()):
        return True
    return bool(constraint.drug_class and constraint.drug_class in classes)


def _med_label(med: MedicationFact) -> str:
    generic = canonical_drug(med.name)
    return med.name if not generic or generic == med.name.lower() else f"{med.name} ({generic})"


def _is_current(med: MedicationFact, as_of: date) -> bool:
    if med.current is not None:
        return med.current
    return med.end is None or med.end >= as_of


OUTCOME_WORDS = {"failed": "failed (no or a lost response)", "intolerant": "not tolerated", "ongoing": "ongoing",
                 "completed": "completed"}
# What a therapy outcome in the record rules out: a completed course neither failed nor was not
# tolerated; an ongoing one is tolerated so far, but may be failing.
_RULES_OUT = {"completed": {"failed", "intolerant"}, "ongoing": {"intolerant"}}
_RULED_OUT_WORDS = {"failed": "did not fail", "intolerant": "tolerated"}


def _check_outcome(taken: list[MedicationFact], constraint: Constraint) -> Check:
    """Whether a therapy the record has went as the criterion asks (failed, not tolerated):
    as the record's outcome says; unknown when it says none, or one that does not settle it."""
    wanted = sorted(set(constraint.outcome.split("|")) & {"failed", "intolerant"})
    hit = next((m for m in taken if m.outcome in wanted), None)
    if hit:
        return Check(True, f"{_med_label(hit)} {OUTCOME_WORDS[hit.outcome]} (record)", _evidence(hit))
    if all(m.outcome and set(wanted) <= _RULES_OUT.get(m.outcome, set()) for m in taken):
        med = taken[0]
        return Check(False, f"{_med_label(med)} {med.outcome} (record): {', '.join(_RULED_OUT_WORDS[w] for w in wanted)}",
                     _evidence(med))
    med = next((m for m in taken if m.outcome), taken[0])
    said = f", {OUTCOME_WORDS[med.outcome]}" if med.outcome else ""
    asked = " or ".join({"failed": "it failed", "intolerant": "was not tolerated" if len(wanted) > 1 else "it was not tolerated"}[w]
                        for w in wanted)
    return Check(None, f"{_med_label(med)} in the record{said}: confirm whether {asked}", _evidence(med))


def check_therapy(patient: Patient, constraint: Constraint) -> Check:
    wanted = constraint.drug or (constraint.drug_class or "therapy").replace("_", " ")
    denied = [m for m in patient.medications if m.negated and _med_matches(m, constraint)]
    taken = [m for m in patient.medications if not m.negated and _med_matches(m, constraint)]
    if not taken:
        if denied:
            return Check(False, f"record says no {_med_label(denied[0])}", _evidence(denied[0]))
        unread = next((m for m in patient.medications if not m.negated and not _known_drug(m.name)), None)
        if unread and constraint.drug_class:  # a drug not understood may be one of the class
            return _not_understood(unread)
        return Check(False, f"no {wanted} in the record", bears=False)
    if constraint.outcome:  # "refractory to or intolerant of corticosteroids": how it went decides
        went = _check_outcome(taken, constraint)
        if went.truth is not True or not (constraint.within_days or constraint.timing == "current"):
            return went
        taken = [m for m in taken if m.outcome in constraint.outcome.split("|")]
    if constraint.timing == "current":
        current = [m for m in taken if _is_current(m, patient.as_of)]
        if current:
            return Check(True, f"currently on {_med_label(current[0])}", _evidence(current[0]))
        return Check(False, f"{_med_label(taken[0])} stopped {taken[0].end}", _evidence(taken[0]))
    start = _window_start(patient, constraint)
    if start is None:
        return Check(True, f"{_med_label(taken[0])} in the record", _evidence(taken[0]))
    inside, undated = [], []
    for med in taken:
        if _is_current(med, patient.as_of) and (med.start is not None or med.current):
            inside.append((med, "ongoing"))
        elif med.end is not None:
            if med.end >= start:
                inside.append((med, f"last given {med.end}, {(patient.as_of - med.end).days} days ago"))
        else:
            undated.append(med)
    if inside:
        med, when = inside[0]
        return Check(True, f"{_med_label(med)} {when}: within {constraint.within_days} days", _evidence(med))
    if undated:
        med = undated[0]
        return Check(None, f"{_med_label(med)} in the record without dates: confirm whether within {constraint.within_days} days", _evidence(med))
    med = max(taken, key=lambda m: m.end or date.min)
    return Check(False, f"{_med_label(med)} last given {med.end}, {(patient.as_of - med.end).days} days ago: "
                        f"more than {constraint.within_days} days", _evidence(med))


# ---------------------------------------------------------------------------- conditions and procedures


@lru_cache(maxsize=65536)
def relation(wanted: ConditionInfo, have: ConditionInfo) -> str | None:
    """How the patient's concept ``have`` stands to the criterion's ``wanted``:

    - ``covers``: the same concept or a narrower one (primary ITP is a thrombocytopenia);
    - ``broader``: the record names a broader disease than the criterion asks (diabetes, for a
      type 1 diabetes criterion): it may or may not be it;
    - ``related``: a different disease of the same family (type 2 for type 1 diabetes, Crohn's
      disease for ulcerative colitis, secondary thrombocytopenia for primary ITP);
    - None: unrelated."""
    if wanted.name == have.name:
        return "covers"
    if _PREDISPOSED.get(wanted.mesh_term, frozenset()) & {have.mesh_term, *have.ancestors}:
        return "broader"  # a bleeding disorder (ITP, hemophilia) may or may not be bleeding now
    if is_heading_concept(wanted) and (wanted.mesh_term == have.mesh_term or wanted.mesh_term in have.ancestors):
        if wanted.mesh_term != "Neoplasms" or _malignant(have):  # "malignancy" is not a fibroid
            return "covers"
    if is_heading_concept(have) and (have.mesh_term == wanted.mesh_term or have.mesh_term in wanted.ancestors) \
            and not _symptom(have):  # chest pain is not a broader name of angina
        return "broader"
    if _histology(wanted) and _by_site(have):
        return "broader"  # a breast cancer may or may not be an adenocarcinoma
    if ({wanted.mesh_term, *wanted.ancestors} - GENERIC_ANCESTORS) & ({have.mesh_term, *have.ancestors} - GENERIC_ANCESTORS):
        return "related"
    return None


# Events and the disorders that dispose to them, which MeSH files under the event: a record with
# the disorder neither has nor lacks the event.
_PREDISPOSED = {
    "Hemorrhage": frozenset({"Hemorrhagic Disorders", "Blood Coagulation Disorders", "Blood Platelet Disorders"}),
    "Thrombosis": frozenset({"Thrombophilia"}),
}


_MALIGNANT = re.compile(r"cancer|carcinoma|malignan|sarcoma|leuk|lymphoma|melanoma|myeloma|blastoma|glioma|"
                        r"mesothelioma|metasta|neoplasms by site", re.I)


def _malignant(info: ConditionInfo) -> bool:
    return any(_MALIGNANT.search(t) for t in (info.name, info.mesh_term or "", *info.ancestors))


# Tumour types named by their tissue that many organs' cancers are ("adenocarcinoma of the breast").
_ORGAN_HISTOLOGY = frozenset({"Carcinoma", "Adenocarcinoma", "Neoplasms, Glandular and Epithelial", "Carcinoma, Squamous Cell",
                              "Neoplasms, Squamous Cell", "Carcinoma, Ductal", "Carcinoma, Adenosquamous",
                              "Neuroendocrine Tumors", "Carcinoma, Neuroendocrine", "Adenocarcinoma, Mucinous"})


def _histology(info: ConditionInfo) -> bool:
    """A tumour type named by its tissue ("adenocarcinoma", "carcinoma"), not by its organ."""
    return info.mesh_term in _ORGAN_HISTOLOGY


def _by_site(info: ConditionInfo) -> bool:
    return "Neoplasms by Site" in info.ancestors and "Neoplasms by Histologic Type" not in info.ancestors


def _symptom(info: ConditionInfo) -> bool:
    return "Signs and Symptoms" in info.ancestors


def concept_covers(wanted: ConditionInfo, have: ConditionInfo) -> bool:
    """Does the patient's concept ``have`` count as the criterion's concept ``wanted``?"""
    return relation(wanted, have) == "covers"


_FINDING = re.compile(r"\b(?:mass|masses|nodules?|lesions?|lump)$")


def is_finding(info: ConditionInfo) -> bool:
    """An indeterminate finding ("lung mass", "thyroid nodule"), not a diagnosis."""
    return bool(_FINDING.search(info.name))


@lru_cache(maxsize=16384)
def _read(name: str, code: str | None, system: str | None) -> ConditionReading:
    reading = read_condition(name)
    coded = find_condition_code(code, system) if code else None
    if coded is None or coded in reading.concepts:
        return reading
    # the code decides the disease; the words of the name still give its qualifiers
    rest = tuple(c for c in reading.concepts if relation(c, coded) != "broader")
    if rest and relation(coded, rest[0]) == "covers":  # the name is more specific than the code
        return ConditionReading(reading.text, rest, reading.qualifiers, reading.unread, reading.blocked_by)
    return ConditionReading(reading.text, (coded, *rest), reading.qualifiers, (), reading.blocked_by)


def condition_reading(fact: ConditionFact) -> ConditionReading:
    """What a condition of the record was read as: its concepts and qualifiers."""
    return _read(fact.name, fact.code, fact.system)


def fact_qualifiers(fact: ConditionFact) -> tuple:
    return merge_qualifiers(condition_reading(fact).qualifiers, fact.qualifiers)


def not_understood(patient: Patient) -> list[str]:
    """The diagnoses, therapies and procedures of the record the matcher could not read."""
    out = [f.name for f in patient.conditions if not f.negated and not condition_reading(f).recognized]
    out += [m.name for m in patient.medications if not m.negated and not _known_drug(m.name)]
    out += [p.name for p in patient.procedures if not p.negated and find_procedure(p.name) is None]
    return out


@lru_cache(maxsize=4096)
def _known_drug(name: str) -> bool:
    return bool(canonical_drug(name) or drug_classes(name) or classes_named(name))


def _resolve(constraint: Constraint, lookup) -> ConditionInfo | None:
    for key in (constraint.name, constraint.mesh_term):
        if key:
            info = lookup(key)
            if info:
                return info
    return None


def _when_window(patient: Patient, constraint: Constraint, fact, shown: str, when_of) -> Check:
    start = _window_start(patient, constraint)
    if start is None:
        return Check(True, f"{shown} in the record", _evidence(fact))
    when = when_of(fact)
    if when is None:
        return Check(None, f"{shown} in the record without a date: confirm whether within {constraint.within_days} days", _evidence(fact))
    holds = when >= start
    return Check(holds, f"{shown} on {when}, {(patient.as_of - when).days} days ago: "
                        f"{'within' if holds else 'more than'} {constraint.within_days} days", _evidence(fact))


def _severity(constraint: Constraint, matched: list, shown: str) -> tuple[Check | None, object]:
    """The severity or activity a criterion asks of a condition ("uncontrolled", "active")."""
    fact = matched[0]
    qualifier = constraint.value_text if constraint.type == "condition" else None
    if qualifier == "active":
        current = [f for f in matched if not getattr(f, "past", False)]
        if not current:
            return Check(None, f"{shown} in the record as history: confirm whether active", _evidence(fact)), fact
        return None, current[0]
    if qualifier:
        stated = [f for f in matched if _states(qualifier, f.name) or (f.evidence and f.evidence.text and _states(qualifier, f.evidence.text))]
        if not stated:
            return Check(None, f"{shown} in the record: confirm whether {qualifier}", _evidence(fact)), fact
        return None, stated[0]
    return None, fact


def _unread(patient: Patient, wanted: ConditionInfo | None) -> ConditionFact | None:
    """A diagnosis of the record not understood that may be the one wanted: one read as nothing
    at all, or one whose meaning a word changed ("suspected lupus") that names it."""
    for fact in patient.conditions:
        if fact.negated:
            continue
        reading = condition_reading(fact)
        if not reading.concepts and (not (fact.evidence and fact.evidence.from_note) or _LOOKS_LIKE_A_DIAGNOSIS.search(fact.name)):
            return fact
        if reading.blocked_by and wanted is not None and any(relation(wanted, c) in ("covers", "broader") for c in reading.concepts):
            return fact
    return None


# A phrase of a note taken for a diagnosis: an abbreviation, or a disease word.
_LOOKS_LIKE_A_DIAGNOSIS = re.compile(r"\b[A-Z][A-Za-z]*[A-Z]\b|(?i:disease|syndrome|disorder|cancer|carcinoma|tumou?r|"
                                     r"\w+(?:itis|oma|emia|aemia|osis|pathy|plasia)\b)")


def _not_understood(fact) -> Check:
    return Check(None, f"the record has '{fact.name}', not understood: confirm", _evidence(fact))


def _check_qualifiers_only(patient: Patient, wanted_qualifiers: tuple) -> Check:
    """A criterion about the disease's qualifiers alone ("HER2-negative disease")."""
    facts = [f for f in patient.conditions if not f.negated and condition_reading(f).recognized]
    verdicts = [(compare_qualifiers(fact_qualifiers(f), wanted_qualifiers), f) for f in facts]
    for (truth, reason), fact in verdicts:
        if truth is not None:
            return Check(truth, f"{fact.name}: {reason}", _evidence(fact))
    unread = _unread(patient, None)
    if unread:
        return _not_understood(unread)
    return Check(None, f"{describe_qualifiers(wanted_qualifiers)}: not in the record", bears=False)


def check_condition(patient: Patient, constraint: Constraint) -> Check:
    wanted = _resolve(constraint, find_condition)
    wanted_qualifiers = merge_qualifiers(wanted.implied if wanted else (), qualifiers_from_text(constraint.qualifiers))
    if wanted is None:
        if wanted_qualifiers and not constraint.name:
            return _check_qualifiers_only(patient, wanted_qualifiers)
        return Check(None, f"{constraint.name or constraint.mesh_term or 'condition'}: not a known condition", bears=False)
    label = constraint.name or wanted.name
    matched, denied, findings, broader, related = [], [], [], [], []
    for fact in patient.conditions:
        reading = condition_reading(fact)
        if not reading.recognized:
            continue
        for have in reading.concepts:
            if is_finding(have) and not is_finding(wanted) and \
                    (wanted.mesh_term in have.ancestors or (have.mesh_term and wanted.mesh_term == have.mesh_term)):
                if not fact.negated:
                    findings.append(fact)  # a lung mass bears on lung cancer, but is not (yet) lung cancer
                break
            kind = relation(wanted, have)
            if kind == "covers":
                (denied if fact.negated else matched).append(fact)
                break
            if kind == "broader" and not fact.negated:
                broader.append((fact, have))
            elif kind == "related" and not fact.negated:
                related.append((fact, have))
    if matched:
        return _check_matched(patient, constraint, matched, wanted_qualifiers, label)
    if broader:
        fact, have = broader[0]
        truth, why = compare_qualifiers(fact_qualifiers(fact), wanted_qualifiers) if wanted_qualifiers else (None, "")
        if truth is False:
            return Check(False, f"{fact.name}: {why}, so not {label}", _evidence(fact))
        return Check(None, f"record names {have.name}, not whether {label}: confirm", _evidence(fact))
    if findings:
        return Check(None, f"{findings[0].name} in the record: a finding that may be {label}, to confirm",
                     _evidence(findings[0]))
    if denied:
        return Check(False, f"record says no {denied[0].name}", _evidence(denied[0]))
    if related:  # a different disease of the same family (type 2 for type 1 diabetes) says more than an unread one
        fact, have = related[0]
        return Check(False, f"no {label} in the record (record has {fact.name}, a different {_family(wanted, have)})",
                     _evidence(fact), bears=False)
    unread = _unread(patient, wanted)
    if unread:
        return _not_understood(unread)
    return Check(False, f"no {label} in the record", bears=False)


def _family(wanted: ConditionInfo, have: ConditionInfo) -> str:
    shared = [a for a in have.ancestors if a in wanted.ancestors and a not in GENERIC_ANCESTORS]
    return shared[0].lower() if shared else "condition"


def _check_matched(patient: Patient, constraint: Constraint, matched: list, wanted_qualifiers: tuple, label: str) -> Check:
    current = [f for f in matched if not f.ended]
    if not current:
        return _check_ended(patient, constraint, matched, label)
    matched = current
    fact = matched[0]
    if all(f.possible for f in matched):  # "possible PE", "rule out MI"
        return Check(None, f"{fact.name} suspected, not confirmed (record): confirm whether {label}", _evidence(fact))
    shown = fact.name if fact.name.lower() == label.lower() else f"{fact.name} (a {label})"
    if wanted_qualifiers:
        outcomes = [(compare_qualifiers(fact_qualifiers(f), wanted_qualifiers), f) for f in matched]
        best = next((o for o in outcomes if o[0][0] is True), None) or next((o for o in outcomes if o[0][0] is None), None)
        (truth, why), fact = best or outcomes[0]
        if truth is False:
            return Check(False, f"{fact.name}: {why}", _evidence(fact))
        if truth is None:
            return Check(None, f"{fact.name} in the record: {why}", _evidence(fact))
        shown = f"{fact.name} ({why})"
    unsure, fact = _severity(constraint, [fact] + [f for f in matched if f is not fact], shown)
    if unsure:
        return unsure
    return _when_window(patient, constraint, fact, shown, lambda c: c.onset)


def _check_ended(patient: Patient, constraint: Constraint, ended: list, label: str) -> Check:
    """A condition the record says is over (resolved, inactive, in remission): a history of it,
    not a current one. "History of X" is met; "active X" (or "uncontrolled X") is not; a plain
    "X" may mean either, so it is to confirm."""
    fact = ended[0]
    shown = fact.name if fact.name.lower() == label.lower() else f"{fact.name} (a {label})"
    if constraint.timing == "prior":
        return _when_window(patient, constraint, fact, f"{shown} (ended: history)", lambda c: c.onset)
    if constraint.timing == "current" or constraint.value_text:
        wanted = constraint.value_text or "current"
        return Check(False, f"{shown} ended (record: resolved, inactive or in remission): not {wanted}", _evidence(fact))
    return Check(None, f"{shown} in the record as ended (resolved, inactive or in remission): confirm whether current",
                 _evidence(fact))


def check_procedure(patient: Patient, constraint: Constraint) -> Check:
    wanted = _resolve(constraint, find_procedure)
    label = constraint.name or constraint.mesh_term or "procedure"
    if wanted is None:
        return Check(None, f"{label}: not a known procedure", bears=False)
    matched, denied = [], []
    for fact in patient.procedures:
        have = find_procedure(fact.name)
        if have and concept_covers(wanted, have):
            (denied if fact.negated else matched).append(fact)
    if matched:
        fact = matched[0]
        shown = fact.name if fact.name.lower() == label.lower() else f"{fact.name} (a {label})"
        return _when_window(patient, constraint, fact, shown, lambda p: p.date)
    if denied:
        return Check(False, f"record says no {denied[0].name}", _evidence(denied[0]))
    unread = next((p for p in patient.procedures if not p.negated and find_procedure(p.name) is None), None)
    if unread:
        return _not_understood(unread)
    return Check(False, f"no {label} in the record", bears=False)


_UNCONTROLLED = r"uncontrolled|poorly[\s-]controlled|not\s+(?:well\s+)?controlled"
_QUALIFIER_WORDS = {"uncontrolled": _UNCONTROLLED, "poorly controlled": _UNCONTROLLED}


def _states(qualifier: str, text: str) -> bool:
    """Does the record's sentence state the qualifier a criterion asks of a condition?"""
    words = _QUALIFIER_WORDS.get(qualifier, re.escape(qualifier))
    return bool(re.search(rf"\b(?:{words})\b", text, re.I))


def related_condition(patient: Patient, constraint: Constraint) -> str | None:
    """A condition of the patient in the same MeSH family as the constraint's, if any."""
    wanted = _resolve(constraint, find_condition)
    if wanted is None:
        return None
    for fact in patient.conditions:
        if not fact.negated and any(relation(wanted, have) for have in condition_reading(fact).concepts):
            return fact.name
    return None


_CONTENT_WORD = re.compile(r"[a-z][a-z\-]{3,}")
_GENERIC_WORDS = frozenset(
    """patient patients subject subjects participant participants history known current currently prior previous
    severe significant clinically clinical disease diseases disorder disorders condition conditions treatment
    therapy therapies study studies trial investigator opinion including include other than with without within
    months weeks years days have having been that this those these which would could should must will from
    into there their such each more less than also only active chronic acute evidence diagnosis diagnosed
    medical illness illnesses serious uncontrolled unstable screening baseline visit judgment judged
    participation requiring require required need needs able unable any all
    past being provide provided during found area areas based physical examination exam time times
    possible certain following period periods level levels""".split()
)


@lru_cache(maxsize=4096)
def _word_stems(text: str) -> frozenset[str]:
    return frozenset(w.rstrip("s") for w in _CONTENT_WORD.findall(text.lower()) if w not in _GENERIC_WORDS)


def record_mentions(patient: Patient, text: str) -> list[str]:
    """Content words a criterion shares with the patient's record (facts and note)."""
    record = " ".join([patient.note or ""] + [f.name for f in (*patient.conditions, *patient.medications, *patient.procedures)]
                      + [lab.name for lab in patient.labs])
    return sorted(_word_stems(text) & _word_stems(record))


# MeSH tree tops: sharing one of these says nothing about relatedness.
GENERIC_ANCESTORS = frozenset({
    None, "Pathologic Processes", "Pathological Conditions, Signs and Symptoms", "Signs and Symptoms",
    "Disease", "Diseases", "Chronic Disease", "Syndrome", "Neoplasms", "Neoplasms by Site",
    "Neoplasms by Histologic Type", "Immune System Diseases", "Hemic and Lymphatic Diseases",
    "Nervous System Diseases", "Cardiovascular Diseases", "Respiratory Tract Diseases",
    "Digestive System Diseases", "Skin and Connective Tissue Diseases", "Nutritional and Metabolic Diseases",
    "Metabolic Diseases", "Endocrine System Diseases", "Urogenital Diseases", "Female Urogenital Diseases and Pregnancy Complications",
    "Male Urogenital Diseases", "Musculoskeletal Diseases", "Infections", "Bacterial Infections and Mycoses",
    "Virus Diseases", "Mental Disorders", "Behavior and Behavior Mechanisms", "Congenital, Hereditary, and Neonatal Diseases and Abnormalities",
    "Eye Diseases", "Otorhinolaryngologic Diseases", "Stomatognathic Diseases", "Wounds and Injuries",
    "Chemically-Induced Disorders", "Disorders of Environmental Origin", "Animal Diseases", "Hematologic Diseases",
    "Vascular Diseases", "Heart Diseases", "Lung Diseases", "Autoimmune Diseases", "Kidney Diseases",
})
