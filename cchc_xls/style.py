"""Shared look of every workbook the tool writes: fonts, a cache of formats, row heights."""

from __future__ import annotations

from functools import lru_cache

import xlsxwriter

FONT_NAME = "Times New Roman"
LINE_HEIGHT = 17.0  # points per line of Times New Roman 13
FILL_HEADER = "#DDEBF7"  # table headers, areas, totals
FILL_PARENT = "#F2F2F2"  # rows whose score is the sum of the rows below
FILL_LOCKED_OUT = "#D9D9D9"  # criteria the commune does not score here
FILL_MISSING = "#FFF2CC"  # a score still to enter (conditional formatting)
FILL_ATTENTION = "#FCE4D6"  # evidence or explanation still to write (conditional formatting)
# One number format for every score and total in every output workbook: the exact value (scores
# have at most the rubric's decimals, rescaled totals 3), no trailing zeros, no trailing point
# ("0.###" would print "75."); percentages are cut to 2 places (score.cut_percent) and shown so.
SCORE_FORMAT = "General"
SIGNED_SCORE_FORMAT = "+General;-General;0"
PERCENT_FORMAT = "0.00"
FILL_TEXT_SCORE = "#FF9999"  # a score typed as text, which the sheet's SUM does not add (conditional formatting)


def new_workbook(path, **options):
    """An xlsxwriter workbook whose strings always stay strings: nothing a commune typed can
    become a formula, a hyperlink or a number in a file the tool writes.

    Its parts are assembled in memory, not in a dozen temporary files created and deleted per
    workbook (deleting them was 40% of generating a template); a big workbook asks for
    `constant_memory` instead, which streams its rows through temporary files."""
    in_memory = not options.get("constant_memory")
    return xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False, "in_memory": in_memory, **options})


class Formats:
    """xlsxwriter formats created once per workbook (a format belongs to one workbook)."""

    def __init__(self, workbook, **base):
        self.workbook = workbook
        # every number any writer puts through these formats shows in the one SCORE_FORMAT
        self.base = {"font_name": FONT_NAME, "font_size": 13, "valign": "vcenter", "num_format": SCORE_FORMAT, **base}
        self._cache = {}

    def __call__(self, **props):
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.workbook.add_format({**self.base, **props})
        return self._cache[key]


def write_number_or_blank(sheet, row: int, col: int, value, fmt) -> None:
    """A Decimal score, or an empty (formatted) cell where there is none."""
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    else:
        sheet.write_number(row, col, float(value), fmt)


def wrapped_lines(text: str, width: float, bold: bool = False, font_size: float = 13) -> int:
    """How many lines `text` takes in a column `width` characters wide (Times New Roman
    `font_size`, 13 unless said: a smaller font fits proportionally more on a line).

    Row heights are set from this estimate because LibreOffice and phone viewers do not grow
    rows to fit wrapped text on their own.
    """
    if not text:
        return 1
    return _wrapped_lines(str(text), width, bold, font_size)


@lru_cache(maxsize=1 << 16)  # the same labels and messages come back on every unit's rows
def _wrapped_lines(text: str, width: float, bold: bool, font_size: float) -> int:
    letters = [c for c in text if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper()) / len(letters) if letters else 0
    # capitals are about a third wider than lower-case letters in Times New Roman
    per_line = max(8, int(width * (1.0 if bold else 1.15) * (1 - 0.3 * upper) * 13 / font_size))
    if len(text) <= per_line and text.isprintable():  # one short line (a line break is not printable)
        return 1
    return sum(_greedy_lines(paragraph.split(), per_line) for paragraph in text.splitlines() or [""])


def _greedy_lines(words: list[str], width: int) -> int:
    """Lines of a paragraph filled word by word, at least one: what textwrap.wrap(width,
    break_on_hyphens=False) counts, at a tenth of the cost. A word longer than a line starts in
    the space left on the current line and fills whole lines after it."""
    lines, used = 1, 0
    for word in words:
        size = len(word)
        if used and used + 1 + size <= width:
            used += 1 + size
            continue
        if used:
            if size > width:
                size -= max(0, width - used - 1)
            lines += 1
        while size > width:
            lines, size = lines + 1, size - width
        used = size
    return lines


def row_height(lines: int, line_height: float = LINE_HEIGHT) -> float:
    return round(lines * line_height + 4, 1)


def fit_row(sheet, row: int, cells: list[tuple[str, float]], bold: bool = False, minimum: int = 1,
            line_height: float = LINE_HEIGHT, font_size: float = 13) -> None:
    """Set a row's height from its longest wrapped text; `cells` are (text, column width) pairs."""
    lines = max([minimum] + [wrapped_lines(text, width, bold, font_size) for text, width in cells if text])
    sheet.set_row(row, row_height(lines, line_height))


FOOTER = '&C&"Times New Roman"&10Trang &P/&N'


def setup_print(sheet, repeat: tuple[int, int] | None = None, landscape: bool = True, fit_width: bool = True,
                left_margin: float = 0.4, print_area: tuple[int, int] | None = None, center: bool = False) -> None:
    """The print setup every table sheet shares: A4, one page wide, header rows repeated on each
    page, "Trang x/y" in the footer. `repeat` is (first, last) zero-based header rows;
    `print_area` is (last row, last column)."""
    if landscape:
        sheet.set_landscape()
    sheet.set_paper(9)  # A4
    if fit_width:
        sheet.fit_to_pages(1, 0)
    if center:
        sheet.center_horizontally()
    sheet.set_margins(left=left_margin, right=0.4, top=0.6, bottom=0.6)
    if repeat is not None:
        sheet.repeat_rows(*repeat)
    sheet.set_footer(FOOTER)
    if print_area is not None:
        sheet.print_area(0, 0, *print_area)


def office_signature(profile, signature):
    """`signature` (a layout.Signature) signed for the office `profile`: its right-hand block
    becomes the office's signer ("GIÁM ĐỐC", the note, room to sign, the name)."""
    from dataclasses import replace

    from cchc_xls.profile import upper_vn

    note = signature.right[-1] if signature.right and not signature.right[-1][1] else ("", False)
    return replace(signature, right=((upper_vn(profile.title), True), note, ("", False), ("", False),
                                     (profile.name_line, True)))


def write_signature(sheet, fmt: Formats, row: int, signature, left: tuple[int, int], right: tuple[int, int],
                    place: str = "", date_line: str | None = None) -> int:
    """A layout.Signature under a table: the date line at `row` over the right-hand block, then
    each side's lines one per row; `left`/`right` are (first, last) zero-based columns. Returns
    the last row written. `date_line` (an office profile's) replaces the signature's own."""
    sheet.merge_range(row, right[0], row, right[1],
                      date_line if date_line is not None else signature.date_line.format(place=place),
                      fmt(italic=True, align="center"))
    for lines, (first, last) in ((signature.left, left), (signature.right, right)):
        for offset, (text, bold) in enumerate(lines, start=1):
            sheet.merge_range(row + offset, first, row + offset, last, text,
                              fmt(bold=True, align="center") if bold else fmt(italic=True, align="center"))
    return row + max(len(signature.left), len(signature.right))
