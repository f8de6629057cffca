"""/api/search, the /search page and `q=` on the OGC items, on the seed data."""

from __future__ import annotations

import pytest

from tests.factories import make_site


def test_the_search_api_answers_ranked_results_with_where_to_zoom(client):
    body = client.get("/api/search?q=Bab%20El%20Khmis").get_json()
    first = body["results"][0]
    assert body["query"] == "Bab El Khmis" and body["numberReturned"] == len(body["results"]) <= 10
    assert first["layer"] == "sites" and first["slug"] == "bab-el-khemis" and first["url"] == "/sites/bab-el-khemis"
    assert first["point"] == [-8.8753605, 30.4786022] and first["bbox"] == [-8.8753605, 30.4786022] * 2


def test_the_search_api_finds_arabic_without_its_hamza(client):
    assert client.get("/api/search?q=اسوار تارودانت").get_json()["results"][0]["slug"] == "ramparts"


def test_the_search_api_is_bounded_and_narrowed_by_layer(client):
    assert len(client.get("/api/search?q=bab&limit=3").get_json()["results"]) == 3
    found = client.get("/api/search?q=kasbah quarter&layer=trails").get_json()["results"]
    assert found[0]["slug"] == "kasbah-quarter" and {r["layer"] for r in found} == {"trails"}


def test_the_search_api_finds_only_published_records(client, session):
    make_site(session, slug="draft-gate", name_en="Bab Qwertyuiop", publication_status="draft")
    assert client.get("/api/search?q=qwertyuiop").get_json()["results"] == []


@pytest.mark.parametrize("query, message", [
    ("", "q is required"), ("q=", "q is required"), ("q=" + "x" * 201, "at most 200 characters"),
    ("q=bab&limit=0", "limit must be a whole number from 1 to 50"), ("q=bab&layer=roads", "layer must be one of"),
    ("q=bab&kind=gate", "unknown parameter kind"), ("q=a%00b", "control characters"),
])
def test_the_search_api_refuses_bad_input_saying_why(client, query, message):
    response = client.get("/api/search?" + query)
    assert response.status_code == 400
    assert message in response.get_json()["description"]


def test_the_search_page_lists_the_results_with_links(client):
    page = client.get("/search?q=mosquee").get_data(as_text=True)
    assert 'href="/sites/grand-mosque"' in page and 'value="mosquee"' in page


def test_the_search_page_escapes_the_query(client):
    page = client.get("/search?q=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_ogc_items_take_q_through_the_same_search(client):
    body = client.get("/ogc/collections/heritage-sites/items?q=باب الخميس&limit=50").get_json()
    slugs = [f["id"] for f in body["features"]]
    assert "bab-el-khemis" in slugs and "kasbah" not in slugs
    assert body["numberMatched"] == len(slugs)
    typo = client.get("/ogc/collections/heritage-sites/items?q=bab el khmis").get_json()
    assert "bab-el-khemis" in [f["id"] for f in typo["features"]]


def test_ogc_q_is_in_the_api_definition(client):
    spec = client.get("/ogc/api").get_json()
    assert "q" in spec["components"]["parameters"]
    items = spec["paths"]["/collections/heritage-sites/items"]["get"]["parameters"]
    assert {"$ref": "#/components/parameters/q"} in items


def test_cql2_accenti_folds_arabic_as_the_search_does(client):
    body = client.get("/ogc/collections/ramparts/items", query_string={
        "filter": "ACCENTI(name_ar) = ACCENTI('اسوار تارودانت')"}).get_json()  # stored with its hamza: أسوار
    assert [f["id"] for f in body["features"]] == ["ramparts"]
