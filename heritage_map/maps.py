"""Folium map builders: the full-window explorer and the small map of one record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import folium
from branca.element import CssLink, JavascriptLink, MacroElement
from folium.plugins import Fullscreen, LocateControl, MarkerCluster
from jinja2 import Template

from . import vocab
from .assets import localize

# Inside the walls, between Place Assarag and the Kasbah.
MEDINA_CENTRE = (30.4725, -8.8810)

# Map layers: (key, label, colour for shapes); the loader sorts features into them.
LAYERS = (
    ("heritage", "Heritage sites", "#8b1e1e"),
    ("environment", "Environmental sites", "#1e6b3a"),
    ("ramparts", "Ramparts outline", "#b5651d"),
    ("projects", "Projects", "#5b3c88"),
    ("associations", "Associations", "#1f5f8b"),
)


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


class Legend(MacroElement):
    """A legend of categories with their marker colour and icon."""

    _template = Template("""
{% macro html(this, kwargs) %}
<details class="map-legend" open>
  <summary>Legend</summary>
  <ul>
  {%- for c in this.categories %}
    <li><span class="awesome-marker awesome-marker-icon-{{ c.color }} legend-marker"><i class="fa fa-{{ c.icon }} icon-white"></i></span>
        {{ c.en }}<span class="legend-ar" lang="ar" dir="rtl">{{ c.ar }}</span></li>
  {%- endfor %}
    <li><span class="legend-line" style="border-color:#b5651d"></span> Ramparts (estimated outline)</li>
    <li><span class="legend-line" style="border-color:#5b3c88"></span> Project footprint</li>
    <li><span class="legend-dot" style="background:#1f5f8b"></span> Association seat</li>
  </ul>
</details>
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "Legend"
        self.categories = list(vocab.CATEGORIES.values())


@dataclass
class Basemap:
    """Tile URL template and attribution; url 'none' means no basemap."""

    url: str
    attribution: str


def _base(location, zoom: int, basemap: Basemap, **kwargs) -> folium.Map:
    """Return a map with the basemap (if any) and a scale bar."""
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True, **kwargs)
    if basemap.url.lower() != "none":
        folium.TileLayer(tiles=basemap.url, attr=basemap.attribution, name="Basemap", max_zoom=19).add_to(m)
    return m


def _add_loader(m: folium.Map, layers: tuple, config: dict, static_url: Callable[[str], str]) -> None:
    """Create the layer groups, hand them to the loader, and link map.js and map.css."""
    groups, clusters = {}, {}
    for key, label, _colour in layers:
        group = folium.FeatureGroup(name=label, show=True).add_to(m)
        groups[key] = group.get_name()
        if key in ("heritage", "environment", "associations", "projects"):
            cluster = MarkerCluster(control=False, options={"showCoverageOnHover": False,
                                                            "maxClusterRadius": 40}).add_to(group)
            clusters[key] = cluster.get_name()
    config = {**config, "categories": {c.slug: {"icon": c.icon, "color": c.color, "en": c.en, "fr": c.fr,
                                                 "ar": c.ar, "kind": c.kind} for c in vocab.CATEGORIES.values()},
              "colours": {key: colour for key, _label, colour in layers}}
    m.add_child(Loader(groups, clusters, config))
    root = m.get_root()
    root.header.add_child(JavascriptLink(static_url("js/map.js")), name="heritage_map_js")
    root.header.add_child(CssLink(static_url("css/map.css")), name="heritage_map_css")


def explorer(basemap: Basemap, sources: dict[str, str], static_url: Callable[[str], str]) -> folium.Map:
    """Return the full-window map whose layers load from the API URLs in `sources` (layer → URL)."""
    m = _base(MEDINA_CENTRE, 15, basemap)
    _add_loader(m, LAYERS, {"sources": sources}, static_url)
    Fullscreen(position="topleft").add_to(m)
    LocateControl(position="topleft", strings={"title": "Show where I am"}).add_to(m)
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
    return {"sites": ("heritage", "environment", "ramparts")}.get(layer, (layer,))


def render_parts(m: folium.Map) -> dict[str, str]:
    """Render a map into the header, body and script parts a page template places."""
    root = m.get_root()
    root.render()
    return {"header": root.header.render(), "html": root.html.render(), "script": root.script.render()}

