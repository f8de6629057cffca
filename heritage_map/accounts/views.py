"""Sign-in and sign-out pages."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from .. import db
from .models import User
from .passwords import hash_password, needs_rehash, verify_password

bp = Blueprint("accounts", __name__)


class SignInForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else the home page (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.index")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign a person in with their e-mail address and password."""
    form = SignInForm()
    if form.validate_on_submit():
        s = db.session()
        user = s.scalar(select(User).where(User.email == func.lower(form.email.data.strip())))
        if user is not None and user.active and verify_password(user.password_hash, form.password.data):
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            user.last_sign_in_at = dt.datetime.now(dt.timezone.utc)
            s.commit()
            session.clear()  # a new session at sign-in: nothing set before it carries over
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(_("The e-mail address or the password is wrong."))
        return render_template("accounts/sign_in.html", form=form), 401
    return render_template("accounts/sign_in.html", form=form), 400 if form.errors else 200


@bp.post("/sign-out")
@login_required
def sign_out():
    """Sign the person out."""
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("web.index"))
