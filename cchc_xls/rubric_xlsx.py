"""Rubrics as spreadsheets: export a rubric to an editable workbook, and import the table an
office pasted from the province's decision (Word -> Excel) back into a rubric YAML file.

Import is forgiving about what pasting does (merged cells, blank spacer rows, numbers typed as
text with a decimal comma, trailing spaces) and strict about meaning: every problem is reported
at once with the row number Excel shows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

from cchc_xls.errors import CchcError, output_error
from cchc_xls.findings import Finding, make
from cchc_xls.numbers import format_vn, parse_text_number, read_decimal
from cchc_xls.rubric import UNIT_KINDS, Node, Rubric, parse_rubric
from cchc_xls.outputs import write_atomic, write_text_atomic
from cchc_xls.layout import (
    H_MAX, HEADER_SCAN_ROWS, RUBRIC_BANDS_HEADER, RUBRIC_INFO_FIELDS, RUBRIC_LAYOUT, column_letter,
)
from cchc_xls.style import FILL_HEADER, FILL_PARENT, Formats, fit_row, new_workbook, setup_print

TABLE_SHEET, INFO_SHEET, GUIDE_SHEET = RUBRIC_LAYOUT.sheets

YES, NO = "có", "không"
WINDOW_SEPARATOR = "đến"  # "{year-1}-10-01 đến {year-1}-12-31" (a dash would be read as part of a date)
NA_POLICY_LABELS = {"rescale": "quy đổi về thang điểm", "full_marks": "tính đủ điểm"}

TABLE_COLUMNS = RUBRIC_LAYOUT.columns  # each with its header note
PART_NAMES = {"thưởng": "bonus", "điểm thưởng": "bonus", "bonus": "bonus", "trừ": "penalty", "điểm trừ": "penalty",
              "penalty": "penalty"}
PART_TEXT = {"bonus": "thưởng", "penalty": "trừ"}
SANCTION_TEXT = {"no_top_band": "không xếp loại cao nhất", "drop_one_band": "hạ một mức"}
MAX_BAND_PREFIX = "tối đa"
HEADER_TO_KEY = {c.header.casefold(): c.key for c in TABLE_COLUMNS}

INFO_FIELDS = RUBRIC_INFO_FIELDS  # (key, label in column A, note in column C) of the information sheet
INFO_LABEL_TO_KEY = {label.casefold(): key for key, label, _ in INFO_FIELDS}
BANDS_HEADER = RUBRIC_BANDS_HEADER


# ---------------------------------------------------------------------------------------------
# Export


def _yes_no(value: bool) -> str:
    return YES if value else NO


def _levels_text(node: Node) -> tuple[str, str]:
    points = "; ".join(format_vn(lv.points) for lv in node.levels)
    texts = "\n".join(f"{format_vn(lv.points)} = {lv.text}" for lv in node.levels if lv.text)
    return points, texts


def export_rubric(rubric: Rubric, path: Path, default_evidence: bool = True) -> Path:
    """Write the rubric as an editable workbook (whole or not at all)."""
    def build(partial: Path) -> None:
        workbook = new_workbook(partial)
        _write_table(workbook, rubric, default_evidence)
        _write_info(workbook, rubric, default_evidence)
        _write_guide(workbook)
        workbook.close()

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(path, build)
    except OSError as exc:
        raise output_error(exc, path) from exc


def _write_table(workbook, rubric: Rubric, default_evidence: bool) -> None:
    s = workbook.add_worksheet(TABLE_SHEET)
    f = Formats(workbook, font_size=12, text_wrap=True)
    head = f(bold=True, border=1, align="center", bg_color=FILL_HEADER)
    for col, column in enumerate(TABLE_COLUMNS):
        s.write_string(0, col, column.header, head)
        s.write_comment(0, col, column.note, {"x_scale": 2, "y_scale": 1.5})
        s.set_column(col, col, column.width)
    s.set_row(0, 36)
    for row, node in enumerate(rubric.nodes(), start=1):
        parent = not node.is_leaf
        text = f(border=1, bold=parent, bg_color=FILL_PARENT if parent else "#FFFFFF")
        center = f(border=1, bold=parent, align="center", bg_color=FILL_PARENT if parent else "#FFFFFF")
        s.write_string(row, 0, node.code, center)
        s.write_string(row, 1, node.label, text)
        s.write_number(row, 2, float(node.max), center)
        if parent:
            for col in range(3, len(TABLE_COLUMNS)):
                s.write_blank(row, col, None, text)
        else:
            points, texts = _levels_text(node)
            s.write_string(row, 3, node.method, text)
            s.write_string(row, 4, points, center)
            s.write_string(row, 5, texts, text)
            if node.step:
                s.write_number(row, 6, float(node.step), center)
            else:
                s.write_blank(row, 6, None, center)
            s.write_string(row, 7, _yes_no(node.self_scored), center)
            s.write_string(row, 8, ", ".join(node.applies_to), center)
            s.write_string(row, 9, _yes_no(node.may_be_na), center)
            s.write_string(row, 10, "" if node.evidence_required == default_evidence else _yes_no(node.evidence_required),
                           center)
            s.write_string(row, 11, PART_TEXT.get(node.part, ""), center)
            s.write_string(row, 12, _sanction_text(node), center)
            s.write_string(row, 13, f"{node.evidence_window[0]} {WINDOW_SEPARATOR} {node.evidence_window[1]}"
                           if node.evidence_window else "", center)
        fit_row(s, row, [(node.label, 50), (node.method, 40), (_levels_text(node)[1], 40)], bold=parent, line_height=16)
    s.freeze_panes(1, 2)
    s.autofilter(0, 0, len(rubric.nodes()), len(TABLE_COLUMNS) - 1)
    setup_print(s, repeat=(0, 0))


def _sanction_text(node: Node) -> str:
    if node.sanction == "max_band":
        return f"{MAX_BAND_PREFIX} {node.sanction_band}"
    return SANCTION_TEXT.get(node.sanction, "")


def _write_info(workbook, rubric: Rubric, default_evidence: bool) -> None:
    s = workbook.add_worksheet(INFO_SHEET)
    f = Formats(workbook, font_size=12, text_wrap=True)
    s.set_column(0, 0, 34)
    s.set_column(1, 1, 60)
    s.set_column(2, 2, 50)
    legal = rubric.legal_basis
    values = {
        "id": rubric.id, "title": rubric.title, "version": rubric.version, "unit_level": rubric.unit_level,
        "document": legal.document, "date": legal.date, "issuer": legal.issuer, "province": legal.province,
        "legal_note": legal.note, "total": rubric.total, "na_policy": NA_POLICY_LABELS[rubric.na_policy],
        "na_policy_note": rubric.na_policy_note, "evidence_required": _yes_no(default_evidence),
        "groups_assumed": _yes_no(rubric.bands_assumed), "groups_note": rubric.bands_note,
        "bonus_max": rubric.bonus.max if rubric.bonus else "", "penalty_max": rubric.penalty.max if rubric.penalty else "",
        "ranking_groups": " | ".join(", ".join(kinds) for kinds in rubric.ranking_groups),
        "index_as_percent": _yes_no(rubric.index_as_percent),
    }
    head = f(bold=True, border=1, bg_color=FILL_HEADER)
    s.write_string(0, 0, "Thông tin", head)
    s.write_string(0, 1, "Giá trị", head)
    s.write_string(0, 2, "Cách ghi", head)
    for row, (key, label, note) in enumerate(INFO_FIELDS, start=1):
        s.write_string(row, 0, label, f(border=1, bold=True))
        value = values[key]
        if isinstance(value, Decimal):
            s.write_number(row, 1, float(value), f(border=1, align="left"))
        else:
            s.write_string(row, 1, str(value), f(border=1))
        s.write_string(row, 2, note, f(border=1, italic=True, font_color="#595959"))
        fit_row(s, row, [(str(value), 60), (note, 50)], line_height=16)
    row = len(INFO_FIELDS) + 2
    s.write_string(row, 0, BANDS_HEADER[0], head)
    s.write_string(row, 1, BANDS_HEADER[1], head)
    s.write_string(row, 2, BANDS_HEADER[2], head)
    for band in rubric.bands:
        row += 1
        s.write_string(row, 0, band.name, f(border=1))
        s.write_number(row, 1, float(band.min), f(border=1, align="left"))
        if band.max_share is not None:  # e.g. 0,25: at most a quarter of the ranked units
            s.write_number(row, 2, float(band.max_share), f(border=1, align="left"))
        else:
            s.write_blank(row, 2, None, f(border=1))
    s.write_string(row + 2, 0, "Mỗi mức xếp loại: từ số điểm ghi ở cột bên (trở lên); mức cuối cùng từ 0.",
                   f(italic=True, text_wrap=False))


GUIDE_LINES = (
    ("# HƯỚNG DẪN LẬP BỘ TIÊU CHÍ MỚI TỪ BẢNG EXCEL", ""),
    ("1. Sao chép bảng tiêu chí (Phụ lục) từ văn bản Word của tỉnh vào trang “Tiêu chí”, mỗi tiêu chí một dòng.", ""),
    ("2. Cột STT ghi mã: I, II… cho lĩnh vực; 1.1, 1.1.1 hoặc II.1 cho tiêu chí. Dòng trống, ô gộp được bỏ qua.", ""),
    (f"3. {H_MAX} của mục cha phải bằng tổng các mục con; dùng dấu phẩy hoặc chấm thập phân.", ""),
    ("4. Điền trang “Thông tin”: mã bộ tiêu chí, văn bản, ngày, cơ quan ban hành, tổng điểm, các mức xếp loại.", ""),
    ("5. Chạy: cchc rubric import tep.xlsx --out rubrics/ma-moi.yaml; sửa các lỗi được báo theo số dòng, chạy lại.", ""),
    ("# VÍ DỤ", ""),
    (" | ".join(RUBRIC_LAYOUT.header(key) for key in ("code", "label", "max", "levels", "self_scored")), ""),
    ("I | CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CCHC | 15 | |", ""),
    ("1.1 | Kế hoạch CCHC năm | 2,5 | |", ""),
    ("1.1.1 | Ban hành kế hoạch CCHC năm | 0,5 | 0; 0,5 | có", ""),
    ("II.2 | Điều tra xã hội học | 14 | | không", ""),
)


def _write_guide(workbook) -> None:
    s = workbook.add_worksheet(GUIDE_SHEET)
    f = Formats(workbook, font_size=12, text_wrap=True)
    s.set_column(0, 0, 110)
    for row, (line, _) in enumerate(GUIDE_LINES):
        heading = line.startswith("# ")
        s.write_string(row, 0, line[2:] if heading else line, f(bold=heading, font_size=14 if heading else 12))


# ---------------------------------------------------------------------------------------------
# Import


@dataclass(frozen=True)
class ImportFinding(Finding):
    """A finding in the officer's rubric workbook, with the Excel row and the column header as
    the officer sees them (the cell too, when the column was found)."""

    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = f"{self.sheet}, dòng {self.row}" if self.row else self.sheet
        if self.column:
            where += f", cột “{self.column}”"
        return f"[{where}] {self.message}"


@dataclass
class _Row:
    number: int
    values: dict[str, object] = field(default_factory=dict)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _roman_value(code: str) -> int | None:
    if not code or any(c not in _ROMAN for c in code):
        return None
    total, last = 0, 0
    for char in reversed(code):
        value = _ROMAN[char]
        total += -value if value < last else value
        last = max(last, value)
    return total


def _normal_code(value) -> str:
    text = _text(value).rstrip(".").replace(" ", "")
    if isinstance(value, float) and not value.is_integer():
        text = repr(value)
    return text.upper() if _roman_value(text.upper()) else text


class _Importer:
    def __init__(self, path: Path):
        self.path = path
        self.findings: list[ImportFinding] = []
        self.columns: dict[str, int] = {}  # column key -> zero-based index in the table sheet

    def add(self, row, finding: str, key: str | None = None, /, sheet: str = TABLE_SHEET, **params) -> None:
        """A catalogue finding at Excel row `row` of `sheet`, in the column of `key` (the table)
        or column B (the information sheet, label in A and value in B)."""
        column = RUBRIC_LAYOUT.header(key) if key else None
        if sheet == INFO_SHEET:
            index = 1
        else:
            index = self.columns.get(key) if key else None
        cell = f"{column_letter(index)}{row}" if row and index is not None else None
        found = make(finding, file=self.path.name, sheet=sheet, cell=cell, column=column, **params)
        self.findings.append(ImportFinding(**{**found.__dict__, "row": row, "column": column}))

    def run(self) -> dict:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.path, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise CchcError.of("rubric_xlsx.unreadable", name=self.path.name, reason=exc) from exc
        table = self._sheet(workbook, TABLE_SHEET, first=True)
        info = self._sheet(workbook, INFO_SHEET)
        data = self._info(info) if info is not None else {}
        data["tree"] = self._tree(table)
        data.update(self.extras(data))
        return data

    def _sheet(self, workbook, name: str, first: bool = False):
        for sheet in workbook.worksheets:
            if _text(sheet.title).casefold() == name.casefold():
                return sheet
        if first:
            return workbook.worksheets[0]
        self.add(None, "rubric_xlsx.sheet_missing", sheet=name, name=name)
        return None

    # -- the table
    def _tree(self, sheet) -> list[dict]:
        header_row, columns = self._header(sheet)
        self.columns = columns
        if not header_row:
            self.add(None, "rubric_xlsx.no_header",
                     headers=", ".join(f"“{RUBRIC_LAYOUT.header(k)}”" for k in ("code", "label", "max")))
            return []
        rows = []
        for cells in sheet.iter_rows(min_row=header_row + 1):
            number = cells[0].row
            values = {key: cells[col].value if col < len(cells) else None for key, col in columns.items()}
            if not any(_text(v) for v in values.values()):
                continue  # blank spacer row
            rows.append(_Row(number, values))
        return self._build(rows, columns)

    def _header(self, sheet) -> tuple[int, dict[str, int]]:
        for cells in sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
            found = {}
            for index, cell in enumerate(cells):
                key = HEADER_TO_KEY.get(_text(cell.value).casefold())
                if key and key not in found:
                    found[key] = index
            if {"code", "label", "max"} <= set(found):
                return cells[0].row, found
        return 0, {}

    def _yes_no(self, row: _Row, key: str, default):
        raw = _text(row.values.get(key)).casefold()
        if not raw:
            return default
        if raw in ("có", "co", "x", "yes", "true", "1"):
            return True
        if raw in ("không", "khong", "no", "false", "0"):
            return False
        self.add(row.number, "rubric_xlsx.bad_yes_no", key, value=raw)
        return default

    def _build(self, rows: list[_Row], columns: dict[str, int]) -> list[dict]:
        nodes: dict[str, dict] = {}
        order: list[tuple[str, int]] = []
        parent_of: dict[str, str | None] = {}
        current_roman = None
        romans = {}
        self.items: dict[str, list[dict]] = {"bonus": [], "penalty": []}
        for row in rows:
            code = _normal_code(row.values.get("code"))
            label = _text(row.values.get("label"))
            part = self._part(row)
            if not code:
                self.add(row.number, "rubric_xlsx.missing_code", "code", label=label[:60])
                continue
            if code in nodes:
                first = next(number for c, number in order if c == code)
                self.add(row.number, "rubric_xlsx.duplicate_code", "code", code=code, first=first)
                continue
            maximum = read_decimal(row.values.get("max"))
            if maximum is None:
                self.add(row.number, "rubric_xlsx.max_not_number", "max", code=code, value=_text(row.values.get("max")))
            node = {"code": code, "label": label, "max": maximum, "_row": row.number, "children": []}
            if not label:
                self.add(row.number, "rubric_xlsx.missing_label", "label", code=code)
            if part:  # a bonus or penalty item: a leaf outside the tree
                self._leaf_fields(row, node)
                node["_sanction"] = _text(row.values.get("sanction"))
                if node["_sanction"] and part != "penalty":
                    self.add(row.number, "rubric_xlsx.sanction_not_penalty", "sanction")
                nodes[code] = node
                order.append((code, row.number))
                parent_of[code] = None
                self.items[part].append(node)
                continue
            roman = _roman_value(code)
            if roman is not None:
                parent = None
                current_roman = code
                romans[roman] = code
            elif "." in code:
                prefix = code.rsplit(".", 1)[0]
                parent = prefix if prefix in nodes else None
                if parent is None and prefix.isdigit() and int(prefix) in romans:
                    parent = romans[int(prefix)]  # Thái Nguyên writes 1.1 under area I
                if parent is None:
                    self.add(row.number, "rubric_xlsx.no_parent", "code", code=code, prefix=prefix)
                    continue
            else:
                parent = current_roman  # Hải Dương: areas 1-7 under part I; Hà Trung: no parts at all
            self._leaf_fields(row, node)
            nodes[code] = node
            parent_of[code] = parent
            order.append((code, row.number))
            if parent is not None:
                nodes[parent]["children"].append(node)
        item_codes = {n["code"] for part in self.items.values() for n in part}
        roots = [nodes[code] for code, _ in order if parent_of[code] is None and code not in item_codes]
        for code, number in order:
            self._check_node(nodes[code], number)
        return [self._clean(n) for n in roots]

    def _part(self, row: _Row) -> str:
        """"" for a row of the tree; "bonus" or "penalty" for an item of those parts."""
        raw = _text(row.values.get("part")).casefold()
        if not raw:
            return ""
        if raw in PART_NAMES:
            return PART_NAMES[raw]
        self.add(row.number, "rubric_xlsx.bad_part", "part", value=raw)
        return ""

    def extras(self, info: dict) -> dict:
        """The `bonus` and `penalty` mappings from the item rows and the caps of the sheet “Thông tin”."""
        data = {}
        for part, label in (("bonus", "Điểm thưởng tối đa"), ("penalty", "Điểm trừ tối đa")):
            maximum = info.pop(f"_{part}_max", None)
            items = [self._clean(n) for n in self.items.get(part, [])]
            if part == "penalty":
                for item, node in zip(items, self.items[part]):
                    if node["_sanction"]:
                        item["sanction"] = _sanction_value(node["_sanction"])
            if not items and maximum is None:
                continue
            if maximum is None:
                self.add(None, "rubric_xlsx.extra_max_missing", sheet=INFO_SHEET, part=PART_TEXT[part], label=label)
                continue
            data[part] = {"max": maximum, "items": items}
        return data

    def _leaf_fields(self, row: _Row, node: dict) -> None:
        node["_method"] = _text(row.values.get("method"))
        node["_levels"] = _text(row.values.get("levels"))
        node["_level_texts"] = str(row.values.get("level_texts") or "")
        node["_step"] = read_decimal(row.values.get("step")) if _text(row.values.get("step")) else None
        if _text(row.values.get("step")) and node["_step"] is None:
            self.add(row.number, "rubric_xlsx.step_not_number", "step", value=_text(row.values.get("step")))
        node["_self_scored"] = self._yes_no(row, "self_scored", True)
        node["_may_be_na"] = self._yes_no(row, "may_be_na", False)
        node["_evidence"] = self._yes_no(row, "evidence", None)
        node["_evidence_window"] = None
        window = _text(row.values.get("evidence_window"))
        if window:
            parts = [p.strip() for p in re.split(rf"\s+{WINDOW_SEPARATOR}\s+|\s*→\s*|\s*;\s*", window) if p.strip()]
            if len(parts) == 2:
                node["_evidence_window"] = {"from": parts[0], "to": parts[1]}
            else:
                self.add(row.number, "rubric_xlsx.bad_window", "evidence_window", value=window[:60])
        kinds = [k.strip().casefold() for k in re.split(r"[,;]", _text(row.values.get("applies_to"))) if k.strip()]
        for kind in kinds:
            if kind not in UNIT_KINDS:
                self.add(row.number, "rubric_xlsx.bad_kind", "applies_to", kind=kind)
        node["_applies_to"] = [k for k in kinds if k in UNIT_KINDS]

    def _check_node(self, node: dict, number: int) -> None:
        code, maximum = node["code"], node["max"]
        if node["children"]:
            extra = [key for key in ("method", "levels", "step", "evidence_window") if node.get(f"_{key}")]
            for key in extra:
                self.add(number, "rubric_xlsx.parent_field", key, code=code)
            children = [c["max"] for c in node["children"]]
            if maximum is not None and all(c is not None for c in children):
                total = sum(children, Decimal(0))
                if total != maximum:
                    self.add(number, "rubric_xlsx.parent_sum", "max", code=code, max=format_vn(maximum),
                             sum=format_vn(total))
            return
        if maximum is not None and maximum <= 0:
            self.add(number, "rubric_xlsx.nonpositive_max", "max", code=code)
        levels = self._levels(node, number)
        node["_parsed_levels"] = levels
        if levels and node["_step"] is not None:
            self.add(number, "rubric_xlsx.levels_and_step", "step", code=code, levels=RUBRIC_LAYOUT.header("levels"),
                     step=RUBRIC_LAYOUT.header("step"))

    def _levels(self, node: dict, number: int) -> list[dict]:
        texts = {}
        for line in node["_level_texts"].splitlines():
            match = re.match(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*[=:]\s*(.+)$", line)
            if match:
                texts[parse_text_number(match.group(1))] = _text(match.group(2))
            elif line.strip():
                self.add(number, "rubric_xlsx.bad_level_text", "level_texts", line=line.strip()[:60])
        levels = []
        for part in [p for p in re.split(r";|\n", node["_levels"]) if p.strip()]:
            points = parse_text_number(part)
            if points is None:
                self.add(number, "rubric_xlsx.level_not_number", "levels", value=part.strip())
                continue
            if node["max"] is not None and points > node["max"]:
                self.add(number, "rubric_xlsx.level_above_max", "levels", value=format_vn(points), code=node["code"],
                         max=format_vn(node["max"]))
            levels.append({"points": points, "text": texts.get(points, "")})
        return levels

    def _clean(self, node: dict) -> dict:
        out = {"code": node["code"], "label": node["label"], "max": node["max"]}
        if node["children"]:
            out["children"] = [self._clean(c) for c in node["children"]]
            return out
        if node["_method"]:
            out["method"] = node["_method"]
        if node.get("_parsed_levels"):
            out["levels"] = [{"points": lv["points"], "text": lv["text"]} if lv["text"] else {"points": lv["points"]}
                             for lv in node["_parsed_levels"]]
        if node["_step"] is not None:
            out["step"] = node["_step"]
        if not node["_self_scored"]:
            out["self_scored"] = False
        if node["_applies_to"]:
            out["applies_to"] = node["_applies_to"]
        if node["_may_be_na"]:
            out["may_be_na"] = True
        if node["_evidence"] is not None:
            out["evidence_required"] = node["_evidence"]
        if node.get("_evidence_window"):
            out["evidence_window"] = node["_evidence_window"]
        return out

    # -- the identity sheet
    def _info(self, sheet) -> dict:
        values, bands, in_bands = {}, [], False
        for cells in sheet.iter_rows(min_row=1):
            first = _text(cells[0].value) if cells else ""
            second = cells[1].value if len(cells) > 1 else None
            if not first:
                continue
            if first.casefold() == BANDS_HEADER[0].casefold():
                in_bands = True
                continue
            if in_bands:
                minimum = read_decimal(second)
                if minimum is None:
                    if first and second is not None:
                        self.add(cells[0].row, "rubric_xlsx.band_not_number", sheet=INFO_SHEET, name=first)
                    continue
                band = {"name": first, "min": minimum}
                share_cell = cells[2].value if len(cells) > 2 else None
                if _text(share_cell):
                    share = _share(share_cell)
                    if share is None:
                        self.add(cells[0].row, "rubric_xlsx.share_not_number", sheet=INFO_SHEET, name=first)
                    else:
                        band["max_share"] = share
                bands.append(band)
                continue
            key = INFO_LABEL_TO_KEY.get(first.casefold())
            if key:
                values[key] = (second, cells[0].row)
        data: dict = {}

        def text(key):
            return _text(values.get(key, (None, None))[0])

        for key in ("id", "title", "version", "unit_level", "na_policy_note"):
            if text(key):
                data[key] = text(key)
        data["legal_basis"] = {k: _date_text(values.get(k, (None, None))[0]) if k == "date" else text(k)
                               for k in ("document", "date", "issuer", "province")}
        if text("legal_note"):
            data["legal_basis"]["note"] = text("legal_note")
        total = read_decimal(values.get("total", (None, None))[0])
        if total is None:
            self.add(values.get("total", (None, None))[1], "rubric_xlsx.total_not_number", sheet=INFO_SHEET)
        else:
            data["total"] = total
        policy = text("na_policy").casefold()
        reverse = {v.casefold(): k for k, v in NA_POLICY_LABELS.items()}
        if policy:
            if policy in reverse or policy in NA_POLICY_LABELS:
                data["na_policy"] = reverse.get(policy, policy)
            else:
                self.add(values["na_policy"][1], "rubric_xlsx.bad_policy", sheet=INFO_SHEET, value=policy,
                         allowed=", ".join(NA_POLICY_LABELS.values()))
        for key, target in (("evidence_required", "evidence_required"),):
            raw = text(key).casefold()
            if raw:
                if raw in ("có", "không"):
                    data[target] = raw == "có"
                else:
                    self.add(values[key][1], "rubric_xlsx.bad_info_yes_no", sheet=INFO_SHEET, value=raw)
        for key, label in (("bonus_max", "Điểm thưởng tối đa"), ("penalty_max", "Điểm trừ tối đa")):
            if text(key):
                maximum = read_decimal(values[key][0])
                if maximum is None:
                    self.add(values[key][1], "rubric_xlsx.extra_max_not_number", sheet=INFO_SHEET, label=label)
                else:
                    data[f"_{key.split('_')[0]}_max"] = maximum
        if text("ranking_groups"):
            data["ranking_groups"] = [[k.strip().casefold() for k in group.split(",") if k.strip()]
                                      for group in text("ranking_groups").split("|") if group.strip()]
        raw = text("index_as_percent").casefold()
        if raw:
            if raw in ("có", "không"):
                data["index_as_percent"] = raw == "có"
            else:
                self.add(values["index_as_percent"][1], "rubric_xlsx.bad_info_yes_no", sheet=INFO_SHEET, value=raw)
        groups: dict = {"bands": bands}
        assumed = text("groups_assumed").casefold()
        if assumed:
            groups["assumed"] = assumed == "có"
        if text("groups_note"):
            groups["note"] = text("groups_note")
        data["groups"] = groups
        return data


def _share(value) -> Decimal | None:
    """0,25 or 25% -> Decimal("0.25")."""
    text = _text(value)
    if text.endswith("%"):
        number = parse_text_number(text[:-1].strip())
        return None if number is None else number / 100
    return read_decimal(value)


def _sanction_value(text: str):
    """The sheet's words for a sanction -> the rubric's value (unknown words are left for the
    loader to report as rubric.unknown_sanction)."""
    lowered = text.casefold()
    for key, words in SANCTION_TEXT.items():
        if lowered in (words, key):
            return key
    if lowered.startswith(MAX_BAND_PREFIX + " "):
        return {"max_band": text[len(MAX_BAND_PREFIX) + 1:].strip()}
    if lowered.startswith("max_band:"):
        return {"max_band": text.split(":", 1)[1].strip().strip('"')}
    return text


def _date_text(value) -> str:
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    text = _text(value)
    match = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", text)
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return text


class _Dumper(yaml.SafeDumper):
    """Numbers as plain decimals (2.5, not 2.50 or 2.5e0); long labels kept on one line."""


def _represent_decimal(dumper, value: Decimal):
    text = format(value.normalize() if value != value.to_integral_value() else value.quantize(Decimal(1)), "f")
    tag = "tag:yaml.org,2002:int" if "." not in text else "tag:yaml.org,2002:float"
    return dumper.represent_scalar(tag, text)


_Dumper.add_representer(Decimal, _represent_decimal)


def import_rubric(path: Path) -> tuple[dict, list[ImportFinding], list[Finding]]:
    """Read an officer's rubric workbook: the YAML data, the row-located problems, and the
    loader's own findings on the result (checked exactly as a rubric file is)."""
    importer = _Importer(Path(path))
    data = importer.run()
    loader_findings: list[Finding] = []
    if not importer.findings:
        _, loader_findings = parse_rubric(data, source=str(path))
    return data, importer.findings, loader_findings


def write_rubric_yaml(data: dict, path: Path, source_name: str) -> Path:
    ordered = {k: data[k] for k in ("id", "title", "version", "unit_level", "legal_basis", "total", "na_policy",
                                    "na_policy_note", "evidence_required", "groups", "ranking_groups",
                                    "index_as_percent", "tree", "bonus", "penalty") if k in data}
    text = f"# Nhập từ bảng Excel “{source_name}” bằng cchc rubric import.\n" + yaml.dump(
        ordered, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000, default_flow_style=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(path, text)
    except OSError as exc:
        raise output_error(exc, path) from exc


def default_evidence_of(rubric: Rubric) -> bool:
    """The rubric-wide default that reproduces the most per-criterion values."""
    leaves = rubric.leaves()
    required = sum(1 for leaf in leaves if leaf.evidence_required)
    return required * 2 >= len(leaves)

