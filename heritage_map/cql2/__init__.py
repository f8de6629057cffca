"""CQL2 filters (OGC API - Features Part 3): CQL2 text and JSON parsed to one small tree, then to parameterised SQL."""

from .parse import CRS84, Literal, Op, Property, Queryable, compile_filter, filter_srid, parse_json, parse_text, to_clause

__all__ = ["CRS84", "Literal", "Op", "Property", "Queryable", "compile_filter", "filter_srid", "parse_json",
           "parse_text", "to_clause"]
