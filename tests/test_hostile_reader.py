"""The reader against hostile and broken files (issue 12, the reader's half).

Each test builds one class of input from a real generated template (or its LibreOffice .xls /
.ods re-save in tests/fixtures/), changed the way a crafted file or another program does, and
asserts the precise finding the reader gives: a number that is no score at its cell, an XML
attribute that is not what the format says, a zip member that cannot be inflated, a small file
that would cost too much, a DTD in any encoding. `open_book` and `read_return` never raise
anything but WorkbookError / return a Finding. The batch test at the end harvests the hostile
files together with a clean control return, whose total must be exact.
"""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from cchc_xls.appraise import read_appraisal, write_appraisal_workbooks
from cchc_xls.check import check_return
from cchc_xls.findings import CATALOGUE, Finding
from cchc_xls.layout import MAIN_SHEET, cell_ref
from cchc_xls.numbers import parse_text_number, read_decimal, sane_decimal, to_decimal
from cchc_xls.pipeline import run_harvest
from cchc_xls.read import SPREADSHEET_SUFFIXES, Return, find_header, read_return
from cchc_xls.units import Unit
from cchc_xls.workbook import (
    MAX_BINARY_RECORDS, MAX_BOOK_CELLS, MAX_COL, MAX_ROW, MAX_TEXT_CHARS, MAX_XML_TAGS, WorkbookError, _native_error, open_book,
)

from cchc_xls.generate import Entries
from hostile import (
    CHI_MINH_ODS, CHI_MINH_TOTAL, CHI_MINH_XLS, MAIN_PART, ROW, RUBRIC, as_strict, break_central_directory,
    edit_xml, filled_xlsx, minimal_ods, minimal_xlsb, part, patch_member, score_ref, set_cached, with_part,
    xls_far_cell, xlsb_of_return,
)
from support import CHI_MINH_EVIDENCE, CHI_MINH_SCORES, make_template

D = Decimal
ALL = lambda name, state: True  # noqa: E731 - parse every sheet
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
TOTAL_REF = f"D{ROW['II.3'] + 1}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> bytes:
    """Chí Minh's filled return as Excel saves it (75 points)."""
    return filled_xlsx(tmp_path_factory.mktemp("clean")).read_bytes()


def read(data: bytes, name: str = "30512.xlsx") -> Return | Finding:
    return read_return(Path(name), data, name)


def refused(data: bytes, name: str = "30512.xlsx") -> Finding:
    """The one finding a file is refused with (fails the test if the file is read)."""
    result = read(data, name)
    assert isinstance(result, Finding), [f.code for f in result.findings]
    assert result.code in CATALOGUE and result.is_error
    with pytest.raises(WorkbookError):  # and open_book raises nothing else
        open_book(Path(name), data, ALL)
    return result


def checked(data: bytes, name: str = "30512.xlsx"):
    result = read(data, name)
    assert isinstance(result, Return), result
    out = check_return(result, RUBRIC, "xã")
    return result, out, result.findings + out.findings


def at(findings, code: str, cell: str | None = None):
    found = [f for f in findings if f.code == code and (cell is None or f.cell == cell)]
    assert found, (code, cell, [(f.code, f.cell) for f in findings])
    return found[0]


# ---------------------------------------------------------------------------------------------
# 1. Cells: numbers that are no score, stored or typed


@pytest.mark.parametrize("stored, code", [
    ("NaN", "score.not_number"), ("INF", "score.not_number"), ("-INF", "score.not_number"),
    ("1E308", "score.out_of_range"), ("1E29", "score.out_of_range"), ("-1E29", "score.out_of_range"),
])
def test_a_score_stored_as_nan_infinity_or_a_huge_number_is_a_finding_at_its_cell(clean, stored, code):
    _, out, findings = checked(set_cached(clean, score_ref("1.1.1"), stored))
    finding = at(findings, code, score_ref("1.1.1"))
    assert finding.sheet == MAIN_SHEET and finding.node == "1.1.1"
    assert "1.1.1" not in out.scores
    assert out.totals.raw_total == CHI_MINH_TOTAL - D("0.5")  # every other score still counts, exactly


def test_a_thirty_digit_score_typed_as_text_is_out_of_range(tmp_path):
    data = filled_xlsx(tmp_path, scores={"1.1.1": "1" * 30}).read_bytes()
    _, out, findings = checked(data)
    assert at(findings, "score.out_of_range", score_ref("1.1.1")).node == "1.1.1"
    assert out.totals.raw_total == CHI_MINH_TOTAL - D("0.5")


