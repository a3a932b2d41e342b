"""This year beside last year: a harvest compared with an earlier one.

`cchc harvest … --previous LAST_HARVEST_DIR [--previous-map FILE]` reads the earlier harvest's
harvest.json (`load_previous`) and stores, per unit, the previous total, band (Xếp loại), rank,
criterion scores and the change (`previous_json`, the documented `previous` keys of harvest.json).
`cchc rank` and `cchc report` then read it from the harvest (`compare`): the Phụ lục II sheet
"So với năm trước", the units that rose and fell most, the criteria where the district lost most,
and each commune's own movement. Every figure is computed here; writers only lay them out.

Units are matched by code. A mapping file (CSV `old,new`) follows the units merged or renamed
since (the 2025 reform): one old code to one new code is a rename; several to one, a merger
(compared with nothing, listed). A unit not in the earlier harvest is "mới"; an earlier unit not in
this one is "không còn". Criteria are matched by code, with a note where the rubric changed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from cchc_xls.errors import CchcError
from cchc_xls.numbers import ZERO, format_vn, to_decimal, to_json_number
from cchc_xls.results import Results, UnitRow, load_results
from cchc_xls.rubric import Rubric

STATUS_MATCHED, STATUS_NEW, STATUS_MERGED = "matched", "new", "merged"
STATUS_LABEL = {STATUS_MATCHED: "", STATUS_NEW: "mới", STATUS_MERGED: "sáp nhập"}
GONE_LABEL = "không còn"
TOP = 5  # how many units rose or fell most, and criteria lost most, the summary names


class PreviousError(CchcError):
    """The earlier harvest or the mapping file cannot be used."""


@dataclass(frozen=True)
class Previous:
    """The earlier harvest, keyed by this year's unit codes."""

    source: Path
    results: Results
    by_code: dict[str, UnitRow]  # this year's code -> the earlier unit (renames followed)
    merged: dict[str, tuple[UnitRow, ...]]  # this year's code -> the earlier units merged into it
    mapping_file: Path | None = None

    @property
    def final(self) -> bool:
        return self.results.appraised


def read_mapping(path: Path) -> dict[str, list[str]]:
    """The mapping file: CSV `old,new` (a header row is optional), UTF-8 with or without BOM."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PreviousError.of("previous.map_unreadable", path=path, reason=exc.strerror or exc) from exc
    mapping: dict[str, list[str]] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise PreviousError.of("previous.map_bad_row", path=path, row=number)
        if number == 1 and cells[0].lower() in ("old", "mã cũ", "ma cu"):
            continue
        mapping.setdefault(cells[0], []).append(cells[1])
    return mapping


def load_previous(harvest_dir: Path, mapping_file: Path | None = None) -> Previous:
    """The earlier harvest (DIR/harvest.json and its rubric copy), with the mapping applied."""
    results = load_results(Path(harvest_dir))
    mapping = read_mapping(mapping_file) if mapping_file else {}
    sources: dict[str, list[UnitRow]] = {}
    for unit in results.units:
        targets = mapping.get(unit.code) or [unit.code]
        for target in targets:
            sources.setdefault(target, []).append(unit)
    by_code = {code: units[0] for code, units in sources.items() if len(units) == 1}
    merged = {code: tuple(units) for code, units in sources.items() if len(units) > 1}
    return Previous(Path(harvest_dir), results, by_code, merged, Path(mapping_file) if mapping_file else None)


# ---------------------------------------------------------------------------------------------
# The figures compared


def _counted_scores(scores: dict, appraisal: dict, final: bool) -> dict[str, Decimal]:
    """The scores the ranking counts: the council's once final, else the commune's own."""
    return dict(appraisal) if final else dict(scores)


def band_change(before: str | None, after: str | None) -> str:
    """“Khá → Tốt”, or "" when the band did not change or one side has none."""
    return f"{before} → {after}" if before and after and before != after else ""


def rank_arrow(change: int | None) -> str:
    """▲ for a unit that rose (a smaller rank number), ▼ for one that fell, = for the same."""
    if change is None:
        return ""
    return f"▲ {change}" if change > 0 else f"▼ {-change}" if change < 0 else "="


def _rubric_notes(current: Rubric, previous: Rubric) -> dict[str, str]:
    """Per criterion code in both rubrics whose content changed, what changed; codes in one only."""
    notes = {}
    old = {n.code: n for n in previous.leaves()}
    new = {n.code: n for n in current.leaves()}
    for code, node in new.items():
        before = old.get(code)
        if before is None:
            notes[code] = "tiêu chí mới, năm trước không có"
        elif before.max != node.max:
            notes[code] = f"điểm tối đa đổi từ {format_vn(before.max)} thành {format_vn(node.max)}"
        elif " ".join(before.label.split()).casefold() != " ".join(node.label.split()).casefold():
            notes[code] = "nội dung tiêu chí đã thay đổi"
    for code in old:
        if code not in new:
            notes[code] = "tiêu chí năm trước, năm nay không còn"
    return notes


def _unit_entry(code: str, total, rank, band, scores: dict, previous: Previous) -> dict:
    """One unit's `previous` key in harvest.json."""
    if code in previous.merged:
        olds = previous.merged[code]
        return {"status": STATUS_MERGED, "codes": [u.code for u in olds], "names": [u.name for u in olds]}
    before = previous.by_code.get(code)
    if before is None:
        return {"status": STATUS_NEW}
    before_scores = _counted_scores(before.scores, before.appraisal, previous.final)
    before_total = before.ranking_total
    criteria = {}
    for leaf, value in scores.items():
        if leaf in before_scores and value is not None:
            criteria[leaf] = {"previous": to_json_number(before_scores[leaf]),
                              "change": to_json_number(value - before_scores[leaf])}
    return {
        "status": STATUS_MATCHED,
        "code": before.code,
        "name": before.name,
        "total": to_json_number(before_total),
        "rank": before.rank,
        "band": before.group,
        "total_change": to_json_number(total - before_total) if total is not None and before_total is not None else None,
        "rank_change": before.rank - rank if rank is not None and before.rank is not None else None,
        "band_change": band_change(before.group, band),
        "criteria": criteria,
    }


