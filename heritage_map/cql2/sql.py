"""CQL2 filter trees translated into parameterised SQLAlchemy conditions, and the filter CRS read for them."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

import numpy
import pyproj
import shapely
from sqlalchemy import Text, and_, false, func, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from ..catalogue.queries import once
from ..crs import CRS84
from ..errors import InvalidParameter
from .nodes import (_ARITY, _COMPARE, _INSTANT, _SPATIAL, Literal, Node, Op, Property, Queryable, _describe, _fail,
                    _parse_instant, _short)
from .parse import parse_json, parse_text

# Types that may meet in a comparison: any number fits an integer column, and PostgreSQL compares dates with
# timestamps by itself.
_FAMILY = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
           "date": "temporal", "timestamp": "temporal", "geometry": "geometry"}
_EPSG = re.compile(r"(?:http://www\.opengis\.net/def/crs/EPSG/0/|EPSG:)(\d{1,6})", re.IGNORECASE)


class _Translator:
    """Turns a filter tree into SQLAlchemy clauses, checking properties and types against the queryables."""

    def __init__(self, queryables: dict[str, Queryable], srid: int, swap_axes: bool):
        self.queryables, self.srid, self.swap_axes = queryables, srid, swap_axes

    def condition(self, node) -> ColumnElement:
        """Return the SQL condition for a node that must be true or false."""
        if isinstance(node, Literal) and node.type == "boolean":
            return true() if node.value else false()
        if not isinstance(node, Op) or node.op not in _ARITY:
            raise _fail(f"expected a condition, got {_describe(node)}")
        op, args = node.op, node.args
        if op in ("and", "or", "not"):
            clauses = [self.condition(arg) for arg in args]
            return not_(clauses[0]) if op == "not" else (and_ if op == "and" else or_)(*clauses)
        if op in _SPATIAL:
            return self.spatial(op, args)
        if op in _COMPARE:
            return self.compare(op, *args)
        return self.predicate(op, args)

    def compare(self, op: str, a, b) -> ColumnElement:
        """Return a binary comparison between a property and a value or another property."""
        if not (isinstance(a, Property) or isinstance(b, Property)):
            raise _fail(f"{_describe(a)} {op} {_describe(b)} compares two values; one side must be a property")
        a, b = self.pair(a, b)
        return _COMPARE[op](self.sql(a), self.sql(b))

    def predicate(self, op: str, args: tuple) -> ColumnElement:
        """Return IS NULL, LIKE, IN or BETWEEN on the property at the left."""
        if not isinstance(args[0], Property):
            raise _fail(f"{'IS NULL' if op == 'isNull' else op.upper()} needs a property on its left, "
                        f"got {_describe(args[0])}")
        column = self.queryable(args[0]).column
        if op == "isNull":
            return column.is_(None)
        if op == "like":
            return column.like(literal(self.like_pattern(*args)), escape="\\")
        values = args[1] if op == "in" else args[1:]
        if not all(isinstance(value, Literal) for value in values):
            raise _fail(f"{op.upper()} takes values, got {', '.join(map(_describe, values))}")
        bound = [self.sql(self.pair(args[0], value)[1]) for value in values]
        return column.in_(bound) if op == "in" else column.between(*bound)

    def queryable(self, prop: Property) -> Queryable:
        """Return the queryable a property names, or raise listing those that exist."""
        if (found := self.queryables.get(prop.name)) is None:
            names = sorted(self.queryables)
            close = difflib.get_close_matches(prop.name, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise _fail(f"unknown property {_short(prop.name)!r} (queryable: {', '.join(names)}){hint}")
        return found

    def kind(self, node) -> str:
        """Return the type of an operand: its queryable's for a property, its own for a literal."""
        if isinstance(node, Property):
            return self.queryable(node).type
        if isinstance(node, Literal):
            return node.type
        raise _fail(f"expected a property or a value, got {_describe(node)}")

    def as_instant(self, node, other_type: str):
        """Read an ISO string literal as a date or timestamp when it meets a date or timestamp."""
        if isinstance(node, Literal) and node.type == "string" and _FAMILY[other_type] == "temporal":
            for kind in _INSTANT:
                if (value := _parse_instant(kind, node.value)) is not None:
                    return Literal(value, kind)
        return node

    def pair(self, a, b) -> tuple:
        """Return `a` and `b` (ISO strings read as instants where fit), or raise if they cannot be compared."""
        a, b = self.as_instant(a, self.kind(b)), self.as_instant(b, self.kind(a))
        types = self.kind(a), self.kind(b)
        if "geometry" in types:
            raise _fail(f"{_describe(a if types[0] == 'geometry' else b)} is a geometry: "
                        "it can only be used in a spatial function such as S_INTERSECTS")
        if _FAMILY[types[0]] != _FAMILY[types[1]]:
            raise _fail(f"cannot compare {_describe(a)} ({types[0]}) with {_describe(b)} ({types[1]})")
        return a, b

    def sql(self, node) -> ColumnElement:
        """Return a property's column, or a literal as a bound parameter."""
        return self.queryable(node).column if isinstance(node, Property) else literal(node.value)

    def like_pattern(self, left: Property, pattern) -> str:
        """Return a CQL2 LIKE pattern for SQL: both use %, _ and a \\ escape, so it only needs checking."""
        if (kind := self.kind(left)) != "string":
            raise _fail(f"LIKE needs a string property, but {left.name} is {kind}")
        if not (isinstance(pattern, Literal) and pattern.type == "string"):
            raise _fail(f"LIKE needs a string pattern, got {_describe(pattern)}")
        if re.sub(r"\\.", "", pattern.value, flags=re.DOTALL).endswith("\\"):
            raise _fail(f"LIKE pattern {_describe(pattern)} ends with a lone escape character '\\'")
        return pattern.value

    def geometry(self, op: str, node) -> ColumnElement:
        """Return a geometry property's column, or a geometry literal as bound WKT brought to SRID 4326."""
        if isinstance(node, Property) and self.kind(node) == "geometry":
            return self.queryable(node).column
        if not (isinstance(node, Literal) and node.type == "geometry"):
            kind = f" ({self.kind(node)})" if isinstance(node, Property | Literal) else ""
            raise _fail(f"{op.upper()} needs geometries (a geometry property or literal), "
                        f"got {_describe(node)}{kind}")
        shape = shapely.from_wkt(node.value)
        if self.swap_axes:  # the filter CRS puts latitude (or northing) first; PostGIS wants x first
            shape = shapely.transform(shape, lambda xy: xy[:, ::-1])
        if self.srid != 4326:  # PostGIS's ST_Transform fails the whole query where PROJ cannot go; ask PROJ first
            lon, lat = _crs(self.srid)[1].transform(*shapely.get_coordinates(shape).T)
            if not (numpy.isfinite(lon).all() and numpy.isfinite(lat).all()):
                raise _fail(f"geometry {_describe(node)} is outside the area of EPSG:{self.srid}")
        wkt = shapely.to_wkt(shape, rounding_precision=-1)
        shape = func.ST_GeomFromText(literal(wkt, Text), literal(self.srid))
        return once(shape if self.srid == 4326 else func.ST_Transform(shape, literal(4326)))

    def spatial(self, op: str, args: tuple) -> ColumnElement:
        """Return a spatial predicate between two geometries (with a distance for S_DWITHIN)."""
        a, b = self.geometry(op, args[0]), self.geometry(op, args[1])
        if op != "s_dwithin":
            return getattr(func, _SPATIAL[op])(a, b)
        distance = args[2]
        if not (isinstance(distance, Literal) and distance.type == "number" and distance.value >= 0):
            raise _fail(f"S_DWITHIN needs a distance in metres (a number >= 0), got {_describe(distance)}")
        # On geography the distance is in metres whatever the SRID, which is what "within 100" means to people.
        return func.ST_DWithin(func.geography(a), func.geography(b), literal(float(distance.value)))


