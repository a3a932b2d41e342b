"""Rubrics through Excel: export then import is identical; an officer's pasted table imports;
every problem is reported at once with the row Excel shows."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from cchc_xls.cli import main
from cchc_xls.findings import Finding
from cchc_xls.rubric import load_rubric
from cchc_xls.rubric_xlsx import (
    INFO_SHEET, TABLE_COLUMNS, TABLE_SHEET, default_evidence_of, export_rubric, import_rubric, write_rubric_yaml,
)

BUNDLED = ["thai-nguyen-2021", "hai-duong-2022", "ha-trung-2023"]


def same_rubric(a, b) -> bool:
    def nodes(r):
        return [(n.code, n.label, n.max, n.parent, n.method, n.levels, n.step, n.self_scored, n.applies_to,
                 n.may_be_na, n.evidence_required) for n in r.nodes()]

    return (a.id, a.title, a.version, a.unit_level, a.legal_basis, a.total, a.na_policy, a.na_policy_note,
            a.bands, a.bands_assumed, a.bands_note, a.content_hash, nodes(a)) == \
           (b.id, b.title, b.version, b.unit_level, b.legal_basis, b.total, b.na_policy, b.na_policy_note,
            b.bands, b.bands_assumed, b.bands_note, b.content_hash, nodes(b))


@pytest.mark.parametrize("rubric_id", BUNDLED)
def test_export_then_import_gives_back_an_identical_rubric(tmp_path, rubric_id):
    rubric = load_rubric(rubric_id)
    xlsx = export_rubric(rubric, tmp_path / f"{rubric_id}.xlsx", default_evidence_of(rubric))
    data, problems, findings = import_rubric(xlsx)
    assert problems == [] and [f for f in findings if f.is_error] == []
    back = load_rubric(write_rubric_yaml(data, tmp_path / f"{rubric_id}.yaml", xlsx.name))
    assert same_rubric(rubric, back)


def test_exported_workbook_explains_itself(tmp_path):
    path = export_rubric(load_rubric("hai-duong-2022"), tmp_path / "hd.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == [TABLE_SHEET, INFO_SHEET, "Hướng dẫn"]
    table = workbook[TABLE_SHEET]
    assert [c.value for c in table[1]] == [c.header for c in TABLE_COLUMNS]
    assert all(c.comment is not None and c.comment.text for c in table[1])
    rows = {table.cell(r, 1).value: r for r in range(2, table.max_row + 1)}
    assert table.cell(rows["1.6.1"], 5).value == "0; 0,25"  # levels with a decimal comma
    assert table.cell(rows["II.2"], 8).value == "không"  # the province scores it
    guide = [c.value for c in workbook["Hướng dẫn"]["A"]]
    assert any("VÍ DỤ" in (v or "") for v in guide)


def pasted_workbook(path: Path, rows: list[list], info: list[list] | None = None) -> Path:
    """A table as an officer pastes it from Word: a merged title, blank spacer rows, text numbers."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet["A1"] = "PHỤ LỤC BỘ TIÊU CHÍ"
    sheet.merge_cells("A1:E1")
    sheet.append([])
    sheet.append(["STT ", " Lĩnh vực/Tiêu chí", "Điểm  tối đa", "Mức điểm", "Tự chấm"])
    for row in rows:
        sheet.append(row)
    info_sheet = workbook.create_sheet(INFO_SHEET)
    for row in info or [
        ["Mã bộ tiêu chí", "thu-2025"], ["Tên bộ tiêu chí", "Bộ tiêu chí thử "], ["Văn bản ban hành", "Quyết định số 1/QĐ-UBND"],
        ["Ngày ban hành", "02/01/2025"], ["Cơ quan ban hành", "UBND tỉnh Thử"], ["Tỉnh", "Thử"], ["Tổng điểm", "10"],
        [], ["Xếp loại", "Từ (điểm)"], ["Tốt", "8"], ["Khá", "5"], ["Yếu", "0"],
    ]:
        info_sheet.append(row)
    workbook.save(path)
    return path


GOOD_ROWS = [
    ["I", "CÔNG TÁC CHỈ ĐẠO  ", "6", None, None],
    [None, None, None, None, None],  # a blank spacer row
    ["1.1", "Kế hoạch CCHC năm", "2,5", "0; 1,5; 2,5", "có"],
    ["1.2.", "Báo cáo định kỳ ", 3.5, None, None],
    ["II", "TÁC ĐỘNG", 4, None, None],
    ["II.1", "Điều tra xã hội học", "4", None, "không"],
]


