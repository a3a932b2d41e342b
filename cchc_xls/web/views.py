"""What the pages show, shaped from the library's results: the communes' table, one commune's
tree of scores, the ranking chart and the heat map. Numbers stay Decimal until drawn."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cchc_xls.web.library import (
    RANKING_GROUP_HEADING, SEVERITY_LABEL, SEVERITY_ORDER, Results, UnitRow, area_share, format_vn,
    not_applicable_codes, ranking_sections,
)

STATUS_LABEL = {"submitted": "Đã nhận, được tính", "rejected": "Bị từ chối", "missing": "Chưa nộp"}
FILE_STATUS_LABEL = {"accepted": "Được tính", "rejected": "Bị từ chối", "superseded": "Bị thay bằng tệp mới hơn",
                     "skipped": "Bỏ qua", "duplicate": "Trùng tệp đã nhận", "attachment": "Tài liệu kèm theo"}
FILTERS = {"tat-ca": "Tất cả", "duoc-tinh": "Được tính, không lỗi", "co-loi": "Có lỗi cần sửa",
           "bi-tu-choi": "Bị từ chối", "chua-nop": "Chưa nộp"}
SORTS = {"ma": "Mã", "ten": "Tên", "diem": "Điểm", "loi": "Số lỗi", "hang": "Xếp hạng"}
GROUP_CLASS = {"Xuất sắc": "g1", "Tốt": "g2", "Khá": "g3", "Trung bình": "g4", "Yếu": "g5"}


def files_by_unit(results: Results) -> dict[str, list[dict]]:
    """Every input file of harvest.json under the unit it was assigned to."""
    grouped: dict[str, list[dict]] = {}
    for item in results.files:
        if item.get("unit_code"):
            grouped.setdefault(str(item["unit_code"]), []).append(item)
    return grouped


def count(findings: list[dict], severity: str) -> int:
    """How many of the findings have this severity."""
    return sum(1 for f in findings if f.get("severity") == severity)


@dataclass(frozen=True)
class CommuneRow:
    """One line of the communes' table."""

    unit: UnitRow
    files: int
    errors: int
    warnings: int
    state: str  # duoc-tinh | co-loi | bi-tu-choi | chua-nop
    received: str | None = None  # the copy in received/ of the file that counts

    @property
    def status_label(self) -> str:
        """The state as the table says it."""
        if self.state == "co-loi":
            return "Được tính, có lỗi"
        return STATUS_LABEL.get(self.unit.status, self.unit.status)


def commune_rows(results: Results, wanted: str = "tat-ca", order: str = "ma") -> list[CommuneRow]:
    """Every commune with what arrived from it; filtered and sorted as the table asks."""
    by_unit = files_by_unit(results)
    rows = []
    for unit in results.units:
        files = by_unit.get(unit.code, [])
        # a commune's returns only: its explanation (and the council's workbooks) have their own step
        counted = [f for f in files if f.get("status") in ("accepted", "rejected") and is_return(f)]
        findings = [x for f in counted for x in f.get("findings") or []]
        errors, warnings = count(findings, "error"), count(findings, "warning")
        if unit.status == "missing":
            state = "chua-nop"
        elif unit.status != "submitted":
            state = "bi-tu-choi"
        else:
            state = "co-loi" if errors else "duoc-tinh"
        counted = next((f.get("received") for f in files if unit.file and f.get("path") == unit.file), None)
        rows.append(CommuneRow(unit, len(files), errors, warnings, state, counted))
    if wanted in FILTERS and wanted != "tat-ca":
        rows = [r for r in rows if r.state == wanted]
    keys = {
        "ma": lambda r: r.unit.code,
        "ten": lambda r: r.unit.name,
        "diem": lambda r: -(r.unit.ranking_total if r.unit.ranking_total is not None else Decimal(-1)),
        "loi": lambda r: -r.errors,
        "hang": lambda r: (r.unit.rank is None, r.unit.rank or 0),
    }
    return sorted(rows, key=keys.get(order, keys["ma"]))


def sorted_findings(findings: list[dict]) -> list[dict]:
    """Findings errors first, each with its Vietnamese severity label."""
    shown = [dict(f, severity_label=SEVERITY_LABEL.get(f.get("severity"), f.get("severity"))) for f in findings]
    return sorted(shown, key=lambda f: SEVERITY_ORDER.get(f.get("severity"), 9))


@dataclass(frozen=True)
class ScoreLine:
    """One rubric node on a commune's page, its figures as the page writes them."""

    code: str
    label: str
    depth: int
    leaf: bool
    max: str
    score: str
    appraised: str
    evidence: str
    explanation: str
    comment: str
    note: str


