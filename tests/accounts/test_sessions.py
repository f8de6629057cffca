"""Session cookies, the header's account links, and CSRF refusals on every form the accounts add."""

from __future__ import annotations

import datetime as dt

import pytest

from heritage_map import create_app
from heritage_map.accounts import tokens
from heritage_map.config import from_env
from tests.factories import make_association, make_membership, make_user, sign_in, sign_in_as


def set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_the_session_cookie_is_http_only_and_same_site_lax_and_no_remember_cookie_is_sent(client, session):
    response = sign_in(client, make_user(session))
    cookies = set_cookies(response)
    assert set(cookies) == {"session"}
    assert "HttpOnly" in cookies["session"] and "SameSite=Lax" in cookies["session"]
    assert "Secure" not in cookies["session"]  # the test app serves plain HTTP, as a laptop does


def test_with_secure_cookies_the_session_cookie_is_secure(engine, connection, session):
    from sqlalchemy.orm import sessionmaker

    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test", "SECURE_COOKIES": True},
                     engine=engine)
    app.extensions["heritage_map.sessionmaker"] = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    client = app.test_client()
    user = make_user(session)
    page = client.get("/sign-in", base_url="https://localhost").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/sign-in", base_url="https://localhost", headers={"Referer": "https://localhost/sign-in"},
                           data={"csrf_token": token, "email": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 302
    cookie = set_cookies(response)["session"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize("environ, secure", [
    ({}, False),
    ({"DATABASE_URL": "postgresql://db/heritage"}, True),
    ({"DATABASE_URL": "postgresql://db/heritage", "HERITAGE_MAP_SECURE_COOKIES": "0"}, False),
    ({"HERITAGE_MAP_SECURE_COOKIES": "1"}, True),
])
def test_cookies_are_secure_on_a_server_unless_told_otherwise(tmp_path, environ, secure):
    assert from_env(tmp_path, environ)["SECURE_COOKIES"] is secure


def test_a_bad_number_setting_names_itself(tmp_path):
    from heritage_map.errors import SetupError

    with pytest.raises(SetupError, match="HERITAGE_MAP_SIGN_IN_ACCOUNT_LIMIT='five': expected a whole number"):
        from_env(tmp_path, {"HERITAGE_MAP_SIGN_IN_ACCOUNT_LIMIT": "five"})


def test_the_header_offers_sign_in_to_the_public(client):
    page = client.get("/sites").get_data(as_text=True)
    assert 'href="/sign-in"' in page and "Sign out" not in page


def test_the_header_names_a_member_and_offers_their_associations_and_a_sign_out_form(client, session):
    sign_in_as(client, session, display_name="Amina Ait")
    page = client.get("/sites").get_data(as_text=True)
    assert "Amina Ait" in page and 'href="/my-associations"' in page
    assert 'action="/sign-out"' in page and 'name="csrf_token"' in page
    assert 'href="/admin/people"' not in page


def test_the_header_links_an_admin_to_the_people_page(client, session):
    sign_in_as(client, session, role="admin")
    page = client.get("/sites").get_data(as_text=True)
    assert 'href="/admin/people"' in page and 'href="/admin/associations"' in page


def test_the_sign_out_button_in_the_header_signs_out(client, session):
    import re

    sign_in_as(client, session)
    page = client.get("/sites").get_data(as_text=True)
    token = re.search(r'action="/sign-out".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    with client.session_transaction() as s:
        assert "_user_id" not in s


@pytest.fixture
def forms(session):
    """Every form the accounts add, as path → data (without its token), with what it needs in place."""
    association = make_association(session, slug="csrf-association")
    lead = make_user(session, email="lead@example.org", memberships={association: "lead"})
    asker = make_user(session, email="asker@example.org")
    make_membership(session, asker, association, state="requested")
    reset = tokens.issue(session, asker, "reset", dt.timedelta(minutes=60))
    confirm = tokens.issue(session, asker, "confirm", dt.timedelta(minutes=60))
    password = {"password": "a long enough password", "confirm": "a long enough password"}
    return lead, {
        "/sign-in": {"email": lead.email, "password": "correct horse battery staple"},
        "/sign-out": {},
        "/sign-up": {"display_name": "X", "email": "new@example.org", **password},
        "/password-reset": {"email": lead.email},
        f"/password-reset/{reset}": password,
        f"/sign-up/confirm/{confirm}": {},
        "/associations/csrf-association/join": {},
        f"/associations/csrf-association/members/{asker.id}": {"decision": "approve"},
        f"/admin/people/{asker.id}": {"role": "admin", "active": "y"},
    }


FORM_PATHS = ["/sign-in", "/sign-out", "/sign-up", "/password-reset", "/password-reset/<token>",
              "/sign-up/confirm/<token>", "/associations/<slug>/join", "/associations/<slug>/members/<user_id>",
              "/admin/people/<user_id>"]


@pytest.mark.parametrize("index", range(len(FORM_PATHS)), ids=FORM_PATHS)
def test_a_post_without_its_csrf_token_is_refused_with_a_clear_message(client, session, forms, index):
    lead, posts = forms
    path, data = list(posts.items())[index]
    sign_in_as(client, session, role="admin")  # signed in, so that only the token is missing
    response = client.post(path, data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "its security token is missing or has expired" in page and "reload the page" in page
    api = client.post(path, data=data, headers={"Accept": "application/json"})
    assert api.status_code == 400 and api.get_json()["code"] == "CSRFError"


def test_every_form_path_of_the_accounts_is_tested_for_csrf(app):
    posted = {r.rule for r in app.url_map.iter_rules() if "POST" in r.methods
              and r.endpoint.split(".")[0] in ("accounts", "people")}
    import re

    assert {re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", p) for p in posted} == set(FORM_PATHS)
