"""`cchc rank` and Phụ lục II (issue 5): the ranking table in the form of seed 002, its distribution,
its cluster sub-rankings, its charts, and the heat map of tong-hop.xlsx.

Most tests write a harvest.json by hand (the documented hand-over point, issue 4) with chosen totals
and run `cchc rank` on it, then read phu-luc-ii.xlsx back with openpyxl and its chart XML with
ElementTree. One module fixture harvests real generated workbooks end to end (Chí Minh with the
seed 003 scores, Thanh Miện with the seed 000 scores, two more communes, one rejected, one missing)
for the heat map and the ranking of a real harvest.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
import zipfile
from decimal import Decimal
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from cchc_xls.cli import main
from cchc_xls.generate import Entries
from cchc_xls.pipeline import run_harvest
from cchc_xls.resources import data_dir
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

from support import CHI_MINH_EVIDENCE, CHI_MINH_SCORES, make_template

D = Decimal
HD = "hai-duong-2022"
RUBRIC = load_rubric(HD)
TITLE = "THỐNG KÊ KẾT QUẢ XẾP HẠNG CHỈ SỐ CCHC ĐỐI VỚI UBND CẤP XÃ"
PROVISIONAL_WORDS = "tạm xếp theo điểm tự chấm"
RANKING, CHART, DISTRIBUTION, CLUSTERS = "Phụ lục II", "Biểu đồ", "Phân loại", "Theo cụm"
HEAT_MAP = "Tỷ lệ theo lĩnh vực"
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]", re.IGNORECASE)

# hai-duong-2022's bands (assumed from Thái Nguyên): ≥90 Xuất sắc, ≥80 Tốt, ≥70 Khá, ≥50 Trung bình, else Yếu.
BANDS = [("Xuất sắc", D(90)), ("Tốt", D(80)), ("Khá", D(70)), ("Trung bình", D(50)), ("Yếu", D(0))]


def expected_group(total: Decimal, bands=BANDS) -> str:
    return next(name for name, minimum in bands if total >= minimum)


def competition_ranks(totals: list[Decimal]) -> list[int]:
    """1 + the number of strictly higher totals: equal totals share a rank (1, 2, 2, 4)."""
    return [1 + sum(1 for other in totals if other > total) for total in totals]


# ---------------------------------------------------------------------------------------------
# harvest.json written by hand


def unit(code, name, total=None, *, kind="xã", cluster=None, status="submitted", appraisal=None, complete=None,
         note=""):
    item = {
        "code": code, "name": name, "kind": kind, "group_of_units": cluster, "status": status,
        "file": f"{code}.xlsx" if status != "missing" else None,
        "self_total": None if total is None else float(D(total)),
        "appraisal_total": None if appraisal is None else float(D(appraisal)),
        "appraisal_complete": bool(complete) if complete is not None else False,
        "rank": None, "group": None, "subtotals": {}, "scores": {}, "not_applicable": [], "evidence": {},
        "explanations": {}, "note": note,
    }
    return item


MISSING_NOTE = "Chưa nộp phiếu tự đánh giá"
REJECTED_NOTE = "Tệp bị từ chối: tệp thuộc bộ tiêu chí khác (thai-nguyen-2021), không phải hai-duong-2022"


def write_harvest(folder: Path, units: list[dict], period: str | None = "2024", rubric: str = HD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"rubric": rubric, "period": period, "tool_version": "test", "units": units, "files": []}
    (folder / "harvest.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def cli(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def rank(folder: Path, *extra) -> tuple[object, dict]:
    """`cchc rank DIR --json`: the printed JSON and the workbook it wrote."""
    result = cli("rank", folder, "--json", *extra)
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout)


# ---------------------------------------------------------------------------------------------
# Reading phu-luc-ii.xlsx back


def header_row(ws) -> int:
    """The first header row (1-based), found by its text in column A."""
    for row in range(1, 30):
        if ws.cell(row, 1).value == "Số TT":
            return row
    raise AssertionError("no “Số TT” header")


def ranking_rows(ws) -> list[dict]:
    """The table body: one dict per unit row, until Số TT stops being a number."""
    rows = []
    row = header_row(ws) + 2
    while isinstance(ws.cell(row, 1).value, int):
        values = [ws.cell(row, col).value for col in range(1, 8)]
        rows.append(dict(zip(("number", "name", "self", "appraisal", "rank", "group", "note"), values), row=row))
        row += 1
    return rows


def title_lines(ws) -> list[str]:
    return [str(ws.cell(row, 1).value or "") for row in range(1, header_row(ws))]


def all_text(ws) -> list[str]:
    return [str(c.value) for r in ws.iter_rows() for c in r if isinstance(c.value, str)]


def cluster_sections(ws) -> dict[str, list[dict]]:
    """Theo cụm: {cluster title: [{number, name, total, local, overall}]}."""
    sections: dict[str, list[dict]] = {}
    current = None
    for row in range(1, ws.max_row + 1):
        a, b = ws.cell(row, 1).value, ws.cell(row, 2).value
        if isinstance(a, str) and a != "Số TT" and b is None and row > 2:
            current = sections.setdefault(a, [])
        elif isinstance(a, int) and current is not None:
            values = [ws.cell(row, col).value for col in range(1, 6)]
            current.append(dict(zip(("number", "name", "total", "local", "overall"), values)))
    return sections


C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    """A part's relationships: {rId: absolute part name}."""
    path = PurePosixPath(part)
    rels = path.parent / "_rels" / (path.name + ".rels")
    if str(rels) not in zf.namelist():
        return {}
    result = {}
    for rel in ET.fromstring(zf.read(str(rels))).iter(REL + "Relationship"):
        target = rel.get("Target")
        resolved = PurePosixPath(target.lstrip("/")) if target.startswith("/") else path.parent / target
        parts = []
        for piece in resolved.parts:
            if piece == "..":
                parts.pop()
            else:
                parts.append(piece)
        result[rel.get("Id")] = "/".join(parts)
    return result


