"""The explanation round (issue 16.3): `cchc explain` writes a giải trình workbook to each commune
whose score the council cut or commented on; the communes explain; `cchc appraise --round 2`
writes the council's second appraisal; the harvest merges everything, round 2 over round 1.

Set-up (the same returns and council as test_appraise.py): the council cuts Chí Minh's 1.7 from
2.9 to 2.5 and comments on its 1.1.1 (kept at full marks), cuts Thanh Xá's 2.1 from 1 to 0.75,
and leaves Thanh Miện as self-scored. Chí Minh explains 1.7 with a new document; Thanh Xá
explains 2.1. Round 2 restores Chí Minh's 1.7 to 2.9 and keeps Thanh Xá's 2.1 at 0.75:
Chí Minh's appraised total 94.35 + 0.4 = 94.75, Thanh Xá's stays 93.75.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from cchc_xls.cli import main
from cchc_xls.explanation_write import write_explanation_workbooks, write_round2_workbooks
from cchc_xls.layout import EXPLANATION_LAYOUT, HISTORY_SHEET, ROUND2_LAYOUT
from cchc_xls.pipeline import run_harvest
from cchc_xls.results import load_results

from test_appraise import (
    APPRAISED, CM, COMMENTS, RUBRIC, SURVEY, TM, TX, UNITS, fill_by_unit, fill_survey, setup,  # noqa: F401
)

D = Decimal
REPLY_CM = "Đã hoàn thành nhiệm vụ được giao theo Công văn số 15/UBND ngày 20/11/2024"
SUPPLEMENT_CM = "Báo cáo số 88/BC-UBND ngày 25/11/2024"
REPLY_TX = "Đơn vị đã triển khai qua hội nghị ngày 05/3/2024"


def table(ws, key_header: str) -> tuple[int, dict[str, int], dict[str, int]]:
    """(header row, header text -> column, criterion code -> row), found by texts as a person reads."""
    for row in ws.iter_rows(min_row=1, max_row=40):
        texts = {c.value: c.column for c in row if isinstance(c.value, str)}
        if "STT" in texts and key_header in texts:
            header = row[0].row
            break
    else:
        raise AssertionError("header row not found")
    rows = {}
    for r in range(header + 1, ws.max_row + 1):
        value = ws.cell(r, texts["STT"]).value
        if isinstance(value, str) and value in RUBRIC:
            rows[value] = r
    return header, texts, rows


def fill_explanation(src: Path, dst: Path, replies: dict[str, tuple[str, str]], extra_row: tuple | None = None) -> Path:
    """Type each reply and supplementary evidence by criterion; `extra_row` (code, text) adds a row."""
    wb = load_workbook(src)
    ws = wb[EXPLANATION_LAYOUT.sheets[0]]
    header, cols, rows = table(ws, "Giải trình của đơn vị")
    for code, (text, evidence) in replies.items():
        ws.cell(rows[code], cols["Giải trình của đơn vị"]).value = text
        ws.cell(rows[code], cols["Tài liệu kiểm chứng bổ sung"]).value = evidence
    if extra_row:
        row = max(rows.values()) + 1
        ws.cell(row, cols["STT"]).value = extra_row[0]
        ws.cell(row, cols["Giải trình của đơn vị"]).value = extra_row[1]
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def fill_round2(src: Path, dst: Path, scores: dict[tuple[str, str], object], comments: dict | None = None) -> Path:
    """Round-2 scores and comments by (unit code, criterion code), rows found by both codes."""
    wb = load_workbook(src)
    ws = wb[ROUND2_LAYOUT.sheets[0]]
    header, cols, _ = table(ws, "Điểm thẩm định lần 2")
    rows = {(str(ws.cell(r, cols["Mã đơn vị"]).value), ws.cell(r, cols["STT"]).value): r
            for r in range(header + 1, ws.max_row + 1) if ws.cell(r, cols["STT"]).value}
    for key, value in scores.items():
        ws.cell(rows[key], cols["Điểm thẩm định lần 2"]).value = float(value) if isinstance(value, D) else value
    for key, text in (comments or {}).items():
        ws.cell(rows[key], cols["Ý kiến thẩm định lần 2"]).value = text
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def findings_of(data: dict, name: str, code: str) -> list[dict]:
    return [f for file in data["files"] if Path(file["path"]).name == name for f in file["findings"]
            if f["code"] == code]


@pytest.fixture(scope="module")
def round1(setup):  # noqa: F811
    """The returns and the filled round-1 council workbooks, harvested."""
    council = [fill_by_unit(setup.unit_book(u), setup.root / "council" / setup.unit_book(u).name,
                            APPRAISED[u], COMMENTS[u]) for u in (CM, TX, TM)]
    survey = fill_survey(next(p for p in (setup.root / "blank-unit").iterdir() if p.name.startswith("dieu-tra")),
                         setup.root / "council" / "dieu-tra.xlsx", SURVEY)
    inputs = [*setup.returns, *council, survey]
    out = setup.root / "round1"
    run_harvest(RUBRIC, inputs, UNITS, out, workers=1)
    return inputs, out


def test_explain_writes_one_locked_workbook_per_disputed_commune(round1, tmp_path):
    _, out = round1
    outputs = write_explanation_workbooks(out, tmp_path, deadline="20/01/2025", office="Phòng Nội vụ thử")
    assert outputs.units == (CM, TX)  # Thanh Miện: nothing cut, nothing commented
    names = [p.name for p in outputs.workbooks]
    assert names == ["giai-trinh_30512_xa-chi-minh_2024.xlsx", "giai-trinh_30513_xa-thanh-xa_2024.xlsx"]
    wb = load_workbook(outputs.workbooks[0])
    assert wb.sheetnames == list(EXPLANATION_LAYOUT.sheets)
    assert wb["_cchc"].sheet_state == "veryHidden"
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["cchc_kind"] == "explanation" and props["cchc_unit_code"] == CM
    ws = wb[EXPLANATION_LAYOUT.sheets[0]]
    assert ws.protection.sheet
    header, cols, rows = table(ws, "Giải trình của đơn vị")
    assert list(rows) == ["1.1.1", "1.7"]  # the comment and the cut, in rubric order
    r = rows["1.7"]
    assert ws.cell(r, cols["Điểm tự đánh giá"]).value == 2.9
    assert ws.cell(r, cols["Điểm thẩm định"]).value == 2.5
    assert ws.cell(r, cols["Ý kiến thẩm định"]).value == COMMENTS[CM]["1.7"]
    locked = {text: ws.cell(r, col).protection.locked for text, col in cols.items()}
    assert locked == {c.header: c.locked for c in EXPLANATION_LAYOUT.columns}
    assert not locked["Giải trình của đơn vị"] and not locked["Tài liệu kiểm chứng bổ sung"]
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows
    guide = "\n".join(str(c.value) for c in wb["Hướng dẫn"]["A"] if c.value)
    assert "20/01/2025" in guide and "Giải trình của đơn vị" in guide
    messages = outputs.messages.read_text(encoding="utf-8")
    assert "UBND xã Chí Minh" in messages and "UBND xã Thanh Xá" in messages
    assert "giai-trinh_30512_xa-chi-minh_2024.xlsx" in messages and "Thanh Miện" not in messages


@pytest.fixture(scope="module")
def conversation(round1, setup):  # noqa: F811
    """Explanations returned, the round-2 workbooks written from that harvest and filled."""
    inputs, out = round1
    root = setup.root
    blank = write_explanation_workbooks(out, root / "giai-trinh")
    cm, tx = blank.workbooks
    replies = [fill_explanation(cm, root / "tra-loi" / cm.name, {"1.7": (REPLY_CM, SUPPLEMENT_CM)},
                                extra_row=("1.2", "Giải trình thêm một tiêu chí không bị trừ")),
               fill_explanation(tx, root / "tra-loi" / tx.name, {"2.1": (REPLY_TX, "")})]
    explained = root / "explained"
    run_harvest(RUBRIC, inputs + replies, UNITS, explained, workers=1)
    second = write_round2_workbooks(explained, root / "lan-2", by="unit")
    by_area = write_round2_workbooks(explained, root / "lan-2-area", by="area")
    return inputs + replies, explained, second, by_area


def test_round2_workbooks_show_the_explanation(conversation):
    _, explained, second, by_area = conversation
    assert second.units == (CM, TX)
    ws = load_workbook(second.workbooks[0])[ROUND2_LAYOUT.sheets[0]]
    header, cols, rows = table(ws, "Điểm thẩm định lần 2")
    r = rows["1.7"]
    assert ws.cell(r, cols["Giải trình của đơn vị"]).value == REPLY_CM
    assert ws.cell(r, cols["Tài liệu kiểm chứng bổ sung"]).value == SUPPLEMENT_CM
    assert ws.cell(r, cols["Điểm thẩm định lần 1"]).value == 2.5
    assert ws.cell(r, cols["Ý kiến thẩm định lần 1"]).value == COMMENTS[CM]["1.7"]
    assert ws.cell(r, cols["Điểm thẩm định lần 2"]).protection.locked is False
    assert ws.cell(r, cols["Điểm thẩm định lần 1"]).protection.locked is not False
    assert [dv for dv in ws.data_validations.dataValidation
            if f"{get_column_letter(cols['Điểm thẩm định lần 2'])}{r}" in dv.sqref]
    # the explanation of a criterion that was not disputed: a finding on its cell, not merged
    data = json.loads((explained / "harvest.json").read_text(encoding="utf-8"))
    [wrong] = findings_of(data, "giai-trinh_30512_xa-chi-minh_2024.xlsx", "explanation.not_disputed")
    assert wrong["cell"] and wrong["sheet"] == "Giải trình" and "1.2" in wrong["message"]
    assert "1.2" not in data["units"][0]["history"]
    # by area: the communes' rows of each area with a disputed criterion
    assert len(by_area.workbooks) == 2  # 1.7 and 1.1.1 in area I, 2.1 in area II


@pytest.fixture(scope="module")
def final(conversation, setup):  # noqa: F811
    inputs, _, second, _ = conversation
    cm, tx = second.workbooks
    filled = [fill_round2(cm, setup.root / "lan-2-filled" / cm.name, {(CM, "1.7"): D("2.9")},
                          {(CM, "1.7"): "Chấp nhận giải trình: khôi phục điểm"}),
              fill_round2(tx, setup.root / "lan-2-filled" / tx.name, {(TX, "2.1"): D("0.75")},
                          {(TX, "2.1"): "Giữ điểm lần 1"})]
    out = setup.root / "final"
    run_harvest(RUBRIC, inputs + filled, UNITS, out, workers=1)
    return out, json.loads((out / "harvest.json").read_text(encoding="utf-8"))


def test_final_totals_follow_round_two(final):
    out, data = final
    units = {u["code"]: u for u in data["units"]}
    assert D(str(units[CM]["appraisal_total"])) == D("94.75")
    assert D(str(units[TX]["appraisal_total"])) == D("93.75")
    assert D(str(units[TM]["appraisal_total"])) == D("97.5")
    assert D(str(units[CM]["appraisal"]["1.7"])) == D("2.9")
    history = units[CM]["history"]["1.7"]
    assert D(str(history["self"]["score"])) == D("2.9") and D(str(history["round1"]["score"])) == D("2.5")
    assert history["round1"]["comment"] == COMMENTS[CM]["1.7"] and history["round1"]["file"].endswith(".xlsx")
    assert history["explanation"]["text"] == REPLY_CM and history["explanation"]["evidence"] == SUPPLEMENT_CM
    assert history["explanation"]["file"].endswith("giai-trinh_30512_xa-chi-minh_2024.xlsx")
    assert D(str(history["round2"]["score"])) == D("2.9") and history["round2"]["file"].endswith(".xlsx")
    assert units[CM]["history"]["1.1.1"]["round1"]["comment"] == COMMENTS[CM]["1.1.1"]
    results = load_results(out)
    assert results.units[0].history["1.7"]["round2"]["score"] == D("2.9")
    # tong-hop: the criteria the council changed, with comment and explanation
    ws = load_workbook(out / "tong-hop.xlsx")[HISTORY_SHEET]
    header, cols, _ = table(ws, "Thẩm định lần 1")
    rows = [{text: ws.cell(r, col).value for text, col in cols.items()} for r in range(header + 1, ws.max_row + 1)]
    assert [(r["Mã đơn vị"], r["STT"]) for r in rows] == [(CM, "1.7"), (TX, "2.1")]
    assert rows[0]["Giải trình của đơn vị"] == REPLY_CM and rows[0]["Thẩm định lần 2"] == 2.9
    assert ws.auto_filter.ref


def test_bad_round2_input_is_a_finding(conversation, setup, tmp_path):  # noqa: F811
    inputs, _, second, _ = conversation
    cm, tx = second.workbooks
    off = fill_round2(tx, tmp_path / "off" / tx.name, {(TX, "2.1"): D(5)})
    wb = load_workbook(cm)
    props = {p.name: p for p in wb.custom_doc_props.props}
    props["cchc_batch"].value = "khac1234"
    meta = wb["_cchc"]
    for row in meta.iter_rows():
        if row[0].value == "batch":
            row[1].value = "khac1234"
    (tmp_path / "other").mkdir()
    other = tmp_path / "other" / cm.name
    wb.save(other)
    out = tmp_path / "out"
    run_harvest(RUBRIC, inputs + [off, other], UNITS, out, workers=1)
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"))
    [range_finding] = findings_of(data, tx.name, "appraisal.out_of_range")
    assert range_finding["cell"] and range_finding["sheet"] == ROUND2_LAYOUT.sheets[0]
    assert findings_of(data, cm.name, "appraisal.other_harvest")
    units = {u["code"]: u for u in data["units"]}
    assert D(str(units[TX]["appraisal"]["2.1"])) == D("0.75")  # round 1 kept
    assert D(str(units[CM]["appraisal"]["1.7"])) == D("2.5")  # the other harvest's round 2 not merged


def test_cli_explain_and_round_two(round1, tmp_path):
    _, out = round1
    runner = CliRunner()
    result = runner.invoke(main, ["explain", str(out), "--out", str(tmp_path / "gt"), "--deadline", "20/01/2025",
                                  "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["units"] == [CM, TX]
    result = runner.invoke(main, ["appraise", str(out), "--round", "2", "--out", str(tmp_path / "l2")])
    assert result.exit_code == 0, result.output
    assert "thẩm định lần 2" in result.output
    result = runner.invoke(main, ["explain", str(out), "--out", str(tmp_path / "gt2"), "--deadline", "cuối tháng"])
    assert result.exit_code == 1 and "cuối tháng" in result.output
    assert not (tmp_path / "gt2").exists()


def docx_text(path: Path) -> str:
    from docx import Document

    return "\n".join(p.text for p in Document(path).paragraphs)


def test_reports_show_comments_and_explanations(final, tmp_path):
    from cchc_xls.report import write_reports

    out, _ = final
    reports = write_reports(out, tmp_path)
    [chi_minh] = [p for p in reports.communes if f"{CM}" in p.name]
    text = docx_text(chi_minh)
    assert "Các tiêu chí Hội đồng thẩm định thay đổi điểm" in text
    section = text.split("Các tiêu chí Hội đồng thẩm định thay đổi điểm", 1)[1].splitlines()
    line = next(t for t in section if t.startswith("- 1.7."))
    assert "tự chấm 2,9 điểm, thẩm định lần 1 2,5 điểm" in line and COMMENTS[CM]["1.7"] in line
    assert REPLY_CM in line and SUPPLEMENT_CM in line and "thẩm định lần 2 2,9 điểm" in line
    [thanh_mien] = [p for p in reports.communes if f"{TM}" in p.name]
    assert "Hội đồng thẩm định thay đổi điểm" not in docx_text(thanh_mien)
    summary = docx_text(reports.summary)
    assert "nhận 2 nội dung giải trình của 2 đơn vị; thẩm định lần 2 thay đổi điểm 1 tiêu chí của 1 đơn vị" in summary


def test_an_explanation_for_an_unknown_unit_and_a_round2_row_of_one_are_findings(conversation, tmp_path):
    inputs, _, _, by_area = conversation
    # an explanation workbook whose identity names a unit not in the list
    blank = write_explanation_workbooks(conversation[1], tmp_path / "blank")
    wb = load_workbook(blank.workbooks[0])
    for prop in wb.custom_doc_props.props:
        if prop.name == "cchc_unit_code":
            prop.value = "99999"
    for row in wb["_cchc"].iter_rows():
        if row[0].value == "unit_code":
            row[1].value = "99999"
    stranger = tmp_path / "stranger.xlsx"
    wb.save(stranger)
    filled = fill_explanation(stranger, tmp_path / "filled" / "stranger.xlsx", {"1.7": ("Giải trình", "")})
    # a round-2 workbook by area where the council typed a unit code that is not in the list
    area = by_area.workbooks[0]
    wb = load_workbook(area)
    ws = wb[ROUND2_LAYOUT.sheets[0]]
    header, cols, _ = table(ws, "Điểm thẩm định lần 2")
    first = header + 1
    ws.cell(first, cols["Mã đơn vị"]).value = "77777"
    ws.cell(first, cols["Điểm thẩm định lần 2"]).value = 0.5
    typed = tmp_path / "area.xlsx"
    wb.save(typed)
    out = tmp_path / "out"
    run_harvest(RUBRIC, inputs + [filled, typed], UNITS, out, workers=1)
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"))
    assert findings_of(data, "stranger.xlsx", "identity.unknown_unit")
    assert next(f for f in data["files"] if f["path"].endswith("stranger.xlsx"))["status"] == "rejected"
    [unknown] = findings_of(data, "area.xlsx", "appraisal.unknown_unit")
    assert unknown["cell"] == f"{get_column_letter(cols['Điểm thẩm định lần 2'])}{first}" and "77777" in unknown["message"]


@pytest.mark.libreoffice
def test_explanation_and_round2_workbooks_resaved_by_libreoffice_are_still_merged(conversation, setup, tmp_path):  # noqa: F811
    from support import libreoffice_convert

    inputs, _, second, _ = conversation
    replies = [p for p in inputs if p.name.startswith("giai-trinh_")]
    cm = fill_round2(second.workbooks[0], tmp_path / "filled" / second.workbooks[0].name, {(CM, "1.7"): D("2.9")})
    resaved = [libreoffice_convert(p, "ods", tmp_path / "lo") for p in replies + [cm]]
    others = [p for p in inputs if p not in replies]
    out = tmp_path / "out"
    run_harvest(RUBRIC, others + resaved, UNITS, out, workers=1)
    units = {u["code"]: u for u in json.loads((out / "harvest.json").read_text(encoding="utf-8"))["units"]}
    assert units[CM]["history"]["1.7"]["explanation"]["text"] == REPLY_CM
    assert units[TX]["history"]["2.1"]["explanation"]["text"] == REPLY_TX
    assert D(str(units[CM]["appraisal_total"])) == D("94.75")


def test_of_two_explanations_the_one_saved_later_counts(conversation, tmp_path):
    inputs, explained, _, _ = conversation
    [first] = [p for p in inputs if p.name == "giai-trinh_30512_xa-chi-minh_2024.xlsx"]
    others = [p for p in inputs if p != first]
    earlier = fill_explanation(first, tmp_path / "truoc.xlsx", {"1.7": (REPLY_CM, SUPPLEMENT_CM)})
    later = fill_explanation(first, tmp_path / "sau.xlsx", {"1.7": ("Giải trình gửi lại, đầy đủ hơn", SUPPLEMENT_CM)})
    os.utime(earlier, (later.stat().st_mtime - 3600,) * 2)  # saved an hour before (same saved second inside)
    out = tmp_path / "out"
    run_harvest(RUBRIC, others + [later, earlier], UNITS, out, workers=1)
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"))
    assert data["units"][0]["history"]["1.7"]["explanation"]["text"] == "Giải trình gửi lại, đầy đủ hơn"
    [replaced] = findings_of(data, "truoc.xlsx", "explanation.replaced")
    assert "sau.xlsx" in replaced["message"] and replaced["cell"]
