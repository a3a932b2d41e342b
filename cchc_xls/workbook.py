"""Open any returned spreadsheet safely and expose it as plain data: sheets, cells, properties.

`.xlsx`/`.xlsm` and `.ods` are read straight from their zip parts with the standard library's
XML parser (fast, and nothing runs: macros are never loaded); `.xls` goes through calamine.
Every part's declared size is checked before anything is inflated (zip bombs), and any XML with
a DTD is refused before parsing (entity expansion, external entities).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

# A filled template's largest part is well under 1 MB; a 32,767-character text in every cell of
# the largest rubric stays under these. Beyond them a file is refused before it is inflated.
MAX_PART_BYTES = 12 * 1024 * 1024  # one XML part, inflated
MAX_TOTAL_BYTES = 48 * 1024 * 1024  # all parts, inflated
MAX_RATIO = 100  # inflated / compressed, for parts over 1 MB (XML compresses 5-20 times)
MAX_PARTS = 5000

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_DCTERMS = "http://purl.org/dc/terms/"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

_REF = re.compile(r"^([A-Z]+)(\d+)$")
_DATE_CODES = re.compile(r"(?<!\\)[dmyhs]", re.IGNORECASE)
BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(45, 48))


class WorkbookError(Exception):
    """The file cannot be read as a workbook; `code` is a findings catalogue code."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Cell:
    value: object  # None, str, float, bool
    formula: str | None = None
    is_date: bool = False


@dataclass
class Sheet:
    name: str
    state: str  # visible | hidden | veryHidden
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)  # (row, col), 1-based
    protected: bool | None = None  # None: the format does not tell

    def value(self, row: int, col: int):
        cell = self.cells.get((row, col))
        return None if cell is None else cell.value

    @property
    def max_row(self) -> int:
        return max((r for r, _ in self.cells), default=0)


