"""Issue 15, sections 2 and 3: unit kinds (đặc khu) and separate rankings, bonus and penalty
points (điểm thưởng, điểm trừ), band sanctions and the share cap on a band.

The rubrics are written inline. The end-to-end test generates real templates, fills them as a
clerk would (bonus and penalty rows included), re-saves them with LibreOffice (which recalculates
every formula on load), harvests the re-saved files and compares what LibreOffice shows with what
the harvest computed, then reads Phụ lục II back with openpyxl.
"""

from __future__ import annotations

import json
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from cchc_xls.cli import main
from cchc_xls.errors import RubricError, UnitsError
from cchc_xls.generate import Options, render_template
from cchc_xls.layout import BONUS_LABEL, FINAL_LABEL, GROUP_LABEL, MAIN_SHEET, PENALTY_LABEL, RESCALED_LABEL, TOTAL_LABEL
from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import check_rubric_file, load_rubric, rubric_hash
from cchc_xls.score import assign_bands, compute_totals, unit_band
from cchc_xls.units import Unit, load_units, parse_period

from support import SOFFICE, _force_recalculation, fill_workbook, header_columns, needs_libreoffice, rows_by_code

D = Decimal

RUBRIC_YAML = """
id: thu-thuong-tru-2025
title: "Chỉ số CCHC cấp xã (thử điểm thưởng, điểm trừ)"
legal_basis: {document: "Quyết định số 1/QĐ-UBND", date: "2025-11-17", issuer: "Chủ tịch UBND tỉnh Thử", province: "Thử"}
total: 100
groups:
  bands:
    - {name: "Xuất sắc", min: 90, max_share: 0.25}
    - {name: "Tốt", min: 80}
    - {name: "Khá", min: 70}
    - {name: "Trung bình", min: 50}
    - {name: "Yếu", min: 0}
tree:
  - code: "I"
    label: "Công tác chỉ đạo, điều hành"
    max: 60
    children:
      - {code: "1.1", label: "Kế hoạch CCHC", max: 30}
      - {code: "1.2", label: "Báo cáo CCHC", max: 30}
  - code: "II"
    label: "Cải cách thủ tục hành chính"
    max: 40
    children:
      - {code: "2.1", label: "Công khai TTHC", max: 20}
      - {code: "2.2", label: "Tiếp nhận phản ánh (nếu có)", max: 20, may_be_na: true}
bonus:
  max: 5
  items:
    - {code: "T.1", label: "Sáng kiến CCHC được cấp tỉnh công nhận", max: 3, levels: [0, 1, 2, 3]}
    - {code: "T.2", label: "Mô hình mới được nhân rộng", max: 4, step: 0.5}
penalty:
  max: 10
  items:
    - {code: "TR.1", label: "Để xảy ra sai phạm trong giải quyết TTHC", max: 5, sanction: no_top_band}
    - {code: "TR.2", label: "Không báo cáo đúng hạn", max: 5, sanction: drop_one_band}
    - {code: "TR.3", label: "Bị đơn thư phản ánh đúng", max: 5, sanction: {max_band: "Khá"}}
"""

# Eight communes: (code, name, tree scores, N/A, bonus and penalty scores).
UNITS = [
    ("U1", "Xã Một", {"1.1": 30, "1.2": 30, "2.1": 20, "2.2": 12}, {}, {"T.1": 3, "T.2": 4}),  # 92 + 5 (capped) = 97
    ("U2", "Xã Hai", {"1.1": 30, "1.2": 30, "2.1": 20, "2.2": 10}, {}, {"T.1": 2}),  # 90 + 2 = 92
    ("U3", "Xã Ba", {"1.1": 30, "1.2": 28, "2.1": "15.6"}, {"2.2": "Không áp dụng"}, {}),  # 73.6 / 80 × 100 = 92
    ("U4", "Xã Bốn", {"1.1": 30, "1.2": 30, "2.1": 20, "2.2": 15}, {}, {"TR.1": 1}),  # 95 − 1 = 94, no top band
    ("U5", "Xã Năm", {"1.1": 30, "1.2": 30, "2.1": 15, "2.2": 10}, {}, {"TR.2": 2}),  # 85 − 2 = 83, one band lower
    ("U6", "Xã Sáu", {"1.1": 30, "1.2": 30, "2.1": 18, "2.2": 10}, {}, {"TR.3": 1}),  # 88 − 1 = 87, at most Khá
    ("U7", "Xã Bảy", {"1.1": 20, "1.2": 20, "2.1": 10, "2.2": 10}, {}, {"TR.1": 5, "TR.2": 5, "TR.3": 5}),  # 60 − 10 = 50
    ("U8", "Xã Tám", {"1.1": 1, "1.2": 1, "2.1": 1, "2.2": 0}, {}, {"TR.2": 5}),  # 3 − 5 → 0
]
ITEMS = ("T.1", "T.2", "TR.1", "TR.2", "TR.3")
EXPECTED = {  # final total, rank, band, what the Ghi chú must say (None: nothing)
    "U1": (D(97), 1, "Xuất sắc", None),
    "U4": (D(94), 2, "Tốt", "TR.1"),
    "U2": (D(92), 3, "Tốt", "25%"),
    "U3": (D(92), 3, "Tốt", "25%"),
    "U6": (D(87), 5, "Khá", "TR.3"),
    "U5": (D(83), 6, "Khá", "TR.2"),
    "U7": (D(50), 7, "Yếu", "TR.2"),
    "U8": (D(0), 8, "Yếu", None),
}


def write_rubric(tmp_path: Path, text: str = RUBRIC_YAML, name: str = "rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def unit_scores(tree: dict, extras: dict) -> dict:
    """Every score the commune types: the tree, then each bonus and penalty item (0 when none)."""
    return {**{k: str(v) for k, v in tree.items()}, **{code: str(extras.get(code, 0)) for code in ITEMS}}


def generate_filled(tmp_path: Path, rubric, units=UNITS, kind="xã") -> list[Path]:
    options = Options(batch="bonus", generated_at="2025-12-01T00:00:00+00:00")
    paths = []
    for code, name, tree, na, extras in units:
        path = tmp_path / "blank" / f"{code}.xlsx"
        path.parent.mkdir(exist_ok=True)
        render_template(path, rubric, Unit(code, name, kind), parse_period("2025"), options)
        scores = unit_scores(tree, extras)
        evidence = {c: f"Văn bản số {i + 1}/UBND" for i, (c, v) in enumerate(scores.items()) if D(v) > 0}
        explanations = {c: "Còn thiếu sót" for c in tree}
        explanations.update({c: "Không phát sinh" for c in na})
        out = tmp_path / "filled" / f"{code}.xlsx"
        out.parent.mkdir(exist_ok=True)
        paths.append(fill_workbook(path, scores, evidence, explanations, na, out=out))
    return paths


def resave_all(paths: list[Path], out_dir: Path) -> list[Path]:
    """One LibreOffice run re-saving every file as .xlsx (it recalculates every formula on load)."""
    needs_libreoffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / ".lo-profile"
    _force_recalculation(profile)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(out_dir), *map(str, paths)], check=True, capture_output=True, timeout=300)
    return [out_dir / p.name for p in paths]


