"""End-to-end: the dashboard served by gunicorn, driven in real headless Chromium."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
NOISE = ("WebGL", "GPU stall", "willReadFrequently", "swiftshader", "favicon")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(cache_dir, workers):
    port = free_port()
    env = dict(os.environ, LANDSCAPE_CACHE_DIR=str(cache_dir))
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--threads", "8", "--timeout", "120", "app:server"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if urllib.request.urlopen(url + "/health", timeout=1).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # One worker with threads: the Diskcache background-job manager keeps per-process
    # state (several workers need the Celery manager; see the README).
    proc, url = start_gunicorn(tmp_path_factory.mktemp("cache"), workers=1)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1800"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(tmp_path)})
    driver.download_dir = tmp_path
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout=60):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))


def summary(driver):
    return driver.find_element(By.ID, "summary").text


def errors(driver):
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and not any(n in e["message"] for n in NOISE)]


def test_page_loads_without_console_errors(server, browser):
    browser.get(server + "/?students=3&teachers=3&starts=20")
    wait_for(browser, lambda d: "fixed points" in summary(d))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#catalog-table tbody tr"))
    assert errors(browser) == []


def test_changing_K_updates_the_plots_and_the_url(server, browser):
    browser.get(server + "/?students=3&teachers=3&starts=20")
    wait_for(browser, lambda d: "fixed points" in summary(d))
    box = browser.find_element(By.ID, "students")
    box.send_keys(Keys.END, Keys.BACKSPACE * 4, "4", Keys.ENTER)
    try:
        wait_for(browser, lambda d: "students=4" in d.current_url, timeout=20)
    except Exception:
        print("URL", browser.current_url, "value", box.get_attribute("value"),
              "message", browser.find_element(By.ID, "message").text)
        raise
    # the Q heatmap now has four students
    wait_for(browser, lambda d: d.execute_script(
        "const g = document.getElementById('heatmap-q');"
        "return g && g.getElementsByClassName('js-plotly-plot')[0]"
        " && document.querySelector('#heatmap-q .js-plotly-plot').data[0].z.length;") == 4)
    assert errors(browser) == []


def test_url_restores_the_view(server, browser):
    browser.get(server + "/?students=5&teachers=4&dim=inf&starts=30&seed=3&tab=families&lecture=1")
    wait_for(browser, lambda d: d.find_element(By.ID, "view-families").is_displayed())
    values = {cid: browser.find_element(By.ID, cid).get_attribute("value")
              for cid in ("students", "teachers", "dim", "starts", "seed")}
    assert values == {"students": "5", "teachers": "4", "dim": "inf", "starts": "30", "seed": "3"}
    assert not browser.find_element(By.ID, "view-fixed-points").is_displayed()
    # lecture mode hides the controls
    assert "lecture" in browser.find_element(By.ID, "page").get_attribute("class")
    assert not browser.find_element(By.ID, "controls").is_displayed()


def test_progress_bar_appears_and_cancel_stops_the_job(server, browser):
    browser.get(server + "/?students=12&teachers=12&dim=inf&starts=2000&seed=11")

    def progress(d):
        found = d.find_elements(By.ID, "progress")
        return found[0] if found else None

    wait_for(browser, lambda d: progress(d) and "active" in progress(d).get_attribute("class"))
    wait_for(browser, lambda d: float(progress(d).get_attribute("value") or 0) > 0)
    browser.find_element(By.ID, "cancel").click()
    wait_for(browser, lambda d: "active" not in progress(d).get_attribute("class"), timeout=30)
    time.sleep(2)
    assert summary(browser) == ""            # the cancelled job never reported
    # and the server still answers
    assert urllib.request.urlopen(server + "/health", timeout=5).status == 200


def test_downloads_are_valid_files(server, browser):
    browser.get(server + "/?students=3&teachers=3&starts=20")
    wait_for(browser, lambda d: "fixed points" in summary(d))
    browser.find_element(By.ID, "download-json-button").click()
    path = wait_for(browser, lambda d: next(iter(d.download_dir.glob("*.json")), None))
    data = json.loads(Path(path).read_text())
    assert data["fixed_points"][0]["kind"] == "global_minimum"
    browser.find_element(By.ID, "download-csv-button").click()
    path = wait_for(browser, lambda d: next(iter(d.download_dir.glob("*.csv")), None))
    lines = Path(path).read_text().splitlines()
    assert lines[0].startswith("index,loss,kind") and len(lines) == len(data["fixed_points"]) + 1


def test_every_worker_can_serve_the_bundles_right_after_start():
    # Regression: Dash registers its JavaScript bundles while rendering the index page,
    # so with several gunicorn workers a bundle request could reach a worker that had
    # not rendered it yet and get a 500. Each worker (a fresh import of app) must be
    # ready before any request.
    code = ("import app; paths = app.app.registered_paths.get('dash', set()); "
            "print(any(p.startswith('deps/react@') for p in paths))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, LANDSCAPE_CACHE_DIR=
                                                          str(ROOT / "cache")))
    assert out.stdout.strip() == "True", out.stderr[-2000:]
