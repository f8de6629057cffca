"""GeoJSON API of the published records: the map's data come through these same routes."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import shapely
from flask import Blueprint, Response, current_app, render_template, request, url_for
from shapely.geometry.base import BaseGeometry

from . import crs, db, geometry, maps, params, queries, questions, transfer, uploads, vocab
from .assets import static_url
from .errors import InvalidParameter, NotFound

bp = Blueprint("api", __name__, url_prefix="/api")

GEOJSON_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                 "GeometryCollection", "Feature", "FeatureCollection"}
AREAS = ("Polygon", "MultiPolygon")
DEFAULT_SCREENING_M = 200
EXPORTS = {
    "sites": ("sites", {}), "heritage-sites": ("sites", {"kind": "heritage"}),
    "environmental-sites": ("sites", {"kind": "environment"}), "ramparts": ("sites", {"category": "rampart"}),
    "projects": ("projects", {}), "associations": ("associations", {}),
}
DOWNLOAD_TYPES = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3",
                  "shp": "application/zip", "csv": "text/csv", "kml": "application/vnd.google-earth.kml+xml"}

FILTERS = {
    "sites": {"kind": vocab.KINDS, "category": tuple(vocab.CATEGORIES)},
    "projects": {"status": vocab.PROJECT_STATUSES, "theme": vocab.THEMES},
    "associations": {"theme": vocab.THEMES},
}


def layer_response(layer: str) -> Response:
    """Parse a layer's filters, ask PostGIS for the FeatureCollection and send its text as is."""
    allowed = FILTERS[layer]
    params.known_only(request.args, {*allowed, "limit", "f"})
    filters = {name: params.choice(request.args, name, values) for name, values in allowed.items()}
    limit = params.integer(request.args, "limit", queries.MAX_FEATURES, low=1, high=queries.MAX_FEATURES)
    body = queries.feature_collection(db.session(), layer, url_prefix=url_for("web.index"), limit=limit,
                                      **filters)
    return Response(body, mimetype="application/geo+json")


@bp.get("/sites")
def sites():
    """Published sites as GeoJSON, filtered by kind and category."""
    return layer_response("sites")


@bp.get("/projects")
def projects():
    """Published projects as GeoJSON (footprint or null geometry), filtered by status and theme."""
    return layer_response("projects")


@bp.get("/associations")
def associations():
    """Published associations as GeoJSON (seat point or null geometry), filtered by theme."""
    return layer_response("associations")


def question_input(allowed: tuple[str, ...] | None = None) -> tuple[BaseGeometry, dict]:
    """Read a question's geometry and options from a multipart upload, a form or a JSON body."""
    if request.files:
        upload = request.files.get("file") or next(iter(request.files.values()))
        if upload.filename:
            return uploads.from_upload(upload, allowed=allowed), request.form.to_dict()
    if request.form.get("geometry"):
        return uploads.from_geojson(request.form["geometry"], allowed=allowed), request.form.to_dict()
    doc = request.get_json(silent=True)
    if doc is None:
        raise InvalidParameter("send a GeoJSON geometry or Feature as the JSON body, or a file as multipart "
                               "form data (field 'file')")
    if isinstance(doc, dict) and doc.get("type") not in GEOJSON_TYPES and "geometry" in doc:
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
    fmt = params.choice(request.args, "format", ("json", *transfer.FORMATS))
    if fmt in (None, "json"):
        return Response(body, mimetype="application/geo+json")
    return send_frame(transfer.frame_from_geojson(body), name, fmt)


def send_frame(frame, name: str, fmt: str) -> Response:
    """Write a GeoDataFrame in `fmt` and the requested CRS, and send it as a download."""
    target = crs.parse(request.args.get("crs"), "crs")
    if target.srid != frame.crs.to_epsg():
        frame = frame.to_crs(epsg=target.srid)
    suffix = transfer.FORMATS[fmt][1]
    with tempfile.TemporaryDirectory() as tmp:
        path = transfer.write_file(frame, Path(tmp) / f"{name}{suffix}", fmt)
        data = path.read_bytes()
    response = Response(data, mimetype=DOWNLOAD_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}{suffix}"'
    return response


@bp.get("/near")
def near():
    """Records within `radius` metres of lon/lat, nearest first, with their distance."""
    params.known_only(request.args, {"lon", "lat", "radius", "layer", "format", "crs"})
    lon = number({}, "lon", None, -180, 180)
    lat = number({}, "lat", None, -90, 90)
    if lon is None or lat is None:
        raise InvalidParameter("lon and lat are required (WGS 84 degrees)")
    radius = number({}, "radius", 200, 0, questions.MAX_RADIUS_M)
    layer = params.choice(request.args, "layer", tuple(queries.LAYERS)) or "sites"
    point = geometry.check(shapely.Point(lon, lat))
    return answer(questions.near(db.session(), layer, point, radius, url_for("web.index")), f"near-{layer}")


@bp.post("/within")
def within():
    """Records that meet a drawn or uploaded polygon, saying which lie wholly inside."""
    area, options = question_input(AREAS)
    layer = params.choice({**request.args, **options}, "layer", tuple(queries.LAYERS)) or "sites"
    return answer(questions.within(db.session(), layer, area, url_for("web.index")), f"within-{layer}")


def screen() -> tuple[BaseGeometry, float, str]:
    """Run the heritage impact screening on the request's footprint; return (footprint, distance, GeoJSON)."""
    footprint, options = question_input()
    distance = number(options, "distance", DEFAULT_SCREENING_M, 0, questions.MAX_RADIUS_M)
    session = db.session()
    extra = {"distance_m": distance, "footprint_area_m2": round(questions.area_m2(session, footprint), 1),
             "footprint": shapely.geometry.mapping(footprint)}
    return footprint, distance, questions.screening(session, footprint, distance, url_for("web.index"), extra)


@bp.post("/screening")
def screening():
    """Heritage impact screening of a works footprint: protection zones touched and sites within a distance."""
    return answer(screen()[2], "screening")


@bp.route("/screening/report", methods=["GET", "POST"])
def screening_report():
    """The screening as a printable page with its map and table."""
    if request.method == "GET":
        return render_template("report_form.html")
    _footprint, distance, body = screen()
    result = json.loads(body)  # one report page: small, and it needs the values to lay out the table
    report_map = maps.report_map(maps.Basemap.from_config(current_app.config), result, static_url)
    return render_template("report.html", result=result, distance=distance, map=maps.render_parts(report_map),
                           generated=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                           categories={slug: c.en for slug, c in vocab.CATEGORIES.items()})


@bp.post("/summary")
def summary():
    """Counts of the sites inside an area by category, condition and protection status."""
    area, _options = question_input(AREAS)
    result = questions.summary(db.session(), area)
    result["area_m2"] = round(questions.area_m2(db.session(), area), 1)
    return result


@bp.get("/export/<collection>")
def export(collection: str):
    """A collection as GeoJSON, GeoPackage, zipped Shapefile, CSV or KML, in a chosen CRS."""
    if collection not in EXPORTS:
        raise NotFound(f"no collection {collection!r} to export (known: {', '.join(EXPORTS)})")
    params.known_only(request.args, {"format", "crs"})
    fmt = params.choice(request.args, "format", tuple(transfer.FORMATS)) or "geojson"
    layer, filters = EXPORTS[collection]
    return send_frame(transfer.layer_frame(db.session(), layer, **filters), collection, fmt)
