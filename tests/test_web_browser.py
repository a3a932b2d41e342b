"""A whole year in a real headless Chromium (issue 17): set up, generate, upload the returns (also
by drag and drop), harvest with the progress bar, open a commune, appraise, the explanation round
and round 2, rank, download.

Runs against the app served by werkzeug on a free localhost port in a thread; Chromium is
Debian's `chromium` with `chromedriver` through Selenium. Without them the test is skipped,
except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import io
import threading
import time
import urllib.request
import zipfile
from decimal import Decimal

import pytest

from browser import chromium, needs_browser, served
from web_support import RUBRIC, UNITS_CSV, XSS_SCRIPT, fill_appraisal, fill_explanation, fill_return, fill_round2

pytestmark = pytest.mark.browser


def wait_for(driver, condition, what: str, limit: float = 60):
    """Poll the page until condition(driver) is true (a bound for a stuck page, not a timing check)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, limit, poll_frequency=0.2).until(condition, message=what)


def body(driver) -> str:
    """The page's visible text, or "" while a new page replaces the old (then ask again)."""
    from selenium.common.exceptions import WebDriverException

    try:
        return driver.execute_script("return document.body ? document.body.innerText : ''")
    except WebDriverException:
        return ""


def navigate_by(driver, element):
    """Click something that loads a new page, and wait until the new page has replaced the old.

    The old page is marked with a script variable; the new page does not have it. Asking while the
    page changes may fail in several ways in ChromeDriver: that only means "not yet"."""
    from selenium.common.exceptions import WebDriverException

    driver.execute_script("window.cchcOldPage = true")
    element.click()

    def replaced(d):
        try:
            return d.execute_script("return !window.cchcOldPage && document.readyState === 'complete'")
        except WebDriverException:
            return False

    wait_for(driver, replaced, "the next page loads")


def click_button(driver, label: str):
    navigate_by(driver, driver.find_element("xpath", f"//button[normalize-space()='{label}']"))


def click_link(driver, label: str):
    navigate_by(driver, driver.find_element("xpath", f"//a[normalize-space()='{label}']"))


