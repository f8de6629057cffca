"""Limits that protect the service: rates per address, the statement timeout and body sizes, on a real PostGIS."""

from __future__ import annotations

import io
import json
import threading
import time

import psycopg
import pytest
from sqlalchemy import make_url, text
from werkzeug.test import EnvironBuilder, run_wsgi_app

from factories import csrf_token
from heritage_map import create_app

NEAR = "/api/near?lon=-8.87&lat=30.47&radius=500"
SQUARE = {"type": "Polygon", "coordinates": [[[-8.88, 30.46], [-8.86, 30.46], [-8.86, 30.48], [-8.88, 30.48],
                                              [-8.88, 30.46]]]}


def limited_client(app, **config):
    """A client of an app like `app` (in the test's transaction) with settings changed: limits are read at start."""
    fresh = create_app({**app.config, **config}, engine=app.extensions["heritage_map.engine"])
    fresh.extensions.update({k: v for k, v in app.extensions.items() if k.startswith("heritage_map.")})
    return fresh.test_client()


def served_app(database_url, **config):
    """An app on its own engine and pool, as a gunicorn worker has (commits are real)."""
    return create_app({"DATABASE_URL": make_url(database_url).render_as_string(hide_password=False),
                       "AUTO_SETUP": False, "SECRET_KEY": "test", "TESTING": True, **config})


