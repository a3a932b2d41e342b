"""The three bundled rubrics, checked against the seed documents they were transcribed from.

Seeds (in ../shared/seeds/, not part of the repository, so the figures are copied here):
- 002: Thái Nguyên, Phụ lục of Quyết định 4203/QĐ-UBND (30/12/2021), the full rubric table;
  maxima are written with a decimal comma there ("1,25").
- 003: Xã Chí Minh (Hải Dương), six-month 2023 self-assessment table: for every row the
  maximum (Điểm tối đa) and the self score (Điểm tự đánh giá), under Quyết định 3395/QĐ-UBND.
- 001: Xã Hà Bắc, huyện Hà Trung (Thanh Hóa), 2023 report under Hướng dẫn 3683/HD-UBND:
  "score/maximum" per criterion ("7.4. Cung cấp dịch vụ công trực tuyến : 4/5.5 điểm").
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest
import yaml

from cchc_xls.numbers import format_vn
from cchc_xls.rubric import bundled_rubric_paths, check_rubric_file, load_rubric, rubrics_dir

D = Decimal
IDS = ("thai-nguyen-2021", "hai-duong-2022", "ha-trung-2023")


@pytest.fixture(scope="module", params=IDS)
def rubric(request):
    return load_rubric(request.param)


def by_id(rubric_id):
    return load_rubric(rubric_id)


# ---- loading --------------------------------------------------------------------------------


def test_the_three_rubrics_are_bundled():
    stems = {p.stem for p in bundled_rubric_paths()}
    assert set(IDS) <= stems


@pytest.mark.parametrize("rubric_id", IDS)
def test_loads_without_any_finding(rubric_id):
    loaded, findings = check_rubric_file(rubrics_dir() / f"{rubric_id}.yaml")
    assert findings == []
    assert loaded is not None
    assert loaded.id == rubric_id  # the file name is the id `cchc rubric show ID` looks up


def test_total_is_100_and_the_areas_sum_to_it(rubric):
    assert rubric.total == D(100)
    assert sum((r.max for r in rubric.roots), D(0)) == D(100)
    assert sum((n.max for n in rubric.leaves()), D(0)) == D(100)


def test_every_maximum_is_an_exact_decimal(rubric):
    for node in rubric.nodes():
        assert isinstance(node.max, Decimal), node.code
        assert node.max > 0, node.code


@pytest.mark.parametrize("rubric_id,count", [("thai-nguyen-2021", 119), ("hai-duong-2022", 76), ("ha-trung-2023", 40)])
def test_leaf_counts(rubric_id, count):
    assert len(by_id(rubric_id).leaves()) == count


# ---- top-level maxima per area ----------------------------------------------------------------


def test_thai_nguyen_areas():
    # seed 002, Phụ lục: I 10, II 7, III 20, IV 20, V 10, VI 5, VII 12, VIII 16.
    r = by_id("thai-nguyen-2021")
    assert [(n.code, n.max) for n in r.roots] == [
        ("I", D(10)), ("II", D(7)), ("III", D(20)), ("IV", D(20)),
        ("V", D(10)), ("VI", D(5)), ("VII", D(12)), ("VIII", D(16)),
    ]


def test_hai_duong_parts_and_areas():
    # seed 003: "I. ĐÁNH GIÁ KẾT QUẢ ... 74", areas 1..7 = 15, 5, 18.5, 6, 11, 7, 11.5;
    # "II. ĐÁNH GIÁ TÁC ĐỘNG CỦA CCHC 26": 1. Tác động ... 2, 2. điều tra XHH 14, 3. SIPAS 10.
    r = by_id("hai-duong-2022")
    assert [(n.code, n.max) for n in r.roots] == [("I", D(74)), ("II", D(26))]
    part_one = r.node("I")
    assert [(n.code, n.max) for n in part_one.children] == [
        ("1", D(15)), ("2", D(5)), ("3", D("18.5")), ("4", D(6)), ("5", D(11)), ("6", D(7)), ("7", D("11.5")),
    ]
    assert [(n.code, n.max) for n in r.node("II").children] == [("II.1", D(2)), ("II.2", D(14)), ("II.3", D(10))]
    assert all(n.is_leaf for n in r.node("II").children)


def test_ha_trung_areas():
    # seed 001: "1. ...: 15/17", "2. ...: 11/11", "3. ...: 18/18", "4. ...: 11/11",
    # "5. ...: 12/14", "6. ...: 12/ 12", "7. ...: 15.5/17".
    r = by_id("ha-trung-2023")
    assert [(n.code, n.max) for n in r.roots] == [
        ("1", D(17)), ("2", D(11)), ("3", D(18)), ("4", D(11)), ("5", D(14)), ("6", D(12)), ("7", D(17)),
    ]


# ---- criterion maxima sampled from the seed text ---------------------------------------------------

THAI_NGUYEN_SEED_MAXIMA = {  # seed 002, column "Điểm tối đa" (decimal comma in the seed)
    "1.3.1": "0.25",   # Kế hoạch tự kiểm tra CCHC ... 0,25
    "1.4": "1.5",      # Tuyên truyền CCHC 1,5
    "1.4.2": "1.25",   # Các hình thức tuyên truyền về CCHC 1,25
    "1.8": "1",        # Các hoạt động nâng cao Chỉ số ... (nếu có) 1
    "2.1": "0.5",      # Ban hành văn bản của HĐND và UBND cấp xã 0,5
    "2.3.2": "1.5",    # Tổ chức thực hiện các hoạt động phổ biến, giáo dục pháp luật 1,5
    "3.1.2": "1.5",    # Thực hiện rà soát TTHC 1,5
    "3.2": "17",       # Thực hiện cơ chế một cửa, một cửa liên thông 17
    "3.2.21": "0.25",  # Xin lỗi công dân bằng văn bản khi có hồ sơ trả chậm 0,25
    "3.2.22": "0.25",  # Thực hiện đánh giá kết quả giải quyết TTHC 0,25
    "4.2": "8",        # Thực hiện chức năng, nhiệm vụ của UBND cấp xã 8
    "4.2.6": "3.5",    # Tiếp công dân và giải quyết đơn thư khiếu nại, tố cáo 3,5
    "4.3.2": "1.5",    # Những nội dung nhân dân bàn và quyết định trực tiếp ... 1,5
    "5.1": "3.5",      # Chất lượng của cán bộ cấp xã 3,5
    "5.3": "1.5",      # Bí thư Đảng ủy kiêm Chủ tịch HĐND hoặc Chủ tịch UBND cấp xã 1,5
    "7.4": "7.5",      # Hoạt động phục vụ chính quyền điện tử, chính quyền số 7,5
    "7.4.3": "2",      # Phần mềm quản lý văn bản 2
    "8.3": "5",        # Về kết cấu hạ tầng 5
    "8.4.1": "1.5",    # Cơ sở vật chất trường học ... 1,5
    "8.5.2": "0.5",    # Quản lý sử dụng đất ... (nếu có) 0,5
}

HAI_DUONG_SEED_MAXIMA = {  # seed 003, column "Điểm tối đa"
    "1.1": "2.5",     # Kế hoạch CCHC năm 2.5
    "1.5": "2.5",     # Sáng kiến/Giải pháp mới trong CCHC 2.5
    "1.5.2": "2",     # Có sáng kiến mới trong thực hiện nhiệm vụ CCHC trong năm 2
    "1.6": "1",       # Đối thoại của lãnh đạo xã với người dân, doanh nghiệp 1
    "1.6.1": "0.25",  # Có từ 05 cuộc đối thoại/diễn đàn ...: 0,25 điểm  0.25
    "1.6.3": "0.5",   # Mức độ xử lý đề xuất, kiến nghị của người dân, doanh nghiệp 0.5
    "1.7": "3",       # Thực hiện các nhiệm vụ được UBND huyện, Chủ tịch UBND huyện giao 3
    "3.3": "3.5",     # Thực hiện cơ chế một cửa, một cửa liên thông 3.5
    "3.6.1": "0.75",  # Hồ sơ TTHC được số hóa hồ sơ 0.75
    "3.6.2": "0.75",  # Hồ sơ TTHC có cấp kết quả giải quyết bản điện tử 0.75
    "5.4.1": "2",     # Tỷ lệ đạt chuẩn của cán bộ cấp xã 2
    "7.1": "7",       # Ứng dụng CNTT trong hoạt động của cơ quan nhà nước ... 7
    "7.2": "4.5",     # Cung cấp dịch vụ công trực tuyến 4.5
    "7.2.1": "1.5",   # Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến có phát sinh hồ sơ ... 1.5
    "7.2.2": "3",     # Tỷ lệ hồ sơ TTHC được trực tuyến 3
}

HA_TRUNG_SEED_MAXIMA = {  # seed 001, "score/maximum"
    "1.1": "4",    # Xây dựng Kế hoạch CCHC hằng năm: 4/4
    "1.5": "2",    # Sáng kiến trong cải cách hành chính: 0/2
    "2.2": "7",    # Thực hiện các hoạt động theo dõi, thi hành pháp luật: 7/ 7
    "2.3": "3",    # Kiểm tra, rà soát văn bản QPPL tại địa phương: 3/3
    "3.4": "4",    # Thực hiện cơ chế một cửa, một cửa liên thông: 4/4
    "3.5": "3",    # Kết quả giải quyết thủ tục hành chính: 3/3
    "4.1": "5",    # Thực hiện quy định của TW, UBND tỉnh về hệ thống chính quyền cơ sở: 5/ 5
    "5.2": "4",    # Tỷ lệ đạt chuẩn của cán bộ, công chức cấp xã: 4/4
    "5.4": "5",    # Đánh giá, xếp loại cán bộ, công chức: 3/5
    "6.1": "6",    # Tổ chức thực hiện công tác tài chính – ngân sách: 6/6
    "7.2": "2.5",  # Ứng dụng công nghệ thông tin tại đơn vị: 2,5/2,5
    "7.4": "5.5",  # Cung cấp dịch vụ công trực tuyến : 4/5.5
    "7.7": "2",    # Áp dụng hệ thống quản lý chất lượng (ISO 9001) ...: 2/2
}


@pytest.mark.parametrize(
    "rubric_id,sample",
    [
        ("thai-nguyen-2021", THAI_NGUYEN_SEED_MAXIMA),
        ("hai-duong-2022", HAI_DUONG_SEED_MAXIMA),
        ("ha-trung-2023", HA_TRUNG_SEED_MAXIMA),
    ],
)
def test_criterion_maxima_match_the_seed(rubric_id, sample):
    assert len(sample) >= 10
    r = by_id(rubric_id)
    got = {code: r.node(code).max for code in sample}
    assert got == {code: D(value) for code, value in sample.items()}


def test_thai_nguyen_one_stop_shop_has_22_sub_criteria():
    # seed 002: 3.2.1 .. 3.2.22 under "3.2 Thực hiện cơ chế một cửa, một cửa liên thông 17".
    node = by_id("thai-nguyen-2021").node("3.2")
    assert [c.code for c in node.children] == [f"3.2.{i}" for i in range(1, 23)]


# ---- who scores what ------------------------------------------------------------------------------


def test_hai_duong_surveys_are_scored_by_the_province():
    r = by_id("hai-duong-2022")
    not_self = {n.code for n in r.leaves() if not n.self_scored}
    assert not_self == {"II.2", "II.3"}
    assert r.self_max() == D(76)  # 74 (part I) + 2 (II.1)


@pytest.mark.parametrize("rubric_id", ["thai-nguyen-2021", "ha-trung-2023"])
def test_everything_else_is_self_scored(rubric_id):
    r = by_id(rubric_id)
    assert all(n.self_scored for n in r.leaves())
    assert r.self_max() == D(100)


def test_hai_duong_dialogue_sub_items_are_coded_under_1_6():
    # seed 003 lists three unnumbered rows under 1.6 (0.25, 0.25, 0.5); the rubric codes them 1.6.1-1.6.3.
    r = by_id("hai-duong-2022")
    assert [c.code for c in r.node("1.6").children] == ["1.6.1", "1.6.2", "1.6.3"]
    for code, maximum in (("1.6.1", "0.25"), ("1.6.2", "0.25"), ("1.6.3", "0.5")):
        assert r.node(code).parent == "1.6"
        assert r.node(code).max == D(maximum)


def test_part_two_codes_do_not_clash_with_part_one_areas():
    r = by_id("hai-duong-2022")
    assert [c.parent for c in r.node("II").children] == ["II", "II", "II"]
    assert r.node("2").parent == "I" and r.node("3").parent == "I"


# ---- groups (xếp loại) -------------------------------------------------------------------------


def test_thai_nguyen_groups_come_from_the_decision():
    # seed 002, Điều 8: Xuất sắc ≥ 90; Tốt 80 - < 90; Khá 70 - < 80; Trung bình 50 - < 70; Yếu < 50.
    r = by_id("thai-nguyen-2021")
    assert r.bands_assumed is False
    assert [(b.name, b.min) for b in r.bands] == [
        ("Xuất sắc", D(90)), ("Tốt", D(80)), ("Khá", D(70)), ("Trung bình", D(50)), ("Yếu", D(0)),
    ]
    assert r.group_for(D("89.99")) == "Tốt"
    assert r.group_for(D("49.75")) == "Yếu"


@pytest.mark.parametrize("rubric_id", ["hai-duong-2022", "ha-trung-2023"])
def test_other_groups_are_marked_assumed(rubric_id):
    r = by_id(rubric_id)
    assert r.bands_assumed is True
    assert r.bands_note  # says where the assumption comes from
    assert r.bands[-1].min == D(0)


# ---- text hygiene ------------------------------------------------------------------------------


def _raw_labels(data):
    """Every label in the file as PyYAML reads it, before the loader normalises anything."""
    yield "title", data["title"]
    for band in data["groups"]["bands"]:
        yield "band", band["name"]

    def walk(node):
        yield node["code"], node["label"]
        for level in node.get("levels") or []:
            if isinstance(level, dict) and level.get("text"):
                yield node["code"], level["text"]
        for child in node.get("children") or []:
            yield from walk(child)

    for root in data["tree"]:
        yield from walk(root)


def _clean(text):
    return (unicodedata.normalize("NFC", text) == text and "  " not in text and text == text.strip()
            and "\n" not in text and "\t" not in text)


@pytest.mark.parametrize("rubric_id", IDS)
def test_labels_are_nfc_single_spaced_and_trimmed(rubric_id):
    path = rubrics_dir() / f"{rubric_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    bad = [(where, text) for where, text in _raw_labels(data) if not isinstance(text, str) or not _clean(text)]
    assert bad == []
    loaded = load_rubric(rubric_id)
    assert all(_clean(n.label) for n in loaded.nodes())
    assert _clean(loaded.title)


@pytest.mark.parametrize("rubric_id", IDS)
def test_rubric_file_is_nfc_as_a_whole(rubric_id):
    text = (rubrics_dir() / f"{rubric_id}.yaml").read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", text) == text


# ---- Chí Minh's scores (seed 003) -------------------------------------------------------------

# Every leaf of hai-duong-2022: (Điểm tối đa, Điểm tự đánh giá) as seed 003 writes them.
# Chí Minh lost points only at 1.7 (2.9), 6.1.1 (0.8), 7.1.6 (0.9), 7.1.7 (0.5) in part I;
# in part II it wrote 1.9 for II.1 and its own estimates 13.5 and 9.5 for the surveys.
CHI_MINH = {
    "1.1.1": ("0.5", "0.5"),
    "1.1.2": ("1", "1.0"),
    "1.1.3": ("1", "1.0"),
    "1.2": ("2", "2.0"),
    "1.3.1": ("1", "1.0"),
    "1.3.2": ("1", "1.0"),
    "1.4.1": ("1", "1.0"),
    "1.4.2": ("1", "1.0"),
    "1.5.1": ("0.5", "0.5"),
    "1.5.2": ("2", "2.0"),
    "1.6.1": ("0.25", "0.25"),
    "1.6.2": ("0.25", "0.25"),
    "1.6.3": ("0.5", "0.5"),
    "1.7": ("3", "2.9"),
    "2.1": ("1", "1.0"),
    "2.2.1": ("0.5", "0.5"),
    "2.2.2": ("0.5", "0.5"),
    "2.2.3": ("1", "1.0"),
    "2.2.4": ("1", "1.0"),
    "2.3.1": ("0.5", "0.5"),
    "2.3.2": ("0.5", "0.5"),
    "3.1.1": ("1", "1.0"),
    "3.1.2": ("1", "1.0"),
    "3.1.3": ("1", "1.0"),
    "3.2.1": ("1", "1.0"),
    "3.2.2": ("1", "1.0"),
    "3.2.3": ("1", "1.0"),
    "3.3.1": ("1", "1.0"),
    "3.3.2": ("0.5", "0.5"),
    "3.3.3": ("1", "1.0"),
    "3.3.4": ("1", "1.0"),
    "3.4.1": ("0.5", "0.5"),
    "3.4.2": ("0.5", "0.5"),
    "3.5.1": ("1", "1.0"),
    "3.5.2": ("0.5", "0.5"),
    "3.5.3": ("0.5", "0.5"),
    "3.5.4": ("1", "1.0"),
    "3.5.5": ("1", "1.0"),
    "3.6.1": ("0.75", "0.75"),
    "3.6.2": ("0.75", "0.75"),
    "3.6.3": ("0.5", "0.5"),
    "3.6.4": ("0.5", "0.5"),
    "3.7.1": ("1", "1.0"),
    "3.7.2": ("0.5", "0.5"),
    "4.1.1": ("1", "1.0"),
    "4.1.2": ("0.5", "0.5"),
    "4.1.3": ("0.5", "0.5"),
    "4.2": ("2", "2.0"),
    "4.3": ("1", "1.0"),
    "4.4": ("1", "1.0"),
    "5.1": ("1", "1.0"),
    "5.2": ("2", "2.0"),
    "5.3.1": ("1", "1.0"),
    "5.3.2": ("2", "2.0"),
    "5.3.3": ("1", "1.0"),
    "5.4.1": ("2", "2.0"),
    "5.4.2": ("2", "2.0"),
    "6.1.1": ("1", "0.8"),
    "6.1.2": ("1", "1.0"),
    "6.1.3": ("1", "1.0"),
    "6.2": ("1", "1.0"),
    "6.3": ("1", "1.0"),
    "6.4": ("1", "1.0"),
    "6.5": ("1", "1.0"),
    "7.1.1": ("1", "1.0"),
    "7.1.2": ("1", "1.0"),
    "7.1.3": ("1", "1.0"),
    "7.1.4": ("1", "1.0"),
    "7.1.5": ("1", "1.0"),
    "7.1.6": ("1", "0.9"),
    "7.1.7": ("1", "0.5"),
    "7.2.1": ("1.5", "1.5"),
    "7.2.2": ("3", "3.0"),
    "II.1": ("2", "1.9"),
    "II.2": ("14", "13.5"),
    "II.3": ("10", "9.5"),
}


def _sum_under(rubric, code, scores):
    return sum((scores[leaf.code] for leaf in rubric.node(code).leaves()), D(0))


def test_chi_minh_table_covers_every_leaf_with_the_seed_maximum():
    r = by_id("hai-duong-2022")
    assert list(CHI_MINH) == [n.code for n in r.leaves()]
    assert {code: r.node(code).max for code in CHI_MINH} == {code: D(m) for code, (m, _) in CHI_MINH.items()}
    for code, (maximum, score) in CHI_MINH.items():
        assert D(0) <= D(score) <= D(maximum), code


def test_chi_minh_lost_points_only_where_the_seed_says():
    lost = {code for code, (maximum, score) in CHI_MINH.items() if D(score) != D(maximum)}
    assert lost == {"1.7", "6.1.1", "7.1.6", "7.1.7", "II.1", "II.2", "II.3"}


def test_chi_minh_area_sums_match_the_seed():
    r = by_id("hai-duong-2022")
    scores = {code: D(score) for code, (_, score) in CHI_MINH.items()}
    # seed 003: "1. ... 15 14.9", "2. ... 5 5.0", "3. ... 18.5 18.5", "4. ... 6 6.0",
    # "5. ... 11 11.0", "6. ... 7 6.8", "7. ... 11.5 10.9"; "I. ... 74 73.1".
    areas = {code: _sum_under(r, code, scores) for code in ("1", "2", "3", "4", "5", "6", "7")}
    assert areas == {"1": D("14.9"), "2": D(5), "3": D("18.5"), "4": D(6), "5": D(11), "6": D("6.8"), "7": D("10.9")}
    assert _sum_under(r, "I", scores) == D("73.1")
    assert format_vn(_sum_under(r, "I", scores)) == "73,1"  # exact: no float residue to print
    # criterion rows the seed also totals: "1.1 ... 2.5 2.5", "6.1 ... 3 2.8", "7.1 ... 7 6.4", "7.2 ... 4.5 4.5".
    assert _sum_under(r, "1.1", scores) == D("2.5")
    assert _sum_under(r, "6.1", scores) == D("2.8")
    assert _sum_under(r, "7.1", scores) == D("6.4")
    assert _sum_under(r, "7.2", scores) == D("4.5")
    # "II. ĐÁNH GIÁ TÁC ĐỘNG CỦA CCHC 26 24.9" and "Tổng 100 98.0" (the six-month table estimates the surveys).
    assert _sum_under(r, "II", scores) == D("24.9")
    assert sum(scores.values(), D(0)) == D("98.0")
    # What the commune itself may claim: part I and II.1 only.
    assert sum((scores[n.code] for n in r.scorable()), D(0)) == D("75.0")


# ---- Hà Bắc's scores (seed 001) -----------------------------------------------------------------

# Every criterion of ha-trung-2023: (maximum, self score) as the Hà Bắc report writes "score/maximum".
HA_BAC = {
    "1.1": ("4", "4"), "1.2": ("4", "4"), "1.3": ("2", "2"), "1.4": ("1", "1"), "1.5": ("2", "0"),
    "1.6": ("2", "2"), "1.7": ("2", "2"),
    "2.1": ("1", "1"), "2.2": ("7", "7"), "2.3": ("3", "3"),
    "3.1": ("3", "3"), "3.2": ("2", "2"), "3.3": ("2", "2"), "3.4": ("4", "4"), "3.5": ("3", "3"),
    "3.6": ("1", "1"), "3.7": ("1", "1"), "3.8": ("1", "1"), "3.9": ("1", "1"),
    "4.1": ("5", "5"), "4.2": ("2", "2"), "4.3": ("2", "2"), "4.4": ("2", "2"),
    "5.1": ("1", "1"), "5.2": ("4", "4"), "5.3": ("2", "2"), "5.4": ("5", "3"), "5.5": ("2", "2"),
    "6.1": ("6", "6"), "6.2": ("2", "2"), "6.3": ("1", "1"), "6.4": ("1", "1"), "6.5": ("2", "2"),
    "7.1": ("3", "3"), "7.2": ("2.5", "2.5"), "7.3": ("2", "2"), "7.4": ("5.5", "4"), "7.5": ("1", "1"),
    "7.6": ("1", "1"), "7.7": ("2", "2"),
}


def test_ha_bac_report_matches_the_rubric():
    r = by_id("ha-trung-2023")
    assert list(HA_BAC) == [n.code for n in r.leaves()]
    assert {code: r.node(code).max for code in HA_BAC} == {code: D(m) for code, (m, _) in HA_BAC.items()}
    scores = {code: D(score) for code, (_, score) in HA_BAC.items()}
    # seed 001: area lines 15/17, 11/11, 18/18, 11/11, 12/14, 12/12, 15.5/17; "Tổng điểm tự chấm 94,5 điểm".
    areas = {code: _sum_under(r, code, scores) for code in ("1", "2", "3", "4", "5", "6", "7")}
    assert areas == {"1": D(15), "2": D(11), "3": D(18), "4": D(11), "5": D(12), "6": D(12), "7": D("15.5")}
    assert sum(scores.values(), D(0)) == D("94.5")
