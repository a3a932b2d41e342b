"""`cchc demo` (issue 5): the whole job on the bundled SAMPLE data, in one command.

The demo is run through the CLI twice into the same folder (it must be re-runnable); the tests read
what the second run left. The sample file's declared problems (samples/diem-mau.yaml `problems`)
are read from the file itself, so every problem it declares must produce its finding.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from cchc_xls.cli import main
from cchc_xls.layout import MAIN_SHEET
from cchc_xls.resources import data_dir
from cchc_xls.rubric import load_rubric
from cchc_xls.units import load_units

from support import header_columns, rows_by_code

D = Decimal
SAMPLES = data_dir("samples")
SAMPLE = yaml.safe_load((SAMPLES / "diem-mau.yaml").read_text(encoding="utf-8"))
UNITS = load_units(SAMPLES / "don-vi-mau.csv")
RUBRIC = load_rubric(SAMPLE["rubric"])
KNOWN_PROBLEMS = {"text_score", "above_max", "missing_evidence", "sent_twice", "sends_nothing", "wrong_total"}


def problems() -> list[tuple[str, dict]]:
    return [(code, p) for code, data in SAMPLE["communes"].items() for p in (data.get("problems") or [])]


def run_demo(out: Path):
    return CliRunner().invoke(main, ["demo", "--out", str(out)])


def tree(folder: Path) -> list[str]:
    """Relative paths of every file; received copies without their SHA-256 prefix (it changes per run)."""
    names = []
    for path in folder.rglob("*"):
        if path.is_file():
            rel = path.relative_to(folder).as_posix()
            if "/received/" in f"/{rel}":
                rel = re.sub(r"received/[0-9a-f]{12}_", "received/", rel)
            names.append(rel)
    return sorted(names)


def unit_results(data: dict) -> list[tuple]:
    return [(u["code"], u["status"], u["self_total"], u["rank"], u["group"], sorted(u["scores"].items()))
            for u in data["units"]]


SELF_RESULTS = "3-ket-qua-tu-cham"
FINAL_RESULTS = "5-ket-qua-tham-dinh"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    first = run_demo(out)
    assert first.exit_code == 0, first.output
    snapshot = {"tree": tree(out),
                "harvest": json.loads((out / SELF_RESULTS / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)}
    second = run_demo(out)  # re-run into the same folder
    return out, first, second, snapshot


@pytest.fixture(scope="module")
def harvest_json(demo) -> dict:
    out = demo[0]
    assert len(list(out.rglob("harvest.json"))) == 2  # the self-assessment harvest and the final one
    return json.loads((out / SELF_RESULTS / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)


# ---------------------------------------------------------------------------------------------


def test_demo_exits_0_and_says_where_the_outputs_are_and_what_to_open_first(demo):
    out, first, second, _ = demo
    assert second.exit_code == 0, second.output
    text = second.output
    assert "DỮ LIỆU MẪU" in text  # clearly labelled as sample data
    assert str(out) in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Nên mở trước"))
    first_to_open = lines[start + 1].strip().lstrip("- ").split("  ")[0]
    assert first_to_open.endswith((".xlsx", ".docx")) and Path(first_to_open).is_file()
    assert any(line.strip().lstrip("- ").startswith(str(out / FINAL_RESULTS / "phu-luc-ii.xlsx")) for line in lines)
    for line in lines[start + 1:]:
        path = Path(line.strip().lstrip("- ").split("  ")[0])
        assert path.is_file(), line
        assert path.is_relative_to(out)
    for line in lines[:start]:  # every folder named in the steps exists
        for found in re.findall(r": (/[^ ]+)", line):
            assert Path(found).exists(), line


def test_demo_outputs_exist(demo, harvest_json):
    out = demo[0]
    [templates] = [p.parent for p in out.rglob("manifest.csv")]
    manifest = [line.split(",") for line in (templates / "manifest.csv").read_text(encoding="utf-8-sig").splitlines()]
    assert manifest[0][:3] == ["code", "name", "file"]
    assert sorted(row[2] for row in manifest[1:]) == sorted(p.name for p in templates.glob("*.xlsx"))
    assert sorted(row[0] for row in manifest[1:]) == sorted(u.code for u in UNITS)
    assert len(list(templates.glob("*.xlsx"))) == len(UNITS) == 15
    assert (templates / "templates.zip").is_file() and (templates / "messages.txt").is_file()

    results = out / SELF_RESULTS
    for name in ("tong-hop.xlsx", "phu-luc-ii.xlsx"):
        assert (results / name).is_file()
        load_workbook(results / name)  # opens
    received = results / "received"
    assert len([p for p in received.iterdir() if p.is_file()]) == harvest_json["summary"]["received"]

    inbox = next(p for p in out.iterdir() if p.is_dir() and list(p.glob("*.zip")) and p != templates)
    assert list(inbox.glob("~$*"))  # an Excel lock file, as inboxes have
    assert len(list(inbox.glob("*.zip"))) == 1  # a Zalo archive

    reports = [p for p in out.rglob("*.docx") if p.name != "phu-luc-ii.docx"]  # Phụ lục II in Word: no report
    summary = [p for p in reports if "tong-hop" in p.name]
    communes = [p for p in reports if "tong-hop" not in p.name]
    submitted = [u for u in harvest_json["units"] if u["status"] == "submitted"]
    assert len(summary) == 1 and len(communes) == len(submitted) == 14
    for unit in submitted:
        assert sum(1 for p in communes if f"_{unit['code']}_" in p.name) == 1
    header = [p.text for t in Document(str(summary[0])).tables for c in t._cells for p in c.paragraphs]
    assert any("DỮ LIỆU MẪU" in line for line in header)  # the summary says it is sample data
    assert not list(out.rglob("*.part"))


def test_seed_communes_totals(harvest_json):
    totals = {u["code"]: u["self_total"] for u in harvest_json["units"]}
    assert totals["M01"] == D("75")  # Chí Minh, seed 003
    assert totals["M02"] == D("69.816")  # Thanh Miện, seed 000
    assert totals["M03"] == D("70.13")  # Thanh Xá, seed 004
    names = {u["code"]: u["name"] for u in harvest_json["units"]}
    assert (names["M01"], names["M02"], names["M03"]) == ("Xã Chí Minh", "Thị trấn Thanh Miện", "Xã Thanh Xá")


def test_every_submitted_commune_is_read_as_the_sample_declares(harvest_json):
    """The sample's scores are always the correct ones (above_max: the maximum); problems are typing mistakes."""
    for unit in harvest_json["units"]:
        if unit["status"] != "submitted":
            continue
        declared = {str(k): D(str(v)) for k, v in SAMPLE["communes"][unit["code"]]["scores"].items()}
        assert unit["scores"] == declared, unit["code"]
        assert unit["self_total"] == sum(declared.values(), D(0)), unit["code"]


