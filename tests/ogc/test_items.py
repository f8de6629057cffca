"""The items statement cache: a request's values reach a cached statement only as parameters bound at execution."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy.dialects import postgresql

from heritage_map.ogc import items

ITEMS = "/ogc/collections/heritage-sites/items"


@pytest.fixture
def cache(monkeypatch) -> items._Statements:
    """An empty statement cache, so that what a test finds in it is what its requests built."""
    fresh = items._Statements()
    monkeypatch.setattr(items, "_statements", fresh)
    return fresh


def get(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.get_json(force=True)


def next_link(body: dict) -> str:
    return next(link["href"] for link in body["links"] if link["rel"] == "next")


def cursor_values(url: str) -> list:
    token = parse_qs(urlsplit(url).query)["cursor"][0]
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["k"]


def contents(cache: items._Statements) -> dict:
    with cache.lock:
        return dict(cache.items)


def written_in(stmt, value) -> bool:
    """Tell whether `value` is in the statement's SQL text, or stored in it as a bound parameter's value."""
    compiled = stmt.compile(dialect=postgresql.dialect())
    if isinstance(value, int):  # digits are everywhere in SQL: a limit would be written after LIMIT
        in_text = re.search(rf"\b(LIMIT|FETCH FIRST) {value}\b", compiled.string) is not None
    else:
        in_text = str(value) in compiled.string
    if isinstance(value, int):
        return in_text or value in compiled.params.values()
    return in_text or any(str(value) in str(stored) for stored in compiled.params.values())


def assert_no_value_in(cache: items._Statements, values: list) -> None:
    """Fail if a cached statement holds one of `values` that its key does not."""
    for key, stmt in contents(cache).items():
        held = [v for v in values if str(v) not in repr(key) and written_in(stmt, v)]
        assert held == [], f"{held} written into the statement cached under {key}"


# Pairs of requests of one shape with different values, and the values that tell them apart.
SAME_SHAPE = {
    "bbox": (f"{ITEMS}?bbox=-8.88123,30.46117,-8.86031,30.47893", f"{ITEMS}?bbox=-8.89417,30.45329,-8.85207,30.48561",
             [-8.88123, 30.46117, -8.86031, 30.47893, -8.89417, 30.45329, -8.85207, 30.48561]),
    "bbox-crs": (f"{ITEMS}?bbox=165123.5,389321.5,167876.5,391987.5&bbox-crs="
                 + quote("http://www.opengis.net/def/crs/EPSG/0/26192"),
                 f"{ITEMS}?bbox=164567.5,388654.5,168234.5,392432.5&bbox-crs="
                 + quote("http://www.opengis.net/def/crs/EPSG/0/26192"),
                 [165123.5, 389321.5, 167876.5, 391987.5, 164567.5, 388654.5, 168234.5, 392432.5]),
    "property": (f"{ITEMS}?name_en=Zq+first+name", f"{ITEMS}?name_en=Zq+second+name",
                 ["Zq first name", "Zq second name"]),
    "datetime": (f"{ITEMS}?datetime=2019-03-17T05:06:07Z/..", f"{ITEMS}?datetime=2021-11-23T08:09:10Z/..",
                 ["2019-03-17", "2021-11-23"]),
    "limit": (f"{ITEMS}?limit=37", f"{ITEMS}?limit=41", [38, 42]),  # limit + 1 rows are asked for
}


@pytest.mark.parametrize("case", sorted(SAME_SHAPE))
def test_two_requests_of_one_shape_share_statements_that_hold_neither_s_values(client, cache, case):
    first, second, values = SAME_SHAPE[case]
    get(client, first)
    built = contents(cache)
    get(client, second)
    assert built and contents(cache).keys() == built.keys()
    assert all(contents(cache)[key] is stmt for key, stmt in built.items())  # the same objects, reused
    assert_no_value_in(cache, values)


def test_two_cursors_of_one_walk_share_a_statement_that_holds_neither_s_keys(client, cache):
    second_page = next_link(get(client, f"{ITEMS}?limit=3&sortby=name_en"))
    third_page = next_link(get(client, second_page))
    values = [v for url in (second_page, third_page) for v in cursor_values(url) if isinstance(v, str)]
    assert len(set(values)) == 2  # the names the two cursors start after
    built = contents(cache)
    get(client, third_page)
    assert contents(cache).keys() == built.keys()
    assert all(contents(cache)[key] is stmt for key, stmt in built.items())
    assert_no_value_in(cache, values)


def test_two_cql2_filters_that_differ_by_a_literal_get_statements_of_their_own_that_bind_it(client, cache):
    literals = ["Zq first literal", "Zq second literal"]
    for literal in literals:
        get(client, f"{ITEMS}?filter=" + quote(f"name_en = '{literal}' OR name_fr LIKE '{literal}%'"))
    by_literal = {literal: [stmt for key, stmt in contents(cache).items() if literal in repr(key)]
                  for literal in literals}
    assert all(by_literal.values()) and len(contents(cache)) == sum(map(len, by_literal.values()))
    for literal, stmts in by_literal.items():
        other = next(o for o in literals if o != literal)
        for stmt in stmts:
            sql = stmt.compile(dialect=postgresql.dialect()).string
            assert literal not in sql and other not in sql  # bound, not written into the SQL
            assert not written_in(stmt, other)
    assert_no_value_in(cache, literals)


def test_a_feature_s_id_is_bound_in_the_one_statement_every_feature_shares(client, cache):
    for fid in ("bab-el-khemis", "kasbah"):
        assert client.get(f"{ITEMS}/{fid}").status_code == 200
    assert len(contents(cache)) == 1
    assert_no_value_in(cache, ["bab-el-khemis", "kasbah"])
