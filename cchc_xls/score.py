"""Exact recomputation of subtotals and totals from leaf scores, N/A handling, groups, ranking.

The workbook's formulas (generate.py) implement the same rules; this module is the reference
the harvest compares a file's own totals against, and the source of every cached formula value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections import Counter
from decimal import ROUND_DOWN, Decimal
from itertools import groupby
from typing import NamedTuple

from cchc_xls.numbers import HUNDRED, ZERO, format_vn, round_half_up
from cchc_xls.rubric import BONUS, PENALTY, Node, Rubric

RESCALE_PLACES = 3


@dataclass(frozen=True)
class Totals:
    subtotals: dict[str, Decimal]  # every parent code -> sum of its children's contributions
    raw_total: Decimal  # sum of the top-level nodes
    total: Decimal  # the final total: base_total + bonus - penalty, never below 0
    applicable_max: Decimal  # the rubric total less the maxima of not-applicable criteria
    not_applicable: frozenset[str] = field(default_factory=frozenset)
    base_total: Decimal | None = None  # after rescaling (raw_total when nothing is not applicable)
    bonus: Decimal = ZERO  # the bonus that counts: the items' sum, at most bonus.max
    penalty: Decimal = ZERO  # the penalty that counts: the items' sum, at most penalty.max


def not_applicable_codes(rubric: Rubric, kind: str | None, marked_na: set[str] | frozenset[str] = frozenset()) -> frozenset[str]:
    """Leaves that do not count for this unit: wrong unit kind, or marked N/A where allowed."""
    result = set()
    for leaf in rubric.leaves():
        if not leaf.applies(kind) or (leaf.may_be_na and leaf.code in marked_na):
            result.add(leaf.code)
    return frozenset(result)


def leaf_contribution(rubric: Rubric, leaf: Node, scores: dict[str, Decimal], na: frozenset[str]) -> Decimal:
    if leaf.code in na:
        return leaf.max if rubric.na_policy == "full_marks" else ZERO
    return scores.get(leaf.code, ZERO)


def compute_totals(rubric: Rubric, scores: dict[str, Decimal], kind: str | None = None,
                   marked_na: set[str] | frozenset[str] = frozenset()) -> Totals:
    """Subtotals and total from leaf scores (already parsed and capped at their maxima)."""
    na = not_applicable_codes(rubric, kind, marked_na)
    subtotals: dict[str, Decimal] = {}

    def value(node: Node) -> Decimal:
        if node.is_leaf:
            return leaf_contribution(rubric, node, scores, na)
        result = sum((value(child) for child in node.children), ZERO)
        subtotals[node.code] = result
        return result

    raw = sum((value(root) for root in rubric.roots), ZERO)
    applicable_max = rubric.total
    if rubric.na_policy == "rescale":
        applicable_max -= sum((rubric.node(code).max for code in na), ZERO)
    base = rescale(raw, rubric.total, applicable_max)
    bonus, penalty = extra_points(rubric, scores, BONUS), extra_points(rubric, scores, PENALTY)
    return Totals(subtotals, raw, final_total(base, bonus, penalty), applicable_max, na, base, bonus, penalty)


def extra_points(rubric: Rubric, scores: dict[str, Decimal], part: str) -> Decimal:
    """The bonus (or penalty) that counts: the sum of its items' scores, at most its cap."""
    extra = rubric.bonus if part == BONUS else rubric.penalty
    if extra is None:
        return ZERO
    return min(sum((scores.get(item.code, ZERO) for item in extra.items), ZERO), extra.max)


def final_total(base: Decimal, bonus: Decimal, penalty: Decimal) -> Decimal:
    """base + bonus − penalty, never below 0: the workbook's MAX(0, …) exactly."""
    return max(base + bonus - penalty, ZERO)


def rescale(raw: Decimal, total: Decimal, applicable_max: Decimal) -> Decimal:
    """raw × total / applicable maximum, rounded as the workbook's ROUND(…, 3); unchanged when all apply."""
    if applicable_max == total or applicable_max <= 0:
        return raw
    return round_half_up(raw * total / applicable_max, RESCALE_PLACES)


def final_ranking(units) -> bool:
    """The ranking is by the appraised totals only once every submitted unit's appraisal is
    complete; until then it is provisional, by the self totals (a blank is never counted as 0)."""
    submitted = [u for u in units if u.status == "submitted"]
    return bool(submitted) and all(u.appraisal_complete for u in submitted)


class Ranked(NamedTuple):
    """Where one unit stands: None everywhere for a unit that is not ranked."""

    total: Decimal | None  # the total the ranking uses
    rank: int | None  # within the unit's ranking group
    group: str | None  # the band (Xếp loại)
    ranking_group: str | None  # None when the rubric ranks every unit together
    note: str = ""  # why the band differs from what the total alone gives


