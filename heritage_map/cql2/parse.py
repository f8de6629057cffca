"""CQL2 text and CQL2 JSON parsed into the filter tree, with errors that say what is wrong and where."""

from __future__ import annotations

import json
import re
from collections import namedtuple

import shapely
from shapely.errors import ShapelyError

from ..errors import InvalidParameter
from .nodes import (_ARITY, _ARRAY, _COMPARE, _INSTANT, _SPATIAL, _TEMPORAL, _TEMPORAL_INTERVALS, _TEXT_FUNCTIONS,
                    GEOMETRIES, Function, Interval, Literal, Node, Op, Property, _bbox, _check_text, _describe, _fail,
                    _geometry, _instant, _interval_end, _is_condition, _number, _short)

MAX_LENGTH = 20_000
MAX_DEPTH = 50
_JSON_OPS = {op.lower(): op for op in _ARITY}
_FUNCTIONS = tuple(op.upper() for op in (*_SPATIAL, *_TEMPORAL, *_TEMPORAL_INTERVALS, *_ARRAY, *_TEXT_FUNCTIONS))
_WKT = ("POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION")
_WKT_CHARS = frozenset("0123456789+-.eE, \t\r\n")
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "DATE", "TIMESTAMP",
             "INTERVAL", "BBOX", "DIV", *_WKT, *_FUNCTIONS}
_PREDICATES = "=, <>, <, <=, >, >=, LIKE, BETWEEN, IN or IS NULL"
# Numbers are unsigned here: a sign is the parser's, so that "balance-150" is a subtraction.
_TOKEN = re.compile(r"""
    (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^'\\]|''|\\.)*')
  | (?P<quoted>"[^"]+")
  | (?P<word>[^\W\d][\w.:]*)
  | (?P<op><>|<=|>=|[=<>(),+\-*/%^])
""", re.VERBOSE | re.DOTALL)
_Token = namedtuple("_Token", "kind text start end")


