"""Issue 16, done when: the whole conversation with the communes, played on generated files.

The office generates the templates; three communes fill them (Chí Minh types a word instead of a
number at 1.2, Thanh Miện leaves its evidence empty) and send them as `.eml` messages with a
signed scan attached; Tứ Kỳ sends nothing. The first harvest writes each commune's feedback and
a reminder to Tứ Kỳ. The council appraises (cutting Chí Minh's 1.7 from 2.9 to 2.5 and Thanh Xá's
2.1 from 1 to 0.75, with comments); the office writes the explanation workbooks; both communes
explain by e-mail, Chí Minh with a scan of its new document; the council's second appraisal
restores Chí Minh's 1.7 and keeps Thanh Xá's cut. The last harvest, with everything, ranks by
round 2's scores, and the reports show the comments and the explanations.

Expected totals, by hand: Chí Minh 75 (its 1.2 appraised at 1, as it meant) − 0.4 + 0.4 + survey
19.75 = 94.75; Thanh Xá 76 − 0.25 + 18 = 93.75; Thanh Miện 74 + 23.5 = 97.5.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document

from cchc_xls.appraise import write_appraisal_workbooks
from cchc_xls.explanation_write import write_explanation_workbooks, write_round2_workbooks
from cchc_xls.generate import generate_templates
from cchc_xls.pipeline import run_harvest
from cchc_xls.report import write_reports
from cchc_xls.units import load_units

from support import CHI_MINH_SCORES, fill_workbook
from test_appraise import fill_by_unit, fill_survey
from test_explanation import fill_explanation, fill_round2
from test_feedback import OFFICE, PERIOD, RUBRIC, message, pdf_bytes

D = Decimal
UNITS_CSV = """code,name,kind,Thư điện tử
30512,Xã Chí Minh,xã,vanphong@chiminh.gov.vn
30513,Xã Thanh Xá,xã,thanhxa@gmail.com
30514,Thị trấn Thanh Miện,thị trấn,
30515,Xã Tứ Kỳ,xã,tuky@tuky.gov.vn
"""
CM, TX, TM, TK = "30512", "30513", "30514", "30515"
LEAF_MAX = {n.code: n.max for n in RUBRIC.leaves() if n.self_scored}
SELF = {CM: dict(CHI_MINH_SCORES), TX: {c: str(m) for c, m in LEAF_MAX.items()}, TM: {**CHI_MINH_SCORES, "1.2": "1"}}
TYPED = {CM: {**SELF[CM], "1.2": "text:Đạt"}, TX: SELF[TX], TM: SELF[TM]}  # Chí Minh's mistake at 1.2
COUNCIL = {u: {c: D(v) for c, v in s.items()} for u, s in SELF.items()}
COUNCIL[CM]["1.7"], COUNCIL[TX]["2.1"] = D("2.5"), D("0.75")
COMMENTS = {CM: {"1.7": "Chưa hoàn thành 01 nhiệm vụ UBND huyện giao; trừ 0,4 điểm"},
            TX: {"2.1": "Chưa triển khai đầy đủ văn bản QPPL mới ban hành"}, TM: {}}
SURVEY = {CM: {"II.2": D("11.5"), "II.3": D("8.25")}, TX: {"II.2": D(10), "II.3": D(8)},
          TM: {"II.2": D(14), "II.3": D("9.5")}}
REPLY = {CM: ("Đã hoàn thành nhiệm vụ theo Công văn số 15/UBND ngày 20/11/2024", "Báo cáo số 88/BC-UBND ngày 25/11/2024"),
         TX: ("Đơn vị đã triển khai các văn bản qua hội nghị ngày 05/3/2024", "")}
FINAL = {CM: D("94.75"), TX: D("93.75"), TM: D("97.5")}
SENT = datetime(2024, 11, 19, 9, 30, tzinfo=timezone.utc)


def mail_to(folder: Path, name: str, sender: str, files: dict[str, bytes]) -> Path:
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(message(sender, SENT, "Gửi Phòng Nội vụ", files)))
    return path


def load(out: Path) -> dict:
    return json.loads((out / "harvest.json").read_text(encoding="utf-8"))


def units_of(data: dict) -> dict:
    return {u["code"]: u for u in data["units"]}


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    root = tmp_path_factory.mktemp("whole-conversation")
    (root / "don-vi.csv").write_text(UNITS_CSV, encoding="utf-8")
    units = load_units(root / "don-vi.csv")
    generated = generate_templates(RUBRIC, units, PERIOD, root / "mau", office=OFFICE, deadline="15/12/2024")
    templates = {u.code: p for u, p in zip(units, generated.files)}
    inbox = root / "hop-thu"
    for code in (CM, TX, TM):
        filled = fill_workbook(templates[code], TYPED[code], out=root / f"{code}-filled.xlsx",
                               evidence=None if code == TM else {c: f"Kế hoạch số {i}/KH-UBND ngày 15/01/2024"
                                                                 for i, c in enumerate(SELF[code], start=1)})
        mail_to(inbox, f"phieu-{code}.eml", f"UBND {code} <{code}@xa.vn>",
                {filled.name: filled.read_bytes(), f"Bản ký số {code}.pdf": pdf_bytes(f"scan {code}")})
    first = root / "thu-1"
    run_harvest(RUBRIC, [inbox], units, first, workers=1)

    council_blank = write_appraisal_workbooks(first, root / "tham-dinh-trong")
    council = root / "tham-dinh"
    for code in (CM, TX, TM):
        [book] = [p for p in council_blank.workbooks if f"_{code}_" in p.name]
        fill_by_unit(book, council / book.name, COUNCIL[code], COMMENTS[code])
    fill_survey(council_blank.survey, council / council_blank.survey.name, SURVEY)
    appraised = root / "thu-2"
    run_harvest(RUBRIC, [inbox, council], units, appraised, workers=1)

    explanation = write_explanation_workbooks(appraised, root / "giai-trinh", deadline="20/01/2025", office=OFFICE)
    replies = root / "hop-thu-giai-trinh"
    for code, book in zip(explanation.units, explanation.workbooks):
        code_reply, evidence = REPLY[code]
        filled = fill_explanation(book, root / "giai-trinh-da-dien" / book.name, {
            next(iter(COMMENTS[code])): (code_reply, evidence)})
        mail_to(replies, f"giai-trinh-{code}.eml", f"UBND {code} <{code}@xa.vn>",
                {filled.name: filled.read_bytes(), f"Văn bản bổ sung {code}.pdf": pdf_bytes(f"bo sung {code}")})
    explained = root / "thu-3"
    run_harvest(RUBRIC, [inbox, council, replies], units, explained, workers=1)

    second = write_round2_workbooks(explained, root / "lan-2-trong")
    round2 = root / "tham-dinh-lan-2"
    for code, book in zip(second.units, second.workbooks):
        scores = {(CM, "1.7"): D("2.9")} if code == CM else {}  # Thanh Xá's cut stays (blank: round 1 kept)
        fill_round2(book, round2 / book.name, scores, {(code, next(iter(COMMENTS[code]))): "Đã xem xét giải trình"})
    final = root / "ket-qua"
    run_harvest(RUBRIC, [inbox, council, replies, round2], units, final, workers=1)
    reports = write_reports(final, root / "bao-cao")
    return {"first": first, "appraised": appraised, "explanation": explanation, "explained": explained,
            "final": final, "reports": reports}


def test_first_harvest_feedback_names_each_communes_cells_and_reminds_the_silent_one(play):
    data = load(play["first"])
    [cm_file] = [f for f in data["files"] if f["unit_code"] == CM and f["status"] == "accepted"]
    [typed] = [f for f in cm_file["findings"] if f["node"] == "1.2" and f["severity"] == "error"]
    cm_text = next((play["first"] / "phan-hoi").glob(f"{CM}_*.txt")).read_text(encoding="utf-8")
    assert typed["cell"] and f"Ô {typed['cell']}," in cm_text
    tm_text = next((play["first"] / "phan-hoi").glob(f"{TM}_*.txt")).read_text(encoding="utf-8")
    [tm_file] = [f for f in data["files"] if f["unit_code"] == TM and f["status"] == "accepted"]
    for text, file in ((cm_text, cm_file), (tm_text, tm_file)):  # each names its own cells, only its own
        named = set(re.findall(r"Ô ([A-Z]+\d+),", text))
        assert named and named <= {f["cell"] for f in file["findings"] if f["cell"]}
    reminder = next((play["first"] / "phan-hoi").glob(f"{TK}_*.txt")).read_text(encoding="utf-8")
    assert "Đề nghị gửi phiếu" in reminder and "chưa nhận được phiếu tự đánh giá" in reminder
    pdfs = [f for f in data["files"] if f["path"].endswith(".pdf")]
    assert len(pdfs) == 3 and {f["status"] for f in pdfs} == {"attachment"}
    assert {f["unit_code"] for f in pdfs} == {CM, TX, TM}


def test_explain_goes_to_the_communes_the_council_cut(play):
    assert play["explanation"].units == (CM, TX)
    messages = play["explanation"].messages.read_text(encoding="utf-8")
    assert "20/01/2025" in messages and "UBND xã Chí Minh" in messages and "Thanh Miện" not in messages


def test_the_explanations_arrive_by_mail_and_are_merged(play):
    data = load(play["explained"])
    history = units_of(data)[CM]["history"]["1.7"]
    assert history["explanation"]["text"] == REPLY[CM][0] and history["explanation"]["evidence"] == REPLY[CM][1]
    assert "round2" not in history
    scans = [f for f in data["files"] if f["path"].endswith(f"Văn bản bổ sung {CM}.pdf")]
    assert [f["status"] for f in scans] == ["attachment"] and scans[0]["unit_code"] == CM
    assert D(str(units_of(data)[CM]["appraisal_total"])) == FINAL[CM] - D("0.4")  # still round 1
    # the commune's feedback lists its explanation workbook and the scan that came with it
    text = next((play["explained"] / "phan-hoi").glob(f"{CM}_*.txt")).read_text(encoding="utf-8")
    assert "giai-trinh_30512_xa-chi-minh_2024.xlsx, nhận lúc" in text
    assert "bảng giải trình, đã ghép để Hội đồng thẩm định lần 2" in text
    assert f"Văn bản bổ sung {CM}.pdf" in text


def test_the_final_totals_follow_round_two_and_the_reports_show_what_the_council_wrote(play):
    data = load(play["final"])
    units = units_of(data)
    assert {code: D(str(units[code]["appraisal_total"])) for code in FINAL} == FINAL
    assert data["appraised"] is True
    assert [u["code"] for u in sorted(units.values(), key=lambda u: u["rank"] or 99)][:3] == [TM, CM, TX]
    cm = units[CM]["history"]["1.7"]
    assert (D(str(cm["self"]["score"])), D(str(cm["round1"]["score"])), D(str(cm["round2"]["score"]))) == \
        (D("2.9"), D("2.5"), D("2.9"))
    tx = units[TX]["history"]["2.1"]
    assert tx["round2"]["score"] is None and tx["round2"]["comment"] == "Đã xem xét giải trình"
    assert D(str(units[TX]["appraisal"]["2.1"])) == D("0.75")
    [report] = [p for p in play["reports"].communes if f"_{TX}_" in p.name]
    text = "\n".join(p.text for p in Document(report).paragraphs)
    assert COMMENTS[TX]["2.1"] in text and REPLY[TX][0] in text
    summary = "\n".join(p.text for p in Document(play["reports"].summary).paragraphs)
    assert "nhận 2 nội dung giải trình của 2 đơn vị; thẩm định lần 2 thay đổi điểm 1 tiêu chí của 1 đơn vị" in summary
