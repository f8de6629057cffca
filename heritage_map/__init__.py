"""Taroudant Heritage Map: a web GIS of Taroudant's heritage and environmental sites."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter

from .config import STATIC_DIR, TEMPLATES_DIR, from_env, secret_key
from .language_urls import App


class SlugConverter(BaseConverter):
    """Match record slugs only, so anything else in a record URL is a plain 404."""

    regex = r"[a-z0-9]+(?:-[a-z0-9]+){0,40}"


def create_app(test_config: dict | None = None, *, engine=None) -> Flask:
    """Create the app; `test_config` overrides settings and `engine` skips database set-up."""
    # App: Flask whose static URLs stay the same under /ar, /fr and /en (language_urls.py).
    app = App(__name__, instance_relative_config=True, template_folder=str(TEMPLATES_DIR),
              static_folder=str(STATIC_DIR))
    app.config.from_mapping(from_env(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    # Before the database: a server without a key fails as it starts, not at its first request.
    app.config["SECRET_KEY"] = secret_key(app.config, app.instance_path)

    from . import compression, db, errors, i18n, limits, ogc, security, static_files
    from .accounts import auth
    from .accounts.people import bp as people_bp
    from .accounts.views import bp as accounts_bp
    from .api.views import bp as api_bp
    from .events.views import bp as events_bp
    from .photos import views as photos
    from .editing.views import bp as editing_bp
    from .planning.views import bp as planning_bp
    from .trails.views import bp as trails_bp
    from .web.views import bp as web_bp

    app.url_map.converters["slug"] = SlugConverter

    errors.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    compression.init_app(app)
    static_files.init_app(app)
    db.init_app(app, engine)
    limits.init_app(app)
    auth.init_app(app)
    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(planning_bp)
    app.register_blueprint(trails_bp)
    # The planner's POSTs ask questions and change nothing; no session, so no CSRF to forge.
    auth.csrf.exempt(planning_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(events_bp)
    photos.init_app(app)
    app.register_blueprint(people_bp)
    app.register_blueprint(editing_bp)
    app.register_blueprint(ogc.bp)
    return app
