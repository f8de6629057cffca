"""Every main page passes axe-core's WCAG 2.1 A and AA rules, in every language, with no violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_browser import assert_offline_and_clean, browser, live_server, map_state, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# URL prefixes of the interface languages (an unprefixed URL is one of them, chosen by the browser's language).
LANGUAGES = ["/en", "/ar", "/fr"]
MAP_PAGES = ["/", "/sites/bab-el-khemis", "/sites/ramparts", "/associations/example-garden-keepers",
             "/projects/example-rampart-walk", "/planner"]
PLAIN_PAGES = ["/associations/taroudant-bladna", "/projects/clean-walls", "/sites", "/associations", "/projects", "/forum", "/sign-in", "/sign-up", "/password-reset", "/api/screening/report",
               "/events", "/trails", "/trails/kasbah-quarter", "/at-risk", "/search?q=bab", "/near",
               "/ogc/?f=html", "/ogc/collections?f=html", "/ogc/collections/heritage-sites/items?f=html",
               "/ogc/collections/heritage-sites/items/bab-el-khemis?f=html", "/ogc/api?f=html"]
ERROR_PAGE = "/sites/no-such-site"


def violations(page) -> list[str]:
    """Run axe-core on the open page; return one line per violation and element."""
    page.evaluate(AXE)  # through the DevTools protocol: the page's Content-Security-Policy does not apply
    found = page.evaluate("(rules) => axe.run(document, {runOnly: {type: 'tag', values: rules}})"
                          ".then(r => r.violations)", RULES)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}: {node['failureSummary']}"
            for v in found for node in v["nodes"]]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", [*MAP_PAGES, *PLAIN_PAGES, ERROR_PAGE])
def test_the_page_has_no_wcag_21_aa_violation(page, live_server, language, path):
    response = page.goto(live_server + language + path)
    assert response.status == (404 if path == ERROR_PAGE else 200)
    if path in MAP_PAGES:
        map_state(page)
        page.wait_for_timeout(300)  # markers and clusters settle after the layers are added
    assert violations(page) == []
    if path == ERROR_PAGE:  # Chromium logs the page's own 404 status as a console error
        page.context.errors[:] = [e for e in page.context.errors if "status of 404" not in e]
    assert_offline_and_clean(page)


def test_axe_finds_what_it_is_run_for(page, live_server):
    page.goto(live_server + "/sites")
    page.evaluate("""() => {
      const img = document.createElement("img"); img.src = "data:,"; document.querySelector("main").appendChild(img);
      document.documentElement.removeAttribute("lang");
    }""")
    assert {line.split(" ")[0] for line in violations(page)} == {"image-alt", "html-has-lang"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", ["/", "/sites/bab-el-khemis"])
def test_the_page_has_no_wcag_21_aa_violation_on_a_phone(page, live_server, language, path):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server + language + path)
    map_state(page)
    page.wait_for_timeout(300)
    assert violations(page) == []
    assert_offline_and_clean(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_map_with_its_list_legend_and_a_popup_open_has_no_violation(page, live_server, language):
    page.goto(live_server + language + "/")
    map_state(page)
    page.click(".hm-list-toggle")
    page.evaluate("""() => new Promise((resolve) => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      const groups = []; map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) groups.push(l); });
      const marker = groups[0].getLayers()[0];
      groups[0].zoomToShowLayer(marker, () => { marker.openPopup(); resolve(); });
    })""")
    assert page.locator(".hm-list a").count() > 0 and page.locator(".leaflet-popup-content").count() == 1
    # Leaflet fades a popup in: judged mid-fade, its colours are blends that no person reads.
    page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
                           " && !document.querySelector('.leaflet-zoom-anim')")
    assert violations(page) == []
    assert_offline_and_clean(page)
