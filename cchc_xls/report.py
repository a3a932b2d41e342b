"""Word documents: each commune's report in the form of seeds 000/001, the office's summary
report and Phụ lục II as a Word table.

The documents are Word templates in templates/ (`bao-cao-xa.docx`, `bao-cao-tong-hop.docx`,
`phu-luc-ii.docx`) with Jinja2 tags, rendered by docxtpl: an office changes the wording, fonts and
layout in Word itself. This module computes the figures (from results, as they rank) and hands
the templates strings only; every value is printed as escaped plain text on one line, so nothing
a commune typed can become a paragraph, a heading or a table.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

import jinja2
from docx.oxml.ns import qn
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from cchc_xls.compare import Comparison, compare, unit_criteria_changes
from cchc_xls.errors import CchcError, output_error
from cchc_xls.explanation_sheet import changes_from_history
from cchc_xls.outputs import keep_earlier, safe_text, write_atomic
from cchc_xls.layout import RANKING_LAYOUT
from cchc_xls.numbers import ZERO, format_vn, normalize
from cchc_xls.profile import OfficeProfile, legacy_office, upper_vn
from cchc_xls.score import cut, cut_percent, submission_counts, survey_max
from cchc_xls.resources import data_dir
from cchc_xls.rank import group_colour, ranking_note, total_parts
from cchc_xls.results import Results, UnitRow, load_results, ranking_sections
from cchc_xls.units import Unit, ascii_slug

RANKING_GROUP_HEADING = RANKING_LAYOUT.texts["ranking_group_heading"]


def percent_vn(part: Decimal, whole: Decimal) -> str:
    """As seed 004 writes it: two decimals cut, not rounded (14,35/15 -> "95,66")."""
    if not whole:
        return "0"
    return format_vn(normalize(cut_percent(part, whole)))


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
    na_codes: str = ""  # the criteria under this line that do not apply to the unit


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
                              not_applicable=child.is_leaf and child.code in na,
                              na_codes=", ".join(leaf.code for leaf in child.leaves()
                                                 if leaf.code in na and not child.is_leaf)))

    for root in rubric.roots:
        # a part made of areas numbered on their own (Hải Dương's part I: areas 1-7, "Phần 3." in
        # seed 000); an area with sub-areas (Thái Nguyên's III: 3.1, 3.2) stays one area
        expanded = root.children and all(not c.is_leaf and "." not in c.code for c in root.children)
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


def commune_context(results: Results, unit: UnitRow, profile: OfficeProfile | None = None,
                    comparison: Comparison | None = None) -> dict:
    """The commune report's fields (README "Customising the reports" lists them). `comparison`:
    compare(results), computed once for many reports; computed here if not given."""
    profile = profile if profile is not None else results.profile
    comparison = comparison if comparison is not None else compare(results)
    period = results.period
    rubric = results.rubric
    has_survey = any(not leaf.self_scored for leaf in rubric.leaves())
    named = Unit(unit.code, unit.name, unit.kind, unit.cluster)
    applicable_na = [code for code in unit.not_applicable if code in {leaf.code for leaf in rubric.leaves()}]
    appraised = unit.appraisal_total is not None
    return {
        "unit": named,
        "unit_upper": upper_vn(named.full_name),
        "unit_name": named.full_name,
        "committee": unit.committee,
        "period": period,
        "period_label": period.label if period else "",
        "rubric": rubric,
        "legal_basis": rubric.legal_basis.describe(),
        "office_name": profile.office_name,
        "report_year": profile.issue_year(period),
        "date_line": profile.date_line(profile.issue_year(period), place=named.bare_name),
        "lines": commune_lines(results, unit),
        "self_total": unit.self_total,
        "rescaled": bool(applicable_na) and rubric.na_policy == "rescale",
        "total_max": rubric.total,
        "survey_note": "chưa gồm điểm điều tra xã hội học, SIPAS do tỉnh chấm" if has_survey else "",
        "appraisal_total": unit.appraisal_total,
        "appraisal_note": "" if unit.appraisal_complete else "chưa thẩm định đủ các tiêu chí",
        "group": unit.group,
        "group_basis": "theo điểm thẩm định" if appraised and results.appraised else "tạm tính theo điểm tự chấm",
        "lost": lost_points(results, unit),
        "extras": extras_lines(results, unit),
        "index_percent": percent_vn(unit.ranking_total, rubric.total)
        if rubric.index_as_percent and unit.ranking_total is not None else "",
        "rank": unit.rank,
        "ranking_group": unit.ranking_group,
        "group_note": unit.group_note,
        "comparison": comparison,
        "movement": comparison.movement(unit.code) if comparison else None,
        "moved_criteria": unit_criteria_changes(results, unit) if comparison else [],
        "ranked_count": sum(1 for u in results.units if u.rank is not None and u.ranking_group == unit.ranking_group),
        "council_changes": council_changes(results, unit),
    }


def council_changes(results: Results, unit: UnitRow) -> list[dict]:
    """The criteria the council changed (the fields of explanation_sheet.Change: self score, round 1
    and its comment, the commune's explanation and supplementary evidence, round 2 and its
    comment), in rubric order."""
    return [asdict(c) for c in changes_from_history(results.rubric, unit.code, unit.name, unit.history) if c.changed]


def explanation_round_counts(results: Results) -> dict:
    """The summary report's figures of the explanation round: explanations received (criteria and
    communes) and scores round 2 changed."""
    explained = [(u, code) for u in results.units for code, step in u.history.items() if step.get("explanation")]
    changed = [(u, code) for u in results.units for code, step in u.history.items()
               if (step.get("round2") or {}).get("score") is not None
               and step["round2"]["score"] != (step.get("round1") or {}).get("score")]
    return {"explanations": len(explained), "explaining_units": len({u.code for u, _ in explained}),
            "round2_changed": len(changed), "round2_units": len({u.code for u, _ in changed})}


def extras_lines(results: Results, unit: UnitRow) -> list[dict]:
    """The base total, the bonus and the penalty that count, each with its non-zero items, for
    the report's “Điểm thưởng, điểm trừ” part ([] when the rubric has neither)."""
    rubric = results.rubric
    if not rubric.extras():
        return []
    lines = [{"label": "Tổng điểm các lĩnh vực", "score": unit.self_base_total, "appraised": unit.appraisal_base_total,
              "max": None, "details": "", "items": []}]
    for extra in rubric.extras():
        bonus = extra.part == "bonus"
        items = [{"code": i.code, "label": i.label, "score": unit.scores.get(i.code, ZERO),
                  "appraised": unit.appraisal.get(i.code) if unit.appraisal_complete else None}
                 for i in extra.items if unit.scores.get(i.code, ZERO) or (unit.appraisal_complete and unit.appraisal.get(i.code))]
        details = "; ".join(f"{i['code']}. {i['label']}: {format_vn(i['score'])} điểm"
                            + (f" (thẩm định: {format_vn(i['appraised'])})" if i["appraised"] is not None else "")
                            for i in items)
        lines.append({"label": "Điểm thưởng được tính" if bonus else "Điểm trừ được tính", "max": extra.max,
                      "score": unit.self_bonus if bonus else unit.self_penalty,
                      "appraised": unit.appraisal_bonus if bonus else unit.appraisal_penalty, "details": details,
                      "items": items})
    return lines


