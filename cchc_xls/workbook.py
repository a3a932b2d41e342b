"""Open any returned spreadsheet safely and expose it as plain data: sheets, cells, properties.

`.xlsx`/`.xlsm` (transitional and Strict Open XML) and `.ods` are read straight from their zip
parts with the standard library's XML parser (fast, and nothing runs: macros are never loaded);
`.xls` and `.xlsb` go through calamine. Every part's declared size is checked before anything
is inflated (zip bombs), any XML with a DTD is refused by the parser that reads it (entity
expansion, external entities), and every budget below is enforced before the work it bounds.
Whatever a file holds, `open_book` returns a Book or raises `WorkbookError` with a catalogue
code: never another exception.

Sheets are parsed lazily, when a caller first looks at their cells: a return's table and its
identity sheet are read, an extra sheet nobody asks about costs nothing.
"""

from __future__ import annotations

import io
import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.parsers import expat

# --- Budgets -----------------------------------------------------------------------------------
# A filled template's largest part is well under 1 MB; a 32,767-character text in every cell of
# the largest rubric stays under these. Beyond them a file is refused before it is inflated.
MAX_PART_BYTES = 12 * 1024 * 1024  # one XML part, inflated
MAX_TOTAL_BYTES = 48 * 1024 * 1024  # all parts, inflated
MAX_RATIO = 100  # inflated / compressed, for parts over 1 MB (XML compresses 5-20 times)
MAX_PARTS = 5000
# A return's table has < 1,000 rows and < 30 columns; an appraisal-by-area or survey workbook
# has two columns per commune (1,000 communes fit). Cells beyond the highest row or column that
# counts are not read (the return gets a warning naming the first one), so a row numbered 10^8
# or 10^40 costs nothing.
MAX_ROW = 20_000
MAX_COL = 2_048
MAX_SHEET_CELLS = 200_000  # stored cells of one sheet; more is not a return: refused
MAX_BOOK_CELLS = 400_000  # stored cells of all the sheets read from one file
MAX_DENSE_CELLS = 2_000_000  # rows x columns calamine allocates for one .xls/.xlsb sheet
# Tags in one XML part, counted ("<" bytes: an upper bound of its elements) before it is parsed:
# the parser builds every element of a part (130-400 bytes each); a return's sheet has a few
# thousand tags, an appraisal-by-area workbook for 168 communes about 40,000.
MAX_XML_TAGS = 250_000
MAX_BOOK_TAGS = 500_000  # the same, over every part parsed from one file
# Records of an .xls stream or an .xlsb sheet walked before calamine reads the file (a return's
# .xls has about 5,000): the walk is Python, so a 50 MB stream of empty records is refused.
MAX_BINARY_RECORDS = 400_000
MAX_REPEAT = 256  # copies kept of a repeated ODS run of one value (rows or columns)
MAX_TEXT_CHARS = 32_767  # Excel's own limit of a cell's text; longer ODS texts are cut there

# Back-compatible name of the per-sheet cell budget.
MAX_CELLS = MAX_SHEET_CELLS

# What the readers below read, by file name (the harvest lists everything else as skipped).
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_MAIN_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
NS_REL_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"
NS_DCTERMS = "http://purl.org/dc/terms/"
REL_NAMESPACES = {NS_MAIN: NS_REL, NS_MAIN_STRICT: NS_REL_STRICT}

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "¹³"
_DATE_CODES = re.compile(r"(?<!\\)[dmyhs]", re.IGNORECASE)
BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(45, 48))
_EARLIEST_YEAR, _LATEST_YEAR = 1980, 2200  # a saved time outside is not a time (year 1, 9999)


