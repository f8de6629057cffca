"""Signing in and out, signing up, and choosing a password through a one-time link."""

from __future__ import annotations

import datetime as dt
import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import db
from ..urls import is_local_path
from . import letters, mail, queries, throttle, tokens
from .forms import ButtonForm, ResetRequestForm, SetPasswordForm, SignInForm, SignUpForm
from .models import User
from .passwords import hash_password, needs_rehash, verify_password

bp = Blueprint("accounts", __name__)

__all__ = ["bp", "SignInForm", "safe_next"]


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else the home page (no open redirect)."""
    if is_local_path(target):
        return target
    return url_for("web.index")


def start_session(user: User) -> None:
    """Sign `user` in on a new session: nothing set before it (CSRF token included) carries over."""
    session.clear()
    login_user(user)  # never remember=True: no long-lived cookie outlives the browser session


def lock_message(what: str, seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if what == "account":
        return _("Too many failed sign-ins for this account: it is locked for %(minutes)d more minute(s), even "
                 "with the right password. Try again then, or choose a new password.", minutes=minutes)
    return _("Too many failed sign-ins from your network address: try again in %(minutes)d minute(s).",
             minutes=minutes)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign a person in with their e-mail address and password, unless the account or address is locked."""
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("accounts/sign_in.html", form=form), 400 if form.errors else 200
    s = db.session()
    email, address = queries.normalize_email(form.email.data), request.remote_addr or "unknown"
    limits, at = throttle.Limits.from_config(current_app.config), tokens.now()
    lock = throttle.locked(s, email, address, limits, at)
    if lock is None:
        user = queries.user_by_email(s, email)
        if verify_password(user.password_hash if user else None, form.password.data):
            if not user.active:
                form.password.errors.append(_(
                    "This account is not active: if you have just signed up, follow the link in the mail we "
                    "sent you; otherwise ask an administrator."))
                return render_template("accounts/sign_in.html", form=form), 403
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            user.last_sign_in_at = at
            throttle.clear_account(s, email)
            s.commit()
            start_session(user)
            return redirect(safe_next(request.args.get("next")))
        throttle.record_failure(s, email, address, limits, at)
        s.commit()
        lock = throttle.locked(s, email, address, limits, at)  # this failure may be the one that locks
        if lock is None:
            form.password.errors.append(_("The e-mail address or the password is wrong."))
            return render_template("accounts/sign_in.html", form=form), 401
    form.email.errors.append(lock_message(*lock))
    return render_template("accounts/sign_in.html", form=form), 429, {"Retry-After": str(lock[1])}


@bp.post("/sign-out")
@login_required
def sign_out():
    """Sign the person out."""
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("web.index"))


def check_your_mail(message: str):
    return render_template("accounts/check_mail.html", message=message)


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up():
    """Make an account, inactive until the person follows the link mailed to the address they gave."""
    if current_user.is_authenticated:
        return redirect(url_for("people.my_associations"))
    form = SignUpForm()
    if not form.validate_on_submit():
        return render_template("accounts/sign_up.html", form=form), 400 if form.errors else 200
    s = db.session()
    email = queries.normalize_email(form.email.data)
    existing = queries.user_by_email(s, email)
    minutes = current_app.config["TOKEN_MINUTES"]
    if existing is not None:
        message = letters.already_registered(email)  # the page says the same either way: no enumeration
    else:
        user = queries.create_user(s, email, form.display_name.data, hash_password(form.password.data),
                                   active=False)
        secret = tokens.issue(s, user, "confirm", dt.timedelta(minutes=minutes))
        message = letters.confirm(email, secret, minutes)
    s.commit()
    mail.send(current_app.config, message)
    return check_your_mail(_("We have sent a message to %(email)s. Follow its link within %(minutes)d minutes to "
                             "confirm the address and start using your account.", email=email, minutes=minutes))


def bad_link():
    return render_template("accounts/bad_link.html"), 400


@bp.route("/sign-up/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Confirm a sign-up's address (a button, so that a mail scanner opening the link changes nothing)."""
    s = db.session()
    form = ButtonForm()
    if tokens.peek(s, token, ("confirm",)) is None:
        return bad_link()
    if not form.validate_on_submit():
        return render_template("accounts/confirm.html", form=form)
    used = tokens.redeem(s, token, ("confirm",))
    if used is None:
        return bad_link()
    user = s.get(User, used.user_id)
    user.active = True
    s.commit()
    start_session(user)
    flash(_("Your address is confirmed and you are signed in. Ask to join your association from its page."))
    return redirect(url_for("people.my_associations"))


@bp.route("/password-reset", methods=["GET", "POST"])
def reset_password():
    """Mail a one-time link to choose a new password; the answer is the same whether the address has an account."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template("accounts/reset_request.html", form=form), 400 if form.errors else 200
    s = db.session()
    email = queries.normalize_email(form.email.data)
    user = queries.user_by_email(s, email)
    minutes = current_app.config["TOKEN_MINUTES"]
    if user is not None and user.active:
        secret = tokens.issue(s, user, "reset", dt.timedelta(minutes=minutes))
        s.commit()
        mail.send(current_app.config, letters.reset(email, secret, minutes))
    return check_your_mail(_("If an account uses %(email)s, we have sent a link to it to choose a new password. "
                             "It works once, within %(minutes)d minutes.", email=email, minutes=minutes))


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Choose a password through a one-time link (a reset, or an invitation's first password)."""
    s = db.session()
    if tokens.peek(s, token, tokens.PASSWORD_PURPOSES) is None:
        return bad_link()
    form = SetPasswordForm()
    if not form.validate_on_submit():
        return render_template("accounts/set_password.html", form=form), 400 if form.errors else 200
    used = tokens.redeem(s, token, tokens.PASSWORD_PURPOSES)
    if used is None:
        return bad_link()
    user = s.get(User, used.user_id)
    user.password_hash = hash_password(form.password.data)
    tokens.revoke(s, user.id, tokens.PASSWORD_PURPOSES)
    throttle.clear_account(s, user.email)
    s.commit()
    if not user.active:
        flash(_("Your password is set, but this account is not active: ask an administrator."))
        return redirect(url_for("accounts.sign_in"))
    start_session(user)
    flash(_("Your password is set and you are signed in."))
    return redirect(url_for("people.my_associations"))
