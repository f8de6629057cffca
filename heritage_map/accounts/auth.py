"""Sign-in wiring: Flask-Login's sessions and Flask-WTF's CSRF check on every state-changing request."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from .. import db
from .models import User

login_manager = LoginManager()
login_manager.login_view = "accounts.sign_in"
login_manager.session_protection = "strong"
csrf = CSRFProtect()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the signed-in account, or None when it is gone (the person is then signed out)."""
    if not user_id.isdigit():
        return None
    return db.session().scalar(select(User).where(User.id == int(user_id), User.active))


def init_app(app: Flask) -> None:
    """Set up sessions of signed-in people and CSRF protection."""
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    login_manager.init_app(app)
    csrf.init_app(app)
