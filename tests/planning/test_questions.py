"""Planners' questions on the seeded PostGIS: near, within, screening, summary, uploads, downloads and bad input."""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import box, mapping, shape
from sqlalchemy import text

from factories import make_site
from seed_facts import BAB_EL_KHEMIS, MEDINA_SITES
from heritage_map.catalogue import queries

GEOD = Geod(ellps="WGS84")
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32629", always_xy=True)  # metres, for independent distances
TO_MERCHICH = Transformer.from_crs("EPSG:4326", "EPSG:26192", always_xy=True)
SEED = json.loads((Path(__file__).resolve().parents[2] / "geodata" / "sites.geojson").read_text(encoding="utf-8"))
SEED_POINTS = {f["properties"]["slug"]: tuple(f["geometry"]["coordinates"]) for f in SEED["features"]
               if f["geometry"]["type"] == "Point"}

# A small works footprint (about 87 m x 67 m) that covers Bab El Khemis, on the ramparts.
WORKS = {"type": "Polygon", "coordinates": [[[-8.8758, 30.4783], [-8.8749, 30.4783], [-8.8749, 30.4789],
                                             [-8.8758, 30.4789], [-8.8758, 30.4783]]]}
# The gates span lon -8.89457..-8.87275, lat 30.46512..30.47960; this is that box plus about 100 m.
MEDINA = shapely.box(-8.8956, 30.4642, -8.8717, 30.4806)
# The north-east corner of the medina: its gates lie inside, the ramparts only partly.
NORTH_EAST = shapely.box(-8.8790, 30.4740, -8.8717, 30.4806)
NORTH_EAST_SITES = {"bab-derb-laafou", "bab-el-khemis", "bab-lahjer", "bab-tafelagt", "ramparts"}


