"""End to end in a real headless browser: Debian's chromium driven by Selenium through Debian's chromedriver (never
a downloaded browser), against `m3dreid serve` started as a command on a free port of 127.0.0.1.

Skipped, saying why, where chromium, chromedriver or selenium is missing; `.ci/run` installs them, and under CI
(``CI=true``) a missing browser fails the test instead, so CI cannot pass without running it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import pytest

from m3dreid.index import GalleryIndex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from footage import build_footage  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
STARTUP_S = 240  # seconds the server may take to answer its first request
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--window-size=1280,1000")  # fmt: skip


def _browser_or_skip(tmp_path: Path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package (pip install -e .[dev])")
    if missing:
        why = f"no headless browser: missing {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; .ci/run should have installed it")
        pytest.skip(why)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(index_dir: Path, port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "m3dreid", "serve", str(index_dir), "--port", str(port)]
    handle = log.open("w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # its lines reach the log as they are printed
    server = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    # about 3 s on a quiet machine; importing torch (pulled in by m3dreid.index) alone took 7-15 s on 2 cores
    # shared by seven jobs, so allow plenty
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"m3dreid serve exited with {server.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"m3dreid serve did not answer within {STARTUP_S} s: {log.read_text()}")


@pytest.mark.slow
def test_pick_a_person_in_a_browser_and_mark_a_match(tmp_path):
    driver = _browser_or_skip(tmp_path)
    from selenium.webdriver.common.by import By

    index_dir, _ = build_footage(tmp_path)
    index = GalleryIndex.load(index_dir)
    _, ids = index.search(index.features[0:1], len(index))
    expected = [int(i) for i in ids[0] if i != 0]  # the ranking of track 0, itself left out
    port = _free_port()
    server = _start_server(index_dir, port, tmp_path / "serve.log")
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        assert len(driver.find_elements(By.CSS_SELECTOR, "tr.video")) == 2
        driver.find_element(By.CSS_SELECTOR, "#t0 a").click()  # camera 1, track 1
        assert driver.current_url.endswith("/person/0")
        items = driver.find_elements(By.CSS_SELECTOR, "ol.matches li.match")
        assert [int(li.get_attribute("data-gi")) for li in items] == expected
        assert [int(li.get_attribute("data-rank")) for li in items] == list(range(1, len(expected) + 1))
        widths = driver.execute_script(
            "return Array.from(document.querySelectorAll('ol.matches img.strip'))"
            ".map(img => img.complete ? img.naturalWidth : -1)"
        )
        assert widths == [148] * len(expected)  # every thumbnail strip decoded (three 48 px crops, 2 px gaps)
        assert driver.execute_script("return document.querySelector('img.play').naturalWidth") == 64  # the GIF

        first = expected[0]
        driver.find_element(By.CSS_SELECTOR, f"li#m{first} button.right").click()
        # the form posts and redirects back to this page: wait for that page before reloading, or the reload can
        # overtake the post on a loaded machine
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 30, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
            lambda d: "marked-right" in d.find_element(By.CSS_SELECTOR, f"li#m{first}").get_attribute("class")
        )
        driver.refresh()
        marked = driver.find_element(By.CSS_SELECTOR, f"li#m{first}")
        assert "marked-right" in marked.get_attribute("class") and "marked right" in marked.text
        assert (index_dir / "marks.json").is_file()
        shot = tmp_path / "person_page.png"
        assert driver.save_screenshot(str(shot))
        image = cv2.imread(str(shot))
        assert image is not None and image.shape[0] > 300 and image.shape[1] > 600

        driver.get(f"http://127.0.0.1:{port}/timeline/0")
        assert driver.find_elements(By.CSS_SELECTOR, "svg.timeline rect.bar.right")
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=20)
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
