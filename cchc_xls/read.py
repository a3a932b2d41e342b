"""One returned file -> a Return: its identity, and every criterion row found by its code.

Nothing here judges the values: it only locates them (check.py judges). Rows are found by the
code in the STT column and columns by their header texts, never by fixed positions, so rows
inserted, deleted or moved cannot shift a score onto the wrong criterion.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cchc_xls.findings import Finding, make
from cchc_xls.layout import (
    GUIDE_SHEET, KIND_SELF, HEADER_KEYS, IDENTITY_KEYS, MAIN_SHEET, META_SHEET, PROPERTY_PREFIX, UNIT_CODE_LABEL, cell_ref, parse_identity_line,
)
from cchc_xls.workbook import SPREADSHEET_SUFFIXES, Book, Cell, Sheet, WorkbookError, open_book
from cchc_xls.layout import HEADER_SCAN_ROWS  # the one scan limit every reader shares (kept importable here)

# SPREADSHEET_SUFFIXES (workbook.py reads exactly these formats) is re-exported here as the one
# list of file names read as returns, for the harvest and the reader alike.
__all__ = ["SPREADSHEET_SUFFIXES", "HEADER_SCAN_ROWS", "Return", "Row", "read_return", "find_header", "text_of"]
_UNIT_CODE_RE = re.compile(re.escape(UNIT_CODE_LABEL.rstrip(":")) + r"\s*:?\s*([A-Za-z0-9._-]+)", re.IGNORECASE)
# Tree codes (I, 1.1, II.2) and bonus/penalty item codes (T.1, TR.2: letters, then a dotted part)
_CODE_LIKE = re.compile(r"^(?:(?:[IVXLC]+|\d+)(?:\.[0-9A-Za-z]+)*|[A-Z]{1,4}(?:\.[0-9A-Za-z]+)+)\.?$")


@dataclass
class Row:
    """One criterion row as found in the file (1-based Excel row)."""

    code: str
    row: int
    label: object = None
    max: object = None
    score: Cell | None = None
    na: object = None
    evidence: object = None
    explanation: object = None
    appraisal: Cell | None = None  # appraisal workbooks by unit
    comment: object = None


@dataclass
class Return:
    """A returned workbook, located but not yet judged."""

    file: str  # the name shown in findings
    format: str
    identity: dict = field(default_factory=dict)
    identity_source: str = ""
    sheet_name: str = ""
    columns: dict[str, int] = field(default_factory=dict)  # column key -> 1-based column
    header_row: int = 0
    rows: dict[str, Row] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # codes in file order
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    unknown_codes: list[tuple[str, int]] = field(default_factory=list)
    total_cells: list[tuple[int, Cell, str]] = field(default_factory=list)  # (row, score cell, row label) below the table
    protected: bool | None = None
    formulas_known: bool = True
    modified: datetime | None = None
    has_macros: bool = False
    book: Book | None = None  # kept for appraisal and survey workbooks, read by appraise.py
    findings: list[Finding] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.identity.get("kind") or KIND_SELF

    def col_letter_ref(self, key: str, row: int) -> str | None:
        if key not in self.columns:
            return None
        return cell_ref(row - 1, self.columns[key] - 1)


def text_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFC", str(value)).strip()


def _wanted(name: str, state: str) -> bool:
    # The table sheet, the identity sheet, and any visible sheet (a renamed table sheet) except
    # the instructions, which hold nothing to read.
    return name != GUIDE_SHEET and (name in (MAIN_SHEET, META_SHEET) or state == "visible")


def read_return(path: Path, data: bytes, display_name: str) -> Return | Finding:
    """Locate everything in one returned file; a Finding when it cannot be read at all.

    Sheets are parsed as they are looked at, so a WorkbookError can come from any step: all of
    them are inside this one guard."""
    try:
        book = open_book(path, data, _wanted, lazy=True)
        result = _locate(book, display_name)
        if result.book is not None:
            book.load_all()  # appraise.py reads it later, outside this guard
    except WorkbookError as exc:
        return make(exc.code, file=display_name, **exc.params)
    for code, params in book.notes:
        result.findings.append(make(code, file=display_name, **params))
    return result


def _locate(book: Book, display_name: str) -> Return:
    result = Return(file=display_name, format=book.format, formulas_known=book.formulas_known,
                    modified=book.modified, has_macros=book.has_macros)
    if book.default_encryption:
        result.findings.append(make("file.encrypted_default", file=display_name))
    _read_identity(book, result)
    if not result.identity:
        _identity_line_anywhere(book, result)
    if result.kind != KIND_SELF:
        result.book = book  # an appraisal or survey workbook: appraise.py reads it
        return result
    sheet, header_row, columns = _find_table(book)
    if sheet is None:
        result.findings.append(make("sheet.missing", file=display_name, name=MAIN_SHEET))
        return result
    if sheet.name != MAIN_SHEET:
        result.findings.append(make("sheet.renamed", file=display_name, sheet=sheet.name, name=sheet.name, expected=MAIN_SHEET))
    result.sheet_name = sheet.name
    result.columns = columns
    result.header_row = header_row
    result.protected = sheet.protected
    _read_rows(sheet, result)
    if not result.identity.get("unit_code"):
        _identity_from_visible(sheet, result)
    return result


def _read_identity(book: Book, result: Return) -> None:
    """Identity from the custom properties, else the very hidden sheet (as LibreOffice keeps it)."""
    props = {k[len(PROPERTY_PREFIX):]: v for k, v in book.properties.items() if k.startswith(PROPERTY_PREFIX)}
    meta = book.sheet(META_SHEET)
    from_sheet = {}
    if meta is not None and meta.cells:
        for (row, col), cell in meta.cells.items():
            if col == 1 and isinstance(cell.value, str) and cell.value in IDENTITY_KEYS:
                value = meta.value(row, 2)
                if value is not None:
                    from_sheet[cell.value] = text_of(value)
        if meta.state == "hidden":
            result.findings.append(make("identity.hidden_sheet_state", file=result.file, sheet=META_SHEET))
    if props.get("unit_code") or props.get("rubric_id"):
        result.identity = {k: text_of(v) for k, v in props.items() if k in IDENTITY_KEYS}
        result.identity_source = "thuộc tính tệp"
        conflicts = [f"{k}: {from_sheet[k]} ≠ {result.identity[k]}" for k in ("unit_code", "period", "rubric_id")
                     if from_sheet.get(k) and result.identity.get(k) and from_sheet[k] != result.identity[k]]
        if conflicts:
            result.findings.append(make("identity.conflict", file=result.file, detail="; ".join(conflicts)))
    elif from_sheet.get("unit_code") or from_sheet.get("rubric_id"):
        result.identity = from_sheet
        result.identity_source = "trang nhận diện"


def _identity_line_anywhere(book: Book, result: Return) -> None:
    """A workbook other than a self-assessment, copied into a new file: its visible identity line."""
    for sheet in book.sheets:
        for cell in sheet.cells.values():
            if isinstance(cell.value, str) and "CCHC[" in cell.value:
                identity = parse_identity_line(cell.value)
                if identity.get("kind") and identity["kind"] != KIND_SELF:
                    result.identity = identity
                    result.identity_source = "dòng mã nhận diện trên trang"
                    result.findings.append(make("identity.missing", file=result.file, sheet=sheet.name,
                                                source=result.identity_source))
                    return


def _identity_from_visible(sheet: Sheet, result: Return) -> None:
    """Fallbacks for a sheet copied into a new workbook: the identity line, then the unit code."""
    line_identity, code = {}, None
    for (row, col), cell in sorted(sheet.cells.items()):
        if not isinstance(cell.value, str):
            continue
        if not line_identity and "CCHC[" in cell.value:
            line_identity = parse_identity_line(cell.value)
        if code is None and row <= result.header_row:
            match = _UNIT_CODE_RE.search(cell.value)
            if match:
                code = match.group(1)
    if line_identity.get("unit_code"):
        result.identity = line_identity
        result.identity_source = "dòng mã nhận diện trên trang"
    elif code:
        result.identity = {"unit_code": code}
        result.identity_source = "mã đơn vị ở đầu trang"
    if result.identity:
        result.findings.append(make("identity.missing", file=result.file, sheet=sheet.name, source=result.identity_source))


def _find_table(book: Book) -> tuple[Sheet | None, int, dict[str, int]]:
    candidates = sorted(book.sheets, key=lambda s: (s.name != MAIN_SHEET, s.state != "visible"))
    for sheet in candidates:
        if not sheet.cells or sheet.name == META_SHEET:
            continue
        header_row, columns = find_header(sheet)
        if header_row:
            return sheet, header_row, columns
    return None, 0, {}


def find_header(sheet: Sheet) -> tuple[int, dict[str, int]]:
    """The header row (by its texts, never a fixed row) and each known column's index."""
    by_row: dict[int, dict[str, int]] = {}
    for (row, col), cell in sheet.cells.items():
        if row > HEADER_SCAN_ROWS or not isinstance(cell.value, str):
            continue
        key = HEADER_KEYS.get(" ".join(text_of(cell.value).split()))
        if key:
            by_row.setdefault(row, {}).setdefault(key, col)
    for row in sorted(by_row):
        if {"code", "score"} <= set(by_row[row]):
            return row, by_row[row]
    return 0, {}


