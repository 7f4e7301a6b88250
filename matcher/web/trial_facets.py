"""Facets on the trials table that Datasette's own facets cannot give, or give too slowly.

- ``json_list`` (e.g. ``conditions``, ``phases``): counts the trials whose JSON array holds each
  value. Datasette's ``array`` facet dedupes by copying every column of every row (the whole
  eligibility text included) and is ~10× slower; this one counts distinct NCT ids. Choosing a
  value adds ``?_has_conditions=Asthma``, which ``trial_filters`` turns into a substring test
  for the quoted JSON string ``"Asthma"``: the same rows as Datasette's
  ``conditions__arraycontains=Asthma``, which parses every row's JSON in every facet query.
- ``site_country``: trials have no country column; a trial runs in every country of its
  ``sites``. Counts the trials with at least one site in each country; choosing a value adds
  ``?_site_country=France``, which ``site_country_filter`` turns into
  ``nct_id IN (SELECT nct_id FROM sites WHERE country = 'France')``. Several values select
  trials with sites in all of them.
"""

from __future__ import annotations

from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from ..store.schema import JSON_LIST_COLUMNS

TABLE = "trials"
SITE_COUNTRY = "_site_country"
LIST_HAS = "_has_"


class TrialsFacet(Facet):
    """A facet on ``trials`` whose values are counted by ``counts_sql`` (value, count)."""

    def counts_sql(self, column: str, limit: int) -> str:
        raise NotImplementedError

    def filter_parameter(self, column: str) -> str:
        raise NotImplementedError

    async def suggest(self):
        return []

    async def facet_results(self):
        if self.table != TABLE:
            return [], []
        results, timed_out = [], []
        size = self.get_facet_size()
        chosen = self.get_querystring_pairs()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            try:
                rows = await self.ds.execute(
                    self.database, self.counts_sql(column, size + 1), self.params, truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )
            except QueryInterrupted:
                timed_out.append(column)
                continue
            parameter = self.filter_parameter(column)
            values = []
            for row in rows.rows[:size]:
                value = str(row["value"])
                selected = (parameter, value) in chosen
                change = path_with_removed_args if selected else path_with_added_args
                path = self.ds.urls.path(change(self.request, {parameter: value}))
                values.append({
                    "value": row["value"], "label": row["value"], "count": row["count"], "selected": selected,
                    "toggle_url": self.ds.absolute_url(self.request, path),
                })
            results.append({
                "name": column,
                "type": self.type,
                "hideable": source_and_config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {f"_facet_{self.type}": column})),
                "results": values,
                "truncated": len(rows.rows) > size,
            })
        return results, timed_out


class JsonListFacet(TrialsFacet):
    type = "json_list"

    def counts_sql(self, column, limit):
        return f"""
            WITH selection AS ({self.sql})
            SELECT item.value AS value, count(DISTINCT selection.nct_id) AS count
            FROM selection, json_each(selection.{escape_sqlite(column)}) AS item
            WHERE json_valid(selection.{escape_sqlite(column)})
            GROUP BY item.value ORDER BY count DESC, value LIMIT {limit}
        """

    def filter_parameter(self, column):
        return f"{LIST_HAS}{column}"


class SiteCountryFacet(TrialsFacet):
    type = "site_country"

    def counts_sql(self, column, limit):
        # The selection's ids first, then their sites through the nct_id index: a selective
        # filter (a condition, a search) is evaluated once per trial, not once per site.
        return f"""
            SELECT country AS value, count(*) AS count FROM (
                SELECT DISTINCT nct_id, country FROM sites
                WHERE nct_id IN (SELECT nct_id FROM ({self.sql})) AND country IS NOT NULL
            ) GROUP BY country ORDER BY count DESC, value LIMIT {limit}
        """

    def filter_parameter(self, column):
        return SITE_COUNTRY


def trial_filters(request, table: str) -> FilterArguments | None:
    """WHERE clauses on trials for ``?_site_country=…`` and ``?_has_<list column>=…``."""
    if table != TABLE:
        return None
    clauses, params, descriptions = [], {}, []
    pairs = [(key, value) for key in request.args for value in request.args.getlist(key) if value]
    for number, (key, value) in enumerate(pairs):
        if key == SITE_COUNTRY:
            clauses.append(f"nct_id IN (SELECT nct_id FROM sites WHERE country = :filter_{number})")
            descriptions.append(f'a site in "{value}"')
        elif key.startswith(LIST_HAS) and key[len(LIST_HAS):] in JSON_LIST_COLUMNS:
            column = key[len(LIST_HAS):]
            clauses.append(f"instr({escape_sqlite(column)}, json_quote(:filter_{number})) > 0")
            descriptions.append(f'{column} has "{value}"')
        else:
            continue
        params[f"filter_{number}"] = value
    return FilterArguments(clauses, params=params, human_descriptions=descriptions) if clauses else None
