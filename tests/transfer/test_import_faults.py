"""`heritage-map import` when the database fails under it: the disk fills, or the server ends the session.

Both run the real command in a process of its own against a database of their own, and check that nothing of
the file was written, that the message says what to do, and that the database still serves.

The disk is really full: the sites table (with its TOAST table and indexes) is moved to a tablespace on a
4 MB tmpfs, so PostgreSQL's own write fails with "could not extend file …: No space left on device", SQLSTATE
53100 (disk_full), as on a full disk; the WAL and the rest of the cluster stay on the real disk, as they do when
a data volume fills. Mounting needs root (or passwordless sudo, as CI has): the cluster must be on this machine.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import make_url

from served_db import create_seeded, drop, plain

DB = "heritage_map_import_faults"
HERITAGE_MAP = Path(sys.executable).with_name("heritage-map")
MOUNT = Path(f"/tmp/heritage-map-full-disk-{os.getpid()}")


@pytest.fixture
def own_url(database_url):
    url = create_seeded(database_url, DB)
    yield url
    drop(database_url, DB)


def as_root(*command: str) -> None:
    """Run `command` as root: directly when we are, else through passwordless sudo."""
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run([*prefix, *command], check=True, capture_output=True)


@pytest.fixture
def full_disk(own_url):
    """A 4 MB tmpfs tablespace holding the sites table; gone after the test."""
    MOUNT.mkdir(exist_ok=True)
    as_root("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(MOUNT))
    tablespace = f"full_disk_{os.getpid()}"
    try:
        with psycopg.connect(plain(own_url), autocommit=True) as conn:
            # The server's process owns the folder: as root the embedded cluster runs as `postgres`.
            as_root("chown", str(_server_uid()), str(MOUNT))
            conn.execute(sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(sql.Identifier(tablespace),
                                                                            sql.Literal(str(MOUNT))))
            conn.execute(sql.SQL("ALTER TABLE sites SET TABLESPACE {}").format(sql.Identifier(tablespace)))
            for (index,) in conn.execute("SELECT indexrelid::regclass::text FROM pg_index "
                                         "WHERE indrelid = 'sites'::regclass").fetchall():
                conn.execute(sql.SQL("ALTER INDEX {} SET TABLESPACE {}").format(sql.Identifier(index),
                                                                              sql.Identifier(tablespace)))
        yield own_url
    finally:
        with psycopg.connect(plain(own_url), autocommit=True) as conn:
            conn.execute("ALTER TABLE sites SET TABLESPACE pg_default")
            for (index,) in conn.execute("SELECT indexrelid::regclass::text FROM pg_index "
                                         "WHERE indrelid = 'sites'::regclass").fetchall():
                conn.execute(sql.SQL("ALTER INDEX {} SET TABLESPACE pg_default").format(sql.Identifier(index)))
        drop(own_url, DB)
        with psycopg.connect(plain(own_url, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(tablespace)))
        as_root("umount", str(MOUNT))
        MOUNT.rmdir()


def _server_uid() -> int:
    """Return the user id the test cluster's server runs as (the owner of its data folder)."""
    from conftest import test_data_dir

    return (test_data_dir()).stat().st_uid if not os.environ.get("TEST_DATABASE_URL") else os.geteuid()


def big_file(path: Path, rows: int, text_bytes: int) -> Path:
    """Write a GeoJSON of `rows` new heritage sites, each with a description of random (incompressible) text."""
    rng = random.Random(13)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-8.9 + i % 100 * 0.001,
                                                                                    30.45 + i // 100 * 0.0001]},
                 "properties": {"slug": f"imported-{i}", "name_en": f"Imported {i}", "kind": "heritage",
                                "category": "gate", "coord_confidence": "medium",
                                "sources": ["https://example.org/import"],
                                "description_en": "".join(rng.choices(string.ascii_letters, k=text_bytes))}}
                for i in range(rows)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def sites_fingerprint(url: str) -> tuple:
    with psycopg.connect(plain(url)) as conn:
        return conn.execute("SELECT count(*), md5(string_agg(s::text, ',' ORDER BY s.id)) FROM sites s").fetchone()


def run_import(url: str, file: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "HERITAGE_MAP_AUTO_SETUP": "0"}
    env.pop("SECRET_KEY", None)
    return subprocess.Popen([str(HERITAGE_MAP), "import", str(file), "--layer", "sites"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_import_that_fills_the_disk_says_so_writes_nothing_and_the_database_serves(full_disk, tmp_path):
    before = sites_fingerprint(full_disk)
    file = big_file(tmp_path / "big.geojson", rows=3000, text_bytes=2000)  # some 6 MB of text: past the 4 MB
    proc = run_import(full_disk, file)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, out + err
    assert err.splitlines()[-1].startswith("Error: the database server ran out of disk space during the import (could not extend "
                          "file"), err
    assert "No space left on device" in err
    assert "nothing was imported: make room on the server, then run the import again" in err
    assert sites_fingerprint(full_disk) == before
    with psycopg.connect(plain(full_disk)) as conn:  # still serves: reads need no room
        assert conn.execute("SELECT count(*) FROM sites WHERE slug LIKE 'imported-%'").fetchone() == (0,)
        assert conn.execute("SELECT name_en FROM sites WHERE slug = 'bab-el-kasbah'").fetchone() == ("Kasbah Gate (Bab Silsila)",)
    as_root("mount", "-o", "remount,size=64m", str(MOUNT))  # room made, as the message asks; no restart
    small = big_file(tmp_path / "small.geojson", rows=3, text_bytes=100)
    proc = run_import(full_disk, small)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "wrote 3 new" in out


def test_an_import_whose_session_is_ended_mid_write_says_to_retry_and_writes_nothing(own_url, tmp_path):
    before = sites_fingerprint(own_url)
    file = big_file(tmp_path / "big.geojson", rows=3000, text_bytes=50)
    named = make_url(own_url).update_query_dict({"application_name": "import-under-test"})
    proc = run_import(named.render_as_string(hide_password=False), file)
    with psycopg.connect(plain(own_url), autocommit=True) as watcher:
        deadline, killed = time.monotonic() + 300, False
        while not killed and time.monotonic() < deadline and proc.poll() is None:
            # The import's session once it has written: it holds a transaction id.
            pids = [pid for (pid,) in watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'import-under-test' "
                "AND backend_xid IS NOT NULL").fetchall()]
            if pids:
                time.sleep(0.2)  # some rows in
                killed = watcher.execute("SELECT pg_terminate_backend(%s)", [pids[0]]).fetchone()[0]
            time.sleep(0.02)
    out, err = proc.communicate(timeout=300)
    assert killed, f"the import finished before it could be stopped: {out}"
    assert proc.returncode == 1, out + err
    assert err.splitlines()[-1].startswith("Error: the connection to the database was lost during the import (terminating "
                          "connection due to administrator command); nothing was imported: run the import again "
                          "once the database is back"), err
    assert sites_fingerprint(own_url) == before
    proc = run_import(own_url, file)  # the retry the message asks for
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "wrote 3000 new" in out

