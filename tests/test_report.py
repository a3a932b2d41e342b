"""`cchc report` (issue 5): the narrative reports as editable Word documents.

Thị trấn Thanh Miện returns a hai-duong-2022 workbook whose leaf scores reproduce seed 000's
criterion totals exactly (samples/diem-mau.yaml, commune M02); Xã Chí Minh (seed 003, M01) and
Xã Thanh Xá (seed 004's area totals, M03) return theirs; Xã Mẫu Yên (M15) sends nothing. The
harvest is real (generated workbooks, rendered as Excel saves them). The commune report must carry
the seed's own figures, in its form and in Vietnamese number format; the summary report the
district's counts, extremes, weakest criteria and missing communes. The ranking and both reports
are converted to PDF with LibreOffice.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
import zipfile
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn

from cchc_xls.cli import main
from cchc_xls.generate import Entries
from cchc_xls.pipeline import run_harvest
from cchc_xls.report import percent_vn
from cchc_xls.resources import data_dir
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

from support import libreoffice_convert, make_template, needs_libreoffice

D = Decimal
RUBRIC = load_rubric("hai-duong-2022")
SAMPLE = yaml.safe_load((data_dir("samples") / "diem-mau.yaml").read_text(encoding="utf-8"))
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]", re.IGNORECASE)

CHI_MINH = Unit("M01", "Xã Chí Minh", "xã", "Cụm 1")
THANH_MIEN = Unit("M02", "Thị trấn Thanh Miện", "thị trấn", "Cụm 2")
THANH_XA = Unit("M03", "Xã Thanh Xá", "xã", "Cụm 3")
MAU_YEN = Unit("M15", "Xã Mẫu Yên", "xã", "Cụm 2")  # sends nothing
UNITS = [CHI_MINH, THANH_MIEN, THANH_XA, MAU_YEN]

# Seed 000 (Thanh Miện's 2023 report), as printed there: "Phần 3. CẢI CÁCH THỦ TỤC HÀNH CHÍNH: 18.494/18.5 điểm".
SEED_000_AREAS = {"1": ("14", "15"), "2": ("5", "5"), "3": ("18.494", "18.5"), "4": ("6", "6"), "5": ("7.619", "11"),
                  "6": ("7", "7"), "7": ("10.203", "11.5")}
SEED_000_CRITERIA = {
    "1.1": ("2.5", "2.5"), "1.2": ("2", "2"), "1.3": ("2", "2"), "1.4": ("2", "2"), "1.5": ("1.5", "2.5"),
    "1.6": ("1", "1"), "1.7": ("3", "3"),
    "2.1": ("1", "1"), "2.2": ("3", "3"), "2.3": ("1", "1"),
    "3.1": ("3", "3"), "3.2": ("3", "3"), "3.3": ("3.5", "3.5"), "3.4": ("1", "1"), "3.5": ("4", "4"),
    "3.6": ("2.494", "2.5"), "3.7": ("1.5", "1.5"),
    "4.1": ("2", "2"), "4.2": ("2", "2"), "4.3": ("1", "1"), "4.4": ("1", "1"),
    "5.1": ("1", "1"), "5.2": ("2", "2"), "5.3": ("2.619", "4"), "5.4": ("2", "4"),
    "6.1": ("3", "3"), "6.2": ("1", "1"), "6.3": ("1", "1"), "6.4": ("1", "1"), "6.5": ("1", "1"),
    "7.1": ("7", "7"), "7.2": ("3.203", "4.5"),
    "II.1": ("1.5", "2"),
}
SEED_000_TOTAL = "69,816"


def vn(text: str) -> str:
    return text.replace(".", ",")


def commune(unit: Unit) -> dict:
    return SAMPLE["communes"][unit.code]


def scores_of(unit: Unit) -> dict[str, Decimal]:
    return {str(k): D(str(v)) for k, v in commune(unit)["scores"].items()}


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ---------------------------------------------------------------------------------------------
# Fixtures: one real harvest, the reports written from it


@pytest.fixture(scope="module")
def harvested(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    inbox = root / "hop-thu"
    inbox.mkdir()
    for unit in (CHI_MINH, THANH_MIEN, THANH_XA):
        data = commune(unit)
        entries = Entries(scores=scores_of(unit), evidence={str(k): v for k, v in data["evidence"].items()},
                          explanations={str(k): v for k, v in (data.get("explanations") or {}).items()})
        make_template(inbox, unit=unit, entries=entries, name=f"Phu luc CCHC {unit.code}.xlsx")
    out = root / "ket-qua"
    run_harvest(RUBRIC, [inbox], UNITS, out, period=parse_period("2024"), workers=1)
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    totals = {u["code"]: u["self_total"] for u in data["units"]}
    assert totals == {"M01": D("75"), "M02": D("69.816"), "M03": D("70.13"), "M15": None}
    return out


@pytest.fixture(scope="module")
def thanh_mien(harvested, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bao-cao-xa")
    result = cli("report", harvested, "--unit", THANH_MIEN.code, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["summary"] is None and len(printed["communes"]) == 1
    path = Path(printed["communes"][0])
    assert path.parent == out and path.suffix == ".docx" and path.is_file()
    assert sorted(p.name for p in out.iterdir()) == [path.name]  # only the one commune's report
    return path


@pytest.fixture(scope="module")
def all_reports(harvested, tmp_path_factory) -> tuple[Path, list[Path], Path]:
    out = tmp_path_factory.mktemp("bao-cao")
    result = cli("report", harvested, "--out", out, "--office", "UBND huyện Thanh Miện")
    assert result.exit_code == 0, result.output
    summary = [p for p in out.glob("*.docx") if "tong-hop" in p.name]
    communes = [p for p in out.glob("*.docx") if "tong-hop" not in p.name]
    assert len(summary) == 1 and len(communes) == 3
    assert str(summary[0]) in result.output
    return out, communes, summary[0]


def texts(path: Path) -> list[str]:
    """Every paragraph of the document, the header and signature tables' cells included, in order."""
    document = Document(str(path))
    body = document.element.body
    result = []
    for child in body.iterchildren():
        if child.tag.endswith("}p"):
            result.append("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")))
        elif child.tag.endswith("}tbl"):
            for paragraph in child.iter():
                if paragraph.tag.endswith("}p"):
                    result.append("".join(t.text or "" for t in paragraph.iter() if t.tag.endswith("}t")))
    return [t for t in result if t.strip()]