def footer_values(path: Path) -> dict[str, object]:
    """What the sheet shows (cached values) in the footer rows, by the start of their label."""
    ws = load_workbook(path, data_only=True)[MAIN_SHEET]
    _, cols = header_columns(ws)
    wanted = {"raw": TOTAL_LABEL, "base": RESCALED_LABEL.split("{")[0].strip(), "bonus": BONUS_LABEL.split("(")[0].strip(),
              "penalty": PENALTY_LABEL.split("(")[0].strip(), "final": FINAL_LABEL, "band": GROUP_LABEL.split("(")[0].strip()}
    found = {}
    for row in range(1, ws.max_row + 1):
        label = ws.cell(row, 1).value
        if not isinstance(label, str):
            continue
        for key, start in wanted.items():
            if label.startswith(start) and key not in found:
                found[key] = ws.cell(row, cols["score"]).value
    return found


def word_ranking(path: Path):
    """Phụ lục II's Word table read back: the two header rows and each row's cell texts."""
    table = Document(str(path)).tables[0]
    texts = [[cell.text for cell in row.cells] for row in table.rows]
    return texts[0], texts[1], texts[2:]


def vn(value) -> str:
    """A number as the Word document writes it (decimal comma, no trailing zeros); "" for none."""
    return "" if value is None else format(D(str(value)).normalize(), "f").replace(".", ",")


# ---------------------------------------------------------------------------------------------
# The rubric format


def test_rubric_with_bonus_and_penalty_loads(tmp_path):
    rubric = load_rubric(write_rubric(tmp_path))
    assert [i.code for i in rubric.bonus.items] == ["T.1", "T.2"] and rubric.bonus.max == 5
    assert [(i.code, i.sanction, i.sanction_band) for i in rubric.penalty.items] == [
        ("TR.1", "no_top_band", ""), ("TR.2", "drop_one_band", ""), ("TR.3", "max_band", "Khá")]
    assert rubric.bands[0].max_share == D("0.25") and rubric.bands[1].max_share is None
    # items are leaves like any other: found by code, with their levels and step, after the tree
    assert [n.code for n in rubric.leaves()][-5:] == list(ITEMS)
    assert [lv.points for lv in rubric.node("T.1").levels] == [0, 1, 2, 3] and rubric.node("T.2").step == D("0.5")
    assert rubric.self_max() == 100  # the tree only


def test_rubric_errors_all_at_once_in_vietnamese(tmp_path):
    bad = RUBRIC_YAML.replace('{name: "Xuất sắc", min: 90, max_share: 0.25}', '{name: "Xuất sắc", min: 90, max_share: 1.5}') \
        .replace('{name: "Tốt", min: 80}', '{name: "Tốt", min: 80, max_share: 0}') \
        .replace('code: "T.2"', 'code: "1.1"') \
        .replace("sanction: no_top_band", "sanction: demote") \
        .replace('{max_band: "Khá"}', '{max_band: "Giỏi"}') \
        + 'ranking_groups: [["phường"], ["xã", "huyện"], ["xã"]]\n'
    rubric, findings = check_rubric_file(write_rubric(tmp_path, bad))
    assert rubric is None
    by_code = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(finding.message)
    assert len(by_code["rubric.bad_share"]) == 2
    assert any("1,5" in m for m in by_code["rubric.bad_share"]) and any("“Tốt”" in m for m in by_code["rubric.bad_share"])
    assert any("“1.1”" in m for m in by_code["rubric.duplicate_code"])  # a bonus item coded like a tree node
    assert "“demote”" in by_code["rubric.unknown_sanction"][0]
    inline = RUBRIC_YAML.replace('sanction: {max_band: "Khá"}', 'sanction: "max_band: Khá"')
    assert load_rubric(write_rubric(tmp_path, inline, "inline.yaml")).node("TR.3").sanction_band == "Khá"
    assert "“Giỏi”" in by_code["rubric.unknown_band"][0] and "Xuất sắc" in by_code["rubric.unknown_band"][0]
    assert "“huyện”" in by_code["rubric.bad_ranking_kind"][0]
    assert "“xã”" in by_code["rubric.ranking_kind_twice"][0]
    with pytest.raises(RubricError):
        load_rubric(write_rubric(tmp_path, bad, "bad2.yaml"))


def test_share_on_last_band_and_item_keys_are_errors(tmp_path):
    bad = RUBRIC_YAML.replace('{name: "Yếu", min: 0}', '{name: "Yếu", min: 0, max_share: 0.5}') \
        .replace('{code: "T.1",', '{code: "T.1", applies_to: [xã], sanction: no_top_band,')
    _, findings = check_rubric_file(write_rubric(tmp_path, bad))
    codes = [f.code for f in findings]
    assert "rubric.share_on_last_band" in codes
    unknown = [f.message for f in findings if f.code == "rubric.unknown_key"]
    assert any("“applies_to”" in m for m in unknown) and any("“sanction”" in m for m in unknown)  # not on a bonus item


def test_bundled_rubrics_keep_their_hash():
    # the hash is the identity of every template already sent: no new key may change it
    assert rubric_hash(load_rubric("hai-duong-2022")) == load_rubric("hai-duong-2022").content_hash
    known = {"hai-duong-2022", "thai-nguyen-2021", "ha-trung-2023"}
    for rubric_id in known:
        rubric = load_rubric(rubric_id)
        assert rubric.bonus is None and rubric.penalty is None and rubric.ranking_groups == ()


