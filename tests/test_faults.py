"""The database going away under a running app: 503 with Retry-After while it is down, and back by itself after."""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from heritage_map import create_app, db
from heritage_map.devdb.cluster import Cluster
from heritage_map.errors import DatabaseUnavailable

DATA = ("/api/sites", "/ogc/collections/heritage-sites/items",
        "/ogc/collections/heritage-sites/items?limit=5000")  # the last one streams
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def cluster():
    """A throwaway cluster of its own, so that stopping it stops no other test's database."""
    base = Path(tempfile.mkdtemp(prefix="hm-faults-"))
    base.chmod(0o755)  # as root, the server runs as `postgres`, which must walk down to its folder
    c = Cluster(base / "pgdata")
    try:
        c.ensure_database()
        yield c
    finally:
        try:
            c.stop()
        finally:
            shutil.rmtree(base)


def serving(cluster: Cluster, database_url: str | None):
    """Return an app set up on `cluster`: as its embedded database, or reached through DATABASE_URL."""
    cluster.start()  # a test that failed half-way may have left it stopped
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "DATA_DIR": str(cluster.datadir),
                       "AUTO_SETUP": True, "SECRET_KEY": "test", "TILE_URL": "none"})


def outage_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "heritage_map.db"]


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "DATABASE_URL"])
def test_a_stopped_database_answers_503_logged_once_and_its_restart_200_with_the_same_app(cluster, embedded,
                                                                                          caplog):
    app = serving(cluster, None if embedded else cluster.url())
    client = app.test_client()
    for path in (*DATA, "/sites"):
        assert client.get(path).status_code == 200, path  # the pool now holds connections the stop will end
    caplog.set_level(logging.WARNING, logger="heritage_map.db")
    cluster.stop()

    message = db.STOPPED if embedded else db.UNREACHABLE
    for _ in range(3):
        for path in DATA:
            response = client.get(path)
            assert (response.status_code, response.headers["Retry-After"]) == (503, "5"), path
            assert response.get_json() == {"code": "ServiceUnavailable", "description": message}
        page = client.get("/sites", headers={"Accept": BROWSER})
        assert (page.status_code, page.mimetype, page.headers["Retry-After"]) == (503, "text/html", "5")
        assert message in page.get_data(as_text=True)
    logged = outage_log(caplog)
    assert len(logged) == 1 and logged[0].startswith("the database is unreachable ("), logged

    cluster.start()
    for path in (*DATA, "/sites"):
        assert client.get(path).status_code == 200, path
    logged = outage_log(caplog)
    assert len(logged) == 2 and logged[1].startswith("the database is reachable again after "), logged
    assert logged[1].endswith("(12 connection attempts or statements failed meanwhile)")  # one a request


def test_a_connection_lost_mid_statement_is_unavailable_and_dropped_and_a_bad_statement_is_not(cluster):
    app = serving(cluster, cluster.url())
    with app.app_context():
        with pytest.raises(DatabaseUnavailable) as lost, db.read() as conn:
            # The server ends this session while it runs the statement, as a restart does.
            conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert lost.value.status == 503 and lost.value.reason
        with pytest.raises(ProgrammingError), db.read() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
        with db.read() as conn:  # the lost connection went out of the pool, not back into it
            assert conn.scalar(text("SELECT count(*) FROM sites")) == 33


def test_a_failing_statement_still_answers_500_without_retry_after(cluster):
    app = serving(cluster, cluster.url())

    @app.get("/broken")
    def broken():
        with db.read() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    response = app.test_client().get("/broken", headers={"Accept": "application/json"})
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert response.get_json()["code"] == "ServerError"


def test_connections_ask_for_a_connect_timeout_by_default(database_url):
    eng = db.make_engine(database_url)
    try:
        with eng.connect() as conn:
            assert conn.connection.driver_connection.info.get_parameters()["connect_timeout"] == db.CONNECT_TIMEOUT
    finally:
        eng.dispose()


def test_a_server_that_accepts_but_never_answers_gives_503_once_connecting_times_out():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens; nobody accepts or answers
        port = silent.getsockname()[1]
        url = f"postgresql://nobody@127.0.0.1:{port}/db?connect_timeout=1"  # the URL's own value wins
        app = create_app({"TESTING": True, "DATABASE_URL": url, "AUTO_SETUP": False, "SECRET_KEY": "test"})
        response = app.test_client().get("/api/sites")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert response.get_json() == {"code": "ServiceUnavailable", "description": db.UNREACHABLE}


def test_a_form_post_while_the_database_is_stopped_answers_the_plain_503_page_not_a_500(cluster, caplog):
    # With no database to render the form from, the page that keeps the form (errors.keep_form_on_outage)
    # cannot be made: the plain 503 page says to try again, and nothing goes to the log as a bug.
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from heritage_map.catalogue.models import Association
    from tests.factories import csrf_token, make_event, make_user, sign_in

    app = serving(cluster, cluster.url())
    with Session(db.make_engine(cluster.url()), expire_on_commit=False) as s:
        bladna = s.scalar(select(Association).where(Association.slug == "taroudant-bladna"))
        editor = make_user(s, memberships={bladna: "editor"}, email="stopped-editor@example.org")
        event = make_event(s, bladna, publication_status="draft")
        s.commit()
        s.bind.dispose()
    client = app.test_client()
    assert sign_in(client, editor).status_code == 302
    path = f"/events/{event.id}/edit"
    data = {"csrf_token": csrf_token(client, path), "association_id": str(bladna.id), "kind": "clean_up",
            "title_en": "Clean the walls", "starts_at": "2027-06-05T09:00", "ends_at": "2027-06-05T12:00",
            "lon": "-8.88", "lat": "30.47", "version": str(event.version)}
    caplog.set_level(logging.ERROR)
    cluster.stop()
    try:
        response = client.post(path, data=data, headers={"Accept": BROWSER})
    finally:
        cluster.start()
    assert (response.status_code, response.mimetype, response.headers["Retry-After"]) == (503, "text/html", "5")
    assert db.UNREACHABLE in response.get_data(as_text=True)
    assert not [r for r in caplog.records if r.getMessage().startswith("unexpected error")]
    assert client.post(path, data=data).status_code == 302  # back, and the same post saves