def charts_by_sheet(path: Path) -> dict[str, list[dict]]:
    """{sheet name: [{"dir": "bar"|"col", "categories": ref, "values": ref}]}, following the package's
    relationships from each (chart)sheet to its drawing to its charts."""
    with zipfile.ZipFile(path) as zf:
        workbook_rels = _rels(zf, "xl/workbook.xml")
        result: dict[str, list[dict]] = {}
        for sheet in ET.fromstring(zf.read("xl/workbook.xml")).iter(MAIN + "sheet"):
            part = workbook_rels[sheet.get(RID)]
            charts = []
            for drawing in (t for t in _rels(zf, part).values() if "/drawings/" in t):
                for chart_part in (t for t in _rels(zf, drawing).values() if "/charts/" in t):
                    root = ET.fromstring(zf.read(chart_part))
                    for series in root.iter(C + "ser"):
                        charts.append({
                            "dir": root.find(f".//{C}barDir").get("val"),
                            "categories": series.find(f"{C}cat//{C}f").text,
                            "values": series.find(f"{C}val//{C}f").text,
                        })
            result[sheet.get("name")] = charts
        return result


def ref(sheet: str, column: str, first: int, last: int) -> str:
    return f"'{sheet}'!${column}${first}:${column}${last}"


# ---------------------------------------------------------------------------------------------
# A provisional ranking: 80, 75, 75, 70, one commune missing, one rejected


TIES = [
    unit("M05", "Xã Em", status="missing", cluster="Cụm A", note=MISSING_NOTE),  # listed first on purpose
    unit("M04", "Thị trấn Dũng", "70", kind="thị trấn", cluster="Cụm B"),
    unit("M02", "Xã Bình", "75", cluster="Cụm A"),
    unit("M06", "Phường Giang", status="rejected", kind="phường", cluster="Cụm B", note=REJECTED_NOTE),
    unit("M01", "Xã An", "80", cluster="Cụm A"),
    unit("M03", "Xã Cường", "75", cluster="Cụm A"),
]


@pytest.fixture(scope="module")
def ties(tmp_path_factory):
    folder = write_harvest(tmp_path_factory.mktemp("ties") / "ket-qua", TIES)
    result, printed = rank(folder, "--office", "UBND huyện Tứ Kỳ")
    workbook = load_workbook(folder / "phu-luc-ii.xlsx")
    return folder, printed, workbook, result


def test_equal_totals_share_a_rank_and_the_next_rank_is_skipped(ties):
    _, printed, workbook, _ = ties
    rows = ranking_rows(workbook[RANKING])
    ranked = [r for r in rows if r["rank"] is not None]
    assert [r["name"] for r in ranked] == ["UBND xã An", "UBND xã Bình", "UBND xã Cường", "UBND thị trấn Dũng"]
    assert [r["self"] for r in ranked] == [80, 75, 75, 70]
    assert [r["rank"] for r in ranked] == [1, 2, 2, 4]
    assert [r["number"] for r in rows] == list(range(1, len(rows) + 1))  # Số TT runs on over every row
    assert [u["rank"] for u in printed["units"][:4]] == [1, 2, 2, 4]
    assert [u["group"] for u in printed["units"][:4]] == ["Tốt", "Khá", "Khá", "Khá"]


