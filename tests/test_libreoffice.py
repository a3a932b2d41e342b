"""Issue 7, real clients: the workbooks through LibreOffice itself (headless, recalculation on load
forced by support.libreoffice's profile).

- A generated template, filled with a seed commune's scores as a person types them (openpyxl
  keeps no formula results), recalculates in LibreOffice to exactly the totals `cchc harvest`
  computes, cell by cell, for all three bundled rubrics.
- Protection, locked and unlocked cells and every data validation survive LibreOffice's import:
  read back from its re-saved .xlsx.
- The template, the ranking (Phụ lục II) and a report (.docx) convert to PDF without error.

Every test is marked `libreoffice` and calls needs_libreoffice() first: in CI (CI=true) a missing
LibreOffice is a failure, elsewhere a skip. All conversions run in two batched soffice calls.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from cchc_xls.cli import main
from cchc_xls.layout import GUIDE_SHEET, GROUP_LABEL, MAIN_SHEET, META_SHEET, NA_MARK, RESCALED_LABEL, TOTAL_LABEL
from cchc_xls.numbers import format_vn
from cchc_xls.report import write_reports
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import (
    CHI_MINH_SCORES, HA_BAC_SCORES, SOFFICE, _force_recalculation, fill_workbook, header_columns, make_template,
    needs_libreoffice, rows_by_code,
)

pytestmark = pytest.mark.libreoffice

D = Decimal
TN, HD, HT = "thai-nguyen-2021", "hai-duong-2022", "ha-trung-2023"
PASSWORD = "khoa2024"


def thai_nguyen_scores() -> dict[str, str]:
    """A realistic return on the Thái Nguyên rubric: every leaf scored, a quarter point lost on
    every third one."""
    scores = {}
    leaves = [n for n in load_rubric(TN).leaves() if n.self_scored and n.applies("xã")]
    for index, leaf in enumerate(leaves):
        value = leaf.max - D("0.25") if index % 3 == 0 and leaf.max > D("0.25") else leaf.max
        scores[leaf.code] = str(value)
    return scores


@dataclass(frozen=True)
class Variant:
    key: str
    rubric_id: str
    unit: Unit
    scores: dict
    na: dict | None = None


TN_SCORES = thai_nguyen_scores()
VARIANTS = {v.key: v for v in (
    Variant(TN, TN, Unit("04101", "Xã Phúc Xuân", "xã"), TN_SCORES),
    # 8.5.2 “(nếu có)” marked not applicable: the total is rescaled to 100 by the workbook's formula
    Variant(f"{TN}-na", TN, Unit("04102", "Xã Phúc Trìu", "xã"),
            {c: v for c, v in TN_SCORES.items() if c != "8.5.2"}, {"8.5.2": NA_MARK}),
    Variant(HD, HD, Unit("30512", "Xã Chí Minh", "xã"), CHI_MINH_SCORES),
    Variant(HT, HT, Unit("28900", "Xã Hà Bắc", "xã"), HA_BAC_SCORES),
)}
TEMPLATES = {  # template key -> (rubric, password)
    TN: (TN, ""), HD: (HD, ""), HT: (HT, ""), f"{HD}-password": (HD, PASSWORD),
}


def convert_many(paths: list[Path], fmt: str, out_dir: Path) -> dict[Path, Path]:
    """One soffice call for several files (recalculation on load forced); {input: output}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / ".lo-profile"
    _force_recalculation(profile)
    assert len({p.stem for p in paths}) == len(paths), "LibreOffice names its outputs by stem"
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(out_dir), *map(str, paths)],
        capture_output=True, timeout=300, text=True,
    )
    assert done.returncode == 0, done.stderr
    produced = {p: out_dir / f"{p.stem}.{fmt.split(':')[0]}" for p in paths}
    for source, target in produced.items():
        assert target.is_file(), (source, done.stdout, done.stderr)
    return produced


def pdf_pages(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), path
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


@dataclass
class LibreOffice:
    templates: dict[str, Path]  # as generated
    resaved_templates: dict[str, Path]  # re-saved by LibreOffice as .xlsx
    filled: dict[str, Path]  # typed with openpyxl: no cached results
    recalculated: dict[str, Path]  # filled, recalculated and saved by LibreOffice
    harvests: dict[str, dict]  # harvest.json of each filled file (`cchc harvest`)
    pdfs: dict[str, Path]


