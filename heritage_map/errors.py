"""Error hierarchy with HTTP status and OGC-style code, rendered in one place: JSON for the API, HTML for people."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .negotiation import wants_html


class HeritageMapError(Exception):
    """Base error: carries an HTTP status, an OGC exception code and a message for people."""

    status = 500
    code = "ServerError"
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class InvalidParameter(HeritageMapError):
    """A query parameter or request body is malformed."""

    status = 400
    code = "InvalidParameterValue"


class NotFound(HeritageMapError):
    """The requested record does not exist or is not published."""

    status = 404
    code = "NotFound"


class SignInRequired(HeritageMapError):
    """The request needs a signed-in person, and there is none."""

    status = 401
    code = "SignInRequired"


class Forbidden(HeritageMapError):
    """The signed-in person may not do this (accounts.policy said no)."""

    status = 403
    code = "Forbidden"


class Conflict(HeritageMapError):
    """The record is not in a state that allows this, or it changed since it was read."""

    status = 409
    code = "Conflict"


class InvalidGeometry(HeritageMapError):
    """A geometry failed validation (type, SRID, bounds, validity or size)."""

    status = 400
    code = "InvalidGeometry"


class TooLarge(InvalidGeometry):
    """A geometry or upload is bigger than the service accepts."""

    status = 413
    code = "PayloadTooLarge"


class RateLimited(HeritageMapError):
    """An address sent more requests of one kind than the service takes in a window."""

    status = 429
    code = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: int, limit: str):
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit  # sent as RateLimit-Policy (IETF httpapi draft): "60;w=60", 60 hits in 60 s


class QueryTimeout(HeritageMapError):
    """A query ran past the statement timeout and the database stopped it."""

    status = 503
    code = "QueryTimeout"
    retry_after = 5


class DiskFull(HeritageMapError):
    """The database server has no space left to write to (SQLSTATE 53100): what was being written is rolled back."""

    status = 507
    code = "InsufficientStorage"

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason  # the server's words (which file, which device), for the log and the command line


class SetupError(HeritageMapError):
    """The database or the machine is not set up as the app needs."""

    status = 503
    code = "ServiceUnavailable"


class DatabaseUnavailable(HeritageMapError):
    """The database cannot be reached just now: stopped, restarting or out of reach."""

    status = 503
    code = "ServiceUnavailable"
    # A clean restart of the embedded cluster takes half a second (stop 0.1-0.4 s, start 0.3 s); a
    # server with a long shutdown checkpoint or WAL to replay after a crash takes seconds. A retry that
    # comes too early costs one refused connection, so clients are asked back soon.
    retry_after = 5

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason  # the driver's words, for the log and set-up's message, never for a page


def N_(text: str) -> str:
    """Mark a fixed message for the catalogues (extraction reads N_); a page translates it as it shows it."""
    return text


# Werkzeug's own descriptions of the HTTP errors people meet, so that the catalogues translate them too.
WERKZEUG_MESSAGES = (
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_("The requested URL was not found on the server. If you entered the URL manually please check your "
       "spelling and try again."),
    N_("The method is not allowed for the requested URL."),
    N_("The data value transmitted exceeds the capacity limit."),
)


# Said above a form sent back because its save was lost with the database connection.
NOT_SAVED = N_("The connection to the database was lost while saving: nothing was saved. Everything you entered is "
               "still in the form below; send it again in a moment.")


def keep_form_on_outage(page: Callable[[str], tuple]) -> None:
    """Have this form post answer `page(message)` (the form as sent) should the database be lost before it is saved.

    The page is rendered after the lost transaction is rolled back, from a new connection; when the database
    cannot give one either, the plain 503 page is shown instead.
    """
    g.form_on_outage = page


def _form_on_outage(exc: DatabaseUnavailable):
    """Return the form page a view asked for (keep_form_on_outage) as a 503, or None when there is none to show."""
    page = g.pop("form_on_outage", None)
    if page is None or request.method != "POST" or not wants_html():
        return None
    s = g.get("db_session")
    try:
        if s is not None:
            s.rollback()  # the server ended the transaction: nothing of it was written; this ends ours
        body, _status = page(gettext(NOT_SAVED))
    except HeritageMapError:
        return None
    return body, exc.status, {"Retry-After": str(exc.retry_after)}


def render_error(status: int, code: str, message: str):
    """Render one error as a JSON body or an HTML page, by what the client wants.

    The JSON body keeps the English that clients may match on; a page says a fixed message in its language
    (a message that names the request's values has no translation and stays as written).
    """
    if not wants_html():
        return jsonify({"code": code, "description": message}), status
    translated = gettext(message) if message else message
    # A message the catalogues do not know is English: marked so, on a page in another language.
    untranslated = translated == message and get_locale().language != "en"
    return render_template("error.html", status=status, code=code, message=translated,
                           message_lang="en" if untranslated else None), status


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(HeritageMapError)
    def handle_domain_error(exc: HeritageMapError):
        if isinstance(exc, SignInRequired) and request.method == "GET" and wants_html():
            return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))
        if isinstance(exc, DatabaseUnavailable):
            if (kept := _form_on_outage(exc)) is not None:
                return kept
            if "_login_user" not in g:
                # The account could not be read (Flask-Login keeps it on g as _login_user): the page is drawn
                # for no one, else its templates would ask the database again and the 503 become a 500.
                g._login_user = AnonymousUserMixin()
        body, status = render_error(exc.status, exc.code, exc.message)
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        if isinstance(exc, RateLimited):
            headers["RateLimit-Policy"] = exc.limit
        return body, status, headers

    @app.errorhandler(Exception)
    def handle_unexpected_error(exc: Exception):
        # A bug or a failing database: log the details for us, tell the person without leaking SQL.
        app.logger.exception("unexpected error on %s", request.path)
        return render_error(500, "ServerError", N_("something went wrong on the server; the error has been logged"))

    @app.errorhandler(CSRFError)
    def handle_csrf_error(exc: CSRFError):
        # Flask-WTF's own words ("The CSRF token is missing.") mean nothing to most people.
        return render_error(400, "CSRFError", _(
            "This form could not be accepted: its security token is missing or has expired (it changes when "
            "you sign in or out, and when the browser is closed). Go back, reload the page and send it again."))

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        # One code for "too large", whether the body or the geometry in it is.
        code = TooLarge.code if exc.code == 413 else (exc.name or "Error").replace(" ", "")
        message = exc.description or exc.name
        if exc.code == 413:
            from .limits import size

            limit = request.max_content_length
            message = _("the request body is over the %(limit)s this service accepts", limit=size(limit)) \
                if limit else message
        body, status = render_error(exc.code or 500, code, message)
        # Werkzeug's own headers of the error: a 405's Allow, which HTTP requires.
        return body, status, [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
