"""People and memberships: my associations, asking to join, an association's members, the admins' people page."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import db
from ..catalogue import queries as catalogue
from ..catalogue.models import Association
from ..errors import InvalidParameter, NotFound
from ..i18n import localized
from . import letters, mail, policy, queries, tokens
from .forms import ButtonForm, DecisionForm, PersonForm
from .models import User

bp = Blueprint("people", __name__)


def association_for(slug: str, action: str) -> Association:
    """Return the association `slug` if the signed-in person may do `action` for it; else raise 401, 403 or 404."""
    try:
        association = queries.association_by_slug(db.session(), slug)
    except NotFound:
        association = None
    # The same answer for a draft as for no association at all: a draft's existence is not told.
    if association is None or (association.publication_status != "published"
                               and not policy.can(current_user, action, association.id)):
        raise NotFound(f"no published association called {slug!r}")
    policy.require(action, association.id)
    return association


@bp.get("/my-associations")
@login_required
def my_associations():
    """The person's memberships and requests, and the associations they can ask to join."""
    s = db.session()
    mine = {m.association_id: m for m in current_user.memberships}
    others = [a for a in queries.joinable_associations(s) if a.id not in mine]
    return render_template("accounts/my_associations.html", memberships=sorted(
        mine.values(), key=lambda m: m.association.slug), others=others, form=ButtonForm())


@bp.post("/associations/<slug:slug>/join")
@login_required
def join(slug: str):
    """Ask to join a published association as an editor; its leads (or the admins) are told by mail."""
    form = ButtonForm()
    if not form.validate_on_submit():
        raise InvalidParameter(_("The request to join could not be read; reload the page and try again."))
    s = db.session()
    association = catalogue.get_association(s, slug)
    name = localized(association, "name")
    if queries.ask_to_join(s, current_user, association) is None:
        flash(_("You have already asked to join %(name)s, or belong to it.", name=name))
        return redirect(url_for("people.my_associations"))
    recipients = [u.email for u in queries.leads_of(s, association.id) if u.id != current_user.id]
    s.commit()
    for to in recipients:
        mail.send(current_app.config, letters.join_request(to, current_user.display_name, name, slug))
    flash(_("You have asked to join %(name)s; its lead or an administrator will answer.", name=name))
    return redirect(url_for("people.my_associations"))


@bp.get("/associations/<slug:slug>/members")
def members(slug: str):
    """An association's members and requests to join, for its leads and the admins."""
    association = association_for(slug, "approve_members")
    return render_template("accounts/members.html", association=association,
                           memberships=queries.memberships_of(db.session(), association.id), form=DecisionForm())


@bp.post("/associations/<slug:slug>/members/<int:user_id>")
def decide(slug: str, user_id: int):
    """Approve or refuse a request, remove a member, or change a member's role, within this association only."""
    association = association_for(slug, "approve_members")
    form = DecisionForm()
    if not form.validate_on_submit():
        raise InvalidParameter(" ".join(e for errors in form.errors.values() for e in errors))
    s = db.session()
    # Looked up within the association of the URL, the one the permission was checked for: an id of
    # someone in another association finds nothing here.
    found = queries.membership(s, user_id, association.id)
    if found is None:
        raise NotFound(_("This person has no membership of this association."))
    decision, person = form.decision.data, found.user.display_name
    expected = "requested" if decision in ("approve", "refuse") else "approved"
    if found.state != expected:
        raise InvalidParameter(_("This decision does not fit: the membership is %(state)s.", state=found.state))
    if decision == "approve":
        found.state = "approved"
        message = _("%(person)s is now a member.", person=person)
    elif decision in ("refuse", "remove"):
        s.delete(found)
        message = _("%(person)s is not a member.", person=person)
    else:
        found.role = "lead" if decision == "make_lead" else "editor"
        message = _("%(person)s is now %(role)s.", person=person, role=found.role)
    s.commit()
    flash(message)
    return redirect(url_for("people.members", slug=slug))


@bp.get("/admin/people")
def admin_people():
    """Every account, its role, whether it is active and its memberships (admins only)."""
    policy.require("manage")
    return render_template("accounts/admin_people.html", people=queries.people(db.session()), form_for=lambda u:
                           PersonForm(formdata=None, role=u.role, active=u.active))


@bp.post("/admin/people/<int:user_id>")
def admin_person(user_id: int):
    """Change an account's role, or deactivate or reactivate it (admins only, never their own)."""
    policy.require("manage")
    form = PersonForm()
    if not form.validate_on_submit():
        raise InvalidParameter(" ".join(e for errors in form.errors.values() for e in errors))
    s = db.session()
    user = s.get(User, user_id)
    if user is None:
        raise NotFound(_("There is no such account."))
    if user.id == current_user.id and (form.role.data != user.role or not form.active.data):
        raise InvalidParameter(_("You cannot change your own role or deactivate yourself: ask another admin, so "
                                 "that the site always keeps one."))
    user.role, user.active = form.role.data, form.active.data
    if not user.active:
        tokens.revoke(s, user.id, ("reset", "invite", "confirm"))  # no link brings it back
    s.commit()
    flash(_("%(person)s: role %(role)s, %(state)s.", person=user.display_name, role=user.role,
            state=_("active") if user.active else _("deactivated")))
    return redirect(url_for("people.admin_people"))


@bp.get("/admin/associations")
def admin_associations():
    """Every association, whatever its state, with its members and requests counted (admins only)."""
    policy.require("manage")
    s = db.session()
    return render_template("accounts/admin_associations.html", associations=queries.all_associations(s),
                           counts=queries.member_counts(s))
