"""Issue 16, sections 1-2: the conversation with the communes after a harvest.

Templates are generated, filled as clerks fill them (some with mistakes), and delivered as the
office receives them: `.eml` messages with a signed scan attached, a `.mbox` mailbox holding two
messages, a PDF alone. The harvest writes one message per commune (`phan-hoi/`), the mail-merge
table (`phan-hoi.csv`), keeps the PDFs as attachments and shows who sent what and when.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cchc_xls.profile import OfficeProfile
from cchc_xls.cli import main
from cchc_xls.errors import DeadlineError
from cchc_xls.feedback import build_feedback, for_commune, parse_deadline
from cchc_xls.findings import COUNCIL_ONLY, Finding
from cchc_xls.generate import generate_templates
from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import load_rubric
from cchc_xls.units import load_units, parse_period

from support import CHI_MINH_SCORES, fill_workbook

HD = "hai-duong-2022"
RUBRIC = load_rubric(HD)
PERIOD = parse_period("2024")
LEAF_MAX = {n.code: n.max for n in RUBRIC.leaves() if n.self_scored}
UNITS_CSV = """code,name,kind,Thư điện tử,Điện thoại/Zalo
30512,Xã Chí Minh,xã,vanphong@chiminh.gov.vn,0912345678
30513,Xã Thanh Xá,xã,thanhxa@gmail.com,
30514,Thị trấn Thanh Miện,thị trấn,,0987 654 321
30515,Xã Tứ Kỳ,xã,tuky@tuky.gov.vn,0911000111
30516,Xã Hồng Phong,xã,,
"""
DEADLINE = date(2024, 12, 15)
OFFICE = "Phòng Nội vụ huyện Tứ Kỳ"
VN = timezone.utc  # dates in the messages are compared in this machine's zone through astimezone()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pdf_bytes(text: str) -> bytes:
    """A small valid-looking PDF (a signed scan stands in for the real thing)."""
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Title (" + text.encode("ascii") + b") >>\n"
            b"endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def message(sender: str, when: datetime, subject: str, files: dict[str, bytes]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "noivu@tuky.gov.vn"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(when)
    mail.set_content("Kính gửi Phòng Nội vụ, đơn vị gửi phiếu tự đánh giá và bản ký số.")
    for name, data in files.items():
        if name.endswith(".pdf"):
            mail.add_attachment(data, maintype="application", subtype="pdf", filename=name)
        else:
            mail.add_attachment(data, maintype="application",
                                subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=name)
    return mail


def mbox_bytes(messages: list[EmailMessage]) -> bytes:
    """A Thunderbird-style mbox: each message after a "From " line, "From " in bodies escaped."""
    out = io.BytesIO()
    for mail in messages:
        out.write(b"From - Tue Nov 19 09:30:00 2024\n")
        body = bytes(mail).replace(b"\r\n", b"\n")
        body = re.sub(rb"(?m)^From ", b">From ", body)
        out.write(body.rstrip(b"\n") + b"\n\n")
    return out.getvalue()


def local(when: datetime) -> str:
    return when.astimezone().strftime("%d/%m/%Y %H:%M")


CM_SENT = datetime(2024, 11, 19, 9, 30, tzinfo=timezone.utc)
TX_SENT = datetime(2024, 11, 20, 14, 5, tzinfo=timezone.utc)
TM_SENT = datetime(2024, 11, 21, 8, 15, tzinfo=timezone.utc)
CM_SENDER = "Văn phòng UBND xã Chí Minh <vanphong@chiminh.gov.vn>"


@dataclass
class Conversation:
    inbox: Path
    out: Path
    outputs: object
    data: dict
    before: dict
    templates: dict

    def message(self, code: str) -> str:
        [path] = (self.out / "phan-hoi").glob(f"{code}_*.txt")
        return path.read_text(encoding="utf-8")

    def file(self, suffix: str) -> dict:
        [found] = [f for f in self.data["files"] if f["path"].endswith(suffix)]
        return found

    def unit(self, code: str) -> dict:
        return next(u for u in self.data["units"] if u["code"] == code)


@pytest.fixture(scope="module")
def conversation(tmp_path_factory) -> Conversation:
    root = tmp_path_factory.mktemp("conversation")
    (root / "don-vi.csv").write_text(UNITS_CSV, encoding="utf-8")
    units = load_units(root / "don-vi.csv")
    generated = generate_templates(RUBRIC, units, PERIOD, root / "mau", office=OFFICE, deadline="15/12/2024")
    templates = {u.code: path for u, path in zip(units, generated.files)}
    filled = root / "filled"
    filled.mkdir()
    # Chí Minh: a score above its maximum (1.7 is worth 3) and a word instead of a number.
    cm = fill_workbook(templates["30512"], {**CHI_MINH_SCORES, "1.7": "4", "1.2": "text:Đạt"},
                       out=filled / "Phieu tu cham Chi Minh.xlsx")
    # Thanh Xá: full marks, every criterion with its evidence: nothing to fix.
    tx_scores = {code: str(maximum) for code, maximum in LEAF_MAX.items()}
    tx = fill_workbook(templates["30513"], tx_scores, evidence={c: f"Kế hoạch số {i}/KH-UBND ngày 15/01/2024"
                                                              for i, c in enumerate(tx_scores, start=1)},
                       out=filled / "30513_xa-thanh-xa_CCHC_2024.xlsx")
    # Thanh Miện: scores without evidence (warnings), one negative score (an error), and a document
    # dated after the period (a suggestion for the council, never in the commune's message).
    tm = fill_workbook(templates["30514"], {**CHI_MINH_SCORES, "2.1": "-1"},
                       evidence={"1.2": "Quyết định số 15/QĐ-UBND ngày 10/03/2025 về kiểm tra CCHC"},
                       out=filled / "TT Thanh Mien.xlsx")

    inbox = root / "inbox"
    inbox.mkdir()
    (inbox / "Phieu CCHC xa Chi Minh.eml").write_bytes(bytes(message(
        CM_SENDER, CM_SENT, "Gửi phiếu tự đánh giá CCHC 2024",
        {cm.name: cm.read_bytes(), "Bản ký số.pdf": pdf_bytes("Chi Minh")})))
    (inbox / "Thunderbird export.mbox").write_bytes(mbox_bytes([
        message("Xã Thanh Xá <thanhxa@gmail.com>", TX_SENT, "Phiếu CCHC xã Thanh Xá",
                {tx.name: tx.read_bytes(), "scan.pdf": pdf_bytes("Thanh Xa")}),
        message("vp.thanhmien@gmail.com", TM_SENT, "TT Thanh Miện gửi phiếu",
                {tm.name: tm.read_bytes(), "Công văn gửi kèm.pdf": pdf_bytes("Thanh Mien")}),
    ]))
    # Hồng Phong sent only its signed scan, named with its name: an attachment, and a reminder.
    (inbox / "Xa Hong Phong - ban ky.pdf").write_bytes(pdf_bytes("Hong Phong"))
    before = {p: sha256(p) for p in inbox.rglob("*") if p.is_file()}
    out = root / "ket-qua"
    outputs = run_harvest(RUBRIC, [inbox], units, out, workers=1, deadline=DEADLINE, profile=OfficeProfile(office=OFFICE))
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    return Conversation(inbox, out, outputs, data, before, templates)


def test_the_inbox_is_untouched(conversation):
    assert {p: sha256(p) for p in conversation.inbox.rglob("*") if p.is_file()} == conversation.before


def test_every_commune_gets_one_message_named_by_code_and_slug(conversation):
    names = sorted(p.name for p in (conversation.out / "phan-hoi").iterdir())
    assert names == ["30512_xa-chi-minh.txt", "30513_xa-thanh-xa.txt", "30514_thi-tran-thanh-mien.txt",
                     "30515_xa-tu-ky.txt", "30516_xa-hong-phong.txt"]
    assert not list(conversation.out.glob("phan-hoi.part")) and not list(conversation.out.glob("phan-hoi.old"))


def _cells(text: str) -> list[str]:
    """Every cell a message names: one per problem line, or all of a grouped line's cells."""
    cells = []
    for line in text.splitlines():
        grouped = re.search(r"có cùng một vấn đề \(([^)]*)\)", line)
        if grouped:
            cells.extend(grouped.group(1).split(", "))
        else:
            cells.extend(re.findall(r"Ô ([A-Z]+[0-9]+), trang “Phụ lục I”", line))
    return cells