@pytest.mark.parametrize("stored", ["NaN", "INF", "1E308", "1E29"])
def test_a_cached_subtotal_or_total_that_is_no_number_is_reported_and_recomputed(clean, stored):
    data = set_cached(set_cached(clean, score_ref("1.1"), stored), TOTAL_REF, stored)
    _, out, findings = checked(data)
    assert at(findings, "total.not_number", score_ref("1.1")).severity == "warning"
    assert at(findings, "total.not_number", TOTAL_REF)
    assert not [f for f in findings if f.code == "total.mismatch"]
    assert out.totals.raw_total == CHI_MINH_TOTAL


def test_numbers_become_decimals_only_when_finite_and_in_range():
    for value in (float("nan"), float("inf"), -float("inf"), 1e308, 1e29, D("NaN"), D("1E29"), True, None, "x"):
        assert read_decimal(value) is None and sane_decimal(value) is None
    assert read_decimal("1" * 30) is None  # a typed 30-digit text
    assert parse_text_number("1" * 41) is None  # longer than any typed number
    assert parse_text_number("١٣") is None  # digits of another script are not a typed score
    assert read_decimal(2.5) == D("2.5") and read_decimal("2,5") == D("2.5") and read_decimal(1_000_000) == D(10**6)
    for value in (float("nan"), float("inf"), D("NaN"), "Infinity"):
        with pytest.raises(ValueError):
            to_decimal(value)


# ---------------------------------------------------------------------------------------------
# 1. XML attributes that are not what the format says


def test_a_shared_string_index_that_is_not_an_integer_is_refused(clean):
    xml = part(clean, MAIN_PART).decode()
    start = xml.index('<c r="A13"')
    cell = xml[start:xml.index("</c>", start)]
    data = edit_xml(clean, MAIN_PART, cell, cell.split("<v>")[0] + "<v>1.5</v>")
    finding = refused(data)
    assert finding.code == "file.bad_value" and "1.5" in finding.message and MAIN_PART in finding.message


@pytest.mark.parametrize("row", ["¹³", "13.0", "-13", "1e3"])
def test_a_row_number_that_is_not_ascii_digits_is_refused(clean, row):
    finding = refused(edit_xml(clean, MAIN_PART, '<row r="13"', f'<row r="{row}"'))
    assert finding.code == "file.bad_value" and row in finding.message


def test_a_number_format_id_that_is_not_an_integer_is_refused(clean):
    styles = part(clean, "xl/styles.xml").decode()
    head, xfs = styles.split("<cellXfs", 1)  # the cell formats the reader looks dates up in
    broken = head + "<cellXfs" + xfs.replace('numFmtId="0"', 'numFmtId="0x1"', 1)
    finding = refused(with_part(clean, "xl/styles.xml", broken.encode()))
    assert finding.code == "file.bad_value" and "numFmtId" in finding.message


def test_a_style_id_that_is_not_an_integer_is_refused_where_dates_are_looked_up(clean):
    styles = part(clean, "xl/styles.xml").decode()
    # a date format on the first cell style, so that the reader looks each number's style up
    head, xfs = styles.split("<cellXfs", 1)
    dated = head + "<cellXfs" + xfs.replace('<xf numFmtId="0"', '<xf numFmtId="14"', 1)
    data = with_part(clean, "xl/styles.xml", dated.encode())
    finding = refused(edit_xml(data, MAIN_PART, '<c r="D13" s="14">', '<c r="D13" s="14.5">'))
    assert finding.code == "file.bad_value" and "14.5" in finding.message


def test_an_unknown_xml_encoding_is_refused(clean):
    finding = refused(edit_xml(clean, MAIN_PART, 'encoding="UTF-8"', 'encoding="x-nobody-knows"'))
    assert finding.code == "file.xml_encoding" and "x-nobody-knows" in finding.message


def _ods_table(name: str, rows: str) -> str:
    return f'<table:table table:name="{name}">{rows}</table:table>'


