"""Render a rubric into one locked, print-ready self-assessment workbook (Phụ lục I) per unit.

Every subtotal is a live formula written with its correct cached result, every score cell
validates, only what a commune fills is unlocked, and the workbook's identity is stored three
ways (very hidden sheet, custom document properties, a visible line) so it survives re-saving.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import os
import re
import tempfile
import uuid
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from cchc_xls import __version__
from cchc_xls.errors import OutputError, folder_error
from cchc_xls.layout import (
    EXTRA_HEADING_NOTE, EXTRA_HEADINGS, EXTRA_LABELS, FINAL_LABEL, GROUP_LABEL, GUIDE_SHEET, IDENTITY_KEYS,
    IDENTITY_LABEL, KIND_SELF, MAIN_SHEET, META_SHEET, NA_MARK, NOT_SELF_SCORED_NOTE, PROPERTY_PREFIX, RESCALED_LABEL,
    SELF_LAYOUT, TEXT_SCORE_NOTE, TOTAL_LABEL, FORMAT_VERSION, UNIT_CODE_LABEL,
    active_columns, cell_ref, column_letter, identity_line,
)
from cchc_xls.numbers import ZERO, format_vn, to_decimal
from cchc_xls.resources import render_text
from cchc_xls.profile import OfficeProfile
from cchc_xls.rubric import Node, Rubric
from cchc_xls.score import compute_totals, final_total, not_applicable_codes, rescale, unit_band
from cchc_xls.outputs import HISTORY, write_atomic, write_text_atomic
from cchc_xls.style import (
    FILL_ATTENTION, FILL_HEADER, FILL_LOCKED_OUT, FILL_MISSING, FILL_PARENT, FILL_TEXT_SCORE, Formats, fit_row, new_workbook, row_height,
    setup_print, wrapped_lines, write_signature,
)
from cchc_xls.units import Period, Unit, deadline_text

HEADER_ROW = 8  # zero-based row of the table header
LEVELS_FIRST_ROW = 40  # zero-based row in the meta sheet where drop-down lists start

@dataclass
class Entries:
    """What a commune typed: used to render filled workbooks (demo, tests, benchmarks).

    Scores are Decimals (typed as numbers) or strings (typed as text, e.g. "2,5").
    """

    scores: dict[str, object] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    na: set[str] = field(default_factory=set)
    typed_subtotals: dict[str, Decimal] = field(default_factory=dict)  # formulas overwritten by a typed number
    saved_at: datetime | None = None  # when the commune saved the file (the workbook's own time)


@dataclass(frozen=True)
class Options:
    office: str = ""
    deadline: str = ""
    password: str = ""
    batch: str = ""
    generated_at: str = ""


@dataclass(frozen=True)
class Generated:
    """The outputs of one `cchc generate` run."""

    out_dir: Path
    files: tuple[Path, ...]
    manifest: Path
    archive: Path
    messages: Path
    batch: str
    stale: tuple[str, ...] = ()  # an earlier batch's templates moved to lich-su/ (not in this batch)


def template_file_name(unit: Unit, period: Period) -> str:
    """ASCII-only: `30512_xa-chi-minh_CCHC_2024.xlsx`."""
    return f"{unit.code}_{unit.slug}_CCHC_{period.key}.xlsx"


def make_identity(rubric: Rubric, unit: Unit, period: Period, options: Options) -> dict:
    return {
        "kind": KIND_SELF,
        "format": FORMAT_VERSION,
        "rubric_id": rubric.id,
        "rubric_hash": rubric.content_hash,
        "period": period.key,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "template_id": f"{options.batch}-{unit.code}",
        "batch": options.batch,
        "tool_version": __version__,
        "generated_at": options.generated_at,
    }


# ---------------------------------------------------------------------------------------------
# One workbook


@dataclass
class _RowPlan:
    node: Node
    row: int
    status: str  # "parent" | "input" | "survey" | "excluded"


class _TemplateWriter:
    """Writes the Phụ lục I sheet, the instructions and the identity into one workbook."""

    def __init__(self, workbook, rubric: Rubric, unit: Unit, period: Period, options: Options, entries: Entries | None):
        self.wb = workbook
        self.rubric = rubric
        self.unit = unit
        self.period = period
        self.options = options
        self.entries = entries or Entries()
        self.fmt = Formats(workbook, text_wrap=True)
        self.has_na = any(n.may_be_na or n.applies_to for n in rubric.leaves())
        self.columns = active_columns(self.has_na)
        self.col = {c.key: i for i, c in enumerate(self.columns)}
        self.last_col = len(self.columns) - 1
        self.kind_na = not_applicable_codes(rubric, unit.kind) - {n.code for n in rubric.leaves() if n.may_be_na and n.applies(unit.kind)}
        self.numeric = {code: to_decimal(v) for code, v in self.entries.scores.items() if not isinstance(v, str)}
        self.totals = self._cached_totals()

    def _cached_totals(self):
        """What Excel would show: the exact totals, with any typed-over subtotal carried upwards."""
        totals = compute_totals(self.rubric, self.numeric, self.unit.kind, self.entries.na)
        if not self.entries.typed_subtotals:
            return totals
        subtotals = dict(totals.subtotals)
        raw = totals.raw_total
        for code, typed in self.entries.typed_subtotals.items():
            delta = to_decimal(typed) - subtotals.get(code, ZERO)
            subtotals[code] = to_decimal(typed)
            parent = self.rubric.node(code).parent
            while parent is not None:
                subtotals[parent] += delta
                parent = self.rubric.node(parent).parent
            raw += delta
        base = rescale(raw, self.rubric.total, totals.applicable_max)
        return replace(totals, subtotals=subtotals, raw_total=raw, base_total=base,
                       total=final_total(base, totals.bonus, totals.penalty))

    # -- helpers --
    def ref(self, key: str, row: int, absolute: bool = False) -> str:
        letter = column_letter(self.col[key])
        return f"${letter}${row + 1}" if absolute else f"{letter}{row + 1}"

    def write(self, identity: dict) -> None:
        self.sheet = self.wb.add_worksheet(MAIN_SHEET)
        self.guide = self.wb.add_worksheet(GUIDE_SHEET)
        self.meta = self.wb.add_worksheet(META_SHEET)
        self.write_meta(identity)
        self.write_heading()
        plans = self.plan_rows()
        for plan in plans:
            self.write_node(plan)
        end = self.write_footer(plans, identity)
        self.add_conditional_formats(plans)
        self.setup_sheet(end)
        self.write_guide()
        set_identity_properties(self.wb, identity)
        # a batch's templates are dated when the batch was made (every one alike, stamped or rendered)
        created = self.entries.saved_at or _batch_time(self.options.generated_at)
        saved = {"created": created} if created else {}
        self.wb.set_properties({
            **saved,
            "title": f"Phiếu tự đánh giá Chỉ số CCHC {self.period.label} - {self.unit.committee}",
            "subject": self.rubric.title,
            "author": self.options.office or "cchc-xls",
            "company": self.options.office,
            "comments": identity_line(identity),
        })
        self.sheet.activate()

    def write_meta(self, identity: dict) -> None:
        self.level_ranges = write_identity_sheet(self.meta, identity, self.rubric, self.options.password)

    def write_heading(self) -> None:
        s, f = self.sheet, self.fmt
        last = self.last_col
        split = 1  # columns A-B on the left, the rest on the right
        bold_c = f(bold=True, align="center")
        s.merge_range(0, 0, 0, split, "ỦY BAN NHÂN DÂN", bold_c)
        s.merge_range(1, 0, 1, split, self.unit.full_name.upper(), bold_c)
        s.merge_range(0, split + 1, 0, last, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold_c)
        s.merge_range(1, split + 1, 1, last, "Độc lập - Tự do - Hạnh phúc", f(bold=True, align="center", underline=True))
        s.merge_range(3, 0, 3, last, f"BẢNG TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH {self.period.label.upper()}",
                      f(bold=True, align="center", font_size=14))
        s.merge_range(4, 0, 4, last, f"Đơn vị: {self.unit.committee} ({UNIT_CODE_LABEL.lower()} {self.unit.code})",
                      f(bold=True, align="center"))
        s.merge_range(5, 0, 5, last, f"Kỳ đánh giá: {self.period.label}", f(align="center"))
        s.merge_range(6, 0, 6, last, f"Theo {self.rubric.title}, ban hành kèm theo {self.rubric.legal_basis.describe()}",
                      f(italic=True, align="center"))
        s.set_row(6, 36)
        header = f(bold=True, align="center", border=1, bg_color=FILL_HEADER)
        for index, column in enumerate(self.columns):
            s.write_string(HEADER_ROW, index, column.header, header)
            s.set_column(index, index, column.width)
        s.set_row(HEADER_ROW, 36)

    def plan_rows(self) -> list[_RowPlan]:
        plans = []
        row = HEADER_ROW + 1
        self.extra_heading_rows = {}
        for node in self.rubric.nodes():
            if node.part and node.part not in self.extra_heading_rows:
                self.extra_heading_rows[node.part] = row  # ĐIỂM THƯỞNG / ĐIỂM TRỪ, a row without a code
                row += 1
            if not node.is_leaf:
                status = "parent"
            elif node.code in self.kind_na:
                status = "excluded"
            elif not node.self_scored:
                status = "survey"
            else:
                status = "input"
            plans.append(_RowPlan(node, row, status))
            row += 1
        self.row_of = {p.node.code: p.row for p in plans}
        self.plan_of = {p.node.code: p for p in plans}
        return plans

    def contribution(self, code: str) -> str | None:
        """The formula term a child adds to its parent's subtotal (None: adds nothing)."""
        plan = self.plan_of[code]
        row = plan.row
        full = self.rubric.na_policy == "full_marks"
        if plan.status == "excluded":
            return self.ref("max", row) if full else None
        if plan.status == "input" and plan.node.may_be_na:
            instead = self.ref("max", row) if full else "0"
            return f'IF({self.ref("na", row)}<>"",{instead},{self.ref("score", row)})'
        return self.ref("score", row)

    def fit_row(self, row: int, texts: dict[str, str], bold: bool = False, minimum: int = 1) -> None:
        """Set the row's height from the wrapped length of its longest text."""
        widths = {col.key: col.width for col in self.columns}
        fit_row(self.sheet, row, [(t, widths[k]) for k, t in texts.items()], bold, minimum)

    def write_node(self, plan: _RowPlan) -> None:
        s, f, node, row = self.sheet, self.fmt, plan.node, plan.row
        c = self.col
        entries = self.entries
        self.fit_row(row, {
            "label": node.label,
            "evidence": entries.evidence.get(node.code, ""),
            "explanation": entries.explanations.get(node.code, ""),
        }, bold=plan.status == "parent", minimum=2 if plan.status == "input" else 1)
        is_root = node.parent is None
        if plan.status == "parent":
            fill = FILL_HEADER if is_root else FILL_PARENT
            text = f(bold=True, border=1, bg_color=fill)
            s.write_string(row, c["code"], node.code, f(bold=True, border=1, bg_color=fill, align="center"))
            s.write_string(row, c["label"], node.label, text)
            s.write_number(row, c["max"], float(node.max), f(bold=True, border=1, bg_color=fill, align="center"))
            terms = [t for t in (self.contribution(ch.code) for ch in node.children) if t is not None]
            formula = f"=SUM({','.join(terms)})" if terms else "=0"
            cached = self.totals.subtotals.get(node.code, ZERO)
            score_format = f(bold=True, border=1, bg_color=fill, align="center")
            if node.code in self.entries.typed_subtotals:
                s.write_number(row, c["score"], _num(self.entries.typed_subtotals[node.code]), score_format)
            else:
                s.write_formula(row, c["score"], formula, score_format, _num(cached))
            for key in ("na", "evidence", "explanation"):
                if key in c:
                    s.write_blank(row, c[key], None, f(border=1, bg_color=fill))
            return

        plain = f(border=1)
        s.write_string(row, c["code"], node.code, f(border=1, align="center"))
        s.write_string(row, c["label"], node.label, plain)
        s.write_number(row, c["max"], float(node.max), f(border=1, align="center"))
        if plan.status in ("survey", "excluded"):
            grey = f(border=1, bg_color=FILL_LOCKED_OUT, align="center")
            s.write_blank(row, c["score"], None, grey)
            note = NOT_SELF_SCORED_NOTE if plan.status == "survey" else f"{NA_MARK} đối với {self.unit.kind or 'đơn vị này'}"
            if "na" in c:
                s.write(row, c["na"], NA_MARK if plan.status == "excluded" else "", grey)
            s.write_string(row, c["evidence"], note, f(border=1, bg_color=FILL_LOCKED_OUT, italic=True))
            s.write_blank(row, c["explanation"], None, f(border=1, bg_color=FILL_LOCKED_OUT))
            return

        unlocked = f(border=1, locked=False)
        unlocked_c = f(border=1, locked=False, align="center")
        value = self.entries.scores.get(node.code)
        if value is None:
            s.write_blank(row, c["score"], None, unlocked_c)
        elif isinstance(value, str):
            s.write_string(row, c["score"], value, unlocked_c)
        else:
            s.write_number(row, c["score"], float(to_decimal(value)), unlocked_c)
        # Untrusted text stays text: write_string never turns "=..." into a formula.
        s.write_string(row, c["evidence"], self.entries.evidence.get(node.code, ""), unlocked)
        s.write_string(row, c["explanation"], self.entries.explanations.get(node.code, ""), unlocked)
        if "na" in c:
            if node.may_be_na:
                s.write_string(row, c["na"], NA_MARK if node.code in self.entries.na else "", unlocked_c)
                s.data_validation(row, c["na"], row, c["na"], {
                    "validate": "list", "source": [NA_MARK], "ignore_blank": True,
                    "input_title": "Không áp dụng?",
                    "input_message": "Chọn “Không áp dụng” nếu đơn vị không phát sinh nội dung này, và ghi giải trình.",
                    "error_title": "Giá trị không hợp lệ",
                    "error_message": "Chỉ chọn “Không áp dụng” hoặc để trống.",
                })
            else:
                s.write_blank(row, c["na"], None, f(border=1))
        self.validate_score(node, row)

    def validate_score(self, node: Node, row: int) -> None:
        col = self.col["score"]
        self.sheet.data_validation(row, col, row, col, score_validation(node, row, col, self.level_ranges))

    def write_extra_headings(self) -> None:
        """A heading row above the bonus items and one above the penalty items."""
        s, f, c = self.sheet, self.fmt, self.col
        for extra in self.rubric.extras():
            row = self.extra_heading_rows.get(extra.part)
            if row is None:
                continue
            fill = f(bold=True, border=1, bg_color=FILL_HEADER)
            s.write_blank(row, c["code"], None, fill)
            note = EXTRA_HEADING_NOTE[extra.part].format(max=format_vn(extra.max))
            s.write_string(row, c["label"], f"{EXTRA_HEADINGS[extra.part]} ({note})", fill)
            for key in ("max", "score", "na", "evidence", "explanation"):
                if key in c:
                    s.write_blank(row, c[key], None, fill)

    def write_footer(self, plans: list[_RowPlan], identity: dict) -> int:
        s, f, c = self.sheet, self.fmt, self.col
        self.write_extra_headings()
        row = plans[-1].row + 1
        first_row, last_row = plans[0].row, plans[-1].row
        bold = f(bold=True, border=1, bg_color=FILL_HEADER)
        bold_c = f(bold=True, border=1, bg_color=FILL_HEADER, align="center")
        raw_terms = ",".join(self.ref("score", self.row_of[r.code]) for r in self.rubric.roots)
        s.merge_range(row, 0, row, c["label"], TOTAL_LABEL, bold)
        s.write_number(row, c["max"], float(self.rubric.total), bold_c)
        s.write_formula(row, c["score"], f"=SUM({raw_terms})", bold_c, _num(self.totals.raw_total))
        self.fit_footer_row(row, TOTAL_LABEL, c["label"])
        self.total_row = row
        total_ref = self.ref("score", row, absolute=True)
        if self.rubric.na_policy == "rescale" and self.has_na:
            row += 1
            na_col, max_col = column_letter(c["na"]), column_letter(c["max"])
            excluded = (f'SUMPRODUCT(--(${na_col}${first_row + 1}:${na_col}${last_row + 1}<>""),'
                        f'${max_col}${first_row + 1}:${max_col}${last_row + 1})')
            total = format(self.rubric.total, "f")
            s.merge_range(row, 0, row, c["label"], RESCALED_LABEL.format(total=format_vn(self.rubric.total)), bold)
            self.fit_footer_row(row, RESCALED_LABEL, c["label"])
            s.write_number(row, c["max"], float(self.rubric.total), bold_c)
            formula = f"=IF({excluded}>0,ROUND({total_ref}*{total}/({total}-{excluded}),3),{total_ref})"
            s.write_formula(row, c["score"], formula, bold_c, _num(self.totals.base_total))
            total_ref = self.ref("score", row, absolute=True)
        if self.rubric.extras():
            row, total_ref = self.write_extra_totals(row, total_ref)
        row += 1
        label = GROUP_LABEL
        if any(not n.self_scored for n in self.rubric.leaves()):
            label += ", chưa gồm điểm do tỉnh chấm"
        s.merge_range(row, 0, row, c["max"], label, f(bold=True, border=1, text_wrap=True))
        self.fit_footer_row(row, label, c["max"])
        s.write_formula(row, c["score"], self.group_formula(total_ref), f(bold=True, border=1, align="center"),
                        self.group_cached())
        self.group_row = row

        row = write_signature(s, f, row + 2, SELF_LAYOUT.signature, left=(0, c["label"]),
                              right=(c["evidence"], self.last_col), place=self.unit.bare_name)
        row += 5
        s.merge_range(row, 0, row, self.last_col, f"{IDENTITY_LABEL} {identity_line(identity)}",
                      f(font_size=8, font_color="#808080", text_wrap=False))
        return row

    def fit_footer_row(self, row: int, label: str, last_merged: int) -> None:
        """A total row tall enough for its label across the merged columns, never cramped
        against its borders (at least 1.5 lines)."""
        width = sum(column.width for column in self.columns[:last_merged + 1])
        lines = wrapped_lines(label, width, bold=True)
        self.sheet.set_row(row, max(row_height(lines), row_height(1) * 1.5))

    def write_extra_totals(self, row: int, base_ref: str) -> tuple[int, str]:
        """One row per part below the base total: the bonus that counts, the penalty that
        counts, the final total (score.compute_totals computes the same, exactly)."""
        s, f, c = self.sheet, self.fmt, self.col
        bold = f(bold=True, border=1, bg_color=FILL_HEADER)
        bold_c = f(bold=True, border=1, bg_color=FILL_HEADER, align="center")
        refs = {}
        for extra in self.rubric.extras():
            row += 1
            items = ",".join(self.ref("score", self.row_of[item.code]) for item in extra.items) or "0"
            cap = format(extra.max, "f")
            s.merge_range(row, 0, row, c["label"], EXTRA_LABELS[extra.part].format(max=format_vn(extra.max)), bold)
            self.fit_footer_row(row, EXTRA_LABELS[extra.part], c["label"])
            s.write_number(row, c["max"], float(extra.max), bold_c)
            cached = self.totals.bonus if extra.part == "bonus" else self.totals.penalty
            s.write_formula(row, c["score"], f"=MIN(SUM({items}),{cap})", bold_c, _num(cached))
            refs[extra.part] = self.ref("score", row, absolute=True)
        row += 1
        terms = base_ref + (f"+{refs['bonus']}" if "bonus" in refs else "") + (f"-{refs['penalty']}" if "penalty" in refs else "")
        s.merge_range(row, 0, row, c["label"], FINAL_LABEL, bold)
        self.fit_footer_row(row, FINAL_LABEL, c["label"])
        s.write_blank(row, c["max"], None, bold_c)
        s.write_formula(row, c["score"], f"=MAX(0,{terms})", bold_c, _num(self.totals.total))
        self.final_row = row
        return row, self.ref("score", row, absolute=True)

    def group_formula(self, total_ref: str) -> str:
        """Nested IFs (IFS is missing from Excel 2016 and WPS); empty until a score is entered."""
        inputs = [self.ref("score", p.row) for p in self.plan_of.values() if p.status == "input"]
        chunks = [",".join(inputs[i:i + 200]) for i in range(0, len(inputs), 200)] or ["0"]
        counted = "+".join(f"COUNT({chunk})" for chunk in chunks)
        sanctioned = [item for item in (self.rubric.penalty.items if self.rubric.penalty else ()) if item.sanction]
        if sanctioned:
            return f'=IF({counted}=0,"",{self.sanctioned_band_formula(total_ref, sanctioned)})'
        expr = f'"{self.rubric.bands[-1].name}"'
        for band in reversed(self.rubric.bands[:-1]):
            expr = f'IF({total_ref}>={format(band.min, "f")},"{band.name}",{expr})'
        return f'=IF({counted}=0,"",{expr})'

    def sanctioned_band_formula(self, total_ref: str, sanctioned: list[Node]) -> str:
        """The band with the penalty sanctions applied as score.sanctioned_band applies them:
        the band's position from the total, one lower for `drop_one_band`, then the floors of
        `no_top_band` and `max_band`. N() so that a score typed as text counts as SUM counts it."""
        bands = self.rubric.bands
        names = [b.name for b in bands]
        count = len(bands)
        position = "1" + "".join(f"+({total_ref}<{format(b.min, 'f')})" for b in bands[:-1])

        def any_positive(items: list[Node]) -> str:
            return "OR(" + ",".join(f"N({self.ref('score', self.row_of[i.code])})>0" for i in items) + ")"

        drops = [i for i in sanctioned if i.sanction == "drop_one_band"]
        if drops:
            position = f"MIN({count},{position}+IF({any_positive(drops)},1,0))"
        floors = []
        no_top = [i for i in sanctioned if i.sanction == "no_top_band"]
        if no_top and count > 1:
            floors.append(f"IF({any_positive(no_top)},2,1)")
        for item in sanctioned:
            if item.sanction == "max_band":
                floors.append(f"IF({any_positive([item])},{names.index(item.sanction_band) + 1},1)")
        if floors:
            position = f"MAX({position},{','.join(floors)})"
        return "CHOOSE(" + position + "," + ",".join(f'"{name}"' for name in names) + ")"

    def group_cached(self) -> str:
        if not self.numeric:
            return ""
        return unit_band(self.rubric, self.totals.total, self.numeric) or ""

    def add_conditional_formats(self, plans: list[_RowPlan]) -> None:
        inputs = [p for p in plans if p.status == "input"]
        if not inputs:
            return
        c = self.col
        missing = self.wb.add_format({"bg_color": FILL_MISSING})
        attention = self.wb.add_format({"bg_color": FILL_ATTENTION})
        score_l = column_letter(c["score"])
        max_l = column_letter(c["max"])
        na_check = f'${column_letter(c["na"])}{{r}}=""' if "na" in c else "TRUE"

        def multi(key, rows):
            letter = column_letter(c[key])
            return " ".join(f"{letter}{r + 1}" for r in rows)

        def add(key, rows, formula, fmt):
            if not rows:
                return
            first = rows[0] + 1
            self.sheet.conditional_format(rows[0], c[key], rows[0], c[key], {
                "type": "formula", "criteria": formula.format(r=first), "format": fmt, "multi_range": multi(key, rows),
            })

        rows = [p.row for p in inputs]
        # first, so that it wins: a score typed as text is not added by SUM, so the total shown
        # would differ from the one that counts (the harvest says so: total.shown_differs)
        add("score", rows, f'=ISTEXT(${score_l}{{r}})', self.wb.add_format({"bg_color": FILL_TEXT_SCORE}))
        add("score", rows, f'=AND(LEN(${score_l}{{r}})=0,{na_check})', missing)
        evidence_rows = [p.row for p in inputs if p.node.evidence_required]
        add("evidence", evidence_rows,
            f'=AND(ISNUMBER(${score_l}{{r}}),${score_l}{{r}}>0,LEN(${column_letter(c["evidence"])}{{r}})=0)', attention)
        # a bonus or penalty item below its maximum is normal: no explanation asked
        add("explanation", [p.row for p in inputs if not p.node.part],
            f'=AND(ISNUMBER(${score_l}{{r}}),${score_l}{{r}}<${max_l}{{r}},LEN(${column_letter(c["explanation"])}{{r}})=0)',
            attention)

    def setup_sheet(self, end_row: int) -> None:
        s = self.sheet
        s.protect(self.options.password, {
            "select_locked_cells": True, "select_unlocked_cells": True,
            "format_columns": True, "format_rows": True,
        })
        setup_print(s, repeat=(HEADER_ROW, HEADER_ROW), left_margin=0.5, print_area=(end_row, self.last_col),
                    center=True)
        s.freeze_panes(HEADER_ROW + 1, 0)

    def write_guide(self) -> None:
        g, f = self.guide, self.fmt
        g.set_column(0, 0, GUIDE_WIDTH)
        text = guide_text(self.rubric, self.unit, self.period, self.options)
        heading, body = f(bold=True, font_size=14), f()
        for row, line in enumerate(line for line in text.splitlines() if line.strip()):
            is_heading = line.startswith("# ")
            line = line[2:] if is_heading else line
            g.write_string(row, 0, line, heading if is_heading else body)
            g.set_row(row, guide_row_height(line, is_heading))
        g.protect(self.options.password)
        g.set_paper(9)
        g.set_margins(left=0.7, right=0.5, top=0.7, bottom=0.7)
        g.fit_to_pages(1, 0)
        g.hide_gridlines(2)


