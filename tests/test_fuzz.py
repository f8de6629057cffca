"""Hostile input on every public parameter, body and upload (Hypothesis): never a 500, nothing stored changed.

CI runs the "ci" profile: derandomized (the same examples every run) and modest. For a longer hunt:
`HERITAGE_MAP_FUZZ=long pytest tests/test_fuzz.py` (random, many more examples; replay one with --hypothesis-seed=N).
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from heritage_map import create_app
from heritage_map.catalogue.models import Base

settings.register_profile("ci", max_examples=40, derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("long", max_examples=1000, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HERITAGE_MAP_FUZZ", "ci"))

TABLES = [t.name for t in Base.metadata.sorted_tables] + ["layer_versions"]
COLLECTIONS = ["heritage-sites", "environmental-sites", "ramparts", "projects", "associations"]

# Text that has broken parsers before: NUL, bidi overrides, zero-width joiners, homoglyphs, SQL and HTML,
# numbers PostgreSQL or Python cannot hold, paths out of a folder.
NASTY = ["", " ", "\x00", "a\x00b", "\u202etxet", "\u200d", "\ufeff", "bаb-el-kasbah", "ｂａｂ", "'", '"', "\\",
         "'; DROP TABLE sites; --", "<script>alert(1)</script>", "%", "%00", "..", "../../etc/passwd", "1e309",
         "-1e309", "nan", "NaN", "inf", "-0", "9" * 400, "0x10", "1_000", "٣", "true", "null", "[]", "{}",
         "EPSG:4326", "EPSG:0", "EPSG:99999999", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
         "http://www.opengis.net/def/crs/EPSG/0/3857", "urn:ogc:def:crs:EPSG::4326", "(" * 2000]
anytext = st.one_of(st.text(max_size=30), st.sampled_from(NASTY))
number = st.one_of(st.floats().map(repr), st.integers(min_value=-10**30, max_value=10**30).map(str),
                   st.sampled_from(["-8.9", "30.4", "-8.8", "30.5", "180", "-90", "1e308"]), anytext)
bbox = st.one_of(st.lists(number, max_size=7).map(",".join), anytext)
crs_value = st.one_of(st.sampled_from(["http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                                       "http://www.opengis.net/def/crs/EPSG/0/4326",
                                       "http://www.opengis.net/def/crs/EPSG/0/3857",
                                       "http://www.opengis.net/def/crs/EPSG/0/26192"]), anytext)
# CQL2 text from its own words, so that most examples get past the tokenizer and into the parser and SQL.
WORDS = ["name_en", "category", "slug", "protection_buffer_m", "updated_at", "themes", "geometry", "start_date",
         "=", "<>", "<", ">=", "AND", "OR", "NOT", "(", ")", ",", "LIKE", "IN", "BETWEEN", "IS", "NULL", "+", "-",
         "*", "/", "%", "div", "^", "'gate'", "'bab%'", "0", "1e400", "-2", "TRUE", "CASEI", "ACCENTI",
         "S_INTERSECTS", "S_DWITHIN", "S_WITHIN", "BBOX(-9,30,-8,31)", "POINT(-8.87 30.47)",
         "POLYGON((0 0,1 0,1 1,0 0))", "LINESTRING(1e308 0,0 1e308)", "GEOMETRYCOLLECTION()", "T_AFTER",
         "T_DURING", "INTERVAL('..','..')", "INTERVAL(start_date,end_date)", "DATE('2020-02-30')",
         "TIMESTAMP('2020-01-01T00:00:00Z')", "A_CONTAINS", "('heritage')", "Buffer"]
cql_text = st.one_of(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join), anytext,
                     st.integers(1, 50_000).map(lambda n: "NOT " * n + "TRUE"),
                     st.integers(1, 50_000).map(lambda n: "(" * n + "TRUE" + ")" * n))
OPS = ["and", "or", "not", "=", "<", "like", "in", "between", "isNull", "casei", "accenti", "s_intersects",
       "s_dwithin", "t_after", "a_contains", "+", "^", "div", "bogus"]
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), anytext,
                      st.sampled_from(["name_en", "category", "geometry", "updated_at", "themes"])
                      .map(lambda p: {"property": p}),
                      st.just({"type": "Point", "coordinates": [-8.87, 30.47]}), st.just({"bbox": [-9, 30, -8, 31]}),
                      st.just({"date": "2020-01-01"}), st.just({"interval": ["..", "2020-01-01"]}))
cql_json_doc = st.recursive(json_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=4),
    st.builds(lambda op, args: {"op": op, "args": args}, st.sampled_from(OPS), st.lists(kids, max_size=3)),
    st.dictionaries(st.sampled_from(["op", "args", "property", "x"]), kids, max_size=3)), max_leaves=15)
deep_json = st.integers(1, 200_000).map(lambda n: '{"op":"not","args":[' * n + "true" + "]}" * n)
cql_json = st.one_of(cql_json_doc.map(json.dumps), deep_json, anytext)

coordinate = st.one_of(st.floats(), st.integers(-10**400, 10**400), st.sampled_from([-8.87, 30.47, 1e308]))
position = st.lists(coordinate, min_size=0, max_size=4)
GEOMETRY_TYPES = ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection", "Feature", "FeatureCollection", "Circle", ""]
coordinates = st.recursive(position, lambda kids: st.lists(kids, max_size=5), max_leaves=30)
geojson = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(GEOMETRY_TYPES), "coordinates": coordinates}),
    st.fixed_dictionaries({"type": st.just("Feature"), "properties": st.none(),
                           "geometry": st.fixed_dictionaries({"type": st.sampled_from(GEOMETRY_TYPES),
                                                              "coordinates": coordinates})}),
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": coordinates,
                           "crs": st.fixed_dictionaries({"type": st.just("name"), "properties": st.fixed_dictionaries(
                               {"name": crs_value})})}),
    cql_json_doc)


def _json_body(doc) -> str:
    # Python's JSON writes NaN and Infinity, which Python's reader (the app's) takes: they must be refused too.
    return json.dumps(doc, allow_nan=True)


geojson_body = st.one_of(geojson.map(_json_body), anytext,
                         st.integers(1, 200_000).map(lambda n: '{"type":"Polygon","coordinates":' + "[" * n + "]" * n
                                                     + "}"))


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _zip_bomb() -> bytes:
    """A zip of Shapefile parts that unpacks to 256 MB of zeros (250 KB here)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("bomb.shp", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(256):
                member.write(block)
        zf.writestr("bomb.dbf", b"\0" * 100)
    return out.getvalue()


SQUARE = b'{"type":"Polygon","coordinates":[[[-8.88,30.46],[-8.86,30.46],[-8.86,30.48],[-8.88,30.48],[-8.88,30.46]]]}'
FILES = {
    "zip bomb": _zip_bomb(),
    "path traversal": _zip({"../../../tmp/evil.shp": b"x", "evil.dbf": b"x"}),
    "absolute path": _zip({"/etc/evil.shp": b"x"}),
    "backslashes": _zip({"..\\..\\evil.shp": b"x"}),
    "not a shapefile": _zip({"a.geojson": SQUARE}),
    "a shp of junk": _zip({"a.shp": b"\x00\x00\x27\x0a" + b"\xff" * 200, "a.shx": b"junk", "a.dbf": b"junk"}),
    "gif polyglot": b"GIF89a/*\x00\x00*/=" + SQUARE,
    "zip polyglot": SQUARE + _zip({"a.shp": b"x"}),
    "kml with entities": b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                         b"<kml><Placemark><name>&b;</name></Placemark></kml>",
    "kml pulling a file": b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]><kml>&x;</kml>',
    "vrt as kml": b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
                  b"</OGRVRTLayer></OGRVRTDataSource>",
    "kml of junk": b"<kml><Document><Placemark><Point><coordinates>1e999,nan</coordinates></Point></Placemark>"
                   b"</Document></kml>",
    "gpkg header only": b"SQLite format 3\x00" + b"\x00" * 200,
    "empty": b"",
    "square": SQUARE,
    "deep json": b'{"type":"Polygon","coordinates":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}
NAMES = ["area.geojson", "area.json", "area.kml", "area.gpkg", "area.zip", "area.shp", "area.csv", "../../area.zip",
         "..\\..\\area.kml", "/etc/passwd.geojson", "area.GEOJSON", "\u202egpj.zip", "", "a\x00.zip", "area.zip.exe"]
upload = st.tuples(st.one_of(st.sampled_from(sorted(FILES)).map(FILES.get), st.binary(max_size=2000)),
                   st.one_of(st.sampled_from(NAMES), anytext))


@pytest.fixture
def fuzz_client(app):
    """A client without rate limits (the fuzzer is one address asking thousands of questions) or CSRF."""
    fresh = create_app({**app.config, "RATE_LIMIT_QUESTIONS": "0", "RATE_LIMIT_EXPORTS": "0",
                        "RATE_LIMIT_UPLOADS": "0", "RATE_LIMIT_SIGN_IN": "0", "WTF_CSRF_ENABLED": False,
                        "PROPAGATE_EXCEPTIONS": False}, engine=app.extensions["heritage_map.engine"])
    fresh.extensions.update({k: v for k, v in app.extensions.items() if k.startswith("heritage_map.")})
    return fresh.test_client()


@pytest.fixture
def unchanged(connection):
    """Check that nothing stored changed while the test ran (its requests share the test's transaction)."""
    def fingerprint():
        return {t: connection.execute(text(f"SELECT count(*), md5(coalesce(string_agg(r::text, ',' ORDER BY "
                                           f"r::text), '')) FROM {t} r")).one() for t in TABLES}
    before = fingerprint()
    yield
    assert fingerprint() == before


def answered(response, *, json_body: bool = True) -> None:
    """Assert a response is no server error and, for the API, a JSON error a person can read."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if json_body and response.status_code >= 400:
        body = response.get_json()
        assert set(body) == {"code", "description"} and body["description"]


@given(cid=st.one_of(st.sampled_from(COLLECTIONS), anytext), bbox=bbox, bbox_crs=st.one_of(st.none(), crs_value),
       crs=st.one_of(st.none(), crs_value), limit=st.one_of(st.none(), number), sortby=st.one_of(
           st.none(), st.lists(st.sampled_from(["-updated_at", "+slug", "name_en", "geometry", "-", "+", "x"]),
                               max_size=4).map(",".join), anytext),
       datetime=st.one_of(st.none(), st.sampled_from(["2020-01-01", "../2020-01-01T00:00:00Z", "2020-13-01", "..",
                                                      "../..", "2020-01-01/2019-01-01"]), anytext),
       extra=st.dictionaries(st.sampled_from(["category", "kind", "sample", "themes", "status", "f", "cursor", "x",
                                              "filter-crs", "offset"]), anytext, max_size=3))
def test_ogc_items_parameters_never_fail_the_server(fuzz_client, unchanged, cid, bbox, bbox_crs, crs, limit, sortby,
                                                     datetime, extra):
    query = {k: v for k, v in {"bbox": bbox, "bbox-crs": bbox_crs, "crs": crs, "limit": limit, "sortby": sortby,
                               "datetime": datetime, **extra}.items() if v is not None and not (k == "f" and v)}
    answered(fuzz_client.get(f"/ogc/collections/{cid}/items", query_string=query))


@given(cid=st.sampled_from(COLLECTIONS), filter_=cql_text, lang=st.sampled_from([None, "cql2-text", "x"]),
       filter_crs=st.one_of(st.none(), crs_value))
def test_cql2_text_filters_never_fail_the_server(fuzz_client, unchanged, cid, filter_, lang, filter_crs):
    query = {"filter": filter_, "filter-lang": lang, "filter-crs": filter_crs}
    answered(fuzz_client.get(f"/ogc/collections/{cid}/items",
                             query_string={k: v for k, v in query.items() if v is not None}))


@given(cid=st.sampled_from(COLLECTIONS), filter_=cql_json)
def test_cql2_json_filters_never_fail_the_server(fuzz_client, unchanged, cid, filter_):
    answered(fuzz_client.get(f"/ogc/collections/{cid}/items", query_string={"filter": filter_,
                                                                             "filter-lang": "cql2-json"}))


@given(cid=st.sampled_from(COLLECTIONS), z=st.one_of(st.integers(-2, 40).map(str), anytext),
       y=st.one_of(st.integers(-2, 2**40).map(str), anytext), x=st.one_of(st.integers(-2, 2**40).map(str), anytext),
       filter_=st.one_of(st.none(), cql_text))
def test_tile_addresses_never_fail_the_server(fuzz_client, unchanged, cid, z, y, x, filter_):
    path = "/".join(part.replace("/", "%2F") or "0" for part in (z, y, x))
    response = fuzz_client.get(f"/ogc/collections/{cid}/tiles/WebMercatorQuad/{path}",
                               query_string={"filter": filter_} if filter_ else {})
    answered(response, json_body=response.status_code != 404)


@given(layer=st.sampled_from(["sites", "projects", "associations"]),
       query=st.dictionaries(st.sampled_from(["kind", "category", "status", "theme", "limit", "x", "f"]), anytext,
                             max_size=3))
def test_api_layer_parameters_never_fail_the_server(fuzz_client, unchanged, layer, query):
    answered(fuzz_client.get(f"/api/{layer}", query_string=query))


@given(lon=number, lat=number, radius=st.one_of(st.none(), number),
       layer=st.one_of(st.none(), st.sampled_from(["sites", "projects", "associations"]), anytext),
       fmt=st.one_of(st.none(), st.sampled_from(["json", "geojson", "gpkg", "shp", "csv", "kml"]), anytext),
       crs=st.one_of(st.none(), st.sampled_from(["EPSG:26192", "EPSG:3857", "EPSG:32629"]), anytext))
def test_near_parameters_never_fail_the_server(fuzz_client, unchanged, lon, lat, radius, layer, fmt, crs):
    query = {"lon": lon, "lat": lat, "radius": radius, "layer": layer, "format": fmt, "crs": crs}
    answered(fuzz_client.get("/api/near", query_string={k: v for k, v in query.items() if v is not None}))


@given(route=st.sampled_from(["/api/within", "/api/screening", "/api/summary"]), body=geojson_body,
       distance=st.one_of(st.none(), number))
def test_geojson_bodies_of_the_questions_never_fail_the_server(fuzz_client, unchanged, route, body, distance):
    answered(fuzz_client.post(route, data=body, content_type="application/json",
                              query_string={"distance": distance} if distance is not None else {}))


@given(route=st.sampled_from(["/api/within", "/api/screening", "/api/summary", "/api/screening/report"]),
       file=upload)
def test_uploaded_files_never_fail_the_server(fuzz_client, unchanged, route, file):
    data, name = file
    response = fuzz_client.post(route, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                                headers={"Accept": "application/json"})
    answered(response)


EXPECTED = {"zip bomb": (413, "zip bomb.zip would unpack to 256 MB; at most 100 MB are accepted"),
            "path traversal": (400, "path traversal.zip is not a zip of Shapefile parts"),
            "absolute path": (400, "absolute path.zip is not a zip of Shapefile parts"),
            "backslashes": (400, "backslashes.zip is not a zip of Shapefile parts"),
            "kml with entities": (400, "kml with entities.kml is not a KML document"),
            "kml pulling a file": (400, "kml pulling a file.kml is not a KML document"),
            "vrt as kml": (400, "vrt as kml.kml is not a KML document"),
            "zip polyglot": (400, "zip polyglot.zip: cannot read the file"),  # a zip after JSON is a zip
            "gpkg header only": (400, None), "gif polyglot": (400, "the body is not valid JSON"),
            "deep json": (400, "the JSON is nested deeper than 16 levels"), "square": (200, None)}
SUFFIX = {"zip bomb": ".zip", "path traversal": ".zip", "absolute path": ".zip", "backslashes": ".zip",
          "zip polyglot": ".zip", "gpkg header only": ".gpkg", "gif polyglot": ".geojson", "deep json": ".geojson",
          "square": ".geojson"}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_hostile_file_is_refused_saying_why(fuzz_client, unchanged, kind):
    name = kind + SUFFIX.get(kind, ".kml")
    response = fuzz_client.post("/api/screening", data={"file": (io.BytesIO(FILES[kind]), name)},
                                content_type="multipart/form-data")
    status, message = EXPECTED[kind]
    assert response.status_code == status, response.get_data(as_text=True)
    if message:
        assert response.get_json()["description"].startswith(message)


@given(collection=st.one_of(st.sampled_from(["sites", "ramparts", "projects"]), anytext),
       fmt=st.one_of(st.none(), st.sampled_from(["geojson", "gpkg", "shp", "csv", "kml"]), anytext),
       crs=st.one_of(st.none(), st.sampled_from(["EPSG:26192", "EPSG:4326"]), anytext))
def test_export_parameters_never_fail_the_server(fuzz_client, unchanged, collection, fmt, crs):
    query = {k: v for k, v in {"format": fmt, "crs": crs}.items() if v is not None}
    response = fuzz_client.get(f"/api/export/{collection.replace('/', '%2F') or 'x'}", query_string=query)
    answered(response, json_body=response.status_code != 404 or "/" not in collection)


@given(email=anytext, password=anytext, next_=st.one_of(st.none(), anytext,
                                                         st.sampled_from(["//evil.example", "/\\evil", "javascript:x"])))
def test_sign_in_form_fields_never_fail_the_server(fuzz_client, unchanged, email, password, next_):
    response = fuzz_client.post("/sign-in", data={"email": email, "password": password},
                                query_string={"next": next_} if next_ is not None else {},
                                headers={"Accept": "text/html"})
    assert response.status_code < 500
    if response.status_code in (301, 302, 303):
        assert not response.headers["Location"].startswith(("//", "javascript:", "http"))
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
