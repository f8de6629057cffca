"""CQL2's enhanced classes: CASEI, ACCENTI, temporal, array and arithmetic functions, property-property
comparisons, function calls and every geometry; parsed from text and JSON, then run on the seeded PostGIS."""

from __future__ import annotations

import datetime as dt
import json
import random
import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql

from factories import make_site
from seed_facts import BAB_EL_KHEMIS, GATES
from heritage_map.catalogue.models import Project, Site
from heritage_map.cql2 import Function, Interval, Literal, Op, Property, compile_filter, parse_json, parse_text
from heritage_map.errors import InvalidParameter
from heritage_map.ogc.collections import COLLECTIONS

SITES = COLLECTIONS["heritage-sites"].queryables
UTC = dt.timezone.utc
P = Property
KHEMIS = "POINT({} {})".format(*BAB_EL_KHEMIS)


def num(value):
    return Literal(value, "number")


def text_(value):
    return Literal(value, "string")


def prop(name):
    return {"property": name}


# Each pair: a filter in CQL2 text and the same in CQL2 JSON; together they use every operator and form.
PAIRS = [
    # Case- and accent-insensitive comparison
    ("CASEI(name_en) LIKE CASEI('bab%')",
     {"op": "like", "args": [{"op": "casei", "args": [prop("name_en")]}, {"op": "casei", "args": ["bab%"]}]}),
    ("ACCENTI(name_fr) = ACCENTI('Mosquée')",
     {"op": "=", "args": [{"op": "accenti", "args": [prop("name_fr")]}, {"op": "accenti", "args": ["Mosquée"]}]}),
    ("casei(accenti(name_fr)) IN (CASEI('a'), 'b')",
     {"op": "in", "args": [{"op": "casei", "args": [{"op": "accenti", "args": [prop("name_fr")]}]},
                           [{"op": "casei", "args": ["a"]}, "b"]]}),
    ("name_en LIKE ACCENTI(CASEI('É%'))",
     {"op": "like", "args": [prop("name_en"), {"op": "accenti", "args": [{"op": "casei", "args": ["É%"]}]}]}),
    # Temporal functions: instants, intervals, open ends, dates and fractional timestamps
    ("T_AFTER(updated_at, TIMESTAMP('2000-01-01T00:00:00Z'))",
     {"op": "t_after", "args": [prop("updated_at"), {"timestamp": "2000-01-01T00:00:00Z"}]}),
    ("T_BEFORE(start_date, DATE('2021-01-01'))",
     {"op": "t_before", "args": [prop("start_date"), {"date": "2021-01-01"}]}),
    ("T_DISJOINT(INTERVAL(start_date, end_date), INTERVAL('..', '2020-01-01T10:00:00.123456789Z'))",
     {"op": "t_disjoint", "args": [{"interval": [prop("start_date"), prop("end_date")]},
                                   {"interval": ["..", "2020-01-01T10:00:00.123456Z"]}]}),
    ("T_EQUALS(updated_at, TIMESTAMP('2020-01-01T00:00:00.000Z'))",
     {"op": "t_equals", "args": [prop("updated_at"), {"timestamp": "2020-01-01T00:00:00Z"}]}),
    *((f"{op.upper()}(INTERVAL(start_date, end_date), INTERVAL('2020-01-01', '..'))",
       {"op": op, "args": [{"interval": [prop("start_date"), prop("end_date")]}, {"interval": ["2020-01-01", ".."]}]})
      for op in ("t_intersects", "t_contains", "t_during", "t_finishedby", "t_finishes", "t_meets", "t_metby",
                 "t_overlappedby", "t_overlaps", "t_startedby", "t_starts")),
    # Array functions, with arrays of one element, none, and of mixed values
    ("A_CONTAINS(themes, ('heritage'))", {"op": "a_contains", "args": [prop("themes"), ["heritage"]]}),
    ("A_CONTAINEDBY(themes, ('heritage', 'youth'))",
     {"op": "a_containedby", "args": [prop("themes"), ["heritage", "youth"]]}),
    ("A_EQUALS((), themes)", {"op": "a_equals", "args": [[], prop("themes")]}),
    ("A_OVERLAPS(themes, ('a', 1, TRUE, DATE('2020-01-01'), ('nested', ())))",
     {"op": "a_overlaps", "args": [prop("themes"), ["a", 1, True, {"date": "2020-01-01"}, ["nested", []]]]}),
    # Arithmetic, each operator, unary minus, precedence and parentheses
    ("protection_buffer_m * 2 > 100",
     {"op": ">", "args": [{"op": "*", "args": [prop("protection_buffer_m"), 2]}, 100]}),
    ("protection_buffer_m-150 >= 0",
     {"op": ">=", "args": [{"op": "-", "args": [prop("protection_buffer_m"), 150]}, 0]}),
    ("a + b * c / d % e div f ^ g = -h",
     {"op": "=", "args": [{"op": "+", "args": [prop("a"), {"op": "div", "args": [{"op": "%", "args": [
         {"op": "/", "args": [{"op": "*", "args": [prop("b"), prop("c")]}, prop("d")]}, prop("e")]},
         {"op": "^", "args": [prop("f"), prop("g")]}]}]}, {"op": "*", "args": [-1, prop("h")]}]}),
    ("(a + b) * -2.5e1 < - - c",
     {"op": "<", "args": [{"op": "*", "args": [{"op": "+", "args": [prop("a"), prop("b")]}, -25.0]},
                          {"op": "*", "args": [-1, {"op": "*", "args": [-1, prop("c")]}]}]}),
    # Property-property comparisons, in every predicate
    ("name_en = name_fr", {"op": "=", "args": [prop("name_en"), prop("name_fr")]}),
    ("category IN (kind, 'gate')", {"op": "in", "args": [prop("category"), [prop("kind"), "gate"]]}),
    ("protection_buffer_m NOT BETWEEN 0 AND protection_buffer_m + 1",
     {"op": "not", "args": [{"op": "between", "args": [prop("protection_buffer_m"), 0,
                                                        {"op": "+", "args": [prop("protection_buffer_m"), 1]}]}]}),
    # Spatial: a collection, 3D geometries and boxes (flattened), and a function as an argument
    (f"S_INTERSECTS(geometry, GEOMETRYCOLLECTION({KHEMIS}, LINESTRING(0 0, 1 1)))",
     {"op": "s_intersects", "args": [prop("geometry"), {"type": "GeometryCollection", "geometries": [
         {"type": "Point", "coordinates": list(BAB_EL_KHEMIS)},
         {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}]}]}),
    ("S_WITHIN(POINT Z (1 2 3), BBOX(0, 0, -10, 5, 5, 10))",
     {"op": "s_within", "args": [{"type": "Point", "coordinates": [1, 2, 3]}, {"bbox": [0, 0, -10, 5, 5, 10]}]}),
    ("S_WITHIN(geometry, Buffer(geometry, 10, 'm'))",
     {"op": "s_within", "args": [prop("geometry"), {"op": "Buffer", "args": [prop("geometry"), 10, "m"]}]}),
    # Function calls: as a condition, as a value, without arguments
    ("avg(windSpeed)", {"op": "avg", "args": [prop("windSpeed")]}),
    ("FALSE <> Bar(geometry, 100, 'a', FALSE) AND now() > 1",
     {"op": "and", "args": [{"op": "<>", "args": [False, {"op": "Bar", "args": [prop("geometry"), 100, "a", False]}]},
                            {"op": ">", "args": [{"op": "now", "args": []}, 1]}]}),
]