def _grouped_cells(text: str) -> set[str]:
    return {c for line in text.splitlines() for m in [re.search(r"có cùng một vấn đề \(([^)]*)\)", line)] if m
            for c in m.group(1).split(", ")}


def _expected_cells(conversation, code: str) -> list[str]:
    counted = conversation.unit(code)["file"]
    [file] = [f for f in conversation.data["files"] if f["path"] == counted]
    return [f["cell"] for f in file["findings"]
            if f["severity"] in ("error", "warning") and f["cell"] and f["code"] not in COUNCIL_ONLY]


@pytest.mark.parametrize("code", ["30512", "30513", "30514"])
def test_the_feedback_names_its_own_cells_errors_first(conversation, code):
    text = conversation.message(code)
    expected = _expected_cells(conversation, code)
    assert sorted(_cells(text)) == sorted(expected)
    [file] = [f for f in conversation.data["files"] if f["path"] == conversation.unit(code)["file"]]
    for finding in file["findings"]:
        if finding["severity"] in ("error", "warning") and finding["code"] not in COUNCIL_ONLY:
            assert finding["message"] in text or finding["cell"] in _grouped_cells(text)
    if "LỖI (phải sửa)" in text and "CẦN XEM LẠI" in text:
        assert text.index("LỖI (phải sửa)") < text.index("CẦN XEM LẠI")
        errors = [f["cell"] for f in file["findings"] if f["severity"] == "error" and f["cell"]]
        last_error = max(text.index(f"Ô {c},") for c in errors)
        assert last_error < text.index("CẦN XEM LẠI")


