"""`heritage-map db backup` and `db restore` bring back every record, link and file exactly, and refuse bad files.

Restores commit for real, so each test works on its own database, copied from a seeded template made once
for this module next to the test database, never on the test database itself."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from psycopg import sql
from sqlalchemy import make_url
from sqlalchemy.orm import Session

from factories import make_site
from heritage_map import backup
from heritage_map.catalogue.models import Base
from heritage_map.cli import main
from heritage_map.config import GEODATA_DIR
from heritage_map.db import MIGRATIONS, make_engine, set_up, upgrade

TEMPLATE_DB = "heritage_map_backup_seeded"
TARGET_DB = "heritage_map_backup"
OLD_DB = "heritage_map_backup_old"
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
# Every table of the app: the models' and the bookkeeping of migrations, tile versions, rate limits, cluster counts.
TABLES = sorted([t.name for t in Base.metadata.sorted_tables]
                + ["alembic_version", "layer_versions", "rate_counts", "tile_clusters"])


def plain(url: str, dbname: str) -> str:
    """Return the libpq URL of database `dbname` on the server of `url`."""
    return make_url(url).set(drivername="postgresql", database=dbname).render_as_string(hide_password=False)


def recreate(test_url: str, dbname: str, template: str | None = None) -> str:
    """Drop and create `dbname` (a copy of `template`, else empty with PostGIS); return its SQLAlchemy URL."""
    with psycopg.connect(plain(test_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(create)
    if not template:
        with psycopg.connect(plain(test_url, dbname), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return make_url(test_url).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def template_url(database_url):
    """A database migrated and seeded once, copied for each test."""
    url = recreate(database_url, TEMPLATE_DB)
    engine = make_engine(url)
    set_up(engine, GEODATA_DIR)
    engine.dispose()
    yield url
    with psycopg.connect(plain(database_url, "postgres"), autocommit=True) as conn:
        for name in (TARGET_DB, OLD_DB, TEMPLATE_DB):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def target(database_url, template_url) -> str:
    """A fresh copy of the seeded database for one test."""
    return recreate(database_url, TARGET_DB, template=TEMPLATE_DB)


@pytest.fixture
def uploads(tmp_path) -> Path:
    return tmp_path / "instance" / "uploads"


@pytest.fixture
def run(target, uploads, monkeypatch):
    """Run `heritage-map ARGS…` on the test's database and uploads folder; a URL given as `on` wins."""
    monkeypatch.setenv("HERITAGE_MAP_UPLOADS_DIR", str(uploads))
    monkeypatch.delenv("SECRET_KEY", raising=False)

    def invoke(*args, on: str = target):
        monkeypatch.setenv("DATABASE_URL", on)
        return CliRunner().invoke(main, [str(a) for a in args])
    return invoke


def fingerprint(url: str) -> dict[str, tuple]:
    """Return each table's row count and the md5 of its full content (geometries and stored GeoJSON too)."""
    with psycopg.connect(plain(url, make_url(url).database)) as conn:
        tables = {t: conn.execute(sql.SQL("SELECT count(*), md5(coalesce(string_agg(r::text, ',' ORDER BY "
                                          "r::text), '')) FROM {} r").format(sql.Identifier(t))).fetchone()
                  for t in TABLES}
        sequences = conn.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' "
                                 "ORDER BY 1").fetchall()
    return {**tables, "sequences": tuple(sequences)}


