"""`cchc appraise` and the appraisal round trip (issue 6): the council's scores and the province's
survey scores, typed into real workbooks and harvested back with the communes' returns.

Three communes return generated hai-duong-2022 templates of one template set (batch "testbtch"):
Xã Chí Minh (seed 003's scores, self total 75), Xã Thanh Xá (full marks, 76) and Thị trấn Thanh
Miện (74); Xã Tứ Kỳ sends nothing. The harvest of those returns is turned into appraisal
workbooks (by unit and by area) and a survey workbook; a council member fills them with openpyxl
(cells found by their header texts and the STT codes, never by fixed positions) and the office
harvests again with the returns AND the filled workbooks. The appraised totals below are computed
by hand:

- Chí Minh: 1.7 lowered from 2.9 to 2.5 (-0.4); survey II.2 = 11.5, II.3 = 8.25 -> 75 - 0.4 + 19.75 = 94.35
- Thanh Xá: 2.1 lowered from 1 to 0.75 (-0.25); survey 10 and 8 -> 76 - 0.25 + 18 = 93.75
- Thị trấn Thanh Miện: as self-scored; survey 14 and 9.5 -> 74 + 23.5 = 97.5

so the appraisal reverses the self-score order (Thanh Xá 76 > Chí Minh 75 > Thanh Miện 74).
"""

from __future__ import annotations

import json
from datetime import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from cchc_xls.appraise import write_appraisal_workbooks
from cchc_xls.cli import main
from cchc_xls.errors import CchcError
from cchc_xls.generate import Entries, Options, render_template
from cchc_xls.harvest import Harvest
from cchc_xls.layout import MAIN_SHEET
from cchc_xls.pipeline import run_harvest
from cchc_xls.report import write_reports
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

from support import CHI_MINH_EVIDENCE, CHI_MINH_SCORES, header_columns, make_template, rows_by_code

D = Decimal
HD = "hai-duong-2022"
RUBRIC = load_rubric(HD)
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]", re.IGNORECASE)

CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
THANH_MIEN = Unit("30514", "Thị trấn Thanh Miện", "thị trấn")
TU_KY = Unit("30515", "Xã Tứ Kỳ", "xã")  # sends nothing
UNITS = [CHI_MINH, THANH_XA, THANH_MIEN, TU_KY]
SUBMITTED = [CHI_MINH, THANH_XA, THANH_MIEN]
CM, TX, TM, TK = (u.code for u in UNITS)
COMMITTEE = {CM: "UBND xã Chí Minh", TX: "UBND xã Thanh Xá", TM: "UBND thị trấn Thanh Miện", TK: "UBND xã Tứ Kỳ"}

SELF_LEAVES = [n.code for n in RUBRIC.leaves() if n.self_scored]  # the council appraises these
SURVEY_LEAVES = [n.code for n in RUBRIC.leaves() if not n.self_scored]  # the province supplies these
LEAF_MAX = {n.code: n.max for n in RUBRIC.leaves()}
AREAS = [a for a in RUBRIC.areas() if any(leaf.self_scored for leaf in a.leaves())]

SELF = {
    CM: dict(CHI_MINH_SCORES),  # 75
    TX: {code: str(LEAF_MAX[code]) for code in SELF_LEAVES},  # 76
    TM: {**CHI_MINH_SCORES, "1.2": "1"},  # 74
}
SELF_TOTAL = {CM: D(75), TX: D(76), TM: D(74)}

# What the council sets: the self scores except where it disagrees.
APPRAISED = {unit: {code: D(v) for code, v in scores.items()} for unit, scores in SELF.items()}
APPRAISED[CM]["1.7"] = D("2.5")
APPRAISED[TX]["2.1"] = D("0.75")
COMMENTS = {
    CM: {"1.7": "Chưa hoàn thành 01 nhiệm vụ UBND huyện giao; trừ 0,4 điểm",
         "1.1.1": "Kế hoạch số 47/KH-UBND ngày 30/12/2022: đạt"},
    TX: {"2.1": "Chưa triển khai đầy đủ văn bản QPPL mới ban hành"},
    TM: {},
}
SURVEY = {CM: {"II.2": D("11.5"), "II.3": D("8.25")}, TX: {"II.2": D(10), "II.3": D(8)},
          TM: {"II.2": D(14), "II.3": D("9.5")}}
APPRAISAL_TOTAL = {CM: D("94.35"), TX: D("93.75"), TM: D("97.5")}
APPRAISED_ORDER = [TM, CM, TX]  # 97.5, 94.35, 93.75
SELF_ORDER = [TX, CM, TM]  # 76, 75, 74

PROVISIONAL = "Tạm xếp theo điểm tự chấm"


def evidence_for(scores: dict[str, str]) -> tuple[dict, dict]:
    evidence = {c: f"Kế hoạch số {i}/KH-UBND ngày 15/01/2024 (tiêu chí {c})"
                for i, (c, v) in enumerate(scores.items(), start=1) if D(v) > 0}
    evidence.update({c: t for c, t in CHI_MINH_EVIDENCE.items() if c in evidence})
    explanations = {c: f"Chưa hoàn thành đầy đủ nội dung tiêu chí {c}" for c, v in scores.items() if D(v) < LEAF_MAX[c]}
    return evidence, explanations


def entries_for(unit_code: str) -> Entries:
    evidence, explanations = evidence_for(SELF[unit_code])
    return Entries(scores={c: D(v) for c, v in SELF[unit_code].items()}, evidence=evidence, explanations=explanations)


# ---------------------------------------------------------------------------------------------
# Finding things in a workbook as a person does: by the header texts and the STT codes


def _texts(row) -> dict[str, int]:
    return {c.value.strip(): c.column for c in row if isinstance(c.value, str)}


@dataclass
class UnitLayout:
    header: int
    cols: dict[str, int]  # header text -> column
    rows: dict[str, int]  # rubric code -> row

    def ref(self, code: str, header: str = "Điểm thẩm định") -> str:
        return f"{get_column_letter(self.cols[header])}{self.rows[code]}"


def unit_layout(ws) -> UnitLayout:
    for row in ws.iter_rows(min_row=1, max_row=40):
        texts = _texts(row)
        if "STT" in texts and "Điểm thẩm định" in texts:
            header, cols = row[0].row, texts
            break
    else:
        raise AssertionError("header row not found")
    rows = {}
    for r in range(header + 1, ws.max_row + 1):
        value = ws.cell(r, cols["STT"]).value
        if isinstance(value, str) and value.strip() in RUBRIC:
            rows.setdefault(value.strip(), r)
    return UnitLayout(header, cols, rows)


@dataclass
class AreaLayout:
    header: int
    units: dict[str, dict[str, int]]  # unit code -> {"Tự chấm"|"Điểm thẩm định"|"Ý kiến thẩm định": column}
    rows: dict[str, int]

    def ref(self, unit: str, code: str, header: str = "Điểm thẩm định") -> str:
        return f"{get_column_letter(self.units[unit][header])}{self.rows[code]}"


