"""The physician page in a real headless Chromium (Debian's chromium + chromium-driver), against a
real `trialmatch serve` on 127.0.0.1: a physician fills the form for the seed patient, submits,
and reads the seed trial first with its reasons. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
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
    assert "ranked for this patient" in heading.text
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
    assert wait_for_element(browser, "results-title").text.endswith("ranked for this patient")
