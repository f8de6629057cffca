"""Pages for people: the map, the planner, index pages with filters, record pages and the forum sessions."""

from __future__ import annotations

import io
import json

import folium
import segno
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from geoalchemy2.shape import to_shape

from .. import db, i18n, params
from ..api.views import filters_of, search_query, search_urls
from ..catalogue import layers, queries, search, vocab
from ..events import queries as events
from ..photos import queries as photos
from ..planning import questions
from ..security import csp_nonce
from ..urls import record_url
from . import labels, maps, offline
from .assets import static_url
from .sources import map_sources

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


def association_choices() -> list[tuple[str, str]]:
    """Return (slug, name) of the published associations, for the association filter."""
    return [(a.slug, i18n.localized(a, "name")) for a in queries.published_associations(db.session())]


def index_page(layer: str) -> str:
    """Render a layer's index page (templates/web/<layer>.html) with its filters from the query string."""
    chosen = filters_for(layer)
    records = queries.list_records(db.session(), layer, **chosen)
    choices = association_choices()
    # Every filter the registry declares for the layer, with its choices, as the map's panel has them.
    filters = [(f.name, _(f.label or f.name), maps.filter_options(f, choices)) for f in layers.get(layer).filters]
    return render_template(f"web/{layer}.html", **{layer: records}, chosen=chosen, vocab=vocab, filters=filters)


@bp.get("/")
def index():
    """The full-window map of every published layer."""
    sources = map_sources(db.session(), current_app.config["MAP_TILES_ABOVE"])
    parts = maps.render_parts(explorer_map(basemap(), sources), csp_nonce())
    return render_template("web/map.html", map=parts)


def explorer_map(chosen_basemap: maps.Basemap, sources: dict) -> folium.Map:
    """Return the map page's map, with its search box and filter panel: the page and the offline shell's scripts."""
    search_box = maps.search_box(url_for("api.search_records"), url_for("web.search_page"))
    filters = maps.map_filters(association_choices())
    return maps.explorer(chosen_basemap, sources, static_url, photos=url_for("photos.api"),
                         search=search_box, filters=filters)


@bp.get("/search")
def search_page():
    """Search results for people: records whose names or descriptions match `q`, best first."""
    params.known_only(request.args, {"q"})
    q = search_query(required=False)
    results = search.search(db.session(), q, search_urls(), limit=search.MAX_RESULTS) if q else []
    return render_template("web/search.html", q=q or "", results=results)


@bp.get("/sites")
def sites():
    """Index of published sites, filtered by kind and category."""
    return index_page("sites")


# What lies "near here": within an easy walk.
WALKING_DISTANCE_M = 1000


def nearby(slug: str, geom) -> list[dict]:
    """Return the other published sites within walking distance of a site's geometry, nearest first."""
    point = to_shape(geom).representative_point()
    answer = json.loads(questions.near(db.session(), "sites", point, WALKING_DISTANCE_M, record_url("sites")))
    return [f["properties"] for f in answer["features"] if f["properties"]["slug"] != slug]


@bp.get("/sites/<slug:slug>")
def site(slug: str):
    """One site, with the projects and associations caring for it, what lies near it and its QR code."""
    record = queries.get_site(db.session(), slug)
    return render_template("web/site.html", site=record, carers=queries.site_associations(record),
                           category=vocab.CATEGORIES[record.category], map=record_map("sites", slug),
                           events=events.public(db.session(), site_id=record.id),
                           photos=photos.public(db.session(), site_id=record.id),
                           nearby=nearby(slug, record.geom), walking_m=WALKING_DISTANCE_M)


@bp.get("/near")
def near_here():
    """Near here: what lies within walking distance of the person's position (asked of the browser)."""
    return render_template("web/near.html", api=url_for("planning.near"), walking_m=WALKING_DISTANCE_M)


QR_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


@bp.get("/sites/<slug:slug>/qr.png", defaults={"fmt": "png"})
@bp.get("/sites/<slug:slug>/qr.svg", defaults={"fmt": "svg"})
def site_qr(slug: str, fmt: str):
    """A printable QR code of the site page's absolute URL, for a plaque on the ground."""
    queries.get_site(db.session(), slug)  # a 404 for a site that is not public
    code = segno.make(url_for("web.site", slug=slug, _external=True), error="m")
    out = io.BytesIO()
    # Ten pixels a module: about 3 cm wide at 300 dpi, scanned from arm's length.
    code.save(out, kind=fmt, scale=10, border=4, **({"title": f"QR code: {slug}"} if fmt == "svg" else {}))
    response = Response(out.getvalue(), mimetype=QR_TYPES[fmt])
    response.headers["Content-Disposition"] = f'inline; filename="{slug}-qr.{fmt}"'
    return response


@bp.get("/at-risk")
def at_risk():
    """Heritage at risk: sites in poor condition or under threat, who cares for them, and a call to act."""
    session = db.session()
    sites = queries.sites_at_risk(session)
    text = queries.at_risk_geojson(session, record_url("sites"))
    risk_map = maps.render_parts(maps.record_map(basemap(), "sites", text, static_url), csp_nonce()) if sites else None
    cared = {s.slug: [p for p in s.projects if p.publication_status == "published"] for s in sites}
    orphans = [s for s in sites if not cared[s.slug]]
    return render_template("web/at_risk.html", sites=sites, cared=cared, orphans=orphans, map=risk_map)


@bp.get("/associations")
def associations():
    """Index of published associations, filtered by theme."""
    return index_page("associations")


@bp.get("/associations/<slug:slug>")
def association(slug: str):
    """One association, with its projects."""
    record = queries.get_association(db.session(), slug)
    return render_template("web/association.html", association=record, map=record_map("associations", slug),
                           events=events.public(db.session(), association_id=record.id))


@bp.get("/projects")
def projects():
    """Index of published projects, filtered by status and theme."""
    return index_page("projects")


@bp.get("/projects/<slug:slug>")
def project(slug: str):
    """One project, with its sites, associations and forum session."""
    record = queries.get_project(db.session(), slug)
    return render_template("web/project.html", project=record, map=record_map("projects", slug),
                           photos=photos.public(db.session(), project_id=record.id))


@bp.get("/forum")
def forum():
    """The sessions of the Taroudant associations forum and the projects born of them."""
    return render_template("web/forum.html", sessions=queries.forum_sessions(db.session()))


@bp.get("/sw.js")
def service_worker():
    """The service worker that keeps the map, its data and the visited pages for use offline."""
    body, tag = offline.script(static_url, explorer_map)
    # no-cache: browsers check it at each visit, and a new release (new static versions) installs at once.
    response = Response(body, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})
    response.set_etag(tag)
    return response.make_conditional(request)
