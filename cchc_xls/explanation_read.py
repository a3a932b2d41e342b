"""The explanation round, reading: a returned explanation workbook (the commune's giải trình) or
round-2 council workbook -> one value per row, located by the layout the writer used (the header
row by its texts, each criterion by its code), each unreadable value a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from cchc_xls.appraisal_read import read_entry
from cchc_xls.findings import Finding, make
from cchc_xls.layout import (
    EXPLANATION_LAYOUT, GUIDE_SHEET, HEADER_SCAN_ROWS, KIND_EXPLANATION, META_SHEET, ROUND2_LAYOUT, cell_ref,
)
from cchc_xls.read import text_of
from cchc_xls.rubric import Rubric
from cchc_xls.workbook import Book


@dataclass(frozen=True)
class Reply:
    """A commune's explanation of one disputed criterion, with its supplementary evidence."""

    unit: str
    code: str
    text: str
    evidence: str
    file: str
    sheet: str
    cell: str


def _header(sheet, layout, key: str) -> tuple[int, dict[str, int]]:
    """The header row (the one holding the STT and the `key` column's header) and its columns."""
    keys = layout.keys()
    by_row: dict[int, dict[str, int]] = {}
    for (row, col), cell in sheet.cells.items():
        if row <= HEADER_SCAN_ROWS and isinstance(cell.value, str):
            found = keys.get(" ".join(text_of(cell.value).split()))
            if found:
                by_row.setdefault(row, {}).setdefault(found, col)
    for row in sorted(by_row):
        if {"code", key} <= set(by_row[row]):
            return row, by_row[row]
    return 0, {}


def read_later_round(book: Book, identity: dict, rubric: Rubric, file: str) -> tuple[list, list[Finding]]:
    """Every value in a returned explanation workbook (`Reply`s) or round-2 workbook (`Entry`s)."""
    explanation = identity.get("kind") == KIND_EXPLANATION
    layout, key = (EXPLANATION_LAYOUT, "reply") if explanation else (ROUND2_LAYOUT, "round2")
    sheet = next((s for s in book.sheets if s.cells and s.name not in (META_SHEET, GUIDE_SHEET)
                  and s.state == "visible"), None)
    if sheet is None:
        return [], [make("sheet.missing", file=file, name=layout.sheets[0])]
    header_row, columns = _header(sheet, layout, key)
    if not header_row:
        return [], [make("sheet.column_missing", file=file, sheet=sheet.name, header=layout.header(key))]
    entries, findings = [], []
    for row in range(header_row + 1, sheet.max_row + 1):
        code = text_of(sheet.value(row, columns["code"])).rstrip(".")
        if code not in rubric or not rubric.node(code).is_leaf:
            continue
        if explanation:
            text = text_of(sheet.value(row, columns["reply"]))
            evidence = text_of(sheet.value(row, columns["supplement"])) if "supplement" in columns else ""
            if text or evidence:
                entries.append(Reply(identity.get("unit_code", ""), code, text, evidence, file, sheet.name,
                                     cell_ref(row - 1, columns["reply"] - 1)))
            continue
        unit = text_of(sheet.value(row, columns["unit_code"])) if "unit_code" in columns else ""
        unit = unit or identity.get("unit_code", "")
        comment = sheet.value(row, columns["round2_comment"]) if "round2_comment" in columns else None
        read_entry(unit, code, sheet.cells.get((row, columns["round2"])), comment, file, sheet.name,
                   cell_ref(row - 1, columns["round2"] - 1), entries, findings)
    return entries, findings
