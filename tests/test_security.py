"""Security headers on every kind of response; every inline script and style of a page carries its nonce."""

from __future__ import annotations

import re

import pytest

from heritage_map import create_app
from heritage_map.errors import SetupError

RESPONSES = [  # path, status, what it is
    ("/", 200, "text/html"),
    ("/sites", 200, "text/html"),
    ("/sites/bab-el-khemis", 200, "text/html"),
    ("/api/sites", 200, "application/geo+json"),
    ("/api/sites?kind=moon", 400, "application/json"),
    ("/ogc/collections?f=json", 200, "application/json"),
    ("/ogc/collections/heritage-sites/items?limit=2", 200, "application/geo+json"),
    ("/ogc/?f=html", 200, "text/html"),
    ("/static/site.css", 200, "text/css"),
    ("/static/web/map.js", 200, "text/javascript"),
    ("/nowhere", 404, "text/html"),
    ("/sites?kind=moon", 400, "text/html"),
]
PAGES = ["/", "/sites", "/sites/ramparts", "/associations/taroudant-bladna", "/projects/clean-walls", "/planner",
         "/api/screening/report", "/ogc/collections/heritage-sites/items?f=html", "/nowhere"]
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)


def policy(response) -> dict[str, str]:
    """Return a response's Content-Security-Policy as directive → sources."""
    directives = (d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


@pytest.mark.parametrize("path, status, mimetype", RESPONSES)
def test_every_kind_of_response_carries_the_security_headers(client, path, status, mimetype):
    response = client.get(path)
    assert (response.status_code, response.mimetype) == (status, mimetype)
    csp = policy(response)
    assert csp["default-src"] == "'self'"
    assert re.fullmatch(r"'self'( 'nonce-[\w-]{22}')?", csp["script-src"])
    assert "unsafe" not in csp["script-src"] and "unsafe" not in csp["style-src"]
    assert csp["style-src-attr"] == "'unsafe-inline'"
    assert csp["img-src"] == "'self' data: http://tiles.invalid"
    assert {k: csp[k] for k in ("connect-src", "font-src", "object-src", "base-uri", "frame-ancestors",
                                "form-action")} == {"connect-src": "'self'", "font-src": "'self'",
                                                    "object-src": "'none'", "base-uri": "'self'",
                                                    "frame-ancestors": "'self'", "form-action": "'self'"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_over_https_only(app):
    assert "Strict-Transport-Security" not in app.test_client().get("/sites").headers
    secure = app.test_client().get("/sites", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert app.test_client().get("/nowhere", base_url="https://localhost").headers["Strict-Transport-Security"]


@pytest.mark.parametrize("path", PAGES)
def test_every_inline_script_and_style_of_a_page_carries_the_nonce_of_its_policy(client, path):
    response = client.get(path)
    html = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([\w-]+)'", response.headers["Content-Security-Policy"])
    for tag, attributes in SCRIPT_OR_STYLE.findall(html):
        if "src=" in attributes:
            assert "nonce=" not in attributes, "a nonce must not vouch for a file"
        else:
            assert nonce and f'nonce="{nonce.group(1)}"' in attributes, f"<{tag}{attributes}> on {path}"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers are refused by the policy"
    assert "javascript:" not in html


def test_each_request_gets_its_own_nonce(client):
    nonces = {policy(client.get("/sites/ramparts"))["script-src"] for _ in range(3)}
    assert len(nonces) == 3


def test_a_response_without_inline_scripts_allows_none(client):
    assert policy(client.get("/api/sites"))["script-src"] == "'self'"
    assert policy(client.get("/sites"))["script-src"] == "'self'"


@pytest.mark.parametrize("tile_url, img_src", [
    ("none", "'self' data:"),
    ("/tiles/{z}/{x}/{y}.png", "'self' data:"),
    ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "'self' data: https://*.tile.example.org"),
])
def test_img_src_lets_in_the_configured_tile_host_only(engine, tile_url, img_src):
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test", "TILE_URL": tile_url}, engine=engine)
    assert policy(app.test_client().get("/static/site.css"))["img-src"] == img_src


def test_a_tile_url_with_a_placeholder_deep_in_its_host_stops_the_start(engine):
    with pytest.raises(SetupError, match="first label"):
        create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test",
                    "TILE_URL": "https://tiles.{s}.example.org/{z}/{x}/{y}.png"}, engine=engine)
