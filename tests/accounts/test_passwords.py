"""Signing up, confirming the address, and choosing a password through a one-time, expiring link."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select

from heritage_map.accounts import tokens
from heritage_map.accounts.models import AccountToken, User
from heritage_map.accounts.passwords import verify_password
from tests.factories import PASSWORD, mailbox, make_user, post_form, sign_in  # noqa: F401 (mailbox: a fixture)

NEW = "a brand new passphrase"


def sign_up(client, email="amina@example.org", password=NEW, confirm=None, name="Amina"):
    return post_form(client, "/sign-up", {"display_name": name, "email": email, "password": password,
                                          "confirm": confirm or password})


def test_sign_up_makes_an_inactive_account_and_mails_a_confirmation_link(client, session, mailbox):
    response = sign_up(client, email="Amina@Example.org")
    assert response.status_code == 200
    assert "We have sent a message to amina@example.org" in response.get_data(as_text=True)
    user = session.scalar(select(User).where(User.email == "amina@example.org"))
    assert (user.display_name, user.role, user.active) == ("Amina", "member", False)
    assert verify_password(user.password_hash, NEW)
    [message] = mailbox.messages()
    assert message["To"] == "amina@example.org" and "Confirm your account" in message["Subject"]
    assert sign_in(client, user, password=NEW).status_code == 403  # not before the address is confirmed


def test_following_the_confirmation_link_activates_the_account_once(client, session, mailbox):
    sign_up(client)
    link = mailbox.last_link("/sign-up/confirm/")
    page = client.get(link)
    assert page.status_code == 200 and "Confirm my address" in page.get_data(as_text=True)
    assert session.scalar(select(User.active).where(User.email == "amina@example.org")) is False  # GET changes nothing
    response = post_form(client, link, token_from=link)
    assert response.status_code == 302
    assert session.scalar(select(User.active).where(User.email == "amina@example.org")) is True
    with client.session_transaction() as s:
        assert "_user_id" in s
    assert client.get(link).status_code == 400  # used up


def test_sign_up_with_an_address_that_has_an_account_answers_the_same_and_changes_nothing(client, session, mailbox):
    user = make_user(session, email="taken@example.org")
    other = sign_up(client, email="fresh@example.org").get_data(as_text=True)
    response = sign_up(client, email="taken@example.org", password="another password altogether")
    assert response.status_code == 200
    assert (response.get_data(as_text=True).replace("taken@", "fresh@") == other)
    assert session.scalars(select(User).where(User.email == "taken@example.org")).all() == [user]
    assert verify_password(user.password_hash, PASSWORD)
    assert "has an account already" in mailbox.messages()[-1].get_content()


@pytest.mark.parametrize("fields, message", [
    ({"password": "short"}, "Choose a password of at least 10 characters."),
    ({"confirm": "something else entirely"}, "The two passwords are not the same."),
    ({"email": "not an address"}, "This is not an e-mail address."),
    ({"display_name": ""}, "This field is required."),
])
def test_a_bad_sign_up_is_refused_next_to_the_field_and_makes_no_account(client, session, mailbox, fields, message):
    data = {"display_name": "Amina", "email": "amina@example.org", "password": NEW, "confirm": NEW, **fields}
    response = post_form(client, "/sign-up", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.email == "amina@example.org")) is None
    assert mailbox.messages() == []


def test_the_shortest_password_is_a_setting(app, client, session, mailbox):
    app.config["PASSWORD_MIN_LENGTH"] = 30
    response = sign_up(client, password="twenty-nine characters long..")
    assert "Choose a password of at least 30 characters." in response.get_data(as_text=True)


def test_asking_for_a_reset_answers_the_same_whether_or_not_the_address_has_an_account(client, session, mailbox):
    make_user(session, email="known@example.org")
    known = post_form(client, "/password-reset", {"email": "known@example.org"})
    unknown = post_form(client, "/password-reset", {"email": "unknown@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace("known@", "unknown@") == unknown.get_data(as_text=True)
    assert [m["To"] for m in mailbox.messages()] == ["known@example.org"]


def test_a_reset_link_sets_a_new_password_once_and_signs_in(client, session, mailbox):
    user = make_user(session, email="known@example.org")
    post_form(client, "/password-reset", {"email": "known@example.org"})
    link = mailbox.last_link("/password-reset/")
    response = post_form(client, link, {"password": NEW, "confirm": NEW}, token_from=link)
    assert response.status_code == 302
    session.refresh(user)
    assert verify_password(user.password_hash, NEW) and not verify_password(user.password_hash, PASSWORD)
    again = post_form(client, link, {"password": "yet another password", "confirm": "yet another password"},
                      token_from="/sign-in")
    assert again.status_code == 400 and "This link is unknown, has been used already" in again.get_data(as_text=True)
    session.refresh(user)
    assert verify_password(user.password_hash, NEW)


def test_only_the_digest_of_a_link_is_stored(client, session, mailbox):
    make_user(session, email="known@example.org")
    post_form(client, "/password-reset", {"email": "known@example.org"})
    secret = mailbox.last_link("/password-reset/").rsplit("/", 1)[1]
    stored = session.scalars(select(AccountToken.token_hash)).all()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()] and secret not in stored


def test_an_expired_link_does_not_work(client, session):
    user = make_user(session)
    secret = tokens.issue(session, user, "reset", dt.timedelta(minutes=60),
                          at=tokens.now() - dt.timedelta(minutes=61))
    response = client.get(f"/password-reset/{secret}")
    assert response.status_code == 400


def test_the_link_lifetime_is_a_setting(app, client, session, mailbox):
    app.config["TOKEN_MINUTES"] = 5
    make_user(session, email="known@example.org")
    response = post_form(client, "/password-reset", {"email": "known@example.org"})
    assert "within 5 minutes" in response.get_data(as_text=True)
    expires = session.scalar(select(AccountToken.expires_at))
    assert dt.timedelta(minutes=4) < expires - tokens.now() <= dt.timedelta(minutes=5)


def test_a_confirmation_link_cannot_set_a_password_nor_a_reset_link_confirm(client, session):
    user = make_user(session)
    confirm = tokens.issue(session, user, "confirm", dt.timedelta(minutes=60))
    reset = tokens.issue(session, user, "reset", dt.timedelta(minutes=60))
    assert client.get(f"/password-reset/{confirm}").status_code == 400
    assert client.get(f"/sign-up/confirm/{reset}").status_code == 400


def test_setting_a_password_uses_up_every_other_link_of_the_account(client, session):
    user = make_user(session)
    first = tokens.issue(session, user, "reset", dt.timedelta(minutes=60))
    second = tokens.issue(session, user, "reset", dt.timedelta(minutes=60))
    assert post_form(client, f"/password-reset/{first}", {"password": NEW, "confirm": NEW}).status_code == 302
    assert client.get(f"/password-reset/{second}").status_code == 400


def test_a_too_short_new_password_is_refused_and_the_link_still_works(client, session):
    user = make_user(session)
    secret = tokens.issue(session, user, "reset", dt.timedelta(minutes=60))
    response = post_form(client, f"/password-reset/{secret}", {"password": "short", "confirm": "short"})
    assert response.status_code == 400 and "at least 10 characters" in response.get_data(as_text=True)
    assert client.get(f"/password-reset/{secret}").status_code == 200


def test_a_deactivated_account_gets_no_reset_link(client, session, mailbox):
    make_user(session, email="gone@example.org", active=False)
    post_form(client, "/password-reset", {"email": "gone@example.org"})
    assert mailbox.messages() == []


def test_redeeming_a_link_twice_gives_it_once(session):
    user = make_user(session)
    secret = tokens.issue(session, user, "reset", dt.timedelta(minutes=60))
    assert tokens.redeem(session, secret, ("reset",)).user_id == user.id
    assert tokens.redeem(session, secret, ("reset",)) is None


def test_links_in_mails_come_from_the_base_url_setting_not_the_host_header(app, client, session, mailbox):
    app.config["BASE_URL"] = "https://heritage.example.org"
    make_user(session, email="known@example.org")
    evil = "http://evil.example.com"  # the Host header a forged request would carry
    page = client.get("/password-reset", base_url=evil).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/password-reset", data={"csrf_token": token, "email": "known@example.org"},
                       base_url=evil).status_code == 200
    body = mailbox.messages()[-1].get_content()
    assert "https://heritage.example.org/password-reset/" in body and "evil" not in body
