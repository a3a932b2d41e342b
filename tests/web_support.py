"""A small district for the page's tests: three communes on ha-trung-2023, their returns filled
as a clerk would, and the council's workbooks filled as the council would."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from cchc_xls.layout import APPRAISAL_SHEET
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


def fill_appraisal(path: Path, cut: Decimal = Decimal("0.5")) -> Path:
    """The council: every appraised score is the maximum, the first criterion `cut` lower."""
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
        if code == first:
            sheet.cell(row, columns["Ý kiến thẩm định"]).value = "Kế hoạch ban hành muộn."
    workbook.save(path)
    return path
