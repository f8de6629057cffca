"""The SQL of trails: lists, one trail with its stops, its length on the spheroid, its GeoJSON for the map."""

from __future__ import annotations

import json

from geoalchemy2 import Geography
from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session, selectinload

from ..catalogue import geojson
from ..catalogue.models import SRID, Site, Trail, TrailStop
from ..catalogue.queries import published
from ..errors import NotFound

# An unhurried town walk, stops not counted: the pace the walking times are stated at.
WALKING_PACE_KMH = 4.0


def length_m():
    """Return a trail's route length in metres on the WGS 84 spheroid."""
    return cast(func.ST_Length(cast(Trail.geom, Geography(srid=SRID))), Float)


def walking_minutes(metres: float) -> int:
    """Return the walking time in whole minutes (at least 1) at WALKING_PACE_KMH.

    >>> walking_minutes(1000), walking_minutes(10), walking_minutes(2500)
    (15, 1, 38)
    """
    return max(1, round(metres / (WALKING_PACE_KMH * 1000 / 60)))


def list_trails(session: Session) -> list[tuple[Trail, float]]:
    """Return the published trails by slug, each with its length in metres, stops loaded."""
    stmt = (select(Trail, length_m()).where(published(Trail)).order_by(Trail.slug)
            .options(selectinload(Trail.stops).selectinload(TrailStop.site)))
    return [(trail, length) for trail, length in session.execute(stmt)]


def get_trail(session: Session, slug: str) -> tuple[Trail, float]:
    """Return the published trail `slug` with its stops and its length in metres, or raise NotFound."""
    row = session.execute(select(Trail, length_m()).where(Trail.slug == slug, published(Trail))
                          .options(selectinload(Trail.stops).selectinload(TrailStop.site))).first()
    if row is None:
        raise NotFound(f"no published trail called {slug!r}")
    return row[0], row[1]


def public_stops(trail: Trail) -> list[TrailStop]:
    """Return the trail's stops at published sites, in order (a withdrawn site drops out of the walk)."""
    return [stop for stop in trail.stops if stop.site.publication_status == "published"]


def stop_points(session: Session, trail: Trail) -> dict[int, tuple[float, float]]:
    """Return each public stop's (lon, lat): the site's point, or the point of its shape nearest the route."""
    ids = [stop.site_id for stop in public_stops(trail)]
    if not ids:
        return {}
    route = select(Trail.geom).where(Trail.id == trail.id).scalar_subquery()
    point = func.ST_ClosestPoint(Site.geom, route)
    rows = session.execute(select(Site.id, func.ST_X(point), func.ST_Y(point)).where(Site.id.in_(ids)))
    return {site_id: (x, y) for site_id, x, y in rows}


def route_geojson(session: Session, trail: Trail) -> str:
    """Return the trail's route line as a GeoJSON geometry, written by PostGIS."""
    return session.scalar(select(func.ST_AsGeoJSON(Trail.geom, geojson.PRECISION)).where(Trail.id == trail.id))


def trail_collection(session: Session, trail: Trail, site_url: str) -> str:
    """Return the route and the numbered stops as a GeoJSON FeatureCollection (for the trail's map)."""
    points = stop_points(session, trail)
    features = [{"type": "Feature", "geometry": json.loads(route_geojson(session, trail)),
                 "properties": {"slug": trail.slug, "name_en": trail.name_en, "name_fr": trail.name_fr,
                                "name_ar": trail.name_ar, "route_estimated": trail.route_estimated}}]
    for number, stop in enumerate(public_stops(trail), start=1):
        site = stop.site
        lon, lat = points[site.id]
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                         "properties": {"number": number, "slug": site.slug, "name_en": site.name_en,
                                        "name_fr": site.name_fr, "name_ar": site.name_ar,
                                        "category": site.category, "url": site_url.replace("{slug}", site.slug)}})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
