"""GeoJSON API of the published records: the map's data come through these same routes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from .. import crs, db, freshness, params
from ..catalogue import layers, queries, search
from ..errors import InvalidParameter, NotFound
from ..transfer import exports, files
from ..urls import page_url, record_url

bp = Blueprint("api", __name__, url_prefix="/api")

DOWNLOAD_TYPES = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3",
                  "shp": "application/zip", "csv": "text/csv", "kml": "application/vnd.google-earth.kml+xml"}


def filters_of(layer: str) -> dict:
    """Parse a layer's filters (see layers.Filter) from the query string; the ones not given are None."""
    return {f.name: params.choice(request.args, f.name, f.values) if f.values is not None
            else params.slug(request.args, f.name) for f in layers.get(layer).filters}


def layer_response(layer: str) -> Response:
    """Parse a layer's filters, ask PostGIS for the FeatureCollection and send its text as is."""
    params.known_only(request.args, {*(f.name for f in layers.get(layer).filters), "limit", "f"})
    filters = filters_of(layer)
    limit = params.integer(request.args, "limit", queries.MAX_FEATURES, low=1, high=queries.MAX_FEATURES)
    headers: dict = {}
    if (unchanged := freshness.check_first(headers)) is not None:
        return unchanged
    body = queries.feature_collection(db.session(), layer, record_url=record_url(layer), limit=limit, **filters)
    return Response(body, mimetype="application/geo+json", headers=headers)


def _layer_view(layer: layers.Layer):
    """Return the view of /api/<layer>: its published records as GeoJSON, filtered by its filters."""
    def view() -> Response:
        return layer_response(layer.key)

    filters = " and ".join(f.name for f in layer.filters)
    view.__doc__ = f"Published {layer.key} as GeoJSON" + (f", filtered by {filters}." if filters else ".")
    return view


for _layer in layers.LAYERS.values():  # endpoints api.sites, api.projects, …
    bp.add_url_rule(f"/{_layer.key}", _layer.key, _layer_view(_layer))


def search_urls() -> dict[str, str]:
    """Return the record page path of every searched layer, "{slug}" standing for the slug."""
    return {spec.layer: page_url(spec.page) for spec in search.SEARCHED}


def search_query(required: bool = True) -> str | None:
    """Parse `q`, the search words (at most search.MAX_QUERY characters); a 400 when required and missing."""
    q = params.text(request.args, "q", max_length=search.MAX_QUERY)
    if q is None and required:
        raise InvalidParameter("q is required: the words to look for (a name, in any language)")
    return q


@bp.get("/search")
def search_records():
    """Published records whose names or descriptions match `q`, best first, with a point and bbox to zoom to."""
    params.known_only(request.args, {"q", "limit", "layer"})
    q = search_query()
    limit = params.integer(request.args, "limit", 10, low=1, high=search.MAX_RESULTS)
    layer = params.choice(request.args, "layer", tuple(spec.layer for spec in search.SEARCHED))
    results = search.search(db.session(), q, search_urls(), layers=(layer,) if layer else None, limit=limit)
    return jsonify({"query": q, "numberReturned": len(results), "results": results})


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