def _batch_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc) if text else None
    except ValueError:
        return None


GUIDE_WIDTH = 78  # the instructions sheet's one column


def guide_text(rubric: Rubric, unit: Unit, period: Period, options: Options) -> str:
    """The instructions sheet's text for one unit."""
    return render_text(
        "huong-dan.txt.j2", unit=unit, period=period, rubric=rubric,
        deadline=options.deadline, office=options.office,
        # only the rows that really carry the drop-down: a "(nếu có)" in a label is no promise
        na_codes=", ".join(n.code for n in rubric.leaves() if n.may_be_na and n.self_scored and n.applies(unit.kind)),
        has_survey=any(not n.self_scored for n in rubric.leaves()),
        bonus_max=format_vn(rubric.bonus.max) if rubric.bonus else "",
        penalty_max=format_vn(rubric.penalty.max) if rubric.penalty else "",
    )


def guide_row_height(line: str, is_heading: bool) -> float:
    """The height of one line of the instructions sheet, as tall as its wrapped text."""
    return row_height(wrapped_lines(line, GUIDE_WIDTH * (0.85 if is_heading else 1), bold=is_heading))


def write_identity_sheet(meta, identity: dict, rubric: Rubric, password: str) -> dict[str, str]:
    """Fill the very hidden identity sheet; also holds each levelled criterion's drop-down list
    as numeric cells (so a Vietnamese-locale Excel stores 2,5 as a number). Returns list ranges."""
    meta.write_string(0, 0, "Thông tin nhận diện của tệp: không sửa, không xóa trang này.")
    for row, key in enumerate(IDENTITY_KEYS, start=1):
        meta.write_string(row, 0, key)
        meta.write_string(row, 1, str(identity.get(key, "")))
    ranges = {}
    row = LEVELS_FIRST_ROW
    for leaf in rubric.leaves():
        if leaf.levels:
            meta.write_string(row, 0, leaf.code)
            for offset, level in enumerate(leaf.levels, start=1):
                meta.write_number(row, offset, float(level.points))
            ranges[leaf.code] = f"={META_SHEET}!$B${row + 1}:${column_letter(len(leaf.levels))}${row + 1}"
            row += 1
    meta.protect(password)
    meta.very_hidden()
    return ranges


