#!/usr/bin/env bash
# Set up, build ./trials.db from the registry, and show what trialmatch does with it.
# Source: $TRIALMATCH_SOURCE (a registry archive or folder), else the live ClinicalTrials.gov API.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
export TRIALMATCH_DB=${TRIALMATCH_DB:-$PWD/trials.db}
step() { printf '\n== %s\n' "$*"; }

step "Registry: import (or crawl), parse every trial's criteria, place sites, embed every trial"
trialmatch update
step "The seed listing page (ianalumab in primary ITP), scraped like a hospital trial finder"
trialmatch scrape data/examples/ianalumab-itp-listing.txt
step "What the database holds"
trialmatch stats
step "Recruiting trials that mention immune thrombocytopenia (full-text search)"
sqlite-utils "$TRIALMATCH_DB" --table "
  SELECT t.nct_id, substr(t.brief_title, 1, 70) AS title, t.phases
  FROM trials t JOIN trials_fts f ON f.rowid = t.rowid
  WHERE trials_fts MATCH '\"immune thrombocytopenia\"' AND t.overall_status = 'RECRUITING'
  ORDER BY f.rank LIMIT 5"
step "Trials for the example patient (data/examples/itp-patient.json)"
trialmatch match data/examples/itp-patient.json --top 5
step "A batch run over data/examples/patients.jsonl"
trialmatch batch data/examples/patients.jsonl --out matches.csv --top 5
cat <<MSG

Next:
  .venv/bin/trialmatch serve        then open http://127.0.0.1:8001/  (find trials for a patient, or browse the registry)
  matches.csv                       the batch run's matches; details in trials.results.db
MSG