def score_lines(results: Results, unit: UnitRow) -> list[ScoreLine]:
    """The rubric's tree with this commune's scores beside each maximum."""
    lines = []
    for node in results.rubric.nodes():
        if node.is_leaf:
            score, appraised = unit.scores.get(node.code), unit.appraisal.get(node.code)
        else:
            score, appraised = unit.subtotals.get(node.code), unit.appraisal_subtotals.get(node.code)
        note = ""
        if node.code in unit.not_applicable:
            note = "Không áp dụng"
        elif node.is_leaf and not node.self_scored:
            note = "Tỉnh chấm"
        lines.append(ScoreLine(node.code, node.label, node.depth, node.is_leaf, format_vn(node.max),
                               format_vn(score), format_vn(appraised), unit.evidence.get(node.code, ""),
                               unit.explanations.get(node.code, ""), unit.appraisal_comments.get(node.code, ""), note))
    return lines


@dataclass(frozen=True)
class Bar:
    """One bar of the ranking chart (SVG coordinates in pixels)."""

    rank: int
    label: str
    total: str
    group: str
    css: str
    y: int
    width: int


CHART_WIDTH, LABEL_WIDTH, ROW = 900, 260, 24


def ranking_chart(results: Results) -> dict:
    """Horizontal bars of the ranking totals (the numbers of Phụ lục II), drawn as inline SVG;
    with ranking groups, each group under its own heading, as Phụ lục II lists them."""
    scale = CHART_WIDTH - LABEL_WIDTH - 70
    rubric = results.rubric
    top = (rubric.total + (rubric.bonus.max if rubric.bonus else 0)) or Decimal(100)  # the highest total possible
    bars, headings, y = [], [], 0
    for name, units in ranking_sections(results):
        ranked = [u for u in units if u.rank is not None]
        if name is not None and ranked:
            headings.append({"y": y, "text": f"{RANKING_GROUP_HEADING} {name.upper()}"})
            y += ROW
        for u in ranked:
            bars.append(Bar(u.rank, u.committee, format_vn(u.ranking_total), u.group or "",
                            GROUP_CLASS.get(u.group or "", "g0"), y,
                            int(scale * (u.ranking_total / top)) if u.ranking_total else 0))
            y += ROW
    return {"bars": bars, "headings": headings, "width": CHART_WIDTH, "height": max(ROW, y),
            "label_width": LABEL_WIDTH, "row": ROW, "scale": scale, "top": top}


def heat_map(results: Results, appraised: bool) -> dict:
    """% of each area's maximum per commune in 10% classes: of the maximum the commune could score
    there (criteria not applicable to it left out), the figure of tong-hop.xlsx's heat map; with
    the appraised scores when the commune has them."""
    areas = results.rubric.areas()
    rows = []
    for unit in results.submitted():
        by_council = appraised and bool(unit.appraisal_subtotals)
        scores = unit.appraisal if by_council else unit.scores
        excluded = not_applicable_codes(results.rubric, unit.kind, set(unit.not_applicable))
        cells = []
        for area in areas:
            percent = area_share(area, scores, excluded, self_scored_only=not by_council)
            if percent is None:
                cells.append({"text": "", "css": "hx"})
                continue
            subtotals = unit.appraisal_subtotals if by_council else unit.subtotals
            cells.append({"text": format_vn(percent, 0) + "%", "css": f"h{min(10, int(percent // 10))}",
                          "title": f"{area.code}: {format_vn(subtotals.get(area.code))}/{format_vn(area.max)}"})
        rows.append({"unit": unit, "cells": cells})
    return {"areas": areas, "rows": rows}


def reminder_text(unit: UnitRow, office: str, deadline: str, period: str) -> str:
    """A plain reminder for a commune that sent nothing, to paste into an e-mail or Zalo."""
    who = office or "Phòng Nội vụ"
    when = f" trước ngày {deadline}" if deadline else " sớm nhất có thể"
    return (f"Kính gửi {unit.committee},\n"
            f"Đến nay {who} chưa nhận được phiếu tự đánh giá, chấm điểm Chỉ số CCHC kỳ {period} của đơn vị. "
            f"Đề nghị đơn vị điền phiếu đã được gửi (tệp có mã {unit.code}) và gửi lại{when}.\nTrân trọng.")


# --- the explanation round and round 2 ---------------------------------------------------------
KIND_EXPLANATION, KIND_ROUND2 = "explanation", "appraisal-round2"  # layout.KIND_*, as harvest.json writes them
KIND_LABEL = {"appraisal-unit": "bảng thẩm định", "appraisal-area": "bảng thẩm định theo lĩnh vực",
              "survey": "bảng điểm điều tra", KIND_EXPLANATION: "bảng giải trình", KIND_ROUND2: "bảng thẩm định lần 2"}
