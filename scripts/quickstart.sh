#!/usr/bin/env bash
# Set up, build ./trials.db from the registry source, and show what it holds.
# Source: $TRIALMATCH_SOURCE (a registry archive or folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
export TRIALMATCH_DB=${TRIALMATCH_DB:-$PWD/trials.db}

trialmatch update
echo
trialmatch stats
echo
echo "Recruiting trials whose text mentions immune thrombocytopenia (full-text search):"
sqlite-utils "$TRIALMATCH_DB" --table "
  SELECT t.nct_id, substr(t.brief_title, 1, 70) AS title, t.phases
  FROM trials t JOIN trials_fts f ON f.rowid = t.rowid
  WHERE trials_fts MATCH '\"immune thrombocytopenia\"' AND t.overall_status = 'RECRUITING'
  ORDER BY f.rank LIMIT 5"
