"""Folium map builders: the full-window explorer, the planner's map, and the small maps of a record or a report."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import folium
import shapely
import shapely.geometry
from branca.element import CssLink, JavascriptLink, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Draw, Fullscreen, LocateControl, MarkerCluster
from flask_babel import gettext as _
from jinja2 import Template

from .. import i18n
from ..security import add_nonce
from ..catalogue import layers, vocab
from .assets import localize
from .labels import LABELS, labels, translated

# Inside the walls, between Place Assarag and the Kasbah.
MEDINA_CENTRE = (30.4725, -8.8810)

# Map layers: (key, label, colour for shapes), one per view of the layer registry; the loader sorts
# features into them.
LAYERS = tuple((view.map_key, view.map_label, view.colour) for _layer, view in layers.map_views())
CLUSTERED = tuple(view.map_key for _layer, view in layers.map_views() if view.cluster)
# Which map layer a feature of each API layer goes to: the last view it matches (see layers.View).
SORTING = {layer.key: [[view.map_key, view.match] for view in layer.views if view.map_key]
           for layer in layers.LAYERS.values()}
# Folium's own viewport tag forbids zooming (user-scalable=no, maximum-scale=1), which WCAG 1.4.4 does not
# allow; the pages' base template has its own, which lets people zoom.
_FOLIUM_VIEWPORT = re.compile(r'<meta\s+name="viewport"[^>]*>\s*', re.IGNORECASE)
# The works footprint on a screening report (its label translated as the map is built).
FOOTPRINT = ("footprint", "Works footprint", "#d4007a")


class Loader(MacroElement):
    """Fill the map's layers from GeoJSON (fetched from the API, or given inline) with the static map.js."""

    _template = Template("""
{% macro script(this, kwargs) %}
HeritageMap.load({{ this._parent.get_name() }}, {
  {%- for key, name in this.groups.items() %}
  {{ key|tojson }}: {layer: {{ name }}, cluster: {{ this.clusters.get(key, 'null') }}},
  {%- endfor %}
}, {{ this.config|tojson }});
{% endmacro %}
""")

    def __init__(self, groups: dict, clusters: dict, config: dict):
        super().__init__()
        self._name = "HeritageMapLoader"
        self.groups = groups
        self.clusters = clusters
        self.config = config


class TileScripts(JSCSSMixin):
    """Link Leaflet.VectorGrid, which draws the layers that come as vector tiles (web/sources.py), after Leaflet."""

    # Folium's own name for it (plugins.VectorGridProtobuf): assets.VENDORED serves it from static/vendor.
    default_js = [("vectorGrid", "leaflet.vectorgrid")]

    def __init__(self):
        super().__init__()
        self._name = "TileScripts"


