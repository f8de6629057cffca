"""The map page loads every Folium script, stylesheet, font and image from static/vendor."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import folium
import pytest
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen, LocateControl, MarkerCluster

from heritage_map.web.assets import DROPPED, VENDORED, localize

STATIC = Path(__file__).resolve().parents[2] / "static"
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""")


def static_url(path: str) -> str:
    """Stand-in for url_for("static", filename=path)."""
    return "/static/" + path


def build_map() -> folium.Map:
    """A map using every Folium feature the app relies on."""
    m = folium.Map(location=[30.47, -8.88], zoom_start=15)
    cluster = MarkerCluster().add_to(m)
    folium.Marker([30.47, -8.88], icon=folium.Icon(icon="landmark", prefix="fa")).add_to(cluster)
    Fullscreen().add_to(m)
    LocateControl().add_to(m)
    return m


class LinkCollector(HTMLParser):
    """Collects the URLs of <script src> and <link href> in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def rendered_links() -> list[str]:
    """Script and stylesheet URLs of a localized, rendered map page."""
    m = build_map()
    localize(m, static_url)
    collector = LinkCollector()
    collector.feed(m.get_root().render())
    return collector.urls


def test_the_page_loads_no_script_or_stylesheet_from_the_internet():
    urls = rendered_links()
    assert urls, "the page links no scripts or stylesheets at all"
    remote = [u for u in urls if u.startswith(("http://", "https://", "//"))]
    assert remote == []


def test_every_static_url_in_the_page_is_an_existing_file():
    urls = rendered_links()
    assert all(u.startswith("/static/") for u in urls), urls
    missing = [u for u in urls if not (STATIC / u.removeprefix("/static/")).is_file()]
    assert missing == []


def test_dropped_resources_are_not_linked_at_all():
    urls = rendered_links()
    assert not [u for u in urls if "jquery" in u or "bootstrap" in u or "glyphicons" in u]
    assert not DROPPED & VENDORED.keys()


def test_every_vendored_path_is_an_existing_file():
    missing = [p for p in VENDORED.values() if not (STATIC / p).is_file()]
    assert missing == []


def test_every_url_in_a_vendored_stylesheet_resolves_to_a_local_file():
    stylesheets = sorted((STATIC / "vendor").rglob("*.css"))
    assert stylesheets
    missing = []
    for css in stylesheets:
        for _, ref in CSS_URL.findall(css.read_text(encoding="utf-8")):
            # data: URIs and fragments (Leaflet's old-IE "#default#VML") are not files
            if ref.startswith(("data:", "#")):
                continue
            assert not ref.startswith(("http:", "https:", "//")), f"{css}: {ref}"
            target = (css.parent / re.split(r"[?#]", ref)[0]).resolve()
            if not target.is_file():
                missing.append(f"{css.relative_to(STATIC)}: {ref}")
    assert missing == []


def test_localize_leaves_folium_class_defaults_untouched():
    localize(build_map(), static_url)
    assert dict(folium.Map.default_js)["leaflet"].startswith("https://")
    assert dict(MarkerCluster.default_css)["markerclustercss"].startswith("https://")


def test_localize_raises_lookup_error_for_an_unvendored_resource():
    class Mystery(JSCSSMixin):
        default_js = [("mystery_js", "https://cdn.example/mystery.js")]

    m = folium.Map()
    Mystery().add_to(m)
    with pytest.raises(LookupError, match="mystery_js"):
        localize(m, static_url)