def test_units_file_kinds_dac_khu_and_bad_kind(tmp_path):
    good = tmp_path / "don-vi.csv"
    good.write_text("code,name\nCT,Đặc khu Cô Tô\nP1,Phường Hồng Hải\nX1,Xã Quảng Hà\n", encoding="utf-8")
    units = load_units(good)
    assert [(u.kind, u.committee) for u in units] == [
        ("đặc khu", "UBND đặc khu Cô Tô"), ("phường", "UBND phường Hồng Hải"), ("xã", "UBND xã Quảng Hà")]
    bad = tmp_path / "sai.csv"
    bad.write_text("code,name,kind\nCT,Cô Tô,đặc khu\nH1,Tiên Yên,huyện\n", encoding="utf-8")
    with pytest.raises(UnitsError) as error:
        load_units(bad)
    assert "dòng 3" in str(error.value) and "“huyện”" in str(error.value)


# ---------------------------------------------------------------------------------------------
# Totals and bands, directly


def test_final_total_caps_and_never_below_zero(tmp_path):
    rubric = load_rubric(write_rubric(tmp_path))
    scores = {"1.1": D(30), "1.2": D(30), "2.1": D(20), "2.2": D(12), "T.1": D(3), "T.2": D(4)}
    totals = compute_totals(rubric, scores, "xã")
    assert (totals.base_total, totals.bonus, totals.penalty, totals.total) == (D(92), D(5), D(0), D(97))
    low = compute_totals(rubric, {"1.1": D(1), "TR.1": D(5), "TR.2": D(5), "TR.3": D(5)}, "xã")
    assert (low.base_total, low.penalty, low.total) == (D(1), D(10), D(0))
    rescaled = compute_totals(rubric, {"1.1": D(30), "1.2": D(28), "2.1": D("15.6"), "T.2": D("0.5")}, "xã", {"2.2"})
    assert (rescaled.base_total, rescaled.total) == (D(92), D("92.5"))


def band_rubric(tmp_path, share="0.25"):
    return load_rubric(write_rubric(tmp_path, RUBRIC_YAML.replace("max_share: 0.25", f"max_share: {share}")))


def test_share_cap_keeps_band_in_ranking_order(tmp_path):
    rubric = band_rubric(tmp_path)  # 8 units × 0.25 → at most 2 Xuất sắc
    totals = [D(99), D(98), D(97), D(96), D(85), D(75), D(60), D(10)]
    bands = assign_bands(rubric, totals, [{}] * 8)
    assert [b for b, _ in bands] == ["Xuất sắc", "Xuất sắc", "Tốt", "Tốt", "Tốt", "Khá", "Trung bình", "Yếu"]
    assert bands[0][1] == "" and "Xuất sắc" in bands[2][1] and "25%" in bands[2][1] and "2 đơn vị" in bands[2][1]
    assert bands[4][1] == ""  # Tốt by its total: nothing to say


def test_share_cap_never_splits_ties(tmp_path):
    rubric = band_rubric(tmp_path)
    totals = [D(99), D(95), D(95), D(80), D(80), D(80), D(70), D(0)]  # limit 2: the tie at 95 would make 3
    assert [b for b, _ in assign_bands(rubric, totals, [{}] * 8)] == \
        ["Xuất sắc", "Tốt", "Tốt", "Tốt", "Tốt", "Tốt", "Khá", "Yếu"]
    tied_top = [D(95), D(95), D(95), D(80)]  # limit 1: three tied at the top all move down together
    assert [b for b, _ in assign_bands(rubric, tied_top, [{}] * 4)] == ["Tốt", "Tốt", "Tốt", "Tốt"]
    in_order = [D(80), D(99), D(95), D(95), D(96), D(10), D(60), D(92)]  # any input order, same rule
    assert [b for b, _ in assign_bands(rubric, in_order, [{}] * 8)] == \
        ["Tốt", "Xuất sắc", "Tốt", "Tốt", "Xuất sắc", "Yếu", "Trung bình", "Tốt"]


def test_cap_cascades_to_the_next_capped_band(tmp_path):
    text = RUBRIC_YAML.replace('{name: "Tốt", min: 80}', '{name: "Tốt", min: 80, max_share: 0.5}')
    rubric = load_rubric(write_rubric(tmp_path, text))
    totals = [D(99), D(98), D(97), D(96)]  # Xuất sắc ≤ 1, Tốt ≤ 2: the fourth goes to Khá
    assert [b for b, _ in assign_bands(rubric, totals, [{}] * 4)] == ["Xuất sắc", "Tốt", "Tốt", "Khá"]


def test_sanctions(tmp_path):
    rubric = band_rubric(tmp_path, "1")
    assert unit_band(rubric, D(95), {"TR.1": D(1)}) == "Tốt"  # no_top_band
    assert unit_band(rubric, D(85), {"TR.1": D(1)}) == "Tốt"  # already below the top
    assert unit_band(rubric, D(95), {"TR.2": D("0.5")}) == "Tốt"  # drop_one_band
    assert unit_band(rubric, D(75), {"TR.2": D(1)}) == "Trung bình"
    assert unit_band(rubric, D(10), {"TR.2": D(1)}) == "Yếu"  # nothing below the last band
    assert unit_band(rubric, D(95), {"TR.3": D(1)}) == "Khá"  # max_band: Khá
    assert unit_band(rubric, D(60), {"TR.3": D(1)}) == "Trung bình"
    assert unit_band(rubric, D(95), {"TR.1": D(0), "TR.2": D(0), "TR.3": D(0)}) == "Xuất sắc"  # a zero is no penalty
    assert unit_band(rubric, D(95), {"TR.1": D(1), "TR.2": D(1)}) == "Tốt"  # one band lower, never first
    assert unit_band(rubric, D(85), {"TR.1": D(1), "TR.2": D(1)}) == "Khá"
    (band, note), = assign_bands(rubric, [D(95)], [{"TR.3": D(2)}])
    assert band == "Khá" and "TR.3" in note and "Xuất sắc" in note


# ---------------------------------------------------------------------------------------------
# End to end: generate, fill, LibreOffice, harvest, Phụ lục II


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bonus")
    rubric = load_rubric(write_rubric(tmp_path))
    filled = generate_filled(tmp_path, rubric)
    resaved = resave_all(filled, tmp_path / "lo")
    units = [Unit(code, name, "xã") for code, name, *_ in UNITS]
    outputs = run_harvest(rubric, resaved, units, tmp_path / "out", period=parse_period("2025"), workers=1)
    data = json.loads((tmp_path / "out" / "harvest.json").read_text(encoding="utf-8"))
    return rubric, resaved, data, tmp_path / "out"