class WorkbookError(Exception):
    """The file cannot be read as a workbook; `code` is a findings catalogue code."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(slots=True)
class Cell:
    value: object  # None, str, float (always finite), bool
    formula: str | None = None
    is_date: bool = False


class Sheet:
    """One sheet: name, state, and its cells, parsed on first access when a loader is given."""

    def __init__(self, name: str, state: str, cells: dict | None = None, protected: bool | None = None,
                 loader=None):
        self.name = name
        self.state = state  # visible | hidden | veryHidden
        self._cells: dict[tuple[int, int], Cell] = {} if cells is None else cells  # (row, col), 1-based
        self._protected = protected  # None: the format does not tell
        self._loader = loader

    def _load(self) -> None:
        if self._loader is not None:
            loader, self._loader = self._loader, None
            loader(self)

    @property
    def cells(self) -> dict[tuple[int, int], Cell]:
        self._load()
        return self._cells

    @property
    def protected(self) -> bool | None:
        self._load()
        return self._protected

    @protected.setter
    def protected(self, value: bool | None) -> None:
        self._protected = value

    def value(self, row: int, col: int):
        if self._loader is not None:  # the readers call this for every cell they look at
            self._load()
        cell = self._cells.get((row, col))
        return None if cell is None else cell.value

    @property
    def max_row(self) -> int:
        return max((r for r, _ in self.cells), default=0)

    def __repr__(self) -> str:
        return f"Sheet({self.name!r}, {self.state!r})"


@dataclass
class Book:
    format: str  # xlsx | ods | xls | xlsb
    sheets: list[Sheet]
    properties: dict[str, str] = field(default_factory=dict)  # custom document properties
    modified: datetime | None = None
    has_macros: bool = False
    formulas_known: bool = True  # False for .xls/.xlsb: calamine gives values only
    default_encryption: bool = False  # opened with Excel's built-in read-only password
    # (code, params) of what the reader left out, e.g. cells beyond the budgets; read.py turns
    # them into findings on the return
    notes: list[tuple[str, dict]] = field(default_factory=list)
    cells_read: int = 0  # stored cells of every sheet parsed so far (MAX_BOOK_CELLS)

    def sheet(self, name: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        return None

    def load_all(self) -> None:
        """Parse every sheet that has a loader now (raises WorkbookError like open_book)."""
        for sheet in self.sheets:
            sheet._load()


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


def finite_number(value: float):
    """A float read from a file as a number only when finite; NaN and infinities stay text, so
    the checker reports them at their cell instead of computing with them."""
    return value if math.isfinite(value) else str(value)


def _xml_number(raw: str):
    """A numeric XML value as a float; anything float() accepts beyond the XML number syntax
    (NaN, infinities, "1_0", non-ASCII digits) stays the text it is."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(value) or not raw.isascii() or "_" in raw:
        return raw
    return value


def _count(raw: str | None, part: str, what: str, default: int = 0) -> int:
    """An integer attribute as the format defines it (ASCII digits), else a precise refusal."""
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or len(raw) > 9:
        raise WorkbookError("file.bad_value", part=part, what=what, value=raw[:40])
    return int(raw)


class _Budget:
    """Counts a sheet's stored cells against the sheet's and the book's budgets, and notes the
    first cell beyond the highest row or column that counts."""

    def __init__(self, book: Book, sheet: Sheet):
        self.book, self.sheet = book, sheet
        self.ignored: tuple[int, int] | None = None

    def beyond(self, row: int, col: int) -> bool:
        if row <= MAX_ROW and col <= MAX_COL:
            return False
        if self.ignored is None:
            self.ignored = (row, col)
        return True

    def check(self, count: int) -> None:
        if count > MAX_SHEET_CELLS:
            raise WorkbookError("file.too_many_cells", sheet=self.sheet.name, name=self.sheet.name, count=f"{count:,}",
                                limit=f"{MAX_SHEET_CELLS:,}")

    def close(self, count: int) -> None:
        self.check(count)
        self.book.cells_read += count
        if self.book.cells_read > MAX_BOOK_CELLS:
            raise WorkbookError("file.too_many_cells", sheet=self.sheet.name, name=self.sheet.name, count=f"{self.book.cells_read:,}",
                                limit=f"{MAX_BOOK_CELLS:,}")
        if self.ignored is not None:
            row, col = self.ignored
            self.book.notes.append(("sheet.cells_ignored", {
                "sheet": self.sheet.name, "name": self.sheet.name, "where": _where(row, col), "max_row": f"{MAX_ROW:,}", "max_col": f"{MAX_COL:,}"}))


def _where(row: int, col: int) -> str:
    """A far cell as a person can find it (Excel's A1 form while it is short)."""
    if row < 10**9 and col < 10**6:
        letters, n = "", col
        while n > 0:
            n, rem = divmod(n - 1, 26)
            letters = chr(65 + rem) + letters
        return f"{letters}{row}"
    return f"dòng {str(row)[:12]}…, cột {str(col)[:12]}…"


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


def _zip_member_error(name: str, exc: BaseException) -> WorkbookError:
    """What zipfile says about one member, as a finding a person can act on."""
    text = str(exc)
    if isinstance(exc, RuntimeError) and "encrypted" in text:
        reason = "phần này được mã hóa bằng mật khẩu ZIP"
    elif isinstance(exc, NotImplementedError) and "version" in text:
        reason = f"cần phiên bản ZIP mới hơn ({text[:40]})"
    elif isinstance(exc, NotImplementedError):
        reason = f"kiểu nén không được hỗ trợ, ví dụ Deflate64 hay AES ({text[:60]})"
    else:
        return WorkbookError("file.damaged", reason=f"phần {name[:80]}: {_short(exc)}")
    return WorkbookError("file.zip_member", part=name[:80], reason=reason)


