"""Issue 14: every figure a person signs is the figure that ranks; every message reaches the
right person. Each situation is built as a person would build it: a generated template, filled
as a clerk fills it, re-saved by LibreOffice where the point is about what a spreadsheet shows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc_xls.layout import MAIN_SHEET
from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import CHI_MINH_SCORES, fill_workbook, libreoffice_convert, make_template, rows_by_code

D = Decimal
HD = "hai-duong-2022"
RUBRIC = load_rubric(HD)
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
UNITS = [CHI_MINH, THANH_XA]


def harvest_json(out: Path, *inputs: Path, units=UNITS, rubric=RUBRIC) -> dict:
    run_harvest(rubric, list(inputs), list(units), out, workers=1)
    return json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)


def findings_of(data: dict, code: str) -> list[dict]:
    return [f for file in data["files"] for f in file["findings"] if f["code"] == code]


# ---------------------------------------------------------------------------------------------
# 1. Text in a score cell


@pytest.mark.libreoffice
def test_scores_typed_as_text_are_named_with_both_totals_and_bands(tmp_path):
    # A clerk in an English-locale spreadsheet types 0,5 and 0,25: text, which SUM does not add.
    scores = dict(CHI_MINH_SCORES)
    as_text = {"1.1.1": "0,5", "1.5.1": "0,5", "1.6.1": "0,25", "1.6.2": "0,25", "1.6.3": "0,5",
               "2.2.1": "0,5", "7.1.7": "0,5", "7.2.1": "1,5", "1.5.2": "2", "5.2": "2"}
    scores.update({code: "text:" + value for code, value in as_text.items()})
    filled = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "30512.xlsx")
    resaved = libreoffice_convert(filled, "xlsx", tmp_path / "lo")

    sheet = load_workbook(resaved, data_only=True)[MAIN_SHEET]
    rows = rows_by_code(sheet)
    total_row = next(r for r in range(rows["II.3"] + 1, sheet.max_row + 1)
                     if str(sheet.cell(r, 1).value or "").startswith("TỔNG ĐIỂM"))
    shown_total = D(str(sheet.cell(total_row, 4).value))
    band_row = next(r for r in range(total_row, sheet.max_row + 1)
                    if str(sheet.cell(r, 1).value or "").startswith("Xếp loại"))
    shown_band = sheet.cell(band_row, 4).value
    assert shown_total == D("75") - D("8.5")  # the sheet adds only the numbers
    assert shown_band == "Trung bình"

    data = harvest_json(tmp_path / "out", resaved)
    unit = next(u for u in data["units"] if u["code"] == CHI_MINH.code)
    assert unit["self_total"] == 75
    [total] = findings_of(data, "total.shown_differs")
    assert total["severity"] == "warning" and total["cell"] == f"D{total_row}"
    assert "Phiếu hiển thị tổng điểm 66,5 nhưng điểm được tính là 75 vì 10 ô điểm là chữ" in total["message"]
    assert "gõ lại" in total["message"] and "bản in khớp" in total["message"]
    [band] = findings_of(data, "band.shown_differs")
    assert band["cell"] == f"D{band_row}"
    assert unit["group"] == "Khá"
    assert "Phiếu hiển thị xếp loại “Trung bình” nhưng xếp loại theo điểm được tính là “Khá”" in band["message"]


def _pages_as_pixels(path: Path, out_dir: Path) -> list[bytes]:
    """Each page of the workbook as LibreOffice prints it, as raw RGB bytes (pdftoppm's PPM)."""
    import subprocess

    pdf = libreoffice_convert(path, "pdf", out_dir)
    subprocess.run(["pdftoppm", "-r", "40", str(pdf), str(out_dir / "page")], check=True, capture_output=True)
    pages = []
    for ppm in sorted(out_dir.glob("page*.ppm")):
        data = ppm.read_bytes()
        # header: P6\nW H\n255\n
        parts = data.split(b"\n", 3)
        pages.append(parts[3])
    return pages


def _red_pixels(pixels: bytes) -> int:
    return sum(1 for i in range(0, len(pixels) - 2, 3)
               if pixels[i] > 235 and 130 < pixels[i + 1] < 175 and 130 < pixels[i + 2] < 175)


@pytest.mark.libreoffice
def test_the_template_shows_a_score_typed_as_text_in_red_and_says_why(tmp_path):
    scores = dict(CHI_MINH_SCORES)
    numbers = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "so.xlsx")
    scores["1.1.1"] = "text:0,5"
    text = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "chu.xlsx")
    assert sum(map(_red_pixels, _pages_as_pixels(numbers, tmp_path / "pdf-so"))) == 0
    assert sum(map(_red_pixels, _pages_as_pixels(text, tmp_path / "pdf-chu"))) > 20
    sheet = load_workbook(text)[MAIN_SHEET]
    rows = rows_by_code(sheet)
    [validation] = [dv for dv in sheet.data_validations.dataValidation if f"D{rows['1.1.1']}" in str(dv.sqref)]
    assert "ô này là chữ, không phải số; gõ lại" in validation.prompt
    guide = load_workbook(text)["Hướng dẫn"]
    assert any("tô đỏ: ô này là chữ, không phải số" in str(c.value) for row in guide.iter_rows() for c in row)


