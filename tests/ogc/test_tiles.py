"""OGC API – Tiles at /ogc/collections/<cid>/tiles: vector tiles by PostGIS, filtered as items are, never stale."""

from __future__ import annotations

import importlib.util
import json
import math
import random
from urllib.parse import quote

import mapbox_vector_tile
import pyogrio
import pytest
import shapely
import shapely.geometry
from geoalchemy2.shape import from_shape
from shapely import Point
from sqlalchemy import event, insert, text

from factories import make_site
from heritage_map.catalogue import layers
from heritage_map.catalogue.models import Site
from heritage_map.db import MIGRATIONS
from heritage_map.ogc import items, tiles
from heritage_map.transfer.imports import import_layer
from seed_facts import BAB_EL_KHEMIS, GATES

CID = "heritage-sites"
TILE_PROPERTIES = {"slug", "name_en", "name_fr", "name_ar", "category", "kind", "sample", "url"}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """Return (z, x, y) of the WebMercatorQuad tile holding a point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def bounds(z: int, x: int, y: int, margin: float = 0.0) -> str:
    """Return a tile's lon/lat bbox as bbox= takes it, widened by `margin` tile widths on every side."""
    n = 2**z

    def lon(col: float) -> float:
        return col / n * 360 - 180

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return f"{lon(x - margin)},{lat(y + 1 + margin)},{lon(x + 1 + margin)},{lat(y - margin)}"


def path(z: int, x: int, y: int, query: str = "", cid: str = CID) -> str:
    return f"/ogc/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}" + (f"?{query}" if query else "")


def features(response, cid: str = CID) -> list[dict]:
    """Return the features of a tile's one layer (none when the tile is empty)."""
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.data)
    assert set(layers) <= {cid}  # the layer is named after the collection
    return layers[cid]["features"] if layers else []


def tile_slugs(client, address: tuple[int, int, int], query: str = "") -> set[str]:
    return {f["properties"]["slug"] for f in features(client.get(path(*address, query)))}


def item_slugs(client, address: tuple[int, int, int], query: str = "", margin: float = tiles.BUFFER / tiles.EXTENT,
               clustered: bool = False) -> set[str]:
    """Return the slugs of the items in a tile's area (its margin too, drawn in the tile), filtered by `query`.

    `clustered`: only those a clustered tile counts, its points and the shapes under 1/SMALL of a tile both ways
    (width as a share of the world's, height as a share of its Web Mercator height).
    """
    box = [float(v) for v in bounds(*address, margin).split(",")]
    body = client.get(f"/ogc/collections/{CID}/items?limit=10000&bbox={bounds(*address, margin)}&{query}").get_json()

    def counted(geometry: dict) -> bool:
        xs, ys = zip(*shapely.get_coordinates(shapely.geometry.shape(geometry)).tolist())
        width = (max(xs) - min(xs)) / 360
        mercator = [math.asinh(math.tan(math.radians(lat))) for lat in (min(ys), max(ys))]
        height = (mercator[1] - mercator[0]) / (2 * math.pi)
        return max(width, height) * tiles.SMALL * 2 ** address[0] < 1

    return {f["id"] for f in body["features"] if not clustered or counted(f["geometry"])}


KHEMIS_Z15 = tile_of(*BAB_EL_KHEMIS, 15)


def test_a_z15_tile_over_the_medina_holds_its_published_gates_with_their_properties(client):
    found = features(client.get(path(*KHEMIS_Z15)))
    slugs = {f["properties"]["slug"] for f in found}
    assert slugs == item_slugs(client, KHEMIS_Z15)
    assert "bab-el-khemis" in slugs and slugs & GATES == item_slugs(client, KHEMIS_Z15, "category=gate")
    khemis = next(f["properties"] for f in found if f["properties"]["slug"] == "bab-el-khemis")
    assert set(khemis) <= TILE_PROPERTIES and {"slug", "name_en", "category", "kind", "sample", "url"} <= set(khemis)
    assert (khemis["category"], khemis["kind"], khemis["sample"]) == ("gate", "heritage", False)
    assert khemis["url"] == "/sites/bab-el-khemis"
    assert not any("count" in f["properties"] for f in found)  # single features from z13 on