def sql(clause) -> tuple[str, dict]:
    compiled = clause.compile(dialect=postgresql.dialect())
    return str(compiled), compiled.params


def slugs(session, text, lang=None) -> set[str]:
    return set(session.scalars(select(Site.slug).where(compile_filter(text, lang, SITES))))


def items(client, cid: str, filter_: str | dict) -> set[str]:
    """Return the ids of the features of `cid` that the filter (text, or JSON as a dict) selects."""
    args = {"filter": filter_, "limit": 1000} if isinstance(filter_, str) else \
        {"filter": json.dumps(filter_), "filter-lang": "cql2-json", "limit": 1000}
    response = client.get(f"/ogc/collections/{cid}/items", query_string=args)
    assert response.status_code == 200, response.get_json()
    return {feature["id"] for feature in response.get_json()["features"]}


def refusal(client, cid: str, filter_: str) -> str:
    """Return the description of the 400 a filter is answered with."""
    response = client.get(f"/ogc/collections/{cid}/items", query_string={"filter": filter_})
    assert response.status_code == 400
    return response.get_json()["description"]


# --- Parsing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, doc", PAIRS, ids=[pair[0][:40] for pair in PAIRS])
def test_text_and_json_of_every_form_give_the_same_tree(text, doc):
    assert parse_text(text) == parse_json(doc) == parse_json(json.dumps(doc))


