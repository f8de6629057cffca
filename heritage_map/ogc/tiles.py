"""Vector tiles of a collection (OGC API – Tiles, WebMercatorQuad): encoded by PostGIS, cached by layer version.

A tile is filtered by the very conditions of an items page (items.conditions), so a tile and the
items of the same filter hold the same records. Below CLUSTER_BELOW points come as one feature per
grid cell with their `count`; lines and polygons are simplified to the tile's resolution first.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict

from sqlalchemy import (BigInteger, BindParameter, Connection, Float, Integer, LargeBinary, Select, Text, and_,
                        bindparam, case, cast, column, func, literal, null, select, table, text, union_all)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from ..catalogue import layers, queries
from ..catalogue.models import SRID
from ..errors import InvalidParameter, NotFound
from . import items
from .items import Page

TILE_MATRIX_SET = "WebMercatorQuad"
TILE_MATRIX_SET_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 20  # tiles 38 m wide: a gate fills one; clients zoom further into the z20 tiles
CLUSTER_BELOW = 13  # a z13 tile is 4.9 km wide, about the town: below it single markers crowd
CELL_ZOOMS = 4  # when clustering, a tile's cells are the tiles 4 zooms deeper (migration 0015)
CELLS = 2**CELL_ZOOMS  # cells per side of a tile: 16 px on a 256 px tile
SMALL = 64  # a shape narrower and lower than 1/SMALL of a tile (4 px) counts as a point (heritage_point_below)
EXTENT, BUFFER = 4096, 64  # the tile's grid, and the margin drawn around it so that symbols are not cut
MAX_TILE_BYTES = 500_000  # a tile of single features past this is sent clustered instead
# Each single feature carries at least its slug and url (50 bytes and more): past this many, the tile
# would be past MAX_TILE_BYTES, and is clustered without being encoded first.
DENSE = 10_000
CACHE_BYTES = 64 * 2**20
# Revalidate every time: a browser honours max-age without asking, so any max-age would let it show
# a tile older than a change for that long. With the ETag, an unchanged tile costs a 304.
CACHE_CONTROL = "public, no-cache"
_ENCODING = "mvt-2"  # in every ETag: change it when the same records would make a different tile
_HALF_WORLD = 20037508.342789244  # Web Mercator's half width, metres


def tile_address(matrix_set: str, z: str, y: str, x: str) -> tuple[int, int, int]:
    """Return (z, x, y) of a tile's path parts, or raise NotFound / InvalidParameter saying which part is wrong.

    >>> tile_address("WebMercatorQuad", "15", "13563", "15602")
    (15, 15602, 13563)
    >>> tile_address("WebMercatorQuad", "1", "0", "2")
    Traceback (most recent call last):
    ...
    heritage_map.errors.NotFound: tileCol 2 is outside tile matrix 1 (0 to 1)
    >>> tile_address("WebMercatorQuad", "21", "0", "0")
    Traceback (most recent call last):
    ...
    heritage_map.errors.NotFound: tile matrix 21 is not served (0 to 20)
    >>> tile_address("WebMercatorQuad", "-1", "0", "0")
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: tileMatrix must be a whole number from 0 to 20 (got '-1')
    >>> tile_address("WorldCRS84Quad", "0", "0", "0")
    Traceback (most recent call last):
    ...
    heritage_map.errors.NotFound: no tile matrix set 'WorldCRS84Quad' (served: WebMercatorQuad)
    """
    check_matrix_set(matrix_set)
    numbers = []
    for name, value in (("tileMatrix", z), ("tileRow", y), ("tileCol", x)):
        # Digits only, at most 7: int() takes " 1_0" and other scripts' digits.
        if not re.fullmatch(r"[0-9]{1,7}", value):
            raise InvalidParameter(f"{name} must be a whole number from 0 to {MAX_ZOOM} (got {value!r})"
                                   if name == "tileMatrix" else f"{name} must be a whole number (got {value!r})")
        numbers.append(int(value))
    zoom, row, col = numbers
    if zoom > MAX_ZOOM:
        raise NotFound(f"tile matrix {zoom} is not served (0 to {MAX_ZOOM})")
    for name, value in (("tileRow", row), ("tileCol", col)):
        if value >= 2**zoom:
            raise NotFound(f"{name} {value} is outside tile matrix {zoom} (0 to {2**zoom - 1})")
    return zoom, col, row


def check_matrix_set(name: str) -> None:
    """Raise NotFound unless `name` is the tile matrix set served."""
    if name != TILE_MATRIX_SET:
        raise NotFound(f"no tile matrix set {name!r} (served: {TILE_MATRIX_SET})")


VERSION = "SELECT version FROM layer_versions WHERE layer = :layer"


def version(conn: Connection, layer: str) -> int:
    """Return the layer's version, which the database bumps at every change of its table (migration 0007)."""
    return conn.scalar(text(VERSION), {"layer": layer})