def collection(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/geo+json"
    body = json.loads(response.data)
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"])
    return body


def slugs(body: dict) -> list[str]:
    return [f["properties"]["slug"] for f in body["features"]]


def by_slug(body: dict) -> dict[str, dict]:
    return {f["properties"]["slug"]: f["properties"] for f in body["features"]}


def geod_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def project(geometry, transformer: Transformer):
    """Return a shapely geometry with every coordinate put through a pyproj transformer."""
    return shapely.transform(geometry, lambda xy: numpy.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def utm_distance(footprint: dict, point: tuple[float, float]) -> float:
    """Distance in metres from a lon/lat footprint to a point, in UTM 29N (scale error < 0.05 % here)."""
    return project(shape(footprint), TO_UTM).distance(shapely.Point(TO_UTM.transform(*point)))


def utm_area(geometry) -> float:
    return project(geometry, TO_UTM).area


def error(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"code", "description"}
    assert body["code"] and body["description"]
    return body


def write_footprint(tmp_path: Path, fmt: str, geometry: dict = WORKS) -> Path:
    """Write the footprint with geopandas: GeoPackage and Shapefile in Merchich (EPSG:26192), KML and GeoJSON in lon/lat."""
    frame = gpd.GeoDataFrame({"name": ["works"]}, geometry=[shape(geometry)], crs="EPSG:4326")
    if fmt == "gpkg":
        path = tmp_path / "works.gpkg"
        frame.to_crs("EPSG:26192").to_file(path, driver="GPKG")
    elif fmt == "kml":
        path = tmp_path / "works.kml"
        frame.to_file(path, driver="KML")
    elif fmt == "geojson":
        path = tmp_path / "works.geojson"
        frame.to_file(path, driver="GeoJSON")
    else:
        folder = tmp_path / "shp"
        folder.mkdir()
        frame.to_crs("EPSG:26192").to_file(folder / "works.shp", driver="ESRI Shapefile")
        path = tmp_path / "works.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in sorted(folder.iterdir()):
                zf.write(part, part.name)
    return path


def upload(client, url: str, path: Path, **fields):
    with path.open("rb") as fh:
        return client.post(url, data={"file": (fh, path.name), **fields}, content_type="multipart/form-data")


# ---- near ----

@pytest.mark.parametrize("radius, expected", [
    (100, ["bab-el-khemis", "ramparts"]),
    (300, ["bab-el-khemis", "ramparts", "bab-tafelagt", "bab-derb-laafou"]),
])
def test_near_bab_el_khemis_lists_exactly_the_sites_within_the_radius_nearest_first(client, radius, expected):
    body = collection(client.get(f"/api/near?lon={BAB_EL_KHEMIS[0]}&lat={BAB_EL_KHEMIS[1]}&radius={radius}"))
    assert slugs(body) == expected
    props = by_slug(body)
    assert props["bab-el-khemis"]["distance_m"] == 0
    assert props["ramparts"]["distance_m"] == 0  # the outline runs through the gate
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances)
    for slug in expected:
        if slug in SEED_POINTS:
            assert props[slug]["distance_m"] == pytest.approx(geod_m(BAB_EL_KHEMIS, SEED_POINTS[slug]), abs=0.5)
        assert props[slug]["distance_m"] <= radius


def test_near_every_seeded_point_within_the_radius_and_no_other(client):
    here, radius = (-8.8770, 30.4710), 400
    body = collection(client.get(f"/api/near?lon={here[0]}&lat={here[1]}&radius={radius}"))
    expected = {slug for slug, p in SEED_POINTS.items() if geod_m(here, p) <= radius}
    found = {f["properties"]["slug"] for f in body["features"] if f["geometry"]["type"] == "Point"}
    assert found == expected and len(expected) >= 5
    for f in body["features"]:
        if f["geometry"]["type"] == "Point":
            assert f["properties"]["distance_m"] == pytest.approx(geod_m(here, SEED_POINTS[f["id"]]), abs=0.5)


def test_near_other_layers(client):
    body = collection(client.get("/api/near?lon=-8.87&lat=30.47&radius=5000&layer=projects"))
    assert body["numberReturned"] > 0
    assert all("title_en" in f["properties"] and "distance_m" in f["properties"] for f in body["features"])
    body = collection(client.get("/api/near?lon=-8.87&lat=30.47&radius=1&layer=associations"))
    assert body["features"] == []


# ---- within ----

def test_within_the_medina_finds_exactly_the_medina_sites_all_wholly_inside(client):
    body = collection(client.post("/api/within", json=mapping(MEDINA)))
    assert set(slugs(body)) == MEDINA_SITES
    assert all(f["properties"]["inside"] is True for f in body["features"])


def test_within_a_corner_flags_what_lies_only_partly_inside(client):
    body = collection(client.post("/api/within", json={"type": "Feature", "properties": {},
                                                       "geometry": mapping(NORTH_EAST)}))
    inside = {slug: p["inside"] for slug, p in by_slug(body).items()}
    assert inside == {slug: slug != "ramparts" for slug in NORTH_EAST_SITES}


def test_within_takes_a_feature_collection_and_a_layer(client):
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                      "geometry": mapping(MEDINA)}]}
    assert set(slugs(collection(client.post("/api/within", json=doc)))) == MEDINA_SITES
    body = collection(client.post("/api/within", json={"geometry": mapping(MEDINA), "layer": "projects"}))
    assert body["numberReturned"] > 0 and all("title_en" in f["properties"] for f in body["features"])


# ---- screening ----

def test_screening_of_works_at_bab_el_khemis_touches_its_protection_zone(client):
    body = collection(client.post("/api/screening", json=WORKS))
    assert body["distance_m"] == 200
    area = body["footprint_area_m2"]
    assert area == pytest.approx(utm_area(shape(WORKS)), rel=0.002)
    assert shape(body["footprint"]).equals(shape(WORKS))
    assert slugs(body) == ["bab-el-khemis", "ramparts"]
    gate = by_slug(body)["bab-el-khemis"]
    assert gate["protection_status"] == "classified" and gate["buffer_m"] == 200
    assert gate["zone_touched"] is True
    assert gate["distance_m"] == 0  # the footprint covers the gate
    assert 0 < gate["overlap_m2"] <= area + 0.5
    assert gate["overlap_m2"] == pytest.approx(area, abs=1)  # the footprint lies wholly in the 200 m zone
    assert {"condition", "name_en", "url", "category"} <= gate.keys()