class Legend(MacroElement):
    """A legend of categories with their marker colour and icon."""

    _template = Template("""
{% macro html(this, kwargs) %}
<details class="map-legend" open>
  <summary>{{ this.strings.legend }}</summary>
  <ul>
  {%- for c in this.categories %}
    <li><span class="awesome-marker awesome-marker-icon-{{ c.color }} legend-marker"><i class="fa fa-{{ c.icon }} icon-white"></i></span>
        {{ c[this.language] }}{% if this.language != "ar" %}<span class="legend-ar" lang="ar" dir="rtl">{{ c.ar }}</span>{% endif %}</li>
  {%- endfor %}
    <li><span class="legend-line" style="border-color:#b5651d"></span> {{ this.strings.ramparts }}</li>
    <li><span class="legend-line" style="border-color:#5b3c88"></span> {{ this.strings.footprint }}</li>
    <li><span class="legend-dot" style="background:#1f5f8b"></span> {{ this.strings.seat }}</li>
  </ul>
</details>
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "Legend"
        self.categories = [vars(c) for c in vocab.CATEGORIES.values()]
        self.language = i18n.current_language().code
        self.strings = {"legend": _("Legend"), "ramparts": _("Ramparts (estimated outline)"),
                        "footprint": _("Project footprint"), "seat": _("Association seat")}


@dataclass
class Basemap:
    """Tile URL template and attribution; url 'none' means no basemap."""

    url: str
    attribution: str

    @classmethod
    def from_config(cls, config) -> Basemap:
        """Return the basemap an app config names in TILE_URL and TILE_ATTRIBUTION."""
        return cls(config["TILE_URL"], config["TILE_ATTRIBUTION"])


def _base(location, zoom: int, basemap: Basemap, **kwargs) -> folium.Map:
    """Return a map with the basemap (if any) and a scale bar."""
    # The map's own maxZoom: without a tile layer (basemap 'none') MarkerCluster throws "Map has no maxZoom".
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True, maxZoom=19, **kwargs)
    if basemap.url.lower() != "none":
        folium.TileLayer(tiles=basemap.url, attr=basemap.attribution, name=_("Basemap"), max_zoom=19).add_to(m)
    return m


def _add_loader(m: folium.Map, entries: tuple, config: dict, static_url: Callable[[str], str],
                cluster: bool = True) -> None:
    """Create the layer groups, hand them to the loader, and link map.js and map.css."""
    groups, clusters = {}, {}
    for key, label, _colour in entries:
        group = folium.FeatureGroup(name=translated(label), show=True).add_to(m)
        groups[key] = group.get_name()
        if cluster and key in CLUSTERED:
            cluster = MarkerCluster(control=False, options={"showCoverageOnHover": False,
                                                            "maxClusterRadius": 40}).add_to(group)
            clusters[key] = cluster.get_name()
    language = i18n.current_language()
    config = {**config, "categories": {c.slug: {"icon": c.icon, "color": c.color, "en": c.en, "fr": c.fr,
                                                 "ar": c.ar, "kind": c.kind,
                                                 "label": getattr(c, language.code)} for c in vocab.CATEGORIES.values()},
              "colours": {key: colour for key, _label, colour in entries}, "sorting": SORTING,
              "languages": i18n.languages(language.code), "language": language.code, "dir": language.dir,
              "locale": language.locale.replace("_", "-"), "strings": {**map_strings(), **config.get("strings", {})},
              "statuses": labels("status")}
    m.add_child(Loader(groups, clusters, config))
    root = m.get_root()
    if config.get("tiles"):  # only where a layer is drawn from vector tiles: 48 kB the others need not load
        m.add_child(TileScripts())
        root.header.add_child(JavascriptLink(static_url("web/tiles.js")), name="heritage_map_tiles_js")
    root.header.add_child(JavascriptLink(static_url("web/map.js")), name="heritage_map_js")
    root.header.add_child(CssLink(static_url("web/map.css")), name="heritage_map_css")


class SearchBox(MacroElement):
    """The map's search box (static/web/search.js): suggestions from /api/search as one types."""

    _template = Template("""
{% macro script(this, kwargs) %}
HeritageSearch.init({{ this._parent.get_name() }}, {{ this.config|tojson }});
{% endmacro %}
""")

    def __init__(self, config: dict):
        super().__init__()
        self._name = "HeritageSearch"
        self.config = config


def search_box(search_url: str, page_url: str) -> SearchBox:
    """Return the search box control, its strings in the interface language."""
    return SearchBox({"url": search_url, "page": page_url, "strings": {
        "placeholder": _("Search: a gate, a souk, باب…"), "label": _("Search the map"), "none": _("Nothing found"),
        "layers": {"sites": _("Site"), "trails": _("Trail"), "projects": _("Project"),
                   "associations": _("Association")}}})


def filter_options(f: layers.Filter, associations: list[tuple[str, str]]) -> list[list[str]]:
    """Return a filter's [value, label] choices: the vocabulary's, or the published associations'."""
    if f.values is None:
        return [[slug, name] for slug, name in associations]
    names = labels(f.column if f.column in LABELS else f.name)  # "protection" reads protection_status's labels
    return [[v, names.get(v, v.replace("_", " "))] for v in f.values]


def map_filters(associations: list[tuple[str, str]]) -> dict:
    """Return the map's filter panel: each filter the registry declares, once, and the API layers it applies to."""
    spec: dict[str, dict] = {}
    applies: dict[str, list[str]] = {}
    for layer in layers.LAYERS.values():
        for f in layer.filters:
            spec.setdefault(f.name, {"name": f.name, "label": _(f.label or f.name),
                                     "options": filter_options(f, associations)})
            applies.setdefault(f.name, []).append(layer.key)
    return {"filters": list(spec.values()), "filterLayers": applies,
            "strings": {"filters": _("Filters"), "all": _("all")}}


def explorer(basemap: Basemap, sources: dict, static_url: Callable[[str], str], photos: str | None = None,
             search: SearchBox | None = None, filters: dict | None = None) -> folium.Map:
    """Return the full-window map whose layers load from `sources` (web/sources.py: GeoJSON URLs and tilesets).

    `photos` is the URL popups ask for a record's published photos (none: popups show none); `filters`
    (map_filters) adds the filter panel and keeps the view in the URL's hash (static/web/view.js).
    """
    m = _base(MEDINA_CENTRE, 15, basemap)
    # The list view's words: map.js adds its button when it is given them.
    strings = {"list": _("List"), "title": _("Places in this view"), "count": _("%(n)s places in this view"),
               **(filters or {}).get("strings", {})}
    _add_loader(m, LAYERS, {**(filters or {}), "sources": sources["geojson"], "tiles": sources["tiles"],
                            "strings": strings, "photos": photos}, static_url)
    if filters is not None:
        m.get_root().header.add_child(JavascriptLink(static_url("web/view.js")), name="heritage_view_js")
    if search is not None:
        m.add_child(search)
        m.get_root().header.add_child(JavascriptLink(static_url("web/search.js")), name="heritage_search_js")
    Fullscreen(position="topleft", title=_("Full screen"), title_cancel=_("Exit full screen")).add_to(m)
    LocateControl(position="topleft", strings={"title": _("Show where I am")}).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(Legend())
    localize(m, static_url)
    return m


def record_map(basemap: Basemap, layer: str, geojson_text: str, static_url: Callable[[str], str]) -> folium.Map:
    """Return a small map showing one record, given as a GeoJSON FeatureCollection."""
    m = _base(MEDINA_CENTRE, 16, basemap)
    chosen = tuple(entry for entry in LAYERS if entry[0] in _record_layers(layer))
    _add_loader(m, chosen, {"inline": {layer: geojson_text}, "fit": True, "popups": False}, static_url)
    localize(m, static_url)
    return m


def _record_layers(layer: str) -> tuple[str, ...]:
    """Return the map layers that the records of an API layer may go to."""
    return tuple(key for key, _match in SORTING[layer])


class Planner(MacroElement):
    """Hand the map, its drawn-footprint group and its results group to the static planner.js."""

    _template = Template("""
{% macro script(this, kwargs) %}
HeritagePlanner.init({{ this._parent.get_name() }}, {
  drawn: {{ this.drawn }}, results: {{ this.results }}
}, {{ this.config|tojson }});
{% endmacro %}
""")

    def __init__(self, drawn: str, results: str, config: dict):
        super().__init__()
        self._name = "HeritagePlanner"
        self.drawn = drawn
        self.results = results
        self.config = config


def planner_map(basemap: Basemap, sources: dict, static_url: Callable[[str], str]) -> folium.Map:
    """Return the planner's map: every layer for context, a drawing toolbar for the footprint, a results layer."""
    m = _base(MEDINA_CENTRE, 15, basemap)
    _add_loader(m, LAYERS, {"sources": sources["geojson"], "tiles": sources["tiles"]}, static_url)
    drawn = folium.FeatureGroup(name=_("Footprint"), show=True).add_to(m)
    results = folium.FeatureGroup(name=_("Results"), show=True).add_to(m)
    Draw(feature_group=drawn, position="topleft", show_geometry_on_click=False,
         draw_options={"polygon": {"allowIntersection": False, "showArea": False},
                       "polyline": {"showLength": True}, "rectangle": {"showArea": False},
                       "marker": True, "circle": False, "circlemarker": False},
         edit_options={"poly": {"allowIntersection": False}}).add_to(m)
    Fullscreen(position="topleft", title=_("Full screen"), title_cancel=_("Exit full screen")).add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    m.add_child(Planner(drawn.get_name(), results.get_name(), {
        "categories": labels("category"), "conditions": labels("condition"),
        "protections": labels("protection_status"), "kinds": labels("kind"), "statuses": labels("status"),
        "strings": planner_strings(), "locale": i18n.current_language().locale.replace("_", "-")}))
    m.get_root().header.add_child(JavascriptLink(static_url("planning/planner.js")), name="heritage_planner_js")
    localize(m, static_url)
    return m


def report_map(basemap: Basemap, answer: dict, static_url: Callable[[str], str]) -> folium.Map:
    """Return a screening report's small map: the sites found and the footprint of a screening answer."""
    footprint = answer.get("footprint")
    m = _base(MEDINA_CENTRE, 16, basemap)
    chosen = (*(entry for entry in LAYERS if entry[0] in _record_layers("sites")), FOOTPRINT)
    shapes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": footprint, "properties": {"slug": "footprint", "name_en": _("Works footprint")}}
    ] if footprint else []}
    inline = {"sites": json.dumps(answer), "footprint": json.dumps(shapes)}
    bounds = _report_bounds(footprint, answer["features"])
    _add_loader(m, chosen, {"inline": inline, "fit": bounds is None, "popups": False}, static_url, cluster=False)
    if bounds is not None:
        m.fit_bounds(bounds, padding=(24, 24), max_zoom=17)
    localize(m, static_url)
    return m