@pytest.mark.parametrize("attribute", ["table:number-columns-repeated", "table:number-rows-repeated"])
def test_an_ods_repeat_count_that_is_not_an_integer_is_refused(attribute):
    cell = '<table:table-cell office:value-type="float" office:value="1"{a}/>'
    if attribute == "table:number-columns-repeated":
        rows = "<table:table-row>" + cell.format(a=f' {attribute}="1.5"') + "</table:table-row>"
    else:
        rows = f'<table:table-row {attribute}="2e3">' + cell.format(a="") + "</table:table-row>"
    finding = refused(minimal_ods(_ods_table("S", rows)), "x.ods")
    assert finding.code == "file.bad_value" and attribute.split(":")[1] in finding.message


def test_an_ods_space_count_that_is_not_an_integer_is_refused():
    rows = '<table:table-row><table:table-cell><text:p>a<text:s text:c="2.5"/>b</text:p></table:table-cell></table:table-row>'
    assert refused(minimal_ods(_ods_table("S", rows)), "x.ods").code == "file.bad_value"


def test_ods_spans_nested_thousands_deep_are_read_without_recursion():
    depth = 20_000
    text = "<text:span>" * depth + "2,5" + "</text:span>" * depth
    rows = f"<table:table-row><table:table-cell><text:p>{text}</text:p></table:table-cell></table:table-row>"
    book = open_book(Path("x.ods"), minimal_ods(_ods_table("S", rows)), ALL)
    assert book.sheet("S").value(1, 1) == "2,5"


def test_an_ods_space_count_of_a_hundred_million_is_cut_at_the_cell_text_limit():
    rows = ('<table:table-row><table:table-cell><text:p>a<text:s text:c="100000000"/>b</text:p>'
            "</table:table-cell></table:table-row>")
    data = minimal_ods(_ods_table("S", rows))
    assert len(data) < 1000
    value = open_book(Path("x.ods"), data, ALL).sheet("S").value(1, 1)
    assert len(value) == MAX_TEXT_CHARS and value.startswith("a   ")


# ---------------------------------------------------------------------------------------------
# 1. Zip members and the saved time


@pytest.mark.parametrize("change, words", [
    ({"flag_or": 0x1}, "mã hóa"),
    ({"method": 9}, "Deflate64"),
    ({"method": 99}, "AES"),
])
def test_a_member_encrypted_or_compressed_with_an_unsupported_method_is_refused(clean, change, words):
    finding = refused(patch_member(clean, MAIN_PART, **change))
    assert finding.code == "file.zip_member" and words in finding.message and MAIN_PART in finding.message


def test_a_member_needing_zip_version_16_1_is_refused(clean):
    finding = refused(patch_member(clean, MAIN_PART, version=161))
    assert finding.code == "file.zip_member" and "16.1" in finding.message


def test_a_broken_central_directory_is_a_damaged_file(clean):
    assert refused(break_central_directory(clean)).code == "file.damaged"


def test_a_member_name_that_is_not_utf8_is_a_damaged_file(clean):
    name = "docProps/app.xml"
    finding = refused(patch_member(clean, name, flag_or=0x800, name=b"\xff\xfe" + name.encode()[2:]))
    assert finding.code == "file.damaged" and "UTF-8" in finding.message