def test_screening_distance_adds_the_sites_beyond_their_zones_and_changes_the_list(client):
    near = collection(client.post("/api/screening", json={"geometry": WORKS, "distance": 400}))
    assert near["distance_m"] == 400
    assert slugs(near) == ["bab-el-khemis", "ramparts", "bab-tafelagt", "bab-derb-laafou", "bab-lahjer"]
    props = by_slug(near)
    for slug in ("bab-tafelagt", "bab-derb-laafou", "bab-lahjer"):
        assert props[slug]["zone_touched"] is False
        assert props[slug]["overlap_m2"] == 0
        assert 200 < props[slug]["distance_m"] <= 400
        assert props[slug]["distance_m"] == pytest.approx(utm_distance(WORKS, SEED_POINTS[slug]), abs=0.5)
    expected = {slug for slug, p in SEED_POINTS.items() if utm_distance(WORKS, p) <= 400} | {"ramparts"}
    assert set(slugs(near)) == expected
    smaller = collection(client.post("/api/screening", json={"geometry": WORKS, "distance": 250}))
    assert slugs(smaller) == ["bab-el-khemis", "ramparts", "bab-tafelagt", "bab-derb-laafou"]


def test_screening_a_distance_below_the_buffer_still_reports_touched_zones(client):
    body = collection(client.post("/api/screening", json={"geometry": WORKS, "distance": 0}))
    assert slugs(body) == ["bab-el-khemis", "ramparts"]
    assert all(f["properties"]["zone_touched"] for f in body["features"])


def test_screening_a_point_or_a_line(client):
    point = collection(client.post("/api/screening", json={"type": "Point", "coordinates": [-8.8760, 30.4790]}))
    assert set(slugs(point)) == {"bab-el-khemis", "ramparts", "bab-tafelagt"}
    assert all(f["properties"]["zone_touched"] for f in point["features"])
    assert point["footprint_area_m2"] == 0
    assert all(f["properties"]["overlap_m2"] == 0 for f in point["features"])
    line = collection(client.post("/api/screening", json={"type": "LineString",
                                                          "coordinates": [[-8.86, 30.50], [-8.85, 30.51]]}))
    assert line["features"] == []


def test_screening_overlap_with_a_protected_area_polygon_is_the_area_inside_it(client, session):
    # A protected area has no buffer: its polygon is the zone, and the overlap is the part of the works inside it.
    zone = shapely.box(-8.8753, 30.4780, -8.8740, 30.4795)
    make_site(session, slug="test-protected-garden", kind="environment", category="protected_area",
              protection_status="protected_area", geom=f"SRID=4326;{zone.wkt}")
    body = collection(client.post("/api/screening", json=WORKS))
    site = by_slug(body)["test-protected-garden"]
    assert site["buffer_m"] == 0 and site["zone_touched"] is True and site["distance_m"] == 0
    expected = utm_area(zone.intersection(shape(WORKS)))
    assert site["overlap_m2"] == pytest.approx(expected, rel=0.01)
    assert 0 < site["overlap_m2"] < body["footprint_area_m2"]


# ---- summary ----

