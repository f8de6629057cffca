"""A client no one here wrote: GDAL's OGC API Features driver (through pyogrio) reads every collection as stored."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pyogrio
import pytest
import shapely
from sqlalchemy import text
from werkzeug.serving import make_server

from heritage_map import create_app
from seed_facts import GATES, MEDINA_BOX as MEDINA

SITE = "SELECT slug, name_en, name_ar, category, ST_AsBinary(geom) AS wkb FROM sites WHERE publication_status = 'published' AND "
# Each collection: the SQL that lists what it must hold, in slug order; the columns are compared by name.
COLLECTIONS = {
    "heritage-sites": SITE + "kind = 'heritage' ORDER BY slug",
    "environmental-sites": SITE + "kind = 'environment' ORDER BY slug",
    "ramparts": SITE + "category = 'rampart' ORDER BY slug",
    "projects": "SELECT slug, title_en, title_ar, status, ST_AsBinary(geom) AS wkb FROM projects "
                "WHERE publication_status = 'published' ORDER BY slug",
    "associations": "SELECT slug, name_en, name_ar, ST_AsBinary(geom) AS wkb FROM associations "
                    "WHERE publication_status = 'published' ORDER BY slug",
}


@pytest.fixture(scope="module")
def server(engine):
    """The app on a live server thread (read-only), with a log of every path and query string asked for."""
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test"}, engine=engine)
    asked: list[str] = []

    def logged(environ, start_response):
        query = environ.get("QUERY_STRING")
        asked.append(environ["PATH_INFO"] + (f"?{query}" if query else ""))
        return app(environ, start_response)

    httpd = make_server("127.0.0.1", 0, logged, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"OAPIF:http://127.0.0.1:{httpd.server_port}/ogc", asked
    httpd.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def gdal():
    """A worker process in which GDAL runs."""
    # pyogrio holds the GIL while GDAL waits for a page, so the server thread of this interpreter could never send it.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=pyogrio.set_gdal_config_options,
                             initargs=({"GDAL_HTTP_TIMEOUT": "30"},)) as pool:
        yield pool


def read(gdal, url: str, layer: str, **options):
    """Return the GeoDataFrame GDAL reads from one collection, sorted by slug."""
    frame = gdal.submit(pyogrio.read_dataframe, url, layer=layer, **options).result(timeout=120)
    return frame.sort_values("slug").reset_index(drop=True)


def stored(engine, collection: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(COLLECTIONS[collection]))]


def same_geometry(got, wkb) -> bool:
    if wkb is None:
        return got is None
    return got is not None and shapely.equals_exact(got, shapely.from_wkb(bytes(wkb)), tolerance=1e-7)


def test_gdal_lists_every_collection_as_a_layer(server, gdal):
    url, _ = server
    layers = gdal.submit(pyogrio.list_layers, url).result(timeout=120)
    assert sorted(layers[:, 0]) == sorted(COLLECTIONS)


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_gdal_reads_every_feature_with_the_stored_attributes_and_geometry(server, gdal, engine, collection):
    url, _ = server
    frame = read(gdal, url, collection)
    rows = stored(engine, collection)
    assert frame["slug"].tolist() == [row["slug"] for row in rows]
    for column in rows[0].keys() - {"wkb"}:
        got = [None if value != value else value for value in frame[column]]  # NaN for a missing value
        assert got == [row[column] for row in rows], column
    mismatched = [row["slug"] for row, geom in zip(rows, frame.geometry) if not same_geometry(geom, row["wkb"])]
    assert mismatched == []


def test_gdal_pages_through_a_collection_bigger_than_its_page_size(server, gdal, engine):
    url, asked = server
    start = len(asked)
    frame = read(gdal, url, "heritage-sites", PAGE_SIZE=5)
    assert frame["slug"].tolist() == [row["slug"] for row in stored(engine, "heritage-sites")]
    pages = [path for path in asked[start:] if path.startswith("/ogc/collections/heritage-sites/items")]
    assert sum("cursor=" in path for path in pages) >= 4, pages  # 24 features, 5 a page


def test_gdal_filters_by_bbox_and_attribute_to_the_medina_gates_on_the_server(server, gdal):
    url, asked = server
    start = len(asked)
    frame = read(gdal, url, "heritage-sites", bbox=MEDINA, where="category = 'gate'")
    assert sorted(frame["slug"]) == sorted(GATES)
    print("GDAL asked for:", *asked[start:], sep="\n  ")
    filtered = [path for path in asked[start:] if "bbox=" in path]
    assert filtered, asked[start:]
    # GDAL finds category among the items parameters of the API definition, so the server does the filtering.
    assert all(path.startswith("/ogc/collections/heritage-sites/items?") and "category=gate" in path
               for path in filtered), filtered


def test_the_server_gives_every_database_connection_back_after_streaming(server, gdal, engine):
    url, _ = server
    read(gdal, url, "heritage-sites", PAGE_SIZE=5)
    deadline = time.monotonic() + 5
    while engine.pool.checkedout() and time.monotonic() < deadline:  # the last teardown may still be running
        time.sleep(0.05)
    assert engine.pool.checkedout() == 0
