"""Screenshots of every preset x tab of the dashboard, for review (``python -m landscape
gallery --output DIR``).

The dashboard runs in this process on a free local port (the deployment's cache, so a
``precompute`` run makes the views fast; no authentication, it listens on 127.0.0.1
only) and headless Chromium opens each view at 1280 x 720, waits until its figures are
drawn and saves a PNG. ``index.html`` in the output folder shows them all with the time
each view took to draw.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import threading
import time
from dataclasses import replace

from .errors import ConfigError

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER = ("/usr/bin/chromedriver",)

# In the page: is the visible part still busy, and what does it show? (Dash marks outputs
# of running callbacks with data-dash-is-loading; a background job shows its progress bar.)
# arguments[0]: the tab whose view is awaited (or none: the whole page). Until Dash has
# built the layout and shown that view, the view counts as not shown.
PAGE_STATE = """
const visible = el => el.offsetParent !== null;
const view = arguments[0] ? document.getElementById('view-' + arguments[0]) : document.body;
const shown = !!view && visible(view) && !document.querySelector('._dash-loading');
const graphs = shown ? [...view.querySelectorAll('.js-plotly-plot')].filter(visible) : [];
const busy = [...document.querySelectorAll('[data-dash-is-loading="true"], .progress.active')]
    .filter(visible).length;
return {busy: busy, graphs: graphs.length, shown: shown,
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        drawn: graphs.filter(g => g._fullLayout && g.querySelector('.main-svg')).length,
        signature: graphs.map(g => JSON.stringify([(g.data || []).length,
            ((g.layout || {}).annotations || []).map(a => a.text),
            (g.layout || {}).title])).join('|')};
"""


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "view"


def views(presets=None, tabs=None, lecture=False):
    """[(preset name, tab value, tab label, URL query)] of the gallery, presets in order."""
    from .ui import state

    names = list(state.LIGHT_PRESETS) if not presets else list(presets)
    unknown = [name for name in names if name not in state.PRESETS]
    if unknown:
        raise ConfigError(f"unknown preset {unknown[0]!r}; "
                          "python -m landscape precompute --list shows them")
    labels = dict(state.TABS)
    chosen = list(labels) if not tabs else list(tabs)
    unknown = [tab for tab in chosen if tab not in labels]
    if unknown:
        raise ConfigError(f"unknown tab {unknown[0]!r}; tabs: {', '.join(labels)}")
    out = []
    for name in names:
        for tab in chosen:
            values = (dict(state.DEFAULTS) | dict(state.VIEW_DEFAULTS) | state.PRESETS[name]
                      | {"tab": tab, "lecture": "1" if lecture else "0"})
            out.append((name, tab, labels[tab], state.to_query(values)))
    return out


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    """The dashboard served from this process on 127.0.0.1 (a context manager)."""

    def __init__(self, settings=None):
        import logging

        from werkzeug.serving import make_server

        from .settings import from_env
        from .ui.dashboard import create_app

        settings = replace(settings or from_env(), basic_auth=None, token=None, url_prefix="/")
        self.app = create_app(settings)
        port = _free_port()
        self.server = make_server("127.0.0.1", port, self.app.server, threaded=True)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)     # no line per request
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)


def browser(width=1280, height=720):
    """Headless Chromium with a ``width`` x ``height`` viewport."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise ConfigError("the gallery needs selenium (pip install selenium)") from None
    binary = os.environ.get("LANDSCAPE_CHROMIUM") or next(
        (path for path in CHROMIUM if os.path.exists(path)), shutil.which("chromium"))
    driver_path = os.environ.get("LANDSCAPE_CHROMEDRIVER") or next(
        (path for path in CHROMEDRIVER if os.path.exists(path)), shutil.which("chromedriver"))
    if not binary or not driver_path:
        raise ConfigError("the gallery needs Chromium and chromedriver (set "
                          "LANDSCAPE_CHROMIUM and LANDSCAPE_CHROMEDRIVER to their paths)")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--no-first-run", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.binary_location = binary
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    # --window-size sets the window, not the page's viewport: fix the viewport itself
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700})
    return driver


