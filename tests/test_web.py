"""`cchc serve` (issue 17) through Flask's test client: every route, and every security rule."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from decimal import Decimal
from html import escape as html_escape
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from cchc_xls.cli import main
from cchc_xls.rounds import load_round
from cchc_xls.web import create_app
from cchc_xls.web.security import CSP

from web_support import RUBRIC, UNITS_CSV, XSS_IMG, XSS_SCRIPT, csrf_of, fill_appraisal, fill_return

D = Decimal


class Page:
    """The test client with the session's CSRF token, as a browser holding the page has it."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token = csrf_of(self.client.get("/").get_data(as_text=True))

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)

    def wait_job(self, name):
        for _ in range(600):  # a bound, not a timing assertion: the job reports its own end
            status = self.get(f"/dot/{name}/tien-do.json").get_json()
            if status["state"] != "running":
                return status
            time.sleep(0.1)
        raise AssertionError("the harvest did not finish")


@pytest.fixture
def page(tmp_path):
    return Page(create_app(tmp_path / "cchc"))


def text(response) -> str:
    return response.get_data(as_text=True)


def set_up_round(page, name="cchc-2024") -> Path:
    response = page.post("/dot-moi", {"name": name, "title": "Chỉ số CCHC năm 2024", "period": "2024"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/dot/{name}/thiet-lap")
    response = page.post(f"/dot/{name}/thiet-lap", {
        "title": "Chỉ số CCHC năm 2024", "period": "2024", "deadline": "15/12/2024",
        "rubric_choice": "ha-trung-2023", "office": "Phòng Nội vụ huyện Hà Trung", "issuer": "UBND huyện Hà Trung",
        "signer_title": "CHỦ TỊCH", "signer_name": "Nguyễn Văn A", "place": "Hà Trung",
        "units_file": (io.BytesIO(UNITS_CSV.encode("utf-8")), "don-vi.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Đã lưu thiết lập của đợt." in text(response), text(response)
    return page.app.config["CCHC_ROOT"] / name


def generate(page, name="cchc-2024") -> Path:
    response = page.post(f"/dot/{name}/gui/tao-phieu", follow_redirects=True)
    assert "Đã tạo 3 phiếu tự đánh giá." in text(response)
    return page.app.config["CCHC_ROOT"] / name / "1-mau-gui-xa"


def template_of(folder: Path, code: str) -> Path:
    return next(folder.glob(f"{code}_*.xlsx"))


def harvest(page, name="cchc-2024"):
    response = page.post(f"/dot/{name}/nhan/thu")
    assert response.status_code == 302
    status = page.wait_job(name)
    assert status["state"] == "done", status
    return status


# --- the whole year ---------------------------------------------------------------------------

def test_a_whole_year_through_the_routes(page, tmp_path):
    folder = set_up_round(page)
    settings = load_round(folder)
    assert (settings.rubric, settings.units, settings.period, settings.issuer, settings.signer_name) == (
        "ha-trung-2023", "don-vi.csv", "2024", "UBND huyện Hà Trung", "Nguyễn Văn A")
    assert "1. Thiết lập ✓" not in text(page.get("/dot/cchc-2024/"))  # the tick is CSS; the page names the rubric
    assert "ha-trung-2023" in text(page.get("/dot/cchc-2024/"))

    # send: the templates, the zip, one message per commune with a copy button
    templates = generate(page)
    send = text(page.get("/dot/cchc-2024/gui"))
    assert send.count('class="copy-button"') == 3 and "Xã Hà Lĩnh" in send and "15/12/2024" in send
    archive = page.get("/tai/cchc-2024/1-mau-gui-xa/templates.zip")
    assert archive.status_code == 200
    assert sorted(zipfile.ZipFile(io.BytesIO(archive.data)).namelist()) == sorted(p.name for p in templates.glob("*.xlsx"))

    # receive: T01 as a file, T02 inside a Zalo zip, T03 sends nothing
    returns = tmp_path / "returns"
    returns.mkdir()
    t01 = fill_return(template_of(templates, "T01"), returns / "Phieu CCHC Ha Bac.xlsx", evidence=f"{XSS_SCRIPT} {XSS_IMG}")
    t02 = fill_return(template_of(templates, "T02"), returns / "T02.xlsx", lost=D(1))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(t02, "Zalo Received Files/Phu luc (1).xlsx")
    response = page.post("/dot/cchc-2024/nhan/tai-len", {"files": [
        (t01.open("rb"), t01.name), (io.BytesIO(zipped.getvalue()), "Zalo_tep_nhan.zip")]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Đã nhận 2 tệp" in text(response)
    assert (folder / "2-hop-thu" / "Phieu CCHC Ha Bac.xlsx").is_file()
    assert (folder / "2-hop-thu" / "Zalo_tep_nhan.zip").is_file()

    status = harvest(page)
    assert status["percent"] == 100 and status["total"] == status["done"] >= 2
    assert "2 được tính" in status["message"]
    receive = text(page.get("/dot/cchc-2024/nhan?dang-chay=1"))
    assert "Đã thu và kiểm tra xong." in receive
    assert receive.count("Đã nhận, được tính") == 2 and "Chưa nộp" in receive
    assert "Nhắc các đơn vị chưa nộp (1)" in receive and "UBND xã Hà Lĩnh" in receive
    counted = next((folder / "3-ket-qua-tu-cham" / "received").glob("*_Phieu CCHC Ha Bac.xlsx"))
    from urllib.parse import quote

    assert f'href="/tai/cchc-2024/3-ket-qua-tu-cham/received/{quote(counted.name)}">mở tệp</a>' in receive
    only_missing = text(page.get("/dot/cchc-2024/nhan?loc=chua-nop"))
    assert "Xã Hà Lĩnh" in only_missing and "Xã Hà Bắc" not in only_missing
    by_score = text(page.get("/dot/cchc-2024/nhan?xep=diem"))
    assert by_score.index("Xã Hà Bắc") < by_score.index("Thị trấn Hà Trung") < by_score.index("Xã Hà Lĩnh")

    # a commune's page: its file, its scores beside the maximum, its explanation
    commune = text(page.get("/dot/cchc-2024/don-vi/T02"))
    first = RUBRIC.scorable()[0]
    assert "Chưa ban hành kế hoạch đúng hạn." in commune and "Phu luc (1).xlsx" in commune
    assert f"<td>{first.code}</td><td>{first.label}" in commune
    assert "Điểm tự chấm <strong>99</strong>/100" in commune

    # appraise: workbooks for the council, back filled, merged
    response = page.post("/dot/cchc-2024/tham-dinh/tao", {"by": "unit"}, follow_redirects=True)
    assert "Đã lập 2 bảng thẩm định." in text(response)
    blanks = zipfile.ZipFile(io.BytesIO(page.get("/dot/cchc-2024/tham-dinh/bang-tham-dinh.zip").data))
    filled = []
    for member in blanks.namelist():
        target = tmp_path / member
        target.write_bytes(blanks.read(member))
        filled.append(fill_appraisal(target))
    response = page.post("/dot/cchc-2024/tham-dinh/tai-len", {"files": [(p.open("rb"), p.name) for p in filled]},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "Đã nhận 2 tệp vào 4-tham-dinh" in text(response)
    assert page.post("/dot/cchc-2024/tham-dinh/ghep").status_code == 302
    assert page.wait_job("cchc-2024")["state"] == "done"
    appraise = text(page.get("/dot/cchc-2024/tham-dinh"))
    assert "Thẩm định chưa đủ (0)" in appraise and "Mọi đơn vị đã được thẩm định đủ" in appraise

    # results: the official ranking as a table and a chart, downloads, reports, a zip of everything
    results = text(page.get("/dot/cchc-2024/ket-qua"))
    assert "Xếp hạng chính thức theo điểm thẩm định." in results
    assert "<svg" in results and results.count('<g class="bar') == 2
    assert "UBND xã Hà Bắc: 99,5 điểm" in results and "UBND thị trấn Hà Trung: 99,5 điểm" in results
    response = page.post("/dot/cchc-2024/ket-qua/xep-hang", follow_redirects=True)
    assert "Đã lập lại bảng xếp hạng phu-luc-ii.xlsx." in text(response)
    assert 'href="/tai/cchc-2024/5-ket-qua-tham-dinh/phu-luc-ii.docx"' in text(response)
    response = page.post("/dot/cchc-2024/ket-qua/bao-cao", follow_redirects=True)
    assert "Đã viết 2 báo cáo của đơn vị và báo cáo tổng hợp." in text(response)
    ranking = page.get("/tai/cchc-2024/5-ket-qua-tham-dinh/phu-luc-ii.xlsx")
    assert ranking.status_code == 200 and ranking.data[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(ranking.data)).worksheets[0]
    assert any("UBND huyện Hà Trung" in str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    everything = zipfile.ZipFile(io.BytesIO(page.get("/dot/cchc-2024/tat-ca.zip").data)).namelist()
    assert "dot.yaml" in everything and any(n.startswith("6-bao-cao/bao-cao-tong-hop") for n in everything)
    assert "5-ket-qua-tham-dinh/harvest.json" in everything


def test_commune_text_is_shown_as_text_on_every_page(page, tmp_path):
    """Evidence typed as HTML by a commune reaches every page escaped, never as markup."""
    folder = set_up_round(page)
    templates = generate(page)
    evidence = f"{XSS_SCRIPT} và {XSS_IMG}"
    t01 = fill_return(template_of(templates, "T01"), tmp_path / "T01.xlsx", evidence=evidence, lost=D(1))
    page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(t01.open("rb"), f"{XSS_IMG}.xlsx")]},
              content_type="multipart/form-data")
    harvest(page)
    data = json.loads((folder / "3-ket-qua-tu-cham" / "harvest.json").read_text(encoding="utf-8"))
    assert evidence in json.dumps(data, ensure_ascii=False)  # it really was harvested
    pages = ["/", "/dot/cchc-2024/", "/dot/cchc-2024/nhan", "/dot/cchc-2024/don-vi/T01",
             "/dot/cchc-2024/don-vi/T01?nguon=tu-cham", "/dot/cchc-2024/ket-qua", "/dot/cchc-2024/tham-dinh"]
    for url in pages:
        html = text(page.get(url))
        assert "<script>alert" not in html and "<img src=x" not in html, url
    commune = text(page.get("/dot/cchc-2024/don-vi/T01"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; và &lt;img src=x onerror=alert(1)&gt;" in commune
    inbox = text(page.get("/dot/cchc-2024/nhan"))
    assert "_img src=x onerror=alert(1)_.xlsx" in inbox  # the uploaded name lost its <>, which Windows refuses


# --- set-up: what is wrong in an uploaded file, by row ---------------------------------------

def test_units_list_problems_are_shown_by_row_and_the_list_is_not_used(page):
    page.post("/dot-moi", {"name": "dot-loi", "title": "Thử", "period": "2024"})
    bad = "code,name\nX01,Xã Một\nX01,Xã Hai\n,Xã Ba\n"
    html = text(page.post("/dot/dot-loi/thiet-lap", {"units_file": (io.BytesIO(bad.encode()), "ds.csv")},
                          content_type="multipart/form-data"))
    assert "Tệp danh sách đơn vị “ds.csv” có lỗi. Sửa các chỗ sau rồi tải lên lại:" in html
    assert "dòng 3: mã X01 trùng với dòng 2" in html and "dòng 4: thiếu mã đơn vị" in html
    assert load_round(page.app.config["CCHC_ROOT"] / "dot-loi").units == ""


def test_rubric_upload_yaml_and_exported_workbook_with_findings_by_row(page, tmp_path):
    from openpyxl import load_workbook

    from cchc_xls.rubric_xlsx import export_rubric

    page.post("/dot-moi", {"name": "dot-tc", "title": "Thử", "period": "2024"})
    broken = "id: x\ntitle: T\ntotal: 10\ntree:\n  - code: I\n    label: A\n    max: 5\n"
    html = text(page.post("/dot/dot-tc/thiet-lap", {"rubric_file": (io.BytesIO(broken.encode()), "tc.yaml")},
                          content_type="multipart/form-data"))
    assert "Tệp chưa dùng được" in html and "tổng điểm tối đa các lĩnh vực là 5" in html

    workbook = export_rubric(RUBRIC, tmp_path / "bo-tieu-chi.xlsx")
    book = load_workbook(workbook)
    sheet = book["Tiêu chí"]
    area_row = next(row[0].row for row in sheet.iter_rows() if row[0].value == "1")
    criterion = next(row for row in sheet.iter_rows() if row[0].value == "1.1")
    assert criterion[2].value == 4
    criterion[2].value = 9  # the officer raised 1.1's maximum and forgot area 1's
    book.save(workbook)
    html = text(page.post("/dot/dot-tc/thiet-lap", {"rubric_file": (workbook.open("rb"), "bo-tieu-chi.xlsx")},
                          content_type="multipart/form-data"))
    assert "Tệp chưa dùng được" in html
    assert f"[Tiêu chí, dòng {area_row}, cột “Điểm tối đa”] Điểm tối đa của “1” là 17 nhưng tổng các tiêu chí con là 22." in html
    assert load_round(page.app.config["CCHC_ROOT"] / "dot-tc").rubric == ""

    good = export_rubric(RUBRIC, tmp_path / "tot.xlsx")
    html = text(page.post("/dot/dot-tc/thiet-lap", {"rubric_file": (good.open("rb"), "tot.xlsx")},
                          content_type="multipart/form-data"))
    assert "Đã nhận:" in html and "40 tiêu chí" in html
    assert load_round(page.app.config["CCHC_ROOT"] / "dot-tc").rubric == "bo-tieu-chi.yaml"


def test_new_round_name_rules(page):
    html = text(page.post("/dot-moi", {"name": "../ra-ngoai", "title": "x"}, follow_redirects=True))
    assert "Tên thư mục của đợt chỉ gồm" in html or "Đã tạo đợt" in html
    assert not (page.app.config["CCHC_ROOT"].parent / "ra-ngoai").exists()
    page.post("/dot-moi", {"name": "cchc-2025", "title": "x"})
    assert "Đã có thư mục “cchc-2025”" in text(page.post("/dot-moi", {"name": "cchc-2025"}, follow_redirects=True))


# --- receive: uploads --------------------------------------------------------------------------

def test_uploads_are_sanitised_never_overwrite_and_stay_in_the_inbox(page):
    folder = set_up_round(page)
    inbox = folder / "2-hop-thu"
    for _ in range(2):
        page.post("/dot/cchc-2024/nhan/tai-len", {"files": [
            (io.BytesIO(b"first"), "../../../thoat.xlsx"), (io.BytesIO(b"x"), "CON.xlsx"),
            (io.BytesIO(b"y"), "Phiếu: xã?.xlsx")]}, content_type="multipart/form-data")
    names = sorted(p.name for p in inbox.iterdir())
    assert names == sorted(["thoat.xlsx", "thoat (2).xlsx", "_CON.xlsx", "_CON (2).xlsx",
                            "Phiếu_ xã_.xlsx", "Phiếu_ xã_ (2).xlsx"])
    assert (inbox / "thoat.xlsx").read_bytes() == b"first"
    assert not (page.app.config["CCHC_ROOT"] / "thoat.xlsx").exists()


def test_upload_size_caps(tmp_path):
    app = create_app(tmp_path / "cchc")
    app.config["CCHC_MAX_FILE"] = 1000
    page = Page(app)
    set_up_round(page)
    html = text(page.post("/dot/cchc-2024/nhan/tai-len", {"files": [
        (io.BytesIO(b"x" * 1001), "lon.xlsx"), (io.BytesIO(b"x" * 10), "nho.xlsx")]},
        content_type="multipart/form-data", follow_redirects=True))
    assert "“lon.xlsx”: lớn hơn" in html and "Đã nhận 1 tệp" in html
    inbox = tmp_path / "cchc" / "cchc-2024" / "2-hop-thu"
    assert sorted(p.name for p in inbox.iterdir()) == ["nho.xlsx"]
    app.config["MAX_CONTENT_LENGTH"] = 5000
    response = page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(io.BytesIO(b"x" * 6000), "a.xlsx")]},
                         content_type="multipart/form-data")
    assert response.status_code == 413 and "Tệp tải lên quá lớn" in text(response)


def test_mail_attachments_land_in_the_inbox_and_are_harvested(page, tmp_path):
    folder = set_up_round(page)
    templates = generate(page)
    t01 = fill_return(template_of(templates, "T01"), tmp_path / "T01.xlsx")
    t02 = fill_return(template_of(templates, "T02"), tmp_path / "T02.xlsx")
    mails = []
    for path in (t01, t02):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "xa@example.vn", "noivu@example.vn", "Phiếu CCHC"
        message.set_content("Gửi phiếu tự đánh giá.")
        message.add_attachment(path.read_bytes(), maintype="application", subtype="octet-stream",
                               filename=f"Phiếu {path.stem}.xlsx")
        mails.append(message)
    mbox = b"".join(b"From xa@example.vn Mon Dec  2 08:00:00 2024\n" + m.as_bytes() + b"\n" for m in mails[1:])
    page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(io.BytesIO(mails[0].as_bytes()), "thu.eml"),
                                                        (io.BytesIO(mbox), "hop-thu.mbox")]},
              content_type="multipart/form-data")
    inbox = folder / "2-hop-thu"
    # saved as received; the harvest reads the attachments from the mails (with sender and date)
    assert sorted(p.name for p in inbox.iterdir()) == ["hop-thu.mbox", "thu.eml"]
    harvest(page)
    receive = text(page.get("/dot/cchc-2024/nhan"))
    assert receive.count("Đã nhận, được tính") == 2
    # each commune's message names the mail's attachment and carries the round's office and deadline
    [message] = (folder / "3-ket-qua-tu-cham" / "phan-hoi").glob("T01_*.txt")
    text_t01 = message.read_text(encoding="utf-8")
    assert "Phiếu T01.xlsx" in text_t01 and "người gửi xa@example.vn" in text_t01
    assert "Phòng Nội vụ huyện Hà Trung" in text_t01
    [reminder] = (folder / "3-ket-qua-tu-cham" / "phan-hoi").glob("T03_*.txt")
    assert "trước ngày 15/12/2024" in reminder.read_text(encoding="utf-8")


def test_two_harvests_of_one_round_never_run_at_once(page):
    folder = set_up_round(page)
    release = threading.Event()
    jobs = page.app.extensions["cchc_jobs"]
    assert jobs.start(str(folder), "thu", lambda job: release.wait(30) and "") is not None
    try:
        html = text(page.post("/dot/cchc-2024/nhan/thu", follow_redirects=True))
        assert "Đang thu và kiểm tra cho đợt này: chờ xong rồi chạy lại." in html
        assert "Có thể đóng trang này" in html  # the progress bar of the running one
        assert page.get("/dot/cchc-2024/tien-do.json").get_json()["state"] == "running"
        html = text(page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(io.BytesIO(b"x"), "muon.xlsx")]},
                              content_type="multipart/form-data", follow_redirects=True))
        assert "chờ xong rồi tải lên thêm" in html and not (folder / "2-hop-thu" / "muon.xlsx").exists()
    finally:
        release.set()
    assert page.wait_job("cchc-2024")["state"] == "done"


