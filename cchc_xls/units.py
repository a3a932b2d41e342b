"""The list of units (communes) and the assessment period.

A units file is CSV (UTF-8, with or without BOM) or XLSX with a header row: `code,name` or the
Vietnamese `Mã, Tên đơn vị`, and optionally `kind` (Loại: xã / phường / đặc khu / thị trấn) and `group`
(Nhóm: e.g. a former district, for sub-rankings), and the contacts the feedback messages are
sent to: `email` (Thư điện tử) and `phone` (Điện thoại, Zalo). Title rows above the header row
are skipped: the header is found by its texts among the first rows.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cchc_xls.errors import DeadlineError, PeriodError, UnitsError
from cchc_xls.findings import Finding, make
from cchc_xls.layout import cell_ref
from cchc_xls.rubric import UNIT_KINDS

HEADER_ALIASES = {
    "code": ("code", "mã", "mã đơn vị", "ma", "ma don vi"),
    "name": ("name", "tên đơn vị", "tên", "đơn vị", "ten don vi", "ten"),
    "kind": ("kind", "loại", "loại đơn vị", "loai"),
    "group": ("group", "nhóm", "cụm", "nhom"),
    "email": ("email", "e-mail", "thư điện tử", "địa chỉ thư điện tử", "thu dien tu"),
    "phone": ("phone", "điện thoại", "số điện thoại", "zalo", "sđt", "điện thoại/zalo", "dien thoai"),
}
HEADER_SEARCH_ROWS = 15  # offices put a title, a date and blank rows above the table
UNIT_CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
KIND_PREFIXES = (("thị trấn", "thị trấn"), ("phường", "phường"), ("đặc khu", "đặc khu"), ("xã", "xã"))


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str | None = None
    group: str | None = None
    email: str | None = None
    phone: str | None = None

    @property
    def full_name(self) -> str:
        """“xã Chí Minh”: the kind in lower case before the proper name."""
        bare = self.bare_name
        return f"{self.kind} {bare}" if self.kind else bare

    @property
    def bare_name(self) -> str:
        """The proper name without its kind: “Chí Minh”."""
        lowered = self.name.lower()
        for prefix, _ in KIND_PREFIXES:
            if lowered.startswith(prefix + " "):
                return self.name[len(prefix) + 1:].strip()
        return self.name

    @property
    def committee(self) -> str:
        """“UBND xã Chí Minh”."""
        return f"UBND {self.full_name}"

    @property
    def slug(self) -> str:
        return ascii_slug(self.full_name)


@dataclass(frozen=True)
class Period:
    """A year (`2024`) or a half year (`2024-H1`)."""

    year: int
    half: int | None = None

    @property
    def key(self) -> str:
        return f"{self.year}-H{self.half}" if self.half else str(self.year)

    @property
    def label(self) -> str:
        """As documents write it: “năm 2024”, “6 tháng đầu năm 2024”."""
        if self.half == 1:
            return f"6 tháng đầu năm {self.year}"
        if self.half == 2:
            return f"6 tháng cuối năm {self.year}"
        return f"năm {self.year}"

    def __str__(self) -> str:
        return self.key


def parse_period(text: str) -> Period:
    match = re.fullmatch(r"\s*(\d{4})(?:\s*-\s*[Hh]([12]))?\s*", str(text))
    if not match:
        raise PeriodError.of("period.invalid", text=text)
    year = int(match.group(1))
    if not 2000 <= year <= 2100:
        raise PeriodError.of("period.bad_year", year=year)
    return Period(year, int(match.group(2)) if match.group(2) else None)


_DAY_FIRST = re.compile(r"\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})\s*")
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*")


def parse_deadline(text: str | None) -> date | None:
    """The one parser of a deadline as offices type it (15/12/2024, 15-12-2024, 15.12.2024,
    2024-12-15): a real date, day first as Vietnamese documents write it; None for "". Anything
    else is refused with an example (DeadlineError). `generate` and `harvest` both use it."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    match = _DAY_FIRST.fullmatch(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
    elif match := _ISO_DATE.fullmatch(value):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise DeadlineError.of("deadline.invalid", value=value)
    try:
        return date(year, month, day)
    except ValueError:
        raise DeadlineError.of("deadline.invalid", value=value) from None


def format_date_vn(day: date | None) -> str:
    """A date in the one form every output writes: dd/mm/yyyy ("" for None)."""
    return day.strftime("%d/%m/%Y") if day else ""


def deadline_text(text: str) -> str:
    """A typed deadline checked and written in the one Vietnamese form ("" stays "")."""
    return format_date_vn(parse_deadline(text))


