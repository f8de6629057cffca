"""An association's editors edit its profile (names, texts, themes, contact, seat); nobody else's; as a project is reviewed."""

from __future__ import annotations

import json

from geoalchemy2.shape import to_shape
from sqlalchemy import select

from heritage_map.catalogue.models import Association
from heritage_map.editing.models import Revision
from tests.editing.helpers import BOWTIE, SQUARE, association, editor_of, token
from tests.factories import make_user, sign_in

SEAT = {"type": "Point", "coordinates": [-8.8770, 30.4700]}


def profile(**overrides) -> dict:
    data = {"name_en": "Bladna <Taroudant>", "name_fr": "Bladna Taroudant", "name_ar": "بلادنا",
            "description_en": "Caring for the ramparts.", "description_fr": "", "description_ar": "",
            "themes": ["heritage", "youth"], "contact": "+212 5 28 00 00 00", "website": "https://bladna.example.org",
            "geometry": json.dumps(SEAT), "sources": "Statutes, 2019", "then": "save"}
    data.update(overrides)
    return data


def post_profile(client, slug: str, **overrides):
    path = f"/edit/associations/{slug}"
    data = profile(**overrides)
    data.setdefault("csrf_token", token(client, path))
    if "version" not in data:
        page = client.get(path).get_data(as_text=True)
        data["version"] = page.split('id="version" name="version" type="hidden" value="')[1].split('"')[0]
    return client.post(path, data=data)


def test_an_editor_edits_their_associations_profile_which_goes_back_to_review(client, app, session):
    user, bladna = editor_of(session, client, "taroudant-bladna")
    assert bladna.publication_status == "published"
    public = client.get("/associations/taroudant-bladna").get_data(as_text=True)
    assert 'href="/edit/associations/taroudant-bladna" id="edit-profile"' in public
    dashboard = client.get("/dashboard/taroudant-bladna").get_data(as_text=True)
    assert 'href="/edit/associations/taroudant-bladna" id="edit-profile"' in dashboard
    form = client.get("/edit/associations/taroudant-bladna")
    assert form.status_code == 200 and form.headers["Cache-Control"] == "private, no-store"

    response = post_profile(client, "taroudant-bladna", then="submit")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/taroudant-bladna")
    session.expire_all()
    saved = session.get(Association, bladna.id)
    assert (saved.name_en, saved.themes, saved.website) == ("Bladna <Taroudant>", ["heritage", "youth"],
                                                            "https://bladna.example.org")
    assert saved.sources == ["Statutes, 2019"]
    assert to_shape(saved.geom).coords[0] == (-8.8770, 30.4700)
    # Off the public pages until a moderator publishes it again, as an edited project is.
    assert saved.publication_status == "submitted"
    assert client.get("/associations/taroudant-bladna").status_code == 404
    change = session.scalars(select(Revision).where(Revision.table_name == "associations",
                                                    Revision.record_id == bladna.id).order_by(Revision.id)).all()
    mine = [r for r in change if r.user_id == user.id]
    assert mine and {"name_en", "themes", "website", "geom"} <= set(mine[0].changes)

    moderator = app.test_client()
    make_user(session, role="moderator", email="mod@example.org")
    session.commit()
    sign_in(moderator, type("U", (), {"email": "mod@example.org"}))
    assert 'data-slug="taroudant-bladna"' in moderator.get("/review").get_data(as_text=True)
    review = moderator.get("/review/associations/taroudant-bladna").get_data(as_text=True)
    assert "Bladna &lt;Taroudant&gt;" in review
    assert moderator.post("/review/associations/taroudant-bladna", data={
        "csrf_token": token(moderator, "/sign-in"), "action": "publish"}).status_code == 302
    page = client.get("/associations/taroudant-bladna")
    assert page.status_code == 200 and "Bladna &lt;Taroudant&gt;" in page.get_data(as_text=True)


def test_typed_coordinates_make_the_seat(client, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    assert post_profile(client, "taroudant-bladna", geometry="", seat_lon="-8.8800",
                        seat_lat="30.4690").status_code == 302
    session.expire_all()
    assert to_shape(session.get(Association, bladna.id).geom).coords[0] == (-8.88, 30.469)


def test_an_editor_of_x_cannot_edit_y_by_page_post_or_any_id(client, session):
    editor_of(session, client, "taroudant-bladna")
    awalan = association(session, "taroudant-awalan")
    before = (awalan.name_en, awalan.version)
    assert 'id="edit-profile"' not in client.get("/associations/taroudant-awalan").get_data(as_text=True)
    assert client.get("/edit/associations/taroudant-awalan").status_code == 403
    assert client.get("/dashboard/taroudant-awalan").status_code == 404
    response = client.post("/edit/associations/taroudant-awalan", data=profile(
        name_en="Hijacked", version=str(awalan.version), csrf_token=token(client, "/dashboard/taroudant-bladna")))
    assert response.status_code == 403
    assert client.post("/edit/associations/taroudant-awalan/submit", json={}, headers={
        "X-CSRFToken": token(client, "/dashboard/taroudant-bladna")}).status_code == 403
    assert client.get("/edit/associations/no-such-association").status_code == 404
    session.expire_all()
    again = session.get(Association, awalan.id)
    assert (again.name_en, again.version) == before and again.publication_status == "published"


def test_the_second_of_two_concurrent_profile_saves_is_refused_showing_the_other_change(client, app, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    read_by_both = str(bladna.version)
    old_name = bladna.name_en
    other = app.test_client()
    make_user(session, memberships={bladna: "editor"}, email="other@example.org")
    session.commit()
    sign_in(other, type("U", (), {"email": "other@example.org"}))
    assert post_profile(other, "taroudant-bladna", name_en="Their name", version=read_by_both).status_code == 302
    second = post_profile(client, "taroudant-bladna", name_en="My name", version=read_by_both)
    page = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Someone else saved this record" in page
    assert f'<td class="old">{old_name}</td><td class="new">Their name</td>' in page
    assert 'value="My name"' in page  # what was typed is kept
    session.expire_all()
    assert session.get(Association, bladna.id).name_en == "Their name"


def test_a_profile_post_without_its_csrf_token_is_refused_and_changes_nothing(client, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    response = client.post("/edit/associations/taroudant-bladna",
                           data=profile(name_en="No token", version=str(bladna.version)))
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Association, bladna.id).name_en != "No token"


def test_a_bad_seat_is_refused_next_to_the_field_with_the_form_kept(client, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    before = (bladna.name_en, bladna.version)
    for geometry in (json.dumps(SQUARE), json.dumps(BOWTIE), json.dumps({"type": "Point", "coordinates": [2.35, 48.85]}),
                     "not json"):
        response = post_profile(client, "taroudant-bladna", name_en="Kept name", geometry=geometry)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, geometry
        assert 'id="geometry-error"' in page and 'value="Kept name"' in page
    response = post_profile(client, "taroudant-bladna", name_en="Kept name", website="javascript:alert(1)")
    assert response.status_code == 400 and "http:// or https://" in response.get_data(as_text=True)
    response = post_profile(client, "taroudant-bladna", name_en="Kept name", seat_lon="-8.88", seat_lat="")
    assert response.status_code == 400 and "both the longitude and the latitude" in response.get_data(as_text=True)
    session.expire_all()
    assert (session.get(Association, bladna.id).name_en, session.get(Association, bladna.id).version) == before
