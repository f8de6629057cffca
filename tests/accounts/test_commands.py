"""`heritage-map user create|invite` and `association create`, on the CLI's own database (they commit for real)."""

from __future__ import annotations

import hashlib

import psycopg
from click.testing import CliRunner

from heritage_map.cli import main
from tests.test_cli import cli_url, run  # noqa: F401 (fixtures: a fresh database the commands set up)


def query(url: str, sql: str, *args):
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(sql, args or None).fetchall()


def test_user_create_makes_an_admin_with_the_password_from_standard_input(cli_url, run, monkeypatch):
    result = CliRunner().invoke(main, ["user", "create", "--admin", "Boss@Example.org", "--name", "The boss",
                                       "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "made the admin account boss@example.org" in result.output
    [(role, name, active, hashed)] = query(cli_url, "SELECT role, display_name, active, password_hash FROM users "
                                                    "WHERE email = 'boss@example.org'")
    assert (role, name, active) == ("admin", "The boss", True) and hashed.startswith("$argon2id$")
    again = CliRunner().invoke(main, ["user", "create", "--moderator", "boss@example.org", "--password-stdin"],
                               input="a long enough password\n")
    assert again.exit_code == 1
    assert "Error: an account with the e-mail address boss@example.org exists already" in again.output


def test_user_create_refuses_a_short_password_and_a_bad_address(run):
    short = CliRunner().invoke(main, ["user", "create", "--moderator", "mod@example.org", "--password-stdin"],
                               input="short\n")
    assert short.exit_code == 1 and "the password is too short: at least 10 characters" in short.output
    bad = run("user", "create", "not-an-address")
    assert bad.exit_code == 2 and "'not-an-address' is not an e-mail address" in bad.output


def test_user_create_prompts_for_the_password_twice(cli_url, run):
    result = CliRunner().invoke(main, ["user", "create", "prompted@example.org"],
                                input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert query(cli_url, "SELECT role FROM users WHERE email = 'prompted@example.org'") == [("member",)]


def test_association_create_makes_a_draft_unless_told_to_publish(cli_url, run):
    assert run("association", "create", "cli-gardens", "--name-en", "Gardens").exit_code == 0
    result = run("association", "create", "cli-walls", "--name-fr", "Les murs", "--published")
    assert result.exit_code == 0 and "made the association cli-walls (published)" in result.output
    rows = query(cli_url, "SELECT slug, publication_status FROM associations WHERE slug LIKE 'cli-%%' ORDER BY slug")
    assert rows == [("cli-gardens", "draft"), ("cli-walls", "published")]


def test_association_create_names_the_problem_with_bad_input(run):
    assert "exists already" in run("association", "create", "taroudant-bladna", "--name-en", "X").output
    bad = run("association", "create", "Not A Slug", "--name-en", "X")
    assert bad.exit_code == 2 and "'Not A Slug' is not a slug" in bad.output
    nameless = run("association", "create", "cli-nameless")
    assert nameless.exit_code == 2 and "give the association a name" in nameless.output


def test_user_invite_makes_an_account_without_password_a_membership_and_prints_a_one_time_link(cli_url, run):
    result = run("user", "invite", "lead@example.org", "--association", "taroudant-bladna", "--lead")
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:5000/password-reset/")
    secret = link.rsplit("/", 1)[1]
    rows = query(cli_url, "SELECT u.password_hash, m.role, m.state, t.purpose, t.token_hash FROM users u "
                          "JOIN memberships m ON m.user_id = u.id JOIN account_tokens t ON t.user_id = u.id "
                          "WHERE u.email = 'lead@example.org'")
    assert rows == [(None, "lead", "approved", "invite", hashlib.sha256(secret.encode()).hexdigest())]


def test_user_invite_mails_the_link_with_mail(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HERITAGE_MAP_MAIL_DIR", str(tmp_path))
    monkeypatch.setenv("HERITAGE_MAP_BASE_URL", "https://heritage.example.org/")
    result = run("user", "invite", "mailed@example.org", "--association", "taroudant-bladna", "--mail")
    assert result.exit_code == 0, result.output
    assert "the link was mailed" in result.output and "/password-reset/" not in result.output
    [written] = tmp_path.glob("*.eml")
    assert "https://heritage.example.org/password-reset/" in written.read_text()


def test_user_invite_names_the_problem_with_bad_input(run):
    unknown = run("user", "invite", "x@example.org", "--association", "nowhere")
    assert unknown.exit_code == 1
    assert "Error: no association called 'nowhere'; there are: " in unknown.output
    assert "taroudant-bladna" in unknown.output
    run("user", "invite", "twice@example.org", "--association", "taroudant-bladna")
    again = run("user", "invite", "twice@example.org", "--association", "taroudant-bladna")
    assert again.exit_code == 1 and "exists already" in again.output
