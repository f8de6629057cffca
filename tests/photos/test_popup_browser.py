"""A published photo in a map popup, in a real headless Chromium: shown with its alt text, inert."""

from __future__ import annotations

import threading

import pytest
from playwright import sync_api
from sqlalchemy import text
from werkzeug.serving import make_server

from heritage_map import create_app
from heritage_map.photos import images, storage
from tests.photos.test_images import png
from tests.web.test_browser import BRAVO, assert_offline_and_clean, browser, open_map, page  # noqa: F401

pytestmark = pytest.mark.browser
ALT = '<img src=x onerror="window.pwned=1"> the museum\'s courtyard'


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def live_server(engine, uploads):
    """The app on a local port, its uploads in a folder of this module's own."""
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test", "UPLOADS_DIR": str(uploads),
                      "TILE_URL": "http://tiles.test/{z}/{x}/{y}.png"}, engine=engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def bravo_photo(engine, uploads):
    """A published photo of the Claudio Bravo museum, committed (the server has its own connections), then removed."""
    names = storage.save(uploads, images.process(png(size=(300, 200), mode="RGB"), 10**6))
    with engine.begin() as conn:
        photo_id = conn.scalar(text(
            "INSERT INTO photos (site_id, media_type, file_name, thumb_name, width, height, alt_en, "
            "publication_status) SELECT id, 'image/png', :f, :t, 300, 200, :alt, 'published' FROM sites "
            "WHERE slug = :slug RETURNING id"), {"f": names[0], "t": names[1], "alt": ALT, "slug": BRAVO[0]})
    yield names
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM photos WHERE id = :id"), {"id": photo_id})
    storage.remove(uploads, *names)


def test_a_popup_shows_the_records_published_photo_with_its_alt_text_inert(page, live_server, bravo_photo):
    open_map(page, live_server + "/")
    page.evaluate("""(name) => new Promise((resolve, reject) => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      const groups = []; map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) groups.push(l); });
      for (const g of groups) {
        const marker = g.getLayers().find(m => m.options.title === name);
        if (marker) { window.__marker = marker; return g.zoomToShowLayer(marker, resolve); }
      }
      reject(new Error("no marker titled " + name));
    })""", BRAVO[1])
    page.evaluate_handle("window.__marker._icon").as_element().click()
    photo = page.locator(".leaflet-popup-content img.hm-photo")
    sync_api.expect(photo).to_have_attribute("alt", ALT)
    assert photo.get_attribute("src") == f"/photos/{bravo_photo[1]}"
    page.wait_for_function("() => document.querySelector('img.hm-photo').naturalWidth > 0")
    assert page.locator(".leaflet-popup-content img").count() == 1  # the alt text made no element
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert_offline_and_clean(page)
