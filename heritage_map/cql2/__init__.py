"""CQL2 filters (OGC API - Features Part 3): CQL2 text and JSON parsed to one small tree, then to parameterised SQL."""

from .nodes import Function, Interval, Literal, Op, Property, Queryable
from .parse import parse_json, parse_text
from .sql import CRS84, compile_filter, filter_srid, to_clause

__all__ = ["CRS84", "Function", "Interval", "Literal", "Op", "Property", "Queryable", "compile_filter",
           "filter_srid", "parse_json", "parse_text", "to_clause"]