def test_arithmetic_binds_as_the_bnf_says():
    # A minus after an operand subtracts; a minus before one negates it, as -1 times it (as CQL2 JSON spells it).
    assert parse_text("balance-150.0 > 0").args[0] == Op("-", (P("balance"), num(150.0)))
    assert parse_text("x = -3").args[1] == num(-3)
    assert parse_text("x = - y ^ 2").args[1] == Op("^", (Op("*", (num(-1), P("y"))), num(2)))
    assert parse_text("x = 1 - 2 - 3").args[1] == Op("-", (Op("-", (num(1), num(2))), num(3)))
    assert parse_text("x = 2 * (3 + y)").args[1] == Op("*", (num(2), Op("+", (num(3), P("y")))))
    assert parse_text("x = 7 DIV 2").args[1] == Op("div", (num(7), num(2)))


def test_parentheses_hold_a_condition_a_value_or_an_array():
    assert parse_text("(x = 1)") == Op("=", (P("x"), num(1)))
    assert parse_text("x > (y - 1)").args[1] == Op("-", (P("y"), num(1)))
    assert parse_text("x IN ('a')").args[1] == (text_("a"),)
    # Only where an array belongs is one element in parentheses an array; elsewhere it is the element.
    assert parse_text("A_CONTAINS(themes, ('heritage'))").args[1] == (text_("heritage"),)
    assert parse_text("A_OVERLAPS(themes, ())").args[1] == ()
    assert parse_text("x = ('a')").args[1] == text_("a")


def test_intervals_read_their_ends_as_instants():
    interval = parse_text("T_DURING(INTERVAL(a, b), INTERVAL('2020-01-31', '..'))").args[1]
    assert interval == Interval(Literal(dt.date(2020, 1, 31), "date"), Literal("..", "unbounded"))
    stamp = parse_text("T_MEETS(INTERVAL('2020-01-31T01:02:03.5Z', '..'), INTERVAL(a, b))").args[0].start
    assert stamp == Literal(dt.datetime(2020, 1, 31, 1, 2, 3, 500000, tzinfo=UTC), "timestamp")
    assert parse_json({"op": "t_during", "args": [{"interval": [prop("a"), prop("b")]},
                                                   {"interval": ["2020-01-31", ".."]}]}).args[1] == interval


def test_functions_cql2_does_not_define_are_parsed_by_name():
    assert parse_text("Foo(geometry) = TRUE").args[0] == Function("Foo", (P("geometry"),))
    assert parse_text('"Foo"(1, (2, 3))').args == (num(1), (num(2), num(3)))
    assert parse_json({"op": "Foo", "args": []}) == Function("Foo", ())


def test_geometry_literals_of_every_kind_are_flattened_and_normalised():
    collection = parse_text("S_EQUALS(g, GEOMETRYCOLLECTION (POINT (1 2), POLYGON Z ((0 0 1, 1 0 1, 1 1 1, 0 0 1))))")
    assert collection.args[1] == Literal("GEOMETRYCOLLECTION (POINT (1 2), POLYGON ((0 0, 1 0, 1 1, 0 0)))", "geometry")
    box = parse_text("S_EQUALS(g, BBOX(0, 1, 2, 3))").args[1]
    assert parse_text("S_EQUALS(g, BBOX(0, 1, -5, 2, 3, 5))").args[1] == box
    # Validity is the SQL translation's business: an invalid polygon is still CQL2.
    assert parse_text("S_EQUALS(g, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))").args[1].type == "geometry"


