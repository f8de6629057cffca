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

from sqlalchemy import BigInteger, Connection, Float, Integer, LargeBinary, Select, Text, and_, bindparam, cast, func
from sqlalchemy import case, literal, null, or_, select, text, union_all
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
CELLS = 16  # cells per side of a tile when clustering (16 px on a 256 px tile)
SMALL = 64  # when clustering, a shape narrower and lower than 1/SMALL of the tile (4 px) is counted as a point
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


def version(conn: Connection, layer: str) -> int:
    """Return the layer's version, which the database bumps at every change of its table (migration 0007)."""
    return conn.scalar(text("SELECT version FROM layer_versions WHERE layer = :layer"), {"layer": layer})


def etag(page: Page, z: int, x: int, y: int, record_url: str, layer_version: int) -> str:
    """Return the entity tag of a tile: a hash of everything its bytes depend on, the layer's version included."""
    what = [_ENCODING, z, x, y, record_url, page.shape(), sorted(page.values().items()), layer_version]
    return hashlib.sha256(json.dumps(what, default=str).encode()).hexdigest()[:32]


def encode(conn: Connection, page: Page, z: int, x: int, y: int, record_url: str) -> bytes:
    """Return the tile z/x/y of the page's collection as Mapbox Vector Tile bytes, made by PostGIS."""
    values = page.values() | {"z": z, "x": x, "y": y}
    clustered = z < CLUSTER_BELOW or conn.scalar(_dense_statement(page), values)
    tile = conn.scalar(_statement(page, clustered, record_url), values)
    if not clustered and len(tile) > MAX_TILE_BYTES:  # a dense place: counts keep the tile small
        tile = conn.scalar(_statement(page, True, record_url), values)
    return bytes(tile)


def _statement(page: Page, clustered: bool, record_url: str) -> Select:
    # z, x and y are bound; what the build writes in (the filter's text, the URL, the layer name) is in the key.
    key = ("tile", clustered, page.shape(), record_url)
    return items.cached_statement(key, lambda: _build(page, clustered, record_url))


def _dense_statement(page: Page) -> Select:
    """Return the SELECT of whether more than DENSE records meet the tile (z, x, y bound), read no further."""
    def build() -> Select:
        _, _, conditions = _tile_area(page)
        found = select(page.collection.model.id).where(and_(*conditions)).limit(DENSE + 1).subquery()
        return select(select(func.count()).select_from(found).scalar_subquery() > DENSE)
    return items.cached_statement(("tile-dense", page.shape()), build)


def _tile_area(page: Page) -> tuple[ColumnElement, ColumnElement, list[ColumnElement]]:
    """Return the tile's envelope (EPSG:3857), its width in metres and the conditions of the records drawn in it."""
    z = bindparam("z", type_=Integer)
    envelope = queries.once(func.ST_TileEnvelope(z, bindparam("x", type_=Integer), bindparam("y", type_=Integer)))
    size = literal(2 * _HALF_WORLD, Float) / func.power(2, z)
    # The records drawn in the tile and its margin, found by the spatial index in the storage SRID.
    area = queries.once(func.ST_Transform(func.ST_Expand(envelope, size * BUFFER / EXTENT), SRID))
    return envelope, size, [*items.conditions(page), page.collection.model.geom.op("&&")(area)]


