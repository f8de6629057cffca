"""Signing in and out, on a real database."""

from __future__ import annotations

from tests.factories import csrf_token, make_user, sign_in


def test_sign_in_with_the_right_password_signs_in_and_changes_the_session(client, session):
    user = make_user(session, email="editor@example.org")
    before = csrf_token(client)
    response = sign_in(client, user)
    assert response.status_code == 302
    with client.session_transaction() as s:
        assert s["_user_id"] == str(user.id)
        assert s.get("csrf_token") != before  # nothing set before sign-in carries over


def test_sign_in_with_a_wrong_password_is_refused_with_a_message(client, session):
    user = make_user(session)
    response = sign_in(client, user, password="wrong")
    assert response.status_code == 401
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)
    with client.session_transaction() as s:
        assert "_user_id" not in s


def test_sign_in_without_a_csrf_token_is_refused(client, session):
    user = make_user(session)
    response = client.post("/sign-in", data={"email": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 400
    with client.session_transaction() as s:
        assert "_user_id" not in s


def test_sign_out_ends_the_session(client, session):
    user = make_user(session)
    sign_in(client, user)
    token = csrf_token(client)
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    with client.session_transaction() as s:
        assert "_user_id" not in s


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(client, session):
    make_user(session)
    token = csrf_token(client)
    response = client.post("/sign-in", data={"csrf_token": token, "email": "nobody@example.org",
                                             "password": "whatever"})
    assert response.status_code == 401
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)
