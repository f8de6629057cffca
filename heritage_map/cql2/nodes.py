"""The CQL2 filter tree: the queryables it names, its nodes and ops, and literals checked as they are made."""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from dataclasses import dataclass, field

import numpy
import shapely
from sqlalchemy.sql.elements import ColumnElement

from ..catalogue.geometry import SHAPES
from ..errors import InvalidParameter

# "array" is an array of strings (the themes): the only kind of array the layers hold.
TYPES = ("string", "integer", "number", "boolean", "date", "timestamp", "geometry", "array")
_COMPARE = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}
_SPATIAL = {"s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
            "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches",
            "s_crosses": "ST_Crosses", "s_overlaps": "ST_Overlaps", "s_dwithin": "ST_DWithin"}
# T_* from OWL-Time over each side's (start, end); an instant is its own start and end. Those marked
# intervals-only refuse instants, as the standard asks.
_TEMPORAL = ("t_after", "t_before", "t_disjoint", "t_equals", "t_intersects")
_TEMPORAL_INTERVALS = ("t_contains", "t_during", "t_finishedby", "t_finishes", "t_meets", "t_metby",
                       "t_overlappedby", "t_overlaps", "t_startedby", "t_starts")
_ARRAY = ("a_equals", "a_contains", "a_containedby", "a_overlaps")
_ARITHMETIC = ("+", "-", "*", "/", "%", "div", "^")
_TEXT_FUNCTIONS = ("casei", "accenti")
# How many arguments each op takes; None means two or more.
_ARITY = {"and": None, "or": None, "not": 1, "like": 2, "in": 2, "between": 3, "isNull": 1,
          **{op: 2 for op in _COMPARE}, **{op: 2 for op in _SPATIAL}, "s_dwithin": 3,
          **{op: 2 for op in (*_TEMPORAL, *_TEMPORAL_INTERVALS, *_ARRAY, *_ARITHMETIC)},
          **{op: 1 for op in _TEXT_FUNCTIONS}}
# The ops whose value is true or false: what a filter, AND, OR and NOT are made of.
_CONDITIONS = frozenset(_ARITY) - set(_ARITHMETIC) - set(_TEXT_FUNCTIONS)
# Instants: the form each must have, and an example for error messages.
_INSTANT = {"date": (re.compile(r"\d{4}-\d{2}-\d{2}", re.A), "2020-01-31"),
            "timestamp": (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
                                     re.A | re.I), "2020-01-31T12:00:00Z")}


@dataclass(frozen=True, eq=False)  # eq=False: == between SQL columns builds SQL, not a bool
class Queryable:
    """A property clients may filter on, and the SQL expression behind it."""
    name: str
    column: ColumnElement
    type: str

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"queryable {self.name}: type must be one of {', '.join(TYPES)} (got {self.type!r})")


@dataclass(frozen=True)
class Property:
    """A property named in a filter."""
    name: str


@dataclass(frozen=True)
class Literal:
    """A value; type is string, number, boolean, date, timestamp, geometry (normalised WKT in filter-crs axes)
    or unbounded (the '..' end of an interval)."""
    value: str | int | float | bool | dt.date | dt.datetime
    type: str


@dataclass(frozen=True)
class Op:
    """An operation named as in CQL2 JSON (see _ARITY): and, or, not, comparisons, like, in, between, isNull,
    s_*, t_*, a_*, casei, accenti and arithmetic."""
    op: str
    args: tuple  # nodes; an array (as the second argument of "in") is itself a tuple of nodes


@dataclass(frozen=True)
class Interval:
    """INTERVAL(start, end): each end an instant literal, a property, a function or unbounded ('..')."""
    start: Node
    end: Node


@dataclass(frozen=True)
class Function:
    """A call of a function CQL2 does not define, such as Buffer(geometry, 10, 'm'): parsed, refused in SQL."""
    name: str
    args: tuple
    where: str = field(default="", compare=False)  # where the filter calls it, for the error message


Node = Property | Literal | Op | Interval | Function | tuple
UNBOUNDED = Literal("..", "unbounded")


def _fail(message: str) -> InvalidParameter:
    """Return the error for a bad filter; the 'filter:' prefix tells people which parameter is wrong."""
    return InvalidParameter(f"filter: {message}")


def _short(text: str, size: int = 40) -> str:
    """Return `text` cut to `size` characters, so one huge value cannot flood an error message."""
    return text if len(text) <= size else text[:size - 3] + "..."


