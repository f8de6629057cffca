"""The database connection lost in the middle of a write: nothing half-written, the form given back, a retry saves.

A real fault on a real server: a trigger the test adds makes one of the save's statements wait (pg_sleep), and
another connection ends the backend running it (pg_terminate_backend), as a crash or a restart of the server
does. The app is served from a database of its own whose transactions commit, so what was written is what a
later connection reads.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.orm import Session

from heritage_map import create_app, db
from heritage_map.catalogue.models import Association, Project, Site
from heritage_map.events.models import Event
from served_db import create_seeded, drop, plain
from tests.editing.helpers import SQUARE, project_form, token
from tests.factories import csrf_token, make_event, make_user, sign_in

DB = "heritage_map_write_faults"
TABLES = ("projects", "project_sites", "project_associations", "revisions", "reviews", "events")
# Another square, a little east of the first: a drawing that must come back on the page as it was drawn.
REDRAWN = {"type": "Polygon", "coordinates": [[[-8.8760, 30.4660], [-8.8740, 30.4660], [-8.8740, 30.4675],
                                               [-8.8760, 30.4675], [-8.8760, 30.4660]]]}


@pytest.fixture
def served(database_url):
    """An app on a committed database of its own, with an editor of Taroudant Bladna and a moderator."""
    url = create_seeded(database_url, DB)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "AUTO_SETUP": False, "SECRET_KEY": "test",
                      "TILE_URL": "none"})
    with Session(db.make_engine(url), expire_on_commit=False) as s:
        bladna = s.scalar(select(Association).where(Association.slug == "taroudant-bladna"))
        editor = make_user(s, memberships={bladna: "editor"}, email="editor@example.org")
        moderator = make_user(s, role="moderator", email="moderator@example.org")
        event = make_event(s, bladna, title_en="Clean the palm grove", publication_status="draft")
        s.commit()
        people = {"editor": editor, "moderator": moderator, "event_id": event.id, "url": url,
                  "association": bladna.id}
        s.bind.dispose()
    yield app, people
    with app.app_context():
        db.engine().dispose()
    drop(database_url, DB)


def fingerprint(url: str) -> dict:
    """Return each written table's row count and a digest of its rows."""
    with psycopg.connect(plain(url)) as conn:
        return {table: conn.execute(sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), "
                                            "'')) FROM {} t").format(sql.Identifier(table))).fetchone()
                for table in TABLES}


def killed_mid_write(url: str, table: str, send):
    """Return send()'s response, its write to `table` held by a trigger and its backend ended meanwhile."""
    with psycopg.connect(plain(url), autocommit=True) as admin:
        admin.execute("CREATE FUNCTION write_fault_wait() RETURNS trigger LANGUAGE plpgsql AS "
                      "$$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$")
        admin.execute(sql.SQL("CREATE TRIGGER write_fault BEFORE INSERT OR UPDATE ON {} FOR EACH ROW "
                              "EXECUTE FUNCTION write_fault_wait()").format(sql.Identifier(table)))
        answer = {}
        request = threading.Thread(target=lambda: answer.update(response=send()))
        try:
            request.start()
            for _ in range(300):
                waiting = admin.execute("SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND wait_event = 'PgSleep'").fetchall()
                if waiting:
                    break
                time.sleep(0.05)
            assert len(waiting) == 1, "the write never reached the trigger"
            assert admin.execute("SELECT pg_terminate_backend(%s)", [waiting[0][0]]).fetchone() == (True,)
            request.join(timeout=60)
        finally:
            admin.execute(sql.SQL("DROP TRIGGER IF EXISTS write_fault ON {}").format(sql.Identifier(table)))
            admin.execute("DROP FUNCTION IF EXISTS write_fault_wait()")
    assert not request.is_alive()
    return answer["response"]


def field_value(page: str, name: str) -> str:
    """Return the value of the form's input (or textarea) `name` on `page`."""
    found = re.search(rf'<input[^>]*\bname="{name}"[^>]*\bvalue="([^"]*)"', page) or \
        re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>([^<]*)</textarea>', page)
    assert found, f"no field {name!r} on the page"
    return html.unescape(found.group(1)).strip()


def new_draft(client, people: dict, **overrides) -> Project:
    response = client.post("/edit/projects/new", data={**project_form(association=people["association"], **overrides),
                                                       "csrf_token": token(client, "/edit/projects/new")})
    assert response.status_code == 302, response.get_data(as_text=True)
    with Session(db.make_engine(people["url"])) as s:
        project = s.scalar(select(Project).where(Project.title_en == project_form(**overrides)["title_en"]))
        s.expunge(project)
        s.bind.dispose()
    return project


