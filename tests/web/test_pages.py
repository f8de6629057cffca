"""Every page renders, cross-links its records, shows sources and confidence, and escapes text."""

import json
import re

import pytest

from factories import make_site
from heritage_map.config import GEODATA_DIR

PAGES = ["/", "/sites", "/associations", "/projects", "/forum", "/sites/bab-el-khemis", "/sites/ramparts",
         "/associations/taroudant-bladna", "/projects/clean-walls", "/projects/example-rampart-walk"]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert "Taroudant Heritage Map" in response.text


SAMPLE_LINK = re.compile(
    r'<a href="/(?:projects|associations)/(example-[^"/]+)">[^<]*</a>( <span class="sample-tag">example</span>)?')
ENVIRONMENT = ["arganeraie-biosphere-reserve", "jbel-toubkal", "souss-massa-national-park", "souss-river-mouth",
               "souss-river-source", "souss-river-taroudant", "tioute-palm-grove", "tizi-n-test",
               "toubkal-national-park"]


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.mimetype == "text/html"
    return response.text


def linked(html: str, layer: str) -> list[str]:
    """Return the slugs of the records of `layer` the page links to, in page order."""
    return re.findall(rf'<a href="/{layer}/([^"/#]+)"', html)


def test_the_sites_index_lists_every_published_site(client):
    html = page(client, "/sites")
    seeded = json.loads((GEODATA_DIR / "sites.geojson").read_text(encoding="utf-8"))["features"]
    assert '<p class="count">33 sites</p>' in html
    assert linked(html, "sites") == sorted(f["properties"]["slug"] for f in seeded)


@pytest.mark.parametrize("query, expected", [
    ("kind=environment", ENVIRONMENT),
    ("category=kasbah", ["kasbah", "tioute-kasbah"]),
    ("kind=environment&category=river", ["souss-river-mouth", "souss-river-source", "souss-river-taroudant"]),
    ("category=zaouia", []),
])
def test_the_sites_index_filters_give_the_exact_sites(client, query, expected):
    html = page(client, f"/sites?{query}")
    assert linked(html, "sites") == expected
    assert f'<p class="count">{len(expected)} site' in html


def test_the_sites_index_filters_by_category_to_the_thirteen_gates(client):
    html = page(client, "/sites?category=gate")
    assert len(linked(html, "sites")) == 13
    assert '<option value="gate" selected>' in html


@pytest.mark.parametrize("query, expected", [
    ("", ["adha-restoration-2023", "clean-walls", "example-rampart-garden", "example-rampart-walk",
          "municipal-library", "romans-taroudant-cooperation", "web-portal"]),
    ("?status=active", ["adha-restoration-2023", "example-rampart-garden", "romans-taroudant-cooperation"]),
    ("?status=completed", ["clean-walls", "municipal-library"]),
    ("?status=proposed&theme=communication", ["web-portal"]),
])
def test_the_projects_index_lists_the_exact_projects(client, query, expected):
    html = page(client, f"/projects{query}")
    assert linked(html, "projects") == expected
    assert f'<p class="count">{len(expected)} project' in html


@pytest.mark.parametrize("query, expected", [
    ("", ["example-garden-keepers", "example-youth-heritage-guides", "forum-associations-taroudant",
          "taroudant-awalan", "taroudant-bladna"]),
    ("?theme=heritage", ["example-garden-keepers", "example-youth-heritage-guides",
                         "forum-associations-taroudant", "taroudant-bladna"]),
    ("?theme=youth", ["example-youth-heritage-guides"]),
])
def test_the_associations_index_lists_the_exact_associations(client, query, expected):
    assert linked(page(client, f"/associations{query}"), "associations") == expected


def test_an_unpublished_site_is_on_no_page(client, session):
    make_site(session, slug="draft-gate", publication_status="draft")
    assert "draft-gate" not in page(client, "/sites?category=gate")
    assert "no published site called" in page(client, "/sites/draft-gate", 404)


def test_a_site_page_links_to_the_projects_caring_for_it(client):
    html = page(client, "/sites/bab-el-khemis")
    assert linked(html, "projects") == ["adha-restoration-2023", "example-rampart-walk"]
    assert "Post-earthquake restoration of the ramparts and gates" in html


def test_a_site_page_links_to_the_associations_of_its_projects(client):
    html = page(client, "/sites/ramparts")
    assert linked(html, "associations") == ["taroudant-bladna", "example-garden-keepers",
                                            "example-youth-heritage-guides", "example-garden-keepers"]


def test_a_project_page_links_to_its_sites_and_associations(client):
    html = page(client, "/projects/clean-walls")
    assert linked(html, "sites") == ["ramparts"]
    assert linked(html, "associations") == ["taroudant-bladna"]
    assert "<small>(lead)</small>" in html


def test_a_project_page_links_to_the_forum_session_it_came_from(client):
    assert 'href="/forum#edition-2"' in page(client, "/projects/web-portal")


def test_an_association_page_links_back_to_its_projects(client):
    assert linked(page(client, "/associations/taroudant-bladna"), "projects") == ["clean-walls"]
    assert linked(page(client, "/associations/forum-associations-taroudant"), "projects") == [
        "romans-taroudant-cooperation", "web-portal"]


def test_the_forum_page_links_to_the_projects_born_of_each_session(client):
    html = page(client, "/forum")
    assert linked(html, "projects") == ["web-portal"]
    assert re.findall(r'id="(edition-\d+)"', html) == ["edition-1", "edition-2", "edition-5"]


