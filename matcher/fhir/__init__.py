"""FHIR R4 (4.0.1) output: trials as ResearchStudy, patient–trial matches as ResearchSubject.

Resources are plain JSON-ready dicts, one per NDJSON line, as the FHIR Bulk Data format writes
them. docs/fhir.md says what each element holds and why.
"""

from .studies import research_study
from .subjects import research_subject

__all__ = ["research_study", "research_subject"]