def test_a_project_save_lost_mid_write_leaves_it_as_it_was_gives_the_form_back_and_a_retry_saves(served):
    app, people = served
    client = app.test_client()
    assert sign_in(client, people["editor"]).status_code == 302
    with Session(db.make_engine(people["url"])) as s:
        gate, kasbah = (s.scalar(select(Site.id).where(Site.slug == slug)) for slug in ("bab-el-khemis",
                                                                                        "bab-el-kasbah"))
        s.bind.dispose()
    project = new_draft(client, people, sites=[gate])
    path = f"/edit/projects/{project.slug}"
    typed = {**project_form(title_en="Rampart garden, second season", description_en="Water the palms <daily>.",
                            sites=[gate, kasbah], geometry=json.dumps(REDRAWN), sources="Minutes, 2027"),
             "version": str(project.version), "slug": project.slug, "association": people["association"], "csrf_token": token(client, path)}
    before = fingerprint(people["url"])

    # The new link to a site is written after the project's row and its revision: all three are in flight.
    response = killed_mid_write(people["url"], "project_sites", lambda: client.post(path, data=typed))

    assert fingerprint(people["url"]) == before  # the record, its links and its history as they were
    assert (response.status_code, response.mimetype, response.headers["Retry-After"]) == (503, "text/html", "5")
    page = response.get_data(as_text=True)
    assert "nothing was saved" in page and 'id="unsaved"' in page
    assert field_value(page, "title_en") == "Rampart garden, second season"
    assert field_value(page, "description_en") == "Water the palms <daily>."
    assert field_value(page, "sources") == "Minutes, 2027"
    assert json.loads(field_value(page, "geometry")) == REDRAWN  # what was drawn is still drawn
    assert 'value="bab-el-kasbah"' in page or f'value="{kasbah}"' in page  # the site linked anew still linked

    retried = client.post(path, data=typed)
    assert retried.status_code == 302, retried.get_data(as_text=True)
    with Session(db.make_engine(people["url"])) as s:
        saved = s.get(Project, project.id)
        assert saved.title_en == "Rampart garden, second season" and saved.version == project.version + 1
        assert sorted(site.id for site in saved.sites) == sorted([gate, kasbah])
        assert s.scalar(select(Project.geom.ST_AsGeoJSON()).where(Project.id == project.id)) is not None
        s.bind.dispose()
    after = fingerprint(people["url"])
    assert after["revisions"][0] == before["revisions"][0] + 1  # one recorded change: the retry's


def test_a_publish_lost_mid_write_stays_submitted_keeps_the_comment_and_a_retry_publishes(served):
    app, people = served
    editor, moderator = app.test_client(), app.test_client()
    assert sign_in(editor, people["editor"]).status_code == 302
    project = new_draft(editor, people, then="submit")
    assert sign_in(moderator, people["moderator"]).status_code == 302
    path = f"/review/projects/{project.slug}"
    typed = {"action": "publish", "comment": "Well drawn; thank you.", "csrf_token": csrf_token(moderator, path)}
    before = fingerprint(people["url"])

    response = killed_mid_write(people["url"], "reviews", lambda: moderator.post(path, data=typed))

    assert fingerprint(people["url"]) == before
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    page = response.get_data(as_text=True)
    assert "nothing was saved" in page and field_value(page, "comment") == "Well drawn; thank you."
    assert 'value="publish"' in page  # the buttons are there to send it again

    # A script's JSON publish lost the same way is told so in JSON.
    answer = killed_mid_write(people["url"], "reviews", lambda: moderator.post(
        path, json={"action": "publish"}, headers={"X-CSRFToken": typed["csrf_token"], "Accept": "application/json"}))
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "5")
    assert answer.get_json() == {"code": "ServiceUnavailable", "description": db.UNREACHABLE}
    assert fingerprint(people["url"]) == before

    assert moderator.post(path, data=typed).status_code == 302
    with Session(db.make_engine(people["url"])) as s:
        assert s.get(Project, project.id).publication_status == "published"
        s.bind.dispose()
    assert editor.get(f"/projects/{project.slug}").status_code == 200


def test_an_event_save_lost_mid_write_leaves_it_as_it_was_gives_the_form_back_and_a_retry_saves(served):
    app, people = served
    client = app.test_client()
    assert sign_in(client, people["editor"]).status_code == 302
    event_id = people["event_id"]
    path = f"/events/{event_id}/edit"
    page = client.get(path).get_data(as_text=True)
    typed = {name: field_value(page, name) for name in ("version", "starts_at", "ends_at")}
    typed.update(csrf_token=csrf_token(client, path), association_id=str(people["association"]), kind="clean_up", title_en="Clean the palm grove, again",
                 title_fr="", title_ar="", description_en="Gloves & bags given out", description_fr="",
                 description_ar="", site_id="", lon="-8.8815", lat="30.4702")
    before = fingerprint(people["url"])

    response = killed_mid_write(people["url"], "events", lambda: client.post(path, data=typed))

    assert fingerprint(people["url"]) == before
    assert (response.status_code, response.mimetype, response.headers["Retry-After"]) == (503, "text/html", "5")
    page = response.get_data(as_text=True)
    assert "nothing was saved" in page
    assert field_value(page, "title_en") == "Clean the palm grove, again"
    assert field_value(page, "description_en") == "Gloves & bags given out"
    assert (field_value(page, "lon"), field_value(page, "lat")) == ("-8.8815", "30.4702")  # the point as placed

    assert client.post(path, data=typed).status_code == 302
    with Session(db.make_engine(people["url"])) as s:
        event = s.get(Event, event_id)
        assert event.title_en == "Clean the palm grove, again" and event.version == int(typed["version"]) + 1
        s.bind.dispose()
