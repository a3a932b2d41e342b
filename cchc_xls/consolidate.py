"""Write a Harvest's outputs: harvest.json and tong-hop.xlsx (whole or not at all).

Everything a commune typed is written with write_string: it can never become a formula here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path


from cchc_xls import __version__
from cchc_xls.assign import UnitResult, local_time
from cchc_xls.explanation_merge import history_json
from cchc_xls.explanation_sheet import history_rows, write_history_sheet
from cchc_xls.findings import SEVERITY_LABEL, SEVERITY_ORDER
from cchc_xls.harvest import Harvest
from cchc_xls.numbers import format_vn, to_json_number
from cchc_xls.outputs import write_atomic
from cchc_xls.layout import (
    FINDINGS_COLUMNS, FINDINGS_SHEET, HEAT_MAP_COLUMNS, HEAT_MAP_SHEET, PROGRESS_COLUMNS, PROGRESS_SHEET, SUMMARY_SHEET,
    TONG_HOP_LAYOUT,
)
from cchc_xls import score
from cchc_xls.style import (
    FILL_HEADER, FILL_PARENT, PERCENT_FORMAT, SCORE_FORMAT, Formats, fit_row, new_workbook, setup_print,
)
STATUS_LABEL = {"submitted": "Đã nộp", "missing": "Chưa nộp", "rejected": "Bị từ chối"}


def unit_json(outcome: UnitResult, rubric, detail: bool = True) -> dict:
    """One unit as harvest.json holds it; without `detail`, only what the ranking needs."""
    checked = outcome.checked
    totals = checked.totals if checked else None
    item = {
        "code": outcome.unit.code,
        "name": outcome.unit.name,
        "kind": outcome.unit.kind,
        "group_of_units": outcome.unit.group,
        "status": outcome.status,
        "file": outcome.file.path if outcome.file else None,
        "attachments": [a.path for a in outcome.attachments],
        "email": outcome.unit.email,
        "phone": outcome.unit.phone,
        "self_total": to_json_number(outcome.self_total),
        "appraisal_total": to_json_number(outcome.appraisal_total),
        "appraisal_complete": outcome.appraisal_complete,
        "rank": outcome.rank,
        "group": outcome.group,
        "ranking_group": outcome.ranking_group,
        "group_note": outcome.group_note,
        "note": unit_note(outcome),
        "return_note": return_note(outcome),
        **_parts_json(outcome),
    }
    if not detail:
        appraisal = outcome.appraisal
        item["appraisal"] = {k: to_json_number(v) for k, v in appraisal.scores.items()} if appraisal else {}
        item["appraisal_missing"] = list(outcome.appraisal_missing)
        # the penalty items' scores decide the sanctions when the ranking is rebuilt from this
        penalty_codes = {i.code for i in rubric.penalty.items} if rubric.penalty else set()
        item["scores"] = {k: to_json_number(v) for k, v in checked.scores.items() if k in penalty_codes} if checked else {}
        return item
    evidence, explanations = checked.text_maps() if checked else ({}, {})
    item.update({
        "subtotals": {k: to_json_number(v) for k, v in totals.subtotals.items()} if totals else {},
        "scores": {k: to_json_number(v) for k, v in checked.scores.items()} if checked else {},
        "as_typed": dict(checked.as_typed) if checked else {},
        "not_applicable": sorted(checked.na) if checked else [],
        "evidence": evidence,
        "explanations": explanations,
        **_appraisal_json(outcome, rubric),
    })
    return item


def _parts_json(outcome: UnitResult) -> dict:
    """The parts of the self and the appraised totals: base total (after rescaling), the bonus
    and the penalty that count; `self_total` and `appraisal_total` are base + bonus − penalty."""
    checked = outcome.checked
    parts = {}
    for prefix, totals in (("self", checked.totals if checked else None),
                           ("appraisal", outcome.appraisal_totals if outcome.appraisal_complete else None)):
        parts[f"{prefix}_base_total"] = to_json_number(totals.base_total) if totals else None
        parts[f"{prefix}_bonus"] = to_json_number(totals.bonus) if totals else None
        parts[f"{prefix}_penalty"] = to_json_number(totals.penalty) if totals else None
    return parts


def file_json(file) -> dict:
    return {
        "path": file.path,
        "sha256": file.sha256,
        "unit_code": file.unit_code,
        "status": file.status,
        "received": file.received,
        "saved_at": file.modified.isoformat() if file.modified else None,
        "received_at": file.received_at.isoformat() if file.received_at else None,
        "sender": file.sender or None,
        # what the file is by its identity (layout.KIND_*), None when none was read: the page tells
        # the communes' explanations and the council's workbooks from their returns by it
        "kind": file.kind if file.identity else None,
        "findings": [
            {"code": f.code, "severity": f.severity, "sheet": f.sheet, "cell": f.cell, "node": f.node,
             "message": f.message}
            for f in file.findings
        ],
    }


def harvest_head(result: Harvest, previous: dict | None = None, profile: dict | None = None) -> dict:
    head = {
        "rubric": result.rubric.id,
        "rubric_hash": result.rubric.content_hash,
        "batch": result.batch,
        "appraised": result.appraised,
        "period": result.period.key if result.period else None,
        "tool_version": __version__,
        "summary": result.counts(),
        "profile": dict(profile or {}),  # the office (profile.PROFILE_KEYS): rank, report, appraise reuse it
        "notices": [{"code": f.code, "severity": f.severity, "message": f.message} for f in result.notices],
    }
    if previous:
        head["previous"] = previous["head"]
    return head


def harvest_json(result: Harvest, detail: bool = True, previous: dict | None = None,
                 profile: dict | None = None) -> dict:
    """The harvest as the documented harvest.json structure (exact decimals as JSON numbers);
    `previous` is compare.previous_json's comparison with an earlier harvest, `profile` the
    office's profile (profile.profile_json)."""
    return {
        **harvest_head(result, previous, profile),
        "units": [_with_previous(unit_json(u, result.rubric, detail), previous) for u in result.units],
        "files": [file_json(f) for f in result.files] if detail else [],
    }


