"""Rebuild ``data/lexicons/mesh_conditions.tsv`` and ``mesh_interventions.tsv``: the distinct
MeSH terms that registry records index their conditions and interventions with (a vocabulary,
no per-trial data), with a term's ancestors where an API v2 record gives them for a trial
indexed by that single term.

    python -m matcher.criteria.build_vocabulary ../shared/data/ctgov
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from collections import Counter
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


def _xml_terms(zip_path: Path) -> tuple[Counter, Counter]:
    conditions, interventions = Counter(), Counter()
    with zipfile.ZipFile(zip_path) as z:
        for name in z.namelist():
            if not name.endswith(".xml"):
                continue
            xml = z.read(name).decode("utf-8", "replace")
            for tag, counter in (("condition_browse", conditions), ("intervention_browse", interventions)):
                block = re.search(rf"<{tag}>(.*?)</{tag}>", xml, re.S)
                if block:
                    counter.update(re.findall(r"<mesh_term>(.*?)</mesh_term>", block.group(1)))
    return conditions, interventions


def _v2_studies(folder: Path):
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for study in data.get("studies", [data]) if isinstance(data, dict) else data:
            if isinstance(study, dict):
                yield study


def build(ctgov: Path) -> tuple[dict[str, set[str]], set[str]]:
    conditions, interventions = _xml_terms(ctgov / "AllPublicXML-sample.zip")
    ancestors: dict[str, set[str]] = {t: set() for t in conditions}
    drugs = set(interventions)
    for study in _v2_studies(ctgov / "api-v2"):
        derived = study.get("derivedSection", {})
        browse = derived.get("conditionBrowseModule", {})
        meshes = [m.get("term") for m in browse.get("meshes", []) if m.get("term")]
        anc = {m.get("term") for m in browse.get("ancestors", []) if m.get("term")}
        for term in meshes:
            ancestors.setdefault(term, set())
        if len(meshes) == 1:
            ancestors[meshes[0]] |= anc
        for term in anc:
            ancestors.setdefault(term, set())
        ib = derived.get("interventionBrowseModule", {})
        drugs |= {m.get("term") for m in ib.get("meshes", []) if m.get("term")}
    for term in TOO_GENERAL:
        ancestors.pop(term, None)
    return ancestors, {d for d in drugs if d not in NOT_A_DRUG and "," not in d
                       and d.split()[-1] not in CLASS_WORDS}


def main(argv: list[str]) -> int:
    ctgov = Path(argv[0]) if argv else Path("../shared/data/ctgov")
    ancestors, drugs = build(ctgov)
    out = data_path("lexicons", "mesh_conditions.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write("# MeSH heading\tMeSH ancestors (|), where an API v2 record gives them\n")
        for term in sorted(ancestors):
            f.write(f"{term}\t{'|'.join(sorted(ancestors[term]))}\n")
    out2 = data_path("lexicons", "mesh_interventions.tsv")
    with open(out2, "w", encoding="utf-8") as f:
        f.write("# MeSH heading of an intervention (drugs and biologicals)\n")
        for term in sorted(drugs):
            f.write(f"{term}\n")
    print(f"{len(ancestors)} condition terms → {out}\n{len(drugs)} intervention terms → {out2}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
