"""Every change to an event is a revision (who, which fields); admins restore one, and the restore is recorded."""

from __future__ import annotations

from sqlalchemy import select

from heritage_map.editing.models import Revision
from heritage_map.events.models import Event
from tests.events.test_forms import event_data
from tests.factories import csrf_token, make_association, make_user, sign_in


def revisions_of(session, event_id: int) -> list[Revision]:
    session.expire_all()
    return list(session.scalars(select(Revision).where(Revision.table_name == "events",
                                                       Revision.record_id == event_id).order_by(Revision.id)))


def test_an_event_edit_is_recorded_with_who_and_which_fields_and_an_admin_restores_it(client, app, session):
    x = make_association(session, slug="assoc-x", name_en="Association X")
    editor = make_user(session, email="x@example.org", display_name="Editor X", memberships={x: "editor"})
    admin = make_user(session, email="admin@example.org", role="admin")
    session.commit()
    sign_in(client, editor)
    assert client.post("/events/new", data=event_data(client, x)).status_code == 302
    event = session.scalar(select(Event).where(Event.title_en == "Clean the palm grove"))
    path = f"/events/{event.id}/edit"
    assert client.post(path, data=event_data(client, x, path=path, title_en="Clean the <b>oasis</b>",
                                              version=str(event.version))).status_code == 302
    created, edited = revisions_of(session, event.id)
    assert created.operation == "insert" and created.user_id == editor.id
    assert edited.operation == "update" and edited.user_id == editor.id
    assert set(edited.changes) == {"title_en"}
    assert edited.changes["title_en"] == {"old": "Clean the palm grove", "new": "Clean the <b>oasis</b>"}

    page = client.get(f"/history/events/{event.id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    text = page.get_data(as_text=True)
    assert "Editor X" in text and "Clean the &lt;b&gt;oasis&lt;/b&gt;" in text
    assert f'href="/history/events/{event.id}"' in client.get(f"/events/{event.id}").get_data(as_text=True)
    # An editor does not restore; an admin does.
    restore = f"/history/events/{event.id}/restore"
    token = csrf_token(client, f"/history/events/{event.id}")
    assert client.post(restore, data={"csrf_token": token, "revision": created.id}).status_code == 403

    admin_client = app.test_client()
    sign_in(admin_client, admin)
    token = csrf_token(admin_client, f"/history/events/{event.id}")
    assert admin_client.post(restore, data={"csrf_token": token, "revision": created.id}).status_code == 302
    session.expire_all()
    restored = session.get(Event, event.id)
    assert restored.title_en == "Clean the palm grove" and restored.association_id == x.id
    assert restored.version == edited.version + 1
    last = revisions_of(session, event.id)[-1]
    assert last.user_id == admin.id and last.changes["title_en"]["new"] == "Clean the palm grove"


def test_another_associations_editor_does_not_see_an_events_history(client, session):
    x = make_association(session, slug="assoc-x", name_en="Association X")
    y = make_association(session, slug="assoc-y", name_en="Association Y")
    editor_x = make_user(session, email="x@example.org", memberships={x: "editor"})
    editor_y = make_user(session, email="y@example.org", memberships={y: "editor"})
    session.commit()
    sign_in(client, editor_x)
    assert client.post("/events/new", data=event_data(client, x)).status_code == 302
    event = session.scalar(select(Event).where(Event.title_en == "Clean the palm grove"))
    other = client.application.test_client()
    sign_in(other, editor_y)
    assert other.get(f"/history/events/{event.id}").status_code == 404
    assert other.get("/history/events/999999").status_code == 404