def _cell(unit_code: str, criterion: str, column: str, demo_out: Path) -> str:
    """The cell of a criterion in the unit's generated template, found by code (as the reader does)."""
    template = next(p for p in demo_out.rglob(f"{unit_code}_*.xlsx") if "received" not in p.parts)
    sheet = load_workbook(template)[MAIN_SHEET]
    _, cols = header_columns(sheet)
    return f"{get_column_letter(cols[column])}{rows_by_code(sheet)[criterion]}"


def _accepted(harvest: dict, code: str) -> dict:
    files = [f for f in harvest["files"] if f["unit_code"] == code and f["status"] == "accepted"]
    assert len(files) == 1, (code, files)
    return files[0]


def test_the_sample_declares_every_kind_of_problem():
    kinds = {p["type"] for _, p in problems()}
    assert kinds == KNOWN_PROBLEMS


@pytest.mark.parametrize("unit_code,problem", problems(), ids=lambda v: v if isinstance(v, str) else v["type"])
def test_each_declared_problem_produces_its_finding(demo, harvest_json, unit_code, problem):
    out = demo[0]
    kind = problem["type"]
    assert kind in KNOWN_PROBLEMS
    unit = next(u for u in harvest_json["units"] if u["code"] == unit_code)
    if kind == "sends_nothing":
        assert unit["status"] == "missing" and unit["file"] is None and unit["self_total"] is None
        assert unit["rank"] is None
        assert not [f for f in harvest_json["files"] if f["unit_code"] == unit_code]
        return
    if kind == "sent_twice":
        files = [f for f in harvest_json["files"] if f["unit_code"] == unit_code]
        assert sorted(f["status"] for f in files) == ["accepted", "superseded"]
        superseded = next(f for f in files if f["status"] == "superseded")
        assert any(f["code"] == "unit.superseded" for f in superseded["findings"])
        assert unit["status"] == "submitted" and unit["file"] == _accepted(harvest_json, unit_code)["path"]
        return
    findings = _accepted(harvest_json, unit_code)["findings"]

    def found(code):
        return [(f["sheet"], f["cell"]) for f in findings if f["code"] == code]

    if kind == "text_score":
        criterion = str(problem["code"])
        assert found("score.text_number") == [(MAIN_SHEET, _cell(unit_code, criterion, "score", out))]
        assert unit["scores"][criterion] == D(problem["text"].replace(",", "."))
    elif kind == "above_max":
        criterion = str(problem["code"])
        assert found("score.above_max") == [(MAIN_SHEET, _cell(unit_code, criterion, "score", out))]
        assert unit["scores"][criterion] == RUBRIC.node(criterion).max  # not counted above the maximum
        assert next(f for f in findings if f["code"] == "score.above_max")["severity"] == "error"
    elif kind == "missing_evidence":
        criterion = str(problem["code"])
        assert found("evidence.missing") == [(MAIN_SHEET, _cell(unit_code, criterion, "evidence", out))]
    elif kind == "wrong_total":
        area = RUBRIC.areas()[0].code
        assert found("formula.replaced") == [(MAIN_SHEET, _cell(unit_code, area, "score", out))]
        # the total is recomputed from the leaves, not taken from the typed-over cell
        assert unit["subtotals"][area] == sum(
            (v for c, v in unit["scores"].items() if c in {leaf.code for leaf in RUBRIC.areas()[0].leaves()}), D(0))


