"""Time the search (catalogue/search.py) on a table of many sites, with and without its trigram index.

Run on demand, never in the tests:  .venv/bin/python benchmarks/search.py [--sites 100000] [--runs 20]
It makes its own embedded cluster in a temporary folder (or uses BENCH_DATABASE_URL), fills `sites`
with synthetic records whose names mix Arabic, French and English words, and prints the median time of
search() for a few queries, then the same with the index dropped (what the index buys).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from heritage_map.catalogue import search
from heritage_map.db import make_engine, upgrade
from heritage_map.devdb.cluster import Cluster

QUERIES = ["باب الخميس", "اسوار تارودانت", "bab el khmis", "mosquee", "kasbah"]
URLS = {"sites": "/sites/{slug}", "trails": "/trails/{slug}", "projects": "/projects/{slug}",
        "associations": "/associations/{slug}"}
WORDS_AR = ["باب", "سوق", "ساحة", "مسجد", "قصبة", "زاوية", "برج", "درب", "حديقة", "واحة", "الخميس", "تارودانت"]
WORDS_FR = ["porte", "souk", "place", "mosquée", "kasbah", "zaouïa", "tour", "derb", "jardin", "palmeraie"]


def fill(engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO sites (slug, name_en, name_fr, name_ar, kind, category, coord_confidence,
                               publication_status, sample, sources, protection_status, condition, geom,
                               description_en)
            SELECT 'bench-' || i, 'Bench place ' || i || ' ' || (ARRAY['gate','souk','square','tower'])[1 + i % 4],
                   (CAST(:fr AS text[]))[1 + i % :nfr] || ' ' || md5(i::text)::varchar(6),
                   (CAST(:ar AS text[]))[1 + i % :nar] || ' ' || (CAST(:ar AS text[]))[1 + (i / 7) % :nar] || ' ' || i,
                   'heritage', 'gate', 'estimated', 'published', true, '{}', 'unknown', 'unknown',
                   ST_SetSRID(ST_MakePoint(-8.9 + random() * 0.05, 30.45 + random() * 0.05), 4326),
                   'A synthetic record for the search benchmark, number ' || i
            FROM generate_series(1, :n) AS i"""),
            {"n": n, "ar": WORDS_AR, "nar": len(WORDS_AR), "fr": WORDS_FR, "nfr": len(WORDS_FR)})
        conn.execute(text("ANALYZE sites"))


def median_ms(engine, q: str, runs: int) -> float:
    times = []
    with Session(engine) as session:
        for _ in range(runs):
            start = time.perf_counter()
            search.search(session, q, URLS, limit=10)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    cluster = None
    if not url:
        cluster = Cluster(Path(tempfile.mkdtemp(prefix="hm-bench-search-")))
        url = cluster.ensure_database("heritage_map_bench")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        upgrade(engine)
        fill(engine, args.sites)
        print(f"| query | {args.sites:,} sites, GIN trigram index (ms) | no index (ms) |\n|---|---|---|")
        indexed = {q: median_ms(engine, q, args.runs) for q in QUERIES}
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_sites_search_text"))
        for q in QUERIES:
            print(f"| {q} | {indexed[q]:.1f} | {median_ms(engine, q, max(3, args.runs // 5)):.1f} |")
    finally:
        engine.dispose()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
