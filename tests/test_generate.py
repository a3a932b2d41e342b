"""`cchc generate` and the workbook it writes (issue 3), checked by meaning with openpyxl.

Every test builds real workbooks (hai-duong-2022 unless it says otherwise) and reads them back:
header and codes, locks, formulas against the rubric tree, cached results, validations, greyed
survey rows, N/A handling, conditional formatting, print setup, identity. The LibreOffice tests
re-save and recalculate real files, and check that the seed commune's scores (seed 003, Xã Chí
Minh) recompute to the seed's own totals.
"""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.formula import Tokenizer
from openpyxl.utils import get_column_letter, range_boundaries

from cchc_xls import __version__
from cchc_xls.cli import main
from cchc_xls.errors import UnitsError
from cchc_xls.generate import Entries, generate_templates, template_file_name
from cchc_xls.layout import (
    HEADERS, IDENTITY_KEYS, MAIN_SHEET, META_SHEET, NA_MARK, NOT_SELF_SCORED_NOTE, PROPERTY_PREFIX,
    RESCALED_LABEL, TOTAL_LABEL, parse_identity_line,
)
from cchc_xls.numbers import format_vn
from cchc_xls.rubric import load_rubric
from cchc_xls.score import compute_totals
from cchc_xls.units import Unit, load_units, parse_period

from support import (
    CHI_MINH_SCORES, HA_BAC_SCORES, fill_workbook, header_columns, libreoffice_convert, make_template,
    needs_libreoffice, rows_by_code,
)

D = Decimal
HD = "hai-duong-2022"
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
CHI_MINH_DECIMALS = {code: D(v) for code, v in CHI_MINH_SCORES.items()}

# Seed 003's own figures (Xã Chí Minh, six-month 2023 table).
CHI_MINH_AREAS = {"1": "14.9", "2": "5", "3": "18.5", "4": "6", "5": "11", "6": "6.8", "7": "10.9"}
CHI_MINH_PARTS = {"I": "73.1", "II": "1.9"}
CHI_MINH_TOTAL = "75.0"
HA_BAC_TOTAL = "94.5"

HEADER_TEXTS = ["STT", "Lĩnh vực/Tiêu chí", "Điểm tối đa", "Điểm tự đánh giá", "Tài liệu kiểm chứng", "Nội dung giải trình"]
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùýĐ]", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Helpers


@dataclass
class Table:
    """A generated workbook's main sheet, located the way the reader locates it."""

    path: Path
    wb: object
    ws: object
    header_row: int
    cols: dict  # column key -> 1-based column index
    rows: dict  # rubric code -> 1-based row

    def cell(self, code: str, key: str):
        return self.ws.cell(self.rows[code], self.cols[key])

    def coord(self, code: str, key: str) -> str:
        return f"{get_column_letter(self.cols[key])}{self.rows[code]}"

    def label_row(self, text: str) -> int:
        """The row whose first cell reads `text` (total, rescaled total)."""
        for row in range(self.header_row + 1, self.ws.max_row + 1):
            if self.ws.cell(row, 1).value == text:
                return row
        raise AssertionError(f"no row labelled {text!r}")


def open_table(path: Path, data_only: bool = False) -> Table:
    wb = load_workbook(path, data_only=data_only)
    ws = wb[MAIN_SHEET]
    header_row, cols = header_columns(ws)
    return Table(path, wb, ws, header_row, cols, rows_by_code(ws))


def validations_by_cell(ws) -> dict[str, list]:
    found = defaultdict(list)
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                for col in range(rng.min_col, rng.max_col + 1):
                    found[f"{get_column_letter(col)}{row}"].append(dv)
    return found


def formula_refs(formula: str) -> list[str]:
    """The cell references a formula reads, `$` removed, in order."""
    return [t.value.replace("$", "") for t in Tokenizer(formula).items if t.type == "OPERAND" and t.subtype == "RANGE"]


def cells_of(sqref) -> set[str]:
    result = set()
    for rng in sqref.ranges:
        for row in range(rng.min_row, rng.max_row + 1):
            for col in range(rng.min_col, rng.max_col + 1):
                result.add(f"{get_column_letter(col)}{row}")
    return result


def number(value) -> Decimal:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), repr(value)
    return D(repr(value)) if isinstance(value, float) else D(value)


def is_grey(cell) -> bool:
    fill = cell.fill
    if fill is None or fill.fill_type != "solid":
        return False
    rgb = str(fill.fgColor.rgb)[-6:].upper()
    r, g, b = rgb[0:2], rgb[2:4], rgb[4:6]
    return r == g == b and rgb != "FFFFFF"


def meta_values(wb) -> dict[str, str]:
    meta = wb[META_SHEET]
    return {str(row[0].value): row[1].value for row in meta.iter_rows(min_row=1, max_row=len(IDENTITY_KEYS) + 5)
            if row[0].value in IDENTITY_KEYS}


def custom_props(wb) -> dict[str, str]:
    return {p.name: p.value for p in wb.custom_doc_props.props}


def identity_in_cells(ws) -> dict:
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                parsed = parse_identity_line(cell.value)
                if parsed:
                    return parsed
    return {}


# ---------------------------------------------------------------------------------------------
# Fixtures: generated once per module


@pytest.fixture(scope="module")
def hd():
    return load_rubric(HD)


