"""Which map layers come as GeoJSON and which as vector tiles, decided by a capped count of their records."""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy import func, select

from factories import make_site
from heritage_map.catalogue import queries
from heritage_map.catalogue.models import Site
from heritage_map.web.sources import map_sources


def sources(app, session, tiles_above: int) -> dict:
    with app.test_request_context():
        return map_sources(session, tiles_above)


def test_small_layers_come_whole_as_geojson_and_no_tile_script_is_linked(app, session, client):
    chosen = sources(app, session, 2000)
    assert chosen == {"tiles": {}, "geojson": [{"layer": "sites", "url": "/api/sites"},
                                               {"layer": "projects", "url": "/api/projects"},
                                               {"layer": "associations", "url": "/api/associations"}]}
    html = client.get("/").get_data(as_text=True)
    assert "vectorgrid" not in html.lower() and "tiles.js" not in html


def test_a_large_layer_is_split_by_view_into_tiles_and_the_small_views_filtered_geojson(app, session, client):
    heritage = session.scalar(select(func.count()).select_from(Site).where(
        Site.kind == "heritage", Site.category != "rampart", Site.publication_status == "published"))
    chosen = sources(app, session, heritage - 1)  # the heritage sites alone are past it
    assert list(chosen["tiles"]) == ["heritage"]
    tileset = chosen["tiles"]["heritage"]
    assert tileset["layer"] == "heritage-sites"
    assert unquote(tileset["url"]).endswith("/ogc/collections/heritage-sites/tiles/WebMercatorQuad/{z}/{y}/{x}"
                                            "?filter=NOT (category = 'rampart')")
    assert tileset["item"] == "/ogc/collections/heritage-sites/items/{slug}"
    assert {"layer": "sites", "url": "/api/sites?kind=environment", "keep": "environment"} in chosen["geojson"]
    assert {"layer": "sites", "url": "/api/sites?category=rampart", "keep": "ramparts"} in chosen["geojson"]
    assert {"layer": "sites", "url": "/api/sites"} not in chosen["geojson"]
    client.application.config["MAP_TILES_ABOVE"] = heritage - 1
    html = client.get("/").get_data(as_text=True)
    assert "/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js" in html
    assert html.index("leaflet/leaflet.js") < html.index("Leaflet.VectorGrid.bundled.min.js")
    assert "/web/tiles.js" in html


def test_the_count_stops_past_the_cap_and_counts_only_published_records_with_a_geometry(session):
    assert queries.capped_count(session, "sites", 3) == 4
    total = queries.capped_count(session, "sites", 10_000)
    make_site(session, slug="draft-site", publication_status="draft")
    assert queries.capped_count(session, "sites", 10_000) == total
    assert queries.capped_count(session, "sites", 10_000, {"category": "rampart"}) == 1
    assert queries.capped_count(session, "sites", 10_000, {"kind": "heritage"}, ({"category": "rampart"},)) == \
        queries.capped_count(session, "sites", 10_000, {"kind": "heritage"}) - 1
