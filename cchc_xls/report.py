"""Narrative reports (.docx): each commune's report in the form of seeds 000/001, and the office's
summary of the district. The words live in Jinja2 templates in templates/; this module computes
the figures and lays the rendered lines out as an editable Word document (python-docx).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from cchc_xls.compare import Comparison, compare, unit_criteria_changes
from cchc_xls.errors import CchcError, output_error
from cchc_xls.outputs import safe_text, write_atomic
from cchc_xls.numbers import ZERO, format_vn, normalize, round_half_up
from cchc_xls.score import cut_percent
from cchc_xls.resources import jinja_env
from cchc_xls.results import Results, UnitRow, load_results
from cchc_xls.units import Unit, ascii_slug

BODY_SIZE = Pt(14)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_DIRECTIVE = re.compile(r"^\[\[(quoc-hieu|ky-ten):(.*)\]\]$")


def percent_vn(part: Decimal, whole: Decimal) -> str:
    """As seed 004 writes it: two decimals cut, not rounded (14,35/15 -> "95,66")."""
    if not whole:
        return "0"
    return format_vn(normalize(cut_percent(part, whole)))


def _vn(value) -> str:
    return format_vn(value)


# ---------------------------------------------------------------------------------------------
# The figures


@dataclass(frozen=True)
class Line:
    kind: str  # part | area | criterion
    code: str
    label: str
    score: Decimal
    max: Decimal
    percent: str
    prefix: str = ""
    show_points: bool = True
    appraised: Decimal | None = None
    difference: str = ""
    not_applicable: bool = False


def _self_scored_max(node, na: set[str]) -> Decimal:
    return sum((leaf.max for leaf in node.leaves() if leaf.self_scored and leaf.code not in na), ZERO)


def _earned(node, unit: UnitRow) -> Decimal:
    if node.is_leaf:
        return unit.scores.get(node.code, ZERO)
    return unit.subtotals.get(node.code, sum((_earned(c, unit) for c in node.children), ZERO))


def _appraised(node, unit: UnitRow) -> Decimal | None:
    """The appraised figure, only where every criterion under it is appraised (a blank is not 0)."""
    if not unit.appraisal:
        return None
    if node.is_leaf:
        return unit.appraisal.get(node.code)
    return unit.appraisal_subtotals.get(node.code)


def _difference(appraised: Decimal, score: Decimal) -> str:
    delta = appraised - score
    if delta == 0:
        return "bằng điểm tự chấm"
    return f"{'tăng' if delta > 0 else 'giảm'} {format_vn(abs(delta))} điểm so với tự chấm"


def commune_lines(results: Results, unit: UnitRow) -> list[Line]:
    """One line per part, area and criterion, in the seeds' form; survey criteria left out."""
    rubric = results.rubric
    na = set(unit.not_applicable)
    lines = []

    def area_line(node, prefix: str) -> None:
        possible = _self_scored_max(node, na)
        score = _earned(node, unit)
        appraised = _appraised(node, unit)
        lines.append(Line("area", node.code, node.label, score, possible, percent_vn(score, possible), prefix,
                          appraised=appraised, difference=_difference(appraised, score) if appraised is not None else ""))
        for child in node.children:
            if all(not leaf.self_scored for leaf in child.leaves()):
                continue
            child_max = _self_scored_max(child, na) or child.max
            lines.append(Line("criterion", child.code, child.label, _earned(child, unit), child_max,
                              percent_vn(_earned(child, unit), child_max), appraised=_appraised(child, unit),
                              not_applicable=child.is_leaf and child.code in na))

    for root in rubric.roots:
        expanded = root.children and all(not c.is_leaf for c in root.children)
        if expanded:
            all_self = all(leaf.self_scored for leaf in root.leaves())
            possible = _self_scored_max(root, na)
            lines.append(Line("part", root.code, root.label, _earned(root, unit), possible,
                              percent_vn(_earned(root, unit), possible), show_points=all_self))
            for area in root.children:
                area_line(area, "Phần ")
        elif root.children and any(not leaf.self_scored for leaf in root.leaves()):
            lines.append(Line("part", root.code, root.label, ZERO, ZERO, "0", show_points=False))
            for child in root.children:
                if all(leaf.self_scored for leaf in child.leaves()):
                    score = _earned(child, unit)
                    lines.append(Line("criterion", child.code, child.label, score, child.max,
                                      percent_vn(score, child.max), appraised=_appraised(child, unit)))
                elif _appraised(child, unit) is not None:  # the province's survey score, once supplied
                    survey = _appraised(child, unit)
                    lines.append(Line("survey", child.code, child.label, survey, child.max,
                                      percent_vn(survey, child.max)))
        else:
            area_line(root, "")
    return lines


