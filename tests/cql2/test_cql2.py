"""CQL2 filters: parsing and SQL checked without a database, then exact result sets on the seeded PostGIS."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from factories import make_site
from seed_facts import GATES, MEDINA_SITES as MEDINA
from heritage_map.cql2 import (CRS84, Literal, Op, Property, Queryable, compile_filter,
                               filter_srid, parse_json, parse_text, to_clause)
from heritage_map.errors import InvalidParameter
from heritage_map.catalogue.models import Site

STRINGS = ("slug", "name_en", "name_fr", "name_ar", "kind", "category", "condition", "protection_status",
           "coord_confidence")
QUERYABLES = {
    **{name: Queryable(name, getattr(Site, name), "string") for name in STRINGS},
    "protection_buffer_m": Queryable("protection_buffer_m", Site.protection_buffer_m, "integer"),
    "sample": Queryable("sample", Site.sample, "boolean"),
    "updated_at": Queryable("updated_at", Site.updated_at, "timestamp"),
    "protection_date": Queryable("protection_date", Site.protection_date, "date"),
    "geometry": Queryable("geometry", Site.geom, "geometry"),
}
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG_32629 = "http://www.opengis.net/def/crs/EPSG/0/32629"

NEAR_KHEMIS = {"bab-el-khemis", "ramparts"}

# Each case: CQL2 text, the same filter in CQL2 JSON, and the slugs it selects in the seed.
CASES = [
    ("category = 'gate' AND name_en LIKE 'B%'",
     {"op": "and", "args": [{"op": "=", "args": [{"property": "category"}, "gate"]},
                            {"op": "like", "args": [{"property": "name_en"}, "B%"]}]},
     {"bab-sedra", "bab-bizamaren", "bab-benyara"}),
    ("category IN ('kasbah','mosque')",
     {"op": "in", "args": [{"property": "category"}, ["kasbah", "mosque"]]},
     {"kasbah", "tioute-kasbah", "grand-mosque"}),
    ("S_INTERSECTS(geometry, BBOX(-8.90,30.46,-8.86,30.485))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [-8.90, 30.46, -8.86, 30.485]}]},
     MEDINA),
    ("S_DWITHIN(geometry, POINT(-8.8753605 30.4786022), 100)",
     {"op": "s_dwithin", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [-8.8753605, 30.4786022]},
                                  100]},
     NEAR_KHEMIS),
    ("protection_date = DATE('1991-08-08')",
     {"op": "=", "args": [{"property": "protection_date"}, {"date": "1991-08-08"}]},
     {"souss-massa-national-park"}),
    ("NOT (category = 'gate') AND category BETWEEN 'kasbah' AND 'mosque'",
     {"op": "and", "args": [{"op": "not", "args": [{"op": "=", "args": [{"property": "category"}, "gate"]}]},
                            {"op": "between", "args": [{"property": "category"}, "kasbah", "mosque"]}]},
     {"kasbah", "tioute-kasbah", "grand-mosque"}),
    ("protection_date IS NOT NULL OR name_en = name_fr",
     {"op": "or", "args": [{"op": "not", "args": [{"op": "isNull", "args": [{"property": "protection_date"}]}]},
                           {"op": "=", "args": [{"property": "name_en"}, {"property": "name_fr"}]}]},
     {"souss-massa-national-park", "jbel-toubkal"}),
]


def sql(clause) -> tuple[str, dict]:
    """Return the PostgreSQL text of a clause and its bound values, compiled without a database."""
    compiled = clause.compile(dialect=postgresql.dialect())
    return str(compiled), compiled.params


def slugs(session, text, lang=None, crs=None) -> set[str]:
    return set(session.scalars(select(Site.slug).where(compile_filter(text, lang, QUERYABLES, crs))))


# --- Parsing -------------------------------------------------------------------------------------------

def test_text_parses_to_a_small_tree():
    assert parse_text("category = 'gate'") == Op("=", (Property("category"), Literal("gate", "string")))
    assert parse_text('"category" <> \'it\'\'s\'') == Op("<>", (Property("category"), Literal("it's", "string")))
    assert parse_text("protection_buffer_m >= -1.5e2").args[1] == Literal(-150.0, "number")
    assert parse_text("protection_buffer_m < 12").args[1] == Literal(12, "number")
    assert parse_text("TRUE") == Literal(True, "boolean")


def test_keywords_are_case_insensitive_and_and_binds_tighter_than_or():
    a, b, c = (Op("=", (Property(n), Literal(1, "number"))) for n in "abc")
    assert parse_text("a = 1 or b = 1 AND c = 1") == Op("or", (a, Op("and", (b, c))))
    assert parse_text("(a = 1 Or b = 1) and c = 1") == Op("and", (Op("or", (a, b)), c))
    assert parse_text("a = 1 AND b = 1 AND c = 1") == Op("and", (a, b, c))
    assert parse_text("not a = 1") == Op("not", (a,))


def test_negated_predicates_wrap_the_positive_ones():
    like = Op("like", (Property("name_en"), Literal("B%", "string")))
    assert parse_text("name_en NOT LIKE 'B%'") == Op("not", (like,))
    assert parse_text("x is not null") == Op("not", (Op("isNull", (Property("x"),)),))
    assert parse_text("x NOT IN (1, 2)").args[0].op == "in"
    assert parse_text("x NOT BETWEEN 1 AND 2").args[0].op == "between"


def test_literals_of_every_kind():
    assert parse_text("d = DATE('2020-01-31')").args[1] == Literal(dt.date(2020, 1, 31), "date")
    assert parse_text("t = timestamp('2020-01-31T12:00:00Z')").args[1] == Literal(
        dt.datetime(2020, 1, 31, 12, tzinfo=dt.timezone.utc), "timestamp")
    assert parse_text("b = false").args[1] == Literal(False, "boolean")
    assert parse_text("s_intersects(g, POINT (1 2))").args[1] == Literal("POINT (1 2)", "geometry")
    assert parse_text("S_INTERSECTS(g, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0))))").args[1].value.startswith("MULTIPOLYGON")
    assert parse_text("S_CROSSES(LINESTRING(0 0, 1 1), g)").args[0] == Literal("LINESTRING (0 0, 1 1)", "geometry")
    assert parse_text(r"x = 'it\'s'").args[1] == Literal("it's", "string")


@pytest.mark.parametrize("text, doc, _", CASES)
def test_json_gives_the_same_tree_as_text(text, doc, _):
    assert parse_json(doc) == parse_text(text)
    assert parse_json(json.dumps(doc)) == parse_text(text)


def test_json_literals():
    assert parse_json({"op": "=", "args": [{"property": "t"}, {"timestamp": "2020-01-01T00:00:00Z"}]}).args[1].type \
        == "timestamp"
    assert parse_json({"op": "isnull", "args": [{"property": "x"}]}) == Op("isNull", (Property("x"),))
    assert parse_json(True) == Literal(True, "boolean")
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    assert parse_json({"op": "s_within", "args": [{"property": "g"}, polygon]}).args[1] == \
        parse_text("S_WITHIN(g, POLYGON((0 0, 1 0, 1 1, 0 0)))").args[1]


# --- SQL without a database ----------------------------------------------------------------------------

def test_an_injection_attempt_becomes_a_bound_value():
    text, params = sql(compile_filter("name_en = 'x''; DROP TABLE sites; --'", None, QUERYABLES))
    assert "DROP" not in text and "x'" not in text
    assert text.startswith("sites.name_en = %(")
    assert list(params.values()) == ["x'; DROP TABLE sites; --"]


def test_every_value_is_bound():
    text, params = sql(compile_filter(
        "category IN ('gate', 'souk') AND protection_buffer_m BETWEEN 10 AND 20 AND sample = TRUE "
        "AND protection_date < '2020-01-01' AND name_en LIKE 'B\\%%'", None, QUERYABLES))
    for value in ("gate", "souk", "10", "20", "2020"):
        assert value not in text
    assert "ESCAPE '\\'" in text
    assert set(map(str, params.values())) >= {"gate", "souk", "10", "20", "True", "2020-01-01", "B\\%%"}


def test_geometry_literals_are_bound_wkt():
    text, params = sql(compile_filter("S_INTERSECTS(geometry, BBOX(-8.9, 30.46, -8.86, 30.485))", None,
                                      QUERYABLES))
    # In a subquery: computed once a query, not once a row, when PostgreSQL runs a generic plan.
    assert text.startswith("ST_Intersects(sites.geom, (SELECT ST_GeomFromText(%(")
    assert "8.9" not in text and "ST_Transform" not in text
    assert "POLYGON ((-8.86 30.46, -8.86 30.485, -8.9 30.485, -8.9 30.46, -8.86 30.46))" in params.values()
    assert 4326 in params.values()


def test_dwithin_works_on_geography_in_metres():
    text, params = sql(compile_filter("S_DWITHIN(geometry, POINT(-8.87 30.47), 100)", None, QUERYABLES))
    assert text.startswith("ST_DWithin(geography(sites.geom), geography((SELECT ST_GeomFromText(")
    assert 100.0 in params.values()


def test_other_crs_literals_are_transformed_in_sql():
    text, params = sql(compile_filter("S_INTERSECTS(geometry, POINT(511963 3371827))", None, QUERYABLES,
                                      EPSG_32629))
    assert "ST_Transform(ST_GeomFromText(" in text
    assert {"POINT (511963 3371827)", 32629, 4326} <= set(params.values())


def test_literals_outside_the_crs_area_are_refused_before_postgis_fails():
    for crs in (EPSG_32629, "EPSG:3035"):
        with pytest.raises(InvalidParameter, match="is outside the area of EPSG:"):
            compile_filter("S_INTERSECTS(geometry, POINT(1e300 1e300))", None, QUERYABLES, crs)


def test_lat_lon_crs_swaps_literal_axes():
    _, params = sql(compile_filter("S_INTERSECTS(geometry, POINT(30.47 -8.87))", None, QUERYABLES, EPSG_4326))
    assert "POINT (-8.87 30.47)" in params.values()


def test_filter_crs_forms():
    assert filter_srid(None) == filter_srid(CRS84) == (4326, False)
    assert filter_srid(EPSG_4326) == filter_srid("EPSG:4326") == (4326, True)
    assert filter_srid(EPSG_32629) == filter_srid("[EPSG:32629]") == filter_srid("epsg:32629") == (32629, False)
    assert filter_srid("[OGC:CRS84]") == (4326, False)
    assert filter_srid("EPSG:26192") == (26192, False) and filter_srid("EPSG:3035") == (3035, True)
    for bad in ("EPSG:999999", "EPSG:5773", "EPSG:4979", "urn:ogc:def:crs:EPSG::4326", "4326", ""):
        with pytest.raises(InvalidParameter, match="filter-crs"):
            filter_srid(bad)


def test_to_clause_takes_srid_and_axis_order_directly():
    node = parse_text("S_INTERSECTS(geometry, POINT(30.47 -8.87))")
    _, params = sql(to_clause(node, QUERYABLES, srid=4326, swap_axes=True))
    assert "POINT (-8.87 30.47)" in params.values()


def test_filter_lang():
    assert sql(compile_filter(json.dumps(CASES[1][1]), "cql2-json", QUERYABLES))[0].startswith("sites.category IN")
    with pytest.raises(InvalidParameter, match="filter-lang must be cql2-text or cql2-json"):
        compile_filter("category = 'gate'", "ecql", QUERYABLES)


# --- Error messages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("nmae = 'x'", "filter: unknown property 'nmae' (queryable: category, condition, coord_confidence, "),
    ("catgory = 'x'", "did you mean 'category'?"),
    ("category = 'gate' AND (name_en = 'x'", "filter: expected ')' at position 37, found the end of the filter"),
    ("name_en LIKE 5", "filter: LIKE needs a string pattern, got 5"),
    ("protection_buffer_m LIKE '5%'", "filter: LIKE needs a string property, but protection_buffer_m is integer"),
    ("category = 5", "filter: cannot compare category (string) with 5 (number)"),
    ("sample = 'yes'", "filter: cannot compare sample (boolean) with 'yes' (string)"),
    ("protection_date > 'soon'", "filter: cannot compare protection_date (date) with 'soon' (string)"),
    ("category = name_en AND protection_buffer_m = name_fr", "cannot compare protection_buffer_m (integer) with"),
    ("geometry = 'x'", "filter: geometry is a geometry: it can only be used in a spatial function"),
    ("S_INTERSECTS(category, POINT(1 2))", "S_INTERSECTS needs geometries (a geometry property or literal), "
                                           "got category (string)"),
    ("category = 'gate' category", "expected AND, OR or the end of the filter at position 19, found 'category'"),
    ("category = 'gate", "filter: unterminated string at position 12"),
    ("category ~ 'x'", "unexpected character '~' at position 10"),
    ("FOO(category) = 1", "filter: unknown function 'FOO' at position 1"),
    ("d = DATE('2020-02-30')", "date at position 5 must look like 2020-01-31"),
    ("S_DWITHIN(geometry, POINT(1 2), -5)", "S_DWITHIN needs a distance in metres"),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "is invalid: Self-intersection"),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0)))", "POLYGON at position 24 is not valid WKT"),
    ("name_en LIKE 'abc\\\\\\'", "unterminated string"),
    ("'a' = 'b'", "compares two values; one side must be a property"),
])
def test_errors_say_what_and_where(text, message):
    with pytest.raises(InvalidParameter) as caught:
        compile_filter(text, None, QUERYABLES)
    assert message in caught.value.message
    assert caught.value.status == 400


def test_nesting_and_length_are_limited():
    for depth in (10, 50):
        assert compile_filter("(" * depth + "category = 'gate'" + ")" * depth, None, QUERYABLES) is not None
    for text in ("(" * 51 + "category = 'gate'" + ")" * 51, "NOT " * 60 + "category = 'gate'",
                 "(" * 100_000):
        with pytest.raises(InvalidParameter, match="nesting deeper than 50|at most 20000"):
            compile_filter(text, None, QUERYABLES)
    with pytest.raises(InvalidParameter, match="at most 20000"):
        compile_filter("category = '" + "x" * 20_000 + "'", None, QUERYABLES)
    deep = {"op": "not", "args": [True]}
    for _ in range(60):
        deep = {"op": "not", "args": [deep]}
    with pytest.raises(InvalidParameter, match=r"nesting deeper than 50 levels at \$(\.args\[0\])+"):
        parse_json(deep)
    with pytest.raises(InvalidParameter, match="nested too deeply"):
        parse_json("[" * 5000 + "]" * 5000)


MALFORMED = [
    "", "   ", "category", "category =", "= 'gate'", "category = 'gate' AND", "AND category = 'gate'",
    "category = 'gate' OR OR kind = 'x'", "(category = 'gate'", "category = 'gate')", "category == 'gate'",
    "category IN ()", "category IN ('a', )", "category IN 'a'", "category BETWEEN 1", "category BETWEEN 'a' OR 'b'",
    "category IS 'gate'", "category IS NOT", "category NOT = 'x'", "category LIKE", "name_en LIKE 'abc\\'",
    "name_en LIKE name_fr", "\"\" = 'x'", "\"category = 'x'", "category = 1e999", "category = " + "9" * 5000,
    "protection_buffer_m = 99999999999999999999", "sample = TRUE AND", "TRUE FALSE", "DATE('2020-01-01')",
    "protection_date = DATE(2020)", "protection_date = DATE('2020-1-1')", "updated_at > TIMESTAMP('2020-01-01')",
    "updated_at > TIMESTAMP('2020-01-01T00:00:00')", "S_INTERSECTS(geometry)", "S_INTERSECTS(geometry, 5)",
    "S_INTERSECTS(geometry, POINT(1))", "S_INTERSECTS(geometry, POINT 1 2)", "S_INTERSECTS(geometry, POINT(1 2)",
    "S_INTERSECTS(geometry, POINT((((1 2)))))", "S_INTERSECTS(geometry, POINT(1 a))", "S_INTERSECTS(geometry, POINT())",
    "S_INTERSECTS(geometry, LINESTRING(1 2))", "S_INTERSECTS(geometry, BBOX(1, 2, 3))",
    "S_INTERSECTS(geometry, BBOX(3, 2, 1, 4))", "S_INTERSECTS(geometry, BBOX('a', 2, 3, 4))",
    "S_DWITHIN(geometry, POINT(1 2))", "S_DWITHIN(geometry, POINT(1 2), 'far')", "S_INTERSECTS(category, geometry)",
    "S_INTERSECTS(geometry, POINT(1 2)) = TRUE", "category = POINT(1 2)",
    "category = 'a\x00b'", "category = '\ud800'",
    "'gate' LIKE 'g%'", "'gate' IS NULL", "protection_buffer_m BETWEEN 'a' AND 'b'", "sample IN (1, 2)",
    "kategory = 'x'", "NOT", "()", "(((", ")))", "category = 'x' -- comment", "category = 'x'; DROP TABLE sites",
    "geometry IS NULL AND geometry < 5", "name_en LIKE 'x' ESCAPE '!'",
    "name_en = 'x' AND bogus(", "bogus(name_en) = 1", "T_AFTER(name_en, DATE('2020-01-01'))",
    "T_DURING(updated_at, INTERVAL('2020-01-01', '..'))", "A_CONTAINS(category, ('gate'))", "name_en * 2 > 1",
    "CASEI(protection_buffer_m) = 'x'", "protection_buffer_m + 1 LIKE 'x'", "1 + 1 = 2",
]
MALFORMED_JSON = [
    "", "{", "[]", "null", "5", '"gate"', "{}", '{"op": "="}', '{"op": "=", "args": {}}', '{"op": 5, "args": []}',
    '{"op": "=", "args": [{"property": "category"}]}', '{"op": "and", "args": [true]}',
    '{"op": "xor", "args": [true, false]}', '{"op": "=", "args": [{"property": 5}, "x"]}',
    '{"op": "=", "args": [{"property": "category"}, null]}', '{"op": "=", "args": [{"property": "category"}, [1]]}',
    '{"op": "in", "args": [{"property": "category"}, "gate"]}', '{"op": "in", "args": [{"property": "category"}, []]}',
    '{"op": "=", "args": [{"property": "category"}, NaN]}', '{"op": "=", "args": [{"property": "category"}, 1e999]}',
    '{"op": "=", "args": [{"property": "protection_date"}, {"date": 5}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Circle", "coordinates": [1, 2]}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": "1 2"}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": []}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point"}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[[0,0],[1,1]]]}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": ["Point"], "coordinates": [1, 2]}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1, 2, 3]}]}',
    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1, true, 3, 4]}]}',
    '{"op": "=", "args": [{"property": "category"}, "\\u0000"]}',
    '{"op": "=", "args": [{"property": "category"}, "\\ud800"]}',
    '{"op": "like", "args": [{"property": "name_en"}, {"op": "casei", "args": [5]}]}',
    '{"op": "t_during", "args": [{"property": "updated_at"}, {"interval": ["2020-01-01"]}]}',
    '{"op": "=", "args": [{"property": "category"}, {"unknown": 1}]}',
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_text_is_an_invalid_parameter(text):
    with pytest.raises(InvalidParameter, match="^filter: "):
        compile_filter(text, "cql2-text", QUERYABLES)


@pytest.mark.parametrize("doc", MALFORMED_JSON)
def test_malformed_json_is_an_invalid_parameter(doc):
    with pytest.raises(InvalidParameter, match="^filter: "):
        compile_filter(doc, "cql2-json", QUERYABLES)


# --- Fuzzing: any input compiles or raises InvalidParameter, and what compiles runs ---------------------

VALID = [case[0] for case in CASES] + [
    "name_en NOT LIKE 'B\\_%' OR protection_buffer_m NOT BETWEEN -1 AND 2.5e3 OR updated_at > "
    "TIMESTAMP('2020-01-01T00:00:00Z')",
    "S_WITHIN(geometry, POLYGON((-8.9 30.46, -8.86 30.46, -8.86 30.485, -8.9 30.46))) AND sample = FALSE",
    "\"category\" NOT IN ('gate', 'souk') AND (kind = 'heritage' OR protection_date IS NULL)",
    "CASEI(name_en) LIKE CASEI('bab%') OR ACCENTI(name_fr) = ACCENTI('Mosquée') OR protection_buffer_m * 2 ^ 3 > "
    "protection_buffer_m / 0 - 1 OR T_DURING(INTERVAL(protection_date, '..'), INTERVAL('2000-01-01', '..'))",
]
PIECES = ["category", "geometry", "sample", "protection_buffer_m", "updated_at", "=", "<>", "<", ">=", "AND", "OR",
          "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL", "(", ")", ",", "'gate'", "'B%'", "5", "-2.5e3", "TRUE",
          "DATE('2020-01-01')", "TIMESTAMP('2020-01-01T00:00:00Z')", "S_INTERSECTS", "S_DWITHIN", "POINT(1 2)",
          "BBOX(1,2,3,4)", "POLYGON((0 0, 1 0, 1 1, 0 0))", '"name_en"', "'", '"', "\\", "%", "\x00", "é", "ⵜ",
          "+", "-", "*", "/", "^", "div", "1e308", "0", "CASEI(name_en)", "ACCENTI", "T_AFTER", "T_MEETS",
          "INTERVAL('..', '2020-01-01')", "A_CONTAINS", "('a', 'b')", "()", "Foo(1)",
          "GEOMETRYCOLLECTION(POINT(1 2))"]


def compiles_or_refuses(text, lang=None, crs=None):
    """Return the clause for `text`, None if it was refused with InvalidParameter; anything else fails the test."""
    try:
        clause = compile_filter(text, lang, QUERYABLES, crs)
    except InvalidParameter as exc:
        assert exc.message.startswith("filter: ")
        return None
    sql(clause)
    return clause


def fuzz_inputs(rng: random.Random) -> list[str]:
    inputs = [valid[:cut] for valid in VALID for cut in range(len(valid) + 1)]
    for _ in range(1500):  # valid filters with one word swapped for another: many still compile
        words = rng.choice(VALID).split(" ")
        words[rng.randrange(len(words))] = rng.choice(PIECES)
        inputs.append(" ".join(words))
    inputs += [" ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(1500)]
    inputs += ["".join(rng.choice("()',.=<>% \"\\-+*/^eE0123456789abcdefgNOTAND") for _ in range(rng.randint(1, 40)))
               for _ in range(1500)]
    return inputs


def test_fuzzed_text_compiles_or_is_refused():
    for text in fuzz_inputs(random.Random(20240611)):
        compiles_or_refuses(text)


def test_fuzzed_json_compiles_or_is_refused():
    rng = random.Random(7)
    leaves = [{"property": "category"}, {"property": "geometry"}, {"property": "nope"}, "gate", 5, -1.5, True,
              None, [], {"date": "2020-01-01"}, {"timestamp": "x"}, {"bbox": [1, 2, 3, 4]},
              {"type": "Point", "coordinates": [1, 2]}, {"type": "Point", "coordinates": [[1]]},
              {"property": "updated_at"}, {"interval": ["..", "2020-01-01"]}, {"interval": [{"property": "x"}]},
              ["gate"], 0, 1e308]
    ops = ["and", "or", "not", "=", "<", "like", "in", "between", "isNull", "s_intersects", "s_dwithin", "nope",
           "casei", "accenti", "t_after", "t_during", "a_contains", "+", "/", "^", "div", "Foo"]

    def tree(depth):
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(leaves)
        args = [tree(depth - 1) for _ in range(rng.randint(0, 3))]
        return {"op": rng.choice(ops), "args": args if rng.random() < 0.9 else {}}

    for _ in range(2000):
        doc = json.dumps(tree(4))
        for text in (doc, doc[:rng.randint(0, len(doc))]):
            compiles_or_refuses(text, "cql2-json")


def test_what_compiles_also_runs(session):
    rng = random.Random(3)
    crss = [None, EPSG_4326, EPSG_32629, "EPSG:3035"]
    inputs = fuzz_inputs(rng) + [f"S_INTERSECTS(geometry, POINT({x} {y}))" for x in (0, 1e300) for y in (-1e9, 90)]
    clauses = [c for text in inputs if (c := compiles_or_refuses(text, crs=rng.choice(crss))) is not None]
    assert len(clauses) > 80
    for clause in clauses:
        with session.begin_nested():
            session.scalars(select(Site.slug).where(clause).limit(1)).all()


# --- On the seeded PostGIS -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, doc, expected", CASES)
def test_text_and_json_select_the_same_sites(session, text, doc, expected):
    assert slugs(session, text) == expected
    assert slugs(session, json.dumps(doc), "cql2-json") == expected


def test_the_thirteen_gates(session):
    assert slugs(session, "category = 'gate'") == GATES
    assert len(slugs(session, "category <> 'gate'")) == 33 - 13
    assert slugs(session, "category = 'gate' AND NOT S_INTERSECTS(geometry, BBOX(-8.90,30.46,-8.86,30.485))") == set()


def test_lat_lon_filter_crs_gives_the_same_sites_as_crs84(session):
    assert slugs(session, "S_INTERSECTS(geometry, BBOX(30.46,-8.90,30.485,-8.86))", crs=EPSG_4326) == MEDINA
    assert slugs(session, "S_DWITHIN(geometry, POINT(30.4786022 -8.8753605), 100)", crs="EPSG:4326") == NEAR_KHEMIS
    assert slugs(session, "S_INTERSECTS(geometry, BBOX(-8.90,30.46,-8.86,30.485))", crs=CRS84) == MEDINA


def test_utm_literals_are_transformed_to_lon_lat(session):
    # Bab El Khemis is at 511963.09 E, 3371826.89 N in UTM zone 29N (EPSG:32629).
    assert slugs(session, "S_DWITHIN(geometry, POINT(511963.09 3371826.89), 100)", crs=EPSG_32629) == NEAR_KHEMIS
    medina = "S_INTERSECTS(geometry, BBOX(509597.5, 3369763.1, 513440.0, 3372537.6))"
    assert slugs(session, medina, crs=EPSG_32629) == MEDINA


def test_spatial_predicates_in_both_orders(session):
    khemis = "POINT(-8.8753605 30.4786022)"
    assert slugs(session, f"S_EQUALS(geometry, {khemis})") == {"bab-el-khemis"}
    assert slugs(session, f"S_INTERSECTS({khemis}, geometry)") == NEAR_KHEMIS
    assert slugs(session, f"S_TOUCHES(geometry, {khemis})") == set()  # a vertex inside a ring touches nothing
    assert slugs(session, "S_WITHIN(geometry, BBOX(-8.90,30.46,-8.86,30.485))") == MEDINA
    assert slugs(session, "S_CONTAINS(BBOX(-8.90,30.46,-8.86,30.485), geometry)") == MEDINA
    assert len(slugs(session, "S_DISJOINT(geometry, BBOX(-8.90,30.46,-8.86,30.485))")) == 33 - len(MEDINA)
    cut = "LINESTRING(-8.95 30.47, -8.85 30.47)"
    assert slugs(session, f"S_CROSSES(geometry, {cut})") == {"ramparts"}
    assert slugs(session, "S_OVERLAPS(geometry, POLYGON((-8.9 30.46, -8.86 30.46, -8.86 30.485, -8.9 30.46)))") \
        == set()


def test_like_escapes_and_wildcards(session):
    make_site(session, slug="pct", name_en="100% gate")
    make_site(session, slug="under", name_en="100_ gate")
    assert slugs(session, "name_en LIKE '100\\%%'") == {"pct"}
    assert slugs(session, "name_en LIKE '100\\_%'") == {"under"}
    assert slugs(session, "name_en LIKE '100_ gate'") == {"pct", "under"}
    assert slugs(session, "name_en LIKE '%Gate' AND name_en NOT LIKE 'B%'") == GATES - {
        "bab-sedra", "bab-el-kasbah",  # their names end with a parenthesis
        "bab-bizamaren", "bab-benyara"}


def test_numbers_booleans_dates_and_nulls(session):
    make_site(session, slug="buffered", protection_buffer_m=150, sample=True, protection_date=dt.date(2011, 5, 1))
    assert slugs(session, "protection_buffer_m BETWEEN 100 AND 2e2") == {"buffered"}
    assert slugs(session, "protection_buffer_m NOT BETWEEN 100 AND 200") == set()
    assert slugs(session, "protection_buffer_m > 149.5 AND protection_buffer_m IN (150, 7)") == {"buffered"}
    assert slugs(session, "sample = TRUE") == {"buffered"}
    assert len(slugs(session, "sample = FALSE")) == 33
    assert slugs(session, "protection_date > '2000-01-01'") == {"buffered"}
    assert slugs(session, "protection_date BETWEEN DATE('1990-01-01') AND '1995-12-31'") == \
        {"souss-massa-national-park"}
    assert slugs(session, "protection_date IN ('1991-08-08', DATE('2011-05-01'))") == \
        {"souss-massa-national-park", "buffered"}
    assert len(slugs(session, "protection_buffer_m IS NULL")) == 33
    assert len(slugs(session, "updated_at > TIMESTAMP('2000-01-01T00:00:00Z') AND updated_at < '2999-01-01'")) == 34
    assert slugs(session, "FALSE") == set() and len(slugs(session, "TRUE OR FALSE")) == 34


def test_an_injection_attempt_matches_nothing_and_drops_nothing(session):
    assert slugs(session, "name_en = 'x''; DROP TABLE sites; --'") == set()
    assert slugs(session, "slug IN ('ramparts'' OR ''1''=''1', 'ramparts')") == {"ramparts"}
    assert len(slugs(session, "TRUE")) == 33
