"""Headless Chromium: the ``--html`` trace page and the ``explore`` page, clicked through, node states read
back, screenshots saved under the test's temporary directory.

Chromium and its driver are Debian's packages (``apt-get install -y chromium chromium-driver``), driven
with selenium through explicit paths, so nothing downloads a browser. Without them these tests are
skipped, unless ``MABEAM_REQUIRE_BROWSER`` is set (``.ci/run`` sets it): then they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).is_file()]
    if missing:
        message = f"Debian's chromium and chromium-driver are not installed ({', '.join(missing)} missing)"
        if os.environ.get("MABEAM_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium must never fetch a driver or browser of its own
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _state(driver: Any, agent: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, f'#nodes tr[data-agent="{agent}"] td.state').text)


def test_the_html_trace_steps_through_the_node_states(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "cex.html"
    done = subprocess.run([sys.executable, "-m", "mabeam.cli", "check", "majority", "--mutant", "forget-decision",
                           "-q", "--html", str(page)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 1 and page.is_file()
    browser.get(page.as_uri())
    index = browser.find_element(By.ID, "step-index")
    assert index.text == "step 0 / 2" and _state(browser, "a0") == "voting [a0:x]"
    assert browser.find_element(By.ID, "prev").get_attribute("disabled")
    browser.find_element(By.ID, "next").click()
    assert index.text == "step 1 / 2"
    assert browser.find_element(By.ID, "step-text").text == "a0 receives Vote(value='y') from a1"
    assert _state(browser, "a0") == "decided [a0:x, a1:y] decided='x'"
    row = browser.find_element(By.CSS_SELECTOR, '#nodes tr[data-agent="a0"]')
    assert "changed" in row.get_attribute("class") and row.find_element(By.CSS_SELECTOR, "td.decided").text == "'x'"
    browser.find_element(By.ID, "next").click()
    assert _state(browser, "a0") == "decided [a0:x, a1:y, a2:y] decided='y'"
    assert browser.find_element(By.CSS_SELECTOR, '#nodes tr[data-agent="a0"] td.decided').text == "'x', 'y'"
    assert _state(browser, "a1") == "voting [a1:y]"  # unchanged, and not highlighted
    assert browser.find_element(By.ID, "next").get_attribute("disabled")
    explanation = browser.find_element(By.ID, "explanation").text
    assert "MAJ-S1 Agreement" in explanation and "the last state violates it" in explanation
    browser.find_element(By.CSS_SELECTOR, '#steps li[data-step="0"]').click()  # jump back by the step list
    assert index.text == "step 0 / 2"
    browser.find_element(By.ID, "last").click()
    shot = tmp_path / "trace.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.fixture()
def explorer() -> Iterator[str]:
    from mabeam.api.verify import build_model
    from mabeam.cli.explore import StateSpace, make_server

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        model = build_model("examples.tutorial.two_phase_commit:ENTRY", 3)
    finally:
        os.chdir(cwd)
    server = make_server(StateSpace(model, model.protocol.properties, "explore two-phase-commit"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_the_explorer_walks_the_state_space(browser: Any, explorer: str, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # the page re-renders after each click: retry reads of elements replaced meanwhile
    wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))
    browser.get(explorer)

    def click(text: str) -> None:
        """Click the successor whose label starts with ``text`` (once the list shows it)."""
        def found(driver: Any) -> bool:
            for button in driver.find_elements(By.CSS_SELECTOR, "#successors button.successor"):
                if button.text.startswith(text):
                    button.click()
                    return True
            return False
        wait.until(found)

    wait.until(lambda d: _state(d, "participant0") == "working")
    assert _state(browser, "coordinator0") == "collecting yes=[]"
    click("participant0 chooses vote=yes")
    wait.until(lambda d: _state(d, "participant0") == "prepared (voted yes)")
    assert browser.find_element(By.ID, "depth").text == "depth 1"
    click("participant1 chooses vote=yes")
    wait.until(lambda d: _state(d, "participant1") == "prepared (voted yes)")
    click("coordinator0 receives Vote(vote='yes') from participant0")
    wait.until(lambda d: _state(d, "coordinator0") == "collecting yes=['participant0']")
    click("coordinator0 receives Vote(vote='yes') from participant1")
    wait.until(lambda d: _state(d, "coordinator0").startswith("committed"))
    decided = browser.find_element(By.CSS_SELECTOR, '#nodes tr[data-agent="coordinator0"] td.decided').text
    assert decided == "'commit'" and browser.find_element(By.ID, "depth").text == "depth 4"
    assert "true here" in browser.find_element(By.CSS_SELECTOR, '#props li[data-property="2PC-R1"]').text
    browser.find_element(By.ID, "back").click()
    wait.until(lambda d: _state(d, "coordinator0") == "collecting yes=['participant0']")
    assert browser.find_element(By.ID, "depth").text == "depth 3"
    shot = tmp_path / "explore.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
