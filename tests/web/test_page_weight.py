"""The map page's weight on a first visit, compressed, tiles excluded: kept under a budget."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from test_browser import browser, live_server, map_state  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

# Bytes on the wire for a first visit to the map (HTML, scripts, styles, fonts, images and the layers' data;
# headers included; no basemap tiles), a little above what was measured on the seed data (2026-12-02: 283 KB on a
# phone at 2 pixels per CSS pixel, 171 KB on a desktop screen; README, "Phones and weak connections").
PHONE_BUDGET, DESKTOP_BUDGET = 300_000, 185_000


def first_visit(browser, url: str, viewport: dict, scale: int) -> dict[str, int]:
    """Load `url` in a fresh browser (empty caches); return the bytes received per local URL (body + headers)."""
    context = browser.new_context(viewport=viewport, device_scale_factor=scale, service_workers="block")
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1"
                  else route.abort())
    page = context.new_page()
    received = {}
    page.on("requestfinished", lambda request: received.__setitem__(request.url, request.sizes()))
    page.goto(url)
    map_state(page)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_load_state("networkidle")
    context.close()
    return {u: s["responseBodySize"] + s["responseHeadersSize"] for u, s in received.items()}


# A phone's screen has 2 or 3 pixels per CSS pixel, so it loads the markers' @2x sprite (165 KB of the total).
@pytest.mark.parametrize(("viewport", "scale", "budget"), [({"width": 360, "height": 740}, 2, PHONE_BUDGET),
                                                          ({"width": 1280, "height": 800}, 1, DESKTOP_BUDGET)])
def test_the_map_page_stays_within_its_weight_budget(browser, live_server, viewport, scale, budget):
    sizes = first_visit(browser, live_server + "/", viewport, scale)
    total = sum(sizes.values())
    assert any("/api/sites" in u for u in sizes) and any(u.endswith(".woff2") for u in sizes)
    assert all(u.startswith(live_server) for u in sizes)
    assert total <= budget, sorted(sizes.items(), key=lambda kv: -kv[1])
