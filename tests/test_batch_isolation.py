"""No file stops the batch (issue 12, the batch half): every input isolated, every budget enforced
before the work, links not followed, outputs whole and never mixed with inputs, harvest.json read
through one schema, report text that never becomes Word structure.

Each test builds the hostile or broken input for real (bytes on disk, zips patched at the byte
level, a worker process that really aborts), harvests it together with a clean control return
(Xã Chí Minh, seed 003's scores: 75 points), asserts the precise finding on the bad input and
that the control return is counted exactly.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document

from cchc_xls.errors import CchcError, OutputError
from cchc_xls.limits import Limits
from cchc_xls.outputs import LOCK_NAME
from cchc_xls.pipeline import run_harvest, run_rank
from cchc_xls.process import TEST_FAULT_ENV
from cchc_xls.report import write_reports
from cchc_xls.results import load_results
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import CHI_MINH_SCORES, fill_workbook, make_template

D = Decimal
RUBRIC = load_rubric("hai-duong-2022")
CONTROL = Unit("30512", "Xã Chí Minh", "xã")
OTHERS = [Unit(f"3060{i}", f"Xã Thử {i}", "xã") for i in range(1, 7)]
UNITS = [CONTROL, *OTHERS]
CONTROL_TOTAL = D("75")


@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> dict[str, bytes]:
    """A filled return (seed 003's scores) for the control commune and six others, as bytes."""
    folder = tmp_path_factory.mktemp("returns")
    filled = {}
    for unit in UNITS:
        path = make_template(folder, unit=unit)
        fill_workbook(path, CHI_MINH_SCORES)
        filled[unit.code] = path.read_bytes()
    return filled


def inbox_with_control(tmp_path: Path, returns) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "Phu luc CCHC Chi Minh.xlsx").write_bytes(returns[CONTROL.code])
    return inbox


class Run:
    def __init__(self, outputs):
        self.outputs = outputs
        self.out = outputs.out_dir
        self.data = json.loads((self.out / "harvest.json").read_text(encoding="utf-8"))

    def file(self, ending: str) -> dict:
        matches = [f for f in self.data["files"] if f["path"].endswith(ending)]
        assert len(matches) == 1, (ending, [f["path"] for f in self.data["files"]])
        return matches[0]

    def codes(self, ending: str) -> list[str]:
        return [f["code"] for f in self.file(ending)["findings"]]

    def unit(self, code: str) -> dict:
        return next(u for u in self.data["units"] if u["code"] == code)

    def assert_control_counted(self) -> None:
        control = self.unit(CONTROL.code)
        assert control["status"] == "submitted" and D(str(control["self_total"])) == CONTROL_TOTAL
        assert self.file("Phu luc CCHC Chi Minh.xlsx")["status"] == "accepted"
        assert not list(self.out.rglob("*.part"))
        assert not (self.out / LOCK_NAME).exists()


def harvest_into(tmp_path: Path, *inputs: Path, out: Path | None = None, workers: int = 1,
                 limits: Limits = Limits()) -> Run:
    out = out or tmp_path / "ket-qua"
    return Run(run_harvest(RUBRIC, list(inputs), UNITS, out, workers=workers, limits=limits))


def zip_bytes(members: list[tuple[str, bytes]], method=zipfile.ZIP_DEFLATED, date_time=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=date_time or (2024, 12, 1, 8, 30, 0))
            info.compress_type = method
            zf.writestr(info, data)
    return buffer.getvalue()


