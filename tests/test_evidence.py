"""Evidence read for the appraisal council: the reference parser, and each evidence.* finding
from a real harvest of generated, filled templates."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc_xls.evidence import Reference, has_figure, parse_references, token_only
from cchc_xls.findings import COUNCIL_ONLY, CATALOGUE
from cchc_xls.layout import MAIN_SHEET
from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import load_rubric, parse_rubric, window_bound
from cchc_xls.units import Unit, parse_period

from support import CHI_MINH_SCORES, fill_workbook, header_columns, make_template, rows_by_code

# ---------------------------------------------------------------------------------------------
# The parser, on the ways clerks write a reference


@pytest.mark.parametrize("text, kind, number, symbol, day", [
    ("Kế hoạch số 47/KH-UBND ngày 30/12/2022", "Kế hoạch", "47", "KH-UBND", date(2022, 12, 30)),
    ("KH 47/KH-UBND, 30/12/2022", "Kế hoạch", "47", "KH-UBND", date(2022, 12, 30)),
    ("Quyết định số 12/QĐ-UBND ngày 05 tháng 01 năm 2024", "Quyết định", "12", "QĐ-UBND", date(2024, 1, 5)),
    ("CV 271/UBND-NV ngày 15/3/2023", "Công văn", "271", "UBND-NV", date(2023, 3, 15)),
    ("kế hoạch số 47/kh-ubnd ngày 30/12/2022", "Kế hoạch", "47", "KH-UBND", date(2022, 12, 30)),
    ("Báo cáo số 15/BC-UBND", "Báo cáo", "15", "BC-UBND", None),
    ("Thông báo số 3/TB-UBND ngày 2-1-2024", "Thông báo", "3", "TB-UBND", date(2024, 1, 2)),
    ("tờ trình 8/ttr-ubnd ngày 01.02.2024", "Tờ trình", "8", "TTr-UBND", date(2024, 2, 1)),
    ("Nghị quyết 05/NQ-HĐND ngày 10/7/2023", "Nghị quyết", "05", "NQ-HĐND", date(2023, 7, 10)),
    ("Chỉ thị số 02/CT-UBND ngày 5/1/2023", "Chỉ thị", "02", "CT-UBND", date(2023, 1, 5)),
    ("Thông báo kết luận số 52-TB/ĐU ngày 28/4/2023", "Thông báo", "52", "TB/ĐU", date(2023, 4, 28)),
    ("Kê hoạch số 22/KH_UBND ngày 28/2/2023", "Kế hoạch", "22", "KH-UBND", date(2023, 2, 28)),
    ("công văn số 9/UBND ngày 31/02/2023", "Công văn", "9", "UBND", None),  # no such day: no date
    ("Nghị định 30/2020/NĐ-CP", "Nghị định", "30", "2020/NĐ-CP", None),
])
def test_one_reference_in_each_form(text, kind, number, symbol, day):
    for variant in (text, unicodedata.normalize("NFD", text)):
        assert parse_references(variant) == [Reference(kind, number, symbol, day, "-" if "52-" in text else "/")]


def test_several_references_in_one_cell_keep_their_order_and_dates():
    text = ("Quyết định số 12/QĐ-UBND ngày 05/01/2024; Báo cáo số 15/BC-UBND ngày 20/6/2024 và "
            "CV 271/UBND-NV")
    found = parse_references(text)
    assert [(r.kind, r.number, r.date) for r in found] == [
        ("Quyết định", "12", date(2024, 1, 5)), ("Báo cáo", "15", date(2024, 6, 20)), ("Công văn", "271", None)]
    assert str(found[0]) == "Quyết định số 12/QĐ-UBND ngày 05/01/2024"


def test_counts_ratios_and_quarters_are_not_references():
    assert parse_references("Có 12/12 cán bộ đạt chuẩn; quý 1/2023; 1/17 TT liên thông; 38/72 nhiệm vụ") == []


# Xã Chí Minh's evidence as seed 003 prints it (its line breaks and doubled spaces kept).
SEED_003 = {
    "1.1.1": "UBND xã đã ban hành kế hoạch\nsố  47/KH-UBND  ngày\n30/12/2022",
    "1.2": "UBND xã đã thực hiện đúng báo\ncáo  định  kỳ  theo  công  văn  số\n271/UBND-NV  ngày  15/3/2023\nvề  thực  hiện  chế  độ  báo  cáo",
    "1.3.1": "UBND xã ban hành kế hoạch số\n1//KH-UBND  ngày  21/02/2023\nvề Kế hoạch tự kiểm tra công tác",
    "1.6": "Đảng ủy ban hành Thông báo kết\nluận  số  52-TB/ĐU  ngày\n28/4/2023 Kết luận của đồng chí\nBí  thư. UBND xã  ban  hành  Báo  cáo  số\n52/BC-UBND ngày 15/5/2023 về",
    "3.1.3": "Xây dưng nội dung rà soát trong\nkế hoạch số 22/KH-UBND\n- Báo cáo số 65/BC-UBND ngày\n09/6/2023 về kết quả rà soát",
    "6.1.3": "Báo  cáo  số  16a/BC-UBND ngày\n1/3/2023 về kết quả thực hiện kết\nluận thanh tra số 08/KL-TTr ngày\n30/9/2020",
    "6.2": "Có  quyết  định  về  ban  hành  quy\nchế chi tiêu nội bộ và quản lý TS\ncông  số  13/QĐ-UBND  ngày\n16/01/2023",
    "6.5": "Ban  hành  kế  hoạch  số  05/KH-\nUBND  ngày  19/1/2023  về  kế\nhoạch thực hành tiết  kiệm",
    "7.1.1": "thông  tin  mạng  năm  2023.  Số\n04/KH-UBND, ngày 17/01/2023",
}
SEED_003_PARSED = {
    "1.1.1": ["Kế hoạch số 47/KH-UBND ngày 30/12/2022"],
    "1.2": ["Công văn số 271/UBND-NV ngày 15/03/2023"],
    "1.3.1": ["Kế hoạch số 1/KH-UBND ngày 21/02/2023"],
    "1.6": ["Thông báo số 52-TB/ĐU ngày 28/04/2023", "Báo cáo số 52/BC-UBND ngày 15/05/2023"],
    "3.1.3": ["Kế hoạch số 22/KH-UBND", "Báo cáo số 65/BC-UBND ngày 09/06/2023"],
    "6.1.3": ["Báo cáo số 16a/BC-UBND ngày 01/03/2023", "Kết luận số 08/KL-TTr ngày 30/09/2020"],
    "6.2": ["Quyết định số 13/QĐ-UBND ngày 16/01/2023"],
    "6.5": ["Kế hoạch số 05/KH-UBND ngày 19/01/2023"],
    "7.1.1": ["Kế hoạch số 04/KH-UBND ngày 17/01/2023"],
}


@pytest.mark.parametrize("code", sorted(SEED_003))
def test_seed_003_evidence_parses(code):
    assert [str(r) for r in parse_references(SEED_003[code])] == SEED_003_PARSED[code]


def test_chi_minh_plan_is_inside_the_fourth_quarter_before_the_2023_assessment():
    node = load_rubric("hai-duong-2022").node("1.1.1")
    start, end = (window_bound(b, 2023) for b in node.evidence_window)
    assert (start, end) == (date(2022, 10, 1), date(2022, 12, 31))
    [plan] = parse_references(SEED_003["1.1.1"])
    assert start <= plan.date <= end


def test_figures_and_bare_words():
    assert has_figure("Hoàn thành 38/72 nhiệm vụ") and has_figure("Đảm bảo 100%") and has_figure("08 bài tuyên truyền")
    assert not has_figure("Đã xây dựng kế hoạch tuyên truyền năm 2023")  # a year is not a figure
    assert not has_figure("Kế hoạch số 47/KH-UBND ngày 30/12/2022")  # a reference is not a figure
    assert token_only(" Có. ") == "Có." and token_only("x") == "x" and token_only("đã thực hiện")
    assert token_only("Đã thực hiện 03 cuộc kiểm tra") is None


# ---------------------------------------------------------------------------------------------
# The rubric key


def _rubric(window) -> dict:
    leaf = {"code": "1.1", "label": "Kế hoạch", "max": 1, "evidence_window": window}
    return {"id": "t", "title": "T", "legal_basis": {"document": "QĐ 1", "date": "2024-01-01", "issuer": "UBND",
                                                    "province": "X"},
            "total": 1, "groups": {"bands": [{"name": "Đạt", "min": 0}]},
            "tree": [{"code": "I", "label": "A", "max": 1, "children": [leaf]}]}


@pytest.mark.parametrize("window, ok", [
    ({"from": "{year-1}-10-01", "to": "{year-1}-12-31"}, True),
    ({"from": "2023-01-01", "to": "{year}-03-31"}, True),
    ({"from": "{year}-04-01", "to": "{year}-03-31"}, False),  # from after to
    ({"from": "{year-1}-10-01"}, False),
    ({"from": "Quý IV", "to": "{year}-12-31"}, False),
    ({"from": "{year}-02-29", "to": "{year}-12-31"}, False),  # not a day of every year
    ("{year-1}-10-01", False),
])
def test_evidence_window_is_validated(window, ok):
    rubric, findings = parse_rubric(_rubric(window))
    assert (rubric is not None and not findings) == ok, findings
    if not ok:
        assert any(f.code == "rubric.bad_value" and "evidence_window" in f.message for f in findings)


# ---------------------------------------------------------------------------------------------
# Each finding, from a real harvest

CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
THANH_MIEN = Unit("30514", "Thị trấn Thanh Miện", "thị trấn")
UNITS = [CHI_MINH, THANH_XA, THANH_MIEN]
RUBRIC = load_rubric("hai-duong-2022")
SCORED = {c: v for c, v in CHI_MINH_SCORES.items() if RUBRIC.node(c).self_scored}


def clean_evidence(unit: Unit) -> dict[str, str]:
    """Evidence a council would accept: a figure in every cell, own words, the plan in Q4 2022."""
    evidence = {c: f"{unit.name}: hoàn thành {i}/{i + 1} nội dung của tiêu chí {c}"
                for i, c in enumerate(SCORED, start=1)}
    evidence["1.1.1"] = f"Kế hoạch số {unit.code[-2:]}/KH-UBND ngày 2{unit.code[-1]}/12/2022"
    return evidence


def harvest_with(tmp_path: Path, changes: dict[str, dict[str, str]]):
    """Every commune's return for 2023 with clean evidence, changed per unit code; harvested."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for unit in UNITS:
        evidence = {**clean_evidence(unit), **changes.get(unit.code, {})}
        path = make_template(inbox, unit=unit, period="2023")
        fill_workbook(path, SCORED, evidence)
    return run_harvest(RUBRIC, [inbox], UNITS, tmp_path / "out", workers=1)


