"""Trail pages: the index, one trail with its map and numbered stops, its GPX file and the follow-the-trail mode."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

from .. import db, i18n
from ..urls import page_url
from . import gpx, queries

bp = Blueprint("trails", __name__, url_prefix="/trails")


@bp.get("")
def index():
    """The published walking trails, with their length and walking time."""
    trails = [(trail, length, queries.walking_minutes(length), queries.public_stops(trail))
              for trail, length in queries.list_trails(db.session())]
    return render_template("trails/index.html", trails=trails, pace=queries.WALKING_PACE_KMH)


@bp.get("/<slug:slug>")
def trail(slug: str):
    """One trail: its map, its numbered stops, its length and walking time, GPX and follow mode."""
    session = db.session()
    record, length = queries.get_trail(session, slug)
    collection = queries.trail_collection(session, record, page_url("web.site"))
    return render_template("trails/trail.html", trail=record, length=length,
                           minutes=queries.walking_minutes(length), pace=queries.WALKING_PACE_KMH,
                           stops=queries.public_stops(record), collection=collection)


@bp.get("/<slug:slug>.gpx")
def trail_gpx(slug: str):
    """The trail as a GPX 1.1 file: stops as waypoints, the line as a route and a track."""
    session = db.session()
    record, _length = queries.get_trail(session, slug)
    points = queries.stop_points(session, record)
    stops = [(i18n.localized(stop.site, "name"), url_for("web.site", slug=stop.site.slug, _external=True),
              *points[stop.site_id]) for stop in queries.public_stops(record)]
    body = gpx.trail_gpx(record, queries.route_geojson(session, record), stops,
                         url_for("trails.trail", slug=slug, _external=True))
    response = Response(body, mimetype="application/gpx+xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}.gpx"'
    return response
