"""What reaches a phone on a weak connection: compressed bodies, year-long static files, 304s for unchanged data."""

from __future__ import annotations

import gzip
import re
import time

import brotli
import pytest

from factories import make_site
from heritage_map.config import STATIC_DIR
from heritage_map.freshness import Validators
from heritage_map.static_files import IMMUTABLE, SHORT, build_manifest

KHEMIS_Z15 = (15, 13469, 15575)
STATIC_URL = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def static_urls(html: str) -> list[str]:
    return STATIC_URL.findall(html)


@pytest.mark.parametrize("path", ["/", "/sites/bab-el-khemis", "/planner"])
def test_map_pages_have_one_viewport_tag_and_it_lets_people_zoom(client, path):
    html = client.get(path).text
    tags = re.findall(r"<meta[^>]*name=\"viewport\"[^>]*>", html)
    assert tags == ['<meta name="viewport" content="width=device-width, initial-scale=1">']


@pytest.mark.parametrize(("path", "mimetype"), [
    ("/", "text/html"), ("/sites", "text/html"), ("/api/sites", "application/geo+json"),
    ("/ogc/collections/heritage-sites/items?limit=50", "application/geo+json"),
    ("/ogc/api", "application/vnd.oai.openapi+json"), ("/api/export/sites?format=csv", "text/csv"),
])
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_text_responses_come_compressed_in_the_encoding_asked_for(client, path, mimetype, encoding):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": f"{encoding}, identity"})
    assert packed.status_code == plain.status_code == 200
    assert packed.mimetype == mimetype
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    body = brotli.decompress(packed.data) if encoding == "br" else gzip.decompress(packed.data)
    assert len(packed.data) < len(body)
    if mimetype != "text/html" and "/ogc/" not in path:  # pages carry a fresh nonce, OGC pages a timeStamp
        assert body == plain.data


def test_brotli_is_chosen_over_gzip_when_both_are_accepted(client):
    assert client.get("/api/sites", headers={"Accept-Encoding": "gzip, deflate, br"}).headers[
        "Content-Encoding"] == "br"