@pytest.mark.parametrize("saved", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-13-45T00:00:00Z"])
def test_a_saved_time_no_workbook_was_saved_at_is_ignored(clean, saved):
    core = part(clean, "docProps/core.xml").decode()
    start = core.index("<dcterms:modified")
    end = core.index("</dcterms:modified>")
    core = core[:start] + f'<dcterms:modified xsi:type="dcterms:W3CDTF">{saved}' + core[end:]
    result, out, _ = checked(with_part(clean, "docProps/core.xml", core.encode()))
    assert result.modified is None and out.totals.raw_total == CHI_MINH_TOTAL


# ---------------------------------------------------------------------------------------------
# 2. The native reader (.xls, .xlsb through calamine)


def test_a_calamine_panic_is_a_damaged_file_but_ctrl_c_still_stops():
    class PanicException(BaseException):  # what pyo3 raises for a Rust panic: not an Exception
        pass

    error = _native_error(PanicException("index out of bounds: the len is 3 but the index is 7"))
    assert error.code == "file.damaged" and "index out of bounds" in error.params["reason"]
    with pytest.raises(KeyboardInterrupt):
        _native_error(KeyboardInterrupt())
    with pytest.raises(SystemExit):
        _native_error(SystemExit(1))


def test_an_xls_with_one_far_cell_is_refused_before_calamine_builds_the_sheet():
    data = xls_far_cell(CHI_MINH_XLS.read_bytes())
    assert len(data) < 100_000
    finding = refused(data, "30512.xls")
    assert finding.code == "file.sheet_too_large" and "IV65536" in finding.message


def test_the_xls_fixture_is_read_whole():
    _, out, findings = checked(CHI_MINH_XLS.read_bytes(), "30512.xls")
    assert out.totals.raw_total == CHI_MINH_TOTAL
    assert {f.code for f in findings if f.is_error} == set()


def test_an_xlsb_return_is_read_values_only(clean):
    book = open_book(Path("30512.xlsx"), clean, ALL)
    data = xlsb_of_return(book)
    result, out, findings = checked(data, "30512.xlsb")
    assert result.format == "xlsb" and result.identity["unit_code"] == CHI_MINH.code
    assert out.totals.raw_total == CHI_MINH_TOTAL and out.scores["1.7"] == D("2.9")
    assert "formula.unknown" in {f.code for f in findings}
    assert ".xlsb" in SPREADSHEET_SUFFIXES


def test_xlsb_cells_are_placed_where_they_are_when_the_sheet_does_not_start_at_a1():
    book = open_book(Path("x.xlsb"), minimal_xlsb([("S", {(5, 3): "a", (7, 4): 2.0})]), ALL)
    assert book.sheet("S").cells.keys() == {(5, 3), (7, 4)} and book.sheet("S").value(7, 4) == 2.0


def test_an_xlsb_with_one_far_cell_is_refused_before_calamine_allocates_it():
    data = minimal_xlsb([("S", {(1, 1): "STT", (1_000_000, 16_000): 1.0})])
    finding = refused(data, "x.xlsb")
    assert finding.code == "file.sheet_too_large"


# ---------------------------------------------------------------------------------------------
# 3. Small files that would cost too much


def test_ods_repeated_cells_across_hundreds_of_tables_are_refused_within_the_book_budget():
    row = ('<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
           'table:number-columns-repeated="16384" office:value-type="float" office:value="1"/></table:table-row>')
    data = minimal_ods("".join(_ods_table(f"T{i}", row) for i in range(300)))
    assert len(data) < 20_000
    finding = refused(data, "x.ods")
    assert finding.code == "file.too_many_cells" and f"{MAX_BOOK_CELLS:,}" in finding.message


def _extra_sheet(data: bytes, name: str, sheet_xml: str) -> bytes:
    """The workbook with one more visible sheet."""
    workbook = part(data, "xl/workbook.xml").decode()
    rels = part(data, "xl/_rels/workbook.xml.rels").decode()
    workbook = workbook.replace("</sheets>", f'<sheet name="{name}" sheetId="99" r:id="rIdX"/></sheets>')
    rels = rels.replace("</Relationships>", '<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/'
                        'officeDocument/2006/relationships/worksheet" Target="worksheets/extra.xml"/></Relationships>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    data = with_part(data, "xl/workbook.xml", workbook.encode())
    data = with_part(data, "xl/_rels/workbook.xml.rels", rels.encode())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("xl/worksheets/extra.xml", f'<worksheet {ns}><sheetData>{sheet_xml}</sheetData></worksheet>')
    return out.getvalue()


def test_a_dense_extra_sheet_is_not_parsed_when_the_return_does_not_need_it(clean):
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in "ABCDEFGHIJKLMNO") + "</row>"
                   for r in range(1, 20_001))  # 300,000 cells: beyond MAX_SHEET_CELLS if it were parsed
    data = _extra_sheet(clean, "Dữ liệu", rows)
    _, out, findings = checked(data)
    assert out.totals.raw_total == CHI_MINH_TOTAL
    assert {f.code for f in findings if f.is_error} == set()
    # when it must be read (an open_book of every sheet), the budget of XML tags refuses it
    with pytest.raises(WorkbookError) as caught:
        open_book(Path("x.xlsx"), data, ALL)
    assert caught.value.code == "file.zip_bomb" and f"{MAX_XML_TAGS:,}" in caught.value.params["reason"]


@pytest.mark.parametrize("row", [str(10**8), str(10**40)])
def test_a_row_numbered_far_beyond_the_table_is_not_read_and_is_reported(clean, row):
    far = f'<row r="{row}"><c r="D{row}"><v>5</v></c></row></sheetData>'
    _, out, findings = checked(edit_xml(clean, MAIN_PART, "</sheetData>", far))
    finding = at(findings, "sheet.cells_ignored")
    assert finding.severity == "warning" and finding.sheet == MAIN_SHEET and f"{MAX_ROW:,}" in finding.message
    assert out.totals.raw_total == CHI_MINH_TOTAL