def read_part(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    try:
        with zf.open(info) as handle:
            data = handle.read(MAX_PART_BYTES + 1)  # zipfile stops at the declared size
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError,
            UnicodeError, struct.error) as exc:
        raise _zip_member_error(name, exc) from exc
    if len(data) > MAX_PART_BYTES:
        raise WorkbookError("file.zip_bomb", reason=f"phần {name} quá lớn")
    return data


class _Doctype(Exception):
    pass


class _Root(Exception):
    pass


def _on_doctype(*_args):
    raise _Doctype


def _on_root(*_args):
    raise _Root


def refuse_dtd(data: bytes, part: str) -> None:
    """Refuse any part with a document type declaration, as the parser itself reads the part
    (any encoding, with or without a byte order mark): workbooks never need one, and it is how
    entity-expansion and external-entity attacks start. A DTD can only come before the root
    element, so expat reads the prolog only and stops at the root: a few microseconds."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _on_doctype
    parser.EntityDeclHandler = _on_doctype
    parser.StartElementHandler = _on_root
    try:
        parser.Parse(data, True)
    except _Root:
        return
    except _Doctype:
        raise WorkbookError("file.xml_entities", part=part) from None
    except expat.ExpatError as exc:
        raise _xml_error(exc, data, part) from exc
    except (ValueError, LookupError, UnicodeError) as exc:
        raise _xml_error(exc, data, part) from exc


def _declared_encoding(data: bytes) -> str:
    match = re.match(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([^\"']{0,40})", data[:300])
    return match.group(1).decode("ascii", "replace") if match else ""


def _xml_error(exc: BaseException, data: bytes, part: str) -> WorkbookError:
    text = str(exc)
    if "encoding" in text.lower():
        return WorkbookError("file.xml_encoding", part=part, encoding=_declared_encoding(data) or "?")
    return WorkbookError("file.damaged", reason=f"XML hỏng ở {part}: {text[:120]}")


class TagCount:
    """Tags parsed so far from one file's parts, against MAX_BOOK_TAGS."""

    def __init__(self):
        self.total = 0

    def add(self, tags: int, part: str) -> None:
        self.total += tags
        if self.total > MAX_BOOK_TAGS:
            raise WorkbookError("file.zip_bomb", reason=f"các phần XML có hơn {MAX_BOOK_TAGS:,} thẻ (đến phần {part})")


def parse_xml(data: bytes, part: str, count: TagCount | None = None) -> ET.Element:
    """Parse an XML part; refuse any DTD (entity expansion, external entities) and a part with
    more tags than MAX_XML_TAGS before parsing."""
    refuse_dtd(data, part)
    tags = data.count(b"<")
    if tags > MAX_XML_TAGS:
        raise WorkbookError("file.zip_bomb", reason=f"phần {part} có {tags:,} thẻ XML, quá {MAX_XML_TAGS:,}")
    if count is not None:
        count.add(tags, part)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise _xml_error(exc, data, part) from exc
    except (ValueError, LookupError, UnicodeError) as exc:
        raise _xml_error(exc, data, part) from exc


# ---------------------------------------------------------------------------------------------
# .xlsx / .xlsm (transitional and Strict Open XML)


def _q(tag: str, ns: str = NS_MAIN) -> str:
    return f"{{{ns}}}{tag}"


@lru_cache(maxsize=4)
def _tags(ns: str) -> dict[str, str]:
    names = ("c", "v", "f", "is", "t", "r", "row", "sheetData", "sheetProtection", "sheets", "numFmts", "cellXfs")
    return {name: _q(name, ns) for name in names}


def _text_of(element: ET.Element, ns: str = NS_MAIN) -> str:
    """Text of a shared or inline string: plain <t>, or rich-text runs <r><t>; phonetic guides
    (<rPh>, East-Asian reading aids) are not part of the text."""
    tags = _tags(ns)
    t_tag, r_tag = tags["t"], tags["r"]
    if len(element) == 1 and element[0].tag == t_tag:  # the usual string: one plain <t>
        return element[0].text or ""
    parts = []
    for child in element:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            for t in child.iter(t_tag):
                parts.append(t.text or "")
    return "".join(parts)


def _xlsx_date_styles(zf: zipfile.ZipFile, ns: str, count: TagCount) -> set[int]:
    part = "xl/styles.xml"
    data = read_part(zf, part)
    if data is None:
        return set()
    root = parse_xml(data, part, count)
    tags = _tags(ns)
    custom_dates = set()
    numfmts = root.find(tags["numFmts"])
    if numfmts is not None:
        for fmt in numfmts:
            code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", fmt.get("formatCode", ""))
            if _DATE_CODES.search(code):
                custom_dates.add(_count(fmt.get("numFmtId"), part, "mã định dạng số (numFmtId)"))
    result = set()
    xfs = root.find(tags["cellXfs"])
    if xfs is not None:
        for index, xf in enumerate(xfs):
            num = _count(xf.get("numFmtId"), part, "mã định dạng số (numFmtId)")
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


