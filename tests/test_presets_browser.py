"""Every preset x tab on a precomputed cache, in lecture mode, as a lecture opens it: real
Chromium at 1280 x 720, the app under gunicorn, the cache filled by `precompute` first.

Each view must draw (no figure left as empty axes without a word, nothing still computing),
every text in its figures must be at least 20 px, and the time each view took to draw is
written to the test's output (speed itself is benchmarks/bench_app.py's business; the bound
here only says a precomputed view does not compute)."""
import json
import os

import pytest

from landscape import gallery
from landscape.ui import precompute, state
from servers import start_gunicorn, stop

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

# Drawn from the cache, a view needs no computation: far less than any computation of
# these presets takes (the cold catalog job alone takes seconds to tens of seconds).
DRAWN_WITHIN = 60.0
LECTURE_PX = 20

# Every visible figure: drawn, showing something (points or a sentence), and the smallest
# font size of its text (SVG text elements plotly drew, legend and annotations included).
FIGURES = """
const visible = el => el.offsetParent !== null;
const points = t => ['x', 'y', 'z', 'values'].some(k => t[k] && t[k].length > 0);
return [...document.querySelectorAll('.dash-graph')].filter(visible).map(div => {
    const g = div.querySelector('.js-plotly-plot');
    const layout = (g && g.layout) || {};
    const words = (layout.annotations || []).some(a => a.text && a.text.trim())
        || !!(layout.title && (layout.title.text || layout.title));
    const sizes = [...div.querySelectorAll('svg text')]
        .filter(t => t.textContent.trim())
        .map(t => parseFloat(getComputedStyle(t).fontSize));
    return {id: div.id, drawn: !!(g && g._fullLayout),
            blank: !(g && ((g.data || []).some(points) || words)),
            smallest: sizes.length ? Math.min(...sizes) : null};
});
"""


@pytest.fixture(scope="module")
def precomputed(tmp_path_factory):
    """A cache filled by precompute for every preset but the seed paper's (the hierarchy
    left out: its tab then says what its button computes, as the Connections tab does)."""
    cache = tmp_path_factory.mktemp("presets") / "cache"
    old = os.environ.get("LANDSCAPE_CACHE_DIR")
    os.environ["LANDSCAPE_CACHE_DIR"] = str(cache)
    redis = os.environ.pop("REDIS_URL", None)
    try:
        precompute.run(hierarchy=False)
    finally:
        if old is None:
            os.environ.pop("LANDSCAPE_CACHE_DIR", None)
        else:
            os.environ["LANDSCAPE_CACHE_DIR"] = old
        if redis is not None:
            os.environ["REDIS_URL"] = redis
    return cache


def test_every_preset_and_tab_draws_from_the_cache_in_lecture_type(precomputed, tmp_path):
    proc = start_gunicorn(precomputed, workers=2)
    driver = gallery.browser(1280, 720)
    problems, times = [], []
    try:
        for name, tab, _, query in gallery.views(lecture=True):
            driver.get(proc.url + "/" + query)
            seconds = gallery.wait_until_drawn(driver, DRAWN_WITHIN, tab)
            figures = driver.execute_script(FIGURES)
            times.append({"preset": name, "tab": tab, "seconds": seconds})
            wrong = []
            if seconds is None:
                wrong.append(f"not drawn within {DRAWN_WITHIN:.0f} s")
            if not figures and tab != "theory":
                wrong.append("no figure")
            for f in figures:
                if not f["drawn"] or f["blank"]:
                    wrong.append(f"{f['id']} blank")
                if f["smallest"] is not None and f["smallest"] < LECTURE_PX:
                    wrong.append(f"{f['id']} has {f['smallest']:g} px text")
            if wrong:
                shot = tmp_path / f"{gallery.slug(name)}--{tab}.png"
                driver.save_screenshot(str(shot))
                problems.append(f"{name} / {tab}: {', '.join(wrong)} ({shot})")
    finally:
        driver.quit()
        stop(proc)
    print(json.dumps(times, indent=1))
    assert len(times) == len(state.LIGHT_PRESETS) * len(state.TABS)
    assert not problems, "\n".join(problems)