# ---------------------------------------------------------------------------------------------
# 9. The examples in messages are right


def test_an_example_in_a_message_is_a_score_the_criterion_allows(tmp_path):
    # 1.1.2 has a maximum of 1: "ví dụ 2,5" would be a score it refuses
    node = next(n for n in RUBRIC.leaves() if n.code == "1.1.2")
    assert node.max == 1
    scores = {**CHI_MINH_SCORES, "1.1.2": "Đạt", "1.7": "Đạt"}
    filled = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "30512.xlsx")
    data = harvest_json(tmp_path / "out", filled)
    messages = {f["node"]: f["message"] for f in findings_of(data, "score.not_number")}
    assert "Sửa lại: số từ 0 đến 1 (ví dụ 0,5)" in messages["1.1.2"]
    assert "Sửa lại: số từ 0 đến 3 (ví dụ 2,5)" in messages["1.7"]
    for leaf in load_rubric("thai-nguyen-2021").leaves():
        example = leaf.example_score()
        assert 0 <= example <= leaf.max, leaf.code
        if leaf.levels:
            assert example in {lv.points for lv in leaf.levels}, leaf.code
        if leaf.step:
            assert example % leaf.step == 0, leaf.code


def _guide_lines(path: Path) -> list[str]:
    return [str(row[0].value) for row in load_workbook(path)["Hướng dẫn"].iter_rows() if row[0].value]


def test_the_instructions_promise_a_not_applicable_drop_down_only_where_there_is_one(tmp_path):
    rubric = load_rubric("thai-nguyen-2021")
    template = make_template(tmp_path, rubric_id="thai-nguyen-2021")
    sheet = load_workbook(template)[MAIN_SHEET]
    rows = rows_by_code(sheet)
    lists = {cell for dv in sheet.data_validations.dataValidation if dv.type == "list"
             for cell in str(dv.sqref).split()}
    [line] = [line for line in _guide_lines(template) if "Không áp dụng" in line]
    promised = [n.code for n in rubric.leaves() if f"Tiêu chí {n.code}" in line or f", {n.code}" in line]
    assert promised, line
    for code in promised:  # every criterion the sentence names carries the drop-down
        assert f"E{rows[code]}" in lists, code
    # a criterion whose label says "(nếu có)" without a drop-down is not promised one
    labelled_only = [n.code for n in rubric.leaves() if "nếu có" in n.label.lower() and not n.may_be_na]
    assert labelled_only and not set(labelled_only) & set(promised)
    assert "(nếu có)" not in line


def test_the_deadline_is_a_real_date_written_one_way_everywhere(tmp_path):
    from click.testing import CliRunner

    from cchc_xls.cli import main

    units = tmp_path / "don-vi.csv"
    units.write_text("code,name\n30512,Xã Chí Minh\n", encoding="utf-8")
    out = tmp_path / "mau"
    result = CliRunner().invoke(main, ["generate", HD, "--units", str(units), "--period", "2024", "--out", str(out),
                                       "--deadline", "5-1-2025"])
    assert result.exit_code == 0, result.output
    assert "trước ngày 05/01/2025" in (out / "messages.txt").read_text(encoding="utf-8")
    [template] = out.glob("30512_*.xlsx")
    assert "- Hạn gửi: 05/01/2025." in _guide_lines(template)
    bad = CliRunner().invoke(main, ["generate", HD, "--units", str(units), "--period", "2024",
                                    "--out", str(tmp_path / "sai"), "--deadline", "31/02/2025"])
    assert bad.exit_code == 1
    assert "Hạn gửi lại “31/02/2025” không phải một ngày hợp lệ" in bad.output and "15/12/2024" in bad.output
    assert not (tmp_path / "sai").exists()


