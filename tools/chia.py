"""Reader of the Chia corpus (brat standoff; Kury et al. 2020, Sci Data 7:281, CC BY 4.0) and
its split into a tuning part and a held-out part by a hash of the NCT id."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

# The entity types scored and tagged; the other brat labels of Chia mark annotation issues
# ("Non-query-able", "Parsing_Error", …), not entities.
CHIA_TYPES = ("Condition", "Drug", "Procedure", "Measurement", "Observation", "Person", "Device",
              "Visit", "Value", "Temporal", "Negation", "Qualifier", "Multiplier",
              "Reference_point", "Mood")


@dataclass
class ChiaEntity:
    type: str
    start: int  # first character of the first fragment
    end: int  # last character of the last fragment (discontinuous entities span their gap)
    text: str
    discontinuous: bool = False


@dataclass
class ChiaDocument:
    name: str  # e.g. NCT00094861_exc
    nct_id: str
    kind: str  # "inclusion" / "exclusion"
    text: str
    entities: list[ChiaEntity]


def heldout(nct_id: str) -> bool:
    """One trial in five, chosen by the SHA-1 of its NCT id, is held out from all tuning."""
    return int(hashlib.sha1(nct_id.encode()).hexdigest(), 16) % 5 == 0


def read_document(txt: Path) -> ChiaDocument:
    with open(txt, encoding="utf-8", newline="") as f:
        text = f.read()
    entities = []
    ann = txt.with_suffix(".ann")
    if ann.exists():
        with open(ann, encoding="utf-8", newline="") as f:
            for line in f:
                if not line.startswith("T"):
                    continue
                parts = line.rstrip("\r\n").split("\t")
                if len(parts) < 2:
                    continue
                label, _, spans = parts[1].partition(" ")
                if label not in CHIA_TYPES:
                    continue
                frags = [tuple(int(x) for x in frag.split()) for frag in spans.split(";")]
                start, end = min(s for s, _ in frags), max(e for _, e in frags)
                entities.append(ChiaEntity(label, start, end, text[start:end], len(frags) > 1))
    name = txt.stem
    nct, _, part = name.partition("_")
    return ChiaDocument(name, nct, "exclusion" if part.startswith("exc") else "inclusion", text, entities)


def read_corpus(folder: Path) -> list[ChiaDocument]:
    return [read_document(p) for p in sorted(Path(folder).glob("*.txt"))]


def lines(doc: ChiaDocument):
    """(start, end, entities) of each line (one criterion per line), entity offsets kept."""
    pos = 0
    text = doc.text
    ents = sorted(doc.entities, key=lambda e: e.start)
    while pos <= len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        line_end = end - 1 if end > pos and text[end - 1] == "\r" else end
        inside = [e for e in ents if pos <= e.start and e.end <= line_end]
        yield pos, line_end, inside
        if nl < 0:
            break
        pos = nl + 1


def score(pairs) -> dict[str, dict[str, float]]:
    """pairs: (gold spans, predicted spans) per line → counts per type and mode."""
    c = defaultdict(lambda: defaultdict(int))
    for gold, pred in pairs:
        for t in CHIA_TYPES:
            g = [x for x in gold if x[2] == t]
            p = [x for x in pred if x[2] == t]
            c[t]["gold"] += len(g)
            c[t]["pred"] += len(p)
            c[t]["strict"] += len(set(g) & set(p))
            used = set()
            for ps, pe, _ in p:
                for k, (gs, ge, _) in enumerate(g):
                    if k not in used and ps < ge and gs < pe:
                        used.add(k)
                        c[t]["relaxed"] += 1
                        break
    return c


def f1(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
