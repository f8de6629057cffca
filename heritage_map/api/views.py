"""GeoJSON API of the published records: the map's data come through these same routes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from .. import crs, db, params
from ..catalogue import layers, queries
from ..errors import NotFound
from ..transfer import exports, files
from ..urls import record_url

bp = Blueprint("api", __name__, url_prefix="/api")

DOWNLOAD_TYPES = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3",
                  "shp": "application/zip", "csv": "text/csv", "kml": "application/vnd.google-earth.kml+xml"}


def filters_of(layer: str) -> dict:
    """Parse a layer's filters (see layers.Filter) from the query string; the ones not given are None."""
    return {f.name: params.choice(request.args, f.name, f.values) for f in layers.get(layer).filters}


def layer_response(layer: str) -> Response:
    """Parse a layer's filters, ask PostGIS for the FeatureCollection and send its text as is."""
    params.known_only(request.args, {*(f.name for f in layers.get(layer).filters), "limit", "f"})
    filters = filters_of(layer)
    limit = params.integer(request.args, "limit", queries.MAX_FEATURES, low=1, high=queries.MAX_FEATURES)
    body = queries.feature_collection(db.session(), layer, record_url=record_url(layer), limit=limit, **filters)
    return Response(body, mimetype="application/geo+json")


def _layer_view(layer: layers.Layer):
    """Return the view of /api/<layer>: its published records as GeoJSON, filtered by its filters."""
    def view() -> Response:
        return layer_response(layer.key)

    filters = " and ".join(f.name for f in layer.filters)
    view.__doc__ = f"Published {layer.key} as GeoJSON" + (f", filtered by {filters}." if filters else ".")
    return view


for _layer in layers.LAYERS.values():  # endpoints api.sites, api.projects, …
    bp.add_url_rule(f"/{_layer.key}", _layer.key, _layer_view(_layer))


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
    if collection in layers.LAYERS:
        layer, match = collection, {}
    elif collection in layers.VIEWS:
        spec, view = layers.VIEWS[collection]
        layer, match = spec.key, view.match
    else:
        known = dict.fromkeys([*layers.LAYERS, *layers.VIEWS])
        raise NotFound(f"no collection {collection!r} to export (known: {', '.join(known)})")
    params.known_only(request.args, {"format", "crs"})
    fmt = params.choice(request.args, "format", tuple(files.FORMATS)) or "geojson"
    session = db.session()
    db.allow_longer(session, current_app.config["EXPORT_STATEMENT_TIMEOUT"])
    return send_frame(exports.layer_frame(session, layer, **match), collection, fmt)
