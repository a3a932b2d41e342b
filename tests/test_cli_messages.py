"""click's own messages (usage errors, help headings) appear in Vietnamese."""

from __future__ import annotations

import re

import click
from click.testing import CliRunner

from cchc_xls.cli import main

ENGLISH = re.compile(r"Usage|Options|Commands|Show this message|Error:|Try |Missing|does not exist|"
                     r"Invalid value|No such command|unexpected extra|\b(TEXT|INTEGER|FLOAT|BOOLEAN)\b")


def every_command(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from every_command(command, prefix + (name,))


def test_every_help_is_vietnamese():
    runner = CliRunner()
    commands = [()] + list(every_command(main))
    assert ("generate",) in commands and ("rubric", "export") in commands
    for command in commands:
        result = runner.invoke(main, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Cách dùng:" in result.output and "Tuỳ chọn" in result.output
        assert not ENGLISH.search(result.output), (command, ENGLISH.search(result.output).group(0))


def test_missing_units_is_a_vietnamese_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["generate", "hai-duong-2022", "--period", "2024", "--out", str(tmp_path / "x")], prog_name="cchc")
    assert result.exit_code == 2
    assert "Lỗi: Thiếu tuỳ chọn bắt buộc '--units'." in result.output
    assert "Gõ “cchc generate --help” để xem hướng dẫn." in result.output
    assert not ENGLISH.search(result.output), result.output


def test_other_usage_errors_are_vietnamese(tmp_path):
    runner = CliRunner()
    cases = {
        ("nope",): "Không có lệnh 'nope'.",
        ("appraise", str(tmp_path), "--out", str(tmp_path / "o"), "--by", "foo"): "không thuộc các lựa chọn",
        ("harvest", "hai-duong-2022", str(tmp_path / "absent"), "--units", "u.csv", "--out", "o"): "không tồn tại",
        ("rubrics", "extra"): "Thừa đối số không dùng đến",
    }
    for args, expected in cases.items():
        result = runner.invoke(main, list(args))
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output, (args, result.output)
        assert not ENGLISH.search(result.output), (args, result.output)
