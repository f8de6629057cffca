"""One-time links: a random secret goes to the person, its SHA-256 to the database; each works once, until it expires."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import AccountToken, User

# What setting a password ends: every other link that could set one.
PASSWORD_PURPOSES = ("reset", "invite")


def digest(secret: str) -> str:
    """Return the SHA-256 of `secret` as hex, the form stored (the secret has 256 bits: no salt needed).

    >>> digest("abc")
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def now() -> dt.datetime:
    """Return the time now, with its time zone (UTC)."""
    return dt.datetime.now(dt.timezone.utc)


def issue(session: Session, user: User, purpose: str, lifetime: dt.timedelta, at: dt.datetime | None = None) -> str:
    """Store a new link for `user` and return its secret (shown once: only its digest is kept)."""
    secret = secrets.token_urlsafe(32)
    session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=digest(secret),
                             expires_at=(at or now()) + lifetime))
    session.flush()
    return secret


def _usable(secret: str, purposes: tuple[str, ...], at: dt.datetime):
    return (AccountToken.token_hash == digest(secret), AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None), AccountToken.expires_at > at)


def peek(session: Session, secret: str, purposes: tuple[str, ...], at: dt.datetime | None = None) -> AccountToken | None:
    """Return the unused, unexpired link `secret` of one of `purposes`, without using it."""
    return session.scalar(select(AccountToken).where(*_usable(secret, purposes, at or now())))


def redeem(session: Session, secret: str, purposes: tuple[str, ...], at: dt.datetime | None = None) -> AccountToken | None:
    """Use the link `secret` up and return it, or None when it is unknown, used or expired.

    One UPDATE: of two requests racing with the same link, the second waits for the first's row lock,
    then finds it used.
    """
    at = at or now()
    token_id = session.scalar(update(AccountToken).where(*_usable(secret, purposes, at)).values(used_at=at)
                              .returning(AccountToken.id))
    if token_id is None:
        return None
    token = session.get(AccountToken, token_id)
    session.refresh(token)
    return token


def revoke(session: Session, user_id: int, purposes: tuple[str, ...], at: dt.datetime | None = None) -> None:
    """Use up every outstanding link of `user_id` of one of `purposes` (after a password is set, or a deactivation)."""
    session.execute(update(AccountToken).where(AccountToken.user_id == user_id, AccountToken.purpose.in_(purposes),
                                               AccountToken.used_at.is_(None)).values(used_at=at or now()))
