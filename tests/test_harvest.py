"""`cchc harvest` (issue 4): real returned workbooks, filled and damaged as communes do, harvested.

Three communes of one district return generated hai-duong-2022 templates: Xã Chí Minh (the seed
commune, seed 003's scores), Xã Thanh Xá (full marks: 76 of the 76 points a commune scores) and
Thị trấn Thanh Miện (74); Xã Tứ Kỳ sends nothing. Each test damages Chí Minh's file one way
(typed text, a date, a score above its maximum, a raised maximum, an overwritten formula, inserted,
deleted or swapped rows, another commune's identity...), harvests the inbox, and asserts the exact
finding with its sheet and cell, the recomputed totals, and that the other communes' results are
exactly what they were. Outputs (harvest.json, tong-hop.xlsx, received/) and the CLI are checked
against the issue's contract.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from cchc_xls.cli import main
from cchc_xls.findings import CATALOGUE
from cchc_xls.generate import Entries
from cchc_xls.harvest import Harvest, harvest
from cchc_xls.layout import MAIN_SHEET, TOTAL_LABEL
from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

from support import (
    CHI_MINH_EVIDENCE, CHI_MINH_SCORES, HA_BAC_SCORES, fill_workbook, libreoffice_convert, make_template,
    needs_libreoffice, rows_by_code, without_suggestions,
)

D = Decimal
HD, HT = "hai-duong-2022", "ha-trung-2023"
RUBRIC = load_rubric(HD)

CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
THANH_MIEN = Unit("30514", "Thị trấn Thanh Miện", "thị trấn")
TU_KY = Unit("30515", "Xã Tứ Kỳ", "xã")  # sends nothing
UNITS = [CHI_MINH, THANH_XA, THANH_MIEN, TU_KY]
HA_BAC = Unit("38101", "Xã Hà Bắc", "xã")

# Rows as generated (header on row 9, one row per rubric node in rubric order).
ROW = {node.code: 10 + index for index, node in enumerate(RUBRIC.nodes())}
TOTAL_ROW = ROW["II.3"] + 1
LEAF_MAX = {n.code: n.max for n in RUBRIC.leaves() if n.self_scored}
PARENTS = [n.code for n in RUBRIC.nodes() if not n.is_leaf]

# Seed 003's own figures.
CHI_MINH_SUBTOTALS = {"I": "73.1", "1": "14.9", "2": "5", "3": "18.5", "4": "6", "5": "11", "6": "6.8", "7": "10.9",
                      "II": "1.9"}
HA_BAC_AREAS = {"1": "15", "2": "11", "3": "18", "4": "11", "5": "12", "6": "12", "7": "15.5"}

VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]", re.IGNORECASE)
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


# ---------------------------------------------------------------------------------------------
# What each commune typed


def decimals(scores: dict) -> dict[str, Decimal]:
    return {code: D(value) for code, value in scores.items()}


def complete(scores: dict[str, str]) -> tuple[dict, dict]:
    """Evidence for every score above 0 and an explanation for every score below its maximum."""
    evidence = {c: f"Kế hoạch số {i}/KH-UBND ngày 15/01/2024 (tiêu chí {c})"
                for i, (c, v) in enumerate(scores.items(), start=1) if D(v) > 0}
    evidence.update({c: t for c, t in CHI_MINH_EVIDENCE.items() if c in evidence})
    explanations = {c: f"Chưa hoàn thành đầy đủ nội dung tiêu chí {c}" for c, v in scores.items() if D(v) < LEAF_MAX[c]}
    return evidence, explanations


CM_SCORES = dict(CHI_MINH_SCORES)  # 75
TX_SCORES = {code: str(maximum) for code, maximum in LEAF_MAX.items()}  # 76
TM_SCORES = {**CHI_MINH_SCORES, "1.2": "1"}  # 74
CM_EVIDENCE, CM_EXPLANATIONS = complete(CM_SCORES)


# ---------------------------------------------------------------------------------------------
# Running a harvest and reading its outputs


@dataclass
class Run:
    out: Path
    data: dict  # harvest.json, decimals as Decimal
    harvest: Harvest

    def unit(self, code: str) -> dict:
        return next(u for u in self.data["units"] if u["code"] == code)

    def file(self, ending: str) -> dict:
        matches = [f for f in self.data["files"] if f["path"].endswith(ending)]
        assert len(matches) == 1, (ending, [f["path"] for f in self.data["files"]])
        return without_suggestions(matches[0])

    def findings(self, ending: str, code: str | None = None) -> list[dict]:
        return [f for f in self.file(ending)["findings"] if code is None or f["code"] == code]

    def one(self, ending: str, code: str) -> dict:
        found = self.findings(ending, code)
        assert len(found) == 1, (code, self.file(ending)["findings"])
        return found[0]

    def codes(self, ending: str, severities=("error", "warning")) -> set[str]:
        return {f["code"] for f in self.findings(ending) if f["severity"] in severities}


def load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def run(tmp_path: Path, *inputs: Path, units=UNITS, rubric=RUBRIC, period: str | None = None) -> Run:
    out = tmp_path / "ket-qua"
    outputs = run_harvest(rubric, list(inputs), list(units), out, period=parse_period(period) if period else None,
                          workers=1)
    assert outputs.paths["harvest_json"] == out / "harvest.json"
    return Run(out, load_json(out / "harvest.json"), outputs.harvest)


def assert_vietnamese(message: str, *names: str) -> None:
    assert VIETNAMESE.search(message), message
    for name in names:
        assert name in message, (name, message)


def assert_others_unchanged(result: Run) -> None:
    """Thanh Xá and Thanh Miện are read exactly as sent, Tứ Kỳ is still missing."""
    for unit, scores, total in ((THANH_XA, TX_SCORES, 76), (THANH_MIEN, TM_SCORES, 74)):
        outcome = result.unit(unit.code)
        assert outcome["status"] == "submitted"
        assert outcome["self_total"] == total
        assert outcome["scores"] == decimals(scores)
        assert outcome["file"].endswith(f"{unit.code}.xlsx")
        file = result.file(f"{unit.code}.xlsx")
        assert file["status"] == "accepted" and file["unit_code"] == unit.code
        assert file["findings"] == []
    missing = result.unit(TU_KY.code)
    assert missing["status"] == "missing" and missing["file"] is None and missing["self_total"] is None


# ---------------------------------------------------------------------------------------------
# Files as communes send them


def set_saved_time(path: Path, when: datetime) -> Path:
    """Rewrite the workbook's own last-saved time (docProps/core.xml), as if saved then."""
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data, count = re.subn(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                      rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
                assert count == 1
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def blanks(tmp_path_factory) -> dict[str, Path]:
    """Blank 2024 templates, as the office sent them."""
    folder = tmp_path_factory.mktemp("blank")
    files = {u.code: make_template(folder, unit=u) for u in (CHI_MINH, THANH_XA, THANH_MIEN, TU_KY)}
    found = rows_by_code(load_workbook(files[CHI_MINH.code])[MAIN_SHEET])
    assert {code: row for code, row in found.items() if code in RUBRIC} == ROW  # the rows this module expects
    return files


@pytest.fixture(scope="module")
def others(tmp_path_factory) -> list[Path]:
    """Thanh Xá's and Thanh Miện's returns, complete, saved with cached results (as Excel saves)."""
    folder = tmp_path_factory.mktemp("others")
    files = []
    for unit, scores in ((THANH_XA, TX_SCORES), (THANH_MIEN, TM_SCORES)):
        evidence, explanations = complete(scores)
        entries = Entries(scores=decimals(scores), evidence=evidence, explanations=explanations)
        files.append(make_template(folder, unit=unit, entries=entries))
    return files


def chi_minh(folder: Path, blanks, name: str = "Phu luc CCHC (1).xlsx", scores=None, evidence=None,
             explanations=None, damage=None) -> Path:
    """Chí Minh types its scores into the template (openpyxl), then damages the file with `damage`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fill_workbook(blanks[CHI_MINH.code], CM_SCORES if scores is None else scores,
                  CM_EVIDENCE if evidence is None else evidence,
                  CM_EXPLANATIONS if explanations is None else explanations, out=path)
    if damage is not None:
        workbook = load_workbook(path)
        damage(workbook, workbook[MAIN_SHEET])
        workbook.save(path)
    return path


def harvest_chi_minh(tmp_path, blanks, others, **kwargs) -> Run:
    """Chí Minh's file (damaged by kwargs) with the two other communes' returns."""
    inbox = tmp_path / "inbox"
    chi_minh(inbox, blanks, **kwargs)
    for other in others:
        shutil.copy(other, inbox / other.name)
    return run(tmp_path, inbox)


CM = "Phu luc CCHC (1).xlsx"


# ---------------------------------------------------------------------------------------------
# The seed communes round-trip


@pytest.mark.parametrize("how", ["rendered", "typed"])
def test_chi_minh_seed_round_trips_to_75(tmp_path, blanks, how):
    if how == "rendered":
        entries = Entries(scores=decimals(CHI_MINH_SCORES), evidence=dict(CHI_MINH_EVIDENCE))
        path = make_template(tmp_path, unit=CHI_MINH, entries=entries, name="cm.xlsx")
    else:
        path = fill_workbook(blanks[CHI_MINH.code], CHI_MINH_SCORES, CHI_MINH_EVIDENCE, out=tmp_path / "cm.xlsx")
    result = run(tmp_path, path)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["status"] == "submitted" and outcome["file"].endswith("cm.xlsx")
    assert outcome["self_total"] == D("75.0")
    assert {code: outcome["subtotals"][code] for code in CHI_MINH_SUBTOTALS} == decimals(CHI_MINH_SUBTOTALS)
    assert set(outcome["subtotals"]) == set(PARENTS)
    assert outcome["scores"] == decimals(CHI_MINH_SCORES)  # II.2 and II.3 are the province's
    assert outcome["rank"] == 1 and outcome["group"] == "Khá"
    assert outcome["appraisal_total"] is None
    for code, text in CHI_MINH_EVIDENCE.items():
        assert outcome["evidence"][code] == text
    file = result.file("cm.xlsx")
    assert file["status"] == "accepted" and file["unit_code"] == CHI_MINH.code
    assert not [f for f in file["findings"] if f["severity"] == "error"]


@pytest.mark.parametrize("how", ["rendered", "typed"])
def test_ha_bac_seed_round_trips_to_94_5(tmp_path, how):
    if how == "rendered":
        path = make_template(tmp_path, rubric_id=HT, unit=HA_BAC, entries=Entries(scores=decimals(HA_BAC_SCORES)),
                             name="hb.xlsx")
    else:
        blank = make_template(tmp_path, rubric_id=HT, unit=HA_BAC)
        path = fill_workbook(blank, HA_BAC_SCORES, out=tmp_path / "hb.xlsx")
    result = run(tmp_path, path, units=[HA_BAC], rubric=load_rubric(HT))
    outcome = result.unit(HA_BAC.code)
    assert outcome["status"] == "submitted"
    assert outcome["self_total"] == D("94.5")
    assert {code: outcome["subtotals"][code] for code in HA_BAC_AREAS} == decimals(HA_BAC_AREAS)
    assert outcome["scores"] == decimals(HA_BAC_SCORES)
    assert outcome["group"] == "Xuất sắc" and outcome["rank"] == 1
    assert result.data["rubric"] == HT


def test_evidence_in_harvest_json_is_only_what_the_commune_typed(tmp_path):
    entries = Entries(scores=decimals(CHI_MINH_SCORES), evidence=dict(CHI_MINH_EVIDENCE))
    path = make_template(tmp_path, unit=CHI_MINH, entries=entries, name="cm.xlsx")
    assert run(tmp_path, path).unit(CHI_MINH.code)["evidence"] == CHI_MINH_EVIDENCE


def test_complete_return_has_no_problem_and_the_other_communes_are_read(tmp_path, blanks, others):
    result = harvest_chi_minh(tmp_path, blanks, others)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["self_total"] == 75 and outcome["scores"] == decimals(CM_SCORES)
    assert {c: t for c, t in outcome["evidence"].items() if c in LEAF_MAX} == CM_EVIDENCE
    assert outcome["explanations"] == CM_EXPLANATIONS
    # openpyxl keeps no formula results: the only note is that totals were recomputed.
    assert [f["code"] for f in result.findings(CM)] == ["formula.missing_cache"]
    assert_others_unchanged(result)


# ---------------------------------------------------------------------------------------------
# Scores parsed as a person wrote them


@pytest.mark.parametrize("code, typed, counted, finding, severity", [
    ("1.7", "text:2,9", D("2.9"), "score.text_number", "info"),
    ("1.7", "text:2.9", D("2.9"), "score.text_number", "info"),
    ("1.1.2", "text: 1 ", D("1"), "score.text_number", "info"),
    ("1.7", "2.9", D("2.9"), None, None),
    ("1.7", "2.494", D("2.494"), None, None),  # ratio-based scores have three decimals (seed 000)
    ("1.7", None, None, "score.missing", "warning"),
    ("1.7", "Đạt", None, "score.not_number", "error"),
    ("1.7", "x", None, "score.not_number", "error"),
    ("1.7", datetime(2024, 3, 15), None, "score.date", "error"),
], ids=["decimal-comma", "decimal-point", "spaces", "number", "three-decimals", "empty", "dat", "x", "date"])
def test_scores_are_parsed_as_a_person_wrote_them(tmp_path, blanks, others, code, typed, counted, finding, severity):
    scores = dict(CM_SCORES)
    if typed is None:
        del scores[code]
    else:
        scores[code] = typed
    result = harvest_chi_minh(tmp_path, blanks, others, scores=scores)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["status"] == "submitted"
    assert outcome["scores"].get(code, None if counted is None else "absent") in ((None, 0) if counted is None else (counted,))
    assert outcome["self_total"] == D(75) - D(CM_SCORES[code]) + (counted or 0)
    if finding is None:
        assert result.codes(CM, ("error", "warning", "info")) == {"formula.missing_cache"}
    else:
        found = result.one(CM, finding)
        assert (found["severity"], found["sheet"], found["cell"]) == (severity, MAIN_SHEET, f"D{ROW[code]}")
        assert_vietnamese(found["message"])
        if finding == "score.missing":
            assert code in found["message"]
        if isinstance(typed, str) and not typed.startswith("text:"):
            assert typed in found["message"]
        # One finding per cell: a bad value is not also reported as missing.
        assert [f["code"] for f in result.findings(CM) if f["cell"] == f"D{ROW[code]}"] == [finding]
    assert_others_unchanged(result)


@pytest.mark.parametrize("typed, code", [("Đạt", "score.not_number"), (datetime(2024, 3, 15), "score.date"),
                                         ("-1", "score.negative")])
def test_messages_of_bad_values_name_the_criterion(tmp_path, blanks, others, typed, code):
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.7": typed})
    assert "1.7" in result.one(CM, code)["message"]


def test_date_in_a_score_cell_is_shown_as_the_date_typed(tmp_path, blanks, others):
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.7": datetime(2024, 3, 15)})
    message = result.one(CM, "score.date")["message"]
    assert "45366" not in message
    assert "15/03/2024" in message or "15/3/2024" in message or "2024-03-15" in message


def test_text_is_normalised_to_nfc(tmp_path, blanks, others):
    typed = "Kế hoạch số 47/KH-UBND ngày 30/12/2022 về cải cách hành chính"
    evidence = {**CM_EVIDENCE, "1.1.1": unicodedata.normalize("NFD", typed)}
    result = harvest_chi_minh(tmp_path, blanks, others, evidence=evidence)
    stored = result.unit(CHI_MINH.code)["evidence"]["1.1.1"]
    assert stored == unicodedata.normalize("NFC", typed) and stored != evidence["1.1.1"]


# ---------------------------------------------------------------------------------------------
# Scores judged against the rubric file, never against the workbook


def test_score_above_its_maximum_is_an_error_and_counts_only_the_maximum(tmp_path, blanks, others):
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.7": "4"})
    found = result.one(CM, "score.above_max")
    assert (found["severity"], found["sheet"], found["cell"]) == ("error", MAIN_SHEET, "D30")
    assert_vietnamese(found["message"], "1.7", "4", "3")
    outcome = result.unit(CHI_MINH.code)
    assert outcome["scores"]["1.7"] == 3
    assert outcome["subtotals"]["1"] == D("15") and outcome["subtotals"]["I"] == D("73.2")
    assert outcome["self_total"] == D("75.1")
    assert result.codes(CM) == {"score.above_max"}
    assert_others_unchanged(result)


def test_score_off_the_criterion_levels_is_an_error(tmp_path, blanks, others):
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.6.1": "0.1"},
                              explanations={**CM_EXPLANATIONS, "1.6.1": "Chỉ tổ chức 02 cuộc đối thoại"})
    found = result.one(CM, "score.off_level")
    assert (found["severity"], found["sheet"], found["cell"]) == ("error", MAIN_SHEET, f"D{ROW['1.6.1']}")
    assert found["cell"] == "D27"
    assert_vietnamese(found["message"], "1.6.1", "0,1", "0,25")
    assert result.codes(CM) == {"score.off_level"}
    assert_others_unchanged(result)


def test_negative_score_is_an_error_and_counts_zero(tmp_path, blanks, others):
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.2": "-1"},
                              explanations={**CM_EXPLANATIONS, "1.2": "Chưa thực hiện báo cáo"})
    found = result.one(CM, "score.negative")
    assert (found["severity"], found["sheet"], found["cell"]) == ("error", MAIN_SHEET, "D16")
    assert_vietnamese(found["message"], "-1")
    outcome = result.unit(CHI_MINH.code)
    assert outcome["scores"]["1.2"] == 0 and outcome["self_total"] == 73
    assert result.codes(CM) == {"score.negative"}
    assert_others_unchanged(result)


def test_raised_maximum_is_reported_and_the_score_is_judged_against_the_rubric(tmp_path, blanks, others):
    def damage(wb, ws):
        ws.protection.sheet = False  # needed to edit a locked cell
        ws[f"C{ROW['1.2']}"] = 5

    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.2": "4"}, damage=damage)
    changed = result.one(CM, "row.max_changed")
    assert (changed["severity"], changed["sheet"], changed["cell"]) == ("error", MAIN_SHEET, "C16")
    assert_vietnamese(changed["message"], "1.2", "5", "2")
    above = result.one(CM, "score.above_max")
    assert above["cell"] == "D16"
    outcome = result.unit(CHI_MINH.code)
    assert outcome["scores"]["1.2"] == 2 and outcome["self_total"] == 75
    assert result.codes(CM) == {"row.max_changed", "score.above_max", "sheet.unprotected"}
    assert_others_unchanged(result)


def test_changed_label_is_a_warning_and_the_score_still_counts(tmp_path, blanks, others):
    def damage(wb, ws):
        ws[f"B{ROW['1.7']}"] = "Nhiệm vụ UBND huyện giao (đã sửa)"

    result = harvest_chi_minh(tmp_path, blanks, others, damage=damage)
    found = result.one(CM, "row.label_changed")
    assert (found["severity"], found["sheet"], found["cell"]) == ("warning", MAIN_SHEET, "B30")
    assert_vietnamese(found["message"], "1.7", "(đã sửa)", RUBRIC.node("1.7").label)
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert result.codes(CM) == {"row.label_changed"}
    assert_others_unchanged(result)


def test_label_in_decomposed_unicode_or_extra_spaces_is_not_a_change(tmp_path, blanks, others):
    def damage(wb, ws):
        ws[f"B{ROW['1.7']}"] = "  " + unicodedata.normalize("NFD", RUBRIC.node("1.7").label).replace(" ", "  ")

    result = harvest_chi_minh(tmp_path, blanks, others, damage=damage)
    assert result.codes(CM) == set()


def test_unprotected_sheet_is_a_warning(tmp_path, blanks, others):
    def damage(wb, ws):
        ws.protection.sheet = False

    result = harvest_chi_minh(tmp_path, blanks, others, damage=damage)
    found = result.one(CM, "sheet.unprotected")
    assert (found["severity"], found["sheet"], found["cell"]) == ("warning", MAIN_SHEET, None)
    assert_vietnamese(found["message"])
    assert result.codes(CM) == {"sheet.unprotected"}
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert_others_unchanged(result)


@pytest.mark.parametrize("typed, mismatch", [(2.5, False), (9, True)], ids=["right-number", "wrong-number"])
def test_parent_formula_overwritten_by_a_number(tmp_path, blanks, others, typed, mismatch):
    def damage(wb, ws):
        ws[f"D{ROW['1.1']}"] = typed

    result = harvest_chi_minh(tmp_path, blanks, others, damage=damage)
    replaced = result.one(CM, "formula.replaced")
    assert (replaced["severity"], replaced["sheet"], replaced["cell"]) == ("error", MAIN_SHEET, "D12")
    assert_vietnamese(replaced["message"], "1.1")
    if mismatch:
        wrong = result.one(CM, "total.mismatch")
        assert (wrong["severity"], wrong["cell"]) == ("error", "D12")
        assert_vietnamese(wrong["message"], "1.1", "9", "2,5")
        assert result.codes(CM) == {"formula.replaced", "total.mismatch"}
    else:
        assert result.codes(CM) == {"formula.replaced"}
    outcome = result.unit(CHI_MINH.code)  # recomputed from the leaves, never taken from the file
    assert outcome["subtotals"]["1.1"] == D("2.5") and outcome["self_total"] == 75
    assert_others_unchanged(result)


def test_total_typed_over_its_formula_is_replaced_and_mismatched(tmp_path, blanks, others):
    def damage(wb, ws):
        assert ws[f"A{TOTAL_ROW}"].value == TOTAL_LABEL
        ws[f"D{TOTAL_ROW}"] = 80

    result = harvest_chi_minh(tmp_path, blanks, others, damage=damage)
    cell = f"D{TOTAL_ROW}"
    assert result.one(CM, "formula.replaced")["cell"] == cell
    wrong = result.one(CM, "total.mismatch")
    assert wrong["cell"] == cell
    assert_vietnamese(wrong["message"], "80", "75")
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert_others_unchanged(result)


def excel_saved(folder: Path, cells: dict[str, str]) -> Path:
    """Chí Minh's complete return as Excel saves it (cached results), with some cells of the main
    sheet rewritten in the XML: {"D12": "9"} types 9 over D12's formula; {"D12": "=1.5"} leaves the
    formula but makes Excel's saved result 1.5."""
    entries = Entries(scores=decimals(CM_SCORES), evidence=CM_EVIDENCE, explanations=CM_EXPLANATIONS)
    path = make_template(folder, unit=CHI_MINH, entries=entries, name=CM)
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, value in cells.items():
                    pattern = rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)<v>[^<]*</v>'
                    keep = value.startswith("=")
                    text, count = re.subn(pattern, lambda m: m.group(1) + (m.group(2) if keep else "") +
                                          f"<v>{value.lstrip('=')}</v>", text)
                    assert count == 1, ref
                data = text.encode()
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())
    return path


