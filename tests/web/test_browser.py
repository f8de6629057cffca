"""The map in a real headless Chromium: layers load from the API, popups link to records, nothing leaves localhost."""

from __future__ import annotations

import base64
import threading
from urllib.parse import urlsplit

import pytest
from playwright import sync_api
from sqlalchemy import text
from werkzeug.serving import make_server

from heritage_map import create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
LABELS = {"Heritage sites": "heritage", "Environmental sites": "environment", "Ramparts outline": "ramparts",
          "Projects": "projects", "Associations": "associations"}
BRAVO = ("claudio-bravo-museum", "Claudio Bravo Palace-Museum")

# The Leaflet layers really on the map (markers inside cluster groups plus vector shapes) under Folium's
# feature groups (globals feature_group_*), per layer-control overlay name, and their total.
COUNT_LAYERS = """() => {
  const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
  const count = (layer) => {
    if (layer instanceof L.MarkerClusterGroup) return layer.getLayers().length;
    if (layer instanceof L.LayerGroup) return layer.getLayers().reduce((n, l) => n + count(l), 0);
    return (layer instanceof L.Path || layer instanceof L.Marker) && map.hasLayer(layer) ? 1 : 0;
  };
  const control = Object.keys(window).find(k => k.startsWith("layer_control_") && k.endsWith("_layers"));
  const overlays = Object.entries(control ? window[control].overlays : {});
  const result = {total: 0};
  Object.keys(window).filter(k => k.startsWith("feature_group_")).map(k => window[k]).forEach(l => {
    if (!(l instanceof L.FeatureGroup) || !map.hasLayer(l)) return;
    const entry = overlays.find(([, group]) => group === l);
    const n = count(l);
    if (entry) result[entry[0]] = n;
    result.total += n;
  });
  return result;
}"""


def sql_counts(engine) -> dict[str, int]:
    """Published records with a geometry, per map layer, straight from the database."""
    site = "SELECT count(*) FROM sites WHERE publication_status = 'published' AND geom IS NOT NULL AND "
    queries = {
        "ramparts": site + "category = 'rampart'",
        "heritage": site + "kind = 'heritage' AND category <> 'rampart'",
        "environment": site + "kind = 'environment' AND category <> 'rampart'",
        "projects": "SELECT count(*) FROM projects WHERE publication_status = 'published' AND geom IS NOT NULL",
        "associations": "SELECT count(*) FROM associations WHERE publication_status = 'published' AND geom IS NOT NULL",
    }
    with engine.connect() as conn:
        counts = {key: conn.scalar(text(sql)) for key, sql in queries.items()}
    counts["total"] = sum(counts[k] for k in LABELS.values())
    return counts


@pytest.fixture(scope="module")
def live_server(engine):
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test",
                      "TILE_URL": "http://tiles.test/{z}/{x}/{y}.png"}, engine=engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A page whose only network is localhost; tiles get a blank PNG, anything else is aborted and recorded."""
    # No service worker: these tests watch the page's own requests (tests/web/test_offline.py has one).
    context = browser.new_context(viewport={"width": 1280, "height": 800}, service_workers="block")
    context.tiles, context.offending, context.errors = [], [], []

    def handle(route):
        url = route.request.url
        host = urlsplit(url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        elif host == "tiles.test":
            context.tiles.append(url)
            route.fulfill(status=200, body=PNG, content_type="image/png")
        else:
            context.offending.append(url)
            route.abort()

    context.route("**/*", handle)
    page = context.new_page()
    page.set_default_timeout(15_000)

    def on_console(msg):
        if msg.type == "error" and "favicon.ico" not in (msg.location or {}).get("url", ""):
            context.errors.append(f"console: {msg.text} ({msg.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: context.errors.append(f"pageerror: {exc}"))
    yield page
    context.close()


def open_map(page, url: str) -> dict:
    page.goto(url)
    return map_state(page)


def map_state(page) -> dict:
    """Wait for the open page's map to have loaded its layers; return window.heritageMap."""
    assert page.evaluate('typeof L === "undefined"') is False, "Leaflet did not load"
    page.wait_for_function("() => window.heritageMap && window.heritageMap.ready === true")
    assert page.get_attribute("html", "data-map-ready") == "true"
    state = page.evaluate("window.heritageMap")
    assert state["errors"] == []
    return state


def assert_offline_and_clean(page):
    assert page.context.offending == [], "requests left localhost"
    assert page.context.errors == []


def test_map_shows_every_published_record(page, live_server, engine):
    expected = sql_counts(engine)
    state = open_map(page, live_server + "/")
    counts = state["counts"]
    assert counts["total"] == expected["total"] > 0
    for key in LABELS.values():
        assert counts.get(key, 0) == expected[key], key
    drawn = page.evaluate(COUNT_LAYERS)
    assert drawn["total"] == expected["total"]
    per_layer = {LABELS[name]: n for name, n in drawn.items() if name != "total"}
    assert per_layer == {key: expected[key] for key in LABELS.values()}
    assert page.locator(".leaflet-control-layers-overlays label").count() == len(LABELS)
    assert page.locator(".map-legend").is_visible()
    page.wait_for_timeout(500)  # let the icon font and tile placeholders settle
    page.screenshot(path="/tmp/browser_map.png")
    assert page.context.tiles, "the basemap requested no tiles"
    assert_offline_and_clean(page)