def test_summary_of_the_medina_equals_sql_counts(client, session):
    response = client.post("/api/summary", json=mapping(MEDINA))
    assert response.status_code == 200, response.text
    summary = response.get_json()
    assert set(summary) == {"total", "kind", "category", "condition", "protection_status", "area_m2"}
    assert summary["total"] == len(MEDINA_SITES)
    for column in ("category", "kind", "condition", "protection_status"):
        rows = session.execute(text(
            f"SELECT {column}, count(*) FROM sites WHERE publication_status = 'published' "
            "AND ST_Intersects(geom, ST_GeomFromText(:wkt, 4326)) GROUP BY 1"), {"wkt": MEDINA.wkt})
        assert summary[column] == dict(rows.all()), column
    assert summary["category"]["gate"] == 13
    assert summary["area_m2"] == pytest.approx(utm_area(MEDINA), rel=0.002)


# ---- uploads ----

@pytest.mark.parametrize("fmt", ["gpkg", "kml", "shp", "geojson"])
def test_an_uploaded_footprint_gives_the_same_screening_as_the_json_body(client, tmp_path, fmt):
    expected = collection(client.post("/api/screening", json={"geometry": WORKS, "distance": 400}))
    got = collection(upload(client, "/api/screening", write_footprint(tmp_path, fmt), distance="400"))
    assert slugs(got) == slugs(expected)
    assert got["distance_m"] == 400
    assert got["footprint_area_m2"] == pytest.approx(expected["footprint_area_m2"], abs=0.5)
    assert shape(got["footprint"]).normalize().equals_exact(shape(WORKS).normalize(), 1e-7)  # a ring may turn
    for slug, props in by_slug(expected).items():
        mine = by_slug(got)[slug]
        assert mine["zone_touched"] == props["zone_touched"]
        assert mine["distance_m"] == pytest.approx(props["distance_m"], abs=0.2)
        assert mine["overlap_m2"] == pytest.approx(props["overlap_m2"], abs=1)


def test_an_uploaded_area_answers_within_and_summary(client, tmp_path):
    path = write_footprint(tmp_path, "gpkg", mapping(MEDINA))
    assert set(slugs(collection(upload(client, "/api/within", path)))) == MEDINA_SITES
    assert upload(client, "/api/summary", path).get_json()["total"] == len(MEDINA_SITES)
    body = collection(upload(client, "/api/within", path, layer="projects"))
    assert all("title_en" in f["properties"] for f in body["features"])


# ---- downloads ----

@pytest.mark.parametrize("url, method, payload", [
    ("/api/screening", "post", {"geometry": WORKS, "distance": 400}),
    ("/api/within", "post", mapping(MEDINA)),
    (f"/api/near?lon={BAB_EL_KHEMIS[0]}&lat={BAB_EL_KHEMIS[1]}&radius=300", "get", None),
])
def test_a_geopackage_download_in_merchich_has_the_same_slugs_and_pyproj_coordinates(client, tmp_path, url,
                                                                                    method, payload):
    call = getattr(client, method)
    kwargs = {"json": payload} if payload is not None else {}
    answer = collection(call(url, **kwargs))
    joiner = "&" if "?" in url else "?"
    response = call(f"{url}{joiner}format=gpkg&crs=EPSG:26192", **kwargs)
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/geopackage+sqlite3"
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "answer.gpkg"
    path.write_bytes(response.data)
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 26192
    assert list(frame["slug"]) == slugs(answer)
    for feature, geom in zip(answer["features"], frame.geometry):
        expected = project(shape(feature["geometry"]), TO_MERCHICH)
        assert geom.equals_exact(expected, 0.01), feature["id"]
    if "inside" in frame:
        assert list(frame["inside"].astype(bool)) == [f["properties"]["inside"] for f in answer["features"]]


