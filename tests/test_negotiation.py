"""Content negotiation: one answer to "page or data?" for every (path, f, Accept) the app sees."""

from __future__ import annotations

import pytest

from heritage_map.negotiation import wants_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FETCH_GEOJSON = "application/geo+json"


@pytest.mark.parametrize("path, f, accept, html", [
    # Pages default to HTML; only an Accept header preferring data turns them to JSON.
    ("/sites", None, None, True),
    ("/sites", None, "*/*", True),
    ("/sites", None, BROWSER, True),
    ("/sites/nope", None, "application/json", False),
    ("/sites/nope", None, FETCH_GEOJSON, False),
    ("/sites/nope", "json", BROWSER, False),
    ("/", "html", "application/json", True),
    # Data paths default to data; a page needs text/html named and preferred.
    ("/api/sites", None, None, False),
    ("/api/sites", None, "*/*", False),
    ("/api/sites", None, "text/*", False),
    ("/api/screening/report", None, BROWSER, True),
    ("/api/sites", None, "application/json, text/html", False),
    ("/ogc/collections", None, "text/html", True),
    ("/ogc/collections", "html", None, True),
    ("/ogc/collections", "json", "text/html", False),
    ("/ogc/collections/ramparts/items", "geojson", BROWSER, False),
    # An f naming no format is ignored here (the OGC views refuse it): Accept and path decide.
    ("/ogc/collections", "xml", None, False),
    ("/ogc/collections", "xml", BROWSER, True),
    ("/sites", "", None, True),
])
def test_a_request_wants_html_by_f_then_accept_then_path(app, path, f, accept, html):
    query = {"f": f} if f is not None else {}
    headers = {"Accept": accept} if accept is not None else {}
    with app.test_request_context(path, query_string=query, headers=headers):
        assert wants_html() is html


@pytest.mark.parametrize("f", ["xml", ""])
def test_an_ogc_view_refuses_an_f_naming_no_format_and_the_error_answers_by_accept(client, f):
    data = client.get("/ogc/collections", query_string={"f": f})
    assert data.status_code == 400 and data.get_json()["code"] == "InvalidParameterValue"
    page = client.get("/ogc/collections", query_string={"f": f}, headers={"Accept": BROWSER})
    assert page.status_code == 400 and page.mimetype == "text/html"


def test_an_error_on_a_page_asked_for_as_json_is_json(client):
    response = client.get("/sites/no-such-site", query_string={"f": "json"}, headers={"Accept": BROWSER})
    assert response.status_code == 404 and response.get_json()["code"] == "NotFound"