def report_areas(rubric) -> list:
    """The areas as the reports name them: the top level, or the areas of a part made of areas
    numbered on their own (Hải Dương's part I); never sub-areas such as Thái Nguyên's 3.1."""
    result = []
    for root in rubric.roots:
        if root.children and all(not c.is_leaf and "." not in c.code for c in root.children):
            result.extend(root.children)
        else:
            result.append(root)
    return result


def summary_context(results: Results, profile: OfficeProfile | None = None,
                    comparison: Comparison | None = None) -> dict:
    """The summary report's fields (README "Customising the reports" lists them)."""
    profile = profile if profile is not None else results.profile
    comparison = comparison if comparison is not None else compare(results)
    rubric = results.rubric
    submitted = [u for u in results.units if u.status == "submitted"]
    final = results.appraised
    totals = [(u.ranking_total or ZERO, u) for u in submitted]
    # the one count (score.submission_counts) the CLI, harvest.json and tong-hop.xlsx say too
    count = submission_counts((u.status for u in results.units), (f.get("status") for f in results.files))
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
        average = cut(sum((t for t, _ in totals), ZERO) / len(totals))
    def score_of(unit: UnitRow, code: str) -> Decimal:
        """The appraised score once the ranking is final, else the self score."""
        return (unit.appraisal if final else unit.scores).get(code, ZERO)

    areas = []
    for area in report_areas(rubric):
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
                        "average": cut(mean), "percent": percent_vn(mean, leaf.max),
                        "below": sum(1 for s in scores if s < leaf.max), "ratio": mean / leaf.max})
    weakest = [w for w in sorted(weakest, key=lambda w: (w["ratio"], w["code"])) if w["ratio"] < 1][:10]
    sections = []  # each ranking group's own distribution; one section without a name otherwise
    for name in (rubric.ranking_group_names() if rubric.ranking_groups else [None]):
        members = [u for u in submitted if name is None or u.ranking_group == name]
        sections.append({"name": name, "count": len(members), "bands": [
            {"name": band.name, "count": sum(1 for u in members if u.group == band.name),
             "percent": percent_vn(Decimal(sum(1 for u in members if u.group == band.name)), Decimal(len(members)))
             if members else "0"} for band in rubric.bands]})
    if rubric.index_as_percent and best:
        best["percent"] = percent_vn(best["total"], rubric.total)
        worst["percent"] = percent_vn(worst["total"], rubric.total)
    period = results.period
    return {
        **office_fields(profile, period),
        "period": period, "period_label": period.label if period else "", "rubric": rubric,
        "legal_basis": rubric.legal_basis.describe(), "final": final, "sections": sections,
        "report_year": profile.issue_year(period), "count": count, "bands": bands, "best": best, "worst": worst,
        "average": average, "areas": [{k: v for k, v in a.items() if k != "ratio"} for a in areas],
        "threshold": format_vn(WEAK_AREA_PERCENT),
        "weak_areas": [{k: v for k, v in a.items() if k != "ratio"} for a in areas
                       if a["ratio"] * 100 < WEAK_AREA_PERCENT],
        "weakest": [{k: v for k, v in w.items() if k != "ratio"} for w in weakest],
        "ranking": ranking_rows(results),
        "comparison": comparison,
        "missing": ", ".join(u.committee for u in results.units if u.status == "missing"),
        "rejected": "; ".join(f"{u.committee} ({u.note.rstrip('.')})" for u in results.units if u.status == "rejected"),
        "explanation_round": explanation_round_counts(results),
    }