def suggestions(outputs, unit: Unit) -> list:
    outcome = next(u for u in outputs.harvest.units if u.unit.code == unit.code)
    return [f for f in outcome.file.findings if f.for_council]


def evidence_cell(outputs, code: str) -> str:
    """The evidence cell of a criterion, found in Chí Minh's return as a person would."""
    sheet = load_workbook(outputs.out_dir.parent / "inbox" / f"{CHI_MINH.code}.xlsx")[MAIN_SHEET]
    _, cols = header_columns(sheet)
    return f"{chr(64 + cols['evidence'])}{rows_by_code(sheet)[code]}"


def test_clean_evidence_gives_no_suggestion(tmp_path):
    outputs = harvest_with(tmp_path, {})
    assert all(suggestions(outputs, unit) == [] for unit in UNITS)
    assert outputs.harvest.counts()["suggestions"] == 0


def test_each_unit_rule_names_its_cell(tmp_path):
    outputs = harvest_with(tmp_path, {CHI_MINH.code: {
        "1.1.1": "Kế hoạch số 47/KH-UBND ngày 15/01/2023",  # not in Q4 2022
        "1.2": "Công văn số 271/UBND-NV ngày 15/3/2099",  # in the future
        "1.3.1": "Báo cáo số 15/BC-UBND ngày 20/02/2024",  # after the 2023 assessment
        "2.1": "Đã triển khai đầy đủ các văn bản",  # full score: no document, no figure
        "2.2.1": "Có",  # proves nothing
        "3.4.1": "đã thực hiện",
    }})
    found = {f.node: f for f in suggestions(outputs, CHI_MINH)}
    expected = {"1.1.1": "evidence.outside_window", "1.2": "evidence.date_future",
                "1.3.1": "evidence.date_after_period", "2.1": "evidence.no_document",
                "2.2.1": "evidence.token_only", "3.4.1": "evidence.token_only"}
    assert {code: f.code for code, f in found.items()} == expected
    for code, finding in found.items():
        assert finding.sheet == MAIN_SHEET and finding.cell == evidence_cell(outputs, code)
        assert finding.file.endswith(f"{CHI_MINH.code}.xlsx") and code in finding.message
        assert finding.severity == CATALOGUE[finding.code][0].value
    assert "01/10/2022" in found["1.1.1"].message and "31/12/2022" in found["1.1.1"].message
    assert "31/12/2023" in found["1.3.1"].message
    assert suggestions(outputs, THANH_XA) == [] and suggestions(outputs, THANH_MIEN) == []


