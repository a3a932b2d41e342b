"""The explanation round and round 2 on the office's page (issue 17's step 5): the council cuts a
commune's points, the commune explains in the workbook the page wrote, the council appraises
again, and the ranking follows round 2, all through the routes and in ordinary files."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from decimal import Decimal
from html import escape as html_escape
from pathlib import Path

from openpyxl import load_workbook

from cchc_xls.numbers import format_vn
from cchc_xls.rounds import RoundSettings, load_round, save_round

from test_web import generate, harvest, page, set_up_round, template_of, text  # noqa: F401 (page: a fixture)
from web_support import RUBRIC, XSS_SCRIPT, fill_appraisal, fill_explanation, fill_return, fill_round2

D = Decimal
NAME = "cchc-2024"
FIRST = RUBRIC.scorable()[0]
REPLY = f"Kế hoạch đã ban hành ngày 05/01/2024, gửi kèm bản chụp {XSS_SCRIPT}"
SUPPLEMENT = "Kế hoạch số 12/KH-UBND ngày 05/01/2024"


def upload(page, url, paths):
    return page.post(url, {"files": [(Path(p).open("rb"), Path(p).name) for p in paths]},
                     content_type="multipart/form-data", follow_redirects=True)


def wait(page):
    status = page.wait_job(NAME)
    assert status["state"] == "done", status
    return status


def appraised_round(page, tmp_path, cut_t01=D(1)) -> Path:
    """Set up, generate, T01 and T02 return every point, T03 sends nothing; the council cuts T01's
    first criterion by `cut_t01` with a comment and agrees with T02 on everything; merged."""
    folder = set_up_round(page)
    templates = generate(page)
    returns = tmp_path / "returns"
    returns.mkdir()
    upload(page, f"/dot/{NAME}/nhan/tai-len", [fill_return(template_of(templates, "T01"), returns / "T01.xlsx"),
                                              fill_return(template_of(templates, "T02"), returns / "T02.xlsx")])
    harvest(page)
    response = page.post(f"/dot/{NAME}/tham-dinh/tao", {"by": "unit"}, follow_redirects=True)
    assert "Đã lập 2 bảng thẩm định." in text(response)
    blanks = folder / "4-tham-dinh" / "mau-trong"
    council = tmp_path / "council"
    council.mkdir()
    filled = []
    for blank in sorted(blanks.glob("*.xlsx")):
        target = council / blank.name
        target.write_bytes(blank.read_bytes())
        if "_T01_" in blank.name:
            filled.append(fill_appraisal(target, cut=cut_t01, comment="Kế hoạch ban hành muộn." if cut_t01 else None))
        else:
            filled.append(fill_appraisal(target, cut=D(0), comment=None))
    assert "Đã nhận 2 tệp vào 4-tham-dinh" in text(upload(page, f"/dot/{NAME}/tham-dinh/tai-len", filled))
    assert page.post(f"/dot/{NAME}/tham-dinh/ghep").status_code == 302
    wait(page)
    return folder


def unit_json(folder: Path, code: str) -> dict:
    data = json.loads((folder / "5-ket-qua-tham-dinh" / "harvest.json").read_text(encoding="utf-8"))
    return next(u for u in data["units"] if u["code"] == code), data


def test_the_explanation_round_and_round_2_through_the_routes(page, tmp_path):
    folder = appraised_round(page, tmp_path)
    step = text(page.get(f"/dot/{NAME}/giai-trinh"))
    assert "5. Giải trình và thẩm định lần 2" in step and "6. Kết quả" in step
    assert "Việc tiếp theo: Giải trình, thẩm định lần 2" in text(page.get(f"/dot/{NAME}/"))

    # the explanation workbooks: T01 only (the council cut it), with its message and a copy button
    response = page.post(f"/dot/{NAME}/giai-trinh/tao", follow_redirects=True)
    assert "Đã lập 1 bảng giải trình và nội dung tin nhắn gửi các đơn vị: T01." in text(response)
    written = sorted(p.name for p in (folder / "7-giai-trinh").iterdir())
    assert written == ["giai-trinh_T01_xa-ha-bac_2024.xlsx", "messages.txt"]
    step = text(response)
    assert step.count('class="copy-button"') == 1 and "Các đơn vị cần giải trình (1) · đã gửi lại 0" in step
    message = (folder / "7-giai-trinh" / "messages.txt").read_text(encoding="utf-8")
    assert "UBND xã Hà Bắc" in message and "T02" not in message and "thị trấn Hà Trung" not in message
    assert html_escape("giai-trinh_T01_xa-ha-bac_2024.xlsx", quote=False) in step
    assert f"<td>{FIRST.code}</td>" in step and "Chưa gửi lại" in step
    archive = zipfile.ZipFile(io.BytesIO(page.get(f"/dot/{NAME}/giai-trinh/bang-giai-trinh.zip").data))
    assert sorted(archive.namelist()) == written
    one = page.get(f"/tai/{NAME}/7-giai-trinh/giai-trinh_T01_xa-ha-bac_2024.xlsx")
    assert one.status_code == 200 and one.data[:2] == b"PK"
    # writing them again needs a confirmation
    again = text(page.post(f"/dot/{NAME}/giai-trinh/tao", follow_redirects=True))
    assert "Tôi hiểu, lập lại bảng giải trình" in again and "Đã có bảng giải trình" in again
    stale = folder / "7-giai-trinh" / "giai-trinh_T03_xa-ha-linh_2024.xlsx"  # of an earlier round 1
    stale.write_bytes(b"old")
    again = text(page.post(f"/dot/{NAME}/giai-trinh/tao", {"confirm": "1"}, follow_redirects=True))
    assert "Đã lập 1 bảng giải trình" in again and not stale.exists()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".dang-ghi")) == []
    assert sorted(p.name for p in (folder / "7-giai-trinh").iterdir()) == written

    # the commune explains in the workbook it received and sends it back: into the inbox, never
    # overwriting, then harvested with everything else
    received = tmp_path / "giai-trinh_T01_xa-ha-bac_2024.xlsx"
    received.write_bytes(one.data)
    reply = fill_explanation(received, tmp_path / "Giai trinh Ha Bac.xlsx", {FIRST.code: (REPLY, SUPPLEMENT)})
    (folder / "2-hop-thu" / reply.name).write_bytes(b"an earlier file of the same name")
    response = upload(page, f"/dot/{NAME}/giai-trinh/tai-len", [reply])
    assert "Đã nhận 1 tệp vào 2-hop-thu: Giai trinh Ha Bac (2).xlsx" in text(response)
    (folder / "2-hop-thu" / reply.name).unlink()
    assert "chưa được tính" in text(response)  # uploaded after the last harvest
    assert page.post(f"/dot/{NAME}/giai-trinh/thu").status_code == 302
    wait(page)
    step = text(page.get(f"/dot/{NAME}/giai-trinh"))
    assert "đã gửi lại 1" in step and "Đã gửi lại" in step and "chưa được tính" not in step
    later = (folder / "5-ket-qua-tham-dinh" / "harvest.json").stat().st_mtime + 60
    for path in (folder / "2-hop-thu").iterdir():  # the round copied to another computer: new times
        os.utime(path, (later, later))
    assert "chưa được tính" not in text(page.get(f"/dot/{NAME}/giai-trinh"))
    unit, data = unit_json(folder, "T01")
    history = unit["history"][FIRST.code]
    assert history["explanation"]["text"] == REPLY and history["explanation"]["evidence"] == SUPPLEMENT
    assert D(str(history["round1"]["score"])) == FIRST.max - 1 and "round2" not in history
    explained = [f for f in data["files"] if f.get("kind") == "explanation"]
    assert len(explained) == 1 and explained[0]["unit_code"] == "T01" and explained[0]["status"] == "accepted"
    commune = text(page.get(f"/dot/{NAME}/don-vi/T01"))
    assert html_escape(REPLY, quote=False) in commune and XSS_SCRIPT not in commune and SUPPLEMENT in commune
    assert "Giai trinh Ha Bac (2).xlsx <span class=\"muted\">(bảng giải trình)</span>" in commune
    # harvesting the returns alone again (the inbox now holds the explanation): the explanation is
    # no error of the commune's there, and the merged results keep it
    harvest(page)
    self_only = json.loads((folder / "3-ket-qua-tu-cham" / "harvest.json").read_text(encoding="utf-8"))
    there = next(f for f in self_only["files"] if f.get("kind") == "explanation")
    assert [f["code"] for f in there["findings"]] == ["explanation.without_round1"]
    feedback = next((folder / "3-ket-qua-tu-cham" / "phan-hoi").glob("T01_*.txt")).read_text(encoding="utf-8")
    assert "được ghép cùng kết quả thẩm định" in feedback and "không thuộc các tiêu chí cần giải trình" not in feedback
    receive = text(page.get(f"/dot/{NAME}/nhan"))
    assert "Được tính, có lỗi" not in receive  # the communes' table counts returns only
    unit, _ = unit_json(folder, "T01")
    assert unit["history"][FIRST.code]["explanation"]["text"] == REPLY

    # round 2: the council's workbook shows the explanation; filled, uploaded into 4-tham-dinh, merged
    response = page.post(f"/dot/{NAME}/giai-trinh/lan-2/tao", {"by": "unit"}, follow_redirects=True)
    assert "Đã lập 1 bảng thẩm định lần 2." in text(response)
    blank = folder / "8-tham-dinh-lan-2" / "tham-dinh-lan-2_T01_xa-ha-bac_2024.xlsx"
    assert blank.is_file()
    shown = [str(c.value) for row in load_workbook(blank).worksheets[0].iter_rows() for c in row if c.value]
    assert REPLY in shown and SUPPLEMENT in shown
    archive = zipfile.ZipFile(io.BytesIO(page.get(f"/dot/{NAME}/giai-trinh/bang-tham-dinh-lan-2.zip").data))
    assert archive.namelist() == [blank.name]
    target = tmp_path / blank.name
    target.write_bytes(archive.read(blank.name))
    fill_round2(target, {("T01", FIRST.code): (FIRST.max, "Chấp nhận giải trình.")})
    assert "Đã nhận 1 tệp vào 4-tham-dinh" in text(upload(page, f"/dot/{NAME}/giai-trinh/lan-2/tai-len", [target]))
    assert (folder / "4-tham-dinh" / blank.name).is_file()
    assert page.post(f"/dot/{NAME}/giai-trinh/lan-2/ghep").status_code == 302
    wait(page)

    # the final score of that criterion is round 2's: in harvest.json, on the step, the commune's
    # page (with its whole history) and the ranking
    unit, data = unit_json(folder, "T01")
    assert D(str(unit["appraisal"][FIRST.code])) == FIRST.max
    assert D(str(unit["history"][FIRST.code]["round2"]["score"])) == FIRST.max
    assert D(str(unit["appraisal_total"])) == D(100)
    step = text(page.get(f"/dot/{NAME}/giai-trinh"))
    assert "Tiêu chí Hội đồng chấm lần 2 (1)" in step and "Đã ghép 1 điểm, ý kiến thẩm định lần 2 từ bảng này." in step
    assert html_escape(REPLY, quote=False) in step and XSS_SCRIPT not in step
    commune = text(page.get(f"/dot/{NAME}/don-vi/T01"))
    assert "Tự chấm, thẩm định, giải trình (1 tiêu chí)" in commune and "Chấp nhận giải trình." in commune
    row = commune.split('id="history"')[1].split("<tbody>")[1].split("</tr>")[0]
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    top, cut = format_vn(FIRST.max), format_vn(FIRST.max - 1)
    assert cells == [FIRST.code, html_escape(FIRST.label, quote=False), top, top, cut, "Kế hoạch ban hành muộn.",
                     html_escape(REPLY, quote=False), SUPPLEMENT, top, "Chấp nhận giải trình.", top]
    assert "Điểm thẩm định <strong>100</strong>" in commune
    results = text(page.get(f"/dot/{NAME}/ket-qua"))
    assert "UBND xã Hà Bắc: 100 điểm" in results and "UBND thị trấn Hà Trung: 100 điểm" in results
    assert "Điểm thẩm định gồm điểm thẩm định lần 2 của 1 tiêu chí" in results
    assert load_round(folder).title == "Chỉ số CCHC năm 2024"


def test_explaining_before_the_appraisal_says_what_to_do(page):
    set_up_round(page)
    step = text(page.get(f"/dot/{NAME}/giai-trinh"))
    assert "Cần " in step and "ghép điểm thẩm định lần 1" in step
    assert '<button type="submit" disabled>Lập bảng giải trình</button>' in step
    for url in (f"/dot/{NAME}/giai-trinh/tao", f"/dot/{NAME}/giai-trinh/lan-2/tao"):
        response = page.post(url, follow_redirects=True)
        assert response.status_code == 200
        assert "Chưa ghép điểm thẩm định lần 1: vào bước “Thẩm định”" in text(response), url
    assert not (page.app.config["CCHC_ROOT"] / NAME / "7-giai-trinh").exists()


def test_no_commune_to_explain_is_said_and_round_2_is_refused(page, tmp_path):
    folder = appraised_round(page, tmp_path, cut_t01=D(0))
    response = text(page.post(f"/dot/{NAME}/giai-trinh/tao", follow_redirects=True))
    assert "Không đơn vị nào cần giải trình" in response
    assert list((folder / "7-giai-trinh").iterdir()) == []
    response = text(page.post(f"/dot/{NAME}/giai-trinh/lan-2/tao", follow_redirects=True))
    assert "không cần thẩm định lần 2" in response
    assert not (folder / "8-tham-dinh-lan-2").exists()


def test_a_bad_explanation_deadline_is_a_message_not_a_failure(page, tmp_path):
    folder = appraised_round(page, tmp_path)
    save_round(folder, RoundSettings(**{**load_round(folder).__dict__, "explanation_deadline": "ngày mai"}))
    response = page.post(f"/dot/{NAME}/giai-trinh/tao", follow_redirects=True)
    assert response.status_code == 200 and 'class="flash error"' in text(response)
    assert not (folder / "7-giai-trinh").exists()


def test_the_explanation_deadline_is_set_up_and_old_round_files_still_load(page, tmp_path):
    folder = set_up_round(page)
    response = page.post(f"/dot/{NAME}/thiet-lap", {"title": "Chỉ số CCHC năm 2024", "period": "2024",
                                                    "explanation_deadline": "10/01/2025"})
    assert 'value="10/01/2025"' in text(response)
    assert load_round(folder).explanation_deadline == "10/01/2025"
    old = folder / "dot.yaml"
    old.write_text("title: Đợt cũ\nrubric: ha-trung-2023\nunits: don-vi.csv\nperiod: '2024'\n", encoding="utf-8")
    assert load_round(folder).explanation_deadline == ""
    assert page.get(f"/dot/{NAME}/giai-trinh").status_code == 200


def test_the_explanation_steps_refuse_a_post_without_csrf_and_a_get(page):
    set_up_round(page)
    urls = [f"/dot/{NAME}/giai-trinh/{tail}" for tail in ("tao", "tai-len", "thu", "lan-2/tao", "lan-2/tai-len",
                                                           "lan-2/ghep")]
    for url in urls:
        assert page.get(url).status_code == 405, url
        response = page.client.post(url, data={})
        assert response.status_code == 400 and "thiếu mã bảo vệ" in text(response), url
    assert not (page.app.config["CCHC_ROOT"] / NAME / "7-giai-trinh").exists()


def test_a_round_2_score_off_the_rubric_is_shown_by_sheet_and_cell_and_not_merged(page, tmp_path):
    folder = appraised_round(page, tmp_path)
    page.post(f"/dot/{NAME}/giai-trinh/tao")
    response = page.post(f"/dot/{NAME}/giai-trinh/lan-2/tao", {"by": "area"}, follow_redirects=True)
    assert "Đã lập 1 bảng thẩm định lần 2." in text(response)  # T01's criterion is in one area
    blank = next((folder / "8-tham-dinh-lan-2").glob("tham-dinh-lan-2_linh-vuc-*.xlsx"))
    target = tmp_path / blank.name
    target.write_bytes(blank.read_bytes())
    fill_round2(target, {("T01", FIRST.code): (FIRST.max + 5, "Nhầm điểm.")})
    upload(page, f"/dot/{NAME}/giai-trinh/lan-2/tai-len", [target])
    page.post(f"/dot/{NAME}/giai-trinh/lan-2/ghep")
    wait(page)
    step = text(page.get(f"/dot/{NAME}/giai-trinh"))
    problems = step.split("Các bảng lần 2 đã ghép (1)")[1].split("</table>")[0]
    assert f"<strong>Lỗi</strong> Thẩm định lần 2 " in problems and "ngoài khoảng 0 đến" in problems
    assert "Đã ghép 0 điểm, ý kiến thẩm định lần 2 từ bảng này." in problems and "Tiêu chí Hội đồng chấm lần 2" not in step
    unit, _ = unit_json(folder, "T01")
    assert D(str(unit["appraisal"][FIRST.code])) == FIRST.max - 1
    assert blank.name not in text(page.get(f"/dot/{NAME}/tham-dinh")).split("Các bảng đã ghép")[1]  # round 1's list


def test_an_explanation_of_a_commune_not_asked_is_shown_by_sheet_and_cell_and_not_merged(page, tmp_path):
    """Hà Trung (T02) was not cut: a workbook made out to it (here T01's, its identity edited) is
    listed apart, its explanation refused on its cell."""
    folder = appraised_round(page, tmp_path)
    page.post(f"/dot/{NAME}/giai-trinh/tao")
    blank = folder / "7-giai-trinh" / "giai-trinh_T01_xa-ha-bac_2024.xlsx"
    workbook = load_workbook(blank)
    for sheet in workbook.worksheets:  # every copy of its identity: the hidden sheet, the visible line
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "T01" in cell.value:
                    cell.value = cell.value.replace("T01", "T02")
    workbook.properties.description = workbook.properties.description.replace("T01", "T02")
    for prop in workbook.custom_doc_props.props:  # and the file's custom properties
        if isinstance(prop.value, str) and "T01" in prop.value:
            prop.value = prop.value.replace("T01", "T02")
    workbook.save(tmp_path / "sai.xlsx")
    fill_explanation(tmp_path / "sai.xlsx", tmp_path / "Giai trinh Ha Trung.xlsx", {FIRST.code: ("Giải trình.", "")})
    upload(page, f"/dot/{NAME}/giai-trinh/tai-len", [tmp_path / "Giai trinh Ha Trung.xlsx"])
    page.post(f"/dot/{NAME}/giai-trinh/thu")
    wait(page)
    step = text(page.get(f"/dot/{NAME}/giai-trinh"))
    other = step.split('id="other-explanations"')[1].split("</table>")[0]
    assert "Giai trinh Ha Trung.xlsx" in other and "<td>T02</td>" in other
    assert re.search(r"<strong>Lỗi</strong> Giải trình [A-Z]+[0-9]+: Tiêu chí " + re.escape(FIRST.code)
                     + " của đơn vị T02 không thuộc các tiêu chí cần giải trình", other)
    assert "đã gửi lại 0" in step  # T01 itself sent nothing
    unit, _ = unit_json(folder, "T02")
    assert not unit.get("history")


def test_explaining_a_merge_without_any_council_score_says_what_to_do(page, tmp_path):
    set_up_round(page)
    templates = generate(page)
    upload(page, f"/dot/{NAME}/nhan/tai-len", [fill_return(template_of(templates, "T01"), tmp_path / "T01.xlsx")])
    harvest(page)
    page.post(f"/dot/{NAME}/tham-dinh/ghep")  # merged with no council workbook at all
    wait(page)
    step = text(page.get(f"/dot/{NAME}/giai-trinh"))
    assert "Kết quả chưa có điểm thẩm định nào" in step
    response = text(page.post(f"/dot/{NAME}/giai-trinh/tao", follow_redirects=True))
    assert "Kết quả chưa có điểm thẩm định nào: nhận lại các bảng Hội đồng đã điền ở bước “Thẩm định”" in response
    assert "cchc harvest" not in response
