"""The fields of a trial listing page, read from the lines under each of its labels. Pure functions.

Listing pages restate registry fields in words: "Over 18 Years", "Phase 1/2", "Biological:
Ianalumab", "Boston, Massachusetts 02114". These turn them back into the registry's vocabulary.
"""

from __future__ import annotations

import re

from models.trial import Contact, Intervention, Site

from .vocabulary import normalize_phases, normalize_sex, normalize_status, normalize_yes_no

# ---------------------------------------------------------------------------- ages

_UNIT = r"(years?|yrs?|months?|weeks?|days?|hours?|minutes?)"
_NUMBER = r"(\d+(?:\.\d+)?)"
_AGE_FORMS = (  # (pattern, which limits it gives)
    (re.compile(rf"^(?:between|from)\s+{_NUMBER}\s*{_UNIT}?\s*(?:and|to|-|–)\s*{_NUMBER}\s*{_UNIT}?", re.I), "range"),
    (re.compile(rf"^{_NUMBER}\s*{_UNIT}?\s*(?:to|-|–|through|until)\s*{_NUMBER}\s*{_UNIT}?", re.I), "range"),
    (re.compile(rf"^(?:over|above|older than|at least|from|minimum(?: age)?:?|≥|>=|=>)\s*{_NUMBER}\s*{_UNIT}?", re.I), "min"),
    (re.compile(rf"^{_NUMBER}\s*{_UNIT}?\s*(?:and|or)\s+(?:over|older|above|up)\b", re.I), "min"),
    (re.compile(rf"^{_NUMBER}\s*{_UNIT}?\s*\+", re.I), "min"),
    (re.compile(rf"^(?:under|below|younger than|up to|maximum(?: age)?:?|≤|<=|=<)\s*{_NUMBER}\s*{_UNIT}?", re.I), "max"),
)
_AGE_WORD = re.compile(r"^(?:ages?|aged)\s*:?\s*", re.I)
_ONE_AGE = re.compile(rf"^{_NUMBER}\s*{_UNIT}?(?:\s+old)?\.?$", re.I)


def _registry_age(number: str, unit: str | None) -> str:
    """``18``, ``years`` → ``18 Years``, the way the registry writes ages."""
    unit = (unit or "years").lower().rstrip("s")
    unit = {"yr": "year"}.get(unit, unit)
    return f"{number} {unit.capitalize()}s" if number != "1" else f"1 {unit.capitalize()}"


def age_limits(text: str | None) -> tuple[str | None, str | None]:
    """``Over 18 Years`` → (``18 Years``, None); ``18 to 75 years``, ``Age: 18 - 65`` → (``18 Years``,
    ``75 Years``); ``≥ 18 years``, ``18+`` → (``18 Years``, None); ``Up to 17 Years`` → (None,
    ``17 Years``); anything else (``All ages``, ``Child, Adult``) → no limits."""
    stripped = _AGE_WORD.sub("", (text or "").strip())
    for pattern, kind in _AGE_FORMS:
        match = pattern.match(stripped)
        if not match:
            continue
        if kind == "range":
            low, low_unit, high, high_unit = match.groups()
            return _registry_age(low, low_unit or high_unit), _registry_age(high, high_unit or low_unit)
        age = _registry_age(*match.groups())
        return (age, None) if kind == "min" else (None, age)
    return None, None


def one_age(text: str | None) -> str | None:
    """A "Minimum age" or "Maximum age" value: ``18 Years``, ``18``, ``6 months`` → the registry's
    form; ``N/A``, ``None`` or anything else → None (no limit)."""
    match = _ONE_AGE.match((text or "").strip())
    return _registry_age(*match.groups()) if match else None


# ---------------------------------------------------------------------------- sex, phases, status, yes/no

_BOTH_SEXES = re.compile(r"\b(male or female|female or male|male and female|female and male|men or women|women or men|"
                         r"men and women|women and men|males and females|females and males|boys and girls|girls and boys|both sexes|"
                         r"all genders|any gender)\b", re.I)
_SEX_WORDS = {"all": "ALL", "both": "ALL", "everyone": "ALL", "any": "ALL",
              "female": "FEMALE", "females": "FEMALE", "women": "FEMALE", "woman": "FEMALE", "girls": "FEMALE",
              "male": "MALE", "males": "MALE", "men": "MALE", "man": "MALE", "boys": "MALE"}