@lru_cache(maxsize=1024)
def _ref_col(letters: str) -> int | None:
    """The column of a cell reference's letters; None when they are not letters A-Z (the cell
    is then placed after its neighbour); beyond MAX_COL for more than three letters."""
    if not letters or not letters.isascii() or not letters.isalpha() or not letters.isupper():
        return None
    return col_index(letters) if len(letters) <= 3 else MAX_COL + 1


def _row_number(raw: str | None, previous: int, part: str) -> int:
    """A <row r=...>: ASCII digits (a number too long for any sheet lies beyond MAX_ROW)."""
    if raw is None or raw == "":
        return previous + 1
    if not _DIGITS.fullmatch(raw):
        raise WorkbookError("file.bad_value", part=part, what="số thứ tự dòng (r)", value=raw[:40])
    return int(raw) if len(raw) <= 9 else MAX_ROW + 1


def _xlsx_sheet(zf: zipfile.ZipFile, part: str, sheet: Sheet, *, book: Book, strings: list[str], dates: set[int],
                ns: str, count: TagCount) -> None:
    """One worksheet's cells. The part is parsed in one call of the C parser (a sheet is small),
    then walked row by row; cells without an `r` reference are placed after their neighbour."""
    data = read_part(zf, part)
    if data is None:
        raise WorkbookError("file.damaged", reason=f"thiếu phần {part}")
    root = parse_xml(data, part, count)
    tags = _tags(ns)
    c_tag, v_tag, f_tag, is_tag = tags["c"], tags["v"], tags["f"], tags["is"]
    protection = root.find(tags["sheetProtection"])
    sheet.protected = protection is not None and protection.get("sheet") in ("1", "true")
    sheet_data = root.find(tags["sheetData"])
    shared_formulas: dict[str, str] = {}
    cells = sheet._cells
    budget = _Budget(book, sheet)
    n_strings = len(strings)
    date_style: dict[str | None, bool] = {}  # a sheet uses a handful of styles: each checked once
    row_number = 0
    for row in (sheet_data if sheet_data is not None else ()):
        row_number = _row_number(row.get("r"), row_number, part)
        if row_number > MAX_ROW:
            if any(len(element) for element in row):  # a value or a formula, not only a style
                budget.beyond(row_number, 1)
            continue
        col = 0
        for element in row:
            if element.tag != c_tag:
                continue
            ref = element.get("r")
            ref_col = _ref_col(ref.rstrip("0123456789")) if ref else None
            col = col + 1 if ref_col is None else ref_col
            if not len(element):  # no value, no formula: a styled empty cell, only its place counts
                continue
            if col > MAX_COL:
                budget.beyond(row_number, col)
                continue
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
            is_date = False
            if raw is not None:
                if kind == "n":
                    value = _xml_number(raw)
                    if dates and isinstance(value, float):
                        style = element.get("s")
                        is_date = date_style.get(style)
                        if is_date is None:
                            is_date = date_style[style] = _count(style, part, "mã kiểu ô (s)") in dates
                elif kind == "s":
                    index = _count(raw.strip(), part, "chỉ số chuỗi dùng chung")
                    value = strings[index] if index < n_strings else ""
                elif kind == "b":
                    value = raw == "1"
                elif kind == "d":  # an ISO date (Strict Open XML)
                    value, is_date = raw, True
                else:  # "str" (formula text), "e" (#VALUE! etc. stays text)
                    value = raw
            elif kind == "inlineStr":
                inline = element.find(is_tag)
                value = _text_of(inline, ns) if inline is not None else ""
            if value is not None or formula is not None:
                cells[(row_number, col)] = Cell(value, formula, is_date)
        if len(cells) > MAX_SHEET_CELLS:
            budget.check(len(cells))
    budget.close(len(cells))


