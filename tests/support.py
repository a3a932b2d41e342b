"""Shared test helpers: generate real templates, fill them as a person would, run LibreOffice."""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc_xls.generate import Options, render_template
from cchc_xls.layout import HEADER_SCAN_ROWS, HEADERS, MAIN_SHEET
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

# Xã Chí Minh (seed 003), six-month 2023 table on hai-duong-2022: every leaf's self score.
CHI_MINH_SCORES = {
    "1.1.1": "0.5", "1.1.2": "1", "1.1.3": "1", "1.2": "2", "1.3.1": "1", "1.3.2": "1",
    "1.4.1": "1", "1.4.2": "1", "1.5.1": "0.5", "1.5.2": "2", "1.6.1": "0.25", "1.6.2": "0.25",
    "1.6.3": "0.5", "1.7": "2.9",
    "2.1": "1", "2.2.1": "0.5", "2.2.2": "0.5", "2.2.3": "1", "2.2.4": "1", "2.3.1": "0.5", "2.3.2": "0.5",
    "3.1.1": "1", "3.1.2": "1", "3.1.3": "1", "3.2.1": "1", "3.2.2": "1", "3.2.3": "1",
    "3.3.1": "1", "3.3.2": "0.5", "3.3.3": "1", "3.3.4": "1", "3.4.1": "0.5", "3.4.2": "0.5",
    "3.5.1": "1", "3.5.2": "0.5", "3.5.3": "0.5", "3.5.4": "1", "3.5.5": "1",
    "3.6.1": "0.75", "3.6.2": "0.75", "3.6.3": "0.5", "3.6.4": "0.5", "3.7.1": "1", "3.7.2": "0.5",
    "4.1.1": "1", "4.1.2": "0.5", "4.1.3": "0.5", "4.2": "2", "4.3": "1", "4.4": "1",
    "5.1": "1", "5.2": "2", "5.3.1": "1", "5.3.2": "2", "5.3.3": "1", "5.4.1": "2", "5.4.2": "2",
    "6.1.1": "0.8", "6.1.2": "1", "6.1.3": "1", "6.2": "1", "6.3": "1", "6.4": "1", "6.5": "1",
    "7.1.1": "1", "7.1.2": "1", "7.1.3": "1", "7.1.4": "1", "7.1.5": "1", "7.1.6": "0.9", "7.1.7": "0.5",
    "7.2.1": "1.5", "7.2.2": "3",
    "II.1": "1.9",
}
CHI_MINH_EVIDENCE = {
    "1.1.1": "UBND xã đã ban hành kế hoạch số 47/KH-UBND ngày 30/12/2022",
    "1.2": "Công văn số 271/UBND-NV ngày 15/3/2023 về thực hiện chế độ báo cáo CCHC định kỳ",
    "6.1.1": "Nguồn vốn từ thu tiền sử dụng đất chưa đạt theo kế hoạch đầu năm",
}

# Xã Hà Bắc (seed 001) on ha-trung-2023: every criterion's self score; total 94.5.
HA_BAC_SCORES = {
    "1.1": "4", "1.2": "4", "1.3": "2", "1.4": "1", "1.5": "0", "1.6": "2", "1.7": "2",
    "2.1": "1", "2.2": "7", "2.3": "3",
    "3.1": "3", "3.2": "2", "3.3": "2", "3.4": "4", "3.5": "3", "3.6": "1", "3.7": "1", "3.8": "1", "3.9": "1",
    "4.1": "5", "4.2": "2", "4.3": "2", "4.4": "2",
    "5.1": "1", "5.2": "4", "5.3": "2", "5.4": "3", "5.5": "2",
    "6.1": "6", "6.2": "2", "6.3": "1", "6.4": "1", "6.5": "2",
    "7.1": "3", "7.2": "2.5", "7.3": "2", "7.4": "4", "7.5": "1", "7.6": "1", "7.7": "2",
}

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def needs_libreoffice():
    """Skip without LibreOffice, except in CI (CI=true), where its absence is a failure."""
    if SOFFICE:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("LibreOffice (soffice) is required in CI: .ci/run installs libreoffice-calc-nogui")
    pytest.skip("LibreOffice is not installed")


