"""CQL2 filters (OGC API - Features Part 3): CQL2 text and JSON parsed to one small tree, then to parameterised SQL."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import operator
import re
from collections import namedtuple
from dataclasses import dataclass
from functools import lru_cache

import numpy
import pyproj
import shapely
from shapely.errors import ShapelyError
from sqlalchemy import Text, and_, false, func, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from ..errors import InvalidParameter

MAX_LENGTH = 20_000
MAX_DEPTH = 50
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TYPES = ("string", "integer", "number", "boolean", "date", "timestamp", "geometry")
SHAPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")

# Types that may meet in a comparison: any number fits an integer column, and PostgreSQL compares dates with
# timestamps by itself.
_FAMILY = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
           "date": "temporal", "timestamp": "temporal", "geometry": "geometry"}
_COMPARE = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}
_SPATIAL = {"s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
            "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches",
            "s_crosses": "ST_Crosses", "s_overlaps": "ST_Overlaps", "s_dwithin": "ST_DWithin"}
# How many arguments each op takes; None means two or more.
_ARITY = {"and": None, "or": None, "not": 1, "like": 2, "in": 2, "between": 3, "isNull": 1,
          **{op: 2 for op in _COMPARE}, **{op: 2 for op in _SPATIAL}, "s_dwithin": 3}
_JSON_OPS = {op.lower(): op for op in _ARITY}
_FUNCTIONS = tuple(op.upper() for op in _SPATIAL)
_WKT = ("POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON")
_WKT_CHARS = frozenset("0123456789+-.eE, \t\r\n")
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "DATE", "TIMESTAMP",
             "BBOX", *_WKT, *_FUNCTIONS}
_TOKEN = re.compile(r"""
    (?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^'\\]|''|\\.)*')
  | (?P<quoted>"[^"]+")
  | (?P<word>[^\W\d][\w.:]*)
  | (?P<op><>|<=|>=|[=<>(),])
