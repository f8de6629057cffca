"""Sign-in attempts are limited per account and per address, counted in the database so every worker agrees."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from heritage_map import create_app
from heritage_map.accounts import throttle, tokens
from heritage_map.accounts.models import SignInFailure
from tests.factories import make_user, sign_in

LOCKED = "Too many failed sign-ins for this account: it is locked for 15 more minute(s), even with the right password."


def signed_in(client) -> bool:
    with client.session_transaction() as s:
        return "_user_id" in s


def fail(client, user, times: int):
    return [sign_in(client, user, password="wrong password").status_code for _ in range(times)]


def test_the_fifth_failure_locks_the_account_and_says_for_how_long(client, session):
    user = make_user(session)
    assert fail(client, user, 4) == [401] * 4
    response = sign_in(client, user, password="wrong password")
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert LOCKED in response.get_data(as_text=True)


def test_a_locked_account_is_refused_even_with_the_right_password(client, session):
    user = make_user(session)
    fail(client, user, 5)
    response = sign_in(client, user)
    assert response.status_code == 429 and LOCKED in response.get_data(as_text=True)
    assert not signed_in(client)
    assert session.scalar(select(func.count()).select_from(SignInFailure)) == 5  # attempts in a lock are not counted


def test_the_lock_ends_on_time(client, session):
    user = make_user(session)
    long_ago = tokens.now() - dt.timedelta(minutes=16)
    session.add_all(SignInFailure(email=user.email, address="127.0.0.1", failed_at=long_ago) for _ in range(5))
    session.flush()
    assert sign_in(client, user).status_code == 302


def test_the_lock_tells_the_minutes_left(client, session):
    user = make_user(session)
    ten_ago = tokens.now() - dt.timedelta(minutes=10)
    session.add_all(SignInFailure(email=user.email, address="10.9.9.9", failed_at=ten_ago) for _ in range(5))
    session.flush()
    response = sign_in(client, user)
    assert response.status_code == 429
    assert "locked for 5 more minute(s)" in response.get_data(as_text=True)


def test_failures_spread_wider_than_the_window_do_not_lock(client, session):
    user = make_user(session)
    at = tokens.now()
    session.add_all(SignInFailure(email=user.email, address="10.9.9.9", failed_at=at - dt.timedelta(minutes=m))
                    for m in (1, 2, 3, 20))  # four in the window, one outside it
    session.flush()
    assert sign_in(client, user, password="wrong password").status_code == 401  # a fifth, but not within 15 min
    assert sign_in(client, user).status_code == 302


def test_a_successful_sign_in_resets_the_account_counter(client, session):
    user = make_user(session)
    fail(client, user, 4)
    assert sign_in(client, user).status_code == 302
    assert fail(client.application.test_client(), user, 4) == [401] * 4  # four more, and still not locked


def test_an_unknown_address_locks_the_same_way(client, session):
    ghost = type("Ghost", (), {"email": "nobody@example.org"})()
    assert fail(client, ghost, 5) == [401] * 4 + [429]


def test_twenty_failures_from_one_address_lock_it_for_every_account(app, engine, connection, session):
    # Without the request rate limit (limits.py), which would refuse them first.
    unlimited = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test", "RATE_LIMIT_SIGN_IN": "0"},
                           engine=engine)
    unlimited.extensions.update({key: app.extensions[key]
                                 for key in ("heritage_map.sessionmaker", "heritage_map.read")})
    client = unlimited.test_client()
    for n in range(20):
        sign_in(client, type("P", (), {"email": f"person{n}@example.org"})(), password="wrong password")
    user = make_user(session)
    response = sign_in(client, user)
    assert response.status_code == 429
    assert "Too many failed sign-ins from your network address" in response.get_data(as_text=True)
    other = client.application.test_client()
    assert sign_in(other, user, environ_overrides={"REMOTE_ADDR": "192.0.2.7"}).status_code == 302


def test_the_numbers_are_settings(app, client, session):
    app.config.update(SIGN_IN_ACCOUNT_LIMIT=2, SIGN_IN_LOCK_MINUTES=3)
    user = make_user(session)
    codes = fail(client, user, 2)
    assert codes == [401, 429]
    assert "locked for 3 more minute(s)" in sign_in(client, user).get_data(as_text=True)


def test_a_limit_of_zero_turns_the_lock_off(app, client, session):
    app.config.update(SIGN_IN_ACCOUNT_LIMIT=0)
    user = make_user(session)
    assert set(fail(client, user, 7)) == {401}


def test_another_worker_sees_the_lock(app, engine, connection, client, session):
    """A second app (another gunicorn worker) on the same database refuses the locked account too."""
    user = make_user(session)
    fail(client, user, 5)
    worker = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test"}, engine=engine)
    worker.extensions["heritage_map.sessionmaker"] = sessionmaker(bind=connection,
                                                                  join_transaction_mode="create_savepoint")
    worker.extensions["heritage_map.read"] = app.extensions["heritage_map.read"]  # the test's connection too
    response = sign_in(worker.test_client(), user)
    assert response.status_code == 429 and LOCKED in response.get_data(as_text=True)


def test_old_failures_are_forgotten_as_new_ones_come(session):
    limits = throttle.Limits()
    at = tokens.now()
    throttle.record_failure(session, "a@example.org", "10.0.0.1", limits, at - dt.timedelta(minutes=31))
    throttle.record_failure(session, "b@example.org", "10.0.0.1", limits, at)
    assert session.scalars(select(SignInFailure.email)).all() == ["b@example.org"]


@pytest.mark.parametrize("limits, times, expected", [
    (throttle.Limits(account=3, window=15, lock=15), [0, 1, 2], 900 - 0),
    (throttle.Limits(account=3, window=15, lock=15), [0, 1], 0),
    (throttle.Limits(account=3, window=1, lock=15), [0, 1, 2], 0),  # spread over 2 minutes, window of 1
])
def test_a_lock_lasts_from_the_last_failure_counted(session, limits, times, expected):
    at = tokens.now()
    for minutes in times:
        session.add(SignInFailure(email="x@example.org", address="10.0.0.1", failed_at=at - dt.timedelta(minutes=minutes)))
    session.flush()
    lock = throttle.locked(session, "x@example.org", "10.0.0.2", limits, at)
    assert (lock or ("account", 0)) == ("account", expected)