def _with_previous(item: dict, previous: dict | None) -> dict:
    if previous:
        item["previous"] = previous["units"].get(item["code"], {})
    return item


def _appraisal_json(outcome: UnitResult, rubric) -> dict:
    appraisal = outcome.appraisal
    totals = outcome.appraisal_totals
    missing = set(outcome.appraisal_missing)
    leaves_of = {n.code: {leaf.code for leaf in n.leaves()} for n in rubric.nodes() if not n.is_leaf}
    return {
        "appraisal": {k: to_json_number(v) for k, v in appraisal.scores.items()} if appraisal else {},
        "appraisal_comments": dict(appraisal.comments) if appraisal else {},
        "survey": {k: to_json_number(v) for k, v in appraisal.survey.items()} if appraisal else {},
        # only the parents whose every criterion is appraised: a blank is never counted as 0
        "appraisal_subtotals": {k: to_json_number(v) for k, v in totals.subtotals.items()
                                if not (missing & leaves_of[k])} if totals else {},
        "appraisal_partial_total": to_json_number(totals.total) if totals and outcome.appraisal_missing else None,
        "appraisal_missing": list(outcome.appraisal_missing),
        "appraisal_conflicts": sorted(appraisal.conflicts) if appraisal else [],
        # the explanation round: per disputed criterion, self → round 1 → explanation → round 2
        "history": history_json(appraisal, outcome.checked.scores if outcome.checked else {},
                                outcome.file.path if outcome.checked else None),
    }


def return_note(outcome: UnitResult) -> str:
    """What a provisional ranking must say of a counted return that is not clean: how many
    criteria are not entered (counted 0) and how many errors the file has (each invalid score
    counted by the one rule of check.allowed_floor)."""
    if outcome.status != "submitted" or outcome.file is None:
        return ""
    findings = outcome.file.findings
    missing = sum(1 for f in findings if f.code == "score.missing")
    errors = sum(1 for f in findings if f.is_error)
    parts = []
    if missing:
        parts.append(f"còn {missing} tiêu chí chưa nhập điểm")
    if errors:
        parts.append(f"phiếu có {errors} lỗi")
    return "; ".join(parts)


def unit_note(outcome: UnitResult) -> str:
    """Why a unit is not ranked, in the words of the Ghi chú column."""
    if outcome.status == "missing":
        return "Chưa nộp phiếu tự đánh giá"
    if outcome.status == "rejected":
        errors = [f for f in outcome.file.findings if f.is_error] if outcome.file else []
        reason = errors[0].message if errors else "tệp không dùng được"
        return f"Tệp bị từ chối: {reason}"
    if outcome.appraisal_totals is not None and outcome.appraisal_missing:
        shown = ", ".join(outcome.appraisal_missing[:5]) + ("…" if len(outcome.appraisal_missing) > 5 else "")
        return f"Chưa thẩm định đủ: còn {len(outcome.appraisal_missing)} tiêu chí ({shown})"
    return ""


