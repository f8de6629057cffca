"""Back up and restore the database and the uploaded files as one tar file, checked before it is trusted.

The file holds `manifest.json` (what it is and the sha256 of every other member), `database.dump`
(pg_dump's custom format) and `files/` (the uploads folder as it was). Restore checks it all before
it touches anything, then replaces the data in one transaction and the folder in one rename.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import psycopg
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from .accounts import models as _accounts  # noqa: F401 (accounts are records too: their tables join Base's)
from .events import models as _events  # noqa: F401 (events and photos are records too)
from .photos import models as _photos  # noqa: F401
from .editing import models as _editing  # noqa: F401 (reviews and revisions too)
from .catalogue.models import Base
from .config import normalize_url
from .errors import HeritageMapError

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
FILES = "files"
# The tables of the app, not PostGIS's: its extension's members (spatial_ref_sys) are left out.
APP_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e')
    ORDER BY c.relname"""


RECORD_TABLES = frozenset(table.name for table in Base.metadata.sorted_tables)


class BackupError(HeritageMapError):
    """A backup cannot be made, or a backup file is refused."""

    status = 400
    code = "InvalidBackup"


def backup(url: str, file: str | Path, uploads_dir: str | Path, bindir: Path | None = None) -> dict:
    """Write the database at `url` and the files of `uploads_dir` to the tar `file`; return its manifest."""
    file, uploads = Path(file), Path(uploads_dir)
    if not file.absolute().parent.is_dir():
        raise BackupError(f"cannot write {file}: there is no folder {file.absolute().parent}")
    conninfo, env = libpq(url)
    tools = bindir or client_bindir()
    work = Path(tempfile.mkdtemp(prefix=".heritage-map-backup-", dir=file.parent.absolute()))
    try:
        # The counts and the dump read one snapshot, so the manifest describes exactly what was dumped.
        with psycopg.connect(conninfo, **_password(env)) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            server = _check_client(conn, tools)
            manifest = {"format": FORMAT, "app_version": _app_version(),
                        "alembic_revision": _revision(conn), "created": _now(),
                        "postgresql": conn.execute("SHOW server_version").fetchone()[0],
                        "extensions": dict(conn.execute("SELECT extname, extversion FROM pg_extension "
                                                        "WHERE extname <> 'plpgsql' ORDER BY 1").fetchall()),
                        "rows": _row_counts(conn)}
            _run(tools / "pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={work / DUMP}",
                 f"--dbname={conninfo}", env=env, what=f"pg_dump (PostgreSQL {server})")
        members = {DUMP: work / DUMP, **{f"{FILES}/{p.relative_to(uploads).as_posix()}": p
                                         for p in sorted(uploads.rglob("*")) if p.is_file() and not p.is_symlink()}}
        manifest["sha256"] = {name: _sha256(path) for name, path in members.items()}
        partial = work / "backup.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
            for name, path in members.items():
                tar.add(path, arcname=name, recursive=False)
        # Renamed into place whole: a backup cut short never leaves a file that looks like one.
        os.replace(partial, file)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def restore(url: str, file: str | Path, uploads_dir: str | Path, bindir: Path | None = None,
            yes: bool = False) -> dict:
    """Replace the database at `url` and the files of `uploads_dir` with the backup `file`; return its manifest."""
    from .db import ensure_postgis, make_engine, upgrade

    file, uploads = Path(file), Path(uploads_dir)
    conninfo, env = libpq(url)
    tools = bindir or client_bindir()
    manifest = check(file)
    with psycopg.connect(conninfo, **_password(env)) as conn:
        _check_client(conn, tools)
        # Records are the rows of the models' tables, not bookkeeping (alembic_version, layer_versions,
        # rate_counts, tile_clusters).
        held = sum(n for table, n in _row_counts(conn).items() if table in RECORD_TABLES)
    if held and not yes:
        raise BackupError(f"the database holds {held} records, which the restore would replace; "
                          "run it again with --yes to confirm")
    # Beside the uploads folder, on the same file system, so that putting it in place is one rename.
    staged = uploads.absolute().with_name(f".{uploads.name}-restore-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix=".heritage-map-restore-", dir=staged.parent))
    try:
        _extract(file, work, staged)
        engine = make_engine(url)
        try:
            ensure_postgis(engine)
            _create_extensions(conninfo, env, manifest)
            listing = _run(tools / "pg_restore", "--list", str(work / DUMP), env=env, what="pg_restore --list")
            # The target has its own PostGIS: recreating the extension needs a superuser, and
            # dropping it would take every spatial object of the database with it.
            (work / "list").write_text("\n".join(line for line in listing.splitlines() if _restorable(line)))
            _run(tools / "pg_restore", "--clean", "--if-exists", "--no-owner", f"--use-list={work / 'list'}",
                 f"--file={work / 'restore.sql'}", str(work / DUMP), env=env, what="pg_restore --file")
            # The app's tables go first, in the restore's own transaction: a table the backup lacks (one a
            # newer migration made, with a key on one it has) would stop pg_restore's --clean, and the
            # migrations make it again. One DROP for all of them, without CASCADE: an object that is not
            # the app's and depends on one of them stops the restore rather than vanishing with it.
            (work / "drop.sql").write_text(_drop_app_tables(conninfo, env))
            _run(tools / "psql", "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1",
                 f"--file={work / 'drop.sql'}", f"--file={work / 'restore.sql'}", f"--dbname={conninfo}",
                 env=env, what="pg_restore (nothing was changed)")
            try:
                upgrade(engine)  # a backup made by older code is brought up to this code's schema
            except DBAPIError as exc:
                raise BackupError(f"the backup's records were restored at revision {manifest['alembic_revision']}"
                                  f" but migrating them failed, and the uploaded files were left as they were: "
                                  f"{str(exc.orig).splitlines()[0]}", status=500, code="ServerError") from None
        finally:
            engine.dispose()
        _swap(staged, uploads)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staged, ignore_errors=True)
    return manifest