def to_clause(node: Node, queryables: dict[str, Queryable], *, srid: int = 4326,
              swap_axes: bool = False) -> ColumnElement:
    """Translate a filter tree into a parameterised SQLAlchemy condition, checked against `queryables`."""
    return _Translator(queryables, srid, swap_axes).condition(node)


@lru_cache(maxsize=64)
def _crs(code: int) -> tuple[bool, pyproj.Transformer]:
    """Return whether EPSG:`code` puts north first (as EPSG:4326 does) and a transformer from it to lon/lat."""
    try:
        crs = pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError:
        raise InvalidParameter(f"filter-crs: unknown EPSG code {code}") from None
    if len(crs.axis_info) != 2 or not (crs.is_geographic or crs.is_projected):
        raise InvalidParameter(f"filter-crs: EPSG:{code} is not a 2D geographic or projected CRS")
    north_first = crs.axis_info[0].direction.lower() in ("north", "south")
    return north_first, pyproj.Transformer.from_crs(crs, 4326, always_xy=True)


def filter_srid(filter_crs: str | None) -> tuple[int, bool]:
    """Return (srid, swap_axes) for a filter-crs: CRS84 is lon/lat, an EPSG CRS keeps its own axis order."""
    text = filter_crs.strip() if isinstance(filter_crs, str) else ""
    if text.startswith("[") and text.endswith("]"):  # a safe CURIE, as in [EPSG:32629]
        text = text[1:-1]
    if filter_crs is None or text.upper() in (CRS84.upper(), "OGC:CRS84", "CRS84"):
        return 4326, False
    if not (match := _EPSG.fullmatch(text)):
        raise InvalidParameter(f"filter-crs must be {CRS84} or http://www.opengis.net/def/crs/EPSG/0/<code> "
                               f"(got {_short(str(filter_crs), 80)!r})")
    return int(match[1]), _crs(int(match[1]))[0]


def compile_filter(text_or_json: str, lang: str | None, queryables: dict[str, Queryable],
                   filter_crs: str | None = None) -> ColumnElement:
    """Parse a filter written in `lang` (cql2-text by default) and return its SQLAlchemy condition."""
    srid, swap_axes = filter_srid(filter_crs)
    if lang in (None, "cql2-text"):
        node = parse_text(text_or_json)
    elif lang == "cql2-json":
        node = parse_json(text_or_json)
    else:
        raise InvalidParameter(f"filter-lang must be cql2-text or cql2-json (got {_short(str(lang))!r})")
    return to_clause(node, queryables, srid=srid, swap_axes=swap_axes)
