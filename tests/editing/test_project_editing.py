"""Associations' editors create, edit and submit projects; geometry checks; conflicts; CSRF; other associations."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from heritage_map.catalogue.models import Project, Site
from heritage_map.editing.models import Review, Revision
from tests.editing.helpers import BOWTIE, SQUARE, association, editor_of, post_project, project_form, token
from tests.factories import make_user, sign_in


def new_project(session, client, slug="taroudant-bladna", **overrides):
    response = post_project(client, f"/edit/projects/new?association={slug}", association=association(
        session, slug).id, **overrides)
    assert response.status_code == 302, [line for line in response.get_data(as_text=True).splitlines() if "field-error" in line or "aria-invalid" in line]
    return session.scalar(select(Project).where(Project.title_en == overrides.get("title_en", "Rampart garden")))


def test_an_editor_creates_a_draft_project_with_its_footprint_and_lead(client, session):
    user, bladna = editor_of(session, client, "taroudant-bladna")
    project = new_project(session, client)
    assert project.publication_status == "draft"
    assert project.slug == "rampart-garden"
    assert [(link.association_id, link.role) for link in project.links] == [(bladna.id, "lead")]
    assert session.scalar(select(Project.geom.ST_GeometryType()).where(Project.id == project.id)) == "ST_Polygon"
    assert project.themes == ["heritage", "environment"] and project.sources == ["Association minutes, 2026"]
    revision = session.scalar(select(Revision).where(Revision.table_name == "projects",
                                                     Revision.record_id == project.id))
    assert revision.user_id == user.id and revision.operation == "insert"
    assert revision.changes["geom"]["new"]["type"] == "Polygon"
    assert client.get(f"/projects/{project.slug}").status_code == 404  # a draft is not public


def test_save_and_submit_sends_the_project_to_the_moderators(client, session):
    editor_of(session, client, "taroudant-bladna")
    project = new_project(session, client, then="submit")
    assert project.publication_status == "submitted"
    assert session.scalar(select(Review.action).where(Review.record_id == project.id)) == "submitted"


def test_linked_sites_and_partners_are_saved_and_other_drafts_cannot_be_linked(client, session):
    user, bladna = editor_of(session, client, "taroudant-bladna")
    awalan = association(session, "taroudant-awalan")
    gate = session.scalar(select(Site).where(Site.slug == "bab-el-khemis"))
    theirs = Site(slug="their-draft-site", name_en="Their draft", kind="heritage", category="gate", sources=["x"],
                  coord_confidence="low", publication_status="draft", proposed_by_association_id=awalan.id,
                  geom="SRID=4326;POINT(-8.88 30.47)")
    session.add(theirs)
    session.commit()
    project = new_project(session, client, sites=[gate.id, theirs.id], partner_associations=[awalan.id])
    assert [s.slug for s in project.sites] == ["bab-el-khemis"]
    assert sorted((link.association_id, link.role) for link in project.links) == sorted(
        [(bladna.id, "lead"), (awalan.id, "partner")])


def test_site_search_finds_names_in_any_language_and_never_another_associations_drafts(client, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    awalan = association(session, "taroudant-awalan")
    for slug, owner in (("our-draft-bab", bladna), ("their-draft-bab", awalan)):
        session.add(Site(slug=slug, name_en=f"Bab {slug}", kind="heritage", category="gate", sources=["x"],
                         coord_confidence="low", publication_status="draft", proposed_by_association_id=owner.id,
                         geom="SRID=4326;POINT(-8.88 30.47)"))
    session.commit()
    found = client.get(f"/edit/site-search?q=bab&association={bladna.id}").get_json()
    slugs = {s["slug"] for s in found}
    assert "bab-el-khemis" in slugs and "our-draft-bab" in slugs and "their-draft-bab" not in slugs
    asked_for_theirs = client.get(f"/edit/site-search?q=bab&association={awalan.id}").get_json()
    assert "their-draft-bab" not in {s["slug"] for s in asked_for_theirs}
    assert "our-draft-bab" not in {s["slug"] for s in asked_for_theirs}
    arabic = client.get("/edit/site-search?q=" + "باب").get_json()
    assert arabic and all(s["publication_status"] == "published" for s in arabic)


def test_a_self_crossing_polygon_is_repaired_shown_and_saved_only_once_seen(client, session):
    editor_of(session, client, "taroudant-bladna")
    path = "/edit/projects/new?association=taroudant-bladna"
    response = post_project(client, path, association=association(session, "taroudant-bladna").id,
                            geometry=json.dumps(BOWTIE), title_en="Bowtie <b>garden</b>")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "was repaired from one Polygon of 5 vertices into a MultiPolygon of 2 parts" in page
    assert 'value="Bowtie &lt;b&gt;garden&lt;/b&gt;"' in page  # kept as typed, inert
    assert session.scalar(select(Project).where(Project.title_en.like("Bowtie%"))) is None
    repaired = json.loads(page.split('id="geometry" name="geometry" type="hidden" value="')[1].split('"')[0]
                          .replace("&#34;", '"').replace("&quot;", '"'))
    assert repaired["type"] == "MultiPolygon"
    again = post_project(client, path, association=association(session, "taroudant-bladna").id,
                         geometry=json.dumps(repaired), title_en="Bowtie <b>garden</b>")
    assert again.status_code == 302


def test_bad_geometries_are_refused_next_to_the_field_and_nothing_is_lost(client, session):
    editor_of(session, client, "taroudant-bladna")
    path = "/edit/projects/new?association=taroudant-bladna"
    a = association(session, "taroudant-bladna").id
    casablanca = {"type": "Point", "coordinates": [-7.59, 33.57]}
    many = {"type": "LineString", "coordinates": [[-8.9 + i * 1e-5, 30.47] for i in range(6000)]}
    for geometry, message in ((casablanca, "coordinates outside Taroudant province"),
                              (many, "geometry has 6000 vertices; at most 5000 are accepted"),
                              ({"type": "Polygon", "coordinates": [[[-8.9, 30.4]]]}, "not a readable GeoJSON"),
                              ("not json", "could not be read")):
        text = geometry if isinstance(geometry, str) else json.dumps(geometry)
        response = post_project(client, path, association=a, geometry=text, title_en="Kept title")
        page = response.get_data(as_text=True)
        assert response.status_code == 400, message
        assert 'class="field-error" id="geometry-error"' in page and message in page, message
        assert 'value="Kept title"' in page and "Planting along the wall." in page
    assert session.scalar(select(Project).where(Project.title_en == "Kept title")) is None


def test_an_uploaded_gpx_track_in_any_crs_becomes_the_footprint(client, session, tmp_path):
    editor_of(session, client, "taroudant-bladna")
    gpx = ('<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
           '<trk><name>walk</name><trkseg><trkpt lat="30.470" lon="-8.880"/><trkpt lat="30.472" lon="-8.878"/>'
           '<trkpt lat="30.474" lon="-8.879"/></trkseg></trk></gpx>')
    path = "/edit/projects/new?association=taroudant-bladna"
    data = project_form(association=association(session, "taroudant-bladna").id, geometry="",
                        csrf_token=token(client, path), title_en="Walk")
    data["footprint_file"] = (__import__("io").BytesIO(gpx.encode()), "walk.gpx")
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    project = session.scalar(select(Project).where(Project.title_en == "Walk"))
    assert session.scalar(select(Project.geom.ST_GeometryType()).where(Project.id == project.id)) in (
        "ST_MultiLineString", "ST_LineString")


def test_the_second_of_two_concurrent_saves_is_refused_showing_the_other_change(client, app, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    project = new_project(session, client)
    path = f"/edit/projects/{project.slug}"
    read_by_both = project.version
    other = app.test_client()
    make_user(session, memberships={bladna: "editor"}, email="other@example.org", display_name="Other editor")
    session.commit()
    sign_in(other, type("U", (), {"email": "other@example.org"}))
    first = post_project(other, path, version=str(read_by_both), title_en="Their title",
                         association=bladna.id)
    assert first.status_code == 302
    second = post_project(client, path, version=str(read_by_both), title_en="My title", association=bladna.id)
    page = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Someone else saved this record" in page
    assert '<tr data-field="title_en"><th>title_en</th><td class="old">Rampart garden</td><td class="new">Their title</td>' in page
    assert 'value="My title"' in page
    session.expire_all()
    assert session.get(Project, project.id).title_en == "Their title"
    # Saving again after seeing the changes is a choice: it goes through.
    version_now = page.split('id="version" name="version" type="hidden" value="')[1].split('"')[0]
    assert post_project(client, path, version=version_now, title_en="My title", association=bladna.id).status_code == 302
    session.expire_all()
    assert session.get(Project, project.id).title_en == "My title"


def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(client, session):
    editor_of(session, client, "taroudant-bladna")
    data = project_form(association=association(session, "taroudant-bladna").id, title_en="No token")
    response = client.post("/edit/projects/new", data=data)
    assert response.status_code == 400
    assert session.scalar(select(Project).where(Project.title_en == "No token")) is None


def test_a_json_request_without_the_csrf_header_is_refused_and_with_it_accepted(client, session):
    editor_of(session, client, "taroudant-bladna")
    project = new_project(session, client)
    url = f"/edit/projects/{project.slug}/submit"
    assert client.post(url, json={}).status_code == 400
    session.expire_all()
    assert session.get(Project, project.id).publication_status == "draft"
    answer = client.post(url, json={}, headers={"X-CSRFToken": token(client, f"/edit/projects/{project.slug}")})
    assert answer.status_code == 200 and answer.get_json()["publication_status"] == "submitted"


def test_an_editor_of_one_association_cannot_touch_anothers_projects(client, session, app):
    owner = app.test_client()
    editor_of(session, owner, "taroudant-awalan", email="awalan@example.org")
    theirs = new_project(session, owner, slug="taroudant-awalan", title_en="Their project")
    editor_of(session, client, "taroudant-bladna")
    assert client.get(f"/edit/projects/{theirs.slug}").status_code == 404  # a draft: not even seen
    assert client.get(f"/history/projects/{theirs.slug}").status_code == 404
    response = post_project(client, f"/edit/projects/{theirs.slug}", title_en="Hijacked",
                            association=association(session, "taroudant-bladna").id,
                            csrf_token=token(client, "/dashboard/taroudant-bladna"))
    assert response.status_code == 404
    json_submit = client.post(f"/edit/projects/{theirs.slug}/submit", json={},
                              headers={"X-CSRFToken": token(client, "/dashboard/taroudant-bladna")})
    assert json_submit.status_code == 404
    assert client.get("/dashboard/taroudant-awalan").status_code == 404
    # A new project for the other association is refused too.
    refused = post_project(client, "/edit/projects/new", association=association(session, "taroudant-awalan").id,
                           title_en="Planted", csrf_token=token(client, "/dashboard/taroudant-bladna"))
    assert refused.status_code in (400, 403)
    # A published project of theirs is seen but may not be changed.
    session.expire_all()
    theirs = session.get(Project, theirs.id)
    theirs.publication_status = "published"
    session.commit()
    assert client.get(f"/edit/projects/{theirs.slug}").status_code == 403
    session.expire_all()
    assert session.get(Project, theirs.id).title_en == "Their project"
    assert client.get("/review").status_code == 403


def test_an_editor_proposes_a_site_that_enters_review(client, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    path = "/edit/sites/new?association=taroudant-bladna"
    data = {"csrf_token": token(client, path), "association": bladna.id, "name_en": "Old well", "category": "garden",
            "coord_confidence": "medium", "protection_status": "unknown", "condition": "unknown",
            "sources": "Survey by the association", "geometry": json.dumps({"type": "Point",
                                                                            "coordinates": [-8.876, 30.468]}),
            "then": "submit"}
    assert client.post(path, data=data).status_code == 302
    site = session.scalar(select(Site).where(Site.slug == "old-well"))
    assert (site.publication_status, site.kind, site.proposed_by_association_id) == ("submitted", "environment",
                                                                                     bladna.id)
    missing = dict(data, sources="", geometry="", name_en="No sources")
    response = client.post(path, data=missing)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at least one source" in page and "draw the site on the map" in page


def test_seed_sites_are_edited_by_moderators_only(client, session, app):
    editor_of(session, client, "taroudant-bladna")
    assert client.get("/edit/sites/bab-el-khemis").status_code == 403
    moderator = app.test_client()
    mod = make_user(session, role="moderator", email="mod@example.org")
    session.commit()
    sign_in(moderator, mod)
    assert moderator.get("/edit/sites/bab-el-khemis").status_code == 200


def test_a_stored_geometry_sent_back_unchanged_is_not_checked_again(client, session, app):
    from heritage_map.editing.saving import geometry_text

    moderator = app.test_client()
    mod = make_user(session, role="moderator", email="mod@example.org")
    session.commit()
    sign_in(moderator, mod)
    mouth = session.scalar(select(Site).where(Site.slug == "souss-river-mouth"))  # beyond the province's box
    path = "/edit/sites/souss-river-mouth"
    data = {"csrf_token": token(moderator, path), "version": str(mouth.version), "name_en": "Mouth of the Souss",
            "category": mouth.category, "coord_confidence": mouth.coord_confidence,
            "protection_status": mouth.protection_status, "condition": mouth.condition,
            "sources": "\n".join(mouth.sources), "geometry": geometry_text(mouth)}
    assert moderator.post(path, data=data).status_code == 302
    moved = dict(data, csrf_token=token(moderator, path), version=str(mouth.version + 1),
                 geometry=json.dumps({"type": "Point", "coordinates": [-9.61, 30.36]}))
    response = moderator.post(path, data=moved)
    assert response.status_code == 400 and "outside Taroudant province" in response.get_data(as_text=True)