@pytest.mark.parametrize("source, message", [
    ("T_AFTER(x, INTERVAL('2020-01-01'))", "filter: INTERVAL at position 12 takes 2 arguments (start, end), got 1"),
    ("T_AFTER(x, INTERVAL('soon', '..'))", "filter: interval end at position 12 must be '..', a date like "
                                           "2020-01-31 or a timestamp like 2020-01-31T12:00:00Z (got 'soon')"),
    ("A_CONTAINS(themes)", "filter: A_CONTAINS at position 1 takes 2 arguments, got 1"),
    ("CASEI(a, b) = 'x'", "filter: CASEI at position 1 takes 1 argument, got 2"),
    ("x IN ()", "filter: IN at position 7 needs at least one value"),
    ("x + 1", "filter: expected =, <>, <, <=, >, >=, LIKE, BETWEEN, IN or IS NULL after x + 1 at position 6, "
              "found the end of the filter"),
    ("x * 2 AND y = 1", "filter: expected =, <>, <, <=, >, >=, LIKE, BETWEEN, IN or IS NULL after x * 2 at "
                        "position 7, found 'AND'"),
    ("NOT x", "filter: expected =, <>, <, <=, >, >=, LIKE, BETWEEN, IN or IS NULL after x at position 6, found "
              "the end of the filter"),
    ('{"op": "t_after", "args": [{"property": "x"}, {"interval": ["2020-01-01"]}]}',
     "filter: interval at $.args[1] must be a list of 2 ends: [start, end]"),
    ('{"op": "and", "args": [{"property": "x"}, true]}',
     "filter: op 'and' at $ takes conditions, got x at $.args[0]"),
    ('{"op": "+", "args": [1, 2]}', "filter: the filter must be a condition (an op such as '=' or 's_intersects'), "
                                    "got 1 + 2"),
])
def test_parse_errors_say_what_and_where(source, message):
    with pytest.raises(InvalidParameter) as caught:
        parse_json(source) if source.startswith("{") else parse_text(source)
    assert caught.value.message == message


# --- SQL without a database ----------------------------------------------------------------------------

def test_every_new_value_is_bound():
    text, params = sql(compile_filter(
        "CASEI(name_en) LIKE CASEI('bab%') AND ACCENTI(name_fr) = ACCENTI('Mosquée') AND protection_buffer_m "
        "* 7 / 3 ^ 2 > 123 AND T_DURING(INTERVAL(protection_date, condition_date), INTERVAL('1999-12-31', '..'))",
        None, SITES))
    assert not re.search(r"(?<![a-z_])[0-9]|bab|Mosqu|infinity", re.sub(r"%\(param_[0-9]+\)s", "", text))
    assert {"bab%", "Mosquée", 7, 3, 2, 123, dt.date(1999, 12, 31), "infinity"} <= set(params.values())
    assert "lower(sites.name_en) LIKE lower(" in text and "accent_fold(sites.name_fr) = accent_fold(" in text
    assert "cql2_power(" in text and "nullif(" in text


def test_arrays_are_bound_as_one_text_array():
    text, params = sql(compile_filter("A_CONTAINS(themes, ('heritage', 'youth'))", None,
                                      COLLECTIONS["projects"].queryables))
    assert text.startswith("projects.themes @> CAST(%(") and "heritage" not in text
    assert ["heritage", "youth"] in params.values()


