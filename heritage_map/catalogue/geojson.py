"""The one GeoJSON serializer: PostgreSQL writes each Feature and FeatureCollection as text; Python passes it on.

Features are joined as text, not built with json_build_object: that function looks up every
argument's type on every row, which made it most of the cost of a large page. Each record's
properties are stored as JSON by a trigger (migration 0004) and put in as they are.
"""

from __future__ import annotations

import json

from sqlalchemy import Select, Text, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

PRECISION = 7  # decimal places of degrees: about 1 cm, finer than any source here


def _text(value: str) -> ColumnElement:
    """Return a constant of this module as an SQL string literal (written into the statement, not bound)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def _object(members: dict[str, ColumnElement]) -> ColumnElement:
    """Return json_build_object over `members` (name → SQL expression), as text."""
    args = []
    for name, value in members.items():
        args.extend([literal(name), value])
    return cast(func.json_build_object(*args), Text)


def string_member(name: str, prefix: str, value: ColumnElement, suffix: str) -> ColumnElement:
    """Return the text `,"name":"prefix…suffix"` around `value`, a text that needs no JSON escaping (a slug)."""
    return _text("," + json.dumps(name) + ":" + json.dumps(prefix)[:-1]) + value + _text(json.dumps(suffix)[1:])


def merge(props: ColumnElement, added: dict[str, ColumnElement], *members: ColumnElement) -> ColumnElement:
    """Return a JSON object (as text) with `members` (texts from string_member) and then `added` after its own.

    `props` must hold at least one member; `added` may be empty, its names and the members' other than props'.
    """
    # Objects joined as text ("{…" + "," + "…}"): jsonb's || would decode and re-encode the
    # whole object on every row, and json_build_object looks up each argument's type on every row.
    head = func.left(props, -1)
    for member in members:
        head = head + member
    if not added:
        return head + _text("}")
    return head + _text(",") + func.substr(_object(added), 2)


def feature(id_column: ColumnElement, geom: ColumnElement, props: ColumnElement,
            precision: int = PRECISION) -> ColumnElement:
    """Return the text of one GeoJSON Feature; `props` is a JSON object as text; no geometry gives null."""
    # Options 0: no "crs" member, which RFC 7946 removed; the OGC API says the CRS in Content-Crs.
    geometry = func.coalesce(func.ST_AsGeoJSON(geom, precision, 0), _text("null"))
    return (_text('{"type":"Feature","id":') + cast(func.to_json(id_column), Text)
            + _text(',"geometry":') + geometry + _text(',"properties":') + props + _text("}"))


def collection(features: Select, extra: dict | None = None) -> Select:
    """Wrap a select of (feature text, sort keys…) rows into a select of one FeatureCollection as text.

    `extra` adds top-level members (name → JSON-serialisable value), bound as a parameter.
    """
    sub = features.subquery("f")
    feature_col, sort_cols = sub.c[0], list(sub.c)[1:]
    tail = "".join(f",{json.dumps(name)}:{json.dumps(value)}" for name, value in (extra or {}).items())
    joined = func.coalesce(func.string_agg(feature_col, aggregate_order_by(_text(","), *sort_cols)), _text(""))
    return select(_text('{"type":"FeatureCollection","features":[') + joined
                  + _text('],"numberReturned":') + cast(func.count(feature_col), Text) + literal(tail + "}", Text))
