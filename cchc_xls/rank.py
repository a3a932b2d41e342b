"""Phụ lục II: the ranking table in the form of seed 002, its distribution and its chart.

Written by `cchc harvest` and rebuilt by `cchc rank` from harvest.json (after edits or appraisal).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path


from cchc_xls.layout import (
    CLUSTER_COLUMNS, DISTRIBUTION_COLUMNS, H_APPRAISAL, H_SELF_TOTAL, RANKING_LAYOUT, RANKING_SHEET,
)
from cchc_xls.numbers import format_vn
from cchc_xls.results import Results, UnitRow, ordered_for_ranking
from cchc_xls.outputs import write_atomic
from cchc_xls.score import cut_percent, ranks_within, survey_max
from cchc_xls.style import (
    FILL_HEADER, FILL_PARENT, Formats, fit_row, new_workbook, setup_print, write_number_or_blank, write_signature,
)

TEXTS = RANKING_LAYOUT.texts
TITLE = TEXTS["title"]
PROVISIONAL = TEXTS["provisional"]
GROUP_COLOURS = ["#2E75B6", "#70AD47", "#FFC000", "#ED7D31", "#C00000", "#7F7F7F", "#7030A0"]
CHART_SHEET, DISTRIBUTION_SHEET, CLUSTER_SHEET = RANKING_LAYOUT.sheets[1:]
HEADER_TOP = 5  # zero-based first header row of the ranking table


def group_colour(results: Results, name: str | None) -> str:
    names = [b.name for b in results.rubric.bands]
    return GROUP_COLOURS[names.index(name) % len(GROUP_COLOURS)] if name in names else "#BFBFBF"


class _Writer:
    def __init__(self, workbook, results: Results, office: str):
        self.wb = workbook
        self.results = results
        self.office = office
        self.fmt = Formats(workbook)

    def write(self) -> None:
        self.write_ranking()
        self.add_chart()
        self.write_distribution()
        if any(u.cluster for u in self.results.units):
            self.write_clusters()

    def heading(self, sheet, last_col: int, title: str) -> int:
        period = self.results.period
        sheet.merge_range(0, 0, 0, last_col, RANKING_LAYOUT.texts["heading"], self.fmt(bold=True, align="center"))
        sheet.merge_range(1, 0, 1, last_col, title, self.fmt(bold=True, align="center", font_size=14))
        year = period.year if period else "……"
        issuer = self.office or TEXTS["default_issuer"]
        sheet.merge_range(2, 0, 2, last_col, TEXTS["issued_with"].format(year=year, issuer=issuer),
                          self.fmt(italic=True, align="center", text_wrap=True))
        sheet.set_row(2, 34)
        line = TEXTS["period"].format(period=period.label) if period else ""
        if not self.results.appraised:
            line = f"{line}. {PROVISIONAL}" if line else PROVISIONAL
        sheet.merge_range(3, 0, 3, last_col, line, self.fmt(italic=True, align="center", text_wrap=True,
                                                              font_color="#C00000" if not self.results.appraised else "#000000"))
        sheet.set_row(3, 34)
        return HEADER_TOP

    def write_ranking(self) -> None:
        s = self.wb.add_worksheet(RANKING_SHEET)
        layout = RANKING_LAYOUT
        columns = layout.columns
        for col, column in enumerate(columns):
            s.set_column(col, col, column.width)
        last = len(columns) - 1
        top = self.heading(s, last, TITLE)
        head = self.fmt(bold=True, border=1, align="center", text_wrap=True, bg_color=FILL_HEADER)
        grouped = ("self_total", "appraisal_total")  # under one "Tổng điểm đạt được" header
        for col, column in enumerate(columns):
            if column.key in grouped:
                s.write_string(top + 1, col, column.header, head)
            else:
                s.merge_range(top, col, top + 1, col, column.header, head)
        first = next(col for col, column in enumerate(columns) if column.key in grouped)
        s.merge_range(top, first, top, first + len(grouped) - 1, layout.texts["totals_group"], head)
        s.set_row(top, 22)
        s.set_row(top + 1, 36)
        row = top + 1
        ordered = ordered_for_ranking(self.results)
        self.ranked_rows = (top + 2, top + 1 + sum(1 for u in ordered if u.rank is not None))
        for number, unit in enumerate(ordered, start=1):
            row += 1
            grey = unit.rank is None
            cell = self.fmt(border=1, text_wrap=True, bg_color=FILL_PARENT if grey else "#FFFFFF")
            center = self.fmt(border=1, align="center", bg_color=FILL_PARENT if grey else "#FFFFFF")
            s.write_number(row, 0, number, center)
            s.write_string(row, 1, unit.committee, cell)
            write_number_or_blank(s, row, 2, unit.self_total, center)
            write_number_or_blank(s, row, 3, unit.appraisal_total, center)
            write_number_or_blank(s, row, 4, unit.rank, center)
            s.write_string(row, 5, unit.group or "", center)
            s.write_string(row, 6, self.note(unit), cell)
            fit_row(s, row, [(unit.committee, layout.column("unit").width), (self.note(unit), layout.column("note").width)])
        self.last_row = row
        survey = [leaf for leaf in self.results.rubric.leaves() if not leaf.self_scored]
        if survey:  # the two columns are out of different maxima: say so under the table
            row += 1
            s.merge_range(row, 0, row, last, TEXTS["survey_note"].format(
                codes=", ".join(leaf.code for leaf in survey), max=format_vn(survey_max(self.results.rubric))),
                self.fmt(italic=True, font_size=11, text_wrap=True))
            s.set_row(row, 30)
        end = write_signature(s, self.fmt, row + 2, layout.signature, left=(0, 2), right=(4, last))
        setup_print(s, repeat=(top, top + 1), left_margin=0.5, print_area=(end + 4, last))
        s.freeze_panes(top + 2, 0)

    def note(self, unit: UnitRow) -> str:
        if unit.note:
            return unit.note
        if unit.status == "submitted" and not unit.appraisal_complete \
                and any(u.appraisal_complete or u.appraisal for u in self.results.units):
            return RANKING_LAYOUT.texts["no_appraisal"]
        return ""

    def add_chart(self) -> None:
        """A chart sheet (prints as its own page): every ranked unit's total, coloured by group."""
        first, last = self.ranked_rows
        if last < first:
            return
        value_col = 3 if self.results.appraised else 2
        chart = self.wb.add_chart({"type": "bar"})
        ordered = ordered_for_ranking(self.results)[: last - first + 1]
        chart.add_series({
            "name": H_APPRAISAL if self.results.appraised else H_SELF_TOTAL,
            "categories": [RANKING_SHEET, first, 1, last, 1],
            "values": [RANKING_SHEET, first, value_col, last, value_col],
            "points": [{"fill": {"color": group_colour(self.results, u.group)}} for u in ordered],
            "data_labels": {"value": True, "font": {"name": "Times New Roman", "size": 9}},
            "gap": 40,
        })
        bands = ", ".join(f"{b.name} ≥ {b.min}" if b.min else b.name for b in self.results.rubric.bands)
        chart.set_title({"name": "Tổng điểm của các đơn vị (màu theo xếp loại: " + bands + ")",
                         "name_font": {"name": "Times New Roman", "size": 12}})
        chart.set_x_axis({"min": 0, "max": float(self.results.rubric.total), "num_font": {"name": "Times New Roman"}})
        chart.set_y_axis({"reverse": True, "num_font": {"name": "Times New Roman", "size": 10}})
        chart.set_legend({"none": True})
        sheet = self.wb.add_chartsheet(CHART_SHEET)
        sheet.set_chart(chart)
        sheet.set_paper(9)
        sheet.set_landscape()

    def write_distribution(self) -> None:
        s = self.wb.add_worksheet(DISTRIBUTION_SHEET)
        for col, column in enumerate(DISTRIBUTION_COLUMNS):
            s.set_column(col, col, column.width)
        s.merge_range(0, 0, 0, 2, TEXTS["distribution_title"], self.fmt(bold=True, align="center", font_size=14))
        period = self.results.period
        sub = period.label if period else ""
        if not self.results.appraised:
            sub = (sub + " - " if sub else "") + "tạm tính theo điểm tự chấm"
        s.merge_range(1, 0, 1, 2, sub, self.fmt(italic=True, align="center"))
        head = self.fmt(bold=True, border=1, align="center", bg_color=FILL_HEADER)
        for col, column in enumerate(DISTRIBUTION_COLUMNS):
            s.write_string(3, col, column.header, head)
        counts = Counter(u.group for u in self.results.units if u.rank is not None)
        ranked = sum(counts.values())
        row = 3
        for band in self.results.rubric.bands:
            row += 1
            s.write_string(row, 0, band.name, self.fmt(border=1))
            s.write_number(row, 1, counts.get(band.name, 0), self.fmt(border=1, align="center"))
            share = cut_percent(Decimal(counts.get(band.name, 0)), Decimal(ranked))
            s.write_number(row, 2, float(share), self.fmt(border=1, align="center"))
        self.distribution_rows = (4, row)
        row += 1
        bold = self.fmt(border=1, bold=True)
        s.write_string(row, 0, TEXTS["distribution_total"], bold)
        s.write_number(row, 1, ranked, self.fmt(border=1, bold=True, align="center"))
        s.write_number(row, 2, 100 if ranked else 0, self.fmt(border=1, bold=True, align="center"))
        unranked = sum(1 for u in self.results.units if u.rank is None)
        if unranked:
            row += 1
            s.write_string(row, 0, TEXTS["distribution_unranked"], self.fmt(border=1, italic=True, text_wrap=True))
            s.set_row(row, 36)
            s.write_number(row, 1, unranked, self.fmt(border=1, align="center", italic=True))
            s.write_blank(row, 2, None, self.fmt(border=1))
        chart = self.wb.add_chart({"type": "column"})
        first, last = self.distribution_rows
        chart.add_series({
            "name": "Số đơn vị",
            "categories": [DISTRIBUTION_SHEET, first, 0, last, 0],
            "values": [DISTRIBUTION_SHEET, first, 1, last, 1],
            "points": [{"fill": {"color": group_colour(self.results, b.name)}} for b in self.results.rubric.bands],
            "data_labels": {"value": True},
        })
        chart.set_title({"name": "Số đơn vị theo xếp loại", "name_font": {"name": "Times New Roman", "size": 12}})
        chart.set_y_axis({"major_unit": 1, "min": 0})
        chart.set_legend({"none": True})
        s.insert_chart(row + 2, 0, chart)
        setup_print(s, landscape=False)

    def write_clusters(self) -> None:
        s = self.wb.add_worksheet(CLUSTER_SHEET)
        for col, column in enumerate(CLUSTER_COLUMNS):
            s.set_column(col, col, column.width)
        s.merge_range(0, 0, 0, 4, TEXTS["cluster_title"], self.fmt(bold=True, align="center", font_size=14))
        if not self.results.appraised:
            s.merge_range(1, 0, 1, 4, PROVISIONAL, self.fmt(italic=True, align="center", text_wrap=True))
            s.set_row(1, 34)
        head = self.fmt(bold=True, border=1, align="center", text_wrap=True, bg_color=FILL_HEADER)
        row = 2
        clusters = sorted({u.cluster or TEXTS["no_cluster"] for u in self.results.units})
        for cluster in clusters:
            members = [u for u in ordered_for_ranking(self.results) if (u.cluster or TEXTS["no_cluster"]) == cluster]
            ranked = [u for u in members if u.rank is not None]
            local = ranks_within({u.code: u.ranking_total for u in ranked})
            row += 1
            s.merge_range(row, 0, row, 4, cluster, self.fmt(bold=True))
            row += 1
            for col, column in enumerate(CLUSTER_COLUMNS):
                s.write_string(row, col, column.header, head)
            for number, unit in enumerate(members, start=1):
                row += 1
                center = self.fmt(border=1, align="center")
                s.write_number(row, 0, number, center)
                s.write_string(row, 1, unit.committee, self.fmt(border=1))
                write_number_or_blank(s, row, 2, unit.ranking_total if unit.rank is not None else None, center)
                write_number_or_blank(s, row, 3, local.get(unit.code), center)
                write_number_or_blank(s, row, 4, unit.rank, center)
            row += 1
        setup_print(s, landscape=False)


def write_phu_luc_ii(results: Results, path: Path, office: str = "") -> Path:
    """Write DIR/phu-luc-ii.xlsx whole or not at all."""
    def build(partial: Path) -> None:
        workbook = new_workbook(partial)
        _Writer(workbook, results, office).write()
        workbook.close()

    return write_atomic(path, build)