def patch_member(data: bytes, index: int, *, flags_or: int = 0, method: int | None = None,
                 version: int | None = None, name: bytes | None = None) -> bytes:
    """Change one member's header fields in place, in its local header and the central directory."""
    raw = bytearray(data)
    end = raw.rfind(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack("<HII", raw[end + 10:end + 20])
    position = cd_offset
    for current in range(count):
        name_len, extra_len, comment_len = struct.unpack("<HHH", raw[position + 28:position + 34])
        local = struct.unpack("<I", raw[position + 42:position + 46])[0]
        if current == index:
            for header, flag_at, method_at in ((position, 8, 10), (local, 6, 8)):
                flags = struct.unpack("<H", raw[header + flag_at:header + flag_at + 2])[0]
                struct.pack_into("<H", raw, header + flag_at, flags | flags_or)
                if method is not None:
                    struct.pack_into("<H", raw, header + method_at, method)
            if version is not None:
                struct.pack_into("<H", raw, position + 6, version)
            if name is not None:  # same length, so no offset moves
                assert len(name) == name_len
                raw[position + 46:position + 46 + name_len] = name
                raw[local + 30:local + 30 + name_len] = name
        position += 46 + name_len + extra_len + comment_len
    return bytes(raw)


# ---------------------------------------------------------------------------------------------
# 1. One file's exception, abort, endless loop or memory hunger costs that one file


def test_any_exception_while_reading_one_file_is_a_finding_on_it(tmp_path, returns, monkeypatch):
    import cchc_xls.process as process

    class PanicException(BaseException):  # what a Rust panic raises through PyO3
        pass

    original = process.read_return

    def panicking(path, data, display):
        if display.endswith("hong.xlsx"):
            raise PanicException("index out of bounds: the len is 3 but the index is 7")
        return original(path, data, display)

    monkeypatch.setattr(process, "read_return", panicking)
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "hong.xlsx").write_bytes(returns[OTHERS[0].code])
    run = harvest_into(tmp_path, inbox)
    assert run.codes("hong.xlsx") == ["file.unreadable"]
    file = run.file("hong.xlsx")
    assert file["status"] == "rejected" and file["findings"][0]["severity"] == "error"
    assert "PanicException" in file["findings"][0]["message"] and "gửi lại" in file["findings"][0]["message"]
    run.assert_control_counted()


def test_a_worker_that_aborts_or_loops_costs_only_its_file(tmp_path, returns, monkeypatch):
    """The parallel path: every file in worker processes; one aborts (SIGABRT), one never ends."""
    monkeypatch.setenv(TEST_FAULT_ENV, "abort:a-crash.xls,loop:c-loop.xls")
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "a-crash.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    (inbox / "b-after.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\1" * 4096)
    (inbox / "c-loop.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\2" * 4096)
    (inbox / "d-thu.xlsx").write_bytes(returns[OTHERS[0].code])
    for index in range(24):
        (inbox / f"ghi chu {index:02d}.txt").write_text(f"Ghi chú {index}", encoding="utf-8")
    run = harvest_into(tmp_path, inbox, workers=2, limits=Limits(file_seconds=6))
    assert run.codes("a-crash.xls") == ["file.reader_crashed"]
    if os.name == "posix":
        assert "SIGABRT" in run.file("a-crash.xls")["findings"][0]["message"]
    assert run.codes("c-loop.xls") == ["file.timeout"]
    assert "6 giây" in run.file("c-loop.xls")["findings"][0]["message"]
    assert run.file("b-after.xls")["status"] == "rejected"  # read after the crash, with its own finding
    assert run.codes("b-after.xls")[0] in ("file.damaged", "file.not_spreadsheet")
    assert run.unit(OTHERS[0].code)["status"] == "submitted"
    assert len(run.data["files"]) == 29
    run.assert_control_counted()


def test_a_small_batch_still_reads_native_formats_in_a_worker(tmp_path, returns, monkeypatch):
    """Serial harvest (one worker): only the .xls/.xlsb go to a worker process, and it may die."""
    monkeypatch.setenv(TEST_FAULT_ENV, "exit:chet.xlsb")
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "chet.xlsb").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    (inbox / "thu.xlsb").write_bytes(b"PK\x03\x04" + b"\1" * 100)  # .xlsb is a spreadsheet suffix
    run = harvest_into(tmp_path, inbox)
    assert run.codes("chet.xlsb") == ["file.reader_crashed"]
    assert run.codes("thu.xlsb") != ["file.skipped_type"] and run.file("thu.xlsb")["status"] == "rejected"
    run.assert_control_counted()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="RLIMIT_AS is measured from /proc (Linux)")
def test_a_worker_is_stopped_at_its_memory_limit(tmp_path, returns, monkeypatch):
    monkeypatch.setenv(TEST_FAULT_ENV, "memory:an-bo-nho.xls")
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "an-bo-nho.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    run = harvest_into(tmp_path, inbox, limits=Limits(worker_memory=256 * 1024 * 1024))
    assert run.codes("an-bo-nho.xls") == ["file.too_costly"]
    assert "256 MB" in run.file("an-bo-nho.xls")["findings"][0]["message"]
    run.assert_control_counted()


# ---------------------------------------------------------------------------------------------
# 2. Budgets, checked before the work


