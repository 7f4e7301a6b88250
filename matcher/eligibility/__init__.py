"""Criterion-level eligibility: Patient × Criterion → Verdict (met / not_met / unknown)."""

from .evaluate import evaluate, evaluate_criterion, evaluate_trial, registry_field_criteria, trial_label, trial_rules, TrialRules

__all__ = ["evaluate", "evaluate_criterion", "evaluate_trial", "registry_field_criteria", "trial_label", "trial_rules", "TrialRules"]