def area_layout(ws) -> AreaLayout:
    for row in ws.iter_rows(min_row=1, max_row=40):
        if "Điểm thẩm định" in _texts(row):
            header = row[0].row
            break
    else:
        raise AssertionError("header row not found")
    units, stt = {}, None
    for cell in ws[header - 1]:
        if not isinstance(cell.value, str):
            continue
        if cell.value == "STT":
            stt = cell.column
        match = re.search(r"\(Mã đơn vị:? (\w+)\)", cell.value)
        if match:
            units[match.group(1)] = {ws.cell(header, c).value: c for c in range(cell.column, cell.column + 3)}
    assert stt is not None
    rows = {}
    for r in range(header + 1, ws.max_row + 1):
        value = ws.cell(r, stt).value
        if isinstance(value, str) and value.strip() in RUBRIC:
            rows.setdefault(value.strip(), r)
    return AreaLayout(header, units, rows)


@dataclass
class SurveyLayout:
    codes: dict[str, int]  # criterion code -> column
    unit_col: int
    rows: dict[str, int]  # unit code -> row

    def ref(self, unit: str, code: str) -> str:
        return f"{get_column_letter(self.codes[code])}{self.rows[unit]}"


def survey_layout(ws) -> SurveyLayout:
    unit_col, codes, code_row = None, {}, None
    for row in ws.iter_rows(min_row=1, max_row=40):
        for cell in row:
            if cell.value == "Mã đơn vị":
                unit_col = cell.column
            if isinstance(cell.value, str) and cell.value in SURVEY_LEAVES:
                codes[cell.value] = cell.column
                code_row = cell.row
    assert unit_col and codes
    rows = {}
    for r in range(code_row + 1, ws.max_row + 1):
        value = ws.cell(r, unit_col).value
        if value not in (None, ""):
            rows[str(value)] = r
    return SurveyLayout(codes, unit_col, rows)


def _type(cell, value) -> None:
    """As typed: a number stays a number, text (e.g. "Đạt") stays text; None leaves the cell blank."""
    cell.value = float(value) if isinstance(value, Decimal) else value


def fill_by_unit(src: Path, dst: Path, scores: dict, comments: dict | None = None) -> Path:
    wb = load_workbook(src)
    ws = wb["Thẩm định"]
    lay = unit_layout(ws)
    for code, value in scores.items():
        _type(ws.cell(lay.rows[code], lay.cols["Điểm thẩm định"]), value)
    for code, text in (comments or {}).items():
        ws.cell(lay.rows[code], lay.cols["Ý kiến thẩm định"]).value = text
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def fill_by_area(src: Path, dst: Path, scores: dict[str, dict], comments: dict[str, dict] | None = None) -> Path:
    wb = load_workbook(src)
    ws = wb["Thẩm định"]
    lay = area_layout(ws)
    for unit, values in scores.items():
        for code, value in values.items():
            _type(ws.cell(lay.rows[code], lay.units[unit]["Điểm thẩm định"]), value)
    for unit, texts in (comments or {}).items():
        for code, text in texts.items():
            ws.cell(lay.rows[code], lay.units[unit]["Ý kiến thẩm định"]).value = text
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def fill_survey(src: Path, dst: Path, scores: dict[str, dict], extra: dict[str, dict] | None = None) -> Path:
    """Survey scores per unit row; `extra` adds rows below (a unit code the council typed)."""
    wb = load_workbook(src)
    ws = wb["Điều tra"]
    lay = survey_layout(ws)
    for unit, values in scores.items():
        for code, value in values.items():
            _type(ws.cell(lay.rows[unit], lay.codes[code]), value)
    row = max(lay.rows.values())
    for unit, values in (extra or {}).items():
        row += 1
        ws.cell(row, lay.unit_col).value = unit
        for code, value in values.items():
            _type(ws.cell(row, lay.codes[code]), value)
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def area_of(code: str) -> str:
    return next(a.code for a in AREAS if code in {leaf.code for leaf in a.leaves()})


def in_area(values: dict, area: str) -> dict:
    return {c: v for c, v in values.items() if area_of(c) == area} if values else {}


def identity_of(path: Path) -> tuple[dict, dict, str]:
    """(custom properties, the very hidden sheet's key/values, its state)."""
    wb = load_workbook(path)
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    meta = wb["_cchc"]
    keys = {r[0].value: r[1].value for r in meta.iter_rows(min_row=1, max_row=20) if isinstance(r[0].value, str)}
    return props, keys, meta.sheet_state


def validation_at(ws, ref: str):
    found = [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]
    assert len(found) == 1, (ref, found)
    return found[0]


def unlocked_cells(ws) -> set[str]:
    return {c.coordinate for row in ws.iter_rows() for c in row
            if hasattr(c, "protection") and c.protection is not None and c.protection.locked is False}


# ---------------------------------------------------------------------------------------------
# The set-up: returns, the first harvest, blank appraisal workbooks


@dataclass
class Setup:
    root: Path
    returns: list[Path]
    harvest_dir: Path
    by_unit: object  # AppraisalOutputs
    by_area: object

    def unit_book(self, unit: str) -> Path:
        [path] = [p for p in self.by_unit.workbooks if f"_{unit}_" in p.name]
        return path

    def area_book(self, area: str) -> Path:
        [path] = [p for p in self.by_area.workbooks if f"linh-vuc-{area.lower()}_" in p.name]
        return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Setup:
    root = tmp_path_factory.mktemp("appraise")
    (root / "returns").mkdir()
    returns = [make_template(root / "returns", unit=u, entries=entries_for(u.code)) for u in SUBMITTED]
    harvest_dir = root / "ket-qua"
    outputs = run_harvest(RUBRIC, returns, UNITS, harvest_dir, workers=1)
    assert [u.self_total for u in outputs.harvest.units] == [SELF_TOTAL[CM], SELF_TOTAL[TX], SELF_TOTAL[TM], None]
    assert outputs.harvest.batch == "testbtch"
    by_unit = write_appraisal_workbooks(harvest_dir, root / "blank-unit", by="unit")
    by_area = write_appraisal_workbooks(harvest_dir, root / "blank-area", by="area")
    return Setup(root, returns, harvest_dir, by_unit, by_area)


@dataclass
class Run:
    out: Path
    data: dict
    harvest: Harvest
    inputs: list[Path]

    def unit(self, code: str) -> dict:
        return next(u for u in self.data["units"] if u["code"] == code)

    def file(self, path: Path) -> dict:
        [found] = [f for f in self.data["files"] if f["path"] == str(path)]
        return found

    def findings(self, path: Path, code: str) -> list[dict]:
        return [f for f in self.file(path)["findings"] if f["code"] == code]

    def one(self, path: Path, code: str) -> dict:
        found = self.findings(path, code)
        assert len(found) == 1, (code, self.file(path)["findings"])
        return found[0]

    def library_findings(self, path: Path, code: str):
        return [f for f in self.harvest.findings() if f.code == code and f.file == str(path)]


def harvest_with(setup: Setup, name: str, *extra: Path) -> Run:
    out = setup.root / name
    inputs = [*setup.returns, *extra]
    outputs = run_harvest(RUBRIC, inputs, UNITS, out, workers=1)
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    return Run(out, data, outputs.harvest, inputs)


def good_unit_books(setup: Setup, folder: str, changes: dict[str, dict] | None = None) -> list[Path]:
    """Every submitted unit's appraisal workbook filled with APPRAISED and COMMENTS (with changes)."""
    paths = []
    for unit in (CM, TX, TM):
        scores = {**APPRAISED[unit], **(changes or {}).get(unit, {})}
        paths.append(fill_by_unit(setup.unit_book(unit), setup.root / folder / setup.unit_book(unit).name,
                                  scores, COMMENTS[unit]))
    return paths