def previous_json(previous: Previous, harvest) -> dict:
    """The `previous` keys for a Harvest: {"head": head key, "units": {code: unit key}}."""
    final = harvest.appraised
    current_codes = {outcome.unit.code for outcome in harvest.units}
    units = {}
    for outcome in harvest.units:
        scores = {}
        if outcome.checked is not None:
            appraisal = outcome.appraisal.scores if outcome.appraisal else {}
            scores = _counted_scores(outcome.checked.scores, appraisal, final)
        units[outcome.unit.code] = _unit_entry(outcome.unit.code, outcome.ranking_total, outcome.rank, outcome.group,
                                               scores, previous)
    return {"head": _head(previous, harvest.rubric, current_codes), "units": units}


def _head(previous: Previous, rubric: Rubric, current_codes: set[str]) -> dict:
    results = previous.results
    followed = {u.code for code, u in previous.by_code.items() if code in current_codes}
    followed |= {u.code for code, olds in previous.merged.items() if code in current_codes for u in olds}
    gone = [{"code": u.code, "name": u.name, "total": to_json_number(u.ranking_total), "rank": u.rank, "band": u.group}
            for u in results.units if u.code not in followed]
    return {
        "source": str(previous.source),
        "period": results.period.key if results.period else None,
        "period_label": results.period.label if results.period else "",
        "rubric": results.rubric.id,
        "rubric_hash": results.rubric.content_hash,
        "appraised": results.appraised,
        "mapping_file": str(previous.mapping_file) if previous.mapping_file else None,
        "gone": gone,
        "rubric_changes": _rubric_notes(rubric, results.rubric) if results.rubric.content_hash != rubric.content_hash else {},
    }


# ---------------------------------------------------------------------------------------------
# What rank and report show, from the harvest (harvest.json)