@pytest.mark.parametrize("source, message", [
    ("FOO(category) = 1", "filter: unknown function 'FOO' at position 1 (this server offers no functions beyond "
                          "CQL2's own: CASEI, ACCENTI and the S_, T_ and A_ predicates)"),
    ("S_WITHIN(geometry, Buffer(geometry, 10, 'm'))", "filter: unknown function 'Buffer' at position 20"),
    ("T_DURING(updated_at, INTERVAL('2020-01-01', '..'))",
     "filter: T_DURING compares intervals, but updated_at is an instant: write INTERVAL(start, end), or use "
     "T_AFTER, T_BEFORE, T_DISJOINT, T_EQUALS or T_INTERSECTS"),
    ("T_AFTER(name_en, DATE('2020-01-01'))",
     "filter: T_AFTER needs instants or intervals (a date or timestamp property, DATE('...'), TIMESTAMP('...') or "
     "INTERVAL(start, end)), got name_en (string)"),
    ("T_AFTER(updated_at, '2020-01-01')", "got '2020-01-01' (string)"),
    ("A_CONTAINS(name_en, ('x'))", "filter: A_CONTAINS needs arrays, but name_en is a string"),
    ("A_CONTAINS(('x'), ('y'))", "filter: A_CONTAINS needs an array property, such as themes, on one side"),
    ("name_en * 2 > 1", "filter: * needs numbers, but name_en is a string"),
    ("CASEI(protection_buffer_m) = 'x'", "filter: CASEI needs a string, but protection_buffer_m is an integer"),
    ("CASEI(name_en) = 5", "filter: cannot compare CASEI(name_en) (string) with 5 (number)"),
    ("CASEI(name_en) LIKE CASEI(5)", "filter: LIKE needs a string pattern, got 5"),
    ("protection_buffer_m + 1 LIKE 'x'", "filter: LIKE needs a string on its left, but protection_buffer_m + 1 "
                                         "is a number"),
    ("1 + 1 = 2", "filter: 1 + 1 = 2 compares two values; one side must be a property"),
    ("name_en = ('a', 'b')", "filter: ('a', 'b') is a list: lists go in IN (...) or in A_EQUALS, A_CONTAINS, "
                             "A_CONTAINEDBY or A_OVERLAPS"),
    ("updated_at = INTERVAL('..', '..')", "is an interval: it can only be used in a temporal function"),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))",
     "filter: geometry POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0)) is invalid: Self-intersection[0.5 0.5]"),
])
def test_translation_errors_say_what_is_wrong(source, message):
    with pytest.raises(InvalidParameter) as caught:
        compile_filter(source, None, {**SITES, "themes": COLLECTIONS["projects"].queryables["themes"]})
    assert message in caught.value.message
    assert caught.value.status == 400


# --- On the seeded PostGIS -----------------------------------------------------------------------------

def test_casei_and_accenti_match_whatever_the_case_and_the_accents(session):
    assert slugs(session, "CASEI(name_en) LIKE CASEI('bab%')") == {"bab-sedra"}
    assert slugs(session, "name_fr LIKE 'bab%'") == set()
    assert slugs(session, "CASEI(name_fr) LIKE 'bab%'") == GATES
    assert slugs(session, "name_fr LIKE CASEI('BAB%')") == set()  # only the pattern is lowered
    assert slugs(session, "ACCENTI(name_fr) LIKE ACCENTI('%Mosquée%')") == {"grand-mosque"}
    assert slugs(session, "ACCENTI(name_fr) LIKE '%Mosquee%'") == {"grand-mosque"}
    assert slugs(session, "name_fr LIKE '%Mosquee%'") == set()
    assert slugs(session, "CASEI(ACCENTI(name_fr)) LIKE CASEI(ACCENTI('%BERBÈRE%'))") == {"souk-berbere"}
    assert slugs(session, "CASEI(name_en) = CASEI('JBEL TOUBKAL')") == {"jbel-toubkal"}


def test_arithmetic_on_properties(session):
    make_site(session, slug="buffered", protection_buffer_m=150)
    for source in ("protection_buffer_m * 2 > 100", "protection_buffer_m - 1 = 149", "-protection_buffer_m < -100",
                   "protection_buffer_m / 4 = 37.5", "protection_buffer_m % 7 = 3", "protection_buffer_m div 7 = 21",
                   "protection_buffer_m ^ 2 = 22500", "2 ^ 0.5 * protection_buffer_m > 212",
                   "(protection_buffer_m + 50) * 1e300 * 1e300 > 0"):
        assert slugs(session, source) == {"buffered"}, source
    assert slugs(session, "protection_buffer_m * 2 > 300") == set()


