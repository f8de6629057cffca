"""The `heritage-map` command: serve, db, seed, import, export, user, association."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from sqlalchemy.orm import Session

from . import create_app
from .catalogue import layers
from .config import from_env
from .devdb.cluster import Cluster
from .errors import DatabaseUnavailable, DiskFull, HeritageMapError

EXPORT_LAYERS = tuple(layers.LAYERS)


def settings() -> dict:
    """Read the settings the way the app does, without starting anything."""
    return from_env(Flask("heritage_map", instance_relative_config=True).instance_path)


def cluster() -> Cluster:
    """Return the embedded cluster, refusing when DATABASE_URL points elsewhere."""
    config = settings()
    if config["DATABASE_URL"]:
        raise click.ClickException("DATABASE_URL is set: the embedded cluster is not used, so there is nothing to "
                                   "start or stop here")
    return Cluster(config["DATA_DIR"])


def command_app(setup: bool = True):
    """Create the app (starting the embedded cluster, and setting up an empty database, if needed); return it and its engine."""
    from .db import engine

    # These commands serve no page and sign nothing, so they need no SECRET_KEY; and the person at the
    # command line chose their work, so no statement timeout (an import of 100,000 rows takes minutes).
    app = create_app({"AUTO_SETUP": setup and settings()["AUTO_SETUP"], "SECRET_KEY_REQUIRED": False,
                      "STATEMENT_TIMEOUT": 0})
    with app.app_context():
        eng = engine()
    # A command is one unit of work: close the pool when it ends.
    click.get_current_context().call_on_close(eng.dispose)
    return app, eng


def app_engine(setup: bool = True):
    """Create the app as command_app does; return its engine."""
    return command_app(setup)[1]


class Group(click.Group):
    """Turn the app's own errors into one clear CLI message and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HeritageMapError as exc:
            raise click.ClickException(exc.message) from exc


@click.group(cls=Group)
def main() -> None:
    """Taroudant Heritage Map: a web GIS of Taroudant's heritage and environmental sites."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the map (on the embedded database unless DATABASE_URL is set)."""
    app = create_app()
    click.echo(f"Taroudant Heritage Map on http://{host}:{port}/")
    app.run(host=host, port=port, threaded=True)


@main.group(cls=Group)
def db() -> None:
    """Manage the database (the embedded cluster, or DATABASE_URL for upgrade and reset)."""


@db.command()
def start() -> None:
    """Start the embedded cluster (creating it and the database if needed)."""
    c = cluster()
    c.ensure_database()
    click.echo(c.status())


@db.command()
def stop() -> None:
    """Stop the embedded cluster."""
    c = cluster()
    c.stop()
    click.echo(c.status())


@db.command()
def status() -> None:
    """Say whether the embedded cluster runs, and where."""
    config = settings()
    if config["DATABASE_URL"]:
        click.echo("using DATABASE_URL (the embedded cluster is not used)")
        return
    click.echo(Cluster(config["DATA_DIR"]).status())


@db.command()
def upgrade() -> None:
    """Apply the database migrations."""
    from .db import upgrade as apply

    apply(app_engine(setup=False))
    click.echo("database is up to date")


@db.command()
def optimize() -> None:
    """Order each table's rows by place on the map (CLUSTER on the spatial index), then VACUUM ANALYZE it."""
    from .db import optimize as run

    for table in run(app_engine(setup=False)):
        click.echo(f"{table}: clustered on its spatial index, vacuumed and analysed")


@db.command()
@click.option("--yes", is_flag=True, help="confirm that every record is to be deleted")
@click.option("--no-samples", is_flag=True, help="reload the seed without the invented examples")
def reset(yes: bool, no_samples: bool) -> None:
    """Delete every record, rebuild the schema and load the seed data again."""
    from .db import alembic_config
    from .transfer.seed import seed as load

    if not yes:
        raise click.ClickException("db reset deletes every record; run it again with --yes to confirm")
    engine = app_engine(setup=False)
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
        command.upgrade(alembic_config(conn), "head")
    with Session(engine) as session, session.begin():
        reports = load(session, Path(settings()["GEODATA_DIR"]), samples=not no_samples)
    for report in reports:
        click.echo(report.summary())


