"""Listing pages read back: the registry's own records rendered as real kinds of site, scraped, scored.

    python benchmarks/listing_fields.py [--records N] [--seed S] [--show-errors N] [--renderer NAME]

Records of ../shared/data/ctgov/AllPublicXML-sample.zip whose criteria have one "Inclusion
Criteria" heading and then one "Exclusion Criteria" heading (about half) are sampled, and each
is rendered by every renderer of benchmarks/listing_pages.py (the classic registry page, a
results register, a patient-facing trial finder, a page saved as text, and the seed listing's
flattened text), with markup chosen per page. Each page is read back by
``crawlers.listings.parse_listing`` and its fields compared with the record, read by the
importer (``crawlers.records``): NCT id, title (the brief title), status, phase, minimum age
(in years; 0 counts as no limit), sex, the number of inclusion and of exclusion criteria and the
text of the first inclusion criterion (whitespace aside). Maximum age, healthy volunteers and
sponsor are shown too, outside "every field".

The criteria counts of the record are read here, simply, from its text (``registry_criteria``):
every bullet line is a criterion unless it is indented further than the last bullet that was one
(then it is that one's sub-item); a line without a bullet indented further than the last bullet
continues it; other lines make paragraphs (up to a blank line), each a criterion unless it ends
with ":" (a lead-in, "Patients must have:"), and a paragraph ends the list before it. The
scraper's counts are its stored text's top-level "* " lines under each heading.

Records with an even NCT number are the ones looked at while building the reader
(``--show-errors`` shows only those); odd ones were not. Both are reported. The pages written by
hand for the tests (tests/fixtures/listings) are read too, against what a reader sees on them.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data  # noqa: E402
from benchmarks.listing_pages import BULLET, HEADING, RENDERERS, Section, criteria_tree  # noqa: E402

FIELDS = ("nct_id", "title", "status", "phase", "min_age", "sex", "inclusion", "exclusion", "first_inclusion")
EXTRA_FIELDS = ("max_age", "healthy", "sponsor")
TARGET_RENDERERS = ("classic", "register", "finder", "text")  # flat-text loses nesting on the page itself


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def registry_criteria(section_lines: list[str]) -> tuple[int, str | None]:
    """The number of criteria in one section of the record's text and the first one's text, by
    the rule in this module's description."""
    criteria: list[list[str]] = []  # each criterion's lines
    current: list[str] | None = None  # the criterion a further-indented line continues
    top_indent = bullet_indent = None  # indents of the last criterion bullet and of the last bullet
    paragraph: list[str] = []

    def close_paragraph():
        if paragraph and not _words(" ".join(paragraph)).endswith(":"):
            criteria.append(list(paragraph))
        paragraph.clear()

    for line in section_lines:
        if not line.strip():
            close_paragraph()
            continue
        indent = len(line) - len(line.lstrip())
        bullet = BULLET.match(line)
        if bullet:
            close_paragraph()
            if top_indent is None or indent <= top_indent:
                current, top_indent = [line[bullet.end():]], indent
                criteria.append(current)
            else:
                current = None  # a sub-item
            bullet_indent = indent
        elif bullet_indent is not None and indent > bullet_indent and not paragraph:
            if current is not None:
                current.append(line)
        else:
            paragraph.append(line)
            current = top_indent = bullet_indent = None
    close_paragraph()
    return len(criteria), (_words(" ".join(criteria[0])) if criteria else None)


def record_reference(trial) -> dict | None:
    lines = trial.eligibility_text.replace("\r", "").split("\n")
    heads = [(i, m.group(2).lower()) for i, line in enumerate(lines) if (m := HEADING.match(line))]
    if [kind for _, kind in heads] != ["inclusion", "exclusion"]:
        return None
    (inclusion, first), (exclusion, _) = registry_criteria(lines[heads[0][0] + 1:heads[1][0]]), registry_criteria(lines[heads[1][0] + 1:])
    return {"nct_id": trial.nct_id, "title": _words(trial.brief_title), "status": trial.overall_status, "phase": trial.phases,
            "min_age": trial.min_age_years or None, "sex": trial.sex, "inclusion": inclusion, "exclusion": exclusion,
            "first_inclusion": first, "max_age": trial.max_age_years, "healthy": trial.healthy_volunteers,
            "sponsor": _words(trial.lead_sponsor)}


