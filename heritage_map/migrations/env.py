"""Alembic environment: runs on the connection the app hands over, or on DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine

from heritage_map.config import normalize_url
from heritage_map.accounts import models as _accounts  # noqa: F401 (its tables join Base's metadata)
from heritage_map.events import models as _events  # noqa: F401 (events and photos are records too)
from heritage_map.photos import models as _photos  # noqa: F401
from heritage_map.editing import models as _editing  # noqa: F401 (its tables join Base's metadata)
from heritage_map.catalogue.models import Base


def include_object(obj, name, type_, reflected, compare_to):
    """Leave PostGIS's own tables (spatial_ref_sys and friends) out of autogenerate."""
    return not (type_ == "table" and reflected and compare_to is None)


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        import os

        engine = create_engine(normalize_url(os.environ["DATABASE_URL"]))
        with engine.begin() as conn:
            _migrate(conn)
    else:
        _migrate(connection)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


run()
