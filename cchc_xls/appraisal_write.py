"""Appraisal, writing: the council's workbooks (by unit or by area) and the province's survey
workbook, pre-filled from a harvest.

`write_appraisal_workbooks` writes one workbook per commune (`by="unit"`) or per area
(`by="area"`, communes as columns), plus a survey workbook (one row per commune, one column per
criterion the province scores). appraisal_read.py reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from cchc_xls import __version__
from cchc_xls.errors import CchcError, output_error
from cchc_xls.evidence import suggestions_by_unit
from cchc_xls.generate import score_validation, set_identity_properties, write_identity_sheet
from cchc_xls.layout import (
    APPRAISAL_AREA_FIXED, APPRAISAL_AREA_LAYOUT, APPRAISAL_AREA_UNIT_COLUMNS, APPRAISAL_SHEET, APPRAISAL_UNIT_LAYOUT,
    FINAL_LABEL, FORMAT_VERSION, KIND_APPRAISAL_AREA, KIND_APPRAISAL_UNIT, KIND_LABELS, KIND_SURVEY, META_SHEET, SURVEY_FIXED,
    RESCALED_LABEL, SURVEY_LAYOUT, SURVEY_SHEET, UNIT_COLUMN_LABEL, Layout, cell_ref, column_letter, identity_line,
)
from cchc_xls.numbers import format_vn
from cchc_xls.profile import OfficeProfile
from cchc_xls.results import Results, UnitRow, load_results
from cchc_xls.rubric import Node, Rubric
from cchc_xls.score import not_applicable_codes
from cchc_xls.outputs import partial_path, write_atomic
from cchc_xls.style import (
    FILL_HEADER, FILL_LOCKED_OUT, FILL_MISSING, FILL_PARENT, FILL_TEXT_SCORE, PERCENT_FORMAT, Formats, fit_row, new_workbook, setup_print,
    write_number_or_blank, write_signature,
)
from cchc_xls.units import Unit, ascii_slug


@dataclass(frozen=True)
class AppraisalOutputs:
    out_dir: Path
    workbooks: tuple[Path, ...]
    survey: Path | None


def workbook_identity(results: Results, kind: str, unit: UnitRow | None = None, area: Node | None = None) -> dict:
    """The identity written into a workbook the office sends out after a harvest (appraisal by
    unit or area, survey, explanation, round 2): its kind, the harvest's rubric, period and batch,
    and the unit or area it is for; the reader recognises a returned workbook by it."""
    batch = results.batch
    return {
        "kind": kind, "format": FORMAT_VERSION, "rubric_id": results.rubric.id,
        "rubric_hash": results.rubric.content_hash, "period": results.period.key if results.period else "",
        "unit_code": unit.code if unit else "", "unit_name": unit.name if unit else "",
        "area": area.code if area else "", "batch": batch, "tool_version": __version__,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "template_id": f"{batch}-{kind}-{unit.code if unit else area.code if area else 'all'}",
    }


AREA_GROUPS_PER_PAGE = 2  # commune column groups that fit one printed page of an appraisal by area
AREA_PRINT_SCALE = 53  # percent: the repeated columns and two groups across A4 landscape


def typed_note(typed: str, counted: Decimal | None) -> str:
    """The mark beside an invalid self score: what was written and what the ranking counts."""
    figure = format_vn(counted) if counted is not None else "0 (không phải số)"
    return f"Đơn vị ghi “{typed}”, không đúng quy định; điểm tự chấm được tính: {figure}."


def _counted_without_council(rubric: Rubric, node: Node, unit: UnitRow, excluded: set[str]) -> Decimal | None:
    """What the ranking counts for a criterion the council does not score: the survey score
    once merged, the maximum of a not-applicable criterion under `full_marks`, else None."""
    if not node.self_scored:
        return unit.appraisal.get(node.code)
    if node.code in excluded and rubric.na_policy == "full_marks":
        return node.max
    return None


def excluded_codes(results: Results, unit: UnitRow) -> set[str]:
    """Leaves that do not count for this unit: its N/A marks and the kind-excluded criteria.
    The appraisal and explanation workbooks lock these rows."""
    return set(unit.not_applicable) | set(not_applicable_codes(results.rubric, unit.kind))


class AppraisalBook:
    """One workbook the office sends out after a harvest (appraisal, survey, explanation, round 2):
    formats, identity sheet and properties, the office's heading, protection, print setup, and
    the atomic write. `sheet`, then `heading`, the writer's table, `finish`, `close`."""

    def __init__(self, path: Path, results: Results, identity: dict, password: str = ""):
        self.path = path
        self.wb = new_workbook(partial_path(path))
        self.results = results
        self.identity = identity
        self.password = password
        self.fmt = Formats(self.wb, text_wrap=True)

    def sheet(self, name: str):
        """Add the visible sheet `name` and the hidden identity sheet after it; returns the first."""
        sheet = self.wb.add_worksheet(name)
        meta = self.wb.add_worksheet(META_SHEET)
        self.level_ranges = write_identity_sheet(meta, self.identity, self.results.rubric, self.password)
        set_identity_properties(self.wb, self.identity)
        self.wb.set_properties({"title": KIND_LABELS[self.identity["kind"]], "comments": identity_line(self.identity)})
        return sheet

    def heading(self, s, last_col: int, title: str, lines: list[str]) -> int:
        """The office's header (UBND …, the office) at the top left, the title and `lines` under it;
        returns the table's header row."""
        f = self.fmt
        issuer, office = self.results.profile.header_lines()
        width = min(last_col, 2)
        for row, (text, bold) in enumerate(((issuer, False), (office, True))):
            if width:
                s.merge_range(row, 0, row, width, text, f(bold=bold, align="center", text_wrap=False))
            else:
                s.write_string(row, 0, text, f(bold=bold, align="center", text_wrap=False))
        top = 2
        s.merge_range(top, 0, top, last_col, title, f(bold=True, align="center", font_size=14))
        for row, line in enumerate(lines, start=top + 1):
            s.merge_range(row, 0, row, last_col, line, f(align="center", italic=row == top + len(lines)))
        return top + len(lines) + 2

    def finish(self, s, layout: Layout, header_row: int, last_row: int, last_col: int, landscape=True) -> None:
        """The identity line under the table, the sheet's protection and its print setup (the
        header row repeated on every page)."""
        s.merge_range(last_row + 6, 0, last_row + 6, min(last_col, 6),
                      f"{layout.texts['identity']} {identity_line(self.identity)}",
                      self.fmt(font_size=8, font_color="#808080", text_wrap=False))
        s.protect(self.password, {"select_locked_cells": True, "select_unlocked_cells": True,
                                  "format_columns": True, "format_rows": True})
        # fit_to_pages and print_area were set by the writer, which knows its own scale
        setup_print(s, repeat=(header_row, header_row), landscape=landscape, fit_width=False)
        s.activate()

    def close(self) -> Path:
        """Write the workbook whole (or not at all) to its path; returns the path."""
        return write_atomic(self.path, lambda partial: self.wb.close())  # the workbook writes to the part