def listing_sex(value: str | None, inclusion_text: str) -> str | None:
    """The "Eligible Genders" value; when the page leaves it blank, ALL if the inclusion
    criteria admit both sexes in so many words ("male or female participants"), else unknown."""
    if value and value.strip():
        text = value.strip().lower()
        if _BOTH_SEXES.search(text):
            return "ALL"
        return _SEX_WORDS.get(re.sub(r"\s*\b(only|participants|patients|subjects)$", "", text)) or normalize_sex(text)
    return "ALL" if _BOTH_SEXES.search(inclusion_text) else None


_PHASE_NUMBER = r"(?:[1-4]|iv|i{1,3})(?![a-z0-9])"
_PHASE = re.compile(rf"\b(early\s+phase\s*(?:1|i)(?![a-z0-9])|phase\s*{_PHASE_NUMBER}(?:\s*/\s*(?:phase\s*)?{_PHASE_NUMBER})?|"
                    r"not applicable|n/a)", re.I)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}


def listing_phases(lines: list[str]) -> list[str]:
    """Every phase the lines state, in order: ``Phase 2`` → [PHASE2]; ``Phase 1/2``, ``Phase I/II``,
    ``Phase 1`` and ``Phase 2`` on two lines → [PHASE1, PHASE2]; ``N/A`` → [NA]."""
    phases: list[str] = []
    for line in lines:
        for match in _PHASE.finditer(line):
            text = re.sub(r"(?i)\b(iv|i{1,3})\b", lambda m: _ROMAN[m.group(1).lower()], match.group(1))
            text = re.sub(r"(?i)phase\s*([1-4])\s*/\s*(?:phase\s*)?([1-4])", r"Phase \1/Phase \2", text)
            phases += [p for p in normalize_phases(re.sub(r"(?i)phase\s*([1-4])", r"Phase \1", text)) if p not in phases]
    return phases


def listing_status(text: str | None) -> str | None:
    """``Recruiting``, ``Active, not recruiting``, schema.org's ``https://schema.org/NotYetRecruiting`` → the
    registry's enumeration; anything else → None."""
    if not text:
        return None
    text = text.strip()
    if text.startswith(("http://", "https://")):
        text = text.rsplit("/", 1)[-1]
    return normalize_status(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).strip(" †*"))


def listing_yes_no(text: str | None) -> bool | None:
    """``Yes``, ``Accepted``, ``Accepts Healthy Volunteers`` → True; ``No``, ``Not accepted`` → False."""
    answer = normalize_yes_no(text)
    if answer is None and text:
        words = text.strip().lower()
        answer = {"accepted": True, "accepts": True, "not accepted": False, "does not accept": False}.get(words)
    return answer


# ---------------------------------------------------------------------------- interventions

_INTERVENTION = re.compile(
    r"^(?:•\s*)?(Drug|Biological|Device|Procedure(?:/Surgery)?|Behavioral|Radiation|Dietary Supplement|Genetic|"
    r"Combination Product|Diagnostic Test|Other)\s*:\s*(.+)$", re.I)
_ARM = re.compile(r"^(experimental|active comparator|placebo comparator|sham comparator|no intervention)\s*:", re.I)
_ARM_TABLE_HEADER = re.compile(r"^(arm|description|assigned interventions?|arm\s*description\s*assigned interventions?)$", re.I)


def listing_interventions(lines: list[str]) -> list[Intervention]:
    """Interventions from an "Arm Groups" (or "Interventions") section: ``Biological: Ianalumab``,
    then its description, then ``Other names:`` and their bullets. Arm descriptions are skipped."""
    found: list[Intervention] = []
    current, in_other_names = None, False
    for line in filter(None, lines):
        match = _INTERVENTION.match(line)
        if match:
            kind = re.sub(r"[^A-Z]+", "_", match.group(1).upper().replace("/SURGERY", ""))
            current, in_other_names = Intervention(type=kind, name=match.group(2).strip()), False
            found.append(current)
        elif _ARM.match(line):
            current = None  # an arm ("Experimental: …") and its description
        elif current is None or _ARM_TABLE_HEADER.match(line):
            continue
        elif re.match(r"^other names?:?$", line, re.I):
            in_other_names = True
        elif in_other_names:
            if line.startswith("•"):
                current.other_names.append(line.lstrip("• ").strip())
            else:
                current, in_other_names = None, False  # the next arm's description
        elif not line.startswith("•"):
            current.description = f"{current.description} {line}" if current.description else line
    unique: dict[tuple, Intervention] = {}
    for intervention in found:  # the same intervention shown twice: one, with what either shows
        first = unique.setdefault((intervention.type, intervention.name.lower()), intervention)
        first.description = first.description or intervention.description
        first.other_names = first.other_names or intervention.other_names
    return list(unique.values())


# ---------------------------------------------------------------------------- sites and contacts

