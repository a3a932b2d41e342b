"""The explanation round, writing: the communes' explanation workbooks (giải trình) and the
council's round-2 workbooks, pre-filled from a harvest that holds the round-1 appraisal.

A criterion is *disputed* when the council's round-1 score is below the self score or the
council wrote a comment on it (`disputed_codes`). `write_explanation_workbooks` writes one
workbook per commune with a disputed criterion, and the messages to send them;
`write_round2_workbooks` writes the council's second appraisal of those criteria, by unit or by
area, showing what the commune explained. explanation_read.py reads both back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from cchc_xls.appraisal_write import AppraisalBook, excluded_codes, extras_area, workbook_identity
from cchc_xls.errors import CchcError, output_error
from cchc_xls.explanation_merge import is_disputed
from cchc_xls.feedback import format_deadline, parse_deadline
from cchc_xls.generate import score_validation
from cchc_xls.layout import (
    EXPLANATION_LAYOUT, GUIDE_SHEET, KIND_APPRAISAL_ROUND2, KIND_EXPLANATION, ROUND2_LAYOUT, Layout, column_letter,
)
from cchc_xls.outputs import write_text_atomic
from cchc_xls.profile import OfficeProfile
from cchc_xls.resources import render_text
from cchc_xls.results import Results, UnitRow, load_results
from cchc_xls.rubric import Node
from cchc_xls.style import (
    FILL_HEADER, FILL_MISSING, fit_row, row_height, write_number_or_blank, write_signature, wrapped_lines,
)
from cchc_xls.units import Unit, ascii_slug


@dataclass(frozen=True)
class ExplanationOutputs:
    out_dir: Path
    workbooks: tuple[Path, ...]
    messages: Path | None
    units: tuple[str, ...]  # the codes of the communes written to, in the workbooks' order


@dataclass(frozen=True)
class Disputed:
    """One disputed criterion of one commune, with what is known of it so far."""

    unit: UnitRow
    node: Node
    score: Decimal | None
    round1: Decimal | None
    round1_comment: str
    reply: str = ""
    supplement: str = ""


def round1_score(unit: UnitRow, code: str) -> Decimal | None:
    """The council's round-1 score (history keeps it once round 2 replaced it)."""
    step = unit.history.get(code, {}).get("round1")
    if step:
        return step.get("score")
    return unit.appraisal.get(code)


def round1_comment(unit: UnitRow, code: str) -> str:
    """The council's round-1 comment on a criterion ("" without one)."""
    step = unit.history.get(code, {}).get("round1")
    if step:
        return step.get("comment", "")
    return unit.appraisal_comments.get(code, "")


def disputed_codes(results: Results, unit: UnitRow) -> list[str]:
    """The criteria of a commune that go to the explanation round, in rubric order."""
    excluded = excluded_codes(results, unit)
    return [leaf.code for leaf in results.rubric.scorable()
            if leaf.self_scored and leaf.code not in excluded
            and is_disputed(unit.scores.get(leaf.code), round1_score(unit, leaf.code), round1_comment(unit, leaf.code))]


def disputed(results: Results, unit: UnitRow) -> list[Disputed]:
    """The disputed criteria of a commune with its self score, round 1 and its explanation."""
    rubric = results.rubric
    items = []
    for code in disputed_codes(results, unit):
        step = unit.history.get(code, {}).get("explanation") or {}
        items.append(Disputed(unit, rubric.node(code), unit.scores.get(code), round1_score(unit, code),
                              round1_comment(unit, code), step.get("text", ""), step.get("evidence", "")))
    return items


def _guide(book: AppraisalBook, template: str, **context) -> None:
    """The instructions sheet, from a Jinja2 template in templates/ (an office may reword it)."""
    g, f = book.wb.add_worksheet(GUIDE_SHEET), book.fmt
    width = 78
    g.set_column(0, 0, width)
    heading, body = f(bold=True, font_size=14, text_wrap=True), f(text_wrap=True)
    text = render_text(template, **context)
    for row, line in enumerate(line for line in text.splitlines() if line.strip()):
        is_heading = line.startswith("# ")
        line = line[2:] if is_heading else line
        g.write_string(row, 0, line, heading if is_heading else body)
        g.set_row(row, row_height(wrapped_lines(line, width * (0.85 if is_heading else 1), bold=is_heading)))
    g.protect(book.password)
    g.set_paper(9)
    g.fit_to_pages(1, 0)
    g.hide_gridlines(2)