def wait_until_drawn(driver, timeout, tab=None, settle=1.5, poll=0.25):
    """Seconds until the view of ``tab`` (default: whatever is visible) is shown and idle
    with every figure drawn and unchanged for ``settle`` seconds, or None after
    ``timeout`` seconds."""
    started = time.monotonic()
    last, since = None, None
    while time.monotonic() - started < timeout:
        state = driver.execute_script(PAGE_STATE, tab)
        ready = state["shown"] and state["busy"] == 0 and state["drawn"] == state["graphs"]
        key = (state["graphs"], state["signature"])
        if ready and key == last:
            if time.monotonic() - since >= settle:
                return since - started
        else:
            last, since = (key if ready else None), time.monotonic()
        time.sleep(poll)
    return None


SCROLL_TO_VIEW = """
const tabs = document.getElementById('tab');
if (tabs) { tabs.scrollIntoView({block: 'start'}); }
"""


def run(output, presets=None, tabs=None, lecture=False, width=1280, height=720,
        timeout=120.0, settings=None, report=None, top=False):
    """Screenshot every view into ``output``; returns [{preset, tab, file, seconds,
    horizontal_scroll_px}] (how far the page scrolls sideways: 0 when it fits)
    (``seconds`` None: not drawn within ``timeout``, screenshot taken anyway). The page
    is scrolled to the tab bar, so the view's figures fill the screenshot (``top``: the
    top of the page, header and controls)."""
    chosen = views(presets, tabs, lecture)
    os.makedirs(output, exist_ok=True)
    records = []
    with Dashboard(settings) as dashboard:
        driver = browser(width, height)
        try:
            for i, (name, tab, label, query) in enumerate(chosen):
                driver.get(dashboard.url + "/" + query)
                seconds = wait_until_drawn(driver, timeout, tab)
                overflow = driver.execute_script(PAGE_STATE)["overflow"]
                if not top:
                    driver.execute_script(SCROLL_TO_VIEW)
                    time.sleep(0.3)
                file = f"{i + 1:02d}-{slug(name)}--{tab}.png"
                driver.save_screenshot(os.path.join(output, file))
                record = {"preset": name, "tab": tab, "label": label, "query": query,
                          "file": file, "seconds": None if seconds is None else round(seconds, 2),
                          "horizontal_scroll_px": overflow}
                records.append(record)
                if report:
                    report(record)
        finally:
            driver.quit()
    with open(os.path.join(output, "gallery.json"), "w", encoding="utf-8") as handle:
        json.dump(records, handle, indent=1)
    with open(os.path.join(output, "index.html"), "w", encoding="utf-8") as handle:
        handle.write(index_page(records, width, height))
    return records


def index_page(records, width, height):
    rows = []
    for r in records:
        drawn = "not drawn in time" if r["seconds"] is None else f"drawn in {r['seconds']:.1f} s"
        if r["horizontal_scroll_px"] > 0:
            drawn += f" · page {r['horizontal_scroll_px']} px too wide"
        rows.append(f"<figure><figcaption>{html.escape(r['preset'])} · {html.escape(r['label'])}"
                    f" · {drawn} · <code>{html.escape(r['query'])}</code></figcaption>"
                    f"<img src='{html.escape(r['file'])}' width='{width // 2}' "
                    f"height='{height // 2}' loading='lazy'></figure>")
    return ("<!doctype html><meta charset='utf-8'><title>landscape gallery</title>"
            "<style>body{font-family:sans-serif;margin:1rem}figure{display:inline-block;"
            "margin:0.5rem}figcaption{max-width:40rem;font-size:0.85rem}</style>"
            f"<h1>landscape: every preset × tab at {width}×{height}</h1>" + "".join(rows))
