"""A database of its own for tests whose server commits for real (gunicorn, the import command)."""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from heritage_map.config import GEODATA_DIR
from heritage_map.db import make_engine, set_up


def plain(url: str, dbname: str | None = None) -> str:
    """Return the libpq URL of database `dbname` (default: url's own) on the server of `url`."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql", database=dbname or parsed.database).render_as_string(
        hide_password=False)


def create_seeded(test_url: str, dbname: str) -> str:
    """Drop and create `dbname` beside the test database, migrated and seeded; return its SQLAlchemy URL."""
    drop(test_url, dbname)
    with psycopg.connect(plain(test_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = make_url(test_url).set(database=dbname).render_as_string(hide_password=False)
    engine = make_engine(url)
    set_up(engine, GEODATA_DIR)
    engine.dispose()
    return url


def drop(test_url: str, dbname: str) -> None:
    with psycopg.connect(plain(test_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