def _table(book: AppraisalBook, s, layout: Layout, top: int, items: list[Disputed], validate: bool) -> int:
    """The header at `top` and one row per disputed criterion; returns the last row written."""
    f = book.fmt
    col = {c.key: i for i, c in enumerate(layout.columns)}
    head = f(bold=True, border=1, align="center", bg_color=FILL_HEADER, text_wrap=True)
    for index, column in enumerate(layout.columns):
        s.write_string(top, index, column.header, head)
        s.set_column(index, index, column.width)
    s.set_row(top, 36)
    text, center = f(border=1, text_wrap=True), f(border=1, align="center")
    open_text, open_center = f(border=1, text_wrap=True, locked=False), f(border=1, align="center", locked=False)
    row = top
    for item in items:
        row += 1
        values = {"unit_code": item.unit.code, "unit": item.unit.committee, "code": item.node.code,
                  "label": item.node.label, "round1_comment": item.round1_comment, "reply": item.reply,
                  "supplement": item.supplement}
        numbers = {"max": item.node.max, "score": item.score, "round1": item.round1}
        for column in layout.columns:
            c = col[column.key]
            if column.key in numbers:
                write_number_or_blank(s, row, c, numbers[column.key], center)
            elif column.key in ("round2", "round2_comment"):
                if column.key == "round2":
                    s.write_blank(row, c, None, open_center)
                    if validate:
                        s.data_validation(row, c, row, c, score_validation(item.node, row, c, book.level_ranges,
                                                                           "thẩm định lần 2"))
                else:
                    s.write_string(row, c, "", open_text)
            else:
                s.write_string(row, c, values[column.key], open_text if not column.locked else
                               center if column.key in ("unit_code", "code") else text)
        fit_row(s, row, [(values[c.key], c.width) for c in layout.columns if c.key in values])
    key = "reply" if "reply" in col and not layout.column("reply").locked else "round2"
    if items:
        letter = column_letter(col[key])
        s.conditional_format(top + 1, col[key], row, col[key], {
            "type": "formula", "criteria": f"=LEN(${letter}{top + 2})=0",
            "format": book.wb.add_format({"bg_color": FILL_MISSING})})
    return row


def _heading(book: AppraisalBook, s, layout: Layout, results: Results, lines: list[str]) -> int:
    period = results.period.label if results.period else ""
    last = len(layout.columns) - 1
    return book.heading(s, last, layout.texts["title"].format(period=period.upper()), lines)


def _finish(book: AppraisalBook, s, layout: Layout, top: int, last_row: int, place: str | None = None) -> Path:
    """Signature, identity line, protection, print setup. `place`: the commune signs (its own
    place in the date line); None: the council signs, with the office's date line."""
    last = len(layout.columns) - 1
    profile = book.results.profile
    date_line = None if place is not None else profile.date_line(profile.issue_year(book.results.period))
    end = write_signature(s, book.fmt, last_row + 2, layout.signature, left=(0, 2), right=(last - 2, last),
                          place=place or "", date_line=date_line)
    s.freeze_panes(top + 1, 0)
    s.print_area(0, 0, end, last)
    s.fit_to_pages(1, 0)
    book.finish(s, layout, top, end, last)
    return book.close()


def _with_profile(results: Results, profile: OfficeProfile | None) -> Results:
    """The office the workbooks are headed and signed for: the harvest's profile, `profile` over it."""
    return replace(results, profile=results.profile.merged(profile or OfficeProfile()))


def explanation_file_name(unit: UnitRow, period_key: str) -> str:
    """giai-trinh_<code>_<slug>_<period>.xlsx: ASCII, like the templates' names."""
    return f"giai-trinh_{unit.code}_{Unit(unit.code, unit.name, unit.kind).slug}_{period_key}.xlsx"


def _write_explanation(path: Path, results: Results, unit: UnitRow, items: list[Disputed], deadline: str,
                       office: str, password: str) -> Path:
    layout = EXPLANATION_LAYOUT
    texts = layout.texts
    book = AppraisalBook(path, results, workbook_identity(results, KIND_EXPLANATION, unit=unit), password)
    s = book.sheet(layout.sheets[0])
    rubric = results.rubric
    lines = [texts["unit"].format(committee=unit.committee, code=unit.code),
             texts["basis"].format(title=rubric.title, legal_basis=rubric.legal_basis.describe())]
    if deadline:
        lines.append(texts["deadline"].format(deadline=deadline))
    lines.append(texts["instruction"])
    top = _heading(book, s, layout, results, lines)
    last_row = _table(book, s, layout, top, items, validate=False)
    _guide(book, "huong-dan-giai-trinh.txt.j2", unit=unit, period=results.period, rubric=rubric,
           deadline=deadline, office=office, count=len(items))
    return _finish(book, s, layout, top, last_row, place=Unit(unit.code, unit.name, unit.kind).bare_name)


