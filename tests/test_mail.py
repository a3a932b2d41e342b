"""E-mail files as inputs (`.eml`, `.mbox`): attachments harvested like any file, bounded, their
names decoded and sanitised, nothing written outside the staging and output folders."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from datetime import datetime, timezone
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from cchc_xls import mail
from cchc_xls.harvest import harvest
from cchc_xls.mail import read_eml, sanitise_name
from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

from support import CHI_MINH_SCORES, fill_workbook, make_template

RUBRIC = load_rubric("hai-duong-2022")
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")
UNITS = [CHI_MINH, THANH_XA]
WHEN = datetime(2024, 11, 19, 2, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("mail-returns")
    cm = fill_workbook(make_template(root, unit=CHI_MINH), CHI_MINH_SCORES, out=root / "cm.xlsx")
    tx = fill_workbook(make_template(root, unit=THANH_XA), CHI_MINH_SCORES, out=root / "tx.xlsx")
    return {"30512": cm.read_bytes(), "30513": tx.read_bytes()}


def eml(attachments: dict[str, bytes], sender="Xã Chí Minh <vp@chiminh.vn>", when=WHEN) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["Subject"] = "Gửi phiếu"
    message["Date"] = format_datetime(when)
    message.set_content("Kính gửi Phòng Nội vụ")
    for name, data in attachments.items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(message)


def run(tmp_path: Path, *inputs: Path):
    out = tmp_path / "out"
    run_harvest(RUBRIC, list(inputs), UNITS, out, period=parse_period("2024"), workers=1)
    return json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# ---------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize("raw, expected", [
    ("../../../etc/cron.d/evil.xlsx", "evil.xlsx"),
    ("..\\..\\Windows\\System32\\x.pdf", "x.pdf"),
    ("/abs/path/Phiếu.xlsx", "Phiếu.xlsx"),
    ("Phie\u0302\u0301u xa\u0303.xlsx", "Phiếu xã.xlsx"),  # NFD as macOS writes it -> NFC
    ("bad\x00name\x1b[31m\r\n.pdf", "badname[31m.pdf"),
    ("a\u202egnp.exe", "agnp.exe"),  # a right-to-left override hiding the real extension
    ("..", "tep-dinh-kem"), ("", "tep-dinh-kem"), (None, "tep-dinh-kem"),
    ("x" * 400 + ".xlsx", "x" * 145 + ".xlsx"),
])
def test_attachment_names_are_reduced_to_a_plain_base_name(raw, expected):
    assert sanitise_name(raw) == expected


def test_encoded_vietnamese_names_are_decoded_rfc2047_and_rfc2231():
    name = "Phiếu tự chấm xã Chí Minh.xlsx"
    encoded = base64.b64encode(name.encode("utf-8")).decode("ascii")
    rfc2047 = (f"From: a@b.vn\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
               f"--B\nContent-Type: text/plain\n\nx\n--B\nContent-Type: application/octet-stream\n"
               f"Content-Disposition: attachment; filename=\"=?UTF-8?B?{encoded}?=\"\n"
               f"Content-Transfer-Encoding: base64\n\nAAAA\n--B--\n").encode("ascii")
    rfc2231 = eml({name: b"\0\0\0"})  # EmailMessage writes non-ASCII names as filename*=utf-8''...
    assert b"filename*" in rfc2231
    for raw in (rfc2047, rfc2231):
        message = mail.read_message(raw)
        assert [a.name for a in message.attachments] == [name]


# ---------------------------------------------------------------------------------------------
# Harvested like any file


def test_hostile_attachment_names_never_leave_the_staging_and_output_folders(tmp_path, filled):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "thu.eml").write_bytes(eml({
        "../../../../escaped.xlsx": filled["30512"],
        "..\\..\\escaped2.pdf": b"%PDF-1.4\n%1",
        "x\x07\x1b\u202e.pdf": b"%PDF-1.4\n%2",
        "/tmp/absolute.pdf": b"%PDF-1.4\n%3",
    }))
    # where the names would land if they were used as paths from the staging folder
    escapes = [Path("/escaped.xlsx"), Path("/tmp/escaped.xlsx"), Path("/tmp/escaped2.pdf"), Path("/tmp/absolute.pdf"),
               tmp_path.parent / "escaped.xlsx", tmp_path / "escaped.xlsx"]
    existed = {p: p.exists() for p in escapes}
    before = files_under(tmp_path)
    data = run(tmp_path, inbox)
    created = files_under(tmp_path) - before
    out = tmp_path / "out"
    assert all(out in p.parents or p == out for p in created), sorted(created)
    assert {p: p.exists() for p in escapes} == existed
    paths = [f["path"] for f in data["files"]]
    assert paths[0] == str(inbox / "thu.eml")
    shown = [p.split(" › ", 1)[1] for p in paths[1:]]
    assert shown == ["escaped.xlsx", "escaped2.pdf", "x.pdf", "absolute.pdf"]
    assert all(c.isprintable() for p in paths for c in p)
    by_name = {f["path"].split(" › ")[-1]: f for f in data["files"]}
    # the workbook inside is read and counted for its commune, the PDFs are its attachments
    assert by_name["escaped.xlsx"]["status"] == "accepted" and by_name["escaped.xlsx"]["unit_code"] == "30512"
    assert {by_name[n]["status"] for n in ("escaped2.pdf", "x.pdf", "absolute.pdf")} == {"attachment"}
    assert {by_name[n]["unit_code"] for n in ("escaped2.pdf", "x.pdf", "absolute.pdf")} == {"30512"}
    received = sorted(p.name for p in (out / "received").iterdir())
    assert all("/" not in n and ".." not in n.split("_", 1)[1] for n in received)


def test_an_eml_that_is_not_a_message_is_a_finding_and_the_batch_goes_on(tmp_path, filled):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "random.eml").write_bytes(os.urandom(3000).replace(b"\n", b"") + b"\0")
    (inbox / "note.eml").write_text("Kính gửi Phòng Nội vụ, xã gửi phiếu qua Zalo.\n\nTrân trọng.", encoding="utf-8")
    (inbox / "not-a-box.mbox").write_bytes(b"PK\x03\x04 a zip, not a mailbox")
    (inbox / "cm.xlsx").write_bytes(filled["30512"])
    data = run(tmp_path, inbox)
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    for name in ("random.eml", "note.eml"):
        assert by_name[name]["status"] == "rejected"
        assert [f["code"] for f in by_name[name]["findings"]] == ["mail.not_message"]
        assert "không phải một thư điện tử" in by_name[name]["findings"][0]["message"]
    assert [f["code"] for f in by_name["not-a-box.mbox"]["findings"]] == ["mail.not_mailbox"]
    assert by_name["not-a-box.mbox"]["status"] == "rejected"
    assert by_name["cm.xlsx"]["status"] == "accepted"
    assert next(u for u in data["units"] if u["code"] == "30512")["status"] == "submitted"


def test_a_zip_attached_to_a_message_is_expanded_and_keeps_the_messages_sender_and_date(tmp_path, filled):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    archive = tmp_path / "zalo.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Phieu xa Thanh Xa.xlsx", filled["30513"])
        zf.writestr("Ban ky.pdf", b"%PDF-1.4\n")
    (inbox / "thu.eml").write_bytes(eml({"zalo.zip": archive.read_bytes()}, sender="thanhxa@gmail.com"))
    data = run(tmp_path, inbox)
    by_name = {f["path"].split(" › ")[-1]: f for f in data["files"]}
    workbook = by_name["Phieu xa Thanh Xa.xlsx"]
    assert workbook["path"] == f"{inbox / 'thu.eml'} › zalo.zip › Phieu xa Thanh Xa.xlsx"
    assert workbook["status"] == "accepted" and workbook["unit_code"] == "30513"
    assert workbook["sender"] == "thanhxa@gmail.com" and datetime.fromisoformat(workbook["received_at"]) == WHEN
    assert by_name["Ban ky.pdf"]["status"] == "attachment" and by_name["Ban ky.pdf"]["unit_code"] == "30513"


def test_a_mailbox_of_thousands_of_messages_is_read_in_bounded_time_and_memory(tmp_path, filled):
    box = tmp_path / "Inbox.mbox"
    with open(box, "wb") as handle:
        for number in range(3000):
            handle.write(b"From - Tue Nov 19 09:30:00 2024\n")
            attachments = {"cm.xlsx": filled["30512"]} if number == 2500 else {}
            handle.write(eml(attachments, sender=f"nguoi{number}@example.vn").replace(b"\r\n", b"\n") + b"\n")
    result = harvest(RUBRIC, [box], UNITS, period=parse_period("2024"), workers=1)
    files = {f.path: f for f in result.files}
    mailbox_file = files[str(box)]
    assert [f.code for f in mailbox_file.findings] == ["mail.read"]
    assert "3000 thư" in mailbox_file.findings[0].message and "1 tệp đính kèm" in mailbox_file.findings[0].message
    [workbook] = [f for f in result.files if f.path.endswith("cm.xlsx")]
    assert workbook.path == f"{box} › thư 2501 › cm.xlsx" and workbook.sender == "nguoi2500@example.vn"
    assert workbook.status == "accepted"
    assert len(result.files) == 2  # messages without attachments add nothing to the list


def test_a_mailbox_beyond_the_message_limit_is_cut_with_a_warning(tmp_path, filled, monkeypatch):
    monkeypatch.setattr(mail, "MAX_MESSAGES", 5)
    box = tmp_path / "big.mbox"
    with open(box, "wb") as handle:
        for number in range(8):
            handle.write(b"From - Tue Nov 19 09:30:00 2024\n")
            handle.write(eml({f"scan-{number}.pdf": b"%PDF-1.4\n%" + bytes([65 + number])}).replace(b"\r\n", b"\n") + b"\n")
    result = harvest(RUBRIC, [box], UNITS, workers=1)
    listed = [f.path.split(" › ")[-1] for f in result.files[1:]]
    assert listed == [f"scan-{n}.pdf" for n in range(5)]
    [finding] = result.files[0].findings
    assert finding.code == "mail.too_many_messages" and finding.severity == "warning"
    assert "hơn 5 thư" in finding.message and "5 thư đầu" in finding.message


def test_attachments_beyond_the_limit_are_cut_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(mail, "MAX_ATTACHMENTS", 3)
    message = tmp_path / "many.eml"
    message.write_bytes(eml({f"anh-{n}.jpg": b"\xff\xd8\xff" + bytes([n]) for n in range(10)}))
    result = harvest(RUBRIC, [message], UNITS, workers=1)
    assert len(result.files) == 1 + 3
    [finding] = result.files[0].findings
    assert finding.code == "mail.too_many_attachments" and "3 tệp đầu" in finding.message


def test_a_message_too_large_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(mail, "MAX_MESSAGE_BYTES", 1000)
    message = tmp_path / "huge.eml"
    message.write_bytes(eml({"scan.pdf": b"%PDF-1.4\n" + b"x" * 5000}))
    result = harvest(RUBRIC, [message], UNITS, workers=1)
    assert [f.status for f in result.files] == ["rejected"]
    assert result.files[0].findings[0].code == "mail.too_large"


def test_read_eml_gives_the_sender_and_the_date():
    message = read_eml_bytes(eml({"a.pdf": b"%PDF"}, sender="Văn phòng UBND xã Chí Minh <vp@chiminh.vn>"))
    assert message.sender == "Văn phòng UBND xã Chí Minh <vp@chiminh.vn>"
    assert message.date == WHEN and message.subject == "Gửi phiếu"
    assert [a.name for a in message.attachments] == ["a.pdf"]


def read_eml_bytes(data: bytes):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.eml"
        path.write_bytes(data)
        return read_eml(path)


def test_a_mailbox_is_never_modified(tmp_path, filled):
    box = tmp_path / "Inbox.mbox"
    box.write_bytes(b"From - x\n" + eml({"cm.xlsx": filled["30512"]}).replace(b"\r\n", b"\n"))
    digest, mtime = hashlib.sha256(box.read_bytes()).hexdigest(), box.stat().st_mtime_ns
    harvest(RUBRIC, [box], UNITS, workers=1)
    assert hashlib.sha256(box.read_bytes()).hexdigest() == digest and box.stat().st_mtime_ns == mtime


def test_a_message_without_a_date_is_received_when_its_file_was_saved(tmp_path, filled):
    message = EmailMessage()
    message["From"] = "vp@chiminh.vn"
    message["Subject"] = "phiếu"
    message.add_attachment(filled["30512"], maintype="application", subtype="octet-stream", filename="cm.xlsx")
    path = tmp_path / "no-date.eml"
    path.write_bytes(bytes(message))
    os.utime(path, (1732000000, 1732000000))
    result = harvest(RUBRIC, [path], UNITS, workers=1)
    [workbook] = [f for f in result.files if f.path.endswith("cm.xlsx")]
    assert workbook.received_at == datetime.fromtimestamp(1732000000, timezone.utc)
    assert workbook.sender == "vp@chiminh.vn" and workbook.status == "accepted"


def nested(depth: int) -> bytes:
    """A message whose MIME parts are nested `depth` deep: the parser's recursion gives up."""
    body = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(depth))
    body += b"Content-Type: application/pdf\nContent-Disposition: attachment; filename=x.pdf\n\n%PDF\n"
    body += b"".join(b"--b%d--\n" % i for i in reversed(range(depth)))
    return b"From: a@b.vn\nSubject: x\nMIME-Version: 1.0\n" + body