def backup_target() -> tuple[str, Path | None]:
    """Return the database URL to back up or restore, and the bin folder of its matching pg_dump (if known)."""
    config = settings()
    if config["DATABASE_URL"]:
        return config["DATABASE_URL"], None  # backup.py picks the newest client installed
    c = Cluster(config["DATA_DIR"])
    return c.ensure_database(), c.bindir


@db.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def backup(file: str) -> None:
    """Save the database and the uploaded files to FILE (a tar: pg_dump custom format, files, manifest)."""
    from . import backup as backups

    url, bindir = backup_target()
    manifest = backups.backup(url, file, settings()["UPLOADS_DIR"], bindir)
    files = sum(1 for name in manifest["sha256"] if name.startswith(f"{backups.FILES}/"))
    revision = f"revision {manifest['alembic_revision']}" if manifest["alembic_revision"] else "no migration yet"
    click.echo(f"wrote {file}: {sum(manifest['rows'].values())} rows in {len(manifest['rows'])} tables at "
               f"{revision}, {files} uploaded files")


@db.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="confirm that the records in the database are to be replaced")
def restore(file: str, yes: bool) -> None:
    """Replace the database and the uploaded files with the backup FILE, then apply newer migrations."""
    from . import backup as backups

    url, bindir = backup_target()
    manifest = backups.restore(url, file, settings()["UPLOADS_DIR"], bindir, yes=yes)
    click.echo(f"restored {file} (made {manifest['created']} at revision {manifest['alembic_revision']}): "
               f"{sum(manifest['rows'].values())} rows; database is up to date")


@main.command()
@click.option("--no-samples", is_flag=True, help="leave out (and remove) the records flagged as invented examples")
def seed(no_samples: bool) -> None:
    """Load or refresh the shipped seed data (geodata/)."""
    from .transfer.seed import seed as load

    engine = app_engine()
    with Session(engine) as session, session.begin():
        reports = load(session, Path(settings()["GEODATA_DIR"]), samples=not no_samples)
    for report in reports:
        click.echo(report.summary())


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--layer", required=True, type=click.Choice(EXPORT_LAYERS))
@click.option("--crs", help="CRS of a CSV's coordinates (default EPSG:4326); other formats say their own")
@click.option("--dry-run", is_flag=True, help="check and report, write nothing")
@click.option("--skip-invalid", is_flag=True, help="import the valid rows even if some are rejected")
def import_(file: str, layer: str, crs: str | None, dry_run: bool, skip_invalid: bool) -> None:
    """Import FILE (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV) into a layer, reprojected to EPSG:4326."""
    from .transfer.files import ImportFailed
    from .transfer.imports import import_layer

    engine = app_engine()
    try:
        with Session(engine) as session, session.begin():
            report = import_layer(session, file, layer, crs=crs, dry_run=dry_run, skip_invalid=skip_invalid)
    except ImportFailed as exc:
        if exc.report is not None:
            click.echo(exc.report.summary(), err=True)
        raise click.ClickException(exc.message) from exc
    # The import is one transaction: what the server had of it when it failed is rolled back.
    except DiskFull as exc:
        raise click.ClickException(f"the database server ran out of disk space during the import ({exc.reason}); "
                                   "nothing was imported: make room on the server, then run the import again") \
            from exc
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"the connection to the database was lost during the import ({exc.reason}); "
                                   "nothing was imported: run the import again once the database is back") from exc
    click.echo(report.summary())


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--layer", required=True, type=click.Choice(EXPORT_LAYERS))
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "shp", "csv", "kml"]),
              help="default: from FILE's extension")
@click.option("--crs", default="EPSG:4326", show_default=True, help="output CRS, e.g. EPSG:26192 (Merchich / Sud Maroc)")
def export(file: str, layer: str, fmt: str | None, crs: str) -> None:
    """Export a layer's published records to FILE."""
    from .transfer.exports import export_layer
    from .transfer.files import format_for

    engine = app_engine()
    with Session(engine) as session:
        path = export_layer(session, layer, fmt or format_for(file), file, crs=crs)
    click.echo(f"wrote {path}")


from .accounts.commands import association, user  # noqa: E402 (they call back into command_app)

main.add_command(user)
main.add_command(association)