def test_a_score_below_the_maximum_needs_no_document(tmp_path):
    outputs = harvest_with(tmp_path, {CHI_MINH.code: {"6.1.1": "Nguồn vốn chưa đạt theo kế hoạch đầu năm"}})
    assert suggestions(outputs, CHI_MINH) == []  # 6.1.1 scored 0,8 of 1: the explanation's business


def test_one_document_cited_by_two_communes_is_on_both_returns(tmp_path):
    shared = "Quyết định số 13/QĐ-UBND ngày 16/01/2023 ban hành quy chế chi tiêu nội bộ"
    outputs = harvest_with(tmp_path, {CHI_MINH.code: {"6.2": shared},
                                      THANH_XA.code: {"6.2": "QĐ 13/QĐ-UBND, 16/01/2023 về quy chế"}})
    for unit, other in ((CHI_MINH, THANH_XA), (THANH_XA, CHI_MINH)):
        [finding] = suggestions(outputs, unit)
        assert finding.code == "evidence.shared_document" and finding.node == "6.2"
        assert other.name in finding.message and "13/QĐ-UBND" in finding.message
        assert finding.file.endswith(f"{unit.code}.xlsx") and finding.cell
    assert suggestions(outputs, THANH_MIEN) == []


def test_identical_evidence_text_in_two_communes_is_on_both_returns(tmp_path):
    copied = "Niêm yết công khai đầy đủ thủ tục hành chính tại bộ phận một cửa, có 95 thủ tục"
    outputs = harvest_with(tmp_path, {THANH_XA.code: {"3.2.1": copied}, THANH_MIEN.code: {"3.2.1": "  " + copied}})
    for unit, other in ((THANH_XA, THANH_MIEN), (THANH_MIEN, THANH_XA)):
        [finding] = suggestions(outputs, unit)
        assert finding.code == "evidence.same_text" and finding.node == "3.2.1" and other.name in finding.message
    assert suggestions(outputs, CHI_MINH) == []