@pytest.fixture(scope="module")
def empty(tmp_path_factory) -> Table:
    return open_table(make_template(tmp_path_factory.mktemp("empty")))


@pytest.fixture(scope="module")
def empty_cached(empty) -> Table:
    return open_table(empty.path, data_only=True)


@pytest.fixture(scope="module")
def filled_cached(tmp_path_factory) -> Table:
    path = make_template(tmp_path_factory.mktemp("filled"), entries=Entries(scores=dict(CHI_MINH_DECIMALS)))
    return open_table(path, data_only=True)


def input_leaves(rubric):
    return [n for n in rubric.leaves() if n.self_scored]


# ---------------------------------------------------------------------------------------------
# 1. Header and rows


def test_header_row_has_exactly_the_six_texts(empty):
    texts = [c.value for c in empty.ws[empty.header_row] if c.value is not None]
    assert texts == HEADER_TEXTS
    assert set(HEADER_TEXTS) <= set(HEADERS.values())


def test_every_node_has_a_row_with_code_label_and_max_in_rubric_order(empty, hd):
    codes_in_sheet = []
    for row in range(empty.header_row + 1, empty.ws.max_row + 1):
        cell = empty.ws.cell(row, empty.cols["code"])
        if cell.value is not None and cell.value in hd:
            codes_in_sheet.append(cell.value)
    assert codes_in_sheet == [n.code for n in hd.nodes()]
    for node in hd.nodes():
        code_cell = empty.cell(node.code, "code")
        assert code_cell.value == node.code and code_cell.data_type == "s", node.code
        assert empty.cell(node.code, "label").value == node.label
        max_cell = empty.cell(node.code, "max")
        assert max_cell.data_type == "n", node.code
        assert number(max_cell.value) == node.max, node.code
    # Codes that look like numbers ("1", "2") are text, not numbers
    assert empty.cell("1", "code").value == "1"


def test_heading_footer_and_instructions(empty, hd):
    ws = empty.ws
    above = [c.value for row in ws.iter_rows(max_row=empty.header_row - 1) for c in row if isinstance(c.value, str)]
    joined = "\n".join(above)
    for text in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "UBND xã Chí Minh", "năm 2024",
                 hd.title, hd.legal_basis.describe()):
        assert text in joined, text
    below = [c.value for row in ws.iter_rows(min_row=empty.label_row(TOTAL_LABEL)) for c in row if isinstance(c.value, str)]
    assert "TM. ỦY BAN NHÂN DÂN" in below and "CHỦ TỊCH" in below
    assert any(text.startswith("Xếp loại") for text in below)
    guide = "\n".join(str(c.value) for row in empty.wb["Hướng dẫn"].iter_rows() for c in row if c.value)
    assert "15/12/2024" in guide and "Phòng Nội vụ thử" in guide and "30512" in guide


# ---------------------------------------------------------------------------------------------
# 2. Locking


def test_only_the_cells_a_commune_fills_are_unlocked(empty, hd):
    ws = empty.ws
    assert ws.protection.sheet is True
    expected = {empty.coord(n.code, key) for n in input_leaves(hd) for key in ("score", "evidence", "explanation")}
    unlocked = set()
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column):
        for cell in row:
            if cell.protection.locked is False:
                unlocked.add(cell.coordinate)
    assert unlocked == expected
    # spot checks of what must stay locked
    for code in ("I", "1", "1.1", "II"):
        assert empty.cell(code, "score").protection.locked is not False, code
    for code in ("II.2", "II.3"):
        for key in ("score", "evidence", "explanation"):
            assert empty.cell(code, key).protection.locked is not False, (code, key)
    for code in ("1.1.1", "II.1"):
        for key in ("code", "label", "max"):
            assert empty.cell(code, key).protection.locked is not False, (code, key)


def test_password_is_set_only_when_given(tmp_path, empty):
    assert not empty.ws.protection.password
    table = open_table(make_template(tmp_path, password="bí mật"))
    assert table.ws.protection.sheet is True
    assert table.ws.protection.password  # a hash, not the password itself
    assert table.ws.protection.password != "bí mật"
    # the hidden identity sheet and the instructions are protected too
    assert table.wb[META_SHEET].protection.sheet is True
    assert table.wb["Hướng dẫn"].protection.sheet is True


# ---------------------------------------------------------------------------------------------
# 3. Formulas and cached results


def test_every_parent_sums_exactly_its_children(empty, hd):
    parents = [n for n in hd.nodes() if not n.is_leaf]
    assert parents
    for node in parents:
        cell = empty.cell(node.code, "score")
        assert cell.data_type == "f", node.code
        formula = cell.value
        assert formula.replace(" ", "").upper().startswith("=SUM("), (node.code, formula)
        assert formula_refs(formula) == [empty.coord(child.code, "score") for child in node.children], node.code


def test_total_row_sums_the_top_level_nodes(empty, hd):
    row = empty.label_row(TOTAL_LABEL)
    cell = empty.ws.cell(row, empty.cols["score"])
    assert cell.value.upper().startswith("=SUM(")
    assert formula_refs(cell.value) == [empty.coord(r.code, "score") for r in hd.roots]
    assert number(empty.ws.cell(row, empty.cols["max"]).value) == hd.total