def lost_points(results: Results, unit: UnitRow) -> list[dict]:
    items = []
    for leaf in results.rubric.scorable():
        if leaf.code in unit.not_applicable or leaf.part:  # a bonus or penalty item loses nothing
            continue
        score = unit.scores.get(leaf.code, ZERO)
        if score < leaf.max:
            items.append({"code": leaf.code, "label": leaf.label, "score": score, "max": leaf.max,
                          "explanation": unit.explanations.get(leaf.code, "")})
    return items


def commune_context(results: Results, unit: UnitRow, comparison: Comparison | None = None) -> dict:
    """`comparison`: compare(results), computed once for many reports; computed here if not given."""
    comparison = comparison if comparison is not None else compare(results)
    period = results.period
    has_survey = any(not leaf.self_scored for leaf in results.rubric.leaves())
    return {
        "unit": Unit(unit.code, unit.name, unit.kind, unit.cluster),
        "period": period,
        "rubric": results.rubric,
        "report_year": _report_year(results),
        "lines": commune_lines(results, unit),
        "self_total": unit.self_total,
        "survey_note": "chưa gồm điểm điều tra xã hội học, SIPAS do tỉnh chấm" if has_survey else "",
        "appraisal_total": unit.appraisal_total,
        "appraisal_note": "" if unit.appraisal_complete else "chưa thẩm định đủ các tiêu chí",
        "group": unit.group,
        "lost": lost_points(results, unit),
        "extras": extras_lines(results, unit),
        "index_percent": percent_vn(unit.ranking_total, results.rubric.total)
        if results.rubric.index_as_percent and unit.ranking_total is not None else "",
        "rank": unit.rank,
        "ranking_group": unit.ranking_group,
        "group_note": unit.group_note,
        "comparison": comparison,
        "movement": comparison.movement(unit.code) if comparison else None,
        "moved_criteria": unit_criteria_changes(results, unit) if comparison else [],
        "ranked_count": sum(1 for u in results.units if u.rank is not None and u.ranking_group == unit.ranking_group),
    }


def extras_lines(results: Results, unit: UnitRow) -> list[dict]:
    """The base total, the bonus and the penalty that count, each with its non-zero items, for
    the report's “Điểm thưởng, điểm trừ” part ([] when the rubric has neither)."""
    rubric = results.rubric
    if not rubric.extras():
        return []
    lines = [{"label": "Tổng điểm các lĩnh vực", "score": unit.self_base_total, "appraised": unit.appraisal_base_total,
              "max": None, "details": []}]
    for extra in rubric.extras():
        bonus = extra.part == "bonus"
        items = [{"code": i.code, "label": i.label, "score": unit.scores.get(i.code, ZERO),
                  "appraised": unit.appraisal.get(i.code) if unit.appraisal_complete else None}
                 for i in extra.items if unit.scores.get(i.code, ZERO) or (unit.appraisal_complete and unit.appraisal.get(i.code))]
        lines.append({"label": "Điểm thưởng được tính" if bonus else "Điểm trừ được tính", "max": extra.max,
                      "score": unit.self_bonus if bonus else unit.self_penalty,
                      "appraised": unit.appraisal_bonus if bonus else unit.appraisal_penalty, "details": items})
    return lines


