"""End-to-end: the dashboard served by gunicorn, driven in real headless Chromium."""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from servers import ROOT, start_gunicorn, stop

pytestmark = [pytest.mark.browser, pytest.mark.server]
NOISE = ("WebGL", "GPU stall", "willReadFrequently", "swiftshader", "favicon")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Two workers, as gunicorn.conf.py defaults to: background jobs and their polls may
    # reach different workers (they share the secret key and the job store).
    proc = start_gunicorn(tmp_path_factory.mktemp("cache"), workers=2)
    yield proc.url
    stop(proc)


def wait_for(driver, condition, timeout=60):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))


def summary(driver):
    return driver.find_element(By.ID, "summary").text


def errors(driver):
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and not any(n in e["message"] for n in NOISE)]


def downloaded(driver, pattern, complete, timeout=60):
    """The bytes of the downloaded file matching ``pattern`` once ``complete(bytes)``
    holds (the browser creates the file before it has written it)."""
    def ready(d):
        for path in d.download_dir.glob(pattern):
            data = path.read_bytes()
            if data and complete(data):
                return data
        return None

    return wait_for(driver, ready, timeout)


def test_page_loads_without_console_errors(server, browser):
    browser.get(server + "/?students=3&teachers=3&starts=20")
    wait_for(browser, lambda d: "fixed point" in summary(d))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#catalog-table tbody tr"))
    assert errors(browser) == []


def test_changing_K_updates_the_plots_and_the_url(server, browser):
    browser.get(server + "/?students=3&teachers=3&starts=20")
    wait_for(browser, lambda d: "fixed point" in summary(d))
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
        "const plot = g && g.getElementsByClassName('js-plotly-plot')[0];"
        # between two catalogs the view shows a message figure, without data
        "return plot && plot.data && plot.data[0] && plot.data[0].z.length;") == 4)
    assert errors(browser) == []


def test_url_restores_the_view(server, browser):
    browser.get(server + "/?students=5&teachers=4&dim=inf&starts=30&seed=3&tab=families&lecture=1"
                "&widths=4+6")
    wait_for(browser, lambda d: d.find_element(By.ID, "view-families").is_displayed())
    values = {cid: browser.find_element(By.ID, cid).get_attribute("value")
              for cid in ("students", "teachers", "dim", "starts", "seed")}
    assert values == {"students": "5", "teachers": "4", "dim": "inf", "starts": "30", "seed": "3"}
    assert browser.find_element(By.ID, "hierarchy-widths").get_attribute("value") == "4 6"
    assert not browser.find_element(By.ID, "view-fixed-points").is_displayed()
    # lecture mode hides the controls
    assert "lecture" in browser.find_element(By.ID, "page").get_attribute("class")
    assert not browser.find_element(By.ID, "controls").is_displayed()


def test_the_tabs_fields_are_kept_in_the_url(server, browser):
    """Issue 15 item 5: flow start, T, the 3D axes and the surface's directions are part
    of the view a link shares. The address bar keeps only fields whose components hold
    them (a field back at its default is left out), so a field still in it after the page
    settled was restored."""
    browser.get(server + "/?students=3&teachers=3&dim=3&starts=20&tab=flows-2d&flow-start=2"
                "&flow-time=20&axis-x=Q%5B0%2C1%5D&surface-directions=flat")
    wait_for(browser, lambda d: "fixed point" in summary(d))
    assert browser.find_element(By.ID, "flow-time").get_attribute("value") == "20"
    assert browser.find_element(By.ID, "flow-start").get_attribute("value") == "2"
    # the heatmaps' slider shows t on its marks and no index anywhere (no number box)
    assert not browser.find_elements(By.CSS_SELECTOR, "#view-flows-2d input[type=number]")
    box = browser.find_element(By.ID, "flow-time")
    box.send_keys(Keys.END, Keys.BACKSPACE * 4, "30", Keys.ENTER)
    wait_for(browser, lambda d: "flow-time=30" in d.current_url, timeout=20)
    next(t for t in browser.find_elements(By.CSS_SELECTOR, "#tab .tab")
         if t.text.strip() == "Flows 3D").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "view-flows-3d").is_displayed())
    time.sleep(2)
    address = urllib.parse.unquote(browser.current_url)
    assert "axis-x=Q[0,1]" in address and "surface-directions=flat" in address, address
    assert "tab=flows-3d" in address
    # the link opens the same view again, with the field changed in the page
    browser.get(browser.current_url)
    wait_for(browser, lambda d: d.find_element(By.ID, "view-flows-3d").is_displayed())
    wait_for(browser, lambda d: d.find_element(By.ID, "flow-time").get_attribute("value") == "30")
    assert "axis-x=Q[0,1]" in urllib.parse.unquote(browser.current_url)