def rank_units(units, rubric: Rubric) -> list[Ranked]:
    """Each unit's ranking total, rank, band and ranking group, in order. The one ranking rule,
    for the harvest and for `cchc rank` alike.

    Each unit needs `status`, `kind`, `self_total`, `appraisal_total`, `appraisal_complete` and
    `ranking_scores(final)` (the leaf scores its ranking total comes from: the penalty items'
    scores decide the sanctions). Units that sent nothing or were rejected are not ranked.
    """
    final = final_ranking(units)
    result: list[Ranked] = [Ranked(None, None, None, None)] * len(units)
    members: dict[str | None, list[int]] = {}
    for index, unit in enumerate(units):
        if unit.status == "submitted":
            members.setdefault(rubric.ranking_group_of(unit.kind), []).append(index)
        elif rubric.ranking_groups:
            result[index] = Ranked(None, None, None, rubric.ranking_group_of(unit.kind))
    for name, indices in members.items():
        totals = [((units[i].appraisal_total if final else units[i].self_total) or ZERO) for i in indices]
        ranks = rank_with_ties(totals)
        bands = assign_bands(rubric, totals, [units[i].ranking_scores(final) for i in indices])
        for i, total, rank, (band, note) in zip(indices, totals, ranks, bands):
            result[i] = Ranked(total, rank, band, name, note)
    return result


def assign_bands(rubric: Rubric, totals: list[Decimal], scores: list[dict[str, Decimal]]) -> list[tuple[str | None, str]]:
    """The band of each unit of one ranking group, and a note saying why it differs from what its
    total alone gives.

    First each unit's own sanctions (a penalty item with a non-zero score): `drop_one_band` one
    band lower, `no_top_band` never the first band, `max_band` no band above the one named. Then
    each band's `max_share`, from the top band down: in ranking order units keep the band while
    their count stays within floor(share × units in the group); tied units are never split (at
    the limit they all move down together); the rest take the next band.
    """
    bands = rubric.bands
    if not bands:
        return [(None, "")] * len(totals)
    names = [b.name for b in bands]
    natural = [rubric.band_index(total) for total in totals]
    index, reasons = [], []
    for own, unit_scores in zip(natural, scores):
        position, why = sanctioned_band(rubric, own, unit_scores)
        index.append(position)
        reasons.append(why)
    order = sorted(range(len(totals)), key=lambda i: -totals[i])
    for position, band in enumerate(bands[:-1]):
        if band.max_share is None:
            continue
        limit = math.floor(band.max_share * len(totals))
        kept, full = 0, False
        in_band = [i for i in order if index[i] == position]
        for _, tied in groupby(in_band, key=lambda i: totals[i]):
            tied = list(tied)
            if not full and kept + len(tied) <= limit:
                kept += len(tied)
                continue
            full = True
            for i in tied:
                index[i] = position + 1
                reasons[i].append(f"mức {band.name} chỉ dành cho tối đa {format_vn(band.max_share * HUNDRED)}% "
                                  f"số đơn vị ({limit} đơn vị)")
    notes = []
    for own, position, why in zip(natural, index, reasons):
        note = ""
        if position != own:
            note = f"Xếp loại {names[position]} (theo tổng điểm là {names[own]}): " + "; ".join(why)
        notes.append(note)
    return [(names[position], note) for position, note in zip(index, notes)]


def unit_band(rubric: Rubric, total: Decimal | None, scores: dict[str, Decimal]) -> str | None:
    """One unit's band from its total and its own sanctions (no share cap: that needs the whole
    ranking); what the workbook's Xếp loại formula shows."""
    if total is None or not rubric.bands:
        return None
    position, _ = sanctioned_band(rubric, rubric.band_index(total), scores)
    return rubric.bands[position].name


def sanctioned_band(rubric: Rubric, position: int, scores: dict[str, Decimal]) -> tuple[int, list[str]]:
    """The band position after the unit's own penalty sanctions, and the reasons, in order:
    drop one band, then the floors of `no_top_band` and `max_band`."""
    reasons: list[str] = []
    if rubric.penalty is None:
        return position, reasons
    last = len(rubric.bands) - 1
    names = [b.name for b in rubric.bands]
    active = [item for item in rubric.penalty.items if item.sanction and scores.get(item.code, ZERO) > 0]
    drops = [item.code for item in active if item.sanction == "drop_one_band"]
    if drops and position < last:
        position += 1
        reasons.append(f"bị trừ điểm ở {', '.join(drops)}: hạ một mức")
    for item in active:
        if item.sanction == "no_top_band" and position == 0 and last > 0:
            position = 1
            reasons.append(f"bị trừ điểm ở {item.code}: không xếp loại {names[0]}")
        elif item.sanction == "max_band":
            ceiling = names.index(item.sanction_band)
            if position < ceiling:
                position = ceiling
                reasons.append(f"bị trừ điểm ở {item.code}: không xếp trên mức {item.sanction_band}")
    return position, reasons