def test_marker_popup_links_to_record_page(page, live_server):
    open_map(page, live_server + "/")
    page.evaluate("""(name) => new Promise((resolve, reject) => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      const groups = []; map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) groups.push(l); });
      for (const g of groups) {
        const marker = g.getLayers().find(m => m.options.title === name);
        if (marker) { window.__marker = marker; return g.zoomToShowLayer(marker, resolve); }
      }
      reject(new Error("no marker titled " + name));
    })""", BRAVO[1])
    page.evaluate_handle("window.__marker._icon").as_element().click()
    content = page.locator(".leaflet-popup-content")
    sync_api.expect(content).to_contain_text(BRAVO[1])
    with page.expect_navigation():
        content.get_by_role("link", name="Read more →").click()
    assert urlsplit(page.url).path == f"/sites/{BRAVO[0]}"
    sync_api.expect(page.locator("h1")).to_contain_text(BRAVO[1])
    assert_offline_and_clean(page)


def test_popup_escapes_text(page, live_server):
    open_map(page, live_server + "/")
    raw = "<img src=x onerror=window.pwned=1>"
    title = page.evaluate("""(raw) => {
      const box = HeritageMap.popup({name_en: raw, description_en: "<b>bold</b>", url: "/sites/x", slug: "x"},
                                    "heritage", {categories: {}, colours: {}});
      document.body.appendChild(box);
      return {title: box.querySelector(".hm-title").textContent, imgs: box.querySelectorAll("img, b").length,
              desc: box.querySelector(".hm-desc").textContent};
    }""", raw)
    page.wait_for_timeout(200)  # an injected onerror would have fired by now
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert title == {"title": raw, "imgs": 0, "desc": "<b>bold</b>"}
    assert_offline_and_clean(page)


def test_popups_and_marker_titles_fall_back_in_the_order_the_server_gives(page, live_server):
    open_map(page, live_server + "/")
    shown = page.evaluate("""() => {
      const box = HeritageMap.popup({name_en: "", name_fr: "Bab Seulement", name_ar: "\u0628\u0627\u0628",
                                     description_ar: "\u0648\u0635\u0641", url: "/sites/x", slug: "x"},
                                    "heritage", {categories: {}, colours: {}});
      return {title: box.querySelector(".hm-title").textContent, desc: box.querySelector(".hm-desc").textContent,
              fr: box.querySelectorAll(".hm-fr").length, project: HeritageMap.title({title_ar: "\u0645", slug: "p"}),
              bare: HeritageMap.title({slug: "bare"})};
    }""")
    assert shown == {"title": "Bab Seulement", "desc": "\u0648\u0635\u0641", "fr": 0, "project": "\u0645",
                     "bare": "bare"}
    assert_offline_and_clean(page)


def test_record_page_draws_the_ramparts_offline(page, live_server):
    state = open_map(page, live_server + "/sites/ramparts")
    assert state["counts"] == {"total": 1, "ramparts": 1}
    assert page.evaluate(COUNT_LAYERS)["total"] == 1
    assert page.locator(".record-map .leaflet-overlay-pane path").count() == 1
    page.wait_for_function("""() => {  // the view fits the whole outline once the zoom animation ends
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      const groups = Object.keys(window).filter(k => k.startsWith("feature_group_")).map(k => window[k]);
      const bounds = groups.map(g => g.getBounds()).find(b => b.isValid());
      return !map._animatingZoom && map.getBounds().contains(bounds);
    }""")
    page.screenshot(path="/tmp/browser_ramparts.png")
    sync_api.expect(page.locator("h1")).to_contain_text("Taroudant ramparts")
    assert page.context.tiles
    assert_offline_and_clean(page)


