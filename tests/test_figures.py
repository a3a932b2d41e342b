"""Issue 14: every figure a person signs is the figure that ranks; every message reaches the
right person. Each situation is built as a person would build it: a generated template, filled
as a clerk fills it, re-saved by LibreOffice where the point is about what a spreadsheet shows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc_xls.layout import MAIN_SHEET
from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import CHI_MINH_SCORES, fill_workbook, libreoffice_convert, make_template, rows_by_code

D = Decimal
HD = "hai-duong-2022"
RUBRIC = load_rubric(HD)
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
UNITS = [CHI_MINH, THANH_XA]


def harvest_json(out: Path, *inputs: Path, units=UNITS, rubric=RUBRIC) -> dict:
    run_harvest(rubric, list(inputs), list(units), out, workers=1)
    return json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)


def findings_of(data: dict, code: str) -> list[dict]:
    return [f for file in data["files"] for f in file["findings"] if f["code"] == code]


# ---------------------------------------------------------------------------------------------
# 1. Text in a score cell


@pytest.mark.libreoffice
def test_scores_typed_as_text_are_named_with_both_totals_and_bands(tmp_path):
    # A clerk in an English-locale spreadsheet types 0,5 and 0,25: text, which SUM does not add.
    scores = dict(CHI_MINH_SCORES)
    as_text = {"1.1.1": "0,5", "1.5.1": "0,5", "1.6.1": "0,25", "1.6.2": "0,25", "1.6.3": "0,5",
               "2.2.1": "0,5", "7.1.7": "0,5", "7.2.1": "1,5", "1.5.2": "2", "5.2": "2"}
    scores.update({code: "text:" + value for code, value in as_text.items()})
    filled = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "30512.xlsx")
    resaved = libreoffice_convert(filled, "xlsx", tmp_path / "lo")

    sheet = load_workbook(resaved, data_only=True)[MAIN_SHEET]
    rows = rows_by_code(sheet)
    total_row = next(r for r in range(rows["II.3"] + 1, sheet.max_row + 1)
                     if str(sheet.cell(r, 1).value or "").startswith("TỔNG ĐIỂM"))
    shown_total = D(str(sheet.cell(total_row, 4).value))
    band_row = next(r for r in range(total_row, sheet.max_row + 1)
                    if str(sheet.cell(r, 1).value or "").startswith("Xếp loại"))
    shown_band = sheet.cell(band_row, 4).value
    assert shown_total == D("75") - D("8.5")  # the sheet adds only the numbers
    assert shown_band == "Trung bình"

    data = harvest_json(tmp_path / "out", resaved)
    unit = next(u for u in data["units"] if u["code"] == CHI_MINH.code)
    assert unit["self_total"] == 75
    [total] = findings_of(data, "total.shown_differs")
    assert total["severity"] == "warning" and total["cell"] == f"D{total_row}"
    assert "Phiếu hiển thị tổng điểm 66,5 nhưng điểm được tính là 75 vì 10 ô điểm là chữ" in total["message"]
    assert "gõ lại" in total["message"] and "bản in khớp" in total["message"]
    [band] = findings_of(data, "band.shown_differs")
    assert band["cell"] == f"D{band_row}"
    assert unit["group"] == "Khá"
    assert "Phiếu hiển thị xếp loại “Trung bình” nhưng xếp loại theo điểm được tính là “Khá”" in band["message"]


def _pages_as_pixels(path: Path, out_dir: Path) -> list[bytes]:
    """Each page of the workbook as LibreOffice prints it, as raw RGB bytes (pdftoppm's PPM)."""
    import subprocess

    pdf = libreoffice_convert(path, "pdf", out_dir)
    subprocess.run(["pdftoppm", "-r", "40", str(pdf), str(out_dir / "page")], check=True, capture_output=True)
    pages = []
    for ppm in sorted(out_dir.glob("page*.ppm")):
        data = ppm.read_bytes()
        # header: P6\nW H\n255\n
        parts = data.split(b"\n", 3)
        pages.append(parts[3])
    return pages


def _red_pixels(pixels: bytes) -> int:
    return sum(1 for i in range(0, len(pixels) - 2, 3)
               if pixels[i] > 235 and 130 < pixels[i + 1] < 175 and 130 < pixels[i + 2] < 175)


@pytest.mark.libreoffice
def test_the_template_shows_a_score_typed_as_text_in_red_and_says_why(tmp_path):
    scores = dict(CHI_MINH_SCORES)
    numbers = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "so.xlsx")
    scores["1.1.1"] = "text:0,5"
    text = fill_workbook(make_template(tmp_path), scores, out=tmp_path / "chu.xlsx")
    assert sum(map(_red_pixels, _pages_as_pixels(numbers, tmp_path / "pdf-so"))) == 0
    assert sum(map(_red_pixels, _pages_as_pixels(text, tmp_path / "pdf-chu"))) > 20
    sheet = load_workbook(text)[MAIN_SHEET]
    rows = rows_by_code(sheet)
    [validation] = [dv for dv in sheet.data_validations.dataValidation if f"D{rows['1.1.1']}" in str(dv.sqref)]
    assert "ô này là chữ, không phải số; gõ lại" in validation.prompt
    guide = load_workbook(text)["Hướng dẫn"]
    assert any("tô đỏ: ô này là chữ, không phải số" in str(c.value) for row in guide.iter_rows() for c in row)
