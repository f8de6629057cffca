"""The items query: filters composed into one SELECT, keyset paging, features encoded by PostGIS and streamed."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from .. import geojson, queries
from ..errors import InvalidParameter
from ..models import SRID
from .collections import COLLECTIONS, Collection, sort_column
from ..crs import Crs, within_area

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10
# An exact count of every match can cost more than the page itself: count on first pages only,
# and give up (no numberMatched) past this many matches.
COUNT_CAP = 10_000
# Pages of up to this many features (a GIS client's usual page) are read in one go, one round trip;
# larger ones through a server-side cursor, this many rows at a time, so memory stays bounded.
CHUNK = 1_000


@dataclass
class Page:
    """What one items request asks for, once parsed."""

    collection: Collection
    crs: Crs
    limit: int
    where: list[ColumnElement] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (queryable name, descending)
    cursor: dict | None = None


def bbox_clause(collection: Collection, bbox: tuple[float, ...], bbox_crs: Crs) -> ColumnElement:
    """Return the clause for features whose geometry meets `bbox` (given in `bbox_crs`, in its axis order)."""
    if len(bbox) == 6:
        bbox = (bbox[0], bbox[1], bbox[3], bbox[4])
    x1, y1, x2, y2 = bbox
    if bbox_crs.lat_first:
        x1, y1, x2, y2 = y1, x1, y2, x2
    if not within_area(bbox_crs, (x1, x2, x1, x2), (y1, y1, y2, y2)):
        raise InvalidParameter(f"bbox is outside the area where {bbox_crs.uri} can be brought to longitude/latitude")
    envelope = func.ST_MakeEnvelope(x1, y1, x2, y2, bbox_crs.srid)
    if bbox_crs.srid != SRID:
        envelope = func.ST_Transform(envelope, SRID)
    envelope = queries.once(envelope)
    geom = collection.model.geom
    return and_(geom.op("&&")(envelope), func.ST_Intersects(geom, envelope))


def datetime_clause(collection: Collection, start: dt.datetime | None, end: dt.datetime | None) -> ColumnElement:
    """Return the clause for records last updated within [start, end] (either end open)."""
    column = collection.model.updated_at
    clauses = []
    if start is not None:
        clauses.append(column >= start)
    if end is not None:
        clauses.append(column <= end)
    return and_(*clauses)


def _order(page: Page) -> list[tuple[ColumnElement, bool]]:
    """Return (expression, descending) for each sort key, the primary key last so the order is total."""
    keys = [(sort_column(page.collection, name), desc) for name, desc in page.sort]
    keys.append((page.collection.model.id, page.sort[-1][1] if page.sort else False))
    return keys


def _after(keys: list[tuple[ColumnElement, bool]], values: list, backwards: bool) -> ColumnElement:
    """Return the keyset clause for rows after (or before) the row whose sort values are `values`."""
    alternatives = []
    for i, (column, desc) in enumerate(keys):
        greater = desc == backwards  # ascending going forwards, or descending going backwards
        step = column > values[i] if greater else column < values[i]
        alternatives.append(and_(*[keys[j][0] == values[j] for j in range(i)], step))
    return or_(*alternatives)


def encode_cursor(values: list, direction: str) -> str:
    """Return an opaque, URL-safe token for a keyset position."""
    payload = [v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v for v in values]
    raw = json.dumps({"k": payload, "d": direction}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, page: Page) -> dict:
    """Return {"values": [...], "direction": "next"|"prev"} from a token, or raise InvalidParameter."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        values, direction = data["k"], data["d"]
        keys = _order(page)
        if direction not in ("next", "prev") or len(values) != len(keys):
            raise ValueError
        types = [page.collection.queryables[name].type for name, _ in page.sort] + ["integer"]
        values = [_typed(v, t) for v, t in zip(values, types)]
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise InvalidParameter("cursor is not valid for this query; follow the next/prev links as given") from None
    return {"values": values, "direction": direction}


