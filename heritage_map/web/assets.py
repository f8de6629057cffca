"""Point Folium's JS/CSS links at copies under static/vendor so the map page needs no CDN."""

from __future__ import annotations

from collections.abc import Callable

from branca.element import Element
from flask import url_for

# Folium resource name -> path relative to static/. Each library keeps its own
# sub-tree so the relative url(...) references inside its CSS still resolve.
VENDORED: dict[str, str] = {
    # folium.Map
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "awesome_markers": "vendor/leaflet.awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "vendor/leaflet.awesome-markers/leaflet.awesome-markers.css",
    # Font Awesome cut to the categories' icons (scripts/subset_icons.py): 2 KB instead of 150 KB of font.
    "awesome_markers_font_css": "vendor/fontawesome-free/css/heritage-icons.css",
    "awesome_rotate_css": "vendor/folium/leaflet.awesome.rotate.min.css",
    # folium.plugins.MarkerCluster
    "markerclusterjs": "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    # folium.plugins.Fullscreen (the npm package has no .min.js, so the plain file is served)
    "Control.Fullscreen.js": "vendor/leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "vendor/leaflet.fullscreen/Control.FullScreen.css",
    # folium.plugins.LocateControl
    "Control_locate_min_js": "vendor/leaflet.locatecontrol/L.Control.Locate.min.js",
    "Control_locate_min_css": "vendor/leaflet.locatecontrol/L.Control.Locate.min.css",
    # folium.plugins.VectorGridProtobuf, and maps.TileScripts for the layers drawn from vector tiles
    "vectorGrid": "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    # folium.plugins.Draw (Folium links 1.0.2; 1.0.4 is served, see VERSIONS.md)
    "leaflet_draw_js": "vendor/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "vendor/leaflet-draw/leaflet.draw.css",
}

# Folium's Map links these, but our pages never use them: Bootstrap would restyle
# the whole page and jQuery is only Bootstrap's dependency. Without glyphicons,
# folium.Icon needs prefix="fa" (its default prefix is "glyphicon").
DROPPED: frozenset[str] = frozenset({"jquery", "bootstrap", "bootstrap_css", "glyphicons_css"})


def localize(element: Element, static_url: Callable[[str], str]) -> None:
    """Rewrite the JS/CSS links of element and all its descendants to vendored static URLs."""
    # JSCSSMixin.render reads self.default_js/default_css when the page is rendered,
    # so this must run after every layer and plugin is added and before rendering.
    # Setting instance attributes shadows the class lists: other maps and folium's
    # own defaults stay untouched.
    for attr in ("default_js", "default_css"):
        resources = getattr(element, attr, None)
        if resources is not None:
            setattr(
                element,
                attr,
                [
                    (name, static_url(_vendored_path(name, url)))
                    for name, url in resources
                    if name not in DROPPED
                ],
            )
    for child in element._children.values():
        localize(child, static_url)


def _vendored_path(name: str, url: str) -> str:
    """Static-relative path of a Folium resource, or LookupError if it is not vendored."""
    try:
        return VENDORED[name]
    except KeyError:
        # Fail loudly: a new plugin would otherwise quietly load from a CDN.
        raise LookupError(
            f"folium resource {name!r} ({url}) is not vendored in static/vendor"
        ) from None


def static_url(path: str) -> str:
    """Return the URL of a file under static/, for the map builders."""
    return url_for("static", filename=path)