def _report_bounds(footprint: dict | None, features: list[dict]) -> list | None:
    """Return [[south, west], [north, east]] around the footprint and the point sites found, or None.

    A long line found (the ramparts, the river) is drawn whole but does not pull the view away from the works.
    """
    points = [f["geometry"]["coordinates"] for f in features
              if f.get("geometry") and f["geometry"]["type"] == "Point"]
    if footprint:
        points.extend(shapely.get_coordinates(shapely.geometry.shape(footprint)).tolist())
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def render_parts(m: folium.Map, nonce: str) -> dict[str, str]:
    """Render a map into the header, body and script parts a page template places, nonce on inline elements.

    Folium writes <script> and <style> elements into the header; the template's own <script> around the
    script part carries the same nonce (`csp_nonce()`). Folium's viewport tag is left out (see _FOLIUM_VIEWPORT).
    """
    root = m.get_root()
    root.render()
    header = _FOLIUM_VIEWPORT.sub("", root.header.render())
    return {"header": add_nonce(header, nonce), "html": add_nonce(root.html.render(), nonce),
            "script": root.script.render()}



def map_strings() -> dict[str, str]:
    """Return the texts map.js writes (popups, zoom buttons), in the interface language."""
    return {
        "sample": _("Example — invented demo data"), "project": _("Project (%(status)s)"),
        "association": _("Association"), "estimated": _("Estimated position, not surveyed"),
        "confidence": _("Position confidence: %(level)s"), "more": _("Read more →"),
        "zoomIn": _("Zoom in"), "zoomOut": _("Zoom out"),
        "fallback": _("Not yet written in %(language)s; shown in %(original)s."),
        "languageNames": {code: str(name) for code, name in i18n.NAMES.items()},
        "tamazight": _("Tamazight"),
        "levels": {"surveyed": _("surveyed"), "high": _("high (reference source)"),
                   "medium": _("medium (one non-authoritative source)"), "low": _("low (rough or contested source)"),
                   "estimated": _("estimated by us — not surveyed")},
    }


