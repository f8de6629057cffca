"""The planners' spatial questions over HTTP: near, within, screening (and its printable report), summary."""

from __future__ import annotations

import datetime as dt
import json

import shapely
from flask import Blueprint, Response, current_app, render_template, request
from shapely.geometry.base import BaseGeometry

from .. import db, params
from ..api.views import send_frame
from ..catalogue import geometry, layers, vocab
from ..errors import InvalidParameter
from ..security import csp_nonce
from ..transfer import files
from ..urls import record_url
from ..web import maps
from ..web.assets import static_url
from ..web.sources import map_sources
from . import questions, uploads

bp = Blueprint("planning", __name__)

AREAS = ("Polygon", "MultiPolygon")
DEFAULT_SCREENING_M = 200


@bp.get("/planner")
def planner():
    """The planner's page: draw or upload a footprint, ask a spatial question, see and download the answer."""
    sources = map_sources(db.session(), current_app.config["MAP_TILES_ABOVE"])
    parts = maps.render_parts(maps.planner_map(maps.Basemap.from_config(current_app.config), sources, static_url),
                              csp_nonce())
    return render_template("planning/planner.html", map=parts, buffers=vocab.PROTECTION_BUFFERS,
                           default_distance=DEFAULT_SCREENING_M, max_distance=questions.MAX_RADIUS_M)


def question_input(allowed: tuple[str, ...] | None = None) -> tuple[BaseGeometry, dict]:
    """Read a question's geometry and options from a multipart upload, a form or a JSON body."""
    if request.files:
        upload = request.files.get("file") or next(iter(request.files.values()))
        if upload.filename:
            return uploads.from_upload(upload, allowed=allowed), request.form.to_dict()
    if request.form.get("geometry"):
        return uploads.from_geojson(request.form["geometry"], allowed=allowed), request.form.to_dict()
    # Not get_json(): a body nested a thousand levels deep would stop its parser with a RecursionError (a 500).
    doc = uploads.load_json(request.get_data(cache=True)) if request.is_json and request.get_data(cache=True) \
        else None
    if doc is None:
        raise InvalidParameter("send a GeoJSON geometry or Feature as the JSON body, or a file as multipart "
                               "form data (field 'file')")
    if isinstance(doc, dict) and doc.get("type") not in geometry.GEOJSON_TYPES and "geometry" in doc:
        options = {k: v for k, v in doc.items() if k != "geometry"}
        return uploads.from_geojson(doc["geometry"], allowed=allowed), options
    return uploads.from_geojson(doc, allowed=allowed), {}


def number(options: dict, name: str, default: float, low: float, high: float) -> float:
    """Return option `name` (from the body, the form or the query string) as a number in [low, high]."""
    value = options.get(name, request.args.get(name))
    if value is None or value == "":
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        result = float("nan")
    if not low <= result <= high:
        raise InvalidParameter(f"{name} must be a number from {low:g} to {high:g} (got {value!r})")
    return result


def answer(body: str, name: str) -> Response:
    """Send a question's GeoJSON answer, or the same features as a file when ?format= asks for one."""
    fmt = params.choice(request.args, "format", ("json", *files.FORMATS))
    if fmt in (None, "json"):
        return Response(body, mimetype="application/geo+json")
    return send_frame(files.frame_from_geojson(body), name, fmt)


@bp.get("/api/near")
def near():
    """Records within `radius` metres of lon/lat, nearest first, with their distance."""
    params.known_only(request.args, {"lon", "lat", "radius", "layer", "format", "crs"})
    lon = number({}, "lon", None, -180, 180)
    lat = number({}, "lat", None, -90, 90)
    if lon is None or lat is None:
        raise InvalidParameter("lon and lat are required (WGS 84 degrees)")
    radius = number({}, "radius", DEFAULT_SCREENING_M, 0, questions.MAX_RADIUS_M)
    layer = params.choice(request.args, "layer", tuple(layers.LAYERS)) or "sites"
    point = geometry.check(shapely.Point(lon, lat))
    return answer(questions.near(db.session(), layer, point, radius, record_url(layer)), f"near-{layer}")


@bp.post("/api/within")
def within():
    """Records that meet a drawn or uploaded polygon, saying which lie wholly inside."""
    area, options = question_input(AREAS)
    layer = params.choice({**request.args, **options}, "layer", tuple(layers.LAYERS)) or "sites"
    return answer(questions.within(db.session(), layer, area, record_url(layer)), f"within-{layer}")


def screen() -> tuple[BaseGeometry, float, str]:
    """Run the heritage impact screening on the request's footprint; return (footprint, distance, GeoJSON)."""
    footprint, options = question_input()
    distance = number(options, "distance", DEFAULT_SCREENING_M, 0, questions.MAX_RADIUS_M)
    session = db.session()
    extra = {"distance_m": distance, "footprint_area_m2": round(questions.area_m2(session, footprint), 1),
             "footprint": shapely.geometry.mapping(footprint)}
    return footprint, distance, questions.screening(session, footprint, distance, record_url("sites"), extra)


@bp.post("/api/screening")
def screening():
    """Heritage impact screening of a works footprint: protection zones touched and sites within a distance."""
    return answer(screen()[2], "screening")


@bp.route("/api/screening/report", methods=["GET", "POST"])
def screening_report():
    """The screening as a printable page with its map and table."""
    if request.method == "GET":
        return render_template("planning/report_form.html", default_distance=DEFAULT_SCREENING_M,
                               max_distance=questions.MAX_RADIUS_M)
    _footprint, distance, body = screen()
    result = json.loads(body)  # one report page: small, and it needs the values to lay out the table
    report_map = maps.render_parts(maps.report_map(maps.Basemap.from_config(current_app.config), result, static_url),
                                   csp_nonce())
    return render_template("planning/report.html", result=result, distance=distance, map=report_map,
                           buffers=vocab.PROTECTION_BUFFERS,
                           generated=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                           categories={slug: c.en for slug, c in vocab.CATEGORIES.items()})


@bp.post("/api/summary")
def summary():
    """Counts of the sites inside an area by category, condition and protection status."""
    area, _options = question_input(AREAS)
    result = questions.summary(db.session(), area)
    result["area_m2"] = round(questions.area_m2(db.session(), area), 1)
    return result