def _describe(node) -> str:
    """Return a node as a person would write it in CQL2 text, for error messages."""
    if isinstance(node, Property):
        return _short(node.name)
    if isinstance(node, Function):
        return f"{_short(node.name)}(...)"
    if isinstance(node, Interval):
        return f"INTERVAL({_describe(node.start)}, {_describe(node.end)})"
    if isinstance(node, tuple):
        return "(" + _short(", ".join(map(_describe, node)), 60) + ")"
    if isinstance(node, Op) and node.op in _ARITHMETIC:
        return _short(" ".join((_describe(node.args[0]), node.op, _describe(node.args[1]))), 60)
    if isinstance(node, Op) and node.op in _TEXT_FUNCTIONS:
        return f"{node.op.upper()}({_describe(node.args[0])})"
    if isinstance(node, Op):
        return f"a {node.op!r} condition"
    if node.type == "unbounded":
        return "'..'"
    if node.type == "geometry":
        return _short(node.value)
    if node.type == "string":
        return "'" + _short(node.value).replace("'", "''") + "'"
    if node.type in _INSTANT:
        return f"{node.type.upper()}('{node.value.isoformat()}')"
    return str(node.value).upper() if node.type == "boolean" else repr(node.value)


def _check_text(text: str, where: str) -> str:
    """Return `text` if PostgreSQL can take it: no NUL character, no lone surrogate (as JSON's "\\ud800" makes)."""
    if "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text):
        raise _fail(f"the text {where} holds a NUL character or invalid Unicode")
    return text


def _number(value: int | float | str, where: str) -> Literal:
    """Return a number literal, refusing infinities and integers PostgreSQL cannot hold."""
    try:
        if isinstance(value, str):
            value = float(value) if any(c in value for c in ".eE") else int(value)
    except ValueError:  # Python refuses integers of more than 4,300 digits
        value = math.inf
    if isinstance(value, float) and not math.isfinite(value) or isinstance(value, int) and abs(value) >= 2**63:
        raise _fail(f"number {where} is out of range")
    return Literal(value, "number")


def _parse_instant(kind: str, text: str) -> dt.date | None:
    """Return `text` as a date or an aware timestamp, or None if it is not one."""
    if not _INSTANT[kind][0].fullmatch(text):
        return None
    try:
        if kind == "date":
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:  # well shaped but impossible, such as 2020-02-30
        return None


def _instant(kind: str, text, where: str) -> Literal:
    """Return a date or timestamp literal, or raise showing the expected form."""
    value = _parse_instant(kind, text) if isinstance(text, str) else None
    if value is None:
        raise _fail(f"{kind} {where} must look like {_INSTANT[kind][1]} (got {_short(str(text))!r})")
    return Literal(value, kind)


GEOMETRIES = (*SHAPES, "GeometryCollection")


def _geometry(shape, where: str) -> Literal:
    """Return a geometry literal (2D) if `shape` is a non-empty geometry with finite coordinates.

    Validity is checked when the filter becomes SQL (see sql.py): an invalid polygon is still CQL2.
    """
    if shape.geom_type not in GEOMETRIES or shape.is_empty:
        raise _fail(f"geometry {where} must be a non-empty {', '.join(GEOMETRIES)} (got {shape.wkt[:40]})")
    shape = shapely.force_2d(shape)  # heights are dropped: the layers are 2D
    if not numpy.isfinite(shapely.get_coordinates(shape)).all():
        raise _fail(f"geometry {where} has non-finite coordinates")
    return Literal(shapely.to_wkt(shape, rounding_precision=-1), "geometry")


def _bbox(values, where: str) -> Literal:
    """Return the polygon of a (minx, miny, maxx, maxy) box; a 3D box's heights are dropped, as for WKT."""
    if not (isinstance(values, list | tuple) and len(values) in (4, 6)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
        raise _fail(f"BBOX {where} needs 4 numbers (minx, miny, maxx, maxy) or 6 (with heights)")
    if len(values) == 6:
        values = (values[0], values[1], values[3], values[4])
    if not (values[0] < values[2] and values[1] < values[3]):
        raise _fail(f"BBOX {where} needs minx < maxx and miny < maxy")
    return _geometry(shapely.box(*values), where)


def _interval_end(node, where: str):
    """Return an end of an interval: '..' as unbounded, an ISO string as its instant, anything else as it is."""
    if not (isinstance(node, Literal) and node.type == "string"):
        return node
    if node.value == "..":
        return UNBOUNDED
    for kind in ("timestamp", "date"):
        if (value := _parse_instant(kind, node.value)) is not None:
            return Literal(value, kind)
    raise _fail(f"interval end {where} must be '..', a date like 2020-01-31 or a timestamp like "
                f"2020-01-31T12:00:00Z (got {_describe(node)})")


def _is_condition(node) -> bool:
    """Tell whether a node is true or false: a condition, TRUE or FALSE, or a function (whose type is unknown)."""
    return (isinstance(node, Op) and node.op in _CONDITIONS or isinstance(node, Function)
            or isinstance(node, Literal) and node.type == "boolean")