def harvest_excel_saved(tmp_path, others, cells) -> Run:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    excel_saved(inbox, cells)
    for other in others:
        shutil.copy(other, inbox / other.name)
    return run(tmp_path, inbox)


def test_formula_result_that_disagrees_with_the_rows_is_a_mismatch(tmp_path, others):
    # The 1.1 formula's saved result is not the sum of its rows (a broken formula).
    result = harvest_excel_saved(tmp_path, others, {"D12": "=1.5"})
    wrong = result.one(CM, "total.mismatch")
    assert (wrong["severity"], wrong["sheet"], wrong["cell"]) == ("error", MAIN_SHEET, "D12")
    assert_vietnamese(wrong["message"], "1.1", "1,5", "2,5")
    assert result.codes(CM) == {"total.mismatch"}
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert_others_unchanged(result)


def test_number_typed_over_a_subtotal_in_excel_is_reported_once_where_it_is(tmp_path, others):
    # 9 typed over 1.1 (2,5); Excel then recalculated area 1, part I and the total with it.
    result = harvest_excel_saved(tmp_path, others, {"D12": "9", "D11": "=21.4", "D10": "=79.6",
                                                    f"D{TOTAL_ROW}": "=81.5"})
    assert result.one(CM, "formula.replaced")["cell"] == "D12"
    assert result.one(CM, "total.mismatch")["cell"] == "D12"
    assert result.codes(CM) == {"formula.replaced", "total.mismatch"}
    outcome = result.unit(CHI_MINH.code)
    assert outcome["subtotals"]["1.1"] == D("2.5") and outcome["subtotals"]["1"] == D("14.9")
    assert outcome["self_total"] == 75
    assert_others_unchanged(result)


