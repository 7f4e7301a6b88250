"""What the two resource kinds share: identifier systems, ids, and references."""

from __future__ import annotations

import hashlib
import re

from models.trial import NCT_ID

# The identifier system of NCT ids, as FHIR and the registry use it.
CLINICALTRIALS_GOV = "http://clinicaltrials.gov"
# Where trialmatch's own extensions are defined (docs/fhir.md); a logical name, not a web page.
EXTENSION_BASE = "urn:trialmatch:fhir:StructureDefinition:"

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def is_fhir_id(text: str) -> bool:
    return bool(_FHIR_ID.match(text))


def stable_id(*parts: str) -> str:
    """A FHIR id (letters, digits, '-', at most 64) that depends only on ``parts``."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]


def study_reference(nct_id: str, title: str | None = None) -> dict:
    """A reference to the trial's ResearchStudy (as `trialmatch export-fhir` writes it), with
    its NCT id as identifier so it resolves without that file too."""
    reference: dict = {"reference": f"ResearchStudy/{nct_id}"} if is_fhir_id(nct_id) else {}
    reference["identifier"] = {"system": CLINICALTRIALS_GOV, "value": nct_id} if NCT_ID.match(nct_id) else {"value": nct_id}
    if title:
        reference["display"] = title
    return reference