# ---------------------------------------------------------------------------------------------
# 6. The office's own mistakes named as such


def _cli(*args):
    from click.testing import CliRunner

    from cchc_xls.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def units_csv(tmp_path) -> Path:
    path = tmp_path / "don-vi.csv"
    path.write_text("code,name\n30512,Xã Chí Minh\n30513,Xã Thanh Xá\n", encoding="utf-8")
    return path


def test_files_of_another_bundled_rubric_are_the_office_choice_said_once(tmp_path, units_csv):
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    tn = load_rubric("thai-nguyen-2021")
    full = {n.code: str(n.max) for n in tn.leaves() if n.self_scored}
    for unit in UNITS:
        fill_workbook(make_template(tmp_path, rubric_id="thai-nguyen-2021", unit=unit), full,
                      out=inbox / f"{unit.code}.xlsx")
    result = _cli("harvest", HD, inbox, "--units", units_csv, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    notice = "có thể đã chọn nhầm bộ tiêu chí: các tệp là của thai-nguyen-2021 (2 tệp)"
    assert result.output.count(notice) == 1
    data = json.loads((tmp_path / "out" / "harvest.json").read_text(encoding="utf-8"))
    assert [n["code"] for n in data["notices"]] == ["harvest.wrong_rubric"]
    for file in data["files"]:  # no commune is asked to redo its form
        assert {f["code"] for f in file["findings"] if f["severity"] == "error"} == {"identity.chosen_rubric"}
        assert all("Đề nghị đơn vị" not in f["message"] for f in file["findings"])


def test_the_office_blank_templates_are_named_blank_templates(tmp_path, units_csv):
    generated = tmp_path / "mau"
    assert _cli("generate", HD, "--units", units_csv, "--period", "2024", "--out", generated).exit_code == 0
    result = _cli("harvest", HD, generated, "--units", units_csv, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.output.count("là mẫu trống do Phòng tạo ra (2 tệp") == 1
    data = json.loads((tmp_path / "out" / "harvest.json").read_text(encoding="utf-8"))
    assert [n["code"] for n in data["notices"]] == ["harvest.blank_templates"]
    assert not findings_of(data, "file.empty")


def test_an_empty_inbox_says_it_is_empty_and_fails(tmp_path, units_csv):
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    (inbox / "ghi-chu.txt").write_text("chưa có gì", encoding="utf-8")
    result = _cli("harvest", HD, inbox, "--units", units_csv, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "Không có bảng tính nào trong các thư mục, tệp đã chọn để thu (1 tệp bị bỏ qua): hộp thư trống" in result.output
    # one usable return: no notice, exit 0
    fill_workbook(make_template(tmp_path), CHI_MINH_SCORES, out=inbox / "30512.xlsx")
    again = _cli("harvest", HD, inbox, "--units", units_csv, "--out", tmp_path / "out2")
    assert again.exit_code == 0 and "hộp thư trống" not in again.output


# ---------------------------------------------------------------------------------------------
# 3. What the commune wrote is what the council sees; one rule for an invalid score


def _ranking_rows(path: Path) -> dict[str, list]:
    """Phụ lục II's rows by the unit's name (column B), as a person reads the sheet."""
    sheet = load_workbook(path, data_only=True)["Phụ lục II"]
    return {str(row[1]): list(row) for row in sheet.iter_rows(values_only=True) if str(row[1]).startswith("UBND xã")}


def test_one_rule_counts_every_invalid_score_and_the_provisional_ranking_says_what_is_wrong(tmp_path):
    # 1.7 (max 3, any decimal) typed 4; 1.2 (max 2) typed -1; 1.6.1 (levels 0; 0,25) typed 0,2;
    # "Đạt" in 2.1; 6.2 not entered
    levels = {lv.points for lv in next(n for n in RUBRIC.leaves() if n.code == "1.6.1").levels}
    assert D("0.2") not in levels and D("0") in levels
    scores = {**CHI_MINH_SCORES, "1.7": "4", "1.2": "-1", "1.6.1": "0.2", "2.1": "Đạt"}
    del scores["6.2"]
    filled = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "30512.xlsx")
    out = tmp_path / "out"
    data = harvest_json(out, filled)
    unit = next(u for u in data["units"] if u["code"] == CHI_MINH.code)
    # the rule: the highest allowed score not above what was typed; a non-number counts 0
    assert unit["scores"]["1.7"] == 3 and unit["scores"]["1.2"] == 0 and unit["scores"]["1.6.1"] == 0
    assert "2.1" not in unit["scores"] and "6.2" not in unit["scores"]
    expected = D(75) - D("2.9") + 3 - 2 - D("0.25") - 1 - 1
    assert unit["self_total"] == expected
    [off] = findings_of(data, "score.off_level")
    assert "tạm tính 0 (mức liền dưới)" in off["message"]
    errors = sum(1 for f in data["files"][0]["findings"] if f["severity"] == "error")
    assert errors == 4
    assert unit["return_note"] == "còn 1 tiêu chí chưa nhập điểm; phiếu có 4 lỗi"
    rows = _ranking_rows(out / "phu-luc-ii.xlsx")
    chi_minh = rows["UBND xã Chí Minh"]
    assert "Còn 1 tiêu chí chưa nhập điểm; phiếu có 4 lỗi" in [c for c in chi_minh if isinstance(c, str)]
    assert "Chưa nộp" in " ".join(str(c) for c in rows["UBND xã Thanh Xá"])
    # 14.10: Kiểm tra's rows are as tall as their text (it printed on 11 pages when 2-3 times taller)
    checks = load_workbook(out / "tong-hop.xlsx")["Kiểm tra"]
    for row in range(5, checks.max_row + 1):
        message = str(checks.cell(row, 6).value or "")
        height = checks.row_dimensions[row].height
        path = str(checks.cell(row, 2).value or "")
        # LibreOffice fits well over 100 of these characters per line of the message, 45 of the path
        lines = max(-(-len(message) // 100), -(-len(path) // 45))
        assert height <= 15 * max(lines, 1) + 5, (message, height)


# ---------------------------------------------------------------------------------------------
# 5. The counts agree


def test_the_cli_harvest_json_tong_hop_and_the_district_report_give_the_same_counts(tmp_path):
    import re

    from docx import Document

    units = tmp_path / "don-vi.csv"
    units.write_text("code,name\n30512,Xã Chí Minh\n30513,Xã Thanh Xá\n30514,Xã Tứ Kỳ\n", encoding="utf-8")
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    older = fill_workbook(make_template(tmp_path), {**CHI_MINH_SCORES, "1.2": "1"}, out=inbox / "30512-cu.xlsx")
    newer = fill_workbook(make_template(tmp_path), CHI_MINH_SCORES, out=inbox / "30512-moi.xlsx")
    import os
    os.utime(older, (1_700_000_000, 1_700_000_000))
    os.utime(newer, (1_700_100_000, 1_700_100_000))
    (inbox / "30512-scan.pdf").write_bytes(b"%PDF-1.4 scanned")  # an attachment of Chí Minh's return
    (inbox / "hong.xlsx").write_bytes(b"not a workbook")  # a damaged file: rejected
    (inbox / "ghi-chu.txt").write_text("x", encoding="utf-8")  # skipped
    tn = load_rubric("thai-nguyen-2021")  # Thanh Xá sends last year's form: its unit is rejected
    fill_workbook(make_template(tmp_path, rubric_id="thai-nguyen-2021", unit=THANH_XA),
                  {n.code: str(n.max) for n in tn.leaves() if n.self_scored}, out=inbox / "30513.xlsx")
    out = tmp_path / "out"
    result = _cli("harvest", HD, inbox, "--units", units, "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "harvest.json").read_text(encoding="utf-8"))["summary"]
    expected = {"received": 6, "accepted": 1, "rejected": 2, "superseded": 1, "skipped": 1, "attachments": 1,
                "total": 3, "submitted": 1, "missing": 1, "rejected_units": 1}
    assert {k: summary[k] for k in expected} == expected
    sentence = (f"Đã nhận 6 tệp: 1 được tính, 2 bị từ chối, 1 bị thay bằng tệp mới hơn, 1 bỏ qua, "
                f"1 tài liệu kèm theo. "
                f"1/3 đơn vị có phiếu được tính; còn 1 đơn vị chưa nộp.")
    assert sentence in result.output
    progress = load_workbook(out / "tong-hop.xlsx")["Tiến độ"]
    assert progress["A3"].value == sentence
    report = _cli("report", out, "--out", tmp_path / "bao-cao")
    assert report.exit_code == 0, report.output
    [docx] = (tmp_path / "bao-cao").glob("bao-cao-tong-hop_*.docx")
    text = "\n".join(p.text for p in Document(docx).paragraphs)
    line = next(l for l in text.splitlines() if "Tổng số đơn vị" in l)
    numbers = [int(n) for n in re.findall(r"\d+", line)]
    assert numbers == [expected["total"], expected["submitted"], expected["missing"], expected["rejected"]], line


# ---------------------------------------------------------------------------------------------
# 7. Results are never overwritten silently


def test_a_reused_folder_keeps_the_earlier_harvest_rank_and_report_in_lich_su(tmp_path, units_csv):
    import os
    import zipfile

    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    first = fill_workbook(make_template(tmp_path), {**CHI_MINH_SCORES, "1.2": "1"}, out=inbox / "30512.xlsx")
    out = tmp_path / "ket-qua"
    assert _cli("harvest", HD, inbox, "--units", units_csv, "--out", out).exit_code == 0
    before = json.loads((out / "harvest.json").read_text(encoding="utf-8"))
    os.utime(out / "harvest.json", (1_700_000_000, 1_700_000_000))
    first.unlink()
    fill_workbook(make_template(tmp_path), CHI_MINH_SCORES, out=inbox / "30512-sua.xlsx")
    assert _cli("harvest", HD, inbox, "--units", units_csv, "--out", out).exit_code == 0
    after = json.loads((out / "harvest.json").read_text(encoding="utf-8"))
    assert (before["units"][0]["self_total"], after["units"][0]["self_total"]) == (74, 75)
    [kept] = (out / "lich-su").iterdir()
    assert json.loads((kept / "harvest.json").read_text(encoding="utf-8")) == before
    assert {p.name for p in kept.iterdir()} >= {"harvest.json", "tong-hop.xlsx", "phu-luc-ii.xlsx"}
    # a third harvest does not read the kept results as inputs
    assert _cli("harvest", HD, inbox, out, "--units", units_csv, "--out", out).exit_code == 0
    assert json.loads((out / "harvest.json").read_text(encoding="utf-8"))["summary"]["received"] == 1
    # rank and report keep theirs too
    from cchc_xls.outputs import file_sha256

    ranked = file_sha256(out / "phu-luc-ii.xlsx")
    assert _cli("rank", out, "--office", "UBND huyện Thử").exit_code == 0
    assert file_sha256(out / "phu-luc-ii.xlsx") != ranked
    assert ranked in {file_sha256(p) for p in (out / "lich-su").rglob("phu-luc-ii.xlsx")}
    reports = tmp_path / "bao-cao"
    assert _cli("report", out, "--out", reports).exit_code == 0
    assert _cli("report", out, "--out", reports).exit_code == 0
    assert {p.name for p in (reports / "lich-su").iterdir() for p in p.iterdir()} == {p.name for p in reports.glob("*.docx")}


def test_a_reused_generate_folder_agrees_with_its_manifest_and_zip(tmp_path):
    import csv
    import zipfile

    three = tmp_path / "ba.csv"
    three.write_text("code,name\n30512,Xã Chí Minh\n30513,Xã Thanh Xá\n30514,Xã Tứ Kỳ\n", encoding="utf-8")
    two = tmp_path / "hai.csv"
    two.write_text("code,name\n30512,Xã Chí Minh\n30513,Xã Thanh Xá\n", encoding="utf-8")
    out = tmp_path / "mau"
    assert _cli("generate", HD, "--units", three, "--period", "2024", "--out", out).exit_code == 0
    result = _cli("generate", HD, "--units", two, "--period", "2024", "--out", out)
    assert result.exit_code == 0
    assert "1 phiếu của lần tạo trước không còn trong danh sách" in result.output
    in_folder = {p.name for p in out.glob("*.xlsx")}
    with open(out / "manifest.csv", encoding="utf-8-sig") as handle:
        listed = {row["file"] for row in csv.DictReader(handle)}
    with zipfile.ZipFile(out / "templates.zip") as archive:
        zipped = set(archive.namelist())
    assert in_folder == listed == zipped and len(in_folder) == 2
    assert [p.name for p in (out / "lich-su").rglob("*.xlsx")] == ["30514_xa-tu-ky_CCHC_2024.xlsx"]


# ---------------------------------------------------------------------------------------------
# 2. The council signs what ranks


@pytest.mark.libreoffice
def test_the_council_workbook_recalculated_by_libreoffice_shows_the_appraised_total_that_ranks(tmp_path):
    from cchc_xls.appraise import write_appraisal_workbooks

    tn = load_rubric("thai-nguyen-2021")
    unit = Unit("20101", "Xã Phúc Xuân", "xã")
    leaves = [n for n in tn.leaves() if n.self_scored]
    scores = {n.code: str(n.max) for n in leaves if n.code != "8.5.2"}
    template = make_template(tmp_path, rubric_id="thai-nguyen-2021", unit=unit)
    returned = fill_workbook(template, scores, na={"8.5.2": "Không áp dụng"}, explanations={"8.5.2": "Không phát sinh"},
                             out=tmp_path / "20101.xlsx")
    first = tmp_path / "thu"
    run_harvest(tn, [returned], [unit], first, workers=1)
    books = write_appraisal_workbooks(first, tmp_path / "tham-dinh", by="unit")
    [book] = books.workbooks
    wb = load_workbook(book)
    ws = wb["Thẩm định"]
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "STT" or ws.cell(r, 1).value == "Mã")
    cols = {ws.cell(header, c).value: c for c in range(1, ws.max_column + 1)}
    appraisal_col = cols["Điểm thẩm định"]
    codes = {str(ws.cell(r, 1).value): r for r in range(header + 1, ws.max_row + 1) if ws.cell(r, 1).value}
    appraised = {n.code: n.max - (D("0.5") if n.max >= 1 and i % 7 == 0 else 0) for i, n in enumerate(leaves)
                 if n.code != "8.5.2"}
    for code, value in appraised.items():
        ws.cell(codes[code], appraisal_col).value = float(value)
    filled = tmp_path / "da-tham-dinh" / book.name
    filled.parent.mkdir()
    wb.save(filled)
    shown = load_workbook(libreoffice_convert(filled, "xlsx", tmp_path / "lo"), data_only=True)["Thẩm định"]
    labels = {str(shown.cell(r, 1).value or ""): r for r in range(header + 1, shown.max_row + 1)}
    rescaled_row = next(r for label, r in labels.items() if label.startswith("TỔNG ĐIỂM QUY ĐỔI"))
    final = tmp_path / "ket-qua"
    run_harvest(tn, [returned, filled], [unit], final, workers=1)
    data = json.loads((final / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    outcome = data["units"][0]
    assert outcome["appraisal_complete"] and outcome["appraisal_total"] is not None
    raw = sum(appraised.values(), D(0))
    assert outcome["appraisal_total"] != raw  # the rescaling matters here
    assert D(str(shown.cell(rescaled_row, appraisal_col).value)) == outcome["appraisal_total"]


# ---------------------------------------------------------------------------------------------
# 10. Pages that print as people sign them


def test_theo_cum_says_chua_nop_for_a_commune_that_sent_nothing(tmp_path):
    units = [Unit("30512", "Xã Chí Minh", "xã", "Tứ Kỳ"), Unit("30513", "Xã Thanh Xá", "xã", "Tứ Kỳ")]
    filled = fill_workbook(make_template(tmp_path), CHI_MINH_SCORES, out=tmp_path / "30512.xlsx")
    out = tmp_path / "out"
    run_harvest(RUBRIC, [filled], units, out, workers=1)
    sheet = load_workbook(out / "phu-luc-ii.xlsx")["Theo cụm"]
    rows = {row[1]: row for row in sheet.iter_rows(values_only=True) if row[1]}
    assert rows["UBND xã Thanh Xá"][2] == "Chưa nộp"
    assert rows["UBND xã Chí Minh"][2] == 75 and rows["UBND xã Chí Minh"][3] == 1


@pytest.mark.libreoffice
def test_appraise_by_area_prints_each_commune_column_group_whole_on_a_page(tmp_path):
    import subprocess

    from cchc_xls.appraise import write_appraisal_workbooks

    units = [Unit(f"3051{i}", f"Xã Thử {name}", "xã") for i, name in enumerate(["An", "Bình", "Cường", "Dũng", "Em"])]
    filled = [fill_workbook(make_template(tmp_path, unit=u), CHI_MINH_SCORES, out=tmp_path / f"tra-{u.code}.xlsx")
              for u in units]
    run_harvest(RUBRIC, filled, units, tmp_path / "thu", workers=1)
    books = write_appraisal_workbooks(tmp_path / "thu", tmp_path / "tham-dinh", by="area")
    book = next(p for p in books.workbooks if "linh-vuc-2_" in p.name)
    sheet = load_workbook(book)["Thẩm định"]
    breaks = [b.id for b in sheet.col_breaks.brk]
    assert breaks == [3 + 4 * 2, 3 + 4 * 4]  # after every second commune's four columns
    pdf = libreoffice_convert(book, "pdf", tmp_path / "pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for page in text.split("\f"):
        if "Mã đơn vị:" not in page:
            continue
        # every group that starts on a page also ends there: its heading and its last column
        assert page.count("Mã đơn vị:") == page.count("Gợi ý thẩm định") <= 2, page[:400]


def test_the_council_sees_what_the_commune_wrote_marked_with_what_counts(tmp_path):
    from cchc_xls.appraise import write_appraisal_workbooks

    scores = {**CHI_MINH_SCORES, "1.7": "4", "2.1": "Đạt", "1.6.1": "0.2"}
    filled = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "30512.xlsx")
    run_harvest(RUBRIC, [filled], UNITS, tmp_path / "thu", workers=1)
    for by in ("unit", "area"):
        books = write_appraisal_workbooks(tmp_path / "thu", tmp_path / f"tham-dinh-{by}", by=by)
        shown = {}
        for book in books.workbooks:
            sheet = load_workbook(book)["Thẩm định"]
            for row in sheet.iter_rows():
                code = str(row[0].value or "")
                if code in ("1.7", "2.1", "1.6.1"):
                    shown[code] = (row[3].value, row[3].fill.fgColor.rgb,
                                   " ".join(str(c.value) for c in row if isinstance(c.value, str)))
        assert shown["1.7"][0] == "4" and shown["2.1"][0] == "Đạt" and shown["1.6.1"][0] == "0,2", by
        for code, counted in (("1.7", "3"), ("2.1", "0 (không phải số)"), ("1.6.1", "0")):
            assert shown[code][1].endswith("FF9999"), (by, code)
            assert f"điểm tự chấm được tính: {counted}." in shown[code][2], (by, code)


# ---------------------------------------------------------------------------------------------
# 4. Numbers look the same everywhere


def test_every_score_and_total_in_every_output_workbook_has_the_one_format(tmp_path):
    from cchc_xls.appraise import write_appraisal_workbooks
    from cchc_xls.score import cut_percent
    from cchc_xls.style import PERCENT_FORMAT, SCORE_FORMAT

    filled = fill_workbook(make_template(tmp_path), {**CHI_MINH_SCORES, "1.6.1": "0.25"}, out=tmp_path / "30512.xlsx")
    out = tmp_path / "thu"
    run_harvest(RUBRIC, [filled], UNITS, out, workers=1)
    books = write_appraisal_workbooks(out, tmp_path / "tham-dinh", by="unit")
    formats = set()
    for path in [out / "tong-hop.xlsx", out / "phu-luc-ii.xlsx", *books.workbooks]:
        for sheet in load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, float) or (isinstance(cell.value, str) and cell.value.startswith("=")):
                        formats.add(cell.number_format)
                    if isinstance(cell.value, float):
                        assert D(str(cell.value)) == D(str(cell.value)).quantize(D("0.001")), (path.name, cell.coordinate)
    assert formats <= {SCORE_FORMAT, PERCENT_FORMAT}, formats
    heat = load_workbook(out / "tong-hop.xlsx")["Tỷ lệ theo lĩnh vực"]
    area_1 = next(row for row in heat.iter_rows(values_only=True) if row[0] == "1")
    assert D(str(area_1[3])) == cut_percent(D("14.9"), D("15"))  # 99,33: cut as the reports cut it


def test_the_total_rows_of_phu_luc_i_are_not_cramped(tmp_path):
    from cchc_xls.style import LINE_HEIGHT

    sheet = load_workbook(make_template(tmp_path))[MAIN_SHEET]
    rows = rows_by_code(sheet)
    footer = [r for r in range(rows["II.3"] + 1, rows["II.3"] + 4)
              if str(sheet.cell(r, 1).value or "").startswith(("TỔNG ĐIỂM", "Xếp loại"))]
    assert len(footer) == 2
    for row in footer:
        assert sheet.row_dimensions[row].height >= 1.5 * LINE_HEIGHT, row
