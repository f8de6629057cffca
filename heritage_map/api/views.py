"""GeoJSON API of the published records: the map's data come through these same routes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, request, url_for

from .. import crs, db, params
from ..catalogue import queries, vocab
from ..errors import NotFound
from ..transfer import exports, files

bp = Blueprint("api", __name__, url_prefix="/api")

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


def send_frame(frame, name: str, fmt: str) -> Response:
    """Write a GeoDataFrame in `fmt` and the requested CRS, and send it as a download."""
    target = crs.parse(request.args.get("crs"), "crs")
    if target.srid != frame.crs.to_epsg():
        frame = frame.to_crs(epsg=target.srid)
    suffix = files.FORMATS[fmt][1]
    with tempfile.TemporaryDirectory() as tmp:
        path = files.write_file(frame, Path(tmp) / f"{name}{suffix}", fmt)
        data = path.read_bytes()
    response = Response(data, mimetype=DOWNLOAD_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}{suffix}"'
    return response


@bp.get("/export/<collection>")
def export(collection: str):
    """A collection as GeoJSON, GeoPackage, zipped Shapefile, CSV or KML, in a chosen CRS."""
    if collection not in EXPORTS:
        raise NotFound(f"no collection {collection!r} to export (known: {', '.join(EXPORTS)})")
    params.known_only(request.args, {"format", "crs"})
    fmt = params.choice(request.args, "format", tuple(files.FORMATS)) or "geojson"
    layer, filters = EXPORTS[collection]
    return send_frame(exports.layer_frame(db.session(), layer, **filters), collection, fmt)
