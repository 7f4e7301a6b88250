"""trialmatch's pages in a real headless Chromium (Debian's chromium + chromium-driver), against a
real `trialmatch serve` on 127.0.0.1: a physician fills the form for the seed patient, submits,
and reads the seed trial first with its reasons; the front door, a trial page, the results at a
desktop's and a phone's width, the printed results, and the form with the keyboard alone.
Screenshots (whole pages) go to tests/artifacts/."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import REPO, shared_file
from physician_registry import PAGE_HOSTILE_TITLE, SEED_FORM, build_page_registry, thrombocytopenia_records
from test_browse_serve import free_port, wait_until_answering

CHROMIUM = Path(os.environ.get("TRIALMATCH_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("TRIALMATCH_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = REPO / "tests" / "artifacts"
SEED_TITLE_START = "Ianalumab in primary ITP"  # the seed listing has no title: one built from intervention and condition

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver; .ci/run does)"),
]


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install -e '.[dev]')")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not fetch a browser or a driver
    profile = tempfile.mkdtemp(prefix="trialmatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,2000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for CSP violations
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def serve(registry: Path):
    """`trialmatch serve` on a free port of 127.0.0.1; yields its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "matcher", "--db", str(registry), "serve", "--port", str(port)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/-/trialmatch/find.css", server)
        yield base
    finally:
        server.terminate()
        server.communicate(timeout=30)


@pytest.fixture(scope="module")
def fixture_server(tmp_path_factory):
    yield from serve(build_page_registry(tmp_path_factory.mktemp("browser") / "trials.db"))


@pytest.fixture(scope="module")
def real_sample_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-real")
    records = thrombocytopenia_records(shared_file("ctgov", "AllPublicXML-sample.zip"), folder / "records")
    yield from serve(build_page_registry(folder / "trials.db", real_records=records))


