"""The demo batch's report, opened in headless Chromium (Debian's chromium + chromium-driver, which
`make test` installs with tests/install_browser.sh; nothing is downloaded): every section shows,
every plot decodes, every audio player loads its 4 s excerpt, and a full-page screenshot is taken."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SECTIONS = {"summary": "Summary", "status": "Items by status and collection", "degradations": "Degradations found",
            "improvements": "Improvements measured", "failures": "Failures", "review": "Needs review",
            "slowest": "Slowest items", "samples": "Before and after"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason="Chromium not installed (bash tests/install_browser.sh)"),
]


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_demo_report_renders_in_chromium(demo_batch, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from acetate.catalog.query import query

    _, out, batch = demo_batch
    report = out / "reports" / f"{batch}.html"
    browser.get(report.as_uri())
    assert browser.title == f"acetate batch {batch}"
    for key, title in SECTIONS.items():
        section = browser.find_element(By.ID, key)
        assert section.is_displayed() and section.find_element(By.TAG_NAME, "h2").text == title

    images = browser.execute_script(
        "return [...document.images].map(i => [i.className, i.complete, i.naturalWidth, i.naturalHeight])")
    assert sum(1 for c, *_ in images if c == "spectrogram") == 6 and len(images) >= 9
    assert all(done and w > 300 and h > 100 for _, done, w, h in images), images

    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('audio')].every(a => a.readyState >= 1)"))
    players = browser.execute_script(
        "return [...document.querySelectorAll('audio')].map(a => [a.className, a.duration, a.error === null])")
    assert [c for c, _, _ in players] == ["before", "after"] * 6
    assert all(ok and abs(d - 4.0) < 0.05 for _, d, ok in players), players

    # the status table in the page says what the records say
    rows = browser.find_elements(By.CSS_SELECTOR, "#status table:first-of-type tbody tr")
    shown = {r.find_elements(By.TAG_NAME, "td")[0].text: int(r.find_elements(By.TAG_NAME, "td")[1].text)
             for r in rows}
    assert shown == {r["status"]: r["n"] for r in query(
        out, f"SELECT status, count(*) AS n FROM quality WHERE batch_id = '{batch}' GROUP BY ALL").to_pylist()}
    assert sum(shown.values()) == 10 and shown["failed"] == 1

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, height)
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    png = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("L"))
    assert png.shape[0] >= 3000 and png.shape[1] >= 1200
    assert (png < 128).mean() > 0.05  # dark pixels: text, bars and spectrograms were painted
