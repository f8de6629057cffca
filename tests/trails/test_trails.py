"""Trails on a real PostGIS: the seed's three walks, their length on the spheroid, pages and GPX files."""

from __future__ import annotations

import gpxpy
import pytest
from sqlalchemy import select, text

from heritage_map.catalogue.models import Trail
from heritage_map.trails import queries


def test_the_seed_holds_three_estimated_trails_with_ordered_stops(session):
    trails = {t.slug: t for t in session.scalars(select(Trail))}
    assert set(trails) >= {"gates-of-the-ramparts", "souks-and-squares", "kasbah-quarter"}
    assert all(t.route_estimated for t in trails.values())
    kasbah = [s.site.slug for s in trails["kasbah-quarter"].stops]
    assert kasbah == ["bab-el-kasbah", "bab-sedra", "kasbah", "palais-salam"]
    assert [s.position for s in trails["gates-of-the-ramparts"].stops] == list(range(1, 12))


def test_a_trail_is_measured_by_postgis_in_metres(session):
    trail, length = queries.get_trail(session, "gates-of-the-ramparts")
    # The gates' loop is the estimated ramparts outline (a closed line over the same gate points).
    ramparts = session.scalar(text("SELECT ST_Length(geom::geography) FROM sites WHERE slug = 'ramparts'"))
    assert length == pytest.approx(ramparts, rel=1e-9)
    assert 5000 < length < 9000
    assert queries.walking_minutes(length) == round(length / (4000 / 60))


def test_a_trail_that_is_not_published_is_not_found(session):
    session.execute(text("UPDATE trails SET publication_status = 'draft' WHERE slug = 'kasbah-quarter'"))
    with pytest.raises(Exception, match="no published trail"):
        queries.get_trail(session, "kasbah-quarter")
    assert "kasbah-quarter" not in [t.slug for t, _ in queries.list_trails(session)]


def test_the_trail_index_lists_the_trails_with_length_and_time(client):
    page = client.get("/trails").get_data(as_text=True)
    for slug in ("gates-of-the-ramparts", "souks-and-squares", "kasbah-quarter"):
        assert f'href="/trails/{slug}"' in page
    assert "km, about" in page and "estimated route" in page


def test_a_trail_page_numbers_its_stops_and_offers_gpx_and_follow_mode(client):
    page = client.get("/trails/kasbah-quarter").get_data(as_text=True)
    assert page.index('data-slug="bab-el-kasbah"') < page.index('data-slug="bab-sedra"') < page.index(
        'data-slug="kasbah"') < page.index('data-slug="palais-salam"')
    assert 'href="/trails/kasbah-quarter.gpx"' in page and 'id="trail-follow"' in page
    assert "The route is estimated" in page


def test_an_unknown_trail_is_a_404(client):
    assert client.get("/trails/nowhere").status_code == 404
    assert client.get("/trails/nowhere.gpx").status_code == 404


def test_the_gpx_has_the_stops_as_waypoints_and_the_line_as_route_and_track(client, session):
    response = client.get("/trails/gates-of-the-ramparts.gpx")
    assert response.mimetype == "application/gpx+xml"
    assert 'filename="gates-of-the-ramparts.gpx"' in response.headers["Content-Disposition"]
    gpx = gpxpy.parse(response.get_data(as_text=True))
    assert gpx.name == "The gates along the ramparts"
    assert [w.name for w in gpx.waypoints][:2] == ["1. Kasbah Gate (Bab Silsila)", "2. Lahjer Gate"]
    assert len(gpx.waypoints) == 11
    assert gpx.waypoints[0].link == "http://localhost/sites/bab-el-kasbah"
    route = gpx.routes[0].points
    assert len(route) == 12 and (route[0].latitude, route[0].longitude) == (route[-1].latitude, route[-1].longitude)
    assert len(gpx.tracks[0].segments[0].points) == 12
    _trail, length = queries.get_trail(session, "gates-of-the-ramparts")
    assert gpx.tracks[0].length_2d() == pytest.approx(length, rel=0.01)  # gpxpy's sphere against the spheroid


def test_seeding_again_refreshes_the_trails_in_place(session):
    from heritage_map.config import GEODATA_DIR
    from heritage_map.transfer.seed import load_trails

    before = session.scalar(text("SELECT count(*) FROM trail_stops"))
    assert load_trails(session, GEODATA_DIR / "trails.geojson") == 3
    assert session.scalar(text("SELECT count(*) FROM trails")) == 3
    assert session.scalar(text("SELECT count(*) FROM trail_stops")) == before


def test_a_trail_file_with_an_unknown_stop_or_a_bad_line_is_refused(session, tmp_path):
    import json

    from heritage_map.transfer.seed import load_trails

    line = {"type": "LineString", "coordinates": [[-8.874, 30.472], [-8.875, 30.4725]]}
    feature = {"type": "Feature", "geometry": line, "properties": {"slug": "t", "stops": "bab-el-kasbah; nowhere"}}
    path = tmp_path / "trails.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(ValueError, match="unknown stop nowhere"):
        load_trails(session, path)
    feature["geometry"] = {"type": "LineString", "coordinates": [[30.47, -8.87], [30.48, -8.88]]}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(ValueError, match="outside Morocco"):
        load_trails(session, path)


def test_a_withdrawn_site_drops_out_of_its_trail(client, session):
    session.execute(text("UPDATE sites SET publication_status = 'withdrawn' WHERE slug = 'bab-sedra'"))
    page = client.get("/trails/kasbah-quarter").get_data(as_text=True)
    assert 'data-slug="bab-sedra"' not in page and 'data-slug="kasbah"' in page
    gpx = gpxpy.parse(client.get("/trails/kasbah-quarter.gpx").get_data(as_text=True))
    assert len(gpx.waypoints) == 3