def good_survey(setup: Setup, folder: str, extra: dict | None = None) -> Path:
    return fill_survey(setup.by_unit.survey, setup.root / folder / setup.by_unit.survey.name, SURVEY, extra)


@pytest.fixture(scope="module")
def by_unit(setup) -> Run:
    return harvest_with(setup, "run-by-unit", *good_unit_books(setup, "filled-unit"), good_survey(setup, "filled-unit"))


@pytest.fixture(scope="module")
def by_area(setup) -> Run:
    books = []
    for area in AREAS:
        src = setup.area_book(area.code)
        books.append(fill_by_area(src, setup.root / "filled-area" / src.name,
                                  {u: in_area(APPRAISED[u], area.code) for u in (CM, TX, TM)},
                                  {u: in_area(COMMENTS[u], area.code) for u in (CM, TX, TM)}))
    survey = fill_survey(setup.by_area.survey, setup.root / "filled-area" / setup.by_area.survey.name, SURVEY)
    return harvest_with(setup, "run-by-area", *books, survey)


@pytest.fixture(scope="module")
def survey_only(setup) -> Run:
    return harvest_with(setup, "run-survey-only", good_survey(setup, "filled-survey-only"))


@pytest.fixture(scope="module")
def one_blank(setup) -> Run:
    """Thanh Xá's appraiser leaves 2.1 blank; everything else is appraised."""
    books = good_unit_books(setup, "filled-one-blank", {TX: {"2.1": None}})
    return harvest_with(setup, "run-one-blank", *books, good_survey(setup, "filled-one-blank"))


# ---------------------------------------------------------------------------------------------
# The workbooks as written: identity, locking, validation, formulas, print setup


def test_one_workbook_per_submitted_unit_and_per_area_and_one_survey_workbook(setup):
    assert sorted(p.name for p in setup.by_unit.workbooks) == [
        "tham-dinh_30512_xa-chi-minh_2024.xlsx", "tham-dinh_30513_xa-thanh-xa_2024.xlsx",
        "tham-dinh_30514_thi-tran-thanh-mien_2024.xlsx"]  # Tứ Kỳ sent nothing: nothing to appraise
    assert len(setup.by_area.workbooks) == len(AREAS) == 8  # areas 1-7 and II (II.1 is self-scored)
    assert {p.name for p in setup.by_area.workbooks} == {f"tham-dinh_linh-vuc-{a.code.lower()}_2024.xlsx" for a in AREAS}
    for outputs in (setup.by_unit, setup.by_area):
        assert outputs.survey.name == "dieu-tra_2024.xlsx" and outputs.survey.is_file()
        assert all(p.is_file() for p in outputs.workbooks)
        assert not list(outputs.out_dir.glob("*.part"))


@pytest.mark.parametrize("unit", [CM, TX, TM])
def test_by_unit_identity_in_hidden_sheet_and_custom_properties(setup, unit):
    props, keys, state = identity_of(setup.unit_book(unit))
    assert state == "veryHidden"
    for source in (props, {f"cchc_{k}": v for k, v in keys.items()}):
        assert source["cchc_kind"] == "appraisal-unit"
        assert source["cchc_rubric_id"] == HD
        assert source["cchc_rubric_hash"] == RUBRIC.content_hash
        assert source["cchc_period"] == "2024"
        assert source["cchc_batch"] == "testbtch"
        assert source["cchc_unit_code"] == unit


def test_by_area_and_survey_identity(setup):
    for area in AREAS:
        props, keys, state = identity_of(setup.area_book(area.code))
        assert state == "veryHidden"
        assert props["cchc_kind"] == keys["kind"] == "appraisal-area"
        assert props["cchc_area"] == keys["area"] == area.code
        assert props["cchc_rubric_id"] == keys["rubric_id"] == HD
        assert props["cchc_period"] == keys["period"] == "2024"
        assert props["cchc_batch"] == keys["batch"] == "testbtch"
    props, keys, state = identity_of(setup.by_unit.survey)
    assert state == "veryHidden"
    assert props["cchc_kind"] == keys["kind"] == "survey"
    assert props["cchc_rubric_id"] == keys["rubric_id"] == HD
    assert props["cchc_period"] == keys["period"] == "2024"
    assert props["cchc_batch"] == keys["batch"] == "testbtch"


def test_by_unit_sheet_columns_prefilled_self_scores_and_evidence(setup):
    ws = load_workbook(setup.unit_book(CM))["Thẩm định"]
    lay = unit_layout(ws)
    headers = [ws.cell(lay.header, c).value for c in range(1, 10)]
    assert headers == ["STT", "Lĩnh vực/Tiêu chí", "Điểm tối đa", "Điểm tự đánh giá", "Tài liệu kiểm chứng",
                       "Nội dung giải trình", "Điểm thẩm định", "Kết quả đạt được (%)", "Ý kiến thẩm định"]
    assert [c for c in lay.rows] == [n.code for n in RUBRIC.nodes()]  # every node, in rubric order
    evidence, explanations = evidence_for(SELF[CM])
    for code in SELF_LEAVES:
        row = lay.rows[code]
        assert D(str(ws.cell(row, lay.cols["Điểm tự đánh giá"]).value)) == D(SELF[CM][code]), code
        assert D(str(ws.cell(row, lay.cols["Điểm tối đa"]).value)) == LEAF_MAX[code]
        assert (ws.cell(row, lay.cols["Tài liệu kiểm chứng"]).value or "") == evidence.get(code, "")
        assert (ws.cell(row, lay.cols["Nội dung giải trình"]).value or "") == explanations.get(code, "")
        assert ws.cell(row, lay.cols["Điểm thẩm định"]).value is None
    assert ws.cell(lay.rows["1.1.1"], lay.cols["Tài liệu kiểm chứng"]).value == CHI_MINH_EVIDENCE["1.1.1"]
    assert ws.cell(lay.rows["1"], lay.cols["Điểm tự đánh giá"]).value == pytest.approx(14.9)
    assert ws["A2"].value == "……"  # the office's header (no profile in this harvest: dotted blanks)
    assert "UBND xã Chí Minh" in ws["A4"].value and "30512" in ws["A4"].value


@pytest.mark.parametrize("unit", [CM, TX, TM])
def test_by_unit_only_the_appraisal_and_comment_cells_are_unlocked(setup, unit):
    ws = load_workbook(setup.unit_book(unit))["Thẩm định"]
    lay = unit_layout(ws)
    assert ws.protection.sheet is True
    expected = {lay.ref(code, h) for code in SELF_LEAVES for h in ("Điểm thẩm định", "Ý kiến thẩm định")}
    assert unlocked_cells(ws) == expected
    for code in SELF_LEAVES:
        for header in ("Điểm tự đánh giá", "Tài liệu kiểm chứng", "Nội dung giải trình", "Điểm tối đa", "STT"):
            assert ws[lay.ref(code, header)].protection.locked is True, (code, header)
    for code in SURVEY_LEAVES:  # the province's criteria are not the council's to type
        assert ws[lay.ref(code)].protection.locked is True
        assert ws[lay.ref(code, "Ý kiến thẩm định")].value == "Điểm điều tra do tỉnh cung cấp (nhập ở bảng điều tra)"