def type_into(driver, input_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    element = driver.find_element(By.ID, input_id)
    if element.tag_name == "select":
        Select(element).select_by_value(text)
    else:
        element.clear()
        element.send_keys(text)


def fill_seed_patient(driver) -> None:
    """Type the seed patient into the form as a physician would, row by row."""
    for name, value in SEED_FORM.items():
        for row, text in enumerate(value if isinstance(value, list) else [value], start=1):
            if text:
                type_into(driver, f"{name}-{row}" if isinstance(value, list) else name, text)
    type_into(driver, "radius_km", "100")


def wait_for_element(driver, element_id: str, seconds: float = 120):
    """The element once the page holding it has loaded: a click returns before its navigation ends,
    and the first search of a fresh server also loads the ranker."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(expected_conditions.presence_of_element_located((By.ID, element_id)))


def find_seed_trial_first(driver, base: str, screenshot: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/")
    driver.find_element(By.CSS_SELECTOR, 'a[href="/find"]').get_attribute("href")  # linked from the home page
    driver.get(f"{base}/find")
    fill_seed_patient(driver)
    driver.find_element(By.CSS_SELECTOR, "button.primary").click()
    heading = wait_for_element(driver, "results-title")  # the click only starts the navigation
    assert heading.text.endswith("for this patient")
    first = driver.find_elements(By.CSS_SELECTOR, "li.result")[0]
    assert first.find_element(By.TAG_NAME, "h3").text.startswith(f"1. {SEED_TITLE_START}")
    assert "Massachusetts General Hospital, Boston" in first.find_element(By.CLASS_NAME, "trial-facts").text
    details = first.find_element(By.CSS_SELECTOR, "details.criteria")
    assert "platelet count 22" not in details.text  # closed until opened
    details.find_element(By.TAG_NAME, "summary").click()
    reasons = details.text
    assert "platelet count 22 10^9/L on 2026-11-10 < 30" in reasons and "prednisone in the record" in reasons
    assert "?age=45" in driver.current_url and "lab_value=22" in driver.current_url  # the URL is the shareable state
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / screenshot))


def test_seed_patient_in_chromium(browser, fixture_server):
    find_seed_trial_first(browser, fixture_server, "physician-page.png")
    assert (ARTIFACTS / "physician-page.png").stat().st_size > 10_000


@pytest.mark.real_data
def test_seed_patient_among_real_thrombocytopenia_trials(browser, real_sample_server):
    find_seed_trial_first(browser, real_sample_server, "physician-page-real-sample.png")


def test_hostile_title_does_not_run(browser, fixture_server):
    from selenium.webdriver.common.by import By

    query = urlencode({"diagnosis": "immune thrombocytopenia", "status": ["", "RECRUITING"]}, doseq=True)
    browser.get(f"{fixture_server}/find?{query}")
    titles = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "li.result h3")]
    assert any(PAGE_HOSTILE_TITLE in title for title in titles)
    assert browser.execute_script("return typeof window.pwned") == "undefined"


def test_add_a_row_with_the_keyboard_keeps_what_was_typed(browser, fixture_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{fixture_server}/find")
    type_into(browser, "lab-1", "platelet count")
    type_into(browser, "lab_value-1", "22")
    add = browser.find_element(By.CSS_SELECTOR, 'button[name=add][value=labs]')
    add.send_keys(Keys.ENTER)
    assert wait_for_element(browser, "lab-4").get_attribute("value") == ""
    assert browser.find_element(By.ID, "lab_value-1").get_attribute("value") == "22"
    assert browser.current_url.endswith("#labs") and not browser.find_elements(By.ID, "results")
    type_into(browser, "diagnosis-1", "immune thrombocytopenia")
    browser.find_element(By.ID, "diagnosis-1").send_keys(Keys.ENTER)  # Enter in a field searches, it adds no row
    assert wait_for_element(browser, "results-title").text.endswith("for this patient")


# ---------------------------------------------------------------------------- the other pages, at two widths, printed

DESKTOP, PHONE = 1280, 390
ANY_STATUS_SEED = {**SEED_FORM, "status": ["", "RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING"]}


def viewport(driver, width: int, *, mobile: bool = False) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": mobile})


def full_page_screenshot(driver, name: str) -> Path:
    """The whole page, not only the window, as tests/artifacts/<name>."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 12000), "scale": 1}})
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def page_width(driver) -> int:
    return driver.execute_script("return document.documentElement.scrollWidth")


@pytest.fixture
def desktop(browser):
    viewport(browser, DESKTOP)
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_front_door(desktop, fixture_server):
    from selenium.webdriver.common.by import By

    desktop.get(f"{fixture_server}/")
    headings = [h.text for h in desktop.find_elements(By.CSS_SELECTOR, "main h2")]
    assert headings[:2] == ["Find trials for a patient", "Browse the registry"]
    counts = [a.text.split("\n") for a in desktop.find_elements(By.CSS_SELECTOR, ".registry-counts a")]
    assert [what for number, what in counts] == ["trials open now", "conditions they study", "sites open to enrolment"]
    assert full_page_screenshot(desktop, "front-door.png").stat().st_size > 10_000


def test_results_at_desktop_and_phone_width(desktop, fixture_server):
    from selenium.webdriver.common.by import By

    desktop.get(f"{fixture_server}/find?{urlencode(ANY_STATUS_SEED, doseq=True)}")
    wait_for_element(desktop, "results-title")
    first = desktop.find_elements(By.CSS_SELECTOR, "ol.results > li.result")[0]
    assert first.find_element(By.CSS_SELECTOR, ".deciding li").text.startswith("✓ ")
    assert page_width(desktop) <= DESKTOP
    full_page_screenshot(desktop, "results-desktop.png")
    viewport(desktop, PHONE, mobile=True)
    desktop.refresh()
    wait_for_element(desktop, "results-title")
    assert page_width(desktop) <= PHONE  # nothing wider than the phone: no sideways scrolling of the page
    full_page_screenshot(desktop, "results-phone.png")


def test_printed_results_summary_then_one_trial_a_page(desktop, fixture_server):
    from selenium.webdriver.common.by import By

    desktop.get(f"{fixture_server}/find?{urlencode(ANY_STATUS_SEED, doseq=True)}")
    wait_for_element(desktop, "results-title")
    listed = len(desktop.find_elements(By.CSS_SELECTOR, "#results > ol.results > li.result"))
    pdf = base64.b64decode(desktop.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69})["data"])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "results-print.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= 1 + listed  # the patient summary, then each trial on a page of its own
    desktop.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not desktop.find_element(By.ID, "patient-form").is_displayed()
    assert desktop.find_element(By.CSS_SELECTOR, ".summary-list").is_displayed()
    full_page_screenshot(desktop, "results-print.png")