def test_a_failed_harvest_says_why(page):
    page.post("/dot-moi", {"name": "trong", "title": "x", "period": "2024"})
    page.post("/dot/trong/nhan/thu")
    status = page.wait_job("trong")
    assert status["state"] == "failed" and "chưa chọn bộ tiêu chí" in status["message"]
    assert "chưa chọn bộ tiêu chí" in text(page.get("/dot/trong/nhan"))


# --- security ---------------------------------------------------------------------------------

def test_post_without_or_with_a_wrong_csrf_token_is_refused(page):
    set_up_round(page)
    for data in ({}, {"csrf_token": "sai"}):
        response = page.client.post("/dot/cchc-2024/gui/tao-phieu", data=data)
        assert response.status_code == 400 and "thiếu mã bảo vệ" in text(response)
    assert not (page.app.config["CCHC_ROOT"] / "cchc-2024" / "1-mau-gui-xa").exists()
    other = create_app(page.app.config["CCHC_ROOT"]).test_client()  # another session's token is no good
    assert other.post("/dot-moi", data={"csrf_token": page.token, "name": "x"}).status_code == 400
    response = page.client.post("/dot/cchc-2024/nhan/tai-len", headers={"X-CSRF-Token": page.token,
                                "Accept": "application/json"}, data={"files": [(io.BytesIO(b"z"), "a.xlsx")]},
                                content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["saved"] == ["a.xlsx"]


def test_every_state_change_is_a_post(page):
    set_up_round(page)
    for url in ("/dot/cchc-2024/gui/tao-phieu", "/dot/cchc-2024/nhan/thu", "/dot/cchc-2024/nhan/tai-len",
                "/dot/cchc-2024/tham-dinh/tao", "/dot/cchc-2024/tham-dinh/ghep", "/dot/cchc-2024/ket-qua/xep-hang",
                "/dot/cchc-2024/ket-qua/bao-cao", "/dot/cchc-2024/giai-trinh/tao", "/dot/cchc-2024/giai-trinh/tai-len",
                "/dot/cchc-2024/giai-trinh/thu", "/dot/cchc-2024/giai-trinh/lan-2/tao",
                "/dot/cchc-2024/giai-trinh/lan-2/tai-len", "/dot/cchc-2024/giai-trinh/lan-2/ghep", "/dot-moi", "/dang-xuat"):
        assert page.get(url).status_code == 405, url


def test_password_is_checked_on_every_request(tmp_path):
    app = create_app(tmp_path / "cchc", password="mật-khẩu-1")
    client = app.test_client()
    (tmp_path / "cchc" / "a.txt").write_text("bí mật", encoding="utf-8")
    for url in ("/", "/tai/a.txt", "/dot/x/", "/ket-qua/x"):
        response = client.get(url)
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"], url
    login = text(client.get("/dang-nhap"))
    assert client.post("/dot-moi", data={"csrf_token": csrf_of(login), "name": "x"}).status_code == 401
    wrong = client.post("/dang-nhap", data={"csrf_token": csrf_of(login), "password": "sai"})
    assert wrong.status_code == 401 and "Mật khẩu không đúng." in text(wrong)
    right = client.post("/dang-nhap?next=/tai/a.txt", data={"csrf_token": csrf_of(login), "password": "mật-khẩu-1"})
    assert right.status_code == 302 and right.headers["Location"] == "/tai/a.txt"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/tai/a.txt").data == "bí mật".encode()
    client.post("/dang-xuat", data={"csrf_token": csrf_of(text(client.get("/")))})
    assert client.get("/tai/a.txt").status_code == 302
    for target in ("//example.com/", "/%5Cexample.com", "https://example.com/"):
        client.post("/dang-xuat", data={"csrf_token": csrf_of(text(client.get("/dang-nhap")))})
        evil = client.post(f"/dang-nhap?next={target}", data={"csrf_token": csrf_of(text(client.get("/dang-nhap"))),
                                                                "password": "mật-khẩu-1"})
        assert evil.headers["Location"] == "/", target


def test_serve_refuses_another_address_without_a_password(tmp_path, monkeypatch):
    monkeypatch.delenv("CCHC_PASSWORD", raising=False)
    result = CliRunner().invoke(main, ["serve", str(tmp_path), "--host", "0.0.0.0", "--no-browser"])
    assert result.exit_code == 1
    assert "phải đặt mật khẩu bằng --password" in result.output and "CCHC_PASSWORD" in result.output
    from cchc_xls.web.serve import check_exposure

    check_exposure("127.0.0.1", None)
    check_exposure("0.0.0.0", "x")


def test_serve_starts_waitress_with_the_app(tmp_path, monkeypatch):
    import waitress

    seen = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setenv("CCHC_PASSWORD", "pw")
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "d"), "--host", "0.0.0.0", "--port", "9001", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "0.0.0.0" and seen["port"] == 9001
    assert seen["app"].test_client().get("/").status_code == 302  # the password from the environment is in force
    assert seen["app"].config["SESSION_COOKIE_NAME"] == "cchc_phien_9001"
    assert "Trang làm việc: http://127.0.0.1:9001/" in result.output


