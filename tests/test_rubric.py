"""Rubric loading and validation: every rule, each with a broken rubric written inline."""

from decimal import Decimal
from textwrap import dedent

import pytest

from cchc_xls.errors import RubricError
from cchc_xls.rubric import check_rubric_file, load_rubric

GOOD = """\
id: test-2024
title: "Bộ tiêu chí thử"
version: "1"
legal_basis:
  document: "Quyết định số 1/QĐ-UBND"
  date: "2024-01-02"
  issuer: "UBND tỉnh Thử"
  province: "Thử"
total: 10
na_policy: rescale
groups:
  bands:
    - {name: "Tốt", min: 8}
    - {name: "Khá", min: 5}
    - {name: "Yếu", min: 0}
tree:
  - code: "I"
    label: "LĨNH VỰC MỘT"
    max: 6
    children:
      - code: "1.1"
        label: "Tiêu chí một"
        max: 2.5
        levels:
          - {points: 0, text: "Không thực hiện"}
          - {points: 2.5, text: "Thực hiện đầy đủ"}
      - code: "1.2"
        label: "Tiêu chí hai"
        max: 3.5
        step: 0.25
  - code: "II"
    label: "LĨNH VỰC HAI"
    max: 4
    children:
      - code: "2.1"
        label: "Khảo sát của tỉnh"
        max: 3
        self_scored: false
      - code: "2.2"
        label: "Việc phát sinh (nếu có)"
        max: 1
        may_be_na: true
        applies_to: ["xã"]
"""


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def codes_of(findings):
    return sorted(f.code for f in findings)


def check(tmp_path, text):
    rubric, findings = check_rubric_file(write(tmp_path, text))
    return rubric, findings


def test_good_rubric_loads_with_exact_decimals(tmp_path):
    rubric = load_rubric(write(tmp_path, GOOD))
    assert rubric.id == "test-2024"
    assert [n.code for n in rubric.nodes()] == ["I", "1.1", "1.2", "II", "2.1", "2.2"]
    assert rubric.node("1.2").max == Decimal("3.5")
    assert rubric.node("1.2").step == Decimal("0.25")
    assert [lv.points for lv in rubric.node("1.1").levels] == [Decimal(0), Decimal("2.5")]
    assert rubric.node("2.1").self_scored is False
    assert rubric.node("2.2").may_be_na and rubric.node("2.2").applies_to == ("xã",)
    assert rubric.self_max() == Decimal(7)
    assert rubric.group_for(Decimal("8")) == "Tốt"
    assert rubric.group_for(Decimal("7.99")) == "Khá"
    assert rubric.group_for(Decimal("0")) == "Yếu"
    assert rubric.legal_basis.describe() == "Quyết định số 1/QĐ-UBND ngày 02/01/2024 của UBND tỉnh Thử"
    assert len(rubric.content_hash) == 16


def test_float_text_is_read_exactly(tmp_path):
    text = GOOD.replace("max: 2.5\n        levels", "max: 0.1\n        levels").replace("points: 2.5", "points: 0.1")
    text = text.replace("max: 3.5\n        step: 0.25", "max: 5.9")
    rubric = load_rubric(write(tmp_path, text))
    assert rubric.node("1.1").max == Decimal("0.1")
    assert rubric.node("I").max == Decimal(6)


def test_content_hash_changes_with_a_maximum(tmp_path):
    first = load_rubric(write(tmp_path, GOOD, "a.yaml"))
    second = load_rubric(write(tmp_path, GOOD.replace("max: 6", "max: 6.5").replace("max: 3.5", "max: 4").replace("total: 10", "total: 10.5"), "b.yaml"))
    assert first.content_hash != second.content_hash


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ('- code: "1.2"', '- code: "1.1"', "rubric.duplicate_code"),
        ('label: "Tiêu chí hai"', 'label: ""', "rubric.missing_label"),
        ("max: 1\n        may_be_na", "max: 0\n        may_be_na", "rubric.nonpositive_max"),
        ("levels:\n          - {points: 0", "levls:\n          - {points: 0", "rubric.unknown_key"),
        ("total: 10", "totl: 10", "rubric.unknown_key"),
        ("step: 0.25", "step: 0.3", "rubric.step_invalid"),
        ('applies_to: ["xã"]', 'applies_to: ["huyện"]', "rubric.bad_kind"),
        ("self_scored: false", "self_scored: không", "rubric.bad_value"),
        ("na_policy: rescale", "na_policy: maybe", "rubric.bad_value"),
        ('- code: "2.2"', '- code: "2 2"', "rubric.bad_code"),
    ],
)
def test_each_rule_is_reported(tmp_path, old, new, expected):
    assert old in GOOD
    rubric, findings = check(tmp_path, GOOD.replace(old, new, 1))
    assert rubric is None
    assert expected in codes_of(findings)
    finding = next(f for f in findings if f.code == expected)
    assert finding.file == "r.yaml"
    assert finding.severity == "error"