def test_planner_screens_an_uploaded_footprint_offline(page, live_server, tmp_path):
    # Drawing is awkward to automate, so the footprint comes as a file: the same code path after the upload.
    footprint = tmp_path / "works.geojson"
    footprint.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                         '"geometry": {"type": "Polygon", "coordinates": [[[-8.8758, 30.4783], [-8.8749, 30.4783], '
                         '[-8.8749, 30.4789], [-8.8758, 30.4789], [-8.8758, 30.4783]]]}}]}', encoding="utf-8")
    open_map(page, live_server + "/planner")
    page.wait_for_function("() => window.heritagePlanner && window.heritagePlanner.ready === true")
    assert page.locator(".leaflet-draw-toolbar").count() >= 1, "the drawing toolbar is missing"
    page.set_input_files("#planner-file", str(footprint))
    sync_api.expect(page.locator("#planner-footprint")).to_contain_text("works.geojson")
    page.check('input[name="question"][value="screening"]')
    page.fill("#planner-distance", "250")
    page.click("#planner-run")
    page.wait_for_function("() => document.documentElement.getAttribute('data-planner-state') === 'done'")
    assert page.locator("#planner-message").is_hidden()
    gate = page.locator('#planner-table tbody tr[data-slug="bab-el-khemis"]')
    sync_api.expect(gate).to_contain_text("Bab El Khemis")
    sync_api.expect(gate).to_contain_text("zone touched")
    sync_api.expect(page.locator('#planner-table tbody tr[data-slug="bab-tafelagt"]')).to_contain_text("no")
    assert page.locator("#planner-table tbody tr").count() == 4  # 2 zones touched, 2 gates within 250 m
    sync_api.expect(page.locator("#planner-summary")).to_contain_text("Protection zones touched")
    drawn = page.evaluate("""() => {
      const results = window.heritagePlanner.results;
      const map = results._map;
      const count = (layer) => layer instanceof L.LayerGroup ? layer.getLayers().reduce((n, l) => n + count(l), 0)
        : ((layer instanceof L.Path || layer instanceof L.Marker) && map.hasLayer(layer) ? 1 : 0);
      return {onMap: !!map && map.hasLayer(results), layers: count(results), features: window.heritagePlanner.drawn};
    }""")
    assert drawn["onMap"] and drawn["features"] == 4 and drawn["layers"] >= 4
    assert page.locator(".leaflet-pane.leaflet-plannerResults-pane path").count() >= 4
    page.screenshot(path="/tmp/browser_planner.png")
    assert_offline_and_clean(page)


def test_on_a_phone_the_layer_list_and_legend_start_folded_and_open_on_a_tap(page, live_server):
    page.set_viewport_size({"width": 390, "height": 844})
    open_map(page, live_server + "/")
    layers = page.locator(".leaflet-control-layers")
    assert "leaflet-control-layers-expanded" not in layers.get_attribute("class")
    assert page.evaluate("document.querySelector('.map-legend').open") is False
    page.locator(".leaflet-control-layers-toggle").click()
    assert "leaflet-control-layers-expanded" in layers.get_attribute("class")
    page.locator(".map-legend summary").click()
    assert page.evaluate("document.querySelector('.map-legend').open") is True
    assert_offline_and_clean(page)


CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.__cspViolations = window.__cspViolations || []).push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
});"""
MAP_PAGES = ["/", "/sites/bab-el-khemis", "/associations/example-garden-keepers", "/projects/example-rampart-walk",
             "/planner", "/at-risk"]
PLAIN_PAGES = ["/sites", "/associations", "/projects", "/forum", "/events", "/api/screening/report", "/ogc/?f=html",
               "/ogc/collections/heritage-sites/items?f=html", "/search?q=bab", "/trails", "/trails/kasbah-quarter",
               "/near"]
WORKS = '{"type": "Polygon", "coordinates": [[[-8.8758, 30.4783], [-8.8749, 30.4783], [-8.8749, 30.4789], ' \
        '[-8.8758, 30.4789], [-8.8758, 30.4783]]]}'


@pytest.mark.parametrize("path", [*MAP_PAGES, *PLAIN_PAGES, "/nowhere", "report"])
def test_no_page_breaks_the_content_security_policy(page, live_server, path):
    page.context.add_init_script(CSP_LISTENER)
    refused = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    if path == "report":  # the printable screening report, with its map: what the form posts to
        page.goto(live_server + "/api/screening/report")
        page.fill("#report-geometry", WORKS)
        with page.expect_navigation():
            page.click("button[type=submit]")
    else:
        assert page.goto(live_server + path).status == (404 if path == "/nowhere" else 200)
    has_map = path in (*MAP_PAGES, "report")
    if has_map:  # a refused script leaves the map unready: stop at the refusal rather than time out
        page.wait_for_function("() => (window.heritageMap && window.heritageMap.ready) || window.__cspViolations")
    assert page.evaluate("window.__cspViolations || []") == []
    if has_map:
        assert map_state(page)["counts"]["total"] > 0
    assert refused == []
    if path == "/nowhere":  # Chromium logs the page's own 404 status as a console error
        page.context.errors[:] = [e for e in page.context.errors if "status of 404" not in e]
    assert_offline_and_clean(page)


def test_the_locate_me_marker_draws_under_the_policy(page, live_server):
    page.context.add_init_script(CSP_LISTENER)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.4725, "longitude": -8.881})
    open_map(page, live_server + "/")
    page.click(".leaflet-control-locate a")
    circle = page.locator(".leaflet-control-locate-location circle")
    sync_api.expect(circle).to_have_count(1)
    assert circle.evaluate("c => getComputedStyle(c).fill") != "rgb(0, 0, 0)"  # its own colour, not SVG's black
    assert page.evaluate("window.__cspViolations || []") == []
    assert_offline_and_clean(page)


def test_an_index_filter_applies_as_soon_as_it_is_chosen(page, live_server):
    page.goto(live_server + "/sites")
    with page.expect_navigation():
        page.select_option("select[name=kind]", "environment")
    assert urlsplit(page.url).query == "kind=environment&category=&period=&condition=&protection=&association="
    sync_api.expect(page.locator("p.count")).to_have_text("9 sites")
    assert_offline_and_clean(page)
