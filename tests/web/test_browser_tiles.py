"""A large layer on the map in headless Chromium: drawn from vector tiles, with popups, clusters, legend and switcher."""

from __future__ import annotations

import threading
from urllib.parse import unquote, urlsplit

import pytest
from playwright import sync_api
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from heritage_map import create_app
from heritage_map.catalogue import vocab

from conftest import reading
from test_browser import assert_offline_and_clean, browser, map_state, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

POINTS = 20_000
# A site of our own, alone in a clear square out of town, with text that must not be read as markup.
LONE = {"slug": "tiled-lone-site", "name": '<b>Lone "tiled" & site</b>', "lon": -8.70, "lat": 30.35,
        "description": "<i>Only the item says this.</i>"}
CLEAR = 0.01  # degrees around it without any other point
MAP = 'window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)]'
# Move the map and resolve once the heritage tiles of the new view are drawn.
GO = """([lat, lon, zoom]) => new Promise((resolve) => {
  const grid = HeritageTiles.grids.heritage;
  grid.once("load", () => requestAnimationFrame(() => resolve()));
  %s.setView([lat, lon], zoom, {animate: false});
})""" % MAP
# Every feature the heritage grid holds in its tiles of the current zoom: VectorGrid keeps them per tile.
FEATURES = """() => {
  const grid = HeritageTiles.grids.heritage, zoom = %s.getZoom(), out = [];
  Object.values(grid._vectorTiles).forEach((tile) => {
    if (tile.getCoord().z !== zoom) return;
    Object.values(tile._features).forEach((f) => out.push(f.feature.properties));
  });
  return out;
}""" % MAP
# Record what the canvases write: a cluster's count is drawn as text in its circle.
TEXT_SPY = """(() => {
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  window.__drawnTexts = [];
  CanvasRenderingContext2D.prototype.fillText = function (t, x, y) {
    window.__drawnTexts.push(String(t));
    return fillText.apply(this, arguments);
  };
})();"""


def add_points(connection) -> None:
    """Insert POINTS published heritage sites across the province (not near LONE) and LONE, in the test's transaction."""
    cats = [c.slug for c in vocab.CATEGORIES.values() if c.kind == "heritage" and c.slug != "rampart"]
    connection.execute(text("""
        INSERT INTO sites (slug, name_en, kind, category, coord_confidence, publication_status, sources, sample,
                           protection_status, condition, geom)
        SELECT 'tiled-' || g, 'Tiled site ' || g, 'heritage', (CAST(:cats AS text[]))[1 + g % cardinality(CAST(:cats AS text[]))],
               'low', 'published', ARRAY['test'], false, 'unknown', 'unknown', ST_SetSRID(ST_MakePoint(lon, lat), 4326)
        FROM (SELECT g, -9.2 + random() * 0.7 AS lon, 30.2 + random() * 0.6 AS lat FROM generate_series(1, :n) AS g) AS p
        WHERE abs(lon - :lon) > :clear OR abs(lat - :lat) > :clear
    """), {"cats": cats, "n": POINTS, "lon": LONE["lon"], "lat": LONE["lat"], "clear": CLEAR})
    connection.execute(text("""
        INSERT INTO sites (slug, name_en, kind, category, description_en, coord_confidence, publication_status,
                           sources, sample, protection_status, condition, geom)
        VALUES (:slug, :name, 'heritage', 'mosque', :description, 'high', 'published', ARRAY['test'], false,
                'unknown', 'unknown', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
    """), LONE)


@pytest.fixture
def live_server(engine, connection):
    """The app served from another thread, every request inside this test's transaction, one at a time."""
    add_points(connection)
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test",
                      "TILE_URL": "http://tiles.test/{z}/{x}/{y}.png"}, engine=engine)
    app.extensions["heritage_map.sessionmaker"] = sessionmaker(bind=connection,
                                                               join_transaction_mode="create_savepoint")
    app.extensions["heritage_map.read"] = lambda _transaction: reading(connection)
    # Not threaded: the test's one connection serves the requests in turn.
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def published_counts(connection) -> dict[str, int]:
    """Published records with a geometry per map layer, in the test's transaction (before the browser runs)."""
    site = "SELECT count(*) FROM sites WHERE publication_status = 'published' AND "
    return {key: connection.scalar(text(sql)) for key, sql in {
        "heritage": site + "kind = 'heritage' AND category <> 'rampart'",
        "environment": site + "kind = 'environment' AND category <> 'rampart'",
        "ramparts": site + "category = 'rampart'",
        "projects": "SELECT count(*) FROM projects WHERE publication_status = 'published' AND geom IS NOT NULL",
        "associations": "SELECT count(*) FROM associations WHERE publication_status = 'published' "
                        "AND geom IS NOT NULL"}.items()}


