"""`cchc rubrics`, `cchc rubric show`, `cchc rubric check`: what an officer types and sees."""

from __future__ import annotations

import inspect
import json
import shutil
from textwrap import dedent

import click
import pytest
from click.testing import CliRunner

from cchc_xls.cli import main
from cchc_xls.numbers import to_json_number
from cchc_xls.rubric import bundled_rubric_paths, load_rubric, rubric_nodes_json, rubrics_dir

IDS = ("thai-nguyen-2021", "hai-duong-2022", "ha-trung-2023")

GOOD = """\
id: thu-2024
title: "Bộ tiêu chí thử"
legal_basis:
  document: "Quyết định số 1/QĐ-UBND"
  date: "2024-01-02"
  issuer: "UBND tỉnh Thử"
  province: "Thử"
total: 10
groups:
  bands:
    - {name: "Tốt", min: 8}
    - {name: "Yếu", min: 0}
tree:
  - code: "I"
    label: "LĨNH VỰC MỘT"
    max: 6
    children:
      - code: "1.1"
        label: "Tiêu chí một"
        max: 2.5
      - code: "1.2"
        label: "Tiêu chí hai"
        max: 3.5
  - code: "II"
    label: "LĨNH VỰC HAI"
    max: 4
    children:
      - code: "2.1"
        label: "Khảo sát của tỉnh"
        max: 3
        self_scored: false
      - code: "2.2"
        label: "Tiêu chí bốn"
        max: 1
"""

# Two mistakes at once: 1.2 lowered to 3 (area I no longer sums to 6) and 2.2 coded "2.1" again.
BROKEN = GOOD.replace("max: 3.5", "max: 3").replace('- code: "2.2"', '- code: "2.1"')


@pytest.fixture
def runner():
    return CliRunner()


