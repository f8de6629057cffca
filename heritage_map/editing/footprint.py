"""Geometries associations draw or upload for a record: read, checked against the province, repaired if need be."""

from __future__ import annotations

import json
from dataclasses import dataclass

import shapely
from flask_babel import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from werkzeug.datastructures import FileStorage

from ..catalogue import geometry
from ..errors import InvalidGeometry, InvalidParameter
from ..planning import uploads

REGION = "Taroudant province"
MULTI = {"Point": shapely.MultiPoint, "LineString": shapely.MultiLineString, "Polygon": shapely.MultiPolygon}


@dataclass
class Footprint:
    """A checked geometry, the notice of a repair (None when none was needed) and its GeoJSON text."""

    geom: BaseGeometry
    notice: str | None

    @property
    def geojson(self) -> str:
        """Return the geometry as GeoJSON text (lon/lat)."""
        return json.dumps(mapping(self.geom))


def _checks(max_vertices: int) -> dict:
    return {"bounds": geometry.TAROUDANT_PROVINCE, "region": REGION, "max_vertices": max_vertices, "repair": True}


def combine(doc: dict) -> BaseGeometry:
    """Return the parts of a drawn GeoJSON document as one geometry: one part as it is, else a Multi* of them.

    Parts are put together, not dissolved, so a bad part is repaired rather than failing a union;
    points, lines and polygons cannot be mixed in one record's geometry.

    >>> combine({"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-8.9, 30.4]}},
    ...     {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-8.8, 30.5]}}]}).wkt
    'MULTIPOINT ((-8.9 30.4), (-8.8 30.5))'
    >>> combine({"type": "Point", "coordinates": [-8.9, 30.4]}).wkt
    'POINT (-8.9 30.4)'
    """
    if doc.get("type") != "FeatureCollection":
        return shape(doc["geometry"] if doc.get("type") == "Feature" else doc)
    parts = [part for f in doc.get("features") or [] if f.get("geometry")
             for part in shapely.get_parts(shape(f["geometry"]))]
    if not parts:
        raise InvalidGeometry(_("no shape was drawn"))
    if len(parts) == 1:
        return parts[0]
    kinds = {p.geom_type for p in parts}
    if len(kinds) > 1:
        raise InvalidGeometry(_("the shapes mix %(kinds)s: one record's geometry holds parts of one kind "
                                "(points, lines or polygons)", kinds=", ".join(sorted(kinds))))
    return MULTI[kinds.pop()](parts)


def from_text(text: str, allowed: tuple[str, ...], max_vertices: int) -> Footprint:
    """Return the footprint drawn on the map (GeoJSON text), checked and repaired."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise InvalidParameter(_("the drawn shape could not be read (not GeoJSON)")) from None
    if not isinstance(doc, dict):
        raise InvalidParameter(_("the drawn shape could not be read (not GeoJSON)"))
    try:
        geom = combine(doc)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidGeometry(_("not a readable GeoJSON geometry: %(reason)s", reason=str(exc))) from None
    return _finish(uploads.from_geojson(mapping(geom), allowed=allowed, **_checks(max_vertices)))


def from_file(upload: FileStorage, allowed: tuple[str, ...], max_vertices: int) -> Footprint:
    """Return the footprint of an uploaded file (GeoJSON, KML, GPX, GeoPackage, zipped Shapefile; any CRS)."""
    return _finish(uploads.from_upload(upload, allowed=allowed, **_checks(max_vertices)))


def _finish(geom: BaseGeometry) -> Footprint:
    fixed, notice = geometry.repaired(geom)
    return Footprint(fixed, notice)
