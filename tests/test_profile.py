"""The office as data (issue 15, section 1): one profile, the same meaning in every document.

A province's Sở Nội vụ runs a year from its profile file: the templates' instructions and
messages name it, the harvest keeps the profile, and Phụ lục II (xlsx and docx), the appraisal and
survey workbooks and both reports carry its header, number, issuing line and signature, read back
from the files. A district office of an earlier year still comes out right, a bad profile file is
a list of Vietnamese findings, options win over the file, and a commune's text stays plain text.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook

from cchc_xls.cli import main
from cchc_xls.errors import CchcError
from cchc_xls.layout import APPRAISAL_SHEET, GUIDE_SHEET, RANKING_SHEET, SURVEY_SHEET
from cchc_xls.profile import OfficeProfile, load_profile
from cchc_xls.rubric import load_rubric
from cchc_xls.units import parse_period

from support import fill_workbook

D = Decimal
RUBRIC = load_rubric("hai-duong-2022")
PROVINCE_YAML = """\
issuer: "UBND tỉnh Thái Nguyên"
office: "Sở Nội vụ tỉnh Thái Nguyên"
signer_name: "Nguyễn Văn Bình"
place: "Thái Nguyên"
"""
UNITS_CSV = "code,name,kind\nT01,Xã Đại Từ,xã\nT02,Phường Phan Đình Phùng,phường\nT03,Xã Yên Trạch,xã\n"
HOSTILE = ("Chưa đạt.\n</w:t></w:r></w:p><w:p><w:r><w:t>ĐOẠN GIẢ</w:t></w:r></w:p>\n{{ unit_upper }} {% if true %}"
           "THẺ GIẢ{% endif %}\tcuối\r\ndòng sau")


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def sheet_texts(sheet) -> list[str]:
    return [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]


def docx_texts(path: Path) -> list[str]:
    """Every paragraph, in tables too, in order."""
    body = Document(str(path)).element.body
    result = []
    for paragraph in body.iter():
        if paragraph.tag.endswith("}p"):
            text = "".join(t.text or "" for t in paragraph.iter() if t.tag.endswith("}t"))
            if text.strip():
                result.append(text)
    return result


# ---------------------------------------------------------------------------------------------
# The profile itself


@pytest.mark.parametrize("profile, header, number, title, issuing", [
    (OfficeProfile(issuer="UBND tỉnh Thái Nguyên", office="Sở Nội vụ tỉnh Thái Nguyên"),
     ("UBND TỈNH THÁI NGUYÊN", "SỞ NỘI VỤ"), "Số: ……/BC-SNV", "Giám đốc", "Chủ tịch UBND tỉnh Thái Nguyên"),
    (OfficeProfile(office="Sở Nội vụ tỉnh Thái Nguyên"),  # the issuer follows from the office
     ("UBND TỈNH THÁI NGUYÊN", "SỞ NỘI VỤ"), "Số: ……/BC-SNV", "Giám đốc", "Chủ tịch UBND tỉnh Thái Nguyên"),
    (OfficeProfile(issuer="Ủy ban nhân dân thành phố Hà Nội", office="Sở Nội vụ thành phố Hà Nội"),
     ("UBND THÀNH PHỐ HÀ NỘI", "SỞ NỘI VỤ"), "Số: ……/BC-SNV", "Giám đốc", "Chủ tịch UBND thành phố Hà Nội"),
    (OfficeProfile(issuer="UBND huyện Tứ Kỳ", office="Phòng Nội vụ huyện Tứ Kỳ"),
     ("UBND HUYỆN TỨ KỲ", "PHÒNG NỘI VỤ"), "Số: ……/BC-PNV", "Trưởng phòng", "Chủ tịch UBND huyện Tứ Kỳ"),
    (OfficeProfile(issuer="UBND huyện Tứ Kỳ"),  # a district's office is its Phòng Nội vụ
     ("UBND HUYỆN TỨ KỲ", "PHÒNG NỘI VỤ"), "Số: ……/BC-PNV", "Trưởng phòng", "Chủ tịch UBND huyện Tứ Kỳ"),
    (OfficeProfile(office="Sở Nội vụ tỉnh Quảng Ninh", signer_title="Phó Giám đốc"),
     ("UBND TỈNH QUẢNG NINH", "SỞ NỘI VỤ"), "Số: ……/BC-SNV", "Phó Giám đốc", "Chủ tịch UBND tỉnh Quảng Ninh"),
])
def test_headers_numbers_titles_follow_the_office(profile, header, number, title, issuing):
    assert profile.header_lines() == header
    assert profile.number_line() == number
    assert profile.title == title
    assert profile.issuing_line(2026).endswith(f"ngày ……/……/2026 của {issuing})")


def test_an_unknown_office_gets_dotted_blanks_never_a_wrong_word():
    nothing = OfficeProfile()
    words = " ".join([*nothing.header_lines(), nothing.number_line(), nothing.issuing_line(2026), nothing.title,
                      nothing.date_line(2026), nothing.office_name])
    assert "huyện" not in words.lower() and "tỉnh" not in words.lower() and "phòng" not in words.lower()
    assert nothing.header_lines() == ("UBND ……", "……")
    assert nothing.name_line.startswith("……")
    # a province office never gets a district's word
    province = OfficeProfile(issuer="UBND tỉnh Thái Nguyên")
    assert "huyện" not in " ".join([*province.header_lines(), province.office_name, province.title]).lower()
    assert province.office_name == "Sở Nội vụ tỉnh Thái Nguyên"


def test_documents_about_a_year_are_dated_the_next_year_unless_a_date_is_set():
    profile = OfficeProfile(office="Sở Nội vụ tỉnh Thái Nguyên")
    assert profile.issue_year(parse_period("2025")) == 2026
    assert profile.issue_year(parse_period("2025-H1")) == 2025
    assert profile.date_line(2026) == "Thái Nguyên, ngày …… tháng …… năm 2026"
    dated = load_profile(None, office="Sở Nội vụ tỉnh Thái Nguyên", date="05/02/2026")
    assert dated.date == date(2026, 2, 5)
    assert dated.date_line(dated.issue_year(parse_period("2025"))) == "Thái Nguyên, ngày 05 tháng 02 năm 2026"
    assert "ngày 05/02/2026 của Chủ tịch UBND tỉnh Thái Nguyên" in dated.issuing_line(2026)
    with pytest.raises(CchcError, match="DD/MM/YYYY"):
        load_profile(None, date="2026-13-45")


def test_a_bad_profile_file_lists_every_bad_key_at_once_in_vietnamese(tmp_path):
    path = tmp_path / "ho-so.yaml"
    path.write_text('issuer: "UBND tỉnh Thái Nguyên"\nofice: "Sở Nội vụ"\nsigner: "Giám đốc"\nplace: [1, 2]\n',
                    encoding="utf-8")
    with pytest.raises(CchcError) as raised:
        load_profile(path)
    findings = raised.value.findings
    assert [f.code for f in findings] == ["profile.unknown_key", "profile.unknown_key", "profile.bad_value"]
    assert all(f.file == "ho-so.yaml" and f.is_error for f in findings)
    message = str(raised.value)
    for key in ("ofice", "signer", "place"):
        assert f"“{key}”" in message
    assert "issuer, office, signer_title, signer_name, place" in message  # what is allowed
    result = cli("rank", tmp_path, "--profile", path)
    assert result.exit_code == 1
    assert "“ofice”" in result.output and "“signer”" in result.output and "Traceback" not in result.output
    path.write_text("issuer: [unclosed\n", encoding="utf-8")
    with pytest.raises(CchcError, match="Không đọc được tệp hồ sơ cơ quan"):
        load_profile(path)


def test_options_override_the_file(tmp_path):
    path = tmp_path / "ho-so.yaml"
    path.write_text(PROVINCE_YAML, encoding="utf-8")
    profile = load_profile(path, signer_name="Trần Thị Lan", signer_title="Phó Giám đốc")
    assert profile.signer_name == "Trần Thị Lan" and profile.title == "Phó Giám đốc"
    assert profile.issuer == "UBND tỉnh Thái Nguyên" and profile.place == "Thái Nguyên"  # kept from the file


# ---------------------------------------------------------------------------------------------
# A province's year, from the profile to the signed ranking


@pytest.fixture(scope="module")
def province_year(tmp_path_factory):
    root = tmp_path_factory.mktemp("tinh")
    profile = root / "ho-so.yaml"
    profile.write_text(PROVINCE_YAML, encoding="utf-8")
    units = root / "don-vi.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    result = cli("generate", "hai-duong-2022", "--units", units, "--period", "2025", "--out", root / "mau",
                 "--profile", profile, "--deadline", "15/12/2025")
    assert result.exit_code == 0, result.output
    inbox = root / "hop-thu"
    inbox.mkdir()
    for index, template in enumerate(sorted((root / "mau").glob("*.xlsx"))[:2]):
        # area 5 scores nothing: the one area below the summary's 80% threshold
        scores = {leaf.code: D(0) if leaf.code.startswith("5.") else leaf.max for leaf in RUBRIC.scorable()}
        weak = next(leaf for leaf in RUBRIC.scorable() if leaf.code.startswith("5."))
        fill_workbook(template, scores, evidence={c: "Kế hoạch số 1/KH-UBND" for c in scores},
                      explanations={weak.code: HOSTILE}, out=inbox / template.name)
    result = cli("harvest", "hai-duong-2022", inbox, "--units", units, "--out", root / "thu", "--profile", profile)
    assert result.exit_code == 0, result.output
    result = cli("appraise", root / "thu", "--out", root / "tham-dinh")  # the profile comes from harvest.json
    assert result.exit_code == 0, result.output
    result = cli("rank", root / "thu", "--date", "20/01/2026")
    assert result.exit_code == 0, result.output
    result = cli("report", root / "thu", "--out", root / "bao-cao")
    assert result.exit_code == 0, result.output
    return root


def test_the_templates_name_the_province_office(province_year):
    messages = (province_year / "mau" / "messages.txt").read_text(encoding="utf-8")
    assert "Sở Nội vụ tỉnh Thái Nguyên gửi kèm tệp" in messages
    assert "Phòng Nội vụ" not in messages and "huyện" not in messages
    template = next((province_year / "mau").glob("*.xlsx"))
    guide = sheet_texts(load_workbook(template)[GUIDE_SHEET])
    assert any(t.startswith("- Gửi cho: Sở Nội vụ tỉnh Thái Nguyên") for t in guide), guide


def test_the_harvest_keeps_the_profile(province_year):
    data = json.loads((province_year / "thu" / "harvest.json").read_text(encoding="utf-8"))
    assert data["profile"] == {"issuer": "UBND tỉnh Thái Nguyên", "office": "Sở Nội vụ tỉnh Thái Nguyên",
                               "signer_title": "", "signer_name": "Nguyễn Văn Bình", "place": "Thái Nguyên"}


def test_phu_luc_ii_workbook_is_issued_and_signed_for_the_province(province_year):
    texts = sheet_texts(load_workbook(province_year / "thu" / "phu-luc-ii.xlsx")[RANKING_SHEET])
    assert ("(Ban hành kèm theo Quyết định số ……/QĐ-UBND ngày 20/01/2026 của Chủ tịch UBND tỉnh Thái Nguyên)"
            in texts)
    assert "Thái Nguyên, ngày 20 tháng 01 năm 2026" in texts
    assert "GIÁM ĐỐC" in texts and "Nguyễn Văn Bình" in texts
    assert texts.index("Nguyễn Văn Bình") > texts.index("GIÁM ĐỐC")
    assert not [t for t in texts if "huyện" in t.lower() or "TRƯỞNG PHÒNG" in t]


def test_phu_luc_ii_word_document_has_the_same_figures_and_signature(province_year):
    folder = province_year / "thu"
    document = Document(str(folder / "phu-luc-ii.docx"))
    lines = docx_texts(folder / "phu-luc-ii.docx")
    assert "PHỤ LỤC II" in lines
    assert "(Ban hành kèm theo Quyết định số ……/QĐ-UBND ngày 20/01/2026 của Chủ tịch UBND tỉnh Thái Nguyên)" in lines
    assert "GIÁM ĐỐC" in lines and "Nguyễn Văn Bình" in lines
    data = json.loads((folder / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    table = document.tables[0]
    rows = {row.cells[1].text: row.cells for row in table.rows[1:]}
    for unit in data["units"]:
        name = f"UBND {unit['name'][0].lower()}{unit['name'][1:]}"
        cells = rows[name]
        if unit["self_total"] is None:
            assert cells[2].text == "" and "Chưa nộp" in cells[6].text
        else:
            assert cells[2].text == format(D(str(unit["self_total"])).normalize(), "f").replace(".", ",")
            assert cells[4].text == str(unit["rank"]) and cells[5].text == unit["group"]
    workbook = load_workbook(folder / "phu-luc-ii.xlsx")[RANKING_SHEET]
    ranked = {r[1].value: r[2].value for r in workbook.iter_rows() if isinstance(r[0].value, int)}
    assert {k: D(str(v)).normalize() for k, v in ranked.items() if v is not None} == \
        {k: D(c[2].text.replace(",", ".")).normalize() for k, c in rows.items() if c[2].text}


def test_appraisal_and_survey_workbooks_carry_the_office_header_and_the_council_signature(province_year):
    books = sorted((province_year / "tham-dinh").glob("*.xlsx"))
    assert any(p.name.startswith("dieu-tra") for p in books) and len(books) >= 3
    for path in books:
        workbook = load_workbook(path)
        sheet = workbook[SURVEY_SHEET if path.name.startswith("dieu-tra") else APPRAISAL_SHEET]
        assert sheet["A1"].value == "UBND TỈNH THÁI NGUYÊN", path.name
        assert sheet["A2"].value == "SỞ NỘI VỤ" and sheet["A2"].font.b, path.name
        texts = sheet_texts(sheet)
        if not path.name.startswith("dieu-tra"):
            assert "TM. HỘI ĐỒNG THẨM ĐỊNH" in texts
            assert "Thái Nguyên, ngày …… tháng …… năm 2026" in texts


def test_appraisal_workbooks_with_the_office_header_are_still_harvested(province_year, tmp_path):
    book = next((province_year / "tham-dinh").glob("tham-dinh_T01_*.xlsx"))
    workbook = load_workbook(book)
    sheet = workbook[APPRAISAL_SHEET]
    header = next(r for r in sheet.iter_rows() if r[0].value == "STT")
    col = next(c.column for c in header if c.value == "Điểm thẩm định")
    leaves = {leaf.code: leaf for leaf in RUBRIC.scorable() if leaf.self_scored}
    for row in sheet.iter_rows(min_row=header[0].row + 1):
        if row[0].value in leaves:
            sheet.cell(row[0].row, col).value = float(leaves[row[0].value].max)
    filled = tmp_path / book.name
    workbook.save(filled)
    result = cli("harvest", "hai-duong-2022", province_year / "hop-thu", filled, "--units",
                 province_year / "don-vi.csv", "--out", tmp_path / "ket-qua")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "ket-qua" / "harvest.json").read_text(encoding="utf-8"))
    unit = next(u for u in data["units"] if u["code"] == "T01")
    assert unit["appraisal"], "the appraisal workbook was not merged"


def test_both_reports_are_headed_and_signed_for_the_province(province_year):
    folder = province_year / "bao-cao"
    summary = next(folder.glob("bao-cao-tong-hop_*.docx"))
    lines = docx_texts(summary)
    assert lines[:3] == ["UBND TỈNH THÁI NGUYÊN", "SỞ NỘI VỤ", "Số: ……/BC-SNV"]
    assert "Thái Nguyên, ngày …… tháng …… năm 2026" in lines  # the 2025 summary is issued in 2026
    assert lines[-2:] == ["GIÁM ĐỐC", "Nguyễn Văn Bình"]
    assert not [line for line in lines if "huyện" in line.lower() or "PHÒNG" in line]
    commune = next(folder.glob("bao-cao_T01_*.docx"))
    lines = docx_texts(commune)
    assert lines[:3] == ["ỦY BAN NHÂN DÂN", "XÃ ĐẠI TỪ", "Số: ……/BC-UBND"]  # the commune's own report
    assert any("hướng dẫn của Sở Nội vụ tỉnh Thái Nguyên" in line for line in lines)
    assert "- Sở Nội vụ tỉnh Thái Nguyên;" in lines


def test_summary_report_carries_the_ranking_table_and_the_band_chart(province_year):
    folder = province_year / "bao-cao"
    summary = next(folder.glob("bao-cao-tong-hop_*.docx"))
    document = Document(str(summary))
    ranking = next(t for t in document.tables if t.rows[0].cells[0].text == "Số TT")
    names = [row.cells[1].text for row in ranking.rows[1:]]
    assert len(names) == 3 and "UBND xã Yên Trạch" == names[-1]  # sent nothing: last
    assert document.inline_shapes and len(document.inline_shapes) == 1
    with zipfile.ZipFile(summary) as zf:
        media = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert media and zf.read(media[0])[:8] == b"\x89PNG\r\n\x1a\n"
        footer = "".join(zf.read(n).decode() for n in zf.namelist() if n.startswith("word/footer"))
    assert "PAGE" in footer  # pages numbered
    weak = [line for line in docx_texts(summary) if line.startswith("- 5. ")]
    assert len(weak) == 1 and "bình quân đạt 0% điểm tối đa" in weak[0]  # the only area below 80%
    assert "Các lĩnh vực còn yếu (bình quân đạt dưới 80% điểm tối đa):" in docx_texts(summary)


def test_a_communes_hostile_explanation_is_one_plain_run(province_year):
    commune = next((province_year / "bao-cao").glob("bao-cao_T01_*.docx"))
    document = Document(str(commune))
    carrying = [p for p in document.paragraphs if "ĐOẠN GIẢ" in p.text]
    assert len(carrying) == 1
    runs = [r for r in carrying[0].runs if "ĐOẠN GIẢ" in r.text]
    assert len(runs) == 1
    run = runs[0].text
    assert "</w:t></w:r></w:p><w:p><w:r><w:t>ĐOẠN GIẢ" in run  # the markup as characters
    assert "{{ unit_upper }} {% if true %}THẺ GIẢ{% endif %}" in run  # tags never rendered
    assert "\n" not in run and "\r" not in run and "\t" not in run and "cuối dòng sau" in run
    assert not [p for p in document.paragraphs if p.text.strip() == "ĐOẠN GIẢ"]
    assert len(document.tables) == 2  # the header and the signature, nothing added
    with zipfile.ZipFile(commune) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    assert '<w:br w:type="page"/>' not in xml and "<w:tab/>" not in xml


def test_controls_docxtpl_would_turn_into_structure_never_reach_the_template():
    from cchc_xls.report import plain_text

    assert plain_text("a\ab\fc\td\ne\x00f\x1bg") == "a\ufffdb c d e\ufffdf\ufffdg"
    assert plain_text(None) == ""


# ---------------------------------------------------------------------------------------------
# A district office of an earlier year, and the old meaning of --office


def test_a_district_year_still_comes_out_right(province_year, tmp_path):
    out = tmp_path / "huyen"
    result = cli("rank", province_year / "thu", "--out", out, "--issuer", "UBND huyện Tứ Kỳ", "--office",
                 "Phòng Nội vụ huyện Tứ Kỳ", "--signer-name", "Lê Văn Nam", "--place", "Tứ Kỳ")
    assert result.exit_code == 0, result.output
    texts = sheet_texts(load_workbook(out / "phu-luc-ii.xlsx")[RANKING_SHEET])
    assert any("của Chủ tịch UBND huyện Tứ Kỳ)" in t for t in texts)
    assert "TRƯỞNG PHÒNG" in texts and "Lê Văn Nam" in texts
    assert "GIÁM ĐỐC" not in texts
    lines = docx_texts(out / "phu-luc-ii.docx")
    assert "TRƯỞNG PHÒNG" in lines and "Lê Văn Nam" in lines
    reports = tmp_path / "bao-cao"
    result = cli("report", province_year / "thu", "--out", reports, "--issuer", "UBND huyện Tứ Kỳ", "--office",
                 "Phòng Nội vụ huyện Tứ Kỳ", "--signer-name", "Lê Văn Nam")
    assert result.exit_code == 0, result.output
    lines = docx_texts(next(reports.glob("bao-cao-tong-hop_*.docx")))
    assert lines[:3] == ["UBND HUYỆN TỨ KỲ", "PHÒNG NỘI VỤ", "Số: ……/BC-PNV"]
    assert lines[-2:] == ["TRƯỞNG PHÒNG", "Lê Văn Nam"]


def test_the_old_rank_office_option_still_names_the_issuer(province_year, tmp_path):
    out = tmp_path / "cu"
    result = cli("rank", province_year / "thu", "--out", out, "--office", "UBND huyện Tứ Kỳ")
    assert result.exit_code == 0, result.output
    texts = sheet_texts(load_workbook(out / "phu-luc-ii.xlsx")[RANKING_SHEET])
    line = next(t for t in texts if t.startswith("(Ban hành kèm theo"))
    assert line.endswith("của Chủ tịch UBND huyện Tứ Kỳ)"), line


def test_rank_reuses_the_kept_profile_and_options_override_it(province_year, tmp_path):
    out = tmp_path / "xep-hang"
    result = cli("rank", province_year / "thu", "--out", out, "--signer-name", "Trần Thị Lan", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["docx"].endswith("phu-luc-ii.docx")
    texts = sheet_texts(load_workbook(out / "phu-luc-ii.xlsx")[RANKING_SHEET])
    assert "Trần Thị Lan" in texts and "Nguyễn Văn Bình" not in texts
    assert any(t.endswith("của Chủ tịch UBND tỉnh Thái Nguyên)") for t in texts)  # kept in harvest.json
    assert re.search(r"Thái Nguyên, ngày …… tháng …… năm 2026", " ".join(texts))


# ---------------------------------------------------------------------------------------------
# The commune report as the rubric names things: Thái Nguyên's areas I-VIII and sub-areas


def _node_sum(node, scores):
    if node.is_leaf:
        return scores.get(node.code, D(0))
    return sum((_node_sum(child, scores) for child in node.children), D(0))


def test_commune_report_names_sub_areas_says_not_applicable_labels_rescaling_and_carries_appraisal(tmp_path):
    rubric = load_rubric("thai-nguyen-2021")
    na = "8.5.2"
    scores = {leaf.code: leaf.max for leaf in rubric.scorable() if leaf.code != na}
    lowered = next(leaf for leaf in rubric.node("III").leaves())
    appraisal = dict(scores, **{lowered.code: D(0)})
    subtotals = {n.code: float(_node_sum(n, appraisal)) for n in rubric.nodes() if not n.is_leaf}
    unit = {"code": "T01", "name": "Xã Đại Từ", "kind": "xã", "status": "submitted", "file": "a.xlsx",
            "self_total": 100, "appraisal_total": float(100 - lowered.max), "appraisal_complete": True,
            "scores": {k: float(v) for k, v in scores.items()}, "not_applicable": [na],
            "appraisal": {k: float(v) for k, v in appraisal.items()}, "appraisal_subtotals": subtotals}
    folder = tmp_path / "ket-qua"
    folder.mkdir()
    (folder / "harvest.json").write_text(json.dumps({
        "rubric": "thai-nguyen-2021", "period": "2025", "units": [unit],
        "profile": {"issuer": "UBND tỉnh Thái Nguyên", "office": "Sở Nội vụ tỉnh Thái Nguyên"}},
        ensure_ascii=False), encoding="utf-8")
    result = cli("report", folder, "--unit", "T01", "--out", tmp_path / "out", "--date", "10/01/2026")
    assert result.exit_code == 0, result.output
    lines = docx_texts(next((tmp_path / "out").glob("*.docx")))
    assert "Đại Từ, ngày 10 tháng 01 năm 2026" in lines
    assert not [line for line in lines if line.startswith("Phần")]  # no "Phần 3.1."
    area = next(line for line in lines if line.startswith("III. CẢI CÁCH THỦ TỤC HÀNH CHÍNH:"))
    appraised = format(_node_sum(rubric.node("III"), appraisal).normalize(), "f").replace(".", ",")
    assert f"(điểm thẩm định: {appraised}, giảm" in area, area
    for code in ("I", "II", "IV", "V", "VI", "VII", "VIII"):  # every area line carries its appraised figure
        line = next(line for line in lines if line.startswith(f"{code}. "))
        assert "(điểm thẩm định: " in line, line
    assert any(line.startswith("- 3.1. Công tác kiểm soát thủ tục hành chính (TTHC): ") for line in lines)
    parent = rubric.node(na).parent
    line = next(line for line in lines if line.startswith(f"- {parent}. "))
    assert line.endswith(f"(không áp dụng đối với đơn vị: {na}, tổng điểm được quy đổi)"), line
    total = next(line for line in lines if line.startswith("Tổng điểm tự chấm"))
    assert total.startswith("Tổng điểm tự chấm (đã quy đổi về thang 100 điểm do có tiêu chí không áp dụng): 100 điểm")