def set_identity_properties(workbook, identity: dict) -> None:
    for key in IDENTITY_KEYS:
        if identity.get(key):
            workbook.set_custom_property(PROPERTY_PREFIX + key, str(identity[key]))


def score_validation(node: Node, row: int, col: int, level_ranges: dict[str, str], who: str = "tự đánh giá") -> dict:
    """The data validation of one score cell: the rubric's levels, step, or [0, max]."""
    allowed = node.allowed_text()
    options = {
        "ignore_blank": True,
        "input_title": _clip(f"Tiêu chí {node.code}", 32),
        "input_message": _input_message(node.method or f"Nhập điểm {who}: {allowed}."),
        "error_title": "Điểm không hợp lệ",
        "error_message": _clip(f"Tiêu chí {node.code} (tối đa {format_vn(node.max)} điểm): {allowed}.", 255),
        "error_type": "stop",
    }
    if node.levels:
        options.update({"validate": "list", "source": level_ranges[node.code]})
    elif node.step:
        cell = cell_ref(row, col)
        step = format(node.step, "f")
        options.update({
            "validate": "custom",
            "value": f"=AND(ISNUMBER({cell}),{cell}>=0,{cell}<={format(node.max, 'f')},"
                     f"ROUND({cell}/{step},9)=INT(ROUND({cell}/{step},9)))",
        })
    else:
        options.update({"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": float(node.max)})
    return options


