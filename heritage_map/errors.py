"""Error hierarchy with HTTP status and OGC-style code, rendered in one place: JSON for the API, HTML for people."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import get_locale, gettext
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


class InvalidGeometry(HeritageMapError):
    """A geometry failed validation (type, SRID, bounds, validity or size)."""

    status = 400
    code = "InvalidGeometry"


class TooLarge(InvalidGeometry):
    """A geometry or upload is bigger than the service accepts."""

    status = 413
    code = "PayloadTooLarge"


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
        body, status = render_error(exc.status, exc.code, exc.message)
        return body, status, {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}

    @app.errorhandler(Exception)
    def handle_unexpected_error(exc: Exception):
        # A bug or a failing database: log the details for us, tell the person without leaking SQL.
        app.logger.exception("unexpected error on %s", request.path)
        return render_error(500, "ServerError", N_("something went wrong on the server; the error has been logged"))

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        # One code for "too large", whether the body or the geometry in it is.
        code = TooLarge.code if exc.code == 413 else (exc.name or "Error").replace(" ", "")
        return render_error(exc.code or 500, code, exc.description or exc.name)