def _read_rows(sheet: Sheet, result: Return) -> None:
    columns = result.columns
    code_col = columns["code"]
    last_row = sheet.max_row
    cells = sheet.cells  # parsed by max_row above: one dict for every lookup below
    for row in range(result.header_row + 1, last_row + 1):
        raw = sheet.value(row, code_col)
        code = text_of(raw).rstrip(".") if raw is not None else ""
        if not code:
            continue
        if isinstance(raw, float):  # "1.1" typed into a cell that was re-typed as a number
            code = text_of(raw)
        if not _CODE_LIKE.match(code):
            continue
        if code in result.rows:
            result.duplicates.setdefault(code, [result.rows[code].row]).append(row)
            continue
        found = Row(code=code, row=row)
        for key in ("label", "max", "na", "evidence", "explanation"):
            if key in columns:
                setattr(found, key, sheet.value(row, columns[key]))
        found.score = cells.get((row, columns["score"]))
        if "appraisal" in columns:
            found.appraisal = cells.get((row, columns["appraisal"]))
        if "comment" in columns:
            found.comment = sheet.value(row, columns["comment"])
        result.rows[code] = found
        result.order.append(code)
    # Cells in the score column below the last criterion: the file's own totals.
    last_code_row = max((r.row for r in result.rows.values()), default=result.header_row)
    for row in range(last_code_row + 1, last_row + 1):
        cell = cells.get((row, columns["score"]))
        if cell is not None:
            label = " ".join(text_of(sheet.value(row, col)) for col in range(1, columns["score"]))
            result.total_cells.append((row, cell, label))