def _signature(book: AppraisalBook, layout: Layout, s, row: int, right_col: int, last_col: int) -> int:
    profile = book.results.profile
    return write_signature(s, book.fmt, row, layout.signature, left=(0, 1), right=(right_col, last_col),
                           date_line=profile.date_line(profile.issue_year(book.results.period)))


def _write_by_unit(path: Path, results: Results, unit: UnitRow, password: str) -> Path:
    rubric = results.rubric
    book = AppraisalBook(path, results, workbook_identity(results, KIND_APPRAISAL_UNIT, unit=unit), password)
    s = book.sheet(APPRAISAL_SHEET)
    f = book.fmt
    layout = APPRAISAL_UNIT_LAYOUT
    texts = layout.texts
    columns = layout.columns
    col = {c.key: index for index, c in enumerate(columns)}
    width = {c.key: c.width for c in columns}
    last = len(columns) - 1
    period = results.period.label if results.period else ""
    top = book.heading(s, last, texts["title"].format(period=period.upper()), [
        texts["unit"].format(committee=unit.committee, label=UNIT_COLUMN_LABEL.lower(), code=unit.code),
        texts["basis"].format(title=rubric.title, legal_basis=rubric.legal_basis.describe()),
        texts["instruction"],
    ])
    head = f(bold=True, border=1, align="center", bg_color=FILL_HEADER)
    for index, column in enumerate(columns):
        s.write_string(top, index, column.header, head)
        s.set_column(index, index, column.width)
    s.set_row(top, 36)
    excluded = excluded_codes(results, unit)
    suggested = suggestions_by_unit(results).get(unit.code, {})
    row_of = {}
    row = top
    for node in rubric.nodes():
        row += 1
        row_of[node.code] = row
    for node in rubric.nodes():
        row = row_of[node.code]
        parent = not node.is_leaf
        fill = FILL_HEADER if node.parent is None and parent else FILL_PARENT if parent else "#FFFFFF"
        text = f(border=1, bold=parent, bg_color=fill)
        center = f(border=1, bold=parent, bg_color=fill, align="center")
        s.write_string(row, col["code"], node.code, center)
        s.write_string(row, col["label"], node.label, text)
        s.write_number(row, col["max"], float(node.max), center)
        appraisal_ref = cell_ref(row, col["appraisal"])
        max_ref = cell_ref(row, col["max"])
        if parent:
            self_value = unit.subtotals.get(node.code)
            write_number_or_blank(s, row, col["score"], self_value, center)
            for key in ("evidence", "explanation", "comment", "suggestion"):
                s.write_blank(row, col[key], None, text)
            terms = [cell_ref(row_of[c.code], col["appraisal"]) for c in node.children]
            s.write_formula(row, col["appraisal"], f"=SUM({','.join(terms)})", center, 0)
        else:
            self_value = unit.scores.get(node.code)
            typed = unit.as_typed.get(node.code)
            if typed is not None:  # what the commune wrote, marked, never a silently counted figure
                s.write_string(row, col["score"], typed, f(border=1, align="center", bg_color=FILL_TEXT_SCORE))
            else:
                write_number_or_blank(s, row, col["score"], self_value, center)
            s.write_string(row, col["evidence"], unit.evidence.get(node.code, ""), text)
            s.write_string(row, col["explanation"], unit.explanations.get(node.code, ""), text)
            hint = suggested.get(node.code, "")
            if typed is not None:
                hint = (typed_note(typed, self_value) + ("\n" + hint if hint else ""))
            s.write_string(row, col["suggestion"], hint, f(border=1, text_wrap=True, font_color="#9C5700"))
            if not node.self_scored or node.code in excluded:
                grey = f(border=1, bg_color=FILL_LOCKED_OUT, italic=True)
                grey_c = f(border=1, bg_color=FILL_LOCKED_OUT, italic=True, align="center")
                note = texts["survey_note"] if not node.self_scored else texts["na"]
                # what Phụ lục II counts for it: the province's survey score once merged, the
                # maximum for a not-applicable criterion under full_marks, else nothing
                counted = _counted_without_council(rubric, node, unit, excluded)
                write_number_or_blank(s, row, col["appraisal"], counted, grey_c)
                s.write_string(row, col["comment"], note, grey)
            else:
                s.write_blank(row, col["appraisal"], None, f(border=1, locked=False, align="center"))
                s.write_string(row, col["comment"], "", f(border=1, locked=False))
                s.data_validation(row, col["appraisal"], row, col["appraisal"],
                                  score_validation(node, row, col["appraisal"], book.level_ranges, "thẩm định"))
        # cut to 2 places as score.cut_percent and the reports cut them (TRUNC, not the % format's rounding)
        s.write_formula(row, col["percent"],
                        f'=IF(OR({appraisal_ref}="",{max_ref}=0),"",TRUNC({appraisal_ref}*100/{max_ref},2))',
                        f(border=1, align="center", num_format=PERCENT_FORMAT, bg_color=fill), "")
        fit_row(s, row, [(node.label, width["label"]), (unit.evidence.get(node.code, ""), width["evidence"]),
                         (unit.explanations.get(node.code, ""), width["explanation"]),
                         (suggested.get(node.code, ""), width["suggestion"])], bold=parent)
    last_row = row_of[rubric.nodes()[-1].code]
    inputs = [row_of[n.code] for n in rubric.scorable() if n.code not in excluded]
    if inputs:
        letter = column_letter(col["appraisal"])
        s.conditional_format(inputs[0], col["appraisal"], inputs[0], col["appraisal"], {
            "type": "formula", "criteria": f"=LEN(${letter}{inputs[0] + 1})=0",
            "format": book.wb.add_format({"bg_color": FILL_MISSING}),
            "multi_range": " ".join(f"{letter}{r + 1}" for r in inputs)})
    total_row = last_row + 1
    bold = f(bold=True, border=1, bg_color=FILL_HEADER)
    bold_c = f(bold=True, border=1, bg_color=FILL_HEADER, align="center")
    surveys_known = all(unit.appraisal.get(n.code) is not None for n in rubric.leaves() if not n.self_scored)
    s.merge_range(total_row, 0, total_row, col["max"],
                  texts["total"] + ("" if surveys_known else texts["total_without_survey"]), bold)
    write_number_or_blank(s, total_row, col["score"], unit.self_base_total if rubric.extras() else unit.self_total,
                          bold_c)
    roots = ",".join(cell_ref(row_of[r.code], col["appraisal"]) for r in rubric.roots)
    s.write_formula(total_row, col["appraisal"], f"=SUM({roots})", bold_c, 0)
    total_ref = cell_ref(total_row, col["appraisal"])
    # the same rescaling as Phụ lục I and score.rescale: raw × total / applicable maximum, ROUND 3
    applicable = rubric.total - sum((rubric.node(c).max for c in excluded), Decimal(0))
    if rubric.na_policy == "rescale" and applicable < rubric.total and applicable > 0:
        total_row += 1
        s.merge_range(total_row, 0, total_row, col["max"], RESCALED_LABEL.format(total=format_vn(rubric.total)), bold)
        s.write_blank(total_row, col["score"], None, bold_c)
        t = format(rubric.total, "f")
        s.write_formula(total_row, col["appraisal"], f"=ROUND({total_ref}*{t}/{format(applicable, 'f')},3)", bold_c, 0)
        total_ref = cell_ref(total_row, col["appraisal"])
    if rubric.extras():  # the capped bonus added and the capped penalty subtracted, as in Phụ lục I
        total = total_ref
        for extra in rubric.extras():
            items = ",".join(cell_ref(row_of[i.code], col["appraisal"]) for i in extra.items) or "0"
            total += ("+" if extra.part == "bonus" else "-") + f"MIN(SUM({items}),{format(extra.max, 'f')})"
        total_row += 1
        s.merge_range(total_row, 0, total_row, col["max"], FINAL_LABEL, bold)
        write_number_or_blank(s, total_row, col["score"], unit.self_total, bold_c)
        s.write_formula(total_row, col["appraisal"], f"=MAX(0,{total})", bold_c, 0)
    end = _signature(book, layout, s, total_row + 2, col["evidence"], last)
    s.freeze_panes(top + 1, 2)
    s.print_area(0, 0, end, last)
    s.fit_to_pages(1, 0)
    book.finish(s, layout, top, end, last)
    return book.close()