def make_template(tmp_path: Path, rubric_id="hai-duong-2022", unit=None, period="2024", password="", entries=None,
                  name=None) -> Path:
    rubric = load_rubric(rubric_id)
    unit = unit or Unit("30512", "Xã Chí Minh", "xã")
    path = tmp_path / (name or f"{unit.code}.xlsx")
    options = Options(office="Phòng Nội vụ thử", deadline="15/12/2024", password=password, batch="testbtch",
                      generated_at="2024-11-01T00:00:00+00:00")
    render_template(path, rubric, unit, parse_period(period), options, entries)
    return path


def header_columns(sheet) -> tuple[int, dict[str, int]]:
    """(header row, {column key: column index}) found by the header texts, as the reader does."""
    wanted = {text: key for key, text in HEADERS.items()}
    for row in sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
        found = {wanted[c.value]: c.column for c in row if isinstance(c.value, str) and c.value in wanted}
        if "code" in found and "score" in found:
            return row[0].row, found
    raise AssertionError("header row not found")


def rows_by_code(sheet) -> dict[str, int]:
    header_row, cols = header_columns(sheet)
    result = {}
    for row in range(header_row + 1, sheet.max_row + 1):
        value = sheet.cell(row, cols["code"]).value
        if isinstance(value, str) and value.strip():
            result.setdefault(value.strip(), row)
    return result


def fill_workbook(path: Path, scores: dict, evidence: dict | None = None, explanations: dict | None = None,
                  na: dict | None = None, out: Path | None = None) -> Path:
    """Type scores into the unlocked cells found by code, as a person would, and save.

    A str score is typed as text (e.g. "2,5" in a text-formatted cell); Decimal/int/float as a number.
    """
    workbook = load_workbook(path)
    sheet = workbook[MAIN_SHEET]
    _, cols = header_columns(sheet)
    rows = rows_by_code(sheet)
    for code, value in scores.items():
        cell = sheet.cell(rows[code], cols["score"])
        if isinstance(value, str) and not value.startswith("text:"):
            cell.value = float(Decimal(value)) if _is_plain_number(value) else value
        elif isinstance(value, str):
            cell.value = value[len("text:"):]
        else:
            cell.value = float(value) if isinstance(value, Decimal) else value
    for mapping, key in ((evidence, "evidence"), (explanations, "explanation")):
        for code, text in (mapping or {}).items():
            sheet.cell(rows[code], cols[key]).value = text
    for code, text in (na or {}).items():
        sheet.cell(rows[code], cols["na"]).value = text
    target = out or path
    workbook.save(target)
    return target


def _is_plain_number(text: str) -> bool:
    try:
        Decimal(text)
        return True
    except ArithmeticError:
        return False


def libreoffice_convert(path: Path, fmt: str, out_dir: Path) -> Path:
    """Convert with LibreOffice headless (it recalculates on load) and return the new file."""
    needs_libreoffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / ".lo-profile"
    _force_recalculation(profile)
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(out_dir), str(path)],
        check=True, capture_output=True, timeout=180,
    )
    produced = out_dir / (path.stem + "." + fmt.split(":")[0])
    assert produced.exists(), f"LibreOffice did not produce {produced}"
    return produced


_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _force_recalculation(profile: Path) -> None:
    """A LibreOffice profile whose Calc recalculates every formula on load (0 = always)."""
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(_RECALC_XCU, encoding="utf-8")


def without_suggestions(file_entry: dict) -> dict:
    """A harvest.json file entry without the council's evidence suggestions (tests/test_evidence.py
    tests those): what the reading and checking rules found, and only that."""
    from cchc_xls.findings import COUNCIL_ONLY

    return {**file_entry, "findings": [f for f in file_entry["findings"] if f["code"] not in COUNCIL_ONLY]}
