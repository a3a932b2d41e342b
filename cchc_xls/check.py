"""Judge a located Return against the rubric file (never against the workbook's own maxima).

Each rule is a small generator that yields findings; `check_return` runs them all and returns
the scores that count, exact to the last decimal, with every finding located by its cell.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from datetime import datetime, timedelta
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from cchc_xls.errors import CchcError
from cchc_xls.evidence import read_for_council
from cchc_xls.findings import Finding, make
from cchc_xls.layout import (
    BONUS_LABEL, FINAL_LABEL, GROUP_LABEL, NA_MARK, PENALTY_LABEL, RESCALED_LABEL, TOTAL_LABEL, column_letter,
    label_prefix,
)
from cchc_xls.legacy import fix_legacy_text
from cchc_xls.numbers import ZERO, format_vn, is_sane, parse_text_number, read_decimal, to_decimal
from cchc_xls.read import Return, Row, text_of
from cchc_xls.rubric import Node, Rubric
from cchc_xls.score import (
    Totals, compute_totals, final_total, leaf_contribution, not_applicable_codes, rescale, unit_band,
)
from cchc_xls.units import Period, parse_period

_THOUSANDS_LIKE = re.compile(r"^\d{1,3}[.,]\d{2}0$")
TOLERANCE = Decimal("0.0005")  # the workbook rounds a rescaled total to 3 places


@dataclass
class Checked:
    """What counts from one return, and every finding on it."""

    scores: dict[str, Decimal] = field(default_factory=dict)  # counted leaf scores
    evidence: dict[str, str] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    na: set[str] = field(default_factory=set)
    totals: Totals | None = None
    entered: int = 0  # how many scores the commune entered
    findings: list[Finding] = field(default_factory=list)
    texts: bytes = b""  # evidence and explanations packed as UTF-8 JSON once checked
    sheet: str = ""  # the table's sheet
    citations: object = ()  # array("Q"): what evidence.cross_unit_suggestions compares across communes
    evidence_column: str = ""  # the evidence column's letter, for the cells of those findings
    as_typed: dict[str, str] = field(default_factory=dict)  # an invalid score as the commune wrote it

    def pack_texts(self) -> None:
        """Keep the texts as one deflated UTF-8 blob: a twentieth of the memory of two dicts of
        str (a province's 3,321 returns hold about 120 MB of evidence as text), and a smaller
        message from the worker process; 0.1 ms a file. `text_maps()` gives them back."""
        packed = json.dumps([self.evidence, self.explanations], ensure_ascii=False).encode("utf-8")
        self.texts = zlib.compress(packed, 1)
        self.evidence, self.explanations = {}, {}

    def text_maps(self) -> tuple[dict[str, str], dict[str, str]]:
        """The evidence and explanation texts by criterion code (unpacked again when packed)."""
        if self.texts:
            evidence, explanations = json.loads(zlib.decompress(self.texts))
            return evidence, explanations
        return self.evidence, self.explanations


@dataclass(frozen=True)
class _Ctx:
    ret: Return
    rubric: Rubric
    kind: str | None

    def at(self, code: str, key: str, **params) -> dict:
        row = self.ret.rows.get(code)
        cell = self.ret.col_letter_ref(key, row.row) if row else None
        return {"file": self.ret.file, "sheet": self.ret.sheet_name, "cell": cell, "node": code, **params}


def clean_text(value) -> tuple[str, str | None]:
    """A commune's text as NFC Unicode; TCVN3/VNI-typed text converted (and the encoding named)."""
    text = text_of(value)
    fixed, encoding = fix_legacy_text(text)
    return unicodedata.normalize("NFC", fixed), encoding


def _date_text(value) -> str:
    """A date cell as the commune sees it: an Excel serial number becomes dd/mm/yyyy."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 2958466:
        day = datetime(1899, 12, 30) + timedelta(days=float(value))
        return day.strftime("%d/%m/%Y")
    return text_of(value)


def parse_score(cell, node: Node, ctx: _Ctx, findings: list) -> Decimal | None:
    """The score as a person wrote it: a number, or a number typed as text. None: not entered."""
    if cell is None or cell.value is None:
        return None
    value = cell.value
    if type(value) is float and not cell.is_date and is_sane(value):  # the usual cell: no finding to place
        return to_decimal(value)
    where = {**ctx.at(node.code, "score"), "allowed": node.allowed_text(),
             "example": format_vn(node.example_score())}
    maximum = format_vn(node.max)
    if isinstance(value, bool):
        findings.append(make("score.not_number", code=node.code, value=str(value), max=maximum, **where))
        return None
    if cell.is_date:
        findings.append(make("score.date", code=node.code, value=_date_text(value), max=maximum, **where))
        return None
    if isinstance(value, (int, float)):
        if not is_sane(value):  # 1E29, 1E308: a number, but no score; Decimal would overflow later
            findings.append(make("score.out_of_range", code=node.code, value=f"{value:g}"[:60], max=maximum, **where))
            return None
        return to_decimal(value)
    text = text_of(value)
    if not text:
        return None
    parsed = parse_text_number(text)
    if parsed is None:
        findings.append(make("score.not_number", code=node.code, value=text[:60], max=maximum, **where))
        return None
    if not is_sane(parsed):  # a 30-digit text
        findings.append(make("score.out_of_range", code=node.code, value=text[:60], max=maximum, **where))
        return None
    if _THOUSANDS_LIKE.match(text):
        findings.append(make("score.thousands_separator", value=text, parsed=format_vn(parsed), **where))
    else:
        findings.append(make("score.text_number", value=text, parsed=format_vn(parsed), **where))
    return parsed


def check_return(ret: Return, rubric: Rubric, kind: str | None) -> Checked:
    """Every rule over one return; the scores that count and the findings."""
    ctx = _Ctx(ret, rubric, kind)
    out = Checked(sheet=ret.sheet_name,
                  evidence_column=column_letter(ret.columns["evidence"] - 1) if "evidence" in ret.columns else "")
    if not ret.rows:
        return out
    out.findings.extend(_check_structure(ctx))
    out.findings.extend(_read_leaves(ctx, out))
    out.totals = compute_totals(rubric, out.scores, kind, out.na)
    out.findings.extend(_check_formulas_and_totals(ctx, out))
    out.findings.extend(_check_shown_figures(ctx, out))
    suggestions, out.citations = read_for_council(rubric, _period(ret), out.evidence, out.scores,
                                                  lambda code: ctx.at(code, "evidence"), row_of=_evidence_row(ret))
    out.findings.extend(suggestions)  # evidence read for the council (findings.COUNCIL_ONLY)
    if ret.protected is False:
        out.findings.append(make("sheet.unprotected", file=ret.file, sheet=ret.sheet_name))
    return out


def _evidence_row(ret: Return):
    """A criterion's evidence cell's row (0 when the table has no evidence column), as a function."""
    if "evidence" not in ret.columns:
        return lambda code: 0
    return lambda code: ret.rows[code].row if code in ret.rows else 0


def _period(ret: Return) -> Period | None:
    """The period the return was made for; a tampered one is reported by the harvest, not here."""
    try:
        return parse_period(ret.identity["period"]) if ret.identity.get("period") else None
    except CchcError:
        return None


def _squash_label(text) -> str:
    return " ".join(unicodedata.normalize("NFC", str(text or "")).split()).casefold()


@lru_cache(maxsize=8192)
def _squashed_expected(label: str) -> str:
    return _squash_label(label)  # a rubric's labels, the same for every return


def _same_label(found, expected: str) -> bool:
    return _squash_label(found) == _squashed_expected(expected)


def _check_structure(ctx: _Ctx):
    ret, rubric = ctx.ret, ctx.rubric
    expected_order = [n.code for n in rubric.nodes()]
    for node in rubric.nodes():
        row = ret.rows.get(node.code)
        if row is None:
            yield make("row.missing", file=ret.file, sheet=ret.sheet_name, node=node.code, code=node.code, label=node.label)
            continue
        if "label" in ret.columns and row.label is not None and not _same_label(row.label, node.label) \
                and not _same_label(clean_text(row.label)[0], node.label):  # legacy-typed text only when it differs
            yield make("row.label_changed", **ctx.at(node.code, "label"), code=node.code,
                       found=text_of(row.label)[:120], expected=node.label)
        if "max" in ret.columns:
            found = read_decimal(row.max)
            if found is None or found != node.max:
                yield make("row.max_changed", **ctx.at(node.code, "max"), code=node.code,
                           found=text_of(row.max)[:40] or "(trống)", expected=format_vn(node.max))
    for code, rows in ret.duplicates.items():
        yield make("row.duplicate", file=ret.file, sheet=ret.sheet_name, cell=ret.col_letter_ref("code", rows[1]),
                   node=code, code=code, rows=", ".join(str(r) for r in rows), first=rows[0])
    for code in ret.order:
        if code not in rubric:
            row = ret.rows[code]
            yield make("row.unknown", file=ret.file, sheet=ret.sheet_name, cell=ret.col_letter_ref("code", row.row), code=code)
    present = [c for c in ret.order if c in rubric]
    if present != [c for c in expected_order if c in ret.rows]:
        yield make("row.moved", file=ret.file, sheet=ret.sheet_name)


def _read_leaves(ctx: _Ctx, out: Checked):
    ret, rubric = ctx.ret, ctx.rubric
    kind_na = not_applicable_codes(rubric, ctx.kind) - {n.code for n in rubric.leaves() if n.may_be_na and n.applies(ctx.kind)}
    for node in rubric.leaves():
        row = ret.rows.get(node.code)
        if row is None:
            continue
        if node.self_scored and node.code not in kind_na:  # elsewhere the text is the template's own note
            yield from _read_texts(ctx, node, row, out)
        findings: list[Finding] = []
        value = parse_score(row.score, node, ctx, findings)
        if value is None and any(f.is_error for f in findings) and node.self_scored:
            out.as_typed[node.code] = _shown_text(row.score.value)[:60]  # "Đạt", a date: shown as written
        if value is not None:
            out.entered += 1 if node.self_scored else 0
        marked_na = bool(text_of(row.na)) and "na" in ret.columns
        if node.code in kind_na:
            if value is not None:
                findings.append(make("score.excluded_entered", **ctx.at(node.code, "score"), code=node.code,
                                     value=format_vn(value)))
            yield from findings
            continue
        if not node.self_scored:
            if value is not None:
                findings.append(make("score.survey_entered", **ctx.at(node.code, "score"), code=node.code,
                                     value=format_vn(value)))
            yield from findings
            continue
        if marked_na:
            if not node.may_be_na:
                if text_of(row.na).casefold() != NA_MARK.casefold() or value is not None:
                    findings.append(make("na.not_allowed", **ctx.at(node.code, "na"), code=node.code))
            else:
                out.na.add(node.code)
                if value is not None:
                    findings.append(make("na.with_score", **ctx.at(node.code, "na"), code=node.code))
                if not out.explanations.get(node.code):
                    findings.append(make("na.no_explanation", **ctx.at(node.code, "explanation"), code=node.code))
                yield from findings
                continue
        if value is None:
            if not any(f.cell == ctx.at(node.code, "score")["cell"] and f.is_error for f in findings):
                findings.append(make("score.missing", **ctx.at(node.code, "score"), code=node.code))
            yield from findings
            continue
        yield from findings
        yield from _judge_value(ctx, node, value, out)


def _read_texts(ctx: _Ctx, node: Node, row: Row, out: Checked):
    for key, target in (("evidence", out.evidence), ("explanation", out.explanations)):
        if key not in ctx.ret.columns:
            continue
        text, encoding = clean_text(getattr(row, key))
        if text:
            target[node.code] = text
        if encoding:
            yield make("text.legacy_encoding", **ctx.at(node.code, key), encoding=encoding, preview=text[:60])


def allowed_floor(node: Node, value: Decimal) -> Decimal:
    """The one rule for a score off the rubric (README, "How an invalid score counts"): it counts
    as the highest score the criterion allows that is not above what was typed; so above the
    maximum counts the maximum, below 0 counts 0, off the levels the level below, off the step
    the step below. (A cell that is not a number counts 0, like a blank.)"""
    if value <= 0:
        return ZERO
    if value >= node.max:
        return node.max
    if node.levels:
        return max((lv.points for lv in node.levels if lv.points <= value), default=ZERO)
    if node.step:
        return (value // node.step) * node.step
    return value


def counted_differs(node: Node, value: Decimal) -> bool:
    """Whether a typed score is off the rubric, so that what counts is not what was written."""
    return allowed_floor(node, value) != value or bool(node.levels and value not in {lv.points for lv in node.levels})


def _judge_value(ctx: _Ctx, node: Node, value: Decimal, out: Checked):
    shown = format_vn(value)
    counted = value
    if counted_differs(node, value):
        out.as_typed[node.code] = shown  # the council sees what was written, not the counted figure
    if value < 0:
        yield make("score.negative", **ctx.at(node.code, "score"), code=node.code, value=shown, max=format_vn(node.max))
        counted = ZERO
    elif value > node.max:
        yield make("score.above_max", **ctx.at(node.code, "score"), value=shown, max=format_vn(node.max), code=node.code)
        counted = node.max
    elif node.levels and value not in {lv.points for lv in node.levels}:
        allowed = "; ".join(format_vn(lv.points) for lv in node.levels)
        counted = allowed_floor(node, value)
        yield make("score.off_level", **ctx.at(node.code, "score"), value=shown, code=node.code, allowed=allowed,
                   counted=format_vn(counted))
    elif node.step and value % node.step != 0:
        counted = allowed_floor(node, value)
        yield make("score.off_step", **ctx.at(node.code, "score"), value=shown, step=format_vn(node.step),
                   code=node.code, counted=format_vn(counted))
    out.scores[node.code] = counted
    if node.evidence_required and counted > 0 and not out.evidence.get(node.code):
        yield make("evidence.missing", **ctx.at(node.code, "evidence"), code=node.code, value=shown)
    # a bonus or penalty item below its maximum is the normal case: no explanation asked
    if counted < node.max and not node.part and not out.explanations.get(node.code):
        yield make("explanation.missing", **ctx.at(node.code, "explanation"), code=node.code, value=shown,
                   max=format_vn(node.max))


def _file_view(ctx: _Ctx) -> tuple[Totals, dict[str, Decimal], dict[str, Decimal]]:
    """What the file's own formulas work with: numbers as typed (text ignored), its N/A marks.

    Returns the totals that follow from the leaves, the value each parent cell shows, and the
    typed leaf scores.
    """
    ret, rubric = ctx.ret, ctx.rubric
    scores, na, shown = {}, set(), {}
    for node in rubric.nodes():
        row = ret.rows.get(node.code)
        if row is None:
            continue
        cell = row.score
        numeric = cell is not None and is_sane(cell.value)  # a cached 1E308 is not computed with
        if node.is_leaf:
            if numeric:
                scores[node.code] = to_decimal(cell.value)
            if node.may_be_na and text_of(row.na):
                na.add(node.code)
        elif numeric:
            shown[node.code] = to_decimal(cell.value)
    return compute_totals(rubric, scores, ctx.kind, na), shown, scores


def _expected_cell(node: Node, ctx: _Ctx, view: Totals, shown: dict[str, Decimal], scores: dict[str, Decimal]) -> Decimal:
    """A parent's value from its children as the file shows them: each broken cell is found
    where it is, instead of its error being repeated by every total above it."""
    total = ZERO
    for child in node.children:
        if child.is_leaf:
            total += leaf_contribution(ctx.rubric, child, scores, view.not_applicable)
        else:
            total += shown.get(child.code, view.subtotals.get(child.code, ZERO))
    return total


def _check_formulas_and_totals(ctx: _Ctx, out: Checked):
    ret, rubric = ctx.ret, ctx.rubric
    view, shown, scores = _file_view(ctx)
    missing_cache = False
    if not ret.formulas_known:
        yield make("formula.unknown", file=ret.file, sheet=ret.sheet_name)
    for node in rubric.nodes():
        if node.is_leaf or node.code not in ret.rows:
            continue
        cell = ret.rows[node.code].score
        what = f"tiêu chí {node.code}"
        where = ctx.at(node.code, "score")
        if ret.formulas_known and (cell is None or cell.formula is None):
            yield make("formula.replaced", **where, what=what, value=_shown_text(cell.value) if cell else "(trống)")
        value = None if cell is None else cell.value
        if value is None:
            missing_cache = missing_cache or (cell is not None and cell.formula is not None)
            continue
        local = _expected_cell(node, ctx, view, shown, scores)
        yield from _compare(where, what, value, view.subtotals.get(node.code, ZERO), local)
    raw_from_shown = sum((shown.get(r.code, view.subtotals.get(r.code, ZERO)) if not r.is_leaf
                          else leaf_contribution(rubric, r, scores, view.not_applicable) for r in rubric.roots), ZERO)
    # The final total is compared with the parts as the file shows them, so that a typed-over
    # subtotal is reported once, at its own cell.
    shown_parts = {"base": None, "bonus": None, "penalty": None}
    for row, cell, label in ret.total_cells:
        squashed = " ".join(label.split()).casefold()
        number = cell.value if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool) else None
        if squashed.startswith(TOTAL_LABEL.casefold()):
            what, value, local = "tổng điểm", view.raw_total, raw_from_shown
            shown_parts["base"] = to_decimal(number) if number is not None else None
        elif squashed.startswith(label_prefix(RESCALED_LABEL).casefold()):
            what, value, local = "tổng điểm quy đổi", view.base_total, rescale(raw_from_shown, rubric.total, view.applicable_max)
            shown_parts["base"] = to_decimal(number) if number is not None else None
        elif rubric.bonus and squashed.startswith(label_prefix(BONUS_LABEL).casefold()):
            what, value, local = "điểm thưởng được tính", view.bonus, None
            shown_parts["bonus"] = to_decimal(number) if number is not None else None
        elif rubric.penalty and squashed.startswith(label_prefix(PENALTY_LABEL).casefold()):
            what, value, local = "điểm trừ được tính", view.penalty, None
            shown_parts["penalty"] = to_decimal(number) if number is not None else None
        elif rubric.extras() and squashed.startswith(label_prefix(FINAL_LABEL).casefold()):
            what, value = "tổng điểm sau điểm thưởng, điểm trừ", view.total
            local = final_total(*(shown if shown is not None else fallback for shown, fallback in (
                (shown_parts["base"], view.base_total), (shown_parts["bonus"], view.bonus),
                (shown_parts["penalty"], view.penalty))))
        else:
            continue
        where = {"file": ret.file, "sheet": ret.sheet_name, "cell": ret.col_letter_ref("score", row)}
        if ret.formulas_known and cell.formula is None:
            yield make("formula.replaced", **where, what=what, value=_shown_text(cell.value))
        if cell.value is None:
            missing_cache = missing_cache or cell.formula is not None
            continue
        yield from _compare(where, what, cell.value, value, local)
    if missing_cache:
        yield make("formula.missing_cache", file=ret.file, sheet=ret.sheet_name)


_TEXT_SCORE_CODES = ("score.text_number", "score.thousands_separator")
_RECOUNTED_CODES = ("score.above_max", "score.negative", "score.off_level", "score.off_step")


def _ranking_cells(ctx: _Ctx):
    """The row of the total that ranks (the final total, else the rescaled, else the plain one)
    and the row of the band, as the file shows them below the table."""
    rubric = ctx.rubric
    total = band = None
    for row, cell, label in ctx.ret.total_cells:
        squashed = " ".join(label.split()).casefold()
        if squashed.startswith(TOTAL_LABEL.casefold()) and total is None:
            total = (row, cell, "tổng điểm", "raw_total")
        elif squashed.startswith(label_prefix(RESCALED_LABEL).casefold()):
            total = (row, cell, "tổng điểm quy đổi", "base_total")
        elif rubric.extras() and squashed.startswith(label_prefix(FINAL_LABEL).casefold()):
            total = (row, cell, "tổng điểm sau điểm thưởng, điểm trừ", "total")
        elif squashed.startswith(label_prefix(GROUP_LABEL).casefold()):
            band = (row, cell)
    return total, band


def _why_counted_differs(out: Checked) -> str:
    """Why the figure that counts is not the one the sheet shows, in the commune's words."""
    text_cells = [f.cell for f in out.findings if f.code in _TEXT_SCORE_CODES and f.cell]
    recounted = [f.cell for f in out.findings if f.code in _RECOUNTED_CODES and f.cell]
    reasons = []
    if text_cells:
        reasons.append(f"{len(text_cells)} ô điểm là chữ, không phải số, nên bảng tính không cộng "
                       f"({_cell_list(text_cells)})")
    if recounted:
        reasons.append(f"{len(recounted)} ô điểm không đúng quy định được tính theo mức cho phép "
                       f"liền dưới ({_cell_list(recounted)})")
    return "; ".join(reasons) or "công thức hoặc dấu “Không áp dụng” của phiếu khác với quy định"


def _cell_list(cells: list[str]) -> str:
    return ", ".join(cells[:8]) + (", …" if len(cells) > 8 else "")


def _check_shown_figures(ctx: _Ctx, out: Checked):
    """The total and the band the sheet shows (and prints) against the ones that count: a score
    typed as text is counted by the harvest but not added by the workbook's SUM, so the signed
    page would carry another figure than the ranking. Said at the total's and the band's cell."""
    if out.totals is None:
        return
    broken = {"total.mismatch", "formula.replaced", "total.not_number"}
    if not any(f.code in _TEXT_SCORE_CODES + _RECOUNTED_CODES for f in out.findings) and any(
            f.code in broken for f in out.findings):
        return  # a formula typed over is an error already said once, at its own cell
    total, band = _ranking_cells(ctx)
    ret = ctx.ret
    reason = None
    if total is not None and is_sane(total[1].value):
        shown, counted = to_decimal(total[1].value), getattr(out.totals, total[3])
        if abs(shown - counted) > TOLERANCE:
            reason = _why_counted_differs(out)
            yield make("total.shown_differs", file=ret.file, sheet=ret.sheet_name,
                       cell=ret.col_letter_ref("score", total[0]), what=total[2], shown=format_vn(shown),
                       counted=format_vn(counted), reason=reason)
    if band is not None and ctx.rubric.bands:
        shown_band = text_of(band[1].value)
        counted_band = unit_band(ctx.rubric, out.totals.total, out.scores) if out.entered else ""
        if shown_band and counted_band and _squash(shown_band) != _squash(counted_band):
            yield make("band.shown_differs", file=ret.file, sheet=ret.sheet_name,
                       cell=ret.col_letter_ref("score", band[0]), shown=shown_band, counted=counted_band,
                       reason=reason or _why_counted_differs(out))


def _squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _shown_text(value) -> str:
    if is_sane(value):
        return format_vn(to_decimal(value))
    return text_of(value) or "(trống)"


def _compare(where: dict, what: str, shown, computed: Decimal, local: Decimal | None = None):
    """A finding when the shown value matches neither the sum of the typed leaves (`computed`) nor
    the sum of the cells just below it as the file shows them (`local`): so a typed-over subtotal
    is reported once, where it is, and not again by every total above it."""
    if not is_sane(shown):  # text, a boolean, or a cached NaN/1E308
        yield make("total.not_number", **where, what=what, shown=text_of(shown)[:40], computed=format_vn(computed))
        return
    value = to_decimal(shown)
    if abs(value - computed) > TOLERANCE and (local is None or abs(value - local) > TOLERANCE):
        yield make("total.mismatch", **where, what=what, shown=format_vn(value), computed=format_vn(computed))
