"""cchc_xls/workbook.py: the safe reader every returned file goes through (issue 4).

Real generated workbooks and hand-made parts, read straight from their bytes: values, formulas,
dates, sheet states, protection, custom properties; and every hostile or broken file a mailbox
brings (zip bombs, XML entities, Word files, truncated downloads, encrypted files) refused with
the catalogue code the harvest reports. The LibreOffice tests read real .ods and .xls re-saves.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter

from cchc_xls.findings import CATALOGUE
from cchc_xls.generate import Entries
from cchc_xls.layout import GUIDE_SHEET, MAIN_SHEET, META_SHEET, PROPERTY_PREFIX, cell_ref
from cchc_xls.units import Unit
from cchc_xls.workbook import (
    MAX_PARTS, OLE_MAGIC, Book, WorkbookError, col_index, open_book, sniff,
)

from support import CHI_MINH_EVIDENCE, CHI_MINH_SCORES, libreoffice_convert, make_template, needs_libreoffice

D = Decimal
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
ALL = lambda name, state: True  # noqa: E731 - the `wanted` callback: parse every sheet

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


# ---------------------------------------------------------------------------------------------
# Helpers


def read(path: Path, wanted=ALL) -> Book:
    return open_book(path, path.read_bytes(), wanted)


def refused(data: bytes, name: str = "tep.xlsx") -> WorkbookError:
    """The WorkbookError open_book raises for these bytes (fails the test if it reads them)."""
    with pytest.raises(WorkbookError) as caught:
        open_book(Path(name), data, ALL)
    error = caught.value
    assert error.code in CATALOGUE
    return error


def replace_parts(data: bytes, parts: dict[str, bytes | None]) -> bytes:
    """The same zip with some parts replaced (bytes), added, or removed (None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in parts:
                continue
            dst.writestr(info, src.read(info))
        for name, content in parts.items():
            if content is not None:
                dst.writestr(name, content)
    return out.getvalue()


def minimal_xlsx(sheets: list[tuple[str, str, str]], shared: str | None = None, styles: str | None = None,
                 extra: dict[str, bytes] | None = None) -> bytes:
    """A hand-made xlsx: `sheets` is [(name, state, <sheetData> inner XML)]."""
    workbook = [XML_DECL, f'<workbook xmlns="{NS}" xmlns:r="{NS_R}"><sheets>']
    rels = [XML_DECL, '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">']
    parts = {}
    for index, (name, state, data) in enumerate(sheets, start=1):
        state_attr = f' state="{state}"' if state != "visible" else ""
        workbook.append(f'<sheet name="{name}" sheetId="{index}"{state_attr} r:id="rId{index}"/>')
        rels.append(f'<Relationship Id="rId{index}" Target="worksheets/sheet{index}.xml" '
                    f'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>')
        parts[f"xl/worksheets/sheet{index}.xml"] = (XML_DECL + f'<worksheet xmlns="{NS}"><sheetData>{data}</sheetData>'
                                                    f'</worksheet>').encode()
    workbook.append("</sheets></workbook>")
    rels.append("</Relationships>")
    parts["xl/workbook.xml"] = "".join(workbook).encode()
    parts["xl/_rels/workbook.xml.rels"] = "".join(rels).encode()
    if shared is not None:
        parts["xl/sharedStrings.xml"] = (XML_DECL + f'<sst xmlns="{NS}">{shared}</sst>').encode()
    if styles is not None:
        parts["xl/styles.xml"] = (XML_DECL + f'<styleSheet xmlns="{NS}">{styles}</styleSheet>').encode()
    parts.update(extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return out.getvalue()


def values(sheet) -> dict[str, object]:
    """{A1 ref: value} of a parsed sheet."""
    return {cell_ref(r - 1, c - 1): cell.value for (r, c), cell in sheet.cells.items()}


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """Xã Chí Minh's template rendered already filled (cached formula results, as Excel saves)."""
    folder = tmp_path_factory.mktemp("filled")
    entries = Entries(scores={c: D(v) for c, v in CHI_MINH_SCORES.items()}, evidence=dict(CHI_MINH_EVIDENCE))
    return make_template(folder, unit=CHI_MINH, entries=entries)


@pytest.fixture(scope="module")
def filled_bytes(filled) -> bytes:
    return filled.read_bytes()


# ---------------------------------------------------------------------------------------------
# Small pieces


def test_col_index_and_sniff():
    assert [col_index(x) for x in ("A", "D", "Z", "AA", "AZ", "BA")] == [1, 4, 26, 27, 52, 53]
    assert sniff(b"PK\x03\x04rest") == "zip"
    assert sniff(OLE_MAGIC) == "ole"
    assert sniff(b"%PDF-1.7") == "other"


# ---------------------------------------------------------------------------------------------
# A generated .xlsx, read back


def test_generated_template_is_read_with_values_formulas_states_and_identity(filled):
    book = read(filled)
    assert book.format == "xlsx" and book.formulas_known and not book.has_macros
    assert [(s.name, s.state) for s in book.sheets] == [
        (MAIN_SHEET, "visible"), (GUIDE_SHEET, "visible"), (META_SHEET, "veryHidden")]
    main = book.sheet(MAIN_SHEET)
    assert main.protected is True
    # Row 9 is the header, 1.1 (a parent) is row 12, 1.1.1 is row 13.
    assert [main.value(9, c) for c in range(1, 7)] == [
        "STT", "Lĩnh vực/Tiêu chí", "Điểm tối đa", "Điểm tự đánh giá", "Tài liệu kiểm chứng", "Nội dung giải trình"]
    assert main.value(13, 1) == "1.1.1" and main.value(13, 3) == 0.5 and main.value(13, 4) == 0.5
    assert main.cells[(13, 4)].formula is None
    assert main.value(13, 5) == CHI_MINH_EVIDENCE["1.1.1"]
    parent = main.cells[(12, 4)]
    assert parent.formula and parent.formula.startswith("SUM(") and parent.value == 2.5
    # The identity, three ways: custom properties, the very hidden sheet, a visible line.
    assert book.properties[PROPERTY_PREFIX + "unit_code"] == "30512"
    assert book.properties[PROPERTY_PREFIX + "rubric_id"] == "hai-duong-2022"
    assert book.properties[PROPERTY_PREFIX + "period"] == "2024"
    meta = book.sheet(META_SHEET)
    keys = {meta.value(r, 1): meta.value(r, 2) for r in range(1, 20) if meta.value(r, 1)}
    assert keys["unit_code"] == "30512" and keys["unit_name"] == "Xã Chí Minh"
    assert any(isinstance(c.value, str) and "CCHC[" in c.value and "unit_code=30512" in c.value
               for c in main.cells.values())
    assert book.modified is not None and book.modified.tzinfo is not None


def test_only_wanted_sheets_are_parsed_the_others_are_listed(filled):
    book = read(filled, wanted=lambda name, state: name == MAIN_SHEET)
    assert [s.name for s in book.sheets] == [MAIN_SHEET, GUIDE_SHEET, META_SHEET]
    assert book.sheet(MAIN_SHEET).cells
    assert book.sheet(GUIDE_SHEET).cells == {} and book.sheet(META_SHEET).cells == {}
    assert book.sheet("không có") is None


def test_cell_kinds_numbers_strings_inline_rich_booleans_errors_formulas_and_dates():
    styles = (
        '<numFmts count="3">'
        '<numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
        '<numFmt numFmtId="165" formatCode="0.00&quot; điểm&quot;"/>'
        '<numFmt numFmtId="166" formatCode="[Red]0.0"/>'
        '</numFmts>'
        '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/>'
        '<xf numFmtId="166"/></cellXfs>'
    )
    shared = '<si><t>Đạt</t></si><si><r><t>Kế hoạch </t></r><r><rPr><b/></rPr><t>số 47</t></r></si>'
    data = (
        '<row r="1">'
        '<c r="A1"><v>2.5</v></c>'
        '<c r="B1" t="s"><v>0</v></c>'
        '<c r="C1" t="s"><v>1</v></c>'
        '<c r="D1" t="inlineStr"><is><t>2,5</t></is></c>'
        '<c r="E1" t="b"><v>1</v></c>'
        '<c r="F1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="G1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
        '</row><row r="2">'
        '<c r="A2"><f t="shared" ref="A2:C2" si="0">A1*2</f><v>5</v></c>'
        '<c r="B2"><f t="shared" si="0"/><v>4</v></c>'
        '<c r="C2" s="1"><v>45366</v></c>'
        '<c r="D2" s="2"><v>45366</v></c>'
        '<c r="E2" s="3"><v>2.25</v></c>'
        '<c r="F2" s="4"><v>1.5</v></c>'
        '<c r="G2"><f>SUM(A1:A2)</f></c>'
        '</row>'
    )
    book = open_book(Path("x.xlsx"), minimal_xlsx([("Tờ 1", "visible", data)], shared, styles), ALL)
    sheet = book.sheets[0]
    assert values(sheet) == {
        "A1": 2.5, "B1": "Đạt", "C1": "Kế hoạch số 47", "D1": "2,5", "E1": True, "F1": "#DIV/0!", "G1": "ab",
        "A2": 5.0, "B2": 4.0, "C2": 45366.0, "D2": 45366.0, "E2": 2.25, "F2": 1.5, "G2": None,
    }
    cells = sheet.cells
    assert cells[(2, 1)].formula == "A1*2" and cells[(2, 2)].formula == "A1*2"  # the shared formula's children
    assert cells[(1, 7)].formula and cells[(2, 7)].formula == "SUM(A1:A2)"  # no cached result: value None
    # Dates: built-in format 14 and a custom d/m/y format; a quoted “ điểm” or [Red] is not a date.
    assert [cells[(2, c)].is_date for c in range(3, 7)] == [True, True, False, False]
    assert not cells[(1, 1)].is_date
    assert sheet.protected is False
    assert book.properties == {} and book.modified is None


def test_phonetic_runs_are_not_part_of_the_text():
    shared = '<si><t>Đạt</t><rPh sb="0" eb="1"><t>ダツ</t></rPh><phoneticPr fontId="1"/></si>'
    book = open_book(Path("x.xlsx"), minimal_xlsx([("A", "visible", '<row r="1"><c r="A1" t="s"><v>0</v></c></row>')],
                                                  shared), ALL)
    assert book.sheets[0].value(1, 1) == "Đạt"


def test_inline_strings_as_streaming_writers_save_them(tmp_path):
    path = tmp_path / "inline.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Phụ lục I")
    sheet.write_string(0, 0, "Tài liệu kiểm chứng")
    sheet.write_number(0, 1, 0.25)
    workbook.close()
    assert b"inlineStr" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert values(read(path).sheets[0]) == {"A1": "Tài liệu kiểm chứng", "B1": 0.25}


def test_sheet_states_and_protection_are_read():
    protected = '<row r="1"><c r="A1"><v>1</v></c></row></sheetData><sheetProtection sheet="1"/><sheetData>'
    book = open_book(Path("x.xlsx"), minimal_xlsx([
        ("Mở", "visible", '<row r="1"><c r="A1"><v>1</v></c></row>'),
        ("Ẩn", "hidden", protected),
        ("Ẩn hẳn", "veryHidden", ""),
    ]), ALL)
    assert [(s.name, s.state, s.protected) for s in book.sheets] == [
        ("Mở", "visible", False), ("Ẩn", "hidden", True), ("Ẩn hẳn", "veryHidden", False)]


def test_macros_are_detected_and_never_run(filled_bytes, tmp_path):
    xlsm = replace_parts(filled_bytes, {"xl/vbaProject.bin": OLE_MAGIC + b"\0" * 512})
    book = open_book(tmp_path / "phieu.xlsm", xlsm, ALL)
    assert book.has_macros is True
    assert book.sheet(MAIN_SHEET).value(13, 4) == 0.5


# ---------------------------------------------------------------------------------------------
# Hostile files


def _bomb_zip(member: str = "xl/worksheets/sheet1.xml", megabytes: int = 200) -> bytes:
    """A zip whose one member inflates to `megabytes` of zeros (written in chunks, compressed fast)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("xl/workbook.xml", XML_DECL + f'<workbook xmlns="{NS}"><sheets/></workbook>')
        with zf.open(member, "w", force_zip64=True) as out:
            chunk = b"\0" * (1 << 20)
            for _ in range(megabytes):
                out.write(chunk)
    return buffer.getvalue()


def test_zip_bomb_of_200_mb_of_zeros_is_refused_quickly():
    data = _bomb_zip()
    assert len(data) < 2 * 1024 * 1024  # small on disk, 200 MB inflated
    started = time.perf_counter()
    error = refused(data, "Phu luc CCHC.xlsx")
    assert error.code == "file.zip_bomb"
    assert time.perf_counter() - started < 1.0  # judged from the declared sizes, nothing inflated
    assert "sheet1.xml" in error.params["reason"]


def test_zip_whose_header_declares_a_huge_member_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", XML_DECL + f'<workbook xmlns="{NS}"><sheets/></workbook>')
        zf.writestr("xl/sharedStrings.xml", b"<sst/>")
        zf.filelist[-1].file_size = 3 * 1024 ** 3  # the central directory claims 3 GB
    assert refused(buffer.getvalue()).code == "file.zip_bomb"


def test_zip_with_too_many_parts_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("xl/workbook.xml", b"<workbook/>")
        for index in range(MAX_PARTS + 1):
            zf.writestr(f"xl/x/{index}.xml", b"")
    assert refused(buffer.getvalue()).code == "file.zip_bomb"


BILLION_LAUGHS = (
    '<!DOCTYPE sst [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "xl/workbook.xml"])
def test_xml_with_a_doctype_and_entities_is_refused_before_parsing(filled_bytes, part):
    root = {"xl/sharedStrings.xml": "sst", "xl/worksheets/sheet1.xml": "worksheet", "xl/workbook.xml": "workbook"}[part]
    body = (XML_DECL + BILLION_LAUGHS.replace("sst", root, 1) +
            f'<{root} xmlns="{NS}"><si><t>&d;</t></si></{root}>').encode()
    error = refused(replace_parts(filled_bytes, {part: body}))
    assert error.code == "file.xml_entities"
    assert error.params["part"] == part


@pytest.mark.parametrize("encoding", ["utf-8 with a long comment first", "utf-16"])
def test_a_doctype_cannot_hide_behind_a_comment_or_another_encoding(filled_bytes, encoding):
    sst = f'<!DOCTYPE sst [<!ENTITY a "BOOM">]><sst xmlns="{NS}"><si><t>&a;</t></si></sst>'
    if encoding == "utf-16":
        body = ('<?xml version="1.0" encoding="UTF-16"?>' + sst).encode("utf-16")
    else:
        body = (XML_DECL + "<!--" + " " * 5000 + "-->" + sst).encode()
    assert refused(replace_parts(filled_bytes, {"xl/sharedStrings.xml": body})).code == "file.xml_entities"


# ---------------------------------------------------------------------------------------------
# Things that are not workbooks, and broken workbooks


def _zip_of(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("data, what", [
    (_zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}), "Word"),
    (_zip_of({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}), "văn bản"),
    (_zip_of({"anh/1.jpg": b"\xff\xd8\xff"}), "tệp nén"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "ảnh"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 64, "ảnh"),
    (os.urandom(4096).replace(b"PK", b"pk").replace(b"\xd0\xcf", b"\xd0\xce"), "không phải bảng tính"),
], ids=["docx", "odt", "zip-of-photos", "pdf", "png", "jpeg", "random"])
def test_not_a_spreadsheet_says_what_it_is(data, what):
    error = refused(data, "Phu luc CCHC.xlsx")
    assert error.code == "file.not_spreadsheet"
    assert what in error.params["what"]


def test_truncated_download_is_damaged(filled_bytes):
    for cut in (len(filled_bytes) // 2, len(filled_bytes) - 30, 100):
        assert refused(filled_bytes[:cut]).code == "file.damaged"


def test_broken_xml_in_a_sheet_is_damaged(filled_bytes):
    broken = replace_parts(filled_bytes, {"xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><worksheet><sheetData><row>'})
    error = refused(broken)
    assert error.code == "file.damaged" and "sheet1.xml" in error.params["reason"]


def test_missing_sheet_part_is_damaged(filled_bytes):
    error = refused(replace_parts(filled_bytes, {"xl/worksheets/sheet1.xml": None}))
    assert error.code == "file.damaged"


def test_encrypted_workbook_is_reported_as_encrypted():
    # Excel saves a password-protected .xlsx as an OLE container holding an EncryptedPackage stream.
    data = OLE_MAGIC + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 64 + b"EncryptedPackage" + b"\0" * 512
    assert refused(data, "Phu luc.xlsx").code == "file.encrypted"


def test_garbage_ole_file_is_damaged():
    assert refused(OLE_MAGIC + os.urandom(2048), "Phu luc.xls").code == "file.damaged"


def test_every_refusal_message_is_vietnamese():
    for code in ("file.zip_bomb", "file.xml_entities", "file.damaged", "file.not_spreadsheet", "file.encrypted"):
        severity, message = CATALOGUE[code]
        assert severity.value == "error"
        assert any(ch in message for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


# ---------------------------------------------------------------------------------------------
# Re-saves by LibreOffice: .ods and .xls


@pytest.fixture(scope="module")
def resaved(tmp_path_factory, filled) -> dict[str, Path]:
    needs_libreoffice()
    folder = tmp_path_factory.mktemp("resaved")
    return {
        "ods": libreoffice_convert(filled, "ods", folder / "ods"),
        "xls": libreoffice_convert(filled, "xls:MS Excel 97", folder / "xls"),
    }


@pytest.mark.libreoffice
def test_ods_resaved_by_libreoffice_keeps_values_formulas_hidden_sheet_and_properties(resaved):
    needs_libreoffice()
    book = read(resaved["ods"])
    assert book.format == "ods" and book.formulas_known
    assert [(s.name, s.state) for s in book.sheets] == [
        (MAIN_SHEET, "visible"), (GUIDE_SHEET, "visible"), (META_SHEET, "hidden")]  # very hidden is lost in .ods
    main = book.sheet(MAIN_SHEET)
    assert main.protected is True
    assert [main.value(9, c) for c in range(1, 7)] == [
        "STT", "Lĩnh vực/Tiêu chí", "Điểm tối đa", "Điểm tự đánh giá", "Tài liệu kiểm chứng", "Nội dung giải trình"]
    assert main.value(5, 1) == "Đơn vị: UBND xã Chí Minh (mã đơn vị: 30512)"  # a merged cell
    assert (main.value(13, 1), main.value(13, 4), main.value(13, 5)) == ("1.1.1", 0.5, CHI_MINH_EVIDENCE["1.1.1"])
    assert main.value(30, 1) == "1.7" and main.value(30, 4) == 2.9
    parent = main.cells[(12, 4)]
    assert parent.formula and "SUM" in parent.formula and parent.value == 2.5
    assert book.properties[PROPERTY_PREFIX + "unit_code"] == "30512"
    assert book.properties[PROPERTY_PREFIX + "rubric_id"] == "hai-duong-2022"
    meta = book.sheet(META_SHEET)
    assert {meta.value(r, 1): meta.value(r, 2) for r in range(2, 13)}["unit_code"] == "30512"
    assert isinstance(book.modified, datetime)


@pytest.mark.libreoffice
def test_xls_resaved_by_libreoffice_is_read_through_calamine(resaved):
    needs_libreoffice()
    book = read(resaved["xls"])
    assert book.format == "xls" and book.formulas_known is False
    assert [s.name for s in book.sheets] == [MAIN_SHEET, GUIDE_SHEET, META_SHEET]
    assert book.sheet(META_SHEET).state in ("hidden", "veryHidden")
    main = book.sheet(MAIN_SHEET)
    assert (main.value(13, 1), main.value(13, 4)) == ("1.1.1", 0.5)
    assert main.value(12, 4) == 2.5  # the formula's cached result (formulas themselves are unknown)
    assert main.value(30, 4) == 2.9
