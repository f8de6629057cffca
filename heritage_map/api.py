"""GeoJSON API of the published records: the map's data come through these same routes."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from . import db, params, queries, vocab

bp = Blueprint("api", __name__, url_prefix="/api")

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
