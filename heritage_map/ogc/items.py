"""The items query: one SELECT per page shape with the page's values bound, keyset paging, features as UTF-8."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (BindParameter, Connection, Float, Integer, LargeBinary, Row, Select, String, and_, bindparam,
                        case, func, literal, literal_column, null, or_, select, union_all)
from sqlalchemy.sql.elements import ColumnElement

from .. import freshness
from ..catalogue import geojson, queries, search
from ..catalogue.models import SRID
from ..crs import Crs, within_area
from ..errors import InvalidParameter
from .collections import COLLECTIONS, Collection, sort_column

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10
# An exact count of every match can cost more than the page itself: count on first pages only,
# and give up (no numberMatched) past this many matches.
COUNT_CAP = 10_000
# Pages of up to this many features (a GIS client's usual page) are read in one go, one round trip;
# larger ones through a server-side cursor, this many rows at a time, so memory stays bounded.
CHUNK = 1_000


class _Statements:
    """The statements built so far, by shape: a bounded cache that forgets the least recently used.

    One statement serves every request of its key, from any client, so the rule is: a value of one
    request (a bbox, a date, a property's value, a cursor's keys, a limit; later the user) reaches a
    cached statement only as a bound parameter whose value the caller passes to execute, never
    written into the statement nor stored in it, unless it is part of the statement's key. What is
    part of the key may be written in: the CRS, the url prefix, the sort, a CQL2 filter's text (its
    literals are bound, but with their values stored in the statement). A limit is a literal_execute
    parameter (_rows): SQLAlchemy writes it into the SQL text at each execution, never into the
    cached statement. Otherwise one request's value would answer another's, and the cache would
    grow by value instead of by shape. tests/ogc/test_items.py checks it.
    """

    def __init__(self, size: int = 512):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Select | None:
        with self.lock:  # threaded servers
            stmt = self.items.get(key)
            if stmt is not None:
                self.items.move_to_end(key)
            return stmt

    def put(self, key: tuple, stmt: Select) -> Select:
        with self.lock:
            self.items[key] = stmt
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        return stmt

    def get_or_build(self, key: tuple, build: Callable[[], Select]) -> Select:
        """Return the statement of `key`, building (outside the lock) and keeping it the first time."""
        stmt = self.get(key)
        return stmt if stmt is not None else self.put(key, build())


_statements = _Statements()


def cached_statement(key: tuple, build: Callable[[], Select]) -> Select:
    """Return the statement of `key` from the one statement cache, built the first time (its rule: _Statements)."""
    return _statements.get_or_build(key, build)


@dataclass
class Page:
    """What one items request asks for, once parsed and checked: values only, no SQL yet."""

    collection: Collection
    crs: Crs
    limit: int
    bbox: tuple[float, float, float, float] | None = None  # x first, in bbox_crs
    bbox_crs: Crs | None = None
    interval: tuple[dt.datetime | None, dt.datetime | None] | None = None  # on updated_at, either end open
    equals: dict[str, object] = field(default_factory=dict)  # queryable name -> typed value
    filter: tuple[str, str | None, str | None] | None = None  # CQL2 (text, filter-lang, filter-crs)
    filter_clause: ColumnElement | None = None  # the filter compiled (and so checked) when parsed
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (queryable name, descending)
    cursor: dict | None = None
    q: str | None = None  # words searched for (catalogue.search), bound as values

    @property
    def backwards(self) -> bool:
        """Tell whether the page is the one before a cursor (a prev link)."""
        return bool(self.cursor and self.cursor["direction"] == "prev")

    @property
    def filtered(self) -> bool:
        """Tell whether the page asks for fewer records than its collection's (a bbox, dates, a filter, words)."""
        return bool(self.bbox or self.interval or self.equals or self.filter_clause is not None or self.q is not None)

    def shape(self) -> tuple:
        """Return what the SQL of the page's conditions depends on, but for the values it binds."""
        return (self.collection.id, self.bbox_crs.srid if self.bbox else None,
                self.interval and (self.interval[0] is not None, self.interval[1] is not None),
                tuple(sorted(self.equals)), self.filter, self.q is not None)

    def values(self) -> dict:
        """Return the values that the SQL of the page's conditions binds, by parameter name (see _where)."""
        out = {}
        if self.bbox:
            out.update(zip(("x1", "y1", "x2", "y2"), self.bbox))
        if self.interval:
            out["start"], out["end"] = self.interval
        out.update({f"eq_{name}": value for name, value in self.equals.items()})
        if self.q is not None:
            out.update(search.values(self.q))
        return out


