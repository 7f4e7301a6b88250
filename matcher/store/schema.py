"""The registry database's tables, created through sqlite-utils.

``trials`` is the main table, keyed by ``nct_id``; ``sites``, ``conditions``, ``interventions``
and ``contacts`` hang off it; ``raw_records`` keeps each record exactly as received (zlib);
``import_runs`` and ``import_rejections`` say what each import or crawl did; ``crawls`` holds the
state of each registry crawl, so an interrupted one resumes where it stopped. List-valued columns
of ``trials`` hold JSON arrays (Datasette facets them with ``_facet_array``).
"""

from __future__ import annotations

from dataclasses import fields

import sqlite_utils

from models.criteria import Constraint

SCHEMA_VERSION = 1

TRIAL_COLUMNS = {
    "nct_id": str,
    "nct_aliases": str,
    "brief_title": str,
    "official_title": str,
    "acronym": str,
    "overall_status": str,
    "phases": str,
    "study_type": str,
    "conditions": str,
    "condition_mesh_terms": str,
    "condition_mesh_ancestors": str,
    "keywords": str,
    "intervention_mesh_terms": str,
    "lead_sponsor": str,
    "sponsor_class": str,
    "collaborators": str,
    "start_date": str,
    "primary_completion_date": str,
    "completion_date": str,
    "first_posted": str,
    "last_update_posted": str,
    "enrollment": int,
    "minimum_age": str,
    "maximum_age": str,
    "min_age_years": float,
    "max_age_years": float,
    "sex": str,
    "healthy_volunteers": int,
    "eligibility_text": str,
    "brief_summary": str,
    "detailed_description": str,
    "source_url": str,
    "source_format": str,
    "content_hash": str,
    "criteria_parser": str,
    "first_imported_at": str,
    "updated_at": str,
}
JSON_LIST_COLUMNS = (
    "nct_aliases",
    "phases",
    "conditions",
    "condition_mesh_terms",
    "condition_mesh_ancestors",
    "keywords",
    "intervention_mesh_terms",
    "collaborators",
)
FTS_COLUMNS = (
    "brief_title",
    "official_title",
    "brief_summary",
    "conditions",
    "condition_mesh_terms",
    "keywords",
    "eligibility_text",
)
def _column_type(annotation: str) -> type:
    base = annotation.split("|")[0].strip()
    return {"float": float, "int": int, "bool": int}.get(base, str)


# Every Constraint field is a column of `constraints` (kept in step with models.criteria).
CONSTRAINT_COLUMNS = {f.name: _column_type(str(f.type)) for f in fields(Constraint) if f.name != "type"}
SITE_COLUMNS = {
    "id": int,
    "nct_id": str,
    "position": int,
    "facility": str,
    "city": str,
    "state": str,
    "zip": str,
    "country": str,
    "status": str,
    "latitude": float,
    "longitude": float,
    "coordinates_source": str,  # "registry", or derived offline from the "zip" or "city"; "none" if not found
    "contact_name": str,
    "contact_phone": str,
    "contact_email": str,
}


# One row per crawl of an API v2 search: where it is (the next page token), what it did so far.
CRAWL_COLUMNS = {
    "id": int,
    "query_key": str,  # a digest of the normalized query and base URL: the crawl's identity
    "query": str,  # the normalized query as JSON, for people
    "base_url": str,
    "since": str,  # the last-update date the crawl asked from (ISO), or null for everything
    "restart_since": str,  # set when an expired page token made the crawl start again from this date
    "page_token": str,  # the next page to fetch; null at the start and once finished
    "pages": int,
    "studies": int,
    "added": int,
    "updated": int,
    "unchanged": int,
    "older": int,
    "rejected": int,
    "retries": int,
    "last_update_seen": str,  # the latest last-update date among the studies stored so far
    "status": str,  # running, interrupted, failed, stopped (at --max), finished, abandoned
    "message": str,
    "started_at": str,
    "updated_at": str,
    "finished_at": str,
}
CRAWL_COUNT_DEFAULTS = {name: 0 for name in ("pages", "studies", "added", "updated", "unchanged", "older", "rejected", "retries")}


def create_vector_tables(db: sqlite_utils.Database) -> None:
    """The trials' embeddings (``matcher.embeddings``) and the generation of each model's vector
    file (``matcher.vector_file``): with the rest of the schema, so that writers starting at once
    never race to create them."""
    db["trial_vectors"].create(
        # content_hash: the trial record's when it was embedded; a record unchanged since needs no look at its text
        {"nct_id": str, "model": str, "text_sha1": str, "vector": bytes, "content_hash": str},
        pk="nct_id",
        foreign_keys=[("nct_id", "trials", "nct_id")],
        if_not_exists=True,
    )
    if "content_hash" not in db["trial_vectors"].columns_dict:  # a database indexed before the column
        db.execute("ALTER TABLE trial_vectors ADD COLUMN content_hash TEXT")
    db["vector_files"].create({"model": str, "dim": int, "generation": str}, pk="model", if_not_exists=True)