def test_suggestions_are_in_the_checks_sheet_and_in_harvest_json_with_their_criterion(tmp_path):
    outputs = harvest_with(tmp_path, {CHI_MINH.code: {"2.2.1": "x"}})
    sheet = load_workbook(outputs.out_dir / "tong-hop.xlsx")["Kiểm tra"]
    lines = [[c.value for c in row] for row in sheet.iter_rows(min_row=5)]
    [line] = [line for line in lines if line[5] and "2.2.1" in line[5]]
    assert line[0].startswith(CHI_MINH.code) and line[3] == evidence_cell(outputs, "2.2.1") and line[4] == "Cảnh báo"
    data = json.loads((outputs.out_dir / "harvest.json").read_text(encoding="utf-8"))
    entry = next(f for f in data["files"] if f["unit_code"] == CHI_MINH.code)
    [finding] = [f for f in entry["findings"] if f["code"] in COUNCIL_ONLY]
    assert finding["node"] == "2.2.1" and finding["code"] == "evidence.token_only"
    assert data["summary"]["suggestions"] == 1


# ---------------------------------------------------------------------------------------------
# The council's workbooks


def _column(sheet, header: str) -> list[int]:
    return [c.column for row in sheet.iter_rows(min_row=1, max_row=12) for c in row if c.value == header]


