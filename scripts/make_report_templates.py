"""How templates/bao-cao-xa.docx, bao-cao-tong-hop.docx and phu-luc-ii.docx were made.

Run once (`python scripts/make_report_templates.py`); the .docx files are committed and are the
templates from then on: an office edits them in Word (wording, fonts, layout) and keeps the
`{{ … }}` and `{% … %}` tags (docxtpl, Jinja2). Each tag is typed into a single run so Word keeps
it whole. The fields are listed in the README ("Customising the reports").
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

FONT = "Times New Roman"
BODY = Pt(14)
CENTER, LEFT, JUSTIFY = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.JUSTIFY
OUT = Path(__file__).resolve().parent.parent / "templates"


def new_document(landscape: bool = False):
    document = Document()
    section = document.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_height, section.page_width = Cm(21.0), Cm(29.7)
        section.left_margin, section.right_margin = Cm(2), Cm(1.5)
    else:
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = BODY
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.15
    footer_page_number(section)
    return document


def footer_page_number(section) -> None:
    """A PAGE field, centred in the footer: Word and LibreOffice number the pages themselves."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = CENTER
    run = paragraph.add_run()
    run.font.name, run.font.size = FONT, Pt(12)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def para(container, text: str, *, align=JUSTIFY, bold=False, italic=False, size=BODY, indent=True, after=Pt(4),
         keep=False):
    """One paragraph, one run: a tag typed in it stays whole. `keep`: a heading or a caption, kept
    on the page of what follows it (Word's "Keep with next"; before a table, its first row)."""
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), after
    if keep:
        fmt.keep_with_next = True
    if indent and align == JUSTIFY:
        fmt.first_line_indent = Cm(1)
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    run.font.name, run.font.size = FONT, size
    return paragraph


def control(container, text: str):
    """A line holding only a {%p … %} tag: docxtpl removes the paragraph."""
    return para(container, text, indent=False, after=Pt(0))


def two_columns(document, widths, left, right):
    """A borderless two-column table; `left`/`right`: (text, bold, italic, size) lines."""
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, cell, width in zip(table.columns, table.rows[0].cells, widths):
        column.width = width
        cell.width = width
    for cell, lines in zip(table.rows[0].cells, (left, right)):
        cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
        for text, bold, italic, size, align in lines:
            para(cell, text, align=align, bold=bold, italic=italic, size=size, indent=False, after=Pt(0))
    return table


