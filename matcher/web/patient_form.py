"""The physician page's form ↔ the patient JSON of docs/design.md, and the ranking filters.

The form is a plain GET form: its query string is the whole state (nothing is kept on the
server), so a results page can be bookmarked or shared as a URL. Repeating facts (diagnoses,
labs, therapies, procedures) are rows of inputs that share names, one value per row in
document order: ``lab=platelet count&lab_value=22&lab_unit=10^9/L&lab=IgG&lab_value=9.8…``.
Without JavaScript, an "add a row" button submits the form with ``add=<group>`` and the page
comes back with one more empty row in that group.

``read_form(query)`` parses a query string; ``PatientForm.patient_data()`` builds the patient
JSON that ``load_patient`` validates; ``PatientForm.input_for(field)`` names the form input a
``PatientError`` is about, so the page shows the error next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from models.trial import OPEN_STATUSES, STATUSES

from ..geo import locate

MAX_ROWS = 20  # per group of rows
MAX_FIELDS = 1000  # in a query string: twenty rows of every group and the rest fit many times over
TOP_CHOICES = (10, 20, 50)
STATUS_CHOICES = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING")
SEX_CHOICES = (("", "not given"), ("female", "female"), ("male", "male"))
PREGNANT_CHOICES = (("", "not known"), ("no", "no"), ("yes", "yes"))
THERAPY_STATUS_CHOICES = (("", "not given"), ("current", "current"), ("past", "past"))
THERAPY_OUTCOME_CHOICES = (("", "not given"), ("ongoing", "ongoing"), ("completed", "completed"),
                           ("failed", "failed: no or lost response"), ("intolerant", "not tolerated"))
STAGE_CHOICES = (("", "not given"), ("I", "I"), ("II", "II"), ("III", "III"), ("IV", "IV"))
ECOG_CHOICES = (("", "not given"), ("0", "0 — fully active"), ("1", "1 — restricted in strenuous activity"),
                ("2", "2 — up and about more than half the day"), ("3", "3 — in bed or chair more than half the day"),
                ("4", "4 — completely disabled"))
_ERROR_FIELD = re.compile(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?$")


@dataclass(frozen=True)
class Column:
    """One input of a row: its query parameter, its label, and its key in the patient JSON item."""

    param: str
    label: str
    json_key: str
    choices: tuple[tuple[str, str], ...] = ()  # a select's (value, text); empty: a text input
    datalist: str = ""  # id of a <datalist> of suggestions
    size: int = 10  # of a text input, in characters


@dataclass(frozen=True)
class RowGroup:
    """Rows of inputs for one list of the patient JSON (``conditions``, ``labs`` …)."""

    key: str  # the patient JSON list, also the value of the "add a row" button
    legend: str
    noun: str  # "lab" → labels "Lab 2", "Value of lab 2"
    columns: tuple[Column, ...]
    default_rows: int
    hint: str = ""

    @property
    def name_param(self) -> str:
        return self.columns[0].param


DATES = "Dates as YYYY-MM-DD, YYYY-MM or YYYY."
ROW_GROUPS = (
    RowGroup("conditions", "Diagnoses", "diagnosis", (
        Column("diagnosis", "Diagnosis", "name", size=28),
        Column("stage", "Stage", "stage", choices=STAGE_CHOICES),
        Column("biomarkers", "Receptors, mutations", "biomarkers", size=24),
    ), default_rows=3, hint="One per row, e.g. primary immune thrombocytopenia; breast cancer, stage II, "
                            "receptors ER+, PR-, HER2-negative; NSCLC, EGFR mutation."),
    RowGroup("labs", "Key labs", "lab", (
        Column("lab", "Lab test", "name", datalist="lab-names", size=28),
        Column("lab_value", "Value", "value"),
        Column("lab_unit", "Unit", "unit", datalist="lab-units"),
        Column("lab_date", "Date", "date"),
    ), default_rows=3, hint=f"The unit as on the report, e.g. 10^9/L, g/L, mg/dL. {DATES}"),
    RowGroup("medications", "Therapies, current and past", "therapy", (
        Column("therapy", "Therapy", "name", size=28),
        Column("therapy_status", "Current or past", "current", choices=THERAPY_STATUS_CHOICES),
        Column("therapy_outcome", "Outcome", "outcome", choices=THERAPY_OUTCOME_CHOICES),
        Column("therapy_start", "Started", "start"),
        Column("therapy_end", "Ended", "end"),
    ), default_rows=3, hint=f"A drug or a drug class. {DATES} A therapy with a start and no end is current. "
                            "The outcome answers criteria such as “refractory to or intolerant of corticosteroids”."),
    RowGroup("procedures", "Procedures", "procedure", (
        Column("procedure", "Procedure", "name", size=28),
        Column("procedure_date", "Date", "date"),
    ), default_rows=1, hint=f"e.g. splenectomy. {DATES}"),
)
GROUPS = {group.key: group for group in ROW_GROUPS}
SINGLE_FIELDS = {  # query parameter (also the input's id) → label
    "age": "Age in years",
    "sex": "Sex",
    "pregnant": "Pregnant",
    "as_of": "Date of the record",
    "ecog": "ECOG performance status",
    "weight_kg": "Weight in kg",
    "height_cm": "Height in cm",
    "zip": "ZIP code",
    "city": "City",
    "country": "Country",
    "radius_km": "Radius in km",
    "top": "Trials to show",
    "note": "Clinical note",
}


@dataclass
class FieldError:
    """A problem with the form, shown next to the input ``input_id`` (None: the form as a whole)."""

    input_id: str | None
    message: str


@dataclass
class PatientForm:
    """What the query string says: field values as typed, rows per group, chosen statuses."""

    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    statuses: list[str] = field(default_factory=lambda: list(OPEN_STATUSES))
    submitted: bool = False
    add: str | None = None  # the group whose "add a row" button was pressed

    # ------------------------------------------------------------ the patient JSON

    def filled_rows(self, group: RowGroup) -> list[tuple[int, dict[str, str]]]:
        """(row index, values) of the rows of ``group`` with anything typed in them."""
        return [(i, row) for i, row in enumerate(self.rows[group.key]) if any(row.get(c.param) for c in group.columns)]

    def patient_data(self) -> dict:
        """The patient JSON of docs/design.md for what the form says (``load_patient`` validates it)."""
        data: dict = {"id": "physician-page"}
        value = self.values.get
        if value("age"):
            data["age"] = value("age")
        if value("sex"):
            data["sex"] = value("sex")
        if value("pregnant"):
            data["pregnant"] = {"yes": True, "no": False}.get(value("pregnant"), value("pregnant"))
        if value("as_of"):
            data["as_of"] = value("as_of")
        for name in ("ecog", "weight_kg", "height_cm"):
            if value(name):
                data[name] = value(name)
        for group in ROW_GROUPS:
            data[group.key] = [self._item(group, row) for _, row in self.filled_rows(group)]
        location = {key: value(key) for key in ("zip", "city", "country") if value(key)}
        if location:
            data["location"] = location
        if value("note"):
            data["note"] = value("note")
        return data

    @staticmethod
    def _item(group: RowGroup, row: dict[str, str]) -> dict:
        item = {}
        for column in group.columns:
            typed = row.get(column.param, "")
            if not typed:
                continue
            if column.json_key == "current":
                item["current"] = {"current": True, "past": False}.get(typed, typed)
            else:
                item[column.json_key] = typed
        return item

    def has_facts(self) -> bool:
        """Whether there is anything to match trials on: a diagnosis, lab, therapy, procedure or note."""
        return bool(self.values.get("note")) or any(self.filled_rows(group) for group in ROW_GROUPS)

    # ------------------------------------------------------------ errors → inputs

    def input_for(self, patient_field: str) -> str | None:
        """The id of the input a ``PatientError.field`` (``labs[1].value``, ``age``) is about."""
        found = _ERROR_FIELD.match(patient_field)
        if not found:
            return None
        name, index, part = found.groups()
        if name in GROUPS and index is not None:
            group = GROUPS[name]
            filled = self.filled_rows(group)
            if int(index) >= len(filled):
                return None
            row = filled[int(index)][0]
            column = next((c for c in group.columns if c.json_key == part), group.columns[0])
            return row_input_id(column.param, row)
        if name == "location":
            return "zip" if self.values.get("zip") else "city"
        if name in SINGLE_FIELDS:
            return name
        if name == "birth_date":
            return "age"
        return None

    # ------------------------------------------------------------ filters

    def location_error(self) -> FieldError | None:
        """The location typed, if it cannot be placed on the map."""
        zip_code, city, country = (self.values.get(k) for k in ("zip", "city", "country"))
        if not (zip_code or city) or locate(zip_code=zip_code, city=city, country=country):
            return None
        return FieldError("zip" if zip_code else "city", "cannot place this location (a US ZIP code, or a city and its country)")

    def check_filters(self) -> list[FieldError]:
        """Problems with the radius and the number of trials asked for."""
        errors = []
        radius = self.values.get("radius_km")
        if radius:
            try:
                km = float(radius)
            except ValueError:
                km = None
            if km is None or not 0 < km <= 20_000:
                errors.append(FieldError("radius_km", f"expected a distance in km between 0 and 20000, got {radius!r}"))
            elif not (self.values.get("zip") or self.values.get("city")):
                errors.append(FieldError("zip", "a radius needs the patient's ZIP code or city"))
        if self.values.get("top") and self.values["top"] not in {str(n) for n in TOP_CHOICES}:
            errors.append(FieldError("top", f"choose one of {', '.join(map(str, TOP_CHOICES))}"))
        return errors

    @property
    def within_km(self) -> float | None:
        return float(self.values["radius_km"]) if self.values.get("radius_km") else None

    @property
    def top(self) -> int:
        return int(self.values.get("top") or TOP_CHOICES[0])

    @property
    def status_filter(self) -> tuple[str, ...] | None:
        """The statuses to rank; None (any status) when none is ticked."""
        return tuple(self.statuses) or None


def row_input_id(param: str, row: int) -> str:
    return f"{param}-{row + 1}"


def input_label(input_id: str) -> str:
    """What the input is called on the page: "Age in years", "Value (lab 2)"."""
    if input_id in SINGLE_FIELDS:
        return SINGLE_FIELDS[input_id]
    param, _, row = input_id.rpartition("-")
    for group in ROW_GROUPS:
        for column in group.columns:
            if column.param == param:
                return f"{column.label} {row}" if column is group.columns[0] else f"{column.label} ({group.noun} {row})"
    return input_id


def read_form(query_string: str) -> PatientForm:
    """The form's state from a query string. Unknown parameters are ignored; more than
    MAX_FIELDS parameters is a ValueError."""
    params = parse_qs(query_string, keep_blank_values=True, max_num_fields=MAX_FIELDS)  # more: ValueError
    first = lambda name: params.get(name, [""])[0].strip()  # noqa: E731
    form = PatientForm(values={name: first(name) for name in SINGLE_FIELDS if first(name)})
    form.add = first("add") if first("add") in GROUPS else None
    for group in ROW_GROUPS:
        columns = {c.param: params.get(c.param, [])[:MAX_ROWS] for c in group.columns}
        count = max([group.default_rows] + [len(v) for v in columns.values()])
        if form.add == group.key:
            count += 1
        form.rows[group.key] = [
            {param: (values[i].strip() if i < len(values) else "") for param, values in columns.items()}
            for i in range(min(count, MAX_ROWS))
        ]
    # The form always sends "status" (a hidden empty one): present means the boxes were
    # shown, so none ticked means any status; absent (a hand-made URL) means the default.
    if "status" in params:
        form.statuses = [s for s in dict.fromkeys(params["status"]) if s in STATUSES]
    form.submitted = bool(form.add is None and ("status" in params or form.has_facts() or form.values))
    return form
