"""check.py's rules, one at a time, on a minimal Return built in code (no workbook): each rule
must yield its finding at the right cell and count the right score.

The rubric, written inline: one area I (10 points) with a criterion scored by levels (1.1), one
by steps of 0,5 (1.2), one that may not apply (1.3), one the province scores (1.4) and one only
for wards (1.5). The unit is a commune (xã), so 1.5 does not apply to it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from cchc_xls.check import check_return
from cchc_xls.layout import NA_MARK, TOTAL_LABEL
from cchc_xls.read import Return, Row
from cchc_xls.rubric import load_rubric
from cchc_xls.workbook import Cell

D = Decimal
YAML = """
id: thu-check
title: Bộ tiêu chí thử
version: "1"
unit_level: xã
legal_basis: {document: "Quyết định số 1/QĐ-UBND", date: "2025-01-02", issuer: "UBND tỉnh Thử", province: "Thử"}
total: 10
na_policy: rescale
evidence_required: true
groups:
  bands:
    - {name: "Tốt", min: 8}
    - {name: "Yếu", min: 0}
tree:
  - code: "I"
    label: "Lĩnh vực thử"
    max: 10
    children:
      - {code: "1.1", label: "Có mức", max: 2, levels: [{points: 0}, {points: 1}, {points: 2}]}
      - {code: "1.2", label: "Bước", max: 2, step: 0.5}
      - {code: "1.3", label: "Nếu có", max: 2, may_be_na: true}
      - {code: "1.4", label: "Điều tra", max: 2, self_scored: false}
      - {code: "1.5", label: "Chỉ phường", max: 2, applies_to: [phường]}