# What a phone shows of each view: the page's sideways overflow, the widest element that
# sticks out of the viewport, and each visible figure's drawn width and smallest text.
PHONE_STATE = """
const width = document.documentElement.clientWidth;
const visible = el => el.offsetParent !== null;
// inside a box that scrolls or clips sideways (a wide table) is not the page's overflow
const boxed = el => {
    for (let a = el.parentElement; a && a.id !== 'page'; a = a.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
};
const out = [...document.querySelectorAll('#page *')].filter(visible)
    .filter(el => el.getBoundingClientRect().right > width + 1 && !boxed(el))
    .map(el => (el.id || el.className || el.tagName) + ' ' + Math.round(el.getBoundingClientRect().right));
return {overflow: document.documentElement.scrollWidth - width, width: width,
        outside: out.slice(0, 5),
        figures: [...document.querySelectorAll('.js-plotly-plot')].filter(visible).map(g => ({
            id: g.closest('.dash-graph').id, width: g.getBoundingClientRect().width,
            drawn: !!g._fullLayout,
            smallest: Math.min(...[...g.querySelectorAll('svg text')]
                .filter(t => t.textContent.trim())
                .map(t => parseFloat(getComputedStyle(t).fontSize)))}))};
"""


def test_phone_width_wraps_the_page_and_keeps_figures_readable(server):
    """Issue 15 item 7: at 390 px the header and controls wrap, no view scrolls sideways,
    and every figure spans most of the width with text of at least 10 px."""
    from landscape import gallery

    phone = gallery.browser(390, 844)
    try:
        for tab in ("fixed-points", "flows-2d", "flows-3d", "families", "connections"):
            phone.get(server + f"/?students=3&teachers=3&dim=3&starts=20&tab={tab}")
            assert gallery.wait_until_drawn(phone, 90, tab) is not None, tab
            state = phone.execute_script(PHONE_STATE)
            assert state["width"] <= 390, state["width"]
            assert state["overflow"] <= 0 and not state["outside"], (tab, state)
            assert state["figures"], tab
            for figure in state["figures"]:
                assert figure["drawn"], (tab, figure)
                assert figure["width"] >= 0.8 * state["width"], (tab, figure)
                assert figure["smallest"] >= 10, (tab, figure)
    finally:
        phone.quit()


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
    wait_for(browser, lambda d: "fixed point" in summary(d))
    browser.find_element(By.ID, "download-json-button").click()
    data = json.loads(downloaded(browser, "*.json", lambda data: data.rstrip().endswith(b"}")))
    assert data["fixed_points"][0]["kind"] == "global_minimum"
    browser.find_element(By.ID, "download-csv-button").click()
    rows = len(data["fixed_points"]) + 1             # a header and one row per point
    lines = downloaded(browser, "*.csv",
                       lambda text: text.count(b"\n") >= rows).decode().splitlines()
    assert lines[0].startswith("index,loss,kind") and len(lines) == len(data["fixed_points"]) + 1


def test_figures_export_svg_and_png_from_the_modebar(server, browser):
    browser.get(server + "/?students=3&teachers=3&starts=20")
    wait_for(browser, lambda d: "fixed point" in summary(d))      # the figure is final

    def save_image(pattern, complete):
        # The graph redraws when its config changes; a click that lands during a redraw
        # is lost, so click again until the file arrives (a broken button never saves).
        for _ in range(4):
            graph = browser.find_element(By.ID, "shares")
            webdriver.ActionChains(browser).move_to_element(graph).perform()
            button = wait_for(browser, lambda d: d.find_element(
                By.CSS_SELECTOR, "#shares .modebar-btn[data-title^='Download plot']"))
            button.click()
            try:
                return downloaded(browser, pattern, complete, timeout=10)
            except TimeoutException:
                continue
        pytest.fail(f"no {pattern} was saved")

    browser.find_element(By.CSS_SELECTOR, "#image-format input[value='svg']").click()
    wait_for(browser, lambda d: d.execute_script(
        "return document.querySelector('#shares .js-plotly-plot')._context"
        ".toImageButtonOptions.format") == "svg")
    # What the camera button saves now, made the way the button makes it. (Chrome may
    # hold a downloaded SVG for a safety check, so the file itself is not awaited.)
    image = browser.execute_async_script(
        "const gd = document.querySelector('#shares .js-plotly-plot');"
        "Plotly.toImage(gd, gd._context.toImageButtonOptions).then(arguments[0]);")
    assert image.startswith("data:image/svg+xml,") and "%3Csvg" in image[:200]
    browser.find_element(By.CSS_SELECTOR, "#image-format input[value='png']").click()
    wait_for(browser, lambda d: d.execute_script(
        "return document.querySelector('#shares .js-plotly-plot')._context"
        ".toImageButtonOptions.format") == "png")
    save_image("shares*.png", lambda data: data.startswith(b"\x89PNG"))
    assert errors(browser) == []


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


def test_connections_tab_draws_the_tree_and_a_path(server, browser):
    browser.get(server + "/?students=6&teachers=6&dim=6&starts=50&tab=connections")
    wait_for(browser, lambda d: "fixed point" in summary(d))
    wait_for(browser, lambda d: "press the button" in d.find_element(
        By.ID, "connections-status").text)
    browser.find_element(By.ID, "connections-button").click()
    wait_for(browser, lambda d: "minima" in d.find_element(By.ID, "connections-status").text,
             timeout=120)
    traces = ("const g = document.querySelector('#%s .js-plotly-plot');"
              "return g && g.data ? g.data.length : 0;")
    wait_for(browser, lambda d: d.execute_script(traces % "connections-tree") > 0)
    wait_for(browser, lambda d: d.execute_script(traces % "connections-profile") > 0)
    assert "connection=0" in browser.current_url
    assert not errors(browser)
