"""Mail to people (password links, invitations, join requests) through a backend chosen by a setting.

No SMTP server is assumed: the default backend writes each message to a folder and to the log, where a
person running the app on a laptop finds the link. The 'smtp' backend sends through a server named by the
HERITAGE_MAP_SMTP_* settings, with smtplib.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

log = logging.getLogger("heritage_map.mail")


@dataclass(frozen=True)
class Message:
    """One plain-text mail to one person."""

    to: str
    subject: str
    body: str


def _as_email(message: Message, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    mail.set_content(message.body)
    return mail


class FolderBackend:
    """Write each message as an .eml file into a folder, and log it (the default)."""

    def __init__(self, folder: str | Path, sender: str):
        self.folder = Path(folder)
        self.sender = sender

    def send(self, message: Message) -> Path:
        """Write `message` to the folder and the log; return the file written."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"  # sorted by time, never two alike
        path.write_bytes(bytes(_as_email(message, self.sender)))
        path.chmod(0o600)  # it holds one-time links
        log.info("mail to %s, %r, written to %s:\n%s", message.to, message.subject, path, message.body)
        return path


class SmtpBackend:
    """Send each message through an SMTP server, with STARTTLS, TLS from the start ('ssl') or neither."""

    def __init__(self, host: str, port: int, sender: str, tls: str = "starttls", user: str | None = None,
                 password: str | None = None, timeout: float = 30):
        self.host, self.sender, self.tls, self.user, self.password = host, sender, tls, user, password
        self.port = port or (465 if tls == "ssl" else 587)
        self.timeout = timeout

    def send(self, message: Message) -> None:
        """Send `message`; raise smtplib's or the socket's error when the server refuses or cannot be reached."""
        context = ssl.create_default_context()
        if self.tls == "ssl":
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with server:
            if self.tls == "starttls":
                server.starttls(context=context)
            if self.user:
                server.login(self.user, self.password or "")
            server.send_message(_as_email(message, self.sender))
        log.info("mail to %s, %r, sent through %s:%s", message.to, message.subject, self.host, self.port)


def backend(config: dict) -> FolderBackend | SmtpBackend:
    """Return the mail backend the settings choose."""
    if config.get("MAIL_BACKEND", "folder") == "smtp":
        if not config.get("SMTP_HOST"):
            from ..errors import SetupError

            raise SetupError("HERITAGE_MAP_MAIL_BACKEND is 'smtp' but HERITAGE_MAP_SMTP_HOST is not set")
        return SmtpBackend(config["SMTP_HOST"], config.get("SMTP_PORT") or 0, config["SMTP_FROM"],
                           config.get("SMTP_TLS", "starttls"), config.get("SMTP_USER"), config.get("SMTP_PASSWORD"))
    return FolderBackend(config["MAIL_DIR"], config.get("SMTP_FROM") or "noreply@localhost")


def send(config: dict, message: Message):
    """Send `message` through the configured backend."""
    return backend(config).send(message)
