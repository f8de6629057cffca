"""Geometries sent by people: a GeoJSON body or an uploaded file, checked before any query sees them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from werkzeug.datastructures import FileStorage

from .errors import InvalidGeometry, InvalidParameter
from .geometry import check
from .transfer import ImportFailed, read_file

UPLOAD_SUFFIXES = (".geojson", ".json", ".kml", ".gpkg", ".zip")


def from_geojson(doc, *, allowed: tuple[str, ...] | None = None) -> BaseGeometry:
    """Return the geometry of a GeoJSON Geometry, Feature or FeatureCollection (merged), checked."""
    if isinstance(doc, (str, bytes)):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise InvalidParameter(f"the body is not valid JSON: {exc}") from None
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
    return check(geom, **({"allowed": allowed} if allowed else {}))


def from_upload(upload: FileStorage, *, allowed: tuple[str, ...] | None = None) -> BaseGeometry:
    """Return the merged geometry of an uploaded file (GeoJSON, KML, GeoPackage, zipped Shapefile), checked."""
    name = Path(upload.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InvalidParameter(f"cannot read {name!r}: send GeoJSON, KML, GeoPackage or a zipped Shapefile")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        try:
            frame = read_file(path)
        except ImportFailed as exc:
            # Name the file as sent, never the server's temporary path.
            raise InvalidParameter(exc.message.replace(str(path), name).replace(path.name, name)) from None
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    if not geoms:
        raise InvalidGeometry(f"{name} holds no geometry")
    return check(merge(geoms), **({"allowed": allowed} if allowed else {}))


def merge(parts: list[BaseGeometry]) -> BaseGeometry | None:
    """Return the union of `parts` (one part as it is), or None when there is none."""
    if len(parts) <= 1:
        return parts[0] if parts else None
    try:
        return shapely.union_all(parts)
    except shapely.errors.GEOSException as exc:
        raise InvalidGeometry(f"cannot merge the shapes: {exc}") from None