def _report_year(results: Results) -> str:
    period = results.period
    if period is None:
        return "……"
    return str(period.year if period.half == 1 else period.year + 1)


def summary_context(results: Results, office: str = "", comparison: Comparison | None = None) -> dict:
    comparison = comparison if comparison is not None else compare(results)
    rubric = results.rubric
    submitted = [u for u in results.units if u.status == "submitted"]
    final = results.appraised
    totals = [(u.ranking_total or ZERO, u) for u in submitted]
    count = {"total": len(results.units), "submitted": len(submitted),
             "missing": sum(1 for u in results.units if u.status == "missing"),
             "rejected": sum(1 for u in results.units if u.status == "rejected")}
    bands = []
    for band in rubric.bands:
        number = sum(1 for u in submitted if u.group == band.name)
        share = percent_vn(Decimal(number), Decimal(len(submitted))) if submitted else "0"
        bands.append({"name": band.name, "count": number, "percent": share})
    best = worst = None
    average = None
    if totals:
        high = max(t for t, _ in totals)
        low = min(t for t, _ in totals)
        best = {"total": high, "names": ", ".join(u.committee for t, u in totals if t == high), "percent": ""}
        worst = {"total": low, "names": ", ".join(u.committee for t, u in totals if t == low), "percent": ""}
        average = round_half_up(sum((t for t, _ in totals), ZERO) / len(totals), 2)
    def score_of(unit: UnitRow, code: str) -> Decimal:
        """The appraised score once the ranking is final, else the self score."""
        return (unit.appraisal if final else unit.scores).get(code, ZERO)

    areas = []
    for area in rubric.areas():
        leaves = [leaf for leaf in area.leaves() if leaf.self_scored]
        if not leaves or not submitted:
            continue
        earned = sum((score_of(u, leaf.code) for u in submitted for leaf in leaves), ZERO)
        possible = sum((leaf.max for leaf in leaves), ZERO) * len(submitted)
        areas.append({"code": area.code, "label": area.label, "percent": percent_vn(earned, possible),
                      "ratio": earned / possible if possible else ZERO})
    areas.sort(key=lambda a: a["ratio"])
    weakest = []
    for leaf in rubric.scorable():
        if not submitted:
            break
        if leaf.part:  # bonus and penalty items are not criteria a unit is weak in
            continue
        scores = [score_of(u, leaf.code) for u in submitted]
        mean = sum(scores, ZERO) / len(scores)
        weakest.append({"code": leaf.code, "label": leaf.label, "max": leaf.max,
                        "average": round_half_up(mean, 2), "percent": percent_vn(mean, leaf.max),
                        "below": sum(1 for s in scores if s < leaf.max), "ratio": mean / leaf.max})
    weakest = [w for w in sorted(weakest, key=lambda w: (w["ratio"], w["code"])) if w["ratio"] < 1][:10]
    sections = []  # with ranking groups: each group's own distribution
    if rubric.ranking_groups:
        for name in rubric.ranking_group_names():
            members = [u for u in submitted if u.ranking_group == name]
            sections.append({"name": name, "count": len(members), "bands": [
                {"name": band.name, "count": sum(1 for u in members if u.group == band.name),
                 "percent": percent_vn(Decimal(sum(1 for u in members if u.group == band.name)), Decimal(len(members)))
                 if members else "0"} for band in rubric.bands]})
    if rubric.index_as_percent and best:
        best["percent"] = percent_vn(best["total"], rubric.total)
        worst["percent"] = percent_vn(worst["total"], rubric.total)
    return {
        "office": office, "period": results.period, "rubric": rubric, "final": final, "sections": sections,
        "report_year": _report_year(results), "count": count, "bands": bands, "best": best, "worst": worst,
        "average": average, "areas": areas, "weakest": weakest,
        "missing": [u.committee for u in results.units if u.status == "missing"],
        "rejected": [f"{u.committee} ({u.note.rstrip('.')})" for u in results.units if u.status == "rejected"],
        "comparison": comparison,
    }


