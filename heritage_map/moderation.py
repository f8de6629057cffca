"""The moves of a record between publication states, and the moderator's form, for events and photos.

draft → submitted → published, or → changes_requested (with the moderator's comment) → submitted again;
published → withdrawn. Editors submit; moderators publish, ask for changes and withdraw (policy "review").

>>> allowed("submitted", "publish"), allowed("draft", "publish")
(True, False)
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from .errors import HeritageMapError

# action → (the states it starts from, the state it leads to)
MOVES = {
    "submit": (("draft", "changes_requested", "withdrawn"), "submitted"),
    "publish": (("submitted",), "published"),
    "request_changes": (("submitted",), "changes_requested"),
    "withdraw": (("published",), "withdrawn"),
}
DONE = {"submit": "submitted", "publish": "published", "request_changes": "sent back for changes",
        "withdraw": "withdrawn"}
REVIEW_ACTIONS = ("publish", "request_changes", "withdraw")
LABELS = {"draft": _l("draft"), "submitted": _l("submitted, waiting for review"),
          "changes_requested": _l("changes requested"), "published": _l("published"), "withdrawn": _l("withdrawn")}


class InvalidMove(HeritageMapError):
    """A record cannot make this move from the state it is in (someone else moved it first, say)."""

    status = 409
    code = "Conflict"


def allowed(state: str, action: str) -> bool:
    """Return whether `action` can be taken on a record in `state`."""
    return action in MOVES and state in MOVES[action][0]


def move(record, action: str, comment: str | None = None) -> None:
    """Change `record.publication_status` by `action`, keeping the moderator's comment; raise InvalidMove if not allowed."""
    if not allowed(record.publication_status, action):
        state = record.publication_status.replace("_", " ")
        raise InvalidMove(f"this record is {state}: it cannot be {DONE[action]} now (was it moved meanwhile?)")
    if action == "request_changes" and not (comment or "").strip():
        raise InvalidMove("say what should change: a comment is needed to request changes", status=400,
                          code="InvalidParameterValue")
    record.publication_status = MOVES[action][1]
    if action == "request_changes":
        record.review_comment = comment.strip()
    elif action == "publish":
        record.review_comment = None


class ReviewForm(FlaskForm):
    action = SelectField(_l("Decision"), choices=[SelectChoice("publish", _l("Publish")),
                                                  SelectChoice("request_changes", _l("Request changes")),
                                                  SelectChoice("withdraw", _l("Withdraw from the public"))])
    comment = TextAreaField(_l("Comment for the association"), validators=[Optional(), Length(max=2000)])


class ActionForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change a state (submit)."""