def test_arithmetic_without_a_value_is_null_not_an_error(session):
    make_site(session, slug="buffered", protection_buffer_m=150)
    for source in ("protection_buffer_m / 0", "protection_buffer_m % 0", "protection_buffer_m div 0",
                   "0 ^ -protection_buffer_m", "(-protection_buffer_m) ^ 0.5", "10 ^ (protection_buffer_m * 1e7)",
                   "protection_buffer_m ^ 142"):
        assert slugs(session, f"{source} IS NULL AND protection_buffer_m IS NOT NULL") == {"buffered"}, source
        assert slugs(session, f"{source} > 0 OR {source} <= 0") == set(), source
    assert slugs(session, "protection_buffer_m * " + " * ".join(["1e308"] * 20) + " > 0") == {"buffered"}
    with pytest.raises(InvalidParameter, match="^filter: a filter may do at most 20 arithmetic operations$"):
        compile_filter("protection_buffer_m * " + " * ".join(["1e308"] * 21) + " > 0", None, SITES)
    assert slugs(session, "(9 ^ 100000) * 1e308 * protection_buffer_m IS NULL AND slug = 'buffered'") == {"buffered"}


def test_properties_compare_with_properties(session):
    assert slugs(session, "name_en = name_fr") == {"jbel-toubkal"}
    assert slugs(session, "category IN (kind, 'gate')") == GATES
    make_site(session, slug="buffered", protection_buffer_m=150)
    assert slugs(session, "protection_buffer_m BETWEEN protection_buffer_m - 1 AND protection_buffer_m") == \
        {"buffered"}
    assert slugs(session, "T_EQUALS(updated_at, updated_at) AND slug = 'bab-sedra'") == {"bab-sedra"}


def test_temporal_functions_on_instants(session):
    assert len(slugs(session, "T_AFTER(updated_at, TIMESTAMP('2000-01-01T00:00:00Z'))")) == 33
    assert slugs(session, "T_BEFORE(updated_at, DATE('2000-01-01'))") == set()
    assert slugs(session, "T_EQUALS(protection_date, DATE('1991-08-08'))") == {"souss-massa-national-park"}
    assert slugs(session, "T_INTERSECTS(protection_date, INTERVAL('1991-01-01', '1991-12-31'))") == \
        {"souss-massa-national-park"}
    assert slugs(session, "T_DISJOINT(protection_date, INTERVAL('..', '1991-08-07'))") == {"souss-massa-national-park"}


# Three projects given dates: what each temporal function says of INTERVAL(start_date, end_date).
DATES = {"clean-walls": (dt.date(2020, 3, 1), dt.date(2020, 6, 30)),
         "adha-restoration-2023": (dt.date(2023, 9, 15), dt.date(2024, 12, 31)),
         "web-portal": (dt.date(2021, 1, 1), None)}
PERIOD = "INTERVAL(start_date, end_date)"
TEMPORAL = [
    (f"T_INTERSECTS({PERIOD}, INTERVAL('2020-06-30', '2020-07-31'))", {"clean-walls"}),  # closed: a shared end
    (f"T_MEETS({PERIOD}, INTERVAL('2020-06-30', '..'))", {"clean-walls"}),
    (f"T_METBY({PERIOD}, INTERVAL('..', '2023-09-15'))", {"adha-restoration-2023"}),
    (f"T_DURING({PERIOD}, INTERVAL('2020-01-01', '2020-12-31'))", {"clean-walls"}),
    (f"T_CONTAINS({PERIOD}, INTERVAL('2024-01-01', '2024-02-01'))", {"adha-restoration-2023"}),
    (f"T_STARTS({PERIOD}, INTERVAL('2020-03-01', '2021-01-01'))", {"clean-walls"}),
    (f"T_STARTEDBY({PERIOD}, INTERVAL('2020-03-01', '2020-04-01'))", {"clean-walls"}),
    (f"T_FINISHES({PERIOD}, INTERVAL('2023-01-01', '2024-12-31'))", {"adha-restoration-2023"}),
    (f"T_FINISHEDBY({PERIOD}, INTERVAL('2024-06-01', '2024-12-31'))", {"adha-restoration-2023"}),
    (f"T_OVERLAPS({PERIOD}, INTERVAL('2020-05-01', '2020-12-31'))", {"clean-walls"}),
    (f"T_OVERLAPPEDBY({PERIOD}, INTERVAL('2023-01-01', '2023-12-31'))", {"adha-restoration-2023"}),
    (f"T_EQUALS({PERIOD}, INTERVAL('2020-03-01', '2020-06-30'))", {"clean-walls"}),
    (f"T_BEFORE({PERIOD}, DATE('2021-01-01'))", {"clean-walls"}),
    (f"T_AFTER({PERIOD}, TIMESTAMP('2021-01-01T00:00:00Z'))", {"adha-restoration-2023"}),
    # web-portal has no end date: its interval is null, so it is neither disjoint from 2020 nor not.
    (f"T_DISJOINT({PERIOD}, INTERVAL('2020-01-01', '2020-12-31'))", {"adha-restoration-2023"}),
    (f"NOT T_DISJOINT({PERIOD}, INTERVAL('2020-01-01', '2020-12-31'))", {"clean-walls"}),
    ("T_AFTER(start_date, DATE('2021-01-01'))", {"adha-restoration-2023"}),
    ("T_INTERSECTS(start_date, INTERVAL('2021-01-01', '..'))", {"adha-restoration-2023", "web-portal"}),
]