def test_missing_evidence_for_a_score_above_zero_is_a_warning_at_the_evidence_cell(tmp_path, blanks, others):
    evidence = {c: t for c, t in CM_EVIDENCE.items() if c != "1.2"}
    result = harvest_chi_minh(tmp_path, blanks, others, evidence=evidence)
    found = result.one(CM, "evidence.missing")
    assert (found["severity"], found["sheet"], found["cell"]) == ("warning", MAIN_SHEET, "E16")
    assert_vietnamese(found["message"], "1.2")
    assert result.codes(CM) == {"evidence.missing"}
    assert "1.2" not in result.unit(CHI_MINH.code)["evidence"]
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert_others_unchanged(result)


def test_score_below_maximum_without_explanation_is_a_warning_at_the_explanation_cell(tmp_path, blanks, others):
    explanations = {c: t for c, t in CM_EXPLANATIONS.items() if c != "1.7"}
    result = harvest_chi_minh(tmp_path, blanks, others, explanations=explanations)
    found = result.one(CM, "explanation.missing")
    assert (found["severity"], found["sheet"], found["cell"]) == ("warning", MAIN_SHEET, "F30")
    assert_vietnamese(found["message"], "1.7", "2,9", "3")
    assert result.codes(CM) == {"explanation.missing"}
    assert_others_unchanged(result)


