"""Geometries sent by people: a GeoJSON body or an uploaded file, checked before any query sees them."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from werkzeug.datastructures import FileStorage

from ..catalogue.geometry import MAX_VERTICES, check
from ..errors import InvalidGeometry, InvalidParameter, TooLarge
from ..transfer.files import ImportFailed, read_file

UPLOAD_SUFFIXES = (".geojson", ".json", ".kml", ".gpx", ".gpkg", ".zip")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# What a zipped Shapefile may unpack to: 10,000 vertices and their attributes take well under 1 MB.
MAX_UNPACKED = 100 * 1024 * 1024


# A MultiPolygon's coordinates are four arrays deep, in a Feature in a FeatureCollection in a
# GeometryCollection: nine levels of objects and arrays. Shapely walks coordinates recursively, so a
# deeper document (a thousand brackets) would exhaust Python's stack before any check refused it.
MAX_DEPTH = 16


def load_json(data: str | bytes):
    """Return the JSON document `data`, or raise InvalidParameter when it is malformed or nested too deep.

    >>> load_json('{"type": "Point"}')
    {'type': 'Point'}
    >>> load_json("[" * 20 + "]" * 20)
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: the JSON is nested deeper than 16 levels
    """
    try:
        doc = json.loads(data)
    except RecursionError:
        doc = None  # deeper than Python's own parser goes (about a thousand levels)
    except ValueError as exc:
        raise InvalidParameter(f"the body is not valid JSON: {exc}") from None
    if doc is None and data.strip() not in ("null", b"null") or too_deep(doc):
        raise InvalidParameter(f"the JSON is nested deeper than {MAX_DEPTH} levels")
    return doc


def too_deep(doc, limit: int = MAX_DEPTH) -> bool:
    """Tell whether a parsed JSON document nests arrays and objects deeper than `limit` (without recursion).

    >>> too_deep([[[1]]], 3), too_deep([[[1]]], 2), too_deep({"a": [{"b": 1}]}, 2)
    (False, True, True)
    """
    level, depth = [doc], 0
    while True:
        containers = [node for node in level if isinstance(node, (list, dict))]
        depth += 1
        if not containers:
            return False
        if depth > limit:
            return True
        level = [child for node in containers for child in (node.values() if isinstance(node, dict) else node)]


def from_geojson(doc, *, allowed: tuple[str, ...] | None = None, **checks) -> BaseGeometry:
    """Return the geometry of a GeoJSON Geometry, Feature or FeatureCollection (merged), checked.

    `checks` go to catalogue.geometry.check (bounds, region, max_vertices, repair).
    """
    if isinstance(doc, (str, bytes)):
        doc = load_json(doc)
    elif too_deep(doc):
        raise InvalidParameter(f"the JSON is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(doc, dict) or "type" not in doc:
        raise InvalidParameter("expected a GeoJSON geometry, Feature or FeatureCollection")
    kind = doc["type"]
    try:
        if kind == "Feature":
            geom = shape(doc["geometry"]) if doc.get("geometry") else None
        elif kind == "FeatureCollection":
            geom = merge([shape(f["geometry"]) for f in doc.get("features", []) if f.get("geometry")])
        else:
            geom = shape(doc)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidGeometry(f"not a readable GeoJSON geometry: {exc}") from None
    except OverflowError:  # an integer coordinate of 400 digits: no float holds it
        raise InvalidGeometry("not a readable GeoJSON geometry: a coordinate is too large for a number") from None
    return check(_to_lonlat(geom, doc.get("crs")), **({"allowed": allowed} if allowed else {}), **checks)


def _to_lonlat(geom: BaseGeometry | None, crs_member) -> BaseGeometry | None:
    """Reproject a geometry from the CRS an old-style GeoJSON "crs" member names (RFC 7946 has none: lon/lat)."""
    if geom is None or not crs_member:
        return geom
    try:
        source = CRS.from_user_input(crs_member["properties"]["name"])
    except (KeyError, TypeError, CRSError) as exc:
        raise InvalidParameter(f"the GeoJSON crs member names no CRS PROJ knows: {exc}") from None
    if source.is_geographic and source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return geom
    to_lonlat = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: numpy.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))


def from_upload(upload: FileStorage, *, allowed: tuple[str, ...] | None = None, **checks) -> BaseGeometry:
    """Return the merged geometry of an uploaded file (GeoJSON, KML, GPX, GeoPackage, zipped Shapefile), checked."""
    name = Path(upload.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InvalidParameter(f"cannot read {name!r}: send GeoJSON, KML, GPX, GeoPackage or a zipped Shapefile")
    data = upload.read()  # at most MAX_CONTENT_LENGTH bytes
    if suffix in (".json", ".geojson"):
        return from_geojson(data, allowed=allowed, **checks)  # read as JSON here: GDAL never opens it
    _check_content(name, suffix, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            frame = read_file(path)
        except ImportFailed as exc:
            # Name the file as sent, never the server's temporary path.
            raise InvalidParameter(exc.message.replace(str(path), name).replace(path.name, name)) from None
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    if not geoms:
        raise InvalidGeometry(f"{name} holds no geometry")
    return check(merge(geoms), **({"allowed": allowed} if allowed else {}), **checks)


def _check_content(name: str, suffix: str, data: bytes) -> None:
    """Refuse a file whose content is not what its name says.

    GDAL picks its driver from the content: a "KML" that is really a VRT could make the
    server read its own files or fetch URLs. So each format is checked before GDAL opens it.
    """
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix == ".gpkg":
        ok = data.startswith(b"SQLite format 3\x00")
    elif suffix in (".kml", ".gpx"):
        tag = b"<" + suffix[1:].encode()
        # No DTD: entities could pull in local files or expand without end.
        ok = head.startswith((b"<?xml", tag)) and tag in head and b"<!DOCTYPE" not in data.upper() \
            and b"<!ENTITY" not in data.upper()
    else:
        try:
            infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        except (zipfile.BadZipFile, ValueError, EOFError):
            infos = []
        members = [info.filename for info in infos]
        unpacked = sum(info.file_size for info in infos)
        # A zip bomb: a few hundred KB that GDAL would unpack to gigabytes. The sizes are the zip's own
        # word (a liar's entry is cut by zipfile's CRC and size checks when read), enough to refuse early.
        if unpacked > MAX_UNPACKED:
            raise TooLarge(f"{name} would unpack to {unpacked // (1 << 20)} MB; at most "
                           f"{MAX_UNPACKED // (1 << 20)} MB are accepted")
        ok = any(m.lower().endswith(".shp") for m in members) and all(
            m.lower().endswith(SHAPEFILE_PARTS) and "/" not in m and "\\" not in m for m in members)
    if not ok:
        kind = {".gpkg": "a GeoPackage", ".kml": "a KML document", ".gpx": "a GPX document",
                ".zip": "a zip of Shapefile parts (.shp, .shx, .dbf, .prj, .cpg)"}[suffix]
        raise InvalidParameter(f"{name} is not {kind}")


def merge(parts: list[BaseGeometry]) -> BaseGeometry | None:
    """Return the union of `parts` (one part as it is), or None when there is none."""
    # Count before merging: the union of many small parts is itself the costly step.
    vertices = int(shapely.get_num_coordinates(parts).sum()) if parts else 0
    if vertices > MAX_VERTICES:
        raise TooLarge(f"the shapes have {vertices} vertices in all; at most {MAX_VERTICES} are accepted")
    if len(parts) <= 1:
        return parts[0] if parts else None
    try:
        return shapely.union_all(parts)
    except shapely.errors.GEOSException as exc:
        raise InvalidGeometry(f"cannot merge the shapes: {exc}") from None