@pytest.fixture
def dated(session):
    for slug, (start, end) in DATES.items():
        session.execute(update(Project).where(Project.slug == slug).values(start_date=start, end_date=end))
    session.flush()


@pytest.mark.parametrize("source, expected", TEMPORAL, ids=[case[0][:40] for case in TEMPORAL])
def test_temporal_functions_on_project_periods(client, dated, source, expected):
    assert items(client, "projects", source) == expected


def test_temporal_functions_in_json(client, dated):
    doc = {"op": "t_during", "args": [{"interval": [prop("start_date"), prop("end_date")]},
                                      {"interval": ["2020-01-01", "2020-12-31"]}]}
    assert items(client, "projects", doc) == {"clean-walls"}
    assert len(items(client, "projects", {"op": "t_after", "args": [prop("updated_at"),
                                                                     {"timestamp": "2000-01-01T00:00:00Z"}]})) == 7


HERITAGE_PROJECTS = {"romans-taroudant-cooperation", "clean-walls", "adha-restoration-2023", "example-rampart-walk",
                     "example-rampart-garden"}


def test_array_functions_on_themes(client):
    assert items(client, "projects", "A_CONTAINS(themes, ('heritage'))") == HERITAGE_PROJECTS
    assert items(client, "projects", {"op": "a_contains", "args": [prop("themes"), ["heritage"]]}) == HERITAGE_PROJECTS
    assert items(client, "projects", "A_CONTAINEDBY(themes, ('heritage', 'environment'))") == \
        {"clean-walls", "adha-restoration-2023", "example-rampart-garden"}
    assert items(client, "projects", "A_EQUALS(themes, ('environment', 'heritage'))") == \
        {"clean-walls", "example-rampart-garden"}  # as sets: in any order
    assert items(client, "projects", "A_OVERLAPS(('youth', 'training'), themes)") == \
        {"web-portal", "example-rampart-walk"}
    assert items(client, "associations", "A_CONTAINS(themes, ('heritage', 'tourism'))") == \
        {"example-youth-heritage-guides"}
    assert items(client, "associations", "A_EQUALS(themes, ())") == {"taroudant-awalan"}
    assert len(items(client, "associations", "A_CONTAINS(themes, ())")) == 5


def test_a_theme_query_parameter_selects_the_records_holding_it(client):
    response = client.get("/ogc/collections/projects/items", query_string={"themes": "heritage", "limit": 100})
    assert {feature["id"] for feature in response.get_json()["features"]} == HERITAGE_PROJECTS


def test_geometry_collections_in_spatial_functions(session):
    collection = f"GEOMETRYCOLLECTION({KHEMIS}, LINESTRING(0 0, 1 1))"
    assert slugs(session, f"S_INTERSECTS(geometry, {collection})") == {"bab-el-khemis", "ramparts"}
    assert slugs(session, f"S_WITHIN(geometry, {collection})") == {"bab-el-khemis"}
    assert len(slugs(session, f"S_DISJOINT(geometry, {collection})")) == 33 - 2
    assert slugs(session, f"S_TOUCHES(geometry, {collection})") == set()


def test_refusals_answer_400_with_the_reason(client):
    assert refusal(client, "heritage-sites", "avg(protection_buffer_m) > 1").startswith(
        "filter: unknown function 'avg' at position 1")
    assert refusal(client, "projects", "T_MEETS(start_date, DATE('2020-01-01'))").startswith(
        "filter: T_MEETS compares intervals, but start_date is an instant")
    assert refusal(client, "projects", "A_CONTAINS(themes, (1))") == \
        "filter: A_CONTAINS: themes holds strings, so the list can only hold strings, got 1"