def ascii_slug(text: str) -> str:
    """An ASCII-only file-name part that survives email and Zalo: “xã Chí Minh” -> “xa-chi-minh”."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", stripped.lower()).strip("-") or "don-vi"


def kind_from_name(name: str) -> str | None:
    lowered = name.lower()
    for prefix, kind in KIND_PREFIXES:
        if lowered.startswith(prefix + " "):
            return kind
    return None


def _norm_header(text) -> str:
    return unicodedata.normalize("NFC", str(text or "")).strip().lower()


def _rows_from_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnitsError.of("units.not_utf8", name=path.name) from exc
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _rows_from_xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise UnitsError.of("units.unreadable", name=path.name, reason=exc) from exc
    try:
        sheet = workbook.worksheets[0]
        return [["" if v is None else _cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_units(path: str | Path, warnings: list | None = None) -> list[Unit]:
    """Read and check the list of units; raise UnitsError naming the row of every problem (its
    `findings`, one per problem, with the cell).

    What is only worth a warning (two units with the same name) is appended to `warnings` as
    findings when a list is given.
    """
    path = Path(path)
    if not path.is_file():
        raise UnitsError.of("units.not_found", path=path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        rows = _rows_from_xlsx(path)
    else:
        rows = _rows_from_csv(path)
    numbered = [(n, r) for n, r in enumerate(rows, start=1) if any(str(c).strip() for c in r)]
    if not numbered:
        raise UnitsError.of("units.empty", name=path.name)
    header_number, header_cells, columns = _find_header(numbered)
    numbered = [(n, r) for n, r in numbered if n > header_number]
    missing = [k for k in ("code", "name") if k not in columns]
    if missing:
        names = {"code": "code (Mã)", "name": "name (Tên đơn vị)"}
        raise UnitsError.of("units.missing_column", name=path.name, columns=", ".join(names[m] for m in missing),
                            row=header_number, found=", ".join(str(c) for c in header_cells))

    def cell(row, key):
        index = columns.get(key)
        if index is None or index >= len(row):
            return ""
        return unicodedata.normalize("NFC", str(row[index])).strip()

    problems: list[Finding] = []
    units, seen, rows_of = [], {}, {}

    def problem(code_: str, number: int, key: str, **params) -> None:
        # the cell as Excel shows it, for a CSV opened in Excel too
        problems.append(make(code_, file=path.name, cell=cell_ref(number - 1, columns.get(key, 0)), row=number,
                             **params))

    for number, row in numbered:
        code, name = cell(row, "code"), cell(row, "name")
        if not code:
            problem("units.missing_code", number, "code")
            continue
        if not UNIT_CODE.match(code):
            problem("units.bad_code", number, "code", code=code)
            continue
        if not name:
            problem("units.missing_name", number, "name", code=code)
        if code in seen:
            problem("units.duplicate_code", number, "code", code=code, first=seen[code])
            continue
        seen[code] = number
        kind = cell(row, "kind").lower() or kind_from_name(name)
        if kind and kind not in UNIT_KINDS:
            problem("units.bad_kind", number, "kind", kind=kind)
            kind = None
        units.append(Unit(code=code, name=name, kind=kind, group=cell(row, "group") or None,
                          email=cell(row, "email") or None, phone=_phone(cell(row, "phone")) or None))
        rows_of[code] = number
    if problems:
        raise UnitsError.of("units.has_errors", findings=tuple(problems), name=path.name,
                            problems="\n- ".join(p.message for p in problems))
    if not units:
        raise UnitsError.of("units.no_units", name=path.name)
    if warnings is not None:
        warnings.extend(duplicate_names(units, rows_of, path.name))
    return units


def _find_header(numbered: list) -> tuple[int, list, dict[str, int]]:
    """The header row (by its texts, among the first rows) and the column of each key.

    Without one, the first row is taken, so the error names what it holds.
    """
    for number, cells in numbered[:HEADER_SEARCH_ROWS]:
        columns = _columns(cells)
        if "code" in columns and "name" in columns:
            return number, cells, columns
    number, cells = numbered[0]
    return number, cells, _columns(cells)


def _columns(cells: list) -> dict[str, int]:
    header = [_norm_header(c) for c in cells]
    columns = {}
    for key, aliases in HEADER_ALIASES.items():
        for index, name in enumerate(header):
            if name in aliases:
                columns[key] = index
                break
    return columns


def _phone(text: str) -> str:
    """A phone number typed as a number in Excel lost its leading 0 (912345678): give it back."""
    return "0" + text if text.isdigit() and len(text) == 9 else text


def duplicate_names(units: list[Unit], rows_of: dict[str, int], file_name: str) -> list[Finding]:
    """A warning for each unit whose name repeats an earlier one (same kind, same name)."""
    first: dict[str, Unit] = {}
    found = []
    for unit in units:
        key = _norm_header(unit.full_name)
        if key in first:
            other = first[key]
            found.append(make("units.duplicate_name", file=file_name, name=unit.name, code=unit.code,
                              row=rows_of.get(unit.code, "?"), other=other.code, first=rows_of.get(other.code, "?")))
        else:
            first[key] = unit
    return found