@dataclass(frozen=True)
class Movement:
    """One unit this year beside last year."""

    code: str
    name: str
    status: str  # matched | new | merged
    total: Decimal | None
    previous_total: Decimal | None = None
    rank: int | None = None
    previous_rank: int | None = None
    band: str | None = None
    previous_band: str | None = None
    note: str = ""

    @property
    def change(self) -> Decimal | None:
        if self.total is None or self.previous_total is None:
            return None
        return self.total - self.previous_total

    @property
    def rank_change(self) -> int | None:
        """Positive: the unit rose (its rank number fell)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    @property
    def arrow(self) -> str:
        return rank_arrow(self.rank_change)

    @property
    def band_change(self) -> str:
        return band_change(self.previous_band, self.band)

    @property
    def status_label(self) -> str:
        return STATUS_LABEL[self.status]


@dataclass(frozen=True)
class CriterionChange:
    code: str
    label: str
    average: Decimal  # mean change over the units compared
    units: int
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """Everything the comparison sheet and the reports say about this year beside last year."""

    previous_label: str  # "năm 2023"
    previous_final: bool
    final: bool
    rows: tuple[Movement, ...]
    gone: tuple[dict, ...] = ()
    criteria: tuple[CriterionChange, ...] = ()  # every criterion compared, the most lost first
    rubric_changes: dict[str, str] = field(default_factory=dict)

    def movement(self, code: str) -> Movement | None:
        return next((row for row in self.rows if row.code == code), None)

    @property
    def risers(self) -> list[Movement]:
        """The units whose total rose most (largest first)."""
        rose = [r for r in self.rows if r.change is not None and r.change > 0]
        return sorted(rose, key=lambda r: (-r.change, r.name))[:TOP]

    @property
    def fallers(self) -> list[Movement]:
        fell = [r for r in self.rows if r.change is not None and r.change < 0]
        return sorted(fell, key=lambda r: (r.change, r.name))[:TOP]

    @property
    def lost(self) -> list[CriterionChange]:
        """The criteria where the district lost most on average (only those that lost)."""
        return [c for c in self.criteria if c.average < 0][:TOP]

    @property
    def new(self) -> list[Movement]:
        return [r for r in self.rows if r.status != STATUS_MATCHED]


def compare(results: Results) -> Comparison | None:
    """The comparison stored by `cchc harvest --previous`, with this harvest's current figures."""
    head = results.previous
    if not head:
        return None
    rows = []
    sums: dict[str, list[Decimal]] = {}
    for unit in results.units:
        entry = unit.previous or {}
        status = entry.get("status", STATUS_NEW)
        note = ""
        if status == STATUS_MERGED:
            note = "sáp nhập từ " + ", ".join(entry.get("names") or entry.get("codes") or [])
        elif status == STATUS_NEW:
            note = "đơn vị mới, năm trước không có"
        if unit.status != "submitted":
            note = "; ".join(filter(None, [note, "năm nay chưa có điểm"]))
        previous_total = entry.get("total")
        rows.append(Movement(
            code=unit.code, name=unit.name, status=status, total=unit.ranking_total,
            previous_total=None if previous_total is None else to_decimal(previous_total),
            rank=unit.rank, previous_rank=entry.get("rank"), band=unit.group, previous_band=entry.get("band"),
            note=note,
        ))
        if status == STATUS_MATCHED and unit.status == "submitted":
            current = _counted_scores(unit.scores, unit.appraisal, results.appraised)
            for code, item in (entry.get("criteria") or {}).items():
                before = item.get("previous")
                if before is not None and current.get(code) is not None:
                    sums.setdefault(code, []).append(current[code] - to_decimal(before))
    notes = dict(head.get("rubric_changes") or {})
    criteria = []
    for node in results.rubric.leaves():
        changes = sums.get(node.code)
        if changes:
            average = sum(changes, ZERO) / len(changes)
            criteria.append(CriterionChange(node.code, node.label, average.quantize(Decimal("0.001")), len(changes),
                                            notes.get(node.code, "")))
    criteria.sort(key=lambda c: (c.average, c.code))
    return Comparison(
        previous_label=head.get("period_label") or str(head.get("period") or ""),
        previous_final=bool(head.get("appraised")), final=results.appraised, rows=tuple(rows),
        gone=tuple(head.get("gone") or ()), criteria=tuple(criteria), rubric_changes=notes,
    )


# ---------------------------------------------------------------------------------------------
# Phụ lục II's sheet "So với năm trước"

COMPARISON_SHEET = "So với năm trước"
COMPARISON_HEADERS = ("Số TT", "Đơn vị cấp xã", "Năm nay", "Năm trước", "Tăng, giảm", "Xếp hạng năm nay",
                      "Xếp hạng năm trước", "Thay đổi thứ hạng", "Xếp loại năm nay", "Xếp loại năm trước",
                      "Thay đổi xếp loại", "Ghi chú")
_WIDTHS = (6, 30, 10, 10, 10, 10, 10, 11, 12, 12, 18, 28)


def _text(sheet, row: int, col: int, value: str | None, fmt) -> None:
    if value:
        sheet.write_string(row, col, value, fmt)
    else:
        sheet.write_blank(row, col, None, fmt)


