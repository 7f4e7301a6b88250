"""Trial ↔ database rows. Pure functions; the Store does the I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

from models.trial import Contact, Intervention, Site, Trial

from .schema import JSON_LIST_COLUMNS

_TRIAL_SCALARS = [
    f.name for f in fields(Trial) if f.name not in JSON_LIST_COLUMNS and f.name not in ("interventions", "sites", "contacts")
]


def content_hash(trial: Trial) -> str:
    """A fingerprint of everything a Trial says; equal hashes mean nothing changed.

    The dataclass repr lists every field, nested ones included, in declaration order."""
    return hashlib.sha256(repr(trial).encode("utf-8")).hexdigest()


def trial_row(trial: Trial) -> dict:
    row = {name: getattr(trial, name) for name in _TRIAL_SCALARS}
    for name in JSON_LIST_COLUMNS:
        row[name] = json.dumps(getattr(trial, name), ensure_ascii=False)
    if trial.healthy_volunteers is not None:
        row["healthy_volunteers"] = int(trial.healthy_volunteers)
    return row


def site_rows(trial: Trial) -> list[dict]:
    return [
        {
            "nct_id": trial.nct_id,
            "position": position,
            "facility": s.facility,
            "city": s.city,
            "state": s.state,
            "zip": s.zip,
            "country": s.country,
            "status": s.status,
            "latitude": s.lat,
            "longitude": s.lon,
            "coordinates_source": "registry" if s.lat is not None and s.lon is not None else None,
            "contact_name": s.contact_name,
            "contact_phone": s.contact_phone,
            "contact_email": s.contact_email,
        }
        for position, s in enumerate(trial.sites)
    ]


def condition_rows(trial: Trial) -> list[dict]:
    return [
        {"nct_id": trial.nct_id, "name": name, "vocabulary": vocabulary}
        for vocabulary, names in (
            ("reported", trial.conditions),
            ("mesh", trial.condition_mesh_terms),
            ("mesh_ancestor", trial.condition_mesh_ancestors),
        )
        for name in names
    ]


def intervention_rows(trial: Trial) -> list[dict]:
    return [
        {
            "nct_id": trial.nct_id,
            "type": i.type,
            "name": i.name,
            "description": i.description,
            "other_names": json.dumps(i.other_names, ensure_ascii=False),
        }
        for i in trial.interventions
    ]


def contact_rows(trial: Trial) -> list[dict]:
    return [
        {"nct_id": trial.nct_id, "name": c.name, "role": c.role, "phone": c.phone, "email": c.email}
        for c in trial.contacts
    ]


def trial_from_rows(row: dict, sites: list[dict], interventions: list[dict], contacts: list[dict]) -> Trial:
    values = {name: row.get(name) for name in _TRIAL_SCALARS}
    for name in JSON_LIST_COLUMNS:
        values[name] = json.loads(row[name]) if row.get(name) else []
    if row.get("healthy_volunteers") is not None:
        values["healthy_volunteers"] = bool(row["healthy_volunteers"])
    values["eligibility_text"] = row.get("eligibility_text") or ""
    values["brief_title"] = row.get("brief_title") or ""
    return Trial(
        **values,
        sites=[
            Site(
                facility=s["facility"], city=s["city"], state=s["state"], zip=s["zip"], country=s["country"],
                status=s["status"], lat=s["latitude"], lon=s["longitude"], contact_name=s["contact_name"],
                contact_phone=s["contact_phone"], contact_email=s["contact_email"],
            )
            for s in sorted(sites, key=lambda s: s["position"])
        ],
        interventions=[
            Intervention(type=i["type"], name=i["name"], description=i["description"],
                         other_names=json.loads(i["other_names"] or "[]"))
            for i in interventions
        ],
        contacts=[Contact(name=c["name"], role=c["role"], phone=c["phone"], email=c["email"]) for c in contacts],
    )
