"""The list of communes (`--units`) and the period (`--period`), as an officer prepares them.

Units files are built here as a person would make them: CSV typed or exported by Excel (with
or without BOM, comma or semicolon), Vietnamese headers, an XLSX sheet; and broken ones.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook

from cchc_xls.errors import CchcError, PeriodError, UnitsError
from cchc_xls.units import Period, Unit, ascii_slug, load_units, parse_period


def write_csv(tmp_path: Path, text: str, name: str = "units.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: list[list], name: str = "units.xlsx") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def units_error(path: Path) -> str:
    with pytest.raises(UnitsError) as info:
        load_units(path)
    assert isinstance(info.value, CchcError)
    return str(info.value)


# ---- reading --------------------------------------------------------------------------------


def test_plain_csv(tmp_path):
    units = load_units(write_csv(tmp_path, "code,name\n30512,Xã Chí Minh\n30513,Thị trấn Thanh Miện\n"))
    assert units == [
        Unit("30512", "Xã Chí Minh", "xã", None),
        Unit("30513", "Thị trấn Thanh Miện", "thị trấn", None),
    ]


def test_csv_with_bom_as_excel_saves_it(tmp_path):
    path = write_csv(tmp_path, "code,name,kind,group\n30512,Xã Chí Minh,xã,Tứ Kỳ\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_units(path) == [Unit("30512", "Xã Chí Minh", "xã", "Tứ Kỳ")]


def test_vietnamese_headers(tmp_path):
    text = "Mã,Tên đơn vị,Loại,Nhóm\n30512,Xã Chí Minh,Xã,Tứ Kỳ\n30515,Phường Hoàng Văn Thụ,,Thành phố\n08,Chí Linh,phường,\n"
    units = load_units(write_csv(tmp_path, text, encoding="utf-8-sig"))
    assert [u.code for u in units] == ["30512", "30515", "08"]  # codes stay text: leading zeros kept
    assert units[0].kind == "xã" and units[0].group == "Tứ Kỳ"  # “Xã” in the Loại column
    assert units[1].kind == "phường" and units[1].group == "Thành phố"
    assert units[2].kind == "phường" and units[2].group is None
    assert units[2].full_name == "phường Chí Linh"


def test_decomposed_text_is_normalised(tmp_path):
    text = unicodedata.normalize("NFD", "Mã,Tên đơn vị\n30515,Phường Hoàng Văn Thụ\n")
    units = load_units(write_csv(tmp_path, text))
    assert units[0].name == unicodedata.normalize("NFC", "Phường Hoàng Văn Thụ")
    assert units[0].kind == "phường"


def test_xlsx(tmp_path):
    path = write_xlsx(tmp_path, [
        ["Mã", "Tên đơn vị", "Loại", "Nhóm"],
        [30512, "Xã Chí Minh", "xã", "Tứ Kỳ"],
        ["00123", "Thị trấn Thanh Miện", None, None],
        [30515.0, "Phường Hoàng Văn Thụ", None, "Thành phố"],
    ])
    units = load_units(path)
    assert units == [
        Unit("30512", "Xã Chí Minh", "xã", "Tứ Kỳ"),
        Unit("00123", "Thị trấn Thanh Miện", "thị trấn", None),
        Unit("30515", "Phường Hoàng Văn Thụ", "phường", "Thành phố"),
    ]


def test_semicolon_separated_csv(tmp_path):
    text = "code;name;group\n30512;Xã Chí Minh;Tứ Kỳ, cũ\n30513;Thị trấn Thanh Miện;Thanh Miện\n"
    units = load_units(write_csv(tmp_path, text))
    assert units == [
        Unit("30512", "Xã Chí Minh", "xã", "Tứ Kỳ, cũ"),
        Unit("30513", "Thị trấn Thanh Miện", "thị trấn", "Thanh Miện"),
    ]


def test_comma_csv_with_quoted_commas_and_semicolons(tmp_path):
    text = 'code,name\n30512,"Xã Chí Minh, huyện Tứ Kỳ"\n30513,Xã A;B\n'
    units = load_units(write_csv(tmp_path, text))
    assert [u.name for u in units] == ["Xã Chí Minh, huyện Tứ Kỳ", "Xã A;B"]


@pytest.mark.parametrize("name,kind,bare", [
    ("Phường Hoàng Văn Thụ", "phường", "Hoàng Văn Thụ"),
    ("Thị trấn Thanh Miện", "thị trấn", "Thanh Miện"),
    ("Xã Chí Minh", "xã", "Chí Minh"),
    ("Chí Minh", None, "Chí Minh"),
])
def test_kind_is_inferred_from_the_name(tmp_path, name, kind, bare):
    unit = load_units(write_csv(tmp_path, f"code,name\n1,{name}\n"))[0]
    assert unit.kind == kind
    assert unit.bare_name == bare
    if kind:
        assert unit.committee == f"UBND {kind} {bare}"


def test_kind_column_wins_over_the_name(tmp_path):
    unit = load_units(write_csv(tmp_path, "code,name,kind\n1,Chí Minh,xã\n"))[0]
    assert unit.kind == "xã" and unit.full_name == "xã Chí Minh" and unit.slug == "xa-chi-minh"


# ---- errors ---------------------------------------------------------------------------------


def test_duplicate_code_names_both_rows(tmp_path):
    message = units_error(write_csv(tmp_path, "code,name\n30512,Xã A\n30513,Xã B\n30512,Xã C\n"))
    assert "30512" in message and "dòng 4" in message and "dòng 2" in message
    assert "trùng" in message


def test_empty_code_names_the_row(tmp_path):
    message = units_error(write_csv(tmp_path, "code,name\n30512,Xã A\n ,Xã B\n"))
    assert "dòng 3" in message and "thiếu mã" in message


def test_every_problem_is_reported_at_once(tmp_path):
    message = units_error(write_csv(tmp_path, "code,name\n30512,Xã A\n,Xã B\n30512,Xã C\n30514,\n"))
    assert "dòng 3" in message and "dòng 4" in message and "dòng 5" in message


@pytest.mark.parametrize("header,missing", [
    ("code,ten_xa", "Tên đơn vị"),
    ("ma_so,name", "Mã"),
    ("code", "Tên đơn vị"),
])
def test_missing_column_names_the_header_row(tmp_path, header, missing):
    message = units_error(write_csv(tmp_path, f"{header}\n30512,Xã A\n"))
    assert "thiếu cột" in message and missing in message and "dòng 1" in message


def test_empty_file(tmp_path):
    assert "trống" in units_error(write_csv(tmp_path, ""))
    assert "trống" in units_error(write_csv(tmp_path, "\n \n,,\n", name="blank.csv"))


def test_header_only(tmp_path):
    assert "không có đơn vị nào" in units_error(write_csv(tmp_path, "code,name\n"))


def test_non_utf8_file(tmp_path):
    message = units_error(write_csv(tmp_path, "code,name\n30512,Xã Chí Minh\n", encoding="latin-1"))
    assert "UTF-8" in message and "units.csv" in message


def test_unknown_kind_names_the_row(tmp_path):
    message = units_error(write_csv(tmp_path, "code,name,kind\n30512,Xã A,xã\n30513,Huyện B,huyện\n"))
    assert "dòng 3" in message and "huyện" in message


def test_missing_file():
    with pytest.raises(UnitsError) as info:
        load_units(Path("/nonexistent/units.csv"))
    assert "Không tìm thấy" in str(info.value)


def test_damaged_xlsx(tmp_path):
    path = tmp_path / "units.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    assert "Không đọc được" in units_error(path)


def test_row_numbers_count_blank_rows_csv(tmp_path):
    message = units_error(write_csv(tmp_path, "code,name\n30512,Xã A\n\n30512,Xã B\n"))
    assert "dòng 4" in message, message  # the duplicate is on the file's 4th line


def test_row_numbers_count_blank_rows_xlsx(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], [30512, "Xã A"], [None, None], [None, "Xã B"]])
    message = units_error(path)
    assert "dòng 4" in message, message  # Excel shows the code-less row as row 4


# ---- units files as offices keep them: title rows, contacts, repeated names ----------------


def test_xlsx_with_title_rows_above_the_header_and_contacts(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "UBND HUYỆN TỨ KỲ"
    ws["A2"] = "DANH SÁCH ĐƠN VỊ CẤP XÃ VÀ ĐẦU MỐI LIÊN HỆ CCHC NĂM 2024"
    ws.merge_cells("A2:F2")
    ws["A3"] = "(Kèm theo Công văn số 123/UBND-NV ngày 01/11/2024)"
    ws.append([])
    ws.append(["STT", "Mã", "Tên đơn vị", "Loại", "Thư điện tử", "Điện thoại/Zalo"])
    ws.append([1, 30512, "Xã Chí Minh", "xã", "vanphong@chiminh.gov.vn", 912345678])  # Excel dropped the 0
    ws.append([2, 30513, "Thị trấn Thanh Miện", "thị trấn", None, "0987 654 321"])
    path = tmp_path / "don-vi.xlsx"
    wb.save(path)
    units = load_units(path)
    assert [(u.code, u.name, u.kind, u.email, u.phone) for u in units] == [
        ("30512", "Xã Chí Minh", "xã", "vanphong@chiminh.gov.vn", "0912345678"),
        ("30513", "Thị trấn Thanh Miện", "thị trấn", None, "0987 654 321"),
    ]


def test_csv_exported_with_a_title_row_and_english_contact_headers(tmp_path):
    text = ("DANH SÁCH ĐƠN VỊ,,,\n,,,\ncode,name,email,phone\n"
            "30512,Xã Chí Minh,vp@chiminh.vn,+84 912 345 678\n30513,Xã Thanh Xá,,\n")
    units = load_units(write_csv(tmp_path, text))
    assert [(u.code, u.email, u.phone) for u in units] == [("30512", "vp@chiminh.vn", "+84 912 345 678"),
                                                           ("30513", None, None)]


@pytest.mark.parametrize("header", ["Zalo", "Số điện thoại", "SĐT"])
def test_phone_header_aliases(tmp_path, header):
    units = load_units(write_csv(tmp_path, f"Mã,Tên đơn vị,{header}\n30512,Xã Chí Minh,0912345678\n"))
    assert units[0].phone == "0912345678"


def test_a_header_below_the_first_rows_is_not_guessed(tmp_path):
    rows = "\n".join(f"Dòng tiêu đề {n}" for n in range(1, 21))
    message = units_error(write_csv(tmp_path, rows + "\ncode,name\n30512,Xã A\n"))
    assert "thiếu cột" in message and "dòng 1" in message


def test_two_units_with_the_same_name_are_a_warning_not_an_error(tmp_path):
    path = write_csv(tmp_path, "code,name\n30512,Xã Tân Tiến\n30513,Xã Hòa Bình\n30514,Xã Tân Tiến\n")
    warnings: list = []
    units = load_units(path, warnings)
    assert [u.code for u in units] == ["30512", "30513", "30514"]
    [warning] = warnings
    assert warning.code == "units.duplicate_name" and warning.severity == "warning"
    assert "Dòng 4" in warning.message and "30514" in warning.message and "30512" in warning.message
    assert "dòng 2" in warning.message and warning.file == "units.csv"
    assert load_units(path) == units  # without a list, the same units and no exception


def test_same_proper_name_of_different_kinds_is_not_a_duplicate(tmp_path):
    warnings: list = []
    load_units(write_csv(tmp_path, "code,name\n30512,Xã Tân Tiến\n30513,Phường Tân Tiến\n"), warnings)
    assert warnings == []


# ---- the period -----------------------------------------------------------------------------


@pytest.mark.parametrize("text,key,label", [
    ("2024", "2024", "năm 2024"),
    ("2024-H1", "2024-H1", "6 tháng đầu năm 2024"),
    ("2024-h2", "2024-H2", "6 tháng cuối năm 2024"),
    (" 2025 ", "2025", "năm 2025"),
])
def test_parse_period(text, key, label):
    period = parse_period(text)
    assert isinstance(period, Period)
    assert period.key == key == str(period)
    assert period.label == label


@pytest.mark.parametrize("text", ["24", "2024-H3", "2024-H0", "H1-2024", "2024/1", "", "năm 2024", "1999"])
def test_invalid_period(text):
    with pytest.raises(PeriodError) as info:
        parse_period(text)
    assert isinstance(info.value, CchcError)
    message = str(info.value)
    assert "không hợp lệ" in message


# ---- file-name slugs ------------------------------------------------------------------------


@pytest.mark.parametrize("text,slug", [
    ("Thị trấn Thanh Miện", "thi-tran-thanh-mien"),
    ("xã Chí Minh", "xa-chi-minh"),
    ("phường Đồng Tâm", "phuong-dong-tam"),
    ("ĐẠI ĐỒNG đường", "dai-dong-duong"),
    (unicodedata.normalize("NFD", "Thị trấn Thanh Miện"), "thi-tran-thanh-mien"),
    ("xã  Hà Bắc (cũ)", "xa-ha-bac-cu"),
    ("!!!", "don-vi"),
])
def test_ascii_slug(text, slug):
    result = ascii_slug(text)
    assert result == slug
    assert result.isascii()


def test_unit_slug_uses_the_kind_and_proper_name():
    assert Unit("30513", "Thị trấn Thanh Miện", "thị trấn").slug == "thi-tran-thanh-mien"
    assert Unit("30512", "Chí Minh", "xã").slug == "xa-chi-minh"


def test_units_problems_are_catalogue_findings_with_their_cells(tmp_path):
    path = write_csv(tmp_path, "code,name,kind\n30512,Xã A,xã\n,Xã B,xã\n30512,Xã C,xã\n30514,Xã D,huyện\n")
    with pytest.raises(UnitsError) as info:
        load_units(path)
    error = info.value
    assert error.code == "units.has_errors"
    assert [(f.code, f.cell, f.file) for f in error.findings] == [
        ("units.missing_code", "A3", "units.csv"), ("units.duplicate_code", "A4", "units.csv"),
        ("units.bad_kind", "C5", "units.csv")]
    assert all(f.message in str(error) for f in error.findings)


def test_period_errors_carry_their_code():
    with pytest.raises(PeriodError) as info:
        parse_period("2024-H3")
    assert info.value.code == "period.invalid" and "2024-H3" in str(info.value)