def _typed(value, kind: str):
    """Return a cursor value as its sort key's type, or raise ValueError: a forged value must never reach SQL."""
    # Sort keys are never NULL (strings are coalesced to ''), so neither is a cursor value.
    if kind in ("timestamp", "date"):
        return (dt.datetime if kind == "timestamp" else dt.date).fromisoformat(value)  # TypeError if not a str
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
            raise ValueError  # bool is an int to Python; ids are PostgreSQL integers
        return value
    if kind == "string" and isinstance(value, str) and "\x00" not in value:  # PostgreSQL text holds no NUL
        return value
    raise ValueError


def geometry_in(page: Page) -> ColumnElement:
    """Return the geometry column in the output CRS and axis order."""
    geom = page.collection.model.geom
    if page.crs.srid != SRID:
        geom = func.ST_Transform(geom, page.crs.srid)
    if page.crs.lat_first:
        geom = func.ST_FlipCoordinates(geom)
    return geom


@functools.lru_cache(maxsize=256)
def feature_expression(collection_id: str, crs: Crs, url_prefix: str) -> ColumnElement:
    """Return the SQL expression of one GeoJSON Feature: built once per collection, CRS and URL prefix."""
    c = COLLECTIONS[collection_id]
    precision = geojson.PRECISION if crs.srid == SRID else 2  # degrees to ~1 cm, metres to 1 cm
    return geojson.feature(c.model.slug, geometry_in(Page(c, crs, 1)), queries.properties(c.model, url_prefix),
                           precision)


def fetch(conn: Connection, page: Page, url_prefix: str) -> Iterator[Sequence[Row]]:
    """Yield the page's rows (feature JSON text, then its sort key values) in batches, in page order.

    Up to limit + 1 rows: a row beyond the page, if there is one, comes last and says there is more.
    """
    c = page.collection
    keys = _order(page)
    backwards = bool(page.cursor and page.cursor["direction"] == "prev")
    feature = feature_expression(c.id, page.crs, url_prefix)
    where = [*c.where(), *page.where]
    if page.cursor:
        where.append(_after(keys, page.cursor["values"], backwards))
    order = [(col.desc() if desc != backwards else col.asc()) for col, desc in keys]
    stmt = (select(feature, *[col for col, _ in keys])
            .where(and_(*where)).order_by(*order).limit(page.limit + 1))
    # Options on the statement, not the connection: Connection.execution_options() changes the connection in place,
    # and every later statement on it (a ROLLBACK TO SAVEPOINT too) would run as a server-side cursor.
    if streamed(page):
        stmt = stmt.execution_options(stream_results=True, yield_per=CHUNK)
    result = conn.execute(stmt)  # Core: the rows are plain tuples, no ORM loading
    if backwards:
        # Fetched nearest-first; put the page back in order and keep the extra row (if any) last.
        rows = result.all()
        yield rows[: page.limit][::-1] + rows[page.limit:]
    elif streamed(page):
        yield from result.partitions()
    else:
        yield result.all()  # whole batches: no Python work per row


def sort_keys(row: Row) -> list:
    """Return the sort key values of a row from fetch(), for a cursor."""
    return list(row[1:])


def streamed(page: Page) -> bool:
    """Tell whether the page is read through a server-side cursor (in a transaction), CHUNK rows at a time."""
    return page.limit > CHUNK


def count(conn: Connection, page: Page) -> int | None:
    """Return how many records match, or None when there are more than COUNT_CAP (too dear to count)."""
    c = page.collection
    capped = select(c.model.id).where(and_(*c.where(), *page.where)).limit(COUNT_CAP + 1).subquery()
    matched = conn.scalar(select(func.count()).select_from(capped))
    return matched if matched <= COUNT_CAP else None


def one(conn: Connection, collection: Collection, feature_id: str, crs: Crs, url_prefix: str) -> str | None:
    """Return one feature's JSON text, or None if it is not there."""
    feature = feature_expression(collection.id, crs, url_prefix)
    stmt = select(feature).where(and_(*collection.where(), collection.model.slug == feature_id))
    return conn.scalar(stmt)

