"""OGC API – Features at /ogc: the landing page to the features, with exact result sets from the seed and no 500s."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from openapi_spec_validator import validate
from pyproj import Transformer
from sqlalchemy import event, text

from factories import make_site
from seed_facts import BAB_EL_KHEMIS as KHEMIS, GATES, MEDINA_BOX, MEDINA_SITES as MEDINA

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
ITEMS = "/ogc/collections/heritage-sites/items"
VERSIONS_READ = "SELECT layer, version"  # freshness.validators: the layers' versions read alone
HERITAGE = MEDINA | {"claudio-bravo-museum", "tioute-kasbah"}
POLYGON = "POLYGON((-8.90 30.46, -8.86 30.46, -8.86 30.485, -8.90 30.485, -8.90 30.46))"
COLLECTIONS = ["heritage-sites", "environmental-sites", "ramparts", "projects", "associations"]
CONFORMANCE = {"ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
               "ogcapi-features-1/1.0/conf/html", "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-2/1.0/conf/crs",
               "ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
               "ogcapi-features-3/1.0/conf/queryables", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json",
               *(f"cql2/1.0/conf/{name}" for name in (
                   "basic-cql2", "advanced-comparison-operators", "case-insensitive-comparison",
                   "accent-insensitive-comparison", "basic-spatial-functions", "basic-spatial-functions-plus",
                   "spatial-functions", "temporal-functions", "array-functions", "property-property",
                   "arithmetic"))}


def get_json(client, path: str, status: int = 200) -> dict:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.mimetype in ("application/json", "application/geo+json", "application/schema+json")
    return response.get_json(force=True)


def slugs(client, query: str, collection: str = "heritage-sites") -> set[str]:
    body = get_json(client, f"/ogc/collections/{collection}/items?limit=1000&{query}")
    assert body["numberReturned"] == len(body["features"]) == body["numberMatched"]
    return {f["id"] for f in body["features"]}


def error(client, path: str, status: int = 400) -> str:
    body = get_json(client, path, status)
    assert body["code"] and body["description"], body
    return body["description"]


def rel(body: dict, name: str) -> str | None:
    return next((link["href"] for link in body["links"] if link["rel"] == name), None)


def site_count(session) -> int:
    return session.execute(text("SELECT count(*) FROM sites")).scalar_one()


def cql2_json(expression: dict) -> str:
    return "filter-lang=cql2-json&filter=" + quote(json.dumps(expression))


@pytest.fixture
def dated(session):
    """Bab Sedra and the Grand Mosque, last updated on known past dates (the client sees the test's transaction)."""
    for slug, when in (("bab-sedra", "2001-02-03T04:05:06Z"), ("grand-mosque", "2002-06-01T00:00:00Z")):
        session.execute(text("UPDATE sites SET updated_at = :when WHERE slug = :slug"), {"when": when, "slug": slug})


def projected(epsg: int, lon: float, lat: float) -> tuple[float, float]:
    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)


def projected_box(epsg: int) -> str:
    """Return the box in EPSG:`epsg` that encloses the medina box's four corners."""
    x1, y1, x2, y2 = MEDINA_BOX
    xs, ys = zip(*(projected(epsg, x, y) for x in (x1, x2) for y in (y1, y2)))
    return f"{min(xs)},{min(ys)},{max(xs)},{max(ys)}"


# The service: landing page, conformance, API definition, collections, queryables, content negotiation.

@pytest.mark.parametrize("name", ["self", "alternate", "service-desc", "service-doc", "conformance", "data"])
def test_every_landing_page_link_resolves(client, name):
    href = rel(get_json(client, "/ogc/"), name)
    assert href and client.get(href).status_code == 200


def test_conformance_lists_the_classes_implemented(client):
    conforms = {uri.split("/spec/")[-1] for uri in get_json(client, "/ogc/conformance")["conformsTo"]}
    assert CONFORMANCE <= conforms, CONFORMANCE - conforms
    assert "cql2/1.0/conf/functions" not in conforms  # it needs a /functions resource; we offer no functions


