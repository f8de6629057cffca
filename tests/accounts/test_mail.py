"""The mail backends: a folder (the default) and SMTP, the latter against a small SMTP server on localhost."""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import socketserver
import threading

import pytest

from heritage_map.accounts import mail
from heritage_map.config import from_env
from heritage_map.errors import SetupError

MESSAGE = mail.Message("amina@example.org", "A subject", "A body with a link:\nhttp://127.0.0.1:5000/x\n")


def test_the_folder_backend_writes_each_message_to_its_own_file_and_logs_it(tmp_path, caplog):
    backend = mail.FolderBackend(tmp_path / "mail", "noreply@example.org")
    with caplog.at_level(logging.INFO, logger="heritage_map.mail"):
        first, second = backend.send(MESSAGE), backend.send(MESSAGE)
    assert first != second and sorted((tmp_path / "mail").iterdir()) == sorted([first, second])
    written = email.message_from_bytes(first.read_bytes(), policy=email.policy.default)
    assert (written["To"], written["From"], written["Subject"]) == ("amina@example.org", "noreply@example.org",
                                                                    "A subject")
    assert written.get_content() == MESSAGE.body
    assert first.stat().st_mode & 0o077 == 0  # it holds one-time links: for the app's user only
    assert "http://127.0.0.1:5000/x" in caplog.text and str(first) in caplog.text


def test_the_default_backend_is_the_folder_in_the_instance(tmp_path):
    backend = mail.backend(from_env(tmp_path, {}))
    assert isinstance(backend, mail.FolderBackend) and backend.folder == tmp_path / "mail"


def test_the_smtp_backend_needs_a_host(tmp_path):
    with pytest.raises(SetupError, match="HERITAGE_MAP_SMTP_HOST is not set"):
        mail.backend(from_env(tmp_path, {"HERITAGE_MAP_MAIL_BACKEND": "smtp"}))


def test_an_unknown_backend_is_refused_naming_the_known_ones(tmp_path):
    with pytest.raises(SetupError, match="HERITAGE_MAP_MAIL_BACKEND='pigeon': expected one of folder, smtp"):
        from_env(tmp_path, {"HERITAGE_MAP_MAIL_BACKEND": "pigeon"})


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of SMTP (RFC 5321) for smtplib: EHLO with AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        got = self.server.received
        self.reply("220 localhost test SMTP")
        while True:
            line = self.rfile.readline().decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-localhost")
                self.reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                got["auth"] = base64.b64decode(line.split()[2]).split(b"\0")[1:]
                self.reply("235 ok")
            elif verb in ("MAIL", "RCPT"):
                got.setdefault(verb, []).append(line)
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                got["data"] = data[:-3]  # less the closing ".\r\n"
                self.reply("250 queued")
            elif verb == "QUIT" or not line:
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


@pytest.fixture
def smtp_server():
    server = socketserver.TCPServer(("127.0.0.1", 0), SMTPHandler)
    server.received = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_smtp_backend_sends_through_the_server_the_settings_name(tmp_path, smtp_server):
    config = from_env(tmp_path, {"HERITAGE_MAP_MAIL_BACKEND": "smtp", "HERITAGE_MAP_SMTP_HOST": "127.0.0.1",
                                 "HERITAGE_MAP_SMTP_PORT": str(smtp_server.server_address[1]),
                                 "HERITAGE_MAP_SMTP_TLS": "none", "HERITAGE_MAP_SMTP_USER": "mailer",
                                 "HERITAGE_MAP_SMTP_PASSWORD": "s3cret", "HERITAGE_MAP_SMTP_FROM": "map@example.org"})
    mail.send(config, MESSAGE)
    got = smtp_server.received
    assert got["auth"] == [b"mailer", b"s3cret"]
    assert [c.upper() for c in got["MAIL"] + got["RCPT"]] == ["MAIL FROM:<MAP@EXAMPLE.ORG>",
                                                              "RCPT TO:<AMINA@EXAMPLE.ORG>"]
    sent = email.message_from_bytes(got["data"], policy=email.policy.default)
    assert sent["Subject"] == "A subject" and sent.get_content().replace("\r\n", "\n") == MESSAGE.body


def test_the_smtp_backend_defaults_to_starttls_on_port_587(tmp_path):
    backend = mail.backend(from_env(tmp_path, {"HERITAGE_MAP_MAIL_BACKEND": "smtp",
                                               "HERITAGE_MAP_SMTP_HOST": "mail.example.org"}))
    assert (backend.tls, backend.port) == ("starttls", 587)
    assert mail.backend(from_env(tmp_path, {"HERITAGE_MAP_MAIL_BACKEND": "smtp", "HERITAGE_MAP_SMTP_HOST": "m",
                                            "HERITAGE_MAP_SMTP_TLS": "ssl"})).port == 465


def test_starttls_is_refused_by_a_server_that_does_not_offer_it(tmp_path, smtp_server):
    import smtplib

    backend = mail.SmtpBackend("127.0.0.1", smtp_server.server_address[1], "map@example.org", tls="starttls")
    with pytest.raises(smtplib.SMTPNotSupportedError):
        backend.send(MESSAGE)
    assert "data" not in smtp_server.received  # nothing went out in the clear