def test_zero_score_needs_no_evidence_but_an_explanation(tmp_path, blanks, others):
    evidence = {c: t for c, t in CM_EVIDENCE.items() if c != "1.2"}
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.2": "0"}, evidence=evidence)
    assert result.codes(CM) == {"explanation.missing"}
    assert result.one(CM, "explanation.missing")["cell"] == "F16"
    assert result.unit(CHI_MINH.code)["self_total"] == 73


# ---------------------------------------------------------------------------------------------
# Rows inserted, deleted, moved: scores stay on their criterion


def test_inserted_rows_do_not_shift_any_score(tmp_path, blanks, others):
    moved = {}

    def damage(wb, ws):
        ws.insert_rows(ROW["3.1"])  # a blank row before 3.1
        ws.insert_rows(ROW["5.1"] + 2)  # and a note after 5.1 (5.1 has moved down by one)
        ws.cell(ROW["5.1"] + 2, 2).value = "Ghi chú: UBND xã đã bổ sung hồ sơ ngày 20/11/2024"
        moved.update(rows_by_code(ws))

    evidence = {c: t for c, t in CM_EVIDENCE.items() if c != "7.1.1"}
    result = harvest_chi_minh(tmp_path, blanks, others, evidence=evidence, damage=damage)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["scores"] == decimals(CM_SCORES)
    assert outcome["self_total"] == 75
    assert {c: outcome["subtotals"][c] for c in CHI_MINH_SUBTOTALS} == decimals(CHI_MINH_SUBTOTALS)
    found = result.one(CM, "evidence.missing")
    assert found["cell"] == f"E{moved['7.1.1']}" == "E103"  # the cell where the user now sees it
    assert moved["7.1.1"] == ROW["7.1.1"] + 2
    assert result.codes(CM) == {"evidence.missing"}
    assert not result.findings(CM, "row.missing") and not result.findings(CM, "row.moved")
    assert_others_unchanged(result)


def test_deleted_criterion_row_is_missing_and_nothing_else_moves(tmp_path, blanks, others):
    def damage(wb, ws):
        ws.delete_rows(ROW["2.1"])

    explanations = {c: t for c, t in CM_EXPLANATIONS.items() if c != "7.1.6"}
    result = harvest_chi_minh(tmp_path, blanks, others, explanations=explanations, damage=damage)
    missing = result.findings(CM, "row.missing")
    assert len(missing) == 1
    assert (missing[0]["severity"], missing[0]["sheet"]) == ("error", MAIN_SHEET)
    assert_vietnamese(missing[0]["message"], "2.1", RUBRIC.node("2.1").label)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["scores"] == {c: v for c, v in decimals(CM_SCORES).items() if c != "2.1"}
    assert outcome["subtotals"]["2"] == 4 and outcome["self_total"] == 74
    assert result.one(CM, "explanation.missing")["cell"] == f"F{ROW['7.1.6'] - 1}"
    assert result.codes(CM) == {"row.missing", "explanation.missing"}
    assert_others_unchanged(result)


def test_swapped_rows_keep_scores_with_their_codes(tmp_path, blanks, others):
    def damage(wb, ws):
        a, b = ROW["1.1.1"], ROW["1.1.2"]
        for col in range(1, 7):
            x, y = ws.cell(a, col), ws.cell(b, col)
            x.value, y.value = y.value, x.value

    explanations = {c: t for c, t in CM_EXPLANATIONS.items() if c != "1.1.2"}
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.1.2": "0.75"},
                              explanations=explanations, damage=damage)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["scores"]["1.1.1"] == D("0.5") and outcome["scores"]["1.1.2"] == D("0.75")
    assert outcome["evidence"]["1.1.1"] == CHI_MINH_EVIDENCE["1.1.1"]
    assert outcome["subtotals"]["1.1"] == D("2.25") and outcome["self_total"] == D("74.75")
    moved = result.one(CM, "row.moved")
    assert moved["severity"] == "info"
    assert_vietnamese(moved["message"])
    assert result.one(CM, "explanation.missing")["cell"] == "F13"  # 1.1.2 now sits on row 13
    assert result.codes(CM) == {"explanation.missing"}
    assert_others_unchanged(result)


# ---------------------------------------------------------------------------------------------
# Identity: by what the file says, never by its name