@pytest.mark.libreoffice
def test_libreoffice_totals_equal_the_harvest(round_trip):
    rubric, resaved, data, _ = round_trip
    by_code = {u["code"]: u for u in data["units"]}
    for path in resaved:
        unit = by_code[path.stem]
        shown = footer_values(path)
        assert unit["status"] == "submitted"
        assert D(str(shown["base"])).quantize(D("0.001")) == D(str(unit["self_base_total"])), path.stem
        assert D(str(shown["bonus"])) == D(str(unit["self_bonus"])), path.stem
        assert D(str(shown["penalty"])) == D(str(unit["self_penalty"])), path.stem
        assert D(str(shown["final"])).quantize(D("0.001")) == D(str(unit["self_total"])), path.stem
        scores = {k: D(str(v)) for k, v in unit["scores"].items()}
        # the workbook's band applies the unit's own sanctions (the share cap needs every unit)
        assert shown["band"] == unit_band(rubric, D(str(unit["self_total"])), scores), path.stem
    findings = [f for file in data["files"] for f in file["findings"]]
    assert not [f for f in findings if f["code"] in ("total.mismatch", "formula.replaced", "total.not_number")]
    assert not [f for f in findings if f["code"] == "explanation.missing" and f["message"].startswith("Tiêu chí T")]


@pytest.mark.libreoffice
def test_harvest_json_parts_ranks_and_bands(round_trip):
    _, _, data, _ = round_trip
    by_code = {u["code"]: u for u in data["units"]}
    assert by_code["U1"]["self_base_total"] == 92 and by_code["U1"]["self_bonus"] == 5
    assert by_code["U3"]["self_base_total"] == 92 and by_code["U3"]["not_applicable"] == ["2.2"]
    assert by_code["U7"]["self_penalty"] == 10 and by_code["U8"]["self_total"] == 0
    for code, (total, rank, band, why) in EXPECTED.items():
        unit = by_code[code]
        assert (D(str(unit["self_total"])), unit["rank"], unit["group"]) == (total, rank, band), code
        assert unit["ranking_group"] is None
        if why is None:
            assert unit["group_note"] == "", code
        else:
            assert why in unit["group_note"], (code, unit["group_note"])
    # the scored items were checked like any leaf: a level off the list is a finding
    assert all(u["scores"]["T.1"] in (0, 1, 2, 3) for u in data["units"])


@pytest.mark.libreoffice
def test_phu_luc_ii_shows_parts_and_notes_and_cchc_rank_agrees(round_trip):
    _, _, data, out = round_trip
    ws = load_workbook(out / "phu-luc-ii.xlsx")["Phụ lục II"]
    top = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Số TT")
    headers = [ws.cell(top, c).value for c in range(1, ws.max_column + 1)]
    subs = [ws.cell(top + 1, c).value for c in range(1, ws.max_column + 1)]
    assert headers[2] == "Điểm tự chấm" and headers[6] == "Điểm thẩm định"
    assert subs[2:6] == ["Điểm các lĩnh vực", "Điểm thưởng", "Điểm trừ", "Tổng điểm"]
    assert headers[-3:] == ["Xếp hạng", "Xếp loại", "Ghi chú"]
    rows = {}
    for r in range(top + 2, ws.max_row + 1):
        name = ws.cell(r, 2).value
        if isinstance(name, str) and name.startswith("UBND"):
            rows[name] = [ws.cell(r, c).value for c in range(1, ws.max_column + 1)]
    one = rows["UBND xã Một"]
    assert one[2:6] == [92, 5, 0, 97] and one[-3:-1] == [1, "Xuất sắc"] and not one[-1]
    two = rows["UBND xã Hai"]
    assert two[-3:-1] == [3, "Tốt"] and "Xuất sắc" in two[-1] and "25%" in two[-1]
    assert "TR.1" in rows["UBND xã Bốn"][-1]
    # phu-luc-ii.docx: the same parts, totals, ranks, bands and notes as the workbook
    top_words, sub_words, body = word_ranking(out / "phu-luc-ii.docx")
    assert top_words[2:10] == headers[2:3] * 4 + headers[6:7] * 4 and sub_words[2:10] == subs[2:10]
    words = {cells[1]: cells for cells in body}
    assert len(words) == len(rows) == 8
    for name, cells in rows.items():
        assert words[name][2:10] == [vn(v) for v in cells[2:10]], name
        assert words[name][-3:] == [str(cells[-3]), cells[-2], cells[-1] or ""], name
    # cchc rank rebuilds the same ranking from harvest.json
    result = CliRunner().invoke(main, ["rank", str(out), "--json"])
    assert result.exit_code == 0, result.output
    ranked = {u["code"]: u for u in json.loads(result.stdout)["units"]}
    for code, (total, rank, band, _) in EXPECTED.items():
        assert (D(str(ranked[code]["self_total"])), ranked[code]["rank"], ranked[code]["group"]) == (total, rank, band)
        assert ranked[code]["group_note"] == {u["code"]: u for u in data["units"]}[code]["group_note"]


# ---------------------------------------------------------------------------------------------
# Separate rankings by kind

GROUPS_YAML = RUBRIC_YAML.replace("max_share: 0.25", "max_share: 0.5").replace(
    '{code: "2.1", label: "Công khai TTHC", max: 20}',
    '{code: "2.1", label: "Công khai TTHC", max: 20, applies_to: [phường]}') + """
ranking_groups: [["phường"], ["xã", "đặc khu"]]
index_as_percent: true
"""
GROUP_UNITS = [  # (code, name, kind, tree scores); no bonus or penalty typed (0)
    ("P1", "Phường Hồng Hải", "phường", {"1.1": 30, "1.2": 25, "2.1": 20, "2.2": 15}),  # 90
    ("P2", "Phường Cao Xanh", "phường", {"1.1": 30, "1.2": 30, "2.1": 20, "2.2": 15}),  # 95
    ("X1", "Xã Quảng Hà", "xã", {"1.1": 30, "1.2": 30, "2.2": 10}),  # 70 / 80 → 87,5
    ("X2", "Xã Tiên Yên", "xã", {"1.1": 30, "1.2": 30, "2.2": 15}),  # 75 / 80 → 93,75
    ("CT", "Đặc khu Cô Tô", "đặc khu", {"1.1": 30, "1.2": 30, "2.2": 20}),  # 80 / 80 → 100
]