def check(file: Path) -> dict:
    """Return the manifest of the backup `file` once its members, checksums and revision are found sound."""
    try:
        with tarfile.open(file, "r:") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member)
            names = [m.name for m in members if m.isfile()]
            if names.count(MANIFEST) != 1 or names.count(DUMP) != 1:
                raise BackupError(f"{file} is not a heritage-map backup: it needs one {MANIFEST} and one {DUMP}")
            manifest = json.load(tar.extractfile(MANIFEST))
            if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), dict):
                raise BackupError(f"{file}: {MANIFEST} is not a backup manifest")
            if manifest.get("format") != FORMAT:
                raise BackupError(f"{file} is a backup of format {manifest.get('format')!r}; this version of "
                                  f"heritage-map reads format {FORMAT}")
            listed = set(manifest["sha256"])
            if listed != set(names) - {MANIFEST}:
                raise BackupError(f"{file}: its members do not match its manifest (missing or added: "
                                  f"{', '.join(sorted(listed ^ (set(names) - {MANIFEST})))})")
            for member in members:
                if member.isfile() and member.name != MANIFEST:
                    digest = _sha256_stream(tar.extractfile(member))
                    if digest != manifest["sha256"][member.name]:
                        raise BackupError(f"{file}: {member.name} is damaged (its checksum differs from the "
                                          "manifest's); nothing was restored")
    except OSError as exc:
        raise BackupError(f"cannot read {file}: {exc.strerror or exc}") from None
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError, EOFError) as exc:
        raise BackupError(f"{file} is not a readable backup: {exc}") from None
    _check_revision(manifest.get("alembic_revision"), file)
    return manifest


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """Return `url` as a libpq connection string without its password, and the environment carrying it."""
    parsed = make_url(normalize_url(url))
    password = parsed.password
    plain = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = {**os.environ}
    if password is not None:
        env["PGPASSWORD"] = password  # in the environment: a command line is visible to every local user
    return make_conninfo(**conninfo_to_dict(plain)), env


def client_bindir() -> Path:
    """Return the newest installed PostgreSQL bin folder that has pg_dump and pg_restore."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "pg_dump").exists()]
    if found:
        return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    on_path = shutil.which("pg_dump")
    if on_path:
        return Path(on_path).parent
    raise BackupError("pg_dump is not installed: install the Debian package postgresql-client", status=503)


def _check_client(conn: psycopg.Connection, tools: Path) -> str:
    """Return the server's version, or raise when pg_dump and pg_restore in `tools` are older than it."""
    server = conn.info.server_version // 10000
    client = 0
    if (tools / "pg_dump").exists():
        out = subprocess.run([str(tools / "pg_dump"), "--version"], capture_output=True, text=True)
        client = int(out.stdout.split()[-1].split(".")[0]) if out.returncode == 0 else 0
    if client < server:
        raise BackupError(f"the database server is PostgreSQL {server}, newer than pg_dump in {tools} "
                          f"({client or 'missing'}), which cannot read it; install postgresql-client-{server}",
                          status=503)
    return str(server)


