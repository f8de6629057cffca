"""Database wiring as the app uses it outside the test transaction: pooled connections and reads."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from heritage_map import create_app, db
from heritage_map.db import make_engine

APP_NAME = "hm-test-db-wiring"


@pytest.fixture
def real_app(database_url):
    """The app on an engine of its own, its reads not routed through the test's transaction."""
    sep = "&" if "?" in database_url else "?"
    eng = make_engine(f"{database_url}{sep}application_name={APP_NAME}")
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test"}, engine=eng)
    yield app
    eng.dispose()


def heritage_count(connection) -> int:
    return connection.scalar(text("SELECT count(*) FROM sites WHERE kind = 'heritage' AND publication_status = 'published'"))


def test_a_pooled_connection_the_server_ended_is_replaced_before_use(real_app, connection):
    client = real_app.test_client()
    assert client.get("/ogc/collections/heritage-sites/items").status_code == 200
    # The app's idle pooled connection, ended as a server restart would end it; the timeout makes the
    # call wait until the backend has gone (and closed its socket), as it has after a restart.
    ended = connection.scalar(text("SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                                   "WHERE application_name = :name"), {"name": APP_NAME})
    assert ended >= 1
    for path in ("/ogc/collections/heritage-sites/items", "/ogc/collections/heritage-sites/items/bab-el-khemis",
                 "/sites/bab-el-khemis"):
        assert client.get(path).status_code == 200, path


def test_connections_ask_for_tcp_keepalives_unless_the_url_sets_them(database_url):
    """A server gone silent shows on the pooled socket (see db.KEEPALIVES); a URL's own values win."""
    sep = "&" if "?" in database_url else "?"
    for url, idle in ((database_url, "60"), (f"{database_url}{sep}keepalives_idle=7", "7")):
        eng = make_engine(url)
        try:
            with eng.connect() as conn:
                parameters = conn.connection.driver_connection.info.get_parameters()
        finally:
            eng.dispose()
        assert (parameters["keepalives"], parameters["keepalives_idle"], parameters["keepalives_count"]) \
            == ("1", idle, "3")


def test_reads_run_in_autocommit_and_leave_no_autocommit_behind(real_app):
    with real_app.app_context():
        with db.read() as conn:
            assert conn.connection.driver_connection.autocommit
            assert conn.scalar(text("SELECT 1")) == 1
        with db.read(transaction=True) as conn:
            assert not conn.connection.driver_connection.autocommit
            assert conn.scalar(text("SELECT now() = statement_timestamp()")) is False  # inside a transaction
        session = db.session()
        assert not session.connection().connection.driver_connection.autocommit


def test_a_page_larger_than_one_fetch_streams_through_a_server_side_cursor(real_app, connection):
    body = real_app.test_client().get("/ogc/collections/heritage-sites/items?limit=5000").get_json()
    assert body["numberReturned"] == body["numberMatched"] == heritage_count(connection)


def test_binary_results_are_asked_for_by_the_statements_that_say_so(real_app):
    """A geometry has no psycopg loader: text format gives its hex, binary format its bytes."""
    point = text("SELECT ST_MakePoint(1, 2)")
    with real_app.app_context(), db.read() as conn:
        assert isinstance(conn.scalar(point), str)
        assert isinstance(conn.scalar(point.execution_options(binary_results=True)), bytes)
        assert isinstance(conn.scalar(point), str)  # the next statement is back to text


def test_a_feature_page_is_utf8_as_the_database_wrote_it(real_app, connection):
    body = real_app.test_client().get("/ogc/collections/heritage-sites/items/bab-el-khemis").get_data()
    name_ar = connection.scalar(text("SELECT name_ar FROM sites WHERE slug = 'bab-el-khemis'"))
    assert name_ar and name_ar.encode() in body  # Arabic as UTF-8, not \\u escapes or mojibake


def test_a_streamed_page_joins_its_batches_trims_the_extra_row_and_counts_first(real_app, connection, monkeypatch):
    """With batches of 5, a page of 12 heritage sites comes in three batches and a row beyond it."""
    from sqlalchemy import event

    from heritage_map.ogc import items

    monkeypatch.setattr(items, "CHUNK", 5)
    monkeypatch.setattr(items, "_statements", items._Statements())
    kinds = []
    engine = real_app.extensions["heritage_map.engine"]

    def spy(_conn, cursor, statement, *_args):
        if statement.startswith("SELECT layer, version"):  # the ETag's read of the layers' versions (freshness.py)
            return
        kinds.append(("count" if statement.lstrip().startswith("SELECT count") else "page",
                      type(cursor).__name__))
    event.listen(engine, "before_cursor_execute", spy)
    client = real_app.test_client()
    body = client.get("/ogc/collections/heritage-sites/items?limit=12").get_json()
    expected = connection.scalars(text("SELECT slug FROM sites WHERE kind = 'heritage' AND publication_status = 'published' "
                                       "ORDER BY id")).all()
    assert [f["id"] for f in body["features"]] == expected[:12]
    assert body["numberReturned"] == 12 and body["numberMatched"] == len(expected) > 12
    assert kinds == [("count", "Cursor"), ("page", "ServerCursor")]  # counted first; the page by server cursor
    following = client.get(next(link["href"] for link in body["links"] if link["rel"] == "next")).get_json()
    assert [f["id"] for f in following["features"]] == expected[12:24]
