"""A trail as a GPX 1.1 file that phone hiking apps open: its stops as waypoints, its line as a route and a track."""

from __future__ import annotations

import json

import gpxpy.gpx

from .. import i18n
from ..catalogue.models import Trail


def trail_gpx(trail: Trail, route_geojson: str, stops: list[tuple[str, str, float, float]], page_url: str,
              lang: str | None = None) -> str:
    """Return the GPX text of a trail; `stops` are (name, absolute url, lon, lat) in walking order.

    The line goes in twice: as a route (<rte>, what GPX means by a way to follow) and as a track
    (<trk>), because some apps (OsmAnd, Organic Maps) draw only tracks and others only routes.
    """
    gpx = gpxpy.gpx.GPX()
    gpx.name = i18n.localized(trail, "name", lang)
    gpx.description = i18n.localized(trail, "description", lang)
    gpx.link = page_url
    gpx.creator = "Taroudant Heritage Map"
    for number, (name, url, lon, lat) in enumerate(stops, start=1):
        waypoint = gpxpy.gpx.GPXWaypoint(latitude=round(lat, 7), longitude=round(lon, 7), name=f"{number}. {name}")
        waypoint.link = url
        gpx.waypoints.append(waypoint)
    coordinates = json.loads(route_geojson)["coordinates"]
    route = gpxpy.gpx.GPXRoute(name=gpx.name, description=gpx.description)
    route.points = [gpxpy.gpx.GPXRoutePoint(latitude=lat, longitude=lon) for lon, lat in coordinates]
    gpx.routes.append(route)
    track = gpxpy.gpx.GPXTrack(name=gpx.name, description=gpx.description)
    segment = gpxpy.gpx.GPXTrackSegment([gpxpy.gpx.GPXTrackPoint(latitude=lat, longitude=lon)
                                         for lon, lat in coordinates])
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml(version="1.1")
