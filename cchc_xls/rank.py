"""Phụ lục II: the ranking table in the form of seed 002, its distribution and its chart.

Written by `cchc harvest` and rebuilt by `cchc rank` from harvest.json (after edits or appraisal).
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_DOWN, Decimal
from pathlib import Path


from cchc_xls.numbers import HUNDRED, format_vn
from cchc_xls.results import Results, UnitRow, ordered_for_ranking
from cchc_xls.outputs import write_atomic
from cchc_xls.style import FILL_HEADER, FILL_PARENT, Formats, fit_row, new_workbook, write_number_or_blank

TITLE = "THỐNG KÊ KẾT QUẢ XẾP HẠNG CHỈ SỐ CCHC ĐỐI VỚI UBND CẤP XÃ"
PROVISIONAL = "(Tạm xếp theo điểm tự chấm: chưa có đủ điểm thẩm định của Hội đồng thẩm định)"
GROUP_COLOURS = ["#2E75B6", "#70AD47", "#FFC000", "#ED7D31", "#C00000", "#7F7F7F", "#7030A0"]
RANKING_SHEET = "Phụ lục II"
DISTRIBUTION_SHEET = "Phân loại"
CLUSTER_SHEET = "Theo cụm"
CHART_SHEET = "Biểu đồ"
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
        sheet.merge_range(0, 0, 0, last_col, "PHỤ LỤC II", self.fmt(bold=True, align="center"))
        sheet.merge_range(1, 0, 1, last_col, title, self.fmt(bold=True, align="center", font_size=14))
        year = period.year if period else "……"
        issuer = self.office or "UBND huyện ……"
        sheet.merge_range(2, 0, 2, last_col,
                          f"(Ban hành kèm theo Quyết định số ……/QĐ-UBND ngày ……/……/{year} của Chủ tịch {issuer})",
                          self.fmt(italic=True, align="center", text_wrap=True))
        sheet.set_row(2, 34)
        line = f"Kỳ đánh giá: {period.label}" if period else ""
        if not self.results.appraised:
            line = f"{line}. {PROVISIONAL}" if line else PROVISIONAL
        sheet.merge_range(3, 0, 3, last_col, line, self.fmt(italic=True, align="center", text_wrap=True,
                                                              font_color="#C00000" if not self.results.appraised else "#000000"))
        sheet.set_row(3, 34)
        return HEADER_TOP

    def write_ranking(self) -> None:
        s = self.wb.add_worksheet(RANKING_SHEET)
        widths = [7, 34, 13, 13, 10, 13, 40]
        for col, width in enumerate(widths):
            s.set_column(col, col, width)
        last = len(widths) - 1
        top = self.heading(s, last, TITLE)
        head = self.fmt(bold=True, border=1, align="center", text_wrap=True, bg_color=FILL_HEADER)
        s.merge_range(top, 0, top + 1, 0, "Số TT", head)
        s.merge_range(top, 1, top + 1, 1, "Đơn vị cấp xã", head)
        s.merge_range(top, 2, top, 3, "Tổng điểm đạt được", head)
        s.write_string(top + 1, 2, "Điểm tự chấm", head)
        s.write_string(top + 1, 3, "Điểm thẩm định", head)
        s.merge_range(top, 4, top + 1, 4, "Xếp hạng", head)
        s.merge_range(top, 5, top + 1, 5, "Xếp loại", head)
        s.merge_range(top, 6, top + 1, 6, "Ghi chú", head)
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
            fit_row(s, row, [(unit.committee, 34), (self.note(unit), 40)])
        self.last_row = row
        survey = [leaf for leaf in self.results.rubric.leaves() if not leaf.self_scored]
        if survey:  # the two columns are out of different maxima: say so under the table
            share = format_vn(sum((leaf.max for leaf in survey), Decimal(0)))
            row += 1
            s.merge_range(row, 0, row, last, f"Ghi chú: điểm tự chấm không gồm các tiêu chí do tỉnh chấm "
                          f"({', '.join(leaf.code for leaf in survey)}; tối đa {share} điểm); điểm thẩm định đã gồm.",
                          self.fmt(italic=True, font_size=11, text_wrap=True))
            s.set_row(row, 30)
        self.signature(s, row + 2, last)
        s.set_landscape()
        s.set_paper(9)
        s.fit_to_pages(1, 0)
        s.repeat_rows(top, top + 1)
        s.set_footer('&C&"Times New Roman"&10Trang &P/&N')
        s.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
        s.freeze_panes(top + 2, 0)

    def note(self, unit: UnitRow) -> str:
        if unit.note:
            return unit.note
        if unit.status == "submitted" and not unit.appraisal_complete \
                and any(u.appraisal_complete or u.appraisal for u in self.results.units):
            return "Chưa có điểm thẩm định"
        return ""

    def signature(self, s, row: int, last: int) -> None:
        s.merge_range(row, 4, row, last, "……, ngày …… tháng …… năm ……", self.fmt(italic=True, align="center"))
        s.merge_range(row + 1, 0, row + 1, 2, "NGƯỜI LẬP BIỂU", self.fmt(bold=True, align="center"))
        s.merge_range(row + 1, 4, row + 1, last, "THỦ TRƯỞNG CƠ QUAN", self.fmt(bold=True, align="center"))
        s.merge_range(row + 2, 0, row + 2, 2, "(Ký, ghi rõ họ tên)", self.fmt(italic=True, align="center"))
        s.merge_range(row + 2, 4, row + 2, last, "(Ký, ghi rõ họ tên, đóng dấu)", self.fmt(italic=True, align="center"))
        s.print_area(0, 0, row + 6, last)

    def add_chart(self) -> None:
        """A chart sheet (prints as its own page): every ranked unit's total, coloured by group."""
        first, last = self.ranked_rows
        if last < first:
            return
        value_col = 3 if self.results.appraised else 2
        chart = self.wb.add_chart({"type": "bar"})
        ordered = ordered_for_ranking(self.results)[: last - first + 1]
        chart.add_series({
            "name": "Điểm thẩm định" if self.results.appraised else "Điểm tự chấm",
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
        widths = [22, 14, 14]
        for col, width in enumerate(widths):
            s.set_column(col, col, width)
        s.merge_range(0, 0, 0, 2, "PHÂN LOẠI KẾT QUẢ CHỈ SỐ CCHC CẤP XÃ", self.fmt(bold=True, align="center", font_size=14))
        period = self.results.period
        sub = period.label if period else ""
        if not self.results.appraised:
            sub = (sub + " - " if sub else "") + "tạm tính theo điểm tự chấm"
        s.merge_range(1, 0, 1, 2, sub, self.fmt(italic=True, align="center"))
        head = self.fmt(bold=True, border=1, align="center", bg_color=FILL_HEADER)
        for col, text in enumerate(("Xếp loại", "Số lượng", "Tỷ lệ %")):
            s.write_string(3, col, text, head)
        counts = Counter(u.group for u in self.results.units if u.rank is not None)
        ranked = sum(counts.values())
        row = 3
        for band in self.results.rubric.bands:
            row += 1
            s.write_string(row, 0, band.name, self.fmt(border=1))
            s.write_number(row, 1, counts.get(band.name, 0), self.fmt(border=1, align="center"))
            # cut, not rounded, as the reports (seed 004) write percentages: the two always agree
            share = (Decimal(counts.get(band.name, 0)) * HUNDRED / ranked).quantize(Decimal("0.01"), rounding=ROUND_DOWN) \
                if ranked else Decimal(0)
            s.write_number(row, 2, float(share), self.fmt(border=1, align="center"))
        self.distribution_rows = (4, row)
        row += 1
        bold = self.fmt(border=1, bold=True)
        s.write_string(row, 0, "Cộng", bold)
        s.write_number(row, 1, ranked, self.fmt(border=1, bold=True, align="center"))
        s.write_number(row, 2, 100 if ranked else 0, self.fmt(border=1, bold=True, align="center"))
        unranked = sum(1 for u in self.results.units if u.rank is None)
        if unranked:
            row += 1
            s.write_string(row, 0, "Chưa xếp loại (chưa nộp, bị từ chối)", self.fmt(border=1, italic=True, text_wrap=True))
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
        s.set_paper(9)
        s.fit_to_pages(1, 0)

    def write_clusters(self) -> None:
        s = self.wb.add_worksheet(CLUSTER_SHEET)
        widths = [7, 34, 13, 16, 14]
        for col, width in enumerate(widths):
            s.set_column(col, col, width)
        s.merge_range(0, 0, 0, 4, "XẾP HẠNG TRONG TỪNG CỤM", self.fmt(bold=True, align="center", font_size=14))
        if not self.results.appraised:
            s.merge_range(1, 0, 1, 4, PROVISIONAL, self.fmt(italic=True, align="center", text_wrap=True))
            s.set_row(1, 34)
        from cchc_xls.score import rank_with_ties

        head = self.fmt(bold=True, border=1, align="center", text_wrap=True, bg_color=FILL_HEADER)
        row = 2
        clusters = sorted({u.cluster or "(không thuộc cụm)" for u in self.results.units})
        for cluster in clusters:
            members = [u for u in ordered_for_ranking(self.results) if (u.cluster or "(không thuộc cụm)") == cluster]
            ranked = [u for u in members if u.rank is not None]
            local = dict(zip((u.code for u in ranked), rank_with_ties([u.ranking_total or Decimal(0) for u in ranked])))
            row += 1
            s.merge_range(row, 0, row, 4, cluster, self.fmt(bold=True))
            row += 1
            for col, text in enumerate(("Số TT", "Đơn vị cấp xã", "Tổng điểm", "Xếp hạng trong cụm", "Xếp hạng chung")):
                s.write_string(row, col, text, head)
            for number, unit in enumerate(members, start=1):
                row += 1
                center = self.fmt(border=1, align="center")
                s.write_number(row, 0, number, center)
                s.write_string(row, 1, unit.committee, self.fmt(border=1))
                write_number_or_blank(s, row, 2, unit.ranking_total if unit.rank is not None else None, center)
                write_number_or_blank(s, row, 3, local.get(unit.code), center)
                write_number_or_blank(s, row, 4, unit.rank, center)
            row += 1
        s.set_paper(9)
        s.fit_to_pages(1, 0)


def write_phu_luc_ii(results: Results, path: Path, office: str = "") -> Path:
    """Write DIR/phu-luc-ii.xlsx whole or not at all."""
    def build(partial: Path) -> None:
        workbook = new_workbook(partial)
        _Writer(workbook, results, office).write()
        workbook.close()

    return write_atomic(path, build)