def test_by_unit_percent_is_a_formula_and_parents_sum_their_children(setup):
    ws = load_workbook(setup.unit_book(CM))["Thẩm định"]
    lay = unit_layout(ws)
    appraisal, maximum = (get_column_letter(lay.cols[h]) for h in ("Điểm thẩm định", "Điểm tối đa"))
    for node in RUBRIC.nodes():
        row = lay.rows[node.code]
        percent = ws.cell(row, lay.cols["Kết quả đạt được (%)"])
        assert percent.value == f'=IF(OR({appraisal}{row}="",{maximum}{row}=0),"",TRUNC({appraisal}{row}*100/{maximum}{row},2))'  # cut as the reports cut
        assert percent.protection.locked is True
        if not node.is_leaf:
            children = ",".join(f"{appraisal}{lay.rows[c.code]}" for c in node.children)
            assert ws.cell(row, lay.cols["Điểm thẩm định"]).value == f"=SUM({children})"
    total_row = max(lay.rows.values()) + 1
    assert str(ws.cell(total_row, 1).value).startswith("TỔNG ĐIỂM THẨM ĐỊNH")
    roots = ",".join(f"{appraisal}{lay.rows[r.code]}" for r in RUBRIC.roots)
    assert ws.cell(total_row, lay.cols["Điểm thẩm định"]).value == f"=SUM({roots})"


def test_appraisal_cells_carry_the_same_validation_as_the_template_score_cells(setup):
    template = load_workbook(setup.returns[0])[MAIN_SHEET]
    _, tcols = header_columns(template)
    trows = rows_by_code(template)
    ws = load_workbook(setup.unit_book(CM))["Thẩm định"]
    lay = unit_layout(ws)
    for code in SELF_LEAVES:
        mine = validation_at(ws, lay.ref(code))
        theirs = validation_at(template, f"{get_column_letter(tcols['score'])}{trows[code]}")
        assert (mine.type, mine.operator, mine.formula1, mine.formula2, mine.errorStyle) == \
            (theirs.type, theirs.operator, theirs.formula1, theirs.formula2, theirs.errorStyle), code
        assert mine.showErrorMessage and mine.error and code in mine.error
    level = validation_at(ws, lay.ref("1.6.1"))
    assert level.type == "list" and "_cchc" in level.formula1  # the rubric's levels 0 / 0,25
    plain = validation_at(ws, lay.ref("1.7"))
    assert (plain.type, D(plain.formula1), D(plain.formula2)) == ("decimal", 0, 3)


def test_by_unit_print_setup(setup):
    ws = load_workbook(setup.unit_book(CM))["Thẩm định"]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.print_title_rows and ws.print_area
    assert ws.freeze_panes is not None


def test_by_area_layout_locking_and_validation(setup):
    area = "1"
    ws = load_workbook(setup.area_book(area))["Thẩm định"]
    lay = area_layout(ws)
    assert list(lay.units) == [CM, TX, TM]  # communes as columns, in the units' order
    for unit in lay.units:
        assert list(lay.units[unit]) == ["Tự chấm", "Điểm thẩm định", "Ý kiến thẩm định"]
    for cell in ws[lay.header - 1]:
        if isinstance(cell.value, str) and "Mã đơn vị" in cell.value:
            code = re.search(r"Mã đơn vị: (\w+)", cell.value).group(1)
            assert cell.value == f"{COMMITTEE[code]} (Mã đơn vị: {code})"
            merged = [str(r) for r in ws.merged_cells.ranges if cell.coordinate == str(r).split(":")[0]]
            assert merged, cell.coordinate  # one merged header over the three columns
    leaves = [leaf.code for leaf in RUBRIC.node(area).leaves()]
    assert set(lay.rows) == {n.code for n in RUBRIC.node(area).walk()}
    assert ws.protection.sheet is True
    expected = {lay.ref(u, c, h) for u in lay.units for c in leaves for h in ("Điểm thẩm định", "Ý kiến thẩm định")}
    assert unlocked_cells(ws) == expected
    for unit in lay.units:
        for code in leaves:
            self_cell = ws[lay.ref(unit, code, "Tự chấm")]
            assert self_cell.protection.locked is True
            assert D(str(self_cell.value)) == D(SELF[unit][code])
            assert ws[lay.ref(unit, code)].value is None
        assert validation_at(ws, lay.ref(unit, "1.6.1")).type == "list"
        plain = validation_at(ws, lay.ref(unit, "1.7"))
        assert (plain.type, D(plain.formula1), D(plain.formula2)) == ("decimal", 0, 3)


def test_by_area_of_part_ii_locks_the_survey_criteria(setup):
    ws = load_workbook(setup.area_book("II"))["Thẩm định"]
    lay = area_layout(ws)
    assert unlocked_cells(ws) == {lay.ref(u, "II.1", h) for u in lay.units for h in ("Điểm thẩm định", "Ý kiến thẩm định")}
    for unit in lay.units:
        for code in SURVEY_LEAVES:
            assert ws[lay.ref(unit, code)].protection.locked is True


def test_survey_workbook_one_row_per_unit_one_column_per_province_criterion(setup):
    ws = load_workbook(setup.by_unit.survey)["Điều tra"]
    lay = survey_layout(ws)
    assert list(lay.codes) == SURVEY_LEAVES == ["II.2", "II.3"]
    assert list(lay.rows) == [CM, TX, TM, TK]
    assert ws.protection.sheet is True
    assert unlocked_cells(ws) == {lay.ref(u, c) for u in lay.rows for c in SURVEY_LEAVES}
    for unit in lay.rows:
        assert ws.cell(lay.rows[unit], lay.unit_col + 1).value == COMMITTEE[unit]
        for code in SURVEY_LEAVES:
            dv = validation_at(ws, lay.ref(unit, code))
            assert (dv.type, D(dv.formula1), D(dv.formula2)) == ("decimal", 0, LEAF_MAX[code])


# ---------------------------------------------------------------------------------------------
# Harvest with the filled workbooks


def assert_final(run: Run) -> None:
    """What both layouts must give: every appraisal merged, exact totals, the final ranking."""
    assert run.data["appraised"] is True
    for unit in (CM, TX, TM):
        got = run.unit(unit)
        assert got["status"] == "submitted"
        assert got["appraisal"] == {**APPRAISED[unit], **SURVEY[unit]}, unit
        assert got["survey"] == SURVEY[unit]
        assert got["appraisal_comments"] == COMMENTS[unit]
        assert got["appraisal_total"] == APPRAISAL_TOTAL[unit]
        assert got["appraisal_complete"] is True
        assert got["appraisal_missing"] == [] and got["appraisal_conflicts"] == []
        assert got["appraisal_partial_total"] is None
        assert got["self_total"] == SELF_TOTAL[unit]  # the self score is kept as sent
        assert got["note"] == ""
    assert [run.unit(u)["rank"] for u in APPRAISED_ORDER] == [1, 2, 3]
    assert all(run.unit(u)["group"] == "Xuất sắc" for u in APPRAISED_ORDER)
    missing = run.unit(TK)
    assert missing["status"] == "missing" and missing["rank"] is None and missing["appraisal_total"] is None
    for path in run.inputs[len(SUBMITTED):]:
        entry = run.file(path)
        assert entry["status"] == "accepted"
        assert [f["code"] for f in entry["findings"] if f["severity"] != "info"] == []
        assert len(run.findings(path, "appraisal.merged")) == 1