def test_a_pasted_table_imports(tmp_path):
    data, problems, findings = import_rubric(pasted_workbook(tmp_path / "dan.xlsx", GOOD_ROWS))
    assert problems == [] and [f for f in findings if f.is_error] == []
    rubric = load_rubric(write_rubric_yaml(data, tmp_path / "thu.yaml", "dan.xlsx"))
    assert [n.code for n in rubric.nodes()] == ["I", "1.1", "1.2", "II", "II.1"]
    assert str(rubric.node("1.1").max) == "2.5" and rubric.node("I").label == "CÔNG TÁC CHỈ ĐẠO"
    assert [str(lv.points) for lv in rubric.node("1.1").levels] == ["0", "1.5", "2.5"]
    assert rubric.node("II.1").self_scored is False
    assert rubric.legal_basis.date == "2025-01-02"
    assert [b.name for b in rubric.bands] == ["Tốt", "Khá", "Yếu"]


def test_every_problem_is_reported_at_once_with_its_excel_row(tmp_path):
    rows = [
        ["I", "CÔNG TÁC CHỈ ĐẠO", "6", None, None],           # row 4: 6 ≠ 2,5 + 3
        ["1.1", "Kế hoạch CCHC năm", "2,5", "0; 3", "có"],     # row 5: level 3 above 2,5
        ["1.2", "Báo cáo định kỳ", "3", None, "chắc chắn"],   # row 6: not a yes/no value
        ["1.1", "Trùng mã", "1", None, None],                   # row 7: duplicate code
        ["3.4", "Không có cha", "1", None, None],               # row 8: parent 3 missing
    ]
    _, problems, _ = import_rubric(pasted_workbook(tmp_path / "loi.xlsx", rows))
    by_row = {p.row: str(p) for p in problems}
    assert "6" in by_row[4] and "5,5" in by_row[4]
    assert "3" in by_row[5] and "vượt" in by_row[5]
    assert "chắc chắn" in by_row[6] and "có, không" in by_row[6]
    assert "trùng" in by_row[7] and "dòng 5" in by_row[7]
    assert "“3”" in by_row[8]
    assert all("dòng" in str(p) for p in problems)


def test_cli_import_and_export(tmp_path):
    runner = CliRunner()
    out = tmp_path / "hd.xlsx"
    result = runner.invoke(main, ["rubric", "export", "hai-duong-2022", "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["rubric", "import", str(out), "--out", str(tmp_path / "hd.yaml")])
    assert result.exit_code == 0, result.output
    assert load_rubric(tmp_path / "hd.yaml").content_hash == load_rubric("hai-duong-2022").content_hash
    bad = pasted_workbook(tmp_path / "loi.xlsx", [["I", "A", "6", None, None], ["1.1", "B", "2", None, None]])
    result = runner.invoke(main, ["rubric", "import", str(bad), "--out", str(tmp_path / "loi.yaml")])
    assert result.exit_code == 1
    assert "dòng 4" in result.output and not (tmp_path / "loi.yaml").exists()


def test_import_problems_are_catalogue_findings_with_their_cells(tmp_path):
    rows = [
        ["I", "CÔNG TÁC CHỈ ĐẠO", "6", None, None],           # row 4: 6 ≠ 2,5 + 3
        ["1.1", "Kế hoạch CCHC năm", "2,5", "0; 3", "có"],     # row 5: level 3 above 2,5
        ["1.2", "Báo cáo định kỳ", "3", None, "chắc chắn"],   # row 6: not a yes/no value
        ["1.1", "Trùng mã", "1", None, None],                   # row 7: duplicate code
    ]
    _, problems, _ = import_rubric(pasted_workbook(tmp_path / "loi.xlsx", rows))
    found = {(p.code, p.cell, p.column) for p in problems}
    assert found == {
        ("rubric_xlsx.parent_sum", "C4", "Điểm tối đa"), ("rubric_xlsx.level_above_max", "D5", "Mức điểm"),
        ("rubric_xlsx.bad_yes_no", "E6", "Tự chấm"), ("rubric_xlsx.duplicate_code", "A7", "STT"),
    }
    assert all(isinstance(p, Finding) and p.is_error and p.file == "loi.xlsx" for p in problems)