def test_a_draft_site_never_appears_in_a_tile(client, session):
    make_site(session, slug="draft-gate", publication_status="draft", geom=from_shape(Point(*BAB_EL_KHEMIS), 4326))
    make_site(session, slug="new-gate", geom=from_shape(Point(*BAB_EL_KHEMIS), 4326))
    slugs = tile_slugs(client, KHEMIS_Z15)
    assert "new-gate" in slugs and "draft-gate" not in slugs


@pytest.mark.parametrize("query", ["category=gate", "filter=" + quote("name_en LIKE 'Bab%' AND category <> 'rampart'"),
                                   "filter-lang=cql2-json&filter=" + quote('{"op": "=", "args": [{"property": '
                                                                            '"coord_confidence"}, "medium"]}'),
                                   "datetime=2000-01-01T00:00:00Z/.."])
def test_a_filter_narrows_a_tile_as_it_narrows_the_items(client, query):
    slugs = tile_slugs(client, KHEMIS_Z15, query)
    assert slugs == item_slugs(client, KHEMIS_Z15, query)
    assert slugs < tile_slugs(client, KHEMIS_Z15) or query.startswith("datetime")


def test_points_are_clustered_at_low_zoom_into_counts_that_sum_to_the_published_points(client, session):
    make_site(session, slug="draft-gate", publication_status="draft")  # never counted
    address = tile_of(*BAB_EL_KHEMIS, 10)
    found = features(client.get(path(*address)))
    clusters = [f for f in found if "count" in f["properties"]]
    assert clusters and all(set(f["properties"]) == {"count"} for f in clusters)
    assert all(f["geometry"]["type"] == "Point" for f in clusters)
    assert sum(f["properties"]["count"] for f in clusters) == len(item_slugs(client, address, margin=0,
                                                                            clustered=True))
    # Lines and polygons larger than a cell (the ramparts) stay single features, simplified.
    assert "ramparts" in {f["properties"].get("slug") for f in found}


def test_a_point_on_or_beside_a_tile_edge_is_counted_in_exactly_one_tile(client, session):
    z, x, y = tile_of(*BAB_EL_KHEMIS, 10)
    around = [(z, x - 1, y - 1), (z, x, y - 1), (z, x - 1, y), (z, x, y)]  # the four tiles at its north-west corner

    def counted() -> int:
        return sum(f["properties"].get("count", 0) for address in around for f in features(client.get(path(*address))))

    before = counted()
    # On the corner, on both edges, and a hair (within float4 rounding of a box) either side of them.
    hair = [-1e-7, -1e-12, 0.0, 1e-12, 1e-7]
    offsets = [(dx, dy) for dx in hair for dy in hair] + [(dx, -0.01) for dx in hair] + [(0.01, dy) for dy in hair]
    corner_x, corner_y = session.execute(text(
        "SELECT ST_X(c), ST_Y(c) FROM ST_Transform(ST_SetSRID(ST_MakePoint("
        "ST_XMin(ST_TileEnvelope(:z, :x, :y)), ST_YMax(ST_TileEnvelope(:z, :x, :y))), 3857), 4326) AS c"),
        {"z": z, "x": x, "y": y}).one()
    session.execute(insert(Site), [
        {"slug": f"edge-{i}", "name_en": f"Edge {i}", "kind": "heritage", "category": "gate",
         "coord_confidence": "estimated", "publication_status": "published", "sources": [],
         "geom": f"SRID=4326;POINT({corner_x + dx!r} {corner_y + dy!r})"}
        for i, (dx, dy) in enumerate(offsets)])
    assert counted() - before == len(offsets)