def test_a_message_nested_thousands_deep_is_a_finding_not_a_crash(tmp_path, filled):
    bomb = tmp_path / "long.eml"
    bomb.write_bytes(nested(3000))
    good = tmp_path / "cm.eml"
    good.write_bytes(eml({"cm.xlsx": filled["30512"]}))
    result = harvest(RUBRIC, [bomb, good], UNITS, workers=1)
    files = {f.path: f for f in result.files}
    assert files[str(bomb)].status == "rejected" and files[str(bomb)].findings[0].code == "mail.damaged"
    assert "lồng nhau quá sâu" in files[str(bomb)].findings[0].message
    assert next(u for u in result.units if u.unit.code == "30512").status == "submitted"


def test_a_mailbox_skips_the_messages_it_cannot_read_and_reads_the_others(tmp_path, filled, monkeypatch):
    box = tmp_path / "Inbox.mbox"
    big = eml({"big.pdf": b"%PDF-1.4\n" + b"x" * 300_000})
    with open(box, "wb") as handle:
        for data in (eml({"cm.xlsx": filled["30512"]}), nested(3000), big, eml({"tx.xlsx": filled["30513"]})):
            handle.write(b"From - Tue Nov 19 09:30:00 2024\n" + data.replace(b"\r\n", b"\n") + b"\n")
    monkeypatch.setattr(mail, "MAX_MESSAGE_BYTES", 250_000)  # above the nested message, below the big one
    assert len(filled["30512"]) * 1.4 < 250_000
    result = harvest(RUBRIC, [box], UNITS, workers=1)
    [finding] = result.files[0].findings
    assert finding.code == "mail.messages_skipped" and finding.severity == "warning"
    assert "bỏ qua 2 thư" in finding.message and "thư 2: các phần của thư lồng nhau quá sâu" in finding.message
    assert "thư 3: lớn hơn" in finding.message
    assert [f.path.split(" › ", 1)[1] for f in result.files[1:]] == ["thư 1 › cm.xlsx", "thư 4 › tx.xlsx"]
    assert {u.unit.code: u.status for u in result.units} == {"30512": "submitted", "30513": "submitted"}