# Filters on projects made from the new forms, cut and mixed at random: each compiles or is refused, and what
# compiles runs on PostGIS (no value reaches PostgreSQL that makes it fail the query).
PROJECT_FILTERS = [source for source, _ in TEMPORAL] + [
    "A_CONTAINS(themes, ('heritage')) OR A_EQUALS((), themes) OR A_OVERLAPS(themes, ('youth', 'x'))",
    "CASEI(ACCENTI(title_fr)) LIKE CASEI('%rempart%') AND title_en <> title_fr",
    "(start_date IS NULL OR T_AFTER(updated_at, TIMESTAMP('2000-01-01T00:00:00Z'))) AND title_en IN "
    "(CASEI(title_fr), 'x') AND NOT start_date BETWEEN DATE('2020-01-01') AND end_date",
]
PROJECT_PIECES = ["themes", "start_date", "end_date", "updated_at", "title_en", "(", ")", ",", "'..'", "'x'", "0",
                  "-1", "1e308", "+", "-", "*", "/", "%", "^", "div", "=", "<", "AND", "OR", "NOT", "IS", "NULL",
                  "CASEI", "ACCENTI", "T_MEETS", "T_AFTER", "A_CONTAINS", "A_EQUALS", "INTERVAL", "DATE('2020-01-01')",
                  "TIMESTAMP('2020-01-01T00:00:00Z')", "()", "('heritage')", "Foo(1)", "LIKE", "IN", "BETWEEN"]


def test_what_compiles_on_projects_also_runs(session):
    rng = random.Random(12)
    queryables = COLLECTIONS["projects"].queryables
    inputs = [valid[:cut] for valid in PROJECT_FILTERS for cut in range(0, len(valid) + 1, 3)]
    for _ in range(1500):
        words = re.findall(r"'[^']*'|[\w.:]+|\S", rng.choice(PROJECT_FILTERS))  # one token a word
        words[rng.randrange(len(words))] = rng.choice(PROJECT_PIECES)
        inputs.append(" ".join(words))
    compiled = 0
    for source in inputs:
        try:
            clause = compile_filter(source, None, queryables)
        except InvalidParameter as exc:
            assert exc.message.startswith("filter: ")
            continue
        compiled += 1
        with session.begin_nested():
            session.scalars(select(Project.slug).where(clause).limit(1)).all()
    assert compiled > 80


def test_the_items_endpoint_takes_every_class_in_text_and_json(client, session):
    make_site(session, slug="buffered", protection_buffer_m=150, name_fr="Bâb Buffer")
    for source, doc, expected in [
        ("CASEI(name_en) LIKE CASEI('bab%')", dict(PAIRS)["CASEI(name_en) LIKE CASEI('bab%')"], {"bab-sedra"}),
        ("ACCENTI(name_fr) LIKE 'Bab Bu%'", {"op": "like", "args": [{"op": "accenti", "args": [prop("name_fr")]},
                                                                    "Bab Bu%"]}, {"buffered"}),
        ("name_fr LIKE 'Bab Bu%'", {"op": "like", "args": [prop("name_fr"), "Bab Bu%"]}, set()),
        ("protection_buffer_m * 2 > 100",
         {"op": ">", "args": [{"op": "*", "args": [prop("protection_buffer_m"), 2]}, 100]}, {"buffered"}),
        ("name_en = name_fr", {"op": "=", "args": [prop("name_en"), prop("name_fr")]}, set()),  # no heritage site
        ("S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(-8.8753605 30.4786022)))",
         {"op": "s_intersects", "args": [prop("geometry"), {"type": "GeometryCollection", "geometries": [
             {"type": "Point", "coordinates": list(BAB_EL_KHEMIS)}]}]}, {"bab-el-khemis", "ramparts"}),
    ]:
        assert items(client, "heritage-sites", source) == items(client, "heritage-sites", doc) == expected, source
    assert items(client, "environmental-sites", "name_en = name_fr") == {"jbel-toubkal"}