def test_an_edit_of_a_site_changes_the_next_tile_and_its_etag(client, session):
    before = client.get(path(*KHEMIS_Z15))
    session.execute(text("UPDATE sites SET name_en = 'Gate of Thursday' WHERE slug = 'bab-el-khemis'"))
    after = client.get(path(*KHEMIS_Z15))
    assert after.headers["ETag"] != before.headers["ETag"]
    names = {f["properties"]["slug"]: f["properties"].get("name_en") for f in features(after)}
    assert names["bab-el-khemis"] == "Gate of Thursday"


def test_a_publication_and_a_deletion_show_at_the_next_request(client, session):
    site = make_site(session, slug="new-gate", publication_status="draft", geom=from_shape(Point(*BAB_EL_KHEMIS), 4326))
    assert "new-gate" not in tile_slugs(client, KHEMIS_Z15)
    site.publication_status = "published"
    session.flush()
    assert "new-gate" in tile_slugs(client, KHEMIS_Z15)
    session.delete(site)
    session.flush()
    assert "new-gate" not in tile_slugs(client, KHEMIS_Z15)


def test_a_change_to_another_layer_keeps_a_tile_s_etag(client, session):
    before = client.get(path(*KHEMIS_Z15)).headers["ETag"]
    session.execute(text("UPDATE projects SET title_en = title_en || ' (renamed)'"))
    assert client.get(path(*KHEMIS_Z15)).headers["ETag"] == before