def write_comparison_sheet(workbook, fmt, comparison: Comparison, period_label: str) -> None:
    """The sheet: one row per unit (this year's ranking order), the units no longer there, a chart.

    Totals are numbers (the office may sort or chart them); the rank change is text with ▲/▼.
    """
    from cchc_xls.style import FILL_HEADER, SCORE_FORMAT, SIGNED_SCORE_FORMAT, write_number_or_blank

    s = workbook.add_worksheet(COMPARISON_SHEET)
    last = len(COMPARISON_HEADERS) - 1
    for col, width in enumerate(_WIDTHS):
        s.set_column(col, col, width)
    s.merge_range(0, 0, 0, last, f"KẾT QUẢ CHỈ SỐ CCHC CẤP XÃ {period_label.upper()} SO VỚI {comparison.previous_label.upper()}",
                  fmt(bold=True, align="center", font_size=14))
    basis = []
    if not comparison.final:
        basis.append("năm nay tạm tính theo điểm tự chấm")
    if not comparison.previous_final:
        basis.append("năm trước theo điểm tự chấm (chưa thẩm định)")
    s.merge_range(1, 0, 1, last, "(" + "; ".join(basis) + ")" if basis else "(theo điểm thẩm định của cả hai năm)",
                  fmt(italic=True, align="center"))
    head = fmt(bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color=FILL_HEADER)
    for col, text in enumerate(COMPARISON_HEADERS):
        s.write_string(3, col, text, head)
    s.set_row(3, 48)
    number = fmt(border=1, align="center", num_format=SCORE_FORMAT)
    signed = fmt(border=1, align="center", num_format=SIGNED_SCORE_FORMAT)
    center = fmt(border=1, align="center")
    text = fmt(border=1, text_wrap=True)
    up, down = fmt(border=1, align="center", font_color="#00703C"), fmt(border=1, align="center", font_color="#C00000")
    order = sorted(comparison.rows, key=lambda r: (r.rank is None, r.rank or 0, r.name))
    row = 3
    for number_in_list, unit in enumerate(order, start=1):
        row += 1
        s.write_number(row, 0, number_in_list, center)
        s.write_string(row, 1, unit.name, text)
        write_number_or_blank(s, row, 2, unit.total, number)
        write_number_or_blank(s, row, 3, unit.previous_total, number)
        write_number_or_blank(s, row, 4, unit.change, signed)
        write_number_or_blank(s, row, 5, unit.rank, center)
        write_number_or_blank(s, row, 6, unit.previous_rank, center)
        change = unit.rank_change
        _text(s, row, 7, unit.arrow, up if change and change > 0 else down if change and change < 0 else center)
        _text(s, row, 8, unit.band, center)
        _text(s, row, 9, unit.previous_band, center)
        _text(s, row, 10, unit.band_change, center)
        _text(s, row, 11, unit.note, text)
    first_data, last_data = 4, row
    for gone in comparison.gone:
        row += 1
        s.write_string(row, 0, "", center)
        s.write_string(row, 1, gone.get("name") or gone.get("code") or "", text)
        s.write_blank(row, 2, None, center)
        write_number_or_blank(s, row, 3, None if gone.get("total") is None else to_decimal(gone["total"]), number)
        s.write_blank(row, 4, None, center)
        s.write_blank(row, 5, None, center)
        write_number_or_blank(s, row, 6, gone.get("rank"), center)
        for col in (7, 8):
            s.write_blank(row, col, None, center)
        _text(s, row, 9, gone.get("band"), center)
        s.write_blank(row, 10, None, center)
        s.write_string(row, 11, f"{GONE_LABEL} (mã {gone.get('code')})", text)
    s.freeze_panes(4, 2)
    s.repeat_rows(3)
    s.set_landscape()
    s.set_paper(9)
    s.fit_to_pages(1, 0)
    if last_data >= first_data:
        chart = workbook.add_chart({"type": "bar"})
        for col, name, colour in ((2, "Năm nay", "#2E75B6"), (3, "Năm trước", "#BFBFBF")):
            chart.add_series({"name": [COMPARISON_SHEET, 3, col], "categories": [COMPARISON_SHEET, first_data, 1, last_data, 1],
                              "values": [COMPARISON_SHEET, first_data, col, last_data, col],
                              "fill": {"color": colour}, "gap": 60})
        chart.set_title({"name": f"Tổng điểm {period_label} so với {comparison.previous_label}",
                         "name_font": {"name": "Times New Roman", "size": 12}})
        chart.set_y_axis({"reverse": True, "num_font": {"name": "Times New Roman", "size": 10}})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 720, "height": max(320, 22 * (last_data - first_data + 1) + 120)})
        s.insert_chart(row + 2, 1, chart)


def unit_criteria_changes(results: Results, unit: UnitRow, top: int = TOP) -> list[CriterionChange]:
    """One commune's criteria that lost most since last year (its counted scores), most lost first."""
    current = _counted_scores(unit.scores, unit.appraisal, results.appraised)
    notes = dict(results.previous.get("rubric_changes") or {})
    changes = []
    for code, item in ((unit.previous or {}).get("criteria") or {}).items():
        before = item.get("previous")
        if before is None or current.get(code) is None or code not in results.rubric:
            continue
        change = current[code] - to_decimal(before)
        if change < 0:
            changes.append(CriterionChange(code, results.rubric.node(code).label, change, 1, notes.get(code, "")))
    return sorted(changes, key=lambda c: (c.average, c.code))[:top]