def test_a_column_far_beyond_the_table_is_not_read_and_is_reported(clean):
    data = edit_xml(clean, MAIN_PART, '<c r="D13" s="14">', '<c r="XFD13"><v>9</v></c><c r="D13" s="14">')
    _, out, findings = checked(data)
    assert "XFD13" in at(findings, "sheet.cells_ignored").message and f"{MAX_COL:,}" in at(findings, "sheet.cells_ignored").message
    assert out.totals.raw_total == CHI_MINH_TOTAL


def test_styled_empty_rows_at_the_end_of_a_sheet_are_no_finding(clean):
    far = '<row r="1048576" s="3" customFormat="1"><c r="A1048576" s="3"/></row></sheetData>'
    _, _, findings = checked(edit_xml(clean, MAIN_PART, "</sheetData>", far))
    assert "sheet.cells_ignored" not in {f.code for f in findings}


# ---------------------------------------------------------------------------------------------
# 4. A DTD in any encoding


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-8"])
def test_a_dtd_is_refused_in_any_encoding_even_utf16_without_bom(clean, encoding):
    xml = part(clean, MAIN_PART).decode()
    body = xml.split("?>", 1)[1]
    evil = ('<?xml version="1.0" encoding="%s"?><!DOCTYPE worksheet [<!ENTITY e "ĐÃ BUNG THỰC THỂ">]>'
            % ("UTF-16" if encoding != "utf-8" else "UTF-8")) + body.replace("<v>0.5</v>", "<v>&e;</v>", 1)
    finding = refused(with_part(clean, MAIN_PART, evil.encode(encoding)))
    assert finding.code == "file.xml_entities" and "ĐÃ BUNG" not in finding.message


# ---------------------------------------------------------------------------------------------
# 5. Inputs that were lost: Strict Open XML, .xlsb (above), the ODS re-save


def test_a_strict_open_xml_workbook_is_read_like_a_transitional_one(clean):
    strict = as_strict(clean)
    assert b"purl.oclc.org/ooxml/spreadsheetml/main" in part(strict, "xl/workbook.xml")
    result, out, findings = checked(strict)
    _, out_plain, findings_plain = checked(clean)
    assert result.identity["unit_code"] == CHI_MINH.code
    assert out.scores == out_plain.scores and out.totals.raw_total == CHI_MINH_TOTAL
    assert sorted((f.code, f.cell) for f in findings) == sorted((f.code, f.cell) for f in findings_plain)


def test_the_ods_fixture_is_read_whole():
    _, out, findings = checked(CHI_MINH_ODS.read_bytes(), "30512.ods")
    assert out.totals.raw_total == CHI_MINH_TOTAL
    assert {f.code for f in findings if f.is_error} == set()


# ---------------------------------------------------------------------------------------------
# One batch: every hostile file listed with its finding, the control counted exactly