def test_missing_and_rejected_units_are_listed_last_with_their_reason_and_no_rank(ties):
    _, printed, workbook, _ = ties
    rows = ranking_rows(workbook[RANKING])
    assert len(rows) == len(TIES)
    last = rows[4:]
    assert {r["name"] for r in last} == {"UBND xã Em", "UBND phường Giang"}
    for r in last:
        assert r["rank"] is None and r["group"] in (None, "") and r["self"] is None and r["appraisal"] is None
    notes = {r["name"]: r["note"] for r in last}
    assert notes["UBND xã Em"] == MISSING_NOTE
    assert notes["UBND phường Giang"] == REJECTED_NOTE
    assert [u["code"] for u in printed["units"][4:]] in (["M05", "M06"], ["M06", "M05"])
    assert all(u["rank"] is None and u["group"] is None for u in printed["units"][4:])


def test_provisional_title_line_says_ranked_by_self_scores(ties):
    _, printed, workbook, result = ties
    ws = workbook[RANKING]
    lines = title_lines(ws)
    assert any(PROVISIONAL_WORDS in line.lower() for line in lines), lines
    assert printed["provisional"] is True
    # the values the ranking used are the self totals, in the self-score column
    assert [r["appraisal"] for r in ranking_rows(ws)] == [None] * len(TIES)
    plain = cli("rank", ties[0])
    assert plain.exit_code == 0, plain.output
    assert PROVISIONAL_WORDS in plain.output.lower()


def test_form_of_seed_002_title_issuing_line_and_merged_two_row_header(ties):
    ws = ties[2][RANKING]
    lines = title_lines(ws)
    assert lines[0] == "PHỤ LỤC II"
    assert TITLE in lines
    issuing = next(line for line in lines if line.startswith("(Ban hành kèm theo Quyết định số"))
    # a ranking of 2024 is issued in 2025; --office "UBND huyện Tứ Kỳ", as before profiles, is the issuer
    assert "/QĐ-UBND" in issuing and "/2025 " in issuing and issuing.endswith("của Chủ tịch UBND huyện Tứ Kỳ)")

    top = header_row(ws)
    merged = {str(r) for r in ws.merged_cells.ranges}
    expected = {
        f"A{top}:A{top + 1}": "Số TT",
        f"B{top}:B{top + 1}": "Đơn vị cấp xã",
        f"C{top}:D{top}": "Tổng điểm đạt được",
        f"E{top}:E{top + 1}": "Xếp hạng",
    }
    for cells, text in expected.items():
        assert cells in merged, (cells, sorted(merged))
        assert ws[cells.split(":")[0]].value == text
    assert ws.cell(top + 1, 3).value == "Điểm tự chấm"
    assert ws.cell(top + 1, 4).value == "Điểm thẩm định"
    # Ghi chú: the last column, merged over both header rows
    notes = [c for c in range(1, 10) if ws.cell(top, c).value == "Ghi chú"]
    assert len(notes) == 1
    letter = ws.cell(top, notes[0]).column_letter
    assert f"{letter}{top}:{letter}{top + 1}" in merged
    assert notes[0] == max(c for c in range(1, 10) if ws.cell(top, c).value)
    assert ws.freeze_panes == f"A{top + 2}"


def test_signature_block_and_print_setup(ties):
    ws = ties[2][RANKING]
    rows = ranking_rows(ws)
    below = [str(ws.cell(r, c).value) for r in range(rows[-1]["row"] + 1, ws.max_row + 1) for c in range(1, 8)
             if ws.cell(r, c).value]
    assert "NGƯỜI LẬP BIỂU" in below
    assert "TRƯỞNG PHÒNG" in below  # the title follows the office: a district's Phòng Nội vụ
    assert any("ngày" in t and "tháng" in t and "năm" in t for t in below)
    assert any("Ký, ghi rõ họ tên" in t for t in below)
    assert any("đóng dấu" in t for t in below)

    setup = ws.page_setup
    assert setup.paperSize == 9  # A4
    assert setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert setup.fitToWidth in (None, 1)  # None: the OOXML default, one page wide
    assert setup.fitToHeight == 0  # as many pages tall as needed
    top = header_row(ws)
    assert ws.print_title_rows == f"${top}:${top + 1}"  # the two header rows repeat on every page
    area = ws.print_area if isinstance(ws.print_area, str) else ws.print_area[0]
    last_printed = int(re.search(r"\$(\d+)$", area).group(1))
    signature_row = max(r for r in range(1, ws.max_row + 1) for c in range(1, 8)
                        if ws.cell(r, c).value == "(Ký, ghi rõ họ tên, đóng dấu)")
    assert last_printed >= signature_row
    assert area.startswith(f"'{RANKING}'!$A$1:") or area.startswith("$A$1:")