def _write_by_area(path: Path, results: Results, area: Node, units: list[UnitRow], password: str) -> Path:
    book = AppraisalBook(path, results, workbook_identity(results, KIND_APPRAISAL_AREA, area=area), password)
    s = book.sheet(APPRAISAL_SHEET)
    f = book.fmt
    layout = APPRAISAL_AREA_LAYOUT
    texts = layout.texts
    fixed, group = len(APPRAISAL_AREA_FIXED), len(APPRAISAL_AREA_UNIT_COLUMNS)
    last = fixed - 1 + group * len(units)
    period = results.period.label if results.period else ""
    top = book.heading(s, min(last, 12), texts["title"].format(code=area.code, label=area.label.upper()), [
        texts["count"].format(period=period, count=len(units)),
        texts["instruction"],
    ])
    head = f(bold=True, border=1, align="center", bg_color=FILL_HEADER)
    unit_row, header = top, top + 1
    for index, column in enumerate(APPRAISAL_AREA_FIXED):
        s.merge_range(unit_row, index, header, index, column.header, head)
        s.set_column(index, index, column.width)
    for n, unit in enumerate(units):
        c0 = fixed + group * n
        s.merge_range(unit_row, c0, unit_row, c0 + group - 1,
                      texts["unit_group"].format(committee=unit.committee, code=unit.code), head)
        for offset, column in enumerate(APPRAISAL_AREA_UNIT_COLUMNS):
            s.write_string(header, c0 + offset, column.header, head)
            s.set_column(c0 + offset, c0 + offset, column.width)
    s.set_row(unit_row, 36)
    s.set_row(header, 36)
    nodes = list(area.walk())
    row_of = {node.code: header + 1 + i for i, node in enumerate(nodes)}
    suggested = suggestions_by_unit(results)
    hint = f(border=1, text_wrap=True, font_color="#9C5700")
    missing_fmt = book.wb.add_format({"bg_color": FILL_MISSING})
    for node in nodes:
        row = row_of[node.code]
        parent = not node.is_leaf
        fill = FILL_PARENT if parent else "#FFFFFF"
        text = f(border=1, bold=parent, bg_color=fill)
        center = f(border=1, bold=parent, bg_color=fill, align="center")
        s.write_string(row, 0, node.code, center)
        s.write_string(row, 1, node.label, text)
        s.write_number(row, 2, float(node.max), center)
        hints = [(suggested.get(u.code, {}).get(node.code, ""), APPRAISAL_AREA_UNIT_COLUMNS[-1].width) for u in units]
        fit_row(s, row, [(node.label, APPRAISAL_AREA_FIXED[1].width)] + hints, bold=parent)
        for n, unit in enumerate(units):
            c0 = fixed + group * n
            excluded = excluded_codes(results, unit)
            typed = None if parent else unit.as_typed.get(node.code)
            if typed is not None:  # what the commune wrote, marked (the hint says what counts)
                s.write_string(row, c0, typed, f(border=1, align="center", bg_color=FILL_TEXT_SCORE))
            else:
                write_number_or_blank(s, row, c0, unit.subtotals.get(node.code) if parent else unit.scores.get(node.code),
                                      center)
            if parent:
                terms = [cell_ref(row_of[c.code], c0 + 1) for c in node.children]
                s.write_formula(row, c0 + 1, f"=SUM({','.join(terms)})", center, 0)
                s.write_blank(row, c0 + 2, None, text)
                s.write_blank(row, c0 + 3, None, text)
                continue
            note = suggested.get(unit.code, {}).get(node.code, "")
            if typed is not None:
                note = typed_note(typed, unit.scores.get(node.code)) + ("\n" + note if note else "")
            s.write_string(row, c0 + 3, note, hint)
            if not node.self_scored or node.code in excluded:
                grey = f(border=1, bg_color=FILL_LOCKED_OUT, italic=True)
                s.write_blank(row, c0 + 1, None, grey)
                s.write_string(row, c0 + 2, texts["survey_note"] if not node.self_scored else texts["na"], grey)
            else:
                s.write_blank(row, c0 + 1, None, f(border=1, locked=False, align="center"))
                s.write_string(row, c0 + 2, "", f(border=1, locked=False))
                s.data_validation(row, c0 + 1, row, c0 + 1, score_validation(node, row, c0 + 1, book.level_ranges, "thẩm định"))
                s.conditional_format(row, c0 + 1, row, c0 + 1, {
                    "type": "formula", "criteria": f"=LEN({cell_ref(row, c0 + 1)})=0", "format": missing_fmt})
    last_row = row_of[nodes[-1].code]
    end = _signature(book, layout, s, last_row + 2, fixed, min(last, 8))
    s.freeze_panes(header + 1, 3)
    s.repeat_columns(0, 2)
    s.print_area(0, 0, end, last)
    s.set_print_scale(AREA_PRINT_SCALE)
    # each commune's columns on one page: a break between groups, two groups per A4 landscape
    # page beside the repeated code/label/maximum columns (checked by rendering with LibreOffice)
    s.set_v_pagebreaks([fixed + group * n for n in range(AREA_GROUPS_PER_PAGE, len(units), AREA_GROUPS_PER_PAGE)])
    book.finish(s, layout, header, end, last)
    return book.close()