def rank_with_ties(totals: list[Decimal]) -> list[int]:
    """Competition ranking: equal totals share a rank (1, 2, 2, 4), highest first."""
    ordered = sorted(totals, reverse=True)
    first_position = {}
    for position, value in enumerate(ordered, start=1):
        first_position.setdefault(value, position)
    return [first_position[value] for value in totals]


# ---------------------------------------------------------------------------------------------
# Percentages and shares: every writer (tong-hop, Phụ lục II, reports) takes them from here


def cut(value: Decimal, places: int = 2) -> Decimal:
    """The one rounding of the documents: `places` decimals cut, not rounded, as the seeds write
    their figures (95,666… -> 95,66). Percentages, shares and averages all go through it."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def cut_percent(part: Decimal, whole: Decimal) -> Decimal:
    """part as a percentage of whole, two decimals cut, not rounded, as seed 004 writes them
    (14,35/15 -> 95,66); 0 when whole is 0. Reports and the Phụ lục II distribution both use it,
    so the two documents always agree."""
    if not whole:
        return ZERO
    return cut(Decimal(part) * HUNDRED / Decimal(whole))


def self_percent(rubric: Rubric, totals: Totals | None) -> Decimal | None:
    """Raw self total as % of the maximum the unit could give itself (N/A and survey criteria
    excluded), to two places; None when nothing could be scored."""
    if totals is None:
        return None
    possible = sum((n.max for n in rubric.scorable() if n.code not in totals.not_applicable), ZERO)
    if not possible:
        return None
    return (totals.raw_total * HUNDRED / possible).quantize(Decimal("0.01"))


def area_percent(area: Node, scores: dict[str, Decimal], totals: Totals | None) -> Decimal | None:
    """An area's self score as % of the maximum the unit could score in it (survey and N/A
    criteria excluded), cut to two places as the reports cut them; None when nothing in it could
    be scored."""
    if totals is None:
        return None
    return area_share(area, scores, totals.not_applicable)


def area_share(area: Node, scores: dict[str, Decimal], not_applicable, self_scored_only: bool = True) -> Decimal | None:
    """`scores` in an area as % of what could be scored in it: the criteria in `not_applicable`
    (N/A, or not for the unit's kind) left out, and the council-only ones unless
    `self_scored_only` is False (appraised scores); cut to two places; None when nothing could be."""
    leaves = [n for n in area.leaves() if (n.self_scored or not self_scored_only) and n.code not in not_applicable]
    possible = sum((n.max for n in leaves), ZERO)
    if not possible:
        return None
    earned = sum((scores.get(n.code, ZERO) for n in leaves), ZERO)
    return cut_percent(earned, possible)


def ranks_within(totals: dict[str, Decimal | None]) -> dict[str, int]:
    """Ranks inside a group of units (a cluster): unit code -> competition rank by its total."""
    codes = list(totals)
    return dict(zip(codes, rank_with_ties([totals[code] or ZERO for code in codes])))


def survey_max(rubric: Rubric) -> Decimal:
    """The points the province scores (survey criteria): outside every self total."""
    return sum((leaf.max for leaf in rubric.leaves() if not leaf.self_scored), ZERO)


def submission_counts(unit_statuses, file_statuses) -> dict[str, int]:
    """The one count of a harvest that every output says (CLI summary, harvest.json, tong-hop.xlsx,
    the district report): units (`total`, `submitted`, `missing`, `rejected_units`) and files
    (`received`, `accepted`, `rejected`, `superseded`, `skipped`, `attachments`)."""
    units = Counter(unit_statuses)
    files = Counter(file_statuses)
    return {
        "total": sum(units.values()), "submitted": units["submitted"], "missing": units["missing"],
        "rejected_units": units["rejected"],
        "received": sum(files.values()), "accepted": files["accepted"], "rejected": files["rejected"],
        "superseded": files["superseded"], "skipped": files["skipped"], "attachments": files["attachment"],
    }


def counts_sentence(counts: dict[str, int]) -> str:
    """The counts as one Vietnamese sentence, the same wherever it is printed."""
    return (f"Đã nhận {counts['received']} tệp: {counts['accepted']} được tính, {counts['rejected']} bị từ chối, "
            f"{counts['superseded']} bị thay bằng tệp mới hơn, {counts['skipped']} bỏ qua, "
            f"{counts['attachments']} tài liệu kèm theo. "
            f"{counts['submitted']}/{counts['total']} đơn vị có phiếu được tính; còn {counts['missing']} đơn vị chưa nộp.")
