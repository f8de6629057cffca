"""A 360 × 740 phone: the map fills the screen, panels start folded, every control is at least 44 × 44 px."""

from __future__ import annotations

import pytest

from test_browser import assert_offline_and_clean, browser, live_server, map_state, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
MINIMUM = 44
# What a finger presses, seen in the viewport. Links inside running text (a sentence, a list of sources, the
# attribution) are exempt, as WCAG's target-size rules exempt inline links; every other link is a control.
TARGETS = """(minimum) => {
  const inline = "main p a, main li a, main dd a, main td a, .leaflet-control-attribution a, .leaflet-popup-content a";
  const chosen = "a[href], button, summary, select, input:not([type=hidden]), textarea, [role=button], [tabindex='0']";
  return [...document.querySelectorAll(chosen)].filter(el => !el.matches(inline)).map(el => {
    // A radio button or a check box is pressed through its whole label.
    const target = (el.matches("input[type=radio], input[type=checkbox]") && el.closest("label")) || el;
    const r = target.getBoundingClientRect(), style = getComputedStyle(el);
    const seen = r.width > 0 && r.height > 0 && style.visibility !== "hidden" && r.bottom > 0 && r.right > 0
      && r.top < innerHeight && r.left < innerWidth;
    const name = (el.getAttribute("title") || el.getAttribute("aria-label") || el.textContent || el.className).trim();
    return {seen, small: r.width < minimum - 0.5 || r.height < minimum - 0.5,
            what: `${el.tagName.toLowerCase()} "${name.slice(0, 40)}" ${Math.round(r.width)}x${Math.round(r.height)}`};
  }).filter(t => t.seen);
}"""


def small_targets(page) -> tuple[list[str], int]:
    targets = page.evaluate(TARGETS, MINIMUM)
    return [t["what"] for t in targets if t["small"]], len(targets)


@pytest.mark.parametrize("path", ["/", "/sites/bab-el-khemis", "/sites", "/planner"])
def test_every_control_on_a_phone_is_at_least_44_px_square(page, live_server, path):
    page.set_viewport_size(PHONE)
    page.goto(live_server + path)
    if path != "/sites":
        map_state(page)
        page.wait_for_timeout(300)
    small, measured = small_targets(page)
    assert measured >= 8  # the header's links at least, and on maps the controls and markers
    assert small == []
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    assert_offline_and_clean(page)


def test_on_a_phone_the_map_fills_the_screen_under_the_header_and_its_panels_are_folded(page, live_server):
    page.set_viewport_size(PHONE)
    page.goto(live_server + "/")
    map_state(page)
    header = page.locator("header.topbar").bounding_box()
    box = page.locator(".folium-map").bounding_box()
    assert box["width"] == PHONE["width"]
    assert box["y"] == pytest.approx(header["height"], abs=1)
    assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1)
    assert header["height"] <= 100  # the header takes at most two rows of 44 px
    assert "leaflet-control-layers-expanded" not in page.locator(".leaflet-control-layers").get_attribute("class")
    assert page.evaluate("document.querySelector('.map-legend').open") is False
    legend = page.locator(".map-legend").bounding_box()
    assert legend["height"] <= 60 and legend["width"] <= PHONE["width"] / 2
    assert_offline_and_clean(page)


def test_an_open_popup_closes_with_a_44_px_button(page, live_server):
    page.set_viewport_size(PHONE)
    page.goto(live_server + "/")
    map_state(page)
    page.evaluate("""() => new Promise((resolve) => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      const groups = []; map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) groups.push(l); });
      const marker = groups[0].getLayers()[0];
      groups[0].zoomToShowLayer(marker, () => { marker.openPopup(); resolve(); });
    })""")
    box = page.locator(".leaflet-popup-close-button").bounding_box()
    assert box["width"] >= MINIMUM and box["height"] >= MINIMUM
    assert_offline_and_clean(page)
