"""``models.Trial`` → an API v2 study object: the inverse of ``records.parse_v2_study``.

The loopback registry server uses it to serve legacy XML records in the shape the live API
returns, so ``parse_v2_study(trial_to_v2_study(trial)) == trial`` for every trial that the v2
format can carry (a site contact that has neither phone nor email is the one thing it drops:
``parse_v2_study`` reads a site's contact only when it gives a way to reach them).
"""

from __future__ import annotations

from models.trial import Trial


def _date(value: str | None) -> dict | None:
    return {"date": value} if value else None


def _terms(names: list[str], key: str = "term") -> list[dict]:
    return [{key: name} for name in names]


def _without_empty(mapping: dict) -> dict:
    """Drop None values and empty containers, as the API does for absent fields."""
    return {key: value for key, value in mapping.items() if value is not None and value != [] and value != {}}


def trial_to_v2_study(trial: Trial) -> dict:
    central = [c for c in trial.contacts if c.role in ("CONTACT", "CONTACT_BACKUP")]
    officials = [c for c in trial.contacts if c.role not in ("CONTACT", "CONTACT_BACKUP")]
    protocol = {
        "identificationModule": _without_empty({
            "nctId": trial.nct_id,
            "nctIdAliases": trial.nct_aliases,
            "briefTitle": trial.brief_title,
            "officialTitle": trial.official_title,
            "acronym": trial.acronym,
        }),
        "statusModule": _without_empty({
            "overallStatus": trial.overall_status,
            "startDateStruct": _date(trial.start_date),
            "primaryCompletionDateStruct": _date(trial.primary_completion_date),
            "completionDateStruct": _date(trial.completion_date),
            "studyFirstPostDateStruct": _date(trial.first_posted),
            "lastUpdatePostDateStruct": _date(trial.last_update_posted),
        }),
        "sponsorCollaboratorsModule": _without_empty({
            "leadSponsor": _without_empty({"name": trial.lead_sponsor, "class": trial.sponsor_class}),
            "collaborators": _terms(trial.collaborators, "name"),
        }),
        "descriptionModule": _without_empty({
            "briefSummary": trial.brief_summary,
            "detailedDescription": trial.detailed_description,
        }),
        "conditionsModule": _without_empty({"conditions": trial.conditions, "keywords": trial.keywords}),
        "designModule": _without_empty({
            "studyType": trial.study_type,
            "phases": trial.phases,
            "enrollmentInfo": {"count": trial.enrollment} if trial.enrollment is not None else None,
        }),
        "armsInterventionsModule": _without_empty({
            "interventions": [
                _without_empty({"type": i.type, "name": i.name, "description": i.description, "otherNames": i.other_names})
                for i in trial.interventions
            ],
        }),
        "eligibilityModule": _without_empty({
            "eligibilityCriteria": trial.eligibility_text or None,
            "healthyVolunteers": trial.healthy_volunteers,
            "sex": trial.sex,
            "minimumAge": trial.minimum_age,
            "maximumAge": trial.maximum_age,
        }),
        "contactsLocationsModule": _without_empty({
            "centralContacts": [_without_empty({"name": c.name, "role": c.role, "phone": c.phone, "email": c.email}) for c in central],
            "overallOfficials": [_without_empty({"name": c.name, "role": c.role}) for c in officials],
            "locations": [
                _without_empty({
                    "facility": s.facility,
                    "status": s.status,
                    "city": s.city,
                    "state": s.state,
                    "zip": s.zip,
                    "country": s.country,
                    "contacts": [_without_empty({"name": s.contact_name, "phone": s.contact_phone, "email": s.contact_email})]
                    if s.contact_phone or s.contact_email else None,
                    "geoPoint": {"lat": s.lat, "lon": s.lon} if s.lat is not None and s.lon is not None else None,
                })
                for s in trial.sites
            ],
        }),
    }
    derived = {
        "conditionBrowseModule": _without_empty({
            "meshes": _terms(trial.condition_mesh_terms),
            "ancestors": _terms(trial.condition_mesh_ancestors),
        }),
        "interventionBrowseModule": _without_empty({"meshes": _terms(trial.intervention_mesh_terms)}),
    }
    return _without_empty({"protocolSection": _without_empty(protocol), "derivedSection": _without_empty(derived)})