def tree_counts(tree: dict[str, Section]) -> dict:
    """The renderer's reading of the same text, for a check that both agree."""
    def count(section):
        return sum(len(b) if isinstance(b, list) else (not b.endswith(":")) for b in section.blocks)
    return {"inclusion": count(tree["inclusion"]), "exclusion": count(tree["exclusion"])}


def scraped_criteria(text: str) -> dict:
    """The top-level "* " lines under the stored text's "Inclusion Criteria:" / "Exclusion Criteria:"."""
    counts, first, kind = {"inclusion": 0, "exclusion": 0}, {}, None
    for line in text.split("\n"):
        heading = re.fullmatch(r"(Inclusion|Exclusion) Criteria:", line)
        if heading:
            kind = heading.group(1).lower()
        elif kind and line.startswith("* "):
            counts[kind] += 1
            first.setdefault(kind, _words(line[2:]))
    return {"inclusion": counts["inclusion"], "exclusion": counts["exclusion"], "first_inclusion": first.get("inclusion")}


def scraped_fields(content: str, media_type: str) -> dict:
    from crawlers.listings import ListingError, parse_listing

    try:
        trial, _ = parse_listing(content, None, media_type=media_type)
    except ListingError as error:
        return {"error": str(error)}
    return {"nct_id": trial.nct_id, "title": _words(trial.brief_title), "status": trial.overall_status, "phase": trial.phases,
            "min_age": trial.min_age_years or None, "sex": trial.sex, **scraped_criteria(trial.eligibility_text),
            "max_age": trial.max_age_years, "healthy": trial.healthy_volunteers, "sponsor": _words(trial.lead_sponsor)}


def same(field: str, expected, got) -> bool:
    if field in ("min_age", "max_age"):
        return (expected is None and got is None) or (expected is not None and got is not None and abs(expected - got) < 1e-3)
    return expected == got


def sample_records(archive: Path, count: int, seed: int) -> tuple[list, int, int]:
    """``count`` records with one inclusion and one exclusion heading, sampled with ``seed``."""
    from crawlers.records import parse_xml

    with zipfile.ZipFile(archive) as zipped:
        names = sorted(n for n in zipped.namelist() if n.endswith(".xml"))
        usable = []
        for name in names:
            trial = parse_xml(zipped.read(name))
            reference = record_reference(trial)
            tree = criteria_tree(trial.eligibility_text)
            if reference is not None and tree is not None:
                usable.append((trial, tree, reference))
    random.Random(seed).shuffle(usable)
    return usable[:count], len(usable), len(names)


HAND_WRITTEN = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "listings"