def test_distribution_sheet_counts_and_percentages(ties):
    ws = ties[2][DISTRIBUTION]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Xếp loại")
    assert [ws.cell(header, c).value for c in (1, 2, 3)] == ["Xếp loại", "Số lượng", "Tỷ lệ %"]
    table = {ws.cell(r, 1).value: (ws.cell(r, 2).value, ws.cell(r, 3).value) for r in range(header + 1, ws.max_row + 1)
             if ws.cell(r, 1).value}
    assert table["Xuất sắc"] == (0, 0)
    assert table["Tốt"] == (1, 25)
    assert table["Khá"] == (3, 75)
    assert table["Trung bình"] == (0, 0)
    assert table["Yếu"] == (0, 0)
    assert table["Cộng"][0] == 4
    unranked = next(v for k, v in table.items() if k.startswith("Chưa xếp loại"))
    assert unranked[0] == 2
    assert any("tạm tính theo điểm tự chấm" in t for t in all_text(ws))  # the sheet says it is provisional too


def test_cluster_sheet_ranks_within_each_cluster(ties):
    ws = ties[2][CLUSTERS]
    sections = cluster_sections(ws)
    assert set(sections) == {"Cụm A", "Cụm B"}
    a = sections["Cụm A"]
    assert [r["name"] for r in a] == ["UBND xã An", "UBND xã Bình", "UBND xã Cường", "UBND xã Em"]
    assert [r["total"] for r in a] == [80, 75, 75, "Chưa nộp"]  # issue 14.10: said, not left blank
    assert [r["local"] for r in a] == [1, 2, 2, None]
    assert [r["overall"] for r in a] == [1, 2, 2, None]
    b = sections["Cụm B"]
    assert [r["name"] for r in b] == ["UBND thị trấn Dũng", "UBND phường Giang"]
    assert [r["local"] for r in b] == [1, None]
    assert [r["overall"] for r in b] == [4, None]


def test_charts_point_at_exactly_the_ranked_rows_and_the_distribution_counts(ties):
    folder, _, workbook, _ = ties
    ws = workbook[RANKING]
    ranked = [r for r in ranking_rows(ws) if r["rank"] is not None]
    first, last = ranked[0]["row"], ranked[-1]["row"]
    assert last - first + 1 == 4

    charts = charts_by_sheet(folder / "phu-luc-ii.xlsx")
    assert [s.title for s in workbook.chartsheets] == [CHART]
    bar = charts[CHART]
    assert len(bar) == 1 and bar[0]["dir"] == "bar"
    assert bar[0]["categories"] == ref(RANKING, "B", first, last)  # the names of the ranked units
    assert bar[0]["values"] == ref(RANKING, "C", first, last)  # their self totals (provisional)

    distribution = workbook[DISTRIBUTION]
    band_rows = [r for r in range(1, distribution.max_row + 1) if distribution.cell(r, 1).value in dict(BANDS)]
    column = charts[DISTRIBUTION]
    assert len(column) == 1 and column[0]["dir"] == "col"
    assert column[0]["categories"] == ref(DISTRIBUTION, "A", band_rows[0], band_rows[-1])
    assert column[0]["values"] == ref(DISTRIBUTION, "B", band_rows[0], band_rows[-1])
    assert band_rows == list(range(band_rows[0], band_rows[0] + len(BANDS)))


def test_rank_json_is_the_workbook_order(ties):
    _, printed, workbook, _ = ties
    rows = ranking_rows(workbook[RANKING])
    committee = {"M01": "UBND xã An", "M02": "UBND xã Bình", "M03": "UBND xã Cường", "M04": "UBND thị trấn Dũng",
                 "M05": "UBND xã Em", "M06": "UBND phường Giang"}
    assert [committee[u["code"]] for u in printed["units"]] == [r["name"] for r in rows]
    assert [u["rank"] for u in printed["units"]] == [r["rank"] for r in rows]
    assert [u["self_total"] for u in printed["units"]] == [r["self"] for r in rows]
    assert [u["group"] or "" for u in printed["units"]] == [r["group"] or "" for r in rows]
    assert printed["path"] == str(ties[0] / "phu-luc-ii.xlsx")


def test_rank_out_option_writes_elsewhere_and_leaves_harvest_json_alone(ties, tmp_path):
    folder = ties[0]
    before = (folder / "harvest.json").read_bytes()
    out = tmp_path / "xep-hang"
    result = cli("rank", folder, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "phu-luc-ii.xlsx").is_file()
    assert str(out / "phu-luc-ii.xlsx") in result.output
    assert (folder / "harvest.json").read_bytes() == before
    assert not list(out.glob("*.part"))