def write(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


# ---- cchc rubrics ------------------------------------------------------------------------------


def test_rubrics_json_lists_the_bundled_rubrics_with_their_totals(runner):
    result = runner.invoke(main, ["rubrics", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    ids = [item["id"] for item in items]
    assert set(IDS) <= set(ids)
    assert sorted(ids) == sorted(p.stem for p in bundled_rubric_paths())
    for item in items:
        rubric = load_rubric(item["id"])
        assert item["total"] == to_json_number(rubric.total) == 100
        assert item["criteria"] == len(rubric.leaves())
        assert item["title"] == rubric.title
        assert item["province"] == rubric.legal_basis.province
        assert item["legal_basis"] == rubric.legal_basis.describe()


def test_rubrics_text_names_every_rubric(runner):
    result = runner.invoke(main, ["rubrics"])
    assert result.exit_code == 0, result.output
    for rubric_id in IDS:
        assert rubric_id in result.output
    assert "Quyết định số 4203/QĐ-UBND ngày 30/12/2021" in result.output


# ---- cchc rubric show ------------------------------------------------------------------------------


@pytest.mark.parametrize("rubric_id", IDS)
def test_show_json_is_the_library_tree(runner, rubric_id):
    result = runner.invoke(main, ["rubric", "show", rubric_id, "--json"])
    assert result.exit_code == 0, result.output
    nodes = json.loads(result.stdout)
    rubric = load_rubric(rubric_id)
    assert nodes == rubric_nodes_json(rubric)
    assert [n["code"] for n in nodes] == [n.code for n in rubric.nodes()]  # rubric order
    for node in nodes:
        assert set(node) == {"code", "label", "max", "parent", "self_scored"}
    top = [n["code"] for n in nodes if n["parent"] is None]
    assert top == [r.code for r in rubric.roots]
    seen = set()
    for node in nodes:  # a parent always comes before its children
        assert node["parent"] is None or node["parent"] in seen
        seen.add(node["code"])


def test_show_json_marks_the_survey_criteria(runner):
    result = runner.invoke(main, ["rubric", "show", "hai-duong-2022", "--json"])
    nodes = {n["code"]: n for n in json.loads(result.stdout)}
    assert nodes["II.2"]["self_scored"] is False and nodes["II.3"]["self_scored"] is False
    assert nodes["II.1"]["self_scored"] is True
    assert nodes["II"]["self_scored"] is True  # a parent is self-scored when any leaf under it is
    assert nodes["3.6.1"]["max"] == 0.75 and nodes["I"]["max"] == 74


def test_show_works_with_a_path(runner, tmp_path):
    # A renamed copy, as files travel by email and Zalo.
    copy = tmp_path / "Phu luc CCHC (1).yaml"
    shutil.copyfile(rubrics_dir() / "hai-duong-2022.yaml", copy)
    by_path = runner.invoke(main, ["rubric", "show", str(copy), "--json"])
    assert by_path.exit_code == 0, by_path.output
    assert json.loads(by_path.stdout) == rubric_nodes_json(load_rubric("hai-duong-2022"))


def test_show_text(runner):
    result = runner.invoke(main, ["rubric", "show", "hai-duong-2022"])
    assert result.exit_code == 0, result.output
    assert "Tổng điểm: 100" in result.output
    assert "tỉnh chấm" in result.output  # II.2, II.3
    assert "(giả định)" in result.output  # assumed groups


# ---- cchc rubric check ------------------------------------------------------------------------------


def test_check_good_file_exits_0(runner, tmp_path):
    path = write(tmp_path, GOOD, "bo-tieu-chi.yaml")
    result = runner.invoke(main, ["rubric", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "Hợp lệ: thu-2024" in result.output
    assert "tổng 10 điểm" in result.output


@pytest.mark.parametrize("rubric_id", IDS)
def test_check_bundled_rubrics(runner, rubric_id):
    result = runner.invoke(main, ["rubric", "check", str(rubrics_dir() / f"{rubric_id}.yaml")])
    assert result.exit_code == 0, result.output
    assert "Hợp lệ" in result.output


def test_check_broken_file_reports_both_problems_in_vietnamese(runner, tmp_path):
    path = write(tmp_path, BROKEN, "bo-tieu-chi-loi.yaml")
    result = runner.invoke(main, ["rubric", "check", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    duplicate = [line for line in lines if "bị trùng" in line]
    mismatch = [line for line in lines if "tổng điểm tối đa các tiêu chí con" in line]
    assert len(duplicate) == 1 and len(mismatch) == 1
    assert "bo-tieu-chi-loi.yaml" in duplicate[0] and "Lỗi" in duplicate[0] and "“2.1”" in duplicate[0]
    assert "bo-tieu-chi-loi.yaml" in mismatch[0] and "Lỗi" in mismatch[0]
    assert "“I”" in mismatch[0] and "6" in mismatch[0] and "5,5" in mismatch[0]  # decimal comma
    assert "2 lỗi" in result.output


def test_check_unreadable_yaml_exits_1(runner, tmp_path):
    path = write(tmp_path, "id: [chưa đóng\n", "hong.yaml")
    result = runner.invoke(main, ["rubric", "check", str(path)])
    assert result.exit_code == 1
    assert "Không đọc được tệp bộ tiêu chí" in result.output and "hong.yaml" in result.output


# ---- unknown rubric ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["rubric", "show", "khong-co-bo-nay"], ["rubric", "check", "khong-co-bo-nay"]])
def test_unknown_rubric_id_is_a_clean_vietnamese_error(runner, args):
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # not a crash
    assert "Traceback" not in result.output
    assert "Không có bộ tiêu chí “khong-co-bo-nay”" in result.output
    for rubric_id in IDS:
        assert rubric_id in result.output


def test_missing_yaml_path_is_a_clean_error(runner, tmp_path):
    result = runner.invoke(main, ["rubric", "show", str(tmp_path / "khong-co.yaml")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Không tìm thấy tệp bộ tiêu chí" in result.output


# ---- help ---------------------------------------------------------------------------------------


def _commands(group, path=()):
    yield path, group
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from _commands(command, path + (name,))


COMMANDS = list(_commands(main))


def test_the_rubric_commands_are_all_there():
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "rubrics", "rubric", "rubric show", "rubric check"} <= paths


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "cchc" for p, _ in COMMANDS])
def test_every_command_has_help(runner, path, command):
    doc = inspect.cleandoc(command.help or "").split("\f")[0].strip()
    assert doc, f"cchc {' '.join(path)} has no docstring"
    result = runner.invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    first_paragraph = " ".join(doc.split("\n\n")[0].split())
    assert first_paragraph in " ".join(result.output.split())