def test_a_large_layer_is_drawn_from_vector_tiles_with_popups_clusters_legend_and_switcher(page, live_server,
                                                                                          connection):
    # Counted first: once the browser runs, the server thread alone uses the connection.
    expected = published_counts(connection)
    requests = []
    page.on("response", lambda r: requests.append((r.url, r.status, r.headers.get("content-type"))))
    page.context.add_init_script(TEXT_SPY)
    page.goto(live_server + "/")
    state = map_state(page)

    # Heritage sites (20,000 and more) come as tiles; the small views of the same table stay GeoJSON.
    assert list(state["tiles"]) == ["heritage"]
    assert expected["heritage"] > POINTS * 0.99
    for key in ("environment", "ramparts", "projects", "associations"):
        assert state["counts"].get(key, 0) == expected[key], key
    assert "heritage" not in state["counts"]
    paths = [(urlsplit(u).path, unquote(urlsplit(u).query)) for u, _, _ in requests]
    assert ("/api/sites", "") not in paths, "the large layer was fetched whole"
    assert ("/api/sites", "kind=environment") in paths and ("/api/sites", "category=rampart") in paths
    tiles = [(u, s, t) for u, s, t in requests if "/ogc/collections/heritage-sites/tiles/WebMercatorQuad/15/" in u]
    assert tiles and all(s == 200 and t == "application/vnd.mapbox-vector-tile" for _, s, t in tiles)
    assert all(unquote(urlsplit(u).query) == "filter=NOT (category = 'rampart')" for u, _, _ in tiles)
    assert page.locator(".leaflet-overlay-pane canvas").count() >= len(tiles)

    # A popup from a tile: the right record, its text as text, then completed from its item.
    page.evaluate(GO, [LONE["lat"], LONE["lon"], 16])
    singles = page.evaluate(FEATURES)
    assert [p["slug"] for p in singles if p.get("slug") == LONE["slug"]] == [LONE["slug"]]
    assert not any("count" in p for p in singles)
    x, y = page.evaluate("""([lat, lon]) => {
      const map = %s, p = map.latLngToContainerPoint([lat, lon]), box = map.getContainer().getBoundingClientRect();
      return [box.left + p.x, box.top + p.y - 25];  // the marker stands above its point
    }""" % MAP, [LONE["lat"], LONE["lon"]])
    page.mouse.click(x, y)
    content = page.locator(".leaflet-popup-content")
    sync_api.expect(content.locator(".hm-title")).to_have_text(LONE["name"])
    sync_api.expect(content.locator(".hm-desc")).to_have_text(LONE["description"])
    sync_api.expect(content.locator(".hm-category")).to_have_text(vocab.CATEGORIES["mosque"].en)
    assert content.locator("b, i").count() == 0
    assert content.get_by_role("link", name="Read more →").get_attribute("href").endswith(f"/sites/{LONE['slug']}")

    # Below z13 the tiles hold clusters, each drawn with its count.
    page.evaluate(GO, [30.5, -8.85, 10])
    clusters = [p for p in page.evaluate(FEATURES) if "count" in p]
    assert clusters and max(p["count"] for p in clusters) >= 10
    assert sum(p["count"] for p in clusters) <= expected["heritage"]
    drawn = set(page.evaluate("window.__drawnTexts"))
    assert {str(p["count"]) for p in clusters if 1 < p["count"] < 1000} <= drawn

    # The legend and the layer switcher are the usual ones, and the switcher hides and shows the tiles.
    assert page.locator(".map-legend").is_visible()
    assert page.locator(".map-legend li").count() == len(vocab.CATEGORIES) + 3
    heritage = page.locator(".leaflet-control-layers-overlays label", has_text="Heritage sites").locator("input")
    on_map = "() => %s.hasLayer(HeritageTiles.grids.heritage)" % MAP
    assert page.evaluate(on_map) is True
    heritage.uncheck()
    assert page.evaluate(on_map) is False
    assert page.locator(".leaflet-overlay-pane canvas").count() == 0
    heritage.check()
    page.wait_for_function(on_map)
    sync_api.expect(page.locator(".leaflet-overlay-pane canvas").first).to_be_attached()
    page.screenshot(path="/tmp/browser_tiles.png")
    assert_offline_and_clean(page)
