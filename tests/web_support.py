"""A small district for the page's tests: three communes on ha-trung-2023, their returns filled
as a clerk would, and the council's workbooks filled as the council would."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from cchc_xls.demo import layout_columns
from cchc_xls.layout import APPRAISAL_SHEET, EXPLANATION_LAYOUT, ROUND2_LAYOUT
from cchc_xls.rubric import load_rubric

from support import fill_workbook

RUBRIC_ID = "ha-trung-2023"
RUBRIC = load_rubric(RUBRIC_ID)
UNITS_CSV = "code,name,kind\nT01,Xã Hà Bắc,xã\nT02,Thị trấn Hà Trung,thị trấn\nT03,Xã Hà Lĩnh,xã\n"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def full_scores(lost: Decimal = Decimal(0)) -> dict[str, Decimal]:
    """Every criterion at its maximum, the first one `lost` points short."""
    scores = {leaf.code: leaf.max for leaf in RUBRIC.scorable()}
    first = RUBRIC.scorable()[0].code
    scores[first] = scores[first] - lost
    return scores


def fill_return(template: Path, out: Path, evidence: str = "Kế hoạch số 12/KH-UBND ngày 05/01/2024",
                lost: Decimal = Decimal(0)) -> Path:
    """A clerk's return: all scores, evidence for each, an explanation where points were lost."""
    scores = full_scores(lost)
    evidence_texts = {code: evidence for code in scores}
    explanations = {RUBRIC.scorable()[0].code: "Chưa ban hành kế hoạch đúng hạn."} if lost else {}
    return fill_workbook(template, scores, evidence_texts, explanations, out=out)


def fill_appraisal(path: Path, cut: Decimal = Decimal("0.5"), comment: str | None = "Kế hoạch ban hành muộn.") -> Path:
    """The council: every appraised score is the maximum, the first criterion `cut` lower (with
    `comment`, when not None)."""
    workbook = load_workbook(path)
    sheet = workbook[APPRAISAL_SHEET]
    header, columns = None, {}
    for row in sheet.iter_rows(min_row=1, max_row=20):
        found = {c.value: c.column for c in row if c.value in ("STT", "Điểm thẩm định", "Ý kiến thẩm định")}
        if "STT" in found and "Điểm thẩm định" in found:
            header, columns = row[0].row, found
            break
    assert header, f"no header in {path}"
    first = RUBRIC.scorable()[0].code
    maxima = {leaf.code: leaf.max for leaf in RUBRIC.scorable()}
    for row in range(header + 1, sheet.max_row + 1):
        code = sheet.cell(row, columns["STT"]).value
        cell = sheet.cell(row, columns["Điểm thẩm định"])
        if code not in maxima or cell.protection.locked:
            continue
        value = maxima[code] - (cut if code == first else 0)
        cell.value = float(value)
        if code == first and comment is not None:
            sheet.cell(row, columns["Ý kiến thẩm định"]).value = comment
    workbook.save(path)
    return path


def fill_explanation(path: Path, out: Path, replies: dict[str, tuple[str, str]]) -> Path:
    """A commune's clerk: the explanation and the supplementary evidence typed beside each
    criterion of `replies` (code -> (explanation, evidence)) in the workbook it received, saved as `out`."""
    workbook = load_workbook(path)
    sheet = workbook[EXPLANATION_LAYOUT.sheets[0]]
    header, columns = layout_columns(sheet, EXPLANATION_LAYOUT, ("code", "reply", "supplement"))
    for row in range(header + 1, sheet.max_row + 1):
        code = sheet.cell(row, columns["code"]).value
        if code in replies:
            assert not sheet.cell(row, columns["reply"]).protection.locked
            sheet.cell(row, columns["reply"]).value, sheet.cell(row, columns["supplement"]).value = replies[code]
    workbook.save(out)
    return out


def fill_round2(path: Path, scores: dict[tuple[str, str], tuple[Decimal, str]]) -> Path:
    """The council's second appraisal: (unit, criterion) -> (score, comment) typed into the unlocked
    cells of a round-2 workbook; the other rows stay blank (round 1's score is kept)."""
    workbook = load_workbook(path)
    sheet = workbook[ROUND2_LAYOUT.sheets[0]]
    header, columns = layout_columns(sheet, ROUND2_LAYOUT, ("unit_code", "code", "round2", "round2_comment"))
    for row in range(header + 1, sheet.max_row + 1):
        key = (sheet.cell(row, columns["unit_code"]).value, sheet.cell(row, columns["code"]).value)
        if key in scores:
            assert not sheet.cell(row, columns["round2"]).protection.locked
            score, comment = scores[key]
            sheet.cell(row, columns["round2"]).value = float(score)
            sheet.cell(row, columns["round2_comment"]).value = comment
    workbook.save(path)
    return path