def create_schema(db: sqlite_utils.Database) -> None:
    """Create every table and index that is missing; existing ones are left alone."""
    db.execute("PRAGMA foreign_keys = ON")
    child = {"foreign_keys": [("nct_id", "trials", "nct_id")], "if_not_exists": True}
    db["trials"].create(TRIAL_COLUMNS, pk="nct_id", not_null={"brief_title"}, if_not_exists=True)
    db["sites"].create(SITE_COLUMNS, pk="id", **child)
    db["conditions"].create(
        {"id": int, "nct_id": str, "name": str, "vocabulary": str}, pk="id", **child
    )
    db["interventions"].create(
        {"id": int, "nct_id": str, "type": str, "name": str, "description": str, "other_names": str},
        pk="id",
        **child,
    )
    db["contacts"].create(
        {"id": int, "nct_id": str, "name": str, "role": str, "phone": str, "email": str}, pk="id", **child
    )
    create_vector_tables(db)
    db["raw_records"].create(
        {
            "nct_id": str,
            "format": str,
            "location": str,
            "retrieved": str,
            "media_type": str,
            "sha256": str,
            "size": int,
            "content_zlib": bytes,
        },
        pk="nct_id",
        foreign_keys=[("nct_id", "trials", "nct_id")],
        if_not_exists=True,
    )
    db["import_runs"].create(
        {
            "id": int,
            "kind": str,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "added": int,
            "updated": int,
            "unchanged": int,
            "older": int,
            "rejected": int,
        },
        pk="id",
        if_not_exists=True,
    )
    db["import_rejections"].create(
        {"id": int, "run_id": int, "location": str, "reason": str},
        pk="id",
        foreign_keys=[("run_id", "import_runs", "id")],
        if_not_exists=True,
    )
    db["crawls"].create(CRAWL_COLUMNS, pk="id", defaults=CRAWL_COUNT_DEFAULTS, if_not_exists=True)
    db["criteria"].create(
        {
            "id": int,
            "nct_id": str,
            "position": int,
            "kind": str,
            "category": str,
            "text": str,
            "start": int,
            "end": int,
            "context": str,
            "entities": str,
        },
        pk="id",
        **child,
    )
    db["constraints"].create(
        {
            "id": int,
            "criterion_id": int,
            "nct_id": str,
            "kind": str,
            "type": str,
            **CONSTRAINT_COLUMNS,
        },
        pk="id",
        foreign_keys=[("criterion_id", "criteria", "id"), ("nct_id", "trials", "nct_id")],
        if_not_exists=True,
    )
    missing = set(CONSTRAINT_COLUMNS) - set(db["constraints"].columns_dict)
    for name in sorted(missing):  # a database made before a Constraint field was added
        db["constraints"].add_column(name, CONSTRAINT_COLUMNS[name])
    for table, columns in (
        ("trials", ["overall_status"]),
        ("trials", ["study_type"]),
        ("trials", ["sex"]),
        ("trials", ["last_update_posted"]),
        ("trials", ["min_age_years"]),
        ("trials", ["max_age_years"]),
        ("trials", ["criteria_parser"]),  # the trials to parse, found without reading every trial
        ("sites", ["nct_id"]),
        ("sites", ["country"]),
        ("sites", ["status"]),
        ("sites", ["latitude", "longitude"]),
        ("sites", ["coordinates_source"]),  # the sites to place, found without reading every site
        ("conditions", ["nct_id"]),
        ("conditions", ["name"]),
        ("interventions", ["nct_id"]),
        ("interventions", ["name"]),
        ("contacts", ["nct_id"]),
        ("import_rejections", ["run_id"]),
        ("crawls", ["query_key", "status"]),
        ("criteria", ["nct_id"]),
        ("criteria", ["category"]),
        ("constraints", ["criterion_id"]),
        ("constraints", ["nct_id"]),
        ("constraints", ["measure", "op", "value"]),
        ("constraints", ["drug_class"]),
    ):
        db[table].create_index(columns, if_not_exists=True)
    if not db["trials_fts"].exists():
        db["trials"].enable_fts(FTS_COLUMNS, create_triggers=True, tokenize="porter")
    if not db["criteria_fts"].exists():
        db["criteria"].enable_fts(["text"], create_triggers=True, tokenize="porter")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

