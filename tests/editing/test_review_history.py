"""Moderators review submissions (diff, comments, publish, unpublish); every change is recorded; admins restore."""

from __future__ import annotations

import json

from sqlalchemy import select

from heritage_map.catalogue.models import Project
from heritage_map.editing.models import Revision
from tests.editing.helpers import SQUARE, association, editor_of, post_project, token
from tests.factories import make_user, sign_in


def submitted_project(session, client, **overrides) -> Project:
    a = association(session, "taroudant-bladna")
    response = post_project(client, "/edit/projects/new?association=taroudant-bladna", association=a.id,
                            then="submit", **overrides)
    assert response.status_code == 302
    return session.scalar(select(Project).where(Project.title_en == overrides.get("title_en", "Rampart garden")))


def signed_in(app, session, role: str, email: str):
    client = app.test_client()
    user = make_user(session, role=role, email=email)
    session.commit()
    assert sign_in(client, user).status_code == 302
    return client, user


def act(client, project, action: str, comment: str = ""):
    path = f"/review/projects/{project.slug}"
    return client.post(path, data={"csrf_token": token(client, "/sign-in"), "action": action, "comment": comment})


def test_the_whole_review_requested_changes_then_published_then_unpublished(client, app, session):
    editor_of(session, client, "taroudant-bladna")
    project = submitted_project(session, client)
    moderator, _mod = signed_in(app, session, "moderator", "mod@example.org")
    queue = moderator.get("/review").get_data(as_text=True)
    assert f'data-slug="{project.slug}"' in queue
    assert act(moderator, project, "request_changes").status_code == 400  # a comment is required
    assert act(moderator, project, "request_changes", "Say which <b>wall</b> section").status_code == 302
    session.expire_all()
    assert session.get(Project, project.id).publication_status == "changes_requested"
    dashboard = client.get("/dashboard/taroudant-bladna").get_data(as_text=True)
    assert "Say which &lt;b&gt;wall&lt;/b&gt; section" in dashboard  # the comment, inert
    assert '<li data-state="changes_requested"><span class="state state-changes_requested">changes requested</span> <strong>1</strong>' in dashboard
    fixed = post_project(client, f"/edit/projects/{project.slug}", title_en="Rampart garden",
                         description_en="Planting along the south wall.", then="submit",
                         association=association(session, "taroudant-bladna").id, version=str(
                             session.get(Project, project.id).version))
    assert fixed.status_code == 302
    session.expire_all()
    assert session.get(Project, project.id).publication_status == "submitted"
    assert act(moderator, project, "publish").status_code == 302
    session.expire_all()
    assert session.get(Project, project.id).publication_status == "published"
    assert client.get(f"/projects/{project.slug}").status_code == 200
    assert any(f["properties"]["slug"] == project.slug for f in client.get("/api/projects").get_json()["features"])
    assert act(moderator, project, "publish").status_code == 409  # already published
    assert act(moderator, project, "unpublish").status_code == 302
    assert client.get(f"/projects/{project.slug}").status_code == 404


def test_an_editor_cannot_publish_their_own_project(client, session):
    editor_of(session, client, "taroudant-bladna")
    project = submitted_project(session, client)
    assert act(client, project, "publish").status_code == 403
    session.expire_all()
    assert session.get(Project, project.id).publication_status == "submitted"


def test_the_review_page_shows_old_and_new_geometry_and_an_escaped_field_diff(client, app, session):
    editor_of(session, client, "taroudant-bladna")
    project = submitted_project(session, client, title_en="<script>alert(1)</script>")
    moderator, _mod = signed_in(app, session, "moderator", "mod@example.org")
    assert act(moderator, project, "publish").status_code == 302
    moved = {"type": "Point", "coordinates": [-8.8800, 30.4700]}
    session.expire_all()
    response = post_project(client, f"/edit/projects/{project.slug}", title_en="<script>alert(1)</script>",
                            description_en="New <img src=x onerror=alert(2)>", geometry=json.dumps(moved),
                            then="submit", association=association(session, "taroudant-bladna").id,
                            version=str(session.get(Project, project.id).version))
    assert response.status_code == 302
    page = moderator.get(f"/review/projects/{project.slug}").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "New &lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert '<tr data-field="geom"><th>geom</th><td class="old">Polygon, 5 vertices</td><td class="new">Point, 1 vertices</td>' in page
    data = json.loads(page.split('<script type="application/json" id="review-geometries">')[1].split("</script>")[0])
    assert data["old"]["type"] == "Polygon" and data["new"] == moved
    assert 'data-field="title_en"' not in page  # unchanged since published


