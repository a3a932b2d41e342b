"""What the council wrote, made visible: the rows of tong-hop.xlsx's sheet “Tự chấm – Thẩm định”
(and of the reports' lists): per commune and criterion the council changed, the self score, the
round-1 score and comment, the commune's explanation, the round-2 score and comment.

The rows come from the same `history` harvest.json keeps (explanation_merge.history_json), so the
sheet, the JSON and the reports cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cchc_xls.explanation_merge import history_json
from cchc_xls.layout import HISTORY_COLUMNS, HISTORY_SHEET
from cchc_xls.style import FILL_HEADER, fit_row


@dataclass(frozen=True)
class Change:
    """One criterion of one commune as the appraisal left it."""

    unit_code: str
    unit: str
    code: str
    label: str
    score: Decimal | None
    round1: Decimal | None
    round1_comment: str
    reply: str
    supplement: str
    round2: Decimal | None
    round2_comment: str

    @property
    def final(self) -> Decimal | None:
        """The appraised score that counts: round 2's where the council gave one."""
        return self.round2 if self.round2 is not None else self.round1

    @property
    def changed(self) -> bool:
        """The council's score differs from the self score (in round 1 or in the end)."""
        return self.score is not None and (self.round1 is not None and self.round1 != self.score
                                           or self.final is not None and self.final != self.score)


def _number(value):
    return None if value is None else Decimal(str(value))


def changes_from_history(rubric, unit_code: str, unit: str, history: dict) -> list[Change]:
    """The history of one commune (harvest.json's `history`, JSON numbers or Decimals) as Changes,
    in rubric order."""
    order = {n.code: i for i, n in enumerate(rubric.nodes())}
    result = []
    for code in sorted(history, key=lambda c: order.get(c, len(order))):
        step = history[code]
        first, reply, second = step.get("round1") or {}, step.get("explanation") or {}, step.get("round2") or {}
        label = rubric.node(code).label if code in rubric else ""
        result.append(Change(unit_code, unit, code, label, _number((step.get("self") or {}).get("score")),
                             _number(first.get("score")), first.get("comment", ""), reply.get("text", ""),
                             reply.get("evidence", ""), _number(second.get("score")), second.get("comment", "")))
    return result


def history_rows(result) -> list[Change]:
    """Every changed criterion of every commune of a Harvest, communes in the units' order."""
    rows = []
    for outcome in result.units:
        if outcome.appraisal is None or outcome.checked is None:
            continue
        history = history_json(outcome.appraisal, outcome.checked.scores, outcome.file.path)
        rows += [c for c in changes_from_history(result.rubric, outcome.unit.code, outcome.unit.name, history)
                 if c.changed]
    return rows


def write_history_sheet(workbook, fmt, rows: list[Change], title, print_setup) -> None:
    """The sheet “Tự chấm – Thẩm định”: one row per changed criterion, filterable."""
    s = workbook.add_worksheet(HISTORY_SHEET)
    last = len(HISTORY_COLUMNS) - 1
    title(s, HISTORY_SHEET.upper(), last)
    header = fmt(bold=True, border=1, align="center", bg_color=FILL_HEADER, text_wrap=True)
    for col, column in enumerate(HISTORY_COLUMNS):
        s.write_string(3, col, column.header, header)
        s.set_column(col, col, column.width)
    text, center = fmt(border=1, text_wrap=True), fmt(border=1, align="center", num_format="0.###")
    row = 3
    for change in rows:
        row += 1
        values = {"unit_code": change.unit_code, "unit": change.unit, "code": change.code, "label": change.label,
                  "score": change.score, "round1": change.round1, "round1_comment": change.round1_comment,
                  "reply": change.reply, "supplement": change.supplement, "round2": change.round2,
                  "round2_comment": change.round2_comment, "final": change.final}
        for col, column in enumerate(HISTORY_COLUMNS):
            value = values[column.key]
            if isinstance(value, Decimal):
                s.write_number(row, col, float(value), center)
            elif value is None:
                s.write_blank(row, col, None, center)
            else:
                s.write_string(row, col, value, text)
        fit_row(s, row, [(values[c.key], c.width) for c in HISTORY_COLUMNS if isinstance(values[c.key], str)],
                line_height=15.5)
    s.autofilter(3, 0, max(row, 4), last)
    s.freeze_panes(4, 0)
    print_setup(s, 3, last, row)