def test_two_units_with_equal_totals_share_a_rank(demo, harvest_json):
    submitted = [u for u in harvest_json["units"] if u["status"] == "submitted"]
    by_total: dict[Decimal, list[dict]] = {}
    for u in submitted:
        by_total.setdefault(u["self_total"], []).append(u)
    tied = [group for group in by_total.values() if len(group) > 1]
    assert tied, "the sample must show a tie"
    for group in tied:
        assert len({u["rank"] for u in group}) == 1
        rank = group[0]["rank"]
        assert rank == 1 + sum(1 for u in submitted if u["self_total"] > group[0]["self_total"])
        below = [u["rank"] for u in submitted if u["self_total"] < group[0]["self_total"]]
        assert not below or min(below) == rank + len(group)  # the next rank is skipped
    # the ranking table shows it too
    path = demo[0] / SELF_RESULTS / "phu-luc-ii.xlsx"
    ws = load_workbook(path)["Phụ lục II"]
    ranks = [ws.cell(r, 5).value for r in range(1, ws.max_row + 1) if isinstance(ws.cell(r, 1).value, int)]
    shared = [r for r in ranks if r is not None and ranks.count(r) > 1]
    assert shared


def test_demo_is_rerunnable_into_the_same_folder(demo, harvest_json):
    out, first, second, snapshot = demo
    assert first.exit_code == 0 and second.exit_code == 0
    assert tree(out) == snapshot["tree"]  # nothing left over, nothing duplicated
    assert unit_results(harvest_json) == unit_results(snapshot["harvest"])
    assert harvest_json["summary"] == snapshot["harvest"]["summary"]


def test_demo_does_not_delete_unrelated_files_in_the_out_folder(tmp_path):
    folder = tmp_path / "tai-lieu"
    folder.mkdir()
    mine = folder / "ke-hoach-cchc-2025.docx"
    mine.write_bytes(b"a document of the office")
    result = run_demo(folder)
    # acceptable: refuse (exit 1, message) or run beside the file; never delete it
    assert mine.is_file() and mine.read_bytes() == b"a document of the office", result.output