@pytest.mark.parametrize("url", [
    "/tai/../secret.txt", "/tai/%2e%2e/secret.txt", "/tai/cchc/..%2fsecret.txt", "/tai//etc/passwd",
    "/tai/%2Fetc%2Fpasswd", "/tai/..%5Csecret.txt", "/tai/C:%5Cwindows%5Cwin.ini", "/tai/link-out.txt",
    "/tai/linked-dir/secret.txt", "/tai/.hidden", "/tai/nothing.txt", "/ket-qua/..%2F", "/dot/..%2F/",
])
def test_downloads_never_leave_the_data_folder(tmp_path, url):
    root = tmp_path / "cchc"
    app = create_app(root)
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(tmp_path, root / "linked-dir")
    (root / ".hidden").write_text("h")
    response = app.test_client().get(url, follow_redirects=True)  # werkzeug merges `//` by a redirect first
    assert response.status_code == 404 and b"secret" not in response.data


def test_downloads_inside_the_folder_work(tmp_path):
    root = tmp_path / "cchc"
    app = create_app(root)
    (root / "a b").mkdir()
    (root / "a b" / "Phụ lục.txt").write_text("nội dung", encoding="utf-8")
    response = app.test_client().get("/tai/a b/Phụ lục.txt")
    assert response.status_code == 200 and response.data == "nội dung".encode()
    assert "attachment" in response.headers["Content-Disposition"]


