"""The `heritage-map` command imports and exports files on its own database, and says why it refuses a file.

The command builds its own engine from DATABASE_URL and commits for real, so these tests point it at a
separate database, created fresh for this module, never at the test database."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pyogrio
import pytest
from click.testing import CliRunner
from psycopg import sql
from sqlalchemy import make_url
from sqlalchemy.orm import Session

import conftest
from heritage_map.catalogue import queries
from heritage_map.cli import main
from heritage_map.db import make_engine
from heritage_map.devdb.cluster import Cluster

CLI_DB = "heritage_map_cli"


def fresh_database(test_url: str) -> str:
    """Drop and recreate CLI_DB next to the test database; return its URL."""
    if not os.environ.get("TEST_DATABASE_URL"):
        cluster = Cluster(conftest.test_data_dir())
        cluster.drop_database(CLI_DB)
        return cluster.ensure_database(CLI_DB)
    url = make_url(test_url)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(CLI_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(CLI_DB)))
    cli_url = url.set(database=CLI_DB).render_as_string(hide_password=False)
    with psycopg.connect(cli_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return cli_url


def cli_env(url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "HERITAGE_MAP_AUTO_SETUP": "1"}


@pytest.fixture(scope="module")
def cli_url(database_url) -> str:
    """A fresh CLI database, migrated and seeded by the command itself on its first use."""
    url = fresh_database(database_url)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in cli_env(url).items():
            mp.setenv(key, value)
        mp.delenv("SECRET_KEY", raising=False)  # commands that serve no page sign nothing
        result = CliRunner().invoke(main, ["seed"])
    assert result.exit_code == 0, result.output
    assert "sites: read 33 rows" in result.output
    return url


@pytest.fixture
def run(cli_url, monkeypatch):
    """Run `heritage-map ARGS…` against the CLI database, as production would, but without SECRET_KEY."""
    for key, value in cli_env(cli_url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SECRET_KEY", raising=False)

    def invoke(*args):
        return CliRunner().invoke(main, [str(a) for a in args])
    return invoke


def cli_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return queries.counts(session)
    finally:
        engine.dispose()


def write_sites(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """Write a sites CSV of (slug, category, wkt) rows."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["slug", "name_en", "category", "wkt"])
        writer.writerows((slug, slug.title(), category, wkt) for slug, category, wkt in rows)
    return path


def test_export_writes_a_geopackage_of_every_site(run, tmp_path):
    result = run("export", "--layer", "sites", tmp_path / "sites.gpkg")
    assert result.exit_code == 0, result.output
    assert len(pyogrio.read_dataframe(tmp_path / "sites.gpkg")) == 33


def test_import_of_a_bad_file_exits_non_zero_naming_each_bad_row(run, cli_url, tmp_path):
    path = write_sites(tmp_path / "bad.csv", [("cli-good", "gate", "POINT (-8.87 30.47)"),
                                              ("cli-castle", "castle", "POINT (-8.87 30.47)"),
                                              ("cli-swapped", "gate", "POINT (30.47 -8.87)")])
    before = cli_counts(cli_url)
    result = run("import", "--layer", "sites", path)
    assert result.exit_code == 1
    assert "row 2: category: unknown category 'castle'" in result.output
    assert "row 3: coordinates outside Morocco" in result.output
    assert "Error: bad.csv: 2 invalid row(s); nothing was imported" in result.output
    assert cli_counts(cli_url) == before


def test_import_dry_run_of_a_good_file_exits_zero_and_writes_nothing(run, cli_url, tmp_path):
    path = write_sites(tmp_path / "good.csv", [("cli-one", "gate", "POINT (-8.87 30.47)"),
                                               ("cli-two", "souk", "POINT (-8.875 30.471)")])
    before = cli_counts(cli_url)
    result = run("import", "--layer", "sites", "--dry-run", path)
    assert result.exit_code == 0, result.output
    assert "sites: read 2 rows, would write 2 new and 0 updated, rejected 0" in result.output
    assert cli_counts(cli_url) == before


def test_a_database_url_whose_server_cannot_be_reached_gives_one_clear_message(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@/nodb?host=/nonexistent-socket-dir")
    result = CliRunner().invoke(main, ["seed"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a message, not a crash
    assert "cannot reach the database" in result.output and "/nonexistent-socket-dir" in result.output


def test_db_optimize_orders_each_spatial_table_by_its_spatial_index(run, cli_url):
    before = cli_counts(cli_url)
    result = run("db", "optimize")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{t}: clustered on its spatial index, vacuumed and analysed"
                                          for t in ("sites", "associations", "projects")]
    with psycopg.connect(cli_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        clustered = conn.execute("SELECT indrelid::regclass::text FROM pg_index WHERE indisclustered "
                                 "ORDER BY 1").fetchall()
        # VACUUM marks every page all-visible (CLUSTER leaves none), so index-only scans work again.
        visible = conn.execute("SELECT relname, relpages, relallvisible FROM pg_class "
                               "WHERE relname IN ('sites', 'associations', 'projects') ORDER BY 1").fetchall()
    assert [r[0] for r in clustered] == ["associations", "projects", "sites"]
    assert all(pages > 0 and all_visible == pages for _, pages, all_visible in visible), visible
    assert cli_counts(cli_url) == before  # rewritten, not changed


def test_the_wsgi_app_serves_from_the_environment_with_its_start_up_frozen(cli_url):
    """`gunicorn heritage_map.wsgi:app` gets an app configured from the environment, its start-up heap frozen."""
    probe = ("import gc, json; from heritage_map.wsgi import app; r = app.test_client().get('/ogc/collections/"
             "heritage-sites/items?limit=1'); print(json.dumps([gc.get_freeze_count(), r.status_code, "
             "r.get_json()['numberMatched']]))")
    env = {**os.environ, **cli_env(cli_url), "HERITAGE_MAP_AUTO_SETUP": "0", "SECRET_KEY": "from-env"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen, status, matched = json.loads(done.stdout.splitlines()[-1])
    assert frozen > 50_000 and status == 200 and matched == 24  # the 24 published heritage sites of the seed


def test_the_wsgi_app_on_a_database_url_without_a_secret_key_fails_as_it_starts_naming_it(cli_url):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | cli_env(cli_url)
    done = subprocess.run([sys.executable, "-c", "import heritage_map.wsgi"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "heritage_map.errors.SetupError: SECRET_KEY is not set" in done.stderr.splitlines()[-1]


def test_commands_that_serve_no_page_work_on_a_database_url_without_a_secret_key(run, tmp_path):
    for args in (["db", "upgrade"], ["seed"], ["export", "--layer", "associations", tmp_path / "a.geojson"],
                 ["import", "--layer", "associations", "--dry-run", tmp_path / "a.geojson"]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)


def test_serve_on_a_database_url_without_a_secret_key_says_so_and_does_not_start(run):
    result = run("serve", "--host", "256.0.0.1")  # no such address: were it to get that far, it would fail apart
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: SECRET_KEY is not set: ")