def test_the_api_definition_is_a_valid_openapi_3_document_and_renders_as_html(client):
    response = client.get("/ogc/api")
    assert response.mimetype == "application/vnd.oai.openapi+json"
    doc = response.get_json(force=True)
    validate(doc)
    assert doc["openapi"].startswith("3.0")
    assert "larger values are clamped to 10,000" in doc["components"]["parameters"]["limit"]["description"]
    # Each collection's property filters are listed where clients such as GDAL look for them.
    listed = doc["paths"]["/collections/heritage-sites/items"]["get"]["parameters"]
    assert {"category", "sample", "bbox"} <= {p.get("name", p.get("$ref", "").split("/")[-1]) for p in listed}
    html = client.get("/ogc/api?f=html")
    assert html.status_code == 200 and html.mimetype == "text/html" and "/collections/{collectionId}/items" in html.text


def test_the_collections_are_exactly_the_five_layers_each_with_items_links(client):
    body = get_json(client, "/ogc/collections")
    assert [c["id"] for c in body["collections"]] == COLLECTIONS
    for c in body["collections"]:
        links = {link["type"]: link["href"] for link in c["links"] if link["rel"] == "items"}
        assert links.keys() == {"application/geo+json", "text/html"}, c["id"]
        assert all(client.get(href).status_code == 200 for href in links.values())


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_each_collection_and_its_queryables_render_as_json_and_html(client, collection):
    assert get_json(client, f"/ogc/collections/{collection}")["id"] == collection
    queryables = get_json(client, f"/ogc/collections/{collection}/queryables")
    assert queryables["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    for resource in ("", "/queryables"):
        html = client.get(f"/ogc/collections/{collection}{resource}?f=html")
        assert html.status_code == 200 and html.mimetype == "text/html"


def test_queryables_are_a_json_schema_with_enums(client):
    response = client.get("/ogc/collections/heritage-sites/queryables")
    assert response.mimetype == "application/schema+json"
    schema = response.get_json(force=True)
    assert schema["$schema"].startswith("https://json-schema.org/") and schema["type"] == "object"
    assert "gate" in schema["properties"]["category"]["enum"]
    assert schema["properties"]["updated_at"] == {"title": "updated_at", "type": "string", "format": "date-time"}


@pytest.mark.parametrize("collection", ["projects", "associations"])
def test_themes_are_queryable_as_an_array_of_strings(client, collection):
    schema = get_json(client, f"/ogc/collections/{collection}/queryables")
    assert schema["properties"]["themes"] == {"title": "themes", "type": "array", "items": {"type": "string"}}


@pytest.mark.parametrize("f, accept, html", [
    (None, None, False), (None, "text/html", True), ("json", "text/html", False), ("html", None, True),
    (None, "application/json", False), (None, "text/html,application/xhtml+xml,*/*;q=0.8", True)])
def test_content_is_negotiated_by_f_then_by_accept(client, f, accept, html):
    for path in ("/ogc/", "/ogc/collections", "/ogc/collections/ramparts/queryables", f"{ITEMS}/bab-sedra", ITEMS):
        response = client.get(path, query_string={"f": f} if f else {}, headers={"Accept": accept} if accept else {})
        assert response.status_code == 200
        assert (response.mimetype == "text/html") == html, path


# Items: limit, bbox, datetime, property filters, sorting, paging, CRSs.

def test_items_default_to_ten_with_a_next_link_and_the_number_matched(client):
    body = get_json(client, ITEMS)
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == len(body["features"]) == 10
    assert body["numberMatched"] == 24 and rel(body, "next") and not rel(body, "prev")


@pytest.mark.parametrize("limit", [10_000, 20_000, 3_000_000_000])
def test_a_large_limit_returns_every_heritage_site_and_a_larger_one_is_clamped(client, limit):
    body = get_json(client, f"{ITEMS}?limit={limit}")
    assert {f["id"] for f in body["features"]} == HERITAGE and body["numberReturned"] == 24
    assert not rel(body, "next")


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "1e3"])
def test_a_limit_that_is_not_a_positive_integer_is_a_400(client, limit):
    assert "limit" in error(client, f"{ITEMS}?limit={limit}")


@pytest.mark.parametrize("query", [
    "bbox=-8.90,30.46,-8.86,30.485", f"bbox=30.46,-8.90,30.485,-8.86&bbox-crs={EPSG}4326",
    f"bbox={projected_box(32629)}&bbox-crs={EPSG}32629", f"bbox={projected_box(26192)}&bbox-crs=EPSG:26192",
    "bbox=-8.90,30.46,-100,-8.86,30.485,100", f"bbox=-8.90,30.46,-8.86,30.485&bbox-crs={CRS84}"])