def write_explanation_workbooks(harvest_dir: Path, out_dir: Path, *, deadline: str = "", office: str = "",
                                password: str = "", profile: OfficeProfile | None = None) -> ExplanationOutputs:
    """One explanation workbook per commune with a disputed criterion, and messages.txt (`deadline`:
    the date to send them back by, as offices write it; not a date is a DeadlineError); headed
    for the office (the profile the harvest kept, `profile`'s keys over it; `office` names the
    sender in the messages when the profile has none)."""
    if password and not password.isascii():
        raise CchcError.of("password.not_ascii")
    deadline = format_deadline(parse_deadline(deadline))  # 10-1-2026 -> 10/01/2026; not a date: refused
    results = _with_profile(load_results(harvest_dir), profile)
    office = results.profile.office or office
    if not any(u.appraisal or u.appraisal_comments for u in results.submitted()):
        raise CchcError.of("explanation.no_appraisal")
    period = results.period.key if results.period else "ky"
    written, codes, messages = [], [], []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for unit in results.submitted():
            items = disputed(results, unit)
            if not items:
                continue
            name = explanation_file_name(unit, period)
            written.append(_write_explanation(out_dir / name, results, unit, items, deadline, office, password))
            codes.append(unit.code)
            messages.append(render_text("message-giai-trinh.txt.j2", unit=unit, period=results.period,
                                        rubric=results.rubric, file=name, deadline=deadline, office=office,
                                        count=len(items)))
        path = write_text_atomic(out_dir / "messages.txt", ("\n" + "=" * 72 + "\n\n").join(messages)) \
            if messages else None
    except OSError as exc:
        raise output_error(exc, out_dir, "bảng giải trình") from exc
    return ExplanationOutputs(out_dir, tuple(written), path, tuple(codes))


def _write_round2(path: Path, results: Results, items: list[Disputed], unit: UnitRow | None, area: Node | None,
                  password: str) -> Path:
    layout = ROUND2_LAYOUT
    texts = layout.texts
    identity = workbook_identity(results, KIND_APPRAISAL_ROUND2, unit=unit, area=area)
    book = AppraisalBook(path, results, identity, password)
    s = book.sheet(layout.sheets[0])
    first = texts["unit"].format(committee=unit.committee, code=unit.code) if unit else \
        texts["area"].format(code=area.code, label=area.label)
    top = _heading(book, s, layout, results, [first, texts["instruction"]])
    last_row = _table(book, s, layout, top, items, validate=True)
    return _finish(book, s, layout, top, last_row)


def write_round2_workbooks(harvest_dir: Path, out_dir: Path, by: str = "unit", password: str = "",
                           profile: OfficeProfile | None = None) -> ExplanationOutputs:
    """The council's round-2 workbooks: every disputed criterion with the commune's explanation,
    one workbook per commune (`by="unit"`) or per area (`by="area"`)."""
    if password and not password.isascii():
        raise CchcError.of("password.not_ascii")
    results = _with_profile(load_results(harvest_dir), profile)
    by_unit = {u.code: disputed(results, u) for u in results.submitted()}
    if not any(by_unit.values()):
        raise CchcError.of("explanation.nothing_disputed")
    period = results.period.key if results.period else "ky"
    written, codes = [], []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if by == "area":
            for area in results.rubric.areas() + extras_area(results.rubric):
                leaves = {leaf.code for leaf in area.leaves()}
                items = [i for u in results.submitted() for i in by_unit[u.code] if i.node.code in leaves]
                if items:
                    name = f"tham-dinh-lan-2_linh-vuc-{ascii_slug(area.code)}_{period}.xlsx"
                    written.append(_write_round2(out_dir / name, results, items, None, area, password))
                    codes.append(area.code)
        else:
            for unit in results.submitted():
                if by_unit[unit.code]:
                    slug = Unit(unit.code, unit.name, unit.kind).slug
                    name = f"tham-dinh-lan-2_{unit.code}_{slug}_{period}.xlsx"
                    written.append(_write_round2(out_dir / name, results, by_unit[unit.code], unit, None, password))
                    codes.append(unit.code)
    except OSError as exc:
        raise output_error(exc, out_dir, "bảng thẩm định lần 2") from exc
    return ExplanationOutputs(out_dir, tuple(written), None, tuple(codes))


__all__ = ["Disputed", "ExplanationOutputs", "disputed", "disputed_codes", "is_disputed",
           "write_explanation_workbooks", "write_round2_workbooks"]