@pytest.fixture(scope="module")
def lo(tmp_path_factory) -> LibreOffice:
    needs_libreoffice()
    root = tmp_path_factory.mktemp("libreoffice")
    for folder in ("templates", "blank", "filled"):
        (root / folder).mkdir()
    templates = {key: make_template(root / "templates", rubric_id=rid, password=password, name=f"mau-{key}.xlsx")
                 for key, (rid, password) in TEMPLATES.items()}
    filled, harvests = {}, {}
    runner = CliRunner()
    for key, variant in VARIANTS.items():
        blank = make_template(root / "blank", rubric_id=variant.rubric_id, unit=variant.unit, name=f"{key}.xlsx")
        filled[key] = fill_workbook(blank, variant.scores, na=variant.na, out=root / "filled" / f"phieu-{key}.xlsx")
        units = root / f"don-vi-{key}.csv"
        units.write_text(f"code,name,kind\n{variant.unit.code},{variant.unit.name},{variant.unit.kind}\n",
                         encoding="utf-8")
        out = root / "harvest" / key
        result = runner.invoke(main, ["harvest", variant.rubric_id, str(filled[key]), "--units", str(units),
                                      "--out", str(out), "--period", "2024"])
        assert result.exit_code == 0, result.output
        harvests[key] = json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    reports = write_reports(root / "harvest" / HD, root / "reports", unit_code=VARIANTS[HD].unit.code)
    to_pdf = {f"template-{key}": templates[key] for key in (TN, HD, HT)}
    to_pdf["ranking"] = root / "harvest" / HD / "phu-luc-ii.xlsx"
    to_pdf["report"] = reports.communes[0]
    xlsx_inputs = [*templates.values(), *filled.values()]
    with ThreadPoolExecutor(max_workers=2) as pool:  # two soffice calls, each with its own profile
        as_xlsx = pool.submit(convert_many, xlsx_inputs, "xlsx", root / "lo-xlsx")
        as_pdf = pool.submit(convert_many, list(to_pdf.values()), "pdf", root / "lo-pdf")
        xlsx, pdf = as_xlsx.result(), as_pdf.result()
    return LibreOffice(
        templates=templates,
        resaved_templates={key: xlsx[path] for key, path in templates.items()},
        filled=filled,
        recalculated={key: xlsx[path] for key, path in filled.items()},
        harvests=harvests,
        pdfs={key: pdf[path] for key, path in to_pdf.items()},
    )


def number(value) -> Decimal:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), repr(value)
    return D(repr(value)) if isinstance(value, float) else D(value)


def label_row(ws, text: str) -> int:
    for row in range(1, ws.max_row + 1):
        if isinstance(ws.cell(row, 1).value, str) and ws.cell(row, 1).value.startswith(text):
            return row
    raise AssertionError(f"no row labelled {text!r}")


# ---------------------------------------------------------------------------------------------
# Recalculated by LibreOffice = computed by `cchc harvest`


@pytest.mark.parametrize("key", list(VARIANTS))
def test_libreoffice_recalculates_exactly_the_totals_cchc_harvest_computes(lo, key):
    needs_libreoffice()
    variant = VARIANTS[key]
    rubric = load_rubric(variant.rubric_id)
    data = lo.harvests[key]
    unit = data["units"][0]
    assert unit["code"] == variant.unit.code and unit["status"] == "submitted"
    assert [f["status"] for f in data["files"]] == ["accepted"]
    # openpyxl saved no formula results: the harvest computed every total itself
    assert "formula.missing_cache" in {f["code"] for f in data["files"][0]["findings"]}
    stale = load_workbook(lo.filled[key], data_only=True)[MAIN_SHEET]
    ws = load_workbook(lo.recalculated[key], data_only=True)[MAIN_SHEET]
    _, cols = header_columns(ws)
    rows = rows_by_code(ws)
    score = cols["score"]
    parents = [n for n in rubric.nodes() if not n.is_leaf]
    assert set(unit["subtotals"]) == {n.code for n in parents}
    for node in parents:
        assert stale.cell(rows[node.code], score).value is None  # nothing cached before LibreOffice
        shown = number(ws.cell(rows[node.code], score).value)
        assert shown == unit["subtotals"][node.code], (node.code, shown, unit["subtotals"][node.code])
    for code, typed in variant.scores.items():  # the leaves are the typed scores, untouched
        assert number(ws.cell(rows[code], score).value) == D(typed), code
    raw = number(ws.cell(label_row(ws, TOTAL_LABEL), score).value)
    assert raw == sum((unit["subtotals"][r.code] for r in rubric.roots), D(0))
    if variant.na:  # the workbook's own rescaling formula gives the harvest's total
        rescaled = number(ws.cell(label_row(ws, RESCALED_LABEL.format(total=format_vn(rubric.total))), score).value)
        assert rescaled == unit["self_total"] and rescaled > raw
        assert unit["not_applicable"] == list(variant.na)
    else:
        assert raw == unit["self_total"]
    assert ws.cell(label_row(ws, GROUP_LABEL), score).value == unit["group"]