# ---------------------------------------------------------------------------------------------
# Text lines -> Word


# Every value a template prints (a commune's name, its explanations, the figures) is carried out of
# band: the rendered text holds only a placeholder, so a value can never add a line, a heading, a
# bold span or a signature table: the markup is the template's alone, each value one plain run.
_OPEN, _CLOSE = "\ue000", "\ue001"
_VALUE = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


@dataclass(frozen=True)
class Rendered:
    """A rendered template: its lines of markup with placeholders, and the values they stand for."""

    lines: list[str]
    values: tuple[str, ...]


_VALUES: ContextVar[list[str]] = ContextVar("report_values")


def _placeholder(value) -> str:
    """Jinja's finalize: keep the printed value aside, print its placeholder."""
    values = _VALUES.get()
    text = safe_text("" if value is None else value, one_line=True)
    values.append(text.replace(_OPEN, "").replace(_CLOSE, ""))
    return f"{_OPEN}{len(values) - 1}{_CLOSE}"


@lru_cache(maxsize=1)
def _report_env():
    # an overlay of the shared environment: the other templates (messages) print values as they are
    env = jinja_env().overlay(finalize=_placeholder)
    env.filters["vn"] = _vn
    return env


def render_lines(template: str, context: dict) -> Rendered:
    """Render a report template; each printed value becomes a placeholder for one plain run."""
    values: list[str] = []
    token = _VALUES.set(values)
    try:
        text = _report_env().get_template(template).render(**context)
    finally:
        _VALUES.reset(token)
    return Rendered([line.rstrip() for line in text.splitlines() if line.strip()], tuple(values))


def _set_font(run, size=BODY_SIZE, bold=None, italic=None) -> None:
    run.font.name = "Times New Roman"
    run._element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    run.font.size = size
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic


def _add_runs(paragraph, text: str, values, size=BODY_SIZE, bold=False, italic=False) -> None:
    """Text with **bold** spans as runs (the only inline markup); placeholders become their values.

    Markup is looked for in the template's text only: a value is put back after, as plain text."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _BOLD.finditer(text):
        if match.start() > position:
            pieces.append((text[position:match.start()], bold))
        pieces.append((match.group(1), True))
        position = match.end()
    if position < len(text):
        pieces.append((text[position:], bold))
    runs: list[list] = []
    for piece, weight in pieces:
        plain = _VALUE.sub(lambda m: values[int(m.group(1))], piece)
        if runs and runs[-1][1] == weight:
            runs[-1][0] += plain
        elif plain:
            runs.append([plain, weight])
    for plain, weight in runs:
        _set_font(paragraph.add_run(plain), size, weight, italic)


def _paragraph(container, text: str, values=(), *, align=None, bold=False, italic=False, size=BODY_SIZE, indent=None,
               first_line=None, space_after=Pt(4)):
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.space_after = space_after
    fmt.space_before = Pt(0)
    fmt.line_spacing = 1.15
    if align is not None:
        paragraph.alignment = align
    if indent is not None:
        fmt.left_indent = indent
    if first_line is not None:
        fmt.first_line_indent = first_line
    _add_runs(paragraph, text, values, size, bold, italic)
    return paragraph


def _two_columns(document, left: list[str], right: list[str], kind: str, values) -> None:
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = (Cm(6), Cm(10.5)) if kind == "quoc-hieu" else (Cm(8), Cm(8.5))
    for column, cell, width in zip(table.columns, table.rows[0].cells, widths):
        column.width = width  # LibreOffice reads the grid, Word the cells: set both
        cell.width = width
    for side, (cell, lines) in enumerate(zip(table.rows[0].cells, (left, right))):
        cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
        for index, line in enumerate(lines):
            if kind == "quoc-hieu":
                last = index == len(lines) - 1
                bold = not (last and index >= 2)
                italic = last and index >= 2
                size = Pt(12) if side == 0 or index == 0 else Pt(13)
                align = WD_ALIGN_PARAGRAPH.CENTER
                if side == 0 and last:  # "Số: …/BC-UBND"
                    bold, italic = False, False
            else:
                bold = side == 1
                italic = False
                size = Pt(12) if side == 0 else Pt(14)
                align = WD_ALIGN_PARAGRAPH.LEFT if side == 0 else WD_ALIGN_PARAGRAPH.CENTER
            _paragraph(cell, line or " ", values, align=align, bold=bold, italic=italic, size=size, space_after=Pt(0))
    document.add_paragraph()


def lines_to_docx(rendered: Rendered, path: Path, title: str) -> Path:
    """Lay out rendered lines as an A4 Word document in the style of administrative documents."""
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = BODY_SIZE
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    document.core_properties.title = safe_text(title, one_line=True)
    document.core_properties.author = "cchc-xls"
    values = rendered.values
    for line in rendered.lines:
        directive = _DIRECTIVE.match(line.strip())
        if directive:
            left, _, right = directive.group(2).partition("|")
            _two_columns(document, [s.strip() for s in left.split(";")], [s.strip() for s in right.split(";")],
                         directive.group(1), values)
        elif line.startswith("# "):
            _paragraph(document, line[2:], values, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=Pt(15), space_after=Pt(2))
        elif line.startswith("## "):
            _paragraph(document, line[3:], values, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, space_after=Pt(2))
        elif line.startswith("### "):
            _paragraph(document, line[4:], values, align=WD_ALIGN_PARAGRAPH.JUSTIFY, bold=True, first_line=Cm(1))
        elif line.startswith("- "):
            _paragraph(document, line, values, align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_line=Cm(1))
        elif line.startswith("> "):
            _paragraph(document, line[2:], values, align=WD_ALIGN_PARAGRAPH.JUSTIFY, italic=True, first_line=Cm(1))
        else:
            _paragraph(document, line, values, align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_line=Cm(1))
    return write_atomic(path, lambda partial: document.save(str(partial)))


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reports:
    out_dir: Path
    communes: tuple[Path, ...]
    summary: Path | None


def commune_report_name(unit: UnitRow, results: Results) -> str:
    period = results.period.key if results.period else "ky"
    return f"bao-cao_{unit.code}_{ascii_slug(Unit(unit.code, unit.name, unit.kind).full_name)}_{period}.docx"


def write_reports(harvest_dir: Path, out_dir: Path, unit_code: str | None = None, office: str = "") -> Reports:
    """The commune reports (one, with unit_code) and, for all, the office's summary report."""
    results = load_results(harvest_dir)
    comparison = compare(results)
    units = [u for u in results.units if u.status == "submitted"]
    if unit_code is not None:
        units = [u for u in results.units if u.code == unit_code]
        if not units:
            raise CchcError(f"Không có đơn vị mã {unit_code} trong {results.source}.")
        if units[0].status != "submitted":
            raise CchcError(f"Đơn vị mã {unit_code} chưa có phiếu được tính ({units[0].note}): chưa lập được báo cáo.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for unit in units:
            lines = render_lines("bao-cao-xa.txt.j2", commune_context(results, unit, comparison))
            written.append(lines_to_docx(lines, out_dir / commune_report_name(unit, results),
                                         f"Báo cáo tự đánh giá Chỉ số CCHC - {unit.committee}"))
        summary = None
        if unit_code is None:
            lines = render_lines("bao-cao-tong-hop.txt.j2", summary_context(results, office, comparison))
            period = results.period.key if results.period else "ky"
            summary = lines_to_docx(lines, out_dir / f"bao-cao-tong-hop_{period}.docx",
                                    "Báo cáo tổng hợp kết quả Chỉ số CCHC cấp xã")
    except OSError as exc:
        raise output_error(exc, out_dir, "báo cáo") from exc
    return Reports(out_dir, tuple(written), summary)
