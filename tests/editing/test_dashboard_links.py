"""The dashboard lists an association's events by state; the account navigation links it; personal pages are private."""

from __future__ import annotations

from tests.editing.helpers import association, editor_of
from tests.factories import make_event, make_user, sign_in


def test_the_dashboard_lists_events_by_state_with_counts_and_the_moderators_comment(client, session):
    _user, bladna = editor_of(session, client, "taroudant-bladna")
    published = make_event(session, bladna, title_en="Published clean-up")
    sent_back = make_event(session, bladna, title_en="Sent back <walk>", publication_status="changes_requested",
                           review_comment="Say where to <b>meet</b>")
    theirs = make_event(session, association(session, "taroudant-awalan"), title_en="Their event")
    session.commit()
    page = client.get("/dashboard/taroudant-bladna").get_data(as_text=True)
    events = page.split('id="dashboard-events"')[1]
    assert '<li data-state="published"><span class="state state-published">published</span> <strong>1</strong>' in events
    assert '<li data-state="changes_requested"><span class="state state-changes_requested">changes requested</span> <strong>1</strong>' in events
    assert '<li data-state="draft"><span class="state state-draft">draft</span> <strong>0</strong>' in events
    assert f'href="/events/{published.id}"' in events and f'href="/events/{sent_back.id}/edit"' in events
    assert "Sent back &lt;walk&gt;" in events and "Say where to &lt;b&gt;meet&lt;/b&gt;" in events
    assert f'/events/{theirs.id}"' not in page and "Their event" not in page


def test_the_account_navigation_links_the_dashboard_for_members_and_moderators_only(client, app, session):
    member = make_user(session, email="member@example.org")  # no membership: nothing on a dashboard
    moderator = make_user(session, role="moderator", email="mod@example.org")
    session.commit()
    assert 'id="nav-dashboard"' not in client.get("/").get_data(as_text=True)
    sign_in(client, member)
    assert 'id="nav-dashboard"' not in client.get("/").get_data(as_text=True)
    other = app.test_client()
    sign_in(other, moderator)
    assert 'href="/dashboard" id="nav-dashboard"' in other.get("/").get_data(as_text=True)
    editor = app.test_client()
    editor_of(session, editor, "taroudant-bladna", email="editor2@example.org")
    assert 'href="/dashboard" id="nav-dashboard"' in editor.get("/associations").get_data(as_text=True)


def test_personal_pages_are_never_stored_and_public_ones_may_be(client, app, session):
    editor_of(session, client, "taroudant-bladna")
    for path in ("/dashboard/taroudant-bladna", "/edit/projects/new", "/edit/associations/taroudant-bladna",
                 "/history/associations/taroudant-bladna", "/events/new", "/events/manage", "/my-associations"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store", path
    admin = app.test_client()
    admin_user = make_user(session, role="admin", email="admin@example.org")
    session.commit()
    sign_in(admin, admin_user)
    for path in ("/review", "/events/review", "/photos/review", "/admin/people", "/admin/associations",
                 "/associations/taroudant-bladna/members"):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store", path
    assert "no-store" not in client.get("/associations/taroudant-bladna").headers.get("Cache-Control", "")
