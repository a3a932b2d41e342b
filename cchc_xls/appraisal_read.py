"""Appraisal, reading: the values in a returned appraisal or survey workbook, located by the
same layout the writer used; each value an `Entry`, each unreadable one a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from cchc_xls.findings import Finding, make
from cchc_xls.layout import (
    APPRAISAL_AREA_LAYOUT, APPRAISAL_SHEET, APPRAISAL_UNIT_LAYOUT, HEADER_SCAN_ROWS, KIND_APPRAISAL_AREA, KIND_SURVEY,
    META_SHEET, SURVEY_LAYOUT, UNIT_COLUMN_LABEL, cell_ref,
)
from cchc_xls.numbers import read_decimal
from cchc_xls.read import find_header, text_of
from cchc_xls.rubric import Rubric
from cchc_xls.workbook import Book, Cell

_UNIT_RE = re.compile(re.escape(UNIT_COLUMN_LABEL.rstrip(":")) + r"\s*:?\s*([A-Za-z0-9._-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One value from an appraisal or survey workbook."""

    unit: str
    code: str
    value: Decimal | None
    comment: str
    file: str
    sheet: str
    cell: str


def _cell_value(cell: Cell | None) -> tuple[Decimal | None, str | None]:
    """A number as typed (numbers, or text with a decimal comma); (None, problem) otherwise."""
    if cell is None or cell.value is None:
        return None, None
    value = cell.value
    if isinstance(value, bool) or cell.is_date:
        return None, text_of(value)
    text = text_of(value)
    if not text:
        return None, None
    parsed = read_decimal(value)
    return (parsed, None) if parsed is not None else (None, text)


def read_appraisal(book: Book, identity: dict, rubric: Rubric, file: str) -> tuple[list[Entry], list[Finding], str]:
    """Every value in a returned appraisal or survey workbook, with findings; and the sheet read."""
    kind = identity.get("kind")
    sheet = next((s for s in book.sheets if s.cells and s.name != META_SHEET and s.state == "visible"), None)
    if sheet is None:
        return [], [make("sheet.missing", file=file, name=APPRAISAL_SHEET)], ""
    if kind == KIND_SURVEY:
        return *_read_survey(sheet, rubric, file), sheet.name
    if kind == KIND_APPRAISAL_AREA:
        return *_read_by_area(sheet, rubric, file), sheet.name
    return *_read_by_unit(sheet, identity, rubric, file), sheet.name


def read_entry(unit: str, code: str, cell: Cell | None, comment, file: str, sheet: str, ref: str,
               entries: list, findings: list) -> None:
    """Read one score cell (and its comment) of a returned council workbook: an `Entry` appended
    to `entries` when it holds a number or a comment, an `appraisal.not_number` finding at `ref`
    appended to `findings` when it holds something that is no number. Shared by the round-1
    reader here and the round-2 reader (explanation_read.py)."""
    value, problem = _cell_value(cell)
    if problem is not None:
        findings.append(make("appraisal.not_number", file=file, sheet=sheet, cell=ref, node=code, code=code,
                             unit=unit, value=problem[:60]))
        return
    text = text_of(comment)
    if value is not None or text:
        entries.append(Entry(unit, code, value, text, file, sheet, ref))


def _read_by_unit(sheet, identity: dict, rubric: Rubric, file: str):
    entries, findings = [], []
    header_row, columns = find_header(sheet)
    if not header_row or "appraisal" not in columns:
        return [], [make("sheet.column_missing", file=file, sheet=sheet.name,
                         header=APPRAISAL_UNIT_LAYOUT.header("appraisal"))]
    unit = identity.get("unit_code", "")
    for row in range(header_row + 1, sheet.max_row + 1):
        code = text_of(sheet.value(row, columns["code"])).rstrip(".")
        if code not in rubric or not rubric.node(code).is_leaf:
            continue
        ref = cell_ref(row - 1, columns["appraisal"] - 1)
        comment = sheet.value(row, columns["comment"]) if "comment" in columns else None
        if text_of(comment) in (APPRAISAL_UNIT_LAYOUT.texts["survey_note"], APPRAISAL_UNIT_LAYOUT.texts["na"]):
            continue  # a locked row the council does not score: its figure is the survey's (or N/A)
        read_entry(unit, code, sheet.cells.get((row, columns["appraisal"])), comment, file, sheet.name, ref,
                   entries, findings)
    return entries, findings


def _read_by_area(sheet, rubric: Rubric, file: str):
    entries, findings = [], []
    layout = APPRAISAL_AREA_LAYOUT
    appraisal_header, comment_header = layout.header("appraisal"), layout.header("comment")
    header_row = 0
    for (row, col), cell in sorted(sheet.cells.items()):
        if row <= HEADER_SCAN_ROWS and text_of(cell.value) == appraisal_header:
            header_row = row
            break
    if not header_row:
        return [], [make("sheet.column_missing", file=file, sheet=sheet.name, header=appraisal_header)]
    code_col = next((c for (r, c), cell in sheet.cells.items() if r in (header_row, header_row - 1)
                     and text_of(cell.value) == layout.header("code")), 1)
    units_at = sorted((c, m.group(1)) for (r, c), cell in sheet.cells.items()
                      if r == header_row - 1 and (m := _UNIT_RE.search(text_of(cell.value))))
    appraisal_cols = sorted(c for (r, c), cell in sheet.cells.items()
                            if r == header_row and text_of(cell.value) == appraisal_header)
    comment_cols = sorted(c for (r, c), cell in sheet.cells.items()
                          if r == header_row and text_of(cell.value) == comment_header)
    for col in appraisal_cols:
        owner = [code for c, code in units_at if c <= col]
        if not owner:
            continue
        unit = owner[-1]
        comment_col = next((c for c in comment_cols if c > col), None)
        for row in range(header_row + 1, sheet.max_row + 1):
            code = text_of(sheet.value(row, code_col)).rstrip(".")
            if code not in rubric or not rubric.node(code).is_leaf:
                continue
            comment = sheet.value(row, comment_col) if comment_col else None
            if text_of(comment) in (layout.texts["survey_note"], layout.texts["na"]):
                comment = None
            read_entry(unit, code, sheet.cells.get((row, col)), comment, file, sheet.name,
                       cell_ref(row - 1, col - 1), entries, findings)
    return entries, findings


def _read_survey(sheet, rubric: Rubric, file: str):
    entries, findings = [], []
    header_row, unit_col, code_cols = 0, 0, {}
    unit_header = SURVEY_LAYOUT.header("unit_code")
    for (row, col), cell in sorted(sheet.cells.items()):
        if row > HEADER_SCAN_ROWS:
            break
        text = text_of(cell.value)
        if text == unit_header:
            unit_col = col
        if text in rubric and rubric.node(text).is_leaf and not rubric.node(text).self_scored:
            header_row = row
            code_cols[col] = text
    if not header_row or not unit_col:
        return [], [make("sheet.column_missing", file=file, sheet=sheet.name, header=unit_header)]
    for row in range(header_row + 1, sheet.max_row + 1):
        unit = text_of(sheet.value(row, unit_col))
        if not unit:
            continue
        for col, code in code_cols.items():
            read_entry(unit, code, sheet.cells.get((row, col)), None, file, sheet.name,
                       cell_ref(row - 1, col - 1), entries, findings)
    return entries, findings
