"""The filters the layer registry declares, on the API and the index pages, against SQL on the seed."""

from __future__ import annotations

import pytest
from sqlalchemy import text


def slugs(client, url) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {f["properties"]["slug"] for f in response.get_json()["features"]}


def sql(session, query) -> set[str]:
    return set(session.scalars(text(query)))


PUBLISHED = "publication_status = 'published'"


def test_period_keeps_the_sites_whose_period_mentions_it(client, session):
    expected = sql(session, f"SELECT slug FROM sites WHERE {PUBLISHED} AND period ILIKE '%saadian%'")
    assert "ramparts" in expected and len(expected) > 5  # "Almoravid origins; mostly Saadian"
    assert slugs(client, "/api/sites?period=saadian") == expected


def test_condition_and_protection_filter_the_sites(client, session):
    assert slugs(client, "/api/sites?condition=poor") == sql(
        session, f"SELECT slug FROM sites WHERE {PUBLISHED} AND condition = 'poor'") == {"tioute-kasbah"}
    assert slugs(client, "/api/sites?protection=protected_area") == sql(
        session, f"SELECT slug FROM sites WHERE {PUBLISHED} AND protection_status = 'protected_area'")


def test_association_keeps_the_records_it_cares_for_through_published_projects(client, session):
    cared = sql(session, f"""
        SELECT s.slug FROM sites s JOIN project_sites ps ON ps.site_id = s.id JOIN projects p ON p.id = ps.project_id
        JOIN project_associations pa ON pa.project_id = p.id JOIN associations a ON a.id = pa.association_id
        WHERE a.slug = 'taroudant-bladna' AND s.{PUBLISHED} AND p.{PUBLISHED}""")
    assert cared
    assert slugs(client, "/api/sites?association=taroudant-bladna") == cared
    projects = sql(session, f"""
        SELECT p.slug FROM projects p JOIN project_associations pa ON pa.project_id = p.id
        JOIN associations a ON a.id = pa.association_id WHERE a.slug = 'taroudant-bladna' AND p.{PUBLISHED}""")
    assert slugs(client, "/api/projects?association=taroudant-bladna") == projects
    assert slugs(client, "/api/associations?association=taroudant-bladna") == {"taroudant-bladna"}
    assert slugs(client, "/api/sites?association=no-such-association") == set()


@pytest.mark.parametrize("query, message", [
    ("period=roman", "period must be one of almoravid, saadian, contemporary"),
    ("condition=ruined", "condition must be one of"),
    ("association=Not A Slug", "association must be a record's slug"),
])
def test_a_bad_filter_value_is_a_400_saying_why(client, query, message):
    response = client.get("/api/sites?" + query)
    assert response.status_code == 400 and message in response.get_json()["description"]


def test_the_sites_index_offers_every_filter_of_the_registry_and_applies_them(client):
    page = client.get("/sites?condition=poor").get_data(as_text=True)
    for name in ("kind", "category", "period", "condition", "protection", "association"):
        assert f'name="{name}"' in page
    assert '<option value="taroudant-bladna"' in page
    assert '<p class="count">1 site</p>' in page


def test_the_map_page_carries_the_filter_panel_and_the_view_script(client):
    page = client.get("/").get_data(as_text=True)
    assert "web/view.js" in page and "web/search.js" in page
    assert '"filterLayers"' in page and '"association": ["sites", "projects", "associations"]' in page