def _input_message(text: str) -> str:
    """The score cell's input message, with the meaning of its red fill when it fits (Excel
    allows 255 characters; a note cannot come from conditional formatting)."""
    with_note = f"{text} {TEXT_SCORE_NOTE}"
    return with_note if len(with_note) <= 255 else _clip(text, 255)


def _num(value: Decimal) -> float:
    return float(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_template(path: Path, rubric: Rubric, unit: Unit, period: Period, options: Options,
                    entries: Entries | None = None) -> dict:
    """Write one unit's workbook to `path` (whole or not at all); return its identity."""
    identity = make_identity(rubric, unit, period, options)

    def build(partial: Path) -> None:
        workbook = new_workbook(partial)
        _TemplateWriter(workbook, rubric, unit, period, options, entries).write(identity)
        workbook.close()

    write_atomic(path, build)
    return identity


# ---------------------------------------------------------------------------------------------
# A batch


# Placeholders of a stamp's master unit: words no unit is named, that no other text contains.
MASTER_CODE, MASTER_BARE = "Zqxcode", "Zqxbare"
STAMPED_PARTS = ("xl/sharedStrings.xml", "docProps/core.xml", "docProps/custom.xml")  # all a unit changes
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})  # xlsxwriter's, for text
_EXCEL_ESCAPED = re.compile("_x[0-9a-fA-F]{4}_")  # xlsxwriter escapes this in strings: rendered whole


