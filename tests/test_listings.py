"""Listing pages → Trial: the seed listing as text and in four HTML layouts gives one Trial; pages
written by hand as the registry's classic study page, a company's results register and a
patient-facing trial finder read as a reader sees them; criteria nested as pages nest them;
labels, ages, phases, status and titles in other wordings; index pages; fetching over HTTP with
robots.txt, same-host links, a page limit and Crawl-delay; and the `scrape` command."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import FIXTURES
from crawlers.listing_fields import age_limits, listing_phases, listing_status, one_age
from crawlers.listing_fetch import FetchedPage, SkippedPage, fetch_pages
from crawlers.listings import ListingError, local_id, parse_listing
from matcher.cli import main
from matcher.store import Store
from models.trial import Trial

LISTINGS = FIXTURES / "listings"
SEED = LISTINGS / "ianalumab-itp-listing.txt"
LAYOUTS = sorted(LISTINGS.glob("ianalumab-itp-*.html"))
EXPECTED = json.loads((LISTINGS / "expected.json").read_text(encoding="utf-8"))
HAND_WRITTEN = sorted(name for name in EXPECTED if not name.startswith("_"))


@pytest.fixture(scope="module")
def seed_trial():
    return parse_listing(SEED.read_bytes())[0]


def criteria_lines(trial: Trial) -> list[str]:
    return trial.eligibility_text.split("\n")


def test_the_seed_listing_becomes_a_trial(seed_trial):
    trial = seed_trial
    # no title on the page: one built from its intervention and the condition its summary names
    assert trial.brief_title == "Ianalumab in primary ITP"
    assert trial.nct_id == local_id("Ianalumab in primary ITP", "Novartis Pharmaceuticals") and len(trial.nct_id) == 18
    assert trial.brief_summary.startswith("The purpose of this study is to evaluate the therapeutic efficacy")
    assert (trial.minimum_age, trial.maximum_age, trial.min_age_years, trial.max_age_years) == ("18 Years", None, 18.0, None)
    assert trial.sex == "ALL"  # the page leaves Eligible Genders blank; the criteria say "Male or female participants"
    assert trial.healthy_volunteers is None  # the heading is there, its value is not
    assert trial.overall_status == "RECRUITING" and trial.phases == ["PHASE2"] and trial.study_type == "INTERVENTIONAL"
    assert trial.lead_sponsor == "Novartis Pharmaceuticals"
    # each "• a. - b. - c." line is split into its criteria: 8 inclusion, 8 exclusion
    lines = criteria_lines(trial)
    exclusion = lines.index("Exclusion Criteria:")
    assert lines[:3] == ["Inclusion Criteria:", "", "* Signed informed consent obtained prior to participation in the study."]
    assert sum(line.startswith("* ") for line in lines[:exclusion]) == 8
    assert sum(line.startswith("* ") for line in lines[exclusion:]) == 8
    assert "* Neutrophils <1000/mm3." in lines[exclusion:]
    assert lines[-1] == "* Prior splenectomy. Other protocol-defined inclusion/exclusion criteria may apply."
    [intervention] = trial.interventions
    assert (intervention.type, intervention.name, intervention.other_names) == ("BIOLOGICAL", "Ianalumab", ["VAY736"])
    assert intervention.description == "Intravenous infusion, prepared from concentrate solution"
    [site] = trial.sites
    assert (site.facility, site.city, site.state, site.zip, site.country) == (
        "Massachusetts General Hospital", "Boston", "Massachusetts", "02114", "United States")
    assert site.status == "RECRUITING" and site.contact_name == "Colin Edward Welch"
    assert [(c.name, c.role) for c in trial.contacts] == [("Novartis Pharmaceuticals", "CONTACT")]
    assert trial.detailed_description.startswith("This is a phase 2, open-label, single-arm study")
    assert "derived from ClinicalTrials.gov" not in trial.detailed_description  # the site's disclaimer is not the trial's
    assert trial.source_url is None and trial.url is None


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda path: path.stem.removeprefix("ianalumab-itp-"))
def test_every_html_layout_gives_the_same_trial_as_the_text(seed_trial, layout):
    trial, raw = parse_listing(layout.read_bytes(), location=str(layout))
    assert trial == seed_trial
    assert (raw.media_type, raw.provenance.format, raw.provenance.location) == ("text/html", "listing-page", str(layout))
    assert raw.content == layout.read_bytes()


def test_there_are_at_least_three_layouts():
    assert {"headings", "definitions", "table"} <= {p.stem.removeprefix("ianalumab-itp-") for p in LAYOUTS}


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_each_hand_written_page_reads_as_a_reader_sees_it(name):
    """The classic registry page, a results register, a trial finder, the seed (text and HTML):
    every field as tests/fixtures/listings/expected.json says a reader sees it."""
    want = EXPECTED[EXPECTED[name].get("same_as", name)]
    trial, _ = parse_listing((LISTINGS / name).read_bytes())
    got = {field: getattr(trial, field) for field in want if field != "eligibility_text"}
    assert {**got, "eligibility_text": criteria_lines(trial)} == want


def test_the_local_id_is_stable_and_depends_on_title_and_sponsor(seed_trial):
    assert parse_listing(SEED.read_text())[0].nct_id == seed_trial.nct_id
    assert local_id(" A  Study ", "Sponsor") == local_id("a study", "SPONSOR") != local_id("a study", "Other sponsor")


OTHER_PAGE = """<html><head><link rel="canonical" href="/trials/itp-2"><script>document.write("Inclusion Criteria")</script></head>
<body><h1>Romiplostim in Children With ITP</h1>
<p>Registry: <a href="https://clinicaltrials.gov/study/NCT01234567">NCT01234567</a></p>
<dl><dt>Status</dt><dd>Not yet recruiting</dd>
<dt>Conditions</dt><dd>Immune Thrombocytopenia; Purpura, Thrombocytopenic</dd>
<dt>Ages</dt><dd>1 Year to 17 Years</dd><dt>Sex</dt><dd>Female</dd><dt>Healthy Volunteers</dt><dd>No</dd>
<dt>Phase</dt><dd>1/2</dd><dt>Sponsor</dt><dd>Amgen</dd></dl>
<h2>Eligibility Criteria</h2><p>Inclusion Criteria:</p><ul><li>Platelets &lt; 30 x10^9/L</li><li>Age 1-17</li></ul>
<h2>Locations</h2><p>Children's Hospital<br>Lyon, Rhone 69003, France<br>Dr Jean Dupont<br>+33 4 72 11 00 00<br>jd@example.fr</p>
<p>UCSF Benioff<br>San Francisco, CA 94143</p>
<h2>Contact</h2><p>Trial Desk<br>trials@example.org<br>555-010-0200</p></body></html>"""


def test_other_labels_values_and_an_nct_id():
    trial, raw = parse_listing(OTHER_PAGE, "https://hospital.example/trials/search?id=2")
    assert trial.nct_id == "NCT01234567" and trial.url == "https://clinicaltrials.gov/study/NCT01234567"
    assert trial.source_url == "https://hospital.example/trials/itp-2"  # the page's canonical URL
    assert trial.brief_title == "Romiplostim in Children With ITP" and trial.overall_status == "NOT_YET_RECRUITING"
    assert trial.conditions == ["Immune Thrombocytopenia", "Purpura, Thrombocytopenic"]
    assert (trial.minimum_age, trial.maximum_age, trial.sex, trial.healthy_volunteers) == ("1 Year", "17 Years", "FEMALE", False)
    assert trial.phases == ["PHASE1", "PHASE2"] and trial.lead_sponsor == "Amgen"
    assert criteria_lines(trial) == ["Inclusion Criteria:", "", "* Platelets < 30 x10^9/L", "* Age 1-17"]
    lyon, sf = trial.sites
    assert (lyon.city, lyon.zip, lyon.country, lyon.status) == ("Lyon", "69003", "France", None)
    assert (lyon.contact_name, lyon.contact_phone, lyon.contact_email) == ("Dr Jean Dupont", "+33 4 72 11 00 00", "jd@example.fr")
    assert (sf.facility, sf.state, sf.country, sf.contact_name) == ("UCSF Benioff", "CA", "United States", None)
    assert [(c.name, c.email, c.phone) for c in trial.contacts] == [("Trial Desk", "trials@example.org", "555-010-0200")]
    assert raw.content == OTHER_PAGE.encode()


def test_a_page_without_a_trial_is_refused():
    with pytest.raises(ListingError, match="no trial on this page"):
        parse_listing("<html><body><h1>Our studies</h1><a href='/t/1'>Study 1</a></body></html>")
    with pytest.raises(ListingError, match="nested too deeply"):
        parse_listing(html_page("<div>" * 5000 + CRITERIA + "</div>" * 5000))
    json_ld = '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>"
    assert parse_listing(html_page(CRITERIA, json_ld))[0].eligibility_text == "Inclusion Criteria:\n\n* Adults"


def html_page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


CRITERIA_PAGE = html_page("""<h1>A Study of Zeta in Asthma</h1><dl><dt>Age</dt><dd>18 - 65</dd></dl>
<h2>Inclusion criteria</h2>
<p>1. Adults.<br>2. Either:<br>&nbsp;&nbsp;a. one;<br>&nbsp;&nbsp;b. two.<br>3. Treatment: none in the last month.</p>
<p><b>Exclusion criteria</b></p>
<ul><li>Pregnancy,</li><ul><li>or breastfeeding.</li></ul><li><p>Prior surgery.</p><p>Within a year.</p></li>
<li>Age: over 65 years.</li><li><strong>Treatment:</strong> rituximab within 6 months.</li></ul>
<p>Patients must not have:</p><p>- HIV<br>- Hepatitis B</p>
<h2>Contacts and locations</h2><ul><li>Call the study desk</li></ul>""")


def test_criteria_are_read_as_the_page_nests_them():
    """Numbered lines with lettered sub-items, a list nested after its parent's item, an item in
    two paragraphs, a lead-in; "Label: value" criteria stay criteria; an unknown heading ends them."""
    trial, _ = parse_listing(CRITERIA_PAGE)
    assert criteria_lines(trial) == [
        "Inclusion Criteria:", "", "* Adults.", "* Either:", "  * one;", "  * two.", "* Treatment: none in the last month.", "",
        "Exclusion Criteria:", "", "* Pregnancy,", "  * or breastfeeding.", "* Prior surgery. Within a year.",
        "* Age: over 65 years.", "* Treatment: rituximab within 6 months.", "Patients must not have:", "* HIV", "* Hepatitis B"]
    assert (trial.minimum_age, trial.maximum_age, trial.interventions) == ("18 Years", "65 Years", [])


TEXT_PAGE = """A Study of Zeta in Asthma