def test_parent_sum_names_both_figures(tmp_path):
    _, findings = check(tmp_path, GOOD.replace("max: 3.5", "max: 3"))
    sums = [f for f in findings if f.code == "rubric.parent_sum"]
    assert len(sums) == 1
    assert "“I”" in sums[0].message and "6" in sums[0].message and "5,5" in sums[0].message
    assert "I" in sums[0].node


def test_total_must_match_the_declared_total(tmp_path):
    _, findings = check(tmp_path, GOOD.replace("total: 10", "total: 12"))
    assert "rubric.total_sum" in codes_of(findings)


def test_level_above_the_maximum(tmp_path):
    _, findings = check(tmp_path, GOOD.replace("points: 2.5", "points: 3"))
    finding = next(f for f in findings if f.code == "rubric.level_above_max")
    assert "1.1" in finding.node and "3" in finding.message


def test_unordered_thresholds(tmp_path):
    text = GOOD.replace('{name: "Khá", min: 5}', '{name: "Khá", min: 9}')
    _, findings = check(tmp_path, text)
    assert "rubric.thresholds_order" in codes_of(findings)
    _, findings = check(tmp_path, GOOD.replace('{name: "Yếu", min: 0}', '{name: "Yếu", min: 1}'))
    assert "rubric.thresholds_order" in codes_of(findings)


def test_parent_may_not_carry_its_own_scoring(tmp_path):
    text = GOOD.replace('label: "LĨNH VỰC HAI"', 'label: "LĨNH VỰC HAI"\n    self_scored: false')
    _, findings = check(tmp_path, text)
    assert "rubric.parent_scoring" in codes_of(findings)


def test_every_problem_is_reported_at_once(tmp_path):
    text = (GOOD.replace('- code: "1.2"', '- code: "1.1"')
            .replace('label: "Khảo sát của tỉnh"', 'label: ""')
            .replace("total: 10", "total: 11")
            .replace("step: 0.25", "step: 0.25\n        stepp: 1"))
    _, findings = check(tmp_path, text)
    assert {"rubric.duplicate_code", "rubric.missing_label", "rubric.total_sum", "rubric.unknown_key"} <= set(codes_of(findings))


def test_missing_required_keys(tmp_path):
    _, findings = check(tmp_path, "id: x\ntree: []\n")
    codes = codes_of(findings)
    assert codes.count("rubric.missing_key") >= 4
    assert "rubric.empty_tree" in codes


def test_unreadable_yaml(tmp_path):
    _, findings = check(tmp_path, "id: [unclosed\n")
    assert codes_of(findings) == ["rubric.unreadable"]


def test_load_rubric_raises_with_all_findings(tmp_path):
    with pytest.raises(RubricError) as info:
        load_rubric(write(tmp_path, GOOD.replace("total: 10", "total: 12")))
    assert [f.code for f in info.value.findings] == ["rubric.total_sum"]
    assert str(info.value).startswith(f"Bộ tiêu chí “{tmp_path / 'r.yaml'}” có lỗi:\n")
    assert str(info.value.findings[0]) in str(info.value)


def test_unknown_rubric_id_lists_the_bundled_ones():
    with pytest.raises(RubricError) as info:
        load_rubric("no-such-rubric")
    assert "hai-duong-2022" in str(info.value)
    assert str(info.value).startswith("Không có bộ tiêu chí “no-such-rubric”. Các bộ có sẵn: ")
    assert str(info.value).endswith("; hoặc chỉ đường dẫn tới tệp .yaml.")


def test_a_rubric_path_that_does_not_exist_is_named():
    with pytest.raises(RubricError) as info:
        load_rubric("khong-co/bo-tieu-chi.yaml")
    assert str(info.value) == "Không tìm thấy tệp bộ tiêu chí “khong-co/bo-tieu-chi.yaml”."


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ('applies_to: ["xã"]', "applies_to: 5", "rubric.bad_value"),
        ("max: 1\n        may_be_na", "max: .inf\n        may_be_na", "rubric.bad_value"),
        ("max: 1\n        may_be_na", "max: 1:30.5\n        may_be_na", "rubric.bad_value"),
        ("  bands:\n", "  bands: 5\n  old:\n", "rubric.bad_value"),
    ],
)
def test_malformed_values_are_findings_not_crashes(tmp_path, old, new, expected):
    assert old in GOOD
    rubric, findings = check(tmp_path, GOOD.replace(old, new, 1))
    assert rubric is None
    assert expected in codes_of(findings)


def test_empty_bands_are_missing(tmp_path):
    text = GOOD[: GOOD.index("  bands:")] + "  bands: []\n" + GOOD[GOOD.index("tree:"):]
    _, findings = check(tmp_path, text)
    assert "rubric.missing_key" in codes_of(findings)


def test_content_hash_ignores_how_a_number_is_written(tmp_path):
    first = load_rubric(write(tmp_path, GOOD, "a.yaml"))
    second = load_rubric(write(tmp_path, GOOD.replace("max: 2.5\n", "max: 2.50\n").replace("total: 10", "total: 10.0"), "b.yaml"))
    assert first.content_hash == second.content_hash