def test_a_batch_of_hostile_files_and_a_clean_control_return(tmp_path, clean):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # the control is Xã Thanh Xá's own template with Chí Minh's scores
    control = make_template(inbox, unit=THANH_XA, name="thanh-xa.xlsx",
                            entries=Entries(scores={k: D(v) for k, v in CHI_MINH_SCORES.items()},
                                            evidence=dict(CHI_MINH_EVIDENCE), explanations={}))
    core = part(clean, "docProps/core.xml").decode()
    start, end = core.index("<dcterms:modified"), core.index("</dcterms:modified>")
    year_one = core[:start] + '<dcterms:modified xsi:type="dcterms:W3CDTF">0001-01-01T00:00:00Z' + core[end:]
    hostile = {
        "nan.xlsx": (set_cached(clean, score_ref("1.1.1"), "NaN"), "score.not_number"),
        "huge.xlsx": (set_cached(set_cached(clean, score_ref("1.1.1"), "1E308"), TOTAL_REF, "1E29"), "score.out_of_range"),
        "index.xlsx": (edit_xml(clean, MAIN_PART, '<row r="13"', '<row r="¹³"'), "file.bad_value"),
        "deflate64.xlsx": (patch_member(clean, MAIN_PART, method=9), "file.zip_member"),
        "far.xls": (xls_far_cell(CHI_MINH_XLS.read_bytes()), "file.sheet_too_large"),
        "dtd.xlsx": (with_part(clean, MAIN_PART, ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "x">]>'
                                                   + part(clean, MAIN_PART).decode().split("?>", 1)[1]).encode("utf-16-be")),
                     "file.xml_entities"),
        "year-one.xlsx": (with_part(clean, "docProps/core.xml", year_one.encode()), None),
        "far-row.xlsx": (edit_xml(clean, MAIN_PART, "</sheetData>", f'<row r="{10**40}"><c r="D1"><v>5</v></c></row></sheetData>'),
                         "sheet.cells_ignored"),
    }
    for name, (data, _) in hostile.items():
        (inbox / name).write_bytes(data)
    out = tmp_path / "out"
    run_harvest(RUBRIC, [inbox], [CHI_MINH, THANH_XA], out, workers=1)
    result = json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    files = {Path(f["path"]).name: f for f in result["files"]}
    assert set(files) == set(hostile) | {control.name}
    for name, (_, code) in hostile.items():
        assert files[name]["status"], name
        if code:
            assert code in {f["code"] for f in files[name]["findings"]}, (name, files[name]["findings"])
    thanh_xa = next(u for u in result["units"] if u["code"] == THANH_XA.code)
    assert thanh_xa["status"] == "submitted" and thanh_xa["self_total"] == CHI_MINH_TOTAL
    assert files[control.name]["status"] == "accepted"
    assert not list(out.rglob("*.part"))


@pytest.mark.parametrize("stored", ["NaN", "1E308", "1E29"])
def test_an_appraisal_score_that_is_no_number_is_a_finding_at_its_cell(tmp_path, clean, stored):
    (tmp_path / "30512.xlsx").write_bytes(clean)
    run_harvest(RUBRIC, [tmp_path / "30512.xlsx"], [CHI_MINH], tmp_path / "harvest", workers=1)
    workbook = write_appraisal_workbooks(tmp_path / "harvest", tmp_path / "appraisal").workbooks[0]
    book = open_book(workbook, workbook.read_bytes(), ALL)
    sheet = next(s for s in book.sheets if s.state == "visible" and s.cells)
    header_row, columns = find_header(sheet)
    row = next(r for (r, c), cell in sheet.cells.items() if c == columns["code"] and cell.value == "1.1.1")
    ref = cell_ref(row - 1, columns["appraisal"] - 1)
    data = set_cached(workbook.read_bytes(), ref, stored)
    result = read(data, "tham-dinh.xlsx")
    assert isinstance(result, Return) and result.book is not None
    entries, findings, _ = read_appraisal(result.book, result.identity, RUBRIC, "tham-dinh.xlsx")
    finding = at(findings, "appraisal.not_number", ref)
    assert finding.node == "1.1.1" and not [e for e in entries if e.code == "1.1.1"]


def test_a_part_with_more_xml_tags_than_the_budget_is_refused_before_it_is_parsed(clean):
    flood = "<x/>" * (MAX_XML_TAGS + 1)
    finding = refused(edit_xml(clean, MAIN_PART, "</sheetData>", flood + "</sheetData>"))
    assert finding.code == "file.zip_bomb" and MAIN_PART in finding.message


def test_parts_that_together_have_more_xml_tags_than_the_book_budget_are_refused(clean):
    half = "<x/>" * (MAX_XML_TAGS - 10_000)
    data = edit_xml(clean, MAIN_PART, "</sheetData>", half + "</sheetData>")
    data = edit_xml(data, "xl/styles.xml", "</styleSheet>", half + "</styleSheet>")
    data = edit_xml(data, "xl/sharedStrings.xml", "</sst>", half + "</sst>")
    assert refused(data).code == "file.zip_bomb"


def test_an_xlsb_sheet_of_hundreds_of_thousands_of_empty_records_is_refused_before_calamine():
    data = minimal_xlsb([("S", {(1, 1): "STT"})])
    flood = b"\x01\x00" * (MAX_BINARY_RECORDS + 1)  # BrtCellBlank records without a body
    data = with_part(data, "xl/worksheets/sheet1.bin", flood)
    finding = refused(data, "x.xlsb")
    assert finding.code == "file.too_many_cells" and "sheet1.bin" in finding.message