def planner_strings() -> dict[str, str]:
    """Return the texts planner.js writes (tables, facts, messages, drawing tools), in the interface language."""
    return {
        "screening": _("Heritage impact screening"), "within": _("In the area"), "near": _("Near the point"),
        "summary": _("Summary of the sites in the area"), "name": _("Name"), "category": _("Category"),
        "protection": _("Protection status"), "condition": _("Condition"), "distance": _("Distance (m)"),
        "buffer": _("Buffer (m)"), "zoneTouched": _("Zone touched"), "overlap": _("Overlap (m²)"),
        "inside": _("Inside"), "project": _("Project (%(status)s)"), "association": _("Association"),
        "httpError": _("the server answered HTTP %(status)s"), "noFootprint": _("No footprint yet."),
        "file": _("File: %(name)s"), "drawn": _("Drawn %(shape)s."), "point": _("Point: %(lon)s, %(lat)s."),
        "polygon": _("polygon"), "line": _("line"), "pointShape": _("point"),
        "reading": _("Reading %(name)s…"), "choosePoint": _("Click the map (or draw a marker) to choose the point "
                                                             "to search around."),
        "drawFirst": _("Draw a footprint on the map or upload a file first."), "asking": _("Asking…"),
        "preparing": _("Preparing the %(format)s file…"),
        "stillReading": _("The uploaded file is still being read, or could not be read."),
        "touched": _("Protection zone touched"), "withinDistance": _("Within the distance"),
        "away": _("%(distance)s m away"), "wholly": _("Wholly inside"), "partly": _("Partly inside"),
        "footprint": _("Footprint"), "zonesTouched": _("Protection zones touched"),
        "sitesWithin": _("Sites within %(distance)s m"), "meeting": _("Records meeting the area"),
        "recordsWithin": _("Records within %(distance)s m"), "area": _("Area"), "sites": _("Sites"),
        "byCategory": _("By category"), "byCondition": _("By condition"),
        "byProtection": _("By protection status"), "byKind": _("By kind"), "example": _("example"),
        "results": _("%(title)s: %(count)s results"), "oneResult": _("%(title)s: 1 result"),
        "nothing": _("Nothing found."), "zoneYes": _("zone touched"), "zoneNo": _("no"),
        "whollyShort": _("wholly"), "partlyShort": _("partly"), "ha": _("ha"), "m2": _("m²"),
        "drawPolygon": _("Draw a polygon"), "drawLine": _("Draw a line"), "drawRectangle": _("Draw a rectangle"),
        "drawMarker": _("Draw a marker"), "editLayers": _("Edit the footprint"),
        "deleteLayers": _("Delete the footprint"), "startShape": _("Click to start drawing the shape."),
        "continueShape": _("Click to continue drawing the shape."),
        "finishShape": _("Click the first point to close this shape."),
        "startLine": _("Click to start drawing the line."), "continueLine": _("Click to continue drawing the line."),
        "finishLine": _("Click the last point to finish the line."),
        "placeMarker": _("Click the map to place the marker."),
        "rectangle": _("Click and drag to draw a rectangle."),
    }