def test_chi_minh_is_told_what_arrived_what_counts_what_to_fix_and_the_deadline(conversation):
    text = conversation.message("30512")
    assert text.startswith("Tiêu đề: [CCHC 2024] Kết quả kiểm tra phiếu tự đánh giá")
    assert "Kính gửi UBND xã Chí Minh," in text
    assert f"- Phieu tu cham Chi Minh.xlsx, nhận lúc {local(CM_SENT)}, người gửi {CM_SENDER}: được tính." in text
    assert f"- Bản ký số.pdf, nhận lúc {local(CM_SENT)}, người gửi {CM_SENDER}: tài liệu kèm theo (tệp PDF)" in text
    assert "Tổng điểm tự đánh giá (do phần mềm tính lại từ từng tiêu chí): 73,1 điểm" in text
    assert "trước ngày 15/12/2024 cho Phòng Nội vụ huyện Tứ Kỳ" in text
    errors = text.split("LỖI (phải sửa):")[1].split("\n\n")[0]
    assert "1.7" in errors and "Đạt" in errors and errors.count("\n") == 2  # two errors, numbered 1. and 2.


def test_a_clean_return_is_told_it_need_not_be_sent_again(conversation):
    text = conversation.message("30513")
    assert "Phiếu hợp lệ, không có lỗi cần sửa" in text and "không cần gửi lại" in text
    assert "LỖI" not in text and "CẦN XEM LẠI" not in text and _cells(text) == []
    assert f"nhận lúc {local(TX_SENT)}, người gửi Xã Thanh Xá <thanhxa@gmail.com>" in text


def test_the_commune_that_sent_nothing_gets_a_reminder(conversation):
    text = conversation.message("30515")
    assert text.startswith("Tiêu đề: [CCHC 2024] Đề nghị gửi phiếu tự đánh giá Chỉ số CCHC - UBND xã Tứ Kỳ")
    assert "chưa nhận được phiếu tự đánh giá" in text and "năm 2024" in text
    assert "30515_xa-tu-ky_CCHC_2024.xlsx" in text and "trước ngày 15/12/2024" in text
    assert "được tính" not in text


def test_a_lone_signed_scan_is_its_communes_attachment_and_the_commune_is_reminded(conversation):
    file = conversation.file("Xa Hong Phong - ban ky.pdf")
    assert file["status"] == "attachment" and file["unit_code"] == "30516"
    assert [f["code"] for f in file["findings"]] == ["file.attachment"]
    assert conversation.unit("30516")["status"] == "missing"
    text = conversation.message("30516")
    assert "Đề nghị gửi phiếu" in text
    assert "- Xa Hong Phong - ban ky.pdf, nhận lúc" in text and "tài liệu kèm theo (tệp PDF)" in text
    assert "chưa có phiếu tự đánh giá" in text