# ---------------------------------------------------------------------------------------------
# Groups at the rubric's thresholds


BOUNDARY_TOTALS = ["90", "89.999", "80", "79.99", "70", "69.999", "50", "49.99"]


@pytest.fixture(scope="module")
def boundaries(tmp_path_factory):
    units = [unit(f"B{i}", f"Xã Số {i}", total) for i, total in enumerate(BOUNDARY_TOTALS, start=1)]
    units.append(unit("B9", "Xã Số 9", status="missing", note=MISSING_NOTE))
    folder = write_harvest(tmp_path_factory.mktemp("bounds") / "ket-qua", units)
    _, printed = rank(folder)
    return folder, printed, load_workbook(folder / "phu-luc-ii.xlsx")


@pytest.mark.parametrize("total,group", [
    ("90", "Xuất sắc"), ("89.999", "Tốt"), ("80", "Tốt"), ("79.99", "Khá"), ("70", "Khá"), ("69.999", "Trung bình"),
    ("50", "Trung bình"), ("49.99", "Yếu"),
])
def test_groups_from_the_rubric_thresholds_at_the_boundaries(boundaries, total, group):
    _, printed, workbook = boundaries
    assert expected_group(D(total)) == group  # the brief's table, as this module reads it
    entry = next(u for u in printed["units"] if u["self_total"] is not None and D(str(u["self_total"])) == D(total))
    assert entry["group"] == group
    row = next(r for r in ranking_rows(workbook[RANKING]) if r["self"] is not None and D(str(r["self"])) == D(total))
    assert row["group"] == group
    assert row["rank"] == BOUNDARY_TOTALS.index(total) + 1


def test_distribution_of_the_boundary_totals(boundaries):
    workbook = boundaries[2]
    ws = workbook[DISTRIBUTION]
    table = {ws.cell(r, 1).value: (ws.cell(r, 2).value, ws.cell(r, 3).value) for r in range(1, ws.max_row + 1)}
    counts = {name: sum(1 for t in BOUNDARY_TOTALS if expected_group(D(t)) == name) for name, _ in BANDS}
    assert counts == {"Xuất sắc": 1, "Tốt": 2, "Khá": 2, "Trung bình": 2, "Yếu": 1}
    for name, count in counts.items():
        assert table[name][0] == count
        assert D(str(table[name][1])) == (D(count) * 100 / len(BOUNDARY_TOTALS)).quantize(D("0.01"))
    assert table["Cộng"][0] == len(BOUNDARY_TOTALS)
    assert CLUSTERS not in workbook.sheetnames  # no unit has a group: no cluster sheet


def test_groups_follow_a_rubric_copy_with_other_thresholds(tmp_path):
    """The bands live in the rubric file kept beside harvest.json, not in code."""
    text = Path(RUBRIC.source).read_text(encoding="utf-8")
    changed = text.replace('{name: "Khá", min: 70}', '{name: "Khá", min: 75}')
    assert changed != text
    folder = write_harvest(tmp_path / "ket-qua", [unit("X1", "Xã Một", "74"), unit("X2", "Xã Hai", "75")])
    (folder / "rubric.yaml").write_text(changed, encoding="utf-8")
    _, printed = rank(folder)
    groups = {u["code"]: u["group"] for u in printed["units"]}
    assert groups == {"X1": "Trung bình", "X2": "Khá"}


# ---------------------------------------------------------------------------------------------
# The appraisal: final ranking by the appraised totals


@pytest.fixture(scope="module")
def appraised(tmp_path_factory):
    units = [
        unit("F1", "Xã Phong", "80", appraisal="65", complete=True, cluster="Cụm 1"),
        unit("F2", "Xã Quang", "70", appraisal="85", complete=True, cluster="Cụm 1"),
        unit("F3", "Xã Sơn", "60", appraisal="75", complete=True, cluster="Cụm 2"),
        unit("F4", "Xã Tân", status="missing", note=MISSING_NOTE, cluster="Cụm 2"),
    ]
    folder = write_harvest(tmp_path_factory.mktemp("final") / "ket-qua", units)
    result, printed = rank(folder)
    return folder, printed, load_workbook(folder / "phu-luc-ii.xlsx"), result