def test_file_is_identified_by_its_identity_not_its_name(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # Thanh Xá fills its own template but sends it under Chí Minh's file name.
    tx_evidence, tx_explanations = complete(TX_SCORES)
    fill_workbook(blanks[THANH_XA.code], TX_SCORES, tx_evidence, tx_explanations,
                  out=inbox / "30512_xa-chi-minh_CCHC_2024.xlsx")
    shutil.copy(others[1], inbox / others[1].name)  # Thanh Miện
    result = run(tmp_path, inbox)
    thanh_xa = result.unit(THANH_XA.code)
    assert thanh_xa["status"] == "submitted" and thanh_xa["self_total"] == 76
    assert thanh_xa["file"].endswith("30512_xa-chi-minh_CCHC_2024.xlsx")
    assert result.file("30512_xa-chi-minh_CCHC_2024.xlsx")["unit_code"] == THANH_XA.code
    assert result.unit(CHI_MINH.code)["status"] == "missing"
    assert result.unit(THANH_MIEN.code)["self_total"] == 74


def test_file_of_another_rubric_is_rejected(tmp_path, others):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_template(inbox, rubric_id=HT, unit=CHI_MINH, entries=Entries(scores=decimals(HA_BAC_SCORES)), name=CM)
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    file = result.file(CM)
    assert file["status"] == "rejected" and file["unit_code"] == CHI_MINH.code
    found = file["findings"][0]
    assert (found["code"], found["severity"]) == ("identity.other_rubric", "error")
    assert_vietnamese(found["message"], HT, HD)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["status"] == "rejected" and outcome["self_total"] is None and outcome["rank"] is None
    assert outcome["file"].endswith(CM)
    assert_others_unchanged(result)


def test_file_of_another_period_is_rejected(tmp_path, others):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    entries = Entries(scores=decimals(CM_SCORES), evidence=CM_EVIDENCE, explanations=CM_EXPLANATIONS)
    make_template(inbox, unit=CHI_MINH, period="2023", entries=entries, name=CM)
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox, period="2024")
    assert result.data["period"] == "2024"
    file = result.file(CM)
    assert file["status"] == "rejected"
    found = file["findings"][0]
    assert (found["code"], found["severity"]) == ("identity.other_period", "error")
    assert_vietnamese(found["message"], "2023", "2024")
    assert result.unit(CHI_MINH.code)["status"] == "rejected"
    assert_others_unchanged(result)


def test_unit_not_in_the_list_is_rejected(tmp_path, others):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    stranger = Unit("30599", "Xã Ngoài Danh Sách", "xã")
    entries = Entries(scores=decimals(CM_SCORES), evidence=CM_EVIDENCE, explanations=CM_EXPLANATIONS)
    make_template(inbox, unit=stranger, entries=entries, name="phieu.xlsx")
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    file = result.file("phieu.xlsx")
    assert file["status"] == "rejected" and file["unit_code"] == "30599"
    found = file["findings"][0]
    assert (found["code"], found["severity"]) == ("identity.unknown_unit", "error")
    assert_vietnamese(found["message"], "30599", "Xã Ngoài Danh Sách")
    assert [u["code"] for u in result.data["units"]] == [u.code for u in UNITS]  # no unit invented
    assert_others_unchanged(result)


@pytest.mark.parametrize("keep_line", [True, False], ids=["identity-line", "unit-code-only"])
def test_sheet_copied_alone_into_a_new_workbook_is_still_identified(tmp_path, others, keep_line):
    entries = Entries(scores=decimals(CM_SCORES), evidence=CM_EVIDENCE, explanations=CM_EXPLANATIONS)
    original = make_template(tmp_path, unit=CHI_MINH, entries=entries, name="goc.xlsx")
    source = load_workbook(original, data_only=True)[MAIN_SHEET]
    copy = Workbook()
    sheet = copy.active
    sheet.title = MAIN_SHEET
    for row in source.iter_rows():
        for cell in row:
            if cell.value is not None and (keep_line or "CCHC[" not in str(cell.value)):
                sheet.cell(cell.row, cell.column).value = cell.value
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    copy.save(inbox / "Book1.xlsx")
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    file = result.file("Book1.xlsx")
    assert file["status"] == "accepted" and file["unit_code"] == CHI_MINH.code
    found = result.one("Book1.xlsx", "identity.missing")
    assert (found["severity"], found["sheet"]) == ("warning", MAIN_SHEET)
    assert_vietnamese(found["message"])
    if not keep_line:  # the heading's “mã đơn vị: 30512” is all that is left: the period is assumed
        assert result.one("Book1.xlsx", "identity.period_unknown")["severity"] == "warning"
    outcome = result.unit(CHI_MINH.code)
    assert outcome["status"] == "submitted" and outcome["self_total"] == 75
    assert outcome["scores"] == decimals(CM_SCORES)
    assert_others_unchanged(result)


def test_file_without_any_identity_is_rejected(tmp_path, others):
    entries = Entries(scores=decimals(CM_SCORES), evidence=CM_EVIDENCE, explanations=CM_EXPLANATIONS)
    original = make_template(tmp_path, unit=CHI_MINH, entries=entries, name="goc.xlsx")
    copy = Workbook()
    sheet = copy.active
    sheet.title = MAIN_SHEET
    for row in load_workbook(original, data_only=True)[MAIN_SHEET].iter_rows():
        for cell in row:
            text = str(cell.value)
            if cell.value is not None and "CCHC[" not in text and "mã đơn vị" not in text:
                sheet.cell(cell.row, cell.column).value = cell.value
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    copy.save(inbox / "Book1.xlsx")
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    file = result.file("Book1.xlsx")
    assert file["status"] == "rejected" and file["unit_code"] is None
    assert file["findings"][0]["code"] == "identity.none"
    assert_vietnamese(file["findings"][0]["message"])
    assert result.unit(CHI_MINH.code)["status"] == "missing"
    assert_others_unchanged(result)


