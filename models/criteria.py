"""Structured eligibility criteria: what the criteria parser produces and matching consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("inclusion", "exclusion")

CATEGORIES = (
    "age",
    "sex",
    "condition",
    "measurement",
    "therapy",
    "procedure",
    "time_window",
    "reproductive",  # pregnancy, lactation, contraception
    "performance_status",
    "administrative",  # consent, compliance, investigator judgement
    "informational",  # states no requirement: what is allowed, a note, a conditional
    "other",
)

# Entity types of the Chia annotation scheme (Kury et al. 2020).
ENTITY_TYPES = (
    "Condition",
    "Drug",
    "Procedure",
    "Measurement",
    "Observation",
    "Person",
    "Device",
    "Visit",
    "Value",
    "Temporal",
    "Negation",
    "Qualifier",
    "Multiplier",
    "Reference_point",
    "Mood",
    "Scope",
)

COMPARISON_OPS = ("<", "<=", ">", ">=", "=", "between")


@dataclass
class Entity:
    """A typed span; ``start``/``end`` are offsets in the whole eligibility text."""

    type: str
    text: str
    start: int
    end: int


@dataclass
class Constraint:
    """One machine-checkable condition stated by a criterion.

    ``type`` says which fields are meaningful:

    - ``measurement``: ``measure`` (e.g. ``platelet_count``), ``loinc``, ``op``, ``value``
      (``value_max`` for ``between``), ``unit`` (canonical unit of the measure, or ``x ULN``);
    - ``age``: ``op``, ``value``[, ``value_max``], ``unit`` = ``years``;
    - ``sex``: ``value_text`` = ``female`` / ``male``;
    - ``ethnicity``: ``value_text`` = the race or ethnicity asked for, as written ("Black"); no
      record states it, so it is always to confirm;
    - ``therapy``: ``drug`` and/or ``drug_class``, ``timing`` (``prior`` / ``current`` / ``any``),
      ``within_days``; ``outcome`` when the criterion asks how it went: ``failed`` (refractory,
      resistant, no or an inadequate response, progression on it), ``intolerant``, or both
      (``failed|intolerant``: either will do);
    - ``condition`` / ``procedure``: ``name``, ``mesh_term``, ``timing``, ``within_days``; on a
      condition, ``value_text`` is a severity the criterion asks for (``uncontrolled``,
      ``unstable``, ``severe``, …), which the condition's mere presence does not show, or
      ``active``, which a history of the condition does not show; ``qualifiers`` the stage,
      receptor or biomarker status, course or genotype it asks for (``HER2=negative;
      stage=III|IV``: values after ``|`` are alternatives); a condition without ``name`` but with
      ``qualifiers`` asks them of the patient's disease, whatever it is ("HER2-negative disease");
    - ``reproductive``: ``value_text`` = ``pregnant`` / ``lactating`` / ``contraception`` /
      ``postmenopausal`` (negated for "premenopausal");
    - ``healthy_volunteer``: the trial takes people without disease ("healthy volunteers").

    ``negated`` is true when the criterion states the absence ("no prior splenectomy").

    ``timing`` on a ``measurement`` is ``prior`` when the value describes the past ("prior
    response (platelet count >= 50 G/L) that was not maintained"): matching must not test a
    current lab against it. ``any_of``: constraints of one criterion that share a number are
    alternatives (the statement holds when any of them holds); all other constraints of a
    criterion hold together. ``excluding`` names the drug class, drug or condition carved out
    of the constraint ("immunosuppressants other than corticosteroids" → ``corticosteroid``;
    several are joined by ``"; "``).
    """

    type: str
    measure: str | None = None
    loinc: str | None = None
    op: str | None = None
    value: float | None = None
    value_max: float | None = None
    unit: str | None = None
    drug: str | None = None
    drug_class: str | None = None
    name: str | None = None
    mesh_term: str | None = None
    value_text: str | None = None
    timing: str | None = None
    within_days: int | None = None
    negated: bool = False
    text: str | None = None  # the words the constraint was read from
    any_of: int | None = None  # alternatives share a number
    excluding: str | None = None  # carved out: a class, drug or condition ("; " between several)
    qualifiers: str | None = None  # of a condition: "HER2=positive; stage=IV" (matcher.criteria.qualifiers)
    outcome: str | None = None  # of a therapy: "failed", "intolerant" or "failed|intolerant"


@dataclass
class Criterion:
    kind: str  # "inclusion" or "exclusion"
    text: str  # the criterion as written, markdown escapes removed
    start: int  # offsets of the criterion in the eligibility text
    end: int
    category: str = "other"
    context: str | None = None  # the parent bullet's lead-in, for nested bullets
    entities: list[Entity] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