def test_an_unchanged_tile_answers_304_to_its_etag_and_asks_to_be_revalidated(client):
    first = client.get(path(*KHEMIS_Z15))
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get(path(*KHEMIS_Z15), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    other = client.get(path(*KHEMIS_Z15, "category=gate"), headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200  # another filter, another tile


def test_a_repeated_tile_costs_one_version_query(client, connection):
    client.get(path(*KHEMIS_Z15))
    statements = []
    event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
    again = client.get(path(*KHEMIS_Z15))
    assert again.status_code == 200 and features(again)
    assert [s for s in statements if "SAVEPOINT" not in s] == [
        "SELECT version FROM layer_versions WHERE layer = %(layer)s"]


def test_a_new_tile_costs_one_statement_that_brings_its_layer_s_version_too(client, connection):
    statements = []
    event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for address in (KHEMIS_Z15, tile_of(*BAB_EL_KHEMIS, 10)):  # single features (or counts if dense); counts
        statements.clear()
        first = client.get(path(*address))
        assert features(first)
        assert len([s for s in statements if "SAVEPOINT" not in s]) == 1
        again = client.get(path(*address), headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304


@pytest.mark.parametrize(("url", "status", "message"), [
    (f"/ogc/collections/{CID}/tiles/WorldCRS84Quad/0/0/0", 404, "no tile matrix set 'WorldCRS84Quad'"),
    (f"/ogc/collections/{CID}/tiles/WorldCRS84Quad", 404, "no tile matrix set 'WorldCRS84Quad'"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/x/0/0", 400, "tileMatrix must be a whole number from 0 to 20"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/3/-1/0", 400, "tileRow must be a whole number (got '-1')"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/21/0/0", 404, "tile matrix 21 is not served (0 to 20)"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/2/0/4", 404, "tileCol 4 is outside tile matrix 2 (0 to 3)"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/2/4/0", 404, "tileRow 4 is outside tile matrix 2 (0 to 3)"),
    ("/ogc/collections/trails/tiles/WebMercatorQuad/0/0/0", 404, "no collection 'trails'"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/0/0/0?limit=5", 400, "limit"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/0/0/0?category=nope", 400, "category must be one of"),
    (f"/ogc/collections/{CID}/tiles/WebMercatorQuad/0/0/0?filter=nope%20%3D", 400, "filter"),
])
def test_bad_tile_addresses_and_parameters_answer_4xx_with_a_message(client, url, status, message):
    response = client.get(url)
    assert response.status_code == status, response.text
    if status != 200:
        body = response.get_json()
        assert body["code"] and message in body["description"], body


def test_a_low_zoom_tile_of_2000_more_points_stays_small_and_counts_them_all(client, session):
    session.execute(insert(Site), [
        {"slug": f"synthetic-{i}", "name_en": f"Synthetic site {i}", "kind": "heritage", "category": "gate",
         "coord_confidence": "estimated", "publication_status": "published", "sources": [],
         "geom": f"SRID=4326;POINT({-8.89 + (i % 50) * 0.0005} {30.465 + (i // 50) * 0.0004})"}
        for i in range(2000)])
    for z in (10, 12):
        address = tile_of(*BAB_EL_KHEMIS, z)
        response = client.get(path(*address))
        assert len(response.data) < tiles.MAX_TILE_BYTES
        counts = [f["properties"]["count"] for f in features(response) if "count" in f["properties"]]
        points = item_slugs(client, address, margin=0, clustered=True)
        assert sum(counts) == len(points) and len(counts) <= tiles.CELLS**2
        assert len(points) >= 2000 or z == 12  # the z12 tile's edge runs through the synthetic grid


def test_a_tile_of_single_features_past_the_size_limit_is_sent_clustered(client, monkeypatch):
    monkeypatch.setattr(tiles, "MAX_TILE_BYTES", 100)
    found = features(client.get(path(*KHEMIS_Z15)))
    assert found and any("count" in f["properties"] for f in found)


def test_a_tile_of_more_single_features_than_dense_is_clustered_without_encoding_them(client, monkeypatch):
    monkeypatch.setattr(tiles, "DENSE", 1)
    monkeypatch.setattr(items, "_statements", items._Statements())  # DENSE is written into its statement
    found = features(client.get(path(*KHEMIS_Z15)))
    assert found and any("count" in f["properties"] for f in found)


def test_tilesets_tileset_and_tilejson_lead_to_the_tiles(client):
    listing = client.get(f"/ogc/collections/{CID}/tiles").get_json()
    (entry,) = listing["tilesets"]
    assert entry["dataType"] == "vector" and entry["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    self_href = next(link["href"] for link in entry["links"] if link["rel"] == "self")
    tileset = client.get(self_href).get_json()
    template = next(link["href"] for link in tileset["links"] if link["rel"] == "item")
    assert template.endswith("/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    assert tileset["layers"][0]["id"] == CID and tileset["layers"][0]["maxTileMatrix"] == "20"
    z, x, y = KHEMIS_Z15
    url = template.format(tileMatrix=z, tileRow=y, tileCol=x).removeprefix("http://localhost")
    assert client.get(url).data == client.get(path(*KHEMIS_Z15)).data
    tilejson = client.get(self_href + "?f=tilejson").get_json()
    assert tilejson["tilejson"] == "3.0.0" and tilejson["tiles"][0].endswith("/WebMercatorQuad/{z}/{y}/{x}")
    assert tilejson["vector_layers"][0]["id"] == CID
    assert set(tilejson["vector_layers"][0]["fields"]) == TILE_PROPERTIES | {"count"}
    for page in (f"/ogc/collections/{CID}/tiles?f=html", f"{self_href}?f=html"):
        response = client.get(page)
        assert response.status_code == 200 and response.mimetype == "text/html" and "WebMercatorQuad" in response.text


def test_every_collection_links_to_its_tilesets_and_the_tiles_classes_are_declared(client):
    for c in client.get("/ogc/collections").get_json()["collections"]:
        href = next(link["href"] for link in c["links"]
                    if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector")
        assert client.get(href).status_code == 200
    declared = set(client.get("/ogc/conformance").get_json()["conformsTo"])
    assert {f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}" for name in
            ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "oas30")} <= declared


def test_gdal_reads_a_tile_as_the_decoder_does(client, tmp_path):
    z, x, y = KHEMIS_Z15
    file = tmp_path / str(z) / str(x) / f"{y}.pbf"  # GDAL's MVT driver places a tile by its z/x/y path
    file.parent.mkdir(parents=True)
    file.write_bytes(client.get(path(*KHEMIS_Z15)).data)
    frame = pyogrio.read_dataframe(file, layer=CID)
    assert set(frame["slug"].dropna()) == tile_slugs(client, KHEMIS_Z15)
    khemis = frame[frame["slug"] == "bab-el-khemis"].to_crs(4326).geometry.iloc[0]
    assert khemis.distance(Point(*BAB_EL_KHEMIS)) < 1e-4  # within a tile unit (0.3 m at z15)


def test_the_tile_cache_forgets_the_least_recently_used_past_its_bytes():
    cache = tiles.TileCache(capacity=3 * (400 + tiles.TileCache.ENTRY))
    for key in "abc":
        cache.put(key, 1, bytes(400))
    cache.get("a")
    cache.put("d", 1, bytes(400))
    assert [k for k in "abcd" if cache.get(k) is not None] == ["a", "c", "d"]
    cache.put("a", 2, bytes(300))  # a newer tile of the same address takes the older one's place
    assert cache.get("a") == (2, bytes(300)) and cache.used == 300 + 2 * 400 + 3 * tiles.TileCache.ENTRY
    cache.put("huge", 1, bytes(10_000))
    assert cache.get("huge") is None and cache.used <= cache.capacity


def test_truncating_a_layer_s_table_bumps_its_version_and_empties_its_tiles(client, connection):
    before = client.get(path(*KHEMIS_Z15))
    versions = "SELECT version FROM layer_versions WHERE layer = 'sites'"
    old = connection.execute(text(versions)).scalar_one()
    connection.execute(text("TRUNCATE sites CASCADE"))
    assert connection.execute(text(versions)).scalar_one() > old
    after = client.get(path(*KHEMIS_Z15))
    assert after.headers["ETag"] != before.headers["ETag"] and features(after) == []


def test_an_imported_site_is_in_the_next_tile(client, session, tmp_path):
    before = client.get(path(*KHEMIS_Z15)).headers["ETag"]
    file = tmp_path / "sites.geojson"
    file.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": list(BAB_EL_KHEMIS)},
        "properties": {"slug": "imported-gate", "name_en": "Imported gate", "kind": "heritage", "category": "gate",
                       "coord_confidence": "estimated", "publication_status": "published"}}]}))
    import_layer(session, file, "sites")
    after = client.get(path(*KHEMIS_Z15))
    assert after.headers["ETag"] != before and "imported-gate" in tile_slugs(client, KHEMIS_Z15)