def bbox_lonlat_first(bbox: tuple[float, ...], bbox_crs: Crs) -> tuple[float, float, float, float]:
    """Return a 2D bbox, x (longitude or easting) first, checked to be where `bbox_crs` reaches lon/lat."""
    if len(bbox) == 6:
        bbox = (bbox[0], bbox[1], bbox[3], bbox[4])
    x1, y1, x2, y2 = bbox
    if bbox_crs.lat_first:
        x1, y1, x2, y2 = y1, x1, y2, x2
    if not within_area(bbox_crs, (x1, x2, x1, x2), (y1, y1, y2, y2)):
        raise InvalidParameter(f"bbox is outside the area where {bbox_crs.uri} can be brought to longitude/latitude")
    return x1, y1, x2, y2


def conditions(page: Page) -> list[ColumnElement]:
    """Return the WHERE conditions of a page, the one copy that items, counts and tiles share (see _where)."""
    return _where(page)


def _where(page: Page) -> list[ColumnElement]:
    """Return the page's conditions, its values as named parameters (see Page.values and _Statements)."""
    c = page.collection
    where = c.where()
    if page.bbox:
        envelope = func.ST_MakeEnvelope(*(bindparam(n, type_=Float) for n in ("x1", "y1", "x2", "y2")),
                                        page.bbox_crs.srid)
        if page.bbox_crs.srid != SRID:
            envelope = func.ST_Transform(envelope, SRID)
        envelope = queries.once(envelope)
        where += [c.model.geom.op("&&")(envelope), func.ST_Intersects(c.model.geom, envelope)]
    if page.interval:
        updated = c.model.updated_at
        if page.interval[0] is not None:
            where.append(updated >= bindparam("start", type_=updated.type))
        if page.interval[1] is not None:
            where.append(updated <= bindparam("end", type_=updated.type))
    for name in sorted(page.equals):
        column = c.queryables[name].column
        value = bindparam(f"eq_{name}", type_=column.type)
        where.append(column.op("@>")(value) if c.queryables[name].type == "array" else column == value)
    if page.filter_clause is not None:
        where.append(page.filter_clause)  # its values are bound in it: the filter's text is in the shape
    if page.q is not None:
        where.append(search.match(c.model))
    return where


def _order(page: Page) -> list[tuple[ColumnElement, bool]]:
    """Return (expression, descending) for each sort key, the primary key last so the order is total."""
    keys = [(sort_column(page.collection, name), desc) for name, desc in page.sort]
    keys.append((page.collection.model.id, page.sort[-1][1] if page.sort else False))
    return keys


def _after(keys: list[tuple[ColumnElement, bool]], backwards: bool) -> ColumnElement:
    """Return the keyset clause for rows after (or before) the row whose sort values are key_0, key_1…"""
    values = [bindparam(f"key_{i}", type_=column.type) for i, (column, _) in enumerate(keys)]
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
def feature_expression(collection_id: str, crs: Crs, record_url: str) -> ColumnElement:
    """Return the SQL expression of one GeoJSON Feature as UTF-8 bytes: built once per collection, CRS and prefix.

    Run it with the execution option binary_results (db.py): the bytes then come as they are.
    """
    c = COLLECTIONS[collection_id]
    precision = geojson.PRECISION if crs.srid == SRID else 2  # degrees to ~1 cm, metres to 1 cm
    feature = geojson.feature(c.model.slug, geometry_in(Page(c, crs, 1)), queries.properties(c.model, record_url),
                              precision)
    # Bytes, not text: the view joins them and sends them as they are. As text, psycopg would decode
    # most of a megabyte for 1,000 features, Python join it at two bytes a character (Arabic
    # names), and the response encode it again: about 3 ms of a town-wide page.
    return func.convert_to(feature, literal_column("'UTF8'"), type_=LargeBinary)


def fetch(conn: Connection, page: Page, record_url: str, versions: bool = False) -> Iterator[Sequence[Row]]:
    """Yield the page's rows (feature JSON as UTF-8, matched, then its sort key values) in batches, in page order.

    With `versions` (a page read in one fetch), each row ends with freshness.columns(): the layers'
    versions come in the same round trip (see sort_keys).

    Up to limit + 1 rows: a row beyond the page, if there is one, comes last and says there is more.
    matched is NULL but on a first page that carries its count (see counted_with_page): there it is the
    number of matches, or COUNT_CAP + 1 when the count was given up (NULL too if a page without a bbox
    is not full: it holds every match).
    """
    values = page.values() | {f"key_{i}": v for i, v in enumerate(page.cursor["values"] if page.cursor else ())}
    # Core: the rows are plain tuples, no ORM loading.
    result = conn.execute(_page_statement(page, record_url, versions), values | {"rows": page.limit + 1})
    if page.backwards:
        # Fetched nearest-first; put the page back in order and keep the extra row (if any) last.
        rows = result.all()
        yield rows[: page.limit][::-1] + rows[page.limit:]
    elif streamed(page):
        yield from result.partitions()
    else:
        yield result.all()  # whole batches: no Python work per row