def test_demo_ends_with_the_final_ranking_by_appraised_totals(demo):
    out = demo[0]
    final = json.loads((out / FINAL_RESULTS / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    assert final["appraised"] is True
    units = {u["code"]: u for u in final["units"]}
    # Chí Minh: 1.7 appraised 2,5 instead of 2,9; survey 11,5 + 8,25
    assert units["M01"]["appraisal_total"] == Decimal("94.35")
    assert units["M01"]["appraisal_comments"]["1.7"]
    assert units["M15"]["status"] == "missing"
    sheet = load_workbook(out / FINAL_RESULTS / "phu-luc-ii.xlsx")["Phụ lục II"]
    texts = [c.value for row in sheet.iter_rows(max_row=5) for c in row if isinstance(c.value, str)]
    assert not any("Tạm xếp theo điểm tự chấm" in t for t in texts)
    from docx import Document

    [summary] = list(out.rglob("bao-cao-tong-hop_*.docx"))
    paragraphs = [p.text for p in Document(summary).paragraphs]
    assert any("còn yếu (theo điểm thẩm định)" in p for p in paragraphs)
    # the weakest-criteria figures are the appraised ones (M04's 1.5.2 was appraised 1 instead of 2)
    submitted = [u for u in final["units"] if u["status"] == "submitted"]
    mean = sum(Decimal(str(u["appraisal"]["1.5.2"])) for u in submitted) / len(submitted)
    shown = format(mean.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"), "f").replace(".", ",").rstrip("0").rstrip(",")
    assert any(p.startswith("- 1.5.2.") and f"bình quân {shown}/2 điểm" in p for p in paragraphs), shown


def test_demo_plays_the_explanation_round(demo):
    out = demo[0]
    plan = SAMPLE["appraisal"]
    final = json.loads((out / FINAL_RESULTS / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    units = {u["code"]: u for u in final["units"]}
    # every commune the council cut got an explanation workbook and a message
    explained = sorted(p.name.split("_")[1] for p in (out / "7-giai-trinh").glob("giai-trinh_*.xlsx"))
    assert explained == sorted(plan["changes"])
    assert (out / "7-giai-trinh" / "messages.txt").read_text(encoding="utf-8").count("Kính gửi") == len(explained)
    for code, replies in plan["replies"].items():  # the replies came back by e-mail and were merged
        for criterion, (text, evidence) in replies.items():
            step = units[code]["history"][criterion]["explanation"]
            assert (step["text"], step["evidence"]) == (text, evidence)
            assert "Thunderbird_Giai-trinh.mbox" in step["file"]
    for code, decided in plan["round2"].items():  # round 2 gave the self score back
        for criterion, comment in decided.items():
            history = units[code]["history"][criterion]
            assert history["round2"]["score"] == history["self"]["score"] == units[code]["appraisal"][criterion]
            assert history["round2"]["comment"] == comment
            assert history["round1"]["score"] == Decimal(str(plan["changes"][code][criterion][0]))
    # M04 explained but round 2 left its score: round 1's counts
    assert units["M04"]["appraisal"]["1.5.2"] == 1 and "round2" not in units["M04"]["history"]["1.5.2"]
    sheet = load_workbook(out / FINAL_RESULTS / "tong-hop.xlsx")["Tự chấm – Thẩm định"]
    codes = [(row[0].value, row[2].value) for row in sheet.iter_rows(min_row=5) if row[0].value]
    assert ("M07", "5.2") in codes and ("M01", "1.7") in codes


def test_demo_answers_every_commune_and_keeps_the_mailed_scans_as_attachments(demo, harvest_json):
    out = demo[0]
    feedback = out / SELF_RESULTS / "phan-hoi"
    assert sorted(p.name for p in feedback.iterdir()) == sorted(f"{u.code}_{u.slug}.txt" for u in UNITS)
    missing = [u for u in harvest_json["units"] if u["status"] == "missing"]
    assert missing
    for unit in missing:
        text = next(feedback.glob(f"{unit['code']}_*.txt")).read_text(encoding="utf-8")
        assert "Đề nghị gửi phiếu tự đánh giá" in text and "trước ngày 15/12/2024" in text
    mailed = [f for f in harvest_json["files"] if ".mbox › thư " in f["path"]]
    scans = [f for f in mailed if f["path"].endswith("Bản ký số.pdf")]
    assert scans and all(f["status"] == "attachment" and f["unit_code"] for f in scans)
    for scan in scans:
        workbook = next(f for f in mailed if f["path"].rsplit(" › ", 1)[0] == scan["path"].rsplit(" › ", 1)[0]
                        and f["path"].endswith(".xlsx"))
        assert workbook["unit_code"] == scan["unit_code"] and workbook["status"] == "accepted"
        assert workbook["sender"] and workbook["sender"] == scan["sender"]
        text = next(feedback.glob(f"{scan['unit_code']}_*.txt")).read_text(encoding="utf-8")
        assert "Bản ký số.pdf" in text and workbook["sender"] in text
    rows = (out / SELF_RESULTS / "phan-hoi.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("code,name,email,phone,status,problems,message_file")
    assert "M01,Xã Chí Minh,vanphong.xa-chi-minh@example.com,0900 000 001,submitted," in rows[1]