US_STATES = {  # lower-case name → postal code
    name.lower(): code for name, code in (pair.split(":") for pair in (
        "Alabama:AL,Alaska:AK,Arizona:AZ,Arkansas:AR,California:CA,Colorado:CO,Connecticut:CT,Delaware:DE,"
        "District of Columbia:DC,Florida:FL,Georgia:GA,Hawaii:HI,Idaho:ID,Illinois:IL,Indiana:IN,Iowa:IA,Kansas:KS,"
        "Kentucky:KY,Louisiana:LA,Maine:ME,Maryland:MD,Massachusetts:MA,Michigan:MI,Minnesota:MN,Mississippi:MS,"
        "Missouri:MO,Montana:MT,Nebraska:NE,Nevada:NV,New Hampshire:NH,New Jersey:NJ,New Mexico:NM,New York:NY,"
        "North Carolina:NC,North Dakota:ND,Ohio:OH,Oklahoma:OK,Oregon:OR,Pennsylvania:PA,Puerto Rico:PR,"
        "Rhode Island:RI,South Carolina:SC,South Dakota:SD,Tennessee:TN,Texas:TX,Utah:UT,Vermont:VT,Virginia:VA,"
        "Washington:WA,West Virginia:WV,Wisconsin:WI,Wyoming:WY"
    ).split(","))
}
_ZIP = r"(?P<zip>\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4,6})"
_ADDRESS = re.compile(  # "Boston, Massachusetts 02114[, Country]", or the registry's "Boston, Massachusetts, United States, 02114"
    rf"^(?P<city>[^,\d][^,]*),\s*(?P<region>[A-Za-z][A-Za-z .'-]*?)"
    rf"(?:(?:\s+{_ZIP})?(?:,\s*(?P<country>[A-Za-z][A-Za-z .'-]+))?|,\s*(?P<country2>[A-Za-z][A-Za-z .'-]+),\s*(?P<zip2>[\w -]{{3,10}}))$"
)
_COUNTRY_HEADINGS = ("united states", "usa", "u.s.")  # "United States, Massachusetts": a heading over sites, not a city
_PHONE = re.compile(r"(?:\+?\d[\d\s().-]{6,}\d)(?:\s*(?:x|ext\.?)\s*\d+)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _address(line: str) -> dict | None:
    match = _ADDRESS.match(line)
    if not match:
        return None
    parts = match.groupdict()
    parts["zip"], parts["country"] = parts["zip"] or parts["zip2"], parts["country"] or parts["country2"]
    if parts["city"].strip().lower() in _COUNTRY_HEADINGS:
        return None
    region = parts["region"].strip()
    in_us = region.lower() in US_STATES or region.upper() in US_STATES.values()
    if not (parts["zip"] or parts["country"] or in_us):
        return None
    country = parts["country"] or ("United States" if in_us else None)
    return {"city": parts["city"].strip(), "state": region, "zip": parts["zip"], "country": country}


def _person(lines: list[str]) -> tuple[str | None, str | None, str | None]:
    """(name, phone, email) from a contact's lines."""
    name = phone = email = None
    for line in lines:
        text = re.sub(r"^(?:contact(?: name)?|name|phone|email|e-mail|tel(?:ephone)?)\s*:\s*", "", line, flags=re.I)
        if email is None and _EMAIL.search(text):
            email = _EMAIL.search(text).group(0)
        elif phone is None and _PHONE.fullmatch(text.strip()):
            phone = text.strip()
        elif name is None and text:
            name = text
    return name, phone, email


def listing_sites(lines: list[str], status: str | None) -> list[Site]:
    """Sites from a locations section: a facility line (and the site's recruitment status, as the
    registry shows it), an address line ("Boston, Massachusetts 02114"), then the site contact's
    lines, for each site."""
    lines = [line for line in lines if line]
    addresses = [(i, found) for i, line in enumerate(lines) if (found := _address(line))]
    sites = []
    for number, (index, address) in enumerate(addresses):
        end = addresses[number + 1][0] - 1 if number + 1 < len(addresses) else len(lines)
        before = index - 1
        site_status = listing_status(lines[before]) if before >= 0 else None
        before -= site_status is not None
        facility = re.sub(r"[\s.,;]+$", "", lines[before]) if before >= 0 else None
        name, phone, email = _person(lines[index + 1:end])
        sites.append(Site(facility=facility or None, status=site_status or status, contact_name=name, contact_phone=phone,
                          contact_email=email, **address))
    return sites


def listing_contact(lines: list[str]) -> Contact | None:
    name, phone, email = _person([line for line in lines if line])
    return Contact(name=name, role="CONTACT", phone=phone, email=email) if name else None