def read_xlsx(zf: zipfile.ZipFile, wanted) -> Book:
    """`wanted(name, state)` says which sheets to parse (the others are listed, not read)."""
    workbook_xml = read_part(zf, "xl/workbook.xml")
    if workbook_xml is None:
        raise WorkbookError("file.not_spreadsheet", what="tệp nén không phải bảng tính")
    count = TagCount()
    root = parse_xml(workbook_xml, "xl/workbook.xml", count)
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else NS_MAIN
    if ns not in REL_NAMESPACES:
        raise WorkbookError("file.not_spreadsheet", what="tệp nén không phải bảng tính Excel")
    rels_xml = read_part(zf, "xl/_rels/workbook.xml.rels")
    targets = {}
    if rels_xml is not None:
        for rel in parse_xml(rels_xml, "xl/_rels/workbook.xml.rels", count):
            targets[rel.get("Id")] = _resolve_target("xl/workbook.xml", rel.get("Target", ""))
    strings: list[str] = []
    shared = read_part(zf, "xl/sharedStrings.xml")
    if shared is not None:
        for si in parse_xml(shared, "xl/sharedStrings.xml", count):
            strings.append(_text_of(si, ns))
    dates = _xlsx_date_styles(zf, ns, count)
    sheets: list[Sheet] = []
    book = Book("xlsx", sheets)
    sheets_el = root.find(_tags(ns)["sheets"])
    rel_id = _q("id", REL_NAMESPACES[ns])
    for element in (sheets_el if sheets_el is not None else []):
        name = element.get("name", "")
        state = element.get("state", "visible")
        part = targets.get(element.get(rel_id))
        loader = None
        if part and wanted(name, state):
            loader = partial(_xlsx_sheet, zf, part, book=book, strings=strings, dates=dates, ns=ns, count=count)
        sheets.append(Sheet(name, state, loader=loader))
    book.has_macros = any(n.lower().endswith("vbaproject.bin") for n in zf.namelist())
    custom = read_part(zf, "docProps/custom.xml")
    if custom is not None:
        for prop in parse_xml(custom, "docProps/custom.xml", count):
            value = next((child.text for child in prop), None)
            if prop.get("name"):
                book.properties[prop.get("name")] = value or ""
    core = read_part(zf, "docProps/core.xml")
    if core is not None:
        modified = parse_xml(core, "docProps/core.xml", count).find(_q("modified", NS_DCTERMS))
        if modified is not None and modified.text:
            book.modified = _parse_time(modified.text)
    return book