def test_every_response_carries_the_content_security_policy(page):
    set_up_round(page)
    responses = [page.get("/"), page.get("/static/app.js"), page.get("/static/style.css"), page.get("/dot/cchc-2024/"),
                 page.get("/dot/cchc-2024/tien-do.json"), page.get("/khong-co"), page.get("/tai/cchc-2024/dot.yaml"),
                 page.client.post("/dot-moi"), page.post("/dot-moi", {"name": "b"})]
    for response in responses:
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in CSP and "default-src 'self'" in CSP and "unsafe-inline" not in CSP


def test_pages_have_no_inline_script_or_style_and_no_other_origin(page):
    """What the CSP forbids is not used: the page must work under its own policy."""
    import re

    set_up_round(page)
    generate(page)
    for url in ("/", "/dot/cchc-2024/", "/dot/cchc-2024/thiet-lap", "/dot/cchc-2024/gui", "/dot/cchc-2024/nhan",
                "/dot/cchc-2024/tham-dinh", "/dot/cchc-2024/giai-trinh", "/dot/cchc-2024/ket-qua", "/dang-nhap",
                "/khong-co"):
        html = text(page.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " style=" not in html and "<style" not in html and " on" + "click=" not in html, url
        assert not re.search(r'(src|href)="(https?:)?//', html), url


# --- the start page and results folders -------------------------------------------------------

def test_start_page_lists_the_demo_round_and_other_results(tmp_path):
    from cchc_xls.demo import run_demo

    root = tmp_path / "cchc"
    run_demo(root / "demo")
    extra = root / "nam-truoc" / "thu-2023"
    extra.mkdir(parents=True)
    for name in ("harvest.json", "rubric.yaml", "phu-luc-ii.xlsx"):
        (extra / name).write_bytes((root / "demo" / "3-ket-qua-tu-cham" / name).read_bytes())
    client = create_app(root).test_client()
    index = text(client.get("/"))
    assert "Chạy thử trên dữ liệu mẫu (huyện Mẫu)" in index and "14/15 đơn vị có phiếu được tính" in index
    assert 'href="/ket-qua/nam-truoc/thu-2023"' in index and "demo/3-ket-qua-tu-cham" not in index
    other = text(client.get("/ket-qua/nam-truoc/thu-2023"))
    assert "Xếp hạng tạm theo điểm tự chấm" in other and "UBND xã Mẫu An" in other
    demo = text(client.get("/dot/demo/ket-qua"))
    assert "Xếp hạng chính thức theo điểm thẩm định." in demo and 'class="heat"' in demo
    assert "demo/2-hop-thu/Zalo_tep_nhan.zip › Zalo Received Files/" in text(client.get("/dot/demo/don-vi/M07"))
    assert str(root) not in text(client.get("/dot/demo/don-vi/M07"))  # paths shown from the data folder
    commune = text(client.get("/dot/demo/don-vi/M07?nguon=tu-cham"))
    assert "<td class=\"nowrap\">Lỗi</td><td class=\"nowrap\">Phụ lục I</td><td>D82</td><td>Điểm tự đánh giá 2,5 vượt điểm tối đa 2 của tiêu chí 5.2" in commune
    for url in ("/dot/demo/", "/dot/demo/thiet-lap", "/dot/demo/gui", "/dot/demo/nhan", "/dot/demo/tham-dinh"):
        assert client.get(url).status_code == 200, url
    # the demo's explanation round, as the command line played it, continues on the page
    explained = text(client.get("/dot/demo/giai-trinh"))
    assert "Các đơn vị cần giải trình (4) · đã gửi lại 2" in explained and "10/01/2025" in explained
    assert "Tiêu chí Hội đồng chấm lần 2 (1)" in explained and "4 bảng thẩm định lần 2" in explained
    assert "Tự chấm, thẩm định, giải trình" in text(client.get("/dot/demo/don-vi/M07"))
    assert client.get("/dot/khong-co/").status_code == 404
    assert client.get("/dot/demo/don-vi/KHONG").status_code == 404


def test_generating_again_needs_a_confirmation(page):
    folder = set_up_round(page)
    generate(page)
    batch = (folder / "1-mau-gui-xa" / "manifest.csv").read_bytes()
    html = text(page.post("/dot/cchc-2024/gui/tao-phieu", follow_redirects=True))
    assert "đánh dấu “Tôi hiểu, tạo lại toàn bộ phiếu”" in html
    assert (folder / "1-mau-gui-xa" / "manifest.csv").read_bytes() == batch
    html = text(page.post("/dot/cchc-2024/gui/tao-phieu", {"confirm": "1"}, follow_redirects=True))
    assert "Đã tạo 3 phiếu tự đánh giá." in html
    assert (folder / "1-mau-gui-xa" / "manifest.csv").read_bytes() != batch


def test_incomplete_and_wrong_appraisals_are_shown(page, tmp_path):
    folder = set_up_round(page)
    templates = generate(page)
    for code in ("T01", "T02"):
        path = fill_return(template_of(templates, code), tmp_path / f"{code}.xlsx")
        page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(path.open("rb"), path.name)]},
                  content_type="multipart/form-data")
    harvest(page)
    page.post("/dot/cchc-2024/tham-dinh/tao", {"by": "unit"})
    blanks = sorted((folder / "4-tham-dinh" / "mau-trong").glob("*.xlsx"))
    assert [p.name.split("_")[1] for p in blanks] == ["T01", "T02"]
    wrong = tmp_path / blanks[0].name
    wrong.write_bytes(blanks[0].read_bytes())
    fill_appraisal(wrong, cut=D(-3))  # the first criterion set above its maximum
    page.post("/dot/cchc-2024/tham-dinh/tai-len", {"files": [(wrong.open("rb"), wrong.name)]},
              content_type="multipart/form-data")
    page.post("/dot/cchc-2024/tham-dinh/ghep")
    assert page.wait_job("cchc-2024")["state"] == "done"
    html = text(page.get("/dot/cchc-2024/tham-dinh"))
    assert "Thẩm định chưa đủ (2)" in html  # T01 lacks one criterion (refused), T02 was not appraised
    first = RUBRIC.scorable()[0]
    assert f"ngoài khoảng 0 đến {first.max}" in html and "Lỗi" in html
    results = text(page.get("/dot/cchc-2024/ket-qua"))
    assert "Xếp hạng tạm theo điểm tự chấm" in results


