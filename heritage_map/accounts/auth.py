"""Sign-in wiring: Flask-Login's sessions and Flask-WTF's CSRF check on every state-changing request."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from .. import db
from ..errors import DatabaseUnavailable
from .models import User

login_manager = LoginManager()
login_manager.login_view = "accounts.sign_in"
login_manager.session_protection = "strong"
login_manager.login_message = "Sign in to see this page."
login_manager.localize_callback = gettext  # translated as it is flashed (a lazy string cannot be stored)
csrf = CSRFProtect()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the signed-in account, or None when it is gone (the person is then signed out)."""
    if not user_id.isdigit():
        return None
    return db.session().scalar(select(User).where(User.id == int(user_id), User.active))


def init_app(app: Flask) -> None:
    """Set up sessions of signed-in people and CSRF protection."""
    secure = bool(app.config.get("SECURE_COOKIES", False))
    # Assigned, not setdefault: Flask's defaults already hold these keys (SameSite None, Secure off).
    # login_user is never called with remember=True, so no remember cookie is sent; were one ever set,
    # it would be as guarded as the session's.
    for cookie in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        app.config[f"{cookie}_SAMESITE"] = "Lax"
        app.config[f"{cookie}_HTTPONLY"] = True
        app.config[f"{cookie}_SECURE"] = secure
    login_manager.init_app(app)
    csrf.init_app(app)

    @app.context_processor
    def person():
        return {"signed_in_person": signed_in_person}


def signed_in_person() -> User | None:
    """Return the signed-in account for the header, or None; None too while the database is away (a 503 page)."""
    from flask_login import current_user

    try:
        return current_user if current_user.is_authenticated else None
    except DatabaseUnavailable:
        return None