def address(page: Page, z: int, x: int, y: int, record_url: str) -> str:
    """Return the key of a tile in the cache: a hash of everything its bytes depend on but the layer's version."""
    what = [_ENCODING, z, x, y, record_url, page.shape(), sorted(page.values().items())]
    return hashlib.sha256(json.dumps(what, default=str).encode()).hexdigest()[:32]


def etag(tile_address: str, layer_version: int) -> str:
    """Return the entity tag of a tile: its address and the version of its layer's records."""
    return hashlib.sha256(f"{tile_address} {layer_version}".encode()).hexdigest()[:32]


def encode(conn: Connection, page: Page, z: int, x: int, y: int, record_url: str) -> tuple[int, bytes]:
    """Return the layer's version and the tile z/x/y of the page's collection as MVT bytes, made by PostGIS.

    One statement, so one round trip, and the tile is of the very records of that version (one snapshot).
    """
    values = page.values() | {"z": z, "x": x, "y": y, "layer": page.collection.layer}
    low = z < CLUSTER_BELOW
    layer_version, dense, tile = conn.execute(_statement(page, low, record_url), values).one()
    if dense or len(tile) > MAX_TILE_BYTES:  # a dense place: counts keep the tile small
        tile = conn.scalar(_tile(page, "dense", record_url), values)
    return layer_version, bytes(tile)


def _statement(page: Page, low: bool, record_url: str) -> Select:
    """Return the SELECT of the layer's version, whether the tile is dense and the tile (z, x, y bound)."""
    def build() -> Select:
        versions = text(VERSION).columns(version=BigInteger).scalar_subquery()
        if low:
            # The database keeps the counts of a collection's cells (migration 0015); a filter needs its own.
            mode = "counted" if page.filtered else "stored"
            return select(versions, literal(False), _tile(page, mode, record_url).scalar_subquery())
        # Past DENSE records single features would outgrow a tile: no tile then (a CASE runs the subquery,
        # an InitPlan, of the branch taken only), and counts are asked for apart. Not a second branch here:
        # planning it at every request would cost more (2 ms) than the rare second query.
        dense = select(_dense(page).label("dense")).subquery("density")
        made = case((dense.c.dense, null()), else_=_tile(page, "single", record_url).scalar_subquery())
        return select(versions, dense.c.dense, made).select_from(dense)
    # x and y are bound, z too (below CLUSTER_BELOW written in at each execution, never stored: see _zoom);
    # what the build writes in (the filter's text, the URL, the layer name) is in the key.
    return items.cached_statement(("tile", low, page.shape(), record_url), build)


def _tile(page: Page, mode: str, record_url: str) -> Select:
    """Return the tile's own SELECT in `mode` (see _build), built once per shape."""
    return items.cached_statement(("tile-of", mode, page.shape(), record_url), lambda: _build(page, mode, record_url))


def _dense(page: Page) -> ColumnElement:
    """Return whether more than DENSE records meet the tile (z, x, y bound), read no further."""
    _, _, conditions = _tile_area(page, _zoom(False))
    found = select(page.collection.model.id).where(and_(*conditions)).limit(DENSE + 1).subquery()
    return select(func.count()).select_from(found).scalar_subquery() > DENSE


def _zoom(low: bool) -> BindParameter:
    """Return the zoom's parameter: below CLUSTER_BELOW written into the SQL (13 statements at most), else bound.

    Written in, the zoom lets a prepared statement's one generic plan know which shapes a tile draws singly
    (heritage_point_below(geom) <= z, by its index's statistics), so it is not planned anew at each request
    (2 ms at z12); a deep zoom's tiles have no such condition.
    """
    return bindparam("z", type_=Integer, literal_execute=low)