# Hour-long windows in these tests: a minute's could end between two of a test's requests.
def test_a_question_past_the_limit_answers_429_with_retry_after_and_the_limit(app):
    client = limited_client(app, RATE_LIMIT_QUESTIONS="3/hour")
    assert [client.get(NEAR).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(NEAR)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["RateLimit-Policy"] == "3;w=3600"
    body = refused.get_json()
    assert body["code"] == "TooManyRequests"
    assert body["description"].startswith("too many requests for spatial questions from your address: the limit "
                                          "is 3 an hour; try again in ")


def test_another_address_has_its_own_count_and_other_routes_are_not_counted(app):
    client = limited_client(app, RATE_LIMIT_QUESTIONS="1/hour")
    assert client.get(NEAR).status_code == 200
    assert client.get(NEAR).status_code == 429
    assert client.get(NEAR, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.post("/api/summary", json=SQUARE).status_code == 429  # one bucket for every question
    assert client.get("/api/sites").status_code == 200
    assert client.get("/ogc/collections/heritage-sites/items").status_code == 200


def test_a_refused_page_is_a_page_saying_the_limit(app):
    client = limited_client(app, RATE_LIMIT_SIGN_IN="1/hour")
    token = csrf_token(client)
    form = {"csrf_token": token, "email": "nobody@example.org", "password": "whatever"}
    assert client.post("/sign-in", data=form, headers={"Accept": "text/html"}).status_code == 401
    assert client.get("/sign-in").status_code == 200  # the form itself is not counted
    refused = client.post("/sign-in", data=form, headers={"Accept": "text/html"})
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert "too many requests for signing in from your address: the limit is 1 an hour" in refused.get_data(
        as_text=True)


def test_uploads_have_a_limit_of_their_own(app):
    client = limited_client(app, RATE_LIMIT_UPLOADS="1/hour")
    upload = {"file": (io.BytesIO(json.dumps(SQUARE).encode()), "area.geojson")}
    assert client.post("/api/within", data=upload, content_type="multipart/form-data").status_code == 200
    upload = {"file": (io.BytesIO(json.dumps(SQUARE).encode()), "area.geojson")}
    refused = client.post("/api/within", data=upload, content_type="multipart/form-data")
    assert refused.status_code == 429
    assert "too many requests for uploads" in refused.get_json()["description"]
    assert client.post("/api/within", json=SQUARE).status_code == 200  # the same question as JSON is not an upload


def test_exports_are_limited(app):
    client = limited_client(app, RATE_LIMIT_EXPORTS="1/hour")
    assert client.get("/api/export/ramparts?format=csv").status_code == 200
    refused = client.get("/api/export/ramparts?format=csv")
    assert refused.status_code == 429 and refused.headers["RateLimit-Policy"] == "1;w=3600"
    assert "the limit is 1 an hour" in refused.get_json()["description"]


def test_two_workers_on_their_own_pools_share_one_count(database_url):
    # Two apps, each with its own engine, are two gunicorn workers: the count lives in the database.
    address = "198.51.100.23"
    workers = [served_app(database_url, RATE_LIMIT_QUESTIONS="4/hour").test_client() for _ in range(2)]
    try:
        codes = [workers[i % 2].get(NEAR, environ_base={"REMOTE_ADDR": address}).status_code for i in range(6)]
        assert codes == [200, 200, 200, 200, 429, 429]
    finally:
        with psycopg.connect(make_url(database_url).set(drivername="postgresql")
                             .render_as_string(hide_password=False)) as conn:
            conn.execute("DELETE FROM rate_counts WHERE address = %s", [address])
        for w in workers:
            w.application.extensions["heritage_map.engine"].dispose()


def test_no_limit_when_set_to_zero(app):
    client = limited_client(app, RATE_LIMIT_QUESTIONS="0", RATE_LIMIT_EXPORTS="1/minute")
    assert {client.get(NEAR).status_code for _ in range(70)} == {200}


def test_a_rate_that_cannot_be_read_stops_the_start(app):
    from heritage_map.errors import SetupError

    with pytest.raises(SetupError, match="HERITAGE_MAP_RATE_LIMIT_QUESTIONS must be N/second, N/minute or N/hour"):
        create_app({**app.config, "RATE_LIMIT_QUESTIONS": "lots"}, engine=app.extensions["heritage_map.engine"])


def test_a_query_past_the_statement_timeout_answers_503_saying_the_limit(database_url):
    app = served_app(database_url, STATEMENT_TIMEOUT=0.3)
    plain = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain) as holder:
            # A lock the request's read waits on: the wait counts towards statement_timeout, as a slow scan does.
            holder.execute("LOCK TABLE sites IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            response = app.test_client().get("/api/sites")
            waited = time.monotonic() - started
            holder.rollback()
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.get_json() == {
            "code": "QueryTimeout",
            "description": "the database stopped this request's query after 0.3 s, the longest this service "
                           "allows; ask for less (a smaller area, a filter or a lower limit) or try again later"}
        assert waited < 5
        assert app.test_client().get("/api/sites").status_code == 200  # the pool's connection serves again
        with app.extensions["heritage_map.engine"].connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "300ms"
    finally:
        app.extensions["heritage_map.engine"].dispose()


def test_an_export_may_run_longer_than_a_question(database_url):
    app = served_app(database_url, STATEMENT_TIMEOUT=0.2, EXPORT_STATEMENT_TIMEOUT=30)
    plain = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain) as holder:
            holder.execute("LOCK TABLE sites IN ACCESS EXCLUSIVE MODE")
            release = threading.Timer(1.0, holder.rollback)  # longer than a question may wait, shorter than 30 s
            release.start()
            response = app.test_client().get("/api/export/sites?format=csv")
            release.join()
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_data(as_text=True).count("\n") > 30
    finally:
        app.extensions["heritage_map.engine"].dispose()


def test_the_commands_have_no_statement_timeout(database_url, monkeypatch):
    from heritage_map.cli import app_engine

    monkeypatch.setenv("DATABASE_URL", database_url)
    import click

    with click.Context(click.Command("x")):
        eng = app_engine(setup=False)
        with eng.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"


def test_a_json_body_over_the_limit_answers_413_saying_the_limit(app, client):
    huge = {"type": "Polygon", "coordinates": [[[-8.88, 30.46]] * 80_000]}
    response = client.post("/api/within", json=huge)
    assert response.status_code == 413
    assert response.get_json() == {
        "code": "PayloadTooLarge",
        "description": f"a request body other than a file upload may be at most 1 MB (this one is "
                       f"{len(json.dumps(huge)) / 1048576:.1f} MB); send a large shape as a file"}


def test_a_chunked_body_is_cut_at_the_limit(app):
    body = b'{"type": "Polygon", "coordinates": [[' + b"[-8.88, 30.46], " * 80_000
    environ = EnvironBuilder("/api/within", method="POST", data=body, content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]  # sent chunked: the server learns its length only by reading it
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    # Straight to the app: the test client would rebuild the environ with a length.
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status == "413 REQUEST ENTITY TOO LARGE"
    assert json.loads(b"".join(body))["description"] == ("a request body other than a file upload may be at most "
                                                         "1 MB; send a large shape as a file")


def test_a_chunked_body_under_the_limit_is_read_whole(app):
    environ = EnvironBuilder("/api/within", method="POST", data=json.dumps(SQUARE),
                             content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status == "200 OK", b"".join(body)


def test_a_file_upload_may_be_larger_than_a_json_body(app, client):
    big = json.dumps({"type": "Feature", "properties": {"note": "x" * 1_500_000}, "geometry": SQUARE})
    response = client.post("/api/within", data={"file": (io.BytesIO(big.encode()), "area.geojson")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)

