"""Builders of hostile and unusual workbooks for the reader's tests and its fuzzer (issue 12).

Every builder starts from a real generated template (or a LibreOffice re-save of one, kept in
tests/fixtures/) and changes one thing the way a crafted or broken file does: a cell's stored
value, an XML attribute, a zip header field, an extra part.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from decimal import Decimal
from pathlib import Path

import olefile

from cchc_xls.generate import Entries
from cchc_xls.rubric import load_rubric

from corpus import rewrite_zip
from support import CHI_MINH_EVIDENCE, CHI_MINH_SCORES, make_template

D = Decimal
RUBRIC = load_rubric("hai-duong-2022")
FIXTURES = Path(__file__).parent / "fixtures"
# tests/fixtures/chi-minh.{xls,ods}: Xã Chí Minh's filled template (seed 003, 75 points, hai-duong-2022,
# period 2024) converted by LibreOffice 7 (`soffice --convert-to xls|ods`); committed so that the
# fuzzer runs without LibreOffice.
CHI_MINH_XLS = FIXTURES / "chi-minh.xls"
CHI_MINH_ODS = FIXTURES / "chi-minh.ods"
CHI_MINH_TOTAL = D(75)
MAIN_PART = "xl/worksheets/sheet1.xml"  # xlsxwriter writes the table sheet first

# Rows as generated (header on row 9, one row per rubric node in rubric order); scores in D.
ROW = {node.code: 10 + index for index, node in enumerate(RUBRIC.nodes())}


def filled_xlsx(folder: Path, name: str = "30512.xlsx", scores: dict | None = None) -> Path:
    """Chí Minh's template as Excel saves it once filled (cached results included)."""
    values = {code: D(v) for code, v in CHI_MINH_SCORES.items()}
    values.update(scores or {})
    entries = Entries(scores=values, evidence=dict(CHI_MINH_EVIDENCE), explanations={})
    return make_template(folder, entries=entries, name=name)


def part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def with_part(data: bytes, name: str, content: bytes) -> bytes:
    return rewrite_zip(data, {name: content})


def set_cached(data: bytes, ref: str, stored: str, part_name: str = MAIN_PART) -> bytes:
    """The workbook with the stored value (<v>) of cell `ref` replaced by `stored`, as a crafted
    file or another program would write it (the formula, if any, is kept)."""
    xml = part(data, part_name).decode("utf-8")
    pattern = re.compile(r'(<c r="%s"[^>]*?)(/>|>(.*?)</c>)' % ref)
    match = pattern.search(xml)
    assert match, f"cell {ref} not found in {part_name}"
    formula = re.search(r"<f>.*?</f>", match.group(3) or "")
    inner = (formula.group(0) if formula else "") + f"<v>{stored}</v>"
    head = re.sub(r' t="[^"]*"', "", match.group(1))
    xml = xml[:match.start()] + f"{head}>{inner}</c>" + xml[match.end():]
    return with_part(data, part_name, xml.encode("utf-8"))


def edit_xml(data: bytes, part_name: str, old: str, new: str, count: int = 1) -> bytes:
    xml = part(data, part_name).decode("utf-8")
    assert old in xml, f"{old!r} not in {part_name}"
    return with_part(data, part_name, xml.replace(old, new, count).encode("utf-8"))


def score_ref(code: str) -> str:
    return f"D{ROW[code]}"


# ---------------------------------------------------------------------------------------------
# zip headers


def _central_entries(data: bytes):
    """(offset of each central directory entry, its file name bytes)."""
    end = data.rindex(b"PK\x05\x06")
    count, size, offset = struct.unpack_from("<HII", data, end + 10)
    pos = offset
    for _ in range(count):
        assert data[pos:pos + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        yield pos, data[pos + 46: pos + 46 + name_len]
        pos += 46 + name_len + extra_len + comment_len


def patch_member(data: bytes, member: str, *, flag_or: int = 0, method: int | None = None,
                 version: int | None = None, name: bytes | None = None) -> bytes:
    """The zip with one member's header fields changed in both its local header and its central
    directory entry: general-purpose flags (bit 0: encrypted, bit 11: UTF-8 name), compression
    method (9: Deflate64, 99: AES), version needed to extract (161: "16.1"), or its name bytes
    (same length)."""
    out = bytearray(data)
    for pos, raw in _central_entries(data):
        if raw != member.encode("utf-8"):
            continue
        local = struct.unpack_from("<I", data, pos + 42)[0]
        for base, version_at, flag_at, method_at, name_at in ((pos, 6, 8, 10, 46), (local, 4, 6, 8, 30)):
            if version is not None:
                struct.pack_into("<H", out, base + version_at, version)
            flags = struct.unpack_from("<H", out, base + flag_at)[0]
            struct.pack_into("<H", out, base + flag_at, flags | flag_or)
            if method is not None:
                struct.pack_into("<H", out, base + method_at, method)
            if name is not None:
                assert len(name) == len(raw)
                out[base + name_at: base + name_at + len(name)] = name
        return bytes(out)
    raise AssertionError(f"{member} not in the zip")


def break_central_directory(data: bytes) -> bytes:
    """The end-of-central-directory record pointing past the end of the file."""
    out = bytearray(data)
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<I", out, end + 16, len(data) + 1000)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# .ods, .xls and .xlsb


ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def minimal_ods(tables: str) -> bytes:
    """A hand-made .ods whose body is `tables` (table:table elements)."""
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS} office:version="1.2">'
               f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
               "</office:document-content>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content)
    return out.getvalue()


