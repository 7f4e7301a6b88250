"""The features that moved a trial's learned score most, in words a physician reads:
"↑ condition matches exactly", "↑ 2 exclusions absent from the record", "↓ age outside the
trial's limits"."""

from __future__ import annotations

from collections.abc import Callable


def _count(one: str, many: str, none: str) -> Callable[[float], str]:
    def say(value: float) -> str:
        n = round(value)
        return none if n == 0 else (one if n == 1 else many.format(n=n))
    return say


def _either(high: str, low: str, at: float = 0.5) -> Callable[[float], str]:
    return lambda value: high if value >= at else low


def _sign(satisfied: str, failed: str, neither: str) -> Callable[[float], str]:
    return lambda value: satisfied if value > 0 else failed if value < 0 else neither


def _share(what: str) -> Callable[[float], str]:
    return lambda value: f"{round(100 * value)} % of criteria {what}"


WORDS: dict[str, Callable[[float], str]] = {
    "bm25_all": _either("the record's words match the note's", "few of the note's words in the record"),
    "bm25_title": _either("the title matches the note", "the title barely matches the note"),
    "bm25_summary": _either("the summary matches the note", "the summary barely matches the note"),
    "bm25_conditions": _either("the trial's conditions match the note", "the trial's conditions barely match the note"),
    "bm25_mesh_terms": _either("the trial's MeSH terms match the note", "the trial's MeSH terms barely match the note"),
    "bm25_keywords": _either("the keywords match the note", "the keywords barely match the note"),
    "bm25_criteria": _either("the criteria share words with the note", "the criteria share few words with the note"),
    "cosine": _either("close in meaning to the note", "far in meaning from the note", 0.4),
    "cosine_gap": _either("further in meaning from the note than the closest trials", "as close in meaning as the closest trials", 0.1),
    "fused": _either("among the best text matches", "a weaker text match"),
    "concept_exact": _either("condition matches exactly", "no diagnosis is exactly the trial's condition"),
    "concept_patient_narrower": _either("a diagnosis is a kind of the trial's condition", "no diagnosis is a kind of the trial's condition"),
    "concept_trial_narrower": _either("the trial studies a narrower form of a diagnosis", "the trial studies no narrower form of a diagnosis"),
    "concept_sibling": _either("the trial studies a disease related to a diagnosis", "the trial studies no disease related to a diagnosis"),
    "condition_words": _either("the trial's condition is named in the note", "the trial's condition is not named in the note"),
    "registry_condition": _sign("has a condition the trial studies", "lacks the conditions the trial studies",
                                "the condition studied is not confirmed"),
    "registry_age": _sign("age fits", "age outside the trial's limits", "age not checked"),
    "registry_sex": _sign("sex fits", "sex does not fit", "sex not checked"),
    "has_criteria": _either("criteria in the record", "no eligibility criteria in the record"),
    "criteria_count": _either("many criteria", "few criteria", 2.5),
    "inclusion_met": _count("1 inclusion met", "{n} inclusions met", "no inclusion met"),
    "inclusion_not_met": _count("1 inclusion not met", "{n} inclusions not met", "no inclusion fails"),
    "inclusion_unknown": _count("1 inclusion unknown", "{n} inclusions unknown", "no inclusion unknown"),
    "exclusion_met": _count("1 exclusion applies", "{n} exclusions apply", "no exclusion applies"),
    "exclusion_not_met": _count("1 exclusion absent from the record", "{n} exclusions absent from the record",
                                "no exclusion ruled out"),
    "exclusion_unknown": _count("1 exclusion unknown", "{n} exclusions unknown", "no exclusion unknown"),
    "share_satisfied": _share("satisfied"),
    "share_failed": _share("failed"),
    "share_unknown": _share("unknown"),
    "failed_with_evidence": _count("1 criterion fails on what the record says", "{n} criteria fail on what the record says",
                                   "nothing the record says fails a criterion"),
    "failed_by_absence": _count("1 criterion fails on what the record leaves out",
                                "{n} criteria fail on what the record leaves out", "nothing left out fails a criterion"),
    "failed_condition": _count("a condition criterion fails", "{n} condition criteria fail", "no condition criterion fails"),
    "failed_therapy": _count("a therapy or procedure criterion fails", "{n} therapy or procedure criteria fail",
                             "no therapy or procedure criterion fails"),
    "failed_measurement": _count("a lab or score criterion fails", "{n} lab or score criteria fail", "no lab or score criterion fails"),
    "failed_demographic": _count("an age, sex or pregnancy criterion fails", "{n} age, sex or pregnancy criteria fail",
                                 "age, sex and pregnancy criteria pass"),
    "failed_other": _count("another criterion fails", "{n} other criteria fail", "no other criterion fails"),
    "first_failure_inclusion": _either("the first failure is an inclusion", "no inclusion fails first"),
    "first_failure_condition": _either("the first failure is about a condition", "no condition fails first"),
    "unknown_values": _count("1 lab or score to obtain", "{n} labs or scores to obtain", "no lab or score missing"),
    "label_eligible": _either("eligible on the record", "not every criterion settled"),
    "label_ineligible": _either("a criterion fails", "no criterion fails"),
    "phase": lambda value: f"phase {value:g}" if value else "no phase given",
    "open_status": _either("open to recruitment", "not recruiting"),
    "interventional": _either("interventional", "not interventional"),
    "healthy_volunteers": _either("takes healthy volunteers", "no healthy volunteers"),
    "record_length": _either("a detailed record", "a short record", 8.0),
}


def explain(moved: dict[str, float], values: dict[str, float], most: int) -> list[str]:
    """The ``most`` features that moved the score most, each with ↑ (raised) or ↓ (lowered)."""
    biggest = sorted((name for name in moved if abs(moved[name]) > 1e-9), key=lambda name: -abs(moved[name]))[:most]
    return [f"{'↑' if moved[name] > 0 else '↓'} {WORDS[name](values[name])}" for name in biggest]
