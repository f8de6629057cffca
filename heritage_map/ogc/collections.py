"""The feature collections the OGC API serves: which records, which properties, what can be queried and sorted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, func
from sqlalchemy.sql.elements import ColumnElement

from ..catalogue import layers, queries
from ..cql2 import Queryable
from ..errors import NotFound


@dataclass(frozen=True)
class Collection:
    """One OGC collection: a view of a layer (see catalogue.layers), narrowed by `where`."""

    id: str
    title: str
    description: str
    model: type
    where: Callable[[], list[ColumnElement]]
    queryables: dict[str, Queryable]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sortables: tuple[str, ...] = ("slug", "updated_at")
    layer: str = ""
    facets: dict[str, str] = field(default_factory=dict)  # column → value of the view's match (its cells' counts)


def json_type(column) -> str:
    """Return the queryable type (JSON Schema's, or geometry) of a model column."""
    if isinstance(column.type, Geometry):
        return "geometry"
    if isinstance(column.type, ARRAY):  # CQL2's A_* functions and the queryables' schema know arrays of strings
        if not issubclass(column.type.item_type.python_type, str):
            raise ValueError(f"no queryable type for column {column.key} ({column.type}): only text[] arrays")
        return "array"
    python_type = column.type.python_type  # bool before int, datetime before date: each is a subclass
    for base, name in ((bool, "boolean"), (int, "integer"), (dt.datetime, "timestamp"), (dt.date, "date"),
                       (str, "string")):
        if issubclass(python_type, base):
            return name
    raise ValueError(f"no queryable type for column {column.key} ({column.type})")


def _collection(layer: layers.Layer, view: layers.View) -> Collection:
    model = layer.model
    columns = {name: model.geom if name == "geometry" else getattr(model, name) for name in layer.queryables}
    return Collection(view.id, view.title, view.description, model,
                      lambda: queries.layer_filters(layer.key, **view.match),
                      {name: Queryable(name, column, json_type(column)) for name, column in columns.items()},
                      layer.enums, layer.sortables, layer.key,
                      {layer.filter(name).column: value for name, value in view.match.items()})


COLLECTIONS: dict[str, Collection] = {view_id: _collection(layer, view)
                                      for view_id, (layer, view) in layers.VIEWS.items()}


def get(collection_id: str) -> Collection:
    """Return the collection `collection_id` or raise NotFound naming the served ones."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(f"no collection {collection_id!r} (served: {', '.join(COLLECTIONS)})") from None


def sort_column(collection: Collection, name: str) -> ColumnElement:
    """Return the non-null expression a collection sorts `name` by (names may be missing, so '' stands in)."""
    column = collection.queryables[name].column
    return func.coalesce(column, "") if collection.queryables[name].type == "string" else column