@dataclass
class Book:
    format: str  # xlsx | ods | xls
    sheets: list[Sheet]
    properties: dict[str, str] = field(default_factory=dict)  # custom document properties
    modified: datetime | None = None
    has_macros: bool = False
    formulas_known: bool = True  # False for .xls: calamine gives values only
    default_encryption: bool = False  # opened with Excel's built-in read-only password

    def sheet(self, name: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        return None


def col_index(letters: str) -> int:
    result = 0
    for char in letters:
        result = result * 26 + ord(char) - 64
    return result


def sniff(head: bytes) -> str:
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    return "other"


# ---------------------------------------------------------------------------------------------
# Safe zip and XML


def check_zip(zf: zipfile.ZipFile) -> None:
    """Refuse an archive whose declared sizes would inflate past any sane workbook."""
    infos = zf.infolist()
    if len(infos) > MAX_PARTS:
        raise WorkbookError("file.zip_bomb", reason=f"{len(infos)} phần")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > MAX_PART_BYTES or total > MAX_TOTAL_BYTES:
            raise WorkbookError("file.zip_bomb", reason=f"phần {info.filename} bung ra {info.file_size:,} byte")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError("file.zip_bomb", reason=f"tỷ lệ nén bất thường ở {info.filename}")


def read_part(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    with zf.open(info) as handle:
        data = handle.read(MAX_PART_BYTES + 1)  # zipfile stops at the declared size
    if len(data) > MAX_PART_BYTES:
        raise WorkbookError("file.zip_bomb", reason=f"phần {name} quá lớn")
    return data


def refuse_dtd(data: bytes, part: str) -> None:
    """Refuse any part with a document type declaration, wherever it is and in any encoding:
    workbooks never need one, and it is how entity-expansion and external-entity attacks start."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        text = data.decode("utf-16", errors="ignore")
        found = "<!DOCTYPE" in text or "<!ENTITY" in text
    else:
        found = b"<!DOCTYPE" in data or b"<!ENTITY" in data
    if found:
        raise WorkbookError("file.xml_entities", part=part)


def parse_xml(data: bytes, part: str) -> ET.Element:
    """Parse an XML part; refuse any DTD (entity expansion, external entities) before parsing."""
    refuse_dtd(data, part)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise WorkbookError("file.damaged", reason=f"XML hỏng ở {part}: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# .xlsx / .xlsm


def _q(tag: str, ns: str = NS_MAIN) -> str:
    return f"{{{ns}}}{tag}"


def _text_of(element: ET.Element) -> str:
    """Text of a shared or inline string: plain <t>, or rich-text runs <r><t>; phonetic guides
    (<rPh>, East-Asian reading aids) are not part of the text."""
    t_tag, r_tag = _q("t"), _q("r")
    parts = []
    for child in element:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            for t in child.iter(t_tag):
                parts.append(t.text or "")
    return "".join(parts)


def _xlsx_date_styles(zf: zipfile.ZipFile) -> set[int]:
    data = read_part(zf, "xl/styles.xml")
    if data is None:
        return set()
    root = parse_xml(data, "xl/styles.xml")
    custom_dates = set()
    numfmts = root.find(_q("numFmts"))
    if numfmts is not None:
        for fmt in numfmts:
            code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", fmt.get("formatCode", ""))
            if _DATE_CODES.search(code):
                custom_dates.add(int(fmt.get("numFmtId", "0")))
    result = set()
    xfs = root.find(_q("cellXfs"))
    if xfs is not None:
        for index, xf in enumerate(xfs):
            num = int(xf.get("numFmtId", "0"))
            if num in BUILTIN_DATE_FORMATS or num in custom_dates:
                result.add(index)
    return result


def _resolve_target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = (base.rsplit("/", 1)[0] + "/" + target).split("/")
    stack = []
    for part in parts:
        if part == "..":
            if stack:
                stack.pop()
        elif part and part != ".":
            stack.append(part)
    return "/".join(stack)


def _xlsx_sheet(zf: zipfile.ZipFile, part: str, name: str, state: str, strings: list[str], dates: set[int]) -> Sheet:
    """One worksheet's cells. The part is parsed in one call of the C parser (a sheet is small),
    then walked row by row; cells without an `r` reference are placed after their neighbour."""
    sheet = Sheet(name, state)
    data = read_part(zf, part)
    if data is None:
        raise WorkbookError("file.damaged", reason=f"thiếu phần {part}")
    root = parse_xml(data, part)
    c_tag, v_tag, f_tag, is_tag = _q("c"), _q("v"), _q("f"), _q("is")
    protection = root.find(_q("sheetProtection"))
    sheet.protected = protection is not None and protection.get("sheet") in ("1", "true")
    sheet_data = root.find(_q("sheetData"))
    shared_formulas: dict[str, str] = {}
    cells = sheet.cells
    row_number = 0
    for row in (sheet_data if sheet_data is not None else ()):
        row_ref = row.get("r")
        row_number = int(row_ref) if row_ref and row_ref.isdigit() else row_number + 1
        col = 0
        for element in row:
            if element.tag != c_tag:
                continue
            ref = element.get("r")
            match = _REF.match(ref) if ref else None
            col = col_index(match.group(1)) if match else col + 1
            kind = element.get("t", "n")
            formula = None
            f = element.find(f_tag)
            if f is not None:
                formula = f.text or ""
                si = f.get("si")
                if f.get("t") == "shared" and si is not None:
                    if formula:
                        shared_formulas[si] = formula
                    else:
                        formula = shared_formulas.get(si, "") or "(shared)"
                formula = formula or "(formula)"
            v = element.find(v_tag)
            raw = v.text if v is not None else None
            value: object = None
            if raw is not None:
                if kind == "n":
                    try:
                        value = float(raw)
                    except ValueError:
                        value = raw
                elif kind == "s":
                    index = int(raw)
                    value = strings[index] if 0 <= index < len(strings) else ""
                elif kind == "b":
                    value = raw == "1"
                else:  # "str" (formula text), "e" (#VALUE! etc. stays text)
                    value = raw
            elif kind == "inlineStr":
                inline = element.find(is_tag)
                value = _text_of(inline) if inline is not None else ""
            if value is not None or formula is not None:
                is_date = kind == "n" and dates and int(element.get("s", "0")) in dates
                cells[(row_number, col)] = Cell(value, formula, bool(is_date))
    return sheet


def read_xlsx(zf: zipfile.ZipFile, wanted) -> Book:
    """`wanted(name, state)` says which sheets to parse (the others are listed, not read)."""
    workbook_xml = read_part(zf, "xl/workbook.xml")
    if workbook_xml is None:
        raise WorkbookError("file.not_spreadsheet", what="tệp nén không phải bảng tính")
    root = parse_xml(workbook_xml, "xl/workbook.xml")
    rels_xml = read_part(zf, "xl/_rels/workbook.xml.rels")
    targets = {}
    if rels_xml is not None:
        for rel in parse_xml(rels_xml, "xl/_rels/workbook.xml.rels"):
            targets[rel.get("Id")] = _resolve_target("xl/workbook.xml", rel.get("Target", ""))
    strings: list[str] = []
    shared = read_part(zf, "xl/sharedStrings.xml")
    if shared is not None:
        for si in parse_xml(shared, "xl/sharedStrings.xml"):
            strings.append(_text_of(si))
    dates = _xlsx_date_styles(zf)
    sheets = []
    sheets_el = root.find(_q("sheets"))
    for element in (sheets_el if sheets_el is not None else []):
        name = element.get("name", "")
        state = element.get("state", "visible")
        rid = element.get(_q("id", NS_REL))
        part = targets.get(rid)
        if part and wanted(name, state):
            sheets.append(_xlsx_sheet(zf, part, name, state, strings, dates))
        else:
            sheets.append(Sheet(name, state))
    book = Book("xlsx", sheets)
    book.has_macros = any(n.lower().endswith("vbaproject.bin") for n in zf.namelist())
    custom = read_part(zf, "docProps/custom.xml")
    if custom is not None:
        for prop in parse_xml(custom, "docProps/custom.xml"):
            value = next((child.text for child in prop), None)
            if prop.get("name"):
                book.properties[prop.get("name")] = value or ""
    core = read_part(zf, "docProps/core.xml")
    if core is not None:
        modified = parse_xml(core, "docProps/core.xml").find(_q("modified", NS_DCTERMS))
        if modified is not None and modified.text:
            book.modified = _parse_time(modified.text)
    return book


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# .ods (LibreOffice / WPS re-saves)

NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
NS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
NS_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
MAX_REPEAT = 256  # copies kept of a repeated run of one value (rows or columns)
MAX_CELLS = 100_000  # a self-assessment sheet has a few thousand; far more is not a return


def _repeat(element: ET.Element, attribute: str) -> int:
    try:
        return max(1, int(element.get(attribute, "1")))
    except ValueError:
        return 1


def _ods_value(cell: ET.Element) -> tuple[object, str | None, bool]:
    O, T = f"{{{NS_OFFICE}}}", f"{{{NS_TABLE}}}"
    kind = cell.get(f"{O}value-type")
    formula = cell.get(f"{T}formula")
    value: object = None
    if kind in ("float", "percentage", "currency"):
        try:
            value = float(cell.get(f"{O}value"))
        except (TypeError, ValueError):
            value = None
    elif kind == "date":
        value = cell.get(f"{O}date-value")
    elif kind == "boolean":
        value = cell.get(f"{O}boolean-value") == "true"
    elif kind == "string" or kind is None:
        text = _ods_text(cell)
        value = text if (text or kind == "string") else None
    return value, formula, kind == "date"


def _ods_text(cell: ET.Element) -> str:
    paragraphs = []
    for p in cell.iter(f"{{{NS_TEXT}}}p"):
        paragraphs.append(_ods_inline(p))
    return "\n".join(paragraphs)


def _ods_inline(element: ET.Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if child.tag == f"{{{NS_TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{NS_TEXT}}}c", "1")))
        elif child.tag == f"{{{NS_TEXT}}}tab":
            parts.append("\t")
        elif child.tag == f"{{{NS_TEXT}}}line-break":
            parts.append("\n")
        else:
            parts.append(_ods_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def read_ods(zf: zipfile.ZipFile, wanted) -> Book:
    content = read_part(zf, "content.xml")
    if content is None:
        raise WorkbookError("file.damaged", reason="thiếu phần content.xml")
    root = parse_xml(content, "content.xml")
    hidden = _ods_hidden_tables(zf, root)
    T = f"{{{NS_TABLE}}}"
    sheets = []
    for table in root.iter(f"{T}table"):
        name = table.get(f"{T}name", "")
        state = "hidden" if name in hidden else "visible"
        sheet = Sheet(name, state)
        sheets.append(sheet)
        if not wanted(name, state):
            continue
        sheet.protected = table.get(f"{T}protected") == "true"
        row_number = 0
        for row in table.iter(f"{T}table-row"):
            row_repeat = _repeat(row, f"{T}number-rows-repeated")
            cells, col = [], 0
            for cell in row:
                if cell.tag not in (f"{T}table-cell", f"{T}covered-table-cell"):
                    continue
                repeat = _repeat(cell, f"{T}number-columns-repeated")
                value, formula, is_date = _ods_value(cell)
                if value is not None or formula:
                    # a repeated run of one value: LibreOffice writes it for filled ranges; keep a
                    # bounded number of copies so a crafted 16,384-wide row cannot fill memory
                    cells.extend((col + offset + 1, Cell(value, formula, is_date)) for offset in range(min(repeat, MAX_REPEAT)))
                col += repeat
            for offset in range(min(row_repeat, MAX_REPEAT) if cells else 0):
                for column, cell in cells:
                    sheet.cells[(row_number + offset + 1, column)] = cell
                if len(sheet.cells) > MAX_CELLS:
                    raise WorkbookError("file.zip_bomb", reason=f"trang {name} có hơn {MAX_CELLS:,} ô")
            row_number += row_repeat
    book = Book("ods", sheets)
    meta = read_part(zf, "meta.xml")
    if meta is not None:
        meta_root = parse_xml(meta, "meta.xml")
        for prop in meta_root.iter(f"{{{NS_META}}}user-defined"):
            book.properties[prop.get(f"{{{NS_META}}}name", "")] = prop.text or ""
        date = meta_root.find(".//{http://purl.org/dc/elements/1.1/}date")
        if date is not None and date.text:
            book.modified = _parse_time(date.text)
    return book


def _ods_hidden_tables(zf: zipfile.ZipFile, content_root: ET.Element) -> set[str]:
    """Sheets hidden in an .ods: by table style (display=false) or by settings.xml."""
    hidden = set()
    S = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
    hidden_styles = set()
    for style in content_root.iter(f"{{{S}}}style"):
        props = style.find(f"{{{S}}}table-properties")
        if props is not None and props.get(f"{{{NS_TABLE}}}display") == "false":
            hidden_styles.add(style.get(f"{{{S}}}name"))
    for table in content_root.iter(f"{{{NS_TABLE}}}table"):
        if table.get(f"{{{NS_TABLE}}}style-name") in hidden_styles:
            hidden.add(table.get(f"{{{NS_TABLE}}}name"))
    return hidden


# ---------------------------------------------------------------------------------------------
# .xls (old binary format) through calamine: values only


def read_xls(data: bytes, wanted) -> Book:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise WorkbookError("file.unsupported", what=".xls") from exc
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for damaged files
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            raise WorkbookError("file.encrypted") from exc
        raise WorkbookError("file.damaged", reason=_short(exc)) from exc
    sheets = []
    try:
        for meta in workbook.sheets_metadata:
            visible = str(meta.visible).split(".")[-1].lower()
            state = {"visible": "visible", "hidden": "hidden", "veryhidden": "veryHidden"}.get(visible, "visible")
            sheet = Sheet(meta.name, state)
            sheets.append(sheet)
            if not wanted(meta.name, state):
                continue
            data = workbook.get_sheet_by_name(meta.name)
            start_row, start_col = data.start or (0, 0)
            for r, row in enumerate(data.to_python(skip_empty_area=False)):
                for c, value in enumerate(row):
                    if value == "" or value is None:
                        continue
                    is_date = hasattr(value, "year")
                    if isinstance(value, int) and not isinstance(value, bool):
                        value = float(value)
                    sheet.cells[(r + 1, c + 1)] = Cell(value if not is_date else str(value), None, is_date)
    except Exception as exc:
        raise WorkbookError("file.damaged", reason=_short(exc)) from exc
    finally:
        workbook.close()
    book = Book("xls", sheets, formulas_known=False)
    return book


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


# ---------------------------------------------------------------------------------------------


DEFAULT_PASSWORD = "VelvetSweatshop"  # what Excel uses for "read-only recommended" encryption


def _decrypt_default(data: bytes) -> bytes | None:
    """None for an unencrypted OLE file (an .xls); the decrypted bytes for a file encrypted with
    Excel's built-in password; WorkbookError("file.encrypted") for one with a real password."""
    try:
        import msoffcrypto
        from msoffcrypto.exceptions import FileFormatError
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        if not office.is_encrypted():
            return None
    except (FileFormatError, Exception):  # a container msoffcrypto cannot parse
        if "EncryptionInfo".encode("utf-16-le") in data[:65536] or b"EncryptedPackage" in data:
            raise WorkbookError("file.encrypted") from None
        return None  # let calamine try it as an .xls
    try:
        office.load_key(password=DEFAULT_PASSWORD)
        out = io.BytesIO()
        office.decrypt(out)
    except Exception as exc:
        raise WorkbookError("file.encrypted") from exc
    return out.getvalue()


def open_book(path: Path, data: bytes, wanted, _depth: int = 0) -> Book:
    """Read a spreadsheet from its bytes; raise WorkbookError with a catalogue code otherwise."""
    if _depth > 1:
        raise WorkbookError("file.damaged", reason="mã hóa lồng nhau")
    kind = sniff(data[:8])
    if kind == "zip":
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise WorkbookError("file.damaged", reason=_short(exc)) from exc
        with zf:
            check_zip(zf)
            names = set(zf.namelist())
            try:
                if "xl/workbook.xml" in names:
                    return read_xlsx(zf, wanted)
                mimetype = read_part(zf, "mimetype") or b""
                if b"opendocument.spreadsheet" in mimetype:
                    return read_ods(zf, wanted)
            except (zipfile.BadZipFile, EOFError, OSError, zlib_error()) as exc:
                raise WorkbookError("file.damaged", reason=_short(exc)) from exc
            if "word/document.xml" in names:
                raise WorkbookError("file.not_spreadsheet", what="tệp Word (.docx)")
            if b"opendocument.text" in mimetype:
                raise WorkbookError("file.not_spreadsheet", what="tệp văn bản (.odt)")
            raise WorkbookError("file.not_spreadsheet", what="tệp nén không phải bảng tính")
    if kind == "ole":
        decrypted = _decrypt_default(data)
        if decrypted is not None:
            book = open_book(path, decrypted, wanted, _depth + 1)
            book.default_encryption = True
            return book
        return read_xls(data, wanted)
    if data[:5] == b"%PDF-":
        raise WorkbookError("file.not_spreadsheet", what="tệp PDF")
    if data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[4:12] in (b"ftypheic", b"ftypmif1"):
        raise WorkbookError("file.not_spreadsheet", what="ảnh chụp")
    raise WorkbookError("file.not_spreadsheet", what="tệp không phải bảng tính")


def zlib_error():
    import zlib

    return zlib.error