def _migration_0015():
    spec = importlib.util.spec_from_file_location("m0015", MIGRATIONS / "versions" / "0015_tile_clusters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scatter(session, n: int = 400) -> None:
    """Add points, small and large polygons, drafts and environmental sites around the medina (seeded)."""
    rng = random.Random(15)
    rows = []
    for i in range(n):
        lon, lat = -8.9 + rng.random() * 0.06, 30.45 + rng.random() * 0.05
        shape = (f"POINT({lon!r} {lat!r})" if i % 5 else
                 shapely.box(lon, lat, lon + rng.choice([0.0003, 0.003, 0.03]), lat + 0.0004).wkt)
        rows.append({"slug": f"scatter-{i}", "name_en": f"Scatter {i}", "kind": "environment" if i % 7 == 0 else
                     "heritage", "category": rng.choice(["gate", "souk", "garden"]), "coord_confidence": "estimated",
                     "publication_status": "draft" if i % 11 == 0 else "published", "sources": [],
                     "geom": f"SRID=4326;{shape}"})
    session.execute(insert(Site), rows)


def _stored_and_recounted(session, table: str = "sites") -> tuple[list, list]:
    order = " ORDER BY layer, z, cx, cy, facets::text"
    stored = session.execute(text("SELECT layer, z, cx, cy, facets, n, sum_lon, sum_lat FROM tile_clusters "
                                  f"WHERE layer = :t{order}"), {"t": table}).all()
    recounted = session.execute(text(f"SELECT * FROM ({_migration_0015().counts(table)}) "
                                     f"AS c(layer, z, cx, cy, facets, n, sum_lon, sum_lat){order}")).all()
    return stored, recounted


def _same_counts(stored: list, recounted: list) -> None:
    assert [row[:6] for row in stored] == [row[:6] for row in recounted]
    for a, b in zip(stored, recounted):
        assert a[6] == pytest.approx(b[6], abs=1e-9) and a[7] == pytest.approx(b[7], abs=1e-9)


def test_the_stored_counts_are_those_of_the_published_records_after_every_kind_of_change(session):
    _same_counts(*_stored_and_recounted(session))  # the seed, as the migration counted it
    _scatter(session)
    _same_counts(*_stored_and_recounted(session))
    changes = [
        "UPDATE sites SET geom = ST_Translate(geom, 0.01, -0.002) WHERE slug LIKE 'scatter-1%'",  # moved
        "UPDATE sites SET publication_status = 'draft' WHERE slug LIKE 'scatter-2%'",  # unpublished
        "UPDATE sites SET publication_status = 'published' WHERE slug = 'scatter-11'",  # published
        "UPDATE sites SET kind = 'environment' WHERE slug LIKE 'scatter-3%'",  # into another view
        "UPDATE sites SET name_en = name_en || '!' WHERE slug LIKE 'scatter-4%'",  # nothing that counts
        "UPDATE sites SET geom = ST_Buffer(ST_Centroid(geom), 0.02) WHERE slug = 'scatter-5'",  # grown large
        "DELETE FROM sites WHERE slug LIKE 'scatter-6%'",
    ]
    for change in changes:
        session.execute(text(change))
        _same_counts(*_stored_and_recounted(session))
    assert not session.scalar(text("SELECT count(*) FROM tile_clusters WHERE n = 0"))  # emptied cells are gone
    session.execute(text("TRUNCATE sites CASCADE"))
    assert _stored_and_recounted(session) == ([], [])


@pytest.mark.parametrize("z", [4, 8, 10, 11, 12])
def test_a_tile_from_the_stored_counts_is_the_tile_counted_from_the_records(client, session, z):
    _scatter(session)
    address = tile_of(*BAB_EL_KHEMIS, z)
    # kind=heritage picks the collection's own records, but as a filter: counted from the records, live.
    stored, live = features(client.get(path(*address))), features(client.get(path(*address, "kind=heritage")))

    def clusters(found):
        return sorted((f["properties"]["count"], *f["geometry"]["coordinates"]) for f in found
                      if "count" in f["properties"])

    assert [f for f in stored if "count" not in f["properties"]] == [f for f in live if "count" not in f["properties"]]
    assert [c[0] for c in clusters(stored)] == [c[0] for c in clusters(live)] and clusters(stored)
    for a, b in zip(clusters(stored), clusters(live)):  # the same mean, summed in another order
        assert abs(a[1] - b[1]) <= 1 and abs(a[2] - b[2]) <= 1


def test_the_counts_are_split_by_the_columns_the_views_pick_records_by():
    facets = _migration_0015().FACETS
    assert set(facets) == set(layers.LAYERS)
    for key, layer in layers.LAYERS.items():
        assert all(layer.filter(name).match == "equals" for view in layer.views for name in view.match)
        assert set(facets[key]) == {layer.filter(name).column for view in layer.views for name in view.match}
    assert _migration_0015().LEVELS == tiles.CLUSTER_BELOW and _migration_0015().CELL_ZOOMS == tiles.CELL_ZOOMS


def test_a_low_zoom_tile_finds_its_shapes_by_their_zoom_not_by_reading_the_points(session):
    _scatter(session, 5000)
    session.execute(text("ANALYZE sites"))
    plan = session.execute(text("EXPLAIN SELECT id FROM sites WHERE geom && ST_MakeEnvelope(-9, 30, -8, 31, 4326) "
                                "AND heritage_point_below(geom) <= 8")).all()
    assert "ix_sites_point_below" in "\n".join(row[0] for row in plan)