def test_bbox_in_any_served_crs_selects_the_medina(client, query):
    assert slugs(client, query) == MEDINA


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "-8.86,30.46,-8.90,30.485", "1,2,3,4,5", "1,2,,4", "nan,1,2,3"])
def test_a_malformed_or_inverted_bbox_is_a_400(client, bbox):
    assert "bbox" in error(client, f"{ITEMS}?bbox={bbox}")


@pytest.mark.parametrize("when, expected", [
    ("2001-02-03T04:05:06Z", {"bab-sedra"}), ("2001-02-03", {"bab-sedra"}),
    ("2001-01-01T00:00:00Z/2002-12-31T00:00:00Z", {"bab-sedra", "grand-mosque"}),
    ("../2001-12-31", {"bab-sedra"}), ("2002-01-01/..", HERITAGE - {"bab-sedra"}),
    ("2002-06-01T02:00:00%2B02:00", {"grand-mosque"})])
def test_datetime_selects_by_the_last_update(client, dated, when, expected):
    assert slugs(client, f"datetime={when}") == expected


@pytest.mark.parametrize("collection, query, expected", [
    ("heritage-sites", "category=gate", GATES),
    ("heritage-sites", "category=gate&bbox=-8.88,30.46,-8.86,30.485",
     GATES - {"bab-targhount", "bab-ouled-bounouna", "bab-bizamaren", "bab-agafay"}),
    ("heritage-sites", "sample=false&category=kasbah", {"kasbah", "tioute-kasbah"}),
    ("projects", "sample=true", {"example-rampart-walk", "example-rampart-garden"}),
    ("associations", "sample=TRUE", {"example-garden-keepers", "example-youth-heritage-guides"})])
def test_property_filters_select_exactly(client, collection, query, expected):
    assert slugs(client, query, collection) == expected


def test_sortby_orders_the_features(client, dated):
    by_name = get_json(client, f"{ITEMS}?limit=100&sortby=%2Bname_en")["features"]
    names = [f["properties"]["name_en"] or "" for f in by_name]
    assert names == sorted(names) and len(names) == 24
    newest = [f["id"] for f in get_json(client, f"{ITEMS}?limit=100&sortby=-updated_at")["features"]]
    assert newest[-2:] == ["grand-mosque", "bab-sedra"]
    assert [f["id"] for f in get_json(client, f"{ITEMS}?limit=100&sortby=-slug")["features"]] == sorted(HERITAGE)[::-1]


def walk(client, url: str, direction: str) -> list[dict]:
    """Follow `direction` links from `url`; return every page, in the order visited."""
    pages = []
    while url and len(pages) < 20:
        pages.append(get_json(client, url))
        url = rel(pages[-1], direction)
    return pages


def ids(page: dict) -> list[str]:
    return [f["id"] for f in page["features"]]


@pytest.mark.parametrize("sortby", ["slug", "-slug", "-updated_at,name_en", None])
def test_paging_forwards_then_back_visits_every_site_once(client, sortby):
    forward = walk(client, f"{ITEMS}?limit=5" + (f"&sortby={sortby}" if sortby else ""), "next")
    assert [len(ids(p)) for p in forward] == [5, 5, 5, 5, 4]
    assert ["numberMatched" in p for p in forward] == [True, False, False, False, False]
    every = [i for p in forward for i in ids(p)]
    assert sorted(every) == sorted(HERITAGE)
    if sortby in ("slug", "-slug"):
        assert every == sorted(HERITAGE, reverse=sortby == "-slug")
    back = walk(client, rel(forward[-1], "prev"), "prev")
    assert [ids(p) for p in back] == [ids(p) for p in forward[-2::-1]]  # ends on the first page: no prev there


def forged(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor, sortby", [
    ("garbage!", ""), (forged({"k": ["x"], "d": "next"}), ""), (forged({"k": [1], "d": "sideways"}), ""),
    (forged({"k": [True], "d": "next"}), ""), (forged({"k": [5, 1], "d": "next"}), "name_en"),
    (forged({"k": ["\u0000", 1], "d": "next"}), "name_en"), (forged({"k": [["a"], 1], "d": "next"}), "slug"),
    (forged({"k": ["not a time", 1], "d": "next"}), "updated_at"), (forged({"k": [1], "d": "next"}), "slug")])
def test_a_forged_cursor_is_a_400(client, cursor, sortby):
    assert "cursor" in error(client, f"{ITEMS}?limit=5&cursor={quote(cursor)}&sortby={sortby}")


