"""Validators of data responses (ETag, Last-Modified) from the layers' versions, and the 304 they allow."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from flask import Response, request
from sqlalchemy import Connection, func, literal_column, select, table, text
from sqlalchemy.sql.elements import ColumnElement

from . import compression, db

# Clients keep a copy but ask each time; an unchanged answer then costs a 304 with no body.
CACHE_CONTROL = "public, no-cache"
_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """Return a hash of the package's Python code: a release that writes features differently makes new tags."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


class Validators:
    """The ETag and Last-Modified of a response that depends on every layer's records and on its URL."""

    def __init__(self, versions: dict[str, int], now_us: int, what: str):
        self.versions = versions
        self.tag = hashlib.sha256(repr((code_version(), sorted(versions.items()), what)).encode()).hexdigest()[:20]
        newest = max(versions.values(), default=0)
        # Versions are the database clock in microseconds at each change (migration 0007), so a later change
        # is newer than the database's clock now. Last-Modified is the newest version rounded up to the
        # second, given only once that second has passed: a change made after a client got it always has
        # a later version, so If-Modified-Since never hides one, as a second-rounded date otherwise could.
        ceiling = math.ceil(newest / 1e6) * 1_000_000
        self.newest_us = newest
        self.last_modified = (datetime.fromtimestamp(ceiling / 1e6, timezone.utc)
                              if versions and now_us >= ceiling else None)

    def headers(self) -> dict[str, str]:
        """Return the validator headers of the response."""
        # Weak: the same records in gzip, brotli or none, or with another OGC timeStamp, are the same answer.
        headers = {"ETag": f'W/"{self.tag}"', "Cache-Control": CACHE_CONTROL}
        if self.last_modified is not None:
            headers["Last-Modified"] = self.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return headers

    def unchanged(self) -> bool:
        """Tell whether the client's copy is current (If-None-Match first; else If-Modified-Since)."""
        if request.if_none_match:
            return compression.not_modified(self.tag)
        since = request.if_modified_since
        return bool(self.versions) and since is not None and self.newest_us < since.timestamp() * 1e6

    def not_modified(self) -> Response:
        """Return the 304 answer."""
        return Response(status=304, headers=self.headers())


CLOCK_US = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"


def validators(conn: Connection, what: str) -> Validators:
    """Return the validators of a data response that `what` (its URL) names, from the layers' versions."""
    rows = conn.execute(text(f"SELECT layer, version, {CLOCK_US} FROM layer_versions")).all()
    now_us = rows[0][2] if rows else 0
    return Validators({layer: version for layer, version, _now in rows}, now_us, what)


def columns() -> list[ColumnElement]:
    """Return the layers' versions (a JSON object) and the database clock: two columns for a data query.

    Read with the data they describe, they cost no round trip of their own, and come from the same snapshot.
    """
    versions = select(func.jsonb_object_agg(literal_column("layer"), literal_column("version")))
    return [versions.select_from(table("layer_versions")).scalar_subquery(), literal_column(CLOCK_US)]


def from_columns(versions: dict | None, now_us: int) -> Validators:
    """Return this request's validators from the two columns() read with its data."""
    return Validators(versions or {}, now_us, _what())


def conditional() -> bool:
    """Tell whether the request asks for an answer only if it changed (If-None-Match, If-Modified-Since)."""
    return bool(request.if_none_match or request.if_modified_since)


def read(conn: Connection) -> Validators:
    """Return this request's validators, read on `conn`."""
    return validators(conn, _what())


def check_first(headers: dict) -> Response | None:
    """Read the validators apart: the 304 if the client's copy is current, else None with them added to `headers`."""
    found = current()
    if found.unchanged():
        return found.not_modified()
    headers.update(found.headers())
    return None


def current() -> Validators:
    """Return this request's validators: its URL with the host (features link absolutely) and languages asked."""
    with db.read() as conn:
        return validators(conn, _what())


def _what() -> str:
    return f"{request.url} {request.accept_languages}"