def test_a_3_gb_file_is_refused_by_its_size_without_being_read_or_copied(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    with open(inbox / "khong-lo.xlsx", "wb") as handle:
        handle.truncate(3 * 1024 ** 3)  # sparse: 3 GB on paper, nothing on disk
    run = harvest_into(tmp_path, inbox)
    file = run.file("khong-lo.xlsx")
    assert run.codes("khong-lo.xlsx") == ["file.too_large"] and file["status"] == "rejected"
    assert "3.072 MB" in file["findings"][0]["message"]
    assert file["sha256"] == "" and file["received"] is None
    assert not [p for p in (run.out / "received").iterdir() if "khong-lo" in p.name]
    run.assert_control_counted()


def test_a_zip_fanning_out_to_200000_entries_is_refused_from_its_directory(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for index in range(200_000):
            zf.writestr(zipfile.ZipInfo(f"{index}", date_time=(2024, 1, 1, 0, 0, 0)), b"")
    (inbox / "fan.zip").write_bytes(buffer.getvalue())
    run = harvest_into(tmp_path, inbox)
    assert run.codes("fan.zip") == ["file.zip_bomb"]
    assert "200.000 tệp" in run.file("fan.zip")["findings"][0]["message"]
    assert len(run.data["files"]) == 2  # the control and the archive: no member is listed
    assert (run.out / "harvest.json").stat().st_size < 200_000
    run.assert_control_counted()


def test_nested_zips_of_zeros_are_refused_by_their_ratio(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    inner = zip_bytes([("zeros.bin", bytes(50 * 1024 * 1024))])
    middle = zip_bytes([("inner.zip", inner)])
    (inbox / "bom-long-nhau.zip").write_bytes(zip_bytes([("middle.zip", middle)]))
    run = harvest_into(tmp_path, inbox)
    assert run.codes("bom-long-nhau.zip") == ["file.archive"]
    assert run.codes("bom-long-nhau.zip › middle.zip › inner.zip") == ["file.zip_bomb"]
    assert not any(f["path"].endswith("zeros.bin") for f in run.data["files"])
    run.assert_control_counted()


def test_a_zalo_zip_with_a_big_stored_scan_is_not_a_bomb(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    scan = b"%PDF-1.4\n" + os.urandom(13 * 1024 * 1024)
    archive = zip_bytes([("Phu luc CCHC xa Thu 1.xlsx", returns[OTHERS[0].code]), ("bang cham scan.pdf", scan)],
                        method=zipfile.ZIP_STORED)
    (inbox / "Zalo.zip").write_bytes(archive)
    run = harvest_into(tmp_path, inbox)
    assert run.codes("Zalo.zip") == ["file.archive"]
    assert run.file("Zalo.zip › Phu luc CCHC xa Thu 1.xlsx")["status"] == "accepted"
    assert D(str(run.unit(OTHERS[0].code)["self_total"])) == CONTROL_TOTAL
    # the scan came in the commune's zip: its attachment (issue 16), listed in its feedback
    assert run.codes("Zalo.zip › bang cham scan.pdf") == ["file.attachment"]
    assert run.file("Zalo.zip › bang cham scan.pdf")["unit_code"] == OTHERS[0].code
    run.assert_control_counted()


# ---------------------------------------------------------------------------------------------
# 3. Zip members: each problem its own finding, nothing vanishes


def test_zip_members_with_odd_headers_each_get_a_precise_finding(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    one, two, three, four = (returns[u.code] for u in OTHERS[:4])
    long_name = "Phụ lục CCHC " + "xã Thử Nghiệm Rất Dài Tên " * 8 + ".xlsx"
    (inbox / "ngay-0.zip").write_bytes(zip_bytes([("Phu luc.xlsx", one)], date_time=(1980, 0, 0, 0, 0, 0)))
    (inbox / "ten-dai.zip").write_bytes(zip_bytes([(long_name, two)]))
    bad_name = b"Phu luc \xff\xfe.xlsx"
    (inbox / "ten-hong.zip").write_bytes(patch_member(zip_bytes([("Phu luc AA.xlsx", three)]),
                                                      0, flags_or=0x800, name=bad_name))
    mixed = zip_bytes([("khoa.xlsx", b"x" * 50), ("aes.xlsx", b"y" * 50), ("d64.xlsx", b"z" * 50),
                       ("v161.xlsx", b"w" * 50), ("tot.xlsx", four)])
    mixed = patch_member(mixed, 0, flags_or=0x1)
    mixed = patch_member(mixed, 1, flags_or=0x1, method=99)
    mixed = patch_member(mixed, 2, method=9)
    mixed = patch_member(mixed, 3, version=161)
    (inbox / "hon-hop.zip").write_bytes(mixed)
    broken = bytearray(zip_bytes([("a.xlsx", one)]))
    cd = broken.rfind(b"PK\x01\x02")
    broken[cd:cd + 4] = b"XXXX"
    (inbox / "muc-luc-hong.zip").write_bytes(bytes(broken))
    run = harvest_into(tmp_path, inbox)

    assert run.codes("ngay-0.zip › Phu luc.xlsx")[0] == "file.member_date"
    assert run.file("ngay-0.zip › Phu luc.xlsx")["status"] == "accepted"
    assert run.file(f"ten-dai.zip › {long_name}")["status"] == "accepted"
    assert run.unit(OTHERS[1].code)["status"] == "submitted"
    received = run.file(f"ten-dai.zip › {long_name}")["received"]
    assert (run.out / "received" / received).is_file() and len(received.encode("utf-8")) <= 140
    damaged_name = "ten-hong.zip › Phu luc \ufffd\ufffd.xlsx"
    assert run.codes(damaged_name)[0] == "file.member_name" and run.file(damaged_name)["status"] == "accepted"
    # the unreadable members came in the same zip as the fourth commune's return: that commune's
    # (issue 16: file.matched_by_delivery), so its feedback says why they cannot be used
    delivered = ["file.matched_by_delivery"]
    assert run.codes("hon-hop.zip › khoa.xlsx") == ["file.member_encrypted", *delivered]
    assert run.file("hon-hop.zip › khoa.xlsx")["unit_code"] == OTHERS[3].code
    assert "AES" in run.file("hon-hop.zip › aes.xlsx")["findings"][0]["message"]
    assert run.codes("hon-hop.zip › aes.xlsx") == ["file.member_encrypted", *delivered]
    assert run.codes("hon-hop.zip › d64.xlsx") == ["file.member_unsupported", *delivered]
    assert "Deflate64" in run.file("hon-hop.zip › d64.xlsx")["findings"][0]["message"]
    assert run.codes("hon-hop.zip › v161.xlsx") == ["file.member_unsupported", *delivered]
    assert "16.1" in run.file("hon-hop.zip › v161.xlsx")["findings"][0]["message"]
    assert run.file("hon-hop.zip › tot.xlsx")["status"] == "accepted"
    assert run.codes("muc-luc-hong.zip") == ["file.archive_damaged"]
    for unit in OTHERS[:4]:
        assert D(str(run.unit(unit.code)["self_total"])) == CONTROL_TOTAL, unit
    run.assert_control_counted()


def test_a_workbook_renamed_zip_is_read_as_a_workbook(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "Phu luc xa Thu 1.zip").write_bytes(returns[OTHERS[0].code])
    run = harvest_into(tmp_path, inbox)
    assert run.file("Phu luc xa Thu 1.zip")["status"] == "accepted"
    assert D(str(run.unit(OTHERS[0].code)["self_total"])) == CONTROL_TOTAL
    run.assert_control_counted()


# ---------------------------------------------------------------------------------------------
# 4. Names, links, files that change under the harvest


def test_file_names_that_are_not_utf8_or_250_bytes_long_are_read(tmp_path, returns):
    if sys.platform == "darwin" or os.name == "nt":
        pytest.skip("this file system keeps only valid Unicode names")
    inbox = inbox_with_control(tmp_path, returns)
    raw = os.fsencode(inbox) + b"/Phu luc \xff\xfe xa Thu.xlsx"
    with open(raw, "wb") as handle:
        handle.write(returns[OTHERS[0].code])
    long_name = ("Phụ lục tự đánh giá " * 20).encode("utf-8")[:245].decode("utf-8", "ignore") + ".xlsx"
    assert len(long_name.encode("utf-8")) > 240
    (inbox / long_name).write_bytes(returns[OTHERS[1].code])
    run = harvest_into(tmp_path, inbox)
    bad = run.file("Phu luc \ufffd\ufffd xa Thu.xlsx")
    assert bad["status"] == "accepted" and (run.out / "received" / bad["received"]).is_file()
    assert run.file(long_name)["status"] == "accepted"
    for unit in OTHERS[:2]:
        assert D(str(run.unit(unit.code)["self_total"])) == CONTROL_TOTAL
    from openpyxl import load_workbook
    load_workbook(run.out / "tong-hop.xlsx")  # names with U+FFFD, written whole
    run.assert_control_counted()


@pytest.mark.skipif(os.name == "nt", reason="symbolic links and FIFOs as POSIX makes them")
def test_links_are_listed_not_followed_and_special_files_not_opened(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "mat-khau.xlsx").symlink_to("/etc/passwd")
    outside = tmp_path / "ngoai"
    outside.mkdir()
    (outside / "bi-mat.xlsx").write_bytes(returns[OTHERS[0].code])
    (inbox / "thu-muc-lien-ket").symlink_to(outside, target_is_directory=True)
    os.mkfifo(inbox / "ong.xlsx")  # reading it would wait for ever
    run = harvest_into(tmp_path, inbox)
    assert run.codes("mat-khau.xlsx") == ["file.link"]
    assert "/etc/passwd" in run.file("mat-khau.xlsx")["findings"][0]["message"]
    assert run.file("mat-khau.xlsx")["status"] == "skipped" and run.file("mat-khau.xlsx")["received"] is None
    assert run.codes("thu-muc-lien-ket") == ["file.link"]
    assert not any("bi-mat" in f["path"] for f in run.data["files"])
    assert run.unit(OTHERS[0].code)["status"] == "missing"
    assert run.codes("ong.xlsx") == ["file.not_regular"]
    copies = b"".join(p.read_bytes() for p in (run.out / "received").iterdir())
    assert b"root:" not in copies
    run.assert_control_counted()


def test_files_that_vanish_or_change_while_harvested_get_findings(tmp_path, returns, monkeypatch):
    import cchc_xls.inputs as inputs

    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "bien-mat.xlsx").write_bytes(returns[OTHERS[0].code])
    (inbox / "dang-luu.xlsx").write_bytes(returns[OTHERS[1].code])
    original = inputs._Collector._stage

    def racing(self, item, source, size, limit, before=None):
        if item.name == "bien-mat.xlsx":
            source.unlink()  # deleted after it was listed
        elif item.name == "dang-luu.xlsx":
            with open(source, "ab") as handle:  # still being saved by the mail client
                handle.write(b"\0" * 10)
        return original(self, item, source, size, limit, before)

    monkeypatch.setattr(inputs._Collector, "_stage", racing)
    run = harvest_into(tmp_path, inbox)
    assert run.codes("bien-mat.xlsx") == ["file.vanished"] and run.file("bien-mat.xlsx")["status"] == "rejected"
    assert run.codes("dang-luu.xlsx") == ["file.changed"] and run.file("dang-luu.xlsx")["received"] is None
    run.assert_control_counted()


# ---------------------------------------------------------------------------------------------
# 5. Output folder: never an input, never overwriting one, whole, one run at a time


def test_an_output_folder_inside_the_input_folder_is_not_harvested_again(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    first = harvest_into(tmp_path, inbox, out=inbox / "ket-qua")
    second = harvest_into(tmp_path, inbox, out=inbox / "ket-qua")
    assert [f["path"] for f in second.data["files"]] == [f["path"] for f in first.data["files"]]
    assert len(second.data["files"]) == 1
    second.assert_control_counted()


def test_the_input_folder_as_output_folder_never_overwrites_an_input(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    own = harvest_into(tmp_path, inbox, out=inbox)
    again = harvest_into(tmp_path, inbox, out=inbox)  # its own outputs are not read as returns
    assert len(again.data["files"]) == len(own.data["files"]) == 1
    again.assert_control_counted()

    commune_file = tmp_path / "hop-thu"
    commune_file.mkdir()
    (commune_file / "tong-hop.xlsx").write_bytes(returns[OTHERS[0].code])  # a commune named its file so
    with pytest.raises(OutputError, match="tong-hop.xlsx.*không do cchc ghi"):
        run_harvest(RUBRIC, [commune_file], UNITS, commune_file, workers=1)
    assert (commune_file / "tong-hop.xlsx").read_bytes() == returns[OTHERS[0].code]
    with pytest.raises(OutputError, match="kết quả mà cchc sẽ ghi"):
        run_harvest(RUBRIC, [commune_file / "tong-hop.xlsx"], UNITS, commune_file, workers=1)
    assert (commune_file / "tong-hop.xlsx").read_bytes() == returns[OTHERS[0].code]


def test_a_truncated_received_copy_is_repaired(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    first = harvest_into(tmp_path, inbox)
    copy = first.out / "received" / first.file("Phu luc CCHC Chi Minh.xlsx")["received"]
    copy.write_bytes(copy.read_bytes()[:1000])  # as a killed run or a full disk left it
    second = harvest_into(tmp_path, inbox)
    assert copy.read_bytes() == returns[CONTROL.code]
    second.assert_control_counted()


def test_a_second_harvest_into_a_busy_folder_is_refused(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    out = tmp_path / "ket-qua"
    out.mkdir()
    import socket

    (out / LOCK_NAME).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}), encoding="utf-8")
    with pytest.raises(OutputError, match="Một lần tổng hợp khác đang ghi"):
        run_harvest(RUBRIC, [inbox], UNITS, out, workers=1)
    assert not (out / "harvest.json").exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}), encoding="utf-8")
    run = harvest_into(tmp_path, inbox, out=out)  # a stale lock of a dead process is taken over
    run.assert_control_counted()


# ---------------------------------------------------------------------------------------------
# 6. harvest.json edited by hand; report text that must stay text


@pytest.fixture
def harvested(tmp_path, returns) -> Path:
    inbox = inbox_with_control(tmp_path, returns)
    return harvest_into(tmp_path, inbox).out


def edit_json(out: Path, change) -> None:
    path = out / "harvest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def unit_entry(data: dict, code: str = CONTROL.code) -> dict:
    return next(u for u in data["units"] if u["code"] == code)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_nan_or_infinity_typed_into_harvest_json_is_named_as_no_valid_number(tmp_path, constant):
    (tmp_path / "harvest.json").write_text(
        '{"rubric": "hai-duong-2022", "units": [{"code": "30512", "name": "Xã Chí Minh", "self_total": %s}]}'
        % constant, encoding="utf-8")
    with pytest.raises(CchcError) as info:
        load_results(tmp_path)
    assert f"giá trị {constant} không phải là số hợp lệ" in str(info.value)
    assert str(info.value).startswith(f"Không đọc được {tmp_path / 'harvest.json'}: ")


def test_many_hand_edit_problems_show_the_first_twenty_and_count_the_rest(tmp_path):
    units = [{"code": f"X{i:02}", "name": f"Xã {i}", "self_total": "73,5"} for i in range(25)]
    (tmp_path / "harvest.json").write_text(json.dumps({"rubric": "hai-duong-2022", "units": units}),
                                           encoding="utf-8")
    with pytest.raises(CchcError) as info:
        load_results(tmp_path)
    assert len(info.value.findings) == 25
    text = str(info.value)
    assert "25 giá trị không dùng được" in text
    assert "units[19] (đơn vị X19 Xã 19).self_total" in text and "units[20]" not in text
    assert text.endswith("\n  … và 5 vấn đề khác")


@pytest.mark.parametrize("edit, expected", [
    (lambda d: unit_entry(d).update(self_total="73,5"), r"30512 Xã Chí Minh\)\.self_total: “73,5” là chữ.*73\.5"),
    (lambda d: unit_entry(d).pop("code"), r"units\[0\]: thiếu mã đơn vị"),
    (lambda d: unit_entry(d)["scores"].update({"1.2": 1e300}), r"scores\.1\.2: số .* ngoài khoảng"),
    (lambda d: d.update(units={"30512": {}}), r"“units” phải là một danh sách"),
    (lambda d: unit_entry(d).update(status="đã nộp"), r"status: “đã nộp” không hợp lệ"),
])
def test_hand_edits_of_harvest_json_are_clear_errors_not_tracebacks(harvested, tmp_path, edit, expected):
    from cchc_xls.appraise import write_appraisal_workbooks

    edit_json(harvested, edit)
    for command in (lambda: run_rank(harvested), lambda: write_reports(harvested, tmp_path / "bao-cao"),
                    lambda: write_appraisal_workbooks(harvested, tmp_path / "tham-dinh")):
        with pytest.raises(CchcError, match=expected):
            command()


def test_control_characters_and_markup_in_commune_text_stay_one_plain_run(harvested, tmp_path):
    leaf = next(l for l in RUBRIC.scorable() if D(CHI_MINH_SCORES.get(l.code, "0")) < l.max and l.self_scored)
    forged = ("Đã cố gắng.\n# TIÊU ĐỀ GIẢ\n**Tổng điểm tự chấm: 100 điểm.**\n[[ky-ten: GIẢ | CHỦ TỊCH GIẢ]]\n"
              "- mục giả\n> trích giả\x07\x1b[31m")

    def change(data):
        unit_entry(data)["explanations"][leaf.code] = forged
        unit_entry(data)["name"] = "Xã Chí\x00 Minh\x1f"

    edit_json(harvested, change)
    run_rank(harvested)
    reports = write_reports(harvested, tmp_path / "bao-cao", unit_code=CONTROL.code)
    document = Document(str(reports.communes[0]))
    assert len(document.tables) == 2  # the template's header and signature tables, no forged one
    texts = [p.text for p in document.paragraphs]
    assert not any(t.startswith("TIÊU ĐỀ GIẢ") or t.startswith("mục giả") or t.startswith("trích giả") for t in texts)
    bold = [r.text for p in document.paragraphs for r in p.runs if r.bold]
    assert not any("100 điểm" in t or "TIÊU ĐỀ GIẢ" in t for t in bold)
    assert any("Tổng điểm tự chấm: 75 điểm" in t for t in bold)
    carrying = [p for p in document.paragraphs if "TIÊU ĐỀ GIẢ" in p.text]
    assert len(carrying) == 1
    run = next(r for r in carrying[0].runs if "TIÊU ĐỀ GIẢ" in r.text)
    assert not run.bold and "Đã cố gắng. # TIÊU ĐỀ GIẢ **Tổng điểm tự chấm: 100 điểm.** [[ky-ten: GIẢ | CHỦ TỊCH GIẢ]]" in run.text
    assert "\x07" not in run.text and "\x1b" not in run.text
    header = "\n".join(p.text for t in document.tables for c in t._cells for p in c.paragraphs)
    assert "GIẢ" not in header


def test_run_budgets_refuse_what_is_over_them_and_list_it(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "scan lon.pdf").write_bytes(b"%PDF-1.4\n" + bytes(3 * 1024 * 1024))
    for index in range(5):
        (inbox / f"ghi chu {index}.txt").write_text(f"Ghi chú {index}", encoding="utf-8")
    bytes_budget = harvest_into(tmp_path, inbox, out=tmp_path / "theo-dung-luong",
                                limits=Limits(run_bytes=len(returns[CONTROL.code]) + 1024 * 1024))
    assert bytes_budget.codes("scan lon.pdf") == ["file.run_budget"]
    assert bytes_budget.file("scan lon.pdf")["received"] is None
    bytes_budget.assert_control_counted()

    files_budget = harvest_into(tmp_path, inbox, out=tmp_path / "theo-so-tep", limits=Limits(run_files=4))
    assert len(files_budget.data["files"]) == 5  # four read, then one entry saying the rest were not listed
    assert files_budget.data["files"][-1]["findings"][0]["code"] == "file.run_budget"
    files_budget.assert_control_counted()


def test_control_characters_in_unit_names_reach_every_output_safely(tmp_path, returns):
    from openpyxl import load_workbook

    inbox = inbox_with_control(tmp_path, returns)
    named = [Unit(CONTROL.code, "Xã Chí\x07 Minh\x1b", "xã"), *OTHERS]
    outputs = run_harvest(RUBRIC, [inbox], named, tmp_path / "ket-qua", workers=1)
    data = json.loads((outputs.out_dir / "harvest.json").read_text(encoding="utf-8"))
    assert D(str(data["units"][0]["self_total"])) == CONTROL_TOTAL
    for name in ("tong-hop.xlsx", "phu-luc-ii.xlsx"):
        load_workbook(outputs.out_dir / name)
    reports = write_reports(outputs.out_dir, tmp_path / "bao-cao", unit_code=CONTROL.code)
    text = "\n".join(p.text for t in Document(str(reports.communes[0])).tables for c in t._cells for p in c.paragraphs)
    assert "CHÍ\ufffd MINH\ufffd" in text and "\x07" not in text


def test_an_unforeseen_error_while_collecting_costs_that_archive_only(tmp_path, returns, monkeypatch):
    import cchc_xls.inputs as inputs

    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "la.zip").write_bytes(zip_bytes([("Phu luc.xlsx", returns[OTHERS[0].code])]))
    (inbox / "thuong.zip").write_bytes(zip_bytes([("Phu luc.xlsx", returns[OTHERS[1].code])]))
    original = inputs._open_zip

    def failing(path, repaired_path):
        zf, repaired = original(path, repaired_path)
        if zf.namelist() and zf.read(zf.namelist()[0]) == returns[OTHERS[0].code]:
            raise OverflowError("Python int too large to convert to C long")  # what a crafted header did
        return zf, repaired

    monkeypatch.setattr(inputs, "_open_zip", failing)
    run = harvest_into(tmp_path, inbox)
    assert run.codes("la.zip") == ["file.unreadable"] and "OverflowError" in run.file("la.zip")["findings"][0]["message"]
    assert run.file("la.zip")["status"] == "rejected"
    assert run.file("thuong.zip › Phu luc.xlsx")["status"] == "accepted"
    run.assert_control_counted()


def test_a_directory_larger_than_its_declared_count_allows_is_refused(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    data = bytearray(zip_bytes([(f"tep-{index:05d}.txt", b"") for index in range(3000)], method=zipfile.ZIP_STORED))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 5, 5)  # the end record says 5 entries
    (inbox / "noi-doi.zip").write_bytes(bytes(data))
    run = harvest_into(tmp_path, inbox, limits=Limits(archive_members=100))
    assert run.codes("noi-doi.zip") == ["file.zip_bomb"] and "mục lục" in run.file("noi-doi.zip")["findings"][0]["message"]
    assert len(run.data["files"]) == 2
    run.assert_control_counted()


def with_saved_time(workbook: bytes, stamp: str) -> bytes:
    """The workbook with docProps/core.xml's dcterms:modified set to `stamp`."""
    import re

    source = zipfile.ZipFile(io.BytesIO(workbook))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            target.writestr(info, data)
    return buffer.getvalue()


def test_saved_times_of_year_1_and_9999_do_not_stop_the_batch(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "nam-1.xlsx").write_bytes(with_saved_time(returns[OTHERS[0].code], "0001-01-01T00:00:00Z"))
    (inbox / "nam-9999.xlsx").write_bytes(with_saved_time(returns[OTHERS[0].code], "9999-12-31T23:59:59Z"))
    run = harvest_into(tmp_path, inbox)
    statuses = {run.file("nam-1.xlsx")["status"], run.file("nam-9999.xlsx")["status"]}
    assert statuses == {"accepted", "superseded"}
    assert D(str(run.unit(OTHERS[0].code)["self_total"])) == CONTROL_TOTAL
    run.assert_control_counted()


def test_native_formats_are_isolated_from_a_threaded_server_without_forking_it(tmp_path, returns, monkeypatch):
    """The web page harvests in a thread of its server: workers then start without fork."""
    import threading

    monkeypatch.setenv(TEST_FAULT_ENV, "abort:chet.xls")
    inbox = inbox_with_control(tmp_path, returns)
    (inbox / "chet.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(run=harvest_into(tmp_path, inbox)))
    thread.start()
    thread.join(120)
    run = done["run"]
    assert run.codes("chet.xls") == ["file.reader_crashed"]
    run.assert_control_counted()


def test_the_command_refuses_a_busy_folder_and_a_hand_broken_harvest_json_without_traceback(harvested, tmp_path,
                                                                                          returns):
    import socket

    from click.testing import CliRunner

    from cchc_xls.cli import main

    units = tmp_path / "don-vi.csv"
    units.write_text("code,name,kind\n" + "\n".join(f"{u.code},{u.name},{u.kind}" for u in UNITS), encoding="utf-8")
    (harvested / LOCK_NAME).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}),
                                       encoding="utf-8")
    busy = CliRunner().invoke(main, ["harvest", "hai-duong-2022", str(tmp_path / "inbox"), "--units", str(units),
                                     "--out", str(harvested)])
    assert busy.exit_code == 1 and "Một lần tổng hợp khác đang ghi" in busy.output and "Traceback" not in busy.output
    (harvested / LOCK_NAME).unlink()

    edit_json(harvested, lambda d: unit_entry(d).update(self_total="73,5"))
    ranked = CliRunner().invoke(main, ["rank", str(harvested)])
    assert ranked.exit_code == 1 and "self_total" in ranked.output and "73,5" in ranked.output
    assert not isinstance(ranked.exception, Exception) or isinstance(ranked.exception, SystemExit)


