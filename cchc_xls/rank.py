"""Phụ lục II: the ranking table in the form of seed 002, its distribution and its chart.

Written by `cchc harvest` and rebuilt by `cchc rank` from harvest.json (after edits or appraisal).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path


from cchc_xls.compare import compare, write_comparison_sheet
from cchc_xls.layout import (
    CLUSTER_COLUMNS, DISTRIBUTION_COLUMNS, H_APPRAISAL, H_SELF_TOTAL, RANKING_LAYOUT, RANKING_SHEET,
)
from cchc_xls.numbers import format_vn
from cchc_xls.profile import OfficeProfile
from cchc_xls.results import Results, UnitRow, ordered_for_ranking, ranking_sections
from cchc_xls.outputs import write_atomic
from cchc_xls.score import cut_percent, ranks_within, survey_max
from cchc_xls.style import (
    FILL_HEADER, FILL_PARENT, Formats, fit_row, new_workbook, office_signature, setup_print, write_number_or_blank,
    write_signature,
)

TEXTS = RANKING_LAYOUT.texts
TITLE = TEXTS["title"]
PROVISIONAL = TEXTS["provisional"]
# One colour per band, best band first, in every chart (the workbook's and the summary report's).
# Their grey levels step from dark to light (luma 0.21, 0.41, 0.56, 0.74, 0.88), so a chart printed
# in black and white still tells the bands apart; a sixth band starts the list again.
GROUP_COLOURS = ["#1F3864", "#2E75B6", "#70AD47", "#FFC000", "#FAD7D7"]
CHART_SHEET, DISTRIBUTION_SHEET, CLUSTER_SHEET = RANKING_LAYOUT.sheets[1:]
HEADER_TOP = 5  # zero-based first header row of the ranking table
RANKING_GROUP_HEADING = TEXTS["ranking_group_heading"]  # heads each ranking group's rows: "XẾP HẠNG RIÊNG: PHƯỜNG"


def index_percent(total: Decimal | None, maximum: Decimal) -> Decimal | None:
    """The index as a percentage of the maximum, cut to two decimals as the reports write it."""
    if total is None or not maximum:
        return None
    return cut_percent(total, maximum)


def ranking_note(results: Results, unit: UnitRow) -> str:
    """Phụ lục II's Ghi chú for a unit (the same in the workbook and the Word document): why it
    is not ranked, why its band is not its total's, and, while the ranking is provisional, what is
    wrong with the return that counts."""
    parts = [unit.note, unit.group_note]
    if not results.appraised and unit.return_note:
        parts.append(unit.return_note[0].upper() + unit.return_note[1:])
    if not unit.note and unit.status == "submitted" and not unit.appraisal_complete \
            and results.appraisal_begun:
        parts.append(RANKING_LAYOUT.texts["no_appraisal"])
    return "; ".join(p for p in parts if p)


def total_parts(rubric) -> list[tuple[str, str, float]]:
    """(header, UnitRow attribute suffix, column width) of each part of a total Phụ lục II shows
    when the rubric has bonus or penalty points: the areas' total, the bonus, the penalty (each
    only when the rubric has it) and the final total; [] when it has neither. The workbook and the
    Word document both take their part columns from here, once for the self scores (`self_…`)
    and once for the appraised ones (`appraisal_…`)."""
    if not rubric.extras():
        return []
    parts = [(TEXTS["part_base"], "base_total", 11)]
    if rubric.bonus:
        parts.append((TEXTS["part_bonus"], "bonus", 9))
    if rubric.penalty:
        parts.append((TEXTS["part_penalty"], "penalty", 9))
    return parts + [(TEXTS["part_total"], "total", 10)]


def group_colour(results: Results, name: str | None) -> str:
    """The chart colour of band `name` (GROUP_COLOURS in the rubric's order of bands); light grey
    for a unit without a band."""
    names = [b.name for b in results.rubric.bands]
    return GROUP_COLOURS[names.index(name) % len(GROUP_COLOURS)] if name in names else "#BFBFBF"


class _Writer:
    def __init__(self, workbook, results: Results, profile: OfficeProfile):
        self.wb = workbook
        self.results = results
        self.profile = profile
        self.fmt = Formats(workbook)

    def write(self) -> None:
        self.write_ranking()
        self.add_chart()
        self.write_distribution()
        if any(u.cluster for u in self.results.units):
            self.write_clusters()
        comparison = compare(self.results)
        if comparison is not None:  # `cchc harvest --previous`: this year beside last year
            write_comparison_sheet(self.wb, self.fmt, comparison, self.results.period.label if self.results.period else "")

    def heading(self, sheet, last_col: int, title: str) -> int:
        period = self.results.period
        sheet.merge_range(0, 0, 0, last_col, RANKING_LAYOUT.texts["heading"], self.fmt(bold=True, align="center"))
        sheet.merge_range(1, 0, 1, last_col, title, self.fmt(bold=True, align="center", font_size=14))
        sheet.merge_range(2, 0, 2, last_col, self.profile.issuing_line(self.profile.issue_year(period)),
                          self.fmt(italic=True, align="center", text_wrap=True))
        sheet.set_row(2, 34)
        line = TEXTS["period"].format(period=period.label) if period else ""
        if not self.results.appraised:
            line = f"{line}. {PROVISIONAL}" if line else PROVISIONAL
        sheet.merge_range(3, 0, 3, last_col, line, self.fmt(italic=True, align="center", text_wrap=True,
                                                              font_color="#C00000" if not self.results.appraised else "#000000"))
        sheet.set_row(3, 34)
        return HEADER_TOP

    def total_columns(self) -> list[tuple[str | None, str, float, object]]:
        """(top header or None, header, width, value of a unit) of every column between the name
        and the rank: the totals (with their parts when the rubric has bonus or penalty points),
        and the index as a percentage when the rubric publishes it so."""
        rubric = self.results.rubric
        layout = RANKING_LAYOUT
        parts = total_parts(rubric)
        if parts:
            columns = [(top, header, width, lambda u, name=f"{prefix}_{attribute}": getattr(u, name))
                       for top, prefix in ((H_SELF_TOTAL, "self"), (H_APPRAISAL, "appraisal"))
                       for header, attribute, width in parts]
        else:
            columns = [(TEXTS["totals_group"], H_SELF_TOTAL, layout.column("self_total").width, lambda u: u.self_total),
                       (TEXTS["totals_group"], H_APPRAISAL, layout.column("appraisal_total").width,
                        lambda u: u.appraisal_total)]
        if rubric.index_as_percent:
            columns.append((None, TEXTS["index_percent"], 11, lambda u: index_percent(u.ranking_total, rubric.total)
                            if u.rank is not None else None))
        return columns

    def write_ranking(self) -> None:
        s = self.wb.add_worksheet(RANKING_SHEET)
        layout = RANKING_LAYOUT
        totals = self.total_columns()
        fixed = {c.key: c for c in layout.columns}
        # Số TT, Đơn vị, the totals, Xếp hạng, Xếp loại, Ghi chú
        headers = [(None, fixed["number"].header, fixed["number"].width), (None, fixed["unit"].header, fixed["unit"].width)]
        headers += [(top, text, width) for top, text, width, _ in totals]
        headers += [(None, fixed[key].header, fixed[key].width) for key in ("rank", "group", "note")]
        for col, (_, _, width) in enumerate(headers):
            s.set_column(col, col, width)
        last = len(headers) - 1
        rank_col, band_col = last - 2, last - 1
        top = self.heading(s, last, TITLE)
        head = self.fmt(bold=True, border=1, align="center", text_wrap=True, bg_color=FILL_HEADER)
        col = 0
        while col < len(headers):
            group, text, _ = headers[col]
            if group is None:
                s.merge_range(top, col, top + 1, col, text, head)
                col += 1
                continue
            span = sum(1 for h in headers if h[0] == group)
            s.merge_range(top, col, top, col + span - 1, group, head)
            for offset in range(span):
                s.write_string(top + 1, col + offset, headers[col + offset][1], head)
            col += span
        s.set_row(top, 22)
        s.set_row(top + 1, 36)
        total_cols = [2 + i for i, c in enumerate(totals) if c[1] in (TEXTS["part_total"], H_SELF_TOTAL, H_APPRAISAL)]
        self.value_col = total_cols[1] if self.results.appraised else total_cols[0]
        row = top + 1
        self.ranked_ranges = []  # (ranking group, first row, last row, units) of the ranked units, for the charts
        for name, units in ranking_sections(self.results):
            if name is not None:
                row += 1
                s.merge_range(row, 0, row, last, f"{RANKING_GROUP_HEADING} {name.upper()}",
                              self.fmt(bold=True, border=1, bg_color=FILL_PARENT))
            ranked = sum(1 for u in units if u.rank is not None)
            self.ranked_ranges.append((name, row + 1, row + ranked, units[:ranked]))
            for number, unit in enumerate(units, start=1):
                row += 1
                grey = unit.rank is None
                cell = self.fmt(border=1, text_wrap=True, bg_color=FILL_PARENT if grey else "#FFFFFF")
                center = self.fmt(border=1, align="center", bg_color=FILL_PARENT if grey else "#FFFFFF")
                s.write_number(row, 0, number, center)
                s.write_string(row, 1, unit.committee, cell)
                for offset, (_, _, _, value) in enumerate(totals):
                    write_number_or_blank(s, row, 2 + offset, value(unit), center)
                write_number_or_blank(s, row, rank_col, unit.rank, center)
                s.write_string(row, band_col, unit.group or "", center)
                s.write_string(row, last, self.note(unit), cell)
                fit_row(s, row, [(unit.committee, fixed["unit"].width), (self.note(unit), fixed["note"].width)])
        self.last_row = row
        survey = [leaf for leaf in self.results.rubric.leaves() if not leaf.self_scored]
        if survey:  # the two columns are out of different maxima: say so under the table
            row += 1
            s.merge_range(row, 0, row, last, TEXTS["survey_note"].format(
                codes=", ".join(leaf.code for leaf in survey), max=format_vn(survey_max(self.results.rubric))),
                self.fmt(italic=True, font_size=11, text_wrap=True))
            s.set_row(row, 30)
        end = write_signature(s, self.fmt, row + 2, office_signature(self.profile, layout.signature),
                              left=(0, 2), right=(rank_col, last),
                              date_line=self.profile.date_line(self.profile.issue_year(self.results.period)))
        setup_print(s, repeat=(top, top + 1), left_margin=0.5, print_area=(end + 4, last))
        s.freeze_panes(top + 2, 0)

    def note(self, unit: UnitRow) -> str:
        return ranking_note(self.results, unit)

    def add_chart(self) -> None:
        """A chart sheet (prints as its own page): every ranked unit's total, coloured by group;
        one chart sheet per ranking group when the rubric ranks kinds separately (series of
        different units cannot share one category axis)."""
        ranges = [r for r in self.ranked_ranges if r[2] >= r[1]]
        basis = H_APPRAISAL if self.results.appraised else H_SELF_TOTAL
        bands = ", ".join(f"{b.name} ≥ {b.min}" if b.min else b.name for b in self.results.rubric.bands)
        top = self.results.rubric.total + (self.results.rubric.bonus.max if self.results.rubric.bonus else 0)
        for number, (name, first, last, ordered) in enumerate(ranges, start=1):
            chart = self.wb.add_chart({"type": "bar"})
            chart.add_series({
                "name": basis,
                "categories": [RANKING_SHEET, first, 1, last, 1],
                "values": [RANKING_SHEET, first, self.value_col, last, self.value_col],
                "points": [{"fill": {"color": group_colour(self.results, u.group)}, "border": {"color": "#404040"}}
                           for u in ordered],
                "data_labels": {"value": True, "font": {"name": "Times New Roman", "size": 9}},
                "gap": 40,
            })
            title = "Tổng điểm của các đơn vị" + (f" ({name})" if name else "")
            chart.set_title({"name": f"{title} (màu theo xếp loại: {bands})",
                             "name_font": {"name": "Times New Roman", "size": 12}})
            chart.set_x_axis({"min": 0, "max": float(top), "num_font": {"name": "Times New Roman"}})
            chart.set_y_axis({"reverse": True, "num_font": {"name": "Times New Roman", "size": 10}})
            chart.set_legend({"none": True})
            sheet = self.wb.add_chartsheet(CHART_SHEET if name is None else f"{CHART_SHEET} {number}")
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
        row = 2
        for name, units in ranking_sections(self.results):
            row = self.write_distribution_block(s, row + 1, name, units)
        setup_print(s, landscape=False)

    def write_distribution_block(self, s, row: int, name: str | None, units: list[UnitRow]) -> int:
        """One ranking group's distribution by band (its own counts and shares) and its chart;
        returns the last row used."""
        if name is not None:
            s.merge_range(row, 0, row, 2, f"{RANKING_GROUP_HEADING} {name.upper()}", self.fmt(bold=True))
            row += 1
        head = self.fmt(bold=True, border=1, align="center", bg_color=FILL_HEADER)
        for col, column in enumerate(DISTRIBUTION_COLUMNS):
            s.write_string(row, col, column.header, head)
        counts = Counter(u.group for u in units if u.rank is not None)
        ranked = sum(counts.values())
        first = row + 1
        for band in self.results.rubric.bands:
            row += 1
            s.write_string(row, 0, band.name, self.fmt(border=1))
            s.write_number(row, 1, counts.get(band.name, 0), self.fmt(border=1, align="center"))
            share = cut_percent(Decimal(counts.get(band.name, 0)), Decimal(ranked))
            s.write_number(row, 2, float(share), self.fmt(border=1, align="center"))
        last = row
        row += 1
        bold = self.fmt(border=1, bold=True)
        s.write_string(row, 0, TEXTS["distribution_total"], bold)
        s.write_number(row, 1, ranked, self.fmt(border=1, bold=True, align="center"))
        s.write_number(row, 2, 100 if ranked else 0, self.fmt(border=1, bold=True, align="center"))
        unranked = sum(1 for u in units if u.rank is None)
        if unranked:
            row += 1
            s.write_string(row, 0, TEXTS["distribution_unranked"], self.fmt(border=1, italic=True, text_wrap=True))
            s.set_row(row, 36)
            s.write_number(row, 1, unranked, self.fmt(border=1, align="center", italic=True))
            s.write_blank(row, 2, None, self.fmt(border=1))
        chart = self.wb.add_chart({"type": "column"})
        chart.add_series({
            "name": "Số đơn vị",
            "categories": [DISTRIBUTION_SHEET, first, 0, last, 0],
            "values": [DISTRIBUTION_SHEET, first, 1, last, 1],
            "points": [{"fill": {"color": group_colour(self.results, b.name)}, "border": {"color": "#404040"}}
                       for b in self.results.rubric.bands],
            "data_labels": {"value": True},
        })
        title = "Số đơn vị theo xếp loại" + (f" ({name})" if name else "")
        chart.set_title({"name": title, "name_font": {"name": "Times New Roman", "size": 12}})
        chart.set_y_axis({"major_unit": 1, "min": 0})
        chart.set_legend({"none": True})
        s.insert_chart(row + 2, 0, chart)
        return row + 17  # below the chart (about 15 rows high)

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
                # with separate rankings the last column is the rank within the unit's ranking group
                text = TEXTS["rank_in_group"] if column.key == "rank" and self.results.rubric.ranking_groups else column.header
                s.write_string(row, col, text, head)
            for number, unit in enumerate(members, start=1):
                row += 1
                center = self.fmt(border=1, align="center")
                s.write_number(row, 0, number, center)
                s.write_string(row, 1, unit.committee, self.fmt(border=1))
                if unit.rank is None and unit.status != "submitted":
                    # a commune that sent nothing (or only rejected files) is said so, not left blank
                    status = TEXTS["cluster_missing"] if unit.status == "missing" else TEXTS["cluster_rejected"]
                    s.merge_range(row, 2, row, 4, status, self.fmt(border=1, align="center", italic=True))
                    continue
                write_number_or_blank(s, row, 2, unit.ranking_total if unit.rank is not None else None, center)
                write_number_or_blank(s, row, 3, local.get(unit.code), center)
                write_number_or_blank(s, row, 4, unit.rank, center)
            row += 1
        setup_print(s, landscape=False)


def write_phu_luc_ii(results: Results, path: Path, profile: OfficeProfile | None = None) -> Path:
    """Write DIR/phu-luc-ii.xlsx whole or not at all, headed and signed for the office `profile`
    (the one the harvest kept when None)."""
    profile = profile if profile is not None else results.profile

    def build(partial: Path) -> None:
        workbook = new_workbook(partial)
        _Writer(workbook, results, profile).write()
        workbook.close()

    return write_atomic(path, build)