def test_the_pdfs_in_the_messages_are_attachments_of_the_commune_that_sent_them(conversation):
    expected = {"Bản ký số.pdf": "30512", "scan.pdf": "30513", "Công văn gửi kèm.pdf": "30514"}
    for name, code in expected.items():
        file = conversation.file(name)
        assert file["status"] == "attachment" and file["unit_code"] == code, file
        assert [f["code"] for f in file["findings"]] == ["file.attachment"]
        assert file["findings"][0]["severity"] == "info"
        assert file["path"] in conversation.unit(code)["attachments"]
    assert conversation.data["summary"]["attachments"] == 4
    assert conversation.data["summary"]["rejected"] == 0
    assert not any(f["severity"] == "error" for f in conversation.data["files"]
                   for f in f["findings"] if f["code"].startswith("file."))


def test_harvest_json_keeps_the_sender_and_the_date_of_each_file(conversation):
    cm = conversation.file("Phieu tu cham Chi Minh.xlsx")
    assert cm["sender"] == CM_SENDER
    assert datetime.fromisoformat(cm["received_at"]) == CM_SENT
    tm = conversation.file("TT Thanh Mien.xlsx")
    assert tm["path"].endswith("Thunderbird export.mbox › thư 2 › TT Thanh Mien.xlsx")
    assert tm["sender"] == "vp.thanhmien@gmail.com" and datetime.fromisoformat(tm["received_at"]) == TM_SENT
    mbox = conversation.file("Thunderbird export.mbox")
    assert mbox["status"] == "skipped" and [f["code"] for f in mbox["findings"]] == ["mail.read"]
    assert "2 thư" in mbox["findings"][0]["message"] and "4 tệp đính kèm" in mbox["findings"][0]["message"]
    lone = conversation.file("Xa Hong Phong - ban ky.pdf")
    assert lone["sender"] is None
    mtime = (conversation.inbox / "Xa Hong Phong - ban ky.pdf").stat().st_mtime
    assert datetime.fromisoformat(lone["received_at"]).timestamp() == pytest.approx(mtime)


def test_tien_do_shows_when_and_from_whom_and_the_attachments(conversation):
    sheet = load_workbook(conversation.out / "tong-hop.xlsx")["Tiến độ"]
    header = [c.value for c in sheet[4]]
    assert header[9:12] == ["Thời gian nhận", "Người gửi", "Tài liệu kèm theo"]
    rows = {r[1].value: [c.value for c in r] for r in sheet.iter_rows(min_row=5) if r[1].value}
    assert rows["30512"][9] == local(CM_SENT) and rows["30512"][10] == CM_SENDER
    assert rows["30512"][11] == "Bản ký số.pdf"
    assert rows["30514"][9] == local(TM_SENT) and rows["30514"][10] == "vp.thanhmien@gmail.com"
    assert rows["30516"][6] == "Chưa nộp" and rows["30516"][11] == "Xa Hong Phong - ban ky.pdf"
    assert rows["30515"][9] in ("", None) and rows["30515"][11] in ("", None)


def test_the_mail_merge_table_matches_the_messages(conversation):
    raw = (conversation.out / "phan-hoi.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its BOM
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0])[:7] == ["code", "name", "email", "phone", "status", "problems", "message_file"]
    by_code = {r["code"]: r for r in rows}
    assert list(by_code) == ["30512", "30513", "30514", "30515", "30516"]
    assert by_code["30512"]["email"] == "vanphong@chiminh.gov.vn" and by_code["30512"]["phone"] == "0912345678"
    assert by_code["30514"]["phone"] == "0987 654 321" and by_code["30514"]["email"] == ""
    assert {c: r["status"] for c, r in by_code.items()} == {
        "30512": "submitted", "30513": "submitted", "30514": "submitted", "30515": "missing", "30516": "missing"}
    for code, row in by_code.items():
        text = (conversation.out / row["message_file"]).read_text(encoding="utf-8")
        assert row["message"].replace("\r\n", "\n") == text
        assert int(row["problems"]) == len(_cells(text)) == len(_expected_cells(conversation, code)) \
            if conversation.unit(code)["status"] == "submitted" else int(row["problems"]) == 0
    assert int(by_code["30512"]["problems"]) >= 2 and by_code["30513"]["problems"] == "0"


def test_council_suggestions_stay_out_of_the_communes_message(conversation):
    file = conversation.file("TT Thanh Mien.xlsx")
    [suggestion] = [f for f in file["findings"] if f["code"] == "evidence.date_after_period"]
    assert suggestion["cell"] and "10/03/2025" in suggestion["message"]  # read for the council, with its cell
    text = conversation.message("30514")
    assert suggestion["message"] not in text and "10/03/2025" not in text and "Hội đồng" not in text
    assert "chưa ghi tài liệu kiểm chứng" in text  # the return's own evidence check stays
    assert for_commune(Finding("evidence.missing", "warning", "x")) and not for_commune(
        Finding("evidence.date_after_period", "warning", "x"))


