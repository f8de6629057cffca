"""The list view: the places in the map's current view as links, reached and opened with the keyboard alone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright import sync_api

from test_browser import assert_offline_and_clean, browser, live_server, map_state, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser



def test_the_list_view_lists_the_places_in_view_as_links_and_follows_the_map(page, live_server):
    page.goto(live_server + "/")
    map_state(page)
    toggle = page.locator(".hm-list-toggle")
    sync_api.expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    sync_api.expect(toggle).to_have_attribute("aria-expanded", "true")
    links = page.locator(".hm-list a")
    shown = links.count()
    assert shown > 10
    sync_api.expect(page.locator(".hm-list h2")).to_have_text(f"{shown} places in this view")
    assert all(urlsplit(h).path.split("/")[1] in ("sites", "projects", "associations")
               for h in links.evaluate_all("as => as.map(a => a.getAttribute('href'))"))
    page.evaluate("""() => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      map.setView([30.4775, -8.8745], 19, {animate: false});
    }""")
    page.wait_for_function(f"() => document.querySelectorAll('.hm-list a').length < {shown}")
    links.first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path.startswith(("/sites/", "/projects/", "/associations/"))
    assert_offline_and_clean(page)
