"""The one GeoJSON serializer: PostGIS builds each Feature and the FeatureCollection; Python passes text on."""

from __future__ import annotations

import json

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


def feature(id_column: ColumnElement, geom: ColumnElement, properties: dict[str, ColumnElement],
            precision: int = PRECISION) -> ColumnElement:
    """Return a SQL expression that builds one GeoJSON Feature; a NULL geometry gives "geometry": null."""
    return _object({
        "type": literal("Feature"),
        "id": id_column,
        # Options 0: no "crs" member, which RFC 7946 removed; the OGC API says the CRS in Content-Crs.
        "geometry": cast(func.ST_AsGeoJSON(geom, precision, 0), JSON),
        "properties": _object(properties),
    })


def collection(features: Select, extra: dict | None = None) -> Select:
    """Wrap a select of (feature, sort keys…) rows into a select of one FeatureCollection as text.

    `extra` adds top-level members (name → JSON-serialisable value), bound as parameters.
    """
    sub = features.subquery("f")
    feature_col, sort_cols = sub.c[0], list(sub.c)[1:]
    members = {
        "type": literal("FeatureCollection"),
        "features": func.coalesce(func.json_agg(aggregate_order_by(feature_col, *sort_cols)), text("'[]'::json")),
        "numberReturned": func.count(feature_col),
    }
    for name, value in (extra or {}).items():
        members[name] = cast(literal(json.dumps(value)), JSON)
    return select(cast(_object(members), Text))
