"""CQL2 filter trees translated into parameterised SQLAlchemy conditions, and the filter CRS read for them."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

import numpy
import pyproj
import shapely
from sqlalchemy import ARRAY, DateTime, Numeric, Text, and_, case, cast, false, func, literal, not_, null, or_, true
from sqlalchemy.sql.elements import ColumnElement

from ..catalogue.queries import once
from ..crs import CRS84
from ..errors import InvalidParameter
from .nodes import (_ARITHMETIC, _COMPARE, _CONDITIONS, _INSTANT, _SPATIAL, _TEMPORAL_INTERVALS, _TEXT_FUNCTIONS,
                    Function, Interval, Literal, Node, Op, Property, Queryable, _describe, _fail, _parse_instant,
                    _short)
from .parse import parse_json, parse_text

# Types that may meet in a comparison: any number fits an integer column, and PostgreSQL compares dates with
# timestamps by itself.
_FAMILY = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
           "date": "temporal", "timestamp": "temporal", "geometry": "geometry", "array": "array"}
_EPSG = re.compile(r"(?:http://www\.opengis\.net/def/crs/EPSG/0/|EPSG:)(\d{1,6})", re.IGNORECASE)
# Each temporal op over the (start, end) of its two sides, as OWL-Time defines them (CQL2 intervals are closed).
_ALLEN = {
    "t_after": lambda a0, a1, b0, b1: a0 > b1,
    "t_before": lambda a0, a1, b0, b1: a1 < b0,
    "t_disjoint": lambda a0, a1, b0, b1: or_(a1 < b0, a0 > b1),
    "t_equals": lambda a0, a1, b0, b1: and_(a0 == b0, a1 == b1),
    "t_intersects": lambda a0, a1, b0, b1: and_(a0 <= b1, a1 >= b0),
    "t_contains": lambda a0, a1, b0, b1: and_(a0 < b0, a1 > b1),
    "t_during": lambda a0, a1, b0, b1: and_(a0 > b0, a1 < b1),
    "t_finishedby": lambda a0, a1, b0, b1: and_(a0 < b0, a1 == b1),
    "t_finishes": lambda a0, a1, b0, b1: and_(a0 > b0, a1 == b1),
    "t_meets": lambda a0, a1, b0, b1: a1 == b0,
    "t_metby": lambda a0, a1, b0, b1: a0 == b1,
    "t_overlappedby": lambda a0, a1, b0, b1: and_(a0 > b0, a0 < b1, a1 > b1),
    "t_overlaps": lambda a0, a1, b0, b1: and_(a0 < b0, a1 > b0, a1 < b1),
    "t_startedby": lambda a0, a1, b0, b1: and_(a0 == b0, a1 > b1),
    "t_starts": lambda a0, a1, b0, b1: and_(a0 == b0, a1 < b1),
}
# Arrays are compared as sets, as the standard asks.
_SETS = {"a_equals": lambda a, b: and_(a.op("@>")(b), a.op("<@")(b)), "a_contains": lambda a, b: a.op("@>")(b),
         "a_containedby": lambda a, b: a.op("<@")(b), "a_overlaps": lambda a, b: a.op("&&")(b)}
_ARRAY_FUNCTIONS = "A_EQUALS, A_CONTAINS, A_CONTAINEDBY or A_OVERLAPS"
MAX_ARITHMETIC = 20


def accent_insensitive(text: ColumnElement) -> ColumnElement:
    """Return SQL of `text` with its accents taken off: ACCENTI.

    The SQL function accent_fold (migration 0006, Arabic added in 0012) wraps PostgreSQL's unaccent, which
    knows Latin accents, and folds Arabic letter variants, tashkeel and tatweel: the search's definition too.
    """
    return func.accent_fold(text)


def _mentions_property(node) -> bool:
    """Tell whether a node names a property anywhere (a filter of values alone says nothing about records)."""
    if isinstance(node, Property):
        return True
    if isinstance(node, tuple):
        return any(map(_mentions_property, node))
    if isinstance(node, Interval):
        return _mentions_property(node.start) or _mentions_property(node.end)
    return isinstance(node, Op | Function) and any(map(_mentions_property, node.args))


class _Translator:
    """Turns a filter tree into SQLAlchemy clauses, checking properties and types against the queryables."""

    def __init__(self, queryables: dict[str, Queryable], srid: int, swap_axes: bool):
        self.queryables, self.srid, self.swap_axes = queryables, srid, swap_axes
        self.operations = 0  # arithmetic operations translated so far

    def condition(self, node) -> ColumnElement:
        """Return the SQL condition for a node that must be true or false."""
        if isinstance(node, Literal) and node.type == "boolean":
            return true() if node.value else false()
        if isinstance(node, Function):
            raise self.unknown(node)
        if not isinstance(node, Op) or node.op not in _CONDITIONS:
            raise _fail(f"expected a condition, got {_describe(node)}")
        op, args = node.op, node.args
        if op in ("and", "or", "not"):
            clauses = [self.condition(arg) for arg in args]
            return not_(clauses[0]) if op == "not" else (and_ if op == "and" else or_)(*clauses)
        if op in _SPATIAL:
            return self.spatial(op, args)
        if op in _ALLEN:
            return self.temporal(op, args)
        if op in _SETS:
            return self.arrays(op, args)
        if op in _COMPARE:
            return self.compare(op, *args)
        return self.predicate(op, args)

    @staticmethod
    def unknown(node: Function) -> InvalidParameter:
        """Return the error for a function call: CQL2 lets servers offer functions, and we offer none."""
        where = f" {node.where}" if node.where else ""
        return _fail(f"unknown function {_short(node.name)!r}{where} (this server offers no functions beyond "
                     "CQL2's own: CASEI, ACCENTI and the S_, T_ and A_ predicates)")

    def compare(self, op: str, a, b) -> ColumnElement:
        """Return a binary comparison between values, properties and arithmetic on them."""
        if not (_mentions_property(a) or _mentions_property(b)):
            raise _fail(f"{_describe(a)} {op} {_describe(b)} compares two values; one side must be a property")
        a, b = self.pair(a, b)
        return _COMPARE[op](self.sql(a), self.sql(b))

    def predicate(self, op: str, args: tuple) -> ColumnElement:
        """Return IS NULL, LIKE, IN or BETWEEN."""
        if not _mentions_property(args[0] if op in ("isNull", "like") else args):
            raise _fail(f"{'IS NULL' if op == 'isNull' else op.upper()} needs a property on its left, "
                        f"got {_describe(args[0])}")
        if op == "isNull":  # any property may be null, a geometry or an array too
            left = args[0]
            return (self.queryable(left).column if isinstance(left, Property) else self.operand(left)).is_(None)
        if op == "like":
            return self.like(*args)
        values = args[1] if op == "in" else args[1:]
        bound = [self.sql(self.pair(args[0], value)[1]) for value in values]
        left = self.operand(args[0])
        return left.in_(bound) if op == "in" else left.between(*bound)

    def queryable(self, prop: Property) -> Queryable:
        """Return the queryable a property names, or raise listing those that exist."""
        if (found := self.queryables.get(prop.name)) is None:
            names = sorted(self.queryables)
            close = difflib.get_close_matches(prop.name, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise _fail(f"unknown property {_short(prop.name)!r} (queryable: {', '.join(names)}){hint}")
        return found

    def kind(self, node) -> str:
        """Return the type of an operand: its queryable's, a literal's own, number for arithmetic, string for
        CASEI and ACCENTI; raise for what is not a value."""
        if isinstance(node, Property):
            return self.queryable(node).type
        if isinstance(node, Literal):
            return node.type
        if isinstance(node, Function):
            raise self.unknown(node)
        if isinstance(node, tuple):
            raise _fail(f"{_describe(node)} is a list: lists go in IN (...) or in {_ARRAY_FUNCTIONS}")
        if isinstance(node, Interval):
            raise _fail(f"{_describe(node)} is an interval: it can only be used in a temporal function such as "
                        "T_INTERSECTS")
        if isinstance(node, Op) and node.op in _ARITHMETIC:
            for arg in node.args:
                if _FAMILY.get(kind := self.kind(arg)) != "number":
                    raise _fail(f"{node.op} needs numbers, but {_describe(arg)} is {self.article(kind)}")
            return "number"
        if isinstance(node, Op) and node.op in _TEXT_FUNCTIONS:
            if (kind := self.kind(node.args[0])) != "string":
                raise _fail(f"{node.op.upper()} needs a string, but {_describe(node.args[0])} is "
                            f"{self.article(kind)}")
            return "string"
        raise _fail(f"expected a property or a value, got {_describe(node)}")

    @staticmethod
    def article(kind: str) -> str:
        """Return a type with its article, for messages: "an integer", "a string"."""
        return ("an " if kind[0] in "aeiou" else "a ") + kind

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
        if "array" in types:
            raise _fail(f"{_describe(a if types[0] == 'array' else b)} is an array: "
                        f"compare it with {_ARRAY_FUNCTIONS}")
        if _FAMILY[types[0]] != _FAMILY[types[1]]:
            raise _fail(f"cannot compare {_describe(a)} ({types[0]}) with {_describe(b)} ({types[1]})")
        return a, b

    def sql(self, node) -> ColumnElement:
        """Return a property's column, a literal as a bound parameter, or the SQL of arithmetic, CASEI, ACCENTI."""
        if isinstance(node, Property):
            return self.queryable(node).column
        if isinstance(node, Literal):
            return literal(node.value)
        if node.op in _TEXT_FUNCTIONS:
            inner = self.sql(node.args[0])
            return func.lower(inner) if node.op == "casei" else accent_insensitive(inner)
        self.operations += 1
        if self.operations > MAX_ARITHMETIC:  # more could overflow numeric (see migration 0006)
            raise _fail(f"a filter may do at most {MAX_ARITHMETIC} arithmetic operations")
        return self.arithmetic(node.op, *(cast(self.sql(arg), Numeric) for arg in node.args))

    def operand(self, node) -> ColumnElement:
        """Return the SQL of a value, checking its type first."""
        self.kind(node)
        return self.sql(node)

    @staticmethod
    def arithmetic(op: str, a: ColumnElement, b: ColumnElement) -> ColumnElement:
        """Return a op b in numeric, where no sum or product overflows; what has no value is null, not an error."""
        if op in ("+", "-", "*"):
            return {"+": a + b, "-": a - b, "*": a * b}[op]
        if op == "^":  # cql2_power (migration 0006) is null where power() fails: 0 ^ -1, (-8) ^ 0.5, 10 ^ 1e9
            return func.cql2_power(a, b)
        divisor = func.nullif(b, literal(0))  # x / 0 is null, as x / y is when y is null
        return a / divisor if op == "/" else func.mod(a, divisor) if op == "%" else func.div(a, divisor)

    def like(self, left, pattern) -> ColumnElement:
        """Return LIKE: CQL2 and SQL both use %, _ and a \\ escape, so the pattern only needs checking."""
        if isinstance(left, Property) and (kind := self.kind(left)) != "string":
            raise _fail(f"LIKE needs a string property, but {left.name} is {kind}")
        if (kind := self.kind(left)) != "string":
            raise _fail(f"LIKE needs a string on its left, but {_describe(left)} is {self.article(kind)}")
        return self.sql(left).like(self.pattern(pattern), escape="\\")

    def pattern(self, node) -> ColumnElement:
        """Return a LIKE pattern: a string literal, maybe inside CASEI or ACCENTI."""
        if isinstance(node, Op) and node.op in _TEXT_FUNCTIONS:
            inner = self.pattern(node.args[0])
            return func.lower(inner) if node.op == "casei" else accent_insensitive(inner)
        if not (isinstance(node, Literal) and node.type == "string"):
            raise _fail(f"LIKE needs a string pattern, got {_describe(node)}")
        if re.sub(r"\\.", "", node.value, flags=re.DOTALL).endswith("\\"):
            raise _fail(f"LIKE pattern {_describe(node)} ends with a lone escape character '\\'")
        return literal(node.value)

    def instant(self, op: str, node, end: str = "") -> ColumnElement:
        """Return an instant's SQL: a date or timestamp property or literal; '..' as -infinity or infinity."""
        if isinstance(node, Literal) and node.type == "unbounded":
            return cast(literal("-infinity" if end == "start" else "infinity"), DateTime(timezone=True))
        if isinstance(node, Function):
            raise self.unknown(node)
        kind = self.kind(node) if isinstance(node, Property | Literal) else None
        if _FAMILY.get(kind) != "temporal":
            what = f" ({kind})" if kind else ""
            raise _fail(f"{op.upper()} needs instants or intervals (a date or timestamp property, DATE('...'), "
                        f"TIMESTAMP('...') or INTERVAL(start, end)), got {_describe(node)}{what}")
        return self.sql(node)

    def temporal(self, op: str, args: tuple) -> ColumnElement:
        """Return a temporal predicate over the start and end of each side (an instant's are itself)."""
        ends, columns = [], []
        for arg in args:
            if isinstance(arg, Interval):
                ends += [self.instant(op, arg.start, "start"), self.instant(op, arg.end, "end")]
                columns += [end for end, node in zip(ends[-2:], (arg.start, arg.end)) if isinstance(node, Property)]
            elif op in _TEMPORAL_INTERVALS:
                raise _fail(f"{op.upper()} compares intervals, but {_describe(arg)} is an instant: write "
                            f"INTERVAL(start, end), or use T_AFTER, T_BEFORE, T_DISJOINT, T_EQUALS or T_INTERSECTS")
            else:
                ends += [self.instant(op, arg)] * 2
        condition = _ALLEN[op](*ends)
        if not columns:
            return condition
        # An interval with a null end is null, and so is the predicate, as the standard asks: without this,
        # T_DISJOINT's "before OR after" would be true of a project without an end date that started after.
        return case((or_(*(column.is_(None) for column in columns)), null()), else_=condition)

    def array(self, op: str, node, other) -> ColumnElement:
        """Return an array property's column, or a list of strings as one bound text[]."""
        if isinstance(node, Property):
            if (kind := self.kind(node)) != "array":
                raise _fail(f"{op.upper()} needs arrays, but {node.name} is {self.article(kind)}")
            return self.queryable(node).column
        if not isinstance(node, tuple):
            raise _fail(f"{op.upper()} needs arrays (an array property such as themes, or a list such as "
                        f"('heritage', 'youth')), got {_describe(node)}")
        for item in node:
            if not (isinstance(item, Literal) and item.type == "string"):
                raise _fail(f"{op.upper()}: {_describe(other)} holds strings, so the list can only hold strings, "
                            f"got {_describe(item)}")
        return cast(literal([item.value for item in node], ARRAY(Text)), ARRAY(Text))

    def arrays(self, op: str, args: tuple) -> ColumnElement:
        """Return an array predicate, the arrays compared as sets."""
        if not any(isinstance(arg, Property) for arg in args):
            raise _fail(f"{op.upper()} needs an array property, such as themes, on one side; got "
                        f"{_describe(args[0])} and {_describe(args[1])}")
        a, b = args
        return _SETS[op](self.array(op, a, b), self.array(op, b, a))

    def geometry(self, op: str, node) -> ColumnElement:
        """Return a geometry property's column, or a geometry literal as bound WKT brought to SRID 4326."""
        if isinstance(node, Property) and self.kind(node) == "geometry":
            return self.queryable(node).column
        if isinstance(node, Function):
            raise self.unknown(node)
        if not (isinstance(node, Literal) and node.type == "geometry"):
            kind = f" ({self.kind(node)})" if isinstance(node, Property | Literal) else ""
            raise _fail(f"{op.upper()} needs geometries (a geometry property or literal), "
                        f"got {_describe(node)}{kind}")
        shape = shapely.from_wkt(node.value)
        if not shape.is_valid:  # PostGIS would fail mid-query on, say, a self-intersecting polygon
            raise _fail(f"geometry {_describe(node)} is invalid: {shapely.is_valid_reason(shape)}")
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