def _tile_area(page: Page, z: BindParameter) -> tuple[ColumnElement, ColumnElement, list[ColumnElement]]:
    """Return the tile's envelope (EPSG:3857), its width in metres and the conditions of the records drawn in it."""
    envelope = queries.once(func.ST_TileEnvelope(z, bindparam("x", type_=Integer), bindparam("y", type_=Integer)))
    size = literal(2 * _HALF_WORLD, Float) / func.power(2, z)
    # The records drawn in the tile and its margin, found by the spatial index in the storage SRID.
    area = queries.once(func.ST_Transform(func.ST_Expand(envelope, size * BUFFER / EXTENT), SRID))
    return envelope, size, [*items.conditions(page), page.collection.model.geom.op("&&")(area)]


# The cells' counts that the database keeps (migration 0015): per layer, zoom, cell and facets.
_CLUSTERS = table("tile_clusters", column("layer", Text), column("z", Integer), column("cx", Integer),
                  column("cy", Integer), column("facets", JSONB), column("n", Integer),
                  column("sum_lon", Float), column("sum_lat", Float))


def _build(page: Page, mode: str, record_url: str) -> Select:
    """Return the tile's SELECT: single features ("single"), or counts per cell, live ("counted", "dense") or kept.

    A cell is a tile CELL_ZOOMS deeper (16 × 16 per tile); a point, or a shape under 4 px at the zoom
    (heritage_point_below), counts in the cell of its anchor (itself, or its shape's centroid), and the
    cluster is drawn at the mean of its anchors. The functions are those that keep the stored counts, so
    a filtered tile counts exactly as the stored counts of the same records would.
    """
    c = page.collection
    model = c.model
    z = _zoom(mode != "single" and mode != "dense")
    envelope, size, conditions = _tile_area(page, z)
    x, y = (bindparam(n, type_=Integer) for n in ("x", "y"))

    def mvt_geom(geom: ColumnElement) -> ColumnElement:
        return func.ST_AsMVTGeom(geom, envelope, EXTENT, BUFFER, True)

    def centre(lon: ColumnElement, lat: ColumnElement) -> ColumnElement:
        return mvt_geom(func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID), 3857))

    def in_tile(cx: ColumnElement, cy: ColumnElement) -> ColumnElement:
        # Each cell, and so each anchor, is in exactly one tile: its index >> CELL_ZOOMS.
        return and_(cx >= x * CELLS, cx < (x + 1) * CELLS, cy >= y * CELLS, cy < (y + 1) * CELLS)

    prefix, _, suffix = record_url.partition("{slug}")
    props = [getattr(model, name) for name in layers.get(c.layer).tile_properties]
    url = literal(prefix, Text) + model.slug + literal(suffix, Text)
    # Simplified to a tile unit: finer detail would be snapped away by the encoding anyway.
    simplified = func.ST_SimplifyPreserveTopology(func.ST_Transform(model.geom, 3857), size / EXTENT)
    singles = select(mvt_geom(simplified).label("geom"), *props, url.label("url"),
                     cast(null(), BigInteger).label("count"))
    no_props = [cast(null(), p.type).label(p.key) for p in props]
    below = func.heritage_point_below(model.geom)
    if mode == "single":
        rows = singles.where(and_(*conditions))
    elif mode == "stored":
        t = _CLUSTERS.c
        n = func.sum(t.n)
        clusters = (select(centre(func.sum(t.sum_lon) / cast(n, Float), func.sum(t.sum_lat) / cast(n, Float))
                           .label("geom"), *no_props, cast(null(), Text).label("url"), n.label("count"))
                    .where(t.layer == literal(c.layer, Text), t.z == z, in_tile(t.cx, t.cy),
                           t.facets.op("@>")(literal(c.facets, JSONB)))
                    .group_by(t.cx, t.cy))
        rows = union_all(clusters, singles.where(and_(*conditions, below <= z)))
    else:
        anchor = func.heritage_anchor(model.geom)
        counted = (select(func.ST_X(anchor).label("lon"), func.ST_Y(anchor).label("lat"))
                   .where(and_(*conditions, below > z)).subquery("counted"))
        cx = func.heritage_tile_col(counted.c.lon, z + CELL_ZOOMS)
        cy = func.heritage_tile_row(counted.c.lat, z + CELL_ZOOMS)
        clusters = (select(centre(func.avg(counted.c.lon), func.avg(counted.c.lat)).label("geom"), *no_props,
                           cast(null(), Text).label("url"), func.count().label("count"))
                    .where(in_tile(cx, cy)).group_by(cx, cy))
        rows = union_all(clusters, singles.where(and_(*conditions, below <= z)))
    rows = rows.subquery("tile_rows")
    drawn = select(rows).where(rows.c.geom.is_not(None)).subquery(c.id.replace("-", "_"))
    return (select(func.ST_AsMVT(drawn.table_valued(), literal(c.id, Text), EXTENT, "geom", type_=LargeBinary))
            .execution_options(binary_results=True))