def _check_revision(revision: str | None, file: Path) -> None:
    """Refuse a backup whose schema revision this code does not know (made by newer code)."""
    from .db import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    try:
        known = revision is None or script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"{file} was made at database revision {revision}, newer than this code knows "
                          f"(up to {script.get_current_head()}); restore it with the heritage-map that made it")


def _check_member(member: tarfile.TarInfo) -> None:
    """Refuse a member that is a link or device, or whose path would land outside the restore folder."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or "\\" in member.name or not path.parts:
        raise BackupError(f"the backup's member {member.name!r} points outside its folder; nothing was restored")
    if not (member.isfile() or member.isdir()):
        raise BackupError(f"the backup's member {member.name!r} is a link or a special file; nothing was restored")
    if member.name not in (MANIFEST, DUMP) and path.parts[0] != FILES:
        raise BackupError(f"the backup's member {member.name!r} is unexpected (a backup holds {MANIFEST}, "
                          f"{DUMP} and {FILES}/); nothing was restored")


def _extract(file: Path, work: Path, staged: Path) -> None:
    """Write the dump to `work` and the uploaded files to `staged`; members were checked already."""
    with tarfile.open(file, "r:") as tar:
        for member in tar.getmembers():
            if not member.isfile() or member.name == MANIFEST:
                continue
            target = work / DUMP if member.name == DUMP else staged.joinpath(*PurePosixPath(member.name).parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def _swap(staged: Path, uploads: Path) -> None:
    """Put the staged folder where the uploads folder is, by renames, and delete the old one."""
    old = None
    if uploads.exists():
        old = uploads.with_name(f".{uploads.name}-old-{os.getpid()}")
        os.replace(uploads, old)
    os.replace(staged, uploads)
    if old is not None:
        shutil.rmtree(old)


def _restorable(line: str) -> bool:
    """Tell whether a `pg_restore --list` entry is to be restored: all but PostGIS's own objects."""
    fields = line.split()
    if line.startswith(";") or len(fields) < 4:
        return True
    kind = " ".join(fields[3:5])
    return not (fields[3] == "EXTENSION" or kind == "COMMENT -" and "EXTENSION" in fields
                or kind == "TABLE DATA" and fields[5:7] == ["public", "spatial_ref_sys"])


def _drop_app_tables(conninfo: str, env: dict[str, str]) -> str:
    """Return the SQL that drops every table of the app in the database (none of PostGIS's)."""
    with psycopg.connect(conninfo, **_password(env)) as conn:
        tables = [row[0] for row in conn.execute(APP_TABLES).fetchall()]
        if not tables:
            return ""
        names = sql.SQL(", ").join(sql.Identifier("public", t) for t in tables)
        # search_path empty as in pg_restore's script, so that an error names objects with their schema.
        return (sql.SQL("SELECT pg_catalog.set_config('search_path', '', false);\nDROP TABLE {};\n")
                .format(names).as_string(conn))


def _create_extensions(conninfo: str, env: dict[str, str], manifest: dict) -> None:
    """Create the extensions the backup's database had, which the restore leaves out."""
    with psycopg.connect(conninfo, autocommit=True, **_password(env)) as conn:
        for name in manifest.get("extensions", {}):
            try:
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
            except psycopg.Error as exc:
                raise BackupError(f"the backup's database used the extension {name}, which cannot be created "
                                  f"here: {str(exc).splitlines()[0]}", status=503) from None


def _row_counts(conn: psycopg.Connection, skip: set[str] = frozenset()) -> dict[str, int]:
    """Return how many rows each of the app's tables holds."""
    tables = [row[0] for row in conn.execute(APP_TABLES).fetchall() if row[0] not in skip]
    return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
            for t in tables}


def _revision(conn: psycopg.Connection) -> str | None:
    """Return the database's Alembic revision, or None before the first migration."""
    if conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _run(program: Path, *args: str, env: dict[str, str], what: str) -> str:
    """Run a PostgreSQL client program; return its output or raise with the end of what it said."""
    try:
        out = subprocess.run([str(program), *args], capture_output=True, text=True, env=env)
    except FileNotFoundError:
        raise BackupError(f"{program} is not installed: install the Debian package postgresql-client",
                          status=503) from None
    if out.returncode != 0:
        raise BackupError(f"{what} failed: {out.stderr.strip()[-800:]}", status=500, code="ServerError")
    return out.stdout


def _password(env: dict[str, str]) -> dict[str, str]:
    return {"password": env["PGPASSWORD"]} if "PGPASSWORD" in env else {}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(datetime.now().timestamp()), 0o644
    tar.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    with open(path, "rb") as src:
        return _sha256_stream(src)


def _sha256_stream(src) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: src.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("heritage_map")
    except PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
