"""OGC API – Features (Parts 1, 2 and 3) and Tiles at /ogc: thin views over collections, items, tiles and cql2."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from itertools import chain
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context, url_for
from sqlalchemy import Connection, Row

from .. import compression, cql2, crs, db, freshness, negotiation, params
from ..catalogue import search
from ..catalogue.geometry import SERVED_EXTENT
from ..errors import InvalidParameter, NotFound
from ..urls import record_url
from . import collections, items, openapi, tiles
from .items import DEFAULT_LIMIT, MAX_LIMIT

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/sortables",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    # Not .../conf/functions: it asks for a /functions resource listing functions, and we offer none.
    *(f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}"
      for name in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "oas30")),
]
ITEM_PARAMS = set(openapi.ITEM_PARAMS)  # one list, so the API definition names every parameter the items take


def wants_html() -> bool:
    """Tell whether the client asked for HTML (f=html, or a browser's Accept header); an unknown f is a 400."""
    f = request.args.get("f")
    if f is not None and f not in negotiation.FORMATS:
        raise InvalidParameter(f"f must be json or html (got {f!r})")
    return negotiation.wants_html()


def link(rel: str, href: str, type_: str, title: str | None = None, **extra) -> dict:
    """Return one link object."""
    out = {"rel": rel, "href": href, "type": type_}
    if title:
        out["title"] = title
    out.update(extra)
    return out


def here(**changes) -> str:
    """Return the current URL (absolute) with some query parameters changed (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    # Not url_for: a query parameter named endpoint, _external or like a view argument would clash with its own.
    return request.base_url + ("?" + urlencode(args) if args else "")


def self_links(title: str) -> list[dict]:
    """Return the self and alternate links of a JSON/HTML resource."""
    html = wants_html()
    return [link("self", here(f="html" if html else "json"), "text/html" if html else "application/json", title),
            link("alternate", here(f="json" if html else "html"), "application/json" if html else "text/html",
                 title)]


def respond(doc: dict, template: str, **context):
    """Send `doc` as JSON, or render it as HTML for people."""
    if wants_html():
        return render_template(template, doc=doc, **context)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/json")


@bp.get("/")
def landing():
    """The landing page: what this service is and where its parts are."""
    doc = {
        "title": "Taroudant Heritage Map — OGC API Features",
        "description": "Heritage and environmental sites, projects and associations of Taroudant, Morocco.",
        "links": [
            *self_links("this document"),
            link("service-desc", url_for("ogc.api", _external=True), "application/vnd.oai.openapi+json;version=3.0",
                 "the API definition"),
            link("service-doc", url_for("ogc.api", f="html", _external=True), "text/html", "the API documentation"),
            link("conformance", url_for("ogc.conformance", _external=True), "application/json", "conformance"),
            link("data", url_for("ogc.collections_", _external=True), "application/json", "collections"),
        ],
    }
    return respond(doc, "ogc/page.html")


@bp.get("/conformance")
def conformance():
    """The conformance classes this service implements."""
    return respond({"conformsTo": CONFORMANCE}, "ogc/page.html")


@bp.get("/api")
def api():
    """The OpenAPI 3.0 definition of this service."""
    doc = openapi.document(url_for("ogc.landing", _external=True).rstrip("/"))
    if wants_html():
        return render_template("ogc/api.html", doc=doc)
    return Response(json.dumps(doc), mimetype="application/vnd.oai.openapi+json;version=3.0")


def describe(c: collections.Collection) -> dict:
    """Return the JSON description of one collection."""
    return {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "extent": {"spatial": {"bbox": [list(SERVED_EXTENT)], "crs": crs.CRS84}},
        "crs": [x.uri for x in crs.SUPPORTED], "storageCrs": crs.CRS84,
        "links": [
            link("self", url_for("ogc.collection", cid=c.id, _external=True), "application/json", c.title),
            link("items", url_for("ogc.items_", cid=c.id, _external=True), "application/geo+json", c.title),
            link("items", url_for("ogc.items_", cid=c.id, f="html", _external=True), "text/html", c.title),
            link("http://www.opengis.net/def/rel/ogc/1.0/queryables",
                 url_for("ogc.queryables", cid=c.id, _external=True), "application/schema+json", "queryables"),
            link("http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                 url_for("ogc.tilesets", cid=c.id, _external=True), "application/json", "vector tilesets"),
        ],
    }


@bp.get("/collections")
def collections_():
    """The list of collections."""
    doc = {"links": self_links("collections"), "collections": [describe(c) for c in collections.COLLECTIONS.values()],
           "crs": [x.uri for x in crs.SUPPORTED]}
    return respond(doc, "ogc/page.html")


@bp.get("/collections/<cid>")
def collection(cid: str):
    """One collection's description."""
    return respond(describe(collections.get(cid)), "ogc/page.html")


@bp.get("/collections/<cid>/queryables")
def queryables(cid: str):
    """The properties a collection can be filtered on, as a JSON Schema."""
    c = collections.get(cid)
    props = {}
    for name, q in c.queryables.items():
        if q.type == "geometry":
            props[name] = {"title": "geometry", "format": "geometry-any", "x-ogc-role": "primary-geometry"}
            continue
        schema = {"title": name, "type": {"timestamp": "string", "date": "string"}.get(q.type, q.type)}
        if q.type in ("timestamp", "date"):
            schema["format"] = "date-time" if q.type == "timestamp" else "date"
        if q.type == "array":
            schema["items"] = {"type": "string"}
        if name in c.enums:
            schema["enum"] = list(c.enums[name])
        props[name] = schema
    doc = {"$schema": "https://json-schema.org/draft/2019-09/schema",
           "$id": url_for("ogc.queryables", cid=cid, _external=True),
           "type": "object", "title": c.title, "properties": props, "additionalProperties": False}
    if wants_html():
        return render_template("ogc/page.html", doc=doc)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/schema+json")


def property_value(q: cql2.Queryable, value: str):
    """Return the value of a queryable given as a query parameter (property = value), parsed to its type."""
    try:
        if q.type == "integer":
            # Digits only (int() takes " 1_0" and other scripts' digits), within PostgreSQL's integer.
            typed = int(value) if re.fullmatch(r"[+-]?[0-9]{1,10}", value) else None
            if typed is None or not -2**31 <= typed < 2**31:
                raise ValueError
        elif q.type == "number":
            typed = float(value)
            if not math.isfinite(typed):
                raise ValueError
        elif q.type == "boolean":
            typed = {"true": True, "false": False}[value.lower()]
        elif q.type == "date":
            typed = date.fromisoformat(value)
        elif q.type == "timestamp":
            typed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif q.type == "array":  # ?themes=heritage: the records whose themes hold it (see items._where)
            typed = [value]
        else:
            typed = value
    except (ValueError, KeyError):
        raise InvalidParameter(f"{q.name} must be a {q.type} (got {value!r})") from None
    if "\x00" in value:  # PostgreSQL text cannot hold it, and would fail the query
        raise InvalidParameter(f"{q.name} holds a NUL character")
    return typed


def property_names(c: collections.Collection) -> set[str]:
    """Return the names a collection's items and tiles take as `?property=value` filters."""
    return {n for n, q in c.queryables.items() if q.type != "geometry"}


def parse_page(c: collections.Collection) -> items.Page:
    """Turn the items query string into a Page, or raise InvalidParameter naming the problem."""
    args = request.args
    params.known_only(args, ITEM_PARAMS | property_names(c))
    # Any well-formed positive limit is accepted and clamped, as the standard asks.
    limit = params.integer(args, "limit", DEFAULT_LIMIT, low=1, high=10**18 - 1)
    page = items.Page(c, crs.parse(args.get("crs")), min(limit, MAX_LIMIT))
    box = params.bbox(args)
    if box is not None:
        page.bbox_crs = crs.parse(args.get("bbox-crs"), "bbox-crs")
        page.bbox = items.bbox_lonlat_first(box, page.bbox_crs)
    elif args.get("bbox-crs"):
        crs.parse(args["bbox-crs"], "bbox-crs")  # checked, as the API document says; nothing to apply it to
    parse_filters(page)
    page.q = params.text(args, "q", max_length=search.MAX_QUERY)
    page.sort = params.sortby(args, c.sortables)
    if args.get("cursor"):
        page.cursor = items.decode_cursor(args["cursor"], page)
    return page


def parse_filters(page: items.Page) -> None:
    """Set a page's datetime, property and CQL2 filters from the query string (items and tiles alike)."""
    args, c = request.args, page.collection
    properties = property_names(c)
    page.interval = params.interval(args)
    for name in sorted(properties & set(args) & set(c.enums)):
        # As the API document lists them: a value no record can hold is a mistake to say, not an empty page.
        if args[name] not in c.enums[name]:
            raise InvalidParameter(f"{name} must be one of {', '.join(c.enums[name])} (got {args[name]!r})")
    page.equals = {name: property_value(c.queryables[name], args[name]) for name in sorted(properties & set(args))}
    if args.get("filter"):
        filter_crs = args.get("filter-crs")
        if filter_crs:
            crs.parse(filter_crs, "filter-crs")
        page.filter = (args["filter"], args.get("filter-lang"), filter_crs)
        page.filter_clause = cql2.compile_filter(*page.filter[:2], c.queryables, filter_crs)


@bp.get("/collections/<cid>/items")
def items_(cid: str):
    """Features of a collection: filtered, sorted, paged by keyset, encoded by PostGIS and streamed."""
    c = collections.get(cid)
    page = parse_page(c)
    url = record_url(c.layer)
    headers = {"Content-Crs": f"<{page.crs.uri}>"}
    if wants_html():
        with db.read(items.streamed(page)) as conn:
            rows = [row for batch in items.fetch(conn, page, url) for row in batch]
            shown, more = rows[: page.limit], len(rows) > page.limit
            first, last = (shown[0], shown[-1]) if shown else (None, None)
            matched = items.number_matched(conn, page, first, len(shown), more) if page.cursor is None else None
        features = [json.loads(row[0]) for row in shown]
        links = page_links(page, first, last, more)
        return render_template("ogc/items.html", collection=c, features=features, matched=matched,
                               links=links), 200, headers

    # A page read in one fetch brings the layers' versions in its own statement, unless the client asks
    # whether its copy is current: then they are read first, and an unchanged page costs only that.
    together = not items.streamed(page) and not freshness.conditional()
    if not together and (unchanged := freshness.check_first(headers)) is not None:
        return unchanged
    if not items.streamed(page):  # one fetch: the whole body at once, with its length
        read: dict = {}
        with db.read() as conn:
            body = b"".join(feature_collection(conn, page, url, read if together else None))
            if together:
                headers.update((read.get("validators") or freshness.read(conn)).headers())  # no rows: apart
        return Response(body, mimetype="application/geo+json", headers=headers)

    def stream():
        # The stream owns its connection: the view has returned by the time the body is sent.
        with db.read(transaction=True) as conn:
            yield from feature_collection(conn, page, url)

    body = stream_with_context(stream())
    # The first chunk is made here, in the view: a query that fails then still reaches the error
    # handler (a clear 4xx/5xx body), which it could not once the status line is sent.
    first = next(body)
    return Response(chain([first], body), mimetype="application/geo+json", headers=headers)


def feature_collection(conn: Connection, page: items.Page, url: str, read: dict | None = None) -> Iterator[bytes]:
    """Yield a page's FeatureCollection as UTF-8 in pieces (a batch of features each, then its members).

    Nothing comes before the query has answered (see items_). With `read` (a page read in one fetch), the
    layers' versions come with the rows, and their validators are put in read["validators"].
    """
    versions = read is not None
    head = b'{"type":"FeatureCollection","features":['
    n, first, last, more = 0, None, None, False
    # A streamed first page is counted before it is sent: a count failing after the status line
    # would cut the body short.
    counted = page.cursor is None and items.streamed(page)
    matched = items.count(conn, page) if counted else None
    for batch in items.fetch(conn, page, url, versions):
        if versions and batch and "validators" not in read:
            read["validators"] = freshness.from_columns(batch[0][-2], batch[0][-1])
        if n + len(batch) > page.limit:  # the extra row fetched: there is more
            batch, more = batch[: page.limit - n], True
        if batch:
            first, last = first if n else batch[0], batch[-1]
            yield head + (b"," if n else b"") + b",".join([row[0] for row in batch])
            head, n = b"", n + len(batch)
    if page.cursor is None and not counted:
        matched = items.number_matched(conn, page, first, n, more)
    tail = {"numberReturned": n, "links": page_links(page, first, last, more, versions),
            "timeStamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if matched is not None:
        tail["numberMatched"] = matched
    yield head + b"]," + json.dumps(tail)[1:].encode()


def page_links(page: items.Page, first: Row | None, last: Row | None, more: bool,
               versions: bool = False) -> list[dict]:
    """Return self/alternate links and next/prev keyset links for a page shown from row `first` to `last`.

    The rows are fetch()'s: feature, matched, then sort key values (and the versions, with `versions`). `more`:
    a row beyond the page was fetched in the page's direction; no rows: the page is empty.
    """
    links = self_links(page.collection.title)
    links[0]["type"] = links[0]["type"].replace("application/json", "application/geo+json")
    if page.backwards:
        has_next, has_prev = True, more
    else:
        has_next, has_prev = more, page.cursor is not None
    if last is not None and has_next:
        cursor = items.encode_cursor(items.sort_keys(last, versions), "next")
        links.append(link("next", here(cursor=cursor), "application/geo+json",
                          "next page"))
    if first is not None and has_prev:
        cursor = items.encode_cursor(items.sort_keys(first, versions), "prev")
        links.append(link("prev", here(cursor=cursor), "application/geo+json",
                          "previous page"))
    links.append(link("collection", url_for("ogc.collection", cid=page.collection.id, _external=True),
                      "application/json", page.collection.title))
    return links


@bp.get("/collections/<cid>/items/<slug:fid>")
def item(cid: str, fid: str):
    """One feature."""
    c = collections.get(cid)
    params.known_only(request.args, {"f", "crs"})
    out_crs = crs.parse(request.args.get("crs"))
    html = wants_html()
    headers = {"Content-Crs": f"<{out_crs.uri}>"}
    # A client's copy is checked before the query: an unchanged feature costs a 304 and one read of the
    # versions. Otherwise the versions come with the feature, in the same round trip.
    together = not html and not freshness.conditional()
    if not html and not together and (unchanged := freshness.check_first(headers)) is not None:
        return unchanged
    row = None
    if "\x00" not in fid:  # no slug holds a NUL, and PostgreSQL would refuse to compare one
        with db.read() as conn:
            row = items.one(conn, c, fid, out_crs, record_url(c.layer), versions=together)
    if row is None:
        raise NotFound(f"no feature {fid!r} in collection {cid!r}")
    if together:
        headers.update(freshness.from_columns(row[1], row[2]).headers())
    feature = json.loads(row[0])
    feature["links"] = [*self_links(feature["id"]),
                        link("collection", url_for("ogc.collection", cid=cid, _external=True), "application/json")]
    if html:
        return render_template("ogc/items.html", collection=c, features=[feature], matched=None,
                               links=feature["links"]), 200, headers
    return Response(json.dumps(feature, ensure_ascii=False), mimetype="application/geo+json", headers=headers)


TILE_PARAMS = {"datetime", "filter", "filter-lang", "filter-crs"}  # and the property filters, as for items


@bp.record_once
def _tile_cache(state) -> None:
    # One cache per app: its tiles are those of the app's database.
    state.app.extensions["heritage_map.tile_cache"] = tiles.TileCache(
        state.app.config.get("TILE_CACHE_MB", tiles.CACHE_BYTES // 2**20) * 2**20)


def tileset_links(cid: str) -> list[dict]:
    """Return the links of a collection's tileset: itself, its TileJSON, its data and its tiling scheme."""
    here_url = url_for("ogc.tileset", cid=cid, tms=tiles.TILE_MATRIX_SET, _external=True)
    return [link("self", here_url, "application/json", "this tileset"),
            link("alternate", here_url + "?f=tilejson", "application/json", "TileJSON"),
            link("http://www.opengis.net/def/rel/ogc/1.0/geodata", url_for("ogc.collection", cid=cid, _external=True),
                 "application/json", "the collection"),
            link("http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", tiles.TILE_MATRIX_SET_URI, "application/json",
                 tiles.TILE_MATRIX_SET)]


def tile_template(cid: str, z: str, y: str, x: str) -> str:
    """Return the URL template of a collection's tiles, with the given placeholders (the braces are kept)."""
    mark = "0"  # url_for would escape braces: build with numbers, then put the placeholders in
    url = url_for("ogc.tile", cid=cid, tms=tiles.TILE_MATRIX_SET, z=mark, y=mark, x=mark, _external=True)
    return url.removesuffix("/0/0/0") + f"/{z}/{y}/{x}"


@bp.get("/collections/<cid>/tiles")
def tilesets(cid: str):
    """The vector tilesets of a collection (one: WebMercatorQuad)."""
    c = collections.get(cid)
    params.known_only(request.args, {"f"})
    entry = {"title": f"{c.title} ({tiles.TILE_MATRIX_SET})", "dataType": "vector", "crs": tiles.CRS_URI,
             "tileMatrixSetURI": tiles.TILE_MATRIX_SET_URI, "links": tileset_links(cid)}
    return respond({"links": self_links(f"{c.title}: tilesets"), "tilesets": [entry]}, "ogc/page.html")


@bp.get("/collections/<cid>/tiles/<tms>")
def tileset(cid: str, tms: str):
    """A collection's tileset metadata (f=tilejson: as TileJSON 3.0)."""
    c = collections.get(cid)
    tiles.check_matrix_set(tms)
    params.known_only(request.args, {"f"})
    if request.args.get("f") == "tilejson":
        doc = tiles.tilejson(cid, c.title, tile_template(cid, "{z}", "{y}", "{x}"), SERVED_EXTENT)
        return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/json")
    template = tile_template(cid, "{tileMatrix}", "{tileRow}", "{tileCol}")
    return respond(tiles.tileset(cid, c.title, template, tileset_links(cid)), "ogc/page.html")


@bp.get("/collections/<cid>/tiles/<tms>/<z>/<y>/<x>")
def tile(cid: str, tms: str, z: str, y: str, x: str):
    """One vector tile of a collection, filtered as its items are; cached until a record of its layer changes."""
    c = collections.get(cid)
    zoom, col, row = tiles.tile_address(tms, z, y, x)
    params.known_only(request.args, TILE_PARAMS | property_names(c))
    page = items.Page(c, crs.parse(None), 1)
    parse_filters(page)
    url = record_url(c.layer)
    cache = current_app.extensions["heritage_map.tile_cache"]
    key = tiles.address(page, zoom, col, row, url)
    kept = cache.get(key)
    with db.read() as conn:
        # A tile kept, or one the client may have (a conditional request): its layer's version first, so
        # that an unchanged tile costs that one small query. Else the version comes with the new tile.
        if kept is not None or request.if_none_match:
            layer_version = tiles.version(conn, c.layer)
            tag = tiles.etag(key, layer_version)
            if compression.not_modified(tag):
                return Response(status=304, headers=tile_headers(tag))
            if kept is not None and kept[0] == layer_version:
                return Response(kept[1], mimetype=tiles.MVT, headers=tile_headers(tag))
        layer_version, body = tiles.encode(conn, page, zoom, col, row, url)
    cache.put(key, layer_version, body)
    return Response(body, mimetype=tiles.MVT, headers=tile_headers(tiles.etag(key, layer_version)))


def tile_headers(tag: str) -> dict[str, str]:
    """Return a tile answer's validator headers."""
    return {"ETag": f'"{tag}"', "Cache-Control": tiles.CACHE_CONTROL}
