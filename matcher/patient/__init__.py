"""Patients from JSON, FHIR R4 Bundles and free-text notes."""