def _build(page: Page, clustered: bool, record_url: str) -> Select:
    c = page.collection
    model = c.model
    envelope, size, conditions = _tile_area(page)
    mercator = func.ST_Transform(model.geom, 3857)

    def mvt_geom(geom: ColumnElement) -> ColumnElement:
        return func.ST_AsMVTGeom(geom, envelope, EXTENT, BUFFER, True)

    prefix, _, suffix = record_url.partition("{slug}")
    props = [getattr(model, name) for name in layers.get(c.layer).tile_properties]
    url = literal(prefix, Text) + model.slug + literal(suffix, Text)
    # Simplified to a tile unit: finer detail would be snapped away by the encoding anyway.
    simplified = func.ST_SimplifyPreserveTopology(mercator, size / EXTENT)
    singles = select(mvt_geom(simplified).label("geom"), *props, url.label("url"),
                     cast(null(), BigInteger).label("count"))
    if not clustered:
        rows = singles.where(and_(*conditions))
    else:
        point = func.ST_GeometryType(model.geom) == "ST_Point"
        # Points are grouped in the storage SRID, so none is reprojected: one ST_Transform per cluster
        # instead of three per point (a z10 tile of 100,000 points: 430 → 375 ms; z12: 229 → 159 ms).
        # Cells start at the tile's corner and cut it into CELLS × CELLS (nodes at their centres); a
        # tile's edges fall on parallels and meridians, so the cells split it exactly, near-square from z5 on.
        tile = queries.once(func.ST_Transform(envelope, SRID))
        width = (func.ST_XMax(tile) - func.ST_XMin(tile)) / CELLS
        height = (func.ST_YMax(tile) - func.ST_YMin(tile)) / CELLS
        # A line or polygon under 4 px is a point at this zoom: it joins its cell's count rather
        # than being simplified and encoded for less than a pixel (z8 over 10,000 small polygons: a
        # 1.5 MB tile, 720 ms; z12: 17 of its 35 ms). Its bounding box is read from the geometry's header.
        small = and_(func.ST_XMax(model.geom) - func.ST_XMin(model.geom) < width * CELLS / SMALL,
                     func.ST_YMax(model.geom) - func.ST_YMin(model.geom) < height * CELLS / SMALL)
        anchor = case((point, model.geom), else_=func.ST_Centroid(model.geom))
        snapped = func.ST_SnapToGrid(anchor, func.ST_XMin(tile) + width / 2, func.ST_YMin(tile) + height / 2,
                                     width, height)
        centre = func.ST_Transform(func.ST_Centroid(func.ST_Collect(anchor)), 3857)
        # Each anchor counts in exactly one tile: the tile's box, half-open (west and south edges in,
        # east and north out). Not `&&`, whose boxes are rounded outwards to float4, so a point within
        # 0.2 m of an edge was counted in both tiles; nor ST_Intersects, closed on every edge (and 4 µs
        # a point dearer). A shape over two tiles is counted in the one holding its centroid.
        x, y = func.ST_X(anchor), func.ST_Y(anchor)
        inside = and_(x >= func.ST_XMin(tile), x < func.ST_XMax(tile), y >= func.ST_YMin(tile), y < func.ST_YMax(tile))
        clusters = (select(mvt_geom(centre).label("geom"), *[cast(null(), p.type).label(p.key) for p in props],
                           cast(null(), Text).label("url"), func.count().label("count"))
                    .where(and_(*conditions, or_(point, small), inside))
                    .group_by(snapped))
        rows = union_all(clusters, singles.where(and_(*conditions, ~point, ~small)))
    rows = rows.subquery("tile_rows")
    drawn = select(rows).where(rows.c.geom.is_not(None)).subquery(c.id.replace("-", "_"))
    return (select(func.ST_AsMVT(drawn.table_valued(), literal(c.id, Text), EXTENT, "geom", type_=LargeBinary))
            .execution_options(binary_results=True))


class TileCache:
    """Tiles by ETag, up to `capacity` bytes in all, the least recently used forgotten first; thread-safe."""

    ENTRY = 200  # bytes an entry costs beside its tile: the key, the list's links

    def __init__(self, capacity: int = CACHE_BYTES):
        self.capacity, self.used, self.tiles, self.lock = capacity, 0, OrderedDict(), threading.Lock()

    def get(self, key: str) -> bytes | None:
        """Return the tile of `key`, or None."""
        with self.lock:
            tile = self.tiles.get(key)
            if tile is not None:
                self.tiles.move_to_end(key)
            return tile

    def put(self, key: str, tile: bytes) -> bytes:
        """Keep `tile` under `key` (unless it alone outgrows the cache), forgetting old ones to make room."""
        cost = len(tile) + self.ENTRY
        with self.lock:
            if key in self.tiles or cost > self.capacity:
                return tile
            self.tiles[key] = tile
            self.used += cost
            while self.used > self.capacity:
                _, old = self.tiles.popitem(last=False)
                self.used -= len(old) + self.ENTRY
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
