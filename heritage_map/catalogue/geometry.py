"""Geometry checks run before anything touches the database: type, bounds, validity and size."""

from __future__ import annotations

import numpy
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import InvalidGeometry, TooLarge

# A generous envelope of Morocco (Western Sahara included): a cheap guard against swapped
# axes and wrong CRSs, not a border test.
MOROCCO_BOUNDS = (-17.5, 20.5, -0.9, 36.0)
MAX_VERTICES = 10_000
SHAPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
# What a GeoJSON document's "type" may be.
GEOJSON_TYPES = frozenset({*SHAPES, "GeometryCollection", "Feature", "FeatureCollection"})
# Taroudant province (Souss-Massa region), lon/lat: the box around the places at its edges (Oulad Teima
# in the west, the Siroua and Askaoun in the east, Igherm and the Anti-Atlas in the south, the High Atlas
# crest in the north) as OpenStreetMap draws them, widened by about 5 km. A box, not the administrative
# border: what associations draw must fall inside it; swap in the official outline when there is one.
TAROUDANT_PROVINCE = (-9.40, 29.55, -7.40, 31.10)
# The area the layers cover (Taroudant province and around), lon/lat: the OGC collections' extent.
SERVED_EXTENT = (-10.0, 29.9, -7.5, 31.2)


def check(geom: BaseGeometry | None, *, allowed: tuple[str, ...] = SHAPES,
          bounds: tuple[float, float, float, float] = MOROCCO_BOUNDS, max_vertices: int = MAX_VERTICES,
          region: str = "Morocco", repair: bool = False) -> BaseGeometry:
    """Return `geom` (in lon/lat, SRID 4326) if it is fit to store, else raise InvalidGeometry saying why.

    `region` names `bounds` in the message; with `repair`, an invalid geometry is returned as it is,
    for `repaired` to mend.

    >>> from shapely import Point, Polygon
    >>> check(Point(-8.877, 30.47)).wkt
    'POINT (-8.877 30.47)'
    >>> check(None)
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidGeometry: no geometry
    >>> check(Point(30.47, -8.877))
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidGeometry: coordinates outside Morocco (lon -17.5..-0.9, lat 20.5..36.0): first at 30.47, -8.877; are longitude and latitude swapped, or is the CRS wrong?
    >>> check(Polygon([(-8.88, 30.46), (-8.87, 30.47), (-8.88, 30.47), (-8.87, 30.46)]))
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidGeometry: invalid geometry: Self-intersection[-8.875 30.465]
    """
    if geom is None or geom.is_empty:
        raise InvalidGeometry("no geometry" if geom is None else "empty geometry")
    if geom.geom_type not in allowed:
        raise InvalidGeometry(f"geometry type {geom.geom_type} is not allowed here (allowed: {', '.join(allowed)})")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    n = shapely.get_num_coordinates(geom)
    if n > max_vertices:
        raise TooLarge(f"geometry has {n} vertices; at most {max_vertices} are accepted")
    coords = shapely.get_coordinates(geom)
    if not numpy.isfinite(coords).all():
        raise InvalidGeometry("geometry has non-finite coordinates")
    west, south, east, north = bounds
    outside = (coords[:, 0] < west) | (coords[:, 0] > east) | (coords[:, 1] < south) | (coords[:, 1] > north)
    if outside.any():
        x, y = coords[outside.argmax()]
        raise InvalidGeometry(
            f"coordinates outside {region} (lon {west}..{east}, lat {south}..{north}): first at {x:g}, {y:g}; "
            "are longitude and latitude swapped, or is the CRS wrong?"
        )
    if not geom.is_valid and not repair:
        raise InvalidGeometry(f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return geom


def repaired(geom: BaseGeometry) -> tuple[BaseGeometry, str | None]:
    """Return `geom` made valid and a sentence saying what changed (None when it was valid already).

    The repair keeps the geometry's own dimension (a polygon crossing itself stays polygons).

    >>> from shapely import Polygon
    >>> bowtie = Polygon([(-8.88, 30.46), (-8.87, 30.47), (-8.88, 30.47), (-8.87, 30.46)])
    >>> fixed, notice = repaired(bowtie)
    >>> fixed.geom_type, notice
    ('MultiPolygon', 'The shape was not valid (Self-intersection[-8.875 30.465]): it was repaired from one Polygon of 5 vertices into a MultiPolygon of 2 parts and 8 vertices.')
    >>> repaired(Polygon([(-8.88, 30.46), (-8.87, 30.46), (-8.87, 30.47)]))[1] is None
    True
    """
    if geom.is_valid:
        return geom, None
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False) if geom.geom_type.endswith(
        "Polygon") else shapely.make_valid(geom)
    dimension = shapely.get_dimensions(geom)
    if fixed.geom_type == "GeometryCollection":
        parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == dimension]
        fixed = shapely.union_all(parts) if parts else fixed
    if fixed.is_empty or fixed.geom_type not in SHAPES or not fixed.is_valid:
        raise InvalidGeometry(f"invalid geometry that cannot be repaired: {reason}")
    parts = shapely.get_num_geometries(fixed)
    notice = (f"The shape was not valid ({reason}): it was repaired from one {geom.geom_type} of "
              f"{shapely.get_num_coordinates(geom)} vertices into a{'n' if fixed.geom_type[0] in 'AEIOU' else ''} "
              f"{fixed.geom_type} of {parts} part{'s' if parts != 1 else ''} and "
              f"{shapely.get_num_coordinates(fixed)} vertices.")
    return fixed, notice