def test_final_ranking_uses_appraised_totals_and_is_not_provisional(appraised):
    folder, printed, workbook, _ = appraised
    ws = workbook[RANKING]
    assert not any(PROVISIONAL_WORDS in line.lower() for line in title_lines(ws))
    assert not any("tạm xếp" in t.lower() or "tạm tính" in t.lower() for name in workbook.sheetnames
                   if name != CHART for t in all_text(workbook[name]))
    assert printed["provisional"] is False
    rows = ranking_rows(ws)
    assert [r["name"] for r in rows] == ["UBND xã Quang", "UBND xã Sơn", "UBND xã Phong", "UBND xã Tân"]
    assert [r["appraisal"] for r in rows] == [85, 75, 65, None]
    assert [r["self"] for r in rows] == [70, 60, 80, None]  # self totals still shown
    assert [r["rank"] for r in rows] == [1, 2, 3, None]
    assert [r["group"] for r in rows[:3]] == ["Tốt", "Khá", "Trung bình"]  # groups by the appraised totals
    plain = cli("rank", folder)
    assert plain.exit_code == 0 and PROVISIONAL_WORDS not in plain.output.lower()


def test_final_chart_plots_the_appraised_column(appraised):
    folder, _, workbook, _ = appraised
    ranked = [r for r in ranking_rows(workbook[RANKING]) if r["rank"] is not None]
    bar = charts_by_sheet(folder / "phu-luc-ii.xlsx")[CHART]
    assert bar[0]["categories"] == ref(RANKING, "B", ranked[0]["row"], ranked[-1]["row"])
    assert bar[0]["values"] == ref(RANKING, "D", ranked[0]["row"], ranked[-1]["row"])


def test_final_cluster_sheet_ranks_by_appraised_totals(appraised):
    sections = cluster_sections(appraised[2][CLUSTERS])
    assert [(r["name"], r["total"], r["local"], r["overall"]) for r in sections["Cụm 1"]] == [
        ("UBND xã Quang", 85, 1, 1), ("UBND xã Phong", 65, 2, 3)]
    assert [(r["name"], r["local"], r["overall"]) for r in sections["Cụm 2"]] == [
        ("UBND xã Sơn", 1, 2), ("UBND xã Tân", None, None)]


PARTIAL = [
    unit("P1", "Xã An", "80", appraisal="60", complete=True, cluster="Cụm 1"),
    unit("P2", "Xã Bình", "70", cluster="Cụm 1"),
    unit("P3", "Xã Châu", "65", cluster="Cụm 1"),
]


def test_partial_appraisal_stays_provisional_ranked_by_self_totals(tmp_path):
    folder = write_harvest(tmp_path / "ket-qua", PARTIAL)
    _, printed = rank(folder)
    assert printed["provisional"] is True
    assert [(u["code"], u["rank"]) for u in printed["units"]] == [("P1", 1), ("P2", 2), ("P3", 3)]
    ws = load_workbook(folder / "phu-luc-ii.xlsx")[RANKING]
    assert any(PROVISIONAL_WORDS in line.lower() for line in title_lines(ws))
    rows = ranking_rows(ws)
    assert [r["appraisal"] for r in rows] == [60, None, None]
    assert "thẩm định" in rows[1]["note"] and "thẩm định" in rows[2]["note"]  # not yet appraised
    assert "thẩm định" not in (rows[0]["note"] or "")


def test_partial_appraisal_cluster_sheet_and_printout_agree_with_the_provisional_ranking(tmp_path):
    folder = write_harvest(tmp_path / "ket-qua", PARTIAL)
    rank(folder)
    sections = cluster_sections(load_workbook(folder / "phu-luc-ii.xlsx")[CLUSTERS])
    rows = sections["Cụm 1"]
    # one cluster holding every unit: its ranks must be the overall ranks, its totals the ranked (self) totals
    assert [(r["name"], r["total"], r["local"], r["overall"]) for r in rows] == [
        ("UBND xã An", 80, 1, 1), ("UBND xã Bình", 70, 2, 2), ("UBND xã Châu", 65, 3, 3)]
    printed = cli("rank", folder)
    first = next(line for line in printed.output.splitlines() if "UBND xã An" in line)
    assert re.search(r"\b80\b", first), first


# ---------------------------------------------------------------------------------------------
# Errors


def test_rank_without_harvest_json_exits_1_with_a_vietnamese_message(tmp_path):
    empty = tmp_path / "trong"
    empty.mkdir()
    result = cli("rank", empty)
    assert result.exit_code == 1
    message = result.stderr or result.output
    assert "harvest.json" in message
    assert VIETNAMESE.search(message), message
    assert "Traceback" not in result.output
    assert not (empty / "phu-luc-ii.xlsx").exists()


# ---------------------------------------------------------------------------------------------
# End to end: real returned workbooks harvested, then ranked; the heat map in tong-hop.xlsx


def sample_commune(code: str) -> dict:
    data = yaml.safe_load((data_dir("samples") / "diem-mau.yaml").read_text(encoding="utf-8"))
    return data["communes"][code]