@pytest.mark.parametrize("path", ["/api/export/sites?format=gpkg", "/api/export/sites?format=shp"])
def test_already_packed_downloads_are_sent_as_they_are(client, path):
    response = client.get(path, headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


def test_a_streamed_ogc_page_is_compressed_as_it_streams_and_stays_whole(client, session):
    for i in range(1100):  # beyond the 1,000 features that switch the items to streaming
        make_site(session, slug=f"stream-gate-{i}", name_en=f"Stream gate {i}")
    response = client.get("/ogc/collections/heritage-sites/items?limit=2000",
                          headers={"Accept-Encoding": "br"})
    assert response.is_streamed
    assert response.headers["Content-Encoding"] == "br"
    assert "Content-Length" not in response.headers
    text = brotli.decompress(response.get_data()).decode()
    assert text.count('"stream-gate-') >= 1100
    assert text.endswith("}") and '"numberReturned":' in text


def test_a_compressed_tile_still_answers_304_to_the_tag_it_was_sent_with(client):
    path = "/ogc/collections/heritage-sites/tiles/WebMercatorQuad/{}/{}/{}".format(*KHEMIS_Z15)
    first = client.get(path, headers={"Accept-Encoding": "br"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    tag = first.headers["ETag"]
    assert tag.endswith(':br"')
    again = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""


def test_versioned_static_urls_are_cached_for_a_year_and_plain_ones_briefly(client):
    urls = static_urls(client.get("/").text)
    assert urls and all(u.startswith("/static/v/") for u in urls), urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url
    plain = client.get("/static/site.css")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == SHORT
    stale = client.get("/static/v/000000000000/site.css")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == SHORT


def test_every_page_names_its_static_files_by_version(client):
    for path in ["/sites", "/forum", "/ogc/?f=html", "/nowhere"]:
        urls = static_urls(client.get(path).text)
        assert urls and all(u.startswith("/static/v/") for u in urls), (path, urls)


def test_fonts_a_stylesheet_names_are_cached_for_a_year_under_its_version(client):
    css_url = next(u for u in static_urls(client.get("/").text) if u.endswith("heritage-icons.css"))
    font = css_url.replace("css/heritage-icons.css", "webfonts/fa-solid-900-heritage.woff2")
    response = client.get(font)
    assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
    assert "Content-Encoding" not in client.get(font, headers={"Accept-Encoding": "br"}).headers  # woff2: packed


def test_a_stylesheet_version_changes_when_a_font_it_names_changes(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "fonts").mkdir()
    (tmp_path / "css" / "a.css").write_text("@font-face{src:url(../fonts/f.woff2)}")
    (tmp_path / "fonts" / "f.woff2").write_bytes(b"one")
    before = build_manifest(tmp_path)
    (tmp_path / "fonts" / "f.woff2").write_bytes(b"two")
    after = build_manifest(tmp_path)
    assert before.versions["css/a.css"] != after.versions["css/a.css"]
    assert after.accepts("fonts/f.woff2", after.versions["css/a.css"])
    assert not after.accepts("fonts/f.woff2", before.versions["css/a.css"])


def test_the_manifest_covers_every_static_file():
    manifest = build_manifest(STATIC_DIR)
    assert {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()} == set(
        manifest.versions)


@pytest.mark.parametrize("path", ["/api/sites", "/api/projects?status=completed",
                                  "/ogc/collections/heritage-sites/items?limit=5",
                                  "/ogc/collections/heritage-sites/items/bab-el-khemis"])
def test_unchanged_data_answers_304_to_its_etag_and_a_change_makes_a_new_one(client, session, path):
    first = client.get(path, headers={"Accept-Encoding": "br"})
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert tag.startswith('W/"') and first.headers["Cache-Control"] == "public, no-cache"
    again = client.get(path, headers={"If-None-Match": tag, "Accept-Encoding": "br"})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == tag
    make_site(session, slug="freshly-added")  # bumps the sites layer's version (migration 0007)
    session.commit()
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag


def test_within_the_second_of_a_change_no_last_modified_is_given_as_none_would_be_sound():
    changed_at = 1_700_000_000_250_000  # µs
    assert Validators({"sites": changed_at}, changed_at + 500_000, "/api/sites").last_modified is None
    given = Validators({"sites": changed_at}, changed_at + 750_000, "/api/sites").last_modified
    assert given.timestamp() == 1_700_000_001
    assert Validators({}, changed_at, "/api/sites").last_modified is None


def test_two_urls_have_two_tags(client):
    assert client.get("/api/sites").headers["ETag"] != client.get("/api/sites?kind=heritage").headers["ETag"]


def test_last_modified_is_never_in_the_future_and_a_later_change_is_always_newer(client, session):
    make_site(session, slug="just-now")
    session.commit()
    time.sleep(1.05)
    first = client.get("/api/sites")
    since = first.headers["Last-Modified"]
    assert first.last_modified.timestamp() <= time.time()
    assert client.get("/api/sites", headers={"If-Modified-Since": since}).status_code == 304
    make_site(session, slug="a-second-later")
    session.commit()
    assert client.get("/api/sites", headers={"If-Modified-Since": since}).status_code == 200


def test_every_icon_the_map_draws_is_in_the_cut_icon_font(client):
    css = (STATIC_DIR / "vendor/fontawesome-free/css/heritage-icons.css").read_text(encoding="utf-8")
    locate = (STATIC_DIR / "vendor/leaflet.locatecontrol/L.Control.Locate.min.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\bfa fa-([a-z0-9-]+)", client.get("/").text + locate))
    assert {"map-marker", "spinner", "archway", "dungeon"} <= used
    assert sorted(name for name in used if f".fa-{name}:before" not in css) == []