def change_records(url: str) -> None:
    """Rename a site, delete a project's link to a site and add a site."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        conn = session.connection()
        conn.exec_driver_sql("UPDATE sites SET name_en = 'Renamed' WHERE slug = 'bab-el-kasbah'")
        conn.exec_driver_sql("DELETE FROM project_sites WHERE ctid = (SELECT min(ctid) FROM project_sites)")
        make_site(session, slug="added-after-the-backup")
    engine.dispose()


def rewrite(src: Path, dst: Path, manifest: dict | None = None, extra: tarfile.TarInfo | None = None) -> Path:
    """Copy the backup `src` to `dst`, with its manifest changed and one more member if given."""
    with tarfile.open(src) as old, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name == "manifest.json" and manifest is not None:
                data = json.dumps({**json.loads(data), **manifest}).encode()
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))
        if extra is not None:
            new.addfile(extra, io.BytesIO(b"x" * extra.size) if extra.isfile() else None)
    return dst


def test_a_restore_with_yes_brings_back_every_table_exactly_as_it_was_backed_up(run, target, tmp_path):
    before = fingerprint(target)
    result = run("db", "backup", tmp_path / "backup.tar")
    assert result.exit_code == 0, result.output
    assert result.output == (f"wrote {tmp_path / 'backup.tar'}: {sum(n for n, _ in map(before.get, TABLES))} "
                             f"rows in {len(TABLES)} tables at revision {HEAD}, 0 uploaded files\n")
    change_records(target)
    changed = fingerprint(target)
    # The history records the change too (revisions, written by trigger with every change of a site), and so
    # do the tiles' counts (tile_clusters).
    assert {t for t in before if before[t] != changed[t]} == {"sites", "project_sites", "sequences", "layer_versions",
                                                              "revisions", "tile_clusters"}

    result = run("db", "restore", tmp_path / "backup.tar", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("database is up to date\n")
    assert fingerprint(target) == before


def test_a_restore_without_yes_into_a_database_with_records_refuses_saying_how_many(run, target, tmp_path):
    assert run("db", "backup", tmp_path / "backup.tar").exit_code == 0
    change_records(target)
    changed = fingerprint(target)
    result = run("db", "restore", tmp_path / "backup.tar")
    assert result.exit_code == 1
    records = sum(changed[t][0] for t in TABLES if t not in ("alembic_version", "layer_versions", "tile_clusters"))
    assert result.output == (f"Error: the database holds {records} records, which the restore would replace; "
                             "run it again with --yes to confirm\n")
    assert fingerprint(target) == changed


def test_a_restore_into_an_empty_database_needs_no_yes_and_keeps_postgis(run, target, database_url, tmp_path):
    before = fingerprint(target)
    assert run("db", "backup", tmp_path / "backup.tar").exit_code == 0
    empty = recreate(database_url, OLD_DB)
    result = run("db", "restore", tmp_path / "backup.tar", on=empty)
    assert result.exit_code == 0, result.output
    assert fingerprint(empty) == before
    with psycopg.connect(plain(empty, OLD_DB)) as conn:
        # PostGIS's own table is the server's, whole, not the dump's (which holds none of its rows).
        assert conn.execute("SELECT count(*) > 8000 FROM spatial_ref_sys").fetchone() == (True,)
        assert conn.execute("SELECT ST_SRID(geom) FROM sites LIMIT 1").fetchone() == (4326,)


def test_a_backup_with_one_byte_changed_is_refused_before_anything_is_touched(run, target, uploads, tmp_path):
    assert run("db", "backup", tmp_path / "backup.tar").exit_code == 0
    with tarfile.open(tmp_path / "backup.tar") as tar:
        dump = tar.getmember("database.dump")
    raw = bytearray((tmp_path / "backup.tar").read_bytes())
    raw[dump.offset_data + dump.size // 2] ^= 0x01
    (tmp_path / "backup.tar").write_bytes(raw)
    change_records(target)
    changed = fingerprint(target)
    (uploads / "photos").mkdir(parents=True)
    (uploads / "photos" / "kept.jpg").write_bytes(b"kept")

    result = run("db", "restore", tmp_path / "backup.tar", "--yes")
    assert result.exit_code == 1
    assert "database.dump is damaged (its checksum differs from the manifest's); nothing was restored" in result.output
    assert fingerprint(target) == changed
    assert [p.relative_to(uploads).as_posix() for p in uploads.rglob("*")] == ["photos", "photos/kept.jpg"]


@pytest.mark.parametrize("name, kind, says", [
    ("files/../../escaped.txt", tarfile.REGTYPE, "points outside its folder"),
    ("/tmp/escaped.txt", tarfile.REGTYPE, "points outside its folder"),
    ("files/link", tarfile.SYMTYPE, "is a link or a special file"),
    ("files/hard", tarfile.LNKTYPE, "is a link or a special file"),
    ("elsewhere.txt", tarfile.REGTYPE, "is unexpected"),
])
def test_a_backup_with_a_member_that_could_land_outside_its_folder_is_refused(run, target, tmp_path, name, kind,
                                                                              says):
    assert run("db", "backup", tmp_path / "backup.tar").exit_code == 0
    extra = tarfile.TarInfo(name)
    extra.type = kind
    if kind == tarfile.REGTYPE:
        extra.size = 3
    else:
        extra.linkname = "/etc/passwd"
    rewrite(tmp_path / "backup.tar", tmp_path / "evil.tar", extra=extra)
    change_records(target)
    changed = fingerprint(target)

    result = run("db", "restore", tmp_path / "evil.tar", "--yes")
    assert result.exit_code == 1
    assert f"the backup's member {name!r} " in result.output and says in result.output
    assert fingerprint(target) == changed
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()


def test_uploaded_files_round_trip_and_files_added_since_are_gone(run, uploads, tmp_path):
    (uploads / "photos" / "bab-el-kasbah").mkdir(parents=True)
    photo = bytes(range(256)) * 64
    (uploads / "photos" / "bab-el-kasbah" / "gate.jpg").write_bytes(photo)
    (uploads / "notes.txt").write_text("باب القصبة\n", encoding="utf-8")
    result = run("db", "backup", tmp_path / "backup.tar")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(", 2 uploaded files\n")
    (uploads / "photos" / "bab-el-kasbah" / "gate.jpg").write_bytes(b"overwritten")
    (uploads / "later.txt").write_text("added after the backup")

    assert run("db", "restore", tmp_path / "backup.tar", "--yes").exit_code == 0
    files = {p.relative_to(uploads).as_posix(): p.read_bytes() for p in uploads.rglob("*") if p.is_file()}
    assert files == {"photos/bab-el-kasbah/gate.jpg": photo, "notes.txt": "باب القصبة\n".encode()}
    assert sorted(p.name for p in uploads.parent.iterdir()) == ["uploads"]  # no staging folder left behind


def test_a_backup_made_at_an_older_migration_restores_and_is_upgraded(run, target, database_url, tmp_path):
    old = recreate(database_url, OLD_DB)
    engine = make_engine(old)
    upgrade(engine, "0004")
    with engine.begin() as conn:
        # At 0004 the publication state was still called `status`.
        conn.exec_driver_sql(
            "INSERT INTO sites (slug, name_en, kind, category, protection_status, condition, sources, "
            "coord_confidence, status, sample, geom) VALUES ('old-gate', 'Old gate', 'heritage', 'gate', "
            "'unknown', 'unknown', '{}', 'medium', 'published', false, 'SRID=4326;POINT(-8.87 30.47)')")
    engine.dispose()
    result = run("db", "backup", tmp_path / "old.tar", on=old)
    assert result.exit_code == 0, result.output
    assert "at revision 0004" in result.output

    result = run("db", "restore", tmp_path / "old.tar", "--yes")
    assert result.exit_code == 0, result.output
    with psycopg.connect(plain(target, TARGET_DB)) as conn:
        sites = conn.execute("SELECT slug, publication_status, geojson_properties->>'name_en' FROM sites").fetchall()
        assert sites == [("old-gate", "published", "Old gate")]
        assert conn.execute("SELECT count(*) FROM projects").fetchone() == (0,)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def test_a_backup_from_a_newer_migration_than_the_code_knows_is_refused(run, target, tmp_path):
    assert run("db", "backup", tmp_path / "backup.tar").exit_code == 0
    rewrite(tmp_path / "backup.tar", tmp_path / "newer.tar", manifest={"alembic_revision": "9999"})
    before = fingerprint(target)
    result = run("db", "restore", tmp_path / "newer.tar", "--yes")
    assert result.exit_code == 1
    assert "was made at database revision 9999, newer than this code knows" in result.output
    assert fingerprint(target) == before


def test_a_file_that_is_not_a_backup_is_refused_saying_so(run, tmp_path):
    (tmp_path / "notes.txt").write_text("not a tar")
    result = run("db", "restore", tmp_path / "notes.txt", "--yes")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {tmp_path / 'notes.txt'} is not a readable backup")


def test_a_restore_that_fails_part_way_leaves_the_old_records_and_files(run, target, uploads, tmp_path):
    assert run("db", "backup", tmp_path / "backup.tar").exit_code == 0
    change_records(target)
    with psycopg.connect(plain(target, TARGET_DB), autocommit=True) as conn:
        # Not the app's and depending on one of its tables: the restore cannot drop `sites` and stops.
        conn.execute("CREATE VIEW site_names AS SELECT name_en FROM sites")
    changed = fingerprint(target)
    uploads.mkdir(parents=True)
    (uploads / "kept.jpg").write_bytes(b"kept")

    result = run("db", "restore", tmp_path / "backup.tar", "--yes")
    assert result.exit_code == 1
    assert result.output.startswith("Error: pg_restore (nothing was changed) failed: ")
    assert "view public.site_names depends on table public.sites" in result.output
    assert fingerprint(target) == changed
    assert [p.name for p in uploads.parent.iterdir()] == ["uploads"] and (uploads / "kept.jpg").read_bytes() == b"kept"


def test_a_pg_dump_older_than_the_server_is_refused_naming_both_versions(target, uploads, tmp_path):
    old = tmp_path / "bin"
    old.mkdir()
    (old / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    (old / "pg_dump").chmod(0o755)
    with pytest.raises(backup.BackupError) as refused:
        backup.backup(target, tmp_path / "backup.tar", uploads, bindir=old)
    with psycopg.connect(plain(target, TARGET_DB)) as conn:
        server = conn.info.server_version // 10000
    assert refused.value.message == (f"the database server is PostgreSQL {server}, newer than pg_dump in {old} (9), "
                                     f"which cannot read it; install postgresql-client-{server}")
    assert not (tmp_path / "backup.tar").exists()