def test_the_guide_is_linked_and_shows_pictures_of_the_real_pages():
    """docs/huong-dan-su-dung.md: linked at the top of the README; every picture it shows exists
    (made by docs/screenshots.py from the real page) and stays small."""
    import re

    top = Path(__file__).resolve().parent.parent
    readme = (top / "README.md").read_text(encoding="utf-8")
    assert "docs/huong-dan-su-dung.md" in readme.split("## Quick start")[0]
    guide = (top / "docs" / "huong-dan-su-dung.md").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]+\]\((img/[^)]+\.png)\)", guide)
    assert len(pictures) >= 6
    for picture in pictures:
        path = top / "docs" / picture
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size < 250_000, picture
    for command in ("py -m pip install .", "py -m cchc_xls serve", "cchc harvest", "cchc appraise", "cchc rank",
                    "cchc explain", "--round 2",
                    "cchc report", "--password"):
        assert command in guide, command


def test_appraisal_workbooks_by_area(page, tmp_path):
    folder = set_up_round(page)
    templates = generate(page)
    path = fill_return(template_of(templates, "T01"), tmp_path / "T01.xlsx")
    page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(path.open("rb"), path.name)]},
              content_type="multipart/form-data")
    harvest(page)
    html = text(page.post("/dot/cchc-2024/tham-dinh/tao", {"by": "area"}, follow_redirects=True))
    areas = [a for a in RUBRIC.areas() if any(leaf.self_scored for leaf in a.leaves())]
    assert f"Đã lập {len(areas)} bảng thẩm định." in html
    names = zipfile.ZipFile(io.BytesIO(page.get("/dot/cchc-2024/tham-dinh/bang-tham-dinh.zip").data)).namelist()
    assert sorted(names) == sorted(p.name for p in (folder / "4-tham-dinh" / "mau-trong").iterdir())
    assert all(n.startswith("tham-dinh_linh-vuc-") for n in names) and len(names) == len(areas)