@pytest.mark.parametrize("fmt", ["geojson", "shp", "csv", "kml"])
@pytest.mark.parametrize("crs", ["CRS84", "EPSG:26192"])
def test_every_download_format_reads_back_with_the_same_slugs(client, tmp_path, fmt, crs):
    answer = collection(client.post("/api/screening", json={"geometry": WORKS, "distance": 400}))
    response = client.post(f"/api/screening?format={fmt}&crs={crs}", json={"geometry": WORKS, "distance": 400})
    assert response.status_code == 200, response.text
    name = response.headers["Content-Disposition"].split('filename="')[1].rstrip('"')
    path = tmp_path / name
    path.write_bytes(response.data)
    if fmt == "shp":
        with zipfile.ZipFile(path) as zf:
            assert {Path(n).suffix for n in zf.namelist()} >= {".shp", ".dbf", ".prj", ".cpg"}
        source = f"/vsizip/{path}"
        frames = [pyogrio.read_dataframe(source, layer=layer) for layer, _ in pyogrio.list_layers(source)]
        found = [s for frame in frames for s in frame["slug"]]
    elif fmt == "csv":
        found = list(pd.read_csv(path)["slug"])
    else:
        found = list(pyogrio.read_dataframe(path)["slug"])
    assert sorted(found) == sorted(slugs(answer))


def test_an_empty_answer_still_downloads(client, tmp_path):
    response = client.get("/api/near?lon=-8.86&lat=30.50&radius=1&format=gpkg")
    assert response.status_code == 200
    path = tmp_path / "empty.gpkg"
    path.write_bytes(response.data)
    assert len(pyogrio.read_dataframe(path)) == 0


# ---- bad input ----

BOWTIE = {"type": "Polygon", "coordinates": [[[-8.88, 30.46], [-8.87, 30.47], [-8.88, 30.47], [-8.87, 30.46],
                                              [-8.88, 30.46]]]}
PARIS = {"type": "Polygon", "coordinates": [[[2.30, 48.85], [2.35, 48.85], [2.35, 48.87], [2.30, 48.85]]]}


@pytest.mark.parametrize("url, kwargs, code", [
    ("/api/within", {"data": "not json at all", "content_type": "application/json"}, "InvalidParameterValue"),
    ("/api/screening", {"data": b""}, "InvalidParameterValue"),
    ("/api/within", {"json": {"type": "FeatureCollection", "features": []}}, "InvalidGeometry"),
    ("/api/within", {"json": BOWTIE}, "InvalidGeometry"),
    ("/api/screening", {"json": {"type": "Polygon", "coordinates": []}}, "InvalidGeometry"),
    ("/api/within", {"json": {"type": "Point", "coordinates": [-8.87, 30.47]}}, "InvalidGeometry"),
    ("/api/summary", {"json": {"type": "LineString", "coordinates": [[-8.87, 30.47], [-8.86, 30.48]]}},
     "InvalidGeometry"),
    ("/api/screening", {"json": PARIS}, "InvalidGeometry"),
    ("/api/screening", {"json": {"type": "Hexagon", "coordinates": [1, 2]}}, "InvalidGeometry"),
    ("/api/screening", {"json": [1, 2, 3]}, "InvalidParameterValue"),
    ("/api/screening", {"json": {"geometry": WORKS, "distance": -5}}, "InvalidParameterValue"),
    ("/api/screening", {"json": {"geometry": WORKS, "distance": "far"}}, "InvalidParameterValue"),
    ("/api/screening", {"json": {"geometry": WORKS, "distance": 50_001}}, "InvalidParameterValue"),
    ("/api/within", {"json": {"geometry": mapping(MEDINA), "layer": "castles"}}, "InvalidParameterValue"),
    ("/api/screening?format=docx", {"json": WORKS}, "InvalidParameterValue"),
    ("/api/screening?format=gpkg&crs=EPSG:2154", {"json": WORKS}, "InvalidParameterValue"),
])
def test_bad_bodies_are_refused_with_a_json_400(client, url, kwargs, code):
    assert error(client.post(url, **kwargs))["code"] == code


