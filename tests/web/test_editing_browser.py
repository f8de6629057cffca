"""The editing flow in a real headless Chromium: draw, save and submit, changes requested, fixed, published, public."""

from __future__ import annotations

import pytest
from playwright import sync_api
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from heritage_map.accounts.models import Membership, User
from heritage_map.accounts.passwords import hash_password
from heritage_map.catalogue.models import Association, Project
from heritage_map.editing.models import Review, Revision
from tests.factories import PASSWORD
from tests.web.test_browser import assert_offline_and_clean, browser, live_server, map_state, page  # noqa: F401

pytestmark = pytest.mark.browser

TITLE = "Garden of the south wall <i>test</i>"


@pytest.fixture
def people(engine):
    """An editor of Taroudant Bladna and a moderator, committed (the live server has its own sessions)."""
    with Session(engine) as s, s.begin():
        bladna = s.scalar(select(Association).where(Association.slug == "taroudant-bladna"))
        editor = User(email="browser-editor@example.org", display_name="Browser editor", role="member",
                      active=True, password_hash=hash_password(PASSWORD))
        moderator = User(email="browser-moderator@example.org", display_name="Browser moderator",
                         role="moderator", active=True, password_hash=hash_password(PASSWORD))
        s.add_all([editor, moderator])
        s.flush()
        s.add(Membership(user_id=editor.id, association_id=bladna.id, role="editor", state="approved"))
        ids = (editor.id, moderator.id)
    yield {"editor": "browser-editor@example.org", "moderator": "browser-moderator@example.org"}
    with Session(engine) as s, s.begin():
        project_ids = list(s.scalars(select(Project.id).where(Project.title_en == TITLE)))
        s.execute(delete(Project).where(Project.id.in_(project_ids)))
        s.execute(delete(Review).where(Review.table_name == "projects", Review.record_id.in_(project_ids)))
        s.execute(delete(Revision).where(Revision.table_name == "projects", Revision.record_id.in_(project_ids)))
        s.execute(delete(User).where(User.id.in_(ids)))
        s.execute(text("SELECT 1"))


def sign_in_as(page, live_server, email: str) -> None:
    page.goto(live_server + "/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def other_page(browser, live_server):
    """A second person's page (their own cookies), with the same offline rules as the `page` fixture."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.errors = []
    context.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url
                  else route.fulfill(status=200, body=b"", content_type="image/png"))
    p = context.new_page()
    p.set_default_timeout(15_000)
    p.on("pageerror", lambda exc: context.errors.append(str(exc)))
    return p


def draw_polygon(page) -> None:
    page.wait_for_function("() => window.heritageEditor && window.heritageEditor.ready === true")
    page.click(".leaflet-draw-draw-polygon")
    box = page.locator("#editor-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(-80, -50), (80, -50), (90, 60), (-70, 55)]
    for dx, dy in corners:
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(150)
    page.mouse.click(cx + corners[0][0], cy + corners[0][1])  # back on the first vertex closes the shape
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Polygon')")


def test_an_editor_draws_submits_fixes_and_a_moderator_publishes_to_the_public_map(page, browser, live_server,
                                                                                      people, engine):
    sign_in_as(page, live_server, people["editor"])
    page.goto(live_server + "/dashboard")
    with page.expect_navigation():
        page.click("#new-project")
    draw_polygon(page)
    page.fill("#title_en", TITLE)
    page.fill("#description_en", "Planting along the wall.")
    page.check('input[name="themes"][value="environment"]')
    page.fill("#site-search", "khemis")
    page.click('#site-results button[data-slug="bab-el-khemis"]')
    with page.expect_navigation():
        page.click("#save-submit")
    page.screenshot(path="/tmp/browser_editing_saved.png")
    errors = page.locator(".field-error:not([hidden])").all_text_contents()
    assert errors == []
    sync_api.expect(page.locator(".flashes")).to_contain_text("Saved: submitted.")
    with engine.connect() as conn:
        slug, state, kind = conn.execute(text(
            "SELECT slug, publication_status, ST_GeometryType(geom) FROM projects WHERE title_en = :t"),
            {"t": TITLE}).one()
    assert (state, kind) == ("submitted", "ST_Polygon")

    moderator = other_page(browser, live_server)
    sign_in_as(moderator, live_server, people["moderator"])
    moderator.goto(live_server + "/review")
    with moderator.expect_navigation():
        moderator.click(f'tr[data-slug="{slug}"] a')
    moderator.wait_for_function("() => window.heritageEditor && window.heritageEditor.ready === true")
    assert moderator.evaluate("window.heritageEditor.shapes") == 1
    sync_api.expect(moderator.locator('tr[data-field="title_en"] td.new')).to_have_text(TITLE)
    moderator.fill("#comment", "Please say which <b>section</b> of the wall.")
    with moderator.expect_navigation():
        moderator.click("#action-request_changes")

    page.goto(live_server + "/dashboard/taroudant-bladna")
    sync_api.expect(page.locator(f'li[data-slug="{slug}"] .moderator-comment')).to_contain_text(
        "Please say which <b>section</b> of the wall.")
    with page.expect_navigation():
        page.click(f'li[data-slug="{slug}"] a')
    page.wait_for_function("() => window.heritageEditor && window.heritageEditor.ready === true")
    assert page.evaluate("window.heritageEditor.drawn.getLayers().length") == 1  # the drawn shape came back
    sync_api.expect(page.locator("#site-chosen li")).to_have_count(1)
    page.fill("#description_en", "Planting along the south wall, between Bab El Khemis and the kasbah.")
    with page.expect_navigation():
        page.click("#save-submit")
    assert page.locator("#form-errors").count() == 0
    sync_api.expect(page.locator(".flashes")).to_contain_text("Saved: submitted.")

    moderator.goto(live_server + f"/review/projects/{slug}")
    sync_api.expect(moderator.locator('tr[data-field="description_en"] td.new')).to_contain_text("south wall")
    with moderator.expect_navigation():
        moderator.click("#action-publish")

    public = other_page(browser, live_server)
    public.goto(live_server + "/")
    map_state(public)
    shown = public.evaluate("""(slug) => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      let found = null;
      const visit = (layer) => {
        if (layer.feature && layer.feature.properties.slug === slug) found = layer;
        if (layer.eachLayer) layer.eachLayer(visit);
      };
      map.eachLayer(visit);
      if (!found) return null;
      found.openPopup(found.getBounds ? found.getBounds().getCenter() : undefined);
      return true;
    }""", slug)
    assert shown, "the published project is not on the public map"
    popup = public.locator(".leaflet-popup-content")
    sync_api.expect(popup).to_contain_text(TITLE)  # as text: the <i> is not markup
    assert popup.locator("i").count() == 0
    assert page.context.errors == [] and moderator.context.errors == [] and public.context.errors == []
    assert page.context.offending == []