def _parse_time(text: str) -> datetime | None:
    """A saved time, or None when it is not one a workbook was saved at (year 1 or 9999 would
    overflow later, in timestamp() or astimezone())."""
    try:
        when = datetime.fromisoformat(text.strip()[:64].replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if _EARLIEST_YEAR <= when.year <= _LATEST_YEAR else None


# ---------------------------------------------------------------------------------------------
# .ods (LibreOffice / WPS re-saves)

NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
NS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
NS_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_T, _O, _X = f"{{{NS_TABLE}}}", f"{{{NS_OFFICE}}}", f"{{{NS_TEXT}}}"
_ODS_CELLS = (f"{_T}table-cell", f"{_T}covered-table-cell")


def _repeat(element: ET.Element, attribute: str) -> int:
    """A repeat count (number-rows/columns-repeated): ASCII digits, at least 1."""
    raw = element.get(attribute)
    if raw is None:
        return 1
    if not _DIGITS.fullmatch(raw):
        raise WorkbookError("file.bad_value", part="content.xml", what=attribute.split("}")[-1], value=raw[:40])
    return max(1, int(raw)) if len(raw) <= 9 else 10**9


def _ods_value(cell: ET.Element) -> tuple[object, str | None, bool]:
    kind = cell.get(f"{_O}value-type")
    formula = cell.get(f"{_T}formula")
    value: object = None
    if kind in ("float", "percentage", "currency"):
        raw = cell.get(f"{_O}value")
        value = _xml_number(raw) if raw is not None else None
    elif kind == "date":
        value = cell.get(f"{_O}date-value")
    elif kind == "boolean":
        value = cell.get(f"{_O}boolean-value") == "true"
    elif kind == "string" or kind is None:
        text = _ods_text(cell)
        value = text if (text or kind == "string") else None
    return value, formula, kind == "date"


def _ods_text(cell: ET.Element) -> str:
    paragraphs = []
    for p in cell.iter(f"{_X}p"):
        paragraphs.append(_ods_inline(p))
    return "\n".join(paragraphs)[:MAX_TEXT_CHARS]


def _ods_inline(element: ET.Element) -> str:
    """A paragraph's text with its spans, spaces, tabs and line breaks. Walked with an explicit
    stack (spans nested thousands deep are no recursion) and cut at MAX_TEXT_CHARS (a space
    count of 10^8 is 32,767 spaces)."""
    space, tab, line_break = f"{_X}s", f"{_X}tab", f"{_X}line-break"
    parts = [element.text or ""]
    size = len(parts[0])
    stack = [(iter(element), "")]
    while stack and size <= MAX_TEXT_CHARS:
        children, tail = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            parts.append(tail)
            size += len(tail)
            continue
        if child.tag == space:
            count = _count(child.get(f"{_X}c"), "content.xml", "số dấu cách (text:s c)", default=1)
            text = " " * min(count, MAX_TEXT_CHARS + 1 - size) + (child.tail or "")
        elif child.tag == tab:
            text = "\t" + (child.tail or "")
        elif child.tag == line_break:
            text = "\n" + (child.tail or "")
        else:
            text = child.text or ""
            stack.append((iter(child), child.tail or ""))
        parts.append(text)
        size += len(text)
    return "".join(parts)[:MAX_TEXT_CHARS]


def _ods_table(table: ET.Element, sheet: Sheet, *, book: Book) -> None:
    """Expand one table's rows and repeated runs into cells, within the budgets."""
    sheet.protected = table.get(f"{_T}protected") == "true"
    budget = _Budget(book, sheet)
    cells_of_sheet = sheet._cells
    row_number = 0
    for row in table.iter(f"{_T}table-row"):
        row_repeat = _repeat(row, f"{_T}number-rows-repeated")
        if row_number >= MAX_ROW:
            if any(_ods_value(c)[0] is not None for c in row if c.tag in _ODS_CELLS):
                budget.beyond(row_number + 1, 1)
            row_number += row_repeat
            continue
        cells, col = [], 0
        for cell in row:
            if cell.tag not in _ODS_CELLS:
                continue
            repeat = _repeat(cell, f"{_T}number-columns-repeated")
            if col >= MAX_COL:
                if _ods_value(cell)[0] is not None:
                    budget.beyond(row_number + 1, col + 1)
                col += repeat
                continue
            value, formula, is_date = _ods_value(cell)
            if value is not None or formula:
                # a repeated run of one value: LibreOffice writes it for filled ranges; keep a
                # bounded number of copies so a crafted 16,384-wide row cannot fill memory
                copies = min(repeat, MAX_REPEAT, MAX_COL - col)
                one = Cell(value, formula, is_date)
                cells.extend((col + offset + 1, one) for offset in range(copies))
                if len(cells) > MAX_SHEET_CELLS:
                    budget.check(len(cells))
            col += repeat
        copies = min(row_repeat, MAX_REPEAT, MAX_ROW - row_number) if cells else 0
        for offset in range(copies):
            for column, cell in cells:
                cells_of_sheet[(row_number + offset + 1, column)] = cell
            if len(cells_of_sheet) > MAX_SHEET_CELLS:
                budget.check(len(cells_of_sheet))
        row_number += row_repeat
    budget.close(len(cells_of_sheet))


def read_ods(zf: zipfile.ZipFile, wanted) -> Book:
    content = read_part(zf, "content.xml")
    if content is None:
        raise WorkbookError("file.damaged", reason="thiếu phần content.xml")
    count = TagCount()
    root = parse_xml(content, "content.xml", count)
    hidden = _ods_hidden_tables(zf, root)
    sheets: list[Sheet] = []
    book = Book("ods", sheets)
    for table in root.iter(f"{_T}table"):
        name = table.get(f"{_T}name", "")
        state = "hidden" if name in hidden else "visible"
        loader = partial(_ods_table, table, book=book) if wanted(name, state) else None
        sheets.append(Sheet(name, state, loader=loader))
    meta = read_part(zf, "meta.xml")
    if meta is not None:
        meta_root = parse_xml(meta, "meta.xml", count)
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
# .xls (old binary format) and .xlsb (Excel's binary workbook) through calamine: values only
#
# calamine is native code: it can panic (pyo3's PanicException derives from BaseException) and
# it allocates every sheet densely (rows x columns). So the extent of every sheet is measured
# from the file's own records first, and a sheet that would cost too much is refused before
# calamine builds it.

_BIFF_BOF, _BIFF_EOF, _BIFF_BOUNDSHEET = 0x0809, 0x000A, 0x0085
# cell records that hold a value: NUMBER, RK, LABELSST, LABEL, BOOLERR, FORMULA, RSTRING; MULRK
_BIFF_CELLS = {0x0203, 0x027E, 0x00FD, 0x0204, 0x0205, 0x0006, 0x00D6}
_BIFF_MULRK = 0x00BD


def _native_error(exc: BaseException) -> WorkbookError:
    """calamine's errors and panics as a finding; Ctrl-C and exit still stop the program."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc
    if isinstance(exc, MemoryError):
        return WorkbookError("file.too_many_cells", name="?", count="?", limit=f"{MAX_SHEET_CELLS:,}")
    text = str(exc).lower()
    if "password" in text or "encrypt" in text:
        return WorkbookError("file.encrypted")
    return WorkbookError("file.damaged", reason=_short(exc))


def _xls_extents(data: bytes) -> list[tuple[str, int, int, int, int]]:
    """(sheet name, first row, last row, first col, last col), 0-based, of every sheet of an
    .xls, from its BIFF records (a fast walk over 4-byte headers); [] if the stream is not
    found (calamine then reports the damage itself)."""
    try:
        import olefile

        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
            if name is None:
                return []
            stream = ole.openstream(name).read()
    except Exception:  # noqa: BLE001 - a container olefile cannot parse: calamine decides
        return []
    names, extents = [], []
    try:
        _walk_biff(stream, names, extents)
    except (struct.error, IndexError):
        pass  # a truncated record: what was read so far counts, calamine reports the damage
    return [(names[i] if i < len(names) else f"#{i + 1}", *e) for i, e in enumerate(extents) if e[1] >= 0]


def _too_many_records(sheet: str) -> WorkbookError:
    return WorkbookError("file.too_many_cells", sheet=sheet, name=sheet, count=f"hơn {MAX_BINARY_RECORDS:,}",
                         limit=f"{MAX_BINARY_RECORDS:,}")


def _walk_biff(stream: bytes, names: list, extents: list) -> None:
    pos, end, current, records = 0, len(stream), None, 0
    while pos + 4 <= end:
        records += 1
        if records > MAX_BINARY_RECORDS:
            raise _too_many_records(names[len(extents) - 1] if 0 < len(extents) <= len(names) else "?")
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = pos + 4
        if kind == _BIFF_BOUNDSHEET and size >= 8:
            length, high = stream[body + 6], stream[body + 7]
            raw = stream[body + 8: body + 8 + length * (2 if high & 1 else 1)]
            names.append(raw.decode("utf-16-le" if high & 1 else "latin-1", "replace"))
        elif kind == _BIFF_BOF and size >= 4 and stream[body + 2: body + 4] == b"\x10\x00":  # a worksheet
            current = [10**9, -1, 10**9, -1]
            extents.append(current)
        elif current is not None and size >= 4 and (kind in _BIFF_CELLS or kind == _BIFF_MULRK):
            row, col = struct.unpack_from("<HH", stream, body)
            last_col = col
            if kind == _BIFF_MULRK and size >= 6:
                last_col = struct.unpack_from("<H", stream, body + size - 2)[0]
            current[0], current[1] = min(current[0], row), max(current[1], row)
            current[2], current[3] = min(current[2], col), max(current[3], last_col)
        elif kind == _BIFF_EOF:
            current = None
        pos = body + size


def _varint(data: bytes, pos: int, most: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(most):
        if pos >= len(data):
            raise IndexError
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, pos


def _xlsb_extent(data: bytes, part: str) -> tuple[int, int, int, int] | None:
    """(first row, last row, first col, last col) of one .xlsb sheet part, from its records:
    BrtRowHdr (0) gives the row, the cell records (2-11, values) their column."""
    rows, cols = [10**10, -1], [10**10, -1]
    row, pos, end, records = 0, 0, len(data), 0
    try:
        while pos < end:
            records += 1
            if records > MAX_BINARY_RECORDS:
                raise _too_many_records(part)
            kind, pos = _varint(data, pos, 2)
            size, pos = _varint(data, pos, 4)
            if kind == 0 and size >= 4:
                row = struct.unpack_from("<I", data, pos)[0]
            elif 2 <= kind <= 11 and size >= 4:
                col = struct.unpack_from("<I", data, pos)[0]
                rows[0], rows[1] = min(rows[0], row), max(rows[1], row)
                cols[0], cols[1] = min(cols[0], col), max(cols[1], col)
            pos += size
    except (IndexError, struct.error):
        pass  # a truncated part: calamine reports it
    return (rows[0], rows[1], cols[0], cols[1]) if rows[1] >= 0 else None


def _refuse_extent(sheet: str, first_row: int, last_row: int, first_col: int, last_col: int) -> None:
    dense = (last_row - first_row + 1) * (last_col - first_col + 1)
    if last_row + 1 > MAX_ROW or last_col + 1 > MAX_COL or dense > MAX_DENSE_CELLS:
        raise WorkbookError("file.sheet_too_large", sheet=sheet, name=sheet, where=_where(last_row + 1, last_col + 1),
                            max_row=f"{MAX_ROW:,}", max_col=f"{MAX_COL:,}")


def _calamine_sheet(workbook, sheet: Sheet, *, book: Book) -> None:
    try:
        data = workbook.get_sheet_by_name(sheet.name)
        height, width = data.height, data.width
        if height * width > MAX_DENSE_CELLS:  # the last check before Python objects are made
            raise WorkbookError("file.sheet_too_large", sheet=sheet.name, name=sheet.name, where=_where(height, width),
                                max_row=f"{MAX_ROW:,}", max_col=f"{MAX_COL:,}")
        start_row, start_col = data.start or (0, 0)
        budget = _Budget(book, sheet)
        cells = sheet._cells
        # rows and columns both from the range's own start (iter_rows() pads rows from 0 only)
        for r, row in enumerate(data.to_python(skip_empty_area=True)):
            for c, value in enumerate(row):
                if value == "" or value is None:
                    continue
                if budget.beyond(start_row + r + 1, start_col + c + 1):
                    continue
                is_date = hasattr(value, "year")
                if is_date:
                    value = str(value)
                elif isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if isinstance(value, float):
                    value = finite_number(value)
                cells[(start_row + r + 1, start_col + c + 1)] = Cell(value, None, is_date)
            if len(cells) > MAX_SHEET_CELLS:
                budget.check(len(cells))
        budget.close(len(cells))
    except WorkbookError:
        raise
    except BaseException as exc:  # noqa: BLE001 - a panic in native code is a damaged file
        raise _native_error(exc) from exc


def read_calamine(data: bytes, wanted, fmt: str = "xls", extents=()) -> Book:
    """An .xls or .xlsb: values only (calamine does not give formulas); `extents` as from
    `_xls_extents`, checked before any sheet is built."""
    for extent in extents:
        _refuse_extent(*extent)
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise WorkbookError("file.unsupported", what=f".{fmt}") from exc
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        metadata = list(workbook.sheets_metadata)
    except BaseException as exc:  # noqa: BLE001 - calamine's own error types, and its panics
        raise _native_error(exc) from exc
    sheets: list[Sheet] = []
    book = Book(fmt, sheets, formulas_known=False)
    for meta in metadata:
        visible = str(meta.visible).split(".")[-1].lower()
        state = {"visible": "visible", "hidden": "hidden", "veryhidden": "veryHidden"}.get(visible, "visible")
        loader = partial(_calamine_sheet, workbook, book=book) if wanted(meta.name, state) else None
        sheets.append(Sheet(meta.name, state, loader=loader))
    return book


def read_xls(data: bytes, wanted) -> Book:
    """An .xls through calamine, its sheets' extents checked first."""
    return read_calamine(data, wanted, "xls", _xls_extents(data))


def _xlsb_extents(zf: zipfile.ZipFile) -> list[tuple[str, int, int, int, int]]:
    result = []
    for info in zf.infolist():
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".bin"):
            extent = _xlsb_extent(read_part(zf, info.filename) or b"", info.filename)
            if extent is not None:
                result.append((info.filename.rsplit("/", 1)[-1], *extent))
    return result


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


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