def test_seed_totals_are_the_seeds_own(lo):
    needs_libreoffice()
    assert lo.harvests[HD]["units"][0]["self_total"] == D("75")  # seed 003, Xã Chí Minh
    assert lo.harvests[HT]["units"][0]["self_total"] == D("94.5")  # seed 001, Xã Hà Bắc
    lost = sum(1 for c, v in TN_SCORES.items() if D(v) != load_rubric(TN).node(c).max)
    assert lo.harvests[TN]["units"][0]["self_total"] == D(100) - D("0.25") * lost


# ---------------------------------------------------------------------------------------------
# Protection, locks and validations survive LibreOffice's import


PROTECTION_FLAGS = ("sheet", "objects", "scenarios", "formatCells", "formatColumns", "formatRows", "insertColumns",
                    "insertRows", "insertHyperlinks", "deleteColumns", "deleteRows", "selectLockedCells",
                    "selectUnlockedCells", "sort", "autoFilter", "pivotTables", "password")


def unlocked_cells(ws) -> set[str]:
    return {c.coordinate for row in ws.iter_rows() for c in row if c.protection.locked is False}


def _operand(text):
    """A validation operand: numbers compared as numbers ("1.0" = "1"), the rest as written."""
    if text is None:
        return None
    try:
        return D(str(text))
    except InvalidOperation:
        return str(text).replace("$", "")


def validations(ws) -> dict[str, list[tuple]]:
    """{cell: [what its validation checks and says]}; defaults made explicit (an absent operator is
    “between”, an absent error style “stop”)."""
    found = defaultdict(list)
    for dv in ws.data_validations.dataValidation:
        operands = (_operand(dv.formula1),) if dv.type in ("list", "custom") else (
            _operand(dv.formula1), _operand(dv.formula2))
        what = (dv.type, dv.operator or "between" if dv.type not in ("list", "custom") else None, operands,
                bool(dv.allow_blank), bool(dv.showErrorMessage), bool(dv.showInputMessage), dv.errorStyle or "stop",
                dv.errorTitle, dv.error, dv.promptTitle, dv.prompt)
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                for col in range(rng.min_col, rng.max_col + 1):
                    found[f"{get_column_letter(col)}{row}"].append(what)
    return dict(found)


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_protection_locks_and_validations_survive_libreoffice(lo, key):
    needs_libreoffice()
    original = load_workbook(lo.templates[key])
    resaved = load_workbook(lo.resaved_templates[key])
    assert resaved.sheetnames == original.sheetnames
    for name in (MAIN_SHEET, GUIDE_SHEET, META_SHEET):
        before, after = original[name].protection, resaved[name].protection
        assert after.sheet is True, name
        for flag in PROTECTION_FLAGS:
            value, expected = getattr(after, flag), getattr(before, flag)
            if flag == "password":  # a hex hash: LibreOffice writes it in lower case
                value, expected = (value or "").upper(), (expected or "").upper()
            assert value == expected, (name, flag)
    if TEMPLATES[key][1]:
        assert original[MAIN_SHEET].protection.password  # a real password: its hash is kept
    assert resaved[META_SHEET].sheet_state in ("hidden", "veryHidden")
    ws_before, ws_after = original[MAIN_SHEET], resaved[MAIN_SHEET]
    unlocked = unlocked_cells(ws_before)
    assert unlocked and unlocked_cells(ws_after) == unlocked
    _, cols = header_columns(ws_before)
    letters = {get_column_letter(cols[k]) for k in ("score", "na", "evidence", "explanation") if k in cols}
    assert {re.match(r"[A-Z]+", ref).group(0) for ref in unlocked} <= letters
    before, after = validations(ws_before), validations(ws_after)
    assert before and after == before
    assert len(ws_after.data_validations.dataValidation) == len(ws_before.data_validations.dataValidation)
    kinds = Counter(v[0] for cell in before.values() for v in cell)
    assert kinds["decimal"] > 0
    if key.startswith(HD):
        assert kinds["list"] == 3  # 1.6.1, 1.6.2, 3.1.2: drop-downs of the rubric's levels
    if key == TN:
        assert kinds["list"] == 1  # the “Không áp dụng” drop-down of 8.5.2
    score_letter = get_column_letter(cols["score"])
    rows = rows_by_code(ws_before)
    rubric = load_rubric(TEMPLATES[key][0])
    for leaf in rubric.leaves():  # every score a commune types is validated, exactly once
        ref = f"{score_letter}{rows[leaf.code]}"
        assert len(after.get(ref, [])) == (1 if leaf.self_scored else 0), ref


# ---------------------------------------------------------------------------------------------
# PDF: what the office prints and signs


@pytest.mark.parametrize("key, minimum", [
    (f"template-{TN}", 5), (f"template-{HD}", 3), (f"template-{HT}", 3), ("ranking", 1), ("report", 1),
])
def test_converts_to_pdf(lo, key, minimum):
    needs_libreoffice()
    pages = pdf_pages(lo.pdfs[key])
    assert pages >= minimum, pages
    assert pages < 40, pages  # a plausible print, not one page per cell
