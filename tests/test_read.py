"""cchc_xls/read.py: locating identity, header, columns and criterion rows in a returned file (issue 4).

Every test starts from a generated template (Xã Chí Minh on hai-duong-2022, filled with the seed's
scores) and changes it the way communes do with Excel: rows inserted above the header, columns
added, the sheet renamed, the identity stripped by copying or "cleaning" the file. The reader
must still find everything by its text and code, and say where its identity came from.
"""

from __future__ import annotations

import os
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.packaging.custom import CustomPropertyList

from cchc_xls.findings import Finding
from cchc_xls.generate import Entries
from cchc_xls.layout import IDENTITY_LABEL, MAIN_SHEET, META_SHEET, TOTAL_LABEL
from cchc_xls.read import Return, read_return, text_of
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import CHI_MINH_EVIDENCE, CHI_MINH_SCORES, fill_workbook, header_columns, make_template, rows_by_code

D = Decimal
HD = "hai-duong-2022"
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
RUBRIC = load_rubric(HD)
CODES = [n.code for n in RUBRIC.nodes()]
COLUMNS = {"code": 1, "label": 2, "max": 3, "score": 4, "evidence": 5, "explanation": 6}
HEADER_ROW = 9
ROW_OF = {code: HEADER_ROW + 1 + index for index, code in enumerate(CODES)}  # as generated: 1.1.1 on row 13


def locate(path: Path) -> Return:
    result = read_return(path, path.read_bytes(), path.name)
    assert isinstance(result, Return), result
    return result


def codes_of(result: Return) -> set[str]:
    return {f.code for f in result.findings}