Ages: 18 and over
Sex: Women

Inclusion Criteria

  • Women aged 18 or older
      ◦ or surgically sterile
  • Able to swallow tablets

Exclusion Criteria

Disease:
  - Hepatitis B or C
    (active)
  - HIV
Sponsor
Acme Pharma
"""


def test_a_text_page_nests_criteria_by_indentation_and_bullet():
    trial, raw = parse_listing(TEXT_PAGE)
    assert raw.media_type == "text/plain" and trial.brief_title == "A Study of Zeta in Asthma"
    assert criteria_lines(trial) == [
        "Inclusion Criteria:", "", "* Women aged 18 or older", "  * or surgically sterile", "* Able to swallow tablets", "",
        "Exclusion Criteria:", "", "Disease:", "* Hepatitis B or C (active)", "* HIV"]
    assert (trial.minimum_age, trial.sex, trial.lead_sponsor) == ("18 Years", "FEMALE", "Acme Pharma")


def test_a_dash_inside_a_criterion_does_not_split_it():
    body = ("<h2>Inclusion Criteria</h2><ul><li>CD4 count 100 - 200 - 300 cells/mm3</li>"
            "<li>Uncontrolled hypertension (grade 2 NCI - Common Terminology Criteria)</li><li>Adults - Over 18 - Able to consent</li></ul>")
    trial, _ = parse_listing(html_page(body))
    assert criteria_lines(trial)[2:] == ["* CD4 count 100 - 200 - 300 cells/mm3",
                                         "* Uncontrolled hypertension (grade 2 NCI - Common Terminology Criteria)",
                                         "* Adults", "* Over 18", "* Able to consent"]  # the last is a flattened list


CRITERIA = "<h2>Inclusion criteria</h2><ul><li>Adults</li></ul>"


@pytest.mark.parametrize("head, body, title", [
    ("<title>A Study of Zeta in Asthma - Full Text View - ClinicalTrials.gov</title>", "", "A Study of Zeta in Asthma"),
    ("<title>Acme Trial Finder | A Study of Zeta in Asthma</title>", "", "A Study of Zeta in Asthma"),
    ("<title>Asthma - Zeta Versus Placebo | Acme Clinical Trial Results</title>", "", "Asthma - Zeta Versus Placebo"),
    ("<title>A Study of Zeta in Asthma</title>", '<header><h1 class="logo"><a href="/">Acme Trials</a></h1></header>',
     "A Study of Zeta in Asthma"),  # the site's logo in an h1 is no title
    ('<title>Trial details | Acme Patients</title><meta property="og:site_name" content="Acme Patients">',
     "<dl><dt>Condition</dt><dd>Asthma</dd><dt>Intervention</dt><dd>Drug: Zeta</dd><dd>Drug: Placebo</dd></dl>",
     "Zeta in Asthma"),  # neither part of <title> is one: a title built from intervention and condition
    ("<title>Acme</title>", '<p class="title">Study title: Zeta for Adults With Asthma</p>', "Zeta for Adults With Asthma"),
])
def test_a_title_is_the_pages_own_title(head, body, title):
    assert parse_listing(html_page(body + CRITERIA, head))[0].brief_title == title


def test_schema_org_fills_in_what_the_page_does_not_show():
    json_ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "MedicalTrial", '
               '"name": "A Study of Zeta in Asthma", "identifier": "NCT01234568", "status": "https://schema.org/ActiveNotRecruiting", '
               '"phase": "Phase 1/Phase 2", "sponsor": {"@type": "Organization", "name": "Acme"}, "healthCondition": ["Asthma"]}</script>')
    trial, _ = parse_listing(html_page(CRITERIA, json_ld))
    assert (trial.nct_id, trial.brief_title, trial.overall_status, trial.phases, trial.lead_sponsor, trial.conditions) == (
        "NCT01234568", "A Study of Zeta in Asthma", "ACTIVE_NOT_RECRUITING", ["PHASE1", "PHASE2"], "Acme", ["Asthma"])
    microdata = ('<div itemscope itemtype="https://schema.org/MedicalTrial"><h2 itemprop="name">A Study of Zeta in Asthma</h2>'
                 '<meta itemprop="identifier" content="NCT01234569"><p>Status: <span itemprop="status">Recruiting</span></p>'
                 f'{CRITERIA}</div>')
    trial, _ = parse_listing(html_page(microdata))
    assert (trial.nct_id, trial.brief_title, trial.overall_status) == ("NCT01234569", "A Study of Zeta in Asthma", "RECRUITING")


@pytest.mark.parametrize("text, limits", [
    ("Over 18 Years", ("18 Years", None)),
    ("18 years and older", ("18 Years", None)),
    ("18 Years and older   (Adult, Older Adult)", ("18 Years", None)),
    ("65+", ("65 Years", None)),
    ("≥ 18 years", ("18 Years", None)),
    ("Ages 18 and up", ("18 Years", None)),
    ("6 Months to 17 Years", ("6 Months", "17 Years")),
    ("18 Years to 65 Years   (Adult, Older Adult)", ("18 Years", "65 Years")),
    ("18-75", ("18 Years", "75 Years")),
    ("Age: 18 - 65", ("18 Years", "65 Years")),
    ("1 - 17 years", ("1 Year", "17 Years")),
    ("Between 18 and 65 years", ("18 Years", "65 Years")),
    ("Up to 17 Years", (None, "17 Years")),
    ("up to 17 Years   (Child)", (None, "17 Years")),
    ("≤ 6 months", (None, "6 Months")),
    ("Child, Adult, Older Adult", (None, None)),
])
def test_age_limits(text, limits):
    assert age_limits(text) == limits


def test_minimum_and_maximum_age_given_apart():
    assert (one_age("18 Years"), one_age("18"), one_age("6 months"), one_age("N/A")) == ("18 Years", "18 Years", "6 Months", None)
    page = html_page("<table><tr><th>Minimum age</th><td>12 Years</td></tr><tr><th>Maximum age</th><td>N/A</td></tr></table>" + CRITERIA)
    assert parse_listing(page)[0].min_age_years == 12.0


@pytest.mark.parametrize("lines, phases", [
    (["Phase 2"], ["PHASE2"]),
    (["Phase 1/Phase 2"], ["PHASE1", "PHASE2"]),
    (["Phase 1", "Phase 2"], ["PHASE1", "PHASE2"]),
    (["Phase III"], ["PHASE3"]),
    (["Phase I/II"], ["PHASE1", "PHASE2"]),
    (["Early Phase 1"], ["EARLY_PHASE1"]),
    (["Not Applicable"], ["NA"]),
    (["A phase in which"], []),
])
def test_phases(lines, phases):
    assert listing_phases(lines) == phases


@pytest.mark.parametrize("text, status", [
    ("Recruiting", "RECRUITING"), ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"), ("Unknown", "UNKNOWN"),
    ("https://schema.org/NotYetRecruiting", "NOT_YET_RECRUITING"), ("Opening soon", None),
])
def test_status(text, status):
    assert listing_status(text) == status


def test_a_registry_trial_keeps_its_registry_url():
    assert Trial(nct_id="NCT01234567", source_url="https://x.example/").url == "https://clinicaltrials.gov/study/NCT01234567"


# ---------------------------------------------------------------------- fetching


class Site:
    """A little web site on 127.0.0.1: path → (content type, body); logs what was asked when."""

    def __init__(self, pages: dict[str, tuple[str, bytes]]):
        self.pages, self.log = pages, []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                site.log.append((self.path, time.monotonic(), self.headers.get("User-Agent")))
                kind, body = site.pages.get(self.path, ("text/plain", b"not found"))
                self.send_response(200 if self.path in site.pages else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()

    def paths(self):
        return [path for path, _, _ in self.log]


def hospital_site(crawl_delay=None):
    html = lambda body: ("text/html; charset=utf-8", body.encode())  # noqa: E731
    robots = "User-agent: *\nDisallow: /private/\n" + (f"Crawl-delay: {crawl_delay}\n" if crawl_delay else "")
    return Site({
        "/robots.txt": ("text/plain", robots.encode()),
        "/trials/": html("<h1>Trials</h1><a href='itp.html'>ITP</a> <a href='/trials/seed.txt'>Seed</a> "
                         "<a href='/private/secret.html'>Staff</a> <a href='http://localhost:1/elsewhere'>Partner</a> "
                         "<a href='/flyer.pdf'>Flyer</a> <a href='/trials/?page=2#top'>Next</a>"),
        "/trials/?page=2": html("<a href='/trials/'>Back</a> <a href='/trials/romiplostim.html'>Romiplostim</a>"),
        "/trials/itp.html": ("text/html", LAYOUTS[0].read_bytes()),
        "/trials/seed.txt": ("text/plain; charset=utf-8", SEED.read_bytes()),
        "/trials/romiplostim.html": html(OTHER_PAGE.replace("/trials/itp-2", "/trials/romiplostim.html")),
        "/private/secret.html": html(OTHER_PAGE),
    })


def test_following_an_index_stays_on_the_site_and_obeys_robots():
    found = []
    with hospital_site() as site:
        for page in fetch_pages([site.url + "/trials/"], follow=True, rate=0):
            if isinstance(page, FetchedPage):  # as the scrape command does: follow links from index pages only
                page.follow = page.url.endswith("/trials/") or "?page=" in page.url
            found.append(page)
    fetched = [p.url.removeprefix(site.url) for p in found if isinstance(p, FetchedPage)]
    skipped = {p.url.removeprefix(site.url): p.reason for p in found if isinstance(p, SkippedPage)}
    assert fetched == ["/trials/", "/trials/itp.html", "/trials/seed.txt", "/trials/?page=2", "/trials/romiplostim.html"]
    assert skipped == {"/private/secret.html": "disallowed by robots.txt"}
    assert "/private/secret.html" not in site.paths() and "/flyer.pdf" not in site.paths()
    assert site.paths()[0] == "/robots.txt" and all(agent.startswith("trialmatch/") for _, _, agent in site.log)


def test_page_limit_and_crawl_delay():
    with hospital_site(crawl_delay=1) as site:
        found = list(fetch_pages([site.url + "/trials/"], follow=True, max_pages=2, rate=0))
        times = [at for path, at, _ in site.log if path != "/robots.txt"]
    assert len([p for p in found if isinstance(p, FetchedPage)]) == 2 and len(times) == 2
    assert times[1] - times[0] >= 0.95  # robots.txt asks for 1 s between requests


def test_scrape_command_follows_an_index_and_stores_the_trials(db_path, capsys):
    with hospital_site() as site:
        code = main(["--db", str(db_path), "scrape", site.url + "/trials/", "--follow", "--rate", "0"])
    out, err = capsys.readouterr()
    assert code == 0, err
    # the seed text (at seed.txt) is the trial of itp.html too: the larger record (the HTML page) is kept
    assert "5 pages read, 2 index pages; 2 added, 0 updated, 0 unchanged, 1 older than stored (kept stored), 1 skipped" in out
    assert "skipped " + site.url + "/private/secret.html: disallowed by robots.txt" in err
    store = Store(db_path)
    seed_id = parse_listing(SEED.read_bytes())[0].nct_id
    local = store.trial(seed_id)
    assert local.source_url == site.url + "/trials/itp.html" and local.url == local.source_url
    assert store.trial("NCT01234567").source_url == site.url + "/trials/romiplostim.html"
    fmt, raw = store.raw_record(seed_id)
    assert fmt == "listing-page" and raw == LAYOUTS[0].read_bytes()
    run = store.conn.execute("SELECT kind, status, added, rejected FROM import_runs").fetchone()
    assert run == ("scrape", "finished", 2, 1)


def test_scrape_command_on_files_and_bad_input(db_path, tmp_path, capsys):
    assert main(["--db", str(db_path), "scrape", str(SEED), str(LISTINGS / "ianalumab-itp-table.html")]) == 0
    out = capsys.readouterr().out
    assert "2 pages read; 1 added, 0 updated, 1 unchanged, 0 skipped" in out
    trial = Store(db_path).trial(parse_listing(SEED.read_bytes())[0].nct_id)
    assert trial.sites[0].contact_name == "Colin Edward Welch" and trial.min_age_years == 18.0
    assert main(["--db", str(db_path), "scrape", str(tmp_path / "missing.html")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    not_a_listing = tmp_path / "notes.txt"
    not_a_listing.write_text("Nothing to see here.\n")
    assert main(["--db", str(db_path), "scrape", str(not_a_listing)]) == 1
    assert "no trial on this page" in capsys.readouterr().err


def test_scraped_trials_store_and_read_back_unchanged(seed_trial, db_path):
    store = Store(db_path)
    trial, raw = parse_listing(SEED.read_bytes())
    store.write_trials([(trial, raw)])
    assert store.trial(trial.nct_id) == seed_trial
