"""CQL2 text and CQL2 JSON parsed into the filter tree, with errors that say what is wrong and where."""

from __future__ import annotations

import json
import re
from collections import namedtuple

import shapely
from shapely.errors import ShapelyError

from ..errors import InvalidParameter
from .nodes import (_ARITY, _COMPARE, _INSTANT, _SPATIAL, SHAPES, Literal, Node, Op, Property, _bbox, _check_text,
                    _describe, _fail, _geometry, _instant, _number, _short)

MAX_LENGTH = 20_000
MAX_DEPTH = 50
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
_Token = namedtuple("_Token", "kind text start end")


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