""", re.VERBOSE | re.DOTALL)
# Instants: the form each must have, and an example for error messages.
_INSTANT = {"date": (re.compile(r"\d{4}-\d{2}-\d{2}", re.A), "2020-01-31"),
            "timestamp": (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})",
                                     re.A | re.I), "2020-01-31T12:00:00Z")}
_EPSG = re.compile(r"(?:http://www\.opengis\.net/def/crs/EPSG/0/|EPSG:)(\d{1,6})", re.IGNORECASE)
_Token = namedtuple("_Token", "kind text start end")


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
    """A value; type is string, number, boolean, date, timestamp, or geometry (normalised WKT in filter-crs axes)."""
    value: str | int | float | bool | dt.date | dt.datetime
    type: str


@dataclass(frozen=True)
class Op:
    """An operation named as in CQL2 JSON: and, or, not, =, <>, <, <=, >, >=, like, in, between, isNull, s_*."""
    op: str
    args: tuple  # nodes; the second argument of "in" is itself a tuple of nodes


Node = Property | Literal | Op


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
    if not isinstance(node, Literal):
        return f"a {node.op!r} condition" if isinstance(node, Op) else "a list"
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


def _geometry(shape, where: str) -> Literal:
    """Return a geometry literal if `shape` is a usable, valid geometry; raise saying why not."""
    if shape.geom_type not in SHAPES or shape.is_empty:
        raise _fail(f"geometry {where} must be a non-empty {', '.join(SHAPES)} (got {shape.wkt[:40]})")
    if not numpy.isfinite(shapely.get_coordinates(shape)).all():
        raise _fail(f"geometry {where} has non-finite coordinates")
    shape = shapely.force_2d(shape)
    if not shape.is_valid:  # PostGIS would fail mid-query on, say, a self-intersecting polygon
        raise _fail(f"geometry {where} is invalid: {shapely.is_valid_reason(shape)}")
    return Literal(shapely.to_wkt(shape, rounding_precision=-1), "geometry")


def _bbox(values, where: str) -> Literal:
    """Return the polygon of a (minx, miny, maxx, maxy) box."""
    if not (isinstance(values, list | tuple) and len(values) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
        raise _fail(f"BBOX {where} needs 4 numbers: minx, miny, maxx, maxy")
    if not (values[0] < values[2] and values[1] < values[3]):
        raise _fail(f"BBOX {where} needs minx < maxx and miny < maxy")
    return _geometry(shapely.box(*values), where)


class _TextParser:
    """A recursive-descent parser of CQL2 text; it lexes one token ahead, so WKT can be cut out of the raw text."""

    def __init__(self, text: str):
        self.text, self.depth = text, 0
        self.tok = self.lex(0)

    def lex(self, pos: int) -> _Token:
        """Return the token at or after `pos`."""
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        if pos == len(self.text):
            return _Token("eof", "", pos, pos)
        if not (match := _TOKEN.match(self.text, pos)):
            char = self.text[pos]
            what = "unterminated string" if char in "'\"" else f"unexpected character {char!r}"
            raise _fail(f"{what} at position {pos + 1}")
        return _Token(match.lastgroup, match.group(), pos, match.end())

    def advance(self) -> _Token:
        """Consume the current token and return it."""
        tok, self.tok = self.tok, self.lex(self.tok.end)
        return tok

    def at(self, *words: str) -> bool:
        """Tell whether the current token is one of `words`: keywords (any case) or operators."""
        return self.tok.kind in ("word", "op") and self.tok.text.upper() in words

    def take(self, word: str) -> bool:
        """Consume the current token if it is `word`, and tell whether it was."""
        return self.at(word) and bool(self.advance())

    def error(self, expected: str) -> InvalidParameter:
        """Return the error saying what was expected where, and what was found instead."""
        found = "the end of the filter" if self.tok.kind == "eof" else repr(_short(self.tok.text))
        return _fail(f"expected {expected} at position {self.tok.start + 1}, found {found}")

    def expect(self, word: str) -> None:
        """Consume `word` or raise."""
        if not self.take(word):
            raise self.error(f"'{word}'")

    def nested(self, parse):
        """Run `parse` one level deeper, refusing nesting that would only exhaust the stack."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _fail(f"nesting deeper than {MAX_DEPTH} levels at position {self.tok.start + 1}")
        node = parse()
        self.depth -= 1
        return node

    def parse(self) -> Node:
        """Parse the whole text: OR of ANDs, as CQL2 binds AND tighter than OR."""
        node = self.chain("OR", lambda: self.chain("AND", self.factor))
        if self.tok.kind != "eof":
            raise self.error("AND, OR or the end of the filter")
        return node

    def chain(self, word: str, parse) -> Node:
        """Parse `parse` {word `parse`} into one flat and/or node, so long chains cost no stack."""
        args = [parse()]
        while self.take(word):
            args.append(parse())
        return args[0] if len(args) == 1 else Op(word.lower(), tuple(args))

    def factor(self) -> Node:
        """Parse NOT factor, a parenthesised expression, a spatial function or a predicate."""
        if self.take("NOT"):
            return Op("not", (self.nested(self.factor),))
        if self.take("("):
            node = self.nested(lambda: self.chain("OR", lambda: self.chain("AND", self.factor)))
            self.expect(")")
            return node
        if self.at(*_FUNCTIONS):
            name = self.advance()
            args, want = self.arguments(), _ARITY[name.text.lower()]
            if len(args) != want:
                raise _fail(f"{name.text.upper()} at position {name.start + 1} takes {want} arguments, "
                            f"got {len(args)}")
            return Op(name.text.lower(), args)
        return self.predicate(self.scalar())

    def predicate(self, left: Node) -> Node:
        """Parse what follows a left operand: a comparison, [NOT] LIKE/BETWEEN/IN, or IS [NOT] NULL."""
        if self.at(*_COMPARE):
            return Op(self.advance().text, (left, self.scalar()))
        if self.take("IS"):
            negate = self.take("NOT")
            self.expect("NULL")
            node = Op("isNull", (left,))
        elif (negate := self.take("NOT")) and not self.at("LIKE", "BETWEEN", "IN"):
            raise self.error("LIKE, BETWEEN or IN after NOT")
        elif self.take("LIKE"):
            node = Op("like", (left, self.scalar()))
        elif self.take("BETWEEN"):
            low = self.scalar()
            self.expect("AND")
            node = Op("between", (left, low, self.scalar()))
        elif self.take("IN"):
            node = Op("in", (left, self.arguments()))
        elif isinstance(left, Literal) and left.type == "boolean":
            return left  # TRUE and FALSE are conditions on their own
        else:
            raise self.error(f"=, <>, <, <=, >, >=, LIKE, BETWEEN, IN or IS NULL after {_describe(left)}")
        return Op("not", (node,)) if negate else node

    def arguments(self) -> tuple:
        """Parse '(' scalar {',' scalar} ')'."""
        self.expect("(")
        items = [self.scalar()]
        while self.take(","):
            items.append(self.scalar())
        self.expect(")")
        return tuple(items)

    def scalar(self) -> Node:
        """Parse a property name or a literal: string, number, boolean, date, timestamp or geometry."""
        tok, where = self.tok, f"at position {self.tok.start + 1}"
        word = tok.text.upper() if tok.kind == "word" else None
        if tok.kind in ("number", "string", "quoted"):
            self.advance()
            text = tok.text[1:-1]
            if tok.kind == "string":  # '' and \' both stand for one quote; other backslashes stay for LIKE
                return Literal(re.sub(r"''|\\.", lambda m: "'" if m[0] in ("''", "\\'") else m[0], text,
                                      flags=re.DOTALL), "string")
            return _number(tok.text, where) if tok.kind == "number" else Property(text)
        if word in ("TRUE", "FALSE"):
            self.advance()
            return Literal(word == "TRUE", "boolean")
        if word in ("DATE", "TIMESTAMP"):
            self.advance()
            self.expect("(")
            value = self.scalar()
            self.expect(")")
            text = value.value if isinstance(value, Literal) and value.type == "string" else _describe(value)
            return _instant(word.lower(), text, where)
        if word == "BBOX":
            self.advance()
            return _bbox([n.value if isinstance(n, Literal) else None for n in self.arguments()], where)
        if word in _WKT:
            return self.wkt(word, where)
        if word is None or word in _KEYWORDS:
            raise self.error("a property name or a value")
        if self.lex(tok.end).text == "(":
            raise _fail(f"unknown function {_short(tok.text)!r} {where} (supported: {', '.join(_FUNCTIONS)})")
        return Property(self.advance().text)

    def wkt(self, word: str, where: str) -> Literal:
        """Cut a WKT geometry out of the raw text by balancing its parentheses, and let GEOS read it."""
        start = len(self.text) - len(self.text[self.tok.end:].lstrip())
        if self.text[start:start + 1] != "(":
            raise _fail(f"expected '(' after {word} at position {start + 1}")
        level = 0
        for end in range(start, len(self.text)):
            char = self.text[end]
            level += {"(": 1, ")": -1}.get(char, 0)
            if level > 3:  # MULTIPOLYGON needs three levels; more is only garbage for GEOS
                raise _fail(f"too many '(' in {word} at position {end + 1}")
            if level == 0:
                break
            if char not in _WKT_CHARS and char not in "()":
                raise _fail(f"unexpected character {char!r} in {word} at position {end + 1}")
        else:
            raise _fail(f"'(' at position {start + 1} in {word} is never closed")
        try:
            shape = shapely.from_wkt(word + " " + self.text[start:end + 1])
        except ShapelyError as exc:
            raise _fail(f"{word} {where} is not valid WKT: {exc}") from None
        self.tok = self.lex(end + 1)
        return _geometry(shape, where)