def test_a_late_return_after_the_appraisal_updates_the_ranking_shown(page, tmp_path):
    """Receiving a late return once the appraisal was merged merges again: the results page never
    shows a ranking older than the inbox. Phụ lục II carries the office profile's issuer."""
    from openpyxl import load_workbook

    folder = set_up_round(page)
    templates = generate(page)
    t01 = fill_return(template_of(templates, "T01"), tmp_path / "T01.xlsx")
    page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(t01.open("rb"), t01.name)]}, content_type="multipart/form-data")
    harvest(page)
    page.post("/dot/cchc-2024/tham-dinh/tao", {"by": "unit"})
    blank = next((folder / "4-tham-dinh" / "mau-trong").glob("*.xlsx"))
    filled = tmp_path / blank.name
    filled.write_bytes(blank.read_bytes())
    fill_appraisal(filled)
    page.post("/dot/cchc-2024/tham-dinh/tai-len", {"files": [(filled.open("rb"), filled.name)]},
              content_type="multipart/form-data")
    page.post("/dot/cchc-2024/tham-dinh/ghep")
    page.wait_job("cchc-2024")
    assert "UBND thị trấn Hà Trung:" not in text(page.get("/dot/cchc-2024/ket-qua"))  # no bar: it sent nothing yet
    t02 = fill_return(template_of(templates, "T02"), tmp_path / "T02.xlsx", lost=D(2))
    page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(t02.open("rb"), t02.name)]}, content_type="multipart/form-data")
    harvest(page)
    results = text(page.get("/dot/cchc-2024/ket-qua"))
    assert "UBND thị trấn Hà Trung: 98 điểm" in results  # its self total, provisional, in the merged results
    assert "Xếp hạng tạm theo điểm tự chấm" in results  # T02 is not appraised yet
    for out in ("3-ket-qua-tu-cham", "5-ket-qua-tham-dinh"):
        sheet = load_workbook(folder / out / "phu-luc-ii.xlsx").worksheets[0]
        assert any("UBND HUYỆN HÀ TRUNG" in str(c.value).upper() for row in sheet.iter_rows() for c in row if c.value), out


