"""Pages for people: the map, the planner, index pages with filters, record pages and the forum sessions."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from .. import db, i18n, params
from ..api.views import filters_of
from ..catalogue import layers, queries, vocab
from ..security import csp_nonce
from ..urls import record_url
from . import labels, maps
from .assets import static_url

bp = Blueprint("web", __name__)
# Every template names a record the same way: {{ site|localized("name") }}.
bp.add_app_template_filter(i18n.localized, "localized")
# Vocabulary values as people read them: {{ site.condition|label("condition") }}.
bp.add_app_template_filter(labels.label, "label")
bp.add_app_template_filter(labels.join, "labels")
bp.add_app_template_filter(labels.translated, "translated")
bp.add_app_template_global(labels.labels, "vocabulary_labels")


def basemap() -> maps.Basemap:
    """Return the configured basemap."""
    return maps.Basemap.from_config(current_app.config)


def record_map(layer: str, slug: str) -> dict | None:
    """Return the rendered parts of a record's small map, or None when it has no geometry."""
    geojson_text = queries.record_geojson(db.session(), layer, slug, record_url(layer))
    if geojson_text is None:
        return None
    return maps.render_parts(maps.record_map(basemap(), layer, geojson_text, static_url), csp_nonce())


def filters_for(layer: str) -> dict:
    """Parse an index page's filters from the query string."""
    params.known_only(request.args, {f.name for f in layers.get(layer).filters})
    return filters_of(layer)


def index_page(layer: str) -> str:
    """Render a layer's index page (templates/web/<layer>.html) with its filters from the query string."""
    chosen = filters_for(layer)
    records = queries.list_records(db.session(), layer, **chosen)
    return render_template(f"web/{layer}.html", **{layer: records}, chosen=chosen, vocab=vocab)


@bp.get("/")
def index():
    """The full-window map of every published layer."""
    sources = {layer: url_for(f"api.{layer}") for layer in layers.LAYERS}
    parts = maps.render_parts(maps.explorer(basemap(), sources, static_url), csp_nonce())
    return render_template("web/map.html", map=parts)


@bp.get("/sites")
def sites():
    """Index of published sites, filtered by kind and category."""
    return index_page("sites")


@bp.get("/sites/<slug:slug>")
def site(slug: str):
    """One site, with the projects and associations caring for it."""
    record = queries.get_site(db.session(), slug)
    return render_template("web/site.html", site=record, carers=queries.site_associations(record),
                           category=vocab.CATEGORIES[record.category], map=record_map("sites", slug))


@bp.get("/associations")
def associations():
    """Index of published associations, filtered by theme."""
    return index_page("associations")


@bp.get("/associations/<slug:slug>")
def association(slug: str):
    """One association, with its projects."""
    record = queries.get_association(db.session(), slug)
    return render_template("web/association.html", association=record, map=record_map("associations", slug))


@bp.get("/projects")
def projects():
    """Index of published projects, filtered by status and theme."""
    return index_page("projects")


@bp.get("/projects/<slug:slug>")
def project(slug: str):
    """One project, with its sites, associations and forum session."""
    record = queries.get_project(db.session(), slug)
    return render_template("web/project.html", project=record, map=record_map("projects", slug))


@bp.get("/forum")
def forum():
    """The sessions of the Taroudant associations forum and the projects born of them."""
    return render_template("web/forum.html", sessions=queries.forum_sessions(db.session()))
