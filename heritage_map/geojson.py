"""The one GeoJSON serializer: PostGIS builds each Feature and the FeatureCollection; Python passes text on."""

from __future__ import annotations

from sqlalchemy import Select, Text, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

PRECISION = 7  # decimal places of degrees: about 1 cm, finer than any source here


def _object(members: dict[str, ColumnElement]) -> ColumnElement:
    """Return json_build_object over `members` (name → SQL expression)."""
    args = []
    for name, value in members.items():
        args.extend([literal(name), value])
    return func.json_build_object(*args)


def feature(id_column: ColumnElement, geom: ColumnElement, properties: dict[str, ColumnElement]) -> ColumnElement:
    """Return a SQL expression that builds one GeoJSON Feature; a NULL geometry gives "geometry": null."""
    return _object({
        "type": literal("Feature"),
        "id": id_column,
        "geometry": cast(func.ST_AsGeoJSON(geom, PRECISION), JSON),
        "properties": _object(properties),
    })


def collection(features: Select) -> Select:
    """Wrap a select of (feature, sort key) rows into a select of one FeatureCollection as text."""
    sub = features.subquery("f")
    feature_col, sort_col = sub.c[0], sub.c[1]
    return select(cast(_object({
        "type": literal("FeatureCollection"),
        "features": func.coalesce(func.json_agg(aggregate_order_by(feature_col, sort_col)), text("'[]'::json")),
        "numberReturned": func.count(feature_col),
    }), Text))
