"""The `heritage-map user …` and `heritage-map association …` commands: bootstrapping people and associations."""

from __future__ import annotations

import datetime as dt
import re
import sys

import click
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalogue.models import SLUG_PATTERN, Association
from ..errors import InvalidParameter, NotFound

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def command_app():
    """Return the app the commands work through (no SECRET_KEY needed: they sign nothing), and its engine."""
    from ..cli import command_app as make

    return make()


def checked_email(email: str) -> str:
    """Return `email` lowercased, or fail naming what is wrong with it."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise click.BadParameter(f"{email!r} is not an e-mail address: {exc}", param_hint="EMAIL") from exc
    return email.strip().lower()


def read_password(from_stdin: bool, shortest: int) -> str:
    """Read a password from standard input's first line or a hidden prompt; refuse one that is too short."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < shortest:
        raise click.ClickException(f"the password is too short: at least {shortest} characters "
                                   "(HERITAGE_MAP_PASSWORD_MIN_LENGTH)")
    return password


def association_named(session: Session, slug: str) -> Association:
    """Return the association `slug`, or fail naming the ones there are."""
    from .queries import association_by_slug

    try:
        return association_by_slug(session, slug)
    except NotFound:
        known = session.scalars(select(Association.slug).order_by(Association.slug)).all()
        raise click.ClickException(f"no association called {slug!r}; there are: {', '.join(known) or 'none'} "
                                   "(make one with `heritage-map association create`)") from None


@click.group()
def user() -> None:
    """Make accounts and invite people."""


@user.command("create")
@click.argument("email")
@click.option("--admin", "role", flag_value="admin", help="an administrator: manages people and associations")
@click.option("--moderator", "role", flag_value="moderator", help="a moderator: reviews and publishes")
@click.option("--name", help="the name shown to admins and leads (default: the address's first part)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input's first line")
def create_user(email: str, role: str | None, name: str | None, password_stdin: bool) -> None:
    """Make an account with a password (prompted for), as admin, moderator, or member by default."""
    from .passwords import hash_password
    from .queries import create_user as create

    email = checked_email(email)
    app, engine = command_app()
    password = read_password(password_stdin, app.config["PASSWORD_MIN_LENGTH"])
    with Session(engine) as session, session.begin():
        account = create(session, email, name or "", hash_password(password), role=role or "member")
        made = f"made the {account.role} account {email} (id {account.id}); it can sign in now"
    click.echo(made)


@user.command("invite")
@click.argument("email")
@click.option("--association", "slug", required=True, help="the association's slug")
@click.option("--lead", is_flag=True, help="as the association's lead (approves who joins), not an editor")
@click.option("--name", help="the name shown to admins and leads (default: the address's first part)")
@click.option("--mail", "by_mail", is_flag=True, help="mail the link (through the configured backend) instead of "
                                                      "printing it")
def invite(email: str, slug: str, lead: bool, name: str | None, by_mail: bool) -> None:
    """Make an account without a password, a member of an association, and give its one-time link."""
    from . import letters, mail, queries, tokens
    from ..i18n import localized

    email = checked_email(email)
    app, engine = command_app()
    days = app.config["INVITE_DAYS"]
    with app.test_request_context(base_url=app.config["BASE_URL"] or DEFAULT_BASE_URL):
        with Session(engine) as session, session.begin():
            association = association_named(session, slug)
            account = queries.create_user(session, email, name or "")
            queries.add_member(session, account, association, "lead" if lead else "editor")
            secret = tokens.issue(session, account, "invite", dt.timedelta(days=days))
            message = letters.invite(email, secret, localized(association, "name"), days)
        role = "lead" if lead else "editor"
        if by_mail:
            where = mail.send(app.config, message)
            click.echo(f"invited {email} as {role} of {slug}; the link was mailed"
                       + (f" (written to {where})" if where else ""))
        else:
            click.echo(f"invited {email} as {role} of {slug}; give them this link (it works once, for {days} days):")
            click.echo(letters.absolute_url("accounts.set_password", token=secret))


@click.group()
def association() -> None:
    """Make associations."""


@association.command("create")
@click.argument("slug")
@click.option("--name-en", help="its name in English")
@click.option("--name-fr", help="its name in French")
@click.option("--name-ar", help="its name in Arabic")
@click.option("--published", is_flag=True, help="publish it at once (default: a draft, public once reviewed)")
def create_association(slug: str, name_en: str | None, name_fr: str | None, name_ar: str | None,
                       published: bool) -> None:
    """Make an association, a draft by default, so that its members fill in its profile before it is public."""
    if not re.fullmatch(SLUG_PATTERN, slug) or len(slug) > 80:
        raise click.BadParameter(f"{slug!r} is not a slug: lowercase letters and digits in words joined by single "
                                 "hyphens, at most 80 characters (e.g. taroudant-gardens)", param_hint="SLUG")
    if not any((name_en, name_fr, name_ar)):
        raise click.UsageError("give the association a name: --name-en, --name-fr or --name-ar")
    _app, engine = command_app()
    with Session(engine) as session, session.begin():
        if session.scalar(select(Association.id).where(Association.slug == slug)) is not None:
            raise InvalidParameter(f"an association called {slug!r} exists already")
        state = "published" if published else "draft"
        session.add(Association(slug=slug, name_en=name_en, name_fr=name_fr, name_ar=name_ar,
                                publication_status=state, sources=[]))
    click.echo(f"made the association {slug} ({state}); invite its members with "
               f"`heritage-map user invite EMAIL --association {slug} [--lead]`")
