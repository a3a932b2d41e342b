"""The README documents every command, and every command explains itself."""

from pathlib import Path

import click

from cchc_xls.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "cchc"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path, command


def test_every_command_is_in_the_readme_with_help_text():
    found = list(commands(main))
    assert len(found) >= 11
    for path, command in found:
        assert f"`{path}" in README, f"{path} is not documented in README.md"
        assert (command.help or "").strip(), f"{path} has no help text"


def test_quick_start_has_exactly_the_two_commands():
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make demo" in quick and "make test" in quick