class _TextParser:
    """A recursive-descent parser of CQL2 text; it lexes one token ahead, so WKT can be cut out of the raw text.

    One grammar serves conditions and values: OR, AND, NOT, then a predicate on arithmetic operands,
    down to literals, properties, calls and parentheses. Parentheses hold a condition, a value or (with
    commas) an array, so what a node may be is checked where it is used: by AND, OR and NOT here, and by
    the SQL translation for the rest.
    """

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

    def condition(self, node: Node) -> Node:
        """Return `node` if it is true or false; else raise, at the token that follows it."""
        if not _is_condition(node):
            raise self.error(f"{_PREDICATES} after {_describe(node)}")
        return node

    def parse(self) -> Node:
        """Parse the whole text, which must be a condition."""
        node = self.expression()
        if self.tok.kind != "eof":
            raise self.error("AND, OR or the end of the filter")
        return self.condition(node)

    def expression(self) -> Node:
        """Parse OR of ANDs, as CQL2 binds AND tighter than OR."""
        return self.chain("OR", lambda: self.chain("AND", self.factor))

    def chain(self, word: str, parse) -> Node:
        """Parse `parse` {word `parse`} into one flat and/or node, so long chains cost no stack."""
        args = [parse()]
        while self.at(word):
            self.condition(args[-1])
            self.advance()
            args.append(self.condition(parse()))
        return args[0] if len(args) == 1 else Op(word.lower(), tuple(args))

    def factor(self) -> Node:
        """Parse NOT factor, or a predicate."""
        if self.take("NOT"):
            return Op("not", (self.condition(self.nested(self.factor)),))
        return self.predicate(self.value())

    def predicate(self, left: Node) -> Node:
        """Parse what may follow a left operand: a comparison, [NOT] LIKE/BETWEEN/IN, IS [NOT] NULL, or nothing."""
        if self.at(*_COMPARE):
            return Op(self.advance().text, (left, self.value()))
        if self.take("IS"):
            negate = self.take("NOT")
            self.expect("NULL")
            node = Op("isNull", (left,))
        elif (negate := self.take("NOT")) and not self.at("LIKE", "BETWEEN", "IN"):
            raise self.error("LIKE, BETWEEN or IN after NOT")
        elif self.take("LIKE"):
            node = Op("like", (left, self.value()))
        elif self.take("BETWEEN"):
            low = self.value()
            self.expect("AND")
            node = Op("between", (left, low, self.value()))
        elif self.take("IN"):
            if not self.at("("):
                raise self.error("'(' after IN")
            if not (values := self.arguments()):
                raise _fail(f"IN at position {self.tok.start} needs at least one value")
            node = Op("in", (left, values))
        else:
            return left
        return Op("not", (node,)) if negate else node

    def value(self) -> Node:
        """Parse an arithmetic expression: terms joined by + and -."""
        node = self.term()
        while self.at("+", "-"):
            op = self.advance().text
            node = Op(op, (node, self.term()))
        return node

    def term(self) -> Node:
        """Parse powers joined by *, /, % and div."""
        node = self.power()
        while self.at("*", "/", "%", "DIV"):
            op = self.advance().text.lower()
            node = Op(op, (node, self.power()))
        return node

    def power(self) -> Node:
        """Parse a factor, raised to one more if ^ follows (the BNF allows one ^ per term)."""
        node = self.signed()
        return Op("^", (node, self.signed())) if self.take("^") else node

    def signed(self) -> Node:
        """Parse [+|-] operand: a signed number is one literal, a negated operand is -1 times it (as in JSON)."""
        if not self.at("+", "-"):
            return self.operand()
        sign = self.advance()
        if self.tok.kind == "number":
            return _number(sign.text + self.advance().text, f"at position {sign.start + 1}")
        node = self.nested(self.signed)
        return node if sign.text == "+" else Op("*", (Literal(-1, "number"), node))

    def arguments(self) -> tuple:
        """Parse '(' [argument {',' argument}] ')', each argument a condition or a value."""
        return tuple(self.nested(self.expression) for _ in self.separated())

    def array(self) -> tuple:
        """Parse '(' [element {',' element}] ')' as an array, even of one element: ('heritage').

        An element in parentheses is an array too: the BNF has nothing else it could be in an array.
        """
        return tuple(self.nested(self.array) if self.at("(") else self.nested(self.expression)
                     for _ in self.separated())

    def operand(self) -> Node:
        """Parse a literal, a property, a call, or something in parentheses (a condition, a value or an array)."""
        tok, where = self.tok, f"at position {self.tok.start + 1}"
        word = tok.text.upper() if tok.kind == "word" else None
        if self.at("("):
            items = self.arguments()
            return items[0] if len(items) == 1 else items
        if tok.kind in ("number", "string", "quoted"):
            self.advance()
            text = tok.text[1:-1]
            if tok.kind == "string":  # '' and \' both stand for one quote; other backslashes stay for LIKE
                return Literal(re.sub(r"''|\\.", lambda m: "'" if m[0] in ("''", "\\'") else m[0], text,
                                      flags=re.DOTALL), "string")
            if tok.kind == "number":
                return _number(tok.text, where)
            return self.call(text, where) if self.at("(") else Property(text)
        if word in ("TRUE", "FALSE"):
            self.advance()
            return Literal(word == "TRUE", "boolean")
        if word in ("DATE", "TIMESTAMP"):
            self.advance()
            self.expect("(")
            value = self.operand()
            self.expect(")")
            text = value.value if isinstance(value, Literal) and value.type == "string" else _describe(value)
            return _instant(word.lower(), text, where)
        if word == "INTERVAL":
            self.advance()
            ends = self.arguments()
            if len(ends) != 2:
                raise _fail(f"INTERVAL {where} takes 2 arguments (start, end), got {len(ends)}")
            return Interval(*(_interval_end(end, where) for end in ends))
        if word == "BBOX":
            self.advance()
            return _bbox([n.value if isinstance(n, Literal) else None for n in self.arguments()], where)
        if word in _WKT:
            return self.wkt(word, where)
        if word in _FUNCTIONS:
            self.advance()
            if not self.at("("):
                raise self.error(f"'(' after {word}")
            if word.startswith("A_"):  # a parenthesised argument is an array, even of one element
                args = tuple(self.array() if self.at("(") else self.nested(self.expression) for _ in self.separated())
            else:
                args = self.arguments()
            if len(args) != (want := _ARITY[word.lower()]):
                raise _fail(f"{word} {where} takes {want} argument{'s' * (want > 1)}, got {len(args)}")
            return Op(word.lower(), args)
        if word is None or word in _KEYWORDS:
            raise self.error("a property name or a value")
        self.advance()
        return self.call(tok.text, where) if self.at("(") else Property(tok.text)

    def separated(self):
        """Yield once per comma-separated item between '(' and ')', consuming the separators around them."""
        self.expect("(")
        if self.take(")"):
            return
        yield
        while self.take(","):
            yield
        self.expect(")")

    def call(self, name: str, where: str) -> Function:
        """Parse the arguments of a function CQL2 does not define; the SQL translation refuses it by name."""
        return Function(name, self.arguments(), where)

    def wkt(self, word: str, where: str) -> Literal:
        """Cut a WKT geometry out of the raw text by balancing its parentheses, and let GEOS read it."""
        if self.lex(self.tok.end).text.upper() == "Z":  # 3D: read, then flattened like every literal
            self.advance()
            word += " Z"
        start = len(self.text) - len(self.text[self.tok.end:].lstrip())
        if self.text[start:start + 1] != "(":
            raise _fail(f"expected '(' after {word} at position {start + 1}")
        # A collection holds tagged geometries, so its letters and one more level of parentheses.
        collection = word.startswith("GEOMETRYCOLLECTION")
        level, most = 0, 4 if collection else 3  # MULTIPOLYGON needs three levels; more is only garbage for GEOS
        for end in range(start, len(self.text)):
            char = self.text[end]
            level += {"(": 1, ")": -1}.get(char, 0)
            if level > most:
                raise _fail(f"too many '(' in {word} at position {end + 1}")
            if level == 0:
                break
            if char not in _WKT_CHARS and char not in "()" and not (collection and char.isascii() and char.isalpha()):
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
    """Parse CQL2 text into a filter tree, or raise InvalidParameter saying what is wrong and where.

    >>> parse_text("A_CONTAINS(themes, ('heritage'))")  # in A_*, one value in parentheses is an array
    Op(op='a_contains', args=(Property(name='themes'), (Literal(value='heritage', type='string'),)))
    >>> parse_text("protection_buffer_m-150 > -1").args  # a minus after an operand subtracts
    (Op(op='-', args=(Property(name='protection_buffer_m'), Literal(value=150, type='number'))), \
Literal(value=-1, type='number'))
    >>> parse_text("T_MEETS(INTERVAL(start_date, end_date), INTERVAL('2020-06-30', '..'))").args[1]
    Interval(start=Literal(value=datetime.date(2020, 6, 30), type='date'), end=Literal(value='..', type='unbounded'))
    >>> parse_text("Buffer(geometry, 10) = TRUE").args[0]  # parsed; the SQL translation refuses it
    Function(name='Buffer', args=(Property(name='geometry'), Literal(value=10, type='number')), where='at position 1')
    >>> parse_text("T_AFTER(updated_at)")
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: filter: T_AFTER at position 1 takes 2 arguments, got 1
    >>> parse_text("protection_buffer_m * 2")
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: filter: expected =, <>, <, <=, >, >=, LIKE, BETWEEN, IN or IS NULL \
after protection_buffer_m * 2 at position 24, found the end of the filter
    """
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
    node = _json_node(doc, "$", 0)
    if not _is_condition(node):
        raise _fail(f"the filter must be a condition (an op such as '=' or 's_intersects'), got {_describe(node)}")
    return node


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
    if isinstance(obj, list):  # an array
        return tuple(_json_node(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(obj))
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
    if "interval" in obj:
        ends = obj["interval"]
        if not (isinstance(ends, list) and len(ends) == 2):
            raise _fail(f"interval at {path} must be a list of 2 ends: [start, end]")
        return Interval(*(_interval_end(_json_node(end, f"{path}.interval[{i}]", depth + 1),
                                        f"at {path}.interval[{i}]") for i, end in enumerate(ends)))
    if "bbox" in obj:
        return _bbox(obj["bbox"], f"at {path}")
    if "type" not in obj:
        raise _fail(f"unrecognised object at {path} with keys {_short(', '.join(map(str, obj)))} "
                    "(expected op, property, date, timestamp, interval, bbox or a GeoJSON geometry)")
    if obj["type"] not in GEOMETRIES:
        raise _fail(f"geometry type {_short(str(obj['type']))!r} at {path} is not one of {', '.join(GEOMETRIES)}")
    member = "geometries" if obj["type"] == "GeometryCollection" else "coordinates"
    try:
        shape = shapely.from_geojson(json.dumps({"type": obj["type"], member: obj.get(member)}))
    except (ShapelyError, ValueError, TypeError, RecursionError) as exc:
        raise _fail(f"invalid GeoJSON {obj['type']} at {path}: {_short(str(exc), 200)}") from None
    return _geometry(shape, f"at {path}")


def _json_op(obj: dict, path: str, depth: int) -> Op | Function:
    """Turn {"op": ..., "args": [...]} into an Op (checking its number of arguments) or a Function call."""
    name, args = obj["op"], obj.get("args")
    if not isinstance(name, str) or not name:
        raise _fail(f"op at {path} must be a non-empty string (got {_short(str(name))!r})")
    if not isinstance(args, list):
        raise _fail(f"op '{_short(name)}' at {path} needs an 'args' list")
    nodes = tuple(_json_node(arg, f"{path}.args[{i}]", depth + 1) for i, arg in enumerate(args))
    if (op := _JSON_OPS.get(name.lower())) is None:
        return Function(name, nodes, f"at {path}")
    if (len(args) < 2) if _ARITY[op] is None else (len(args) != _ARITY[op]):
        raise _fail(f"op '{op}' at {path} takes {_ARITY[op] or 'at least 2'} arguments, got {len(args)}")
    if op == "in" and not (isinstance(args[1], list) and args[1]):
        raise _fail(f"op 'in' at {path} needs a non-empty list of values as its second argument")
    if op in ("and", "or", "not"):
        for i, node in enumerate(nodes):
            if not _is_condition(node):
                raise _fail(f"op '{op}' at {path} takes conditions, got {_describe(node)} at {path}.args[{i}]")
    return Op(op, nodes)