def sort_keys(row: Row, versions: bool = False) -> list:
    """Return the sort key values of one of fetch()'s rows (those that a cursor carries)."""
    return list(row[2:-2] if versions else row[2:])


def _page_statement(page: Page, record_url: str, versions: bool = False) -> Select:
    """Return the SELECT of a page, built once for all pages of the same shape (their values are parameters).

    Building a statement and its cache key afresh costs SQLAlchemy about 0.2 ms, as much as
    PostgreSQL takes to answer a small page; a statement used again has its key already.
    """
    # Everything the build writes in is in the key; the values fetch() passes are not (see _Statements).
    key = (page.shape(), page.crs, record_url, tuple(page.sort), page.cursor and page.cursor["direction"],
           streamed(page), versions)
    if versions and streamed(page):
        raise ValueError("a streamed page reads the versions apart: its rows come in batches")
    return _statements.get_or_build(key, lambda: _build_page_statement(page, record_url, versions))


def _build_page_statement(page: Page, record_url: str, versions: bool) -> Select:
    if counted_with_page(page):
        build = _build_counted_page_statement if page.bbox is not None else _build_page_then_count_statement
        stmt = build(page, record_url)
    else:
        stmt = _page_select(page, record_url, null())
    if versions:  # scalar subqueries: run once (InitPlans), repeated on each row as two small values
        stmt = stmt.add_columns(*freshness.columns())
    # Options on the statement, not the connection: Connection.execution_options() changes the connection in place,
    # and every later statement on it (a ROLLBACK TO SAVEPOINT too) would run as a server-side cursor.
    stmt = stmt.execution_options(binary_results=True)
    if streamed(page):
        stmt = stmt.execution_options(stream_results=True, yield_per=CHUNK)
    return stmt


def _rows() -> BindParameter:
    """Return the page's row limit (limit + 1), bound per request but written into the statement's text."""
    # Written in, not a parameter: PostgreSQL then sees the limit when it plans the prepared
    # statement, and keeps one generic plan. With LIMIT $n it guessed a tenth of the table, found
    # the generic plan dearer than planning anew, and planned every request again (0.6–0.9 ms).
    return bindparam("rows", type_=Integer, literal_execute=True)


def _inline(value: int) -> BindParameter:
    """Return a constant limit written into the statement's text (see _rows)."""
    return literal(value, Integer, literal_execute=True)


def _page_select(page: Page, record_url: str, match_count: ColumnElement, *where: ColumnElement) -> Select:
    """Return the page's SELECT of (feature, match_count, sort keys…) in page order, with `where` added."""
    keys = _order(page)
    conditions = _where(page) + list(where)
    if page.cursor:
        conditions.append(_after(keys, page.backwards))
    return (select(feature_expression(page.collection.id, page.crs, record_url).label("feature"),
                   match_count.label("matched"), *[col.label(f"key_{i}") for i, (col, _) in enumerate(keys)])
            .where(and_(*conditions)).order_by(*_in_order([col for col, _ in keys], keys, page.backwards))
            .limit(_rows()))


def _in_order(columns: list[ColumnElement], keys: list[tuple[ColumnElement, bool]],
              backwards: bool = False) -> list[ColumnElement]:
    """Return ORDER BY terms for `columns` (the sort keys, or columns holding them) in the keys' directions."""
    return [(col.desc() if desc != backwards else col.asc()) for col, (_, desc) in zip(columns, keys)]


def counted_with_page(page: Page) -> bool:
    """Tell whether the page's rows carry their count (when it is needed): a first page read in one fetch."""
    # One statement, one round trip. With a bbox the count shares the page's scan
    # (_build_counted_page_statement); without, it is a scan apart, often of a B-tree alone
    # (index-only), run only when the page is full (_build_page_then_count_statement).
    return page.cursor is None and not streamed(page)


