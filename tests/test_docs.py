"""Every route, setting and command is documented in the README (a test fails when one is added silently)."""

import re
from pathlib import Path

import click

from heritage_map.cli import main
from heritage_map.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent  # the repository
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_route_is_in_the_readme(app):
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule) for rule in app.url_map.iter_rules()
              if rule.endpoint != "static"}
    missing = sorted(r for r in routes if f"`{r}`" not in README)
    assert missing == []


def test_every_setting_is_in_the_readme():
    missing = sorted(name for name in SETTINGS if f"`{name}`" not in README)
    assert missing == []


def commands(group: click.Group, prefix: str = "heritage-map"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix} {name}")


def test_every_command_is_in_the_readme():
    missing = sorted(c for c in commands(main) if f"`{c}" not in README)
    assert missing == []


def test_the_quick_start_is_two_commands_and_ci_runs_the_test_one():
    block = README.split("## quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    assert lines == ["./scripts/run", "./scripts/test"]
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()