def decimals(scores: dict) -> dict[str, Decimal]:
    return {str(k): D(str(v)) for k, v in scores.items()}


CHI_MINH = Unit("30512", "Xã Chí Minh", "xã", "Cụm Bắc")
TU_KY = Unit("30515", "Xã Tứ Kỳ", "xã", "Cụm Nam")  # the same scores as Chí Minh: a tie at 75
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã", "Cụm Nam")  # full marks: 76
THANH_MIEN = Unit("30514", "Thị trấn Thanh Miện", "thị trấn", "Cụm Bắc")  # seed 000: 69.816
HONG_PHONG = Unit("30516", "Xã Hồng Phong", "xã", "Cụm Nam")  # sends last year's form: rejected
NGU_HUNG = Unit("30517", "Xã Ngũ Hùng", "xã", "Cụm Bắc")  # sends nothing
E2E_UNITS = [CHI_MINH, THANH_XA, THANH_MIEN, TU_KY, HONG_PHONG, NGU_HUNG]

FULL = {leaf.code: leaf.max for leaf in RUBRIC.scorable()}
E2E_SCORES = {
    CHI_MINH.code: decimals(CHI_MINH_SCORES),
    TU_KY.code: decimals(CHI_MINH_SCORES),
    THANH_XA.code: dict(FULL),
    THANH_MIEN.code: decimals(sample_commune("M02")["scores"]),
}