def test_by_unit_appraisal_is_merged_with_exact_totals(by_unit):
    assert_final(by_unit)
    cm = by_unit.unit(CM)
    assert cm["appraisal"]["1.7"] == D("2.5") and cm["scores"]["1.7"] == D("2.9")
    assert cm["appraisal_subtotals"]["1"] == D("14.5") and cm["appraisal_subtotals"]["II"] == D("21.65")
    assert cm["appraisal_comments"]["1.7"] == COMMENTS[CM]["1.7"]
    merged = {Path(f["path"]).name: f for f in by_unit.data["files"]}
    cm_book = merged["tham-dinh_30512_xa-chi-minh_2024.xlsx"]
    assert cm_book["unit_code"] == CM
    info = by_unit.one(Path(cm_book["path"]), "appraisal.merged")
    assert f"{len(SELF_LEAVES)} điểm" in info["message"]


def read_ranking(path: Path) -> tuple[list[tuple], str]:
    ws = load_workbook(path)["Phụ lục II"]
    header = next(r for r in range(1, 15) if ws.cell(r + 1, 3).value == "Điểm tự chấm")
    assert ws.cell(header + 1, 4).value == "Điểm thẩm định"
    rows = []
    for r in range(header + 2, header + 20):
        if not isinstance(ws.cell(r, 1).value, (int, float)):
            break
        rows.append(tuple(ws.cell(r, c).value for c in range(1, 8)))
    texts = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    return rows, texts


def test_by_unit_phu_luc_ii_ranks_by_appraised_totals_and_is_final(by_unit):
    rows, texts = read_ranking(by_unit.out / "phu-luc-ii.xlsx")
    assert [r[1] for r in rows] == [COMMITTEE[u] for u in APPRAISED_ORDER] + [COMMITTEE[TK]]
    assert [D(str(r[3])) for r in rows[:3]] == [APPRAISAL_TOTAL[u] for u in APPRAISED_ORDER]
    assert [D(str(r[2])) for r in rows[:3]] == [SELF_TOTAL[u] for u in APPRAISED_ORDER]
    assert [r[4] for r in rows] == [1, 2, 3, None]
    assert [r[5] for r in rows[:3]] == ["Xuất sắc"] * 3
    assert all(not r[6] for r in rows[:3])
    assert PROVISIONAL not in texts and "Tạm xếp" not in texts
    distribution = " ".join(str(c.value) for row in load_workbook(by_unit.out / "phu-luc-ii.xlsx")["Phân loại"].iter_rows()
                            for c in row if c.value is not None)
    assert "tạm tính" not in distribution


def test_tong_hop_does_not_present_appraised_ranks_as_provisional_self_ranks(by_unit):
    ws = load_workbook(by_unit.out / "tong-hop.xlsx")["Tổng hợp"]
    footer = {row[0].value: [c.value for c in row[3:6]] for row in ws.iter_rows() if isinstance(row[0].value, str)}
    units = [c.value for c in ws[4][3:6]]
    assert units == ["Xã Chí Minh", "Xã Thanh Xá", "Thị trấn Thanh Miện"]
    for label, values in footer.items():
        if label.startswith("Xếp hạng") and "tạm tính" in label:
            assert values == [2, 1, 3], (label, values)  # the self-score order 75, 76, 74
        if label.startswith("Xếp loại") and "tạm tính" in label:
            assert values == ["Khá"] * 3, (label, values)