def _write_survey(path: Path, results: Results, password: str) -> Path | None:
    survey = [leaf for leaf in results.rubric.leaves() if not leaf.self_scored]
    if not survey:
        return None
    book = AppraisalBook(path, results, workbook_identity(results, KIND_SURVEY), password)
    s = book.sheet(SURVEY_SHEET)
    f = book.fmt
    layout = SURVEY_LAYOUT
    texts = layout.texts
    criterion = layout.column("criterion")
    first = len(SURVEY_FIXED)
    last = first - 1 + len(survey)
    period = results.period.label if results.period else ""
    top = book.heading(s, last, texts["title"].format(period=period.upper()), [texts["instruction"]])
    head = f(bold=True, border=1, align="center", bg_color=FILL_HEADER)
    labels, header = top, top + 1
    for index, column in enumerate(SURVEY_FIXED):
        s.merge_range(labels, index, header, index, column.header, head)
        s.set_column(index, index, column.width)
    label_of = {leaf.code: texts["criterion_label"].format(label=leaf.label, max=format_vn(leaf.max)) for leaf in survey}
    for n, leaf in enumerate(survey):
        s.write_string(labels, first + n, label_of[leaf.code], head)
        s.write_string(header, first + n, criterion.header.format(code=leaf.code), head)
        s.set_column(first + n, first + n, criterion.width)
    fit_row(s, labels, [(label_of[leaf.code], criterion.width) for leaf in survey], bold=True)
    row = header
    for number, unit in enumerate(results.units, start=1):
        row += 1
        s.write_number(row, 0, number, f(border=1, align="center"))
        s.write_string(row, 1, unit.code, f(border=1, align="center"))
        s.write_string(row, 2, unit.committee, f(border=1))
        for n, leaf in enumerate(survey):
            value = unit.appraisal.get(leaf.code)
            fmt = f(border=1, locked=False, align="center")
            write_number_or_blank(s, row, first + n, value, fmt)
            s.data_validation(row, first + n, row, first + n,
                              score_validation(leaf, row, first + n, book.level_ranges, "điều tra"))
    end = row + 2
    s.freeze_panes(header + 1, 3)
    s.print_area(0, 0, end, last)
    s.fit_to_pages(1, 0)
    book.finish(s, layout, header, end, last, landscape=False)
    return book.close()