def test_empty_template_caches_zero_in_every_formula(empty_cached, hd):
    for node in hd.nodes():
        if not node.is_leaf:
            assert empty_cached.cell(node.code, "score").value == 0, node.code
    row = empty_cached.label_row(TOTAL_LABEL)
    assert empty_cached.ws.cell(row, empty_cached.cols["score"]).value == 0
    assert empty_cached.ws.cell(row + 1, empty_cached.cols["score"]).value in (None, "")  # no group yet


def test_filled_template_caches_the_exact_sums(filled_cached, hd):
    t = filled_cached
    for code, expected in {**CHI_MINH_AREAS, **CHI_MINH_PARTS}.items():
        assert number(t.cell(code, "score").value) == D(expected), code
    total = t.ws.cell(t.label_row(TOTAL_LABEL), t.cols["score"]).value
    assert number(total) == D(CHI_MINH_TOTAL)
    assert t.ws.cell(t.label_row(TOTAL_LABEL) + 1, t.cols["score"]).value == "Khá"
    # every subtotal, not only the seed's: the cached value is the exact sum of the leaves
    totals = compute_totals(hd, CHI_MINH_DECIMALS, "xã")
    for code, value in totals.subtotals.items():
        assert number(t.cell(code, "score").value) == value, code
    # leaf scores are stored as numbers
    assert number(t.cell("1.7", "score").value) == D("2.9")


# ---------------------------------------------------------------------------------------------
# 4. Validation


def _check_messages(dv, node):
    for text in (dv.prompt, dv.error):
        assert text and text.strip()
        assert len(text) <= 255
        assert VIETNAMESE.search(text), text
    for title in (dv.promptTitle, dv.errorTitle):
        assert title and len(title) <= 32  # Excel's limit for titles
    assert f"{format_vn(node.max)} điểm" in dv.error, dv.error
    assert dv.showErrorMessage and dv.showInputMessage
    assert dv.errorStyle in (None, "stop")  # None: the default, stop
    assert dv.allowBlank


def test_every_score_cell_has_exactly_one_validation(empty, hd):
    by_cell = validations_by_cell(empty.ws)
    for node in input_leaves(hd):
        found = by_cell.get(empty.coord(node.code, "score"), [])
        assert len(found) == 1, (node.code, found)
        dv = found[0]
        _check_messages(dv, node)
        if node.levels:
            assert dv.type == "list", node.code
        else:
            assert dv.type == "decimal", node.code
            assert dv.operator in (None, "between")
            assert D(dv.formula1) == 0
            assert D(dv.formula2) == node.max, node.code
    # nothing else in the score column (parents, survey rows) is validated
    validated = {c for c in by_cell if c.startswith(get_column_letter(empty.cols["score"]))}
    assert validated == {empty.coord(n.code, "score") for n in input_leaves(hd)}


def test_error_message_names_the_maximum_with_a_decimal_comma(empty):
    dv = validations_by_cell(empty.ws)[empty.coord("7.2.1", "score")][0]  # max 1.5
    assert "1,5" in dv.error and "1.5" not in dv.error
    dv = validations_by_cell(empty.ws)[empty.coord("1.1.1", "score")][0]  # max 0.5
    assert "0,5" in dv.error and "0.5" not in dv.error