def open_book(path: Path, data: bytes, wanted, _depth: int = 0, lazy: bool = False) -> Book:
    """Read a spreadsheet from its bytes; raise WorkbookError with a catalogue code otherwise.

    The sheets `wanted(name, state)` accepts are parsed here, or with `lazy` when their cells
    are first read (which then raises WorkbookError too; `Book.load_all` parses the rest)."""
    book = _open_book(data, wanted, _depth)
    if not lazy:
        book.load_all()
    return book


def _open_book(data: bytes, wanted, _depth: int) -> Book:
    if _depth > 1:
        raise WorkbookError("file.damaged", reason="mã hóa lồng nhau")
    kind = sniff(data[:8])
    if kind == "zip":
        return _open_zip(data, wanted)
    if kind == "ole":
        decrypted = _decrypt_default(data)
        if decrypted is not None:
            book = _open_book(decrypted, wanted, _depth + 1)
            book.default_encryption = True
            return book
        return read_xls(data, wanted)
    if data[:5] == b"%PDF-":
        raise WorkbookError("file.not_spreadsheet", what="tệp PDF")
    if data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[4:12] in (b"ftypheic", b"ftypmif1"):
        raise WorkbookError("file.not_spreadsheet", what="ảnh chụp")
    raise WorkbookError("file.not_spreadsheet", what="tệp không phải bảng tính")