def _stream_json(head: dict, units, files, path: Path) -> Path:
    def dump(partial: Path) -> None:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(head, ensure_ascii=False)[:-1])
            for key, items in (("units", units), ("files", files)):
                handle.write(f', "{key}": [\n')
                for index, item in enumerate(items):
                    if index:
                        handle.write(",\n")
                    handle.write(json.dumps(item, ensure_ascii=False))
                handle.write("\n]")
            handle.write("}\n")

    return write_atomic(path, dump)


def write_harvest_json(result: Harvest, path: Path, previous: dict | None = None, profile: dict | None = None) -> Path:
    """Stream harvest.json unit by unit: the whole document is never held in memory at once."""
    units = (_with_previous(unit_json(u, result.rubric), previous) for u in result.units)
    files = (file_json(f) for f in result.files)
    return _stream_json(harvest_head(result, previous, profile), units, files, path)


def write_tong_hop(result: Harvest, path: Path) -> Path:
    def build(partial: Path) -> None:
        # constant_memory: rows go to disk as they are written (a province has 168 communes as columns)
        workbook = new_workbook(partial, constant_memory=True)
        _TongHop(workbook, result).write()
        workbook.close()

    return write_atomic(path, build)


class _TongHop:
    def __init__(self, workbook, result: Harvest):
        self.wb = workbook
        self.result = result
        self.rubric = result.rubric
        self.fmt = Formats(workbook, font_size=12)

    def write(self) -> None:
        self.write_summary()
        self.write_heat_map()
        self.write_findings()
        self.write_progress()
        rows = history_rows(self.result)
        if rows:
            write_history_sheet(self.wb, self.fmt, rows, self.title, self.print_setup)

    def title(self, sheet, text: str, width: int) -> None:
        period = self.result.period.label if self.result.period else ""
        sheet.merge_range(0, 0, 0, width, text, self.fmt(bold=True, font_size=14, align="center"))
        sheet.merge_range(1, 0, 1, width, f"{self.rubric.title} - {period}".strip(" -"),
                          self.fmt(italic=True, align="center"))

    def print_setup(self, sheet, header_row: int, last_col: int, last_row: int) -> None:
        setup_print(sheet, repeat=(header_row, header_row), print_area=(max(last_row, header_row), last_col))

    def header_row(self, sheet, row: int, columns, header, units) -> None:
        """A table header: the fixed columns, then one column per commune (the "{unit}" column)."""
        fixed = [c for c in columns if c.key != "unit"]
        for col, column in enumerate(fixed):
            sheet.write_string(row, col, column.header, header)
            sheet.set_column(col, col, column.width)
        for index, outcome in enumerate(units):
            sheet.write_string(row, len(fixed) + index, outcome.unit.name, header)
        sheet.set_row(row, 48)
        sheet.set_column(len(fixed), len(fixed) + max(len(units), 1), columns[-1].width)

    # -- Tổng hợp: criteria as rows, communes as columns
    def write_summary(self) -> None:
        s = self.wb.add_worksheet(SUMMARY_SHEET)
        texts = TONG_HOP_LAYOUT.texts
        units = [u for u in self.result.units if u.status == "submitted"]
        last_col = 2 + max(len(units), 1)
        self.title(s, texts["summary_title"], last_col)
        header = self.fmt(bold=True, border=1, align="center", text_wrap=True, bg_color=FILL_HEADER)
        row = 3
        self.header_row(s, row, TONG_HOP_LAYOUT.columns, header, units)
        label_width = TONG_HOP_LAYOUT.column("label").width
        number = self.fmt(border=1, align="center")
        bold_number = self.fmt(border=1, align="center", bold=True, bg_color=FILL_PARENT)
        checks = [u.checked for u in units]  # looked up once, not once per criterion
        for node in self.rubric.nodes():
            row += 1
            is_parent = not node.is_leaf
            text = self.fmt(border=1, bold=is_parent, text_wrap=True, bg_color=FILL_PARENT if is_parent else "#FFFFFF")
            s.write_string(row, 0, node.code, self.fmt(border=1, align="center", bold=is_parent))
            s.write_string(row, 1, node.label, text)
            fit_row(s, row, [(node.label, label_width)], bold=is_parent, line_height=15.5)
            s.write_number(row, 2, float(node.max), bold_number if is_parent else number)
            for index, checked in enumerate(checks):
                value = (checked.totals.subtotals.get(node.code) if is_parent else checked.scores.get(node.code))
                if value is None:
                    status = "KAD" if node.code in checked.na else ""
                    s.write_string(row, 3 + index, status, number)
                else:
                    s.write_number(row, 3 + index, float(value), bold_number if is_parent else number)
        footer = self.fmt(border=1, bold=True, bg_color=FILL_HEADER)
        footer_n = self.fmt(border=1, bold=True, bg_color=FILL_HEADER, align="center")
        final = self.result.appraised
        basis = texts["basis_final"] if final else texts["basis_provisional"]
        rows = []
        if self.rubric.extras():  # the parts of the self total, as the workbook's footer has them
            rows.append((texts["base_total"], lambda u: u.checked.totals.base_total, "number"))
            for extra in self.rubric.extras():
                label = texts["bonus"] if extra.part == "bonus" else texts["penalty"]
                rows.append((label.format(max=format_vn(extra.max)),
                             (lambda u: u.checked.totals.bonus) if extra.part == "bonus" else (lambda u: u.checked.totals.penalty),
                             "number"))
        rows += [
            (texts["self_total"], lambda u: u.self_total, "number"),
            (texts["self_percent"], lambda u: self_percent(u, self.rubric), "number"),
        ]
        if any(u.appraisal for u in units):
            rows.append((texts["appraisal_total"], lambda u: u.appraisal_total, "number"))
        if self.rubric.ranking_groups:
            rows.append((texts["ranking_group"], lambda u: u.ranking_group or "", "text"))
        rows += [
            (texts["group"].format(basis=basis), lambda u: u.group or "", "text"),
            (texts["rank"].format(basis=basis) + (texts["rank_in_group"] if self.rubric.ranking_groups else ""),
             lambda u: u.rank, "number"),
        ]
        for label, getter, kind in rows:
            row += 1
            s.merge_range(row, 0, row, 2, label, footer)
            for index, outcome in enumerate(units):
                value = getter(outcome)
                if kind == "number" and value is not None:
                    s.write_number(row, 3 + index, float(value), footer_n)
                else:
                    s.write_string(row, 3 + index, str(value or ""), footer_n)
        s.freeze_panes(4, 3)
        self.print_setup(s, 3, last_col, row)
        s.repeat_columns(0, 2)

    # -- Tỷ lệ theo lĩnh vực: % of maximum per area per commune, as a colour scale
    def write_heat_map(self) -> None:
        s = self.wb.add_worksheet(HEAT_MAP_SHEET)
        units = [u for u in self.result.units if u.status == "submitted"]
        areas = self.rubric.areas()
        last_col = 2 + max(len(units), 1)
        self.title(s, TONG_HOP_LAYOUT.texts["heat_title"], last_col)
        header = self.fmt(bold=True, border=1, align="center", text_wrap=True, bg_color=FILL_HEADER)
        self.header_row(s, 3, HEAT_MAP_COLUMNS, header, units)
        number = self.fmt(border=1, align="center", num_format=PERCENT_FORMAT)  # cut, as the reports
        row = 3
        for area in areas:
            row += 1
            s.write_string(row, 0, area.code, self.fmt(border=1, align="center"))
            s.write_string(row, 1, area.label, self.fmt(border=1, text_wrap=True))
            fit_row(s, row, [(area.label, HEAT_MAP_COLUMNS[1].width)], line_height=15.5)
            s.write_number(row, 2, float(area.max), self.fmt(border=1, align="center"))
            for index, outcome in enumerate(units):
                percent = area_percent(area, outcome.checked)
                if percent is None:
                    s.write_string(row, 3 + index, "", number)
                else:
                    s.write_number(row, 3 + index, float(percent), number)
        if units and areas:
            s.conditional_format(4, 3, row, 2 + len(units), {
                "type": "3_color_scale", "min_type": "num", "min_value": 50, "mid_type": "num", "mid_value": 80,
                "max_type": "num", "max_value": 100, "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B",
            })
        s.merge_range(row + 2, 0, row + 2, last_col,
                      TONG_HOP_LAYOUT.texts["heat_note"],
                      self.fmt(italic=True, font_size=11))
        s.freeze_panes(4, 3)
        self.print_setup(s, 3, last_col, row + 2)
        s.repeat_columns(0, 2)

    # -- Kiểm tra: one row per finding, errors first
    def write_findings(self) -> None:
        s = self.wb.add_worksheet(FINDINGS_SHEET)
        columns = [(c.header, c.width) for c in FINDINGS_COLUMNS]
        self.title(s, TONG_HOP_LAYOUT.texts["findings_title"], len(columns) - 1)
        header = self.fmt(bold=True, border=1, align="center", bg_color=FILL_HEADER, text_wrap=True)
        for col, (text, width) in enumerate(columns):
            s.write_string(3, col, text, header)
            s.set_column(col, col, width)
        names = {u.unit.code: f"{u.unit.code} - {u.unit.name}" for u in self.result.units}
        entries = []
        for file in self.result.files:
            for finding in file.findings:
                entries.append((SEVERITY_ORDER[finding.severity], names.get(file.unit_code or "", file.unit_code or ""),
                                file.path, finding))
        entries.sort(key=lambda e: (e[0], e[1], e[2]))
        fills = {"error": "#F8CBAD", "warning": "#FFF2CC", "info": "#FFFFFF"}
        row = 3
        for _, unit, path, finding in entries:
            row += 1
            cell = self.fmt(border=1, text_wrap=True, bg_color=fills[finding.severity])
            s.write_string(row, 0, unit, cell)
            s.write_string(row, 1, path, cell)
            s.write_string(row, 2, finding.sheet or "", cell)
            s.write_string(row, 3, finding.cell or "", cell)
            s.write_string(row, 4, SEVERITY_LABEL[finding.severity], cell)
            s.write_string(row, 5, finding.message, cell)
            # rows as tall as their text, no taller: the sheet's font is 12 and LibreOffice fits
            # about 1.4 characters of these messages per width unit (measured on the demo's 500
            # findings), where style's estimate for Times New Roman 13 assumes 1.15
            fit_row(s, row, [(unit, FINDINGS_COLUMNS[0].width), (path, FINDINGS_COLUMNS[1].width),
                             (finding.message, FINDINGS_COLUMNS[5].width)], line_height=15, font_size=10.8)
        s.autofilter(3, 0, max(row, 4), len(columns) - 1)
        s.freeze_panes(4, 0)
        self.print_setup(s, 3, len(columns) - 1, row)

    # -- Tiến độ: each unit, received or not
    def write_progress(self) -> None:
        s = self.wb.add_worksheet(PROGRESS_SHEET)
        columns = [(c.header, c.width) for c in PROGRESS_COLUMNS]
        self.title(s, TONG_HOP_LAYOUT.texts["progress_title"], len(columns) - 1)
        # the same counts, in the same words, as the CLI summary and harvest.json's `summary`
        s.merge_range(2, 0, 2, len(columns) - 1, score.counts_sentence(self.result.counts()), self.fmt(italic=True))
        header = self.fmt(bold=True, border=1, align="center", bg_color=FILL_HEADER, text_wrap=True)
        for col, (text, width) in enumerate(columns):
            s.write_string(3, col, text, header)
            s.set_column(col, col, width)
        row = 3
        for index, outcome in enumerate(self.result.units, start=1):
            row += 1
            fill = {"submitted": "#FFFFFF", "missing": "#FCE4D6", "rejected": "#F8CBAD"}[outcome.status]
            cell = self.fmt(border=1, text_wrap=True, bg_color=fill)
            center = self.fmt(border=1, align="center", bg_color=fill)
            file = outcome.file
            findings = file.findings if file else []
            s.write_number(row, 0, index, center)
            s.write_string(row, 1, outcome.unit.code, center)
            s.write_string(row, 2, outcome.unit.name, cell)
            s.write_string(row, 3, "Có" if file else "Không", center)
            s.write_string(row, 4, file.path if file else "", cell)
            saved = local_time(file.modified) if file and file.modified else ""
            s.write_string(row, 5, saved, center)
            s.write_string(row, 6, STATUS_LABEL[outcome.status], center)
            s.write_number(row, 7, sum(1 for f in findings if f.severity == "error"), center)
            s.write_number(row, 8, sum(1 for f in findings if f.severity == "warning"), center)
            s.write_string(row, 9, received_time(file), center)
            s.write_string(row, 10, file.sender if file else "", cell)
            attached = "; ".join(a.name for a in outcome.attachments)
            s.write_string(row, 11, attached, cell)
            fit_row(s, row, [(outcome.unit.name, 28), (file.path if file else "", 44), (attached, 36)], line_height=15.5)
        s.autofilter(3, 0, max(row, 4), len(columns) - 1)
        s.freeze_panes(4, 0)
        self.print_setup(s, 3, len(columns) - 1, row)


def received_time(file) -> str:
    """When a file arrived: the e-mail's date, else the file's time; dd/mm/yyyy HH:MM local time."""
    return local_time(file.received_at) if file and file.received_at else ""


def area_percent(area, checked) -> Decimal | None:
    """An area's self score as % of the maximum the unit could score in it (score.area_percent)."""
    if checked is None:
        return None
    return score.area_percent(area, checked.scores, checked.totals)


def self_percent(outcome: UnitResult, rubric) -> Decimal | None:
    """Raw self total as % of the maximum the unit could give itself (score.self_percent)."""
    checked = outcome.checked
    return score.self_percent(rubric, checked.totals) if checked else None