class TemplateStamp:
    """One kind of unit's template, rendered once for a placeholder unit; a unit's own template is
    that file with the unit's code and names put into the three parts that hold them.

    The result is, part for part, the file render_template writes for the unit (tests compare
    them): the layout does not depend on the unit's names, except the instructions line naming the
    unit, whose wrapped height is checked. A unit whose strings could change anything else (a
    name with control characters or outer spaces, a string equal to another cell's text, a line
    that wraps differently) is declined, and its template is rendered whole.
    """

    def __init__(self, rubric: Rubric, kind: str | None, period: Period, options: Options):
        self.master = Unit(MASTER_CODE, f"{(kind or 'xã').capitalize()} {MASTER_BARE}", kind)
        with tempfile.TemporaryDirectory(prefix="cchc-stamp-") as folder:
            path = Path(folder) / "master.xlsx"
            render_template(path, rubric, self.master, period, options)
            with zipfile.ZipFile(path) as zf:
                self.members = [(info, zf.read(info)) for info in zf.infolist()]
        self.placeholders = self._strings(self.master)
        self.tokens = sorted(set(self.placeholders.values()), key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(t) for t in self.tokens))
        parts = {info.filename: data for info, data in self.members}
        shared = parts.get("xl/sharedStrings.xml", b"").decode("utf-8")
        texts = [html.unescape(t) for t in re.findall(r"<t(?: [^>]*)?>([^<]*)</t>", shared)]
        self.own = [t for t in texts if self.pattern.search(t)]  # the cells that name the unit
        self.others = {t for t in texts if not self.pattern.search(t)}
        self.guide_lines = [line for line in guide_text(rubric, self.master, period, options).splitlines()
                            if self.pattern.search(line)]
        # usable only if every trace of the placeholder unit is a placeholder in a stamped part
        traces = sum(data.lower().count(b"zqx") for data in parts.values())
        placed = sum(len(self.pattern.findall(parts.get(name, b"").decode("utf-8"))) for name in STAMPED_PARTS)
        self.usable = traces == placed

    @staticmethod
    def _strings(unit: Unit) -> dict[str, str]:
        return {"code": unit.code, "name": unit.name, "full": unit.full_name, "upper": unit.full_name.upper(),
                "bare": unit.bare_name}

    def values(self, unit: Unit) -> dict[str, str] | None:
        """Placeholder -> the unit's text, or None when the unit must be rendered whole."""
        own = self._strings(unit)
        mapping: dict[str, str] = {}
        for key, token in self.placeholders.items():
            text = own[key]
            if (not text or text != text.strip() or not text.isprintable() or _EXCEL_ESCAPED.search(text)
                    or mapping.get(token, text) != text):
                return None
            mapping[token] = text
        swap = lambda text: self.pattern.sub(lambda m: mapping[m.group(0)], text)  # noqa: E731
        cells = [swap(t) for t in self.own]
        if len(set(cells)) != len(cells) or any(c in self.others for c in cells):
            return None  # a shared string would be merged with another: the file would differ
        for line in self.guide_lines:
            is_heading = line.startswith("# ")
            shown = line[2:] if is_heading else line
            if guide_row_height(swap(shown), is_heading) != guide_row_height(shown, is_heading):
                return None
        return mapping

    def write(self, path: Path, unit: Unit) -> bool:
        """Write the unit's template (whole or not at all); False when it must be rendered instead."""
        mapping = self.values(unit) if self.usable else None
        if mapping is None:
            return False
        escaped = {token: text.translate(_XML_ESCAPES) for token, text in mapping.items()}

        def build(partial: Path) -> None:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
                for info, data in self.members:
                    if info.filename in STAMPED_PARTS:
                        data = self.pattern.sub(lambda m: escaped[m.group(0)], data.decode("utf-8")).encode("utf-8")
                    zf.writestr(info, data)

        write_atomic(path, build)
        return True