def test_a_whole_year_in_the_browser(tmp_path):
    needs_browser()
    from cchc_xls.web import create_app

    root = tmp_path / "cchc"
    downloads = tmp_path / "tai-ve"
    downloads.mkdir()
    units = tmp_path / "don-vi.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    app = create_app(root)
    with served(app) as base, chromium(downloads=downloads) as d:
        # the start page: a new round
        d.get(base + "/")
        assert "Chưa có đợt nào." in body(d)
        d.find_element("name", "title").send_keys("Chỉ số CCHC năm 2024")
        d.find_element("name", "name").send_keys("cchc-2024")
        d.find_element("name", "period").send_keys("2024")
        click_button(d, "Tạo đợt")

        # set up: bundled rubric, the units list, the office profile
        assert "Đã tạo đợt đánh giá." in body(d)
        d.find_element("css selector", "input[name=rubric_choice][value='ha-trung-2023']").click()
        d.find_element("name", "units_file").send_keys(str(units))
        d.find_element("name", "deadline").send_keys("15/12/2024")
        d.find_element("name", "explanation_deadline").send_keys("10/01/2025")
        d.find_element("name", "office").send_keys("Phòng Nội vụ huyện Hà Trung")
        d.find_element("name", "issuer").send_keys("UBND huyện Hà Trung")
        click_button(d, "Lưu thiết lập")
        assert "Đã lưu thiết lập của đợt." in body(d) and "Đang dùng don-vi.csv: 3 đơn vị." in body(d)

        # send: generate, the messages with their copy buttons
        click_link(d, "Tiếp: gửi phiếu →")
        click_button(d, "Tạo phiếu cho từng xã")
        assert "Đã tạo 3 phiếu tự đánh giá." in body(d)
        copy = d.find_element("css selector", "details[open] .copy-button")
        copy.click()
        wait_for(d, lambda _: copy.text == "Đã sao chép", "the copy button answers")
        assert "15/12/2024" in d.find_element("id", "msg-1").get_attribute("value")

        # receive: two returns through the file input, one more file dropped on the zone
        templates = root / "cchc-2024" / "1-mau-gui-xa"
        returns = [fill_return(next(templates.glob("T01_*.xlsx")), tmp_path / "Phieu Ha Bac.xlsx", evidence=XSS_SCRIPT),
                   fill_return(next(templates.glob("T02_*.xlsx")), tmp_path / "T02 (1).xlsx", lost=Decimal(1))]
        click_link(d, "3. Nhận phiếu")
        d.find_element("css selector", "form[data-drop] input[type=file]").send_keys("\n".join(str(p) for p in returns))
        click_button(d, "Tải lên")
        assert "Đã nhận 2 tệp vào 2-hop-thu" in body(d)
        d.execute_script("""
            const zone = document.querySelector('form[data-drop] .drop');
            const data = new DataTransfer();
            data.items.add(new File(['ghi chú của xã'], 'ghi chu.txt', {type: 'text/plain'}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        """)
        wait_for(d, lambda _: "Đã nhận 1 tệp vào 2-hop-thu: ghi chu.txt" in body(d), "the dropped file is received")
        assert (root / "cchc-2024" / "2-hop-thu" / "ghi chu.txt").read_text(encoding="utf-8") == "ghi chú của xã"

        # the progress bar follows a running job by itself and reloads the page when it ends
        release = threading.Event()
        held = app.extensions["cchc_jobs"].start(str(root / "cchc-2024"), "thu", lambda job: release.wait(30) and "")
        held.start(4)
        d.get(base + "/dot/cchc-2024/nhan")
        bar = d.find_element("css selector", "section.job progress")
        held(3)
        wait_for(d, lambda _: bar.get_attribute("value") == "75", "the bar moves to 3 of 4")
        assert "3/4 tệp" in body(d) and "Có thể đóng trang này" in body(d)
        release.set()
        wait_for(d, lambda _: "Đã thu và kiểm tra xong." in body(d), "the page reloads when the job ends")

        # harvest in the background: the progress bar, then the table of every commune
        click_button(d, "Thu và kiểm tra")
        wait_for(d, lambda _: "Đã thu và kiểm tra xong." in body(d), "the harvest ends and the page reloads")
        assert "3 tệp: 2 được tính" in body(d)
        table = d.find_element("id", "communes").text
        assert table.count("Đã nhận, được tính") == 2 and "Xã Hà Lĩnh" in table and "Chưa nộp" in table
        assert "Nhắc các đơn vị chưa nộp (1)" in body(d)
        d.find_element("name", "loc").send_keys("Chưa nộp")
        click_button(d, "Xem")
        rows = d.find_elements("css selector", "#communes tbody tr")
        assert [r.find_elements("tag name", "td")[1].text for r in rows] == ["Xã Hà Lĩnh"]

        # a commune's page: its file, its findings, its scores beside the maximum; typed HTML is text
        d.get(base + "/dot/cchc-2024/nhan")
        click_link(d, "Xã Hà Bắc")
        assert d.find_element("tag name", "h1").text.startswith("UBND xã Hà Bắc")
        assert XSS_SCRIPT in body(d)  # shown, as text
        assert "Phieu Ha Bac.xlsx" in body(d) and "Điểm tự chấm 100/100" in body(d)
        click_link(d, "← Tình hình các đơn vị")
        click_link(d, "Thị trấn Hà Trung")
        assert "Chưa ban hành kế hoạch đúng hạn." in body(d) and "Điểm tự chấm 99/100" in body(d)

        # appraise: the council's workbooks, filled, uploaded back, merged
        click_link(d, "4. Thẩm định")
        click_button(d, "Lập bảng thẩm định")
        assert "Đã lập 2 bảng thẩm định." in body(d)
        href = d.find_element("link text", "tải tất cả (.zip)").get_attribute("href")
        with urllib.request.urlopen(href) as response:
            blanks = zipfile.ZipFile(io.BytesIO(response.read()))
        filled = []
        for member in blanks.namelist():
            (tmp_path / member).write_bytes(blanks.read(member))
            filled.append(fill_appraisal(tmp_path / member))
        d.find_elements("css selector", "form[data-drop] input[type=file]")[0].send_keys("\n".join(map(str, filled)))
        click_button(d, "Tải lên")
        assert "Đã nhận 2 tệp vào 4-tham-dinh" in body(d)
        click_button(d, "Ghép điểm thẩm định")
        wait_for(d, lambda _: "Đã thu và kiểm tra xong." in body(d), "the appraisal is merged")
        assert "Thẩm định chưa đủ (0)" in body(d)

        # the explanation round: both communes lost points with a comment; Hà Bắc explains
        click_link(d, "Tiếp: giải trình, thẩm định lần 2 →")
        assert d.find_element("tag name", "h1").text == "5. Giải trình và thẩm định lần 2"
        click_button(d, "Lập bảng giải trình")
        assert "Đã lập 2 bảng giải trình và nội dung tin nhắn gửi các đơn vị: T01, T02." in body(d)
        assert "Các đơn vị cần giải trình (2) · đã gửi lại 0" in body(d)
        copy = d.find_element("css selector", "details.message[open] .copy-button")
        copy.click()
        wait_for(d, lambda _: copy.text == "Đã sao chép", "the copy button answers")
        message = d.find_element("id", "giai-trinh-1").get_attribute("value")
        assert "giai-trinh_T01_xa-ha-bac_2024.xlsx" in message and "trước ngày 10/01/2025" in message
        href = d.find_element("css selector", "#explanations tbody tr:first-child a[href*='giai-trinh_T01']").get_attribute("href")
        with urllib.request.urlopen(href) as response:
            (tmp_path / "giai-trinh.xlsx").write_bytes(response.read())
        first = RUBRIC.scorable()[0]
        reply = fill_explanation(tmp_path / "giai-trinh.xlsx", tmp_path / "Giai trinh Ha Bac.xlsx",
                                 {first.code: ("Kế hoạch đã ban hành đúng hạn.", "Kế hoạch số 12/KH-UBND")})
        forms = d.find_elements("css selector", "form[data-drop]")
        forms[0].find_element("css selector", "input[type=file]").send_keys(str(reply))
        navigate_by(d, forms[0].find_element("css selector", "button"))
        assert "Đã nhận 1 tệp vào 2-hop-thu: Giai trinh Ha Bac.xlsx" in body(d) and "chưa được tính" in body(d)
        click_button(d, "Thu lại")
        wait_for(d, lambda _: "Đã thu và kiểm tra xong." in body(d), "the explanations are harvested")
        assert "Các đơn vị cần giải trình (2) · đã gửi lại 1" in body(d)
        rows = [r.text for r in d.find_elements("css selector", "#explanations tbody tr")]
        assert "Đã gửi lại" in rows[0] and "Chưa gửi lại" in rows[1] and rows[1].startswith("T02")

        # round 2: the council restores Hà Bắc's half point
        click_button(d, "Lập bảng thẩm định lần 2")
        assert "Đã lập 2 bảng thẩm định lần 2." in body(d)
        href = d.find_element("link text", "tải tất cả bảng lần 2 (.zip)").get_attribute("href")
        with urllib.request.urlopen(href) as response:
            second = zipfile.ZipFile(io.BytesIO(response.read()))
        name = next(n for n in second.namelist() if "_T01_" in n)
        (tmp_path / name).write_bytes(second.read(name))
        fill_round2(tmp_path / name, {("T01", first.code): (first.max, "Chấp nhận giải trình.")})
        forms = d.find_elements("css selector", "form[data-drop]")
        forms[1].find_element("css selector", "input[type=file]").send_keys(str(tmp_path / name))
        navigate_by(d, forms[1].find_element("css selector", "button"))
        assert f"Đã nhận 1 tệp vào 4-tham-dinh: {name}" in body(d)
        click_button(d, "Ghép điểm thẩm định lần 2")
        wait_for(d, lambda _: "Đã thu và kiểm tra xong." in body(d), "round 2 is merged")
        changed = d.find_element("id", "round2").text
        assert "Xã Hà Bắc" in changed and "Kế hoạch đã ban hành đúng hạn." in changed and "Chấp nhận giải trình." in changed
        click_link(d, "Xã Hà Bắc")
        history = d.find_element("id", "history").text
        assert "Kế hoạch ban hành muộn." in history and "Kế hoạch đã ban hành đúng hạn." in history
        assert "Chấp nhận giải trình." in history and "Điểm thẩm định 100" in body(d)

        # results: the official ranking (round 2 over round 1), the chart, the reports, the downloads
        click_link(d, "6. Kết quả")
        assert "Xếp hạng chính thức theo điểm thẩm định." in body(d)
        ranking = d.find_element("id", "ranking").text
        assert "UBND xã Hà Bắc 100 100 1 Xuất sắc" in ranking and "UBND thị trấn Hà Trung 99 99,5 2 Xuất sắc" in ranking
        assert len(d.find_elements("css selector", "figure.chart svg g.bar rect")) == 2
        click_button(d, "Lập lại Phụ lục II")
        assert "Đã lập lại bảng xếp hạng phu-luc-ii.xlsx." in body(d)
        click_button(d, "Viết báo cáo (.docx)")
        assert "Đã viết 2 báo cáo của đơn vị và báo cáo tổng hợp." in body(d)
        d.find_element("link text", "phu-luc-ii.xlsx").click()  # a download: the page stays
        target = downloads / "phu-luc-ii.xlsx"
        wait_for(d, lambda _: target.is_file() and target.stat().st_size > 0, "the download arrives")
        time.sleep(0.2)  # Chromium renames .crdownload into place; let it finish the rename
        from openpyxl import load_workbook

        sheet = load_workbook(target).worksheets[0]
        values = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        assert "UBND xã Hà Bắc" in values and "UBND thị trấn Hà Trung" in values

        # nothing the page did broke its own Content-Security-Policy
        problems = [e for e in d.get_log("browser") if "Content Security Policy" in e["message"]]
        assert not problems, problems