def test_many_small_members_of_zeros_are_refused_by_the_archive_ratio(tmp_path, returns):
    inbox = inbox_with_control(tmp_path, returns)
    megabyte_of_zeros = bytes(1024 * 1024)  # each member just at the size where a member's ratio counts
    (inbox / "nhieu-tep-rong.zip").write_bytes(zip_bytes([(f"{i}.bin", megabyte_of_zeros) for i in range(100)]))
    run = harvest_into(tmp_path, inbox)
    assert run.codes("nhieu-tep-rong.zip") == ["file.zip_bomb"]
    assert "100 tệp nén" in run.file("nhieu-tep-rong.zip")["findings"][0]["message"]
    assert len(run.data["files"]) == 2
    run.assert_control_counted()


def test_a_run_that_fails_while_writing_leaves_the_previous_set_of_outputs_whole(tmp_path, returns, monkeypatch):
    import cchc_xls.pipeline as pipeline

    inbox = inbox_with_control(tmp_path, returns)
    first = harvest_into(tmp_path, inbox)
    before = {name: (first.out / name).read_bytes() for name in ("harvest.json", "tong-hop.xlsx", "phu-luc-ii.xlsx")}
    (inbox / "Phu luc xa Thu 1.xlsx").write_bytes(returns[OTHERS[0].code])

    def full_disk(results, path, office=""):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_phu_luc_ii", full_disk)
    with pytest.raises(OutputError, match="No space left on device"):
        harvest_into(tmp_path, inbox)
    assert {name: (first.out / name).read_bytes() for name in before} == before  # not one file of the new run
    assert not (first.out / pipeline.WRITING).exists() and not (first.out / LOCK_NAME).exists()
