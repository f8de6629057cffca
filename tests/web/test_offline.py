"""After one visit, the map with its markers and the pages visited open again without a network."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from playwright import sync_api
from werkzeug.serving import make_server

from heritage_map import create_app
from test_browser import COUNT_LAYERS, browser, map_state, sql_counts  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def server(engine):
    """A live app of its own, so that the test can take it away."""
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test", "TILE_URL": "none"},
                     engine=engine)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_port}"
    yield srv
    srv.shutdown()
    thread.join(5)


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.offending = []

    def handle(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            context.offending.append(route.request.url)
            route.abort()

    context.route("**/*", handle)
    yield context
    context.close()


def test_the_map_and_a_visited_page_reopen_offline(context, server, engine):
    expected = sql_counts(engine)["total"]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url + "/")
    map_state(page)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # claimed: it sees what follows
    page.goto(server.url + "/sites/bab-el-khemis")
    map_state(page)
    sync_api.expect(page.locator("h1")).to_contain_text("Thursday Gate")

    server.shutdown()  # no server any more, and no network either
    context.set_offline(True)
    page.goto(server.url + "/")
    state = map_state(page)
    assert state["counts"]["total"] == expected > 0
    assert page.evaluate(COUNT_LAYERS)["total"] == expected
    assert page.locator(".leaflet-marker-icon, .awesome-marker").count() > 0
    page.goto(server.url + "/sites/bab-el-khemis")
    sync_api.expect(page.locator("h1")).to_contain_text("Thursday Gate")
    assert map_state(page)["counts"]["total"] == 1
    assert context.offending == []


def test_the_service_worker_script_lists_the_shell_by_version(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    text = response.text
    assert text.startswith("var SHELL = ")
    shell = __import__("json").loads(text.split("var SHELL = ", 1)[1].split(";\n", 1)[0])
    assert shell["pages"] == ["/"] and "/api/sites" in shell["data"]
    assert shell["static"] and all(u.startswith("/static/v/") for u in shell["static"])
    assert any(u.endswith("fa-solid-900-heritage.woff2") for u in shell["static"])
    for url in shell["static"]:
        assert client.get(url).status_code == 200, url
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