def test_ranking_groups_rank_separately(tmp_path):
    rubric = load_rubric(write_rubric(tmp_path, GROUPS_YAML))
    assert rubric.ranking_groups == (("phường",), ("xã", "đặc khu"))
    paths = []
    options = Options(batch="groups", generated_at="2025-12-01T00:00:00+00:00")
    for code, name, kind, tree in GROUP_UNITS:
        unit = Unit(code, name, kind)
        path = tmp_path / "blank" / f"{code}.xlsx"
        path.parent.mkdir(exist_ok=True)
        render_template(path, rubric, unit, parse_period("2025"), options)
        scores = unit_scores(tree, {})
        paths.append(fill_workbook(path, scores, {c: "Văn bản" for c in tree}, {c: "Giải trình" for c in tree},
                                   out=tmp_path / f"{code}.xlsx"))
    units = [Unit(code, name, kind) for code, name, kind, _ in GROUP_UNITS]
    run_harvest(rubric, paths, units, tmp_path / "out", period=parse_period("2025"), workers=1)
    data = json.loads((tmp_path / "out" / "harvest.json").read_text(encoding="utf-8"))
    got = {u["code"]: (u["ranking_group"], u["rank"], u["group"], D(str(u["self_total"]))) for u in data["units"]}
    # each group has its own cap: floor(0.5 × 2) = 1 Xuất sắc among the phường, floor(0.5 × 3) = 1 among the rest
    assert got == {
        "P2": ("phường", 1, "Xuất sắc", D(95)), "P1": ("phường", 2, "Tốt", D(90)),
        "CT": ("xã, đặc khu", 1, "Xuất sắc", D(100)), "X2": ("xã, đặc khu", 2, "Tốt", D("93.75")),
        "X1": ("xã, đặc khu", 3, "Tốt", D("87.5")),
    }
    assert "50%" in {u["code"]: u for u in data["units"]}["P1"]["group_note"]

    ws = load_workbook(tmp_path / "out" / "phu-luc-ii.xlsx")["Phụ lục II"]
    top = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Số TT")
    headers = [ws.cell(top, c).value for c in range(1, ws.max_column + 1)]
    rank_col, percent_col = headers.index("Xếp hạng"), headers.index("Chỉ số CCHC (%)")
    sections, current = {}, None
    for r in range(top + 2, ws.max_row + 1):
        first = ws.cell(r, 1).value
        if isinstance(first, str) and first.startswith("XẾP HẠNG RIÊNG"):
            current = first
            sections[current] = []
        elif isinstance(first, int) and current:
            sections[current].append((first, ws.cell(r, 2).value, ws.cell(r, rank_col + 1).value,
                                      ws.cell(r, percent_col + 1).value))
    assert list(sections) == ["XẾP HẠNG RIÊNG: PHƯỜNG", "XẾP HẠNG RIÊNG: XÃ, ĐẶC KHU"]
    assert sections["XẾP HẠNG RIÊNG: PHƯỜNG"] == [(1, "UBND phường Cao Xanh", 1, 95), (2, "UBND phường Hồng Hải", 2, 90)]
    assert sections["XẾP HẠNG RIÊNG: XÃ, ĐẶC KHU"] == [
        (1, "UBND đặc khu Cô Tô", 1, 100), (2, "UBND xã Tiên Yên", 2, 93.75), (3, "UBND xã Quảng Hà", 3, 87.5)]

    # phu-luc-ii.docx: the same sections, ranks and totals in its Word table (the self total after
    # its parts: areas, bonus, penalty, total)
    _, _, body = word_ranking(tmp_path / "out" / "phu-luc-ii.docx")
    words, current = {}, None
    for cells in body:
        if cells[1].startswith("XẾP HẠNG RIÊNG"):
            current = cells[1]
            words[current] = []
        else:
            words[current].append((int(cells[0]), cells[1], int(cells[-3]), cells[5]))
    assert words == {"XẾP HẠNG RIÊNG: PHƯỜNG": [(1, "UBND phường Cao Xanh", 1, "95"), (2, "UBND phường Hồng Hải", 2, "90")],
                     "XẾP HẠNG RIÊNG: XÃ, ĐẶC KHU": [(1, "UBND đặc khu Cô Tô", 1, "100"),
                                                      (2, "UBND xã Tiên Yên", 2, "93,75"),
                                                      (3, "UBND xã Quảng Hà", 3, "87,5")]}

    # the page's chart: the same sections under the same headings, each bar below its heading
    from cchc_xls.results import load_results
    from cchc_xls.web.views import ranking_chart

    chart = ranking_chart(load_results(tmp_path / "out"))
    assert [h["text"] for h in chart["headings"]] == ["XẾP HẠNG RIÊNG: PHƯỜNG", "XẾP HẠNG RIÊNG: XÃ, ĐẶC KHU"]
    second = chart["headings"][1]["y"]
    assert [(b.rank, b.label, b.total, b.y < second) for b in chart["bars"]] == [
        (1, "UBND phường Cao Xanh", "95", True), (2, "UBND phường Hồng Hải", "90", True),
        (1, "UBND đặc khu Cô Tô", "100", False), (2, "UBND xã Tiên Yên", "93,75", False),
        (3, "UBND xã Quảng Hà", "87,5", False)]
    assert chart["headings"][0]["y"] < chart["bars"][0].y and len({b.y for b in chart["bars"]}) == 5

    # the page's heat map shows tong-hop.xlsx's percentages: of what each commune could score in
    # the area (2.1 is for phường only, so a xã's area 2 is out of 2.2's maximum)
    from cchc_xls.layout import HEAT_MAP_SHEET
    from cchc_xls.web.views import heat_map

    sheet = load_workbook(tmp_path / "out" / "tong-hop.xlsx")[HEAT_MAP_SHEET]
    header = next(r for r in range(1, 10) if sheet.cell(r, 1).value and sheet.cell(r, 4).value)
    columns = {sheet.cell(header, c).value: c for c in range(4, sheet.max_column + 1)}
    area_rows = {sheet.cell(r, 1).value: r for r in range(header + 1, sheet.max_row + 1) if sheet.cell(r, 1).value}
    page = heat_map(load_results(tmp_path / "out"), appraised=False)
    shown = {}
    for row in page["rows"]:
        column = next(c for name, c in columns.items() if row["unit"].code in str(name) or row["unit"].name in str(name))
        for area, cell in zip(page["areas"], row["cells"]):
            workbook_value = sheet.cell(area_rows[area.code], column).value
            expected = D(str(workbook_value)).quantize(D(1), rounding=ROUND_HALF_UP) if workbook_value not in (None, "") else None
            assert cell["text"] == (f"{expected}%" if expected is not None else "")
            shown[(row["unit"].code, area.code)] = cell["text"]
    assert shown[("X1", "II")] == "50%" and shown[("P1", "II")] == "88%", shown

    book = load_workbook(tmp_path / "out" / "phu-luc-ii.xlsx")
    assert [sheet.title for sheet in book.chartsheets] == ["Biểu đồ 1", "Biểu đồ 2"]  # a chart per group
    dist = book["Phân loại"]
    blocks, current = {}, None
    for r in range(1, dist.max_row + 1):
        first = dist.cell(r, 1).value
        if isinstance(first, str) and first.startswith("XẾP HẠNG RIÊNG"):
            current = first
            blocks[current] = {}
        elif current and isinstance(dist.cell(r, 2).value, (int, float)):
            blocks[current][first] = (dist.cell(r, 2).value, dist.cell(r, 3).value)
    assert blocks["XẾP HẠNG RIÊNG: PHƯỜNG"]["Xuất sắc"] == (1, 50) and blocks["XẾP HẠNG RIÊNG: PHƯỜNG"]["Cộng"] == (2, 100)
    assert blocks["XẾP HẠNG RIÊNG: XÃ, ĐẶC KHU"]["Xuất sắc"] == (1, 33.33)
    assert blocks["XẾP HẠNG RIÊNG: XÃ, ĐẶC KHU"]["Tốt"] == (2, 66.66)

    summary = load_workbook(tmp_path / "out" / "tong-hop.xlsx")["Tổng hợp"]
    labels = {summary.cell(r, 1).value: r for r in range(1, summary.max_row + 1)}
    assert "Nhóm xếp hạng" in labels
    names = [summary.cell(4, c).value for c in range(4, summary.max_column + 1)]
    group_row = [summary.cell(labels["Nhóm xếp hạng"], c).value for c in range(4, summary.max_column + 1)]
    assert dict(zip(names, group_row))["Đặc khu Cô Tô"] == "xã, đặc khu"

    # the office's page shows the same sections, numbered from 1 in each, and the band notes
    from cchc_xls.web.app import create_app

    page = create_app(tmp_path).test_client().get("/ket-qua/out").get_data(as_text=True)
    assert "Xếp hạng riêng: phường" in page and "Xếp hạng riêng: xã, đặc khu" in page
    assert page.index("Xếp hạng riêng: phường") < page.index("UBND phường Cao Xanh") < \
        page.index("Xếp hạng riêng: xã, đặc khu") < page.index("UBND đặc khu Cô Tô")
    assert "Xếp loại Tốt (theo tổng điểm là Xuất sắc)" in page

    # the summary report gives each group's own distribution; a commune's report its rank in its group
    result = CliRunner().invoke(main, ["report", str(tmp_path / "out"), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output

    def paragraphs(path):
        return [p.text for p in Document(str(path)).paragraphs]

    summary = paragraphs(next(p for p in (tmp_path / "rep").glob("*.docx") if "tong-hop" in p.name))
    first, second = summary.index("- Xếp hạng riêng phường (2 đơn vị):"), \
        summary.index("- Xếp hạng riêng xã, đặc khu (3 đơn vị):")
    assert "- Nhóm Xuất sắc: 1 đơn vị (50%)." in summary[first:second]
    assert "- Nhóm Tốt: 2 đơn vị (66,66%)." in summary[second:]
    assert any("(Chỉ số CCHC 100%)" in line for line in summary)  # index_as_percent: the best unit's index
    cot_to = paragraphs(next(p for p in (tmp_path / "rep").glob("*.docx") if "_CT_" in p.name))
    assert "Xếp hạng trong nhóm xã, đặc khu: 1." in cot_to and "Chỉ số CCHC đạt 100% điểm tối đa." in cot_to

    # the template of a đặc khu marks the criterion for phường only as not applicable to it
    blank = load_workbook(tmp_path / "blank" / "CT.xlsx")[MAIN_SHEET]
    _, cols = header_columns(blank)
    row = rows_by_code(blank)["2.1"]
    assert "đặc khu" in blank.cell(row, cols["evidence"]).value


# ---------------------------------------------------------------------------------------------
# Appraisal: the items are appraised like every criterion, and the final ranking uses them

APPRAISAL_CHANGES = {"U1": {"T.2": 1}, "U2": {"TR.2": 1}}  # U1: 92 + min(3 + 1, 5) = 96; U2: 90 + 2 − 1 = 91
APPRAISED = {  # appraised final total, rank, band
    "U1": (D(96), 1, "Xuất sắc"), "U4": (D(94), 2, "Tốt"), "U3": (D(92), 3, "Xuất sắc"),
    "U2": (D(91), 4, "Tốt"), "U6": (D(87), 5, "Khá"), "U5": (D(83), 6, "Khá"), "U7": (D(50), 7, "Yếu"),
    "U8": (D(0), 8, "Yếu"),
}


def fill_appraisal(src: Path, dst: Path, scores: dict) -> Path:
    """Type appraised scores into a by-unit appraisal workbook, found by STT code."""
    wb = load_workbook(src)
    ws = wb["Thẩm định"]
    header = next(r for r in range(1, 40) if any(c.value == "Điểm thẩm định" for c in ws[r]))
    cols = {c.value: c.column for c in ws[header] if isinstance(c.value, str)}
    for r in range(header + 1, ws.max_row + 1):
        code = ws.cell(r, cols["STT"]).value
        if isinstance(code, str) and code in scores:
            ws.cell(r, cols["Điểm thẩm định"]).value = float(D(str(scores[code])))
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


@pytest.fixture(scope="module")
def appraised(round_trip, tmp_path_factory):
    rubric, resaved, data, out = round_trip
    tmp_path = tmp_path_factory.mktemp("appraised")
    runner = CliRunner()
    result = runner.invoke(main, ["appraise", str(out), "--out", str(tmp_path / "books")])
    assert result.exit_code == 0, result.output
    area = runner.invoke(main, ["appraise", str(out), "--out", str(tmp_path / "areas"), "--by", "area"])
    assert area.exit_code == 0, area.output
    filled = []
    for code, name, tree, na, extras in UNITS:
        scores = {k: v for k, v in unit_scores(tree, extras).items()}
        scores.update({k: str(v) for k, v in APPRAISAL_CHANGES.get(code, {}).items()})
        book = next((tmp_path / "books").glob(f"tham-dinh_{code}_*.xlsx"))
        filled.append(fill_appraisal(book, tmp_path / "filled" / book.name, scores))
    units = [Unit(code, name, "xã") for code, name, *_ in UNITS]
    run_harvest(rubric, [*resaved, *filled], units, tmp_path / "out", period=parse_period("2025"), workers=1)
    return tmp_path, json.loads((tmp_path / "out" / "harvest.json").read_text(encoding="utf-8"))


@pytest.mark.libreoffice
def test_appraisal_books_carry_the_items_and_the_final_ranking_uses_them(appraised):
    tmp_path, data = appraised
    areas = sorted(p.name for p in (tmp_path / "areas").glob("tham-dinh_linh-vuc-*.xlsx"))
    assert any("linh-vuc-thuong-tru" in name for name in areas)  # the bonus and penalty items have their own book
    ws = load_workbook(next((tmp_path / "books").glob("tham-dinh_U1_*.xlsx")))["Thẩm định"]
    codes = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    assert all(code in codes for code in ITEMS)
    assert data["appraised"] is True
    by_code = {u["code"]: u for u in data["units"]}
    assert (by_code["U1"]["appraisal_base_total"], by_code["U1"]["appraisal_bonus"]) == (92, 4)
    assert by_code["U2"]["appraisal_penalty"] == 1 and by_code["U2"]["self_penalty"] == 0
    for code, (total, rank, band) in APPRAISED.items():
        unit = by_code[code]
        assert (D(str(unit["appraisal_total"])), unit["rank"], unit["group"]) == (total, rank, band), code
    assert "TR.2" in by_code["U2"]["group_note"]  # the appraised penalty, not the self score, sanctions
    assert by_code["U3"]["group_note"] == ""  # two Xuất sắc now fit the cap


@pytest.mark.libreoffice
def test_phu_luc_ii_in_word_has_the_parts_and_totals_of_the_workbook_and_harvest_json(appraised):
    tmp_path, data = appraised
    out = tmp_path / "out"
    ws = load_workbook(out / "phu-luc-ii.xlsx")["Phụ lục II"]
    top = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Số TT")
    sheet = {ws.cell(r, 2).value: [ws.cell(r, c).value for c in range(1, ws.max_column + 1)]
             for r in range(top + 2, ws.max_row + 1) if str(ws.cell(r, 2).value).startswith("UBND")}
    top_words, sub_words, body = word_ranking(out / "phu-luc-ii.docx")
    assert top_words == ["Số TT", "Đơn vị cấp xã"] + ["Điểm tự chấm"] * 4 + ["Điểm thẩm định"] * 4 \
        + ["Xếp hạng", "Xếp loại", "Ghi chú"]
    assert sub_words[2:10] == ["Điểm các lĩnh vực", "Điểm thưởng", "Điểm trừ", "Tổng điểm"] * 2
    words = {cells[1]: cells for cells in body}
    parts = ("base_total", "bonus", "penalty", "total")
    for unit in data["units"]:
        name = f"UBND {unit['name'][0].lower()}{unit['name'][1:]}"
        from_json = [vn(unit[f"{side}_{part}"]) for side in ("self", "appraisal") for part in parts]
        assert words[name][2:10] == from_json == [vn(v) for v in sheet[name][2:10]], name
        assert words[name][10:12] == [str(unit["rank"]), unit["group"]], name
    assert words["UBND xã Một"][6:10] == ["92", "4", "0", "96"]  # the council's bonus, capped total

    # the table fits the landscape page, and every cell is as wide as the grid columns it covers
    document = Document(str(out / "phu-luc-ii.docx"))
    section = document.sections[0]
    assert section.page_width > section.page_height
    table = document.tables[0]._tbl
    grid = [int(c.get(qn("w:w"))) for c in table.tblGrid.findall(qn("w:gridCol"))]
    assert len(grid) == 13
    assert sum(grid) * 635 <= section.page_width - section.left_margin - section.right_margin  # twips → EMU
    assert min(grid[2:10]) == max(grid[2:10])  # every part column as wide as its template cell
    for tr in table.tr_lst:
        position = 0
        for tc in tr.tc_lst:
            assert int(tc.tcPr.tcW.get(qn("w:w"))) == sum(grid[position:position + tc.grid_span])
            position += tc.grid_span
        assert position == len(grid)


@pytest.mark.libreoffice
def test_reports_give_the_parts_and_the_band_note(appraised):
    tmp_path, _ = appraised
    result = CliRunner().invoke(main, ["report", str(tmp_path / "out"), "--unit", "U2", "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output

    path = next(p for p in (tmp_path / "rep").glob("*.docx") if "U2" in p.name)
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "Điểm thưởng được tính: 2 điểm (tính tối đa 5 điểm) (thẩm định: 2)" in text
    assert "Điểm trừ được tính: 0 điểm (tính tối đa 10 điểm) (thẩm định: 1)" in text
    assert "TR.2. Không báo cáo đúng hạn: 0 điểm (thẩm định: 1)." in text
    assert "Xếp loại theo điểm thẩm định: Tốt (Xếp loại Tốt (theo tổng điểm là Xuất sắc): bị trừ điểm ở TR.2" in text
    assert "Các tiêu chí chưa đạt điểm tối đa" in text and "T.1." not in text.split("Các tiêu chí chưa đạt điểm tối đa")[1]


# ---------------------------------------------------------------------------------------------
# Through Excel: cchc rubric export, then import, keeps every new key


def test_rubric_export_import_keeps_bonus_penalty_caps_and_groups(tmp_path):
    from cchc_xls.rubric_xlsx import export_rubric, import_rubric, write_rubric_yaml

    rubric = load_rubric(write_rubric(tmp_path, GROUPS_YAML))
    xlsx = export_rubric(rubric, tmp_path / "r.xlsx")
    data, problems, findings = import_rubric(xlsx)
    assert problems == [] and [f for f in findings if f.is_error] == []
    back = load_rubric(write_rubric_yaml(data, tmp_path / "back.yaml", xlsx.name))

    def shape(r):
        return ([(n.code, n.label, n.max, n.part, n.levels, n.step, n.sanction, n.sanction_band, n.applies_to)
                 for n in r.nodes()], r.bands, r.ranking_groups, r.index_as_percent, r.bonus.max, r.penalty.max,
                r.content_hash)

    assert shape(back) == shape(rubric)
    table = load_workbook(xlsx)["Tiêu chí"]
    rows = {table.cell(r, 1).value: r for r in range(2, table.max_row + 1)}
    assert table.cell(rows["TR.3"], 12).value == "trừ" and table.cell(rows["TR.3"], 13).value == "tối đa Khá"


def test_template_shows_item_headings_and_the_guide_explains_them(tmp_path):
    rubric = load_rubric(write_rubric(tmp_path))
    path = tmp_path / "U1.xlsx"
    render_template(path, rubric, Unit("U1", "Xã Một", "xã"), parse_period("2025"), Options(batch="b"))
    book = load_workbook(path)
    ws = book[MAIN_SHEET]
    labels = [ws.cell(r, 2).value for r in range(1, ws.max_row + 1)]
    assert "ĐIỂM THƯỞNG (cộng tối đa 5 điểm)" in labels and "ĐIỂM TRỪ (trừ tối đa 10 điểm)" in labels
    rows = rows_by_code(ws)
    assert labels.index("ĐIỂM THƯỞNG (cộng tối đa 5 điểm)") + 1 < rows["T.1"] < rows["TR.1"]
    _, cols = header_columns(ws)
    assert ws.cell(rows["TR.1"], cols["score"]).protection.locked is False  # the commune scores it
    guide = " ".join(str(c.value or "") for c in book["Hướng dẫn"]["A"])
    assert "ĐIỂM THƯỞNG" in guide and "cộng tối đa 5 điểm" in guide and "trừ tối đa 10 điểm" in guide


def test_rank_units_by_group_with_an_unknown_kind_and_a_missing_unit(tmp_path):
    from dataclasses import dataclass, field

    from cchc_xls.score import rank_units

    @dataclass
    class Row:  # what rank_units reads of a unit
        kind: str | None
        self_total: Decimal | None
        status: str = "submitted"
        appraisal_total: Decimal | None = None
        appraisal_complete: bool = False
        scores: dict = field(default_factory=dict)

        def ranking_scores(self, final):
            return self.scores

    rubric = load_rubric(write_rubric(tmp_path, GROUPS_YAML))
    units = [Row("xã", D(80)), Row("phường", D(70)), Row("đặc khu", D(85)), Row(None, D(99)),
             Row("phường", None, status="missing"), Row("phường", D(75), scores={"TR.2": D(1)})]
    ranked = rank_units(units, rubric)
    assert [(r.ranking_group, r.rank, r.group) for r in ranked] == [
        ("xã, đặc khu", 2, "Tốt"), ("phường", 2, "Khá"), ("xã, đặc khu", 1, "Tốt"),
        ("đơn vị chưa rõ loại", 1, "Tốt"), ("phường", None, None), ("phường", 1, "Trung bình")]
    # alone in its group, floor(0.5 × 1) = 0 units may be Xuất sắc: the cap counts within the group


def test_rubric_import_reports_bonus_and_penalty_problems_with_their_rows(tmp_path):
    from cchc_xls.rubric_xlsx import export_rubric, import_rubric

    xlsx = export_rubric(load_rubric(write_rubric(tmp_path)), tmp_path / "r.xlsx")
    book = load_workbook(xlsx)
    table = book["Tiêu chí"]
    headers = {table.cell(1, c).value: c for c in range(1, table.max_column + 1)}
    rows = {table.cell(r, 1).value: r for r in range(2, table.max_row + 1)}
    table.cell(rows["T.1"], headers["Phần"]).value = "thương"  # a typo
    table.cell(rows["T.2"], headers["Xử lý xếp loại"]).value = "hạ một mức"  # a bonus has no sanction
    info = book["Thông tin"]
    for r in range(1, info.max_row + 1):
        if info.cell(r, 1).value == "Điểm trừ tối đa":
            info.cell(r, 2).value = None
        if info.cell(r, 1).value == "Tốt":
            info.cell(r, 3).value = "nhiều"  # not a share
    book.save(xlsx)
    _, problems, _ = import_rubric(xlsx)
    texts = [str(p) for p in problems]
    assert any(f"dòng {rows['T.1']}" in t and "“thương”" in t and "thưởng, trừ" in t for t in texts)
    assert any(f"dòng {rows['T.2']}" in t and "Xử lý xếp loại" in t for t in texts)
    assert any("Có mục điểm trừ" in t and "Điểm trừ tối đa" in t for t in texts)
    assert any("“Tốt”" in t and "0,25 hoặc 25%" in t for t in texts)


def test_rubric_show_names_items_caps_and_groups(tmp_path):
    path = write_rubric(tmp_path, GROUPS_YAML)
    result = CliRunner().invoke(main, ["rubric", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert "TR.3  Bị đơn thư phản ánh đúng  (5)  [điểm trừ; khi bị trừ điểm: không xếp trên mức Khá]" in result.output
    assert "Điểm thưởng: tính tối đa 5 điểm" in result.output and "Điểm trừ: tính tối đa 10 điểm" in result.output
    assert "Xuất sắc ≥ 90 (tối đa 50% số đơn vị)" in result.output
    assert "Xếp hạng riêng: phường | xã, đặc khu" in result.output
    shown = json.loads(CliRunner().invoke(main, ["rubric", "show", str(path), "--json"]).output)
    assert {n["code"]: n.get("part") for n in shown}["T.1"] == "bonus" and "part" not in shown[0]


def test_a_typed_over_subtotal_is_reported_once_not_again_at_the_final_total(tmp_path):
    from cchc_xls.check import check_return
    from cchc_xls.generate import Entries
    from cchc_xls.read import read_return

    rubric = load_rubric(write_rubric(tmp_path))
    scores = {k: D(str(v)) for k, v in unit_scores(UNITS[3][2], UNITS[3][4]).items()}  # U4: 95 − 1
    entries = Entries(scores=scores, evidence={c: "Văn bản số 1" for c, v in scores.items() if v},
                      explanations={c: "Giải trình" for c in scores}, typed_subtotals={"I": D(50)})
    path = tmp_path / "U4.xlsx"
    render_template(path, rubric, Unit("U4", "Xã Bốn", "xã"), parse_period("2025"), Options(batch="b"), entries)
    checked = check_return(read_return(path, path.read_bytes(), path.name), rubric, "xã")
    mismatches = [f for f in checked.findings if f.code == "total.mismatch"]
    assert len(mismatches) == 1 and "tiêu chí I" in mismatches[0].message
    assert checked.totals.total == D(94) and checked.totals.base_total == D(95)  # recomputed from the criteria
    # a typed-over final total is reported at its own cell
    wb = load_workbook(path)
    ws = wb[MAIN_SHEET]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == FINAL_LABEL)
    ws.cell(row, 4).value = 99
    wb.save(tmp_path / "typed.xlsx")
    typed = tmp_path / "typed.xlsx"
    findings = check_return(read_return(typed, typed.read_bytes(), typed.name), rubric, "xã").findings
    assert any(f.code == "formula.replaced" and f.cell == f"D{row}" for f in findings)
    assert any(f.code == "total.mismatch" and f.cell == f"D{row}" and "99" in f.message for f in findings)
