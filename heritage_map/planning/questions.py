"""Planners' spatial questions in SQL: near a point, within an area, heritage impact screening, summary.

Distances and areas are true metres on the spheroid (PostGIS geography); the expression
indexes on geom::geography (migration 0002) keep ST_DWithin on an index.
"""

from __future__ import annotations

from collections import Counter

from geoalchemy2 import Geography
from shapely.geometry.base import BaseGeometry
from sqlalchemy import LargeBinary, Numeric, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from ..catalogue import geojson, layers, queries, vocab
from ..catalogue.models import SRID, Site

MAX_RADIUS_M = 50_000


def _geography(expression):
    return cast(expression, Geography(srid=SRID))


def _bound(shape: BaseGeometry):
    """Return a checked shapely geometry as a bound parameter, read by PostGIS in SRID 4326 (once a query)."""
    return queries.once(func.ST_GeomFromWKB(literal(shape.wkb, LargeBinary), SRID))


def _metres(expression, digits: int = 1):
    return func.round(cast(expression, Numeric), digits)


def buffer_m():
    """Return each site's protection buffer: its own, else the default for its protection status."""
    defaults = case(*((Site.protection_status == status, metres)
                      for status, metres in vocab.PROTECTION_BUFFERS.items()), else_=0)
    return func.coalesce(Site.protection_buffer_m, defaults)


def near(session: Session, layer: str, point: BaseGeometry, radius_m: float, record_url: str | None = None) -> str:
    """Return the published records of `layer` within `radius_m` of `point`, nearest first, as GeoJSON."""
    model = layers.get(layer).model
    here = _geography(_bound(point))
    distance = func.ST_Distance(_geography(model.geom), here)
    props = queries.properties(model, record_url, distance_m=_metres(distance))
    features = (select(geojson.feature(model.slug, model.geom, props), distance, model.slug)
                .where(and_(*queries.layer_filters(layer)), func.ST_DWithin(_geography(model.geom), here, radius_m)))
    return session.scalar(geojson.collection(features))


def within(session: Session, layer: str, area: BaseGeometry, record_url: str | None = None) -> str:
    """Return the published records of `layer` that meet `area`, saying which lie wholly inside, as GeoJSON."""
    model = layers.get(layer).model
    zone = _bound(area)
    props = queries.properties(model, record_url, inside=func.ST_Within(model.geom, zone))
    features = (select(geojson.feature(model.slug, model.geom, props), model.slug)
                .where(and_(*queries.layer_filters(layer)), func.ST_Intersects(model.geom, zone)))
    return session.scalar(geojson.collection(features))


def screening(session: Session, footprint: BaseGeometry, distance_m: float, record_url: str | None = None,
              extra: dict | None = None) -> str:
    """Return every published site whose protection zone the footprint touches, or within `distance_m` of it.

    Each feature carries distance_m (0 when they meet), buffer_m, zone_touched and overlap_m2 (the
    area of the footprint inside the site's protection zone); touched zones come first, then by distance.
    """
    fp, fp_geog = _bound(footprint), _geography(_bound(footprint))
    site_geog = _geography(Site.geom)
    buffer = buffer_m()
    distance = func.ST_Distance(site_geog, fp_geog)
    touched = or_(func.ST_Intersects(Site.geom, fp), and_(buffer > 0, func.ST_DWithin(site_geog, fp_geog, buffer)))
    # A site without a buffer is its own zone: a protected area's polygon counts where the footprint enters it.
    zone = case((buffer > 0, func.ST_Buffer(site_geog, buffer)), else_=site_geog)
    overlap = func.ST_Area(func.ST_Intersection(zone, fp_geog))
    # protection_status and condition are among every site's own properties already.
    props = queries.properties(Site, record_url, buffer_m=buffer, distance_m=_metres(distance),
                               zone_touched=touched, overlap_m2=_metres(overlap, 0))
    features = (select(geojson.feature(Site.slug, Site.geom, props), case((touched, 0), else_=1), distance, Site.slug)
                .where(queries.published(Site),
                       func.ST_DWithin(site_geog, fp_geog, func.greatest(distance_m, buffer))))
    return session.scalar(geojson.collection(features, extra))


def summary(session: Session, area: BaseGeometry) -> dict:
    """Return counts of the published sites meeting `area` by category, condition and protection status."""
    rows = session.execute(
        select(Site.kind, Site.category, Site.condition, Site.protection_status, func.count())
        .where(queries.published(Site), func.ST_Intersects(Site.geom, _bound(area)))
        .group_by(Site.kind, Site.category, Site.condition, Site.protection_status))
    by = {"kind": Counter(), "category": Counter(), "condition": Counter(), "protection_status": Counter()}
    total = 0
    for kind, category, condition, protection, n in rows:
        total += n
        for key, value in zip(by, (kind, category, condition, protection)):
            by[key][value] += n
    return {"total": total, **{key: dict(sorted(counter.items())) for key, counter in by.items()}}


def area_m2(session: Session, shape: BaseGeometry) -> float:
    """Return the area of `shape` in square metres (0 for points and lines)."""
    return float(session.scalar(select(func.ST_Area(_geography(_bound(shape))))))
