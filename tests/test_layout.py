"""layout.py describes every workbook kind; the readers find what the writers wrote.

Each kind that comes back (the template, the appraisal workbooks by unit and by area, the survey
workbook) is generated, read with the tool's own reader, and every column its layout describes
must be found; the open cells are typed into as a person would, and every value must come back.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc_xls.appraise import read_appraisal, write_appraisal_workbooks
from cchc_xls.layout import (
    APPRAISAL_AREA_FIXED, APPRAISAL_AREA_LAYOUT, APPRAISAL_AREA_UNIT_COLUMNS, APPRAISAL_UNIT_LAYOUT, HEADER_SCAN_ROWS,
    KIND_APPRAISAL_AREA, KIND_APPRAISAL_UNIT, KIND_SURVEY, LAYOUTS, SELF_LAYOUT, SURVEY_FIXED, SURVEY_LAYOUT,
    UNIT_COLUMN_LABEL, active_columns,
)
from cchc_xls.pipeline import run_harvest
from cchc_xls.read import Return, find_header, read_return, text_of
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import CHI_MINH_SCORES, make_template

RUBRIC = load_rubric("hai-duong-2022")
UNITS = [Unit("30512", "Xã Chí Minh", "xã"), Unit("30513", "Xã Thanh Xá", "xã")]
SURVEY_LEAVES = [leaf.code for leaf in RUBRIC.leaves() if not leaf.self_scored]


def read(path: Path):
    result = read_return(path, path.read_bytes(), path.name)
    assert isinstance(result, Return), result  # a Finding when the file cannot be read at all
    return result


@pytest.fixture(scope="module")
def harvested(tmp_path_factory):
    root = tmp_path_factory.mktemp("layout")
    (root / "returns").mkdir()
    returns = [make_template(root / "returns", unit=u) for u in UNITS]
    for path in returns:  # scores typed, so the units are counted
        workbook = load_workbook(path)
        sheet = workbook[SELF_LAYOUT.sheets[0]]
        _, cols = find_columns(sheet, SELF_LAYOUT.keys())
        for row in range(1, sheet.max_row + 1):
            code = sheet.cell(row, cols["code"]).value
            if code in CHI_MINH_SCORES:
                sheet.cell(row, cols["score"]).value = float(CHI_MINH_SCORES[code].replace(",", "."))
        workbook.save(path)
    run_harvest(RUBRIC, returns, UNITS, root / "out", workers=1)
    return root, returns


def find_columns(sheet, keys: dict[str, str]) -> tuple[int, dict[str, int]]:
    for row in sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
        found = {keys[c.value]: c.column for c in row if isinstance(c.value, str) and c.value in keys}
        if "code" in found:
            return row[0].row, found
    raise AssertionError("no header row")


def test_every_kind_is_described():
    assert set(LAYOUTS) == {"self", "explanation", "appraisal-round2", "appraisal-unit", "appraisal-area", "survey",
                            "ranking", "tong-hop", "rubric"}
    for layout in LAYOUTS.values():
        assert layout.sheets and layout.columns, layout.name
        keys = [c.key for c in layout.columns]
        assert len(keys) == len(set(keys)), layout.name
    assert [layout.kind for layout in LAYOUTS.values() if layout.read_back and layout.kind] == \
        ["self", "explanation", "appraisal-round2", KIND_APPRAISAL_UNIT, KIND_APPRAISAL_AREA, KIND_SURVEY]


def test_template_columns_found_by_the_reader(tmp_path):
    result = read(make_template(tmp_path))
    assert result.sheet_name == SELF_LAYOUT.sheets[0]
    has_na = any(leaf.may_be_na for leaf in RUBRIC.leaves())
    expected = [c.key for c in active_columns(has_na)]
    assert sorted(result.columns) == sorted(expected)
    # left to right as the layout says
    assert [key for key, _ in sorted(result.columns.items(), key=lambda kv: kv[1])] == expected
    assert set(result.rows) == {n.code for n in RUBRIC.nodes()}
    # on a criterion the commune scores, exactly the columns described as open are unlocked
    sheet = load_workbook(tmp_path / "30512.xlsx")[SELF_LAYOUT.sheets[0]]
    leaf = next(n for n in RUBRIC.leaves() if n.self_scored)
    row = result.rows[leaf.code].row
    assert {c.key: sheet.cell(row, result.columns[c.key]).protection.locked for c in active_columns(has_na)} == \
        {c.key: c.locked for c in active_columns(has_na)}


def test_appraisal_by_unit_columns_found_and_values_read(harvested, tmp_path):
    root, _ = harvested
    outputs = write_appraisal_workbooks(root / "out", tmp_path / "unit", by="unit")
    path = outputs.workbooks[0]
    result = read(path)
    assert result.kind == KIND_APPRAISAL_UNIT
    sheet = result.book.sheet(APPRAISAL_UNIT_LAYOUT.sheets[0])
    header_row, columns = find_header(sheet)
    assert header_row and set(columns) == {c.key for c in APPRAISAL_UNIT_LAYOUT.columns}
    assert [key for key, _ in sorted(columns.items(), key=lambda kv: kv[1])] == [c.key for c in APPRAISAL_UNIT_LAYOUT.columns]
    leaf = next(n for n in RUBRIC.leaves() if n.self_scored)
    ws = load_workbook(path)[APPRAISAL_UNIT_LAYOUT.sheets[0]]
    row = next(r for r in range(header_row + 1, ws.max_row + 1) if ws.cell(r, columns["code"]).value == leaf.code)
    assert {c.key: ws.cell(row, columns[c.key]).protection.locked for c in APPRAISAL_UNIT_LAYOUT.columns} == \
        {c.key: c.locked for c in APPRAISAL_UNIT_LAYOUT.columns}
    # type into every unlocked cell of the open columns, then read back through the reader
    workbook = load_workbook(path)
    ws = workbook[APPRAISAL_UNIT_LAYOUT.sheets[0]]
    typed = {}
    for row in range(header_row + 1, ws.max_row + 1):
        code = ws.cell(row, columns["code"]).value
        cell = ws.cell(row, columns["appraisal"])
        if code and not cell.protection.locked:
            cell.value = 0
            ws.cell(row, columns["comment"]).value = f"ý kiến {code}"
            typed[code] = f"ý kiến {code}"
    assert typed
    workbook.save(path)
    again = read(path)
    entries, findings, _ = read_appraisal(again.book, again.identity, RUBRIC, path.name)
    assert not findings
    assert {e.code: e.comment for e in entries} == typed
    assert all(e.value == Decimal(0) and e.unit == UNITS[0].code for e in entries)


def test_appraisal_by_area_columns_found_and_values_read(harvested, tmp_path):
    root, _ = harvested
    outputs = write_appraisal_workbooks(root / "out", tmp_path / "area", by="area")
    path = outputs.workbooks[0]
    workbook = load_workbook(path)
    ws = workbook[APPRAISAL_AREA_LAYOUT.sheets[0]]
    group_keys = {c.header: c.key for c in APPRAISAL_AREA_UNIT_COLUMNS}
    header_row = next(r for r in range(1, HEADER_SCAN_ROWS)
                      if ws.cell(r, len(APPRAISAL_AREA_FIXED) + 2).value == APPRAISAL_AREA_LAYOUT.header("appraisal"))
    fixed = [ws.cell(header_row - 1, i + 1).value for i in range(len(APPRAISAL_AREA_FIXED))]
    assert fixed == [c.header for c in APPRAISAL_AREA_FIXED]
    groups = {}
    for col in range(len(APPRAISAL_AREA_FIXED) + 1, ws.max_column + 1):
        key = group_keys.get(ws.cell(header_row, col).value)
        owner = ws.cell(header_row - 1, col - [c.key for c in APPRAISAL_AREA_UNIT_COLUMNS].index(key)).value
        groups.setdefault(text_of(owner).rsplit(UNIT_COLUMN_LABEL, 1)[1].strip(" )"), {})[key] = col
    assert set(groups) == {u.code for u in UNITS}
    assert all(set(cols) == set(group_keys.values()) for cols in groups.values())
    leaf_row = next(r for r in range(header_row + 1, ws.max_row + 1)
                    if ws.cell(r, 1).value in {n.code for n in RUBRIC.leaves() if n.self_scored})
    for cols in groups.values():
        assert {c.key: ws.cell(leaf_row, cols[c.key]).protection.locked for c in APPRAISAL_AREA_UNIT_COLUMNS} == \
            {c.key: c.locked for c in APPRAISAL_AREA_UNIT_COLUMNS}
    typed = set()
    for row in range(header_row + 1, ws.max_row + 1):
        code = ws.cell(row, 1).value
        for unit, cols in groups.items():
            cell = ws.cell(row, cols["appraisal"])
            if code and not cell.protection.locked:
                cell.value = 0
                ws.cell(row, cols["comment"]).value = "đạt"
                typed.add((unit, code))
    assert typed
    workbook.save(path)
    result = read(path)
    entries, findings, _ = read_appraisal(result.book, result.identity, RUBRIC, path.name)
    assert not findings
    assert {(e.unit, e.code) for e in entries} == typed
    assert all(e.comment == "đạt" for e in entries)


def test_survey_columns_found_and_values_read(harvested, tmp_path):
    root, _ = harvested
    outputs = write_appraisal_workbooks(root / "out", tmp_path / "survey", by="unit")
    path = outputs.survey
    workbook = load_workbook(path)
    ws = workbook[SURVEY_LAYOUT.sheets[0]]
    labels = next(r for r in range(1, HEADER_SCAN_ROWS) if ws.cell(r, 1).value == SURVEY_FIXED[0].header)
    assert [ws.cell(labels, i + 1).value for i in range(len(SURVEY_FIXED))] == [c.header for c in SURVEY_FIXED]
    codes = {ws.cell(labels + 1, col).value: col for col in range(len(SURVEY_FIXED) + 1, ws.max_column + 1)}
    assert list(codes) == SURVEY_LEAVES
    for row in range(labels + 2, ws.max_row + 1):
        if ws.cell(row, 2).value:
            for col in codes.values():
                ws.cell(row, col).value = 1
    workbook.save(path)
    result = read(path)
    entries, findings, _ = read_appraisal(result.book, result.identity, RUBRIC, path.name)
    assert not findings
    assert {(e.unit, e.code) for e in entries} == {(u.code, code) for u in UNITS for code in SURVEY_LEAVES}
