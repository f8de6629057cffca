"""Test fixtures: one real PostGIS database per run, each test inside a transaction rolled back at its end."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from heritage_map import create_app
from heritage_map.catalogue.models import Base
from heritage_map.config import GEODATA_DIR
from heritage_map.db import make_engine, upgrade
from heritage_map.devdb.cluster import Cluster
from heritage_map.transfer.seed import seed

# One database per run, so that two runs on one machine do not drop each other's data.
TEST_DB = f"heritage_map_test_{os.getpid()}"


def test_data_dir() -> Path:
    """Return the folder of the embedded cluster the tests use (outside the repo, reachable by `postgres`)."""
    return Path(os.environ.get("HERITAGE_MAP_TEST_DATA_DIR", f"/tmp/heritage-map-test-{os.getuid()}"))


@pytest.fixture(scope="session")
def database_url() -> str:
    """Return the URL of a freshly created, migrated and seeded test database."""
    url = os.environ.get("TEST_DATABASE_URL")
    cluster = None
    if not url:
        cluster = Cluster(test_data_dir())
        was_running = cluster.initialized() and cluster.running()
        cluster.drop_database(TEST_DB)
        url = cluster.ensure_database(TEST_DB)
    yield _prepare(url)
    if cluster is not None:
        cluster.drop_database(TEST_DB)
        if not was_running:
            cluster.stop()  # leave no server behind that this run started


def _prepare(url: str) -> str:
    """Build the schema and load the seed into the database at `url`; return the URL."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        for table in [*(t.name for t in reversed(Base.metadata.sorted_tables)), "alembic_version"]:
            conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    upgrade(engine)
    with Session(engine) as s, s.begin():
        seed(s, GEODATA_DIR)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine):
    """A connection inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session(connection):
    """A session whose commits become savepoints inside the test's transaction."""
    s = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield s
    s.close()


@pytest.fixture
def app(engine, connection):
    """The app, with every request's session inside the test's transaction."""
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test",
                      "TILE_URL": "http://tiles.invalid/{z}/{x}/{y}.png"}, engine=engine)
    app.extensions["heritage_map.sessionmaker"] = sessionmaker(bind=connection,
                                                               join_transaction_mode="create_savepoint")
    app.extensions["heritage_map.read"] = lambda _transaction: reading(connection)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@contextmanager
def reading(connection):
    """Give the app's reads the test's connection, in a savepoint so a failing query spoils nothing."""
    with connection.begin_nested():
        yield connection


def pytest_report_header(config):
    """Name the database the run talks to, as Datasette's tests do (without starting anything)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return "database: TEST_DATABASE_URL"
    cluster = Cluster(test_data_dir())
    version = (cluster.datadir / "PG_VERSION").read_text().strip() if cluster.initialized() else "new"
    return f"database: embedded PostgreSQL {version} + PostGIS in {cluster.datadir} (server binaries: {cluster.bindir})"