def test_serve_on_a_port_in_use_says_so(tmp_path):
    import socket

    from cchc_xls.errors import CchcError
    from cchc_xls.web.serve import serve

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(CchcError, match=f"Không mở được cổng {port}.*thử --port khác"):
            serve(tmp_path, port=port, open_browser=False, echo=lambda _: None)


def test_the_zip_of_a_round_holds_nothing_reached_through_a_symlink(page, tmp_path):
    folder = set_up_round(page)
    secret = tmp_path / "ngoai.txt"
    secret.write_text("bí mật", encoding="utf-8")
    os.symlink(secret, folder / "lien-ket.txt")
    os.symlink(tmp_path, folder / "thu-muc-ngoai")
    names = zipfile.ZipFile(io.BytesIO(page.get("/dot/cchc-2024/tat-ca.zip").data)).namelist()
    assert "dot.yaml" in names and "don-vi.csv" in names
    assert not any("lien-ket" in n or "thu-muc-ngoai" in n or "ngoai.txt" in n for n in names)


def test_commune_page_and_reminders_show_the_harvests_own_feedback_messages(page, tmp_path):
    """The text in phan-hoi/ is what the page offers to copy: one message, whoever sends it."""
    folder = set_up_round(page)
    templates = generate(page)
    t01 = fill_return(template_of(templates, "T01"), tmp_path / "T01.xlsx", evidence="Kế hoạch số 5/KH-UBND", lost=D(1))
    page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(t01.open("rb"), "T01.xlsx")]},
              content_type="multipart/form-data")
    harvest(page)
    feedback = folder / "3-ket-qua-tu-cham" / "phan-hoi"
    written = {p.name.split("_")[0]: p.read_text(encoding="utf-8") for p in feedback.glob("*.txt")}
    assert "T01" in written and len(written) >= 2, written.keys()
    commune = text(page.get("/dot/cchc-2024/don-vi/T01"))
    assert "Thư phản hồi gửi đơn vị" in commune
    first_line = next(line for line in written["T01"].splitlines() if line.strip())
    assert html_escape(first_line) in commune
    missing = next(code for code in written if code != "T01")
    reminder_line = next(line for line in written[missing].splitlines() if line.strip())
    assert html_escape(reminder_line) in text(page.get("/dot/cchc-2024/nhan"))


def test_commune_page_says_which_total_its_rank_is_by(page, tmp_path):
    """Beside the rank, the figure the ranking used and what it is (here the self score, provisional)."""
    set_up_round(page)
    templates = generate(page)
    t01 = fill_return(template_of(templates, "T01"), tmp_path / "T01.xlsx", lost=D(1))
    page.post("/dot/cchc-2024/nhan/tai-len", {"files": [(t01.open("rb"), "T01.xlsx")]},
              content_type="multipart/form-data")
    harvest(page)
    total = RUBRIC.total - D(1)
    shown = f"{total:f}".rstrip("0").rstrip(".").replace(".", ",")
    commune = text(page.get("/dot/cchc-2024/don-vi/T01"))
    assert f"Xếp hạng 1 theo điểm tự chấm (tạm tính) {shown}" in commune
