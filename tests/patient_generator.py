"""Synthetic patients for batch tests and benchmarks: varied, hand-made, the same on every run.

Ages, sexes, conditions, labs, medications, procedures and homes vary with a seeded random
generator; a share of the patients carry a note, a birth date instead of an age, or a shortlist.
"""

from __future__ import annotations

import random

# Conditions the fixture registry's trials are about, so that every patient finds trials there.
FIXTURE_CONDITIONS = ("primary immune thrombocytopenia", "immune thrombocytopenia", "asthma", "chronic ITP")
OTHER_CONDITIONS = ("hypertension", "type 2 diabetes", "obesity", "hypothyroidism", "major depressive disorder")
LABS = (("platelet count", 5, 450, "10^9/L"), ("hemoglobin", 7, 17, "g/dL"), ("HbA1c", 4.8, 11, "%"),
        ("creatinine", 0.5, 3.0, "mg/dL"), ("absolute neutrophil count", 0.4, 8, "10^9/L"))
MEDICATIONS = ("prednisone", "eltrombopag", "romiplostim", "rituximab", "metformin", "lisinopril", "albuterol",
               "fluticasone", "levothyroxine", "sertraline")
PROCEDURES = ("splenectomy", "appendectomy", "cholecystectomy", "knee arthroplasty")
HOMES = ({"zip": "02114"}, {"zip": "80202"}, {"zip": "10001"}, {"zip": "94103"},
         {"city": "Lyon", "country": "France"}, {"lat": 42.36, "lon": -71.06})
NOTES = ("relapsed after a steroid taper; bruising and petechiae.",
         "wheezing at night, two exacerbations this year.",
         "denies smoking. No history of splenectomy.")


def synthetic_patient(index: int, rng: random.Random, conditions=FIXTURE_CONDITIONS, shortlist=()) -> dict:
    sex = rng.choice(("female", "male"))
    patient = {"id": f"P{index:05d}", "sex": sex, "as_of": "2026-11-25"}
    if rng.random() < 0.15:
        patient["birth_date"] = f"{rng.randint(1940, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    else:
        patient["age"] = rng.randint(6, 88)
    patient["conditions"] = [rng.choice(conditions)] + rng.sample(OTHER_CONDITIONS, rng.randint(0, 2))
    patient["labs"] = [
        {"name": name, "value": round(rng.uniform(low, high), 1), "unit": unit, "date": "2026-11-10"}
        for name, low, high, unit in rng.sample(LABS, rng.randint(0, 3))
    ]
    patient["medications"] = rng.sample(MEDICATIONS, rng.randint(0, 3))
    if rng.random() < 0.2:
        patient["procedures"] = [{"name": rng.choice(PROCEDURES), "date": "2015-03-01"}]
    if sex == "female" and rng.random() < 0.5:
        patient["pregnant"] = rng.random() < 0.1
    if rng.random() < 0.8:
        patient["location"] = dict(rng.choice(HOMES))
    if rng.random() < 0.3:
        patient["note"] = f"Known {patient['conditions'][0]}, {rng.choice(NOTES)}"
    if shortlist and rng.random() < 0.1:
        patient["candidates"] = rng.sample(list(shortlist), min(2, len(shortlist)))
    return patient


def synthetic_patients(count: int, *, seed: int = 6, conditions=FIXTURE_CONDITIONS, shortlist=()) -> list[dict]:
    """``count`` patients with ids P00001…; the same list for the same arguments."""
    rng = random.Random(seed)
    return [synthetic_patient(i, rng, conditions, shortlist) for i in range(1, count + 1)]