def test_trial_page_with_the_patients_verdicts_and_its_map(desktop, fixture_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    desktop.get(f"{fixture_server}/find?{urlencode({**SEED_FORM, 'radius_km': '100'}, doseq=True)}")
    wait_for_element(desktop, "results-title")
    desktop.find_element(By.CSS_SELECTOR, "li.result h3 a").click()
    wait_for_element(desktop, "criteria")
    assert desktop.find_element(By.TAG_NAME, "h1").text == SEED_TITLE_START
    verdicts = [v.text for v in desktop.find_elements(By.CSS_SELECTOR, "li.criterion .verdict")]
    assert "✓ satisfied — platelet count 22 10^9/L on 2026-11-10 < 30" in verdicts
    marks = desktop.find_elements(By.CSS_SELECTOR, "mark.constraint")
    assert marks and all(m.is_displayed() for m in marks[:3])
    WebDriverWait(desktop, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trial-map .leaflet-tile-loaded"))
    assert desktop.find_element(By.ID, "trial-map").is_displayed()
    assert desktop.find_elements(By.CSS_SELECTOR, "#trial-map path.leaflet-interactive")  # the site's marker
    logs = [entry["message"] for entry in desktop.get_log("browser")]
    assert not [m for m in logs if "Content Security Policy" in m or "Uncaught" in m], logs
    full_page_screenshot(desktop, "trial-page.png")


def press(driver, *keys) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver, element_id: str = "", *, text: str = "", most: int = 80) -> int:
    """Press Tab until the element (by id, or by its text) has the focus; how many presses it took."""
    from selenium.webdriver.common.keys import Keys

    for presses in range(1, most + 1):
        press(driver, Keys.TAB)
        focused = driver.switch_to.active_element
        if (focused.get_attribute("id") == element_id) if element_id else focused.text == text:
            return presses
    raise AssertionError(f"Tab never reached {element_id or text!r}")


def test_the_form_with_the_keyboard_alone(desktop, fixture_server):
    """Fill the form, meet an error, follow its link back to the field, fix it, search: keys only."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    desktop.get(f"{fixture_server}/find")
    press(desktop, Keys.TAB)
    assert desktop.switch_to.active_element.text == "Skip to the main content"
    press(desktop, Keys.ENTER)
    assert tab_to(desktop, "age") <= 12
    press(desktop, "forty")
    tab_to(desktop, "sex")
    press(desktop, "f")  # a select takes its option by its first letter
    tab_to(desktop, "ecog")
    press(desktop, Keys.DOWN, Keys.DOWN)
    tab_to(desktop, "diagnosis-1")
    press(desktop, "primary immune thrombocytopenia")
    tab_to(desktop, "therapy-1")
    press(desktop, "prednisone", Keys.TAB, Keys.TAB, "f")  # past the "current or past" select to the outcome: failed
    tab_to(desktop, "therapy_start-1")
    press(desktop, Keys.ENTER)  # Enter in a field searches
    wait_for_element(desktop, "error-summary-title")
    tab_to(desktop, text="Age in years: expected a number, got 'forty'")
    press(desktop, Keys.ENTER)  # the summary's link takes the focus to the field at fault
    assert desktop.switch_to.active_element.get_attribute("id") == "age"
    press(desktop, Keys.END, *[Keys.BACKSPACE] * len("forty"), "45", Keys.ENTER)
    assert wait_for_element(desktop, "results-title").text.endswith("for this patient")
    assert desktop.find_element(By.CSS_SELECTOR, "#ecog option:checked").get_attribute("value") == "1"
    assert desktop.find_element(By.CSS_SELECTOR, "#sex option:checked").get_attribute("value") == "female"
    outcome = desktop.find_element(By.CSS_SELECTOR, "#therapy_outcome-1 option:checked").get_attribute("value")
    assert outcome == "failed"