class TileCache:
    """Tiles by address with the layer version they were made at, up to `capacity` bytes in all, the least
    recently used forgotten first; thread-safe."""

    ENTRY = 200  # bytes an entry costs beside its tile: the key, the version, the list's links

    def __init__(self, capacity: int = CACHE_BYTES):
        self.capacity, self.used, self.tiles, self.lock = capacity, 0, OrderedDict(), threading.Lock()

    def get(self, key: str) -> tuple[int, bytes] | None:
        """Return the (layer version, tile) kept under `key`, or None."""
        with self.lock:
            entry = self.tiles.get(key)
            if entry is not None:
                self.tiles.move_to_end(key)
            return entry

    def put(self, key: str, layer_version: int, tile: bytes) -> bytes:
        """Keep `tile` of `layer_version` under `key`, in place of an older one (unless it alone outgrows the cache)."""
        cost = len(tile) + self.ENTRY
        with self.lock:
            old = self.tiles.pop(key, None)
            if old is not None:
                self.used -= len(old[1]) + self.ENTRY
            if cost > self.capacity:
                return tile
            self.tiles[key] = (layer_version, tile)
            self.used += cost
            while self.used > self.capacity:
                _, (_, dropped) = self.tiles.popitem(last=False)
                self.used -= len(dropped) + self.ENTRY
        return tile


def tile_fields(layer: layers.Layer) -> dict[str, str]:
    """Return the attributes of a layer's tile features, name → JSON type (as TileJSON's vector_layers list them)."""
    fields = {}
    for name in layer.tile_properties:
        python_type = getattr(layer.model, name).type.python_type
        fields[name] = {bool: "Boolean", int: "Number", float: "Number"}.get(python_type, "String")
    return fields | {"url": "String", "count": "Number"}


def tileset(collection_id: str, title: str, tiles_url: str, links: list[dict]) -> dict:
    """Return the tileset metadata (OGC Tile Set) of a collection, tiles at `tiles_url` ({tileMatrix}… in it)."""
    layer, _ = layers.VIEWS[collection_id]
    properties = {name: {"type": {"Boolean": "boolean", "Number": "number"}.get(kind, "string")}
                  for name, kind in tile_fields(layer).items()}
    return {
        "title": f"{title} ({TILE_MATRIX_SET})", "dataType": "vector", "crs": CRS_URI,
        "tileMatrixSetURI": TILE_MATRIX_SET_URI,
        "layers": [{"id": collection_id, "dataType": "vector", "minTileMatrix": "0", "maxTileMatrix": str(MAX_ZOOM),
                    "propertiesSchema": {"type": "object", "properties": properties}}],
        "links": [*links, {"rel": "item", "href": tiles_url, "type": MVT, "templated": True, "title": "a tile"}],
    }


def tilejson(collection_id: str, title: str, tiles_url: str, bounds: tuple[float, ...]) -> dict:
    """Return the TileJSON 3.0 document of a collection's tiles, tiles at `tiles_url` ({z}, {x}, {y} in it)."""
    layer, _ = layers.VIEWS[collection_id]
    return {"tilejson": "3.0.0", "name": title, "scheme": "xyz", "tiles": [tiles_url], "minzoom": 0,
            "maxzoom": MAX_ZOOM, "bounds": list(bounds),
            "vector_layers": [{"id": collection_id, "fields": tile_fields(layer), "minzoom": 0,
                               "maxzoom": MAX_ZOOM}]}