def finding(result: Return, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, (code, result.findings)
    return found[0]


def edit(src: Path, dst: Path, change) -> Path:
    """Open with openpyxl, change(workbook, main sheet), save under a new name: as a commune would."""
    workbook = load_workbook(src)
    change(workbook, workbook[MAIN_SHEET])
    workbook.save(dst)
    return dst


SHEET_KEYERROR = ("BUG: findings.make() takes `sheet` as the finding's location, so the catalogue messages of "
                  "sheet.missing and sheet.renamed (which use {sheet}) raise KeyError('sheet'): read.read_return "
                  "crashes on any workbook whose table sheet is renamed or absent")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """Filled and saved with cached formula results (as Excel saves)."""
    folder = tmp_path_factory.mktemp("rendered")
    entries = Entries(scores={c: D(v) for c, v in CHI_MINH_SCORES.items()}, evidence=dict(CHI_MINH_EVIDENCE))
    return make_template(folder, unit=CHI_MINH, entries=entries, name="30512_xa-chi-minh_CCHC_2024.xlsx")


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """Typed into the blank template with openpyxl (no cached formula results)."""
    folder = tmp_path_factory.mktemp("filled")
    blank = make_template(folder, unit=CHI_MINH)
    return fill_workbook(blank, CHI_MINH_SCORES, CHI_MINH_EVIDENCE, out=folder / "Phu luc CCHC (1).xlsx")


# ---------------------------------------------------------------------------------------------
# The generated layout


def test_generated_workbook_is_located_completely(rendered):
    result = locate(rendered)
    assert result.format == "xlsx" and result.file == rendered.name
    assert result.sheet_name == MAIN_SHEET and result.header_row == HEADER_ROW
    assert result.columns == COLUMNS
    assert result.order == CODES and set(result.rows) == set(CODES)
    assert {code: row.row for code, row in result.rows.items()} == ROW_OF
    leaf = result.rows["1.1.1"]
    assert (leaf.row, leaf.label, leaf.max, leaf.score.value) == (
        13, RUBRIC.node("1.1.1").label, 0.5, 0.5)
    assert leaf.evidence == CHI_MINH_EVIDENCE["1.1.1"]
    assert result.rows["1.7"].score.value == 2.9
    assert result.rows["1.1"].score.formula and result.rows["1.1"].score.value == 2.5
    assert result.rows["II.2"].score is None  # survey row: grey, not filled
    assert result.col_letter_ref("score", 13) == "D13"
    assert result.col_letter_ref("na", 13) is None  # this rubric has no “Không áp dụng” column
    assert result.protected is True and result.formulas_known and not result.has_macros
    assert result.modified is not None
    assert result.duplicates == {} and result.unknown_codes == []
    totals = [(row, label) for row, cell, label in result.total_cells if cell.formula]
    assert totals[0][0] == ROW_OF["II.3"] + 1 and totals[0][1].startswith(TOTAL_LABEL)
    assert result.findings == []


def test_identity_comes_from_the_document_properties(rendered):
    result = locate(rendered)
    assert result.identity_source == "thuộc tính tệp"
    assert result.identity["unit_code"] == "30512"
    assert result.identity["unit_name"] == "Xã Chí Minh"
    assert result.identity["rubric_id"] == HD and result.identity["period"] == "2024"
    assert result.identity["kind"] == "self" and result.identity["rubric_hash"] == RUBRIC.content_hash


def test_openpyxl_fill_keeps_the_layout_and_the_identity(filled):
    result = locate(filled)
    assert result.identity["unit_code"] == "30512" and result.identity_source == "thuộc tính tệp"
    assert result.header_row == HEADER_ROW and result.columns == COLUMNS
    assert result.rows["1.7"].score.value == 2.9
    assert result.rows["1.1"].score.formula and result.rows["1.1"].score.value is None  # no cached result
    assert result.protected is True


# ---------------------------------------------------------------------------------------------
# Header and columns found by text


def test_header_and_rows_are_found_when_rows_are_inserted_above_the_header(filled, tmp_path):
    path = edit(filled, tmp_path / "x.xlsx", lambda wb, ws: ws.insert_rows(3, 4))
    result = locate(path)
    sheet = load_workbook(path)[MAIN_SHEET]
    assert (result.header_row, result.columns) == header_columns(sheet) == (HEADER_ROW + 4, COLUMNS)
    assert {code: row.row for code, row in result.rows.items()} == {
        code: row for code, row in rows_by_code(sheet).items() if code in RUBRIC}
    assert {code: row.row for code, row in result.rows.items()} == {c: r + 4 for c, r in ROW_OF.items()}
    assert result.rows["1.1.1"].score.value == 0.5 and result.rows["1.7"].score.value == 2.9
    assert result.col_letter_ref("score", result.rows["1.7"].row) == "D34"


def test_columns_are_found_by_their_header_text_when_a_column_is_added_and_two_are_swapped(filled, tmp_path):
    def change(wb, ws):
        ws.insert_cols(1)  # a new first column, e.g. the commune's own numbering
        ws.cell(HEADER_ROW, 1).value = "Ghi chú"
        for row in range(HEADER_ROW, ROW_OF["II.3"] + 1):  # evidence and explanation change places
            a, b = ws.cell(row, 6), ws.cell(row, 7)
            a.value, b.value = b.value, a.value

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert result.columns == {"code": 2, "label": 3, "max": 4, "score": 5, "evidence": 7, "explanation": 6}
    assert result.rows["1.1.1"].evidence == CHI_MINH_EVIDENCE["1.1.1"]
    assert result.rows["1.7"].score.value == 2.9
    assert result.col_letter_ref("score", 13) == "E13"
    assert result.col_letter_ref("evidence", 13) == "G13"


def test_header_texts_are_matched_whatever_their_spacing_line_breaks_or_unicode_form(filled, tmp_path):
    def change(wb, ws):
        ws.cell(HEADER_ROW, 1).value = "  STT "
        ws.cell(HEADER_ROW, 4).value = "Điểm tự\nđánh   giá"
        ws.cell(HEADER_ROW, 5).value = unicodedata.normalize("NFD", "Tài liệu kiểm chứng")

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert result.header_row == HEADER_ROW and result.columns == COLUMNS


def test_without_a_table_header_the_sheet_is_missing(tmp_path):
    workbook = Workbook()
    workbook.active.title = "Sheet1"
    workbook.active["A1"] = "Báo cáo kết quả CCHC"
    workbook.active["A2"] = "1.1"
    workbook.save(tmp_path / "bao-cao.xlsx")
    result = locate(tmp_path / "bao-cao.xlsx")
    missing = finding(result, "sheet.missing")
    assert missing.severity == "error" and MAIN_SHEET in missing.message and "STT" in missing.message
    assert result.rows == {} and result.sheet_name == ""


def test_renamed_main_sheet_is_still_read_and_reported(filled, tmp_path):
    def change(wb, ws):
        ws.title = "Phu luc CCHC xa"

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    renamed = finding(result, "sheet.renamed")
    assert renamed.severity == "warning"
    assert "Phu luc CCHC xa" in renamed.message and MAIN_SHEET in renamed.message
    assert result.sheet_name == "Phu luc CCHC xa"
    assert result.rows["1.7"].score.value == 2.9 and result.order == CODES


# ---------------------------------------------------------------------------------------------
# Rows found by code


def test_codes_typed_as_numbers_or_with_a_trailing_dot_are_recognised(filled, tmp_path):
    def change(wb, ws):
        ws.cell(ROW_OF["1.2"], 1).value = 1.2  # re-typed into a number cell
        ws.cell(ROW_OF["2"], 1).value = 2
        ws.cell(ROW_OF["1.7"], 1).value = "1.7."
        ws.cell(ROW_OF["3.1.1"], 1).value = " 3.1.1 "

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert result.order == CODES
    assert result.rows["1.2"].score.value == 2 and result.rows["1.7"].score.value == 2.9
    assert result.rows["3.1.1"].row == ROW_OF["3.1.1"]


def test_a_code_repeated_lower_down_is_a_duplicate_and_the_first_row_is_read(filled, tmp_path):
    def change(wb, ws):
        ws.cell(ROW_OF["2.1"], 1).value = "1.2"

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert result.duplicates == {"1.2": [ROW_OF["1.2"], ROW_OF["2.1"]]}
    assert result.rows["1.2"].row == ROW_OF["1.2"]
    assert "2.1" not in result.rows


def test_rows_are_read_in_file_order_after_a_swap(filled, tmp_path):
    def change(wb, ws):
        a, b = ROW_OF["1.1.1"], ROW_OF["1.1.2"]
        for col in range(1, 7):
            x, y = ws.cell(a, col), ws.cell(b, col)
            x.value, y.value = y.value, x.value

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert result.order[:5] == ["I", "1", "1.1", "1.1.2", "1.1.1"]
    assert result.rows["1.1.1"].row == 14 and result.rows["1.1.1"].score.value == 0.5
    assert result.rows["1.1.2"].row == 13 and result.rows["1.1.2"].score.value == 1


# ---------------------------------------------------------------------------------------------
# Identity sources


def _drop_properties(wb, ws):
    wb.custom_doc_props = CustomPropertyList()


def _drop_meta(wb, ws):
    _drop_properties(wb, ws)
    del wb[META_SHEET]


def _identity_line_cell(ws):
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(IDENTITY_LABEL):
                return cell
    raise AssertionError("no identity line")


def _drop_line(wb, ws):
    _drop_meta(wb, ws)
    _identity_line_cell(ws).value = None


@pytest.mark.parametrize("change, source, keys, warned", [
    (_drop_properties, "trang nhận diện", {"unit_code": "30512", "period": "2024", "rubric_id": HD,
                                           "unit_name": "Xã Chí Minh"}, False),
    (_drop_meta, "dòng mã nhận diện trên trang", {"unit_code": "30512", "period": "2024", "rubric_id": HD}, True),
    (_drop_line, "mã đơn vị ở đầu trang", {"unit_code": "30512"}, True),
], ids=["hidden-sheet", "visible-line", "visible-unit-code"])
def test_identity_falls_back_from_properties_to_hidden_sheet_to_visible_line_to_unit_code(
        filled, tmp_path, change, source, keys, warned):
    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert result.identity_source == source
    assert {k: result.identity.get(k) for k in keys} == keys
    if keys == {"unit_code": "30512"}:
        assert result.identity == keys
    if warned:
        missing = finding(result, "identity.missing")
        assert missing.severity == "warning" and source in missing.message and missing.sheet == MAIN_SHEET
    else:
        assert "identity.missing" not in codes_of(result)
    assert result.rows["1.7"].score.value == 2.9


def test_no_identity_at_all_leaves_it_empty(filled, tmp_path):
    def change(wb, ws):
        _drop_line(wb, ws)
        ws["A5"].value = "Đơn vị: UBND xã Chí Minh"  # the unit code removed from the heading too

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert result.identity == {} and result.identity_source == ""
    assert result.rows  # the table is still read


def test_hidden_sheet_contradicting_the_properties_is_a_conflict(filled, tmp_path):
    def change(wb, ws):
        meta = wb[META_SHEET]
        for row in meta.iter_rows(min_col=1, max_col=2):
            if row[0].value == "unit_code":
                row[1].value = "30599"

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    conflict = finding(result, "identity.conflict")
    assert conflict.severity == "warning" and "30599" in conflict.message and "30512" in conflict.message
    assert result.identity["unit_code"] == "30512"  # the properties win


def test_very_hidden_sheet_made_merely_hidden_is_noted(filled, tmp_path):
    def change(wb, ws):
        wb[META_SHEET].sheet_state = "hidden"

    result = locate(edit(filled, tmp_path / "x.xlsx", change))
    assert finding(result, "identity.hidden_sheet_state").severity == "info"
    assert result.identity["unit_code"] == "30512"


# ---------------------------------------------------------------------------------------------
# Unreadable files and text


def test_unreadable_file_gives_one_finding_naming_the_file(tmp_path):
    path = tmp_path / "Phu luc CCHC.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(300))
    result = read_return(path, path.read_bytes(), "Zalo › Phu luc CCHC.xlsx")
    assert isinstance(result, Finding)
    assert result.code == "file.damaged" and result.severity == "error"
    assert result.file == "Zalo › Phu luc CCHC.xlsx"


def test_text_of_normalises_what_a_cell_holds():
    assert text_of(None) == ""
    assert text_of(2.0) == "2" and text_of(2.5) == "2.5"
    assert text_of("  Kế hoạch  ") == "Kế hoạch"
    assert text_of(unicodedata.normalize("NFD", "Tài liệu")) == unicodedata.normalize("NFC", "Tài liệu")
