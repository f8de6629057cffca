"""The mails the accounts send, with their one-time links built from HERITAGE_MAP_BASE_URL when it is set.

A link is built from the setting rather than the request's Host header whenever it can be: a forged Host
would otherwise put an attacker's site in a reset mail sent to a real person.
"""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _

from .mail import Message


def absolute_url(endpoint: str, **values) -> str:
    """Return the full address of `endpoint`: HERITAGE_MAP_BASE_URL + its path, else the request's own."""
    base = current_app.config.get("BASE_URL")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def reset(to: str, secret: str, minutes: int) -> Message:
    """The mail with a link to choose a new password."""
    link = absolute_url("accounts.set_password", token=secret)
    return Message(to, _("Choose a new password for the Taroudant Heritage Map"), _(
        "Someone (you, we hope) asked to choose a new password for the account of this address on the "
        "Taroudant Heritage Map.\n\nTo choose one, open this link within %(minutes)d minutes; it works once:\n"
        "%(link)s\n\nIf you did not ask, ignore this message: your password has not changed.",
        minutes=minutes, link=link))


def invite(to: str, secret: str, association: str, days: int) -> Message:
    """The mail inviting a person to an account made for them."""
    link = absolute_url("accounts.set_password", token=secret)
    return Message(to, _("You are invited to the Taroudant Heritage Map"), _(
        "An account was made for you on the Taroudant Heritage Map, as a member of %(association)s.\n\n"
        "To choose your password and sign in, open this link within %(days)d days; it works once:\n%(link)s",
        association=association, days=days, link=link))


def confirm(to: str, secret: str, minutes: int) -> Message:
    """The mail confirming the address given at sign-up."""
    link = absolute_url("accounts.confirm", token=secret)
    return Message(to, _("Confirm your account on the Taroudant Heritage Map"), _(
        "Welcome to the Taroudant Heritage Map. To confirm this address and start using your account, open "
        "this link within %(minutes)d minutes; it works once:\n%(link)s\n\nIf you did not sign up, ignore "
        "this message: no account will be made.", minutes=minutes, link=link))


def already_registered(to: str) -> Message:
    """The mail to an address that has an account when someone signs up with it again."""
    link = absolute_url("accounts.reset_password")
    return Message(to, _("Your account on the Taroudant Heritage Map"), _(
        "Someone (you, we hope) tried to sign up on the Taroudant Heritage Map with this address, which has an "
        "account already. Sign in with it, or choose a new password here:\n%(link)s\n\nIf it was not you, "
        "ignore this message.", link=link))


def join_request(to: str, person: str, association: str, association_slug: str) -> Message:
    """The mail telling an association's lead (or the admins) that someone asked to join."""
    link = absolute_url("people.members", slug=association_slug)
    return Message(to, _("%(person)s asks to join %(association)s", person=person, association=association), _(
        "%(person)s asks to join %(association)s on the Taroudant Heritage Map. Approve or refuse here:\n%(link)s",
        person=person, association=association, link=link))
