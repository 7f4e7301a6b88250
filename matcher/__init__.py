"""trialmatch: match patients to ClinicalTrials.gov trials, criterion by criterion."""