def _open_zip(data: bytes, wanted) -> Book:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except UnicodeDecodeError as exc:
        raise WorkbookError("file.damaged", reason="tên một phần trong tệp không đúng mã UTF-8") from exc
    except NotImplementedError as exc:  # a member needs a newer zip version ("16.1")
        raise _zip_member_error("mục lục tệp nén", exc) from exc
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError, struct.error) as exc:
        raise WorkbookError("file.damaged", reason=_short(exc)) from exc
    # zf stays open for the sheets parsed later; it holds only this in-memory buffer
    check_zip(zf)
    names = set(zf.namelist())
    if "xl/workbook.xml" in names:
        return read_xlsx(zf, wanted)
    if "xl/workbook.bin" in names:
        return read_calamine(data, wanted, "xlsb", _xlsb_extents(zf))
    mimetype = read_part(zf, "mimetype") or b""
    if b"opendocument.spreadsheet" in mimetype:
        return read_ods(zf, wanted)
    if "word/document.xml" in names:
        raise WorkbookError("file.not_spreadsheet", what="tệp Word (.docx)")
    if b"opendocument.text" in mimetype:
        raise WorkbookError("file.not_spreadsheet", what="tệp văn bản (.odt)")
    raise WorkbookError("file.not_spreadsheet", what="tệp nén không phải bảng tính")


def zlib_error():
    return zlib.error
