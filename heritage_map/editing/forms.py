"""The forms of a project, a proposed site and an association's profile (WTForms, CSRF token included), and what
they hold as values."""

from __future__ import annotations

import json
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (DateField, FloatField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField, ValidationError, widgets)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ..catalogue import vocab
from ..catalogue.models import SLUG_PATTERN

LINE = 500  # one line of text: a name, a title, a source
TEXT = 20_000  # a description


class CheckboxesField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def lines(text: str | None) -> list[str]:
    """Return the non-empty lines of a text area, stripped.

    >>> lines(" a \\n\\n b ")
    ['a', 'b']
    >>> lines(None)
    []
    """
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def slugify(text: str) -> str:
    """Return a URL slug made of `text`'s letters and digits (accents dropped; empty for Arabic-only text).

    >>> slugify("Jardin d'Été — Bab El Khemis!")
    'jardin-d-ete-bab-el-khemis'
    >>> slugify("حديقة")
    ''
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))[:80].strip("-")


def optional_id(value) -> int | None:
    """Return a chosen id, or None for the empty choice (a bad value is a ValueError: "Not a valid choice")."""
    return int(value) if value not in (None, "", "None") else None


class RecordForm(FlaskForm):
    """What project and site forms share: the version read, a slug, sources and the geometry."""

    version = HiddenField()
    slug = StringField(_l("Slug (the last part of the record's address)"),
                       validators=[Optional(), Length(max=80), Regexp(f"^{SLUG_PATTERN}$", message=_l(
                           "lowercase letters and digits joined by single hyphens, e.g. rampart-garden"))])
    description_en = TextAreaField(_l("Description (English)"), validators=[Length(max=TEXT)])
    description_fr = TextAreaField(_l("Description (French)"), validators=[Length(max=TEXT)])
    description_ar = TextAreaField(_l("Description (Arabic)"), validators=[Length(max=TEXT)])
    sources = TextAreaField(_l("Sources (one a line)"), validators=[Length(max=TEXT)])
    geometry = HiddenField()
    footprint_file = FileField(_l("Or upload a file: GeoJSON, KML, GPX, GeoPackage or zipped Shapefile, any CRS"))

    def validate_association(self, field):
        if field.data not in [value for value, _label in self.association.choices if value != ""] and not (
                field.data is None and ("", "—") in self.association.choices):
            raise ValidationError(_l("Not a valid choice."))

    def validate_version(self, field):
        if field.data and not field.data.isdigit():
            raise ValidationError(_l("the version read is not a number"))


class ProjectForm(RecordForm):
    """Every field of a project, its linked sites and its partner associations."""

    association = SelectField(_l("Lead association"), coerce=optional_id, validate_choice=False)
    title_en = StringField(_l("Title (English)"), validators=[Length(max=LINE)])
    title_fr = StringField(_l("Title (French)"), validators=[Length(max=LINE)])
    title_ar = StringField(_l("Title (Arabic)"), validators=[Length(max=LINE)])
    status = SelectField(_l("Progress"), choices=[(s, s) for s in vocab.PROJECT_STATUSES])
    start_date = DateField(_l("Start"), validators=[Optional()])
    end_date = DateField(_l("End"), validators=[Optional()])
    themes = CheckboxesField(_l("Themes"), choices=[(t, t) for t in vocab.THEMES])
    partners = TextAreaField(_l("Other partners, not on the map (one a line)"), validators=[Length(max=TEXT)])
    forum_session = SelectField(_l("Forum session it was born of"), coerce=optional_id, validate_choice=False)
    forum_recommendation = SelectField(_l("Forum recommendation it answers"), validate_choice=False)
    sites = SelectMultipleField(_l("Sites it works on"), coerce=int, validate_choice=False)
    partner_associations = CheckboxesField(_l("Partner associations"), coerce=int)

    def validate_title_en(self, field):
        if not (field.data or self.title_fr.data or self.title_ar.data):
            raise ValidationError(_l("give the project a title in at least one language"))

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("the end comes before the start"))

    def validate_forum_session(self, field):
        if field.data is not None and field.data not in self.recommendations:
            raise ValidationError(_l("Not a valid choice."))

    def validate_forum_recommendation(self, field):
        if field.data and field.data not in self.recommendations.get(self.forum_session.data, ()):
            raise ValidationError(_l("this recommendation is not one of the chosen forum session's"))

    def set_choices(self, sessions, associations, editable) -> None:
        """Fill the choices: forum sessions and their recommendations, partners, the lead associations allowed."""
        self.forum_session.choices = [("", "—")] + [(s.id, f"{s.edition} ({s.year or '?'})") for s in sessions]
        self.recommendations = {s.id: tuple(s.recommendations) for s in sessions}
        self.forum_recommendation.choices = [("", "—")] + [
            (r, f"{s.edition}: {r}") for s in sessions for r in s.recommendations]
        self.partner_associations.choices = [(a.id, a.name_en or a.name_fr or a.slug) for a in associations]
        self.association.choices = [(a.id, a.name_en or a.name_fr or a.slug) for a in editable]

    def title(self) -> str:
        """Return the title typed in the first language that has one."""
        return self.title_en.data or self.title_fr.data or self.title_ar.data or ""


class SiteForm(RecordForm):
    """A proposed heritage or environmental site: names, kind and category, sources, position confidence."""

    association = SelectField(_l("Proposed by"), coerce=optional_id, validate_choice=False)
    name_en = StringField(_l("Name (English)"), validators=[Length(max=LINE)])
    name_fr = StringField(_l("Name (French)"), validators=[Length(max=LINE)])
    name_ar = StringField(_l("Name (Arabic)"), validators=[Length(max=LINE)])
    name_zgh = StringField(_l("Name (Tamazight)"), validators=[Length(max=LINE)])
    category = SelectField(_l("Category"), choices=[(c.slug, f"{c.en} ({c.kind})")
                                                   for c in vocab.CATEGORIES.values()])
    period = StringField(_l("Period"), validators=[Length(max=LINE)])
    coord_confidence = SelectField(_l("How far the position can be trusted"),
                                   choices=[(c, c) for c in vocab.CONFIDENCES], validators=[DataRequired()])
    protection_status = SelectField(_l("Protection"), choices=[(p, p) for p in vocab.PROTECTIONS])
    protection_buffer_m = IntegerField(_l("Protection zone (metres)"),
                                       validators=[Optional(), NumberRange(min=0, max=10_000)])
    condition = SelectField(_l("Condition"), choices=[(c, c) for c in vocab.CONDITIONS])
    threats = TextAreaField(_l("Threats"), validators=[Length(max=TEXT)])
    visiting_info = TextAreaField(_l("Visiting"), validators=[Length(max=TEXT)])

    def validate_name_en(self, field):
        if not (field.data or self.name_fr.data or self.name_ar.data or self.name_zgh.data):
            raise ValidationError(_l("give the site a name in at least one language"))

    def validate_sources(self, field):
        if not lines(field.data):
            raise ValidationError(_l("say where the facts and the position come from (at least one source)"))

    def set_choices(self, editable, moderator: bool) -> None:
        """Fill the associations the site may be proposed by (moderators may leave it to none)."""
        self.association.choices = ([("", "—")] if moderator else []) + [
            (a.id, a.name_en or a.name_fr or a.slug) for a in editable]

    def title(self) -> str:
        """Return the name typed in the first language that has one."""
        return self.name_en.data or self.name_fr.data or self.name_ar.data or self.name_zgh.data or ""


class AssociationForm(RecordForm):
    """An association's profile: names, descriptions, themes, contact, website, seat (a point) and sources."""

    name_en = StringField(_l("Name (English)"), validators=[Length(max=LINE)])
    name_fr = StringField(_l("Name (French)"), validators=[Length(max=LINE)])
    name_ar = StringField(_l("Name (Arabic)"), validators=[Length(max=LINE)])
    themes = CheckboxesField(_l("Themes"), choices=[(t, t) for t in vocab.THEMES])
    contact = StringField(_l("Contact (telephone, e-mail or address)"), validators=[Length(max=LINE)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=LINE), Regexp(
        r"^https?://[^\s<>\"]+$", message=_l("a web address starting with http:// or https://"))])
    # The seat typed rather than drawn; checked as a drawn point is (inside Taroudant province).
    seat_lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(min=-180, max=180)])
    seat_lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(min=-90, max=90)])

    def validate_name_en(self, field):
        if not (field.data or self.name_fr.data or self.name_ar.data):
            raise ValidationError(_l("give the association a name in at least one language"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Here, not in a field's validator: Optional() stops those of an empty field.
        if (self.seat_lat.data is None) != (self.seat_lon.data is None):
            self.seat_lat.errors = [*self.seat_lat.errors, _l("type both the longitude and the latitude, or neither")]
            return False
        return valid

    def typed_seat(self) -> str | None:
        """Return the seat typed as coordinates, as GeoJSON text (None when not typed)."""
        if self.seat_lon.data is None or self.seat_lat.data is None:
            return None
        return json.dumps({"type": "Point", "coordinates": [self.seat_lon.data, self.seat_lat.data]})

    def title(self) -> str:
        """Return the name typed in the first language that has one."""
        return self.name_en.data or self.name_fr.data or self.name_ar.data or ""
