"""The app for production WSGI servers: `gunicorn 'heritage_map.wsgi:app'`, settings from the environment."""

from __future__ import annotations

import gc

from . import create_app

app = create_app()

# What starting made (Flask, SQLAlchemy, GeoPandas, Folium: some 170,000 objects) lives as long as
# the process. Frozen, the garbage collector stops walking it again on each full collection: that
# took 90 ms, once in about 200 town-wide pages, a sixth of their Python time.
gc.freeze()
