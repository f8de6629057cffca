"""The accounts' forms (Flask-WTF: each carries its CSRF token); labels and messages wrapped for translation."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Email, EqualTo, Length, ValidationError

from .models import ROLES

DECISIONS = ("approve", "refuse", "remove", "make_lead", "make_editor")


def long_enough(_form, field) -> None:
    """Refuse a password shorter than the PASSWORD_MIN_LENGTH setting."""
    shortest = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(field.data or "") < shortest:
        raise ValidationError(_l("Choose a password of at least %(n)d characters.", n=shortest))


def new_password() -> PasswordField:
    return PasswordField(_l("New password"), validators=[DataRequired(), long_enough, Length(max=1000)])


def repeated() -> PasswordField:
    return PasswordField(_l("The same password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))])


def email_field() -> EmailField:
    return EmailField(_l("E-mail"), validators=[
        DataRequired(), Email(message=_l("This is not an e-mail address.")), Length(max=254)])


class SignInForm(FlaskForm):
    email = email_field()
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class SignUpForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = email_field()
    password = new_password()
    confirm = repeated()


class ResetRequestForm(FlaskForm):
    email = email_field()


class SetPasswordForm(FlaskForm):
    password = new_password()
    confirm = repeated()


class ButtonForm(FlaskForm):
    """A form that is only a button (sign out, ask to join): its CSRF token is all it carries."""


class DecisionForm(FlaskForm):
    decision = StringField(validators=[AnyOf(DECISIONS, message=_l("Unknown decision."))])


class PersonForm(FlaskForm):
    role = SelectField(_l("Role"), choices=list(ROLES))
    active = BooleanField(_l("Active"))
