"""Fixtures of the accounts' tests: a mailbox folder that the default mail backend writes into."""

from __future__ import annotations

import email
import email.policy
import re

import pytest


class Mailbox:
    """The messages the folder backend wrote, oldest first."""

    def __init__(self, folder):
        self.folder = folder

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(self.folder.glob("*.eml"))] if self.folder.exists() else []

    def last_link(self, path_prefix: str) -> str:
        """Return the path of the last link to `path_prefix` in the last message."""
        body = self.messages()[-1].get_content()
        return re.findall(rf"https?://[^/\s]+({re.escape(path_prefix)}[^\s]+)", body)[-1]


@pytest.fixture
def mailbox(app, tmp_path) -> Mailbox:
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    app.config["MAIL_BACKEND"] = "folder"
    return Mailbox(tmp_path / "mail")
