"""This year beside last year: two real harvests (generate, fill, harvest 2023, harvest 2024 with
--previous), the Phụ lục II sheet "So với năm trước", harvest.json's `previous` keys, the reports."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook

from cchc_xls.cli import main
from cchc_xls.compare import COMPARISON_HEADERS, COMPARISON_SHEET, compare, read_mapping, PreviousError
from cchc_xls.pipeline import run_harvest
from cchc_xls.report import write_reports
from cchc_xls.results import load_results
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import CHI_MINH_SCORES, fill_workbook, make_template

D = Decimal
RUBRIC = load_rubric("hai-duong-2022")
BASE = {c: v for c, v in CHI_MINH_SCORES.items() if RUBRIC.node(c).self_scored}  # self total 75
FULL = {n.code: str(n.max) for n in RUBRIC.scorable()}  # 76
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
GONE = Unit("30599", "Xã Quảng Nghiệp", "xã")  # merged away before 2024
NEW = Unit("30600", "Xã Tân Kỳ", "xã")  # new in 2024

YEAR_2023 = {CHI_MINH: BASE, THANH_XA: FULL, GONE: {**BASE, "1.2": "1"}}  # 75 (2nd), 76 (1st), 74 (3rd)
YEAR_2024 = {CHI_MINH: FULL, THANH_XA: {**BASE, "1.7": "0", "1.2": "0", "5.2": "0"},  # 76 (1st), 68,1 (3rd)
             NEW: {**BASE, "1.7": "2"}}  # 74,1 (2nd)


def harvest_year(tmp_path: Path, period: str, filled: dict, **options):
    inbox = tmp_path / f"inbox-{period}"
    inbox.mkdir()
    units = list(filled)
    for unit, scores in filled.items():
        fill_workbook(make_template(inbox, unit=unit, period=period), scores)
    units_file = tmp_path / f"units-{period}.csv"
    units_file.write_text("code,name,kind\n" + "".join(f"{u.code},{u.name},{u.kind}\n" for u in units), encoding="utf-8")
    return run_harvest(RUBRIC, [inbox], units, tmp_path / f"thu-{period}", workers=1, **options)


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("years")
    last = harvest_year(tmp, "2023", YEAR_2023)
    this = harvest_year(tmp, "2024", YEAR_2024, previous=last.out_dir)
    return last, this


def sheet_rows(path: Path) -> list[list]:
    sheet = load_workbook(path)[COMPARISON_SHEET]
    return [[c.value for c in row] for row in sheet.iter_rows(min_row=4) if any(c.value is not None for c in row)]


def test_comparison_sheet_lists_every_unit_with_its_change(years):
    _, this = years
    rows = sheet_rows(this.paths["phu_luc_ii"])
    assert rows[0] == list(COMPARISON_HEADERS)
    body = {row[1]: row for row in rows[1:]}
    # unit, this year, last year, change, rank now, rank before, ▲/▼, band now, band before, band change, note
    assert body[CHI_MINH.name][2:11] == [76, 75, 1, 1, 2, "▲ 1", "Khá", "Khá", None]
    assert body[THANH_XA.name][2:11] == [pytest.approx(68.1), 76, pytest.approx(-7.9), 3, 1, "▼ 2", "Trung bình",
                                         "Khá", "Khá → Trung bình"]
    assert body[NEW.name][2:4] == [pytest.approx(74.1), None] and body[NEW.name][6] == None
    assert "mới" in body[NEW.name][11]
    assert body[GONE.name][3] == 74 and body[GONE.name][6] == 3 and "không còn" in body[GONE.name][11]
    assert [row[1] for row in rows[1:4]] == [CHI_MINH.name, NEW.name, THANH_XA.name]  # this year's ranking order


def test_comparison_sheet_has_a_native_chart(years):
    _, this = years
    with zipfile.ZipFile(this.paths["phu_luc_ii"]) as book:
        charts = [n for n in book.namelist() if n.startswith("xl/charts/chart")]
        texts = [book.read(n).decode("utf-8") for n in charts]
    assert any(f"'{COMPARISON_SHEET}'!$C$5:$C$7" in t and f"'{COMPARISON_SHEET}'!$D$5:$D$7" in t for t in texts)


def test_harvest_json_keeps_the_previous_figures_and_the_change(years):
    last, this = years
    data = json.loads(this.paths["harvest_json"].read_text(encoding="utf-8"))
    head = data["previous"]
    assert head["period"] == "2023" and head["rubric"] == RUBRIC.id and head["source"] == str(last.out_dir)
    assert [g["code"] for g in head["gone"]] == [GONE.code]
    thanh_xa = next(u for u in data["units"] if u["code"] == THANH_XA.code)["previous"]
    assert thanh_xa["status"] == "matched" and thanh_xa["total"] == 76 and thanh_xa["rank"] == 1
    assert thanh_xa["band"] == "Khá" and thanh_xa["rank_change"] == -2 and thanh_xa["band_change"] == "Khá → Trung bình"
    assert D(str(thanh_xa["total_change"])) == D("-7.9")
    assert thanh_xa["criteria"]["1.7"] == {"previous": 3, "change": -3}
    assert next(u for u in data["units"] if u["code"] == NEW.code)["previous"] == {"status": "new"}


def test_rank_rebuilds_the_sheet_from_the_harvest(years, tmp_path):
    _, this = years
    result = CliRunner().invoke(main, ["rank", str(this.out_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sheet_rows(tmp_path / "phu-luc-ii.xlsx") == sheet_rows(this.paths["phu_luc_ii"])


def test_criteria_the_district_lost_most(years):
    _, this = years
    comparison = compare(load_results(this.out_dir))
    lost = [(c.code, c.average) for c in comparison.lost]
    # Thanh Xá lost 3 on 1.7 while Chí Minh gained 0,1; both compared: mean -1,45
    assert lost[:3] == [("1.7", D("-1.450")), ("1.2", D("-1.000")), ("5.2", D("-1.000"))]
    assert [m.code for m in comparison.risers] == [CHI_MINH.code]
    assert [m.code for m in comparison.fallers] == [THANH_XA.code]


def paragraphs(path: Path) -> list[str]:
    return [p.text for p in Document(path).paragraphs]


def test_reports_say_who_rose_and_fell_and_how_each_commune_moved(years, tmp_path):
    _, this = years
    reports = write_reports(this.out_dir, tmp_path)
    summary = paragraphs(reports.summary)
    assert "4. So với năm 2023 (có năm tạm tính theo điểm tự chấm)" in summary
    assert "- Các đơn vị tăng điểm nhiều nhất: Xã Chí Minh (tăng 1 điểm, xếp hạng ▲ 1)." in summary
    assert "- Các đơn vị giảm điểm nhiều nhất: Xã Thanh Xá (giảm 7,9 điểm, xếp hạng ▼ 2)." in summary
    assert any(line.startswith("- 1.7. ") and "bình quân giảm 1,45 điểm mỗi đơn vị (2 đơn vị so sánh)" in line
               for line in summary)
    assert "- Đơn vị mới hoặc sáp nhập (không so sánh): Xã Tân Kỳ." in summary
    assert "- Đơn vị năm 2023 nay không còn: Xã Quảng Nghiệp." in summary
    assert "5. Đề xuất" in summary
    [thanh_xa] = [p for p in reports.communes if "thanh-xa" in p.name]
    lines = paragraphs(thanh_xa)
    assert "So với năm 2023" in lines
    assert "- Tổng điểm 68,1 điểm, năm 2023 76 điểm: giảm 7,9 điểm." in lines
    assert "- Xếp hạng 3/3, năm 2023 xếp hạng 1: giảm 2 bậc." in lines
    assert "- Xếp loại: Khá → Trung bình." in lines
    assert any(line.startswith("- Tiêu chí 1.7.") and "giảm 3 điểm so với năm 2023" in line for line in lines)
    [new] = [p for p in reports.communes if "tan-ky" in p.name]
    assert any("chưa có kết quả của đơn vị để so sánh" in line for line in paragraphs(new))


def test_without_previous_nothing_changes(years):
    last, _ = years
    assert COMPARISON_SHEET not in load_workbook(last.paths["phu_luc_ii"]).sheetnames
    assert "previous" not in json.loads(last.paths["harvest_json"].read_text(encoding="utf-8"))
    assert compare(load_results(last.out_dir)) is None


def test_a_mapping_file_follows_a_renamed_unit(years, tmp_path):
    last, this = years
    mapping = tmp_path / "doi-ma.csv"
    mapping.write_text(f"old,new\n{GONE.code},{NEW.code}\n", encoding="utf-8")
    units = tmp_path / "units.csv"
    units.write_text("code,name,kind\n" + "".join(f"{u.code},{u.name},{u.kind}\n" for u in YEAR_2024), encoding="utf-8")
    out = tmp_path / "thu"
    result = CliRunner().invoke(main, ["harvest", RUBRIC.id, str(this.out_dir.parent / "inbox-2024"), "--units", str(units),
                                       "--out", str(out), "--previous", str(last.out_dir), "--previous-map", str(mapping)])
    assert result.exit_code == 0, result.output
    body = {row[1]: row for row in sheet_rows(out / "phu-luc-ii.xlsx")[1:]}
    assert body[NEW.name][2:8] == [pytest.approx(74.1), 74, pytest.approx(0.1), 2, 3, "▲ 1"]
    assert GONE.name not in body  # followed, not gone


def test_a_merger_is_listed_not_compared(tmp_path):
    mapping = tmp_path / "sap-nhap.csv"
    mapping.write_text("30512,31001\n30513,31001\n", encoding="utf-8")
    assert read_mapping(mapping) == {"30512": ["31001"], "30513": ["31001"]}
    mapping.write_text("30512\n", encoding="utf-8")
    with pytest.raises(PreviousError, match="dòng 1"):
        read_mapping(mapping)


def test_previous_map_without_previous_is_a_usage_error(tmp_path):
    mapping = tmp_path / "m.csv"
    mapping.write_text("a,b\n", encoding="utf-8")
    units = tmp_path / "u.csv"
    units.write_text("code,name\n1,Xã A\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["harvest", RUBRIC.id, str(tmp_path), "--units", str(units), "--out",
                                       str(tmp_path / "o"), "--previous-map", str(mapping)])
    assert result.exit_code == 2 and "--previous" in result.output