def test_unfilled_template_is_empty_and_rejected(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(blanks[CHI_MINH.code], inbox / CM)
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    file = result.file(CM)
    assert file["status"] == "rejected"
    found = result.one(CM, "file.empty")
    assert (found["severity"], found["sheet"]) == ("error", MAIN_SHEET)
    assert_vietnamese(found["message"])
    assert not result.findings(CM, "score.missing")  # one finding, not one per criterion
    assert result.unit(CHI_MINH.code)["status"] == "rejected"
    assert_others_unchanged(result)


def test_renamed_sheet_is_read_with_a_warning(tmp_path, blanks, others):
    def damage(wb, ws):
        ws.title = "Phu luc CCHC xa"

    result = harvest_chi_minh(tmp_path, blanks, others, damage=damage)
    found = result.one(CM, "sheet.renamed")
    assert found["severity"] == "warning"
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert_others_unchanged(result)


# ---------------------------------------------------------------------------------------------
# Several files for one unit


def test_newest_save_is_accepted_and_the_older_superseded(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    older = chi_minh(inbox, blanks, name="Phu luc CCHC.xlsx")
    newer = chi_minh(inbox, blanks, name="Phu luc CCHC - ban sua.xlsx", scores={**CM_SCORES, "1.7": "3"})
    set_saved_time(older, datetime(2024, 11, 20, 8, 0, tzinfo=timezone.utc))
    set_saved_time(newer, datetime(2024, 11, 25, 9, 30, tzinfo=timezone.utc))
    later = datetime(2024, 12, 1, tzinfo=timezone.utc).timestamp()  # the older one was copied last
    os.utime(older, (later, later))
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["file"] == str(newer) and outcome["self_total"] == D("75.1")
    old = result.file("Phu luc CCHC.xlsx")
    assert old["status"] == "superseded" and old["unit_code"] == CHI_MINH.code
    superseded = result.one("Phu luc CCHC.xlsx", "unit.superseded")
    assert superseded["severity"] == "warning"
    assert_vietnamese(superseded["message"], "Phu luc CCHC - ban sua.xlsx")
    new = result.file("Phu luc CCHC - ban sua.xlsx")
    assert new["status"] == "accepted"
    assert "Phu luc CCHC.xlsx" in result.one("Phu luc CCHC - ban sua.xlsx", "unit.superseded_other")["message"]
    assert result.harvest.counts()["superseded"] == 1
    assert_others_unchanged(result)


def test_same_saved_time_falls_back_to_the_file_time(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    first = chi_minh(inbox, blanks, name="a.xlsx")
    second = chi_minh(inbox, blanks, name="b.xlsx", scores={**CM_SCORES, "1.7": "3"})
    saved = datetime(2024, 11, 20, 8, 0, tzinfo=timezone.utc)
    set_saved_time(first, saved)
    set_saved_time(second, saved)
    os.utime(first, (saved.timestamp() + 3600,) * 2)  # a.xlsx arrived later
    os.utime(second, (saved.timestamp(),) * 2)
    result = run(tmp_path, inbox)
    assert result.unit(CHI_MINH.code)["file"] == str(first)
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert result.file("b.xlsx")["status"] == "superseded"


def test_same_file_twice_is_counted_once(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    first = chi_minh(inbox / "email", blanks, name="30512_xa-chi-minh_CCHC_2024.xlsx")
    second = inbox / "zalo" / "Phu luc CCHC (2).xlsx"
    second.parent.mkdir()
    shutil.copyfile(first, second)
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    assert result.file("30512_xa-chi-minh_CCHC_2024.xlsx")["status"] == "accepted"
    copy = result.file("Phu luc CCHC (2).xlsx")
    assert copy["status"] == "skipped" and copy["sha256"] == sha256(first)
    assert [f["code"] for f in copy["findings"]] == ["file.duplicate"]
    assert_vietnamese(copy["findings"][0]["message"], str(first))
    assert result.unit(CHI_MINH.code)["file"] == str(first)
    assert result.harvest.counts()["superseded"] == 0
    assert_others_unchanged(result)


# ---------------------------------------------------------------------------------------------
# Inputs: folders, nested zips, things that are not returns


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_folders_and_nested_zips_are_read_and_everything_else_is_listed(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    chi_minh(inbox / "Zalo", blanks)
    tx, tm = others
    (inbox / "email" / "2024-11").mkdir(parents=True)
    _zip(inbox / "email" / "2024-11" / "thu-ubnd.zip", {tx.name: tx.read_bytes(), "ghi chu.txt": b"Kinh gui"})
    inner = _zip(tmp_path / "inner.zip", {f"Thanh Mien/{tm.name}": tm.read_bytes()})
    _zip(inbox / "email" / "tong.zip", {"inner.zip": inner.read_bytes()})
    (inbox / "~$Phu luc CCHC (1).xlsx").write_bytes(b"\x0bnguyen van a" + b"\0" * 150)
    (inbox / ".hidden.xlsx").write_bytes(b"PK\x03\x04")
    (inbox / "ghi chu.txt").write_text("Kính gửi Phòng Nội vụ", encoding="utf-8")
    (inbox / "bao cao.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    (inbox / "hong.xlsx").write_bytes(os.urandom(2048).replace(b"PK", b"pk"))
    before = {p: sha256(p) for p in inbox.rglob("*") if p.is_file()}

    result = run(tmp_path, inbox)

    # The inbox is untouched.
    assert {p: sha256(p) for p in inbox.rglob("*") if p.is_file()} == before
    statuses = {f["path"]: f["status"] for f in result.data["files"]}
    zip1 = str(inbox / "email" / "2024-11" / "thu-ubnd.zip")
    zip2 = str(inbox / "email" / "tong.zip")
    expected = {
        str(inbox / "Zalo" / CM): "accepted",
        zip1: "skipped",
        f"{zip1} › {tx.name}": "accepted",
        f"{zip1} › ghi chu.txt": "skipped",
        zip2: "skipped",
        f"{zip2} › inner.zip": "skipped",
        f"{zip2} › inner.zip › Thanh Mien/{tm.name}": "accepted",
        str(inbox / "~$Phu luc CCHC (1).xlsx"): "skipped",
        str(inbox / ".hidden.xlsx"): "skipped",
        str(inbox / "ghi chu.txt"): "skipped",
        str(inbox / "bao cao.pdf"): "attachment",  # a document, not a failed return (issue 16)
        str(inbox / "hong.xlsx"): "rejected",
    }
    assert statuses == expected
    codes = {f["path"]: [x["code"] for x in f["findings"]] for f in result.data["files"]}
    assert codes[str(inbox / "~$Phu luc CCHC (1).xlsx")] == ["file.skipped_temp"]
    assert codes[str(inbox / ".hidden.xlsx")] == ["file.skipped_hidden"]
    assert codes[str(inbox / "ghi chu.txt")] == ["file.skipped_type"]
    assert codes[f"{zip1} › ghi chu.txt"] == ["file.skipped_type"]
    # it came with no return and its name names no commune: listed as an unmatched attachment
    assert codes[str(inbox / "bao cao.pdf")] == ["file.attachment_unmatched"]
    assert "PDF" in result.one("bao cao.pdf", "file.attachment_unmatched")["message"]
    assert codes[str(inbox / "hong.xlsx")][0] in ("file.damaged", "file.not_spreadsheet")
    assert codes[zip1] == ["file.archive"] and codes[zip2] == ["file.archive"]
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert result.unit(THANH_XA.code)["self_total"] == 76 and result.unit(THANH_XA.code)["file"].endswith(tx.name)
    assert result.unit(THANH_MIEN.code)["self_total"] == 74
    assert result.unit(TU_KY.code)["status"] == "missing"
    counts = result.harvest.counts()
    assert counts["received"] == len(expected) and counts["accepted"] == 3 and counts["missing"] == 1

    # received/ keeps a copy of every input, named by its SHA-256 prefix and original name.
    received = result.out / "received"
    copies = {p.name: sha256(p) for p in received.iterdir()}
    for file in result.data["files"]:
        digest = file["sha256"]
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        name = file["path"].split(" › ")[-1].split("/")[-1].split(os.sep)[-1]
        matching = [n for n in copies if n.startswith(digest[:12] + "_")]
        assert matching, file["path"]
        assert all(copies[n] == digest for n in matching)
        if re.fullmatch(r"[\w .()-]+", name):
            assert f"{digest[:12]}_{name}" in matching
    assert f"{sha256(tm)[:12]}_{tm.name}" in copies


def test_zip_member_names_from_windows_tools_are_repaired(tmp_path, others):
    name = "Phụ lục CCHC xã Thanh Xá.xlsx"
    archive = tmp_path / "Zalo.zip"
    raw = name.encode("utf-8")
    placeholder = b"x" * (len(raw) - 5) + b".xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(placeholder.decode(), others[0].read_bytes())
    # As old Windows tools write it: UTF-8 bytes in the name, without the UTF-8 flag.
    archive.write_bytes(buffer.getvalue().replace(placeholder, raw))
    assert not zipfile.ZipFile(archive).infolist()[0].flag_bits & 0x800
    result = run(tmp_path, archive)
    file = result.file(f"Zalo.zip › {name}")
    assert file["status"] == "accepted" and file["unit_code"] == THANH_XA.code
    assert (result.out / "received" / f"{file['sha256'][:12]}_{name}").is_file()


def test_many_files_are_read_in_parallel_with_the_same_results(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    chi_minh(inbox, blanks, scores={**CM_SCORES, "1.7": "4"})
    for other in others:
        shutil.copy(other, inbox / other.name)
    for index in range(24):
        (inbox / f"ghi chu {index:02d}.txt").write_text(f"Ghi chú {index}", encoding="utf-8")
    serial = harvest(RUBRIC, [inbox], UNITS, workers=1)
    parallel = harvest(RUBRIC, [inbox], UNITS, workers=2)
    assert parallel.counts() == serial.counts() and parallel.counts()["received"] == 27
    assert [(f.path, f.status, f.sha256, [x.code for x in f.findings]) for f in parallel.files] == \
        [(f.path, f.status, f.sha256, [x.code for x in f.findings]) for f in serial.files]
    assert [(u.unit.code, u.status, u.self_total, u.rank) for u in parallel.units] == \
        [(u.unit.code, u.status, u.self_total, u.rank) for u in serial.units]
    assert parallel.units[0].self_total == D("75.1")


def test_hostile_archives_are_rejected_without_stopping_the_harvest(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    chi_minh(inbox, blanks)
    for other in others:
        shutil.copy(other, inbox / other.name)
    for name, member in (("bom.xlsx", "xl/workbook.xml"), ("bom.zip", "data.bin")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(member, b"<x/>")
            zf.filelist[-1].file_size = 3 * 1024 ** 3  # the header claims 3 GB
        (inbox / name).write_bytes(buffer.getvalue())
    result = run(tmp_path, inbox)
    for name in ("bom.xlsx", "bom.zip"):
        file = result.file(name)
        assert file["status"] == "rejected"
        assert [f["code"] for f in file["findings"]] == ["file.zip_bomb"]
        assert_vietnamese(file["findings"][0]["message"])
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert_others_unchanged(result)


def test_workbook_with_macros_is_read_and_flagged(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    path = chi_minh(inbox, blanks)
    xlsm = inbox / "Phu luc CCHC.xlsm"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    path.unlink()
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    assert result.file("Phu luc CCHC.xlsm")["status"] == "accepted"
    assert result.one("Phu luc CCHC.xlsm", "file.macros")["severity"] == "warning"
    assert result.unit(CHI_MINH.code)["self_total"] == 75
    assert_others_unchanged(result)


# ---------------------------------------------------------------------------------------------
# Re-saved by LibreOffice (as WPS and LibreOffice users do)


@pytest.fixture(scope="module")
def typed_return(tmp_path_factory, blanks) -> tuple[Path, dict]:
    """Chí Minh's complete return typed with openpyxl, and what the harvest reads from it."""
    folder = tmp_path_factory.mktemp("typed")
    path = chi_minh(folder / "inbox", blanks, name="30512.xlsx")
    return path, run(folder, path).unit(CHI_MINH.code)


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xlsx", "xls:MS Excel 97", "ods"])
def test_resaved_by_libreoffice_gives_the_same_scores(tmp_path, typed_return, fmt):
    needs_libreoffice()
    original, before = typed_return
    resaved = libreoffice_convert(original, fmt, tmp_path / "lo")
    result = run(tmp_path, resaved)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["status"] == "submitted"
    for key in ("self_total", "scores", "subtotals", "evidence", "explanations", "group", "rank"):
        assert outcome[key] == before[key], key
    assert outcome["self_total"] == 75
    assert outcome["scores"] == decimals(CM_SCORES)
    assert {c: outcome["subtotals"][c] for c in CHI_MINH_SUBTOTALS} == decimals(CHI_MINH_SUBTOTALS)
    assert {c: outcome["evidence"][c] for c in CM_EVIDENCE} == CM_EVIDENCE
    assert outcome["explanations"] == CM_EXPLANATIONS
    file = result.file(resaved.name)
    assert file["status"] == "accepted" and file["unit_code"] == CHI_MINH.code
    # LibreOffice recalculated every formula: the file's totals agree with the rows.
    assert result.codes(resaved.name) == set()
    if fmt.startswith("xls:"):
        assert result.findings(resaved.name, "formula.unknown")


# ---------------------------------------------------------------------------------------------
# Outputs


UNIT_KEYS = {"code", "name", "status", "file", "self_total", "appraisal_total", "rank", "group", "subtotals", "scores",
             "evidence", "explanations"}
FILE_KEYS = {"path", "sha256", "unit_code", "status", "findings"}
FINDING_KEYS = {"code", "severity", "sheet", "cell", "message"}


def test_harvest_json_has_the_documented_structure_and_exact_numbers(tmp_path, blanks, others):
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.7": "4"})
    data = result.data
    assert {"rubric", "period", "tool_version", "units", "files"} <= set(data)
    assert data["rubric"] == HD and data["period"] == "2024" and isinstance(data["tool_version"], str)
    for unit in data["units"]:
        assert UNIT_KEYS <= set(unit)
        assert unit["status"] in ("submitted", "missing", "rejected")
        for key in ("subtotals", "scores"):
            assert all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in unit[key].values())
        assert all(isinstance(v, str) for v in (*unit["evidence"].values(), *unit["explanations"].values()))
    for file in data["files"]:
        assert FILE_KEYS <= set(file)
        assert file["status"] in ("accepted", "superseded", "rejected", "skipped")
        for finding in file["findings"]:
            assert FINDING_KEYS <= set(finding)
            assert finding["code"] in CATALOGUE
            assert finding["severity"] in ("error", "warning", "info")
            assert_vietnamese(finding["message"])
            assert finding["cell"] is None or re.fullmatch(r"[A-Z]{1,3}[1-9]\d*", finding["cell"])
    outcome = result.unit(CHI_MINH.code)
    assert outcome["subtotals"]["I"] == D("73.2") and outcome["self_total"] == D("75.1")
    assert outcome["scores"]["1.6.1"] == D("0.25") and outcome["scores"]["6.1.1"] == D("0.8")
    assert set(outcome["subtotals"]) == set(PARENTS)
    # JSON numbers, written as the exact decimals (no 75.10000000000001).
    text = (result.out / "harvest.json").read_text(encoding="utf-8")
    assert re.search(r'"self_total": 75\.1\b', text) and re.search(r'"I": 73\.2\b', text)
    assert not re.search(r"\d\.\d*0000000\d", text) and not re.search(r"\d\.\d*9999999\d", text)
    missing = result.unit(TU_KY.code)
    assert missing == {**missing, "status": "missing", "file": None, "self_total": None, "rank": None,
                       "group": None, "subtotals": {}, "scores": {}}


def test_ties_share_a_rank(tmp_path, others):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for other in others:
        shutil.copy(other, inbox / other.name)
    for unit in (CHI_MINH, TU_KY):  # both score 75
        entries = Entries(scores=decimals(CM_SCORES), evidence=CM_EVIDENCE, explanations=CM_EXPLANATIONS)
        make_template(inbox, unit=unit, entries=entries)
    result = run(tmp_path, inbox)
    ranks = {u["code"]: (u["self_total"], u["rank"], u["group"]) for u in result.data["units"]}
    assert ranks == {
        THANH_XA.code: (76, 1, "Khá"), CHI_MINH.code: (75, 2, "Khá"), TU_KY.code: (75, 2, "Khá"),
        THANH_MIEN.code: (74, 4, "Khá"),
    }


def test_commune_text_never_becomes_a_formula_in_the_outputs(tmp_path, others):
    hyperlink = '=HYPERLINK("http://x","y")'
    evidence = {**CM_EVIDENCE, "1.1.1": hyperlink, "1.2": "=1+1"}
    explanations = {**CM_EXPLANATIONS, "1.7": "=1+1"}
    scores = {**decimals(CM_SCORES), "1.3.1": "=2+2"}  # typed as text
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_template(inbox, unit=CHI_MINH, entries=Entries(scores=scores, evidence=evidence, explanations=explanations),
                  name=CM)
    for other in others:
        shutil.copy(other, inbox / other.name)
    result = run(tmp_path, inbox)
    outcome = result.unit(CHI_MINH.code)
    assert outcome["evidence"]["1.1.1"] == hyperlink and outcome["evidence"]["1.2"] == "=1+1"
    assert outcome["explanations"]["1.7"] == "=1+1"
    assert "=2+2" in result.one(CM, "score.not_number")["message"]
    workbook = load_workbook(result.out / "tong-hop.xlsx")
    seen = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and ("=" in cell.value or "HYPERLINK" in cell.value):
                    assert cell.data_type == "s"
                    seen.append(cell.value)
    assert any("=2+2" in text for text in seen)  # the finding's message quotes it, as text


def test_tong_hop_has_summary_findings_errors_first_and_progress_for_every_unit(tmp_path, blanks, others):
    result = harvest_chi_minh(tmp_path, blanks, others, scores={**CM_SCORES, "1.7": "4", "1.2": "Đạt"},
                              evidence={c: t for c, t in CM_EVIDENCE.items() if c != "1.3.1"})
    workbook = load_workbook(result.out / "tong-hop.xlsx")
    names = workbook.sheetnames
    assert {"Tổng hợp", "Kiểm tra", "Tiến độ"} <= set(names)
    assert names.index("Tổng hợp") < names.index("Kiểm tra") < names.index("Tiến độ")

    summary = workbook["Tổng hợp"]
    header = [c.value for c in summary[4]]
    assert header[:3] == ["STT", "Lĩnh vực/Tiêu chí", "Điểm tối đa"]
    assert set(header[3:6]) == {CHI_MINH.name, THANH_XA.name, THANH_MIEN.name}
    column = {name: index for index, name in enumerate(header)}
    rows = {summary.cell(r, 1).value: r for r in range(5, summary.max_row + 1) if summary.cell(r, 1).value}
    cm = column[CHI_MINH.name] + 1
    assert summary.cell(rows["1.7"], cm).value == 3  # counted at its maximum
    assert summary.cell(rows["I"], cm).value == pytest.approx(71.2)
    total_row = next(r for r in range(5, summary.max_row + 1) if summary.cell(r, 1).value == "Tổng điểm tự đánh giá")
    assert summary.cell(total_row, cm).value == pytest.approx(73.1)
    assert summary.cell(total_row, column[THANH_XA.name] + 1).value == 76

    checks = workbook["Kiểm tra"]
    assert [c.value for c in checks[4]] == ["Đơn vị", "Tệp", "Trang", "Ô", "Mức độ", "Nội dung"]
    lines = [[c.value for c in row] for row in checks.iter_rows(min_row=5) if any(c.value for c in row)]
    order = {"Lỗi": 0, "Cảnh báo": 1, "Thông tin": 2}
    levels = [order[line[4]] for line in lines]
    assert levels == sorted(levels) and levels[0] == 0
    cells = {(line[3], line[4]) for line in lines}
    assert {("D30", "Lỗi"), ("D16", "Lỗi"), (f"E{ROW['1.3.1']}", "Cảnh báo")} <= cells
    suggestions = {f.message for f in result.harvest.findings() if f.for_council}  # every commune gets some
    assert all(line[0].startswith(CHI_MINH.code) and line[1].endswith(CM) and line[2] == MAIN_SHEET
               for line in lines if line[3] and line[5] not in suggestions)
    assert len(lines) == len(result.harvest.findings())
    assert checks.auto_filter.ref

    progress = workbook["Tiến độ"]
    table = {row[1].value: [c.value for c in row] for row in progress.iter_rows(min_row=5) if row[1].value}
    assert list(table) == [u.code for u in UNITS]
    assert table[TU_KY.code][3] == "Không" and table[TU_KY.code][6] == "Chưa nộp"
    assert table[CHI_MINH.code][3] == "Có" and table[CHI_MINH.code][6] == "Đã nộp"
    assert table[CHI_MINH.code][4].endswith(CM)
    assert table[CHI_MINH.code][7] == 2  # errors: 1.7 above its maximum, 1.2 not a number


# ---------------------------------------------------------------------------------------------
# The command


def units_csv(path: Path, units=UNITS) -> Path:
    lines = ["code,name,kind"] + [f"{u.code},{u.name},{u.kind}" for u in units]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_harvest_json_summary_matches_the_library_and_exits_0_despite_bad_inputs(tmp_path, blanks, others):
    inbox = tmp_path / "inbox"
    chi_minh(inbox, blanks, scores={**CM_SCORES, "1.7": "4"})
    for other in others:
        shutil.copy(other, inbox / other.name)
    (inbox / "hong.xlsx").write_bytes(b"not a workbook at all")
    (inbox / "bao cao.pdf").write_bytes(b"%PDF-1.4\n")
    units = units_csv(tmp_path / "don-vi.csv")
    out = tmp_path / "ket-qua"
    result = CliRunner().invoke(main, ["harvest", HD, str(inbox), "--units", str(units), "--out", str(out),
                                       "--period", "2024", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    library = harvest(RUBRIC, [inbox], UNITS, period=parse_period("2024"), workers=1)
    assert printed["summary"] == library.counts()
    assert printed["summary"]["rejected"] == 1 and printed["summary"]["attachments"] == 1
    assert printed["summary"]["missing"] == 1
    assert printed["summary"]["accepted"] == 3 and printed["summary"]["received"] == 5
    assert (out / "harvest.json").is_file() and (out / "tong-hop.xlsx").is_file() and (out / "received").is_dir()
    data = load_json(out / "harvest.json")
    assert data["summary"] == printed["summary"]
    assert {u["code"]: u["self_total"] for u in data["units"]} == {
        CHI_MINH.code: D("75.1"), THANH_XA.code: 76, THANH_MIEN.code: 74, TU_KY.code: None}


def test_cli_harvest_prints_a_vietnamese_summary(tmp_path, others):
    units = units_csv(tmp_path / "don-vi.csv")
    result = CliRunner().invoke(main, ["harvest", HD, str(others[0]), str(others[1]), "--units", str(units),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Đã nhận 2 tệp: 2 được tính" in result.stdout
    assert "còn 2 đơn vị chưa nộp" in result.stdout


def test_cli_usage_errors_exit_2(tmp_path, others):
    units = units_csv(tmp_path / "don-vi.csv")
    runner = CliRunner()
    no_units = runner.invoke(main, ["harvest", HD, str(others[0]), "--out", str(tmp_path / "out")])
    assert no_units.exit_code == 2 and "--units" in no_units.output
    no_input = runner.invoke(main, ["harvest", HD, "--units", str(units), "--out", str(tmp_path / "out")])
    assert no_input.exit_code == 2
    absent = runner.invoke(main, ["harvest", HD, str(tmp_path / "khong-co"), "--units", str(units),
                                  "--out", str(tmp_path / "out")])
    assert absent.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_cli_exits_1_when_the_outputs_cannot_be_written(tmp_path, others):
    units = units_csv(tmp_path / "don-vi.csv")
    out = tmp_path / "out"
    (out / "harvest.json").mkdir(parents=True)  # something in the way of the output file
    result = CliRunner().invoke(main, ["harvest", HD, str(others[0]), "--units", str(units), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("Lỗi:") and "harvest.json" not in os.listdir(out / "harvest.json")