def test_without_a_deadline_the_message_asks_for_it_as_soon_as_possible(conversation):
    messages = {m.unit.code: m for m in build_feedback(conversation.outputs.harvest)}
    assert "gửi lại sớm nhất có thể cho Phòng Nội vụ" in messages["30512"].text
    assert "sớm nhất có thể" in messages["30515"].text and messages["30515"].reminder
    assert not messages["30512"].reminder


@pytest.mark.parametrize("text, expected", [
    ("15/12/2024", date(2024, 12, 15)), ("5-1-2025", date(2025, 1, 5)), ("2024-12-15", date(2024, 12, 15)),
    ("", None), (None, None),
])
def test_deadlines_are_read_as_dates(text, expected):
    assert parse_deadline(text) == expected


@pytest.mark.parametrize("text", ["31/02/2024", "15/12", "ngày mai", "12/15/2024"])
def test_a_deadline_that_is_not_a_date_is_refused(text):
    with pytest.raises(DeadlineError, match="ngày/tháng/năm"):
        parse_deadline(text)


def test_cli_harvest_takes_a_deadline_and_writes_the_feedback(conversation, tmp_path):
    units = tmp_path / "don-vi.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["harvest", HD, str(conversation.inbox), "--units", str(units), "--out",
                                       str(out), "--deadline", "20/12/2024", "--office", OFFICE, "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["outputs"]["feedback"] == str(out / "phan-hoi")
    assert printed["outputs"]["feedback_csv"] == str(out / "phan-hoi.csv")
    assert "trước ngày 20/12/2024" in (out / "phan-hoi" / "30515_xa-tu-ky.txt").read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["harvest", HD, str(conversation.inbox), "--units", str(units), "--out",
                                    str(tmp_path / "bad"), "--deadline", "30/02/2024"])
    assert bad.exit_code == 1 and "30/02/2024" in bad.output and not (tmp_path / "bad").exists()


def test_a_second_harvest_replaces_the_feedback_folder_whole(conversation, tmp_path):
    out = tmp_path / "out"
    units = load_units_from_text(tmp_path)
    run_harvest(RUBRIC, [conversation.inbox], units, out, workers=1)
    (out / "phan-hoi" / "99999_cu.txt").write_text("thư cũ", encoding="utf-8")
    run_harvest(RUBRIC, [conversation.inbox / "Phieu CCHC xa Chi Minh.eml"], units, out, workers=1)
    names = sorted(p.name for p in (out / "phan-hoi").iterdir())
    assert "99999_cu.txt" not in names and len(names) == 5
    assert "Đề nghị gửi phiếu" in (out / "phan-hoi" / "30513_xa-thanh-xa.txt").read_text(encoding="utf-8")


def load_units_from_text(tmp_path: Path):
    path = tmp_path / "don-vi.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    return load_units(path)