def test_appraisal_workbooks_show_the_suggestions_per_criterion(tmp_path):
    from cchc_xls.appraise import write_appraisal_workbooks
    from cchc_xls.layout import APPRAISAL_SHEET, H_SUGGESTION

    outputs = harvest_with(tmp_path, {CHI_MINH.code: {"2.2.1": "Có", "1.2": "Công văn số 271/UBND-NV ngày 15/3/2099"}})
    by_unit = write_appraisal_workbooks(outputs.out_dir, tmp_path / "unit", by="unit")
    [book] = [p for p in by_unit.workbooks if CHI_MINH.code in p.name]
    sheet = load_workbook(book)[APPRAISAL_SHEET]
    [col] = _column(sheet, H_SUGGESTION)
    rows = {sheet.cell(r, 1).value: r for r in range(1, sheet.max_row + 1)}
    assert "chỉ ghi “Có”" in sheet.cell(rows["2.2.1"], col).value
    assert "15/03/2099" in sheet.cell(rows["1.2"], col).value
    assert not sheet.cell(rows["2.1"], col).value
    [other] = [p for p in by_unit.workbooks if THANH_XA.code in p.name]
    other_sheet = load_workbook(other)[APPRAISAL_SHEET]
    [other_col] = _column(other_sheet, H_SUGGESTION)
    assert not any(other_sheet.cell(r, other_col).value for r in range(1, other_sheet.max_row + 1)
                   if other_sheet.cell(r, other_col).value != H_SUGGESTION)

    by_area = write_appraisal_workbooks(outputs.out_dir, tmp_path / "area", by="area")
    [area_book] = [p for p in by_area.workbooks if p.name.startswith("tham-dinh_linh-vuc-2_")]
    sheet = load_workbook(area_book)[APPRAISAL_SHEET]
    columns = _column(sheet, H_SUGGESTION)
    assert len(columns) == len(UNITS)  # one per commune, after its comment column
    rows = {sheet.cell(r, 1).value: r for r in range(1, sheet.max_row + 1)}
    values = [sheet.cell(rows["2.2.1"], c).value for c in columns]
    assert "chỉ ghi “Có”" in values[0] and not any(values[1:])


def test_a_window_on_a_parent_is_a_leaf_only_key():
    data = _rubric({"from": "{year-1}-10-01", "to": "{year-1}-12-31"})
    area = data["tree"][0]
    area["evidence_window"] = area["children"][0].pop("evidence_window")
    _, findings = parse_rubric(data)
    assert [f.code for f in findings] == ["rubric.parent_scoring"]


def test_a_superseded_return_keeps_no_suggestion(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    older = make_template(inbox, unit=CHI_MINH, period="2023", name="cu.xlsx")
    fill_workbook(older, SCORED, {**clean_evidence(CHI_MINH), "2.2.1": "x"})
    newer = make_template(inbox, unit=CHI_MINH, period="2023", name="moi.xlsx")
    fill_workbook(newer, SCORED, {**clean_evidence(CHI_MINH), "2.2.2": "Có"})
    import os

    os.utime(older, (1_700_000_000, 1_700_000_000))
    outputs = run_harvest(RUBRIC, [inbox], UNITS, tmp_path / "out", workers=1)
    files = {Path(f.path).name: f for f in outputs.harvest.files}
    assert files["cu.xlsx"].status == "superseded" and not any(f.for_council for f in files["cu.xlsx"].findings)
    assert [f.node for f in files["moi.xlsx"].findings if f.for_council] == ["2.2.2"]


def test_the_window_survives_a_rubric_export_and_import(tmp_path):
    from openpyxl import load_workbook as open_book

    from cchc_xls.rubric_xlsx import export_rubric, import_rubric, write_rubric_yaml

    xlsx = export_rubric(RUBRIC, tmp_path / "hd.xlsx")
    data, problems, findings = import_rubric(xlsx)
    assert problems == [] and not [f for f in findings if f.is_error]
    back = load_rubric(write_rubric_yaml(data, tmp_path / "hd.yaml", xlsx.name))
    assert back.node("1.1.1").evidence_window == ("{year-1}-10-01", "{year-1}-12-31")
    assert back.node("1.1.2").evidence_window is None

    book = open_book(xlsx)
    sheet = book.worksheets[0]
    header = {c.value: c.column for c in sheet[1]}
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == "1.1.2")
    sheet.cell(row, header["Thời gian ban hành văn bản kiểm chứng"]).value = "Quý IV năm trước"
    book.save(xlsx)
    _, problems, _ = import_rubric(xlsx)
    [problem] = problems
    assert problem.code == "rubric_xlsx.bad_window" and problem.row == row and "Quý IV năm trước" in problem.message