def _list_values(wb, formula: str) -> list:
    """The cells a list validation's source range points at (on another sheet)."""
    formula = formula.lstrip("=")
    assert "!" in formula, f"expected a range on the hidden sheet, got {formula!r}"
    sheet, ref = formula.rsplit("!", 1)
    sheet = sheet.strip("'")
    assert sheet == META_SHEET
    assert wb[sheet].sheet_state == "veryHidden"
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    ws = wb[sheet]
    return [ws.cell(r, c) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


@pytest.mark.parametrize("code,levels", [("1.6.1", ["0", "0.25"]), ("1.6.2", ["0", "0.25"]), ("3.1.2", ["0", "1"])])
def test_levels_are_a_drop_down_of_numbers(empty, hd, code, levels):
    dv = validations_by_cell(empty.ws)[empty.coord(code, "score")][0]
    assert dv.type == "list"
    cells = _list_values(empty.wb, dv.formula1)
    assert all(c.data_type == "n" for c in cells), [c.value for c in cells]
    assert [number(c.value) for c in cells] == [D(x) for x in levels]
    assert [number(c.value) for c in cells] == [lv.points for lv in hd.node(code).levels]
    if "0.25" in levels:
        assert "0,25" in dv.error


RUBRIC_NA = """\
id: thu-na-2024
title: "Bộ tiêu chí thử"
version: "1"
legal_basis:
  document: "Quyết định số 1/QĐ-UBND"
  date: "2024-01-02"
  issuer: "UBND tỉnh Thử"
  province: "Thử"
total: 10
na_policy: rescale
groups:
  bands:
    - {name: "Tốt", min: 8}
    - {name: "Khá", min: 5}
    - {name: "Yếu", min: 0}
tree:
  - code: "I"
    label: "LĨNH VỰC MỘT"
    max: 6
    children:
      - code: "1.1"
        label: "Tiêu chí một"
        max: 2.5
        levels:
          - {points: 0, text: "Không thực hiện"}
          - {points: 2.5, text: "Thực hiện đầy đủ"}
      - code: "1.2"
        label: "Tiêu chí hai"
        max: 3.5
        step: 0.25
        method: "METHOD"
  - code: "II"
    label: "LĨNH VỰC HAI"
    max: 4
    children:
      - code: "2.1"
        label: "Việc phát sinh (nếu có)"
        max: 1
        may_be_na: true
      - code: "2.2"
        label: "Chỉ đối với phường"
        max: 1
        applies_to: ["phường"]
      - code: "2.3"
        label: "Tiêu chí ba"
        max: 2
"""
LONG_METHOD = "Chấm theo tỷ lệ hoàn thành kế hoạch: " + "hoàn thành từ 70 đến dưới 100% được 0,5 điểm; " * 10
NA_SCORES = {"1.1": D("2.5"), "1.2": D("3"), "2.3": D("1.5")}
XA_THU = Unit("30599", "Xã Thử", "xã")


def write_rubric(tmp_path: Path, text: str, name: str = "rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text).replace("METHOD", LONG_METHOD), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def na_rubric_path(tmp_path_factory) -> Path:
    return write_rubric(tmp_path_factory.mktemp("rubric-na"), RUBRIC_NA)


@pytest.fixture(scope="module")
def na_empty(na_rubric_path, tmp_path_factory) -> Table:
    return open_table(make_template(tmp_path_factory.mktemp("na"), rubric_id=str(na_rubric_path), unit=XA_THU))


def test_step_is_a_custom_formula_with_a_clipped_input_message(na_empty):
    dvs = validations_by_cell(na_empty.ws)[na_empty.coord("1.2", "score")]
    assert len(dvs) == 1
    dv = dvs[0]
    assert dv.type == "custom"
    formula = dv.formula1
    assert na_empty.coord("1.2", "score") in formula_refs("=" + formula.lstrip("="))
    assert "0.25" in formula and "3.5" in formula
    assert "0,25" in dv.error and "3,5" in dv.error
    # the rubric's scoring method is the input message, clipped to Excel's 255 characters
    assert len(LONG_METHOD) > 255
    assert 0 < len(dv.prompt) <= 255 and dv.prompt.startswith("Chấm theo tỷ lệ")
    assert len(dv.error) <= 255


def test_inline_levels_are_numbers_too(na_empty):
    dv = validations_by_cell(na_empty.ws)[na_empty.coord("1.1", "score")][0]
    assert dv.type == "list"
    cells = _list_values(na_empty.wb, dv.formula1)
    assert [number(c.value) for c in cells] == [D(0), D("2.5")]
    assert "2,5" in dv.error


# ---------------------------------------------------------------------------------------------
# 5. Survey criteria


@pytest.mark.parametrize("code", ["II.2", "II.3"])
def test_survey_criteria_are_greyed_locked_noted_and_not_validated(empty, code):
    score = empty.cell(code, "score")
    assert is_grey(score)
    assert score.protection.locked is not False
    assert score.value is None
    row_texts = [c.value for c in empty.ws[empty.rows[code]] if isinstance(c.value, str)]
    assert NOT_SELF_SCORED_NOTE in row_texts
    by_cell = validations_by_cell(empty.ws)
    for key in ("score", "evidence", "explanation"):
        assert empty.coord(code, key) not in by_cell
        assert empty.cell(code, key).protection.locked is not False
    # a criterion the commune does score is not greyed
    assert not is_grey(empty.cell("II.1", "score"))


# ---------------------------------------------------------------------------------------------
# 6. Not applicable


def test_na_column_and_kind_exclusion(na_empty):
    t = na_empty
    assert "na" in t.cols and t.ws.cell(t.header_row, t.cols["na"]).value == NA_MARK
    by_cell = validations_by_cell(t.ws)
    # the "(nếu có)" criterion: the commune may mark it, from a drop-down
    na_cell = t.cell("2.1", "na")
    assert na_cell.protection.locked is False
    dvs = by_cell[t.coord("2.1", "na")]
    assert len(dvs) == 1 and dvs[0].type == "list"
    assert NA_MARK in dvs[0].formula1
    assert t.cell("2.1", "score").protection.locked is False
    # the phường-only criterion in a xã's workbook: marked, locked, greyed, not validated
    assert t.cell("2.2", "na").value == NA_MARK
    for key in ("score", "na", "evidence", "explanation"):
        assert t.cell("2.2", key).protection.locked is not False, key
    assert is_grey(t.cell("2.2", "score"))
    assert t.coord("2.2", "score") not in by_cell
    # ordinary criteria: no N/A choice
    assert t.cell("2.3", "na").protection.locked is not False
    assert t.coord("2.3", "na") not in by_cell
    # parent II sums only what counts: 2.1 unless marked, never 2.2
    refs = formula_refs(t.cell("II", "score").value)
    assert t.coord("2.2", "score") not in refs
    assert {t.coord("2.1", "score"), t.coord("2.1", "na"), t.coord("2.3", "score")} <= set(refs)


def test_phuong_only_criterion_is_open_for_a_phuong(na_rubric_path, tmp_path):
    unit = Unit("30600", "Phường Thử", "phường")
    t = open_table(make_template(tmp_path, rubric_id=str(na_rubric_path), unit=unit))
    assert t.cell("2.2", "score").protection.locked is False
    assert t.cell("2.2", "na").value in (None, "")
    assert len(validations_by_cell(t.ws)[t.coord("2.2", "score")]) == 1
    assert t.coord("2.2", "score") in formula_refs(t.cell("II", "score").value)


def test_rescaled_total_row_caches_the_reference_total(na_rubric_path, na_empty, tmp_path):
    rubric = load_rubric(na_rubric_path)
    label = RESCALED_LABEL.format(total=format_vn(rubric.total))
    row = na_empty.label_row(label)
    formula = na_empty.ws.cell(row, na_empty.cols["score"]).value
    assert isinstance(formula, str) and formula.startswith("=")
    empty_cached = open_table(na_empty.path, data_only=True)
    assert empty_cached.ws.cell(row, empty_cached.cols["score"]).value == 0
    # reads the raw total and the N/A column
    total_ref = f"{get_column_letter(na_empty.cols['score'])}{na_empty.label_row(TOTAL_LABEL)}"
    assert total_ref in formula_refs(formula)

    path = make_template(tmp_path, rubric_id=str(na_rubric_path), unit=XA_THU,
                         entries=Entries(scores=dict(NA_SCORES), na={"2.1"}))
    cached = open_table(path, data_only=True)
    expected = compute_totals(rubric, NA_SCORES, "xã", {"2.1"})
    assert expected.total == D("8.75")  # 7 of the 8 points that apply, on a scale of 10
    assert number(cached.ws.cell(cached.label_row(label), cached.cols["score"]).value) == expected.total
    assert number(cached.ws.cell(cached.label_row(TOTAL_LABEL), cached.cols["score"]).value) == expected.raw_total
    assert number(cached.cell("II", "score").value) == expected.subtotals["II"] == D("1.5")
    assert cached.cell("2.1", "na").value == NA_MARK


def test_full_marks_policy_counts_the_maximum_of_na_criteria(tmp_path):
    path_rubric = write_rubric(tmp_path, RUBRIC_NA.replace("na_policy: rescale", "na_policy: full_marks"))
    rubric = load_rubric(path_rubric)
    t = open_table(make_template(tmp_path, rubric_id=str(path_rubric), unit=XA_THU))
    refs = formula_refs(t.cell("II", "score").value)
    assert t.coord("2.1", "max") in refs  # counted at its maximum when marked N/A
    assert t.coord("2.2", "max") in refs  # phường-only: full marks for a xã
    with pytest.raises(AssertionError):
        t.label_row(RESCALED_LABEL.format(total=format_vn(rubric.total)))

    path = make_template(tmp_path, rubric_id=str(path_rubric), unit=XA_THU, name="filled.xlsx",
                         entries=Entries(scores=dict(NA_SCORES), na={"2.1"}))
    cached = open_table(path, data_only=True)
    expected = compute_totals(rubric, NA_SCORES, "xã", {"2.1"})
    assert expected.subtotals["II"] == D("3.5")
    assert number(cached.cell("II", "score").value) == D("3.5")
    assert number(cached.ws.cell(cached.label_row(TOTAL_LABEL), cached.cols["score"]).value) == expected.total == D(9)


# ---------------------------------------------------------------------------------------------
# 7. Conditional formatting


def _cf_cells_by_column(ws) -> dict[str, set[str]]:
    by_col = defaultdict(set)
    for cf in ws.conditional_formatting:
        assert cf.rules
        for cell in cells_of(cf.sqref):
            by_col[re.match(r"[A-Z]+", cell).group(0)].add(cell)
    return by_col


def test_conditional_formats_cover_exactly_the_input_cells(empty, hd):
    by_col = _cf_cells_by_column(empty.ws)
    score_l = get_column_letter(empty.cols["score"])
    evidence_l = get_column_letter(empty.cols["evidence"])
    assert by_col[score_l] == {empty.coord(n.code, "score") for n in input_leaves(hd)}
    assert by_col[evidence_l] == {empty.coord(n.code, "evidence") for n in input_leaves(hd) if n.evidence_required}
    assert by_col[evidence_l]  # hai-duong requires evidence everywhere
    for cf in empty.ws.conditional_formatting:
        first = min(cf.sqref.ranges, key=lambda r: (r.min_row, r.min_col))
        for rule in cf.rules:
            assert rule.type == "expression"
            refs = formula_refs("=" + rule.formula[0])
            # relative to the range's first row; the score decides missing / needs evidence
            assert f"{score_l}{first.min_row}" in refs
            if first.min_col == empty.cols["evidence"]:
                assert f"{evidence_l}{first.min_row}" in refs
            assert rule.dxf is not None and rule.dxf.fill is not None


def test_na_workbook_formats_skip_excluded_criteria(na_empty):
    by_col = _cf_cells_by_column(na_empty.ws)
    score_l = get_column_letter(na_empty.cols["score"])
    assert by_col[score_l] == {na_empty.coord(c, "score") for c in ("1.1", "1.2", "2.1", "2.3")}


# ---------------------------------------------------------------------------------------------
# 8. Print setup


def test_print_setup(empty):
    ws = empty.ws
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.page_setup.fitToWidth in (None, 1, "1")  # absent means 1 in OOXML
    assert int(ws.page_setup.fitToHeight) == 0  # as many pages tall as needed
    title_rows = ws.print_title_rows
    first, last = (int(x) for x in re.fullmatch(r"\$?(\d+):\$?(\d+)", title_rows).groups())
    assert first <= empty.header_row <= last
    assert ws.freeze_panes == f"A{empty.header_row + 1}"
    footer = " ".join(part.text or "" for part in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right))
    assert "&P" in footer and "&N" in footer


def test_table_cells_are_times_new_roman_13(empty, hd):
    last_row = empty.label_row(TOTAL_LABEL) + 1  # every node, the total and the group
    assert last_row > max(empty.rows[n.code] for n in hd.nodes())
    checked = 0
    for row in empty.ws.iter_rows(min_row=empty.header_row, max_row=last_row, max_col=max(empty.cols.values())):
        for cell in row:
            if isinstance(cell, MergedCell) or (cell.value is None and not cell.has_style):
                continue  # shown with its range's first cell's font / nothing written there
            assert cell.font.name == "Times New Roman", cell.coordinate
            assert float(cell.font.sz) == 13, cell.coordinate
            checked += 1
    assert checked >= len(hd.nodes()) * 6
    # long labels wrap
    assert empty.cell("1.1.2", "label").alignment.wrap_text is True


# ---------------------------------------------------------------------------------------------
# 9. Identity


def _expected_identity(rubric) -> dict:
    return {
        "kind": "self", "rubric_id": rubric.id, "rubric_hash": rubric.content_hash, "period": "2024",
        "unit_code": "30512", "unit_name": "Xã Chí Minh", "template_id": "testbtch-30512",
        "tool_version": __version__,
    }


def test_identity_in_a_very_hidden_sheet(empty, hd):
    meta = empty.wb[META_SHEET]
    assert meta.sheet_state == "veryHidden"
    values = meta_values(empty.wb)
    assert set(values) == set(IDENTITY_KEYS)
    for key, value in _expected_identity(hd).items():
        assert values[key] == value, key
    assert empty.wb.active.title == MAIN_SHEET


def test_identity_in_custom_document_properties(empty, hd):
    props = custom_props(empty.wb)
    for key, value in _expected_identity(hd).items():
        assert props[PROPERTY_PREFIX + key] == value, key
    stored = {k for k in props if k.startswith(PROPERTY_PREFIX)}
    assert {PROPERTY_PREFIX + k for k in _expected_identity(hd)} <= stored <= {PROPERTY_PREFIX + k for k in IDENTITY_KEYS}


def test_identity_visible_on_the_sheet(empty, hd):
    above = [c.value for row in empty.ws.iter_rows(max_row=empty.header_row - 1) for c in row if isinstance(c.value, str)]
    assert any("30512" in text for text in above)
    parsed = identity_in_cells(empty.ws)
    assert parsed["rubric_id"] == hd.id
    assert parsed["rubric_hash"] == hd.content_hash
    assert parsed["period"] == "2024"
    assert parsed["unit_code"] == "30512"
    assert parsed["template_id"] == "testbtch-30512"


def test_identity_survives_a_copy_of_the_visible_sheet(empty, hd, tmp_path):
    copy = Workbook()
    target = copy.active
    for row in empty.ws.iter_rows():
        for cell in row:
            if cell.value is not None:
                target.cell(cell.row, cell.column, cell.value)
    copy.save(tmp_path / "copy.xlsx")
    reread = load_workbook(tmp_path / "copy.xlsx")
    assert reread.sheetnames == ["Sheet"]
    parsed = identity_in_cells(reread.active)
    assert (parsed["rubric_id"], parsed["period"], parsed["unit_code"]) == (hd.id, "2024", "30512")


@pytest.mark.libreoffice
def test_identity_survives_libreoffice_resave_as_xlsx(empty, hd, tmp_path):
    needs_libreoffice()
    out = libreoffice_convert(empty.path, "xlsx", tmp_path / "lo")
    wb = load_workbook(out)
    assert MAIN_SHEET in wb.sheetnames
    assert wb[META_SHEET].sheet_state != "visible"
    values = meta_values(wb)
    for key, value in _expected_identity(hd).items():
        assert values[key] == value, key
    props = custom_props(wb)
    assert props.get(PROPERTY_PREFIX + "unit_code") == "30512"
    assert identity_in_cells(wb[MAIN_SHEET])["unit_code"] == "30512"


@pytest.mark.libreoffice
def test_identity_survives_a_save_as_xls(empty, hd, tmp_path):
    needs_libreoffice()
    xls = libreoffice_convert(empty.path, "xls:MS Excel 97", tmp_path / "xls")
    assert xls.suffix == ".xls" and xls.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # an OLE2 (BIFF) file
    back = libreoffice_convert(xls, "xlsx", tmp_path / "back")
    wb = load_workbook(back)
    assert wb[META_SHEET].sheet_state != "visible"
    values = meta_values(wb)
    for key, value in _expected_identity(hd).items():
        assert values[key] == value, key
    parsed = identity_in_cells(wb[MAIN_SHEET])
    assert (parsed["rubric_id"], parsed["period"], parsed["unit_code"]) == (hd.id, "2024", "30512")


# ---------------------------------------------------------------------------------------------
# 10. The seed: filled as a person types, recalculated by LibreOffice


def _recalculated(tmp_path: Path, rubric_id: str, unit: Unit, scores: dict, na: dict | None = None) -> Table:
    template = make_template(tmp_path, rubric_id=rubric_id, unit=unit)
    filled = fill_workbook(template, scores, na=na, out=tmp_path / "filled.xlsx")
    # openpyxl drops every cached result on save: what we read back is LibreOffice's own
    stale = open_table(filled, data_only=True)
    assert stale.cell(next(iter(stale.rows)), "score").value is None
    return open_table(libreoffice_convert(filled, "xlsx", tmp_path / "recalc"), data_only=True)


@pytest.mark.libreoffice
def test_chi_minh_seed_recomputes_to_the_seed_totals(tmp_path, hd):
    needs_libreoffice()
    t = _recalculated(tmp_path, HD, CHI_MINH, CHI_MINH_SCORES)
    for code, expected in {**CHI_MINH_AREAS, **CHI_MINH_PARTS}.items():
        assert number(t.cell(code, "score").value) == D(expected), code
    total_row = t.label_row(TOTAL_LABEL)
    assert number(t.ws.cell(total_row, t.cols["score"]).value) == D(CHI_MINH_TOTAL)
    group = t.ws.cell(total_row + 1, t.cols["score"]).value
    assert group == hd.group_for(D(CHI_MINH_TOTAL)) == "Khá"


@pytest.mark.libreoffice
def test_ha_bac_seed_recomputes_to_94_5(tmp_path):
    needs_libreoffice()
    rubric = load_rubric("ha-trung-2023")
    t = _recalculated(tmp_path, "ha-trung-2023", Unit("28900", "Xã Hà Bắc", "xã"), HA_BAC_SCORES)
    total_row = t.label_row(TOTAL_LABEL)
    assert number(t.ws.cell(total_row, t.cols["score"]).value) == D(HA_BAC_TOTAL)
    expected = compute_totals(rubric, {k: D(v) for k, v in HA_BAC_SCORES.items()}, "xã")
    for code, value in expected.subtotals.items():
        assert number(t.cell(code, "score").value) == value, code
    assert t.ws.cell(total_row + 1, t.cols["score"]).value == "Xuất sắc"


@pytest.mark.libreoffice
def test_na_formulas_recompute_to_the_reference_totals(tmp_path, na_rubric_path):
    """The rescaling lives in the formulas, not only in the cached values."""
    needs_libreoffice()
    rubric = load_rubric(na_rubric_path)
    scores = {k: str(v) for k, v in NA_SCORES.items()}
    t = _recalculated(tmp_path, str(na_rubric_path), XA_THU, scores, na={"2.1": NA_MARK})
    expected = compute_totals(rubric, NA_SCORES, "xã", {"2.1"})
    label = RESCALED_LABEL.format(total=format_vn(rubric.total))
    assert number(t.ws.cell(t.label_row(label), t.cols["score"]).value) == expected.total == D("8.75")
    assert number(t.ws.cell(t.label_row(TOTAL_LABEL), t.cols["score"]).value) == expected.raw_total
    assert number(t.cell("II", "score").value) == expected.subtotals["II"]


# ---------------------------------------------------------------------------------------------
# 11. generate_templates and `cchc generate`

UNITS_CSV = "code,name\n30512,Xã Chí Minh\n30513,Thị trấn Thanh Miện\n30514,Xã Thanh Xá\n"
EXPECTED_FILES = {
    "30512": "30512_xa-chi-minh_CCHC_2024.xlsx",
    "30513": "30513_thi-tran-thanh-mien_CCHC_2024.xlsx",
    "30514": "30514_xa-thanh-xa_CCHC_2024.xlsx",
}
OFFICE = "Phòng Nội vụ huyện Thanh Miện"
DEADLINE = "15/12/2024"
SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    units = base / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    out = base / "out"
    result = run_cli("generate", HD, "--units", units, "--period", "2024", "--out", out,
                     "--office", OFFICE, "--deadline", DEADLINE)
    assert result.exit_code == 0, result.output
    return out


def test_cli_writes_one_ascii_named_workbook_per_unit(generated):
    files = sorted(p.name for p in generated.glob("*.xlsx"))
    assert files == sorted(EXPECTED_FILES.values())
    for name in files:
        assert name.isascii() and SAFE_NAME.match(name), name
    for code, name in EXPECTED_FILES.items():
        wb = load_workbook(generated / name)
        assert meta_values(wb)["unit_code"] == code
        assert not list(generated.glob("*.part"))


def test_manifest_lists_every_file_with_its_hash(generated):
    with open(generated / "manifest.csv", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["code", "name", "file", "template_id", "sha256"]
        rows = list(reader)
    assert [r["code"] for r in rows] == ["30512", "30513", "30514"]
    assert [r["name"] for r in rows] == ["Xã Chí Minh", "Thị trấn Thanh Miện", "Xã Thanh Xá"]
    for row in rows:
        assert row["file"] == EXPECTED_FILES[row["code"]]
        data = (generated / row["file"]).read_bytes()
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert meta_values(load_workbook(generated / row["file"]))["template_id"] == row["template_id"]
    assert len({r["template_id"] for r in rows}) == 3


def test_archive_holds_every_workbook(generated):
    with zipfile.ZipFile(generated / "templates.zip") as zf:
        assert sorted(zf.namelist()) == sorted(EXPECTED_FILES.values())
        for name in zf.namelist():
            assert zf.read(name) == (generated / name).read_bytes()


def test_one_message_per_commune(generated):
    text = (generated / "messages.txt").read_text(encoding="utf-8")
    messages = [m for m in re.split(r"\n=+\n", text) if m.strip()]
    assert len(messages) == 3
    for message, (code, name) in zip(messages, EXPECTED_FILES.items()):
        assert name in message
        assert DEADLINE in message
        assert OFFICE in message
        assert code in message
        assert sum(other in message for other in EXPECTED_FILES.values()) == 1
    assert "Thị trấn Thanh Miện".lower() in messages[1].lower()


def test_half_year_period_in_title_and_file_names(tmp_path):
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    result = run_cli("generate", HD, "--units", units, "--period", "2024-H1", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    path = tmp_path / "out" / "30512_xa-chi-minh_CCHC_2024-H1.xlsx"
    t = open_table(path)
    texts = [c.value for row in t.ws.iter_rows(max_row=t.header_row - 1) for c in row if isinstance(c.value, str)]
    assert any("6 tháng đầu năm 2024" in text for text in texts)
    assert any("6 THÁNG ĐẦU NĂM 2024" in text.upper() and "CẢI CÁCH HÀNH CHÍNH" in text for text in texts)
    assert "6 tháng đầu năm 2024" in t.wb.properties.title
    assert meta_values(t.wb)["period"] == "2024-H1"
    assert identity_in_cells(t.ws)["period"] == "2024-H1"


@pytest.mark.parametrize("units_text,period,expected", [
    (UNITS_CSV, "2024-H3", ["Kỳ đánh giá", "2024-H3"]),
    ("code,ten_xa\n30512,Xã Chí Minh\n", "2024", ["thiếu cột", "dòng 1", "Tên đơn vị"]),
    ("code,name\n30512,Xã Chí Minh\n30513,Xã Thanh Xá\n30512,Xã Khác\n", "2024", ["dòng 4", "dòng 2", "30512", "trùng"]),
], ids=["bad-period", "missing-column", "duplicate-code"])
def test_cli_errors_are_clean_vietnamese_messages(tmp_path, units_text, period, expected):
    units = tmp_path / "units.csv"
    units.write_text(units_text, encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("generate", HD, "--units", units, "--period", period, "--out", out)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # handled, not a crash
    assert "Traceback" not in result.output
    assert result.output.startswith("Lỗi:")
    for fragment in expected:
        assert fragment in result.output, (fragment, result.output)
    assert not out.exists() or not list(out.glob("*.xlsx"))


def test_cli_json_output_lists_the_outputs(generated, tmp_path):
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    result = run_cli("generate", HD, "--units", units, "--period", "2024", "--out", tmp_path / "o", "--json")
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert sorted(Path(f).name for f in data["files"]) == sorted(EXPECTED_FILES.values())
    assert Path(data["manifest"]).name == "manifest.csv" and Path(data["archive"]).name == "templates.zip"


def test_a_batch_through_worker_processes(tmp_path, hd):
    units = [Unit(str(31000 + i), f"Xã Số {i}", "xã") for i in range(16)]
    result = generate_templates(hd, units, parse_period("2024"), tmp_path, office=OFFICE, deadline=DEADLINE, workers=2)
    assert [p.name for p in result.files] == [f"{u.code}_xa-so-{i}_CCHC_2024.xlsx" for i, u in enumerate(units)]
    with open(result.manifest, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 16
    for row, path in zip(rows, result.files):
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["template_id"] == f"{result.batch}-{row['code']}"
    wb = load_workbook(result.files[-1])
    assert meta_values(wb)["unit_code"] == units[-1].code
    assert meta_values(wb)["batch"] == result.batch


def test_template_file_name():
    assert template_file_name(CHI_MINH, parse_period("2024")) == "30512_xa-chi-minh_CCHC_2024.xlsx"
    assert template_file_name(Unit("30513", "Thị trấn Thanh Miện", "thị trấn"), parse_period("2024-H2")) == \
        "30513_thi-tran-thanh-mien_CCHC_2024-H2.xlsx"
    assert template_file_name(Unit("1", "Phường Đồng Tâm", "phường"), parse_period("2025")) == "1_phuong-dong-tam_CCHC_2025.xlsx"


def test_codes_that_cannot_make_an_ascii_file_name_are_refused(tmp_path):
    units = tmp_path / "units.csv"
    units.write_text("code,name\nĐ02,Xã A\nTK 01,Xã B\nTK/01,Xã C\n30512,Xã Chí Minh\n", encoding="utf-8")
    with pytest.raises(UnitsError) as info:
        load_units(units)
    assert all(f"dòng {n}" in str(info.value) for n in (2, 3, 4))
    name = template_file_name(Unit("30512", "Xã Chí Minh", "xã"), parse_period("2024"))
    assert SAFE_NAME.match(name), name


def test_cli_code_with_a_slash_is_handled(tmp_path):
    units = tmp_path / "units.csv"
    units.write_text("code,name\nTK/01,Xã Chí Minh\n", encoding="utf-8")
    result = run_cli("generate", HD, "--units", units, "--period", "2024", "--out", tmp_path / "out")
    if result.exit_code == 0:
        assert all(SAFE_NAME.match(p.name) for p in (tmp_path / "out").glob("*.xlsx"))
        assert len(list((tmp_path / "out").glob("*.xlsx"))) == 1
    else:
        assert result.exit_code == 1
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.output.startswith("Lỗi:") and "dòng 2" in result.output