def write_appraisal_workbooks(harvest_dir: Path, out_dir: Path, by: str = "unit", password: str = "",
                              profile: OfficeProfile | None = None) -> AppraisalOutputs:
    """Appraisal workbooks pre-filled from DIR/harvest.json, and the survey workbook, headed for
    the office (the profile the harvest kept, with `profile`'s keys over it)."""
    if password and not password.isascii():
        raise CchcError.of("password.not_ascii")
    results = load_results(harvest_dir)
    results = replace(results, profile=results.profile.merged(profile or OfficeProfile()))
    units = results.submitted()
    if not units:
        raise CchcError.of("appraisal.nothing_counted")
    period = results.period.key if results.period else "ky"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        if by == "area":
            for area in results.rubric.areas() + extras_area(results.rubric):
                if not any(leaf.self_scored for leaf in area.leaves()):
                    continue
                name = f"tham-dinh_linh-vuc-{ascii_slug(area.code)}_{period}.xlsx"
                written.append(_write_by_area(out_dir / name, results, area, units, password))
        else:
            for unit in units:
                slug = Unit(unit.code, unit.name, unit.kind).slug
                written.append(_write_by_unit(out_dir / f"tham-dinh_{unit.code}_{slug}_{period}.xlsx",
                                              results, unit, password))
        survey = _write_survey(out_dir / f"dieu-tra_{period}.xlsx", results, password)
    except OSError as exc:
        raise output_error(exc, out_dir, "bảng thẩm định") from exc
    return AppraisalOutputs(out_dir, tuple(written), survey)


def extras_area(rubric: Rubric) -> list[Node]:
    """The bonus and penalty items as one more “area” for the appraisal by area ([] without them)."""
    items = tuple(item for extra in rubric.extras() for item in extra.items)
    if not items:
        return []
    # "THUONG-TRU" cannot be a rubric code (no hyphen there): never an area's code or file name
    return [Node(code="THUONG-TRU", label="Điểm thưởng, điểm trừ", max=sum((i.max for i in items), Decimal(0)), children=items)]
