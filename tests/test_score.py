"""score.py's rules, exercised directly: ties, rescaling and its rounding, the N/A policies,
bands at their boundaries, percentages cut as the reports write them."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from cchc_xls.rubric import load_rubric
from cchc_xls.score import (
    compute_totals, cut_percent, not_applicable_codes, rank_with_ties, ranks_within, rescale, self_percent,
)

D = Decimal
TN = load_rubric("thai-nguyen-2021")  # 8.5.2 (0,5 points) may be marked N/A
HD = load_rubric("hai-duong-2022")
FULL = {leaf.code: leaf.max for leaf in TN.leaves() if leaf.self_scored}


def test_ties_share_a_rank_and_skip_the_next():
    assert rank_with_ties([D(90), D(80), D(80), D(70)]) == [1, 2, 2, 4]
    assert rank_with_ties([D(70), D(80), D(90), D(80)]) == [4, 2, 1, 2]
    assert rank_with_ties([D(5), D(5), D(5)]) == [1, 1, 1]
    assert rank_with_ties([]) == []


def test_ranks_within_a_cluster_count_a_blank_as_zero():
    assert ranks_within({"a": D(50), "b": None, "c": D(50), "d": D(60)}) == {"a": 2, "b": 4, "c": 2, "d": 1}


def test_rescale_rounds_half_up_to_three_places():
    assert rescale(D(99), D(100), D(100)) == D(99)  # all apply: unchanged
    assert rescale(D("99"), D(100), D("99.5")) == D("99.497")  # 99.4974… down
    assert rescale(D("1.0005"), D(100), D(100)) == D("1.0005")  # unchanged, not rounded
    assert rescale(D("0.5"), D(3), D(2)) == D("0.75")
    assert rescale(D(1), D(3), D(2)) == D("1.5")
    assert rescale(D("0.0005"), D(2), D(1)) == D("0.001")  # 0.001 exactly
    assert rescale(D("0.00025"), D(2), D(1)) == D("0.001")  # 0.0005 -> half up
    assert rescale(D(5), D(10), D(0)) == D(5)  # nothing applicable: left as is


def test_marked_na_counts_only_where_allowed():
    leaf = next(leaf for leaf in TN.leaves() if leaf.may_be_na)
    other = next(leaf for leaf in TN.leaves() if not leaf.may_be_na)
    assert not_applicable_codes(TN, "xã", {leaf.code, other.code}) == {leaf.code}


def test_rescale_policy_scales_to_the_rubric_total():
    scores = {code: value for code, value in FULL.items() if code != "8.5.2"}
    totals = compute_totals(TN, scores, "xã", {"8.5.2"})
    survey = sum((leaf.max for leaf in TN.leaves() if not leaf.self_scored), D(0))
    assert totals.applicable_max == TN.total - D("0.5")
    assert totals.raw_total == TN.total - survey - D("0.5")
    assert totals.total == (totals.raw_total * TN.total / totals.applicable_max).quantize(D("0.001"))
    assert totals.not_applicable == {"8.5.2"}


def test_full_marks_policy_counts_the_maximum():
    rubric = dataclasses.replace(TN, na_policy="full_marks")
    scores = {code: value for code, value in FULL.items() if code != "8.5.2"}
    totals = compute_totals(rubric, scores, "xã", {"8.5.2"})
    assert totals.applicable_max == rubric.total
    assert totals.raw_total == totals.total == sum(FULL.values(), D(0))
    assert totals.subtotals["8.5"] == D(1)


@pytest.mark.parametrize("total, band", [
    (D(100), "Xuất sắc"), (D(90), "Xuất sắc"), (D("89.999"), "Tốt"), (D(80), "Tốt"), (D("79.999"), "Khá"),
    (D(70), "Khá"), (D(50), "Trung bình"), (D("49.999"), "Yếu"), (D(0), "Yếu"), (None, None),
])
def test_bands_at_their_boundaries(total, band):
    assert HD.group_for(total) == band


def test_percent_is_cut_not_rounded():
    assert cut_percent(D("14.35"), D(15)) == D("95.66")  # 95.666…
    assert cut_percent(D(2), D(3)) == D("66.66")
    assert cut_percent(D(1), D(1)) == D("100.00")
    assert cut_percent(D(1), D(0)) == D(0)


def test_self_percent_leaves_out_na_and_survey():
    scores = {code: value for code, value in FULL.items() if code != "8.5.2"}
    totals = compute_totals(TN, scores, "xã", {"8.5.2"})
    assert self_percent(TN, totals) == D("100.00")
    assert self_percent(TN, None) is None