@pytest.mark.parametrize("path, source", [
    ("/sites/bab-el-khemis", "https://agadirtoday.com/?lang=fr&amp;p=186008"),
    ("/sites/ramparts", "http://www.hotel-taroudant.net/a-voir/les-remparts-de-taroudant"),
    ("/projects/clean-walls", "https://machahid.info/123036.html"),
    ("/associations/taroudant-bladna", "https://machahid.info/123036.html"),
    ("/associations/taroudant-awalan", "https://taroudant-awalan.ma"),
])
def test_a_record_page_links_its_sources(client, path, source):
    html = page(client, path)
    assert '<section class="sources">' in html
    assert f'<a href="{source}" rel="noopener nofollow">{source}</a>' in html


def test_a_record_without_sources_says_so(client):
    assert "No source recorded." in page(client, "/associations/example-garden-keepers")


@pytest.mark.parametrize("slug, value, label", [
    ("ramparts", "estimated", "estimated by us — not surveyed"),
    ("bab-el-khemis", "medium", "medium (one non-authoritative source)"),
    ("bab-zorgane", "low", "low (rough or contested source)"),
    ("jbel-toubkal", "high", "high (reference source)"),
])
def test_a_site_page_shows_its_coordinate_confidence(client, slug, value, label):
    html = page(client, f"/sites/{slug}")
    assert f'Position confidence: <span class="confidence confidence-{value}">{label}</span>' in html


def test_the_sites_index_shows_each_sites_confidence(client):
    html = page(client, "/sites?kind=environment")
    assert html.count("estimated by us — not surveyed") == 1
    assert html.count('class="confidence confidence-high"') == 4


@pytest.mark.parametrize("path", ["/associations/example-garden-keepers", "/projects/example-rampart-walk"])
def test_a_sample_record_page_shows_the_example_banner(client, path):
    html = page(client, path)
    assert '<p class="sample-banner">Example — this record is invented demo data' in html
    assert '<span class="sample-tag">example</span></h1>' in html


def test_a_real_record_page_shows_no_example_banner(client):
    assert "sample-banner" not in page(client, "/associations/taroudant-bladna")
    assert "sample-tag" not in page(client, "/projects/clean-walls")


@pytest.mark.parametrize("path, samples", [
    ("/associations", 2), ("/projects", 2), ("/sites/ramparts", 5), ("/sites/bab-el-khemis", 3),
    ("/associations/example-garden-keepers", 2), ("/projects/example-rampart-walk", 2),
])
def test_every_link_to_a_sample_record_carries_the_example_tag(client, path, samples):
    links = SAMPLE_LINK.findall(page(client, path))
    assert len(links) == samples
    assert [slug for slug, tag in links if not tag] == []


@pytest.mark.parametrize("path, message", [
    ("/sites/no-such-place", "no published site called &#39;no-such-place&#39;"),
    ("/projects/no-such-project", "no published project called &#39;no-such-project&#39;"),
    ("/associations/no-such-club", "no published association called &#39;no-such-club&#39;"),
    ("/nowhere", "The requested URL was not found"),
])
def test_an_unknown_record_is_a_404_page_with_a_message(client, path, message):
    html = page(client, path, 404)
    assert "<h1>404 — not found</h1>" in html
    assert message in html


@pytest.mark.parametrize("path, message", [
    ("/sites?kind=castle", "kind must be one of heritage, environment (got &#39;castle&#39;)"),
    ("/sites?category=fortress", "category must be one of rampart, gate"),
    ("/projects?status=done", "status must be one of proposed, active, completed, paused"),
    ("/associations?theme=sport", "theme must be one of heritage"),
    ("/sites?kidn=heritage", "unknown parameter kidn"),
])
def test_a_malformed_filter_is_a_400_page_with_a_message(client, path, message):
    html = page(client, path, 400)
    assert "<h1>400 — bad request</h1>" in html
    assert message in html


def make_hostile_site(session):
    return make_site(session, slug="hostile", name_en="<script>alert(1)</script>",
                     description_en="<img src=x onerror=alert(1)>",
                     sources=["javascript:alert(1)", "https://example.org/ok"])


@pytest.mark.parametrize("path", ["/sites", "/sites/hostile"])
def test_text_from_the_database_is_escaped_on_pages(client, session, path):
    make_hostile_site(session)
    html = page(client, path)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    if path != "/sites":
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_text_from_the_database_is_a_plain_json_string_in_the_api(client, session):
    make_hostile_site(session)
    features = client.get("/api/sites").get_json(force=True)["features"]
    hostile = next(f for f in features if f["id"] == "hostile")
    assert hostile["properties"]["name_en"] == "<script>alert(1)</script>"
    assert hostile["properties"]["description_en"] == "<img src=x onerror=alert(1)>"


def test_a_javascript_source_is_not_rendered_as_a_link(client, session):
    make_hostile_site(session)
    html = page(client, "/sites/hostile")
    assert 'href="javascript:' not in html.lower()
    assert "<li>javascript:alert(1)</li>" in html
    assert '<a href="https://example.org/ok" rel="noopener nofollow">' in html


def test_a_site_whose_only_project_is_unpublished_says_it_has_none(client, session):
    from heritage_map.catalogue.models import Project

    site = make_site(session, slug="lonely-gate")
    session.add(Project(slug="draft-work", title_en="Draft work", publication_status="draft", sites=[site]))
    session.flush()
    html = page(client, "/sites/lonely-gate")
    assert "draft-work" not in html
    assert "No project recorded yet." in html


@pytest.mark.parametrize("path", ["/sites/%00", "/associations/a%00b", "/projects/Clean-Walls", "/sites/a..b"])
def test_a_record_url_that_is_no_slug_is_a_plain_404(client, path):
    assert client.get(path).status_code == 404