_KIND_BY_FINDING = {"explanation.merged": KIND_EXPLANATION, "explanation.replaced": KIND_EXPLANATION,
                    "round2.merged": KIND_ROUND2}
MESSAGE_SEPARATOR = "\n" + "=" * 72 + "\n"  # between two messages in messages.txt


def file_kind(item: dict) -> str | None:
    """What a file of harvest.json is (layout.KIND_*): the kind the harvest recorded; for a
    harvest.json written before it did, guessed from the findings only the explanation round gives."""
    if item.get("kind"):
        return str(item["kind"])
    for finding in item.get("findings") or []:
        if finding.get("code") in _KIND_BY_FINDING:
            return _KIND_BY_FINDING[finding["code"]]
    return None


def is_return(item: dict) -> bool:
    """A commune's self-assessment (or a file not identified at all): what the communes' table counts."""
    return file_kind(item) in (None, "self")


@dataclass(frozen=True)
class ExplanationRow:
    """One commune asked to explain: its workbook, its message, what came back from it."""

    unit: UnitRow
    disputed: tuple[str, ...]  # the criteria asked about
    workbook: Path  # the workbook in 7-giai-trinh
    message: str
    replies: tuple[dict, ...]  # its explanation files in the harvest, findings sorted
    explained: tuple[str, ...]  # criteria with an explanation merged

    @property
    def replied(self) -> bool:
        """Something came back from the commune (an explanation file was harvested)."""
        return bool(self.replies)

    @property
    def has_errors(self) -> bool:
        """One of its explanation files has an error (something not merged)."""
        return any(f.get("severity") == "error" for r in self.replies for f in r["findings"])


def split_messages(text: str) -> list[str]:
    """messages.txt as its messages."""
    return [part.strip("\n") for part in text.split(MESSAGE_SEPARATOR) if part.strip()]


def explanation_rows(results: Results | None, workbooks: list[Path], messages: list[str],
                     disputed) -> list[ExplanationRow]:
    """The communes whose explanation workbook is in 7-giai-trinh (`workbooks`, named
    giai-trinh_<code>_…), each with the message naming its file and what the harvest `results`
    holds from it; `disputed(results, unit)` gives the criteria asked about."""
    units = {u.code: u for u in results.units} if results else {}
    by_unit = files_by_unit(results) if results else {}
    rows = []
    for path in workbooks:
        parts = path.name.split("_")
        unit = units.get(parts[1]) if len(parts) > 2 else None
        if unit is None:
            continue
        replies = tuple(dict(f, findings=sorted_findings(f.get("findings") or []))
                        for f in by_unit.get(unit.code, []) if file_kind(f) == KIND_EXPLANATION)
        explained = tuple(code for code, steps in unit.history.items() if steps.get("explanation"))
        message = next((m for m in messages if path.name in m), "")
        rows.append(ExplanationRow(unit, tuple(disputed(results, unit)), path, message, replies, explained))
    return rows


def later_files(results: Results | None, kind: str) -> list[dict]:
    """The files of one kind of the explanation round in a harvest, findings sorted, newest name last."""
    if results is None:
        return []
    return [dict(f, name=str(f.get("path", "")).replace("\\", "/").split("/")[-1].split(" › ")[-1],
                 findings=sorted_findings(f.get("findings") or []))
            for f in results.files if file_kind(f) == kind]


@dataclass(frozen=True)
class HistoryLine:
    """One disputed criterion of a commune: each step's score and words, as the page writes them."""

    code: str
    label: str
    max: str
    self_score: str
    round1: str
    round1_comment: str
    explanation: str
    supplement: str
    round2: str
    round2_comment: str
    final: str
    changed: bool  # round 2 gave a score other than round 1's


def history_lines(results: Results, unit: UnitRow) -> list[HistoryLine]:
    """The criteria harvest.json keeps a history of (self → round 1 → explanation → round 2), in rubric order."""
    lines = []
    for leaf in results.rubric.scorable():
        steps = unit.history.get(leaf.code)
        if not steps:
            continue
        first, reply, second = steps.get("round1") or {}, steps.get("explanation") or {}, steps.get("round2") or {}
        round2 = second.get("score")
        lines.append(HistoryLine(
            leaf.code, leaf.label, format_vn(leaf.max), format_vn((steps.get("self") or {}).get("score")),
            format_vn(first.get("score")), first.get("comment", ""), reply.get("text", ""), reply.get("evidence", ""),
            format_vn(round2), second.get("comment", ""), format_vn(unit.appraisal.get(leaf.code)),
            round2 is not None and round2 != first.get("score")))
    return lines
