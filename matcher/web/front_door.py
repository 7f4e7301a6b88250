"""The front door at ``/``: the two ways in. First "Find trials for a patient" (the patient
form itself), then "Browse the registry", with counts that mean something to a physician or a
coordinator — trials open now, the conditions they study, the sites open to enrolment — each a
link into the Datasette view. Only the registry is offered: the map tiles' database is not."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from models.trial import OPEN_STATUSES

from .browse import DATABASE_NAME

_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
COUNTS_SQL = f"""
SELECT
  (SELECT count(*) FROM trials) AS trials,
  (SELECT count(*) FROM trials WHERE overall_status IN ({_OPEN})) AS open_trials,
  (SELECT count(DISTINCT c.name) FROM conditions c JOIN trials t ON t.nct_id = c.nct_id
    WHERE c.vocabulary = 'mesh' AND t.overall_status IN ({_OPEN})) AS open_conditions,
  (SELECT count(*) FROM sites s JOIN trials t ON t.nct_id = s.nct_id
    WHERE coalesce(s.status, t.overall_status) IN ({_OPEN})) AS open_sites,
  (SELECT count(DISTINCT s.country) FROM sites s JOIN trials t ON t.nct_id = s.nct_id
    WHERE coalesce(s.status, t.overall_status) IN ({_OPEN})) AS open_countries
"""
OPEN_SITES_SQL = f"""SELECT s.nct_id, s.facility, s.city, s.country, coalesce(s.status, t.overall_status) AS status,
  s.latitude, s.longitude
FROM sites s JOIN trials t ON t.nct_id = s.nct_id
WHERE coalesce(s.status, t.overall_status) IN ({_OPEN})
ORDER BY s.country, s.city"""


@dataclass
class Count:
    number: int
    what: str
    url: str
    detail: str = ""


async def registry_counts(datasette) -> list[Count]:
    """Trials open now, the conditions (MeSH headings) they study, the sites open to enrolment."""
    row = (await datasette.get_database(DATABASE_NAME).execute(COUNTS_SQL)).first()
    urls = datasette.urls
    trials, conditions = (urls.table(DATABASE_NAME, name) for name in ("trials", "conditions"))
    statuses = ",".join(OPEN_STATUSES)
    return [
        Count(row["open_trials"], "trials open now", f"{trials}?{urlencode({'overall_status__in': statuses})}",
              f"recruiting or not yet recruiting, of {row['trials']:,} in this copy"),
        Count(row["open_conditions"], "conditions they study",
              f"{conditions}?{urlencode({'vocabulary': 'mesh', '_facet': 'name'})}", "MeSH headings"),
        Count(row["open_sites"], "sites open to enrolment", f"{urls.database(DATABASE_NAME)}?{urlencode({'sql': OPEN_SITES_SQL})}",
              f"in {row['open_countries']:,} countries, on a map"),
    ]