@pytest.mark.parametrize("query", [
    "lat=30.47&radius=100",  # lon missing
    "lon=-8.87&radius=100",  # lat missing
    "lon=-8.87&lat=30.47&radius=-1",
    "lon=-8.87&lat=30.47&radius=50001",
    "lon=-8.87&lat=30.47&radius=nan",
    "lon=east&lat=30.47",
    "lon=-8.87&lat=30.47&layer=castles",
    "lon=-8.87&lat=30.47&format=docx",
    "lon=-8.87&lat=30.47&colour=red",
    "lon=2.35&lat=48.85",  # Paris
    "lon=30.47&lat=-8.87",  # swapped
])
def test_bad_near_queries_are_refused_with_a_json_400(client, query):
    error(client.get(f"/api/near?{query}"))


@pytest.mark.parametrize("name, content", [
    ("works.gpkg", os.urandom(4096)),
    ("works.zip", b"PK\x03\x04 not really a zip"),
    ("works.geojson", b'{"type": "FeatureCollection", "features": []}'),
    ("works.txt", b"POLYGON ((-8.87 30.47, -8.86 30.47, -8.86 30.48, -8.87 30.47))"),
    ("works", b"{}"),
])
def test_bad_uploads_are_refused_with_a_json_400_that_names_the_file_not_the_server_path(client, name, content):
    response = client.post("/api/screening", data={"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
    body = error(response)
    assert tempfile.gettempdir() not in body["description"]


def test_a_shapefile_without_prj_is_refused(client, tmp_path):
    path = write_footprint(tmp_path, "shp")
    bare = tmp_path / "bare.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bare, "w") as dst:
        for name in src.namelist():
            if not name.endswith(".prj"):
                dst.writestr(name, src.read(name))
    assert "CRS" in error(upload(client, "/api/screening", bare))["description"]


def test_a_polygon_of_more_than_10000_vertices_is_refused_with_413(client):
    n = 10_001
    ring = [[-8.876 + 0.001 * math.cos(2 * math.pi * i / n), 30.478 + 0.001 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]
    body = error(client.post("/api/screening", json={"type": "Polygon", "coordinates": [ring + [ring[0]]]}), 413)
    assert body["code"] == "PayloadTooLarge" and "10000" in body["description"]


def test_an_upload_over_20_mb_is_refused_with_a_json_413(client):
    big = io.BytesIO(b" " * (20 * 1024 * 1024 + 1))
    response = client.post("/api/screening", data={"file": (big, "works.geojson")}, content_type="multipart/form-data")
    error(response, 413)
    body = error(client.post("/api/within", data=b" " * (21 * 1024 * 1024), content_type="application/json"), 413)
    assert body["code"] == "PayloadTooLarge"  # the same code as for a geometry too large


def test_questions_change_nothing_in_the_database(client, session, tmp_path):
    def fingerprint():
        digest = session.scalar(text("SELECT md5(string_agg(slug || ST_AsText(geom) || updated_at::text, ',' "
                                     "ORDER BY slug)) FROM sites"))
        return queries.counts(session), digest

    before = fingerprint()
    client.get(f"/api/near?lon={BAB_EL_KHEMIS[0]}&lat={BAB_EL_KHEMIS[1]}&radius=300")
    client.post("/api/within", json=mapping(MEDINA))
    client.post("/api/screening", json={"geometry": WORKS, "distance": 400})
    client.post("/api/screening?format=gpkg&crs=EPSG:26192", json=WORKS)
    client.post("/api/summary", json=mapping(MEDINA))
    upload(client, "/api/screening", write_footprint(tmp_path, "gpkg"))
    client.post("/api/screening/report", data={"geometry": json.dumps(WORKS), "distance": "300"})
    client.post("/api/within", json=BOWTIE)
    assert fingerprint() == before


# ---- the printable report ----

def test_the_report_form_page(client):
    response = client.get("/api/screening/report")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'method="post"' in page
    assert 'type="file"' in page and 'name="file"' in page
    assert 'name="geometry"' in page and 'name="distance"' in page


def test_the_report_lays_out_the_screening_with_escaped_names(client, session):
    raw = '<script>alert("x")</script> Gate & Co'
    make_site(session, slug="test-escaped-gate", name_en=raw, protection_status="classified",
              geom="SRID=4326;POINT(-8.8752 30.4785)")
    response = client.post("/api/screening/report", data={"geometry": json.dumps(WORKS), "distance": "300"})
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Gate &amp; Co" in page
    for slug in ("bab-el-khemis", "ramparts", "test-escaped-gate", "bab-tafelagt", "bab-derb-laafou"):
        assert f'data-slug="{slug}"' in page
    assert 'data-slug="bab-lahjer"' not in page  # 395 m away: beyond the 300 m asked
    assert '<dd class="report-touched">3</dd>' in page
    assert '<dd class="report-within">5</dd>' in page
    assert "zone touched" in page and "300 m" in page
    assert "@media print" in (client.get("/static/site.css").get_data(as_text=True))


def test_the_report_takes_an_uploaded_file(client, tmp_path):
    response = upload(client, "/api/screening/report", write_footprint(tmp_path, "kml"), distance="200", geometry="")
    assert response.status_code == 200, response.text
    page = response.get_data(as_text=True)
    assert 'data-slug="bab-el-khemis"' in page and 'data-slug="bab-tafelagt"' not in page


def test_the_report_of_a_bad_footprint_is_a_400(client):
    error(client.post("/api/screening/report", data={"geometry": json.dumps(BOWTIE)}))


# ---- the planner page ----

def test_the_planner_page_links_only_local_scripts_and_has_its_controls(client):
    response = client.get("/planner")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for needle in ('id="planner-file"', 'name="question" value="screening"', 'id="planner-distance"',
                   'value="EPSG:26192"', 'data-format="shp"', 'id="planner-report"', "HeritagePlanner.init",
                   "L.Control.Draw", "/vendor/leaflet-draw/leaflet.draw.js", 'href="/planner"'):
        assert needle in page, needle
    # Scripts and stylesheets (a <link rel="alternate" hreflang> names the page in another language).
    links = re.findall(r'<(?:script|link(?! rel="alternate"))[^>]+(?:src|href)="([^"]+)"', page)
    assert links and all(u.startswith("/static/") for u in links), links


# ---- hostile uploads: GDAL must never open what is not the format it claims ----

VRT = (b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/http://127.0.0.1:9/secret'
       b'</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>')


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("name, content", [
    ("works.json", VRT),
    ("works.kml", VRT),
    ("works.gpkg", VRT),
    ("works.zip", zipped({"works.vrt": VRT})),
    ("works.zip", zipped({"works.shp": b"", "../works.vrt": VRT})),
    ("works.kml", b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]><kml>&x;</kml>'),
])
def test_a_file_that_is_not_what_its_name_says_is_refused_before_gdal_opens_it(client, name, content):
    response = client.post("/api/screening", data={"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
    body = error(response)
    assert "/vsicurl" not in body["description"] and "passwd" not in body["description"]


def test_many_small_shapes_are_counted_before_they_are_merged(client):
    squares = [{"type": "Feature", "properties": {}, "geometry": mapping(box(-8.88 + i * 1e-5, 30.47, -8.88 + i * 1e-5 + 5e-6,
                                                                            30.470005))} for i in range(2_600)]
    body = error(client.post("/api/summary", json={"type": "FeatureCollection", "features": squares}), 413)
    assert "vertices in all" in body["description"]  # counted before the costly union


def test_a_geojson_upload_with_an_old_style_crs_member_is_reprojected(client, tmp_path):
    to_merchich = Transformer.from_crs("EPSG:4326", "EPSG:26192", always_xy=True)
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:26192"}},
           "features": [{"type": "Feature", "properties": {}, "geometry": mapping(project(shape(WORKS), to_merchich))}]}
    path = tmp_path / "works.geojson"
    path.write_text(json.dumps(doc))
    assert slugs(collection(upload(client, "/api/screening", path))) == slugs(collection(
        client.post("/api/screening", json=WORKS)))