def hand_written_pages() -> list[tuple[str, list[str]]]:
    """Each hand-written page (tests/fixtures/listings) and the fields it reads wrong, against
    what a reader sees on it (expected.json there)."""
    import json

    from crawlers.listings import parse_listing

    expected = json.loads((HAND_WRITTEN / "expected.json").read_text(encoding="utf-8"))
    results = []
    for name in sorted(n for n in expected if not n.startswith("_")):
        want = expected[expected[name].get("same_as", name)]
        trial, _ = parse_listing((HAND_WRITTEN / name).read_bytes())
        got = {field: getattr(trial, field) for field in want}
        got["eligibility_text"] = trial.eligibility_text.split("\n")
        results.append((name, [field for field in want if got[field] != want[field]]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, metavar="N", help="records to render (default 1000)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--renderer", choices=sorted(RENDERERS), action="append", help="only these renderers")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N", help="show N pages read wrong (even NCT numbers only)")
    args = parser.parse_args()
    renderers = args.renderer or list(RENDERERS)
    started = time.perf_counter()
    records, usable, total = sample_records(shared_data("ctgov", "AllPublicXML-sample.zip"), args.records, args.seed)
    sampled = time.perf_counter() - started
    right: dict[str, Counter] = defaultdict(Counter)  # renderer → field → pages right
    pages: Counter = Counter()
    every: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # (renderer, part) → [right, pages]
    errors, disagreements, reading = [], 0, 0.0
    for trial, tree, reference in records:
        if tree_counts(tree) != {k: reference[k] for k in ("inclusion", "exclusion")}:
            disagreements += 1  # the renderer reads the text differently from the reference: not scored
            continue
        part = "looked at" if int(trial.nct_id[3:]) % 2 == 0 else "held out"
        for name in renderers:
            rng = random.Random(f"{trial.nct_id}/{name}")
            content, media_type = RENDERERS[name](trial, tree, rng)
            before = time.perf_counter()
            got = scraped_fields(content, media_type)
            reading += time.perf_counter() - before
            pages[name] += 1
            wrong = [f for f in FIELDS if not same(f, reference[f], got.get(f))]
            for f in FIELDS + EXTRA_FIELDS:
                right[name][f] += same(f, reference[f], got.get(f))
            every[(name, part)][0] += not wrong
            every[(name, part)][1] += 1
            if wrong and part == "looked at":
                errors.append((name, trial.nct_id, wrong, reference, got, content))
    scored = sum(pages.values())
    print(f"listing pages: {len(records)} of the {usable:,} records (of {total:,}) with one inclusion and one exclusion heading, "
          f"{len(renderers)} renderers, {scored:,} pages; records read in {sampled:.1f} s, pages parsed in {reading:.1f} s "
          f"({1000 * reading / max(1, scored):.1f} ms per page)")
    if disagreements:
        print(f"  {disagreements} records left out: the renderer's and the reference's readings of their criteria differ")
    width = 11
    print(f"{'field':<24}" + "".join(f"{n:>{width}}" for n in renderers))
    for f in FIELDS + EXTRA_FIELDS:
        label = f if f in FIELDS else f"({f})"
        print(f"{label:<24}" + "".join(f"{100 * right[n][f] / max(1, pages[n]):>{width - 1}.1f}%" for n in renderers))
    for part in ("looked at", "held out"):
        label = f"every field, {part}"
        print(f"{label:<24}" + "".join(f"{100 * every[(n, part)][0] / max(1, every[(n, part)][1]):>{width - 1}.1f}%" for n in renderers))
    counted = [n for n in renderers if n in TARGET_RENDERERS]
    for part in ("looked at", "held out"):
        good = sum(every[(n, part)][0] for n in counted)
        pages_in_part = sum(every[(n, part)][1] for n in counted)
        print(f"every field right on {good}/{pages_in_part} = {100 * good / max(1, pages_in_part):.1f}% of the {part} pages of "
              f"{', '.join(counted)} (target 95%)")
    hand = hand_written_pages()
    print(f"hand-written pages (tests/fixtures/listings: the classic registry page, a results register, a trial finder, "
          f"the seed as text and in 4 layouts): {sum(not wrong for _, wrong in hand)}/{len(hand)} with every field right")
    for name, wrong in hand:
        if wrong:
            print(f"  {name}: wrong {', '.join(wrong)}")
    for name, nct_id, wrong, reference, got, content in errors[: args.show_errors]:
        print(f"\n[{name}] {nct_id}: wrong {', '.join(wrong)}")
        for f in wrong:
            print(f"  {f}: record {reference[f]!r}\n  {' ' * len(f)}  page   {got.get(f, got.get('error'))!r}")


if __name__ == "__main__":
    main()