def line_starting(lines: list[str], start: str) -> str:
    found = [line for line in lines if line.lstrip("- ").startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


# ---------------------------------------------------------------------------------------------
# percent_vn: as seed 004 writes percentages


@pytest.mark.parametrize("part,whole,text", [
    ("14.35", "15", "95,66"),  # seed 004: "14,35 điểm /15 điểm, đạt 95,66 %" (95.666…: cut, not rounded)
    ("17.78", "18.5", "96,1"),  # seed 004: "17.78 điểm/ 18,5 điểm, đạt 96,1%"
    ("5", "5", "100"),  # seed 004: "5 điểm/5 điểm, đạt 100%"
    ("2", "3", "66,66"),
    ("18.494", "18.5", "99,96"),
    ("7.619", "11", "69,26"),
    ("1", "8", "12,5"),
    ("0", "15", "0"),
    ("3", "0", "0"),
])
def test_percent_vn_cuts_to_two_decimals_with_a_decimal_comma(part, whole, text):
    assert percent_vn(D(part), D(whole)) == text


# ---------------------------------------------------------------------------------------------
# Thanh Miện's report carries seed 000's own figures


def test_thanh_mien_report_areas_carry_seed_000_figures(thanh_mien):
    lines = texts(thanh_mien)
    phan3 = line_starting(lines, "Phần 3. CẢI CÁCH THỦ TỤC HÀNH CHÍNH")
    assert "18,494/18,5 điểm" in phan3
    phan5 = line_starting(lines, "Phần 5.")
    assert "7,619/11 điểm" in phan5
    for code, (score, maximum) in SEED_000_AREAS.items():
        line = line_starting(lines, f"Phần {code}. ")
        assert f": {vn(score)}/{vn(maximum)} điểm" in line, line
        assert f"đạt {percent_vn(D(score), D(maximum))}%" in line, line


def test_thanh_mien_report_criteria_carry_seed_000_figures(thanh_mien):
    lines = texts(thanh_mien)
    lines = lines[:lines.index("Các tiêu chí chưa đạt điểm tối đa")]  # the score lines, not the list of losses
    assert "3.6. Số hóa hồ sơ, kết quả giải quyết TTHC: 2,494/2,5 điểm" in "\n".join(lines)
    for code, (score, maximum) in SEED_000_CRITERIA.items():
        line = line_starting(lines, f"{code}. {RUBRIC.node(code).label}:")
        assert line.lstrip("- ").startswith(f"{code}. {RUBRIC.node(code).label}: {vn(score)}/{vn(maximum)} điểm"), line


def test_thanh_mien_report_total_and_percentages(thanh_mien):
    lines = texts(thanh_mien)
    total = [line for line in lines if "Tổng điểm tự chấm" in line]
    assert len(total) == 1 and f"{SEED_000_TOTAL} điểm" in total[0], total
    assert "69.816" not in "\n".join(lines)  # Vietnamese format only: decimal comma
    # part I: 68,316/74 = 92.318…% -> "đạt 92,31%"
    part_one = line_starting(lines, "I. ")
    assert "68,316/74 điểm, đạt 92,31%" in part_one
    assert "đạt 99,96%" in line_starting(lines, "Phần 3.")
    assert "đạt 69,26%" in line_starting(lines, "Phần 5.")
    assert "đạt 88,72%" in line_starting(lines, "Phần 7.")
    assert "đạt 100%" in line_starting(lines, "Phần 2.")
    # no number with a decimal point anywhere in the figures
    for line in lines:
        assert not re.search(r"\d\.\d+/\d", line), line


def test_thanh_xa_report_percentages_as_seed_004_writes_them(all_reports):
    _, communes, _ = all_reports
    path = next(p for p in communes if "_M03_" in p.name)
    lines = texts(path)
    assert "14,35/15 điểm, đạt 95,66%" in line_starting(lines, "Phần 1. ")  # seed 004
    assert "17,78/18,5 điểm, đạt 96,1%" in line_starting(lines, "Phần 3. ")  # seed 004
    assert "5/5 điểm, đạt 100%" in line_starting(lines, "Phần 2. ")
    assert any("Tổng điểm tự chấm: 70,13 điểm" in line for line in lines)


def test_thanh_mien_report_header_and_signature(thanh_mien):
    lines = texts(thanh_mien)
    header = lines[:6]
    assert header[0] == "ỦY BAN NHÂN DÂN"
    assert "THỊ TRẤN THANH MIỆN" in header
    number = next(line for line in header if line.startswith("Số:"))
    assert number.endswith("/BC-UBND")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header
    assert "Độc lập - Tự do - Hạnh phúc" in header
    place = next(line for line in header if ", ngày" in line)
    assert re.fullmatch(r"Thanh Miện, ngày[\s…]+tháng[\s…]+năm 2025", place), place  # the 2024 report is signed in 2025
    assert "BÁO CÁO" in lines
    assert any(line.startswith("Kết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính năm 2024") for line in lines)
    assert "của thị trấn Thanh Miện" in lines
    tail = lines[-8:]
    assert "TM. ỦY BAN NHÂN DÂN" in tail
    assert "CHỦ TỊCH" in tail
    assert tail.index("CHỦ TỊCH") == tail.index("TM. ỦY BAN NHÂN DÂN") + 1
    assert any(line.startswith("Nơi nhận") for line in tail)
    assert any(line.startswith("- Lưu: VT") for line in tail)


def test_thanh_mien_report_lists_the_criteria_that_lost_points_with_their_explanations(thanh_mien):
    lines = texts(thanh_mien)
    heading = lines.index("Các tiêu chí chưa đạt điểm tối đa")
    closing = next(i for i, line in enumerate(lines) if line.startswith("Trên đây là báo cáo"))
    listed = [line for line in lines[heading + 1:closing] if line.startswith("- ")]
    assert len(listed) == closing - heading - 1
    lost = {code: score for code, score in scores_of(THANH_MIEN).items() if score < RUBRIC.node(code).max}
    assert set(lost) == {"1.5.2", "3.6.1", "5.3.2", "5.4.1", "5.4.2", "7.2.2", "II.1"}
    explanations = commune(THANH_MIEN)["explanations"]
    for code, score in lost.items():
        line = line_starting(listed, f"{code}. ")
        assert f": {vn(str(score))}/{vn(str(RUBRIC.node(code).max.normalize()))} điểm." in line, line
        assert explanations[code] in line, line
    assert len(listed) == len(lost)
    assert "3.6.1. Hồ sơ TTHC được số hóa hồ sơ: 0,744/0,75 điểm." in "\n".join(listed)


def test_report_is_an_editable_word_document_in_times_new_roman(thanh_mien):
    document = Document(str(thanh_mien))  # python-docx reopens it
    assert not document.inline_shapes
    with zipfile.ZipFile(thanh_mien) as zf:
        names = zf.namelist()
        xml = zf.read("word/document.xml").decode("utf-8")
    assert not [n for n in names if n.startswith("word/media/")]  # no pictures of text
    assert "<w:drawing" not in xml and "<w:pict" not in xml and "<w:object" not in xml
    assert "69,816" in xml and "18,494/18,5" in xml  # the figures are real text
    assert document.styles["Normal"].font.name == "Times New Roman"
    runs = [run for p in document.paragraphs for run in p.runs if run.text.strip()]
    runs += [run for t in document.tables for cell in t._cells for p in cell.paragraphs for run in p.runs
             if run.text.strip()]
    assert runs
    assert {run.font.name for run in runs} == {"Times New Roman"}
    section = document.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7  # A4
    # editable: change a line, save, reopen
    document.paragraphs[-1].add_run(" (đã sửa)")
    edited = thanh_mien.with_name("edited.docx")
    document.save(str(edited))
    assert "(đã sửa)" in "\n".join(texts(edited))
    edited.unlink()


def test_every_string_in_the_reports_is_nfc(thanh_mien, all_reports):
    _, communes, summary = all_reports
    for path in [thanh_mien, summary, *communes]:
        for line in texts(path):
            assert line == unicodedata.normalize("NFC", line), (path.name, line)
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.endswith(".xml"):
                    text = zf.read(name).decode("utf-8")
                    assert text == unicodedata.normalize("NFC", text), (path.name, name)


def _nfd(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFD", value)
    if isinstance(value, dict):
        return {k: _nfd(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfd(v) for v in value]
    return value


def test_report_from_a_hand_edited_decomposed_harvest_json_is_nfc(harvested, tmp_path):
    data = json.loads((harvested / "harvest.json").read_text(encoding="utf-8"))
    for item in data["units"]:
        for key in ("name", "kind", "group_of_units", "note", "evidence", "explanations"):
            item[key] = _nfd(item.get(key))
    folder = tmp_path / "ket-qua"
    folder.mkdir()
    (folder / "harvest.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = cli("report", folder, "--unit", CHI_MINH.code, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = texts(next((tmp_path / "out").glob("*.docx")))
    assert all(line == unicodedata.normalize("NFC", line) for line in lines)
    assert "XÃ CHÍ MINH" in lines


# ---------------------------------------------------------------------------------------------
# The office's summary report


def test_summary_report_counts_extremes_weakest_and_missing(all_reports):
    _, _, summary = all_reports
    lines = texts(summary)
    joined = "\n".join(lines)
    assert lines[0] == "UBND HUYỆN THANH MIỆN"  # --office
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in lines and "Độc lập - Tự do - Hạnh phúc" in lines
    assert "BÁO CÁO" in lines
    assert "Tổng số đơn vị: 4; đã nộp và được tính: 3; chưa nộp: 1; tệp bị từ chối: 0." in joined
    # groups: Chí Minh 75 and Thanh Xá 70,13 Khá, Thanh Miện 69,816 Trung bình
    assert "Nhóm Xuất sắc: 0 đơn vị (0%)." in joined
    assert "Nhóm Tốt: 0 đơn vị (0%)." in joined
    assert "Nhóm Khá: 2 đơn vị (66,66%)." in joined
    assert "Nhóm Trung bình: 1 đơn vị (33,33%)." in joined
    assert "Nhóm Yếu: 0 đơn vị (0%)." in joined
    assert "tạm tính theo điểm tự chấm" in joined  # no appraisal yet
    extremes = next(line for line in lines if "Điểm cao nhất" in line)
    assert "Điểm cao nhất: 75 điểm (UBND xã Chí Minh)" in extremes
    assert "điểm thấp nhất: 69,816 điểm (UBND thị trấn Thanh Miện)" in extremes
    average = (D("75") + D("69.816") + D("70.13")) / 3  # 71,6486…: cut as every figure is (one rounding)
    assert f"bình quân: {vn(str(average.quantize(D('0.01'), rounding=ROUND_DOWN)))} điểm" in extremes
    assert "Đơn vị chưa nộp: UBND xã Mẫu Yên." in joined
    assert "TRƯỞNG PHÒNG" in lines[-6:]


def test_summary_report_weakest_criteria_are_the_lowest_average_ratios(all_reports):
    _, _, summary = all_reports
    lines = texts(summary)
    start = lines.index("Các tiêu chí có tỷ lệ đạt bình quân thấp nhất:")
    listed = []
    for line in lines[start + 1:]:
        if not line.startswith("- "):
            break
        listed.append(line[2:].split(". ", 1)[0])
    submitted = [CHI_MINH, THANH_MIEN, THANH_XA]
    ratios = {}
    for leaf in RUBRIC.scorable():
        mean = sum((scores_of(u).get(leaf.code, D(0)) for u in submitted), D(0)) / len(submitted)
        if mean < leaf.max:
            ratios[leaf.code] = mean / leaf.max
    expected = sorted(ratios, key=lambda code: (ratios[code], code))[:10]
    assert listed[0] == expected[0]
    assert sorted(listed) == sorted(expected)
    assert len(listed) == min(10, len(ratios))
    weakest = next(line for line in lines[start + 1:] if line.startswith(f"- {expected[0]}. "))
    assert "đơn vị chưa đạt tối đa" in weakest
    # every area in a table, weakest first; only those below the stated threshold listed as weak
    table = next(t for t in Document(str(summary)).tables if t.rows[0].cells[0].text == "Lĩnh vực")
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == len(RUBRIC.areas())
    shares = [D(share.replace(",", ".")) for _, share in rows]
    assert shares == sorted(shares)
    weak = [line for line in lines if "bình quân đạt" in line and line.startswith("- ")]
    assert len(weak) == sum(1 for share in shares if share < 80)
    assert all(D(re.search(r"đạt ([\d,]+)%", line).group(1).replace(",", ".")) < 80 for line in weak)
    if weak:
        assert "Các lĩnh vực còn yếu (bình quân đạt dưới 80% điểm tối đa):" in lines
    else:  # area 5, the weakest, averages 80,66%: not weak
        assert shares[0] == D("80.66")
        assert "Không có lĩnh vực nào bình quân đạt dưới 80% điểm tối đa." in lines


def test_summary_extremes_agree_with_the_provisional_ranking_when_partly_appraised(tmp_path):
    units = [
        {"code": "P1", "name": "Xã An", "kind": "xã", "status": "submitted", "file": "a.xlsx", "self_total": 80,
         "appraisal_total": 60, "appraisal_complete": True},
        {"code": "P2", "name": "Xã Bình", "kind": "xã", "status": "submitted", "file": "b.xlsx", "self_total": 70,
         "appraisal_total": None, "appraisal_complete": False},
    ]
    folder = tmp_path / "ket-qua"
    folder.mkdir()
    (folder / "harvest.json").write_text(json.dumps({"rubric": "hai-duong-2022", "period": "2024", "units": units},
                                                    ensure_ascii=False), encoding="utf-8")
    ranked = json.loads(cli("rank", folder, "--json").stdout)
    assert [u["code"] for u in ranked["units"]] == ["P1", "P2"] and ranked["provisional"]
    result = cli("report", folder, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = next((tmp_path / "out").glob("bao-cao-tong-hop*.docx"))
    extremes = next(line for line in texts(summary) if "Điểm cao nhất" in line)
    assert "Điểm cao nhất: 80 điểm (UBND xã An)" in extremes, extremes


def _grid(table) -> list[str]:
    return [c.get(qn("w:w")) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]


def test_phu_luc_ii_in_word_and_in_the_workbook_carry_the_same_survey_note(harvested):
    from openpyxl import load_workbook

    note = "Ghi chú: điểm tự chấm không gồm các tiêu chí do tỉnh chấm (II.2, II.3; tối đa 24 điểm); điểm thẩm định đã gồm."
    assert note in [p.text for p in Document(str(harvested / "phu-luc-ii.docx")).paragraphs]
    sheet = load_workbook(harvested / "phu-luc-ii.xlsx")["Phụ lục II"]
    assert note in [cell.value for row in sheet.iter_rows() for cell in row]


def test_phu_luc_ii_in_word_without_bonus_or_penalty_keeps_its_seven_columns(harvested):
    document = Document(str(harvested / "phu-luc-ii.docx"))
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Số TT", "Đơn vị cấp xã", "Điểm tự chấm", "Điểm thẩm định",
                                                      "Xếp hạng", "Xếp loại", "Ghi chú"]
    assert table.rows[1].cells[1].text.startswith("UBND")  # one header row, then the units
    # the template's own widths: the template's second table is the one without parts
    template = Document(str(data_dir("templates") / "phu-luc-ii.docx")).tables[1]
    assert "{{ row.self_total }}" in [c.text for c in template.rows[2].cells]
    assert _grid(table) == _grid(template)


# ---------------------------------------------------------------------------------------------
# Errors


def test_report_for_a_unit_that_did_not_submit_exits_1_in_vietnamese(harvested, tmp_path):
    out = tmp_path / "out"
    result = cli("report", harvested, "--unit", MAU_YEN.code, "--out", out)
    assert result.exit_code == 1
    message = result.stderr or result.output
    assert MAU_YEN.code in message and VIETNAMESE.search(message), message
    assert f"Đơn vị mã {MAU_YEN.code} chưa có phiếu được tính (" in message, message
    assert "): chưa lập được báo cáo." in message, message
    assert "Traceback" not in result.output
    assert not out.exists() or not list(out.glob("*.docx"))


def test_report_for_an_unknown_unit_exits_1_in_vietnamese(harvested, tmp_path):
    result = cli("report", harvested, "--unit", "XX99", "--out", tmp_path / "out")
    assert result.exit_code == 1
    message = result.stderr or result.output
    assert "XX99" in message and VIETNAMESE.search(message), message
    assert f"Không có đơn vị mã XX99 trong {harvested / 'harvest.json'}." in message, message


def test_report_without_harvest_json_exits_1(tmp_path):
    empty = tmp_path / "trong"
    empty.mkdir()
    result = cli("report", empty, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "harvest.json" in (result.stderr or result.output)


# ---------------------------------------------------------------------------------------------
# The summary of a large round: headings kept with what follows, the band chart


def _allowed_score(node, share: Decimal) -> Decimal:
    """The score a commune doing `share` of the best would type: on the criterion's levels or step."""
    wanted = node.max * share
    if node.levels:
        return max((lv.points for lv in node.levels if lv.points <= wanted), default=min(lv.points for lv in node.levels))
    step = node.step or D("0.25")
    return (wanted / step).to_integral_value(ROUND_DOWN) * step


@pytest.fixture(scope="module")
def large_round(tmp_path_factory) -> Path:
    """60 communes whose totals run from about 35 to 100 (every band), one that sent nothing."""
    root = tmp_path_factory.mktemp("large")
    inbox = root / "hop-thu"
    inbox.mkdir()
    units = [Unit(f"L{i:02}", f"Xã Thử {i:02}", "xã") for i in range(60)]
    for i, unit in enumerate(units):
        share = D("0.35") + D("0.65") * i / 59
        scores = {leaf.code: _allowed_score(leaf, share) for leaf in RUBRIC.scorable() if leaf.self_scored}
        entries = Entries(scores=scores, evidence={code: f"Kế hoạch số {i + 1}/KH-UBND" for code in scores},
                          explanations={code: "Chưa hoàn thành" for code in scores})
        make_template(inbox, unit=unit, entries=entries)
    out = root / "ket-qua"
    run_harvest(RUBRIC, [inbox], [*units, MAU_YEN], out, period=parse_period("2024"), workers=1)
    result = cli("report", out, "--out", root / "bao-cao")
    assert result.exit_code == 0, result.output
    [summary] = (root / "bao-cao").glob("bao-cao-tong-hop*.docx")
    return summary


def _keeps_with_next(paragraph) -> bool:
    return bool(paragraph.paragraph_format.keep_with_next)


def test_summary_headings_and_captions_keep_with_what_follows_and_table_headers_repeat(large_round):
    document = Document(str(large_round))
    body = list(document.element.body.iterchildren())
    paragraphs = {p._p: p for p in document.paragraphs}
    tables = [child for child in body if child.tag == qn("w:tbl")]
    assert len(tables) >= 3  # the office header, the ranking, the areas (then the signature)
    for table in tables[1:3]:
        before = paragraphs[body[body.index(table) - 1]]
        assert before.text.strip() and _keeps_with_next(before), before.text  # its caption
        header = table.find(qn("w:tr"))
        assert header.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None  # repeats on every page
    headings = [p for p in document.paragraphs if re.match(r"\d\. ", p.text) and p.runs and p.runs[0].bold]
    assert [h.text[:2] for h in headings] == ["1.", "2.", "3.", "4."]
    assert all(_keeps_with_next(h) for h in headings)
    chart = next(p for p in document.paragraphs if p._p.findall(f".//{qn('w:drawing')}"))
    assert _keeps_with_next(chart)  # with its caption "Biểu đồ: …"
    ranking = next(p for p in document.paragraphs if p.text.startswith("Bảng xếp hạng"))
    assert not _keeps_with_next(document.paragraphs[0])  # only headings and captions are kept
    assert _keeps_with_next(ranking)


def test_band_chart_gives_each_band_its_own_colour_distinct_in_grey(large_round, tmp_path):
    from PIL import Image

    from cchc_xls.rank import GROUP_COLOURS

    greys = [0.299 * int(c[1:3], 16) / 255 + 0.587 * int(c[3:5], 16) / 255 + 0.114 * int(c[5:7], 16) / 255
             for c in GROUP_COLOURS]
    assert all(abs(a - b) >= 0.12 for i, a in enumerate(greys) for b in greys[i + 1:]), greys
    with zipfile.ZipFile(large_round) as docx:
        [name] = [n for n in docx.namelist() if n.startswith("word/media/")]
        (tmp_path / "chart.png").write_bytes(docx.read(name))
    image = Image.open(tmp_path / "chart.png").convert("RGB")
    colours = {"#%02X%02X%02X" % rgb for _, rgb in image.getcolors(image.width * image.height)}
    data = json.loads((large_round.parent.parent / "ket-qua" / "harvest.json").read_text(encoding="utf-8"))
    counted = {u["group"] for u in data["units"] if u["rank"] is not None}
    bands = [b.name for b in RUBRIC.bands]
    assert len(counted) >= 3 and len(bands) <= len(GROUP_COLOURS)
    for index, band in enumerate(bands):  # a bar in its band's colour where the band has units, else none
        assert (GROUP_COLOURS[index] in colours) == (band in counted), band


@pytest.mark.libreoffice
def test_summary_of_a_large_round_never_ends_a_page_with_a_heading_or_caption(large_round, tmp_path):
    needs_libreoffice()
    pdf = libreoffice_convert(large_round, "pdf", tmp_path)
    pages = [unicodedata.normalize("NFC", page) for page in pdf_text(pdf).split("\f") if page.strip()]
    assert len(pages) >= 3
    ranking = next(i for i, page in enumerate(pages) if "Bảng xếp hạng" in page)
    after = pages[ranking].split("Bảng xếp hạng", 1)[1]
    assert re.search(r"Số\s+Đơn vị", after) and "Thử 59" in after  # the caption, the header row, the first unit
    for number, page in enumerate(pages[:-1], start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        last = lines[-2] if lines[-1].isdigit() else lines[-1]  # above the page number
        assert not re.match(r"\d\. |Bảng xếp hạng|Tỷ lệ điểm đạt bình quân|Các lĩnh vực còn yếu|Các tiêu chí", last), \
            (number, last)
    # the ranking table's header row is printed again on the pages it continues on
    assert sum(1 for page in pages if re.search(r"Số\s+Đơn vị", page)) >= 2


# ---------------------------------------------------------------------------------------------
# PDF with LibreOffice: the ranking, a commune report, the summary


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.libreoffice
def test_ranking_commune_report_and_summary_convert_to_pdf(harvested, thanh_mien, all_reports, tmp_path_factory):
    needs_libreoffice()
    out = tmp_path_factory.mktemp("pdf")
    _, _, summary = all_reports
    expectations = {
        harvested / "phu-luc-ii.xlsx": ["THỐNG KÊ KẾT QUẢ XẾP HẠNG CHỈ SỐ CCHC", "UBND xã Chí Minh"],
        harvested / "phu-luc-ii.docx": ["PHỤ LỤC II", "UBND xã Chí Minh", "69,816", "THỦ TRƯỞNG CƠ QUAN"],
        thanh_mien: ["18,494/18,5", "69,816", "CHỦ TỊCH"],
        summary: ["UBND xã Mẫu Yên", "TRƯỞNG PHÒNG", "Bảng xếp hạng"],
    }
    for source, words in expectations.items():
        pdf = libreoffice_convert(source, "pdf", out)
        assert pdf_pages(pdf) >= 1, source
        text = unicodedata.normalize("NFC", pdf_text(pdf))
        for word in words:
            assert word in text, (source.name, word)