def test_cli_rank_gives_the_same_order(by_unit, tmp_path):
    result = CliRunner().invoke(main, ["rank", str(by_unit.out), "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout, parse_float=Decimal)
    assert printed["provisional"] is False
    assert [u["code"] for u in printed["units"]] == [*APPRAISED_ORDER, TK]
    assert [u["appraisal_total"] for u in printed["units"]][:3] == [APPRAISAL_TOTAL[u] for u in APPRAISED_ORDER]
    assert [u["rank"] for u in printed["units"]] == [1, 2, 3, None]
    rows, _ = read_ranking(tmp_path / "phu-luc-ii.xlsx")
    assert [r[1] for r in rows] == [COMMITTEE[u] for u in [*APPRAISED_ORDER, TK]]
    text = CliRunner().invoke(main, ["rank", str(by_unit.out), "--out", str(tmp_path / "txt")])
    assert text.exit_code == 0 and "tạm xếp" not in text.stdout.lower()
    assert "94,35" in text.stdout and "97,5" in text.stdout


def test_by_area_gives_the_same_outcome(by_area, by_unit):
    assert_final(by_area)
    for unit in (CM, TX, TM):
        for key in ("appraisal", "appraisal_comments", "survey", "appraisal_total", "appraisal_subtotals", "rank", "group"):
            assert by_area.unit(unit)[key] == by_unit.unit(unit)[key], (unit, key)
    rows, texts = read_ranking(by_area.out / "phu-luc-ii.xlsx")
    assert [r[1] for r in rows[:3]] == [COMMITTEE[u] for u in APPRAISED_ORDER]
    assert [D(str(r[3])) for r in rows[:3]] == [APPRAISAL_TOTAL[u] for u in APPRAISED_ORDER]
    assert PROVISIONAL not in texts
    files = [f for f in by_area.data["files"] if "linh-vuc" in f["path"]]
    assert len(files) == len(AREAS) and all(f["status"] == "accepted" and f["unit_code"] is None for f in files)


def test_survey_alone_leaves_every_unit_incomplete_and_nothing_as_zero(survey_only):
    run = survey_only
    assert run.data["appraised"] is False
    for unit in (CM, TX, TM):
        got = run.unit(unit)
        assert got["appraisal"] == SURVEY[unit] and got["survey"] == SURVEY[unit]
        assert got["appraisal_complete"] is False
        assert got["appraisal_total"] is None  # not 0, not the survey scores alone
        assert got["appraisal_missing"] == SELF_LEAVES
        assert got["appraisal_partial_total"] == sum(SURVEY[unit].values())
        assert got["note"].startswith(f"Chưa thẩm định đủ: còn {len(SELF_LEAVES)} tiêu chí (1.1.1, 1.1.2")
    # provisional: ranked by the self totals, grouped by them (76, 75, 74 are "Khá", not "Yếu")
    assert [run.unit(u)["rank"] for u in SELF_ORDER] == [1, 2, 3]
    assert {run.unit(u)["group"] for u in SELF_ORDER} == {"Khá"}
    rows, texts = read_ranking(run.out / "phu-luc-ii.xlsx")
    assert PROVISIONAL in texts
    assert [r[1] for r in rows] == [COMMITTEE[u] for u in [*SELF_ORDER, TK]]
    assert [r[3] for r in rows] == [None] * 4  # no appraised total shown for anyone
    assert [r[5] for r in rows[:3]] == ["Khá"] * 3
    for row in rows[:3]:
        assert row[6].startswith("Chưa thẩm định đủ") and "tiêu chí" in row[6]
    assert rows[3][6] == "Chưa nộp phiếu tự đánh giá"


def test_one_blank_criterion_keeps_that_unit_incomplete_and_the_ranking_provisional(one_blank):
    run = one_blank
    assert run.data["appraised"] is False
    tx = run.unit(TX)
    assert tx["appraisal_complete"] is False and tx["appraisal_total"] is None
    assert tx["appraisal_missing"] == ["2.1"] and "2.1" not in tx["appraisal"]
    assert tx["appraisal_partial_total"] == D("93")  # 93.75 without the 0.75 of 2.1
    assert tx["note"] == "Chưa thẩm định đủ: còn 1 tiêu chí (2.1)"
    for unit in (CM, TM):
        assert run.unit(unit)["appraisal_complete"] is True
        assert run.unit(unit)["appraisal_total"] == APPRAISAL_TOTAL[unit]
    assert [run.unit(u)["rank"] for u in SELF_ORDER] == [1, 2, 3]  # final only when every unit is complete
    rows, texts = read_ranking(run.out / "phu-luc-ii.xlsx")
    assert PROVISIONAL in texts
    by_name = {r[1]: r for r in rows}
    assert by_name[COMMITTEE[TX]][6] == "Chưa thẩm định đủ: còn 1 tiêu chí (2.1)"
    assert by_name[COMMITTEE[TX]][3] is None
    assert D(str(by_name[COMMITTEE[CM]][3])) == APPRAISAL_TOTAL[CM] and not by_name[COMMITTEE[CM]][6]
    result = CliRunner().invoke(main, ["rank", str(run.out), "--out", str(run.out / "rank"), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["provisional"] is True


# ---------------------------------------------------------------------------------------------
# Bad input


@dataclass
class Bad:
    run: Run
    cm_book: Path  # out of range, off level, not a number
    tx_book: Path  # by unit: 1.7 = 3
    tx_area: Path  # area 1: 1.7 = 2.75 for Thanh Xá (conflict), 1.1.1 = 0.5 (agrees)
    survey: Path  # with a row for the unknown unit XX99


@pytest.fixture(scope="module")
def bad(setup) -> Bad:
    folder = setup.root / "filled-bad"
    cm_book = fill_by_unit(setup.unit_book(CM), folder / "cm-sai.xlsx",
                           {**APPRAISED[CM], "1.1.1": D("0.75"), "1.6.1": D("0.1"), "1.2": "Đạt"}, COMMENTS[CM])
    tx_book = fill_by_unit(setup.unit_book(TX), folder / "tx-theo-don-vi.xlsx", APPRAISED[TX], COMMENTS[TX])
    # Thanh Miện's appraiser types 1.7 as text with a decimal comma (a text-formatted cell): that is a number
    tm_book = fill_by_unit(setup.unit_book(TM), folder / "tm-theo-don-vi.xlsx", {**APPRAISED[TM], "1.7": "2,9"},
                           COMMENTS[TM])
    tx_area = fill_by_area(setup.area_book("1"), folder / "linh-vuc-1.xlsx", {TX: {"1.7": D("2.75"), "1.1.1": D("0.5")}})
    survey = fill_survey(setup.by_unit.survey, folder / "dieu-tra.xlsx", SURVEY, {"XX99": {"II.2": D(12), "II.3": D(9)}})
    return Bad(harvest_with(setup, "run-bad", cm_book, tx_book, tm_book, tx_area, survey), cm_book, tx_book, tx_area, survey)


def assert_located(run: Run, path: Path, code: str, cell: str, *words: str) -> dict:
    finding = run.one(path, code)
    assert finding["severity"] == "error"
    assert finding["sheet"] in ("Thẩm định", "Điều tra")
    assert finding["cell"] == cell
    assert VIETNAMESE.search(finding["message"]), finding["message"]
    for word in words:
        assert word in finding["message"], (word, finding["message"])
    [library] = run.library_findings(path, code)
    assert library.file == str(path) and library.cell == cell
    return finding


def test_score_above_the_maximum_is_a_located_finding_and_not_merged(bad):
    lay = unit_layout(load_workbook(bad.cm_book)["Thẩm định"])
    assert_located(bad.run, bad.cm_book, "appraisal.out_of_range", lay.ref("1.1.1"), "0,75", "1.1.1", "0,5", CM)
    assert "1.1.1" not in bad.run.unit(CM)["appraisal"]


def test_score_off_the_rubric_levels_is_a_located_finding_and_not_merged(bad):
    lay = unit_layout(load_workbook(bad.cm_book)["Thẩm định"])
    assert_located(bad.run, bad.cm_book, "appraisal.off_level", lay.ref("1.6.1"), "0,1", "1.6.1", "0,25")
    assert "1.6.1" not in bad.run.unit(CM)["appraisal"]


def test_text_in_an_appraisal_cell_is_a_located_finding(bad):
    lay = unit_layout(load_workbook(bad.cm_book)["Thẩm định"])
    assert_located(bad.run, bad.cm_book, "appraisal.not_number", lay.ref("1.2"), "Đạt", "1.2")
    assert "1.2" not in bad.run.unit(CM)["appraisal"]


def test_rejected_values_leave_the_unit_incomplete(bad):
    cm = bad.run.unit(CM)
    assert cm["appraisal_missing"] == ["1.1.1", "1.2", "1.6.1"]
    assert cm["appraisal_complete"] is False and cm["appraisal_total"] is None
    assert bad.run.file(bad.cm_book)["status"] == "accepted"  # the other criteria are merged
    assert cm["appraisal"]["1.7"] == D("2.5")
    assert bad.run.data["appraised"] is False


def test_disagreeing_appraisals_are_a_conflict_on_both_files_and_neither_is_merged(bad):
    unit_cell = unit_layout(load_workbook(bad.tx_book)["Thẩm định"]).ref("1.7")
    area_cell = area_layout(load_workbook(bad.tx_area)["Thẩm định"]).ref(TX, "1.7")
    here = assert_located(bad.run, bad.tx_book, "appraisal.conflict", unit_cell, "1.7", TX, "3", "2,75",
                          str(bad.tx_area), area_cell)
    there = assert_located(bad.run, bad.tx_area, "appraisal.conflict", area_cell, "1.7", TX, "2,75",
                           str(bad.tx_book), unit_cell)
    assert here["message"] != there["message"]
    tx = bad.run.unit(TX)
    assert "1.7" not in tx["appraisal"]
    assert tx["appraisal_conflicts"] == ["1.7"]
    assert tx["appraisal_missing"] == ["1.7"]
    assert tx["appraisal_complete"] is False and tx["appraisal_total"] is None


def test_the_same_value_from_two_files_is_not_a_conflict(bad):
    """Both files give Thanh Xá's 1.1.1 as 0,5: merged, and the only conflict is 1.7."""
    tx = bad.run.unit(TX)
    assert tx["appraisal"]["1.1.1"] == D("0.5")
    for path in (bad.tx_book, bad.tx_area):
        conflicts = bad.run.findings(path, "appraisal.conflict")
        assert len(conflicts) == 1 and "1.7" in conflicts[0]["message"] and "1.1.1" not in conflicts[0]["message"]


def test_survey_score_for_an_unknown_unit_is_a_located_error(bad):
    lay = survey_layout(load_workbook(bad.survey)["Điều tra"])
    findings = bad.run.findings(bad.survey, "appraisal.unknown_unit")
    assert {f["cell"] for f in findings} == {lay.ref("XX99", "II.2"), lay.ref("XX99", "II.3")}
    for finding in findings:
        assert finding["severity"] == "error" and "XX99" in finding["message"]
        assert VIETNAMESE.search(finding["message"])
    assert all(u["code"] != "XX99" for u in bad.run.data["units"])
    for unit in (CM, TX, TM):  # the known rows are merged
        assert bad.run.unit(unit)["survey"] == SURVEY[unit]


def test_unaffected_unit_is_complete_and_the_ranking_stays_provisional(bad):
    tm = bad.run.unit(TM)
    assert tm["appraisal_complete"] is True and tm["appraisal_total"] == APPRAISAL_TOTAL[TM]
    assert tm["appraisal"]["1.7"] == D("2.9")  # "2,9" typed as text
    tm_book = next(p for p in bad.run.inputs if p.name == "tm-theo-don-vi.xlsx")
    assert [f["code"] for f in bad.run.file(tm_book)["findings"] if f["severity"] != "info"] == []
    _, texts = read_ranking(bad.run.out / "phu-luc-ii.xlsx")
    assert PROVISIONAL in texts


def test_bad_input_is_listed_in_the_tong_hop_checks_with_file_and_cell(bad):
    ws = load_workbook(bad.run.out / "tong-hop.xlsx")["Kiểm tra"]
    rows = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=5)]
    unit_cell = unit_layout(load_workbook(bad.tx_book)["Thẩm định"]).ref("1.7")
    assert any(r[1] == str(bad.tx_book) and r[3] == unit_cell and r[4] == "Lỗi" and "1.7" in r[5] for r in rows)
    lay = unit_layout(load_workbook(bad.cm_book)["Thẩm định"])
    assert any(r[1] == str(bad.cm_book) and r[2] == "Thẩm định" and r[3] == lay.ref("1.1.1") for r in rows)


@pytest.fixture(scope="module")
def other(setup) -> tuple[Run, Path, Path]:
    """Appraisal workbooks from the harvest of another template set and of another period."""
    root = setup.root / "other"
    (root / "batch").mkdir(parents=True)
    (root / "period").mkdir(parents=True)
    options = Options(office="Phòng Nội vụ thử", deadline="15/12/2024", batch="khacbtch",
                      generated_at="2024-11-01T00:00:00+00:00")
    batch_return = root / "batch" / f"{CM}.xlsx"
    render_template(batch_return, RUBRIC, CHI_MINH, parse_period("2024"), options, entries_for(CM))
    run_harvest(RUBRIC, [batch_return], UNITS, root / "batch-harvest", workers=1)
    batch_books = write_appraisal_workbooks(root / "batch-harvest", root / "batch-books")
    period_return = make_template(root / "period", unit=CHI_MINH, period="2023", entries=entries_for(CM))
    run_harvest(RUBRIC, [period_return], UNITS, root / "period-harvest", workers=1)
    period_books = write_appraisal_workbooks(root / "period-harvest", root / "period-books")
    other_batch = fill_by_unit(batch_books.workbooks[0], root / "filled" / "bo-mau-khac.xlsx", APPRAISED[CM], COMMENTS[CM])
    other_period = fill_by_unit(period_books.workbooks[0], root / "filled" / "ky-khac.xlsx", APPRAISED[CM], COMMENTS[CM])
    assert identity_of(other_batch)[0]["cchc_batch"] == "khacbtch"
    assert identity_of(other_period)[0]["cchc_period"] == "2023"
    return harvest_with(setup, "run-other", other_batch, other_period), other_batch, other_period


def test_workbooks_of_another_harvest_are_rejected_and_nothing_is_merged(other):
    run, other_batch, other_period = other
    for path, detail in ((other_batch, "khacbtch"), (other_period, "2023")):
        entry = run.file(path)
        assert entry["status"] == "rejected"
        assert entry["findings"][0]["code"] == "appraisal.other_harvest"
        message = entry["findings"][0]["message"]
        assert entry["findings"][0]["severity"] == "error"
        assert VIETNAMESE.search(message) and detail in message and "không ghép điểm" in message
        assert not run.findings(path, "appraisal.merged")
    for unit in (CM, TX, TM):
        got = run.unit(unit)
        assert got["appraisal"] == {} and got["appraisal_comments"] == {} and got["appraisal_total"] is None
        assert got["appraisal_complete"] is False
    assert run.data["appraised"] is False
    assert run.data["period"] == "2024" and run.data["batch"] == "testbtch"
    assert [run.unit(u)["rank"] for u in SELF_ORDER] == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# Reports


def docx_lines(path: Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs if p.text.strip()]


def test_commune_report_shows_appraised_figures_and_the_difference_per_area(by_unit, tmp_path):
    reports = write_reports(by_unit.out, tmp_path, unit_code=CM)
    [path] = reports.communes
    assert reports.summary is None
    lines = docx_lines(path)
    area1 = next(line for line in lines if line.startswith("Phần 1. "))
    assert area1.endswith("14,9/15 điểm, đạt 99,33% (điểm thẩm định: 14,5, giảm 0,4 điểm so với tự chấm), gồm:"), area1
    area2 = next(line for line in lines if line.startswith("Phần 2. "))
    assert "(điểm thẩm định: 5, bằng điểm tự chấm)" in area2
    criterion = next(line for line in lines if line.startswith("- 1.7. "))
    assert criterion.endswith("2,9/3 điểm (thẩm định: 2,5)"), criterion
    survey = next(line for line in lines if line.startswith("- II.2. "))
    assert "11,5/14 điểm" in survey and "điều tra" in survey
    assert "Tổng điểm tự chấm: 75 điểm" in " ".join(lines)
    assert any(line.startswith("Tổng điểm thẩm định: 94,35 điểm") for line in lines)
    assert "Xếp loại theo điểm thẩm định: Xuất sắc." in lines


def test_commune_report_difference_of_a_quarter_point(by_unit, tmp_path):
    """Thanh Xá lost 0,25 in area 2 (2.1)."""
    [path] = write_reports(by_unit.out, tmp_path, unit_code=TX).communes
    area2 = next(line for line in docx_lines(path) if line.startswith("Phần 2. "))
    assert "(điểm thẩm định: 4,75, giảm 0,25 điểm so với tự chấm)" in area2


def test_summary_report_says_the_ranking_is_by_the_appraisal_once_final(by_unit, tmp_path):
    reports = write_reports(by_unit.out, tmp_path)
    assert len(reports.communes) == 3
    text = "\n".join(docx_lines(reports.summary))
    assert "Tổng hợp kết quả đánh giá, xếp hạng Chỉ số cải cách hành chính cấp xã" in text
    assert "kết quả thẩm định của Hội đồng thẩm định" in text
    assert "tạm tính" not in text
    assert "Điểm cao nhất: 97,5 điểm (UBND thị trấn Thanh Miện)" in text
    assert "điểm thấp nhất: 93,75 điểm (UBND xã Thanh Xá)" in text
    assert "bình quân: 95,2 điểm" in text  # (97.5 + 94.35 + 93.75) / 3
    assert "Nhóm Xuất sắc: 3 đơn vị (100%)" in text


def test_reports_of_an_incomplete_appraisal_stay_provisional(one_blank, tmp_path):
    reports = write_reports(one_blank.out, tmp_path)
    text = "\n".join(docx_lines(reports.summary))
    assert "tạm tính theo điểm tự chấm" in text and "kết quả thẩm định" not in text
    tx = next(p for p in reports.communes if f"_{TX}_" in p.name)
    lines = docx_lines(tx)
    assert not any(line.startswith("Tổng điểm thẩm định") for line in lines)  # no total from a partial appraisal
    assert "Xếp loại tạm tính theo điểm tự chấm: Khá." in lines
    criterion = next(line for line in lines if line.startswith("- 2.1. "))
    assert "thẩm định" not in criterion  # not yet appraised: no figure
    cm = next(p for p in reports.communes if f"_{CM}_" in p.name)
    assert any(line.startswith("Tổng điểm thẩm định: 94,35 điểm") for line in docx_lines(cm))


BLANK_AS_ZERO = ("BUG: report.py _appraised() prefers UnitRow.appraisal_subtotals, which harvest.py "
                 "_merge_appraisals() computes with compute_totals() over an INCOMPLETE appraisal (criteria not yet "
                 "appraised counted as 0) and consolidate._appraisal_json() writes unconditionally; the commune report "
                 "then prints an appraised figure and a 'giảm … điểm so với tự chấm' for areas whose criteria are "
                 "not yet appraised")


def test_report_shows_no_appraised_area_figure_while_its_criteria_are_not_appraised(survey_only, tmp_path):
    """Only the survey is in: no area of part I has an appraised score yet, so none may be shown."""
    [path] = write_reports(survey_only.out, tmp_path, unit_code=CM).communes
    lines = docx_lines(path)
    area1 = next(line for line in lines if line.startswith("Phần 1. "))
    assert "điểm thẩm định" not in area1, area1  # actual: "(điểm thẩm định: 0, giảm 14,9 điểm so với tự chấm)"
    assert not [line for line in lines if "(thẩm định: 0)" in line]


def test_report_shows_no_appraised_figure_for_an_area_with_one_blank_criterion(one_blank, tmp_path):
    [path] = write_reports(one_blank.out, tmp_path, unit_code=TX).communes
    area2 = next(line for line in docx_lines(path) if line.startswith("Phần 2. "))
    assert "điểm thẩm định" not in area2, area2  # actual: "(điểm thẩm định: 4, giảm 1 điểm so với tự chấm)"


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_appraise_by_area_json_lists_the_files(setup, tmp_path):
    out = tmp_path / "hoi-dong"
    result = CliRunner().invoke(main, ["appraise", str(setup.harvest_dir), "--out", str(out), "--by", "area", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [Path(p).name for p in printed["workbooks"]] == [p.name for p in setup.by_area.workbooks]
    assert all(Path(p).is_file() and Path(p).parent == out for p in printed["workbooks"])
    assert Path(printed["survey"]) == out / "dieu-tra_2024.xlsx" and Path(printed["survey"]).is_file()
    assert identity_of(Path(printed["workbooks"][0]))[0]["cchc_kind"] == "appraisal-area"


def test_cli_appraise_by_unit_is_the_default_and_speaks_vietnamese(setup, tmp_path):
    result = CliRunner().invoke(main, ["appraise", str(setup.harvest_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Đã ghi 3 bảng thẩm định (theo đơn vị)" in result.stdout
    assert sorted(p.name for p in tmp_path.glob("tham-dinh_*.xlsx")) == sorted(p.name for p in setup.by_unit.workbooks)


def test_cli_appraise_without_submitted_units_exits_1_in_vietnamese(setup, tmp_path):
    empty = tmp_path / "trong"
    run_harvest(RUBRIC, [], UNITS, empty, workers=1)
    result = CliRunner().invoke(main, ["appraise", str(empty), "--out", str(tmp_path / "hoi-dong")])
    assert result.exit_code == 1
    message = result.stderr or result.output
    assert message.startswith("Lỗi:") and VIETNAMESE.search(message)
    assert "Chưa có đơn vị nào" in message
    assert not (tmp_path / "hoi-dong").exists() or not list((tmp_path / "hoi-dong").glob("*.xlsx"))
    with pytest.raises(CchcError):
        write_appraisal_workbooks(empty, tmp_path / "lib")


# ---------------------------------------------------------------------------------------------
# Issue 14.8: a corrected council workbook replaces the old one; merge counts are true


def _saved_at(path: Path, when: datetime) -> Path:
    """The workbook re-saved with its own saved time set to `when` (as Excel records it)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    parts["docProps/core.xml"] = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>",
                                        parts["docProps/core.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def test_a_corrected_council_workbook_replaces_the_older_one(setup):
    first = good_unit_books(setup, "sua-cu")
    corrected = good_unit_books(setup, "sua-moi", changes={CM: {"1.7": D("2.75")}})
    for path in first:
        _saved_at(path, datetime(2024, 12, 1, 8, 0))
    for path in corrected:
        _saved_at(path, datetime(2024, 12, 2, 9, 30))
    run = harvest_with(setup, "run-corrected", *first, *corrected, good_survey(setup, "sua-moi"))
    cm = run.unit(CM)
    assert cm["appraisal"]["1.7"] == D("2.75") and cm["appraisal_conflicts"] == []
    old_cm = next(p for p in first if f"_{CM}_" in p.name)
    new_cm = next(p for p in corrected if f"_{CM}_" in p.name)
    assert run.file(old_cm)["status"] == "superseded"
    superseded = run.one(old_cm, "appraisal.superseded")
    assert str(new_cm) in superseded["message"] and "không được ghép" in superseded["message"]
    assert not run.findings(old_cm, "appraisal.merged")
    assert f"{len(SELF_LEAVES)} điểm" in run.one(new_cm, "appraisal.merged")["message"]


def test_two_current_workbooks_that_disagree_say_which_file_to_remove_and_counts_are_true(setup):
    same_time = datetime(2024, 12, 2, 9, 30)
    one = [_saved_at(p, same_time) for p in good_unit_books(setup, "hai-a")]
    other = [_saved_at(p, same_time) for p in good_unit_books(setup, "hai-b", changes={CM: {"1.7": D("2.75")}})]
    run = harvest_with(setup, "run-two-current", *one, *other, good_survey(setup, "hai-b"))
    cm_a = next(p for p in one if f"_{CM}_" in p.name)
    cm_b = next(p for p in other if f"_{CM}_" in p.name)
    assert run.file(cm_a)["status"] == run.file(cm_b)["status"] == "accepted"
    conflict = run.one(cm_a, "appraisal.conflict")
    assert f"xóa tệp đó khỏi thư mục thu (tệp này hoặc “{cm_b}”)" in conflict["message"]
    # 1.7 was merged from neither: the count says one fewer than the workbook's entries
    assert f"Đã ghép {len(SELF_LEAVES) - 1} điểm" in run.one(cm_a, "appraisal.merged")["message"]
    assert f"Đã ghép {len(SELF_LEAVES) - 1} điểm" in run.one(cm_b, "appraisal.merged")["message"]


def test_a_council_workbook_written_after_the_survey_shows_its_scores_in_the_total(setup, by_unit):
    """Issue 14.2: once the survey is merged, the council's total counts it as Phụ lục II does."""
    again = write_appraisal_workbooks(by_unit.out, setup.root / "after-survey", by="unit")
    [book] = [p for p in again.workbooks if f"_{CM}_" in p.name]
    ws = load_workbook(book)["Thẩm định"]
    lay = unit_layout(ws)
    for code in ("II.2", "II.3"):
        assert D(str(ws.cell(lay.rows[code], lay.cols["Điểm thẩm định"]).value)) == by_unit.unit(CM)["survey"][code]
    labels = [str(ws.cell(r, 1).value or "") for r in range(1, ws.max_row + 1)]
    assert "TỔNG ĐIỂM THẨM ĐỊNH" in labels  # no longer "chưa gồm điểm điều tra"
    # harvesting it back merges no council entry for the survey rows (the survey workbook owns them)
    filled = fill_by_unit(book, setup.root / "after-survey-filled" / book.name, APPRAISED[CM], COMMENTS[CM])
    run = harvest_with(setup, "run-after-survey", filled, good_survey(setup, "after-survey-filled"))
    assert run.unit(CM)["appraisal_total"] == by_unit.unit(CM)["appraisal_total"]
    assert run.unit(CM)["appraisal_conflicts"] == []