@pytest.fixture(scope="module")
def harvested(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    inbox = root / "hop-thu"
    inbox.mkdir()
    tm = sample_commune("M02")
    for u in (CHI_MINH, TU_KY, THANH_XA, THANH_MIEN):
        evidence = {c: f"Văn bản số {i}/KH-UBND (tiêu chí {c})" for i, c in enumerate(E2E_SCORES[u.code], 1)}
        if u is THANH_MIEN:
            evidence = {str(k): v for k, v in tm["evidence"].items()}
        elif u is CHI_MINH:
            evidence.update(CHI_MINH_EVIDENCE)
        explanations = {c: "Chưa đạt tối đa" for c, v in E2E_SCORES[u.code].items() if v < FULL[c]}
        if u is THANH_MIEN:
            explanations = {str(k): v for k, v in tm["explanations"].items()}
        make_template(inbox, unit=u, entries=Entries(scores=E2E_SCORES[u.code], evidence=evidence,
                                                     explanations=explanations),
                      name=f"Phu luc CCHC {u.code}.xlsx")
    make_template(inbox, unit=HONG_PHONG, period="2023",
                  entries=Entries(scores=decimals(CHI_MINH_SCORES), evidence=dict(CHI_MINH_EVIDENCE)),
                  name="Phu luc CCHC (1).xlsx")
    out = root / "ket-qua"
    run_harvest(RUBRIC, [inbox], E2E_UNITS, out, period=parse_period("2024"), workers=1)
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    return out, data


def test_real_harvest_is_ranked_with_ties_rejected_and_missing_last(harvested):
    out, data = harvested
    units = {u["code"]: u for u in data["units"]}
    assert units[CHI_MINH.code]["self_total"] == D("75")
    assert units[THANH_MIEN.code]["self_total"] == D("69.816")
    assert units[THANH_XA.code]["self_total"] == 76
    assert units[HONG_PHONG.code]["status"] == "rejected"
    assert units[NGU_HUNG.code]["status"] == "missing"

    rows = ranking_rows(load_workbook(out / "phu-luc-ii.xlsx")[RANKING])
    assert [(r["name"], r["rank"]) for r in rows[:4]] in (
        [("UBND xã Thanh Xá", 1), ("UBND xã Chí Minh", 2), ("UBND xã Tứ Kỳ", 2), ("UBND thị trấn Thanh Miện", 4)],
        [("UBND xã Thanh Xá", 1), ("UBND xã Tứ Kỳ", 2), ("UBND xã Chí Minh", 2), ("UBND thị trấn Thanh Miện", 4)],
    )
    assert [r["group"] for r in rows[:4]] == ["Khá", "Khá", "Khá", "Trung bình"]
    last = {r["name"]: r for r in rows[4:]}
    assert set(last) == {"UBND xã Hồng Phong", "UBND xã Ngũ Hùng"}
    assert last["UBND xã Ngũ Hùng"]["note"] == MISSING_NOTE
    rejected = last["UBND xã Hồng Phong"]["note"]
    assert rejected.startswith("Tệp bị từ chối") and "2023" in rejected, rejected
    assert all(r["rank"] is None for r in last.values())
    # harvest.json agrees with the workbook
    assert units[CHI_MINH.code]["rank"] == units[TU_KY.code]["rank"] == 2
    assert units[THANH_MIEN.code]["rank"] == 4


def test_rank_rebuilds_the_same_table_from_harvest_json(harvested, tmp_path):
    out, _ = harvested
    copy = tmp_path / "ket-qua"
    shutil.copytree(out, copy)
    before = ranking_rows(load_workbook(copy / "phu-luc-ii.xlsx")[RANKING])
    result, printed = rank(copy)
    after = ranking_rows(load_workbook(copy / "phu-luc-ii.xlsx")[RANKING])
    strip = [{k: v for k, v in r.items() if k != "row"} for r in before]
    assert strip == [{k: v for k, v in r.items() if k != "row"} for r in after]
    assert [u["rank"] for u in printed["units"]] == [r["rank"] for r in after]


def expected_area_percent(area, scores: dict[str, Decimal]) -> Decimal:
    leaves = [leaf for leaf in area.leaves() if leaf.self_scored]
    return sum((scores.get(leaf.code, D(0)) for leaf in leaves), D(0)) * 100 / sum((leaf.max for leaf in leaves), D(0))


def test_heat_map_percent_of_maximum_per_area_per_commune(harvested):
    out, data = harvested
    ws = load_workbook(out / "tong-hop.xlsx")[HEAT_MAP]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "STT")
    submitted = [u for u in data["units"] if u["status"] == "submitted"]
    assert len(submitted) == 4
    columns = [ws.cell(header, c).value for c in range(4, ws.max_column + 1) if ws.cell(header, c).value]
    assert columns == [u["name"] for u in submitted]  # one column per submitted commune, none for the others
    areas = RUBRIC.areas()
    assert [a.code for a in areas] == ["1", "2", "3", "4", "5", "6", "7", "II"]
    body = list(range(header + 1, header + 1 + len(areas)))
    assert [ws.cell(r, 1).value for r in body] == [a.code for a in areas]  # one row per area
    assert [ws.cell(r, 2).value for r in body] == [a.label for a in areas]
    assert ws.cell(body[-1] + 1, 4).value in (None, "")  # nothing below the last area in the data columns

    column_of = {u["code"]: 4 + i for i, u in enumerate(submitted)}
    # by hand: Chí Minh area 1 = 14.9 / 15 = 99.33 %, area 6 = 6.8 / 7 = 97.14 %, part II (II.1 only) = 1.9 / 2 = 95 %
    cm = column_of[CHI_MINH.code]
    assert abs(D(str(ws.cell(body[0], cm).value)) - D("99.33")) <= D("0.05")
    assert abs(D(str(ws.cell(body[5], cm).value)) - D("97.14")) <= D("0.05")
    assert D(str(ws.cell(body[7], cm).value)) == 95
    # Thanh Miện area 5 (seed 000): 7.619 / 11 = 69.26 %; Thanh Xá: 100 % everywhere
    assert abs(D(str(ws.cell(body[4], column_of[THANH_MIEN.code]).value)) - D("69.26")) <= D("0.05")
    assert all(ws.cell(r, column_of[THANH_XA.code]).value == 100 for r in body)
    # and every cell, against the leaf scores
    for code, col in column_of.items():
        for area, row in zip(areas, body):
            expected = expected_area_percent(area, E2E_SCORES[code])
            assert abs(D(str(ws.cell(row, col).value)) - expected) <= D("0.05") + D("1e-9"), (code, area.code)


def test_heat_map_has_a_three_colour_scale_over_exactly_the_data(harvested):
    out, data = harvested
    ws = load_workbook(out / "tong-hop.xlsx")[HEAT_MAP]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "STT")
    submitted = sum(1 for u in data["units"] if u["status"] == "submitted")
    last_col = ws.cell(header, 3 + submitted).column_letter
    expected = f"D{header + 1}:{last_col}{header + len(RUBRIC.areas())}"
    ranges = []
    for formatting in ws.conditional_formatting:
        for rule in formatting.rules:
            ranges.append((str(formatting.sqref), rule.type, rule))
    assert [(sqref, kind) for sqref, kind, _ in ranges] == [(expected, "colorScale")]
    scale = ranges[0][2].colorScale
    assert len(scale.cfvo) == 3 and len(scale.color) == 3
    values = [D(str(v.val)) for v in scale.cfvo]
    assert values == sorted(values) and values[-1] == 100


def test_every_text_in_the_ranking_is_nfc(harvested):
    out, _ = harvested
    with zipfile.ZipFile(out / "phu-luc-ii.xlsx") as zf:
        for name in zf.namelist():
            if name.endswith(".xml"):
                text = zf.read(name).decode("utf-8")
                assert text == unicodedata.normalize("NFC", text), name