_BATCH: tuple = ()  # (rubric, period, options, stamps by kind) of the batch a worker process renders


def _start_worker(rubric: Rubric, period: Period, options: Options) -> None:
    """Give a worker process the batch's rubric once, not pickled again with every template."""
    global _BATCH
    _BATCH = (rubric, period, options, {})


def _render_one(args, batch: tuple = ()) -> tuple[str, str, str]:
    """One unit's template: stamped from its kind's master when it can be, else rendered whole."""
    path, unit = args
    rubric, period, options, stamps = batch or _BATCH
    stamp = stamps.get(unit.kind)
    if stamp is None:
        stamp = stamps[unit.kind] = TemplateStamp(rubric, unit.kind, period, options)
    identity = make_identity(rubric, unit, period, options)
    if not stamp.write(Path(path), unit):
        identity = render_template(Path(path), rubric, unit, period, options)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return unit.code, identity["template_id"], digest


def generate_templates(rubric: Rubric, units: list[Unit], period: Period, out_dir: Path, *, office: str = "",
                       deadline: str = "", password: str = "", workers: int | None = None,
                       profile: OfficeProfile | None = None) -> Generated:
    """Write one workbook per unit, manifest.csv, templates.zip and messages.txt into `out_dir`.

    The office that receives the returns (in the instructions and the messages) is the profile's
    office; `office` alone, as before profiles, names it too."""
    profile = (profile or OfficeProfile()).merged(OfficeProfile(office=office)) if office else profile or OfficeProfile()
    office = profile.office_name
    out_dir = Path(out_dir)
    deadline = deadline_text(deadline)  # checked, and written one way, before anything is written
    if password and not password.isascii():
        raise OutputError.of("password.not_ascii")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise folder_error(exc, out_dir) from exc
    options = Options(
        office=office, deadline=deadline, password=password, batch=uuid.uuid4().hex[:8],
        generated_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )
    names = [template_file_name(u, period) for u in units]
    earlier = earlier_templates(out_dir)
    jobs = [(str(out_dir / n), u) for n, u in zip(names, units)]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if workers > 1 and len(jobs) >= 16:
        with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                                 initargs=(rubric, period, options)) as pool:
            results = list(pool.map(_render_one, jobs, chunksize=max(1, len(jobs) // (workers * 8))))
    else:
        batch = (rubric, period, options, {})  # no global: the page runs in threads
        results = [_render_one(job, batch) for job in jobs]

    manifest_rows = [
        {"code": u.code, "name": u.name, "file": n, "template_id": tid, "sha256": digest}
        for u, n, (_, tid, digest) in zip(units, names, results)
    ]
    # a BOM so that Excel opens the Vietnamese names in the CSV correctly
    manifest = write_text_atomic(out_dir / "manifest.csv", _csv_text(manifest_rows), encoding="utf-8-sig")

    def zip_all(partial: Path) -> None:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as zf:
            for name in names:  # xlsx is already deflated: storing is as small and much faster
                zf.write(out_dir / name, name)

    archive = write_atomic(out_dir / "templates.zip", zip_all)
    messages = "\n" + ("\n" + "=" * 72 + "\n\n").join(
        render_text("message.txt.j2", unit=u, period=period, rubric=rubric, file=n, deadline=deadline, office=office)
        for u, n in zip(units, names)
    )
    messages_path = write_text_atomic(out_dir / "messages.txt", messages.lstrip("\n"))
    stale = retire_stale_templates(out_dir, earlier, set(names))
    return Generated(out_dir, tuple(out_dir / n for n in names), manifest, archive, messages_path, options.batch,
                     stale)


def earlier_templates(out_dir: Path) -> list[str]:
    """The template files an earlier batch listed in this folder's manifest.csv."""
    try:
        text = (out_dir / "manifest.csv").read_text(encoding="utf-8-sig")
    except OSError:
        return []
    names = [row.get("file") or "" for row in csv.DictReader(io.StringIO(text))]
    # only plain names in this folder: a manifest is not trusted to point elsewhere
    return [n for n in names if n and Path(n).name == n and n.lower().endswith(".xlsx")]


def retire_stale_templates(out_dir: Path, earlier: list[str], current: set[str]) -> tuple[str, ...]:
    """Templates of an earlier batch that this one does not rewrite (a commune no longer in the
    list, another period) move to lich-su/ so the folder, manifest.csv and templates.zip agree."""
    stale = [n for n in earlier if n not in current and (out_dir / n).is_file()]
    if not stale:
        return ()
    from datetime import datetime as _datetime

    target = out_dir / HISTORY / _datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    target.mkdir(parents=True, exist_ok=True)
    for name in stale:
        os.replace(out_dir / name, target / name)
    return tuple(stale)


def _csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()) if rows else ["code"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