def xls_far_cell(data: bytes, row: int = 65535, col: int = 255) -> bytes:
    """The .xls with its last number cell (a NUMBER or RK record) moved to (row, col), 0-based:
    the same 60-odd KB, one far cell (what a crafted file or one stray keystroke at IV65536 does)."""
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        stream = bytearray(ole.openstream("Workbook").read())
    pos, last = 0, None
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind in (0x0203, 0x027E):
            last = pos
        pos += 4 + size
    assert last is not None, "no number cell"
    struct.pack_into("<HH", stream, last + 4, row, col)
    buffer = io.BytesIO(data)
    with olefile.OleFileIO(buffer, write_mode=True) as ole:
        ole.write_stream("Workbook", bytes(stream))
    return buffer.getvalue()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _record(kind: int, body: bytes = b"") -> bytes:
    return _varint(kind) + _varint(len(body)) + body


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def minimal_xlsb(sheets: list[tuple[str, dict[tuple[int, int], object]]]) -> bytes:
    """A hand-made Excel binary workbook (.xlsb, BIFF12 records): `sheets` is [(name, {(row,
    col): str or number})], 1-based. Excel writes the same records, with styles besides."""
    workbook = _record(0x83) + _record(0x8F)  # BrtBeginBook, BrtBeginBundleShs
    rels = ['<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">']
    parts = {}
    for index, (name, cells) in enumerate(sheets, start=1):
        workbook += _record(0x9C, struct.pack("<II", 0, index) + _wide(f"rId{index}") + _wide(name))  # BrtBundleSh
        rels.append(f'<Relationship Id="rId{index}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/worksheet" Target="worksheets/sheet{index}.bin"/>')
        last_row = max((r for r, _ in cells), default=1) - 1
        last_col = max((c for _, c in cells), default=1) - 1
        body = _record(0x81) + _record(0x94, struct.pack("<IIII", 0, last_row, 0, last_col)) + _record(0x91)
        rows: dict[int, list] = {}
        for (row, col), value in sorted(cells.items()):
            rows.setdefault(row - 1, []).append((col - 1, value))
        for row, values in sorted(rows.items()):
            body += _record(0x00, struct.pack("<IIHHI", row, 0, 300, 0, 0) + b"\x00")  # BrtRowHdr
            for col, value in values:
                if isinstance(value, str):
                    body += _record(0x06, struct.pack("<II", col, 0) + _wide(value))  # BrtCellSt
                else:
                    body += _record(0x05, struct.pack("<IId", col, 0, float(value)))  # BrtCellReal
        parts[f"xl/worksheets/sheet{index}.bin"] = body + _record(0x92) + _record(0x82)
    workbook += _record(0x90) + _record(0x84)
    rels.append("</Relationships>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                    'openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType="application/'
                    'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>')
        zf.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.bin"/>'
                    "</Relationships>")
        zf.writestr("xl/workbook.bin", workbook)
        zf.writestr("xl/_rels/workbook.bin.rels", "".join(rels))
        for name, body in parts.items():
            zf.writestr(name, body)
    return out.getvalue()


def xlsb_of_return(ret_book) -> bytes:
    """The sheets of a Book (as read from a real return) written again as an .xlsb."""
    sheets = []
    for sheet in ret_book.sheets:
        cells = {}
        for key, cell in sheet.cells.items():
            if isinstance(cell.value, (str, float, int)) and not isinstance(cell.value, bool):
                cells[key] = cell.value
        sheets.append((sheet.name, cells))
    return minimal_xlsb(sheets)


STRICT = {
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main": "http://purl.oclc.org/ooxml/spreadsheetml/main",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships": "http://purl.oclc.org/ooxml/officeDocument/relationships",
    "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties": "http://purl.oclc.org/ooxml/officeDocument/customProperties",
    "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes": "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
}


def as_strict(data: bytes) -> bytes:
    """The workbook as Excel's "Strict Open XML Spreadsheet" save writes it: the same parts in
    the ISO/IEC 29500 Strict namespaces, the workbook marked conformance="strict"."""
    replaced = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if not name.endswith((".xml", ".rels")):
                continue
            text = zf.read(name).decode("utf-8")
            for old, new in STRICT.items():
                text = text.replace(old, new)
            if name == "xl/workbook.xml":
                text = text.replace("<workbook ", '<workbook conformance="strict" ', 1)
            replaced[name] = text.encode("utf-8")
    return rewrite_zip(data, replaced)