def test_every_change_is_recorded_with_who_and_an_admin_restores_an_earlier_version(client, app, session):
    user, bladna = editor_of(session, client, "taroudant-bladna")
    project = submitted_project(session, client)
    moderator, mod = signed_in(app, session, "moderator", "mod@example.org")
    act(moderator, project, "request_changes", "Shorter title please")
    session.expire_all()
    post_project(client, f"/edit/projects/{project.slug}", title_en="Garden", geometry=json.dumps(
        {"type": "Point", "coordinates": [-8.88, 30.47]}), association=bladna.id,
        version=str(session.get(Project, project.id).version))
    revisions = list(session.scalars(select(Revision).where(Revision.table_name == "projects",
                                                            Revision.record_id == project.id).order_by(Revision.id)))
    assert [(r.operation, r.user_id) for r in revisions] == [
        ("insert", user.id), ("update", user.id), ("update", mod.id), ("update", user.id)]
    assert revisions[2].changes == {"publication_status": {"old": "submitted", "new": "changes_requested"}}
    last = revisions[3].changes
    assert last["title_en"] == {"old": "Rampart garden", "new": "Garden"}
    assert last["geom"]["old"]["type"] == "Polygon" and last["geom"]["new"]["type"] == "Point"
    history = client.get(f"/history/projects/{project.slug}").get_data(as_text=True)
    assert "A member" in history and "Restore this version" not in history  # editors read, admins restore
    admin, admin_user = signed_in(app, session, "admin", "admin@example.org")
    path = f"/history/projects/{project.slug}"
    assert moderator.post(path + "/restore", data={"csrf_token": token(moderator, path),
                                                   "revision": revisions[0].id}).status_code == 403
    assert admin.post(path + "/restore", data={"revision": revisions[0].id}).status_code == 400  # no CSRF token
    assert admin.post(path + "/restore", data={"csrf_token": token(admin, path),
                                               "revision": revisions[0].id}).status_code == 302
    session.expire_all()
    restored = session.get(Project, project.id)
    assert restored.title_en == "Rampart garden"
    assert restored.publication_status == "changes_requested"  # a restore keeps the review state
    assert session.scalar(select(Project.geom.ST_GeometryType()).where(Project.id == project.id)) == "ST_Polygon"
    newest = session.scalar(select(Revision).where(Revision.table_name == "projects", Revision.record_id == project.id)
                            .order_by(Revision.id.desc()).limit(1))
    assert newest.user_id == admin_user.id and newest.changes["title_en"] == {"old": "Garden", "new": "Rampart garden"}
    assert "Restore this version" in admin.get(path).get_data(as_text=True)


def test_history_of_another_associations_draft_is_not_found(client, app, session):
    editor_of(session, client, "taroudant-bladna")
    project = submitted_project(session, client)
    other = app.test_client()
    editor_of(session, other, "taroudant-awalan", email="awalan@example.org")
    assert other.get(f"/history/projects/{project.slug}").status_code == 404
    assert app.test_client().get(f"/history/projects/{project.slug}").status_code == 302  # to sign-in


def test_changes_made_outside_the_app_are_recorded_as_no_ones(session):
    from heritage_map.catalogue.models import Association

    a = session.scalar(select(Association).where(Association.slug == "taroudant-bladna"))
    a.website = "https://example.org/new"
    session.flush()
    revision = session.scalar(select(Revision).where(Revision.table_name == "associations",
                                                     Revision.record_id == a.id).order_by(Revision.id.desc()).limit(1))
    assert revision.user_id is None and set(revision.changes) == {"website"}


def test_record_pages_link_their_history_for_those_allowed_only(client, app, session):
    anonymous = app.test_client().get("/associations/taroudant-bladna").get_data(as_text=True)
    assert "History of changes" not in anonymous
    editor_of(session, client, "taroudant-bladna")
    own = client.get("/associations/taroudant-bladna").get_data(as_text=True)
    assert 'href="/history/associations/taroudant-bladna"' in own
    assert "History of changes" not in client.get("/associations/taroudant-awalan").get_data(as_text=True)
    moderator, _mod = signed_in(app, session, "moderator", "mod@example.org")
    site = moderator.get("/sites/bab-el-khemis").get_data(as_text=True)
    assert 'href="/history/sites/bab-el-khemis"' in site and 'href="/edit/sites/bab-el-khemis"' in site
    assert moderator.get("/history/sites/bab-el-khemis").status_code == 200


def test_a_moderator_publishes_by_json_only_with_the_csrf_header(client, app, session):
    editor_of(session, client, "taroudant-bladna")
    project = submitted_project(session, client)
    moderator, _mod = signed_in(app, session, "moderator", "mod@example.org")
    url = f"/review/projects/{project.slug}"
    assert moderator.post(url, json={"action": "publish"}).status_code == 400
    session.expire_all()
    assert session.get(Project, project.id).publication_status == "submitted"
    answer = moderator.post(url, json={"action": "publish"}, headers={"X-CSRFToken": token(moderator, "/sign-in")})
    assert answer.status_code == 200 and answer.get_json() == {"slug": project.slug, "publication_status": "published"}