def _build_page_then_count_statement(page: Page, record_url: str) -> Select:
    """Return a first page's SELECT whose rows carry how many records match when the page is full (else NULL)."""
    keys = _order(page)
    names = [f"key_{i}" for i in range(len(keys))]
    page_rows = _page_select(page, record_url, null()).cte("page_rows").prefix_with("MATERIALIZED")
    full = select(func.count()).select_from(page_rows).scalar_subquery() == _rows()  # limit + 1 rows: there is more
    # PostgreSQL runs a subquery of CASE (an InitPlan) only when its branch is taken: a page that is
    # not full holds every match, and is not counted again.
    match_count = case((full, _capped_count(page).scalar_subquery()))
    return (select(page_rows.c.feature, match_count.label("matched"), *[page_rows.c[n] for n in names])
            .order_by(*_in_order([page_rows.c[n] for n in names], keys)))


def _build_counted_page_statement(page: Page, record_url: str) -> Select:
    """Return a first page's SELECT whose rows also carry how many records match (up to COUNT_CAP + 1).

    The matches (their sort keys and row addresses, no more) are read once, up to COUNT_CAP + 1,
    and counted. If that is all of them, the page is the first of them in order, its rows fetched
    by address; if not, the count is given up and the page is read as any other first page, in
    the same statement. A first page only: the orders are forwards.
    """
    model = page.collection.model
    keys = _order(page)
    # The row's address, valid within the statement's snapshot; the table is never aliased here.
    ctid = literal_column(f"{model.__tablename__}.ctid")
    matches = (select(*[col.label(f"key_{i}") for i, (col, _) in enumerate(keys)], ctid.label("address"))
               .where(and_(*_where(page))).limit(_inline(COUNT_CAP + 1)).cte("matches").prefix_with("MATERIALIZED"))
    counted = select(func.count().label("n")).select_from(matches).cte("counted")
    match_count = select(counted.c.n).scalar_subquery()
    names = [f"key_{i}" for i in range(len(keys))]
    head = (select(*[matches.c[n] for n in names], matches.c.address)
            .order_by(*_in_order([matches.c[n] for n in names], keys)).limit(_rows()).subquery("head"))
    from_matches = (select(feature_expression(page.collection.id, page.crs, record_url).label("feature"),
                           match_count.label("matched"), *[head.c[n] for n in names])
                    .select_from(head.join(model.__table__, ctid == head.c.address))
                    .where(match_count <= COUNT_CAP))
    page_rows = union_all(from_matches, _page_select(page, record_url, match_count, match_count > COUNT_CAP))
    page_rows = page_rows.subquery("page_rows")
    return select(*page_rows.c).order_by(*_in_order([page_rows.c[n] for n in names], keys))


def number_matched(conn: Connection, page: Page, first: Row | None, returned: int, more: bool) -> int | None:
    """Return a first page's numberMatched, given fetch()'s first row, how many rows it returned and if there is more.

    None when there are more than COUNT_CAP (too dear to count).
    """
    if first is not None and first[1] is not None:  # counted in the page's own scan
        n = first[1]
    else:  # a page that is not full holds every match: count only when there may be more
        n = count(conn, page) if more else returned
    return n if n is not None and n <= COUNT_CAP else None


def streamed(page: Page) -> bool:
    """Tell whether the page is read through a server-side cursor (in a transaction), CHUNK rows at a time."""
    return page.limit > CHUNK


def _capped_count(page: Page) -> Select:
    """Return the SELECT of how many records match the page's conditions, up to COUNT_CAP + 1."""
    capped = select(page.collection.model.id).where(and_(*_where(page))).limit(_inline(COUNT_CAP + 1)).subquery()
    return select(func.count()).select_from(capped)


def count(conn: Connection, page: Page) -> int | None:
    """Return how many records match, or None when there are more than COUNT_CAP (too dear to count)."""
    # The shape is the key; the page's values are bound at execution (see _Statements).
    stmt = _statements.get_or_build(("count", page.shape()), lambda: _capped_count(page))
    matched = conn.scalar(stmt, page.values())
    return matched if matched <= COUNT_CAP else None


def one(conn: Connection, collection: Collection, feature_id: str, crs: Crs, record_url: str,
        versions: bool = False) -> Row | None:
    """Return one feature's row, its JSON (UTF-8) first, then with `versions` freshness.columns(); None if not there."""
    # The feature's id is bound at execution, not in the key (see _Statements).
    def build() -> Select:
        stmt = (select(feature_expression(collection.id, crs, record_url))
                .where(and_(*collection.where(), collection.model.slug == bindparam("slug", type_=String)))
                .execution_options(binary_results=True))
        return stmt.add_columns(*freshness.columns()) if versions else stmt
    return conn.execute(_statements.get_or_build(("one", collection.id, crs, record_url, versions), build),
                        {"slug": feature_id}).first()
