"""The languages in a real headless Chromium: Arabic right to left with mirrored controls, French, the switcher."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright import sync_api

from tests.web.test_browser import (ARGS, CHROMIUM, PNG, assert_offline_and_clean, browser, live_server,  # noqa: F401
                                    map_state, open_map, page)

pytestmark = pytest.mark.browser

KHEMIS = ("bab-el-khemis", "باب الخميس", "Bab El Khemis (Bab Lkhemiss)")

OPEN_POPUP = """(name) => new Promise((resolve, reject) => {
  const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
  const groups = []; map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) groups.push(l); });
  for (const g of groups) {
    const marker = g.getLayers().find(m => m.options.title === name);
    if (marker) { window.__marker = marker; return g.zoomToShowLayer(marker, resolve); }
  }
  reject(new Error("no marker titled " + name));
})"""


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def open_popup(page, title: str):
    page.evaluate(OPEN_POPUP, title)
    page.evaluate_handle("window.__marker._icon").as_element().click()
    return page.locator(".leaflet-popup-content")


def test_the_arabic_map_reads_right_to_left_with_its_controls_mirrored(page, live_server):
    open_map(page, live_server + "/ar/")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    width = page.viewport_size["width"]
    zoom, layers = box(page, ".leaflet-control-zoom"), box(page, ".leaflet-control-layers")
    assert zoom["x"] > width / 2 > layers["x"] + layers["width"]  # zoom on the right, layer list on the left
    corner = page.evaluate("""() => {
      const s = getComputedStyle(document.querySelector(".leaflet-top.leaflet-left"));
      return [s.right, s.direction];
    }""")
    assert corner == ["0px", "rtl"]
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "تكبير"
    sync_api.expect(page.locator(".leaflet-control-layers-overlays")).to_contain_text("المواقع التراثية")
    sync_api.expect(page.locator(".map-legend summary")).to_have_text("مفتاح الخريطة")
    legend = box(page, ".map-legend")
    assert legend["x"] + legend["width"] > width - 40  # the legend sits at the start of the line: the right
    page.screenshot(path="/tmp/browser_map_ar.png")
    assert_offline_and_clean(page)


def test_an_arabic_popup_names_the_place_in_arabic_and_links_to_its_arabic_page(page, live_server):
    open_map(page, live_server + "/ar/")
    content = open_popup(page, KHEMIS[1])
    sync_api.expect(content.locator(".hm-title")).to_have_text(KHEMIS[1])
    sync_api.expect(content.locator(".hm-fr")).to_have_text(KHEMIS[2])
    assert content.locator(".hm-popup").get_attribute("dir") == "rtl"
    sync_api.expect(content.locator(".hm-category")).to_have_text("باب")
    # The seed has no Arabic descriptions yet: the English one is shown, marked, with a note.
    assert content.locator(".hm-desc").get_attribute("lang") == "en"
    sync_api.expect(content.locator(".hm-fallback")).to_have_text("لم يُكتب بعد باللغة العربية؛ معروض باللغة الإنجليزية.")
    with page.expect_navigation():
        content.get_by_role("link", name="اقرأ المزيد ←").click()
    assert urlsplit(page.url).path == f"/ar/sites/{KHEMIS[0]}"
    sync_api.expect(page.locator("h1")).to_contain_text(KHEMIS[1])
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert_offline_and_clean(page)


def test_the_arabic_pages_load_the_arabic_web_font_from_the_app(page, live_server):
    fonts = []
    page.on("request", lambda r: fonts.append(r.url) if r.resource_type == "font" else None)
    page.goto(live_server + "/ar/sites")
    page.evaluate("document.fonts.ready")
    assert page.evaluate("""() => document.fonts.check('16px "Noto Naskh Arabic"', "مواقع")
                                  && [...document.fonts].some(f => f.family.includes("Noto Naskh Arabic")
                                                                   && f.status === "loaded")""")
    # Static URLs carry their content's hash: /static/v/<hash>/vendor/…
    assert any(re.match(re.escape(live_server) + r"/static/(v/[0-9a-f]+/)?vendor/noto-naskh-arabic/", url)
               for url in fonts), fonts
    # The table reads from the right: its first column starts at the right edge.
    first, last = box(page, "table.records th:first-child"), box(page, "table.records th:last-child")
    assert first["x"] > last["x"]
    assert_offline_and_clean(page)


def test_the_french_map_speaks_french_and_keeps_its_controls_where_they_are(page, live_server):
    open_map(page, live_server + "/fr/")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["fr", "ltr"]
    assert box(page, ".leaflet-control-zoom")["x"] < page.viewport_size["width"] / 2
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Zoomer"
    sync_api.expect(page.locator(".leaflet-control-layers-overlays")).to_contain_text("Sites naturels")
    content = open_popup(page, KHEMIS[2])
    sync_api.expect(content.locator(".hm-category")).to_have_text("Porte (Bab)")
    sync_api.expect(content.get_by_role("link", name="En savoir plus →")).to_have_attribute(
        "href", f"/fr/sites/{KHEMIS[0]}")
    assert_offline_and_clean(page)


def test_the_switcher_opens_the_same_page_in_the_other_language_and_remembers_it(page, live_server):
    page.goto(live_server + f"/fr/sites/{KHEMIS[0]}")
    with page.expect_navigation():
        page.locator(".language-switcher").get_by_role("link", name="العربية").click()
    assert urlsplit(page.url).path == f"/ar/sites/{KHEMIS[0]}"
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert {c["name"]: c["value"] for c in page.context.cookies()}["lang"] == "ar"
    page.goto(live_server + "/projects")  # a URL without a language: the remembered one
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert_offline_and_clean(page)


@pytest.fixture
def french_browser_page(browser, live_server):  # noqa: F811
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1"
                  else route.fulfill(status=200, body=PNG, content_type="image/png"))
    yield context.new_page()
    context.close()


def test_a_browser_set_to_french_gets_french_pages_at_urls_without_a_language(french_browser_page, live_server):
    page = french_browser_page
    page.goto(live_server + "/")
    map_state(page)
    assert page.evaluate("document.documentElement.lang") == "fr"
    sync_api.expect(page.locator(".topbar .brand")).to_contain_text("Carte du patrimoine de Taroudant")


def test_the_arabic_planner_labels_its_drawing_tools_and_writes_numbers_for_morocco(page, live_server):
    page.goto(live_server + "/ar/planner")
    page.wait_for_function("() => window.heritagePlanner && window.heritagePlanner.ready")
    assert page.get_attribute(".leaflet-draw-draw-polygon", "title") == "رسم مضلّع"
    sync_api.expect(page.locator("#planner-footprint")).to_have_text("لا حيّز بعد.")
    assert page.evaluate("(12345.6).toLocaleString('ar-MA', {maximumFractionDigits: 1})") == "12.345,6"
    panel, map_box = box(page, ".planner-panel"), box(page, ".planner-map")
    assert panel["x"] > map_box["x"]  # the side panel is on the right
    assert_offline_and_clean(page)


def test_pages_in_other_languages_do_not_download_the_arabic_font(page, live_server):
    fonts = []
    page.on("request", lambda r: fonts.append(r.url) if "noto-naskh-arabic" in r.url else None)
    page.goto(live_server + "/fr/sites")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert fonts == []