def test_a_tampered_cursor_is_a_400(client):
    cursor = parse_qs(urlsplit(rel(get_json(client, f"{ITEMS}?limit=5"), "next")).query)["cursor"][0]
    assert "cursor" in error(client, f"{ITEMS}?limit=5&cursor={cursor[:-3]}AAA")


@pytest.mark.parametrize("crs, uri, expected", [
    (None, CRS84, KHEMIS), (CRS84, CRS84, KHEMIS), ("EPSG:4326", f"{EPSG}4326", KHEMIS[::-1]),
    *((f"{EPSG}{n}", f"{EPSG}{n}", projected(n, *KHEMIS)) for n in (26192, 32629, 3857))])
def test_features_come_in_the_asked_crs_and_axis_order_as_pyproj_computes_them(client, crs, uri, expected):
    tolerance = 1e-9 if uri.endswith(("CRS84", "4326")) else 0.01  # degrees as stored; metres to 1 cm
    for path in (f"{ITEMS}?category=gate", f"{ITEMS}/bab-el-khemis?f=json"):
        response = client.get(path + (f"&crs={quote(crs)}" if crs else ""))
        assert response.headers["Content-Crs"] == f"<{uri}>"
        body = response.get_json(force=True)
        feature = next(f for f in body.get("features", [body]) if f["id"] == "bab-el-khemis")
        x, y = feature["geometry"]["coordinates"]
        assert abs(x - expected[0]) < tolerance and abs(y - expected[1]) < tolerance, (x, y, expected)


@pytest.mark.parametrize("crs", ["EPSG:2154", "EPSG:4326x", "http://www.opengis.net/def/crs/EPSG/0/", "CRS83"])
def test_an_unserved_crs_is_a_400(client, crs):
    assert "not served" in error(client, f"{ITEMS}?crs={quote(crs)}")
    assert "not served" in error(client, f"{ITEMS}/bab-el-khemis?crs={quote(crs)}")


def test_one_item_has_its_properties_and_links(client):
    body = get_json(client, f"{ITEMS}/bab-el-khemis")
    assert body["type"] == "Feature" and body["id"] == "bab-el-khemis" and body["properties"]["name_ar"] == "باب الخميس"
    assert {link["rel"] for link in body["links"]} == {"self", "alternate", "collection"}


@pytest.mark.parametrize("path", [f"{ITEMS}/no-such-site", "/ogc/collections/no-such/items",
                                  "/ogc/collections/no-such", "/ogc/collections/environmental-sites/items/bab-sedra",
                                  "/ogc/collections/no-such/queryables", f"{ITEMS}/draft-gate"])
def test_an_unknown_item_or_collection_is_a_404_with_an_ogc_body(client, session, path):
    make_site(session, slug="draft-gate", publication_status="draft")
    body = get_json(client, path, 404)
    assert body["code"] == "NotFound" and body["description"]


def test_a_draft_site_never_appears(client, session):
    make_site(session, slug="draft-gate", publication_status="draft")
    for query in ("limit=1000", "category=gate", "bbox=-8.90,30.46,-8.86,30.485", "filter=slug%3D'draft-gate'"):
        assert "draft-gate" not in slugs(client, query)


# Filtering with CQL2 text and JSON.

