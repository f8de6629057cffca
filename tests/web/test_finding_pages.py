"""Heritage at risk, site QR codes and what lies near a site."""

from __future__ import annotations

import segno
from sqlalchemy import text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_at_risk_page_lists_threatened_and_poor_sites_with_their_carers_or_none(client, session):
    at_risk = set(session.scalars(text(
        "SELECT slug FROM sites WHERE publication_status = 'published' "
        "AND (condition IN ('poor', 'very_bad') OR coalesce(btrim(threats), '') <> '')")))
    assert {"tioute-kasbah", "grand-mosque", "bab-el-khemis"} <= at_risk
    page = client.get("/at-risk").get_data(as_text=True)
    listed = {slug for slug in at_risk if f'<li data-slug="{slug}">' in page}
    assert listed == at_risk
    assert "No association project cares for this place yet." in page
    assert "Associations: act for these places" in page and 'href="/sign-in"' in page
    assert "record-map" in page


def test_a_site_in_good_condition_without_threats_is_not_at_risk(client):
    assert '<li data-slug="claudio-bravo-museum">' not in client.get("/at-risk").get_data(as_text=True)


def test_a_site_page_offers_its_qr_code_as_png_and_svg_linking_to_its_absolute_url(client):
    page = client.get("/sites/bab-el-khemis").get_data(as_text=True)
    assert 'src="/sites/bab-el-khemis/qr.svg"' in page and 'href="/sites/bab-el-khemis/qr.png"' in page
    png = client.get("/sites/bab-el-khemis/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(PNG_SIGNATURE)
    svg = client.get("/sites/bab-el-khemis/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get("/sites/nowhere/qr.png").status_code == 404
    assert client.get("/sites/bab-el-khemis/qr.gif").status_code == 404


def test_the_qr_code_encodes_the_site_page_absolute_url(client):
    import io

    expected = io.BytesIO()
    segno.make("http://localhost/sites/bab-el-khemis", error="m").save(expected, kind="png", scale=10, border=4)
    assert client.get("/sites/bab-el-khemis/qr.png").data == expected.getvalue()


def test_a_site_page_lists_what_lies_within_walking_distance_nearest_first(client, session):
    page = client.get("/sites/bab-el-kasbah").get_data(as_text=True)
    expected = list(session.scalars(text(
        "SELECT b.slug FROM sites a, sites b WHERE a.slug = 'bab-el-kasbah' AND b.slug <> a.slug "
        "AND b.publication_status = 'published' "
        "AND ST_DWithin(b.geom::geography, ST_PointOnSurface(a.geom)::geography, 1000) "
        "ORDER BY ST_Distance(b.geom::geography, ST_PointOnSurface(a.geom)::geography), b.slug")))
    assert "bab-sedra" in expected
    section = page[page.index('class="nearby"'):page.index('class="qr"')]
    positions = [section.index(f'data-slug="{slug}"') for slug in expected]
    assert positions == sorted(positions)
    assert "Within walking distance (1000 m)" in page


def test_the_near_here_page_asks_the_near_api(client):
    page = client.get("/near").get_data(as_text=True)
    assert 'data-api="/api/near"' in page and 'data-radius="1000"' in page