def test_cli_harvest_prints_the_units_files_warnings_and_goes_on(conversation, tmp_path):
    units = tmp_path / "don-vi.csv"
    units.write_text(UNITS_CSV + "30517,Xã Chí Minh,xã,,\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["harvest", HD, str(conversation.inbox), "--units", str(units), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Cảnh báo: Dòng 7: đơn vị “Xã Chí Minh” (mã 30517) trùng tên với đơn vị mã 30512 ở dòng 2" in result.output
    assert (tmp_path / "out" / "phan-hoi" / "30517_xa-chi-minh.txt").is_file()
    assert "Thư phản hồi, nhắc nộp gửi từng đơn vị" in result.output


def test_a_rejected_return_gets_a_reminder_that_says_why(tmp_path):
    from cchc_xls.harvest import harvest
    from support import make_template

    units = load_units_from_text(tmp_path)
    blank = make_template(tmp_path, unit=units[0], name="Phieu CCHC.xlsx")  # sent back never filled
    result = harvest(RUBRIC, [blank], units, period=PERIOD, workers=1)
    assert next(u for u in result.units if u.unit.code == "30512").status == "rejected"
    [message] = [m for m in build_feedback(result, deadline=DEADLINE) if m.unit.code == "30512"]
    assert message.reminder and message.status == "rejected" and message.problems == 1
    assert "Đề nghị gửi phiếu" in message.text
    assert "- Phieu CCHC.xlsx, nhận lúc" in message.text and "không dùng được." in message.text
    assert "    + Trang “Phụ lục I”: Phiếu chưa được điền điểm nào" in message.text
    assert "chưa dùng được (lý do ở trên)" in message.text and "trước ngày 15/12/2024" in message.text


def test_the_feedback_folder_is_written_whole_or_not_at_all(conversation, tmp_path, monkeypatch):
    from cchc_xls import feedback

    out = tmp_path / "out"
    units = load_units_from_text(tmp_path)
    run_harvest(RUBRIC, [conversation.inbox], units, out, workers=1, deadline=DEADLINE)
    before = {p.name: p.read_bytes() for p in (out / "phan-hoi").iterdir()}
    csv_before = (out / "phan-hoi.csv").read_bytes()
    written = []
    real_write = Path.write_text

    def failing_write(path, text, *args, **kwargs):  # the disk fills up at the third message
        if path.parent.name == "phan-hoi.part":
            written.append(path.name)
            if len(written) == 3:
                raise OSError(28, "No space left on device")
        return real_write(path, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(Exception, match="No space left|không ghi được|Không ghi được"):
        feedback.write_feedback(conversation.outputs.harvest, out)
    monkeypatch.undo()
    assert len(written) == 3
    assert {p.name: p.read_bytes() for p in (out / "phan-hoi").iterdir()} == before  # the last whole folder
    assert (out / "phan-hoi.csv").read_bytes() == csv_before
    assert not (out / "phan-hoi.part").exists() and not (out / "phan-hoi.old").exists()


def test_a_folder_named_phan_hoi_in_an_input_folder_used_as_output_is_never_replaced(conversation, tmp_path):
    from cchc_xls.errors import OutputError

    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    (inbox / "Phieu CCHC xa Chi Minh.eml").write_bytes((conversation.inbox / "Phieu CCHC xa Chi Minh.eml").read_bytes())
    (inbox / "phan-hoi").mkdir()
    (inbox / "phan-hoi" / "thu cua xa.txt").write_text("thư xã gửi, không do cchc ghi", encoding="utf-8")
    units = load_units_from_text(tmp_path)
    with pytest.raises(OutputError, match="phan-hoi"):
        run_harvest(RUBRIC, [inbox], units, inbox, workers=1)
    assert (inbox / "phan-hoi" / "thu cua xa.txt").read_text(encoding="utf-8") == "thư xã gửi, không do cchc ghi"
    # once the office's folder is elsewhere, the harvest into its own folder writes and re-writes it
    (inbox / "phan-hoi" / "thu cua xa.txt").unlink()
    (inbox / "phan-hoi").rmdir()
    first = run_harvest(RUBRIC, [inbox], units, inbox, workers=1)
    second = run_harvest(RUBRIC, [inbox], units, inbox, workers=1)
    assert (inbox / "phan-hoi" / "30512_xa-chi-minh.txt").is_file()
    assert [f.path for f in second.harvest.files] == [f.path for f in first.harvest.files]  # never read back
    assert not any("phan-hoi" in f.path for f in second.harvest.files)


def test_a_problem_found_in_many_cells_is_one_line_naming_every_cell():
    """A return with no evidence at all is one thing to fix, said once with its cells."""
    from cchc_xls.feedback import GROUP_OVER, problem_lines
    from cchc_xls.findings import make

    many = [make("evidence.missing", file="f.xlsx", sheet="Phụ lục I", cell=f"F{20 + i}", node=f"1.{i}",
                 code=f"1.{i}", value="1") for i in range(GROUP_OVER + 3)]
    few = [make("explanation.missing", file="f.xlsx", sheet="Phụ lục I", cell="G9", node="2.1", code="2.1",
                value="1", max="2")]
    lines = problem_lines(many[:2] + few + many[2:])
    assert len(lines) == 2
    assert lines[0].startswith(f"{GROUP_OVER + 3} ô trên trang “Phụ lục I” có cùng một vấn đề")
    assert all(f"F{20 + i}" in lines[0] for i in range(GROUP_OVER + 3))
    assert "chưa ghi tài liệu kiểm chứng" in lines[0]
    assert lines[1].startswith("Ô G9, trang “Phụ lục I”")
    assert len(problem_lines(many[:GROUP_OVER])) == GROUP_OVER  # up to the limit, one line each
