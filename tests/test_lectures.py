"""Storylines: shipped lectures load and validate, the bar steps through them, presets are
distinct and open their tab; and in Chromium the arrow keys walk through a lecture."""
import json

import pytest

from landscape.errors import ConfigError
from landscape.ui import callbacks, lectures, precompute, state


def test_shipped_lecture_loads_and_every_step_is_a_valid_view():
    assert "spurious-minima" in lectures.names()
    lecture = lectures.load("spurious-minima")
    assert len(lecture["steps"]) >= 5
    tabs = {state.from_query(step["view"])["tab"] for step in lecture["steps"]}
    assert {"fixed-points", "flows-2d", "families", "hierarchy"} <= tabs


@pytest.mark.parametrize("name", ["../etc/passwd", "nope", "", "UPPER", "a" * 80])
def test_unknown_or_hostile_lecture_names_are_refused(name):
    with pytest.raises(ConfigError, match="lecture"):
        lectures.load(name)
    assert lectures.position({"lecture": name, "step": "0"}) is None


def test_storyline_bar_steps_through_the_lecture():
    count = len(lectures.load("spurious-minima")["steps"])
    first = lectures.step_query("spurious-minima", 0)
    children, css = callbacks.show_storyline(first)
    assert css == "storyline"
    text = json.dumps([c.to_plotly_json() for c in children], default=str)
    assert "1 of %d" % count in text and "K = M = 6" in text
    nav = children[0].children
    assert nav[0].className.endswith("disabled")              # no previous on step 1
    assert nav[2].href == lectures.step_query("spurious-minima", 1)
    last = lectures.step_query("spurious-minima", count - 1)
    nav = callbacks.show_storyline(last)[0][0].children
    assert nav[2].className.endswith("disabled") and nav[0].href
    # Out of range steps are clamped; no lecture, no bar.
    assert "%d of %d" % (count, count) in json.dumps(
        callbacks.show_storyline(first.replace("step=0", "step=99"))[0][0].to_plotly_json(),
        default=str)
    assert callbacks.show_storyline("?students=3") == ([], "storyline hidden")


def test_a_step_link_shows_that_step_whatever_the_url_says():
    values = state.from_query("?lecture=spurious-minima&step=1&students=3&tab=theory")
    shown = lectures.with_step_view(values)
    step = state.from_query(lectures.load("spurious-minima")["steps"][1]["view"])
    assert shown["students"] == step["students"] == "8" and shown["tab"] == "fixed-points"
    assert shown["lecture"] == "spurious-minima" and shown["step"] == "1"
    assert lectures.with_step_view(state.from_query("?students=3")) == state.from_query(
        "?students=3")


def test_precompute_covers_every_step():
    views = precompute.views(lecture_names=["spurious-minima"])
    assert len(views) == len(lectures.load("spurious-minima")["steps"])
    assert views[-1][1]["widths"] == "8 9 10"


def test_presets_are_distinct_and_open_a_tab():
    settings = [tuple(sorted((state.DEFAULTS | preset).items()))
                for preset in state.PRESETS.values()]
    assert len(set(settings)) == len(settings)
    tabs = {value for value, _ in state.TABS}
    assert all(preset.get("tab") in tabs for preset in state.PRESETS.values())
    for preset in state.PRESETS.values():
        state.catalog_config(state.DEFAULTS | preset)


def test_a_preset_opens_its_own_tab_in_a_fresh_view():
    # a view with widths, a comparison and a chosen point, in lecture mode
    before = state.from_query("?students=17&teachers=17&dim=inf&widths=17+18+19&compare=K%3D18"
                              "&point=3&flow-time=20&axis-x=loss&tab=hierarchy&lecture=1")
    first = next(iter(state.PRESETS))
    after = state.with_preset(before, first)
    assert after["tab"] == state.PRESETS[first]["tab"] == "fixed-points"
    assert (after["students"], after["teachers"], after["dim"]) == ("6", "6", "6")
    assert after["widths"] == after["compare"] == "" and after["point"] == "0"
    assert after["flow-time"] == state.FLOW_VIEW["time"] and after["axis-x"] == "mean diag Q"
    assert after["lecture"] == "1"
    assert state.with_preset(before, state.PAPER_PRESET)["widths"] == "17 18 19"


@pytest.mark.browser
@pytest.mark.server
def test_arrow_keys_walk_through_the_lecture(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    from servers import start_gunicorn, stop

    server = start_gunicorn(tmp_path / "cache")
    try:
        wait = WebDriverWait(browser, 60, poll_frequency=0.2)
        browser.get(server.url + "/?lecture=spurious-minima&students=3")
        # Read in the page, in one step: the bar is redrawn as the URL changes.
        title = lambda d: d.execute_script(
            "const e = document.querySelector('.lecture-step'); return e && e.textContent;")
        steps = lectures.load("spurious-minima")["steps"]
        wait.until(lambda d: title(d) == steps[0]["title"])
        wait.until(lambda d: not d.find_element(By.ID, "controls").is_displayed())  # lecture mode
        body = browser.find_element(By.TAG_NAME, "body")
        for step in steps[1:3]:
            body.send_keys(Keys.ARROW_RIGHT)
            wait.until(lambda d, s=step: title(d) == s["title"])
        body.send_keys(Keys.ARROW_LEFT)
        wait.until(lambda d: title(d) == steps[1]["title"])
        assert "step=1" in browser.current_url and "students=8" in browser.current_url
        # The step's view is the one shown: its tab is selected.
        wait.until(lambda d: d.execute_script(
            "const e = document.querySelector('#tab .tab--selected');"
            "return e && e.textContent;") == "Fixed points")
    finally:
        stop(server)