@pytest.mark.parametrize("query, expected", [
    ("filter=category = 'gate' AND name_en LIKE 'B%25'", {"bab-sedra", "bab-bizamaren", "bab-benyara"}),
    ("filter=category IN ('kasbah', 'mosque')", {"kasbah", "tioute-kasbah", "grand-mosque"}),
    ("filter=category BETWEEN 'craft_site' AND 'gate'", GATES | {"tanneries"}),
    (f"filter=S_INTERSECTS(geometry, {POLYGON})", MEDINA),
    ("filter=S_DWITHIN(geometry, POINT(-8.8753605 30.4786022), 100)", {"bab-el-khemis", "ramparts"}),
    (f"filter=S_INTERSECTS(geometry, POLYGON((30.46 -8.90, 30.46 -8.86, 30.485 -8.86, 30.485 -8.90, 30.46 -8.90)))"
     f"&filter-crs={EPSG}4326", MEDINA),
    (cql2_json({"op": "in", "args": [{"property": "category"}, ["kasbah", "mosque"]]}),
     {"kasbah", "tioute-kasbah", "grand-mosque"}),
    (cql2_json({"op": "s_dwithin", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": KHEMIS}, 100]}),
     {"bab-el-khemis", "ramparts"}),
    ("filter=category IN ('kasbah', 'mosque')&bbox=-8.90,30.46,-8.86,30.485", {"kasbah", "grand-mosque"}),
    ("filter=name_en LIKE 'B%25'&category=gate&bbox=-8.88,30.46,-8.86,30.485&filter-lang=cql2-text",
     {"bab-sedra", "bab-benyara"}),
])
def test_cql2_filters_select_exactly(client, query, expected):
    assert slugs(client, query.replace(" ", "%20")) == expected


@pytest.mark.parametrize("cql", [
    "name_en = 'x'; DROP TABLE sites; --'", "1=1) OR (1=1", "1=1", "name_en = 'unterminated", "category = gate'",
    "colour = 'red'", "name_en = 'a'; SELECT pg_sleep(10)", "category = 'gate' -- comment", "name_en = 'a' AND",
    "category = 'gate'; DELETE FROM sites", "S_INTERSECTS(geometry, POLYGON((0 0, 1 1)))", "name_en LIKE 5",
    "sample = 'yes' OR 1=1", "name_en = \"x\"", "'; DROP TABLE sites; --"])
def test_invalid_or_hostile_filters_are_400s_and_leave_the_sites_table_alone(client, session, cql):
    assert error(client, f"{ITEMS}?filter={quote(cql)}").startswith("filter:")
    assert site_count(session) == 33


def test_an_sql_injection_inside_a_string_literal_is_just_a_string(client, session):
    assert slugs(client, "filter=" + quote("name_en = 'x''; DROP TABLE sites; --'")) == set()
    assert site_count(session) == 33


HOSTILE = [
    f"{ITEMS}?limit=99999999999999999999999", f"{ITEMS}?limit=1e3", f"{ITEMS}?limit=%00", f"{ITEMS}?bbox=1,2,3,inf",
    f"{ITEMS}?bbox=-1e308,-1e308,1e308,1e308&bbox-crs=EPSG:32629", f"{ITEMS}?bbox=0,0,1e8,1e8&bbox-crs={EPSG}32629",
    f"{ITEMS}?bbox=1,2,3,4&bbox-crs=EPSG:9999", f"{ITEMS}?bbox-crs=EPSG:9999", f"{ITEMS}?crs=%27;DROP%20TABLE",
    f"{ITEMS}?datetime=2024-13-01", f"{ITEMS}?datetime=../..", f"{ITEMS}?datetime=2024-02-01/2024-01-01",
    f"{ITEMS}?datetime=2024-01-01T00:00:00%2B25:00", f"{ITEMS}?datetime=%00", f"{ITEMS}?sortby=-nope",
    f"{ITEMS}?sortby=name_en;DROP", f"{ITEMS}?sortby=,", f"{ITEMS}?cursor=%00%00", f"{ITEMS}?filter-lang=sql&filter=1",
    f"{ITEMS}?filter=slug%3D%27a%27&filter-crs=EPSG:2154", f"{ITEMS}?filter=" + "(" * 500 + "1",
    f"{ITEMS}?filter=" + "x" * 30_000, f"{ITEMS}?filter=name_en%3D%27%00%27", f"{ITEMS}?name_en=%00",
    f"{ITEMS}?slug=a%00b", f"{ITEMS}/a%00b", f"{ITEMS}/%27%20OR%201=1--", "/ogc/collections/%27;DROP/items",
    f"{ITEMS}?cid=heritage-sites", f"{ITEMS}?_external=0", f"{ITEMS}?endpoint=x",
    f"{ITEMS}?filter=S_DWITHIN(geometry,POINT(0%200),-1)", f"{ITEMS}?filter=protection_date%3DDATE(%2799999-01-01%27)",
    f"{ITEMS}?filter=S_INTERSECTS(geometry,POINT(1e10%201e10))&filter-crs=EPSG:32629", f"{ITEMS}?f=xml",
    f"{ITEMS}/bab-el-khemis?limit=5", f"{ITEMS}?limit=5&cursor=" + forged({"k": [2**70], "d": "next"}),
    "/ogc/collections?f=xml", "/ogc/?f=", f"{ITEMS}?sample=maybe", f"{ITEMS}?protection_buffer_m=ten",
    f"{ITEMS}?protection_date=2020-02-30", f"{ITEMS}?updated_at=yesterday", f"{ITEMS}?colour=red",
    f"{ITEMS}?geometry=POINT(0%200)", "/ogc/collections/associations/items?category=gate",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_a_hostile_request_is_a_client_error_with_an_ogc_body_never_a_500(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404), (path, response.status_code, response.text[:300])
    body = response.get_json(force=True)
    assert body["code"] and body["description"]


@pytest.mark.parametrize("path", ["/ogc/?_external=0", "/ogc/collections?endpoint=x",
                                  "/ogc/collections/ramparts?_scheme=ftp", "/ogc/collections/ramparts?cid=projects"])
def test_metadata_pages_ignore_unknown_parameters_even_names_flask_takes_for_itself(client, path):
    body = get_json(client, path)
    assert urlsplit(rel(body, "self")).path == urlsplit(path).path


# HTML for people.

def test_items_and_one_item_as_html_show_names_in_english_and_arabic(client):
    page = client.get(f"{ITEMS}?f=html&category=gate")
    assert page.status_code == 200 and page.mimetype == "text/html" and "<table" in page.text
    assert all(text in page.text for text in ("Thursday Gate", "باب الخميس", "(next)", "13 matched"))
    one = client.get(f"{ITEMS}/bab-el-khemis?f=html")
    assert one.status_code == 200 and "باب الخميس" in one.text and "Thursday Gate" in one.text


@pytest.mark.parametrize("query", ["protection_buffer_m=99999999999999999999999", "protection_buffer_m=%EF%BC%91",
                                   "protection_buffer_m=1_0", "protection_buffer_m=2147483648"])
def test_an_integer_property_filter_out_of_range_or_in_odd_digits_is_a_400(client, query):
    assert "protection_buffer_m" in error(client, f"/ogc/collections/heritage-sites/items?{query}")


@pytest.mark.parametrize("limit", [10, 5000])  # read in one go, and streamed through a server-side cursor
def test_a_query_that_fails_in_the_database_still_gets_a_json_error_not_a_bare_500(client, monkeypatch, limit):
    from sqlalchemy import text as sql_text

    from heritage_map.ogc import collections as ogc_collections, items

    monkeypatch.setattr(items, "_statements", items._Statements())  # none built with the real collection
    failing = ogc_collections.COLLECTIONS["heritage-sites"]
    monkeypatch.setitem(ogc_collections.COLLECTIONS, "heritage-sites",
                        failing.__class__(**{**failing.__dict__, "where": lambda: [sql_text("1/0 = 1")]}))
    response = client.get(f"/ogc/collections/heritage-sites/items?limit={limit}")
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.get_json()["code"] == "ServerError"
    assert "division" not in response.get_json()["description"]  # no SQL or database text leaks out


@pytest.mark.parametrize("path, collection", [
    ("/ogc/collections/heritage-sites/items?limit=100", "sites"),
    ("/ogc/collections/associations/items", "associations"),
    ("/ogc/collections/projects/items", "projects"),
    ("/api/sites", "sites"),
    (f"/api/near?lon={KHEMIS[0]}&lat={KHEMIS[1]}&radius=300", "sites"),
])
def test_record_urls_follow_the_prefix_the_app_is_mounted_at(client, path, collection):
    """The stored properties hold each record's path under /; an app behind /heritage/ must say so."""
    for base, prefix in (("http://localhost/", "/"), ("http://localhost/heritage/", "/heritage/")):
        features = client.get(path, base_url=base).get_json()["features"]
        assert features
        for f in features:
            assert f["properties"]["url"] == f"{prefix}{collection}/{f['id']}"


def test_pages_of_one_shape_share_a_statement_and_each_gets_its_own_values(client, monkeypatch):
    """The statement built for a page is used again for pages that differ only in values; none leak."""
    from heritage_map.ogc import items

    monkeypatch.setattr(items, "_statements", items._Statements())
    medina = ",".join(map(str, MEDINA_BOX))
    khemis = f"{KHEMIS[0] - 0.0005},{KHEMIS[1] - 0.0005},{KHEMIS[0] + 0.0005},{KHEMIS[1] + 0.0005}"
    in_medina = ids(get_json(client, f"{ITEMS}?limit=100&bbox={medina}"))
    assert len(items._statements.items) == 1
    at_khemis = ids(get_json(client, f"{ITEMS}?limit=100&bbox={khemis}"))
    gates = ids(get_json(client, f"{ITEMS}?limit=100&bbox={medina}&category=gate"))
    not_gates = ids(get_json(client, f"{ITEMS}?limit=100&bbox={medina}&category=kasbah"))
    assert len(items._statements.items) == 2  # bbox alone, and bbox with a category
    assert set(in_medina) == MEDINA
    assert set(at_khemis) == {"ramparts", "bab-el-khemis"}  # the walls pass through the gate
    assert set(gates) == GATES and not_gates == ["kasbah"]
    named = f"{ITEMS}?limit=100&bbox={medina}&filter=slug%20LIKE%20%27bab-el-%25%27"
    assert set(ids(get_json(client, named))) == {"bab-el-khemis", "bab-el-kasbah"}
    assert ids(get_json(client, f"{ITEMS}?limit=100&bbox={khemis}&filter=slug%20LIKE%20%27bab-el-%25%27")) \
        == ["bab-el-khemis"]
    assert len(items._statements.items) == 3


def counted_apart(client, monkeypatch, url: str) -> list[dict]:
    """Return every page from `url` on, its first page counted apart from its rows (as without a bbox)."""
    from heritage_map.ogc import items

    monkeypatch.setattr(items, "counted_with_page", lambda page: False)
    monkeypatch.setattr(items, "_statements", items._Statements())
    first = get_json(client, url)
    return [first] + walk(client, rel(first, "next"), "next")


# 10,000 and 22: every match counted (22 exactly at the cap); 21: one too many, the count is given
# up; 3: the matches read are a few arbitrary ones, the page must not come from them.
@pytest.mark.parametrize("cap", [10_000, 22, 21, 3])
@pytest.mark.parametrize("sortby", [None, "-slug", "-updated_at,name_en"])
def test_a_first_page_with_a_bbox_is_counted_in_the_scan_of_its_rows(engine, client, dated, monkeypatch, cap, sortby):
    """One statement gives a bbox's first page and its count: the same pages, in the same order, as counting apart."""
    from heritage_map.ogc import items

    monkeypatch.setattr(items, "COUNT_CAP", cap)
    monkeypatch.setattr(items, "_statements", items._Statements())
    query = f"{ITEMS}?bbox={','.join(map(str, MEDINA_BOX))}" + (f"&sortby={sortby}" if sortby else "")
    statements = []

    def spy(_conn, _cursor, statement, *_args):
        # Not the test's own transaction (conftest), nor a read of the layers' versions alone (the ETag's, when
        # it is not in the page's own statement).
        if "SAVEPOINT" not in statement and not statement.startswith(VERSIONS_READ):
            statements.append(statement)
    event.listen(engine, "before_cursor_execute", spy)
    try:
        first = get_json(client, f"{query}&limit=5")
        html = client.get(f"{query}&limit=5&f=html").text
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert len(statements) == 2 and all("WITH matches" in s for s in statements)  # no count apart, JSON or HTML
    assert first.get("numberMatched") == (len(MEDINA) if cap >= len(MEDINA) else None)
    assert (f"{len(MEDINA)} matched" in html) == (cap >= len(MEDINA))
    pages = [first] + walk(client, rel(first, "next"), "next")
    assert [len(ids(p)) for p in pages] == [5, 5, 5, 5, 2] and {i for p in pages for i in ids(p)} == MEDINA

    apart = counted_apart(client, monkeypatch, f"{query}&limit=5")
    assert [ids(p) for p in pages] == [ids(p) for p in apart]
    assert first["links"] == apart[0]["links"] and first.get("numberMatched") == apart[0].get("numberMatched")


@pytest.mark.parametrize("collection", ["projects", "associations", "environmental-sites", "ramparts"])
@pytest.mark.parametrize("crs", ["", f"&crs={EPSG}26192&bbox-crs={CRS84}", f"&crs={EPSG}4326"])
def test_every_collection_counts_a_bbox_in_the_scan_of_its_rows(client, monkeypatch, collection, crs):
    """Each table, in any CRS: the same features, order, links and count as counting apart."""
    url = f"/ogc/collections/{collection}/items?bbox=-9.2,30.2,-8.5,30.8&limit=1{crs}"
    pages = [get_json(client, url)]
    pages += walk(client, rel(pages[0], "next"), "next")
    assert pages[0]["numberMatched"] == len(pages) >= (1 if collection == "ramparts" else 2)  # one rampart line
    apart = counted_apart(client, monkeypatch, url)
    assert [p["features"] for p in pages] == [p["features"] for p in apart]
    assert pages[0]["links"] == apart[0]["links"] and pages[0]["numberMatched"] == apart[0]["numberMatched"]


@pytest.mark.parametrize("cap", [10_000, 2])
@pytest.mark.parametrize("query", [
    "category=gate", "filter=slug%20LIKE%20%27bab%25%27",
    "filter=" + quote("S_DWITHIN(geometry, POINT(-8.8753605 30.4786022), 400)"),
    "datetime=2002-01-01/..&sortby=-updated_at", "category=gate&sortby=name_en&bbox-crs=" + quote(CRS84)])
def test_a_bbox_with_other_filters_counts_in_the_scan_as_apart(client, dated, monkeypatch, cap, query):
    """The bbox's first page counted in its own scan, with any other condition: the same pages as counting apart."""
    from heritage_map.ogc import items

    monkeypatch.setattr(items, "COUNT_CAP", cap)
    monkeypatch.setattr(items, "_statements", items._Statements())
    url = f"{ITEMS}?bbox={','.join(map(str, MEDINA_BOX))}&limit=3&{query}"
    pages = [get_json(client, url)]
    pages += walk(client, rel(pages[0], "next"), "next")
    apart = counted_apart(client, monkeypatch, url)
    assert [ids(p) for p in pages] == [ids(p) for p in apart] and ids(pages[0])
    assert [p["links"] for p in pages] == [p["links"] for p in apart]
    assert pages[0].get("numberMatched") == apart[0].get("numberMatched")


def test_limits_are_written_into_the_statements(engine, client):
    """PostgreSQL sees the limits when it plans a prepared statement, so it can keep one generic plan."""
    statements = []

    def spy(_conn, _cursor, statement, parameters, *_args):
        if "SAVEPOINT" not in statement and not statement.startswith(VERSIONS_READ):  # see above
            statements.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", spy)
    try:
        get_json(client, f"{ITEMS}?limit=7&category=gate")
        get_json(client, f"{ITEMS}?limit=7&bbox={','.join(map(str, MEDINA_BOX))}")
        get_json(client, f"{ITEMS}?limit=1500&category=gate")  # streamed: counted first, apart
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    (page_then_count, values), (counted, _), (count, _), *streamed = statements
    assert "LIMIT 8" in page_then_count and "LIMIT 10001" in page_then_count and "rows" not in values
    assert "LIMIT 8" in counted and "LIMIT 10001" in counted
    assert count.rstrip().endswith("LIMIT 10001) AS anon_1") and any("LIMIT 1501" in s for s, _ in streamed)


@pytest.mark.parametrize("limit, full", [(30, False), (5, True)])
def test_a_first_page_without_a_bbox_runs_its_count_only_when_full(app, connection, limit, full):
    """The count rides in the page's statement, and PostgreSQL runs it only when the page is full."""
    from sqlalchemy.dialects import postgresql

    from heritage_map.ogc import collections as ogc_collections, items, parse_page

    with app.test_request_context(f"{ITEMS}?category=gate&limit={limit}"):
        page = parse_page(ogc_collections.COLLECTIONS["heritage-sites"])
        stmt = items._page_statement(page, "/").params(page.values() | {"rows": page.limit + 1})
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).scalar()[0]["Plan"]

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)
    counts = [n for n in nodes(plan) if n.get("Parent Relationship") == "InitPlan" and n["Node Type"] == "Aggregate"
              and any(c.get("Relation Name") == "sites" or c.get("Index Name") for c in nodes(n))]
    assert len(counts) == 1 and counts[0]["Actual Loops"] == (1 if full else 0)
    body = get_json(app.test_client(), f"{ITEMS}?category=gate&limit={limit}")
    assert body["numberMatched"] == len(GATES) and body["numberReturned"] == min(limit, len(GATES))


def test_the_statement_cache_stays_within_its_size():
    from heritage_map.ogc import items

    cache = items._Statements(size=3)
    for i in range(3):
        cache.put(("shape", i), f"statement {i}")
    assert cache.get(("shape", 0)) == "statement 0"  # used again: now the most recent
    cache.put(("shape", 3), "statement 3")
    cache.put(("shape", 4), "statement 4")
    assert list(cache.items) == [("shape", 0), ("shape", 3), ("shape", 4)]  # the least recently used went
    assert cache.get(("shape", 1)) is None
