"""The map's search box, its filters in the URL and a trail page, in a real headless Chromium (localhost only)."""

from __future__ import annotations

from urllib.parse import urlsplit

import gpxpy
import pytest
from playwright import sync_api

from tests.web.test_browser import assert_offline_and_clean, browser, live_server, map_state, open_map, page  # noqa: F401

pytestmark = pytest.mark.browser


def search_box(page, q: str):
    box = page.locator("#hm-search-input")
    box.fill(q)
    results = page.locator(".hm-search-result")
    results.first.wait_for()
    return results


@pytest.mark.parametrize("q, slug", [
    ("باب الخميس", "bab-el-khemis"),
    ("أسوار تارودانت", "ramparts"),
    ("اسوار تارودانت", "ramparts"),  # without its hamza
    ("باب اولاد بونونه", "bab-ouled-bounouna"),  # haa for taa marbuta, no hamza
    ("bab", "bab-"),  # every gate is as good a match: any of them
    ("Bab El Khmis", "bab-el-khemis"),  # a typo
    ("grande mosquee", "grand-mosque"),  # French without its accent
])
def test_the_search_box_suggests_the_right_record_first(page, live_server, q, slug):
    open_map(page, live_server + "/")
    results = search_box(page, q)
    first = results.first.get_attribute("data-slug")
    assert first.startswith(slug) if slug.endswith("-") else first == slug
    assert_offline_and_clean(page)


def test_bab_in_arabic_suggests_gates(page, live_server):
    open_map(page, live_server + "/")
    results = search_box(page, "باب")
    slugs = [results.nth(i).get_attribute("data-slug") for i in range(results.count())]
    assert len(slugs) == 8 and all(s.startswith("bab-") for s in slugs)
    assert_offline_and_clean(page)


def test_choosing_a_suggestion_zooms_to_it_and_opens_its_popup(page, live_server):
    open_map(page, live_server + "/")
    search_box(page, "Bab El Khmis")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    content = page.locator(".leaflet-popup-content")
    sync_api.expect(content).to_contain_text("Bab El Khemis")
    shown = page.evaluate("""() => window[Object.keys(window).find(k => k.startsWith("map_")
                                   && window[k] instanceof L.Map)].getBounds().contains([30.4786022, -8.8753605])""")
    assert shown
    assert_offline_and_clean(page)


def test_a_trail_page_shows_its_numbered_stops_and_its_gpx_parses(page, live_server):
    page.goto(live_server + "/trails/kasbah-quarter")
    page.wait_for_function("() => window.heritageTrail && window.heritageTrail.ready")
    markers = page.locator(".trail-stop-number")
    sync_api.expect(markers).to_have_count(4)
    assert [markers.nth(i).text_content() for i in range(4)] == ["1", "2", "3", "4"]
    assert page.locator(".trail-stops li").count() == 4
    assert page.locator("#trail-map .leaflet-overlay-pane path").count() == 1
    with page.expect_download() as download:
        page.click("text=Download GPX")
    gpx = gpxpy.parse(open(download.value.path(), encoding="utf-8").read())
    assert [w.name for w in gpx.waypoints] == ["1. Kasbah Gate (Bab Silsila)", "2. Bab Sedra (Kasbah inner gate)",
                                               "3. Kasbah quarter (Sultanian Kasbah)", "4. Palais Salam (former governor's palace, hotel)"]
    assert gpx.routes[0].points and gpx.tracks[0].segments[0].points
    assert_offline_and_clean(page)


def test_follow_mode_shows_the_position_and_the_next_stop_with_its_distance(page, live_server):
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.4719188, "longitude": -8.8741711})  # at Bab El Kasbah, stop 1
    page.goto(live_server + "/trails/kasbah-quarter")
    page.wait_for_function("() => window.heritageTrail && window.heritageTrail.ready")
    page.click("#trail-follow")
    next_stop = page.locator("#trail-next")
    sync_api.expect(next_stop).to_contain_text("Next stop: 2.")
    assert next_stop.get_attribute("data-next-stop") == "bab-sedra"
    assert 70 < int(next_stop.get_attribute("data-distance")) < 110  # about 88 m to Bab Sedra
    assert_offline_and_clean(page)


def test_a_map_filter_reduces_the_markers_and_survives_a_reload_through_the_url(page, live_server, engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        gates = conn.scalar(text("SELECT count(*) FROM sites WHERE publication_status = 'published' "
                                 "AND category = 'gate'"))
    before = open_map(page, live_server + "/")["counts"]
    page.locator(".hm-filters summary").click()
    page.select_option('.hm-filters select[name="category"]', "gate")
    page.wait_for_function("() => window.heritageMap.ready && window.heritageMap.filters.category === 'gate'")
    after = page.evaluate("window.heritageMap.counts")
    assert after.get("heritage") == gates < before["heritage"]
    assert after["total"] < before["total"]
    assert "environment" not in after  # environmental sites are no gates
    assert "category=gate" in urlsplit(page.url).fragment
    page.evaluate("""() => window[Object.keys(window).find(k => k.startsWith("map_")
                            && window[k] instanceof L.Map)].setView([30.4786, -8.8754], 17, {animate: false})""")
    page.wait_for_function("() => location.hash.startsWith('#map=17/30.4786')")
    shared = page.url
    page.reload()
    state = map_state(page)
    assert state["counts"] == after
    assert page.locator('.hm-filters select[name="category"]').input_value() == "gate"
    view = page.evaluate("""() => { const m = window[Object.keys(window).find(k => k.startsWith("map_")
                                  && window[k] instanceof L.Map)]; return [m.getZoom(), m.getCenter().lat]; }""")
    assert view[0] == 17 and abs(view[1] - 30.4786) < 1e-4
    assert page.url == shared
    assert_offline_and_clean(page)


def test_a_layer_switched_off_stays_off_after_a_reload(page, live_server):
    open_map(page, live_server + "/")
    page.locator(".leaflet-control-layers-overlays label", has_text="Projects").locator("input").uncheck()
    page.wait_for_function("() => location.hash.includes('layers=')")
    assert "projects" not in urlsplit(page.url).fragment.split("layers=")[1].split("&")[0].split(",")
    page.reload()
    map_state(page)
    box = page.locator(".leaflet-control-layers-overlays label", has_text="Projects").locator("input")
    assert not box.is_checked()
    assert page.locator(".leaflet-control-layers-overlays label", has_text="Heritage sites").locator(
        "input").is_checked()
    assert_offline_and_clean(page)


def test_near_here_lists_the_sites_around_the_persons_position_with_distances(page, live_server):
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.4719188, "longitude": -8.8741711})  # at Bab El Kasbah
    page.goto(live_server + "/near")
    page.click("#near-locate")
    page.locator("#near-results li").first.wait_for()
    slugs = page.locator("#near-results li").evaluate_all("items => items.map(i => i.dataset.slug)")
    # The ramparts' outline runs through the gate: both are 0 m away.
    assert set(slugs[:2]) == {"bab-el-kasbah", "ramparts"}
    sync_api.expect(page.locator('#near-results li[data-slug="bab-el-kasbah"]')).to_contain_text("0 m")
    assert "bab-sedra" in slugs and "claudio-bravo-museum" not in slugs
    assert_offline_and_clean(page)