def _check_input(text, what: str) -> None:
    """Refuse input that is not text, is empty, or is too long to be a reasonable filter."""
    if not isinstance(text, str):
        raise _fail(f"{what} must be text")
    if not text.strip():
        raise _fail("the filter is empty")
    if len(text) > MAX_LENGTH:
        raise _fail(f"the filter is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    _check_text(text, "of the filter")


def parse_text(text: str) -> Node:
    """Parse CQL2 text into a filter tree, or raise InvalidParameter saying what is wrong and where."""
    _check_input(text, "a CQL2 text filter")
    return _TextParser(text).parse()


def _reject_constant(name: str):
    """Refuse NaN and Infinity, which Python's JSON reader accepts but JSON does not."""
    raise _fail(f"{name} is not a number JSON allows")


def parse_json(doc: str | dict) -> Node:
    """Parse CQL2 JSON (text, or already decoded) into the same filter tree as parse_text."""
    if isinstance(doc, str):
        _check_input(doc, "a CQL2 JSON filter")
        try:
            doc = json.loads(doc, parse_constant=_reject_constant)
        except RecursionError:
            raise _fail("the JSON is nested too deeply") from None
        except ValueError as exc:
            raise _fail(f"not valid JSON: {exc}") from None
    return _json_node(doc, "$", 0)


def _json_node(obj, path: str, depth: int) -> Node:
    """Turn the decoded JSON value at `path` into a node."""
    if depth > MAX_DEPTH:
        raise _fail(f"nesting deeper than {MAX_DEPTH} levels at {path}")
    if isinstance(obj, bool):
        return Literal(obj, "boolean")
    if isinstance(obj, str):
        return Literal(_check_text(obj, f"at {path}"), "string")
    if isinstance(obj, int | float):
        return _number(obj, f"at {path}")
    if not isinstance(obj, dict):
        raise _fail(f"unexpected {'null' if obj is None else type(obj).__name__} at {path}")
    if "op" in obj:
        return _json_op(obj, path, depth)
    if "property" in obj:
        if not isinstance(obj["property"], str) or not obj["property"]:
            raise _fail(f"property name at {path} must be a non-empty string")
        return Property(obj["property"])
    for kind in _INSTANT:
        if kind in obj:
            return _instant(kind, obj[kind], f"at {path}")
    if "bbox" in obj:
        return _bbox(obj["bbox"], f"at {path}")
    if "type" not in obj:
        raise _fail(f"unrecognised object at {path} with keys {_short(', '.join(map(str, obj)))} "
                    "(expected op, property, date, timestamp, bbox or a GeoJSON geometry)")
    if obj["type"] not in SHAPES:
        raise _fail(f"geometry type {_short(str(obj['type']))!r} at {path} is not one of {', '.join(SHAPES)}")
    try:
        shape = shapely.from_geojson(json.dumps({"type": obj["type"], "coordinates": obj.get("coordinates")}))
    except (ShapelyError, ValueError, TypeError, RecursionError) as exc:
        raise _fail(f"invalid GeoJSON {obj['type']} at {path}: {_short(str(exc), 200)}") from None
    return _geometry(shape, f"at {path}")


def _json_op(obj: dict, path: str, depth: int) -> Op:
    """Turn {"op": ..., "args": [...]} into an Op, checking the op name and its number of arguments."""
    name, args = obj["op"], obj.get("args")
    if (op := _JSON_OPS.get(name.lower()) if isinstance(name, str) else None) is None:
        raise _fail(f"unknown op {_short(str(name))!r} at {path} (supported: {', '.join(_ARITY)})")
    if not isinstance(args, list):
        raise _fail(f"op '{op}' at {path} needs an 'args' list")
    if (len(args) < 2) if _ARITY[op] is None else (len(args) != _ARITY[op]):
        raise _fail(f"op '{op}' at {path} takes {_ARITY[op] or 'at least 2'} arguments, got {len(args)}")
    if op == "in" and not (isinstance(args[1], list) and args[1]):
        raise _fail(f"op 'in' at {path} needs a non-empty list of values as its second argument")
    nodes = [_json_node(arg, f"{path}.args[{i}]", depth + 1) for i, arg in enumerate(args[:1] if op == "in" else args)]
    if op == "in":  # the list of values stays a list, as the text parser leaves it
        nodes.append(tuple(_json_node(v, f"{path}.args[1][{i}]", depth + 1) for i, v in enumerate(args[1])))
    return Op(op, tuple(nodes))


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
        return shape if self.srid == 4326 else func.ST_Transform(shape, literal(4326))

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