def national_header(document, left_lines):
    right = [("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True, False, Pt(12), CENTER),
             ("Độc lập - Tự do - Hạnh phúc", True, False, Pt(13), CENTER),
             ("{{ date_line }}", False, True, Pt(13), CENTER)]
    two_columns(document, (Cm(6.5), Cm(10)), left_lines, right)
    para(document, "", indent=False)


def signature(document, receivers, right_lines):
    left = [("Nơi nhận:", True, True, Pt(12), LEFT)] + [(r, False, False, Pt(11), LEFT) for r in receivers]
    two_columns(document, (Cm(8), Cm(8.5)), left, right_lines)


def bordered_table(document, headers, widths, row_cells, size=Pt(12)):
    """A table with a header row and one template row between {%tr for %} / {%tr endfor %} rows."""
    table = document.add_table(rows=3 + len(row_cells) - 1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    rows = table.rows
    for cell, text in zip(rows[0].cells, headers):
        cell.paragraphs[0].text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold, run.font.name, run.font.size = True, FONT, size
        cell.paragraphs[0].alignment = CENTER
    return table


def cell_text(cell, text, *, bold=False, align=CENTER, size=Pt(12)):
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.first_line_indent = None
    run = paragraph.add_run(text)
    run.bold, run.font.name, run.font.size = bold, FONT, size


def loop_table(document, headers, widths, cells, loop, size=Pt(12)):
    """Header row, `{%tr for … %}`, one row of `cells` ((text, align) pairs), `{%tr endfor %}`."""
    table = document.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    header, start, body, end = table.rows
    for row in (header, body):  # the header repeats on every page; a row never splits across pages
        properties = row._tr.get_or_add_trPr()
        element = OxmlElement("w:tblHeader" if row is header else "w:cantSplit")
        properties.append(element)
    for cell, text in zip(header.cells, headers):
        cell_text(cell, text, bold=True, size=size)
    cell_text(start.cells[0], f"{{%tr for {loop} %}}", align=LEFT, size=size)
    for cell, (text, align) in zip(body.cells, cells):
        cell_text(cell, text, align=align, size=size)
    cell_text(end.cells[0], "{%tr endfor %}", align=LEFT, size=size)
    return table


def parts_table(document, size=Pt(11)):
    """Phụ lục II with the parts of each total (rubrics with bonus or penalty points), as
    phu-luc-ii.xlsx shows them: a two-row header, Số TT, Đơn vị, then under "Điểm tự chấm" and
    "Điểm thẩm định" one column per part (`{%tc for %}` column loops over `part_headers` and each
    row's `self_parts` / `appraisal_parts`), Xếp hạng, Xếp loại, Ghi chú. The part columns take the
    width of their template cell; Ghi chú takes what is left of the table's width (report.py
    fit_table_grid), so four parts fit the landscape page as well as two."""
    #   Số TT, Đơn vị, [for, part, endfor] x 2, Xếp hạng, Xếp loại, Ghi chú
    widths = [Cm(1.1), Cm(3.9), Cm(2.5), Cm(1.6), Cm(2.5), Cm(2.5), Cm(1.6), Cm(2.5), Cm(1.4), Cm(1.9), Cm(4.1)]
    table = document.add_table(rows=5, cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    top, sub, start, body, end = table.rows
    for row in (top, sub, body):  # both header rows repeat on every page; a row never splits
        row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader" if row is not body else "w:cantSplit"))
    for col, text in ((0, "Số TT"), (1, "Đơn vị cấp xã"), (8, "Xếp hạng"), (9, "Xếp loại"), (10, "Ghi chú")):
        cell_text(top.cells[col].merge(sub.cells[col]), text, bold=True, size=size)
    cell_text(top.cells[2].merge(top.cells[4]), "Điểm tự chấm{% colspan part_span %}", bold=True, size=size)
    cell_text(top.cells[5].merge(top.cells[7]), "Điểm thẩm định{% colspan part_span %}", bold=True, size=size)
    for first in (2, 5):
        cell_text(sub.cells[first], "{%tc for header in part_headers %}", align=LEFT, size=size)
        cell_text(sub.cells[first + 1], "{{ header }}", bold=True, size=size)
        cell_text(sub.cells[first + 2], "{%tc endfor %}", align=LEFT, size=size)
    for row, tag in ((start, "{%tr for row in rows %}"), (end, "{%tr endfor %}")):  # one line across, to read
        cell_text(row.cells[0].merge(row.cells[-1]), tag, align=LEFT, size=size)
    cells = [("{{ row.number }}", CENTER), ("{{ row.unit }}", LEFT),
             ("{%tc for value in row.self_parts %}", LEFT), ("{{ value }}", CENTER), ("{%tc endfor %}", LEFT),
             ("{%tc for value in row.appraisal_parts %}", LEFT), ("{{ value }}", CENTER), ("{%tc endfor %}", LEFT),
             ("{{ row.rank }}", CENTER), ("{{ row.group }}", CENTER), ("{{ row.note }}", LEFT)]
    for cell, (text, align) in zip(body.cells, cells):
        cell_text(cell, text, align=align, size=size)
    return table


def commune_report():
    document = new_document()
    national_header(document, [("ỦY BAN NHÂN DÂN", True, False, Pt(13), CENTER),
                               ("{{ unit_upper }}", True, False, Pt(13), CENTER),
                               ("Số: ……/BC-UBND", False, False, Pt(13), CENTER)])
    para(document, "BÁO CÁO", align=CENTER, bold=True, size=Pt(15), after=Pt(2))
    para(document, "Kết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính {{ period_label }}", align=CENTER,
         bold=True, after=Pt(2))
    para(document, "của {{ unit_name }}", align=CENTER, bold=True, after=Pt(10))
    para(document, "Thực hiện {{ legal_basis }} và hướng dẫn của {{ office_name }} về việc đánh giá, chấm điểm để "
                   "xác định Chỉ số cải cách hành chính (CCHC) cấp xã {{ period_label }}, {{ committee }} báo cáo "
                   "kết quả tự đánh giá, chấm điểm như sau:")
    control(document, "{%p for line in lines %}")
    control(document, '{%p if line.kind == "part" %}')
    para(document, "{{ line.code }}. {{ line.label }}{% if line.show_points %}: {{ line.score }}/{{ line.max }} "
                   "điểm, đạt {{ line.percent }}%{% endif %}", bold=True)
    control(document, '{%p elif line.kind == "area" %}')
    para(document, "{{ line.prefix }}{{ line.code }}. {{ line.label }}: {{ line.score }}/{{ line.max }} điểm, đạt "
                   "{{ line.percent }}%{% if line.appraised %} (điểm thẩm định: {{ line.appraised }}, "
                   "{{ line.difference }}){% endif %}, gồm:", bold=True)
    control(document, '{%p elif line.kind == "survey" %}')
    para(document, "- {{ line.code }}. {{ line.label }}: {{ line.score }}/{{ line.max }} điểm (điểm điều tra do tỉnh "
                   "cung cấp)")
    control(document, "{%p elif line.not_applicable %}")
    para(document, "- {{ line.code }}. {{ line.label }}: không áp dụng đối với đơn vị (không chấm điểm"
                   "{% if rescaled %}, tổng điểm được quy đổi{% endif %})")
    control(document, "{%p else %}")
    para(document, "- {{ line.code }}. {{ line.label }}: {{ line.score }}/{{ line.max }} điểm{% if line.appraised %} "
                   "(thẩm định: {{ line.appraised }}){% endif %}{% if line.na_codes %} (không áp dụng đối với đơn vị: "
                   "{{ line.na_codes }}{% if rescaled %}, tổng điểm được quy đổi{% endif %}){% endif %}")
    control(document, "{%p endif %}")
    control(document, "{%p endfor %}")
    control(document, "{%p if extras %}")
    para(document, "Điểm thưởng, điểm trừ", bold=True)
    control(document, "{%p for line in extras %}")
    para(document, "- {{ line.label }}: {{ line.score }} điểm{% if line.max %} (tính tối đa {{ line.max }} điểm)"
                   "{% endif %}{% if line.appraised %} (thẩm định: {{ line.appraised }}){% endif %}"
                   "{% if line.details %}, gồm: {{ line.details }}{% endif %}.")
    control(document, "{%p endfor %}")
    control(document, "{%p endif %}")
    para(document, "Tổng điểm tự chấm{% if rescaled %} (đã quy đổi về thang {{ total_max }} điểm do có tiêu chí "
                   "không áp dụng){% endif %}: {{ self_total }} điểm{% if survey_note %} ({{ survey_note }})"
                   "{% endif %}.", bold=True)
    control(document, "{%p if appraisal_total %}")
    para(document, "Tổng điểm thẩm định{% if rescaled %} (đã quy đổi){% endif %}: {{ appraisal_total }} điểm"
                   "{% if appraisal_note %} ({{ appraisal_note }}){% endif %}.", bold=True)
    control(document, "{%p endif %}")
    control(document, "{%p if group %}")
    para(document, "Xếp loại {{ group_basis }}: {{ group }}{% if group_note %} ({{ group_note }}){% endif %}.")
    control(document, "{%p endif %}")
    control(document, "{%p if index_percent %}")
    para(document, "Chỉ số CCHC đạt {{ index_percent }}% điểm tối đa.")
    control(document, "{%p endif %}")
    control(document, "{%p if rank and ranking_group %}")
    para(document, "Xếp hạng trong nhóm {{ ranking_group }}: {{ rank }}.")
    control(document, "{%p endif %}")
    control(document, "{%p if lost %}")
    para(document, "Các tiêu chí chưa đạt điểm tối đa", bold=True)
    control(document, "{%p for item in lost %}")
    para(document, "- {{ item.code }}. {{ item.label }}: {{ item.score }}/{{ item.max }} điểm."
                   "{% if item.explanation %} Giải trình: {{ item.explanation }}{% endif %}")
    control(document, "{%p endfor %}")
    control(document, "{%p endif %}")
    control(document, "{%p if council_changes %}")
    para(document, "Các tiêu chí Hội đồng thẩm định thay đổi điểm", bold=True)
    control(document, "{%p for c in council_changes %}")
    para(document, "- {{ c.code }}. {{ c.label }}: tự chấm {{ c.score }} điểm, thẩm định lần 1 {{ c.round1 }} điểm"
                   "{% if c.round1_comment %} (ý kiến: {{ c.round1_comment }}){% endif %}"
                   "{% if c.reply %}; đơn vị giải trình: {{ c.reply }}{% endif %}"
                   "{% if c.supplement %} (tài liệu bổ sung: {{ c.supplement }}){% endif %}"
                   "{% if c.round2 is not none %}; thẩm định lần 2 {{ c.round2 }} điểm"
                   "{% if c.round2_comment %} (ý kiến: {{ c.round2_comment }}){% endif %}{% endif %}.")
    control(document, "{%p endfor %}")
    control(document, "{%p endif %}")
    control(document, "{%p if movement %}")
    para(document, "So với {{ comparison.previous_label }}", bold=True)
    control(document, "{%p if movement.change is not none %}")
    para(document, "- Tổng điểm {{ movement.total | vn }} điểm, {{ comparison.previous_label }} "
                   "{{ movement.previous_total | vn }} điểm: {% if movement.change > 0 %}tăng {{ movement.change | vn }} "
                   "điểm{% elif movement.change < 0 %}giảm {{ (-movement.change) | vn }} điểm{% else %}không thay đổi"
                   "{% endif %}.")
    control(document, "{%p endif %}")
    control(document, "{%p if movement.rank_change is not none %}")
    para(document, "- Xếp hạng {{ movement.rank }}/{{ ranked_count }}, {{ comparison.previous_label }} xếp hạng "
                   "{{ movement.previous_rank }}: {% if movement.rank_change > 0 %}tăng {{ movement.rank_change }} bậc"
                   "{% elif movement.rank_change < 0 %}giảm {{ -movement.rank_change }} bậc{% else %}giữ nguyên thứ hạng"
                   "{% endif %}.")
    control(document, "{%p endif %}")
    control(document, "{%p if movement.band_change %}")
    para(document, "- Xếp loại: {{ movement.band_change }}.")
    control(document, "{%p elif movement.band and movement.previous_band %}")
    para(document, "- Xếp loại {{ movement.band }}, giữ như {{ comparison.previous_label }}.")
    control(document, "{%p endif %}")
    control(document, '{%p if movement.status != "matched" %}')
    para(document, "- {{ comparison.previous_label | capitalize }} chưa có kết quả của đơn vị để so sánh "
                   "({{ movement.note }}).")
    control(document, "{%p endif %}")
    control(document, "{%p for item in moved_criteria %}")
    para(document, "- Tiêu chí {{ item.code }}. {{ item.label }}: giảm {{ (-item.average) | vn }} điểm so với "
                   "{{ comparison.previous_label }}{% if item.note %} ({{ item.note }}){% endif %}.")
    control(document, "{%p endfor %}")
    control(document, "{%p endif %}")
    para(document, "Trên đây là báo cáo kết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính {{ period_label }} "
                   "của {{ unit_name }}, kính gửi Hội đồng thẩm định xem xét, đánh giá./.", after=Pt(10))
    signature(document, ["- Hội đồng thẩm định Chỉ số CCHC;", "- {{ office_name }};", "- Lưu: VT."],
              [("TM. ỦY BAN NHÂN DÂN", True, False, Pt(14), CENTER), ("CHỦ TỊCH", True, False, Pt(14), CENTER)])
    document.core_properties.title = "Báo cáo tự đánh giá Chỉ số CCHC"
    document.core_properties.author = "cchc-xls"
    return document


def office_header(document):
    national_header(document, [("{{ issuer_upper }}", False, False, Pt(13), CENTER),
                               ("{{ office_upper }}", True, False, Pt(13), CENTER),
                               ("{{ number_line }}", False, False, Pt(13), CENTER)])


def office_signature(document, receivers):
    signature(document, receivers, [("{{ signer_upper }}", True, False, Pt(14), CENTER),
                                    ("", False, False, Pt(14), CENTER), ("", False, False, Pt(14), CENTER),
                                    ("", False, False, Pt(14), CENTER),
                                    ("{{ signer_name }}", True, False, Pt(14), CENTER)])


def summary_report():
    document = new_document()
    office_header(document)
    para(document, "BÁO CÁO", align=CENTER, bold=True, size=Pt(15), after=Pt(2))
    para(document, "Tổng hợp kết quả {% if final %}đánh giá, xếp hạng{% else %}tự đánh giá{% endif %} Chỉ số cải "
                   "cách hành chính cấp xã {{ period_label }}", align=CENTER, bold=True, after=Pt(10))
    para(document, "Căn cứ {{ legal_basis }}, trên cơ sở phiếu tự đánh giá của các đơn vị{% if final %} và kết quả "
                   "thẩm định của Hội đồng thẩm định{% endif %}, {{ office_name }} báo cáo kết quả như sau:")
    para(document, "1. Tình hình nộp phiếu", bold=True, keep=True)
    para(document, "- Tổng số đơn vị: {{ count.total }}; đã nộp và được tính: {{ count.submitted }}; chưa nộp: "
                   "{{ count.missing }}; tệp bị từ chối: {{ count.rejected }}.")
    control(document, "{%p if missing %}")
    para(document, "- Đơn vị chưa nộp: {{ missing }}.")
    control(document, "{%p endif %}")
    control(document, "{%p if rejected %}")
    para(document, "- Đơn vị có tệp bị từ chối (cần gửi lại): {{ rejected }}.")
    control(document, "{%p endif %}")
    para(document, "2. Kết quả{% if not final %} (tạm tính theo điểm tự chấm, chưa có đủ điểm thẩm định){% endif %}",
         bold=True, keep=True)
    control(document, "{%p for section in sections %}")
    control(document, "{%p if section.name %}")
    para(document, "- Xếp hạng riêng {{ section.name }} ({{ section.count }} đơn vị):", keep=True)
    control(document, "{%p endif %}")
    control(document, "{%p for band in section.bands %}")
    para(document, "- Nhóm {{ band.name }}: {{ band.count }} đơn vị ({{ band.percent }}%).")
    control(document, "{%p endfor %}")
    control(document, "{%p endfor %}")
    control(document, "{%p if best %}")
    para(document, "- Điểm cao nhất: {{ best.total }} điểm{% if best.percent %} (Chỉ số CCHC {{ best.percent }}%)"
                   "{% endif %} ({{ best.names }}); điểm thấp nhất: {{ worst.total }} điểm{% if worst.percent %} "
                   "(Chỉ số CCHC {{ worst.percent }}%){% endif %} ({{ worst.names }}); bình quân: {{ average }} điểm.")
    control(document, "{%p endif %}")
    control(document, "{%p if explanation_round.explanations or explanation_round.round2_changed %}")
    para(document, "- Giải trình: nhận {{ explanation_round.explanations }} nội dung giải trình của "
                   "{{ explanation_round.explaining_units }} đơn vị; thẩm định lần 2 thay đổi điểm "
                   "{{ explanation_round.round2_changed }} tiêu chí của {{ explanation_round.round2_units }} đơn vị.")
    control(document, "{%p endif %}")
    para(document, "{{ chart }}", align=CENTER, indent=False, keep=True)
    para(document, "Biểu đồ: số đơn vị theo xếp loại{% if not final %} (tạm tính){% endif %}", align=CENTER,
         italic=True, size=Pt(12))
    para(document, "Bảng xếp hạng{% if not final %} (tạm tính theo điểm tự chấm){% endif %}:", bold=True,
         keep=True)
    loop_table(document, ["Số TT", "Đơn vị", "Điểm tự chấm", "Điểm thẩm định", "Xếp hạng", "Xếp loại", "Ghi chú"],
               [Cm(1.2), Cm(4.6), Cm(1.9), Cm(1.9), Cm(1.6), Cm(2.1), Cm(3.2)],
               [("{{ row.number }}", CENTER), ("{{ row.unit }}", LEFT), ("{{ row.self_total }}", CENTER),
                ("{{ row.appraisal_total }}", CENTER), ("{{ row.rank }}", CENTER), ("{{ row.group }}", CENTER),
                ("{{ row.note }}", LEFT)], "row in ranking", size=Pt(11))
    para(document, "", indent=False)
    para(document, "3. Các lĩnh vực, tiêu chí còn yếu ({% if final %}theo điểm thẩm định{% else %}theo điểm tự chấm"
                   "{% endif %})", bold=True, keep=True)
    para(document, "Tỷ lệ điểm đạt bình quân của các đơn vị theo từng lĩnh vực:", keep=True)
    loop_table(document, ["Lĩnh vực", "Tỷ lệ đạt bình quân (%)"], [Cm(12.5), Cm(4)],
               [("{{ area.code }}. {{ area.label }}", LEFT), ("{{ area.percent }}", CENTER)], "area in areas",
               size=Pt(12))
    para(document, "", indent=False)
    control(document, "{%p if weak_areas %}")
    para(document, "Các lĩnh vực còn yếu (bình quân đạt dưới {{ threshold }}% điểm tối đa):", keep=True)
    control(document, "{%p for area in weak_areas %}")
    para(document, "- {{ area.code }}. {{ area.label }}: bình quân đạt {{ area.percent }}% điểm tối đa.")
    control(document, "{%p endfor %}")
    control(document, "{%p else %}")
    para(document, "Không có lĩnh vực nào bình quân đạt dưới {{ threshold }}% điểm tối đa.")
    control(document, "{%p endif %}")
    control(document, "{%p if weakest %}")
    para(document, "Các tiêu chí có tỷ lệ đạt bình quân thấp nhất:", keep=True)
    control(document, "{%p for item in weakest %}")
    para(document, "- {{ item.code }}. {{ item.label }}: bình quân {{ item.average }}/{{ item.max }} điểm "
                   "({{ item.percent }}%); {{ item.below }} đơn vị chưa đạt tối đa.")
    control(document, "{%p endfor %}")
    control(document, "{%p endif %}")
    control(document, "{%p if comparison %}")
    para(document, "4. So với {{ comparison.previous_label }}{% if not comparison.final or not comparison.previous_final %}"
                   " (có năm tạm tính theo điểm tự chấm){% endif %}", bold=True, keep=True)
    control(document, "{%p if comparison.risers %}")
    para(document, "- Các đơn vị tăng điểm nhiều nhất: {% for m in comparison.risers %}{{ m.name }} (tăng "
                   "{{ m.change | vn }} điểm{% if m.rank_change %}, xếp hạng {{ m.arrow }}{% endif %})"
                   "{% if not loop.last %}; {% endif %}{% endfor %}.")
    control(document, "{%p endif %}")
    control(document, "{%p if comparison.fallers %}")
    para(document, "- Các đơn vị giảm điểm nhiều nhất: {% for m in comparison.fallers %}{{ m.name }} (giảm "
                   "{{ (-m.change) | vn }} điểm{% if m.rank_change %}, xếp hạng {{ m.arrow }}{% endif %})"
                   "{% if not loop.last %}; {% endif %}{% endfor %}.")
    control(document, "{%p endif %}")
    control(document, "{%p if comparison.lost %}")
    para(document, "Các tiêu chí bình quân giảm nhiều nhất so với {{ comparison.previous_label }}:",
         keep=True)
    control(document, "{%p for c in comparison.lost %}")
    para(document, "- {{ c.code }}. {{ c.label }}: bình quân giảm {{ (-c.average) | vn }} điểm mỗi đơn vị "
                   "({{ c.units }} đơn vị so sánh){% if c.note %}; {{ c.note }}{% endif %}.")
    control(document, "{%p endfor %}")
    control(document, "{%p endif %}")
    control(document, "{%p if comparison.new %}")
    para(document, "- Đơn vị mới hoặc sáp nhập (không so sánh): {{ comparison.new | map(attribute='name') | join(', ') }}.")
    control(document, "{%p endif %}")
    control(document, "{%p if comparison.gone %}")
    para(document, "- Đơn vị {{ comparison.previous_label }} nay không còn: "
                   "{{ comparison.gone | map(attribute='name') | join(', ') }}.")
    control(document, "{%p endif %}")
    control(document, "{%p endif %}")
    para(document, "{% if comparison %}5{% else %}4{% endif %}. Đề xuất", bold=True, keep=True)
    para(document, "Đề nghị các đơn vị chưa nộp, có tệp bị từ chối hoàn thiện và gửi lại phiếu; các đơn vị tập trung "
                   "khắc phục các lĩnh vực, tiêu chí còn yếu nêu trên./.", after=Pt(10))
    office_signature(document, ["- Chủ tịch, các Phó Chủ tịch {{ issuer_name }};", "- Lưu: VT, {{ abbreviation }}."])
    document.core_properties.title = "Báo cáo tổng hợp kết quả Chỉ số CCHC cấp xã"
    document.core_properties.author = "cchc-xls"
    return document


def phu_luc_ii():
    document = new_document(landscape=True)
    para(document, "PHỤ LỤC II", align=CENTER, bold=True, after=Pt(2))
    para(document, "THỐNG KÊ KẾT QUẢ XẾP HẠNG CHỈ SỐ CCHC ĐỐI VỚI UBND CẤP XÃ {{ period_upper }}", align=CENTER,
         bold=True, after=Pt(2))
    para(document, "{{ issuing_line }}", align=CENTER, italic=True, after=Pt(2))
    control(document, "{%p if provisional %}")
    para(document, "{{ provisional }}", align=CENTER, italic=True, after=Pt(2))
    control(document, "{%p endif %}")
    para(document, "", indent=False)
    control(document, "{%p if part_headers %}")
    parts_table(document)
    control(document, "{%p else %}")
    loop_table(document, ["Số TT", "Đơn vị cấp xã", "Điểm tự chấm", "Điểm thẩm định", "Xếp hạng", "Xếp loại",
                          "Ghi chú"],
               [Cm(1.4), Cm(6.5), Cm(2.6), Cm(2.6), Cm(2.1), Cm(2.8), Cm(7.6)],
               [("{{ row.number }}", CENTER), ("{{ row.unit }}", LEFT), ("{{ row.self_total }}", CENTER),
                ("{{ row.appraisal_total }}", CENTER), ("{{ row.rank }}", CENTER), ("{{ row.group }}", CENTER),
                ("{{ row.note }}", LEFT)], "row in rows", size=Pt(12))
    control(document, "{%p endif %}")
    control(document, "{%p if footnote %}")
    para(document, "{{ footnote }}", italic=True, size=Pt(11), indent=False)
    control(document, "{%p endif %}")
    para(document, "", indent=False)
    two_columns(document, (Cm(12), Cm(12)),
                [("NGƯỜI LẬP BIỂU", True, False, Pt(13), CENTER), ("(Ký, ghi rõ họ tên)", False, True, Pt(13), CENTER)],
                [("{{ date_line }}", False, True, Pt(13), CENTER), ("{{ signer_upper }}", True, False, Pt(13), CENTER),
                 ("(Ký, ghi rõ họ tên, đóng dấu)", False, True, Pt(13), CENTER), ("", False, False, Pt(13), CENTER),
                 ("", False, False, Pt(13), CENTER), ("{{ signer_name }}", True, False, Pt(13), CENTER)])
    document.core_properties.title = "Phụ lục II: kết quả xếp hạng Chỉ số CCHC cấp xã"
    document.core_properties.author = "cchc-xls"
    return document


def main(out: Path = OUT) -> None:
    for name, build in (("bao-cao-xa.docx", commune_report), ("bao-cao-tong-hop.docx", summary_report),
                        ("phu-luc-ii.docx", phu_luc_ii)):
        build().save(str(out / name))
        print(out / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