"""
COLUMNS = {"code": 1, "label": 2, "max": 3, "score": 4, "na": 5, "evidence": 6, "explanation": 7}
HEADER_ROW = 5
GOOD = {"1.1": 2.0, "1.2": 2.0, "1.3": 2.0}  # full marks where the commune scores


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    path = tmp_path_factory.mktemp("check") / "thu-check.yaml"
    path.write_text(YAML, encoding="utf-8")
    return load_rubric(path)


def build(rubric, scores=None, na=(), evidence=None, explanations=None, parent=None, total=None) -> Return:
    """A return as the reader would locate it: one row per node under the header row, the area's
    cell a formula showing the sum (or `parent`: (value, formula)), and the total row below."""
    scores = dict(GOOD if scores is None else scores)
    evidence = {code: "Báo cáo số 1/BC-UBND" for code in scores} if evidence is None else evidence
    explanations = explanations or {}
    ret = Return(file="thu.xlsx", format="xlsx", sheet_name="Phụ lục I", columns=dict(COLUMNS), header_row=HEADER_ROW,
                 protected=True)
    number = HEADER_ROW
    leaf_sum = D(0)
    for node in rubric.nodes():
        number += 1
        row = Row(code=node.code, row=number, label=node.label, max=float(node.max))
        if node.is_leaf:
            value = scores.get(node.code)
            if isinstance(value, Cell):
                row.score = value
            elif value is not None:
                row.score = Cell(value)
                if isinstance(value, float):
                    leaf_sum += D(str(value))
            row.na = NA_MARK if node.code in na else None
            row.evidence = evidence.get(node.code)
            row.explanation = explanations.get(node.code)
        ret.rows[node.code] = row
        ret.order.append(node.code)
    shown, formula = parent if parent is not None else (float(leaf_sum), "=SUM(D7:D11)")
    ret.rows["I"].score = Cell(shown, formula)
    total_value = float(leaf_sum) if total is None else total
    ret.total_cells.append((number + 1, Cell(total_value, "=D6"), TOTAL_LABEL))
    return ret


def codes(checked) -> dict[str, str]:
    """finding code -> its cell, for the findings of one check (the council's evidence
    suggestions apart: test_council_suggestions_are_made_with_the_check and test_evidence.py)."""
    return {f.code: f.cell for f in checked.findings if not f.for_council}


def test_council_suggestions_are_made_with_the_check(rubric):
    checked = check_return(build(rubric, evidence={"1.1": "Có", "1.2": "Kế hoạch", "1.3": "Báo cáo số 1/BC-UBND"}),
                           rubric, "xã")
    assert {f.code: f.cell for f in checked.findings if f.for_council} == {
        "evidence.token_only": "F7", "evidence.no_document": "F8"}
    # what the cross-commune rules compare: no dated document here, one text long enough (1.3)
    leaves = [node.code for node in rubric.leaves()]
    assert [(leaves[(v >> 16) & 0xFFFF], v & 0xFFFF) for v in checked.citations] == [("1.3", 9)]
    assert checked.evidence_column == "F"


def test_a_good_return_has_no_findings(rubric):
    checked = check_return(build(rubric), rubric, "xã")
    assert checked.findings == []
    assert checked.scores == {"1.1": D(2), "1.2": D(2), "1.3": D(2)}
    assert checked.totals.raw_total == D(6)


def test_above_max_counts_the_maximum(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.2": 2.5}), rubric, "xã")
    assert codes(checked)["score.above_max"] == "D8"
    assert checked.scores["1.2"] == D(2)


def test_negative_counts_zero(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.2": -1.0}, explanations={"1.2": "chưa đạt"}), rubric, "xã")
    assert codes(checked)["score.negative"] == "D8"
    assert checked.scores["1.2"] == D(0)


def test_off_level(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.1": 1.5}, explanations={"1.1": "một phần"}), rubric, "xã")
    assert codes(checked)["score.off_level"] == "D7"


def test_off_step(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.2": 1.25}, explanations={"1.2": "một phần"}), rubric, "xã")
    assert codes(checked)["score.off_step"] == "D8"
    assert "score.off_level" not in codes(checked)


def test_text_number_is_read_with_its_decimal_comma(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.2": "1,5"}, explanations={"1.2": "một phần"}), rubric, "xã")
    assert codes(checked)["score.text_number"] == "D8"
    assert checked.scores["1.2"] == D("1.5")


def test_thousands_separator_is_questioned(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.2": "1,500"}, explanations={"1.2": "một phần"}), rubric, "xã")
    assert codes(checked)["score.thousands_separator"] == "D8"
    assert "score.text_number" not in codes(checked)
    assert checked.scores["1.2"] == D("1.5")


def test_a_date_is_not_a_score(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.2": Cell(45000.0, is_date=True)}), rubric, "xã")
    assert codes(checked)["score.date"] == "D8"
    assert "1.2" not in checked.scores
    assert "score.missing" not in codes(checked)  # the date is the problem, said once


def test_missing_score(rubric):
    scores = {k: v for k, v in GOOD.items() if k != "1.2"}
    checked = check_return(build(rubric, scores), rubric, "xã")
    assert codes(checked)["score.missing"] == "D8"
    assert "1.2" not in checked.scores


def test_survey_score_entered_is_not_counted(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.4": 2.0}, parent=(6.0, "=SUM(D7:D11)"), total=6.0), rubric, "xã")
    assert codes(checked)["score.survey_entered"] == "D10"
    assert "1.4" not in checked.scores


def test_excluded_score_entered_is_not_counted(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.5": 2.0}, parent=(6.0, "=SUM(D7:D11)"), total=6.0), rubric, "xã")
    assert codes(checked)["score.excluded_entered"] == "D11"
    assert "1.5" not in checked.scores
    ward = check_return(build(rubric, {**GOOD, "1.5": 2.0}), rubric, "phường")
    assert "score.excluded_entered" not in codes(ward) and ward.scores["1.5"] == D(2)


def test_na_where_not_allowed_is_ignored(rubric):
    checked = check_return(build(rubric, na={"1.1"}), rubric, "xã")
    assert codes(checked)["na.not_allowed"] == "E7"
    assert checked.scores["1.1"] == D(2) and "1.1" not in checked.na


def test_na_with_a_score_and_without_explanation(rubric):
    checked = check_return(build(rubric, na={"1.3"}, parent=(6.0, "=SUM(D7:D11)"), total=6.0), rubric, "xã")
    found = codes(checked)
    assert found["na.with_score"] == "E9"
    assert found["na.no_explanation"] == "G9"
    assert checked.na == {"1.3"} and "1.3" not in checked.scores


def test_na_with_explanation_is_rescaled(rubric):
    scores = {k: v for k, v in GOOD.items() if k != "1.3"}
    checked = check_return(build(rubric, scores, na={"1.3"}, explanations={"1.3": "không phát sinh"}), rubric, "xã")
    assert checked.findings == []
    # 1.5 (wards only) and 1.3 (N/A) are out: 4 of the 6 points that apply, rescaled to 10
    assert checked.totals.not_applicable == {"1.3", "1.5"}
    assert checked.totals.applicable_max == D(6)
    assert checked.totals.total == D("6.667")  # 6,666… rounded half up to 3 places


def test_evidence_missing(rubric):
    checked = check_return(build(rubric, evidence={"1.1": "Kế hoạch", "1.3": "Báo cáo"}), rubric, "xã")
    assert codes(checked) == {"evidence.missing": "F8"}


def test_explanation_missing_below_the_maximum(rubric):
    checked = check_return(build(rubric, {**GOOD, "1.1": 1.0}), rubric, "xã")
    assert codes(checked) == {"explanation.missing": "G7"}
    explained = check_return(build(rubric, {**GOOD, "1.1": 1.0}, explanations={"1.1": "một phần"}), rubric, "xã")
    assert explained.findings == []


def test_formula_replaced_by_a_number(rubric):
    checked = check_return(build(rubric, parent=(6.0, None)), rubric, "xã")
    assert codes(checked) == {"formula.replaced": "D6"}


def test_total_mismatch(rubric):
    checked = check_return(build(rubric, parent=(7.0, "=SUM(D7:D11)")), rubric, "xã")
    assert codes(checked)["total.mismatch"] == "D6"
    assert checked.totals.raw_total == D(6)  # counted from the criteria, never from the file's total