def test_a_damaged_return_in_a_communes_message_is_reported_to_that_commune(tmp_path, filled):
    from cchc_xls.feedback import build_feedback

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    truncated = filled["30513"][: len(filled["30513"]) // 2]
    # Thanh Xá's e-mail: its return cut in half by a download, with a signed scan naming the commune
    (inbox / "thanh-xa.eml").write_bytes(eml({"Phieu CCHC.xlsx": truncated, "30513 ban ky.pdf": b"%PDF-1.4\n"},
                                             sender="thanhxa@gmail.com"))
    (inbox / "cm.xlsx").write_bytes(filled["30512"])
    (inbox / "hong.xlsx").write_bytes(truncated[:-100])  # loose in the office's folder: nobody's for sure
    result = harvest(RUBRIC, [inbox], UNITS, workers=1)
    files = {f.path.split(os.sep)[-1]: f for f in result.files}
    mailed = files["thanh-xa.eml › Phieu CCHC.xlsx"]
    assert mailed.status == "rejected" and mailed.unit_code == "30513"
    assert [f.code for f in mailed.findings] == ["file.damaged", "file.matched_by_delivery"]
    assert files["hong.xlsx"].status == "rejected" and files["hong.xlsx"].unit_code is None
    assert files["thanh-xa.eml › 30513 ban ky.pdf"].unit_code == "30513"  # by its name
    [message] = [m for m in build_feedback(result) if m.unit.code == "30513"]
    assert message.reminder and message.status == "missing"
    assert "- Phieu CCHC.xlsx, nhận lúc" in message.text and "không dùng được." in message.text
    assert "Tệp bị hỏng, không mở được" in message.text
    assert "không đọc được thông tin nhận diện" not in message.text.lower()  # an info, for the office only
    [cm] = [m for m in build_feedback(result) if m.unit.code == "30512"]
    assert "hong.xlsx" not in cm.text


def test_messages_attached_to_messages_stop_at_the_nesting_limit(tmp_path, filled):
    """8bit parts do not grow with each level, so only a depth limit stops such a chain."""
    inner = eml({"cm.xlsx": filled["30512"]})
    for _ in range(6):
        outer = EmailMessage()
        outer["From"], outer["Subject"] = "a@b.vn", "Fwd"
        outer.set_content("chuyển tiếp")
        outer.add_attachment(inner, maintype="application", subtype="octet-stream", filename="thu.eml")
        inner = bytes(outer)
    path = tmp_path / "chain.eml"
    path.write_bytes(inner)
    result = harvest(RUBRIC, [path], UNITS, workers=1)
    codes = [[f.code for f in r.findings] for r in result.files]
    assert codes[:3] == [["mail.read"]] * 3 and codes[3] == ["mail.too_deep"] and len(result.files) == 4
    assert result.files[3].status == "skipped" and result.files[3].path.count(" › ") == 3


@pytest.mark.parametrize("date_header", ["Mon, 1 Jan 0001 00:00:00 +1400", "Fri, 31 Dec 9999 23:59:59 -1200",
                                         "Fri, 31 Dec 9999 23:59:59 -0000", "hôm qua", "Tue, 99 Foo 2024 99:99:99"])
def test_a_date_no_clock_can_show_never_stops_the_batch(tmp_path, filled, date_header):
    raw = eml({"cm.xlsx": filled["30512"]}).replace(b"Date: ", b"X-Old-Date: ", 1)
    path = tmp_path / "x.eml"
    path.write_bytes(b"Date: " + date_header.encode("utf-8") + b"\n" + raw)
    out = tmp_path / "out"
    run_harvest(RUBRIC, [path], UNITS, out, workers=1)
    data = json.loads((out / "harvest.json").read_text(encoding="utf-8"))
    [workbook] = [f for f in data["files"] if f["path"].endswith("cm.xlsx")]
    assert workbook["status"] == "accepted" and workbook["received_at"]
    assert (out / "phan-hoi" / "30512_xa-chi-minh.txt").is_file()