# Word documents from the templates in templates/ (docxtpl: Jinja2 tags inside .docx files)

WEAK_AREA_PERCENT = Decimal(80)  # an area is weak below this average share of its maximum
TEMPLATE_COMMUNE = "bao-cao-xa.docx"
TEMPLATE_SUMMARY = "bao-cao-tong-hop.docx"
TEMPLATE_RANKING = "phu-luc-ii.docx"


def plain_text(value) -> str:
    """What a template prints: one line of text, whatever a commune typed. Line breaks, tabs and
    form feeds become a space and other controls U+FFFD (outputs.safe_text), so docxtpl never
    turns them into a line break, a paragraph (\\a) or a page break; autoescape then makes
    `<w:p>` mere characters, so a value can never add a paragraph, a table or a heading."""
    if value is None:
        return ""
    return safe_text(unicodedata.normalize("NFC", str(value)), one_line=True)


def _finalize(value):
    if hasattr(value, "__html__"):  # an InlineImage or markup the tool itself made
        return value
    return plain_text(value)


def _word_env() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, finalize=_finalize)
    env.filters["vn"] = lambda value: format_vn(value) if isinstance(value, (Decimal, int)) else value
    return env


def for_word(value):
    """Figures as Vietnamese documents write them (decimal comma); lists, dicts and the report's
    dataclasses walked through, so a template prints strings only."""
    if isinstance(value, Decimal):
        return format_vn(value)
    if isinstance(value, dict):
        return {k: for_word(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [for_word(v) for v in value]
    if isinstance(value, Line):
        return for_word(asdict(value))
    return value


def template_path(name: str, templates_dir: Path | None = None) -> Path:
    """An office's own copy of a template (in `templates_dir`) when it has one, else the bundled one."""
    if templates_dir is not None and (Path(templates_dir) / name).is_file():
        return Path(templates_dir) / name
    return data_dir("templates") / name


def render_docx(template: Path, context: dict, path: Path, images: dict | None = None) -> Path:
    """Render a .docx template with `context` (figures formatted, every value escaped plain
    text) into `path`, whole or not at all. `images`: field -> PNG bytes, inserted as pictures."""
    try:
        document = DocxTemplate(str(template))
        values = for_word(context)
        for key, data in (images or {}).items():
            values[key] = InlineImage(document, io.BytesIO(data), width=Mm(150)) if data else ""
        document.render(values, _word_env(), autoescape=True)
        for table in document.docx.element.body.iter(qn("w:tbl")):
            fit_table_grid(table)
    except (jinja2.TemplateError, ValueError, KeyError, zipfile.BadZipFile, OSError) as exc:
        raise CchcError.of("report.template_failed", path=str(template), reason=str(exc)) from exc
    return write_atomic(path, lambda partial: document.save(str(partial)))


def _cell_width(tc) -> int | None:
    """A table cell's width in twips (w:tcW), None when it has none."""
    width = tc.find(f"{qn('w:tcPr')}/{qn('w:tcW')}")
    value = width.get(qn("w:w")) if width is not None else None
    return int(value) if value is not None and value.isdigit() else None


def _cell_span(tc) -> int:
    span = tc.find(f"{qn('w:tcPr')}/{qn('w:gridSpan')}")
    value = span.get(qn("w:val")) if span is not None else None
    return int(value) if value is not None and value.isdigit() else 1


def fit_table_grid(table) -> None:
    """Give a rendered table whose columns a `{%tc for %}` loop multiplied the widths its cells
    carry: docxtpl spreads the template's grid evenly over the new columns, so the grid is set
    from the cells of a row with one cell per column, the last column takes what is left of (or
    gives back to) the table's width, and every cell's width follows the grid. A table whose
    grid already matches its cells (every table without a column loop) is left as it is."""
    grid = table.find(qn("w:tblGrid"))
    columns = grid.findall(qn("w:gridCol")) if grid is not None else []
    before = [int(c.get(qn("w:w"), "0")) for c in columns]
    rows = [[(tc, _cell_span(tc)) for tc in tr.findall(qn("w:tc"))] for tr in table.findall(qn("w:tr"))]
    plain = [row for row in rows if len(row) == len(columns) and all(span == 1 for _, span in row)]
    if not plain:
        return
    widths = [_cell_width(tc) for tc, _ in plain[-1]]
    if None in widths or widths == before:
        return
    widths[-1] = max(widths[-1] + sum(before) - sum(widths), 567)  # never under 1 cm
    for column, width in zip(columns, widths):
        column.set(qn("w:w"), str(width))
    for row in rows:
        position = 0
        for tc, span in row:
            width = tc.find(f"{qn('w:tcPr')}/{qn('w:tcW')}")
            if width is not None:
                width.set(qn("w:w"), str(sum(widths[position:position + span])))
                width.set(qn("w:type"), "dxa")
            position += span


def band_chart(results: Results) -> bytes | None:
    """A PNG of how many ranked units are in each band, each band in its own colour (the
    workbook's, rank.group_colour, legible in grey); with ranking groups, one block of bars per
    group, side by side, its name under it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.figure import Figure

    sections = [(name, [u for u in units if u.rank is not None]) for name, units in ranking_sections(results)]
    sections = [(name, units) for name, units in sections if units]
    if not sections:
        return None
    bands = [b.name for b in results.rubric.bands]
    colours = [group_colour(results, band) for band in bands]
    figure = Figure(figsize=(7.5, 3.6), dpi=150)
    axes = figure.add_subplot()
    ticks, labels, highest = [], [], 1
    upright = len(sections) * len(bands) <= 12  # more band names than that are slanted to fit
    for index, (name, units) in enumerate(sections):
        start = index * (len(bands) + 1)  # a gap of one bar between the blocks
        xs = [start + i for i in range(len(bands))]
        counts = [sum(1 for u in units if u.group == band) for band in bands]
        bars = axes.bar(xs, counts, 0.8, color=colours, edgecolor="black", linewidth=0.6)
        axes.bar_label(bars, padding=2, fontsize=9)
        ticks += xs
        labels += bands
        highest = max(highest, *counts)
        if len(sections) > 1:
            axes.text(start + (len(bands) - 1) / 2, -0.13 if upright else -0.22, name, transform=axes.get_xaxis_transform(),
                      ha="center", va="top", fontsize=9, fontweight="bold")
    axes.set_xticks(ticks, labels, fontsize=9 if len(sections) == 1 else 8, rotation=0 if upright else 30)
    axes.set_ylabel("Số đơn vị")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylim(0, highest * 1.2)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close("all")
    return buffer.getvalue()


def ranking_rows(results: Results) -> list[dict]:
    """Phụ lục II's rows as the Word documents show them: the final totals that rank (bonus and
    penalty included), a heading row before each ranking group when the rubric has them; and,
    when the rubric has bonus or penalty points, each total's parts as phu-luc-ii.xlsx shows them
    (`self_parts`, `appraisal_parts`, in the order of rank.total_parts; [] otherwise)."""
    parts = [attribute for _, attribute, _ in total_parts(results.rubric)]
    rows = []
    for name, units in ranking_sections(results):
        if name is not None:
            rows.append({"number": "", "unit": f"{RANKING_GROUP_HEADING} {name.upper()}", "self_total": "",
                         "appraisal_total": "", "rank": "", "group": "", "note": "",
                         "self_parts": [""] * len(parts), "appraisal_parts": [""] * len(parts)})
        for number, unit in enumerate(units, start=1):
            rows.append({"number": number, "unit": unit.committee, "self_total": unit.self_total,
                         "appraisal_total": unit.appraisal_total, "rank": unit.rank or "", "group": unit.group or "",
                         "note": ranking_note(results, unit),
                         "self_parts": [getattr(unit, f"self_{part}") for part in parts],
                         "appraisal_parts": [getattr(unit, f"appraisal_{part}") for part in parts]})
    return rows


def office_fields(profile: OfficeProfile, period) -> dict:
    """The office's header, number, date and signature fields, the same in every document."""
    issuer, office = profile.header_lines()
    return {"issuer_upper": issuer, "office_upper": office, "issuer_name": profile.issuer_name,
            "office_name": profile.office_name, "number_line": profile.number_line("BC"),
            "abbreviation": profile.abbreviation, "signer_upper": upper_vn(profile.title),
            "signer_name": profile.name_line, "date_line": profile.date_line(profile.issue_year(period)),
            "issuing_line": profile.issuing_line(profile.issue_year(period))}


def write_phu_luc_ii_docx(results: Results, path: Path, profile: OfficeProfile | None = None,
                          templates_dir: Path | None = None) -> Path:
    """Phụ lục II as a Word document (beside phu-luc-ii.xlsx), with the same figures."""
    profile = profile if profile is not None else results.profile
    period = results.period
    survey = [leaf for leaf in results.rubric.leaves() if not leaf.self_scored]
    footnote = RANKING_LAYOUT.texts["survey_note"].format(  # the workbook's note under its table
        codes=", ".join(leaf.code for leaf in survey), max=format_vn(survey_max(results.rubric))) if survey else ""
    part_headers = [header for header, _, _ in total_parts(results.rubric)]
    context = {**office_fields(profile, period), "rows": ranking_rows(results),
               "part_headers": part_headers, "part_span": len(part_headers),
               "period_upper": upper_vn(period.label) if period else "",
               "provisional": "" if results.appraised else RANKING_LAYOUT.texts["provisional"], "footnote": footnote}
    return render_docx(template_path(TEMPLATE_RANKING, templates_dir), context, path)




# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reports:
    out_dir: Path
    communes: tuple[Path, ...]
    summary: Path | None


def commune_report_name(unit: UnitRow, results: Results) -> str:
    period = results.period.key if results.period else "ky"
    return f"bao-cao_{unit.code}_{ascii_slug(Unit(unit.code, unit.name, unit.kind).full_name)}_{period}.docx"


def write_reports(harvest_dir: Path, out_dir: Path, unit_code: str | None = None, office: str = "",
                  profile: OfficeProfile | None = None, templates_dir: Path | None = None) -> Reports:
    """The commune reports (one, with unit_code) and, for all, the office's summary report.

    The office profile is the one the harvest kept, with `profile`'s keys over it; `office` is the
    option as it was before profiles (an issuing UBND or an office name, see legacy_office)."""
    results = load_results(harvest_dir)
    comparison = compare(results)
    profile = results.profile.merged(legacy_office(office)).merged(profile or OfficeProfile())
    units = [u for u in results.units if u.status == "submitted"]
    if unit_code is not None:
        units = [u for u in results.units if u.code == unit_code]
        if not units:
            raise CchcError.of("report.unknown_unit", code=unit_code, source=results.source)
        if units[0].status != "submitted":
            raise CchcError.of("report.unit_not_counted", code=unit_code, note=units[0].note)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        keep_earlier(out_dir, sorted(p.name for p in out_dir.glob("bao-cao*.docx")))  # never lost silently
        template = template_path(TEMPLATE_COMMUNE, templates_dir)
        written = [render_docx(template, commune_context(results, unit, profile, comparison), out_dir / commune_report_name(unit, results))
                   for unit in units]
        summary = None
        if unit_code is None:
            period = results.period.key if results.period else "ky"
            summary = render_docx(template_path(TEMPLATE_SUMMARY, templates_dir), summary_context(results, profile, comparison),
                                  out_dir / f"bao-cao-tong-hop_{period}.docx", images={"chart": band_chart(results)})
    except OSError as exc:
        raise output_error(exc, out_dir, "báo cáo") from exc
    return Reports(out_dir, tuple(written), summary)
